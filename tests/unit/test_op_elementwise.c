// SPDX-License-Identifier: GPL-2.0
/*
 * Add, mul, concat, pad, reshape (models/engine/op_elementwise.c).  Add
 * and mul against two references: the real-number result in double,
 * rounded once (within 1 LSB: TFLite's add rounds three times), and
 * TFLite's integer pipeline exactly, with the 128-bit requantisation of
 * helpers.c and indices computed per coordinate rather than by strides.
 */
#include <math.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/ops.h"
#include "models/train/opquant.h"

/* log-uniform in [lo, hi] */
static double rnd_scale(uint64_t *seed, double lo, double hi)
{
	double u = unit_rnd32(seed) / 4294967296.0;

	return lo * pow(hi / lo, u);
}

static size_t elems(const u32 d[4])
{
	return (size_t)d[0] * d[1] * d[2] * d[3];
}

/* Offset of output coordinate @o in a tensor of @d that broadcasts to it. */
static size_t bcast_at(const u32 d[4], const u32 o[4])
{
	size_t off = 0;
	int k;

	for (k = 0; k < 4; k++)
		off = off * d[k] + (d[k] == 1 ? 0 : o[k]);
	return off;
}

/* Coordinates of the @i-th element of a dense tensor of @d. */
static void coords(const u32 d[4], size_t i, u32 o[4])
{
	int k;

	for (k = 3; k >= 0; k--) {
		o[k] = (u32)(i % d[k]);
		i /= d[k];
	}
}

static s8 clamp_ref(long v, int lo, int hi)
{
	return (s8)(v < lo ? lo : v > hi ? hi : v);
}

/* Output dims 1..5 and two inputs that broadcast to it. */
static void random_bcast(uint64_t *seed, u32 a[4], u32 b[4], u32 o[4])
{
	int d;

	for (d = 0; d < 4; d++) {
		o[d] = (u32)unit_rnd_in(seed, 1, d == 3 ? 9 : 4);
		a[d] = unit_rnd_in(seed, 0, 3) == 0 ? 1 : o[d];
		b[d] = unit_rnd_in(seed, 0, 3) == 0 ? 1 : o[d];
	}
}

static void binary_case(uint64_t *seed, int mul, int k)
{
	struct mcai_add_params pa;
	struct mcai_mul_params pm;
	u32 d1[4], d2[4], od[4], o[4];
	double s1 = rnd_scale(seed, 0.002, 0.2), s2, so;
	s32 z1 = unit_rnd_in(seed, -128, 127), z2 = unit_rnd_in(seed, -128, 127);
	s32 zo = unit_rnd_in(seed, -128, 127);
	s8 *x, *y, *out;
	size_t i, n;
	int lo = -128, hi = 127;

	/* same scales, very different ones, and anything between */
	s2 = k % 5 == 0 ? s1 : rnd_scale(seed, 0.002, 0.2);
	so = mul ? s1 * s2 * 128 * rnd_scale(seed, 0.3, 3) :
	     (s1 + s2) * rnd_scale(seed, 0.5, 4);
	if (k % 7 == 0) {
		lo = unit_rnd_in(seed, -128, 0);
		hi = unit_rnd_in(seed, lo, 127);
	}
	random_bcast(seed, d1, d2, od);
	if (mul) {
		memset(&pm, 0, sizeof(pm));
		mcai_mul_prepare(&pm, s1, z1, s2, z2, so, zo);
		memcpy(pm.in1, d1, sizeof(d1));
		memcpy(pm.in2, d2, sizeof(d2));
		memcpy(pm.out, od, sizeof(od));
		pm.act_min = (s8)lo;
		pm.act_max = (s8)hi;
		ck_assert_ptr_null(mcai_mul_check(&pm));
	} else {
		memset(&pa, 0, sizeof(pa));
		mcai_add_prepare(&pa, s1, z1, s2, z2, so, zo);
		memcpy(pa.in1, d1, sizeof(d1));
		memcpy(pa.in2, d2, sizeof(d2));
		memcpy(pa.out, od, sizeof(od));
		pa.act_min = (s8)lo;
		pa.act_max = (s8)hi;
		ck_assert_ptr_null(mcai_add_check(&pa));
	}
	x = unit_xmalloc(elems(d1));
	y = unit_xmalloc(elems(d2));
	n = elems(od);
	out = unit_xmalloc(n);
	for (i = 0; i < elems(d1); i++)
		x[i] = unit_rnd_s8(seed);
	for (i = 0; i < elems(d2); i++)
		y[i] = unit_rnd_s8(seed);
	if (mul)
		mcai_mul(&pm, x, y, out);
	else
		mcai_add(&pa, x, y, out);
	for (i = 0; i < n; i++) {
		int a, b;
		double real;
		long exact, ideal;

		coords(od, i, o);
		a = x[bcast_at(d1, o)] - z1;
		b = y[bcast_at(d2, o)] - z2;
		if (mul) {
			real = s1 * a * s2 * b;
			exact = unit_ref_requant(a * b, pm.mult, pm.shift);
		} else {
			s32 u = unit_ref_requant(a * (1 << 20), pa.in1_mult,
						 pa.in1_shift);
			s32 v = unit_ref_requant(b * (1 << 20), pa.in2_mult,
						 pa.in2_shift);

			real = s1 * a + s2 * b;
			exact = unit_ref_requant(u + v, pa.out_mult,
						 pa.out_shift);
		}
		exact = clamp_ref(exact + zo, lo, hi);
		ideal = clamp_ref(lround(real / so) + zo, lo, hi);
		EXPECT(out[i] == exact, "%s %zu: %d, TFLite's integers %ld",
		       mul ? "mul" : "add", i, out[i], exact);
		EXPECT(labs(out[i] - ideal) <= 1, "%s %zu: %d, real %ld",
		       mul ? "mul" : "add", i, out[i], ideal);
	}
	ck_assert_uint_eq(mul ? mcai_mul_macs(&pm) : mcai_add_macs(&pa), n);
	free(x);
	free(y);
	free(out);
}

