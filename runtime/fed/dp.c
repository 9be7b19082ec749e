// SPDX-License-Identifier: GPL-2.0
/*
 * Differential privacy (runtime/fed/dp.h): ChaCha20-driven Gaussian noise,
 * clipping, and the RDP accountant of the sampled Gaussian mechanism.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "runtime/fed/dp.h"
#include "runtime/fed/strategy.h"

/* ---- ChaCha20 (RFC 8439, Sec. 2.3) -------------------------------------- */

static u32 rotl(u32 v, int c)
{
	return v << c | v >> (32 - c);
}

#define QR(a, b, c, d) do {					\
	a += b; d ^= a; d = rotl(d, 16);			\
	c += d; b ^= c; b = rotl(b, 12);			\
	a += b; d ^= a; d = rotl(d, 8);				\
	c += d; b ^= c; b = rotl(b, 7);				\
} while (0)

static void chacha_block(struct mcai_dp_rng *r)
{
	u32 in[16], x[16];
	int i;

	in[0] = 0x61707865;	/* "expand 32-byte k" */
	in[1] = 0x3320646e;
	in[2] = 0x79622d32;
	in[3] = 0x6b206574;
	for (i = 0; i < 8; i++)
		in[4 + i] = r->key[i];
	/* a 64-bit block counter over words 12-13, the nonce words zero */
	in[12] = (u32)r->counter;
	in[13] = (u32)(r->counter >> 32);
	in[14] = 0;
	in[15] = 0;
	memcpy(x, in, sizeof(x));
	for (i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 16; i++)
		r->block[i] = x[i] + in[i];
	r->counter++;
	r->pos = 0;
}

void mcai_dp_rng_init(struct mcai_dp_rng *r, const u8 key[32])
{
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < 8; i++)
		r->key[i] = mcai_le32(key + 4 * i);
	r->pos = 16;
}

