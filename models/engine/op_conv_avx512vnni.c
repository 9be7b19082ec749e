// SPDX-License-Identifier: GPL-2.0
/*
 * AVX-512 VNNI kernels (simd.h): compiled with -mavx512f -mavx512bw
 * -mavx512vl -mavx512vnni, called only inside an FPU section.  vpdpbusd
 * multiplies unsigned by signed bytes and sums four products into an
 * int32 lane without saturation (vpdpbusds is the saturating one): the
 * activations become x + 128 (u8), the weights stay signed, and the
 * packed copy's corr subtracts (128 + zp) * sum(w).
 */
#define MCAI_SIMD_INTRINSICS
#include "models/engine/simd.h"
#include "models/engine/port_simd.h"

/* x + 128 as u8 is x ^ 0x80. */
static void mcai_zmm_prep(u8 *x, u32 len)
{
	const __m512i bias = _mm512_set1_epi8((char)0x80);
	u32 i = 0;

	for (; i + 64 <= len; i += 64) {
		__m512i v = _mm512_loadu_si512(x + i);

		_mm512_storeu_si512(x + i, _mm512_xor_si512(v, bias));
	}
	if (i < len) {
		__mmask64 m = _bzhi_u64(~0ULL, len - i);
		__m512i v = _mm512_maskz_loadu_epi8(m, x + i);

		_mm512_mask_storeu_epi8(x + i, m, _mm512_xor_si512(v, bias));
	}
}

static __m512i mcai_zmm_quad(const u8 *x, u32 q)
{
	s32 v;

	memcpy(&v, x + 4 * q, 4);
	return _mm512_set1_epi32(v);
}

static __m512i mcai_zmm_init(const struct mcai_pack *pk, const s32 *acc,
			     u32 c, __mmask16 m, bool first)
{
	return _mm512_maskz_loadu_epi32(m, first ? pk->corr + c : acc);
}

/* Panels of 16 channels, [quads][16][4]: 64 channels share a broadcast. */
static void mcai_zmm_dot(const struct mcai_pack *pk, const u8 *x, u32 k0,
			 u32 len, u32 c0, u32 nch, s32 *acc, bool first)
{
	const u32 kp = pk->kp, quads = (len + 3) / 4;
	u32 j = 0, q;

	for (; j + 64 <= nch; j += 64) {
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * 16;
		const size_t ps = (size_t)16 * kp;
		__m512i a0 = mcai_zmm_init(pk, acc + j, c0 + j, 0xffff, first);
		__m512i a1 = mcai_zmm_init(pk, acc + j + 16, c0 + j + 16,
					   0xffff, first);
		__m512i a2 = mcai_zmm_init(pk, acc + j + 32, c0 + j + 32,
					   0xffff, first);
		__m512i a3 = mcai_zmm_init(pk, acc + j + 48, c0 + j + 48,
					   0xffff, first);

		for (q = 0; q < quads; q++) {
			__m512i xb = mcai_zmm_quad(x, q);
			const s8 *wq = w + (size_t)q * 64;

			a0 = _mm512_dpbusd_epi32(a0, xb, _mm512_loadu_si512(wq));
			a1 = _mm512_dpbusd_epi32(a1, xb,
						 _mm512_loadu_si512(wq + ps));
			a2 = _mm512_dpbusd_epi32(a2, xb,
						 _mm512_loadu_si512(wq + 2 * ps));
			a3 = _mm512_dpbusd_epi32(a3, xb,
						 _mm512_loadu_si512(wq + 3 * ps));
		}
		_mm512_storeu_si512(acc + j, a0);
		_mm512_storeu_si512(acc + j + 16, a1);
		_mm512_storeu_si512(acc + j + 32, a2);
		_mm512_storeu_si512(acc + j + 48, a3);
	}
	for (; j < nch; j += 16) {
		u32 r = nch - j < 16 ? nch - j : 16;
		__mmask16 m = (__mmask16)((1U << r) - 1);
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * r;
		__m512i a = mcai_zmm_init(pk, acc + j, c0 + j, m, first);

		/* lanes past r read the next quad's bytes: never stored */
		for (q = 0; q < quads; q++)
			a = _mm512_dpbusd_epi32(a, mcai_zmm_quad(x, q),
						_mm512_loadu_si512(w + (size_t)q * 4 * r));
		_mm512_mask_storeu_epi32(acc + j, m, a);
	}
}

const struct mcai_simd_isa mcai_simd_avx512vnni = {
	.prep = mcai_zmm_prep,
	.dot = mcai_zmm_dot,
	.dw = mcai_simd_avx2_dw,
	.nr = 16,
	.kr = 4,
	.off = 128,
};
