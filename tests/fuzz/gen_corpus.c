// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-fuzz-corpus OUTDIR: the seed corpus of tests/fuzz (committed in
 * tests/fuzz/corpus/; `make fuzz-corpus` regenerates it).  A handful of
 * valid blobs of different shapes, written by the writer, and a few
 * hostile variants from tests/hostile.c.  Deterministic.  Format v2
 * seeds (graphs, models/train/graph_writer.h) cover every op type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/hostile.h"
#include "models/train/writer.h"
#include "models/train/graph_writer.h"
#include "models/train/opquant.h"
#include "models/train/quant.h"

static u32 seed = 12345;

static u32 rnd(void)
{
	seed = seed * 1664525u + 1013904223u;
	return seed >> 8;
}

static int save(const char *dir, const char *name, const u8 *p, u32 n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* Arrays for up to 16 layers of up to 64 x 64. */
static s8 W[16][64 * 64], LUT[16][256], TV[8 * 64];
static s32 BIAS[16][64], MULT[16][64], SHIFT[16][64];

static void layer(struct mcai_blob_spec *s, u32 i, u16 type, u32 in, u32 out,
		  s8 in_zp, s8 out_zp)
{
	struct mcai_layer_spec *l = &s->layer[i];
	u32 k;

	memset(l, 0, sizeof(*l));
	l->type = type;
	l->in_len = in;
	l->out_len = out;
	l->in_zp = in_zp;
	l->out_zp = out_zp;
	l->clamp_min = -128;
	l->clamp_max = 127;
	if (type == MCAI_LAYER_LUT) {
		l->activation = MCAI_ACT_SIGMOID;
		for (k = 0; k < 256; k++)
			LUT[i][k] = (s8)rnd();
		l->lut = LUT[i];
		return;
	}
	if (rnd() % 2) {
		l->activation = MCAI_ACT_RELU;
		l->clamp_min = out_zp;
	}
	for (k = 0; k < in * out; k++)
		W[i][k] = (s8)(rnd() % 255 - 127);
	for (k = 0; k < out; k++) {
		BIAS[i][k] = (s32)(rnd() % 2001) - 1000;
		MULT[i][k] = (s32)((1u << 30) + rnd() % (1u << 30));
		SHIFT[i][k] = -8 - (s32)(rnd() % 3);
	}
	l->weights = W[i];
	l->bias = BIAS[i];
	l->mult = MULT[i];
	l->shift = SHIFT[i];
}

static int emit(const char *dir, const char *file, struct mcai_blob_spec *s,
		u32 tv_count)
{
	char err[200];
	u32 size, k;
	u8 *blob;

	for (k = 0; k < sizeof(TV); k++)
		TV[k] = (s8)rnd();
	s->version = 1;
	s->input_scale = 0.1f;
	s->output_scale = 0.2f;
	s->tv_count = tv_count;
	s->tv_inputs = TV;
	blob = mcai_blob_write(s, &size, err, sizeof(err));
	if (!blob) {
		fprintf(stderr, "%s: %s\n", file, err);
		return -1;
	}
	k = save(dir, file, blob, size);
	free(blob);
	return (int)k;
}


/* ------------------------------------------------------------------ */
/* Format v2 seeds: small graphs, one of each op type between them. */

#define GT_MAX	16
#define GO_MAX	8

static struct mcai_gw_tensor gt[GT_MAX];
static struct mcai_gw_op go[GO_MAX];
static s32 gwords[GO_MAX][512];
static s8 gconst[GT_MAX][1024];
static s32 gconst32[GT_MAX][64];
static s32 gmult[GO_MAX][64], gshift[GO_MAX][64];
static struct mcai_gw_graph gg;

static void g_reset(const char *name)
{
	memset(&gg, 0, sizeof(gg));
	memset(gt, 0, sizeof(gt));
	memset(go, 0, sizeof(go));
	gg.name = name;
	gg.version = 1;
	gg.t = gt;
	gg.op = go;
}

static u32 g_t(u8 dtype, u8 kind, u32 n, u32 h, u32 w, u32 c, float scale,
	       s32 zp)
{
	u32 i = gg.n_tensors++, k, e = n * h * w * c;
	struct mcai_gw_tensor *t = &gt[i];

	t->dtype = dtype;
	t->kind = kind;
	t->rank = 4;
	t->dims[0] = n;
	t->dims[1] = h;
	t->dims[2] = w;
	t->dims[3] = c;
	t->scale = scale;
	t->zp = zp;
	if (kind == MCAI_TK_CONST && dtype == MCAI_DT_INT8) {
		for (k = 0; k < e; k++)
			gconst[i][k] = (s8)(rnd() % 255 - 127);
		t->data = gconst[i];
	} else if (kind == MCAI_TK_CONST) {
		for (k = 0; k < e; k++)
			gconst32[i][k] = (s32)(rnd() % 2001) - 1000;
		t->data = gconst32[i];
	}
	return i;
}

static u32 g_op(u16 type, u32 n_in, u32 a, u32 b, u32 c, u32 out, u32 words)
{
	u32 i = gg.n_ops++;

	go[i].type = type;
	go[i].n_in = (u8)n_in;
	go[i].in[0] = a;
	go[i].in[1] = b;
	go[i].in[2] = c;
	go[i].out = out;
	go[i].params = gwords[i];
	go[i].params_len = 4 * words;
	return i;
}

static void g_requant(u32 op, u32 n, double real, const s32 **m,
		      const s32 **s)
{
	u32 k;

	for (k = 0; k < n; k++)
		mcai_quantize_multiplier(real * (0.75 + (rnd() % 256) / 512.0),
					 &gmult[op][k], &gshift[op][k]);
	*m = gmult[op];
	*s = gshift[op];
}

static int g_emit(const char *dir, const char *file, u32 in_bytes,
		  u32 tv_count)
{
	char err[200];
	u32 size, k;
	u8 *blob;

	for (k = 0; k < sizeof(TV); k++)
		TV[k] = (s8)rnd();
	if (tv_count * in_bytes > sizeof(TV))
		return -1;
	gg.tv_count = tv_count;
	gg.tv_inputs = TV;
	blob = mcai_graph_write(&gg, &size, err, sizeof(err));
	if (!blob) {
		fprintf(stderr, "%s: %s\n", file, err);
		return -1;
	}
	k = save(dir, file, blob, size);
	free(blob);
	return (int)k;
}

/* conv -> max pool -> FC -> softmax */
static int v2_cnn(const char *dir)
{
	struct mcai_conv_params cp = {
		.batch = 1, .in_h = 6, .in_w = 6, .in_c = 2, .out_h = 6,
		.out_w = 6, .out_c = 3, .k_h = 3, .k_w = 3, .stride_h = 1,
		.stride_w = 1, .dil_h = 1, .dil_w = 1, .pad_top = 1,
		.pad_left = 1, .pad_bottom = 1, .pad_right = 1, .groups = 1,
		.in_zp = -2, .out_zp = -128, .act_min = -128, .act_max = 127,
	};
	struct mcai_pool_params pp = {
		.batch = 1, .in_h = 6, .in_w = 6, .c = 3, .out_h = 3,
		.out_w = 3, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2,
		.act_min = -128, .act_max = 127,
	};
	struct mcai_fc_params fp = {
		.batch = 1, .in_len = 27, .out_len = 5, .in_zp = -128,
		.act_min = -128, .act_max = 127,
	};
	struct mcai_softmax_params sp;
	u32 x, c1, p1, f1, sm;

	g_reset("v2-cnn");
	x = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 6, 6, 2, 0.02f, -2);
	g_t(MCAI_DT_INT8, MCAI_TK_CONST, 3, 3, 3, 2, 0.01f, 0);
	g_t(MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 3, 0.0002f, 0);
	c1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 6, 6, 3, 0.05f, -128);
	g_requant(0, 3, 1.0 / 300, &cp.mult, &cp.shift);
	g_op(MCAI_OP_CONV2D, 3, x, x + 1, x + 2, c1,
	     mcai_gw_conv_words(&cp, gwords[0]));
	p1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 3, 3, 3, 0.05f, -128);
	g_op(MCAI_OP_MAX_POOL2D, 1, c1, 0, 0, p1,
	     mcai_gw_pool_words(&pp, false, gwords[1]));
	g_t(MCAI_DT_INT8, MCAI_TK_CONST, 1, 1, 5, 27, 0.01f, 0);
	g_t(MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 5, 0.0005f, 0);
	f1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 5, 0.1f, 3);
	fp.out_zp = 3;
	g_requant(2, 5, 1.0 / 500, &fp.mult, &fp.shift);
	g_op(MCAI_OP_FC, 3, p1, p1 + 1, p1 + 2, f1,
	     mcai_gw_fc_words(&fp, gwords[2]));
	sm = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 5, 1.0f / 256, -128);
	mcai_softmax_prepare(&sp, 1.0, 0.1);
	g_op(MCAI_OP_SOFTMAX, 1, f1, 0, 0, sm,
	     mcai_gw_softmax_words(&sp, gwords[3]));
	gg.n_inputs = 1;
	gg.input[0] = x;
	gg.n_outputs = 1;
	gg.output[0] = sm;
	return g_emit(dir, "valid-v2-cnn.mcai", 72, 2);
}

