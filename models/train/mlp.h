/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Float multi-layer perceptron trainer (user space only): the float master
 * copy of every fully-connected model mcai ships.  mcai-train, mcai-vibtrain
 * and the federated clients of mcaid all train through it, so a model
 * trained centrally and one trained by the fleet follow the same arithmetic.
 *
 * Network: dim[0] inputs, nl fully-connected layers, ReLU after every layer
 * but the last, whose outputs are logits.  Two heads:
 *   MCAI_MLP_SOFTMAX  softmax + cross-entropy, prediction = argmax
 *   MCAI_MLP_SIGMOID  one output, sigmoid + binary cross-entropy,
 *                     prediction = logit >= 0
 *
 * Parameters live in one float vector, the federated master copy:
 *
 *   [ W0 | b0 | W1 | b1 | ... ]     W_l is [dim[l]][dim[l+1]] (input-major)
 *
 * Input-major rows let the forward pass and the weight gradient skip the
 * zero inputs (background pixels, inactive ReLUs).
 *
 * Optimiser, per mini-batch of B samples with gradient sum g:
 *   weights  v = momentum v - lr (g / B + wd w + mu (w - w_ref)); w += v
 *   biases   v = momentum v - lr (g / B + mu (b - b_ref));        b += v
 * mu (FedProx) is skipped entirely when 0, so a plain run performs exactly
 * the operations above without the proximal part.
 *
 * Deterministic: one thread, splitmix64, a fixed order of every floating
 * point operation.  A network is not reentrant: it owns its activations.
 */
#ifndef MCAI_MLP_H
#define MCAI_MLP_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"

#define MCAI_MLP_MAX_LAYERS	4		/* weight layers */
#define MCAI_MLP_MAX_DIM	65536

enum mcai_mlp_head {
	MCAI_MLP_SOFTMAX,
	MCAI_MLP_SIGMOID,
};

/*
 * Order in which the initial weights are drawn from the generator.  Both
 * give the same distribution; they exist because each shipped model was
 * first trained with one of them and must stay reproducible.
 */
enum mcai_mlp_draw {
	MCAI_MLP_DRAW_BY_INPUT,		/* W[i][o], i outer (fmnist-mlp) */
	MCAI_MLP_DRAW_BY_OUTPUT,	/* W[i][o], o outer (vib-*) */
};

struct mcai_mlp {
	u32 nl;					/* weight layers */
	u32 dim[MCAI_MLP_MAX_LAYERS + 1];
	enum mcai_mlp_head head;
	size_t n_params;
	float *params;				/* the layout above */
	float *w[MCAI_MLP_MAX_LAYERS];		/* views into params */
	float *b[MCAI_MLP_MAX_LAYERS];
	float *grad;				/* batch gradient sum */
	float *vel;				/* momentum */
	float *act[MCAI_MLP_MAX_LAYERS + 1];	/* act[0] = input */
	float *delta[MCAI_MLP_MAX_LAYERS + 1];
};

struct mcai_mlp_opt {
	float momentum;
	float weight_decay;		/* weights only, never biases */
	float prox_mu;			/* FedProx; 0 = off */
	const float *prox_ref;		/* n_params, needed when prox_mu > 0 */
};

/*
 * Where samples come from: get() writes dim[0] floats to @x and the class
 * (for MCAI_MLP_SIGMOID: 0 or 1) to @label.  The index is whatever the
 * caller put in its index list, so a client can train on its shard.
 */
struct mcai_mlp_data {
	void (*get)(void *ctx, u32 index, float *x, u32 *label);
	void *ctx;
};

/* Learning rate: cosine decay from lr to 0 over total steps (0: constant). */
struct mcai_mlp_sched {
	float lr;
	u64 step;			/* advanced by every SGD step */
	u64 total;
};

struct mcai_mlp_stats {
	double loss;			/* sum over the samples seen */
	u32 correct;			/* predictions before each step */
	u32 seen;
};

/* splitmix64 and a uniform float in [0, 1) with 24 bits. */
u64 mcai_mlp_rand(u64 *state);
float mcai_mlp_randf(u64 *state);
/* Uniform in [0, n), n > 0, without modulo bias. */
u32 mcai_mlp_below(u64 *state, u32 n);

/*
 * @n_dims = layers + 1 sizes, each 1..MCAI_MLP_MAX_DIM; SIGMOID needs one
 * output.  Parameters start at zero.  NULL on a bad shape or no memory.
 */
struct mcai_mlp *mcai_mlp_create(const u32 *dims, u32 n_dims,
				 enum mcai_mlp_head head);
void mcai_mlp_free(struct mcai_mlp *n);

/*
 * Uniform weights drawn from @rng (a splitmix64 state, advanced): He
 * bound sqrt(6 / in) for the ReLU layers, Glorot sqrt(6 / (in + out)) for
 * the logits.  Biases zero, momentum cleared.
 */
void mcai_mlp_init(struct mcai_mlp *n, enum mcai_mlp_draw order, u64 *rng);

/* The parameter vector (n->n_params floats) out and in. */
void mcai_mlp_get_params(const struct mcai_mlp *n, float *out);
void mcai_mlp_set_params(struct mcai_mlp *n, const float *in);
/* out = params - base: a client's update against the model it started from. */
void mcai_mlp_delta(const struct mcai_mlp *n, const float *base, float *out);
/* Forget momentum and pending gradients, e.g. at the start of a round. */
void mcai_mlp_reset_opt(struct mcai_mlp *n);

/* Forward pass of @x; returns the logits (n->act[n->nl], dim[nl] floats). */
const float *mcai_mlp_forward(struct mcai_mlp *n, const float *x);
/* Class of the logits just computed by mcai_mlp_forward(). */
u32 mcai_mlp_decide(const struct mcai_mlp *n);
u32 mcai_mlp_predict(struct mcai_mlp *n, const float *x);

/*
 * One sample: forward, loss, backward, gradient added to n->grad.  Returns
 * the loss; *correct is bumped when the prediction was right.
 */
double mcai_mlp_accumulate(struct mcai_mlp *n, const float *x, u32 label,
			   u32 *correct);
/* One SGD step with the accumulated gradient of @batch samples; clears it. */
void mcai_mlp_step(struct mcai_mlp *n, const struct mcai_mlp_opt *o, float lr,
		   u32 batch);

/* Learning rate of the current step of @s. */
float mcai_mlp_lr(const struct mcai_mlp_sched *s);

/*
 * One mini-batch over idx[0..count) then one step at the schedule's rate
 * (the step is counted).  @st may be NULL.
 */
void mcai_mlp_train_batch(struct mcai_mlp *n, const struct mcai_mlp_opt *o,
			  struct mcai_mlp_sched *s,
			  const struct mcai_mlp_data *d, const u32 *idx,
			  u32 count, struct mcai_mlp_stats *st);

/*
 * One epoch over idx[0..count) in mini-batches of @batch.  With @rng the
 * list is first shuffled in place (Fisher-Yates, mcai_mlp_below()); with
 * NULL it is taken in the given order.  @st may be NULL; it is added to.
 */
void mcai_mlp_train_epoch(struct mcai_mlp *n, const struct mcai_mlp_opt *o,
			  struct mcai_mlp_sched *s,
			  const struct mcai_mlp_data *d, u32 *idx, u32 count,
			  u32 batch, u64 *rng, struct mcai_mlp_stats *st);

/* Correct predictions over idx[0..count), or over 0..count-1 if idx is NULL. */
u32 mcai_mlp_evaluate(struct mcai_mlp *n, const struct mcai_mlp_data *d,
		      const u32 *idx, u32 count);

#endif /* MCAI_MLP_H */
