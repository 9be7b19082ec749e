// SPDX-License-Identifier: GPL-2.0
/*
 * The int8 engine (models/engine/engine.c) against a plain reference written
 * here: 64-bit dot products, bias, saturation to 32 bits, the exact
 * requantisation reference of helpers.c, output zero point, clamp.
 * Models are built with the writer and verified before they run; arenas
 * and score buffers are heap blocks of exactly the advertised size, so
 * AddressSanitizer sees any overrun.
 */
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/engine.h"
#include "models/engine/verify.h"

/* Storage for one random layer of a spec. */
struct rlayer {
	s8 *w;
	s32 *bias, *mult, *shift;
	s8 lut[256];
};

static void rlayer_free(struct rlayer *r)
{
	free(r->w);
	free(r->bias);
	free(r->mult);
	free(r->shift);
	memset(r, 0, sizeof(*r));
}

/*
 * A random FC layer.  Multipliers in [2^30, 2^31) and shifts chosen so
 * that most outputs land inside int8 and some saturate.
 */
static void rand_fc(struct mcai_layer_spec *l, struct rlayer *r, u32 in,
		    u32 out, s8 in_zp, s8 out_zp, uint64_t *seed)
{
	u32 i;
	int base_shift = -2;

	for (i = in; i > 1; i >>= 2)	/* ~ -log2(127 * 64 * sqrt(in)) */
		base_shift--;
	base_shift -= 7;
	r->w = malloc((size_t)in * out);
	r->bias = malloc(out * sizeof(s32));
	r->mult = malloc(out * sizeof(s32));
	r->shift = malloc(out * sizeof(s32));
	ck_assert(r->w && r->bias && r->mult && r->shift);
	for (i = 0; i < in * out; i++)
		r->w[i] = unit_rnd_w(seed);
	for (i = 0; i < out; i++) {
		r->bias[i] = (s32)(unit_rnd32(seed) % 20001) - 10000;
		r->mult[i] = (s32)((1U << 30) | (unit_rnd32(seed) >> 2));
		r->shift[i] = base_shift + (int)(unit_rnd32(seed) % 5);
	}
	memset(l, 0, sizeof(*l));
	l->type = MCAI_LAYER_FC;
	l->in_zp = in_zp;
	l->out_zp = out_zp;
	l->clamp_min = -128;
	l->clamp_max = 127;
	l->in_len = in;
	l->out_len = out;
	l->weights = r->w;
	l->bias = r->bias;
	l->mult = r->mult;
	l->shift = r->shift;
}

static void rand_lut(struct mcai_layer_spec *l, struct rlayer *r, u32 len,
		     s8 in_zp, s8 out_zp, uint64_t *seed)
{
	u32 i;

	for (i = 0; i < 256; i++)
		r->lut[i] = unit_rnd_s8(seed);
	memset(l, 0, sizeof(*l));
	l->type = MCAI_LAYER_LUT;
	l->activation = MCAI_ACT_TANH;
	l->in_zp = in_zp;
	l->out_zp = out_zp;
	l->clamp_min = -128;
	l->clamp_max = 127;
	l->in_len = len;
	l->out_len = len;
	l->lut = r->lut;
}

/* The reference: one layer, straight from the spec's arrays. */
static void ref_layer(const struct mcai_layer_spec *l, const s8 *in, s8 *out)
{
	u32 o, i;

	if (l->type == MCAI_LAYER_LUT) {
		for (i = 0; i < l->in_len; i++)
			out[i] = l->lut[in[i] + 128];
		return;
	}
	for (o = 0; o < l->out_len; o++) {
		int64_t acc = 0, v;

		for (i = 0; i < l->in_len; i++)
			acc += (int64_t)(in[i] - l->in_zp) *
			       l->weights[(size_t)o * l->in_len + i];
		acc += l->bias[o];
		if (acc > INT32_MAX)
			acc = INT32_MAX;
		if (acc < INT32_MIN)
			acc = INT32_MIN;
		v = (int64_t)unit_ref_requant((s32)acc, l->mult[o], l->shift[o]) +
		    l->out_zp;
		if (v < l->clamp_min)
			v = l->clamp_min;
		if (v > l->clamp_max)
			v = l->clamp_max;
		out[o] = (s8)v;
	}
}

