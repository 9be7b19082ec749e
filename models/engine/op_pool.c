// SPDX-License-Identifier: GPL-2.0
/*
 * Max and average pooling, 1-D, 2-D and global: TFLite's int8 reference
 * kernels (MaxPool, AveragePool).  Input and output share scale and zero
 * point, so no requantisation: a max is a max of raw values and a mean of
 * raw values is the raw value of the mean.
 */
#include "models/engine/ops.h"

const char *mcai_pool2d_check(const struct mcai_pool_params *p)
{
	u32 in[4] = { p->batch, p->in_h, p->in_w, p->c };
	u32 out[4] = { p->batch, p->out_h, p->out_w, p->c };

	if (!mcai_op_elems(in) || !mcai_op_elems(out))
		return "empty tensor";
	if (mcai_op_elems(in) > MCAI_OP_MAX_ELEMS ||
	    mcai_op_elems(out) > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	if (!p->k_h || !p->k_w || !p->stride_h || !p->stride_w)
		return "zero window or stride";
	/* |sum| <= 128 * 2^23: an s32 with room to round */
	if ((u64)p->k_h * p->k_w > MCAI_OP_MAX_MEAN)
		return "pooling window too large";
	/* every window then holds at least one input element */
	if (p->pad_top >= p->k_h || p->pad_bottom >= p->k_h ||
	    p->pad_left >= p->k_w || p->pad_right >= p->k_w)
		return "padding as large as the window";
	if (p->out_h != mcai_op_out_dim(p->in_h, p->k_h, p->stride_h, 1,
					p->pad_top, p->pad_bottom) ||
	    p->out_w != mcai_op_out_dim(p->in_w, p->k_w, p->stride_w, 1,
					p->pad_left, p->pad_right))
		return "output size disagrees with input, window and padding";
	if (p->act_min > p->act_max)
		return "empty activation range";
	return NULL;
}

static void mcai_pool1d_as_2d(const struct mcai_pool_params *p,
			      struct mcai_pool_params *q)
{
	*q = *p;
	q->in_h = 1;
	q->out_h = 1;
	q->k_h = 1;
	q->stride_h = 1;
	q->pad_top = 0;
	q->pad_bottom = 0;
}

/* The window is the whole plane, one output per channel. */
static void mcai_global_as_2d(const struct mcai_pool_params *p,
			      struct mcai_pool_params *q)
{
	*q = *p;
	q->out_h = 1;
	q->out_w = 1;
	q->k_h = p->in_h;
	q->k_w = p->in_w;
	q->stride_h = 1;
	q->stride_w = 1;
	q->pad_top = 0;
	q->pad_bottom = 0;
	q->pad_left = 0;
	q->pad_right = 0;
}

const char *mcai_pool1d_check(const struct mcai_pool_params *p)
{
	struct mcai_pool_params q;

	mcai_pool1d_as_2d(p, &q);
	return mcai_pool2d_check(&q);
}

const char *mcai_global_pool_check(const struct mcai_pool_params *p)
{
	struct mcai_pool_params q;

	mcai_global_as_2d(p, &q);
	return mcai_pool2d_check(&q);
}

void mcai_pool_span(s64 origin, u32 k, u32 in, u32 *lo, u32 *hi)
{
	s64 l = origin < 0 ? -origin : 0;
	s64 h = (s64)in - origin;

	if (h > k)
		h = k;
	if (l > k)
		l = k;
	if (h < l)
		h = l;
	*lo = (u32)l;
	*hi = (u32)h;
}

/*
 * One channel of one window: @base is the channel's value at the first
 * valid tap, rows x cols the valid taps.  @avg selects the mean of the
 * valid taps (TFLite counts only those, not the padding) over the max.
 */
static s32 mcai_pool_window(const struct mcai_pool_params *p, const s8 *base,
			    u32 rows, u32 cols, int avg)
{
	const size_t row = (size_t)p->in_w * p->c;
	s32 acc = avg ? 0 : -128;
	s32 count = (s32)(rows * cols);
	u32 ky, kx;

	for (ky = 0; ky < rows; ky++) {
		for (kx = 0; kx < cols; kx++) {
			s32 v = base[ky * row + (size_t)kx * p->c];

			if (avg)
				acc += v;
			else if (v > acc)
				acc = v;
		}
	}
	if (!avg)
		return acc;
	/* a window of padding alone (the check refuses it) gives 0 */
	if (!count)
		return 0;
	/* round half away from zero, as TFLite does */
	return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

static void mcai_pool(const struct mcai_pool_params *p, const s8 *in,
		      s8 *out, int avg)
{
	const size_t img = (size_t)p->in_h * p->in_w * p->c;
	u32 b, oy, ox, c, y_lo, y_hi, x_lo, x_hi;

	for (b = 0; b < p->batch; b++) {
		for (oy = 0; oy < p->out_h; oy++) {
			s64 y0 = (s64)oy * p->stride_h - p->pad_top;

			mcai_pool_span(y0, p->k_h, p->in_h, &y_lo, &y_hi);
			for (ox = 0; ox < p->out_w; ox++) {
				s64 x0 = (s64)ox * p->stride_w - p->pad_left;
				const s8 *base = in + b * img;

				mcai_pool_span(x0, p->k_w, p->in_w, &x_lo, &x_hi);
				if (y_hi > y_lo && x_hi > x_lo)
					base += ((size_t)(y0 + y_lo) * p->in_w +
						 (size_t)(x0 + x_lo)) * p->c;
				for (c = 0; c < p->c; c++) {
					s32 v = mcai_pool_window(p, base + c,
								 y_hi - y_lo,
								 x_hi - x_lo,
								 avg);

					*out++ = mcai_op_clamp8(v, p->act_min,
								p->act_max);
				}
			}
		}
	}
}

void mcai_max_pool2d(const struct mcai_pool_params *p, const s8 *in, s8 *out)
{
	mcai_pool(p, in, out, 0);
}

void mcai_avg_pool2d(const struct mcai_pool_params *p, const s8 *in, s8 *out)
{
	mcai_pool(p, in, out, 1);
}

void mcai_max_pool1d(const struct mcai_pool_params *p, const s8 *in, s8 *out)
{
	struct mcai_pool_params q;

	mcai_pool1d_as_2d(p, &q);
	mcai_pool(&q, in, out, 0);
}

void mcai_avg_pool1d(const struct mcai_pool_params *p, const s8 *in, s8 *out)
{
	struct mcai_pool_params q;

	mcai_pool1d_as_2d(p, &q);
	mcai_pool(&q, in, out, 1);
}

void mcai_global_avg_pool(const struct mcai_pool_params *p, const s8 *in,
			  s8 *out)
{
	struct mcai_pool_params q;

	mcai_global_as_2d(p, &q);
	mcai_pool(&q, in, out, 1);
}

u64 mcai_pool2d_macs(const struct mcai_pool_params *p)
{
	u64 n = (u64)p->batch * p->out_h;

	n = mcai_op_mul_sat(n, (u64)p->out_w * p->c);
	return mcai_op_mul_sat(n, (u64)p->k_h * p->k_w);
}

u64 mcai_pool1d_macs(const struct mcai_pool_params *p)
{
	struct mcai_pool_params q;

	mcai_pool1d_as_2d(p, &q);
	return mcai_pool2d_macs(&q);
}

u64 mcai_global_pool_macs(const struct mcai_pool_params *p)
{
	struct mcai_pool_params q;

	mcai_global_as_2d(p, &q);
	return mcai_pool2d_macs(&q);
}
