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
	/* FC: packed for the SIMD path (simd.h), in the loader's state */
	const struct mcai_pack *pk;
};

struct mcai_graph;
struct mcai_pack;

/*
 * Both blob formats load into this view (models/engine/model.c): a v2
 * graph fills the summary fields from its first input and output and
 * sets @graph; callers that only move bytes and pick classes never look
 * further.
 */
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
	u32 format;			/* 1, or 2 with @graph set */
	u32 n_classes;			/* what the head can return */
	u8 output_dtype;		/* enum mcai_dtype of the scores */
	const struct mcai_graph *graph;	/* v2: in the loader's state */
	void *state;			/* the state verify was given */
	struct mcai_layer layer[MCAI_BLOB_MAX_LAYERS];
};

/* Limits the verifier enforces on top of the format's own rules. */
struct mcai_limits {
	u32 max_blob_size;
	u32 max_layers;			/* <= MCAI_BLOB_MAX_LAYERS */
	u32 max_dim;			/* <= MCAI_MAX_DIM */
	u32 max_arena;
	u64 max_macs;			/* v2: a graph's MACs per inference */
};

/*
 * The format's own ceiling on a layer width: with |in - zp| <= 255 and
 * |w| <= 127, a dot product of MCAI_MAX_DIM terms still fits in an s32.
 */
#define MCAI_MAX_DIM		65536U

#define MCAI_DEFAULT_MAX_BLOB	(4U << 20)
#define MCAI_DEFAULT_MAX_DIM	4096U
/*
 * The MLPerf Tiny models (models/mlperf-tiny/) load with these, with
 * room to spare: their largest arena is 63 KiB (MobileNetV1 at 96x96)
 * and their largest graph 12.5 M MACs (ResNet-8).
 * Both bound what one inference may make the kernel do, and neither is
 * a budget: scratch is charged to the caller (kmod/account.c), and a
 * graph at max_macs is tens of milliseconds of one CPU on the scalar
 * path, during which the engine yields between ops and output rows.
 */
#define MCAI_DEFAULT_MAX_ARENA	(256U << 10)
#define MCAI_DEFAULT_MAX_MACS	(64ULL << 20)

static inline void mcai_limits_default(struct mcai_limits *lim)
{
	lim->max_blob_size = MCAI_DEFAULT_MAX_BLOB;
	lim->max_layers = MCAI_BLOB_MAX_LAYERS;
	lim->max_dim = MCAI_DEFAULT_MAX_DIM;
	lim->max_arena = MCAI_DEFAULT_MAX_ARENA;
	lim->max_macs = MCAI_DEFAULT_MAX_MACS;
}

/*
 * The widest limits a module may be configured with (kmod/main.c refuses
 * parameters past them): what a model checked in user space for no
 * particular module must meet.  kvmalloc() refuses sizes above INT_MAX.
 */
#define MCAI_CEIL_MAX_BLOB	0x40000000U	/* 1 GiB */
#define MCAI_CEIL_MAX_ARENA	(16U << 20)
#define MCAI_CEIL_MAX_MACS	0x10000000000ULL	/* 2^40 */

static inline void mcai_limits_widest(struct mcai_limits *lim)
{
	lim->max_blob_size = MCAI_CEIL_MAX_BLOB;
	lim->max_layers = MCAI_BLOB_MAX_LAYERS;
	lim->max_dim = MCAI_MAX_DIM;
	lim->max_arena = MCAI_CEIL_MAX_ARENA;
	lim->max_macs = MCAI_CEIL_MAX_MACS;
}

/* Why a blob was refused: a fixed string and the offending byte offset. */
struct mcai_verdict {
	const char *reason;
	u32 offset;
};

/*
 * Loading either format.  mcai_model_state_size() reads the header alone
 * and says how many bytes of state (8-byte aligned) mcai_model_verify()
 * needs: for v1 the weights packed for the SIMD path (0 with SIMD off),
 * for v2 the decoded graph (and its packed weights).  Both return 0, or -1 with
 * @v naming the reason and offset.  @blob and @state must outlive @m.
 */
int mcai_model_state_size(const void *blob, u32 size,
			  const struct mcai_limits *lim, u32 *bytes,
			  struct mcai_verdict *v);
int mcai_model_verify(struct mcai_model *m, const void *blob, u32 size,
		      const struct mcai_limits *lim, void *state,
		      u32 state_size, struct mcai_verdict *v);

/*
 * Run @m on @input (m->input_len bytes: for v2 every graph input in
 * order, little-endian) and write m->output_len bytes of scores (v2:
 * every output in order, little-endian).  @arena holds m->arena_size
 * bytes, 8-byte aligned; @input and @scores may not overlap it.  Returns
 * the class the head picks.
 */
int mcai_model_run(const struct mcai_model *m, const void *input,
		   void *scores, void *arena);

/*
 * Run test vector @t: 0 when it reproduces its scores exactly, else -1.
 * @scores is scratch of m->output_len bytes.
 */
int mcai_model_check_vector(const struct mcai_model *m, u32 t, void *arena,
			    void *scores);

/* The blob offset of test vector @t, for a refusal's reason. */
u32 mcai_model_vector_offset(const struct mcai_model *m, u32 t);

#endif /* MCAI_MODEL_H */
