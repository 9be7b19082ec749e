// SPDX-License-Identifier: GPL-2.0
/*
 * The float graph run in the importer, in ONNX's own layout: it gives
 * every tensor its shape (the lowering needs them) and, on calibration
 * samples, the activation ranges that quantise a float model.  A plain
 * reference, not fast: micro-models and a few hundred samples.  Each op
 * checks what the lowering will rely on, so a refusal names the node.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/import/onnx_ir.h"

/*
 * What one evaluation may cost: a hostile shape must neither hang the
 * tool nor exhaust memory.  Micro-models are far below both (the
 * engine's own default is 2^26 MACs an inference).
 */
#define MCAI_OX_MAX_EVAL_MACS	(1ULL << 27)
#define MCAI_OX_MAX_ACT_ELEMS	(1ULL << 25)

static bool ox_is(const struct mcai_ox_node *n, const char *op)
{
	return !strcmp(n->op, op);
}

static int ox_out(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
		  u32 rank, const u32 *dims)
{
	struct mcai_ox_tensor *t = &g->t[n->out[0]];
	u64 e = 1;
	u32 k;

	for (k = 0; k < rank; k++) {
		if (!dims[k])
			return mcai_ox_node_refuse(g, n, "empty output");
		e *= dims[k];
		if (e > MCAI_OX_MAX_ELEMS)
			return mcai_ox_node_refuse(g, n, "output of more than %u elements",
						   MCAI_OX_MAX_ELEMS);
	}
	if (t->known && (t->rank != rank ||
			 memcmp(t->dims, dims, rank * sizeof(u32)))) {
		free(t->f);
		t->f = NULL;
	}
	t->rank = rank;
	memcpy(t->dims, dims, rank * sizeof(u32));
	t->known = true;
	if (!t->f) {
		g->act_elems += e;
		if (g->act_elems > MCAI_OX_MAX_ACT_ELEMS)
			return mcai_ox_node_refuse(g, n, "activations of more than 2^25 elements in all");
		t->f = calloc(e, sizeof(float));
	}
	return t->f ? 0 : mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
}

static u32 ox_get(const struct mcai_ox_node *n, const char *attr, u32 k,
		  u32 dflt, bool *bad)
{
	const s64 *v;
	long c = mcai_ox_attr_ints(n, attr, &v);

	if (c < 0)
		return dflt;
	if ((long)k >= c || v[k] < 0 || v[k] > 65536) {
		*bad = true;
		return dflt;
	}
	return (u32)v[k];
}

int mcai_ox_pool_kernel(const struct mcai_ox_node *n, u32 *kh, u32 *kw)
{
	bool bad = false;

	if (mcai_ox_attr_ints(n, "kernel_shape", &(const s64 *){ NULL }) !=
	    (n->one_d ? 1 : 2))
		return -1;
	*kh = n->one_d ? 1 : ox_get(n, "kernel_shape", 0, 0, &bad);
	*kw = ox_get(n, "kernel_shape", n->one_d ? 0 : 1, 0, &bad);
	return bad || !*kh || !*kw ? -1 : 0;
}

int mcai_ox_window(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
		   const struct mcai_ox_tensor *x, u32 kh, u32 kw,
		   struct mcai_ox_window *w)
{
	const char *ap = mcai_ox_attr_string(n, "auto_pad");
	const s64 *v;
	bool bad = false;
	u32 eh, ew;

