// SPDX-License-Identifier: GPL-2.0
/*
 * Blob format v2 (graphs): the writer, the verifier and the interpreter
 * (models/engine/graph.h, models/train/graph_writer.h).
 *
 * Each graph is built twice from the same kernel descriptors: as a blob,
 * which goes through the writer's arena plan, the verifier's decoding and
 * the interpreter; and as a chain of direct calls of the op reference
 * kernels over separately allocated buffers.  Outputs must agree byte for
 * byte.  Then the hostile cases: every offset, length, index and count
 * field of a good blob set out of range (resealed so that the digest
 * does not hide it), overlapping live tensors, forward references and
 * cycles, shape mismatches, oversized dimensions: each refused with a
 * reason, and a random-mutation sweep that must never crash.
 */
#include <math.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/graph.h"
#include "models/engine/verify.h"
#include "models/train/graph_writer.h"
#include "models/train/opquant.h"
#include "models/train/quant.h"

#define MAXT	24
#define MAXO	12
#define MAXW	4096

/* A graph under construction: the writer's description and storage. */
struct gb {
	struct mcai_gw_graph g;
	struct mcai_gw_tensor t[MAXT];
	struct mcai_gw_op op[MAXO];
	s32 words[MAXO][MAXW];
	void *owned[64];
	u32 n_owned;
	uint64_t seed;
};

static void *gb_keep(struct gb *b, void *p)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_lt(b->n_owned, 64);
	b->owned[b->n_owned++] = p;
	return p;
}

static void gb_init(struct gb *b, const char *name, uint64_t seed)
{
	memset(b, 0, sizeof(*b));
	b->g.name = name;
	b->g.version = 1;
	b->g.t = b->t;
	b->g.op = b->op;
	b->seed = seed;
}

static void gb_free(struct gb *b)
{
	u32 i;

	for (i = 0; i < b->n_owned; i++)
		free(b->owned[i]);
}

static u32 gb_tensor(struct gb *b, u8 dtype, u8 kind, u32 n, u32 h, u32 w,
		     u32 c, float scale, s32 zp, const void *data)
{
	u32 i = b->g.n_tensors++;
	struct mcai_gw_tensor *t = &b->t[i];

	ck_assert_uint_lt(i, MAXT);
	t->dtype = dtype;
	t->kind = kind;
	t->rank = 4;
	t->dims[0] = n;
	t->dims[1] = h;
	t->dims[2] = w;
	t->dims[3] = c;
	t->scale = scale;
	t->zp = zp;
	t->data = data;
	return i;
}

static u32 gb_act(struct gb *b, u32 n, u32 h, u32 w, u32 c, float scale,
		  s32 zp)
{
	return gb_tensor(b, MCAI_DT_INT8, MCAI_TK_ARENA, n, h, w, c, scale, zp,
			 NULL);
}

/* The op's words are filled by the caller in b->words[index]. */
static u32 gb_op(struct gb *b, u16 type, u32 n_in, u32 i0, u32 i1, u32 i2,
		 u32 out, u32 n_words)
{
	u32 i = b->g.n_ops++;
	struct mcai_gw_op *op = &b->op[i];

	ck_assert_uint_lt(i, MAXO);
	op->type = type;
	op->n_in = (u8)n_in;
	op->in[0] = i0;
	op->in[1] = i1;
	op->in[2] = i2;
	op->out = out;
	op->params = b->words[i];
	op->params_len = 4 * n_words;
	return i;
}

static s8 *gb_weights(struct gb *b, size_t n)
{
	s8 *w = gb_keep(b, malloc(n));
	size_t i;

	for (i = 0; i < n; i++)
		w[i] = unit_rnd_w(&b->seed);
	return w;
}

static s32 *gb_bias(struct gb *b, u32 n)
{
	s32 *v = gb_keep(b, malloc(4 * n));
	u32 i;

	for (i = 0; i < n; i++)
		v[i] = (s32)(unit_rnd32(&b->seed) % 2001) - 1000;
	return v;
}

/* Per-channel requantisation of about @real, jittered per channel. */
static void gb_requant(struct gb *b, u32 n, double real, s32 **mult,
		       s32 **shift)
{
	u32 i;

	*mult = gb_keep(b, malloc(4 * n));
	*shift = gb_keep(b, malloc(4 * n));
	for (i = 0; i < n; i++)
		mcai_quantize_multiplier(real * (0.75 + (unit_rnd32(&b->seed) % 512) /
						 1024.0), &(*mult)[i], &(*shift)[i]);
}

/* A built graph: blob, state, verified view, arena. */
struct gx {
	u8 *blob;
	u32 size;
	void *state;
	struct mcai_graph g;
	u8 *arena;
};

static void gx_build(struct gx *x, struct gb *b)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	char err[256];
	u32 need, failed = 0;

	x->blob = mcai_graph_write(&b->g, &x->size, err, sizeof(err));
	ck_assert_msg(x->blob != NULL, "mcai_graph_write: %s", err);
	ck_assert_uint_eq(mcai_blob_format(x->blob, x->size), 2);
	unit_limits_wide(&lim);
	need = mcai_graph_state_size(x->blob, x->size, &lim, &v);
	ck_assert_msg(need, "state size: %s", v.reason);
	x->state = aligned_alloc(8, (need + 7) & ~7U);
	ck_assert_ptr_nonnull(x->state);
	ck_assert_msg(!mcai_graph_verify(&x->g, x->blob, x->size, &lim,
					 x->state, need, &v),
		      "written graph refused: %s at %u", v.reason, v.offset);
	ck_assert_uint_le(x->g.state_used, need);
	x->arena = aligned_alloc(8, (x->g.arena_size + 8) & ~7U);
	ck_assert_ptr_nonnull(x->arena);
	ck_assert_msg(!mcai_graph_check_vectors(&x->g, x->arena, &failed),
		      "test vector %u", failed);
}

static void gx_free(struct gx *x)
{
	free(x->blob);
	free(x->state);
	free(x->arena);
}

static void rnd_fill(uint64_t *seed, s8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = unit_rnd_s8(seed);
}

/* Sum of the arena tensors' sizes: what a plan without reuse takes. */
static u32 naive_arena(const struct gb *b)
{
	u32 i, n = 0;

	for (i = 0; i < b->g.n_tensors; i++)
		if (b->t[i].kind == MCAI_TK_ARENA)
			n += (b->t[i].dims[0] * b->t[i].dims[1] * b->t[i].dims[2] *
			      b->t[i].dims[3] + 3) & ~3U;
	return n;
}

/* ------------------------------------------------------------------ */
/* conv -> max pool -> FC -> softmax */

struct cnn {
	struct gb b;
	struct mcai_conv_params conv;
	struct mcai_pool_params pool;
	struct mcai_fc_params fc;
	struct mcai_softmax_params sm;
	const s8 *cw, *fw;
	const s32 *cb, *fb;
	u32 in, out;
};

