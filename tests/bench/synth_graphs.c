// SPDX-License-Identifier: GPL-2.0
/*
 * Built-in engine-v2 graphs for engine-bench: written with the blob
 * writer and verified like any blob, so the bench loads them as it loads
 * the shipped ones.  Scales are chosen so that activations spread over
 * the int8 range instead of saturating, which would make the XNNPACK
 * comparison trivially equal.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/graph_writer.h"
#include "models/train/opquant.h"
#include "models/train/quant.h"
#include "tests/bench/synth_graphs.h"

#define SB_T	32
#define SB_O	16
#define SB_OWN	128

struct sb {
	struct mcai_gw_graph g;
	struct mcai_gw_tensor t[SB_T];
	struct mcai_gw_op op[SB_O];
	void *own[SB_OWN];
	u32 n_own;
	u32 seed;
	bool oom;
};

static void *own(struct sb *b, void *p)
{
	if (!p || b->n_own >= SB_OWN) {
		free(p);
		b->oom = true;
		return NULL;
	}
	b->own[b->n_own++] = p;
	return p;
}

static u32 rnd(struct sb *b)
{
	b->seed ^= b->seed << 13;
	b->seed ^= b->seed >> 17;
	b->seed ^= b->seed << 5;
	return b->seed;
}

static u32 tensor(struct sb *b, u8 dtype, u8 kind, u8 rank, const u32 d[4],
		  float scale, s32 zp, const void *data)
{
	u32 i = b->g.n_tensors;
	struct mcai_gw_tensor *t;

	if (i >= SB_T) {
		b->oom = true;
		return 0;
	}
	b->g.n_tensors++;
	t = &b->t[i];
	memset(t, 0, sizeof(*t));
	t->dtype = dtype;
	t->kind = kind;
	t->rank = rank;
	memcpy(t->dims, d, sizeof(t->dims));
	t->scale = scale;
	t->zp = zp;
	t->data = data;
	return i;
}

static u32 act(struct sb *b, u32 h, u32 w, u32 c, float scale, s32 zp)
{
	return tensor(b, MCAI_DT_INT8, MCAI_TK_ARENA, 4, (u32[4]){ 1, h, w, c },
		      scale, zp, NULL);
}

/* An op whose parameter words the caller fills in the returned array. */
static s32 *op(struct sb *b, u16 type, u32 n_in, u32 i0, u32 i1, u32 i2,
	       u32 out, u32 max_words)
{
	u32 i = b->g.n_ops;
	struct mcai_gw_op *o;
	s32 *w = own(b, calloc(max_words + 1, 4));

	if (!w || i >= SB_O) {
		b->oom = true;
		return NULL;
	}
	b->g.n_ops++;
	o = &b->op[i];
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->n_in = (u8)n_in;
	o->in[0] = i0;
	o->in[1] = i1;
	o->in[2] = i2;
	o->out = out;
	o->params = w;
	return w;
}

static void words(struct sb *b, u32 n)
{
	b->op[b->g.n_ops - 1].params_len = 4 * n;
}

static s8 *weights(struct sb *b, size_t n)
{
	s8 *w = own(b, malloc(n));
	size_t i;

	if (w)
		for (i = 0; i < n; i++)
			w[i] = (s8)((int)(rnd(b) % 255) - 127);
	return w;
}

static s32 *biases(struct sb *b, u32 n)
{
	s32 *v = own(b, malloc(4 * (size_t)n));
	u32 i;

	if (v)
		for (i = 0; i < n; i++)
			v[i] = (s32)(rnd(b) % 4001) - 2000;
	return v;
}

/*
 * Per-channel requantisation of a @taps-long dot product, so that outputs
 * spread over about +-40 LSBs; the output scale that goes with it.
 */
static float requant(struct sb *b, u32 n, u32 taps, float in_scale,
		     const s32 **mult, const s32 **shift)
{
	double eff = 40.0 / (5400.0 * sqrt((double)taps));
	s32 *m = own(b, malloc(4 * (size_t)n)), *s = own(b, malloc(4 * (size_t)n));
	u32 i;

	if (!m || !s)
		return 1.0f;
	for (i = 0; i < n; i++)
		mcai_quantize_multiplier(eff * (0.8 + (rnd(b) % 400) / 1000.0),
					 &m[i], &s[i]);
	*mult = m;
	*shift = s;
	return (float)(in_scale * 0.01 / eff);
}