static int ref_head(const struct mcai_blob_spec *s, const s8 *scores)
{
	u32 i, best = 0, n = s->layer[s->n_layers - 1].out_len;

	if (s->head == MCAI_HEAD_THRESHOLD)
		return scores[0] >= s->head_threshold ? 1 : 0;
	for (i = 0; i < n; i++)
		if (scores[i] > scores[best])
			best = i;
	return (int)best;
}

/* Run the whole spec through the reference; returns the class. */
static int ref_run(const struct mcai_blob_spec *s, const s8 *input, s8 *scores)
{
	s8 *a = malloc(MCAI_MAX_DIM), *b = malloc(MCAI_MAX_DIM);
	const s8 *src = input;
	u32 i;

	ck_assert(a && b);
	for (i = 0; i < s->n_layers; i++) {
		s8 *dst = i + 1 == s->n_layers ? scores : (i & 1) ? b : a;

		ref_layer(&s->layer[i], src, dst);
		src = dst;
	}
	free(a);
	free(b);
	return ref_head(s, scores);
}

/*
 * Run @t on @n random inputs and compare scores and class with the
 * reference; arena and scores are exactly sized heap blocks.
 */
static void compare_runs(const struct unit_model *t,
			 const struct mcai_blob_spec *s, u32 n, uint64_t *seed)
{
	const struct mcai_model *m = &t->m;
	s8 *in = malloc(m->input_len), *want = malloc(m->output_len);
	s8 *got = malloc(m->output_len);
	void *arena = malloc(m->arena_size ? m->arena_size : 1);
	u32 k, i;

	ck_assert(in && want && got && arena);
	for (k = 0; k < n; k++) {
		int cls, rcls;

		for (i = 0; i < m->input_len; i++)
			in[i] = unit_rnd_s8(seed);
		memset(arena, (int)(k * 37), m->arena_size ? m->arena_size : 1);
		cls = mcai_engine_run(m, in, got, arena);
		rcls = ref_run(s, in, want);
		for (i = 0; i < m->output_len; i++)
			ck_assert_msg(got[i] == want[i],
				      "run %u: score %u = %d, reference %d", k, i,
				      got[i], want[i]);
		ck_assert_int_eq(cls, rcls);
	}
	free(in);
	free(want);
	free(got);
	free(arena);
}

static void spec_init(struct mcai_blob_spec *s, u32 n_layers)
{
	memset(s, 0, sizeof(*s));
	s->name = "unit-engine";
	s->version = 1;
	s->head = MCAI_HEAD_ARGMAX;
	s->input_scale = 0.5f;
	s->output_scale = 0.25f;
	s->n_layers = n_layers;
}

/* Shapes covering the 4-row unrolled loop, the remainder loop, both. */
static const u32 fc_shapes[][2] = {
	{ 1, 1 }, { 1, 4 }, { 3, 3 }, { 2, 5 }, { 16, 8 }, { 17, 7 },
	{ 33, 12 }, { 64, 13 }, { 5, 2 }, { 200, 9 }, { 7, 16 }, { 128, 1 },
};

