// SPDX-License-Identifier: GPL-2.0
/*
 * The float graph with its quantisation (onnx_ir.h) as an engine v2
 * graph, written by models/train/graph_writer.c: TFLite's int8 rules
 * (models/train/quant.h, opquant.h), ONNX's NCHW as the engine's NHWC.
 *
 * Layout: a rank-4 activation [N,C,H,W] lives as (N,H,W,C); weights are
 * re-laid (OIHW -> OHWI, depthwise -> 1HWO); a Flatten of a C,H,W tensor
 * keeps the engine's H,W,C bytes and the FC after it has its weight
 * columns permuted to match.  Graph inputs and outputs keep the ONNX
 * rank; iofacts.h records which are channels-first in ONNX so that
 * `mcaictl run` transposes them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/import/iofacts.h"
#include "models/import/onnx_ir.h"
#include "models/train/graph_writer.h"
#include "models/train/opquant.h"
#include "models/train/quant.h"

struct ox_lower {
	struct mcai_ox_graph *g;
	const struct mcai_import_opts *o;
	struct mcai_gw_graph gw;
	struct mcai_gw_tensor t[MCAI_BLOB2_MAX_TENSORS];
	struct mcai_gw_op op[MCAI_BLOB2_MAX_OPS];
	void *alloc[4 * MCAI_BLOB2_MAX_OPS + 64];
	u32 n_alloc;
	char names[2][MCAI_BLOB2_MAX_IO][MCAI_BLOB2_IO_NAME_LEN];
	u32 fixed, calibrated;
};

static void *ox_zalloc(struct ox_lower *l, size_t n, size_t size)
{
	void *p;

	if (l->n_alloc >= sizeof(l->alloc) / sizeof(l->alloc[0]))
		return NULL;
	p = calloc(n ? n : 1, size);
	if (p)
		l->alloc[l->n_alloc++] = p;
	return p;
}

static bool ox_is(const struct mcai_ox_node *n, const char *op)
{
	return !strcmp(n->op, op);
}

static bool ox_finite(const float *f, u64 n)
{
	u64 k;

	for (k = 0; k < n; k++)
		if (!isfinite(f[k]))
			return false;
	return true;
}

/* The quantisation of activation @ti: the source's, else calibration. */
static int ox_quant(struct ox_lower *l, const struct mcai_ox_node *n, s32 ti)
{
	struct mcai_ox_tensor *t = &l->g->t[ti];
	float s;
	s8 zp;

	if (t->has_q) {
		if (t->zp < -128 || t->zp > 127)
			return mcai_ox_refuse(l->g, MCAI_IMPORT_EUNSUPPORTED,
					      "tensor \"%s\": zero point %d outside int8",
					      t->name, t->zp);
		l->fixed++;
		return 0;
	}
	if (!t->calibrated)
		return n ? mcai_ox_node_refuse(l->g, n,
					       "tensor \"%s\" has no quantisation: the model is float here — pass --calibrate",
					       t->name) :
		       mcai_ox_refuse(l->g, MCAI_IMPORT_EUNSUPPORTED,
				      "input \"%s\" has no quantisation: the model is float — pass --calibrate",
				      t->name);
	mcai_qparams(t->lo, t->hi, &s, &zp);
	t->scale = s;
	t->zp = zp;
	t->has_q = true;
	l->calibrated++;
	return 0;
}

/* ONNX dims of rank <= 4 as the engine's 4 dims (channels last). */
static void ox_dims(const struct mcai_ox_tensor *t, u32 d[4])
{
	u32 k;

	if (t->nchw && t->rank == 4) {
		d[0] = t->dims[0];
		d[1] = t->dims[2];
		d[2] = t->dims[3];
		d[3] = t->dims[1];
		return;
	}
	for (k = 0; k < 4; k++)
		d[k] = k + t->rank >= 4 ? t->dims[k + t->rank - 4] : 1;
}

