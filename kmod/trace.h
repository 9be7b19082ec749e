/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcai:* tracepoints, the hooks the eBPF telemetry attaches to.
 * session is 0 for the synchronous MCAI_IOC_INFER path.  Every start is
 * followed by its end in the same task, with nothing else of ours in
 * between: bpf/telemetry.bpf.c pairs them per task.  A pipeline fires one
 * pair per stage that ran, for that stage's model.  The argument order is
 * the raw_tp ABI of bpf/telemetry.bpf.c: append, never reorder.  Defined once, in
 * kmod/trace.c (CREATE_TRACE_POINTS); kmod/Kbuild adds -I$(src) for it.
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

TRACE_EVENT(mcai_infer_end,
	    TP_PROTO(u32 model_id, u32 version, u32 session, u64 seq, u64 macs,
		     s32 class_id, u32 flags, const char *name),
	    TP_ARGS(model_id, version, session, seq, macs, class_id, flags,
		    name),
	    TP_STRUCT__entry(__field(u32, model_id)
			     __field(u32, version)
			     __field(u32, session)
			     __field(u64, seq)
			     __field(u64, macs)
			     __field(s32, class_id)
			     __field(u32, flags)
			     __array(char, name, MCAI_NAME_LEN)),
	    TP_fast_assign(__entry->model_id = model_id;
			   __entry->version = version;
			   __entry->session = session;
			   __entry->seq = seq;
			   __entry->macs = macs;
			   __entry->class_id = class_id;
			   __entry->flags = flags;
			   strscpy(__entry->name, name, MCAI_NAME_LEN);),
	    TP_printk("model=%u version=%u session=%u seq=%llu macs=%llu class=%d flags=0x%x name=%s",
		      __entry->model_id, __entry->version, __entry->session,
		      __entry->seq, __entry->macs, __entry->class_id,
		      __entry->flags, __entry->name)
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
 * reason: 0 = input ring full, 1 = model gone or reshaped, 2 = hard IRQ.
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

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
