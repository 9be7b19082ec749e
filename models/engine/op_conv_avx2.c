// SPDX-License-Identifier: GPL-2.0
/*
 * AVX2 kernels (simd.h): compiled with -mavx2, called only inside an FPU
 * section.  Products are formed in int16 and summed in int32 by
 * vpmaddwd, which is exact here (|x| <= 128, |w| <= 127: a pair sums to
 * at most 32512 * 2); vpmaddubsw would saturate its int16 pair sums, so
 * it is not used.
 */
#define MCAI_SIMD_INTRINSICS
#include "models/engine/simd.h"
#include "models/engine/port_simd.h"

/* Raw int8 activations are what vpmaddwd multiplies: nothing to do. */
static void mcai_avx2_prep(u8 *x, u32 len)
{
	(void)x;
	(void)len;
}

/* @r (< 8) lanes of @p, the rest zero: no read past @p[r - 1]. */
static __m256i mcai_avx2_load_part(const s32 *p, u32 r)
{
	s32 t[8] = { 0 };

	memcpy(t, p, 4 * r);
	return _mm256_loadu_si256((const __m256i *)t);
}

static void mcai_avx2_store_part(s32 *p, __m256i v, u32 r)
{
	s32 t[8];

	_mm256_storeu_si256((__m256i *)t, v);
	memcpy(p, t, 4 * r);
}

static __m256i mcai_avx2_init(const struct mcai_pack *pk, const s32 *acc,
			      u32 c, u32 r, bool first)
{
	const s32 *src = first ? pk->corr + c : acc;

	if (r == 8)
		return _mm256_loadu_si256((const __m256i *)src);
	return mcai_avx2_load_part(src, r);
}

/* Activation pair q, sign-extended, in every 32-bit lane. */
static __m256i mcai_avx2_pair(const u8 *x, u32 q)
{
	s16 v;

	memcpy(&v, x + 2 * q, 2);
	return _mm256_cvtepi8_epi16(_mm_set1_epi16(v));
}

static __m256i mcai_avx2_madd(__m256i a, __m256i xb, const s8 *w)
{
	__m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w));

	return _mm256_add_epi32(a, _mm256_madd_epi16(xb, wv));
}

/* Panels of 8 channels, [pairs][8][2]: 32 channels share a broadcast. */
static void mcai_avx2_dot(const struct mcai_pack *pk, const u8 *x, u32 k0,
			  u32 len, u32 c0, u32 nch, s32 *acc, bool first)
{
	const u32 kp = pk->kp, pairs = (len + 1) / 2;
	u32 j = 0, q;

	for (; j + 32 <= nch; j += 32) {
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * 8;
		const size_t ps = (size_t)8 * kp;	/* panel to panel */
		__m256i a0 = mcai_avx2_init(pk, acc + j, c0 + j, 8, first);
		__m256i a1 = mcai_avx2_init(pk, acc + j + 8, c0 + j + 8, 8,
					    first);
		__m256i a2 = mcai_avx2_init(pk, acc + j + 16, c0 + j + 16, 8,
					    first);
		__m256i a3 = mcai_avx2_init(pk, acc + j + 24, c0 + j + 24, 8,
					    first);

		for (q = 0; q < pairs; q++) {
			__m256i xb = mcai_avx2_pair(x, q);
			const s8 *wq = w + (size_t)q * 16;

			a0 = mcai_avx2_madd(a0, xb, wq);
			a1 = mcai_avx2_madd(a1, xb, wq + ps);
			a2 = mcai_avx2_madd(a2, xb, wq + 2 * ps);
			a3 = mcai_avx2_madd(a3, xb, wq + 3 * ps);
		}
		_mm256_storeu_si256((__m256i *)(acc + j), a0);
		_mm256_storeu_si256((__m256i *)(acc + j + 8), a1);
		_mm256_storeu_si256((__m256i *)(acc + j + 16), a2);
		_mm256_storeu_si256((__m256i *)(acc + j + 24), a3);
	}
	for (; j < nch; j += 8) {
		u32 r = nch - j < 8 ? nch - j : 8;
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * r;
		__m256i a = mcai_avx2_init(pk, acc + j, c0 + j, r, first);

		for (q = 0; q < pairs; q++)
			a = mcai_avx2_madd(a, mcai_avx2_pair(x, q),
					   w + (size_t)q * 2 * r);
		if (r == 8)
			_mm256_storeu_si256((__m256i *)(acc + j), a);
		else
			mcai_avx2_store_part(acc + j, a, r);
	}
}

