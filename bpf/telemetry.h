/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The telemetry maps, shared by bpf/telemetry.bpf.c and user space.
 *
 * Everything here is what an operator reads with
 *   bpftool map dump pinned /sys/fs/bpf/mcai/<map>
 * so field names are spelled out and units are in the names.  All maps
 * are pinned under MCAI_TEL_PIN_DIR, the programs' links under
 * MCAI_TEL_PIN_DIR/links.
 *
 *   live         per-CPU array, index model_id % MCAI_TEL_LIVE_SLOTS:
 *                {key, stats}, the record of the model's running version
 *                on that CPU (key.model_id 0: a free slot).
 *   stats        per-CPU hash, key {model_id, version}: the records of
 *                every other version.  Readers sum a version's records
 *                over both maps and all CPUs.
 *   drops        per-CPU hash, key {model_id, reason}: samples lost
 *                before they reached a model (model_id 0: a pipeline
 *                session).
 *   power        array, key = CPU number: the power the energy of an
 *                inference on that CPU is computed with, and its source.
 *   calibration  array of one: the last RAPL calibration window.
 *
 * Energy of one inference, exactly: cpu_ns * power_mw picojoules
 * (1 ns * 1 mW = 1 pJ).  A record keeps it as energy_uj whole microjoules
 * plus energy_pj_rem picojoules (< 10^6), so that no rounding ever
 * accumulates: total pJ = energy_uj * 10^6 + energy_pj_rem, per CPU.
 */
#ifndef MCAI_BPF_TELEMETRY_H
#define MCAI_BPF_TELEMETRY_H

#include <linux/types.h>

#define MCAI_TEL_PIN_DIR	"/sys/fs/bpf/mcai"
#define MCAI_TEL_NAME_LEN	32	/* = MCAI_NAME_LEN */
#define MCAI_TEL_HIST_SLOTS	32	/* log2(ns): 1 ns .. 2^31 ns (2.1 s) */
#define MCAI_TEL_MAX_MODELS	1024	/* model versions with a record */
#define MCAI_TEL_MAX_CPUS	1024
#define MCAI_TEL_LIVE_SLOTS	256	/* power of two: model_id mod it */

/* Same values as MCAI_ENERGY_* in uapi/mcai.h. */
enum mcai_energy_source {
	MCAI_ENERGY_SOURCE_NONE = 0,		/* no power figure yet */
	MCAI_ENERGY_SOURCE_MODEL = 1,		/* CPU time x power model */
	MCAI_ENERGY_SOURCE_RAPL_CALIBRATED = 2,	/* CPU time x RAPL ratio */
};

/* Where a power model came from (power map, informational). */
enum mcai_power_origin {
	MCAI_POWER_ORIGIN_NONE = 0,
	MCAI_POWER_ORIGIN_ENERGY_MODEL = 1,	/* kernel EM, debugfs */
	MCAI_POWER_ORIGIN_TABLE = 2,		/* operator's frequency table */
	MCAI_POWER_ORIGIN_RAPL = 3,		/* RAPL calibration window */
};

/* mcai_drop's reason argument (kmod/trace.h). */
enum mcai_drop_reason {
	MCAI_DROP_RING_FULL = 0,
	MCAI_DROP_MODEL_GONE = 1,
	MCAI_DROP_HARD_IRQ = 2,
	MCAI_DROP_OTHER = 3,
};

struct mcai_tel_key {
	__u32 model_id;
	__u32 version;
};

struct mcai_tel_stats {
	char name[MCAI_TEL_NAME_LEN];
	enum mcai_energy_source energy_source;	/* of the latest inference */
	__u32 power_mw;				/* of the latest inference */
	__u64 count;				/* inferences completed */
	__u64 latency_total_ns;			/* start to end, wall */
	__u64 latency_max_ns;
	__u64 cpu_ns;				/* wall minus time switched out */
	__u64 macs;
	__u64 energy_uj;
	__u64 energy_pj_rem;			/* < 10^6, see above */
	__u64 shed;				/* refused by the energy budget */
	__u64 unpaired;				/* an end without its start */
	__u64 latency_log2_ns[MCAI_TEL_HIST_SLOTS];	/* [i]: 2^i <= ns < 2^(i+1) */
};

/* A model's running version: its stats, and whose they are. */
struct mcai_tel_live {
	struct mcai_tel_key key;		/* model_id 0: a free slot */
	struct mcai_tel_stats stats;
};

struct mcai_tel_drop_key {
	__u32 model_id;
	enum mcai_drop_reason reason;
};

struct mcai_tel_power {
	__u32 power_mw;				/* active power of one CPU */
	__u32 freq_khz;				/* when it was sampled, 0 = unknown */
	enum mcai_energy_source energy_source;
	enum mcai_power_origin origin;
};