START_TEST(fc_matches_reference)
{
	uint64_t seed = 1000 + (uint64_t)_i;
	u32 in = fc_shapes[_i][0], out = fc_shapes[_i][1];
	int rep;

	for (rep = 0; rep < 12; rep++) {
		struct mcai_blob_spec s;
		struct rlayer r;
		struct unit_model t;

		spec_init(&s, 1);
		rand_fc(&s.layer[0], &r, in, out, unit_rnd_s8(&seed),
			unit_rnd_s8(&seed), &seed);
		if (rep & 1) {	/* random clamp window */
			s8 a = unit_rnd_s8(&seed), b = unit_rnd_s8(&seed);

			s.layer[0].clamp_min = a < b ? a : b;
			s.layer[0].clamp_max = a < b ? b : a;
		}
		unit_model_build(&t, &s);
		ck_assert_uint_eq(t.m.arena_size, 0);
		compare_runs(&t, &s, 16, &seed);
		unit_model_free(&t);
		rlayer_free(&r);
	}
}
END_TEST

/*
 * Zero weights, identity requantisation (2^30 * 2^1 / 2^31): row r must
 * output its own bias + out_zp, whichever loop computed it.
 */
START_TEST(fc_rows_keep_their_channel)
{
	static const u32 outs[] = { 1, 3, 4, 5, 7, 8, 11, 12, 13 };
	u32 k;

	for (k = 0; k < sizeof(outs) / sizeof(outs[0]); k++) {
		u32 out = outs[k], in = 6, i;
		s8 w[13 * 6], input[6], scores[13], arena[1];
		s32 bias[13], mult[13], shift[13];
		struct mcai_blob_spec s;
		struct unit_model t;

		memset(w, 0, sizeof(w));
		for (i = 0; i < out; i++) {
			bias[i] = (s32)i * 9 - 50;
			mult[i] = 1 << 30;
			shift[i] = 1;
		}
		spec_init(&s, 1);
		s.layer[0] = (struct mcai_layer_spec){
			.type = MCAI_LAYER_FC, .in_zp = 0, .out_zp = 7,
			.clamp_min = -128, .clamp_max = 127,
			.in_len = in, .out_len = out, .weights = w,
			.bias = bias, .mult = mult, .shift = shift,
		};
		unit_model_build(&t, &s);
		memset(input, 99, sizeof(input));
		mcai_engine_run(&t.m, input, scores, arena);
		for (i = 0; i < out; i++)
			ck_assert_int_eq(scores[i], (int)i * 9 - 50 + 7);
		unit_model_free(&t);

		/* Now one weight per row: row r sees input r (mod in). */
		for (i = 0; i < out; i++) {
			w[i * in + i % in] = (s8)(i + 1);
			bias[i] = 0;
		}
		for (i = 0; i < in; i++)
			input[i] = (s8)i;
		unit_model_build(&t, &s);
		mcai_engine_run(&t.m, input, scores, arena);
		for (i = 0; i < out; i++)
			ck_assert_int_eq(scores[i],
					 (int)(i + 1) * (int)(i % in) + 7);
		unit_model_free(&t);
		memset(w, 0, sizeof(w));
	}
}
END_TEST

static void relu_case(u8 act, s8 out_zp, s8 cmax)
{
	uint64_t seed = 77 + (uint64_t)act;
	struct mcai_blob_spec s;
	struct rlayer r;
	struct unit_model t;
	s8 in[24], scores[11], arena[1];
	int k, i, lo = 0, hi = 0;

	spec_init(&s, 1);
	rand_fc(&s.layer[0], &r, 24, 11, -3, out_zp, &seed);
	s.layer[0].activation = act;
	s.layer[0].clamp_min = out_zp;
	s.layer[0].clamp_max = cmax;
	unit_model_build(&t, &s);
	compare_runs(&t, &s, 64, &seed);
	for (k = 0; k < 200; k++) {
		for (i = 0; i < 24; i++)
			in[i] = unit_rnd_s8(&seed);
		mcai_engine_run(&t.m, in, scores, arena);
		for (i = 0; i < 11; i++) {
			ck_assert_int_ge(scores[i], out_zp);
			ck_assert_int_le(scores[i], cmax);
			lo += scores[i] == out_zp;
			hi += scores[i] == cmax;
		}
	}
	/* Both clamps were really exercised. */
	ck_assert_int_gt(lo, 0);
	ck_assert_int_gt(hi, 0);
	unit_model_free(&t);
	rlayer_free(&r);
}

