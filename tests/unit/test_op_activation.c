// SPDX-License-Identifier: GPL-2.0
/*
 * LUT activations (models/engine/op_activation.c) and the offline table
 * builder (models/train/opquant.c): each entry against the function
 * written another way (sigmoid through tanh, hard-swish through min/max),
 * rounded once on the output grid.
 */
#include <math.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/ops.h"
#include "models/train/opquant.h"

static double sigmoid_alt(double x)
{
	return 0.5 + 0.5 * tanh(x / 2);
}

static double tanh_alt(double x)
{
	return -expm1(-2 * x) / (1 + exp(-2 * x));
}

static double hardswish_alt(double x)
{
	return x * fmin(fmax(x + 3, 0), 6) / 6;
}

/*
 * Compare a built table with the alternative function: equal, except that
 * a value within 1e-9 of a rounding tie may go either way.
 */
static void check_table(const s8 lut[256], double (*alt)(double),
			double si, int zi, double so, int zo, const char *what)
{
	int q;

	for (q = -128; q <= 127; q++) {
		double y = alt((q - zi) * si) / so;
		double r = round(y) + zo;
		long want = r < -128 ? -128 : r > 127 ? 127 : (long)r;
		int tie = fabs(fabs(y - floor(y)) - 0.5) < 1e-9;

		EXPECT(lut[q + 128] == want || (tie && labs(lut[q + 128] - want) <= 1),
		       "%s: entry %d is %d, want %ld", what, q, lut[q + 128],
		       want);
	}
}

START_TEST(lut_build_functions)
{
	uint64_t seed = 0x1a7;
	s8 lut[256];
	int k, q;

	/* TFLite's fixed output grids: sigmoid 1/256 - 128, tanh 1/128 */
	mcai_lut_build(mcai_fn_sigmoid, 0.1, 3, 1.0 / 256, -128, lut);
	check_table(lut, sigmoid_alt, 0.1, 3, 1.0 / 256, -128, "sigmoid");
	for (q = 1; q < 256; q++)
		ck_assert_int_ge(lut[q], lut[q - 1]);
	ck_assert_int_eq(lut[3 + 128], 0);	/* sigmoid(0) = 1/2 */
	mcai_lut_build(mcai_fn_tanh, 0.05, -10, 1.0 / 128, 0, lut);
	check_table(lut, tanh_alt, 0.05, -10, 1.0 / 128, 0, "tanh");
	ck_assert_int_eq(lut[-10 + 128], 0);
	ck_assert_int_eq(lut[0], -128);		/* tanh(-5.9) */
	for (k = 0; k < 200; k++) {
		double si = 0.005 + unit_rnd32(&seed) / 4294967296.0 * 0.2;
		double so = 0.005 + unit_rnd32(&seed) / 4294967296.0 * 0.1;
		int zi = unit_rnd_in(&seed, -128, 127), zo = unit_rnd_in(&seed, -128, 127);

		mcai_lut_build(mcai_fn_sigmoid, si, zi, so, zo, lut);
		check_table(lut, sigmoid_alt, si, zi, so, zo, "sigmoid");
		mcai_lut_build(mcai_fn_tanh, si, zi, so, zo, lut);
		check_table(lut, tanh_alt, si, zi, so, zo, "tanh");
		mcai_lut_build(mcai_fn_hardswish, si, zi, so, zo, lut);
		check_table(lut, hardswish_alt, si, zi, so, zo, "hard-swish");
	}
}
END_TEST

START_TEST(lut_apply)
{
	uint64_t seed = 0x1a9;
	s8 lut[256];
	int k, i;

	for (i = 0; i < 256; i++)
		lut[i] = unit_rnd_s8(&seed);
	for (k = 0; k < 50; k++) {
		size_t len = (size_t)unit_rnd_in(&seed, 0, 1031);
		s8 *in = malloc(len + 1), *out = malloc(len + 1);

		ck_assert(in && out);
		for (i = 0; i < (int)len; i++)
			in[i] = unit_rnd_s8(&seed);
		mcai_lut(lut, in, out, len);
		for (i = 0; i < (int)len; i++)
			EXPECT(out[i] == lut[in[i] + 128], "lut %d", i);
		free(in);
		free(out);
	}
	/* in place, every value once */
	{
		s8 all[256];

		for (i = 0; i < 256; i++)
			all[i] = (s8)(i - 128);
		mcai_lut(lut, all, all, 256);
		ck_assert_mem_eq(all, lut, 256);
	}
	ck_assert_uint_eq(mcai_lut_macs(256), 0);
}
END_TEST

START_TEST(activation_range)
{
	s8 lo, hi;

	mcai_act_range(MCAI_ACT_NONE, 0.1, 5, &lo, &hi);
	ck_assert_int_eq(lo, -128);
	ck_assert_int_eq(hi, 127);
	mcai_act_range(MCAI_ACT_RELU, 0.1, 5, &lo, &hi);
	ck_assert_int_eq(lo, 5);
	ck_assert_int_eq(hi, 127);
	mcai_act_range(MCAI_ACT_RELU6, 0.1, -100, &lo, &hi);
	ck_assert_int_eq(lo, -100);
	ck_assert_int_eq(hi, -40);
	mcai_act_range(MCAI_ACT_RELU6, 0.01, 0, &lo, &hi);
	ck_assert_int_eq(hi, 127);		/* 600 does not fit */
}
END_TEST

Suite *op_activation_suite(void)
{
	Suite *s = suite_create("op_activation");
	TCase *t = tcase_create("lut");

	tcase_add_test(t, lut_build_functions);
	tcase_add_test(t, lut_apply);
	tcase_add_test(t, activation_range);
	suite_add_tcase(s, t);
	return s;
}
