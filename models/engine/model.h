/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A verified model: the decoded view of a blob that passed mcai_verify().
 * Everything the engine touches is reachable from here, and every pointer
 * points inside the blob, at a range the verifier has checked.
 */
#ifndef MCAI_MODEL_H
#define MCAI_MODEL_H

#include "models/engine/port.h"
#include "uapi/mcai.h"

struct mcai_layer {
	u16 type;			/* enum mcai_layer_type */
	u8 activation;
	s8 in_zp;
	s8 out_zp;
	s8 clamp_min;
	s8 clamp_max;
	u32 in_len;
	u32 out_len;
	const s8 *weights;		/* FC: [out_len][in_len] */
	const u8 *bias;			/* FC: le32 [out_len] */
	const u8 *mult;			/* FC: le32 [out_len] */
	const u8 *shift;		/* FC: le32 [out_len] */
	const s8 *lut;			/* LUT: [256] */
};

struct mcai_model {
	const u8 *blob;
	u32 blob_size;
	char name[MCAI_NAME_LEN];
	u32 version;
	u32 n_layers;
	u32 input_len;
	u32 output_len;
	u32 arena_size;			/* what the engine needs (<= header's) */
	u32 input_scale;		/* float bits */
	u32 output_scale;
	s8 input_zp;
	s8 output_zp;
	u8 head;
	s8 head_threshold;
	u32 tv_count;
	const s8 *tv;			/* tv_count * (input_len + output_len) */
	u64 macs;
	const u8 *digest;		/* last MCAI_DIGEST_LEN bytes of blob */
	struct mcai_layer layer[MCAI_BLOB_MAX_LAYERS];
};

/* Limits the verifier enforces on top of the format's own rules. */
struct mcai_limits {
	u32 max_blob_size;
	u32 max_layers;			/* <= MCAI_BLOB_MAX_LAYERS */
	u32 max_dim;			/* <= MCAI_MAX_DIM */
	u32 max_arena;
};

/*
 * The format's own ceiling on a layer width: with |in - zp| <= 255 and
 * |w| <= 127, a dot product of MCAI_MAX_DIM terms still fits in an s32.
 */
#define MCAI_MAX_DIM		65536U

#define MCAI_DEFAULT_MAX_BLOB	(4U << 20)
#define MCAI_DEFAULT_MAX_DIM	4096U
#define MCAI_DEFAULT_MAX_ARENA	(64U << 10)

static inline void mcai_limits_default(struct mcai_limits *lim)
{
	lim->max_blob_size = MCAI_DEFAULT_MAX_BLOB;
	lim->max_layers = MCAI_BLOB_MAX_LAYERS;
	lim->max_dim = MCAI_DEFAULT_MAX_DIM;
	lim->max_arena = MCAI_DEFAULT_MAX_ARENA;
}

/*
 * The widest limits a module may be configured with (kmod/main.c refuses
 * parameters past them): what a model checked in user space for no
 * particular module must meet.  kvmalloc() refuses sizes above INT_MAX.
 */
#define MCAI_CEIL_MAX_BLOB	0x40000000U	/* 1 GiB */
#define MCAI_CEIL_MAX_ARENA	(16U << 20)

static inline void mcai_limits_widest(struct mcai_limits *lim)
{
	lim->max_blob_size = MCAI_CEIL_MAX_BLOB;
	lim->max_layers = MCAI_BLOB_MAX_LAYERS;
	lim->max_dim = MCAI_MAX_DIM;
	lim->max_arena = MCAI_CEIL_MAX_ARENA;
}

/* Why a blob was refused: a fixed string and the offending byte offset. */
struct mcai_verdict {
	const char *reason;
	u32 offset;
};

#endif /* MCAI_MODEL_H */
