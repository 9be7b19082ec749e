// SPDX-License-Identifier: GPL-2.0
/*
 * Aggregation strategies (runtime/fed/strategy.c) against results worked out by
 * hand in the comments: weighted FedAvg, FedProx's server side, FedAdam's
 * first two server steps, median (odd, even, ties), trimmed mean, Multi-Krum
 * (ties, m), clipping (at, above and below the bound), and the parameter
 * and input errors; and the vector passes every update goes through
 * (runtime/fed/floats.h) against the plain loops.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "runtime/fed/floats.h"
#include "runtime/fed/strategy.h"

#define TOL 1e-6

static struct mcai_agg *agg_new(const struct mcai_agg_config *c, u32 n)
{
	char why[128] = "";
	struct mcai_agg *a = mcai_agg_create(c, n, why, sizeof(why));

	ck_assert_msg(a != NULL, "create: %s", why);
	mcai_agg_begin(a);
	return a;
}

static void add(struct mcai_agg *a, const float *d, u64 w)
{
	char why[128] = "";
	int err = mcai_agg_add(a, d, w, why, sizeof(why));

	ck_assert_msg(!err, "add: %d %s", err, why);
}

static void finish(struct mcai_agg *a, float *out, struct mcai_agg_report *r)
{
	char why[128] = "";
	int err = mcai_agg_finish(a, out, r, why, sizeof(why));

	ck_assert_msg(!err, "finish: %d %s", err, why);
}

static void expect_vec(const float *got, const float *want, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		ck_assert_msg(fabs((double)got[i] - want[i]) <= TOL,
			      "[%u] = %.9g, want %.9g", i, got[i], want[i]);
}

static struct mcai_agg_config cfg(enum mcai_agg_kind kind)
{
	struct mcai_agg_config c;

	mcai_agg_config_default(&c, kind);
	return c;
}

/*
 * u1 = [1, 2, 3] x 1 sample, u2 = [3, -2, 0] x 3 samples:
 *   [(1 + 9) / 4, (2 - 6) / 4, (3 + 0) / 4] = [2.5, -1, 0.75]
 * applied to [10, 10, 10]: [12.5, 9, 10.75].
 */
START_TEST(fedavg_weighted)
{
	const struct mcai_agg_config c = cfg(MCAI_AGG_FEDAVG);
	struct mcai_agg *a = agg_new(&c, 3);
	static const float u1[] = { 1, 2, 3 }, u2[] = { 3, -2, 0 };
	static const float want[] = { 2.5f, -1, 0.75f };
	static const float want_model[] = { 12.5f, 9, 10.75f };
	float out[3], model[3] = { 10, 10, 10 };
	struct mcai_agg_report r;

	add(a, u1, 1);
	add(a, u2, 3);
	finish(a, out, &r);
	expect_vec(out, want, 3);
	ck_assert_uint_eq(r.updates, 2);
	ck_assert_uint_eq(r.used, 2);
	ck_assert_uint_eq(r.clipped, 0);
	ck_assert_uint_eq(r.weight, 4);
	mcai_agg_apply(a, model, out, 0, 0);
	expect_vec(model, want_model, 3);
	mcai_agg_free(a);
}
END_TEST

/*
 * Update i is all (i mod 10), one sample each, 1000 of them: the mean is
 * (0 + 1 + ... + 9) / 10 = 4.5.  The aggregator holds no update: its size
 * is the same before the first and after the last.
 */
START_TEST(fedavg_streaming)
{
	const struct mcai_agg_config c = cfg(MCAI_AGG_FEDAVG);
	struct mcai_agg *a = agg_new(&c, 1000);
	float *u = calloc(1000, sizeof(float)), *out = calloc(1000, sizeof(float));
	size_t before = mcai_agg_bytes(a);
	struct mcai_agg_report r;
	u32 i, j;

	ck_assert_ptr_nonnull(u);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < 1000; i++) {
		for (j = 0; j < 1000; j++)
			u[j] = (float)(i % 10);
		add(a, u, 1);
		ck_assert_uint_eq(mcai_agg_bytes(a), before);
	}
	finish(a, out, &r);
	for (j = 0; j < 1000; j++)
		EXPECT(out[j] == 4.5f, "[%u] = %g", j, out[j]);
	ck_assert_uint_eq(r.weight, 1000);
	/* about n doubles, nowhere near 1000 updates of n floats */
	ck_assert_uint_lt(before, 1000 * sizeof(double) + 1024);
	free(u);
	free(out);
	mcai_agg_free(a);
}
END_TEST

/* FedProx's server side is FedAvg; mu 0 would be FedAvg by another name. */
START_TEST(fedprox_server_is_fedavg)
{
	struct mcai_agg_config cp = cfg(MCAI_AGG_FEDPROX);
	const struct mcai_agg_config ca = cfg(MCAI_AGG_FEDAVG);
	struct mcai_agg *p = agg_new(&cp, 3), *a = agg_new(&ca, 3);
	static const float u1[] = { 0.5f, -7, 3 }, u2[] = { 1.25f, 2, -1 };
	float op[3], oa[3];
	char why[128];

	add(p, u1, 5);
	add(p, u2, 2);
	add(a, u1, 5);
	add(a, u2, 2);
	finish(p, op, NULL);
	finish(a, oa, NULL);
	ck_assert(!memcmp(op, oa, sizeof(op)));
	cp.prox_mu = 0;
	ck_assert_int_eq(mcai_agg_config_check(&cp, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "mu"));
	mcai_agg_free(p);
	mcai_agg_free(a);
}
END_TEST

/*
 * Bound 5:  [3, 4] has norm 5, exactly at the bound: kept as is.
 *           [6, 8] has norm 10: scaled by 1/2 to [3, 4], counted.
 *           [0, 0]: nothing to scale.
 * Weights 1, 3, 4: [(3 + 3*3 + 0) / 8, (4 + 3*4 + 0) / 8] = [1.5, 2].
 */
