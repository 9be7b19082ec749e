// SPDX-License-Identifier: GPL-2.0
/*
 * The float side of mcai-zoo's networks (netbuild.h): building, synthetic
 * weights, the forward pass that calibrates the int8 graph.  Plain loops:
 * calibration runs a few dozen inputs, speed does not matter here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/ops.h"
#include "models/train/cli.h"
#include "models/train/mlp.h"
#include "models/train/netbuild.h"
#include "uapi/mcai.h"

void mcai_nb_init(struct mcai_nb_net *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->name = name;
}

void mcai_nb_free(struct mcai_nb_net *n)
{
	u32 i;

	for (i = 0; i < n->n_t; i++)
		free(n->t[i].v);
	for (i = 0; i < n->n_l; i++) {
		free(n->l[i].w);
		free(n->l[i].b);
	}
	memset(n, 0, sizeof(*n));
}

static u32 nb_tensor(struct mcai_nb_net *n, u32 h, u32 w, u32 c)
{
	struct mcai_nb_tensor *t;

	if (n->n_t >= MCAI_NB_MAX_TENSORS)
		mcai_die("%s: too many tensors", n->name);
	t = &n->t[n->n_t];
	t->dims[0] = 1;
	t->dims[1] = h;
	t->dims[2] = w;
	t->dims[3] = c;
	t->elems = h * w * c;
	t->v = mcai_xcalloc(t->elems, sizeof(float));
	t->lo = HUGE_VAL;
	t->hi = -HUGE_VAL;
	t->dtype = MCAI_DT_INT8;
	return n->n_t++;
}

static struct mcai_nb_layer *nb_layer(struct mcai_nb_net *n, u8 kind,
				      const char *name, u32 x, u32 n_w,
				      u32 n_b)
{
	struct mcai_nb_layer *l;

	if (n->n_l >= MCAI_NB_MAX_LAYERS)
		mcai_die("%s: too many layers", n->name);
	l = &n->l[n->n_l++];
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->in[0] = x;
	l->k_h = l->k_w = l->stride_h = l->stride_w = 1;
	l->n_w = n_w;
	l->n_b = n_b;
	if (n_w)
		l->w = mcai_xcalloc(n_w, sizeof(float));
	if (n_b)
		l->b = mcai_xcalloc(n_b, sizeof(float));
	snprintf(l->name, sizeof(l->name), "%s", name);
	return l;
}

u32 mcai_nb_input(struct mcai_nb_net *n, u32 h, u32 w, u32 c, double lo,
		  double hi)
{
	u32 i = nb_tensor(n, h, w, c);

	n->t[i].lo = lo;
	n->t[i].hi = hi;
	n->t[i].fixed = true;
	n->input = i;
	return i;
}

/* Keras' padding='same' as TFLite lowers it. */
static u32 nb_conv_like(struct mcai_nb_net *n, struct mcai_nb_layer *l,
			u32 k_h, u32 k_w, u32 stride, u32 out_c)
{
	const struct mcai_nb_tensor *x = &n->t[l->in[0]];
	u32 oh, ow;

	l->k_h = k_h;
	l->k_w = k_w;
	l->stride_h = l->stride_w = stride;
	mcai_op_same_pad(x->dims[1], k_h, stride, 1, &oh, &l->pad_top,
			 &l->pad_bottom);
	mcai_op_same_pad(x->dims[2], k_w, stride, 1, &ow, &l->pad_left,
			 &l->pad_right);
	l->out = nb_tensor(n, oh, ow, out_c);
	return l->out;
}

u32 mcai_nb_conv(struct mcai_nb_net *n, const char *name, u32 x, u32 out_c,
		 u32 k_h, u32 k_w, u32 stride, bool relu)
{
	u32 in_c = n->t[x].dims[3];
	struct mcai_nb_layer *l = nb_layer(n, MCAI_NB_CONV, name, x,
					   out_c * k_h * k_w * in_c, out_c);

	l->relu = relu;
	return nb_conv_like(n, l, k_h, k_w, stride, out_c);
}

u32 mcai_nb_dw(struct mcai_nb_net *n, const char *name, u32 x, u32 k,
	       u32 stride, bool relu)
{
	u32 c = n->t[x].dims[3];
	struct mcai_nb_layer *l = nb_layer(n, MCAI_NB_DW, name, x, k * k * c, c);

	l->relu = relu;
	return nb_conv_like(n, l, k, k, stride, c);
}

u32 mcai_nb_fc(struct mcai_nb_net *n, const char *name, u32 x, u32 out,
	       bool relu)
{
	struct mcai_nb_layer *l = nb_layer(n, MCAI_NB_FC, name, x,
					   out * n->t[x].elems, out);

	l->relu = relu;
	l->out = nb_tensor(n, 1, 1, out);
	return l->out;
}

