/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Personalised federated learning: what each node keeps for itself.
 *
 * Under strong label skew (each machine sees its own regime) one global
 * model serves every node's distribution badly.  Two remedies:
 *
 * FedPer (Arivazhagan et al. 2019)
 *     Some weight layers of the MLP (typically the last, the head) are
 *     personal: the node trains the whole network from the global body and
 *     its own head, sends the delta of the shared layers only and keeps
 *     its head.  Personal layers never leave the node; the global model is
 *     the shared body, the aggregator never sees (and never averages) a
 *     head.  On the wire an update is the shared parameters, in the order
 *     of the full vector with the personal ranges cut out (mcai_pers_pack).
 *
 * Ditto (Li et al. 2021)
 *     The federation trains the global model as without personalisation;
 *     besides, each node keeps a personal model v, trained on its own data
 *     with a proximal term towards the global model w it received:
 *         v <- v - lr (grad F_k(v) + lambda (v - w))
 *     lambda = 0 is local training, a large lambda the global model.  The
 *     personal model never leaves the node either; the step is the MLP
 *     trainer's own proximal step (models/train/mlp.h, prox_mu = lambda,
 *     prox_ref = w), so central, federated and personal training share
 *     one arithmetic.
 *
 * Layers are the MLP's weight layers 0..nl-1 (layer l = W_l and b_l,
 * contiguous in the parameter vector [W0 | b0 | W1 | b1 | ...]).
 */
#ifndef MCAI_PERSONAL_H
#define MCAI_PERSONAL_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"
#include "models/train/mlp.h"

enum mcai_pers_kind {
	MCAI_PERS_NONE,
	MCAI_PERS_FEDPER,
	MCAI_PERS_DITTO,
};

/* "none", "fedper", "ditto". */
const char *mcai_pers_kind_name(enum mcai_pers_kind k);
int mcai_pers_kind_parse(const char *name, enum mcai_pers_kind *k);

/*
 * Personal layers as a comma-separated list of weight-layer indices; a
 * negative index counts from the end, "head" is -1: "head", "-1,-2",
 * "1,2".  Bit l of *mask for layer l.  0 or -EINVAL (empty, out of range,
 * every layer: nothing would be shared).
 */
int mcai_pers_layers_parse(const char *spec, u32 n_layers, u32 *mask);

/* Where the personal layers sit in the parameter vector. */
struct mcai_pers_split {
	u32 n_params;			/* the whole model */
	u32 n_shared;			/* what goes on the wire */
	u32 n_ranges;
	struct {
		u32 off, len;
	} personal[MCAI_MLP_MAX_LAYERS];	/* ascending, disjoint */
};

/*
 * The split of an MLP of @n_dims sizes (layers n_dims - 1) with the
 * personal layers of @mask.  0 or -EINVAL (bad shape or mask).
 */
int mcai_pers_split_init(struct mcai_pers_split *s, const u32 *dims,
			 u32 n_dims, u32 mask);
/* Is parameter @i personal? */
bool mcai_pers_is_personal(const struct mcai_pers_split *s, u32 i);
/*
 * shared[0..n_shared) = full without the personal ranges.  @shared may be
 * @full (packed in place, towards the front).
 */
void mcai_pers_pack(const struct mcai_pers_split *s, const float *full,
		    float *shared);
/* The shared positions of @full from shared[0..n_shared); the rest stays. */
void mcai_pers_unpack(const struct mcai_pers_split *s, const float *shared,
		      float *full);
/* The personal positions of @to from @from (both n_params). */
void mcai_pers_copy_personal(const struct mcai_pers_split *s,
			     const float *from, float *to);

/*
 * Ditto's optimiser: @base (momentum, weight decay) with the proximal
 * term lambda (v - w) towards @global (n_params floats).
 */
struct mcai_mlp_opt mcai_pers_ditto_opt(const struct mcai_mlp_opt *base,
					float lambda, const float *global);

/*
 * Accuracy of a model on a node's own label distribution: the model's
 * per-class test accuracy correct[y] / total[y] weighted by the node's
 * label frequencies counts[y] (its training shard).  Classes without test
 * samples are left out (their weight too); 0 if nothing is left.
 */
double mcai_pers_weighted_acc(const u32 *correct, const u32 *total,
			      const u32 *counts, u32 classes);

/*
 * What a node keeps across rounds and restarts (runtime/daemon/
 * nodepers.h): FedPer's personal layers (the vector is the whole model,
 * only the personal ranges mean anything) or Ditto's personal model.
 * One file, replaced atomically (runtime/lib/atomicfile.h), so a crash
 * leaves the previous round's state or this one's, never a mix:
 *
 *   off size
 *     0    4  magic "MCPS" (0x5350434d little-endian)
 *     4    4  format 1
 *     8    4  kind (enum mcai_pers_kind, FEDPER or DITTO)
 *    12    4  mask (FedPer's personal layers; 0 for Ditto)
 *    16    4  n_params (1 .. MCAI_PERS_STATE_MAX_PARAMS)
 *    20    4  version: the global version the state was trained from
 *    24    8  round
 *    32   4n  n_params f32, little-endian
 *  32+4n  32  SHA-256 of everything before it
 */
#define MCAI_PERS_STATE_MAGIC		0x5350434dU
#define MCAI_PERS_STATE_MAX_PARAMS	(1U << 22)

struct mcai_pers_state {
	enum mcai_pers_kind kind;
	u32 mask;
	u32 n_params;
	u32 version;
	u64 round;
};

/* 0, or a negative errno with @err. */
int mcai_pers_state_save(const char *path, const struct mcai_pers_state *st,
			 const float *params, char *err, size_t errlen);
/*
 * *params malloc'ed (st->n_params floats).  -ENOENT when there is none,
 * -EBADMSG when it is not a state file or its digest fails (a torn or
 * altered file is refused, never half used), with @err.
 */
int mcai_pers_state_load(const char *path, struct mcai_pers_state *st,
			 float **params, char *err, size_t errlen);

#endif /* MCAI_PERSONAL_H */
