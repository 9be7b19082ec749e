// SPDX-License-Identifier: GPL-2.0
/*
 * The blob writer (models/train/writer.c): a spec written, verified and decoded
 * gives back the same layers, header and layout; the writer refuses what
 * the format cannot hold, with a message.
 */
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/engine.h"
#include "models/engine/sha256.h"
#include "models/engine/verify.h"

#define H(f)	((u32)offsetof(struct mcai_blob_header, f))

static s8 w0[7 * 10], w2[5 * 7], lut[256], tv[3 * 10];
static s32 b0[7], m0[7], sh0[7], b2[5], m2[5], sh2[5];

static u32 fbits(float f)
{
	u32 u;

	memcpy(&u, &f, 4);
	return u;
}

/* FC 10->7 ReLU6, LUT 7->7 tanh, FC 7->5, three test vectors. */
static void spec(struct mcai_blob_spec *s)
{
	uint64_t seed = 2024;
	u32 i;

	for (i = 0; i < sizeof(w0); i++)
		w0[i] = unit_rnd_w(&seed);
	for (i = 0; i < sizeof(w2); i++)
		w2[i] = unit_rnd_w(&seed);
	for (i = 0; i < 256; i++)
		lut[i] = unit_rnd_s8(&seed);
	for (i = 0; i < sizeof(tv); i++)
		tv[i] = unit_rnd_s8(&seed);
	for (i = 0; i < 7; i++) {
		b0[i] = (s32)unit_rnd32(&seed) >> 18;
		m0[i] = (s32)((1U << 30) | (unit_rnd32(&seed) >> 2));
		sh0[i] = -(s32)(i + 5);
	}
	for (i = 0; i < 5; i++) {
		b2[i] = (s32)unit_rnd32(&seed) >> 18;
		m2[i] = (s32)((1U << 30) | (unit_rnd32(&seed) >> 2));
		sh2[i] = (s32)i - 9;
	}
	memset(s, 0, sizeof(*s));
	s->name = "writer.round-trip_1";
	s->version = 7;
	s->head = MCAI_HEAD_ARGMAX;
	s->input_scale = 0.0125f;
	s->output_scale = 3.5f;
	s->n_layers = 3;
	s->layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_RELU6,
		.in_zp = 17, .out_zp = -100, .clamp_min = -100, .clamp_max = -40,
		.in_len = 10, .out_len = 7,
		.weights = w0, .bias = b0, .mult = m0, .shift = sh0,
	};
	s->layer[1] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_LUT, .activation = MCAI_ACT_TANH,
		.in_zp = -100, .out_zp = 0, .clamp_min = -128, .clamp_max = 127,
		.in_len = 7, .out_len = 7, .lut = lut,
	};
	s->layer[2] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_NONE,
		.in_zp = 0, .out_zp = -1, .clamp_min = -120, .clamp_max = 120,
		.in_len = 7, .out_len = 5,
		.weights = w2, .bias = b2, .mult = m2, .shift = sh2,
	};
	s->tv_count = 3;
	s->tv_inputs = tv;
}

static void same_layer(const struct mcai_layer *l, const struct mcai_layer_spec *ls)
{
	u32 i;

	ck_assert_uint_eq(l->type, ls->type);
	ck_assert_uint_eq(l->activation, ls->activation);
	ck_assert_int_eq(l->in_zp, ls->in_zp);
	ck_assert_int_eq(l->out_zp, ls->out_zp);
	ck_assert_int_eq(l->clamp_min, ls->clamp_min);
	ck_assert_int_eq(l->clamp_max, ls->clamp_max);
	ck_assert_uint_eq(l->in_len, ls->in_len);
	ck_assert_uint_eq(l->out_len, ls->out_len);
	if (ls->type == MCAI_LAYER_LUT) {
		ck_assert_mem_eq(l->lut, ls->lut, 256);
		return;
	}
	ck_assert_mem_eq(l->weights, ls->weights, (size_t)ls->in_len * ls->out_len);
	for (i = 0; i < ls->out_len; i++) {
		ck_assert_int_eq(mcai_les32(l->bias + 4 * i), ls->bias[i]);
		ck_assert_int_eq(mcai_les32(l->mult + 4 * i), ls->mult[i]);
		ck_assert_int_eq(mcai_les32(l->shift + 4 * i), ls->shift[i]);
	}
}

