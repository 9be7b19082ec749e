// SPDX-License-Identifier: GPL-2.0
/*
 * Float MLP trainer (models/train/mlp.c): backprop against finite differences,
 * one SGD step against hand-computed values (momentum, weight decay, the
 * FedProx term), the parameter vector round trip, the pull of the
 * proximal term, determinism, and that it learns a separable problem.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "models/train/mlp.h"

#define TOY_N	256

/* Points in [-1, 1)^2; class 1 above the diagonal. */
struct toy {
	float x[TOY_N][2];
	u32 y[TOY_N];
};

static void toy_make(struct toy *t, uint64_t seed)
{
	u32 i;

	for (i = 0; i < TOY_N; i++) {
		t->x[i][0] = (float)(unit_rnd32(&seed) / 2147483648.0 - 1.0);
		t->x[i][1] = (float)(unit_rnd32(&seed) / 2147483648.0 - 1.0);
		t->y[i] = t->x[i][1] > t->x[i][0];
	}
}

static void toy_get(void *ctx, u32 k, float *x, u32 *label)
{
	const struct toy *t = ctx;

	x[0] = t->x[k][0];
	x[1] = t->x[k][1];
	*label = t->y[k];
}

static struct mcai_mlp *make_net(const u32 *dims, u32 n, enum mcai_mlp_head h,
				 u64 seed)
{
	struct mcai_mlp *net = mcai_mlp_create(dims, n, h);

	ck_assert_ptr_nonnull(net);
	mcai_mlp_init(net, MCAI_MLP_DRAW_BY_INPUT, &seed);
	return net;
}

/* Loss at the current parameters, leaving no gradient behind. */
static double loss_at(struct mcai_mlp *n, const float *x, u32 label,
		      u32 *pattern)
{
	u32 c = 0, l, o, bit = 0;
	double loss = mcai_mlp_accumulate(n, x, label, &c);

	/* Which ReLUs are on: a finite difference across a kink is void. */
	*pattern = 0;
	for (l = 1; l < n->nl; l++)
		for (o = 0; o < n->dim[l]; o++, bit++)
			if (n->act[l][o] > 0)
				*pattern |= 1u << (bit % 32);
	memset(n->grad, 0, n->n_params * sizeof(float));
	return loss;
}

static void grad_check(const u32 *dims, u32 nd, enum mcai_mlp_head head,
		       u64 seed)
{
	struct mcai_mlp *n = make_net(dims, nd, head, seed);
	float *g = calloc(n->n_params, sizeof(float));
	float x[8];
	uint64_t s = seed;
	u32 label, i, c = 0, checked = 0, base_pat, pat;
	size_t p;

	ck_assert_ptr_nonnull(g);
	/* Nonzero biases, so that every parameter matters. */
	for (i = 0; i < n->nl; i++)
		for (p = 0; p < n->dim[i + 1]; p++)
			n->b[i][p] = (float)(unit_rnd32(&s) / 4294967296.0 - 0.5) * 0.4f;
	for (i = 0; i < dims[0]; i++)
		x[i] = (float)(unit_rnd32(&s) / 2147483648.0 - 1.0);
	label = head == MCAI_MLP_SIGMOID ? 1 : dims[nd - 1] - 1;

	mcai_mlp_accumulate(n, x, label, &c);
	memcpy(g, n->grad, n->n_params * sizeof(float));
	memset(n->grad, 0, n->n_params * sizeof(float));
	loss_at(n, x, label, &base_pat);

	for (p = 0; p < n->n_params; p++) {
		const float w = n->params[p], eps = 3e-3f;
		float wp = w + eps, wm = w - eps;
		double lp, lm, fd, tol;

		n->params[p] = wp;
		lp = loss_at(n, x, label, &pat);
		if (pat != base_pat)
			goto skip;
		n->params[p] = wm;
		lm = loss_at(n, x, label, &pat);
		if (pat != base_pat)
			goto skip;
		fd = (lp - lm) / ((double)wp - wm);
		/* float loss, eps 3e-3: about 1e-4 of noise */
		tol = 2e-4 + 4e-3 * fabs(g[p]);
		EXPECT(fabs(fd - g[p]) <= tol,
		       "dims %u-..-%u param %zu: backprop %.6g, finite difference %.6g",
		       dims[0], dims[nd - 1], p, g[p], fd);
		checked++;
skip:
		n->params[p] = w;
	}
	/* Almost no parameter sits next to a kink. */
	EXPECT(checked >= n->n_params * 9 / 10, "only %u of %zu checked",
	       checked, n->n_params);
	free(g);
	mcai_mlp_free(n);
}

