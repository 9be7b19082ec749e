// SPDX-License-Identifier: GPL-2.0
/*
 * Convolutions and fully connected (models/engine/op_conv.c) against a
 * reference written differently: the input is first padded explicitly
 * with its zero point into a larger image (TFLite's definition of
 * padding), then every output is a plain 64-bit sum over the dilated
 * window, the bias added in 64 bits and saturated, requantised by the
 * 128-bit reference of helpers.c, offset and clamped.  Buffers are heap
 * blocks of exactly the tensor's size, so AddressSanitizer sees overruns.
 */
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/ops.h"

/* A conv's arrays, sized exactly. */
struct conv_case {
	struct mcai_conv_params p;
	int depthwise;
	s8 *in, *filter, *out, *ref;
	s32 *bias, *mult, *shift;
	size_t in_len, f_len, out_len;
};

static void case_free(struct conv_case *c)
{
	free(c->in);
	free(c->filter);
	free(c->out);
	free(c->ref);
	free(c->bias);
	free(c->mult);
	free(c->shift);
}

/* The weight of output channel oc, tap (ky, kx), input channel i of its group. */
static int weight(const struct conv_case *c, u32 oc, u32 ky, u32 kx, u32 i)
{
	const struct mcai_conv_params *p = &c->p;

	if (c->depthwise)
		return c->filter[((size_t)ky * p->k_w + kx) * p->out_c + oc];
	return c->filter[(((size_t)oc * p->k_h + ky) * p->k_w + kx) *
			 (p->in_c / p->groups) + i];
}

/* The reference; returns the number of multiply-accumulates it did. */
static uint64_t ref_conv(struct conv_case *c)
{
	const struct mcai_conv_params *p = &c->p;
	u32 ph = p->in_h + p->pad_top + p->pad_bottom;
	u32 pw = p->in_w + p->pad_left + p->pad_right;
	u32 groups = c->depthwise ? p->in_c : p->groups;
	u32 icg = p->in_c / groups, ocg = p->out_c / groups;
	size_t plane = (size_t)ph * pw * p->in_c;
	s8 *padded = unit_xmalloc(plane * p->batch);
	uint64_t macs = 0;
	u32 b, y, x, oc, ky, kx, i;

	for (b = 0; b < p->batch; b++)
		for (y = 0; y < ph; y++)
			for (x = 0; x < pw; x++)
				for (i = 0; i < p->in_c; i++) {
					int in_img = y >= p->pad_top &&
						     y < p->pad_top + p->in_h &&
						     x >= p->pad_left &&
						     x < p->pad_left + p->in_w;
					s8 v = (s8)p->in_zp;

					if (in_img)
						v = c->in[(((size_t)b * p->in_h + y - p->pad_top) *
							   p->in_w + x - p->pad_left) *
							  p->in_c + i];
					padded[b * plane + ((size_t)y * pw + x) * p->in_c + i] = v;
				}
	for (b = 0; b < p->batch; b++)
		for (y = 0; y < p->out_h; y++)
			for (x = 0; x < p->out_w; x++)
				for (oc = 0; oc < p->out_c; oc++) {
					u32 g = oc / ocg;
					int64_t acc = 0, v;

					for (ky = 0; ky < p->k_h; ky++)
						for (kx = 0; kx < p->k_w; kx++)
							for (i = 0; i < icg; i++) {
								u32 yy = y * p->stride_h + ky * p->dil_h;
								u32 xx = x * p->stride_w + kx * p->dil_w;
								int a = padded[b * plane + ((size_t)yy * pw + xx) *
										p->in_c + g * icg + i];

								acc += (int64_t)(a - p->in_zp) *
								       weight(c, oc, ky, kx, i);
								macs++;
							}
					acc += c->bias ? c->bias[oc] : 0;
					acc = acc > INT32_MAX ? INT32_MAX :
					      acc < INT32_MIN ? INT32_MIN : acc;
					v = (int64_t)unit_ref_requant((s32)acc,
								      p->mult[oc],
								      p->shift[oc]) +
					    p->out_zp;
					v = v < p->act_min ? p->act_min :
					    v > p->act_max ? p->act_max : v;
					c->ref[(((size_t)b * p->out_h + y) * p->out_w + x) *
					       p->out_c + oc] = (s8)v;
				}
	free(padded);
	return macs;
}

