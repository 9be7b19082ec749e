// SPDX-License-Identifier: GPL-2.0
/*
 * Update anomaly scoring and quarantine, see anomaly.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/anomaly.h"
#include "runtime/fed/strategy.h"

/* 1 / Phi^-1(3/4): MAD to standard deviation for normal data. */
#define MAD_TO_SIGMA	1.482602218505602

void mcai_anomaly_config_default(struct mcai_anomaly_config *c)
{
	memset(c, 0, sizeof(*c));
	c->norm_z_high = 3.5f;
	c->norm_z_low = 0.0f;
	c->cos_min = 0.0f;
	c->cos_z = 3.5f;
	c->quarantine_flags = 2;
	c->window = 5;
}

int mcai_anomaly_config_check(const struct mcai_anomaly_config *c, char *why,
			      size_t why_len)
{
	if (!(c->norm_z_high >= 0) || !(c->norm_z_low >= 0) ||
	    !(c->cos_z >= 0))
		return mcai_why(-EINVAL, why, why_len,
				"z-score thresholds must be >= 0 (0: off)");
	if (!(c->cos_min <= 1))
		return mcai_why(-EINVAL, why, why_len,
				"cos_min %g: must be at most 1 (<= -1: off)",
				c->cos_min);
	if (c->quarantine_flags && !c->window)
		return mcai_why(-EINVAL, why, why_len,
				"quarantine after %u flags needs a window of rounds",
				c->quarantine_flags);
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	const double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

double mcai_median_sort(double *v, u32 k)
{
	qsort(v, k, sizeof(*v), cmp_double);
	return k & 1 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

int mcai_robust_stats(const double *v, u32 k, double *median, double *sigma)
{
	double *t, med;
	u32 i;

	if (!k)
		return -EINVAL;
	t = malloc(k * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t, v, k * sizeof(*t));
	med = mcai_median_sort(t, k);
	for (i = 0; i < k; i++)
		t[i] = fabs(v[i] - med);
	*sigma = MAD_TO_SIGMA * mcai_median_sort(t, k);
	*median = med;
	free(t);
	return 0;
}

double mcai_robust_z(double x, double median, double sigma)
{
	if (sigma > 0)
		return (x - median) / sigma;
	if (x == median)
		return 0;
	return x > median ? INFINITY : -INFINITY;
}

double mcai_cosine(const float *a, const float *b, u32 n)
{
	double ab = 0, aa = 0, bb = 0;
	u32 i;

	for (i = 0; i < n; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	if (aa == 0 || bb == 0)
		return 0;
	return ab / (sqrt(aa) * sqrt(bb));
}

int mcai_anomaly_score(const struct mcai_anomaly_config *c,
		       const float *const *u, u32 k, u32 n, float *median,
		       struct mcai_anomaly_score *out,
		       struct mcai_anomaly_round *rs)
{
	struct mcai_anomaly_round r = { 0 };
	float *own = NULL;
	double *v = NULL;
	int err;
	u32 i;

	if (!k || !n || mcai_anomaly_config_check(c, NULL, 0))
		return -EINVAL;
	for (i = 0; i < k; i++) {
		out[i].norm = mcai_l2_norm(u[i], n);
		/* The aggregator refuses these anyway; a median of NaN is not. */
		if (!isfinite(out[i].norm))
			return -EINVAL;
	}
	if (!median) {
		median = own = malloc((size_t)n * sizeof(float));
		if (!median)
			return -ENOMEM;
	}
	v = malloc(k * sizeof(*v));
	err = v ? mcai_coord_median(u, k, n, median) : -ENOMEM;
	if (err)
		goto out;

	for (i = 0; i < k; i++)
		v[i] = out[i].norm;
	err = mcai_robust_stats(v, k, &r.norm_median, &r.norm_sigma);
	if (err)
		goto out;
	for (i = 0; i < k; i++) {
		out[i].cosine = mcai_cosine(u[i], median, n);
		v[i] = out[i].cosine;
	}
	err = mcai_robust_stats(v, k, &r.cos_median, &r.cos_sigma);
	if (err)
		goto out;

	for (i = 0; i < k; i++) {
		struct mcai_anomaly_score *s = &out[i];

		s->norm_z = mcai_robust_z(s->norm, r.norm_median, r.norm_sigma);
		s->cosine_z = mcai_robust_z(s->cosine, r.cos_median, r.cos_sigma);
		s->reasons = 0;
		if (c->norm_z_high > 0 && s->norm_z > c->norm_z_high)
			s->reasons |= MCAI_ANOMALY_NORM_HIGH;
		if (c->norm_z_low > 0 && s->norm_z < -c->norm_z_low)
			s->reasons |= MCAI_ANOMALY_NORM_LOW;
		if (c->cos_min > -1 && s->cosine < c->cos_min)
			s->reasons |= MCAI_ANOMALY_COSINE;
		if (c->cos_z > 0 && s->cosine_z < -c->cos_z)
			s->reasons |= MCAI_ANOMALY_COSINE_Z;
		r.flagged += s->reasons != 0;
	}
	if (rs)
		*rs = r;
out:
	free(v);
	free(own);
	return err;
}

const char *mcai_anomaly_reasons(u32 reasons, char *buf, size_t len)
{
	static const char *const names[] = {
		"norm-high", "norm-low", "cosine", "cosine-z",
	};
	size_t at = 0;
	u32 b;

	if (!len)
		return buf;
	buf[0] = 0;
	if (!reasons) {
		snprintf(buf, len, "-");
		return buf;
	}
	for (b = 0; b < 4 && at < len; b++)
		if (reasons & (1U << b))
			at += (size_t)snprintf(buf + at, len - at, "%s%s",
					       at ? "," : "", names[b]);
	return buf;
}

/* ---- Quarantine ------------------------------------------------------ */

/*
 * Per node, the rounds of its last @flags flags in a ring: the node is
 * quarantined when the oldest of them is still inside the window.
 */
struct mcai_quarantine {
	u32 nodes, flags, window;
	u32 *ring;		/* nodes * flags rounds */
	u32 *seen;		/* flags recorded per node */
	bool *active;
	u32 count;
};

struct mcai_quarantine *mcai_quarantine_create(u32 nodes, u32 flags,
					       u32 window)
{
	struct mcai_quarantine *q;

	if (!nodes || !flags || !window)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->nodes = nodes;
	q->flags = flags;
	q->window = window;
	q->ring = calloc((size_t)nodes * flags, sizeof(u32));
	q->seen = calloc(nodes, sizeof(u32));
	q->active = calloc(nodes, sizeof(bool));
	if (!q->ring || !q->seen || !q->active) {
		mcai_quarantine_free(q);
		return NULL;
	}
	return q;
}

void mcai_quarantine_free(struct mcai_quarantine *q)
{
	if (!q)
		return;
	free(q->ring);
	free(q->seen);
	free(q->active);
	free(q);
}

bool mcai_quarantine_flag(struct mcai_quarantine *q, u32 node, u32 round)
{
	u32 *ring, oldest;

	if (node >= q->nodes || q->active[node])
		return false;
	ring = q->ring + (size_t)node * q->flags;
	ring[q->seen[node] % q->flags] = round;
	q->seen[node]++;
	if (q->seen[node] < q->flags)
		return false;
	/* The slot written next holds the k-th most recent flag. */
	oldest = ring[q->seen[node] % q->flags];
	if ((u64)oldest + q->window <= round)
		return false;
	q->active[node] = true;
	q->count++;
	return true;
}

bool mcai_quarantine_active(const struct mcai_quarantine *q, u32 node)
{
	return node < q->nodes && q->active[node];
}

u32 mcai_quarantine_count(const struct mcai_quarantine *q)
{
	return q->count;
}
