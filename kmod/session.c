// SPDX-License-Identifier: GPL-2.0
/*
 * Zero-copy sessions (uapi/mcai.h, "Zero-copy sessions").
 *
 * Memory: two zeroed vmalloc() regions per session.  The user region holds
 * struct mcai_user_ctl (one page) and the input slots, and is the only
 * one user space may write.  The kernel region holds struct
 * mcai_kernel_ctl (one page) and the result records; it is mapped
 * read-only and without VM_MAYWRITE, so mprotect() cannot make it
 * writable either.  Both must be mapped MAP_SHARED with the exact offset
 * and length SESSION_CREATE returned.  A mapping holds a reference to the
 * file, so the regions are freed only after the last munmap and close.
 *
 * Everything a session holds (the structure, the submit times, both
 * regions, the engine's scratch) is charged to the budgets of
 * kmod/account.h before it is allocated, and allocated with
 * MCAI_GFP_USER, so that it counts in the creator's memory cgroup too
 * (the regions are allocated with __vmalloc(), not vmalloc_user(), for
 * that: mcai_session_map() inserts their pages as remap_vmalloc_range()
 * would).  The scratch of a model or pipeline session is sized from the
 * current versions' arenas at creation; when a hot swap brings a version
 * with a larger arena the worker grows it, charged to the same budget
 * and, through the creator's memory cgroup it keeps, to the same cgroup.
 * An in-kernel driver's session is charged to the module's bound only.
 *
 * Indices: the kernel never trusts a value it reads from the user page.
 * Its private copies are head (consumed) and tail (accepted), with
 * head <= tail <= head + in_slots; the doorbell reads in_tail once with
 * smp_load_acquire() and clamps it into that window: an impossible value
 * counts an overrun, one behind the head adds nothing, one more than
 * in_slots ahead adds at most a ringful, one behind the accepted tail
 * takes nothing back.  The worker consumes only [head, tail), each index
 * once, and publishes in_head and res_tail with smp_store_release() after
 * the slot has been read and the record written.  res_head is read with
 * smp_load_acquire(); a value claiming more results consumed than were
 * produced counts an overrun and stalls that session only.
 *
 * Samples are read in place: the engine runs directly on the slot in the
 * user region.  User space can modify a slot while the engine reads it;
 * that can only change that sample's own result, never the kernel's
 * safety: the engine only reads the input, every int8 value is a valid
 * input (a LUT index q + 128 is always in 0..255), and no length, offset
 * or index is ever taken from the slot.  A v2 graph copies its inputs
 * into its arena before the first op, so it computes on a snapshot.
 *
 * Locking: s->lock (spinlock_t) covers the producer indices and counters
 * for a few instructions at a time, never the engine run, an allocation
 * or anything else that sleeps; correct on PREEMPT_RT.  It is taken with
 * spin_lock_bh() everywhere, because a kernel client (kmod/client.c) may
 * produce from softirq context on the CPU where the worker holds it.  The worker state
 * needs no lock: a work item never runs concurrently with itself.
 *
 * A session holds a reference on the model slot, not on a version: the
 * worker takes the current version once per pass (RCU lookup and
 * reference), so a hot swap is picked up at the next pass, work in
 * flight finishes on the old version, and each record carries the
 * version that computed it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "account.h"
#include "compat.h"
#include "file.h"
#include "mirror.h"
#include "pipeline.h"
#include "registry.h"
#include "sched.h"
#include "session.h"
#include "stats.h"
#include "trace.h"
#include "models/engine/model.h"

static atomic_t mcai_session_ids = ATOMIC_INIT(0);

static u32 mcai_slot_bytes(u32 len)
{
	return ALIGN(len, 64);
}

/* Publish the counters the producer side owns; under s->lock. */
void mcai_session_publish_locked(struct mcai_session *s)
{
	u64 irq = atomic64_read(&s->irq_drops);

	WRITE_ONCE(s->kctl->submitted, s->submitted + irq);
	WRITE_ONCE(s->kctl->overruns, s->overruns);
	WRITE_ONCE(s->kctl->dropped, s->dropped + irq);
}