u32 mcai_nb_avgpool(struct mcai_nb_net *n, const char *name, u32 x,
		    u32 k_h, u32 k_w)
{
	const u32 *d = n->t[x].dims;
	struct mcai_nb_layer *l = nb_layer(n, MCAI_NB_AVGPOOL, name, x, 0, 0);

	/* Keras' AveragePooling2D: stride = pool size, padding='valid' */
	l->k_h = l->stride_h = k_h;
	l->k_w = l->stride_w = k_w;
	l->out = nb_tensor(n, mcai_op_out_dim(d[1], k_h, k_h, 1, 0, 0),
			   mcai_op_out_dim(d[2], k_w, k_w, 1, 0, 0), d[3]);
	return l->out;
}

u32 mcai_nb_add(struct mcai_nb_net *n, const char *name, u32 a, u32 b,
		bool relu)
{
	const u32 *d = n->t[a].dims;
	struct mcai_nb_layer *l = nb_layer(n, MCAI_NB_ADD, name, a, 0, 0);

	l->in[1] = b;
	l->relu = relu;
	l->out = nb_tensor(n, d[1], d[2], d[3]);
	return l->out;
}

u32 mcai_nb_softmax(struct mcai_nb_net *n, const char *name, u32 x)
{
	const u32 *d = n->t[x].dims;
	struct mcai_nb_layer *l = nb_layer(n, MCAI_NB_SOFTMAX, name, x, 0, 0);

	l->out = nb_tensor(n, d[1], d[2], d[3]);
	n->t[l->out].fixed = true;
	n->t[l->out].scale = 1.0f / 256;
	n->t[l->out].zp = -128;
	return l->out;
}

u32 mcai_nb_recon(struct mcai_nb_net *n, const char *name, u32 recon,
		  u32 input, double score_scale)
{
	struct mcai_nb_layer *l = nb_layer(n, MCAI_NB_RECON, name, recon, 0, 0);

	l->in[1] = input;
	l->score_scale = score_scale;
	l->out = nb_tensor(n, 1, 1, 1);
	n->t[l->out].fixed = true;
	n->t[l->out].dtype = MCAI_DT_INT32;
	n->t[l->out].scale = (float)score_scale;
	return l->out;
}

struct mcai_nb_layer *mcai_nb_writer(struct mcai_nb_net *n, u32 t)
{
	u32 i;

	for (i = 0; i < n->n_l; i++)
		if (n->l[i].out == t)
			return &n->l[i];
	return NULL;
}

double mcai_nb_uniform(u64 *rng)
{
	return (double)(mcai_mlp_rand(rng) >> 11) * (1.0 / 9007199254740992.0);
}

