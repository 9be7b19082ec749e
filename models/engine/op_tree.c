// SPDX-License-Identifier: GPL-2.0
/*
 * Tree ensembles (decision tree, random forest, gradient boosting) and
 * linear / logistic models over int16 quantised features: the classical
 * models of ONNX-ML, evaluated in integers.  A tree is a flattened node
 * array; the checker below is what makes walking one safe and bounded in
 * a kernel that received it from user space.
 */
#include "models/engine/ops.h"
#include "models/engine/fixedpoint.h"

/* One tree's nodes [start, end): a depth-first walk of every path. */
static const char *mcai_tree_check_one(const struct mcai_tree_ensemble *e,
				       u32 start, u32 end)
{
	/*
	 * Popping a node of depth d < max_depth pushes two of depth d + 1
	 * over at most one pending right child per shallower level: never
	 * more than max_depth + 1 entries.
	 */
	u32 stack[MCAI_TREE_MAX_DEPTH + 1];
	u8 depth[MCAI_TREE_MAX_DEPTH + 1];
	u32 sp = 0, visits = 0;

	stack[sp] = start;
	depth[sp++] = 0;
	while (sp) {
		u32 n = stack[--sp];
		u8 d = depth[sp];
		const struct mcai_tree_node *nd = &e->nodes[n];

		/*
		 * A node with two parents is walked once per path: cap the
		 * work at the tree's size, which a tree proper never exceeds.
		 */
		if (++visits > end - start)
			return "tree nodes shared by more paths than it has nodes";
		if (nd->feature == MCAI_TREE_LEAF) {
			if ((u64)nd->value + e->n_outputs > e->n_values)
				return "leaf values out of range";
			continue;
		}
		if (nd->feature >= e->n_features)
			return "split on a feature out of range";
		if (d >= e->max_depth || sp + 2 > MCAI_TREE_MAX_DEPTH + 1)
			return "tree deeper than max_depth";
		/* strictly after the parent: every walk moves forward */
		if (nd->left <= n || nd->left >= end ||
		    nd->right <= n || nd->right >= end)
			return "child not after its parent inside its tree";
		stack[sp] = nd->right;
		depth[sp++] = d + 1;
		stack[sp] = nd->left;
		depth[sp++] = d + 1;
	}
	return NULL;
}

/* Largest |v| of @n values (0 for none), as a u64: |S32_MIN| fits. */
static u64 mcai_abs_max(const s32 *v, u32 n)
{
	u64 m = 0;
	u32 i;

	for (i = 0; i < n; i++) {
		u64 a = v[i] < 0 ? 0 - (u64)(s64)v[i] : (u64)v[i];

		if (a > m)
			m = a;
	}
	return m;
}

const char *mcai_tree_check(const struct mcai_tree_ensemble *e)
{
	u64 bound;
	u32 t;

	if (!e->nodes || !e->roots || !e->values)
		return "tree arrays missing";
	if (!e->n_nodes || !e->n_trees || !e->n_outputs || !e->n_features)
		return "empty tree ensemble";
	if (e->n_nodes > MCAI_TREE_MAX_NODES ||
	    e->n_outputs > MCAI_TREE_MAX_OUTPUTS ||
	    e->n_features >= MCAI_TREE_LEAF)
		return "tree ensemble too large";
	if (e->max_depth > MCAI_TREE_MAX_DEPTH)
		return "max_depth above MCAI_TREE_MAX_DEPTH";
	if (e->aggregate > MCAI_TREE_AVERAGE || e->link > MCAI_LINK_LOGISTIC)
		return "unknown tree aggregation or link";
	if (e->link != MCAI_LINK_IDENTITY &&
	    (e->aggregate != MCAI_TREE_SUM || e->frac_bits < 2 ||
	     e->frac_bits > 31))
		return "logistic link without a sum in Q2..Q31";
	if (e->roots[0] != 0)
		return "first tree does not start the node array";
	for (t = 0; t < e->n_trees; t++) {
		u32 end = t + 1 < e->n_trees ? e->roots[t + 1] : e->n_nodes;
		const char *why;

		if (end <= e->roots[t] || end > e->n_nodes)
			return "tree roots not increasing inside the node array";
		why = mcai_tree_check_one(e, e->roots[t], end);
		if (why)
			return why;
	}
	/* the s32 sums of the kernel are then exact */
	bound = mcai_abs_max(e->values, e->n_values) * e->n_trees;
	if (e->aggregate == MCAI_TREE_SUM && e->base)
		bound += mcai_abs_max(e->base, e->n_outputs);
	/* and AVERAGE's rounding adds up to n_trees / 2 */
	if (bound + e->n_trees > S32_MAX)
		return "leaf values can overflow the sum";
	return NULL;
}

