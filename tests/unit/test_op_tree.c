// SPDX-License-Identifier: GPL-2.0
/*
 * Tree ensembles and linear models (models/engine/op_tree.c).
 *
 * Trees are generated as float trees (double thresholds) over features
 * with their own int16 quantisation; the kernel gets the thresholds
 * quantised by mcai_tree_threshold() (floor(t / scale + zp)) and the
 * reference walks the float tree on the dequantised features
 * (q - zp) * scale: the same leaf must come out for every input, which is
 * the threshold rule's promise.  Thresholds lie on the feature grid
 * exactly (scales are powers of two, so the double arithmetic is exact)
 * or well between two grid points.
 *
 * The checker is tested on every generated ensemble (accepted) and on
 * mutations of them (each refused), including a shared-node graph with
 * 2^40 paths that must be refused after a few dozen steps.
 */
#include <math.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/ops.h"
#include "models/engine/fixedpoint.h"
#include "models/train/opquant.h"

typedef __int128 i128;

#define MAX_NODES	4096
#define MAX_VALUES	(MAX_NODES * 4)
#define MAX_FEATURES	12

/* A float ensemble and its quantised twin. */
struct forest {
	struct mcai_tree_ensemble e;
	struct mcai_tree_node node[MAX_NODES];
	double thr[MAX_NODES];		/* float thresholds */
	u32 root[64];
	s32 value[MAX_VALUES];
	s32 base[4];
	double scale[MAX_FEATURES];
	s32 zp[MAX_FEATURES];
	u32 depth;			/* deepest split path generated */
};

/* Append tree nodes breadth first: children always after their parent. */
static void grow_tree(struct forest *f, uint64_t *seed, u32 max_depth,
		      int leaf_kind)
{
	struct mcai_tree_ensemble *e = &f->e;
	u32 start = e->n_nodes, next = start + 1, n, k;
	u32 depth[MAX_NODES];

	depth[start] = 0;
	for (n = start; n < next; n++) {
		struct mcai_tree_node *nd = &f->node[n];
		int leaf = depth[n] >= max_depth ||
			   next + 2 > MAX_NODES ||
			   unit_rnd_in(seed, 0, 9) < (int)depth[n] + (n == start ? 0 : 2);

		memset(nd, 0, sizeof(*nd));
		if (leaf) {
			nd->feature = MCAI_TREE_LEAF;
			nd->value = e->n_values;
			for (k = 0; k < e->n_outputs; k++) {
				s32 v;

				if (leaf_kind == 0)	/* Q16 of [-2, 2] */
					v = unit_rnd_in(seed, -131072, 131072);
				else
					v = unit_rnd_in(seed, -1000, 1000);
				f->value[e->n_values++] = v;
			}
			continue;
		}
		nd->feature = (u16)unit_rnd_in(seed, 0, (int)e->n_features - 1);
		/* on the grid, or strictly between two points */
		{
			u32 ft = nd->feature;
			int g = f->zp[ft] + unit_rnd_in(seed, -300, 300);
			double u = unit_rnd_in(seed, 0, 2) ? 0 :
				   0.05 + 0.9 * unit_rnd32(seed) / 4294967296.0;

			/* t between grid points g and g + 1 (or on g) */
			f->thr[n] = (g + u - f->zp[ft]) * f->scale[ft];
			nd->threshold = mcai_tree_threshold(f->thr[n],
							    f->scale[ft],
							    f->zp[ft]);
			ck_assert_int_eq(nd->threshold, g);
		}
		nd->left = next;
		nd->right = next + 1;
		depth[next] = depth[next + 1] = depth[n] + 1;
		if (depth[n] + 1 > f->depth)
			f->depth = depth[n] + 1;
		next += 2;
	}
	e->n_nodes = next;
}

