// SPDX-License-Identifier: GPL-2.0
/*
 * The SIMD drivers of fully connected, conv2d (conv1d is one) and
 * depthwise: plain C that walks the output like the scalar reference
 * (op_conv.c), gathers each output pixel's window (im2col, the input
 * zero point where the window leaves the image, which contributes
 * nothing once corr subtracts it) into a buffer on the stack, lets the
 * active path's kernels (op_conv_<isa>.c) compute the int32
 * accumulators of up to MCAI_SIMD_OCB channels, and ends with the
 * vector output stage (mcai_simd_out8()).  simd.h has the rest.
 */
#include "models/engine/simd.h"

/* One im2col chunk and the bytes a kr-wide load may read past it. */
#define MCAI_SIMD_XBUF	(MCAI_SIMD_KC + MCAI_SIMD_SLACK)

static u32 mcai_min32(u32 a, u32 b)
{
	return a < b ? a : b;
}

/*
 * @len activations into @buf, and zeros up to the next kr (the padding
 * taps, whose weights are zero too, then multiply defined bytes).
 */
static void mcai_simd_fill(u8 *buf, const s8 *x, u32 len)
{
	memcpy(buf, x, len);
	memset(buf + len, 0, 4);
}

bool mcai_simd_fc_row(const struct mcai_pack *pk, const s8 *x,
		      const void *ctx, mcai_simd_out_fn fn, s8 *out,
		      u32 *section)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	u8 buf[MCAI_SIMD_XBUF];
	s32 acc[MCAI_SIMD_OCB];
	u32 c0, k0, nch, len;

	if (!isa || !mcai_simd_usable(pk))
		return false;
	if (pk->k <= MCAI_SIMD_KC) {
		mcai_simd_fill(buf, x, pk->k);
		isa->prep(buf, pk->k);
	}
	for (c0 = 0; c0 < pk->n; c0 += MCAI_SIMD_OCB) {
		nch = mcai_min32(MCAI_SIMD_OCB, pk->n - c0);
		for (k0 = 0; k0 < pk->k; k0 += MCAI_SIMD_KC) {
			len = mcai_min32(MCAI_SIMD_KC, pk->k - k0);
			if (pk->k > MCAI_SIMD_KC) {
				mcai_simd_fill(buf, x + k0, len);
				isa->prep(buf, len);
			}
			isa->dot(pk, buf, k0, len, c0, nch, acc, k0 == 0);
			mcai_simd_tick(section, nch * len,
				       k0 + len == pk->k ? nch : 0);
		}
		fn(ctx, c0, nch, acc, out);
	}
	return true;
}

struct mcai_simd_fc_ctx {
	const struct mcai_fc_params *p;
	const s32 *bias;
};

static void mcai_simd_fc_out(const void *ctx, u32 c0, u32 nch,
			     const s32 *acc, s8 *out)
{
	const struct mcai_simd_fc_ctx *fc = ctx;
	const struct mcai_fc_params *p = fc->p;
	struct mcai_simd_outq q = {
		.bias = fc->bias ? fc->bias + c0 : NULL,
		.mult = p->mult + c0, .shift = p->shift + c0,
		.out_zp = p->out_zp, .lo = p->act_min, .hi = p->act_max,
	};

	mcai_simd_out8(&q, acc, nch, out + c0);
}

bool mcai_simd_fc(const struct mcai_fc_params *p, const struct mcai_pack *pk,
		  const s8 *in, const s32 *bias, s8 *out)
{
	struct mcai_simd_fc_ctx ctx = { .p = p, .bias = bias };
	u32 b, section = 0;

	if (!mcai_simd_usable(pk) || pk->n != p->out_len ||
	    pk->k != p->in_len || !mcai_simd_begin())
		return false;
	for (b = 0; b < p->batch; b++)
		mcai_simd_fc_row(pk, in + (size_t)b * p->in_len, &ctx,
				 mcai_simd_fc_out, out + (size_t)b * p->out_len,
				 &section);
	mcai_simd_end();
	return true;
}