START_TEST(fc_relu_clamp)
{
	relu_case(MCAI_ACT_RELU, -20, 127);
	relu_case(MCAI_ACT_RELU, -128, 127);
}
END_TEST

START_TEST(fc_relu6_clamp)
{
	/* With output scale 0.1, 6.0 is 60 steps above the zero point. */
	relu_case(MCAI_ACT_RELU6, -10, 50);
	relu_case(MCAI_ACT_RELU6, -128, -68);
}
END_TEST

/* Accumulators beyond int32 after the bias, and results beyond int8. */
START_TEST(fc_saturation)
{
	s8 w[2 * 4], in[4], scores[2], arena[1];
	s32 bias[2] = { INT32_MAX, INT32_MIN }, mult[2] = { 1 << 30, 1 << 30 };
	s32 shift[2] = { 1, 1 };
	struct mcai_blob_spec s;
	struct unit_model t;
	int i;

	for (i = 0; i < 4; i++) {
		w[i] = 127;		/* row 0: positive, on top of INT32_MAX */
		w[4 + i] = 127;		/* row 1: negative inputs push below */
	}
	spec_init(&s, 1);
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .in_zp = 0, .out_zp = 0,
		.clamp_min = -128, .clamp_max = 127, .in_len = 4, .out_len = 2,
		.weights = w, .bias = bias, .mult = mult, .shift = shift,
	};
	unit_model_build(&t, &s);
	memset(in, 127, sizeof(in));
	mcai_engine_run(&t.m, in, scores, arena);
	ck_assert_int_eq(scores[0], 127);
	ck_assert_int_eq(scores[1], -128);	/* INT32_MIN + 4*127*127 */
	memset(in, -128, sizeof(in));
	mcai_engine_run(&t.m, in, scores, arena);
	ck_assert_int_eq(scores[0], 127);	/* INT32_MAX - ... still huge */
	ck_assert_int_eq(scores[1], -128);
	unit_model_free(&t);

	/* Small accumulators, but the scale sends them past +-127 + zp. */
	bias[0] = 200;
	bias[1] = -200;
	s.layer[0].out_zp = 5;
	memset(w, 0, sizeof(w));
	unit_model_build(&t, &s);
	mcai_engine_run(&t.m, in, scores, arena);
	ck_assert_int_eq(scores[0], 127);
	ck_assert_int_eq(scores[1], -128);
	unit_model_free(&t);
	bias[0] = 122;		/* 122 + 5 = 127 exactly, -133 + 5 = -128 */
	bias[1] = -133;
	unit_model_build(&t, &s);
	mcai_engine_run(&t.m, in, scores, arena);
	ck_assert_int_eq(scores[0], 127);
	ck_assert_int_eq(scores[1], -128);
	unit_model_free(&t);
}
END_TEST

/*
 * Zero points at -128 and 127 with inputs at the opposite end give
 * |in - zp| = 255; at the format's widest layer (MCAI_MAX_DIM) with
 * |w| = 127 the dot product is within 1% of INT32_MAX.  UBSan would
 * flag an overflowing accumulator.
 */