/* 16 channels of one tap: (x - zp) * w in int16, widened into lo, hi. */
static void mcai_avx2_dw16(__m256i *lo, __m256i *hi, const s8 *px,
			   const s8 *pf, __m256i zp16)
{
	__m256i xv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)px));
	__m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)pf));
	__m256i pr = _mm256_mullo_epi16(_mm256_sub_epi16(xv, zp16), wv);

	*lo = _mm256_add_epi32(*lo,
			       _mm256_cvtepi16_epi32(_mm256_castsi256_si128(pr)));
	*hi = _mm256_add_epi32(*hi,
			       _mm256_cvtepi16_epi32(_mm256_extracti128_si256(pr, 1)));
}

/* 8 channels of one tap, in int32. */
static __m256i mcai_avx2_dw8(__m256i lo, const s8 *px, const s8 *pf,
			     __m256i zp32)
{
	s64 xb, wb;
	__m256i xv, wv;

	memcpy(&xb, px, 8);
	memcpy(&wb, pf, 8);
	xv = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(xb));
	wv = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(wb));
	return _mm256_add_epi32(lo, _mm256_mullo_epi32(_mm256_sub_epi32(xv, zp32),
						       wv));
}

/* One channel, as the reference computes it. */
static s32 mcai_avx2_dw1(const struct mcai_conv_params *p, const s8 *img,
			 s64 y0, s64 x0, const s8 *filter, u32 c)
{
	s32 a = 0;
	u32 ky, kx;

	for (ky = 0; ky < p->k_h; ky++) {
		s64 y = y0 + (s64)ky * p->dil_h;

		if (y < 0 || y >= p->in_h)
			continue;
		for (kx = 0; kx < p->k_w; kx++) {
			s64 x = x0 + (s64)kx * p->dil_w;
			size_t at;

			if (x < 0 || x >= p->in_w)
				continue;
			at = ((size_t)y * p->in_w + (size_t)x) * p->in_c;
			a += (img[at + c] - p->in_zp) *
			     filter[((size_t)ky * p->k_w + kx) * p->out_c + c];
		}
	}
	return a;
}

/*
 * Depthwise, multiplier 1, channels [c0, c0 + nch): per valid tap, 16
 * channels' (x - zp) * w in int16 (|x - zp| <= 255, |w| <= 127: at most
 * 32385, exact), widened and summed in int32; then 8 in int32; the last
 * few one by one.
 */
void mcai_simd_avx2_dw(const struct mcai_conv_params *p, const s8 *img,
		       s64 y0, s64 x0, const s8 *filter, u32 c0, u32 nch,
		       s32 *acc)
{
	const __m256i zp16 = _mm256_set1_epi16((s16)p->in_zp);
	const __m256i zp32 = _mm256_set1_epi32(p->in_zp);
	u32 i = 0, ky, kx;

	while (i + 8 <= nch) {
		u32 n = nch - i >= 16 ? 16 : 8;
		__m256i lo = _mm256_setzero_si256(), hi = lo;

		for (ky = 0; ky < p->k_h; ky++) {
			s64 y = y0 + (s64)ky * p->dil_h;

			if (y < 0 || y >= p->in_h)
				continue;
			for (kx = 0; kx < p->k_w; kx++) {
				s64 x = x0 + (s64)kx * p->dil_w;
				const s8 *px, *pf;

				if (x < 0 || x >= p->in_w)
					continue;
				px = img + ((size_t)y * p->in_w + (size_t)x) *
				     p->in_c + c0 + i;
				pf = filter + ((size_t)ky * p->k_w + kx) *
				     p->out_c + c0 + i;
				if (n == 16)
					mcai_avx2_dw16(&lo, &hi, px, pf, zp16);
				else
					lo = mcai_avx2_dw8(lo, px, pf, zp32);
			}
		}
		_mm256_storeu_si256((__m256i *)(acc + i), lo);
		if (n == 16)
			_mm256_storeu_si256((__m256i *)(acc + i + 8), hi);
		i += n;
	}
	for (; i < nch; i++)
		acc[i] = mcai_avx2_dw1(p, img, y0, x0, filter, c0 + i);
}

const struct mcai_simd_isa mcai_simd_avx2 = {
	.prep = mcai_avx2_prep,
	.dot = mcai_avx2_dot,
	.dw = mcai_simd_avx2_dw,
	.nr = 8,
	.kr = 2,
	.off = 0,
};
