// SPDX-License-Identifier: GPL-2.0
/*
 * Compressed updates (runtime/fed/compress.c): stochastic rounding by hand,
 * int8 round-trip error bounds, top-k by hand, error feedback that loses
 * nothing, the sizes on the wire, and hostile bytes refused.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "runtime/fed/compress.h"

/*
 * x = 2.25, scale 1: floor(2.25 + u) is 2 for u < 0.75, 3 from 0.75 on,
 * so E = 2 * 0.75 + 3 * 0.25 = 2.25 (unbiased).  -2.25: -3 for u < 0.25,
 * else -2.  Far out of range: clamped to +-127 (never -128).
 */
START_TEST(stochastic_rounding)
{
	double mean = 0;
	u64 rng = 5;
	u32 i;

	ck_assert_int_eq(mcai_comp_round(2.25f, 1, 0.0), 2);
	ck_assert_int_eq(mcai_comp_round(2.25f, 1, 0.7499), 2);
	ck_assert_int_eq(mcai_comp_round(2.25f, 1, 0.75), 3);
	ck_assert_int_eq(mcai_comp_round(-2.25f, 1, 0.2499), -3);
	ck_assert_int_eq(mcai_comp_round(-2.25f, 1, 0.25), -2);
	ck_assert_int_eq(mcai_comp_round(1000, 1, 0.9), 127);
	ck_assert_int_eq(mcai_comp_round(-1000, 1, 0.0), -127);
	ck_assert_int_eq(mcai_comp_round(5, 0, 0.5), 0);
	/* the mean of many roundings of 0.3 through the encoder's rng */
	{
		u32 words[1];
		const float x = 0.3f;

		for (i = 0; i < 100000; i++) {
			mcai_comp_ring_encode(&x, 1, 1.0f, &rng, words);
			mean += (s32)words[0];
		}
		mean /= 100000;
		ck_assert_msg(fabs(mean - 0.3) < 0.01, "mean %g", mean);
	}
}
END_TEST

/*
 * int8 of 1000 values in blocks of 256: every decoded value is within one
 * step (its block's max / 127) of the original, the sent vector is what
 * decode() gives, and the residual is exactly x - sent.
 */
START_TEST(int8_round_trip)
{
	enum { N = 1000 };
	struct mcai_comp_config c;
	float x[N], sent[N], resid[N] = { 0 }, got[N], mx[4] = { 0 };
	u8 *buf;
	uint64_t seed = 11;
	u64 rng = 3;
	char why[128];
	u32 i;

	mcai_comp_config_default(&c, MCAI_COMP_INT8);
	for (i = 0; i < N; i++) {
		x[i] = (float)((int)(unit_rnd32(&seed) % 20001) - 10000) /
		       (i < 256 ? 1000.0f : 10.0f);
		if (fabsf(x[i]) > mx[i / 256])
			mx[i / 256] = fabsf(x[i]);
	}
	ck_assert_uint_eq(mcai_comp_size(&c, N), 16 + 4 * 4 + N);
	buf = malloc(mcai_comp_size(&c, N));
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(mcai_comp_encode(&c, x, resid, N, &rng, buf, sent), 0);
	ck_assert_int_eq(mcai_comp_decode(buf, mcai_comp_size(&c, N), N, got,
					  why, sizeof(why)), 0);
	for (i = 0; i < N; i++) {
		const float step = mx[i / 256] / 127;

		ck_assert_float_eq(got[i], sent[i]);
		EXPECT(fabsf(got[i] - x[i]) <= step * 1.0001f,
		       "[%u] %g for %g, step %g", i, got[i], x[i], step);
		EXPECT(resid[i] == x[i] - sent[i], "[%u] residual", i);
	}
	/* zeros stay zeros */
	memset(x, 0, sizeof(x));
	memset(resid, 0, sizeof(resid));
	ck_assert_int_eq(mcai_comp_encode(&c, x, resid, N, &rng, buf, sent), 0);
	ck_assert_int_eq(mcai_comp_decode(buf, mcai_comp_size(&c, N), N, got,
					  why, sizeof(why)), 0);
	for (i = 0; i < N; i++)
		ck_assert(got[i] == 0 && resid[i] == 0);
	free(buf);
}
END_TEST

