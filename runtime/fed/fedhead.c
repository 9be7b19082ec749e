// SPDX-License-Identifier: GPL-2.0
/*
 * A v2 graph blob as a frozen int8 body and a float FC head, and the head
 * requantised back into a complete blob (fedhead.h).  Every offset used to
 * rewrite a blob comes from the original, which the verifier accepted, and
 * the rewrite never moves a section: the new blob has the original's size
 * and layout by construction.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/sha256.h"
#include "models/train/opquant.h"
#include "models/train/quant.h"
#include "runtime/fed/fedhead.h"

#define HDR(f)	offsetof(struct mcai_blob2_header, f)
#define TREC(f)	offsetof(struct mcai_blob2_tensor, f)
#define OREC(f)	offsetof(struct mcai_blob2_op, f)

static const char *const op_names[] = {
	[MCAI_OP_CONV2D] = "conv2d", [MCAI_OP_DEPTHWISE] = "depthwise",
	[MCAI_OP_FC] = "fc", [MCAI_OP_MAX_POOL2D] = "max_pool2d",
	[MCAI_OP_AVG_POOL2D] = "avg_pool2d",
	[MCAI_OP_GLOBAL_AVG_POOL] = "global_avg_pool", [MCAI_OP_ADD] = "add",
	[MCAI_OP_SOFTMAX] = "softmax", [MCAI_OP_LUT] = "lut",
	[MCAI_OP_RESHAPE] = "reshape", [MCAI_OP_TREE] = "tree",
	[MCAI_OP_RECON] = "recon", [MCAI_OP_MUL] = "mul",
	[MCAI_OP_MEAN] = "mean", [MCAI_OP_PAD] = "pad",
	[MCAI_OP_CONCAT] = "concat",
};

static const char *op_name(u16 t)
{
	return t < sizeof(op_names) / sizeof(op_names[0]) && op_names[t] ?
	       op_names[t] : "?";
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static float fbits(u32 v)
{
	float f;

	memcpy(&f, &v, sizeof(f));
	return f;
}

static u32 bitsf(float f)
{
	u32 v;

	memcpy(&v, &f, sizeof(v));
	return v;
}

/* Byte offsets of a blob's sections and of tensor / op records. */
static u32 hdr(const u8 *b, size_t field)
{
	return mcai_le32(b + field);
}

static u32 trec(const u8 *b, u32 t)
{
	return hdr(b, HDR(tensor_off)) + t * (u32)sizeof(struct mcai_blob2_tensor);
}

static u32 orec(const u8 *b, u32 i)
{
	return hdr(b, HDR(op_off)) + i * (u32)sizeof(struct mcai_blob2_op);
}

/* Where tensor @t's elements (a constant) and per-channel scales live. */
static u32 tdata(const u8 *b, u32 t)
{
	return hdr(b, HDR(data_off)) + mcai_le32(b + trec(b, t) + TREC(offset));
}

static u32 tqc(const u8 *b, u32 t, u32 *count)
{
	*count = mcai_le32(b + trec(b, t) + TREC(qc_count));
	return hdr(b, HDR(data_off)) + mcai_le32(b + trec(b, t) + TREC(qc_off));
}

static u32 oparams(const u8 *b, u32 i, u32 *len)
{
	*len = mcai_le32(b + orec(b, i) + OREC(params_len));
	return hdr(b, HDR(params_off)) + mcai_le32(b + orec(b, i) + OREC(params_off));
}

/* The scale of channel @o of constant @t: per channel or per tensor. */
static float chan_scale(const struct mcai_fedhead *h, u32 t, u32 o)
{
	u32 n, at = tqc(h->blob, t, &n);

	if (n)
		return fbits(mcai_le32(h->blob + at + 4 * o));
	return fbits(h->g.t[t].scale);
}

static bool is_head_tensor(const struct mcai_fedhead *h, u32 t)
{
	u32 i, k;

	for (i = h->first_op; i < h->g.n_ops; i++) {
		if (h->g.op[i].out == t)
			return true;
		for (k = 1; k < h->g.op[i].n_in; k++)
			if (h->g.op[i].in[k] == t)
				return true;
	}
	return false;
}