/*
 * The worker's counters.  Written before the store-release of res_tail
 * that publishes the records they count: whoever load-acquires res_tail
 * then finds completed + dropped + shed covering every record up to it
 * (uapi: submitted = completed + dropped + shed + queued).  The
 * producer's half (dropped among them) follows under s->lock.
 */
static void mcai_session_publish_worker_locked(struct mcai_session *s)
{
	struct mcai_kernel_ctl *k = s->kctl;

	WRITE_ONCE(k->completed, s->completed);
	WRITE_ONCE(k->shed, s->shed);
	WRITE_ONCE(k->deadline_misses, s->deadline_misses);
	WRITE_ONCE(k->gated, s->gated);
	WRITE_ONCE(k->escalated, s->escalated);
	mcai_session_publish_locked(s);
}

/* Under s->lock. */
void mcai_session_queue(struct mcai_session *s)
{
	u32 prio = s->slot ? mcai_sched_priority(&s->slot->sched) : MCAI_PRIO_NORMAL;

	queue_work(mcai_sched_wq(prio), &s->work[prio == MCAI_PRIO_HIGH]);
}

/* Charge @bytes more to the session's budget (see the top). */
static int mcai_session_charge(struct mcai_session *s, size_t bytes)
{
	int ret = mcai_acct_mem_charge(s->acct, bytes);

	if (!ret)
		s->charged += bytes;
	return ret;
}

/*
 * Make room for @need bytes of scratch: at creation, then in the worker
 * (a hot swap to a version with a larger arena), charged and allocated
 * as the creator's.  The old buffer is kept when this fails.
 */
static int mcai_session_scratch(struct mcai_session *s, size_t need)
{
	size_t old_charge = s->scratch ? mcai_acct_kv_size(s->scratch_size) : 0;
	size_t new_charge = mcai_acct_kv_size(need);
	struct mem_cgroup *old_memcg;
	void *p;
	int ret;

	if (need <= s->scratch_size)
		return 0;
	ret = mcai_session_charge(s, new_charge);
	if (ret)
		return ret;
	old_memcg = set_active_memcg(s->memcg);
	p = kvmalloc(need, s->gfp);
	set_active_memcg(old_memcg);
	if (!p) {
		mcai_acct_mem_uncharge(s->acct, new_charge);
		s->charged -= new_charge;
		return -ENOMEM;
	}
	kvfree(s->scratch);
	mcai_acct_mem_uncharge(s->acct, old_charge);
	s->charged -= old_charge;
	s->scratch = p;
	s->scratch_size = need;
	return 0;
}

/* The bound model's id for events, 0 for a pipeline session. */
u32 mcai_session_model_id(const struct mcai_session *s)
{
	return s->slot ? s->slot->id : 0;
}

/*
 * A record for a sample that was not computed: the model was unloaded or
 * replaced by a version of another shape, the pipeline failed, or scratch
 * could not be allocated.  Counted in dropped.
 */
static void mcai_session_fail(struct mcai_session *s, struct mcai_result *r)
{
	r->model_id = 0;
	r->version = 0;
	r->class_id = -1;
	r->flags = 0;
	r->n_scores = 0;
	spin_lock_bh(&s->lock);
	s->dropped++;
	spin_unlock_bh(&s->lock);
	trace_mcai_drop(s->id, r->seq, 1, mcai_session_model_id(s));
}

/*
 * One sample through a model, timed in the chunk's batch @tb; @v may be
 * NULL (unloaded).  True when the model ran, its class in *@cls: the
 * caller does the rest of the sample's work (drift statistics, counters)
 * after the chunk, out of the batch's chained clock.
 */
static bool mcai_session_run_model(struct mcai_session *s,
				   struct mcai_version *v, const s8 *in,
				   struct mcai_result *r,
				   struct mcai_trace_batch *tb, int *cls)
{
	const struct mcai_model *m;