START_TEST(clipping)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_FEDAVG);
	struct mcai_agg *a;
	static const float at[] = { 3, 4 }, above[] = { 6, 8 }, zero[] = { 0, 0 };
	static const float want[] = { 1.5f, 2 };
	float out[2], v[2] = { -6, 8 }, w[2] = { 3, 4 };
	struct mcai_agg_report r;

	c.clip_norm = 5;
	a = agg_new(&c, 2);
	add(a, at, 1);
	add(a, above, 3);
	add(a, zero, 4);
	finish(a, out, &r);
	expect_vec(out, want, 2);
	ck_assert_uint_eq(r.clipped, 1);
	ck_assert_uint_eq(r.updates, 3);
	/* the caller's buffer is not touched */
	ck_assert_float_eq(above[0], 6);
	mcai_agg_free(a);

	/* on its own: at the bound stays, above comes down, 0 turns it off */
	ck_assert(!mcai_clip_l2(w, 2, 5));
	ck_assert(w[0] == 3 && w[1] == 4);
	ck_assert(mcai_clip_l2(v, 2, 5));
	ck_assert_float_eq(v[0], -3);
	ck_assert_float_eq(v[1], 4);
	v[0] = 600;
	ck_assert(!mcai_clip_l2(v, 2, 0));
	ck_assert_float_eq(v[0], 600);
	ck_assert_double_eq(mcai_l2_norm(above, 2), 10);
}
END_TEST

/*
 * Clipping comes before a robust rule: median of [1], [2], [100] with bound
 * 10 is the median of 1, 2, 10 = 2; and of [1], [20], [30] it is 10.
 */
START_TEST(clipping_then_median)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_MEDIAN);
	struct mcai_agg *a;
	static const float x1[] = { 1 }, x2[] = { 20 }, x3[] = { 30 };
	float out[1];
	struct mcai_agg_report r;

	c.clip_norm = 10;
	a = agg_new(&c, 1);
	add(a, x1, 1);
	add(a, x2, 1);
	add(a, x3, 1);
	finish(a, out, &r);
	ck_assert_float_eq(out[0], 10);
	ck_assert_uint_eq(r.clipped, 2);
	mcai_agg_free(a);
}
END_TEST

/*
 * Odd, 5 updates of 3 coordinates:
 *   coordinate 0: 5 1 4 2 3      sorted 1 2 [3] 4 5         -> 3
 *   coordinate 1: 7 7 1 7 2      sorted 1 2 [7] 7 7 (ties)  -> 7
 *   coordinate 2: -1 -1 -1 -1 100 (an outlier)              -> -1
 * Even, 4 updates:
 *   coordinate 0: 4 1 3 2        sorted 1 [2 3] 4           -> 2.5
 *   coordinate 1: 5 5 5 1        sorted 1 [5 5] 5 (ties)    -> 5
 *   coordinate 2: 1 1 2 2        sorted 1 [1 2] 2           -> 1.5
 * Weights do not count: the last update claims 1000 samples.
 */
START_TEST(median_odd_even_ties)
{
	const struct mcai_agg_config c = cfg(MCAI_AGG_MEDIAN);
	static const float o[5][3] = {
		{ 5, 7, -1 }, { 1, 7, -1 }, { 4, 1, -1 }, { 2, 7, -1 },
		{ 3, 2, 100 },
	};
	static const float e[4][3] = {
		{ 4, 5, 1 }, { 1, 5, 1 }, { 3, 5, 2 }, { 2, 1, 2 },
	};
	static const float want_o[] = { 3, 7, -1 }, want_e[] = { 2.5f, 5, 1.5f };
	struct mcai_agg *a = agg_new(&c, 3);
	struct mcai_agg_report r;
	float out[3];
	u32 i;

	for (i = 0; i < 5; i++)
		add(a, o[i], i == 4 ? 1000 : 1);
	finish(a, out, &r);
	expect_vec(out, want_o, 3);
	ck_assert_uint_eq(r.used, 5);
	mcai_agg_begin(a);
	for (i = 0; i < 4; i++)
		add(a, e[i], i == 3 ? 1000 : 1);
	finish(a, out, &r);
	expect_vec(out, want_e, 3);
	ck_assert_uint_eq(r.updates, 4);
	/* one update is its own median */
	mcai_agg_begin(a);
	add(a, e[3], 1);
	finish(a, out, NULL);
	expect_vec(out, e[3], 3);
	mcai_agg_free(a);
}
END_TEST

static void trimmed(float trim, const float *vals, u32 k, float want,
		    u32 want_used)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_TRIMMED_MEAN);
	struct mcai_agg *a;
	struct mcai_agg_report r;
	float out[1];
	u32 i;

	c.trim = trim;
	a = agg_new(&c, 1);
	for (i = 0; i < k; i++)
		add(a, &vals[i], 1);
	finish(a, out, &r);
	ck_assert_msg(fabs(out[0] - want) <= TOL * fabs(want) + TOL,
		      "trim %g of %u: %.9g, want %.9g", trim, k, out[0], want);
	ck_assert_uint_eq(r.used, want_used);
	mcai_agg_free(a);
}

/*
 * 5, 1, 4, 2, 100 (sorted 1 2 4 5 100):
 *   trim 0    -> all: 112 / 5 = 22.4
 *   trim 0.2  -> floor(1) = 1 per side: (2 + 4 + 5) / 3 = 11/3
 *   trim 0.25 -> floor(1.25) = 1: the same
 *   trim 0.4  -> 2 per side: 4, the median
 * 1, 4, 9, ..., 400 (i^2, i = 1..20), trim 0.35: 7 per side, and not 6
 * although 0.35f * 20 = 6.9999999: (8^2 + ... + 13^2) / 6 = 679 / 6;
 * with 6 it would be (7^2 + ... + 14^2) / 8 = 115.5.
 * Ties: 3, 3, 3, 3 with trim 0.25 -> 3.
 */