static int check_fc(struct mcai_fedhead *h, u32 j, char *err, size_t errlen)
{
	const struct mcai_gop *op = &h->g.op[h->fc_op[j]];
	const struct mcai_gtensor *w, *b, *y;
	bool last = j + 1 == h->n_fc;
	u32 in, out;

	if (op->n_in != 3)
		return fail(err, errlen, "op %u (fc): no bias; the trainer's layers have one",
			    h->fc_op[j]);
	w = &h->g.t[op->in[1]];
	b = &h->g.t[op->in[2]];
	y = &h->g.t[op->out];
	in = op->p.fc.in_len;
	out = op->p.fc.out_len;
	if (op->p.fc.batch != 1 || w->kind != MCAI_TK_CONST ||
	    w->dtype != MCAI_DT_INT8 || w->bytes != in * out ||
	    b->kind != MCAI_TK_CONST || b->dtype != MCAI_DT_INT32 ||
	    b->bytes != 4 * out || y->dtype != MCAI_DT_INT8)
		return fail(err, errlen, "op %u (fc): not an int8 layer with int32 bias of batch 1",
			    h->fc_op[j]);
	if (in > MCAI_MLP_MAX_DIM || out > MCAI_MLP_MAX_DIM)
		return fail(err, errlen, "op %u (fc): %u x %u is wider than the trainer's %u",
			    h->fc_op[j], in, out, MCAI_MLP_MAX_DIM);
	/* the float trainer: ReLU between layers, plain logits last */
	if (last ? (op->p.fc.act_min != -128 || op->p.fc.act_max != 127) :
		   (op->p.fc.act_min != y->zp || op->p.fc.act_max != 127))
		return fail(err, errlen,
			    "op %u (fc): clamp [%d, %d] is not %s, which the float trainer models",
			    h->fc_op[j], op->p.fc.act_min, op->p.fc.act_max,
			    last ? "none (logits)" : "ReLU");
	if (j == 0)
		h->dims[0] = in;
	else if (h->dims[j] != in)
		return fail(err, errlen, "op %u (fc): %u inputs after %u outputs",
			    h->fc_op[j], in, h->dims[j]);
	h->dims[j + 1] = out;
	return 0;
}