	memset(w, 0, sizeof(*w));
	if (x->rank != 4)
		return mcai_ox_node_refuse(g, n, "input of rank %u, only 1-D (NCL) and 2-D (NCHW) supported",
					   x->rank);
	if (n->one_d != x->one_d)
		return mcai_ox_node_refuse(g, n, "a %s window over an input of rank %u",
					   n->one_d ? "1-D" : "2-D", x->one_d ? 3 : 4);
	w->kh = kh;
	w->kw = kw;
	if (n->one_d) {
		/* N,C,L as N,C,1,L: the ONNX attributes are the W axis' */
		w->sh = w->dh = 1;
		w->sw = ox_get(n, "strides", 0, 1, &bad);
		w->dw = ox_get(n, "dilations", 0, 1, &bad);
		w->pl = ox_get(n, "pads", 0, 0, &bad);
		w->pr = ox_get(n, "pads", 1, 0, &bad);
		if (bad || (mcai_ox_attr_ints(n, "pads", &v) >= 0 &&
			    mcai_ox_attr_ints(n, "pads", &v) != 2))
			return mcai_ox_node_refuse(g, n, "strides, dilations or pads not 1-D");
	} else {
		w->sh = ox_get(n, "strides", 0, 1, &bad);
		w->sw = ox_get(n, "strides", 1, 1, &bad);
		w->dh = ox_get(n, "dilations", 0, 1, &bad);
		w->dw = ox_get(n, "dilations", 1, 1, &bad);
		w->pt = ox_get(n, "pads", 0, 0, &bad);
		w->pl = ox_get(n, "pads", 1, 0, &bad);
		w->pb = ox_get(n, "pads", 2, 0, &bad);
		w->pr = ox_get(n, "pads", 3, 0, &bad);
		if (bad || (mcai_ox_attr_ints(n, "pads", &v) >= 0 &&
			    mcai_ox_attr_ints(n, "pads", &v) != 4))
			return mcai_ox_node_refuse(g, n, "strides, dilations or pads not 2-D");
	}
	if (!w->sh || !w->sw || !w->dh || !w->dw || !kh || !kw)
		return mcai_ox_node_refuse(g, n, "zero stride, dilation or kernel");
	eh = (kh - 1) * w->dh + 1;
	ew = (kw - 1) * w->dw + 1;
	if (ap && (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"))) {
		u32 oh = (x->dims[2] + w->sh - 1) / w->sh;
		u32 ow = (x->dims[3] + w->sw - 1) / w->sw;
		s64 th = (s64)(oh - 1) * w->sh + eh - x->dims[2];
		s64 tw = (s64)(ow - 1) * w->sw + ew - x->dims[3];
		bool lower = !strcmp(ap, "SAME_LOWER");

		th = th < 0 ? 0 : th;
		tw = tw < 0 ? 0 : tw;
		w->pt = (u32)(lower ? th - th / 2 : th / 2);
		w->pb = (u32)th - w->pt;
		w->pl = (u32)(lower ? tw - tw / 2 : tw / 2);
		w->pr = (u32)tw - w->pl;
	} else if (ap && !strcmp(ap, "VALID")) {
		w->pt = w->pl = w->pb = w->pr = 0;
	} else if (ap && strcmp(ap, "NOTSET")) {
		return mcai_ox_node_refuse(g, n, "auto_pad %s not supported", ap);
	}
	if ((u64)x->dims[2] + w->pt + w->pb < eh ||
	    (u64)x->dims[3] + w->pl + w->pr < ew)
		return mcai_ox_node_refuse(g, n, "window larger than the padded input");
	w->oh = (x->dims[2] + w->pt + w->pb - eh) / w->sh + 1;
	w->ow = (x->dims[3] + w->pl + w->pr - ew) / w->sw + 1;
	return 0;
}

static float ox_act(const struct mcai_ox_node *n, float v)
{
	if (n->act == MCAI_OX_ACT_RELU)
		return v > 0 ? v : 0;
	if (n->act == MCAI_OX_ACT_CLIP)
		return v < n->act_lo ? n->act_lo : v > n->act_hi ? n->act_hi : v;
	return v;
}

static int ox_conv(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
		   u64 *macs)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]], *w, *b = NULL;
	struct mcai_ox_window win;
	u32 oc, ic, cg, og, dims[4], o, y, xx, c, i, j;
	struct mcai_ox_tensor *out;

	if (n->n_in < 2 || n->in[1] < 0 || !g->t[n->in[1]].is_const)
		return mcai_ox_node_refuse(g, n, "weights are not a constant");
	w = &g->t[n->in[1]];
	if (n->n_in > 2 && n->in[2] >= 0) {
		b = &g->t[n->in[2]];
		if (!b->is_const)
			return mcai_ox_node_refuse(g, n, "bias is not a constant");
	}
	if (w->rank != 4)
		return mcai_ox_node_refuse(g, n, "weights of rank %u: only 1-D and 2-D convolutions supported", w->rank);
	if (mcai_ox_window(g, n, x, w->dims[2], w->dims[3], &win))
		return -1;
	win.group = (u32)mcai_ox_attr_int_or(n, "group", 1);
	oc = w->dims[0];
	ic = x->dims[1];
	if (!win.group || ic % win.group || oc % win.group ||
	    w->dims[1] != ic / win.group)
		return mcai_ox_node_refuse(g, n, "weights [%u,%u,..] do not fit %u input channels in %u groups",
					   oc, w->dims[1], ic, win.group);
	if (b && mcai_ox_elems(b) != oc)
		return mcai_ox_node_refuse(g, n, "bias is not one per output channel");
	cg = ic / win.group;
	og = oc / win.group;
	dims[0] = 1;
	dims[1] = oc;
	dims[2] = win.oh;
	dims[3] = win.ow;
	*macs += (u64)oc * win.oh * win.ow * cg * win.kh * win.kw;
	if (*macs > MCAI_OX_MAX_EVAL_MACS)
		return mcai_ox_node_refuse(g, n, "more than 2^27 MACs");
	if (ox_out(g, n, 4, dims))
		return -1;
	out = &g->t[n->out[0]];
	x = &g->t[n->in[0]];
	w = &g->t[n->in[1]];
	b = n->n_in > 2 && n->in[2] >= 0 ? &g->t[n->in[2]] : NULL;
	for (o = 0; o < oc; o++) {
		u32 g0 = o / og;

		for (y = 0; y < win.oh; y++)
			for (xx = 0; xx < win.ow; xx++) {
				double acc = b ? b->f[o] : 0;

				for (c = 0; c < cg; c++)
					for (i = 0; i < win.kh; i++) {
						s64 iy = (s64)y * win.sh + (s64)i * win.dh - win.pt;

						if (iy < 0 || iy >= x->dims[2])
							continue;
						for (j = 0; j < win.kw; j++) {
							s64 ix = (s64)xx * win.sw + (s64)j * win.dw - win.pl;

							if (ix < 0 || ix >= x->dims[3])
								continue;
							acc += (double)x->f[((u64)(g0 * cg + c) * x->dims[2] + iy) * x->dims[3] + ix] *
							       w->f[(((u64)o * cg + c) * win.kh + i) * win.kw + j];
						}
					}
				out->f[((u64)o * win.oh + y) * win.ow + xx] =
					ox_act(n, (float)acc);
			}
	}
	return 0;
}

