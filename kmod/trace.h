/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcai:* tracepoints, the hooks the eBPF telemetry attaches to.
 * session is 0 for the synchronous MCAI_IOC_INFER path.  Every start is
 * followed by its end in the same task, with nothing else of ours in
 * between.  A pipeline fires one pair per stage that ran, for that
 * stage's model.  The argument order is the raw_tp ABI of
 * bpf/telemetry.bpf.c: append, never reorder.  Defined once, in
 * kmod/trace.c (CREATE_TRACE_POINTS); kmod/Kbuild adds -I$(src) for it.
 *
 * mcai_infer_end carries the inference's wall time and CPU time, measured
 * here (mcai_trace_infer_done() below), so that a tracer needs neither a
 * probe on the start nor one on every context switch: each probe costs a
 * tracepoint dispatch, per inference or per switch of any task in the
 * system.
 *
 * mcai_infer_batch is what the eBPF telemetry attaches to: one event per
 * batch of inferences of one model version that ran back to back (a ring
 * chunk; one inference for the ioctl, a pipeline stage, a dma-buf frame),
 * fired before their results are published, with the batch's sums, its
 * maximum and its log2 latency histogram built here (fls64, one
 * instruction): a probe per inference was most of the telemetry's cost on
 * a small model.  The per-inference events stay for ftrace; with nobody
 * attached each costs one static-key branch.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mcai

#if !defined(MCAI_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MCAI_TRACE_H

#include <linux/string.h>
#include <linux/tracepoint.h>

#include "uapi/mcai.h"

TRACE_EVENT(mcai_infer_start,
	    TP_PROTO(u32 model_id, u32 version, u32 session, u64 seq, u64 macs,
		     u32 input_len),
	    TP_ARGS(model_id, version, session, seq, macs, input_len),
	    TP_STRUCT__entry(__field(u32, model_id)
			     __field(u32, version)
			     __field(u32, session)
			     __field(u64, seq)
			     __field(u64, macs)
			     __field(u32, input_len)),
	    TP_fast_assign(__entry->model_id = model_id;
			   __entry->version = version;
			   __entry->session = session;
			   __entry->seq = seq;
			   __entry->macs = macs;
			   __entry->input_len = input_len;),
	    TP_printk("model=%u version=%u session=%u seq=%llu macs=%llu input_bytes=%u",
		      __entry->model_id, __entry->version, __entry->session,
		      __entry->seq, __entry->macs, __entry->input_len)
);

/*
 * latency_ns: start to end, wall; 0 when the start was not timed (the
 * event was enabled mid-inference).  cpu_ns: latency_ns minus the time
 * the task waited for a CPU after being preempted, on whichever CPU.
 */
TRACE_EVENT(mcai_infer_end,
	    TP_PROTO(u32 model_id, u32 version, u32 session, u64 seq, u64 macs,
		     s32 class_id, u32 flags, const char *name, u64 latency_ns,
		     u64 cpu_ns),
	    TP_ARGS(model_id, version, session, seq, macs, class_id, flags,
		    name, latency_ns, cpu_ns),
	    TP_STRUCT__entry(__field(u32, model_id)
			     __field(u32, version)
			     __field(u32, session)
			     __field(u64, seq)
			     __field(u64, macs)
			     __field(s32, class_id)
			     __field(u32, flags)
			     __array(char, name, MCAI_NAME_LEN)
			     __field(u64, latency_ns)
			     __field(u64, cpu_ns)),
	    TP_fast_assign(__entry->model_id = model_id;
			   __entry->version = version;
			   __entry->session = session;
			   __entry->seq = seq;
			   __entry->macs = macs;
			   __entry->class_id = class_id;
			   __entry->flags = flags;
			   strscpy(__entry->name, name, MCAI_NAME_LEN);
			   __entry->latency_ns = latency_ns;
			   __entry->cpu_ns = cpu_ns;),
	    TP_printk("model=%u version=%u session=%u seq=%llu macs=%llu class=%d flags=0x%x name=%s latency_ns=%llu cpu_ns=%llu",
		      __entry->model_id, __entry->version, __entry->session,
		      __entry->seq, __entry->macs, __entry->class_id,
		      __entry->flags, __entry->name, __entry->latency_ns,
		      __entry->cpu_ns)
);

