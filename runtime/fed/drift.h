/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Drift: how far a model's live inputs have moved from the data it was
 * trained on, and when enough of the fleet says so to start a round.
 * Pure computation over buffers: no I/O, no clock.
 *
 * The baseline is the per-feature mean and variance of the training data
 * in the model's quantised input units (the units of the module's drift
 * statistics, MCAI_IOC_MODEL_STATS), as text:
 *
 *	mcai-drift-baseline 1
 *	features N
 *	<mean> <variance>		N lines, feature 0 first
 *
 * The score is the standardised mean shift, root mean square over the
 * features:
 *
 *	score = sqrt( (1/N) * sum_i (mu_i - m_i)^2 / max(v_i, 1) )
 *
 * mu_i the live mean, m_i and v_i the baseline's.  It reads as "the
 * inputs' means moved by `score` training standard deviations, on
 * average"; 0 for data like the training data, about 1 when each mean
 * moved by one standard deviation.  The floor of 1 (one quantum squared)
 * keeps a feature that never varied in training (a border pixel) from
 * turning a one-step change into an infinite score.
 */
#ifndef MCAI_DRIFT_H
#define MCAI_DRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MCAI_DRIFT_MAX_FEATURES	(1U << 20)

struct mcai_drift_base {
	uint32_t n_features;
	double *mean;			/* n_features each */
	double *var;
};

/*
 * The baseline a signed manifest carries (runtime/fed/provenance.h,
 * MCAI_PROV_F_STATS): @n features' means and variances, already checked
 * by the manifest's decoder.  0, or -EINVAL (n out of range) / -ENOMEM.
 */
int mcai_drift_base_from_stats(struct mcai_drift_base *b, uint32_t n,
			       const float *mean, const float *var);

/* Parse the text above; 0, or -EINVAL / -ENOMEM with a sentence in @err. */
int mcai_drift_base_parse(const char *text, size_t len,
			  struct mcai_drift_base *b, char *err, size_t errlen);
void mcai_drift_base_free(struct mcai_drift_base *b);

/*
 * The score of live means given in Q16.16 (as the module reports them);
 * -1 when the feature counts differ (another model shape).
 */
double mcai_drift_score_q16(const struct mcai_drift_base *b,
			    const int32_t *mean_q16, uint32_t n_features);

/*
 * The aggregator's policy: start a round when at least min_nodes
 * distinct nodes, and at least min_fraction of the nodes connected, have
 * reported drift within the last window_s seconds.
 */
struct mcai_drift_policy {
	uint32_t min_nodes;		/* >= 1 */
	double min_fraction;		/* 0 .. 1 */
	uint32_t window_s;		/* >= 1 */
};

struct mcai_drift_report {
	const char *node;		/* node id */
	uint64_t at_s;			/* when it was received */
};

/*
 * Whether @p says start, given @n reports (any order, a node may appear
 * more than once) and @connected nodes at @now_s; *@voting gets the
 * distinct nodes counted.
 */
bool mcai_drift_policy_start(const struct mcai_drift_policy *p,
			     const struct mcai_drift_report *r, size_t n,
			     uint32_t connected, uint64_t now_s,
			     uint32_t *voting);

#endif /* MCAI_DRIFT_H */
