// SPDX-License-Identifier: GPL-2.0
/*
 * The fixed-point functions of models/engine/fixedpoint.c against libm
 * and 128-bit integers, and the integer softmax (op_softmax.c) against
 * the float softmax of the same dequantised inputs, rounded to the int8
 * output grid (scale 1/256, zero point -128): within 1 LSB everywhere.
 */
#include <math.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/ops.h"
#include "models/engine/fixedpoint.h"
#include "models/train/opquant.h"

typedef __int128 i128;

START_TEST(clz)
{
	uint64_t seed = 5;
	int k;

	ck_assert_int_eq(mcai_clz32(0), 32);
	ck_assert_int_eq(mcai_clz64(0), 64);
	ck_assert_int_eq(mcai_clz32(1), 31);
	ck_assert_int_eq(mcai_clz64(1), 63);
	ck_assert_int_eq(mcai_clz64(~0ULL), 0);
	for (k = 0; k < 64; k++)
		ck_assert_int_eq(mcai_clz64(1ULL << k), 63 - k);
	for (k = 0; k < 10000; k++) {
		uint64_t v = unit_rnd(&seed) >> (k % 64);

		if (!v)
			continue;
		EXPECT(mcai_clz64(v) == __builtin_clzll(v), "clz64 %llx",
		       (unsigned long long)v);
		EXPECT(mcai_clz32((u32)v | 1) == __builtin_clz((u32)v | 1),
		       "clz32");
	}
}
END_TEST

START_TEST(mulpot)
{
	uint64_t seed = 6;
	int k, e;

	for (k = 0; k < 20000; k++) {
		s32 x = (s32)unit_rnd32(&seed) >> (k % 31);

		e = unit_rnd_in(&seed, -62, 31);
		if (e >= 0) {
			i128 v = (i128)x * ((i128)1 << e);
			s32 r = v > INT32_MAX ? INT32_MAX :
				v < INT32_MIN ? INT32_MIN : (s32)v;

			EXPECT(mcai_fp_mulpot(x, e) == r, "%d * 2^%d", x, e);
		} else {
			EXPECT(mcai_fp_mulpot(x, e) == unit_ref_rdivpot(x, -e),
			       "%d / 2^%d: %d vs %d", x, -e,
			       mcai_fp_mulpot(x, e), unit_ref_rdivpot(x, -e));
		}
	}
	ck_assert_int_eq(mcai_fp_mulpot(INT32_MIN, -32), -1);	/* -0.5 */
	ck_assert_int_eq(mcai_fp_mulpot(INT32_MAX, -32), 0);
	ck_assert_int_eq(mcai_fp_mulpot(-1, 31), INT32_MIN);
	ck_assert_int_eq(mcai_fp_mulpot(1, 31), INT32_MAX);
}
END_TEST

/*
 * The bounds are what gemmlowp's algorithms achieve, with some room: exp
 * is a 4th-order Taylor series around -1/8 on [-1/4, 0), whose truncation
 * error reaches 2.3e-7 at the interval's ends (measured over 2.4e7
 * arguments); the reciprocal's three Newton steps leave 3.2e-9; the
 * logistic, 1 / (1 + exp), 7.1e-8.
 */
START_TEST(exp_neg)
{
	static const int bits[] = { 0, 1, 2, 3, 5, 6, 8, 12, 16, 20, 24, 29 };
	uint64_t seed = 7;
	double worst = 0;
	size_t b;
	int k;

	for (b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
		double one = ldexp(1, 31 - bits[b]);

		for (k = 0; k < 3000; k++) {
			s32 a = -(s32)(unit_rnd32(&seed) >> 1);
			double x, err;

			if (k % 3 == 0)		/* small arguments too */
				a >>= unit_rnd_in(&seed, 0, 30);
			x = a / one;
			err = fabs(mcai_fp_exp_neg(a, bits[b]) / 2147483648.0 -
				   exp(x));
			if (err > worst)
				worst = err;
			EXPECT(err < 3e-7, "exp(%g) Q%d: off by %g", x,
			       bits[b], err);
		}
		ck_assert_int_eq(mcai_fp_exp_neg(0, bits[b]), INT32_MAX);
	}
	ck_assert(worst > 0);
}
END_TEST