/*
 * @n bytes: a first layer's few channels inline (4 to 15 as two
 * overlapping word copies, which the compiler makes two loads and two
 * stores each), longer runs by memcpy
 */
static inline void mcai_simd_copy(u8 *d, const s8 *s, u32 n)
{
	if (n >= 16) {
		memcpy(d, s, n);
	} else if (n >= 8) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else if (n) {
		/* 1 to 3: bytes 0, n / 2 and n - 1 cover them all */
		d[0] = (u8)s[0];
		d[n / 2] = (u8)s[n / 2];
		d[n - 1] = (u8)s[n - 1];
	}
}

/*
 * Window taps [k0, k0 + len) of group @g at (y0, x0) into @buf, in the
 * filter's (ky, kx, ic) order; taps outside the image are the zero point.
 * Walked without a division a tap, in runs: a whole window inside the
 * image is k_h row copies; otherwise, with one group and no dilation
 * along x, each window row is at most three runs (padding, the taps
 * inside, padding), else tap by tap.
 */
static void mcai_simd_patch(const struct mcai_conv_params *p, const s8 *img,
			    s64 y0, s64 x0, u32 g, u32 k0, u32 len, u8 *buf)
{
	const u32 icg = p->in_c / p->groups;
	u32 tap = k0 / icg, ic = k0 % icg;
	u32 ky = tap / p->k_w, kx = tap % p->k_w;
	u32 k = 0;

	/* a whole window inside the image: k_h row copies */
	if (p->groups == 1 && p->dil_w == 1 && !k0 &&
	    len == p->k_h * p->k_w * icg && x0 >= 0 &&
	    x0 + p->k_w <= p->in_w && y0 >= 0 &&
	    y0 + (s64)(p->k_h - 1) * p->dil_h < p->in_h) {
		const u32 rowlen = p->k_w * icg;
		const s8 *s = img + ((size_t)y0 * p->in_w + (size_t)x0) *
			      p->in_c;

		for (ky = 0; ky < p->k_h; ky++, k += rowlen)
			mcai_simd_copy(buf + k, s + (size_t)ky * p->dil_h *
				       p->in_w * p->in_c, rowlen);
	}
	while (k < len) {
		s64 y = y0 + (s64)ky * p->dil_h;
		s64 x = x0 + (s64)kx * p->dil_w;
		bool y_in = y >= 0 && y < p->in_h;
		bool in = y_in && x >= 0 && x < p->in_w;
		s64 t = 1;
		u32 n, run;

		/* taps from kx on that are all padding or all contiguous */
		if (!y_in)
			t = p->k_w;
		else if (p->groups == 1 && p->dil_w == 1)
			t = x < 0 ? -x : in ? (s64)p->in_w - x : p->k_w;
		n = t < p->k_w - kx ? (u32)t : p->k_w - kx;
		run = mcai_min32(n * icg - ic, len - k);
		if (!in)
			memset(buf + k, (u8)p->in_zp, run);
		else
			mcai_simd_copy(buf + k, img + ((size_t)y * p->in_w +
						       (size_t)x) * p->in_c +
				       (size_t)g * icg + ic, run);
		k += run;
		ic = 0;
		kx += n;
		if (kx == p->k_w) {
			kx = 0;
			ky++;
		}
	}
	memset(buf + len, 0, 4);
}

/*
 * The output stage of channels [c0, c0 + nch) of @np pixels (pixel i's
 * accumulators at acc + i * MCAI_SIMD_OCB, its bytes at out + i *
 * out_c): the path's out8n called directly, once for the pixels of a
 * block, so that each channel's constants are made once (the drivers
 * run it thousands of times a layer, a few channels at a time).  @taps,
 * the dot products' length, bounds the accumulators.
 */