START_TEST(gradient_softmax)
{
	static const u32 d1[] = { 5, 7, 4 }, d2[] = { 4, 6, 5, 3 };
	static const u32 d3[] = { 3, 3 };

	grad_check(d1, 3, MCAI_MLP_SOFTMAX, 11);
	grad_check(d2, 4, MCAI_MLP_SOFTMAX, 12);
	grad_check(d3, 2, MCAI_MLP_SOFTMAX, 13);
}
END_TEST

START_TEST(gradient_sigmoid)
{
	static const u32 d1[] = { 5, 6, 1 }, d2[] = { 4, 5, 4, 1 };

	grad_check(d1, 3, MCAI_MLP_SIGMOID, 21);
	grad_check(d2, 4, MCAI_MLP_SIGMOID, 22);
}
END_TEST

/*
 * A 2-1 layer: parameters [w0 w1 | b].  Gradient sums over a batch of 4:
 * g = [4, 2, -8]; velocity [0.1, 0, 0.2]; lr 0.5, momentum 0.5, wd 0.25.
 *
 *   w0: v = 0.5*0.1 - 0.5*(4/4 + 0.25*1)       = 0.05 - 0.625 = -0.575
 *       w = 1 - 0.575                           = 0.425
 *   w1: v = 0 - 0.5*(2/4 + 0.25*(-2))           = 0          w = -2
 *   b:  v = 0.5*0.2 - 0.5*(-8/4)   (no decay)   = 1.1        b = 1.6
 *
 * With FedProx mu = 2 against ref [0, 0, 1]:
 *   w0: v = 0.05 - 0.5*(1 + 0.25 + 2*(1 - 0))   = -1.575     w = -0.575
 *   w1: v = 0 - 0.5*(0.5 - 0.5 + 2*(-2 - 0))    = 2          w = 0
 *   b:  v = 0.1 - 0.5*(-2 + 2*(0.5 - 1))        = 1.6        b = 2.1
 */
static void step_case(float mu, const float *ref, const float *want_p,
		      const float *want_v)
{
	static const u32 dims[] = { 2, 1 };
	struct mcai_mlp *n = mcai_mlp_create(dims, 2, MCAI_MLP_SIGMOID);
	const struct mcai_mlp_opt o = {
		.momentum = 0.5f, .weight_decay = 0.25f, .prox_mu = mu,
		.prox_ref = ref,
	};
	static const float p0[] = { 1, -2, 0.5f }, g0[] = { 4, 2, -8 };
	static const float v0[] = { 0.1f, 0, 0.2f };
	u32 i;

	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->n_params, 3);
	ck_assert_ptr_eq(n->b[0], n->params + 2);
	mcai_mlp_set_params(n, p0);
	memcpy(n->grad, g0, sizeof(g0));
	memcpy(n->vel, v0, sizeof(v0));
	mcai_mlp_step(n, &o, 0.5f, 4);
	for (i = 0; i < 3; i++) {
		ck_assert_float_eq_tol(n->params[i], want_p[i], 1e-6);
		ck_assert_float_eq_tol(n->vel[i], want_v[i], 1e-6);
		ck_assert_float_eq(n->grad[i], 0);
	}
	mcai_mlp_free(n);
}