START_TEST(fc_zero_point_extremes)
{
	static const s8 zps[] = { -128, 127 };
	const u32 in = MCAI_MAX_DIM, out = 5;
	s8 *w = malloc((size_t)in * out), *input = malloc(in);
	s8 *scores = malloc(out), arena[1];
	s32 bias[5] = { 0, 0, 0, 0, 0 }, mult[5], shift[5];
	struct mcai_blob_spec s;
	struct unit_model t;
	u32 z, i, o;

	ck_assert(w && input && scores);
	for (o = 0; o < out; o++) {
		mult[o] = 1 << 30;
		shift[o] = -24 - (s32)o;	/* 2.1e9 / 2^25 ~ 63 */
		for (i = 0; i < in; i++)	/* rows alternate the sign */
			w[(size_t)o * in + i] = (o & 1) ? -127 : 127;
	}
	for (z = 0; z < 2; z++) {
		uint64_t seed = z;

		spec_init(&s, 1);
		s.layer[0] = (struct mcai_layer_spec){
			.type = MCAI_LAYER_FC, .in_zp = zps[z], .out_zp = zps[1 - z],
			.clamp_min = -128, .clamp_max = 127, .in_len = in,
			.out_len = out, .weights = w, .bias = bias, .mult = mult,
			.shift = shift,
		};
		unit_model_build(&t, &s);
		memset(input, zps[1 - z], in);
		mcai_engine_run(&t.m, input, scores, arena);
		{
			s8 want[5];

			ref_layer(&s.layer[0], input, want);
			for (o = 0; o < out; o++)
				ck_assert_int_eq(scores[o], want[o]);
			/* +-255 * 127 * 65536 / 2 / 2^24 = +-63.25 (row 0),
			 * / 2^25 = +-31.6 (row 1, opposite sign) */
			ck_assert_int_eq(want[0], z ? -128 : 127);
			ck_assert_int_eq(want[1], z ? -128 + 32 : 127 - 32);
		}
		compare_runs(&t, &s, 2, &seed);
		unit_model_free(&t);
	}
	free(w);
	free(input);
	free(scores);
}
END_TEST

START_TEST(lut_layer)
{
	uint64_t seed = 5;
	struct mcai_blob_spec s;
	struct rlayer r;
	struct unit_model t;
	s8 in[256], scores[256], arena[1];
	int i;

	spec_init(&s, 1);
	rand_lut(&s.layer[0], &r, 256, -128, 0, &seed);
	unit_model_build(&t, &s);
	for (i = 0; i < 256; i++)
		in[i] = (s8)(i - 128);
	mcai_engine_run(&t.m, in, scores, arena);
	for (i = 0; i < 256; i++)
		ck_assert_int_eq(scores[i], r.lut[i]);
	unit_model_free(&t);

	/* A width that is not a multiple of anything, in a chain. */
	spec_init(&s, 1);
	rand_lut(&s.layer[0], &r, 13, 4, 4, &seed);
	unit_model_build(&t, &s);
	compare_runs(&t, &s, 20, &seed);
	unit_model_free(&t);
}
END_TEST

/* FC -> LUT -> FC -> FC -> LUT -> FC with odd widths. */
START_TEST(multi_layer_chain)
{
	static const u32 w[] = { 21, 13, 13, 7, 30, 30, 3 };
	uint64_t seed = 99 + (uint64_t)_i;
	struct mcai_blob_spec s;
	struct rlayer r[6];
	struct unit_model t;
	s8 zp[7];
	u32 i;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 7; i++)
		zp[i] = unit_rnd_s8(&seed);
	spec_init(&s, 6);
	rand_fc(&s.layer[0], &r[0], w[0], w[1], zp[0], zp[1], &seed);
	s.layer[0].activation = MCAI_ACT_RELU;
	s.layer[0].clamp_min = zp[1];
	rand_lut(&s.layer[1], &r[1], w[1], zp[1], zp[2], &seed);
	rand_fc(&s.layer[2], &r[2], w[2], w[3], zp[2], zp[3], &seed);
	rand_fc(&s.layer[3], &r[3], w[3], w[4], zp[3], zp[4], &seed);
	rand_lut(&s.layer[4], &r[4], w[4], zp[4], zp[5], &seed);
	rand_fc(&s.layer[5], &r[5], w[5], w[6], zp[5], zp[6], &seed);
	unit_model_build(&t, &s);
	/* Two halves of the widest intermediate (30), each 4-aligned. */
	ck_assert_uint_eq(t.m.arena_size, 2 * 32);
	ck_assert_uint_eq(t.m.macs, 21 * 13 + 13 * 7 + 7 * 30 + 30 * 3);
	compare_runs(&t, &s, 50, &seed);
	unit_model_free(&t);
	for (i = 0; i < 6; i++)
		rlayer_free(&r[i]);
}
END_TEST

