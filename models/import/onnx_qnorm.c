// SPDX-License-Identifier: GPL-2.0
/*
 * Quantised ONNX forms into one float graph whose tensors carry their
 * quantisation (onnx_ir.h), so that QDQ, QOperator and calibrated float
 * models are lowered by the same code:
 *
 *   QuantizeLinear / DequantizeLinear on an activation fix that
 *   activation's scale and zero point and vanish (the engine holds the
 *   quantised values anyway); on a constant they dequantise it, keeping
 *   int8 weights with zero point 0 and int32 biases exactly, so the blob
 *   carries the source model's integers rather than requantised ones;
 *   QLinearConv, QLinearMatMul, QLinearAdd, QLinearAveragePool,
 *   QLinearGlobalAveragePool, QLinearSigmoid, QLinearLeakyRelu and
 *   QLinearConcat become their float op with the quantisation of their
 *   inputs and outputs fixed; ConvInteger / MatMulInteger followed by
 *   Cast and a constant Mul become a Conv / MatMul whose weights carry
 *   the Mul's scale.
 *
 * uint8 quantisation becomes int8 with the zero point moved by -128:
 * the same real values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/import/onnx_ir.h"

static bool ox_is(const struct mcai_ox_node *n, const char *op)
{
	return !strcmp(n->op, op);
}

/* A constant's element @k as an int8-domain zero point. */
static int ox_zp(const struct mcai_ox_tensor *z, u64 k, s32 *zp)
{
	if (!z) {
		*zp = -128;	/* absent: uint8, zero point 0 */
		return 0;
	}
	/* int8 and uint8 constants hold their exact values as floats */
	if (z->onnx_type != MCAI_OX_UINT8 && z->onnx_type != MCAI_OX_INT8)
		return -1;
	*zp = (s32)z->f[k];
	if (z->onnx_type == MCAI_OX_UINT8)
		*zp -= 128;
	return 0;
}

/* The per-tensor scale and zero point of inputs @si, @zi of @n. */
static int ox_qpair(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
		    u32 si, u32 zi, float *scale, s32 *zp)
{
	const struct mcai_ox_tensor *s, *z = NULL;

	if (si >= n->n_in || n->in[si] < 0 || !g->t[n->in[si]].is_const)
		return mcai_ox_node_refuse(g, n, "scale is not a constant");
	s = &g->t[n->in[si]];
	if (zi < n->n_in && n->in[zi] >= 0) {
		z = &g->t[n->in[zi]];
		if (!z->is_const)
			return mcai_ox_node_refuse(g, n, "zero point is not a constant");
		if (mcai_ox_elems(z) != 1)
			return mcai_ox_node_refuse(g, n, "per-axis activation zero points not supported");
	}
	if (mcai_ox_elems(s) != 1)
		return mcai_ox_node_refuse(g, n, "per-axis activation scales not supported");
	if (!(s->f[0] > 0) || !isfinite(s->f[0]))
		return mcai_ox_node_refuse(g, n, "scale %g is not positive", s->f[0]);
	if (ox_zp(z, 0, zp))
		return mcai_ox_node_refuse(g, n, "zero point is not int8 or uint8");
	*scale = s->f[0];
	return 0;
}

static int ox_setq(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
		   s32 ti, float scale, s32 zp)
{
	struct mcai_ox_tensor *t = &g->t[ti];

	if (t->has_q && (t->scale != scale || t->zp != zp))
		return mcai_ox_node_refuse(g, n,
					   "tensor \"%s\" quantised twice (scale %g zero point %d, then %g %d)",
					   t->name, t->scale, t->zp, scale, zp);
	t->has_q = true;
	t->scale = scale;
	t->zp = zp;
	return 0;
}

static int ox_qio(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
		  s32 ti, u32 si, u32 zi)
{
	float s;
	s32 zp;

	if (ti < 0)
		return mcai_ox_node_refuse(g, n, "a required input is missing");
	if (g->t[ti].is_const)
		return mcai_ox_node_refuse(g, n, "quantised activation \"%s\" is a constant",
					   g->t[ti].name);
	return ox_qpair(g, n, si, zi, &s, &zp) ? -1 : ox_setq(g, n, ti, s, zp);
}

/*
 * A new constant: the dequantised values of integer @q (ti) with scales
 * @s along @axis (per-tensor when s has one element) and zero points @z.
 * int8 with zero point 0 stays exact (q8, qs); int32 biases too (i32).
 */