START_TEST(sgd_step_hand)
{
	static const float p[] = { 0.425f, -2, 1.6f }, v[] = { -0.575f, 0, 1.1f };
	static const float ref[] = { 0, 0, 1 };
	static const float pp[] = { -0.575f, 0, 2.1f }, vp[] = { -1.575f, 2, 1.6f };

	step_case(0, NULL, p, v);
	/* mu = 0 ignores the reference entirely. */
	step_case(0, ref, p, v);
	step_case(2, ref, pp, vp);
}
END_TEST

START_TEST(params_round_trip)
{
	static const u32 dims[] = { 6, 5, 4, 3 };
	struct mcai_mlp *a = make_net(dims, 4, MCAI_MLP_SOFTMAX, 5);
	struct mcai_mlp *b = mcai_mlp_create(dims, 4, MCAI_MLP_SOFTMAX);
	const float x[6] = { 0.5f, -1, 0.25f, 0, 2, -0.75f };
	float *v, *w, za[3];
	size_t i;

	ck_assert_ptr_nonnull(b);
	/* 6*5+5 + 5*4+4 + 4*3+3 */
	ck_assert_uint_eq(a->n_params, 74);
	ck_assert_uint_eq(b->n_params, 74);
	v = calloc(a->n_params, sizeof(float));
	w = calloc(a->n_params, sizeof(float));
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(w);
	for (i = 0; i < a->n_params; i++)
		a->params[i] += (float)i * 1e-3f;	/* biases too */
	mcai_mlp_get_params(a, v);
	/* The layout is [W0 b0 W1 b1 W2 b2], W input-major. */
	ck_assert_float_eq(v[2 * 5 + 3], a->w[0][2 * 5 + 3]);
	ck_assert_float_eq(v[30 + 4], a->b[0][4]);
	ck_assert_float_eq(v[35 + 1 * 4 + 2], a->w[1][1 * 4 + 2]);
	ck_assert_float_eq(v[74 - 1], a->b[2][2]);
	mcai_mlp_set_params(b, v);
	mcai_mlp_get_params(b, w);
	ck_assert(!memcmp(v, w, a->n_params * sizeof(float)));
	/* a client's delta against its starting point */
	b->params[7] += 0.5f;
	b->params[73] -= 2;
	mcai_mlp_delta(b, v, w);
	for (i = 0; i < b->n_params; i++)
		ck_assert_float_eq(w[i], i == 7 ? (v[7] + 0.5f) - v[7] :
				   i == 73 ? (v[73] - 2) - v[73] : 0);
	mcai_mlp_set_params(b, v);
	memcpy(za, mcai_mlp_forward(a, x), sizeof(za));
	ck_assert(!memcmp(za, mcai_mlp_forward(b, x), sizeof(za)));
	free(v);
	free(w);
	mcai_mlp_free(a);
	mcai_mlp_free(b);
}
END_TEST

static double dist2(const float *a, const float *b, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return s;
}

/* Train the toy problem from @ref for 10 epochs; distance^2 to @ref. */
static double train_from(const float *ref, float mu, struct toy *t,
			 float *max_dev)
{
	static const u32 dims[] = { 2, 8, 2 };
	struct mcai_mlp *n = mcai_mlp_create(dims, 3, MCAI_MLP_SOFTMAX);
	const struct mcai_mlp_opt o = {
		.momentum = 0.9f, .prox_mu = mu, .prox_ref = ref,
	};
	const struct mcai_mlp_data d = { toy_get, t };
	struct mcai_mlp_sched s = { .lr = 0.05f };
	u32 idx[TOY_N], i, e;
	u64 rng = 3;
	double r;

	ck_assert_ptr_nonnull(n);
	mcai_mlp_set_params(n, ref);
	for (i = 0; i < TOY_N; i++)
		idx[i] = i;
	for (e = 0; e < 10; e++)
		mcai_mlp_train_epoch(n, &o, &s, &d, idx, TOY_N, 16, &rng, NULL);
	*max_dev = 0;
	for (i = 0; i < n->n_params; i++)
		*max_dev = fmaxf(*max_dev, fabsf(n->params[i] - ref[i]));
	r = dist2(n->params, ref, n->n_params);
	mcai_mlp_free(n);
	return r;
}