/* Sixteen layers, the format's cap, alternating widths. */
START_TEST(max_layers_chain)
{
	uint64_t seed = 16;
	struct mcai_blob_spec s;
	struct rlayer r[MCAI_BLOB_MAX_LAYERS];
	struct unit_model t;
	u32 i, width[MCAI_BLOB_MAX_LAYERS + 1];

	memset(r, 0, sizeof(r));
	for (i = 0; i <= MCAI_BLOB_MAX_LAYERS; i++)
		width[i] = 1 + unit_rnd32(&seed) % 19;
	spec_init(&s, MCAI_BLOB_MAX_LAYERS);
	for (i = 0; i < MCAI_BLOB_MAX_LAYERS; i++)
		rand_fc(&s.layer[i], &r[i], width[i], width[i + 1],
			i ? s.layer[i - 1].out_zp : 0, unit_rnd_s8(&seed), &seed);
	unit_model_build(&t, &s);
	compare_runs(&t, &s, 30, &seed);
	unit_model_free(&t);
	for (i = 0; i < MCAI_BLOB_MAX_LAYERS; i++)
		rlayer_free(&r[i]);
}
END_TEST

START_TEST(argmax_ties_lowest_index)
{
	struct mcai_model m;
	static const s8 a[] = { 1, 7, 7, 3, 7 }, b[] = { -128, -128, -128 };
	static const s8 c[] = { 0, 1, 2, 3, 127 }, d[] = { 127, 127 };

	memset(&m, 0, sizeof(m));
	m.head = MCAI_HEAD_ARGMAX;
	m.output_len = 5;
	ck_assert_int_eq(mcai_engine_head(&m, a), 1);
	ck_assert_int_eq(mcai_engine_head(&m, c), 4);
	m.output_len = 3;
	ck_assert_int_eq(mcai_engine_head(&m, b), 0);
	m.output_len = 2;
	ck_assert_int_eq(mcai_engine_head(&m, d), 0);
	m.output_len = 1;
	ck_assert_int_eq(mcai_engine_head(&m, c), 0);
}
END_TEST

/* The same through a model whose output rows are all identical. */
START_TEST(argmax_tie_through_engine)
{
	s8 w[6 * 3], in[3], scores[6], arena[1];
	s32 bias[6], mult[6], shift[6];
	struct mcai_blob_spec s;
	struct unit_model t;
	u32 i;

	for (i = 0; i < 18; i++)
		w[i] = (s8)((i % 3) * 10 - 10);
	for (i = 0; i < 6; i++) {
		bias[i] = 3;
		mult[i] = 1 << 30;
		shift[i] = -2;
	}
	spec_init(&s, 1);
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .in_zp = 0, .out_zp = 0,
		.clamp_min = -128, .clamp_max = 127, .in_len = 3, .out_len = 6,
		.weights = w, .bias = bias, .mult = mult, .shift = shift,
	};
	unit_model_build(&t, &s);
	for (i = 0; i < 3; i++)
		in[i] = (s8)(i * 5);
	ck_assert_int_eq(mcai_engine_run(&t.m, in, scores, arena), 0);
	bias[4] = 400;		/* one row pulls ahead */
	unit_model_free(&t);
	unit_model_build(&t, &s);
	ck_assert_int_eq(mcai_engine_run(&t.m, in, scores, arena), 4);
	unit_model_free(&t);
}
END_TEST

