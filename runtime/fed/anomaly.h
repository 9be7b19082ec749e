/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Update anomaly scoring and quarantine at the aggregator (poisoning
 * defence).
 *
 * Each round, every update (a delta over the model's parameter vector,
 * as in strategy.h) is scored against statistics of the round that a
 * minority of attackers cannot move far:
 *
 *   norm_z    robust z-score of its L2 norm:
 *                 (norm - median(norms)) / (1.4826 * MAD(norms))
 *             1.4826 * MAD estimates the standard deviation of a normal
 *             population; the median and MAD break down only past half
 *             the updates, where a mean and standard deviation break
 *             down with a single large update.
 *   cosine    cosine between the update and the coordinate-wise median
 *             of the round's updates (the robust aggregate): a sign-flip,
 *             random-noise or wrong-label update points elsewhere.
 *   cosine_z  robust z-score of the cosine among the round's cosines, so
 *             the threshold adapts to how much honest updates disagree
 *             (non-IID data lowers every cosine).
 *
 * With a zero MAD (at least half the values equal) a value equal to the
 * median scores 0 and any other one +-infinity: nothing defines a scale.
 * A zero update or a zero median has cosine 0.
 *
 * An update is flagged when one of the enabled tests fails; the reasons
 * are kept as a bit mask.  Flagged updates are meant to be left out of the
 * round; a node flagged @quarantine_flags times within @window rounds is
 * quarantined: excluded from every later round (mcai_quarantine_*).
 */
#ifndef MCAI_ANOMALY_H
#define MCAI_ANOMALY_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"

/* Why an update was flagged (bits of mcai_anomaly_score.reasons). */
#define MCAI_ANOMALY_NORM_HIGH	(1U << 0)	/* norm_z > norm_z_high */
#define MCAI_ANOMALY_NORM_LOW	(1U << 1)	/* norm_z < -norm_z_low */
#define MCAI_ANOMALY_COSINE	(1U << 2)	/* cosine < cos_min */
#define MCAI_ANOMALY_COSINE_Z	(1U << 3)	/* cosine_z < -cos_z */

struct mcai_anomaly_config {
	float norm_z_high;	/* > 0: flag a norm this many sigmas above */
	float norm_z_low;	/* > 0: flag a norm this many sigmas below */
	float cos_min;		/* flag a cosine below; <= -1: off */
	float cos_z;		/* > 0: flag a cosine this many sigmas below */
	u32 quarantine_flags;	/* k flags ... (0: never quarantine) */
	u32 window;		/* ... within this many rounds */
};

struct mcai_anomaly_score {
	double norm, norm_z;
	double cosine, cosine_z;
	u32 reasons;		/* MCAI_ANOMALY_*, 0: not flagged */
};

/* The round's robust statistics. */
struct mcai_anomaly_round {
	double norm_median, norm_sigma;		/* sigma = 1.4826 MAD */
	double cos_median, cos_sigma;
	u32 flagged;
};

/*
 * Defaults: norm_z_high 3.5, norm_z_low 0 (off: honest nodes with little
 * data send short updates), cos_min 0, cos_z 3.5, quarantine after 2
 * flags within 5 rounds.
 */
void mcai_anomaly_config_default(struct mcai_anomaly_config *c);
/* 0, or -EINVAL with the reason in @why (may be NULL). */
int mcai_anomaly_config_check(const struct mcai_anomaly_config *c, char *why,
			      size_t why_len);

/*
 * Score the k >= 1 updates u[0..k) of n floats into out[0..k) and the
 * round statistics into @rs (may be NULL).  @median is scratch for the
 * coordinate median, n floats; NULL allocates it.  0, -EINVAL or -ENOMEM.
 */
int mcai_anomaly_score(const struct mcai_anomaly_config *c,
		       const float *const *u, u32 k, u32 n, float *median,
		       struct mcai_anomaly_score *out,
		       struct mcai_anomaly_round *rs);

/* Short text for a reason mask: "norm-high,cosine", or "-" for 0. */
const char *mcai_anomaly_reasons(u32 reasons, char *buf, size_t len);

/* ---- Building blocks ------------------------------------------------- */

/* Median of k >= 1 doubles (even k: mean of the middle two); v is sorted. */
double mcai_median_sort(double *v, u32 k);
/* Median and 1.4826 * MAD of v[0..k); v is left as it was. 0 or -ENOMEM. */
int mcai_robust_stats(const double *v, u32 k, double *median, double *sigma);
/* (x - median) / sigma, with the zero-sigma rule above. */
double mcai_robust_z(double x, double median, double sigma);
/* Cosine of a and b (n floats), in double; 0 when either is zero. */
double mcai_cosine(const float *a, const float *b, u32 n);

/* ---- Quarantine of repeat offenders --------------------------------- */

struct mcai_quarantine;

/*
 * For nodes 0..nodes-1: quarantined once flagged @flags (>= 1) times in
 * rounds (r - window, r].  NULL on bad arguments or no memory.
 */
struct mcai_quarantine *mcai_quarantine_create(u32 nodes, u32 flags,
					       u32 window);
void mcai_quarantine_free(struct mcai_quarantine *q);

/*
 * Record that @node was flagged in @round (rounds never go backwards for
 * a node).  Returns true when this flag put the node in quarantine.
 */
bool mcai_quarantine_flag(struct mcai_quarantine *q, u32 node, u32 round);
/* Whether @node is quarantined (out-of-range nodes are not). */
bool mcai_quarantine_active(const struct mcai_quarantine *q, u32 node);
/* Nodes quarantined so far. */
u32 mcai_quarantine_count(const struct mcai_quarantine *q);

#endif /* MCAI_ANOMALY_H */
