/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A float dense autoencoder trainer (user space only): mean squared
 * reconstruction error, Adam, ReLU after every layer but the last, which
 * is linear, as the MLPerf Tiny anomaly-detection reference
 * (mlcommons/tiny, anomaly_detection/keras_model.py) with its batch
 * normalisations left out: in inference each folds into the dense layer
 * before it, so the network that runs is the same shape.
 *
 * Deterministic: one thread, splitmix64, a fixed order of every floating
 * point operation (each output sums its inputs in index order).
 */
#ifndef MCAI_AUTOENCODER_H
#define MCAI_AUTOENCODER_H

#include "models/engine/port.h"

#define MCAI_AE_MAX_LAYERS	12

struct mcai_ae {
	u32 nl;
	u32 dim[MCAI_AE_MAX_LAYERS + 1];
	u32 batch;				/* most samples a step */
	float *w[MCAI_AE_MAX_LAYERS];		/* [in][out] */
	float *wt[MCAI_AE_MAX_LAYERS];		/* [out][in], kept in step */
	float *b[MCAI_AE_MAX_LAYERS];
	float *gw[MCAI_AE_MAX_LAYERS], *gb[MCAI_AE_MAX_LAYERS];
	float *mw[MCAI_AE_MAX_LAYERS], *vw[MCAI_AE_MAX_LAYERS];
	float *mb[MCAI_AE_MAX_LAYERS], *vb[MCAI_AE_MAX_LAYERS];
	float *act[MCAI_AE_MAX_LAYERS + 1];	/* [batch][dim] */
	float *delta[MCAI_AE_MAX_LAYERS + 1];
	u64 t;					/* Adam steps taken */
};

/*
 * @n_dims sizes (layers + 1), at most @batch samples a step.  Weights
 * drawn from @rng: He-uniform for the ReLU layers, Glorot-uniform for
 * the last (Keras' default); biases 0.  NULL on a bad shape.
 */
struct mcai_ae *mcai_ae_create(const u32 *dims, u32 n_dims, u32 batch,
			       u64 *rng);
void mcai_ae_free(struct mcai_ae *a);

/*
 * One epoch over x[idx[k] * dim[0]], k < count, shuffled first with
 * @rng, in steps of a->batch at learning rate @lr (Adam's defaults
 * otherwise).  Returns the mean squared error seen during the epoch.
 */
double mcai_ae_epoch(struct mcai_ae *a, const float *x, u32 *idx, u32 count,
		     float lr, u64 *rng);

/* Reconstruction of one sample into @y[dim[nl]]; returns its MSE. */
double mcai_ae_run(struct mcai_ae *a, const float *x, float *y);

#endif /* MCAI_AUTOENCODER_H */