START_TEST(trimmed_mean)
{
	static const float v[] = { 5, 1, 4, 2, 100 }, ties[] = { 3, 3, 3, 3 };
	float sq[20];
	u32 i;

	for (i = 0; i < 20; i++)
		sq[i] = (float)((i + 1) * (i + 1));
	trimmed(0, v, 5, 22.4f, 5);
	trimmed(0.2f, v, 5, 11.0f / 3, 3);
	trimmed(0.25f, v, 5, 11.0f / 3, 3);
	trimmed(0.4f, v, 5, 4, 1);
	trimmed(0.35f, sq, 20, 679.0f / 6, 6);
	trimmed(0.25f, ties, 4, 3, 2);
}
END_TEST

/*
 * Six updates u_i = [x_i, -x_i], x = 0 1 2 3 4 100, f = 1: each is scored by
 * its k - f - 2 = 3 nearest.  Squared distances are twice those of x alone:
 *   x=0:   1 4 9 16 10000       -> 2 (1 + 4 + 9)          = 28
 *   x=1:   1 1 4 9 9801         -> 2 (1 + 1 + 4)          = 12
 *   x=2:   4 1 1 4 9604         -> 12
 *   x=3:   9 4 1 1 9409         -> 12
 *   x=4:   16 9 4 1 9216        -> 2 (1 + 4 + 9)          = 28
 *   x=100: 10000 9801 9604 9409 9216 -> 2 * 28229        = 56458
 * m = 1: a three-way tie, the first added (x=1) wins     -> [1, -1]
 * m = 3: x = 1 2 3                                       -> [2, -2]
 * m = 4: x = 1 2 3, then x=0 before x=4 (tie at 28)      -> [1.5, -1.5]
 * m = 0: k - f = 5, everyone but x=100                   -> [2, -2]
 * m = 9: more than k - f, so 5 as well.
 */
static void krum_case(u32 m, const float *want, const bool *sel, u32 used)
{
	static const float x[] = { 0, 1, 2, 3, 4, 100 };
	struct mcai_agg_config c = cfg(MCAI_AGG_KRUM);
	struct mcai_agg *a;
	struct mcai_agg_report r;
	float out[2];
	u32 i;

	c.krum_f = 1;
	c.krum_m = m;
	a = agg_new(&c, 2);
	for (i = 0; i < 6; i++) {
		const float u[2] = { x[i], -x[i] };

		/* the outlier's sample count is no help to it */
		add(a, u, i == 5 ? 1000000 : 1);
	}
	finish(a, out, &r);
	expect_vec(out, want, 2);
	ck_assert_uint_eq(r.used, used);
	for (i = 0; i < 6; i++)
		ck_assert_msg(mcai_agg_selected(a, i) == sel[i],
			      "m %u: update %u selected %d", m, i,
			      mcai_agg_selected(a, i));
	ck_assert(!mcai_agg_selected(a, 6));
	mcai_agg_free(a);
}

START_TEST(multi_krum)
{
	static const float w1[] = { 1, -1 }, w3[] = { 2, -2 };
	static const float w4[] = { 1.5f, -1.5f };
	static const bool s1[] = { 0, 1, 0, 0, 0, 0 }, s3[] = { 0, 1, 1, 1, 0, 0 };
	static const bool s4[] = { 1, 1, 1, 1, 0, 0 }, s5[] = { 1, 1, 1, 1, 1, 0 };

	krum_case(1, w1, s1, 1);
	krum_case(3, w3, s3, 3);
	krum_case(4, w4, s4, 4);
	krum_case(0, w3, s5, 5);
	krum_case(9, w3, s5, 5);
}
END_TEST

/* k = 4 <= 2f + 2 with f = 1: an error, with the reason. */
START_TEST(krum_too_few)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_KRUM);
	struct mcai_agg *a = agg_new(&c, 1);
	static const float x[] = { 1 };
	const float *u[5] = { x, x, x, x, x };
	float out[1];
	char why[128] = "";
	u32 i;

	for (i = 0; i < 4; i++)
		add(a, x, 1);
	ck_assert_int_eq(mcai_agg_finish(a, out, NULL, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "krum") && strstr(why, "4"), "%s", why);
	add(a, x, 1);			/* the fifth makes it valid */
	finish(a, out, NULL);
	ck_assert_float_eq(out[0], 1);
	ck_assert_int_eq(mcai_multi_krum(u, 4, 1, 1, 1, out, NULL), -EINVAL);
	ck_assert_int_eq(mcai_multi_krum(u, 5, 1, 1, 6, out, NULL), -EINVAL);
	ck_assert_int_eq(mcai_multi_krum(u, 5, 1, 1, 0, out, NULL), -EINVAL);
	ck_assert_int_eq(mcai_multi_krum(u, 5, 1, 1, 5, out, NULL), 0);
	mcai_agg_free(a);
}
END_TEST

/*
 * lr 0.5, b1 0.5, b2 0.75, tau 1, model starts at 0.
 * Round 1, one update d = [2, -4, 0]:
 *   m = 0.5 d            = [1, -2, 0]
 *   v = 0.25 d^2         = [1, 4, 0]
 *   x += 0.5 m / (sqrt v + 1) = [0.5 * 1/2, 0.5 * -2/3, 0] = [0.25, -1/3, 0]
 * Round 2, [1, 0, 2] and [-1, 4, 2], one sample each: d = [0, 2, 2]
 *   m = 0.5 [1, -2, 0] + 0.5 [0, 2, 2]    = [0.5, 0, 1]
 *   v = 0.75 [1, 4, 0] + 0.25 [0, 4, 4]   = [0.75, 4, 1]
 *   x += 0.5 [0.5 / (sqrt 0.75 + 1), 0 / 3, 1 / 2]
 *      = [0.25 / 1.8660254038, 0, 0.25]  = [0.1339745962, 0, 0.25]
 *   x = [0.3839745962, -0.3333333333, 0.25]
 */
