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
		__m512i b = _mm512_setzero_si512(), c = b, d = b;

		/*
		 * Lanes past r read the next quad's bytes: never stored.
		 * One panel alone (a narrow layer, the last of a group) is
		 * four chains over the quads, not one bound by vpdpbusd's
		 * latency; their sum wraps as the single chain's would.
		 */
		for (q = 0; q + 4 <= quads; q += 4) {
			const s8 *wq = w + (size_t)q * 4 * r;

			a = _mm512_dpbusd_epi32(a, mcai_zmm_quad(x, q),
						_mm512_loadu_si512(wq));
			b = _mm512_dpbusd_epi32(b, mcai_zmm_quad(x, q + 1),
						_mm512_loadu_si512(wq + 4 * r));
			c = _mm512_dpbusd_epi32(c, mcai_zmm_quad(x, q + 2),
						_mm512_loadu_si512(wq + 8 * r));
			d = _mm512_dpbusd_epi32(d, mcai_zmm_quad(x, q + 3),
						_mm512_loadu_si512(wq + 12 * r));
		}
		for (; q < quads; q++)
			a = _mm512_dpbusd_epi32(a, mcai_zmm_quad(x, q),
						_mm512_loadu_si512(w + (size_t)q * 4 * r));
		a = _mm512_add_epi32(_mm512_add_epi32(a, b), _mm512_add_epi32(c, d));
		_mm512_mask_storeu_epi32(acc + j, m, a);
	}
}

/* Quad q of raw activations, made u8 (x ^ 0x80), in every lane. */
static __m512i mcai_zmm_rquad(const u8 *x, u32 q)
{
	return _mm512_xor_si512(mcai_zmm_quad(x, q),
				_mm512_set1_epi8((char)0x80));
}

/*
 * Four pixels (simd.h's dot4): each weight vector loaded once, used by
 * four independent vpdpbusd chains, which also hides their latency.
 */
static void mcai_zmm_dot4(const struct mcai_pack *pk, const u8 *const x[4],
			  u32 k0, u32 len, u32 c0, u32 nch, s32 *acc,
			  bool first)
{
	const u32 kp = pk->kp, quads = (len + 3) / 4;
	s32 *a1 = acc + MCAI_SIMD_OCB, *a2 = a1 + MCAI_SIMD_OCB;
	s32 *a3 = a2 + MCAI_SIMD_OCB;
	u32 j, q;

	for (j = 0; j < nch; j += 16) {
		u32 r = nch - j < 16 ? nch - j : 16;
		__mmask16 m = (__mmask16)((1U << r) - 1);
		const s8 *w = pk->w + (size_t)(c0 + j) * kp + (size_t)k0 * r;
		__m512i v0 = mcai_zmm_init(pk, acc + j, c0 + j, m, first);
		__m512i v1 = mcai_zmm_init(pk, a1 + j, c0 + j, m, first);
		__m512i v2 = mcai_zmm_init(pk, a2 + j, c0 + j, m, first);
		__m512i v3 = mcai_zmm_init(pk, a3 + j, c0 + j, m, first);

		for (q = 0; q < quads; q++) {
			__m512i wv = _mm512_loadu_si512(w + (size_t)q * 4 * r);

			v0 = _mm512_dpbusd_epi32(v0, mcai_zmm_rquad(x[0], q), wv);
			v1 = _mm512_dpbusd_epi32(v1, mcai_zmm_rquad(x[1], q), wv);
			v2 = _mm512_dpbusd_epi32(v2, mcai_zmm_rquad(x[2], q), wv);
			v3 = _mm512_dpbusd_epi32(v3, mcai_zmm_rquad(x[3], q), wv);
		}
		_mm512_mask_storeu_epi32(acc + j, m, v0);
		_mm512_mask_storeu_epi32(a1 + j, m, v1);
		_mm512_mask_storeu_epi32(a2 + j, m, v2);
		_mm512_mask_storeu_epi32(a3 + j, m, v3);
	}
}

/*
 * The output stage, 16 channels: op_conv_avx2.c's steps (the identities
 * are explained there), with mask registers for the selections.
 */