START_TEST(prox_pulls_to_reference)
{
	static const u32 dims[] = { 2, 8, 2 };
	struct mcai_mlp *n = make_net(dims, 3, MCAI_MLP_SOFTMAX, 9);
	struct toy *t = calloc(1, sizeof(*t));
	float *ref = calloc(n->n_params, sizeof(float));
	float dev_free, dev_1, dev_10;
	double d_free, d_1, d_10;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(ref);
	toy_make(t, 77);
	mcai_mlp_get_params(n, ref);
	d_free = train_from(ref, 0, t, &dev_free);
	d_1 = train_from(ref, 1, t, &dev_1);
	d_10 = train_from(ref, 10, t, &dev_10);
	/* More pull, less drift; a strong pull keeps every weight close. */
	EXPECT(d_free > 0.1, "free training barely moved: %g", d_free);
	EXPECT(d_1 < d_free && d_10 < d_1 / 4,
	       "distance^2 free %g, mu=1 %g, mu=10 %g", d_free, d_1, d_10);
	EXPECT(dev_10 < 0.05f && dev_10 < dev_free / 4,
	       "largest deviation free %g, mu=10 %g", dev_free, dev_10);
	free(ref);
	free(t);
	mcai_mlp_free(n);
}
END_TEST

static void train_toy(struct mcai_mlp *n, struct toy *t, u64 seed, u32 epochs)
{
	const struct mcai_mlp_opt o = { .momentum = 0.9f, .weight_decay = 1e-4f };
	const struct mcai_mlp_data d = { toy_get, t };
	struct mcai_mlp_sched s = { .lr = 0.1f, .total = epochs * (TOY_N / 32) };
	u32 idx[TOY_N], i, e;

	for (i = 0; i < TOY_N; i++)
		idx[i] = i;
	for (e = 0; e < epochs; e++)
		mcai_mlp_train_epoch(n, &o, &s, &d, idx, TOY_N, 32, &seed, NULL);
	ck_assert_uint_eq(s.step, epochs * (TOY_N / 32));
}

