// SPDX-License-Identifier: GPL-2.0
/*
 * ai.onnx.ml models: TreeEnsembleClassifier and TreeEnsembleRegressor
 * become one TREE op (models/engine/op_tree.c) over int16 features.
 *
 * Features: one int16 scale for the whole input, zero point 0, the power
 * of two that puts every split threshold and every calibration value
 * inside half the int16 range.  A threshold t becomes floor(t / scale)
 * (mcai_tree_threshold()), so a feature x on the grid goes left exactly
 * when the float tree sends its dequantised value left; a value beyond
 * the range clamps to +-32767, still past every threshold.  What can
 * differ from the float model is a value within one grid step (the
 * scale) of a threshold: it is rounded to the grid first.
 *
 * Leaf values are fixed point Q(frac_bits), frac_bits as large as lets
 * the worst-case sum over the trees fit 30 bits; the blob's output is
 * those summed scores, scaled by 2^-frac_bits, before ONNX's
 * post_transform (SOFTMAX and a multi-output LOGISTIC keep the argmax,
 * so the class is the same; a single-output LOGISTIC is the engine's
 * logistic link).  The label output ONNX has is the head's argmax.
 *
 * LinearClassifier/LinearRegressor (after an optional Scaler) are not
 * lowered here: mcai_ox_ml_linear() rewrites them into the float graph
 * FC (+ Softmax / Sigmoid), which the ordinary path quantises as it
 * does a Gemm (blob format v2 has no linear-model op, and needs none).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/gen/onnx/onnx.pb-c.h"
#include "models/import/iofacts.h"
#include "models/import/onnx_ir.h"
#include "models/train/graph_writer.h"
#include "models/train/opquant.h"

bool mcai_ox_is_ml(const struct mcai_ox_graph *g)
{
	u32 i;

	for (i = 0; i < g->n_n; i++)
		if (!strcmp(g->n[i].domain, "ai.onnx.ml"))
			return true;
	return false;
}

/* A node attribute of type STRINGS: the count, or -1 when absent. */
static long ml_attr_strings(const struct mcai_ox_node *n, const char *name,
			    const ProtobufCBinaryData **v)
{
	const Onnx__NodeProto *p = n->proto;
	size_t i;

	for (i = 0; p && i < p->n_attribute; i++)
		if (p->attribute[i]->name &&
		    !strcmp(p->attribute[i]->name, name)) {
			*v = p->attribute[i]->strings;
			return (long)p->attribute[i]->n_strings;
		}
	return -1;
}

static bool ml_is(const ProtobufCBinaryData *s, const char *what)
{
	size_t n = strlen(what);

	return s->len == n && !memcmp(s->data, what, n);
}

/* Everything the conversion allocates, freed in one place. */
struct ml_conv {
	struct mcai_ox_graph *g;
	const struct mcai_ox_node *n;
	bool classifier;
	/* attributes */
	const s64 *tree, *nid, *feat, *tnode, *fnode;
	const float *thr;
	const ProtobufCBinaryData *mode;
	long nn;
	const s64 *ltree, *lnode, *lid;
	const float *lw;
	long nl;
	u32 n_out, n_feat, n_trees;
	/* work */
	u32 *order;			/* node indices sorted by (tree, node) */
	u32 *tix;			/* node index -> dense tree index */
	u32 *newix;			/* node index -> engine node, or ~0 */
	bool *child;			/* node index -> some split points to it */
	u32 *leafsrc;			/* engine leaf -> node index */
	double *leaf;			/* node index -> [n_out] values */
	struct mcai_tree_node *nodes;
	u32 *roots;
	s32 *values;
	s32 *base;
	s32 *words;
	s16 *tv;
};

static const struct ml_conv *ml_sort_ctx;

static int ml_cmp(const void *a, const void *b)
{
	const struct ml_conv *c = ml_sort_ctx;
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	if (c->tree[x] != c->tree[y])
		return c->tree[x] < c->tree[y] ? -1 : 1;
	if (c->nid[x] != c->nid[y])
		return c->nid[x] < c->nid[y] ? -1 : 1;
	return 0;
}

