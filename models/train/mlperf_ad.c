// SPDX-License-Identifier: GPL-2.0
/*
 * The MLPerf Tiny anomaly-detection reference, the dense autoencoder
 * 640 -> 128 x4 -> 8 -> 128 x4 -> 640 of mlcommons/tiny's
 * anomaly_detection/keras_model.py, TRAINED here on the simulated
 * vibration sensor (models/sensor/vibration.h) on normal operation only,
 * its inputs 5 spectral frames of 128 bins (vibframes.h).  The int8
 * graph ends in the reconstruction and MCAI_OP_RECON, the MSE between
 * reconstruction and input, as the anomaly score.
 *
 * Each window comes from a freshly drawn machine, as mcai-vibtrain
 * draws them: shaft 20-30 Hz, load 30-100%, noise 10-80 mg, healthy 1x
 * and 2x levels, housing resonance 0.9-1.3 kHz; faults of log-uniform
 * severity (defect impulses 40-1500 mg, imbalance 20-400 mg of added
 * 1x).  Training, calibration and evaluation sets come from separate
 * PRNG streams.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/sensor/vibration.h"
#include "models/train/autoencoder.h"
#include "models/train/cli.h"
#include "models/train/mlperf.h"
#include "models/train/vibframes.h"
#include "uapi/mcai.h"

#define N_TRAIN		2400	/* normal windows to train on */
#define N_CAL		400	/* of those, to calibrate the int8 ranges */
#define N_NORMAL	800	/* held-out normal windows */
#define N_FAULT		400	/* held-out windows of each fault */
#define EPOCHS		40
#define BATCH		64
#define LR		1e-3f
#define THRESHOLD	100	/* the head's threshold, in score steps */
#define N_LAYERS	10

static const u32 ae_dims[N_LAYERS + 1] = {
	MCAI_VF_LEN, 128, 128, 128, 128, 8, 128, 128, 128, 128, MCAI_VF_LEN
};

static const char *const fault_name[MCAI_VIB_NFAULTS] = {
	"normal", "outer race", "inner race", "imbalance"
};

static u32 ad_range(u64 *r, u32 lo, u32 hi)	/* [lo, hi] */
{
	return lo + (u32)(mcai_vib_rand(r) % (hi - lo + 1));
}

/* One window of a freshly drawn machine with @fault, as dB frames. */
static void ad_window(u64 *r, u32 fault, float *out)
{
	static s16 buf[3 * MCAI_VF_SAMPLES];
	struct mcai_vib_cfg c;
	struct mcai_vib v;

	mcai_vib_default(&c, MCAI_VF_FS, mcai_vib_rand(r));
	c.shaft_mhz = ad_range(r, 20000, 30000);
	c.load_pct = ad_range(r, 30, 100);
	c.noise_mg = ad_range(r, 10, 80);
	c.imb_mg = ad_range(r, 10, 50);
	c.mis_mg = ad_range(r, 5, 30);
	c.res_hz = ad_range(r, 900, 1300);
	c.fault = fault;
	if (fault == MCAI_VIB_IMBALANCE)
		c.severity_mg = (u32)(20.0 * pow(20.0, mcai_nb_uniform(r)));
	else
		c.severity_mg = (u32)(40.0 * pow(37.5, mcai_nb_uniform(r)));
	if (mcai_vib_init(&v, &c))
		mcai_die("simulator refused its configuration");
	/* start somewhere inside the impulse train */
	mcai_vib_generate(&v, buf, ad_range(r, 0, MCAI_VF_SAMPLES - 1));
	mcai_vib_generate(&v, buf, MCAI_VF_SAMPLES);
	mcai_vf_frames(buf, out);
}

/* dB values onto the network's input scale, [-1, 1] over the training set */
struct ad_norm {
	double mid, half;
};