	if (!v) {
		mcai_session_fail(s, r);
		return false;
	}
	m = &v->m;
	r->model_id = v->slot->id;
	r->version = m->version;
	r->flags = 0;
	if (mcai_sched_admit(&v->slot->sched, m->macs) == MCAI_ADMIT_SHED) {
		r->class_id = -1;
		r->n_scores = 0;
		r->flags = MCAI_RES_SHED;
		s->shed++;
		trace_mcai_shed(v->slot->id, m->version, s->id, r->seq, m->macs);
		return false;
	}
	/*
	 * The events take their ids from @v, never back from the record,
	 * which user space may scribble on.
	 */
	trace_mcai_infer_start(v->slot->id, m->version, s->id, r->seq, m->macs,
			       m->input_len);
	/* In place: see the comment at the top about concurrent writers. */
	*cls = mcai_model_run(m, in, r->scores, s->scratch);
	r->class_id = *cls;
	r->n_scores = m->output_len;
	mcai_trace_infer_done(tb, v->slot->id, m->version, s->id, r->seq,
			      m->macs, *cls, 0, v->slot->name);
	s->completed++;
	return true;
}

static void mcai_session_run_pipe(struct mcai_session *s, const s8 *in,
				  struct mcai_result *r)
{
	int ret;

	/* the stages fire their own infer and shed events */
	ret = mcai_pipeline_run(s->pipe, in, r, s->scratch, s->scratch_size,
				s->id);
	if (ret == -EAGAIN) {
		/* a stage was over its energy budget */
		r->flags = MCAI_RES_SHED;
		s->shed++;
		return;
	}
	if (ret) {
		mcai_session_fail(s, r);
		return;
	}
	if (r->flags & MCAI_RES_GATED)
		s->gated++;
	if (r->flags & MCAI_RES_ESCALATE)
		s->escalated++;
	s->completed++;
}

/*
 * A worker pass ends after this long (or when the ring is empty, or the
 * result ring full) and requeues itself if there is more: sessions
 * sharing a workqueue take turns, and one session cannot hold a worker
 * for ever.
 */
#define MCAI_SESSION_PASS_NS	(2 * NSEC_PER_MSEC)
/*
 * Samples are consumed in chunks of at most MCAI_SESSION_BATCH samples
 * and about this many MACs: s->lock, the clock and the published indices
 * are touched once per chunk, not per sample, and a cheap model gets
 * long chunks while an expensive one publishes each result at once.
 */
#define MCAI_SESSION_CHUNK_MACS	65536

static struct mcai_result *mcai_session_rec(struct mcai_session *s, u32 i)
{
	return (struct mcai_result *)(s->res +
		(size_t)(i & (s->res_slots - 1)) * s->res_size);
}

/* Input slot @i (a ring index, free running). */
static const s8 *mcai_session_in(struct mcai_session *s, u32 i)
{
	return (const s8 *)(s->in +
		(size_t)(i & (s->in_slots - 1)) * s->slot_size);
}

/*
 * The worker.  One pass takes a snapshot of [head, tail) under s->lock,
 * consumes it chunk by chunk, each chunk bounded by the free result
 * records: run each sample in place into its record (the chunk's
 * inferences are one telemetry batch, kmod/trace.h, its event fired here),
 * then the per-sample drift statistics and mirror, then read the clock
 * once, set each record's latency (submission to publication) and
 * deadline flag, refresh the snapshot (advancing the private head) and
 * publish the counters under the lock, then in_head and res_tail with
 * one store-release each: the counters never lag the records.  The pass
 * ends when the ring is empty, the result ring is full (back-pressure:
 * the next doorbell resumes) or MCAI_SESSION_PASS_NS has passed
 * (requeue); poll() is woken once per pass.
 */
