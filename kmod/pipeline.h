/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pipelines: a chain (a detector gating a classifier) or an ensemble
 * (majority vote, weighted score average) of loaded models, run as one.
 *
 * A pipeline is created by MCAI_IOC_PIPELINE_CREATE and lives as long as
 * the file that created it; the session worker and the driver API find it
 * by id or name with mcai_pipeline_get() and hold it with a reference.
 * It holds references on its member model slots, not on their versions:
 * each run takes the current version of every stage under RCU, like
 * kmod/infer.c, so a member swapped to a new version is used at its new
 * version from the next run on.
 *
 * Shapes are fixed at creation: input_len (every member takes the same
 * sample) and output_len (the widest score vector a result can carry).
 * A run fails, and fills nothing but class_id = -1, n_scores = 0 and
 * flags = 0 in the result, when
 *   -ENOENT  a member has been unloaded since (the pipeline stays dead:
 *            a reloaded name is a new model with a new id);
 *   -ESTALE  a member's current version no longer has the shape (input_len,
 *            output_len, head) the pipeline was created with.
 * The caller decides how to report such a result.
 */
#ifndef MCAI_PIPELINE_H
#define MCAI_PIPELINE_H

#include <linux/types.h>

#include "uapi/mcai.h"

struct mcai_pipeline;
struct mcai_file;

/* Takes a reference; NULL if none.  Name is used when id is 0. */
struct mcai_pipeline *mcai_pipeline_get(u32 id, const char *name);
void mcai_pipeline_put(struct mcai_pipeline *p);

u32 mcai_pipeline_input_len(const struct mcai_pipeline *p);
u32 mcai_pipeline_output_len(const struct mcai_pipeline *p);

/* Bytes of @scratch mcai_pipeline_run() needs (constant for @p). */
size_t mcai_pipeline_scratch_size(const struct mcai_pipeline *p);

/*
 * Run @p on @input (input_len values).  Fills res->class_id, flags
 * (MCAI_RES_GATED, MCAI_RES_ESCALATE), model_id and version (of the stage
 * that answered; for an ensemble the first member), n_scores and
 * scores[] (room for output_len values); seq and latency_ns are the
 * caller's (res->seq and @session label the stages' tracepoints).
 * Process context (may sleep only in cond_resched()-free code: it does
 * not sleep at all, but takes a spinlock_t for the statistics).
 * Returns 0 or a negative errno (see above).
 */
int mcai_pipeline_run(struct mcai_pipeline *p, const s8 *input,
		      struct mcai_result *res, void *scratch, u32 session);

/* For kmod/ioctl.c: create one owned by @f, drop all of @f's. */
int mcai_pipeline_create(struct mcai_file *f, struct mcai_pipeline_create *req);
void mcai_pipeline_release_file(struct mcai_file *f);

/*
 * The synchronous path: MCAI_IOC_INFER with MCAI_INFER_PIPELINE (ref names
 * a pipeline).  Same checks and out fields as mcai_infer(), plus
 * result_flags.
 */
int mcai_pipeline_infer(struct mcai_infer *req);

#endif /* MCAI_PIPELINE_H */