START_TEST(recip_and_logistic)
{
	static const int bits[] = { 0, 2, 4, 5, 8, 15, 16, 24, 29 };
	uint64_t seed = 8;
	size_t b;
	int k;

	for (k = 0; k < 20000; k++) {
		s32 a = (s32)(unit_rnd32(&seed) >> 1);
		double x = a / 2147483648.0;
		double err = fabs(mcai_fp_recip1p(a) / 2147483648.0 -
				  1 / (1 + x));

		EXPECT(err < 5e-9, "1/(1+%g): off by %g", x, err);
	}
	ck_assert_int_eq(mcai_fp_recip1p(0), INT32_MAX);
	for (b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
		double one = ldexp(1, 31 - bits[b]);

		for (k = 0; k < 3000; k++) {
			s32 a = (s32)unit_rnd32(&seed) >> unit_rnd_in(&seed, 0, 31);
			double x = a / one;
			double err = fabs(mcai_fp_logistic(a, bits[b]) /
					  2147483648.0 - 1 / (1 + exp(-x)));

			EXPECT(err < 1e-7, "logistic(%g) Q%d: off by %g", x,
			       bits[b], err);
		}
		ck_assert_int_eq(mcai_fp_logistic(0, bits[b]), 1 << 30);
		ck_assert_int_eq(mcai_fp_logistic(INT32_MIN, bits[b]) +
				 mcai_fp_logistic(INT32_MAX, bits[b]),
				 INT32_MAX);
	}
}
END_TEST

/* round(x * m * 2^s / 2^31), ties away from zero, saturated. */
static s32 ref_requant64(int64_t x, s32 m, int s)
{
	i128 num = (i128)x * m, den = (i128)1 << (31 - s), mag, q;

	mag = num < 0 ? -num : num;
	q = (mag + den / 2) / den;
	q = num < 0 ? -q : q;
	return q > INT32_MAX ? INT32_MAX : q < INT32_MIN ? INT32_MIN : (s32)q;
}

START_TEST(requant64)
{
	static const int64_t edge[] = {
		0, 1, -1, INT64_MAX, INT64_MIN, INT64_MIN + 1, 1LL << 32,
		-(1LL << 32), (1LL << 32) - 1, 1LL << 31, -(1LL << 31),
		(1LL << 62) + 12345, 3, -3,
	};
	static const s32 mults[] = { 0, 1, 1 << 30, INT32_MAX, 1518500250 };
	uint64_t seed = 9;
	size_t i, j;
	int s, k;

	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		for (j = 0; j < sizeof(mults) / sizeof(mults[0]); j++)
			for (s = -31; s <= 30; s++)
				EXPECT(mcai_requant64(edge[i], mults[j], s) ==
				       ref_requant64(edge[i], mults[j], s),
				       "requant64(%lld, %d, %d): %d vs %d",
				       (long long)edge[i], mults[j], s,
				       mcai_requant64(edge[i], mults[j], s),
				       ref_requant64(edge[i], mults[j], s));
	for (k = 0; k < 100000; k++) {
		int64_t x = (int64_t)unit_rnd(&seed) >> unit_rnd_in(&seed, 0, 63);
		s32 m = (s32)(unit_rnd32(&seed) >> 1);

		s = unit_rnd_in(&seed, -31, 30);
		EXPECT(mcai_requant64(x, m, s) == ref_requant64(x, m, s),
		       "requant64(%lld, %d, %d)", (long long)x, m, s);
	}
	/* exact halves: 3 * 2^30 / 2^31 = 1.5 */
	ck_assert_int_eq(mcai_requant64(3, 1 << 30, 0), 2);
	ck_assert_int_eq(mcai_requant64(-3, 1 << 30, 0), -2);
}
END_TEST

/*
 * Golden values computed by the real thing: gemmlowp's fixedpoint.h and
 * TFLite's reference int8 softmax, compiled as C++ from their sources
 * (tests/unit keeps the numbers, not the generator).  The float
 * comparisons below bound the error; these pin the bits.
 */
