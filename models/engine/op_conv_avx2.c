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
static __always_inline __m256i mcai_avx2_load_part(const s32 *p, u32 r)
{
	s32 t[8] = { 0 };

	memcpy(t, p, 4 * r);
	return _mm256_loadu_si256((const __m256i *)t);
}

static __always_inline void mcai_avx2_store_part(s32 *p, __m256i v, u32 r)
{
	s32 t[8];

	_mm256_storeu_si256((__m256i *)t, v);
	memcpy(p, t, 4 * r);
}

static __always_inline __m256i
mcai_avx2_init(const struct mcai_pack *pk, const s32 *acc,
	       u32 c, u32 r, bool first)
{
	const s32 *src = first ? pk->corr + c : acc;

	if (r == 8)
		return _mm256_loadu_si256((const __m256i *)src);
	return mcai_avx2_load_part(src, r);
}

/* Activation pair q, sign-extended, in every 32-bit lane. */
static __always_inline __m256i mcai_avx2_pair(const u8 *x, u32 q)
{
	s16 v;

	memcpy(&v, x + 2 * q, 2);
	return _mm256_cvtepi8_epi16(_mm_set1_epi16(v));
}

static __always_inline __m256i
mcai_avx2_madd(__m256i a, __m256i xb, const s8 *w)
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
		__m256i b = _mm256_setzero_si256(), c = b, d = b;

		/* one panel alone: four chains, as in op_conv_avx512vnni.c */
		for (q = 0; q + 4 <= pairs; q += 4) {
			const s8 *wq = w + (size_t)q * 2 * r;

			a = mcai_avx2_madd(a, mcai_avx2_pair(x, q), wq);
			b = mcai_avx2_madd(b, mcai_avx2_pair(x, q + 1), wq + 2 * r);
			c = mcai_avx2_madd(c, mcai_avx2_pair(x, q + 2), wq + 4 * r);
			d = mcai_avx2_madd(d, mcai_avx2_pair(x, q + 3), wq + 6 * r);
		}
		for (; q < pairs; q++)
			a = mcai_avx2_madd(a, mcai_avx2_pair(x, q),
					   w + (size_t)q * 2 * r);
		a = _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d));
		if (r == 8)
			_mm256_storeu_si256((__m256i *)(acc + j), a);
		else
			mcai_avx2_store_part(acc + j, a, r);
	}
}

/* @n (even) activations sign-extended to int16: pairs become s32 loads. */
static __always_inline void mcai_avx2_widen(s16 *d, const u8 *x, u32 n)
{
	u32 t = 0;

	for (; t + 16 <= n; t += 16) {
		__m128i b = _mm_loadu_si128((const __m128i *)(x + t));

		_mm256_storeu_si256((__m256i *)(d + t), _mm256_cvtepi8_epi16(b));
	}
	for (; t < n; t++)
		d[t] = (s8)x[t];
}

/* Widened pair q in every 32-bit lane: a broadcast load, no shuffle. */
static __always_inline __m256i mcai_avx2_wpair(const s16 *d, u32 q)
{
	s32 v;

	memcpy(&v, d + 2 * q, 4);
	return _mm256_set1_epi32(v);
}

static __always_inline __m256i
mcai_avx2_wmadd(__m256i a, __m256i xb, __m256i wv)
{
	return _mm256_add_epi32(a, _mm256_madd_epi16(xb, wv));
}

static __always_inline __m256i mcai_avx2_wload(const s8 *w)
{
	return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w));
}

/*
 * Four pixels (simd.h's dot4).  The activations are widened once into
 * int16 pairs, so each is a plain broadcast load; two panels' weights,
 * widened once a pair, feed eight independent accumulators.
 */