static __m512i mcai_zmm_requant(__m512i acc, __m512i bias, __m512i mult,
				__m512i shift, __m512i zp, __m512i lo,
				__m512i hi)
{
	const __m512i zero = _mm512_setzero_si512();
	const __m512i one = _mm512_set1_epi32(1);
	const __m512i smax = _mm512_set1_epi32(S32_MAX);
	const __m512i smin = _mm512_set1_epi32(S32_MIN);
	const __m512i half = _mm512_set1_epi64(1LL << 30);
	__m512i v, t, left, right, ev, od, mask;
	__mmask16 m;

	/* sat32(acc + bias) */
	v = _mm512_add_epi32(acc, bias);
	t = _mm512_and_si512(_mm512_xor_si512(v, acc), _mm512_xor_si512(v, bias));
	m = _mm512_cmplt_epi32_mask(t, zero);
	t = _mm512_xor_si512(_mm512_srai_epi32(acc, 31), smax);
	v = _mm512_mask_blend_epi32(m, v, t);

	/* sat32(v * 2^left) */
	left = _mm512_max_epi32(shift, zero);
	right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
	t = _mm512_sllv_epi32(v, left);
	m = _mm512_cmpeq_epi32_mask(_mm512_srav_epi32(t, left), v);
	v = _mm512_mask_blend_epi32(m, _mm512_xor_si512(_mm512_srai_epi32(v, 31),
							smax), t);

	/* srdhm(v, mult) */
	m = _mm512_cmpeq_epi32_mask(v, smin) & _mm512_cmpeq_epi32_mask(mult, smin);
	ev = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(v, mult), half),
			       31);
	od = _mm512_mul_epi32(_mm512_srli_epi64(v, 32),
			      _mm512_srli_epi64(mult, 32));
	od = _mm512_slli_epi64(_mm512_add_epi64(od, half), 1);
	v = _mm512_mask_blend_epi32(0xaaaa, ev, od);
	v = _mm512_mask_mov_epi32(v, m, smax);

	/* rdivpot(v, right) */
	mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
	t = _mm512_add_epi32(_mm512_srai_epi32(mask, 1), _mm512_srli_epi32(v, 31));
	m = _mm512_cmpgt_epi32_mask(_mm512_and_si512(v, mask), t);
	t = _mm512_srav_epi32(v, right);
	v = _mm512_mask_add_epi32(t, m, t, one);

	/* clamp8(v + zp, lo, hi) */
	lo = _mm512_sub_epi32(lo, zp);
	m = _mm512_cmpgt_epi32_mask(lo, v);
	t = _mm512_min_epi32(v, _mm512_sub_epi32(hi, zp));
	t = _mm512_mask_mov_epi32(t, m, lo);
	return _mm512_add_epi32(t, zp);
}

static void mcai_zmm_out8(const struct mcai_simd_outq *q, const s32 *acc,
			  u32 n, s8 *out)
{
	const __m512i zp = _mm512_set1_epi32(q->out_zp);
	const __m512i lo = _mm512_set1_epi32(q->lo);
	const __m512i hi = _mm512_set1_epi32(q->hi);
	u32 i;

	for (i = 0; i < n; i += 16) {
		__mmask16 k = n - i >= 16 ? 0xffff :
			      (__mmask16)((1U << (n - i)) - 1);
		__m512i b = q->bias ? _mm512_maskz_loadu_epi32(k, q->bias + i) :
				      _mm512_setzero_si512();
		__m512i v = mcai_zmm_requant(_mm512_maskz_loadu_epi32(k, acc + i),
					     b,
					     _mm512_maskz_loadu_epi32(k, q->mult + i),
					     _mm512_maskz_loadu_epi32(k, q->shift + i),
					     zp, lo, hi);

		/* lo..hi are int8: truncation to bytes is exact */
		_mm512_mask_cvtepi32_storeu_epi8(out + i, k, v);
	}
}

/*
 * The output stage of several pixels (simd.h's out8n): each block of 16
 * channels' constants once, then op_conv_avx2.c's mcai_avx2_rqn() steps
 * a pixel (the reasons are there), with mask registers.
 */
