// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-train: train a small float MLP on Fashion-MNIST, quantise it to
 * int8 (TFLite conventions, exactly as models/engine/engine.c runs it), write a
 * format v1 blob and a key=value report.
 *
 * The int8 accuracy is measured by reading the written blob back, passing
 * it through mcai_verify() with the default limits and running every test
 * image through mcai_engine_run(): exactly what the kernel runs.
 *
 * Deterministic: one thread, one seeded PRNG (splitmix64), fixed order of
 * every floating-point operation; the same arguments give the same blob.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "models/train/cli.h"
#include "models/train/dataset.h"
#include "models/engine/engine.h"
#include "models/train/mlp.h"
#include "models/train/mlpquant.h"
#include "models/train/quant.h"
#include "models/engine/sha256.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"

#define MODEL_NAME	"fmnist-mlp"
#define MODEL_VERSION	1
#define N_CLASSES	10
#define MAX_HIDDEN	2		/* hidden layers */
#define MAX_LAYERS	(MAX_HIDDEN + 1)
#define MAX_WIDTH	1024
#define MAX_VECTORS	64

struct opts {
	u32 epochs;
	u32 hidden[MAX_HIDDEN];
	u32 n_hidden;
	u64 seed;
	const char *data;
	const char *out;
	const char *report;
	const char *eval;
	u32 train_limit;		/* 0: all */
	u32 calib;
	u32 batch;
	float lr;
	float momentum;
	float weight_decay;
	u32 vectors;
	bool quiet;
};

/* ---------------------------------------------------------------------- */
/* Utilities                                                               */
/* ---------------------------------------------------------------------- */

static u8 *read_file(const char *path, u32 *size)
{
	char err[256];
	u8 *buf = mcai_blob_read(path, MCAI_DEFAULT_MAX_BLOB, size, err,
				 sizeof(err));

	if (!buf)
		mcai_die("%s", err);
	return buf;
}

