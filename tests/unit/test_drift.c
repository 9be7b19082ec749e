// SPDX-License-Identifier: GPL-2.0
/*
 * Drift score and round policy (runtime/fed/drift.c) against figures
 * worked out by hand in the comments: the baseline's text format and its
 * refusals, the standardised mean shift (variance floor included), and
 * the policy's window, distinct nodes and fraction.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "runtime/fed/drift.h"

static int parse(const char *text, struct mcai_drift_base *b)
{
	char err[256];

	return mcai_drift_base_parse(text, strlen(text), b, err, sizeof(err));
}

START_TEST(baseline_format)
{
	struct mcai_drift_base b;
	static const char *const bad[] = {
		"",
		"mcai-drift-baseline 2\nfeatures 1\n0 1\n",
		"mcai-drift-baseline 1\nfeatures 0\n",
		"mcai-drift-baseline 1\nfeatures 2\n0 1\n",		/* short */
		"mcai-drift-baseline 1\nfeatures 1\n0 -1\n",		/* var < 0 */
		"mcai-drift-baseline 1\nfeatures 1\nnan 1\n",
		"mcai-drift-baseline 1\nfeatures 1\n0 1 2\n",		/* extra */
		"mcai-drift-baseline 1\nfeatures 1\n0 1\n5 5\n",	/* long */
		"mcai-drift-baseline 1\nfeatures 99999999\n",
	};
	size_t i;

	ck_assert_int_eq(parse("mcai-drift-baseline 1\nfeatures 2\n1.5 4\n-2 0\n\n", &b), 0);
	ck_assert_uint_eq(b.n_features, 2);
	ck_assert(b.mean[0] == 1.5 && b.var[0] == 4);
	ck_assert(b.mean[1] == -2 && b.var[1] == 0);
	mcai_drift_base_free(&b);
	/* no final newline is fine */
	ck_assert_int_eq(parse("mcai-drift-baseline 1\nfeatures 1\n0 1", &b), 0);
	mcai_drift_base_free(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &b) == -EINVAL, "accepted bad[%zu]", i);
		ck_assert_ptr_null(b.mean);
	}
}
END_TEST

START_TEST(score_by_hand)
{
	struct mcai_drift_base b;
	int32_t live[2];

	/* means 10, 0; variances 4, 0 (floored to 1) */
	ck_assert_int_eq(parse("mcai-drift-baseline 1\nfeatures 2\n10 4\n0 0\n", &b), 0);
	/* the training means exactly: 0 */
	live[0] = 10 << 16;
	live[1] = 0;
	ck_assert(mcai_drift_score_q16(&b, live, 2) == 0);
	/*
	 * feature 0 at 14: (4^2)/4 = 4; feature 1 at -3: 9/1 = 9;
	 * sqrt((4 + 9) / 2) = sqrt(6.5)
	 */
	live[0] = 14 << 16;
	live[1] = -3 * 65536;
	ck_assert(fabs(mcai_drift_score_q16(&b, live, 2) - sqrt(6.5)) < 1e-12);
	/* one standard deviation on each: 1 */
	live[0] = 12 << 16;
	live[1] = 1 << 16;
	ck_assert(fabs(mcai_drift_score_q16(&b, live, 2) - 1) < 1e-12);
	/* half a quantum, in Q16.16: (0.5)^2 / 1 on feature 1 only */
	live[0] = 10 << 16;
	live[1] = 1 << 15;
	ck_assert(fabs(mcai_drift_score_q16(&b, live, 2) - sqrt(0.125)) < 1e-12);
	/* another shape */
	ck_assert(mcai_drift_score_q16(&b, live, 1) == -1);
	mcai_drift_base_free(&b);
}
END_TEST

/* The baseline a signed manifest's statistics give (f32 in, same score). */
START_TEST(baseline_from_stats)
{
	const float mean[2] = { 10.0f, 0.0f }, var[2] = { 4.0f, 0.0f };
	struct mcai_drift_base b;
	int32_t live[2] = { 14 << 16, -3 * 65536 };

	ck_assert_int_eq(mcai_drift_base_from_stats(&b, 0, mean, var), -EINVAL);
	ck_assert_uint_eq(b.n_features, 0);
	ck_assert_ptr_null(b.mean);
	ck_assert_int_eq(mcai_drift_base_from_stats(&b, MCAI_DRIFT_MAX_FEATURES + 1,
						    mean, var), -EINVAL);
	ck_assert_int_eq(mcai_drift_base_from_stats(&b, 2, mean, var), 0);
	ck_assert_uint_eq(b.n_features, 2);
	/* as score_by_hand: sqrt((16/4 + 9/1) / 2) */
	ck_assert(fabs(mcai_drift_score_q16(&b, live, 2) - sqrt(6.5)) < 1e-12);
	ck_assert(mcai_drift_score_q16(&b, live, 1) == -1);
	mcai_drift_base_free(&b);
	ck_assert_ptr_null(b.mean);
}
END_TEST

START_TEST(policy)
{
	struct mcai_drift_policy p = { .min_nodes = 2, .min_fraction = 0.5,
				       .window_s = 60 };
	struct mcai_drift_report r[] = {
		{ "a", 1000 }, { "a", 1010 }, { "b", 900 }, { "c", 1050 },
	};
	uint32_t v;

	/* at 1060: a (twice, once counted) and c are recent, b is 160 s old */
	ck_assert(mcai_drift_policy_start(&p, r, 4, 4, 1060, &v));
	ck_assert_uint_eq(v, 2);
	/* 2 of 5 connected is below half */
	ck_assert(!mcai_drift_policy_start(&p, r, 4, 5, 1060, &v));
	ck_assert_uint_eq(v, 2);
	/* at 1070 a's last report (1010) is 60 s old: out of the window */
	ck_assert(!mcai_drift_policy_start(&p, r, 4, 4, 1070, &v));
	ck_assert_uint_eq(v, 1);
	/* a wider window takes b in: 3 of 4 */
	p.window_s = 200;
	ck_assert(mcai_drift_policy_start(&p, r, 4, 4, 1060, &v));
	ck_assert_uint_eq(v, 3);
	/* min_nodes 4 is more than ever reported */
	p.min_nodes = 4;
	ck_assert(!mcai_drift_policy_start(&p, r, 4, 4, 1060, &v));
	/* a report from the future counts as now */
	p.min_nodes = 1;
	p.window_s = 1;
	ck_assert(mcai_drift_policy_start(&p, r, 4, 1, 100, &v));
	ck_assert_uint_eq(v, 3);
	/* nothing connected, nothing reported, policy unset: never */
	ck_assert(!mcai_drift_policy_start(&p, r, 4, 0, 1060, &v));
	ck_assert(!mcai_drift_policy_start(&p, r, 0, 4, 1060, &v));
	p.min_nodes = 0;
	ck_assert(!mcai_drift_policy_start(&p, r, 4, 4, 1060, &v));
}
END_TEST

Suite *drift_suite(void)
{
	Suite *s = suite_create("drift");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, baseline_format);
	tcase_add_test(tc, score_by_hand);
	tcase_add_test(tc, baseline_from_stats);
	tcase_add_test(tc, policy);
	suite_add_tcase(s, tc);
	return s;
}
