// SPDX-License-Identifier: GPL-2.0
/*
 * An imported graph split into a frozen int8 body and a float FC head
 * (runtime/fed/fedhead.c), on the shipped Fashion-MNIST CNN: the head
 * dequantised and requantised unchanged gives the original blob back
 * byte for byte, a trained head changes only the head's bytes, a cut
 * that is not a trailing FC chain is refused, and so is any blob the
 * verifier refuses.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "models/engine/graph.h"
#include "runtime/fed/fedhead.h"

#define CNN	"models/fmnist-cnn.mcai"
#define MLP	"models/fmnist-mlp.mcai"
#define TREES	"models/vib-trees.mcai"
#define AD	"models/mlperf-tiny/ad-autoencoder.mcai"
#define KWS	"models/mlperf-tiny/kws-dscnn.mcai"
#define N_IMG	48

/* A loaded blob with its arena, to run images through. */
struct run {
	struct mcai_graph g;
	void *state, *arena;
};

static void run_open(struct run *r, const u8 *b, u32 len)
{
	struct mcai_limits lim;
	struct mcai_verdict v = { 0 };
	u32 need;

	mcai_limits_default(&lim);
	need = mcai_graph_state_size(b, len, &lim, &v);
	ck_assert_msg(need, "state: %s", v.reason);
	r->state = aligned_alloc(8, (need + 7) & ~7U);
	ck_assert_msg(!mcai_graph_verify(&r->g, b, len, &lim, r->state,
					 (need + 7) & ~7U, &v),
		      "verify: %s at %u", v.reason, v.offset);
	r->arena = aligned_alloc(8, (r->g.arena_size + 15) & ~7U);
}

static void run_close(struct run *r)
{
	free(r->state);
	free(r->arena);
}

/* The int8 outputs of @n random images (a fixed seed), concatenated. */
static void outputs(struct run *r, u32 n, u8 *out)
{
	uint64_t s = 0x5eed;
	u32 i, k, in = r->g.tv_in_bytes, ob = r->g.tv_out_bytes;
	u8 *img = unit_xmalloc(in);

	for (i = 0; i < n; i++) {
		for (k = 0; k < in; k++)
			img[k] = (u8)(unit_rnd(&s) >> 56);
		mcai_graph_run_bytes(&r->g, r->arena, img, out + (size_t)i * ob);
	}
	free(img);
}

