// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid, role node: see runtime/daemon/node.h.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "models/train/mlp.h"
#include "models/train/quant.h"
#include "models/engine/sha256.h"
#include "models/engine/verify.h"
#include "runtime/lib/device.h"
#include "runtime/fed/compress.h"
#include "runtime/fed/dp.h"
#include "runtime/fed/fedmlp.h"
#include "runtime/lib/log.h"
#include "runtime/fed/net.h"
#include "runtime/daemon/escalate.h"
#include "runtime/daemon/node.h"
#include "runtime/daemon/nodepers.h"
#include "runtime/fed/provenance.h"
#include "runtime/fed/samples.h"
#include "runtime/fed/secagg.h"
#include "runtime/fed/stream.h"
#include "runtime/fed/tls.h"

#include <openssl/x509.h>

/* ------------------------------------------------------------------ */
/* Data and shape, shared with the aggregator                          */
/* ------------------------------------------------------------------ */

uint64_t mcai_fed_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* DIR/NAME.gz, else DIR/NAME (Debian ships the .gz ones). */
static void mcai_fed_path(char *buf, size_t len, const char *dir,
			  const char *name)
{
	snprintf(buf, len, "%s/%s.gz", dir, name);
	if (access(buf, R_OK) == 0)
		return;
	snprintf(buf, len, "%s/%s", dir, name);
	if (access(buf, R_OK) == 0)
		return;
	snprintf(buf, len, "%s/%s.gz", dir, name);
}

int mcai_fed_load_split(struct mcai_dataset *d, const char *dir,
			const char *split, char *err, size_t errlen)
{
	char img[1200], lab[1200], name[64];
	u32 i;

	if (!dir || !dir[0])
		dir = MCAI_FMNIST_DIR;
	snprintf(name, sizeof(name), "%s-images-idx3-ubyte", split);
	mcai_fed_path(img, sizeof(img), dir, name);
	snprintf(name, sizeof(name), "%s-labels-idx1-ubyte", split);
	mcai_fed_path(lab, sizeof(lab), dir, name);
	if (mcai_dataset_load(d, img, lab, err, errlen))
		return -1;
	if (d->rows * d->cols != MCAI_FED_INPUTS) {
		snprintf(err, errlen, "%s: images are %ux%u, expected 28x28",
			 img, d->rows, d->cols);
		mcai_dataset_free(d);
		return -1;
	}
	for (i = 0; i < d->count; i++) {
		if (d->labels[i] >= MCAI_FED_CLASSES) {
			snprintf(err, errlen, "%s: label %u of item %u", lab,
				 d->labels[i], i);
			mcai_dataset_free(d);
			return -1;
		}
	}
	return 0;
}

void mcai_fed_get_image(void *ctx, u32 index, float *x, u32 *label)
{
	const struct mcai_dataset *d = ctx;
	const u8 *px = d->images + (size_t)index * MCAI_FED_INPUTS;
	u32 i;

	for (i = 0; i < MCAI_FED_INPUTS; i++)
		x[i] = px[i] / 255.0f;
	*label = d->labels[index];
}

/* ------------------------------------------------------------------ */
/* Shards                                                               */
/* ------------------------------------------------------------------ */

int mcai_shard_parse(const char *s, struct mcai_shard_spec *out, char *err,
		     size_t errlen)
{
	char buf[256], *tok, *save = NULL, *end;
	bool have_kn = false;

	memset(out, 0, sizeof(*out));
	out->n = 1;
	out->seed = 1;
	if (!s)
		return 0;
	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	for (tok = strtok_r(buf, " ,\t", &save); tok;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		unsigned long a, b;

		if (!strcmp(tok, "iid")) {
			out->dirichlet = false;
		} else if (!strncmp(tok, "dirichlet:", 10)) {
			out->alpha = strtod(tok + 10, &end);
			if (*end || !(out->alpha > 0.0 && out->alpha <= 1e6))
				goto bad;
			out->dirichlet = true;
		} else if (!strncmp(tok, "seed=", 5)) {
			out->seed = strtoull(tok + 5, &end, 10);
			if (*end || end == tok + 5)
				goto bad;
		} else if (!strncmp(tok, "limit=", 6)) {
			a = strtoul(tok + 6, &end, 10);
			if (*end || end == tok + 6 || !a || a > UINT32_MAX)
				goto bad;
			out->limit = (u32)a;
		} else {
			a = strtoul(tok, &end, 10);
			if (end == tok || *end != '/')
				goto bad;
			b = strtoul(end + 1, &end, 10);
			if (*end || !b || b > 100000 || a >= b)
				goto bad;
			out->k = (u32)a;
			out->n = (u32)b;
			have_kn = true;
		}
	}
	if (!have_kn)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen,
		 "bad shard spec '%s': want \"K/N [iid|dirichlet:A] [seed=S] [limit=L]\"",
		 s);
	return -EINVAL;
}