int mcai_fedhead_open(struct mcai_fedhead *h, const u8 *blob, u32 size,
		   u32 trainable, char *err, size_t errlen)
{
	struct mcai_limits lim;
	struct mcai_verdict v = { 0 };
	u32 need, i, k, n, fmt;
	s32 at;

	memset(h, 0, sizeof(*h));
	h->softmax_op = -1;
	fmt = mcai_blob_format(blob, size);
	if (fmt != MCAI_BLOB2_VERSION)
		return fail(err, errlen,
			    "not a graph blob (format %u): only format 2 has a body and a head",
			    fmt);
	mcai_limits_widest(&lim);
	need = mcai_graph_state_size(blob, size, &lim, &v);
	if (!need)
		return fail(err, errlen, "verifier refused the blob: %s at offset %u",
			    v.reason ? v.reason : "?", v.offset);
	h->blob = malloc(size);
	h->state = aligned_alloc(8, (need + 7) & ~7U);
	if (!h->blob || !h->state) {
		mcai_fedhead_close(h);
		return fail(err, errlen, "out of memory");
	}
	memcpy(h->blob, blob, size);
	h->size = size;
	if (mcai_graph_verify(&h->g, h->blob, size, &lim, h->state,
			      (need + 7) & ~7U, &v)) {
		mcai_fedhead_close(h);
		return fail(err, errlen, "verifier refused the blob: %s at offset %u",
			    v.reason ? v.reason : "?", v.offset);
	}

	/* From the last op back: an optional softmax, then FC layers. */
	at = (s32)h->g.n_ops - 1;
	if (at >= 0 && h->g.op[at].type == MCAI_OP_SOFTMAX)
		h->softmax_op = at--;
	n = 0;
	while (at >= 0 && h->g.op[at].type == MCAI_OP_FC &&
	       (!trainable || n < trainable)) {
		if (n == MCAI_FEDHEAD_MAX_FC) {
			mcai_fedhead_close(h);
			return fail(err, errlen,
				    "more than %u trailing fc layers: the trainer has at most %u",
				    MCAI_FEDHEAD_MAX_FC, MCAI_FEDHEAD_MAX_FC);
		}
		n++;
		at--;
	}
	if (!n || (trainable && n < trainable)) {
		if (at < 0)
			fail(err, errlen, "the graph has only %u fc layers, %u asked trainable",
			     n, trainable);
		else
			fail(err, errlen,
			     "op %d (%s) is not fully connected: the trainable layers must be a trailing chain of fc layers (found %u%s, asked %u)",
			     at, op_name(h->g.op[at].type), n,
			     h->softmax_op >= 0 ? " before the softmax" : "",
			     trainable);
		mcai_fedhead_close(h);
		return -1;
	}
	if (h->g.n_inputs != 1 || h->g.n_outputs != 1 ||
	    h->g.t[h->g.input[0]].dtype != MCAI_DT_INT8)
		goto refuse_io;
	h->n_fc = n;
	h->first_op = (u32)(at + 1);
	for (k = 0; k < n; k++)
		h->fc_op[k] = h->first_op + k;
	h->cut = h->g.op[h->first_op].in[0];

	/* A chain: each head op reads the one before it, nobody else does. */
	for (i = h->first_op + 1; i < h->g.n_ops; i++)
		if (h->g.op[i].in[0] != h->g.op[i - 1].out)
			goto refuse_chain;
	if (h->g.output[0] != h->g.op[h->g.n_ops - 1].out)
		goto refuse_chain;
	for (i = 0; i < h->g.n_ops; i++)
		for (k = 0; k < h->g.op[i].n_in; k++) {
			u32 t = h->g.op[i].in[k], m;

			/* the body reads nothing the head writes or owns */
			if (i < h->first_op && is_head_tensor(h, t))
				goto refuse_chain;
			/* the cut is read by the first fc layer only */
			if (t == h->cut && (i != h->first_op || k))
				goto refuse_chain;
			if (i < h->first_op || !k)
				continue;
			/* a head constant belongs to its op alone */
			if (h->g.t[t].kind != MCAI_TK_CONST)
				goto refuse_chain;
			for (m = h->first_op; m < h->g.n_ops; m++)
				if (m != i && ((h->g.op[m].n_in > 1 &&
						h->g.op[m].in[1] == t) ||
					       (h->g.op[m].n_in > 2 &&
						h->g.op[m].in[2] == t)))
					goto refuse_chain;
		}
	if (h->g.t[h->cut].dtype != MCAI_DT_INT8 ||
	    h->g.t[h->cut].kind != MCAI_TK_ARENA || h->cut == h->g.input[0])
		goto refuse_chain;
	for (k = 0; k < n; k++)
		if (check_fc(h, k, err, errlen)) {
			mcai_fedhead_close(h);
			return -1;
		}
	if (h->g.t[h->cut].bytes != h->dims[0])
		goto refuse_chain;
	h->in_scale = fbits(h->g.t[h->cut].scale);
	h->in_zp = h->g.t[h->cut].zp;
	for (k = 0; k < n; k++)
		h->n_params += (size_t)h->dims[k] * h->dims[k + 1] + h->dims[k + 1];
	return 0;

refuse_io:
	mcai_fedhead_close(h);
	return fail(err, errlen, "the graph must have one int8 input and one output");
refuse_chain:
	mcai_fedhead_close(h);
	return fail(err, errlen,
		    "ops %u..%u are not a chain of fc layers fed only by the body's int8 output",
		    h->first_op, h->g.n_ops - 1);
}

void mcai_fedhead_close(struct mcai_fedhead *h)
{
	free(h->blob);
	free(h->state);
	h->blob = NULL;
	h->state = NULL;
}

struct mcai_mlp *mcai_fedhead_mlp(const struct mcai_fedhead *h)
{
	return mcai_mlp_create(h->dims, h->n_fc + 1, MCAI_MLP_SOFTMAX);
}

void mcai_fedhead_get_params(const struct mcai_fedhead *h, float *params)
{
	float *p = params;
	u32 j, i, o;

	for (j = 0; j < h->n_fc; j++) {
		const struct mcai_gop *op = &h->g.op[h->fc_op[j]];
		u32 in = h->dims[j], out = h->dims[j + 1];
		const s8 *q = (const s8 *)h->blob + tdata(h->blob, op->in[1]);
		const u8 *bq = h->blob + tdata(h->blob, op->in[2]);
		double xs = j ? fbits(h->g.t[h->g.op[h->fc_op[j - 1]].out].scale)
			      : h->in_scale;

		for (i = 0; i < in; i++)
			for (o = 0; o < out; o++)
				p[(size_t)i * out + o] = (float)q[(size_t)o * in + i] *
							 chan_scale(h, op->in[1], o);
		p += (size_t)in * out;
		for (o = 0; o < out; o++)
			p[o] = (float)(mcai_les32(bq + 4 * o) * xs *
				       chan_scale(h, op->in[1], o));
		p += out;
	}
}