START_TEST(round_trip)
{
	struct mcai_blob_spec s;
	struct unit_model t;
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	u8 digest[32];
	u32 i, data_off, data_size;

	spec(&s);
	unit_model_build(&t, &s);
	/* Also under the default limits, as the kernel would take it. */
	mcai_limits_default(&lim);
	ck_assert_int_eq(mcai_verify(&m, t.blob, t.size, &lim, &v), 0);

	ck_assert_str_eq(m.name, s.name);
	ck_assert_uint_eq(m.version, 7);
	ck_assert_uint_eq(m.n_layers, 3);
	ck_assert_uint_eq(m.input_len, 10);
	ck_assert_uint_eq(m.output_len, 5);
	ck_assert_int_eq(m.input_zp, 17);
	ck_assert_int_eq(m.output_zp, -1);
	ck_assert_uint_eq(m.input_scale, fbits(0.0125f));
	ck_assert_uint_eq(m.output_scale, fbits(3.5f));
	ck_assert_uint_eq(m.head, MCAI_HEAD_ARGMAX);
	ck_assert_uint_eq(m.tv_count, 3);
	for (i = 0; i < 3; i++)
		same_layer(&m.layer[i], &s.layer[i]);
	for (i = 0; i < 3; i++)
		ck_assert_mem_eq(m.tv + i * 15, tv + i * 10, 10);

	/* Layout: header, layer table, data (4-aligned arrays), tv, digest. */
	ck_assert_uint_eq(mcai_le32(t.blob + H(total_size)), t.size);
	ck_assert_uint_eq(mcai_le32(t.blob + H(layer_off)), 128);
	data_off = mcai_le32(t.blob + H(data_off));
	data_size = mcai_le32(t.blob + H(data_size));
	ck_assert_uint_eq(data_off, 128 + 3 * 64);
	/* 70 weights -> 72, 3 * 28, 256, 35 -> 36, 3 * 20 */
	ck_assert_uint_eq(data_size, 72 + 84 + 256 + 36 + 60);
	ck_assert_uint_eq(mcai_le32(t.blob + H(tv_off)), data_off + data_size);
	ck_assert_uint_eq(t.size, data_off + data_size + 48 + 32);
	ck_assert_uint_eq(mcai_le32(t.blob + H(arena_size)), 2 * 8);
	for (i = 0; i < 3; i++) {
		if (m.layer[i].type != MCAI_LAYER_FC)
			continue;
		ck_assert_uint_eq((m.layer[i].bias - t.blob) % 4, 0);
		ck_assert_uint_eq((m.layer[i].mult - t.blob) % 4, 0);
		ck_assert_uint_eq((m.layer[i].shift - t.blob) % 4, 0);
	}
	mcai_sha256(t.blob, t.size - 32, digest);
	ck_assert_mem_eq(digest, t.blob + t.size - 32, 32);
	/* Reserved fields, padding and flags are zero. */
	ck_assert_uint_eq(mcai_le32(t.blob + H(flags)), 0);
	for (i = H(reserved); i < 128; i++)
		ck_assert_uint_eq(t.blob[i], 0);
	unit_model_free(&t);
}
END_TEST

/* The expected test vector scores are the engine's. */
START_TEST(test_vector_scores)
{
	struct mcai_blob_spec s;
	struct unit_model t;
	s8 scores[5], arena[16];
	u32 i, failed;

	spec(&s);
	unit_model_build(&t, &s);
	ck_assert_uint_eq(t.m.arena_size, 16);
	for (i = 0; i < 3; i++) {
		mcai_engine_run(&t.m, tv + 10 * i, scores, arena);
		ck_assert_mem_eq(t.m.tv + 15 * i + 10, scores, 5);
	}
	ck_assert_int_eq(mcai_engine_check_vectors(&t.m, arena, scores, &failed), 0);
	unit_model_free(&t);
}
END_TEST

START_TEST(deterministic)
{
	struct mcai_blob_spec s;
	struct unit_model a, b;

	spec(&s);
	unit_model_build(&a, &s);
	unit_model_build(&b, &s);
	ck_assert_uint_eq(a.size, b.size);
	ck_assert_mem_eq(a.blob, b.blob, a.size);
	unit_model_free(&a);
	unit_model_free(&b);
}
END_TEST

static void refused(const struct mcai_blob_spec *s, const char *want)
{
	char err[200] = "";
	u32 size = 12345;
	u8 *blob = mcai_blob_write(s, &size, err, sizeof(err));

	ck_assert_ptr_null(blob);
	ck_assert_msg(strstr(err, want), "error \"%s\", want \"%s\"", err, want);
}

START_TEST(refusals)
{
	struct mcai_blob_spec s;

	spec(&s);
	s.n_layers = 0;
	refused(&s, "layer count 0 out of range");
	s.n_layers = MCAI_BLOB_MAX_LAYERS + 1;
	refused(&s, "layer count 17 out of range");

	spec(&s);
	s.name = NULL;
	refused(&s, "model name missing");
	s.name = "0123456789abcdef0123456789abcdef";	/* 32 */
	refused(&s, "longer than 31");
	s.name = "";
	refused(&s, "empty name");
	s.name = "has space";
	refused(&s, "name has a character outside");

	/* What the verifier refuses, the writer reports, with the reason. */
	spec(&s);
	s.layer[2].in_zp = 5;
	refused(&s, "written blob fails verification: layer input zero point");
	spec(&s);
	w2[3] = -128;
	refused(&s, "weight -128");
	spec(&s);
	sh0[2] = 31;
	refused(&s, "shift outside -31..30");
	spec(&s);
	s.version = 0;
	refused(&s, "model version 0");
	spec(&s);
	s.head = MCAI_HEAD_THRESHOLD;
	refused(&s, "threshold head needs one output");
	spec(&s);
	s.layer[1].out_len = 8;
	refused(&s, "LUT layer changes the width");
}
END_TEST

/* The 31-byte name, and a name with every allowed kind of character. */
START_TEST(names)
{
	struct mcai_blob_spec s;
	struct unit_model t;

	spec(&s);
	s.name = "0123456789abcdef0123456789abcde";
	unit_model_build(&t, &s);
	ck_assert_str_eq(t.m.name, s.name);
	unit_model_free(&t);
	s.name = "A-z_0.9";
	unit_model_build(&t, &s);
	ck_assert_str_eq(t.m.name, s.name);
	unit_model_free(&t);
}
END_TEST

Suite *writer_suite(void)
{
	Suite *s = suite_create("writer");
	TCase *tc = tcase_create("round-trip");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, test_vector_scores);
	tcase_add_test(tc, deterministic);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}