static void grow_forest(struct forest *f, uint64_t *seed, u32 trees,
			u32 outputs, int aggregate, int leaf_kind)
{
	struct mcai_tree_ensemble *e = &f->e;
	u32 t, i;

	memset(e, 0, sizeof(*e));
	f->depth = 0;
	e->nodes = f->node;
	e->roots = f->root;
	e->values = f->value;
	e->n_features = (u32)unit_rnd_in(seed, 1, MAX_FEATURES);
	e->n_outputs = outputs;
	e->aggregate = (u8)aggregate;
	for (i = 0; i < e->n_features; i++) {
		f->scale[i] = ldexp(1, -unit_rnd_in(seed, 0, 12));
		f->zp[i] = unit_rnd_in(seed, -1000, 1000);
	}
	for (t = 0; t < trees; t++) {
		f->root[t] = e->n_nodes;
		grow_tree(f, seed, (u32)unit_rnd_in(seed, 0, 9), leaf_kind);
	}
	e->n_trees = trees;
	if (aggregate == MCAI_TREE_SUM && unit_rnd_in(seed, 0, 1)) {
		for (i = 0; i < outputs; i++)
			f->base[i] = unit_rnd_in(seed, -65536, 65536);
		e->base = f->base;
	}
	e->max_depth = f->depth + (u32)unit_rnd_in(seed, 0, 2);
}

/* The float walk: the leaf the float tree picks for dequantised @x. */
static u32 ref_walk(const struct forest *f, u32 n, const s16 *x)
{
	while (f->node[n].feature != MCAI_TREE_LEAF) {
		u32 ft = f->node[n].feature;
		double g = (x[ft] - f->zp[ft]) * f->scale[ft];

		n = g <= f->thr[n] ? f->node[n].left : f->node[n].right;
	}
	return n;
}

static void random_features(const struct forest *f, uint64_t *seed, s16 *x)
{
	u32 i;

	for (i = 0; i < f->e.n_features; i++) {
		int g = unit_rnd_in(seed, 0, 9) ? unit_rnd_in(seed, -320, 320) :
			unit_rnd_in(seed, -32768, 32767);

		/* mostly near the thresholds, zp +- 300 */
		x[i] = (s16)fmax(-32768, fmin(32767, g + f->zp[i]));
	}
}

static void forest_case(uint64_t *seed, u32 trees, u32 outputs,
			int aggregate, int logistic)
{
	static struct forest f;
	int k;

	grow_forest(&f, seed, trees, outputs, aggregate,
		    aggregate == MCAI_TREE_SUM ? 0 : 1);
	if (logistic) {
		f.e.link = MCAI_LINK_LOGISTIC;
		f.e.frac_bits = 16;
	}
	EXPECT(mcai_tree_check(&f.e) == NULL, "valid ensemble refused: %s",
	       mcai_tree_check(&f.e));
	ck_assert_uint_eq(mcai_tree_macs(&f.e),
			  (u64)trees * (f.e.max_depth + outputs));
	for (k = 0; k < 60; k++) {
		s16 x[MAX_FEATURES];
		s32 out[4];
		int64_t want[4] = { 0 };
		u32 t, c, best = 0;
		int cls;

		random_features(&f, seed, x);
		for (c = 0; c < outputs; c++)
			want[c] = aggregate == MCAI_TREE_SUM && f.e.base ?
				  f.base[c] : 0;
		for (t = 0; t < trees; t++) {
			u32 leaf = ref_walk(&f, f.root[t], x);
			const s32 *v = f.value + f.node[leaf].value;
			u32 top = 0;

			for (c = 0; c < outputs; c++) {
				want[c] += aggregate == MCAI_TREE_VOTE ? 0 : v[c];
				if (v[c] > v[top])
					top = c;
			}
			if (aggregate == MCAI_TREE_VOTE)
				want[top]++;
		}
		cls = mcai_tree_ensemble(&f.e, x, out);
		for (c = 0; c < outputs; c++) {
			if (aggregate == MCAI_TREE_AVERAGE)
				want[c] = lround((double)want[c] / trees);
			if (logistic) {
				double p = 1 / (1 + exp(-ldexp((double)want[c], -16)));

				EXPECT(fabs(out[c] / 2147483648.0 - p) < 2e-7,
				       "logistic %u: %d vs %g", c, out[c], p);
				want[c] = out[c];
			}
			EXPECT(out[c] == want[c],
			       "ensemble (aggregate %d) output %u: %d, float tree %lld",
			       aggregate, c, out[c], (long long)want[c]);
			if (want[c] > want[best])
				best = c;
		}
		if (outputs == 1)
			best = want[0] > (logistic ? 1 << 30 : 0);
		EXPECT(cls == (int)best, "class %d, float tree %u", cls, best);
	}
}

