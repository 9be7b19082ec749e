// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel driver API (kmod/mcai_driver.h): a session whose rings
 * are kernel-owned (never mapped) and whose results go to a callback.
 *
 * The driver is the producer: reserve hands out the slot at the private
 * tail when the ring has room, commit accepts it (tail + 1, timestamp,
 * submitted) and queues the worker.  Both take only s->lock, a spinlock_t,
 * with spin_lock_bh() and interrupts left as they are: fine in process
 * context, softirq and threaded IRQ handlers; in hard IRQ context (where a
 * spinlock_t sleeps on PREEMPT_RT) reserve counts a drop and returns NULL.
 * An hrtimer feeding a client must therefore run in softirq context
 * (HRTIMER_MODE_*_SOFT): a default hrtimer callback is hard IRQ context.  The worker reads
 * the slot in place, writes the record into the kernel-owned result ring,
 * calls ops->result and consumes the record itself, so the result ring is
 * never full for a client.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/export.h>
#include <linux/ktime.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "mcai_driver.h"
#include "mirror.h"
#include "session.h"
#include "trace.h"

struct mcai_client {
	struct mcai_session *s;
	const struct mcai_client_ops *ops;
	void *priv;
	s8 *reserved;		/* the slot handed out, NULL if none */
};

static void mcai_client_result(struct mcai_session *s,
			       const struct mcai_result *res)
{
	struct mcai_client *c = s->cb_priv;

	if (c->ops && c->ops->result)
		c->ops->result(c, res, c->priv);
}

struct mcai_client *mcai_client_attach(const char *name,
				       const struct mcai_client_ops *ops,
				       void *priv,
				       const struct mcai_client_opts *opts)
{
	struct mcai_model_ref ref = { 0 };
	struct mcai_client *c;
	struct mcai_session *s;
	u32 flags = opts ? opts->flags : 0;

	might_sleep();
	if (!name || !name[0] || strnlen(name, MCAI_NAME_LEN) >= MCAI_NAME_LEN)
		return ERR_PTR(-EINVAL);
	if (opts && mcai_mirror_check_every(opts->mirror_every))
		return ERR_PTR(-EOPNOTSUPP);
	strscpy(ref.name, name, sizeof(ref.name));
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	/*
	 * One record in flight at a time: the worker consumes it at once.
	 * A driver sees the admin's pipelines only (kmod/pipeline.h) and is
	 * charged to the module's bound only (kmod/account.h).
	 */
	s = mcai_session_new(&ref, flags, opts ? opts->in_slots : 0, 1, NULL,
			     true);
	if (IS_ERR(s)) {
		kfree(c);
		return ERR_CAST(s);
	}
	c->s = s;
	c->ops = ops;
	c->priv = priv;
	s->cb_priv = c;
	s->cb = mcai_client_result;
	/* kmod/mirror.c: a driver's samples can feed local training too */
	if (opts)
		s->mirror_every = opts->mirror_every;
	return c;
}
EXPORT_SYMBOL_GPL(mcai_client_attach);

void mcai_client_detach(struct mcai_client *c)
{
	might_sleep();
	if (IS_ERR_OR_NULL(c))
		return;
	/* Marks the session dead, then waits for the worker. */
	mcai_session_free(c->s);
	kfree(c);
}
EXPORT_SYMBOL_GPL(mcai_client_detach);

u32 mcai_client_input_len(const struct mcai_client *c)
{
	return c->s->input_len;
}
EXPORT_SYMBOL_GPL(mcai_client_input_len);

s8 *mcai_client_reserve(struct mcai_client *c, u64 *seq)
{
	struct mcai_session *s = c->s;
	s8 *slot = NULL;
	u32 reason = 0;

	if (in_hardirq()) {
		/* Not our lock to take here: counted without it. */
		atomic64_inc(&s->irq_drops);
		reason = 2;
		goto drop;
	}
	spin_lock_bh(&s->lock);
	if (!s->dead && !c->reserved && s->tail - s->head < s->in_slots) {
		slot = (s8 *)(s->in +
			(size_t)(s->tail & (s->in_slots - 1)) * s->slot_size);
		c->reserved = slot;
		if (seq)
			*seq = s->accepted;
	} else {
		s->submitted++;
		s->dropped++;
		mcai_session_publish_locked(s);
	}
	spin_unlock_bh(&s->lock);
	if (slot)
		return slot;
drop:
	trace_mcai_drop(s->id, 0, reason, mcai_session_model_id(s));
	return NULL;
}
EXPORT_SYMBOL_GPL(mcai_client_reserve);

void mcai_client_commit(struct mcai_client *c, s8 *slot)
{
	struct mcai_session *s = c->s;

	if (in_hardirq()) {
		/* the sample is lost: a drop, and the slot is free again */
		atomic64_inc(&s->irq_drops);
		WRITE_ONCE(c->reserved, NULL);
		trace_mcai_drop(s->id, 0, 2, mcai_session_model_id(s));
		return;
	}
	spin_lock_bh(&s->lock);
	if (slot && slot == c->reserved) {
		c->reserved = NULL;
		s->t_sub[s->tail & (s->in_slots - 1)] = ktime_get_ns();
		s->tail++;
		s->accepted++;
		s->submitted++;
		mcai_session_publish_locked(s);
		if (!s->dead)
			mcai_session_queue(s);
	}
	spin_unlock_bh(&s->lock);
}
EXPORT_SYMBOL_GPL(mcai_client_commit);

void mcai_client_counters(const struct mcai_client *c,
			  struct mcai_kernel_ctl *out)
{
	struct mcai_session *s = c->s;

	memset(out, 0, sizeof(*out));
	spin_lock_bh(&s->lock);
	out->in_head = s->head;
	out->submitted = s->submitted + atomic64_read(&s->irq_drops);
	out->dropped = s->dropped + atomic64_read(&s->irq_drops);
	out->overruns = s->overruns;
	spin_unlock_bh(&s->lock);
	out->res_tail = READ_ONCE(s->kctl->res_tail);
	out->completed = READ_ONCE(s->kctl->completed);
	out->shed = READ_ONCE(s->kctl->shed);
	out->deadline_misses = READ_ONCE(s->kctl->deadline_misses);
	out->gated = READ_ONCE(s->kctl->gated);
	out->escalated = READ_ONCE(s->kctl->escalated);
}
EXPORT_SYMBOL_GPL(mcai_client_counters);