/* gemmlowp exp_on_negative_values<5>: { a, e^a } */
static const s32 golden_exp5[][2] = {
	{ -1, 2147483124 },
	{ -67108864, 790015308 },
	{ -2147483647, 0 },
	{ -1098601, 2112614362 },
	{ -377156, 2135448116 },
	{ -29588, 2146536557 },
	{ -2599, 2147399991 },
	{ -303, 2147473460 },
	{ -1354111708, 4 },
	{ -122496267, 346095731 },
	{ -8379509, 1895404641 },
	{ -1340782, 2105004183 },
	{ -258396, 2139230455 },
	{ -9974, 2147164015 },
	{ -3906, 2147358169 },
	{ -122, 2147479253 },
	{ -118472540, 367481693 },
	{ -184374807, 137641651 },
	{ -14202297, 1737880188 },
	{ -1899659, 2087546745 },
	{ -364251, 2135858798 },
	{ -57255, 2145651794 },
	{ -1709, 2147428470 },
	{ -289, 2147473908 },
	/* -16, -16.25, -16.6, -17.3, -19.9, -23.5, -31.9 (e^-16 and beyond) */
	{ -1073741824, 242 },
	{ -1090519040, 188 },
	{ -1114007142, 133 },
	{ -1160983347, 66 },
	{ -1335466393, 5 },
	{ -1577058304, 0 },
	{ -2140772761, 0 },
	/* -8.7, -4.2, -2.9, -1.1, -0.6 */
	{ -583847116, 357741 },
	{ -281857228, 32202757 },
	{ -194615705, 118161467 },
	{ -73819750, 714835213 },
	{ -40265318, 1178564022 },
};
/* exp_on_negative_values<0> */
static const s32 golden_exp0[][2] = {
	{ -543010689, 1667686772 },
	{ -128124906, 2023105976 },
	{ -32106207, 2115615994 },
	{ -796319, 2146686992 },
	{ -327380, 2147155805 },
	{ -35623, 2147447534 },
	{ -4340, 2147478817 },
	{ -34, 2147483123 },
};
/* exp_on_negative_values<12> */
static const s32 golden_exp12[][2] = {
	{ -1330581715, 0 },
	{ -127008136, 0 },
	{ -1796206, 69829809 },
	{ -1772560, 73051316 },
	{ -485096, 851334272 },
	{ -1914, 2139657773 },
	{ -7434, 2117248576 },
	{ -1024, 2143292983 },
	/* -16.3, -17.9, then past -32 where gemmlowp clamps to 0 */
	{ -8545894, 179 },
	{ -9384755, 36 },
	{ -12635340, 0 },
	{ -16771973, 0 },
	{ -17039360, 0 },
	{ -52428800, 0 },
};
/* one_over_one_plus_x_for_x_in_0_1 */
static const s32 golden_recip[][2] = {
	{ 1359665729, 1314938584 },
	{ 258622879, 1916659124 },
	{ 43198511, 2105136978 },
	{ 4485229, 2143007768 },
	{ 5596659, 2141901534 },
	{ 1707218, 2145777788 },
	{ 10632, 2147473012 },
	{ 46070, 2147437576 },
	{ 7944, 2147475702 },
	{ 7149, 2147476500 },
	{ 1116, 2147482530 },
	{ 23, 2147483622 },
};
/* logistic<4> */
static const s32 golden_logistic4[][2] = {
	{ -563532312, 31769441 },
	{ -125667944, 604835559 },
	{ 87447009, 1411659934 },
	{ 7706645, 1104559944 },
	{ -4902699, 1054133185 },
	{ -605833, 1071318395 },
	{ -111516, 1073295637 },
	{ -50583, 1073539371 },
	{ -24401, 1073644097 },
	{ 4860, 1073761388 },
	{ -1819, 1073734427 },
	{ -120, 1073741219 },
};
/*
 * TFLite's reference int8 softmax (reference_ops::Softmax with its
 * PreprocessSoftmaxScaling and CalculateInputRadius), beta 1.
 */
struct golden_softmax {
	float scale;
	u32 depth;
	s32 mult, shift, diff_min;
	s8 in[64], out[64];
};

