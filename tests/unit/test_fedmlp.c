// SPDX-License-Identifier: GPL-2.0
/*
 * The federated model's shape from its blob (runtime/fed/fedmlp.c) and a
 * node's round on samples that are not images: the vibration chain's
 * 42-feature windows, mirrored into the sample store and labelled, loaded
 * with mcai_samples_vectors() and trained from the shipped classifier
 * and detector, dequantised.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "models/engine/engine.h"
#include "models/engine/verify.h"
#include "models/train/mlp.h"
#include "runtime/fed/fedmlp.h"
#include "runtime/fed/samples.h"

#define VIB_CLS	"models/vib-classifier.mcai"
#define VIB_DET	"models/vib-detector.mcai"
#define FMNIST	"models/fmnist-mlp.mcai"
#define NF	42
#define PER	60		/* samples per class */

static char sdir[64];

static void setup(void)
{
	strcpy(sdir, "/tmp/mcai-fedmlp-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sdir));
}

static void teardown(void)
{
	unit_rm_tree(sdir);
}

struct blob {
	u8 *p;
	u32 len;
	struct mcai_model m;
	struct mcai_fedmlp_shape s;
};

static void blob_load(struct blob *b, const char *path)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	char err[256] = "";

	b->p = unit_slurp(path, &b->len);
	mcai_limits_default(&lim);
	ck_assert_msg(!mcai_verify(&b->m, b->p, b->len, &lim, &v), "%s: %s",
		      path, v.reason);
	ck_assert_msg(!mcai_fedmlp_shape_of(&b->s, &b->m, err, sizeof(err)),
		      "%s: %s", path, err);
}

START_TEST(shape_of_shipped)
{
	struct blob c, d, f;

	blob_load(&c, VIB_CLS);
	ck_assert_uint_eq(c.s.n_dims, 3);
	ck_assert_uint_eq(c.s.dim[0], NF);
	ck_assert_uint_eq(c.s.dim[1], 32);
	ck_assert_uint_eq(c.s.dim[2], 4);
	ck_assert_int_eq(c.s.head, MCAI_MLP_SOFTMAX);
	ck_assert_uint_eq(c.s.classes, 4);
	ck_assert(c.s.in_scale == 1.0f / 32);
	ck_assert_int_eq(c.s.in_zp, 0);
	ck_assert_uint_eq(mcai_fedmlp_n_params(&c.s), 42 * 32 + 32 + 32 * 4 + 4);

	blob_load(&d, VIB_DET);
	ck_assert_uint_eq(d.s.dim[2], 1);
	ck_assert_int_eq(d.s.head, MCAI_MLP_SIGMOID);
	ck_assert_uint_eq(d.s.classes, 2);
	ck_assert(!mcai_fedmlp_same(&c.s, &d.s));

	blob_load(&f, FMNIST);
	ck_assert_uint_eq(f.s.dim[0], 784);
	ck_assert_uint_eq(f.s.dim[f.s.n_dims - 1], 10);
	ck_assert(f.s.in_scale == 1.0f / 255);
	ck_assert_int_eq(f.s.in_zp, -128);
	free(c.p);
	free(d.p);
	free(f.p);
}
END_TEST

/* A blob the federation cannot train is refused with a reason. */
START_TEST(shape_refused)
{
	struct mcai_fedmlp_shape s;
	struct blob c;
	struct mcai_model m;
	char err[256] = "";

	blob_load(&c, VIB_CLS);
	m = c.m;
	m.layer[1].activation = MCAI_ACT_RELU;	/* ReLU on the logits */
	ck_assert_int_eq(mcai_fedmlp_shape_of(&s, &m, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "layer 1"));
	m = c.m;
	m.head = MCAI_HEAD_THRESHOLD;		/* over four outputs */
	ck_assert_int_eq(mcai_fedmlp_shape_of(&s, &m, err, sizeof(err)),
			 -EINVAL);
	m = c.m;
	m.n_layers = 5;
	ck_assert_int_eq(mcai_fedmlp_shape_of(&s, &m, err, sizeof(err)),
			 -EINVAL);
	free(c.p);
}
END_TEST

/*
 * The getter is bit for bit what the two trainers compute: pixel / 255.0f
 * for the Fashion-MNIST MLP (q = pixel - 128), q / 32.0f for the
 * vibration models.
 */
