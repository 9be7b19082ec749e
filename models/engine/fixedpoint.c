// SPDX-License-Identifier: GPL-2.0
/*
 * gemmlowp's fixed-point exp, reciprocal and logistic, transcribed for
 * s32 raw values (the template parameter "integer bits" becomes an
 * argument), and a 64-bit requantisation.  Integer only, no undefined
 * behaviour: products in s64, no shift of a negative value left, no
 * 64-bit division.
 */
#include "models/engine/fixedpoint.h"
#include "models/engine/requant.h"

int mcai_clz32(u32 x)
{
	int n = 0;

	if (!x)
		return 32;
	if (!(x & 0xffff0000U)) {
		n += 16;
		x <<= 16;
	}
	if (!(x & 0xff000000U)) {
		n += 8;
		x <<= 8;
	}
	if (!(x & 0xf0000000U)) {
		n += 4;
		x <<= 4;
	}
	if (!(x & 0xc0000000U)) {
		n += 2;
		x <<= 2;
	}
	if (!(x & 0x80000000U))
		n += 1;
	return n;
}

int mcai_clz64(u64 x)
{
	if (x >> 32)
		return mcai_clz32((u32)(x >> 32));
	return 32 + mcai_clz32((u32)x);
}

s32 mcai_fp_mulpot(s32 x, int e)
{
	s64 mask, rem, threshold;

	if (e >= 0)
		return mcai_sat32((s64)x * (1LL << e));
	/*
	 * requant.h's mcai_rdivpot() widened: the same arithmetic in s64
	 * holds for shifts up to 62.
	 */
	e = -e;
	mask = (1LL << e) - 1;
	rem = (s64)x & mask;
	threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	return (s32)(((s64)x >> e) + (rem > threshold ? 1 : 0));
}

/* gemmlowp's RoundingHalfSum: (a + b) / 2 rounded away from zero. */
static s32 mcai_fp_half_sum(s32 a, s32 b)
{
	s64 sum = (s64)a + b;

	if (sum >= 0)
		return (s32)((sum + 1) >> 1);
	return (s32)-((-sum + 1) >> 1);
}

/* e^a for a in [-1/4, 0) in Q0: Taylor series around -1/8. */
static s32 mcai_fp_exp_quarter(s32 a)
{
	const s32 exp_minus_eighth = 1895147668;	/* e^-1/8 */
	const s32 one_third = 715827883;
	s32 x = a + (1 << 28);				/* a + 1/8 */
	s32 x2 = mcai_srdhm(x, x);
	s32 x3 = mcai_srdhm(x2, x);
	s32 x4 = mcai_srdhm(x2, x2);
	s32 poly;

	poly = mcai_srdhm(mcai_fp_mulpot(x4, -2) + x3, one_third) + x2;
	poly = mcai_fp_mulpot(poly, -1);	/* x^4/24 + x^3/6 + x^2/2 */
	return exp_minus_eighth + mcai_srdhm(exp_minus_eighth, x + poly);
}

s32 mcai_fp_exp_neg(s32 a, int int_bits)
{
	/* e^-(2^k) in Q0 for k = -2..4, gemmlowp's barrel shifter */
	static const s32 exp_pot[7] = {
		1672461947, 1302514674, 790015084, 290630308, 39332535,
		720401, 242
	};
	const int frac = 31 - int_bits;
	const s32 quarter = 1 << (frac - 2);
	s32 a_mod, rem, result;
	int k;

	if (a == 0)
		return S32_MAX;
	/* a = (a mod 1/4) - 1/4 - rem, with rem >= 0 a multiple of 1/4 */
	a_mod = (s32)((u32)a & (u32)(quarter - 1)) - quarter;
	result = mcai_fp_exp_quarter(mcai_fp_mulpot(a_mod, int_bits));
	rem = a_mod - a;
	for (k = -2; k <= 4 && k < int_bits; k++)
		if (rem & (1 << (frac + k)))
			result = mcai_srdhm(result, exp_pot[k + 2]);
	/* Past -32 the bits above 2^4 are not looked at: e^-32 is 0 in Q0. */
	if (int_bits > 5 && a < -(1 << (36 - int_bits)))
		result = 0;
	return result;
}

s32 mcai_fp_recip1p(s32 a)
{
	const s32 c48_17 = 1515870810;		/* 48/17 in Q2 */
	const s32 cm32_17 = -1010580540;	/* -32/17 in Q2 */
	s32 half_den = mcai_fp_half_sum(a, S32_MAX);
	s32 x = c48_17 + mcai_srdhm(half_den, cm32_17);	/* Q2 */
	int i;

	for (i = 0; i < 3; i++) {
		s32 err = (1 << 29) - mcai_srdhm(half_den, x);

		x += mcai_fp_mulpot(mcai_srdhm(x, err), 2);
	}
	/* x ~ 1 / half_den in Q2 is 1 / (1 + a) in Q1: rescale to Q0 */
	return mcai_fp_mulpot(x, 1);
}

s32 mcai_fp_logistic(s32 a, int int_bits)
{
	s32 mag, pos;

	if (a == 0)
		return 1 << 30;
	mag = a > 0 ? a : a == S32_MIN ? S32_MAX : -a;
	pos = mcai_fp_recip1p(mcai_fp_exp_neg(-mag, int_bits));
	return a > 0 ? pos : S32_MAX - pos;
}

s32 mcai_requant64(s64 x, s32 mult, int shift)
{
	const int k = 31 - shift;	/* divide by 2^k, k in 1..62 */
	u64 mag = x < 0 ? 0 - (u64)x : (u64)x;
	u64 hi, lo, q;

	if (mult <= 0 || !x)
		return 0;
	/*
	 * mag * mult = hi * 2^32 + lo without 128-bit arithmetic: the high
	 * half of mag times mult is below 2^62, the low half's below 2^63,
	 * so adding the rounding 2^(k-1) to the low product cannot wrap.
	 */
	lo = (mag & 0xffffffffULL) * (u64)mult + (1ULL << (k - 1));
	hi = (mag >> 32) * (u64)mult + (lo >> 32);
	lo &= 0xffffffffULL;
	if (k >= 32) {
		q = hi >> (k - 32);
	} else {
		if (hi >> 31)		/* the result is at least 2^31 */
			return x < 0 ? S32_MIN : S32_MAX;
		q = (hi << (32 - k)) | (lo >> k);
	}
	if (q >> 31)
		return x < 0 ? S32_MIN : S32_MAX;
	return x < 0 ? -(s32)q : (s32)q;
}
