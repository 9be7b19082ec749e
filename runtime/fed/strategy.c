// SPDX-License-Identifier: GPL-2.0
/*
 * Aggregation strategies, see strategy.h.
 *
 * Sums run in double: a round of a thousand float updates summed in float
 * would lose the small updates against the large ones.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/floats.h"
#include "runtime/fed/strategy.h"

struct mcai_agg {
	struct mcai_agg_config c;
	u32 n;
	/* this round */
	u32 count, clipped;
	u64 weight;
	double hsum;			/* qfedavg: sum of h_k */
	double *acc;			/* streaming kinds: sum of w_i d_i */
	float **upd;			/* buffering kinds: the updates */
	u32 cap;
	bool *selected;			/* krum, after finish */
	u32 n_selected;
	/* fedadam, fedadagrad, fedyogi, fedavgm: across rounds */
	float *m, *v;
	u64 steps;
};

static const char *const kind_names[] = {
	[MCAI_AGG_FEDAVG] = "fedavg",
	[MCAI_AGG_FEDPROX] = "fedprox",
	[MCAI_AGG_FEDADAM] = "fedadam",
	[MCAI_AGG_MEDIAN] = "median",
	[MCAI_AGG_TRIMMED_MEAN] = "trimmed-mean",
	[MCAI_AGG_KRUM] = "krum",
	[MCAI_AGG_FEDAVGM] = "fedavgm",
	[MCAI_AGG_FEDADAGRAD] = "fedadagrad",
	[MCAI_AGG_FEDYOGI] = "fedyogi",
	[MCAI_AGG_KRUM_SINGLE] = "krum-single",
	[MCAI_AGG_BULYAN] = "bulyan",
	[MCAI_AGG_QFEDAVG] = "qfedavg",
};

#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))


const char *mcai_agg_kind_name(enum mcai_agg_kind kind)
{
	return (unsigned int)kind < N_KINDS ? kind_names[kind] : "?";
}

int mcai_name_index(const char *const *names, u32 n, const char *name)
{
	u32 i;

	for (i = 0; name && i < n; i++)
		if (names[i] && !strcmp(name, names[i]))
			return (int)i;
	return -EINVAL;
}

int mcai_agg_kind_parse(const char *name, enum mcai_agg_kind *kind)
{
	int i = mcai_name_index(kind_names, N_KINDS, name);

	if (i < 0)
		return i;
	*kind = (enum mcai_agg_kind)i;
	return 0;
}

void mcai_agg_config_default(struct mcai_agg_config *c, enum mcai_agg_kind kind)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->prox_mu = 0.01f;
	c->trim = 0.1f;
	c->krum_f = 1;
	c->server_lr = 0.01f;
	c->server_step = 1.0f;
	c->beta1 = 0.9f;
	c->beta2 = 0.99f;
	c->tau = 1e-3f;
	c->server_momentum = 0.9f;
	c->q = 0.2f;
	c->q_lr = 0.1f;
}

/* Server optimisers of Reddi et al.: x += lr m / (sqrt(v) + tau). */
static bool adaptive(enum mcai_agg_kind kind)
{
	return kind == MCAI_AGG_FEDADAM || kind == MCAI_AGG_FEDADAGRAD ||
	       kind == MCAI_AGG_FEDYOGI;
}

bool mcai_agg_kind_has_state(enum mcai_agg_kind kind)
{
	return adaptive(kind) || kind == MCAI_AGG_FEDAVGM;
}

static bool in_unit(float x)		/* [0, 1) */
{
	return x >= 0.0f && x < 1.0f;
}