static int ox_fc(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
		 u64 *macs)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]], *w = &g->t[n->in[1]];
	const struct mcai_ox_tensor *b = n->n_in > 2 && n->in[2] >= 0 ?
					 &g->t[n->in[2]] : NULL;
	u32 in = w->dims[1], out = w->dims[0], dims[2] = { 1, out }, o, i;
	struct mcai_ox_tensor *y;

	if (mcai_ox_elems(x) != in)
		return mcai_ox_node_refuse(g, n, "input of %llu elements for %u weights a row (batch 1 only)",
					   (unsigned long long)mcai_ox_elems(x), in);
	if (b && mcai_ox_elems(b) != out)
		return mcai_ox_node_refuse(g, n, "bias is not one per output");
	*macs += (u64)in * out;
	if (*macs > MCAI_OX_MAX_EVAL_MACS)
		return mcai_ox_node_refuse(g, n, "more than 2^27 MACs");
	if (ox_out(g, n, 2, dims))
		return -1;
	y = &g->t[n->out[0]];
	x = &g->t[n->in[0]];
	w = &g->t[n->in[1]];
	b = n->n_in > 2 && n->in[2] >= 0 ? &g->t[n->in[2]] : NULL;
	for (o = 0; o < out; o++) {
		double acc = b ? b->f[o] : 0;

		for (i = 0; i < in; i++)
			acc += (double)x->f[i] * w->f[(u64)o * in + i];
		y->f[o] = ox_act(n, (float)acc);
	}
	return 0;
}

