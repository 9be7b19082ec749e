/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Drift statistics of a model slot (all versions of a name since it was
 * loaded): per input feature the count, sum and sum of squares of the
 * int8 inputs, and the histogram of output classes.
 *
 * Sums are exact integers: |x| <= 128, so sum (s64) and sum of squares
 * (u64, x^2 <= 16384) cannot overflow before 2^49 samples, about 17 years
 * at a million inferences a second.  Mean and variance are derived only
 * when read, exactly, in Q16.16 (see mcai_drift_mean_q16() in stats.c).
 *
 * Shape: the arrays are sized from the first version of the name
 * (input_len features, output_len classes for an argmax head, 2 for a
 * threshold head).  A later version with a different input_len or class
 * count resets the statistics to the new shape; an inference still
 * running on the old version then finds the shape changed and is not
 * counted.  Swapping to a version of the same shape keeps them.
 */
#ifndef MCAI_STATS_H
#define MCAI_STATS_H

#include <linux/spinlock.h>
#include <linux/types.h>

#include "uapi/mcai.h"

struct mcai_model;

/*
 * The accumulators, embedded in struct mcai_slot.  One spinlock_t per slot,
 * held for the update only (2 additions per input feature, no sleeping,
 * process context; on PREEMPT_RT it becomes a sleeping lock, which is fine
 * there because inference never runs in atomic context).
 */
struct mcai_drift {
	spinlock_t lock;		/* guards every field below */
	u32 n_features;			/* 0 until the first version links */
	u32 n_classes;
	u64 samples;
	s64 *sum;			/* [n_features], then: */
	u64 *sumsq;			/* [n_features] */
	u64 *hist;			/* [n_classes], one kvmalloc block at sum */
	size_t bytes;			/* of that block, in mcai_live.bytes */
};

/* Classes a model's head produces. */
u32 mcai_model_classes(const struct mcai_model *m);

void mcai_drift_init(struct mcai_drift *d);
/* Free the arrays; the slot is going away. */
void mcai_drift_destroy(struct mcai_drift *d);

/*
 * Registry hooks for a version about to be linked: allocate arrays of its
 * shape (may sleep, outside any lock), then, with the registry lock held,
 * install them on the slot when it has none or another shape (a reset):
 * @prep then takes the slot's old arrays.  Either way free @prep with
 * mcai_drift_prep_free() once the registry lock is dropped.
 */
struct mcai_drift *mcai_drift_prep(const struct mcai_model *m);
void mcai_drift_install(struct mcai_drift *d, struct mcai_drift *prep);
void mcai_drift_prep_free(struct mcai_drift *prep);

/*
 * Account one inference: @input (input_len values) and the class the
 * model answered.  Process context; takes the slot's spinlock.  Called by
 * the synchronous path (kmod/infer.c), pipelines and the session worker.
 */
void mcai_stats_update(struct mcai_drift *d, const s8 *input, u32 input_len,
		       int class_id);

/*
 * MCAI_IOC_MODEL_STATS: @req copied in and its flags checked; the caller
 * holds the slot of @d (kmod/ioctl.c), not a version, so copying out to a
 * stalling user pins no model.
 */
int mcai_stats_read(struct mcai_drift *d, struct mcai_model_stats *req);

#endif /* MCAI_STATS_H */