static void mcai_avx2_dot4(const struct mcai_pack *pk, const u8 *const x[4],
			   u32 k0, u32 len, u32 c0, u32 nch, s32 *acc,
			   bool first)
{
	const u32 kp = pk->kp, pairs = (len + 1) / 2;
	const size_t ps = (size_t)8 * kp;	/* panel to panel */
	s16 xs[4][MCAI_SIMD_KC4];
	s32 *a1 = acc + MCAI_SIMD_OCB, *a2 = a1 + MCAI_SIMD_OCB;
	s32 *a3 = a2 + MCAI_SIMD_OCB;
	u32 j = 0, q, p;

	for (p = 0; p < 4; p++)
		mcai_avx2_widen(xs[p], x[p], 2 * pairs);
	for (; j + 16 <= nch; j += 16) {
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * 8;
		__m256i u0 = mcai_avx2_init(pk, acc + j, c0 + j, 8, first);
		__m256i u1 = mcai_avx2_init(pk, a1 + j, c0 + j, 8, first);
		__m256i u2 = mcai_avx2_init(pk, a2 + j, c0 + j, 8, first);
		__m256i u3 = mcai_avx2_init(pk, a3 + j, c0 + j, 8, first);
		__m256i v0 = mcai_avx2_init(pk, acc + j + 8, c0 + j + 8, 8,
					    first);
		__m256i v1 = mcai_avx2_init(pk, a1 + j + 8, c0 + j + 8, 8,
					    first);
		__m256i v2 = mcai_avx2_init(pk, a2 + j + 8, c0 + j + 8, 8,
					    first);
		__m256i v3 = mcai_avx2_init(pk, a3 + j + 8, c0 + j + 8, 8,
					    first);

		for (q = 0; q < pairs; q++) {
			__m256i w0 = mcai_avx2_wload(w + (size_t)q * 16);
			__m256i w1 = mcai_avx2_wload(w + ps + (size_t)q * 16);
			__m256i b;

			b = mcai_avx2_wpair(xs[0], q);
			u0 = mcai_avx2_wmadd(u0, b, w0);
			v0 = mcai_avx2_wmadd(v0, b, w1);
			b = mcai_avx2_wpair(xs[1], q);
			u1 = mcai_avx2_wmadd(u1, b, w0);
			v1 = mcai_avx2_wmadd(v1, b, w1);
			b = mcai_avx2_wpair(xs[2], q);
			u2 = mcai_avx2_wmadd(u2, b, w0);
			v2 = mcai_avx2_wmadd(v2, b, w1);
			b = mcai_avx2_wpair(xs[3], q);
			u3 = mcai_avx2_wmadd(u3, b, w0);
			v3 = mcai_avx2_wmadd(v3, b, w1);
		}
		_mm256_storeu_si256((__m256i *)(acc + j), u0);
		_mm256_storeu_si256((__m256i *)(a1 + j), u1);
		_mm256_storeu_si256((__m256i *)(a2 + j), u2);
		_mm256_storeu_si256((__m256i *)(a3 + j), u3);
		_mm256_storeu_si256((__m256i *)(acc + j + 8), v0);
		_mm256_storeu_si256((__m256i *)(a1 + j + 8), v1);
		_mm256_storeu_si256((__m256i *)(a2 + j + 8), v2);
		_mm256_storeu_si256((__m256i *)(a3 + j + 8), v3);
	}
	for (; j < nch; j += 8) {
		u32 r = nch - j < 8 ? nch - j : 8;
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * r;
		__m256i u0 = mcai_avx2_init(pk, acc + j, c0 + j, r, first);
		__m256i u1 = mcai_avx2_init(pk, a1 + j, c0 + j, r, first);
		__m256i u2 = mcai_avx2_init(pk, a2 + j, c0 + j, r, first);
		__m256i u3 = mcai_avx2_init(pk, a3 + j, c0 + j, r, first);

		for (q = 0; q < pairs; q++) {
			__m256i w0 = mcai_avx2_wload(w + (size_t)q * 2 * r);

			u0 = mcai_avx2_wmadd(u0, mcai_avx2_wpair(xs[0], q), w0);
			u1 = mcai_avx2_wmadd(u1, mcai_avx2_wpair(xs[1], q), w0);
			u2 = mcai_avx2_wmadd(u2, mcai_avx2_wpair(xs[2], q), w0);
			u3 = mcai_avx2_wmadd(u3, mcai_avx2_wpair(xs[3], q), w0);
		}
		if (r == 8) {
			_mm256_storeu_si256((__m256i *)(acc + j), u0);
			_mm256_storeu_si256((__m256i *)(a1 + j), u1);
			_mm256_storeu_si256((__m256i *)(a2 + j), u2);
			_mm256_storeu_si256((__m256i *)(a3 + j), u3);
		} else {
			mcai_avx2_store_part(acc + j, u0, r);
			mcai_avx2_store_part(a1 + j, u1, r);
			mcai_avx2_store_part(a2 + j, u2, r);
			mcai_avx2_store_part(a3 + j, u3, r);
		}
	}
}

