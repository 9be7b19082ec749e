// SPDX-License-Identifier: GPL-2.0
/*
 * int8 quantisation of a float MLP, see mlpquant.h.
 *
 * The shipped fmnist-mlp blob is reproduced byte for byte from its seed
 * through this file, so the arithmetic below (double accumulator scale,
 * lrint rounding of the bias, the weight transposition) is part of the
 * contract, as the float trainer's is.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/mlpquant.h"
#include "models/train/quant.h"

void mcai_mlpq_init(struct mcai_mlpq *q, const struct mcai_mlp *n)
{
	u32 l;

	memset(q, 0, sizeof(*q));
	q->nl = n->nl;
	for (l = 0; l <= MCAI_MLP_MAX_LAYERS; l++) {
		q->lo[l] = INFINITY;
		q->hi[l] = -INFINITY;
	}
}

void mcai_mlpq_calibrate(struct mcai_mlpq *q, struct mcai_mlp *n,
			 const struct mcai_mlp_data *d, const u32 *idx,
			 u32 count)
{
	u32 k, l, o, label;

	for (k = 0; k < count; k++) {
		d->get(d->ctx, idx ? idx[k] : k, n->act[0], &label);
		mcai_mlp_forward(n, n->act[0]);
		for (l = 1; l <= n->nl; l++)
			for (o = 0; o < n->dim[l]; o++) {
				float v = n->act[l][o];

				if (v < q->lo[l])
					q->lo[l] = v;
				if (v > q->hi[l])
					q->hi[l] = v;
			}
	}
}

int mcai_mlpq_build(struct mcai_mlpq *q, const struct mcai_mlp *n,
		    const struct mcai_mlpq_desc *desc, char *err,
		    size_t errlen)
{
	struct mcai_blob_spec *s = &q->spec;
	float *wscale = NULL, *w = NULL;
	u32 l, i, o, maxw = 0;

	if (n->nl > MCAI_BLOB_MAX_LAYERS || n->nl != q->nl) {
		snprintf(err, errlen, "%u layers: not the network calibrated",
			 n->nl);
		return -EINVAL;
	}
	for (l = 0; l <= n->nl; l++) {
		if (n->dim[l] > MCAI_MAX_DIM) {
			snprintf(err, errlen, "layer width %u above %u",
				 n->dim[l], MCAI_MAX_DIM);
			return -EINVAL;
		}
		if (n->dim[l] > maxw)
			maxw = n->dim[l];
	}
	for (l = 1; l <= n->nl; l++)
		if (!(q->lo[l] <= q->hi[l])) {
			snprintf(err, errlen, "layer %u was never calibrated", l);
			return -EINVAL;
		}

	memset(s, 0, sizeof(*s));
	s->name = desc->name;
	s->version = desc->version;
	s->head = desc->head;
	s->head_threshold = desc->head_threshold;
	s->n_layers = n->nl;
	q->scale[0] = desc->input_scale;
	q->zp[0] = desc->input_zp;
	for (l = 1; l <= n->nl; l++)
		mcai_qparams(q->lo[l], q->hi[l], &q->scale[l], &q->zp[l]);
	s->input_scale = q->scale[0];
	s->output_scale = q->scale[n->nl];

	wscale = calloc(maxw, sizeof(float));
	if (!wscale)
		goto nomem;
	for (l = 0; l < n->nl; l++) {
		const u32 nin = n->dim[l], nout = n->dim[l + 1];
		struct mcai_layer_spec *ls = &s->layer[l];
		const bool relu = l + 1 < n->nl;

		/* The trainer is input-major, the engine output-major. */
		w = calloc((size_t)nin * nout, sizeof(float));
		q->w[l] = calloc((size_t)nin * nout, 1);
		q->bias[l] = calloc(nout, sizeof(s32));
		q->mult[l] = calloc(nout, sizeof(s32));
		q->shift[l] = calloc(nout, sizeof(s32));
		if (!w || !q->w[l] || !q->bias[l] || !q->mult[l] ||
		    !q->shift[l])
			goto nomem;
		for (o = 0; o < nout; o++)
			for (i = 0; i < nin; i++)
				w[(size_t)o * nin + i] = n->w[l][(size_t)i * nout + o];
		mcai_quantize_rows(w, nout, nin, q->w[l], wscale);
		free(w);
		w = NULL;
		for (o = 0; o < nout; o++) {
			double acc_scale = (double)q->scale[l] * wscale[o];

			q->bias[l][o] = mcai_round_s32(n->b[l][o] / acc_scale);
			mcai_quantize_multiplier(acc_scale / q->scale[l + 1],
						 &q->mult[l][o], &q->shift[l][o]);
		}
		ls->type = MCAI_LAYER_FC;
		ls->activation = relu ? MCAI_ACT_RELU : MCAI_ACT_NONE;
		ls->in_zp = q->zp[l];
		ls->out_zp = q->zp[l + 1];
		ls->clamp_min = relu ? q->zp[l + 1] : -128;
		ls->clamp_max = 127;
		ls->in_len = nin;
		ls->out_len = nout;
		ls->weights = q->w[l];
		ls->bias = q->bias[l];
		ls->mult = q->mult[l];
		ls->shift = q->shift[l];
	}
	free(wscale);
	s->tv_count = desc->tv_count;
	s->tv_inputs = desc->tv_inputs;
	return 0;
nomem:
	free(w);
	free(wscale);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

void mcai_mlpq_free(struct mcai_mlpq *q)
{
	u32 l;

	for (l = 0; l < MCAI_MLP_MAX_LAYERS; l++) {
		free(q->w[l]);
		free(q->bias[l]);
		free(q->mult[l]);
		free(q->shift[l]);
		q->w[l] = NULL;
		q->bias[l] = q->mult[l] = q->shift[l] = NULL;
	}
}

u8 *mcai_mlpq_blob(struct mcai_mlp *n, const struct mcai_mlp_data *d,
		   const u32 *idx, u32 calib, const struct mcai_mlpq_desc *desc,
		   u32 *size, char *err, size_t errlen)
{
	struct mcai_mlpq q;
	u8 *blob = NULL;

	mcai_mlpq_init(&q, n);
	mcai_mlpq_calibrate(&q, n, d, idx, calib);
	if (!mcai_mlpq_build(&q, n, desc, err, errlen))
		blob = mcai_blob_write(&q.spec, size, err, errlen);
	mcai_mlpq_free(&q);
	return blob;
}