START_TEST(getter_exact)
{
	struct mcai_fedmlp_shape s = { .n_dims = 2, .dim = { 1, 10 },
				       .head = MCAI_MLP_SOFTMAX };
	struct mcai_fedmlp_data d;
	u8 label = 3;
	u32 got;
	float x;
	s8 q;

	for (int v = -128; v <= 127; v++) {
		q = (s8)v;
		s.in_scale = 1.0f / 255.0f;
		s.in_zp = -128;
		mcai_fedmlp_data_init(&d, &s, &q, &label, 1);
		mcai_fedmlp_get(&d, 0, &x, &got);
		EXPECT(x == (float)(v + 128) / 255.0f, "q %d: %a", v, x);
		ck_assert_uint_eq(got, 3);
		s.in_scale = 1.0f / 32;
		s.in_zp = 0;
		mcai_fedmlp_data_init(&d, &s, &q, &label, 1);
		mcai_fedmlp_get(&d, 0, &x, &got);
		EXPECT(x == (float)v / 32.0f, "q %d: %a", v, x);
	}
	/* a threshold model: any fault class is the positive */
	s.head = MCAI_MLP_SIGMOID;
	s.dim[1] = 1;
	mcai_fedmlp_data_init(&d, &s, &q, &label, 1);
	mcai_fedmlp_get(&d, 0, &x, &got);
	ck_assert_uint_eq(got, 1);
}
END_TEST

/* Output quanta between the float net's logits and the engine's scores. */
static double max_quanta_off(struct blob *b, struct mcai_mlp *n)
{
	const u32 in = b->m.input_len, out = b->m.output_len;
	s8 *scores = unit_xmalloc(out);
	void *arena = unit_xmalloc(b->m.arena_size);
	float *x = unit_xmalloc(in * sizeof(float));
	double worst = 0;
	u32 t, j;

	ck_assert_uint_gt(b->m.tv_count, 0);
	for (t = 0; t < b->m.tv_count; t++) {
		const s8 *tv = b->m.tv + (size_t)t * (in + out);
		const float *z;

		mcai_engine_run(&b->m, tv, scores, arena);
		for (j = 0; j < in; j++)
			x[j] = b->s.in_scale * (float)(tv[j] - b->s.in_zp);
		z = mcai_mlp_forward(n, x);
		for (j = 0; j < out; j++) {
			double q = z[j] / b->s.out_scale + b->s.out_zp;

			if (q > 127)
				q = 127;
			if (q < -128)
				q = -128;
			worst = fmax(worst, fabs(q - scores[j]));
		}
	}
	free(scores);
	free(arena);
	free(x);
	return worst;
}

/* The dequantised blob computes what the int8 one computes. */
START_TEST(dequantise_matches_engine)
{
	const char *paths[] = { VIB_CLS, VIB_DET, FMNIST };

	for (u32 k = 0; k < 3; k++) {
		struct blob b;
		struct mcai_mlp *n;
		char err[256] = "";
		double off;

		blob_load(&b, paths[k]);
		n = mcai_fedmlp_create(&b.s);
		ck_assert_ptr_nonnull(n);
		ck_assert_uint_eq(n->n_params, mcai_fedmlp_n_params(&b.s));
		ck_assert_int_eq(mcai_fedmlp_dequantise(&b.m, &b.s, n->params,
							err, sizeof(err)), 0);
		off = max_quanta_off(&b, n);
		/* the int8 hidden layer rounds; the float one does not */
		EXPECT(off <= 1.5, "%s: %.2f output quanta off", paths[k], off);
		fprintf(stderr, "fedmlp: %s dequantised: within %.2f output quanta of the engine on its %u test vectors\n",
			paths[k], off, b.m.tv_count);
		mcai_mlp_free(n);
		free(b.p);
	}
}
END_TEST

/*
 * Windows of a machine in a new regime: four classes, each lifting its
 * own quarter of the 42 features, with noise.  What the simulated
 * sensor's windows look like to the classifier is not the point; that
 * they are 42 int8 features with labels is.
 */
static void window(uint64_t *rng, u32 cls, s8 *q)
{
	for (u32 j = 0; j < NF; j++) {
		int v = 24 + (j % 4 == cls ? 40 : 0) + unit_rnd_in(rng, -10, 10);

		q[j] = (s8)v;
	}
}

/* PER windows of each class into the store, labelled; some noise. */
static void fill_store(uint64_t *rng)
{
	struct mcai_samples *st;
	struct mcai_sample_meta m;
	char err[256];
	s8 q[784];
	u64 id;

	ck_assert_int_eq(mcai_samples_open(&st, sdir, NULL, err, sizeof(err)),
			 0);
	memset(&m, 0, sizeof(m));
	for (u32 i = 0; i < 4 * PER; i++) {
		m.input_len = NF;
		m.model_id = 7;
		window(rng, i % 4, q);
		ck_assert_int_eq(mcai_samples_append(st, &m, q, &id), 0);
		ck_assert_int_eq(mcai_samples_label(st, id, i % 4), 0);
		if (i % 40 == 0) {
			/* an image, labelled, and a window never labelled */
			m.input_len = 784;
			memset(q, 1, sizeof(q));
			ck_assert_int_eq(mcai_samples_append(st, &m, q, &id), 0);
			ck_assert_int_eq(mcai_samples_label(st, id, 2), 0);
			m.input_len = NF;
			ck_assert_int_eq(mcai_samples_append(st, &m, q, NULL), 0);
		}
	}
	mcai_samples_close(st);
}