/* 16 channels of one tap: (x - zp) * w in int16, widened into lo, hi. */
static __always_inline void
mcai_avx2_dw16(__m256i *lo, __m256i *hi, const s8 *px,
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
static __always_inline __m256i
mcai_avx2_dw8(__m256i lo, const s8 *px, const s8 *pf,
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

/*
 * Depthwise, multiplier 1, channels [c0, c0 + nch): per valid tap, 16
 * channels' (x - zp) * w in int16 (|x - zp| <= 255, |w| <= 127: at most
 * 32385, exact), widened and summed in int32; then 8 in int32; the last
 * few one by one.
 */
static void mcai_avx2_dw_any(const struct mcai_conv_params *p, const s8 *img,
			     s64 y0, s64 x0, const s8 *filter, u32 c0,
			     u32 nch, s32 *acc)
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
		acc[i] = mcai_dw_dot(p, img, y0, x0, filter, c0 + i, c0 + i);
}

/* Windows of up to this many taps take the tap list below. */
#define MCAI_AVX2_DW_TAPS	32U

/*
 * The same sums, with the window's valid taps listed once a call (their
 * image and filter offsets) instead of bounds-checked and addressed
 * again for each 16 channels; larger windows take the loop above.
 */
void mcai_simd_avx2_dw(const struct mcai_conv_params *p, const s8 *img,
		       s64 y0, s64 x0, const s8 *filter, u32 c0, u32 nch,
		       s32 *acc)
{
	const __m256i zp16 = _mm256_set1_epi16((s16)p->in_zp);
	const __m256i zp32 = _mm256_set1_epi32(p->in_zp);
	/* offsets inside a tensor: below MCAI_OP_MAX_ELEMS, so u32 */
	u32 xo[MCAI_AVX2_DW_TAPS], fo[MCAI_AVX2_DW_TAPS];
	u32 i = 0, ky, kx, t, nt = 0;

	if (p->k_h * p->k_w > MCAI_AVX2_DW_TAPS) {
		mcai_avx2_dw_any(p, img, y0, x0, filter, c0, nch, acc);
		return;
	}
	for (ky = 0; ky < p->k_h; ky++) {
		s64 y = y0 + (s64)ky * p->dil_h;

		if (y < 0 || y >= p->in_h)
			continue;
		for (kx = 0; kx < p->k_w; kx++) {
			s64 x = x0 + (s64)kx * p->dil_w;

			if (x < 0 || x >= p->in_w)
				continue;
			xo[nt] = (u32)(((size_t)y * p->in_w + (size_t)x) *
				       p->in_c + c0);
			fo[nt] = (u32)(((size_t)ky * p->k_w + kx) * p->out_c +
				       c0);
			nt++;
		}
	}
	for (; i + 16 <= nch; i += 16) {
		__m256i lo = _mm256_setzero_si256(), hi = lo;

		for (t = 0; t < nt; t++)
			mcai_avx2_dw16(&lo, &hi, img + xo[t] + i,
				       filter + fo[t] + i, zp16);
		_mm256_storeu_si256((__m256i *)(acc + i), lo);
		_mm256_storeu_si256((__m256i *)(acc + i + 8), hi);
	}
	if (i + 8 <= nch) {
		__m256i lo = _mm256_setzero_si256();

		for (t = 0; t < nt; t++)
			lo = mcai_avx2_dw8(lo, img + xo[t] + i,
					   filter + fo[t] + i, zp32);
		_mm256_storeu_si256((__m256i *)(acc + i), lo);
		i += 8;
	}
	for (; i < nch; i++)
		acc[i] = mcai_dw_dot(p, img, y0, x0, filter, c0 + i, c0 + i);
}

/* mcai_avx2_dw16() with the tap's 16 filter values already widened */
static __always_inline void
mcai_avx2_dw16w(__m256i *lo, __m256i *hi, const s8 *px,
		__m256i wv, __m256i zp16)
{
	__m256i xv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)px));
	__m256i pr = _mm256_mullo_epi16(_mm256_sub_epi16(xv, zp16), wv);

	*lo = _mm256_add_epi32(*lo,
			       _mm256_cvtepi16_epi32(_mm256_castsi256_si128(pr)));
	*hi = _mm256_add_epi32(*hi,
			       _mm256_cvtepi16_epi32(_mm256_extracti128_si256(pr, 1)));
}

/* mcai_avx2_dw8() with the tap's 8 filter values already widened */
static __always_inline __m256i
mcai_avx2_dw8w(__m256i lo, const s8 *px, __m256i wv,
	       __m256i zp32)
{
	s64 xb;
	__m256i xv;

	memcpy(&xb, px, 8);
	xv = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(xb));
	return _mm256_add_epi32(lo,
				_mm256_mullo_epi32(_mm256_sub_epi32(xv, zp32),
						   wv));
}