static s32 ox_dequant_const(struct mcai_ox_graph *g,
			    const struct mcai_ox_node *n, s32 qi, s32 si,
			    s32 zi, long axis)
{
	const struct mcai_ox_tensor *q = &g->t[qi], *s = &g->t[si];
	const struct mcai_ox_tensor *z = zi >= 0 ? &g->t[zi] : NULL;
	u64 ne = mcai_ox_elems(q), ns = mcai_ox_elems(s), k, inner = 1;
	struct mcai_ox_tensor *t;
	bool exact8;
	char name[64];
	s32 ti;
	u32 d;

	if (!s->is_const || (z && !z->is_const))
		return mcai_ox_node_refuse(g, n, "scale or zero point is not a constant");
	if (q->onnx_type != MCAI_OX_INT8 && q->onnx_type != MCAI_OX_UINT8 &&
	    q->onnx_type != MCAI_OX_INT32)
		return mcai_ox_node_refuse(g, n, "dequantises a constant of type %d, not int8, uint8 or int32",
					   q->onnx_type);
	if (z && z->onnx_type != q->onnx_type)
		return mcai_ox_node_refuse(g, n, "zero point type differs from the input's");
	if (z && mcai_ox_elems(z) != ns)
		return mcai_ox_node_refuse(g, n, "scale and zero point lengths differ");
	if (ns != 1) {
		if (axis < 0)
			axis += q->rank;
		if (axis < 0 || axis >= (long)q->rank || q->dims[axis] != ns)
			return mcai_ox_node_refuse(g, n, "per-axis scales do not match axis %ld", axis);
		for (d = (u32)axis + 1; d < q->rank; d++)
			inner *= q->dims[d];
	}
	snprintf(name, sizeof(name), "%s#dq", q->name);
	ti = mcai_ox_add_tensor(g, name);
	if (ti < 0)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED, "too many tensors");
	q = &g->t[qi];
	s = &g->t[si];
	z = zi >= 0 ? &g->t[zi] : NULL;
	t = &g->t[ti];
	t->is_const = t->known = true;
	t->onnx_type = MCAI_OX_FLOAT;
	t->rank = q->rank;
	memcpy(t->dims, q->dims, sizeof(t->dims));
	t->f = calloc(ne ? ne : 1, sizeof(float));
	t->qs = calloc(ns, sizeof(float));
	if (!t->f || !t->qs)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	t->nqs = (u32)ns;
	exact8 = q->onnx_type == MCAI_OX_INT8;
	for (k = 0; k < ns; k++) {
		s32 zp = 0;

		if (!(s->f[k] > 0) || !isfinite(s->f[k]))
			return mcai_ox_node_refuse(g, n, "scale %g is not positive", s->f[k]);
		t->qs[k] = s->f[k];
		if (z) {
			zp = z->i32 ? z->i32[k] : (s32)z->f[k];
			if (zp)
				exact8 = false;
		}
	}
	if (exact8) {
		t->q8 = calloc(ne ? ne : 1, 1);
		if (!t->q8)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	}
	if (q->onnx_type == MCAI_OX_INT32 && !z) {
		t->i32 = calloc(ne ? ne : 1, sizeof(s32));
		if (!t->i32)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	}
	for (k = 0; k < ne; k++) {
		u64 c = ns == 1 ? 0 : (k / inner) % ns;
		float zp = z ? z->f[c] : 0;

		t->f[k] = (float)(((double)q->f[k] - zp) * s->f[c]);
		if (t->q8) {
			/* -128 breaks the engine's symmetric-weight bound */
			if (q->f[k] < -127) {
				free(t->q8);
				t->q8 = NULL;
			} else {
				t->q8[k] = (s8)q->f[k];
			}
		}
		if (t->i32)
			t->i32[k] = q->i32 ? q->i32[k] : (s32)q->f[k];
	}
	t->qaxis = ns == 1 ? 0 : (u32)axis;
	return ti;
}

static int ox_dq(struct mcai_ox_graph *g, struct mcai_ox_node *n)
{
	s32 x = n->in[0], y = n->out[0];
	long axis = (long)mcai_ox_attr_int_or(n, "axis", 1);

	if (n->n_in < 2 || x < 0 || n->in[1] < 0 || y < 0)
		return mcai_ox_node_refuse(g, n, "needs an input and a scale");
	if (g->t[x].is_const) {
		s32 c = ox_dequant_const(g, n, x, n->in[1],
					 n->n_in > 2 ? n->in[2] : -1, axis);

		if (c < 0)
			return -1;
		mcai_ox_alias(g, y, c);
	} else {
		if (ox_qio(g, n, x, 1, 2))
			return -1;
		mcai_ox_alias(g, y, x);
	}
	n->dead = true;
	return 0;
}

