/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-process federated learning simulator: the evaluation engine of the
 * aggregation strategies and the poisoning defences.
 *
 * One process plays the aggregator and every client, with the code the
 * fleet runs: clients train the float master copy through models/train/mlp.h
 * (SGD, momentum, FedProx term) and send deltas; the server combines them
 * with runtime/fed/strategy.h, optionally after anomaly scoring and
 * quarantine (runtime/fed/anomaly.h); each evaluated model is quantised by
 * models/train/mlpquant.h, written as a blob, passed through the verifier with
 * the kernel's default limits and run by models/engine/engine.c on the test set:
 * the int8 accuracy is what /dev/mcai would deliver.
 *
 * A run:
 *   split      the training images over @clients: IID (shuffled, equal
 *              shards) or non-IID (per class, proportions drawn from a
 *              symmetric Dirichlet(alpha), redrawn until every client has
 *              min_shard images; Hsu et al. 2019)
 *   round r    sample max(min_clients, round(fraction * available))
 *              clients that are neither dead nor quarantined; a
 *              @dropout fraction of them never answers; at @kill_round a
 *              @kill_fraction of all clients dies for good (sampled ones
 *              included, so that round loses them mid-way); each answering
 *              client trains local_epochs over its shard from the current
 *              model and returns the delta; the round closes with whoever
 *              answered if at least min_clients did, else the model is
 *              left as it was.
 *   attacks    a @malicious fraction of the clients (drawn from the seed)
 *              is hostile from the first round on:
 *                sign-flip    sends -k * delta of an honest training
 *                scaling      model replacement (Bagdasaryan et al. 2020):
 *                             trains on flipped labels, boosts the delta
 *                             by n / eta (n = clients sampled this round,
 *                             eta = 1, FedAvg's server rate) so that the
 *                             average lands on its model
 *                noise        Gaussian direction, norm of its honest delta
 *                label-flip   trains on labels y -> classes - 1 - y
 *   personal   (runtime/fed/personal.h) FedPer: the layers of @pers_mask
 *              stay on each client (its own copy, from the initial
 *              model), the clients send and the server averages only the
 *              shared ones; Ditto: each sampled client also trains its
 *              personal model for local_epochs towards the round's global
 *              model (proximal lambda).  After the last round every
 *              client's model (FedPer: global body + its head; Ditto: its
 *              personal model) and the global model are measured on the
 *              client's own label distribution: int8 per-class test
 *              accuracy weighted by the client's training label counts.
 *   defences   the strategy (fedavg, median, trimmed mean, Multi-Krum...),
 *              clipping to a fixed bound or to the round's median norm,
 *              and anomaly scoring: flagged updates are dropped from the
 *              round, repeat offenders quarantined.
 *
 * The centralised baseline trains the same network from the same initial
 * weights on all the training images with the same optimiser settings,
 * and sees as many samples between two evaluations as an average round of
 * the federation trains on: round(fraction * images * local_epochs).
 *
 * Deterministic: every random choice comes from splitmix64 streams derived
 * from the seed, the round and the client; the result does not depend on
 * the machine's load or on how many runs share the process (no global
 * state: runs may go in parallel threads).
 */
#ifndef MCAI_FEDSIM_H
#define MCAI_FEDSIM_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"
#include "runtime/fed/anomaly.h"
#include "runtime/fed/compress.h"
#include "runtime/fed/personal.h"
#include "runtime/fed/strategy.h"

#define MCAI_FEDSIM_MAX_HIDDEN	2

/*
 * Labelled u8 images (e.g. Fashion-MNIST as models/train/dataset.h loads it);
 * the network sees pixel / 255, the int8 model pixel - 128.
 */
struct mcai_fedsim_data {
	const u8 *train_images, *train_labels;
	u32 train_count;
	const u8 *test_images, *test_labels;
	u32 test_count;
	u32 input_len;			/* bytes per image */
	u32 classes;			/* labels are 0..classes-1 */
};

