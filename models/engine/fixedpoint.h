/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixed-point arithmetic beyond requant.h, for the operators that need a
 * non-linear function or a 64-bit accumulator without floating point:
 * gemmlowp's exp, reciprocal and logistic (fixedpoint.h there), which
 * TFLite's integer softmax is built on, and a 64-bit requantisation.
 *
 * A value "in Q(i)" is an s32 raw r meaning r / 2^(31 - i): i integer
 * bits, 31 - i fractional bits (gemmlowp's FixedPoint<int32_t, i>).
 */
#ifndef MCAI_FIXEDPOINT_H
#define MCAI_FIXEDPOINT_H

#include "models/engine/port.h"

/* Leading zero bits: 32 (64) for 0. */
int mcai_clz32(u32 x);
int mcai_clz64(u64 x);

/*
 * x * 2^e, saturated, for e in -62..31; a negative e divides, rounding to
 * nearest with ties away from zero (gemmlowp's
 * SaturatingRoundingMultiplyByPOT, and RoundingDivideByPOT extended past
 * 31, where TFLite's softmax may shift an int32 by up to 34).
 */
s32 mcai_fp_mulpot(s32 x, int e);

/*
 * e^a for a <= 0 in Q(int_bits), int_bits 0..29; the result in Q0
 * (S32_MAX for 1.0).  gemmlowp's exp_on_negative_values: a Taylor series
 * around -1/8 on the fraction modulo 1/4, then a product of the constants
 * e^-(2^k) selected by the bits of the rest.
 */
s32 mcai_fp_exp_neg(s32 a, int int_bits);

/* 1 / (1 + a) for a in [0, 1) in Q0: gemmlowp's Newton-Raphson. */
s32 mcai_fp_recip1p(s32 a);

/*
 * 1 / (1 + e^-a) of a in Q(int_bits), int_bits 0..29, in Q0: gemmlowp's
 * logistic (1/2 exactly at 0, symmetric: 1 - f(-a) below it).
 */
s32 mcai_fp_logistic(s32 a, int int_bits);

/*
 * round(x * mult * 2^shift / 2^31) for a 64-bit x, mult in 0..S32_MAX,
 * shift in -31..30: exact (a 96-bit product, no 64-bit division), one
 * rounding, ties away from zero, saturated to s32.  For accumulators that
 * cannot be bounded to 32 bits (linear models, the anomaly head).
 */
s32 mcai_requant64(s64 x, s32 mult, int shift);

#endif /* MCAI_FIXEDPOINT_H */