START_TEST(add_random)
{
	uint64_t seed = 0xadd;
	int k;

	for (k = 0; k < 300; k++)
		binary_case(&seed, 0, k);
}
END_TEST

START_TEST(mul_random)
{
	uint64_t seed = 0x3a1;
	int k;

	for (k = 0; k < 300; k++)
		binary_case(&seed, 1, k);
}
END_TEST

/* Saturation at both ends, and TFLite's tie rounding known by hand. */
START_TEST(add_mul_saturate)
{
	struct mcai_add_params pa;
	struct mcai_mul_params pm;
	static const s8 hi[2] = { 127, 127 }, lo[2] = { -128, -128 };
	s8 out[2];
	u32 d[4] = { 1, 1, 1, 2 };

	memset(&pa, 0, sizeof(pa));
	mcai_add_prepare(&pa, 0.1, 0, 0.1, 0, 0.1, 0);
	memcpy(pa.in1, d, sizeof(d));
	memcpy(pa.in2, d, sizeof(d));
	memcpy(pa.out, d, sizeof(d));
	mcai_add(&pa, hi, hi, out);
	ck_assert_int_eq(out[0], 127);
	mcai_add(&pa, lo, lo, out);
	ck_assert_int_eq(out[1], -128);
	mcai_add(&pa, hi, lo, out);
	ck_assert_int_eq(out[0], -1);
	memset(&pm, 0, sizeof(pm));
	mcai_mul_prepare(&pm, 0.1, 0, 0.1, 0, 0.01, 0);
	memcpy(pm.in1, d, sizeof(d));
	memcpy(pm.in2, d, sizeof(d));
	memcpy(pm.out, d, sizeof(d));
	mcai_mul(&pm, hi, lo, out);
	ck_assert_int_eq(out[0], -128);
	mcai_mul(&pm, lo, lo, out);
	ck_assert_int_eq(out[0], 127);
	/* a scalar broadcast over a row */
	pm.in1[3] = 1;
	mcai_mul_prepare(&pm, 1, 0, 1, 0, 4, 0);
	{
		static const s8 two[1] = { 2 };
		static const s8 row[2] = { 3, -3 };

		mcai_mul(&pm, two, row, out);
		/* 6 / 4: srdhm halves exactly, the final shift rounds */
		ck_assert_int_eq(out[0], 2);	/* 1.5 -> 2 */
		ck_assert_int_eq(out[1], -2);	/* -1.5 -> -2: away from 0 */
	}
}
END_TEST

