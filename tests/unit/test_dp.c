// SPDX-License-Identifier: GPL-2.0
/*
 * Differential privacy (runtime/fed/dp.c): the RDP accountant against
 * published figures, closed forms and its own invariants; the budget that
 * refuses a round; the noise sampler's moments and its ChaCha20 stream
 * against OpenSSL's; the noise scales of the central and distributed
 * modes; clipping that holds the sensitivity bound exactly.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tests/unit/unit.h"
#include "runtime/fed/dp.h"
#include "runtime/fed/strategy.h"

static bool near_rel(double got, double want, double rel)
{
	return fabs(got - want) <= rel * fabs(want);
}

/*
 * TensorFlow Privacy's MNIST DP-SGD tutorial (tensorflow/privacy,
 * tutorials/README.md, "Select Parameters", and mnist_dpsgd_tutorial.py):
 * N = 60000, batch 256, steps = epochs * (60000 // 256), delta = 1e-5,
 * orders 1.1, 1.2, ..., 10.9, 12, ..., 63, get_privacy_spent's classic
 * conversion.  Published: noise 1.12, 60 epochs -> eps 2.92 (the default
 * setting); noise 0.6, 30 epochs -> 9.74; noise 1.2, 10 epochs -> 1.20.
 * Within 1 %.
 */
static double tf_tutorial(double sigma, u32 epochs, double *order)
{
	double orders[160], rdp[160];
	u32 k = 0, i;

	for (i = 1; i < 100; i++)
		orders[k++] = 1 + i / 10.0;
	for (i = 12; i < 64; i++)
		orders[k++] = i;
	mcai_dp_rdp(256.0 / 60000, sigma, (u64)epochs * (60000 / 256), orders,
		    k, rdp);
	return mcai_dp_epsilon(orders, rdp, k, 1e-5, MCAI_DP_CONV_CLASSIC,
			       order);
}

START_TEST(published_tf_privacy)
{
	double e, at;

	e = tf_tutorial(1.12, 60, &at);
	ck_assert_msg(near_rel(e, 2.92, 0.01), "eps %.4f, published 2.92", e);
	/* the optimum is inside the grid, at a fractional order */
	ck_assert_msg(at > 2 && at < 63 && at != floor(at), "order %g", at);
	e = tf_tutorial(0.6, 30, NULL);
	ck_assert_msg(near_rel(e, 9.74, 0.01), "eps %.4f, published 9.74", e);
	e = tf_tutorial(1.2, 10, NULL);
	ck_assert_msg(near_rel(e, 1.20, 0.01), "eps %.4f, published 1.20", e);
}
END_TEST

/*
 * Opacus's documented example (opacus/accountants/analysis/rdp.py module
 * docstring, a doctest): (q 1e-5, sigma 1.0, 10 steps) then (q 1e-4,
 * sigma 3.0, 4 steps), orders 2..32, delta 1e-5, Balle et al.'s
 * conversion -> (0.336, 23).
 */
START_TEST(published_opacus)
{
	double orders[31], rdp[31], more[31], e, at;
	u32 i;

	for (i = 0; i < 31; i++)
		orders[i] = 2 + i;
	mcai_dp_rdp(1e-5, 1.0, 10, orders, 31, rdp);
	mcai_dp_rdp(1e-4, 3.0, 4, orders, 31, more);
	for (i = 0; i < 31; i++)
		rdp[i] += more[i];
	e = mcai_dp_epsilon(orders, rdp, 31, 1e-5, MCAI_DP_CONV_BALLE, &at);
	ck_assert_msg(near_rel(e, 0.336, 0.01), "eps %.5f, published 0.336",
		      e);
	ck_assert_msg(at == 23, "order %g, published 23", at);
}
END_TEST