/* The node index of (tree, node id), or -1. */
static long ml_find(const struct ml_conv *c, s64 tree, s64 id)
{
	long lo = 0, hi = c->nn - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		u32 k = c->order[mid];

		if (c->tree[k] == tree && c->nid[k] == id)
			return k;
		if (c->tree[k] < tree || (c->tree[k] == tree && c->nid[k] < id))
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int ml_refuse(struct ml_conv *c, const char *why)
{
	return mcai_ox_node_refuse(c->g, c->n, "%s", why);
}

static int ml_attrs(struct ml_conv *c)
{
	const char *pre = c->classifier ? "class" : "target";
	char key[32];
	long k;

	c->nn = mcai_ox_attr_ints(c->n, "nodes_treeids", &c->tree);
	if (c->nn <= 0)
		return ml_refuse(c, "no nodes_treeids");
	if (mcai_ox_attr_ints(c->n, "nodes_nodeids", &c->nid) != c->nn ||
	    mcai_ox_attr_ints(c->n, "nodes_featureids", &c->feat) != c->nn ||
	    mcai_ox_attr_ints(c->n, "nodes_truenodeids", &c->tnode) != c->nn ||
	    mcai_ox_attr_ints(c->n, "nodes_falsenodeids", &c->fnode) != c->nn ||
	    mcai_ox_attr_floats(c->n, "nodes_values", &c->thr) != c->nn ||
	    ml_attr_strings(c->n, "nodes_modes", &c->mode) != c->nn)
		return ml_refuse(c, "the nodes_* attributes differ in length or are missing (nodes_values_as_tensor not supported)");
	if (c->nn > (long)MCAI_TREE_MAX_NODES)
		return ml_refuse(c, "more nodes than the engine's 2^24");
	snprintf(key, sizeof(key), "%s_treeids", pre);
	c->nl = mcai_ox_attr_ints(c->n, key, &c->ltree);
	snprintf(key, sizeof(key), "%s_nodeids", pre);
	k = mcai_ox_attr_ints(c->n, key, &c->lnode);
	if (c->nl <= 0 || k != c->nl)
		return ml_refuse(c, "leaf weights missing or of differing lengths");
	snprintf(key, sizeof(key), "%s_ids", pre);
	k = mcai_ox_attr_ints(c->n, key, &c->lid);
	if (k != c->nl)
		return ml_refuse(c, "leaf weights missing or of differing lengths");
	snprintf(key, sizeof(key), "%s_weights", pre);
	if (mcai_ox_attr_floats(c->n, key, &c->lw) != c->nl)
		return ml_refuse(c, "leaf weights missing or of differing lengths (weights_as_tensor not supported)");
	if (c->classifier) {
		const ProtobufCBinaryData *s;
		const s64 *li;
		long a = mcai_ox_attr_ints(c->n, "classlabels_int64s", &li);
		long b = ml_attr_strings(c->n, "classlabels_strings", &s);

		k = a > 0 ? a : b;
		if (k <= 0)
			return ml_refuse(c, "no class labels");
	} else {
		k = mcai_ox_attr_int_or(c->n, "n_targets", 1);
	}
	if (k < 1 || k > (long)MCAI_TREE_MAX_OUTPUTS)
		return ml_refuse(c, "the number of classes or targets is outside 1..1024");
	c->n_out = (u32)k;
	return 0;
}

/*
 * Dense tree indices, the (tree, node) index for child look-ups, every
 * node's mode, feature and children checked, leaf values gathered.
 */
static int ml_index(struct ml_conv *c)
{
	long i;
	u32 t = 0;

	c->order = calloc((size_t)c->nn, sizeof(u32));
	c->tix = calloc((size_t)c->nn, sizeof(u32));
	c->newix = malloc((size_t)c->nn * sizeof(u32));
	c->leaf = calloc((size_t)c->nn * c->n_out, sizeof(double));
	c->child = calloc((size_t)c->nn, sizeof(bool));
	c->leafsrc = calloc((size_t)c->nn, sizeof(u32));
	if (!c->order || !c->tix || !c->newix || !c->leaf || !c->child ||
	    !c->leafsrc)
		return mcai_ox_refuse(c->g, MCAI_IMPORT_EIO, "out of memory");
	for (i = 0; i < c->nn; i++) {
		c->order[i] = (u32)i;
		c->newix[i] = ~0U;
	}
	ml_sort_ctx = c;
	qsort(c->order, (size_t)c->nn, sizeof(u32), ml_cmp);
	for (i = 0; i < c->nn; i++) {
		u32 k = c->order[i];

		if (i && !ml_cmp(&c->order[i - 1], &c->order[i]))
			return ml_refuse(c, "a (tree, node) id appears twice");
		if (i && c->tree[k] != c->tree[c->order[i - 1]])
			t++;
		c->tix[k] = t;
	}
	c->n_trees = t + 1;
	for (i = 0; i < c->nn; i++) {
		const ProtobufCBinaryData *m = &c->mode[i];

		if (ml_is(m, "LEAF"))
			continue;
		if (!ml_is(m, "BRANCH_LEQ") && !ml_is(m, "BRANCH_GT"))
			return ml_refuse(c, "a split mode other than BRANCH_LEQ, BRANCH_GT and LEAF (the engine's splits are x <= t)");
		if (c->feat[i] < 0 || c->feat[i] >= (s64)c->n_feat)
			return ml_refuse(c, "a split on a feature the input does not have");
		if (!isfinite(c->thr[i]))
			return ml_refuse(c, "a threshold that is not finite");
		if (ml_find(c, c->tree[i], c->tnode[i]) < 0 ||
		    ml_find(c, c->tree[i], c->fnode[i]) < 0)
			return ml_refuse(c, "a child that is not a node of its tree");
	}
	for (i = 0; i < c->nl; i++) {
		long k = ml_find(c, c->ltree[i], c->lnode[i]);

		if (k < 0 || !ml_is(&c->mode[k], "LEAF"))
			return ml_refuse(c, "a leaf weight on a node that is not a leaf");
		if (c->lid[i] < 0 || c->lid[i] >= (s64)c->n_out)
			return ml_refuse(c, "a leaf weight for a class or target that does not exist");
		if (!isfinite(c->lw[i]))
			return ml_refuse(c, "a leaf weight that is not finite");
		c->leaf[(size_t)k * c->n_out + (size_t)c->lid[i]] += c->lw[i];
	}
	return 0;
}

/*
 * Each tree's nodes in depth-first preorder, so that children come after
 * their parent inside the tree's range, as the engine's checker wants; a
 * node reached twice (a DAG or a cycle) or a path deeper than the engine
 * walks is refused here rather than by the verifier.
 */
static int ml_flatten(struct ml_conv *c, double fscale, u32 *n_leaves,
		      u32 *depth_out)
{
	u32 *stack = NULL, *sdepth = NULL, n = 0, leaves = 0, depth = 0, t;
	long i, root;
	int ret = -1;

	c->nodes = calloc((size_t)c->nn, sizeof(*c->nodes));
	c->roots = calloc(c->n_trees, sizeof(u32));
	stack = malloc((size_t)c->nn * sizeof(u32));
	sdepth = malloc((size_t)c->nn * sizeof(u32));
	if (!c->nodes || !c->roots || !stack || !sdepth) {
		mcai_ox_refuse(c->g, MCAI_IMPORT_EIO, "out of memory");
		goto out;
	}
	for (i = 0; i < c->nn; i++) {
		if (ml_is(&c->mode[i], "LEAF"))
			continue;
		c->child[ml_find(c, c->tree[i], c->tnode[i])] = true;
		c->child[ml_find(c, c->tree[i], c->fnode[i])] = true;
	}
	for (t = 0, i = 0; t < c->n_trees; t++) {
		u32 sp = 0;
		long first = i;

		while (i < c->nn && c->tix[c->order[i]] == t)
			i++;
		/* the root: the first node of the tree no split points to */
		for (root = first; root < i && c->child[c->order[root]]; root++)
			;
		if (root == i) {
			ml_refuse(c, "a tree without a root (every node is a child)");
			goto out;
		}
		c->roots[t] = n;
		stack[sp] = c->order[root];
		sdepth[sp++] = 0;
		while (sp) {
			u32 k = stack[--sp], d = sdepth[sp];
			struct mcai_tree_node *e = &c->nodes[n];
			long tk, fk;

			if (c->newix[k] != ~0U) {
				ml_refuse(c, "a node reached twice (a tree must be a tree)");
				goto out;
			}
			c->newix[k] = n++;
			if (ml_is(&c->mode[k], "LEAF")) {
				e->feature = MCAI_TREE_LEAF;
				c->leafsrc[leaves] = k;
				e->value = leaves++ * c->n_out;
				continue;
			}
			if (d + 1 > MCAI_TREE_MAX_DEPTH) {
				ml_refuse(c, "a tree deeper than the engine's 64 levels");
				goto out;
			}
			depth = d + 1 > depth ? d + 1 : depth;
			e->feature = (u16)c->feat[k];
			e->threshold = mcai_tree_threshold(c->thr[k], fscale, 0);
			tk = ml_find(c, c->tree[k], c->tnode[k]);
			fk = ml_find(c, c->tree[k], c->fnode[k]);
			/* x <= t goes left: LEQ's true branch, GT's false one */
			if (ml_is(&c->mode[k], "BRANCH_GT")) {
				long s = tk;

				tk = fk;
				fk = s;
			}
			/* right pushed first: the left child comes next */
			stack[sp] = (u32)fk;
			sdepth[sp++] = d + 1;
			stack[sp] = (u32)tk;
			sdepth[sp++] = d + 1;
		}
	}
	/* children's engine indices, now that every node has one */
	for (i = 0; i < c->nn; i++) {
		u32 k = c->newix[i];

		if (k == ~0U) {
			ml_refuse(c, "a node its tree's root does not reach (a cycle, or a second root)");
			goto out;
		}
		if (c->nodes[k].feature == MCAI_TREE_LEAF)
			continue;
		if (ml_is(&c->mode[i], "BRANCH_GT")) {
			c->nodes[k].left = c->newix[ml_find(c, c->tree[i], c->fnode[i])];
			c->nodes[k].right = c->newix[ml_find(c, c->tree[i], c->tnode[i])];
		} else {
			c->nodes[k].left = c->newix[ml_find(c, c->tree[i], c->tnode[i])];
			c->nodes[k].right = c->newix[ml_find(c, c->tree[i], c->fnode[i])];
		}
	}
	*n_leaves = leaves;
	*depth_out = depth;
	ret = 0;
out:
	free(stack);
	free(sdepth);
	return ret;
}

static void ml_free(struct ml_conv *c)
{
	free(c->order);
	free(c->tix);
	free(c->newix);
	free(c->child);
	free(c->leafsrc);
	free(c->leaf);
	free(c->nodes);
	free(c->roots);
	free(c->values);
	free(c->base);
	free(c->words);
	free(c->tv);
}

/*
 * The feature scale: half the int16 range for the largest threshold or
 * calibration value, so that a value past every threshold still lands
 * past it after clamping.
 */
static double ml_feature_scale(const struct ml_conv *c,
			       const struct mcai_import_opts *o)
{
	double r = 0;
	u64 k;
	long i;

	for (i = 0; i < c->nn; i++)
		if (!ml_is(&c->mode[i], "LEAF") && fabs(c->thr[i]) > r)
			r = fabs(c->thr[i]);
	for (k = 0; o->n_calib && k < (u64)o->calib[0].count * c->n_feat; k++)
		if (isfinite(o->calib[0].data[k]) && fabs(o->calib[0].data[k]) > r)
			r = fabs(o->calib[0].data[k]);
	/*
	 * A power of two: integer features and the midpoints between them
	 * that scikit-learn splits at are then exact on the grid.
	 */
	return ldexp(1, (int)ceil(log2(r > 0 ? r / 16384.0 : 1.0 / 16384.0)));
}

static int ml_lower_tree(struct mcai_ox_graph *g, struct mcai_ox_node *n,
			 const struct mcai_import_opts *o,
			 struct mcai_import_result *r)
{
	struct ml_conv c = { .g = g, .n = n };
	struct mcai_tree_ensemble e = { 0 };
	struct mcai_gw_tensor t[2] = { 0 };
	struct mcai_gw_op op = { 0 };
	struct mcai_gw_graph gw = { 0 };
	struct mcai_iofacts fi = { 0 }, fo = { 0 };
	char iname[MCAI_BLOB2_IO_NAME_LEN], oname[MCAI_BLOB2_IO_NAME_LEN];
	const struct mcai_ox_tensor *x;
	const char *post, *agg;
	const float *basef = NULL;
	double fscale, worst = 0, vscale;
	u32 leaves = 0, depth = 0, k, j, fb, nw;
	s32 out_t;
	long nbase;
	char err[256];
	int ret = -1;

	c.classifier = !strcmp(n->op, "TreeEnsembleClassifier");
	if (n->n_in != 1 || n->in[0] < 0 || g->n_in != 1 || n->in[0] != g->in[0])
		return mcai_ox_node_refuse(g, n, "the tree ensemble must read the graph's one input");
	x = &g->t[n->in[0]];
	if (x->onnx_type != MCAI_OX_FLOAT)
		return mcai_ox_node_refuse(g, n, "features must be float");
	if (x->rank < 1 || x->rank > 2 || (x->rank == 2 && x->dims[0] != 1))
		return mcai_ox_node_refuse(g, n, "features must be [F] or [1, F]");
	c.n_feat = x->dims[x->rank - 1];
	if (!c.n_feat || c.n_feat > 0xfffe)
		return mcai_ox_node_refuse(g, n, "between 1 and 65534 features");
	post = mcai_ox_attr_string(n, "post_transform");
	post = post ? post : "NONE";
	if (strcmp(post, "NONE") && strcmp(post, "SOFTMAX") &&
	    strcmp(post, "SOFTMAX_ZERO") && strcmp(post, "LOGISTIC"))
		return mcai_ox_node_refuse(g, n, "post_transform %s not supported (NONE, SOFTMAX, LOGISTIC)",
					   post);
	agg = c.classifier ? NULL : mcai_ox_attr_string(n, "aggregate_function");
	agg = agg ? agg : "SUM";
	if (strcmp(agg, "SUM") && strcmp(agg, "AVERAGE"))
		return mcai_ox_node_refuse(g, n, "aggregate_function %s not supported (SUM, AVERAGE)",
					   agg);
	if (ml_attrs(&c) || ml_index(&c))
		goto out;
	if (c.classifier && c.n_out == 2) {
		/* ONNX's binary form: one score column, the other derived */
		bool both[2] = { false, false };
		long i;

		for (i = 0; i < c.nl; i++)
			both[c.lid[i]] = true;
		if (!both[0] || !both[1]) {
			ml_refuse(&c, "a binary classifier with one score column not supported: write both classes' weights");
			goto out;
		}
	}
	nbase = mcai_ox_attr_floats(n, "base_values", &basef);
	if (nbase > 0 && nbase != (long)c.n_out) {
		ml_refuse(&c, "base_values of another length than the outputs");
		goto out;
	}
	if (nbase > 0 && !strcmp(agg, "AVERAGE")) {
		for (k = 0; k < c.n_out; k++)
			if (basef[k] != 0) {
				ml_refuse(&c, "base_values with AVERAGE not supported");
				goto out;
			}
		nbase = 0;
	}
	fscale = ml_feature_scale(&c, o);
	if (ml_flatten(&c, fscale, &leaves, &depth))
		goto out;
	/*
	 * frac_bits: the largest that keeps the engine checker's bound, the
	 * largest |leaf value| times the trees plus the largest |base|,
	 * below 2^30 (the checker's own limit is 2^31, less AVERAGE's
	 * rounding).
	 */
	{
		double m = 0, bm = 0;

		for (k = 0; k < leaves; k++)
			for (j = 0; j < c.n_out; j++)
				m = fmax(m, fabs(c.leaf[(size_t)c.leafsrc[k] * c.n_out + j]));
		for (k = 0; nbase > 0 && k < c.n_out; k++)
			bm = fmax(bm, fabs(basef[k]));
		worst = m * c.n_trees + bm;
	}
	for (fb = 30; fb > 2 && worst * ldexp(1, (int)fb) >= ldexp(1, 30); fb--)
		;
	if (worst * ldexp(1, (int)fb) >= ldexp(1, 30)) {
		ml_refuse(&c, "leaf values too large for 30-bit fixed point with 2 fraction bits");
		goto out;
	}
	vscale = ldexp(1, (int)fb);
	c.values = calloc((size_t)leaves * c.n_out + 1, sizeof(s32));
	c.base = calloc(c.n_out, sizeof(s32));
	if (!c.values || !c.base) {
		mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		goto out;
	}
	for (k = 0; k < leaves; k++) {
		const double *lv = &c.leaf[(size_t)c.leafsrc[k] * c.n_out];

		for (j = 0; j < c.n_out; j++)
			c.values[(size_t)k * c.n_out + j] = (s32)lrint(lv[j] * vscale);
	}
	for (k = 0; nbase > 0 && k < c.n_out; k++)
		c.base[k] = (s32)lrint(basef[k] * vscale);

	e.nodes = c.nodes;
	e.n_nodes = (u32)c.nn;
	e.roots = c.roots;
	e.n_trees = c.n_trees;
	e.values = c.values;
	e.n_values = leaves * c.n_out;
	e.base = nbase > 0 ? c.base : NULL;
	e.n_features = c.n_feat;
	e.n_outputs = c.n_out;
	e.max_depth = depth;
	e.aggregate = !strcmp(agg, "AVERAGE") ? MCAI_TREE_AVERAGE : MCAI_TREE_SUM;
	e.link = !strcmp(post, "LOGISTIC") && c.n_out == 1 ?
		 MCAI_LINK_LOGISTIC : MCAI_LINK_IDENTITY;
	e.frac_bits = (u8)fb;
	{
		const char *why = mcai_tree_check(&e);

		if (why) {
			mcai_ox_node_refuse(g, n, "the engine refuses the ensemble: %s",
					    why);
			goto out;
		}
	}
	nw = mcai_gw_tree_count(&e);
	c.words = calloc(nw, sizeof(s32));
	if (!c.words) {
		mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		goto out;
	}
	mcai_gw_tree_words(&e, c.words);

	t[0].dtype = MCAI_DT_INT16;
	t[0].kind = MCAI_TK_ARENA;
	t[0].rank = (u8)x->rank;
	t[0].dims[0] = t[0].dims[1] = t[0].dims[2] = 1;
	t[0].dims[3] = c.n_feat;
	t[0].scale = (float)fscale;
	t[1].dtype = MCAI_DT_INT32;
	t[1].kind = MCAI_TK_ARENA;
	t[1].rank = 2;
	t[1].dims[0] = t[1].dims[1] = t[1].dims[2] = 1;
	t[1].dims[3] = c.n_out;
	t[1].scale = e.link == MCAI_LINK_LOGISTIC ? (float)ldexp(1, -31) :
		     (float)(1.0 / vscale);
	op.type = MCAI_OP_TREE;
	op.n_in = 1;
	op.in[0] = 0;
	op.out = 1;
	op.params = c.words;
	op.params_len = 4 * nw;

	fi.is_float = true;
	mcai_iofacts_name(x->name, &fi, iname);
	/* the scores: the classifier's second output, the regressor's one */
	out_t = n->out[c.classifier && n->n_out > 1 ? 1 : 0];
	if (out_t < 0) {
		ml_refuse(&c, "the ensemble's scores are not an output");
		goto out;
	}
	fo.is_float = true;
	fo.classifier = c.classifier;
	mcai_iofacts_name(g->t[out_t].name, &fo, oname);
	gw.name = o->name;
	gw.version = o->version;
	gw.head = MCAI_HEAD_ARGMAX;
	gw.n_tensors = 2;
	gw.t = t;
	gw.n_ops = 1;
	gw.op = &op;
	gw.n_inputs = gw.n_outputs = 1;
	gw.input[0] = 0;
	gw.output[0] = 1;
	gw.input_name[0] = iname;
	gw.output_name[0] = oname;
	if (o->n_calib && o->calib[0].count) {
		c.tv = calloc(c.n_feat, sizeof(s16));
		if (!c.tv) {
			mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
			goto out;
		}
		/* half to even, as `mcaictl run` quantises a float input */
		for (k = 0; k < c.n_feat; k++) {
			double q = nearbyint(o->calib[0].data[k] / fscale);

			q = isnan(q) ? 0 : q < -32768 ? -32768 : q > 32767 ? 32767 : q;
			c.tv[k] = (s16)q;
		}
		gw.tv_count = 1;
		gw.tv_inputs = c.tv;
	}
	r->blob = mcai_graph_write(&gw, &r->size, err, sizeof(err));
	if (!r->blob) {
		mcai_ox_node_refuse(g, n, "the engine refuses the graph: %s", err);
		goto out;
	}
	r->n_ops = 1;
	r->n_quant_calibrated = o->n_calib ? 1 : 0;
	ret = 0;
out:
	ml_free(&c);
	return ret;
}

int mcai_ox_lower_ml(struct mcai_ox_graph *g, const struct mcai_import_opts *o,
		     struct mcai_import_result *r)
{
	struct mcai_ox_node *tree = NULL;
	u32 i;

	for (i = 0; i < g->n_n; i++) {
		struct mcai_ox_node *n = &g->n[i];

		if (strcmp(n->domain, "ai.onnx.ml"))
			return mcai_ox_node_refuse(g, n, "an ai.onnx.ml model must be one tree ensemble and nothing else");
		if (!strcmp(n->op, "ZipMap"))
			return mcai_ox_node_refuse(g, n, "not supported: export without ZipMap (the scores as a tensor)");
		if (strcmp(n->op, "TreeEnsembleClassifier") &&
		    strcmp(n->op, "TreeEnsembleRegressor"))
			return mcai_ox_node_refuse(g, n, "ai.onnx.ml operator not supported (TreeEnsembleClassifier, TreeEnsembleRegressor, LinearClassifier, LinearRegressor and a Scaler before them are)");
		if (tree)
			return mcai_ox_node_refuse(g, n, "more than one tree ensemble in the graph");
		tree = n;
	}
	if (o->n_calib > 1)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "calibration data for %u inputs, the model has 1",
				      o->n_calib);
	return ml_lower_tree(g, tree, o, r);
}