static void mcai_session_pass(struct mcai_session *s)
{
	struct mcai_version *v = NULL;
	bool more = false, usable = true, timeout = false;
	u32 head, tail, per = 1, done = 0;
	u64 start, now;

	if (s->slot) {
		v = mcai_slot_version_get(s->slot);
		if (v && (v->m.input_len != s->input_len ||
			  v->m.output_len != s->output_len)) {
			mcai_version_put(v);
			v = NULL;
		}
		if (v && mcai_session_scratch(s, v->m.arena_size))
			usable = false;
		if (v)
			per = clamp_t(u64,
				      div64_u64(MCAI_SESSION_CHUNK_MACS,
						max_t(u64, v->m.macs, 1)),
				      1, MCAI_SESSION_BATCH);
	} else if (mcai_session_scratch(s,
				mcai_pipeline_scratch_size(s->pipe))) {
		/* a member swapped to a larger arena, and no memory */
		usable = false;
	}
	/* pipelines: per = 1, their cost depends on the gate */

	start = ktime_get_ns();
	spin_lock_bh(&s->lock);
	head = s->head;
	tail = s->tail;
	spin_unlock_bh(&s->lock);

	while (head != tail) {
		u32 n, i, rhead, used, r0 = s->res_tail, ran = 0;
		int cls[MCAI_SESSION_BATCH];
		struct mcai_trace_batch tb;

		/* Back-pressure: a full result ring stops consumption. */
		/* pairs with user space's store-release of res_head */
		rhead = smp_load_acquire(&s->uctl->res_head);
		used = r0 - rhead;
		if (used >= s->res_slots) {
			if (used > s->res_slots) {
				spin_lock_bh(&s->lock);
				s->overruns++;
				spin_unlock_bh(&s->lock);
			}
			break;
		}
		n = min3(tail - head, s->res_slots - used, per);
		/* the chunk's inferences: one batch, one telemetry event */
		BUILD_BUG_ON(MCAI_SESSION_BATCH > 32);
		if (v)
			mcai_trace_batch_begin(&tb);
		for (i = 0; i < n; i++) {
			struct mcai_result *r = mcai_session_rec(s, r0 + i);
			const s8 *in = mcai_session_in(s, head + i);

			r->seq = s->seq + i;
			r->pad = 0;
			if (!usable)
				mcai_session_fail(s, r);
			else if (s->pipe)
				mcai_session_run_pipe(s, in, r);
			else if (mcai_session_run_model(s, v, in, r, &tb,
							&cls[i]))
				ran |= BIT(i);
		}
		/*
		 * Before the records are published: the telemetry has
		 * counted them by the time user space sees them.
		 */
		if (v)
			mcai_trace_batch_end(&tb, v->slot->id, v->m.version,
					     s->id, v->slot->name, v->m.macs);
		/*
		 * The drift statistics and the mirror after the batch, out of
		 * its clock: neither is the model's time, and the statistics'
		 * lock sleeps on PREEMPT_RT.
		 */
		for (i = 0; i < n; i++) {
			struct mcai_result *r = mcai_session_rec(s, r0 + i);
			const s8 *in = mcai_session_in(s, head + i);

			if (ran & BIT(i))
				mcai_stats_update(&v->slot->drift, in,
						  v->m.input_len, cls[i]);
			mcai_mirror_sample(READ_ONCE(s->mirror_every), s->id, in,
					   s->input_len, r);
		}
		if (ran) {
			atomic64_add(hweight32(ran), &v->slot->inferences);
			atomic64_add(hweight32(ran), &mcai_live.inferences);
		}
		/* t_sub[] of these slots is ours until s->head passes them */
		now = ktime_get_ns();
		for (i = 0; i < n; i++) {
			struct mcai_result *r = mcai_session_rec(s, r0 + i);
			u64 lat = now - s->t_sub[(head + i) & (s->in_slots - 1)];

			r->latency_ns = lat;
			if (s->slot && mcai_sched_deadline(&s->slot->sched, lat)) {
				r->flags |= MCAI_RES_DEADLINE_MISS;
				s->deadline_misses++;
			}
		}
		head += n;
		s->seq += n;
		s->res_tail = r0 + n;
		done += n;
		/*
		 * The private head first: a producer that sees the slots
		 * free in in_head and kicks must find them free here too,
		 * or its samples would count as an overrun.
		 */
		spin_lock_bh(&s->lock);
		s->head = head;
		tail = s->tail;
		/* the counters of these records, before the records */
		mcai_session_publish_worker_locked(s);
		spin_unlock_bh(&s->lock);
		/* The slots are read, the records written: publish both. */
		/* pairs with user space's load-acquire of in_head */
		smp_store_release(&s->kctl->in_head, head);
		/* ...ordered after the records' stores, for user space */
		smp_store_release(&s->kctl->res_tail, s->res_tail);
		if (s->cb) {
			for (i = 0; i < n; i++)
				s->cb(s, mcai_session_rec(s, r0 + i));
			/* kernel clients: the records are consumed */
			smp_store_release(&s->uctl->res_head, s->res_tail);
		}
		if (now - start >= MCAI_SESSION_PASS_NS) {
			timeout = true;
			break;
		}
		cond_resched();
	}
	more = head != tail;
	if (v)
		mcai_version_put(v);
	/* overruns counted when the result ring was found overrun */
	spin_lock_bh(&s->lock);
	mcai_session_publish_worker_locked(s);
	spin_unlock_bh(&s->lock);
	if (done)
		wake_up_interruptible_poll(&s->wq, EPOLLIN | EPOLLRDNORM |
					   EPOLLOUT | EPOLLWRNORM);
	spin_lock_bh(&s->lock);
	s->in_pass = false;
	if (((more && timeout) || s->rerun) && !s->dead)
		mcai_session_queue(s);
	s->rerun = false;
	spin_unlock_bh(&s->lock);
}