static void mcai_simd_conv_out(const struct mcai_simd_isa *isa,
			       const struct mcai_conv_params *p,
			       const s32 *bias, u32 taps, u32 c0, u32 nch,
			       const s32 *acc, u32 np, s8 *out)
{
	struct mcai_simd_outq q = {
		.bias = bias ? bias + c0 : NULL,
		.mult = p->mult + c0, .shift = p->shift + c0,
		.out_zp = p->out_zp, .lo = p->act_min, .hi = p->act_max,
		.acc_max = mcai_simd_acc_max(taps),
	};
	u32 i;

	if (isa->out8n) {
		isa->out8n(&q, acc, MCAI_SIMD_OCB, np, nch, out + c0, p->out_c);
		return;
	}
	for (i = 0; i < np; i++) {
		const s32 *a = acc + i * MCAI_SIMD_OCB;
		s8 *o = out + (size_t)i * p->out_c + c0;

		if (isa->out8)
			isa->out8(&q, a, nch, o);
		else
			mcai_simd_out8(&q, a, nch, o);
	}
}

/* Every output channel of one pixel, group by group. */
static void mcai_simd_conv_pixel(const struct mcai_conv_params *p,
				 const struct mcai_simd_isa *isa,
				 const struct mcai_pack *pk, const s8 *img,
				 s64 y0, s64 x0, const s32 *bias, s8 *out,
				 u32 *section)
{
	const u32 ocg = p->out_c / p->groups;
	u8 buf[MCAI_SIMD_XBUF];
	s32 acc[MCAI_SIMD_OCB];
	u32 g, c0, k0, nch, len;

	for (g = 0; g < p->groups; g++) {
		if (pk->k <= MCAI_SIMD_KC) {
			mcai_simd_patch(p, img, y0, x0, g, 0, pk->k, buf);
			isa->prep(buf, pk->k);
		}
		for (c0 = g * ocg; c0 < (g + 1) * ocg; c0 += MCAI_SIMD_OCB) {
			nch = mcai_min32(MCAI_SIMD_OCB, (g + 1) * ocg - c0);
			for (k0 = 0; k0 < pk->k; k0 += MCAI_SIMD_KC) {
				len = mcai_min32(MCAI_SIMD_KC, pk->k - k0);
				if (pk->k > MCAI_SIMD_KC) {
					mcai_simd_patch(p, img, y0, x0, g, k0,
							len, buf);
					isa->prep(buf, len);
				}
				isa->dot(pk, buf, k0, len, c0, nch, acc,
					 k0 == 0);
				mcai_simd_tick(section, nch * len,
					       k0 + len == pk->k ? nch : 0);
			}
			mcai_simd_conv_out(isa, p, bias, pk->k, c0, nch, acc,
					   1, out);
		}
	}
}

/*
 * Whether the window at x0 lies in the image (rows checked by the
 * caller): its k_h rows are then each k_w * in_c contiguous bytes of
 * the image, which dot4() reads where they are, with no gathering.
 */
static bool mcai_simd_inside(const struct mcai_conv_params *p, s64 x0)
{
	return x0 >= 0 && x0 + p->k_w <= p->in_w;
}

/*
 * Where a block's windows are read: window row ky of the pixel at
 * column x starts at base + ky * rstride + x * in_c.  The image itself
 * (base at row y0, rstride dil_h rows), or a row's band (below).
 */
struct mcai_simd_src {
	const s8 *base;
	size_t rstride;
};

/*
 * Pixels at columns x0[0..np) of one row, np <= 4, all inside @src:
 * four at a time through dot4() (a short block repeats its last pixel),
 * the window's rows read where they are.
 */
static void mcai_simd_conv_block(const struct mcai_conv_params *p,
				 const struct mcai_simd_isa *isa,
				 const struct mcai_pack *pk,
				 const struct mcai_simd_src *src,
				 const s64 *x0, u32 np, const s32 *bias,
				 s8 *out, u32 *section)
{
	const u32 rowlen = p->k_w * p->in_c;
	s32 acc[4 * MCAI_SIMD_OCB];
	const u8 *xp[4];
	u32 c0, nch, ky, off, len, i;

	for (c0 = 0; c0 < p->out_c; c0 += MCAI_SIMD_OCB) {
		nch = mcai_min32(MCAI_SIMD_OCB, p->out_c - c0);
		for (ky = 0; ky < p->k_h; ky++) {
			const s8 *row = src->base + ky * src->rstride;

			for (off = 0; off < rowlen; off += MCAI_SIMD_KC4) {
				len = mcai_min32(MCAI_SIMD_KC4, rowlen - off);
				for (i = 0; i < 4; i++)
					xp[i] = (const u8 *)row +
						(size_t)x0[i < np ? i : np - 1] *
						p->in_c + off;
				isa->dot4(pk, xp, ky * rowlen + off, len, c0,
					  nch, acc, ky == 0 && off == 0);
				mcai_simd_tick(section, 4 * nch * len,
					       ky + 1 == p->k_h &&
					       off + len == rowlen ? np * nch : 0);
			}
		}
		mcai_simd_conv_out(isa, p, bias, pk->k, c0, nch, acc, np,
				   out);
	}
}

