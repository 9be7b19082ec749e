// SPDX-License-Identifier: GPL-2.0
/*
 * The SIMD drivers of fully connected, conv2d (conv1d is one) and
 * depthwise: plain C that walks the output like the scalar reference
 * (op_conv.c), gathers each output pixel's window (im2col, the input
 * zero point where the window leaves the image, which contributes
 * nothing once corr subtracts it) into a buffer on the stack, lets the
 * active path's kernels (op_conv_<isa>.c) compute the int32
 * accumulators of up to MCAI_SIMD_OCB channels, and ends with the
 * reference's own output stage (mcai_op_out8()).  simd.h has the rest.
 */
#include "models/engine/simd.h"

/* One im2col chunk and the bytes a kr-wide load may read past it. */
#define MCAI_SIMD_XBUF	(MCAI_SIMD_KC + MCAI_SIMD_SLACK)

static u32 mcai_min32(u32 a, u32 b)
{
	return a < b ? a : b;
}

/*
 * @len activations into @buf, and zeros up to the next kr (the padding
 * taps, whose weights are zero too, then multiply defined bytes).
 */
static void mcai_simd_fill(u8 *buf, const s8 *x, u32 len)
{
	memcpy(buf, x, len);
	memset(buf + len, 0, 4);
}

bool mcai_simd_fc_row(const struct mcai_pack *pk, const s8 *x,
		      const void *ctx, mcai_simd_out_fn fn, s8 *out,
		      u32 *section)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	u8 buf[MCAI_SIMD_XBUF];
	s32 acc[MCAI_SIMD_OCB];
	u32 c0, k0, nch, len;

	if (!isa || !mcai_simd_usable(pk))
		return false;
	if (pk->k <= MCAI_SIMD_KC) {
		mcai_simd_fill(buf, x, pk->k);
		isa->prep(buf, pk->k);
	}
	for (c0 = 0; c0 < pk->n; c0 += MCAI_SIMD_OCB) {
		nch = mcai_min32(MCAI_SIMD_OCB, pk->n - c0);
		for (k0 = 0; k0 < pk->k; k0 += MCAI_SIMD_KC) {
			len = mcai_min32(MCAI_SIMD_KC, pk->k - k0);
			if (pk->k > MCAI_SIMD_KC) {
				mcai_simd_fill(buf, x + k0, len);
				isa->prep(buf, len);
			}
			isa->dot(pk, buf, k0, len, c0, nch, acc, k0 == 0);
			mcai_simd_tick(section, nch * len,
				       k0 + len == pk->k ? nch : 0);
		}
		fn(ctx, c0, nch, acc, out);
	}
	return true;
}

struct mcai_simd_fc_ctx {
	const struct mcai_fc_params *p;
	const s32 *bias;
};

static void mcai_simd_fc_out(const void *ctx, u32 c0, u32 nch,
			     const s32 *acc, s8 *out)
{
	const struct mcai_simd_fc_ctx *fc = ctx;
	const struct mcai_fc_params *p = fc->p;
	const s32 *bias = fc->bias;
	u32 i;

	for (i = 0; i < nch; i++) {
		u32 c = c0 + i;

		out[c] = mcai_op_out8(acc[i], bias ? bias[c] : 0, p->mult[c],
				      p->shift[c], p->out_zp, p->act_min,
				      p->act_max);
	}
}

bool mcai_simd_fc(const struct mcai_fc_params *p, const struct mcai_pack *pk,
		  const s8 *in, const s32 *bias, s8 *out)
{
	struct mcai_simd_fc_ctx ctx = { .p = p, .bias = bias };
	u32 b, section = 0;

	if (!mcai_simd_usable(pk) || pk->n != p->out_len ||
	    pk->k != p->in_len || !mcai_simd_begin())
		return false;
	for (b = 0; b < p->batch; b++)
		mcai_simd_fc_row(pk, in + (size_t)b * p->in_len, &ctx,
				 mcai_simd_fc_out, out + (size_t)b * p->out_len,
				 &section);
	mcai_simd_end();
	return true;
}

/*
 * Window taps [k0, k0 + len) of group @g at (y0, x0) into @buf, in the
 * filter's (ky, kx, ic) order; taps outside the image are the zero point.
 */
static void mcai_simd_patch(const struct mcai_conv_params *p, const s8 *img,
			    s64 y0, s64 x0, u32 g, u32 k0, u32 len, u8 *buf)
{
	const u32 icg = p->in_c / p->groups;
	u32 k = k0, end = k0 + len;

	while (k < end) {
		u32 tap = k / icg, ic = k % icg;
		u32 run = mcai_min32(icg - ic, end - k);
		s64 y = y0 + (s64)(tap / p->k_w) * p->dil_h;
		s64 x = x0 + (s64)(tap % p->k_w) * p->dil_w;

		if (y < 0 || y >= p->in_h || x < 0 || x >= p->in_w)
			memset(buf + (k - k0), (u8)p->in_zp, run);
		else
			memcpy(buf + (k - k0), img + ((size_t)y * p->in_w +
						      (size_t)x) * p->in_c +
			       (size_t)g * icg + ic, run);
		k += run;
	}
	memset(buf + len, 0, 4);
}