static void cnn_build(struct cnn *m, uint64_t seed)
{
	struct gb *b = &m->b;
	u32 x, cw, cb, c1, p1, fw, fb, f1, sm;
	s32 *mult, *shift;

	gb_init(b, "cnn-v2", seed);
	x = gb_act(b, 1, 8, 8, 2, 0.02f, -3);
	m->cw = gb_weights(b, 4 * 3 * 3 * 2);
	m->cb = gb_bias(b, 4);
	cw = gb_tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 4, 3, 3, 2, 0.01f, 0,
		       m->cw);
	b->t[cw].rank = 4;
	cb = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 4, 0.0002f, 0,
		       m->cb);
	b->t[cb].rank = 1;
	c1 = gb_act(b, 1, 8, 8, 4, 0.05f, -128);
	memset(&m->conv, 0, sizeof(m->conv));
	m->conv = (struct mcai_conv_params){
		.batch = 1, .in_h = 8, .in_w = 8, .in_c = 2,
		.out_h = 8, .out_w = 8, .out_c = 4, .k_h = 3, .k_w = 3,
		.stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
		.pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
		.groups = 1, .in_zp = -3, .out_zp = -128, .act_min = -128,
		.act_max = 127,
	};
	gb_requant(b, 4, 1.0 / 400, &mult, &shift);
	m->conv.mult = mult;
	m->conv.shift = shift;
	gb_op(b, MCAI_OP_CONV2D, 3, x, cw, cb, c1,
	      mcai_gw_conv_words(&m->conv, b->words[0]));

	p1 = gb_act(b, 1, 4, 4, 4, 0.05f, -128);
	m->pool = (struct mcai_pool_params){
		.batch = 1, .in_h = 8, .in_w = 8, .c = 4, .out_h = 4,
		.out_w = 4, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2,
		.act_min = -128, .act_max = 127,
	};
	gb_op(b, MCAI_OP_MAX_POOL2D, 1, c1, 0, 0, p1,
	      mcai_gw_pool_words(&m->pool, false, b->words[1]));

	m->fw = gb_weights(b, 10 * 64);
	m->fb = gb_bias(b, 10);
	fw = gb_tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 1, 1, 10, 64, 0.01f, 0,
		       m->fw);
	b->t[fw].rank = 2;
	{
		/* per-channel scales of the FC's rows: informative, checked */
		static const float qs[10] = {
			0.01f, 0.011f, 0.009f, 0.012f, 0.01f, 0.008f, 0.01f,
			0.013f, 0.01f, 0.0095f,
		};

		b->t[fw].qc_scales = qs;
		b->t[fw].qc_count = 10;
		b->t[fw].qc_axis = 2;
	}
	fb = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 10, 0.0005f,
		       0, m->fb);
	f1 = gb_act(b, 1, 1, 1, 10, 0.1f, 5);
	m->fc = (struct mcai_fc_params){
		.batch = 1, .in_len = 64, .out_len = 10, .in_zp = -128,
		.out_zp = 5, .act_min = -128, .act_max = 127,
	};
	gb_requant(b, 10, 1.0 / 900, &mult, &shift);
	m->fc.mult = mult;
	m->fc.shift = shift;
	gb_op(b, MCAI_OP_FC, 3, p1, fw, fb, f1,
	      mcai_gw_fc_words(&m->fc, b->words[2]));

	sm = gb_act(b, 1, 1, 1, 10, 1.0f / 256, -128);
	mcai_softmax_prepare(&m->sm, 1.0, 0.1);
	m->sm.rows = 1;
	m->sm.depth = 10;
	gb_op(b, MCAI_OP_SOFTMAX, 1, f1, 0, 0, sm,
	      mcai_gw_softmax_words(&m->sm, b->words[3]));

	b->g.n_inputs = 1;
	b->g.input[0] = x;
	b->g.input_name[0] = "image";
	b->g.n_outputs = 1;
	b->g.output[0] = sm;
	b->g.output_name[0] = "probs";
	m->in = x;
	m->out = sm;
}

static void cnn_ref(const struct cnn *m, const s8 *in, s8 *out)
{
	s8 c1[256], p1[64], f1[10];

	mcai_conv2d(&m->conv, in, m->cw, m->cb, c1);
	mcai_max_pool2d(&m->pool, c1, p1);
	mcai_fully_connected(&m->fc, p1, m->fw, m->fb, f1);
	mcai_softmax(&m->sm, f1, out);
}

static void set_tv(struct gb *b, u32 count, size_t rec)
{
	s8 *tv = gb_keep(b, malloc(count * rec));

	rnd_fill(&b->seed, tv, count * rec);
	b->g.tv_count = count;
	b->g.tv_inputs = tv;
}

START_TEST(test_graph_cnn)
{
	struct cnn *m = calloc(1, sizeof(*m));
	struct gx x = { 0 };
	s8 in[128], want[10];
	uint64_t seed = 7;
	u32 r;

	ck_assert_ptr_nonnull(m);
	cnn_build(m, 11);
	set_tv(&m->b, 3, 128);
	gx_build(&x, &m->b);
	ck_assert_uint_eq(x.g.n_ops, 4);
	ck_assert_uint_eq(x.g.macs, mcai_conv2d_macs(&m->conv) +
			  mcai_pool2d_macs(&m->pool) + mcai_fc_macs(&m->fc) +
			  mcai_softmax_macs(&m->sm));
	/* The plan reuses memory: conv's 256 bytes and pool's overlap x's. */
	ck_assert_uint_lt(x.g.arena_size, naive_arena(&m->b));
	ck_assert_str_eq(x.g.input_name[0], "image");
	for (r = 0; r < 50; r++) {
		int cls;

		rnd_fill(&seed, in, sizeof(in));
		memcpy(mcai_graph_tensor(&x.g, x.arena, m->in), in, sizeof(in));
		cls = mcai_graph_run(&x.g, x.arena);
		cnn_ref(m, in, want);
		EXPECT(!memcmp(mcai_graph_tensor(&x.g, x.arena, m->out), want, 10),
		       "run %u differs from the reference chain", r);
		EXPECT(cls == (int)mcai_argmax(want, 10), "class of run %u", r);
	}
	gx_free(&x);
	gb_free(&m->b);
	free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* residual: conv 1x1 + input -> global average pool -> FC */

START_TEST(test_graph_residual)
{
	struct gb *b = calloc(1, sizeof(*b));
	struct mcai_conv_params conv;
	struct mcai_add_params add;
	struct mcai_pool_params gp;
	struct mcai_fc_params fc;
	struct gx x = { 0 };
	u32 in, cw, cb, c1, a1, g1, fw, fb, f1, r;
	const s8 *w1, *w2;
	const s32 *b1, *b2;
	s32 *mult, *shift;
	uint64_t seed = 99;

	ck_assert_ptr_nonnull(b);
	gb_init(b, "resnet-v2", 3);
	in = gb_act(b, 1, 4, 4, 8, 0.03f, 2);
	w1 = gb_weights(b, 8 * 8);
	b1 = gb_bias(b, 8);
	cw = gb_tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 8, 1, 1, 8, 0.01f, 0, w1);
	cb = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 8, 0.0003f, 0,
		       b1);
	c1 = gb_act(b, 1, 4, 4, 8, 0.04f, -10);
	conv = (struct mcai_conv_params){
		.batch = 1, .in_h = 4, .in_w = 4, .in_c = 8, .out_h = 4,
		.out_w = 4, .out_c = 8, .k_h = 1, .k_w = 1, .stride_h = 1,
		.stride_w = 1, .dil_h = 1, .dil_w = 1, .groups = 1, .in_zp = 2,
		.out_zp = -10, .act_min = -10, .act_max = 127,
	};
	gb_requant(b, 8, 1.0 / 200, &mult, &shift);
	conv.mult = mult;
	conv.shift = shift;
	gb_op(b, MCAI_OP_CONV2D, 3, in, cw, cb, c1,
	      mcai_gw_conv_words(&conv, b->words[0]));
	a1 = gb_act(b, 1, 4, 4, 8, 0.06f, 0);
	memset(&add, 0, sizeof(add));
	mcai_add_prepare(&add, 0.03, 2, 0.04, -10, 0.06, 0);
	memcpy(add.in1, (u32[4]){ 1, 4, 4, 8 }, sizeof(add.in1));
	memcpy(add.in2, add.in1, sizeof(add.in1));
	memcpy(add.out, add.in1, sizeof(add.in1));
	gb_op(b, MCAI_OP_ADD, 2, in, c1, 0, a1,
	      mcai_gw_add_words(&add, b->words[1]));
	g1 = gb_act(b, 1, 1, 1, 8, 0.06f, 0);
	gp = (struct mcai_pool_params){
		.batch = 1, .in_h = 4, .in_w = 4, .c = 8, .out_h = 1,
		.out_w = 1, .act_min = -128, .act_max = 127,
	};
	gb_op(b, MCAI_OP_GLOBAL_AVG_POOL, 1, a1, 0, 0, g1,
	      mcai_gw_pool_words(&gp, true, b->words[2]));
	w2 = gb_weights(b, 3 * 8);
	b2 = gb_bias(b, 3);
	fw = gb_tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 1, 1, 3, 8, 0.01f, 0, w2);
	fb = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 3, 0.0006f, 0,
		       b2);
	f1 = gb_act(b, 1, 1, 1, 3, 0.05f, 0);
	fc = (struct mcai_fc_params){
		.batch = 1, .in_len = 8, .out_len = 3, .out_zp = 0,
		.act_min = -128, .act_max = 127,
	};
	gb_requant(b, 3, 1.0 / 80, &mult, &shift);
	fc.mult = mult;
	fc.shift = shift;
	gb_op(b, MCAI_OP_FC, 3, g1, fw, fb, f1, mcai_gw_fc_words(&fc, b->words[3]));
	b->g.n_inputs = 1;
	b->g.input[0] = in;
	b->g.n_outputs = 1;
	b->g.output[0] = f1;
	set_tv(b, 2, 128);
	gx_build(&x, b);
	for (r = 0; r < 50; r++) {
		s8 xin[128], rc1[128], ra1[128], rg1[8], rf1[3];

		rnd_fill(&seed, xin, sizeof(xin));
		memcpy(mcai_graph_tensor(&x.g, x.arena, in), xin, sizeof(xin));
		mcai_graph_run(&x.g, x.arena);
		mcai_conv2d(&conv, xin, w1, b1, rc1);
		mcai_add(&add, xin, rc1, ra1);
		mcai_global_avg_pool(&gp, ra1, rg1);
		mcai_fully_connected(&fc, rg1, w2, b2, rf1);
		EXPECT(!memcmp(mcai_graph_tensor(&x.g, x.arena, f1), rf1, 3),
		       "residual run %u differs", r);
	}
	gx_free(&x);
	gb_free(b);
	free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* depthwise (multiplier 2) -> average pool -> reshape -> FC */

