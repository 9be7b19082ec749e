// SPDX-License-Identifier: GPL-2.0
/*
 * Secure aggregation (runtime/fed/secagg.c): whole rounds run in-process, every
 * message going through its bytes, with the aggregate checked against the
 * plain sum bit for bit in the ring; dropouts at each phase, below and
 * beyond the threshold; the refusal to reveal both shares of one node;
 * masked updates that look like noise (correlation, chi-square); Shamir
 * with every t-subset and with t - 1; the SecAgg+ graph; the fixed-point
 * bound; and messages that are malformed, late, duplicated or tampered.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "runtime/fed/compress.h"
#include "runtime/fed/secagg.h"

#define WHY 256

/* When a node goes silent: before the message of that phase. */
enum drop_at {
	STAY = 0,
	BEFORE_ADVERT,
	BEFORE_SHARES,
	BEFORE_MASKED,
	BEFORE_UNMASK,
};

struct round {
	struct mcai_secagg_params p;
	struct mcai_secagg_node **nd;
	struct mcai_secagg_server *s;
	u32 *w;			/* n x dim inputs, in the ring */
	const u8 *drop;		/* n x enum drop_at, or NULL */
	struct mcai_buf b;
	char why[WHY];
};

static void round_init(struct round *r, const struct mcai_secagg_params *p,
		       const u8 *drop, uint64_t seed)
{
	u32 i, k;

	memset(r, 0, sizeof(*r));
	r->p = *p;
	r->drop = drop;
	r->nd = calloc(p->nodes, sizeof(*r->nd));
	r->w = malloc((size_t)p->nodes * p->dim * sizeof(*r->w));
	ck_assert(r->nd && r->w);
	for (i = 0; i < p->nodes; i++) {
		r->nd[i] = mcai_secagg_node_new(p, i, r->why, WHY);
		ck_assert_msg(r->nd[i], "node_new: %s", r->why);
	}
	r->s = mcai_secagg_server_new(p, r->why, WHY);
	ck_assert_msg(r->s, "server_new: %s", r->why);
	/* full-range words: the wrap-around is exercised too */
	for (k = 0; k < p->nodes * p->dim; k++)
		r->w[k] = unit_rnd32(&seed);
	mcai_buf_init(&r->b);
}

static void round_free(struct round *r)
{
	u32 i;

	for (i = 0; i < r->p.nodes; i++)
		mcai_secagg_node_free(r->nd[i]);
	mcai_secagg_server_free(r->s);
	mcai_buf_free(&r->b);
	free(r->nd);
	free(r->w);
}

static bool gone(const struct round *r, u32 i, enum drop_at at)
{
	return r->drop && r->drop[i] && r->drop[i] <= at;
}

static void deliver(struct round *r)
{
	int err = mcai_secagg_server_receive(r->s, r->b.data, r->b.len,
					     r->why, WHY);

	ck_assert_msg(!err, "receive: %d %s", err, r->why);
	mcai_buf_reset(&r->b);
}

/* The aggregator's message for @i into r->b (reset first). */
static void fetch(struct round *r, u32 i)
{
	int err;

	mcai_buf_reset(&r->b);
	err = mcai_secagg_server_message_for(r->s, i, &r->b, r->why, WHY);
	ck_assert_msg(!err, "message_for %u: %d %s", i, err, r->why);
}

static int step_close(struct round *r)
{
	return mcai_secagg_server_close(r->s, r->why, WHY);
}

/* Phases up to and including the masked inputs; 0 or close()'s error. */
static int run_to_unmask(struct round *r)
{
	struct mcai_buf in;
	u32 i, n = r->p.nodes;
	int err;

	mcai_buf_init(&in);
	for (i = 0; i < n; i++) {
		if (gone(r, i, BEFORE_ADVERT))
			continue;
		err = mcai_secagg_node_advertise(r->nd[i], &r->b, r->why, WHY);
		ck_assert_msg(!err, "advertise: %s", r->why);
		deliver(r);
	}
	err = step_close(r);
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		if (gone(r, i, BEFORE_SHARES))
			continue;
		fetch(r, i);
		mcai_buf_reset(&in);
		mcai_buf_put(&in, r->b.data, r->b.len);
		mcai_buf_reset(&r->b);
		err = mcai_secagg_node_share_keys(r->nd[i], in.data, in.len,
						  &r->b, r->why, WHY);
		ck_assert_msg(!err, "share_keys %u: %d %s", i, err, r->why);
		deliver(r);
	}
	err = step_close(r);
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		if (gone(r, i, BEFORE_MASKED))
			continue;
		fetch(r, i);
		mcai_buf_reset(&in);
		mcai_buf_put(&in, r->b.data, r->b.len);
		mcai_buf_reset(&r->b);
		err = mcai_secagg_node_masked_words(r->nd[i], in.data, in.len,
						    r->w + (size_t)i * r->p.dim,
						    &r->b, r->why, WHY);
		ck_assert_msg(!err, "masked %u: %d %s", i, err, r->why);
		deliver(r);
	}
	err = step_close(r);
out:
	mcai_buf_free(&in);
	return err;
}

static int run_unmask(struct round *r)
{
	struct mcai_buf in;
	u32 i;
	int err;

	mcai_buf_init(&in);
	for (i = 0; i < r->p.nodes; i++) {
		if (gone(r, i, BEFORE_UNMASK))
			continue;
		fetch(r, i);
		mcai_buf_reset(&in);
		mcai_buf_put(&in, r->b.data, r->b.len);
		mcai_buf_reset(&r->b);
		err = mcai_secagg_node_unmask(r->nd[i], in.data, in.len, &r->b,
					      r->why, WHY);
		ck_assert_msg(!err, "unmask %u: %d %s", i, err, r->why);
		deliver(r);
	}
	mcai_buf_free(&in);
	return step_close(r);
}

/* The whole round; the sum must be the survivors' plain sum exactly. */
static void expect_round_ok(struct round *r, u32 want_in_sum)
{
	u32 *got = malloc(r->p.dim * sizeof(*got));
	u32 *want = calloc(r->p.dim, sizeof(*want));
	struct mcai_secagg_report rep;
	u32 i, k, in_sum = 0;
	int err;

	ck_assert(got && want);
	err = run_to_unmask(r);
	ck_assert_msg(!err, "round: %d %s", err, r->why);
	err = run_unmask(r);
	ck_assert_msg(!err, "unmask close: %d %s", err, r->why);
	err = mcai_secagg_server_result(r->s, got, NULL, &rep, r->why, WHY);
	ck_assert_msg(!err, "result: %s", r->why);
	for (i = 0; i < r->p.nodes; i++) {
		if (gone(r, i, BEFORE_MASKED))
			continue;
		in_sum++;
		for (k = 0; k < r->p.dim; k++)
			want[k] += r->w[(size_t)i * r->p.dim + k];
	}
	ck_assert_uint_eq(in_sum, want_in_sum);
	ck_assert_uint_eq(rep.masked, in_sum);
	for (k = 0; k < r->p.dim; k++)
		EXPECT(got[k] == want[k], "word %u: %08x, want %08x", k, got[k],
		       want[k]);
	free(got);
	free(want);
}