START_TEST(fedadam_two_steps)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_FEDADAM);
	struct mcai_agg *a, *b;
	static const float d1[] = { 2, -4, 0 }, d2a[] = { 1, 0, 2 };
	static const float d2b[] = { -1, 4, 2 };
	static const float x1[] = { 0.25f, -1.0f / 3, 0 };
	static const float x2[] = { 0.3839745962f, -1.0f / 3, 0.25f };
	static const float m2[] = { 0.5f, 0, 1 }, v2[] = { 0.75f, 4, 1 };
	float model[3] = { 0 }, out[3], m[3], v[3], again[3] = { 0 };
	u64 steps;

	c.server_lr = 0.5f;
	c.beta1 = 0.5f;
	c.beta2 = 0.75f;
	c.tau = 1;
	a = agg_new(&c, 3);
	add(a, d1, 7);
	finish(a, out, NULL);
	expect_vec(out, d1, 3);
	mcai_agg_apply(a, model, out, 0, 0);
	expect_vec(model, x1, 3);

	/* a restarted aggregator restores m, v and continues identically */
	b = agg_new(&c, 3);
	mcai_agg_adam_get(a, m, v, &steps);
	ck_assert_uint_eq(steps, 1);
	mcai_agg_adam_set(b, m, v, steps);
	memcpy(again, model, sizeof(again));

	mcai_agg_begin(a);
	add(a, d2a, 1);
	add(a, d2b, 1);
	finish(a, out, NULL);
	mcai_agg_apply(a, model, out, 0, 0);
	expect_vec(model, x2, 3);
	mcai_agg_adam_get(a, m, v, &steps);
	expect_vec(m, m2, 3);
	expect_vec(v, v2, 3);
	ck_assert_uint_eq(steps, 2);

	mcai_agg_begin(b);
	add(b, d2b, 1);
	add(b, d2a, 1);
	finish(b, out, NULL);
	mcai_agg_apply(b, again, out, 0, 0);
	ck_assert(!memcmp(again, model, sizeof(model)));
	mcai_agg_free(a);
	mcai_agg_free(b);
}
END_TEST

static void bad_config(const struct mcai_agg_config *c, const char *word)
{
	char why[160] = "";

	ck_assert_int_eq(mcai_agg_config_check(c, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, word), "reason '%s' does not mention '%s'",
		      why, word);
	why[0] = 0;
	ck_assert_ptr_null(mcai_agg_create(c, 4, why, sizeof(why)));
	ck_assert_msg(strstr(why, word), "create: '%s'", why);
	/* no room for a reason is fine too */
	ck_assert_int_eq(mcai_agg_config_check(c, NULL, 0), -EINVAL);
}

/*
 * The server step: [2.5, -1, 0.75] (fedavg_weighted's mean) with step 2
 * from [10, 10, 10] gives [15, 8, 11.5].  The cosine schedule from 2 to
 * 1 over 30 rounds: 2 before the first, 1.5 at the half, 1 at the end
 * and after it; (1 + cos(pi / 3)) / 2 = 0.75 at round 10: 1.75.  No
 * final step, or an open-ended federation: the first step throughout.
 * FedAdam refuses one (its step is server_lr).
 */
START_TEST(server_step)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_FEDAVG);
	struct mcai_agg *a;
	static const float u1[] = { 1, 2, 3 }, u2[] = { 3, -2, 0 };
	static const float want_model[] = { 15, 8, 11.5f };
	float out[3], model[3] = { 10, 10, 10 };

	/* default: plain averaging, whatever the round */
	ck_assert_double_eq(mcai_agg_server_step(&c, 3, 30), 1);
	c.server_step = 2;
	c.server_step_final = 1;
	ck_assert_double_eq_tol(mcai_agg_server_step(&c, 0, 30), 2, 1e-12);
	ck_assert_double_eq_tol(mcai_agg_server_step(&c, 10, 30), 1.75, 1e-12);
	ck_assert_double_eq_tol(mcai_agg_server_step(&c, 15, 30), 1.5, 1e-12);
	ck_assert_double_eq_tol(mcai_agg_server_step(&c, 30, 30), 1, 1e-12);
	ck_assert_double_eq_tol(mcai_agg_server_step(&c, 31, 30), 1, 1e-12);
	ck_assert_double_eq(mcai_agg_server_step(&c, 15, 0), 2);

	/* round 0 of 30: step 2 on the weighted mean */
	a = agg_new(&c, 3);
	add(a, u1, 1);
	add(a, u2, 3);
	finish(a, out, NULL);
	mcai_agg_apply(a, model, out, 0, 30);
	expect_vec(model, want_model, 3);
	mcai_agg_free(a);

	c.server_step = 0.5f;
	ck_assert_double_eq_tol(mcai_agg_server_step(&c, 15, 30), 0.75, 1e-12);
	c.server_step_final = 0;
	ck_assert_double_eq(mcai_agg_server_step(&c, 15, 30), 0.5);

	c.server_step = 0;
	bad_config(&c, "server step");
	c.server_step = 4.5f;
	bad_config(&c, "server step");
	c.server_step = 1;
	c.server_step_final = -1;
	bad_config(&c, "server step");
	c = cfg(MCAI_AGG_FEDADAM);
	c.server_step = 2;
	bad_config(&c, "fedadam takes no server step");
	c.server_step = 1;
	c.server_step_final = 1;
	bad_config(&c, "fedadam takes no server step");
}
END_TEST

