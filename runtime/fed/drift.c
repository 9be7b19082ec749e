// SPDX-License-Identifier: GPL-2.0
/*
 * Drift score and round policy; drift.h documents both.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/drift.h"

void mcai_drift_base_free(struct mcai_drift_base *b)
{
	free(b->mean);
	free(b->var);
	memset(b, 0, sizeof(*b));
}

int mcai_drift_base_from_stats(struct mcai_drift_base *b, uint32_t n,
			       const float *mean, const float *var)
{
	uint32_t i;

	memset(b, 0, sizeof(*b));
	if (!n || n > MCAI_DRIFT_MAX_FEATURES)
		return -EINVAL;
	b->mean = calloc(n, sizeof(double));
	b->var = calloc(n, sizeof(double));
	if (!b->mean || !b->var) {
		mcai_drift_base_free(b);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		b->mean[i] = mean[i];
		b->var[i] = var[i];
	}
	b->n_features = n;
	return 0;
}

/* The next line of @t (at most @max bytes) into @line; false at the end. */
static bool next_line(const char **t, const char *end, char *line, size_t max)
{
	const char *p = *t, *nl;
	size_t n;

	if (p >= end)
		return false;
	nl = memchr(p, '\n', (size_t)(end - p));
	n = (size_t)((nl ? nl : end) - p);
	*t = nl ? nl + 1 : end;
	if (n >= max)
		n = max - 1;	/* too long: it will not parse */
	memcpy(line, p, n);
	line[n] = 0;
	return true;
}

int mcai_drift_base_parse(const char *text, size_t len,
			  struct mcai_drift_base *b, char *err, size_t errlen)
{
	const char *t = text, *end = text + len;
	char line[256], extra;
	unsigned long n;
	uint32_t i;

	memset(b, 0, sizeof(*b));
	if (!next_line(&t, end, line, sizeof(line)) ||
	    strcmp(line, "mcai-drift-baseline 1")) {
		snprintf(err, errlen, "not a drift baseline (first line must be \"mcai-drift-baseline 1\")");
		return -EINVAL;
	}
	if (!next_line(&t, end, line, sizeof(line)) ||
	    sscanf(line, "features %lu %c", &n, &extra) != 1 || !n ||
	    n > MCAI_DRIFT_MAX_FEATURES) {
		snprintf(err, errlen, "line 2: want \"features N\", 1 <= N <= %u",
			 MCAI_DRIFT_MAX_FEATURES);
		return -EINVAL;
	}
	b->n_features = (uint32_t)n;
	b->mean = calloc(n, sizeof(double));
	b->var = calloc(n, sizeof(double));
	if (!b->mean || !b->var) {
		mcai_drift_base_free(b);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < b->n_features; i++) {
		double m, v;

		if (!next_line(&t, end, line, sizeof(line)) ||
		    sscanf(line, "%lf %lf %c", &m, &v, &extra) != 2 ||
		    !isfinite(m) || !isfinite(v) || v < 0 ||
		    fabs(m) > 1e6 || v > 1e12) {
			snprintf(err, errlen, "line %u: want \"mean variance\" (finite, variance >= 0) for feature %u",
				 i + 3, i);
			mcai_drift_base_free(b);
			return -EINVAL;
		}
		b->mean[i] = m;
		b->var[i] = v;
	}
	while (next_line(&t, end, line, sizeof(line)))
		if (line[strspn(line, " \t\r")]) {
			snprintf(err, errlen, "line %u: more than %u features",
				 b->n_features + 3, b->n_features);
			mcai_drift_base_free(b);
			return -EINVAL;
		}
	return 0;
}

double mcai_drift_score_q16(const struct mcai_drift_base *b,
			    const int32_t *mean_q16, uint32_t n_features)
{
	double sum = 0;
	uint32_t i;

	if (!b->n_features || n_features != b->n_features)
		return -1;
	for (i = 0; i < n_features; i++) {
		double d = (double)mean_q16[i] / 65536.0 - b->mean[i];
		double v = b->var[i] < 1 ? 1 : b->var[i];

		sum += d * d / v;
	}
	return sqrt(sum / n_features);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool mcai_drift_policy_start(const struct mcai_drift_policy *p,
			     const struct mcai_drift_report *r, size_t n,
			     uint32_t connected, uint64_t now_s,
			     uint32_t *voting)
{
	const char **recent;
	uint32_t distinct = 0;
	size_t k = 0, i;

	*voting = 0;
	if (!p->min_nodes || !p->window_s || !n || !connected)
		return false;
	recent = calloc(n, sizeof(*recent));
	if (!recent)
		return false;
	for (i = 0; i < n; i++)
		/* a report from the future (clock step) counts as now */
		if (r[i].at_s > now_s || now_s - r[i].at_s < p->window_s)
			recent[k++] = r[i].node;
	qsort(recent, k, sizeof(*recent), cmp_str);
	for (i = 0; i < k; i++)
		if (!i || strcmp(recent[i], recent[i - 1]))
			distinct++;
	free(recent);
	*voting = distinct;
	if (distinct < p->min_nodes)
		return false;
	if ((double)distinct < p->min_fraction * connected)
		return false;
	return true;
}