static void ad_normalise(const struct ad_norm *nm, float *x)
{
	u32 i;

	for (i = 0; i < MCAI_VF_LEN; i++)
		x[i] = (float)((x[i] - nm->mid) / nm->half);
}

struct ad_pair {
	double score;
	int pos;
};

static int ad_cmp(const void *a, const void *b)
{
	const struct ad_pair *x = a, *y = b;

	return (x->score > y->score) - (x->score < y->score);
}

/*
 * ROC AUC of @pos (anomalies) against @neg (normal) scores: the
 * Mann-Whitney statistic, ties counted one half.
 */
static double ad_auc(const double *neg, u32 nn, const double *pos, u32 np)
{
	struct ad_pair *v = mcai_xcalloc(nn + np, sizeof(*v));
	double rank_sum = 0;
	u32 i, j, n = nn + np;

	for (i = 0; i < nn; i++)
		v[i] = (struct ad_pair){ neg[i], 0 };
	for (i = 0; i < np; i++)
		v[nn + i] = (struct ad_pair){ pos[i], 1 };
	qsort(v, n, sizeof(*v), ad_cmp);
	for (i = 0; i < n; i = j) {
		double mid;
		u32 k;

		for (j = i; j < n && v[j].score == v[i].score; j++)
			;
		mid = (i + 1 + j) / 2.0;	/* the tied ranks' mean */
		for (k = i; k < j; k++)
			if (v[k].pos)
				rank_sum += mid;
	}
	free(v);
	return (rank_sum - (double)np * (np + 1) / 2) / ((double)np * nn);
}

static double ad_quantile(const double *v, u32 n, double q)
{
	struct ad_pair *s = mcai_xcalloc(n, sizeof(*s));
	double r;
	u32 i;

	for (i = 0; i < n; i++)
		s[i].score = v[i];
	qsort(s, n, sizeof(*s), ad_cmp);
	r = s[(u32)(q * (n - 1))].score;
	free(s);
	return r;
}