START_TEST(config_errors)
{
	struct mcai_agg_config c;
	enum mcai_agg_kind k;
	char why[128] = "";

	for (k = MCAI_AGG_FEDAVG; k <= MCAI_AGG_KRUM; k++) {
		c = cfg(k);
		ck_assert_int_eq(mcai_agg_config_check(&c, NULL, 0), 0);
	}
	c = cfg(MCAI_AGG_TRIMMED_MEAN);
	c.trim = 0.5f;
	bad_config(&c, "trim");
	c.trim = -0.1f;
	bad_config(&c, "trim");
	c.trim = NAN;
	bad_config(&c, "trim");
	c = cfg(MCAI_AGG_FEDADAM);
	c.beta1 = 1;
	bad_config(&c, "beta1");
	c = cfg(MCAI_AGG_FEDADAM);
	c.beta2 = -0.5f;
	bad_config(&c, "beta2");
	c = cfg(MCAI_AGG_FEDADAM);
	c.tau = 0;
	bad_config(&c, "tau");
	c = cfg(MCAI_AGG_FEDADAM);
	c.server_lr = INFINITY;
	bad_config(&c, "learning rate");
	c = cfg(MCAI_AGG_FEDAVG);
	c.clip_norm = -1;
	bad_config(&c, "clip");
	c.clip_norm = NAN;
	bad_config(&c, "clip");
	c = cfg(MCAI_AGG_KRUM);
	c.krum_f = 1u << 31;
	bad_config(&c, "krum");
	c = cfg(MCAI_AGG_FEDAVG);
	c.kind = (enum mcai_agg_kind)42;
	bad_config(&c, "unknown");
	/* parameters of other strategies are not this one's business */
	c = cfg(MCAI_AGG_MEDIAN);
	c.trim = 0.9f;
	c.beta1 = 7;
	ck_assert_int_eq(mcai_agg_config_check(&c, NULL, 0), 0);
	c = cfg(MCAI_AGG_FEDAVG);
	ck_assert_ptr_null(mcai_agg_create(&c, 0, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "0 parameters"));
}
END_TEST

/* Bad updates are refused whole and leave the round as it was. */
START_TEST(add_errors)
{
	enum mcai_agg_kind kinds[] = { MCAI_AGG_FEDAVG, MCAI_AGG_MEDIAN };
	static const float ok[] = { 1, 2 };
	const float nan_u[] = { 1, NAN }, inf_u[] = { -INFINITY, 0 };
	struct mcai_agg_report r;
	char why[128];
	float out[2];
	u32 i;

	for (i = 0; i < 2; i++) {
		const struct mcai_agg_config c = cfg(kinds[i]);
		struct mcai_agg *a = agg_new(&c, 2);

		ck_assert_int_eq(mcai_agg_finish(a, out, &r, why, sizeof(why)),
				 -ENODATA);
		ck_assert_int_eq(mcai_agg_add(a, ok, 0, why, sizeof(why)), -EINVAL);
		ck_assert_ptr_nonnull(strstr(why, "0 samples"));
		ck_assert_int_eq(mcai_agg_add(a, nan_u, 1, why, sizeof(why)),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(why, "parameter 1"));
		ck_assert_int_eq(mcai_agg_add(a, inf_u, 1, NULL, 0), -EINVAL);
		add(a, ok, UINT64_MAX);
		ck_assert_int_eq(mcai_agg_add(a, ok, 1, why, sizeof(why)), -EINVAL);
		finish(a, out, &r);
		ck_assert_uint_eq(r.updates, 1);
		expect_vec(out, ok, 2);
		mcai_agg_free(a);
	}
}
END_TEST

/* A new round forgets the last one's updates. */
START_TEST(rounds_are_separate)
{
	enum mcai_agg_kind kinds[] = { MCAI_AGG_FEDAVG, MCAI_AGG_TRIMMED_MEAN,
				       MCAI_AGG_KRUM };
	static const float old[] = { 100, 100 }, now[] = { 1, -1 };
	struct mcai_agg_report r;
	float out[2];
	u32 i, j;

	for (i = 0; i < 3; i++) {
		const struct mcai_agg_config c = cfg(kinds[i]);
		struct mcai_agg *a = agg_new(&c, 2);
		size_t empty = mcai_agg_bytes(a);

		for (j = 0; j < 5; j++)
			add(a, old, 1);
		finish(a, out, NULL);
		mcai_agg_begin(a);
		ck_assert_uint_eq(mcai_agg_bytes(a), empty);
		for (j = 0; j < 5; j++)
			add(a, now, 2);
		finish(a, out, &r);
		expect_vec(out, now, 2);
		ck_assert_uint_eq(r.updates, 5);
		ck_assert_uint_eq(r.weight, 10);
		mcai_agg_free(a);
	}
}
END_TEST

START_TEST(kind_names)
{
	enum mcai_agg_kind k, back;

	for (k = MCAI_AGG_FEDAVG; k <= MCAI_AGG_QFEDAVG; k++) {
		ck_assert_int_eq(mcai_agg_kind_parse(mcai_agg_kind_name(k), &back), 0);
		ck_assert_int_eq(back, k);
	}
	ck_assert_int_eq(mcai_agg_kind_parse("trimmed-mean", &back), 0);
	ck_assert_int_eq(back, MCAI_AGG_TRIMMED_MEAN);
	ck_assert_int_eq(mcai_agg_kind_parse("FedAvg", &back), -EINVAL);
	ck_assert_int_eq(mcai_agg_kind_parse("", &back), -EINVAL);
	ck_assert_int_eq(mcai_agg_kind_parse(NULL, &back), -EINVAL);
	ck_assert_str_eq(mcai_agg_kind_name((enum mcai_agg_kind)99), "?");
}
END_TEST

