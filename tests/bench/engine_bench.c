// SPDX-License-Identifier: GPL-2.0
/*
 * Engine benchmark: the mcai int8 engine, compiled the way the kernel
 * compiles it (-O2, no SIMD), against XNNPACK's int8 fully-connected
 * operators on identical shapes, in the same run.  Prints figures; it is
 * not a test.
 *
 * usage: engine_bench [FMNIST_BLOB] [--seconds S]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xnnpack.h>

#include "models/engine/engine.h"
#include "models/train/quant.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"

#define MAX_LAYERS 4

struct bench_model {
	const char *label;
	struct mcai_model m;
	u8 *blob;
	u32 blob_size;
	/* XNNPACK: one operator per FC layer, chained through buffers. */
	xnn_operator_t op[MAX_LAYERS];
	s8 *buf[MAX_LAYERS + 1];
	u32 n_ops;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
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
		fprintf(stderr, "bench: %s\n", err);
	for (l = 0; l < 2; l++) {
		free(w[l]);
		free(b[l]);
		free(mu[l]);
		free(sh[l]);
	}
	return blob;
}

/*
 * XNNPACK's qs8 FC takes one kernel scale per layer: use the mean of the
 * per-channel requantisation, which costs it nothing in speed.
 */
static int xnn_setup_model(struct bench_model *bm)
{
	const struct mcai_model *m = &bm->m;
	u32 l, o;

	bm->buf[0] = calloc(1, m->input_len);
	for (l = 0; l < m->n_layers; l++) {
		const struct mcai_layer *ly = &m->layer[l];
		s32 *bias = malloc(4 * ly->out_len);
		double mult = 0;
		enum xnn_status st;

		if (ly->type != MCAI_LAYER_FC || l >= MAX_LAYERS) {
			free(bias);
			return -1;
		}
		for (o = 0; o < ly->out_len; o++) {
			bias[o] = mcai_les32(ly->bias + 4 * o);
			mult += mcai_les32(ly->mult + 4 * o) *
				ldexp(1.0, mcai_les32(ly->shift + 4 * o) - 31);
		}
		mult /= ly->out_len;
		bm->buf[l + 1] = calloc(1, ly->out_len);
		st = xnn_create_fully_connected_nc_qs8(ly->in_len, ly->out_len,
			ly->in_len, ly->out_len, ly->in_zp, 1.0f, (float)mult,
			ly->weights, bias, ly->out_zp, 1.0f, ly->clamp_min,
			ly->clamp_max, 0, &bm->op[l]);
		free(bias);
		if (st != xnn_status_success)
			return -1;
		st = xnn_setup_fully_connected_nc_qs8(bm->op[l], 1, bm->buf[l],
						      bm->buf[l + 1], NULL);
		if (st != xnn_status_success)
			return -1;
		bm->n_ops = l + 1;
	}
	return 0;
}

static void bench(struct bench_model *bm, double seconds)
{
	const struct mcai_model *m = &bm->m;
	s8 *in = malloc(m->input_len), *scores = malloc(m->output_len);
	void *arena = malloc(m->arena_size + 1);
	double best_m = 1e9, best_x = 1e9;
	u32 iters = 1000, i, r, l;
	volatile int sink = 0;

	for (i = 0; i < m->input_len; i++)
		in[i] = (s8)rng();
	memcpy(bm->buf[0], in, m->input_len);
	/* Calibrate iterations so one repetition takes ~seconds/10. */
	for (;;) {
		double t0 = now();

		for (i = 0; i < iters; i++)
			sink += mcai_engine_run(m, in, scores, arena);
		if (now() - t0 > seconds / 10)
			break;
		iters *= 2;
	}
	/* Alternate the two so drift and noise hit both alike; keep the best. */
	for (r = 0; r < 10; r++) {
		double t0 = now(), t;

		for (i = 0; i < iters; i++)
			sink += mcai_engine_run(m, in, scores, arena);
		t = (now() - t0) / iters;
		best_m = t < best_m ? t : best_m;
		t0 = now();
		for (i = 0; i < iters; i++)
			for (l = 0; l < bm->n_ops; l++)
				xnn_run_operator(bm->op[l], NULL);
		t = (now() - t0) / iters;
		best_x = t < best_x ? t : best_x;
	}
	printf("%-12s %8llu MACs | mcai %9.1f ns %6.2f MAC/ns | XNNPACK %9.1f ns %6.2f MAC/ns | mcai/XNNPACK time %5.2fx\n",
	       bm->label, (unsigned long long)m->macs, best_m * 1e9,
	       m->macs / (best_m * 1e9), best_x * 1e9, m->macs / (best_x * 1e9),
	       best_m / best_x);
	free(in);
	free(scores);
	free(arena);
}

static void release(struct bench_model *bm)
{
	u32 l;

	for (l = 0; l < bm->n_ops; l++)
		xnn_delete_operator(bm->op[l]);
	for (l = 0; l <= MAX_LAYERS; l++)
		free(bm->buf[l]);
	free(bm->blob);
}

int main(int argc, char **argv)
{
	struct bench_model models[2] = { { .label = "fmnist-mlp" },
					 { .label = "linnos-31-256-2" } };
	const char *fmnist = "models/fmnist-mlp.mcai";
	double seconds = 2.0;
	char err[256];
	struct mcai_limits lim;
	struct mcai_verdict v;
	int i, ret = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--help")) {
			printf("usage: %s [FMNIST_BLOB] [--seconds S]\n", argv[0]);
			return 0;
		} else
			fmnist = argv[i];
	}
	if (xnn_initialize(NULL) != xnn_status_success) {
		fprintf(stderr, "bench: XNNPACK failed to initialise\n");
		return 1;
	}
	mcai_limits_default(&lim);
	models[0].blob = mcai_blob_read(fmnist, MCAI_DEFAULT_MAX_BLOB,
					&models[0].blob_size, err, sizeof(err));
	if (!models[0].blob)
		fprintf(stderr, "bench: %s\n", err);
	models[1].blob = make_mlp(31, 256, 2, &models[1].blob_size);
	printf("engine: scalar C, -O2, no SIMD (kernel flags); XNNPACK: qs8 FC, batch 1, 1 thread\n");
	for (i = 0; i < 2; i++) {
		struct bench_model *bm = &models[i];

		if (!bm->blob || mcai_verify(&bm->m, bm->blob, bm->blob_size, &lim, &v)) {
			fprintf(stderr, "bench: %s: cannot load (%s)\n", bm->label,
				bm->blob ? v.reason : "missing");
			ret = 1;
			continue;
		}
		if (xnn_setup_model(bm)) {
			fprintf(stderr, "bench: %s: XNNPACK setup failed\n", bm->label);
			ret = 1;
		} else {
			bench(bm, seconds);
		}
		release(bm);
	}
	xnn_deinitialize();
	return ret;
}
