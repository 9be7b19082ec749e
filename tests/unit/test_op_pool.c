// SPDX-License-Identifier: GPL-2.0
/*
 * Pooling (models/engine/op_pool.c) against a reference that walks every
 * tap of the window in padded coordinates and keeps the valid ones: max,
 * or the mean of the valid taps in double, rounded half away from zero
 * (C's round(), TFLite's rule).
 */
#include <math.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/ops.h"

static void ref_pool(const struct mcai_pool_params *p, const s8 *in, s8 *out,
		     int avg)
{
	u32 b, oy, ox, c, ky, kx;

	for (b = 0; b < p->batch; b++)
		for (oy = 0; oy < p->out_h; oy++)
			for (ox = 0; ox < p->out_w; ox++)
				for (c = 0; c < p->c; c++) {
					long sum = 0, n = 0, v;
					int max = -1000;

					for (ky = 0; ky < p->k_h; ky++)
						for (kx = 0; kx < p->k_w; kx++) {
							long y = (long)(oy * p->stride_h + ky) - p->pad_top;
							long x = (long)(ox * p->stride_w + kx) - p->pad_left;
							int q;

							if (y < 0 || y >= p->in_h || x < 0 || x >= p->in_w)
								continue;
							q = in[(((size_t)b * p->in_h + y) * p->in_w + x) * p->c + c];
							sum += q;
							n++;
							if (q > max)
								max = q;
						}
					ck_assert_int_gt(n, 0);
					v = avg ? lround((double)sum / n) : max;
					v = v < p->act_min ? p->act_min :
					    v > p->act_max ? p->act_max : v;
					out[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c + c] = (s8)v;
				}
}

static int pick_pad(uint64_t *seed, u32 in, u32 k, u32 stride, u32 *out,
		    u32 *before, u32 *after)
{
	int mode = unit_rnd_in(seed, 0, 2);

	if (mode == 1) {
		mcai_op_same_pad(in, k, stride, 1, out, before, after);
	} else {
		*before = mode ? (u32)unit_rnd_in(seed, 0, (int)k - 1) : 0;
		*after = mode ? (u32)unit_rnd_in(seed, 0, (int)k - 1) : 0;
		*out = mcai_op_out_dim(in, k, stride, 1, *before, *after);
	}
	return *out > 0;
}

static void random_pool(struct mcai_pool_params *p, uint64_t *seed)
{
	memset(p, 0, sizeof(*p));
	do {
		p->batch = (u32)unit_rnd_in(seed, 1, 2);
		p->in_h = (u32)unit_rnd_in(seed, 1, 10);
		p->in_w = (u32)unit_rnd_in(seed, 1, 10);
		p->c = (u32)unit_rnd_in(seed, 1, 9);
		p->k_h = (u32)unit_rnd_in(seed, 1, 5);
		p->k_w = (u32)unit_rnd_in(seed, 1, 5);
		p->stride_h = (u32)unit_rnd_in(seed, 1, 6);
		p->stride_w = (u32)unit_rnd_in(seed, 1, 6);
	} while (!pick_pad(seed, p->in_h, p->k_h, p->stride_h, &p->out_h,
			   &p->pad_top, &p->pad_bottom) ||
		 !pick_pad(seed, p->in_w, p->k_w, p->stride_w, &p->out_w,
			   &p->pad_left, &p->pad_right));
	p->act_min = -128;
	p->act_max = 127;
	if (unit_rnd_in(seed, 0, 3) == 0) {
		p->act_min = (s8)unit_rnd_in(seed, -128, 0);
		p->act_max = (s8)unit_rnd_in(seed, p->act_min, 127);
	}
}

/* Run max and average pooling of @p on random data; @dim 1 = pool1d. */
static void pool_case(const struct mcai_pool_params *p, uint64_t *seed,
		      int dim, const char *what)
{
	struct mcai_pool_params q = *p;
	size_t in_len = (size_t)p->batch * p->in_h * p->in_w * p->c;
	size_t out_len = (size_t)p->batch * p->out_h * p->out_w * p->c;
	s8 *in = unit_xmalloc(in_len), *out = unit_xmalloc(out_len);
	s8 *ref = unit_xmalloc(out_len);
	size_t i;
	int avg;

	for (i = 0; i < in_len; i++)
		in[i] = unit_rnd_s8(seed);
	EXPECT(mcai_pool2d_check(p) == NULL, "%s: check refused: %s", what,
	       mcai_pool2d_check(p));
	if (dim == 1) {
		/* the H fields are ignored: set them to nonsense */
		q.k_h = 7;
		q.pad_top = 9;
		q.stride_h = 0;
		ck_assert_ptr_null(mcai_pool1d_check(&q));
		ck_assert_uint_eq(mcai_pool1d_macs(&q), mcai_pool2d_macs(p));
	}
	for (avg = 0; avg < 2; avg++) {
		ref_pool(p, in, ref, avg);
		memset(out, 0x55, out_len);
		if (dim == 1)
			(avg ? mcai_avg_pool1d : mcai_max_pool1d)(&q, in, out);
		else
			(avg ? mcai_avg_pool2d : mcai_max_pool2d)(p, in, out);
		for (i = 0; i < out_len; i++)
			EXPECT(out[i] == ref[i],
			       "%s %s: output %zu is %d, reference %d (in %ux%u, k %ux%u, stride %u/%u, pad %u,%u,%u,%u)",
			       what, avg ? "avg" : "max", i, out[i], ref[i],
			       p->in_h, p->in_w, p->k_h, p->k_w, p->stride_h,
			       p->stride_w, p->pad_top, p->pad_left,
			       p->pad_bottom, p->pad_right);
	}
	ck_assert_uint_eq(mcai_pool2d_macs(p), (u64)p->batch * p->out_h *
			  p->out_w * p->c * p->k_h * p->k_w);
	free(in);
	free(out);
	free(ref);
}