/* The building blocks with many updates take the qsort path: same answers. */
START_TEST(large_rounds)
{
	enum { K = 101 };
	float vals[K], *u[K], out[1];
	u32 i;

	/* 0, 1, ..., 100 in a scrambled order (37 is coprime with 101) */
	for (i = 0; i < K; i++) {
		vals[i] = (float)((i * 37) % K);
		u[i] = &vals[i];
	}
	ck_assert_int_eq(mcai_coord_median((const float *const *)u, K, 1, out), 0);
	ck_assert_float_eq(out[0], 50);
	/* trim 0.1: 10 per side, mean of 10..90 = 50 */
	ck_assert_int_eq(mcai_coord_trimmed_mean((const float *const *)u, K, 1,
						 0.1f, out), 0);
	ck_assert_float_eq(out[0], 50);
	ck_assert_int_eq(mcai_coord_trimmed_mean((const float *const *)u, K, 1,
						 0.5f, out), -EINVAL);
}
END_TEST


/*
 * FedAvgM, momentum 0.5, server step 0.5, model at 0:
 *   round 1, d = [2, -4]:  m = [2, -4],               x = 0.5 m = [1, -2]
 *   round 2, d = [1, 1]:   m = 0.5 [2, -4] + [1, 1] = [2, -1]
 *                          x = [1, -2] + 0.5 [2, -1] = [2, -2.5]
 * Momentum 0 is FedAvg with the same step: x = 0.5 (d1 + d2) = [1.5, -1.5].
 */
START_TEST(fedavgm_two_steps)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_FEDAVGM);
	static const float d1[] = { 2, -4 }, d2[] = { 1, 1 };
	static const float x1[] = { 1, -2 }, x2[] = { 2, -2.5f };
	static const float m2[] = { 2, -1 }, plain[] = { 1.5f, -1.5f };
	float model[2] = { 0 }, out[2], m[2], v[2];
	struct mcai_agg *a;
	u64 steps;
	u32 r;

	ck_assert(mcai_agg_kind_has_state(MCAI_AGG_FEDAVGM));
	c.server_momentum = 0.5f;
	c.server_step = 0.5f;
	a = agg_new(&c, 2);
	add(a, d1, 3);
	finish(a, out, NULL);
	mcai_agg_apply(a, model, out, 0, 0);
	expect_vec(model, x1, 2);
	mcai_agg_begin(a);
	add(a, d2, 1);
	finish(a, out, NULL);
	mcai_agg_apply(a, model, out, 1, 0);
	expect_vec(model, x2, 2);
	mcai_agg_adam_get(a, m, v, &steps);
	expect_vec(m, m2, 2);
	ck_assert_uint_eq(steps, 2);
	mcai_agg_free(a);

	c.server_momentum = 0;
	a = agg_new(&c, 2);
	model[0] = model[1] = 0;
	for (r = 0; r < 2; r++) {
		mcai_agg_begin(a);
		add(a, r ? d2 : d1, 1);
		finish(a, out, NULL);
		mcai_agg_apply(a, model, out, r, 0);
	}
	expect_vec(model, plain, 2);
	c.server_momentum = 1;
	bad_config(&c, "momentum");
	mcai_agg_free(a);
}
END_TEST

/* Two rounds of a server optimiser from x = 0: d1 then the mean of d2a, d2b. */
static void two_rounds(const struct mcai_agg_config *c, const float *want1,
		       const float *want2, const float *wantv)
{
	static const float d1[] = { 2, -4, 0 }, d2a[] = { 1, 0, 2 };
	static const float d2b[] = { -1, 4, 2 };
	float model[3] = { 0 }, out[3], m[3], v[3];
	struct mcai_agg *a = agg_new(c, 3);
	u64 steps;

	add(a, d1, 7);
	finish(a, out, NULL);
	mcai_agg_apply(a, model, out, 0, 0);
	expect_vec(model, want1, 3);
	mcai_agg_begin(a);
	add(a, d2a, 1);
	add(a, d2b, 1);
	finish(a, out, NULL);
	mcai_agg_apply(a, model, out, 1, 0);
	expect_vec(model, want2, 3);
	mcai_agg_adam_get(a, m, v, &steps);
	expect_vec(v, wantv, 3);
	ck_assert_uint_eq(steps, 2);
	mcai_agg_free(a);
}

/*
 * FedAdagrad (Reddi et al. 2021, Alg. 2), lr 0.5, b1 0.5, tau 1:
 *   round 1, d = [2, -4, 0]: m = [1, -2, 0], v = d^2 = [4, 16, 0]
 *     x = 0.5 [1/3, -2/5, 0] = [1/6, -0.2, 0]
 *   round 2, d = [0, 2, 2]:  m = [0.5, 0, 1], v = [4, 20, 4]
 *     x += 0.5 [0.5/3, 0, 1/3] = [1/12, 0, 1/6]  ->  [0.25, -0.2, 1/6]
 * FedYogi, lr 0.5, b1 0.5, b2 0.75, tau 1:
 *   round 1: v = 0 - 0.25 d^2 sign(0 - d^2) = 0.25 d^2 = [1, 4, 0]
 *     (sign(0 - 0) = 0 for the third), x as FedAdam's: [0.25, -1/3, 0]
 *   round 2, d^2 = [0, 4, 4]:
 *     v0 = 1 > 0: v = 1 - 0.25 * 0 = 1;  v1 = 4 = 4: sign 0, v = 4;
 *     v2 = 0 < 4: v = 0 + 0.25 * 4 = 1               -> v = [1, 4, 1]
 *     (FedAdam's would be [0.75, 4, 1]: Yogi did not decay v0)
 *     x += 0.5 [0.5 / 2, 0 / 3, 1 / 2] = [0.125, 0, 0.25]
 *     x = [0.375, -1/3, 0.25]
 */
