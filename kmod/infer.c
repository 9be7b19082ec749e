// SPDX-License-Identifier: GPL-2.0
/*
 * Synchronous inference.
 *
 * User memory is only touched while no model reference is held: the input
 * is copied in before the lookup and the scores are copied out after the
 * put, so a caller that stalls a copy (userfaultfd, a slow mapping) cannot
 * pin a replaced version.  Scratch memory is allocated per call, which is
 * what makes concurrent callers on one fd safe without any lock; it is
 * charged to the caller's memory cgroup (MCAI_GFP_USER) and lives only as
 * long as the call.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "account.h"
#include "compat.h"
#include "infer.h"
#include "registry.h"
#include "sched.h"
#include "stats.h"
#include "trace.h"
#include "models/engine/model.h"

/*
 * Run @req (already copied in and checked for reserved fields) and fill
 * its out fields.  The model is selected by ref.model_id, or by ref.name
 * when the id is 0.
 */
int mcai_infer(struct mcai_infer *req)
{
	const struct mcai_limits *lim = mcai_registry_limits();
	struct mcai_trace_batch tb;
	struct mcai_version *v;
	void *arena = NULL;
	s8 *input, *scores;
	u32 out_len = 0;
	int cls = 0, ret = 0;

	/*
	 * A wrong length is refused before any user memory is read: the
	 * current version's input_len, looked up and let go again, bounds
	 * the copy (a swap in between is caught by the check below).
	 */
	if (!req->input_len ||
	    req->input_len > max(lim->max_dim, lim->max_arena))
		return -EINVAL;
	v = mcai_version_get(req->ref.model_id, req->ref.name);
	if (!v)
		return -ENOENT;
	ret = req->input_len == v->m.input_len ? 0 : -EINVAL;
	mcai_version_put(v);
	if (ret)
		return ret;
	/* a graph's input can be large: charged, and vmalloc'd if need be */
	input = kvmalloc(req->input_len, MCAI_GFP_USER);
	if (!input)
		return -ENOMEM;
	if (copy_from_user(input, u64_to_user_ptr(req->input_ptr),
			   req->input_len)) {
		ret = -EFAULT;
		goto out_input;
	}

	v = mcai_version_get(req->ref.model_id, req->ref.name);
	if (!v) {
		ret = -ENOENT;
		goto out_input;
	}
	out_len = v->m.output_len;
	if (req->input_len != v->m.input_len ||
	    (req->scores_ptr && req->scores_len < out_len)) {
		ret = -EINVAL;
		goto out_put;
	}
	/* One buffer: the arena (8-byte aligned for a graph), the scores. */
	arena = kvmalloc((size_t)v->m.arena_size + out_len, MCAI_GFP_USER);
	if (!arena) {
		ret = -ENOMEM;
		goto out_put;
	}
	scores = (s8 *)arena + v->m.arena_size;
	/* The energy budget binds every path, not only sessions. */
	if (mcai_sched_admit(&v->slot->sched, v->m.macs) == MCAI_ADMIT_SHED) {
		trace_mcai_shed(v->slot->id, v->m.version, 0, 0, v->m.macs);
		ret = -EAGAIN;
		goto out_put;
	}
	/* a batch of one: the telemetry has counted it when we return */
	mcai_trace_batch_begin(&tb);
	trace_mcai_infer_start(v->slot->id, v->m.version, 0, 0, v->m.macs,
			       req->input_len);
	cls = mcai_model_run(&v->m, input, scores, arena);
	mcai_trace_infer_done(&tb, v->slot->id, v->m.version, 0, 0, v->m.macs,
			      cls, 0, v->slot->name);
	mcai_trace_batch_end(&tb, v->slot->id, v->m.version, 0, v->slot->name,
			     v->m.macs);
	req->version = v->m.version;
	atomic64_inc(&v->slot->inferences);
	atomic64_inc(&mcai_live.inferences);
	mcai_stats_update(&v->slot->drift, input, req->input_len, cls);
out_put:
	mcai_version_put(v);
	if (!ret && req->scores_ptr &&
	    copy_to_user(u64_to_user_ptr(req->scores_ptr), scores, out_len))
		ret = -EFAULT;
	if (!ret) {
		req->class_id = cls;
		req->scores_len = out_len;
	}
	kvfree(arena);
out_input:
	kvfree(input);
	return ret;
}