START_TEST(decision_tree)
{
	uint64_t seed = 0x7ee;
	int k;

	for (k = 0; k < 100; k++)
		forest_case(&seed, 1, (u32)unit_rnd_in(&seed, 1, 4), MCAI_TREE_SUM,
			    0);
}
END_TEST

START_TEST(random_forest)
{
	uint64_t seed = 0xf07e;
	int k;

	for (k = 0; k < 100; k++)
		forest_case(&seed, (u32)unit_rnd_in(&seed, 1, 30),
			    (u32)unit_rnd_in(&seed, 1, 4),
			    k % 2 ? MCAI_TREE_VOTE : MCAI_TREE_AVERAGE, 0);
}
END_TEST

START_TEST(gradient_boosting)
{
	uint64_t seed = 0x6b7;
	int k;

	for (k = 0; k < 100; k++)
		forest_case(&seed, (u32)unit_rnd_in(&seed, 1, 40),
			    (u32)unit_rnd_in(&seed, 1, 3), MCAI_TREE_SUM, k % 2);
}
END_TEST

/* A leaf-only tree, and a chain exactly as deep as the limit. */
START_TEST(tree_shapes)
{
	static struct mcai_tree_node chain[2 * MCAI_TREE_MAX_DEPTH + 1];
	static s32 vals[MCAI_TREE_MAX_DEPTH + 1];
	struct mcai_tree_node leaf = { .feature = MCAI_TREE_LEAF };
	u32 root = 0, i;
	s32 one = 42, out;
	s16 x = 0;
	struct mcai_tree_ensemble e = {
		.nodes = &leaf, .n_nodes = 1, .roots = &root, .n_trees = 1,
		.values = &one, .n_values = 1, .n_features = 1,
		.n_outputs = 1, .max_depth = 0,
	};

	ck_assert_ptr_null(mcai_tree_check(&e));
	ck_assert_int_eq(mcai_tree_ensemble(&e, &x, &out), 1);
	ck_assert_int_eq(out, 42);
	/* split i at 2i: left is leaf 2i+1 (x <= i), right the next split */
	for (i = 0; i < MCAI_TREE_MAX_DEPTH; i++) {
		chain[2 * i] = (struct mcai_tree_node){
			.feature = 0, .threshold = (s16)i,
			.left = 2 * i + 1, .right = 2 * i + 2,
		};
		chain[2 * i + 1] = (struct mcai_tree_node){
			.feature = MCAI_TREE_LEAF, .value = i,
		};
		vals[i] = (s32)i;
	}
	chain[2 * i] = (struct mcai_tree_node){
		.feature = MCAI_TREE_LEAF, .value = i,
	};
	vals[i] = 1000;
	e.nodes = chain;
	e.n_nodes = 2 * MCAI_TREE_MAX_DEPTH + 1;
	e.values = vals;
	e.n_values = MCAI_TREE_MAX_DEPTH + 1;
	e.max_depth = MCAI_TREE_MAX_DEPTH;
	ck_assert_ptr_null(mcai_tree_check(&e));
	for (x = -3; x < 70; x++) {
		mcai_tree_ensemble(&e, &x, &out);
		ck_assert_int_eq(out, x < 0 ? 0 : x < 64 ? x : 1000);
	}
	e.max_depth = MCAI_TREE_MAX_DEPTH - 1;
	ck_assert_ptr_nonnull(mcai_tree_check(&e));
	/* unchecked, the walk still stops after max_depth splits */
	x = 100;
	ck_assert_int_eq(mcai_tree_ensemble(&e, &x, &out), -1);
	e.max_depth = MCAI_TREE_MAX_DEPTH + 1;
	ck_assert_ptr_nonnull(mcai_tree_check(&e));
}
END_TEST

