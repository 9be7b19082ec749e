// SPDX-License-Identifier: GPL-2.0
/*
 * Interpreter of verified v2 graphs: the ops in their (topological)
 * order, each reading and writing tensors at the arena offsets the
 * writer planned and the verifier checked.  No allocation: descriptors
 * and native parameter arrays were decoded into the state at load.
 */
#include "models/engine/graph.h"

void *mcai_graph_tensor(const struct mcai_graph *g, void *arena, u32 t)
{
	const struct mcai_gtensor *x = &g->t[t];

	/* Constants are only read: the cast drops a const the kernels keep. */
	if (x->kind == MCAI_TK_CONST)
		return (void *)x->data;
	return (u8 *)arena + x->offset;
}

/* The descriptor is the graph's (const): a copy gets this run's inputs. */
static void mcai_graph_concat(const struct mcai_gop *op, mcai_graph_at_fn at,
			      const void *ctx, void *out)
{
	struct mcai_concat_input in[MCAI_BLOB2_OP_MAX_IN];
	struct mcai_concat_params p = op->p.concat.p;
	u32 k;

	for (k = 0; k < op->n_in; k++) {
		in[k] = op->p.concat.in[k];
		in[k].data = at(ctx, op->in[k]);
	}
	p.in = in;
	mcai_concat(&p, out);
}

void mcai_graph_op_run(const struct mcai_graph *g, const struct mcai_gop *op,
		       mcai_graph_at_fn at, const void *ctx)
{
	const void *x = at(ctx, op->in[0]);
	void *out = at(ctx, op->out);
	const void *a1 = op->n_in > 1 ? at(ctx, op->in[1]) : NULL;
	const void *a2 = op->n_in > 2 ? at(ctx, op->in[2]) : NULL;

	switch (op->type) {
	/* the SIMD drivers decline what they cannot do bit-exactly here */
	case MCAI_OP_CONV2D:
		if (!mcai_simd_conv2d(&op->p.conv, &op->pack, x, a2, out))
			mcai_conv2d(&op->p.conv, x, a1, a2, out);
		break;
	case MCAI_OP_DEPTHWISE:
		if (!mcai_simd_depthwise(&op->p.conv, x, a1, a2, out))
			mcai_depthwise_conv2d(&op->p.conv, x, a1, a2, out);
		break;
	case MCAI_OP_FC:
		if (!mcai_simd_fc(&op->p.fc, &op->pack, x, a2, out))
			mcai_fully_connected(&op->p.fc, x, a1, a2, out);
		break;
	case MCAI_OP_MAX_POOL2D:
		if (!mcai_simd_max_pool2d(&op->p.pool, x, out))
			mcai_max_pool2d(&op->p.pool, x, out);
		break;
	case MCAI_OP_AVG_POOL2D:
		mcai_avg_pool2d(&op->p.pool, x, out);
		break;
	case MCAI_OP_GLOBAL_AVG_POOL:
		mcai_global_avg_pool(&op->p.pool, x, out);
		break;
	case MCAI_OP_ADD:
		mcai_add(&op->p.add, x, a1, out);
		break;
	case MCAI_OP_SOFTMAX:
		mcai_softmax(&op->p.softmax, x, out);
		break;
	case MCAI_OP_LUT:
		mcai_lut(op->p.lut, x, out, g->t[op->out].bytes);
		break;
	case MCAI_OP_RESHAPE:
		mcai_reshape(x, out, g->t[op->out].bytes);
		break;
	case MCAI_OP_TREE:
		mcai_tree_ensemble(&op->p.tree, x, out);
		break;
	case MCAI_OP_MUL:
		mcai_mul(&op->p.mul, x, a1, out);
		break;
	case MCAI_OP_MEAN:
		mcai_mean(&op->p.mean, x, out);
		break;
	case MCAI_OP_PAD:
		mcai_pad(&op->p.pad, x, out);
		break;
	case MCAI_OP_CONCAT:
		mcai_graph_concat(op, at, ctx, out);
		break;
	case MCAI_OP_RECON: {
		s32 score = mcai_recon_score(&op->p.recon, x, a1);

		memcpy(out, &score, sizeof(score));
		break;
	}
	}
}

/* Tensors at their planned arena offsets. */
struct mcai_graph_arena {
	const struct mcai_graph *g;
	void *arena;
};

static void *mcai_graph_arena_at(const void *ctx, u32 t)
{
	const struct mcai_graph_arena *a = ctx;

	return mcai_graph_tensor(a->g, a->arena, t);
}