/* depthwise -> avg pool -> add (residual) -> global pool -> reshape -> LUT */
static int v2_residual(const char *dir)
{
	struct mcai_conv_params dw = {
		.batch = 1, .in_h = 4, .in_w = 4, .in_c = 2, .out_h = 4,
		.out_w = 4, .out_c = 2, .k_h = 3, .k_w = 3, .stride_h = 1,
		.stride_w = 1, .dil_h = 1, .dil_w = 1, .pad_top = 1,
		.pad_left = 1, .pad_bottom = 1, .pad_right = 1, .groups = 1,
		.act_min = -128, .act_max = 127,
	};
	struct mcai_pool_params ap = {
		.batch = 1, .in_h = 4, .in_w = 4, .c = 2, .out_h = 4,
		.out_w = 4, .k_h = 3, .k_w = 3, .stride_h = 1, .stride_w = 1,
		.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
		.act_min = -128, .act_max = 127,
	};
	struct mcai_pool_params gp = { .act_min = -128, .act_max = 127 };
	struct mcai_add_params add;
	u32 x, d1, a1, s1, g1, r1, l1, k;
	s8 *lut = (s8 *)gwords[5];

	g_reset("v2-residual");
	x = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 4, 4, 2, 0.03f, 0);
	g_t(MCAI_DT_INT8, MCAI_TK_CONST, 1, 3, 3, 2, 0.01f, 0);
	g_t(MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 2, 0.0003f, 0);
	d1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 4, 4, 2, 0.04f, 0);
	g_requant(0, 2, 1.0 / 100, &dw.mult, &dw.shift);
	g_op(MCAI_OP_DEPTHWISE, 3, x, x + 1, x + 2, d1,
	     mcai_gw_conv_words(&dw, gwords[0]));
	a1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 4, 4, 2, 0.04f, 0);
	g_op(MCAI_OP_AVG_POOL2D, 1, d1, 0, 0, a1,
	     mcai_gw_pool_words(&ap, false, gwords[1]));
	s1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 4, 4, 2, 0.06f, 1);
	memset(&add, 0, sizeof(add));
	mcai_add_prepare(&add, 0.03, 0, 0.04, 0, 0.06, 1);
	g_op(MCAI_OP_ADD, 2, x, a1, 0, s1, mcai_gw_add_words(&add, gwords[2]));
	g1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 2, 0.06f, 1);
	g_op(MCAI_OP_GLOBAL_AVG_POOL, 1, s1, 0, 0, g1,
	     mcai_gw_pool_words(&gp, true, gwords[3]));
	r1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 2, 1, 0.06f, 1);
	g_op(MCAI_OP_RESHAPE, 1, g1, 0, 0, r1, 0);
	l1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 2, 1, 1.0f / 128, 0);
	for (k = 0; k < 256; k++)
		lut[k] = (s8)rnd();
	k = g_op(MCAI_OP_LUT, 1, r1, 0, 0, l1, 0);
	go[k].params = lut;
	go[k].params_len = 256;
	gg.n_inputs = 1;
	gg.input[0] = x;
	gg.n_outputs = 1;
	gg.output[0] = l1;
	return g_emit(dir, "valid-v2-residual.mcai", 32, 3);
}

