// SPDX-License-Identifier: GPL-2.0
/*
 * Update anomaly scoring and quarantine (runtime/fed/anomaly.c) against
 * results worked out by hand in the comments: robust median / MAD, the
 * zero-MAD rule, cosine to the coordinate median, each flag reason, and
 * quarantine windows.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "runtime/fed/anomaly.h"

#define TOL 1e-9

static void near(double got, double want, const char *what)
{
	ck_assert_msg(fabs(got - want) <= TOL * (1 + fabs(want)),
		      "%s = %.12g, want %.12g", what, got, want);
}

START_TEST(median_and_mad)
{
	double odd[] = { 5, 1, 4, 2, 3 }, even[] = { 10, 1, 4, 2 };
	double v[] = { 6, 5, 50, 5, 6 }, med, sigma;

	near(mcai_median_sort(odd, 5), 3, "median 1..5");
	near(mcai_median_sort(even, 4), 3, "median {1,2,4,10}");
	/*
	 * norms 5 5 6 6 50: median 6, |x - 6| = 1 1 0 0 44 -> MAD 1,
	 * sigma = 1.4826..., and v itself is left alone.
	 */
	ck_assert_int_eq(mcai_robust_stats(v, 5, &med, &sigma), 0);
	near(med, 6, "median");
	near(sigma, 1.482602218505602, "sigma");
	near(v[2], 50, "v untouched");
	near(mcai_robust_z(50, med, sigma), 44 / 1.482602218505602, "z(50)");
	near(mcai_robust_z(5, med, sigma), -1 / 1.482602218505602, "z(5)");
	ck_assert_int_eq(mcai_robust_stats(v, 0, &med, &sigma), -EINVAL);
}
END_TEST

START_TEST(zero_mad)
{
	/* 2 2 2 7: median 2, deviations 0 0 0 5 -> MAD 0: no scale. */
	double v[] = { 2, 2, 2, 7 }, med, sigma;

	ck_assert_int_eq(mcai_robust_stats(v, 4, &med, &sigma), 0);
	near(med, 2, "median");
	near(sigma, 0, "sigma");
	near(mcai_robust_z(2, med, sigma), 0, "z(median)");
	ck_assert(isinf(mcai_robust_z(7, med, sigma)) &&
		  mcai_robust_z(7, med, sigma) > 0);
	ck_assert(isinf(mcai_robust_z(1, med, sigma)) &&
		  mcai_robust_z(1, med, sigma) < 0);
}
END_TEST

START_TEST(cosine)
{
	const float a[] = { 3, 4 }, b[] = { 4, 3 }, z[] = { 0, 0 };
	const float c[] = { -6, -8 };

	near(mcai_cosine(a, b, 2), 24.0 / 25, "cos(a, b)");
	near(mcai_cosine(a, c, 2), -1, "cos(a, -2a)");
	near(mcai_cosine(a, z, 2), 0, "cos(a, 0)");
}
END_TEST

/*
 * Five updates in 2-D, the last a sign-flipped, boosted one:
 *   a (3, 4)  b (4, 3)  c (0, 6)  d (6, 0)  e (-30, -40)
 * coordinate median: x {-30 0 3 4 6} -> 3, y {-40 0 3 4 6} -> 3: m = (3, 3)
 * norms 5 5 6 6 50: median 6, sigma 1.4826 (MAD 1)
 *   z(a) = z(b) = -0.6745, z(c) = z(d) = 0, z(e) = 44 / 1.4826 = 29.68
 * cosines to m (|m| = 3 sqrt 2):
 *   a, b: 21 / (15 sqrt 2) = 0.98995    c, d: 18 / (18 sqrt 2) = 0.70711
 *   e: -210 / (150 sqrt 2) = -0.98995
 * cosine median 0.70711; deviations 0.28284 0.28284 0 0 1.69706 -> MAD
 * 0.28284 = 0.4 / sqrt 2, sigma 0.41934; cosine_z(e) = (-2.4 / sqrt 2) /
 * (0.4 / sqrt 2) / 1.4826 = -6 / 1.4826 = -4.0469, cosine_z(a) = 0.67449.
 */
