// SPDX-License-Identifier: GPL-2.0
/*
 * Heads: what turns a model's last tensor into a decision.  Argmax (ties
 * to the lowest index, as engine v1's head), a score against a threshold,
 * and the anomaly score of an autoencoder: the mean squared error of its
 * reconstruction, in fixed point.
 */
#include "models/engine/ops.h"
#include "models/engine/fixedpoint.h"

u32 mcai_argmax(const s8 *scores, u32 len)
{
	u32 i, best = 0;

	for (i = 1; i < len; i++)
		if (scores[i] > scores[best])
			best = i;
	return best;
}

void mcai_argmax_rows(const s8 *scores, u32 rows, u32 depth, u32 *classes)
{
	u32 r;

	for (r = 0; r < rows; r++)
		classes[r] = mcai_argmax(scores + (size_t)r * depth, depth);
}

int mcai_score_head(const s8 *scores, u32 index, s8 threshold)
{
	return scores[index] >= threshold;
}

u64 mcai_argmax_macs(u32 rows, u32 depth)
{
	return (u64)rows * depth;
}

const char *mcai_recon_check(const struct mcai_recon_params *p)
{
	s32 m[2] = { p->in_mult, p->mean_mult };
	s32 s[2] = { p->in_shift, p->mean_shift };

	if (!p->len)
		return "empty tensor";
	if (p->len > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	if (p->in_zp < -128 || p->in_zp > 127 ||
	    p->out_zp < -128 || p->out_zp > 127)
		return "zero point outside int8";
	return mcai_op_check_requant(m, s, 2);
}

s32 mcai_recon_score(const struct mcai_recon_params *p, const s8 *recon,
		     const s8 *input)
{
	const u64 s64_max = ~0ULL >> 1;
	u64 sum = 0;
	u32 i;

	for (i = 0; i < p->len; i++) {
		/* the input on the output's grid: |x| <= 2^31 */
		s64 x = mcai_requant(input[i] - p->in_zp, p->in_mult,
				     p->in_shift);
		s64 d = (s64)(recon[i] - p->out_zp) - x;
		/* |d| <= 2^31 + 255: the square is below 2^63 */
		u64 sq = (u64)(d * d);

		sum = sq > s64_max - sum ? s64_max : sum + sq;
	}
	return mcai_requant64((s64)sum, p->mean_mult, p->mean_shift);
}

u64 mcai_recon_macs(const struct mcai_recon_params *p)
{
	return p->len;
}
