// SPDX-License-Identifier: GPL-2.0
/*
 * Blob format v2 writer.  Layout: header, tensor table, op table, io
 * table, op params, constant data (each array 4-byte aligned), test
 * vectors, digest.
 */
#include <stdio.h>
#include <stdlib.h>

#include "models/train/graph_writer.h"
#include "models/engine/sha256.h"

static u32 gw_align4(u64 v)
{
	return (u32)((v + 3) & ~3ULL);
}

static u32 gw_fbits(float f)
{
	u32 u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static u32 gw_dsize(u8 dtype)
{
	return dtype == MCAI_DT_INT8 ? 1 : dtype == MCAI_DT_INT16 ? 2 : 4;
}

static u64 gw_bytes(const struct mcai_gw_tensor *t)
{
	return (u64)t->dims[0] * t->dims[1] * t->dims[2] * t->dims[3] *
	       gw_dsize(t->dtype);
}

/*
 * Lifetimes as the verifier computes them: from the op that writes a
 * tensor (0 for graph inputs) to the last op that reads it (n_ops for
 * graph outputs), both ends included.
 */
static void gw_lifetimes(const struct mcai_gw_graph *g, s64 *first, s64 *last)
{
	u32 i, k;

	for (i = 0; i < g->n_tensors; i++)
		first[i] = last[i] = -1;
	for (i = 0; i < g->n_inputs; i++)
		first[g->input[i]] = last[g->input[i]] = 0;
	for (i = 0; i < g->n_ops; i++) {
		const struct mcai_gw_op *op = &g->op[i];

		for (k = 0; k < op->n_in && k < MCAI_BLOB2_OP_MAX_IN; k++)
			if (op->in[k] < g->n_tensors)
				last[op->in[k]] = i;
		if (op->out < g->n_tensors)
			first[op->out] = last[op->out] = i;
	}
	for (i = 0; i < g->n_outputs; i++)
		if (g->output[i] < g->n_tensors)
			last[g->output[i]] = g->n_ops;
	for (i = 0; i < g->n_tensors; i++)
		if (last[i] < first[i])
			last[i] = first[i];
}

u32 mcai_gw_plan(struct mcai_gw_graph *g)
{
	u32 n = g->n_tensors, i, j, k, placed = 0, arena = 0;
	s64 *first = calloc(n ? n : 1, sizeof(*first));
	s64 *last = calloc(n ? n : 1, sizeof(*last));
	u32 *order = calloc(n ? n : 1, sizeof(*order));
	u32 *done = calloc(n ? n : 1, sizeof(*done));

	if (!first || !last || !order || !done)
		goto out;
	gw_lifetimes(g, first, last);
	/* Largest first, ties by index: TFLite Micro's greedy order. */
	for (i = 0; i < n; i++)
		if (g->t[i].kind == MCAI_TK_ARENA)
			order[placed++] = i;
	for (i = 1; i < placed; i++)
		for (j = i; j > 0 && gw_bytes(&g->t[order[j]]) >
		     gw_bytes(&g->t[order[j - 1]]); j--) {
			u32 x = order[j];

			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (i = 0; i < placed; i++) {
		struct mcai_gw_tensor *t = &g->t[order[i]];
		u64 size = gw_bytes(t), at = 0;
		bool moved = true;

		/* The lowest offset clear of every placed tensor alive with it. */
		while (moved) {
			moved = false;
			for (k = 0; k < i; k++) {
				const struct mcai_gw_tensor *o = &g->t[order[k]];
				u32 a = order[i], b = order[k];

				if (first[a] > last[b] || first[b] > last[a])
					continue;
				if (at < o->offset + gw_bytes(o) &&
				    o->offset < at + size) {
					at = gw_align4(o->offset + gw_bytes(o));
					moved = true;
				}
			}
		}
		t->offset = (u32)at;
		if (at + size > arena)
			arena = gw_align4(at + size);
	}
out:
	free(first);
	free(last);
	free(order);
	free(done);
	return arena;
}

static void gw_put_elems(u8 *dst, const void *src, u8 dtype, u64 bytes)
{
	u64 i;

	if (dtype == MCAI_DT_INT8)
		memcpy(dst, src, bytes);
	else if (dtype == MCAI_DT_INT16)
		for (i = 0; i < bytes / 2; i++)
			mcai_put_le16(dst + 2 * i, (u16)((const s16 *)src)[i]);
	else
		for (i = 0; i < bytes / 4; i++)
			mcai_put_le32(dst + 4 * i, (u32)((const s32 *)src)[i]);
}

static void gw_seal(u8 *blob, u32 total)
{
	mcai_sha256(blob, total - MCAI_DIGEST_LEN,
		    blob + total - MCAI_DIGEST_LEN);
}

static int gw_verify(u8 *blob, u32 total, struct mcai_graph *m, void **state,
		     char *err, size_t errlen)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	u32 need;

	mcai_limits_widest(&lim);
	need = mcai_graph_state_size(blob, total, &lim, &v);
	free(*state);
	*state = need ? aligned_alloc(8, (need + 7) & ~7U) : NULL;
	if (!*state || mcai_graph_verify(m, blob, total, &lim, *state, need,
					 &v)) {
		snprintf(err, errlen, "verifier refused the blob: %s at offset %u",
			 v.reason ? v.reason : "out of memory", v.offset);
		return -1;
	}
	return 0;
}

u8 *mcai_graph_write(struct mcai_gw_graph *g, u32 *size, char *err,
		     size_t errlen)
{
	const u32 hs = sizeof(struct mcai_blob2_header);
	const u32 ts = sizeof(struct mcai_blob2_tensor);
	const u32 os = sizeof(struct mcai_blob2_op);
	const u32 ios = sizeof(struct mcai_blob2_io);
	u64 params_size = 0, data_size = 0, rec_in = 0, rec_out = 0, total;
	u32 tensor_off, op_off, io_off, params_off, data_off, tv_off, arena;
	u32 i, k, at;
	u8 *blob = NULL, *arena_buf = NULL;
	void *state = NULL;
	struct mcai_graph m;

	if (!g->name || strlen(g->name) >= MCAI_NAME_LEN ||
	    !g->n_tensors || g->n_tensors > MCAI_BLOB2_MAX_TENSORS ||
	    !g->n_ops || g->n_ops > MCAI_BLOB2_MAX_OPS ||
	    !g->n_inputs || g->n_inputs > MCAI_BLOB2_MAX_IO ||
	    !g->n_outputs || g->n_outputs > MCAI_BLOB2_MAX_IO) {
		snprintf(err, errlen, "name, tensor, op or io count out of range");
		return NULL;
	}
	for (i = 0; i < g->n_inputs + g->n_outputs; i++) {
		u32 ti = i < g->n_inputs ? g->input[i] : g->output[i - g->n_inputs];

		if (ti >= g->n_tensors) {
			snprintf(err, errlen, "io %u: tensor %u out of range", i, ti);
			return NULL;
		}
		if (i < g->n_inputs)
			rec_in += gw_bytes(&g->t[ti]);
		else
			rec_out += gw_bytes(&g->t[ti]);
	}
	for (i = 0; i < g->n_ops; i++)
		params_size += gw_align4(g->op[i].params_len);
	for (i = 0; i < g->n_tensors; i++) {
		if (g->t[i].kind == MCAI_TK_CONST)
			data_size += gw_align4(gw_bytes(&g->t[i]));
		data_size += 4ULL * g->t[i].qc_count;
	}
	arena = mcai_gw_plan(g);

	tensor_off = hs;
	op_off = tensor_off + g->n_tensors * ts;
	io_off = op_off + g->n_ops * os;
	params_off = io_off + (g->n_inputs + g->n_outputs) * ios;
	data_off = (u32)(params_off + params_size);
	tv_off = (u32)(data_off + data_size);
	total = (u64)tv_off + gw_align4(g->tv_count * (rec_in + rec_out)) +
		MCAI_DIGEST_LEN;
	if (total > MCAI_CEIL_MAX_BLOB) {
		snprintf(err, errlen, "blob of %llu bytes too large",
			 (unsigned long long)total);
		return NULL;
	}
	blob = calloc(1, total);
	if (!blob) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}

	mcai_put_le32(blob + offsetof(struct mcai_blob2_header, magic),
		      MCAI_BLOB_MAGIC);
#define H32(f, v) mcai_put_le32(blob + offsetof(struct mcai_blob2_header, f), (v))
	mcai_put_le16(blob + offsetof(struct mcai_blob2_header, format_version),
		      MCAI_BLOB2_VERSION);
	mcai_put_le16(blob + offsetof(struct mcai_blob2_header, header_size),
		      (u16)hs);
	H32(total_size, (u32)total);
	memcpy(blob + offsetof(struct mcai_blob2_header, name), g->name,
	       strlen(g->name));
	H32(model_version, g->version ? g->version : 1);
	H32(n_tensors, g->n_tensors);
	H32(tensor_off, tensor_off);
	H32(n_ops, g->n_ops);
	H32(op_off, op_off);
	H32(n_inputs, g->n_inputs);
	H32(n_outputs, g->n_outputs);
	H32(io_off, io_off);
	H32(params_off, params_off);
	H32(params_size, (u32)params_size);
	H32(data_off, data_off);
	H32(data_size, (u32)data_size);
	H32(tv_off, g->tv_count ? tv_off : 0);
	H32(tv_count, g->tv_count);
	H32(arena_size, arena);
#undef H32
	blob[offsetof(struct mcai_blob2_header, head)] = g->head;
	blob[offsetof(struct mcai_blob2_header, head_threshold)] =
		(u8)g->head_threshold;

	at = 0;
	for (i = 0; i < g->n_tensors; i++) {
		const struct mcai_gw_tensor *t = &g->t[i];
		u8 *e = blob + tensor_off + i * ts;
		u64 bytes = gw_bytes(t);

		e[offsetof(struct mcai_blob2_tensor, dtype)] = t->dtype;
		e[offsetof(struct mcai_blob2_tensor, kind)] = t->kind;
		e[offsetof(struct mcai_blob2_tensor, rank)] = t->rank;
		e[offsetof(struct mcai_blob2_tensor, qc_axis)] = t->qc_axis;
		for (k = 0; k < 4; k++)
			mcai_put_le32(e + offsetof(struct mcai_blob2_tensor, dims) +
				      4 * k, t->dims[k]);
		mcai_put_le32(e + offsetof(struct mcai_blob2_tensor, scale),
			      gw_fbits(t->scale));
		mcai_put_le32(e + offsetof(struct mcai_blob2_tensor, zero_point),
			      (u32)t->zp);
		mcai_put_le32(e + offsetof(struct mcai_blob2_tensor, size),
			      (u32)bytes);
		if (t->qc_count) {
			mcai_put_le32(e + offsetof(struct mcai_blob2_tensor, qc_off),
				      at);
			mcai_put_le32(e + offsetof(struct mcai_blob2_tensor,
						   qc_count), t->qc_count);
			for (k = 0; k < t->qc_count; k++)
				mcai_put_le32(blob + data_off + at + 4 * k,
					      gw_fbits(t->qc_scales[k]));
			at += 4 * t->qc_count;
		}
		if (t->kind == MCAI_TK_CONST) {
			mcai_put_le32(e + offsetof(struct mcai_blob2_tensor, offset),
				      at);
			if (t->data)
				gw_put_elems(blob + data_off + at, t->data,
					     t->dtype, bytes);
			at = gw_align4(at + bytes);
		} else {
			mcai_put_le32(e + offsetof(struct mcai_blob2_tensor, offset),
				      t->offset);
		}
	}
	at = 0;
	for (i = 0; i < g->n_ops; i++) {
		const struct mcai_gw_op *op = &g->op[i];
		u8 *e = blob + op_off + i * os;

		mcai_put_le16(e + offsetof(struct mcai_blob2_op, type), op->type);
		e[offsetof(struct mcai_blob2_op, n_in)] = op->n_in;
		e[offsetof(struct mcai_blob2_op, n_out)] = 1;
		for (k = 0; k < op->n_in && k < MCAI_BLOB2_OP_MAX_IN; k++)
			mcai_put_le32(e + offsetof(struct mcai_blob2_op, in) + 4 * k,
				      op->in[k]);
		mcai_put_le32(e + offsetof(struct mcai_blob2_op, out), op->out);
		mcai_put_le32(e + offsetof(struct mcai_blob2_op, params_off), at);
		mcai_put_le32(e + offsetof(struct mcai_blob2_op, params_len),
			      op->params_len);
		if (op->type == MCAI_OP_LUT)
			memcpy(blob + params_off + at, op->params, op->params_len);
		else
			gw_put_elems(blob + params_off + at, op->params,
				     MCAI_DT_INT32, op->params_len & ~3U);
		at = gw_align4((u64)at + op->params_len);
	}
	for (i = 0; i < g->n_inputs + g->n_outputs; i++) {
		bool in = i < g->n_inputs;
		u32 j = in ? i : i - g->n_inputs;
		const char *nm = in ? g->input_name[j] : g->output_name[j];
		u8 *e = blob + io_off + i * ios;
		char def[MCAI_BLOB2_IO_NAME_LEN];

		if (!nm) {
			snprintf(def, sizeof(def), "%s%u", in ? "in" : "out", j);
			nm = def;
		}
		mcai_put_le32(e + offsetof(struct mcai_blob2_io, tensor),
			      in ? g->input[j] : g->output[j]);
		memcpy(e + offsetof(struct mcai_blob2_io, name), nm,
		       strnlen(nm, MCAI_BLOB2_IO_NAME_LEN - 1));
	}
	/* Test vectors: inputs now, outputs from the interpreter below. */
	for (i = 0; i < g->tv_count; i++) {
		const u8 *src = (const u8 *)g->tv_inputs + i * rec_in;
		u8 *dst = blob + tv_off + i * (rec_in + rec_out);

		for (k = 0; k < g->n_inputs; k++) {
			const struct mcai_gw_tensor *t = &g->t[g->input[k]];

			gw_put_elems(dst, src, t->dtype, gw_bytes(t));
			src += gw_bytes(t);
			dst += gw_bytes(t);
		}
	}
	gw_seal(blob, (u32)total);
	if (gw_verify(blob, (u32)total, &m, &state, err, errlen))
		goto fail;
	if (g->tv_count) {
		arena_buf = aligned_alloc(8, ((arena + 7) & ~7U) + 8);
		if (!arena_buf) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (i = 0; i < g->tv_count; i++) {
			const u8 *src = blob + tv_off + i * (rec_in + rec_out);
			u8 *dst = (u8 *)src + rec_in;

			for (k = 0; k < g->n_inputs; k++) {
				const struct mcai_gtensor *t = &m.t[g->input[k]];
				void *p = mcai_graph_tensor(&m, arena_buf,
							    g->input[k]);

				if (t->dtype == MCAI_DT_INT8) {
					memcpy(p, src, t->bytes);
				} else if (t->dtype == MCAI_DT_INT16) {
					for (at = 0; at < t->bytes / 2; at++)
						((s16 *)p)[at] = (s16)mcai_le16(src + 2 * at);
				} else {
					for (at = 0; at < t->bytes / 4; at++)
						((s32 *)p)[at] = mcai_les32(src + 4 * at);
				}
				src += t->bytes;
			}
			mcai_graph_run(&m, arena_buf);
			for (k = 0; k < g->n_outputs; k++) {
				const struct mcai_gtensor *t = &m.t[g->output[k]];

				gw_put_elems(dst, mcai_graph_tensor(&m, arena_buf,
								    g->output[k]),
					     t->dtype, t->bytes);
				dst += t->bytes;
			}
		}
		gw_seal(blob, (u32)total);
		if (gw_verify(blob, (u32)total, &m, &state, err, errlen))
			goto fail;
		if (mcai_graph_check_vectors(&m, arena_buf, &i)) {
			snprintf(err, errlen, "test vector %u does not reproduce", i);
			goto fail;
		}
	}
	free(arena_buf);
	free(state);
	*size = (u32)total;
	return blob;
fail:
	free(arena_buf);
	free(state);
	free(blob);
	return NULL;
}