/* Eight channels' sums of pixels 0..np-1 at acc + pixel * MCAI_SIMD_OCB. */
static __always_inline void
mcai_avx2_dw_store(s32 *acc, u32 np, __m256i a0, __m256i a1,
		   __m256i a2, __m256i a3)
{
	_mm256_storeu_si256((__m256i *)acc, a0);
	if (np > 1)
		_mm256_storeu_si256((__m256i *)(acc + MCAI_SIMD_OCB), a1);
	if (np > 2)
		_mm256_storeu_si256((__m256i *)(acc + 2 * MCAI_SIMD_OCB), a2);
	if (np > 3)
		_mm256_storeu_si256((__m256i *)(acc + 3 * MCAI_SIMD_OCB), a3);
}

/*
 * Four pixels of one row whose windows all lie in the image (simd.h's
 * dw4): one list of taps (the first pixel's offsets; the others' are
 * the same plus their column's), and each tap's 16 (then 8) filter
 * values loaded and widened once for the four pixels.  A block of
 * fewer pixels repeats its last one; only np are stored.  The sums are
 * mcai_simd_avx2_dw()'s.
 */
void mcai_simd_avx2_dw4(const struct mcai_conv_params *p, const s8 *img,
			s64 y0, const s64 *x0, u32 np, const s8 *filter,
			u32 c0, u32 nch, s32 *acc)
{
	const __m256i zp16 = _mm256_set1_epi16((s16)p->in_zp);
	const __m256i zp32 = _mm256_set1_epi32(p->in_zp);
	u32 xo[MCAI_AVX2_DW_TAPS], fo[MCAI_AVX2_DW_TAPS];
	size_t po[4];
	u32 i = 0, ky, kx, t, nt = 0, q;

	if (p->k_h * p->k_w > MCAI_AVX2_DW_TAPS) {
		for (q = 0; q < np; q++)
			mcai_simd_avx2_dw(p, img, y0, x0[q], filter, c0, nch,
					  acc + q * MCAI_SIMD_OCB);
		return;
	}
	for (q = 0; q < 4; q++)
		po[q] = (size_t)(x0[q < np ? q : np - 1] - x0[0]) * p->in_c;
	for (ky = 0; ky < p->k_h; ky++)
		for (kx = 0; kx < p->k_w; kx++, nt++) {
			xo[nt] = (u32)(((size_t)(y0 + (s64)ky * p->dil_h) *
					p->in_w + (size_t)(x0[0] +
							   (s64)kx * p->dil_w)) *
				       p->in_c + c0);
			fo[nt] = (u32)(((size_t)ky * p->k_w + kx) * p->out_c +
				       c0);
		}
	for (; i + 16 <= nch; i += 16) {
		__m256i l0 = _mm256_setzero_si256(), h0 = l0, l1 = l0, h1 = l0;
		__m256i l2 = l0, h2 = l0, l3 = l0, h3 = l0;

		for (t = 0; t < nt; t++) {
			const s8 *px = img + xo[t] + i;
			__m128i wb = _mm_loadu_si128((const __m128i *)(filter +
								       fo[t] + i));
			__m256i wv = _mm256_cvtepi8_epi16(wb);

			mcai_avx2_dw16w(&l0, &h0, px, wv, zp16);
			mcai_avx2_dw16w(&l1, &h1, px + po[1], wv, zp16);
			mcai_avx2_dw16w(&l2, &h2, px + po[2], wv, zp16);
			mcai_avx2_dw16w(&l3, &h3, px + po[3], wv, zp16);
		}
		mcai_avx2_dw_store(acc + i, np, l0, l1, l2, l3);
		mcai_avx2_dw_store(acc + i + 8, np, h0, h1, h2, h3);
	}
	if (i + 8 <= nch) {
		__m256i l0 = _mm256_setzero_si256(), l1 = l0, l2 = l0, l3 = l0;

		for (t = 0; t < nt; t++) {
			const s8 *px = img + xo[t] + i;
			s64 wb;
			__m256i wv;

			memcpy(&wb, filter + fo[t] + i, 8);
			wv = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(wb));
			l0 = mcai_avx2_dw8w(l0, px, wv, zp32);
			l1 = mcai_avx2_dw8w(l1, px + po[1], wv, zp32);
			l2 = mcai_avx2_dw8w(l2, px + po[2], wv, zp32);
			l3 = mcai_avx2_dw8w(l3, px + po[3], wv, zp32);
		}
		mcai_avx2_dw_store(acc + i, np, l0, l1, l2, l3);
		i += 8;
	}
	for (; i < nch; i++)
		for (q = 0; q < np; q++)
			acc[q * MCAI_SIMD_OCB + i] =
				mcai_dw_dot(p, img, y0, x0[q], filter, c0 + i,
					    c0 + i);
}