/* a tree ensemble on int16 features */
static int v2_tree(const char *dir)
{
	static const struct mcai_tree_node nodes[] = {
		{ 1, 2, 0, 0, 3 },
		{ 0, 0, 0, MCAI_TREE_LEAF, 0 },
		{ 0, 0, 2, MCAI_TREE_LEAF, 0 },
		{ 4, 5, 0, 1, -7 },
		{ 0, 0, 4, MCAI_TREE_LEAF, 0 },
		{ 0, 0, 6, MCAI_TREE_LEAF, 0 },
	};
	static const u32 roots[] = { 0, 3 };
	static const s32 values[] = { 10, -10, -5, 30, 7, 7, -40, 2 };
	struct mcai_tree_ensemble e = {
		.nodes = nodes, .n_nodes = 6, .roots = roots, .n_trees = 2,
		.values = values, .n_values = 8, .n_features = 3,
		.n_outputs = 2, .max_depth = 1, .aggregate = MCAI_TREE_SUM,
	};
	u32 x, o;

	g_reset("v2-tree");
	x = g_t(MCAI_DT_INT16, MCAI_TK_ARENA, 1, 1, 1, 3, 0.5f, 0);
	o = g_t(MCAI_DT_INT32, MCAI_TK_ARENA, 1, 1, 1, 2, 1.0f, 0);
	g_op(MCAI_OP_TREE, 1, x, 0, 0, o, mcai_gw_tree_words(&e, gwords[0]));
	gg.n_inputs = 1;
	gg.input[0] = x;
	gg.n_outputs = 1;
	gg.output[0] = o;
	return g_emit(dir, "valid-v2-tree.mcai", 6, 3);
}

