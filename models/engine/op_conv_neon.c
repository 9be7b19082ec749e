// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 NEON kernels (simd.h) for every ARMv8.0 CPU (Advanced SIMD is
 * part of the arm64 base, the Cortex-A53 has it), called only inside a
 * section (kernel_neon_begin() in the kernel).
 *
 * Panels of 8 channels, kr 4: one 16-byte load is 4 channels x 4 taps,
 * multiplied by the activation quad repeated in every 32-bit lane.  The
 * products are formed by SMULL/SMULL2 in int16 and a second quad's
 * products added to them by SMLAL/SMLAL2: |x| <= 128 and |w| <= 127, so
 * a lane is at most 2 * 16256 = 32512, exact in int16 (weights must
 * stay in -127..127, which the verifier enforces); SADALP then sums lane
 * pairs into int32.  Each int32 accumulator holds half a channel; one
 * ADDP at the end gives 4 channels.  Activations are raw s8, the zero
 * point is in corr (off 0), as AVX2's.
 */
#define MCAI_SIMD_INTRINSICS
#include "models/engine/simd.h"
#include "models/engine/port_simd.h"

/* Raw int8 activations are what SMULL multiplies: nothing to do. */
static void mcai_neon_prep(u8 *x, u32 len)
{
	(void)x;
	(void)len;
}

