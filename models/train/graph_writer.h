/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Blob format v2 writer (user space only): lays out a graph described in
 * memory, plans the arena offline (greedy by size, as TFLite Micro's
 * GreedyMemoryPlanner), fills the test vectors' expected outputs with the
 * interpreter itself, seals the digest and checks the result with the
 * verifier (models/engine/graph.h).
 */
#ifndef MCAI_GRAPH_WRITER_H
#define MCAI_GRAPH_WRITER_H

#include "models/engine/graph.h"

struct mcai_gw_tensor {
	u8 dtype;			/* enum mcai_dtype */
	u8 kind;			/* enum mcai_tensor_kind */
	u8 rank;			/* 1..4; dims below are NHWC, leading 1s */
	u8 qc_axis;
	u32 dims[4];
	float scale;
	s32 zp;
	const float *qc_scales;		/* [qc_count] or NULL */
	u32 qc_count;
	const void *data;		/* MCAI_TK_CONST: native elements */
	u32 offset;			/* out: the planned arena offset */
};

struct mcai_gw_op {
	u16 type;			/* enum mcai_op_type */
	u8 n_in;
	u32 in[MCAI_BLOB2_OP_MAX_IN];
	u32 out;
	const void *params;		/* s32 words (LUT: 256 bytes) */
	u32 params_len;			/* bytes */
};

struct mcai_gw_graph {
	const char *name;
	u32 version;
	u8 head;			/* enum mcai_head */
	s8 head_threshold;
	u32 n_tensors;
	struct mcai_gw_tensor *t;
	u32 n_ops;
	const struct mcai_gw_op *op;
	u32 n_inputs, n_outputs;
	u32 input[MCAI_BLOB2_MAX_IO];
	u32 output[MCAI_BLOB2_MAX_IO];
	const char *input_name[MCAI_BLOB2_MAX_IO];	/* NULL: "in<k>" */
	const char *output_name[MCAI_BLOB2_MAX_IO];	/* NULL: "out<k>" */
	u32 tv_count;
	const void *tv_inputs;		/* per record every input, native */
};

/*
 * The arena plan: offsets into g->t[].offset for every MCAI_TK_ARENA
 * tensor, from the lifetimes the op order gives.  Returns the arena size.
 */
u32 mcai_gw_plan(struct mcai_gw_graph *g);

/*
 * Returns a malloc'd, verified blob and its size in @size, or NULL with a
 * message in @err (the verifier's reason when it refused the result).
 */
u8 *mcai_graph_write(struct mcai_gw_graph *g, u32 *size, char *err,
		     size_t errlen);

/* Parameter words of each op type, in uapi/mcai.h's order; the count. */
u32 mcai_gw_conv_words(const struct mcai_conv_params *p, s32 *w);
u32 mcai_gw_fc_words(const struct mcai_fc_params *p, s32 *w);
u32 mcai_gw_pool_words(const struct mcai_pool_params *p, bool global,
		       s32 *w);
u32 mcai_gw_add_words(const struct mcai_add_params *p, s32 *w);
u32 mcai_gw_softmax_words(const struct mcai_softmax_params *p, s32 *w);
u32 mcai_gw_recon_words(const struct mcai_recon_params *p, s32 *w);
u32 mcai_gw_mul_words(const struct mcai_mul_params *p, s32 *w);
u32 mcai_gw_mean_words(const struct mcai_mean_params *p, s32 *w);
u32 mcai_gw_pad_words(const struct mcai_pad_params *p, s32 *w);
/* p->in[k].mult/shift for each input; p->in may hold no data pointers */
u32 mcai_gw_concat_words(const struct mcai_concat_params *p, s32 *w);
/* Tree params are variable: @w needs mcai_gw_tree_count(e) words. */
u32 mcai_gw_tree_count(const struct mcai_tree_ensemble *e);
u32 mcai_gw_tree_words(const struct mcai_tree_ensemble *e, s32 *w);

#endif /* MCAI_GRAPH_WRITER_H */