/*
 * b where the lanes of @m are all ones, a where they are zero (every
 * mask here is a whole-lane compare or sign result).  Not
 * _mm256_blendv_epi8(): GCC 12 folds its builtin into "m < 0 ? b : a"
 * over lanes of type char, which -funsigned-char (every kernel since
 * 6.2 builds with it) makes "never": the blend silently did nothing
 * in the 6.12 module.  Plain bitwise logic has no char type.
 */
static __always_inline __m256i mcai_avx2_select(__m256i a, __m256i b, __m256i m)
{
	return _mm256_or_si256(_mm256_and_si256(m, b), _mm256_andnot_si256(m, a));
}

/*
 * The output stage, 8 channels (requant.h's steps, each as an identity
 * of 32-bit lanes):
 *
 *   sat32(acc + bias)  the wrapped sum, replaced by S32_MAX or S32_MIN
 *                      (acc's sign) where both addends' signs differ
 *                      from the sum's;
 *   sat32(v << left)   the shifted value, unless shifting it back does
 *                      not give v (bits lost), then saturated by v's sign;
 *   srdhm(v, mult)     the 64-bit products of even and odd lanes
 *                      (vpmuldq); adding 2^30 and taking bits 31..62 is
 *                      floor((ab + 2^30) / 2^31), which is the reference's
 *                      nudge-then-truncate (its nudged value has ab's
 *                      sign); S32_MIN * S32_MIN gives S32_MIN there, and
 *                      flipping its bits makes it S32_MAX;
 *   rdivpot(v, right)  q = v >> right (arithmetic), plus one where
 *                      v & mask > mask / 2 + (v < 0): mask is at most
 *                      2^31 - 1, so all of it fits 32-bit lanes;
 *   clamp8(v + zp)     v against lo - zp and hi - zp (no overflow: the
 *                      three are int8), lo's test last, as the reference.
 */
/* sat32(v * 2^left), srdhm(v, mult), rdivpot(v, right): mcai_requant() */
static __always_inline __m256i
mcai_avx2_rq(__m256i v, __m256i mult, __m256i left,
	     __m256i right)
{
	const __m256i one = _mm256_set1_epi32(1);
	const __m256i smax = _mm256_set1_epi32(S32_MAX);
	const __m256i smin = _mm256_set1_epi32(S32_MIN);
	const __m256i half = _mm256_set1_epi64x(1LL << 30);
	__m256i t, m, ev, od, mask;

	/* sat32(v * 2^left) */
	t = _mm256_sllv_epi32(v, left);
	m = _mm256_cmpeq_epi32(_mm256_srav_epi32(t, left), v);
	v = mcai_avx2_select(_mm256_xor_si256(_mm256_srai_epi32(v, 31), smax),
			     t, m);

	/* srdhm(v, mult) */
	m = _mm256_and_si256(_mm256_cmpeq_epi32(v, smin),
			     _mm256_cmpeq_epi32(mult, smin));
	ev = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(v, mult), half),
			       31);
	od = _mm256_mul_epi32(_mm256_srli_epi64(v, 32),
			      _mm256_srli_epi64(mult, 32));
	od = _mm256_slli_epi64(_mm256_add_epi64(od, half), 1);
	v = _mm256_xor_si256(_mm256_blend_epi32(ev, od, 0xaa), m);

	/* rdivpot(v, right) */
	mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
	t = _mm256_add_epi32(_mm256_srai_epi32(mask, 1), _mm256_srli_epi32(v, 31));
	m = _mm256_cmpgt_epi32(_mm256_and_si256(v, mask), t);
	return _mm256_sub_epi32(_mm256_srav_epi32(v, right), m);
}

/* shift's left (> 0) and right (< 0) parts, per lane */
static __always_inline __m256i mcai_avx2_left(__m256i shift)
{
	return _mm256_max_epi32(shift, _mm256_setzero_si256());
}

static __always_inline __m256i mcai_avx2_right(__m256i shift)
{
	const __m256i zero = _mm256_setzero_si256();

	return _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
}

/* clamp8(v + zp, lo, hi) */
static __always_inline __m256i
mcai_avx2_clamp(__m256i v, __m256i zp, __m256i lo, __m256i hi)
{
	__m256i t;

	lo = _mm256_sub_epi32(lo, zp);
	t = _mm256_min_epi32(v, _mm256_sub_epi32(hi, zp));
	t = mcai_avx2_select(t, lo, _mm256_cmpgt_epi32(lo, v));
	return _mm256_add_epi32(t, zp);
}