/* A constant float tensor of @rank/@dims made by a rewrite; NULL on error. */
static float *ml_const(struct mcai_ox_graph *g, const char *name, u32 rank,
		       const u32 *dims, s32 *ti)
{
	struct mcai_ox_tensor *t;
	u64 e = 1;
	u32 k;

	*ti = mcai_ox_add_tensor(g, name);
	if (*ti < 0)
		return NULL;
	t = &g->t[*ti];
	t->is_const = t->known = true;
	t->onnx_type = MCAI_OX_FLOAT;
	t->rank = rank;
	for (k = 0; k < rank; k++) {
		t->dims[k] = dims[k];
		e *= dims[k];
	}
	t->f = calloc(e ? e : 1, sizeof(float));
	return t->f;
}

/*
 * LinearClassifier / LinearRegressor, optionally after a Scaler (how
 * scikit-learn's linear models and a StandardScaler pipeline arrive), as
 * the float graph FC (+ Softmax for post_transform SOFTMAX, + Sigmoid
 * for LOGISTIC) which the ordinary path then calibrates and quantises
 * as it does a Gemm: weights symmetric int8 per output row, int32 bias.
 * The Scaler, y = (x - offset) * scale: its offset folds into the
 * bias, its scale into the input's quantisation (per-feature scales,
 * x->feat_scale; import.c scales the calibration samples to match).  ONNX's binary form (one coefficient row, two class labels)
 * scores the classes [-s, s], as ONNX Runtime does: two rows, -w and w.
 * The classifier's label output is the blob's argmax head (the index
 * into classlabels); its scores are the blob's output.
 * Returns 1 when rewritten, 0 when the graph has no linear model, -1
 * when refused.
 */