START_TEST(pool2d_random)
{
	uint64_t seed = 0x9001 + (uint64_t)_i;
	int k;

	for (k = 0; k < 150; k++) {
		struct mcai_pool_params p;

		random_pool(&p, &seed);
		pool_case(&p, &seed, 2, "pool2d");
	}
}
END_TEST

START_TEST(pool1d_random)
{
	uint64_t seed = 0x9011;
	int k;

	for (k = 0; k < 100; k++) {
		struct mcai_pool_params p;

		random_pool(&p, &seed);
		p.in_h = p.out_h = p.k_h = p.stride_h = 1;
		p.pad_top = p.pad_bottom = 0;
		pool_case(&p, &seed, 1, "pool1d");
	}
}
END_TEST

START_TEST(pool_edges)
{
	uint64_t seed = 0x90ed;
	struct mcai_pool_params p = {
		.batch = 1, .in_h = 7, .in_w = 9, .c = 3, .k_h = 2, .k_w = 2,
		.stride_h = 5, .stride_w = 4, .act_min = -128, .act_max = 127,
	};

	/* stride > window: taps skipped */
	p.out_h = mcai_op_out_dim(7, 2, 5, 1, 0, 0);
	p.out_w = mcai_op_out_dim(9, 2, 4, 1, 0, 0);
	pool_case(&p, &seed, 2, "stride > window");
	/* SAME with an even window: the extra padding at the end */
	p.stride_h = p.stride_w = 1;
	p.k_h = 4;
	p.k_w = 2;
	mcai_op_same_pad(7, 4, 1, 1, &p.out_h, &p.pad_top, &p.pad_bottom);
	mcai_op_same_pad(9, 2, 1, 1, &p.out_w, &p.pad_left, &p.pad_right);
	ck_assert_uint_eq(p.pad_bottom, p.pad_top + 1);
	pool_case(&p, &seed, 2, "SAME even window");
	/* 1x1 window, single channel, stride 3 */
	p.k_h = p.k_w = 1;
	p.c = 1;
	p.stride_h = p.stride_w = 3;
	p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 0;
	p.out_h = mcai_op_out_dim(7, 1, 3, 1, 0, 0);
	p.out_w = mcai_op_out_dim(9, 1, 3, 1, 0, 0);
	pool_case(&p, &seed, 2, "1x1");
	/* a window larger than the image, padded all round (SAME) */
	p.in_h = p.in_w = 2;
	p.k_h = p.k_w = 3;
	p.stride_h = p.stride_w = 1;
	mcai_op_same_pad(2, 3, 1, 1, &p.out_h, &p.pad_top, &p.pad_bottom);
	mcai_op_same_pad(2, 3, 1, 1, &p.out_w, &p.pad_left, &p.pad_right);
	pool_case(&p, &seed, 2, "window > image");
	/* a ReLU6-like clamp */
	p.act_min = -20;
	p.act_max = 30;
	pool_case(&p, &seed, 2, "clamped");
}
END_TEST

/* TFLite's rounding of the mean, and the count of valid taps only. */
START_TEST(avg_pool_known_answer)
{
	static const s8 in[4] = { -1, 0, 3, 4 };
	s8 out[4];
	struct mcai_pool_params p = {
		.batch = 1, .in_h = 1, .in_w = 4, .c = 1, .out_h = 1,
		.out_w = 2, .k_h = 1, .k_w = 2, .stride_h = 1, .stride_w = 2,
		.act_min = -128, .act_max = 127,
	};
	static const s8 extremes[2] = { -128, 127 };
	static const s8 lows[2] = { -128, -128 };

	mcai_avg_pool2d(&p, in, out);
	ck_assert_int_eq(out[0], -1);	/* -0.5: away from zero */
	ck_assert_int_eq(out[1], 4);	/* 3.5 */
	/* SAME, window 2 stride 1 on 4: pad 1 at the end, counted out */
	p.out_w = 4;
	p.stride_w = 1;
	p.pad_right = 1;
	mcai_avg_pool2d(&p, in, out);
	ck_assert_int_eq(out[3], 4);	/* 4 / 1, not 4 / 2 */
	mcai_max_pool2d(&p, in, out);
	ck_assert_int_eq(out[0], 0);
	ck_assert_int_eq(out[3], 4);
	p.in_w = 2;
	p.out_w = 1;
	p.pad_right = 0;
	mcai_avg_pool2d(&p, extremes, out);
	ck_assert_int_eq(out[0], -1);	/* (-128 + 127) / 2 = -0.5 -> -1 */
	mcai_max_pool2d(&p, lows, out);
	ck_assert_int_eq(out[0], -128);
}
END_TEST