START_TEST(deterministic)
{
	static const u32 dims[] = { 2, 16, 2 };
	struct mcai_mlp *a = make_net(dims, 3, MCAI_MLP_SOFTMAX, 42);
	struct mcai_mlp *b = make_net(dims, 3, MCAI_MLP_SOFTMAX, 42);
	struct mcai_mlp *c = make_net(dims, 3, MCAI_MLP_SOFTMAX, 43);
	struct toy *t = calloc(1, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	toy_make(t, 1);
	ck_assert(!memcmp(a->params, b->params, a->n_params * sizeof(float)));
	ck_assert(memcmp(a->params, c->params, a->n_params * sizeof(float)));
	train_toy(a, t, 5, 5);
	train_toy(b, t, 5, 5);
	ck_assert(!memcmp(a->params, b->params, a->n_params * sizeof(float)));
	ck_assert(!memcmp(a->vel, b->vel, a->n_params * sizeof(float)));
	/* Another shuffle, another model. */
	train_toy(c, t, 6, 5);
	mcai_mlp_set_params(c, a->params);
	train_toy(a, t, 5, 1);
	train_toy(c, t, 6, 1);
	ck_assert(memcmp(a->params, c->params, a->n_params * sizeof(float)));
	free(t);
	mcai_mlp_free(a);
	mcai_mlp_free(b);
	mcai_mlp_free(c);
}
END_TEST

START_TEST(learns_separable)
{
	static const u32 d2[] = { 2, 16, 2 }, d1[] = { 2, 16, 1 };
	struct mcai_mlp *s = make_net(d2, 3, MCAI_MLP_SOFTMAX, 2);
	struct mcai_mlp *g = make_net(d1, 3, MCAI_MLP_SIGMOID, 2);
	struct toy *tr = calloc(1, sizeof(*tr)), *te = calloc(1, sizeof(*te));
	struct mcai_mlp_data dte = { toy_get, te };
	u32 acc_s0, acc_s, acc_g;

	ck_assert_ptr_nonnull(tr);
	ck_assert_ptr_nonnull(te);
	toy_make(tr, 100);
	toy_make(te, 200);
	acc_s0 = mcai_mlp_evaluate(s, &dte, NULL, TOY_N);
	train_toy(s, tr, 1, 40);
	train_toy(g, tr, 1, 40);
	acc_s = mcai_mlp_evaluate(s, &dte, NULL, TOY_N);
	acc_g = mcai_mlp_evaluate(g, &dte, NULL, TOY_N);
	EXPECT(acc_s >= TOY_N * 95 / 100 && acc_g >= TOY_N * 95 / 100,
	       "held-out accuracy softmax %u, sigmoid %u of %u (untrained %u)",
	       acc_s, acc_g, TOY_N, acc_s0);
	free(tr);
	free(te);
	mcai_mlp_free(s);
	mcai_mlp_free(g);
}
END_TEST

/* Both draw orders take the same numbers, transposed; within the bounds. */
START_TEST(init_draw_orders)
{
	static const u32 dims[] = { 3, 4, 2 };
	struct mcai_mlp *a = mcai_mlp_create(dims, 3, MCAI_MLP_SOFTMAX);
	struct mcai_mlp *b = mcai_mlp_create(dims, 3, MCAI_MLP_SOFTMAX);
	const float he = sqrtf(6.0f / 3), glorot = sqrtf(6.0f / 6);
	u64 ra = 99, rb = 99, r = 99;
	u32 i, o;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	mcai_mlp_init(a, MCAI_MLP_DRAW_BY_INPUT, &ra);
	mcai_mlp_init(b, MCAI_MLP_DRAW_BY_OUTPUT, &rb);
	ck_assert_uint_eq(ra, rb);
	for (i = 0; i < 3; i++)
		for (o = 0; o < 4; o++) {
			float first = (2.0f * mcai_mlp_randf(&r) - 1.0f) * he;

			ck_assert_float_eq(a->w[0][i * 4 + o], first);
		}
	/* The k-th draw lands at flat k, or at (i, o) with k = o * in + i. */
	for (i = 0; i < 3; i++)
		for (o = 0; o < 4; o++)
			ck_assert_float_eq(b->w[0][i * 4 + o], a->w[0][o * 3 + i]);
	for (i = 0; i < 4; i++)
		for (o = 0; o < 2; o++) {
			EXPECT(fabsf(a->w[1][i * 2 + o]) <= glorot, "w1 %g",
			       a->w[1][i * 2 + o]);
			ck_assert_float_eq(b->w[1][i * 2 + o], a->w[1][o * 4 + i]);
		}
	for (i = 0; i < 4; i++)
		ck_assert_float_eq(a->b[0][i], 0);
	mcai_mlp_free(a);
	mcai_mlp_free(b);
}
END_TEST

START_TEST(create_rejects)
{
	static const u32 ok[] = { 4, 3, 2 }, zero[] = { 4, 0, 2 };
	static const u32 big[] = { 4, MCAI_MLP_MAX_DIM + 1, 2 };
	static const u32 deep[] = { 2, 2, 2, 2, 2, 2 };
	struct mcai_mlp *n;

	ck_assert_ptr_null(mcai_mlp_create(ok, 1, MCAI_MLP_SOFTMAX));
	ck_assert_ptr_null(mcai_mlp_create(zero, 3, MCAI_MLP_SOFTMAX));
	ck_assert_ptr_null(mcai_mlp_create(big, 3, MCAI_MLP_SOFTMAX));
	ck_assert_ptr_null(mcai_mlp_create(deep, 6, MCAI_MLP_SOFTMAX));
	ck_assert_ptr_null(mcai_mlp_create(ok, 3, MCAI_MLP_SIGMOID));
	n = mcai_mlp_create(deep, 5, MCAI_MLP_SOFTMAX);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->nl, 4);
	mcai_mlp_free(n);
	mcai_mlp_free(NULL);
}
END_TEST