static const float upd[5][2] = {
	{ 3, 4 }, { 4, 3 }, { 0, 6 }, { 6, 0 }, { -30, -40 },
};

static void score5(const struct mcai_anomaly_config *c,
		   struct mcai_anomaly_score *s, struct mcai_anomaly_round *r)
{
	const float *u[5] = { upd[0], upd[1], upd[2], upd[3], upd[4] };
	float med[2];

	ck_assert_int_eq(mcai_anomaly_score(c, u, 5, 2, med, s, r), 0);
	near(med[0], 3, "median x");
	near(med[1], 3, "median y");
}

START_TEST(score_by_hand)
{
	const double sig = 1.482602218505602, r2 = sqrt(2.0);
	const double cmad = 21 / (15 * r2) - 1 / r2;
	struct mcai_anomaly_config c;
	struct mcai_anomaly_score s[5];
	struct mcai_anomaly_round r;
	char buf[64];

	mcai_anomaly_config_default(&c);
	score5(&c, s, &r);
	near(r.norm_median, 6, "norm median");
	near(r.norm_sigma, sig, "norm sigma");
	near(r.cos_median, 1 / r2, "cos median");
	near(r.cos_sigma, sig * cmad, "cos sigma");
	near(s[0].norm, 5, "norm a");
	near(s[4].norm, 50, "norm e");
	near(s[0].norm_z, -1 / sig, "z a");
	near(s[2].norm_z, 0, "z c");
	near(s[4].norm_z, 44 / sig, "z e");
	near(s[0].cosine, 21 / (15 * r2), "cos a");
	near(s[3].cosine, 1 / r2, "cos d");
	near(s[4].cosine, -21 / (15 * r2), "cos e");
	near(s[4].cosine_z, (-21 / (15 * r2) - 1 / r2) / (sig * cmad),
	     "cos z e");
	near(s[4].cosine_z, -6 / sig, "cos z e = -4.0469");
	near(s[0].cosine_z, 1 / sig, "cos z a");
	/* Defaults: norm 3.5 sigmas up, cosine < 0, cosine 3.5 sigmas down. */
	ck_assert_uint_eq(s[4].reasons, MCAI_ANOMALY_NORM_HIGH |
			  MCAI_ANOMALY_COSINE | MCAI_ANOMALY_COSINE_Z);
	ck_assert_uint_eq(s[0].reasons | s[1].reasons | s[2].reasons |
			  s[3].reasons, 0);
	ck_assert_uint_eq(r.flagged, 1);
	ck_assert_str_eq(mcai_anomaly_reasons(s[4].reasons, buf, sizeof(buf)),
			 "norm-high,cosine,cosine-z");
	ck_assert_str_eq(mcai_anomaly_reasons(0, buf, sizeof(buf)), "-");
}
END_TEST

START_TEST(score_thresholds)
{
	struct mcai_anomaly_config c;
	struct mcai_anomaly_score s[5];

	/* Only the low-norm test, at 0.5 sigma: a and b (z = -0.674) fail. */
	memset(&c, 0, sizeof(c));
	c.cos_min = -1;
	c.norm_z_low = 0.5f;
	score5(&c, s, NULL);
	ck_assert_uint_eq(s[0].reasons, MCAI_ANOMALY_NORM_LOW);
	ck_assert_uint_eq(s[1].reasons, MCAI_ANOMALY_NORM_LOW);
	ck_assert_uint_eq(s[2].reasons | s[3].reasons | s[4].reasons, 0);

	/* cos_min 0.8: c and d (0.707) and e fail; a, b (0.990) pass. */
	c.norm_z_low = 0;
	c.cos_min = 0.8f;
	score5(&c, s, NULL);
	ck_assert_uint_eq(s[0].reasons | s[1].reasons, 0);
	ck_assert_uint_eq(s[2].reasons & s[3].reasons & s[4].reasons,
			  MCAI_ANOMALY_COSINE);

	/* cosine z at 4.1 sigmas lets e (-4.047) through, at 4.0 not. */
	c.cos_min = -1;
	c.cos_z = 4.1f;
	score5(&c, s, NULL);
	ck_assert_uint_eq(s[4].reasons, 0);
	c.cos_z = 4.0f;
	score5(&c, s, NULL);
	ck_assert_uint_eq(s[4].reasons, MCAI_ANOMALY_COSINE_Z);
}
END_TEST