START_TEST(round_trip_identical)
{
	struct mcai_fedhead h;
	char err[256] = "";
	u32 len, nlen, nlen2;
	u8 *b = unit_slurp(CNN, &len), *nb, *nb2, *o1, *o2;
	float *p;
	struct run r1, r2;

	ck_assert_msg(!mcai_fedhead_open(&h, b, len, 2, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(h.n_fc, 2);
	ck_assert_uint_eq(h.dims[0], 1568);
	ck_assert_uint_eq(h.dims[1], 96);
	ck_assert_uint_eq(h.dims[2], 10);
	ck_assert_int_eq(h.softmax_op, -1);
	ck_assert_uint_eq(h.n_params, 1568 * 96 + 96 + 96 * 10 + 10);
	p = unit_xmalloc(h.n_params * sizeof(float));
	mcai_fedhead_get_params(&h, p);
	/* same version: the very same bytes, digest included */
	nb = mcai_fedhead_requantise(&h, p, NULL, 0, h.g.version, &nlen, err,
				  sizeof(err));
	ck_assert_msg(nb, "%s", err);
	ck_assert_uint_eq(nlen, len);
	ck_assert_msg(!memcmp(nb, b, len), "round trip changed the blob");
	/* a new version: the same outputs on every image */
	nb2 = mcai_fedhead_requantise(&h, p, NULL, 0, h.g.version + 1, &nlen2,
				   err, sizeof(err));
	ck_assert_msg(nb2, "%s", err);
	ck_assert(memcmp(nb2, b, len) != 0);
	run_open(&r1, b, len);
	run_open(&r2, nb2, nlen2);
	ck_assert_uint_eq(r2.g.version, r1.g.version + 1);
	o1 = unit_xmalloc((size_t)N_IMG * r1.g.tv_out_bytes);
	o2 = unit_xmalloc((size_t)N_IMG * r1.g.tv_out_bytes);
	outputs(&r1, N_IMG, o1);
	outputs(&r2, N_IMG, o2);
	ck_assert(!memcmp(o1, o2, (size_t)N_IMG * r1.g.tv_out_bytes));
	run_close(&r1);
	run_close(&r2);
	free(o1);
	free(o2);
	free(nb);
	free(nb2);
	free(p);
	mcai_fedhead_close(&h);
	free(b);
}
END_TEST

/* The features the body gives and the float head agree with the engine. */
START_TEST(features_and_float_head)
{
	struct mcai_fedhead h;
	struct mcai_mlp *m;
	char err[256] = "";
	u32 len, i, k, agree = 0, in;
	u8 *b = unit_slurp(CNN, &len);
	s8 *img, *feat;
	float *p, *x;
	void *arena;
	uint64_t s = 7;

	ck_assert_msg(!mcai_fedhead_open(&h, b, len, 0, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(h.n_fc, 2);	/* 0: every trailing fc layer */
	in = h.g.t[h.g.input[0]].bytes;
	img = unit_xmalloc(in);
	feat = unit_xmalloc(h.dims[0]);
	x = unit_xmalloc(h.dims[0] * sizeof(float));
	p = unit_xmalloc(h.n_params * sizeof(float));
	arena = aligned_alloc(8, (h.g.arena_size + 15) & ~7U);
	m = mcai_fedhead_mlp(&h);
	ck_assert_ptr_nonnull(m);
	mcai_fedhead_get_params(&h, p);
	mcai_mlp_set_params(m, p);
	for (i = 0; i < N_IMG; i++) {
		int cls;

		for (k = 0; k < in; k++)
			img[k] = (s8)(unit_rnd(&s) >> 56);
		mcai_fedhead_features(&h, arena, img, feat);
		/* the full graph, then the cut tensor left in its arena */
		memcpy(mcai_graph_tensor(&h.g, arena, h.g.input[0]), img, in);
		cls = mcai_graph_run(&h.g, arena);
		mcai_fedhead_dequant(&h, feat, x);
		agree += mcai_mlp_predict(m, x) == (u32)cls;
	}
	/* float vs int8 head on the same features: nearly always the same */
	ck_assert_msg(agree >= N_IMG * 9 / 10, "float head agrees on %u of %u",
		      agree, N_IMG);
	mcai_mlp_free(m);
	free(arena);
	free(p);
	free(x);
	free(feat);
	free(img);
	mcai_fedhead_close(&h);
	free(b);
}
END_TEST

/* A changed head: only head bytes change, the body check can fail. */
START_TEST(body_unchanged)
{
	struct mcai_fedhead h;
	char err[256] = "";
	u32 len, nlen, where, i, off;
	u8 *b = unit_slurp(CNN, &len), *nb;
	float *p, *calib;
	uint64_t s = 3;
	struct run r;

	ck_assert_msg(!mcai_fedhead_open(&h, b, len, 2, err, sizeof(err)), "%s", err);
	p = unit_xmalloc(h.n_params * sizeof(float));
	mcai_fedhead_get_params(&h, p);
	for (i = 0; i < h.n_params; i++)
		p[i] *= 1.0f + 0.2f * ((float)(unit_rnd(&s) >> 40) / 16777216.0f - 0.5f);
	calib = unit_xmalloc(16 * h.dims[0] * sizeof(float));
	for (i = 0; i < 16 * h.dims[0]; i++)
		calib[i] = (float)(unit_rnd(&s) >> 40) / 16777216.0f;
	nb = mcai_fedhead_requantise(&h, p, calib, 16, 9, &nlen, err, sizeof(err));
	ck_assert_msg(nb, "%s", err);
	ck_assert(memcmp(nb, b, len) != 0);
	ck_assert(mcai_fedhead_body_same(&h, nb, nlen, &where));
	run_open(&r, nb, nlen);
	ck_assert_uint_eq(r.g.version, 9);
	ck_assert_int_eq(mcai_graph_check_vectors(&r.g, r.arena, &where), 0);
	run_close(&r);
	/* the first conv's weights are body: one byte changed is noticed */
	off = mcai_le32(nb + offsetof(struct mcai_blob2_header, data_off)) +
	      (u32)((const u8 *)h.g.t[h.g.op[0].in[1]].data - h.blob) -
	      mcai_le32(h.blob + offsetof(struct mcai_blob2_header, data_off));
	nb[off] ^= 1;
	ck_assert(!mcai_fedhead_body_same(&h, nb, nlen, &where));
	ck_assert_uint_eq(where, off);
	nb[off] ^= 1;
	/* so is a body op's parameter and a changed header field */
	nb[offsetof(struct mcai_blob2_header, arena_size)] ^= 1;
	ck_assert(!mcai_fedhead_body_same(&h, nb, nlen, &where));
	free(nb);
	/* non-finite parameters are refused */
	p[5] = NAN;
	ck_assert_ptr_null(mcai_fedhead_requantise(&h, p, NULL, 0, 2, &nlen, err,
						sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not finite"));
	free(calib);
	free(p);
	mcai_fedhead_close(&h);
	free(b);
}
END_TEST

START_TEST(cut_refused)
{
	struct mcai_fedhead h;
	char err[256] = "";
	u32 len, klen;
	u8 *b = unit_slurp(CNN, &len), *k;

	/* three trailing layers asked, the third from the end is a reshape */
	ck_assert_int_eq(mcai_fedhead_open(&h, b, len, 3, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "reshape") && strstr(err, "not fully connected"),
		      "%s", err);
	ck_assert_int_eq(mcai_fedhead_open(&h, b, len, 1, err, sizeof(err)), 0);
	ck_assert_uint_eq(h.n_fc, 1);
	ck_assert_uint_eq(h.dims[0], 96);
	mcai_fedhead_close(&h);
	/* the autoencoder ends in its reconstruction-error head */
	k = unit_slurp(AD, &klen);
	ck_assert_int_eq(mcai_fedhead_open(&h, k, klen, 0, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "recon") && strstr(err, "not fully connected"),
		      "%s", err);
	free(k);
	/* nor has a tree ensemble */
	k = unit_slurp(TREES, &klen);
	ck_assert_int_eq(mcai_fedhead_open(&h, k, klen, 0, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "op 0 (tree) is not fully connected"), "%s", err);
	free(k);
	free(b);
}
END_TEST

/* DS-CNN ends in fc + softmax: the softmax follows its logits' scale. */
START_TEST(softmax_head)
{
	struct mcai_fedhead h;
	char err[256] = "";
	u32 len, nlen;
	u8 *b = unit_slurp(KWS, &len), *nb;
	float *p;

	ck_assert_msg(!mcai_fedhead_open(&h, b, len, 0, err, sizeof(err)), "%s", err);
	ck_assert_int_ge(h.softmax_op, 0);
	p = unit_xmalloc(h.n_params * sizeof(float));
	mcai_fedhead_get_params(&h, p);
	nb = mcai_fedhead_requantise(&h, p, NULL, 0, h.g.version, &nlen, err,
				  sizeof(err));
	ck_assert_msg(nb, "%s", err);
	ck_assert_msg(!memcmp(nb, b, len), "round trip changed the blob");
	free(nb);
	free(p);
	mcai_fedhead_close(&h);
	free(b);
}
END_TEST

START_TEST(hostile_refused)
{
	struct mcai_fedhead h;
	char err[256] = "";
	u32 len, mlen, i;
	u8 *b = unit_slurp(CNN, &len), *m = unit_slurp(MLP, &mlen), *c;
	uint64_t s = 11;

	/* format 1 */
	ck_assert_int_eq(mcai_fedhead_open(&h, m, mlen, 0, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "format 1"), "%s", err);
	/* short, truncated, a flipped byte anywhere (digest) */
	ck_assert_int_eq(mcai_fedhead_open(&h, b, 3, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(mcai_fedhead_open(&h, b, len - 1, 0, err, sizeof(err)), -1);
	c = unit_xmalloc(len);
	for (i = 0; i < 64; i++) {
		u32 at = (u32)(unit_rnd(&s) % len);

		memcpy(c, b, len);
		c[at] ^= (u8)(1 + (unit_rnd(&s) >> 57));
		ck_assert_int_eq(mcai_fedhead_open(&h, c, len, 0, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, "verifier refused"), "%s", err);
	}
	/* random bytes behind a v2 header's first words */
	memcpy(c, b, 8);
	for (i = 8; i < len; i++)
		c[i] = (u8)(unit_rnd(&s) >> 56);
	ck_assert_int_eq(mcai_fedhead_open(&h, c, len, 0, err, sizeof(err)), -1);
	free(c);
	free(m);
	free(b);
}
END_TEST

Suite *fedhead_suite(void)
{
	Suite *s = suite_create("fedhead");
	TCase *tc = tcase_create("split");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, round_trip_identical);
	tcase_add_test(tc, features_and_float_head);
	tcase_add_test(tc, body_unchanged);
	tcase_add_test(tc, cut_refused);
	tcase_add_test(tc, softmax_head);
	tcase_add_test(tc, hostile_refused);
	suite_add_tcase(s, tc);
	return s;
}
