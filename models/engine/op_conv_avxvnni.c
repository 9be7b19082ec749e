// SPDX-License-Identifier: GPL-2.0
/*
 * AVX-VNNI kernels (simd.h): the VEX-encoded 256-bit vpdpbusd of CPUs
 * without AVX-512 (compiled with -mavx2 -mavxvnni), called only inside
 * an FPU section.  As op_conv_avx512vnni.c, on ymm: activations x + 128
 * (u8), signed weights, corr subtracts (128 + zp) * sum(w).
 *
 * MCAI_SIMD_AVXVNNI_EVEX (the unit tests' and benchmark's second build
 * of this file, with -mavx512vl -mavx512vnni instead of -mavxvnni): the
 * one vpdpbusd below becomes the EVEX-encoded AVX512VL form, which
 * computes the same thing, and the kernels are exported as
 * mcai_simd_avxvnni_evex.  CPUs with AVX-512 VNNI but without AVX-VNNI
 * (Cascade Lake, Ice Lake, Zen 4) then run and test
 * every line of this file but the VEX encoding of that instruction.
 * The kernel and the tools build the VEX form only.
 */
#define MCAI_SIMD_INTRINSICS
#include "models/engine/simd.h"
#include "models/engine/port_simd.h"

#ifdef MCAI_SIMD_AVXVNNI_EVEX
#define mcai_vnni_dpbusd	_mm256_dpbusd_epi32
#define MCAI_SIMD_AVXVNNI_ISA	mcai_simd_avxvnni_evex
#else
#define mcai_vnni_dpbusd	_mm256_dpbusd_avx_epi32
#define MCAI_SIMD_AVXVNNI_ISA	mcai_simd_avxvnni
#endif

static void mcai_vnni_prep(u8 *x, u32 len)
{
	const __m256i bias = _mm256_set1_epi8((char)0x80);
	u32 i = 0;

	for (; i + 32 <= len; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(x + i));

		_mm256_storeu_si256((__m256i *)(x + i),
				    _mm256_xor_si256(v, bias));
	}
	for (; i < len; i++)
		x[i] ^= 0x80;
}

static __m256i mcai_vnni_quad(const u8 *x, u32 q)
{
	s32 v;

	memcpy(&v, x + 4 * q, 4);
	return _mm256_set1_epi32(v);
}

static __m256i mcai_vnni_init(const struct mcai_pack *pk, const s32 *acc,
			      u32 c, u32 r, bool first)
{
	const s32 *src = first ? pk->corr + c : acc;
	s32 t[8] = { 0 };

	if (r == 8)
		return _mm256_loadu_si256((const __m256i *)src);
	memcpy(t, src, 4 * r);
	return _mm256_loadu_si256((const __m256i *)t);
}

static __m256i mcai_vnni_dp(__m256i a, __m256i xb, const s8 *w)
{
	return mcai_vnni_dpbusd(a, xb, _mm256_loadu_si256((const __m256i *)w));
}

/* Panels of 8 channels, [quads][8][4]: 32 channels share a broadcast. */
static void mcai_vnni_dot(const struct mcai_pack *pk, const u8 *x, u32 k0,
			  u32 len, u32 c0, u32 nch, s32 *acc, bool first)
{
	const u32 kp = pk->kp, quads = (len + 3) / 4;
	u32 j = 0, q;

	for (; j + 32 <= nch; j += 32) {
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * 8;
		const size_t ps = (size_t)8 * kp;
		__m256i a0 = mcai_vnni_init(pk, acc + j, c0 + j, 8, first);
		__m256i a1 = mcai_vnni_init(pk, acc + j + 8, c0 + j + 8, 8,
					    first);
		__m256i a2 = mcai_vnni_init(pk, acc + j + 16, c0 + j + 16, 8,
					    first);
		__m256i a3 = mcai_vnni_init(pk, acc + j + 24, c0 + j + 24, 8,
					    first);

		for (q = 0; q < quads; q++) {
			__m256i xb = mcai_vnni_quad(x, q);
			const s8 *wq = w + (size_t)q * 32;

			a0 = mcai_vnni_dp(a0, xb, wq);
			a1 = mcai_vnni_dp(a1, xb, wq + ps);
			a2 = mcai_vnni_dp(a2, xb, wq + 2 * ps);
			a3 = mcai_vnni_dp(a3, xb, wq + 3 * ps);
		}
		_mm256_storeu_si256((__m256i *)(acc + j), a0);
		_mm256_storeu_si256((__m256i *)(acc + j + 8), a1);
		_mm256_storeu_si256((__m256i *)(acc + j + 16), a2);
		_mm256_storeu_si256((__m256i *)(acc + j + 24), a3);
	}
	for (; j < nch; j += 8) {
		u32 r = nch - j < 8 ? nch - j : 8;
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * r;
		__m256i a = mcai_vnni_init(pk, acc + j, c0 + j, r, first);
		s32 t[8];

		/* lanes past r read the next quad's bytes: never stored */
		for (q = 0; q < quads; q++)
			a = mcai_vnni_dp(a, mcai_vnni_quad(x, q),
					 w + (size_t)q * 4 * r);
		_mm256_storeu_si256((__m256i *)t, a);
		memcpy(acc + j, t, 4 * r);
	}
}

const struct mcai_simd_isa MCAI_SIMD_AVXVNNI_ISA = {
	.prep = mcai_vnni_prep,
	.dot = mcai_vnni_dot,
	.dw = mcai_simd_avx2_dw,
	.dw4 = mcai_simd_avx2_dw4,
	.out8 = mcai_simd_avx2_out8,
	.out8n = mcai_simd_avx2_out8n,
	.add = mcai_simd_avx2_add,
	.maxp = mcai_simd_avx2_maxp,
	.nr = 8,
	.kr = 4,
	.off = 128,
};