int mcai_graph_head(const struct mcai_graph *g, void *arena)
{
	const struct mcai_gtensor *t = &g->t[g->output[0]];
	const void *p = mcai_graph_tensor(g, arena, g->output[0]);
	u32 n, i, best = 0;

	if (t->dtype == MCAI_DT_INT8) {
		if (g->head == MCAI_HEAD_THRESHOLD)
			return mcai_score_head(p, 0, g->head_threshold);
		return (int)mcai_argmax(p, t->bytes);
	}
	if (t->dtype == MCAI_DT_INT32) {
		const s32 *v = p;

		n = t->bytes / 4;
		if (g->head == MCAI_HEAD_THRESHOLD)
			return v[0] >= g->head_threshold;
		for (i = 1; i < n; i++)
			if (v[i] > v[best])
				best = i;
		return (int)best;
	}
	return 0;	/* int16 outputs have no class */
}

int mcai_graph_run(const struct mcai_graph *g, void *arena)
{
	const struct mcai_graph_arena a = { g, arena };
	u32 i;

	for (i = 0; i < g->n_ops; i++) {
		mcai_graph_op_run(g, &g->op[i], mcai_graph_arena_at, &a);
		mcai_yield();
	}
	return mcai_graph_head(g, arena);
}

/* Little-endian record bytes <-> native tensor elements. */
static void mcai_graph_load(const struct mcai_gtensor *t, void *dst,
			    const u8 *src)
{
	u32 i;

	if (t->dtype == MCAI_DT_INT8) {
		memcpy(dst, src, t->bytes);
	} else if (t->dtype == MCAI_DT_INT16) {
		for (i = 0; i < t->bytes / 2; i++)
			((s16 *)dst)[i] = (s16)mcai_le16(src + 2 * i);
	} else {
		for (i = 0; i < t->bytes / 4; i++)
			((s32 *)dst)[i] = mcai_les32(src + 4 * i);
	}
}

static bool mcai_graph_same(const struct mcai_gtensor *t, const void *have,
			    const u8 *want)
{
	u32 i;

	if (t->dtype == MCAI_DT_INT8)
		return !memcmp(have, want, t->bytes);
	if (t->dtype == MCAI_DT_INT16) {
		for (i = 0; i < t->bytes / 2; i++)
			if (((const s16 *)have)[i] != (s16)mcai_le16(want + 2 * i))
				return false;
		return true;
	}
	for (i = 0; i < t->bytes / 4; i++)
		if (((const s32 *)have)[i] != mcai_les32(want + 4 * i))
			return false;
	return true;
}

/* Every input from @rec (little-endian, in io order); returns the rest. */
static const u8 *mcai_graph_load_inputs(const struct mcai_graph *g,
					void *arena, const u8 *rec)
{
	u32 k;

	for (k = 0; k < g->n_inputs; k++) {
		const struct mcai_gtensor *t = &g->t[g->input[k]];

		mcai_graph_load(t, mcai_graph_tensor(g, arena, g->input[k]),
				rec);
		rec += t->bytes;
	}
	return rec;
}

int mcai_graph_run_bytes(const struct mcai_graph *g, void *arena,
			 const u8 *in, u8 *out)
{
	const u8 *have;
	u32 k, i;
	int cls;

	mcai_graph_load_inputs(g, arena, in);
	cls = mcai_graph_run(g, arena);
	for (k = 0; k < g->n_outputs; k++) {
		const struct mcai_gtensor *t = &g->t[g->output[k]];

		have = mcai_graph_tensor(g, arena, g->output[k]);
		if (t->dtype == MCAI_DT_INT8)
			memcpy(out, have, t->bytes);
		else if (t->dtype == MCAI_DT_INT16)
			for (i = 0; i < t->bytes / 2; i++)
				mcai_put_le16(out + 2 * i,
					      (u16)((const s16 *)have)[i]);
		else
			for (i = 0; i < t->bytes / 4; i++)
				mcai_put_le32(out + 4 * i,
					      (u32)((const s32 *)have)[i]);
		out += t->bytes;
	}
	return cls;
}

int mcai_graph_check_vectors(const struct mcai_graph *g, void *arena,
			     u32 *failed)
{
	u32 r, k;

	for (r = 0; r < g->tv_count; r++) {
		const u8 *rec = g->tv +
			(size_t)r * ((size_t)g->tv_in_bytes + g->tv_out_bytes);

		rec = mcai_graph_load_inputs(g, arena, rec);
		mcai_graph_run(g, arena);
		for (k = 0; k < g->n_outputs; k++) {
			const struct mcai_gtensor *t = &g->t[g->output[k]];

			if (!mcai_graph_same(t, mcai_graph_tensor(g, arena,
								  g->output[k]),
					     rec)) {
				*failed = r;
				return -1;
			}
			rec += t->bytes;
		}
	}
	return 0;
}
