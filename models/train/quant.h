/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Float <-> int8 quantisation helpers (user space only): the trainer and
 * the federation runtime quantise through these, so every blob follows the
 * same rules as the engine that runs it.
 */
#ifndef MCAI_QUANT_H
#define MCAI_QUANT_H

#include "models/engine/port.h"

/* Asymmetric int8 parameters covering [lo, hi] (which is widened to hold 0). */
void mcai_qparams(float lo, float hi, float *scale, s8 *zp);

/* q = clamp(round(x / scale) + zp) */
s8 mcai_quantize(float x, float scale, s8 zp);

/* real = mult * 2^shift / 2^31, mult in [2^30, 2^31) (or 0 for real 0). */
void mcai_quantize_multiplier(double real, s32 *mult, s32 *shift);

/* Symmetric per-row int8 weights: scale = max|w| / 127, values in -127..127. */
void mcai_quantize_rows(const float *w, u32 rows, u32 cols, s8 *q,
			float *row_scale);

/* round(v) as s32; a bias that does not fit saturates rather than wrapping. */
s32 mcai_round_s32(double v);

#endif /* MCAI_QUANT_H */