static __always_inline __m256i
mcai_avx2_requant(__m256i acc, __m256i bias, __m256i mult,
		  __m256i shift, __m256i zp, __m256i lo,
		  __m256i hi)
{
	const __m256i smax = _mm256_set1_epi32(S32_MAX);
	__m256i v, t, m;

	/* sat32(acc + bias) */
	v = _mm256_add_epi32(acc, bias);
	m = _mm256_and_si256(_mm256_xor_si256(v, acc), _mm256_xor_si256(v, bias));
	t = _mm256_xor_si256(_mm256_srai_epi32(acc, 31), smax);
	v = mcai_avx2_select(v, t, _mm256_srai_epi32(m, 31));

	v = mcai_avx2_rq(v, mult, mcai_avx2_left(shift),
			 mcai_avx2_right(shift));
	return mcai_avx2_clamp(v, zp, lo, hi);
}

static __always_inline __m256i mcai_avx2_ld(const s32 *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

void mcai_simd_avx2_out8(const struct mcai_simd_outq *q, const s32 *acc,
			 u32 n, s8 *out)
{
	const __m256i zp = _mm256_set1_epi32(q->out_zp);
	const __m256i lo = _mm256_set1_epi32(q->lo);
	const __m256i hi = _mm256_set1_epi32(q->hi);
	u32 i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i b = q->bias ? mcai_avx2_ld(q->bias + i) :
				      _mm256_setzero_si256();
		__m256i v = mcai_avx2_requant(mcai_avx2_ld(acc + i), b,
					      mcai_avx2_ld(q->mult + i),
					      mcai_avx2_ld(q->shift + i), zp,
					      lo, hi);
		/* lo..hi are int8: the saturating packs are exact */
		__m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v),
					    _mm256_extracti128_si256(v, 1));

		_mm_storel_epi64((__m128i *)(out + i), _mm_packs_epi16(w, w));
	}
	for (; i < n; i++)
		out[i] = mcai_op_out8(acc[i], q->bias ? q->bias[i] : 0,
				      q->mult[i], q->shift[i], q->out_zp,
				      q->lo, q->hi);
}

/*
 * One channel block's constants for mcai_simd_avx2_out8n(): computed
 * once, used by every pixel of the call.
 */
struct mcai_avx2_oblk {
	__m256i bias, mult, multo, left, right, mask, half_mask;
	bool sat, left_any;
};

static __always_inline void mcai_avx2_oblk_load(struct mcai_avx2_oblk *k,
						const struct mcai_simd_outq *q, u32 i)
{
	const __m256i zero = _mm256_setzero_si256();
	const __m256i one = _mm256_set1_epi32(1);
	__m256i shift = mcai_avx2_ld(q->shift + i);

	k->bias = q->bias ? mcai_avx2_ld(q->bias + i) : zero;
	/*
	 * sat32(acc + bias) is acc + bias where |bias| <= S32_MAX - acc_max
	 * in every lane: the sum cannot leave the s32 range then.
	 */
	k->sat = true;
	if (q->acc_max) {
		const __m256i lim = _mm256_set1_epi32(S32_MAX - (s32)q->acc_max);
		__m256i out = _mm256_or_si256(_mm256_cmpgt_epi32(k->bias, lim),
					      _mm256_cmpgt_epi32(_mm256_sub_epi32(zero, lim),
								 k->bias));

		k->sat = !_mm256_testz_si256(out, out);
	}
	k->mult = mcai_avx2_ld(q->mult + i);
	k->multo = _mm256_srli_epi64(k->mult, 32);
	k->left = mcai_avx2_left(shift);
	k->right = mcai_avx2_right(shift);
	k->left_any = !_mm256_testz_si256(k->left, k->left);
	k->mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, k->right), one);
	k->half_mask = _mm256_srai_epi32(k->mask, 1);
}

/*
 * mcai_avx2_requant()'s steps for one pixel's 8 lanes, with the block's
 * constants: sat32(acc + bias) and sat32(v << left) only where the block
 * may need them, srdhm() without its S32_MIN * S32_MIN case (mult >= 0
 * here), the clamp as max(min()) where lo <= hi (then the same as the
 * reference's lo-test-first order).
 */
