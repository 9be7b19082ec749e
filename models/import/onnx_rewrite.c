// SPDX-License-Identifier: GPL-2.0
/*
 * Graph rewrites before lowering, each one a float identity (up to
 * rounding) that makes the graph the engine's shape:
 *
 *   Constant nodes become initialisers; Identity and Dropout go;
 *   Reshape / Flatten / Transpose / Squeeze / Unsqueeze of constants are
 *   folded; Gemm and MatMul by a constant become "FC" (weights [out][in])
 *   and a following Add of a constant becomes its bias, as does an Add
 *   after a Conv; BatchNormalization folds into the Conv or FC before
 *   it; Relu and Clip fuse into their producer as its output clamp.
 *
 * Exact integer weights (onnx_qnorm.c) survive only the rewrites that
 * keep them integers (transposes); a fold that scales them drops the
 * integers and the lowering quantises the float result again.
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

static bool ox_const_in(const struct mcai_ox_graph *g,
			const struct mcai_ox_node *n, u32 k)
{
	return k < n->n_in && n->in[k] >= 0 && g->t[n->in[k]].is_const;
}

static void ox_drop_exact(struct mcai_ox_tensor *t)
{
	free(t->q8);
	t->q8 = NULL;
	free(t->i32);
	t->i32 = NULL;
}

/* Turn node @n's output into a constant of @rank/@dims with values @f. */
static void ox_make_const(struct mcai_ox_graph *g, struct mcai_ox_node *n,
			  float *f, u32 rank, const u32 *dims)
{
	struct mcai_ox_tensor *t = &g->t[n->out[0]];

	t->is_const = t->known = true;
	t->onnx_type = MCAI_OX_FLOAT;
	t->f = f;
	t->rank = rank;
	memcpy(t->dims, dims, rank * sizeof(u32));
	n->dead = true;
}

/* Reshape's target shape from its constant (0 copies, -1 infers). */
int mcai_ox_reshape_dims(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
			 const struct mcai_ox_tensor *x,
			 const struct mcai_ox_tensor *s, u32 *rank, u32 *dims)
{
	u64 have = mcai_ox_elems(x), prod = 1;
	long infer = -1;
	u32 k;

	if (s->rank != 1 || s->dims[0] > MCAI_OX_MAX_RANK || !s->dims[0])
		return mcai_ox_node_refuse(g, n, "shape of rank %u and %u entries not supported (rank 1..%d)",
					   s->rank, s->rank ? s->dims[0] : 0, MCAI_OX_MAX_RANK);
	*rank = s->dims[0];
	for (k = 0; k < *rank; k++) {
		float v = s->f[k];

		if (v == 0 && k < x->rank) {
			dims[k] = x->dims[k];
		} else if (v == -1 && infer < 0) {
			infer = k;
			dims[k] = 1;
		} else if (v >= 1 && v <= MCAI_OX_MAX_ELEMS) {
			dims[k] = (u32)v;
		} else {
			return mcai_ox_node_refuse(g, n, "shape entry %g not supported", v);
		}
		prod *= dims[k];
	}
	if (infer >= 0) {
		if (!prod || have % prod)
			return mcai_ox_node_refuse(g, n, "shape does not divide %llu elements",
						   (unsigned long long)have);
		dims[infer] = (u32)(have / prod);
		prod = have;
	}
	if (prod != have)
		return mcai_ox_node_refuse(g, n, "shape has %llu elements, the input %llu",
					   (unsigned long long)prod,
					   (unsigned long long)have);
	return 0;
}

