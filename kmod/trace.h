/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcai:* tracepoints, the hooks the eBPF telemetry attaches to.
 * session is 0 for the synchronous MCAI_IOC_INFER path.  Defined once, in
 * kmod/trace.c (CREATE_TRACE_POINTS); kmod/Kbuild adds -I$(src) for it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mcai

#if !defined(MCAI_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MCAI_TRACE_H

#include <linux/tracepoint.h>

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

TRACE_EVENT(mcai_infer_end,
	    TP_PROTO(u32 model_id, u32 version, u32 session, u64 seq, u64 macs,
		     s32 class_id, u32 flags),
	    TP_ARGS(model_id, version, session, seq, macs, class_id, flags),
	    TP_STRUCT__entry(__field(u32, model_id)
			     __field(u32, version)
			     __field(u32, session)
			     __field(u64, seq)
			     __field(u64, macs)
			     __field(s32, class_id)
			     __field(u32, flags)),
	    TP_fast_assign(__entry->model_id = model_id;
			   __entry->version = version;
			   __entry->session = session;
			   __entry->seq = seq;
			   __entry->macs = macs;
			   __entry->class_id = class_id;
			   __entry->flags = flags;),
	    TP_printk("model=%u version=%u session=%u seq=%llu macs=%llu class=%d flags=0x%x",
		      __entry->model_id, __entry->version, __entry->session,
		      __entry->seq, __entry->macs, __entry->class_id,
		      __entry->flags)
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

/* reason: 0 = input ring full, 1 = model gone or reshaped, 2 = hard IRQ */
TRACE_EVENT(mcai_drop,
	    TP_PROTO(u32 session, u64 seq, u32 reason),
	    TP_ARGS(session, seq, reason),
	    TP_STRUCT__entry(__field(u32, session)
			     __field(u64, seq)
			     __field(u32, reason)),
	    TP_fast_assign(__entry->session = session;
			   __entry->seq = seq;
			   __entry->reason = reason;),
	    TP_printk("session=%u seq=%llu reason=%u",
		      __entry->session, __entry->seq, __entry->reason)
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

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