static const struct golden_softmax golden_softmax[] = {
	{ 0.00390625f, 10, 1073741824, 19, -3968,
	  {
		-100, -89, 22, -6, 30, -49, -64, 46, 59, -51,
	  },
	  {
		-110, -109, -98, -102, -98, -106, -107, -96, -94, -106,
	  } },
	{ 0.0625f, 12, 1073741824, 23, -248,
	  {
		-88, 32, 17, -16, -72, 19, 38, -50, -39, -18, -54, -87,
	  },
	  {
		-128, -53, -99, -124, -128, -95, -19, -128, -127, -125, -128,
		-128,
	  } },
	{ 0.100000001f, 7, 1717986944, 23, -248,
	  {
		-127, 60, 31, -21, 32, 123, -30,
	  },
	  {
		-128, -128, -128, -128, -128, 127, -128,
	  } },
	{ 0.1796875f, 35, 1543503872, 24, -124,
	  {
		61, -30, -14, -46, 51, 82, -45, -33, -47, -64, -39, 77, 30,
		84, 63, -28, 33, -13, 62, -27, 82, 59, -67, 73, -104, 65,
		-86, -14, -22, 69, -4, -6, -53, -18, 30,
	  },
	  {
		-127, -128, -128, -128, -128, -68, -128, -128, -128, -128,
		-128, -104, -128, -42, -126, -128, -128, -128, -126, -128,
		-68, -127, -128, -116, -128, -125, -128, -128, -128, -122,
		-128, -128, -128, -128, -128,
	  } },
	{ 0.234699994f, 3, 2016057600, 24, -124,
	  {
		30, 4, -30,
	  },
	  {
		127, -127, -128,
	  } },
	{ 0.5f, 16, 1073741824, 26, -31,
	  {
		90, 101, 95, 103, 105, 108, 102, 90, 107, 101, 96, 89, 112,
		106, 106, 101,
	  },
	  {
		-128, -127, -128, -126, -122, -103, -127, -128, -113, -127,
		-128, -128, 58, -119, -119, -127,
	  } },
	{ 1.29999995f, 20, 1395864320, 27, -15,
	  {
		11, 47, 49, 47, 37, 35, 17, 21, 43, 20, 35, 39, 6, 41, 25,
		46, 12, 31, 23, 34,
	  },
	  {
		-128, -112, 91, -112, -128, -128, -128, -128, -128, -128,
		-128, -128, -128, -128, -128, -124, -128, -128, -128, -128,
	  } },
	{ 0.0299999993f, 64, 2061584256, 21, -992,
	  {
		-90, 114, 17, 98, -35, -21, 113, -39, -16, -20, 38, -70, 89,
		-70, -40, 123, 42, 87, 62, 27, 60, -14, 84, 52, 86, 13, 105,
		74, 116, -37, -58, -40, 95, -26, 39, -25, -93, 41, 68, 109,
		44, -11, -10, -88, -75, 68, 54, 53, -6, 99, 15, -7, -82, -69,
		11, 4, -15, 86, -56, 51, 77, -71, -2, -21,
	  },
	  {
		-128, -109, -127, -116, -128, -128, -109, -128, -128, -128,
		-126, -128, -119, -128, -128, -103, -126, -119, -124, -127,
		-124, -128, -120, -125, -120, -127, -113, -122, -108, -128,
		-128, -128, -117, -128, -126, -128, -128, -126, -123, -112,
		-126, -128, -128, -128, -128, -123, -125, -125, -127, -116,
		-127, -127, -128, -128, -127, -127, -128, -120, -128, -125,
		-122, -128, -127, -128,
	  } },
};

START_TEST(gemmlowp_golden)
{
	size_t i;

	for (i = 0; i < sizeof(golden_exp5) / sizeof(golden_exp5[0]); i++)
		ck_assert_int_eq(mcai_fp_exp_neg(golden_exp5[i][0], 5),
				 golden_exp5[i][1]);
	for (i = 0; i < sizeof(golden_exp0) / sizeof(golden_exp0[0]); i++)
		ck_assert_int_eq(mcai_fp_exp_neg(golden_exp0[i][0], 0),
				 golden_exp0[i][1]);
	for (i = 0; i < sizeof(golden_exp12) / sizeof(golden_exp12[0]); i++)
		ck_assert_int_eq(mcai_fp_exp_neg(golden_exp12[i][0], 12),
				 golden_exp12[i][1]);
	for (i = 0; i < sizeof(golden_recip) / sizeof(golden_recip[0]); i++)
		ck_assert_int_eq(mcai_fp_recip1p(golden_recip[i][0]),
				 golden_recip[i][1]);
	for (i = 0; i < sizeof(golden_logistic4) / sizeof(golden_logistic4[0]);
	     i++)
		ck_assert_int_eq(mcai_fp_logistic(golden_logistic4[i][0], 4),
				 golden_logistic4[i][1]);
}
END_TEST