static struct mcai_secagg_params params(u32 n, u32 degree, u32 dim)
{
	struct mcai_secagg_params p;
	u32 i;

	mcai_secagg_params_default(&p, 7, n, dim);
	p.degree = degree;
	p.threshold = mcai_secagg_holders(&p) / 2 + 1;
	for (i = 0; i < sizeof(p.graph_seed); i++)
		p.graph_seed[i] = (u8)(i * 29 + 3);
	return p;
}

static void exact_sum(u32 n, u32 degree, u32 dim)
{
	struct mcai_secagg_params p = params(n, degree, dim);
	struct round r;

	round_init(&r, &p, NULL, n * 1000 + degree);
	expect_round_ok(&r, n);
	round_free(&r);
}

START_TEST(sum_exact_3)
{
	exact_sum(3, 0, 1000);
}
END_TEST

START_TEST(sum_exact_10)
{
	exact_sum(10, 0, 1000);
}
END_TEST

START_TEST(sum_exact_50)
{
	exact_sum(50, 0, 500);
}
END_TEST

START_TEST(sum_exact_plus)
{
	/* SecAgg+: 2 ceil(log2 n) neighbours */
	ck_assert_uint_eq(mcai_secagg_plus_degree(10), 8);
	ck_assert_uint_eq(mcai_secagg_plus_degree(50), 12);
	ck_assert_uint_eq(mcai_secagg_plus_degree(200), 16);
	ck_assert_uint_eq(mcai_secagg_plus_degree(5), 0);
	exact_sum(10, 8, 300);
	exact_sum(50, 12, 300);
}
END_TEST

/*
 * Floats end to end: masked_input() encodes, result() decodes, and the
 * decoded sum is within n / 2^(f+1) of the sum of the clamped inputs.
 */
START_TEST(sum_floats)
{
	struct mcai_secagg_params p = params(10, 0, 400);
	struct mcai_buf in, out;
	struct round r;
	float *x = malloc(10 * 400 * sizeof(*x)), sum[400];
	double bound = 10 * ldexp(1.0, -(int)p.scale_bits - 1);
	uint64_t seed = 99;
	char why[WHY];
	u32 i, k;
	int err;

	ck_assert(x);
	for (k = 0; k < 10 * 400; k++)
		x[k] = (float)((double)unit_rnd32(&seed) / 4294967296.0 * 12 - 6);
	round_init(&r, &p, NULL, 1);
	mcai_buf_init(&in);
	mcai_buf_init(&out);
	for (i = 0; i < 10; i++) {
		ck_assert(!mcai_secagg_node_advertise(r.nd[i], &r.b, why, WHY));
		deliver(&r);
	}
	ck_assert(!step_close(&r));
	for (i = 0; i < 10; i++) {
		fetch(&r, i);
		mcai_buf_reset(&out);
		ck_assert(!mcai_secagg_node_share_keys(r.nd[i], r.b.data,
						       r.b.len, &out, why, WHY));
		mcai_buf_reset(&r.b);
		mcai_buf_put(&r.b, out.data, out.len);
		deliver(&r);
	}
	ck_assert(!step_close(&r));
	for (i = 0; i < 10; i++) {
		fetch(&r, i);
		mcai_buf_reset(&out);
		err = mcai_secagg_node_masked_input(r.nd[i], r.b.data, r.b.len,
						    x + i * 400, &out, why, WHY);
		ck_assert_msg(!err, "%s", why);
		mcai_buf_reset(&r.b);
		mcai_buf_put(&r.b, out.data, out.len);
		deliver(&r);
	}
	ck_assert(!step_close(&r));
	ck_assert(!run_unmask(&r));
	ck_assert(!mcai_secagg_server_result(r.s, NULL, sum, NULL, why, WHY));
	for (k = 0; k < 400; k++) {
		double want = 0;

		for (i = 0; i < 10; i++) {
			double v = x[i * 400 + k];

			want += v < -4 ? -4 : v > 4 ? 4 : v;
		}
		EXPECT(fabs(sum[k] - want) <= bound + 1e-6 * fabs(want),
		       "[%u] %.9g, want %.9g", k, (double)sum[k], want);
	}
	free(x);
	mcai_buf_free(&in);
	mcai_buf_free(&out);
	round_free(&r);
}
END_TEST

/* n = 10, t = 5: four nodes drop after sharing, before masked input. */

/*
 * Compressed updates under secure aggregation (runtime/fed/compress.h):
 * 6 nodes quantise floats in [-1, 1] to int8 with the common scale 1/127
 * (stochastic rounding) and mask those integers as ring words; node 3
 * drops before its masked input.  The unmasked sum is exactly the sum of
 * the 5 survivors' integers, read in Z_{2^16} (127 * 6 < 2^15, so
 * mcai_comp_ring_bits() gives 16 and the low 16 bits of the Z_{2^32} sum
 * are the sum mod 2^16), and within 5 steps of the floats' sum.
 */
START_TEST(quantised_sum)
{
	enum { N = 6, DIM = 300 };
	struct mcai_secagg_params p = params(N, 0, DIM);
	const float scale = 1.0f / 127;
	u8 drop[N] = { 0 };
	u32 *got = malloc(DIM * sizeof(u32));
	float *x = malloc((size_t)N * DIM * sizeof(float));
	float *dec = malloc(DIM * sizeof(float));
	uint64_t seed = 77;
	u64 rng = 5;
	struct round r;
	u32 i, k;

	ck_assert(got && x && dec);
	drop[3] = BEFORE_MASKED;
	round_init(&r, &p, drop, 3);
	for (k = 0; k < (u32)N * DIM; k++)
		x[k] = (float)((int)(unit_rnd32(&seed) % 2001) - 1000) / 1000;
	for (i = 0; i < N; i++)
		mcai_comp_ring_encode(x + (size_t)i * DIM, DIM, scale, &rng,
				      r.w + (size_t)i * DIM);
	expect_round_ok(&r, N - 1);
	ck_assert_int_eq(mcai_secagg_server_result(r.s, got, NULL, NULL, r.why,
						   WHY), 0);
	ck_assert_uint_eq(mcai_comp_ring_bits(N), 16);
	mcai_comp_ring_decode(got, DIM, 16, scale, dec);
	for (k = 0; k < DIM; k++) {
		s32 qsum = 0;
		double fsum = 0;

		for (i = 0; i < N; i++) {
			if (i == 3)
				continue;
			qsum += (s32)r.w[(size_t)i * DIM + k];
			fsum += x[(size_t)i * DIM + k];
		}
		EXPECT((s32)(int16_t)(got[k] & 0xffff) == qsum,
		       "[%u] ring sum %d, integers %d", k,
		       (int16_t)(got[k] & 0xffff), qsum);
		EXPECT(dec[k] == (float)((double)qsum * scale), "[%u]", k);
		EXPECT(fabs(dec[k] - fsum) <= 5 * scale * 1.0001, "[%u] %g vs %g",
		       k, dec[k], fsum);
	}
	round_free(&r);
	free(got);
	free(x);
	free(dec);
}
END_TEST