/* Tensors at their planned arena offsets, as mcai_graph_run() has them. */
struct head_arena {
	const struct mcai_graph *g;
	void *arena;
};

static void *head_at(const void *ctx, u32 t)
{
	const struct head_arena *a = ctx;

	return mcai_graph_tensor(a->g, a->arena, t);
}

void mcai_fedhead_features(const struct mcai_fedhead *h, void *arena,
			const s8 *input, s8 *feat)
{
	const struct head_arena a = { &h->g, arena };
	u32 i;

	memcpy(mcai_graph_tensor(&h->g, arena, h->g.input[0]), input,
	       h->g.t[h->g.input[0]].bytes);
	for (i = 0; i < h->first_op; i++)
		mcai_graph_op_run(&h->g, &h->g.op[i], head_at, &a);
	memcpy(feat, mcai_graph_tensor(&h->g, arena, h->cut), h->dims[0]);
}

void mcai_fedhead_dequant(const struct mcai_fedhead *h, const s8 *feat, float *x)
{
	u32 i;

	for (i = 0; i < h->dims[0]; i++)
		x[i] = (float)((s32)feat[i] - h->in_zp) * h->in_scale;
}

/* Each layer's output range over @calib, through the float head. */
static int calibrate(const struct mcai_fedhead *h, const float *params,
		     const float *calib, u32 n_calib, float *ys, s32 *yz,
		     char *err, size_t errlen)
{
	struct mcai_mlp *m = mcai_fedhead_mlp(h);
	float lo[MCAI_FEDHEAD_MAX_FC], hi[MCAI_FEDHEAD_MAX_FC];
	u32 s, j, o;

	if (!m)
		return fail(err, errlen, "out of memory");
	mcai_mlp_set_params(m, params);
	for (j = 0; j < h->n_fc; j++)
		lo[j] = hi[j] = 0;
	for (s = 0; s < n_calib; s++) {
		mcai_mlp_forward(m, calib + (size_t)s * h->dims[0]);
		for (j = 0; j < h->n_fc; j++)
			for (o = 0; o < h->dims[j + 1]; o++) {
				float v = m->act[j + 1][o];

				if (s == 0 && o == 0)
					lo[j] = hi[j] = v;
				lo[j] = v < lo[j] ? v : lo[j];
				hi[j] = v > hi[j] ? v : hi[j];
			}
	}
	mcai_mlp_free(m);
	for (j = 0; j < h->n_fc; j++) {
		s8 zp;

		if (!isfinite(lo[j]) || !isfinite(hi[j]))
			return fail(err, errlen, "fc layer %u: calibrated range not finite", j);
		mcai_qparams(lo[j], hi[j], &ys[j], &zp);
		yz[j] = zp;
	}
	return 0;
}

