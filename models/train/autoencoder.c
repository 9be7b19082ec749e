// SPDX-License-Identifier: GPL-2.0
/*
 * Dense autoencoder trainer (autoencoder.h).  Every inner loop runs along
 * an output row (w [in][out] forward, wt [out][in] backward), which the
 * compiler vectorises without changing any sum's order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/autoencoder.h"
#include "models/train/cli.h"
#include "models/train/mlp.h"

struct mcai_ae *mcai_ae_create(const u32 *dims, u32 n_dims, u32 batch,
			       u64 *rng)
{
	struct mcai_ae *a;
	u32 l, i;

	if (n_dims < 2 || n_dims > MCAI_AE_MAX_LAYERS + 1 || !batch)
		return NULL;
	a = mcai_xcalloc(1, sizeof(*a));
	a->nl = n_dims - 1;
	a->batch = batch;
	memcpy(a->dim, dims, n_dims * sizeof(u32));
	for (l = 0; l <= a->nl; l++) {
		a->act[l] = mcai_xcalloc((size_t)batch * dims[l], sizeof(float));
		a->delta[l] = mcai_xcalloc((size_t)batch * dims[l], sizeof(float));
	}
	for (l = 0; l < a->nl; l++) {
		size_t n = (size_t)dims[l] * dims[l + 1];
		double bound = l + 1 < a->nl ? sqrt(6.0 / dims[l]) :
			       sqrt(6.0 / (dims[l] + dims[l + 1]));

		a->w[l] = mcai_xcalloc(n, sizeof(float));
		a->wt[l] = mcai_xcalloc(n, sizeof(float));
		a->gw[l] = mcai_xcalloc(n, sizeof(float));
		a->mw[l] = mcai_xcalloc(n, sizeof(float));
		a->vw[l] = mcai_xcalloc(n, sizeof(float));
		a->b[l] = mcai_xcalloc(dims[l + 1], sizeof(float));
		a->gb[l] = mcai_xcalloc(dims[l + 1], sizeof(float));
		a->mb[l] = mcai_xcalloc(dims[l + 1], sizeof(float));
		a->vb[l] = mcai_xcalloc(dims[l + 1], sizeof(float));
		for (i = 0; i < n; i++)
			a->w[l][i] = (float)((2 * mcai_mlp_randf(rng) - 1) * bound);
	}
	for (l = 0; l < a->nl; l++)
		for (i = 0; i < dims[l] * dims[l + 1]; i++)
			a->wt[l][(i % dims[l + 1]) * dims[l] + i / dims[l + 1]] =
				a->w[l][i];
	return a;
}

void mcai_ae_free(struct mcai_ae *a)
{
	u32 l;

	if (!a)
		return;
	for (l = 0; l <= a->nl; l++) {
		free(a->act[l]);
		free(a->delta[l]);
	}
	for (l = 0; l < a->nl; l++) {
		free(a->w[l]);
		free(a->wt[l]);
		free(a->gw[l]);
		free(a->mw[l]);
		free(a->vw[l]);
		free(a->b[l]);
		free(a->gb[l]);
		free(a->mb[l]);
		free(a->vb[l]);
	}
	free(a);
}

/* act[l + 1] of @bs samples from act[l]. */
static void ae_layer(struct mcai_ae *a, u32 l, u32 bs)
{
	u32 ni = a->dim[l], no = a->dim[l + 1], s, i, o;
	bool relu = l + 1 < a->nl;

	for (s = 0; s < bs; s++) {
		const float *x = a->act[l] + (size_t)s * ni;
		float *restrict y = a->act[l + 1] + (size_t)s * no;

		memcpy(y, a->b[l], no * sizeof(float));
		for (i = 0; i < ni; i++) {
			const float *restrict w = a->w[l] + (size_t)i * no;
			float xi = x[i];

			if (xi == 0)
				continue;
			for (o = 0; o < no; o++)
				y[o] += xi * w[o];
		}
		if (relu)
			for (o = 0; o < no; o++)
				y[o] = y[o] > 0 ? y[o] : 0;
	}
}