/*
 * top-k 0.3 of 10 values, k = 3:
 *   x = [0.1, -5, 0.2, 3, 0, 0, -4, 0.05, 0.3, 0]
 *   largest magnitudes: 5 (i = 1), 4 (i = 6), 3 (i = 3)
 *   bitmap byte 0 = bits 1, 3, 6 = 0x4a, byte 1 = 0
 *   one block: scale 5 / 127; -5 -> -127 exactly (floor(-127 + u))
 *   bytes: 16 header + 2 bitmap + 4 scale + 3 values = 25
 *   residual: x with positions 1, 3, 6 replaced by their rounding error
 *   (below one step, 5 / 127), all the others kept whole.
 */
START_TEST(topk_by_hand)
{
	static const float x[10] = { 0.1f, -5, 0.2f, 3, 0, 0, -4, 0.05f,
				     0.3f, 0 };
	struct mcai_comp_config c;
	float sent[10], resid[10] = { 0 }, got[10];
	u8 buf[25];
	u64 rng = 9;
	char why[128];
	u32 i;

	mcai_comp_config_default(&c, MCAI_COMP_TOPK);
	c.topk = 0.3f;
	ck_assert_uint_eq(mcai_comp_values(&c, 10), 3);
	ck_assert_uint_eq(mcai_comp_size(&c, 10), 25);
	ck_assert_int_eq(mcai_comp_encode(&c, x, resid, 10, &rng, buf, sent), 0);
	ck_assert_uint_eq(buf[16], 0x4a);
	ck_assert_uint_eq(buf[17], 0);
	ck_assert_int_eq((s8)buf[22], -127);
	ck_assert_int_eq(mcai_comp_decode(buf, 25, 10, got, why, sizeof(why)), 0);
	for (i = 0; i < 10; i++) {
		const bool on = i == 1 || i == 3 || i == 6;

		ck_assert_float_eq(got[i], sent[i]);
		if (on) {
			EXPECT(fabsf(got[i] - x[i]) <= 5.0f / 127 * 1.0001f,
			       "[%u] %g", i, got[i]);
			EXPECT(fabsf(resid[i]) <= 5.0f / 127 * 1.0001f, "[%u]", i);
		} else {
			EXPECT(got[i] == 0 && resid[i] == x[i], "[%u]", i);
		}
	}
	ck_assert_float_eq(got[1], -5);
}
END_TEST

/*
 * Error feedback: the same update d = [1, 0.1 x 9] forty rounds running
 * with top-k 0.1 (k = 1).  Rounds 1..10 send coordinate 0 (1 against the
 * others' 0.1, 0.2, ..., 1.0: a tie goes to the lower index); the 0.1s
 * wait in the residual, growing by 0.1 a round, so from round 11 on they
 * pass coordinate 0 and go out one by one, coordinate 0 in between as its
 * own residual grows.  Nothing is lost: after R rounds, sum of what was
 * sent + the residual = R d (to float rounding), and every coordinate was
 * sent at least once.
 */
START_TEST(error_feedback_accumulates)
{
	enum { N = 10, R = 40 };
	struct mcai_comp_config c;
	float d[N], sent[N], resid[N] = { 0 }, total[N] = { 0 };
	bool ever[N] = { false };
	u8 buf[64];
	u64 rng = 1;
	u32 r, i;

	mcai_comp_config_default(&c, MCAI_COMP_TOPK);
	c.topk = 0.1f;
	d[0] = 1;
	for (i = 1; i < N; i++)
		d[i] = 0.1f;
	for (r = 0; r < R; r++) {
		ck_assert_int_eq(mcai_comp_encode(&c, d, resid, N, &rng, buf,
						  sent), 0);
		for (i = 0; i < N; i++) {
			total[i] += sent[i];
			ever[i] |= sent[i] != 0;
		}
		if (r == 0) {
			ck_assert_float_eq(sent[0], 1);
			for (i = 1; i < N; i++)
				ck_assert_float_eq_tol(resid[i], 0.1f, 1e-6f);
		}
	}
	for (i = 0; i < N; i++) {
		EXPECT(fabsf(total[i] + resid[i] - R * d[i]) < 1e-4f,
		       "[%u] sent %g + residual %g != %g", i, total[i],
		       resid[i], R * d[i]);
		EXPECT(ever[i], "[%u] never sent", i);
	}
	/* without a residual the small ones are never sent at all */
	memset(ever, 0, sizeof(ever));
	for (r = 0; r < R; r++) {
		ck_assert_int_eq(mcai_comp_encode(&c, d, NULL, N, &rng, buf,
						  sent), 0);
		for (i = 0; i < N; i++)
			ever[i] |= sent[i] != 0;
	}
	for (i = 1; i < N; i++)
		ck_assert(!ever[i]);
}
END_TEST