enum mcai_attack {
	MCAI_ATTACK_NONE,
	MCAI_ATTACK_SIGN_FLIP,
	MCAI_ATTACK_SCALING,
	MCAI_ATTACK_NOISE,
	MCAI_ATTACK_LABEL_FLIP,
};

enum mcai_fedsim_clip {
	MCAI_CLIP_NONE,
	MCAI_CLIP_FIXED,		/* agg.clip_norm */
	MCAI_CLIP_MEDIAN,		/* the round's median update norm */
	MCAI_CLIP_ADAPTIVE,		/* tracks a quantile (dp.h), from
					 * agg.clip_norm or 0.1 */
};

struct mcai_fedsim_config {
	/* model */
	u32 hidden[MCAI_FEDSIM_MAX_HIDDEN];
	u32 n_hidden;
	/* population and rounds */
	u32 clients;
	float alpha;			/* 0: IID, > 0: Dirichlet label split */
	u32 min_shard;			/* non-IID: fewest images per client */
	u32 rounds;
	float fraction;			/* of the available clients, (0, 1] */
	u32 min_clients;
	float dropout;			/* of the sampled, per round, [0, 1) */
	u32 kill_round;			/* 1-based; 0: nobody dies */
	float kill_fraction;		/* of all clients, at kill_round */
	/* local training */
	u32 local_epochs;
	u32 batch;
	float lr;			/* cosine decay over the rounds */
	float momentum;
	float weight_decay;
	float prox_mu;			/* FedProx; 0 = off */
	/* server */
	struct mcai_agg_config agg;
	enum mcai_fedsim_clip clip;
	float clip_quantile;		/* MCAI_CLIP_ADAPTIVE: (0, 1) */
	/* what the clients send (runtime/fed/compress.h) */
	struct mcai_comp_config comp;
	bool error_feedback;		/* each client keeps its residual */
	/*
	 * mcaid's int8 secure-aggregation rounds (compress.h, "With secure
	 * aggregation"): each client's weighted update in int8 of the
	 * round's common range (twice the previous mean's largest
	 * coordinate; the first round floats), summed as the ring would;
	 * 2 bytes a parameter.  Instead of comp.
	 */
	bool sa_int8;
	/* personalisation (runtime/fed/personal.h) */
	enum mcai_pers_kind personalise;
	u32 pers_mask;			/* FedPer: personal layers, bit l */
	float ditto_lambda;		/* Ditto: proximal term, >= 0 */
	bool node_eval;			/* per-client accuracy at the end
					 * (implied by personalise) */
	bool anomaly;			/* score, drop flagged, quarantine */
	struct mcai_anomaly_config acfg;
	/* adversaries */
	enum mcai_attack attack;
	float malicious;		/* fraction of the clients, [0, 1) */
	float attack_k;			/* sign-flip factor */
	/* evaluation */
	u32 calib;			/* first training images, for ranges */
	u32 eval_every;			/* 0: only after the last round */
	bool float_eval;		/* also the float accuracy */
	u64 seed;
};

/* What a round did and, when evaluated, how good the model is. */
struct mcai_fedsim_round {
	u32 round;			/* 1-based */
	u32 sampled, answered, dead;	/* dead: clients gone for good */
	u32 malicious;			/* hostile among the answering */
	u32 rejected;			/* non-finite updates, refused */
	u32 flagged, flagged_malicious;	/* anomaly scoring */
	u32 quarantined;		/* total so far */
	u32 clipped, used;		/* strategy report */
	double clip_norm;		/* MCAI_CLIP_ADAPTIVE: bound used */
	u64 bytes_up;			/* updates on the wire, this round */
	bool applied;			/* false: too few answers, unchanged */
	u64 samples;			/* trained on by the answering */
	bool evaluated;
	bool broken;			/* no valid int8 blob: accuracy 0 */
	double int8_acc, float_acc;	/* of the model after this round */
	double secs;			/* wall time of the round */
};