/*
 * The narrow ring (ring_bits 16, mcaid's int8 rounds): 6 nodes quantise
 * floats in [-0.5, 0.5] with the common range 0.5 (mcai_comp_sa_encode,
 * 127 levels) and mask them; MASKED is 2 bytes a word; node 2 drops
 * after its masked input (its self mask is rebuilt from its neighbours'
 * shares), node 4 before it (the masks towards it are removed).  The
 * unmasked words are exactly the 5 masked nodes' integer sum mod 2^16 (no
 * wrap: 6 x 127 < 2^15), and their decoding is within 5 steps of the
 * floats' sum.  A MASKED of 4-byte words, or one byte short, is refused;
 * float input has no place in this ring.
 */
START_TEST(quantised_sum_ring16)
{
	enum { N = 6, DIM = 257 };
	struct mcai_secagg_params p = params(N, 0, DIM);
	const float range = 0.5f, step = range / MCAI_COMP_SA_LEVELS;
	u8 drop[N] = { 0 };
	u32 *got = malloc(DIM * sizeof(u32));
	float *x = malloc((size_t)N * DIM * sizeof(float));
	float *dec = malloc(DIM * sizeof(float));
	struct mcai_secagg_report rep;
	struct mcai_buf in, wide;
	uint64_t seed = 91;
	u64 rng = 11;
	struct round r;
	u32 i, k;
	int err;

	ck_assert(got && x && dec);
	p.ring_bits = 16;
	ck_assert_int_eq(mcai_secagg_params_check(&p, NULL, 0), 0);
	p.ring_bits = 8;
	ck_assert_int_eq(mcai_secagg_params_check(&p, r.why, WHY), -EINVAL);
	p.ring_bits = 16;
	ck_assert_int_eq(mcai_comp_sa_check(N, 16, range, NULL, 0), 0);
	drop[2] = BEFORE_UNMASK;
	drop[4] = BEFORE_MASKED;
	round_init(&r, &p, drop, 5);
	for (k = 0; k < (u32)N * DIM; k++)
		x[k] = (float)((int)(unit_rnd32(&seed) % 2001) - 1000) / 2000;
	/* a few beyond the range: clamped */
	x[7] = 3.0f;
	x[DIM + 8] = -2.0f;
	for (i = 0; i < N; i++)
		ck_assert_uint_eq(mcai_comp_sa_encode(x + (size_t)i * DIM, DIM,
						      range, MCAI_COMP_SA_LEVELS,
						      &rng,
						      r.w + (size_t)i * DIM),
				  i < 2);
	/* run to the masked phase by hand: check the wire of each MASKED */
	mcai_buf_init(&in);
	mcai_buf_init(&wide);
	for (i = 0; i < N; i++) {
		ck_assert(!mcai_secagg_node_advertise(r.nd[i], &r.b, r.why,
						      WHY));
		deliver(&r);
	}
	ck_assert(!step_close(&r));
	for (i = 0; i < N; i++) {
		fetch(&r, i);
		mcai_buf_reset(&in);
		mcai_buf_put(&in, r.b.data, r.b.len);
		mcai_buf_reset(&r.b);
		ck_assert(!mcai_secagg_node_share_keys(r.nd[i], in.data, in.len,
						       &r.b, r.why, WHY));
		deliver(&r);
	}
	ck_assert(!step_close(&r));
	for (i = 0; i < N; i++) {
		if (i == 4)
			continue;
		fetch(&r, i);
		mcai_buf_reset(&in);
		mcai_buf_put(&in, r.b.data, r.b.len);
		mcai_buf_reset(&r.b);
		if (!i) {
			/* floats need the wide ring: refused, nothing sent */
			err = mcai_secagg_node_masked_input(r.nd[i], in.data,
							    in.len, x, &r.b,
							    r.why, WHY);
			ck_assert_int_eq(err, -EINVAL);
			ck_assert_uint_eq(r.b.len, 0);
		}
		err = mcai_secagg_node_masked_words(r.nd[i], in.data, in.len,
						    r.w + (size_t)i * DIM,
						    &r.b, r.why, WHY);
		ck_assert_msg(!err, "masked %u: %s", i, r.why);
		/* header, u32 dim, dim x u16 */
		ck_assert_uint_eq(r.b.len, MCAI_SECAGG_HDR_LEN + 4 + 2 * DIM);
		if (!i) {
			/* the same words as 4-byte ones; one byte short */
			mcai_buf_put(&wide, r.b.data, r.b.len);
			mcai_buf_put(&wide, r.b.data + MCAI_SECAGG_HDR_LEN + 4,
				     2 * DIM);
			ck_assert_int_eq(mcai_secagg_server_receive(r.s,
					 wide.data, wide.len, r.why, WHY),
					 -EBADMSG);
			ck_assert_msg(strstr(r.why, "wrong length"), "%s",
				      r.why);
			ck_assert_int_eq(mcai_secagg_server_receive(r.s,
					 r.b.data, r.b.len - 1, r.why, WHY),
					 -EBADMSG);
		}
		deliver(&r);
	}
	ck_assert(!step_close(&r));
	mcai_buf_free(&in);
	mcai_buf_free(&wide);
	err = run_unmask(&r);
	ck_assert_msg(!err, "unmask: %s", r.why);
	ck_assert_int_eq(mcai_secagg_server_result(r.s, got, dec, &rep, r.why,
						   WHY), 0);
	ck_assert_uint_eq(rep.masked, N - 1);
	ck_assert_uint_eq(rep.recovered, 1);
	for (k = 0; k < DIM; k++) {
		s32 qsum = 0;
		double fsum = 0;

		for (i = 0; i < N; i++) {
			float v = x[(size_t)i * DIM + k];

			if (i == 4)
				continue;
			qsum += (s32)r.w[(size_t)i * DIM + k];
			fsum += v > range ? range : v < -range ? -range : v;
		}
		EXPECT(got[k] == ((u32)qsum & 0xffff), "[%u] ring %04x, integers %d",
		       k, got[k], qsum);
		EXPECT(dec[k] == (float)qsum, "[%u] %g", k, dec[k]);
		mcai_comp_sa_decode(got + k, 1, range, MCAI_COMP_SA_LEVELS,
				    dec + k);
		EXPECT(fabs(dec[k] - fsum) <= 5 * step * 1.0001,
		       "[%u] %g vs %g", k, dec[k], fsum);
	}
	round_free(&r);
	free(got);
	free(x);
	free(dec);
}
END_TEST