/* One pass at a time, whichever work item runs it. */
static void mcai_session_work(struct mcai_session *s)
{
	spin_lock_bh(&s->lock);
	if (s->in_pass) {
		/* the other item's pass is on: it runs one more */
		s->rerun = true;
		spin_unlock_bh(&s->lock);
		return;
	}
	s->in_pass = true;
	spin_unlock_bh(&s->lock);

	mcai_session_pass(s);
}

static void mcai_session_work_normal(struct work_struct *w)
{
	mcai_session_work(container_of(w, struct mcai_session, work[0]));
}

static void mcai_session_work_high(struct work_struct *w)
{
	mcai_session_work(container_of(w, struct mcai_session, work[1]));
}

void mcai_session_kick(struct mcai_session *s)
{
	u32 utail, d, newt, i;
	u64 now;

	spin_lock_bh(&s->lock);
	if (s->dead) {
		spin_unlock_bh(&s->lock);
		return;
	}
	/* pairs with the producer's store-release: slots before the index */
	utail = smp_load_acquire(&s->uctl->in_tail);
	d = utail - s->head;
	if ((s32)d < 0) {
		/* behind the head: nothing new (and counted) */
		s->overruns++;
		d = 0;
	} else if (d > s->in_slots) {
		/* ahead of what the ring can hold: at most a ringful */
		s->overruns++;
		d = s->in_slots;
	}
	newt = s->head + d;
	if ((s32)(newt - s->tail) > 0) {
		now = ktime_get_ns();
		for (i = s->tail; i != newt; i++)
			s->t_sub[i & (s->in_slots - 1)] = now;
		s->submitted += newt - s->tail;
		s->accepted += newt - s->tail;
		s->tail = newt;
	} else if (newt != s->tail) {
		/* taken back samples already accepted: they stay accepted */
		s->overruns++;
	}
	mcai_session_publish_locked(s);
	if (s->head != s->tail)
		mcai_session_queue(s);
	spin_unlock_bh(&s->lock);
}

/*
 * What @ref names, as @user sees it, and the scratch its current
 * versions need (*@scratch, bytes).
 */
