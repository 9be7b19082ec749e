// SPDX-License-Identifier: GPL-2.0
/*
 * Engine benchmark: every model blob, run by the mcai engine compiled the
 * way the kernel compiles it (-O2, no SIMD, no FPU; the SIMD kernels with
 * their own flags, as kmod/Kbuild builds them) on the SIMD path the
 * dispatch picks (MCAI_SIMD or --simd override it), and by XNNPACK's
 * subgraph API built as the same graph (tests/bench/xnn_graph.c), batch
 * 1, one thread, in the same run.  Repetitions alternate between the two
 * (ABBA) so that noise and frequency drift hit both alike; the figures are
 * medians.  Both run the same input and the outputs are compared: XNNPACK
 * requantises in fp32, mcai in Q31, so a few LSBs may differ, and the
 * bench prints how many.  Prints figures; it is not a test.
 *
 * usage: engine-bench [BLOB...] [--seconds S] [--json] [--cpu-time] [--synthetic]
 *                     [--simd PATH]
 */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xnnpack.h>

#include "models/engine/engine.h"
#include "models/engine/graph.h"
#include "models/engine/simd.h"
#include "models/engine/verify.h"
#include "models/train/quant.h"
#include "models/train/writer.h"
#include "tests/bench/synth_graphs.h"
#include "tests/bench/xnn_graph.h"

#define REPS		11	/* medians of this many alternated runs */
#define MAX_MODELS	64

struct bench_model {
	char label[64];
	u8 *blob;
	u32 blob_size;
	u32 format;
	/* v1: the model, and the same chain as a graph for XNNPACK */
	struct mcai_model m;
	struct mcai_gtensor v1_t[2 * MCAI_BLOB_MAX_LAYERS + MCAI_BLOB_MAX_LAYERS + 1];
	struct mcai_gop v1_op[MCAI_BLOB_MAX_LAYERS];
	s32 *v1_words;
	s8 *in, *scores;
	/* v2 */
	void *state;
	struct mcai_graph g;
	void *arena;
	struct mcai_xnn_net net;
	bool have_xnn;
	char why[192];
};

struct bench_result {
	u64 macs;
	double mcai_ns, xnn_ns;
	int max_diff;		/* int8 units, outputs; -1: not compared */
	int max_diff_xnn;	/* int8 units, tensors XNNPACK wrote */
	u32 compared, differing;
	s64 max_diff_s32;	/* int32 outputs (scores), -1: none */
};