START_TEST(dropouts_below_threshold)
{
	struct mcai_secagg_params p = params(10, 0, 700);
	u8 drop[10] = { 0 };
	struct mcai_secagg_report rep;
	struct round r;

	ck_assert_uint_eq(p.threshold, 5);
	drop[1] = drop[4] = drop[6] = drop[9] = BEFORE_MASKED;
	round_init(&r, &p, drop, 5);
	expect_round_ok(&r, 6);
	mcai_secagg_server_result(r.s, NULL, NULL, &rep, NULL, 0);
	ck_assert_uint_eq(rep.advertised, 10);
	ck_assert_uint_eq(rep.shared, 10);
	ck_assert_uint_eq(rep.answered, 6);
	ck_assert_uint_eq(rep.recovered, 4);
	round_free(&r);
}
END_TEST

/* Dropouts in every phase at once, complete graph and SecAgg+. */
START_TEST(dropouts_every_phase)
{
	struct mcai_secagg_params p = params(12, 0, 200);
	u8 drop[50] = { 0 };
	struct mcai_secagg_report rep;
	struct round r;

	/* t = 6 of 11: 1 before advert, 1 before shares, 2 after, 1 silent */
	drop[0] = BEFORE_ADVERT;
	drop[3] = BEFORE_SHARES;
	drop[5] = drop[11] = BEFORE_MASKED;
	drop[7] = BEFORE_UNMASK;
	round_init(&r, &p, drop, 8);
	expect_round_ok(&r, 8);
	mcai_secagg_server_result(r.s, NULL, NULL, &rep, NULL, 0);
	ck_assert_uint_eq(rep.advertised, 11);
	ck_assert_uint_eq(rep.shared, 10);
	ck_assert_uint_eq(rep.masked, 8);
	ck_assert_uint_eq(rep.answered, 7);
	ck_assert_uint_eq(rep.recovered, 2);
	round_free(&r);

	/* SecAgg+ n = 50, d = 12, t = 7: 5 after sharing, 2 silent */
	p = params(50, 12, 200);
	memset(drop, 0, sizeof(drop));
	drop[2] = drop[13] = drop[27] = drop[38] = drop[44] = BEFORE_MASKED;
	drop[8] = drop[30] = BEFORE_UNMASK;
	round_init(&r, &p, drop, 9);
	expect_round_ok(&r, 45);
	round_free(&r);
}
END_TEST

/* Beyond the threshold the round fails and says why. */
START_TEST(dropouts_beyond_threshold)
{
	struct mcai_secagg_params p = params(10, 0, 50);
	u8 drop[10] = { 0 };
	struct round r;
	char why[WHY];
	int err;

	/* 5 of 10 drop before masked input: U3 = 5 = t, but each survivor
	 * has only 4 surviving neighbours to reveal its self-mask share */
	drop[0] = drop[2] = drop[4] = drop[6] = drop[8] = BEFORE_MASKED;
	round_init(&r, &p, drop, 3);
	ck_assert(!run_to_unmask(&r));
	err = run_unmask(&r);
	ck_assert_int_eq(err, -ENODATA);
	ck_assert_msg(strstr(r.why, "threshold 5") &&
		      strstr(r.why, "4 of its neighbours"), "%s", r.why);
	ck_assert_int_eq(mcai_secagg_server_phase(r.s), MCAI_SECAGG_PH_FAILED);
	ck_assert_int_eq(mcai_secagg_server_result(r.s, NULL, NULL, NULL, why,
						   WHY), -ENODATA);
	ck_assert_str_eq(why, r.why);
	ck_assert_int_eq(step_close(&r), -EPROTO);
	round_free(&r);

	/* 6 drop: fewer masked inputs than t */
	drop[1] = BEFORE_MASKED;
	round_init(&r, &p, drop, 3);
	ck_assert_int_eq(run_to_unmask(&r), -ENODATA);
	ck_assert_msg(strstr(r.why, "4 masked inputs, threshold 5"), "%s",
		      r.why);
	round_free(&r);

	/* enough survivors, but too many of them silent at unmasking */
	memset(drop, 0, sizeof(drop));
	drop[1] = drop[2] = drop[3] = drop[4] = drop[5] = drop[6] =
		BEFORE_UNMASK;
	round_init(&r, &p, drop, 3);
	ck_assert(!run_to_unmask(&r));
	ck_assert_int_eq(run_unmask(&r), -ENODATA);
	ck_assert_msg(strstr(r.why, "survived but 3 of its neighbours"),
		      "%s", r.why);
	round_free(&r);

	/* too few advertise */
	memset(drop, 0, sizeof(drop));
	drop[0] = drop[1] = drop[2] = drop[3] = drop[4] = BEFORE_ADVERT;
	round_init(&r, &p, drop, 3);
	ck_assert_int_eq(run_to_unmask(&r), -ENODATA);
	ck_assert_msg(strstr(r.why, "5 nodes advertised"), "%s", r.why);
	round_free(&r);
}
END_TEST

/* An UNMASK_REQ for @to, written by hand as a malicious aggregator would. */
static void put_req(struct mcai_buf *b, const struct mcai_secagg_params *p,
		    u32 to, u32 survivors, const u32 *sv, u32 ns,
		    const u32 *dr, u32 nd)
{
	u32 i;

	mcai_buf_reset(b);
	mcai_buf_put_u8(b, MCAI_SECAGG_UNMASK_REQ);
	mcai_buf_put_u8(b, 1);
	mcai_buf_put_u16(b, 0);
	mcai_buf_put_u32(b, to);
	mcai_buf_put_u64(b, p->round);
	mcai_buf_put_u32(b, survivors);
	mcai_buf_put_u32(b, ns);
	for (i = 0; i < ns; i++)
		mcai_buf_put_u32(b, sv[i]);
	mcai_buf_put_u32(b, nd);
	for (i = 0; i < nd; i++)
		mcai_buf_put_u32(b, dr[i]);
}