/* Activation quad q in every 32-bit lane. */
static int8x16_t mcai_neon_quad(const u8 *x, u32 q)
{
	s32 v;

	memcpy(&v, x + 4 * q, 4);
	return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

/*
 * Two quads of 4 channels: lo gets channels 0-1, hi channels 2-3, two
 * int32 lanes each.
 */
static void mcai_neon_mac2(int32x4_t *lo, int32x4_t *hi, int8x16_t wa,
			   int8x16_t xa, int8x16_t wb, int8x16_t xb)
{
	int16x8_t pl = vmull_s8(vget_low_s8(wa), vget_low_s8(xa));
	int16x8_t ph = vmull_high_s8(wa, xa);

	pl = vmlal_s8(pl, vget_low_s8(wb), vget_low_s8(xb));
	ph = vmlal_high_s8(ph, wb, xb);
	*lo = vpadalq_s16(*lo, pl);
	*hi = vpadalq_s16(*hi, ph);
}

static void mcai_neon_mac1(int32x4_t *lo, int32x4_t *hi, int8x16_t wa,
			   int8x16_t xa)
{
	*lo = vpadalq_s16(*lo, vmull_s8(vget_low_s8(wa), vget_low_s8(xa)));
	*hi = vpadalq_s16(*hi, vmull_high_s8(wa, xa));
}

/* A full panel: 8 channels, four accumulators, two quads a step. */
static void mcai_neon_panel8(const s8 *w, const u8 *x, u32 quads,
			     const s32 *init, s32 *acc)
{
	int32x4_t l0 = vdupq_n_s32(0), h0 = l0, l1 = l0, h1 = l0;
	u32 q;

	for (q = 0; q + 2 <= quads; q += 2) {
		int8x16_t xa = mcai_neon_quad(x, q), xb = mcai_neon_quad(x, q + 1);
		const s8 *wq = w + (size_t)q * 32;

		mcai_neon_mac2(&l0, &h0, vld1q_s8(wq), xa, vld1q_s8(wq + 32), xb);
		mcai_neon_mac2(&l1, &h1, vld1q_s8(wq + 16), xa,
			       vld1q_s8(wq + 48), xb);
	}
	if (q < quads) {
		int8x16_t xa = mcai_neon_quad(x, q);
		const s8 *wq = w + (size_t)q * 32;

		mcai_neon_mac1(&l0, &h0, vld1q_s8(wq), xa);
		mcai_neon_mac1(&l1, &h1, vld1q_s8(wq + 16), xa);
	}
	vst1q_s32(acc, vaddq_s32(vld1q_s32(init), vpaddq_s32(l0, h0)));
	vst1q_s32(acc + 4, vaddq_s32(vld1q_s32(init + 4), vpaddq_s32(l1, h1)));
}

/*
 * A narrower panel (the last of a group), r < 8 channels, [quads][r][4]:
 * a vector's lanes past r read the next quad's bytes (or the slack past
 * the array), whose sums are never stored.
 */
static void mcai_neon_panel(const s8 *w, u32 r, const u8 *x, u32 quads,
			    const s32 *init, s32 *acc)
{
	const size_t step = (size_t)4 * r;
	int32x4_t l0 = vdupq_n_s32(0), h0 = l0, l1 = l0, h1 = l0;
	s32 t[8];
	u32 q, i;

	for (q = 0; q + 2 <= quads; q += 2) {
		int8x16_t xa = mcai_neon_quad(x, q), xb = mcai_neon_quad(x, q + 1);
		const s8 *wq = w + q * step;

		mcai_neon_mac2(&l0, &h0, vld1q_s8(wq), xa, vld1q_s8(wq + step),
			       xb);
		if (r > 4)
			mcai_neon_mac2(&l1, &h1, vld1q_s8(wq + 16), xa,
				       vld1q_s8(wq + step + 16), xb);
	}
	if (q < quads) {
		int8x16_t xa = mcai_neon_quad(x, q);
		const s8 *wq = w + q * step;

		mcai_neon_mac1(&l0, &h0, vld1q_s8(wq), xa);
		if (r > 4)
			mcai_neon_mac1(&l1, &h1, vld1q_s8(wq + 16), xa);
	}
	vst1q_s32(t, vpaddq_s32(l0, h0));
	vst1q_s32(t + 4, vpaddq_s32(l1, h1));
	/* the exact sum fits s32: the wrapped one is it */
	for (i = 0; i < r; i++)
		acc[i] = (s32)((u32)init[i] + (u32)t[i]);
}

static void mcai_neon_dot(const struct mcai_pack *pk, const u8 *x, u32 k0,
			  u32 len, u32 c0, u32 nch, s32 *acc, bool first)
{
	const u32 kp = pk->kp, quads = (len + 3) / 4;
	u32 j;

	for (j = 0; j < nch; j += 8) {
		u32 r = nch - j < 8 ? nch - j : 8;
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * r;
		const s32 *init = first ? pk->corr + c0 + j : acc + j;

		if (r == 8)
			mcai_neon_panel8(w, x, quads, init, acc + j);
		else
			mcai_neon_panel(w, r, x, quads, init, acc + j);
	}
}

/*
 * simd.h's dot4, pixel by pixel: the rows are read where they are in the
 * image (no gathering); the accumulators of a panel of four pixels would
 * not fit the register file with the products beside them.
 */
static void mcai_neon_dot4(const struct mcai_pack *pk, const u8 *const x[4],
			   u32 k0, u32 len, u32 c0, u32 nch, s32 *acc,
			   bool first)
{
	u32 p;

	for (p = 0; p < 4; p++)
		mcai_neon_dot(pk, x[p], k0, len, c0, nch,
			      acc + p * MCAI_SIMD_OCB, first);
}

/*
 * Depthwise, multiplier 1, channels [c0, c0 + nch): per valid tap, 8
 * channels' x - zp in int16 (|x - zp| <= 255) times w widened to int16,
 * multiplied and accumulated into int32 by SMLAL/SMLAL2 (exact); the
 * last few channels one by one.  The dot-product path uses it too.
 */
void mcai_simd_neon_dw(const struct mcai_conv_params *p, const s8 *img,
		       s64 y0, s64 x0, const s8 *filter, u32 c0, u32 nch,
		       s32 *acc)
{
	const int16x8_t zp = vdupq_n_s16((s16)p->in_zp);
	u32 i = 0, ky, kx;

	for (; i + 8 <= nch; i += 8) {
		int32x4_t lo = vdupq_n_s32(0), hi = lo;

		for (ky = 0; ky < p->k_h; ky++) {
			s64 y = y0 + (s64)ky * p->dil_h;

			if (y < 0 || y >= p->in_h)
				continue;
			for (kx = 0; kx < p->k_w; kx++) {
				s64 x = x0 + (s64)kx * p->dil_w;
				int16x8_t xv, wv;

				if (x < 0 || x >= p->in_w)
					continue;
				xv = vmovl_s8(vld1_s8(img + ((size_t)y * p->in_w +
							     (size_t)x) *
						      p->in_c + c0 + i));
				wv = vmovl_s8(vld1_s8(filter +
						      ((size_t)ky * p->k_w + kx) *
						      p->out_c + c0 + i));
				xv = vsubq_s16(xv, zp);
				lo = vmlal_s16(lo, vget_low_s16(xv),
					       vget_low_s16(wv));
				hi = vmlal_high_s16(hi, xv, wv);
			}
		}
		vst1q_s32(acc + i, lo);
		vst1q_s32(acc + i + 4, hi);
	}
	for (; i < nch; i++)
		acc[i] = mcai_dw_dot(p, img, y0, x0, filter, c0 + i, c0 + i);
}

const struct mcai_simd_isa mcai_simd_neon = {
	.prep = mcai_neon_prep,
	.dot = mcai_neon_dot,
	.dot4 = mcai_neon_dot4,
	.dw = mcai_simd_neon_dw,
	.nr = 8,
	.kr = 4,
	.off = 0,
};