/* q = 1 is the plain Gaussian mechanism: alpha / (2 sigma^2), exactly. */
START_TEST(no_subsampling)
{
	static const double sig[] = { 0.5, 1.0, 1.1, 4.0 };
	u32 s, i;

	for (s = 0; s < 4; s++)
		for (i = 0; i < MCAI_DP_ORDERS; i++) {
			double a = mcai_dp_orders[i];
			double want = a / (2 * sig[s] * sig[s]);

			EXPECT(mcai_dp_rdp_sgm(1, sig[s], a) == want,
			       "alpha %g sigma %g", a, sig[s]);
			/* the binomial sum tends to it as q -> 1 */
			if (a == floor(a) && a <= 64)
				EXPECT(near_rel(mcai_dp_rdp_sgm(1 - 1e-12,
								sig[s], a),
						want, 1e-6),
				       "alpha %g sigma %g: %.12g vs %.12g", a,
				       sig[s],
				       mcai_dp_rdp_sgm(1 - 1e-12, sig[s], a),
				       want);
		}
	/* one step at alpha = 2 composes linearly */
	ck_assert(mcai_dp_rdp_sgm(0, 1, 2) == 0);
	ck_assert(isinf(mcai_dp_rdp_sgm(0.1, 0, 2)));
	ck_assert(isnan(mcai_dp_rdp_sgm(1.5, 1, 2)));
	ck_assert(isnan(mcai_dp_rdp_sgm(0.1, 1, 1)));
}
END_TEST

/*
 * alpha = 2 in closed form: A_2 = (1 - q)^2 + 2q(1 - q) + q^2 e^(1/s^2)
 * = 1 + q^2 (e^(1/s^2) - 1).  Fractional orders next to an integer agree
 * with it, and RDP never decreases with the order.
 */
START_TEST(closed_forms)
{
	static const double qs[] = { 1e-4, 0.01, 0.1, 0.5 };
	static const double sig[] = { 0.7, 1.0, 2.0 };
	u32 a, b, i;

	for (a = 0; a < 4; a++)
		for (b = 0; b < 3; b++) {
			double q = qs[a], s = sig[b];
			double want = log1p(q * q * expm1(1 / (s * s)));
			double prev = 0;

			ck_assert_msg(near_rel(mcai_dp_rdp_sgm(q, s, 2), want,
					       1e-9), "q %g s %g", q, s);
			ck_assert_msg(near_rel(mcai_dp_rdp_sgm(q, s, 2 + 1e-7),
					       want, 1e-5), "q %g s %g frac",
				      q, s);
			for (i = 0; i < MCAI_DP_ORDERS; i++) {
				double r = mcai_dp_rdp_sgm(q, s,
							   mcai_dp_orders[i]);

				EXPECT(r >= prev * (1 - 1e-9),
				       "q %g s %g alpha %g: %g < %g", q, s,
				       mcai_dp_orders[i], r, prev);
				prev = r;
			}
		}
}
END_TEST

START_TEST(conversions)
{
	double rdp[MCAI_DP_ORDERS], c, bl, at;
	u32 i;

	mcai_dp_rdp(0.01, 1.0, 1000, mcai_dp_orders, MCAI_DP_ORDERS, rdp);
	c = mcai_dp_epsilon(mcai_dp_orders, rdp, MCAI_DP_ORDERS, 1e-5,
			    MCAI_DP_CONV_CLASSIC, &at);
	bl = mcai_dp_epsilon(mcai_dp_orders, rdp, MCAI_DP_ORDERS, 1e-5,
			     MCAI_DP_CONV_BALLE, NULL);
	ck_assert_msg(bl < c && bl > 0, "balle %g classic %g", bl, c);
	/* the classic minimum, by hand over the same orders */
	for (i = 0; i < MCAI_DP_ORDERS; i++) {
		double a = mcai_dp_orders[i];

		EXPECT(rdp[i] - log(1e-5) / (a - 1) >= c - 1e-12, "order %g", a);
	}
	for (i = 0; i < MCAI_DP_ORDERS && mcai_dp_orders[i] != at; i++)
		;
	ck_assert_uint_lt(i, MCAI_DP_ORDERS);
	ck_assert(fabs(rdp[i] - log(1e-5) / (at - 1) - c) < 1e-12);
	/* nothing finite: infinity */
	for (i = 0; i < MCAI_DP_ORDERS; i++)
		rdp[i] = INFINITY;
	ck_assert(isinf(mcai_dp_epsilon(mcai_dp_orders, rdp, MCAI_DP_ORDERS,
					1e-5, MCAI_DP_CONV_BALLE, NULL)));
}
END_TEST