/* an autoencoder and its reconstruction score, threshold head */
static int v2_anomaly(const char *dir)
{
	struct mcai_fc_params e1 = {
		.batch = 1, .in_len = 8, .out_len = 3, .out_zp = -128,
		.act_min = -128, .act_max = 127,
	};
	struct mcai_fc_params d1 = {
		.batch = 1, .in_len = 3, .out_len = 8, .in_zp = -128,
		.act_min = -128, .act_max = 127,
	};
	struct mcai_recon_params rp;
	u32 x, h, o, sc;

	g_reset("v2-anomaly");
	x = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 8, 1.0f / 128, 0);
	g_t(MCAI_DT_INT8, MCAI_TK_CONST, 1, 1, 3, 8, 0.01f, 0);
	g_t(MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 3, 0.0001f, 0);
	h = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 3, 0.05f, -128);
	g_requant(0, 3, 1.0 / 100, &e1.mult, &e1.shift);
	g_op(MCAI_OP_FC, 3, x, x + 1, x + 2, h, mcai_gw_fc_words(&e1, gwords[0]));
	g_t(MCAI_DT_INT8, MCAI_TK_CONST, 1, 1, 8, 3, 0.01f, 0);
	g_t(MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 8, 0.0005f, 0);
	o = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 8, 1.0f / 128, 0);
	g_requant(1, 8, 1.0 / 30, &d1.mult, &d1.shift);
	g_op(MCAI_OP_FC, 3, h, h + 1, h + 2, o, mcai_gw_fc_words(&d1, gwords[1]));
	sc = g_t(MCAI_DT_INT32, MCAI_TK_ARENA, 1, 1, 1, 1, 1e-4f, 0);
	mcai_recon_prepare(&rp, 8, 1.0 / 128, 0, 1.0 / 128, 0, 1e-4);
	g_op(MCAI_OP_RECON, 2, o, x, 0, sc, mcai_gw_recon_words(&rp, gwords[2]));
	gg.head = MCAI_HEAD_THRESHOLD;
	gg.head_threshold = 50;
	gg.n_inputs = 1;
	gg.input[0] = x;
	gg.n_outputs = 2;
	gg.output[0] = sc;
	gg.output[1] = o;
	return g_emit(dir, "valid-v2-anomaly.mcai", 8, 3);
}

