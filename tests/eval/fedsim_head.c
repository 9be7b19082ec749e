// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-fedsim --suite cnn-head: federating an imported model
 * (runtime/fed/fedhead.h).  The Fashion-MNIST CNN imported from ONNX is
 * split before its trailing FC layers; its head is deliberately weakened
 * (re-initialised at random, as a fresh head on a pretrained body would
 * be); the frozen int8 body computes every training image's features
 * once, in the engine; clients train only the float head on their shard's
 * features (models/train/mlp.c, the fleet's trainer) and the server
 * averages them (FedAvg, weighted by samples).  Every few rounds the head
 * is requantised into a complete new blob (a new model version, the body's
 * bytes checked unchanged), which is verified with the kernel's default
 * limits and run by the engine, body included, on the test images: the
 * int8 accuracy is what /dev/mcai would deliver.  IID and Dirichlet
 * label splits, the same seed and initial head for each.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/train/cli.h"
#include "models/train/quant.h"
#include "models/train/writer.h"
#include "runtime/fed/fedhead.h"
#include "runtime/fed/fedsim.h"
#include "tests/eval/fedsim_head.h"

struct feats {
	const struct mcai_fedhead *h;
	const s8 *q;			/* count x dims[0] int8 features */
	const u8 *labels;
};

static void feat_get(void *ctx, u32 index, float *x, u32 *label)
{
	const struct feats *f = ctx;

	mcai_fedhead_dequant(f->h, f->q + (size_t)index * f->h->dims[0], x);
	*label = f->labels[index];
}

/* The int8 body output of @n images, each pixel / 255 quantised. */
static s8 *body_features(const struct mcai_fedhead *h, const u8 *images,
			 u32 n, u32 input_len)
{
	s8 *q = mcai_xcalloc((size_t)n, h->dims[0]), *in, qpix[256];
	void *arena = aligned_alloc(8, (h->g.arena_size + 15) & ~7U);
	const struct mcai_gtensor *t = &h->g.t[h->g.input[0]];
	float scale;
	u32 i, k;

	if (!arena)
		mcai_die("out of memory");
	memcpy(&scale, &t->scale, sizeof(scale));
	for (i = 0; i < 256; i++)
		qpix[i] = mcai_quantize(i / 255.0f, scale, (s8)t->zp);
	in = mcai_xcalloc(1, input_len);
	for (i = 0; i < n; i++) {
		for (k = 0; k < input_len; k++)
			in[k] = qpix[images[(size_t)i * input_len + k]];
		mcai_fedhead_features(h, arena, in, q + (size_t)i * h->dims[0]);
	}
	free(in);
	free(arena);
	return q;
}

/* int8 accuracy of a whole blob: default limits, vectors, every image. */
static double eval_blob(const u8 *blob, u32 size,
			const struct mcai_fedsim_data *d)
{
	struct mcai_limits lim;
	struct mcai_verdict v = { 0 };
	struct mcai_graph g;
	u32 need, i, k, correct = 0, failed;
	void *state, *arena;
	s8 qpix[256], *in;
	float scale;

	mcai_limits_default(&lim);
	need = mcai_graph_state_size(blob, size, &lim, &v);
	if (!need)
		mcai_die("requantised blob refused: %s", v.reason);
	state = aligned_alloc(8, (need + 7) & ~7U);
	if (!state || mcai_graph_verify(&g, blob, size, &lim, state,
					(need + 7) & ~7U, &v))
		mcai_die("requantised blob refused: %s at %u",
			 v.reason ? v.reason : "out of memory", v.offset);
	arena = aligned_alloc(8, (g.arena_size + 15) & ~7U);
	if (!arena)
		mcai_die("out of memory");
	if (mcai_graph_check_vectors(&g, arena, &failed))
		mcai_die("requantised blob: test vector %u does not reproduce",
			 failed);
	memcpy(&scale, &g.t[g.input[0]].scale, sizeof(scale));
	for (i = 0; i < 256; i++)
		qpix[i] = mcai_quantize(i / 255.0f, scale, (s8)g.t[g.input[0]].zp);
	in = mcai_graph_tensor(&g, arena, g.input[0]);
	for (i = 0; i < d->test_count; i++) {
		for (k = 0; k < d->input_len; k++)
			in[k] = qpix[d->test_images[(size_t)i * d->input_len + k]];
		correct += mcai_graph_run(&g, arena) == d->test_labels[i];
	}
	free(arena);
	free(state);
	return (double)correct / d->test_count;
}

struct run_out {
	double acc[1024];		/* by round, evaluated rounds only */
	bool have[1024];
	double secs;
	u32 shard_min, shard_max;
};

static void one_run(const struct mcai_fedhead *h, const struct feats *f,
		    const float *calib, u32 n_calib,
		    const struct mcai_fedsim_config *c,
		    const struct mcai_fedsim_data *d, float alpha,
		    const float *init, struct run_out *out)
{
	struct mcai_mlp *m = mcai_fedhead_mlp(h);
	struct mcai_mlp_data md = { feat_get, (void *)f };
	struct mcai_mlp_opt opt = {
		.momentum = c->momentum, .weight_decay = c->weight_decay,
	};
	float *global = mcai_xcalloc(1, h->n_params * sizeof(float));
	float *sum = mcai_xcalloc(1, h->n_params * sizeof(float));
	float *local = mcai_xcalloc(1, h->n_params * sizeof(float));
	u32 **shard, *len, *order, r, k, cl, m_per;
	size_t i;
	u64 rng;
	struct timespec t0, t1;
	char err[256];

	if (!m)
		mcai_die("out of memory");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mcai_fedsim_split(f->labels, d->train_count, d->classes,
			      c->clients, alpha, c->min_shard, c->seed, &shard,
			      &len))
		mcai_die("cannot split %u images over %u clients", d->train_count,
			 c->clients);
	out->shard_min = UINT32_MAX;
	out->shard_max = 0;
	for (cl = 0; cl < c->clients; cl++) {
		out->shard_min = len[cl] < out->shard_min ? len[cl] : out->shard_min;
		out->shard_max = len[cl] > out->shard_max ? len[cl] : out->shard_max;
	}
	order = mcai_xcalloc(1, c->clients * sizeof(u32));
	memcpy(global, init, h->n_params * sizeof(float));
	m_per = (u32)lround(c->fraction * c->clients);
	m_per = m_per < 2 ? 2 : m_per > c->clients ? c->clients : m_per;
	for (r = 0; r <= c->rounds; r++) {
		if (r > 0) {
			double total = 0;
			float lr = c->lr * 0.5f *
				   (1.0f + cosf((float)M_PI * (float)(r - 1) / c->rounds));

			rng = c->seed * 0x9e3779b97f4a7c15ULL + r;
			for (cl = 0; cl < c->clients; cl++)
				order[cl] = cl;
			for (cl = 0; cl < m_per; cl++) {
				u32 j = cl + mcai_mlp_below(&rng, c->clients - cl), t;

				t = order[cl];
				order[cl] = order[j];
				order[j] = t;
			}
			memset(sum, 0, h->n_params * sizeof(float));
			for (k = 0; k < m_per; k++) {
				struct mcai_mlp_sched s = { .lr = lr };
				u64 crng = rng ^ ((u64)order[k] << 32);
				u32 e;

				cl = order[k];
				mcai_mlp_set_params(m, global);
				mcai_mlp_reset_opt(m);
				for (e = 0; e < c->local_epochs; e++)
					mcai_mlp_train_epoch(m, &opt, &s, &md,
							     shard[cl], len[cl],
							     c->batch, &crng, NULL);
				mcai_mlp_get_params(m, local);
				for (i = 0; i < h->n_params; i++)
					sum[i] += (float)len[cl] * (local[i] - global[i]);
				total += len[cl];
			}
			for (i = 0; i < h->n_params; i++)
				global[i] += (float)(sum[i] / total);
		}
		if (r == c->rounds || (c->eval_every && r % c->eval_every == 0)) {
			u32 size;
			u8 *blob = mcai_fedhead_requantise(h, global, calib, n_calib,
							   r + 1, &size, err,
							   sizeof(err));

			if (!blob)
				mcai_die("round %u: %s", r, err);
			out->acc[r] = eval_blob(blob, size, d);
			out->have[r] = true;
			fprintf(stderr, "cnn-head alpha %g round %u: int8 %.4f\n",
				alpha, r, out->acc[r]);
			free(blob);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->secs = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	mcai_fedsim_shards_free(shard, len, c->clients);
	free(order);
	free(local);
	free(sum);
	free(global);
	mcai_mlp_free(m);
}

int mcai_eval_cnn_head(const struct mcai_fedsim_config *c,
		       const struct mcai_fedsim_data *d, const char *model,
		       u32 trainable)
{
	static const float alphas[] = { 0, 0.5f, 0.1f };
	enum { N_RUNS = sizeof(alphas) / sizeof(alphas[0]) };
	struct run_out *out = mcai_xcalloc(1, N_RUNS * sizeof(*out));
	struct mcai_fedhead h;
	struct mcai_mlp *m;
	struct feats f;
	char err[512];
	u32 size, n_calib = c->calib, r, k, bsize;
	u8 *blob;
	s8 *q;
	float *calib, *init;
	double orig_acc, secs_feat;
	struct timespec t0, t1;
	u64 rng = c->seed;

	if (c->rounds >= 1024)
		mcai_die("--rounds: at most 1023 here");
	blob = mcai_blob_read(model, 16U << 20, &size, err, sizeof(err));
	if (!blob)
		mcai_die("%s", err);
	if (mcai_fedhead_open(&h, blob, size, trainable, err, sizeof(err)))
		mcai_die("%s: %s", model, err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q = body_features(&h, d->train_images, d->train_count, d->input_len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs_feat = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	f = (struct feats){ &h, q, d->train_labels };
	if (n_calib > d->train_count)
		n_calib = d->train_count;
	calib = mcai_xcalloc(1, (size_t)n_calib * h.dims[0] * sizeof(float));
	for (k = 0; k < n_calib; k++)
		mcai_fedhead_dequant(&h, q + (size_t)k * h.dims[0],
				     calib + (size_t)k * h.dims[0]);
	orig_acc = eval_blob(blob, size, d);
	/* the weakened head: the same shape, drawn afresh */
	m = mcai_fedhead_mlp(&h);
	if (!m)
		mcai_die("out of memory");
	mcai_mlp_init(m, MCAI_MLP_DRAW_BY_INPUT, &rng);
	init = mcai_xcalloc(1, h.n_params * sizeof(float));
	mcai_mlp_get_params(m, init);
	mcai_mlp_free(m);
	for (k = 0; k < N_RUNS; k++)
		one_run(&h, &f, calib, n_calib, c, d, alphas[k], init, &out[k]);

	bsize = size;
	printf("# Federating an imported model (runtime/fed/fedhead.h): %s,\n", model);
	printf("# the last %u fc layer(s) trainable (%u -> ", h.n_fc, h.dims[0]);
	for (k = 1; k <= h.n_fc; k++)
		printf("%u%s", h.dims[k], k < h.n_fc ? " -> " : "");
	printf(", %zu float parameters), the body (ops 0..%u) frozen in int8.\n",
	       h.n_params, h.first_op - 1);
	printf("# Head re-initialised at random (round 0), then FedAvg: %u clients,\n",
	       c->clients);
	printf("# %u per round, %u local epoch(s), batch %u, lr %g cosine, momentum %g,\n",
	       (u32)lround(c->fraction * c->clients), c->local_epochs, c->batch,
	       (double)c->lr, (double)c->momentum);
	printf("# %u training images (features computed once by the engine in %.1f s),\n",
	       d->train_count, secs_feat);
	printf("# activations calibrated on the first %u; every evaluated version\n",
	       n_calib);
	printf("# requantised into a complete %u-byte blob (body bytes checked unchanged)\n",
	       bsize);
	printf("# and run whole by the engine on %u test images (default limits).\n",
	       d->test_count);
	printf("# The imported model as shipped: int8 %.4f.\n", orig_acc);
	for (k = 0; k < N_RUNS; k++)
		printf("# %s: shards %u..%u images, %.0f s\n",
		       k == 0 ? "IID" : k == 1 ? "Dirichlet 0.5" : "Dirichlet 0.1",
		       out[k].shard_min, out[k].shard_max, out[k].secs);
	printf("# round  iid     alpha0.5  alpha0.1  imported\n");
	for (r = 0; r <= c->rounds; r++) {
		if (!out[0].have[r])
			continue;
		printf("%-7u  %.4f  %.4f    %.4f    %.4f\n", r, out[0].acc[r],
		       out[1].acc[r], out[2].acc[r], orig_acc);
	}
	free(init);
	free(calib);
	free(q);
	free(out);
	free(blob);
	mcai_fedhead_close(&h);
	return 0;
}