/*
 * Pixels x0[0..np) of one row, np <= 4, through dot4() from gathered
 * windows: those that mcai_simd_conv_block() cannot read in place (a
 * window over the image's edge, rows of a width not a multiple of kr,
 * a first layer's one or three channels).  Four pixels share each
 * weight load and one call, where mcai_simd_conv_pixel() takes a call
 * and a pass over the weights a pixel.  A window of up to KC4 taps is
 * gathered once; a longer one KC4 taps at a time, for each block of
 * channels.  The raw activations go to dot4() (it applies prep).
 */
static void mcai_simd_conv_gblock(const struct mcai_conv_params *p,
				  const struct mcai_simd_isa *isa,
				  const struct mcai_pack *pk, const s8 *img,
				  s64 y0, const s64 *x0, u32 np,
				  const struct mcai_simd_src *band,
				  const s32 *bias, s8 *out, u32 *section)
{
	u8 buf[4][MCAI_SIMD_KC4 + MCAI_SIMD_SLACK];
	s32 acc[4 * MCAI_SIMD_OCB];
	const u8 *xp[4];
	const bool once = pk->k <= MCAI_SIMD_KC4;
	const u32 rowlen = p->k_w * p->in_c;
	u32 c0, k0, nch, len, i, ky;

	for (i = 0; i < 4; i++) {
		xp[i] = buf[i < np ? i : np - 1];
		if (!once || i >= np)
			continue;
		if (!band) {
			mcai_simd_patch(p, img, y0, x0[i], 0, 0, pk->k, buf[i]);
			continue;
		}
		/* from the band: k_h row copies, x0 its columns */
		for (ky = 0; ky < p->k_h; ky++)
			mcai_simd_copy(buf[i] + ky * rowlen, band->base +
				       ky * band->rstride +
				       (size_t)x0[i] * p->in_c, rowlen);
		memset(buf[i] + pk->k, 0, 4);
	}
	for (c0 = 0; c0 < p->out_c; c0 += MCAI_SIMD_OCB) {
		nch = mcai_min32(MCAI_SIMD_OCB, p->out_c - c0);
		for (k0 = 0; k0 < pk->k; k0 += MCAI_SIMD_KC4) {
			len = mcai_min32(MCAI_SIMD_KC4, pk->k - k0);
			for (i = 0; !once && i < np; i++)
				mcai_simd_patch(p, img, y0, x0[i], 0, k0, len,
						buf[i]);
			isa->dot4(pk, xp, k0, len, c0, nch, acc, k0 == 0);
			mcai_simd_tick(section, 4 * nch * len,
				       k0 + len == pk->k ? np * nch : 0);
		}
		mcai_simd_conv_out(isa, p, bias, pk->k, c0, nch, acc, np,
				   out);
	}
}

/* Bytes of a row's band on the stack (the kernel's frames stay small). */
#define MCAI_SIMD_BAND	1024U
/* Window rows shorter than this are copied from the band, not read there. */
#define MCAI_SIMD_BAND_ROW	32U

/*
 * A row's band: the k_h input rows its windows read (y0 + ky * dil_h),
 * each from column -pad_left over the width the row's windows span, the
 * input zero point where that leaves the image, so that every window
 * lies inside it.  Its columns are the image's + pad_left.  @w: columns.
 */