/*
 * Fill the arrays of a case whose shape is set.  Multipliers in
 * [2^30, 2^31) and a shift scaled to the window so outputs spread over
 * int8 and some saturate; @extra_shift pushes them further.
 */
static void case_fill(struct conv_case *c, uint64_t *seed, int extra_shift)
{
	struct mcai_conv_params *p = &c->p;
	u32 taps = p->k_h * p->k_w *
		   (c->depthwise ? 1 : p->in_c / p->groups);
	int base = -8, oc;
	size_t i;

	for (i = taps; i > 1; i >>= 2)
		base--;
	c->in_len = (size_t)p->batch * p->in_h * p->in_w * p->in_c;
	c->out_len = (size_t)p->batch * p->out_h * p->out_w * p->out_c;
	c->f_len = (size_t)taps * p->out_c;
	c->in = unit_xmalloc(c->in_len);
	c->filter = unit_xmalloc(c->f_len);
	c->out = unit_xmalloc(c->out_len);
	c->ref = unit_xmalloc(c->out_len);
	c->bias = unit_xmalloc(p->out_c * sizeof(s32));
	c->mult = unit_xmalloc(p->out_c * sizeof(s32));
	c->shift = unit_xmalloc(p->out_c * sizeof(s32));
	for (i = 0; i < c->in_len; i++)
		c->in[i] = unit_rnd_s8(seed);
	for (i = 0; i < c->f_len; i++)
		c->filter[i] = unit_rnd_w(seed);
	for (oc = 0; oc < (int)p->out_c; oc++) {
		c->bias[oc] = unit_rnd_in(seed, -20000, 20000);
		c->mult[oc] = (s32)((1U << 30) | (unit_rnd32(seed) >> 2));
		c->shift[oc] = base + extra_shift + unit_rnd_in(seed, -1, 2);
	}
	p->mult = c->mult;
	p->shift = c->shift;
}

/* Run the kernel under test and compare every output. */
static void case_run(struct conv_case *c, const char *what)
{
	const struct mcai_conv_params *p = &c->p;
	const char *why;
	uint64_t macs;
	size_t i;

	why = c->depthwise ? mcai_depthwise_check(p) : mcai_conv2d_check(p);
	EXPECT(why == NULL, "%s: check refused a valid case: %s", what, why);
	macs = ref_conv(c);
	memset(c->out, 0x55, c->out_len);
	if (c->depthwise)
		mcai_depthwise_conv2d(p, c->in, c->filter, c->bias, c->out);
	else
		mcai_conv2d(p, c->in, c->filter, c->bias, c->out);
	for (i = 0; i < c->out_len; i++)
		EXPECT(c->out[i] == c->ref[i],
		       "%s: output %zu is %d, reference %d (in %ux%ux%u, k %ux%u, stride %u/%u, dil %u/%u, pad %u,%u,%u,%u, groups %u, out_c %u)",
		       what, i, c->out[i], c->ref[i], p->in_h, p->in_w,
		       p->in_c, p->k_h, p->k_w, p->stride_h, p->stride_w,
		       p->dil_h, p->dil_w, p->pad_top, p->pad_left,
		       p->pad_bottom, p->pad_right, p->groups, p->out_c);
	EXPECT(macs == (c->depthwise ? mcai_depthwise_macs(p) :
			mcai_conv2d_macs(p)),
	       "%s: MAC count %llu, reference loop did %llu", what,
	       (unsigned long long)(c->depthwise ? mcai_depthwise_macs(p) :
				    mcai_conv2d_macs(p)),
	       (unsigned long long)macs);
}

