/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcai in-kernel driver API: how a sensor driver feeds samples to a model
 * (or pipeline) without copying them, and gets results back.
 *
 *	c = mcai_client_attach("vib-detector", &ops, priv, &opts);
 *	...
 *	slot = mcai_client_reserve(c, &seq);	// NULL: ring full, counted
 *	fill slot with input_len int8 values;
 *	mcai_client_commit(c, slot);		// inference runs in mcai's
 *						// worker, not here
 *	...
 *	ops.result(c, res, priv) is called from the worker for each result;
 *	mcai_client_detach(c);			// waits for work in flight
 *
 * Deferred binding: the name need not exist at attach.  The attachment
 * then waits (reserve returns NULL and counts a drop), binds when a model
 * of that name is loaded (or an admin creates a pipeline of that name),
 * keeps its session across hot swaps of the model, and waits again when
 * the model is unloaded; a hot swap to a version of another shape, or a
 * reload, rebinds it on a new session.  Samples submitted while waiting
 * are counted as submitted and dropped, never queued.  With
 * opts.input_len set, a model whose input_len differs is not bound
 * (MCAI_ATTACH_REFUSED, -EMSGSIZE): the driver's samples never meet a
 * model of another shape.  MCAI_IOC_ATTACH_LIST (mcaictl list) shows each
 * attachment and its state.
 *
 * Contexts: attach and detach sleep (process context only).  reserve and
 * commit never sleep on a non-RT kernel and take only a spinlock_t: they
 * may be called from process context, softirq (timers, tasklets, NAPI)
 * and threaded interrupt handlers, not from hard interrupt context (they
 * return NULL / do nothing and count a drop there: on PREEMPT_RT a
 * spinlock_t sleeps).  A reserved slot must be committed before the next
 * reserve on the same client: one producer per client, like a ring.
 * The result callback runs in process context (mcai's worker) and may
 * sleep briefly, but a slow callback delays that client's results.  It
 * must not detach its own client: detach waits for the worker, which is
 * the callback's caller.
 */
#ifndef MCAI_DRIVER_H
#define MCAI_DRIVER_H

#include <linux/module.h>
#include <linux/types.h>
#include "uapi/mcai.h"
/* mcai_dmabuf_infer(): frames a driver holds in a dma-buf */
#include "dmabuf.h"

struct mcai_client;

struct mcai_client_ops {
	/* One result; @res->scores holds @res->n_scores values. */
	void (*result)(struct mcai_client *c, const struct mcai_result *res,
		       void *priv);
};

struct mcai_client_opts {
	u32 in_slots;		/* power of two, 0 = default */
	u32 flags;		/* MCAI_SESSION_PIPELINE: name is a pipeline */
	u32 mirror_every;	/* mirror 1 input in N (uapi "Sample mirror") */
	u32 input_len;		/* the driver's sample size; 0 = any model */
};

/*
 * Attach to a model or pipeline by name, loaded or not (above); ERR_PTR
 * on failure: -EINVAL (empty or too long a name, bad flags or slots),
 * -EOPNOTSUPP (mirror off in this module), -ENOMEM.  A pipeline name is
 * looked up among the pipelines an admin created only (kmod/pipeline.h):
 * never one of an unprivileged user's, so no user can make a waiting
 * driver bind to what the user made.  The caller's module is recorded
 * (MCAI_IOC_ATTACH_LIST shows it).
 */
struct mcai_client *__mcai_client_attach(const char *name,
					 const struct mcai_client_ops *ops,
					 void *priv,
					 const struct mcai_client_opts *opts,
					 struct module *owner);
#define mcai_client_attach(name, ops, priv, opts) \
	__mcai_client_attach(name, ops, priv, opts, THIS_MODULE)
void mcai_client_detach(struct mcai_client *c);

/*
 * Geometry of a sample: the bound model's input_len int8 values; while
 * waiting, opts.input_len (0 if not given).
 */
u32 mcai_client_input_len(const struct mcai_client *c);

/* MCAI_ATTACH_WAITING, _BOUND or _REFUSED (uapi/mcai.h). */
u32 mcai_client_state(const struct mcai_client *c);

/* A slot to fill in place, or NULL when the ring is full (a drop). */
s8 *mcai_client_reserve(struct mcai_client *c, u64 *seq);
void mcai_client_commit(struct mcai_client *c, s8 *slot);

/*
 * The same counters a session's kernel_ctl page shows, summed over every
 * binding since attach, plus what was submitted while waiting (dropped).
 */
void mcai_client_counters(const struct mcai_client *c,
			  struct mcai_kernel_ctl *out);

#endif /* MCAI_DRIVER_H */
