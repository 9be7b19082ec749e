// SPDX-License-Identifier: GPL-2.0
/*
 * Per-inference latency, CPU time and energy of mcai.ko, from its
 * tracepoints (kmod/trace.h), into the pinned maps of bpf/telemetry.h.
 *
 * The module's events are attached as raw tracepoints: they need no BTF
 * for the module (Debian's header packages cannot produce it), only the
 * argument order of TP_PROTO, which kmod/trace.h promises never to
 * reorder.
 *
 * One probe per inference, on its end: mcai_infer_end carries the wall
 * time and the CPU time the module measured (the start's clock lives on
 * the inferring task's stack, the time it waited for a CPU after being
 * preempted comes from the scheduler's own run_delay), so neither a probe
 * on the start nor one on every context switch of the system is needed.
 * Each would cost a tracepoint dispatch; the start probe alone was a
 * third of the telemetry's overhead on a small model.
 *
 * Energy: cpu_ns * power_mw pJ, power from the power map of the CPU the
 * inference ended on (user space keeps it current: frequency table,
 * kernel Energy Model, or RAPL calibration).  Charged per inference, so
 * the total stays right when the power figure changes.  A BPF program
 * cannot read RAPL itself on every kernel we support: on 6.1 the RAPL PMU
 * counts only on its designated CPU (fixed upstream in 6.7), so
 * calibration is done by user space over windows and written here as a
 * power figure.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "telemetry.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCAI_TEL_LIVE_SLOTS);
	__type(key, __u32);
	__type(value, struct mcai_tel_live);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MCAI_TEL_MAX_MODELS);
	__type(key, struct mcai_tel_key);
	__type(value, struct mcai_tel_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MCAI_TEL_MAX_MODELS);
	__type(key, struct mcai_tel_drop_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MCAI_TEL_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct mcai_tel_power);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} power SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcai_tel_calibration);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} calibration SEC(".maps");

static const struct mcai_tel_stats mcai_zero_stats;
static const struct mcai_tel_live mcai_zero_live;
static const __u64 mcai_zero_count;

/* floor(log2(v)) for v > 0, 0 for 0: a binary search over the bits. */
static __always_inline __u32 mcai_log2(__u64 v)
{
	__u32 r = 0, shift;

#pragma unroll
	for (shift = 32; shift; shift >>= 1) {
		if (v >> shift) {
			v >>= shift;
			r += shift;
		}
	}
	return r;
}

/* This CPU's record of @key in the stats hash, created on first use. */
static __always_inline struct mcai_tel_stats *
mcai_stats_hashed(const struct mcai_tel_key *key)
{
	struct mcai_tel_stats *st;

	st = bpf_map_lookup_elem(&stats, key);
	if (!st) {
		/* EEXIST from a racing CPU is fine: look it up again */
		bpf_map_update_elem(&stats, key, &mcai_zero_stats, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&stats, key);
	}
	return st;
}

/* Add @from into @to: a live record retired into the hash. */
static __always_inline void mcai_stats_add(struct mcai_tel_stats *to,
					   const struct mcai_tel_stats *from)
{
	__u32 i;

	if (!to->name[0])
		__builtin_memcpy(to->name, from->name, sizeof(to->name));
	if (from->energy_source) {
		to->energy_source = from->energy_source;
		to->power_mw = from->power_mw;
	}
	to->count += from->count;
	to->latency_total_ns += from->latency_total_ns;
	if (from->latency_max_ns > to->latency_max_ns)
		to->latency_max_ns = from->latency_max_ns;
	to->cpu_ns += from->cpu_ns;
	to->macs += from->macs;
	to->energy_uj += from->energy_uj;
	to->energy_pj_rem += from->energy_pj_rem;
	if (to->energy_pj_rem >= 1000000) {
		to->energy_uj++;
		to->energy_pj_rem -= 1000000;
	}
	to->shed += from->shed;
	to->unpaired += from->unpaired;
	for (i = 0; i < MCAI_TEL_HIST_SLOTS; i++)
		to->latency_log2_ns[i] += from->latency_log2_ns[i];
}

