/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RAPL calibration of the energy model (the `rapl-calibrated` source).
 *
 * A BPF program cannot read RAPL portably: on 6.1 the RAPL PMU only
 * counts on its designated CPU (lifted upstream in 6.7), and powercap is
 * a sysfs file.  So user space samples package energy (powercap
 * energy_uj, all packages) and the CPU time of every task (/proc/stat)
 * at the two ends of a window, and turns them into one figure: the
 * package power per busy CPU,
 *
 *   power_mw = (E_window - idle_mw * window) * 10^6 / busy_cpu_ns
 *
 * (µJ / ns = 10^6 mW), which the BPF program multiplies by each
 * inference's CPU time.  Summed over a window, the models' energy is
 * then their share of CPU time times the package energy: the ratio model
 * Kepler used.  idle_mw (0 by default) moves the package's idle floor out
 * of the figure when the operator knows it.
 */
#ifndef MCAI_BPF_CALIBRATE_H
#define MCAI_BPF_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>

#define MCAI_RAPL_MAX_PKG	16

struct mcai_rapl_sample {
	uint64_t t_ns;				/* CLOCK_MONOTONIC */
	uint32_t n_pkg;
	uint64_t energy_uj[MCAI_RAPL_MAX_PKG];	/* powercap energy_uj */
	uint64_t range_uj[MCAI_RAPL_MAX_PKG];	/* max_energy_range_uj */
	uint64_t busy_ns;			/* all CPUs, /proc/stat */
};

struct mcai_calibration {
	uint64_t window_ns;
	uint64_t energy_uj;			/* all packages, wraps undone */
	uint64_t busy_ns;
	uint32_t power_mw;			/* per busy CPU */
};

/*
 * Read one sample: packages from @powercap_root (normally
 * /sys/class/powercap: the intel-rapl:N zones, not their subzones), CPU
 * time from @proc_stat (normally /proc/stat), @t_ns as given.  0, or -1
 * with the reason in @err (ENOENT: no RAPL here).
 */
int mcai_rapl_sample(const char *powercap_root, const char *proc_stat,
		     uint64_t t_ns, struct mcai_rapl_sample *s, char *err,
		     size_t errlen);

/*
 * The window from @a to @b.  A counter smaller at @b than at @a wrapped
 * once at its range.  0, or -1 with the reason (packages differ, no busy
 * time, window not positive, result out of range).
 */
int mcai_rapl_calibrate(const struct mcai_rapl_sample *a,
			const struct mcai_rapl_sample *b, uint32_t idle_mw,
			struct mcai_calibration *c, char *err, size_t errlen);

/* Busy CPU time in /proc/stat text: user nice system irq softirq steal. */
int mcai_proc_stat_busy_ns(const char *text, long hz, uint64_t *busy_ns);

#endif /* MCAI_BPF_CALIBRATE_H */