int mcai_agg_config_check(const struct mcai_agg_config *c, char *why,
			  size_t why_len)
{
	if ((unsigned int)c->kind >= N_KINDS)
		return mcai_why(-EINVAL, why, why_len, "unknown strategy %d",
				(int)c->kind);
	if (!(c->clip_norm >= 0.0f && isfinite(c->clip_norm)))
		return mcai_why(-EINVAL, why, why_len,
				"clip norm %g: must be finite and >= 0 (0: off)",
				c->clip_norm);
	if (!(c->server_step > 0.0f && c->server_step <= 4.0f) ||
	    !(c->server_step_final >= 0.0f && c->server_step_final <= 4.0f))
		return mcai_why(-EINVAL, why, why_len,
				"server step %g to %g: the step must be in (0, 4], the final one in [0, 4] (0: none)",
				c->server_step, c->server_step_final);
	if (adaptive(c->kind) &&
	    (c->server_step != 1.0f || c->server_step_final > 0.0f))
		return mcai_why(-EINVAL, why, why_len,
				"%s takes no server step (its step is the server learning rate)",
				mcai_agg_kind_name(c->kind));
	switch (c->kind) {
	case MCAI_AGG_FEDAVGM:
		if (!in_unit(c->server_momentum))
			return mcai_why(-EINVAL, why, why_len,
					"fedavgm server momentum %g: must be in [0, 1)",
					c->server_momentum);
		break;
	case MCAI_AGG_QFEDAVG:
		if (!(c->q >= 0.0f && c->q <= 100.0f))
			return mcai_why(-EINVAL, why, why_len,
					"qfedavg q %g: must be in [0, 100]", c->q);
		if (!(c->q_lr > 0.0f && isfinite(c->q_lr)))
			return mcai_why(-EINVAL, why, why_len,
					"qfedavg q_lr %g: must be finite and > 0",
					c->q_lr);
		break;
	case MCAI_AGG_FEDPROX:
		if (!(c->prox_mu > 0.0f && isfinite(c->prox_mu)))
			return mcai_why(-EINVAL, why, why_len,
					"fedprox mu %g: must be finite and > 0 (mu 0 is fedavg)",
					c->prox_mu);
		break;
	case MCAI_AGG_FEDADAM:
	case MCAI_AGG_FEDADAGRAD:
	case MCAI_AGG_FEDYOGI:
		if (!(c->server_lr > 0.0f && isfinite(c->server_lr)))
			return mcai_why(-EINVAL, why, why_len,
					"%s server learning rate %g: must be finite and > 0",
					mcai_agg_kind_name(c->kind), c->server_lr);
		if (!in_unit(c->beta1) || !in_unit(c->beta2))
			return mcai_why(-EINVAL, why, why_len,
					"%s beta1 %g, beta2 %g: each must be in [0, 1)",
					mcai_agg_kind_name(c->kind), c->beta1,
					c->beta2);
		if (!(c->tau > 0.0f && isfinite(c->tau)))
			return mcai_why(-EINVAL, why, why_len,
					"%s tau %g: must be finite and > 0",
					mcai_agg_kind_name(c->kind), c->tau);
		break;
	case MCAI_AGG_TRIMMED_MEAN:
		if (!(c->trim >= 0.0f && c->trim < 0.5f))
			return mcai_why(-EINVAL, why, why_len,
					"trim fraction %g: must be in [0, 0.5) per side",
				    c->trim);
		break;
	case MCAI_AGG_KRUM:
	case MCAI_AGG_KRUM_SINGLE:
	case MCAI_AGG_BULYAN:
		if (c->krum_f >= (1u << 30))
			return mcai_why(-EINVAL, why, why_len,
					"krum f %u: implausibly large", c->krum_f);
		break;
	default:
		break;
	}
	return 0;
}

static bool buffering(const struct mcai_agg *a)
{
	return a->c.kind == MCAI_AGG_MEDIAN ||
	       a->c.kind == MCAI_AGG_TRIMMED_MEAN || a->c.kind == MCAI_AGG_KRUM ||
	       a->c.kind == MCAI_AGG_KRUM_SINGLE || a->c.kind == MCAI_AGG_BULYAN;
}