START_TEST(threshold_head)
{
	uint64_t seed = 3;
	struct mcai_model m;
	struct mcai_blob_spec s;
	struct rlayer r;
	struct unit_model t;
	s8 sc;

	memset(&m, 0, sizeof(m));
	m.head = MCAI_HEAD_THRESHOLD;
	m.output_len = 1;
	m.head_threshold = 10;
	sc = 10;
	ck_assert_int_eq(mcai_engine_head(&m, &sc), 1);
	sc = 9;
	ck_assert_int_eq(mcai_engine_head(&m, &sc), 0);
	sc = 127;
	ck_assert_int_eq(mcai_engine_head(&m, &sc), 1);
	sc = -128;
	ck_assert_int_eq(mcai_engine_head(&m, &sc), 0);
	m.head_threshold = -128;
	ck_assert_int_eq(mcai_engine_head(&m, &sc), 1);
	m.head_threshold = 127;
	sc = 126;
	ck_assert_int_eq(mcai_engine_head(&m, &sc), 0);

	/* And a real one-output model with a threshold head. */
	spec_init(&s, 1);
	s.head = MCAI_HEAD_THRESHOLD;
	s.head_threshold = -2;
	rand_fc(&s.layer[0], &r, 9, 1, 0, 0, &seed);
	unit_model_build(&t, &s);
	ck_assert_int_eq(t.m.head, MCAI_HEAD_THRESHOLD);
	ck_assert_int_eq(t.m.head_threshold, -2);
	compare_runs(&t, &s, 100, &seed);
	unit_model_free(&t);
	rlayer_free(&r);
}
END_TEST

START_TEST(test_vectors)
{
	uint64_t seed = 11;
	struct mcai_blob_spec s;
	struct rlayer r[2];
	struct unit_model t;
	s8 tv_in[6 * 10], *scores, *arena;
	u32 failed = 99, rec = 10 + 4, i;
	struct mcai_verdict v;
	struct mcai_limits lim;
	u8 *tv;

	memset(r, 0, sizeof(r));
	for (i = 0; i < sizeof(tv_in); i++)
		tv_in[i] = unit_rnd_s8(&seed);
	spec_init(&s, 2);
	rand_fc(&s.layer[0], &r[0], 10, 6, 1, -7, &seed);
	rand_fc(&s.layer[1], &r[1], 6, 4, -7, 2, &seed);
	s.tv_count = 6;
	s.tv_inputs = tv_in;
	unit_model_build(&t, &s);
	ck_assert_uint_eq(t.m.tv_count, 6);
	scores = malloc(t.m.output_len);
	arena = malloc(t.m.arena_size);
	ck_assert_int_eq(mcai_engine_check_vectors(&t.m, arena, scores, &failed), 0);
	/* The writer's expected scores are the reference's too. */
	for (i = 0; i < 6; i++) {
		s8 want[4];

		ref_run(&s, tv_in + i * 10, want);
		ck_assert_mem_eq(t.m.tv + i * rec + 10, want, 4);
		ck_assert_mem_eq(t.m.tv + i * rec, tv_in + i * 10, 10);
	}

	/* Tamper with vector 4's expected scores: verify passes, check fails. */
	tv = t.blob + ((const u8 *)t.m.tv - t.blob);
	tv[4 * rec + 10 + 3] ^= 1;
	unit_seal(t.blob, t.size);
	unit_limits_wide(&lim);
	ck_assert_int_eq(mcai_verify(&t.m, t.blob, t.size, &lim, &v), 0);
	ck_assert_int_eq(mcai_engine_check_vectors(&t.m, arena, scores, &failed), -1);
	ck_assert_uint_eq(failed, 4);
	/* An earlier one wins. */
	tv[1 * rec + 10] ^= 0x80;
	unit_seal(t.blob, t.size);
	ck_assert_int_eq(mcai_verify(&t.m, t.blob, t.size, &lim, &v), 0);
	ck_assert_int_eq(mcai_engine_check_vectors(&t.m, arena, scores, &failed), -1);
	ck_assert_uint_eq(failed, 1);
	/* Inputs changed instead: the expected scores no longer follow. */
	tv[1 * rec + 10] ^= 0x80;
	tv[4 * rec + 10 + 3] ^= 1;
	for (i = 0; i < 10; i++)
		tv[5 * rec + i] = (u8)(tv[5 * rec + i] + 64);
	unit_seal(t.blob, t.size);
	ck_assert_int_eq(mcai_verify(&t.m, t.blob, t.size, &lim, &v), 0);
	ck_assert_int_eq(mcai_engine_check_vectors(&t.m, arena, scores, &failed), -1);
	ck_assert_uint_eq(failed, 5);
	free(scores);
	free(arena);
	unit_model_free(&t);
	rlayer_free(&r[0]);
	rlayer_free(&r[1]);
}
END_TEST

