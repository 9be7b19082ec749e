// SPDX-License-Identifier: GPL-2.0
/*
 * The sample mirror (uapi/mcai.h, "Sample mirror").
 *
 * One kfifo of bytes per device holds whole records (header, input,
 * padding to 8).  Producers are session workers, including those of
 * in-kernel clients (kmod/client.c); the consumer is MCAI_IOC_MIRROR_READ.
 *
 * Why an ioctl rather than read() on a second device node: the reader is
 * the node daemon, which opens /dev/mcai as root and drops its
 * privileges; mcai_admin() already honours such an fd, the request is
 * size-versioned like every other one, and it returns the counters with
 * the records in one call.  A second node would need its own permission
 * model and a second fd in the daemon for no gain.
 *
 * Never waiting: the inference path must not be delayed by a reader, on
 * PREEMPT_RT neither (where spinlock_t is a sleeping lock).  Producers
 * therefore only spin_trylock(): when the queue is held by the reader or
 * another producer at that instant the sample is dropped and counted,
 * exactly as when the queue is full.  The holders copy at most one
 * record (producer) or one bounded batch into a kernel buffer (reader)
 * under the lock; user memory is touched only after it is released.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kfifo.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "mirror.h"

#define MCAI_MIRROR_MAX_KB	65536
/*
 * A read stops after this many bytes (and at least one record), so the
 * lock is held for a bounded copy whatever the queue's size; the reader
 * loops while queued is non-zero.
 */
#define MCAI_MIRROR_READ_BATCH	SZ_64K

static unsigned int mirror_kb = 256;
module_param(mirror_kb, uint, 0444);
MODULE_PARM_DESC(mirror_kb,
		 "sample mirror queue, KiB (rounded down to a power of two; 0 = off)");

static struct {
	spinlock_t lock;		/* the fifo and the counters below */
	struct kfifo fifo;
	void *buf;			/* NULL: feature off */
	u64 seq;			/* next sample_seq */
	u64 mirrored;
	u32 queued;			/* records in the fifo */
	atomic64_t dropped;		/* also bumped without the lock */
} mcai_mirror;

/* one reader at a time: a read peeks, copies out, then consumes */
static DEFINE_MUTEX(mcai_mirror_reader);

static u32 mcai_mirror_rec_len(u32 input_len)
{
	return ALIGN(sizeof(struct mcai_mirror_record) + input_len, 8);
}

int mcai_mirror_init(void)
{
	unsigned int bytes;

	BUILD_BUG_ON(sizeof(struct mcai_mirror_record) != 56);
	BUILD_BUG_ON(sizeof(struct mcai_mirror_read) != 56);
	BUILD_BUG_ON(sizeof(struct mcai_session_mirror) != 16);
	spin_lock_init(&mcai_mirror.lock);
	atomic64_set(&mcai_mirror.dropped, 0);
	if (!mirror_kb)
		return 0;
	if (mirror_kb > MCAI_MIRROR_MAX_KB) {
		pr_err("mirror_kb %u is above %u\n", mirror_kb,
		       MCAI_MIRROR_MAX_KB);
		return -EINVAL;
	}
	bytes = rounddown_pow_of_two(mirror_kb * 1024U);
	/* a failed load says why itself: no allocation-failure splat */
	mcai_mirror.buf = __vmalloc(bytes, GFP_KERNEL | __GFP_NOWARN);
	if (!mcai_mirror.buf) {
		pr_err("cannot allocate the %u KiB mirror queue\n", bytes / 1024);
		return -ENOMEM;
	}
	return kfifo_init(&mcai_mirror.fifo, mcai_mirror.buf, bytes);
}

void mcai_mirror_exit(void)
{
	vfree(mcai_mirror.buf);
	mcai_mirror.buf = NULL;
}

bool mcai_mirror_enabled(void)
{
	return mcai_mirror.buf;
}

int mcai_mirror_check_every(u32 every)
{
	if (every && !mcai_mirror_enabled())
		return -EOPNOTSUPP;
	return 0;
}

