// SPDX-License-Identifier: GPL-2.0
/*
 * Requantisation (models/engine/requant.h) against references computed with exact
 * 128-bit integer arithmetic:
 *
 *   mcai_srdhm(a, b)    = floor(a * b / 2^31 + 1/2), saturated: gemmlowp's
 *                         SaturatingRoundingDoublingHighMul, whose ties go
 *                         up (0.5 -> 1, -0.5 -> 0, -1.5 -> -1);
 *   mcai_rdivpot(x, e)  = x / 2^e rounded to nearest, ties away from zero
 *                         (gemmlowp's RoundingDivideByPOT);
 *   mcai_requant(x, m, s) = rdivpot(srdhm(sat32(x * 2^max(s,0)), m), max(-s,0)).
 */
#include <limits.h>

#include "tests/unit/unit.h"
#include "models/engine/requant.h"

typedef __int128 i128;

#define ref_srdhm unit_ref_srdhm
#define ref_rdivpot unit_ref_rdivpot
#define ref_requant unit_ref_requant

/* Interesting 32-bit values: 0, +-1, +-2^k, +-2^k +- 1, the extremes. */
static int edge_values(s32 *v)
{
	int n = 0, k;

	v[n++] = 0;
	v[n++] = INT32_MAX;
	v[n++] = INT32_MIN;
	v[n++] = INT32_MIN + 1;
	v[n++] = INT32_MAX - 1;
	for (k = 0; k < 31; k++) {
		s32 p = (s32)(1U << k);

		v[n++] = p;
		v[n++] = -p;
		v[n++] = p + 1;
		v[n++] = -p - 1;
		if (k > 1) {
			v[n++] = p - 1;
			v[n++] = -p + 1;
			v[n++] = p + p / 2;	/* odd multiples of halves */
			v[n++] = -p - p / 2;
		}
	}
	return n;
}