/*
 * A batch of @count inferences of one model version, run back to back by
 * one task; fired before their results are published.  latency_ns and
 * cpu_ns are the sums over the batch (0 when its clock did not run: the
 * event was enabled mid-batch), macs the batch's total.  The log2 latency
 * histogram: bucket i counts 2^i <= ns < 2^(i+1) (the last one also
 * above); only the buckets set in hist_mask are valid in @hist[], and
 * hist_lo is the lowest of them, so a batch in one bucket
 * (hist_mask == 1 << hist_lo) needs no read of @hist.
 */
#define MCAI_TRACE_HIST_SLOTS	32

TRACE_EVENT(mcai_infer_batch,
	    TP_PROTO(u32 model_id, u32 version, u32 session, const char *name,
		     u32 count, u64 macs, u64 latency_ns, u64 latency_max_ns,
		     u64 cpu_ns, u32 hist_lo, u32 hist_mask, const u32 *hist),
	    TP_ARGS(model_id, version, session, name, count, macs, latency_ns,
		    latency_max_ns, cpu_ns, hist_lo, hist_mask, hist),
	    TP_STRUCT__entry(__field(u32, model_id)
			     __field(u32, version)
			     __field(u32, session)
			     __array(char, name, MCAI_NAME_LEN)
			     __field(u32, count)
			     __field(u64, macs)
			     __field(u64, latency_ns)
			     __field(u64, latency_max_ns)
			     __field(u64, cpu_ns)
			     __field(u32, hist_lo)
			     __field(u32, hist_mask)),
	    TP_fast_assign(__entry->model_id = model_id;
			   __entry->version = version;
			   __entry->session = session;
			   strscpy(__entry->name, name, MCAI_NAME_LEN);
			   __entry->count = count;
			   __entry->macs = macs;
			   __entry->latency_ns = latency_ns;
			   __entry->latency_max_ns = latency_max_ns;
			   __entry->cpu_ns = cpu_ns;
			   __entry->hist_lo = hist_lo;
			   __entry->hist_mask = hist_mask;),
	    TP_printk("model=%u version=%u session=%u name=%s count=%u macs=%llu latency_ns=%llu latency_max_ns=%llu cpu_ns=%llu hist_lo=%u hist_mask=0x%x",
		      __entry->model_id, __entry->version, __entry->session,
		      __entry->name, __entry->count, __entry->macs,
		      __entry->latency_ns, __entry->latency_max_ns,
		      __entry->cpu_ns, __entry->hist_lo, __entry->hist_mask)
);

TRACE_EVENT(mcai_swap,
	    TP_PROTO(u32 model_id, u32 old_version, u32 new_version),
	    TP_ARGS(model_id, old_version, new_version),
	    TP_STRUCT__entry(__field(u32, model_id)
			     __field(u32, old_version)
			     __field(u32, new_version)),
	    TP_fast_assign(__entry->model_id = model_id;
			   __entry->old_version = old_version;
			   __entry->new_version = new_version;),
	    TP_printk("model=%u old_version=%u new_version=%u",
		      __entry->model_id, __entry->old_version,
		      __entry->new_version)
);

/*
 * reason: 0 = input ring full, 1 = model gone or reshaped, 2 = hard IRQ,
 * 3 = a driver's attachment waiting for its model (kmod/client.c).
 * model_id: the session's model, 0 for a pipeline session.
 */
TRACE_EVENT(mcai_drop,
	    TP_PROTO(u32 session, u64 seq, u32 reason, u32 model_id),
	    TP_ARGS(session, seq, reason, model_id),
	    TP_STRUCT__entry(__field(u32, session)
			     __field(u64, seq)
			     __field(u32, reason)
			     __field(u32, model_id)),
	    TP_fast_assign(__entry->session = session;
			   __entry->seq = seq;
			   __entry->reason = reason;
			   __entry->model_id = model_id;),
	    TP_printk("session=%u seq=%llu reason=%u model=%u",
		      __entry->session, __entry->seq, __entry->reason,
		      __entry->model_id)
);

TRACE_EVENT(mcai_shed,
	    TP_PROTO(u32 model_id, u32 version, u32 session, u64 seq, u64 macs),
	    TP_ARGS(model_id, version, session, seq, macs),
	    TP_STRUCT__entry(__field(u32, model_id)
			     __field(u32, version)
			     __field(u32, session)
			     __field(u64, seq)
			     __field(u64, macs)),
	    TP_fast_assign(__entry->model_id = model_id;
			   __entry->version = version;
			   __entry->session = session;
			   __entry->seq = seq;
			   __entry->macs = macs;),
	    TP_printk("model=%u version=%u session=%u seq=%llu macs=%llu",
		      __entry->model_id, __entry->version, __entry->session,
		      __entry->seq, __entry->macs)
);
#endif /* MCAI_TRACE_H */