static int ox_fold_const(struct mcai_ox_graph *g, struct mcai_ox_node *n)
{
	struct mcai_ox_tensor *x = &g->t[n->in[0]];
	u64 e = mcai_ox_elems(x), k;
	u32 dims[MCAI_OX_MAX_RANK], rank = 0, d;
	float *f = calloc(e ? e : 1, sizeof(float));

	if (!f)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	if (ox_is(n, "Transpose")) {
		const s64 *perm;
		long np = mcai_ox_attr_ints(n, "perm", &perm);
		u32 src_stride[MCAI_OX_MAX_RANK], idx[MCAI_OX_MAX_RANK] = { 0 };

		rank = x->rank;
		if (np >= 0 && np != (long)rank) {
			free(f);
			return mcai_ox_node_refuse(g, n, "perm has %ld entries for rank %u", np, rank);
		}
		for (d = 0; d < rank; d++) {
			s64 p = np >= 0 ? perm[d] : (s64)(rank - 1 - d);

			if (p < 0 || p >= rank) {
				free(f);
				return mcai_ox_node_refuse(g, n, "perm entry %lld out of range", (long long)p);
			}
			dims[d] = x->dims[p];
		}
		/*
		 * A repeated perm entry makes the result's shape another
		 * element count than the input's: the copy below would read
		 * past it.  Refuse before copying.
		 */
		for (d = 0; d < rank; d++) {
			u32 j;

			for (j = 0; j < d; j++)
				if (np >= 0 && perm[j] == perm[d]) {
					free(f);
					return mcai_ox_node_refuse(g, n, "perm repeats an axis");
				}
		}
		for (d = rank; d-- > 0;)
			src_stride[d] = d + 1 < rank ?
					src_stride[d + 1] * x->dims[d + 1] : 1;
		for (k = 0; k < e; k++) {
			u64 at = 0;

			for (d = 0; d < rank; d++) {
				s64 p = np >= 0 ? perm[d] : (s64)(rank - 1 - d);

				at += (u64)idx[d] * src_stride[p];
			}
			f[k] = x->f[at];
			for (d = rank; d-- > 0;) {
				if (++idx[d] < dims[d])
					break;
				idx[d] = 0;
			}
		}
		ox_make_const(g, n, f, rank, dims);
		return 0;
	}
	memcpy(f, x->f, e * sizeof(float));
	if (ox_is(n, "Flatten")) {
		s64 axis = mcai_ox_attr_int_or(n, "axis", 1);
		u64 a = 1;

		if (axis < 0)
			axis += x->rank;
		if (axis < 0 || axis > x->rank) {
			free(f);
			return mcai_ox_node_refuse(g, n, "axis out of range");
		}
		for (d = 0; d < axis; d++)
			a *= x->dims[d];
		rank = 2;
		dims[0] = (u32)a;
		dims[1] = (u32)(a ? e / a : 0);
	} else if (ox_is(n, "Reshape")) {
		if (!ox_const_in(g, n, 1)) {
			free(f);
			return mcai_ox_node_refuse(g, n, "shape is not a constant");
		}
		if (mcai_ox_reshape_dims(g, n, x, &g->t[n->in[1]], &rank, dims)) {
			free(f);
			return -1;
		}
	} else {
		/* Squeeze / Unsqueeze: the shape without / with 1s, by the
		 * node's declared output is not known here; keep the values
		 * and drop every 1 (Squeeze) or keep the rank (Unsqueeze
		 * consumers in this engine only read element order).
		 */
		for (d = 0; d < x->rank; d++)
			if (x->dims[d] != 1 || ox_is(n, "Unsqueeze"))
				dims[rank++] = x->dims[d];
	}
	ox_make_const(g, n, f, rank, dims);
	return 0;
}

