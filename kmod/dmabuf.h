/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dma-buf import: inference on frames another driver placed in a dma-buf
 * (a camera, a high-rate ADC), for drivers (through mcai_driver.h) and
 * for MCAI_IOC_INFER_DMABUF.
 *
 *	struct mcai_dmabuf_frames f = { .offset = 0, .stride = 0,
 *					.frames = 4, .input_len = 784 };
 *	s32 cls[4];
 *	struct mcai_dmabuf_out out = { .classes = cls };
 *
 *	ret = mcai_dmabuf_infer("fmnist-mlp", buf, &f, &out);
 *
 * Frame i is input_len int8 values at offset + i * stride (stride 0:
 * input_len; a smaller stride gives overlapping windows of a stream).
 * The buffer is mapped (dma_buf_vmap) inside CPU access for the call
 * only; the caller keeps its own reference on @buf.  Process context
 * only: it sleeps (the exporter's locks, the allocations, one inference
 * after another).  Errors, before any frame runs: -ENOENT no such model,
 * -EMSGSIZE input_len is not the model's, -EINVAL frames 0 or above
 * MCAI_DMABUF_MAX_FRAMES, -EOVERFLOW the last frame's end overflows,
 * -ERANGE it lies past the buffer's end, -ENOSPC scores_len too small,
 * -EOPNOTSUPP the exporter cannot map the buffer into the kernel; while
 * running: -EAGAIN the model's energy budget shed a frame, -EINTR a
 * fatal signal.  On an error no result is valid.
 */
#ifndef MCAI_DMABUF_H
#define MCAI_DMABUF_H

#include <linux/types.h>

#include "uapi/mcai.h"

struct dma_buf;

struct mcai_dmabuf_frames {
	u64 offset;		/* bytes to the first frame */
	u64 stride;		/* bytes between frames, 0 = input_len */
	u32 frames;		/* 1..MCAI_DMABUF_MAX_FRAMES */
	u32 input_len;		/* each frame: must be the model's input_len */
};

struct mcai_dmabuf_out {
	s32 *classes;		/* frames entries, or NULL */
	s8 *scores;		/* frames x output_len, or NULL */
	u32 scores_len;		/* in: bytes at scores; out: bytes written */
	u32 version;		/* out: the version that ran every frame */
};

/* The model by id, or by name when @model_id is 0. */
int mcai_dmabuf_run(u32 model_id, const char *name, struct dma_buf *buf,
		    const struct mcai_dmabuf_frames *f,
		    struct mcai_dmabuf_out *out);

/* For drivers (EXPORT_SYMBOL_GPL): the model by name. */
int mcai_dmabuf_infer(const char *name, struct dma_buf *buf,
		      const struct mcai_dmabuf_frames *f,
		      struct mcai_dmabuf_out *out);

#endif /* MCAI_DMABUF_H */