START_TEST(binary_check_refuses)
{
	struct mcai_add_params pa, a;
	u32 d[4] = { 1, 2, 3, 4 };

	memset(&pa, 0, sizeof(pa));
	mcai_add_prepare(&pa, 0.1, 0, 0.2, 0, 0.3, 0);
	memcpy(pa.in1, d, sizeof(d));
	memcpy(pa.in2, d, sizeof(d));
	memcpy(pa.out, d, sizeof(d));
	ck_assert_ptr_null(mcai_add_check(&pa));
	a = pa;
	a.in2[2] = 2;		/* neither 3 nor 1 */
	ck_assert_ptr_nonnull(mcai_add_check(&a));
	a = pa;
	a.in1[0] = 2;		/* bigger than the output */
	ck_assert_ptr_nonnull(mcai_add_check(&a));
	a = pa;
	a.left_shift = 21;
	ck_assert_ptr_nonnull(mcai_add_check(&a));
	a = pa;
	a.in1_shift = 1;
	ck_assert_ptr_nonnull(mcai_add_check(&a));
	a = pa;
	a.out_zp = -129;
	ck_assert_ptr_nonnull(mcai_add_check(&a));
	a = pa;
	a.out[3] = 0;
	ck_assert_ptr_nonnull(mcai_add_check(&a));
}
END_TEST

/* Concatenation: copies where the quantisation agrees, else requantises. */
START_TEST(concat_random)
{
	uint64_t seed = 0xc0ca7;
	int k;

	for (k = 0; k < 200; k++) {
		struct mcai_concat_input in[4];
		struct mcai_concat_params p;
		double so = rnd_scale(&seed, 0.01, 0.1), si[4];
		u32 n_in = (u32)unit_rnd_in(&seed, 1, 4), axis, i, o[4];
		size_t n, j;
		s8 *out;
		int d;

		memset(&p, 0, sizeof(p));
		memset(in, 0, sizeof(in));
		axis = (u32)unit_rnd_in(&seed, 0, 3);
		for (d = 0; d < 4; d++)
			p.out[d] = (u32)unit_rnd_in(&seed, 1, 4);
		p.out[axis] = 0;
		p.out_zp = unit_rnd_in(&seed, -128, 127);
		for (i = 0; i < n_in; i++) {
			memcpy(in[i].dims, p.out, sizeof(p.out));
			in[i].dims[axis] = (u32)unit_rnd_in(&seed, 1, 5);
			p.out[axis] += in[i].dims[axis];
			if (unit_rnd_in(&seed, 0, 2) == 0) {
				si[i] = so;
				mcai_concat_prepare(&in[i], so, p.out_zp, so);
			} else if (unit_rnd_in(&seed, 0, 1)) {
				/* same scale, another zero point: a shift */
				si[i] = so;
				mcai_concat_prepare(&in[i], so,
						    unit_rnd_in(&seed, -128, 127),
						    so);
			} else {
				si[i] = rnd_scale(&seed, 0.003, 0.3);
				mcai_concat_prepare(&in[i], si[i],
						    unit_rnd_in(&seed, -128, 127),
						    so);
			}
			in[i].data = unit_xmalloc(elems(in[i].dims));
			for (j = 0; j < elems(in[i].dims); j++)
				((s8 *)in[i].data)[j] = unit_rnd_s8(&seed);
		}
		p.in = in;
		p.n_in = n_in;
		p.axis = axis;
		ck_assert_ptr_null(mcai_concat_check(&p));
		n = elems(p.out);
		out = unit_xmalloc(n);
		mcai_concat(&p, out);
		for (j = 0; j < n; j++) {
			u32 at;
			s8 q;
			long exact, ideal;

			coords(p.out, j, o);
			/* which input holds this position along the axis */
			for (i = 0, at = o[axis]; at >= in[i].dims[axis]; i++)
				at -= in[i].dims[axis];
			o[axis] = at;
			q = in[i].data[bcast_at(in[i].dims, o)];
			exact = clamp_ref(unit_ref_requant(q - in[i].zp,
							   in[i].mult,
							   in[i].shift) +
					  p.out_zp, -128, 127);
			ideal = clamp_ref(lround((q - in[i].zp) * si[i] / so) +
					  p.out_zp, -128, 127);
			EXPECT(out[j] == exact, "concat %zu: %d vs %ld", j,
			       out[j], exact);
			EXPECT(labs(out[j] - ideal) <= 1,
			       "concat %zu: %d, real %ld", j, out[j], ideal);
			if (si[i] == so && in[i].zp == p.out_zp)
				EXPECT(out[j] == q, "copied input changed");
		}
		for (i = 0; i < n_in; i++)
			free((void *)in[i].data);
		free(out);
	}
}
END_TEST