double mcai_nb_normal(u64 *rng)
{
	double u = mcai_nb_uniform(rng), v = mcai_nb_uniform(rng);

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

void mcai_nb_synthetic(struct mcai_nb_net *n, u64 seed)
{
	u64 r = seed;
	u32 i, j;

	for (i = 0; i < n->n_l; i++) {
		struct mcai_nb_layer *l = &n->l[i];
		u32 per, fan_in;

		if (!l->n_w)
			continue;
		per = l->n_w / l->n_b;	/* weights of one output channel */
		fan_in = l->kind == MCAI_NB_DW ? l->k_h * l->k_w : per;
		for (j = 0; j < l->n_w; j++)
			l->w[j] = (float)(mcai_nb_normal(&r) * sqrt(2.0 / fan_in));
		if (l->kind == MCAI_NB_FC)	/* the references' dense layers: no BN */
			continue;
		for (j = 0; j < l->n_b; j++) {
			double gamma = 0.8 + 0.4 * mcai_nb_uniform(&r);
			double beta = 0.2 * mcai_nb_normal(&r);
			double mean = 0.1 * mcai_nb_normal(&r);
			double var = 0.8 + 0.4 * mcai_nb_uniform(&r);
			double k = gamma / sqrt(var + 1e-3);	/* Keras' epsilon */
			u32 m;

			/* w' = k w, b' = beta + k (b - mean), b = 0 (use_bias
			 * does not matter once folded)
			 */
			for (m = 0; m < per; m++) {
				u32 at = l->kind == MCAI_NB_DW ? m * l->n_b + j :
					 j * per + m;

				l->w[at] = (float)(l->w[at] * k);
			}
			l->b[j] = (float)(beta - k * mean);
		}
	}
}

static void nb_conv(const struct mcai_nb_net *n, const struct mcai_nb_layer *l)
{
	const struct mcai_nb_tensor *x = &n->t[l->in[0]], *o = &n->t[l->out];
	u32 ih = x->dims[1], iw = x->dims[2], ic = x->dims[3];
	u32 oh = o->dims[1], ow = o->dims[2], oc = o->dims[3];
	bool dw = l->kind == MCAI_NB_DW;
	u32 oy, ox, c, ky, kx, i;

	for (oy = 0; oy < oh; oy++)
		for (ox = 0; ox < ow; ox++)
			for (c = 0; c < oc; c++) {
				double acc = l->b[c];

				for (ky = 0; ky < l->k_h; ky++) {
					s64 y = (s64)oy * l->stride_h + ky - l->pad_top;

					if (y < 0 || y >= ih)
						continue;
					for (kx = 0; kx < l->k_w; kx++) {
						s64 xx = (s64)ox * l->stride_w + kx -
							 l->pad_left;
						const float *px;

						if (xx < 0 || xx >= iw)
							continue;
						px = x->v + ((u64)y * iw + xx) * ic;
						if (dw) {
							acc += (double)px[c] *
							       l->w[(ky * l->k_w + kx) * oc + c];
							continue;
						}
						for (i = 0; i < ic; i++)
							acc += (double)px[i] *
							       l->w[((c * l->k_h + ky) *
								     l->k_w + kx) * ic + i];
					}
				}
				if (l->relu && acc < 0)
					acc = 0;
				o->v[((u64)oy * ow + ox) * oc + c] = (float)acc;
			}
}

static void nb_layer_forward(struct mcai_nb_net *n, const struct mcai_nb_layer *l)
{
	const struct mcai_nb_tensor *x = &n->t[l->in[0]];
	struct mcai_nb_tensor *o = &n->t[l->out];
	u32 i, j, oy, ox, c, ky, kx;
	double acc;

	switch (l->kind) {
	case MCAI_NB_CONV:
	case MCAI_NB_DW:
		nb_conv(n, l);
		break;
	case MCAI_NB_FC:
		for (i = 0; i < o->elems; i++) {
			acc = l->b[i];
			for (j = 0; j < x->elems; j++)
				acc += (double)x->v[j] * l->w[(u64)i * x->elems + j];
			o->v[i] = (float)(l->relu && acc < 0 ? 0 : acc);
		}
		break;
	case MCAI_NB_AVGPOOL:
		for (oy = 0; oy < o->dims[1]; oy++)
			for (ox = 0; ox < o->dims[2]; ox++)
				for (c = 0; c < o->dims[3]; c++) {
					acc = 0;
					for (ky = 0; ky < l->k_h; ky++)
						for (kx = 0; kx < l->k_w; kx++)
							acc += x->v[(((oy * l->stride_h + ky) *
								      x->dims[2]) +
								     ox * l->stride_w + kx) *
								    x->dims[3] + c];
					o->v[(oy * o->dims[2] + ox) * o->dims[3] + c] =
						(float)(acc / (l->k_h * l->k_w));
				}
		break;
	case MCAI_NB_ADD:
		for (i = 0; i < o->elems; i++) {
			acc = (double)x->v[i] + n->t[l->in[1]].v[i];
			o->v[i] = (float)(l->relu && acc < 0 ? 0 : acc);
		}
		break;
	case MCAI_NB_SOFTMAX: {
		double mx = x->v[0], sum = 0;

		for (i = 1; i < x->elems; i++)
			if (x->v[i] > mx)
				mx = x->v[i];
		for (i = 0; i < x->elems; i++)
			sum += exp(x->v[i] - mx);
		for (i = 0; i < x->elems; i++)
			o->v[i] = (float)(exp(x->v[i] - mx) / sum);
		break;
	}
	case MCAI_NB_RECON:
		acc = 0;
		for (i = 0; i < x->elems; i++) {
			double d = (double)x->v[i] - n->t[l->in[1]].v[i];

			acc += d * d;
		}
		o->v[0] = (float)(acc / x->elems);
		break;
	}
}

void mcai_nb_forward(struct mcai_nb_net *n, const float *in)
{
	u32 i;

	memcpy(n->t[n->input].v, in, n->t[n->input].elems * sizeof(float));
	for (i = 0; i < n->n_l; i++)
		nb_layer_forward(n, &n->l[i]);
}

void mcai_nb_observe(struct mcai_nb_net *n)
{
	u32 i, j;

	for (i = 0; i < n->n_t; i++) {
		struct mcai_nb_tensor *t = &n->t[i];

		if (t->fixed)
			continue;
		for (j = 0; j < t->elems; j++) {
			if (t->v[j] < t->lo)
				t->lo = t->v[j];
			if (t->v[j] > t->hi)
				t->hi = t->v[j];
		}
	}
}

void mcai_nb_reset_ranges(struct mcai_nb_net *n)
{
	u32 i;

	for (i = 0; i < n->n_t; i++)
		if (!n->t[i].fixed) {
			n->t[i].lo = HUGE_VAL;
			n->t[i].hi = -HUGE_VAL;
		}
}

u64 mcai_nb_params(const struct mcai_nb_net *n)
{
	u64 s = 0;
	u32 i;

	for (i = 0; i < n->n_l; i++)
		s += n->l[i].n_w + n->l[i].n_b;
	return s;
}

u64 mcai_nb_macs(const struct mcai_nb_net *n)
{
	u64 s = 0;
	u32 i;

	for (i = 0; i < n->n_l; i++) {
		const struct mcai_nb_layer *l = &n->l[i];
		const struct mcai_nb_tensor *o = &n->t[l->out];

		if (l->kind == MCAI_NB_CONV || l->kind == MCAI_NB_FC)
			s += (u64)o->elems * (l->n_w / l->n_b);
		else if (l->kind == MCAI_NB_DW)
			s += (u64)o->elems * l->k_h * l->k_w;
	}
	return s;
}
