// SPDX-License-Identifier: GPL-2.0
/*
 * In-process federated learning simulator, see fedsim.h.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/engine/engine.h"
#include "models/train/quant.h"
#include "models/train/mlp.h"
#include "models/train/mlpquant.h"
#include "models/engine/verify.h"
#include "runtime/fed/compress.h"
#include "runtime/fed/dp.h"
#include "runtime/fed/fedsim.h"

/* Tags of the random streams, so that no two choices share one. */
enum {
	S_INIT = 1, S_SPLIT, S_HOSTILE, S_SAMPLE, S_DROP, S_KILL, S_CLIENT,
	S_NOISE, S_CENTRAL, S_CLIPCOUNT, S_COMPRESS, S_PERSONAL,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An independent splitmix64 state for (tag, a, b) of a seed. */
static u64 stream(u64 seed, u32 tag, u32 a, u32 b)
{
	u64 s = seed ^ ((u64)tag << 56) ^ ((u64)a << 28) ^ b;

	s = mcai_mlp_rand(&s);
	return mcai_mlp_rand(&s);
}

static void shuffle(u32 *v, u32 n, u64 *rng)
{
	u32 i;

	for (i = n; i > 1; i--) {
		u32 j = mcai_mlp_below(rng, i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

double mcai_normal(u64 *rng)
{
	double u1, u2;

	do {
		u1 = (mcai_mlp_rand(rng) >> 11) * 0x1p-53;
	} while (u1 <= 0);
	u2 = (mcai_mlp_rand(rng) >> 11) * 0x1p-53;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1) U^(1/shape). */
double mcai_gamma(u64 *rng, double shape)
{
	double d, c, x, v, u;

	if (shape < 1) {
		do {
			u = (mcai_mlp_rand(rng) >> 11) * 0x1p-53;
		} while (u <= 0);
		return mcai_gamma(rng, shape + 1) * pow(u, 1 / shape);
	}
	d = shape - 1.0 / 3;
	c = 1 / sqrt(9 * d);
	for (;;) {
		do {
			x = mcai_normal(rng);
			v = 1 + c * x;
		} while (v <= 0);
		v = v * v * v;
		u = (mcai_mlp_rand(rng) >> 11) * 0x1p-53;
		if (u < 1 - 0.0331 * x * x * x * x)
			return d * v;
		if (u > 0 && log(u) < 0.5 * x * x + d * (1 - v + log(v)))
			return d * v;
	}
}

void mcai_fedsim_shards_free(u32 **shard, u32 *len, u32 clients)
{
	u32 c;

	if (shard)
		for (c = 0; c < clients; c++)
			free(shard[c]);
	free(shard);
	free(len);
}

/* One Dirichlet draw of the whole split into cnt[clients][classes]. */
static void dirichlet_counts(const u32 *per_class, u32 classes, u32 clients,
			     double alpha, u64 *rng, u32 *cnt, double *p)
{
	u32 k, c;

	for (k = 0; k < classes; k++) {
		double sum = 0, cum = 0;
		u32 given = 0;

		for (c = 0; c < clients; c++) {
			p[c] = mcai_gamma(rng, alpha);
			sum += p[c];
		}
		/* Cut points at the cumulative proportions: counts add up. */
		for (c = 0; c < clients; c++) {
			u32 upto;

			cum += sum > 0 ? p[c] / sum : 1.0 / clients;
			upto = c + 1 == clients ? per_class[k] :
				(u32)floor(cum * per_class[k]);
			if (upto > per_class[k])
				upto = per_class[k];
			if (upto < given)
				upto = given;
			cnt[(size_t)c * classes + k] = upto - given;
			given = upto;
		}
	}
}

int mcai_fedsim_split(const u8 *labels, u32 count, u32 classes,
		      u32 clients, float alpha, u32 min_shard, u64 seed,
		      u32 ***shard_out, u32 **len_out)
{
	u64 rng = stream(seed, S_SPLIT, 0, 0);
	u32 **shard = NULL, *len = NULL, *order = NULL, *per_class = NULL;
	u32 *cnt = NULL, *start = NULL, attempt, c, k, i;
	double *p = NULL;
	int err = -ENOMEM;

	if (!clients || !classes || (u64)clients * min_shard > count)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (labels[i] >= classes)
			return -EINVAL;
	shard = calloc(clients, sizeof(*shard));
	len = calloc(clients, sizeof(*len));
	order = malloc((count ? count : 1) * sizeof(*order));
	if (!shard || !len || !order)
		goto out;
	for (i = 0; i < count; i++)
		order[i] = i;
	shuffle(order, count, &rng);

	if (alpha <= 0) {
		/* IID: deal the shuffled images in equal contiguous shards. */
		for (c = 0; c < clients; c++) {
			u32 from = (u32)((u64)count * c / clients);
			u32 to = (u32)((u64)count * (c + 1) / clients);

			len[c] = to - from;
			shard[c] = malloc((len[c] ? len[c] : 1) * sizeof(u32));
			if (!shard[c])
				goto out;
			memcpy(shard[c], order + from, len[c] * sizeof(u32));
		}
		err = 0;
		goto out;
	}

	per_class = calloc(classes, sizeof(u32));
	start = calloc(classes, sizeof(u32));
	cnt = calloc((size_t)clients * classes, sizeof(u32));
	p = calloc(clients, sizeof(double));
	if (!per_class || !start || !cnt || !p)
		goto out;
	for (i = 0; i < count; i++)
		per_class[labels[i]]++;
	/* Redraw until every client has enough images to train on. */
	for (attempt = 0; attempt < 1000; attempt++) {
		bool ok = true;

		dirichlet_counts(per_class, classes, clients, alpha, &rng, cnt, p);
		for (c = 0; c < clients && ok; c++) {
			u32 n = 0;

			for (k = 0; k < classes; k++)
				n += cnt[(size_t)c * classes + k];
			len[c] = n;
			ok = n >= min_shard && n > 0;
		}
		if (ok)
			break;
	}
	if (attempt == 1000) {
		err = -EINVAL;
		goto out;
	}
	/* The shuffled images sorted by class (stable), then dealt per class. */
	{
		u32 *by_class = malloc((count ? count : 1) * sizeof(u32));
		u32 *fill = calloc(classes, sizeof(u32));

		if (!by_class || !fill) {
			free(by_class);
			free(fill);
			goto out;
		}
		for (k = 1; k < classes; k++)
			start[k] = start[k - 1] + per_class[k - 1];
		for (i = 0; i < count; i++) {
			u32 lab = labels[order[i]];

			by_class[start[lab] + fill[lab]++] = order[i];
		}
		memset(fill, 0, classes * sizeof(u32));
		for (c = 0; c < clients; c++) {
			u32 at = 0;

			shard[c] = malloc((len[c] ? len[c] : 1) * sizeof(u32));
			if (!shard[c]) {
				free(by_class);
				free(fill);
				goto out;
			}
			for (k = 0; k < classes; k++) {
				u32 m = cnt[(size_t)c * classes + k];

				memcpy(shard[c] + at, by_class + start[k] + fill[k],
				       m * sizeof(u32));
				fill[k] += m;
				at += m;
			}
		}
		free(by_class);
		free(fill);
	}
	err = 0;
out:
	free(order);
	free(per_class);
	free(start);
	free(cnt);
	free(p);
	if (err) {
		mcai_fedsim_shards_free(shard, len, clients);
		return err;
	}
	*shard_out = shard;
	*len_out = len;
	return 0;
}

/* ---- Configuration ---------------------------------------------------- */

static const char *const attack_names[] = {
	[MCAI_ATTACK_NONE] = "none",
	[MCAI_ATTACK_SIGN_FLIP] = "sign-flip",
	[MCAI_ATTACK_SCALING] = "scaling",
	[MCAI_ATTACK_NOISE] = "noise",
	[MCAI_ATTACK_LABEL_FLIP] = "label-flip",
};

#define N_ATTACKS (sizeof(attack_names) / sizeof(attack_names[0]))

const char *mcai_attack_name(enum mcai_attack a)
{
	return (unsigned int)a < N_ATTACKS ? attack_names[a] : "?";
}

int mcai_attack_parse(const char *name, enum mcai_attack *a)
{
	int i = mcai_name_index(attack_names, N_ATTACKS, name);

	if (i < 0)
		return i;
	*a = (enum mcai_attack)i;
	return 0;
}

void mcai_fedsim_config_default(struct mcai_fedsim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->hidden[0] = 128;
	c->n_hidden = 1;
	c->clients = 20;
	c->min_shard = 20;
	c->rounds = 30;
	c->fraction = 0.5f;
	c->min_clients = 2;
	c->local_epochs = 1;
	c->batch = 32;
	c->lr = 0.05f;
	c->momentum = 0.9f;
	c->weight_decay = 1e-4f;
	mcai_agg_config_default(&c->agg, MCAI_AGG_FEDAVG);
	mcai_comp_config_default(&c->comp, MCAI_COMP_NONE);
	c->error_feedback = true;
	c->ditto_lambda = 0.1f;
	c->clip_quantile = 0.5f;
	mcai_anomaly_config_default(&c->acfg);
	c->attack_k = 5;
	c->calib = 2000;
	c->eval_every = 1;
	c->float_eval = true;
	c->seed = 1;
}

int mcai_fedsim_config_check(const struct mcai_fedsim_config *c,
			     const struct mcai_fedsim_data *d, char *why,
			     size_t why_len)
{
	u32 l;
	int err;

	if (!d->train_count || !d->test_count || !d->input_len ||
	    d->classes < 2 || d->input_len > MCAI_MLP_MAX_DIM ||
	    d->classes > MCAI_MLP_MAX_DIM)
		return mcai_why(-EINVAL, why, why_len,
				"data: %u training, %u test images of %u bytes, %u classes",
				d->train_count, d->test_count, d->input_len,
				d->classes);
	if (!c->n_hidden || c->n_hidden > MCAI_FEDSIM_MAX_HIDDEN)
		return mcai_why(-EINVAL, why, why_len, "1..%u hidden layers",
				MCAI_FEDSIM_MAX_HIDDEN);
	for (l = 0; l < c->n_hidden; l++)
		if (!c->hidden[l] || c->hidden[l] > MCAI_MLP_MAX_DIM)
			return mcai_why(-EINVAL, why, why_len, "hidden width %u",
					c->hidden[l]);
	if (!c->clients || c->clients > 1000000)
		return mcai_why(-EINVAL, why, why_len, "%u clients", c->clients);
	if (!c->rounds || !c->local_epochs || !c->batch)
		return mcai_why(-EINVAL, why, why_len,
				"rounds, local epochs and batch must be >= 1");
	if (!(c->fraction > 0 && c->fraction <= 1))
		return mcai_why(-EINVAL, why, why_len, "fraction %g: (0, 1]",
				c->fraction);
	if (!c->min_clients || c->min_clients > c->clients)
		return mcai_why(-EINVAL, why, why_len,
				"min clients %u: 1..clients (%u)", c->min_clients,
				c->clients);
	if (!(c->dropout >= 0 && c->dropout < 1) ||
	    !(c->kill_fraction >= 0 && c->kill_fraction < 1) ||
	    !(c->malicious >= 0 && c->malicious < 1))
		return mcai_why(-EINVAL, why, why_len,
				"dropout, kill and malicious fractions: [0, 1)");
	if (!(c->alpha >= 0) || !isfinite(c->alpha))
		return mcai_why(-EINVAL, why, why_len, "alpha %g: >= 0 (0: IID)",
				c->alpha);
	if (!(c->lr > 0) || !(c->momentum >= 0 && c->momentum < 1) ||
	    !(c->weight_decay >= 0) || !(c->prox_mu >= 0))
		return mcai_why(-EINVAL, why, why_len,
				"lr > 0, momentum [0, 1), weight decay and mu >= 0");
	if ((unsigned int)c->attack >= N_ATTACKS || !(c->attack_k > 0))
		return mcai_why(-EINVAL, why, why_len, "attack %d, k %g",
				(int)c->attack, c->attack_k);
	if (!c->calib || c->calib > d->train_count)
		return mcai_why(-EINVAL, why, why_len,
				"calibration images %u: 1..%u", c->calib,
				d->train_count);
	if (c->clip == MCAI_CLIP_FIXED && !(c->agg.clip_norm > 0))
		return mcai_why(-EINVAL, why, why_len, "fixed clipping needs a norm");
	if (c->clip == MCAI_CLIP_ADAPTIVE &&
	    !(c->clip_quantile > 0.0f && c->clip_quantile < 1.0f))
		return mcai_why(-EINVAL, why, why_len,
				"adaptive clipping: quantile %g not in (0, 1)",
				c->clip_quantile);
	if ((unsigned int)c->personalise > MCAI_PERS_DITTO ||
	    !(c->ditto_lambda >= 0) || !isfinite(c->ditto_lambda))
		return mcai_why(-EINVAL, why, why_len,
				"personalisation %d, lambda %g", (int)c->personalise,
				c->ditto_lambda);
	if (c->personalise == MCAI_PERS_FEDPER && c->pers_mask &&
	    (c->pers_mask >> (c->n_hidden + 1) ||
	     c->pers_mask == (1u << (c->n_hidden + 1)) - 1))
		return mcai_why(-EINVAL, why, why_len,
				"personal layers 0x%x of %u", c->pers_mask,
				c->n_hidden + 1);
	err = mcai_agg_config_check(&c->agg, why, why_len);
	if (!err)
		err = mcai_comp_config_check(&c->comp, why, why_len);
	if (!err && c->anomaly)
		err = mcai_anomaly_config_check(&c->acfg, why, why_len);
	return err;
}

/* ---- Samples, model, evaluation ---------------------------------------- */

struct source {
	const struct mcai_fedsim_data *d;
	bool test;
	bool flip;			/* y -> classes - 1 - y */
};

static void get_sample(void *ctx, u32 k, float *x, u32 *label)
{
	const struct source *s = ctx;
	const struct mcai_fedsim_data *d = s->d;
	const u8 *px = (s->test ? d->test_images : d->train_images) +
		       (size_t)k * d->input_len;
	u32 y = (s->test ? d->test_labels : d->train_labels)[k], i;

	for (i = 0; i < d->input_len; i++)
		x[i] = px[i] / 255.0f;
	*label = s->flip ? d->classes - 1 - y : y;
}

static struct mcai_mlp *model_create(const struct mcai_fedsim_config *c,
				     const struct mcai_fedsim_data *d)
{
	u32 dims[MCAI_FEDSIM_MAX_HIDDEN + 2], l;
	u64 rng = stream(c->seed, S_INIT, 0, 0);
	struct mcai_mlp *n;

	dims[0] = d->input_len;
	for (l = 0; l < c->n_hidden; l++)
		dims[l + 1] = c->hidden[l];
	dims[c->n_hidden + 1] = d->classes;
	n = mcai_mlp_create(dims, c->n_hidden + 2, MCAI_MLP_SOFTMAX);
	if (n)
		mcai_mlp_init(n, MCAI_MLP_DRAW_BY_INPUT, &rng);
	return n;
}

int mcai_fedsim_eval_blob(const u8 *blob, u32 size,
			  const struct mcai_fedsim_data *d, u32 *correct,
			  char *why, size_t why_len)
{
	return mcai_fedsim_eval_blob_classes(blob, size, d, correct, NULL, why,
					     why_len);
}

int mcai_fedsim_eval_blob_classes(const u8 *blob, u32 size,
				  const struct mcai_fedsim_data *d,
				  u32 *correct, u32 *per_class, char *why,
				  size_t why_len)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	s8 *in, *scores, qpix[256];
	void *arena;
	u32 i, j, failed;
	float in_scale;
	int err = 0;

	mcai_limits_default(&lim);
	if (mcai_verify(&m, blob, size, &lim, &v))
		return mcai_why(-EINVAL, why, why_len,
				"rejected by the verifier: %s (offset %u)",
				v.reason, v.offset);
	if (m.input_len != d->input_len || m.head != MCAI_HEAD_ARGMAX ||
	    m.output_len != d->classes)
		return mcai_why(-EINVAL, why, why_len,
				"model is %u -> %u, data %u -> %u classes",
				m.input_len, m.output_len, d->input_len, d->classes);
	/* Inputs quantised with the blob's own parameters, as the runtime does. */
	memcpy(&in_scale, &m.input_scale, sizeof(in_scale));
	for (i = 0; i < 256; i++)
		qpix[i] = mcai_quantize(i / 255.0f, in_scale, m.input_zp);
	in = malloc(m.input_len);
	scores = malloc(m.output_len);
	arena = malloc(m.arena_size ? m.arena_size : 1);
	if (!in || !scores || !arena) {
		err = mcai_why(-ENOMEM, why, why_len, "out of memory");
		goto out;
	}
	if (mcai_engine_check_vectors(&m, arena, scores, &failed)) {
		err = mcai_why(-EINVAL, why, why_len,
			       "test vector %u does not reproduce", failed);
		goto out;
	}
	*correct = 0;
	if (per_class)
		memset(per_class, 0, d->classes * sizeof(u32));
	for (i = 0; i < d->test_count; i++) {
		const u8 *px = d->test_images + (size_t)i * m.input_len;
		bool ok;

		for (j = 0; j < m.input_len; j++)
			in[j] = qpix[px[j]];
		ok = mcai_engine_run(&m, in, scores, arena) ==
		     (int)d->test_labels[i];
		*correct += ok;
		if (per_class)
			per_class[d->test_labels[i]] += ok;
	}
out:
	free(in);
	free(scores);
	free(arena);
	return err;
}

/*
 * Quantise @n as the aggregator publishes it (ranges from the first
 * calib training images, input q = pixel - 128) and measure it.
 */
static int evaluate(struct mcai_mlp *n, const struct mcai_fedsim_config *c,
		    const struct mcai_fedsim_data *d, u32 version,
		    struct mcai_fedsim_round *r, u32 *blob_bytes, char *why,
		    size_t why_len)
{
	const struct source train = { d, false, false }, test = { d, true, false };
	const struct mcai_mlp_data calib = { get_sample, (void *)&train };
	const struct mcai_mlp_data tdata = { get_sample, (void *)&test };
	const struct mcai_mlpq_desc desc = {
		.name = "fedsim", .version = version, .head = MCAI_HEAD_ARGMAX,
		.input_scale = 1.0f / 255.0f, .input_zp = -128,
	};
	char err[256];
	u32 size, correct;
	u8 *blob;
	int e;

	r->evaluated = true;
	blob = mcai_mlpq_blob(n, &calib, NULL, c->calib, &desc, &size, err,
			      sizeof(err));
	e = blob ? mcai_fedsim_eval_blob(blob, size, d, &correct, why,
					 why_len) : -EINVAL;
	free(blob);
	if (e == -ENOMEM)
		return e;
	if (e) {
		/*
		 * A model poisoned past what int8 can hold (infinite
		 * ranges, a blob the verifier refuses) ships nothing:
		 * count it as classifying nothing, and carry on.
		 */
		r->broken = true;
		r->int8_acc = r->float_acc = 0;
		return 0;
	}
	*blob_bytes = size;
	r->int8_acc = (double)correct / d->test_count;
	r->float_acc = c->float_eval ?
		(double)mcai_mlp_evaluate(n, &tdata, NULL, d->test_count) /
		d->test_count : NAN;
	return 0;
}

static bool eval_round(const struct mcai_fedsim_config *c, u32 r)
{
	return r == c->rounds || (c->eval_every && r % c->eval_every == 0);
}

/* ---- The federation ---------------------------------------------------- */

struct sim {
	const struct mcai_fedsim_config *c;
	const struct mcai_fedsim_data *d;
	struct mcai_mlp *net;
	float *global;
	u32 **shard, *len;
	bool *hostile, *dead, *gone;	/* gone: dead this round, per sampled */
	u32 *avail, *sampled, *ids;
	float **upd;
	bool *keep;
	struct mcai_anomaly_score *score;
	float *scratch;			/* n_params: median, combined */
	double *norms;
	struct mcai_quarantine *q;
	struct mcai_agg *adam;		/* server optimisers keep state */
	float *loss;			/* per kept update: its training loss */
	struct mcai_dp_adaptive adapt;	/* MCAI_CLIP_ADAPTIVE */
	float **resid;			/* per client: error feedback */
	u8 *wire;			/* one compressed update */
	/* sa_int8: this round's range (0: floats), the sampled weight */
	float sa_range;
	double sa_total;
	/* personalisation */
	struct mcai_pers_split split;	/* FedPer: what stays on the node */
	u32 n_wire;			/* parameters in an update */
	float *gwire;			/* FedPer: the global shared body */
	float **pers;			/* per client: its personal model
					 * (FedPer: only the personal layers
					 * matter); NULL until first trained */
	float *init;			/* the starting model */
	u32 *pidx;			/* Ditto: a client's shard, shuffled
					 * by its personal training (the
					 * global track keeps its own order) */
};

/* Local training of client @cl in round @r into @out; samples trained. */
static u64 client_train(struct sim *s, u32 cl, u32 r, u32 answering,
			float *out, float *loss)
{
	const struct mcai_fedsim_config *c = s->c;
	const bool bad = s->hostile[cl];
	const struct source src = {
		s->d, false,
		bad && (c->attack == MCAI_ATTACK_SCALING ||
			c->attack == MCAI_ATTACK_LABEL_FLIP),
	};
	const struct mcai_mlp_data data = { get_sample, (void *)&src };
	const float mu = c->prox_mu > 0 ? c->prox_mu :
		c->agg.kind == MCAI_AGG_FEDPROX ? c->agg.prox_mu : 0;
	const struct mcai_mlp_opt opt = {
		.momentum = c->momentum, .weight_decay = c->weight_decay,
		.prox_mu = mu, .prox_ref = s->global,
	};
	/* Cosine decay over the rounds, constant within one. */
	struct mcai_mlp_sched sched = {
		.lr = (float)(c->lr * 0.5 *
			      (1 + cos(M_PI * (double)(r - 1) / c->rounds))),
	};
	u64 rng = stream(c->seed, S_CLIENT, r, cl);
	const u32 n = s->n_wire;
	const bool fedper = c->personalise == MCAI_PERS_FEDPER;
	struct mcai_mlp_stats st = { 0 };
	u32 e, i;

	if (c->personalise != MCAI_PERS_NONE && !s->pers[cl]) {
		/* a client's first round: its personal copy starts here */
		s->pers[cl] = malloc(s->net->n_params * sizeof(float));
		if (!s->pers[cl])
			return UINT64_MAX;
		memcpy(s->pers[cl], fedper ? s->init : s->global,
		       s->net->n_params * sizeof(float));
	}
	mcai_mlp_set_params(s->net, s->global);
	/* FedPer trains the global body under the client's own head. */
	if (fedper)
		mcai_pers_copy_personal(&s->split, s->pers[cl], s->net->params);
	mcai_mlp_reset_opt(s->net);
	for (e = 0; e < c->local_epochs; e++)
		mcai_mlp_train_epoch(s->net, &opt, &sched, &data, s->shard[cl],
				     s->len[cl], c->batch, &rng,
				     e ? NULL : &st);
	/* the first epoch's mean loss: q-FFL's F_k, near the global model's */
	*loss = st.seen ? (float)(st.loss / st.seen) : 0.0f;
	mcai_mlp_delta(s->net, s->global, out);
	if (fedper) {
		/* the head stays here; only the body's delta is sent */
		mcai_pers_copy_personal(&s->split, s->net->params, s->pers[cl]);
		mcai_pers_pack(&s->split, out, out);
	}
	if (c->personalise == MCAI_PERS_DITTO) {
		/* v <- v - lr (grad F(v) + lambda (v - w)), w this round's model */
		const struct mcai_mlp_opt popt =
			mcai_pers_ditto_opt(&opt, c->ditto_lambda, s->global);
		struct mcai_mlp_sched psched = { .lr = sched.lr };
		u64 prng = stream(c->seed, S_PERSONAL, r, cl);

		memcpy(s->pidx, s->shard[cl], s->len[cl] * sizeof(u32));
		mcai_mlp_set_params(s->net, s->pers[cl]);
		mcai_mlp_reset_opt(s->net);
		for (e = 0; e < c->local_epochs; e++)
			mcai_mlp_train_epoch(s->net, &popt, &psched, &data,
					     s->pidx, s->len[cl], c->batch,
					     &prng, NULL);
		mcai_mlp_get_params(s->net, s->pers[cl]);
	}
	if (!bad)
		return (u64)s->len[cl] * c->local_epochs;

	switch (c->attack) {
	case MCAI_ATTACK_SIGN_FLIP:
		for (i = 0; i < n; i++)
			out[i] *= -c->attack_k;
		break;
	case MCAI_ATTACK_SCALING: {
		/* n / eta: FedAvg averages over the round, eta = 1. */
		const float boost = (float)answering;

		for (i = 0; i < n; i++)
			out[i] *= boost;
		break;
	}
	case MCAI_ATTACK_NOISE: {
		const double norm = mcai_l2_norm(out, n);
		u64 nr = stream(c->seed, S_NOISE, r, cl);
		double nn;

		for (i = 0; i < n; i++)
			out[i] = (float)mcai_normal(&nr);
		nn = mcai_l2_norm(out, n);
		for (i = 0; i < n; i++)
			out[i] = (float)(out[i] * (norm / nn));
		break;
	}
	default:
		break;
	}
	return (u64)s->len[cl] * c->local_epochs;
}

static void sim_free(struct sim *s)
{
	u32 i;

	if (s->upd)
		for (i = 0; i < s->c->clients; i++)
			free(s->upd[i]);
	free(s->upd);
	mcai_fedsim_shards_free(s->shard, s->len, s->c->clients);
	mcai_mlp_free(s->net);
	free(s->global);
	free(s->hostile);
	free(s->dead);
	free(s->gone);
	free(s->avail);
	free(s->sampled);
	free(s->ids);
	free(s->keep);
	free(s->score);
	free(s->scratch);
	free(s->norms);
	mcai_quarantine_free(s->q);
	mcai_agg_free(s->adam);
	free(s->loss);
	if (s->resid)
		for (i = 0; i < s->c->clients; i++)
			free(s->resid[i]);
	free(s->resid);
	free(s->wire);
	if (s->pers)
		for (i = 0; i < s->c->clients; i++)
			free(s->pers[i]);
	free(s->pers);
	free(s->gwire);
	free(s->init);
	free(s->pidx);
}

/* Choose round(frac * k) of v[0..k) at random: they end up first. */
static u32 pick(u32 *v, u32 k, double frac, u64 *rng)
{
	u32 m = (u32)lround(frac * k), i;

	if (m > k)
		m = k;
	for (i = 0; i < m; i++) {
		u32 j = i + mcai_mlp_below(rng, k - i), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
	return m;
}

/* Combine the kept updates of the round into s->global. */
static int aggregate(struct sim *s, u32 k, struct mcai_fedsim_round *rr,
		     char *why, size_t why_len)
{
	const struct mcai_fedsim_config *c = s->c;
	const u32 n = s->n_wire;
	struct mcai_agg_config ac = c->agg;
	struct mcai_agg_report rep;
	struct mcai_agg *a;
	u32 i, kept = 0;
	int err;

	for (i = 0; i < k; i++)
		kept += s->keep[i];
	if (!kept)
		return 0;
	if (c->clip != MCAI_CLIP_FIXED)
		ac.clip_norm = 0;
	if (c->clip == MCAI_CLIP_ADAPTIVE) {
		/*
		 * Andrew et al.'s quantile tracking (runtime/fed/dp.h): clip
		 * to the current bound, then move it by the noised count of
		 * the updates that were within it.
		 */
		const double bound = s->adapt.clip;
		u32 within = 0;
		u64 nr = stream(c->seed, S_CLIPCOUNT, rr->round, 0);

		for (i = 0; i < k; i++) {
			if (!s->keep[i])
				continue;
			within += mcai_l2_norm(s->upd[i], n) <= bound;
			rr->clipped += mcai_clip_l2(s->upd[i], n,
						    (float)bound);
		}
		s->adapt.count_stddev = kept / 20.0;
		mcai_dp_adaptive_step(&s->adapt, within, kept,
				      s->adapt.count_stddev * mcai_normal(&nr));
		rr->clip_norm = bound;
	}
	if (c->clip == MCAI_CLIP_MEDIAN) {
		/* An adaptive bound no minority can inflate. */
		double *t = s->norms, bound;
		u32 m = 0;

		for (i = 0; i < k; i++)
			if (s->keep[i])
				t[m++] = mcai_l2_norm(s->upd[i], n);
		bound = mcai_median_sort(t, m);
		for (i = 0; i < k; i++)
			if (s->keep[i])
				rr->clipped += mcai_clip_l2(s->upd[i], n,
							    (float)bound);
	}
	if ((ac.kind == MCAI_AGG_BULYAN && kept < 4 * ac.krum_f + 3) ||
	    (ac.kind == MCAI_AGG_KRUM_SINGLE && kept <= 2 * ac.krum_f + 2)) {
		/* as below: the largest f the round allows */
		const u32 f = ac.kind == MCAI_AGG_BULYAN ?
			      (kept >= 3 ? (kept - 3) / 4 : 0) :
			      (kept >= 3 ? (kept - 3) / 2 : 0);

		if (kept < 3)
			ac.kind = MCAI_AGG_MEDIAN;
		ac.krum_f = f;
	}
	if (ac.kind == MCAI_AGG_KRUM && kept <= 2 * ac.krum_f + 2) {
		/* Fewer answers than the configured f allows: the largest f. */
		if (kept < 3) {
			ac.kind = MCAI_AGG_MEDIAN;
		} else {
			ac.krum_f = (kept - 3) / 2;
			ac.krum_m = 0;
		}
	}
	if (mcai_agg_kind_has_state(ac.kind)) {
		a = s->adam;
	} else {
		a = mcai_agg_create(&ac, n, why, why_len);
		if (!a)
			return -ENOMEM;
	}
	mcai_agg_begin(a);
	err = 0;
	for (i = 0; i < k && !err; i++)
		if (s->keep[i])
			err = mcai_agg_add_loss(a, s->upd[i],
						s->len[s->ids[i]], s->loss[i],
						why, why_len);
	if (!err)
		err = mcai_agg_finish(a, s->scratch, &rep, why, why_len);
	if (!err && s->gwire) {
		/* FedPer: the server's model is the shared body */
		mcai_pers_pack(&s->split, s->global, s->gwire);
		mcai_agg_apply(a, s->gwire, s->scratch, rr->round - 1,
			       c->rounds);
		mcai_pers_unpack(&s->split, s->gwire, s->global);
	} else if (!err) {
		mcai_agg_apply(a, s->global, s->scratch, rr->round - 1,
			       c->rounds);
	}
	if (!err) {
		rr->clipped += rep.clipped;
		rr->used = rep.used;
		rr->applied = true;
	}
	if (a != s->adam)
		mcai_agg_free(a);
	return err;
}

/*
 * What the client sends and the server decodes: its update through the
 * compressor (runtime/fed/compress.h), with the client's own error
 * feedback residual; @u becomes what the server sees.
 */
static int compress(struct sim *s, u32 cl, u32 r, float *u,
		    struct mcai_fedsim_round *rr, char *why, size_t why_len)
{
	const struct mcai_fedsim_config *c = s->c;
	const u32 n = s->n_wire;
	const size_t size = mcai_comp_size(&c->comp, n);
	u64 rng = stream(c->seed, S_COMPRESS, r, cl);
	int err;

	if (c->sa_int8) {
		/*
		 * Node i sends q_i = Q(w_i u_i) in the ring; the exact ring
		 * sum of the q_i (the masks cancel) is what the server
		 * decodes, the same as the weighted mean of Q(w_i u_i) / w_i.
		 */
		const double w = s->len[cl] / s->sa_total;
		u32 i, q;

		rr->bytes_up += s->sa_range > 0 ? (size_t)n * 2 : (size_t)n * 4;
		if (!(s->sa_range > 0) || !(w > 0) ||
		    !isfinite(mcai_l2_norm(u, n)))
			return 0;
		for (i = 0; i < n; i++) {
			const float x = (float)(u[i] * w);

			mcai_comp_sa_encode(&x, 1, s->sa_range,
					    MCAI_COMP_SA_LEVELS, &rng, &q);
			u[i] = (float)((s32)q * ((double)s->sa_range /
					       MCAI_COMP_SA_LEVELS) / w);
		}
		return 0;
	}
	rr->bytes_up += size;
	if (c->comp.kind == MCAI_COMP_NONE)
		return 0;
	/* a diverged client sends what it has; the server refuses it */
	if (!isfinite(mcai_l2_norm(u, n)))
		return 0;
	if (c->error_feedback && !s->resid[cl]) {
		s->resid[cl] = calloc(n, sizeof(float));
		if (!s->resid[cl])
			return mcai_why(-ENOMEM, why, why_len, "out of memory");
	}
	err = mcai_comp_encode(&c->comp, u,
			       c->error_feedback ? s->resid[cl] : NULL, n,
			       &rng, s->wire, NULL);
	if (!err)
		err = mcai_comp_decode(s->wire, size, n, u, why, why_len);
	else
		mcai_why(err, why, why_len, "compressing an update");
	return err;
}

static int run_round(struct sim *s, u32 r, struct mcai_fedsim_round *rr,
		     char *why, size_t why_len)
{
	const struct mcai_fedsim_config *c = s->c;
	const u32 n = s->n_wire;
	u32 navail = 0, want, i, k = 0, m, ndrop;
	u64 rng;
	int err;

	for (i = 0; i < c->clients; i++)
		if (!s->dead[i] && !(s->q && mcai_quarantine_active(s->q, i)))
			s->avail[navail++] = i;
	want = (u32)lround(c->fraction * navail);
	if (want < c->min_clients)
		want = c->min_clients;
	if (want > navail)
		want = navail;
	rng = stream(c->seed, S_SAMPLE, r, 0);
	pick(s->avail, navail, navail ? (double)want / navail : 0, &rng);
	memcpy(s->sampled, s->avail, want * sizeof(u32));
	rr->sampled = want;
	/* the weights' denominator: all sampled, as sa_weight_total */
	s->sa_total = 0;
	for (i = 0; i < want; i++)
		s->sa_total += s->len[s->sampled[i]];
	if (want > MCAI_COMP_SA_MAX_NODES)
		s->sa_range = 0;

	/* Nodes that die during this round: gone for good. */
	if (c->kill_round == r) {
		u32 *all = s->ids, nk;

		for (i = 0; i < c->clients; i++)
			all[i] = i;
		rng = stream(c->seed, S_KILL, 0, 0);
		nk = pick(all, c->clients, c->kill_fraction, &rng);
		for (i = 0; i < nk; i++)
			s->dead[all[i]] = true;
	}
	/* Sampled clients that never answer this round. */
	memset(s->gone, 0, c->clients * sizeof(bool));
	rng = stream(c->seed, S_DROP, r, 0);
	ndrop = pick(s->sampled, want, c->dropout, &rng);
	for (i = 0; i < ndrop; i++)
		s->gone[s->sampled[i]] = true;

	for (i = 0; i < want; i++) {
		u32 cl = s->sampled[i];

		if (s->gone[cl] || s->dead[cl])
			continue;
		s->ids[k++] = cl;
	}
	rr->answered = k;
	for (i = 0; i < c->clients; i++)
		rr->dead += s->dead[i];
	for (i = 0, m = 0; i < k; i++) {
		const u32 cl = s->ids[i];

		if (!s->upd[m]) {
			/* the full delta first (FedPer packs it in place) */
			s->upd[m] = malloc(s->net->n_params * sizeof(float));
			if (!s->upd[m])
				return mcai_why(-ENOMEM, why, why_len, "out of memory");
		}
		u64 done = client_train(s, cl, r, want, s->upd[m],
					&s->loss[m]);

		if (done == UINT64_MAX)
			return mcai_why(-ENOMEM, why, why_len, "out of memory");
		rr->samples += done;
		err = compress(s, cl, r, s->upd[m], rr, why, why_len);
		if (err)
			return err;
		rr->malicious += s->hostile[cl];
		/*
		 * A client that diverged (inf, NaN) is refused whole, as
		 * mcai_agg_add() would, instead of ending the run.
		 */
		if (!isfinite(mcai_l2_norm(s->upd[m], n))) {
			rr->rejected++;
			continue;
		}
		s->ids[m] = cl;
		s->keep[m++] = true;
	}
	k = m;
	if (k < c->min_clients || !k)
		goto done;

	if (c->anomaly) {
		err = mcai_anomaly_score(&c->acfg, (const float *const *)s->upd,
					 k, n, s->scratch, s->score, NULL);
		if (err)
			return mcai_why(err, why, why_len, "anomaly scoring: %d", err);
		for (i = 0; i < k; i++) {
			if (!s->score[i].reasons)
				continue;
			s->keep[i] = false;
			rr->flagged++;
			rr->flagged_malicious += s->hostile[s->ids[i]];
			if (s->q)
				mcai_quarantine_flag(s->q, s->ids[i], r);
		}
	}
	err = aggregate(s, k, rr, why, why_len);
	if (err)
		return err;
	if (c->sa_int8) {
		/* the next round's range: twice the mean's largest coordinate */
		float mx = 0;

		for (i = 0; i < n; i++)
			if (fabsf(s->scratch[i]) > mx)
				mx = fabsf(s->scratch[i]);
		s->sa_range = isfinite(mx) ? 2 * mx : 0;
	}
done:
	if (s->q)
		rr->quarantined = mcai_quarantine_count(s->q);
	return 0;
}

static int result_alloc(struct mcai_fedsim_result *res, u32 rounds)
{
	memset(res, 0, sizeof(*res));
	res->rounds = calloc(rounds, sizeof(*res->rounds));
	if (!res->rounds)
		return -ENOMEM;
	res->n_rounds = rounds;
	return 0;
}

void mcai_fedsim_result_free(struct mcai_fedsim_result *res)
{
	free(res->rounds);
	free(res->node_global_acc);
	free(res->node_pers_acc);
	res->rounds = NULL;
	res->node_global_acc = res->node_pers_acc = NULL;
	res->n_rounds = res->n_clients = 0;
}

/* int8 accuracy per class of @params (quantised as published). */
static int class_acc(struct sim *s, const float *params, u32 *per_class,
		     char *why, size_t why_len)
{
	const struct mcai_fedsim_data *d = s->d;
	const struct source train = { d, false, false };
	const struct mcai_mlp_data calib = { get_sample, (void *)&train };
	const struct mcai_mlpq_desc desc = {
		.name = "fedsim", .version = 1, .head = MCAI_HEAD_ARGMAX,
		.input_scale = 1.0f / 255.0f, .input_zp = -128,
	};
	char err[256];
	u32 size, correct;
	u8 *blob;
	int e;

	mcai_mlp_set_params(s->net, params);
	blob = mcai_mlpq_blob(s->net, &calib, NULL, s->c->calib, &desc, &size,
			      err, sizeof(err));
	if (!blob) {
		/* nothing shipped: classifies nothing */
		memset(per_class, 0, d->classes * sizeof(u32));
		return 0;
	}
	e = mcai_fedsim_eval_blob_classes(blob, size, d, &correct, per_class,
					  why, why_len);
	free(blob);
	if (e == -EINVAL) {
		memset(per_class, 0, d->classes * sizeof(u32));
		e = 0;
	}
	return e;
}

/*
 * After the last round: each client's accuracy on its own label
 * distribution, of the global model and of its personal one.
 */
static int node_eval(struct sim *s, struct mcai_fedsim_result *res,
		     char *why, size_t why_len)
{
	const struct mcai_fedsim_config *c = s->c;
	const struct mcai_fedsim_data *d = s->d;
	const u32 k = d->classes;
	u32 *total = calloc(k, sizeof(u32)), *gcorr = calloc(k, sizeof(u32));
	u32 *pcorr = calloc(k, sizeof(u32)), *cnt = calloc(k, sizeof(u32));
	float *model = malloc(s->net->n_params * sizeof(float));
	u32 i, cl;
	int err = -ENOMEM;

	res->n_clients = c->clients;
	res->node_global_acc = calloc(c->clients, sizeof(double));
	res->node_pers_acc = calloc(c->clients, sizeof(double));
	if (!total || !gcorr || !pcorr || !cnt || !model ||
	    !res->node_global_acc || !res->node_pers_acc) {
		mcai_why(err, why, why_len, "out of memory");
		goto out;
	}
	for (i = 0; i < d->test_count; i++)
		total[d->test_labels[i]]++;
	/* FedPer's global model is a body: measured with the initial head */
	err = class_acc(s, s->global, gcorr, why, why_len);
	for (cl = 0; cl < c->clients && !err; cl++) {
		memset(cnt, 0, k * sizeof(u32));
		for (i = 0; i < s->len[cl]; i++)
			cnt[d->train_labels[s->shard[cl][i]]]++;
		res->node_global_acc[cl] = mcai_pers_weighted_acc(gcorr, total,
								   cnt, k);
		if (c->personalise == MCAI_PERS_NONE) {
			res->node_pers_acc[cl] = res->node_global_acc[cl];
			continue;
		}
		res->node_untrained += !s->pers[cl];
		if (c->personalise == MCAI_PERS_FEDPER) {
			/* the global body under the client's head */
			memcpy(model, s->global,
			       s->net->n_params * sizeof(float));
			if (s->pers[cl])
				mcai_pers_copy_personal(&s->split, s->pers[cl],
							model);
		} else {
			memcpy(model, s->pers[cl] ? s->pers[cl] : s->global,
			       s->net->n_params * sizeof(float));
		}
		err = class_acc(s, model, pcorr, why, why_len);
		res->node_pers_acc[cl] = mcai_pers_weighted_acc(pcorr, total,
								 cnt, k);
	}
out:
	free(total);
	free(gcorr);
	free(pcorr);
	free(cnt);
	free(model);
	return err;
}

int mcai_fedsim_run(const struct mcai_fedsim_config *c,
		    const struct mcai_fedsim_data *d,
		    struct mcai_fedsim_result *res, mcai_fedsim_progress cb,
		    void *cb_ctx, char *why, size_t why_len)
{
	struct sim s = { .c = c, .d = d };
	u32 i, r, nbad, *perm;
	u64 rng;
	int err;

	err = mcai_fedsim_config_check(c, d, why, why_len);
	if (err)
		return err;
	err = mcai_fedsim_split(d->train_labels, d->train_count, d->classes,
				c->clients, c->alpha, c->min_shard, c->seed,
				&s.shard, &s.len);
	if (err)
		return mcai_why(err, why, why_len,
				err == -EINVAL ?
				"cannot split %u images over %u clients with at least %u each" :
				"out of memory", d->train_count, c->clients,
				c->min_shard);
	err = result_alloc(res, c->rounds);
	s.net = model_create(c, d);
	s.hostile = calloc(c->clients, sizeof(bool));
	s.dead = calloc(c->clients, sizeof(bool));
	s.gone = calloc(c->clients, sizeof(bool));
	s.avail = calloc(c->clients, sizeof(u32));
	s.sampled = calloc(c->clients, sizeof(u32));
	s.ids = calloc(c->clients, sizeof(u32));
	s.keep = calloc(c->clients, sizeof(bool));
	s.score = calloc(c->clients, sizeof(*s.score));
	s.norms = calloc(c->clients, sizeof(double));
	s.upd = calloc(c->clients, sizeof(float *));
	s.loss = calloc(c->clients, sizeof(float));
	s.resid = calloc(c->clients, sizeof(float *));
	s.adapt = (struct mcai_dp_adaptive){
		.clip = c->agg.clip_norm > 0 ? c->agg.clip_norm : 0.1,
		.quantile = c->clip_quantile, .lr = 0.2,
	};
	if (err || !s.net || !s.hostile || !s.dead || !s.gone || !s.avail ||
	    !s.sampled || !s.ids || !s.keep || !s.score || !s.norms || !s.upd ||
	    !s.loss || !s.resid)
		goto nomem;
	s.n_wire = (u32)s.net->n_params;
	if (c->personalise == MCAI_PERS_FEDPER) {
		/* the head unless told otherwise */
		const u32 mask = c->pers_mask ? c->pers_mask :
				 1u << (s.net->nl - 1);

		err = mcai_pers_split_init(&s.split, s.net->dim, s.net->nl + 1,
					   mask);
		if (err) {
			sim_free(&s);
			mcai_fedsim_result_free(res);
			return mcai_why(err, why, why_len,
					"personal layers 0x%x", mask);
		}
		s.n_wire = s.split.n_shared;
		s.gwire = malloc(s.n_wire * sizeof(float));
		if (!s.gwire)
			goto nomem;
	}
	if (c->personalise != MCAI_PERS_NONE) {
		s.pers = calloc(c->clients, sizeof(float *));
		s.pidx = malloc((size_t)d->train_count * sizeof(u32));
		if (!s.pers || !s.pidx)
			goto nomem;
	}
	s.global = malloc(s.net->n_params * sizeof(float));
	s.init = malloc(s.net->n_params * sizeof(float));
	s.scratch = malloc(s.net->n_params * sizeof(float));
	s.wire = malloc(mcai_comp_size(&c->comp, s.n_wire));
	res->n_params = (u32)s.net->n_params;
	res->n_wire = s.n_wire;
	if (!s.global || !s.init || !s.scratch || !s.wire)
		goto nomem;
	mcai_mlp_get_params(s.net, s.global);
	memcpy(s.init, s.global, s.net->n_params * sizeof(float));
	if (c->anomaly && c->acfg.quarantine_flags) {
		s.q = mcai_quarantine_create(c->clients, c->acfg.quarantine_flags,
					     c->acfg.window);
		if (!s.q)
			goto nomem;
	}
	if (mcai_agg_kind_has_state(c->agg.kind)) {
		struct mcai_agg_config ac = c->agg;

		if (c->clip != MCAI_CLIP_FIXED)
			ac.clip_norm = 0;
		s.adam = mcai_agg_create(&ac, s.n_wire, why, why_len);
		if (!s.adam)
			goto nomem;
	}

	/* The hostile clients, drawn once. */
	perm = s.ids;
	for (i = 0; i < c->clients; i++)
		perm[i] = i;
	rng = stream(c->seed, S_HOSTILE, 0, 0);
	nbad = c->attack == MCAI_ATTACK_NONE ? 0 :
		pick(perm, c->clients, c->malicious, &rng);
	for (i = 0; i < nbad; i++)
		s.hostile[perm[i]] = true;
	res->n_malicious = nbad;
	res->shard_min = U32_MAX;
	for (i = 0; i < c->clients; i++) {
		if (s.len[i] < res->shard_min)
			res->shard_min = s.len[i];
		if (s.len[i] > res->shard_max)
			res->shard_max = s.len[i];
	}

	for (r = 1; r <= c->rounds; r++) {
		struct mcai_fedsim_round *rr = &res->rounds[r - 1];
		double t0 = now();

		rr->round = r;
		rr->int8_acc = rr->float_acc = NAN;
		err = run_round(&s, r, rr, why, why_len);
		if (!err && eval_round(c, r)) {
			mcai_mlp_set_params(s.net, s.global);
			err = evaluate(s.net, c, d, r, rr, &res->blob_bytes, why,
				       why_len);
		}
		if (err)
			break;
		rr->secs = now() - t0;
		if (cb)
			cb(cb_ctx, rr);
	}
	if (!err) {
		/* a fingerprint of the final global model, for comparisons */
		res->global_norm = mcai_l2_norm(s.global,
						(u32)s.net->n_params);
	}
	if (!err && (c->node_eval || c->personalise != MCAI_PERS_NONE))
		err = node_eval(&s, res, why, why_len);
	sim_free(&s);
	if (err)
		mcai_fedsim_result_free(res);
	return err;
nomem:
	sim_free(&s);
	mcai_fedsim_result_free(res);
	return mcai_why(-ENOMEM, why, why_len, "out of memory");
}

int mcai_fedsim_central(const struct mcai_fedsim_config *c,
			const struct mcai_fedsim_data *d,
			struct mcai_fedsim_result *res,
			mcai_fedsim_progress cb, void *cb_ctx, char *why,
			size_t why_len)
{
	const struct source src = { d, false, false };
	const struct mcai_mlp_data data = { get_sample, (void *)&src };
	const struct mcai_mlp_opt opt = {
		.momentum = c->momentum, .weight_decay = c->weight_decay,
	};
	const u64 per_round = (u64)llround((double)c->fraction *
					   d->train_count * c->local_epochs);
	struct mcai_mlp_sched sched = { .lr = c->lr };
	struct mcai_mlp *net;
	u32 *order, pos, r, i;
	u64 rng = stream(c->seed, S_CENTRAL, 0, 0);
	int err;

	err = mcai_fedsim_config_check(c, d, why, why_len);
	if (err)
		return err;
	if (result_alloc(res, c->rounds))
		return mcai_why(-ENOMEM, why, why_len, "out of memory");
	net = model_create(c, d);
	order = malloc(d->train_count * sizeof(u32));
	if (!net || !order) {
		mcai_mlp_free(net);
		free(order);
		mcai_fedsim_result_free(res);
		return mcai_why(-ENOMEM, why, why_len, "out of memory");
	}
	for (i = 0; i < d->train_count; i++)
		order[i] = i;
	/* Cosine decay over the whole run, as the clients' over the rounds. */
	sched.total = (per_round * c->rounds + c->batch - 1) / c->batch;
	res->shard_min = res->shard_max = d->train_count;
	pos = d->train_count;
	for (r = 1; r <= c->rounds && !err; r++) {
		struct mcai_fedsim_round *rr = &res->rounds[r - 1];
		u64 left = per_round ? per_round : 1;
		double t0 = now();

		rr->round = r;
		rr->sampled = rr->answered = 1;
		rr->int8_acc = rr->float_acc = NAN;
		while (left) {
			u32 len;

			if (pos == d->train_count) {
				shuffle(order, d->train_count, &rng);
				pos = 0;
			}
			len = c->batch;
			if (len > left)
				len = (u32)left;
			if (len > d->train_count - pos)
				len = d->train_count - pos;
			mcai_mlp_train_batch(net, &opt, &sched, &data,
					     order + pos, len, NULL);
			pos += len;
			left -= len;
			rr->samples += len;
		}
		rr->applied = true;
		rr->used = 1;
		if (eval_round(c, r))
			err = evaluate(net, c, d, r, rr, &res->blob_bytes, why,
				       why_len);
		rr->secs = now() - t0;
		if (!err && cb)
			cb(cb_ctx, rr);
	}
	mcai_mlp_free(net);
	free(order);
	if (err)
		mcai_fedsim_result_free(res);
	return err;
}
