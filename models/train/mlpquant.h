/* SPDX-License-Identifier: GPL-2.0 */
/*
 * int8 quantisation of a float MLP (models/train/mlp.h) into a format v1 blob
 * (user space only).  mcai-train quantises the foundation model through
 * it and the federation quantises every aggregated model through it, so a
 * fleet's model and the centrally trained one run in the kernel by the
 * same rules.
 *
 * TFLite conventions, as models/engine/engine.c runs them:
 *   activations  asymmetric int8 over the range seen on calibration
 *                samples (mcai_qparams), input parameters given by caller
 *   weights      symmetric int8 per output row (mcai_quantize_rows)
 *   bias         int32 at scale in_scale * w_scale[o], zero point 0
 *   requant      Q31 multiplier + shift of in_scale * w_scale[o] / out_scale
 *   ReLU         fused on every layer but the last, as a clamp at the
 *                output zero point
 *
 * Usage:
 *
 *     struct mcai_mlpq q;
 *     mcai_mlpq_init(&q, net);
 *     mcai_mlpq_calibrate(&q, net, &data, idx, count);  (may repeat)
 *     mcai_mlpq_build(&q, net, &desc, err, sizeof(err));
 *     blob = mcai_blob_write(&q.spec, &size, err, sizeof(err));
 *     mcai_mlpq_free(&q);
 *
 * or mcai_mlpq_blob() for the whole sequence.  Deterministic: the same
 * network and samples give the same bytes.
 */
#ifndef MCAI_MLPQUANT_H
#define MCAI_MLPQUANT_H

#include <stddef.h>

#include "models/train/mlp.h"
#include "models/train/writer.h"

/* What the blob says about itself and how its input is quantised. */
struct mcai_mlpq_desc {
	const char *name;
	u32 version;
	u8 head;			/* enum mcai_head */
	s8 head_threshold;
	float input_scale;		/* the runtime's input quantisation */
	s8 input_zp;
	u32 tv_count;			/* test vectors, 0..; owned by caller */
	const s8 *tv_inputs;		/* tv_count * dim[0], already int8 */
};

struct mcai_mlpq {
	struct mcai_blob_spec spec;	/* ready for mcai_blob_write() */
	u32 nl;
	s8 *w[MCAI_MLP_MAX_LAYERS];	/* [out][in] */
	s32 *bias[MCAI_MLP_MAX_LAYERS];
	s32 *mult[MCAI_MLP_MAX_LAYERS];
	s32 *shift[MCAI_MLP_MAX_LAYERS];
	/* Activation parameters, [0] = input, [l] = output of layer l. */
	float scale[MCAI_MLP_MAX_LAYERS + 1];
	s8 zp[MCAI_MLP_MAX_LAYERS + 1];
	/* Calibration ranges (+inf..-inf until a sample is seen). */
	float lo[MCAI_MLP_MAX_LAYERS + 1], hi[MCAI_MLP_MAX_LAYERS + 1];
};

/* Empty ranges, nothing allocated. */
void mcai_mlpq_init(struct mcai_mlpq *q, const struct mcai_mlp *n);

/*
 * Widen the ranges with the activations of @n on idx[0..count) (or on
 * 0..count-1 when @idx is NULL).  Uses @n's activation buffers.
 */
void mcai_mlpq_calibrate(struct mcai_mlpq *q, struct mcai_mlp *n,
			 const struct mcai_mlp_data *d, const u32 *idx,
			 u32 count);

/*
 * Quantise @n with the calibrated ranges and fill q->spec.  0, -EINVAL
 * (a shape the format cannot hold) or -ENOMEM, with the reason in @err.
 */
int mcai_mlpq_build(struct mcai_mlpq *q, const struct mcai_mlp *n,
		    const struct mcai_mlpq_desc *desc, char *err,
		    size_t errlen);

void mcai_mlpq_free(struct mcai_mlpq *q);

/*
 * All of the above: calibrate on @calib samples of @d (idx as in
 * calibrate), build, write.  A malloc'd blob and its size, or NULL with
 * the reason in @err.
 */
u8 *mcai_mlpq_blob(struct mcai_mlp *n, const struct mcai_mlp_data *d,
		   const u32 *idx, u32 calib, const struct mcai_mlpq_desc *desc,
		   u32 *size, char *err, size_t errlen);

#endif /* MCAI_MLPQUANT_H */
