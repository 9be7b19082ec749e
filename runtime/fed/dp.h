/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client-level differential privacy for the federation: each node's update
 * is clipped to L2 norm C, Gaussian noise of standard deviation sigma * C
 * is added to the sum of a round, and an RDP accountant turns the rounds
 * into (epsilon, delta).
 *
 * ==== Where the noise goes ==============================================
 *
 * central      the aggregator adds N(0, (sigma C)^2) to each coordinate of
 *              the sum of the clipped updates (mcai_dp_noise_central()).
 *              It sees the updates, so it must be trusted.
 * distributed  with secure aggregation the aggregator only sees the sum:
 *              each of the m nodes expected in the sum adds N(0, (sigma
 *              C)^2 / m) itself (mcai_dp_noise_share()), and the sum of
 *              the m shares is N(0, (sigma C)^2).  When only s < m of them
 *              make it into the sum the noise is N(0, (sigma C)^2 s / m):
 *              account for that round with mcai_dp_sigma_effective().
 *              (The nodes' noise goes through the fixed-point encoding of
 *              runtime/fed/secagg.h: rounding moves each coordinate by at most
 *              2^-(f+1), independently of the data.)
 *
 * A round is one application of the sampled Gaussian mechanism with
 * sampling rate q = expected nodes per round / nodes in the fleet (client
 * sampling, assumed Poisson as in the analyses below) and noise multiplier
 * sigma, the sensitivity being C (one node added or removed).
 *
 * ==== Sampler ===========================================================
 *
 * ChaCha20 (RFC 8439 block function, 256-bit key, 96-bit zero nonce) as
 * the bit source: reproducible from a seed for tests, unpredictable when
 * the seed comes from the kernel (mcai_dp_rng_init_os()), which is what
 * the noise needs in production: noise an attacker can predict protects
 * nothing.  Uniforms are 53-bit, in the open interval (0, 1); normals come
 * from the Box-Muller transform, both of each pair used.  Known limit:
 * floating-point Gaussian noise leaks through its low-order bits (Mironov,
 * CCS 2012); a discrete Gaussian (Canonne, Kamath, Steinke 2020) would
 * close that and is not done here.
 *
 * ==== Accountant ========================================================
 *
 * RDP of the sampled Gaussian mechanism (Mironov, Talwar, Zhang, "Renyi
 * Differential Privacy of the Sampled Gaussian Mechanism", 2019, Sec. 3.3),
 * computed as TensorFlow Privacy's and Opacus's compute_rdp: for integer
 * alpha the binomial sum of log A_alpha, for fractional alpha the two-sided
 * series with erfc; q = 1 gives alpha / (2 sigma^2) exactly.  RDP adds up
 * over rounds at each order.  Conversion to (epsilon, delta), minimised
 * over the orders:
 *   MCAI_DP_CONV_CLASSIC  eps = rdp - log(delta) / (alpha - 1)
 *                         (Mironov 2017, Prop. 3; TF Privacy's original
 *                         get_privacy_spent)
 *   MCAI_DP_CONV_BALLE    eps = rdp - (log delta + log alpha) / (alpha - 1)
 *                               + log((alpha - 1) / alpha)
 *                         (Balle et al., AISTATS 2020, Thm. 21; Opacus's
 *                         get_privacy_spent), always at most the classic.
 * The accountant uses BALLE by default.  Orders: those of Google's
 * dp_accounting RdpAccountant: 1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4,
 * 4.5, 5 .. 63, 128, 256, 512.
 */
#ifndef MCAI_DP_H
#define MCAI_DP_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"

/* ---- Noise ------------------------------------------------------------- */

struct mcai_dp_rng {
	u32 key[8];
	u64 counter;		/* 64-byte blocks used */
	u32 block[16];
	u32 pos;		/* next word of block; 16 = empty */
	bool have_spare;	/* Box-Muller's second normal */
	double spare;
};

/* Seed with a 32-byte key: the same key gives the same stream. */
void mcai_dp_rng_init(struct mcai_dp_rng *r, const u8 key[32]);
/* Seed from getrandom(2); 0 or -errno. */
int mcai_dp_rng_init_os(struct mcai_dp_rng *r);
/* Raw ChaCha20 keystream words, little-endian from the block. */
u32 mcai_dp_rng_u32(struct mcai_dp_rng *r);
/* Uniform in (0, 1), 53 bits. */
double mcai_dp_uniform(struct mcai_dp_rng *r);
/* Standard normal. */
double mcai_dp_gauss(struct mcai_dp_rng *r);
/* v[i] += N(0, stddev^2), i < n. */
void mcai_dp_add_gauss(struct mcai_dp_rng *r, float *v, u32 n, double stddev);

/*
 * Clip @v to L2 norm @clip (runtime/fed/strategy.h's mcai_clip_l2, then pulled
 * in by an ulp or two when float rounding left it just above: the bound is
 * the sensitivity, so it must hold exactly).  True if it was scaled.
 * A clip that is not > 0, or a vector with a NaN or an infinity, gives
 * all zeros (and true): nothing unbounded leaves the node.
 */
bool mcai_dp_clip(float *v, u32 n, double clip);
/* Central: sum[i] += N(0, (sigma clip)^2). */
void mcai_dp_noise_central(struct mcai_dp_rng *r, float *sum, u32 n,
			   double sigma, double clip);
/* Distributed: v[i] += N(0, (sigma clip)^2 / nodes), nodes >= 1. */
void mcai_dp_noise_share(struct mcai_dp_rng *r, float *v, u32 n, double sigma,
			 double clip, u32 nodes);
/* The noise multiplier a round really had when @survived of @expected
 * distributed shares reached the sum: sigma sqrt(survived / expected). */
double mcai_dp_sigma_effective(double sigma, u32 expected, u32 survived);

/* ---- Adaptive clipping ------------------------------------------------- */

/*
 * Andrew, Thakkar, McMahan, Ramaswamy, "Differentially Private Learning
 * with Adaptive Clipping" (NeurIPS 2021): the clip norm C follows a target
 * quantile gamma of the updates' norms instead of being guessed.  Each
 * round, of the m expected clients, count those whose update had norm <= C
 * (before clipping), add N(0, sigma_b^2) to the count, and take the
 * geometric step
 *
 *     b = (count + N(0, sigma_b^2)) / m,     C <- C exp(-eta (b - gamma)).
 *
 * The count is a second query on the clients' data.  Its sensitivity is 1
 * (b_i - 1/2 in the paper: 1/2 either way); the paper's Thm. 1 shows that
 * the update's sum noised with multiplier z_delta and the count noised
 * with sigma_b together are exactly as private as one Gaussian mechanism
 * of multiplier z when
 *
 *     z_delta = (z^-2 - (2 sigma_b)^-2)^(-1/2),
 *
 * so the accountant keeps spending z each round (unchanged) and the update
 * gets the slightly larger z_delta (mcai_dp_adaptive_sigma()).  The
 * paper's defaults: gamma 0.5, eta 0.2, sigma_b = m / 20.
 */
struct mcai_dp_adaptive {
	double clip;		/* C now, > 0 */
	double quantile;	/* gamma, (0, 1) */
	double lr;		/* eta, > 0 */
	double count_stddev;	/* sigma_b, >= 0 (0: no noise, no privacy) */
};

/*
 * The update's noise multiplier z_delta for the round's multiplier @z when
 * the count gets @count_stddev: NAN unless 2 count_stddev > z > 0 (the
 * count would then take the whole budget).
 */
double mcai_dp_adaptive_sigma(double z, double count_stddev);
/*
 * End of a round: @unclipped of the updates had norm <= C, @expected
 * clients were expected (m >= 1), @noise is the count's N(0, sigma_b^2)
 * draw.  Updates and returns C.
 */
double mcai_dp_adaptive_step(struct mcai_dp_adaptive *ac, u32 unclipped,
			     u32 expected, double noise);
/* The same with the noise drawn from @r. */
double mcai_dp_adaptive_round(struct mcai_dp_adaptive *ac,
			      struct mcai_dp_rng *r, u32 unclipped,
			      u32 expected);

/* ---- RDP accountant ---------------------------------------------------- */

#define MCAI_DP_ORDERS 72
extern const double mcai_dp_orders[MCAI_DP_ORDERS];

enum mcai_dp_conv {
	MCAI_DP_CONV_BALLE,
	MCAI_DP_CONV_CLASSIC,
};

/*
 * RDP at order @alpha (> 1) of one step of the sampled Gaussian mechanism,
 * rate q in [0, 1], noise multiplier sigma >= 0: 0 for q = 0, INFINITY for
 * sigma = 0, NAN for arguments out of range or a series that would not
 * converge.
 */
double mcai_dp_rdp_sgm(double q, double sigma, double alpha);
/* @steps compositions at each of @k orders into @rdp. */
void mcai_dp_rdp(double q, double sigma, u64 steps, const double *orders,
		 u32 k, double *rdp);
/*
 * The smallest epsilon over the orders for @delta in (0, 1); INFINITY when
 * no order has a finite RDP.  @best_order (may be NULL) gets its order.
 */
double mcai_dp_epsilon(const double *orders, const double *rdp, u32 k,
		       double delta, enum mcai_dp_conv conv,
		       double *best_order);

/* Cumulative privacy of a model's rounds; plain data, to persist as is. */
struct mcai_dp_accountant {
	double rdp[MCAI_DP_ORDERS];	/* at mcai_dp_orders */
	u64 rounds;
	double delta;			/* target delta, (0, 1) */
	double budget;			/* refuse past this epsilon; > 0 */
	enum mcai_dp_conv conv;
};

/* 0, or -EINVAL for delta outside (0, 1) or a budget not > 0. */
int mcai_dp_acct_init(struct mcai_dp_accountant *a, double delta,
		      double budget, enum mcai_dp_conv conv);
/* Epsilon spent so far (0 before any round). */
double mcai_dp_acct_epsilon(const struct mcai_dp_accountant *a);
/*
 * What a round (q, sigma) would cost: @eps_round the epsilon of that round
 * alone, @eps_total the cumulative epsilon after it (both may be NULL).
 * -EINVAL for q outside [0, 1] or sigma < 0.
 */
int mcai_dp_acct_preview(const struct mcai_dp_accountant *a, double q,
			 double sigma, double *eps_round, double *eps_total);
/*
 * Spend a round: -EDQUOT, nothing spent and the reason in @why, when the
 * cumulative epsilon would pass the budget; else 0 and the figures as
 * preview() gives them.
 */
int mcai_dp_acct_spend(struct mcai_dp_accountant *a, double q, double sigma,
		       double *eps_round, double *eps_total, char *why,
		       size_t why_len);

#endif /* MCAI_DP_H */
