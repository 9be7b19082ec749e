// SPDX-License-Identifier: GPL-2.0
/*
 * Integer softmax, TFLite Micro's int8 -> int8 kernel (reference_ops::
 * Softmax on quantised data) step for step, so that a model converted by
 * TFLite gives the same bytes here: no floating point anywhere, exp() and
 * the reciprocal in gemmlowp's fixed point (fixedpoint.c).
 */
#include "models/engine/ops.h"
#include "models/engine/fixedpoint.h"

/* TFLite's constants: differences in Q5.26, the sum of exps in Q12.19. */
#define MCAI_SM_DIFF_BITS	5
#define MCAI_SM_ACC_BITS	12

const char *mcai_softmax_check(const struct mcai_softmax_params *p)
{
	if (!p->rows || !p->depth)
		return "empty tensor";
	if ((u64)p->rows * p->depth > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	/* depth * 2^19 must stay below 2^31 */
	if (p->depth > MCAI_OP_MAX_SOFTMAX)
		return "softmax over more than 4095 classes";
	if (p->input_mult < 0 || p->input_left_shift < 0 ||
	    p->input_left_shift > 30 || p->diff_min > 0)
		return "softmax scaling outside its range";
	return NULL;
}

/* (x - max) scaled by beta * in_scale into Q5.26, then e^that in Q0. */
static s32 mcai_sm_exp(const struct mcai_softmax_params *p, s32 diff)
{
	s32 scaled = mcai_requant(diff, p->input_mult, p->input_left_shift);

	return mcai_fp_exp_neg(scaled, MCAI_SM_DIFF_BITS);
}

static void mcai_softmax_row(const struct mcai_softmax_params *p,
			     const s8 *in, s8 *out)
{
	s32 max = -128, recip, scaled_sum;
	s64 sum = 0;
	int headroom, over_one;
	u32 c;

	for (c = 0; c < p->depth; c++)
		if (in[c] > max)
			max = in[c];
	/*
	 * Each exp <= 1, 2^19 in Q12.19: the check keeps the sum of depth of
	 * them below 2^31; s64 and the clamp make that a non-issue anyway.
	 */
	for (c = 0; c < p->depth; c++)
		if (in[c] - max >= p->diff_min)
			sum += mcai_fp_mulpot(mcai_sm_exp(p, in[c] - max),
					      -MCAI_SM_ACC_BITS);
	/* >= 1 even for parameters the check refuses: no shift by 32 */
	scaled_sum = sum > 0 ? mcai_sat32(sum) : 1;
	/*
	 * TFLite's GetReciprocal: 1 / sum as 1 / (1 + x) of the sum's
	 * fraction once its leading 1 is moved to bit 31 (x in [0, 1)), and
	 * the number of bits the sum had above 1.0.  The row's maximum
	 * contributes exp(0), so sum >= 2^19 and over_one is 0..11.
	 */
	headroom = mcai_clz32((u32)scaled_sum);
	over_one = MCAI_SM_ACC_BITS - headroom;
	recip = mcai_fp_recip1p((s32)(((u32)scaled_sum << headroom) -
				      0x80000000U));
	for (c = 0; c < p->depth; c++) {
		s32 v = -128;

		/*
		 * p = recip * exp / 2^over_one, in Q0; as int8 of scale 1/256:
		 * divide by 2^(31 - 8) more, then the zero point -128.  The
		 * shift reaches 34, past an int32's: mcai_fp_mulpot allows it.
		 */
		if (in[c] - max >= p->diff_min) {
			s32 e = mcai_sm_exp(p, in[c] - max);

			v = mcai_fp_mulpot(mcai_srdhm(recip, e),
					   -(over_one + 31 - 8)) - 128;
		}
		out[c] = mcai_op_clamp8(v, -128, 127);
	}
}

void mcai_softmax(const struct mcai_softmax_params *p, const s8 *in, s8 *out)
{
	u32 r;

	for (r = 0; r < p->rows; r++)
		mcai_softmax_row(p, in + (size_t)r * p->depth,
				 out + (size_t)r * p->depth);
}

u64 mcai_softmax_macs(const struct mcai_softmax_params *p)
{
	return mcai_op_mul_sat((u64)p->rows * p->depth, 2);
}
