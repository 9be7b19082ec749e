// SPDX-License-Identifier: GPL-2.0
/*
 * The shape of a federated model, read from its blob: see fedmlp.h.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/mlpquant.h"
#include "models/train/quant.h"
#include "runtime/fed/fedmlp.h"

static void ferr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ferr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static float f32_of(u32 bits)
{
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

int mcai_fedmlp_shape_of(struct mcai_fedmlp_shape *s,
			 const struct mcai_model *m, char *err, size_t errlen)
{
	u32 l;

	memset(s, 0, sizeof(*s));
	if (m->graph) {
		ferr(err, errlen, "a graph (format 2) blob: the federation trains format-1 MLPs");
		return -EINVAL;
	}
	if (!m->n_layers || m->n_layers > MCAI_MLP_MAX_LAYERS) {
		ferr(err, errlen, "%u layers: the federation trains 1 to %u",
		     m->n_layers, MCAI_MLP_MAX_LAYERS);
		return -EINVAL;
	}
	for (l = 0; l < m->n_layers; l++) {
		const struct mcai_layer *ly = &m->layer[l];
		const u8 want = l + 1 < m->n_layers ? MCAI_ACT_RELU :
						      MCAI_ACT_NONE;

		if (ly->type != MCAI_LAYER_FC || ly->activation != want) {
			ferr(err, errlen, "layer %u is not a fully-connected layer with %s",
			     l, want == MCAI_ACT_RELU ? "ReLU" : "no activation");
			return -EINVAL;
		}
		if (ly->in_len < 1 || ly->in_len > MCAI_MLP_MAX_DIM ||
		    ly->out_len < 1 || ly->out_len > MCAI_MLP_MAX_DIM ||
		    (l && ly->in_len != m->layer[l - 1].out_len)) {
			ferr(err, errlen, "layer %u: %u -> %u does not chain",
			     l, ly->in_len, ly->out_len);
			return -EINVAL;
		}
		s->dim[l] = ly->in_len;
	}
	s->dim[l] = m->layer[l - 1].out_len;
	s->n_dims = m->n_layers + 1;
	s->blob_head = m->head;
	s->head_threshold = m->head_threshold;
	if (m->head == MCAI_HEAD_ARGMAX) {
		s->head = MCAI_MLP_SOFTMAX;
		s->classes = s->dim[m->n_layers];
	} else if (m->head == MCAI_HEAD_THRESHOLD &&
		   s->dim[m->n_layers] == 1) {
		s->head = MCAI_MLP_SIGMOID;
		s->classes = 2;
	} else {
		ferr(err, errlen, "head %u over %u outputs: the federation trains argmax, or threshold over one",
		     m->head, s->dim[m->n_layers]);
		return -EINVAL;
	}
	s->in_scale = f32_of(m->input_scale);
	s->in_zp = m->input_zp;
	s->out_scale = f32_of(m->output_scale);
	s->out_zp = m->output_zp;
	if (!(s->in_scale > 0) || !isfinite(s->in_scale) ||
	    !(s->out_scale > 0) || !isfinite(s->out_scale)) {
		ferr(err, errlen, "input or output scale not a positive number");
		return -EINVAL;
	}
	if (!mcai_fedmlp_n_params(s)) {
		ferr(err, errlen, "too many parameters");
		return -EINVAL;
	}
	return 0;
}

u32 mcai_fedmlp_n_params(const struct mcai_fedmlp_shape *s)
{
	u64 n = 0;
	u32 l;

	for (l = 0; l + 1 < s->n_dims; l++)
		n += (u64)s->dim[l] * s->dim[l + 1] + s->dim[l + 1];
	return n && n <= UINT32_MAX / sizeof(float) ? (u32)n : 0;
}

bool mcai_fedmlp_same(const struct mcai_fedmlp_shape *a,
		      const struct mcai_fedmlp_shape *b)
{
	return a->n_dims == b->n_dims &&
	       !memcmp(a->dim, b->dim, a->n_dims * sizeof(a->dim[0])) &&
	       a->head == b->head && a->in_scale == b->in_scale &&
	       a->in_zp == b->in_zp;
}

const char *mcai_fedmlp_describe(const struct mcai_fedmlp_shape *s,
				 char *buf, size_t len)
{
	size_t at = 0;
	u32 l;

	buf[0] = 0;
	for (l = 0; l < s->n_dims && at < len; l++)
		at += (size_t)snprintf(buf + at, len - at, "%s%u", l ? "-" : "",
				       s->dim[l]);
	if (at < len)
		snprintf(buf + at, len - at, " %s, input scale %g zp %d",
			 s->head == MCAI_MLP_SIGMOID ? "threshold" : "argmax",
			 (double)s->in_scale, s->in_zp);
	return buf;
}

struct mcai_mlp *mcai_fedmlp_create(const struct mcai_fedmlp_shape *s)
{
	return mcai_mlp_create(s->dim, s->n_dims, s->head);
}

/* mult * 2^shift / 2^31, as models/train/quant.h writes it. */
static double real_mult(const struct mcai_layer *ly, u32 o)
{
	return (double)mcai_les32(ly->mult + 4 * o) *
	       ldexp(1.0, mcai_les32(ly->shift + 4 * o) - 31);
}

