// SPDX-License-Identifier: GPL-2.0
/*
 * Mean over axes (models/engine/op_reduce.c) against the real mean in
 * double, rounded once (within 1 LSB: the multiplier is rounded to 31
 * bits and gemmlowp's two roundings may split a tie), and exactly against
 * requantising the 64-bit sum, gathered by coordinates, with the 128-bit
 * reference of helpers.c.
 */
#include <math.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/ops.h"
#include "models/train/opquant.h"

static void mean_case(uint64_t *seed, const u32 dims[4], u32 axes)
{
	struct mcai_mean_params p;
	double si = 0.001 + unit_rnd32(seed) / 4294967296.0 * 0.1;
	double so = si * (0.25 + unit_rnd32(seed) / 4294967296.0 * 2);
	u32 od[4], count = 1, o[4], r[4];
	size_t n_in = 1, n_out = 1, i, j;
	s8 *in, *out;
	int d;

	memset(&p, 0, sizeof(p));
	memcpy(p.in, dims, sizeof(p.in));
	p.axes = axes;
	for (d = 0; d < 4; d++) {
		od[d] = axes & (1U << d) ? 1 : dims[d];
		count *= axes & (1U << d) ? dims[d] : 1;
		n_in *= dims[d];
		n_out *= od[d];
	}
	mcai_mean_prepare(&p, si, unit_rnd_in(seed, -128, 127), so,
			  unit_rnd_in(seed, -128, 127), count);
	ck_assert_ptr_null(mcai_mean_check(&p));
	in = unit_xmalloc(n_in);
	out = unit_xmalloc(n_out);
	for (i = 0; i < n_in; i++)
		in[i] = unit_rnd_s8(seed);
	mcai_mean(&p, in, out);
	for (j = 0; j < n_out; j++) {
		int64_t sum = 0;
		long exact, ideal;
		size_t t;

		/* output coordinates, then every reduced combination */
		for (d = 3, t = j; d >= 0; d--) {
			o[d] = (u32)(t % od[d]);
			t /= od[d];
		}
		for (t = 0; t < count; t++) {
			size_t u = t, off = 0;

			for (d = 3; d >= 0; d--) {
				if (axes & (1U << d)) {
					r[d] = (u32)(u % dims[d]);
					u /= dims[d];
				} else {
					r[d] = o[d];
				}
			}
			for (d = 0; d < 4; d++)
				off = off * dims[d] + r[d];
			sum += in[off] - p.in_zp;
		}
		exact = (long)unit_ref_requant((s32)sum, p.mult, p.shift) +
			p.out_zp;
		exact = exact < -128 ? -128 : exact > 127 ? 127 : exact;
		ideal = lround(sum * si / (so * count)) + p.out_zp;
		ideal = ideal < -128 ? -128 : ideal > 127 ? 127 : ideal;
		EXPECT(out[j] == exact, "mean %zu (axes %#x): %d vs %ld", j,
		       axes, out[j], exact);
		EXPECT(labs(out[j] - ideal) <= 1, "mean %zu: %d, real %ld", j,
		       out[j], ideal);
	}
	ck_assert_uint_eq(mcai_mean_macs(&p), n_in);
	free(in);
	free(out);
}

START_TEST(mean_random)
{
	uint64_t seed = 0x3ea7;
	int k;

	for (k = 0; k < 300; k++) {
		u32 dims[4];
		int d;

		for (d = 0; d < 4; d++)
			dims[d] = (u32)unit_rnd_in(&seed, 1, d == 0 ? 2 : 7);
		mean_case(&seed, dims, (u32)(k % 16));
	}
}
END_TEST

/* The global average pooling of MLPerf's models: MEAN over H and W. */
START_TEST(mean_spatial)
{
	uint64_t seed = 0x3ea8;
	static const u32 shapes[][4] = {
		{ 1, 8, 8, 64 },	/* ResNet-8 */
		{ 1, 25, 5, 64 },	/* DS-CNN */
		{ 1, 3, 3, 256 },	/* MobileNetV1 0.25 */
		{ 1, 1, 1, 7 },
		{ 1, 96, 96, 1 },
	};
	u32 i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		mean_case(&seed, shapes[i], 0x6);
}
END_TEST

START_TEST(mean_check_refuses)
{
	struct mcai_mean_params p = {
		.in = { 1, 4096, 2048, 1 }, .axes = 0x6,
		.mult = 1 << 30, .shift = -20,
	};

	ck_assert_ptr_null(mcai_mean_check(&p));
	p.in[2] = 2049;		/* 2^23 + 4096 elements to a sum */
	ck_assert_ptr_nonnull(mcai_mean_check(&p));
	p.axes = 0x8;
	ck_assert_ptr_null(mcai_mean_check(&p));
	p.axes = 0x10;
	ck_assert_ptr_nonnull(mcai_mean_check(&p));
	p.axes = 0x8;
	p.in_zp = 200;
	ck_assert_ptr_nonnull(mcai_mean_check(&p));
	p.in_zp = 0;
	p.shift = -32;
	ck_assert_ptr_nonnull(mcai_mean_check(&p));
}
END_TEST

Suite *op_reduce_suite(void)
{
	Suite *s = suite_create("op_reduce");
	TCase *t = tcase_create("mean");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, mean_random);
	tcase_add_test(t, mean_spatial);
	tcase_add_test(t, mean_check_refuses);
	suite_add_tcase(s, t);
	return s;
}
