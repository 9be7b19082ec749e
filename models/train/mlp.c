// SPDX-License-Identifier: GPL-2.0
/*
 * Float MLP trainer, see mlp.h.
 *
 * The shipped models are reproduced bit for bit from their seeds, so the
 * order of the floating-point operations below is part of the contract:
 * reordering a sum, hoisting a product or fusing the two SGD loops changes
 * the rounding and with it every blob.  C11 mode keeps the compiler from
 * contracting a * b + c into an FMA.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/mlp.h"

u64 mcai_mlp_rand(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

float mcai_mlp_randf(u64 *state)
{
	return (float)(mcai_mlp_rand(state) >> 40) * (1.0f / 16777216.0f);
}

u32 mcai_mlp_below(u64 *state, u32 n)
{
	u64 limit = UINT64_MAX - UINT64_MAX % n, x;

	do {
		x = mcai_mlp_rand(state);
	} while (x >= limit);
	return (u32)(x % n);
}

static size_t layer_params(const struct mcai_mlp *n, u32 l)
{
	return (size_t)n->dim[l] * n->dim[l + 1] + n->dim[l + 1];
}

struct mcai_mlp *mcai_mlp_create(const u32 *dims, u32 n_dims,
				 enum mcai_mlp_head head)
{
	struct mcai_mlp *n;
	size_t at = 0;
	u32 l;

	if (!dims || n_dims < 2 || n_dims > MCAI_MLP_MAX_LAYERS + 1)
		return NULL;
	for (l = 0; l < n_dims; l++)
		if (dims[l] < 1 || dims[l] > MCAI_MLP_MAX_DIM)
			return NULL;
	if (head != MCAI_MLP_SOFTMAX &&
	    (head != MCAI_MLP_SIGMOID || dims[n_dims - 1] != 1))
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->nl = n_dims - 1;
	n->head = head;
	memcpy(n->dim, dims, n_dims * sizeof(*dims));
	for (l = 0; l < n->nl; l++)
		n->n_params += layer_params(n, l);
	n->params = calloc(n->n_params, sizeof(float));
	n->grad = calloc(n->n_params, sizeof(float));
	n->vel = calloc(n->n_params, sizeof(float));
	if (!n->params || !n->grad || !n->vel)
		goto fail;
	for (l = 0; l < n->nl; l++) {
		n->w[l] = n->params + at;
		n->b[l] = n->w[l] + (size_t)n->dim[l] * n->dim[l + 1];
		at += layer_params(n, l);
	}
	for (l = 0; l <= n->nl; l++) {
		n->act[l] = calloc(n->dim[l], sizeof(float));
		n->delta[l] = calloc(n->dim[l], sizeof(float));
		if (!n->act[l] || !n->delta[l])
			goto fail;
	}
	return n;
fail:
	mcai_mlp_free(n);
	return NULL;
}

void mcai_mlp_free(struct mcai_mlp *n)
{
	u32 l;

	if (!n)
		return;
	for (l = 0; l <= n->nl; l++) {
		free(n->act[l]);
		free(n->delta[l]);
	}
	free(n->params);
	free(n->grad);
	free(n->vel);
	free(n);
}

void mcai_mlp_init(struct mcai_mlp *n, enum mcai_mlp_draw order, u64 *rng)
{
	u32 l, i, o;

	memset(n->params, 0, n->n_params * sizeof(float));
	mcai_mlp_reset_opt(n);
	for (l = 0; l < n->nl; l++) {
		const u32 nin = n->dim[l], nout = n->dim[l + 1];
		/* He uniform for the ReLU layers, Glorot for the logits. */
		const float a = l + 1 < n->nl ?
			sqrtf(6.0f / nin) : sqrtf(6.0f / (nin + nout));
		float *w = n->w[l];

		if (order == MCAI_MLP_DRAW_BY_OUTPUT) {
			for (o = 0; o < nout; o++)
				for (i = 0; i < nin; i++)
					w[(size_t)i * nout + o] =
						(2.0f * mcai_mlp_randf(rng) - 1.0f) * a;
		} else {
			for (i = 0; i < nin; i++)
				for (o = 0; o < nout; o++)
					w[(size_t)i * nout + o] =
						(2.0f * mcai_mlp_randf(rng) - 1.0f) * a;
		}
	}
}

void mcai_mlp_get_params(const struct mcai_mlp *n, float *out)
{
	memcpy(out, n->params, n->n_params * sizeof(float));
}