static double ae_step(struct mcai_ae *a, u32 bs, float lr)
{
	const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;	/* Keras' Adam */
	u32 nl = a->nl, d = a->dim[nl], l, s, i, o;
	double loss = 0, c1, c2;

	for (l = 0; l < nl; l++)
		ae_layer(a, l, bs);
	/* d(mean over d outputs and bs samples of e^2) / dy */
	for (s = 0; s < bs; s++)
		for (o = 0; o < d; o++) {
			size_t k = (size_t)s * d + o;
			float e = a->act[nl][k] - a->act[0][k];

			loss += (double)e * e;
			a->delta[nl][k] = 2 * e / ((float)d * bs);
		}
	for (l = nl; l-- > 0;) {
		u32 ni = a->dim[l], no = a->dim[l + 1];

		memset(a->gw[l], 0, (size_t)ni * no * sizeof(float));
		memset(a->gb[l], 0, no * sizeof(float));
		for (s = 0; s < bs; s++) {
			const float *x = a->act[l] + (size_t)s * ni;
			const float *dy = a->delta[l + 1] + (size_t)s * no;
			float *restrict dx = a->delta[l] + (size_t)s * ni;

			for (o = 0; o < no; o++)
				a->gb[l][o] += dy[o];
			for (i = 0; i < ni; i++) {
				float *restrict g = a->gw[l] + (size_t)i * no;
				float xi = x[i];

				if (xi == 0)
					continue;
				for (o = 0; o < no; o++)
					g[o] += xi * dy[o];
			}
			if (!l)
				continue;
			memset(dx, 0, ni * sizeof(float));
			for (o = 0; o < no; o++) {
				const float *restrict wt = a->wt[l] + (size_t)o * ni;
				float g = dy[o];

				if (g == 0)
					continue;
				for (i = 0; i < ni; i++)
					dx[i] += g * wt[i];
			}
			for (i = 0; i < ni; i++)	/* ReLU of layer l - 1 */
				if (x[i] <= 0)
					dx[i] = 0;
		}
	}
	a->t++;
	c1 = 1 - pow(b1, (double)a->t);
	c2 = 1 - pow(b2, (double)a->t);
	for (l = 0; l < nl; l++) {
		u32 ni = a->dim[l], no = a->dim[l + 1];
		float step = (float)(lr * sqrt(c2) / c1);

		for (i = 0; i < ni * no; i++) {
			float g = a->gw[l][i];

			a->mw[l][i] = b1 * a->mw[l][i] + (1 - b1) * g;
			a->vw[l][i] = b2 * a->vw[l][i] + (1 - b2) * g * g;
			a->w[l][i] -= step * a->mw[l][i] /
				      (sqrtf(a->vw[l][i]) + eps);
			a->wt[l][(i % no) * ni + i / no] = a->w[l][i];
		}
		for (o = 0; o < no; o++) {
			float g = a->gb[l][o];

			a->mb[l][o] = b1 * a->mb[l][o] + (1 - b1) * g;
			a->vb[l][o] = b2 * a->vb[l][o] + (1 - b2) * g * g;
			a->b[l][o] -= step * a->mb[l][o] /
				      (sqrtf(a->vb[l][o]) + eps);
		}
	}
	return loss;
}

double mcai_ae_epoch(struct mcai_ae *a, const float *x, u32 *idx, u32 count,
		     float lr, u64 *rng)
{
	u32 d0 = a->dim[0], k, s, bs;
	double loss = 0;

	for (k = count; k > 1; k--) {
		u32 j = mcai_mlp_below(rng, k), t = idx[k - 1];

		idx[k - 1] = idx[j];
		idx[j] = t;
	}
	for (k = 0; k < count; k += bs) {
		bs = count - k < a->batch ? count - k : a->batch;
		for (s = 0; s < bs; s++)
			memcpy(a->act[0] + (size_t)s * d0,
			       x + (size_t)idx[k + s] * d0, d0 * sizeof(float));
		loss += ae_step(a, bs, lr);
	}
	return loss / ((double)count * a->dim[a->nl]);
}

double mcai_ae_run(struct mcai_ae *a, const float *x, float *y)
{
	u32 d = a->dim[a->nl], l, o;
	double e = 0;

	memcpy(a->act[0], x, a->dim[0] * sizeof(float));
	for (l = 0; l < a->nl; l++)
		ae_layer(a, l, 1);
	for (o = 0; o < d; o++) {
		double v = (double)a->act[a->nl][o] - x[o];

		y[o] = a->act[a->nl][o];
		e += v * v;
	}
	return e / d;
}