START_TEST(test_graph_depthwise)
{
	struct gb *b = calloc(1, sizeof(*b));
	struct mcai_conv_params dw;
	struct mcai_pool_params ap;
	struct mcai_fc_params fc;
	struct gx x = { 0 };
	u32 in, dwt, dbt, d1, p1, r1, fw, fb, f1, r;
	const s8 *w1, *w2;
	const s32 *b1, *b2;
	s32 *mult, *shift;
	uint64_t seed = 5;

	ck_assert_ptr_nonnull(b);
	gb_init(b, "dw-v2", 17);
	in = gb_act(b, 1, 6, 6, 3, 0.02f, 0);
	w1 = gb_weights(b, 3 * 3 * 6);
	b1 = gb_bias(b, 6);
	dwt = gb_tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 1, 3, 3, 6, 0.01f, 0, w1);
	dbt = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 6, 0.0002f, 0,
			b1);
	d1 = gb_act(b, 1, 4, 4, 6, 0.05f, -128);
	dw = (struct mcai_conv_params){
		.batch = 1, .in_h = 6, .in_w = 6, .in_c = 3, .out_h = 4,
		.out_w = 4, .out_c = 6, .k_h = 3, .k_w = 3, .stride_h = 1,
		.stride_w = 1, .dil_h = 1, .dil_w = 1, .groups = 1,
		.out_zp = -128, .act_min = -128, .act_max = 127,
	};
	gb_requant(b, 6, 1.0 / 60, &mult, &shift);
	dw.mult = mult;
	dw.shift = shift;
	gb_op(b, MCAI_OP_DEPTHWISE, 3, in, dwt, dbt, d1,
	      mcai_gw_conv_words(&dw, b->words[0]));
	p1 = gb_act(b, 1, 2, 2, 6, 0.05f, -128);
	ap = (struct mcai_pool_params){
		.batch = 1, .in_h = 4, .in_w = 4, .c = 6, .out_h = 2,
		.out_w = 2, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2,
		.act_min = -128, .act_max = 127,
	};
	gb_op(b, MCAI_OP_AVG_POOL2D, 1, d1, 0, 0, p1,
	      mcai_gw_pool_words(&ap, false, b->words[1]));
	r1 = gb_act(b, 1, 1, 1, 24, 0.05f, -128);
	gb_op(b, MCAI_OP_RESHAPE, 1, p1, 0, 0, r1, 0);
	w2 = gb_weights(b, 2 * 24);
	b2 = gb_bias(b, 2);
	fw = gb_tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 1, 1, 2, 24, 0.01f, 0, w2);
	fb = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 2, 0.0005f, 0,
		       b2);
	f1 = gb_act(b, 1, 1, 1, 2, 0.1f, 0);
	fc = (struct mcai_fc_params){
		.batch = 1, .in_len = 24, .out_len = 2, .in_zp = -128,
		.act_min = -128, .act_max = 127,
	};
	gb_requant(b, 2, 1.0 / 300, &mult, &shift);
	fc.mult = mult;
	fc.shift = shift;
	gb_op(b, MCAI_OP_FC, 3, r1, fw, fb, f1, mcai_gw_fc_words(&fc, b->words[3]));
	b->g.n_inputs = 1;
	b->g.input[0] = in;
	b->g.n_outputs = 1;
	b->g.output[0] = f1;
	set_tv(b, 2, 108);
	gx_build(&x, b);
	for (r = 0; r < 50; r++) {
		s8 xin[108], rd[96], rp[24], rf[2];

		rnd_fill(&seed, xin, sizeof(xin));
		memcpy(mcai_graph_tensor(&x.g, x.arena, in), xin, sizeof(xin));
		mcai_graph_run(&x.g, x.arena);
		mcai_depthwise_conv2d(&dw, xin, w1, b1, rd);
		mcai_avg_pool2d(&ap, rd, rp);
		mcai_fully_connected(&fc, rp, w2, b2, rf);
		EXPECT(!memcmp(mcai_graph_tensor(&x.g, x.arena, f1), rf, 2),
		       "depthwise run %u differs", r);
	}
	gx_free(&x);
	gb_free(b);
	free(b);
}
END_TEST

static const char *try_blob(u8 *blob, u32 size, bool raw, u32 *offset);
#define HOFF(f)	((u32)offsetof(struct mcai_blob2_header, f))

/* ------------------------------------------------------------------ */
/* a tree ensemble on int16 features */

static const struct mcai_tree_node tree_nodes[] = {
	/* tree 0: x0 <= 10 ? (x1 <= -5 ? L0 : L1) : L2 */
	{ 1, 4, 0, 0, 10 },
	{ 2, 3, 0, 1, -5 },
	{ 0, 0, 0, MCAI_TREE_LEAF, 0 },
	{ 0, 0, 3, MCAI_TREE_LEAF, 0 },
	{ 0, 0, 6, MCAI_TREE_LEAF, 0 },
	/* tree 1: x3 <= 0 ? L3 : L4 */
	{ 6, 7, 0, 3, 0 },
	{ 0, 0, 9, MCAI_TREE_LEAF, 0 },
	{ 0, 0, 12, MCAI_TREE_LEAF, 0 },
};
static const u32 tree_roots[] = { 0, 5 };
static const s32 tree_values[] = {
	100, -20, 3, -50, 70, 0, 5, 5, 90, 1, 2, -3, -100, 40, 60,
};
static const s32 tree_base[] = { 1, 2, 3 };