/* Normal deviate (Box-Muller), for the gamma sampler. */
static double mcai_shard_normal(u64 *rng)
{
	/* randf is in [0, 1) on a 2^-24 grid: shift into (0, 1) for log. */
	double u1 = mcai_mlp_randf(rng) + 1.0 / 33554432.0;
	double u2 = mcai_mlp_randf(rng);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Gamma(a, 1): Marsaglia and Tsang, boosted for a < 1. */
static double mcai_shard_gamma(double a, u64 *rng)
{
	double d, c, x, v, u, boost = 1.0;

	if (a < 1.0) {
		u = mcai_mlp_randf(rng);
		boost = pow(u > 0.0 ? u : 1e-12, 1.0 / a);
		a += 1.0;
	}
	d = a - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		do {
			x = mcai_shard_normal(rng);
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		u = mcai_mlp_randf(rng);
		if (u < 1.0 - 0.0331 * x * x * x * x)
			break;
		if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			break;
	}
	return boost * d * v;
}

static void mcai_shard_shuffle(u32 *v, u32 n, u64 *rng)
{
	u32 i, j, t;

	for (i = n; i > 1; i--) {
		j = mcai_mlp_below(rng, i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

int mcai_shard_indices(const struct mcai_dataset *d,
		       const struct mcai_shard_spec *s, u32 **idx, u32 *count)
{
	u32 total = s->limit && s->limit < d->count ? s->limit : d->count;
	u64 rng = s->seed * 0x9e3779b97f4a7c15ULL + 0x5eed;
	u32 *all, *out, n_out = 0, i, c;

	*idx = NULL;
	*count = 0;
	all = calloc(total ? total : 1, sizeof(*all));
	out = calloc(total ? total : 1, sizeof(*out));
	if (!all || !out) {
		free(all);
		free(out);
		return -ENOMEM;
	}
	if (!s->dirichlet) {
		u32 lo = (u32)((u64)total * s->k / s->n);
		u32 hi = (u32)((u64)total * (s->k + 1) / s->n);

		for (i = 0; i < total; i++)
			all[i] = i;
		mcai_shard_shuffle(all, total, &rng);
		for (i = lo; i < hi; i++)
			out[n_out++] = all[i];
		goto done;
	}
	/*
	 * Per class: shuffle its images, draw the N shards' proportions
	 * from Dirichlet(alpha) and give shard k its slice.  Every node
	 * draws the same numbers in the same order, so the slices of all
	 * nodes partition the class exactly.
	 */
	for (c = 0; c < MCAI_FED_CLASSES; c++) {
		double p, sum = 0.0, acc = 0.0;
		double *g = calloc(s->n, sizeof(*g));
		u32 m = 0, lo = 0, hi = 0, j;

		if (!g) {
			free(all);
			free(out);
			return -ENOMEM;
		}
		for (i = 0; i < total; i++)
			if (d->labels[i] == c)
				all[m++] = i;
		mcai_shard_shuffle(all, m, &rng);
		for (j = 0; j < s->n; j++) {
			g[j] = mcai_shard_gamma(s->alpha, &rng);
			sum += g[j];
		}
		for (j = 0; j <= s->k; j++) {
			p = sum > 0.0 ? g[j] / sum : 1.0 / s->n;
			lo = hi;
			acc += p;
			hi = j == s->n - 1 ? m : (u32)fmin((double)m, acc * m);
		}
		for (i = lo; i < hi; i++)
			out[n_out++] = all[i];
		free(g);
	}
done:
	free(all);
	*idx = out;
	*count = n_out;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The node                                                             */
/* ------------------------------------------------------------------ */

struct mcai_fednode {
	struct mcai_fednode_opts o;
	struct mcai_dataset data;	/* a data directory's 28x28 images */
	struct mcai_samples_vecs vecs;	/* or the store's samples, any shape */
	struct mcai_fedmlp_data fdata;	/* their getter */
	u32 *idx, count;
	u32 declared;			/* n_samples of our HELLO */
	u64 rng;
	struct mcai_samples *samples;	/* the mirror's store, o.samples_dir */

	struct mcai_mlp *net;
	struct mcai_fedmlp_shape shape;	/* of @net, from the blob */
	float *base;			/* params of @version */
	float *delta;
	float *resid;			/* compression's error feedback */
	u8 *wire;			/* a compressed delta */
	u32 n_params;
	uint32_t version;

	struct mcai_dev dev;
	bool have_dev;
	uint32_t installed;		/* version in /dev/mcai, 0 none */

	/* Provenance: NULL trust only with provenance.allow_unsigned. */
	struct mcai_prov_trust *trust;
	char history[MCAI_CONFIG_PATH_MAX];
	struct mcai_prov_current cur;	/* newest accepted, from history */

	struct mcai_peer *peer;
	bool welcomed;
	struct mcai_buf held;		/* a delayed UPDATE frame */
	/*
	 * The last UPDATE computed, for round sent_round on version
	 * sent_base with the ROUND flags sent_flags: an aggregator that
	 * asks again for the same round (it restarted mid-round, or we
	 * reconnected) gets these same bytes, not a second training run
	 * (with DP, fresh noise over the same data would be a second
	 * release; with compression, the residual is already advanced).
	 */
	struct mcai_buf sent;
	uint64_t sent_round;
	uint32_t sent_base, sent_flags;
	/*
	 * Local training runs in slices from the tick, not in one call:
	 * between slices the loop sends PROGRESS heartbeats and keepalives
	 * and reads what comes, so a slow gateway whose training outlasts
	 * the idle timeout stays connected and in the round.  tr is the
	 * ROUND it trains for; tr_epoch, tr_pos where it is; tr_done of
	 * tr_total batches.
	 */
	/*
	 * A model streamed in parts (stream.h): what is held survives a lost
	 * connection and is resumed.  A ROUND on the version being streamed
	 * waits in pend until it is complete.  resume_due: when the next
	 * MODEL_RESUME goes (--part-pace), 0 none pending.
	 */
	struct mcai_stream_rx srx;
	bool srx_resume;		/* reconnected since the last part */
	struct mcai_msg_round pend;
	bool have_pend;
	uint64_t resume_due;
	bool training;
	struct mcai_msg_round tr;
	struct mcai_mlp_opt tr_opt;
	struct mcai_mlp_sched tr_sched;
	struct mcai_mlp_stats tr_st;
	u32 tr_epoch, tr_pos, tr_done, tr_total;
	uint64_t tr_t0, tr_next_progress, tr_next_batch;
	struct mcai_dp_rng dp_rng;	/* distributed DP noise, from the kernel */

	/*
	 * Secure aggregation: this round's state machine, the vector that
	 * goes into the sum (delta, weight, loss), and the bytes of each
	 * message kind sent and received (the wire cost).
	 */
	struct mcai_secagg_node *sa;
	uint64_t sa_round;
	uint32_t sa_id;
	float *sa_x;
	u32 sa_dim;
	u32 *sa_w;			/* int8 rounds: sa_x in Z_{2^16} */
	bool sa_ring16;			/* this round's is (SA_COMPRESS) */
	/* by mcai_fednode_sa_slot(): ADVERT .. UNMASK, CONSIST_REQ, CONSIST */
	uint64_t sa_bytes[MCAI_MSG_SA_UNMASK - MCAI_MSG_SA_ADVERT + 3];
	bool sa_signed;			/* this round's is signed */
	uint64_t held_until;
	u32 rounds;
	/* The training images file as loaded: a new one is read again. */
	struct stat data_st;
	/* personal.mode (nodepers.h); NULL when off */
	struct mcai_nodepers *pers;
	bool pers_ok;			/* personal.layers fit the model */
};

/*
 * Keep only the shard: a node holds its own samples, not the whole split
 * (47 MB per process otherwise, which twenty nodes on one machine feel).
 */
static int mcai_fednode_compact(struct mcai_fednode *n)
{
	u8 *img = malloc((size_t)n->count * MCAI_FED_INPUTS);
	u8 *lab = malloc(n->count);
	u32 i;

	if (!img || !lab) {
		free(img);
		free(lab);
		return -ENOMEM;
	}
	for (i = 0; i < n->count; i++) {
		memcpy(img + (size_t)i * MCAI_FED_INPUTS,
		       n->data.images + (size_t)n->idx[i] * MCAI_FED_INPUTS,
		       MCAI_FED_INPUTS);
		lab[i] = n->data.labels[n->idx[i]];
		n->idx[i] = i;
	}
	mcai_dataset_free(&n->data);
	n->data.images = img;
	n->data.labels = lab;
	n->data.count = n->count;
	n->data.rows = 28;
	n->data.cols = 28;
	return 0;
}

/* The training images file of the data directory, as loaded. */
static void mcai_fednode_data_path(const struct mcai_fednode *n, char *buf,
				   size_t len)
{
	mcai_fed_path(buf, len, n->o.data_dir && n->o.data_dir[0] ?
		      n->o.data_dir : MCAI_FMNIST_DIR,
		      "train-images-idx3-ubyte");
}

/*
 * The shard of the data directory's training split as the training set;
 * on failure the set loaded before (if any) stays.
 */
static int mcai_fednode_load_shard(struct mcai_fednode *n,
				   const struct mcai_shard_spec *spec)
{
	struct mcai_dataset old = n->data;
	u32 *old_idx = n->idx, old_count = n->count;
	u32 hist[MCAI_FED_CLASSES] = { 0 }, i;
	char err[512], h[128], path[1200];
	struct stat st;
	int len = 0, r;

	mcai_fednode_data_path(n, path, sizeof(path));
	if (stat(path, &st))
		memset(&st, 0, sizeof(st));
	memset(&n->data, 0, sizeof(n->data));
	n->idx = NULL;
	if (mcai_fed_load_split(&n->data, n->o.data_dir, "train", err,
				sizeof(err))) {
		mcai_err("training data: %s", err);
		r = -ENOENT;
		goto restore;
	}
	r = mcai_shard_indices(&n->data, spec, &n->idx, &n->count);
	if (r || !n->count) {
		mcai_err("shard '%s' of %u images: %s",
			 n->o.shard ? n->o.shard : "0/1", n->data.count,
			 r ? strerror(-r) : "empty");
		r = r ? r : -ENODATA;
		goto restore;
	}
	for (i = 0; i < n->count; i++)
		hist[n->data.labels[n->idx[i]]]++;
	for (i = 0; i < MCAI_FED_CLASSES; i++)
		len += snprintf(h + len, sizeof(h) - (size_t)len, "%s%u",
				i ? " " : "", hist[i]);
	mcai_info("local data: shard '%s', %u samples, per class [%s]",
		  n->o.shard ? n->o.shard : "0/1", n->count, h);
	r = mcai_fednode_compact(n);
	if (r)
		goto restore;
	mcai_dataset_free(&old);
	free(old_idx);
	n->data_st = st;
	return 0;
restore:
	mcai_dataset_free(&n->data);
	free(n->idx);
	n->data = old;
	n->idx = old_idx;
	n->count = old_count;
	return r;
}

/*
 * A data directory whose training file was replaced (a collector
 * refreshing the gateway's data with what the machine does now) is read
 * again before the round trains, so the round learns the new regime.
 */
static void mcai_fednode_maybe_reload(struct mcai_fednode *n)
{
	struct mcai_shard_spec spec;
	char path[1200], err[256];
	struct stat st;

	mcai_fednode_data_path(n, path, sizeof(path));
	if (stat(path, &st) || (st.st_ino == n->data_st.st_ino &&
				st.st_dev == n->data_st.st_dev &&
				st.st_size == n->data_st.st_size &&
				st.st_mtim.tv_sec == n->data_st.st_mtim.tv_sec &&
				st.st_mtim.tv_nsec == n->data_st.st_mtim.tv_nsec))
		return;
	if (mcai_shard_parse(n->o.shard ? n->o.shard : "0/1", &spec, err,
			     sizeof(err)))
		return;
	mcai_info("local data: %s changed, reading it again", path);
	if (mcai_fednode_load_shard(n, &spec))
		mcai_warn("local data: kept the %u samples loaded before",
			  n->count);
}

/*
 * The labelled samples of the store as the training set, all of them (no
 * shard: they are this node's own): those of the model's input length
 * whose label it takes, as int8 vectors in its input quantisation
 * (runtime/fed/fedmlp.h).  Before the first model says its shape, every
 * labelled sample is counted, for HELLO; none is loaded.  None labelled
 * yet is not an error: the node joins and sits rounds out until the
 * operator (or the bigger model, escalate.*) labels some.
 */
static int mcai_fednode_load_samples(struct mcai_fednode *n)
{
	struct mcai_samples_vecs v = { 0 };
	struct mcai_samples_sel sel = { 0 };
	char err[512];
	u32 *idx = NULL, i, skipped = 0;
	int r;

	if (!n->net) {
		struct mcai_samples_stats ss;
		struct mcai_samples *st;

		r = mcai_samples_open(&st, n->o.samples_dir, NULL, err,
				      sizeof(err));
		if (r) {
			mcai_err("sample store: %s", err);
			return r;
		}
		mcai_samples_get_stats(st, &ss);
		mcai_samples_close(st);
		n->count = ss.labelled > UINT32_MAX ? UINT32_MAX :
			   (u32)ss.labelled;
		return 0;
	}
	sel.len = n->shape.dim[0];
	/* a threshold model takes any class: 0 is its negative */
	sel.classes = n->shape.head == MCAI_MLP_SIGMOID ?
		      MCAI_SAMPLES_MAX_CLASS + 1 : n->shape.classes;
	r = mcai_samples_node_vectors(&v, n->o.samples_dir, &sel, &skipped,
				      err, sizeof(err));
	if (r && r != -ENODATA) {
		mcai_err("sample store: %s", err);
		return r;
	}
	if (skipped)
		mcai_dbg("sample store: %u labelled samples of another length or class left out",
			 skipped);
	if (!r) {
		idx = malloc((size_t)v.count * sizeof(*idx));
		if (!idx) {
			mcai_samples_vectors_free(&v);
			return -ENOMEM;
		}
		for (i = 0; i < v.count; i++)
			idx[i] = i;
	}
	mcai_samples_vectors_free(&n->vecs);
	free(n->idx);
	n->vecs = v;
	n->idx = idx;
	n->count = r ? 0 : v.count;
	mcai_fedmlp_data_init(&n->fdata, &n->shape, v.inputs, v.labels,
			      n->count);
	return 0;
}

/*
 * An update weighs what the HELLO declared at most: a store that grew
 * since then trains on everything but does not buy a bigger share (the
 * aggregator would refuse it); the next connection declares the new count.
 */
static u32 mcai_fednode_weight(const struct mcai_fednode *n)
{
	return n->count < n->declared ? n->count : n->declared;
}

/*
 * Trust store and history, before any model can arrive.  Without a trust
 * store the node refuses to start unless unsigned models were allowed in
 * so many words: a missing key must not quietly turn the check off.
 */
static int mcai_fednode_prov_init(struct mcai_fednode *n,
				  const struct mcai_config *c)
{
	char err[MCAI_PROV_ERR_MAX];
	int r;

	snprintf(n->cur.name, sizeof(n->cur.name), "%s", n->o.model);
	if (!c->trust[0]) {
		if (!c->allow_unsigned) {
			mcai_err("no provenance.trust (trusted signer keys): refusing to run as a node; set provenance.allow_unsigned = yes to install unsigned models (lab only)");
			return -EPERM;
		}
		mcai_warn("*** provenance.allow_unsigned = yes: models are installed WITHOUT any signature check; never do this outside a lab ***");
		return 0;
	}
	r = mcai_prov_trust_load(&n->trust, c->trust, err, sizeof(err));
	if (r) {
		mcai_err("provenance.trust: %s", err);
		return r;
	}
	snprintf(n->history, sizeof(n->history), "%s", c->history_dir);
	if (mkdir(n->history, 0700) && errno != EEXIST) {
		r = -errno;
		mcai_err("provenance.history %s: %s", n->history, strerror(-r));
		return r;
	}
	r = mcai_prov_history_current(n->history, n->o.model, &n->cur, err,
				      sizeof(err));
	if (r) {
		/* A corrupt history cannot say what rollback means. */
		mcai_err("provenance.history: %s", err);
		return r;
	}
	if (c->allow_unsigned)
		mcai_warn("provenance.allow_unsigned ignored: a trust store is configured");
	mcai_info("provenance: %zu trusted signer(s) from %s; history %s, installed version %u",
		  mcai_prov_trust_count(n->trust), c->trust, n->history,
		  n->cur.version);
	return 0;
}

int mcai_fednode_new(struct mcai_fednode **out,
		     const struct mcai_fednode_opts *o)
{
	struct mcai_shard_spec spec;
	struct mcai_fednode *n;
	char err[512];
	int r;

	*out = NULL;
	r = mcai_shard_parse(o->shard ? o->shard : "0/1", &spec, err,
			     sizeof(err));
	if (r) {
		mcai_err("%s", err);
		return r;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->o = *o;
	n->dev.fd = -1;
	mcai_buf_init(&n->held);
	mcai_buf_init(&n->sent);
	if (o->samples_dir && o->train_samples) {
		r = mcai_fednode_load_samples(n);
		if (r) {
			mcai_fednode_free(n);
			return r;
		}
		mcai_info("local data: %u labelled samples in the sample store %s%s",
			  n->count, o->samples_dir,
			  n->count ? "" : " (none yet: label mirrored samples with `mcaictl label`; rounds are sat out until then)");
		goto data_done;
	}
	r = mcai_fednode_load_shard(n, &spec);
	if (r) {
		mcai_fednode_free(n);
		return r;
	}
data_done:
	r = o->cfg ? mcai_fednode_prov_init(n, o->cfg) : -EINVAL;
	if (!o->cfg)
		mcai_err("node: no configuration for provenance");
	if (r) {
		mcai_fednode_free(n);
		return r;
	}
	r = o->cfg ? mcai_nodepers_new(&n->pers, o->cfg) : 0;
	if (r) {
		mcai_fednode_free(n);
		return r;
	}
	n->rng = spec.seed ^ ((u64)spec.k << 32) ^ 0xda7a;
	/* Noise an attacker could predict would protect nothing. */
	r = mcai_dp_rng_init_os(&n->dp_rng);
	if (r) {
		mcai_err("noise source: %s", strerror(-r));
		mcai_fednode_free(n);
		return r;
	}
	if (o->dev_fd >= 0) {
		n->dev.fd = o->dev_fd;
		snprintf(n->dev.path, sizeof(n->dev.path), "%s",
			 MCAI_DEVICE_DEFAULT);
		n->have_dev = true;
	}
	*out = n;
	return 0;
}

void mcai_fednode_free(struct mcai_fednode *n)
{
	if (!n)
		return;
	mcai_samples_close(n->samples);
	mcai_dataset_free(&n->data);
	mcai_samples_vectors_free(&n->vecs);
	free(n->idx);
	mcai_mlp_free(n->net);
	free(n->base);
	free(n->delta);
	free(n->resid);
	free(n->wire);
	mcai_buf_free(&n->held);
	mcai_buf_free(&n->sent);
	mcai_stream_rx_reset(&n->srx);
	mcai_secagg_node_free(n->sa);
	free(n->sa_x);
	free(n->sa_w);
	mcai_prov_trust_free(n->trust);
	mcai_nodepers_free(n->pers);
	/* dev.fd belongs to the daemon, which closes it. */
	free(n);
}

uint32_t mcai_fednode_version(const struct mcai_fednode *n)
{
	return n->version;
}

void mcai_fednode_connected(struct mcai_fednode *n, struct mcai_peer *p)
{
	struct mcai_msg m = { .type = MCAI_MSG_HELLO };

	n->peer = p;
	n->welcomed = false;
	/* Declare what the store holds now, not what it held at start. */
	if (n->o.train_samples && !n->training)
		mcai_fednode_load_samples(n);
	snprintf(m.u.hello.node_id, sizeof(m.u.hello.node_id), "%s",
		 n->o.node_id);
	m.u.hello.role = MCAI_ROLE_NODE;
	snprintf(m.u.hello.model, sizeof(m.u.hello.model), "%s", n->o.model);
	m.u.hello.model_version = n->version;
	m.u.hello.n_samples = n->count;
	n->declared = n->count;
	m.u.hello.caps = MCAI_CAP_FEDPROX | MCAI_CAP_STATS |
			 (n->o.no_progress ? 0 : MCAI_CAP_PROGRESS) |
			 MCAI_CAP_STREAM |
			 (n->o.no_compress ||
			  mcai_nodepers_kind(n->pers) == MCAI_PERS_FEDPER ?
			  0 : MCAI_CAP_COMPRESS | MCAI_CAP_SA_COMPRESS) |
			 (n->have_dev ? MCAI_CAP_KERNEL : 0) |
			 (n->o.tls ? MCAI_CAP_SA_SIGNED : 0);
	if (mcai_net_send_msg(p, &m, NULL))
		mcai_net_close(p, "cannot send HELLO");
}

void mcai_fednode_closed(struct mcai_fednode *n, struct mcai_peer *p)
{
	if (n->peer != p)
		return;
	n->peer = NULL;
	n->welcomed = false;
	/*
	 * A held update goes nowhere now; its copy in n->sent answers the
	 * same round if the aggregator asks again after we reconnect.
	 */
	mcai_buf_free(&n->held);
	n->held_until = 0;
	/* the stream held is asked for again on the next connection */
	n->srx_resume = n->srx.buf != NULL;
	n->resume_due = 0;
	n->have_pend = false;
}

/* MODEL_RESUME for the stream held: the bytes from n->srx.have on. */
static void mcai_fednode_ask_part(struct mcai_fednode *n)
{
	struct mcai_msg m = { .type = MCAI_MSG_MODEL_RESUME };

	n->resume_due = 0;
	if (!n->peer || !n->srx.buf)
		return;
	m.u.resume.version = n->srx.version;
	memcpy(m.u.resume.digest, n->srx.digest, sizeof(n->srx.digest));
	m.u.resume.offset = n->srx.have;
	if (mcai_net_send_msg(n->peer, &m, NULL))
		mcai_warn("model version %u: MODEL_RESUME not sent",
			  n->srx.version);
}

/* The flags that change what an UPDATE for a round looks like. */
#define MCAI_FEDNODE_SENT_FLAGS	(MCAI_ROUND_F_DP | MCAI_ROUND_F_COMPRESS)

/* Send @b now, or hold a copy of it (--answer-delay, --answer-hold). */
static int mcai_fednode_answer(struct mcai_fednode *n, struct mcai_peer *p,
			       uint64_t round, const struct mcai_buf *b)
{
	int ret;

	if (n->o.answer_delay_ms || n->o.answer_hold) {
		mcai_buf_reset(&n->held);
		mcai_buf_put(&n->held, b->data, b->len);
		if (n->held.err) {
			mcai_err("round %llu: cannot hold the UPDATE back",
				 (unsigned long long)round);
			mcai_buf_free(&n->held);
			return 0;
		}
		n->held_until = mcai_fed_now_ms() + n->o.answer_delay_ms;
		return 0;
	}
	ret = mcai_net_send_frame(p, b->data, b->len);
	if (ret)
		mcai_warn("round %llu: UPDATE not sent: %s",
			  (unsigned long long)round, strerror(-ret));
	return ret == -EPIPE ? -EPIPE : 0;
}

static int mcai_fednode_install(struct mcai_fednode *n,
				const struct mcai_msg_model *m)
{
	struct mcai_load_reply rep;
	int r;

	if (!n->have_dev || n->installed == m->version)
		return 0;
	/*
	 * A plain load: the kernel swaps the running version atomically
	 * and refuses a downgrade, which is what a replayed MODEL deserves.
	 */
	r = mcai_dev_load(&n->dev, m->blob, m->blob_len, 0, &rep);
	if (r) {
		mcai_warn("/dev/mcai: version %u not installed: %s", m->version,
			  mcai_dev_error(&n->dev));
		return r;
	}
	n->installed = m->version;
	mcai_info("/dev/mcai: model '%s' version %u installed (was %u)",
		  m->model, rep.version, rep.replaced_version);
	return 0;
}

/* The training data's getter: the store's vectors or the images. */
static struct mcai_mlp_data mcai_fednode_data(struct mcai_fednode *n)
{
	struct mcai_mlp_data d = { mcai_fed_get_image, &n->data };

	if (n->o.train_samples) {
		d.get = mcai_fedmlp_get;
		d.ctx = &n->fdata;
	}
	return d;
}

/* The training data for personalisation (nodepers.h). */
static void mcai_fednode_pers_data(struct mcai_fednode *n,
				   struct mcai_nodepers_data *pd)
{
	pd->d = mcai_fednode_data(n);
	pd->idx = n->idx;
	pd->count = n->count;
	pd->data_dir = n->o.data_dir && n->o.data_dir[0] ? n->o.data_dir :
		       MCAI_FMNIST_DIR;
	pd->images = !n->o.train_samples;
}

/*
 * The training set's statistics in the model's quantised input units
 * (what the module's drift statistics measure: the store's samples as
 * they are, images as pixel / 255 quantised with MCAI_FED_IN_SCALE and
 * MCAI_FED_IN_ZP) and its class histogram (a threshold model's: 0 and
 * 1), sent as DATASTATS before the UPDATE of a round that asks for them.
 */
static int mcai_fednode_send_stats(struct mcai_fednode *n,
				   struct mcai_peer *p, uint64_t round_id)
{
	const u32 nf = n->shape.dim[0], nc = n->shape.classes;
	const struct mcai_mlp_data data = mcai_fednode_data(n);
	struct mcai_msg m = { .type = MCAI_MSG_DATASTATS };
	struct mcai_msg_datastats *d = &m.u.datastats;
	double *s1 = calloc(nf, sizeof(double));
	double *s2 = calloc(nf, sizeof(double));
	float *mean = calloc(nf, sizeof(float));
	float *var = calloc(nf, sizeof(float));
	float *x = calloc(nf, sizeof(float));
	u32 i, j, label;
	int ret = -ENOMEM;

	if (nf > MCAI_PROV_STATS_MAX_FEATURES ||
	    nc > MCAI_PROV_STATS_MAX_CLASSES) {
		mcai_warn("round %llu: a model of %u inputs and %u classes: its statistics do not fit a manifest, not sent",
			  (unsigned long long)round_id, nf, nc);
		ret = 0;
		goto out;
	}
	if (!s1 || !s2 || !mean || !var || !x || !n->count)
		goto out;
	for (i = 0; i < n->count; i++) {
		const s8 *qs = n->o.train_samples ?
			       n->vecs.inputs + (size_t)n->idx[i] * nf : NULL;

		data.get(data.ctx, n->idx[i], x, &label);
		for (j = 0; j < nf; j++) {
			double q = qs ? qs[j] :
				   mcai_quantize(x[j], MCAI_FED_IN_SCALE,
						 MCAI_FED_IN_ZP);

			s1[j] += q;
			s2[j] += q * q;
		}
		if (label < nc)
			d->classes[label]++;
	}
	for (j = 0; j < nf; j++) {
		double mu = s1[j] / n->count, v = s2[j] / n->count - mu * mu;

		mean[j] = (float)mu + 0.0f;
		var[j] = v > 0 ? (float)v : 0.0f;
	}
	d->round_id = round_id;
	d->samples = n->count;
	d->n_features = nf;
	d->mean_f = mean;
	d->var_f = var;
	d->n_classes = nc;
	ret = mcai_net_send_msg(p, &m, NULL);
	if (ret)
		mcai_warn("round %llu: DATASTATS not sent: %s",
			  (unsigned long long)round_id, strerror(-ret));
	else
		mcai_dbg("round %llu: statistics of %u training samples sent",
			 (unsigned long long)round_id, n->count);
out:
	free(s1);
	free(s2);
	free(mean);
	free(var);
	free(x);
	return ret;
}

int mcai_fednode_drift(struct mcai_fednode *n, double score, double threshold)
{
	struct mcai_msg m = { .type = MCAI_MSG_DRIFT };
	int r;

	if (!n->peer || !n->welcomed)
		return -ENOTCONN;
	snprintf(m.u.drift.model, sizeof(m.u.drift.model), "%s", n->o.model);
	m.u.drift.version = n->installed ? n->installed : n->version;
	m.u.drift.score = (float)score;
	m.u.drift.threshold = (float)threshold;
	r = mcai_net_send_msg(n->peer, &m, NULL);
	if (r)
		mcai_warn("drift: round request not sent: %s", strerror(-r));
	else
		mcai_info("drift: round request sent (score %.3f)", score);
	return r;
}

/* ERROR to the aggregator: it stops offering us rounds of that version. */
static void mcai_fednode_refuse(struct mcai_peer *p, uint32_t version,
				const char *verdict)
{
	struct mcai_msg e = { .type = MCAI_MSG_ERROR };

	e.u.error.code = MCAI_ERR_MODEL;
	snprintf(e.u.error.message, sizeof(e.u.error.message),
		 "model version %u refused: %s", version, verdict);
	mcai_net_send_msg(p, &e, NULL);
}

/*
 * The signed manifest of @m against the trust store and what we
 * installed last: MCAI_PROV_OK (a new version), MCAI_PROV_CURRENT (the
 * one in our history again, after a restart: usable, not recorded
 * twice), anything else refused and logged.  The float master copy is
 * what the node trains on, so it must be the signed one too; and the
 * MODEL's own header must say what the manifest says.
 */
static int mcai_fednode_prov(struct mcai_fednode *n,
			     const struct mcai_msg_model *m,
			     struct mcai_prov_manifest *pm)
{
	char err[MCAI_PROV_ERR_MAX];
	uint8_t digest[MCAI_DIGEST_LEN];
	int v;

	v = mcai_prov_check(n->trust, &n->cur, m->manifest, m->manifest_len,
			    m->blob, m->blob_len, MCAI_PROV_MODEL, pm, err,
			    sizeof(err));
	if (v != MCAI_PROV_OK && v != MCAI_PROV_CURRENT) {
		mcai_err("MODEL version %u refused: %s: %s (staying on version %u)",
			 m->version, mcai_prov_verdict_name(v), err,
			 n->version);
		return v;
	}
	if (pm->version != m->version || pm->parent != m->parent) {
		mcai_err("MODEL version %u (parent %u) refused: %s: the signed manifest says version %u, parent %u",
			 m->version, m->parent,
			 mcai_prov_verdict_name(MCAI_PROV_MALFORMED),
			 pm->version, pm->parent);
		return MCAI_PROV_MALFORMED;
	}
	if (pm->n_params != m->params.n) {
		mcai_err("MODEL version %u refused: %s: %u parameters, %u signed",
			 m->version,
			 mcai_prov_verdict_name(MCAI_PROV_DIGEST_MISMATCH),
			 m->params.n, pm->n_params);
		return MCAI_PROV_DIGEST_MISMATCH;
	}
	/* The wire floats are little-endian already: hash them as sent. */
	mcai_sha256(m->params.n ? (const void *)m->params.le : "",
		    (size_t)m->params.n * 4, digest);
	if (pm->n_params && memcmp(digest, pm->params_sha256, sizeof(digest))) {
		mcai_err("MODEL version %u refused: %s: parameters differ from the signed ones",
			 m->version,
			 mcai_prov_verdict_name(MCAI_PROV_DIGEST_MISMATCH));
		return MCAI_PROV_DIGEST_MISMATCH;
	}
	return v;
}

static int mcai_fednode_model(struct mcai_fednode *n, struct mcai_peer *p,
			      const struct mcai_msg_model *m)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model mm;
	struct mcai_fedmlp_shape shape;
	struct mcai_prov_manifest pm;
	char err[MCAI_PROV_ERR_MAX] = "", desc[96];
	int prov = MCAI_PROV_UNSIGNED;

	if (m->version <= n->version && n->net) {
		mcai_dbg("MODEL version %u: already have %u", m->version,
			 n->version);
		return 0;
	}
	mcai_limits_default(&lim);
	if (!m->blob_len || mcai_verify(&mm, m->blob, m->blob_len, &lim, &v)) {
		mcai_err("MODEL version %u refused: blob %s (offset %u)",
			 m->version, m->blob_len ? v.reason : "missing",
			 m->blob_len ? v.offset : 0);
		mcai_net_close(p, "unverifiable model");
		return 0;
	}
	/* The blob says what network the floats are; they must agree. */
	if (mcai_fedmlp_shape_of(&shape, &mm, err, sizeof(err)) ||
	    mcai_fedmlp_n_params(&shape) != m->params.n) {
		if (!err[0] || mcai_fedmlp_n_params(&shape))
			snprintf(err, sizeof(err), "%u parameters for a %s",
				 m->params.n,
				 mcai_fedmlp_describe(&shape, desc,
						      sizeof(desc)));
		mcai_err("MODEL version %u refused: not a model this node can train: %s",
			 m->version, err);
		mcai_net_close(p, "unexpected model shape");
		return 0;
	}
	if (n->trust) {
		prov = mcai_fednode_prov(n, m, &pm);
		if (prov != MCAI_PROV_OK && prov != MCAI_PROV_CURRENT) {
			mcai_fednode_refuse(p, m->version,
					    mcai_prov_verdict_name(prov));
			return 0;
		}
	}
	if (n->training) {
		mcai_warn("round %llu: version %u arrived while training on version %u: that training is abandoned",
			  (unsigned long long)n->tr.round_id, m->version,
			  n->version);
		n->training = false;
	}
	if (!n->net || !mcai_fedmlp_same(&n->shape, &shape)) {
		mcai_mlp_free(n->net);
		free(n->base);
		free(n->delta);
		free(n->resid);
		free(n->wire);
		n->resid = NULL;
		n->wire = NULL;
		n->net = mcai_fedmlp_create(&shape);
		n->base = calloc(m->params.n, sizeof(float));
		n->delta = calloc(m->params.n, sizeof(float));
		n->n_params = m->params.n;
		if (!n->net || !n->base || !n->delta) {
			mcai_err("out of memory for a %u-parameter model",
				 m->params.n);
			mcai_net_close(p, "out of memory");
			return -ENOMEM;
		}
	}
	n->shape = shape;
	if (n->pers)
		n->pers_ok = !mcai_nodepers_shape(n->pers, &shape,
						  m->params.n);
	mcai_f32v_copy(&m->params, n->base);
	n->version = m->version;
	mcai_info("model '%s' version %u (round %llu, parent %u): %s, %u parameters, blob %u bytes verified, %s",
		  m->model, m->version, (unsigned long long)m->round_id,
		  m->parent, mcai_fedmlp_describe(&shape, desc, sizeof(desc)),
		  m->params.n, m->blob_len,
		  !n->trust ? "UNSIGNED (not checked)" :
		  prov == MCAI_PROV_CURRENT ? "signed, already in the history" :
		  "signed by a trusted key");
	/* personal.install = personal: the node's own version runs instead */
	if (!mcai_nodepers_installs(n->pers) && mcai_fednode_install(n, m))
		return 0;
	/* its personal version: built when no round trains (tick) */
	if (n->pers && n->pers_ok &&
	    mcai_nodepers_due(n->pers, m, &mm, shape.dim[0]))
		mcai_err("personal: version %u: out of memory", m->version);
	/* The version now running brings its training data's statistics. */
	if (prov == MCAI_PROV_OK && (pm.flags & MCAI_PROV_F_STATS) &&
	    n->o.on_stats)
		n->o.on_stats(n->o.arg, &pm);
	if (prov != MCAI_PROV_OK)
		return 0;
	/* Recorded only once installed: the history is what runs. */
	if (mcai_prov_history_append(n->history, m->manifest, m->manifest_len,
				     -1, 0, err, sizeof(err))) {
		mcai_err("provenance.history: version %u not recorded: %s",
			 m->version, err);
		return 0;
	}
	n->cur.version = pm.version;
	memcpy(n->cur.blob_sha256, pm.blob_sha256, MCAI_DIGEST_LEN);
	return 0;
}

_Static_assert(MCAI_PROTO_SA_HDR_LEN == MCAI_SECAGG_HDR_LEN,
	       "proto.h and secagg.h disagree on the secagg header");
_Static_assert(MCAI_SECAGG_CONSIST_REQ == 8 && MCAI_SECAGG_CONSIST == 9,
	       "proto.c's mcai_secagg_lib_type() and secagg.h disagree");

/* Index of a secure-aggregation frame type in sa_bytes. */
static unsigned int mcai_fednode_sa_slot(uint16_t type)
{
	if (type == MCAI_MSG_SA_CONSIST_REQ)
		return MCAI_MSG_SA_UNMASK - MCAI_MSG_SA_ADVERT + 1;
	if (type == MCAI_MSG_SA_CONSIST)
		return MCAI_MSG_SA_UNMASK - MCAI_MSG_SA_ADVERT + 2;
	return type - MCAI_MSG_SA_ADVERT;
}

/*
 * Signed rounds: the TLS key signs, its certificate goes along, the
 * fleet CA checks the neighbours'.
 */
static int mcai_fednode_sa_auth(struct mcai_fednode *n, char *why,
				size_t why_len)
{
	struct mcai_secagg_auth a = { 0 };
	X509 *cert = NULL;
	unsigned char *der = NULL;
	int len, r;

	if (mcai_tls_ctx_identity(n->o.tls, &a.key, &cert, &a.ca)) {
		snprintf(why, why_len, "no fleet key loaded");
		return -ENOENT;
	}
	len = i2d_X509(cert, &der);
	if (len <= 0) {
		snprintf(why, why_len, "cannot encode the fleet certificate");
		return -EIO;
	}
	a.cert = der;
	a.cert_len = (size_t)len;
	r = mcai_secagg_node_set_auth(n->sa, &a, why, why_len);
	OPENSSL_free(der);
	return r;
}

/* Frame @lib (a library message) as @type and send it, or hold it. */
static int mcai_fednode_sa_send(struct mcai_fednode *n, struct mcai_peer *p,
				uint16_t type, const struct mcai_buf *lib,
				bool hold)
{
	struct mcai_msg m = { .type = type };
	struct mcai_buf b;
	const char *why = NULL;
	int r;

	m.u.secagg.data = lib->data;
	m.u.secagg.len = (uint32_t)lib->len;
	mcai_buf_init(&b);
	r = mcai_msg_frame(&b, &m, &why);
	if (r) {
		mcai_err("cannot encode %s: %s", mcai_msg_type_name(type),
			 why ? why : strerror(-r));
		mcai_buf_free(&b);
		return r;
	}
	n->sa_bytes[mcai_fednode_sa_slot(type)] += b.len;
	if (hold) {
		mcai_buf_free(&n->held);
		n->held = b;
		n->held_until = mcai_fed_now_ms() + n->o.answer_delay_ms;
		mcai_info("round %llu: secure aggregation: %s held back %u ms",
			  (unsigned long long)n->sa_round,
			  mcai_msg_type_name(type), n->o.answer_delay_ms);
		return 0;
	}
	r = mcai_net_send_frame(p, b.data, b.len);
	mcai_buf_free(&b);
	if (r)
		mcai_warn("round %llu: %s not sent: %s",
			  (unsigned long long)n->sa_round,
			  mcai_msg_type_name(type), strerror(-r));
	else
		mcai_info("round %llu: secure aggregation: %s sent",
			  (unsigned long long)n->sa_round,
			  mcai_msg_type_name(type));
	return r;
}

/*
 * An int8 round under the masks (runtime/fed/compress.h, "With secure
 * aggregation"): n->sa_x into ring words, after DP's clip and noise like
 * any compression.  The update at the round's common scale range / 127,
 * stochastically rounded from the node's own RNG; weight and loss (each
 * within [0, 1] and [0, 16] once weighted) at finer levels that still
 * cannot wrap the ring over the round's nodes.  The integers' sum is
 * logged: the aggregator's unmasked sum must be exactly the nodes'.
 */
#define MCAI_FEDNODE_SA_LOSS_MAX	16.0f

static void mcai_fednode_sa_quantise(struct mcai_fednode *n,
				     const struct mcai_msg_round *r)
{
	const u32 np = n->n_params, lv = mcai_comp_sa_levels(r->sa_nodes);
	float side[2];
	u32 i, clamped;
	long long qsum = 0;

	clamped = mcai_comp_sa_encode(n->sa_x, np, r->sa_comp_range,
				      MCAI_COMP_SA_LEVELS, &n->rng, n->sa_w);
	side[0] = n->sa_x[np] > 1.0f ? 1.0f : n->sa_x[np];
	side[1] = n->sa_x[np + 1] > MCAI_FEDNODE_SA_LOSS_MAX ?
		  MCAI_FEDNODE_SA_LOSS_MAX : n->sa_x[np + 1];
	mcai_comp_sa_encode(&side[0], 1, 1.0f, lv, &n->rng, n->sa_w + np);
	mcai_comp_sa_encode(&side[1], 1, MCAI_FEDNODE_SA_LOSS_MAX, lv,
			    &n->rng, n->sa_w + np + 1);
	for (i = 0; i < np; i++)
		qsum += (s32)n->sa_w[i];
	mcai_info("round %llu: secure aggregation compressed: int8 of range %g in Z_2^%u, %u of %u coordinates clamped, integer sum %lld, weight %d of %u",
		  (unsigned long long)r->round_id, (double)r->sa_comp_range,
		  r->sa_comp_bits, clamped, np, qsum, (s32)n->sa_w[np], lv);
#ifdef MCAI_TEST_HOOKS
	/*
	 * Test builds only (mcaid-san): MCAI_TEST_SA_DUMP=DIR writes
	 * DIR/r<round>-n<secagg id>: f32 range, then the n_params + 2 floats
	 * before quantisation and their words, for tests/fed to check the
	 * aggregator's unmasked sum against.
	 */
	{
		const char *dir = getenv("MCAI_TEST_SA_DUMP");
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/r%llu-n%u", dir ? dir : "",
			 (unsigned long long)r->round_id, r->sa_id);
		f = dir ? fopen(path, "wb") : NULL;
		if (f) {
			fwrite(&r->sa_comp_range, sizeof(float), 1, f);
			fwrite(n->sa_x, sizeof(float), np + 2, f);
			fwrite(n->sa_w, sizeof(u32), np + 2, f);
			fclose(f);
		}
	}
#endif
}

/*
 * Start a round's secure aggregation with the trained @delta: the vector
 * of aggregator.c's MCAI_AGGR_SA_EXTRA layout, clamped to the fixed-point
 * range (the library would clamp anyway; counting says by how much).
 */
static int mcai_fednode_sa_begin(struct mcai_fednode *n, struct mcai_peer *p,
				 const struct mcai_msg_round *r, float loss)
{
	struct mcai_secagg_params sp;
	struct mcai_buf out;
	char why[256];
	u32 i, dim = n->n_params + 2, clamped = 0;
	double w;
	int ret;

	mcai_secagg_node_free(n->sa);
	n->sa = NULL;
	memset(n->sa_bytes, 0, sizeof(n->sa_bytes));
	if (n->sa_dim != dim) {
		free(n->sa_x);
		free(n->sa_w);
		n->sa_dim = 0;
		n->sa_x = calloc(dim, sizeof(float));
		n->sa_w = calloc(dim, sizeof(u32));
		if (!n->sa_x || !n->sa_w)
			return -ENOMEM;
		n->sa_dim = dim;
	}
	mcai_secagg_params_default(&sp, r->round_id, r->sa_nodes, dim);
	sp.threshold = r->sa_threshold;
	sp.degree = r->sa_degree;
	sp.scale_bits = r->sa_scale_bits;
	sp.clip = r->sa_clip;
	memcpy(sp.graph_seed, r->sa_graph_seed, sizeof(sp.graph_seed));
	n->sa_ring16 = r->flags & MCAI_ROUND_F_SA_COMPRESS;
	if (n->sa_ring16) {
		if (mcai_comp_sa_check(r->sa_nodes, r->sa_comp_bits,
				       r->sa_comp_range, why, sizeof(why))) {
			mcai_warn("round %llu: secure aggregation refused: %s",
				  (unsigned long long)r->round_id, why);
			return 0;
		}
		sp.ring_bits = MCAI_COMP_SA_BITS;
	}
	n->sa_signed = r->flags & MCAI_ROUND_F_SA_SIGNED;
	if (n->sa_signed)
		sp.flags |= MCAI_SECAGG_F_SIGNED;
	if (!n->sa_signed && n->o.cfg && n->o.cfg->secagg_require_signed) {
		mcai_warn("round %llu: secure aggregation refused: the round is not signed and privacy.secagg_require_signed is on",
			  (unsigned long long)r->round_id);
		return 0;
	}
	n->sa = mcai_secagg_node_new(&sp, r->sa_id, why, sizeof(why));
	if (n->sa && n->sa_signed && mcai_fednode_sa_auth(n, why, sizeof(why))) {
		mcai_secagg_node_free(n->sa);
		n->sa = NULL;
	}
	if (!n->sa) {
		mcai_warn("round %llu: secure aggregation refused: %s",
			  (unsigned long long)r->round_id, why);
		return 0;
	}
	n->sa_round = r->round_id;
	n->sa_id = r->sa_id;
	/* Weighted by samples in the sum; with DP every node weighs 1. */
	w = r->flags & MCAI_ROUND_F_DP ? 1.0 :
	    (double)mcai_fednode_weight(n) / (double)r->sa_weight_total;
	for (i = 0; i < n->n_params; i++)
		n->sa_x[i] = (float)(n->delta[i] * w);
	n->sa_x[n->n_params] = (float)w;
	n->sa_x[n->n_params + 1] = r->flags & MCAI_ROUND_F_DP ? 0.0f :
				   (float)(loss * w);
	if (n->sa_ring16) {
		mcai_fednode_sa_quantise(n, r);
		goto advertise;
	}
	for (i = 0; i < dim; i++) {
		if (n->sa_x[i] > sp.clip) {
			n->sa_x[i] = sp.clip;
			clamped++;
		} else if (n->sa_x[i] < -sp.clip) {
			n->sa_x[i] = -sp.clip;
			clamped++;
		}
	}
	if (clamped)
		mcai_warn("round %llu: %u coordinates clamped to the fixed-point range [-%g, %g]",
			  (unsigned long long)r->round_id, clamped,
			  (double)sp.clip, (double)sp.clip);
advertise:
	mcai_info("round %llu: secure aggregation as id %u of %u (threshold %u, %s%s), weight %.6g",
		  (unsigned long long)r->round_id, r->sa_id, r->sa_nodes,
		  r->sa_threshold, r->sa_degree ? "SecAgg+" : "complete graph",
		  n->sa_signed ? ", signed with the fleet certificate" : "",
		  w);
	mcai_buf_init(&out);
	ret = mcai_secagg_node_advertise(n->sa, &out, why, sizeof(why));
	if (ret)
		mcai_warn("round %llu: secure aggregation: %s",
			  (unsigned long long)r->round_id, why);
	else
		ret = mcai_fednode_sa_send(n, p, MCAI_MSG_SA_ADVERT, &out,
					   false);
	mcai_buf_free(&out);
	return ret == -EPIPE ? -EPIPE : 0;
}

/* KEYS, SHARES_FOR, UNMASK_REQ: the library's next step, and its answer. */
static int mcai_fednode_sa_step(struct mcai_fednode *n, struct mcai_peer *p,
				uint16_t type, const struct mcai_msg_secagg *sm)
{
	struct mcai_buf out;
	char why[256];
	uint16_t answer = type == MCAI_MSG_SA_CONSIST_REQ ? MCAI_MSG_SA_CONSIST :
			  (uint16_t)(type + 1);
	int r;

	if (type != MCAI_MSG_SA_KEYS && type != MCAI_MSG_SA_SHARES_FOR &&
	    type != MCAI_MSG_SA_UNMASK_REQ && type != MCAI_MSG_SA_CONSIST_REQ) {
		mcai_warn("aggregator sent %s, a node's message: ignored",
			  mcai_msg_type_name(type));
		return 0;
	}
	if (!n->sa || sm->round != n->sa_round || sm->node != n->sa_id) {
		mcai_warn("%s for round %llu, node %u: not ours (round %llu, id %u), ignored",
			  mcai_msg_type_name(type),
			  (unsigned long long)sm->round, sm->node,
			  (unsigned long long)n->sa_round, n->sa_id);
		return 0;
	}
	n->sa_bytes[mcai_fednode_sa_slot(type)] += MCAI_FRAME_HDR_LEN + 4 +
						   sm->len;
	mcai_buf_init(&out);
	if (type == MCAI_MSG_SA_KEYS)
		r = mcai_secagg_node_share_keys(n->sa, sm->data, sm->len, &out,
						why, sizeof(why));
	else if (type == MCAI_MSG_SA_SHARES_FOR)
		r = n->sa_ring16 ?
		    mcai_secagg_node_masked_words(n->sa, sm->data, sm->len,
						  n->sa_w, &out, why,
						  sizeof(why)) :
		    mcai_secagg_node_masked_input(n->sa, sm->data, sm->len,
						  n->sa_x, &out, why,
						  sizeof(why));
	else if (type == MCAI_MSG_SA_CONSIST_REQ)
		r = mcai_secagg_node_confirm(n->sa, sm->data, sm->len, &out,
					     why, sizeof(why));
	else
		r = mcai_secagg_node_unmask(n->sa, sm->data, sm->len, &out, why,
					    sizeof(why));
	if (r) {
		/* -EPERM: the request would expose a neighbour. */
		mcai_warn("round %llu: secure aggregation: %s refused: %s",
			  (unsigned long long)n->sa_round,
			  mcai_msg_type_name(type), why);
		mcai_buf_free(&out);
		return 0;
	}
	r = mcai_fednode_sa_send(n, p, answer, &out,
				 answer == MCAI_MSG_SA_MASKED &&
				 n->o.answer_delay_ms);
	mcai_buf_free(&out);
	if (!r && answer == MCAI_MSG_SA_UNMASK) {
		const uint64_t *b = n->sa_bytes;

		mcai_info("round %llu: secure aggregation wire cost: sent %llu bytes (ADVERT %llu, SHARES %llu, MASKED %llu, CONSIST %llu, UNMASK %llu), received %llu bytes (KEYS %llu, SHARES_FOR %llu, CONSIST_REQ %llu, UNMASK_REQ %llu); a plain UPDATE is %llu",
			  (unsigned long long)n->sa_round,
			  (unsigned long long)(b[0] + b[2] + b[4] + b[8] + b[6]),
			  (unsigned long long)b[0], (unsigned long long)b[2],
			  (unsigned long long)b[4], (unsigned long long)b[8],
			  (unsigned long long)b[6],
			  (unsigned long long)(b[1] + b[3] + b[7] + b[5]),
			  (unsigned long long)b[1], (unsigned long long)b[3],
			  (unsigned long long)b[7], (unsigned long long)b[5],
			  (unsigned long long)(MCAI_FRAME_HDR_LEN + 28 +
					       4ULL * n->n_params));
	}
	return r == -EPIPE ? -EPIPE : 0;
}

static int mcai_fednode_compress(struct mcai_fednode *n,
				 const struct mcai_msg_round *r,
				 struct mcai_msg *m);

static int mcai_fednode_finish(struct mcai_fednode *n);

/* A slice of at most this long: heartbeats go out between slices. */
#define MCAI_FEDNODE_SLICE_MS	500

/* PROGRESS, when the round asked for heartbeats and one is due. */
static void mcai_fednode_progress(struct mcai_fednode *n, uint64_t now)
{
	struct mcai_msg m = { .type = MCAI_MSG_PROGRESS };

	if (!(n->tr.flags & MCAI_ROUND_F_PROGRESS) || !n->peer ||
	    now < n->tr_next_progress)
		return;
	n->tr_next_progress = now + n->tr.progress_ms;
	m.u.progress.round_id = n->tr.round_id;
	m.u.progress.done = n->tr_done;
	m.u.progress.total = n->tr_total;
	if (mcai_net_send_msg(n->peer, &m, NULL))
		mcai_warn("round %llu: PROGRESS not sent",
			  (unsigned long long)n->tr.round_id);
}

/*
 * Batches until the slice is used up (or the next paced batch is not
 * due); the update goes out after the last one.  The same batches in the
 * same order as mcai_mlp_train_epoch(): shuffled at each epoch's start.
 */
static int mcai_fednode_train_slice(struct mcai_fednode *n)
{
	struct mcai_mlp_data data;
	uint64_t now = mcai_fed_now_ms(), end;
	u32 batch = n->tr.batch ? n->tr.batch : 1, len, i, j, t;

	if (!n->training)
		return 0;
	end = now + MCAI_FEDNODE_SLICE_MS;
	if ((n->tr.flags & MCAI_ROUND_F_PROGRESS) &&
	    n->tr.progress_ms / 2 < MCAI_FEDNODE_SLICE_MS)
		end = now + n->tr.progress_ms / 2;
	data = mcai_fednode_data(n);
	while (n->tr_epoch < n->tr.local_epochs && n->count) {
		if (n->o.train_pace_ms && now < n->tr_next_batch)
			break;
		if (!n->tr_pos)
			for (i = n->count; i > 1; i--) {	/* Fisher-Yates */
				j = mcai_mlp_below(&n->rng, i);
				t = n->idx[i - 1];
				n->idx[i - 1] = n->idx[j];
				n->idx[j] = t;
			}
		len = n->count - n->tr_pos < batch ? n->count - n->tr_pos :
						      batch;
		mcai_mlp_train_batch(n->net, &n->tr_opt, &n->tr_sched, &data,
				     n->idx + n->tr_pos, len, &n->tr_st);
		n->tr_pos += len;
		n->tr_done++;
		if (n->tr_pos >= n->count) {
			n->tr_pos = 0;
			n->tr_epoch++;
		}
		now = mcai_fed_now_ms();
		n->tr_next_batch = now + n->o.train_pace_ms;
		if (now >= end)
			break;
	}
	if (n->tr_epoch < n->tr.local_epochs && n->count) {
		mcai_fednode_progress(n, now);
		return 0;
	}
	n->training = false;
	return mcai_fednode_finish(n);
}

static int mcai_fednode_round(struct mcai_fednode *n, struct mcai_peer *p,
			      const struct mcai_msg_round *r)
{
	u32 batch = r->batch ? r->batch : 1;
	uint64_t total;

	if (strcmp(r->model, n->o.model)) {
		mcai_warn("round %llu is for model '%s', this node trains '%s': not taking part",
			  (unsigned long long)r->round_id, r->model, n->o.model);
		return 0;
	}
	if (n->srx.buf && r->base_version == n->srx.version &&
	    r->base_version != n->version) {
		mcai_info("round %llu: waits for version %u, %llu of %llu bytes streamed",
			  (unsigned long long)r->round_id, r->base_version,
			  (unsigned long long)n->srx.have,
			  (unsigned long long)n->srx.total);
		n->pend = *r;
		n->have_pend = true;
		return 0;
	}
	if (!n->net || r->base_version != n->version) {
		mcai_warn("round %llu: based on version %u, we hold %u: not taking part",
			  (unsigned long long)r->round_id, r->base_version,
			  n->version);
		return 0;
	}
	if (n->training) {
		if (r->round_id == n->tr.round_id &&
		    r->base_version == n->tr.base_version &&
		    r->flags == n->tr.flags) {
			mcai_info("round %llu: asked again while training for it (%u of %u batches): the update goes out when done",
				  (unsigned long long)r->round_id, n->tr_done,
				  n->tr_total);
			return 0;
		}
		mcai_warn("round %llu: training for round %llu abandoned",
			  (unsigned long long)r->round_id,
			  (unsigned long long)n->tr.round_id);
		n->training = false;
	}
	if (n->sent.len && r->round_id == n->sent_round &&
	    r->base_version == n->sent_base &&
	    (r->flags & MCAI_FEDNODE_SENT_FLAGS) == n->sent_flags &&
	    !(r->flags & MCAI_ROUND_F_SECAGG)) {
		mcai_info("round %llu: asked again (version %u): the update already computed for it, not trained again",
			  (unsigned long long)r->round_id, n->version);
		if (n->held.len)
			return 0;	/* still held: it goes out once */
		if ((r->flags & MCAI_ROUND_F_STATS) &&
		    mcai_fednode_send_stats(n, p, r->round_id) == -EPIPE)
			return -EPIPE;
		return mcai_fednode_answer(n, p, r->round_id, &n->sent);
	}
	if (n->held.len) {
		mcai_warn("round %llu: the previous update is still held back, dropped",
			  (unsigned long long)r->round_id);
		mcai_buf_free(&n->held);
	}
	if (!n->o.train_samples &&
	    (n->shape.dim[0] != MCAI_FED_INPUTS ||
	     n->shape.classes != MCAI_FED_CLASSES ||
	     n->shape.head != MCAI_MLP_SOFTMAX)) {
		mcai_warn("round %llu: the model takes %u inputs, the data directory holds 28x28 images of 10 classes: not taking part (train on the sample store instead)",
			  (unsigned long long)r->round_id, n->shape.dim[0]);
		return 0;
	}
	if (!n->o.train_samples)
		mcai_fednode_maybe_reload(n);
	if (n->o.train_samples) {
		/* What was labelled since the last round trains too. */
		if (mcai_fednode_load_samples(n))
			return 0;
		if (!n->count) {
			mcai_warn("round %llu: no labelled samples in %s yet (label them with `mcaictl label`): not taking part",
				  (unsigned long long)r->round_id,
				  n->o.samples_dir);
			return 0;
		}
	}
	if (mcai_nodepers_kind(n->pers) == MCAI_PERS_FEDPER &&
	    (!n->pers_ok ||
	     (r->flags & (MCAI_ROUND_F_SECAGG | MCAI_ROUND_F_COMPRESS)))) {
		mcai_warn("round %llu: personal.mode = fedper %s: not taking part",
			  (unsigned long long)r->round_id,
			  !n->pers_ok ? "and personal.layers do not fit the model" :
			  "cannot answer a secure-aggregation or compressed round (it sends the shared layers only)");
		return 0;
	}
	mcai_info("round %llu: training version %u on %u samples (%u epochs, batch %u, lr %g, mu %g)",
		  (unsigned long long)r->round_id, n->version, n->count,
		  r->local_epochs, r->batch, (double)r->lr,
		  (double)r->prox_mu);
	if (mcai_nodepers_kind(n->pers) == MCAI_PERS_FEDPER) {
		/* the global body with this node's own personal layers */
		mcai_nodepers_round_params(n->pers, n->base, n->delta);
		mcai_mlp_set_params(n->net, n->delta);
	} else {
		mcai_mlp_set_params(n->net, n->base);
	}
	mcai_mlp_reset_opt(n->net);
	memset(&n->tr_opt, 0, sizeof(n->tr_opt));
	n->tr_opt.momentum = n->o.momentum;
	if (r->prox_mu > 0.0f) {
		n->tr_opt.prox_mu = r->prox_mu;
		n->tr_opt.prox_ref = n->base;
	}
	memset(&n->tr_sched, 0, sizeof(n->tr_sched));
	n->tr_sched.lr = r->lr;
	memset(&n->tr_st, 0, sizeof(n->tr_st));
	n->tr = *r;
	n->tr_epoch = n->tr_pos = n->tr_done = 0;
	total = (uint64_t)r->local_epochs * ((n->count + batch - 1) / batch);
	n->tr_total = total > UINT32_MAX ? UINT32_MAX : total ? (u32)total : 1;
	n->tr_t0 = mcai_fed_now_ms();
	n->tr_next_progress = n->tr_t0 + r->progress_ms;
	n->tr_next_batch = n->tr_t0;
	n->training = true;
	return mcai_fednode_train_slice(n);
}

/* The trained delta into an UPDATE (or secure aggregation), sent. */
static int mcai_fednode_finish(struct mcai_fednode *n)
{
	struct mcai_peer *p = n->peer;
	const struct mcai_msg_round *r = &n->tr;
	struct mcai_msg m = { .type = MCAI_MSG_UPDATE };
	const struct mcai_mlp_stats st = n->tr_st;
	const char *why = NULL;
	u32 nd = n->n_params;
	int ret;

	mcai_mlp_delta(n->net, n->base, n->delta);
	if (n->pers) {
		struct mcai_nodepers_data pd;

		mcai_fednode_pers_data(n, &pd);
		nd = mcai_nodepers_trained(n->pers, n->net, n->base,
					   n->version, r, n->delta, &pd,
					   n->o.momentum);
	}
	if (r->flags & MCAI_ROUND_F_DP) {
		bool clipped = mcai_dp_clip(n->delta, nd, r->dp_clip);

		mcai_dp_noise_share(&n->dp_rng, n->delta, nd,
				    r->dp_sigma, r->dp_clip, r->dp_shares);
		mcai_info("round %llu: privacy: update %sclipped to L2 %g, noise share N(0, (%g * %g)^2 / %u) added",
			  (unsigned long long)r->round_id,
			  clipped ? "" : "within, not ", (double)r->dp_clip,
			  (double)r->dp_sigma, (double)r->dp_clip,
			  r->dp_shares);
	}
	m.u.update.round_id = r->round_id;
	m.u.update.base_version = n->version;
	m.u.update.n_samples = mcai_fednode_weight(n);
	m.u.update.train_loss = st.seen ? (float)(st.loss / st.seen) : 0.0f;
	if (!isfinite(m.u.update.train_loss)) {
		mcai_err("round %llu: training diverged (loss not finite)",
			 (unsigned long long)r->round_id);
		return 0;
	}
	m.u.update.delta_f = n->delta;
	m.u.update.n_delta = nd;
	if (p && (r->flags & MCAI_ROUND_F_STATS) &&
	    mcai_fednode_send_stats(n, p, r->round_id) == -EPIPE)
		return -EPIPE;
	if ((r->flags & MCAI_ROUND_F_COMPRESS) &&
	    mcai_fednode_compress(n, r, &m))
		return 0;
	n->rounds++;
	mcai_info("round %llu: trained in %llu ms, loss %.4f, train acc %.4f",
		  (unsigned long long)r->round_id,
		  (unsigned long long)(mcai_fed_now_ms() - n->tr_t0),
		  (double)m.u.update.train_loss,
		  st.seen ? (double)st.correct / st.seen : 0.0);
	if (r->flags & MCAI_ROUND_F_SECAGG) {
		if (!p) {
			mcai_warn("round %llu: connection lost during training: secure aggregation cannot resume",
				  (unsigned long long)r->round_id);
			return 0;
		}
		return mcai_fednode_sa_begin(n, p, r, m.u.update.train_loss);
	}
	/* Encoded once: sent now or later, and again if asked. */
	mcai_buf_reset(&n->sent);
	n->sent_round = 0;
	ret = mcai_msg_frame(&n->sent, &m, &why);
	if (ret) {
		mcai_err("cannot encode UPDATE: %s",
			 why ? why : strerror(-ret));
		mcai_buf_free(&n->sent);
		return 0;
	}
	n->sent_round = r->round_id;
	n->sent_base = r->base_version;
	n->sent_flags = r->flags & MCAI_FEDNODE_SENT_FLAGS;
	if (!p) {
		mcai_info("round %llu: not connected: the update waits for the round to be asked again",
			  (unsigned long long)r->round_id);
		return 0;
	}
	return mcai_fednode_answer(n, p, r->round_id, &n->sent);
}

/*
 * The round asked for a compressed answer (runtime/fed/compress.h): after
 * DP's clip and noise, so compression only post-processes the noised
 * update; the node's residual carries what was not sent into its next
 * update.  @m becomes an UPDATE_Z pointing into n->wire.
 */
static int mcai_fednode_compress(struct mcai_fednode *n,
				 const struct mcai_msg_round *r,
				 struct mcai_msg *m)
{
	struct mcai_comp_config c = {
		.kind = (enum mcai_comp_kind)r->comp_kind,
		.topk = r->comp_topk, .block = r->comp_block,
	};
	size_t size;
	int ret;

	if (mcai_comp_config_check(&c, NULL, 0))
		return -EINVAL;
	size = mcai_comp_size(&c, n->n_params);
	if (!n->resid)
		n->resid = calloc(n->n_params, sizeof(float));
	free(n->wire);
	n->wire = malloc(size);
	if (!n->resid || !n->wire) {
		mcai_err("round %llu: out of memory compressing the update",
			 (unsigned long long)r->round_id);
		return -ENOMEM;
	}
	ret = mcai_comp_encode(&c, n->delta, n->resid, n->n_params, &n->rng,
			       n->wire, NULL);
	if (ret) {
		mcai_err("round %llu: compressing the update: %s",
			 (unsigned long long)r->round_id, strerror(-ret));
		return ret;
	}
	m->type = MCAI_MSG_UPDATE_Z;
	m->u.update.delta_f = NULL;
	m->u.update.n_delta = 0;
	m->u.update.comp = n->wire;
	m->u.update.comp_len = (uint32_t)size;
	mcai_info("round %llu: update compressed (%s%s): %zu bytes instead of %zu",
		  (unsigned long long)r->round_id, mcai_comp_kind_name(c.kind),
		  c.kind == MCAI_COMP_TOPK ? ", with error feedback" : "",
		  size, (size_t)n->n_params * 4);
	return 0;
}

/*
 * A part of a streamed MODEL.  In order, or the stream is dropped and
 * the connection closed; the first part again of the stream held (a new
 * connection) is answered with where we are.  Complete and hashing
 * right, the whole is a MODEL like any other.
 */
static int mcai_fednode_part(struct mcai_fednode *n, struct mcai_peer *p,
			     const struct mcai_msg_part *mp)
{
	struct mcai_msg mm;
	const char *why = NULL;
	int r;

	if (mp->version <= n->version && n->net) {
		mcai_dbg("MODEL_PART of version %u: already have %u",
			 mp->version, n->version);
		return 0;
	}
	/*
	 * Bytes of the stream held that we have already: the first part
	 * again after a reconnection is the aggregator starting over, and
	 * we say where we are; any other is a duplicate from a request that
	 * crossed a new version's first part (the digest checks the whole).
	 * A gap is refused below.
	 */
	if (n->srx.buf && mp->offset < n->srx.have &&
	    mp->version == n->srx.version && mp->total == n->srx.total &&
	    !memcmp(mp->digest, n->srx.digest, sizeof(mp->digest))) {
		if (!mp->offset && n->srx_resume) {
			n->srx_resume = false;
			mcai_info("model version %u: resuming at byte %llu of %llu",
				  mp->version,
				  (unsigned long long)n->srx.have,
				  (unsigned long long)n->srx.total);
			mcai_fednode_ask_part(n);
		} else {
			mcai_dbg("model version %u: part at %llu again, ignored",
				 mp->version, (unsigned long long)mp->offset);
		}
		return 0;
	}
	n->srx_resume = false;
	if (!mp->offset)
		mcai_info("model version %u: %llu bytes, more than a frame: streamed in parts",
			  mp->version, (unsigned long long)mp->total);
	r = mcai_stream_rx_part(&n->srx, mp, &why);
	if (r < 0) {
		mcai_err("peer %s: %s", mcai_peer_name(p),
			 r == -ENOMEM ? "no memory for a streamed model" : why);
		mcai_net_close(p, "bad model stream");
		return 0;
	}
	if (!r) {
		mcai_dbg("model version %u: %llu of %llu bytes",
			 mp->version, (unsigned long long)n->srx.have,
			 (unsigned long long)n->srx.total);
		if (n->o.part_pace_ms)
			n->resume_due = mcai_fed_now_ms() + n->o.part_pace_ms;
		else
			mcai_fednode_ask_part(n);
		return 0;
	}
	mcai_info("model version %u: %llu bytes streamed, SHA-256 verified",
		  n->srx.version, (unsigned long long)n->srx.total);
	r = mcai_msg_decode(MCAI_MSG_MODEL, n->srx.buf, n->srx.total, &mm,
			    &why);
	if (r) {
		mcai_err("peer %s: streamed MODEL: %s", mcai_peer_name(p), why);
		mcai_stream_rx_reset(&n->srx);
		mcai_net_close(p, "malformed message");
		return 0;
	}
	r = mcai_fednode_model(n, p, &mm.u.model);
	mcai_msg_release(&mm);
	mcai_stream_rx_reset(&n->srx);
	if (!r && n->have_pend) {
		n->have_pend = false;
		r = mcai_fednode_round(n, p, &n->pend);
	}
	return r;
}

int mcai_fednode_frame(struct mcai_fednode *n, struct mcai_peer *p,
		       const struct mcai_frame_hdr *h, const uint8_t *payload)
{
	struct mcai_msg m;
	const char *why = NULL;
	int r;

	r = mcai_msg_decode(h->type, payload, h->length, &m, &why);
	if (r) {
		mcai_err("peer %s: bad %s: %s", mcai_peer_name(p),
			 mcai_msg_type_name(h->type), why);
		mcai_net_close(p, "malformed message");
		return 0;
	}
	switch (m.type) {
	case MCAI_MSG_WELCOME:
		n->welcomed = true;
		mcai_info("welcomed as '%s' in fleet '%s', current version %u",
			  m.u.welcome.node_id, m.u.welcome.fleet,
			  m.u.welcome.version);
		/*
		 * The aggregator's registry is behind ours (restored, or
		 * started over): follow it rather than wait for a version
		 * it will take long to reach.  The kernel still refuses
		 * the older blob unless forced, and so does the
		 * provenance check (rollback), so what runs stays.
		 */
		if (m.u.welcome.version && m.u.welcome.version < n->version) {
			mcai_warn("aggregator is at version %u, we hold %u: following it",
				  m.u.welcome.version, n->version);
			n->version = 0;
		}
		break;
	case MCAI_MSG_MODEL:
		r = mcai_fednode_model(n, p, &m.u.model);
		break;
	case MCAI_MSG_MODEL_PART:
		r = mcai_fednode_part(n, p, &m.u.part);
		break;
	case MCAI_MSG_ROUND:
		r = mcai_fednode_round(n, p, &m.u.round);
		break;
	case MCAI_MSG_ERROR:
		mcai_warn("aggregator error %u: %s", m.u.error.code,
			  m.u.error.message);
		break;
	case MCAI_MSG_BYE:
		mcai_info("aggregator says goodbye (%u)", m.u.bye.reason);
		break;
	case MCAI_MSG_SA_ADVERT:
	case MCAI_MSG_SA_KEYS:
	case MCAI_MSG_SA_SHARES:
	case MCAI_MSG_SA_SHARES_FOR:
	case MCAI_MSG_SA_MASKED:
	case MCAI_MSG_SA_UNMASK_REQ:
	case MCAI_MSG_SA_UNMASK:
	case MCAI_MSG_SA_CONSIST_REQ:
	case MCAI_MSG_SA_CONSIST:
		r = mcai_fednode_sa_step(n, p, m.type, &m.u.secagg);
		break;
	default:
		mcai_warn("peer %s: unexpected %s, ignored", mcai_peer_name(p),
			  mcai_msg_type_name(m.type));
		break;
	}
	mcai_msg_release(&m);
	return r;
}

void mcai_fednode_tick(struct mcai_fednode *n)
{
	int r;

	if (n->o.samples_dir && n->have_dev) {
		char err[512];
		u64 added = 0;

		r = mcai_samples_node_drain(&n->samples, n->o.samples_dir,
					    n->dev.fd, &added, err,
					    sizeof(err));
		if (r)
			mcai_warn("sample mirror: %s", err);
		else if (added)
			mcai_info("sample mirror: %llu new samples in %s",
				  (unsigned long long)added,
				  n->o.samples_dir);
		/* what a failed drain did store is routed all the same */
		if (added && n->o.esc)
			mcai_escalate_scan(n->o.esc, n->samples, added,
					   mcai_fed_now_ms());
	}

	if (n->resume_due && mcai_fed_now_ms() >= n->resume_due)
		mcai_fednode_ask_part(n);
	if (n->training)
		mcai_fednode_train_slice(n);
	else if (mcai_nodepers_due_version(n->pers) == n->version &&
		 n->version && n->pers_ok) {
		struct mcai_nodepers_data pd;

		mcai_fednode_pers_data(n, &pd);
		mcai_nodepers_build(n->pers, n->base, &n->shape, n->net, &pd,
				    n->have_dev ? &n->dev : NULL);
	}
	if (!n->held.len || mcai_fed_now_ms() < n->held_until)
		return;
	if (n->o.answer_hold && access(n->o.answer_hold, F_OK))
		return;
	if (n->peer) {
		r = mcai_net_send_frame(n->peer, n->held.data, n->held.len);
		mcai_info("held-back %s %s",
			  n->sa ? "secure aggregation message" : "UPDATE",
			  r ? strerror(-r) : "sent");
	}
	mcai_buf_free(&n->held);
}