/*
 * This CPU's record of @model_id/@version.  The common case is one array
 * lookup: the model's live slot (model_id mod MCAI_TEL_LIVE_SLOTS) holds
 * its running version.  A free slot is claimed; a newer version of the
 * same model retires the older one into the stats hash and takes the
 * slot; anything else (an older version finishing after a swap, another
 * model on the same slot) is counted in the hash.
 */
static __always_inline struct mcai_tel_stats *
mcai_stats_get(__u32 model_id, __u32 version, const char *name)
{
	struct mcai_tel_key key = { .model_id = model_id, .version = version };
	__u32 idx = model_id & (MCAI_TEL_LIVE_SLOTS - 1);
	struct mcai_tel_stats *st, *h;
	struct mcai_tel_live *l;

	l = bpf_map_lookup_elem(&live, &idx);
	if (!l)
		return NULL;
	if (l->key.model_id == model_id && l->key.version == version) {
		st = &l->stats;
	} else if (!l->key.model_id ||
		   (l->key.model_id == model_id && l->key.version < version)) {
		if (l->key.model_id) {
			h = mcai_stats_hashed(&l->key);
			if (!h)
				return NULL;	/* a full hash: keep the slot */
			mcai_stats_add(h, &l->stats);
			bpf_map_update_elem(&live, &idx, &mcai_zero_live,
					    BPF_ANY);
		}
		l->key = key;
		st = &l->stats;
	} else {
		st = mcai_stats_hashed(&key);
		if (!st)
			return NULL;
	}
	/* each CPU's copy learns the name the first time it is used */
	if (name && !st->name[0])
		bpf_probe_read_kernel_str(st->name, sizeof(st->name), name);
	return st;
}

SEC("raw_tp/mcai_infer_end")
int BPF_PROG(mcai_tel_end, __u32 model_id, __u32 version, __u32 session,
	     __u64 seq, __u64 macs, __s32 class_id, __u32 flags,
	     const char *name, __u64 lat, __u64 cpu)
{
	struct mcai_tel_stats *st;
	struct mcai_tel_power *pw;
	__u64 e, rem;
	__u32 c, slot;

	st = mcai_stats_get(model_id, version, name);
	if (!st)
		return 0;	/* a full map: nowhere to count it */
	if (!lat) {
		/* attached between a start and its end */
		st->unpaired++;
		return 0;
	}
	c = bpf_get_smp_processor_id();
	pw = bpf_map_lookup_elem(&power, &c);
	e = 0;
	if (pw && pw->power_mw) {
		e = cpu * pw->power_mw;
		st->energy_source = pw->energy_source;
		st->power_mw = pw->power_mw;
	}
	st->count++;
	st->latency_total_ns += lat;
	if (lat > st->latency_max_ns)
		st->latency_max_ns = lat;
	st->cpu_ns += cpu;
	st->macs += macs;
	rem = st->energy_pj_rem + e;
	st->energy_uj += rem / 1000000;
	st->energy_pj_rem = rem % 1000000;
	slot = mcai_log2(lat);
	if (slot >= MCAI_TEL_HIST_SLOTS)
		slot = MCAI_TEL_HIST_SLOTS - 1;
	st->latency_log2_ns[slot]++;
	return 0;
}

SEC("raw_tp/mcai_shed")
int BPF_PROG(mcai_tel_shed, __u32 model_id, __u32 version, __u32 session,
	     __u64 seq, __u64 macs)
{
	struct mcai_tel_stats *st;

	st = mcai_stats_get(model_id, version, NULL);
	if (st)
		st->shed++;
	return 0;
}

SEC("raw_tp/mcai_drop")
int BPF_PROG(mcai_tel_drop, __u32 session, __u64 seq, __u32 reason,
	     __u32 model_id)
{
	struct mcai_tel_drop_key key = {
		.model_id = model_id,
		.reason = reason < MCAI_DROP_OTHER ? reason : MCAI_DROP_OTHER,
	};
	__u64 *n;

	n = bpf_map_lookup_elem(&drops, &key);
	if (!n) {
		bpf_map_update_elem(&drops, &key, &mcai_zero_count,
				    BPF_NOEXIST);
		n = bpf_map_lookup_elem(&drops, &key);
		if (!n)
			return 0;
	}
	(*n)++;
	return 0;
}