/* numpy broadcasting of two operands of rank <= 4 */
static int ox_binary(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *a, *b;
	u32 r, da[4], db[4], dims[4], k, idx[4] = { 0 };
	bool add = ox_is(n, "Add"), sub = ox_is(n, "Sub");
	struct mcai_ox_tensor *y;
	u64 e, i;

	if (n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
		return mcai_ox_node_refuse(g, n, "needs two inputs");
	a = &g->t[n->in[0]];
	b = &g->t[n->in[1]];
	r = a->rank > b->rank ? a->rank : b->rank;
	for (k = 0; k < r; k++) {
		da[k] = k + a->rank >= r ? a->dims[k + a->rank - r] : 1;
		db[k] = k + b->rank >= r ? b->dims[k + b->rank - r] : 1;
		if (da[k] != db[k] && da[k] != 1 && db[k] != 1)
			return mcai_ox_node_refuse(g, n, "shapes do not broadcast");
		/* an empty constant broadcast against 1 would be read as 1 */
		if (!da[k] || !db[k])
			return mcai_ox_node_refuse(g, n, "empty operand");
		dims[k] = da[k] > db[k] ? da[k] : db[k];
	}
	if (ox_out(g, n, r, dims))
		return -1;
	y = &g->t[n->out[0]];
	a = &g->t[n->in[0]];
	b = &g->t[n->in[1]];
	e = mcai_ox_elems(y);
	for (i = 0; i < e; i++) {
		u64 ia = 0, ib = 0;
		float v;

		for (k = 0; k < r; k++) {
			ia = ia * da[k] + (da[k] == 1 ? 0 : idx[k]);
			ib = ib * db[k] + (db[k] == 1 ? 0 : idx[k]);
		}
		v = add ? a->f[ia] + b->f[ib] : sub ? a->f[ia] - b->f[ib] :
		    a->f[ia] * b->f[ib];
		y->f[i] = ox_act(n, v);
		for (k = r; k-- > 0;) {
			if (++idx[k] < dims[k])
				break;
			idx[k] = 0;
		}
	}
	return 0;
}

static int ox_unary(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]];
	float alpha = mcai_ox_attr_float_or(n, "alpha", 0.2f);
	float beta = mcai_ox_attr_float_or(n, "beta", 0.5f);
	float lo = -INFINITY, hi = INFINITY;
	struct mcai_ox_tensor *y;
	u64 e, i;

	if (ox_is(n, "Clip")) {
		lo = mcai_ox_attr_float_or(n, "min", -INFINITY);
		hi = mcai_ox_attr_float_or(n, "max", INFINITY);
		if (n->n_in > 1 && n->in[1] >= 0)
			lo = g->t[n->in[1]].f[0];
		if (n->n_in > 2 && n->in[2] >= 0)
			hi = g->t[n->in[2]].f[0];
	}
	if (ox_out(g, n, x->rank, x->dims))
		return -1;
	y = &g->t[n->out[0]];
	x = &g->t[n->in[0]];
	e = mcai_ox_elems(x);
	for (i = 0; i < e; i++) {
		double v = x->f[i];

		if (ox_is(n, "Relu"))
			v = v > 0 ? v : 0;
		else if (ox_is(n, "Clip"))
			v = v < lo ? lo : v > hi ? hi : v;
		else if (ox_is(n, "Sigmoid"))
			v = 1 / (1 + exp(-v));
		else if (ox_is(n, "Tanh"))
			v = tanh(v);
		else if (ox_is(n, "HardSigmoid"))
			v = fmax(0, fmin(1, alpha * v + beta));
		else if (ox_is(n, "HardSwish"))
			v = v * fmax(0, fmin(1, v / 6 + 0.5));
		y->f[i] = (float)v;
	}
	return 0;
}

static int ox_pool(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]];
	bool global = ox_is(n, "GlobalAveragePool"), max = ox_is(n, "MaxPool");
	struct mcai_ox_window win = { 0 };
	u32 dims[4], c, y, xx, i, j;
	struct mcai_ox_tensor *out;
	bool include_pad = false;

	if (x->rank != 4)
		return mcai_ox_node_refuse(g, n, "input of rank %u, only NCL and NCHW supported", x->rank);
	if (global) {
		win.kh = win.oh = x->dims[2];
		win.kw = win.ow = x->dims[3];
		win.sh = win.sw = 1;
		win.oh = win.ow = 1;
	} else {
		u32 kh, kw;

		if (mcai_ox_pool_kernel(n, &kh, &kw))
			return mcai_ox_node_refuse(g, n, "kernel_shape is not %s",
						   n->one_d ? "1-D" : "2-D");
		if (mcai_ox_attr_int_or(n, "ceil_mode", 0))
			return mcai_ox_node_refuse(g, n, "ceil_mode 1 not supported");
		if (mcai_ox_window(g, n, x, kh, kw, &win))
			return -1;
		if (win.dh != 1 || win.dw != 1)
			return mcai_ox_node_refuse(g, n, "dilations not supported");
		/* with padding, lowered as a depthwise convolution */
		include_pad = !max && mcai_ox_attr_int_or(n, "count_include_pad", 0);
		if (win.pt >= kh || win.pb >= kh || win.pl >= kw || win.pr >= kw)
			return mcai_ox_node_refuse(g, n, "padding as large as the window");
	}
	if (n->n_out > 1 && n->out[1] >= 0)
		return mcai_ox_node_refuse(g, n, "the Indices output not supported");
	dims[0] = 1;
	dims[1] = x->dims[1];
	dims[2] = win.oh;
	dims[3] = win.ow;
	if (ox_out(g, n, 4, dims))
		return -1;
	out = &g->t[n->out[0]];
	x = &g->t[n->in[0]];
	for (c = 0; c < x->dims[1]; c++)
		for (y = 0; y < win.oh; y++)
			for (xx = 0; xx < win.ow; xx++) {
				double acc = max ? -INFINITY : 0;
				u32 cnt = 0;

				for (i = 0; i < win.kh; i++) {
					s64 iy = (s64)y * win.sh + i - win.pt;

					if (iy < 0 || iy >= x->dims[2])
						continue;
					for (j = 0; j < win.kw; j++) {
						s64 ix = (s64)xx * win.sw + j - win.pl;
						float v;

						if (ix < 0 || ix >= x->dims[3])
							continue;
						v = x->f[((u64)c * x->dims[2] + iy) * x->dims[3] + ix];
						acc = max ? fmax(acc, v) : acc + v;
						cnt++;
					}
				}
				out->f[((u64)c * win.oh + y) * win.ow + xx] =
					ox_act(n, (float)(max ? acc : acc /
						(include_pad ? win.kh * win.kw : cnt)));
			}
	return 0;
}

