// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-vibtrain: train the two models shipped for mcai_simsensor.ko on
 * SIMULATED vibration data (models/sensor/vibration.c), through the same integer
 * feature front-end the kernel module runs (models/sensor/features.c):
 *
 *   vib-detector    fault vs normal, one score, MCAI_HEAD_THRESHOLD
 *   vib-classifier  normal / outer race / inner race / imbalance, argmax
 *
 * Each example is one window of a freshly drawn machine: sample rate
 * from {3200, 6400, 12800, 25600} Hz (window ~160 ms, features.h), shaft
 * 20-30 Hz, load 30-100%, noise 10-80 mg, healthy 1x/2x levels, housing
 * resonance 0.9-1.3 kHz, and for a fault a severity drawn log-uniformly
 * (defect impulses 40-1500 mg, imbalance 20-400 mg of added 1x).
 * Training and test sets come from independent PRNG streams.  Accuracies
 * are measured by reading the written blobs back through mcai_verify()
 * and mcai_engine_run(): exactly what the kernel runs.
 *
 * --features-hash prints the FNV-1a hash of the features of consecutive
 * windows of the default machine (mcai_vib_default), as
 * mcai_simsensor.ko computes them: the guest test compares the two.
 *
 * Deterministic: one thread, seeded PRNGs, fixed operation order.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/train/cli.h"
#include "models/engine/engine.h"
#include "models/sensor/features.h"
#include "models/train/mlp.h"
#include "models/train/quant.h"
#include "models/engine/sha256.h"
#include "models/engine/verify.h"
#include "models/sensor/vibration.h"
#include "models/train/writer.h"

#define NF		MCAI_VIB_NFEAT
#define N_CLASSES	MCAI_VIB_NFAULTS
#define MAX_HIDDEN	128
#define N_VECTORS	8
#define IN_DIV		32.0f		/* float input = q / 32 */

static const u32 rates[] = { 3200, 6400, 12800, 25600 };
static const char *const class_name[N_CLASSES] = {
	"normal", "outer-race", "inner-race", "imbalance"
};

struct opts {
	u32 n_train, n_test, hidden, epochs;
	u64 seed;
	float lr;
	const char *det_out, *cls_out, *report;
	const char *cls_name;		/* the classifier blob's model name */
	bool quiet;
	/* --features-hash */
	bool hash, selftest;
	u32 rate, fault, windows, window;
	/* --dump-features: the data sets as CSV for other trainers */
	const char *dump;
};

static float rng_float(u64 *r)
{
	return (float)(mcai_vib_rand(r) >> 40) * (1.0f / 16777216.0f);
}

static u32 rng_range(u64 *r, u32 lo, u32 hi)	/* [lo, hi] */
{
	return lo + (u32)(mcai_vib_rand(r) % (hi - lo + 1));
}

static void write_file(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f)
		mcai_die("%s: cannot create: %s", tmp, strerror(errno));
	if (fwrite(data, 1, len, f) != len || fflush(f) || ferror(f) ||
	    fclose(f)) {
		remove(tmp);
		mcai_die("%s: write failed", tmp);
	}
	if (rename(tmp, path)) {
		remove(tmp);
		mcai_die("%s: cannot rename to %s: %s", tmp, path, strerror(errno));
	}
}

/* ---------------------------------------------------------------------- */
/* Simulated data set                                                      */
/* ---------------------------------------------------------------------- */

struct dataset {
	u32 count;
	s8 *x;			/* count * NF */
	u8 *y;			/* class */
	u32 *fs;
	bool *weak;		/* a fault of low severity */
};