START_TEST(test_graph_tree)
{
	struct gb *b = calloc(1, sizeof(*b));
	struct mcai_tree_ensemble e = {
		.nodes = tree_nodes, .n_nodes = 8, .roots = tree_roots,
		.n_trees = 2, .values = tree_values, .n_values = 15,
		.base = tree_base, .n_features = 4, .n_outputs = 3,
		.max_depth = 2, .aggregate = MCAI_TREE_SUM,
	};
	struct gx x = { 0 };
	s16 *tv;
	u32 in, out, r, nw;
	uint64_t seed = 1;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(mcai_tree_check(&e));
	gb_init(b, "trees-v2", 1);
	in = gb_tensor(b, MCAI_DT_INT16, MCAI_TK_ARENA, 1, 1, 1, 4, 0.5f, 0,
		       NULL);
	out = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_ARENA, 1, 1, 1, 3, 1.0f, 0,
			NULL);
	nw = mcai_gw_tree_count(&e);
	ck_assert_uint_le(nw, MAXW);
	ck_assert_uint_eq(mcai_gw_tree_words(&e, b->words[0]), nw);
	gb_op(b, MCAI_OP_TREE, 1, in, 0, 0, out, nw);
	b->g.n_inputs = 1;
	b->g.input[0] = in;
	b->g.n_outputs = 1;
	b->g.output[0] = out;
	tv = gb_keep(b, malloc(4 * 4 * sizeof(s16)));
	for (r = 0; r < 16; r++)
		tv[r] = (s16)((int)(unit_rnd32(&seed) % 41) - 20);
	b->g.tv_count = 4;
	b->g.tv_inputs = tv;
	gx_build(&x, b);
	for (r = 0; r < 200; r++) {
		s16 f[4];
		s32 want[3];
		int k, cls, rcls;

		for (k = 0; k < 4; k++)
			f[k] = (s16)((int)(unit_rnd32(&seed) % 61) - 30);
		memcpy(mcai_graph_tensor(&x.g, x.arena, in), f, sizeof(f));
		cls = mcai_graph_run(&x.g, x.arena);
		rcls = mcai_tree_ensemble(&e, f, want);
		EXPECT(!memcmp(mcai_graph_tensor(&x.g, x.arena, out), want,
			       sizeof(want)), "tree run %u differs", r);
		EXPECT(cls == rcls, "tree class %d, reference %d", cls, rcls);
	}
	/* the tree's params: counts, child indices, flags; int16 input */
	{
		u32 po = mcai_le32(x.blob + HOFF(params_off));
		u32 t_off = mcai_le32(x.blob + HOFF(tensor_off));
		struct { u32 off; u32 val; } mut[] = {
			{ po + 0, 0x40000000 },		/* n_trees */
			{ po + 4, 0xffffffff },		/* n_nodes */
			{ po + 8, 14 },			/* n_values */
			{ po + 12, 4 },			/* n_outputs */
			{ po + 16, 1000 },		/* max_depth */
			{ po + 16, 1 },			/* too shallow */
			{ po + 20, 7 },			/* aggregate */
			{ po + 24, 256 },		/* link */
			{ po + 32, 2 },			/* has_base */
			{ po + 40, 9 },			/* second root */
			{ po + 44, 99 },		/* left child */
			{ po + 48, 0 },			/* right child to root */
			{ po + 44 + 16 * 2 + 8, 15 },	/* leaf value index */
			{ po + 60, 7 },			/* into the next tree */
			{ po + 56, 7 | 10 << 16 },	/* feature 7 of 4 */
			{ t_off, MCAI_DT_INT8 },	/* int8 features */
		};
		u8 *bad = malloc(x.size);

		ck_assert_ptr_nonnull(bad);
		for (r = 0; r < sizeof(mut) / sizeof(mut[0]); r++) {
			u32 off;

			memcpy(bad, x.blob, x.size);
			if (mut[r].off == t_off)
				bad[t_off] = (u8)mut[r].val;
			else
				mcai_put_le32(bad + mut[r].off, mut[r].val);
			EXPECT(try_blob(bad, x.size, false, &off) != NULL,
			       "tree mutation %u accepted", r);
		}
		free(bad);
	}
	gx_free(&x);
	gb_free(b);
	free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* an autoencoder with the anomaly head: FC -> FC -> LUT -> recon */

START_TEST(test_graph_anomaly)
{
	struct gb *b = calloc(1, sizeof(*b));
	struct mcai_fc_params e1, d1;
	struct mcai_recon_params rp;
	struct gx x = { 0 };
	s8 *lut;
	u32 in, w1t, b1t, h1, w2t, b2t, o1, l1, sc, r;
	const s8 *w1, *w2;
	const s32 *b1, *b2;
	s32 *mult, *shift;
	uint64_t seed = 21;

	ck_assert_ptr_nonnull(b);
	gb_init(b, "ae-v2", 8);
	in = gb_act(b, 1, 1, 1, 16, 1.0f / 128, 0);
	w1 = gb_weights(b, 4 * 16);
	b1 = gb_bias(b, 4);
	w1t = gb_tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 1, 1, 4, 16, 0.01f, 0, w1);
	b1t = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 4, 0.0001f, 0,
			b1);
	h1 = gb_act(b, 1, 1, 1, 4, 0.05f, -128);
	e1 = (struct mcai_fc_params){
		.batch = 1, .in_len = 16, .out_len = 4, .out_zp = -128,
		.act_min = -128, .act_max = 127,
	};
	gb_requant(b, 4, 1.0 / 150, &mult, &shift);
	e1.mult = mult;
	e1.shift = shift;
	gb_op(b, MCAI_OP_FC, 3, in, w1t, b1t, h1, mcai_gw_fc_words(&e1, b->words[0]));
	w2 = gb_weights(b, 16 * 4);
	b2 = gb_bias(b, 16);
	w2t = gb_tensor(b, MCAI_DT_INT8, MCAI_TK_CONST, 1, 1, 16, 4, 0.01f, 0, w2);
	b2t = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_CONST, 1, 1, 1, 16, 0.0005f, 0,
			b2);
	o1 = gb_act(b, 1, 1, 1, 16, 0.02f, 0);
	d1 = (struct mcai_fc_params){
		.batch = 1, .in_len = 4, .out_len = 16, .in_zp = -128,
		.act_min = -128, .act_max = 127,
	};
	gb_requant(b, 16, 1.0 / 40, &mult, &shift);
	d1.mult = mult;
	d1.shift = shift;
	gb_op(b, MCAI_OP_FC, 3, h1, w2t, b2t, o1, mcai_gw_fc_words(&d1, b->words[1]));
	l1 = gb_act(b, 1, 1, 1, 16, 1.0f / 128, 0);
	lut = gb_keep(b, malloc(256));
	mcai_lut_build(mcai_fn_tanh, 0.02, 0, 1.0 / 128, 0, lut);
	r = gb_op(b, MCAI_OP_LUT, 1, o1, 0, 0, l1, 0);
	b->op[r].params = lut;
	b->op[r].params_len = 256;
	sc = gb_tensor(b, MCAI_DT_INT32, MCAI_TK_ARENA, 1, 1, 1, 1, 1e-4f, 0,
		       NULL);
	mcai_recon_prepare(&rp, 16, 1.0 / 128, 0, 1.0 / 128, 0, 1e-4);
	gb_op(b, MCAI_OP_RECON, 2, l1, in, 0, sc,
	      mcai_gw_recon_words(&rp, b->words[3]));
	b->g.head = MCAI_HEAD_THRESHOLD;
	b->g.head_threshold = 100;
	b->g.n_inputs = 1;
	b->g.input[0] = in;
	b->g.n_outputs = 2;
	b->g.output[0] = sc;
	b->g.output[1] = l1;
	b->g.output_name[0] = "score";
	b->g.output_name[1] = "recon";
	set_tv(b, 3, 16);
	gx_build(&x, b);
	ck_assert_uint_eq(x.g.n_outputs, 2);
	for (r = 0; r < 100; r++) {
		s8 xin[16], rh[4], ro[16], rl[16];
		s32 score, got;
		int cls;

		rnd_fill(&seed, xin, sizeof(xin));
		memcpy(mcai_graph_tensor(&x.g, x.arena, in), xin, sizeof(xin));
		cls = mcai_graph_run(&x.g, x.arena);
		mcai_fully_connected(&e1, xin, w1, b1, rh);
		mcai_fully_connected(&d1, rh, w2, b2, ro);
		mcai_lut(lut, ro, rl, 16);
		score = mcai_recon_score(&rp, rl, xin);
		memcpy(&got, mcai_graph_tensor(&x.g, x.arena, sc), 4);
		EXPECT(got == score, "score %d, reference %d", got, score);
		EXPECT(!memcmp(mcai_graph_tensor(&x.g, x.arena, l1), rl, 16),
		       "recon output differs");
		EXPECT(cls == (score >= 100), "threshold class");
	}
	/* through the common entry: score little-endian, then the recon */
	{
		struct mcai_limits lim;
		struct mcai_verdict v;
		struct mcai_model m;
		u32 need;
		void *st;
		u8 out[4 + 16];
		s8 xin[16];

		mcai_limits_default(&lim);
		ck_assert_int_eq(mcai_model_state_size(x.blob, x.size, &lim,
						       &need, &v), 0);
		st = aligned_alloc(8, (need + 7) & ~7U);
		ck_assert_ptr_nonnull(st);
		ck_assert_int_eq(mcai_model_verify(&m, x.blob, x.size, &lim, st,
						   need, &v), 0);
		ck_assert_uint_eq(m.input_len, 16);
		ck_assert_uint_eq(m.output_len, sizeof(out));
		ck_assert_uint_eq(m.output_dtype, MCAI_DT_INT32);
		ck_assert_uint_eq(m.n_classes, 2);
		rnd_fill(&seed, xin, sizeof(xin));
		r = (u32)mcai_model_run(&m, xin, out, x.arena);
		EXPECT(mcai_les32(out) ==
		       *(const s32 *)mcai_graph_tensor(&x.g, x.arena, sc),
		       "score bytes differ");
		EXPECT(!memcmp(out + 4, mcai_graph_tensor(&x.g, x.arena, l1),
			       16), "recon bytes differ");
		EXPECT((int)r == (mcai_les32(out) >= 100), "class");
		free(st);
	}
	gx_free(&x);
	gb_free(b);
	free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* two inputs: mul -> pad -> mean, mean of the other, concat */