/* Gemm / MatMul by a constant as FC: weights [out][in], bias. */
static int ox_to_fc(struct mcai_ox_graph *g, struct mcai_ox_node *n)
{
	bool gemm = ox_is(n, "Gemm");
	s64 ta = gemm ? mcai_ox_attr_int_or(n, "transA", 0) : 0;
	s64 tb = gemm ? mcai_ox_attr_int_or(n, "transB", 0) : 0;
	float alpha = gemm ? mcai_ox_attr_float_or(n, "alpha", 1) : 1;
	float beta = gemm ? mcai_ox_attr_float_or(n, "beta", 1) : 1;
	struct mcai_ox_tensor *b, *w;
	u32 in, out, i, o;
	s32 wi;

	if (n->n_in < 2 || n->in[0] < 0 || !ox_const_in(g, n, 1))
		return mcai_ox_node_refuse(g, n, "second operand is not a constant (only x * W is supported)");
	if (ta)
		return mcai_ox_node_refuse(g, n, "transA not supported");
	b = &g->t[n->in[1]];
	if (b->rank != 2)
		return mcai_ox_node_refuse(g, n, "weights of rank %u, 2 supported", b->rank);
	in = tb ? b->dims[1] : b->dims[0];
	out = tb ? b->dims[0] : b->dims[1];
	wi = mcai_ox_add_tensor(g, "fc#w");
	if (wi < 0)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED, "too many tensors");
	b = &g->t[n->in[1]];
	w = &g->t[wi];
	w->is_const = w->known = true;
	w->onnx_type = MCAI_OX_FLOAT;
	w->rank = 2;
	w->dims[0] = out;
	w->dims[1] = in;
	w->f = calloc((u64)in * out + 1, sizeof(float));
	if (!w->f)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	/* exact integers stay exact when per-tensor or per output column */
	if (b->q8 && alpha == 1 && (b->nqs == 1 || (b->nqs == out &&
	    b->qaxis == (tb ? 0U : 1U)))) {
		w->q8 = calloc((u64)in * out + 1, 1);
		w->qs = calloc(b->nqs, sizeof(float));
		if (!w->q8 || !w->qs)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		memcpy(w->qs, b->qs, b->nqs * sizeof(float));
		w->nqs = b->nqs;
	}
	for (o = 0; o < out; o++)
		for (i = 0; i < in; i++) {
			u64 src = tb ? (u64)o * in + i : (u64)i * out + o;

			w->f[(u64)o * in + i] = alpha * b->f[src];
			if (w->q8)
				w->q8[(u64)o * in + i] = b->q8[src];
		}
	n->in[1] = wi;
	if (gemm && n->n_in > 2 && n->in[2] >= 0) {
		struct mcai_ox_tensor *c = &g->t[n->in[2]];
		u64 ce = mcai_ox_elems(c);

		if (!c->is_const || (ce != out && ce != 1))
			return mcai_ox_node_refuse(g, n, "C is not a constant of N or 1 values");
		if (beta != 1 || ce != out) {
			u32 bdim = out;
			s32 bi = mcai_ox_add_tensor(g, "fc#b");
			struct mcai_ox_tensor *bt;

			if (bi < 0)
				return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED, "too many tensors");
			c = &g->t[n->in[2]];
			bt = &g->t[bi];
			bt->is_const = bt->known = true;
			bt->rank = 1;
			bt->dims[0] = bdim;
			bt->f = calloc(out ? out : 1, sizeof(float));
			if (!bt->f)
				return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
			for (o = 0; o < out; o++)
				bt->f[o] = beta * c->f[ce == 1 ? 0 : o];
			n->in[2] = bi;
		}
		n->n_in = 3;
	} else {
		n->n_in = 2;
	}
	n->op = "FC";
	return 0;
}

/* A bias tensor of @n (FC or Conv) with @out values, created if absent. */
static struct mcai_ox_tensor *ox_bias(struct mcai_ox_graph *g,
				      struct mcai_ox_node *n, u32 out)
{
	struct mcai_ox_tensor *b;
	s32 bi;

	if (n->n_in > 2 && n->in[2] >= 0) {
		b = &g->t[n->in[2]];
		ox_drop_exact(b);
		return b;
	}
	bi = mcai_ox_add_tensor(g, "bias#0");
	if (bi < 0)
		return NULL;
	b = &g->t[bi];
	b->is_const = b->known = true;
	b->rank = 1;
	b->dims[0] = out;
	b->f = calloc(out ? out : 1, sizeof(float));
	if (!b->f)
		return NULL;
	n->in[2] = bi;
	n->n_in = 3;
	return b;
}

/*
 * The output channels of @p (FC or Conv) a fold may rewrite, or 0 when
 * it may not: the fold writes the weights and one bias value a channel
 * in place, so both must be constants of those sizes.  The file is not
 * checked yet (the eval does that, and names what is wrong): an absent
 * or computed weight, an empty one, or a bias of another length.
 */
