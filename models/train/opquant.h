/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Offline parameters of the engine v2 operators (models/engine/ops.h),
 * user space only: what needs a float or libm is computed here, once, and
 * the kernels see integers.  TFLite's conventions and, where TFLite has
 * one, its arithmetic (add, mul, softmax), so that a converted model's
 * parameters come out the same.
 */
#ifndef MCAI_OPQUANT_H
#define MCAI_OPQUANT_H

#include "models/engine/ops.h"

/*
 * The output clamp of a fused activation (MCAI_ACT_NONE, _RELU, _RELU6 of
 * uapi/mcai.h), TFLite's CalculateActivationRangeQuantized: ReLU clamps
 * at the quantised 0 (the zero point), ReLU6 also at the quantised 6.
 */
void mcai_act_range(int act, double scale, s32 zp, s8 *lo, s8 *hi);

/*
 * A 256-entry table for mcai_lut(): entry q + 128 holds
 * clamp(round(fn((q - in_zp) * in_scale) / out_scale) + out_zp), rounding
 * half away from zero (TFLite's LUTPopulate rule; TFLite indexes by
 * (u8)q, the engine by q + 128).
 */
void mcai_lut_build(double (*fn)(double), double in_scale, s32 in_zp,
		    double out_scale, s32 out_zp, s8 lut[256]);

/* The functions the tables usually hold. */
double mcai_fn_sigmoid(double x);
double mcai_fn_tanh(double x);
double mcai_fn_hardswish(double x);	/* x * relu6(x + 3) / 6 */

/*
 * TFLite's int8 ADD preparation: left shift 20, input multipliers
 * in_scale / (2 * max in scale), output multiplier 2 * max in scale /
 * (2^20 * out_scale).  Sets the quantisation fields of @p and a clamp of
 * -128..127; shapes and a fused activation are the caller's.
 */
void mcai_add_prepare(struct mcai_add_params *p, double s1, s32 z1,
		      double s2, s32 z2, double so, s32 zo);

/* TFLite's int8 MUL: one multiplier s1 * s2 / so. */
void mcai_mul_prepare(struct mcai_mul_params *p, double s1, s32 z1,
		      double s2, s32 z2, double so, s32 zo);

/* A concatenation input of @in_scale/@in_zp into an output of @out_scale. */
void mcai_concat_prepare(struct mcai_concat_input *in, double in_scale,
			 s32 in_zp, double out_scale);

/* Mean of @count elements: the multiplier in_scale / (out_scale * count). */
void mcai_mean_prepare(struct mcai_mean_params *p, double in_scale,
		       s32 in_zp, double out_scale, s32 out_zp, u32 count);

/*
 * TFLite's softmax preparation (PreprocessSoftmaxScaling with 5 integer
 * bits, CalculateInputRadius): beta * in_scale * 2^26 as a multiplier of
 * at least 1, capped at 2^31 - 1 (shift 30), and the smallest difference
 * that still contributes.
 */
void mcai_softmax_prepare(struct mcai_softmax_params *p, double beta,
			  double in_scale);

/* The anomaly head: score * score_scale = MSE in real units. */
void mcai_recon_prepare(struct mcai_recon_params *p, u32 len,
			  double out_scale, s32 out_zp, double in_scale,
			  s32 in_zp, double score_scale);

/* int16 feature quantisation: clamp(round(x / scale) + zp). */
s16 mcai_quantize_s16(double x, double scale, s32 zp);

/*
 * A split "x <= t" on a feature quantised by (scale, zp) as the int16
 * threshold floor(t / scale + zp), clamped: for every value on the
 * feature's grid, g = (q - zp) * scale, g <= t exactly when q <= T.  So
 * the int16 tree decides as the float tree does on the dequantised
 * features.  A t below the grid's lowest value clamps to -32768 and then
 * sends q = -32768 left: the writer should fold such a split away.
 */
s16 mcai_tree_threshold(double t, double scale, s32 zp);

#endif /* MCAI_OPQUANT_H */