int mcai_dp_rng_init_os(struct mcai_dp_rng *r)
{
	u8 key[32];
	size_t got = 0;

	while (got < sizeof(key)) {
		ssize_t n = getrandom(key + got, sizeof(key) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	mcai_dp_rng_init(r, key);
	memset(key, 0, sizeof(key));
	return 0;
}

u32 mcai_dp_rng_u32(struct mcai_dp_rng *r)
{
	if (r->pos >= 16)
		chacha_block(r);
	return r->block[r->pos++];
}

double mcai_dp_uniform(struct mcai_dp_rng *r)
{
	u64 v = (u64)mcai_dp_rng_u32(r) | (u64)mcai_dp_rng_u32(r) << 32;

	/* the 53 top bits plus a half: never 0 (log) and never 1 */
	return ((double)(v >> 11) + 0.5) * 0x1p-53;
}

double mcai_dp_gauss(struct mcai_dp_rng *r)
{
	double u1, u2, rad;

	if (r->have_spare) {
		r->have_spare = false;
		return r->spare;
	}
	u1 = mcai_dp_uniform(r);
	u2 = mcai_dp_uniform(r);
	rad = sqrt(-2.0 * log(u1));
	r->spare = rad * sin(2.0 * M_PI * u2);
	r->have_spare = true;
	return rad * cos(2.0 * M_PI * u2);
}

void mcai_dp_add_gauss(struct mcai_dp_rng *r, float *v, u32 n, double stddev)
{
	u32 i;

	for (i = 0; i < n; i++)
		v[i] = (float)(v[i] + stddev * mcai_dp_gauss(r));
}

bool mcai_dp_clip(float *v, u32 n, double clip)
{
	bool scaled;
	u32 i;

	/*
	 * No usable bound, or an update without a finite norm: send zeros,
	 * which respect any bound, rather than something unbounded.
	 */
	if (!(clip > 0) || !isfinite(mcai_l2_norm(v, n))) {
		memset(v, 0, (size_t)n * sizeof(*v));
		return true;
	}
	scaled = mcai_clip_l2(v, n, (float)clip);
	/* float rounding of the scaled coordinates can land a hair above */
	while (mcai_l2_norm(v, n) > clip) {
		for (i = 0; i < n; i++)
			v[i] *= 1.0f - 0x1p-22f;
		scaled = true;
	}
	return scaled;
}

void mcai_dp_noise_central(struct mcai_dp_rng *r, float *sum, u32 n,
			   double sigma, double clip)
{
	mcai_dp_add_gauss(r, sum, n, sigma * clip);
}

void mcai_dp_noise_share(struct mcai_dp_rng *r, float *v, u32 n, double sigma,
			 double clip, u32 nodes)
{
	mcai_dp_add_gauss(r, v, n, sigma * clip / sqrt(nodes ? nodes : 1));
}

double mcai_dp_sigma_effective(double sigma, u32 expected, u32 survived)
{
	if (!expected || survived >= expected)
		return sigma;
	return sigma * sqrt((double)survived / expected);
}

/* ---- RDP of the sampled Gaussian mechanism ----------------------------- */

const double mcai_dp_orders[MCAI_DP_ORDERS] = {
	1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
	5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
	23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39,
	40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56,
	57, 58, 59, 60, 61, 62, 63, 128, 256, 512,
};

/* log(e^a + e^b) */
static double log_add(double a, double b)
{
	double hi = a > b ? a : b, lo = a > b ? b : a;

	if (lo == -INFINITY)
		return hi;
	return hi + log1p(exp(lo - hi));
}

/* log(e^a - e^b), a >= b; NAN when a < b. */
static double log_sub(double a, double b)
{
	if (b == -INFINITY)
		return a;
	if (a < b)
		return NAN;
	if (a == b)
		return -INFINITY;
	if (a - b > 700)	/* e^(a-b) - 1 would overflow: it is e^(a-b) */
		return a;
	return log(expm1(a - b)) + b;
}

/*
 * log(erfc(x)), also where erfc underflows: past 25 the asymptotic series
 * erfc(x) ~ exp(-x^2 - 1/(2x^2) + 5/(8x^4) - ...) / (x sqrt(pi)), whose
 * next terms are below 1e-11 there.
 */
static double log_erfc(double x)
{
	double x2;

	if (x < 25)
		return log(erfc(x));
	x2 = x * x;
	return -0.5 * log(M_PI) - log(x) - x2 - 0.5 / x2 +
	       0.625 / (x2 * x2) - 37.0 / 24.0 / (x2 * x2 * x2) +
	       353.0 / 64.0 / (x2 * x2 * x2 * x2);
}

/*
 * log A_alpha for integer alpha: sum_i C(alpha, i) q^i (1 - q)^(alpha - i)
 * exp((i^2 - i) / (2 sigma^2)).  log C(alpha, i) by its recurrence, which
 * needs no lgamma (and so no global signgam).
 */
static double log_a_int(double q, double sigma, u32 alpha)
{
	double la = -INFINITY, lb = 0, lq = log(q), l1q = log1p(-q);
	double s2 = 2 * sigma * sigma;
	u32 i;

	for (i = 0; i <= alpha; i++) {
		double di = i;

		if (i)
			lb += log((double)(alpha - i + 1)) - log(di);
		la = log_add(la, lb + di * lq + (alpha - di) * l1q +
				 (di * di - di) / s2);
	}
	return la;
}

/* log A_alpha for fractional alpha: the two tails split at z0. */
static double log_a_frac(double q, double sigma, double alpha)
{
	double la0 = -INFINITY, la1 = -INFINITY, coef = 1;
	double z0 = sigma * sigma * log(1 / q - 1) + 0.5;
	double lq = log(q), l1q = log1p(-q), s2 = 2 * sigma * sigma;
	double rs = M_SQRT2 * sigma;
	u32 i;

	for (i = 0; i < 100000; i++) {
		double di = i, j = alpha - di, lc, ls0, ls1;

		if (i)
			coef *= (alpha - (di - 1)) / di;	/* C(alpha, i) */
		lc = log(fabs(coef));
		ls0 = lc + di * lq + j * l1q + (di * di - di) / s2 +
		      log(0.5) + log_erfc((di - z0) / rs);
		ls1 = lc + j * lq + di * l1q + (j * j - j) / s2 +
		      log(0.5) + log_erfc((z0 - j) / rs);
		if (coef > 0) {
			la0 = log_add(la0, ls0);
			la1 = log_add(la1, ls1);
		} else {
			la0 = log_sub(la0, ls0);
			la1 = log_sub(la1, ls1);
		}
		if (isnan(la0) || isnan(la1))
			return NAN;
		if ((ls0 > ls1 ? ls0 : ls1) < -30)
			return log_add(la0, la1);
	}
	return NAN;
}

double mcai_dp_rdp_sgm(double q, double sigma, double alpha)
{
	if (!(q >= 0 && q <= 1) || !(sigma >= 0) || !(alpha > 1))
		return NAN;
	if (q == 0)
		return 0;
	if (sigma == 0 || isinf(alpha))
		return INFINITY;
	if (q == 1)
		return alpha / (2 * sigma * sigma);
	if (alpha == floor(alpha) && alpha <= 100000)
		return log_a_int(q, sigma, (u32)alpha) / (alpha - 1);
	return log_a_frac(q, sigma, alpha) / (alpha - 1);
}

void mcai_dp_rdp(double q, double sigma, u64 steps, const double *orders,
		 u32 k, double *rdp)
{
	u32 i;

	for (i = 0; i < k; i++)
		rdp[i] = mcai_dp_rdp_sgm(q, sigma, orders[i]) * (double)steps;
}

double mcai_dp_epsilon(const double *orders, const double *rdp, u32 k,
		       double delta, enum mcai_dp_conv conv,
		       double *best_order)
{
	double best = INFINITY, at = NAN, ld = log(delta);
	u32 i;

	for (i = 0; i < k; i++) {
		double a = orders[i], e;

		if (!isfinite(rdp[i]) || !(a > 1))
			continue;
		if (conv == MCAI_DP_CONV_CLASSIC)
			e = rdp[i] - ld / (a - 1);
		else
			e = rdp[i] - (ld + log(a)) / (a - 1) + log((a - 1) / a);
		if (e < best) {
			best = e;
			at = a;
		}
	}
	if (best_order)
		*best_order = at;
	/* the Balle et al. form can dip below 0 for tiny RDP: eps >= 0 */
	return best < 0 ? 0 : best;
}

int mcai_dp_acct_init(struct mcai_dp_accountant *a, double delta,
		      double budget, enum mcai_dp_conv conv)
{
	memset(a, 0, sizeof(*a));
	if (!(delta > 0 && delta < 1) || !(budget > 0))
		return -EINVAL;
	a->delta = delta;
	a->budget = budget;
	a->conv = conv;
	return 0;
}

double mcai_dp_acct_epsilon(const struct mcai_dp_accountant *a)
{
	if (!a->rounds)
		return 0;
	return mcai_dp_epsilon(mcai_dp_orders, a->rdp, MCAI_DP_ORDERS,
			       a->delta, a->conv, NULL);
}

/* RDP of one round at the accountant's orders, and the totals after it. */
static int round_rdp(const struct mcai_dp_accountant *a, double q,
		     double sigma, double *one, double *after)
{
	u32 i;

	if (!(q >= 0 && q <= 1) || !(sigma >= 0))
		return -EINVAL;
	mcai_dp_rdp(q, sigma, 1, mcai_dp_orders, MCAI_DP_ORDERS, one);
	for (i = 0; i < MCAI_DP_ORDERS; i++)
		after[i] = a->rdp[i] + one[i];
	return 0;
}

int mcai_dp_acct_preview(const struct mcai_dp_accountant *a, double q,
			 double sigma, double *eps_round, double *eps_total)
{
	double one[MCAI_DP_ORDERS], after[MCAI_DP_ORDERS];
	int err = round_rdp(a, q, sigma, one, after);

	if (err)
		return err;
	if (eps_round)
		*eps_round = mcai_dp_epsilon(mcai_dp_orders, one,
					     MCAI_DP_ORDERS, a->delta, a->conv,
					     NULL);
	if (eps_total)
		*eps_total = mcai_dp_epsilon(mcai_dp_orders, after,
					     MCAI_DP_ORDERS, a->delta, a->conv,
					     NULL);
	return 0;
}

int mcai_dp_acct_spend(struct mcai_dp_accountant *a, double q, double sigma,
		       double *eps_round, double *eps_total, char *why,
		       size_t why_len)
{
	double one[MCAI_DP_ORDERS], after[MCAI_DP_ORDERS], e1, et;
	int err = round_rdp(a, q, sigma, one, after);

	if (err) {
		if (why && why_len)
			snprintf(why, why_len, "q %g (want [0, 1]), sigma %g (>= 0)",
				 q, sigma);
		return err;
	}
	e1 = mcai_dp_epsilon(mcai_dp_orders, one, MCAI_DP_ORDERS, a->delta,
			     a->conv, NULL);
	et = mcai_dp_epsilon(mcai_dp_orders, after, MCAI_DP_ORDERS, a->delta,
			     a->conv, NULL);
	if (eps_round)
		*eps_round = e1;
	if (eps_total)
		*eps_total = et;
	/* NaN and infinity fail this too: no round without a finite bound */
	if (!(et <= a->budget)) {
		if (why && why_len)
			snprintf(why, why_len,
				 "round %llu refused: epsilon would reach %.4g, budget %.4g (delta %g)",
				 (unsigned long long)a->rounds + 1, et,
				 a->budget, a->delta);
		return -EDQUOT;
	}
	memcpy(a->rdp, after, sizeof(after));
	a->rounds++;
	return 0;
}

/* ---- Adaptive clipping ------------------------------------------------- */

double mcai_dp_adaptive_sigma(double z, double count_stddev)
{
	if (!(z > 0) || !(2 * count_stddev > z) || !isfinite(z))
		return NAN;
	if (isinf(count_stddev))
		return z;
	return 1.0 / sqrt(1.0 / (z * z) -
			  1.0 / (4.0 * count_stddev * count_stddev));
}

double mcai_dp_adaptive_step(struct mcai_dp_adaptive *ac, u32 unclipped,
			     u32 expected, double noise)
{
	const double b = ((double)unclipped + noise) / (expected ? expected : 1);

	ac->clip *= exp(-ac->lr * (b - ac->quantile));
	return ac->clip;
}

double mcai_dp_adaptive_round(struct mcai_dp_adaptive *ac,
			      struct mcai_dp_rng *r, u32 unclipped,
			      u32 expected)
{
	double noise = 0;

	if (ac->count_stddev > 0)
		noise = ac->count_stddev * mcai_dp_gauss(r);
	return mcai_dp_adaptive_step(ac, unclipped, expected, noise);
}