/* conv2d or depthwise, SAME padding, optional ReLU. */
static u32 conv(struct sb *b, u16 type, u32 x, u32 kh, u32 kw, u32 stride,
		u32 out_c, bool relu)
{
	const struct mcai_gw_tensor *in = &b->t[x];
	bool dw = type == MCAI_OP_DEPTHWISE;
	struct mcai_conv_params p = {
		.batch = 1, .in_h = in->dims[1], .in_w = in->dims[2],
		.in_c = in->dims[3], .out_c = out_c, .k_h = kh, .k_w = kw,
		.stride_h = stride, .stride_w = stride, .dil_h = 1, .dil_w = 1,
		.groups = 1, .in_zp = in->zp,
	};
	u32 taps = kh * kw * (dw ? 1 : p.in_c), wt, bt, y;
	float os;
	s32 zp = relu ? -128 : 0;
	s32 *w;

	mcai_op_same_pad(p.in_h, kh, stride, 1, &p.out_h, &p.pad_top,
			 &p.pad_bottom);
	mcai_op_same_pad(p.in_w, kw, stride, 1, &p.out_w, &p.pad_left,
			 &p.pad_right);
	os = requant(b, out_c, taps, in->scale, &p.mult, &p.shift);
	p.out_zp = zp;
	mcai_act_range(relu ? MCAI_ACT_RELU : MCAI_ACT_NONE, os, zp, &p.act_min,
		       &p.act_max);
	wt = tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 4,
		    dw ? (u32[4]){ 1, kh, kw, out_c } :
			 (u32[4]){ out_c, kh, kw, p.in_c }, 0.01f, 0,
		    weights(b, (size_t)taps * out_c));
	bt = tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1,
		    (u32[4]){ 1, 1, 1, out_c }, 0.01f * in->scale, 0,
		    biases(b, out_c));
	y = act(b, p.out_h, p.out_w, out_c, os, zp);
	w = op(b, type, 3, x, wt, bt, y, 32 + 2 * out_c);
	if (w)
		words(b, mcai_gw_conv_words(&p, w));
	return y;
}

static u32 fc(struct sb *b, u32 x, u32 out_len, bool relu)
{
	const struct mcai_gw_tensor *in = &b->t[x];
	u32 in_len = in->dims[0] * in->dims[1] * in->dims[2] * in->dims[3];
	struct mcai_fc_params p = {
		.batch = 1, .in_len = in_len, .out_len = out_len,
		.in_zp = in->zp, .out_zp = relu ? -128 : 0,
	};
	float os = requant(b, out_len, in_len, in->scale, &p.mult, &p.shift);
	u32 wt, bt, y;
	s32 *w;

	mcai_act_range(relu ? MCAI_ACT_RELU : MCAI_ACT_NONE, os, p.out_zp,
		       &p.act_min, &p.act_max);
	wt = tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 2,
		    (u32[4]){ 1, 1, out_len, in_len }, 0.01f, 0,
		    weights(b, (size_t)in_len * out_len));
	bt = tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1,
		    (u32[4]){ 1, 1, 1, out_len }, 0.01f * in->scale, 0,
		    biases(b, out_len));
	y = act(b, 1, 1, out_len, os, p.out_zp);
	w = op(b, MCAI_OP_FC, 3, x, wt, bt, y, 8 + 2 * out_len);
	if (w)
		words(b, mcai_gw_fc_words(&p, w));
	return y;
}

/* Pooling without padding; k == 0: global average. */
static u32 pool(struct sb *b, u16 type, u32 x, u32 k, u32 stride)
{
	const struct mcai_gw_tensor *in = &b->t[x];
	struct mcai_pool_params p = {
		.batch = 1, .in_h = in->dims[1], .in_w = in->dims[2],
		.c = in->dims[3], .out_h = 1, .out_w = 1, .act_min = -128,
		.act_max = 127,
	};
	bool global = type == MCAI_OP_GLOBAL_AVG_POOL;
	u32 y;
	s32 *w;

	if (!global) {
		p.k_h = k ? k : p.in_h;
		p.k_w = k ? k : p.in_w;
		p.stride_h = k ? stride : 1;
		p.stride_w = k ? stride : 1;
		p.out_h = (p.in_h - p.k_h) / p.stride_h + 1;
		p.out_w = (p.in_w - p.k_w) / p.stride_w + 1;
	}
	y = act(b, p.out_h, p.out_w, p.c, in->scale, in->zp);
	w = op(b, type, 1, x, 0, 0, y, 16);
	if (w)
		words(b, mcai_gw_pool_words(&p, global, w));
	return y;
}