struct mcai_tel_calibration {
	__u64 windows;				/* calibrations applied */
	__u64 window_ns;			/* length of the last one */
	__u64 rapl_energy_uj;			/* package energy in it */
	__u64 busy_cpu_ns;			/* CPU time of all tasks in it */
	__u32 power_mw;				/* = energy / busy time */
	__u32 pad;
	__u64 updated_unix_s;
};

#ifndef __bpf__
/*
 * User space: load, pin, read and tune the telemetry (bpf/telemetry.c,
 * libbpf).  Shared by mcaictl and mcaid.  Functions return 0 or -errno
 * and leave a sentence for the operator in @err.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "power.h"

#define MCAI_TEL_N_PROGS	3

/* One model version, summed over CPUs. */
struct mcai_tel_model {
	uint32_t model_id;
	uint32_t version;
	char name[MCAI_TEL_NAME_LEN];
	enum mcai_energy_source energy_source;
	uint32_t power_mw;
	uint64_t count;
	uint64_t latency_total_ns;
	uint64_t latency_max_ns;
	uint64_t cpu_ns;
	uint64_t macs;
	uint64_t energy_uj;			/* + energy_pj_rem pJ, exactly */
	uint64_t energy_pj_rem;
	uint64_t shed;
	uint64_t unpaired;
	uint64_t drops;				/* of the model's sessions */
	uint64_t hist[MCAI_TEL_HIST_SLOTS];
};

struct mcai_tel_prog_status {
	char name[32];
	bool attached;
	uint32_t prog_id;
	uint64_t run_cnt;			/* with kernel.bpf_stats_enabled */
	uint64_t run_time_ns;
	uint64_t recursion_misses;
};

struct mcai_tel_status {
	bool maps_pinned;
	unsigned int attached;			/* programs with a pinned link */
	struct mcai_tel_prog_status prog[MCAI_TEL_N_PROGS];
	struct mcai_tel_power power0;		/* CPU 0's entry */
	struct mcai_tel_calibration calibration;
	uint64_t pipeline_drops;		/* drops of pipeline sessions */
};

/*
 * Load the programs, pin maps (reusing pinned ones: counts survive a
 * disable/enable) and links.  Already enabled is not an error: *@already
 * says so.  mcai.ko must be loaded (its tracepoints are the hooks).
 */
int mcai_tel_enable(bool *already, char *err, size_t errlen);
/* Unpin the links (detaches); @purge also removes the maps. */
int mcai_tel_disable(bool purge, char *err, size_t errlen);
int mcai_tel_status(struct mcai_tel_status *st, char *err, size_t errlen);

/* Every model version of the stats map, malloc'd, sorted by id/version. */
int mcai_tel_read(struct mcai_tel_model **models, size_t *n, char *err,
		  size_t errlen);

/*
 * The same through map fds opened once (mcai_tel_open_maps(), as root):
 * reading a map through an fd needs no privilege, so a daemon opens them
 * before it drops its own and keeps reading after.
 */
struct mcai_tel_maps {
	int stats;
	int drops;
	int live;
};

int mcai_tel_open_maps(struct mcai_tel_maps *fds, char *err, size_t errlen);
void mcai_tel_close_maps(struct mcai_tel_maps *fds);
int mcai_tel_read_maps(const struct mcai_tel_maps *fds,
		       struct mcai_tel_model **models, size_t *n, char *err,
		       size_t errlen);

/*
 * A record's measured energy per MAC in 1/1000 pJ (rounded, at least 1,
 * at most 10^9) and its MCAI_ENERGY_* source for MCAI_IOC_MODEL_ENERGY;
 * false when it has nothing measured to offer.
 */
bool mcai_tel_mpj_per_mac(const struct mcai_tel_model *m, uint64_t *mpj,
			  uint32_t *source);
/* Remove one record (a model id reused by another name after a reload). */
int mcai_tel_forget(uint32_t model_id, uint32_t version, char *err,
		    size_t errlen);

/*
 * Write the power map: every possible CPU gets @t's power at its current
 * frequency (the nominal row when unknown), source `model`.
 * @origin says where @t came from.  *@mw0 / *@khz0: what CPU 0 got.
 */
int mcai_tel_set_power_model(const struct mcai_power_table *t,
			     enum mcai_power_origin origin, uint32_t *mw0,
			     uint32_t *khz0, char *err, size_t errlen);
/* The same from a calibration window: source `rapl-calibrated`. */
int mcai_tel_set_calibration(const struct mcai_tel_calibration *c,
			     char *err, size_t errlen);

/*
 * The latency below which a fraction @q of a log2 histogram's samples
 * fall, interpolating linearly inside the bucket (ns).
 */
uint64_t mcai_tel_hist_quantile(const uint64_t hist[MCAI_TEL_HIST_SLOTS],
				double q);
/* "model", "rapl-calibrated", "none". */
const char *mcai_energy_source_name(enum mcai_energy_source s);
#endif /* !__bpf__ */

#endif /* MCAI_BPF_TELEMETRY_H */