static void mcai_simd_band(const struct mcai_conv_params *p, const s8 *img,
			   s64 y0, u32 w, u8 *band)
{
	const size_t c = p->in_c;
	const s64 x0 = -(s64)p->pad_left;
	const s64 lo = x0 < 0 ? -x0 : 0;		/* first column inside */
	s64 hi = (s64)p->in_w - x0;			/* past the last */
	u32 ky;

	if (hi > w)
		hi = w;
	for (ky = 0; ky < p->k_h; ky++, band += w * c) {
		s64 y = y0 + (s64)ky * p->dil_h;

		if (y < 0 || y >= p->in_h || hi <= lo) {
			memset(band, (u8)p->in_zp, w * c);
			continue;
		}
		memset(band, (u8)p->in_zp, (size_t)lo * c);
		memcpy(band + lo * c, img + ((size_t)y * p->in_w +
					     (size_t)(x0 + lo)) * c,
		       (size_t)(hi - lo) * c);
		memset(band + hi * c, (u8)p->in_zp, (size_t)(w - hi) * c);
	}
}

/*
 * One output row.  Where dot4() applies (one group) and its windows
 * span few enough bytes, a row whose windows do not all lie in the
 * image (its edges, padded rows) or cannot be read in place (a first
 * layer's 1 or 3 channels: rows not whole kr-tap units) is first
 * copied into a band with its padding: then every pixel reads its
 * rows from the band in place (mcai_simd_conv_block()), or, rows not
 * of whole kr-tap units, copies its window from the band, with no
 * bounds to test (mcai_simd_conv_gblock()).  Otherwise runs of pixels
 * whose windows lie in the image go through mcai_simd_conv_block()
 * when dot4() applies in place (no dilation along x, whole kr-tap
 * units a row, so no read past a row's end); the others, four at a
 * time, through mcai_simd_conv_gblock() where the path has dot4() and
 * there is one group, else one by one, gathered.
 */
static void mcai_simd_conv_row(const struct mcai_conv_params *p,
			       const struct mcai_simd_isa *isa,
			       const struct mcai_pack *pk, const s8 *img,
			       s64 y0, bool rows_in, const s32 *bias, s8 *out,
			       u32 *section)
{
	bool gather = isa->dot4 && p->groups == 1;
	bool whole = (p->k_w * p->in_c) % isa->kr == 0;
	bool direct = gather && rows_in && p->dil_w == 1 && whole;
	const u32 bw = (p->out_w - 1) * p->stride_w + p->k_w;
	struct mcai_simd_src src = {
		.base = img + (rows_in ? (size_t)y0 * p->in_w * p->in_c : 0),
		.rstride = (size_t)p->dil_h * p->in_w * p->in_c,
	};
	u8 band[MCAI_SIMD_BAND];
	u32 ox = 0, np;
	s64 x0[4];

	if (gather && p->dil_w == 1 && (whole || pk->k <= MCAI_SIMD_KC4) &&
	    (u64)p->k_h * bw * p->in_c <= MCAI_SIMD_BAND &&
	    !(direct && mcai_simd_inside(p, -(s64)p->pad_left) &&
	      mcai_simd_inside(p, (s64)(p->out_w - 1) * p->stride_w -
			       p->pad_left))) {
		mcai_simd_band(p, img, y0, bw, band);
		src.base = (const s8 *)band;
		src.rstride = (size_t)bw * p->in_c;
		/*
		 * short rows (a first layer's) cost a dot4() call each
		 * read in place: copied, a window is one call
		 */
		if (pk->k <= MCAI_SIMD_KC4 &&
		    p->k_w * p->in_c < MCAI_SIMD_BAND_ROW)
			whole = false;
		for (; ox < p->out_w; ox += np) {
			for (np = 0; np < 4 && ox + np < p->out_w; np++)
				x0[np] = (s64)(ox + np) * p->stride_w;
			if (whole)
				mcai_simd_conv_block(p, isa, pk, &src, x0, np,
						     bias, out, section);
			else
				mcai_simd_conv_gblock(p, isa, pk, img, y0, x0,
						      np, &src, bias, out,
						      section);
			out += (size_t)np * p->out_c;
		}
		return;
	}
	while (ox < p->out_w) {
		for (np = 0; direct && np < 4 && ox + np < p->out_w; np++) {
			x0[np] = (s64)(ox + np) * p->stride_w - p->pad_left;
			if (!mcai_simd_inside(p, x0[np]))
				break;
		}
		if (np) {
			mcai_simd_conv_block(p, isa, pk, &src, x0, np, bias,
					     out, section);
		} else if (gather) {
			/* up to the next pixel conv_block() reads in place */
			for (; np < 4 && ox + np < p->out_w; np++) {
				x0[np] = (s64)(ox + np) * p->stride_w -
					 p->pad_left;
				if (np && direct && mcai_simd_inside(p, x0[np]))
					break;
			}
			mcai_simd_conv_gblock(p, isa, pk, img, y0, x0, np,
					      NULL, bias, out, section);
		} else {
			np = 1;
			mcai_simd_conv_pixel(p, isa, pk, img, y0,
					     (s64)ox * p->stride_w - p->pad_left,
					     bias, out, section);
		}
		ox += np;
		out += (size_t)np * p->out_c;
	}
}