START_TEST(refuse_both_shares)
{
	struct mcai_secagg_params p = params(6, 0, 20);
	static const u32 s1[] = { 1, 2, 3 }, d1[] = { 1 }, s2[] = { 2 };
	static const u32 d2[] = { 4, 5 }, d3[] = { 0 }, d4[] = { 1, 2 };
	struct mcai_buf req, out;
	struct round r;
	char why[WHY];

	round_init(&r, &p, NULL, 4);
	ck_assert(!run_to_unmask(&r));
	mcai_buf_init(&req);
	mcai_buf_init(&out);

	/* node 1 both survived and dropped, in one request: refused whole */
	put_req(&req, &p, 0, 6, s1, 3, d1, 1);
	ck_assert_int_eq(mcai_secagg_node_unmask(r.nd[0], req.data, req.len,
						 &out, why, WHY), -EPERM);
	ck_assert_msg(strstr(why, "both the self-mask and the pairwise-key share of node 1"),
		      "%s", why);
	ck_assert_uint_eq(out.len, 0);

	/* one kind per node is answered: b of 2, s of 4 and 5 */
	put_req(&req, &p, 0, 4, s2, 1, d2, 2);
	ck_assert(!mcai_secagg_node_unmask(r.nd[0], req.data, req.len, &out,
					   why, WHY));
	ck_assert_uint_eq(out.len, 16 + 4 + 3 * (5 + MCAI_SECAGG_SHARE_LEN));
	/* the same request again (a lost answer) is answered again */
	mcai_buf_reset(&out);
	ck_assert(!mcai_secagg_node_unmask(r.nd[0], req.data, req.len, &out,
					   why, WHY));
	/* then asking for the other kind of node 2, later: refused */
	mcai_buf_reset(&out);
	put_req(&req, &p, 0, 4, NULL, 0, d4, 2);
	ck_assert_int_eq(mcai_secagg_node_unmask(r.nd[0], req.data, req.len,
						 &out, why, WHY), -EPERM);
	ck_assert_msg(strstr(why, "self-mask share of node 2 was already"),
		      "%s", why);
	/* and the self-mask share of a node it revealed the key of */
	put_req(&req, &p, 0, 4, d2, 1, NULL, 0);
	ck_assert_int_eq(mcai_secagg_node_unmask(r.nd[0], req.data, req.len,
						 &out, why, WHY), -EPERM);
	ck_assert_uint_eq(out.len, 0);

	/* listed as dropped while answering */
	put_req(&req, &p, 0, 5, NULL, 0, d3, 1);
	ck_assert_int_eq(mcai_secagg_node_unmask(r.nd[0], req.data, req.len,
						 &out, why, WHY), -EPERM);
	/* fewer survivors than t (t = 3 of 5) */
	put_req(&req, &p, 1, 2, s2, 1, NULL, 0);
	ck_assert_int_eq(mcai_secagg_node_unmask(r.nd[1], req.data, req.len,
						 &out, why, WHY), -EPERM);
	ck_assert_msg(strstr(why, "2 survivors, threshold 3"), "%s", why);
	/* a node listed twice, a truncated request */
	put_req(&req, &p, 1, 5, d4, 2, NULL, 0);
	mcai_buf_put_u32(&req, 0);
	ck_assert_int_eq(mcai_secagg_node_unmask(r.nd[1], req.data, req.len,
						 &out, why, WHY), -EBADMSG);
	put_req(&req, &p, 1, 5, d4, 2, NULL, 0);
	ck_assert_int_eq(mcai_secagg_node_unmask(r.nd[1], req.data,
						 req.len - 1, &out, why, WHY),
			 -EBADMSG);
	ck_assert_uint_eq(out.len, 0);

	mcai_buf_free(&req);
	mcai_buf_free(&out);
	round_free(&r);
}
END_TEST

/*
 * The threshold must be a strict majority of the holders, or two disjoint
 * quorums could each be asked for one kind of share.
 */
START_TEST(params_checked)
{
	struct mcai_secagg_params p = params(10, 0, 10);
	char why[WHY];

	ck_assert(!mcai_secagg_params_check(&p, why, WHY));
	p.threshold = 4;	/* d = 9: 4 <= 4.5 */
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	ck_assert_msg(strstr(why, "threshold"), "%s", why);
	p.threshold = 10;
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	p = params(10, 0, 10);
	p.degree = 7;		/* odd */
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	p.degree = 10;		/* not below n - 1 */
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	p = params(10, 0, 10);
	p.round = 0;
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	p = params(10, 0, 0);
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	p = params(1, 0, 10);
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	/* 4096 x (8 x 2^16 + 1) > 2^31 - 1: the ring would wrap */
	p = params(4096, 0, 10);
	ck_assert(!mcai_secagg_params_check(&p, why, WHY));
	p.clip = 8;
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	ck_assert_msg(strstr(why, "overflows"), "%s", why);
	p.scale_bits = 15;
	ck_assert(!mcai_secagg_params_check(&p, why, WHY));
	p.clip = NAN;
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	ck_assert_ptr_null(mcai_secagg_node_new(&p, 0, why, WHY));
	ck_assert_ptr_null(mcai_secagg_server_new(&p, why, WHY));
}
END_TEST

START_TEST(encode_decode)
{
	struct mcai_secagg_params p = params(3, 0, 8);
	const float x[8] = { 0, 1, -1, 1.5e-5f, -3.99f, 100, -100, NAN };
	u32 w[8];
	float y[8];

	mcai_secagg_encode(&p, x, w);
	ck_assert_uint_eq(w[0], 0);
	ck_assert_uint_eq(w[1], 65536);
	ck_assert_uint_eq(w[2], 0xffff0000u);
	ck_assert_uint_eq(w[3], 1);		/* 0.983 rounds to 1 */
	ck_assert_uint_eq(w[5], 4u << 16);	/* clamped to clip */
	ck_assert_uint_eq(w[6], (u32)-(4 << 16));
	ck_assert_uint_eq(w[7], 0);		/* NaN carries nothing */
	mcai_secagg_decode(&p, w, y);
	ck_assert_float_eq(y[1], 1);
	ck_assert_float_eq(y[2], -1);
	ck_assert_float_eq(y[5], 4);
	ck_assert_float_eq(y[6], -4);
	ck_assert(fabs(y[4] + 3.99) <= ldexp(1, -17));
}
END_TEST

