/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compressed model updates: what a node sends instead of its float delta
 * when the link is slow.
 *
 * ==== Kinds ==============================================================
 *
 * none   the float32 delta, 4 bytes a parameter.
 * int8   every parameter as an int8 with stochastic rounding: per block of
 *        @block values one float scale s = max|x| / 127 and q = floor(x / s
 *        + u), u uniform in [0, 1), so E[q s] = x exactly (unbiased) and
 *        |q s - x| < s.  1 + 4 / block bytes a parameter.
 * topk   the fraction @topk of the parameters largest in magnitude, as a
 *        bitmap of which (n / 8 bytes) and their values as int8 above.
 *        With error feedback (Stich et al. 2018, Karimireddy et al. 2019)
 *        what was not sent is kept in the node's residual and added to its
 *        next update, so nothing is lost, only delayed:
 *            v = delta + e;  sent = Q(topk(v));  e = v - sent.
 *        int8 takes the residual too (its rounding error), when given.
 *
 * ==== Wire format (little-endian) ========================================
 *
 *   u8 kind (1 int8, 2 topk), u8 format (1), u16 0, u32 n, u32 block,
 *   u32 k (values sent: n for int8), [topk: bitmap, ceil(n / 8) bytes, bit
 *   i of byte i / 8 for parameter i, exactly k bits set],
 *   f32 scale[ceil(k / block)] (finite, >= 0), s8 q[k] (-127 .. 127).
 *
 * A decoder refuses anything else (lengths, bits, scales, -128): the bytes
 * come from the network.
 *
 * ==== With secure aggregation ============================================
 *
 * Masks only cancel in a sum, so every node must send every coordinate
 * in the same ring with one common scale the round fixes.  Hence no
 * top-k under masking: each node's index set is its own, a sum of
 * differently-indexed values means nothing, and sending the bitmap would
 * tell the aggregator which coordinates each node moved most (a shared
 * random index set from the round seed would be rand-k, not top-k: it
 * gives up what error feedback buys and is not offered).  The aggregator
 * refuses rounds.compress = topk with privacy.secure_aggregation.
 *
 * int8 rounds (mcaid, MCAI_ROUND_F_SA_COMPRESS): the aggregator announces
 * a range R in ROUND; node i clamps each coordinate of its weighted
 * update to [-R, R] and sends q_i = floor(x 127 / R + u) (stochastic
 * rounding from its own RNG, |q_i| <= 127) plus its masks in Z_{2^16}:
 * 2 bytes a parameter on the wire instead of the float rounds' 4.
 * Because reducing mod 2^16 is a ring homomorphism of Z_{2^32}, SecAgg's
 * Z_{2^32} masks (runtime/fed/secagg.h, "Narrow ring") truncated to 16
 * bits still cancel, and the unmasked sum is sum q_i mod 2^16.  That is
 * the true sum while n 127 <= 2^15 - 1: at most 258 nodes in a round
 * (MCAI_COMP_SA_MAX_NODES); a ROUND for more is refused by both sides,
 * and the aggregator runs such a round with float masking instead.  The
 * weight and loss coordinates the daemon sums beside the update use the
 * same ring with floor((2^15 - 1) / n) levels (mcai_comp_sa_levels()),
 * so their sum cannot wrap either.  Why 2 bytes and not 1: a sum of n
 * values in -127 .. 127 needs 8 + log2(n) bits, and the ring must hold
 * the sum, not one value (a byte-wide ring would leave |q| <= 127 / n).
 * No error feedback here: stochastic rounding is unbiased, and what a
 * node clamps is not carried over.
 *
 * The lower bits cost precision, not privacy: the aggregator still
 * learns only the sum (of the quantised values).  The sum's error is
 * below n R / 127 per coordinate and zero on average (stochastic
 * rounding), plus the clamping of values beyond R (counted and logged by
 * the node).  R is twice the largest coordinate of the previous round's
 * unmasked mean (public to the aggregator: it is what it publishes; an
 * IID node's share of the mean is about 1/n of it, so clamping is rare),
 * at least 4 standard deviations of a distributed-DP noise share; the
 * first round after the aggregator starts knows no R and masks floats.
 *
 * mcai_comp_ring_*() below: the same with a caller's scale and a ring of
 * 16 or 32 bits, used by the unit tests.
 *
 * ==== With differential privacy ==========================================
 *
 * Distributed DP: the node clips, adds its noise share, then compresses:
 * the compression (and its residual) only post-processes a noised value.
 * Central DP: the aggregator decodes, clips and noises the sum as before.
 * The accountant is unchanged either way.
 */
#ifndef MCAI_COMPRESS_H
#define MCAI_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"

enum mcai_comp_kind {
	MCAI_COMP_NONE,
	MCAI_COMP_INT8,
	MCAI_COMP_TOPK,
};

#define MCAI_COMP_FORMAT	1
#define MCAI_COMP_HDR		16
#define MCAI_COMP_BLOCK		256

struct mcai_comp_config {
	enum mcai_comp_kind kind;
	float topk;		/* topk: fraction sent, (0, 1] */
	u32 block;		/* values per scale, 1 .. 65536 */
};

/* "none", "int8", "topk"; parse -EINVAL for others. */
const char *mcai_comp_kind_name(enum mcai_comp_kind k);
int mcai_comp_kind_parse(const char *name, enum mcai_comp_kind *k);
/* int8, topk 0.1, block 256. */
void mcai_comp_config_default(struct mcai_comp_config *c,
			      enum mcai_comp_kind kind);
int mcai_comp_config_check(const struct mcai_comp_config *c, char *why,
			   size_t why_len);

/* Values sent for n parameters: n, or ceil(topk n) (at least 1). */
u32 mcai_comp_values(const struct mcai_comp_config *c, u32 n);
/* Bytes on the wire for n parameters (none: 4 n). */
size_t mcai_comp_size(const struct mcai_comp_config *c, u32 n);

/*
 * Stochastic rounding of x / scale to the integers -127 .. 127 (scale > 0;
 * 0 gives 0), with @u uniform in [0, 1).
 */
int mcai_comp_round(float x, float scale, double u);

/*
 * Compress @delta (n floats) into @out (mcai_comp_size() bytes) with
 * @resid (n floats, the error feedback; NULL: none), drawing the rounding
 * from the splitmix64 state @rng.  @sent (may be NULL): what the receiver
 * will decode, n floats.  0, or -EINVAL (kind none, bad config).
 */
int mcai_comp_encode(const struct mcai_comp_config *c, const float *delta,
		     float *resid, u32 n, u64 *rng, u8 *out, float *sent);
/*
 * Decode @len bytes into @out (n floats, zero where nothing was sent).
 * 0, or -EBADMSG with the reason.
 */
int mcai_comp_decode(const u8 *in, size_t len, u32 n, float *out, char *why,
		     size_t why_len);

/* ---- For secure aggregation ------------------------------------------- */

/* The ring: 16 bits while 127 * nodes < 2^15, else 32. */
u32 mcai_comp_ring_bits(u32 nodes);
/* x[i] as int8 of the common @scale, stochastically rounded, as words. */
void mcai_comp_ring_encode(const float *x, u32 n, float scale, u64 *rng,
			   u32 *words);
/* A sum of such words mod 2^bits (16 or 32), sign-extended, times scale. */
void mcai_comp_ring_decode(const u32 *words, u32 n, u32 bits, float scale,
			   float *sum);

/* ---- int8 secure-aggregation rounds (the daemon's) -------------------- */

#define MCAI_COMP_SA_BITS	16
#define MCAI_COMP_SA_LEVELS	127
#define MCAI_COMP_SA_MAX_NODES	258	/* 127 * 258 = 32766 < 2^15 */

/*
 * A round of @nodes in the ring of @bits with range @range: 0, or -EINVAL
 * with the reason (bits not 16, range not positive and finite) or -ERANGE
 * (the sum of the nodes' int8 could wrap the ring).
 */
int mcai_comp_sa_check(u32 nodes, u32 bits, float range, char *why,
		       size_t why_len);
/* Levels for a side coordinate whose n values may each reach the range. */
u32 mcai_comp_sa_levels(u32 nodes);
/*
 * x[i] clamped to [-range, range], as floor(x levels / range + u) in
 * -levels .. levels (u from @rng), two's complement words.  Returns how
 * many were clamped.
 */
u32 mcai_comp_sa_encode(const float *x, u32 n, float range, u32 levels,
			u64 *rng, u32 *words);
/* A sum of such words mod 2^16, sign-extended, times range / levels. */
void mcai_comp_sa_decode(const u32 *words, u32 n, float range, u32 levels,
			 float *sum);

#endif /* MCAI_COMPRESS_H */