static int ox_q(struct mcai_ox_graph *g, struct mcai_ox_node *n)
{
	s32 x = n->in[0], y = n->out[0];
	struct mcai_ox_tensor *t;
	float s;
	s32 zp;
	u64 k;

	if (n->n_in < 2 || x < 0 || y < 0)
		return mcai_ox_node_refuse(g, n, "needs an input and a scale");
	if (!g->t[x].is_const) {
		if (ox_qio(g, n, x, 1, 2))
			return -1;
		mcai_ox_alias(g, y, x);
		n->dead = true;
		return 0;
	}
	/* a float constant quantised in the graph: fold it */
	if (ox_qpair(g, n, 1, 2, &s, &zp))
		return -1;
	t = &g->t[y];
	t->is_const = t->known = true;
	t->rank = g->t[x].rank;
	memcpy(t->dims, g->t[x].dims, sizeof(t->dims));
	t->f = calloc(mcai_ox_elems(t) ? mcai_ox_elems(t) : 1, sizeof(float));
	if (!t->f)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	t->onnx_type = MCAI_OX_INT8;
	for (k = 0; k < mcai_ox_elems(t); k++) {
		double v = nearbyint(g->t[x].f[k] / s) + zp;

		/* NaN would pass the clamp and be an int8 nobody can cast */
		if (isnan(v))
			return mcai_ox_node_refuse(g, n, "quantises a NaN");
		t->f[k] = (float)(v < -128 ? -128 : v > 127 ? 127 : v);
	}
	/* its consumer sees int8 values with the int8-domain zero point */
	n->dead = true;
	return 0;
}

/* Weights (and scales, zero points) of a QLinear op as a new constant. */
static s32 ox_qweights(struct mcai_ox_graph *g, struct mcai_ox_node *n,
		       u32 wi, u32 si, u32 zi)
{
	if (wi >= n->n_in || n->in[wi] < 0 || !g->t[n->in[wi]].is_const)
		return mcai_ox_node_refuse(g, n, "weights are not a constant");
	if (si >= n->n_in || n->in[si] < 0)
		return mcai_ox_node_refuse(g, n, "weight scale missing");
	return ox_dequant_const(g, n, n->in[wi], n->in[si],
				zi < n->n_in ? n->in[zi] : -1, 0);
}

/* QLinearConv's int32 bias: in units of x_scale * w_scale[c]. */
static s32 ox_qbias(struct mcai_ox_graph *g, struct mcai_ox_node *n, s32 bi,
		    float xs, s32 wti)
{
	struct mcai_ox_tensor *b = &g->t[bi], *w, *t;
	char name[64];
	u64 k, nb = mcai_ox_elems(b);
	s32 ti;

	if (!b->is_const || b->onnx_type != MCAI_OX_INT32)
		return mcai_ox_node_refuse(g, n, "bias is not an int32 constant");
	snprintf(name, sizeof(name), "%s#b", b->name);
	ti = mcai_ox_add_tensor(g, name);
	if (ti < 0)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED, "too many tensors");
	b = &g->t[bi];
	w = &g->t[wti];
	t = &g->t[ti];
	if (w->nqs != 1 && w->nqs != nb)
		return mcai_ox_node_refuse(g, n, "bias length is not the output channels");
	t->is_const = t->known = true;
	t->onnx_type = MCAI_OX_FLOAT;
	t->rank = b->rank;
	memcpy(t->dims, b->dims, sizeof(t->dims));
	t->f = calloc(nb ? nb : 1, sizeof(float));
	t->i32 = calloc(nb ? nb : 1, sizeof(s32));
	if (!t->f || !t->i32)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	for (k = 0; k < nb; k++) {
		double sc = (double)xs * w->qs[w->nqs == 1 ? 0 : k];

		t->i32[k] = b->i32[k];
		t->f[k] = (float)(b->i32[k] * sc);
	}
	return ti;
}

/* QLinearConv, QLinearMatMul: x, weights, y (and a QLinearConv bias). */
static int ox_qlinear_dot(struct mcai_ox_graph *g, struct mcai_ox_node *n,
			  bool matmul)
{
	s32 bias = !matmul && n->n_in > 8 ? n->in[8] : -1;
	float xs, ys;
	s32 xz, yz, w, b;

	if (n->n_in < 8 || n->in[0] < 0 || n->out[0] < 0)
		return mcai_ox_node_refuse(g, n, "needs 8 inputs");
	if (ox_qpair(g, n, 1, 2, &xs, &xz) || ox_qpair(g, n, 6, 7, &ys, &yz) ||
	    ox_setq(g, n, n->in[0], xs, xz) || ox_setq(g, n, n->out[0], ys, yz))
		return -1;
	w = ox_qweights(g, n, 3, 4, 5);
	if (w < 0)
		return -1;
	n->in[1] = w;
	n->n_in = 2;
	if (bias >= 0) {
		b = ox_qbias(g, n, bias, xs, w);
		if (b < 0)
			return -1;
		n->in[2] = b;
		n->n_in = 3;
	}
	n->op = matmul ? "MatMul" : "Conv";
	return 0;
}