static int mcai_session_shape(struct mcai_session *s,
			      const struct mcai_model_ref *ref, u32 flags,
			      const struct mcai_acct *user, size_t *scratch)
{
	struct mcai_version *v;

	if (flags & MCAI_SESSION_PIPELINE) {
		s->pipe = mcai_pipeline_get(ref->model_id, ref->name, user);
		if (!s->pipe)
			return -ENOENT;
		s->input_len = mcai_pipeline_input_len(s->pipe);
		s->output_len = mcai_pipeline_output_len(s->pipe);
		*scratch = mcai_pipeline_scratch_size(s->pipe);
		return 0;
	}
	v = mcai_version_get(ref->model_id, ref->name);
	if (!v)
		return -ENOENT;
	s->slot = mcai_slot_get_by_id(v->slot->id);
	s->input_len = v->m.input_len;
	s->output_len = v->m.output_len;
	*scratch = v->m.arena_size;
	mcai_version_put(v);
	return s->slot ? 0 : -ENOENT;
}

struct mcai_session *mcai_session_new(const struct mcai_model_ref *ref,
				      u32 flags, u32 in_slots, u32 res_slots,
				      struct mcai_acct *user, bool driver)
{
	gfp_t gfp = driver ? GFP_KERNEL | __GFP_NOWARN : MCAI_GFP_USER;
	size_t ubytes, kbytes, scratch = 0, self;
	struct mcai_session *s;
	int ret;

	if (flags & ~MCAI_SESSION_FLAGS_ALL)
		return ERR_PTR(-EINVAL);
	in_slots = in_slots ? in_slots : MCAI_SESSION_DEF_SLOTS;
	res_slots = res_slots ? res_slots : MCAI_SESSION_DEF_SLOTS;
	if (!is_power_of_2(in_slots) || in_slots > MCAI_SESSION_MAX_SLOTS ||
	    !is_power_of_2(res_slots) || res_slots > MCAI_SESSION_MAX_SLOTS)
		return ERR_PTR(-EINVAL);

	/* Nothing is allocated past a budget: the structure is charged too. */
	self = mcai_acct_kv_size(sizeof(*s));
	ret = mcai_acct_mem_charge(user, self);
	if (ret)
		return ERR_PTR(ret);
	s = kzalloc(sizeof(*s), gfp);
	if (!s) {
		mcai_acct_mem_uncharge(user, self);
		return ERR_PTR(-ENOMEM);
	}
	/* from here on mcai_session_free() gives back what is charged */
	s->acct = mcai_acct_hold(user);
	s->charged = self;
	s->gfp = gfp;
	if (!driver)
		s->memcg = get_mem_cgroup_from_mm(current->mm);
	spin_lock_init(&s->lock);
	init_waitqueue_head(&s->wq);
	INIT_WORK(&s->work[0], mcai_session_work_normal);
	INIT_WORK(&s->work[1], mcai_session_work_high);
	s->id = (u32)atomic_inc_return(&mcai_session_ids);
	s->in_slots = in_slots;
	s->res_slots = res_slots;