START_TEST(fedadagrad_fedyogi_two_steps)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_FEDADAGRAD);
	static const float g1[] = { 1.0f / 6, -0.2f, 0 };
	static const float g2[] = { 0.25f, -0.2f, 1.0f / 6 };
	static const float gv[] = { 4, 20, 4 };
	static const float y1[] = { 0.25f, -1.0f / 3, 0 };
	static const float y2[] = { 0.375f, -1.0f / 3, 0.25f };
	static const float yv[] = { 1, 4, 1 };

	c.server_lr = 0.5f;
	c.beta1 = 0.5f;
	c.tau = 1;
	two_rounds(&c, g1, g2, gv);
	c = cfg(MCAI_AGG_FEDYOGI);
	c.server_lr = 0.5f;
	c.beta1 = 0.5f;
	c.beta2 = 0.75f;
	c.tau = 1;
	two_rounds(&c, y1, y2, yv);
	/* like fedadam they take no extra server step */
	c.server_step = 2;
	bad_config(&c, "server step");
	c = cfg(MCAI_AGG_FEDADAGRAD);
	c.tau = 0;
	bad_config(&c, "tau");
}
END_TEST

/*
 * 1-D updates 0, 1, 2, 6, 7, 100, -100 (indices 0..6), f = 1, k = 7.
 * Krum (single): each scores the sum of its k - f - 2 = 4 nearest squared
 * distances:
 *   0: 1 + 4 + 36 + 49 = 90     1: 1 + 1 + 25 + 36 = 63
 *   2: 1 + 4 + 16 + 25 = 46     6: 1 + 16 + 25 + 36 = 78
 *   7: 1 + 25 + 36 + 49 = 111   +-100: thousands
 *   -> the single update 2, used 1.
 * Bulyan: theta = k - 2f = 5 picks, beta = theta - 2f = 3.
 *   pick 1, 7 left, 4 nearest: as above -> 2
 *   pick 2, 6 left, 3 nearest: 0: 1+36+49 = 86, 1: 1+25+36 = 62,
 *          6: 1+25+36 = 62, 7: 1+36+49 = 86 -> tie 1 / 6, first added: 1
 *   pick 3, 5 left, 2 nearest: 0: 36+49 = 85, 6: 1+36 = 37, 7: 1+49 = 50
 *          -> 6
 *   pick 4, 4 left, max(1, 4-3) = 1 nearest: 0: 49, 7: 49, 100: 8649,
 *          -100: 10000 -> tie 0 / 7: 0
 *   pick 5, 3 left, 1 nearest: 7: 8649, 100: 8649, -100: 11449 -> 7
 *   picked {0, 1, 2, 6, 7} (indices 0..4), median 2; the 3 closest to it:
 *   2 (0), 1 (1), 0 (2) [6 is 4 away] -> mean 1.
 *   (Multi-Krum would average 0,1,2,6,7 to 3.2; the median is 2.)
 */
START_TEST(krum_single_and_bulyan)
{
	static const float vals[] = { 0, 1, 2, 6, 7, 100, -100 };
	struct mcai_agg_config c = cfg(MCAI_AGG_KRUM_SINGLE);
	struct mcai_agg_report r;
	struct mcai_agg *a;
	char why[128];
	float out[1];
	u32 i;

	a = agg_new(&c, 1);
	for (i = 0; i < 7; i++)
		add(a, &vals[i], 1);
	finish(a, out, &r);
	ck_assert_float_eq(out[0], 2);
	ck_assert_uint_eq(r.used, 1);
	for (i = 0; i < 7; i++)
		ck_assert(mcai_agg_selected(a, i) == (i == 2));
	mcai_agg_free(a);

	c = cfg(MCAI_AGG_BULYAN);
	a = agg_new(&c, 1);
	for (i = 0; i < 6; i++)
		add(a, &vals[i], 1);
	/* 6 < 4f + 3 */
	ck_assert_int_eq(mcai_agg_finish(a, out, NULL, why, sizeof(why)),
			 -EINVAL);
	ck_assert_msg(strstr(why, "bulyan") && strstr(why, "7"), "%s", why);
	add(a, &vals[6], 1000);		/* weights do not count */
	finish(a, out, &r);
	ck_assert_float_eq(out[0], 1);
	ck_assert_uint_eq(r.used, 3);
	for (i = 0; i < 7; i++)
		ck_assert_msg(mcai_agg_selected(a, i) == (i < 5), "%u", i);
	mcai_agg_free(a);

	/* two coordinates at once: the second is 10 x the first + 1 */
	{
		float x[7][2], out2[2];
		const float *u[7];

		for (i = 0; i < 7; i++) {
			x[i][0] = vals[i];
			x[i][1] = 10 * vals[i] + 1;
			u[i] = x[i];
		}
		ck_assert_int_eq(mcai_bulyan(u, 7, 2, 1, out2, NULL), 0);
		ck_assert_float_eq(out2[0], 1);
		ck_assert_float_eq(out2[1], 11);
		ck_assert_int_eq(mcai_bulyan(u, 6, 2, 1, out2, NULL), -EINVAL);
		/* f = 0: theta = beta = k, the plain mean */
		ck_assert_int_eq(mcai_bulyan(u, 5, 2, 0, out2, NULL), 0);
		ck_assert_float_eq_tol(out2[0], 3.2f, 1e-6f);
	}
}
END_TEST