/* two inputs: mul -> pad -> mean, mean of the other, concat */
static int v2_mixer(const char *dir)
{
	struct mcai_mul_params mul;
	struct mcai_pad_params pad = {
		.before = { 0, 1, 0, 0 }, .after = { 0, 0, 1, 0 },
	};
	struct mcai_mean_params m1, m2;
	struct mcai_concat_input ci[2];
	struct mcai_concat_params cp = { .in = ci, .n_in = 2, .axis = 3 };
	u32 a, b, m, p, e1, e2, c;

	g_reset("v2-mixer");
	a = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 2, 2, 3, 0.05f, 1);
	b = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 2, 2, 3, 0.04f, -2);
	m = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 2, 2, 3, 0.1f, -5);
	memset(&mul, 0, sizeof(mul));
	mcai_mul_prepare(&mul, 0.05, 1, 0.04, -2, 0.1, -5);
	g_op(MCAI_OP_MUL, 2, a, b, 0, m, mcai_gw_mul_words(&mul, gwords[0]));
	p = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 3, 3, 3, 0.1f, -5);
	g_op(MCAI_OP_PAD, 1, m, 0, 0, p, mcai_gw_pad_words(&pad, gwords[1]));
	e1 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 3, 0.08f, 3);
	memset(&m1, 0, sizeof(m1));
	mcai_mean_prepare(&m1, 0.1, -5, 0.08, 3, 9);
	m1.axes = 6;
	g_op(MCAI_OP_MEAN, 1, p, 0, 0, e1, mcai_gw_mean_words(&m1, gwords[2]));
	e2 = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 3, 0.03f, 0);
	memset(&m2, 0, sizeof(m2));
	mcai_mean_prepare(&m2, 0.05, 1, 0.03, 0, 4);
	m2.axes = 6;
	g_op(MCAI_OP_MEAN, 1, a, 0, 0, e2, mcai_gw_mean_words(&m2, gwords[3]));
	c = g_t(MCAI_DT_INT8, MCAI_TK_ARENA, 1, 1, 1, 6, 0.08f, 4);
	memset(ci, 0, sizeof(ci));
	mcai_concat_prepare(&ci[0], 0.08, 3, 0.08);
	mcai_concat_prepare(&ci[1], 0.03, 0, 0.08);
	g_op(MCAI_OP_CONCAT, 2, e1, e2, 0, c,
	     mcai_gw_concat_words(&cp, gwords[4]));
	gg.n_inputs = 2;
	gg.input[0] = a;
	gg.input[1] = b;
	gg.n_outputs = 1;
	gg.output[0] = c;
	return g_emit(dir, "valid-v2-mixer.mcai", 24, 3);
}

