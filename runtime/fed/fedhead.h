/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Federating an imported model: a v2 graph blob split into a frozen int8
 * body and a trainable float head (user space only).
 *
 * The head is the graph's trailing chain of fully connected layers (the
 * last N, or all of them), optionally followed by a softmax; everything
 * before it is the body, which never changes.  The body runs in the int8
 * engine (models/engine/graph.h) to produce each sample's features once;
 * the head is dequantised into the float MLP trainer's parameter layout
 * (models/train/mlp.h: [W0 | b0 | W1 | b1 ...], W input-major), trained
 * there, and requantised into a complete new blob by the importer's rules
 * (models/import/onnx_lower.c: symmetric per-channel int8 weights, scale
 * max|w| / 127; int32 biases at input scale x weight scale; Q31
 * multipliers; activations asymmetric over a calibrated [min, max]).
 *
 * The new blob is the old one with only the head's bytes rewritten in
 * place (weights, biases, their scales, the head's activation scales and
 * zero points, the head ops' parameters), the model version, the test
 * vectors' expected outputs (recomputed by the interpreter) and the
 * digest: the layout does not move, and every byte that describes the
 * body is checked unchanged before the blob is returned.  The verifier
 * then checks the result as it checks any blob.
 *
 * Why a trailing FC chain only: the float trainer is an MLP (ReLU between
 * layers, logits last), and the engine's FC with a ReLU clamp at the zero
 * point is exactly its int8 counterpart, so the float head and the int8
 * head compute the same function up to quantisation.  Anything else
 * (a conv in the head, a clamp other than ReLU, a layer read by two ops)
 * is refused by name.
 */
#ifndef MCAI_FEDHEAD_H
#define MCAI_FEDHEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/graph.h"
#include "models/train/mlp.h"

#define MCAI_FEDHEAD_MAX_FC	MCAI_MLP_MAX_LAYERS

struct mcai_fedhead {
	u8 *blob;			/* a private copy of the original */
	u32 size;
	void *state;
	struct mcai_graph g;		/* verified, decoded */
	u32 first_op;			/* ops [first_op, n_ops) are the head */
	u32 n_fc;
	u32 fc_op[MCAI_FEDHEAD_MAX_FC];
	s32 softmax_op;			/* -1: the head ends in logits */
	u32 cut;			/* tensor: the body's output */
	u32 dims[MCAI_FEDHEAD_MAX_FC + 1];	/* features, then each FC's outputs */
	float in_scale;			/* of the cut tensor */
	s32 in_zp;
	size_t n_params;		/* of the float head */
};

/*
 * Verify @blob (format v2, the widest limits) and split it before its
 * last @trainable FC layers (0: every trailing FC layer).  0, or -1 with
 * the reason in @err (the verifier's, or which op stops the head).
 */
int mcai_fedhead_open(struct mcai_fedhead *h, const u8 *blob, u32 size,
		   u32 trainable, char *err, size_t errlen);
void mcai_fedhead_close(struct mcai_fedhead *h);

/* A float MLP of the head's shape (softmax + cross-entropy), or NULL. */
struct mcai_mlp *mcai_fedhead_mlp(const struct mcai_fedhead *h);

/* The head's parameters, dequantised, in the MLP's layout (n_params). */
void mcai_fedhead_get_params(const struct mcai_fedhead *h, float *params);

/*
 * The body's int8 output (dims[0] bytes) for one int8 input (the graph's
 * single input tensor's bytes), computed by the engine's kernels in
 * @arena (g.arena_size bytes, 8-byte aligned).
 */
void mcai_fedhead_features(const struct mcai_fedhead *h, void *arena,
			const s8 *input, s8 *feat);
/* Features as the float head sees them: (q - zp) * scale. */
void mcai_fedhead_dequant(const struct mcai_fedhead *h, const s8 *feat, float *x);

/*
 * A new blob (malloc'd, verified, @size set) with the head requantised
 * from @params and model version @version.  With @calib (n_calib
 * samples of dims[0] dequantised features) each head activation's scale
 * and zero point come from its [min, max] over them, as the importer
 * calibrates; with NULL the original blob's activation quantisation is
 * kept (so unchanged parameters give the original blob back).  NULL with
 * the reason in @err: non-finite parameters or ranges, or a result the
 * verifier or the body check refuses.
 */
u8 *mcai_fedhead_requantise(const struct mcai_fedhead *h, const float *params,
			 const float *calib, u32 n_calib, u32 version,
			 u32 *size, char *err, size_t errlen);

/*
 * Whether every byte of @blob that describes the body (header but the
 * model version, io, op records, the body ops' parameters, the body's
 * tensors and constants, the test vectors' inputs) equals the original;
 * false with the first differing offset in @where.
 */
bool mcai_fedhead_body_same(const struct mcai_fedhead *h, const u8 *blob,
			 u32 size, u32 *where);

#endif /* MCAI_FEDHEAD_H */