/* No vectors: nothing to check, success. */
START_TEST(no_test_vectors)
{
	uint64_t seed = 12;
	struct mcai_blob_spec s;
	struct rlayer r;
	struct unit_model t;
	u32 failed = 7;
	s8 scores[3];

	spec_init(&s, 1);
	rand_fc(&s.layer[0], &r, 4, 3, 0, 0, &seed);
	unit_model_build(&t, &s);
	ck_assert_int_eq(mcai_engine_check_vectors(&t.m, NULL, scores, &failed), 0);
	ck_assert_uint_eq(failed, 7);
	unit_model_free(&t);
	rlayer_free(&r);
}
END_TEST

/* The engine reads the blob byte-wise: a blob at an odd address works. */
START_TEST(unaligned_blob)
{
	uint64_t seed = 13;
	struct mcai_blob_spec s;
	struct rlayer r[2];
	struct unit_model t, u;
	struct mcai_limits lim;
	struct mcai_verdict v;
	s8 in[9], a[5], b[5], arena[16];
	u8 *buf;
	int k, i;

	spec_init(&s, 2);
	rand_fc(&s.layer[0], &r[0], 9, 7, 3, 4, &seed);
	rand_fc(&s.layer[1], &r[1], 7, 5, 4, 5, &seed);
	unit_model_build(&t, &s);
	buf = malloc(t.size + 3);
	memcpy(buf + 3, t.blob, t.size);
	unit_limits_wide(&lim);
	ck_assert_int_eq(mcai_verify(&u.m, buf + 3, t.size, &lim, &v), 0);
	for (k = 0; k < 20; k++) {
		for (i = 0; i < 9; i++)
			in[i] = unit_rnd_s8(&seed);
		ck_assert_int_eq(mcai_engine_run(&t.m, in, a, arena),
				 mcai_engine_run(&u.m, in, b, arena));
		ck_assert_mem_eq(a, b, 5);
	}
	free(buf);
	unit_model_free(&t);
	rlayer_free(&r[0]);
	rlayer_free(&r[1]);
}
END_TEST

Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *fc = tcase_create("fc");
	TCase *net = tcase_create("network");
	TCase *head = tcase_create("head");

	tcase_set_timeout(fc, 30);
	tcase_add_loop_test(fc, fc_matches_reference, 0,
			    (int)(sizeof(fc_shapes) / sizeof(fc_shapes[0])));
	tcase_add_test(fc, fc_rows_keep_their_channel);
	tcase_add_test(fc, fc_relu_clamp);
	tcase_add_test(fc, fc_relu6_clamp);
	tcase_add_test(fc, fc_saturation);
	tcase_add_test(fc, fc_zero_point_extremes);
	suite_add_tcase(s, fc);
	tcase_set_timeout(net, 30);
	tcase_add_test(net, lut_layer);
	tcase_add_loop_test(net, multi_layer_chain, 0, 4);
	tcase_add_test(net, max_layers_chain);
	tcase_add_test(net, test_vectors);
	tcase_add_test(net, no_test_vectors);
	tcase_add_test(net, unaligned_blob);
	suite_add_tcase(s, net);
	tcase_add_test(head, argmax_ties_lowest_index);
	tcase_add_test(head, argmax_tie_through_engine);
	tcase_add_test(head, threshold_head);
	suite_add_tcase(s, head);
	return s;
}