/* Rounds add up; the one that would pass the budget is refused. */
START_TEST(accountant_budget)
{
	struct mcai_dp_accountant a, before;
	double e1, et, pe1, pet, last = 0, one[MCAI_DP_ORDERS];
	char why[160];
	u32 r, i;
	int err;

	ck_assert_int_eq(mcai_dp_acct_init(&a, 0, 1, MCAI_DP_CONV_BALLE),
			 -EINVAL);
	ck_assert_int_eq(mcai_dp_acct_init(&a, 1, 1, MCAI_DP_CONV_BALLE),
			 -EINVAL);
	ck_assert_int_eq(mcai_dp_acct_init(&a, 1e-5, 0, MCAI_DP_CONV_BALLE),
			 -EINVAL);
	ck_assert(!mcai_dp_acct_init(&a, 1e-5, 3.0, MCAI_DP_CONV_BALLE));
	ck_assert(mcai_dp_acct_epsilon(&a) == 0);
	ck_assert_int_eq(mcai_dp_acct_spend(&a, 1.5, 1, NULL, NULL, why,
					    sizeof(why)), -EINVAL);
	ck_assert_int_eq(mcai_dp_acct_preview(&a, 0.1, -1, NULL, NULL),
			 -EINVAL);
	/* no noise: no finite epsilon, refused */
	ck_assert_int_eq(mcai_dp_acct_spend(&a, 0.1, 0, NULL, NULL, why,
					    sizeof(why)), -EDQUOT);
	ck_assert_uint_eq(a.rounds, 0);

	/* q = 0.1 (10 of 100 nodes a round), sigma = 1.0 */
	for (r = 1;; r++) {
		ck_assert(!mcai_dp_acct_preview(&a, 0.1, 1.0, &pe1, &pet));
		before = a;
		err = mcai_dp_acct_spend(&a, 0.1, 1.0, &e1, &et, why,
					 sizeof(why));
		ck_assert(e1 == pe1 && et == pet);
		if (err) {
			ck_assert_int_eq(err, -EDQUOT);
			ck_assert(et > 3.0 && last <= 3.0);
			ck_assert_msg(strstr(why, "budget 3"), "%s", why);
			/* nothing spent */
			ck_assert(!memcmp(&a, &before, sizeof(a)));
			break;
		}
		ck_assert(et > last && et <= 3.0);
		ck_assert(near_rel(mcai_dp_acct_epsilon(&a), et, 1e-12));
		if (r == 1)
			ck_assert(e1 == et);
		last = et;
		ck_assert_uint_lt(r, 10000);
	}
	ck_assert_uint_eq(a.rounds, r - 1);
	/* r - 1 equal rounds: r - 1 times one round's RDP at every order */
	mcai_dp_rdp(0.1, 1.0, 1, mcai_dp_orders, MCAI_DP_ORDERS, one);
	for (i = 0; i < MCAI_DP_ORDERS; i++)
		EXPECT(near_rel(a.rdp[i], one[i] * (r - 1), 1e-9), "order %g",
		       mcai_dp_orders[i]);
	/* a cheaper round may still fit */
	ck_assert(!mcai_dp_acct_preview(&a, 0.001, 5.0, NULL, &et));
	if (et <= 3.0)
		ck_assert(!mcai_dp_acct_spend(&a, 0.001, 5.0, NULL, NULL, why,
					      sizeof(why)));
	/* the classic conversion spends the same budget sooner */
	ck_assert(!mcai_dp_acct_init(&before, 1e-5, 3.0, MCAI_DP_CONV_CLASSIC));
	for (i = 0; !mcai_dp_acct_spend(&before, 0.1, 1.0, NULL, NULL, NULL,
					0); i++)
		;
	ck_assert_uint_lt(i, r - 1);
}
END_TEST