START_TEST(srdhm_saturates_min_times_min)
{
	ck_assert_int_eq(mcai_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
	ck_assert_int_eq(ref_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
	/* The neighbours are exact and do not saturate. */
	ck_assert_int_eq(mcai_srdhm(INT32_MIN, INT32_MAX), -INT32_MAX);
	ck_assert_int_eq(mcai_srdhm(INT32_MAX, INT32_MIN), -INT32_MAX);
	ck_assert_int_eq(mcai_srdhm(INT32_MIN + 1, INT32_MIN), INT32_MAX);
	ck_assert_int_eq(mcai_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);
	ck_assert_int_eq(mcai_srdhm(INT32_MIN, 1 << 30), -(1 << 30));
}
END_TEST

START_TEST(srdhm_ties)
{
	/* a * b = k * 2^30 is exactly k/2 after the 2^31 scaling. */
	ck_assert_int_eq(mcai_srdhm(1 << 15, 1 << 15), 1);		/* 0.5 */
	ck_assert_int_eq(mcai_srdhm(3 << 15, 1 << 15), 2);		/* 1.5 */
	ck_assert_int_eq(mcai_srdhm(5 << 15, 1 << 15), 3);		/* 2.5 */
	/* gemmlowp rounds negative ties toward zero (i.e. ties go up). */
	ck_assert_int_eq(mcai_srdhm(-(1 << 15), 1 << 15), 0);		/* -0.5 */
	ck_assert_int_eq(mcai_srdhm(-(3 << 15), 1 << 15), -1);	/* -1.5 */
	ck_assert_int_eq(mcai_srdhm(1 << 15, -(5 << 15)), -2);	/* -2.5 */
	/* Just off the tie goes the nearest way for both signs. */
	ck_assert_int_eq(mcai_srdhm((1 << 15) + 1, 1 << 15), 1);
	ck_assert_int_eq(mcai_srdhm((1 << 15) - 1, 1 << 15), 0);
	ck_assert_int_eq(mcai_srdhm(-(1 << 15) - 1, 1 << 15), -1);
	ck_assert_int_eq(mcai_srdhm(-(1 << 15) + 1, 1 << 15), 0);
	ck_assert_int_eq(mcai_srdhm(0, INT32_MIN), 0);
	ck_assert_int_eq(mcai_srdhm(-1, INT32_MIN), 1);		/* exactly 1 */
	ck_assert_int_eq(mcai_srdhm(1, INT32_MIN), -1);
}
END_TEST

START_TEST(rdivpot_ties_away_from_zero)
{
	ck_assert_int_eq(mcai_rdivpot(1, 1), 1);		/* 0.5 */
	ck_assert_int_eq(mcai_rdivpot(-1, 1), -1);	/* -0.5 */
	ck_assert_int_eq(mcai_rdivpot(3, 1), 2);		/* 1.5 */
	ck_assert_int_eq(mcai_rdivpot(-3, 1), -2);
	ck_assert_int_eq(mcai_rdivpot(6, 2), 2);		/* 1.5 */
	ck_assert_int_eq(mcai_rdivpot(-6, 2), -2);
	ck_assert_int_eq(mcai_rdivpot(5, 2), 1);		/* 1.25 */
	ck_assert_int_eq(mcai_rdivpot(-5, 2), -1);
	ck_assert_int_eq(mcai_rdivpot(7, 2), 2);		/* 1.75 */
	ck_assert_int_eq(mcai_rdivpot(-7, 2), -2);
	ck_assert_int_eq(mcai_rdivpot(1 << 29, 30), 1);	/* 0.5 */
	ck_assert_int_eq(mcai_rdivpot(-(1 << 29), 30), -1);
	ck_assert_int_eq(mcai_rdivpot((1 << 29) - 1, 30), 0);
	ck_assert_int_eq(mcai_rdivpot(-(1 << 29) + 1, 30), 0);
}
END_TEST

START_TEST(rdivpot_extreme_exponents)
{
	s32 v[256];
	int n = edge_values(v), i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(mcai_rdivpot(v[i], 0), v[i]);
	ck_assert_int_eq(mcai_rdivpot(INT32_MIN, 31), -1);
	ck_assert_int_eq(mcai_rdivpot(INT32_MAX, 31), 1);
	ck_assert_int_eq(mcai_rdivpot(1 << 30, 31), 1);		/* 0.5 */
	ck_assert_int_eq(mcai_rdivpot(-(1 << 30), 31), -1);	/* -0.5 */
	ck_assert_int_eq(mcai_rdivpot((1 << 30) - 1, 31), 0);
	ck_assert_int_eq(mcai_rdivpot(-(1 << 30) + 1, 31), 0);
	ck_assert_int_eq(mcai_rdivpot(INT32_MIN, 30), -2);
	ck_assert_int_eq(mcai_rdivpot(INT32_MIN + 1, 30), -2);	/* -1.99.. */
	ck_assert_int_eq(mcai_rdivpot(INT32_MAX, 1), 1 << 30);	/* 2^30 - .5 */
	ck_assert_int_eq(mcai_rdivpot(INT32_MIN, 1), -(1 << 30));
}
END_TEST

START_TEST(requant_shift_bounds)
{
	/* shift -31: the smallest scale the format allows. */
	ck_assert_int_eq(mcai_requant(INT32_MAX, INT32_MAX, -31), 1);
	ck_assert_int_eq(mcai_requant(INT32_MIN, INT32_MAX, -31), -1);
	ck_assert_int_eq(mcai_requant(1 << 30, 1 << 30, -31), 0);	/* 0.25 */
	ck_assert_int_eq(mcai_requant(INT32_MIN, 1 << 30, -31), -1);	/* -0.5 */
	/* shift +30: 2^30 * 2^30 / 2^31 = 2^29 */
	ck_assert_int_eq(mcai_requant(1, 1 << 30, 30), 1 << 29);
	ck_assert_int_eq(mcai_requant(-1, 1 << 30, 30), -(1 << 29));
	ck_assert_int_eq(mcai_requant(1, INT32_MAX, 30), 1 << 30);	/* 2^30 - 0.5 */
	ck_assert_int_eq(mcai_requant(0, INT32_MAX, 30), 0);
}
END_TEST

START_TEST(requant_left_shift_saturates)
{
	/* 2 * 2^30 = 2^31 does not fit: it saturates to INT32_MAX first. */
	ck_assert_int_eq(mcai_requant(2, 1 << 30, 30), 1 << 30);
	ck_assert_int_eq(mcai_requant(INT32_MAX, INT32_MAX, 30), INT32_MAX - 1);
	ck_assert_int_eq(mcai_requant(INT32_MAX, 1 << 30, 1), 1 << 30);
	ck_assert_int_eq(mcai_requant(-3, 1 << 30, 30), -(1 << 30));
	ck_assert_int_eq(mcai_requant(INT32_MIN, INT32_MAX, 1), -INT32_MAX);
	ck_assert_int_eq(mcai_requant(INT32_MIN, INT32_MAX, 30), -INT32_MAX);
	ck_assert_int_eq(mcai_requant(1 << 20, INT32_MAX, 11), INT32_MAX - 1);
}
END_TEST

START_TEST(requant_mult_zero_and_max)
{
	s32 v[256];
	int n = edge_values(v), i, s;

	for (i = 0; i < n; i++) {
		for (s = -31; s <= 30; s++)
			EXPECT(mcai_requant(v[i], 0, s) == 0, "mult 0: %d %d", v[i], s);
		/* mult INT32_MAX is 1 - 2^-31: x itself while |x| < 2^30. */
		if (v[i] > -(1 << 30) && v[i] <= 1 << 30)
			EXPECT(mcai_requant(v[i], INT32_MAX, 0) == v[i],
			       "mult max: %d", v[i]);
		EXPECT(mcai_requant(v[i], INT32_MAX, 0) ==
		       ref_requant(v[i], INT32_MAX, 0), "mult max ref: %d", v[i]);
		/* mult 2^30 with shift 1 is exactly 1 (while 2x fits). */
		if (v[i] >= -(1 << 30) && v[i] < 1 << 30)
			EXPECT(mcai_requant(v[i], 1 << 30, 1) == v[i],
			       "identity: %d", v[i]);
	}
}
END_TEST

/* Every shift, a spread of multipliers, every edge value. */
START_TEST(requant_edges_all_shifts)
{
	static const s32 mults[] = {
		0, 1, 2, 3, 1 << 29, (1 << 30) - 1, 1 << 30, (1 << 30) + 1,
		0x5a827999, 0x7ffffffe, INT32_MAX, 1518500250, 1234567890,
	};
	s32 v[256];
	int n = edge_values(v), i, s;
	unsigned int m;

	for (s = -31; s <= 30; s++)
		for (m = 0; m < sizeof(mults) / sizeof(mults[0]); m++)
			for (i = 0; i < n; i++) {
				s32 got = mcai_requant(v[i], mults[m], s);
				s32 want = ref_requant(v[i], mults[m], s);

				EXPECT(got == want,
					      "requant(%d, %d, %d) = %d, want %d",
					      v[i], mults[m], s, got, want);
			}
}
END_TEST

START_TEST(srdhm_random_sweep)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int i;

	for (i = 0; i < 400000; i++) {
		s32 a = (s32)unit_rnd32(&seed), b = (s32)unit_rnd32(&seed);

		/* Also small magnitudes, where ties are frequent. */
		if (i & 1) {
			a >>= unit_rnd32(&seed) % 31;
			b >>= unit_rnd32(&seed) % 31;
		}
		EXPECT(mcai_srdhm(a, b) == ref_srdhm(a, b),
			      "srdhm(%d, %d) = %d, want %d", a, b,
			      mcai_srdhm(a, b), ref_srdhm(a, b));
		EXPECT(mcai_rdivpot(a, i % 32) == ref_rdivpot(a, i % 32),
			      "rdivpot(%d, %d) = %d, want %d", a, i % 32,
			      mcai_rdivpot(a, i % 32), ref_rdivpot(a, i % 32));
	}
}
END_TEST

/*
 * Random accumulators, multipliers in the quantiser's range [2^30, 2^31)
 * and shifts: the composed reference, and the exact real value within one
 * unit (two roundings of at most half a unit each, unless saturated).
 */
START_TEST(requant_random_sweep)
{
	uint64_t seed = 42;
	int i;

	for (i = 0; i < 300000; i++) {
		s32 x = (s32)unit_rnd32(&seed) >> (unit_rnd32(&seed) % 32);
		s32 mult = (s32)((1U << 30) | (unit_rnd32(&seed) >> 2));
		int shift = (int)(unit_rnd32(&seed) % 62) - 31;
		s32 got = mcai_requant(x, mult, shift);
		i128 scaled = (i128)x * ((i128)1 << (shift > 0 ? shift : 0));

		EXPECT(got == ref_requant(x, mult, shift),
			      "requant(%d, %d, %d) = %d, want %d", x, mult, shift,
			      got, ref_requant(x, mult, shift));
		if (scaled >= INT32_MIN && scaled <= INT32_MAX) {
			/* |got * 2^(31+r) - scaled * mult| <= 2^(31+r) */
			int r = shift < 0 ? -shift : 0;
			i128 d = (i128)got * ((i128)1 << (31 + r)) - scaled * mult;

			if (d < 0)
				d = -d;
			EXPECT(d <= ((i128)1 << (31 + r)),
				      "requant(%d, %d, %d) = %d is off by more than 1",
				      x, mult, shift, got);
		}
	}
}
END_TEST

START_TEST(sat32_bounds)
{
	ck_assert_int_eq(mcai_sat32((s64)INT32_MAX + 1), INT32_MAX);
	ck_assert_int_eq(mcai_sat32((s64)INT32_MIN - 1), INT32_MIN);
	ck_assert_int_eq(mcai_sat32(INT64_MAX), INT32_MAX);
	ck_assert_int_eq(mcai_sat32(INT64_MIN), INT32_MIN);
	ck_assert_int_eq(mcai_sat32(-5), -5);
}
END_TEST

Suite *requant_suite(void)
{
	Suite *s = suite_create("requant");
	TCase *tc = tcase_create("edges");
	TCase *sw = tcase_create("sweeps");

	tcase_add_test(tc, srdhm_saturates_min_times_min);
	tcase_add_test(tc, srdhm_ties);
	tcase_add_test(tc, rdivpot_ties_away_from_zero);
	tcase_add_test(tc, rdivpot_extreme_exponents);
	tcase_add_test(tc, requant_shift_bounds);
	tcase_add_test(tc, requant_left_shift_saturates);
	tcase_add_test(tc, requant_mult_zero_and_max);
	tcase_add_test(tc, sat32_bounds);
	suite_add_tcase(s, tc);
	tcase_set_timeout(sw, 30);
	tcase_add_test(sw, requant_edges_all_shifts);
	tcase_add_test(sw, srdhm_random_sweep);
	tcase_add_test(sw, requant_random_sweep);
	suite_add_tcase(s, sw);
	return s;
}
