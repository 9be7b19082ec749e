/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Measured energy into the module's budgets: each running model version
 * the telemetry has measured gets its energy per MAC through
 * MCAI_IOC_MODEL_ENERGY.  Shared by `mcaictl telemetry feed` and mcaid's
 * periodic feed.
 */
#ifndef MCAI_ENERGYFEED_H
#define MCAI_ENERGYFEED_H

#include <stdbool.h>
#include <stddef.h>

#include "bpf/telemetry.h"
#include "runtime/lib/device.h"

/* Told about each model fed (or, with dry_run, that would be). */
typedef void (*mcai_feed_cb)(void *arg, const struct mcai_tel_model *m,
			     uint64_t mpj_per_mac, uint32_t source);

/*
 * Feed the records of @m that are the running version of their model.
 * Returns how many were fed, or -1 with the reason in mcai_dev_error().
 */
int mcai_energy_feed(struct mcai_dev *dev, const struct mcai_tel_model *m,
		     size_t n, bool dry_run, mcai_feed_cb cb, void *arg);

#endif /* MCAI_ENERGYFEED_H */