u32 mcai_gw_conv_words(const struct mcai_conv_params *p, s32 *w)
{
	u32 i;

	w[0] = (s32)p->stride_h;
	w[1] = (s32)p->stride_w;
	w[2] = (s32)p->dil_h;
	w[3] = (s32)p->dil_w;
	w[4] = (s32)p->pad_top;
	w[5] = (s32)p->pad_left;
	w[6] = (s32)p->pad_bottom;
	w[7] = (s32)p->pad_right;
	w[8] = (s32)p->groups;
	w[9] = p->act_min;
	w[10] = p->act_max;
	for (i = 0; i < p->out_c; i++) {
		w[11 + i] = p->mult[i];
		w[11 + p->out_c + i] = p->shift[i];
	}
	return 11 + 2 * p->out_c;
}

u32 mcai_gw_fc_words(const struct mcai_fc_params *p, s32 *w)
{
	u32 i;

	w[0] = p->act_min;
	w[1] = p->act_max;
	for (i = 0; i < p->out_len; i++) {
		w[2 + i] = p->mult[i];
		w[2 + p->out_len + i] = p->shift[i];
	}
	return 2 + 2 * p->out_len;
}

u32 mcai_gw_pool_words(const struct mcai_pool_params *p, bool global, s32 *w)
{
	if (global) {
		w[0] = p->act_min;
		w[1] = p->act_max;
		return 2;
	}
	w[0] = (s32)p->k_h;
	w[1] = (s32)p->k_w;
	w[2] = (s32)p->stride_h;
	w[3] = (s32)p->stride_w;
	w[4] = (s32)p->pad_top;
	w[5] = (s32)p->pad_left;
	w[6] = (s32)p->pad_bottom;
	w[7] = (s32)p->pad_right;
	w[8] = p->act_min;
	w[9] = p->act_max;
	return 10;
}