/*
 * Moments of 10^6 normals within 5 standard errors: mean (se 1e-3),
 * variance (se sqrt(2/N) = 1.4e-3), E x^4 = 3 (se sqrt(96/N) = 9.8e-3),
 * P(|x| < 1) = 0.682689 (se 4.7e-4).  Uniforms: mean 1/2, in (0, 1).
 */
START_TEST(gauss_moments)
{
	enum { N = 1000000 };
	struct mcai_dp_rng r;
	u8 key[32];
	double s1 = 0, s2 = 0, s4 = 0, in1 = 0, mean, var, u = 0;
	u32 i;

	for (i = 0; i < 32; i++)
		key[i] = (u8)(i * 7 + 1);
	mcai_dp_rng_init(&r, key);
	for (i = 0; i < N; i++) {
		double x = mcai_dp_gauss(&r);

		s1 += x;
		s2 += x * x;
		s4 += x * x * x * x;
		in1 += fabs(x) < 1;
	}
	mean = s1 / N;
	var = s2 / N - mean * mean;
	ck_assert_msg(fabs(mean) < 5e-3, "mean %g", mean);
	ck_assert_msg(fabs(var - 1) < 5 * sqrt(2.0 / N), "var %g", var);
	ck_assert_msg(fabs(s4 / N - 3) < 5 * sqrt(96.0 / N), "m4 %g", s4 / N);
	ck_assert_msg(fabs(in1 / N - 0.682689492) < 5 * 4.66e-4, "P %g",
		      in1 / N);
	for (i = 0; i < N / 10; i++) {
		double v = mcai_dp_uniform(&r);

		EXPECT(v > 0 && v < 1, "uniform %g", v);
		u += v;
	}
	u /= N / 10;
	/* se of the mean: sqrt(1/12 / 10^5) = 9.1e-4 */
	ck_assert_msg(fabs(u - 0.5) < 5 * 9.13e-4, "uniform mean %g", u);
}
END_TEST

/* The stream is ChaCha20: equal to OpenSSL's, and set by the key. */
START_TEST(rng_is_chacha20)
{
	struct mcai_dp_rng r, r2;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	u8 key[32], iv[16] = { 0 }, zero[256] = { 0 }, ks[256];
	int outl = 0;
	u32 i, same = 0;

	for (i = 0; i < 32; i++)
		key[i] = (u8)(255 - i);
	ck_assert(c);
	/* OpenSSL's IV: 32-bit block counter, then the 96-bit nonce */
	ck_assert(EVP_EncryptInit_ex(c, EVP_chacha20(), NULL, key, iv));
	ck_assert(EVP_EncryptUpdate(c, ks, &outl, zero, sizeof(zero)));
	ck_assert_int_eq(outl, sizeof(ks));
	EVP_CIPHER_CTX_free(c);
	mcai_dp_rng_init(&r, key);
	for (i = 0; i < 64; i++)
		ck_assert_uint_eq(mcai_dp_rng_u32(&r), mcai_le32(ks + 4 * i));
	/* same key, same stream; another key, another stream */
	mcai_dp_rng_init(&r, key);
	mcai_dp_rng_init(&r2, key);
	for (i = 0; i < 100; i++)
		ck_assert(mcai_dp_gauss(&r) == mcai_dp_gauss(&r2));
	key[0] ^= 1;
	mcai_dp_rng_init(&r2, key);
	for (i = 0; i < 100; i++)
		same += mcai_dp_rng_u32(&r) == mcai_dp_rng_u32(&r2);
	ck_assert_uint_lt(same, 3);
	/* the kernel-seeded one runs */
	ck_assert(!mcai_dp_rng_init_os(&r));
	ck_assert(isfinite(mcai_dp_gauss(&r)));
}
END_TEST

/* The sample standard deviation of n noise values, within @rel. */
static void expect_sd(const float *v, u32 n, double want, double rel)
{
	double s = 0, s2 = 0, sd;
	u32 i;

	for (i = 0; i < n; i++) {
		s += v[i];
		s2 += (double)v[i] * v[i];
	}
	sd = sqrt(s2 / n - (s / n) * (s / n));
	ck_assert_msg(near_rel(sd, want, rel), "sd %g, want %g", sd, want);
}