START_TEST(score_errors)
{
	const float bad[2] = { 1, NAN }, ok[2] = { 1, 1 };
	const float *u[2] = { ok, bad };
	struct mcai_anomaly_config c;
	struct mcai_anomaly_score s[2];
	char why[128] = "";

	mcai_anomaly_config_default(&c);
	ck_assert_int_eq(mcai_anomaly_score(&c, u, 2, 2, NULL, s, NULL),
			 -EINVAL);
	ck_assert_int_eq(mcai_anomaly_score(&c, u, 0, 2, NULL, s, NULL),
			 -EINVAL);
	/* One update, own scratch: it is its own median, cosine 1, z 0. */
	ck_assert_int_eq(mcai_anomaly_score(&c, u, 1, 2, NULL, s, NULL), 0);
	near(s[0].cosine, 1, "cos self");
	ck_assert_uint_eq(s[0].reasons, 0);

	c.window = 0;
	ck_assert_int_eq(mcai_anomaly_config_check(&c, why, sizeof(why)),
			 -EINVAL);
	ck_assert(strstr(why, "window") != NULL);
	mcai_anomaly_config_default(&c);
	c.cos_z = -1;
	ck_assert_int_eq(mcai_anomaly_config_check(&c, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(quarantine_window)
{
	/* 2 flags within 3 rounds: rounds (r - 3, r]. */
	struct mcai_quarantine *q = mcai_quarantine_create(4, 2, 3);

	ck_assert_ptr_nonnull(q);
	/* node 0: flags at 1 and 4 are 3 rounds apart: outside. */
	ck_assert(!mcai_quarantine_flag(q, 0, 1));
	ck_assert(!mcai_quarantine_flag(q, 0, 4));
	ck_assert(!mcai_quarantine_active(q, 0));
	/* ... a third at 6: 4 and 6 are inside (3, 6]. */
	ck_assert(mcai_quarantine_flag(q, 0, 6));
	ck_assert(mcai_quarantine_active(q, 0));
	/* Already in: further flags change nothing. */
	ck_assert(!mcai_quarantine_flag(q, 0, 7));
	/* node 1: 2 and 4 are inside (1, 4]. */
	ck_assert(!mcai_quarantine_flag(q, 1, 2));
	ck_assert(mcai_quarantine_flag(q, 1, 4));
	/* node 2: one flag only; node 9 does not exist. */
	ck_assert(!mcai_quarantine_flag(q, 2, 4));
	ck_assert(!mcai_quarantine_flag(q, 9, 4));
	ck_assert(!mcai_quarantine_active(q, 2));
	ck_assert(!mcai_quarantine_active(q, 9));
	ck_assert_uint_eq(mcai_quarantine_count(q), 2);
	mcai_quarantine_free(q);

	/* One flag is enough with flags = 1. */
	q = mcai_quarantine_create(1, 1, 1);
	ck_assert(mcai_quarantine_flag(q, 0, 0));
	mcai_quarantine_free(q);
	ck_assert_ptr_null(mcai_quarantine_create(0, 1, 1));
	ck_assert_ptr_null(mcai_quarantine_create(1, 0, 1));
	ck_assert_ptr_null(mcai_quarantine_create(1, 1, 0));
}
END_TEST

Suite *anomaly_suite(void)
{
	Suite *s = suite_create("anomaly");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, median_and_mad);
	tcase_add_test(tc, zero_mad);
	tcase_add_test(tc, cosine);
	tcase_add_test(tc, score_by_hand);
	tcase_add_test(tc, score_thresholds);
	tcase_add_test(tc, score_errors);
	tcase_add_test(tc, quarantine_window);
	suite_add_tcase(s, tc);
	return s;
}