START_TEST(global_avg_pool)
{
	uint64_t seed = 0x61;
	int k;

	for (k = 0; k < 40; k++) {
		struct mcai_pool_params p, full;
		size_t in_len, i;
		s8 *in, *out, *ref;

		memset(&p, 0, sizeof(p));
		p.batch = (u32)unit_rnd_in(&seed, 1, 2);
		p.in_h = (u32)unit_rnd_in(&seed, 1, k < 38 ? 12 : 96);
		p.in_w = (u32)unit_rnd_in(&seed, 1, k < 38 ? 12 : 96);
		p.c = (u32)unit_rnd_in(&seed, 1, 17);
		p.act_min = -128;
		p.act_max = 127;
		/* the fields global pooling overrides: nonsense */
		p.k_h = 99;
		p.stride_w = 0;
		p.pad_left = 1000;
		ck_assert_ptr_null(mcai_global_pool_check(&p));
		full = p;
		full.k_h = full.out_h = full.in_h;
		full.k_w = full.out_w = full.in_w;
		full.out_h = full.out_w = 1;
		full.stride_h = full.stride_w = 1;
		full.pad_left = 0;
		in_len = (size_t)p.batch * p.in_h * p.in_w * p.c;
		in = unit_xmalloc(in_len);
		out = unit_xmalloc((size_t)p.batch * p.c);
		ref = unit_xmalloc((size_t)p.batch * p.c);
		for (i = 0; i < in_len; i++)
			in[i] = unit_rnd_s8(&seed);
		ref_pool(&full, in, ref, 1);
		mcai_global_avg_pool(&p, in, out);
		for (i = 0; i < (size_t)p.batch * p.c; i++)
			EXPECT(out[i] == ref[i], "global avg %zu: %d vs %d",
			       i, out[i], ref[i]);
		ck_assert_uint_eq(mcai_global_pool_macs(&p),
				  (u64)p.batch * p.in_h * p.in_w * p.c);
		free(in);
		free(out);
		free(ref);
	}
}
END_TEST

START_TEST(pool_check_refuses)
{
	struct mcai_pool_params ok = {
		.batch = 1, .in_h = 6, .in_w = 6, .c = 2, .out_h = 3,
		.out_w = 3, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2,
		.act_min = -128, .act_max = 127,
	};
	struct mcai_pool_params p;

	ck_assert_ptr_null(mcai_pool2d_check(&ok));
	p = ok;
	p.out_w = 4;
	ck_assert_ptr_nonnull(mcai_pool2d_check(&p));
	/* padding as large as the window: a window of padding only */
	p = ok;
	p.pad_left = 2;
	p.out_w = mcai_op_out_dim(6, 2, 2, 1, 2, 0);
	ck_assert_ptr_nonnull(mcai_pool2d_check(&p));
	p.pad_left = 1;
	p.out_w = mcai_op_out_dim(6, 2, 2, 1, 1, 0);
	ck_assert_ptr_null(mcai_pool2d_check(&p));
	p = ok;
	p.stride_h = 0;
	ck_assert_ptr_nonnull(mcai_pool2d_check(&p));
	p = ok;
	p.c = 0;
	ck_assert_ptr_nonnull(mcai_pool2d_check(&p));
	p = ok;
	p.act_min = 1;
	p.act_max = 0;
	ck_assert_ptr_nonnull(mcai_pool2d_check(&p));
	/* a global window beyond 2^23 elements */
	p = ok;
	p.in_h = 4096;
	p.in_w = 2049;
	p.c = 1;
	ck_assert_ptr_nonnull(mcai_global_pool_check(&p));
	p.in_w = 2048;
	ck_assert_ptr_null(mcai_global_pool_check(&p));
}
END_TEST

Suite *op_pool_suite(void)
{
	Suite *s = suite_create("op_pool");
	TCase *t = tcase_create("pool");

	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, pool2d_random, 0, 2);
	tcase_add_test(t, pool1d_random);
	tcase_add_test(t, pool_edges);
	tcase_add_test(t, avg_pool_known_answer);
	tcase_add_test(t, global_avg_pool);
	tcase_add_test(t, pool_check_refuses);
	suite_add_tcase(s, t);
	return s;
}
