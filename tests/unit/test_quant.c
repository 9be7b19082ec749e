// SPDX-License-Identifier: GPL-2.0
/*
 * Quantisation helpers (models/train/quant.c): multipliers reproduce the real
 * scale within 2^-31 relative; activation parameters represent 0 exactly
 * and cover the range; weights are symmetric and never -128.
 */
#include <math.h>

#include "tests/unit/unit.h"
#include "models/train/quant.h"

/* mult * 2^shift / 2^31, exactly (long double has a 64-bit mantissa). */
static long double value(s32 mult, s32 shift)
{
	return ldexpl((long double)mult, shift - 31);
}

static void check_multiplier(double real)
{
	s32 mult, shift;
	long double err;

	mcai_quantize_multiplier(real, &mult, &shift);
	EXPECT(mult >= (1 << 30), "real %g: mult %d below 2^30", real, mult);
	EXPECT(shift >= -31 && shift <= 30, "real %g: shift %d", real, shift);
	err = fabsl(value(mult, shift) - real) / real;
	EXPECT(err <= ldexpl(1.0L, -31), "real %.17g: mult %d shift %d, error %Lg",
		      real, mult, shift, err);
}

START_TEST(multiplier_precision)
{
	uint64_t seed = 31;
	int i, e;

	/* Log-uniform over the whole representable range. */
	for (i = 0; i < 200000; i++) {
		double frac = 0.5 + (unit_rnd(&seed) >> 11) * 0x1p-54;

		e = (int)(unit_rnd32(&seed) % 62) - 31;
		check_multiplier(ldexp(frac, e));
	}
	/* Powers of two and their neighbours. */
	for (e = -31; e <= 30; e++) {
		check_multiplier(ldexp(1.0, e - 1));
		check_multiplier(nextafter(ldexp(1.0, e), 0));	/* rounds up to 2^e */
		check_multiplier(nextafter(ldexp(1.0, e - 1), 1e300));
	}
	/* Typical requantisation scales. */
	check_multiplier(1.0 / 3);
	check_multiplier(0.0039215686);
	check_multiplier(0.000123);
	check_multiplier(1.0);
}
END_TEST

START_TEST(multiplier_edges)
{
	s32 mult = 123, shift = 456;

	mcai_quantize_multiplier(0, &mult, &shift);
	ck_assert_int_eq(mult, 0);
	ck_assert_int_eq(shift, 0);
	mcai_quantize_multiplier(-2.5, &mult, &shift);
	ck_assert_int_eq(mult, 0);
	ck_assert_int_eq(shift, 0);
	mcai_quantize_multiplier(1.0, &mult, &shift);
	ck_assert_int_eq(mult, 1 << 30);
	ck_assert_int_eq(shift, 1);
	mcai_quantize_multiplier(0.5, &mult, &shift);
	ck_assert_int_eq(mult, 1 << 30);
	ck_assert_int_eq(shift, 0);
	/* Just below 1: the mantissa rounds to 2^31 and is renormalised. */
	mcai_quantize_multiplier(nextafter(1.0, 0), &mult, &shift);
	ck_assert_int_eq(mult, 1 << 30);
	ck_assert_int_eq(shift, 1);
	/* Too small for shift -31: zero. */
	mcai_quantize_multiplier(1e-20, &mult, &shift);
	ck_assert_int_eq(mult, 0);
	/* Too large: saturates at the largest representable scale. */
	mcai_quantize_multiplier(1e20, &mult, &shift);
	ck_assert_int_eq(mult, INT32_MAX);
	ck_assert_int_eq(shift, 30);
}
END_TEST

START_TEST(qparams_zero_exact)
{
	static const float r[][2] = {
		{ -1, 1 }, { 0, 6 }, { -6, 0 }, { -0.3f, 17.2f }, { 0.5f, 2 },
		{ -3, -1 }, { -1e-3f, 1e-3f }, { 0, 0 }, { -100, 1 }, { -1, 1000 },
		{ -2.7f, 2.8f }, { 1e-12f, 2e-12f },
	};
	uint64_t seed = 8;
	int i;

	for (i = 0; i < 1000; i++) {
		float lo, hi, scale;
		s8 zp;

		if (i < (int)(sizeof(r) / sizeof(r[0]))) {
			lo = r[i][0];
			hi = r[i][1];
		} else {
			lo = -(float)(unit_rnd32(&seed) % 100000) / 1000;
			hi = (float)(unit_rnd32(&seed) % 100000) / 1000;
		}
		mcai_qparams(lo, hi, &scale, &zp);
		ck_assert(scale > 0);
		/* 0 quantises to the zero point exactly and back to 0. */
		ck_assert_int_eq(mcai_quantize(0.0f, scale, zp), zp);
		ck_assert(scale * (float)(mcai_quantize(0.0f, scale, zp) - zp) == 0.0f);
		/* The range, widened to hold 0, is covered within a step. */
		if (lo > 0)
			lo = 0;
		if (hi < 0)
			hi = 0;
		ck_assert_msg((double)scale * (-128 - zp) <= lo + scale * 0.5 + 1e-6 &&
			      (double)scale * (127 - zp) >= hi - scale * 0.5 - 1e-6,
			      "[%g, %g]: scale %g zp %d", lo, hi, scale, zp);
	}
}
END_TEST

START_TEST(quantize_rounds_and_clamps)
{
	ck_assert_int_eq(mcai_quantize(1.0f, 0.5f, 3), 5);
	ck_assert_int_eq(mcai_quantize(-1.0f, 0.5f, 3), 1);
	ck_assert_int_eq(mcai_quantize(1000.0f, 0.5f, 3), 127);
	ck_assert_int_eq(mcai_quantize(-1000.0f, 0.5f, 3), -128);
	ck_assert_int_eq(mcai_quantize(0.26f, 0.5f, 0), 1);
	ck_assert_int_eq(mcai_quantize(0.24f, 0.5f, 0), 0);
	ck_assert_int_eq(mcai_quantize(0.0f, 1.0f, -128), -128);
	ck_assert_int_eq(mcai_quantize(0.0f, 1.0f, 127), 127);
}
END_TEST

START_TEST(weights_symmetric)
{
	static const float w[3 * 4] = {
		0.5f, -1.0f, 0.25f, 0.0f,	/* max |w| 1 -> -127 */
		0, 0, 0, 0,			/* all zero: scale 1 */
		-3.0f, 3.0f, 1.5f, -0.01f,
	};
	s8 q[12];
	float sc[3];
	int i;

	mcai_quantize_rows(w, 3, 4, q, sc);
	ck_assert(fabsf(sc[0] - 1.0f / 127) < 1e-9f);
	ck_assert(sc[1] == 1.0f);
	ck_assert_int_eq(q[1], -127);
	ck_assert_int_eq(q[0], 64);	/* 63.5 rounds to even: 64 */
	ck_assert_int_eq(q[8], -127);
	ck_assert_int_eq(q[9], 127);
	for (i = 0; i < 12; i++)
		ck_assert_int_ne(q[i], -128);
	for (i = 4; i < 8; i++)
		ck_assert_int_eq(q[i], 0);
}
END_TEST

Suite *quant_suite(void)
{
	Suite *s = suite_create("quant");
	TCase *tc = tcase_create("quant");

	tcase_add_test(tc, multiplier_precision);
	tcase_add_test(tc, multiplier_edges);
	tcase_add_test(tc, qparams_zero_exact);
	tcase_add_test(tc, quantize_rounds_and_clamps);
	tcase_add_test(tc, weights_symmetric);
	suite_add_tcase(s, tc);
	return s;
}
