// SPDX-License-Identifier: GPL-2.0
/*
 * What the operator kernels share: shape arithmetic (in u64, so that no
 * product of dimensions wraps before it is compared with a limit) and the
 * checks of requantisation parameters and weights.
 */
#include "models/engine/ops.h"

u64 mcai_op_elems(const u32 dims[4])
{
	u64 n = 1;
	int d;

	for (d = 0; d < 4; d++)
		n = mcai_op_mul_sat(n, dims[d]);
	return n;
}

u32 mcai_op_out_dim(u32 in, u32 k, u32 stride, u32 dilation, u32 before,
		    u32 after)
{
	u64 eff, span, out;

	if (!in || !k || !stride || !dilation)
		return 0;
	eff = (u64)(k - 1) * dilation + 1;
	span = (u64)in + before + after;
	if (span < eff)
		return 0;
	/* 32-bit division only (32-bit kernels have no 64-bit one) */
	if (span - eff > U32_MAX)
		return 0;
	out = (u64)((u32)(span - eff) / stride) + 1;
	return out > U32_MAX ? 0 : (u32)out;
}

void mcai_op_same_pad(u32 in, u32 k, u32 stride, u32 dilation, u32 *out,
		      u32 *before, u32 *after)
{
	u64 eff = (u64)(k ? k - 1 : 0) * dilation + 1;
	u64 o, total;

	if (!stride)
		stride = 1;
	o = in / stride + (in % stride ? 1 : 0);
	total = o ? (o - 1) * stride + eff : 0;
	total = total > in ? total - in : 0;
	/* what does not fit a u32 makes the check refuse the shape anyway */
	*out = (u32)o;
	*before = total >> 1 > U32_MAX ? U32_MAX : (u32)(total >> 1);
	*after = total - (total >> 1) > U32_MAX ? U32_MAX :
		 (u32)(total - (total >> 1));
}

const char *mcai_op_check_requant(const s32 *mult, const s32 *shift, u32 n)
{
	u32 i;

	if (!mult || !shift)
		return "requantisation parameters missing";
	for (i = 0; i < n; i++) {
		if (mult[i] < 0)
			return "negative requantisation multiplier";
		if (shift[i] < -31 || shift[i] > 30)
			return "requantisation shift outside -31..30";
	}
	return NULL;
}

const char *mcai_op_check_weights(const s8 *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i] == -128)
			return "weight -128: weights are symmetric, -127..127";
	return NULL;
}
