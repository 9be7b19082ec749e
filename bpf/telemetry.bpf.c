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
 * One probe per batch of inferences, mcai_infer_batch: the module times
 * each inference (the start's clock lives on the inferring task's stack,
 * chained from one inference's end to the next one's start; the time it
 * waited for a CPU after being preempted comes from the scheduler's own
 * run_delay), sums a batch and builds its log2 histogram, and fires one
 * event per ring chunk, ioctl, pipeline stage or dma-buf frame, before
 * their results are published: the maps are exact as soon as user space
 * can see the results.  Neither a probe on the start nor one on every
 * context switch of the system is needed, and a ring chunk of up to 32
 * inferences costs one tracepoint dispatch and one run of this program:
 * per inference, the dispatch and the program were most of the
 * telemetry's cost on a small model.
 *
 * Energy: cpu_ns * power_mw pJ, power from the power map of the CPU the
 * batch ended on (user space keeps it current: frequency table, kernel
 * Energy Model, or RAPL calibration).  Charged per batch, so the total
 * stays right when the power figure changes.  A BPF program
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

/*
 * A batch's histogram spread over several buckets: copy its counts (the
 * module's stack, hence the read helper) and add the valid ones.
 */
static __noinline int mcai_hist_add(struct mcai_tel_stats *st, __u32 mask,
				    const __u32 *hist)
{
	__u32 h[MCAI_TEL_HIST_SLOTS];
	__u32 i;

	if (!st || bpf_probe_read_kernel(h, sizeof(h), hist))
		return 0;
#pragma unroll
	for (i = 0; i < MCAI_TEL_HIST_SLOTS; i++)
		if (mask & (1U << i))
			st->latency_log2_ns[i] += h[i];
	return 0;
}

/*
 * One event per batch of inferences (kmod/trace.h mcai_infer_batch): a
 * ring chunk, or one ioctl / pipeline stage / dma-buf frame.  The module
 * summed the batch and built its histogram; this folds them in, with the
 * same integer arithmetic as per inference: the batch's energy is
 * sum(cpu_ns) * power_mw pJ, exactly the sum of its inferences'.
 */
SEC("raw_tp/mcai_infer_batch")
int BPF_PROG(mcai_tel_end, __u32 model_id, __u32 version, __u32 session,
	     const char *name, __u32 count, __u64 macs, __u64 lat,
	     __u64 lat_max, __u64 cpu, __u32 hist_lo, __u32 hist_mask,
	     const __u32 *hist)
{
	struct mcai_tel_stats *st;
	struct mcai_tel_power *pw;
	__u64 e, rem;
	__u32 c, lo;

	st = mcai_stats_get(model_id, version, name);
	if (!st)
		return 0;	/* a full map: nowhere to count it */
	if (!lat) {
		/* attached during the batch: its clock did not run */
		st->unpaired += count;
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
	st->count += count;
	st->latency_total_ns += lat;
	if (lat_max > st->latency_max_ns)
		st->latency_max_ns = lat_max;
	st->cpu_ns += cpu;
	st->macs += macs;
	rem = st->energy_pj_rem + e;
	if (rem >= 1000000) {
		st->energy_uj += rem / 1000000;
		rem %= 1000000;
	}
	st->energy_pj_rem = rem;
	/* the common case: the whole batch in one bucket, no read */
	lo = hist_lo & (MCAI_TEL_HIST_SLOTS - 1);
	if (hist_mask == 1U << lo)
		st->latency_log2_ns[lo] += count;
	else
		mcai_hist_add(st, hist_mask, hist);
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