/* Write via a temporary file and rename, so a reader never sees half. */
static void write_file(const char *path, const void *data, size_t len)
{
	size_t plen = strlen(path) + 8;
	char *tmp = mcai_xcalloc(1, plen);
	FILE *f;

	snprintf(tmp, plen, "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f)
		mcai_die("%s: cannot create: %s", tmp, strerror(errno));
	if (fwrite(data, 1, len, f) != len || fflush(f) || ferror(f)) {
		fclose(f);
		remove(tmp);
		mcai_die("%s: write failed: %s", tmp, strerror(errno));
	}
	if (fclose(f)) {
		remove(tmp);
		mcai_die("%s: write failed: %s", tmp, strerror(errno));
	}
	if (rename(tmp, path)) {
		remove(tmp);
		mcai_die("%s: cannot rename to %s: %s", tmp, path, strerror(errno));
	}
	free(tmp);
}

static void hex(const u8 *d, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = 0;
}

static void load_split(struct mcai_dataset *d, const char *dir,
		       const char *split)
{
	char err[PATH_MAX + 128];

	if (mcai_dataset_load_split(d, dir, split, N_CLASSES, err, sizeof(err)))
		mcai_die("%s", err);
	/* The network's input layer and the test vectors are 28x28. */
	if (d->rows * d->cols != 28 * 28)
		mcai_die("%s/%s: images are %ux%u, expected 28x28", dir, split,
			 d->rows, d->cols);
}

/* ---------------------------------------------------------------------- */
/* Float training (models/train/mlp.c)                                          */
/* ---------------------------------------------------------------------- */

static void pixels(const u8 *px, float *x)
{
	u32 i;

	for (i = 0; i < 28 * 28; i++)
		x[i] = px[i] / 255.0f;
}

static void get_image(void *ctx, u32 k, float *x, u32 *label)
{
	const struct mcai_dataset *d = ctx;

	pixels(d->images + (size_t)k * 28 * 28, x);
	*label = d->labels[k];
}

static struct mcai_mlp *net_create(const struct opts *o, u64 *rng)
{
	u32 dims[MAX_LAYERS + 1], l;
	struct mcai_mlp *n;

	dims[0] = 28 * 28;
	for (l = 0; l < o->n_hidden; l++)
		dims[l + 1] = o->hidden[l];
	dims[o->n_hidden + 1] = N_CLASSES;
	n = mcai_mlp_create(dims, o->n_hidden + 2, MCAI_MLP_SOFTMAX);
	if (!n)
		mcai_die("out of memory");
	mcai_mlp_init(n, MCAI_MLP_DRAW_BY_INPUT, rng);
	return n;
}

static void train(struct mcai_mlp *n, const struct mcai_dataset *tr,
		  u32 count, const struct opts *o, u64 *rng)
{
	const u32 steps_per_epoch = (count + o->batch - 1) / o->batch;
	const struct mcai_mlp_opt opt = {
		.momentum = o->momentum, .weight_decay = o->weight_decay,
	};
	const struct mcai_mlp_data data = { get_image, (void *)tr };
	/* Cosine decay from lr to 0 over the whole run. */
	struct mcai_mlp_sched sched = {
		.lr = o->lr, .total = (u64)steps_per_epoch * o->epochs,
	};
	u32 *order = mcai_xcalloc(count, sizeof(u32));
	double t0 = mcai_now();
	u32 e, i;

	for (i = 0; i < count; i++)
		order[i] = i;
	for (e = 0; e < o->epochs; e++) {
		struct mcai_mlp_stats st = { 0 };

		mcai_mlp_train_epoch(n, &opt, &sched, &data, order, count,
				     o->batch, rng, &st);
		if (!o->quiet)
			fprintf(stderr,
				"epoch %2u/%u  loss %.4f  train acc %.4f  lr %.4f  %.1fs\n",
				e + 1, o->epochs, st.loss / count,
				(double)st.correct / count,
				o->lr * 0.5 * (1.0 + cos(M_PI * (double)sched.step /
							 sched.total)),
				mcai_now() - t0);
	}
	free(order);
}

/* ---------------------------------------------------------------------- */
/* Quantisation                                                            */
/* ---------------------------------------------------------------------- */

/* The input quantisation the runtime uses must be q = pixel - 128. */
#define IN_SCALE	(1.0f / 255.0f)
#define IN_ZP		(-128)

static void check_input_quant(void)
{
	int p;

	for (p = 0; p < 256; p++)
		if (mcai_quantize(p / 255.0f, IN_SCALE, IN_ZP) != p - 128)
			mcai_die("mcai_quantize(%d/255) != %d: input quantisation is not exact",
				 p, p - 128);
}

/* Test vectors: the k-th is the (k / 10)-th test image of class k % 10. */
static s8 *test_vectors(const struct mcai_dataset *test, u32 vectors)
{
	s8 *tv = mcai_xcalloc((size_t)vectors * 28 * 28, 1);
	u32 k, i, o;

	for (k = 0; k < vectors; k++) {
		u32 want = k / N_CLASSES, seen = 0;

		for (i = 0; i < test->count; i++)
			if (test->labels[i] == k % N_CLASSES && seen++ == want)
				break;
		if (i == test->count)
			mcai_die("not enough test images of class %u for %u vectors",
				 k % N_CLASSES, vectors);
		for (o = 0; o < 28 * 28; o++)
			tv[(size_t)k * 28 * 28 + o] =
				(s8)(test->images[(size_t)i * 28 * 28 + o] - 128);
	}
	return tv;
}

/*
 * Calibrate on the first @calib training images and quantise with the
 * library every aggregated federation model goes through as well.
 */
static void quantise(struct mcai_mlp *n, struct mcai_mlpq *q,
		     const struct mcai_dataset *tr, u32 calib, const s8 *tv,
		     u32 vectors)
{
	const struct mcai_mlp_data data = { get_image, (void *)tr };
	const struct mcai_mlpq_desc desc = {
		.name = MODEL_NAME, .version = MODEL_VERSION,
		.head = MCAI_HEAD_ARGMAX, .input_scale = IN_SCALE,
		.input_zp = IN_ZP, .tv_count = vectors, .tv_inputs = tv,
	};
	char err[256];

	mcai_mlpq_init(q, n);
	mcai_mlpq_calibrate(q, n, &data, NULL, calib);
	if (mcai_mlpq_build(q, n, &desc, err, sizeof(err)))
		mcai_die("quantising: %s", err);
}

/* ---------------------------------------------------------------------- */
/* int8 evaluation through the verifier and the engine                    */
/* ---------------------------------------------------------------------- */

struct eval_result {
	u32 correct;
	u64 macs;
	u32 tv_count;
	u8 *pred;		/* per test image, when asked for */
};

/*
 * Verify @blob with the default (kernel) limits, check its test vectors,
 * then classify every test image; inputs are quantised with the blob's
 * own input parameters, as the runtime does.
 */
static void eval_blob(const char *what, const u8 *blob, u32 size,
		      const struct mcai_dataset *test, struct eval_result *res)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	float in_scale;
	s8 *in, *scores;
	void *arena;
	u32 i, j, failed;
	s8 qpix[256];

	mcai_limits_default(&lim);
	if (mcai_verify(&m, blob, size, &lim, &v))
		mcai_die("%s: rejected by the verifier: %s (offset %u)", what,
			 v.reason, v.offset);
	if (m.input_len != test->rows * test->cols)
		mcai_die("%s: model input is %u values, images are %u pixels", what,
			 m.input_len, test->rows * test->cols);
	if (m.head != MCAI_HEAD_ARGMAX || m.output_len < 2)
		mcai_die("%s: not an argmax classifier", what);
	memcpy(&in_scale, &m.input_scale, sizeof(in_scale));
	for (i = 0; i < 256; i++)
		qpix[i] = mcai_quantize(i / 255.0f, in_scale, m.input_zp);

	in = mcai_xcalloc(m.input_len, 1);
	scores = mcai_xcalloc(m.output_len, 1);
	arena = mcai_xcalloc(m.arena_size, 1);
	if (mcai_engine_check_vectors(&m, arena, scores, &failed))
		mcai_die("%s: test vector %u does not reproduce", what, failed);
	res->correct = 0;
	res->macs = m.macs;
	res->tv_count = m.tv_count;
	for (i = 0; i < test->count; i++) {
		const u8 *px = test->images + (size_t)i * m.input_len;
		int cls;

		for (j = 0; j < m.input_len; j++)
			in[j] = qpix[px[j]];
		cls = mcai_engine_run(&m, in, scores, arena);
		res->correct += cls == test->labels[i];
		if (res->pred)
			res->pred[i] = (u8)cls;
	}
	free(in);
	free(scores);
	free(arena);
}