	ret = mcai_session_shape(s, ref, flags, user, &scratch);
	if (ret)
		goto err;
	/*
	 * input_len <= max(max_dim, max_arena) <= 16 MiB: the products
	 * below fit a size_t, and MCAI_SESSION_MAX_BYTES bounds them.
	 */
	s->slot_size = mcai_slot_bytes(s->input_len);
	s->res_size = mcai_slot_bytes(sizeof(struct mcai_result) +
				      s->output_len);
	ubytes = PAGE_ALIGN((size_t)in_slots * s->slot_size);
	kbytes = PAGE_ALIGN((size_t)res_slots * s->res_size);
	ret = -EINVAL;
	if (ubytes > MCAI_SESSION_MAX_BYTES || kbytes > MCAI_SESSION_MAX_BYTES)
		goto err;
	ret = mcai_session_charge(s, mcai_acct_vm_size(PAGE_SIZE + ubytes) +
				  mcai_acct_vm_size(PAGE_SIZE + kbytes) +
				  mcai_acct_kv_size(in_slots *
						    sizeof(*s->t_sub)));
	if (ret)
		goto err;
	s->ulen = PAGE_SIZE + ubytes;
	s->klen = PAGE_SIZE + kbytes;
	ret = -ENOMEM;
	s->umem = __vmalloc(s->ulen, gfp | __GFP_ZERO);
	s->kmem = __vmalloc(s->klen, gfp | __GFP_ZERO);
	s->t_sub = kvcalloc(in_slots, sizeof(*s->t_sub), gfp);
	if (!s->umem || !s->kmem || !s->t_sub)
		goto err;
	/* the scratch of the current versions: charged by itself */
	ret = mcai_session_scratch(s, scratch);
	if (ret)
		goto err;
	s->uctl = s->umem;
	s->kctl = s->kmem;
	s->in = (u8 *)s->umem + PAGE_SIZE;
	s->res = (u8 *)s->kmem + PAGE_SIZE;
	return s;
err:
	mcai_session_free(s);
	return ERR_PTR(ret);
}

void mcai_session_free(struct mcai_session *s)
{
	spin_lock_bh(&s->lock);
	s->dead = true;
	spin_unlock_bh(&s->lock);
	/* Works also while the work requeues itself: dead stops that. */
	cancel_work_sync(&s->work[0]);
	cancel_work_sync(&s->work[1]);
	if (s->slot)
		mcai_slot_put(s->slot);
	if (s->pipe)
		mcai_pipeline_put(s->pipe);
	kvfree(s->scratch);
	kvfree(s->t_sub);
	vfree(s->umem);
	vfree(s->kmem);
	mem_cgroup_put(s->memcg);
	mcai_acct_mem_uncharge(s->acct, s->charged);
	mcai_acct_put(s->acct);
	kfree(s);
}

/* ---- /dev/mcai hooks ------------------------------------------------- */

static struct mcai_session *mcai_file_session(struct mcai_file *f)
{
	/* pairs with the store-release in mcai_session_ioctl_create() */
	return smp_load_acquire(&f->session);
}

int mcai_session_ioctl_create(struct mcai_file *f,
			      struct mcai_session_create *req,
			      struct mcai_acct *user)
{
	struct mcai_session *s;
	int ret;

	if (req->flags & ~MCAI_SESSION_FLAGS_ALL)
		return -EINVAL;
	if (req->flags & MCAI_SESSION_PIPELINE && req->ref.model_id == 0 &&
	    !req->ref.name[0])
		return -EINVAL;
	if (req->pad)
		return -EINVAL;
	ret = mcai_mirror_check_every(req->mirror_every);
	if (ret)
		return ret;
	/* what feeds local training is the admin's choice (uapi) */
	if (req->mirror_every && user)
		return -EPERM;
	/* Cheap check first; the one that counts is under the lock. */
	if (mcai_file_session(f))
		return -EBUSY;
	s = mcai_session_new(&req->ref, req->flags, req->in_slots,
			     req->res_slots, user, false);
	if (IS_ERR(s))
		return PTR_ERR(s);
	s->mirror_every = req->mirror_every;
	mutex_lock(&f->lock);
	if (f->session) {
		mutex_unlock(&f->lock);
		mcai_session_free(s);
		return -EBUSY;
	}
	/* the session is complete before another thread can see it */
	smp_store_release(&f->session, s);
	mutex_unlock(&f->lock);

	if (s->slot)
		req->ref.model_id = s->slot->id;
	req->in_slots = s->in_slots;
	req->res_slots = s->res_slots;
	req->slot_size = s->slot_size;
	req->res_size = s->res_size;
	req->input_len = s->input_len;
	req->output_len = s->output_len;
	req->user_off = MCAI_MMAP_USER;
	req->user_len = s->ulen;
	req->kernel_off = MCAI_MMAP_KERNEL;
	req->kernel_len = s->klen;
	return 0;
}