/*
 * Central: N(0, (sigma C)^2) once.  Distributed: 10 nodes each add
 * N(0, (sigma C)^2 / 10) and the sum has the same spread.  2 * 10^5
 * coordinates: the se of a sample sd is sd / sqrt(2n) = 0.16 %, so 1 %.
 */
START_TEST(noise_scales)
{
	enum { N = 200000, M = 10 };
	float *v = calloc(N, sizeof(*v)), *share = malloc(N * sizeof(*share));
	struct mcai_dp_rng r;
	u8 key[32] = { 9 };
	u32 i, k;

	ck_assert(v && share);
	mcai_dp_rng_init(&r, key);
	mcai_dp_noise_central(&r, v, N, 1.1, 0.5);
	expect_sd(v, N, 0.55, 0.01);
	memset(v, 0, N * sizeof(*v));
	for (k = 0; k < M; k++) {
		memset(share, 0, N * sizeof(*share));
		mcai_dp_noise_share(&r, share, N, 1.1, 0.5, M);
		if (!k)
			expect_sd(share, N, 0.55 / sqrt(M), 0.01);
		for (i = 0; i < N; i++)
			v[i] += share[i];
	}
	expect_sd(v, N, 0.55, 0.01);
	/* 7 of 10 shares arrive: sigma sqrt(0.7) */
	ck_assert(near_rel(mcai_dp_sigma_effective(1.1, 10, 7),
			   1.1 * sqrt(0.7), 1e-12));
	ck_assert(mcai_dp_sigma_effective(1.1, 10, 10) == 1.1);
	free(v);
	free(share);
}
END_TEST

/* The clipped norm never exceeds the bound, even by float rounding. */
START_TEST(clip_is_a_hard_bound)
{
	enum { N = 1000 };
	float v[N];
	uint64_t seed = 17;
	u32 t, i, scaled = 0;

	for (t = 0; t < 500; t++) {
		double c = 0.01 + (unit_rnd32(&seed) % 1000) / 100.0;
		double big = (unit_rnd32(&seed) % 100) / 10.0;

		for (i = 0; i < N; i++)
			v[i] = (float)(((double)unit_rnd32(&seed) / 4294967296.0 -
					0.5) * big);
		scaled += mcai_dp_clip(v, N, c);
		EXPECT(mcai_l2_norm(v, N) <= c, "trial %u: norm %.17g > %.17g",
		       t, mcai_l2_norm(v, N), c);
		EXPECT(mcai_l2_norm(v, N) >= 0.9999 * c ||
		       mcai_l2_norm(v, N) < c, "trial %u", t);
	}
	ck_assert_uint_gt(scaled, 100);
	/* within the bound: untouched */
	for (i = 0; i < N; i++)
		v[i] = 1e-3f;
	ck_assert(!mcai_dp_clip(v, N, 1.0));
	ck_assert(v[7] == 1e-3f);
	/* no bound, or nothing finite to bound: zeros */
	ck_assert(mcai_dp_clip(v, N, 0));
	ck_assert(mcai_l2_norm(v, N) == 0);
	v[3] = NAN;
	ck_assert(mcai_dp_clip(v, N, 1.0));
	ck_assert(mcai_l2_norm(v, N) == 0);
	v[3] = INFINITY;
	ck_assert(mcai_dp_clip(v, N, NAN));
	ck_assert(v[3] == 0);
}
END_TEST


