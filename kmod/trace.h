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
 * here (mcai_trace_infer_start/_end below), so that the telemetry needs
 * neither a probe on the start nor one on every context switch: each
 * probe costs a tracepoint dispatch, per inference or per switch of any
 * task in the system.
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

/* An inference's clock, on the caller's stack: it moves with the task. */
struct mcai_trace_clock {
	u64 start_ns;		/* 0: not timed */
	u64 wait_ns;		/* the task's run-queue wait at the start */
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

static __always_inline void
mcai_trace_infer_start(struct mcai_trace_clock *c, u32 model_id, u32 version,
		       u32 session, u64 seq, u64 macs, u32 input_len)
{
	c->start_ns = 0;
	if (trace_mcai_infer_end_enabled()) {
		c->wait_ns = mcai_trace_task_wait_ns();
		c->start_ns = local_clock();
	}
	trace_mcai_infer_start(model_id, version, session, seq, macs,
			       input_len);
}

static __always_inline void
mcai_trace_infer_end(const struct mcai_trace_clock *c, u32 model_id,
		     u32 version, u32 session, u64 seq, u64 macs, s32 class_id,
		     u32 flags, const char *name)
{
	u64 lat = 0, cpu = 0, wait;
	s64 d;

	if (!trace_mcai_infer_end_enabled())
		return;
	if (c->start_ns) {
		/* 0 is "not timed"; a CPU's clock may trail another's */
		d = local_clock() - c->start_ns;
		lat = d > 0 ? d : 1;
		wait = mcai_trace_task_wait_ns() - c->wait_ns;
		cpu = lat > wait ? lat - wait : 0;
	}
	trace_mcai_infer_end(model_id, version, session, seq, macs, class_id,
			     flags, name, lat, cpu);
}
#endif /* MCAI_TRACE_CLOCK_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