#ifndef MCAI_TRACE_CLOCK_H
#define MCAI_TRACE_CLOCK_H
#include <linux/sched.h>
#include <linux/sched/clock.h>

/*
 * A batch of inferences and its clock, on the inferring task's stack (it
 * moves with the task).  The clock is chained: the end of one inference
 * is the start of the next, so a batch of n costs n + 1 clock reads, not
 * 2n; what runs between two inferences of a batch (the loop's own
 * bookkeeping) counts in the next one's time, so callers keep other work
 * (drift statistics, copies) out of a batch or end it first.
 */
struct mcai_trace_batch {
	u64 t_ns;		/* the next inference's start; 0: not timed */
	u64 wait_ns;		/* the task's run-queue wait at t_ns */
	u64 latency_ns;		/* sums over the batch */
	u64 latency_max_ns;
	u64 cpu_ns;
	u32 count;
	u32 hist_mask;		/* buckets of hist[] in use, see above */
	u32 hist[MCAI_TRACE_HIST_SLOTS];	/* only those set */
};

/*
 * Time a task spent runnable but not running, kept by the scheduler
 * (CONFIG_SCHED_INFO, on in every Debian kernel) across preemption and
 * migration.  An inference never sleeps, so this is all its time off
 * the CPU.
 */
static __always_inline u64 mcai_trace_task_wait_ns(void)
{
#ifdef CONFIG_SCHED_INFO
	return READ_ONCE(current->sched_info.run_delay);
#else
	return 0;
#endif
}

/* Start a batch; its clock runs only while someone listens. */
static __always_inline void mcai_trace_batch_begin(struct mcai_trace_batch *b)
{
	b->count = 0;
	b->hist_mask = 0;
	b->latency_ns = 0;
	b->latency_max_ns = 0;
	b->cpu_ns = 0;
	b->t_ns = 0;
	if (trace_mcai_infer_batch_enabled() ||
	    trace_mcai_infer_end_enabled()) {
		b->wait_ns = mcai_trace_task_wait_ns();
		b->t_ns = local_clock();
	}
}

/*
 * One inference of the batch ended: time it from the previous end (or
 * the batch's start), add it to the batch and fire the per-inference
 * event.  The start event is fired by the caller (trace_mcai_infer_start)
 * right before the model runs.
 */
static __always_inline void
mcai_trace_infer_done(struct mcai_trace_batch *b, u32 model_id, u32 version,
		      u32 session, u64 seq, u64 macs, s32 class_id, u32 flags,
		      const char *name)
{
	u64 lat = 0, cpu = 0, now, wait;
	u32 slot;
	s64 d;

	b->count++;
	if (b->t_ns) {
		now = local_clock();
		wait = mcai_trace_task_wait_ns();
		/* 0 is "not timed"; a CPU's clock may trail another's */
		d = now - b->t_ns;
		lat = d > 0 ? d : 1;
		cpu = wait - b->wait_ns;
		cpu = lat > cpu ? lat - cpu : 0;
		b->t_ns = now;
		b->wait_ns = wait;
		b->latency_ns += lat;
		b->cpu_ns += cpu;
		if (lat > b->latency_max_ns)
			b->latency_max_ns = lat;
		slot = min_t(u32, fls64(lat) - 1, MCAI_TRACE_HIST_SLOTS - 1);
		if (b->hist_mask & BIT(slot)) {
			b->hist[slot]++;
		} else {
			b->hist[slot] = 1;
			b->hist_mask |= BIT(slot);
		}
	}
	trace_mcai_infer_end(model_id, version, session, seq, macs, class_id,
			     flags, name, lat, cpu);
}

/*
 * Fire the batch's event (nothing for an empty batch).  @macs: of one
 * inference.  A batch whose clock did not run goes out with latency 0:
 * the telemetry counts it as unpaired.
 */
static __always_inline void
mcai_trace_batch_end(const struct mcai_trace_batch *b, u32 model_id,
		     u32 version, u32 session, const char *name, u64 macs)
{
	if (!b->count || !trace_mcai_infer_batch_enabled())
		return;
	trace_mcai_infer_batch(model_id, version, session, name, b->count,
			       b->count * macs, b->latency_ns,
			       b->latency_max_ns, b->cpu_ns,
			       b->hist_mask ? __ffs(b->hist_mask) : 0,
			       b->hist_mask, b->hist);
}
#endif /* MCAI_TRACE_CLOCK_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