/*
 * --cpu-time: the thread's CPU clock instead of the wall clock, so that
 * on a loaded machine the time the bench is switched out does not count
 * (XNNPACK runs without a thread pool, in this thread, so both sides are
 * measured alike; cache pollution by other tasks still counts).
 */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void)
{
	struct timespec ts;

	clock_gettime(bench_clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static u32 rng_state = 12345;

static u32 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* A random in -> hidden -> out MLP with ReLU, like LinnOS's 31-256-2. */
static u8 *make_mlp(u32 in, u32 hidden, u32 out, u32 *size)
{
	struct mcai_blob_spec s = {
		.name = "linnos-mlp", .version = 1, .n_layers = 2,
		.input_scale = 1.0f / 128, .output_scale = 1.0f / 16,
	};
	u32 dims[3] = { in, hidden, out }, l, i;
	s8 *w[2];
	s32 *b[2], *mu[2], *sh[2];
	char err[128];
	u8 *blob;

	for (l = 0; l < 2; l++) {
		u32 n = dims[l] * dims[l + 1];

		w[l] = malloc(n);
		b[l] = malloc(4 * dims[l + 1]);
		mu[l] = malloc(4 * dims[l + 1]);
		sh[l] = malloc(4 * dims[l + 1]);
		for (i = 0; i < n; i++)
			w[l][i] = (s8)((int)(rng() % 255) - 127);
		for (i = 0; i < dims[l + 1]; i++) {
			b[l][i] = (s32)(rng() % 2001) - 1000;
			mcai_quantize_multiplier(1.0 / (64.0 * dims[l]), &mu[l][i], &sh[l][i]);
		}
		s.layer[l] = (struct mcai_layer_spec){
			.type = MCAI_LAYER_FC, .activation = l ? MCAI_ACT_NONE : MCAI_ACT_RELU,
			.in_len = dims[l], .out_len = dims[l + 1],
			.in_zp = l ? -128 : 0, .out_zp = l ? 0 : -128,
			.clamp_min = -128, .clamp_max = 127,
			.weights = w[l], .bias = b[l], .mult = mu[l], .shift = sh[l],
		};
	}
	blob = mcai_blob_write(&s, size, err, sizeof(err));
	if (!blob)
		fprintf(stderr, "engine-bench: %s\n", err);
	for (l = 0; l < 2; l++) {
		free(w[l]);
		free(b[l]);
		free(mu[l]);
		free(sh[l]);
	}
	return blob;
}

/* ------------------------------------------------------------------ */
/* Format v1 as a graph, so that one translation serves both formats. */

static u32 v1_tensor(struct bench_model *bm, u32 *n, u8 kind, u32 d2, u32 d3,
		     s32 zp, const void *data)
{
	struct mcai_gtensor *t = &bm->v1_t[*n];
	float one = 1.0f;

	memset(t, 0, sizeof(*t));
	t->dims[0] = 1;
	t->dims[1] = 1;
	t->dims[2] = d2;
	t->dims[3] = d3;
	t->bytes = d2 * d3;
	t->zp = zp;
	/* v1 keeps no tensor scales: unit scales, the multipliers say all */
	memcpy(&t->scale, &one, sizeof(one));
	t->dtype = MCAI_DT_INT8;
	t->kind = kind;
	t->data = data;
	return (*n)++;
}

static int v1_graph(struct bench_model *bm)
{
	const struct mcai_model *m = &bm->m;
	struct mcai_graph *g = &bm->g;
	u32 nt = 0, l, o, words = 0, x;
	s32 *w;

	for (l = 0; l < m->n_layers; l++)
		words += 3 * m->layer[l].out_len;
	bm->v1_words = w = malloc(4 * (size_t)words + 4);
	if (!w)
		return -1;
	memset(g, 0, sizeof(*g));
	x = v1_tensor(bm, &nt, MCAI_TK_ARENA, 1, m->input_len, m->input_zp, NULL);
	g->input[0] = x;
	for (l = 0; l < m->n_layers; l++) {
		const struct mcai_layer *ly = &m->layer[l];
		struct mcai_gop *op = &bm->v1_op[l];
		s32 next_zp = l + 1 < m->n_layers ? m->layer[l + 1].in_zp : 0;

		memset(op, 0, sizeof(*op));
		op->in[0] = x;
		if (ly->type == MCAI_LAYER_LUT) {
			op->type = MCAI_OP_LUT;
			op->n_in = 1;
			op->p.lut = ly->lut;
			x = v1_tensor(bm, &nt, MCAI_TK_ARENA, 1, ly->out_len,
				      next_zp, NULL);
		} else {
			s32 *bias = w, *mult = w + ly->out_len,
			    *shift = w + 2 * ly->out_len;

			w += 3 * ly->out_len;
			for (o = 0; o < ly->out_len; o++) {
				bias[o] = mcai_les32(ly->bias + 4 * o);
				mult[o] = mcai_les32(ly->mult + 4 * o);
				shift[o] = mcai_les32(ly->shift + 4 * o);
			}
			/* XNNPACK takes the zero point from the tensor */
			if (bm->v1_t[x].zp != ly->in_zp && l > 0 &&
			    m->layer[l - 1].type != MCAI_LAYER_LUT)
				return -1;
			bm->v1_t[x].zp = ly->in_zp;
			op->type = MCAI_OP_FC;
			op->n_in = 3;
			op->in[1] = v1_tensor(bm, &nt, MCAI_TK_CONST, ly->out_len,
					      ly->in_len, 0, ly->weights);
			op->in[2] = v1_tensor(bm, &nt, MCAI_TK_CONST, 1,
					      ly->out_len, 0, bias);
			bm->v1_t[op->in[2]].dtype = MCAI_DT_INT32;
			op->p.fc = (struct mcai_fc_params){
				.batch = 1, .in_len = ly->in_len,
				.out_len = ly->out_len, .in_zp = ly->in_zp,
				.out_zp = ly->out_zp, .act_min = ly->clamp_min,
				.act_max = ly->clamp_max, .mult = mult,
				.shift = shift,
			};
			x = v1_tensor(bm, &nt, MCAI_TK_ARENA, 1, ly->out_len,
				      ly->out_zp, NULL);
		}
		op->out = x;
	}
	g->t = bm->v1_t;
	g->op = bm->v1_op;
	g->n_tensors = nt;
	g->n_ops = m->n_layers;
	g->n_inputs = 1;
	g->n_outputs = 1;
	g->output[0] = x;
	g->macs = m->macs;
	return 0;
}

/* ------------------------------------------------------------------ */

static int load(struct bench_model *bm)
{
	struct mcai_limits lim;
	struct mcai_verdict v = { "", 0 };
	u32 need;

	/* the widest limits a module accepts: the bench judges no size */
	mcai_limits_widest(&lim);
	bm->format = mcai_blob_format(bm->blob, bm->blob_size);
	if (bm->format == 2) {
		need = mcai_graph_state_size(bm->blob, bm->blob_size, &lim, &v);
		if (!need)
			goto bad;
		bm->state = aligned_alloc(8, (need + 7) & ~7U);
		if (!bm->state || mcai_graph_verify(&bm->g, bm->blob,
						    bm->blob_size, &lim,
						    bm->state, need, &v))
			goto bad;
		bm->arena = aligned_alloc(8, (bm->g.arena_size + 8) & ~7U);
		return bm->arena ? 0 : -1;
	}
	/* through the loader, so that the FC layers are packed for SIMD */
	if (mcai_model_state_size(bm->blob, bm->blob_size, &lim, &need, &v))
		goto bad;
	if (need) {
		bm->state = aligned_alloc(8, (need + 7) & ~7U);
		if (!bm->state)
			return -1;
	}
	if (mcai_model_verify(&bm->m, bm->blob, bm->blob_size, &lim, bm->state,
			      need, &v))
		goto bad;
	bm->in = malloc(bm->m.input_len);
	bm->scores = malloc(bm->m.output_len);
	bm->arena = malloc(bm->m.arena_size + 1);
	if (!bm->in || !bm->scores || !bm->arena)
		return -1;
	if (v1_graph(bm)) {
		v.reason = "layer zero points do not chain";
		goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "engine-bench: %s: cannot load: %s (offset %u)\n",
		bm->label, v.reason, v.offset);
	return -1;
}

/* The same random input on both sides. */
static void set_inputs(struct bench_model *bm)
{
	u32 k, i;

	if (bm->format != 2) {
		for (i = 0; i < bm->m.input_len; i++)
			bm->in[i] = (s8)rng();
		if (bm->have_xnn)
			memcpy(mcai_xnn_tensor(&bm->net, bm->g.input[0]), bm->in,
			       bm->m.input_len);
		return;
	}
	for (k = 0; k < bm->g.n_inputs; k++) {
		u32 t = bm->g.input[k];
		u8 *p = mcai_graph_tensor(&bm->g, bm->arena, t);

		for (i = 0; i < bm->g.t[t].bytes; i++)
			p[i] = (u8)rng();
		if (bm->have_xnn)
			memcpy(mcai_xnn_tensor(&bm->net, t), p, bm->g.t[t].bytes);
	}
}

static void run_mcai(struct bench_model *bm, u32 iters)
{
	volatile int sink = 0;
	u32 i;

	if (bm->format == 2)
		for (i = 0; i < iters; i++)
			sink += mcai_graph_run(&bm->g, bm->arena);
	else
		for (i = 0; i < iters; i++)
			sink += mcai_engine_run(&bm->m, bm->in, bm->scores,
						bm->arena);
	(void)sink;
}

static void run_xnn(struct bench_model *bm, u32 iters)
{
	u32 i;

	for (i = 0; i < iters; i++)
		mcai_xnn_run(&bm->net);
}

/* ns per inference of @iters runs */
static double timed(struct bench_model *bm, bool xnn, u32 iters)
{
	double t0 = now();

	if (xnn)
		run_xnn(bm, iters);
	else
		run_mcai(bm, iters);
	return (now() - t0) * 1e9 / iters;
}

/* Iterations that take about @target seconds. */
static u32 calibrate(struct bench_model *bm, bool xnn, double target)
{
	u32 iters = 1;
	double ns;

	for (;;) {
		ns = timed(bm, xnn, iters);
		if (ns * iters > 5e6 || iters >= 1U << 28)
			break;
		iters *= 4;
	}
	ns = target * 1e9 / ns;
	return ns < 1 ? 1 : ns > 1e9 ? 1000000000U : (u32)ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Whether tensor @t still holds its value after a whole mcai run: no op
 * after the one that wrote it writes over its arena bytes.
 */
static bool intact(const struct mcai_graph *g, u32 t)
{
	const struct mcai_gtensor *x = &g->t[t];
	s32 prod = -1;
	u32 i;

	for (i = 0; i < g->n_ops; i++)
		if (g->op[i].out == t)
			prod = (s32)i;
	for (i = prod + 1; i < g->n_ops; i++) {
		const struct mcai_gtensor *y = &g->t[g->op[i].out];

		if (g->op[i].out == t || y->kind != MCAI_TK_ARENA)
			continue;
		if (y->offset < x->offset + x->bytes &&
		    x->offset < y->offset + y->bytes)
			return false;
	}
	return true;
}

static bool is_graph_output(const struct mcai_graph *g, u32 t)
{
	u32 k;

	for (k = 0; k < g->n_outputs; k++)
		if (g->output[k] == t)
			return true;
	return false;
}

/* Whether an XNNPACK runtime, not an mcai kernel, wrote tensor @t. */
static bool produced_by_xnn(const struct mcai_xnn_net *n, u32 t)
{
	u32 i;

	for (i = 0; i < n->n_stages; i++) {
		const struct mcai_xnn_stage *s = &n->stage[i];

		if (!s->rt && n->g->op[s->op].out == t)
			return false;
	}
	return true;
}

/*
 * Differences at the graph's outputs (what a user sees, after any mcai
 * kernel that amplifies them: a softmax turns a 1-LSB logit into many)
 * and in the tensors XNNPACK itself wrote (its own arithmetic).
 */
static void diff8(struct bench_result *r, const s8 *a, const s8 *b, u32 n,
		  bool output, bool xnn)
{
	u32 i;

	for (i = 0; i < n; i++) {
		int d = abs(a[i] - b[i]);

		if (output && d > r->max_diff)
			r->max_diff = d;
		if (xnn && d > r->max_diff_xnn)
			r->max_diff_xnn = d;
		r->differing += d != 0;
	}
	r->compared += n;
}

/*
 * Both sides on a few inputs: every int8 tensor XNNPACK hands over (the
 * outputs, and what goes in and out of an op run with mcai's kernel) that
 * mcai's arena still holds at the end, and int32 outputs apart.
 */
static void compare(struct bench_model *bm, struct bench_result *r)
{
	const struct mcai_graph *g = &bm->g;
	u32 k, t, i;

	r->max_diff = 0;
	r->max_diff_xnn = 0;
	for (k = 0; k < 8; k++) {
		set_inputs(bm);
		run_mcai(bm, 1);
		mcai_xnn_run(&bm->net);
		if (bm->format != 2) {
			diff8(r, bm->scores, mcai_xnn_tensor(&bm->net, g->output[0]),
			      bm->m.output_len, true,
			      produced_by_xnn(&bm->net, g->output[0]));
			continue;
		}
		for (t = 0; t < g->n_tensors; t++) {
			const struct mcai_gtensor *x = &g->t[t];
			const void *want = mcai_graph_tensor(g, bm->arena, t);
			const void *have = mcai_xnn_tensor(&bm->net, t);

			if (x->kind != MCAI_TK_ARENA || !bm->net.external[t] ||
			    !intact(g, t))
				continue;
			if (x->dtype == MCAI_DT_INT8) {
				diff8(r, want, have, x->bytes,
				      is_graph_output(g, t),
				      produced_by_xnn(&bm->net, t));
			} else if (x->dtype == MCAI_DT_INT32 &&
				   is_graph_output(g, t)) {
				for (i = 0; i < x->bytes / 4; i++) {
					s64 d = llabs((s64)((const s32 *)want)[i] -
						      ((const s32 *)have)[i]);

					if (d > r->max_diff_s32)
						r->max_diff_s32 = d;
				}
			}
		}
	}
}

static void bench(struct bench_model *bm, double seconds,
		  struct bench_result *r)
{
	double tm[REPS], tx[REPS], target = seconds / (2.0 * REPS);
	u32 im, ix = 0, k;

	memset(r, 0, sizeof(*r));
	r->max_diff = -1;
	r->max_diff_s32 = -1;
	r->macs = bm->format == 2 ? bm->g.macs : bm->m.macs;
	if (bm->have_xnn)
		compare(bm, r);
	set_inputs(bm);
	if (!bm->have_xnn)
		target *= 2;
	im = calibrate(bm, false, target);
	if (bm->have_xnn)
		ix = calibrate(bm, true, target);
	for (k = 0; k < REPS; k++) {
		/* ABBA: neither always runs first, into the other's caches */
		if (k & 1) {
			if (bm->have_xnn)
				tx[k] = timed(bm, true, ix);
			tm[k] = timed(bm, false, im);
		} else {
			tm[k] = timed(bm, false, im);
			if (bm->have_xnn)
				tx[k] = timed(bm, true, ix);
		}
	}
	qsort(tm, REPS, sizeof(double), cmp_double);
	r->mcai_ns = tm[REPS / 2];
	if (bm->have_xnn) {
		qsort(tx, REPS, sizeof(double), cmp_double);
		r->xnn_ns = tx[REPS / 2];
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct bench_model *bm,
		       const struct bench_result *r, bool first)
{
	printf("%s\n  {\"model\": ", first ? "" : ",");
	json_str(bm->label);
	printf(", \"format\": %u, \"simd\": \"%s\", \"macs\": %llu, "
	       "\"mcai_ns\": %.1f, ", bm->format == 2 ? 2 : 1,
	       mcai_simd_name(mcai_simd_active()), (unsigned long long)r->macs,
	       r->mcai_ns);
	if (bm->have_xnn) {
		printf("\"xnnpack_ns\": %.1f, \"ratio\": %.3f, \"max_diff\": %d, "
		       "\"max_diff_xnnpack_tensors\": %d, \"differing\": %u, "
		       "\"compared\": %u, ", r->xnn_ns, r->mcai_ns / r->xnn_ns,
		       r->max_diff, r->max_diff_xnn, r->differing, r->compared);
		if (r->max_diff_s32 >= 0)
			printf("\"max_diff_int32_output\": %lld, ",
			       (long long)r->max_diff_s32);
		printf("\"xnnpack_runtimes\": %u, \"mapping\": ",
		       bm->net.n_runtimes);
		json_str(bm->net.mapped);
		printf(", \"mcai_kernels_in_xnnpack_run\": ");
		json_str(bm->net.fallback);
		printf("}");
	} else {
		printf("\"xnnpack_ns\": null, \"ratio\": null, \"max_diff\": null, "
		       "\"reason\": ");
		json_str(bm->why);
		printf("}");
	}
}

static void print_row(const struct bench_model *bm,
		      const struct bench_result *r)
{
	printf("%-22s v%u %11llu %12.0f ", bm->label, bm->format == 2 ? 2 : 1,
	       (unsigned long long)r->macs, r->mcai_ns);
	if (!bm->have_xnn) {
		printf("%12s %7s %4s %4s %12s %s\n", "-", "-", "-", "-", "-",
		       bm->why);
		return;
	}
	printf("%12.0f %6.2fx %4d %4d %5u/%-6u %s\n", r->xnn_ns,
	       r->mcai_ns / r->xnn_ns, r->max_diff, r->max_diff_xnn,
	       r->differing, r->compared, bm->net.fallback);
}

static void release(struct bench_model *bm)
{
	if (bm->have_xnn)
		mcai_xnn_free(&bm->net);
	free(bm->blob);
	free(bm->state);
	free(bm->arena);
	free(bm->in);
	free(bm->scores);
	free(bm->v1_words);
	memset(bm, 0, sizeof(*bm));
}

static void usage(const char *argv0, FILE *f)
{
	fprintf(f,
		"usage: %s [BLOB...] [--seconds S] [--json] [--cpu-time] [--synthetic]\n"
		"  Times every model blob (default: models/*.mcai and\n"
		"  models/mlperf-tiny/*.mcai, and a LinnOS-shaped 31-256-2 MLP)\n"
		"  on the mcai engine, compiled with the kernel's flags, and on\n"
		"  XNNPACK's subgraph API built as the same graph: batch 1, one\n"
		"  thread, alternated repetitions, medians; compares the outputs.\n"
		"  --seconds S   time per model (default 2)\n"
		"  --json        an array of {model, macs, mcai_ns, xnnpack_ns, ...}\n"
		"  --cpu-time    time on the thread's CPU clock (a loaded machine:\n"
		"                time switched out is not counted)\n"
		"  --synthetic   add two built-in engine-v2 graphs (a DS-CNN block\n"
		"                stack, a residual block)\n"
		"  --simd PATH   auto (default, or $MCAI_SIMD), off, avx2,\n"
		"                avx512vnni, avxvnni\n", argv0);
}

int main(int argc, char **argv)
{
	static struct bench_model models[MAX_MODELS];
	const char *paths[MAX_MODELS];
	u32 n_paths = 0, n = 0, i;
	double seconds = 2.0;
	bool json = false, synth = false, first = true;
	const char *simd = getenv("MCAI_SIMD");
	char err[256];
	glob_t gl;
	int ret = 0, a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--seconds") && a + 1 < argc) {
			seconds = atof(argv[++a]);
		} else if (!strcmp(argv[a], "--json")) {
			json = true;
		} else if (!strcmp(argv[a], "--synthetic")) {
			synth = true;
		} else if (!strcmp(argv[a], "--cpu-time")) {
			bench_clock = CLOCK_THREAD_CPUTIME_ID;
		} else if (!strcmp(argv[a], "--simd") && a + 1 < argc) {
			simd = argv[++a];
		} else if (!strcmp(argv[a], "--help")) {
			usage(argv[0], stdout);
			return 0;
		} else if (argv[a][0] == '-') {
			usage(argv[0], stderr);
			return 2;
		} else if (n_paths < MAX_MODELS - 4) {
			paths[n_paths++] = argv[a];
		}
	}
	if (!(seconds > 0)) {
		usage(argv[0], stderr);
		return 2;
	}
	if (mcai_simd_select(simd)) {
		fprintf(stderr, "engine-bench: SIMD path '%s' unknown or not "
			"supported by this CPU\n", simd);
		return 2;
	}
	memset(&gl, 0, sizeof(gl));
	if (!n_paths) {
		glob("models/*.mcai", 0, NULL, &gl);
		glob("models/mlperf-tiny/*.mcai", GLOB_APPEND, NULL, &gl);
		for (i = 0; i < gl.gl_pathc && n_paths < MAX_MODELS - 4; i++)
			paths[n_paths++] = gl.gl_pathv[i];
	}
	if (xnn_initialize(NULL) != xnn_status_success) {
		fprintf(stderr, "engine-bench: XNNPACK failed to initialise\n");
		return 1;
	}
	for (i = 0; i < n_paths; i++) {
		struct bench_model *bm = &models[n];
		const char *base = strrchr(paths[i], '/');

		snprintf(bm->label, sizeof(bm->label), "%s", base ? base + 1 : paths[i]);
		if (strlen(bm->label) > 5 &&
		    !strcmp(bm->label + strlen(bm->label) - 5, ".mcai"))
			bm->label[strlen(bm->label) - 5] = 0;
		bm->blob = mcai_blob_read(paths[i], 64U << 20, &bm->blob_size,
					  err, sizeof(err));
		if (!bm->blob) {
			fprintf(stderr, "engine-bench: %s\n", err);
			ret = 1;
			continue;
		}
		n++;
	}
	snprintf(models[n].label, sizeof(models[n].label), "linnos-31-256-2");
	models[n].blob = make_mlp(31, 256, 2, &models[n].blob_size);
	n += models[n].blob != NULL;
	if (synth) {
		u32 k;

		for (k = 0; k < MCAI_SYNTH_COUNT; k++) {
			struct bench_model *bm = &models[n];

			bm->blob = mcai_synth_graph(k, bm->label, sizeof(bm->label),
						    &bm->blob_size);
			if (!bm->blob) {
				ret = 1;
				continue;
			}
			n++;
		}
	}
	if (json)
		printf("[");
	else
		printf("mcai: kernel flags (-O2, no SIMD but the SIMD kernels), "
		       "SIMD path %s; XNNPACK: subgraph, batch 1, 1 thread; "
		       "medians of %d alternated runs\n"
		       "%-22s %-2s %11s %12s %12s %7s %4s %4s %12s %s\n",
		       mcai_simd_name(mcai_simd_active()), REPS,
		       "model", "fmt", "MACs", "mcai ns", "XNNPACK ns", "ratio",
		       "diff", "xdif", "differ/n", "mcai kernels in the XNNPACK run");
	for (i = 0; i < n; i++) {
		struct bench_model *bm = &models[i];
		struct bench_result r;

		if (load(bm)) {
			ret = 1;
			release(bm);
			continue;
		}
		if (mcai_xnn_build(&bm->net, &bm->g, bm->why, sizeof(bm->why)))
			fprintf(stderr, "engine-bench: %s: no XNNPACK figure: %s\n",
				bm->label, bm->why);
		else
			bm->have_xnn = true;
		bench(bm, seconds, &r);
		if (json)
			print_json(bm, &r, first);
		else
			print_row(bm, &r);
		first = false;
		fflush(stdout);
		release(bm);
	}
	if (json)
		printf("\n]\n");
	else
		printf("ratio: mcai time / XNNPACK time.  diff: largest difference "
		       "of an output (int8 LSBs); xdif: of a tensor XNNPACK wrote;\n"
		       "differ/n: elements that differ / compared, over 8 random "
		       "inputs\n");
	globfree(&gl);
	xnn_deinitialize();
	return ret;
}