START_TEST(tflite_softmax_golden)
{
	size_t i;

	for (i = 0; i < sizeof(golden_softmax) / sizeof(golden_softmax[0]);
	     i++) {
		const struct golden_softmax *g = &golden_softmax[i];
		struct mcai_softmax_params p;
		s8 out[64];
		u32 c;

		memset(&p, 0, sizeof(p));
		p.rows = 1;
		p.depth = g->depth;
		/* TFLite computes from the tensor's float scale */
		mcai_softmax_prepare(&p, 1.0, (double)g->scale);
		ck_assert_int_eq(p.input_mult, g->mult);
		ck_assert_int_eq(p.input_left_shift, g->shift);
		ck_assert_int_eq(p.diff_min, g->diff_min);
		mcai_softmax(&p, g->in, out);
		for (c = 0; c < g->depth; c++)
			EXPECT(out[c] == g->out[c],
			       "row %zu (scale %g) output %u: %d, TFLite %d", i,
			       (double)g->scale, c, out[c], g->out[c]);
	}
}
END_TEST

/*
 * Run softmax on @rows x @depth of @in and compare with float; returns how
 * many outputs differ from the float result rounded (by 1 LSB at most).
 */
static long softmax_case(const s8 *in, u32 rows, u32 depth, double scale,
			 double beta)
{
	long differ = 0;
	struct mcai_softmax_params p;
	s8 *out = unit_xmalloc((size_t)rows * depth);
	u32 r, c;

	memset(&p, 0, sizeof(p));
	p.rows = rows;
	p.depth = depth;
	mcai_softmax_prepare(&p, beta, scale);
	ck_assert_ptr_null(mcai_softmax_check(&p));
	mcai_softmax(&p, in, out);
	for (r = 0; r < rows; r++) {
		const s8 *x = in + (size_t)r * depth;
		const s8 *y = out + (size_t)r * depth;
		double sum = 0, max = -1000;
		long total = 0, ref_total = 0;

		for (c = 0; c < depth; c++)
			max = x[c] > max ? x[c] : max;
		for (c = 0; c < depth; c++)
			sum += exp(beta * scale * (x[c] - max));
		for (c = 0; c < depth; c++) {
			double prob = exp(beta * scale * (x[c] - max)) / sum;
			long q = lround(prob * 256) - 128;

			q = q > 127 ? 127 : q;
			EXPECT(labs(y[c] - q) <= 1,
			       "softmax depth %u scale %g: %d, float %ld (p %g)",
			       depth, scale, y[c], q, prob);
			differ += y[c] != q;
			total += y[c] + 128;
			ref_total += q + 128;
		}
		/*
		 * 256/256 = 1.0 up to each element's rounding to the grid
		 * (0.5 LSB each), a probability of 1 saturating at 255, and
		 * the rare 1 LSB off the float result.
		 */
		EXPECT(labs(total - 256) <= (long)depth / 2 + 2,
		       "softmax sums to %ld/256 (float %ld/256), depth %u",
		       total, ref_total, depth);
	}
	ck_assert_uint_eq(mcai_softmax_macs(&p), 2ULL * rows * depth);
	free(out);
	return differ;
}

START_TEST(softmax_random)
{
	uint64_t seed = 0x50f7 + (uint64_t)_i;
	long differ = 0, total = 0;
	int k;

	for (k = 0; k < 150; k++) {
		u32 rows = (u32)unit_rnd_in(&seed, 1, 3);
		u32 depth = (u32)unit_rnd_in(&seed, 1, k < 140 ? 40 : 1200);
		double scale = 0.005 * pow(100, unit_rnd32(&seed) / 4294967296.0);
		double beta = k % 4 ? 1.0 : 0.5 + unit_rnd32(&seed) / 4294967296.0;
		int spread = unit_rnd_in(&seed, 1, 255);
		int base = unit_rnd_in(&seed, -128, 127 - spread + 1);
		s8 *in = unit_xmalloc((size_t)rows * depth);
		size_t i;

		for (i = 0; i < (size_t)rows * depth; i++)
			in[i] = (s8)(base + unit_rnd_in(&seed, 0, spread - 1));
		differ += softmax_case(in, rows, depth, scale, beta);
		total += (long)rows * depth;
		free(in);
	}
	/* 2 in 1.4 million differ from float in a longer run of these */
	EXPECT(differ * 1000 <= total, "%ld of %ld outputs 1 LSB off float",
	       differ, total);
}
END_TEST