void mcai_mlp_set_params(struct mcai_mlp *n, const float *in)
{
	memcpy(n->params, in, n->n_params * sizeof(float));
}

void mcai_mlp_delta(const struct mcai_mlp *n, const float *base, float *out)
{
	size_t i;

	for (i = 0; i < n->n_params; i++)
		out[i] = n->params[i] - base[i];
}

void mcai_mlp_reset_opt(struct mcai_mlp *n)
{
	memset(n->grad, 0, n->n_params * sizeof(float));
	memset(n->vel, 0, n->n_params * sizeof(float));
}

/* out[o] = b[o] + sum_i in[i] * wt[i][o], then ReLU if @relu. */
static void fc_forward(const float *wt, const float *b, const float *in,
		       u32 nin, u32 nout, float *out, bool relu)
{
	u32 i, o;

	memcpy(out, b, nout * sizeof(float));
	for (i = 0; i < nin; i++) {
		const float x = in[i];
		const float *w = wt + (size_t)i * nout;

		/* Adding 0 * w leaves every nonzero sum as it was. */
		if (x == 0.0f)
			continue;
		for (o = 0; o < nout; o++)
			out[o] += x * w[o];
	}
	if (relu)
		for (o = 0; o < nout; o++)
			out[o] = out[o] > 0.0f ? out[o] : 0.0f;
}

const float *mcai_mlp_forward(struct mcai_mlp *n, const float *x)
{
	u32 l;

	if (x != n->act[0])
		memcpy(n->act[0], x, n->dim[0] * sizeof(float));
	for (l = 0; l < n->nl; l++)
		fc_forward(n->w[l], n->b[l], n->act[l], n->dim[l],
			   n->dim[l + 1], n->act[l + 1], l + 1 < n->nl);
	return n->act[n->nl];
}

u32 mcai_mlp_decide(const struct mcai_mlp *n)
{
	const float *z = n->act[n->nl];
	u32 o, best = 0;

	if (n->head == MCAI_MLP_SIGMOID)
		return z[0] >= 0.0f;
	/* The first of equal maxima, as the int8 argmax head decides. */
	for (o = 1; o < n->dim[n->nl]; o++)
		if (z[o] > z[best])
			best = o;
	return best;
}

u32 mcai_mlp_predict(struct mcai_mlp *n, const float *x)
{
	mcai_mlp_forward(n, x);
	return mcai_mlp_decide(n);
}

/* Loss of the logits and its gradient in delta[nl]. */
static double output_grad(struct mcai_mlp *n, u32 label)
{
	const u32 nout = n->dim[n->nl];
	const float *z = n->act[n->nl];
	float *d = n->delta[n->nl];
	float m, sum = 0;
	double loss;
	u32 o;

	if (n->head == MCAI_MLP_SIGMOID) {
		float p = 1.0f / (1.0f + expf(-z[0]));

		loss = -log(label ? p + 1e-7 : 1 - p + 1e-7);
		d[0] = p - (float)label;
		return loss;
	}
	m = z[0];
	for (o = 1; o < nout; o++)
		if (z[o] > m)
			m = z[o];
	for (o = 0; o < nout; o++) {
		d[o] = expf(z[o] - m);
		sum += d[o];
	}
	loss = -(log((double)d[label] / sum));
	for (o = 0; o < nout; o++)
		d[o] /= sum;
	d[label] -= 1.0f;
	return loss;
}

double mcai_mlp_accumulate(struct mcai_mlp *n, const float *x, u32 label,
			   u32 *correct)
{
	size_t at = n->n_params;
	double loss;
	u32 l, i, o;

	if (label >= (n->head == MCAI_MLP_SIGMOID ? 2 : n->dim[n->nl]))
		return NAN;
	mcai_mlp_forward(n, x);
	*correct += mcai_mlp_decide(n) == label;
	loss = output_grad(n, label);
	for (l = n->nl; l-- > 0;) {
		const u32 nin = n->dim[l], nout = n->dim[l + 1];
		const float *a = n->act[l], *dl = n->delta[l + 1];
		const float *wt = n->w[l];
		float *gw, *gb, *dprev = n->delta[l];

		at -= layer_params(n, l);
		gw = n->grad + at;
		gb = gw + (size_t)nin * nout;
		for (o = 0; o < nout; o++)
			gb[o] += dl[o];
		for (i = 0; i < nin; i++) {
			const float xi = a[i];
			float *g = gw + (size_t)i * nout;
			const float *w = wt + (size_t)i * nout;
			float s = 0;

			if (xi == 0.0f) {
				/* ReLU: no gradient flows through a zero. */
				if (l > 0)
					dprev[i] = 0;
				continue;
			}
			for (o = 0; o < nout; o++)
				g[o] += xi * dl[o];
			if (l > 0) {
				for (o = 0; o < nout; o++)
					s += w[o] * dl[o];
				dprev[i] = s;
			}
		}
	}
	return loss;
}