/* The MLP's 101770 parameters: int8 ~3.9x, top-k 0.1 ~17.6x fewer bytes. */
START_TEST(sizes)
{
	struct mcai_comp_config c;
	const u32 n = 784 * 128 + 128 + 128 * 10 + 10;

	ck_assert_uint_eq(n, 101770);
	mcai_comp_config_default(&c, MCAI_COMP_NONE);
	ck_assert_uint_eq(mcai_comp_size(&c, n), 407080);
	mcai_comp_config_default(&c, MCAI_COMP_INT8);
	/* 16 + 4 ceil(101770 / 256) + 101770 */
	ck_assert_uint_eq(mcai_comp_size(&c, n), 16 + 4 * 398 + 101770);
	mcai_comp_config_default(&c, MCAI_COMP_TOPK);
	/* k = 10177: 16 + 12722 bitmap + 4 * 40 + 10177 */
	ck_assert_uint_eq(mcai_comp_size(&c, n), 16 + 12722 + 160 + 10177);
	ck_assert_uint_eq(mcai_comp_ring_bits(258), 16);
	ck_assert_uint_eq(mcai_comp_ring_bits(259), 32);
}
END_TEST

/*
 * The daemon's int8 secure-aggregation rounds: the node bound (258 x 127
 * fits below 2^15, 259 x 127 does not) refused with its reason, the
 * side levels, clamping counted, every word within -levels .. levels,
 * and the worst case (n nodes all at +range or all at -range) summing
 * without a wrap in Z_2^16 for n = 258.  Stochastic rounding stays
 * unbiased at the round's common scale.
 */
