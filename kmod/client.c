// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel driver API (kmod/mcai_driver.h): an attachment by name,
 * bound, when that name exists, to a session whose rings are kernel-owned
 * (never mapped) and whose results go to a callback.
 *
 * Binding.  Every attachment is on mcai_clients; mcai_clients_resync()
 * (called by kmod/ioctl.c after each load, unload and pipeline change,
 * and by attach itself) compares each one's session with what its name
 * resolves to now, and binds, rebinds or unbinds.  The name is resolved
 * like a driver's always was: models by name (loading needs an admin),
 * pipelines among the admin's only (user NULL in mcai_session_new()), so
 * no unprivileged user can create what a waiting driver binds to.
 *
 * The driver is the producer: reserve hands out the slot at the private
 * tail when the ring has room, commit accepts it (tail + 1, timestamp,
 * submitted) and queues the worker.  Both take c->lock, then s->lock,
 * spinlock_ts, with spin_lock_bh() and interrupts left as they are: fine
 * in process context, softirq and threaded IRQ handlers; in hard IRQ
 * context (where a spinlock_t sleeps on PREEMPT_RT) reserve counts a drop
 * and returns NULL.  An hrtimer feeding a client must therefore run in
 * softirq context (HRTIMER_MODE_*_SOFT): a default hrtimer callback is
 * hard IRQ context.  The worker reads the slot in place, writes the
 * record into the kernel-owned result ring, calls ops->result and
 * consumes the record itself, so the result ring is never full for a
 * client.
 *
 * Unbinding never frees a slot the driver holds: it first stops new
 * reserves (retiring), waits for the reserved slot to be committed (one
 * reserve-fill-commit, the driver's own short section), then stops the
 * session; samples accepted but not yet run are counted as dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/export.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "compat.h"
#include "client.h"
#include "mcai_driver.h"
#include "mirror.h"
#include "pipeline.h"
#include "registry.h"
#include "session.h"
#include "trace.h"

struct mcai_client {
	struct list_head node;		/* on mcai_clients */
	u32 id;
	char name[MCAI_NAME_LEN];
	char driver[MCAI_NAME_LEN];
	u32 flags, in_slots, mirror_every, input_len;
	const struct mcai_client_ops *ops;
	void *priv;

	/* under mcai_clients_lock */
	u32 state;			/* MCAI_ATTACH_* */
	int error;			/* REFUSED: why */
	u32 binds;

	/* under lock: the producer side */
	spinlock_t lock;
	struct mcai_session *s;		/* NULL while waiting */
	bool retiring;			/* unbinding: no more reserves */
	s8 *reserved;			/* the slot handed out, NULL if none */
	struct mcai_session *rs;	/* the session @reserved belongs to */
	u64 w_submitted;		/* sent while waiting: all dropped */
	struct mcai_kernel_ctl past;	/* sums of the sessions before s */
	atomic64_t irq_drops;		/* called in hard IRQ context */
	wait_queue_head_t wq;		/* commit wakes a retiring unbind */
};

static LIST_HEAD(mcai_clients);
static DEFINE_MUTEX(mcai_clients_lock);	/* the list, binding, state */
static u32 mcai_client_ids;		/* under mcai_clients_lock */

static void mcai_client_result(struct mcai_session *s,
			       const struct mcai_result *res)
{
	struct mcai_client *c = s->cb_priv;

	if (c->ops && c->ops->result)
		c->ops->result(c, res, c->priv);
}

/* One session's counters, its queued samples counted as dropped. */
static void mcai_client_add(struct mcai_kernel_ctl *sum,
			    struct mcai_session *s, bool final)
{
	u64 completed = READ_ONCE(s->kctl->completed);
	u64 shed = READ_ONCE(s->kctl->shed);

	sum->in_head += s->head;
	sum->submitted += s->submitted;
	sum->dropped += s->dropped;
	if (final)	/* what it accepted and never ran: lost */
		sum->dropped += s->submitted - s->dropped - completed - shed;
	sum->overruns += s->overruns;
	sum->completed += completed;
	sum->shed += shed;
	sum->deadline_misses += READ_ONCE(s->kctl->deadline_misses);
	sum->gated += READ_ONCE(s->kctl->gated);
	sum->escalated += READ_ONCE(s->kctl->escalated);
}

static bool mcai_client_slot_free(struct mcai_client *c)
{
	bool free;

	spin_lock_bh(&c->lock);
	free = !c->reserved;
	spin_unlock_bh(&c->lock);
	return free;
}

/* Back to waiting; under mcai_clients_lock. */
static void mcai_client_unbind(struct mcai_client *c)
{
	struct mcai_session *s;

	spin_lock_bh(&c->lock);
	c->retiring = true;
	spin_unlock_bh(&c->lock);
	/* the driver commits what it reserved before it reserves again */
	wait_event(c->wq, mcai_client_slot_free(c));

	spin_lock_bh(&c->lock);
	s = c->s;
	c->s = NULL;
	spin_unlock_bh(&c->lock);
	if (s) {
		/* stop the worker, then the counters are final */
		spin_lock_bh(&s->lock);
		s->dead = true;
		spin_unlock_bh(&s->lock);
		cancel_work_sync(&s->work[0]);
		cancel_work_sync(&s->work[1]);
		spin_lock_bh(&c->lock);
		mcai_client_add(&c->past, s, true);
		spin_unlock_bh(&c->lock);
		mcai_session_free(s);
	}
	spin_lock_bh(&c->lock);
	c->retiring = false;
	spin_unlock_bh(&c->lock);
	c->state = MCAI_ATTACH_WAITING;
}

static void mcai_client_bind(struct mcai_client *c)
{
	struct mcai_model_ref ref = { 0 };
	struct mcai_session *s;

	strscpy(ref.name, c->name, sizeof(ref.name));
	/*
	 * One record in flight at a time: the worker consumes it at once.
	 * A driver sees the admin's pipelines only (kmod/pipeline.h) and is
	 * charged to the module's bound only (kmod/account.h).
	 */
	s = mcai_session_new(&ref, c->flags, c->in_slots, 1, NULL, true);
	if (IS_ERR(s)) {
		c->state = PTR_ERR(s) == -ENOENT ? MCAI_ATTACH_WAITING :
			   MCAI_ATTACH_REFUSED;
		c->error = PTR_ERR(s) == -ENOENT ? 0 : PTR_ERR(s);
		return;
	}
	if (c->input_len && s->input_len != c->input_len) {
		if (c->state != MCAI_ATTACH_REFUSED || c->error != -EMSGSIZE)
			pr_warn("%s: '%s' takes %u inputs, the driver's samples are %u: not bound\n",
				c->driver, c->name, s->input_len, c->input_len);
		mcai_session_free(s);
		c->state = MCAI_ATTACH_REFUSED;
		c->error = -EMSGSIZE;
		return;
	}
	s->cb_priv = c;
	s->cb = mcai_client_result;
	/* kmod/mirror.c: a driver's samples can feed local training too */
	s->mirror_every = c->mirror_every;
	spin_lock_bh(&c->lock);
	c->s = s;
	spin_unlock_bh(&c->lock);
	c->state = MCAI_ATTACH_BOUND;
	c->error = 0;
	c->binds++;
	pr_info("%s: bound to %s '%s'\n", c->driver,
		c->flags & MCAI_SESSION_PIPELINE ? "pipeline" : "model",
		c->name);
}

/*
 * Does the bound session still run what the name resolves to?  A model's
 * slot survives hot swaps, so does the session, unless the new version
 * has another shape (its runs would all fail): then it is rebound.
 */
static bool mcai_client_current(struct mcai_client *c)
{
	struct mcai_session *s = c->s;
	struct mcai_pipeline *p;
	struct mcai_version *v;
	bool same;

	if (c->flags & MCAI_SESSION_PIPELINE) {
		p = mcai_pipeline_get(0, c->name, NULL);
		same = p && p == s->pipe;
		if (p)
			mcai_pipeline_put(p);
		return same;
	}
	v = mcai_version_get(0, c->name);
	same = v && v->slot == s->slot && v->m.input_len == s->input_len &&
	       v->m.output_len == s->output_len;
	if (v)
		mcai_version_put(v);
	return same;
}

static void mcai_client_resync_one(struct mcai_client *c)
{
	lockdep_assert_held(&mcai_clients_lock);
	if (c->s && mcai_client_current(c))
		return;
	if (c->s) {
		pr_info("%s: '%s' is gone or changed: waiting\n", c->driver,
			c->name);
		mcai_client_unbind(c);
	}
	mcai_client_bind(c);
}

void mcai_clients_resync(void)
{
	struct mcai_client *c;

	mutex_lock(&mcai_clients_lock);
	list_for_each_entry(c, &mcai_clients, node)
		mcai_client_resync_one(c);
	mutex_unlock(&mcai_clients_lock);
}

struct mcai_client *__mcai_client_attach(const char *name,
					 const struct mcai_client_ops *ops,
					 void *priv,
					 const struct mcai_client_opts *opts,
					 struct module *owner)
{
	u32 flags = opts ? opts->flags : 0;
	u32 in_slots = opts ? opts->in_slots : 0;
	struct mcai_client *c;

	might_sleep();
	if (!name || !name[0] || strnlen(name, MCAI_NAME_LEN) >= MCAI_NAME_LEN)
		return ERR_PTR(-EINVAL);
	if (flags & ~MCAI_SESSION_FLAGS_ALL)
		return ERR_PTR(-EINVAL);
	/* checked now, not at the first bind, which may be much later */
	if (in_slots && (!is_power_of_2(in_slots) ||
			 in_slots > MCAI_SESSION_MAX_SLOTS))
		return ERR_PTR(-EINVAL);
	if (opts && mcai_mirror_check_every(opts->mirror_every))
		return ERR_PTR(-EOPNOTSUPP);
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	strscpy(c->name, name, sizeof(c->name));
	strscpy(c->driver, owner ? module_name(owner) : "kernel",
		sizeof(c->driver));
	c->flags = flags;
	c->in_slots = in_slots;
	if (opts) {
		c->mirror_every = opts->mirror_every;
		c->input_len = opts->input_len;
	}
	c->ops = ops;
	c->priv = priv;
	c->state = MCAI_ATTACH_WAITING;
	spin_lock_init(&c->lock);
	init_waitqueue_head(&c->wq);
	atomic64_set(&c->irq_drops, 0);

	mutex_lock(&mcai_clients_lock);
	c->id = ++mcai_client_ids;
	list_add_tail(&c->node, &mcai_clients);
	mcai_client_bind(c);
	mutex_unlock(&mcai_clients_lock);
	if (c->state == MCAI_ATTACH_WAITING)
		pr_info("%s: %s '%s' not there yet: waiting for it\n",
			c->driver, flags ? "pipeline" : "model", c->name);
	return c;
}
EXPORT_SYMBOL_GPL(__mcai_client_attach);

void mcai_client_detach(struct mcai_client *c)
{
	might_sleep();
	if (IS_ERR_OR_NULL(c))
		return;
	mutex_lock(&mcai_clients_lock);
	list_del(&c->node);
	/* Marks the session dead, then waits for the worker. */
	mcai_client_unbind(c);
	mutex_unlock(&mcai_clients_lock);
	kfree(c);
}
EXPORT_SYMBOL_GPL(mcai_client_detach);

u32 mcai_client_input_len(const struct mcai_client *c)
{
	struct mcai_client *w = (struct mcai_client *)c;
	u32 len;

	spin_lock_bh(&w->lock);
	len = c->s ? c->s->input_len : c->input_len;
	spin_unlock_bh(&w->lock);
	return len;
}
EXPORT_SYMBOL_GPL(mcai_client_input_len);

u32 mcai_client_state(const struct mcai_client *c)
{
	return READ_ONCE(c->state);
}
EXPORT_SYMBOL_GPL(mcai_client_state);

s8 *mcai_client_reserve(struct mcai_client *c, u64 *seq)
{
	struct mcai_session *s;
	s8 *slot = NULL;
	u32 reason = 0, model_id = 0, sid = 0;

	if (in_hardirq()) {
		/* Not our lock to take here: counted without it. */
		atomic64_inc(&c->irq_drops);
		reason = 2;
		goto drop;
	}
	spin_lock_bh(&c->lock);
	s = c->retiring ? NULL : c->s;
	if (!s) {
		/* waiting (or unbinding): a drop, never queued */
		c->w_submitted++;
		spin_unlock_bh(&c->lock);
		reason = 3;
		goto drop;
	}
	spin_lock(&s->lock);
	if (!s->dead && !c->reserved && s->tail - s->head < s->in_slots) {
		slot = (s8 *)(s->in +
			(size_t)(s->tail & (s->in_slots - 1)) * s->slot_size);
		c->reserved = slot;
		c->rs = s;
		if (seq)
			*seq = c->past.submitted + c->w_submitted + s->accepted;
	} else {
		s->submitted++;
		s->dropped++;
		mcai_session_publish_locked(s);
	}
	spin_unlock(&s->lock);
	sid = s->id;
	model_id = mcai_session_model_id(s);
	spin_unlock_bh(&c->lock);
	if (slot)
		return slot;
drop:
	trace_mcai_drop(sid, 0, reason, model_id);
	return NULL;
}
EXPORT_SYMBOL_GPL(mcai_client_reserve);

void mcai_client_commit(struct mcai_client *c, s8 *slot)
{
	struct mcai_session *s;

	if (in_hardirq()) {
		/* the sample is lost: a drop, and the slot is free again */
		atomic64_inc(&c->irq_drops);
		WRITE_ONCE(c->reserved, NULL);
		trace_mcai_drop(0, 0, 2, 0);
		return;
	}
	spin_lock_bh(&c->lock);
	if (slot && slot == c->reserved) {
		s = c->rs;
		c->reserved = NULL;
		c->rs = NULL;
		spin_lock(&s->lock);
		s->t_sub[s->tail & (s->in_slots - 1)] = ktime_get_ns();
		s->tail++;
		s->accepted++;
		s->submitted++;
		mcai_session_publish_locked(s);
		if (!s->dead)
			mcai_session_queue(s);
		spin_unlock(&s->lock);
		if (c->retiring)
			wake_up(&c->wq);
	}
	spin_unlock_bh(&c->lock);
}
EXPORT_SYMBOL_GPL(mcai_client_commit);

/* Under c->lock. */
static void mcai_client_sum(const struct mcai_client *c,
			    struct mcai_kernel_ctl *out)
{
	u64 irq = atomic64_read(&c->irq_drops);

	*out = c->past;
	if (c->s) {
		spin_lock(&c->s->lock);
		mcai_client_add(out, c->s, false);
		spin_unlock(&c->s->lock);
		out->res_tail = READ_ONCE(c->s->kctl->res_tail);
	}
	out->submitted += c->w_submitted + irq;
	out->dropped += c->w_submitted + irq;
}

void mcai_client_counters(const struct mcai_client *c,
			  struct mcai_kernel_ctl *out)
{
	struct mcai_client *w = (struct mcai_client *)c;

	memset(out, 0, sizeof(*out));
	spin_lock_bh(&w->lock);
	mcai_client_sum(c, out);
	spin_unlock_bh(&w->lock);
}
EXPORT_SYMBOL_GPL(mcai_client_counters);

u32 mcai_clients_count(void)
{
	struct mcai_client *c;
	u32 n = 0;

	mutex_lock(&mcai_clients_lock);
	list_for_each_entry(c, &mcai_clients, node)
		n++;
	mutex_unlock(&mcai_clients_lock);
	return n;
}

u32 mcai_clients_list(struct mcai_attach_info *out, u32 cap)
{
	struct mcai_kernel_ctl k;
	struct mcai_client *c;
	u32 n = 0;

	mutex_lock(&mcai_clients_lock);
	list_for_each_entry(c, &mcai_clients, node) {
		struct mcai_attach_info *a = &out[n];

		if (n++ >= cap)
			continue;
		memset(a, 0, sizeof(*a));
		a->id = c->id;
		a->state = c->state;
		a->flags = c->flags & MCAI_SESSION_PIPELINE ?
			   MCAI_ATTACH_PIPELINE : 0;
		a->error = c->error;
		a->binds = c->binds;
		a->input_len = c->input_len;
		memcpy(a->name, c->name, sizeof(a->name));
		memcpy(a->driver, c->driver, sizeof(a->driver));
		memset(&k, 0, sizeof(k));
		spin_lock_bh(&c->lock);
		if (c->s && c->s->slot)
			a->model_id = c->s->slot->id;
		mcai_client_sum(c, &k);
		spin_unlock_bh(&c->lock);
		a->submitted = k.submitted;
		a->completed = k.completed;
		a->dropped = k.dropped;
		a->shed = k.shed;
	}
	mutex_unlock(&mcai_clients_lock);
	return n;
}