/* The blob tensor of activation @ti, created on first use. */
static int ox_act_tensor(struct ox_lower *l, const struct mcai_ox_node *n,
			 s32 ti)
{
	struct mcai_ox_tensor *t = &l->g->t[ti];
	struct mcai_gw_tensor *w;

	if (t->gw >= 0)
		return 0;
	if (l->gw.n_tensors >= MCAI_BLOB2_MAX_TENSORS)
		return mcai_ox_refuse(l->g, MCAI_IMPORT_EUNSUPPORTED,
				      "more than %d blob tensors", MCAI_BLOB2_MAX_TENSORS);
	if (ox_quant(l, n, ti))
		return -1;
	w = &l->t[l->gw.n_tensors];
	memset(w, 0, sizeof(*w));
	w->dtype = MCAI_DT_INT8;
	w->kind = MCAI_TK_ARENA;
	/* a 1-D signal's io is N,C,L in ONNX: rank 3, (1, N, L, C) */
	w->rank = (u8)(t->one_d && t->rank == 4 ? 3 : t->rank ? t->rank : 1);
	ox_dims(t, w->dims);
	w->scale = t->scale;
	w->zp = t->zp;
	if (t->feat_scale) {
		/* x * feat_scale quantised at t->scale: x at t->scale / feat */
		u32 f = w->dims[3], k;
		float *qc = ox_zalloc(l, f, sizeof(float));

		if (!qc)
			return mcai_ox_refuse(l->g, MCAI_IMPORT_EIO, "out of memory");
		for (k = 0; k < f; k++)
			qc[k] = t->scale / t->feat_scale[k];
		w->qc_scales = qc;
		w->qc_axis = 3;
		w->qc_count = f;
	}
	t->gw = (s32)l->gw.n_tensors++;
	return 0;
}

static s32 ox_const(struct ox_lower *l, u8 dtype, const u32 dims[4],
		    const float *qc, u32 qc_axis, float scale, const void *data)
{
	struct mcai_gw_tensor *w;

	if (l->gw.n_tensors >= MCAI_BLOB2_MAX_TENSORS)
		return mcai_ox_refuse(l->g, MCAI_IMPORT_EUNSUPPORTED,
				      "more than %d blob tensors", MCAI_BLOB2_MAX_TENSORS);
	w = &l->t[l->gw.n_tensors];
	memset(w, 0, sizeof(*w));
	w->dtype = dtype;
	w->kind = MCAI_TK_CONST;
	w->rank = 4;
	memcpy(w->dims, dims, sizeof(w->dims));
	w->scale = scale;
	w->data = data;
	if (qc) {
		w->qc_scales = qc;
		w->qc_axis = (u8)qc_axis;
		w->qc_count = dims[qc_axis];
	}
	return (s32)l->gw.n_tensors++;
}

static struct mcai_gw_op *ox_op(struct ox_lower *l, const struct mcai_ox_node *n)
{
	struct mcai_gw_op *op;

	if (l->gw.n_ops >= MCAI_BLOB2_MAX_OPS) {
		mcai_ox_refuse(l->g, MCAI_IMPORT_EUNSUPPORTED,
			       "more than %d blob ops (at node \"%s\")",
			       MCAI_BLOB2_MAX_OPS, n->name);
		return NULL;
	}
	op = &l->op[l->gw.n_ops++];
	memset(op, 0, sizeof(*op));
	return op;
}

/* The output clamp of a fused Relu / Clip, in the output's units. */
static void ox_clamp(const struct mcai_ox_node *n, const struct mcai_ox_tensor *y,
		     s8 *lo, s8 *hi)
{
	double a, b;

	*lo = -128;
	*hi = 127;
	if (n->act == MCAI_OX_ACT_NONE)
		return;
	a = n->act == MCAI_OX_ACT_RELU ? 0 : n->act_lo;
	b = n->act == MCAI_OX_ACT_RELU ? INFINITY : n->act_hi;
	a = isfinite(a) ? nearbyint(a / y->scale) + y->zp : -128;
	b = isfinite(b) ? nearbyint(b / y->scale) + y->zp : 127;
	*lo = (s8)(a < -128 ? -128 : a > 127 ? 127 : a);
	*hi = (s8)(b < -128 ? -128 : b > 127 ? 127 : b);
	if (*hi < *lo)
		*hi = *lo;
}

/*
 * Weights [out][per] (float @f, optional exact @q8 with @nqs scales on
 * axis 0) as symmetric int8 rows in @q, scales in @s.
 */
static void ox_qrows(struct ox_lower *l, const struct mcai_ox_tensor *w,
		     u32 out, u64 per, s8 *q, float *s)
{
	bool exact = w->q8 && (w->nqs == 1 || (w->nqs == out && !w->qaxis));
	double all = 0;
	u32 o;
	u64 m;

	if (exact) {
		memcpy(q, w->q8, (u64)out * per);
		for (o = 0; o < out; o++)
			s[o] = w->qs[w->nqs == 1 ? 0 : o];
		return;
	}
	for (o = 0; o < out; o++)
		for (m = 0; m < per; m++)
			all = fmax(all, fabs(w->f[o * per + m]));
	for (o = 0; o < out; o++) {
		double mx = 0;

		for (m = 0; m < per; m++)
			mx = fmax(mx, fabs(w->f[o * per + m]));
		if (l->o->per_tensor)
			mx = all;
		s[o] = mx > 0 ? (float)(mx / 127) : 1.0f;
		for (m = 0; m < per; m++) {
			double v = nearbyint(w->f[o * per + m] / s[o]);

			q[o * per + m] = (s8)(v > 127 ? 127 : v < -127 ? -127 : v);
		}
	}
}