START_TEST(secagg_ring)
{
	enum { N = 258 };
	static const float big[2] = { 1e9f, -1e9f };
	char why[160] = "";
	u32 w[2], sum[2] = { 0, 0 }, i;
	float dec[2];
	double mean = 0;
	u64 rng = 3;

	ck_assert_int_eq(mcai_comp_sa_check(258, 16, 0.1f, NULL, 0), 0);
	ck_assert_int_eq(mcai_comp_sa_check(259, 16, 0.1f, why, sizeof(why)),
			 -ERANGE);
	ck_assert_msg(strstr(why, "259 x 127 would wrap Z_2^16 (258 nodes at most)"),
		      "%s", why);
	ck_assert_int_eq(mcai_comp_sa_check(4, 32, 0.1f, why, sizeof(why)),
			 -EINVAL);
	ck_assert_int_eq(mcai_comp_sa_check(4, 16, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(mcai_comp_sa_check(4, 16, NAN, NULL, 0), -EINVAL);
	ck_assert_int_eq(mcai_comp_sa_check(0, 16, 1, NULL, 0), -ERANGE);
	ck_assert_uint_eq(mcai_comp_sa_levels(4), 8191);
	ck_assert_uint_eq(mcai_comp_sa_levels(258), 127);
	for (i = 0; i < N; i++) {
		ck_assert_uint_eq(mcai_comp_sa_encode(big, 2, 0.25f,
						      MCAI_COMP_SA_LEVELS,
						      &rng, w), 2);
		ck_assert_int_eq((s32)w[0], 127);
		ck_assert_int_eq((s32)w[1], -127);
		sum[0] = (sum[0] + w[0]) & 0xffff;
		sum[1] = (sum[1] + w[1]) & 0xffff;
	}
	mcai_comp_sa_decode(sum, 2, 0.25f, MCAI_COMP_SA_LEVELS, dec);
	ck_assert_float_eq_tol(dec[0], 0.25f * N, 1e-3);
	ck_assert_float_eq_tol(dec[1], -0.25f * N, 1e-3);
	/* one more node's +127 would wrap: what the bound is for */
	sum[0] = (sum[0] + 127) & 0xffff;
	ck_assert_uint_eq(sum[0], 32893);
	ck_assert_int_lt((int16_t)sum[0], 0);
	for (i = 0; i < 100000; i++) {
		const float x = 0.0123f;

		mcai_comp_sa_encode(&x, 1, 0.1f, MCAI_COMP_SA_LEVELS, &rng, w);
		ck_assert((s32)w[0] == 15 || (s32)w[0] == 16);
		mean += (s32)w[0] * (0.1 / 127);
	}
	mean /= 100000;
	ck_assert_msg(fabs(mean - 0.0123) < 2e-4, "mean %g", mean);
}
END_TEST

static void refused(const u8 *b, size_t len, u32 n, const char *word)
{
	float out[16];
	char why[160] = "";

	ck_assert_int_eq(mcai_comp_decode(b, len, n, out, why, sizeof(why)),
			 -EBADMSG);
	ck_assert_msg(strstr(why, word), "'%s' lacks '%s'", why, word);
}

START_TEST(hostile_bytes)
{
	static const float x[10] = { 0.1f, -5, 0.2f, 3, 0, 0, -4, 0.05f,
				     0.3f, 0 };
	struct mcai_comp_config c;
	u8 buf[25], bad[25];
	u64 rng = 2;
	float nanf_ = NAN;

	mcai_comp_config_default(&c, MCAI_COMP_TOPK);
	c.topk = 0.3f;
	ck_assert_int_eq(mcai_comp_encode(&c, x, NULL, 10, &rng, buf, NULL), 0);
	refused(buf, 10, 10, "bytes");
	refused(buf, 24, 10, "header says");
	refused(buf, 25, 11, "parameters");
	memcpy(bad, buf, 25);
	bad[0] = 7;
	refused(bad, 25, 10, "kind 7");
	memcpy(bad, buf, 25);
	bad[1] = 2;
	refused(bad, 25, 10, "format 2");
	memcpy(bad, buf, 25);
	bad[16] = 0x4b;				/* a fourth bit */
	refused(bad, 25, 10, "bitmap");
	memcpy(bad, buf, 25);
	bad[17] = 0x04;				/* a bit past n */
	bad[16] = 0x0a;
	refused(bad, 25, 10, "bitmap");
	memcpy(bad, buf, 25);
	memcpy(bad + 18, &nanf_, 4);
	refused(bad, 25, 10, "scale");
	memcpy(bad, buf, 25);
	bad[24] = 0x80;
	refused(bad, 25, 10, "-128");
	memcpy(bad, buf, 25);
	bad[12] = 0;				/* k = 0 */
	refused(bad, 25, 10, "values");
	/* the encoder refuses what it cannot do */
	c.kind = MCAI_COMP_NONE;
	ck_assert_int_eq(mcai_comp_encode(&c, x, NULL, 10, &rng, buf, NULL),
			 -EINVAL);
	c.kind = MCAI_COMP_TOPK;
	c.topk = 0;
	ck_assert_int_eq(mcai_comp_config_check(&c, NULL, 0), -EINVAL);
}
END_TEST

Suite *compress_suite(void)
{
	Suite *s = suite_create("compress");
	TCase *tc = tcase_create("compress");

	tcase_add_test(tc, stochastic_rounding);
	tcase_add_test(tc, int8_round_trip);
	tcase_add_test(tc, topk_by_hand);
	tcase_add_test(tc, error_feedback_accumulates);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, hostile_bytes);
	tcase_add_test(tc, secagg_ring);
	suite_add_tcase(s, tc);
	return s;
}