static __always_inline __m256i
mcai_avx2_rqn(const struct mcai_avx2_oblk *k, __m256i acc,
	      __m256i zp, __m256i lo, __m256i hi, bool fastclamp)
{
	const __m256i smax = _mm256_set1_epi32(S32_MAX);
	const __m256i half = _mm256_set1_epi64x(1LL << 30);
	__m256i v, t, m, ev, od;

	v = _mm256_add_epi32(acc, k->bias);
	if (k->sat) {
		m = _mm256_and_si256(_mm256_xor_si256(v, acc),
				     _mm256_xor_si256(v, k->bias));
		t = _mm256_xor_si256(_mm256_srai_epi32(acc, 31), smax);
		v = mcai_avx2_select(v, t, _mm256_srai_epi32(m, 31));
	}
	if (k->left_any) {
		t = _mm256_sllv_epi32(v, k->left);
		m = _mm256_cmpeq_epi32(_mm256_srav_epi32(t, k->left), v);
		v = mcai_avx2_select(_mm256_xor_si256(_mm256_srai_epi32(v, 31),
						      smax), t, m);
	}
	ev = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(v, k->mult),
						half), 31);
	od = _mm256_mul_epi32(_mm256_srli_epi64(v, 32), k->multo);
	od = _mm256_slli_epi64(_mm256_add_epi64(od, half), 1);
	v = _mm256_blend_epi32(ev, od, 0xaa);
	t = _mm256_add_epi32(k->half_mask, _mm256_srli_epi32(v, 31));
	m = _mm256_cmpgt_epi32(_mm256_and_si256(v, k->mask), t);
	v = _mm256_sub_epi32(_mm256_srav_epi32(v, k->right), m);
	/* lo and hi are already lo - zp and hi - zp */
	if (fastclamp)
		v = _mm256_max_epi32(_mm256_min_epi32(v, hi), lo);
	else
		v = mcai_avx2_select(_mm256_min_epi32(v, hi), lo,
				     _mm256_cmpgt_epi32(lo, v));
	return _mm256_add_epi32(v, zp);
}

/* Eight int32 lanes to eight int8 at @out: lanes already in int8 range. */
static __always_inline void mcai_avx2_store8(s8 *out, __m256i v);

void mcai_simd_avx2_out8n(const struct mcai_simd_outq *q, const s32 *acc,
			  u32 astride, u32 np, u32 n, s8 *out,
			  size_t ostride)
{
	const __m256i zp = _mm256_set1_epi32(q->out_zp);
	const __m256i lo = _mm256_set1_epi32(q->lo - q->out_zp);
	const __m256i hi = _mm256_set1_epi32(q->hi - q->out_zp);
	const bool fastclamp = q->lo <= q->hi;
	struct mcai_avx2_oblk k;
	u32 i = 0, p;

	for (; i + 8 <= n; i += 8) {
		mcai_avx2_oblk_load(&k, q, i);
		for (p = 0; p < np; p++) {
			__m256i a = mcai_avx2_ld(acc + (size_t)p * astride + i);

			mcai_avx2_store8(out + p * ostride + i,
					 mcai_avx2_rqn(&k, a, zp, lo, hi,
						       fastclamp));
		}
	}
	for (; i < n; i++)
		for (p = 0; p < np; p++)
			out[p * ostride + i] =
				mcai_op_out8(acc[(size_t)p * astride + i],
					     q->bias ? q->bias[i] : 0,
					     q->mult[i], q->shift[i], q->out_zp,
					     q->lo, q->hi);
}

/* Eight int32 lanes to eight int8 at @out: lanes already in int8 range. */
static __always_inline void mcai_avx2_store8(s8 *out, __m256i v)
{
	__m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v),
				    _mm256_extracti128_si256(v, 1));

	_mm_storel_epi64((__m128i *)out, _mm_packs_epi16(w, w));
}

/* One input's side of an add: requant((x - zp) * 2^left_shift, m, s). */
static __always_inline __m256i
mcai_avx2_add_in(const s8 *x, __m256i zp, __m256i lift,
		 __m256i mult, __m256i left, __m256i right)
{
	s64 b;
	__m256i v;

	memcpy(&b, x, 8);
	v = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(b));
	/* |x - zp| <= 255 and lift <= 20: the shift is the product, exact */
	v = _mm256_sllv_epi32(_mm256_sub_epi32(v, zp), lift);
	return mcai_avx2_rq(v, mult, left, right);
}

/*
 * mcai_add_one() eight elements at a time: both inputs' requantisations
 * (each below 2^30 in magnitude, mcai_add_check()'s bounds), their sum
 * (below 2^31), the output's, the clamp; a short tail goes through
 * padded copies, so nothing is read or written past n.
 */
