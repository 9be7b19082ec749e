/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Aggregation strategies of the mcaid aggregator.
 *
 * A client sends its update as a delta, new - base, over the model's float
 * parameter vector (models/train/mlp.h), with the number of samples it trained
 * on as weight.  A round:
 *
 *     mcai_agg_begin(a);
 *     for each update as it arrives:  mcai_agg_add(a, delta, samples, ...);
 *     mcai_agg_finish(a, combined, &report, ...);
 *     mcai_agg_apply(a, model, combined, round, rounds);
 *
 * finish() and apply() are separate so that a site aggregator can forward
 * its combined update (weight = report.weight) to a regional one instead
 * of applying it.
 *
 * Strategies:
 *   fedavg        sum(w_i d_i) / sum(w_i), w_i = samples.  Streaming: each
 *                 update is folded into a double accumulator on arrival,
 *                 so memory does not depend on the number of clients.
 *   fedprox       server side identical to fedavg; prox_mu is for the
 *                 clients (the proximal term of their local training).
 *   fedadam       fedavg's combined update is the pseudo-gradient of a
 *                 server Adam step (Reddi et al. 2021, "Adaptive Federated
 *                 Optimization"): m = b1 m + (1 - b1) d, v = b2 v + (1 - b2)
 *                 d^2, x += lr m / (sqrt(v) + tau), no bias correction;
 *                 m and v persist across rounds.  Streaming as fedavg.
 *   median        coordinate-wise median; an even count averages the two
 *                 middle values.
 *   trimmed-mean  coordinate-wise: drop the floor(trim * k) smallest and
 *                 as many largest of the k values, average the rest.
 *   krum          Multi-Krum (Blanchard et al. 2017): score each update by
 *                 the sum of squared distances to its k - f - 2 nearest
 *                 others, average the m lowest scored.  Needs k > 2f + 2.
 *   fedavgm       FedAvg with server momentum (Hsu et al. 2019, "Measuring
 *                 the Effects of Non-Identical Data Distribution"): m =
 *                 momentum m + d, x += step m; m persists across rounds.
 *   fedadagrad    Reddi et al. 2021's server Adagrad: m as fedadam, v += d^2.
 *   fedyogi       Reddi et al. 2021's server Yogi: m as fedadam, v -= (1 -
 *                 b2) d^2 sign(v - d^2): v grows as slowly as Adagrad's
 *                 when d^2 > v and shrinks additively, not geometrically.
 *                 The three adaptive ones share fedadam's x += lr m /
 *                 (sqrt(v) + tau), zero initial moments, no bias correction.
 *   krum-single   Krum (Blanchard et al. 2017): the single update with the
 *                 lowest score (Multi-Krum with m = 1).  Needs k > 2f + 2.
 *   bulyan        El Mhamdi et al. 2018: pick theta = k - 2f updates one by
 *                 one, each time the Krum winner among those left (scores
 *                 over max(1, r - f - 2) nearest of the r left, as Flower);
 *                 then per coordinate the mean of the beta = theta - 2f of
 *                 the picked values closest to their median (ties: the
 *                 lower value).  Needs k >= 4f + 3.
 *   qfedavg       q-FFL (Li et al. 2020, "Fair Resource Allocation in
 *                 Federated Learning"), with L = 1 / q_lr: per client
 *                 Dw = -L d, D = F^q Dw, h = q F^(q-1) |Dw|^2 + L F^q, where
 *                 F is the client's loss (mcai_agg_add_loss()); the update
 *                 is -sum D / sum h.  q = 0 is an unweighted mean of the
 *                 updates; larger q favours the clients with a high loss.
 *                 Streaming; the sample counts are not used.
 * The robust ones (median, trimmed-mean, krum, krum-single, bulyan) keep
 * every update of the round (k vectors) and ignore the weights: an attacker
 * would simply claim many samples.  Ties (equal values, equal scores) go to
 * the update added first.
 *
 * Clipping (any strategy, clip_norm > 0): an update whose L2 norm is above
 * clip_norm is scaled down to exactly clip_norm before it is combined; one
 * at the bound is left alone.  The report counts the clipped ones.
 */
#ifndef MCAI_STRATEGY_H
#define MCAI_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"
#include "runtime/lib/errmsg.h"

enum mcai_agg_kind {
	MCAI_AGG_FEDAVG,
	MCAI_AGG_FEDPROX,
	MCAI_AGG_FEDADAM,
	MCAI_AGG_MEDIAN,
	MCAI_AGG_TRIMMED_MEAN,
	MCAI_AGG_KRUM,
	MCAI_AGG_FEDAVGM,
	MCAI_AGG_FEDADAGRAD,
	MCAI_AGG_FEDYOGI,
	MCAI_AGG_KRUM_SINGLE,
	MCAI_AGG_BULYAN,
	MCAI_AGG_QFEDAVG,
};

struct mcai_agg_config {
	enum mcai_agg_kind kind;
	float clip_norm;	/* > 0: clip each update's L2 norm; 0: off */
	float prox_mu;		/* fedprox: the clients' proximal mu, > 0 */
	float trim;		/* trimmed-mean: fraction per side, [0, 0.5) */
	u32 krum_f;		/* krum: Byzantine updates tolerated */
	u32 krum_m;		/* krum: updates averaged, at most k - f; 0: k - f */
	float server_lr;	/* fedadam: eta */
	float server_step;	/* not fedadam: x += step d, (0, 4] */
	float server_step_final; /* > 0: cosine to it (mcai_agg_server_step) */
	float beta1, beta2;	/* fedadam: [0, 1) */
	float tau;		/* fedadam: adaptivity, > 0 */
	float server_momentum;	/* fedavgm: [0, 1) */
	float q;		/* qfedavg: fairness, >= 0 */
	float q_lr;		/* qfedavg: L = 1 / q_lr, > 0 */
};

/* Outcome of one round. */
struct mcai_agg_report {
	u32 updates;		/* added this round */
	u32 clipped;		/* of those, scaled down to clip_norm */
	u32 used;		/* combined: all, krum's m, k - 2 floor(trim k) */
	u64 weight;		/* sum of the sample counts added */
};

struct mcai_agg;

/*
 * Format a reason into @why (when there is room) and return @err: the error
 * path of every check here, in anomaly.c and in fedsim.c.
 */
#define mcai_why(err, why, len, ...) \
	mcai_errmsg(why, len, err, __VA_ARGS__)

/* Index of @name in @names[0..n) (NULL entries skipped), or -EINVAL. */
int mcai_name_index(const char *const *names, u32 n, const char *name);

/*
 * "fedavg", "fedprox", "fedadam", "median", "trimmed-mean", "krum",
 * "fedavgm", "fedadagrad", "fedyogi", "krum-single", "bulyan", "qfedavg".
 */
const char *mcai_agg_kind_name(enum mcai_agg_kind kind);
int mcai_agg_kind_parse(const char *name, enum mcai_agg_kind *kind);

/*
 * Defaults for @kind: no clipping, prox_mu 0.01, trim 0.1, krum_f 1,
 * krum_m 0, fedadam lr 0.01, b1 0.9, b2 0.99, tau 1e-3 (the paper's),
 * server momentum 0.9, q 0.2, q_lr 0.1 (Flower's).
 */
void mcai_agg_config_default(struct mcai_agg_config *c, enum mcai_agg_kind kind);

/*
 * 0 when @c is usable, else -EINVAL and the reason in @why (may be NULL).
 * What depends on the round (krum's k > 2f + 2) is checked by finish().
 */
int mcai_agg_config_check(const struct mcai_agg_config *c, char *why,
			  size_t why_len);

/* An aggregator for updates of @n floats; NULL with a reason on failure. */
struct mcai_agg *mcai_agg_create(const struct mcai_agg_config *c, u32 n,
				 char *why, size_t why_len);
void mcai_agg_free(struct mcai_agg *a);

/* Start a round: drop the previous round's updates (fedadam keeps m, v). */
void mcai_agg_begin(struct mcai_agg *a);

/*
 * Add one client's update; @weight = its samples, >= 1.  -EINVAL for a
 * zero weight or a non-finite value (the update is then ignored whole),
 * -ENOMEM when a buffering strategy cannot keep it.  @delta is not changed.
 */
int mcai_agg_add(struct mcai_agg *a, const float *delta, u64 weight,
		 char *why, size_t why_len);
/*
 * The same with the client's loss (finite, >= 0), which qfedavg needs
 * (-EINVAL there without one) and the others ignore.  NAN: none.
 */
int mcai_agg_add_loss(struct mcai_agg *a, const float *delta, u64 weight,
		      float loss, char *why, size_t why_len);

/*
 * Combine the round's updates into @out (n floats).  -ENODATA without any
 * update, -EINVAL when krum's k <= 2f + 2, -ENOMEM.  The round stays open:
 * more updates may still be added and finish() called again.
 */
int mcai_agg_finish(struct mcai_agg *a, float *out,
		    struct mcai_agg_report *rep, char *why, size_t why_len);

/*
 * Apply a combined update to @model, the update of the round after @done
 * completed ones out of @total (0: open-ended): x += step d with
 * mcai_agg_server_step()'s step, or fedadam's server step (its own rate).
 */
void mcai_agg_apply(struct mcai_agg *a, float *model, const float *update,
		    u32 done, u32 total);

/*
 * The server step of that round: a cosine from server_step to
 * server_step_final, the way the clients' rate falls over the rounds;
 * server_step throughout when server_step_final is 0 or @total is 0.  Why
 * a step above 1: on well-mixed data the clients' updates agree, their
 * average keeps their length and loses their noise, so a longer step is
 * safe early; ending at 1 leaves the last rounds to plain averaging,
 * which non-IID data needs.
 */
double mcai_agg_server_step(const struct mcai_agg_config *c, u32 done,
			    u32 total);

/* Whether @kind keeps server moments across rounds (m, v below). */
bool mcai_agg_kind_has_state(enum mcai_agg_kind kind);

/* For krum, after finish(): whether the i-th update added was averaged. */
bool mcai_agg_selected(const struct mcai_agg *a, u32 i);

/* Bytes held now: accumulators, optimiser state, buffered updates. */
size_t mcai_agg_bytes(const struct mcai_agg *a);

/*
 * Server optimiser state (fedadam, fedadagrad, fedyogi; fedavgm's momentum
 * is m, its v stays 0), for the crash-safe registry: m and v (n floats
 * each) and the number of server steps taken.  get copies out, set copies
 * in.
 */
void mcai_agg_adam_get(const struct mcai_agg *a, float *m, float *v,
		       u64 *steps);
void mcai_agg_adam_set(struct mcai_agg *a, const float *m, const float *v,
		       u64 steps);

/* ---- The building blocks, usable on their own ------------------------ */

/* L2 norm, accumulated in double. */
double mcai_l2_norm(const float *v, u32 n);
/* Scale @v down to norm @bound when above it; true if it was scaled. */
bool mcai_clip_l2(float *v, u32 n, float bound);

/* Coordinate-wise over k >= 1 vectors u[0..k) of n floats; 0 or -ENOMEM. */
int mcai_coord_median(const float *const *u, u32 k, u32 n, float *out);
int mcai_coord_trimmed_mean(const float *const *u, u32 k, u32 n, float trim,
			    float *out);
/*
 * Multi-Krum over k > 2f + 2 vectors, averaging the m (1..k) best; marks
 * them in @selected (k bools) when not NULL.  0, -EINVAL or -ENOMEM.
 */
int mcai_multi_krum(const float *const *u, u32 k, u32 n, u32 f, u32 m,
		    float *out, bool *selected);
/*
 * Bulyan over k >= 4f + 3 vectors; marks the theta = k - 2f picked ones in
 * @selected (k bools) when not NULL.  0, -EINVAL or -ENOMEM.
 */
int mcai_bulyan(const float *const *u, u32 k, u32 n, u32 f, float *out,
		bool *selected);

#endif /* MCAI_STRATEGY_H */