/* Rewrite FC layer @j of @nb from its float weights @w and biases @b. */
static void requant_fc(const struct mcai_fedhead *h, u8 *nb, u32 j,
		       const float *w, const float *b, double xs, float ys,
		       s32 yz, float *ws)
{
	const struct mcai_gop *op = &h->g.op[h->fc_op[j]];
	u32 in = h->dims[j], out = h->dims[j + 1], i, o, n, plen;
	u32 wq = tqc(nb, op->in[1], &n), bqc, bn;
	u8 *q = nb + tdata(nb, op->in[1]);
	u8 *bq = nb + tdata(nb, op->in[2]);
	u8 *pw = nb + oparams(nb, h->fc_op[j], &plen);
	double all = 0;
	s32 mult, shift;

	/* ox_qrows(): symmetric rows, max |w| / 127, per tensor if it was */
	for (i = 0; i < in; i++)
		for (o = 0; o < out; o++)
			all = fmax(all, fabs(w[(size_t)i * out + o]));
	for (o = 0; o < out; o++) {
		double mx = 0;

		for (i = 0; i < in; i++)
			mx = fmax(mx, fabs(w[(size_t)i * out + o]));
		if (!n)
			mx = all;
		ws[o] = mx > 0 ? (float)(mx / 127) : 1.0f;
		for (i = 0; i < in; i++) {
			double v = nearbyint(w[(size_t)i * out + o] / ws[o]);

			q[(size_t)o * in + i] = (u8)(s8)(v > 127 ? 127 : v < -127 ? -127 : v);
		}
		if (n)
			mcai_put_le32(nb + wq + 4 * o, bitsf(ws[o]));
	}
	mcai_put_le32(nb + trec(nb, op->in[1]) + TREC(scale), bitsf(ws[0]));
	/* ox_qbias(): int32 at input scale x weight scale */
	bqc = tqc(nb, op->in[2], &bn);
	for (o = 0; o < out; o++) {
		double sc = xs * ws[o];

		mcai_put_le32(bq + 4 * o, (u32)mcai_round_s32(b[o] / sc));
		if (bn)
			mcai_put_le32(nb + bqc + 4 * o, bitsf((float)sc));
	}
	mcai_put_le32(nb + trec(nb, op->in[2]) + TREC(scale),
		      bitsf((float)(xs * ws[0])));
	/* the output's quantisation, clamp and multipliers */
	mcai_put_le32(nb + trec(nb, op->out) + TREC(scale), bitsf(ys));
	mcai_put_le32(nb + trec(nb, op->out) + TREC(zero_point), (u32)yz);
	mcai_put_le32(pw, (u32)(j + 1 < h->n_fc ? yz : -128));
	mcai_put_le32(pw + 4, 127);
	for (o = 0; o < out; o++) {
		mcai_quantize_multiplier(xs * ws[o] / ys, &mult, &shift);
		mcai_put_le32(pw + 8 + 4 * o, (u32)mult);
		mcai_put_le32(pw + 8 + 4 * (out + o), (u32)shift);
	}
}

static void seal(u8 *b, u32 size)
{
	mcai_sha256(b, size - MCAI_DIGEST_LEN, b + size - MCAI_DIGEST_LEN);
}

u8 *mcai_fedhead_requantise(const struct mcai_fedhead *h, const float *params,
			 const float *calib, u32 n_calib, u32 version,
			 u32 *size, char *err, size_t errlen)
{
	float ys[MCAI_FEDHEAD_MAX_FC], *ws = NULL;
	s32 yz[MCAI_FEDHEAD_MAX_FC];
	struct mcai_limits lim;
	struct mcai_verdict v = { 0 };
	struct mcai_graph g;
	void *state = NULL, *arena = NULL;
	const float *p = params;
	u8 *nb = NULL;
	u32 j, r, need, where, failed;
	size_t i;

	for (i = 0; i < h->n_params; i++)
		if (!isfinite(params[i])) {
			fail(err, errlen, "parameter %zu is not finite", i);
			return NULL;
		}
	if (version < 1) {
		fail(err, errlen, "model version 0");
		return NULL;
	}
	if (calib) {
		if (!n_calib) {
			fail(err, errlen, "no calibration samples");
			return NULL;
		}
		if (calibrate(h, params, calib, n_calib, ys, yz, err, errlen))
			return NULL;
	} else {
		for (j = 0; j < h->n_fc; j++) {
			const struct mcai_gtensor *y = &h->g.t[h->g.op[h->fc_op[j]].out];

			ys[j] = fbits(y->scale);
			yz[j] = y->zp;
		}
	}
	nb = malloc(h->size);
	ws = malloc(sizeof(float) * MCAI_MLP_MAX_DIM);
	if (!nb || !ws) {
		fail(err, errlen, "out of memory");
		goto out_fail;
	}
	memcpy(nb, h->blob, h->size);
	for (j = 0; j < h->n_fc; j++) {
		u32 in = h->dims[j], out = h->dims[j + 1];
		double xs = j ? ys[j - 1] : h->in_scale;

		requant_fc(h, nb, j, p, p + (size_t)in * out, xs, ys[j], yz[j], ws);
		p += (size_t)in * out + out;
	}
	if (h->softmax_op >= 0) {
		struct mcai_softmax_params sp = { 0 };
		u32 plen;
		u8 *pw = nb + oparams(nb, (u32)h->softmax_op, &plen);

		/* onnx_lower.c: beta 1 on the logits' scale */
		mcai_softmax_prepare(&sp, 1.0, ys[h->n_fc - 1]);
		mcai_put_le32(pw, (u32)sp.input_mult);
		mcai_put_le32(pw + 4, (u32)sp.input_left_shift);
		mcai_put_le32(pw + 8, (u32)sp.diff_min);
	}
	mcai_put_le32(nb + HDR(model_version), version);

	/* Verify, recompute the test vectors' outputs, seal, verify again. */
	seal(nb, h->size);
	mcai_limits_widest(&lim);
	need = mcai_graph_state_size(nb, h->size, &lim, &v);
	state = need ? aligned_alloc(8, (need + 7) & ~7U) : NULL;
	arena = aligned_alloc(8, (h->g.arena_size + 15) & ~7U);
	if (!state || !arena ||
	    mcai_graph_verify(&g, nb, h->size, &lim, state, (need + 7) & ~7U, &v)) {
		fail(err, errlen, "verifier refused the requantised blob: %s at offset %u",
		     v.reason ? v.reason : "out of memory", v.offset);
		goto out_fail;
	}
	for (r = 0; r < g.tv_count; r++) {
		u8 *rec = (u8 *)g.tv +
			  (size_t)r * ((size_t)g.tv_in_bytes + g.tv_out_bytes);

		mcai_graph_run_bytes(&g, arena, rec, rec + g.tv_in_bytes);
	}
	seal(nb, h->size);
	if (mcai_graph_verify(&g, nb, h->size, &lim, state, (need + 7) & ~7U, &v)) {
		fail(err, errlen, "verifier refused the requantised blob: %s at offset %u",
		     v.reason, v.offset);
		goto out_fail;
	}
	if (mcai_graph_check_vectors(&g, arena, &failed)) {
		fail(err, errlen, "test vector %u does not reproduce", failed);
		goto out_fail;
	}
	/* The frozen body must come out exactly as it went in. */
	if (!mcai_fedhead_body_same(h, nb, h->size, &where)) {
		fail(err, errlen, "the body changed at byte %u", where);
		goto out_fail;
	}
	free(state);
	free(arena);
	free(ws);
	*size = h->size;
	return nb;
out_fail:
	free(state);
	free(arena);
	free(ws);
	free(nb);
	return NULL;
}