START_TEST(test_graph_mixer)
{
	struct gb *b = calloc(1, sizeof(*b));
	struct mcai_mul_params mul;
	struct mcai_pad_params pad = {
		.in = { 1, 2, 3, 4 }, .before = { 0, 1, 0, 0 },
		.after = { 0, 0, 1, 0 },
	};
	struct mcai_mean_params m1, m2;
	struct mcai_concat_input ci[2];
	struct mcai_concat_params cp = {
		.in = ci, .n_in = 2, .axis = 3, .out = { 1, 1, 1, 8 },
		.out_zp = 4,
	};
	struct gx x = { 0 };
	u32 a, bt, mt, pt, e1, e2, ct, r, k;
	uint64_t seed = 77;

	ck_assert_ptr_nonnull(b);
	gb_init(b, "mixer-v2", 4);
	a = gb_act(b, 1, 2, 3, 4, 0.05f, 1);
	bt = gb_act(b, 1, 2, 3, 4, 0.04f, -2);
	mt = gb_act(b, 1, 2, 3, 4, 0.1f, -5);
	memset(&mul, 0, sizeof(mul));
	mcai_mul_prepare(&mul, 0.05, 1, 0.04, -2, 0.1, -5);
	memcpy(mul.in1, (u32[4]){ 1, 2, 3, 4 }, sizeof(mul.in1));
	memcpy(mul.in2, mul.in1, sizeof(mul.in1));
	memcpy(mul.out, mul.in1, sizeof(mul.in1));
	gb_op(b, MCAI_OP_MUL, 2, a, bt, 0, mt, mcai_gw_mul_words(&mul, b->words[0]));
	pt = gb_act(b, 1, 3, 4, 4, 0.1f, -5);
	pad.value = -5;
	gb_op(b, MCAI_OP_PAD, 1, mt, 0, 0, pt, mcai_gw_pad_words(&pad, b->words[1]));
	e1 = gb_act(b, 1, 1, 1, 4, 0.08f, 3);
	memset(&m1, 0, sizeof(m1));
	mcai_mean_prepare(&m1, 0.1, -5, 0.08, 3, 12);
	memcpy(m1.in, (u32[4]){ 1, 3, 4, 4 }, sizeof(m1.in));
	m1.axes = 6;
	gb_op(b, MCAI_OP_MEAN, 1, pt, 0, 0, e1, mcai_gw_mean_words(&m1, b->words[2]));
	e2 = gb_act(b, 1, 1, 1, 4, 0.03f, 0);
	memset(&m2, 0, sizeof(m2));
	mcai_mean_prepare(&m2, 0.05, 1, 0.03, 0, 6);
	memcpy(m2.in, (u32[4]){ 1, 2, 3, 4 }, sizeof(m2.in));
	m2.axes = 6;
	gb_op(b, MCAI_OP_MEAN, 1, a, 0, 0, e2, mcai_gw_mean_words(&m2, b->words[3]));
	ct = gb_act(b, 1, 1, 1, 8, 0.08f, 4);
	memset(ci, 0, sizeof(ci));
	mcai_concat_prepare(&ci[0], 0.08, 3, 0.08);
	mcai_concat_prepare(&ci[1], 0.03, 0, 0.08);
	memcpy(ci[0].dims, (u32[4]){ 1, 1, 1, 4 }, sizeof(ci[0].dims));
	memcpy(ci[1].dims, ci[0].dims, sizeof(ci[0].dims));
	k = gb_op(b, MCAI_OP_CONCAT, 2, e1, e2, 0, ct,
		  mcai_gw_concat_words(&cp, b->words[4]));
	(void)k;
	b->g.n_inputs = 2;
	b->g.input[0] = a;
	b->g.input[1] = bt;
	b->g.n_outputs = 1;
	b->g.output[0] = ct;
	set_tv(b, 3, 48);
	gx_build(&x, b);
	ck_assert_uint_eq(x.g.n_inputs, 2);
	for (r = 0; r < 100; r++) {
		s8 xa[24], xb[24], rm[24], rp[48], r1[4], r2[4], rc[8];

		rnd_fill(&seed, xa, sizeof(xa));
		rnd_fill(&seed, xb, sizeof(xb));
		memcpy(mcai_graph_tensor(&x.g, x.arena, a), xa, sizeof(xa));
		memcpy(mcai_graph_tensor(&x.g, x.arena, bt), xb, sizeof(xb));
		mcai_graph_run(&x.g, x.arena);
		mcai_mul(&mul, xa, xb, rm);
		mcai_pad(&pad, rm, rp);
		mcai_mean(&m1, rp, r1);
		mcai_mean(&m2, xa, r2);
		ci[0].data = r1;
		ci[1].data = r2;
		mcai_concat(&cp, rc);
		EXPECT(!memcmp(mcai_graph_tensor(&x.g, x.arena, ct), rc, 8),
		       "mixer run %u differs", r);
	}
	/* concat's input count and axis, pad's and mean's shapes */
	{
		u32 op_off = mcai_le32(x.blob + HOFF(op_off));
		u32 t_off = mcai_le32(x.blob + HOFF(tensor_off));
		const u32 osz = sizeof(struct mcai_blob2_op);
		const u32 tsz = sizeof(struct mcai_blob2_tensor);
		struct { u32 off; u8 val; } mut[] = {
			{ op_off + 4 * osz + 2, 0 },	/* n_in 0 */
			{ op_off + 4 * osz + 2, 5 },	/* n_in 5 */
			{ op_off + 4 * osz + 2, 1 },	/* n_in 1, params 5 */
			{ mcai_le32(x.blob + HOFF(params_off)) +
			  mcai_le32(x.blob + op_off + 4 * osz + 24), 4 },	/* axis */
			{ op_off + 1 * osz + 28, 28 },	/* pad params short */
			{ t_off + pt * tsz + 8, 2 },	/* padded H */
			{ t_off + e1 * tsz + 16, 2 },	/* mean's C */
			{ op_off + 0 * osz + 8, (u8)mt },	/* mul reads own */
		};
		u8 *bad = malloc(x.size);

		ck_assert_ptr_nonnull(bad);
		for (k = 0; k < sizeof(mut) / sizeof(mut[0]); k++) {
			u32 off;

			memcpy(bad, x.blob, x.size);
			bad[mut[k].off] = mut[k].val;
			EXPECT(try_blob(bad, x.size, false, &off) != NULL,
			       "mixer mutation %u accepted", k);
		}
		free(bad);
	}
	gx_free(&x);
	gb_free(b);
	free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hostile blobs. */

static struct {
	struct cnn *m;
	u8 *blob;
	u32 size;
} good;

static void good_setup(void)
{
	char err[256];

	good.m = calloc(1, sizeof(*good.m));
	ck_assert_ptr_nonnull(good.m);
	cnn_build(good.m, 11);
	set_tv(&good.m->b, 2, 128);
	good.blob = mcai_graph_write(&good.m->b.g, &good.size, err, sizeof(err));
	ck_assert_msg(good.blob != NULL, "%s", err);
}

static void good_teardown(void)
{
	free(good.blob);
	gb_free(&good.m->b);
	free(good.m);
}

/*
 * Verify @blob (resealed first unless @raw); returns the verdict's reason
 * (NULL if accepted) and runs an accepted graph, which must not crash.
 */
static const char *try_blob(u8 *blob, u32 size, bool raw, u32 *offset)
{
	struct mcai_limits lim;
	struct mcai_verdict v = { 0 };
	struct mcai_graph g;
	u32 need;
	void *state;
	int ret;

	mcai_limits_default(&lim);
	if (!raw && size >= MCAI_DIGEST_LEN)
		unit_seal(blob, size);
	need = mcai_graph_state_size(blob, size, &lim, &v);
	if (!need) {
		if (offset)
			*offset = v.offset;
		return v.reason;
	}
	state = aligned_alloc(8, (need + 7) & ~7U);
	ck_assert_ptr_nonnull(state);
	ret = mcai_graph_verify(&g, blob, size, &lim, state, need, &v);
	if (!ret) {
		void *arena = aligned_alloc(8, (g.arena_size + 8) & ~7U);
		u32 failed;

		ck_assert_ptr_nonnull(arena);
		memset(arena, 0, g.arena_size);
		mcai_graph_run(&g, arena);
		mcai_graph_check_vectors(&g, arena, &failed);
		free(arena);
	}
	free(state);
	if (offset)
		*offset = v.offset;
	return ret ? v.reason : NULL;
}

static u32 hdr32(const u8 *b, u32 off)
{
	return mcai_le32(b + off);
}
#define TOFF(i, f) (hdr32(good.blob, HOFF(tensor_off)) + \
		    (i) * (u32)sizeof(struct mcai_blob2_tensor) + \
		    (u32)offsetof(struct mcai_blob2_tensor, f))