/* A run's outcome, rounds[0..n_rounds). */
struct mcai_fedsim_result {
	struct mcai_fedsim_round *rounds;
	u32 n_rounds;
	u32 n_malicious;		/* hostile clients in the population */
	u32 shard_min, shard_max;	/* images per client */
	u32 blob_bytes;			/* of the last quantised model */
	u32 n_params;			/* of the float model */
	u32 n_wire;			/* parameters in an update */
	double global_norm;		/* L2 norm of the final global model */
	/*
	 * node_eval or personalise: per client, the accuracy on its own
	 * label distribution of the global model and (personalise) of its
	 * personal model; clients[0..n_clients).  node_untrained: clients
	 * never sampled, whose personal model is the starting one.
	 */
	double *node_global_acc, *node_pers_acc;
	u32 n_clients, node_untrained;
};

/* Called after each round (may be NULL). */
typedef void (*mcai_fedsim_progress)(void *ctx,
				     const struct mcai_fedsim_round *r);

/*
 * Defaults: 784-128-10 (hidden 128), 20 clients, IID, min_shard 20, 30
 * rounds, fraction 0.5, min_clients 2, one local epoch, batch 32, lr 0.05,
 * momentum 0.9, weight decay 1e-4, FedAvg, anomaly defaults, sign-flip
 * k 5, calib 2000, evaluated every round, float too, seed 1.
 */
void mcai_fedsim_config_default(struct mcai_fedsim_config *c);
/* 0 or -EINVAL with the reason in @why. */
int mcai_fedsim_config_check(const struct mcai_fedsim_config *c,
			     const struct mcai_fedsim_data *d, char *why,
			     size_t why_len);

/* "none", "sign-flip", "scaling", "noise", "label-flip". */
const char *mcai_attack_name(enum mcai_attack a);
int mcai_attack_parse(const char *name, enum mcai_attack *a);

/*
 * Run the federation.  @res->rounds is allocated (mcai_fedsim_result_free).
 * 0, -EINVAL or -ENOMEM with the reason in @why.
 */
int mcai_fedsim_run(const struct mcai_fedsim_config *c,
		    const struct mcai_fedsim_data *d,
		    struct mcai_fedsim_result *res, mcai_fedsim_progress cb,
		    void *cb_ctx, char *why, size_t why_len);

/* The centralised baseline with the same budget per round, same result. */
int mcai_fedsim_central(const struct mcai_fedsim_config *c,
			const struct mcai_fedsim_data *d,
			struct mcai_fedsim_result *res,
			mcai_fedsim_progress cb, void *cb_ctx, char *why,
			size_t why_len);

void mcai_fedsim_result_free(struct mcai_fedsim_result *res);

/* ---- Building blocks ------------------------------------------------- */

/*
 * Split @count labelled samples over @clients: shard[c] (malloc'd, free
 * each and the array with mcai_fedsim_shards_free) holds len[c] indices.
 * alpha 0: IID.  0, -EINVAL (cannot give everyone min_shard) or -ENOMEM.
 */
int mcai_fedsim_split(const u8 *labels, u32 count, u32 classes,
		      u32 clients, float alpha, u32 min_shard, u64 seed,
		      u32 ***shard, u32 **len);
void mcai_fedsim_shards_free(u32 **shard, u32 *len, u32 clients);

/* Gamma(shape, 1) and standard normal variates from a splitmix64 state. */
double mcai_gamma(u64 *rng, double shape);
double mcai_normal(u64 *rng);

/*
 * int8 test accuracy of @blob: verified with the default (kernel) limits,
 * its test vectors checked, every test image run through the engine.
 * Correct answers in @correct; 0, -EINVAL (rejected) or -ENOMEM.
 */
int mcai_fedsim_eval_blob(const u8 *blob, u32 size,
			  const struct mcai_fedsim_data *d, u32 *correct,
			  char *why, size_t why_len);
/* The same, with the correct answers per class in @per_class (classes). */
int mcai_fedsim_eval_blob_classes(const u8 *blob, u32 size,
				  const struct mcai_fedsim_data *d,
				  u32 *correct, u32 *per_class, char *why,
				  size_t why_len);

#endif /* MCAI_FEDSIM_H */
