// SPDX-License-Identifier: GPL-2.0
/*
 * Mean over any set of axes of a rank-4 tensor (TFLite's MEAN, and the
 * global average pooling of models whose converter emits MEAN over H, W).
 * The division by the element count is folded into the multiplier: one
 * rounding, no division at run time.  TFLite's integer Mean rounds twice
 * (requantise, then divide by the count); its float-scaled
 * QuantizedMeanOrSum once, in float: this is that rounding in integers.
 */
#include "models/engine/ops.h"

static u32 mcai_mean_count(const struct mcai_mean_params *p)
{
	u64 n = 1;
	int d;

	for (d = 0; d < 4; d++)
		if (p->axes & (1U << d))
			n = mcai_op_mul_sat(n, p->in[d]);
	return n > U32_MAX ? U32_MAX : (u32)n;
}

const char *mcai_mean_check(const struct mcai_mean_params *p)
{
	if (!mcai_op_elems(p->in))
		return "empty tensor";
	if (mcai_op_elems(p->in) > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	if (p->axes > 0xf)
		return "mean axes outside 0..3";
	/* |sum| <= 255 * 2^23 < 2^31 */
	if (mcai_mean_count(p) > MCAI_OP_MAX_MEAN)
		return "mean over too many elements";
	if (p->in_zp < -128 || p->in_zp > 127 ||
	    p->out_zp < -128 || p->out_zp > 127)
		return "zero point outside int8";
	return mcai_op_check_requant(&p->mult, &p->shift, 1);
}

/* Advance a rank-4 index over @dims, innermost fastest. */
static void mcai_next(u32 idx[4], const u32 dims[4])
{
	int d;

	for (d = 3; d >= 0; d--) {
		if (++idx[d] < dims[d])
			return;
		idx[d] = 0;
	}
}

void mcai_mean(const struct mcai_mean_params *p, const s8 *in, s8 *out)
{
	u32 od[4], rd[4], o[4] = { 0 }, r[4];
	size_t st[4], s = 1, n_out = 1, n_red = 1, i, k;
	int d;

	for (d = 3; d >= 0; d--) {
		int red = !!(p->axes & (1U << d));

		od[d] = red ? 1 : p->in[d];
		rd[d] = red ? p->in[d] : 1;
		st[d] = s;
		s *= p->in[d];
		n_out *= od[d];
		n_red *= rd[d];
	}
	for (i = 0; i < n_out; i++, mcai_next(o, od)) {
		size_t base = o[0] * st[0] + o[1] * st[1] + o[2] * st[2] +
			      o[3] * st[3];
		s32 acc = 0, v;

		memset(r, 0, sizeof(r));
		for (k = 0; k < n_red; k++, mcai_next(r, rd))
			acc += in[base + r[0] * st[0] + r[1] * st[1] +
				  r[2] * st[2] + r[3] * st[3]] - p->in_zp;
		v = mcai_requant(acc, p->mult, p->shift);
		out[i] = mcai_op_clamp8((s64)v + p->out_zp, -128, 127);
	}
}

u64 mcai_mean_macs(const struct mcai_mean_params *p)
{
	return mcai_op_elems(p->in);
}