/*
 * q-FFL (Li et al. 2020), q = 1, q_lr 0.5 so L = 2:
 *   A: d = [1, 0], loss 2:   Dw = -2 d = [-2, 0], |Dw|^2 = 4
 *      D = 2^1 Dw = [-4, 0], h = 1 * 2^0 * 4 + 2 * 2 = 8
 *   B: d = [0, 2], loss 0.5: Dw = [0, -4], |Dw|^2 = 16
 *      D = 0.5 Dw = [0, -2], h = 1 * 16 + 2 * 0.5 = 17
 *   update = -(D_A + D_B) / (8 + 17) = [4, 2] / 25 = [0.16, 0.08]
 * q = 0: h = L for each, update = -sum Dw / (2L) = (d_A + d_B) / 2 =
 *   [0.5, 1], whatever the losses and the sample counts (1 and 100).
 */
START_TEST(qfedavg)
{
	struct mcai_agg_config c = cfg(MCAI_AGG_QFEDAVG);
	static const float da[] = { 1, 0 }, db[] = { 0, 2 };
	static const float want1[] = { 0.16f, 0.08f }, want0[] = { 0.5f, 1 };
	struct mcai_agg *a;
	char why[128];
	float out[2];

	c.q = 1;
	c.q_lr = 0.5f;
	a = agg_new(&c, 2);
	ck_assert_int_eq(mcai_agg_add_loss(a, da, 1, 2, why, sizeof(why)), 0);
	ck_assert_int_eq(mcai_agg_add_loss(a, db, 100, 0.5f, why, sizeof(why)),
			 0);
	/* no loss, or a negative one: refused */
	ck_assert_int_eq(mcai_agg_add(a, da, 1, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "loss"), "%s", why);
	ck_assert_int_eq(mcai_agg_add_loss(a, da, 1, -1, why, sizeof(why)),
			 -EINVAL);
	finish(a, out, NULL);
	expect_vec(out, want1, 2);
	mcai_agg_free(a);

	c.q = 0;
	a = agg_new(&c, 2);
	ck_assert_int_eq(mcai_agg_add_loss(a, da, 1, 2, why, sizeof(why)), 0);
	ck_assert_int_eq(mcai_agg_add_loss(a, db, 100, 0.5f, why, sizeof(why)),
			 0);
	finish(a, out, NULL);
	expect_vec(out, want0, 2);
	mcai_agg_free(a);
	c.q_lr = 0;
	bad_config(&c, "q_lr");
	c.q_lr = 0.1f;
	c.q = -1;
	bad_config(&c, "q");
}
END_TEST

/*
 * The finite check finds a NaN or an infinity wherever it is, in the
 * vector body or the tail, and passes the largest float, subnormals and
 * -0; the fold gives the plain loop's doubles bit for bit; and an update
 * with a bad value deep in the vector body is refused naming its index.
 */
START_TEST(vector_passes)
{
	static const float bad[] = { NAN, INFINITY, -INFINITY };
	const struct mcai_agg_config c = cfg(MCAI_AGG_FEDAVG);
	struct mcai_agg *a;
	float d[37], keep;
	double acc[37], ref[37];
	char why[128];
	u32 n, i, k;

	for (i = 0; i < 37; i++)
		d[i] = (i % 3 == 0) ? FLT_MAX : (i % 3 == 1) ? -0.0f : 1e-40f;
	for (n = 0; n <= 37; n++) {
		ck_assert_msg(mcai_floats_finite(d, n), "n %u: finite refused", n);
		for (i = 0; i < n; i++) {
			for (k = 0; k < 3; k++) {
				keep = d[i];
				d[i] = bad[k];
				ck_assert_msg(!mcai_floats_finite(d, n),
					      "n %u: %g at %u missed", n,
					      (double)bad[k], i);
				d[i] = keep;
			}
		}
	}
	for (i = 0; i < 37; i++) {
		d[i] = (float)(i * 0.37 - 5.1);
		acc[i] = ref[i] = i * 1e-3;
	}
	for (k = 0; k < 2; k++) {
		mcai_fold_f32(acc, d, 3.7 + k, 37);
		mcai_fold_f32(acc, d, 0.5, 3);	/* a tail alone */
		for (i = 0; i < 37; i++)
			ref[i] += (3.7 + k) * d[i];
		for (i = 0; i < 3; i++)
			ref[i] += 0.5 * d[i];
	}
	ck_assert(!memcmp(acc, ref, sizeof(acc)));

	a = agg_new(&c, 37);
	d[21] = -INFINITY;
	ck_assert_int_eq(mcai_agg_add(a, d, 1, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "parameter 21 "));
	mcai_agg_free(a);
}
END_TEST

Suite *strategy_suite(void)
{
	Suite *s = suite_create("strategy");
	TCase *tc = tcase_create("strategy");

	tcase_add_test(tc, fedavg_weighted);
	tcase_add_test(tc, fedavg_streaming);
	tcase_add_test(tc, fedprox_server_is_fedavg);
	tcase_add_test(tc, clipping);
	tcase_add_test(tc, clipping_then_median);
	tcase_add_test(tc, median_odd_even_ties);
	tcase_add_test(tc, trimmed_mean);
	tcase_add_test(tc, multi_krum);
	tcase_add_test(tc, krum_too_few);
	tcase_add_test(tc, fedadam_two_steps);
	tcase_add_test(tc, config_errors);
	tcase_add_test(tc, add_errors);
	tcase_add_test(tc, rounds_are_separate);
	tcase_add_test(tc, kind_names);
	tcase_add_test(tc, server_step);
	tcase_add_test(tc, large_rounds);
	tcase_add_test(tc, fedavgm_two_steps);
	tcase_add_test(tc, fedadagrad_fedyogi_two_steps);
	tcase_add_test(tc, krum_single_and_bulyan);
	tcase_add_test(tc, qfedavg);
	tcase_add_test(tc, vector_passes);
	suite_add_tcase(s, tc);
	return s;
}