/* Every mutation of a valid ensemble that breaks a rule is refused. */
START_TEST(checker_refuses)
{
	static struct forest f, g;
	uint64_t seed = 0xc4ec;
	int k, refused = 0;

	for (k = 0; k < 300; k++) {
		u32 n, t, end;
		int m = k % 12;

		grow_forest(&f, &seed, (u32)unit_rnd_in(&seed, 2, 5), 2,
			    MCAI_TREE_SUM, 1);
		ck_assert_ptr_null(mcai_tree_check(&f.e));
		g = f;
		g.e.nodes = g.node;
		g.e.roots = g.root;
		g.e.values = g.value;
		g.e.base = f.e.base ? g.base : NULL;
		/* a split node of a random tree, if it has one */
		t = (u32)unit_rnd_in(&seed, 0, (int)g.e.n_trees - 1);
		end = t + 1 < g.e.n_trees ? g.root[t + 1] : g.e.n_nodes;
		for (n = g.root[t]; n < end; n++)
			if (g.node[n].feature != MCAI_TREE_LEAF)
				break;
		if (n == end && m < 6)
			m = 6 + m % 6;		/* mutations for leaves */
		switch (m) {
		case 0:
			g.node[n].left = n;			/* a cycle */
			break;
		case 1:
			g.node[n].right = n ? n - 1 : n;	/* backwards */
			break;
		case 2:
			g.node[n].left = end;		/* the next tree */
			break;
		case 3:
			g.node[n].right = 0xffffffffU;
			break;
		case 4:
			g.node[n].feature = (u16)g.e.n_features;
			break;
		case 5:
			g.e.max_depth = f.depth - 1;	/* too deep */
			break;
		case 6:
			for (n = g.root[t]; g.node[n].feature != MCAI_TREE_LEAF;)
				n = g.node[n].left;
			g.node[n].value = g.e.n_values - 1;
			break;
		case 7:
			g.root[0] = 1;
			break;
		case 8:
			g.root[g.e.n_trees - 1] = g.root[g.e.n_trees - 2];
			break;
		case 9:
			g.value[unit_rnd_in(&seed, 0, (int)g.e.n_values - 1)] =
				INT32_MAX / (s32)g.e.n_trees + 1;
			break;
		case 10:
			g.e.link = MCAI_LINK_LOGISTIC;
			g.e.frac_bits = (u8)(k % 2 ? 1 : 32);
			break;
		default:
			g.e.n_features = MCAI_TREE_LEAF;
			break;
		}
		/* case 5 with a flat forest has nothing to break */
		if (m == 5 && f.depth == 0)
			continue;
		EXPECT(mcai_tree_check(&g.e) != NULL,
		       "mutation %d accepted", m);
		refused++;
	}
	ck_assert_int_gt(refused, 250);
}
END_TEST

