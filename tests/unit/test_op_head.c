// SPDX-License-Identifier: GPL-2.0
/*
 * Heads (models/engine/op_head.c): argmax's tie rule, the score head, and
 * the anomaly score against 128-bit integer arithmetic (exactly) and the
 * real mean squared error in double (where no grid rounding intervenes).
 */
#include <math.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/ops.h"
#include "models/train/opquant.h"

typedef __int128 i128;

START_TEST(argmax)
{
	uint64_t seed = 0xa9;
	static const s8 ties[5] = { 3, 9, -1, 9, 9 };
	static const s8 low[3] = { -128, -128, -128 };
	s8 rows[3 * 4] = { 1, 2, 3, 4, 9, 9, 0, 0, -5, -6, -7, -5 };
	u32 cls[3];
	int k;

	ck_assert_uint_eq(mcai_argmax(ties, 5), 1);
	ck_assert_uint_eq(mcai_argmax(low, 3), 0);
	ck_assert_uint_eq(mcai_argmax(ties, 1), 0);
	mcai_argmax_rows(rows, 3, 4, cls);
	ck_assert_uint_eq(cls[0], 3);
	ck_assert_uint_eq(cls[1], 0);
	ck_assert_uint_eq(cls[2], 0);
	for (k = 0; k < 500; k++) {
		s8 v[37];
		u32 n = (u32)unit_rnd_in(&seed, 1, 37), i, best = 0;

		for (i = 0; i < n; i++)
			v[i] = (s8)unit_rnd_in(&seed, -3, 3);	/* many ties */
		for (i = n; i-- > 0;)
			if (v[i] >= v[best])
				best = i;
		EXPECT(mcai_argmax(v, n) == best, "argmax");
	}
	ck_assert_uint_eq(mcai_argmax_macs(3, 4), 12);
	ck_assert_int_eq(mcai_score_head(rows, 1, 2), 1);
	ck_assert_int_eq(mcai_score_head(rows, 1, 3), 0);
}
END_TEST

static s32 ref_score(const struct mcai_recon_params *p, const s8 *o,
		     const s8 *in)
{
	i128 sum = 0, num, den, q;
	u32 i;

	for (i = 0; i < p->len; i++) {
		i128 d = (i128)(o[i] - p->out_zp) -
			 unit_ref_requant(in[i] - p->in_zp, p->in_mult,
					  p->in_shift);

		sum += d * d;
	}
	if (sum > INT64_MAX)
		sum = INT64_MAX;
	num = sum * p->mean_mult;
	den = (i128)1 << (31 - p->mean_shift);
	q = (num + den / 2) / den;
	return q > INT32_MAX ? INT32_MAX : (s32)q;
}

START_TEST(anomaly_random)
{
	uint64_t seed = 0xa0;
	int k;

	for (k = 0; k < 300; k++) {
		struct mcai_recon_params p;
		u32 len = (u32)unit_rnd_in(&seed, 1, k < 290 ? 200 : 5000), i;
		double so = 0.001 + unit_rnd32(&seed) / 4294967296.0 * 0.1;
		double si = k % 3 ? 0.001 + unit_rnd32(&seed) / 4294967296.0 * 0.1 : so;
		int zo = unit_rnd_in(&seed, -128, 127);
		int zi = k % 3 ? unit_rnd_in(&seed, -128, 127) : zo;
		double score_scale = pow(2, -unit_rnd_in(&seed, 4, 24));
		s8 *o = malloc(len), *in = malloc(len);
		double mse = 0;
		s32 got;

		ck_assert(o && in);
		memset(&p, 0, sizeof(p));
		mcai_recon_prepare(&p, len, so, zo, si, zi, score_scale);
		ck_assert_ptr_null(mcai_recon_check(&p));
		for (i = 0; i < len; i++) {
			in[i] = unit_rnd_s8(&seed);
			/* a reconstruction near the input, sometimes far */
			o[i] = k % 5 ? (s8)fmax(-128, fmin(127, in[i] + unit_rnd_in(&seed, -9, 9))) :
				       unit_rnd_s8(&seed);
			mse += pow(so * (o[i] - zo) - si * (in[i] - zi), 2);
		}
		mse /= len;
		got = mcai_recon_score(&p, o, in);
		EXPECT(got == ref_score(&p, o, in), "anomaly %d: %d vs %d", k,
		       got, ref_score(&p, o, in));
		if (si == so && zi == zo && mse / score_scale < 2e9)
			EXPECT(fabs(got - mse / score_scale) <=
			       1 + 1e-6 * mse / score_scale,
			       "anomaly %d: %d, real %g", k, got,
			       mse / score_scale);
		ck_assert_uint_eq(mcai_recon_macs(&p), len);
		free(o);
		free(in);
	}
}
END_TEST

START_TEST(anomaly_edges)
{
	struct mcai_recon_params p;
	s8 a[4] = { -128, 127, 0, 5 }, b[4] = { 127, -128, 0, 5 };

	memset(&p, 0, sizeof(p));
	mcai_recon_prepare(&p, 4, 0.1, 0, 0.1, 0, 1e-4);
	ck_assert_int_eq(mcai_recon_score(&p, a, a), 0);
	/* (255^2 * 2) / 4 * 0.01 / 1e-4 = 3251250 */
	ck_assert_int_eq(mcai_recon_score(&p, a, b), 3251250);
	/* a score past 2^31 saturates */
	mcai_recon_prepare(&p, 4, 0.1, 0, 0.1, 0, 1e-8);
	ck_assert_int_eq(mcai_recon_score(&p, a, b), INT32_MAX);
	/* an input scale that saturates every element: no overflow */
	p.in_mult = INT32_MAX;
	p.in_shift = 30;
	p.mean_mult = INT32_MAX;
	p.mean_shift = -31;
	ck_assert_ptr_null(mcai_recon_check(&p));
	ck_assert_int_eq(mcai_recon_score(&p, a, b), ref_score(&p, a, b));
	p.mean_shift = 31;
	ck_assert_ptr_nonnull(mcai_recon_check(&p));
	p.mean_shift = 0;
	p.len = 0;
	ck_assert_ptr_nonnull(mcai_recon_check(&p));
}
END_TEST

Suite *op_head_suite(void)
{
	Suite *s = suite_create("op_head");
	TCase *t = tcase_create("head");

	tcase_add_test(t, argmax);
	tcase_add_test(t, anomaly_random);
	tcase_add_test(t, anomaly_edges);
	suite_add_tcase(s, t);
	return s;
}