/* Padding of one axis: VALID, SAME, or explicit and asymmetric. */
static int pick_pad(uint64_t *seed, u32 in, u32 k, u32 stride, u32 dil,
		    u32 *out, u32 *before, u32 *after)
{
	int mode = unit_rnd_in(seed, 0, 2);
	u32 eff = (k - 1) * dil + 1;

	if (mode == 1) {
		mcai_op_same_pad(in, k, stride, dil, out, before, after);
	} else {
		*before = mode == 0 ? 0 : (u32)unit_rnd_in(seed, 0, (int)eff);
		*after = mode == 0 ? 0 : (u32)unit_rnd_in(seed, 0, (int)eff);
		*out = mcai_op_out_dim(in, k, stride, dil, *before, *after);
	}
	return *out > 0;
}

static void random_shape(struct conv_case *c, uint64_t *seed, int depthwise)
{
	struct mcai_conv_params *p = &c->p;

	memset(c, 0, sizeof(*c));
	c->depthwise = depthwise;
	do {
		p->batch = (u32)unit_rnd_in(seed, 1, 2);
		p->in_h = (u32)unit_rnd_in(seed, 1, 9);
		p->in_w = (u32)unit_rnd_in(seed, 1, 9);
		p->k_h = (u32)unit_rnd_in(seed, 1, 4);
		p->k_w = (u32)unit_rnd_in(seed, 1, 4);
		p->stride_h = (u32)unit_rnd_in(seed, 1, 4);
		p->stride_w = (u32)unit_rnd_in(seed, 1, 4);
		p->dil_h = (u32)unit_rnd_in(seed, 1, 3);
		p->dil_w = (u32)unit_rnd_in(seed, 1, 3);
	} while (!pick_pad(seed, p->in_h, p->k_h, p->stride_h, p->dil_h,
			   &p->out_h, &p->pad_top, &p->pad_bottom) ||
		 !pick_pad(seed, p->in_w, p->k_w, p->stride_w, p->dil_w,
			   &p->out_w, &p->pad_left, &p->pad_right));
	if (depthwise) {
		p->groups = 1;
		p->in_c = (u32)unit_rnd_in(seed, 1, 9);
		p->out_c = p->in_c * (u32)unit_rnd_in(seed, 1, 3);
	} else {
		p->groups = (u32)unit_rnd_in(seed, 1, 3);
		p->in_c = p->groups * (u32)unit_rnd_in(seed, 1, 6);
		p->out_c = p->groups * (u32)unit_rnd_in(seed, 1, 6);
	}
	p->in_zp = unit_rnd_in(seed, -128, 127);
	p->out_zp = unit_rnd_in(seed, -128, 127);
	p->act_min = (s8)unit_rnd_in(seed, -128, 0);
	p->act_max = (s8)unit_rnd_in(seed, p->act_min, 127);
	if (unit_rnd_in(seed, 0, 2) == 0) {
		p->act_min = -128;
		p->act_max = 127;
	}
}

START_TEST(conv2d_random)
{
	uint64_t seed = 0xc0111 + (uint64_t)_i;
	int k;

	for (k = 0; k < 100; k++) {
		struct conv_case c;

		random_shape(&c, &seed, 0);
		case_fill(&c, &seed, 0);
		if (k % 7 == 0) {
			free(c.bias);
			c.bias = NULL;
		}
		case_run(&c, "conv2d");
		case_free(&c);
	}
}
END_TEST

START_TEST(depthwise_random)
{
	uint64_t seed = 0xde9 + (uint64_t)_i;
	int k;

	for (k = 0; k < 100; k++) {
		struct conv_case c;

		random_shape(&c, &seed, 1);
		case_fill(&c, &seed, 0);
		case_run(&c, "depthwise");
		case_free(&c);
	}
}
END_TEST