/* The SecAgg+ graph: d-regular, symmetric, loop-free, set by the seed. */
START_TEST(graph_shape)
{
	struct mcai_secagg_params p = params(100, 14, 4);
	u32 *nb = malloc(100 * 14 * sizeof(*nb)), i, k, m, same = 0;
	u32 other[14];

	ck_assert(nb);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(mcai_secagg_neighbours(&p, i, nb + i * 14), 14);
	for (i = 0; i < 100; i++)
		for (k = 0; k < 14; k++) {
			u32 j = nb[i * 14 + k];
			bool back = false;

			ck_assert_uint_ne(j, i);
			ck_assert_uint_lt(j, 100);
			if (k)
				ck_assert_uint_lt(nb[i * 14 + k - 1], j);
			for (m = 0; m < 14; m++)
				back |= nb[j * 14 + m] == i;
			ck_assert_msg(back, "%u ~ %u but not back", i, j);
		}
	/* another seed, another graph (a ring in id order would be 2 +-1) */
	p.graph_seed[0] ^= 1;
	ck_assert_int_eq(mcai_secagg_neighbours(&p, 0, other), 14);
	for (k = 0; k < 14; k++)
		same += other[k] == nb[k];
	ck_assert_uint_lt(same, 14);
	/* the complete graph: everyone else */
	p = params(5, 0, 4);
	ck_assert_int_eq(mcai_secagg_neighbours(&p, 2, other), 4);
	ck_assert_uint_eq(other[0], 0);
	ck_assert_uint_eq(other[1], 1);
	ck_assert_uint_eq(other[2], 3);
	ck_assert_uint_eq(other[3], 4);
	free(nb);
}
END_TEST

/*
 * What the aggregator sees of one node is uniform noise: over 10^5
 * coordinates the Pearson correlation with the plain update is within
 * 0.02 (its standard deviation under independence is 1/sqrt(10^5) =
 * 0.0032, so 6 sigma), and the top and bottom bytes of the masked words
 * pass a chi-square test of uniformity over 256 bins (df 255: mean 255,
 * sd 22.6; 400 is 6.4 sd, p < 1e-8).  The plain update fails the same
 * test by far, which shows the test can fail.
 */
#define NOISE_DIM 100000

static double chi2_byte(const u32 *w, u32 n, int shift)
{
	u32 bins[256] = { 0 }, i;
	double e = n / 256.0, c = 0;

	for (i = 0; i < n; i++)
		bins[(w[i] >> shift) & 0xff]++;
	for (i = 0; i < 256; i++)
		c += (bins[i] - e) * (bins[i] - e) / e;
	return c;
}

static double pearson(const u32 *a, const u32 *b, u32 n)
{
	double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
	u32 i;

	for (i = 0; i < n; i++) {
		ma += (s32)a[i];
		mb += (s32)b[i];
	}
	ma /= n;
	mb /= n;
	for (i = 0; i < n; i++) {
		double x = (s32)a[i] - ma, y = (s32)b[i] - mb;

		sab += x * y;
		saa += x * x;
		sbb += y * y;
	}
	return sab / sqrt(saa * sbb);
}

START_TEST(masked_is_noise)
{
	struct mcai_secagg_params p = params(3, 0, NOISE_DIM);
	struct mcai_buf in, out;
	struct round r;
	const u32 *y;
	u32 i, k, *w;
	double rho;

	round_init(&r, &p, NULL, 11);
	mcai_buf_init(&in);
	mcai_buf_init(&out);
	/* a structured update, a slow wave plus a trend: what leaks easily */
	w = r.w + NOISE_DIM;
	for (k = 0; k < NOISE_DIM; k++)
		w[k] = (u32)(s32)lrint((0.5 * sin(k / 300.0) + k * 1e-5) *
				       65536);
	for (i = 0; i < 3; i++) {
		ck_assert(!mcai_secagg_node_advertise(r.nd[i], &r.b, r.why,
						      WHY));
		deliver(&r);
	}
	ck_assert(!step_close(&r));
	for (i = 0; i < 3; i++) {
		fetch(&r, i);
		mcai_buf_reset(&in);
		ck_assert(!mcai_secagg_node_share_keys(r.nd[i], r.b.data,
						       r.b.len, &in, r.why,
						       WHY));
		mcai_buf_reset(&r.b);
		mcai_buf_put(&r.b, in.data, in.len);
		deliver(&r);
	}
	ck_assert(!step_close(&r));
	/* node 1's masked input, as the aggregator would receive it */
	fetch(&r, 1);
	ck_assert(!mcai_secagg_node_masked_words(r.nd[1], r.b.data, r.b.len, w,
						 &out, r.why, WHY));
	ck_assert_uint_eq(out.len, 16 + 4 + 4 * NOISE_DIM);
	y = (const u32 *)(out.data + 20);
	rho = pearson(y, w, NOISE_DIM);
	ck_assert_msg(fabs(rho) < 0.02, "correlation %g", rho);
	ck_assert_msg(chi2_byte(y, NOISE_DIM, 24) < 400, "chi2 top %g",
		      chi2_byte(y, NOISE_DIM, 24));
	ck_assert_msg(chi2_byte(y, NOISE_DIM, 0) < 400, "chi2 low %g",
		      chi2_byte(y, NOISE_DIM, 0));
	/* controls: the plain update is far from uniform, and the
	 * correlation does see a dependence when there is one */
	ck_assert_msg(chi2_byte(w, NOISE_DIM, 24) > 10000, "plain chi2 %g",
		      chi2_byte(w, NOISE_DIM, 24));
	ck_assert(pearson(w, w, NOISE_DIM) > 0.5);
	mcai_buf_free(&in);
	mcai_buf_free(&out);
	round_free(&r);
}
END_TEST

/* Every t-subset of n shares rebuilds the secret; t - 1 do not. */
START_TEST(shamir_t_of_n)
{
	enum { N = 7, T = 4 };
	struct mcai_shamir_share sh[N], pick[N];
	u32 xs[N], mask, i, k, ok = 0;
	u8 secret[32], got[32];
	uint64_t seed = 5;

	for (i = 0; i < 32; i++)
		secret[i] = (u8)unit_rnd32(&seed);
	secret[31] = 0xff;	/* the top limb at its widest */
	for (i = 0; i < N; i++)
		xs[i] = 100 + 7 * i;
	ck_assert(!mcai_shamir_split(secret, T, N, xs, sh));
	for (mask = 0; mask < 1u << N; mask++) {
		u32 c = (u32)__builtin_popcount(mask);

		if (c != T && c != T - 1)
			continue;
		for (i = 0, k = 0; i < N; i++)
			if (mask & 1u << i)
				pick[k++] = sh[i];
		if (c == T) {
			ck_assert(!mcai_shamir_combine(pick, k, T, got));
			ck_assert(!memcmp(got, secret, 32));
			ok++;
			continue;
		}
		ck_assert_int_eq(mcai_shamir_combine(pick, k, T, got), -ENODATA);
		/* through t - 1 points: another polynomial, another value */
		if (!mcai_shamir_combine(pick, k, T - 1, got))
			ck_assert(memcmp(got, secret, 32));
	}
	ck_assert_uint_eq(ok, 35);	/* C(7, 4) */
	/* more than t shares: the first t are used */
	ck_assert(!mcai_shamir_combine(sh, N, T, got));
	ck_assert(!memcmp(got, secret, 32));
	/* t = 1: every share is the secret; t = n */
	ck_assert(!mcai_shamir_split(secret, 1, N, xs, sh));
	ck_assert(!mcai_shamir_combine(sh + 3, 1, 1, got));
	ck_assert(!memcmp(got, secret, 32));
	ck_assert(!mcai_shamir_split(secret, N, N, xs, sh));
	ck_assert(!mcai_shamir_combine(sh, N, N, got));
	ck_assert(!memcmp(got, secret, 32));
	/* a tampered share is caught by the limb width, with p ~ 1 - 2^-49 */
	sh[2].y[1] ^= 1;
	ck_assert_int_eq(mcai_shamir_combine(sh, N, N, got), -EBADMSG);
	/* bad points */
	xs[3] = xs[2];
	ck_assert_int_eq(mcai_shamir_split(secret, T, N, xs, sh), -EINVAL);
	xs[3] = 0;
	ck_assert_int_eq(mcai_shamir_split(secret, T, N, xs, sh), -EINVAL);
	ck_assert_int_eq(mcai_shamir_split(secret, N + 1, N, xs, sh), -EINVAL);
	ck_assert(!mcai_shamir_split(secret, 2, 2, xs, sh));
	sh[1].x = sh[0].x;
	ck_assert_int_eq(mcai_shamir_combine(sh, 2, 2, got), -EINVAL);
}
END_TEST

