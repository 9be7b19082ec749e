/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus text exposition of the module, the eBPF telemetry and
 * the simulated sensor (runtime/daemon/metrics.c): `mcaictl metrics` and
 * mcaid's /metrics endpoint print the same text.
 */
#ifndef MCAI_METRICS_H
#define MCAI_METRICS_H

#include <stddef.h>

/*
 * Render it into *@buf (malloc'ed, *@len bytes; free() it).  @device:
 * NULL for /dev/mcai; @baseline_dir: NULL, or where <model>.baseline
 * files give mcai_drift_score.  Absent sources are reported by their
 * mcai_*_up gauges, not as errors.  0, or -errno (out of memory).
 */
int mcai_metrics_text(const char *device, const char *baseline_dir,
		      char **buf, size_t *len);

#endif /* MCAI_METRICS_H */
