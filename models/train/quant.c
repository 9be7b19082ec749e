// SPDX-License-Identifier: GPL-2.0
/*
 * Quantisation helpers, TFLite conventions: asymmetric activations,
 * symmetric per-channel weights, requantisation multiplier as Q31 + shift.
 */
#include <math.h>

#include "models/train/quant.h"

void mcai_qparams(float lo, float hi, float *scale, s8 *zp)
{
	double s, z;

	if (lo > 0)
		lo = 0;
	if (hi < 0)
		hi = 0;
	if (hi - lo < 1e-8f)
		hi = lo + 1e-8f;
	s = ((double)hi - lo) / 255.0;
	z = -128.0 - lo / s;
	z = nearbyint(z);
	if (z < -128)
		z = -128;
	if (z > 127)
		z = 127;
	*scale = (float)s;
	*zp = (s8)z;
}

s8 mcai_quantize(float x, float scale, s8 zp)
{
	double q = nearbyint((double)x / scale) + zp;

	if (isnan(q))
		return zp;

	if (q < -128)
		return -128;
	if (q > 127)
		return 127;
	return (s8)q;
}

void mcai_quantize_multiplier(double real, s32 *mult, s32 *shift)
{
	int exp;
	double frac;
	long long q;

	if (real <= 0) {
		*mult = 0;
		*shift = 0;
		return;
	}
	frac = frexp(real, &exp);	/* real = frac * 2^exp, frac in [0.5, 1) */
	q = llround(frac * (double)(1LL << 31));
	if (q == (1LL << 31)) {
		q /= 2;
		exp++;
	}
	if (exp < -31) {		/* too small to represent: it is zero */
		q = 0;
		exp = 0;
	}
	if (exp > 30) {
		q = 0x7fffffff;
		exp = 30;
	}
	*mult = (s32)q;
	*shift = exp;
}

void mcai_quantize_rows(const float *w, u32 rows, u32 cols, s8 *q,
			float *row_scale)
{
	u32 r, c;

	for (r = 0; r < rows; r++) {
		const float *wr = w + (size_t)r * cols;
		float m = 0, s;

		for (c = 0; c < cols; c++)
			if (isfinite(wr[c]) && fabsf(wr[c]) > m)
				m = fabsf(wr[c]);
		s = m > 0 ? m / 127.0f : 1.0f;
		row_scale[r] = s;
		for (c = 0; c < cols; c++) {
			long v = isfinite(wr[c]) ? lrintf(wr[c] / s) : 0;

			q[(size_t)r * cols + c] = (s8)(v > 127 ? 127 : v < -127 ? -127 : v);
		}
	}
}

s32 mcai_round_s32(double v)
{
	if (v >= 2147483647.0)
		return S32_MAX;
	if (v <= -2147483648.0)
		return S32_MIN;
	return (s32)lrint(v);
}
