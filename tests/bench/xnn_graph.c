// SPDX-License-Identifier: GPL-2.0
/*
 * An mcai graph rebuilt with XNNPACK's subgraph API (Debian's 2022-02
 * snapshot), for engine-bench.
 *
 * What that XNNPACK expresses in int8, found by defining each node and
 * creating a runtime: convolution and depthwise convolution with qs8 or
 * qc8 (per-channel) filters; fully connected with a qs8 (per-tensor)
 * filter only; max pooling and global average pooling; add, multiply,
 * constant pad and reshape.  Not in int8: average pooling with a window,
 * softmax, hard-swish, tanh, concatenation, and sigmoid fails at runtime
 * creation.  So, keeping mcai's quantisation:
 *
 *   conv2d, depthwise   qc8 convolution / depthwise convolution, the
 *                       per-channel filter scales those that give mcai's
 *                       multipliers: in_scale * w_scale[c] / out_scale =
 *                       mult[c] * 2^(shift[c] - 31)
 *   fully connected     qc8 1x1 convolution on a [batch, 1, 1, in] view:
 *                       the same GEMM, but per-channel (qs8 FC would force
 *                       one scale on every row, and other outputs)
 *   avg pool, window    without padding: depthwise convolution of ones,
 *                       scale 1 / window; over the whole input: global
 *                       average pooling; with padding mcai's kernel (its
 *                       divisor is the count of valid taps, a convolution's
 *                       is not)
 *   mean over H, W      global average pooling
 *   everything else     mcai's kernel between two XNNPACK runtimes
 *
 * Fused ReLU/ReLU6 clamps become the node's output range.  XNNPACK
 * requantises in fp32 and rounds to nearest even; mcai uses gemmlowp's
 * Q31 arithmetic: outputs may differ by an LSB, which the bench reports.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/xnn_graph.h"

#define NONE	XNN_INVALID_VALUE_ID

const char *mcai_xnn_op_name(u16 type)
{
	static const char *const names[] = {
		[MCAI_OP_CONV2D] = "conv2d", [MCAI_OP_DEPTHWISE] = "depthwise",
		[MCAI_OP_FC] = "fc", [MCAI_OP_MAX_POOL2D] = "max_pool",
		[MCAI_OP_AVG_POOL2D] = "avg_pool",
		[MCAI_OP_GLOBAL_AVG_POOL] = "global_avg_pool",
		[MCAI_OP_ADD] = "add", [MCAI_OP_SOFTMAX] = "softmax",
		[MCAI_OP_LUT] = "lut", [MCAI_OP_RESHAPE] = "reshape",
		[MCAI_OP_TREE] = "tree", [MCAI_OP_RECON] = "recon",
		[MCAI_OP_MUL] = "mul", [MCAI_OP_MEAN] = "mean",
		[MCAI_OP_PAD] = "pad", [MCAI_OP_CONCAT] = "concat",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "?";
}

static float tscale(const struct mcai_gtensor *t)
{
	float f;

	memcpy(&f, &t->scale, sizeof(f));
	return f;
}

static bool is_int8(const struct mcai_graph *g, u32 t)
{
	return g->t[t].dtype == MCAI_DT_INT8;
}

static bool avg_is_global(const struct mcai_pool_params *p)
{
	return p->k_h == p->in_h && p->k_w == p->in_w && p->out_h == 1 &&
	       p->out_w == 1;
}

static bool avg_unpadded(const struct mcai_pool_params *p)
{
	return !p->pad_top && !p->pad_left && !p->pad_bottom && !p->pad_right;
}

/* Whether XNNPACK (this version) can run @op in int8. */
static bool xnn_can(const struct mcai_xnn_net *n, u32 i)
{
	const struct mcai_graph *g = n->g;
	const struct mcai_gop *op = &g->op[i];
	u32 k;

	if (n->refused[i])
		return false;
	for (k = 0; k < op->n_in; k++)
		if (g->t[op->in[k]].kind == MCAI_TK_ARENA && !is_int8(g, op->in[k]))
			return false;
	if (!is_int8(g, op->out))
		return false;
	switch (op->type) {
	case MCAI_OP_CONV2D:
	case MCAI_OP_DEPTHWISE:
	case MCAI_OP_FC:
	case MCAI_OP_GLOBAL_AVG_POOL:
	case MCAI_OP_ADD:
	case MCAI_OP_MUL:
	case MCAI_OP_PAD:
	case MCAI_OP_RESHAPE:
		return true;
	case MCAI_OP_MAX_POOL2D:
		/* XNNPACK refuses a 1x1 window */
		return op->p.pool.k_h * op->p.pool.k_w > 1;
	case MCAI_OP_AVG_POOL2D:
		return avg_unpadded(&op->p.pool);
	case MCAI_OP_MEAN:
		return op->p.mean.axes == ((1U << MCAI_H) | (1U << MCAI_W));
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* One subgraph: the ops [a, b] of the graph. */

struct sg_ctx {
	struct mcai_xnn_net *n;
	const struct mcai_graph *g;
	xnn_subgraph_t sg;
	u32 a, b;
	s32 *prod;		/* [n_tensors]: the op writing it, or -1 */
	u32 *vid;		/* [n_tensors]: its value here, or NONE */
	u32 pend_t, pend_v;	/* an output written through a reshaped view */
	enum xnn_status st;
};

static void *keep(struct mcai_xnn_net *n, void *p)
{
	if (!p || n->n_keep >= sizeof(n->keep) / sizeof(n->keep[0])) {
		free(p);
		return NULL;
	}
	n->keep[n->n_keep++] = p;
	return p;
}

static bool in_seg(const struct sg_ctx *c, s32 op)
{
	return op >= (s32)c->a && op <= (s32)c->b;
}

static bool is_output(const struct mcai_graph *g, u32 t)
{
	u32 k;

	for (k = 0; k < g->n_outputs; k++)
		if (g->output[k] == t)
			return true;
	return false;
}

/* Written outside and read here, or written here and read outside. */
static bool crosses(const struct sg_ctx *c, u32 t)
{
	const struct mcai_graph *g = c->g;
	u32 i, k;

	if (!in_seg(c, c->prod[t]))
		return true;
	if (is_output(g, t))
		return true;
	for (i = 0; i < g->n_ops; i++) {
		if (in_seg(c, (s32)i))
			continue;
		for (k = 0; k < g->op[i].n_in; k++)
			if (g->op[i].in[k] == t)
				return true;
	}
	return false;
}

static void fail(struct sg_ctx *c, enum xnn_status st)
{
	if (st != xnn_status_success && c->st == xnn_status_success)
		c->st = st;
}

static u32 new_q8(struct sg_ctx *c, u32 t, const size_t *dims, u32 ext_id,
		  u32 flags, const void *data)
{
	const struct mcai_gtensor *x = &c->g->t[t];
	u32 id = NONE;

	fail(c, xnn_define_quantized_tensor_value(c->sg, xnn_datatype_qint8,
			x->zp, tscale(x), 4, dims, data, ext_id, flags, &id));
	return id;
}

/* The value of tensor @t in its own NHWC shape. */
static u32 val(struct sg_ctx *c, u32 t)
{
	const struct mcai_gtensor *x = &c->g->t[t];
	size_t dims[4] = { x->dims[0], x->dims[1], x->dims[2], x->dims[3] };
	u32 flags = 0, ext = NONE;

	if (c->vid[t] != NONE)
		return c->vid[t];
	if (x->kind == MCAI_TK_CONST) {
		c->vid[t] = new_q8(c, t, dims, NONE, 0, x->data);
		return c->vid[t];
	}
	if (crosses(c, t)) {
		ext = t;
		flags = in_seg(c, c->prod[t]) ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT :
						XNN_VALUE_FLAG_EXTERNAL_INPUT;
		c->n->external[t] = 1;
	}
	c->vid[t] = new_q8(c, t, dims, ext, flags, NULL);
	return c->vid[t];
}

static bool same_dims(const struct mcai_gtensor *x, const u32 d[4])
{
	return x->dims[0] == d[0] && x->dims[1] == d[1] && x->dims[2] == d[2] &&
	       x->dims[3] == d[3];
}

/* Tensor @t read as shape @d (the same bytes): a reshape node if need be. */
static u32 view_in(struct sg_ctx *c, u32 t, const u32 d[4])
{
	size_t dims[4] = { d[0], d[1], d[2], d[3] };
	u32 v = val(c, t), r;

	if (same_dims(&c->g->t[t], d))
		return v;
	r = new_q8(c, t, dims, NONE, 0, NULL);
	fail(c, xnn_define_static_reshape(c->sg, 4, dims, v, r, 0));
	return r;
}

/* Tensor @t written as shape @d; out_done() adds the reshape after. */
static u32 view_out(struct sg_ctx *c, u32 t, const u32 d[4])
{
	size_t dims[4] = { d[0], d[1], d[2], d[3] };

	c->pend_t = NONE;
	if (same_dims(&c->g->t[t], d))
		return val(c, t);
	c->pend_t = t;
	c->pend_v = new_q8(c, t, dims, NONE, 0, NULL);
	return c->pend_v;
}

static void out_done(struct sg_ctx *c)
{
	const struct mcai_gtensor *x;
	size_t dims[4];

	if (c->pend_t == NONE)
		return;
	x = &c->g->t[c->pend_t];
	dims[0] = x->dims[0];
	dims[1] = x->dims[1];
	dims[2] = x->dims[2];
	dims[3] = x->dims[3];
	fail(c, xnn_define_static_reshape(c->sg, 4, dims, c->pend_v,
					  val(c, c->pend_t), 0));
	c->pend_t = NONE;
}

/* The int8 clamp [lo, hi] of tensor @t as the real range XNNPACK takes. */
static void range(const struct mcai_gtensor *x, s8 lo, s8 hi, float *flo,
		  float *fhi)
{
	*flo = lo <= -128 ? -INFINITY : (float)((double)(lo - x->zp) * tscale(x));
	*fhi = hi >= 127 ? INFINITY : (float)((double)(hi - x->zp) * tscale(x));
}

/*
 * Per-channel filter and bias values that reproduce mcai's multipliers.
 * @w, @bias: the filter (dims, channel_dim) and the bias (NULL: zeros).
 */
static void filter_vals(struct sg_ctx *c, u32 in_t, u32 out_t, u32 oc,
			const s32 *mult, const s32 *shift, const size_t *wdims,
			size_t wch, const s8 *w, const s32 *bias, u32 *wid,
			u32 *bid)
{
	float si = tscale(&c->g->t[in_t]), so = tscale(&c->g->t[out_t]);
	float *ws = keep(c->n, malloc(4 * (size_t)oc));
	float *bs = keep(c->n, malloc(4 * (size_t)oc));
	size_t bdims[1] = { oc };
	u32 k;

	*wid = NONE;
	*bid = NONE;
	if (!ws || !bs) {
		fail(c, xnn_status_out_of_memory);
		return;
	}
	if (!bias) {
		bias = keep(c->n, calloc(oc, 4));
		if (!bias) {
			fail(c, xnn_status_out_of_memory);
			return;
		}
	}
	for (k = 0; k < oc; k++) {
		double eff = ldexp(mult ? mult[k] : 1 << 30,
				   mult ? shift[k] - 31 : -30);

		ws[k] = (float)(eff * so / si);
		bs[k] = si * ws[k];
	}
	fail(c, xnn_define_channelwise_quantized_tensor_value(c->sg,
			xnn_datatype_qcint8, ws, 4, wch, wdims, w, NONE, 0, wid));
	fail(c, xnn_define_channelwise_quantized_tensor_value(c->sg,
			xnn_datatype_qcint32, bs, 1, 0, bdims, bias, NONE, 0, bid));
}

static const s32 *bias_of(const struct mcai_graph *g, const struct mcai_gop *op)
{
	return op->n_in > 2 ? g->t[op->in[2]].data : NULL;
}

static void def_conv(struct sg_ctx *c, const struct mcai_gop *op)
{
	const struct mcai_conv_params *p = &op->p.conv;
	const struct mcai_gtensor *y = &c->g->t[op->out];
	u32 din[4] = { p->batch, p->in_h, p->in_w, p->in_c };
	u32 dout[4] = { p->batch, p->out_h, p->out_w, p->out_c };
	bool dw = op->type == MCAI_OP_DEPTHWISE;
	size_t wd[4];
	u32 x, o, w, b;
	float lo, hi;

	if (dw) {
		wd[0] = 1;
		wd[3] = p->out_c;
	} else {
		wd[0] = p->out_c;
		wd[3] = p->in_c / p->groups;
	}
	wd[1] = p->k_h;
	wd[2] = p->k_w;
	x = view_in(c, op->in[0], din);
	filter_vals(c, op->in[0], op->out, p->out_c, p->mult, p->shift, wd,
		    dw ? 3 : 0, c->g->t[op->in[1]].data, bias_of(c->g, op),
		    &w, &b);
	o = view_out(c, op->out, dout);
	range(y, p->act_min, p->act_max, &lo, &hi);
	if (dw)
		fail(c, xnn_define_depthwise_convolution_2d(c->sg, p->pad_top,
			p->pad_right, p->pad_bottom, p->pad_left, p->k_h, p->k_w,
			p->stride_h, p->stride_w, p->dil_h, p->dil_w,
			p->out_c / p->in_c, p->in_c, lo, hi, x, w, b, o, 0));
	else
		fail(c, xnn_define_convolution_2d(c->sg, p->pad_top,
			p->pad_right, p->pad_bottom, p->pad_left, p->k_h, p->k_w,
			p->stride_h, p->stride_w, p->dil_h, p->dil_w, p->groups,
			p->in_c / p->groups, p->out_c / p->groups, lo, hi, x, w,
			b, o, 0));
	out_done(c);
}

static void def_fc(struct sg_ctx *c, const struct mcai_gop *op)
{
	const struct mcai_fc_params *p = &op->p.fc;
	u32 din[4] = { p->batch, 1, 1, p->in_len };
	u32 dout[4] = { p->batch, 1, 1, p->out_len };
	size_t wd[4] = { p->out_len, 1, 1, p->in_len };
	u32 x, o, w, b;
	float lo, hi;

	x = view_in(c, op->in[0], din);
	filter_vals(c, op->in[0], op->out, p->out_len, p->mult, p->shift, wd, 0,
		    c->g->t[op->in[1]].data, bias_of(c->g, op), &w, &b);
	o = view_out(c, op->out, dout);
	range(&c->g->t[op->out], p->act_min, p->act_max, &lo, &hi);
	fail(c, xnn_define_convolution_2d(c->sg, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
					  1, p->in_len, p->out_len, lo, hi, x,
					  w, b, o, 0));
	out_done(c);
}

static void def_global(struct sg_ctx *c, const struct mcai_gop *op, u32 n,
		       u32 h, u32 w, u32 ch, s8 lo, s8 hi)
{
	u32 din[4] = { n, h, w, ch }, dout[4] = { n, 1, 1, ch };
	u32 x = view_in(c, op->in[0], din), o = view_out(c, op->out, dout);
	float flo, fhi;

	range(&c->g->t[op->out], lo, hi, &flo, &fhi);
	fail(c, xnn_define_global_average_pooling_2d(c->sg, flo, fhi, x, o, 0));
	out_done(c);
}

/* A window average without padding: a depthwise convolution of ones. */
static void def_avg_window(struct sg_ctx *c, const struct mcai_gop *op)
{
	const struct mcai_pool_params *p = &op->p.pool;
	u32 din[4] = { p->batch, p->in_h, p->in_w, p->c };
	u32 dout[4] = { p->batch, p->out_h, p->out_w, p->c };
	size_t wd[4] = { 1, p->k_h, p->k_w, p->c };
	size_t taps = (size_t)p->k_h * p->k_w;
	s8 *ones = keep(c->n, malloc(taps * p->c));
	s32 *mult = keep(c->n, malloc(4 * (size_t)p->c));
	s32 *shift = keep(c->n, malloc(4 * (size_t)p->c));
	u32 x, o, w, b, k;
	float lo, hi;
	int e;

	if (!ones || !mult || !shift) {
		fail(c, xnn_status_out_of_memory);
		return;
	}
	memset(ones, 1, taps * p->c);
	/* 1 / taps as mult * 2^(shift - 31), mult in [2^30, 2^31) */
	for (k = 0; k < p->c; k++) {
		double m = frexp(1.0 / (double)taps, &e);

		mult[k] = (s32)ldexp(m, 31);
		shift[k] = e;
		if (mult[k] < 0) {	/* m rounded up to 1.0 */
			mult[k] = 1 << 30;
			shift[k] = e + 1;
		}
	}
	x = view_in(c, op->in[0], din);
	filter_vals(c, op->in[0], op->out, p->c, mult, shift, wd, 3, ones, NULL,
		    &w, &b);
	o = view_out(c, op->out, dout);
	range(&c->g->t[op->out], p->act_min, p->act_max, &lo, &hi);
	fail(c, xnn_define_depthwise_convolution_2d(c->sg, 0, 0, 0, 0, p->k_h,
		p->k_w, p->stride_h, p->stride_w, 1, 1, 1, p->c, lo, hi, x, w,
		b, o, 0));
	out_done(c);
}

static void def_op(struct sg_ctx *c, const struct mcai_gop *op)
{
	const struct mcai_pool_params *pp = &op->p.pool;
	u32 x, y, o;
	float lo, hi, pv;

	switch (op->type) {
	case MCAI_OP_CONV2D:
	case MCAI_OP_DEPTHWISE:
		def_conv(c, op);
		break;
	case MCAI_OP_FC:
		def_fc(c, op);
		break;
	case MCAI_OP_MAX_POOL2D: {
		u32 din[4] = { pp->batch, pp->in_h, pp->in_w, pp->c };
		u32 dout[4] = { pp->batch, pp->out_h, pp->out_w, pp->c };

		x = view_in(c, op->in[0], din);
		o = view_out(c, op->out, dout);
		range(&c->g->t[op->out], pp->act_min, pp->act_max, &lo, &hi);
		fail(c, xnn_define_max_pooling_2d(c->sg, pp->pad_top,
			pp->pad_right, pp->pad_bottom, pp->pad_left, pp->k_h,
			pp->k_w, pp->stride_h, pp->stride_w, 1, 1, lo, hi, x, o,
			0));
		out_done(c);
		break;
	}
	case MCAI_OP_AVG_POOL2D:
		if (avg_is_global(pp))
			def_global(c, op, pp->batch, pp->in_h, pp->in_w, pp->c,
				   pp->act_min, pp->act_max);
		else
			def_avg_window(c, op);
		break;
	case MCAI_OP_GLOBAL_AVG_POOL:
		def_global(c, op, pp->batch, pp->in_h, pp->in_w, pp->c,
			   pp->act_min, pp->act_max);
		break;
	case MCAI_OP_MEAN: {
		const u32 *d = op->p.mean.in;

		def_global(c, op, d[0], d[1], d[2], d[3], -128, 127);
		break;
	}
	case MCAI_OP_ADD:
	case MCAI_OP_MUL: {
		const struct mcai_add_params *a = &op->p.add;
		const struct mcai_mul_params *m = &op->p.mul;
		bool add = op->type == MCAI_OP_ADD;

		x = view_in(c, op->in[0], add ? a->in1 : m->in1);
		y = view_in(c, op->in[1], add ? a->in2 : m->in2);
		o = view_out(c, op->out, add ? a->out : m->out);
		range(&c->g->t[op->out], add ? a->act_min : m->act_min,
		      add ? a->act_max : m->act_max, &lo, &hi);
		if (add)
			fail(c, xnn_define_add2(c->sg, lo, hi, x, y, o, 0));
		else
			fail(c, xnn_define_multiply2(c->sg, lo, hi, x, y, o, 0));
		out_done(c);
		break;
	}
	case MCAI_OP_PAD: {
		const struct mcai_pad_params *p = &op->p.pad;
		const struct mcai_gtensor *t = &c->g->t[op->out];
		size_t pre[4], post[4];
		u32 k;

		for (k = 0; k < 4; k++) {
			pre[k] = p->before[k];
			post[k] = p->after[k];
		}
		pv = (float)((double)(p->value - t->zp) * tscale(t));
		x = view_in(c, op->in[0], p->in);
		fail(c, xnn_define_static_constant_pad(c->sg, pre, post, pv, x,
						       val(c, op->out), 0));
		break;
	}
	case MCAI_OP_RESHAPE: {
		const struct mcai_gtensor *t = &c->g->t[op->out];
		size_t dims[4] = { t->dims[0], t->dims[1], t->dims[2], t->dims[3] };

		x = val(c, op->in[0]);
		fail(c, xnn_define_static_reshape(c->sg, 4, dims, x,
						  val(c, op->out), 0));
		break;
	}
	}
}

static void note(char *s, size_t len, const char *what)
{
	size_t used = strlen(s);

	if (strstr(s, what))
		return;
	snprintf(s + used, len - used, "%s%s", used ? ", " : "", what);
}

static void describe(struct mcai_xnn_net *n, const struct mcai_gop *op)
{
	const char *m = NULL;

	switch (op->type) {
	case MCAI_OP_CONV2D:
		m = "conv2d=qc8 conv";
		break;
	case MCAI_OP_DEPTHWISE:
		m = "depthwise=qc8 dwconv";
		break;
	case MCAI_OP_FC:
		m = "fc=qc8 1x1 conv";
		break;
	case MCAI_OP_MAX_POOL2D:
		m = "max_pool=s8 maxpool";
		break;
	case MCAI_OP_AVG_POOL2D:
		m = avg_is_global(&op->p.pool) ? "avg_pool=qs8 global avgpool" :
		    "avg_pool=qc8 dwconv of ones";
		break;
	case MCAI_OP_GLOBAL_AVG_POOL:
		m = "global_avg_pool=qs8 global avgpool";
		break;
	case MCAI_OP_MEAN:
		m = "mean=qs8 global avgpool";
		break;
	case MCAI_OP_ADD:
		m = "add=qs8 add";
		break;
	case MCAI_OP_MUL:
		m = "mul=qs8 multiply";
		break;
	case MCAI_OP_PAD:
		m = "pad=qs8 pad";
		break;
	case MCAI_OP_RESHAPE:
		m = "reshape=reshape";
		break;
	}
	if (m)
		note(n->mapped, sizeof(n->mapped), m);
}

static int build_runtime(struct mcai_xnn_net *n, s32 *prod, u32 a, u32 b,
			 xnn_runtime_t *rt, char *err, size_t errlen)
{
	const struct mcai_graph *g = n->g;
	struct sg_ctx c = { .n = n, .g = g, .a = a, .b = b, .prod = prod,
			    .pend_t = NONE, .st = xnn_status_success };
	struct xnn_external_value *ext;
	u32 i, n_ext = 0;
	int ret = -1;

	c.vid = malloc(4 * (size_t)g->n_tensors);
	ext = calloc(g->n_tensors, sizeof(*ext));
	if (!c.vid || !ext) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < g->n_tensors; i++)
		c.vid[i] = NONE;
	c.st = xnn_create_subgraph(g->n_tensors, 0, &c.sg);
	if (c.st != xnn_status_success) {
		snprintf(err, errlen, "xnn_create_subgraph: status %d", c.st);
		goto out;
	}
	for (i = a; i <= b && c.st == xnn_status_success; i++) {
		def_op(&c, &g->op[i]);
		describe(n, &g->op[i]);
		if (c.st != xnn_status_success) {
			snprintf(err, errlen, "op %u (%s): XNNPACK refused it, status %d",
				 i, mcai_xnn_op_name(g->op[i].type), c.st);
			n->bad_op = i;
		}
	}
	if (c.st == xnn_status_success) {
		c.st = xnn_create_runtime_v2(c.sg, NULL, 0, rt);
		if (c.st != xnn_status_success)
			snprintf(err, errlen, "ops %u-%u: xnn_create_runtime: status %d",
				 a, b, c.st);
	}
	xnn_delete_subgraph(c.sg);
	if (c.st != xnn_status_success)
		goto out;
	for (i = 0; i < g->n_tensors; i++)
		if (c.vid[i] == i && g->t[i].kind == MCAI_TK_ARENA)
			ext[n_ext++] = (struct xnn_external_value){ i, n->buf[i] };
	c.st = xnn_setup_runtime(*rt, n_ext, ext);
	if (c.st != xnn_status_success) {
		snprintf(err, errlen, "xnn_setup_runtime: status %d", c.st);
		goto out;
	}
	ret = 0;
out:
	free(c.vid);
	free(ext);
	return ret;
}

static int build_once(struct mcai_xnn_net *n, const struct mcai_graph *g,
		      u8 *refused, char *err, size_t errlen)
{
	s32 *prod = NULL;
	u32 i, j, k, cnt[32] = { 0 };

	memset(n, 0, sizeof(*n));
	n->g = g;
	n->refused = refused;
	n->bad_op = NONE;
	n->buf = calloc(g->n_tensors, sizeof(*n->buf));
	n->external = calloc(g->n_tensors, 1);
	n->stage = calloc(g->n_ops, sizeof(*n->stage));
	prod = malloc(4 * (size_t)g->n_tensors);
	if (!n->buf || !n->external || !n->stage || !prod)
		goto oom;
	for (i = 0; i < g->n_tensors; i++) {
		prod[i] = -1;
		if (g->t[i].kind != MCAI_TK_ARENA)
			continue;
		/* XNNPACK's kernels may read XNN_EXTRA_BYTES past a tensor */
		n->buf[i] = aligned_alloc(64, (g->t[i].bytes + XNN_EXTRA_BYTES +
					       63) & ~(size_t)63);
		if (!n->buf[i])
			goto oom;
		memset(n->buf[i], 0, g->t[i].bytes);
	}
	for (i = 0; i < g->n_ops; i++)
		prod[g->op[i].out] = (s32)i;
	for (i = 0; i < g->n_ops; i = j) {
		struct mcai_xnn_stage *s = &n->stage[n->n_stages++];

		s->op = i;
		if (!xnn_can(n, i)) {
			const struct mcai_gop *op = &g->op[i];

			for (k = 0; k < op->n_in; k++)
				n->external[op->in[k]] = 1;
			n->external[op->out] = 1;
			cnt[op->type < 32 ? op->type : 0]++;
			if (refused[i])
				n->n_refused++;
			n->n_fallback++;
			j = i + 1;
			continue;
		}
		for (j = i; j < g->n_ops && xnn_can(n, j); j++)
			;
		if (build_runtime(n, prod, i, j - 1, &s->rt, err, errlen))
			goto fail;
		n->n_runtimes++;
	}
	for (i = 0; i < 32; i++) {
		size_t used = strlen(n->fallback);

		if (cnt[i])
			snprintf(n->fallback + used, sizeof(n->fallback) - used,
				 "%s%s x%u", used ? ", " : "",
				 mcai_xnn_op_name((u16)i), cnt[i]);
	}
	if (n->n_refused) {
		size_t used = strlen(n->fallback);

		snprintf(n->fallback + used, sizeof(n->fallback) - used,
			 " (%u refused by XNNPACK)", n->n_refused);
	}
	free(prod);
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	free(prod);
	i = n->bad_op;
	mcai_xnn_free(n);
	n->bad_op = i;
	return -1;
}

/*
 * An op XNNPACK refuses at definition (a scale out of its range, say)
 * runs with mcai's kernel too: the net is rebuilt without it, and says so.
 */
int mcai_xnn_build(struct mcai_xnn_net *n, const struct mcai_graph *g,
		   char *err, size_t errlen)
{
	u8 *refused = calloc(g->n_ops + 1, 1);

	if (!refused) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		if (!build_once(n, g, refused, err, errlen)) {
			n->own_refused = true;
			return 0;
		}
		if (n->bad_op == NONE || refused[n->bad_op])
			break;
		fprintf(stderr, "engine-bench: %s: %s; mcai's kernel runs it\n",
			g->name, err);
		refused[n->bad_op] = 1;
	}
	free(refused);
	return -1;
}