int main(int argc, char **argv)
{
	static const char *const hostile[] = {
		"layers-mul-wrap", "tv-count-mul-wrap", "data-end-wrap",
		"fc-dims-mul-wrap", "arrays-share-bytes", "weight-minus-128",
		"tv-wrong-score", "lut-over-weights", "truncated-half",
	};
	struct mcai_blob_spec s;
	struct hostile *h;
	const char *dir;
	int n, i, rc = 0;
	unsigned int k;
	u32 size;
	u8 *base;

	if (argc != 2) {
		fprintf(stderr, "usage: mcai-fuzz-corpus OUTDIR\n");
		return 2;
	}
	dir = argv[1];

	base = hostile_base(&size);
	rc |= !base || save(dir, "valid-base.mcai", base, size);
	free(base);

	memset(&s, 0, sizeof(s));
	s.name = "fc1";
	s.n_layers = 1;
	layer(&s, 0, MCAI_LAYER_FC, 5, 3, 0, 0);
	rc |= emit(dir, "valid-fc-5x3.mcai", &s, 0);

	memset(&s, 0, sizeof(s));
	s.name = "thresh";
	s.head = MCAI_HEAD_THRESHOLD;
	s.head_threshold = 4;
	s.n_layers = 2;
	layer(&s, 0, MCAI_LAYER_FC, 9, 6, -128, 2);
	layer(&s, 1, MCAI_LAYER_FC, 6, 1, 2, 0);
	rc |= emit(dir, "valid-threshold.mcai", &s, 3);

	memset(&s, 0, sizeof(s));
	s.name = "lut";
	s.n_layers = 1;
	layer(&s, 0, MCAI_LAYER_LUT, 16, 16, 127, -3);
	rc |= emit(dir, "valid-lut-16.mcai", &s, 2);

	memset(&s, 0, sizeof(s));
	s.name = "deep";
	s.n_layers = 6;
	layer(&s, 0, MCAI_LAYER_FC, 11, 7, 3, -1);
	layer(&s, 1, MCAI_LAYER_LUT, 7, 7, -1, 0);
	layer(&s, 2, MCAI_LAYER_FC, 7, 13, 0, 5);
	layer(&s, 3, MCAI_LAYER_FC, 13, 4, 5, -128);
	layer(&s, 4, MCAI_LAYER_LUT, 4, 4, -128, 1);
	layer(&s, 5, MCAI_LAYER_FC, 4, 3, 1, 0);
	rc |= emit(dir, "valid-deep-6.mcai", &s, 2);

	memset(&s, 0, sizeof(s));
	s.name = "wide";
	s.n_layers = 2;
	layer(&s, 0, MCAI_LAYER_FC, 64, 17, -7, 0);
	layer(&s, 1, MCAI_LAYER_FC, 17, 10, 0, 9);
	rc |= emit(dir, "valid-wide-64x17.mcai", &s, 1);

	memset(&s, 0, sizeof(s));
	s.name = "max-layers";
	s.n_layers = MCAI_BLOB_MAX_LAYERS;
	for (k = 0; k < MCAI_BLOB_MAX_LAYERS; k++)
		layer(&s, k, k % 3 == 2 ? MCAI_LAYER_LUT : MCAI_LAYER_FC,
		      k % 3 == 2 ? 5 : 5, 5, 0, 0);
	rc |= emit(dir, "valid-16-layers.mcai", &s, 1);

	rc |= v2_cnn(dir) || v2_residual(dir) || v2_tree(dir) ||
	      v2_anomaly(dir) || v2_mixer(dir);

	n = hostile_build(&h);
	if (n < 0)
		return 1;
	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(hostile) / sizeof(hostile[0]); k++)
			if (!strcmp(h[i].name, hostile[k])) {
				char file[80];

				snprintf(file, sizeof(file), "hostile-%s.mcai", h[i].name);
				rc |= save(dir, file, h[i].blob, h[i].size);
			}
	hostile_free(h, n);
	return rc ? 1 : 0;
}