void mcai_mirror_sample(u32 every, u32 session_id, const s8 *in, u32 len,
			const struct mcai_result *r)
{
	static const u8 zero[8];
	struct mcai_mirror_record h;
	u32 rem, rec;

	if (!every || r->class_id < 0 || (r->flags & MCAI_RES_SHED))
		return;
	div_u64_rem(r->seq + 1, every, &rem);
	if (rem)
		return;
	rec = mcai_mirror_rec_len(len);
	memset(&h, 0, sizeof(h));
	h.rec_len = rec;
	h.input_len = len;
	h.input_seq = r->seq;
	h.timestamp_ns = ktime_get_real_ns();
	h.session_id = session_id;
	h.model_id = r->model_id;
	h.version = r->version;
	h.class_id = r->class_id;
	if (r->n_scores)
		h.score = r->scores[(u32)r->class_id < r->n_scores ?
				    r->class_id : 0];
	h.flags = r->flags;

	if (!spin_trylock(&mcai_mirror.lock)) {
		atomic64_inc(&mcai_mirror.dropped);
		return;
	}
	h.sample_seq = mcai_mirror.seq++;
	if (kfifo_avail(&mcai_mirror.fifo) < rec) {
		spin_unlock(&mcai_mirror.lock);
		atomic64_inc(&mcai_mirror.dropped);
		return;
	}
	kfifo_in(&mcai_mirror.fifo, &h, sizeof(h));
	kfifo_in(&mcai_mirror.fifo, in, len);
	kfifo_in(&mcai_mirror.fifo, zero, rec - sizeof(h) - len);
	mcai_mirror.queued++;
	mcai_mirror.mirrored++;
	spin_unlock(&mcai_mirror.lock);
}

/* Counters for the answer; under the lock. */
static void mcai_mirror_counters_locked(struct mcai_mirror_read *req)
{
	req->queued = mcai_mirror.queued;
	req->mirrored = mcai_mirror.mirrored;
	req->dropped = atomic64_read(&mcai_mirror.dropped);
}

int mcai_mirror_read(struct mcai_mirror_read *req)
{
	u32 cap, want, used = 0, n = 0;
	u8 *kbuf = NULL;
	int ret = 0;

	if (req->flags)
		return -EINVAL;
	if (!mcai_mirror_enabled())
		return -EOPNOTSUPP;
	req->queue_bytes = kfifo_size(&mcai_mirror.fifo);
	/* input_len <= max_dim, but no record can exceed the fifo */
	req->max_record = req->queue_bytes;
	cap = min(req->buf_len, req->queue_bytes);
	if (cap) {
		/* sized by the caller: -ENOMEM, no splat, when short */
		kbuf = kvmalloc(cap, GFP_KERNEL | __GFP_NOWARN);
		if (!kbuf)
			return -ENOMEM;
	}

	/*
	 * Records are copied out before they are consumed, so a buffer the
	 * caller cannot write loses nothing: peek, copy_to_user, then drop
	 * exactly what was delivered. Producers only append, and readers are
	 * serialised here, so the bytes dropped are the bytes peeked.
	 */
	if (mutex_lock_interruptible(&mcai_mirror_reader)) {
		kvfree(kbuf);
		return -ERESTARTSYS;
	}
	spin_lock(&mcai_mirror.lock);
	want = min(cap, kfifo_len(&mcai_mirror.fifo));
	if (want) {
		struct mcai_mirror_record h;

		if (kfifo_out_peek(&mcai_mirror.fifo, &h, sizeof(h)) !=
		    sizeof(h) || h.rec_len > want) {
			/* the oldest record does not fit */
			ret = -ENOSPC;
			want = 0;
		} else {
			/* a bounded copy under the lock, whatever the queue */
			want = min(want, max_t(u32, h.rec_len,
					       MCAI_MIRROR_READ_BATCH));
			want = kfifo_out_peek(&mcai_mirror.fifo, kbuf, want);
		}
	}
	mcai_mirror_counters_locked(req);
	spin_unlock(&mcai_mirror.lock);

	/* whole records only: the peek may end inside one */
	while (used + sizeof(struct mcai_mirror_record) <= want) {
		const struct mcai_mirror_record *h = (void *)(kbuf + used);

		if (h->rec_len < sizeof(*h) || h->rec_len > want - used)
			break;
		used += h->rec_len;
		n++;
	}
	if (used && copy_to_user(u64_to_user_ptr(req->buf_ptr), kbuf, used)) {
		ret = -EFAULT;
		used = 0;
		n = 0;
	}
	if (used) {
		spin_lock(&mcai_mirror.lock);
		if (kfifo_out(&mcai_mirror.fifo, kbuf, used) != used) {
			/* cannot happen: only this reader consumes */
			WARN_ON_ONCE(1);
			kfifo_reset_out(&mcai_mirror.fifo);
			mcai_mirror.queued = 0;
		} else {
			mcai_mirror.queued -= n;
		}
		mcai_mirror_counters_locked(req);
		spin_unlock(&mcai_mirror.lock);
	}
	mutex_unlock(&mcai_mirror_reader);

	req->n_records = n;
	req->bytes = used;
	kvfree(kbuf);
	return ret;
}

