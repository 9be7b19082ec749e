/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Requantisation: scale an int32 accumulator by a real multiplier given as
 * a Q31 fixed-point mantissa and a power-of-two exponent, with gemmlowp's
 * rounding (TFLite's MultiplyByQuantizedMultiplier).  Written without
 * undefined behaviour: no signed overflow, no shift of a negative value
 * left, no 64-bit division (so it links on 32-bit kernels too).
 */
#ifndef MCAI_REQUANT_H
#define MCAI_REQUANT_H

#include "models/engine/port.h"

static inline s32 mcai_sat32(s64 x)
{
	if (x > S32_MAX)
		return S32_MAX;
	if (x < S32_MIN)
		return S32_MIN;
	return (s32)x;
}

/*
 * round(a * b / 2^31), saturating the one overflow (S32_MIN * S32_MIN).
 * gemmlowp's rounding: ties go up, i.e. away from zero for positive
 * products but toward zero for negative ones (-0.5 -> 0, -1.5 -> -1).
 */
static inline s32 mcai_srdhm(s32 a, s32 b)
{
	s64 ab, nudged;

	if (a == S32_MIN && b == S32_MIN)
		return S32_MAX;
	ab = (s64)a * b;
	nudged = ab + (ab >= 0 ? (1LL << 30) : 1 - (1LL << 30));
	/* C division truncates toward zero; so must this. */
	return (s32)(nudged >= 0 ? nudged >> 31 : -((-nudged) >> 31));
}

/* x / 2^exp rounded to nearest, ties away from zero; exp in 0..31. */
static inline s32 mcai_rdivpot(s32 x, int exp)
{
	s64 mask = (1LL << exp) - 1;
	s64 rem = (s64)x & mask;
	s64 threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	s64 q = (s64)x >> exp;	/* arithmetic shift, as gcc and clang do */

	return (s32)(q + (rem > threshold ? 1 : 0));
}

/* x * mult * 2^shift / 2^31; shift in -31..30, mult in 0..S32_MAX. */
static inline s32 mcai_requant(s32 x, s32 mult, int shift)
{
	int left = shift > 0 ? shift : 0;
	int right = shift > 0 ? 0 : -shift;

	return mcai_rdivpot(mcai_srdhm(mcai_sat32((s64)x * (1LL << left)),
				       mult), right);
}

#endif /* MCAI_REQUANT_H */