/*
 * Adaptive clipping (Andrew et al. 2021), worked by hand:
 *   z = 1, sigma_b = 1:  z_delta = (1 - 1/4)^-1/2 = 1 / sqrt(0.75)
 *                                = 1.1547005384
 *   z = 1, sigma_b = 0.5: 2 sigma_b = z, the count takes everything: NAN.
 *   C = 1, gamma 0.5, eta 0.2, m = 10:
 *     8 of 10 unclipped, noise 0: b = 0.8, C = exp(-0.2 * 0.3) = exp(-0.06)
 *                                        = 0.9417645336
 *     2 of 10, noise +1: b = 0.3, C *= exp(-0.2 * -0.2) = exp(0.04):
 *                                 C = exp(-0.02) = 0.9801986733
 * Then the quantile it tracks: 100 clients with norms 0.02, 0.04, .., 2.0
 * and gamma 0.5, no noise: C settles near their median 1.0 (each step
 * moves it by a factor exp(+-0.2 / 100) at most once it is there).
 * With gamma 0.9 it settles near 1.8.
 */
START_TEST(adaptive_clipping)
{
	struct mcai_dp_adaptive ac = { 1.0, 0.5, 0.2, 0 };
	u32 r, i, g;

	ck_assert_double_eq_tol(mcai_dp_adaptive_sigma(1, 1), 1.1547005384,
				1e-9);
	ck_assert(isnan(mcai_dp_adaptive_sigma(1, 0.5)));
	ck_assert(isnan(mcai_dp_adaptive_sigma(0, 1)));
	/* more noise on the count leaves more budget to the update */
	ck_assert(mcai_dp_adaptive_sigma(1, 10) < mcai_dp_adaptive_sigma(1, 1));
	ck_assert(mcai_dp_adaptive_sigma(1, 10) > 1);
	ck_assert_double_eq_tol(mcai_dp_adaptive_step(&ac, 8, 10, 0),
				0.9417645336, 1e-9);
	ck_assert_double_eq_tol(mcai_dp_adaptive_step(&ac, 2, 10, 1),
				0.9801986733, 1e-9);
	for (g = 0; g < 2; g++) {
		const double gamma = g ? 0.9 : 0.5, want = g ? 1.8 : 1.0;

		ac = (struct mcai_dp_adaptive){ 0.1, gamma, 0.2, 0 };
		for (r = 0; r < 300; r++) {
			u32 below = 0;

			for (i = 1; i <= 100; i++)
				below += 0.02 * i <= ac.clip;
			mcai_dp_adaptive_step(&ac, below, 100, 0);
		}
		ck_assert_msg(fabs(ac.clip - want) < 0.05,
			      "gamma %g: C = %g, want about %g", gamma,
			      ac.clip, want);
	}
}
END_TEST

/*
 * With the count noised (sigma_b = m / 20 = 5, the paper's choice) the
 * clip still lands near the median; the noise comes from the rng.
 */
START_TEST(adaptive_clipping_noised)
{
	struct mcai_dp_adaptive ac = { 0.1, 0.5, 0.2, 5 };
	static const u8 key[32] = { 7 };
	struct mcai_dp_rng rng;
	double mean = 0;
	u32 r, i;

	mcai_dp_rng_init(&rng, key);
	for (r = 0; r < 600; r++) {
		u32 below = 0;

		for (i = 1; i <= 100; i++)
			below += 0.02 * i <= ac.clip;
		mcai_dp_adaptive_round(&ac, &rng, below, 100);
		if (r >= 300)
			mean += ac.clip / 300;
	}
	ck_assert_msg(fabs(mean - 1.0) < 0.1, "mean C %g, want about 1", mean);
}
END_TEST

Suite *dp_suite(void)
{
	Suite *s = suite_create("dp");
	TCase *tc = tcase_create("dp");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, published_tf_privacy);
	tcase_add_test(tc, published_opacus);
	tcase_add_test(tc, no_subsampling);
	tcase_add_test(tc, closed_forms);
	tcase_add_test(tc, conversions);
	tcase_add_test(tc, accountant_budget);
	tcase_add_test(tc, gauss_moments);
	tcase_add_test(tc, rng_is_chacha20);
	tcase_add_test(tc, noise_scales);
	tcase_add_test(tc, clip_is_a_hard_bound);
	tcase_add_test(tc, adaptive_clipping);
	tcase_add_test(tc, adaptive_clipping_noised);
	suite_add_tcase(s, tc);
	return s;
}