static int ox_reduce_mean(struct mcai_ox_graph *g, struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]];
	s64 keep = mcai_ox_attr_int_or(n, "keepdims", 1);
	u32 mask = 0, dims[4], rank = 0, k, idx[4] = { 0 };
	const s64 *axes;
	long na = mcai_ox_attr_ints(n, "axes", &axes);
	struct mcai_ox_tensor *y;
	u64 e, i, cnt = 1;
	double *acc;

	if (na < 0 && n->n_in > 1 && n->in[1] >= 0) {
		const struct mcai_ox_tensor *a = &g->t[n->in[1]];

		if (!a->is_const)
			return mcai_ox_node_refuse(g, n, "axes are not a constant");
		for (i = 0; i < mcai_ox_elems(a); i++) {
			long v;

			if (!(a->f[i] >= -8 && a->f[i] <= 8))
				return mcai_ox_node_refuse(g, n, "axis out of range");
			v = (long)a->f[i];
			v += v < 0 ? (long)x->rank : 0;
			if (v < 0 || v >= (long)x->rank)
				return mcai_ox_node_refuse(g, n, "axis out of range");
			mask |= 1U << v;
		}
	} else if (na < 0) {
		mask = (1U << x->rank) - 1;
	}
	for (k = 0; na > 0 && k < (u32)na; k++) {
		s64 v = axes[k] + (axes[k] < 0 ? x->rank : 0);

		if (v < 0 || v >= x->rank)
			return mcai_ox_node_refuse(g, n, "axis out of range");
		mask |= 1U << v;
	}
	for (k = 0; k < x->rank; k++) {
		if (mask & (1U << k))
			cnt *= x->dims[k];
		if (!(mask & (1U << k)))
			dims[rank++] = x->dims[k];
		else if (keep)
			dims[rank++] = 1;
	}
	if (!rank)
		dims[rank++] = 1;
	if (ox_out(g, n, rank, dims))
		return -1;
	y = &g->t[n->out[0]];
	x = &g->t[n->in[0]];
	acc = calloc(mcai_ox_elems(y), sizeof(double));
	if (!acc)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	e = mcai_ox_elems(x);
	for (i = 0; i < e; i++) {
		u64 o = 0;

		for (k = 0; k < x->rank; k++)
			if (!(mask & (1U << k)))
				o = o * x->dims[k] + idx[k];
		acc[o] += x->f[i];
		for (k = x->rank; k-- > 0;) {
			if (++idx[k] < x->dims[k])
				break;
			idx[k] = 0;
		}
	}
	for (i = 0; i < mcai_ox_elems(y); i++)
		y->f[i] = (float)(acc[i] / cnt);
	free(acc);
	n->axes = mask;
	return 0;
}

static int ox_reshape(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]];
	u32 dims[4], rank, k;
	u64 a = 1;

	if (ox_is(n, "Flatten")) {
		s64 axis = mcai_ox_attr_int_or(n, "axis", 1);

		if (axis < 0)
			axis += x->rank;
		if (axis < 0 || axis > x->rank)
			return mcai_ox_node_refuse(g, n, "axis out of range");
		for (k = 0; k < axis; k++)
			a *= x->dims[k];
		rank = 2;
		dims[0] = (u32)a;
		dims[1] = (u32)(mcai_ox_elems(x) / a);
	} else {
		struct mcai_ox_tensor s;
		float f[MCAI_OX_MAX_RANK];

		if (n->n_in < 2 || n->in[1] < 0 || !g->t[n->in[1]].is_const)
			return mcai_ox_node_refuse(g, n, "shape is not a constant");
		s = g->t[n->in[1]];
		/* the declared batch, written into the shape, is one sample's 1 */
		if (g->batched && g->batch > 1 && !x->is_const && s.rank == 1 &&
		    s.dims[0] >= 2 && s.dims[0] <= MCAI_OX_MAX_RANK &&
		    s.f[0] == (float)g->batch) {
			memcpy(f, s.f, s.dims[0] * sizeof(float));
			f[0] = 1;
			s.f = f;
		}
		if (mcai_ox_reshape_dims(g, n, x, &s, &rank, dims))
			return -1;
	}
	if (ox_out(g, n, rank, dims))
		return -1;
	memcpy(g->t[n->out[0]].f, g->t[n->in[0]].f,
	       mcai_ox_elems(&g->t[n->in[0]]) * sizeof(float));
	return 0;
}