static int do_eval(const struct opts *o)
{
	struct mcai_dataset test;
	struct eval_result res = { 0 };
	u8 digest[MCAI_SHA256_LEN];
	char dhex[2 * MCAI_SHA256_LEN + 1];
	u32 size;
	u8 *blob = read_file(o->eval, &size);

	load_split(&test, o->data, "t10k");
	eval_blob(o->eval, blob, size, &test, &res);
	mcai_sha256(blob, size, digest);
	hex(digest, sizeof(digest), dhex);
	printf("blob=%s\nblob_bytes=%u\nblob_sha256=%s\nmacs=%llu\n"
	       "test_vectors=%u\ntest_images=%u\nint8_correct=%u\n"
	       "int8_accuracy=%.4f\n",
	       o->eval, size, dhex, (unsigned long long)res.macs, res.tv_count,
	       test.count, res.correct, (double)res.correct / test.count);
	mcai_dataset_free(&test);
	free(blob);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Main                                                                    */
/* ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: mcai-train [options]\n"
"       mcai-train --eval FILE [--data DIR]\n"
"\n"
"Train a float MLP on Fashion-MNIST, quantise it to int8 and write an mcai\n"
"blob plus a key=value report.  Deterministic for a given set of options.\n"
"\n"
"  --epochs N        training epochs (default 20)\n"
"  --hidden H[,H2]   hidden layer width(s) (default 128)\n"
"  --seed S          PRNG seed (default 1)\n"
"  --data DIR        IDX files (default " MCAI_FMNIST_DIR ")\n"
"  --out FILE        blob to write (default models/fmnist-mlp.mcai)\n"
"  --report FILE     report to write (default models/fmnist-mlp.txt)\n"
"  --train-limit N   train on the first N training images only\n"
"  --calib N         calibration images from the training set (default 2000)\n"
"  --batch N         mini-batch size (default 64)\n"
"  --lr X            initial learning rate, cosine decay (default 0.05)\n"
"  --momentum X      SGD momentum (default 0.9)\n"
"  --weight-decay X  L2 weight decay (default 0.0001)\n"
"  --vectors N       test vectors embedded in the blob (default 10)\n"
"  --eval FILE       only report the int8 test accuracy of an existing blob\n"
"  --quiet           no per-epoch progress\n"
"  --help            this text\n");
}

static void parse_hidden(struct opts *o, const char *s)
{
	o->n_hidden = mcai_parse_widths(s, o->hidden, MAX_HIDDEN, MAX_WIDTH);
}

static void parse(struct opts *o, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define OPT(name) (!strcmp(a, name) && (v || (mcai_die("%s needs a value", name), 0)) && ++i)
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o->quiet = true;
		} else if (OPT("--epochs")) {
			o->epochs = (u32)mcai_parse_uint(a, v, 1, 1000);
		} else if (OPT("--hidden")) {
			parse_hidden(o, v);
		} else if (OPT("--seed")) {
			o->seed = mcai_parse_uint(a, v, 0, UINT64_MAX);
		} else if (OPT("--data")) {
			o->data = v;
		} else if (OPT("--out")) {
			o->out = v;
		} else if (OPT("--report")) {
			o->report = v;
		} else if (OPT("--eval")) {
			o->eval = v;
		} else if (OPT("--train-limit")) {
			o->train_limit = (u32)mcai_parse_uint(a, v, 1, U32_MAX);
		} else if (OPT("--calib")) {
			o->calib = (u32)mcai_parse_uint(a, v, 1, U32_MAX);
		} else if (OPT("--batch")) {
			o->batch = (u32)mcai_parse_uint(a, v, 1, 65536);
		} else if (OPT("--lr")) {
			o->lr = mcai_parse_float(a, v, 1e-6f, 10.0f);
		} else if (OPT("--momentum")) {
			o->momentum = mcai_parse_float(a, v, 0.0f, 0.999f);
		} else if (OPT("--weight-decay")) {
			o->weight_decay = mcai_parse_float(a, v, 0.0f, 1.0f);
		} else if (OPT("--vectors")) {
			o->vectors = (u32)mcai_parse_uint(a, v, 0, MAX_VECTORS);
		} else {
			fprintf(stderr, "mcai-train: unknown argument '%s'\n", a);
			usage(stderr);
			exit(2);
		}
#undef OPT
	}
}

static void layers_string(const struct mcai_mlp *n, char *buf, size_t len)
{
	size_t at = 0;
	u32 l;

	for (l = 0; l <= n->nl && at < len; l++)
		at += (size_t)snprintf(buf + at, len - at, "%s%u", l ? "-" : "",
				       n->dim[l]);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.epochs = 20, .hidden = { 128 }, .n_hidden = 1, .seed = 1,
		.data = MCAI_FMNIST_DIR, .out = "models/fmnist-mlp.mcai",
		.report = "models/fmnist-mlp.txt", .calib = 2000, .batch = 64,
		.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-4f,
		.vectors = 10,
	};
	struct mcai_dataset tr, test;
	struct mcai_mlp *net;
	struct mcai_mlpq q;
	s8 *tv;
	u64 rng;
	struct eval_result res = { 0 };
	u8 digest[MCAI_SHA256_LEN], *blob, *shipped;
	char dhex[2 * MCAI_SHA256_LEN + 1], layers[64], err[256];
	u32 size, shipped_size, count, i, float_correct = 0, agree = 0;
	double t0;
	FILE *f;

	mcai_cli_prog = "mcai-train";
	parse(&o, argc, argv);
	if (o.eval)
		return do_eval(&o);

	check_input_quant();
	t0 = mcai_now();
	load_split(&tr, o.data, "train");
	load_split(&test, o.data, "t10k");
	count = o.train_limit && o.train_limit < tr.count ? o.train_limit : tr.count;
	if (o.calib > tr.count)
		mcai_die("--calib %u: the training set has %u images", o.calib, tr.count);
	if (!o.quiet)
		fprintf(stderr, "loaded %u training and %u test images (%.1fs)\n",
			tr.count, test.count, mcai_now() - t0);

	/* Derive independent streams from the seed. */
	rng = o.seed;
	rng = mcai_mlp_rand(&rng);
	net = net_create(&o, &rng);
	layers_string(net, layers, sizeof(layers));
	if (!o.quiet)
		fprintf(stderr, "training %s on %u images, %u epochs, batch %u, seed %llu\n",
			layers, count, o.epochs, o.batch,
			(unsigned long long)o.seed);
	t0 = mcai_now();
	train(net, &tr, count, &o, &rng);
	if (!o.quiet)
		fprintf(stderr, "training took %.1fs\n", mcai_now() - t0);

	/* Float accuracy, and predictions to compare with int8. */
	res.pred = mcai_xcalloc(test.count, 1);
	{
		u8 *fpred = mcai_xcalloc(test.count, 1);

		for (i = 0; i < test.count; i++) {
			pixels(test.images + (size_t)i * 28 * 28, net->act[0]);
			fpred[i] = (u8)mcai_mlp_predict(net, net->act[0]);
			float_correct += fpred[i] == test.labels[i];
		}

		tv = test_vectors(&test, o.vectors);
		quantise(net, &q, &tr, o.calib, tv, o.vectors);
		blob = mcai_blob_write(&q.spec, &size, err, sizeof(err));
		if (!blob)
			mcai_die("writing the blob: %s", err);
		write_file(o.out, blob, size);

		/* Measure what was shipped: the file, read back. */
		shipped = read_file(o.out, &shipped_size);
		if (shipped_size != size || memcmp(shipped, blob, size))
			mcai_die("%s: read back differs from what was written", o.out);
		eval_blob(o.out, shipped, shipped_size, &test, &res);
		for (i = 0; i < test.count; i++)
			agree += fpred[i] == res.pred[i];
		free(fpred);
	}
	mcai_sha256(shipped, shipped_size, digest);
	hex(digest, sizeof(digest), dhex);

	f = fopen(o.report, "w");
	if (!f)
		mcai_die("%s: cannot create: %s", o.report, strerror(errno));
	fprintf(f, "model=%s\nversion=%u\nlayers=%s\nmacs=%llu\nblob_bytes=%u\n"
		"test_images=%u\nfloat_correct=%u\nfloat_accuracy=%.4f\n"
		"int8_correct=%u\nint8_accuracy=%.4f\nagreement=%.4f\n"
		"calibration_images=%u\nepochs=%u\nseed=%llu\nblob_sha256=%s\n",
		MODEL_NAME, MODEL_VERSION, layers, (unsigned long long)res.macs,
		shipped_size, test.count, float_correct,
		(double)float_correct / test.count, res.correct,
		(double)res.correct / test.count, (double)agree / test.count,
		o.calib, o.epochs, (unsigned long long)o.seed, dhex);
	fprintf(f, "train_images=%u\nbatch=%u\nlr=%g\nlr_schedule=cosine\n"
		"momentum=%g\nweight_decay=%g\ntest_vectors=%u\n"
		"input_scale=%.9g\ninput_zp=%d\n",
		count, o.batch, o.lr, o.momentum, o.weight_decay, res.tv_count,
		q.scale[0], q.zp[0]);
	for (i = 1; i <= net->nl; i++)
		fprintf(f, "act%u_range=%.6g..%.6g\nact%u_scale=%.9g\nact%u_zp=%d\n",
			i, q.lo[i], q.hi[i], i, q.scale[i], i, q.zp[i]);
	if (fflush(f) || ferror(f) || fclose(f))
		mcai_die("%s: write failed", o.report);

	if (!o.quiet)
		fprintf(stderr,
			"%s: %u bytes, %llu MACs; float %u/%u (%.4f), int8 %u/%u (%.4f), agreement %.4f\n",
			o.out, shipped_size, (unsigned long long)res.macs,
			float_correct, test.count,
			(double)float_correct / test.count, res.correct,
			test.count, (double)res.correct / test.count,
			(double)agree / test.count);

	free(res.pred);
	free(blob);
	free(shipped);
	mcai_mlpq_free(&q);
	free(tv);
	mcai_mlp_free(net);
	mcai_dataset_free(&tr);
	mcai_dataset_free(&test);
	return 0;
}
