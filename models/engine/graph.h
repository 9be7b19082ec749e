/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Blob format v2: a graph of ops over tensors (uapi/mcai.h), its verifier
 * and its interpreter.  Freestanding, like the rest of models/engine.
 *
 * Loading is two calls: mcai_graph_state_size() reads the header alone
 * and says how many bytes of state the caller must provide (a bound that
 * depends only on the header's counts and section sizes); then
 * mcai_graph_verify() checks the whole blob and decodes, once, every
 * parameter the kernels take as native aligned arrays (multipliers,
 * shifts, biases, tree nodes, int16/int32 constants) into that state.
 * The kernels' *_check() run on the decoded descriptors, so a graph that
 * verified only hands the kernels what their checks accepted.
 */
#ifndef MCAI_GRAPH_H
#define MCAI_GRAPH_H

#include "models/engine/model.h"
#include "models/engine/ops.h"
#include "models/engine/simd.h"

/* A tensor, decoded. */
struct mcai_gtensor {
	u32 dims[4];
	u32 bytes;
	u32 offset;		/* arena offset (MCAI_TK_ARENA) */
	s32 zp;
	u32 scale;		/* float bits, compared, never computed with */
	u8 dtype;		/* enum mcai_dtype */
	u8 kind;		/* enum mcai_tensor_kind */
	u8 checked;		/* int8 weights scanned once for -128 */
	u8 is_input;
	s32 first;		/* op that writes it (0 for graph inputs) */
	s32 last;		/* last op that reads it (n_ops for outputs) */
	const void *data;	/* MCAI_TK_CONST: native elements */
};

/* An op, decoded: the kernel's descriptor and the tensors it joins. */
struct mcai_gop {
	u16 type;		/* enum mcai_op_type */
	u8 n_in;
	u8 pad;
	u32 in[MCAI_BLOB2_OP_MAX_IN];
	u32 out;
	u64 macs;
	struct mcai_pack pack;	/* conv2d, fc: for the SIMD path, if any */
	union {
		struct mcai_conv_params conv;
		struct mcai_fc_params fc;
		struct mcai_pool_params pool;
		struct mcai_add_params add;
		struct mcai_softmax_params softmax;
		struct mcai_tree_ensemble tree;
		struct mcai_recon_params recon;
		struct mcai_mul_params mul;
		struct mcai_mean_params mean;
		struct mcai_pad_params pad;
		struct {
			/* data pointers are the arena's: set at each run */
			struct mcai_concat_input in[MCAI_BLOB2_OP_MAX_IN];
			struct mcai_concat_params p;
		} concat;
		const s8 *lut;
	} p;
};

struct mcai_graph {
	const u8 *blob;
	u32 blob_size;
	char name[MCAI_NAME_LEN];
	u32 version;
	u32 n_tensors;
	u32 n_ops;
	u32 n_inputs;
	u32 n_outputs;
	u32 input[MCAI_BLOB2_MAX_IO];	/* tensor indices */
	u32 output[MCAI_BLOB2_MAX_IO];
	const char *input_name[MCAI_BLOB2_MAX_IO];	/* in the blob */
	const char *output_name[MCAI_BLOB2_MAX_IO];
	u32 arena_size;
	u32 state_used;
	u8 head;
	s8 head_threshold;
	u32 tv_count;
	const u8 *tv;
	u32 tv_in_bytes;	/* of a record: inputs, then outputs */
	u32 tv_out_bytes;
	u64 macs;
	const u8 *digest;
	struct mcai_gtensor *t;	/* [n_tensors], in the state */
	struct mcai_gop *op;	/* [n_ops], in the state */
};

/* The format version of @blob (0 if it is too short to say). */
u32 mcai_blob_format(const void *blob, u32 size);

/*
 * The state bytes mcai_graph_verify() needs for @blob, from its header
 * alone: 0 and @v set if the header cannot be a v2 header within @lim.
 */
u32 mcai_graph_state_size(const void *blob, u32 size,
			  const struct mcai_limits *lim,
			  struct mcai_verdict *v);

/*
 * Verify @blob and decode it into @g, using @state (@state_size bytes,
 * 8-byte aligned, at least mcai_graph_state_size()).  Returns 0, or -1
 * with @v naming the reason and blob offset.  @blob and @state must
 * outlive @g unchanged.
 */
int mcai_graph_verify(struct mcai_graph *g, const void *blob, u32 size,
		      const struct mcai_limits *lim, void *state,
		      u32 state_size, struct mcai_verdict *v);

/*
 * What byte @offset of a v2 blob @blob describes, for a refusal's text:
 * "tensor", "op", "input" or "output" with its index in @index, or
 * "header", "params", "data" or "blob" with @index U32_MAX.  Safe on
 * any bytes.
 */
const char *mcai_graph_where(const void *blob, u32 size, u32 offset,
			     u32 *index);

/* Where tensor @t lives while @arena (g->arena_size bytes) is in use. */
void *mcai_graph_tensor(const struct mcai_graph *g, void *arena, u32 t);

/*
 * One op, on tensors wherever the caller keeps them: @at(@ctx, t) is
 * tensor t's memory (mcai_graph_run() passes arena offsets; a benchmark
 * running some ops elsewhere passes its own buffers).
 */
typedef void *(*mcai_graph_at_fn)(const void *ctx, u32 t);
void mcai_graph_op_run(const struct mcai_graph *g, const struct mcai_gop *op,
		       mcai_graph_at_fn at, const void *ctx);

/*
 * Run every op in order over @arena (g->arena_size bytes, 8-byte
 * aligned).  The caller has written the inputs at mcai_graph_tensor() of
 * g->input[]; outputs are read there afterwards.  Returns the class of
 * output 0, as mcai_graph_head().
 */
int mcai_graph_run(const struct mcai_graph *g, void *arena);

/*
 * mcai_graph_run() with the graph's inputs read from @in and its outputs
 * written to @out, each in io order, dense and little-endian, as a test
 * vector record holds them (g->tv_in_bytes, g->tv_out_bytes).
 */
int mcai_graph_run_bytes(const struct mcai_graph *g, void *arena,
			 const u8 *in, u8 *out);

/*
 * The class of output 0: int8 scores as engine v1 (argmax, or score >=
 * head_threshold); int32 (tree, recon) argmax, or for a single
 * value, value >= head_threshold.
 */
int mcai_graph_head(const struct mcai_graph *g, void *arena);

/*
 * Run the test vectors; 0 when every one reproduces its outputs exactly,
 * else -1 with the failing index in @failed.
 */
int mcai_graph_check_vectors(const struct mcai_graph *g, void *arena,
			     u32 *failed);

#endif /* MCAI_GRAPH_H */