/* Messages out of place: wrong round, phase, sender, length or content. */
START_TEST(server_rejects)
{
	struct mcai_secagg_params p = params(5, 0, 16);
	struct mcai_secagg_params q = p;
	struct mcai_secagg_node *stranger;
	struct mcai_buf b2;
	struct round r;
	u8 keep[512];
	size_t keep_len = 0;
	u32 i;

	round_init(&r, &p, NULL, 2);
	mcai_buf_init(&b2);
	/* a node of another round */
	q.round = 8;
	stranger = mcai_secagg_node_new(&q, 2, r.why, WHY);
	ck_assert(stranger);
	ck_assert(!mcai_secagg_node_advertise(stranger, &b2, r.why, WHY));
	ck_assert_int_eq(mcai_secagg_server_receive(r.s, b2.data, b2.len,
						    r.why, WHY), -EBADMSG);
	ck_assert_int_eq(mcai_secagg_node_advertise(stranger, &b2, r.why,
						    WHY), -EPROTO);
	mcai_secagg_node_free(stranger);
	/* nodes 0..3 advertise, node 4 stays away; 0 twice */
	for (i = 0; i < 4; i++) {
		ck_assert(!mcai_secagg_node_advertise(r.nd[i], &r.b, r.why,
						      WHY));
		if (!i) {
			keep_len = r.b.len;
			memcpy(keep, r.b.data, keep_len);
		}
		deliver(&r);
	}
	ck_assert_int_eq(mcai_secagg_server_receive(r.s, keep, keep_len,
						    r.why, WHY), -EALREADY);
	ck_assert_int_eq(mcai_secagg_server_receive(r.s, keep, 10, r.why,
						    WHY), -EBADMSG);
	ck_assert_int_eq(mcai_secagg_server_receive(r.s, NULL, 0, r.why, WHY),
			 -EPROTO);
	ck_assert_int_eq(mcai_secagg_server_message_for(r.s, 0, &r.b, r.why,
							WHY), -EPROTO);
	ck_assert(!step_close(&r));
	/* the late advert is refused: that phase is over */
	ck_assert(!mcai_secagg_node_advertise(r.nd[4], &r.b, r.why, WHY));
	ck_assert_int_eq(mcai_secagg_server_receive(r.s, r.b.data, r.b.len,
						    r.why, WHY), -EPROTO);
	mcai_buf_reset(&r.b);
	ck_assert_int_eq(mcai_secagg_server_message_for(r.s, 4, &r.b, r.why,
							WHY), -ENOENT);
	/* a node's KEYS must be for it */
	fetch(&r, 0);
	ck_assert_int_eq(mcai_secagg_node_share_keys(r.nd[1], r.b.data,
						     r.b.len, &b2, r.why, WHY),
			 -EBADMSG);
	/* truncated at every length: refused, nothing written */
	mcai_buf_reset(&b2);
	for (i = 0; i < r.b.len; i++)
		ck_assert_int_eq(mcai_secagg_node_share_keys(r.nd[0], r.b.data,
							     i, &b2, r.why,
							     WHY), -EBADMSG);
	ck_assert_uint_eq(b2.len, 0);
	/* shares from all four */
	for (i = 0; i < 4; i++) {
		fetch(&r, i);
		ck_assert(!mcai_secagg_node_share_keys(r.nd[i], r.b.data,
						       r.b.len, &b2, r.why,
						       WHY));
		if (i == 3) {
			/* flip a byte of a ciphertext: node 0 will see it */
			b2.data[16 + 4 + 4 + 40] ^= 0x20;
		}
		ck_assert(!mcai_secagg_server_receive(r.s, b2.data, b2.len,
						      r.why, WHY));
		mcai_buf_reset(&b2);
	}
	ck_assert(!step_close(&r));
	fetch(&r, 0);
	ck_assert_int_eq(mcai_secagg_node_masked_words(r.nd[0], r.b.data,
						       r.b.len, r.w, &b2, r.why,
						       WHY), -EBADMSG);
	ck_assert_msg(strstr(r.why, "from node 3 do not decrypt"), "%s",
		      r.why);
	ck_assert_uint_eq(b2.len, 0);
	/* the others mask; a node never sends twice */
	for (i = 1; i < 4; i++) {
		fetch(&r, i);
		ck_assert(!mcai_secagg_node_masked_words(r.nd[i], r.b.data,
							 r.b.len, r.w + i * 16,
							 &b2, r.why, WHY));
		ck_assert(!mcai_secagg_server_receive(r.s, b2.data, b2.len,
						      r.why, WHY));
		ck_assert_int_eq(mcai_secagg_server_receive(r.s, b2.data,
							    b2.len, r.why, WHY),
				 -EALREADY);
		mcai_buf_reset(&b2);
	}
	ck_assert(!step_close(&r));
	/* node 0 is out; its late masked input would be refused anyway */
	ck_assert_int_eq(mcai_secagg_server_message_for(r.s, 0, &r.b, r.why,
							WHY), -ENOENT);
	mcai_buf_free(&b2);
	round_free(&r);
}
END_TEST

/*
 * One node sends a corrupted share in its unmask answer: with 5 holders
 * and t = 3 the aggregator leaves it out and still gets the exact sum;
 * with only t shares of that node's seed it fails and says so.
 */