static int ox_concat(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x0 = &g->t[n->in[0]];
	s64 axis = mcai_ox_attr_int_or(n, "axis", 1);
	u32 dims[4], k, d;
	u64 outer = 1, at = 0, o;

	if (axis < 0)
		axis += x0->rank;
	if (axis < 0 || axis >= x0->rank)
		return mcai_ox_node_refuse(g, n, "axis out of range");
	if (n->n_in > 4)
		return mcai_ox_node_refuse(g, n, "%u inputs, at most 4 supported", n->n_in);
	memcpy(dims, x0->dims, sizeof(dims));
	dims[axis] = 0;
	for (k = 0; k < n->n_in; k++) {
		const struct mcai_ox_tensor *x = &g->t[n->in[k]];

		if (n->in[k] < 0 || x->rank != x0->rank)
			return mcai_ox_node_refuse(g, n, "inputs of different ranks");
		for (d = 0; d < x->rank; d++)
			if (d != axis && x->dims[d] != x0->dims[d])
				return mcai_ox_node_refuse(g, n, "inputs differ outside the axis");
		dims[axis] += x->dims[axis];
	}
	if (ox_out(g, n, x0->rank, dims))
		return -1;
	for (d = 0; d < axis; d++)
		outer *= dims[d];
	for (k = 0; k < n->n_in; k++) {
		const struct mcai_ox_tensor *x = &g->t[n->in[k]];
		u64 chunk = mcai_ox_elems(x) / outer;
		u64 stride = mcai_ox_elems(&g->t[n->out[0]]) / outer;

		for (o = 0; o < outer; o++)
			memcpy(g->t[n->out[0]].f + o * stride + at,
			       x->f + o * chunk, chunk * sizeof(float));
		at += chunk;
	}
	return 0;
}

static int ox_softmax(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]];
	s64 axis = mcai_ox_attr_int_or(n, "axis", g->opset >= 13 ? -1 : 1);
	u32 depth, inner = 1, d;
	u64 rows, r, i, k;

	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis >= x->rank)
		return mcai_ox_node_refuse(g, n, "axis out of range");
	/* over the channels of NCHW, the innermost of NHWC, or the last */
	if (axis != x->rank - 1 && !(x->rank == 4 && axis == 1))
		return mcai_ox_node_refuse(g, n, "axis %lld: only the last axis or NCHW channels supported",
					   (long long)axis);
	if (ox_out(g, n, x->rank, x->dims))
		return -1;
	x = &g->t[n->in[0]];
	depth = x->dims[axis];
	for (d = (u32)axis + 1; d < x->rank; d++)
		inner *= x->dims[d];
	rows = mcai_ox_elems(x) / depth / inner;
	for (r = 0; r < rows; r++)
		for (i = 0; i < inner; i++) {
			const float *src = x->f + r * depth * inner + i;
			float *dst = g->t[n->out[0]].f + r * depth * inner + i;
			double mx = -INFINITY, sum = 0;

			for (k = 0; k < depth; k++)
				mx = fmax(mx, src[k * inner]);
			for (k = 0; k < depth; k++)
				sum += exp(src[k * inner] - mx);
			for (k = 0; k < depth; k++)
				dst[k * inner] = (float)(exp(src[k * inner] - mx) / sum);
		}
	return 0;
}