/* 2^40 paths through 41 nodes: refused in bounded work, not walked. */
START_TEST(checker_bounded_work)
{
	static struct mcai_tree_node dag[41];
	u32 root = 0, i;
	s32 v = 0;
	struct mcai_tree_ensemble e = {
		.nodes = dag, .n_nodes = 41, .roots = &root, .n_trees = 1,
		.values = &v, .n_values = 1, .n_features = 1,
		.n_outputs = 1, .max_depth = 40,
	};

	for (i = 0; i < 40; i++)
		dag[i] = (struct mcai_tree_node){ .feature = 0,
			.left = i + 1, .right = i + 1 };
	dag[40] = (struct mcai_tree_node){ .feature = MCAI_TREE_LEAF };
	ck_assert_ptr_nonnull(mcai_tree_check(&e));
	/* the same nodes as a proper tree (a chain of leaves) pass */
	for (i = 0; i + 2 < 41; i += 2)
		dag[i] = (struct mcai_tree_node){ .feature = 0,
			.left = i + 1, .right = i + 2 };
	for (i = 1; i < 41; i += 2)
		dag[i] = (struct mcai_tree_node){ .feature = MCAI_TREE_LEAF };
	dag[40] = (struct mcai_tree_node){ .feature = MCAI_TREE_LEAF };
	ck_assert_ptr_null(mcai_tree_check(&e));
	/*
	 * Two splits sharing their leaves: 7 walks of 5 nodes, refused;
	 * the budget is the tree's node count, not a multiple of it.
	 */
	dag[0] = (struct mcai_tree_node){ .feature = 0, .left = 1, .right = 2 };
	dag[1] = (struct mcai_tree_node){ .feature = 0, .left = 3, .right = 4 };
	dag[2] = (struct mcai_tree_node){ .feature = 0, .left = 3, .right = 4 };
	dag[3] = (struct mcai_tree_node){ .feature = MCAI_TREE_LEAF };
	dag[4] = (struct mcai_tree_node){ .feature = MCAI_TREE_LEAF };
	e.n_nodes = 5;
	ck_assert_ptr_nonnull(mcai_tree_check(&e));
	/* with right = 4 only once it is a tree: 0 -> 1 (3, 4), 2 leaf */
	dag[2] = (struct mcai_tree_node){ .feature = MCAI_TREE_LEAF };
	ck_assert_ptr_null(mcai_tree_check(&e));
}
END_TEST

START_TEST(threshold_rule)
{
	/* scale 0.5, zp 10: grid g = (q - 10) / 2 */
	ck_assert_int_eq(mcai_tree_threshold(0.0, 0.5, 10), 10);
	ck_assert_int_eq(mcai_tree_threshold(0.49, 0.5, 10), 10);
	ck_assert_int_eq(mcai_tree_threshold(0.5, 0.5, 10), 11);
	ck_assert_int_eq(mcai_tree_threshold(-0.01, 0.5, 10), 9);
	ck_assert_int_eq(mcai_tree_threshold(1e9, 0.5, 10), 32767);
	ck_assert_int_eq(mcai_tree_threshold(-1e9, 0.5, 10), -32768);
	ck_assert_int_eq(mcai_quantize_s16(0.74, 0.5, 10), 11);
	ck_assert_int_eq(mcai_quantize_s16(0.75, 0.5, 10), 12);
	ck_assert_int_eq(mcai_quantize_s16(-1e9, 0.5, 10), -32768);
	ck_assert_int_eq(mcai_quantize_s16(NAN, 0.5, 10), 10);
}
END_TEST

/* round(x * m * 2^s / 2^31), half away from zero, saturated. */
static s32 ref_requant64(i128 x, s32 m, int s)
{
	i128 num = x * m, den = (i128)1 << (31 - s), mag, q;

	mag = num < 0 ? -num : num;
	q = (mag + den / 2) / den;
	q = num < 0 ? -q : q;
	return q > INT32_MAX ? INT32_MAX : q < INT32_MIN ? INT32_MIN : (s32)q;
}