static void make_example(u64 *r, u32 label, s8 *feat, u32 *fs_out,
			 bool *weak)
{
	static s16 buf[3 * MCAI_VIB_MAX_WINDOW];
	struct mcai_vib_scratch s;
	struct mcai_vib_cfg c;
	struct mcai_vib v;
	u32 fs = rates[rng_range(r, 0, 3)], n = mcai_vib_auto_window(fs);

	mcai_vib_default(&c, fs, mcai_vib_rand(r));
	c.shaft_mhz = rng_range(r, 20000, 30000);
	c.load_pct = rng_range(r, 30, 100);
	c.noise_mg = rng_range(r, 10, 80);
	c.imb_mg = rng_range(r, 10, 50);
	c.mis_mg = rng_range(r, 5, 30);
	c.res_hz = rng_range(r, 900, 1300);
	c.fault = label;
	if (label == MCAI_VIB_IMBALANCE)	/* 20..400 mg more 1x */
		c.severity_mg = (u32)(20.0 * pow(20.0, rng_float(r)));
	else				/* impulses 40..1500 mg */
		c.severity_mg = (u32)(40.0 * pow(37.5, rng_float(r)));
	if (mcai_vib_init(&v, &c))
		mcai_die("simulator refused its configuration");
	/* start somewhere inside the impulse train */
	mcai_vib_generate(&v, buf, rng_range(r, 0, n - 1));
	mcai_vib_generate(&v, buf, n);
	if (mcai_vib_features(buf, n, fs, &s, feat))
		mcai_die("feature front-end refused window %u at %u Hz", n, fs);
	*fs_out = fs;
	/* weak: impulses below 150 mg, or less than 80 mg of added 1x */
	*weak = label && c.severity_mg <
		(label == MCAI_VIB_IMBALANCE ? 80U : 150U);
}

static void make_set(struct dataset *d, u32 count, u64 seed)
{
	u64 r = seed;
	u32 i;

	d->count = count;
	d->x = mcai_xcalloc(count, NF);
	d->y = mcai_xcalloc(count, 1);
	d->fs = mcai_xcalloc(count, sizeof(u32));
	d->weak = mcai_xcalloc(count, sizeof(bool));
	for (i = 0; i < count; i++) {
		/* 40% normal, 20% each fault */
		u32 k = rng_range(&r, 0, 9);

		d->y[i] = k < 4 ? 0 : (u8)(1 + (k - 4) / 2);
		make_example(&r, d->y[i], d->x + (size_t)i * NF, &d->fs[i],
			     &d->weak[i]);
	}
}

/*
 * One window a line: the NF int8 features, then the class.  What
 * models/train/vibtrees.py trains scikit-learn on, so that its trees see
 * exactly the features the kernel's front-end computes.
 */
static void dump_set(const struct dataset *d, const char *dir,
		     const char *which)
{
	char path[4096];
	u32 i, j;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.csv", dir, which);
	f = fopen(path, "w");
	if (!f)
		mcai_die("%s: %s", path, strerror(errno));
	for (i = 0; i < d->count; i++) {
		for (j = 0; j < NF; j++)
			fprintf(f, "%d,", d->x[(size_t)i * NF + j]);
		fprintf(f, "%u\n", d->y[i]);
	}
	if (fclose(f))
		mcai_die("%s: %s", path, strerror(errno));
}

static void free_set(struct dataset *d)
{
	free(d->x);
	free(d->y);
	free(d->fs);
	free(d->weak);
}

/* ---------------------------------------------------------------------- */
/* Float MLP: NF -> hidden (ReLU) -> n_out (models/train/mlp.c)                 */
/* ---------------------------------------------------------------------- */

struct model {
	struct mcai_mlp *net;
	u32 nh, no;
	float thr;		/* one output: fires at logit >= thr */
};

static void model_init(struct model *m, u32 nh, u32 no, u64 *r)
{
	const u32 dims[3] = { NF, nh, no };

	m->nh = nh;
	m->no = no;
	m->thr = 0;
	m->net = mcai_mlp_create(dims, 3, no == 1 ? MCAI_MLP_SIGMOID :
						    MCAI_MLP_SOFTMAX);
	if (!m->net)
		mcai_die("out of memory");
	mcai_mlp_init(m->net, MCAI_MLP_DRAW_BY_OUTPUT, r);
}

static void to_float(const s8 *q, float *x)
{
	u32 j;

	for (j = 0; j < NF; j++)
		x[j] = q[j] / IN_DIV;
}

/* target for a model with @no outputs: detector = fault or not */
static u32 target(u32 no, u8 label)
{
	return no == 1 ? label != 0 : label;
}

/* Logits of window @q; the hidden layer is left in m->net->act[1]. */
static const float *forward(const struct model *m, const s8 *q)
{
	float x[NF];

	to_float(q, x);
	return mcai_mlp_forward(m->net, x);
}