/* The int32 bias: the source's integers when their scale is ours. */
static void ox_qbias(const struct mcai_ox_tensor *b, u32 out, double xs,
		     const float *ws, s32 *q, float *bs)
{
	u32 o;

	for (o = 0; o < out; o++) {
		double sc = xs * ws[o], f = b ? b->f[o] : 0;

		bs[o] = (float)sc;
		if (b && b->i32 && fabs(b->i32[o] * sc - f) <=
		    fmax(1e-6 * fabs(f), 0.5 * sc))
			q[o] = b->i32[o];
		else
			q[o] = mcai_round_s32(f / sc);
	}
}

static int ox_dot(struct ox_lower *l, const struct mcai_ox_node *n,
		  struct mcai_gw_op *op)
{
	struct mcai_ox_graph *g = l->g;
	const struct mcai_ox_tensor *x = &g->t[n->in[0]], *w = &g->t[n->in[1]];
	const struct mcai_ox_tensor *b = n->n_in > 2 && n->in[2] >= 0 ?
					 &g->t[n->in[2]] : NULL;
	const struct mcai_ox_tensor *y = &g->t[n->out[0]];
	bool fc = ox_is(n, "FC");
	u32 out = w->dims[0], c, wd[4], bd[4] = { 1, 1, 1, out }, axis;
	u64 per = mcai_ox_elems(w) / out, e = mcai_ox_elems(w);
	s8 *q = ox_zalloc(l, e, 1), *qt = ox_zalloc(l, e, 1);
	float *ws = ox_zalloc(l, out, sizeof(float));
	float *bs = ox_zalloc(l, out, sizeof(float));
	s32 *bq = ox_zalloc(l, out, sizeof(s32));
	s32 *mult = ox_zalloc(l, out, sizeof(s32));
	s32 *shift = ox_zalloc(l, out, sizeof(s32));
	s32 *words = ox_zalloc(l, 11 + 2 * (u64)out, sizeof(s32));
	s8 lo, hi;
	s32 wt, bt;

	if (!q || !qt || !ws || !bs || !bq || !mult || !shift || !words)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	if (!ox_finite(w->f, e) || (b && !ox_finite(b->f, mcai_ox_elems(b))))
		return mcai_ox_node_refuse(g, n, "weights or bias not finite");
	ox_qrows(l, w, out, per, q, ws);
	ox_qbias(b, out, x->scale, ws, bq, bs);
	for (c = 0; c < out; c++)
		mcai_quantize_multiplier((double)x->scale * ws[c] / y->scale,
					 &mult[c], &shift[c]);
	ox_clamp(n, y, &lo, &hi);
	if (fc) {
		struct mcai_fc_params p = {
			.out_len = out, .act_min = lo, .act_max = hi,
			.mult = mult, .shift = shift,
		};
		u32 in = (u32)per, o, k;

		/* columns in the engine's H,W,C order of the flattened input */
		if (x->flat_chw) {
			u32 C = x->chw[0], H = x->chw[1], W = x->chw[2];

			for (o = 0; o < out; o++)
				for (k = 0; k < in; k++) {
					u32 cc = k % C, hw = k / C;

					qt[(u64)o * in + k] =
						q[(u64)o * in + (u64)cc * H * W + hw];
				}
			memcpy(q, qt, e);
			(void)W;
		}
		wd[0] = wd[1] = 1;
		wd[2] = out;
		wd[3] = in;
		axis = 2;
		op->type = MCAI_OP_FC;
		op->params_len = 4 * mcai_gw_fc_words(&p, words);
	} else {
		struct mcai_ox_window win;
		u32 ic = x->dims[1], group;
		u32 kh = w->dims[2], kw = w->dims[3], cg = w->dims[1], i, j, k;
		bool dw;
		struct mcai_conv_params p;

		if (mcai_ox_window(g, n, x, kh, kw, &win))
			return -1;
		group = (u32)mcai_ox_attr_int_or(n, "group", 1);
		dw = group == ic && group > 1 && cg == 1;
		memset(&p, 0, sizeof(p));
		p.out_c = out;
		p.stride_h = win.sh;
		p.stride_w = win.sw;
		p.dil_h = win.dh;
		p.dil_w = win.dw;
		p.pad_top = win.pt;
		p.pad_left = win.pl;
		p.pad_bottom = win.pb;
		p.pad_right = win.pr;
		p.groups = dw ? 1 : group;
		p.act_min = lo;
		p.act_max = hi;
		p.mult = mult;
		p.shift = shift;
		/* OIHW -> OHWI, or -> 1HWO for depthwise */
		for (c = 0; c < out; c++)
			for (k = 0; k < cg; k++)
				for (i = 0; i < kh; i++)
					for (j = 0; j < kw; j++) {
						s8 v = q[(((u64)c * cg + k) * kh + i) * kw + j];

						if (dw)
							qt[((u64)i * kw + j) * out + c] = v;
						else
							qt[(((u64)c * kh + i) * kw + j) * cg + k] = v;
					}
		wd[0] = dw ? 1 : out;
		wd[1] = kh;
		wd[2] = kw;
		wd[3] = dw ? out : cg;
		axis = dw ? 3 : 0;
		op->type = dw ? MCAI_OP_DEPTHWISE : MCAI_OP_CONV2D;
		op->params_len = 4 * mcai_gw_conv_words(&p, words);
		q = qt;
	}
	wt = ox_const(l, MCAI_DT_INT8, wd, ws, axis, ws[0], q);
	bt = wt < 0 ? -1 : ox_const(l, MCAI_DT_INT32, bd, bs, 3, bs[0], bq);
	if (bt < 0)
		return -1;
	op->n_in = 3;
	op->in[1] = (u32)wt;
	op->in[2] = (u32)bt;
	op->params = words;
	return 0;
}