START_TEST(bad_share_worked_around)
{
	struct mcai_secagg_params p = params(6, 0, 32);
	u32 got[32], want[32] = { 0 }, i, k, pass;
	struct mcai_buf in;
	struct round r;
	int err;

	for (pass = 0; pass < 2; pass++) {
		round_init(&r, &p, NULL, 21);
		mcai_buf_init(&in);
		ck_assert(!run_to_unmask(&r));
		for (i = 0; i < 6; i++) {
			/* 4 answer: node 1's shares come from 0, 2, 3 only */
			if (pass && i >= 4)
				continue;
			fetch(&r, i);
			mcai_buf_reset(&in);
			mcai_buf_put(&in, r.b.data, r.b.len);
			mcai_buf_reset(&r.b);
			ck_assert(!mcai_secagg_node_unmask(r.nd[i], in.data,
							   in.len, &r.b, r.why,
							   WHY));
			/* first entry's first limb: hdr, count, about, kind, x */
			if (!i)
				r.b.data[16 + 4 + 4 + 1 + 4] ^= 0x40;
			deliver(&r);
		}
		err = step_close(&r);
		if (!pass) {
			ck_assert_msg(!err, "%s", r.why);
			ck_assert(!mcai_secagg_server_result(r.s, got, NULL,
							     NULL, NULL, 0));
			for (k = 0; k < 32; k++) {
				for (i = 0; i < 6; i++)
					want[k] += r.w[i * 32 + k];
				ck_assert_uint_eq(got[k], want[k]);
			}
		} else {
			ck_assert_int_eq(err, -EBADMSG);
			ck_assert_msg(strstr(r.why, "committed secret"), "%s",
				      r.why);
		}
		mcai_buf_free(&in);
		round_free(&r);
	}
}
END_TEST

/* Flip a few bytes (often in the header and counts), cut, or extend. */
static void mutate(struct mcai_buf *b, uint64_t *seed)
{
	u32 how = unit_rnd32(seed) % 4, i, k;

	if (!b->len)
		return;
	if (how == 0) {
		b->len = unit_rnd32(seed) % b->len;
		return;
	}
	if (how == 1) {
		for (i = 1 + unit_rnd32(seed) % 8; i; i--)
			mcai_buf_put_u8(b, (u8)unit_rnd32(seed));
		return;
	}
	for (i = 1 + unit_rnd32(seed) % 3; i; i--) {
		k = how == 2 ? unit_rnd32(seed) % (b->len < 24 ? b->len : 24) :
			       unit_rnd32(seed) % b->len;
		b->data[k] ^= (u8)(1 + unit_rnd32(seed) % 255);
	}
}

/*
 * One 3-node round in which node 0's message of @stage is mutated: 0
 * ADVERT, 1 KEYS, 2 SHARES, 3 SHARES_FOR, 4 MASKED, 5 UNMASK_REQ, 6 UNMASK
 * (even: to the aggregator, odd: to the node).  Errors are allowed
 * anywhere; what is not allowed is a crash, a sanitizer report, or a
 * round that finishes with a sum other than its members' plain sum
 * (unless the masked words themselves were changed: integrity of the
 * inputs is not what secure aggregation gives).
 */
static void mutated_round(u32 stage, uint64_t *seed)
{
	struct mcai_secagg_params p = params(3, 0, 4);
	struct mcai_buf in, out;
	struct round r;
	bool in_u3[3] = { false };
	u32 phase, i, k, got[4], want[4] = { 0 };

	round_init(&r, &p, NULL, *seed);
	mcai_buf_init(&in);
	mcai_buf_init(&out);
	for (phase = 0; phase < 4; phase++) {
		for (i = 0; i < 3; i++) {
			int err = 0;

			mcai_buf_reset(&in);
			mcai_buf_reset(&out);
			if (phase && mcai_secagg_server_message_for(r.s, i, &in,
								    NULL, 0))
				continue;
			if (!i && stage == 2 * phase - 1)
				mutate(&in, seed);
			if (phase == 0)
				err = mcai_secagg_node_advertise(r.nd[i], &out,
								 NULL, 0);
			else if (phase == 1)
				err = mcai_secagg_node_share_keys(r.nd[i],
								  in.data,
								  in.len, &out,
								  NULL, 0);
			else if (phase == 2)
				err = mcai_secagg_node_masked_words(r.nd[i],
					in.data, in.len, r.w + i * 4, &out,
					NULL, 0);
			else
				err = mcai_secagg_node_unmask(r.nd[i], in.data,
							      in.len, &out,
							      NULL, 0);
			if (err) {
				ck_assert_uint_eq(out.len, 0);
				continue;
			}
			if (!i && stage == 2 * phase)
				mutate(&out, seed);
			err = mcai_secagg_server_receive(r.s, out.data, out.len,
							 NULL, 0);
			if (!err && phase == 2)
				in_u3[i] = true;
		}
		if (mcai_secagg_server_close(r.s, NULL, 0))
			break;
	}
	if (!mcai_secagg_server_result(r.s, got, NULL, NULL, NULL, 0) &&
	    stage != 4) {
		for (i = 0; i < 3; i++)
			for (k = 0; in_u3[i] && k < 4; k++)
				want[k] += r.w[i * 4 + k];
		ck_assert_msg(!memcmp(got, want, sizeof(got)),
			      "stage %u: a wrong sum was accepted", stage);
	}
	mcai_buf_free(&in);
	mcai_buf_free(&out);
	round_free(&r);
}

START_TEST(mutated_messages)
{
	uint64_t seed = 1234;
	u32 stage, k;

	for (stage = 0; stage < 7; stage++)
		for (k = 0; k < 100; k++)
			mutated_round(stage, &seed);
}
END_TEST

Suite *secagg_suite(void)
{
	Suite *s = suite_create("secagg");
	TCase *tc = tcase_create("secagg");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, shamir_t_of_n);
	tcase_add_test(tc, encode_decode);
	tcase_add_test(tc, params_checked);
	tcase_add_test(tc, graph_shape);
	tcase_add_test(tc, sum_exact_3);
	tcase_add_test(tc, sum_exact_10);
	tcase_add_test(tc, sum_exact_50);
	tcase_add_test(tc, sum_exact_plus);
	tcase_add_test(tc, sum_floats);
	tcase_add_test(tc, quantised_sum);
	tcase_add_test(tc, quantised_sum_ring16);
	tcase_add_test(tc, dropouts_below_threshold);
	tcase_add_test(tc, dropouts_every_phase);
	tcase_add_test(tc, dropouts_beyond_threshold);
	tcase_add_test(tc, refuse_both_shares);
	tcase_add_test(tc, masked_is_noise);
	tcase_add_test(tc, server_rejects);
	tcase_add_test(tc, mutated_messages);
	tcase_add_test(tc, bad_share_worked_around);
	suite_add_tcase(s, tc);
	return s;
}