u32 mcai_gw_add_words(const struct mcai_add_params *p, s32 *w)
{
	w[0] = p->in1_mult;
	w[1] = p->in1_shift;
	w[2] = p->in2_mult;
	w[3] = p->in2_shift;
	w[4] = p->out_mult;
	w[5] = p->out_shift;
	w[6] = p->left_shift;
	w[7] = p->act_min;
	w[8] = p->act_max;
	return 9;
}

u32 mcai_gw_softmax_words(const struct mcai_softmax_params *p, s32 *w)
{
	w[0] = p->input_mult;
	w[1] = p->input_left_shift;
	w[2] = p->diff_min;
	return 3;
}

u32 mcai_gw_recon_words(const struct mcai_recon_params *p, s32 *w)
{
	w[0] = p->in_mult;
	w[1] = p->in_shift;
	w[2] = p->mean_mult;
	w[3] = p->mean_shift;
	return 4;
}

u32 mcai_gw_tree_count(const struct mcai_tree_ensemble *e)
{
	return 9 + e->n_trees + 4 * e->n_nodes + e->n_values +
	       (e->base ? e->n_outputs : 0);
}

u32 mcai_gw_tree_words(const struct mcai_tree_ensemble *e, s32 *w)
{
	u32 i, k = 9;

	w[0] = (s32)e->n_trees;
	w[1] = (s32)e->n_nodes;
	w[2] = (s32)e->n_values;
	w[3] = (s32)e->n_outputs;
	w[4] = (s32)e->max_depth;
	w[5] = e->aggregate;
	w[6] = e->link;
	w[7] = e->frac_bits;
	w[8] = e->base ? 1 : 0;
	for (i = 0; i < e->n_trees; i++)
		w[k++] = (s32)e->roots[i];
	for (i = 0; i < e->n_nodes; i++) {
		w[k++] = (s32)e->nodes[i].left;
		w[k++] = (s32)e->nodes[i].right;
		w[k++] = (s32)e->nodes[i].value;
		w[k++] = (s32)((u32)e->nodes[i].feature |
			       (u32)(u16)e->nodes[i].threshold << 16);
	}
	for (i = 0; i < e->n_values; i++)
		w[k++] = e->values[i];
	for (i = 0; e->base && i < e->n_outputs; i++)
		w[k++] = e->base[i];
	return k;
}

u32 mcai_gw_mul_words(const struct mcai_mul_params *p, s32 *w)
{
	w[0] = p->mult;
	w[1] = p->shift;
	w[2] = p->act_min;
	w[3] = p->act_max;
	return 4;
}

u32 mcai_gw_mean_words(const struct mcai_mean_params *p, s32 *w)
{
	w[0] = (s32)p->axes;
	w[1] = p->mult;
	w[2] = p->shift;
	return 3;
}

u32 mcai_gw_pad_words(const struct mcai_pad_params *p, s32 *w)
{
	u32 d;

	for (d = 0; d < 4; d++) {
		w[d] = (s32)p->before[d];
		w[4 + d] = (s32)p->after[d];
	}
	return 8;
}

u32 mcai_gw_concat_words(const struct mcai_concat_params *p, s32 *w)
{
	u32 k;

	w[0] = (s32)p->axis;
	for (k = 0; k < p->n_in; k++) {
		w[1 + 2 * k] = p->in[k].mult;
		w[2 + 2 * k] = p->in[k].shift;
	}
	return 1 + 2 * p->n_in;
}
