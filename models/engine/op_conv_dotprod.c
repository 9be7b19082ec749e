// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 dot-product kernels (simd.h): SDOT of ARMv8.2's dotprod
 * extension (optional from v8.2, mandatory from v8.4; "asimddp" in
 * /proc/cpuinfo), the only object compiled with
 * -march=armv8.2-a+dotprod, called only inside a section and only when
 * the CPU has the extension (mcai_cpu_dotprod()).
 *
 * SDOT multiplies signed bytes by signed bytes and adds each group of
 * four products to an int32 lane, exactly: raw s8 activations, no
 * offset (unlike x86's unsigned x signed VNNI), the zero point in corr.
 * Panels of 16 channels, kr 4: one 16-byte load is 4 channels x 4 taps,
 * against the activation quad repeated in every lane (LD1R).
 * Depthwise is NEON's (op_conv_neon.c): a tap there is one product.
 */
#define MCAI_SIMD_INTRINSICS
#include "models/engine/simd.h"
#include "models/engine/port_simd.h"

static void mcai_dotprod_prep(u8 *x, u32 len)
{
	(void)x;
	(void)len;
}

/* Activation quad q in every 32-bit lane. */
static int8x16_t mcai_dotprod_quad(const u8 *x, u32 q)
{
	s32 v;

	memcpy(&v, x + 4 * q, 4);
	return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

/* A full panel: 16 channels, four accumulators. */
static void mcai_dotprod_panel16(const s8 *w, const u8 *x, u32 quads,
				 const s32 *init, s32 *acc)
{
	int32x4_t a0 = vld1q_s32(init), a1 = vld1q_s32(init + 4);
	int32x4_t a2 = vld1q_s32(init + 8), a3 = vld1q_s32(init + 12);
	u32 q;

	for (q = 0; q < quads; q++) {
		int8x16_t xb = mcai_dotprod_quad(x, q);
		const s8 *wq = w + (size_t)q * 64;

		a0 = vdotq_s32(a0, vld1q_s8(wq), xb);
		a1 = vdotq_s32(a1, vld1q_s8(wq + 16), xb);
		a2 = vdotq_s32(a2, vld1q_s8(wq + 32), xb);
		a3 = vdotq_s32(a3, vld1q_s8(wq + 48), xb);
	}
	vst1q_s32(acc, a0);
	vst1q_s32(acc + 4, a1);
	vst1q_s32(acc + 8, a2);
	vst1q_s32(acc + 12, a3);
}

/*
 * A narrower panel, r < 16 channels, [quads][r][4]: a vector's lanes
 * past r read the next quad's bytes (or the slack past the array),
 * whose sums are never stored.
 */
static void mcai_dotprod_panel(const s8 *w, u32 r, const u8 *x, u32 quads,
			       const s32 *init, s32 *acc)
{
	const size_t step = (size_t)4 * r;
	const u32 nv = (r + 3) / 4;
	int32x4_t a0, a1, a2, a3;
	s32 t[16] = { 0 };
	u32 q;

	memcpy(t, init, 4 * r);
	a0 = vld1q_s32(t);
	a1 = vld1q_s32(t + 4);
	a2 = vld1q_s32(t + 8);
	a3 = vld1q_s32(t + 12);
	for (q = 0; q < quads; q++) {
		int8x16_t xb = mcai_dotprod_quad(x, q);
		const s8 *wq = w + q * step;

		a0 = vdotq_s32(a0, vld1q_s8(wq), xb);
		if (nv > 1)
			a1 = vdotq_s32(a1, vld1q_s8(wq + 16), xb);
		if (nv > 2)
			a2 = vdotq_s32(a2, vld1q_s8(wq + 32), xb);
		if (nv > 3)
			a3 = vdotq_s32(a3, vld1q_s8(wq + 48), xb);
	}
	vst1q_s32(t, a0);
	vst1q_s32(t + 4, a1);
	vst1q_s32(t + 8, a2);
	vst1q_s32(t + 12, a3);
	memcpy(acc, t, 4 * r);
}

static void mcai_dotprod_dot(const struct mcai_pack *pk, const u8 *x, u32 k0,
			     u32 len, u32 c0, u32 nch, s32 *acc, bool first)
{
	const u32 kp = pk->kp, quads = (len + 3) / 4;
	u32 j;

	for (j = 0; j < nch; j += 16) {
		u32 r = nch - j < 16 ? nch - j : 16;
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * r;
		const s32 *init = first ? pk->corr + c0 + j : acc + j;

		if (r == 16)
			mcai_dotprod_panel16(w, x, quads, init, acc + j);
		else
			mcai_dotprod_panel(w, r, x, quads, init, acc + j);
	}
}

/*
 * Four pixels of one full panel: each weight vector, loaded once, feeds
 * the four pixels' accumulators (16 of them).
 */
static void mcai_dotprod_panel16x4(const s8 *w, const u8 *const x[4],
				   u32 quads, const s32 *const init[4],
				   s32 *const out[4])
{
	int32x4_t a00 = vld1q_s32(init[0]), a01 = vld1q_s32(init[0] + 4);
	int32x4_t a02 = vld1q_s32(init[0] + 8), a03 = vld1q_s32(init[0] + 12);
	int32x4_t a10 = vld1q_s32(init[1]), a11 = vld1q_s32(init[1] + 4);
	int32x4_t a12 = vld1q_s32(init[1] + 8), a13 = vld1q_s32(init[1] + 12);
	int32x4_t a20 = vld1q_s32(init[2]), a21 = vld1q_s32(init[2] + 4);
	int32x4_t a22 = vld1q_s32(init[2] + 8), a23 = vld1q_s32(init[2] + 12);
	int32x4_t a30 = vld1q_s32(init[3]), a31 = vld1q_s32(init[3] + 4);
	int32x4_t a32 = vld1q_s32(init[3] + 8), a33 = vld1q_s32(init[3] + 12);
	u32 q;

	for (q = 0; q < quads; q++) {
		const s8 *wq = w + (size_t)q * 64;
		int8x16_t w0 = vld1q_s8(wq), w1 = vld1q_s8(wq + 16);
		int8x16_t w2 = vld1q_s8(wq + 32), w3 = vld1q_s8(wq + 48);
		int8x16_t xb;

		xb = mcai_dotprod_quad(x[0], q);
		a00 = vdotq_s32(a00, w0, xb);
		a01 = vdotq_s32(a01, w1, xb);
		a02 = vdotq_s32(a02, w2, xb);
		a03 = vdotq_s32(a03, w3, xb);
		xb = mcai_dotprod_quad(x[1], q);
		a10 = vdotq_s32(a10, w0, xb);
		a11 = vdotq_s32(a11, w1, xb);
		a12 = vdotq_s32(a12, w2, xb);
		a13 = vdotq_s32(a13, w3, xb);
		xb = mcai_dotprod_quad(x[2], q);
		a20 = vdotq_s32(a20, w0, xb);
		a21 = vdotq_s32(a21, w1, xb);
		a22 = vdotq_s32(a22, w2, xb);
		a23 = vdotq_s32(a23, w3, xb);
		xb = mcai_dotprod_quad(x[3], q);
		a30 = vdotq_s32(a30, w0, xb);
		a31 = vdotq_s32(a31, w1, xb);
		a32 = vdotq_s32(a32, w2, xb);
		a33 = vdotq_s32(a33, w3, xb);
	}
	vst1q_s32(out[0], a00);
	vst1q_s32(out[0] + 4, a01);
	vst1q_s32(out[0] + 8, a02);
	vst1q_s32(out[0] + 12, a03);
	vst1q_s32(out[1], a10);
	vst1q_s32(out[1] + 4, a11);
	vst1q_s32(out[1] + 8, a12);
	vst1q_s32(out[1] + 12, a13);
	vst1q_s32(out[2], a20);
	vst1q_s32(out[2] + 4, a21);
	vst1q_s32(out[2] + 8, a22);
	vst1q_s32(out[2] + 12, a23);
	vst1q_s32(out[3], a30);
	vst1q_s32(out[3] + 4, a31);
	vst1q_s32(out[3] + 8, a32);
	vst1q_s32(out[3] + 12, a33);
}

/*
 * simd.h's dot4: four pixels' raw activations (prep is nothing here),
 * pixel p's accumulators at acc + p * MCAI_SIMD_OCB; a narrower panel
 * goes pixel by pixel.
 */
static void mcai_dotprod_dot4(const struct mcai_pack *pk, const u8 *const x[4],
			      u32 k0, u32 len, u32 c0, u32 nch, s32 *acc,
			      bool first)
{
	const u32 kp = pk->kp, quads = (len + 3) / 4;
	u32 j, p;

	for (j = 0; j < nch; j += 16) {
		u32 r = nch - j < 16 ? nch - j : 16;
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * r;
		const s32 *init[4];
		s32 *out[4];

		for (p = 0; p < 4; p++) {
			out[p] = acc + p * MCAI_SIMD_OCB + j;
			init[p] = first ? pk->corr + c0 + j : out[p];
		}
		if (r == 16) {
			mcai_dotprod_panel16x4(w, x, quads, init, out);
			continue;
		}
		for (p = 0; p < 4; p++)
			mcai_dotprod_panel(w, r, x[p], quads, init[p], out[p]);
	}
}

const struct mcai_simd_isa mcai_simd_dotprod = {
	.prep = mcai_dotprod_prep,
	.dot = mcai_dotprod_dot,
	.dot4 = mcai_dotprod_dot4,
	.dw = mcai_simd_neon_dw,
	.nr = 16,
	.kr = 4,
	.off = 0,
};