START_TEST(softmax_edges)
{
	static const s8 one[1] = { 5 };
	static const s8 pair[2] = { -7, -7 };
	static const s8 far[3] = { -128, 127, -128 };
	s8 *big = unit_xmalloc(4095);
	struct mcai_softmax_params p;
	s8 out[3];
	int i;

	softmax_case(one, 1, 1, 0.1, 1);
	softmax_case(pair, 1, 2, 0.1, 1);
	softmax_case(far, 1, 3, 0.2, 1);
	memset(&p, 0, sizeof(p));
	p.rows = 1;
	p.depth = 3;
	mcai_softmax_prepare(&p, 1, 0.2);
	mcai_softmax(&p, far, out);
	ck_assert_int_eq(out[0], -128);
	ck_assert_int_eq(out[1], 127);	/* p = 1: 256 - 128 saturates */
	p.depth = 2;
	mcai_softmax(&p, pair, out);
	ck_assert_int_eq(out[0], 0);	/* 1/2 */
	ck_assert_int_eq(out[1], 0);
	/* the widest row, all equal: 1/4095 each, 256/4095 = 0.06 -> 0 */
	memset(big, 3, 4095);
	softmax_case(big, 1, 4095, 0.05, 1);
	/* tiny and huge input scales */
	for (i = 0; i < 4095; i++)
		big[i] = (s8)(i * 37);
	softmax_case(big, 1, 300, 1e-4, 1);
	softmax_case(big, 1, 300, 3.0, 1);
	softmax_case(big, 1, 4095, 0.02, 1);
	p.depth = 4096;
	ck_assert_ptr_nonnull(mcai_softmax_check(&p));
	p.depth = 4095;
	ck_assert_ptr_null(mcai_softmax_check(&p));
	p.diff_min = 1;
	ck_assert_ptr_nonnull(mcai_softmax_check(&p));
	free(big);
}
END_TEST

/* TFLite's preparation for a typical scale, computed by hand. */
START_TEST(softmax_prepare)
{
	struct mcai_softmax_params p;

	memset(&p, 0, sizeof(p));
	p.rows = 1;
	p.depth = 10;
	/* 0.125 * 2^26 = 2^23: mantissa 2^30, shift 24 */
	mcai_softmax_prepare(&p, 1.0, 0.125);
	ck_assert_int_eq(p.input_mult, 1 << 30);
	ck_assert_int_eq(p.input_left_shift, 24);
	/* floor(31 * 2^26 / 2^24) = 124 */
	ck_assert_int_eq(p.diff_min, -124);
	/* an absurd scale is capped, not wrapped */
	mcai_softmax_prepare(&p, 1.0, 1e6);
	ck_assert_int_le(p.input_left_shift, 30);
	ck_assert_ptr_null(mcai_softmax_check(&p));
}
END_TEST

Suite *op_softmax_suite(void)
{
	Suite *s = suite_create("op_softmax");
	TCase *fp = tcase_create("fixedpoint");
	TCase *sm = tcase_create("softmax");

	tcase_set_timeout(fp, 60);
	tcase_add_test(fp, clz);
	tcase_add_test(fp, mulpot);
	tcase_add_test(fp, exp_neg);
	tcase_add_test(fp, recip_and_logistic);
	tcase_add_test(fp, requant64);
	tcase_add_test(fp, gemmlowp_golden);
	suite_add_tcase(s, fp);
	tcase_set_timeout(sm, 60);
	tcase_add_loop_test(sm, softmax_random, 0, 2);
	tcase_add_test(sm, softmax_edges);
	tcase_add_test(sm, tflite_softmax_golden);
	tcase_add_test(sm, softmax_prepare);
	suite_add_tcase(s, sm);
	return s;
}