START_TEST(linear_models)
{
	uint64_t seed = 0x11ea;
	int k;

	for (k = 0; k < 300; k++) {
		struct mcai_linear_params p;
		u32 nf = (u32)unit_rnd_in(&seed, 1, k < 290 ? 40 : 4000);
		u32 no = (u32)unit_rnd_in(&seed, 1, 5), i, j, best = 0;
		s16 *w = malloc(sizeof(s16) * nf * no), *x = malloc(sizeof(s16) * nf);
		s64 bias[5];
		s32 mult[5], shift[5], out[5], want[5];
		int cls;

		ck_assert(w && x);
		memset(&p, 0, sizeof(p));
		for (i = 0; i < nf * no; i++)
			w[i] = (s16)unit_rnd32(&seed);
		for (i = 0; i < nf; i++)
			x[i] = (s16)unit_rnd32(&seed);
		if (k % 10 == 0)	/* the extremes */
			for (i = 0; i < nf; i++) {
				x[i] = -32768;
				w[i] = i % 2 ? -32768 : 32767;
			}
		for (i = 0; i < no; i++) {
			bias[i] = (s64)unit_rnd(&seed) >> unit_rnd_in(&seed, 3, 63);
			mult[i] = (s32)((1U << 30) | (unit_rnd32(&seed) >> 2));
			shift[i] = -unit_rnd_in(&seed, 8, 31);
			if (k % 10 == 3) {	/* scaled by 1: every bit shows */
				bias[i] = unit_rnd_in(&seed, -1000, 1000);
				mult[i] = 1 << 30;
				shift[i] = 1;
			}
		}
		if (k % 10 == 3)
			for (i = 0; i < nf; i++)
				x[i] = (s16)unit_rnd_in(&seed, -300, 300);
		p.n_features = nf;
		p.n_outputs = no;
		p.weights = w;
		p.bias = bias;
		p.mult = mult;
		p.shift = shift;
		p.link = (u8)(k % 2);
		p.frac_bits = (u8)unit_rnd_in(&seed, 8, 24);
		ck_assert_ptr_null(mcai_linear_check(&p));
		cls = mcai_linear(&p, x, out);
		for (i = 0; i < no; i++) {
			i128 acc = bias[i];

			for (j = 0; j < nf; j++)
				acc += (i128)w[(size_t)i * nf + j] * x[j];
			want[i] = ref_requant64(acc, mult[i], shift[i]);
			if (p.link == MCAI_LINK_LOGISTIC) {
				double z = ldexp(want[i], -p.frac_bits);
				double prob = 1 / (1 + exp(-z));

				EXPECT(fabs(out[i] / 2147483648.0 - prob) < 2e-7,
				       "linear logistic %u: %d vs %g", i,
				       out[i], prob);
				want[i] = out[i];
			}
			EXPECT(out[i] == want[i], "linear %u: %d vs %d", i,
			       out[i], want[i]);
			if (want[i] > want[best])
				best = i;
		}
		if (no == 1)
			best = want[0] > (p.link ? 1 << 30 : 0);
		EXPECT(cls == (int)best, "linear class %d vs %u", cls, best);
		ck_assert_uint_eq(mcai_linear_macs(&p), (u64)nf * no);
		p.n_features = MCAI_OP_MAX_DOT + 1;
		ck_assert_ptr_nonnull(mcai_linear_check(&p));
		p.n_features = nf;
		bias[0] = (1LL << 61) + 1;
		ck_assert_ptr_nonnull(mcai_linear_check(&p));
		bias[0] = 0;
		p.link = MCAI_LINK_LOGISTIC;
		p.frac_bits = 1;
		ck_assert_ptr_nonnull(mcai_linear_check(&p));
		free(w);
		free(x);
	}
}
END_TEST

Suite *op_tree_suite(void)
{
	Suite *s = suite_create("op_tree");
	TCase *t = tcase_create("tree");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, decision_tree);
	tcase_add_test(t, random_forest);
	tcase_add_test(t, gradient_boosting);
	tcase_add_test(t, tree_shapes);
	tcase_add_test(t, checker_refuses);
	tcase_add_test(t, checker_bounded_work);
	tcase_add_test(t, threshold_rule);
	tcase_add_test(t, linear_models);
	suite_add_tcase(s, t);
	return s;
}