void mcai_zoo_build_ad(const char *dir)
{
	const struct mcai_zoo_ref *ref = &mcai_zoo_refs[MCAI_ZOO_AD];
	static struct mcai_nb_net net;
	struct mcai_nb_net *n = &net;
	struct mcai_nb_use use[MCAI_NB_MAX_TENSORS];
	const u32 n_eval = N_NORMAL + 3 * N_FAULT;
	struct mcai_nb_probe probe;
	struct mcai_zoo_report rep;
	struct ad_norm nm;
	struct mcai_ae *ae;
	u64 r_train = 0x616e6f6d616c79ULL, r_eval = 0x6576616c756174ULL;
	u64 r_init = 0x696e6974ULL, r_shuf = 0x73687566ULL;
	float *xtr, *xev, *y;
	double *fs, *qs, *ts, thr_mse, lo = HUGE_VAL, hi = -HUGE_VAL, loss = 0;
	double first_loss = 0;
	u32 *idx, *label, i, j, e, x, size, in, fired[MCAI_VIB_NFAULTS] = { 0 };
	s8 *q, tv[4 * MCAI_VF_LEN];
	u8 *blob;
	char err[256], file[64];

	xtr = mcai_xcalloc((size_t)N_TRAIN * MCAI_VF_LEN, sizeof(float));
	xev = mcai_xcalloc((size_t)n_eval * MCAI_VF_LEN, sizeof(float));
	label = mcai_xcalloc(n_eval, sizeof(u32));
	idx = mcai_xcalloc(N_TRAIN, sizeof(u32));
	y = mcai_xcalloc(MCAI_VF_LEN, sizeof(float));
	q = mcai_xcalloc((size_t)n_eval * MCAI_VF_LEN, 1);
	fs = mcai_xcalloc(n_eval, sizeof(double));
	qs = mcai_xcalloc(n_eval, sizeof(double));
	ts = mcai_xcalloc(N_TRAIN, sizeof(double));

	for (i = 0; i < N_TRAIN; i++)
		ad_window(&r_train, MCAI_VIB_NORMAL, xtr + (size_t)i * MCAI_VF_LEN);
	for (i = 0; i < n_eval; i++) {
		label[i] = i < N_NORMAL ? MCAI_VIB_NORMAL :
			   1 + (i - N_NORMAL) / N_FAULT;
		ad_window(&r_eval, label[i], xev + (size_t)i * MCAI_VF_LEN);
	}
	for (i = 0; i < N_TRAIN * MCAI_VF_LEN; i++) {
		lo = xtr[i] < lo ? xtr[i] : lo;
		hi = xtr[i] > hi ? xtr[i] : hi;
	}
	nm.mid = (lo + hi) / 2;
	nm.half = (hi - lo) / 2;

	/*
	 * The int8 input covers [-1, 1]; both models see the int8 grid's
	 * values, so float and int8 differ only in what the graph does.
	 */
	mcai_nb_init(n, ref->name);
	in = mcai_nb_input(n, 1, 1, MCAI_VF_LEN, -1.0, 1.0);
	for (i = 0; i < N_TRAIN; i++) {
		float *v = xtr + (size_t)i * MCAI_VF_LEN;

		ad_normalise(&nm, v);
		mcai_nb_quantise_input(n, v, q);
		mcai_nb_dequantise_input(n, q, v);
	}
	for (i = 0; i < n_eval; i++) {
		float *v = xev + (size_t)i * MCAI_VF_LEN;

		ad_normalise(&nm, v);
		mcai_nb_quantise_input(n, v, q + (size_t)i * MCAI_VF_LEN);
		mcai_nb_dequantise_input(n, q + (size_t)i * MCAI_VF_LEN, v);
	}

	ae = mcai_ae_create(ae_dims, N_LAYERS + 1, BATCH, &r_init);
	if (!ae)
		mcai_die("autoencoder shape refused");
	for (i = 0; i < N_TRAIN; i++)
		idx[i] = i;
	for (e = 0; e < EPOCHS; e++) {
		loss = mcai_ae_epoch(ae, xtr, idx, N_TRAIN, LR, &r_shuf);
		if (!e)
			first_loss = loss;
	}

	/* The float scores of the training windows set the score's scale. */
	for (i = 0; i < N_TRAIN; i++)
		ts[i] = mcai_ae_run(ae, xtr + (size_t)i * MCAI_VF_LEN, y);
	thr_mse = ad_quantile(ts, N_TRAIN, 0.99);

	/* The trained layers into the net; [in][out] becomes [out][in]. */
	x = in;
	for (j = 0; j < N_LAYERS; j++) {
		char name[24];
		struct mcai_nb_layer *l;
		u32 ni = ae_dims[j], no = ae_dims[j + 1], a, b;

		snprintf(name, sizeof(name), j < 5 ? "enc%u" : "dec%u",
			 j < 5 ? j + 1 : j - 4);
		x = mcai_nb_fc(n, name, x, no, j + 1 < N_LAYERS);
		l = mcai_nb_writer(n, x);
		for (a = 0; a < ni; a++)
			for (b = 0; b < no; b++)
				l->w[(size_t)b * ni + a] = ae->w[j][(size_t)a * no + b];
		memcpy(l->b, ae->b[j], no * sizeof(float));
	}
	n->output[0] = mcai_nb_recon(n, "recon-mse", x, in,
				     thr_mse / THRESHOLD);
	n->output[1] = x;
	n->n_out = 2;
	for (i = 0; i < N_CAL; i++) {
		mcai_nb_forward(n, xtr + (size_t)i * MCAI_VF_LEN);
		mcai_nb_observe(n);
	}
	/* test vectors: two normal windows, one of each bearing fault */
	memcpy(tv, q, 2 * MCAI_VF_LEN);
	memcpy(tv + 2 * MCAI_VF_LEN, q + (size_t)N_NORMAL * MCAI_VF_LEN,
	       MCAI_VF_LEN);
	memcpy(tv + 3 * MCAI_VF_LEN,
	       q + (size_t)(N_NORMAL + N_FAULT) * MCAI_VF_LEN, MCAI_VF_LEN);
	blob = mcai_nb_write(n, MCAI_HEAD_THRESHOLD, THRESHOLD, tv, 4, &size,
			     err, sizeof(err));
	if (!blob)
		mcai_die("%s: %s", ref->name, err);
	if (mcai_nb_probe_open(&probe, blob, size, err, sizeof(err)))
		mcai_die("%s: %s", ref->name, err);

	/* Scores of the held-out windows: float net and int8 graph. */
	memset(use, 0, sizeof(use));
	for (i = 0; i < n_eval; i++) {
		const s32 *sc;
		int cls;

		mcai_nb_forward(n, xev + (size_t)i * MCAI_VF_LEN);
		fs[i] = n->t[n->output[0]].v[0];
		cls = mcai_nb_probe_run(&probe, q + (size_t)i * MCAI_VF_LEN);
		sc = mcai_nb_probe_tensor(&probe, n->t[n->output[0]].gw);
		qs[i] = sc[0];
		fired[label[i]] += cls == 1;
		if (label[i] == MCAI_VIB_NORMAL)
			mcai_nb_probe_use(&probe, n, use);
	}

	mcai_zoo_report_open(&rep);
	fprintf(rep.f, "%s: %s (MLPerf Tiny reference)\n\n", ref->name,
		ref->title);
	fprintf(rep.f,
		"TRAINED on SIMULATED data: the vibration sensor of\n"
		"models/sensor/vibration.c, normal operation only.  Nothing here was\n"
		"measured on a machine.\n\n"
		"Source: mlcommons/tiny, benchmark/training/anomaly_detection/\n"
		"keras_model.py, get_model(640): dense 640 -> 128 -> 128 -> 128 -> 128\n"
		"-> 8 -> 128 -> 128 -> 128 -> 128 -> 640, batch normalisation and ReLU\n"
		"after every layer but the last, which is linear; the anomaly score\n"
		"is the mean squared reconstruction error (01_test.py).  Trained\n"
		"without the batch normalisations: in inference each folds into the\n"
		"dense layer before it, so the graph that runs has the same layers.\n\n");
	fprintf(rep.f,
		"Input: 5 frames x 128 bins, the shape of the reference's 5 stacked\n"
		"log-mel frames of 128 bands (n_fft 1024, hop 512).  Here: the sensor\n"
		"at %u Hz, frames of %u samples (Hann) with a hop of %u, so one\n"
		"window is %u samples (%.0f ms); each frame's power spectrum of the\n"
		"radial plane (x and y added), bins 0..127 of 25 Hz (DC to 3175 Hz),\n"
		"as 10 log10(1 + P), P in mg^2.  Linear bins rather than mel: a\n"
		"bearing defect shows as energy about the housing resonance near\n"
		"1 kHz, an imbalance as the line at shaft speed in bin 1, and a mel\n"
		"scale would squeeze the first into a few bands.  The dB values map\n"
		"linearly onto [-1, 1] over the training set's range (%.1f..%.1f dB);\n"
		"the int8 input covers [-1, 1] (the front-end runs in user space:\n"
		"there is no kernel-side version of it yet).\n\n",
		MCAI_VF_FS, MCAI_VF_FRAME, MCAI_VF_HOP, MCAI_VF_SAMPLES,
		1000.0 * MCAI_VF_SAMPLES / MCAI_VF_FS, lo, hi);
	fprintf(rep.f,
		"Data: each window from a freshly drawn machine (shaft 20-30 Hz, load\n"
		"30-100%%, noise 10-80 mg, healthy 1x 10-50 mg and 2x 5-30 mg,\n"
		"resonance 0.9-1.3 kHz); faults of log-uniform severity (defect\n"
		"impulses 40-1500 mg, imbalance 20-400 mg of added 1x), so some are\n"
		"far below the noise.  %u normal windows to train (the first %u also\n"
		"calibrate the int8 ranges); held out: %u normal, %u of each fault.\n\n",
		N_TRAIN, N_CAL, N_NORMAL, N_FAULT);
	fprintf(rep.f,
		"Training: Adam (lr %g, Keras' betas), MSE, batch %u, %u epochs,\n"
		"He-uniform init, fixed seeds.  Training MSE %.4f after the first\n"
		"epoch, %.4f after the last (input units, [-1, 1]).\n\n",
		(double)LR, BATCH, EPOCHS, first_loss, loss);
	mcai_zoo_facts(rep.f, MCAI_ZOO_AD, blob, size, &probe);
	fprintf(rep.f,
		"\nThe engine also counts the anomaly head: one square and add for\n"
		"each of the 640 values.\n"
		"Outputs: 'out0' the score (int32), 'out1' the reconstruction (640\n"
		"int8).  Score step %.6g (score x step = MSE in input units): the\n"
		"head fires at score >= %u, the 99th percentile of the training\n"
		"windows' float MSE (%.5f).\n\n",
		thr_mse / THRESHOLD, THRESHOLD, thr_mse);
	fprintf(rep.f, "Quantisation (TFLite's post-training rules)\n"
		"Symmetric per-channel int8 weights, int32 biases, Q31\n"
		"multipliers; activation ranges from %u training windows.  Per\n"
		"layer over the %u held-out normal windows ('lo%%' of a ReLU layer\n"
		"is its zeros; SQNR in dB against the float net):\n\n",
		N_CAL, N_NORMAL);
	mcai_nb_report_layers(rep.f, n, &probe, use);
	fprintf(rep.f, "\nHow the score separates faults from normal windows (ROC AUC,\n"
		"held-out windows; float: the float net's MSE on the same int8\n"
		"inputs; int8: the blob's int32 score):\n\n");
	fprintf(rep.f, "  %-22s %8s %8s %14s\n", "normal against", "float",
		"int8", "fired (int8)");
	for (j = 1; j < MCAI_VIB_NFAULTS; j++) {
		const double *fn = fs + N_NORMAL + (j - 1) * N_FAULT;
		const double *qn = qs + N_NORMAL + (j - 1) * N_FAULT;

		fprintf(rep.f, "  %-22s %8.4f %8.4f %9u/%u\n", fault_name[j],
			ad_auc(fs, N_NORMAL, fn, N_FAULT),
			ad_auc(qs, N_NORMAL, qn, N_FAULT), fired[j], N_FAULT);
	}
	fprintf(rep.f, "  %-22s %8.4f %8.4f %9u/%u\n", "all faults",
		ad_auc(fs, N_NORMAL, fs + N_NORMAL, 3 * N_FAULT),
		ad_auc(qs, N_NORMAL, qs + N_NORMAL, 3 * N_FAULT),
		fired[1] + fired[2] + fired[3], 3 * N_FAULT);
	fprintf(rep.f, "  %-22s %8s %8s %9u/%u (false alarms)\n",
		"normal", "", "", fired[0], N_NORMAL);
	fprintf(rep.f,
		"\nTest vectors: two held-out normal windows, one outer-race and one\n"
		"inner-race window, outputs computed by the engine's interpreter\n"
		"when the blob was written.\n");
	mcai_nb_probe_close(&probe);
	mcai_zoo_report_save(&rep, dir, ref->name);
	snprintf(file, sizeof(file), "%s.mcai", ref->name);
	mcai_zoo_save(dir, file, blob, size);
	free(blob);
	mcai_ae_free(ae);
	mcai_nb_free(n);
	free(xtr);
	free(xev);
	free(label);
	free(idx);
	free(y);
	free(q);
	free(fs);
	free(qs);
	free(ts);
}