bool mcai_simd_conv2d(const struct mcai_conv_params *p,
		      const struct mcai_pack *pk, const s8 *in,
		      const s32 *bias, s8 *out)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	const size_t img = (size_t)p->in_h * p->in_w * p->in_c;
	const size_t row = (size_t)p->out_w * p->out_c;
	u32 b, oy, section = 0;

	if (!isa || !mcai_simd_usable(pk) || pk->n != p->out_c ||
	    pk->groups != p->groups ||
	    pk->k != p->k_h * p->k_w * (p->in_c / p->groups) ||
	    !mcai_simd_begin())
		return false;
	for (b = 0; b < p->batch; b++) {
		for (oy = 0; oy < p->out_h; oy++) {
			s64 y0 = (s64)oy * p->stride_h - p->pad_top;
			s64 ylast = y0 + (s64)(p->k_h - 1) * p->dil_h;

			mcai_simd_conv_row(p, isa, pk, in + b * img, y0,
					   y0 >= 0 && ylast < p->in_h, bias,
					   out, &section);
			out += row;
		}
	}
	mcai_simd_end();
	return true;
}

/*
 * Depthwise, multiplier 1.  Runs of up to four pixels whose windows lie
 * in the image go to the path's dw4() (one tap list, each filter load
 * shared), the others one by one to dw(); then one output stage for
 * the run.
 */
bool mcai_simd_depthwise(const struct mcai_conv_params *p, const s8 *in,
			 const s8 *filter, const s32 *bias, s8 *out)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	const size_t img = (size_t)p->in_h * p->in_w * p->in_c;
	const u32 taps = p->k_h * p->k_w;
	const s64 xspan = (s64)(p->k_w - 1) * p->dil_w;
	s32 acc[4 * MCAI_SIMD_OCB];
	u32 b, oy, ox, c0, nch, np, i, section = 0;
	s64 x0[4];

	/* a channel multiplier gathers inputs: the reference does that */
	if (!isa || !isa->dw || p->out_c != p->in_c || !mcai_simd_begin())
		return false;
	for (b = 0; b < p->batch; b++) {
		for (oy = 0; oy < p->out_h; oy++) {
			s64 y0 = (s64)oy * p->stride_h - p->pad_top;
			bool rows_in = y0 >= 0 && y0 + (s64)(p->k_h - 1) *
				       p->dil_h < p->in_h && isa->dw4;

			for (ox = 0; ox < p->out_w; ox += np) {
				/* the run of pixels inside, if any, else one */
				for (np = 0; np < 4 && ox + np < p->out_w; np++) {
					x0[np] = (s64)(ox + np) * p->stride_w -
						 p->pad_left;
					if (!rows_in || x0[np] < 0 ||
					    x0[np] + xspan >= p->in_w)
						break;
				}
				for (c0 = 0; c0 < p->out_c;
				     c0 += MCAI_SIMD_OCB) {
					nch = mcai_min32(MCAI_SIMD_OCB,
							 p->out_c - c0);
					if (np) {
						isa->dw4(p, in + b * img, y0,
							 x0, np, filter, c0,
							 nch, acc);
					} else {
						isa->dw(p, in + b * img, y0,
							(s64)ox * p->stride_w -
							p->pad_left, filter,
							c0, nch, acc);
					}
					i = np ? np : 1;
					mcai_simd_conv_out(isa, p, bias, taps,
							   c0, nch, acc, i,
							   out);
					mcai_simd_tick(&section, i * nch * taps,
						       i * nch);
				}
				if (!np)
					np = 1;
				out += (size_t)np * p->out_c;
			}
		}
	}
	mcai_simd_end();
	return true;
}