int mcai_session_ioctl_kick(struct mcai_file *f)
{
	struct mcai_session *s = mcai_file_session(f);

	if (!s)
		return -EINVAL;
	mcai_session_kick(s);
	return 0;
}

/*
 * MCAI_IOC_SESSION_MIRROR: what reaches the training store is the admin's
 * choice, so only an admin (or whoever holds an fd an admin opened, like
 * mcaid) may turn a session's mirror on; anyone may turn it off.  Only a
 * privileged reader gets the records.  The worker picks the new value up
 * at its next sample (kmod/mirror.c queues it).
 */
int mcai_session_ioctl_mirror(struct mcai_file *f,
			      const struct mcai_session_mirror *req,
			      const struct mcai_acct *user)
{
	/* pairs with the store-release in mcai_session_ioctl_create() */
	struct mcai_session *s = smp_load_acquire(&f->session);
	int ret;

	if (req->flags || req->pad)
		return -EINVAL;
	ret = mcai_mirror_check_every(req->every);
	if (ret)
		return ret;
	if (req->every && user)
		return -EPERM;
	if (!s)
		return -EINVAL;
	WRITE_ONCE(s->mirror_every, req->every);
	return 0;
}

ssize_t mcai_session_write(struct mcai_file *f, size_t count)
{
	struct mcai_session *s = mcai_file_session(f);

	if (!s)
		return -EINVAL;
	if (count != 8)
		return -EINVAL;
	mcai_session_kick(s);
	return 8;
}

/*
 * What remap_vmalloc_range() does, for a region vmalloc_user() did not
 * allocate (it takes no GFP flags, so its pages would be charged to no
 * memory cgroup) and which therefore lacks VM_USERMAP: insert each page.
 */
static int mcai_session_map(struct vm_area_struct *vma, void *kaddr,
			    size_t len)
{
	size_t off;
	int ret;

	for (off = 0; off < len; off += PAGE_SIZE) {
		ret = vm_insert_page(vma, vma->vm_start + off,
				     vmalloc_to_page((u8 *)kaddr + off));
		if (ret)
			return ret;
	}
	mcai_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

int mcai_session_mmap(struct mcai_file *f, struct vm_area_struct *vma)
{
	struct mcai_session *s = mcai_file_session(f);
	unsigned long len = vma->vm_end - vma->vm_start;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;

	if (!s)
		return -EINVAL;
	/* A private mapping would see copies, not the rings. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (off == MCAI_MMAP_USER) {
		if (len != s->ulen)
			return -EINVAL;
		return mcai_session_map(vma, s->umem, s->ulen);
	}
	if (off == MCAI_MMAP_KERNEL) {
		if (len != s->klen)
			return -EINVAL;
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		/* ...and mprotect(PROT_WRITE) cannot add it later */
		mcai_vm_flags_mod(vma, 0, VM_MAYWRITE);
		return mcai_session_map(vma, s->kmem, s->klen);
	}
	return -EINVAL;
}

__poll_t mcai_session_poll(struct mcai_file *f, struct file *file,
			   poll_table *wait)
{
	struct mcai_session *s = mcai_file_session(f);
	__poll_t mask = 0;
	u32 rtail, rhead;

	if (!s)
		return EPOLLERR;
	poll_wait(file, &s->wq, wait);
	/* a plain read would do: this only decides on a wake-up */
	rtail = smp_load_acquire(&s->kctl->res_tail);
	rhead = READ_ONCE(s->uctl->res_head);
	if (rtail != rhead)
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_lock_bh(&s->lock);
	if (s->tail - s->head < s->in_slots)
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock_bh(&s->lock);
	return mask;
}

/* The file is going away: nothing maps the rings any more. */
void mcai_session_release_file(struct mcai_file *f)
{
	struct mcai_session *s = f->session;

	if (s) {
		f->session = NULL;
		mcai_session_free(s);
	}
}