/* An int8 constant operand of Add / Mul, per-tensor, in the out layout. */
static s32 ox_const_operand(struct ox_lower *l, const struct mcai_ox_node *n,
			    s32 ti, bool nchw, float *scale, s32 *zp)
{
	struct mcai_ox_tensor *t = &l->g->t[ti];
	struct mcai_ox_tensor tmp = *t;
	u64 e = mcai_ox_elems(t), k;
	float lo = 0, hi = 0, s;
	u32 d[4];
	s8 z, *q;

	if (!ox_finite(t->f, e))
		return mcai_ox_node_refuse(l->g, n, "a constant operand is not finite");
	for (k = 0; k < e; k++) {
		lo = fminf(lo, t->f[k]);
		hi = fmaxf(hi, t->f[k]);
	}
	mcai_qparams(lo, hi, &s, &z);
	q = ox_zalloc(l, e, 1);
	if (!q)
		return mcai_ox_refuse(l->g, MCAI_IMPORT_EIO, "out of memory");
	tmp.nchw = nchw && t->rank == 4;
	if (nchw && t->rank < 4 && t->rank >= 1) {
		/* [C,1,1] or [C]-broadcasts against NCHW: pad to rank 4 */
		tmp.rank = 4;
		for (k = 0; k < 4; k++)
			tmp.dims[k] = k + t->rank >= 4 ? t->dims[k + t->rank - 4] : 1;
		tmp.nchw = true;
	}
	if (tmp.nchw && tmp.dims[2] * tmp.dims[3] != 1 && tmp.dims[1] != 1)
		return mcai_ox_node_refuse(l->g, n, "a constant operand with both channels and space not supported");
	ox_dims(&tmp, d);
	for (k = 0; k < e; k++)
		q[k] = mcai_quantize(t->f[k], s, z);
	*scale = s;
	*zp = z;
	{
		s32 c = ox_const(l, MCAI_DT_INT8, d, NULL, 0, s, q);

		if (c >= 0)
			l->t[c].zp = z;
		return c;
	}
}

static int ox_binary(struct ox_lower *l, const struct mcai_ox_node *n,
		     struct mcai_gw_op *op, s32 *words)
{
	struct mcai_ox_graph *g = l->g;
	const struct mcai_ox_tensor *y = &g->t[n->out[0]];
	float s[2];
	s32 z[2], k;
	s8 lo, hi;

	for (k = 0; k < 2; k++) {
		const struct mcai_ox_tensor *x = &g->t[n->in[k]];

		if (x->is_const) {
			s32 c = ox_const_operand(l, n, n->in[k], y->nchw,
						 &s[k], &z[k]);

			if (c < 0)
				return -1;
			op->in[k] = (u32)c;
		} else {
			if (x->rank != y->rank && y->nchw)
				return mcai_ox_node_refuse(g, n, "broadcasting an activation across ranks not supported");
			s[k] = x->scale;
			z[k] = x->zp;
			op->in[k] = (u32)x->gw;
		}
	}
	op->n_in = 2;
	ox_clamp(n, y, &lo, &hi);
	if (ox_is(n, "Add")) {
		struct mcai_add_params p;

		mcai_add_prepare(&p, s[0], z[0], s[1], z[1], y->scale, y->zp);
		p.act_min = lo;
		p.act_max = hi;
		op->type = MCAI_OP_ADD;
		op->params_len = 4 * mcai_gw_add_words(&p, words);
	} else {
		struct mcai_mul_params p;

		mcai_mul_prepare(&p, s[0], z[0], s[1], z[1], y->scale, y->zp);
		p.act_min = lo;
		p.act_max = hi;
		op->type = MCAI_OP_MUL;
		op->params_len = 4 * mcai_gw_mul_words(&p, words);
	}
	return 0;
}