bool mcai_simd_max_pool2d(const struct mcai_pool_params *p, const s8 *in,
			  s8 *out)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	const size_t img = (size_t)p->in_h * p->in_w * p->c;
	const size_t row = (size_t)p->in_w * p->c;
	u32 b, oy, ox, y_lo, y_hi, x_lo, x_hi, section = 0;

	if (!isa || !isa->maxp || !mcai_simd_begin())
		return false;
	for (b = 0; b < p->batch; b++) {
		for (oy = 0; oy < p->out_h; oy++) {
			s64 y0 = (s64)oy * p->stride_h - p->pad_top;

			mcai_pool_span(y0, p->k_h, p->in_h, &y_lo, &y_hi);
			for (ox = 0; ox < p->out_w; ox++) {
				s64 x0 = (s64)ox * p->stride_w - p->pad_left;
				const s8 *base = in + b * img;

				mcai_pool_span(x0, p->k_w, p->in_w, &x_lo,
					       &x_hi);
				/* the check leaves no window empty */
				base += ((size_t)(y0 + y_lo) * p->in_w +
					 (size_t)(x0 + x_lo)) * p->c;
				isa->maxp(base, row, p->c, y_hi - y_lo,
					  x_hi - x_lo, p->act_min, p->act_max,
					  out);
				mcai_simd_tick(&section, p->c * (y_hi - y_lo) *
					       (x_hi - x_lo), 0);
				out += p->c;
			}
		}
	}
	mcai_simd_end();
	return true;
}

/* Whether [a, a + n) and [b, b + n) are the same bytes or apart. */
static bool mcai_simd_apart(const s8 *a, const s8 *b, size_t n)
{
	return a == b || a + n <= b || b + n <= a;
}

/* Elements an add() call covers. */
#define MCAI_SIMD_ADD_CHUNK	1024U
/*
 * What an element counts in a section, in MACs: an element is three
 * requantisations (about 1.3 ns here, tests/bench/fpu_section_bench.c),
 * so that an add's section lasts about as long as a conv's (1-1.5 us);
 * at 16 it was 4096 elements, 5.2 us, the longest of any shipped model.
 */
#define MCAI_SIMD_ADD_COST	64U

bool mcai_simd_add(const struct mcai_add_params *p, const s8 *in1,
		   const s8 *in2, s8 *out)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	u64 n = mcai_op_elems(p->out);
	u32 section = 0, len;
	u64 i;
	int d;

	if (!isa || !isa->add)
		return false;
	/* broadcasting walks strides: the reference does that */
	for (d = 0; d < 4; d++)
		if (p->in1[d] != p->out[d] || p->in2[d] != p->out[d])
			return false;
	/* in place is fine (element i only reads element i); overlap not */
	if (!mcai_simd_apart(in1, out, n) || !mcai_simd_apart(in2, out, n) ||
	    !mcai_simd_begin())
		return false;
	for (i = 0; i < n; i += len) {
		len = (u32)(n - i < MCAI_SIMD_ADD_CHUNK ? n - i :
			    MCAI_SIMD_ADD_CHUNK);
		isa->add(p, in1 + i, in2 + i, len, out + i);
		mcai_simd_tick(&section, MCAI_SIMD_ADD_COST * len, 0);
	}
	mcai_simd_end();
	return true;
}