static bool same(const u8 *a, const u8 *b, u32 off, u32 len, u32 *where)
{
	u32 k;

	for (k = 0; k < len; k++)
		if (a[off + k] != b[off + k]) {
			*where = off + k;
			return false;
		}
	return true;
}

bool mcai_fedhead_body_same(const struct mcai_fedhead *h, const u8 *blob,
			 u32 size, u32 *where)
{
	const u8 *o = h->blob;
	const u32 ts = sizeof(struct mcai_blob2_tensor);
	u32 i, n, len, at, rec;

	*where = 0;
	if (size != h->size)
		return false;
	if (!same(o, blob, 0, HDR(model_version), where) ||
	    !same(o, blob, HDR(model_version) + 4,
		  sizeof(struct mcai_blob2_header) - HDR(model_version) - 4, where))
		return false;
	if (!same(o, blob, hdr(o, HDR(io_off)),
		  (h->g.n_inputs + h->g.n_outputs) *
		  (u32)sizeof(struct mcai_blob2_io), where) ||
	    !same(o, blob, hdr(o, HDR(op_off)),
		  h->g.n_ops * (u32)sizeof(struct mcai_blob2_op), where))
		return false;
	for (i = 0; i < h->first_op; i++) {
		at = oparams(o, i, &len);
		if (!same(o, blob, at, len, where))
			return false;
	}
	for (i = 0; i < h->g.n_tensors; i++) {
		if (is_head_tensor(h, i))
			continue;
		if (!same(o, blob, trec(o, i), ts, where))
			return false;
		at = tqc(o, i, &n);
		if (n && !same(o, blob, at, 4 * n, where))
			return false;
		if (h->g.t[i].kind == MCAI_TK_CONST &&
		    !same(o, blob, tdata(o, i), h->g.t[i].bytes, where))
			return false;
	}
	rec = h->g.tv_in_bytes + h->g.tv_out_bytes;
	for (i = 0; i < h->g.tv_count; i++)
		if (!same(o, blob, hdr(o, HDR(tv_off)) + i * rec,
			  h->g.tv_in_bytes, where))
			return false;
	return true;
}