int mcai_fedmlp_dequantise(const struct mcai_model *m,
			   const struct mcai_fedmlp_shape *s, float *params,
			   char *err, size_t errlen)
{
	const u32 nl = s->n_dims - 1;
	double scale[MCAI_MLP_MAX_LAYERS + 1];
	size_t at = 0;
	u32 l, i, o;

	if (m->n_layers != nl) {
		ferr(err, errlen, "the blob has %u layers, the shape %u",
		     m->n_layers, nl);
		return -EINVAL;
	}
	scale[0] = s->in_scale;
	scale[nl] = s->out_scale;
	/*
	 * Hidden scales left to right: with S_h = 1 the layer before it has
	 * weights a * S_h and the one after b / S_h (b taken with the next
	 * hidden scale at 1), so S_h = sqrt(b / a) makes the two largest equal.
	 */
	for (l = 1; l < nl; l++) {
		const struct mcai_layer *in = &m->layer[l - 1];
		const struct mcai_layer *out = &m->layer[l];
		const double next = l + 1 < nl ? 1.0 : scale[nl];
		double a = 0, b = 0;

		for (o = 0; o < in->out_len; o++)
			for (i = 0; i < in->in_len; i++) {
				double w = fabs((double)in->weights[(size_t)o * in->in_len + i] *
						real_mult(in, o) / scale[l - 1]);

				a = w > a ? w : a;
			}
		for (o = 0; o < out->out_len; o++)
			for (i = 0; i < out->in_len; i++) {
				double w = fabs((double)out->weights[(size_t)o * out->in_len + i] *
						real_mult(out, o) * next);

				b = w > b ? w : b;
			}
		scale[l] = a > 0 && b > 0 ? sqrt(b / a) : 1.0;
	}
	for (l = 0; l < nl; l++) {
		const struct mcai_layer *ly = &m->layer[l];
		const u32 nin = s->dim[l], nout = s->dim[l + 1];
		float *w = params + at, *b = w + (size_t)nin * nout;

		if (ly->in_len != nin || ly->out_len != nout) {
			ferr(err, errlen, "layer %u is %u -> %u, the shape %u -> %u",
			     l, ly->in_len, ly->out_len, nin, nout);
			return -EINVAL;
		}
		for (o = 0; o < nout; o++) {
			/* in_scale * ws[o] / out_scale = M, so ws[o] = M S' / S */
			const double ms = real_mult(ly, o) * scale[l + 1];
			const double ws = ms / scale[l];

			for (i = 0; i < nin; i++)
				w[(size_t)i * nout + o] = (float)
					(ly->weights[(size_t)o * nin + i] * ws);
			b[o] = (float)(mcai_les32(ly->bias + 4 * o) * ms);
		}
		at += (size_t)nin * nout + nout;
	}
	return 0;
}

void mcai_fedmlp_data_init(struct mcai_fedmlp_data *d,
			   const struct mcai_fedmlp_shape *s, const s8 *inputs,
			   const u8 *labels, u32 count)
{
	d->inputs = inputs;
	d->labels = labels;
	d->count = count;
	const double r = 1.0 / (double)s->in_scale, k = rint(r);

	d->len = s->dim[0];
	/*
	 * A scale written as 1/k (255, 32) is stored as the float nearest
	 * it, whose inverse is k only nearly (254.99998 for 1/255.0f): take
	 * k back, so x is what the trainers computed (pixel / 255.0f).
	 */
	d->div = fabs(r - k) <= 1e-5 * r ? (float)k : (float)r;
	d->zp = s->in_zp;
	d->binary = s->head == MCAI_MLP_SIGMOID;
}

void mcai_fedmlp_get(void *ctx, u32 index, float *x, u32 *label)
{
	const struct mcai_fedmlp_data *d = ctx;
	const s8 *q = d->inputs + (size_t)index * d->len;
	u32 i;

	for (i = 0; i < d->len; i++)
		x[i] = (float)(q[i] - d->zp) / d->div;
	*label = d->binary ? d->labels[index] != 0 : d->labels[index];
}

u8 *mcai_fedmlp_blob(struct mcai_mlp *n, const struct mcai_fedmlp_shape *s,
		     const struct mcai_mlp_data *d, const u32 *idx, u32 calib,
		     const char *name, u32 version, const s8 *tv,
		     u32 tv_count, u32 *size, char *err, size_t errlen)
{
	struct mcai_mlpq_desc desc = {
		.name = name, .version = version, .head = s->blob_head,
		.input_scale = s->in_scale, .input_zp = s->in_zp,
		.tv_count = tv ? tv_count : 0, .tv_inputs = tv,
	};
	struct mcai_mlpq q;
	u8 *blob = NULL;

	mcai_mlpq_init(&q, n);
	mcai_mlpq_calibrate(&q, n, d, idx, calib);
	if (s->head == MCAI_MLP_SIGMOID && q.lo[n->nl] <= q.hi[n->nl]) {
		/* the same logit threshold in the new output quantisation */
		const float thr = s->out_scale *
				  (float)(s->head_threshold - s->out_zp);
		float os;
		s8 oz;

		mcai_qparams(q.lo[n->nl], q.hi[n->nl], &os, &oz);
		desc.head_threshold = mcai_quantize(thr, os, oz);
	}
	if (!mcai_mlpq_build(&q, n, &desc, err, errlen))
		blob = mcai_blob_write(&q.spec, size, err, errlen);
	mcai_mlpq_free(&q);
	return blob;
}