static u32 ox_out_channels(const struct mcai_ox_graph *g,
			   const struct mcai_ox_node *p)
{
	const struct mcai_ox_tensor *w;
	u32 out;

	if (p->n_in < 2 || p->in[1] < 0 || !g->t[p->in[1]].is_const)
		return 0;
	w = &g->t[p->in[1]];
	if (!w->rank || !w->dims[0] || !w->f)
		return 0;
	out = w->dims[0];
	if (p->n_in > 2 && p->in[2] >= 0 &&
	    (!g->t[p->in[2]].is_const || !g->t[p->in[2]].f ||
	     mcai_ox_elems(&g->t[p->in[2]]) != out))
		return 0;
	return out;
}

/* Add(y, constant) after FC or Conv: into the bias. */
static int ox_fold_add(struct mcai_ox_graph *g, struct mcai_ox_node *n,
		       u32 *count)
{
	struct mcai_ox_node *p;
	struct mcai_ox_tensor *c, *b;
	s32 x, ci;
	u32 out, o;
	u64 ce;

	if (n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
		return 0;
	x = g->t[n->in[0]].is_const ? n->in[1] : n->in[0];
	ci = x == n->in[0] ? n->in[1] : n->in[0];
	if (!g->t[ci].is_const || g->t[x].producer < 0 || g->t[x].uses != 1 ||
	    g->t[x].is_output || g->t[x].has_q)
		return 0;
	p = &g->n[g->t[x].producer];
	if ((!ox_is(p, "FC") && !ox_is(p, "Conv")) || p->act)
		return 0;
	out = ox_out_channels(g, p);
	if (!out)
		return 0;
	c = &g->t[ci];
	ce = mcai_ox_elems(c);
	/* [out], [1,out] or [1,out,1,1] broadcast only along channels */
	if (ce != out && ce != 1)
		return 0;
	if (ox_is(p, "Conv") && ce == out && c->rank >= 2 &&
	    c->dims[c->rank >= 3 ? c->rank - 3 : 0] != out && c->rank != 1)
		return 0;
	if (ox_is(p, "FC") && ce == out && c->rank >= 1 &&
	    c->dims[c->rank - 1] != out)
		return 0;
	b = ox_bias(g, p, out);
	if (!b)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	c = &g->t[ci];
	for (o = 0; o < out; o++)
		b->f[o] += c->f[ce == 1 ? 0 : o];
	p->out[0] = n->out[0];
	n->dead = true;
	(*count)++;
	return 0;
}

static int ox_fold_bn(struct mcai_ox_graph *g, struct mcai_ox_node *n,
		      u32 *count)
{
	struct mcai_ox_node *p;
	struct mcai_ox_tensor *w, *b, *sc, *bb, *mean, *var;
	float eps = mcai_ox_attr_float_or(n, "epsilon", 1e-5f);
	s32 x = n->in[0];
	u32 out, o, k;
	u64 per;

	if (n->n_in < 5 || x < 0 || !ox_const_in(g, n, 1) ||
	    !ox_const_in(g, n, 2) || !ox_const_in(g, n, 3) ||
	    !ox_const_in(g, n, 4))
		return mcai_ox_node_refuse(g, n, "scale, bias, mean and variance must be constants");
	if (g->t[x].producer < 0 || g->t[x].uses != 1 || g->t[x].is_output)
		return mcai_ox_node_refuse(g, n, "not after a Conv or Gemm it can be folded into");
	p = &g->n[g->t[x].producer];
	if ((!ox_is(p, "FC") && !ox_is(p, "Conv")) || p->act)
		return mcai_ox_node_refuse(g, n, "not after a Conv or Gemm it can be folded into");
	out = ox_out_channels(g, p);
	if (!out)
		return mcai_ox_node_refuse(g, n, "the %s before has no constant weights and bias to fold into",
					   p->op);
	for (k = 1; k <= 4; k++)
		if (mcai_ox_elems(&g->t[n->in[k]]) != out)
			return mcai_ox_node_refuse(g, n, "parameters are not one per channel");
	b = ox_bias(g, p, out);
	if (!b)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	w = &g->t[p->in[1]];
	ox_drop_exact(w);
	sc = &g->t[n->in[1]];
	bb = &g->t[n->in[2]];
	mean = &g->t[n->in[3]];
	var = &g->t[n->in[4]];
	per = mcai_ox_elems(w) / out;
	for (o = 0; o < out; o++) {
		double f = sc->f[o] / sqrt((double)var->f[o] + eps);
		u64 m;

		if (!isfinite(f))
			return mcai_ox_node_refuse(g, n, "variance gives a non-finite scale");
		for (m = 0; m < per; m++)
			w->f[o * per + m] = (float)(w->f[o * per + m] * f);
		b->f[o] = (float)((b->f[o] - mean->f[o]) * f + bb->f[o]);
	}
	p->out[0] = n->out[0];
	n->dead = true;
	(*count)++;
	return 0;
}

static bool ox_fusable(const struct mcai_ox_node *p)
{
	return ox_is(p, "FC") || ox_is(p, "Conv") || ox_is(p, "Add") ||
	       ox_is(p, "Mul") || ox_is(p, "MaxPool") ||
	       ox_is(p, "AveragePool");
}

static int ox_fuse_act(struct mcai_ox_graph *g, struct mcai_ox_node *n,
		       u32 *count)
{
	struct mcai_ox_node *p;
	s32 x = n->in[0];
	float lo = 0, hi = INFINITY;

	if (x < 0)
		return 0;
	if (ox_is(n, "Clip")) {
		lo = mcai_ox_attr_float_or(n, "min", -INFINITY);
		hi = mcai_ox_attr_float_or(n, "max", INFINITY);
		if (n->n_in > 1 && n->in[1] >= 0) {
			if (!g->t[n->in[1]].is_const)
				return mcai_ox_node_refuse(g, n, "min is not a constant");
			lo = g->t[n->in[1]].f[0];
		}
		if (n->n_in > 2 && n->in[2] >= 0) {
			if (!g->t[n->in[2]].is_const)
				return mcai_ox_node_refuse(g, n, "max is not a constant");
			hi = g->t[n->in[2]].f[0];
		}
	}
	if (g->t[x].producer < 0 || g->t[x].uses != 1 || g->t[x].is_output)
		return 0;
	p = &g->n[g->t[x].producer];
	if (!ox_fusable(p) || p->act)
		return 0;
	/* the quantisation fixed on the pre-activation tensor is dropped */
	p->act = ox_is(n, "Relu") ? MCAI_OX_ACT_RELU : MCAI_OX_ACT_CLIP;
	p->act_lo = lo;
	p->act_hi = hi;
	p->out[0] = n->out[0];
	n->dead = true;
	(*count)++;
	return 0;
}

static int ox_constant_node(struct mcai_ox_graph *g, struct mcai_ox_node *n)
{
	const void *tp = mcai_ox_attr_tensor(n, "value");
	float fv = NAN;

	if (n->out[0] < 0)
		return mcai_ox_node_refuse(g, n, "no output");
	if (tp) {
		if (mcai_ox_const_proto(g, n->out[0], tp))
			return -1;
	} else if (mcai_ox_attr_int(n, "value_int", &(s64){ 0 }) ||
		   (fv = mcai_ox_attr_float_or(n, "value_float", NAN), !isnan(fv))) {
		struct mcai_ox_tensor *t = &g->t[n->out[0]];
		s64 iv = 0;

		t->f = calloc(1, sizeof(float));
		if (!t->f)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		if (mcai_ox_attr_int(n, "value_int", &iv)) {
			t->f[0] = (float)iv;
			t->onnx_type = MCAI_OX_INT64;
		} else {
			t->f[0] = fv;
			t->onnx_type = MCAI_OX_FLOAT;
		}
		t->is_const = t->known = true;
		t->rank = 0;
	} else {
		return mcai_ox_node_refuse(g, n, "only value, value_int and value_float supported");
	}
	n->dead = true;
	return 0;
}

/*
 * 1-D convolutions and pools (PyTorch's Conv1d, MaxPool1d, AvgPool1d,
 * BatchNorm1d folded into the Conv) run as the engine's 2-D ops with
 * H = 1: a rank-3 graph input that a Conv or pool reads becomes
 * N,C,1,L, rank-3 weights O,I,K become O,I,1,K (the same bytes), and the
 * nodes read their 1-D attributes as the W axis' (node->one_d).  The
 * eval carries the form through and refuses what would change meaning
 * (ox_one_d()); the blob keeps such io tensors at rank 3.
 */
static void ox_one_d_rewrite(struct mcai_ox_graph *g)
{
	u32 i, k;

	for (i = 0; i < g->n_in; i++) {
		struct mcai_ox_tensor *t = &g->t[g->in[i]];
		bool windowed = false;

		if (t->rank != 3 || t->is_const)
			continue;
		for (k = 0; k < g->n_n; k++) {
			const struct mcai_ox_node *n = &g->n[k];

			if (!n->dead && n->n_in && n->in[0] == g->in[i] &&
			    (ox_is(n, "Conv") || ox_is(n, "MaxPool") ||
			     ox_is(n, "AveragePool") ||
			     ox_is(n, "GlobalAveragePool")))
				windowed = true;
		}
		if (!windowed)
			continue;
		t->rank = 4;
		t->dims[3] = t->dims[2];
		t->dims[2] = 1;
		t->one_d = true;
	}
	for (i = 0; i < g->n_n; i++) {
		struct mcai_ox_node *n = &g->n[i];
		const s64 *ks;

		if (n->dead)
			continue;
		if (ox_is(n, "Conv") && ox_const_in(g, n, 1) &&
		    g->t[n->in[1]].rank == 3) {
			struct mcai_ox_tensor *w = &g->t[n->in[1]];

			w->rank = 4;
			w->dims[3] = w->dims[2];
			w->dims[2] = 1;
			n->one_d = true;
		} else if ((ox_is(n, "MaxPool") || ox_is(n, "AveragePool")) &&
			   mcai_ox_attr_ints(n, "kernel_shape", &ks) == 1) {
			n->one_d = true;
		}
	}
}

int mcai_ox_rewrite(struct mcai_ox_graph *g)
{
	u32 i, count = 0;

	for (i = 0; i < g->n_n; i++) {
		struct mcai_ox_node *n = &g->n[i];

		if (n->dead || !ox_is(n, "Constant"))
			continue;
		if (ox_constant_node(g, n))
			return -1;
	}
	ox_one_d_rewrite(g);
	mcai_ox_count_uses(g);
	for (i = 0; i < g->n_n; i++) {
		struct mcai_ox_node *n = &g->n[i];
		int r = 0;

		if (n->dead)
			continue;
		if (ox_is(n, "Identity") || ox_is(n, "Dropout")) {
			if (n->in[0] < 0 || n->out[0] < 0)
				return mcai_ox_node_refuse(g, n, "no input or output");
			if (n->n_out > 1 && n->out[1] >= 0 && g->t[n->out[1]].uses)
				return mcai_ox_node_refuse(g, n, "the mask output is used");
			if (g->t[n->out[0]].is_output && g->t[n->in[0]].is_input)
				return mcai_ox_node_refuse(g, n, "the model only copies its input");
			if (g->t[n->out[0]].has_q)
				g->t[n->in[0]].has_q = true,
				g->t[n->in[0]].scale = g->t[n->out[0]].scale,
				g->t[n->in[0]].zp = g->t[n->out[0]].zp;
			mcai_ox_alias(g, n->out[0], n->in[0]);
			n->dead = true;
			count++;
		} else if ((ox_is(n, "Reshape") || ox_is(n, "Flatten") ||
			    ox_is(n, "Transpose") || ox_is(n, "Squeeze") ||
			    ox_is(n, "Unsqueeze")) && ox_const_in(g, n, 0)) {
			r = ox_fold_const(g, n);
			count++;
		} else if (ox_is(n, "Gemm") ||
			   (ox_is(n, "MatMul") && ox_const_in(g, n, 1))) {
			r = ox_to_fc(g, n);
		} else if (ox_is(n, "Add")) {
			r = ox_fold_add(g, n, &count);
		} else if (ox_is(n, "BatchNormalization")) {
			r = ox_fold_bn(g, n, &count);
		} else if (ox_is(n, "Relu") || ox_is(n, "Clip")) {
			r = ox_fuse_act(g, n, &count);
		}
		if (r)
			return -1;
		mcai_ox_count_uses(g);
	}
	return (int)count;
}