/* com.microsoft QLinearConcat: y_scale, y_zp, then (x, scale, zp) each. */
static int ox_qconcat(struct mcai_ox_graph *g, struct mcai_ox_node *n)
{
	u32 k, m;

	if (n->n_in < 5 || (n->n_in - 2) % 3)
		return mcai_ox_node_refuse(g, n, "inputs are not y_scale, y_zp and triples");
	if (ox_qio(g, n, n->out[0], 0, 1))
		return -1;
	for (k = 2, m = 0; k < n->n_in; k += 3, m++) {
		if (ox_qio(g, n, n->in[k], k + 1, k + 2))
			return -1;
		n->in[m] = n->in[k];
	}
	n->n_in = m;
	n->op = "Concat";
	return 0;
}

/*
 * ConvInteger / MatMulInteger -> Cast(float) -> Mul(constant scale): the
 * integer input is taken at scale 1 with its zero point, and the Mul's
 * scale moves into the dequantised weights.  Dynamic quantisation (an
 * input from DynamicQuantizeLinear) has no static scale and is refused.
 */
static int ox_integer(struct mcai_ox_graph *g, struct mcai_ox_node *n)
{
	struct mcai_ox_node *cast = NULL, *mul = NULL;
	struct mcai_ox_tensor *w, *sc;
	s32 x = n->in[0], wi = n->n_in > 1 ? n->in[1] : -1, c, other;
	bool matmul = ox_is(n, "MatMulInteger");
	u32 i, k, oc;
	u64 e, per;
	s32 xz = 0;

	if (x < 0 || wi < 0 || !g->t[wi].is_const)
		return mcai_ox_node_refuse(g, n, "weights are not a constant");
	/* the output channels are an axis of the weights: not a scalar */
	if (!g->t[wi].rank)
		return mcai_ox_node_refuse(g, n, "weights of rank 0");
	if (g->t[x].producer >= 0 &&
	    !strcmp(g->n[g->t[x].producer].op, "DynamicQuantizeLinear"))
		return mcai_ox_node_refuse(g, n, "dynamic quantisation (DynamicQuantizeLinear) not supported: quantise statically");
	for (i = 0; i < g->n_n; i++) {
		if (g->n[i].dead)
			continue;
		for (k = 0; k < g->n[i].n_in; k++) {
			if (g->n[i].in[k] == n->out[0] && ox_is(&g->n[i], "Cast"))
				cast = &g->n[i];
		}
	}
	if (!cast || g->t[n->out[0]].uses != 1)
		return mcai_ox_node_refuse(g, n, "output not consumed by one Cast and a constant Mul");
	for (i = 0; i < g->n_n; i++)
		if (!g->n[i].dead && ox_is(&g->n[i], "Mul") &&
		    (g->n[i].in[0] == cast->out[0] || g->n[i].in[1] == cast->out[0]))
			mul = &g->n[i];
	if (!mul || g->t[cast->out[0]].uses != 1)
		return mcai_ox_node_refuse(g, n, "output not consumed by one Cast and a constant Mul");
	other = mul->in[0] == cast->out[0] ? mul->in[1] : mul->in[0];
	if (other < 0 || !g->t[other].is_const)
		return mcai_ox_node_refuse(g, n, "the Mul after it is not by a constant scale");
	if (n->n_in > 2 && n->in[2] >= 0) {
		const struct mcai_ox_tensor *z = &g->t[n->in[2]];

		if (!z->is_const || mcai_ox_elems(z) != 1 || ox_zp(z, 0, &xz) ||
		    z->onnx_type != g->t[x].onnx_type)
			return mcai_ox_node_refuse(g, n, "input zero point is not one int8/uint8 constant");
	} else if (g->t[x].onnx_type == MCAI_OX_INT8) {
		xz = 0;
	} else {
		xz = -128;
	}
	if (ox_setq(g, n, x, 1.0f, xz))
		return -1;
	c = mcai_ox_add_tensor(g, "integer#w");
	if (c < 0)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED, "too many tensors");
	w = &g->t[c];
	sc = &g->t[other];
	{
		char *own = w->name;

		*w = g->t[wi];
		w->name = own;
	}
	w->q8 = NULL;
	w->qs = NULL;
	w->i32 = NULL;
	e = mcai_ox_elems(w);
	w->f = calloc(e ? e : 1, sizeof(float));
	if (!w->f)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	/* output channels: dim 0 of a Conv filter, the last of a MatMul's */
	oc = matmul ? w->dims[w->rank - 1] : w->dims[0];
	per = oc ? e / oc : 1;
	if (mcai_ox_elems(sc) != 1 && mcai_ox_elems(sc) != oc)
		return mcai_ox_node_refuse(g, n, "the Mul's scale is neither one value nor one per output channel");
	for (k = 0; k < e; k++) {
		u64 ch = matmul ? k % oc : k / per;
		float wz = 0;

		if (n->n_in > 3 && n->in[3] >= 0) {
			const struct mcai_ox_tensor *z = &g->t[n->in[3]];

			if (!z->is_const)
				return mcai_ox_node_refuse(g, n, "weight zero point is not a constant");
			wz = z->f[mcai_ox_elems(z) == 1 ? 0 : ch % mcai_ox_elems(z)];
		}
		w->f[k] = (g->t[wi].f[k] - wz) *
			  sc->f[mcai_ox_elems(sc) == 1 ? 0 : ch];
	}
	n->in[1] = c;
	n->n_in = 2;
	n->op = matmul ? "MatMul" : "Conv";
	n->out[0] = mul->out[0];
	cast->dead = true;
	mul->dead = true;
	return 0;
}