static int predict(const struct model *m, const s8 *q)
{
	const float *z = forward(m, q);

	if (m->no == 1)
		return z[0] >= m->thr;
	return (int)mcai_mlp_decide(m->net);
}

struct source {
	const struct dataset *d;
	u32 no;
};

static void get_window(void *ctx, u32 k, float *x, u32 *label)
{
	const struct source *src = ctx;

	to_float(src->d->x + (size_t)k * NF, x);
	*label = target(src->no, src->d->y[k]);
}

static void train(struct model *m, const struct dataset *d,
		  const struct opts *o, u64 *r, const char *what)
{
	const struct mcai_mlp_opt opt = {
		.momentum = 0.9f, .weight_decay = 1e-4f,
	};
	struct source src = { d, m->no };
	const struct mcai_mlp_data data = { get_window, &src };
	u32 *order = mcai_xcalloc(d->count, sizeof(u32));
	const u32 batch = 32, steps = (d->count + batch - 1) / batch;
	struct mcai_mlp_sched sched = {
		.lr = o->lr, .total = (u64)steps * o->epochs,
	};
	u32 e, i;

	for (i = 0; i < d->count; i++)
		order[i] = i;
	for (e = 0; e < o->epochs; e++) {
		struct mcai_mlp_stats st = { 0 };

		/* Modulo, not mcai_mlp_below(): the shipped models were drawn so. */
		for (i = d->count; i > 1; i--) {
			u32 j = (u32)(mcai_vib_rand(r) % i), t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		mcai_mlp_train_epoch(m->net, &opt, &sched, &data, order,
				     d->count, batch, NULL, &st);
		if (!o->quiet && (e + 1) % 10 == 0)
			fprintf(stderr, "%s: epoch %u/%u loss %.4f train acc %.4f\n",
				what, e + 1, o->epochs, st.loss / d->count,
				(double)st.correct / d->count);
	}
	free(order);
}

/* ---------------------------------------------------------------------- */
/* Quantisation to a blob                                                  */
/* ---------------------------------------------------------------------- */

struct qbuf {
	s8 w1[MAX_HIDDEN * NF], w2[N_CLASSES * MAX_HIDDEN];
	s32 b1[MAX_HIDDEN], m1[MAX_HIDDEN], s1[MAX_HIDDEN];
	s32 b2[N_CLASSES], m2[N_CLASSES], s2[N_CLASSES];
	s8 tv[N_VECTORS * NF];
	float hs, os;
	s8 hz, oz;
	float hlo, hhi, olo, ohi;
	float thr;			/* detector threshold, logit */
};

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/*
 * The detector's threshold: the logit that at most 1% of the normal
 * training windows reach (never below 0, i.e. P(fault) >= 0.5), so that
 * false alarms stay rare at the cost of missing some weak faults.
 */
static float detector_threshold(const struct model *m,
				const struct dataset *tr)
{
	float t;
	float *v = mcai_xcalloc(tr->count, sizeof(float));
	u32 i, n = 0;

	for (i = 0; i < tr->count; i++) {
		if (tr->y[i])
			continue;
		v[n++] = forward(m, tr->x + (size_t)i * NF)[0];
	}
	qsort(v, n, sizeof(float), cmp_float);
	t = n ? v[n - 1 - n / 100] : 0;
	free(v);
	return t > 0 ? t : 0;
}

static u8 *quantise(const struct model *m, const struct dataset *tr,
		    const struct dataset *te, const char *name, u32 *size,
		    struct qbuf *q)
{
	const struct mcai_mlp *n = m->net;
	float ws[MAX_HIDDEN];
	float w[MAX_HIDDEN * NF];
	const float in_scale = MCAI_VIB_INPUT_SCALE / 4;	/* 1/32 */
	struct mcai_blob_spec s;
	char err[256];
	u32 i, j, k;
	u8 *blob;

	q->hlo = q->olo = INFINITY;
	q->hhi = q->ohi = -INFINITY;
	for (k = 0; k < tr->count; k++) {
		const float *z = forward(m, tr->x + (size_t)k * NF);
		const float *h = n->act[1];

		for (i = 0; i < m->nh; i++) {
			q->hlo = fminf(q->hlo, h[i]);
			q->hhi = fmaxf(q->hhi, h[i]);
		}
		for (i = 0; i < m->no; i++) {
			q->olo = fminf(q->olo, z[i]);
			q->ohi = fmaxf(q->ohi, z[i]);
		}
	}
	mcai_qparams(q->hlo, q->hhi, &q->hs, &q->hz);
	mcai_qparams(q->olo, q->ohi, &q->os, &q->oz);

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.version = 1;
	s.head = m->no == 1 ? MCAI_HEAD_THRESHOLD : MCAI_HEAD_ARGMAX;
	/* detector: fires at logit >= q->thr (see detector_threshold) */
	s.head_threshold = m->no == 1 ? mcai_quantize(q->thr, q->os, q->oz) : 0;
	s.input_scale = in_scale;
	s.output_scale = q->os;
	s.n_layers = 2;

	for (i = 0; i < m->nh; i++)
		for (j = 0; j < NF; j++)
			w[i * NF + j] = n->w[0][j * m->nh + i];
	mcai_quantize_rows(w, m->nh, NF, q->w1, ws);
	for (i = 0; i < m->nh; i++) {
		double acc = (double)in_scale * ws[i];

		q->b1[i] = mcai_round_s32(n->b[0][i] / acc);
		mcai_quantize_multiplier(acc / q->hs, &q->m1[i], &q->s1[i]);
	}
	for (i = 0; i < m->no; i++)
		for (j = 0; j < m->nh; j++)
			w[i * m->nh + j] = n->w[1][j * m->no + i];
	mcai_quantize_rows(w, m->no, m->nh, q->w2, ws);
	for (i = 0; i < m->no; i++) {
		double acc = (double)q->hs * ws[i];

		q->b2[i] = mcai_round_s32(n->b[1][i] / acc);
		mcai_quantize_multiplier(acc / q->os, &q->m2[i], &q->s2[i]);
	}
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_RELU,
		.in_zp = 0, .out_zp = q->hz, .clamp_min = q->hz,
		.clamp_max = 127, .in_len = NF, .out_len = m->nh,
		.weights = q->w1, .bias = q->b1, .mult = q->m1,
		.shift = q->s1,
	};
	s.layer[1] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_NONE,
		.in_zp = q->hz, .out_zp = q->oz, .clamp_min = -128,
		.clamp_max = 127, .in_len = m->nh, .out_len = m->no,
		.weights = q->w2, .bias = q->b2, .mult = q->m2,
		.shift = q->s2,
	};
	/* test vectors: two test windows of each class */
	for (k = 0; k < N_VECTORS; k++) {
		u32 want = k / N_CLASSES, seen = 0;

		for (i = 0; i < te->count; i++)
			if (te->y[i] == k % N_CLASSES && seen++ == want)
				break;
		if (i == te->count)
			mcai_die("not enough test windows for the test vectors");
		memcpy(q->tv + k * NF, te->x + (size_t)i * NF, NF);
	}
	s.tv_count = N_VECTORS;
	s.tv_inputs = q->tv;
	blob = mcai_blob_write(&s, size, err, sizeof(err));
	if (!blob)
		mcai_die("%s: %s", name, err);
	return blob;
}