static double ox_relu(double x)
{
	return x > 0 ? x : 0;
}

static double ox_hardsigmoid(double x)
{
	return fmax(0, fmin(1, 0.2 * x + 0.5));
}

/*
 * An AveragePool whose every window divides by kh * kw (no padding, or
 * count_include_pad 1, where the engine's convolution pads with the
 * input's zero point, a real 0) runs as a depthwise convolution of
 * weights 1 / (kh * kw): its int32 sum is requantised to the output's
 * own calibrated scale, whereas the engine's average pool keeps the
 * input's (TFLite's rule) and so rounds at the input's coarser step
 * where the average narrows the range.
 */
static bool ox_avg_as_dw(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]];
	struct mcai_ox_window win;
	struct mcai_import_error *err = g->err, quiet;
	u32 kh, kw;
	bool r;

	if (!ox_is(n, "AveragePool") || x->rank != 4 ||
	    mcai_ox_pool_kernel(n, &kh, &kw))
		return false;
	/* a window the pool path refuses is refused there, with its reason */
	memset(&quiet, 0, sizeof(quiet));
	g->err = &quiet;
	r = !mcai_ox_window(g, n, x, kh, kw, &win);
	g->err = err;
	if (!r || win.dh != 1 || win.dw != 1)
		return false;
	return !(win.pt || win.pl || win.pb || win.pr) ||
	       mcai_ox_attr_int_or(n, "count_include_pad", 0);
}

static int ox_avg_dw(struct ox_lower *l, const struct mcai_ox_node *n,
		     struct mcai_gw_op *op, s32 *words)
{
	struct mcai_ox_graph *g = l->g;
	const struct mcai_ox_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
	u32 c, ch = x->dims[1], wd[4], bd[4] = { 1, 1, 1, ch };
	struct mcai_ox_window win;
	struct mcai_conv_params p;
	float *ws, *bs;
	s32 *bq, *mult, *shift, *pw, wt, bt;
	u32 kh, kw;
	u64 taps;
	s8 *q;

	if (mcai_ox_pool_kernel(n, &kh, &kw) ||
	    mcai_ox_window(g, n, x, kh, kw, &win))
		return -1;
	taps = (u64)win.kh * win.kw;
	q = ox_zalloc(l, taps * ch, 1);
	ws = ox_zalloc(l, ch, sizeof(float));
	bs = ox_zalloc(l, ch, sizeof(float));
	bq = ox_zalloc(l, ch, sizeof(s32));
	mult = ox_zalloc(l, ch, sizeof(s32));
	shift = ox_zalloc(l, ch, sizeof(s32));
	pw = ox_zalloc(l, 11 + 2 * (u64)ch, sizeof(s32));
	if (!q || !ws || !bs || !bq || !mult || !shift || !pw)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	(void)words;
	/* weight 1 at scale 1 / (kh * kw): the mean is exact in int32 */
	memset(q, 1, taps * ch);
	for (c = 0; c < ch; c++) {
		ws[c] = (float)(1.0 / (double)taps);
		bs[c] = x->scale * ws[c];
		mcai_quantize_multiplier((double)x->scale / (double)taps / y->scale,
					 &mult[c], &shift[c]);
	}
	memset(&p, 0, sizeof(p));
	p.out_c = ch;
	p.stride_h = win.sh;
	p.stride_w = win.sw;
	p.dil_h = 1;
	p.dil_w = 1;
	p.pad_top = win.pt;
	p.pad_left = win.pl;
	p.pad_bottom = win.pb;
	p.pad_right = win.pr;
	p.groups = 1;
	p.mult = mult;
	p.shift = shift;
	ox_clamp(n, y, &p.act_min, &p.act_max);
	wd[0] = 1;
	wd[1] = win.kh;
	wd[2] = win.kw;
	wd[3] = ch;
	wt = ox_const(l, MCAI_DT_INT8, wd, ws, 3, ws[0], q);
	bt = wt < 0 ? -1 : ox_const(l, MCAI_DT_INT32, bd, bs, 3, bs[0], bq);
	if (bt < 0)
		return -1;
	op->type = MCAI_OP_DEPTHWISE;
	op->params = pw;
	op->params_len = 4 * mcai_gw_conv_words(&p, pw);
	op->n_in = 3;
	op->in[1] = (u32)wt;
	op->in[2] = (u32)bt;
	return 0;
}