/* The leaf tree @root leads @x to, or U32_MAX past max_depth splits. */
static u32 mcai_tree_walk(const struct mcai_tree_ensemble *e, u32 root,
			  const s16 *x)
{
	u32 n = root, step;

	for (step = 0; step < e->max_depth; step++) {
		const struct mcai_tree_node *nd = &e->nodes[n];

		if (nd->feature == MCAI_TREE_LEAF)
			break;
		n = x[nd->feature] <= nd->threshold ? nd->left : nd->right;
	}
	return e->nodes[n].feature == MCAI_TREE_LEAF ? n : U32_MAX;
}

static u32 mcai_argmax32(const s32 *v, u32 n)
{
	u32 i, best = 0;

	for (i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* The class of a score vector: argmax, or for one output out > @half. */
static int mcai_score_class(const s32 *out, u32 n, s32 half)
{
	if (n == 1)
		return out[0] > half;
	return (int)mcai_argmax32(out, n);
}

int mcai_tree_ensemble(const struct mcai_tree_ensemble *e, const s16 *x,
		       s32 *out)
{
	const int logistic = e->link == MCAI_LINK_LOGISTIC;
	u32 t, k;

	for (k = 0; k < e->n_outputs; k++)
		out[k] = e->aggregate == MCAI_TREE_SUM && e->base ?
			 e->base[k] : 0;
	for (t = 0; t < e->n_trees; t++) {
		u32 leaf = mcai_tree_walk(e, e->roots[t], x);
		const s32 *v;

		if (leaf == U32_MAX)
			return -1;
		v = e->values + e->nodes[leaf].value;
		if (e->aggregate == MCAI_TREE_VOTE) {
			out[mcai_argmax32(v, e->n_outputs)]++;
			continue;
		}
		/* the check bounds these sums by S32_MAX */
		for (k = 0; k < e->n_outputs; k++)
			out[k] += v[k];
	}
	for (k = 0; k < e->n_outputs; k++) {
		s32 n = (s32)e->n_trees;

		if (e->aggregate == MCAI_TREE_AVERAGE)
			out[k] = out[k] > 0 ? (out[k] + n / 2) / n :
			       (out[k] - n / 2) / n;
		else if (logistic)
			out[k] = mcai_fp_logistic(out[k], 31 - e->frac_bits);
	}
	return mcai_score_class(out, e->n_outputs, logistic ? 1 << 30 : 0);
}

u64 mcai_tree_macs(const struct mcai_tree_ensemble *e)
{
	return mcai_op_mul_sat(e->n_trees, (u64)e->max_depth + e->n_outputs);
}

const char *mcai_linear_check(const struct mcai_linear_params *p)
{
	const s64 bias_max = 1LL << 61;
	u32 k;

	if (!p->weights || !p->bias)
		return "linear model arrays missing";
	if (!p->n_features || !p->n_outputs)
		return "empty linear model";
	if (p->n_features > MCAI_OP_MAX_DOT ||
	    p->n_outputs > MCAI_TREE_MAX_OUTPUTS)
		return "linear model too large";
	if (p->link > MCAI_LINK_LOGISTIC ||
	    (p->link == MCAI_LINK_LOGISTIC &&
	     (p->frac_bits < 2 || p->frac_bits > 31)))
		return "unknown link, or a logistic without a Q2..Q31 score";
	for (k = 0; k < p->n_outputs; k++)
		if (p->bias[k] > bias_max || p->bias[k] < -bias_max)
			return "linear bias beyond 2^61";
	return mcai_op_check_requant(p->mult, p->shift, p->n_outputs);
}

int mcai_linear(const struct mcai_linear_params *p, const s16 *x, s32 *out)
{
	const int logistic = p->link == MCAI_LINK_LOGISTIC;
	u32 k, j;

	for (k = 0; k < p->n_outputs; k++) {
		const s16 *w = p->weights + (size_t)k * p->n_features;
		s64 acc = p->bias[k];

		/* each product is at most 2^30 in magnitude: an s32 */
		for (j = 0; j < p->n_features; j++)
			acc += (s32)w[j] * x[j];
		out[k] = mcai_requant64(acc, p->mult[k], p->shift[k]);
		if (logistic)
			out[k] = mcai_fp_logistic(out[k], 31 - p->frac_bits);
	}
	return mcai_score_class(out, p->n_outputs, logistic ? 1 << 30 : 0);
}

u64 mcai_linear_macs(const struct mcai_linear_params *p)
{
	return (u64)p->n_features * p->n_outputs;
}
