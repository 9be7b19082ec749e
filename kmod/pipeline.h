/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pipelines: a chain (a detector gating a classifier) or an ensemble
 * (majority vote, weighted score average) of loaded models, run as one.
 *
 * A pipeline is created by MCAI_IOC_PIPELINE_CREATE and lives as long as
 * the file that created it; the session worker and the driver API find it
 * by id or name with mcai_pipeline_get() and hold it with a reference.
 *
 * Names: an admin's pipelines (kmod/ioctl.c mcai_admin()) are in one
 * namespace that everyone sees and in-kernel drivers attach to; an
 * unprivileged user's are in a namespace of that user's own (the euid of
 * the file's opener), seen by that user only.  A user looking up a name
 * finds its own pipeline first, then the admin's; a driver finds only the
 * admin's.  So no user can take a name an admin or a driver needs, nor
 * steer a driver to a pipeline of its own.  Names are unique within a
 * namespace; a lookup hashes (namespace, name), it never scans.
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

struct mcai_acct;
struct mcai_pipeline;
struct mcai_file;

int mcai_pipeline_init_module(void);
void mcai_pipeline_exit_module(void);

/*
 * Takes a reference; NULL if none.  Name is used when id is 0.  @user
 * (kmod/account.h) is who looks: NULL for an admin or a driver, which
 * see the admin's pipelines only; a user sees its own and the admin's.
 */
struct mcai_pipeline *mcai_pipeline_get(u32 id, const char *name,
					const struct mcai_acct *user);
void mcai_pipeline_put(struct mcai_pipeline *p);

u32 mcai_pipeline_input_len(const struct mcai_pipeline *p);
u32 mcai_pipeline_output_len(const struct mcai_pipeline *p);

/*
 * Bytes of scratch mcai_pipeline_run() needs now: the members' scores and
 * the largest arena of their current versions (it grows when a member is
 * swapped to a version with a larger arena).  Process context.
 */
size_t mcai_pipeline_scratch_size(struct mcai_pipeline *p);

/*
 * Run @p on @input (input_len values), with @scratch_size bytes of
 * @scratch (-ESTALE, like a reshaped member, if a member's current
 * version needs more: the caller sizes it again).  Fills res->class_id, flags
 * (MCAI_RES_GATED, MCAI_RES_ESCALATE), model_id and version (of the stage
 * that answered; for an ensemble the first member), n_scores and
 * scores[] (room for output_len values); seq and latency_ns are the
 * caller's (res->seq and @session label the stages' tracepoints).
 * Process context (may sleep only in cond_resched()-free code: it does
 * not sleep at all, but takes a spinlock_t for the statistics).
 * Returns 0 or a negative errno (see above).
 */
int mcai_pipeline_run(struct mcai_pipeline *p, const s8 *input,
		      struct mcai_result *res, void *scratch,
		      size_t scratch_size, u32 session);

/*
 * For kmod/ioctl.c: create one owned by @f, in the namespace of @user
 * (NULL: the admin's) and charged to it; drop all of @f's.
 */
int mcai_pipeline_create(struct mcai_file *f, struct mcai_pipeline_create *req,
			 struct mcai_acct *user);
void mcai_pipeline_release_file(struct mcai_file *f);

/*
 * The synchronous path: MCAI_IOC_INFER with MCAI_INFER_PIPELINE (ref names
 * a pipeline, as @user sees it; the scratch of the call is charged to
 * @user).  Same checks and out fields as mcai_infer(), plus result_flags.
 */
int mcai_pipeline_infer(struct mcai_infer *req, struct mcai_acct *user);

#endif /* MCAI_PIPELINE_H */