/* Output quantisation an op imposes (pooling, reshape, pad, softmax). */
static void ox_impose(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	struct mcai_ox_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];

	if (ox_avg_as_dw(g, n))
		return;	/* its own calibrated quantisation */
	if (ox_is(n, "MaxPool") || ox_is(n, "AveragePool") ||
	    ox_is(n, "Flatten") || ox_is(n, "Reshape") || ox_is(n, "Pad")) {
		y->has_q = true;
		y->scale = x->scale;
		y->zp = x->zp;
	} else if (ox_is(n, "Softmax")) {
		y->has_q = true;
		y->scale = 1.0f / 256;
		y->zp = -128;
	}
}

static u32 ox_axis_nhwc(const struct mcai_ox_tensor *t, u32 a)
{
	static const u32 map[4] = { 0, 3, 1, 2 };

	return t->nchw && t->rank == 4 ? map[a] : 4 - t->rank + a;
}

static int ox_lower_node(struct ox_lower *l, struct mcai_ox_node *n)
{
	struct mcai_ox_graph *g = l->g;
	struct mcai_ox_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
	struct mcai_gw_op *op;
	s32 *words;
	u32 k;

	if (x->is_const)
		return mcai_ox_node_refuse(g, n, "a constant input not supported (nothing to compute at run time)");
	if (ox_act_tensor(l, n, n->in[0]))
		return -1;
	/* NCHW-ness flows from inputs to outputs of rank 4 */
	y->nchw = y->rank == 4 && (x->nchw || ox_is(n, "Conv"));
	if (ox_is(n, "Flatten") || ox_is(n, "Reshape")) {
		y->nchw = false;
		if (x->nchw && x->dims[1] > 1 && x->dims[2] * x->dims[3] > 1) {
			if (y->rank == 4)
				return mcai_ox_node_refuse(g, n, "reshaping NCHW to another 4-D shape not supported");
			y->flat_chw = true;
			y->chw[0] = x->dims[1];
			y->chw[1] = x->dims[2];
			y->chw[2] = x->dims[3];
		}
	}
	if (x->flat_chw && !ox_is(n, "FC"))
		return mcai_ox_node_refuse(g, n, "reads a flattened NCHW tensor; only Gemm/MatMul may");
	ox_impose(g, n);
	if (ox_act_tensor(l, n, n->out[0]))
		return -1;
	op = ox_op(l, n);
	words = ox_zalloc(l, 16, sizeof(s32));
	if (!op || !words)
		return op ? mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory") : -1;
	op->in[0] = (u32)x->gw;
	op->out = (u32)y->gw;
	op->n_in = 1;
	op->params = words;
	if (ox_is(n, "Conv") || ox_is(n, "FC"))
		return ox_dot(l, n, op);
	if (ox_is(n, "Add") || ox_is(n, "Mul")) {
		for (k = 1; k < 2; k++)
			if (!g->t[n->in[k]].is_const &&
			    ox_act_tensor(l, n, n->in[k]))
				return -1;
		return ox_binary(l, n, op, words);
	}
	if (ox_avg_as_dw(g, n))
		return ox_avg_dw(l, n, op, words);
	if (ox_is(n, "MaxPool") || ox_is(n, "AveragePool")) {
		struct mcai_ox_window win;
		struct mcai_pool_params p;
		u32 kh, kw;

		if (mcai_ox_pool_kernel(n, &kh, &kw))
			return mcai_ox_node_refuse(g, n, "kernel_shape is not %s",
						   n->one_d ? "1-D" : "2-D");
		if (mcai_ox_window(g, n, x, kh, kw, &win))
			return -1;
		memset(&p, 0, sizeof(p));
		p.k_h = win.kh;
		p.k_w = win.kw;
		p.stride_h = win.sh;
		p.stride_w = win.sw;
		p.pad_top = win.pt;
		p.pad_left = win.pl;
		p.pad_bottom = win.pb;
		p.pad_right = win.pr;
		ox_clamp(n, y, &p.act_min, &p.act_max);
		op->type = ox_is(n, "MaxPool") ? MCAI_OP_MAX_POOL2D :
			   MCAI_OP_AVG_POOL2D;
		op->params_len = 4 * mcai_gw_pool_words(&p, false, words);
		return 0;
	}
	if (ox_is(n, "GlobalAveragePool") || ox_is(n, "ReduceMean")) {
		struct mcai_mean_params p;
		u32 mask = 0, cnt = 1;

		if (ox_is(n, "GlobalAveragePool")) {
			mask = (1U << 1) | (1U << 2);
			cnt = x->dims[2] * x->dims[3];
		} else {
			for (k = 0; k < x->rank; k++)
				if (n->axes & (1U << k)) {
					mask |= 1U << ox_axis_nhwc(x, k);
					cnt *= x->dims[k];
				}
			if (y->rank == 4 && x->nchw && !(n->axes & 2))
				y->nchw = true;
			else if (y->rank == 4 && x->nchw)
				return mcai_ox_node_refuse(g, n, "keeping dims over the channel axis not supported");
		}
		memset(&p, 0, sizeof(p));
		mcai_mean_prepare(&p, x->scale, x->zp, y->scale, y->zp, cnt);
		p.axes = mask;
		op->type = MCAI_OP_MEAN;
		op->params_len = 4 * mcai_gw_mean_words(&p, words);
		return 0;
	}
	if (ox_is(n, "Flatten") || ox_is(n, "Reshape")) {
		op->type = MCAI_OP_RESHAPE;
		op->params = NULL;
		op->params_len = 0;
		return 0;
	}
	if (ox_is(n, "Softmax")) {
		struct mcai_softmax_params p;

		mcai_softmax_prepare(&p, 1.0, x->scale);
		op->type = MCAI_OP_SOFTMAX;
		op->params_len = 4 * mcai_gw_softmax_words(&p, words);
		return 0;
	}
	if (ox_is(n, "Concat")) {
		struct mcai_concat_input in[MCAI_BLOB2_OP_MAX_IN];
		struct mcai_concat_params p;
		s64 axis = mcai_ox_attr_int_or(n, "axis", 1);

		if (axis < 0)
			axis += x->rank;
		memset(&p, 0, sizeof(p));
		memset(in, 0, sizeof(in));
		for (k = 0; k < n->n_in; k++) {
			const struct mcai_ox_tensor *xi = &g->t[n->in[k]];

			if (xi->is_const)
				return mcai_ox_node_refuse(g, n, "a constant input not supported");
			if (ox_act_tensor(l, n, n->in[k]))
				return -1;
			xi = &g->t[n->in[k]];
			if (xi->nchw != x->nchw)
				return mcai_ox_node_refuse(g, n, "inputs of different layouts");
			mcai_concat_prepare(&in[k], xi->scale, xi->zp, y->scale);
			op->in[k] = (u32)xi->gw;
		}
		y->nchw = x->nchw;
		op->n_in = (u8)n->n_in;
		p.in = in;
		p.n_in = n->n_in;
		p.axis = ox_axis_nhwc(x, (u32)axis);
		op->type = MCAI_OP_CONCAT;
		op->params_len = 4 * mcai_gw_concat_words(&p, words);
		return 0;
	}
	if (ox_is(n, "Pad")) {
		struct mcai_pad_params p;
		const struct mcai_ox_tensor *yy = &g->t[n->out[0]];
		u32 d;

		memset(&p, 0, sizeof(p));
		for (d = 0; d < x->rank; d++) {
			u32 e = ox_axis_nhwc(x, d);

			p.before[e] = yy->dims[d] - x->dims[d];
			/* the split is the eval's: recover it from its pads */
			p.after[e] = 0;
		}
		{
			const s64 *pv;
			long np = mcai_ox_attr_ints(n, "pads", &pv);
			/* a 1-D signal's pads are N,C,L's (H = 1 unpadded) */
			u32 r = x->one_d ? 3 : x->rank;

			for (d = 0; d < r; d++) {
				u32 id = x->one_d && d == 2 ? 3 : d;
				u32 e = ox_axis_nhwc(x, id), b;

				b = np == 2L * r ? (u32)pv[d] :
				    (u32)g->t[n->in[1]].f[d];
				p.before[e] = b;
				p.after[e] = yy->dims[id] - x->dims[id] - b;
			}
		}
		op->type = MCAI_OP_PAD;
		op->params_len = 4 * mcai_gw_pad_words(&p, words);
		return 0;
	}
	if (ox_is(n, "Sigmoid") || ox_is(n, "Tanh") || ox_is(n, "Relu") ||
	    ox_is(n, "HardSwish") || ox_is(n, "HardSigmoid")) {
		s8 *lut = ox_zalloc(l, 256, 1);
		double (*fn)(double) = ox_is(n, "Sigmoid") ? mcai_fn_sigmoid :
				       ox_is(n, "Tanh") ? mcai_fn_tanh :
				       ox_is(n, "Relu") ? ox_relu :
				       ox_is(n, "HardSwish") ? mcai_fn_hardswish :
				       ox_hardsigmoid;

		if (!lut)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		if (ox_is(n, "HardSigmoid") &&
		    (mcai_ox_attr_float_or(n, "alpha", 0.2f) != 0.2f ||
		     mcai_ox_attr_float_or(n, "beta", 0.5f) != 0.5f))
			return mcai_ox_node_refuse(g, n, "alpha and beta other than 0.2, 0.5 not supported");
		mcai_lut_build(fn, x->scale, x->zp, y->scale, y->zp, lut);
		op->type = MCAI_OP_LUT;
		op->params = lut;
		op->params_len = 256;
		return 0;
	}
	return mcai_ox_node_refuse(g, n, "op not supported by the engine");
}

