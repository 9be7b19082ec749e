// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf import (kmod/dmabuf.h): frames in a buffer another driver
 * exported, run through a model one after another.
 *
 * Each frame is copied out of the mapping into the call's own input
 * buffer before it runs.  The exporter's pages may be written while the
 * model reads them (a udmabuf's memfd stays writable by user space, a
 * camera may already be filling the next frame), and the engine reads an
 * input more than once (convolution windows); a snapshot makes each run
 * see one frame, and the drift statistics the same values.  One copy of
 * input_len bytes costs little next to the inference itself.
 *
 * Everything that can be checked is checked before the buffer is mapped,
 * with overflow-safe arithmetic: the caller (user space through
 * MCAI_IOC_INFER_DMABUF) chooses offset, stride and count.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/export.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "account.h"
#include "compat.h"
#include "dmabuf.h"
#include "registry.h"
#include "sched.h"
#include "stats.h"
#include "trace.h"
#include "models/engine/model.h"

/* dma_buf_vmap() and friends are in the DMA_BUF symbol namespace. */
MCAI_IMPORT_NS_DMA_BUF;

/* Frames, stride and bounds against @buf and the model @m. */
static int mcai_dmabuf_check(const struct dma_buf *buf,
			     const struct mcai_dmabuf_frames *f,
			     const struct mcai_model *m,
			     const struct mcai_dmabuf_out *out, u64 *stride)
{
	u64 last, end;

	if (f->input_len != m->input_len)
		return -EMSGSIZE;
	*stride = f->stride ? f->stride : f->input_len;
	if (check_mul_overflow((u64)(f->frames - 1), *stride, &last) ||
	    check_add_overflow(last, f->offset, &last) ||
	    check_add_overflow(last, (u64)f->input_len, &end))
		return -EOVERFLOW;
	if (end > buf->size)
		return -ERANGE;
	if (out->scores &&
	    (u64)out->scores_len < (u64)f->frames * m->output_len)
		return -ENOSPC;
	return 0;
}

int mcai_dmabuf_run(u32 model_id, const char *name, struct dma_buf *buf,
		    const struct mcai_dmabuf_frames *f,
		    struct mcai_dmabuf_out *out)
{
	struct mcai_trace_batch tb;
	struct mcai_version *v;
	struct iosys_map map;
	s8 *input, *scores;
	void *arena;
	u64 stride;
	u32 i, out_len;
	int cls, ret;

	might_sleep();
	if (!f->frames || f->frames > MCAI_DMABUF_MAX_FRAMES)
		return -EINVAL;
	/* held for every frame: one version runs them all */
	v = mcai_version_get(model_id, name);
	if (!v)
		return -ENOENT;
	ret = mcai_dmabuf_check(buf, f, &v->m, out, &stride);
	if (ret)
		goto out_put;
	out_len = v->m.output_len;
	/* the arena (8-byte aligned for a graph), one frame, its scores */
	arena = kvmalloc((size_t)v->m.arena_size + f->input_len + out_len,
			 MCAI_GFP_USER);
	if (!arena) {
		ret = -ENOMEM;
		goto out_put;
	}
	input = (s8 *)arena + v->m.arena_size;
	scores = input + f->input_len;

	ret = dma_buf_begin_cpu_access(buf, DMA_FROM_DEVICE);
	if (ret)
		goto out_free;
	ret = mcai_dma_buf_vmap(buf, &map);
	if (ret) {
		/* no ->vmap in the exporter: not a buffer we can read */
		if (ret == -EINVAL)
			ret = -EOPNOTSUPP;
		goto out_end;
	}
	for (i = 0; i < f->frames; i++) {
		if (i && fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		iosys_map_memcpy_from(input, &map,
				      (size_t)(f->offset + i * stride),
				      f->input_len);
		/* the energy budget binds every path (kmod/infer.c) */
		if (mcai_sched_admit(&v->slot->sched, v->m.macs) ==
		    MCAI_ADMIT_SHED) {
			trace_mcai_shed(v->slot->id, v->m.version, 0, i,
					v->m.macs);
			ret = -EAGAIN;
			break;
		}
		/* a batch per frame: copies and cond_resched() between */
		mcai_trace_batch_begin(&tb);
		trace_mcai_infer_start(v->slot->id, v->m.version, 0, i,
				       v->m.macs, f->input_len);
		cls = mcai_model_run(&v->m, input, scores, arena);
		mcai_trace_infer_done(&tb, v->slot->id, v->m.version, 0, i,
				      v->m.macs, cls, 0, v->slot->name);
		mcai_trace_batch_end(&tb, v->slot->id, v->m.version, 0,
				     v->slot->name, v->m.macs);
		atomic64_inc(&v->slot->inferences);
		atomic64_inc(&mcai_live.inferences);
		mcai_stats_update(&v->slot->drift, input, f->input_len, cls);
		if (out->classes)
			out->classes[i] = cls;
		if (out->scores)
			memcpy(out->scores + (size_t)i * out_len, scores,
			       out_len);
		cond_resched();
	}
	mcai_dma_buf_vunmap(buf, &map);
out_end:
	dma_buf_end_cpu_access(buf, DMA_FROM_DEVICE);
out_free:
	kvfree(arena);
	if (!ret) {
		out->version = v->m.version;
		out->scores_len = out->scores ? f->frames * out_len : 0;
	}
out_put:
	mcai_version_put(v);
	return ret;
}

int mcai_dmabuf_infer(const char *name, struct dma_buf *buf,
		      const struct mcai_dmabuf_frames *f,
		      struct mcai_dmabuf_out *out)
{
	if (!name || !name[0] || strnlen(name, MCAI_NAME_LEN) >= MCAI_NAME_LEN ||
	    IS_ERR_OR_NULL(buf))
		return -EINVAL;
	return mcai_dmabuf_run(0, name, buf, f, out);
}
EXPORT_SYMBOL_GPL(mcai_dmabuf_infer);