static void mcai_zmm_out8n(const struct mcai_simd_outq *q, const s32 *acc,
			   u32 astride, u32 np, u32 n, s8 *out, size_t ostride)
{
	const __m512i zero = _mm512_setzero_si512();
	const __m512i one = _mm512_set1_epi32(1);
	const __m512i smax = _mm512_set1_epi32(S32_MAX);
	const __m512i half = _mm512_set1_epi64(1LL << 30);
	const __m512i zp = _mm512_set1_epi32(q->out_zp);
	const __m512i lo = _mm512_set1_epi32(q->lo - q->out_zp);
	const __m512i hi = _mm512_set1_epi32(q->hi - q->out_zp);
	const bool fastclamp = q->lo <= q->hi;
	u32 i, p;

	for (i = 0; i < n; i += 16) {
		__mmask16 k = n - i >= 16 ? 0xffff :
			      (__mmask16)((1U << (n - i)) - 1);
		__m512i bias = q->bias ? _mm512_maskz_loadu_epi32(k, q->bias + i) :
					 zero;
		__m512i mult = _mm512_maskz_loadu_epi32(k, q->mult + i);
		__m512i multo = _mm512_srli_epi64(mult, 32);
		__m512i shift = _mm512_maskz_loadu_epi32(k, q->shift + i);
		__m512i left = _mm512_max_epi32(shift, zero);
		__m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift),
						 zero);
		__m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right),
						one);
		__m512i hmask = _mm512_srai_epi32(mask, 1);
		bool left_any = _mm512_test_epi32_mask(left, left) != 0;
		bool sat = true;

		if (q->acc_max) {
			__m512i lim = _mm512_set1_epi32(S32_MAX -
							(s32)q->acc_max);

			sat = (_mm512_cmpgt_epi32_mask(bias, lim) |
			       _mm512_cmpgt_epi32_mask(_mm512_sub_epi32(zero, lim),
						       bias)) != 0;
		}
		for (p = 0; p < np; p++) {
			__m512i a = _mm512_maskz_loadu_epi32(k, acc + (size_t)p *
							     astride + i);
			__m512i v = _mm512_add_epi32(a, bias), t, ev, od;
			__mmask16 m;

			if (sat) {
				t = _mm512_and_si512(_mm512_xor_si512(v, a),
						     _mm512_xor_si512(v, bias));
				m = _mm512_cmplt_epi32_mask(t, zero);
				t = _mm512_xor_si512(_mm512_srai_epi32(a, 31), smax);
				v = _mm512_mask_blend_epi32(m, v, t);
			}
			if (left_any) {
				__m512i sv = _mm512_xor_si512(_mm512_srai_epi32(v, 31),
							      smax);

				t = _mm512_sllv_epi32(v, left);
				m = _mm512_cmpeq_epi32_mask(_mm512_srav_epi32(t, left),
							    v);
				v = _mm512_mask_blend_epi32(m, sv, t);
			}
			ev = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(v, mult),
								half), 31);
			od = _mm512_mul_epi32(_mm512_srli_epi64(v, 32), multo);
			od = _mm512_slli_epi64(_mm512_add_epi64(od, half), 1);
			v = _mm512_mask_blend_epi32(0xaaaa, ev, od);
			t = _mm512_add_epi32(hmask, _mm512_srli_epi32(v, 31));
			m = _mm512_cmpgt_epi32_mask(_mm512_and_si512(v, mask), t);
			t = _mm512_srav_epi32(v, right);
			v = _mm512_mask_add_epi32(t, m, t, one);
			if (fastclamp) {
				v = _mm512_max_epi32(_mm512_min_epi32(v, hi), lo);
			} else {
				m = _mm512_cmpgt_epi32_mask(lo, v);
				v = _mm512_mask_mov_epi32(_mm512_min_epi32(v, hi),
							  m, lo);
			}
			_mm512_mask_cvtepi32_storeu_epi8(out + p * ostride + i, k,
							 _mm512_add_epi32(v, zp));
		}
	}
}

const struct mcai_simd_isa mcai_simd_avx512vnni = {
	.prep = mcai_zmm_prep,
	.dot = mcai_zmm_dot,
	.dot4 = mcai_zmm_dot4,
	.dw = mcai_simd_avx2_dw,
	.dw4 = mcai_simd_avx2_dw4,
	.out8 = mcai_zmm_out8,
	.out8n = mcai_zmm_out8n,
	.add = mcai_simd_avx2_add,
	.maxp = mcai_simd_avx2_maxp,
	.nr = 16,
	.kr = 4,
	.off = 128,
};