START_TEST(concat_check_refuses)
{
	s8 a[6] = { 0 }, b[6] = { 0 };
	struct mcai_concat_input in[2] = {
		{ .data = a, .dims = { 1, 2, 3, 1 }, .mult = 1 << 30,
		  .shift = 1 },
		{ .data = b, .dims = { 1, 2, 3, 1 }, .mult = 1 << 30,
		  .shift = 1 },
	};
	struct mcai_concat_params p = {
		.in = in, .n_in = 2, .axis = 3, .out = { 1, 2, 3, 2 },
	};

	ck_assert_ptr_null(mcai_concat_check(&p));
	ck_assert_uint_eq(mcai_concat_macs(&p), 0);
	p.out[3] = 3;
	ck_assert_ptr_nonnull(mcai_concat_check(&p));
	p.out[3] = 2;
	in[1].dims[1] = 1;
	ck_assert_ptr_nonnull(mcai_concat_check(&p));
	in[1].dims[1] = 2;
	p.axis = 4;
	ck_assert_ptr_nonnull(mcai_concat_check(&p));
	p.axis = 3;
	in[0].shift = 31;
	ck_assert_ptr_nonnull(mcai_concat_check(&p));
	in[0].shift = 0;
	ck_assert_ptr_null(mcai_concat_check(&p));
	ck_assert_uint_eq(mcai_concat_macs(&p), 6);
	in[1].data = NULL;
	ck_assert_ptr_nonnull(mcai_concat_check(&p));
}
END_TEST

START_TEST(pad_random)
{
	uint64_t seed = 0xbad;
	int k;

	for (k = 0; k < 200; k++) {
		struct mcai_pad_params p;
		u32 od[4], o[4];
		size_t n, j;
		s8 *in, *out;
		int d;

		memset(&p, 0, sizeof(p));
		for (d = 0; d < 4; d++) {
			p.in[d] = (u32)unit_rnd_in(&seed, 1, d == 0 ? 2 : 5);
			p.before[d] = (u32)unit_rnd_in(&seed, 0, 3);
			p.after[d] = (u32)unit_rnd_in(&seed, 0, 3);
			od[d] = p.in[d] + p.before[d] + p.after[d];
		}
		p.value = unit_rnd_s8(&seed);
		ck_assert_ptr_null(mcai_pad_check(&p));
		in = unit_xmalloc(elems(p.in));
		for (j = 0; j < elems(p.in); j++)
			in[j] = unit_rnd_s8(&seed);
		n = elems(od);
		out = unit_xmalloc(n);
		mcai_pad(&p, in, out);
		for (j = 0; j < n; j++) {
			int inside = 1;

			coords(od, j, o);
			for (d = 0; d < 4; d++) {
				if (o[d] < p.before[d] ||
				    o[d] >= p.before[d] + p.in[d])
					inside = 0;
				else
					o[d] -= p.before[d];
			}
			EXPECT(out[j] == (inside ? in[bcast_at(p.in, o)] :
					  p.value), "pad %zu", j);
		}
		ck_assert_uint_eq(mcai_pad_macs(&p), 0);
		free(in);
		free(out);
	}
}
END_TEST

START_TEST(reshape)
{
	u32 a[4] = { 1, 4, 4, 3 }, b[4] = { 1, 1, 1, 48 }, c[4] = { 2, 2, 2, 5 };
	s8 buf[48], dst[48];
	int i;

	ck_assert_ptr_null(mcai_reshape_check(a, b));
	ck_assert_ptr_nonnull(mcai_reshape_check(a, c));
	for (i = 0; i < 48; i++)
		buf[i] = (s8)i;
	mcai_reshape(buf, buf, sizeof(buf));	/* aliased: nothing moves */
	for (i = 0; i < 48; i++)
		ck_assert_int_eq(buf[i], i);
	mcai_reshape(buf, dst, sizeof(buf));
	ck_assert_mem_eq(buf, dst, sizeof(buf));
	ck_assert_uint_eq(mcai_reshape_macs(48), 0);
	mcai_reshape(buf, buf + 8, 40);		/* overlapping */
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(buf[8 + i], i);
}
END_TEST

Suite *op_elementwise_suite(void)
{
	Suite *s = suite_create("op_elementwise");
	TCase *t = tcase_create("elementwise");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, add_random);
	tcase_add_test(t, mul_random);
	tcase_add_test(t, add_mul_saturate);
	tcase_add_test(t, binary_check_refuses);
	tcase_add_test(t, concat_random);
	tcase_add_test(t, concat_check_refuses);
	tcase_add_test(t, pad_random);
	tcase_add_test(t, reshape);
	suite_add_tcase(s, t);
	return s;
}