static int ox_pad(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]];
	const char *mode = mcai_ox_attr_string(n, "mode");
	u32 before[4] = { 0 }, after[4] = { 0 }, dims[4], d, idx[4] = { 0 };
	const s64 *pv;
	long np = mcai_ox_attr_ints(n, "pads", &pv);
	/* a 1-D signal's pads are N,C,L's: L is the held W axis */
	u32 r = x->one_d ? 3 : x->rank;
	u64 i, e;

	if (mode && strcmp(mode, "constant"))
		return mcai_ox_node_refuse(g, n, "mode %s not supported", mode);
	if (n->n_in > 2 && n->in[2] >= 0 &&
	    (!g->t[n->in[2]].is_const || g->t[n->in[2]].f[0] != 0))
		return mcai_ox_node_refuse(g, n, "a constant value other than 0 not supported");
	if (n->n_in > 3 && n->in[3] >= 0)
		return mcai_ox_node_refuse(g, n, "the axes input not supported");
	if (np < 0 && n->n_in > 1 && n->in[1] >= 0) {
		const struct mcai_ox_tensor *p = &g->t[n->in[1]];

		if (!p->is_const || mcai_ox_elems(p) != 2ULL * r)
			return mcai_ox_node_refuse(g, n, "pads are not 2 * rank constants");
		for (d = 0; d < r; d++) {
			/* written so that NaN is refused too */
			if (!(p->f[d] >= 0 && p->f[r + d] >= 0 &&
			      p->f[d] <= 65536 && p->f[r + d] <= 65536))
				return mcai_ox_node_refuse(g, n, "negative or huge pads not supported");
			before[x->one_d && d == 2 ? 3 : d] = (u32)p->f[d];
			after[x->one_d && d == 2 ? 3 : d] = (u32)p->f[r + d];
		}
	} else if (np == 2L * r) {
		for (d = 0; d < r; d++) {
			if (pv[d] < 0 || pv[r + d] < 0 ||
			    pv[d] > 65536 || pv[r + d] > 65536)
				return mcai_ox_node_refuse(g, n, "negative or huge pads not supported");
			before[x->one_d && d == 2 ? 3 : d] = (u32)pv[d];
			after[x->one_d && d == 2 ? 3 : d] = (u32)pv[r + d];
		}
	} else {
		return mcai_ox_node_refuse(g, n, "pads are not 2 * rank values");
	}
	for (d = 0; d < x->rank; d++)
		dims[d] = x->dims[d] + before[d] + after[d];
	if (ox_out(g, n, x->rank, dims))
		return -1;
	x = &g->t[n->in[0]];
	memset(g->t[n->out[0]].f, 0,
	       mcai_ox_elems(&g->t[n->out[0]]) * sizeof(float));
	e = mcai_ox_elems(x);
	for (i = 0; i < e; i++) {
		u64 o = 0;

		for (d = 0; d < x->rank; d++)
			o = o * dims[d] + idx[d] + before[d];
		g->t[n->out[0]].f[o] = x->f[i];
		for (d = x->rank; d-- > 0;) {
			if (++idx[d] < x->dims[d])
				break;
			idx[d] = 0;
		}
	}
	return 0;
}

static int ox_eval_node(struct mcai_ox_graph *g, struct mcai_ox_node *n,
			u64 *macs)
{
	u32 k;

	if (!n->n_in || n->in[0] < 0 || n->out[0] < 0)
		return mcai_ox_node_refuse(g, n, "no input or no output");
	for (k = 0; k < n->n_in; k++)
		if (n->in[k] >= 0 && !g->t[n->in[k]].f)
			return mcai_ox_node_refuse(g, n, "input \"%s\" has no value",
						   g->t[n->in[k]].name);
	if (n->domain[0] && strcmp(n->domain, "ai.onnx") &&
	    strcmp(n->domain, "com.microsoft"))
		return mcai_ox_node_refuse(g, n, "domain %s not supported here", n->domain);
	if (ox_is(n, "Conv"))
		return ox_conv(g, n, macs);
	if (ox_is(n, "FC"))
		return ox_fc(g, n, macs);
	if (ox_is(n, "Add") || ox_is(n, "Mul") || ox_is(n, "Sub"))
		return ox_binary(g, n);
	if (ox_is(n, "Relu") || ox_is(n, "Clip") || ox_is(n, "Sigmoid") ||
	    ox_is(n, "Tanh") || ox_is(n, "HardSigmoid") || ox_is(n, "HardSwish"))
		return ox_unary(g, n);
	if (ox_is(n, "MaxPool") || ox_is(n, "AveragePool") ||
	    ox_is(n, "GlobalAveragePool"))
		return ox_pool(g, n);
	if (ox_is(n, "ReduceMean"))
		return ox_reduce_mean(g, n);
	if (ox_is(n, "Flatten") || ox_is(n, "Reshape"))
		return ox_reshape(g, n);
	if (ox_is(n, "Concat"))
		return ox_concat(g, n);
	if (ox_is(n, "Softmax"))
		return ox_softmax(g, n);
	if (ox_is(n, "Pad"))
		return ox_pad(g, n);
	if (ox_is(n, "MatMul"))
		return mcai_ox_node_refuse(g, n, "a product of two activations not supported");
	if (ox_is(n, "BatchNormalization"))
		return mcai_ox_node_refuse(g, n, "not after a Conv or Gemm it can be folded into");
	if (ox_is(n, "Transpose"))
		return mcai_ox_node_refuse(g, n, "transposing an activation not supported");
	if (ox_is(n, "DynamicQuantizeLinear"))
		return mcai_ox_node_refuse(g, n, "dynamic quantisation not supported: quantise statically");
	return mcai_ox_node_refuse(g, n, "op not supported");
}

/*
 * A model with a batch axis (g->batched) is imported for one sample and
 * run sample by sample: an op that mixes samples (concatenates, reduces,
 * flattens or reshapes across the batch axis) would compute something
 * else per sample, so it is refused.
 */