static u32 add_relu(struct sb *b, u32 x1, u32 x2)
{
	const struct mcai_gw_tensor *a = &b->t[x1], *c = &b->t[x2];
	float os = 1.5f * (a->scale > c->scale ? a->scale : c->scale);
	struct mcai_add_params p;
	u32 y;
	s32 *w;

	memset(&p, 0, sizeof(p));
	mcai_add_prepare(&p, a->scale, a->zp, c->scale, c->zp, os, -128);
	memcpy(p.in1, a->dims, sizeof(p.in1));
	memcpy(p.in2, c->dims, sizeof(p.in2));
	memcpy(p.out, a->dims, sizeof(p.out));
	mcai_act_range(MCAI_ACT_RELU, os, -128, &p.act_min, &p.act_max);
	y = act(b, a->dims[1], a->dims[2], a->dims[3], os, -128);
	w = op(b, MCAI_OP_ADD, 2, x1, x2, 0, y, 32);
	if (w)
		words(b, mcai_gw_add_words(&p, w));
	return y;
}

static u32 softmax(struct sb *b, u32 x)
{
	const struct mcai_gw_tensor *in = &b->t[x];
	struct mcai_softmax_params p;
	u32 y;
	s32 *w;

	mcai_softmax_prepare(&p, 1.0, in->scale);
	p.rows = 1;
	p.depth = in->dims[3];
	y = act(b, 1, 1, p.depth, 1.0f / 256, -128);
	w = op(b, MCAI_OP_SOFTMAX, 1, x, 0, 0, y, 16);
	if (w)
		words(b, mcai_gw_softmax_words(&p, w));
	return y;
}

/* DS-CNN as MLPerf Tiny's KWS: conv 10x4/2, depthwise-separable blocks. */
static u32 dscnn(struct sb *b)
{
	u32 x = act(b, 49, 10, 1, 0.1f, 0), y, k;

	y = conv(b, MCAI_OP_CONV2D, x, 10, 4, 2, 64, true);
	for (k = 0; k < 3; k++) {
		y = conv(b, MCAI_OP_DEPTHWISE, y, 3, 3, 1, 64, true);
		y = conv(b, MCAI_OP_CONV2D, y, 1, 1, 1, 64, true);
	}
	y = pool(b, MCAI_OP_AVG_POOL2D, y, 0, 1);
	y = fc(b, y, 12, false);
	b->g.input[0] = x;
	return softmax(b, y);
}

/* A ResNet-8 stage: two 3x3 convolutions, the skip added, then down. */
static u32 resnet(struct sb *b)
{
	u32 x = act(b, 32, 32, 16, 0.05f, -128), y;

	y = conv(b, MCAI_OP_CONV2D, x, 3, 3, 1, 16, true);
	y = conv(b, MCAI_OP_CONV2D, y, 3, 3, 1, 16, false);
	y = add_relu(b, x, y);
	y = pool(b, MCAI_OP_AVG_POOL2D, y, 2, 2);
	y = conv(b, MCAI_OP_CONV2D, y, 3, 3, 2, 32, true);
	y = pool(b, MCAI_OP_MAX_POOL2D, y, 2, 2);
	y = pool(b, MCAI_OP_GLOBAL_AVG_POOL, y, 0, 1);
	y = fc(b, y, 10, false);
	b->g.input[0] = x;
	return softmax(b, y);
}

u8 *mcai_synth_graph(u32 k, char *name, size_t name_len, u32 *size)
{
	static const char *const names[MCAI_SYNTH_COUNT] = {
		"synth-dscnn", "synth-resnet",
	};
	struct sb *b = calloc(1, sizeof(*b));
	char err[256];
	u8 *blob = NULL;
	u32 i, out;

	if (!b || k >= MCAI_SYNTH_COUNT) {
		free(b);
		return NULL;
	}
	snprintf(name, name_len, "%s", names[k]);
	b->seed = 0x9e3779b9U + k;
	b->g.name = names[k];
	b->g.version = 1;
	b->g.t = b->t;
	b->g.op = b->op;
	out = k ? resnet(b) : dscnn(b);
	b->g.n_inputs = 1;
	b->g.n_outputs = 1;
	b->g.output[0] = out;
	if (b->oom)
		snprintf(err, sizeof(err), "out of memory");
	else
		blob = mcai_graph_write(&b->g, size, err, sizeof(err));
	if (!blob)
		fprintf(stderr, "engine-bench: %s: %s\n", names[k], err);
	for (i = 0; i < b->n_own; i++)
		free(b->own[i]);
	free(b);
	return blob;
}