void *mcai_xnn_tensor(const struct mcai_xnn_net *n, u32 t)
{
	if (n->g->t[t].kind == MCAI_TK_CONST)
		return (void *)n->g->t[t].data;
	return n->buf[t];
}

static void *xnn_at(const void *ctx, u32 t)
{
	return mcai_xnn_tensor(ctx, t);
}

int mcai_xnn_run(const struct mcai_xnn_net *n)
{
	u32 i;

	for (i = 0; i < n->n_stages; i++) {
		const struct mcai_xnn_stage *s = &n->stage[i];

		if (!s->rt)
			/* mcai's own kernel, on the net's buffers */
			mcai_graph_op_run(n->g, &n->g->op[s->op], xnn_at, n);
		else if (xnn_invoke_runtime(s->rt) != xnn_status_success)
			return -1;
	}
	return 0;
}

void mcai_xnn_free(struct mcai_xnn_net *n)
{
	u32 i;

	for (i = 0; i < n->n_stages; i++)
		if (n->stage[i].rt)
			xnn_delete_runtime(n->stage[i].rt);
	if (n->buf)
		for (i = 0; i < n->g->n_tensors; i++)
			free(n->buf[i]);
	for (i = 0; i < n->n_keep; i++)
		free(n->keep[i]);
	if (n->own_refused)
		free(n->refused);
	free(n->buf);
	free(n->external);
	free(n->stage);
	memset(n, 0, sizeof(*n));
}