int mcai_ox_normalise_quant(struct mcai_ox_graph *g)
{
	u32 i;

	mcai_ox_count_uses(g);
	for (i = 0; i < g->n_n; i++) {
		struct mcai_ox_node *n = &g->n[i];
		int r = 0;

		if (n->dead)
			continue;
		if (ox_is(n, "DequantizeLinear"))
			r = ox_dq(g, n);
		else if (ox_is(n, "QuantizeLinear"))
			r = ox_q(g, n);
		else if (ox_is(n, "QLinearConv"))
			r = ox_qlinear_dot(g, n, false);
		else if (ox_is(n, "QLinearMatMul"))
			r = ox_qlinear_dot(g, n, true);
		else if (ox_is(n, "QLinearConcat"))
			r = ox_qconcat(g, n);
		else if (ox_is(n, "ConvInteger") || ox_is(n, "MatMulInteger"))
			r = ox_integer(g, n);
		else if (ox_is(n, "QLinearAdd") || ox_is(n, "QLinearMul")) {
			if (n->n_in < 7 || n->in[0] < 0 || n->in[3] < 0 ||
			    n->out[0] < 0)
				return mcai_ox_node_refuse(g, n, "needs 7 or 8 inputs");
			if (g->t[n->in[0]].is_const || g->t[n->in[3]].is_const)
				return mcai_ox_node_refuse(g, n, "a constant operand not supported");
			if (ox_qio(g, n, n->in[0], 1, 2) ||
			    ox_qio(g, n, n->in[3], 4, 5) ||
			    ox_qio(g, n, n->out[0], 6, 7))
				return -1;
			n->in[1] = n->in[3];
			n->n_in = 2;
			n->op = ox_is(n, "QLinearAdd") ? "Add" : "Mul";
		} else if (ox_is(n, "QLinearAveragePool") ||
			   ox_is(n, "QLinearGlobalAveragePool") ||
			   ox_is(n, "QLinearSigmoid") ||
			   ox_is(n, "QLinearLeakyRelu")) {
			if (mcai_ox_attr_int_or(n, "channels_last", 0))
				return mcai_ox_node_refuse(g, n, "channels_last not supported");
			if (n->n_in < 4 || n->out[0] < 0)
				return mcai_ox_node_refuse(g, n, "needs 4 or 5 inputs");
			if (ox_qio(g, n, n->in[0], 1, 2) ||
			    ox_qio(g, n, n->out[0], 3, 4))
				return -1;
			n->n_in = 1;
			n->op = ox_is(n, "QLinearAveragePool") ? "AveragePool" :
				ox_is(n, "QLinearGlobalAveragePool") ?
				"GlobalAveragePool" :
				ox_is(n, "QLinearSigmoid") ? "Sigmoid" : "LeakyRelu";
		}
		if (r)
			return -1;
		mcai_ox_count_uses(g);
	}
	return 0;
}