START_TEST(vectors_of_a_shape)
{
	struct mcai_samples_sel sel = { .len = NF, .classes = 4 };
	struct mcai_samples_vecs v;
	struct mcai_samples *st;
	char err[256];
	uint64_t rng = 11, again = 11;
	u32 skipped = 99;
	s8 q[NF];

	ck_assert_int_eq(mcai_samples_node_vectors(&v, sdir, &sel, &skipped,
						   err, sizeof(err)),
			 -ENODATA);
	fill_store(&rng);
	ck_assert_int_eq(mcai_samples_node_vectors(&v, sdir, &sel, &skipped,
						   err, sizeof(err)), 0);
	ck_assert_uint_eq(v.count, 4 * PER);
	ck_assert_uint_eq(v.len, NF);
	ck_assert_uint_eq(skipped, 6);		/* the labelled images */
	/* the int8 inputs as stored, labels in order */
	for (u32 i = 0; i < v.count; i++) {
		window(&again, i % 4, q);
		EXPECT(!memcmp(v.inputs + (size_t)i * NF, q, NF),
		       "window %u differs", i);
		EXPECT(v.labels[i] == i % 4, "label of %u", i);
	}
	mcai_samples_vectors_free(&v);

	/* classes below 2 only; another model id; a bad selection */
	ck_assert_int_eq(mcai_samples_open(&st, sdir, NULL, err, sizeof(err)),
			 0);
	sel.classes = 2;
	ck_assert_int_eq(mcai_samples_vectors(st, &v, &sel, &skipped, err,
					      sizeof(err)), 0);
	ck_assert_uint_eq(v.count, 2 * PER);
	ck_assert_uint_eq(skipped, 2 * PER + 6);
	mcai_samples_vectors_free(&v);
	sel.model_id = 8;
	ck_assert_int_eq(mcai_samples_vectors(st, &v, &sel, NULL, err,
					      sizeof(err)), -ENODATA);
	ck_assert_ptr_null(v.inputs);
	sel.len = 0;
	ck_assert_int_eq(mcai_samples_vectors(st, &v, &sel, NULL, err,
					      sizeof(err)), -EINVAL);
	mcai_samples_close(st);
}
END_TEST

/* Accuracy of the float net on the loaded samples. */
static double float_acc(struct mcai_mlp *n, struct mcai_fedmlp_data *d)
{
	const struct mcai_mlp_data md = { mcai_fedmlp_get, d };

	return (double)mcai_mlp_evaluate(n, &md, NULL, d->count) / d->count;
}

/* Accuracy of a blob through the verifier and the engine. */
static double blob_acc(const u8 *p, u32 len, const struct mcai_samples_vecs *v,
		       bool binary)
{
	struct mcai_limits lim;
	struct mcai_verdict vd;
	struct mcai_model m;
	s8 scores[16];
	void *arena;
	u32 i, ok = 0;

	mcai_limits_default(&lim);
	ck_assert_msg(!mcai_verify(&m, p, len, &lim, &vd), "%s", vd.reason);
	arena = unit_xmalloc(m.arena_size);
	for (i = 0; i < v->count; i++) {
		int c = mcai_engine_run(&m, v->inputs + (size_t)i * v->len,
					scores, arena);

		ok += binary ? c == (v->labels[i] != 0) : c == v->labels[i];
	}
	free(arena);
	return (double)ok / v->count;
}

/*
 * A node's round on the store's windows, as node.c runs it: the base is
 * the shipped model (dequantised, as an aggregator seeded with it
 * publishes), a few local epochs of SGD with momentum, the delta; then
 * the aggregator's part with one node: base + delta quantised into a
 * blob of the same shape, which the engine runs.
 */