/* ---------------------------------------------------------------------- */
/* Evaluation of the written blob with the verifier and the engine         */
/* ---------------------------------------------------------------------- */

struct evalr {
	u32 conf[N_CLASSES][N_CLASSES];	/* [true class][predicted] */
	u32 correct;
	u64 macs;
	u32 blob_bytes;
	u32 per_rate[4][2];		/* correct, total */
	u32 weak[2], strong[2];		/* faults: correct, total */
};

static void eval_blob(const char *path, const struct dataset *te,
		      struct evalr *e, bool detector)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	char err[256];
	u32 size, i, k, failed;
	u8 *blob = mcai_blob_read(path, MCAI_DEFAULT_MAX_BLOB, &size, err,
				  sizeof(err));
	s8 scores[N_CLASSES];
	void *arena;

	if (!blob)
		mcai_die("%s", err);
	mcai_limits_default(&lim);
	if (mcai_verify(&m, blob, size, &lim, &v))
		mcai_die("%s: rejected by the verifier: %s (offset %u)", path,
			 v.reason, v.offset);
	if (m.input_len != NF)
		mcai_die("%s: input_len %u, expected %u", path, m.input_len, NF);
	arena = mcai_xcalloc(m.arena_size, 1);
	if (mcai_engine_check_vectors(&m, arena, scores, &failed))
		mcai_die("%s: test vector %u does not reproduce", path, failed);
	memset(e, 0, sizeof(*e));
	e->macs = m.macs;
	e->blob_bytes = size;
	for (i = 0; i < te->count; i++) {
		int c = mcai_engine_run(&m, te->x + (size_t)i * NF, scores,
					arena);
		u32 t = detector ? te->y[i] != 0 : te->y[i];

		e->conf[te->y[i]][c]++;
		e->correct += (u32)c == t;
		if (te->y[i]) {
			u32 *b = te->weak[i] ? e->weak : e->strong;

			b[0] += (u32)c == t;
			b[1]++;
		}
		for (k = 0; k < 4; k++)
			if (te->fs[i] == rates[k]) {
				e->per_rate[k][0] += (u32)c == t;
				e->per_rate[k][1]++;
			}
	}
	free(arena);
	free(blob);
}

