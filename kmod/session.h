/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Zero-copy sessions: an input ring of sample slots and a result ring,
 * consumed and produced by the module's worker (kmod/sched.c chooses the
 * workqueue).  The same machinery serves user space (rings mmap'd through
 * a /dev/mcai file, MCAI_IOC_SESSION_CREATE) and in-kernel drivers
 * (kmod/client.c, a kernel-owned ring with a result callback).
 */
#ifndef MCAI_SESSION_H
#define MCAI_SESSION_H

#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "uapi/mcai.h"

struct mcai_acct;
struct mcai_file;
struct mem_cgroup;
struct mcai_slot;
struct mcai_pipeline;
struct mcai_session;

#define MCAI_SESSION_DEF_SLOTS	256
#define MCAI_SESSION_MAX_SLOTS	4096
/* Largest ring region (vmalloc, charged: kmod/account.h). */
#define MCAI_SESSION_MAX_BYTES	(32UL << 20)
/*
 * Samples the worker takes per chunk: the lock, the clock and the
 * published indices are touched once per chunk.  A pass runs chunks until
 * the ring is empty, the result ring is full or its time is up, then
 * requeues itself (fairness between sessions).
 */
#define MCAI_SESSION_BATCH	32

typedef void (*mcai_session_cb)(struct mcai_session *s,
				const struct mcai_result *res);

struct mcai_session {
	/* Constant after creation. */
	struct mcai_slot *slot;		/* the model (a reference), or */
	struct mcai_pipeline *pipe;	/* the pipeline (a reference) */
	u32 id;				/* for tracepoints, never reused */
	u32 input_len, output_len;
	u32 in_slots, res_slots;
	u32 slot_size, res_size;
	void *umem, *kmem;		/* vmalloc()'d, zeroed regions */
	size_t ulen, klen;
	struct mcai_user_ctl *uctl;	/* user-written: never trusted */
	struct mcai_kernel_ctl *kctl;	/* kernel-written, mapped read-only */
	u8 *in;				/* input slots, in umem */
	u8 *res;			/* result records, in kmem */
	u64 *t_sub;			/* [in_slots] submit time, private */
	mcai_session_cb cb;		/* kernel clients: consume each result */
	void *cb_priv;
	/* kmod/mirror.c: one input in mirror_every, 0 = off; WRITE_ONCE */
	u32 mirror_every;
	/*
	 * kmod/account.h: the budget charged (a reference, NULL when
	 * privileged), how much (the worker adds scratch, so it is the
	 * worker's once the session runs), the memory cgroup of the
	 * creator (a reference, NULL for a driver) and the GFP flags of
	 * every allocation, in the worker too.
	 */
	struct mcai_acct *acct;
	size_t charged;
	struct mem_cgroup *memcg;
	gfp_t gfp;

	/* Producer side: kick/commit and the worker, under lock. */
	spinlock_t lock;
	u32 head;			/* consumed (the worker's) */
	u32 tail;			/* accepted: head <= tail <= head + in_slots */
	bool dead;			/* no more queueing (detach, release) */
	bool in_pass;			/* a worker pass is running */
	bool rerun;			/* queued meanwhile: run once more */
	u64 accepted;			/* u64 copy of tail */
	u64 submitted, overruns, dropped;	/* dropped: also failed runs */
	atomic64_t irq_drops;		/* clients called in hard IRQ context */

	/* Worker only: passes never overlap (in_pass). */
	u64 seq;			/* u64 copy of head */
	u32 res_tail;
	u64 completed, shed, deadline_misses, gated, escalated;
	void *scratch;
	size_t scratch_size;

	/*
	 * One work item per workqueue, [0] normal, [1] high priority: the
	 * model's priority picks one at each queueing.  A work item is
	 * non-reentrant on its own workqueue only, so with one item a
	 * priority change could run it on both queues at once, and
	 * cancel_work_sync() would wait for one of the two.
	 */
	struct work_struct work[2];
	wait_queue_head_t wq;
};

/*
 * Create a session on @ref (model, or pipeline with MCAI_SESSION_PIPELINE).
 * @in_slots / @res_slots: 0 = default, else a power of two.  @user: whose
 * budget it is charged to and which pipelines it sees (kmod/account.h;
 * NULL: privileged); @driver: an in-kernel client (its memory is the
 * kernel's, no memory cgroup's).  Process context.  ERR_PTR on failure:
 * -ENOSPC past a budget, -ENOMEM when memory (or the caller's memory
 * cgroup) has none.
 */
struct mcai_session *mcai_session_new(const struct mcai_model_ref *ref,
				      u32 flags, u32 in_slots, u32 res_slots,
				      struct mcai_acct *user, bool driver);
/* Stop, wait for the worker, free.  Process context. */
void mcai_session_free(struct mcai_session *s);

u32 mcai_session_model_id(const struct mcai_session *s);

/* Doorbell for user-space sessions: read in_tail, queue the worker. */
void mcai_session_kick(struct mcai_session *s);
/* Queue the worker when there is work (and it is not dead). */
void mcai_session_queue(struct mcai_session *s);
/* Publish the producer-side counters to kctl; under s->lock. */
void mcai_session_publish_locked(struct mcai_session *s);

/*
 * /dev/mcai file hooks (kmod/ioctl.c).  @user: the caller as
 * kmod/account.h sees it, NULL for an admin; only an admin may turn
 * the mirror on (-EPERM).
 */
int mcai_session_ioctl_create(struct mcai_file *f,
			      struct mcai_session_create *req,
			      struct mcai_acct *user);
int mcai_session_ioctl_kick(struct mcai_file *f);
/* MCAI_IOC_SESSION_MIRROR, request copied in. */
int mcai_session_ioctl_mirror(struct mcai_file *f,
			      const struct mcai_session_mirror *req,
			      const struct mcai_acct *user);
int mcai_session_mmap(struct mcai_file *f, struct vm_area_struct *vma);
__poll_t mcai_session_poll(struct mcai_file *f, struct file *file,
			   poll_table *wait);
ssize_t mcai_session_write(struct mcai_file *f, size_t count);
void mcai_session_release_file(struct mcai_file *f);

#endif /* MCAI_SESSION_H */