static void round_on(const char *path)
{
	struct mcai_samples_sel sel = { .len = NF };
	struct mcai_mlp_opt opt = { .momentum = 0.9f };
	struct mcai_mlp_sched sched = { .lr = 0.02f };
	struct mcai_mlp_stats st = { 0 };
	struct mcai_samples_vecs v;
	struct mcai_fedmlp_data d;
	struct mcai_mlp_data md = { mcai_fedmlp_get, &d };
	struct mcai_fedmlp_shape s2;
	struct mcai_limits lim;
	struct mcai_verdict vd;
	struct mcai_model m2;
	struct blob b;
	struct mcai_mlp *n;
	float *base, *delta;
	double before, after, q_before, q_after, norm = 0;
	char err[256] = "";
	uint64_t rng = 5;
	u64 shuffle = 9;
	u32 *idx, i, size;
	u8 *blob;

	blob_load(&b, path);
	fill_store(&rng);
	sel.classes = b.s.head == MCAI_MLP_SIGMOID ? 256 : b.s.classes;
	ck_assert_int_eq(mcai_samples_node_vectors(&v, sdir, &sel, NULL, err,
						   sizeof(err)), 0);
	ck_assert_uint_eq(v.count, 4 * PER);
	mcai_fedmlp_data_init(&d, &b.s, v.inputs, v.labels, v.count);
	n = mcai_fedmlp_create(&b.s);
	base = unit_xmalloc(n->n_params * sizeof(float));
	delta = unit_xmalloc(n->n_params * sizeof(float));
	ck_assert_int_eq(mcai_fedmlp_dequantise(&b.m, &b.s, base, err,
						sizeof(err)), 0);
	mcai_mlp_set_params(n, base);
	before = float_acc(n, &d);
	q_before = blob_acc(b.p, b.len, &v, d.binary);

	idx = unit_xmalloc(v.count * sizeof(u32));
	for (i = 0; i < v.count; i++)
		idx[i] = i;
	mcai_mlp_reset_opt(n);
	for (i = 0; i < 5; i++)
		mcai_mlp_train_epoch(n, &opt, &sched, &md, idx, v.count, 16,
				     &shuffle, &st);
	ck_assert(isfinite(st.loss));
	mcai_mlp_delta(n, base, delta);
	for (i = 0; i < n->n_params; i++)
		norm += (double)delta[i] * delta[i];
	ck_assert(norm > 0);
	after = float_acc(n, &d);
	EXPECT(after >= 0.95 && after > before,
	       "%s: float accuracy %.3f before, %.3f after the round", path,
	       before, after);

	/* published: the same shape, the test vectors carried on */
	blob = mcai_fedmlp_blob(n, &b.s, &md, NULL, v.count, "vib-test", 2,
				NULL, 0, &size, err,
				sizeof(err));
	ck_assert_msg(blob != NULL, "%s", err);
	mcai_limits_default(&lim);
	ck_assert_msg(!mcai_verify(&m2, blob, size, &lim, &vd), "%s",
		      vd.reason);
	ck_assert_int_eq(mcai_fedmlp_shape_of(&s2, &m2, err, sizeof(err)), 0);
	ck_assert(mcai_fedmlp_same(&s2, &b.s));
	ck_assert_uint_eq(m2.head, b.m.head);
	if (b.s.head == MCAI_MLP_SIGMOID) {
		/* the detector's logit threshold, in the new quantisation */
		const float t0 = b.s.out_scale *
				 (float)(b.s.head_threshold - b.s.out_zp);
		const float t1 = s2.out_scale *
				 (float)(s2.head_threshold - s2.out_zp);

		EXPECT(fabsf(t1 - t0) <= s2.out_scale,
		       "threshold logit %g became %g", (double)t0, (double)t1);
	}
	q_after = blob_acc(blob, size, &v, d.binary);
	EXPECT(q_after >= 0.9 && q_after > q_before,
	       "%s: int8 accuracy %.3f before, %.3f after", path, q_before,
	       q_after);
	fprintf(stderr, "fedmlp: %s on %u new-regime windows: float %.3f -> %.3f, int8 %.3f -> %.3f\n",
		path, v.count, before, after, q_before, q_after);
	free(blob);
	free(idx);
	free(base);
	free(delta);
	mcai_mlp_free(n);
	mcai_samples_vectors_free(&v);
	free(b.p);
}

START_TEST(round_classifier)
{
	round_on(VIB_CLS);
}
END_TEST

START_TEST(round_detector)
{
	round_on(VIB_DET);
}
END_TEST

Suite *fedmlp_suite(void)
{
	Suite *s = suite_create("fedmlp");
	TCase *tc = tcase_create("shape");
	TCase *tr = tcase_create("round");

	tcase_add_test(tc, shape_of_shipped);
	tcase_add_test(tc, shape_refused);
	tcase_add_test(tc, getter_exact);
	tcase_add_test(tc, dequantise_matches_engine);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, vectors_of_a_shape);
	tcase_add_test(tr, round_classifier);
	tcase_add_test(tr, round_detector);
	suite_add_tcase(s, tr);
	return s;
}