struct mcai_agg *mcai_agg_create(const struct mcai_agg_config *c, u32 n,
				 char *why, size_t why_len)
{
	struct mcai_agg *a;

	if (mcai_agg_config_check(c, why, why_len))
		return NULL;
	if (!n) {
		mcai_why(-EINVAL, why, why_len, "an update of 0 parameters");
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		goto nomem;
	a->c = *c;
	a->n = n;
	if (!buffering(a)) {
		a->acc = calloc(n, sizeof(double));
		if (!a->acc)
			goto nomem;
	}
	if (mcai_agg_kind_has_state(c->kind)) {
		a->m = calloc(n, sizeof(float));
		a->v = calloc(n, sizeof(float));
		if (!a->m || !a->v)
			goto nomem;
	}
	return a;
nomem:
	mcai_agg_free(a);
	mcai_why(-ENOMEM, why, why_len, "out of memory for %u parameters", n);
	return NULL;
}

static void drop_updates(struct mcai_agg *a)
{
	u32 i;

	for (i = 0; i < a->count && a->upd; i++)
		free(a->upd[i]);
	free(a->upd);
	free(a->selected);
	a->upd = NULL;
	a->selected = NULL;
	a->cap = 0;
	a->n_selected = 0;
}

void mcai_agg_free(struct mcai_agg *a)
{
	if (!a)
		return;
	drop_updates(a);
	free(a->acc);
	free(a->m);
	free(a->v);
	free(a);
}

void mcai_agg_begin(struct mcai_agg *a)
{
	drop_updates(a);
	if (a->acc)
		memset(a->acc, 0, a->n * sizeof(double));
	a->count = 0;
	a->clipped = 0;
	a->weight = 0;
	a->hsum = 0;
}

double mcai_l2_norm(const float *v, u32 n)
{
	double s = 0;
	u32 i;

	for (i = 0; i < n; i++)
		s += (double)v[i] * v[i];
	return sqrt(s);
}

/* Factor that brings a vector of norm @norm to @bound, 1 when within. */
static double clip_scale(double norm, float bound)
{
	return bound > 0.0f && norm > bound ? bound / norm : 1.0;
}

bool mcai_clip_l2(float *v, u32 n, float bound)
{
	double s = clip_scale(mcai_l2_norm(v, n), bound);
	u32 i;

	if (s == 1.0)
		return false;
	for (i = 0; i < n; i++)
		v[i] = (float)(v[i] * s);
	return true;
}

int mcai_agg_add(struct mcai_agg *a, const float *delta, u64 weight,
		 char *why, size_t why_len)
{
	return mcai_agg_add_loss(a, delta, weight, NAN, why, why_len);
}

int mcai_agg_add_loss(struct mcai_agg *a, const float *delta, u64 weight,
		      float loss, char *why, size_t why_len)
{
	double s, norm;
	u32 i;

	if (a->c.kind == MCAI_AGG_QFEDAVG && !(loss >= 0.0f && isfinite(loss)))
		return mcai_why(-EINVAL, why, why_len,
				"qfedavg needs the client's loss, have %g", loss);
	if (!weight)
		return mcai_why(-EINVAL, why, why_len, "an update of 0 samples");
	if (a->weight + weight < a->weight || a->count == U32_MAX)
		return mcai_why(-EINVAL, why, why_len, "too many samples in the round");
	/* One pass for all; the walk only to say which parameter. */
	if (!mcai_floats_finite(delta, a->n)) {
		for (i = 0; i < a->n; i++)
			if (!isfinite(delta[i]))
				return mcai_why(-EINVAL, why, why_len,
						"parameter %u of the update is not finite", i);
	}
	/* The norm is a pass of its own: only for clipping and q-FFL. */
	norm = a->c.clip_norm > 0.0f || a->c.kind == MCAI_AGG_QFEDAVG ?
	       mcai_l2_norm(delta, a->n) : 0.0;
	s = clip_scale(norm, a->c.clip_norm);

	if (buffering(a)) {
		float *u;

		if (a->count == a->cap) {
			u32 cap = a->cap ? a->cap * 2 : 16;
			float **p = realloc(a->upd, cap * sizeof(*p));

			if (!p)
				return mcai_why(-ENOMEM, why, why_len,
						"out of memory for update %u", a->count);
			a->upd = p;
			a->cap = cap;
		}
		u = malloc(a->n * sizeof(float));
		if (!u)
			return mcai_why(-ENOMEM, why, why_len,
					"out of memory for update %u", a->count);
		if (s == 1.0) {
			memcpy(u, delta, a->n * sizeof(float));
		} else {
			for (i = 0; i < a->n; i++)
				u[i] = (float)(delta[i] * s);
		}
		a->upd[a->count] = u;
	} else if (a->c.kind == MCAI_AGG_QFEDAVG) {
		/*
		 * Dw = -L d: the update is -sum F^q Dw / sum h = sum F^q L d /
		 * sum h.  A zero loss would make F^(q-1) infinite for q < 1
		 * while F^q is 0: a client that has nothing left to learn
		 * adds (almost) nothing either way, so F is floored.
		 */
		const double L = 1.0 / a->c.q_lr, q = a->c.q;
		const double F = loss > 1e-10f ? (double)loss : 1e-10;
		const double fq = pow(F, q), dn = L * norm * s;

		for (i = 0; i < a->n; i++)
			a->acc[i] += fq * L * s * delta[i];
		a->hsum += q * pow(F, q - 1) * dn * dn + L * fq;
	} else {
		mcai_fold_f32(a->acc, delta, (double)weight * s, a->n);
	}
	a->clipped += s != 1.0;
	a->weight += weight;
	a->count++;
	return 0;
}

/* Small k (the usual round) sorts in place; large k goes to qsort. */
static int cmp_float(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;

	return (a > b) - (a < b);
}

static void sort_floats(float *v, u32 k)
{
	u32 i, j;

	if (k > 24) {
		qsort(v, k, sizeof(*v), cmp_float);
		return;
	}
	for (i = 1; i < k; i++) {
		float x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Sorted values [lo, hi) of every coordinate, averaged in double. */
static int coord_sorted_mean(const float *const *u, u32 k, u32 n, u32 lo,
			     u32 hi, float *out)
{
	float *col = malloc(k * sizeof(float));
	u32 i, j;

	if (!col)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		double s = 0;

		for (j = 0; j < k; j++)
			col[j] = u[j][i];
		sort_floats(col, k);
		for (j = lo; j < hi; j++)
			s += col[j];
		out[i] = (float)(s / (hi - lo));
	}
	free(col);
	return 0;
}

int mcai_coord_median(const float *const *u, u32 k, u32 n, float *out)
{
	if (!k)
		return -EINVAL;
	/* odd k: the middle one; even k: the mean of the two middle ones */
	return coord_sorted_mean(u, k, n, (k - 1) / 2, k / 2 + 1, out);
}

/*
 * floor(trim * k), forgiving decimal fractions a float holds a hair low
 * (0.35f * 20 = 6.9999999), and always leaving at least one value.
 */
static u32 trim_count(float trim, u32 k)
{
	u32 t = (u32)floor((double)trim * k * (1 + 1e-6));

	return 2 * (u64)t >= k ? (k - 1) / 2 : t;
}

int mcai_coord_trimmed_mean(const float *const *u, u32 k, u32 n, float trim,
			    float *out)
{
	u32 t;

	if (!k || !(trim >= 0.0f && trim < 0.5f))
		return -EINVAL;
	t = trim_count(trim, k);
	return coord_sorted_mean(u, k, n, t, k - t, out);
}

struct scored {
	double score;
	u32 idx;
};

static int cmp_scored(const void *x, const void *y)
{
	const struct scored *a = x, *b = y;

	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* Squared distances between all pairs of the k vectors, k * k doubles. */
static double *pair_dist(const float *const *u, u32 k, u32 n)
{
	double *d = calloc((size_t)k * k, sizeof(double));
	u32 i, j, c;

	if (!d)
		return NULL;
	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++) {
			double s = 0;

			for (c = 0; c < n; c++) {
				double x = (double)u[i][c] - u[j][c];

				s += x * x;
			}
			d[(size_t)i * k + j] = s;
			d[(size_t)j * k + i] = s;
		}
	return d;
}

/*
 * Krum score of the vector @i among those with alive[] set: the sum of its
 * @near smallest squared distances to the others alive.  @row: k doubles.
 */
static double krum_score(const double *d, u32 k, const bool *alive, u32 i,
			 u32 near, double *row)
{
	double score = 0;
	u32 j, r = 0;

	for (j = 0; j < k; j++)
		if (j != i && (!alive || alive[j]))
			row[r++] = d[(size_t)i * k + j];
	qsort(row, r, sizeof(*row), cmp_double);
	for (j = 0; j < near && j < r; j++)
		score += row[j];
	return score;
}

int mcai_multi_krum(const float *const *u, u32 k, u32 n, u32 f, u32 m,
		    float *out, bool *selected)
{
	const u32 near = k - f - 2;
	double *d, *row;
	struct scored *sc;
	u32 i, c;
	int err = -ENOMEM;

	if (f >= (1u << 30) || k <= 2 * f + 2 || m < 1 || m > k)
		return -EINVAL;
	d = pair_dist(u, k, n);
	row = malloc(k * sizeof(double));
	sc = malloc(k * sizeof(*sc));
	if (!d || !row || !sc)
		goto out;
	for (i = 0; i < k; i++) {
		sc[i].score = krum_score(d, k, NULL, i, near, row);
		sc[i].idx = i;
	}
	qsort(sc, k, sizeof(*sc), cmp_scored);
	if (selected) {
		memset(selected, 0, k * sizeof(*selected));
		for (i = 0; i < m; i++)
			selected[sc[i].idx] = true;
	}
	/*
	 * Sum in the order the updates were added, not by score, so that the
	 * result does not depend on the order of ties; row[] marks the chosen.
	 */
	for (i = 0; i < k; i++)
		row[i] = 0;
	for (i = 0; i < m; i++)
		row[sc[i].idx] = 1;
	for (c = 0; c < n; c++) {
		double s = 0;

		for (i = 0; i < k; i++)
			if (row[i] != 0)
				s += u[i][c];
		out[c] = (float)(s / m);
	}
	err = 0;
out:
	free(d);
	free(row);
	free(sc);
	return err;
}

int mcai_bulyan(const float *const *u, u32 k, u32 n, u32 f, float *out,
		bool *selected)
{
	u32 theta, beta, t, i, c;
	double *d = NULL, *row = NULL;
	bool *alive = NULL;
	u32 *pick = NULL;
	float *col = NULL;
	int err = -ENOMEM;

	if (f >= (1u << 29) || k < 4 * f + 3)
		return -EINVAL;
	theta = k - 2 * f;
	beta = theta - 2 * f;
	d = pair_dist(u, k, n);
	row = malloc(k * sizeof(double));
	alive = malloc(k * sizeof(bool));
	pick = malloc(theta * sizeof(u32));
	col = malloc(theta * sizeof(float));
	if (!d || !row || !alive || !pick || !col)
		goto out;
	for (i = 0; i < k; i++)
		alive[i] = true;
	/* theta rounds of Krum, each over the vectors not yet picked */
	for (t = 0; t < theta; t++) {
		const u32 left = k - t;
		const u32 near = left > f + 3 ? left - f - 2 : 1;
		double best = 0;
		u32 bi = k;

		for (i = 0; i < k; i++) {
			double sc;

			if (!alive[i])
				continue;
			sc = krum_score(d, k, alive, i, near, row);
			if (bi == k || sc < best) {
				best = sc;
				bi = i;
			}
		}
		alive[bi] = false;
		pick[t] = bi;
	}
	if (selected)
		for (i = 0; i < k; i++)
			selected[i] = !alive[i];
	/*
	 * Per coordinate: sort the picked values; the beta closest to the
	 * median form a run of the sorted ones around it, grown one value at
	 * a time from the middle towards the nearer side (the lower on a tie).
	 */
	for (c = 0; c < n; c++) {
		double med, s = 0;
		u32 lo, hi;

		for (t = 0; t < theta; t++)
			col[t] = u[pick[t]][c];
		sort_floats(col, theta);
		med = theta & 1 ? col[theta / 2] :
		      0.5 * ((double)col[theta / 2 - 1] + col[theta / 2]);
		lo = (theta - 1) / 2;		/* run [lo, hi) */
		hi = lo + 1;
		while (hi - lo < beta) {
			if (hi == theta ||
			    (lo > 0 && med - col[lo - 1] <= col[hi] - med))
				lo--;
			else
				hi++;
		}
		for (t = lo; t < hi; t++)
			s += col[t];
		out[c] = (float)(s / beta);
	}
	err = 0;
out:
	free(d);
	free(row);
	free(alive);
	free(pick);
	free(col);
	return err;
}

int mcai_agg_finish(struct mcai_agg *a, float *out,
		    struct mcai_agg_report *rep, char *why, size_t why_len)
{
	const float *const *u = (const float *const *)a->upd;
	u32 k = a->count, used = k, i;
	int err = 0;

	if (!k)
		return mcai_why(-ENODATA, why, why_len, "no update in the round");
	switch (a->c.kind) {
	case MCAI_AGG_MEDIAN:
		err = mcai_coord_median(u, k, a->n, out);
		break;
	case MCAI_AGG_TRIMMED_MEAN:
		err = mcai_coord_trimmed_mean(u, k, a->n, a->c.trim, out);
		used = k - 2 * trim_count(a->c.trim, k);
		break;
	case MCAI_AGG_BULYAN: {
		const u32 f = a->c.krum_f;

		if (k < 4 * f + 3)
			return mcai_why(-EINVAL, why, why_len,
					"bulyan with f = %u needs at least %u updates, the round has %u",
					f, 4 * f + 3, k);
		used = k - 4 * f;
		free(a->selected);
		a->selected = calloc(k, sizeof(bool));
		a->n_selected = 0;
		if (!a->selected) {
			err = -ENOMEM;
			break;
		}
		err = mcai_bulyan(u, k, a->n, f, out, a->selected);
		if (!err)
			a->n_selected = k;
		break;
	}
	case MCAI_AGG_KRUM:
	case MCAI_AGG_KRUM_SINGLE: {
		const u32 f = a->c.krum_f;

		if (k <= 2 * f + 2)
			return mcai_why(-EINVAL, why, why_len,
					"krum with f = %u needs more than %u updates, the round has %u",
					f, 2 * f + 2, k);
		used = a->c.krum_m && a->c.krum_m < k - f ? a->c.krum_m : k - f;
		if (a->c.kind == MCAI_AGG_KRUM_SINGLE)
			used = 1;
		free(a->selected);
		a->selected = calloc(k, sizeof(bool));
		a->n_selected = 0;
		if (!a->selected) {
			err = -ENOMEM;
			break;
		}
		err = mcai_multi_krum(u, k, a->n, f, used, out, a->selected);
		if (!err)
			a->n_selected = k;
		break;
	}
	case MCAI_AGG_QFEDAVG:
		for (i = 0; i < a->n; i++)
			out[i] = (float)(a->acc[i] / a->hsum);
		break;
	default: {
		const double w = (double)a->weight;

		for (i = 0; i < a->n; i++)
			out[i] = (float)(a->acc[i] / w);
		break;
	}
	}
	if (err)
		return mcai_why(err, why, why_len, "out of memory combining %u updates",
				k);
	if (rep) {
		rep->updates = k;
		rep->clipped = a->clipped;
		rep->used = used;
		rep->weight = a->weight;
	}
	return 0;
}

void mcai_agg_apply(struct mcai_agg *a, float *model, const float *update,
		    u32 done, u32 total)
{
	const double b1 = a->c.beta1, b2 = a->c.beta2;
	const double lr = a->c.server_lr, tau = a->c.tau;
	u32 i;

	if (a->c.kind == MCAI_AGG_FEDAVGM) {
		const double step = mcai_agg_server_step(&a->c, done, total);
		const double mu = a->c.server_momentum;

		for (i = 0; i < a->n; i++) {
			const double m = mu * a->m[i] + update[i];

			a->m[i] = (float)m;
			model[i] = (float)(model[i] + step * m);
		}
		a->steps++;
		return;
	}
	if (!adaptive(a->c.kind)) {
		const double step = mcai_agg_server_step(&a->c, done, total);

		if (step == 1.0) {
			for (i = 0; i < a->n; i++)
				model[i] += update[i];
		} else {
			for (i = 0; i < a->n; i++)
				model[i] = (float)(model[i] + step * update[i]);
		}
		return;
	}
	for (i = 0; i < a->n; i++) {
		const double d = update[i];
		const double m = b1 * a->m[i] + (1 - b1) * d;
		const double v0 = a->v[i], d2 = d * d;
		double v;

		switch (a->c.kind) {
		case MCAI_AGG_FEDADAGRAD:
			v = v0 + d2;
			break;
		case MCAI_AGG_FEDYOGI:
			v = v0 - (1 - b2) * d2 * (v0 > d2 ? 1 : v0 < d2 ? -1 : 0);
			break;
		default:
			v = b2 * v0 + (1 - b2) * d2;
			break;
		}

		a->m[i] = (float)m;
		a->v[i] = (float)v;
		model[i] = (float)(model[i] + lr * m / (sqrt(v) + tau));
	}
	a->steps++;
}

double mcai_agg_server_step(const struct mcai_agg_config *c, u32 done,
			    u32 total)
{
	const double first = c->server_step, last = c->server_step_final;

	if (!(last > 0) || !total)
		return first;
	if (done >= total)
		return last;
	return last + (first - last) * 0.5 * (1.0 + cos(M_PI * done / total));
}

bool mcai_agg_selected(const struct mcai_agg *a, u32 i)
{
	return a->selected && i < a->n_selected && a->selected[i];
}

size_t mcai_agg_bytes(const struct mcai_agg *a)
{
	size_t b = sizeof(*a);

	if (a->acc)
		b += (size_t)a->n * sizeof(double);
	if (a->m)
		b += 2 * (size_t)a->n * sizeof(float);
	if (a->upd)
		b += a->cap * sizeof(float *) +
		     (size_t)a->count * a->n * sizeof(float);
	if (a->selected)
		b += a->count * sizeof(bool);
	return b;
}

void mcai_agg_adam_get(const struct mcai_agg *a, float *m, float *v,
		       u64 *steps)
{
	if (a->m) {
		memcpy(m, a->m, a->n * sizeof(float));
		memcpy(v, a->v, a->n * sizeof(float));
	} else {
		memset(m, 0, a->n * sizeof(float));
		memset(v, 0, a->n * sizeof(float));
	}
	*steps = a->steps;
}

void mcai_agg_adam_set(struct mcai_agg *a, const float *m, const float *v,
		       u64 steps)
{
	if (!a->m)
		return;
	memcpy(a->m, m, a->n * sizeof(float));
	memcpy(a->v, v, a->n * sizeof(float));
	a->steps = steps;
}