void mcai_mlp_step(struct mcai_mlp *n, const struct mcai_mlp_opt *opt,
		   float lr, u32 batch)
{
	const float inv = 1.0f / batch, mom = opt->momentum;
	const float wd = opt->weight_decay, mu = opt->prox_mu;
	const bool prox = mu != 0.0f && opt->prox_ref;
	size_t at = 0, i, cnt;
	u32 l;

	for (l = 0; l < n->nl; l++) {
		float *w = n->params + at, *g = n->grad + at, *v = n->vel + at;
		const float *r = prox ? opt->prox_ref + at : NULL;

		cnt = (size_t)n->dim[l] * n->dim[l + 1];
		if (prox) {
			for (i = 0; i < cnt; i++) {
				v[i] = mom * v[i] - lr * (g[i] * inv + wd * w[i] +
							  mu * (w[i] - r[i]));
				w[i] += v[i];
				g[i] = 0;
			}
		} else {
			for (i = 0; i < cnt; i++) {
				v[i] = mom * v[i] - lr * (g[i] * inv + wd * w[i]);
				w[i] += v[i];
				g[i] = 0;
			}
		}
		w += cnt;
		g += cnt;
		v += cnt;
		r = r ? r + cnt : NULL;
		cnt = n->dim[l + 1];
		if (prox) {
			for (i = 0; i < cnt; i++) {
				v[i] = mom * v[i] - lr * (g[i] * inv +
							  mu * (w[i] - r[i]));
				w[i] += v[i];
				g[i] = 0;
			}
		} else {
			for (i = 0; i < cnt; i++) {
				v[i] = mom * v[i] - lr * (g[i] * inv);
				w[i] += v[i];
				g[i] = 0;
			}
		}
		at += layer_params(n, l);
	}
}

float mcai_mlp_lr(const struct mcai_mlp_sched *s)
{
	if (!s->total)
		return s->lr;
	return (float)(s->lr * 0.5 *
		       (1.0 + cos(M_PI * (double)s->step / s->total)));
}

void mcai_mlp_train_batch(struct mcai_mlp *n, const struct mcai_mlp_opt *o,
			  struct mcai_mlp_sched *s,
			  const struct mcai_mlp_data *d, const u32 *idx,
			  u32 count, struct mcai_mlp_stats *st)
{
	const float lr = mcai_mlp_lr(s);
	struct mcai_mlp_stats dummy = { 0 };
	u32 i, label;

	if (!count)
		return;
	if (!st)
		st = &dummy;
	/* Per sample into the caller's sum: the epoch loss is one long sum. */
	for (i = 0; i < count; i++) {
		d->get(d->ctx, idx[i], n->act[0], &label);
		st->loss += mcai_mlp_accumulate(n, n->act[0], label,
						&st->correct);
	}
	st->seen += count;
	mcai_mlp_step(n, o, lr, count);
	s->step++;
}

void mcai_mlp_train_epoch(struct mcai_mlp *n, const struct mcai_mlp_opt *o,
			  struct mcai_mlp_sched *s,
			  const struct mcai_mlp_data *d, u32 *idx, u32 count,
			  u32 batch, u64 *rng, struct mcai_mlp_stats *st)
{
	u32 i, start, len;

	if (!batch)
		batch = 1;
	if (rng)
		for (i = count; i > 1; i--) {		/* Fisher-Yates */
			u32 j = mcai_mlp_below(rng, i), t = idx[i - 1];

			idx[i - 1] = idx[j];
			idx[j] = t;
		}
	for (start = 0; start < count; start += len) {
		len = count - start < batch ? count - start : batch;
		mcai_mlp_train_batch(n, o, s, d, idx + start, len, st);
	}
}

u32 mcai_mlp_evaluate(struct mcai_mlp *n, const struct mcai_mlp_data *d,
		      const u32 *idx, u32 count)
{
	u32 i, label, correct = 0;

	for (i = 0; i < count; i++) {
		d->get(d->ctx, idx ? idx[i] : i, n->act[0], &label);
		correct += mcai_mlp_predict(n, n->act[0]) == label;
	}
	return correct;
}