#define OOFF(i, f) (hdr32(good.blob, HOFF(op_off)) + \
		    (i) * (u32)sizeof(struct mcai_blob2_op) + \
		    (u32)offsetof(struct mcai_blob2_op, f))
#define IOOFF(i, f) (hdr32(good.blob, HOFF(io_off)) + \
		     (i) * (u32)sizeof(struct mcai_blob2_io) + \
		     (u32)offsetof(struct mcai_blob2_io, f))

struct mutation {
	const char *what;
	u32 off;
	u32 width;		/* 1, 2 or 4 bytes */
	u32 value;
	const char *reason;	/* a substring of the expected reason */
	u32 off2;		/* a second le32 set with it (size), or 0 */
	u32 val2;
};

START_TEST(test_graph_good_accepted)
{
	u32 off;

	ck_assert_ptr_null(try_blob(good.blob, good.size, true, &off));
}
END_TEST

START_TEST(test_graph_hostile_fields)
{
	/* Tensor indices of cnn_build: 0 x, 1 cw, 2 cb, 3 c1, 4 p1, 5 fw,
	 * 6 fb, 7 f1, 8 sm; ops 0 conv, 1 pool, 2 fc, 3 softmax.
	 */
	const struct mutation mut[] = {
		{ "magic", HOFF(magic), 4, 0x12345678, "magic", 0, 0 },
		{ "version", HOFF(format_version), 2, 3, "version", 0, 0 },
		{ "header_size", HOFF(header_size), 2, 128, "header size", 0, 0 },
		{ "total_size", HOFF(total_size), 4, 5, "total_size", 0, 0 },
		{ "flags", HOFF(flags), 4, 1, "flags", 0, 0 },
		{ "reserved", HOFF(reserved) + 8, 4, 1, "reserved", 0, 0 },
		{ "pad0", HOFF(pad0), 1, 1, "reserved", 0, 0 },
		{ "name", HOFF(name), 1, '/', "name", 0, 0 },
		{ "model_version", HOFF(model_version), 4, 0, "version 0", 0, 0 },
		{ "n_tensors 0", HOFF(n_tensors), 4, 0, "tensor count", 0, 0 },
		{ "n_tensors huge", HOFF(n_tensors), 4, 0xffffffff, "tensor count", 0, 0 },
		{ "n_tensors past table", HOFF(n_tensors), 4, 400, "", 0, 0 },
		{ "n_ops 0", HOFF(n_ops), 4, 0, "op count", 0, 0 },
		{ "n_ops huge", HOFF(n_ops), 4, 0x80000000, "op count", 0, 0 },
		{ "n_inputs 0", HOFF(n_inputs), 4, 0, "input count", 0, 0 },
		{ "n_inputs 9", HOFF(n_inputs), 4, 9, "input count", 0, 0 },
		{ "n_outputs 0", HOFF(n_outputs), 4, 0, "output count", 0, 0 },
		{ "tensor_off out", HOFF(tensor_off), 4, 0xfffffff0, "out of bounds", 0, 0 },
		{ "tensor_off odd", HOFF(tensor_off), 4, 138, "misaligned", 0, 0 },
		{ "tensor_off overlap", HOFF(tensor_off), 4, 64, "overlapping", 0, 0 },
		{ "op_off out", HOFF(op_off), 4, 0x7ffffffc, "out of bounds", 0, 0 },
		{ "op_off odd", HOFF(op_off), 4, 1, "misaligned", 0, 0 },
		{ "io_off out", HOFF(io_off), 4, 0xfffffffc, "out of bounds", 0, 0 },
		{ "params_off out", HOFF(params_off), 4, 0xfffffffc, "out of bounds", 0, 0 },
		{ "params_size out", HOFF(params_size), 4, 0xfffffff0, "", 0, 0 },
		{ "data_off out", HOFF(data_off), 4, 0xfffffffc, "out of bounds", 0, 0 },
		{ "data_size out", HOFF(data_size), 4, 0x7ffffff0, "", 0, 0 },
		{ "data_size short", HOFF(data_size), 4, 16, "outside the data", 0, 0 },
		{ "tv_off out", HOFF(tv_off), 4, 0xfffffffc, "test vectors", 0, 0 },
		{ "tv_off overlap", HOFF(tv_off), 4, 136, "test vectors", 0, 0 },
		{ "tv_count huge", HOFF(tv_count), 4, 0x10000000, "test vectors", 0, 0 },
		{ "arena too small", HOFF(arena_size), 4, 16, "outside the arena", 0, 0 },
		{ "arena above max", HOFF(arena_size), 4, 0x7fffffff, "max_arena", 0, 0 },
		{ "head", HOFF(head), 1, 7, "head", 0, 0 },
		{ "threshold on argmax", HOFF(head_threshold), 1, 3, "threshold", 0, 0 },
		{ "threshold head, 10 outputs", HOFF(head), 1, 1, "one output", 0, 0 },
		{ "dtype 0", TOFF(3, dtype), 1, 0, "dtype", 0, 0 },
		{ "dtype 4", TOFF(3, dtype), 1, 4, "dtype", 0, 0 },
		{ "kind 3", TOFF(3, kind), 1, 3, "kind", 0, 0 },
		{ "rank 0", TOFF(3, rank), 1, 0, "rank", 0, 0 },
		{ "rank 5", TOFF(3, rank), 1, 5, "rank", 0, 0 },
		{ "rank 1, dims 4", TOFF(3, rank), 1, 1, "beyond its rank", 0, 0 },
		{ "dim 0", TOFF(3, dims) + 4, 4, 0, "dimension out of range", 0, 0 },
		{ "dim huge", TOFF(3, dims) + 4, 4, 1000000, "dimension out of range", 0, 0 },
		{ "size wrong", TOFF(3, size), 4, 255, "size", 0, 0 },
		{ "zp int8", TOFF(3, zero_point), 4, 128, "zero point", 0, 0 },
		{ "zp int32", TOFF(2, zero_point), 4, 1, "zero point", 0, 0 },
		{ "qc_count", TOFF(1, qc_count), 4, 3, "per-channel", 0, 0 },
		{ "qc_off alone", TOFF(1, qc_off), 4, 4, "per-channel", 0, 0 },
		{ "qc_axis alone", TOFF(1, qc_axis), 1, 1, "per-channel", 0, 0 },
		{ "qc axis", TOFF(5, qc_axis), 1, 3, "per-channel", 0, 0 },
		{ "qc axis 4", TOFF(5, qc_axis), 1, 4, "per-channel", 0, 0 },
		{ "qc_off out", TOFF(5, qc_off), 4, 0xfffffff0, "per-channel", 0, 0 },
		{ "qc_off odd", TOFF(5, qc_off), 4, 2, "per-channel", 0, 0 },
		{ "const offset", TOFF(1, offset), 4, 0xfffffff0, "outside the data", 0, 0 },
		{ "const odd", TOFF(1, offset), 4, 2, "misaligned", 0, 0 },
		{ "consts overlap", TOFF(2, offset), 4, 0, "overlapping constants", 0, 0 },
		{ "arena offset", TOFF(3, offset), 4, 0xfffffff0, "outside the arena", 0, 0 },
		{ "tensor reserved", TOFF(3, reserved) + 4, 4, 9, "reserved", 0, 0 },
		{ "op type 0", OOFF(0, type), 2, 0, "unknown op", 0, 0 },
		{ "op type 99", OOFF(0, type), 2, 99, "unknown op", 0, 0 },
		{ "op n_in", OOFF(0, n_in), 1, 2, "input count", 0, 0 },
		{ "op n_out", OOFF(0, n_out), 1, 2, "output count", 0, 0 },
		{ "op input range", OOFF(0, in), 4, 9, "index out of range", 0, 0 },
		{ "op input huge", OOFF(0, in) + 4, 4, 0xffffffff, "index out of range", 0, 0 },
		{ "op unused input", OOFF(1, in) + 8, 4, 1, "unused", 0, 0 },
		{ "op output range", OOFF(0, out), 4, 99, "index out of range", 0, 0 },
		{ "op writes const", OOFF(0, out), 4, 1, "constant", 0, 0 },
		{ "op writes input", OOFF(0, out), 4, 0, "written twice", 0, 0 },
		{ "written twice", OOFF(1, out), 4, 3, "written twice", 0, 0 },
		{ "forward ref", OOFF(1, in), 4, 7, "no earlier op", 0, 0 },
		{ "cycle", OOFF(0, in), 4, 8, "no earlier op", 0, 0 },
		{ "self loop", OOFF(1, in), 4, 4, "no earlier op", 0, 0 },
		{ "params_off out", OOFF(0, params_off), 4, 0xfffffffc, "params out", 0, 0 },
		{ "params_off odd", OOFF(0, params_off), 4, 2, "params out", 0, 0 },
		{ "params_len out", OOFF(3, params_len), 4, 0xffffff00, "params out", 0, 0 },
		{ "params_len short", OOFF(0, params_len), 4, 40, "params length", 0, 0 },
		{ "params_len odd", OOFF(0, params_len), 4, 41, "whole words", 0, 0 },
		{ "op reserved", OOFF(2, reserved), 4, 1, "reserved", 0, 0 },
		{ "conv weights not const", TOFF(1, kind), 1, MCAI_TK_ARENA, "", 0, 0 },
		{ "conv out_h", TOFF(3, dims) + 4, 4, 7, "output", TOFF(3, size), 224 },
		{ "fc weights rows", TOFF(5, dims) + 8, 4, 9, "per-channel",
		  TOFF(5, size), 576 },
		{ "fc output", TOFF(7, dims) + 12, 4, 11, "fc: output",
		  TOFF(7, size), 11 },
		{ "pool channels", TOFF(4, dims) + 12, 4, 3, "pool: output",
		  TOFF(4, size), 48 },
		{ "conv filter", TOFF(1, dims) + 12, 4, 1, "conv: filter",
		  TOFF(1, size), 36 },
		{ "softmax zp", TOFF(8, zero_point), 4, 0, "softmax", 0, 0 },
		{ "bias dtype", TOFF(2, dtype), 1, MCAI_DT_INT8, "", 0, 0 },
		{ "io tensor", IOOFF(0, tensor), 4, 99, "io tensor", 0, 0 },
		{ "io const", IOOFF(0, tensor), 4, 1, "constant", 0, 0 },
		{ "io name", IOOFF(1, name), 1, 0, "io name", 0, 0 },
		{ "io reserved", IOOFF(1, reserved), 4, 1, "reserved", 0, 0 },
		{ "output is input", IOOFF(1, tensor), 4, 0, "output is an input", 0, 0 },
		{ "output moved", IOOFF(1, tensor), 4, 3, "", 0, 0 },
	};
	u32 i;

	for (i = 0; i < sizeof(mut) / sizeof(mut[0]); i++) {
		u8 *b = malloc(good.size);
		const char *why;
		u32 off = 0;

		ck_assert_ptr_nonnull(b);
		memcpy(b, good.blob, good.size);
		ck_assert_uint_le(mut[i].off + mut[i].width, good.size);
		if (mut[i].width == 1)
			b[mut[i].off] = (u8)mut[i].value;
		else if (mut[i].width == 2)
			mcai_put_le16(b + mut[i].off, (u16)mut[i].value);
		else
			mcai_put_le32(b + mut[i].off, mut[i].value);
		if (mut[i].off2)
			mcai_put_le32(b + mut[i].off2, mut[i].val2);
		why = try_blob(b, good.size, false, &off);
		EXPECT(why != NULL, "%s: accepted", mut[i].what);
		EXPECT(strstr(why, mut[i].reason) != NULL,
		       "%s: reason \"%s\", expected \"%s\"", mut[i].what, why,
		       mut[i].reason);
		EXPECT(off < good.size, "%s: offset %u", mut[i].what, off);
		free(b);
	}
}
END_TEST

