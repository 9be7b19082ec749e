// SPDX-License-Identifier: GPL-2.0
/*
 * Convolutions (conv2d with groups, depthwise, conv1d) and fully
 * connected: TFLite's int8 reference kernels (ConvPerChannel,
 * DepthwiseConvPerChannel, FullyConnected) with per-output-channel
 * requantisation.  The reference for the SIMD kernels, so written for
 * clarity: one output at a time, padding handled by skipping the taps
 * that fall outside the input.
 */
#include "models/engine/ops.h"

static int mcai_zp_ok(s32 zp)
{
	return zp >= -128 && zp <= 127;
}

/* What conv2d and depthwise share: sizes, output shape, quantisation. */
static const char *mcai_conv_common(const struct mcai_conv_params *p)
{
	u32 in[4] = { p->batch, p->in_h, p->in_w, p->in_c };
	u32 out[4] = { p->batch, p->out_h, p->out_w, p->out_c };

	if (!mcai_op_elems(in) || !mcai_op_elems(out))
		return "empty tensor";
	if (mcai_op_elems(in) > MCAI_OP_MAX_ELEMS ||
	    mcai_op_elems(out) > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	if (!p->k_h || !p->k_w || !p->stride_h || !p->stride_w ||
	    !p->dil_h || !p->dil_w)
		return "zero window, stride or dilation";
	if (p->out_h != mcai_op_out_dim(p->in_h, p->k_h, p->stride_h,
					p->dil_h, p->pad_top, p->pad_bottom) ||
	    p->out_w != mcai_op_out_dim(p->in_w, p->k_w, p->stride_w,
					p->dil_w, p->pad_left, p->pad_right))
		return "output size disagrees with input, window and padding";
	if (!mcai_zp_ok(p->in_zp) || !mcai_zp_ok(p->out_zp))
		return "zero point outside int8";
	if (p->act_min > p->act_max)
		return "empty activation range";
	return mcai_op_check_requant(p->mult, p->shift, p->out_c);
}

const char *mcai_conv2d_check(const struct mcai_conv_params *p)
{
	const char *why = mcai_conv_common(p);
	u64 taps;

	if (why)
		return why;
	if (!p->groups || p->in_c % p->groups || p->out_c % p->groups)
		return "channels not a multiple of the groups";
	taps = (u64)p->k_h * p->k_w * (p->in_c / p->groups);
	if (taps > MCAI_OP_MAX_DOT)
		return "dot product longer than MCAI_OP_MAX_DOT";
	if (taps * p->out_c > MCAI_OP_MAX_ELEMS)
		return "filter too large";
	return NULL;
}

const char *mcai_depthwise_check(const struct mcai_conv_params *p)
{
	const char *why = mcai_conv_common(p);
	u64 taps;

	if (why)
		return why;
	if (p->out_c % p->in_c)
		return "depthwise output channels not a multiple of the input's";
	taps = (u64)p->k_h * p->k_w;
	if (taps > MCAI_OP_MAX_DOT)
		return "dot product longer than MCAI_OP_MAX_DOT";
	if (taps * p->out_c > MCAI_OP_MAX_ELEMS)
		return "filter too large";
	return NULL;
}

/* A conv1d is a conv2d with a height of 1, as TFLite lowers it. */
static void mcai_conv1d_as_2d(const struct mcai_conv_params *p,
			      struct mcai_conv_params *q)
{
	*q = *p;
	q->in_h = 1;
	q->out_h = 1;
	q->k_h = 1;
	q->stride_h = 1;
	q->dil_h = 1;
	q->pad_top = 0;
	q->pad_bottom = 0;
}

const char *mcai_conv1d_check(const struct mcai_conv_params *p)
{
	struct mcai_conv_params q;

	mcai_conv1d_as_2d(p, &q);
	return mcai_conv2d_check(&q);
}

/*
 * One output channel's dot product over the window at (y0, x0) of the
 * image @img: @f is the channel's filter [k_h][k_w][n], @in_c0 the
 * group's first input channel.  The check bounds k_h * k_w * n by
 * MCAI_OP_MAX_DOT, so the s32 accumulator cannot overflow.
 */
static s32 mcai_conv_dot(const struct mcai_conv_params *p, const s8 *img,
			 s64 y0, s64 x0, const s8 *f, u32 in_c0, u32 n)
{
	s32 acc = 0;
	u32 ky, kx, i;

	for (ky = 0; ky < p->k_h; ky++) {
		s64 y = y0 + (s64)ky * p->dil_h;

		if (y < 0 || y >= p->in_h)
			continue;
		for (kx = 0; kx < p->k_w; kx++) {
			s64 x = x0 + (s64)kx * p->dil_w;
			const s8 *px, *pf;

			if (x < 0 || x >= p->in_w)
				continue;
			px = img + ((size_t)y * p->in_w + (size_t)x) * p->in_c +
			     in_c0;
			pf = f + ((size_t)ky * p->k_w + kx) * n;
			for (i = 0; i < n; i++)
				acc += (px[i] - p->in_zp) * pf[i];
		}
	}
	return acc;
}

/* Every output channel of conv2d at one output pixel, window at (y0, x0). */
static void mcai_conv_pixel(const struct mcai_conv_params *p, const s8 *img,
			    s64 y0, s64 x0, const s8 *filter,
			    const s32 *bias, s8 *out)
{
	const u32 icg = p->in_c / p->groups;
	const u32 ocg = p->out_c / p->groups;
	const size_t fsize = (size_t)p->k_h * p->k_w * icg;
	u32 oc;

	for (oc = 0; oc < p->out_c; oc++) {
		s32 acc = mcai_conv_dot(p, img, y0, x0, filter + oc * fsize,
					oc / ocg * icg, icg);

		out[oc] = mcai_op_out8(acc, bias ? bias[oc] : 0, p->mult[oc],
				       p->shift[oc], p->out_zp, p->act_min,
				       p->act_max);
	}
}

/*
 * One depthwise output channel @oc (input channel oc / mult) at
 * (y0, x0).  At most k_h * k_w <= MCAI_OP_MAX_DOT terms.  The SIMD
 * depthwise kernels end their rows of channels with it, so that their
 * last few channels are the reference's by construction.
 */
s32 mcai_dw_dot(const struct mcai_conv_params *p, const s8 *img,
		s64 y0, s64 x0, const s8 *filter, u32 oc, u32 ic)
{
	s32 acc = 0;
	u32 ky, kx;

	for (ky = 0; ky < p->k_h; ky++) {
		s64 y = y0 + (s64)ky * p->dil_h;

		if (y < 0 || y >= p->in_h)
			continue;
		for (kx = 0; kx < p->k_w; kx++) {
			s64 x = x0 + (s64)kx * p->dil_w;
			s32 v, w;

			if (x < 0 || x >= p->in_w)
				continue;
			v = img[((size_t)y * p->in_w + (size_t)x) * p->in_c + ic];
			w = filter[((size_t)ky * p->k_w + kx) * p->out_c + oc];
			acc += (v - p->in_zp) * w;
		}
	}
	return acc;
}

/* Every output channel of a depthwise conv at one output pixel. */
static void mcai_dw_pixel(const struct mcai_conv_params *p, const s8 *img,
			  s64 y0, s64 x0, const s8 *filter, const s32 *bias,
			  s8 *out)
{
	const u32 mult = p->out_c / p->in_c;
	u32 oc;

	for (oc = 0; oc < p->out_c; oc++) {
		s32 acc = mcai_dw_dot(p, img, y0, x0, filter, oc, oc / mult);

		out[oc] = mcai_op_out8(acc, bias ? bias[oc] : 0, p->mult[oc],
				       p->shift[oc], p->out_zp, p->act_min,
				       p->act_max);
	}
}

/*
 * The output pixels of a conv (@dw: depthwise) in NHWC order, each from
 * the window whose top-left tap is at (y0, x0), padding included.
 */
static void mcai_conv_walk(const struct mcai_conv_params *p, const s8 *in,
			   const s8 *filter, const s32 *bias, s8 *out, bool dw)
{
	const size_t img = (size_t)p->in_h * p->in_w * p->in_c;
	u32 b, oy, ox;

	for (b = 0; b < p->batch; b++) {
		for (oy = 0; oy < p->out_h; oy++) {
			s64 y0 = (s64)oy * p->stride_h - p->pad_top;

			for (ox = 0; ox < p->out_w; ox++) {
				s64 x0 = (s64)ox * p->stride_w - p->pad_left;

				if (dw)
					mcai_dw_pixel(p, in + b * img, y0, x0,
						      filter, bias, out);
				else
					mcai_conv_pixel(p, in + b * img, y0,
							x0, filter, bias, out);
				out += p->out_c;
			}
			mcai_yield();	/* a row of a big layer is enough */
		}
	}
}

void mcai_conv2d(const struct mcai_conv_params *p, const s8 *in,
		 const s8 *filter, const s32 *bias, s8 *out)
{
	mcai_conv_walk(p, in, filter, bias, out, false);
}

void mcai_depthwise_conv2d(const struct mcai_conv_params *p, const s8 *in,
			   const s8 *filter, const s32 *bias, s8 *out)
{
	mcai_conv_walk(p, in, filter, bias, out, true);
}

void mcai_conv1d(const struct mcai_conv_params *p, const s8 *in,
		 const s8 *filter, const s32 *bias, s8 *out)
{
	struct mcai_conv_params q;

	mcai_conv1d_as_2d(p, &q);
	mcai_conv2d(&q, in, filter, bias, out);
}

u64 mcai_conv2d_macs(const struct mcai_conv_params *p)
{
	u64 n = (u64)p->batch * p->out_h;

	n = mcai_op_mul_sat(n, (u64)p->out_w * p->out_c);
	n = mcai_op_mul_sat(n, (u64)p->k_h * p->k_w);
	return mcai_op_mul_sat(n, p->groups ? p->in_c / p->groups : 0);
}

u64 mcai_depthwise_macs(const struct mcai_conv_params *p)
{
	u64 n = (u64)p->batch * p->out_h;

	n = mcai_op_mul_sat(n, (u64)p->out_w * p->out_c);
	return mcai_op_mul_sat(n, (u64)p->k_h * p->k_w);
}

u64 mcai_conv1d_macs(const struct mcai_conv_params *p)
{
	struct mcai_conv_params q;

	mcai_conv1d_as_2d(p, &q);
	return mcai_conv2d_macs(&q);
}

const char *mcai_fc_check(const struct mcai_fc_params *p)
{
	if (!p->batch || !p->in_len || !p->out_len)
		return "empty tensor";
	if (p->in_len > MCAI_OP_MAX_DOT)
		return "dot product longer than MCAI_OP_MAX_DOT";
	if ((u64)p->batch * p->in_len > MCAI_OP_MAX_ELEMS ||
	    (u64)p->batch * p->out_len > MCAI_OP_MAX_ELEMS ||
	    (u64)p->in_len * p->out_len > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	if (!mcai_zp_ok(p->in_zp) || !mcai_zp_ok(p->out_zp))
		return "zero point outside int8";
	if (p->act_min > p->act_max)
		return "empty activation range";
	return mcai_op_check_requant(p->mult, p->shift, p->out_len);
}

/* At most in_len <= MCAI_OP_MAX_DOT terms: the s32 sum cannot overflow. */
void mcai_fully_connected(const struct mcai_fc_params *p, const s8 *in,
			  const s8 *weights, const s32 *bias, s8 *out)
{
	u32 b, o, i;

	for (b = 0; b < p->batch; b++) {
		const s8 *x = in + (size_t)b * p->in_len;

		for (o = 0; o < p->out_len; o++) {
			const s8 *w = weights + (size_t)o * p->in_len;
			s32 acc = 0;

			for (i = 0; i < p->in_len; i++)
				acc += (x[i] - p->in_zp) * w[i];
			*out++ = mcai_op_out8(acc, bias ? bias[o] : 0,
					      p->mult[o], p->shift[o],
					      p->out_zp, p->act_min,
					      p->act_max);
		}
		mcai_yield();
	}
}

u64 mcai_fc_macs(const struct mcai_fc_params *p)
{
	return mcai_op_mul_sat((u64)p->batch * p->in_len, p->out_len);
}
