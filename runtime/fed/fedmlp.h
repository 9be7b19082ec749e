/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shape of a federated model, read from its blob, and what the node
 * and the aggregator do with it (user space only).
 *
 * The federation trains a float MLP (models/train/mlp.h) and publishes its
 * int8 blob (models/train/mlpquant.h).  Which MLP is not a constant of the
 * daemon: it is whatever format-v1 blob of fully-connected layers the
 * registry holds — the Fashion-MNIST MLP (784-H-10, argmax), the
 * vibration chain's classifier (42-32-4, argmax) or detector (42-32-1,
 * threshold) — so its input length, layer widths, head and input
 * quantisation are read from the blob (mcai_fedmlp_shape_of()) and the
 * float parameter vector must have exactly the count they imply.
 *
 * Training data of any shape are int8 vectors in the model's input
 * quantisation (what the module saw, what the sample store holds), fed to
 * the float trainer as x = (q - zp) / D with D = 1 / in_scale (the
 * integer k of a scale 1/k): for the two shipped input quantisations
 * that is bit for bit what their trainers compute (pixel / 255.0f,
 * q / 32.0f), so a model the fleet
 * trains on mirrored samples follows the arithmetic it was made with.
 *
 * Labels: an argmax model takes classes 0..outputs-1; a threshold model
 * (one sigmoid output) takes 0 and 1, and a class label above 1 counts as
 * 1 (the vibration chain's classes: 0 is "normal", every other one a
 * fault, the detector's positive), so the classifier's labels, an
 * operator's or the bigger model's, train the detector as well.
 */
#ifndef MCAI_FEDMLP_H
#define MCAI_FEDMLP_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/model.h"
#include "models/train/mlp.h"

struct mcai_fedmlp_shape {
	u32 n_dims;			/* weight layers + 1 */
	u32 dim[MCAI_MLP_MAX_LAYERS + 1];
	enum mcai_mlp_head head;	/* SIGMOID for a threshold head */
	u8 blob_head;			/* enum mcai_head */
	s8 head_threshold;		/* the blob's, int8 output units */
	float out_scale;		/* the blob's output quantisation */
	s8 out_zp;
	float in_scale;			/* the blob's input quantisation */
	s8 in_zp;
	u32 classes;			/* labels the trainer takes, see above */
};

/*
 * The shape of a verified model @m: format 1 (no graph), 1..MCAI_MLP_MAX_LAYERS
 * fully-connected layers, ReLU on all but the last (none there), an
 * argmax head or a threshold head over one output.  0, or -EINVAL with
 * the reason in @err.
 */
int mcai_fedmlp_shape_of(struct mcai_fedmlp_shape *s,
			 const struct mcai_model *m, char *err, size_t errlen);

/* Float parameters of the shape (mlp.h's layout), 0 on overflow. */
u32 mcai_fedmlp_n_params(const struct mcai_fedmlp_shape *s);

/* Same layers, head and input quantisation. */
bool mcai_fedmlp_same(const struct mcai_fedmlp_shape *a,
		      const struct mcai_fedmlp_shape *b);

/* "42-32-4 argmax, input 1/32 zp 0" into @buf. */
const char *mcai_fedmlp_describe(const struct mcai_fedmlp_shape *s,
				 char *buf, size_t len);

/* The float network of @s, parameters zero; NULL without memory. */
struct mcai_mlp *mcai_fedmlp_create(const struct mcai_fedmlp_shape *s);

/*
 * The float parameters an int8 blob stands for (mlp.h's layout, @s's
 * count): w = q * ws[o], b = bias * in_scale * ws[o], where each layer's
 * per-row weight scale follows from its requantisation multiplier
 * (mult * 2^shift / 2^31 = in_scale * ws[o] / out_scale).  A hidden
 * layer's own scale is not in the blob; ReLU commutes with a positive
 * factor, so any choice gives the same function, and the one taken
 * balances the largest weight of the layers on either side of it (the
 * network mcai-train would have produced up to rounding).  Seeds a
 * registry from a shipped model.  0 or -EINVAL with @err.
 */
int mcai_fedmlp_dequantise(const struct mcai_model *m,
			   const struct mcai_fedmlp_shape *s, float *params,
			   char *err, size_t errlen);

/*
 * Training samples: @count int8 vectors of the model's input length and
 * their labels, the getter an mcai_mlp_data over them (see above).
 */
struct mcai_fedmlp_data {
	const s8 *inputs;		/* count * len */
	const u8 *labels;		/* count */
	u32 count, len;
	float div;			/* 1 / in_scale, see above */
	s8 zp;
	bool binary;			/* a threshold model: label != 0 */
};

void mcai_fedmlp_data_init(struct mcai_fedmlp_data *d,
			   const struct mcai_fedmlp_shape *s, const s8 *inputs,
			   const u8 *labels, u32 count);
void mcai_fedmlp_get(void *ctx, u32 index, float *x, u32 *label);

/*
 * Quantise @n (of shape @s) into a blob named @name, @version: calibrated
 * on @calib samples of @d (idx as mcai_mlpq_calibrate()), the input
 * quantisation and head of @s; a threshold head keeps its float logit
 * threshold (the old blob's, in the new output quantisation).  @tv_count
 * test vectors of @tv (int8, s->dim[0] each) may be given.  A malloc'd
 * blob and its size, or NULL with @err.
 */
u8 *mcai_fedmlp_blob(struct mcai_mlp *n, const struct mcai_fedmlp_shape *s,
		     const struct mcai_mlp_data *d, const u32 *idx, u32 calib,
		     const char *name, u32 version, const s8 *tv,
		     u32 tv_count, u32 *size, char *err, size_t errlen);

#endif /* MCAI_FEDMLP_H */
