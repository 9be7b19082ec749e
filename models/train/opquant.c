// SPDX-License-Identifier: GPL-2.0
/*
 * Offline parameters of the engine v2 operators: TFLite's preparation
 * steps (add.cc, mul.cc, softmax's PreprocessSoftmaxScaling, activation
 * ranges, LUTPopulate) in double precision.
 */
#include <math.h>

#include "models/train/opquant.h"
#include "models/train/quant.h"
#include "uapi/mcai.h"

static s8 clamp8(double v)
{
	if (v < -128)
		return -128;
	if (v > 127)
		return 127;
	return (s8)v;
}

void mcai_act_range(int act, double scale, s32 zp, s8 *lo, s8 *hi)
{
	*lo = -128;
	*hi = 127;
	if (act == MCAI_ACT_RELU || act == MCAI_ACT_RELU6)
		*lo = clamp8(zp);
	if (act == MCAI_ACT_RELU6)
		*hi = clamp8(zp + round(6.0 / scale));
}

void mcai_lut_build(double (*fn)(double), double in_scale, s32 in_zp,
		    double out_scale, s32 out_zp, s8 lut[256])
{
	int q;

	for (q = -128; q <= 127; q++) {
		double y = fn((q - in_zp) * in_scale);

		lut[q + 128] = isnan(y) ? clamp8(out_zp) :
			       clamp8(round(y / out_scale) + out_zp);
	}
}

double mcai_fn_sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

double mcai_fn_tanh(double x)
{
	return tanh(x);
}

double mcai_fn_hardswish(double x)
{
	double r = x + 3;

	r = r < 0 ? 0 : r > 6 ? 6 : r;
	return x * r / 6;
}

/* TFLite's QuantizeMultiplierSmallerThanOneExp, and its general form. */
static void mult_of(double real, s32 *mult, s32 *shift)
{
	mcai_quantize_multiplier(real, mult, shift);
}

void mcai_add_prepare(struct mcai_add_params *p, double s1, s32 z1,
		      double s2, s32 z2, double so, s32 zo)
{
	double twice_max = 2 * (s1 > s2 ? s1 : s2);

	p->in1_zp = z1;
	p->in2_zp = z2;
	p->out_zp = zo;
	p->left_shift = 20;
	mult_of(s1 / twice_max, &p->in1_mult, &p->in1_shift);
	mult_of(s2 / twice_max, &p->in2_mult, &p->in2_shift);
	mult_of(twice_max / ((double)(1 << 20) * so), &p->out_mult,
		&p->out_shift);
	p->act_min = -128;
	p->act_max = 127;
}

void mcai_mul_prepare(struct mcai_mul_params *p, double s1, s32 z1,
		      double s2, s32 z2, double so, s32 zo)
{
	p->in1_zp = z1;
	p->in2_zp = z2;
	p->out_zp = zo;
	mult_of(s1 * s2 / so, &p->mult, &p->shift);
	p->act_min = -128;
	p->act_max = 127;
}

void mcai_concat_prepare(struct mcai_concat_input *in, double in_scale,
			 s32 in_zp, double out_scale)
{
	in->zp = in_zp;
	mult_of(in_scale / out_scale, &in->mult, &in->shift);
}

void mcai_mean_prepare(struct mcai_mean_params *p, double in_scale,
		       s32 in_zp, double out_scale, s32 out_zp, u32 count)
{
	p->in_zp = in_zp;
	p->out_zp = out_zp;
	mult_of(in_scale / (out_scale * count), &p->mult, &p->shift);
}

void mcai_softmax_prepare(struct mcai_softmax_params *p, double beta,
			  double in_scale)
{
	const int diff_bits = 5;
	double real = beta * in_scale * (double)(1LL << (31 - diff_bits));
	s32 mult, shift;

	if (real > 2147483647.0)
		real = 2147483647.0;
	mult_of(real, &mult, &shift);
	/*
	 * A multiplier below 1 (in_scale under 2^-27) has no use in TFLite
	 * either: fold the right shift into the mantissa.
	 */
	if (shift < 0) {
		mult = shift < -31 ? 0 : (s32)llround(ldexp(mult, shift));
		shift = 0;
	}
	p->input_mult = mult;
	p->input_left_shift = shift;
	p->diff_min = -(s32)floor((double)((1 << diff_bits) - 1) *
				  (double)(1LL << (31 - diff_bits)) /
				  (double)(1LL << shift));
}

void mcai_recon_prepare(struct mcai_recon_params *p, u32 len,
			  double out_scale, s32 out_zp, double in_scale,
			  s32 in_zp, double score_scale)
{
	p->len = len;
	p->out_zp = out_zp;
	p->in_zp = in_zp;
	mult_of(in_scale / out_scale, &p->in_mult, &p->in_shift);
	mult_of(out_scale * out_scale / ((double)len * score_scale),
		&p->mean_mult, &p->mean_shift);
}

s16 mcai_quantize_s16(double x, double scale, s32 zp)
{
	double q = round(x / scale) + zp;

	if (isnan(q))
		return (s16)zp;
	if (q < -32768)
		return -32768;
	if (q > 32767)
		return 32767;
	return (s16)q;
}

s16 mcai_tree_threshold(double t, double scale, s32 zp)
{
	double q = floor(t / scale + zp);

	if (q < -32768)
		return -32768;
	if (q > 32767)
		return 32767;
	return (s16)q;
}