/* The first calibration sample, quantised, as the blob's test vector. */
static void *ox_tv(struct ox_lower *l, const float *tv)
{
	struct mcai_ox_graph *g = l->g;
	u64 total = 0, at = 0, k;
	u32 i;
	s8 *b;

	for (i = 0; i < g->n_in; i++)
		total += mcai_ox_elems(&g->t[g->in[i]]);
	b = ox_zalloc(l, total, 1);
	if (!b)
		return NULL;
	for (i = 0; i < g->n_in; i++) {
		const struct mcai_ox_tensor *t = &g->t[g->in[i]];
		u64 e = mcai_ox_elems(t);
		u32 d[4];

		ox_dims(t, d);
		for (k = 0; k < e; k++) {
			u64 o = k;

			if (t->nchw && t->rank == 4) {
				/* NCHW index k -> NHWC */
				u64 C = t->dims[1], H = t->dims[2], W = t->dims[3];
				u64 c = k / (H * W) % C, hw = k % (H * W);

				o = (k / (C * H * W)) * C * H * W + hw * C + c;
			}
			b[at + o] = mcai_quantize(tv[at + k], t->scale, (s8)t->zp);
		}
		at += e;
	}
	return b;
}

int mcai_ox_lower(struct mcai_ox_graph *g, const struct mcai_import_opts *o,
		  const float *tv_input, struct mcai_import_result *r)
{
	struct ox_lower *l = calloc(1, sizeof(*l));
	char err[256];
	u32 i;
	int ret = -1;

	if (!l)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	l->g = g;
	l->o = o;
	l->gw.t = l->t;
	l->gw.op = l->op;
	for (i = 0; i < g->n_in; i++) {
		struct mcai_ox_tensor *t = &g->t[g->in[i]];
		struct mcai_iofacts f = { 0 };

		/* an image input: a rank-4 tensor some Conv or pool reads */
		t->nchw = t->rank == 4;
		if (ox_act_tensor(l, NULL, g->in[i]))
			goto out;
		f.is_float = t->onnx_type == MCAI_OX_FLOAT;
		f.is_uint8 = t->onnx_type == MCAI_OX_UINT8;
		f.nchw = t->nchw;
		mcai_iofacts_name(t->name, &f, l->names[0][i]);
		l->gw.input[i] = (u32)t->gw;
		l->gw.input_name[i] = l->names[0][i];
	}
	l->gw.n_inputs = g->n_in;
	for (i = 0; i < g->n_n; i++)
		if (!g->n[i].dead && ox_lower_node(l, &g->n[i]))
			goto out;
	for (i = 0; i < g->n_out; i++) {
		struct mcai_ox_tensor *t = &g->t[g->out[i]];
		struct mcai_iofacts f = { 0 };
		u32 k;

		if (t->gw < 0)
			goto out;
		if (t->flat_chw) {
			mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				       "output \"%s\": a flattened NCHW tensor as output not supported",
				       t->name);
			goto out;
		}
		for (k = 0; k < l->gw.n_inputs; k++)
			if (l->gw.input[k] == (u32)t->gw) {
				mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
					       "output \"%s\" is an input", t->name);
				goto out;
			}
		f.is_float = t->onnx_type == MCAI_OX_FLOAT;
		f.is_uint8 = t->onnx_type == MCAI_OX_UINT8;
		f.nchw = t->nchw;
		f.classifier = t->classifier;
		mcai_iofacts_name(t->name, &f, l->names[1][i]);
		l->gw.output[i] = (u32)t->gw;
		l->gw.output_name[i] = l->names[1][i];
	}
	l->gw.n_outputs = g->n_out;
	l->gw.name = o->name;
	l->gw.version = o->version;
	l->gw.head = MCAI_HEAD_ARGMAX;
	if (tv_input) {
		l->gw.tv_inputs = ox_tv(l, tv_input);
		l->gw.tv_count = l->gw.tv_inputs ? 1 : 0;
	}
	r->blob = mcai_graph_write(&l->gw, &r->size, err, sizeof(err));
	if (!r->blob) {
		mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
			       "the engine refuses the graph: %s", err);
		goto out;
	}
	r->n_ops = l->gw.n_ops;
	r->n_quant_fixed = l->fixed;
	r->n_quant_calibrated = l->calibrated;
	ret = 0;
out:
	for (i = 0; i < l->n_alloc; i++)
		free(l->alloc[i]);
	free(l);
	return ret;
}