static void mcai_simd_conv_out(const struct mcai_conv_params *p,
			       const s32 *bias, u32 c0, u32 nch,
			       const s32 *acc, s8 *out)
{
	u32 i;

	for (i = 0; i < nch; i++) {
		u32 c = c0 + i;

		out[c] = mcai_op_out8(acc[i], bias ? bias[c] : 0, p->mult[c],
				      p->shift[c], p->out_zp, p->act_min,
				      p->act_max);
	}
}

/* Every output channel of one pixel, group by group. */
static void mcai_simd_conv_pixel(const struct mcai_conv_params *p,
				 const struct mcai_simd_isa *isa,
				 const struct mcai_pack *pk, const s8 *img,
				 s64 y0, s64 x0, const s32 *bias, s8 *out,
				 u32 *section)
{
	const u32 ocg = p->out_c / p->groups;
	u8 buf[MCAI_SIMD_XBUF];
	s32 acc[MCAI_SIMD_OCB];
	u32 g, c0, k0, nch, len;

	for (g = 0; g < p->groups; g++) {
		if (pk->k <= MCAI_SIMD_KC) {
			mcai_simd_patch(p, img, y0, x0, g, 0, pk->k, buf);
			isa->prep(buf, pk->k);
		}
		for (c0 = g * ocg; c0 < (g + 1) * ocg; c0 += MCAI_SIMD_OCB) {
			nch = mcai_min32(MCAI_SIMD_OCB, (g + 1) * ocg - c0);
			for (k0 = 0; k0 < pk->k; k0 += MCAI_SIMD_KC) {
				len = mcai_min32(MCAI_SIMD_KC, pk->k - k0);
				if (pk->k > MCAI_SIMD_KC) {
					mcai_simd_patch(p, img, y0, x0, g, k0,
							len, buf);
					isa->prep(buf, len);
				}
				isa->dot(pk, buf, k0, len, c0, nch, acc,
					 k0 == 0);
				mcai_simd_tick(section, nch * len,
					       k0 + len == pk->k ? nch : 0);
			}
			mcai_simd_conv_out(p, bias, c0, nch, acc, out);
		}
	}
}

bool mcai_simd_conv2d(const struct mcai_conv_params *p,
		      const struct mcai_pack *pk, const s8 *in,
		      const s32 *bias, s8 *out)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	const size_t img = (size_t)p->in_h * p->in_w * p->in_c;
	u32 b, oy, ox, section = 0;

	if (!isa || !mcai_simd_usable(pk) || pk->n != p->out_c ||
	    pk->groups != p->groups ||
	    pk->k != p->k_h * p->k_w * (p->in_c / p->groups) ||
	    !mcai_simd_begin())
		return false;
	for (b = 0; b < p->batch; b++) {
		for (oy = 0; oy < p->out_h; oy++) {
			s64 y0 = (s64)oy * p->stride_h - p->pad_top;

			for (ox = 0; ox < p->out_w; ox++) {
				s64 x0 = (s64)ox * p->stride_w - p->pad_left;

				mcai_simd_conv_pixel(p, isa, pk, in + b * img,
						     y0, x0, bias, out,
						     &section);
				out += p->out_c;
			}
		}
	}
	mcai_simd_end();
	return true;
}

bool mcai_simd_depthwise(const struct mcai_conv_params *p, const s8 *in,
			 const s8 *filter, const s32 *bias, s8 *out)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	const size_t img = (size_t)p->in_h * p->in_w * p->in_c;
	const u32 taps = p->k_h * p->k_w;
	s32 acc[MCAI_SIMD_OCB];
	u32 b, oy, ox, c0, nch, section = 0;

	/* a channel multiplier gathers inputs: the reference does that */
	if (!isa || !isa->dw || p->out_c != p->in_c || !mcai_simd_begin())
		return false;
	for (b = 0; b < p->batch; b++) {
		for (oy = 0; oy < p->out_h; oy++) {
			s64 y0 = (s64)oy * p->stride_h - p->pad_top;

			for (ox = 0; ox < p->out_w; ox++) {
				s64 x0 = (s64)ox * p->stride_w - p->pad_left;

				for (c0 = 0; c0 < p->out_c;
				     c0 += MCAI_SIMD_OCB) {
					nch = mcai_min32(MCAI_SIMD_OCB,
							 p->out_c - c0);
					isa->dw(p, in + b * img, y0, x0, filter,
						c0, nch, acc);
					mcai_simd_conv_out(p, bias, c0, nch,
							   acc, out);
					mcai_simd_tick(&section, nch * taps, nch);
				}
				out += p->out_c;
			}
		}
	}
	mcai_simd_end();
	return true;
}