/* The reason's offset names the entry at fault. */
START_TEST(test_graph_hostile_offsets)
{
	u8 *b = malloc(good.size);
	const char *why;
	u32 off;

	ck_assert_ptr_nonnull(b);
	memcpy(b, good.blob, good.size);
	mcai_put_le32(b + TOFF(7, dims) + 12, 11);	/* fc's output width */
	mcai_put_le32(b + TOFF(7, size), 11);
	why = try_blob(b, good.size, false, &off);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_eq(off, OOFF(2, type));		/* op 2, the FC */
	memcpy(b, good.blob, good.size);
	b[TOFF(6, dtype)] = 9;
	why = try_blob(b, good.size, false, &off);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_eq(off, TOFF(6, dtype));		/* tensor 6 */
	free(b);
}
END_TEST

/* A plan that puts two live tensors on the same bytes is refused. */
START_TEST(test_graph_hostile_overlap)
{
	u8 *b = malloc(good.size);
	const char *why;
	u32 off, i;

	ck_assert_ptr_nonnull(b);
	/* pool output (4) and the conv output (3) are live together */
	memcpy(b, good.blob, good.size);
	mcai_put_le32(b + TOFF(4, offset), hdr32(good.blob, TOFF(3, offset)) + 4);
	why = try_blob(b, good.size, false, &off);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "live tensors overlap in the arena");
	/* the input (0) is alive during op 0 with conv's output (3) */
	memcpy(b, good.blob, good.size);
	mcai_put_le32(b + TOFF(0, offset), hdr32(good.blob, TOFF(3, offset)));
	why = try_blob(b, good.size, false, &off);
	ck_assert_ptr_nonnull(why);
	/* every arena tensor moved onto every other: refused or disjoint lives */
	for (i = 0; i < 9; i++) {
		u32 j;

		if (i == 1 || i == 2 || i == 5 || i == 6)
			continue;
		for (j = 0; j < 9; j++) {
			if (j == i || j == 1 || j == 2 || j == 5 || j == 6)
				continue;
			memcpy(b, good.blob, good.size);
			mcai_put_le32(b + TOFF(i, offset),
				      hdr32(good.blob, TOFF(j, offset)));
			/* j == i +- 1 share an op: must be refused */
			why = try_blob(b, good.size, false, &off);
			if (j + 1 == i || i + 1 == j)
				EXPECT(why != NULL, "tensor %u on %u accepted", i, j);
		}
	}
	free(b);
}
END_TEST