static int ox_batch_ok(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	const struct mcai_ox_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
	s64 axis = mcai_ox_attr_int_or(n, "axis", 1);

	if (!g->batched || x->is_const || x->rank < 2)
		return 0;
	if (axis < 0)
		axis += x->rank;
	if ((ox_is(n, "Flatten") && !axis) ||
	    (ox_is(n, "ReduceMean") && (n->axes & 1U)))
		return mcai_ox_node_refuse(g, n, "works across the batch axis (a batch runs sample by sample)");
	if (y->rank < 2 || y->dims[0] != 1)
		return mcai_ox_node_refuse(g, n, "its output does not keep the batch axis first (a batch runs sample by sample)");
	return 0;
}

/*
 * A 1-D signal (ONNX N,C,L, held as N,C,1,L by onnx_rewrite.c) stays one
 * through the ops that name no axis; of those that do, the ones whose
 * axis means the same in both shapes are kept (channels, or the last),
 * the rest refused.
 */
static int ox_one_d(struct mcai_ox_graph *g, const struct mcai_ox_node *n)
{
	static const char *const plain[] = {
		"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu",
		"Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Add",
		"Mul", "Sub", "Pad", NULL,
	};
	const struct mcai_ox_tensor *x = &g->t[n->in[0]];
	struct mcai_ox_tensor *y = &g->t[n->out[0]];
	bool ok = false;
	u32 k;

	for (k = 0; k < n->n_in; k++) {
		const struct mcai_ox_tensor *t;

		if (n->in[k] < 0)
			continue;
		t = &g->t[n->in[k]];
		if (t->one_d)
			ok = true;
		else if (ok || (k && g->t[n->in[0]].one_d))
			if (t->rank >= 2 && !(ox_is(n, "Conv") && k))
				return mcai_ox_node_refuse(g, n, "mixes a 1-D signal (N,C,L) with a tensor of rank %u",
							   t->rank);
	}
	if (!ok)
		return 0;
	if (!x->one_d)
		return mcai_ox_node_refuse(g, n, "mixes a 1-D signal (N,C,L) with a tensor of rank %u", x->rank);
	for (k = 0; plain[k]; k++)
		ok = ok && strcmp(n->op, plain[k]);
	if (ok) {
		s64 axis = mcai_ox_attr_int_or(n, "axis", ox_is(n, "Softmax") &&
					       g->opset >= 13 ? -1 : 1);

		if (!(ox_is(n, "Concat") && (axis == 1 || axis == -1)) &&
		    !((ox_is(n, "Softmax") || ox_is(n, "Flatten")) && axis == 1))
			return mcai_ox_node_refuse(g, n, "not supported on a 1-D signal (N,C,L): only Conv, pools, activations, Add/Mul, Pad, Flatten and Softmax (axis 1), Concat (axis 1 or -1)");
	}
	y->one_d = y->rank == 4;
	return 0;
}

int mcai_ox_eval(struct mcai_ox_graph *g, float *const *inputs)
{
	u64 macs = 0;
	u32 i;

	for (i = 0; i < g->n_in; i++) {
		struct mcai_ox_tensor *t = &g->t[g->in[i]];
		u64 e = mcai_ox_elems(t);

		if (!t->f)
			t->f = calloc(e, sizeof(float));
		if (!t->f)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		if (inputs)
			memcpy(t->f, inputs[i], e * sizeof(float));
	}
	for (i = 0; i < g->n_n; i++) {
		struct mcai_ox_node *n = &g->n[i];
		struct mcai_ox_tensor *y;
		u64 e, k;

		if (n->dead)
			continue;
		if (ox_eval_node(g, n, &macs) || ox_one_d(g, n) ||
		    ox_batch_ok(g, n))
			return -1;
		y = &g->t[n->out[0]];
		e = mcai_ox_elems(y);
		for (k = 0; inputs && k < e; k++) {
			float v = y->f[k];

			if (!isfinite(v))
				return mcai_ox_node_refuse(g, n, "a calibration sample gives a non-finite value");
			if (!y->calibrated) {
				y->lo = y->hi = v;
				y->calibrated = true;
			}
			y->lo = v < y->lo ? v : y->lo;
			y->hi = v > y->hi ? v : y->hi;
		}
	}
	for (i = 0; inputs && i < g->n_in; i++) {
		struct mcai_ox_tensor *t = &g->t[g->in[i]];
		u64 k;

		for (k = 0; k < mcai_ox_elems(t); k++) {
			float v = t->f[k];

			if (!isfinite(v))
				return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
						      "input \"%s\": a calibration sample is not finite", t->name);
			if (!t->calibrated) {
				t->lo = t->hi = v;
				t->calibrated = true;
			}
			t->lo = v < t->lo ? v : t->lo;
			t->hi = v > t->hi ? v : t->hi;
		}
	}
	return 0;
}