/* A hand-computed case pins the semantics, not just agreement. */
START_TEST(conv2d_known_answer)
{
	/* 3x3x1 image, 2x2 filter of ones, VALID, identity requant */
	static const s8 img[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const s8 f[4] = { 1, 1, 1, 1 };
	s32 mult = 1 << 30, shift = 1, bias = 100;
	struct mcai_conv_params p = {
		.batch = 1, .in_h = 3, .in_w = 3, .in_c = 1,
		.out_h = 2, .out_w = 2, .out_c = 1, .k_h = 2, .k_w = 2,
		.stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
		.groups = 1, .in_zp = 1, .out_zp = -100,
		.act_min = -128, .act_max = 127, .mult = &mult, .shift = &shift,
	};
	s8 out[4];

	ck_assert_ptr_null(mcai_conv2d_check(&p));
	mcai_conv2d(&p, img, f, &bias, out);
	/* (1+2+4+5) - 4 * 1 = 8, + 100 bias, - 100 zp */
	ck_assert_int_eq(out[0], 8);
	ck_assert_int_eq(out[1], 12);
	ck_assert_int_eq(out[2], 20);
	ck_assert_int_eq(out[3], 24);
	/* SAME, stride 2: out 2x2, pad bottom/right 1 (TFLite: extra at the end) */
	p.stride_h = p.stride_w = 2;
	mcai_op_same_pad(3, 2, 2, 1, &p.out_h, &p.pad_top, &p.pad_bottom);
	mcai_op_same_pad(3, 2, 2, 1, &p.out_w, &p.pad_left, &p.pad_right);
	ck_assert_uint_eq(p.out_h, 2);
	ck_assert_uint_eq(p.pad_top, 0);
	ck_assert_uint_eq(p.pad_bottom, 1);
	ck_assert_ptr_null(mcai_conv2d_check(&p));
	mcai_conv2d(&p, img, f, &bias, out);
	ck_assert_int_eq(out[0], 8);		/* 1+2+4+5 - 4 */
	ck_assert_int_eq(out[1], 3 + 6 - 2);	/* padded taps add 0 */
	ck_assert_int_eq(out[2], 7 + 8 - 2);
	ck_assert_int_eq(out[3], 9 - 1);
}
END_TEST

/* Edge shapes named one by one. */
struct edge {
	const char *what;
	u32 in_h, in_w, in_c, out_c, k_h, k_w, stride, dil, groups;
	int same, depthwise;
};

static const struct edge edges[] = {
	{ "1x1 pointwise", 5, 7, 13, 11, 1, 1, 1, 1, 1, 0, 0 },
	{ "1x1 stride 2", 6, 7, 3, 5, 1, 1, 2, 1, 1, 0, 0 },
	{ "stride > kernel", 9, 11, 2, 3, 2, 2, 5, 1, 1, 0, 0 },
	{ "stride > kernel SAME", 9, 11, 2, 3, 2, 1, 4, 1, 1, 1, 0 },
	{ "dilation 2 SAME", 8, 8, 3, 4, 3, 3, 1, 2, 1, 1, 0 },
	{ "dilation 3 stride 2", 12, 10, 2, 2, 3, 2, 2, 3, 1, 0, 0 },
	{ "even kernel SAME (asymmetric)", 6, 5, 4, 3, 4, 2, 1, 1, 1, 1, 0 },
	{ "groups 2", 5, 5, 6, 4, 3, 3, 1, 1, 2, 1, 0 },
	{ "groups = channels", 5, 4, 5, 10, 3, 3, 1, 1, 5, 1, 0 },
	{ "single channel", 7, 9, 1, 1, 3, 3, 1, 1, 1, 1, 0 },
	{ "kernel = input", 4, 6, 3, 7, 4, 6, 1, 1, 1, 0, 0 },
	{ "odd channels 7 -> 13", 5, 5, 7, 13, 3, 3, 2, 1, 1, 1, 0 },
	{ "depthwise multiplier 1", 6, 6, 9, 9, 3, 3, 1, 1, 1, 1, 1 },
	{ "depthwise multiplier 3", 5, 7, 5, 15, 3, 3, 2, 1, 1, 1, 1 },
	{ "depthwise dilated", 9, 9, 3, 6, 3, 3, 1, 2, 1, 1, 1 },
	{ "depthwise 1x1 image", 1, 1, 4, 8, 3, 3, 1, 1, 1, 1, 1 },
	{ "depthwise single channel", 6, 5, 1, 1, 2, 2, 2, 1, 1, 0, 1 },
};

START_TEST(conv_edges)
{
	const struct edge *e = &edges[_i];
	uint64_t seed = 0xed9e + (uint64_t)_i;
	struct conv_case c;
	struct mcai_conv_params *p = &c.p;
	int sat;

	for (sat = -1; sat <= 1; sat++) {
		memset(&c, 0, sizeof(c));
		c.depthwise = e->depthwise;
		p->batch = 1;
		p->in_h = e->in_h;
		p->in_w = e->in_w;
		p->in_c = e->in_c;
		p->out_c = e->out_c;
		p->k_h = e->k_h;
		p->k_w = e->k_w;
		p->stride_h = p->stride_w = e->stride;
		p->dil_h = p->dil_w = e->dil;
		p->groups = e->groups;
		if (e->same) {
			mcai_op_same_pad(p->in_h, p->k_h, e->stride, e->dil,
					 &p->out_h, &p->pad_top, &p->pad_bottom);
			mcai_op_same_pad(p->in_w, p->k_w, e->stride, e->dil,
					 &p->out_w, &p->pad_left, &p->pad_right);
		} else {
			p->out_h = mcai_op_out_dim(p->in_h, p->k_h, e->stride,
						   e->dil, 0, 0);
			p->out_w = mcai_op_out_dim(p->in_w, p->k_w, e->stride,
						   e->dil, 0, 0);
		}
		p->in_zp = unit_rnd_in(&seed, -128, 127);
		p->out_zp = unit_rnd_in(&seed, -20, 20);
		p->act_min = -128;
		p->act_max = 127;
		/* sat = +-1: shifts 8 larger, so most outputs saturate */
		case_fill(&c, &seed, sat ? 8 : 0);
		case_run(&c, e->what);
		if (sat) {
			size_t i, lo = 0, hi = 0;

			for (i = 0; i < c.out_len; i++) {
				lo += c.out[i] == -128;
				hi += c.out[i] == 127;
			}
			EXPECT(lo > 0 || hi > 0, "%s: nothing saturated",
			       e->what);
		}
		case_free(&c);
	}
}
END_TEST

/* Groups = in_c with one filter per channel is a depthwise conv. */
START_TEST(grouped_equals_depthwise)
{
	uint64_t seed = 77;
	struct conv_case d, g;
	size_t i;
	u32 oc, t, mult;

	random_shape(&d, &seed, 1);
	case_fill(&d, &seed, 0);
	mult = d.p.out_c / d.p.in_c;
	g = d;
	g.depthwise = 0;
	g.p.groups = d.p.in_c;
	g.filter = unit_xmalloc(d.f_len);
	g.out = unit_xmalloc(d.out_len);
	/* 1HWO -> OHWI with I = 1 */
	for (oc = 0; oc < d.p.out_c; oc++)
		for (t = 0; t < d.p.k_h * d.p.k_w; t++)
			g.filter[(size_t)oc * d.p.k_h * d.p.k_w + t] =
				d.filter[(size_t)t * d.p.out_c + oc];
	ck_assert_ptr_null(mcai_conv2d_check(&g.p));
	mcai_depthwise_conv2d(&d.p, d.in, d.filter, d.bias, d.out);
	mcai_conv2d(&g.p, g.in, g.filter, g.bias, g.out);
	for (i = 0; i < d.out_len; i++)
		EXPECT(d.out[i] == g.out[i], "output %zu (multiplier %u)", i,
		       mult);
	free(g.filter);
	free(g.out);
	case_free(&d);
}
END_TEST

/* conv1d is conv2d on a height of 1, whatever the H fields say. */
START_TEST(conv1d_is_conv2d_h1)
{
	uint64_t seed = 0x1d + (uint64_t)_i;
	int k;

	for (k = 0; k < 40; k++) {
		struct conv_case c;
		struct mcai_conv_params q;
		s8 *out1;
		size_t i;

		random_shape(&c, &seed, 0);
		c.p.in_h = c.p.out_h = c.p.k_h = 1;
		c.p.stride_h = c.p.dil_h = 1;
		c.p.pad_top = c.p.pad_bottom = 0;
		case_fill(&c, &seed, 0);
		case_run(&c, "conv1d as 2d");
		q = c.p;
		q.k_h = 5;		/* ignored by conv1d */
		q.pad_top = 3;
		ck_assert_ptr_null(mcai_conv1d_check(&q));
		out1 = unit_xmalloc(c.out_len);
		mcai_conv1d(&q, c.in, c.filter, c.bias, out1);
		for (i = 0; i < c.out_len; i++)
			EXPECT(out1[i] == c.ref[i], "conv1d output %zu", i);
		ck_assert_uint_eq(mcai_conv1d_macs(&q), mcai_conv2d_macs(&c.p));
		free(out1);
		case_free(&c);
	}
}
END_TEST

/* Fully connected against the same reference, as a 1x1 conv. */
START_TEST(fc_random)
{
	uint64_t seed = 0xfc;
	int k;

	for (k = 0; k < 120; k++) {
		struct conv_case c;
		struct mcai_fc_params f;
		s8 *out;
		size_t i;

		memset(&c, 0, sizeof(c));
		c.p.batch = (u32)unit_rnd_in(&seed, 1, 3);
		c.p.in_h = c.p.in_w = c.p.out_h = c.p.out_w = 1;
		c.p.k_h = c.p.k_w = c.p.stride_h = c.p.stride_w = 1;
		c.p.dil_h = c.p.dil_w = c.p.groups = 1;
		c.p.in_c = (u32)unit_rnd_in(&seed, 1, k < 100 ? 70 : 1500);
		c.p.out_c = (u32)unit_rnd_in(&seed, 1, 19);
		c.p.in_zp = unit_rnd_in(&seed, -128, 127);
		c.p.out_zp = unit_rnd_in(&seed, -128, 127);
		c.p.act_min = (s8)unit_rnd_in(&seed, -128, 0);
		c.p.act_max = 127;
		case_fill(&c, &seed, 0);
		ref_conv(&c);
		memset(&f, 0, sizeof(f));
		f.batch = c.p.batch;
		f.in_len = c.p.in_c;
		f.out_len = c.p.out_c;
		f.in_zp = c.p.in_zp;
		f.out_zp = c.p.out_zp;
		f.act_min = c.p.act_min;
		f.act_max = c.p.act_max;
		f.mult = c.mult;
		f.shift = c.shift;
		ck_assert_ptr_null(mcai_fc_check(&f));
		out = unit_xmalloc(c.out_len);
		mcai_fully_connected(&f, c.in, c.filter, c.bias, out);
		for (i = 0; i < c.out_len; i++)
			EXPECT(out[i] == c.ref[i], "fc output %zu: %d vs %d", i,
			       out[i], c.ref[i]);
		ck_assert_uint_eq(mcai_fc_macs(&f),
				  (u64)f.batch * f.in_len * f.out_len);
		free(out);
		case_free(&c);
	}
}
END_TEST

/*
 * Requantisation by exactly 1 (2^30 * 2^1 / 2^31), weights in -1..1 and
 * inputs mostly at their zero point: outputs are the accumulators
 * themselves, so an error of one in any term shows.
 */
static void lsb_fill(struct conv_case *c, uint64_t *seed)
{
	size_t i;

	for (i = 0; i < c->f_len; i++)
		c->filter[i] = (s8)unit_rnd_in(seed, -1, 1);
	c->p.in_zp = unit_rnd_in(seed, -126, 125);
	c->p.out_zp = unit_rnd_in(seed, -20, 20);
	for (i = 0; i < c->in_len; i++)
		c->in[i] = (s8)(c->p.in_zp +
				(unit_rnd_in(seed, 0, 7) ? 0 : unit_rnd_in(seed, -2, 2)));
	for (i = 0; i < c->p.out_c; i++) {
		if (c->bias)
			c->bias[i] = unit_rnd_in(seed, -60, 60);
		c->mult[i] = 1 << 30;
		c->shift[i] = 1;
	}
}

START_TEST(conv_lsb_exact)
{
	uint64_t seed = 0x158;
	int k, sat = 0, total = 0;

	for (k = 0; k < 150; k++) {
		struct conv_case c;
		size_t i;

		random_shape(&c, &seed, k % 3 == 1);
		if (k % 3 == 2) {		/* long 1x1 dot products: FC-like */
			c.p.in_h = c.p.in_w = c.p.out_h = c.p.out_w = 1;
			c.p.k_h = c.p.k_w = 1;
			c.p.pad_top = c.p.pad_bottom = 0;
			c.p.pad_left = c.p.pad_right = 0;
			c.p.groups = 1;
			c.p.in_c = (u32)unit_rnd_in(&seed, 900, 2100);
			c.p.out_c = (u32)unit_rnd_in(&seed, 1, 9);
		}
		c.p.act_min = -128;
		c.p.act_max = 127;
		case_fill(&c, &seed, 0);
		lsb_fill(&c, &seed);
		case_run(&c, "conv, requantised by 1");
		for (i = 0; i < c.out_len; i++)
			sat += c.out[i] == -128 || c.out[i] == 127;
		total += (int)c.out_len;
		if (k % 3 == 2) {
			/* and the same as a fully connected layer */
			struct mcai_fc_params f = {
				.batch = c.p.batch, .in_len = c.p.in_c,
				.out_len = c.p.out_c, .in_zp = c.p.in_zp,
				.out_zp = c.p.out_zp, .act_min = -128,
				.act_max = 127, .mult = c.mult,
				.shift = c.shift,
			};

			memset(c.out, 0x55, c.out_len);
			mcai_fully_connected(&f, c.in, c.filter, c.bias,
					     c.out);
			for (i = 0; i < c.out_len; i++)
				EXPECT(c.out[i] == c.ref[i], "fc %zu", i);
		}
		case_free(&c);
	}
	/* the outputs are mostly inside int8, not saturated */
	EXPECT(sat * 10 < total, "%d of %d outputs saturated", sat, total);
}
END_TEST

/* The longest dot product the check allows, at the extremes, is exact. */
START_TEST(fc_longest_dot)
{
	u32 n = MCAI_OP_MAX_DOT;
	s8 *x = unit_xmalloc(n), *w = unit_xmalloc(n);
	s32 mult = 1 << 30, shift = -24, bias = 0;
	struct mcai_fc_params f = {
		.batch = 1, .in_len = n, .out_len = 1, .in_zp = 127,
		.out_zp = 0, .act_min = -128, .act_max = 127,
		.mult = &mult, .shift = &shift,
	};
	s8 out;
	u32 i;

	for (i = 0; i < n; i++) {
		x[i] = -128;	/* x - zp = -255 */
		w[i] = -127;
	}
	ck_assert_ptr_null(mcai_fc_check(&f));
	mcai_fully_connected(&f, x, w, &bias, &out);
	/* 65536 * 32385 / 2 / 2^24 = 63.25 -> 63 */
	ck_assert_int_eq(out, unit_ref_requant(2122383360, mult, shift));
	ck_assert_int_eq(out, 63);
	f.in_len = n + 1;
	ck_assert_ptr_nonnull(mcai_fc_check(&f));
	free(x);
	free(w);
}
END_TEST

START_TEST(conv_check_refuses)
{
	s32 mult[4] = { 1 << 30, 1 << 30, 1 << 30, 1 << 30 };
	s32 shift[4] = { 0, 0, 0, 0 };
	struct mcai_conv_params ok = {
		.batch = 1, .in_h = 5, .in_w = 5, .in_c = 2,
		.out_h = 3, .out_w = 3, .out_c = 4, .k_h = 3, .k_w = 3,
		.stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
		.groups = 2, .act_min = -128, .act_max = 127,
		.mult = mult, .shift = shift,
	};
	struct mcai_conv_params p;
	static const s8 w[3] = { 1, -127, -128 };

	ck_assert_ptr_null(mcai_conv2d_check(&ok));
	p = ok;
	p.out_h = 4;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	p = ok;
	p.groups = 3;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	p = ok;
	p.groups = 0;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	p = ok;
	p.stride_w = 0;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	p = ok;
	p.in_zp = 128;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	p = ok;
	p.act_min = 5;
	p.act_max = 4;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	p = ok;
	shift[2] = 31;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	shift[2] = 0;
	mult[1] = -1;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	mult[1] = 1 << 30;
	p.mult = NULL;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	/* a window too long for an s32 accumulator */
	p = ok;
	p.in_h = p.in_w = 300;
	p.k_h = 256;
	p.k_w = 257;
	p.in_c = p.groups = 1;
	p.out_c = 1;
	p.out_h = 45;
	p.out_w = 44;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	p.k_w = 128;
	p.out_w = 173;
	ck_assert_ptr_null(mcai_conv2d_check(&p));
	/* huge dimensions: refused, no overflow in the arithmetic */
	p = ok;
	p.in_h = p.in_w = 0xffffffffU;
	p.out_h = p.out_w = 0xfffffffdU;
	ck_assert_ptr_nonnull(mcai_conv2d_check(&p));
	/* depthwise: out_c a multiple of in_c */
	p = ok;
	p.in_c = 3;
	ck_assert_ptr_nonnull(mcai_depthwise_check(&p));
	p.in_c = 2;
	ck_assert_ptr_null(mcai_depthwise_check(&p));
	ck_assert_ptr_null(mcai_op_check_weights(w, 2));
	ck_assert_ptr_nonnull(mcai_op_check_weights(w, 3));
}
END_TEST

START_TEST(out_dim_and_same_pad)
{
	u32 out, b, a, in, k, s, d;

	ck_assert_uint_eq(mcai_op_out_dim(5, 3, 1, 1, 0, 0), 3);
	ck_assert_uint_eq(mcai_op_out_dim(5, 3, 2, 1, 0, 0), 2);
	ck_assert_uint_eq(mcai_op_out_dim(5, 3, 1, 2, 0, 0), 1);
	ck_assert_uint_eq(mcai_op_out_dim(5, 3, 1, 3, 0, 0), 0);
	ck_assert_uint_eq(mcai_op_out_dim(5, 3, 1, 3, 1, 1), 1);
	ck_assert_uint_eq(mcai_op_out_dim(0, 1, 1, 1, 0, 0), 0);
	ck_assert_uint_eq(mcai_op_out_dim(1, 1, 0, 1, 0, 0), 0);
	ck_assert_uint_eq(mcai_op_out_dim(0xffffffffU, 1, 1, 1, 0xffffffffU,
					  0xffffffffU), 0);
	/* SAME: out = ceil(in / stride), and the padding makes it fit */
	for (in = 1; in < 20; in++)
		for (k = 1; k < 6; k++)
			for (s = 1; s < 5; s++)
				for (d = 1; d < 4; d++) {
					mcai_op_same_pad(in, k, s, d, &out, &b,
							 &a);
					EXPECT(out == (in + s - 1) / s,
					       "SAME out %u for in %u", out, in);
					EXPECT(a == b || a == b + 1,
					       "SAME pads %u/%u", b, a);
					EXPECT(mcai_op_out_dim(in, k, s, d, b,
							       a) == out,
					       "SAME pads do not give out");
				}
}
END_TEST

Suite *op_conv_suite(void)
{
	Suite *s = suite_create("op_conv");
	TCase *t = tcase_create("conv");

	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, conv2d_random, 0, 3);
	tcase_add_loop_test(t, depthwise_random, 0, 3);
	tcase_add_test(t, conv2d_known_answer);
	tcase_add_loop_test(t, conv_edges, 0,
			    (int)(sizeof(edges) / sizeof(edges[0])));
	tcase_add_test(t, grouped_equals_depthwise);
	tcase_add_loop_test(t, conv1d_is_conv2d_h1, 0, 2);
	tcase_add_test(t, fc_random);
	tcase_add_test(t, conv_lsb_exact);
	tcase_add_test(t, fc_longest_dot);
	tcase_add_test(t, conv_check_refuses);
	tcase_add_test(t, out_dim_and_same_pad);
	suite_add_tcase(s, t);
	return s;
}