int mcai_ox_ml_linear(struct mcai_ox_graph *g)
{
	struct mcai_ox_node *lin = NULL, *sc = NULL, *n;
	const float *coef, *icpt = NULL, *off = NULL, *scl = NULL;
	long nc, ni = 0, noff = 0, nscl = 0, labels;
	const char *post;
	struct mcai_ox_tensor *x;
	bool classifier, binary;
	u32 feat, rows, out, o, i, k, wd[2], bd[1];
	s32 wi, bi, scores, fc_out;
	float *w, *b;

	for (i = 0; i < g->n_n; i++) {
		n = &g->n[i];
		if (!strcmp(n->domain, "ai.onnx.ml") &&
		    (!strcmp(n->op, "LinearClassifier") ||
		     !strcmp(n->op, "LinearRegressor")))
			lin = n;
	}
	if (!lin)
		return 0;
	classifier = !strcmp(lin->op, "LinearClassifier");
	if (g->n_n > 2 || (g->n_n == 2 && (strcmp(g->n[0].domain, "ai.onnx.ml") ||
					  strcmp(g->n[0].op, "Scaler") ||
					  lin != &g->n[1])))
		return mcai_ox_node_refuse(g, lin, "a linear model must be the graph's one node, or follow one Scaler");
	if (!lin->n_out || lin->n_out > 2 || lin->n_in != 1)
		return mcai_ox_node_refuse(g, lin, "one input and one or two outputs expected");
	if (g->n_n == 2) {
		sc = &g->n[0];
		if (sc->n_in != 1 || sc->n_out != 1 || sc->in[0] < 0 ||
		    sc->out[0] < 0 || lin->in[0] != sc->out[0] ||
		    g->t[sc->out[0]].is_output)
			return mcai_ox_node_refuse(g, sc, "the Scaler must feed the linear model alone");
		noff = mcai_ox_attr_floats(sc, "offset", &off);
		nscl = mcai_ox_attr_floats(sc, "scale", &scl);
	}
	n = sc ? sc : lin;
	if (n->n_in != 1 || n->in[0] < 0 || g->n_in != 1 || n->in[0] != g->in[0])
		return mcai_ox_node_refuse(g, n, "the linear model must read the graph's one input");
	x = &g->t[n->in[0]];
	if (x->onnx_type != MCAI_OX_FLOAT)
		return mcai_ox_node_refuse(g, n, "features must be float");
	if (x->rank < 1 || x->rank > 2 || (x->rank == 2 && x->dims[0] != 1))
		return mcai_ox_node_refuse(g, n, "features must be [F] or [1, F]");
	feat = x->dims[x->rank - 1];
	if ((noff > 1 && noff != (long)feat) || (nscl > 1 && nscl != (long)feat))
		return mcai_ox_node_refuse(g, sc, "offset and scale must have 1 or %u values", feat);
	nc = mcai_ox_attr_floats(lin, "coefficients", &coef);
	if (nc <= 0 || nc % feat)
		return mcai_ox_node_refuse(g, lin, "coefficients missing or not a multiple of the %u features",
					   feat);
	rows = (u32)(nc / feat);
	ni = mcai_ox_attr_floats(lin, "intercepts", &icpt);
	if (ni > 0 && ni != (long)rows)
		return mcai_ox_node_refuse(g, lin, "%ld intercepts for %u coefficient rows", ni, rows);
	post = mcai_ox_attr_string(lin, "post_transform");
	post = post ? post : "NONE";
	if (classifier) {
		const ProtobufCBinaryData *s;
		const s64 *li;
		long a = mcai_ox_attr_ints(lin, "classlabels_ints", &li);

		labels = a > 0 ? a : ml_attr_strings(lin, "classlabels_strings", &s);
		if (labels <= 0)
			return mcai_ox_node_refuse(g, lin, "no class labels");
		if (strcmp(post, "NONE") && strcmp(post, "SOFTMAX") &&
		    strcmp(post, "LOGISTIC"))
			return mcai_ox_node_refuse(g, lin, "post_transform %s not supported (NONE, SOFTMAX, LOGISTIC)",
						   post);
	} else {
		labels = mcai_ox_attr_int_or(lin, "targets", 1);
		if (strcmp(post, "NONE"))
			return mcai_ox_node_refuse(g, lin, "post_transform %s not supported (NONE)", post);
	}
	binary = classifier && rows == 1 && labels == 2;
	if (!binary && labels != (long)rows)
		return mcai_ox_node_refuse(g, lin, "%u coefficient rows for %ld %s", rows, labels,
					   classifier ? "classes" : "targets");
	out = binary ? 2 : rows;
	if (out > 4096)
		return mcai_ox_node_refuse(g, lin, "more than 4096 outputs");
	/* the scores: the classifier's second output, the regressor's one */
	scores = lin->out[classifier ? 1 : 0];
	if (classifier && lin->n_out < 2)
		scores = -1;
	if (scores < 0 || !g->t[scores].is_output)
		return mcai_ox_node_refuse(g, lin, "the scores are not a graph output");
	for (i = 0, k = 0; i < g->n_out; i++)
		if (g->out[i] == scores)
			g->out[k++] = scores;
		else if (!classifier || g->out[i] != lin->out[0])
			return mcai_ox_node_refuse(g, lin, "a graph output other than the label and the scores");
	g->n_out = k;
	if (classifier && lin->out[0] >= 0)
		g->t[lin->out[0]].is_output = false;

	wd[0] = out;
	wd[1] = feat;
	bd[0] = out;
	w = ml_const(g, "linear#w", 2, wd, &wi);
	b = w ? ml_const(g, "linear#b", 1, bd, &bi) : NULL;
	if (!w || !b)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	if (nscl > 0) {
		x = &g->t[g->in[0]];
		x->feat_scale = calloc(feat, sizeof(float));
		if (!x->feat_scale)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		for (i = 0; i < feat; i++) {
			x->feat_scale[i] = scl[nscl > 1 ? i : 0];
			if (!isfinite(x->feat_scale[i]) || !(x->feat_scale[i] > 0))
				return mcai_ox_node_refuse(g, sc, "a scale not positive or not finite");
		}
	}
	/*
	 * The graph reads u = x * scale (the input's quantisation carries
	 * the scale per feature, so that features of very different ranges
	 * each keep their resolution); (x - offset) * scale is
	 * u - offset * scale, and the offset goes into the bias.
	 */
	for (o = 0; o < out; o++) {
		u32 r = binary ? 0 : o;
		double sign = binary && !o ? -1 : 1, acc = ni > 0 ? icpt[r] : 0;

		for (i = 0; i < feat; i++) {
			double s = nscl > 0 ? scl[nscl > 1 ? i : 0] : 1;
			double f = noff > 0 ? off[noff > 1 ? i : 0] : 0;
			double c = coef[(u64)r * feat + i];

			w[(u64)o * feat + i] = (float)(sign * c);
			acc -= c * f * s;
		}
		b[o] = (float)(sign * acc);
		if (!isfinite(b[o]))
			return mcai_ox_node_refuse(g, lin, "coefficients, intercepts or the Scaler not finite");
	}
	g->t[scores].onnx_type = MCAI_OX_FLOAT;
	g->t[scores].classifier = classifier;
	fc_out = scores;
	if (strcmp(post, "NONE")) {
		fc_out = mcai_ox_add_tensor(g, "linear#z");
		if (fc_out < 0)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	}
	if (g->n_n < 2) {
		/* an unnamed node's name is its namebuf, which realloc moves */
		bool own = lin->name == lin->namebuf;
		void *p = realloc(g->n, 2 * sizeof(*g->n));

		if (!p)
			return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		g->n = p;
		lin = &g->n[0];
		if (own)
			lin->name = lin->namebuf;
	}
	/* node 0: the FC (named as the linear model, for messages) */
	n = &g->n[0];
	if (n != lin)
		*n = *lin;
	n->in[0] = g->in[0];
	n->in[1] = wi;
	n->in[2] = bi;
	n->n_in = 3;
	n->out[0] = fc_out;
	n->out[1] = -1;
	n->n_out = 1;
	n->op = "FC";
	n->domain = "";
	n->proto = NULL;
	n->dead = false;
	g->n_n = 1;
	if (fc_out != scores) {
		struct mcai_ox_node *p = &g->n[1];

		*p = *n;
		p->in[0] = fc_out;
		p->n_in = 1;
		p->out[0] = scores;
		p->op = strcmp(post, "SOFTMAX") ? "Sigmoid" : "Softmax";
		g->n_n = 2;
	}
	mcai_ox_count_uses(g);
	return 1;
}