static u32 float_correct(const struct model *m, const struct dataset *te)
{
	u32 i, c = 0;

	for (i = 0; i < te->count; i++)
		c += (u32)predict(m, te->x + (size_t)i * NF) ==
		     target(m->no, te->y[i]);
	return c;
}

/* ---------------------------------------------------------------------- */
/* --features-hash                                                         */
/* ---------------------------------------------------------------------- */

static int features_hash(const struct opts *o)
{
	static s16 buf[3 * MCAI_VIB_MAX_WINDOW];
	struct mcai_vib_scratch s;
	struct mcai_vib_cfg c;
	struct mcai_vib v;
	u64 h = 0xcbf29ce484222325ULL;
	u32 n = o->window ? o->window : mcai_vib_auto_window(o->rate), w, i;
	s8 f[NF];

	mcai_vib_default(&c, o->rate, o->seed);
	c.fault = o->fault;
	if (mcai_vib_init(&v, &c))
		mcai_die("simulator refused rate %u / fault %u", o->rate, o->fault);
	for (w = 0; w < o->windows; w++) {
		mcai_vib_generate(&v, buf, n);
		if (mcai_vib_features(buf, n, o->rate, &s, f))
			mcai_die("feature front-end refused window %u", n);
		for (i = 0; i < NF; i++) {
			h ^= (u8)f[i];
			h *= 0x100000001b3ULL;
		}
	}
	printf("%016llx\n", (unsigned long long)h);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* --selftest: the front-end measures what the simulator puts in           */
/* ---------------------------------------------------------------------- */

static int st_fail;

static void st_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	st_fail = 1;
	fprintf(stderr, "selftest: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* expected feature of amplitude @a mg, 8 steps per octave */
static int st_expect(double a)
{
	return (int)floor(8 * log2(a) + 0.5) - MCAI_VIB_FEAT_OFF;
}

static int selftest(void)
{
	static s16 buf[3 * MCAI_VIB_MAX_WINDOW];
	struct mcai_vib_scratch s;
	struct mcai_vib_cfg c;
	struct mcai_vib v;
	s8 f[NF], g[NF];
	u32 k, i, a;

	for (k = 0; k < 4; k++) {
		u32 fs = rates[k], n = mcai_vib_auto_window(fs);

		/* a pure 25 Hz, 200 mg tone on x, nothing else */
		for (i = 0; i < n; i++) {
			u32 ph = (u32)((u64)i * 25 * 4294967296ULL / fs);

			buf[3 * i] = (s16)(200 * mcai_vib_sin_q15(ph) / 32768);
			buf[3 * i + 1] = 0;
			buf[3 * i + 2] = 1000;
		}
		st_check(!mcai_vib_features(buf, n, fs, &s, f),
			 "features refused %u Hz", fs);
		st_check(abs(f[0] - st_expect(200 / sqrt(2))) <= 1,
			 "%u Hz: RMS feature %d, expected %d", fs, f[0],
			 st_expect(200 / sqrt(2)));
		st_check(abs(f[1] - st_expect(200)) <= 1,
			 "%u Hz: peak feature %d, expected %d", fs, f[1],
			 st_expect(200));
		/* 25 Hz may fall between two bins: allow the scalloping loss */
		st_check(f[4] <= st_expect(200) + 1 && f[4] >= st_expect(200) - 6,
			 "%u Hz: 1x feature %d, expected ~%d", fs, f[4],
			 st_expect(200));
		st_check(f[5] < f[4] - 24, "%u Hz: 2x band %d vs 1x %d", fs,
			 f[5], f[4]);
		st_check(f[MCAI_VIB_PER_AXIS] == -128 &&
			 f[2 * MCAI_VIB_PER_AXIS] == -128,
			 "%u Hz: silent axes not at the floor", fs);

		/* outer race: the envelope line at BPFO is the strongest */
		mcai_vib_default(&c, fs, 3);
		c.fault = MCAI_VIB_OUTER;
		c.noise_mg = 5;
		st_check(!mcai_vib_init(&v, &c), "simulator refused %u Hz", fs);
		mcai_vib_generate(&v, buf, n);
		mcai_vib_features(buf, n, fs, &s, f);
		for (i = 1, a = 0; i < 8; i++)
			if (f[6 + i] > f[6 + a])
				a = i;
		/* BPFO = 3.585 * 24.6 Hz = 88.2 Hz: band 75..100 */
		st_check(a == 3, "%u Hz: strongest envelope band %u, expected 3",
			 fs, a);

		/* deterministic */
		mcai_vib_init(&v, &c);
		mcai_vib_generate(&v, buf, n);
		mcai_vib_features(buf, n, fs, &s, g);
		st_check(!memcmp(f, g, NF), "%u Hz: not deterministic", fs);
	}
	st_check(mcai_vib_features(buf, 300, 3200, &s, f) == -1,
		 "a window of 300 was accepted");
	st_check(mcai_vib_log2_q8(1) == 0 && mcai_vib_log2_q8(1024) == 2560,
		 "log2 table");
	printf("selftest: %s\n", st_fail ? "FAIL" : "pass");
	return st_fail;
}

/* ---------------------------------------------------------------------- */
/* Main                                                                    */
/* ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: mcai-vibtrain [options]\n"
"       mcai-vibtrain --selftest\n"
"       mcai-vibtrain --features-hash [--rate HZ] [--fault F] [--seed S]\n"
"                     [--windows N] [--window N]\n"
"\n"
"Train vib-detector and vib-classifier on simulated vibration windows.\n"
"\n"
"  --train N          training windows (default 12000)\n"
"  --test N           held-out test windows (default 4000)\n"
"  --hidden H         hidden width (default 32)\n"
"  --epochs N         (default 60)\n"
"  --lr X             initial learning rate, cosine decay (default 0.05)\n"
"  --seed S           (default 1)\n"
"  --detector FILE    (default models/vib-detector.mcai)\n"
"  --classifier FILE  (default models/vib-classifier.mcai)\n"
"  --classifier-name NAME  its model name (default vib-classifier): a larger\n"
"                     one for escalation (make vib-large)\n"
"  --report FILE      (default models/vib-models.txt)\n"
"  --quiet\n"
"  --dump-features DIR  write the simulated sets as DIR/train.csv and\n"
"                     DIR/test.csv (features, then the class) and stop\n");
}

static unsigned long long num(const char *opt, const char *s,
			      unsigned long long lo, unsigned long long hi)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		mcai_die("%s needs a number", opt);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < lo || v > hi)
		mcai_die("%s: '%s' is not a number in %llu..%llu", opt, s, lo, hi);
	return v;
}

static void parse(struct opts *o, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

#define OPT(name) (!strcmp(a, name) && (v || (mcai_die("%s needs a value", name), 0)) && ++i)
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o->quiet = true;
		} else if (!strcmp(a, "--selftest")) {
			o->selftest = true;
		} else if (!strcmp(a, "--features-hash")) {
			o->hash = true;
		} else if (OPT("--dump-features")) {
			o->dump = v;
		} else if (OPT("--train")) {
			o->n_train = (u32)num(a, v, 100, 10000000);
		} else if (OPT("--test")) {
			o->n_test = (u32)num(a, v, 100, 10000000);
		} else if (OPT("--hidden")) {
			o->hidden = (u32)num(a, v, 1, MAX_HIDDEN);
		} else if (OPT("--epochs")) {
			o->epochs = (u32)num(a, v, 1, 10000);
		} else if (OPT("--lr")) {
			o->lr = strtof(v, NULL);
			if (!(o->lr > 0 && o->lr < 10))
				mcai_die("--lr: '%s' out of range", v);
		} else if (OPT("--seed")) {
			o->seed = num(a, v, 0, UINT64_MAX);
		} else if (OPT("--detector")) {
			o->det_out = v;
		} else if (OPT("--classifier")) {
			o->cls_out = v;
		} else if (OPT("--classifier-name")) {
			if (!v[0] || strlen(v) >= MCAI_NAME_LEN)
				mcai_die("--classifier-name: '%s' empty or too long", v);
			o->cls_name = v;
		} else if (OPT("--report")) {
			o->report = v;
		} else if (OPT("--rate")) {
			o->rate = (u32)num(a, v, MCAI_VIB_MIN_FS, MCAI_VIB_MAX_FS);
		} else if (OPT("--fault")) {
			o->fault = (u32)num(a, v, 0, MCAI_VIB_NFAULTS - 1);
		} else if (OPT("--windows")) {
			o->windows = (u32)num(a, v, 1, 1000000);
		} else if (OPT("--window")) {
			o->window = (u32)num(a, v, MCAI_VIB_MIN_WINDOW,
					     MCAI_VIB_MAX_WINDOW);
		} else {
			fprintf(stderr, "mcai-vibtrain: unknown argument '%s'\n", a);
			usage(stderr);
			exit(2);
		}
#undef OPT
	}
}

static void report_model(FILE *f, const char *key, const char *path,
			 const struct evalr *e, u32 fcorrect, u32 n,
			 const struct qbuf *q, bool detector)
{
	u8 *blob, digest[MCAI_SHA256_LEN];
	char err[256];
	u32 size, i, j;

	blob = mcai_blob_read(path, MCAI_DEFAULT_MAX_BLOB, &size, err,
			      sizeof(err));
	if (!blob)
		mcai_die("%s", err);
	mcai_sha256(blob, size, digest);
	free(blob);
	fprintf(f, "%s_blob=%s\n%s_blob_bytes=%u\n%s_macs=%llu\n%s_sha256=", key,
		path, key, size, key, (unsigned long long)e->macs, key);
	for (i = 0; i < MCAI_SHA256_LEN; i++)
		fprintf(f, "%02x", digest[i]);
	fprintf(f, "\n%s_float_accuracy=%.4f\n%s_int8_accuracy=%.4f\n", key,
		(double)fcorrect / n, key, (double)e->correct / n);
	fprintf(f, "%s_output_scale=%.9g\n%s_output_zp=%d\n", key, q->os, key,
		q->oz);
	for (i = 0; i < 4; i++)
		fprintf(f, "%s_int8_accuracy_%uhz=%.4f\n", key, rates[i],
			e->per_rate[i][1] ? (double)e->per_rate[i][0] /
					    e->per_rate[i][1] : 0.0);
	fprintf(f, "%s_int8_accuracy_weak_faults=%.4f (%u windows)\n"
		"%s_int8_accuracy_strong_faults=%.4f (%u windows)\n", key,
		e->weak[1] ? (double)e->weak[0] / e->weak[1] : 0.0, e->weak[1],
		key, e->strong[1] ? (double)e->strong[0] / e->strong[1] : 0.0,
		e->strong[1]);
	for (i = 0; i < N_CLASSES; i++) {
		u32 tot = 0;

		for (j = 0; j < N_CLASSES; j++)
			tot += e->conf[i][j];
		if (detector) {
			fprintf(f, "%s_fires_on_%s=%.4f\n", key, class_name[i],
				tot ? (double)e->conf[i][1] / tot : 0.0);
			continue;
		}
		fprintf(f, "%s_confusion_%s=", key, class_name[i]);
		for (j = 0; j < N_CLASSES; j++)
			fprintf(f, "%s%u", j ? "," : "", e->conf[i][j]);
		fprintf(f, "\n");
	}
}

int main(int argc, char **argv)
{
	struct opts o = {
		.n_train = 12000, .n_test = 4000, .hidden = 32, .epochs = 60,
		.seed = 1, .lr = 0.05f, .det_out = "models/vib-detector.mcai",
		.cls_out = "models/vib-classifier.mcai",
		.cls_name = "vib-classifier",
		.report = "models/vib-models.txt", .rate = 3200, .windows = 16,
	};
	struct dataset tr, te;
	struct model det, cls;
	struct qbuf *qd, *qc;
	struct evalr ed, ec;
	u32 size, fd, fc;
	u64 r;
	u8 *blob;
	FILE *f;

	mcai_cli_prog = "mcai-vibtrain";
	parse(&o, argc, argv);
	if (o.hash)
		return features_hash(&o);
	if (o.selftest)
		return selftest();
	qd = mcai_xcalloc(1, sizeof(*qd));
	qc = mcai_xcalloc(1, sizeof(*qc));

	r = o.seed;
	make_set(&tr, o.n_train, mcai_vib_rand(&r));
	make_set(&te, o.n_test, mcai_vib_rand(&r) ^ 0x5eed7e57ULL);
	if (!o.quiet)
		fprintf(stderr, "simulated %u training and %u test windows\n",
			tr.count, te.count);
	if (o.dump) {
		dump_set(&tr, o.dump, "train");
		dump_set(&te, o.dump, "test");
		return 0;
	}

	model_init(&det, o.hidden, 1, &r);
	train(&det, &tr, &o, &r, "vib-detector");
	model_init(&cls, o.hidden, N_CLASSES, &r);
	train(&cls, &tr, &o, &r, "vib-classifier");
	det.thr = detector_threshold(&det, &tr);
	fd = float_correct(&det, &te);
	fc = float_correct(&cls, &te);

	qd->thr = det.thr;
	blob = quantise(&det, &tr, &te, "vib-detector", &size, qd);
	write_file(o.det_out, blob, size);
	free(blob);
	blob = quantise(&cls, &tr, &te, o.cls_name, &size, qc);
	write_file(o.cls_out, blob, size);
	free(blob);
	eval_blob(o.det_out, &te, &ed, true);
	eval_blob(o.cls_out, &te, &ec, false);

	f = fopen(o.report, "w");
	if (!f)
		mcai_die("%s: cannot create: %s", o.report, strerror(errno));
	fprintf(f,
"# mcai vibration models -- trained and tested on SIMULATED data only.\n"
"# The windows come from models/sensor/vibration.c (a model of a shaft on 6205\n"
"# ball bearings: 1x/2x harmonics, noise, defect impulse trains at\n"
"# BPFO/BPFI exciting a housing resonance), not from a real machine.\n"
"# Accuracies are on a held-out simulated test set drawn from an\n"
"# independent PRNG stream, computed by the int8 engine on the written\n"
"# blobs; they say how well the models fit the simulator, nothing about\n"
"# real bearings.  Regenerate: make vib-models.\n");
	fprintf(f, "data=simulated\nfeatures=%u\nfeature_scale=%.9g\n"
		"train_windows=%u\ntest_windows=%u\nhidden=%u\nepochs=%u\n"
		"seed=%llu\nrates_hz=3200,6400,12800,25600\n"
		"weak_fault=impulses<150mg or added 1x<80mg\n"
		"classes=normal,outer-race,inner-race,imbalance\n",
		NF, MCAI_VIB_INPUT_SCALE / 4, tr.count, te.count, o.hidden,
		o.epochs, (unsigned long long)o.seed);
	report_model(f, "detector", o.det_out, &ed, fd, te.count, qd, true);
	fprintf(f, "detector_threshold_logit=%.4f\n"
		"detector_threshold_rule=at most 1%% of normal training windows\n",
		qd->thr);
	report_model(f, "classifier", o.cls_out, &ec, fc, te.count, qc, false);
	if (fflush(f) || ferror(f) || fclose(f))
		mcai_die("%s: write failed", o.report);
	if (!o.quiet)
		fprintf(stderr,
			"detector: float %.4f int8 %.4f; classifier: float %.4f int8 %.4f\n",
			(double)fd / te.count, (double)ed.correct / te.count,
			(double)fc / te.count, (double)ec.correct / te.count);
	free_set(&tr);
	free_set(&te);
	mcai_mlp_free(det.net);
	mcai_mlp_free(cls.net);
	free(qd);
	free(qc);
	return 0;
}