void mcai_simd_avx2_add(const struct mcai_add_params *p, const s8 *in1,
			const s8 *in2, u32 n, s8 *out)
{
	const __m256i zp1 = _mm256_set1_epi32(p->in1_zp);
	const __m256i zp2 = _mm256_set1_epi32(p->in2_zp);
	const __m256i lift = _mm256_set1_epi32(p->left_shift);
	const __m256i m1 = _mm256_set1_epi32(p->in1_mult);
	const __m256i m2 = _mm256_set1_epi32(p->in2_mult);
	const __m256i mo = _mm256_set1_epi32(p->out_mult);
	const __m256i s1 = _mm256_set1_epi32(p->in1_shift);
	const __m256i s2 = _mm256_set1_epi32(p->in2_shift);
	const __m256i so = _mm256_set1_epi32(p->out_shift);
	const __m256i l1 = mcai_avx2_left(s1), r1 = mcai_avx2_right(s1);
	const __m256i l2 = mcai_avx2_left(s2), r2 = mcai_avx2_right(s2);
	const __m256i lout = mcai_avx2_left(so), rout = mcai_avx2_right(so);
	const __m256i zp = _mm256_set1_epi32(p->out_zp);
	const __m256i lo = _mm256_set1_epi32(p->act_min);
	const __m256i hi = _mm256_set1_epi32(p->act_max);
	u32 i = 0;

	while (i < n) {
		u32 r = n - i < 8 ? n - i : 8;
		s8 ta[8] = { 0 }, tb[8] = { 0 }, to[8];
		const s8 *a = in1 + i, *b = in2 + i;
		__m256i x, y, v;

		if (r < 8) {
			memcpy(ta, a, r);
			memcpy(tb, b, r);
			a = ta;
			b = tb;
		}
		x = mcai_avx2_add_in(a, zp1, lift, m1, l1, r1);
		y = mcai_avx2_add_in(b, zp2, lift, m2, l2, r2);
		v = mcai_avx2_rq(_mm256_add_epi32(x, y), mo, lout, rout);
		v = mcai_avx2_clamp(v, zp, lo, hi);
		if (r == 8) {
			mcai_avx2_store8(out + i, v);
		} else {
			mcai_avx2_store8(to, v);
			memcpy(out + i, to, r);
		}
		i += r;
	}
}

/*
 * Max pooling (simd.h's maxp): 16 channels at a time in int16 lanes
 * (sign-extended by vpmovsxbw; vpmaxsw and vpminsw on short lanes, whose
 * type -funsigned-char does not touch), then 8, then the last few one by
 * one.  A max of int8 values and its clamp to lo..hi (lo <= hi, the
 * check's) are int8: the saturating pack is exact.
 */
void mcai_simd_avx2_maxp(const s8 *base, size_t row, u32 c, u32 rows,
			 u32 cols, s8 lo, s8 hi, s8 *out)
{
	const __m256i vlo = _mm256_set1_epi16(lo), vhi = _mm256_set1_epi16(hi);
	u32 i = 0, ky, kx;

	for (; i + 8 <= c; i += 16) {
		const bool full = i + 16 <= c;
		__m256i m = _mm256_set1_epi16(-128);
		__m128i w;

		for (ky = 0; ky < rows; ky++) {
			const s8 *px = base + ky * row + i;

			for (kx = 0; kx < cols; kx++, px += c) {
				__m128i b;
				s64 h;

				if (full) {
					b = _mm_loadu_si128((const __m128i *)px);
				} else {
					memcpy(&h, px, 8);
					b = _mm_cvtsi64_si128(h);
				}
				m = _mm256_max_epi16(m, _mm256_cvtepi8_epi16(b));
			}
		}
		m = _mm256_min_epi16(_mm256_max_epi16(m, vlo), vhi);
		w = _mm_packs_epi16(_mm256_castsi256_si128(m),
				    _mm256_extracti128_si256(m, 1));
		if (full) {
			_mm_storeu_si128((__m128i *)(out + i), w);
		} else {
			_mm_storel_epi64((__m128i *)(out + i), w);
			i -= 8;
		}
	}
	for (; i < c; i++) {
		s32 v = -128;

		for (ky = 0; ky < rows; ky++)
			for (kx = 0; kx < cols; kx++)
				if (base[ky * row + (size_t)kx * c + i] > v)
					v = base[ky * row + (size_t)kx * c + i];
		out[i] = mcai_op_clamp8(v, lo, hi);
	}
}

const struct mcai_simd_isa mcai_simd_avx2 = {
	.prep = mcai_avx2_prep,
	.dot = mcai_avx2_dot,
	.dot4 = mcai_avx2_dot4,
	.dw = mcai_simd_avx2_dw,
	.dw4 = mcai_simd_avx2_dw4,
	.out8 = mcai_simd_avx2_out8,
	.out8n = mcai_simd_avx2_out8n,
	.add = mcai_simd_avx2_add,
	.maxp = mcai_simd_avx2_maxp,
	.nr = 8,
	.kr = 2,
	.off = 0,
};