START_TEST(label_out_of_range)
{
	static const u32 dims[] = { 2, 3 };
	struct mcai_mlp *n = make_net(dims, 2, MCAI_MLP_SOFTMAX, 1);
	const float x[2] = { 1, 1 };
	u32 c = 0;
	size_t i;

	ck_assert(isnan(mcai_mlp_accumulate(n, x, 3, &c)));
	ck_assert_uint_eq(c, 0);
	for (i = 0; i < n->n_params; i++)
		ck_assert_float_eq(n->grad[i], 0);
	mcai_mlp_free(n);
}
END_TEST

/* Cosine: lr at step 0, lr/2 halfway, 0 at the end; constant without total. */
START_TEST(cosine_schedule)
{
	struct mcai_mlp_sched s = { .lr = 0.4f, .step = 0, .total = 10 };

	ck_assert_float_eq(mcai_mlp_lr(&s), 0.4f);
	s.step = 5;
	ck_assert_float_eq_tol(mcai_mlp_lr(&s), 0.2f, 1e-7);
	s.step = 10;
	ck_assert_float_eq_tol(mcai_mlp_lr(&s), 0, 1e-7);
	s.total = 0;
	ck_assert_float_eq(mcai_mlp_lr(&s), 0.4f);
}
END_TEST

/* The epoch shuffles a permutation into another permutation. */
START_TEST(epoch_shuffles)
{
	static const u32 dims[] = { 2, 2 };
	struct mcai_mlp *n = make_net(dims, 2, MCAI_MLP_SOFTMAX, 1);
	struct toy *t = calloc(1, sizeof(*t));
	const struct mcai_mlp_opt o = { 0 };
	const struct mcai_mlp_data d = { toy_get, t };
	struct mcai_mlp_sched s = { .lr = 0.01f };
	struct mcai_mlp_stats st = { 0 };
	u32 idx[100], seen[100] = { 0 }, i, moved = 0;
	u64 rng = 8;

	ck_assert_ptr_nonnull(t);
	toy_make(t, 3);
	for (i = 0; i < 100; i++)
		idx[i] = i + 50;
	mcai_mlp_train_epoch(n, &o, &s, &d, idx, 100, 7, &rng, &st);
	for (i = 0; i < 100; i++) {
		ck_assert(idx[i] >= 50 && idx[i] < 150);
		seen[idx[i] - 50]++;
		moved += idx[i] != i + 50;
	}
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(seen[i], 1);
	ck_assert_uint_gt(moved, 50);
	ck_assert_uint_eq(s.step, 15);		/* ceil(100 / 7) */
	ck_assert_uint_eq(st.seen, 100);
	ck_assert(st.loss > 0 && st.correct <= 100);
	free(t);
	mcai_mlp_free(n);
}
END_TEST

Suite *mlp_suite(void)
{
	Suite *s = suite_create("mlp");
	TCase *tc = tcase_create("mlp");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, gradient_softmax);
	tcase_add_test(tc, gradient_sigmoid);
	tcase_add_test(tc, sgd_step_hand);
	tcase_add_test(tc, params_round_trip);
	tcase_add_test(tc, prox_pulls_to_reference);
	tcase_add_test(tc, deterministic);
	tcase_add_test(tc, learns_separable);
	tcase_add_test(tc, init_draw_orders);
	tcase_add_test(tc, create_rejects);
	tcase_add_test(tc, label_out_of_range);
	tcase_add_test(tc, cosine_schedule);
	tcase_add_test(tc, epoch_shuffles);
	suite_add_tcase(s, tc);
	return s;
}