/* Dimensions whose product overflows, and the largest allowed. */
START_TEST(test_graph_hostile_dims)
{
	u8 *b = malloc(good.size);
	const char *why;
	u32 off, d;

	ck_assert_ptr_nonnull(b);
	memcpy(b, good.blob, good.size);
	for (d = 0; d < 4; d++)
		mcai_put_le32(b + TOFF(3, dims) + 4 * d, 4096);
	why = try_blob(b, good.size, false, &off);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "tensor too large");
	memcpy(b, good.blob, good.size);
	mcai_put_le32(b + TOFF(3, dims) + 8, 0xffffffff);
	ck_assert_ptr_nonnull(try_blob(b, good.size, false, &off));
	/* truncations of the blob: every length */
	for (d = 0; d < good.size; d += 7)
		ck_assert_ptr_nonnull(try_blob(good.blob, d, true, &off));
	/* a v1 header in front: v1 stays v1 */
	ck_assert_uint_eq(mcai_blob_format(good.blob, 4), 0);
	free(b);
}
END_TEST

/* Random mutations, resealed: any verdict, never a crash. */
START_TEST(test_graph_hostile_random)
{
	u8 *b = malloc(good.size);
	uint64_t seed = 0x5eed;
	u32 r, accepted = 0;

	ck_assert_ptr_nonnull(b);
	for (r = 0; r < 3000; r++) {
		u32 n = 1 + unit_rnd32(&seed) % 4, k, off;

		memcpy(b, good.blob, good.size);
		for (k = 0; k < n; k++) {
			u32 at = unit_rnd32(&seed) % (good.size - MCAI_DIGEST_LEN);

			/* mostly the tables, where the structure is */
			if (unit_rnd32(&seed) % 4)
				at = unit_rnd32(&seed) %
				     hdr32(good.blob, HOFF(params_off));
			b[at] = (u8)unit_rnd32(&seed);
		}
		if (!try_blob(b, good.size, false, &off))
			accepted++;
	}
	ck_assert_uint_lt(accepted, 3000);
	free(b);
}
END_TEST

/* Each format's verifier refuses the other's blobs; the state is bounded. */
START_TEST(test_graph_formats_and_state)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	struct mcai_graph g;
	struct unit_model um;
	struct mcai_blob_spec s;
	static const s8 w[6] = { 1, 2, 3, 4, 5, 6 };
	static const s32 bias[2], mult[2] = { 1 << 30, 1 << 30 }, shift[2];
	void *state;
	u32 need;

	mcai_limits_default(&lim);
	ck_assert_int_eq(mcai_verify(&m, good.blob, good.size, &lim, &v), -1);
	ck_assert_str_eq(v.reason, "unsupported format version");
	memset(&s, 0, sizeof(s));
	s.name = "v1";
	s.version = 1;
	s.input_scale = s.output_scale = 0.1f;
	s.n_layers = 1;
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .in_len = 3, .out_len = 2,
		.clamp_min = -128, .clamp_max = 127, .weights = w,
		.bias = bias, .mult = mult, .shift = shift,
	};
	unit_model_build(&um, &s);
	ck_assert_uint_eq(mcai_blob_format(um.blob, um.size), 1);
	need = mcai_graph_state_size(um.blob, um.size, &lim, &v);
	state = malloc(need + 64);
	ck_assert_ptr_nonnull(state);
	ck_assert_int_eq(mcai_graph_verify(&g, um.blob, um.size, &lim, state,
					   need + 64, &v), -1);
	ck_assert_ptr_nonnull(v.reason);
	free(state);
	unit_model_free(&um);

	/* a state one byte short of the bound is refused up front */
	need = mcai_graph_state_size(good.blob, good.size, &lim, &v);
	ck_assert_uint_gt(need, 0);
	state = aligned_alloc(8, (need + 7) & ~7U);
	ck_assert_ptr_nonnull(state);
	ck_assert_int_eq(mcai_graph_verify(&g, good.blob, good.size, &lim,
					   state, need - 1, &v), -1);
	ck_assert_str_eq(v.reason, "state buffer too small");
	ck_assert_int_eq(mcai_graph_verify(&g, good.blob, good.size, &lim,
					   state, need, &v), 0);
	ck_assert_uint_le(g.state_used, need);
	free(state);
}
END_TEST

/*
 * The entry point for both formats (models/engine/model.c): a v2 graph's
 * summary, its test vectors through mcai_model_check_vector(), the
 * record offsets a refusal names, and max_macs.
 */
START_TEST(test_graph_model_entry)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	const struct mcai_graph *g;
	u32 need, t, rec;
	void *state;
	u8 *arena, *scores;

	mcai_limits_default(&lim);
	ck_assert_int_eq(mcai_model_state_size(good.blob, good.size, &lim,
					       &need, &v), 0);
	ck_assert_uint_gt(need, sizeof(struct mcai_graph));
	state = aligned_alloc(8, (need + 7) & ~7U);
	ck_assert_ptr_nonnull(state);
	ck_assert_int_eq(mcai_model_verify(&m, good.blob, good.size, &lim,
					   state, need - 1 - (need - 1) % 8 - 8,
					   &v), -1);
	ck_assert_msg(!mcai_model_verify(&m, good.blob, good.size, &lim, state,
					 need, &v), "%s", v.reason);
	g = m.graph;
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(m.format, 2);
	ck_assert_uint_eq(m.input_len, g->tv_in_bytes);
	ck_assert_uint_eq(m.output_len, g->tv_out_bytes);
	ck_assert_uint_eq(m.macs, g->macs);
	ck_assert_uint_eq(m.arena_size % 8, 0);
	ck_assert_uint_ge(m.arena_size, g->arena_size);
	ck_assert_uint_eq(m.tv_count, 2);
	rec = m.input_len + m.output_len;
	ck_assert_uint_eq(mcai_model_vector_offset(&m, 1),
			  (u32)(g->tv - good.blob) + rec);
	arena = aligned_alloc(8, m.arena_size);
	scores = malloc(m.output_len);
	ck_assert_ptr_nonnull(arena);
	ck_assert_ptr_nonnull(scores);
	for (t = 0; t < m.tv_count; t++)
		ck_assert_int_eq(mcai_model_check_vector(&m, t, arena, scores),
				 0);
	/* the class is the head's over the bytes the run wrote */
	ck_assert_int_eq(mcai_model_run(&m, g->tv, scores, arena),
			 mcai_graph_head(g, arena));

	/* max_macs: the graph's own count passes, one less is refused */
	lim.max_macs = m.macs;
	ck_assert_int_eq(mcai_model_verify(&m, good.blob, good.size, &lim,
					   state, need, &v), 0);
	lim.max_macs = m.macs - 1;
	ck_assert_int_eq(mcai_model_verify(&m, good.blob, good.size, &lim,
					   state, need, &v), -1);
	ck_assert_str_eq(v.reason, "graph has more MACs than max_macs");
	free(arena);
	free(scores);
	free(state);
}
END_TEST

/* The planner reuses memory and its plan is what the verifier accepts. */
START_TEST(test_graph_plan)
{
	struct cnn *m = calloc(1, sizeof(*m));
	u32 arena;

	ck_assert_ptr_nonnull(m);
	cnn_build(m, 2);
	arena = mcai_gw_plan(&m->b.g);
	/* x 128 + conv 256 live together; pool, fc, softmax fit around */
	ck_assert_uint_eq(arena, 128 + 256);
	ck_assert_uint_lt(arena, naive_arena(&m->b));
	gb_free(&m->b);
	free(m);
}
END_TEST

Suite *graph_suite(void)
{
	Suite *s = suite_create("graph");
	TCase *tc = tcase_create("build");
	TCase *th = tcase_create("hostile");

	tcase_add_test(tc, test_graph_cnn);
	tcase_add_test(tc, test_graph_residual);
	tcase_add_test(tc, test_graph_depthwise);
	tcase_add_test(tc, test_graph_tree);
	tcase_add_test(tc, test_graph_anomaly);
	tcase_add_test(tc, test_graph_plan);
	tcase_add_test(tc, test_graph_mixer);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(th, good_setup, good_teardown);
	tcase_set_timeout(th, 60);
	tcase_add_test(th, test_graph_good_accepted);
	tcase_add_test(th, test_graph_hostile_fields);
	tcase_add_test(th, test_graph_hostile_offsets);
	tcase_add_test(th, test_graph_hostile_overlap);
	tcase_add_test(th, test_graph_hostile_dims);
	tcase_add_test(th, test_graph_hostile_random);
	tcase_add_test(th, test_graph_formats_and_state);
	tcase_add_test(th, test_graph_model_entry);
	suite_add_tcase(s, th);
	return s;
}
