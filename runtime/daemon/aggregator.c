// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid, role aggregator: the round state machine (runtime/daemon/aggregator.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "models/engine/engine.h"
#include "models/train/mlp.h"
#include "models/train/mlpquant.h"
#include "models/train/quant.h"
#include "models/engine/verify.h"
#include "runtime/fed/adamstate.h"
#include "runtime/fed/compress.h"
#include "runtime/daemon/aggregator.h"
#include "runtime/lib/atomicfile.h"
#include "runtime/fed/dp.h"
#include "runtime/fed/drift.h"
#include "runtime/fed/fedmlp.h"
#include "runtime/lib/log.h"
#include "runtime/fed/net.h"
#include "runtime/fed/personal.h"
#include "runtime/daemon/node.h"
#include "runtime/fed/proto.h"
#include "runtime/fed/stream.h"
#include "models/engine/sha256.h"
#include "runtime/fed/provenance.h"
#include "runtime/fed/secagg.h"
#include "runtime/fed/tls.h"
#include "runtime/fed/store.h"
#include "runtime/fed/strategy.h"

/* A failed round is retried this long after. */
#define MCAI_AGGR_RETRY_MS	1000
/* Status file rewritten at most this often outside round ends. */
#define MCAI_AGGR_STATUS_MS	5000
/* Round history kept for the status file. */
#define MCAI_AGGR_HISTORY	64
/*
 * The signed manifest of registry version V, next to the store's own
 * files: v%08u.signed.  The store ignores names it does not own, and a
 * redone publish of the same number overwrites it.
 */
#define MCAI_AGGR_SIGNED_FMT	"%s/v%08u.signed"
/*
 * The privacy accountant of the registry's model, beside the store's
 * files: what every published round spent, so a restart goes on from the
 * cumulative epsilon instead of from zero.
 */
#define MCAI_AGGR_PRIVACY_FILE	"privacy"
#define MCAI_AGGR_PRIVACY_MAGIC	"mcai-privacy 1"
/*
 * Masked vector of a node: its update scaled by samples / weight_total,
 * then that weight, then its train loss times the weight, so that the
 * sum alone gives the sample-weighted mean of updates and losses (the
 * aggregator never sees a single node's weight).  With DP the update is
 * clipped and noised, its weight is 1 and the loss 0: an unnoised loss
 * would leak past the noise.
 */
#define MCAI_AGGR_SA_EXTRA	2

/* A streamed model goes in parts of this many bytes, one in flight. */
#define MCAI_AGGR_PART		(1U << 20)

struct mcai_aggr_node {
	char id[MCAI_PROTO_ID_MAX + 1];
	char cn[MCAI_PROTO_ID_MAX + 1];	/* certificate of its connection */
	struct mcai_peer *peer;		/* NULL: not connected */
	uint32_t version;
	uint64_t n_samples;
	uint64_t caps;
	bool comp_asked;		/* this round's ROUND said compress */
	uint32_t role;			/* enum mcai_role of its HELLO */
	uint32_t refused;		/* version it refused (provenance) */
	int64_t last_seen;		/* Unix seconds */
	uint32_t rounds;		/* updates accepted */
	uint64_t sampled_round;		/* round it was asked to train in */
	bool answered;
	/*
	 * Sampled in this round, then its connection went (counted in
	 * a->dropped): when it comes back before the round closes it is
	 * asked again and no longer counted as dropped.
	 */
	bool gone;
	float last_loss;
	bool have_telem;
	struct mcai_telem_entry telem;	/* last summary of our model */
	/* Secure aggregation: its id in the round, the frame awaited. */
	uint32_t sa_id;
	uint16_t sa_wait;		/* MCAI_MSG_SA_*, 0: nothing */
	bool sa_masked;			/* its masked input is in the sum */
	/* Drift (drift.*): when it last asked for a round, 0: never. */
	uint64_t drift_at;		/* Unix seconds */
	float drift_score;
	uint64_t stats_round;		/* round of its last DATASTATS */
};

struct mcai_aggr_round_rec {
	uint64_t round;
	uint32_t version;		/* 0: failed */
	uint32_t sampled, answered;
	double accuracy, float_accuracy, loss;
	double seconds;
	double epsilon, epsilon_total;	/* -1: no DP */
};

struct mcai_aggr {
	struct mcai_aggr_opts o;
	const struct mcai_config *cfg;
	struct mcai_net *net;
	struct mcai_store *store;
	char status_path[MCAI_CONFIG_PATH_MAX + 16];

	/* The current model: float master copy and its published frame. */
	struct mcai_mlp *mlp;
	float *params, *scratch, *combined;
	u32 n_params;
	/*
	 * personal.mode = fedper: the layers of personal.layers stay on the
	 * nodes; an update is the other (shared) parameters only, in order,
	 * and the personal ranges of the global model are never changed.
	 */
	bool fedper;
	struct mcai_pers_split split;
	u64 pers_updates;
	uint32_t version;
	struct mcai_buf model_frame;	/* empty: larger than a frame */
	/* The MODEL payload, streamed in parts when it exceeds a frame. */
	struct mcai_buf model_payload;
	uint8_t model_digest[MCAI_PROTO_DIGEST_LEN];

	/* Signs what we publish; NULL: versions go out unsigned. */
	struct mcai_prov_key *sign_key;
	uint8_t manifest[MCAI_PROV_MANIFEST_MAX];
	size_t manifest_len;		/* of a->version; 0: unsigned */

	struct mcai_agg *agg;
	struct mcai_agg_config ac;
	char strategy[MCAI_STORE_STRATEGY_MAX + 1];

	/*
	 * Hierarchy: a node of an upstream aggregator.  Its MODELs are
	 * relayed down as they are, its ROUNDs run here, and the combined
	 * update goes up weighted by the samples behind it.
	 */
	struct mcai_peer *up;
	bool up_welcomed, up_pending;
	struct mcai_msg_round up_round;
	uint32_t forwarded;

	struct mcai_dataset eval;
	bool have_eval;
	uint32_t n_eval;
	/*
	 * The model's shape, read from the registry's (or the initial) blob,
	 * and that blob's test vectors: each version carries them on, and
	 * they calibrate a model without an evaluation set.
	 */
	struct mcai_fedmlp_shape shape;
	s8 *tv;				/* tv_count * dim[0] */
	u32 tv_count;

	struct mcai_aggr_node *nodes;
	size_t n_nodes, cap_nodes;

	/* The ROUND sent to this round's nodes, to ask one again. */
	struct mcai_msg round_msg;
	/* The round in progress (running) or the next one. */
	bool running, done, started_once;
	uint64_t round;
	uint64_t deadline, next_start, t_start, status_at;
	uint32_t sampled, answered, dropped;
	double loss_sum;
	uint32_t rounds_published;

	/*
	 * Differential privacy (privacy.dp): the accountant persisted in
	 * the registry, the noise source, and what the round being
	 * published spent (for its manifest).
	 */
	bool dp;
	struct mcai_dp_accountant acct;
	struct mcai_dp_rng dp_rng;
	char privacy_path[MCAI_CONFIG_PATH_MAX + 16];
	double round_q;			/* sampled / eligible */
	uint32_t round_shares;		/* sampled: the mean's denominator */
	struct mcai_prov_privacy priv;
	bool priv_valid;
	struct mcai_dp_accountant acct_before;
	bool budget_out;		/* no more rounds: epsilon spent */
	/*
	 * Adaptive clipping (privacy.adaptive_clip): the clip norm now and
	 * the round's updates that were within it (runtime/fed/dp.h).
	 */
	struct mcai_dp_adaptive adapt;
	uint32_t round_unclipped;
	/* compressed updates received this round, and their bytes */
	uint64_t comp_bytes;
	uint32_t comp_updates;
	char budget_why[256];

	/*
	 * Secure aggregation (privacy.secure_aggregation): the round's
	 * server state machine, the node message its phase awaits, how many
	 * nodes it still waits for, and the phase's deadline.
	 */
	struct mcai_secagg_server *sa;
	struct mcai_secagg_params sap;
	uint64_t sa_weight_total;
	uint16_t sa_want;
	uint32_t sa_pending;
	uint64_t sa_deadline;
	uint64_t sa_bytes_in, sa_bytes_out;
	float *sa_sum;			/* n_params + 2 */
	bool round_secagg;		/* the version being published */
	bool sa_signed;			/* this round's is signed */
	/*
	 * int8 under the masks (rounds.compress = int8 with secure
	 * aggregation, runtime/fed/compress.h): this round's, its range,
	 * and the range for the next one (0: none known yet, mask floats).
	 */
	bool sa_ring16;
	float sa_comp_range;
	float sa_comp_next;
	u32 *sa_words;			/* n_params + 2 */
#ifdef MCAI_TEST_HOOKS
	/*
	 * Test builds only (mcaid-san): MCAI_TEST_SECAGG_HOSTILE=equivocate
	 * shows odd secagg ids a survivor set without node 0; =forge alters
	 * the first key in every KEYS.  The honest nodes must refuse.
	 */
	const char *sa_hostile;
#endif

	struct mcai_aggr_round_rec hist[MCAI_AGGR_HISTORY];
	unsigned int n_hist;
	bool status_dirty;

	/*
	 * Drift-triggered rounds: the version the triggered rounds run up
	 * to (0: none), and the round's pooled training statistics
	 * (drift.stats): sums over the nodes' DATASTATS, weighted by their
	 * samples, for the manifest of the version it publishes.
	 */
	uint32_t drift_target;
	uint32_t drift_triggers;
	bool stats_asked;		/* this round's ROUNDs said STATS */
	bool stats_bad;			/* shapes disagreed: none this round */
	uint32_t st_nodes, st_nf, st_nc;
	uint64_t st_samples;
	double *st_sum;			/* n * mean, per feature */
	double *st_sumsq;		/* n * (var + mean^2) */
	uint64_t st_classes[MCAI_PROV_STATS_MAX_CLASSES];
};

static void mcai_aggr_write_status(struct mcai_aggr *a);

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static struct mcai_aggr_node *mcai_aggr_peer_node(struct mcai_aggr *a,
						  struct mcai_peer *p)
{
	uintptr_t i = (uintptr_t)mcai_peer_data(p);

	return i && i <= a->n_nodes ? &a->nodes[i - 1] : NULL;
}

static void mcai_aggr_error(struct mcai_peer *p, uint32_t code,
			    const char *msg)
{
	struct mcai_msg m = { .type = MCAI_MSG_ERROR };

	m.u.error.code = code;
	snprintf(m.u.error.message, sizeof(m.u.error.message), "%s", msg);
	mcai_net_send_msg(p, &m, NULL);
}

static uint32_t mcai_aggr_connected(const struct mcai_aggr *a)
{
	uint32_t c = 0;
	size_t i;

	for (i = 0; i < a->n_nodes; i++)
		c += a->nodes[i].peer != NULL;
	return c;
}

/* Connected and holding (or able to take) the current version. */
static uint32_t mcai_aggr_eligible(const struct mcai_aggr *a)
{
	uint32_t c = 0;
	size_t i;

	for (i = 0; i < a->n_nodes; i++)
		c += a->nodes[i].peer && a->nodes[i].refused != a->version;
	return c;
}

/* ------------------------------------------------------------------ */
/* Model: quantise, evaluate, publish                                   */
/* ------------------------------------------------------------------ */

/*
 * Calibration images: the first ones of the aggregator's evaluation set
 * (it holds no training data); without one, a fixed pseudo-random set
 * so the ranges are at least those of real pixel values.
 */
struct mcai_aggr_calib {
	u64 seed;
};

static void mcai_aggr_synth_image(void *ctx, u32 index, float *x, u32 *label)
{
	const struct mcai_aggr_calib *c = ctx;
	u64 s = c->seed ^ ((u64)index * 0x9e3779b97f4a7c15ULL);
	u32 i;

	for (i = 0; i < MCAI_FED_INPUTS; i++)
		x[i] = mcai_mlp_randf(&s) < 0.5f ? 0.0f : mcai_mlp_randf(&s);
	*label = 0;
}

/* The Fashion-MNIST MLP, which the evaluation set and the old path fit. */
static bool mcai_aggr_images(const struct mcai_aggr *a)
{
	return a->shape.dim[0] == MCAI_FED_INPUTS &&
	       a->shape.classes == MCAI_FED_CLASSES &&
	       a->shape.head == MCAI_MLP_SOFTMAX &&
	       a->shape.in_scale == MCAI_FED_IN_SCALE &&
	       a->shape.in_zp == MCAI_FED_IN_ZP;
}

static bool mcai_aggr_evaluates(const struct mcai_aggr *a)
{
	return a->have_eval && mcai_aggr_images(a);
}

/* A standard normal draw (Box-Muller). */
static double mcai_aggr_gauss(u64 *rng)
{
	double u = 1.0 - mcai_mlp_randf(rng);		/* (0, 1] */
	double v = mcai_mlp_randf(rng);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/*
 * Calibration inputs for a model of any other shape (the aggregator holds
 * no data of it): the test vectors it carries (real inputs chosen by
 * its trainer), then draws per feature from the round's pooled training
 * statistics when the nodes sent them (drift.stats), else uniform over
 * [zp, 127], the inputs' non-negative range.  int8, @count vectors.
 */
static s8 *mcai_aggr_calib_inputs(struct mcai_aggr *a, u32 count)
{
	const u32 len = a->shape.dim[0];
	const bool pooled = a->stats_asked && !a->stats_bad &&
			    a->st_samples && a->st_nf == len;
	s8 *q = malloc((size_t)count * len);
	u64 rng = a->o.seed ^ 0xca1b;
	u32 k, j;

	if (!q)
		return NULL;
	for (k = 0; k < count; k++) {
		s8 *x = q + (size_t)k * len;

		if (k < a->tv_count) {
			memcpy(x, a->tv + (size_t)k * len, len);
			continue;
		}
		for (j = 0; j < len; j++) {
			double v;

			if (pooled) {
				double m = a->st_sum[j] / (double)a->st_samples;
				double var = a->st_sumsq[j] /
					     (double)a->st_samples - m * m;

				v = m + sqrt(var > 0 ? var : 0) *
					mcai_aggr_gauss(&rng);
			} else {
				v = a->shape.in_zp +
				    (double)mcai_mlp_below(&rng,
					(u32)(128 - a->shape.in_zp));
			}
			v = rint(v);
			x[j] = (s8)(v < -128 ? -128 : v > 127 ? 127 : v);
		}
	}
	return q;
}

static u8 *mcai_aggr_quantise(struct mcai_aggr *a, uint32_t version,
			      u32 *size)
{
	struct mcai_aggr_calib synth = { a->o.seed };
	struct mcai_mlp_data d = { mcai_fed_get_image, &a->eval };
	struct mcai_mlpq_desc desc = {
		.name = a->cfg->model, .version = version,
		.head = MCAI_HEAD_ARGMAX, .input_scale = MCAI_FED_IN_SCALE,
		.input_zp = MCAI_FED_IN_ZP,
	};
	u32 calib = a->o.calib ? a->o.calib : 512;
	char err[256];
	u8 *blob;

	mcai_mlp_set_params(a->mlp, a->params);
	if (!mcai_aggr_images(a)) {
		struct mcai_fedmlp_data fd;
		u8 *labels = calloc(calib, 1);
		s8 *in = mcai_aggr_calib_inputs(a, calib);

		blob = NULL;
		if (!in || !labels) {
			snprintf(err, sizeof(err), "out of memory");
		} else {
			mcai_fedmlp_data_init(&fd, &a->shape, in, labels,
					      calib);
			d.get = mcai_fedmlp_get;
			d.ctx = &fd;
			blob = mcai_fedmlp_blob(a->mlp, &a->shape, &d, NULL,
						calib, a->cfg->model, version,
						a->tv, a->tv_count, size, err,
						sizeof(err));
		}
		free(in);
		free(labels);
		if (!blob)
			mcai_err("quantising version %u: %s", version, err);
		return blob;
	}
	if (!a->have_eval) {
		d.get = mcai_aggr_synth_image;
		d.ctx = &synth;
	} else if (calib > a->eval.count) {
		calib = a->eval.count;
	}
	blob = mcai_mlpq_blob(a->mlp, &d, NULL, calib, &desc, size, err,
			      sizeof(err));
	if (!blob)
		mcai_err("quantising version %u: %s", version, err);
	return blob;
}

/* int8 accuracy of @blob through the verifier and the engine, or -1. */
static double mcai_aggr_eval_int8(struct mcai_aggr *a, const u8 *blob,
				  u32 size)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	s8 qpix[256], *in, *scores;
	void *arena;
	float scale;
	u32 i, j, correct = 0;

	mcai_limits_default(&lim);
	if (mcai_verify(&m, blob, size, &lim, &v)) {
		mcai_err("published blob fails verification: %s (offset %u)",
			 v.reason, v.offset);
		return -1.0;
	}
	if (!mcai_aggr_evaluates(a))
		return -1.0;
	memcpy(&scale, &m.input_scale, sizeof(scale));
	for (i = 0; i < 256; i++)
		qpix[i] = mcai_quantize(i / 255.0f, scale, m.input_zp);
	in = calloc(m.input_len, 1);
	scores = calloc(m.output_len, 1);
	arena = calloc(m.arena_size ? m.arena_size : 1, 1);
	if (!in || !scores || !arena) {
		free(in);
		free(scores);
		free(arena);
		return -1.0;
	}
	for (i = 0; i < a->n_eval; i++) {
		const u8 *px = a->eval.images + (size_t)i * MCAI_FED_INPUTS;

		for (j = 0; j < m.input_len; j++)
			in[j] = qpix[px[j]];
		correct += mcai_engine_run(&m, in, scores, arena) ==
			   a->eval.labels[i];
	}
	free(in);
	free(scores);
	free(arena);
	return (double)correct / a->n_eval;
}

static double mcai_aggr_eval_float(struct mcai_aggr *a)
{
	const struct mcai_mlp_data d = { mcai_fed_get_image, &a->eval };

	if (!mcai_aggr_evaluates(a))
		return -1.0;
	mcai_mlp_set_params(a->mlp, a->params);
	return (double)mcai_mlp_evaluate(a->mlp, &d, NULL, a->n_eval) /
	       a->n_eval;
}

/* Encode the current version's MODEL frame once, for every node. */
static int mcai_aggr_cache_model(struct mcai_aggr *a, const u8 *blob,
				 u32 blob_len, uint32_t parent, uint64_t round)
{
	struct mcai_msg m = { .type = MCAI_MSG_MODEL };
	const char *why = NULL;
	int r;

	snprintf(m.u.model.model, sizeof(m.u.model.model), "%s",
		 a->cfg->model);
	m.u.model.version = a->version;
	m.u.model.parent = parent;
	m.u.model.round_id = round;
	m.u.model.params_f = a->params;
	m.u.model.n_params = a->n_params;
	m.u.model.blob = blob;
	m.u.model.blob_len = blob_len;
	m.u.model.manifest = a->manifest_len ? a->manifest : NULL;
	m.u.model.manifest_len = (uint32_t)a->manifest_len;
	mcai_buf_free(&a->model_frame);
	mcai_buf_init(&a->model_frame);
	mcai_buf_free(&a->model_payload);
	mcai_buf_init(&a->model_payload);
	r = mcai_msg_encode(&a->model_payload, &m, &why);
	if (!r && a->model_payload.len > MCAI_PROTO_STREAM_MAX) {
		why = "larger than a model stream";
		r = -EMSGSIZE;
	}
	if (r) {
		mcai_err("cannot encode MODEL version %u: %s", a->version,
			 why ? why : strerror(-r));
		return r;
	}
	mcai_sha256(a->model_payload.data, a->model_payload.len,
		    a->model_digest);
	if (a->model_payload.len <= MCAI_FRAME_MAX) {
		r = mcai_msg_frame(&a->model_frame, &m, &why);
		if (r)
			mcai_err("cannot encode MODEL version %u: %s",
				 a->version, why ? why : strerror(-r));
		return r;
	}
	mcai_info("MODEL version %u: %zu bytes, more than a frame: streamed in parts of %u to the nodes that take them",
		  a->version, a->model_payload.len, MCAI_AGGR_PART);
	return 0;
}

/* The part of the current model at @offset to @p. */
static int mcai_aggr_send_part(struct mcai_aggr *a, struct mcai_peer *p,
			       uint64_t offset)
{
	struct mcai_msg m = { .type = MCAI_MSG_MODEL_PART };

	mcai_stream_part_at(&m.u.part, a->version, a->model_digest,
			    a->model_payload.data, a->model_payload.len,
			    offset, MCAI_AGGR_PART);
	return mcai_net_send_msg(p, &m, NULL);
}

/*
 * The current model to @nd: one MODEL frame, or its first part when it
 * is larger than a frame (the node asks for the others), or nothing to
 * a node that cannot take parts (-EMSGSIZE, logged).
 */
static int mcai_aggr_send_model(struct mcai_aggr *a, struct mcai_aggr_node *nd)
{
	if (a->model_frame.len)
		return mcai_net_send_frame(nd->peer, a->model_frame.data,
					   a->model_frame.len);
	if (!a->model_payload.len)
		return -ENODATA;
	if (!(nd->caps & MCAI_CAP_STREAM)) {
		mcai_warn("node '%s' cannot take version %u: %zu bytes, more than a frame, and it does not stream models",
			  nd->id, a->version, a->model_payload.len);
		return -EMSGSIZE;
	}
	return mcai_aggr_send_part(a, nd->peer, 0);
}

/*
 * MODEL_RESUME: the next part of the stream the node holds, when it is
 * the current model's; else the current one from the start.
 */
static void mcai_aggr_resume(struct mcai_aggr *a, struct mcai_aggr_node *nd,
			     const struct mcai_msg_resume *rs)
{
	uint64_t total = a->model_payload.len;

	if (!(nd->caps & MCAI_CAP_STREAM) || a->model_frame.len || !total) {
		mcai_warn("node '%s': MODEL_RESUME with no model stream to serve",
			  nd->id);
		mcai_aggr_error(nd->peer, MCAI_ERR_PROTOCOL,
				"no model stream to resume");
		mcai_net_close(nd->peer, "unexpected MODEL_RESUME");
		return;
	}
	if (rs->version != a->version ||
	    memcmp(rs->digest, a->model_digest, sizeof(rs->digest))) {
		mcai_info("node '%s': resumes version %u, serving %u: from the start",
			  nd->id, rs->version, a->version);
		mcai_aggr_send_part(a, nd->peer, 0);
		return;
	}
	if (rs->offset >= total)
		return;			/* it has it all */
	mcai_dbg("node '%s': model version %u from byte %llu of %llu",
		 nd->id, a->version, (unsigned long long)rs->offset,
		 (unsigned long long)total);
	mcai_aggr_send_part(a, nd->peer, rs->offset);
}

/* Durably, as the store writes its own files: temp, fsync, rename. */
static int mcai_aggr_write_signed(struct mcai_aggr *a, uint32_t version,
				  const uint8_t *p, size_t len)
{
	char path[MCAI_CONFIG_PATH_MAX + 32], tmp[sizeof(path) + 8];
	int fd, r = 0, dfd;

	snprintf(path, sizeof(path), MCAI_AGGR_SIGNED_FMT,
		 a->cfg->registry_dir, version);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, p, len) != (ssize_t)len || fsync(fd))
		r = errno ? -errno : -EIO;
	close(fd);
	if (!r && rename(tmp, path))
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	dfd = open(a->cfg->registry_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/*
 * The manifest of @vi, as published, into a->manifest: read back from
 * the registry when it is there and not @fresh (a restart sends exactly what it sent
 * before; what is on disk is not re-checked here, the nodes do that,
 * and re-signing whatever the file holds would launder a tampered
 * registry), else signed now and stored.  Ed25519 is deterministic and
 * the store keeps the creation time, so a manifest lost to a crash
 * between publish and this write comes back byte for byte.
 */
/*
 * The round's pooled training statistics into @pm (MCAI_PROV_F_STATS),
 * when every node that sent them agreed on the shape; statistics the
 * manifest's rules refuse (a node's wild figures) are left out, logged.
 */
static void mcai_aggr_stats_manifest(struct mcai_aggr *a,
				     struct mcai_prov_manifest *pm)
{
	struct mcai_prov_stats *st = &pm->stats;
	const char *why;
	uint32_t i;

	if (!a->stats_asked || a->stats_bad || !a->st_samples || !a->st_nf)
		return;
	pm->flags |= MCAI_PROV_F_STATS;
	st->samples = a->st_samples;
	st->n_features = a->st_nf;
	st->n_classes = a->st_nc;
	for (i = 0; i < a->st_nf; i++) {
		double m = a->st_sum[i] / (double)a->st_samples;
		double v = a->st_sumsq[i] / (double)a->st_samples - m * m;

		st->mean[i] = (float)m + 0.0f;	/* + 0.0f: no -0.0 */
		st->var[i] = v > 0 ? (float)v : 0.0f;
	}
	memcpy(st->classes, a->st_classes, sizeof(st->classes));
	if (mcai_prov_manifest_check(pm, &why)) {
		mcai_warn("round %llu: training statistics left out of the manifest: %s",
			  (unsigned long long)a->round, why);
		pm->flags &= ~MCAI_PROV_F_STATS;
		memset(st, 0, sizeof(*st));
		return;
	}
	mcai_info("round %llu: training statistics of %u nodes (%llu samples, %u features, %u classes) in the manifest",
		  (unsigned long long)a->round, a->st_nodes,
		  (unsigned long long)a->st_samples, a->st_nf, a->st_nc);
}

static int mcai_aggr_sign(struct mcai_aggr *a,
			  const struct mcai_version_info *vi, bool fresh)
{
	struct mcai_prov_manifest pm;
	char path[MCAI_CONFIG_PATH_MAX + 32], err[MCAI_PROV_ERR_MAX];
	ssize_t n;
	int fd, r;

	a->manifest_len = 0;
	snprintf(path, sizeof(path), MCAI_AGGR_SIGNED_FMT,
		 a->cfg->registry_dir, vi->version);
	fd = fresh ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, a->manifest, sizeof(a->manifest));
		close(fd);
		if (n > 0) {
			a->manifest_len = (size_t)n;
			return 0;
		}
		mcai_warn("%s: empty or unreadable, signing again", path);
	}
	if (!a->sign_key)
		return 0;
	mcai_prov_manifest_from_version(&pm, vi);
	if (fresh && a->priv_valid && a->priv.epsilon_total > 0) {
		pm.flags |= MCAI_PROV_F_DP;
		pm.privacy = a->priv;
	}
	if (fresh && a->round_secagg)
		pm.flags |= MCAI_PROV_F_SECAGG;
	if (fresh)
		mcai_aggr_stats_manifest(a, &pm);
	r = mcai_prov_sign(a->sign_key, &pm, a->manifest,
			   sizeof(a->manifest), &a->manifest_len, err,
			   sizeof(err));
	if (r) {
		mcai_err("signing version %u: %s", vi->version, err);
		a->manifest_len = 0;
		return r;
	}
	r = mcai_aggr_write_signed(a, vi->version, a->manifest,
				   a->manifest_len);
	if (r)
		mcai_err("%s: %s", path, strerror(-r));
	return r;
}

/*
 * FedAdam's moments belong to the version their step produced: saved
 * before it is published, committed once it is (runtime/fed/adamstate.h), so
 * a restart continues the same Adam trajectory.
 */
static int mcai_aggr_adam_save(struct mcai_aggr *a, uint32_t version)
{
	char err[512];
	float *m;
	u64 steps;
	int r;

	if (!mcai_agg_kind_has_state(a->ac.kind))
		return 0;
	m = malloc(2 * (size_t)a->n_params * sizeof(float));
	if (!m)
		return -ENOMEM;
	mcai_agg_adam_get(a->agg, m, m + a->n_params, &steps);
	r = mcai_adamstate_save(a->cfg->registry_dir, version, m,
				m + a->n_params, a->n_params, steps, err,
				sizeof(err));
	if (r)
		mcai_err("fedadam moments: %s", err);
	free(m);
	return r;
}

static void mcai_aggr_adam_load(struct mcai_aggr *a)
{
	char err[512] = "";
	uint64_t steps = 0;
	float *m;
	int r;

	if (!mcai_agg_kind_has_state(a->ac.kind))
		return;
	m = malloc(2 * (size_t)a->n_params * sizeof(float));
	if (!m) {
		mcai_err("fedadam moments: out of memory; Adam starts from zero");
		return;
	}
	r = mcai_adamstate_load(a->cfg->registry_dir, a->version, m,
				m + a->n_params, a->n_params, &steps, err,
				sizeof(err));
	if (!r) {
		mcai_agg_adam_set(a->agg, m, m + a->n_params, steps);
		mcai_info("fedadam: moments of version %u from the registry (%llu steps)",
			  a->version, (unsigned long long)steps);
	} else if (r == -ENOENT) {
		mcai_warn("fedadam: no moments saved for version %u (the registry was run with another strategy): Adam starts from zero",
			  a->version);
	} else {
		mcai_err("fedadam: %s; Adam starts from zero", err);
	}
	free(m);
}

/*
 * Quantise a->params as version latest + 1 of @round, evaluate, publish
 * durably, and make it current.  Returns 0 or a negative errno.
 */
static int mcai_aggr_publish(struct mcai_aggr *a, uint64_t round,
			     uint32_t participants, double *acc_out,
			     double *facc_out)
{
	struct mcai_version_info info = { 0 };
	uint32_t version = mcai_store_latest_version(a->store) + 1;
	double acc, facc;
	u32 size = 0;
	u8 *blob;
	int r;

	blob = mcai_aggr_quantise(a, version, &size);
	if (!blob)
		return -EINVAL;
	acc = mcai_aggr_eval_int8(a, blob, size);
	facc = mcai_aggr_eval_float(a);
	snprintf(info.name, sizeof(info.name), "%s", a->cfg->model);
	info.version = version;
	info.parent = version - 1;
	info.round = round;
	snprintf(info.strategy, sizeof(info.strategy), "%s", a->strategy);
	info.participants = participants;
	info.n_params = a->n_params;
	info.blob_len = size;
	info.accuracy = acc;
	info.loss = -1.0;
	r = mcai_aggr_adam_save(a, version);
	if (!r)
		r = mcai_store_publish(a->store, &info, a->params, blob);
	if (r) {
		mcai_err("publishing version %u: %s", version,
			 mcai_store_error(a->store));
		free(blob);
		return r;
	}
	if (mcai_agg_kind_has_state(a->ac.kind)) {
		char err[512];

		if (mcai_adamstate_commit(a->cfg->registry_dir, err,
					  sizeof(err)))
			mcai_err("fedadam moments: %s", err);
	}
	a->version = version;
	/*
	 * Unsigned would be refused by every node that checks: better no
	 * MODEL at all than one that looks published and is not.
	 */
	r = mcai_aggr_sign(a, &info, true);
	if (!r)
		r = mcai_aggr_cache_model(a, blob, size, info.parent, round);
	free(blob);
	if (acc_out)
		*acc_out = acc;
	if (facc_out)
		*facc_out = facc;
	return r;
}

/*
 * The model of shape @s and everything sized by it; @m (may be NULL) the
 * verified blob whose test vectors travel on.
 */
static int mcai_aggr_alloc(struct mcai_aggr *a,
			   const struct mcai_fedmlp_shape *s,
			   const struct mcai_model *m)
{
	char err[256];
	u32 t;

	a->shape = *s;
	if (m && m->tv_count) {
		a->tv = malloc((size_t)m->tv_count * s->dim[0]);
		if (!a->tv)
			return -ENOMEM;
		for (t = 0; t < m->tv_count; t++)
			memcpy(a->tv + (size_t)t * s->dim[0],
			       m->tv + (size_t)t * (m->input_len + m->output_len),
			       s->dim[0]);
		a->tv_count = m->tv_count;
	}
	a->mlp = mcai_fedmlp_create(s);
	if (!a->mlp)
		return -ENOMEM;
	a->n_params = (u32)a->mlp->n_params;
	if (a->cfg->personal_mode == MCAI_CFG_PERS_FEDPER) {
		u32 mask;

		if (mcai_pers_layers_parse(a->cfg->personal_layers,
					   s->n_dims - 1, &mask) ||
		    mcai_pers_split_init(&a->split, s->dim, s->n_dims, mask)) {
			mcai_err("personal.layers '%s' does not fit the model's %u weight layers (indices 0..%u or -1..-%u, at least one layer shared)",
				 a->cfg->personal_layers, s->n_dims - 1,
				 s->n_dims - 2, s->n_dims - 1);
			return -EINVAL;
		}
		a->fedper = true;
		mcai_info("personal: fedper, layers '%s' stay on the nodes: updates carry %u of the %u parameters",
			  a->cfg->personal_layers, a->split.n_shared,
			  a->n_params);
	}
	a->params = calloc(a->n_params, sizeof(float));
	a->scratch = calloc(a->n_params, sizeof(float));
	a->combined = calloc(a->n_params, sizeof(float));
	a->sa_sum = calloc(a->n_params + MCAI_AGGR_SA_EXTRA, sizeof(float));
	a->sa_words = calloc(a->n_params + MCAI_AGGR_SA_EXTRA, sizeof(u32));
	if (!a->params || !a->scratch || !a->combined || !a->sa_sum ||
	    !a->sa_words)
		return -ENOMEM;
	a->agg = mcai_agg_create(&a->ac, a->n_params, err, sizeof(err));
	if (!a->agg) {
		mcai_err("strategy %s: %s", a->strategy, err);
		return -ENOMEM;
	}
	return 0;
}

/* The shape of a blob from the registry or a file; 0 or -EINVAL, logged. */
static int mcai_aggr_blob_shape(const u8 *blob, u32 len, const char *what,
				struct mcai_model *m,
				struct mcai_fedmlp_shape *s)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	char err[256];

	mcai_limits_default(&lim);
	if (mcai_verify(m, blob, len, &lim, &v)) {
		mcai_err("%s: %s (offset %u)", what, v.reason, v.offset);
		return -EINVAL;
	}
	if (mcai_fedmlp_shape_of(s, m, err, sizeof(err))) {
		mcai_err("%s: not a model the federation trains: %s", what,
			 err);
		return -EINVAL;
	}
	return 0;
}

/* The 784-H-10 Fashion-MNIST MLP of a fresh registry without a seed. */
static void mcai_aggr_default_shape(struct mcai_fedmlp_shape *s, u32 hidden)
{
	memset(s, 0, sizeof(*s));
	s->n_dims = 3;
	s->dim[0] = MCAI_FED_INPUTS;
	s->dim[1] = hidden;
	s->dim[2] = MCAI_FED_CLASSES;
	s->head = MCAI_MLP_SOFTMAX;
	s->blob_head = MCAI_HEAD_ARGMAX;
	s->in_scale = MCAI_FED_IN_SCALE;
	s->in_zp = MCAI_FED_IN_ZP;
	s->out_scale = 1.0f;
	s->classes = MCAI_FED_CLASSES;
}

/*
 * A fresh registry seeded with a shipped model (--initial): its blob
 * read, verified and dequantised into the float master copy.
 */
static int mcai_aggr_seed(struct mcai_aggr *a, const char *path)
{
	struct mcai_fedmlp_shape s;
	struct mcai_model m;
	char err[256], what[MCAI_CONFIG_PATH_MAX + 32];
	u8 *blob = NULL;
	long len = -1;
	FILE *f;
	int r = -EINVAL;

	snprintf(what, sizeof(what), "initial model %s", path);
	f = fopen(path, "rb");
	if (f && !fseek(f, 0, SEEK_END))
		len = ftell(f);
	if (f && len > 0 && len <= (16L << 20) && !fseek(f, 0, SEEK_SET)) {
		blob = malloc((size_t)len);
		if (blob && fread(blob, 1, (size_t)len, f) != (size_t)len) {
			free(blob);
			blob = NULL;
		}
	}
	if (f)
		fclose(f);
	if (!blob) {
		mcai_err("%s: cannot read it (%s)", what,
			 errno ? strerror(errno) : "empty or too large");
		return -ENOENT;
	}
	if (mcai_aggr_blob_shape(blob, (u32)len, what, &m, &s))
		goto out;
	r = mcai_aggr_alloc(a, &s, &m);
	if (r)
		goto out;
	r = mcai_fedmlp_dequantise(&m, &s, a->params, err, sizeof(err));
	if (r)
		mcai_err("%s: %s", what, err);
out:
	free(blob);
	return r;
}

static int mcai_aggr_load_model(struct mcai_aggr *a)
{
	struct mcai_fedmlp_shape shape;
	struct mcai_version v;
	struct mcai_model mm;
	char desc[96];
	u64 rng = a->o.seed;
	int r;

	if (mcai_store_latest_version(a->store)) {
		r = mcai_store_read_latest(a->store, &v);
		if (r) {
			mcai_err("registry: latest version: %s",
				 mcai_store_error(a->store));
			return r;
		}
		r = mcai_aggr_blob_shape(v.blob, v.info.blob_len,
					 "registry: latest version", &mm,
					 &shape);
		if (!r && mcai_fedmlp_n_params(&shape) != v.info.n_params) {
			mcai_err("registry: version %u has %u parameters, its blob is a %s",
				 v.info.version, v.info.n_params,
				 mcai_fedmlp_describe(&shape, desc,
						      sizeof(desc)));
			r = -EINVAL;
		}
		if (!r)
			r = mcai_aggr_alloc(a, &shape, &mm);
		if (r) {
			mcai_version_free(&v);
			return r;
		}
		memcpy(a->params, v.params, a->n_params * sizeof(float));
		a->version = v.info.version;
		r = mcai_aggr_sign(a, &v.info, false);
		if (!r)
			r = mcai_aggr_cache_model(a, v.blob, v.info.blob_len,
						  v.info.parent, v.info.round);
		mcai_info("registry: continuing after round %llu from version %u (%u parameters, %s)",
			  (unsigned long long)mcai_store_last_round(a->store),
			  a->version, a->n_params,
			  mcai_fedmlp_describe(&shape, desc, sizeof(desc)));
		mcai_version_free(&v);
		mcai_aggr_adam_load(a);
		return r;
	}
	/* A fresh registry: version 1 is the initial model, round 0. */
	if (a->o.initial) {
		r = mcai_aggr_seed(a, a->o.initial);
		if (r)
			return r;
	} else {
		mcai_aggr_default_shape(&shape, a->o.hidden ? a->o.hidden :
						128);
		r = mcai_aggr_alloc(a, &shape, NULL);
		if (r)
			return r;
		mcai_mlp_init(a->mlp, MCAI_MLP_DRAW_BY_INPUT, &rng);
		mcai_mlp_get_params(a->mlp, a->params);
	}
	r = mcai_aggr_publish(a, 0, 0, NULL, NULL);
	if (!r)
		mcai_info("registry: initial model version %u (%s, %s)",
			  a->version,
			  mcai_fedmlp_describe(&a->shape, desc, sizeof(desc)),
			  a->o.initial ? a->o.initial : "random weights");
	return r;
}

/* ------------------------------------------------------------------ */
/* Privacy accountant                                                   */
/* ------------------------------------------------------------------ */

/*
 * Text, one accountant: the magic line, "rounds N", then "rdp" and the
 * RDP at each of dp.h's orders as C99 hex floats, so what is read back is
 * bit for bit what was written.  Delta and the budget are the config's:
 * the RDP curve does not depend on them, so either may change between
 * runs.  Written through mcai_atomic_write() before the version it pays
 * for is published: a crash in between leaves a round paid for that was
 * never released, which overstates the epsilon (safe) and never
 * understates it.
 */
static int mcai_aggr_dp_save(struct mcai_aggr *a)
{
	char buf[64 + MCAI_DP_ORDERS * 32], err[256];
	size_t len;
	u32 i;
	int r;

	len = (size_t)snprintf(buf, sizeof(buf), "%s\nrounds %llu\nrdp",
			       MCAI_AGGR_PRIVACY_MAGIC,
			       (unsigned long long)a->acct.rounds);
	for (i = 0; i < MCAI_DP_ORDERS && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " %a",
					a->acct.rdp[i]);
	if (len + 2 > sizeof(buf))
		return -EOVERFLOW;
	buf[len++] = '\n';
	r = mcai_atomic_write(a->privacy_path, buf, len, 0600, err,
			      sizeof(err));
	if (r)
		mcai_err("privacy accountant: %s", err);
	return r;
}

static int mcai_aggr_dp_load(struct mcai_aggr *a)
{
	const struct mcai_config *c = a->cfg;
	char buf[64 + MCAI_DP_ORDERS * 40], *p, *end;
	unsigned long long rounds;
	ssize_t n;
	u32 i;
	int fd, r;

	r = mcai_dp_acct_init(&a->acct, c->dp_delta, c->dp_budget,
			      MCAI_DP_CONV_BALLE);
	if (r) {
		mcai_err("privacy: delta %g / budget %g refused by the accountant",
			 c->dp_delta, c->dp_budget);
		return r;
	}
	snprintf(a->privacy_path, sizeof(a->privacy_path), "%s/%s",
		 c->registry_dir, MCAI_AGGR_PRIVACY_FILE);
	fd = open(a->privacy_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/*
		 * Versions published before DP was turned on were not
		 * private: the accountant cannot vouch for them, and says so.
		 */
		if (mcai_store_last_round(a->store))
			mcai_warn("privacy: no accountant in the registry but %llu rounds done already: their updates were not protected; counting from here",
				  (unsigned long long)mcai_store_last_round(a->store));
		return mcai_aggr_dp_save(a);
	}
	if (fd < 0) {
		r = -errno;
		mcai_err("%s: %s", a->privacy_path, strerror(-r));
		return r;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		mcai_err("%s: %s", a->privacy_path, strerror(errno));
		return -EIO;
	}
	buf[n] = '\0';
	/* Unreadable is not zero: refuse to run rather than forget. */
	r = -EBADMSG;
	p = buf;
	if (strncmp(p, MCAI_AGGR_PRIVACY_MAGIC "\nrounds ",
		    sizeof(MCAI_AGGR_PRIVACY_MAGIC "\nrounds ") - 1))
		goto bad;
	p += sizeof(MCAI_AGGR_PRIVACY_MAGIC "\nrounds ") - 1;
	errno = 0;
	rounds = strtoull(p, &end, 10);
	if (errno || end == p || strncmp(end, "\nrdp", 4))
		goto bad;
	p = end + 4;
	for (i = 0; i < MCAI_DP_ORDERS; i++) {
		if (*p != ' ')
			goto bad;
		a->acct.rdp[i] = strtod(p + 1, &end);
		if (end == p + 1 || !(a->acct.rdp[i] >= 0))
			goto bad;
		p = end;
	}
	if (strcmp(p, "\n"))
		goto bad;
	a->acct.rounds = rounds;
	mcai_info("privacy: accountant from the registry: %llu rounds, epsilon %.6g of %g (delta %g)",
		  rounds, mcai_dp_acct_epsilon(&a->acct), c->dp_budget,
		  c->dp_delta);
	return 0;
bad:
	mcai_err("%s: not a privacy accountant this daemon wrote; refusing to start (the epsilon already spent is unknown)",
		 a->privacy_path);
	return r;
}

/* The weakest noise a round of @want sampled nodes may end up with. */
static double mcai_aggr_dp_sigma_worst(const struct mcai_aggr *a,
				       uint32_t want)
{
	uint32_t least = a->cfg->min_clients < want ? a->cfg->min_clients :
			 want;

	if (a->cfg->dp_mode != MCAI_CFG_DP_DISTRIBUTED)
		return a->cfg->dp_sigma;
	return mcai_dp_sigma_effective(a->cfg->dp_sigma, want, least);
}

/* ------------------------------------------------------------------ */
/* Rounds                                                               */
/* ------------------------------------------------------------------ */

static uint32_t mcai_aggr_want(const struct mcai_aggr *a, uint32_t connected)
{
	uint32_t k = (uint32_t)ceil(a->cfg->fraction * connected - 1e-9);

	if (k < a->cfg->min_clients)
		k = a->cfg->min_clients;
	return k < connected ? k : connected;
}

static void mcai_aggr_record(struct mcai_aggr *a, uint32_t version,
			     double acc, double facc)
{
	struct mcai_aggr_round_rec *h;

	if (a->n_hist == MCAI_AGGR_HISTORY) {
		memmove(a->hist, a->hist + 1, sizeof(a->hist[0]) * (a->n_hist - 1));
		a->n_hist--;
	}
	h = &a->hist[a->n_hist++];
	h->round = a->round;
	h->version = version;
	h->sampled = a->sampled;
	h->answered = a->answered;
	h->accuracy = acc;
	h->float_accuracy = facc;
	h->loss = a->answered ? a->loss_sum / a->answered : -1.0;
	h->seconds = (double)(mcai_fed_now_ms() - a->t_start) / 1000.0;
	h->epsilon = version && a->priv_valid ? a->priv.epsilon : -1.0;
	h->epsilon_total = version && a->priv_valid ?
			   a->priv.epsilon_total : -1.0;
}

static void mcai_aggr_broadcast_model(struct mcai_aggr *a)
{
	size_t i;
	int r;

	for (i = 0; i < a->n_nodes; i++) {
		struct mcai_aggr_node *nd = &a->nodes[i];

		if (!nd->peer || nd->version >= a->version)
			continue;
		r = mcai_aggr_send_model(a, nd);
		if (r == -ENOBUFS)
			mcai_net_close(nd->peer, "not reading: MODEL does not fit its queue");
		else if (!r)
			nd->version = a->version;
	}
}

/* Hierarchy: the combined update of this site goes up as one UPDATE. */
static void mcai_aggr_forward(struct mcai_aggr *a, const char *how)
{
	struct mcai_msg m = { .type = MCAI_MSG_UPDATE };
	struct mcai_agg_report rep;
	char why[256];
	int r;

	if (a->answered < a->cfg->min_clients) {
		mcai_warn("round %llu failed (%s): %u of %u sampled nodes answered, minimum %u; nothing sent upstream",
			  (unsigned long long)a->round, how, a->answered,
			  a->sampled, a->cfg->min_clients);
		mcai_aggr_record(a, 0, -1.0, -1.0);
		return;
	}
	r = mcai_agg_finish(a->agg, a->combined, &rep, why, sizeof(why));
	if (r) {
		mcai_err("round %llu: aggregation failed: %s",
			 (unsigned long long)a->round, why);
		return;
	}
	mcai_aggr_record(a, a->version, -1.0, -1.0);
	if (!a->up) {
		mcai_warn("round %llu: upstream gone, combined update dropped",
			  (unsigned long long)a->round);
		return;
	}
	m.u.update.round_id = a->round;
	m.u.update.base_version = a->version;
	m.u.update.n_samples = rep.weight;
	m.u.update.train_loss = (float)(a->loss_sum / a->answered);
	m.u.update.delta_f = a->combined;
	m.u.update.n_delta = a->n_params;
	r = mcai_net_send_msg(a->up, &m, NULL);
	a->forwarded += !r;
	mcai_info("round %llu done (%s): %u of %u answered, combined update (weight %llu) %s upstream",
		  (unsigned long long)a->round, how, a->answered, a->sampled,
		  (unsigned long long)rep.weight, r ? "NOT sent" : "sent");
	mcai_aggr_write_status(a);
}

static void mcai_aggr_close_round(struct mcai_aggr *a, const char *how);

/* ------------------------------------------------------------------ */
/* Secure aggregation                                                   */
/* ------------------------------------------------------------------ */

static const char *mcai_aggr_sa_phase(uint16_t want)
{
	switch (want) {
	case MCAI_MSG_SA_ADVERT:
		return "advertise";
	case MCAI_MSG_SA_SHARES:
		return "share keys";
	case MCAI_MSG_SA_MASKED:
		return "masked input";
	case MCAI_MSG_SA_CONSIST:
		return "confirm survivors";
	case MCAI_MSG_SA_UNMASK:
		return "unmask";
	}
	return "?";
}

/*
 * The frame the library's next phase sends (KEYS, SHARES_FOR,
 * CONSIST_REQ, UNMASK_REQ) and the one it awaits in answer.
 */
static void mcai_aggr_sa_next(const struct mcai_aggr *a, uint16_t *send,
			      uint16_t *want)
{
	switch (mcai_secagg_server_phase(a->sa)) {
	case MCAI_SECAGG_PH_SHARE:
		*send = MCAI_MSG_SA_KEYS;
		*want = MCAI_MSG_SA_SHARES;
		break;
	case MCAI_SECAGG_PH_MASKED:
		*send = MCAI_MSG_SA_SHARES_FOR;
		*want = MCAI_MSG_SA_MASKED;
		break;
	case MCAI_SECAGG_PH_CONSIST:
		*send = MCAI_MSG_SA_CONSIST_REQ;
		*want = MCAI_MSG_SA_CONSIST;
		break;
	default:
		*send = MCAI_MSG_SA_UNMASK_REQ;
		*want = MCAI_MSG_SA_UNMASK;
		break;
	}
}

#ifdef MCAI_TEST_HOOKS
/* The lies of MCAI_TEST_SECAGG_HOSTILE, applied to the library's message. */
static void mcai_aggr_sa_lie(struct mcai_aggr *a, uint16_t type, u32 id,
			     struct mcai_buf *out)
{
	if (!a->sa_hostile)
		return;
	if (!strcmp(a->sa_hostile, "forge") && type == MCAI_MSG_SA_KEYS &&
	    out->len > MCAI_SECAGG_HDR_LEN + 8) {
		/* the aggregator's key in place of the first neighbour's */
		out->data[MCAI_SECAGG_HDR_LEN + 8] ^= 0x40;
		mcai_warn("test hook: KEYS for secagg id %u forged", id);
	}
	if (!strcmp(a->sa_hostile, "equivocate") &&
	    type == MCAI_MSG_SA_CONSIST_REQ && (id & 1) &&
	    out->len >= MCAI_SECAGG_HDR_LEN + 8 &&
	    mcai_le32(out->data + MCAI_SECAGG_HDR_LEN + 4) == 0) {
		/* "node 0 dropped", to odd ids only */
		u32 k = mcai_le32(out->data + MCAI_SECAGG_HDR_LEN);

		memmove(out->data + MCAI_SECAGG_HDR_LEN + 4,
			out->data + MCAI_SECAGG_HDR_LEN + 8,
			out->len - MCAI_SECAGG_HDR_LEN - 8);
		mcai_put_le32(out->data + MCAI_SECAGG_HDR_LEN, k - 1);
		out->len -= 4;
		mcai_warn("test hook: secagg id %u told node 0 dropped", id);
	}
}
#endif

/* Forget the round's secure-aggregation state (closed or failed). */
static void mcai_aggr_sa_end(struct mcai_aggr *a)
{
	size_t i;

	if (!a->sa)
		return;
	mcai_secagg_server_free(a->sa);
	a->sa = NULL;
	a->sa_pending = 0;
	a->sa_want = 0;
	for (i = 0; i < a->n_nodes; i++) {
		a->nodes[i].sa_wait = 0;
		a->nodes[i].sa_masked = false;
	}
}

static void mcai_aggr_sa_fail(struct mcai_aggr *a, const char *why)
{
	char how[320];

	mcai_warn("round %llu: secure aggregation failed in phase %s: %s",
		  (unsigned long long)a->round, mcai_aggr_sa_phase(a->sa_want),
		  why);
	snprintf(how, sizeof(how), "secure aggregation, phase %s: %s",
		 mcai_aggr_sa_phase(a->sa_want), why);
	a->answered = 0;
	mcai_aggr_close_round(a, how);
}

/*
 * An int8 round's unmasked words (mod 2^16) back to floats: the update at
 * range / 127, weight and loss at node.c's finer levels.  The integer sum
 * is logged: it must be exactly the sum of what the nodes logged.
 */
#define MCAI_AGGR_SA_LOSS_MAX	16.0f

static void mcai_aggr_sa_dequantise(struct mcai_aggr *a)
{
	const u32 n = a->n_params, lv = mcai_comp_sa_levels(a->sap.nodes);
	long long qsum = 0;
	u32 i;

	mcai_comp_sa_decode(a->sa_words, n, a->sa_comp_range,
			    MCAI_COMP_SA_LEVELS, a->sa_sum);
	mcai_comp_sa_decode(a->sa_words + n, 1, 1.0f, lv, a->sa_sum + n);
	mcai_comp_sa_decode(a->sa_words + n + 1, 1, MCAI_AGGR_SA_LOSS_MAX, lv,
			    a->sa_sum + n + 1);
	for (i = 0; i < n; i++)
		qsum += (int16_t)(a->sa_words[i] & 0xffff);
	mcai_info("round %llu: secure aggregation compressed: int8 of range %g summed in Z_2^16, integer sum %lld, weight %d of %u",
		  (unsigned long long)a->round, (double)a->sa_comp_range, qsum,
		  (int16_t)(a->sa_words[n] & 0xffff), lv);
#ifdef MCAI_TEST_HOOKS
	/* Test builds: MCAI_TEST_SA_DUMP=DIR gets DIR/r<round>-sum, the words. */
	{
		const char *dir = getenv("MCAI_TEST_SA_DUMP");
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/r%llu-sum", dir ? dir : "",
			 (unsigned long long)a->round);
		f = dir ? fopen(path, "wb") : NULL;
		if (f) {
			fwrite(a->sa_words, sizeof(u32), n + 2, f);
			fclose(f);
		}
	}
#endif
}

/*
 * The next int8 round's range: twice the largest coordinate of this
 * round's mean (a->scratch; the aggregator publishes it, so it tells
 * nothing new), so that a node's share of the mean rarely clamps.
 */
static void mcai_aggr_sa_range_next(struct mcai_aggr *a)
{
	float mx = 0;
	u32 i;

	for (i = 0; i < a->n_params; i++)
		if (fabsf(a->scratch[i]) > mx)
			mx = fabsf(a->scratch[i]);
	a->sa_comp_next = isfinite(mx) && mx > 0 ? 2 * mx : 0;
}

/* The unmasked sum: back to a weighted mean, into the strategy. */
static void mcai_aggr_sa_finish(struct mcai_aggr *a)
{
	struct mcai_secagg_report rep;
	char why[256];
	u32 i, n = a->n_params, surv;
	u64 weight;
	double w, loss;
	int r;

	r = mcai_secagg_server_result(a->sa, a->sa_words, a->sa_sum, &rep,
				      why, sizeof(why));
	if (r) {
		mcai_aggr_sa_fail(a, why);
		return;
	}
	surv = rep.masked;
	if (a->sa_ring16)
		mcai_aggr_sa_dequantise(a);
	w = a->sa_sum[n];
	if (a->dp) {
		/* Weight 1 each: dp_round turns the mean into sum / sampled. */
		for (i = 0; i < n; i++)
			a->scratch[i] = a->sa_sum[i] / (float)surv;
		weight = surv;
		loss = -1.0;
	} else {
		if (!(w > 0)) {
			snprintf(why, sizeof(why),
				 "the weights of %u masked inputs sum to %g",
				 surv, w);
			mcai_aggr_sa_fail(a, why);
			return;
		}
		for (i = 0; i < n; i++)
			a->scratch[i] = (float)(a->sa_sum[i] / w);
		weight = (u64)llround(w * (double)a->sa_weight_total);
		loss = a->sa_sum[n + 1] / w;
	}
	mcai_aggr_sa_range_next(a);
	mcai_info("round %llu: secure aggregation: sum of %u masked inputs unmasked (%u advertised, %u shared keys, %u answered the unmask request, %u dropped after sharing and recovered), weight %.6g; %llu bytes in, %llu out",
		  (unsigned long long)a->round, surv, rep.advertised,
		  rep.shared, rep.answered, rep.recovered, w,
		  (unsigned long long)a->sa_bytes_in,
		  (unsigned long long)a->sa_bytes_out);
	r = mcai_agg_add(a->agg, a->scratch, weight ? weight : 1, why,
			 sizeof(why));
	if (r) {
		mcai_aggr_sa_fail(a, why);
		return;
	}
	for (i = 0; i < a->n_nodes; i++) {
		struct mcai_aggr_node *nd = &a->nodes[i];

		if (nd->sa_masked && nd->sampled_round == a->round)
			nd->rounds++;
	}
	a->answered = surv;
	a->loss_sum = loss * surv;
	a->round_secagg = true;
	mcai_aggr_close_round(a, "secure aggregation");
}

/*
 * End the phase (all in, or its deadline): the library decides who is
 * still in and what each of them gets next.
 */
static void mcai_aggr_sa_advance(struct mcai_aggr *a, const char *how)
{
	struct mcai_msg m;
	struct mcai_buf out, fr;
	char why[256];
	uint16_t send_type;
	uint32_t dropped = a->sa_pending;
	const char *ewhy = NULL;
	size_t i;
	int r;

	r = mcai_secagg_server_close(a->sa, why, sizeof(why));
	if (r) {
		mcai_aggr_sa_fail(a, why);
		return;
	}
	mcai_info("round %llu: secure aggregation phase %s closed (%s%s)",
		  (unsigned long long)a->round, mcai_aggr_sa_phase(a->sa_want),
		  how, dropped ? ", some nodes missing" : "");
	if (a->sa_want == MCAI_MSG_SA_UNMASK) {
		mcai_aggr_sa_finish(a);
		return;
	}
	mcai_aggr_sa_next(a, &send_type, &a->sa_want);
	a->sa_pending = 0;
	a->sa_deadline = mcai_fed_now_ms() + a->cfg->deadline_ms;
	mcai_buf_init(&out);
	for (i = 0; i < a->n_nodes; i++) {
		struct mcai_aggr_node *nd = &a->nodes[i];

		nd->sa_wait = 0;
		if (!nd->peer || nd->sampled_round != a->round)
			continue;
		mcai_buf_reset(&out);
		r = mcai_secagg_server_message_for(a->sa, nd->sa_id, &out, why,
						   sizeof(why));
		if (r == -ENOENT)
			continue;
		if (r) {
			mcai_warn("round %llu: no %s for node '%s': %s",
				  (unsigned long long)a->round,
				  mcai_msg_type_name(send_type), nd->id, why);
			continue;
		}
#ifdef MCAI_TEST_HOOKS
		mcai_aggr_sa_lie(a, send_type, nd->sa_id, &out);
#endif
		memset(&m, 0, sizeof(m));
		m.type = send_type;
		m.u.secagg.data = out.data;
		m.u.secagg.len = (uint32_t)out.len;
		mcai_buf_init(&fr);
		r = mcai_msg_frame(&fr, &m, &ewhy);
		if (!r)
			r = mcai_net_send_frame(nd->peer, fr.data, fr.len);
		else
			mcai_err("round %llu: cannot encode %s: %s",
				 (unsigned long long)a->round,
				 mcai_msg_type_name(send_type), ewhy);
		if (!r) {
			a->sa_bytes_out += fr.len;
			nd->sa_wait = a->sa_want;
			a->sa_pending++;
		}
		mcai_buf_free(&fr);
	}
	mcai_buf_free(&out);
	if (!a->sa_pending)
		mcai_aggr_sa_advance(a, "nobody left to answer");
}

/* @nd will not answer this phase (gone, refused, replaced). */
static void mcai_aggr_sa_drop(struct mcai_aggr *a, struct mcai_aggr_node *nd)
{
	if (!a->sa || !nd->sa_wait || nd->sampled_round != a->round)
		return;
	mcai_warn("round %llu: node '%s' dropped out of secure aggregation in phase %s",
		  (unsigned long long)a->round, nd->id,
		  mcai_aggr_sa_phase(nd->sa_wait));
	nd->sa_wait = 0;
	if (a->sa_pending && !--a->sa_pending)
		mcai_aggr_sa_advance(a, "all answered or gone");
}

static void mcai_aggr_sa_frame(struct mcai_aggr *a, struct mcai_peer *p,
			       struct mcai_aggr_node *nd,
			       const struct mcai_msg *m)
{
	const struct mcai_msg_secagg *sm = &m->u.secagg;
	char why[256];
	int r;

	if (m->type == MCAI_MSG_SA_KEYS || m->type == MCAI_MSG_SA_SHARES_FOR ||
	    m->type == MCAI_MSG_SA_UNMASK_REQ ||
	    m->type == MCAI_MSG_SA_CONSIST_REQ) {
		mcai_warn("node '%s' sent %s, an aggregator's message",
			  nd->id, mcai_msg_type_name(m->type));
		mcai_aggr_error(p, MCAI_ERR_PROTOCOL, "unexpected message");
		mcai_net_close(p, "unexpected message");
		return;
	}
	if (!a->sa || nd->sampled_round != a->round ||
	    nd->sa_wait != m->type || sm->round != a->round) {
		mcai_warn("node '%s': %s for round %llu refused as stale (current %llu, phase %s)",
			  nd->id, mcai_msg_type_name(m->type),
			  (unsigned long long)sm->round,
			  (unsigned long long)a->round,
			  a->sa ? mcai_aggr_sa_phase(a->sa_want) : "none");
		mcai_aggr_error(p, MCAI_ERR_STALE,
				"secure aggregation message out of phase");
		return;
	}
	/* The library trusts the header's sender: it must be this peer. */
	if (sm->node != nd->sa_id) {
		mcai_warn("node '%s' (secagg id %u) sent %s as id %u: refused",
			  nd->id, nd->sa_id, mcai_msg_type_name(m->type),
			  sm->node);
		mcai_aggr_error(p, MCAI_ERR_AUTH, "secagg id of another node");
		mcai_net_close(p, "secagg id of another node");
		return;
	}
	a->sa_bytes_in += MCAI_FRAME_HDR_LEN + 4 + sm->len;
	r = mcai_secagg_server_receive(a->sa, sm->data, sm->len, why,
				       sizeof(why));
	if (r) {
		mcai_warn("round %llu: %s of node '%s' refused: %s",
			  (unsigned long long)a->round,
			  mcai_msg_type_name(m->type), nd->id, why);
		mcai_aggr_sa_drop(a, nd);
		return;
	}
	if (m->type == MCAI_MSG_SA_MASKED)
		nd->sa_masked = true;
	nd->sa_wait = 0;
	mcai_dbg("round %llu: %s from '%s', %u to go",
		 (unsigned long long)a->round, mcai_msg_type_name(m->type),
		 nd->id, a->sa_pending - 1);
	if (!--a->sa_pending)
		mcai_aggr_sa_advance(a, "all answered");
}

/*
 * Public parameters of the round's secure aggregation over the @n
 * sampled nodes: the configured graph and threshold brought within what
 * n allows, a graph seed drawn now (after sampling, as Bell et al. want).
 */
static int mcai_aggr_sa_params(struct mcai_aggr *a, uint32_t n)
{
	struct mcai_secagg_params *p = &a->sap;
	struct mcai_secagg_auth auth = { 0 };
	uint32_t d, t;
	char why[256];

	mcai_secagg_params_default(p, a->round, n,
				   a->n_params + MCAI_AGGR_SA_EXTRA);
	p->degree = a->cfg->secagg_degree < n - 1 ? a->cfg->secagg_degree : 0;
	d = p->degree ? p->degree : n - 1;
	t = a->cfg->secagg_threshold ? a->cfg->secagg_threshold : d / 2 + 1;
	if (t > d)
		t = d;
	if (2 * t <= d)
		t = d / 2 + 1;
	p->threshold = t;
	if (a->sa_signed)
		p->flags |= MCAI_SECAGG_F_SIGNED;
	if (a->sa_ring16)
		p->ring_bits = MCAI_COMP_SA_BITS;
	if (getrandom(p->graph_seed, sizeof(p->graph_seed), 0) !=
	    (ssize_t)sizeof(p->graph_seed))
		return -EIO;
	a->sa = mcai_secagg_server_new(p, why, sizeof(why));
	if (!a->sa) {
		mcai_err("round %llu: secure aggregation: %s",
			 (unsigned long long)a->round, why);
		return -EINVAL;
	}
	/* Check what the nodes will check: a bad ADVERT is refused at once. */
	if (a->sa_signed &&
	    !mcai_tls_ctx_identity(a->o.tls, NULL, NULL, &auth.ca)
#ifdef MCAI_TEST_HOOKS
	    && !a->sa_hostile	/* a lying aggregator does not check */
#endif
	    )
		mcai_secagg_server_set_auth(a->sa, &auth, NULL, 0);
	return 0;
}

/*
 * The combined update is the mean of the clipped updates (weight 1
 * each); turn it into (sum + noise) / sampled: the noise goes on the sum
 * (central mode; distributed nodes added theirs), and the denominator is
 * fixed before any node answers, so it says nothing about who did.  Then
 * pay for the round, durably, before anything of it is published.
 */
/*
 * The count's noise: privacy.clip_count_stddev, or the paper's expected
 * clients / 20, raised to z when that is smaller (a small fleet), which
 * keeps the update's multiplier within z / sqrt(3/4) = 1.155 z.
 */
static double mcai_aggr_count_stddev(const struct mcai_aggr *a, double m)
{
	const struct mcai_config *c = a->cfg;

	if (c->dp_count_stddev > 0)
		return c->dp_count_stddev;
	return m / 20 > c->dp_sigma ? m / 20 : c->dp_sigma;
}

static double mcai_aggr_adapt_sigma(struct mcai_aggr *a)
{
	double m = a->round_shares ? a->round_shares : 1;

	a->adapt.count_stddev = mcai_aggr_count_stddev(a, m);
	return mcai_dp_adaptive_sigma(a->cfg->dp_sigma, a->adapt.count_stddev);
}

static int mcai_aggr_dp_round(struct mcai_aggr *a,
			      const struct mcai_agg_report *rep)
{
	const struct mcai_config *c = a->cfg;
	double k = (double)rep->weight, m = a->round_shares ? a->round_shares : 1;
	double sigma = c->dp_sigma, er = 0, et = 0;
	char why[256];
	u32 i;
	int r;

	if (c->dp_mode == MCAI_CFG_DP_DISTRIBUTED)
		sigma = mcai_dp_sigma_effective(c->dp_sigma, a->round_shares,
						a->answered);
	a->acct_before = a->acct;
	r = mcai_dp_acct_spend(&a->acct, a->round_q, sigma, &er, &et, why,
			       sizeof(why));
	if (r) {
		snprintf(a->budget_why, sizeof(a->budget_why), "%s", why);
		a->budget_out = r == -EDQUOT;
		mcai_err("round %llu: privacy budget exhausted: %s; the round is dropped unpublished",
			 (unsigned long long)a->round, why);
		return r;
	}
	r = mcai_aggr_dp_save(a);
	if (r) {
		a->acct = a->acct_before;
		return r;
	}
	for (i = 0; i < a->n_params; i++)
		a->combined[i] = (float)(a->combined[i] * k);
	if (c->dp_mode == MCAI_CFG_DP_CENTRAL && c->dp_adaptive) {
		/*
		 * The count of updates within the clip is a second query:
		 * the update's noise takes z_delta > z so that both
		 * together cost what z alone does, which is what the
		 * accountant was charged above (runtime/fed/dp.h).
		 */
		const double clip = a->adapt.clip;

		mcai_dp_noise_central(&a->dp_rng, a->combined, a->n_params,
				      mcai_aggr_adapt_sigma(a), clip);
		a->priv.clip_norm = clip;
		mcai_dp_adaptive_round(&a->adapt, &a->dp_rng,
				       a->round_unclipped, (u32)m);
		mcai_info("privacy: round %llu: %u of %u updates within clip %g; clip now %g",
			  (unsigned long long)a->round, a->round_unclipped,
			  a->answered, clip, a->adapt.clip);
	} else {
		if (c->dp_mode == MCAI_CFG_DP_CENTRAL)
			mcai_dp_noise_central(&a->dp_rng, a->combined,
					      a->n_params, c->dp_sigma,
					      c->dp_clip);
		a->priv.clip_norm = c->dp_clip;
	}
	for (i = 0; i < a->n_params; i++)
		a->combined[i] = (float)(a->combined[i] / m);
	a->priv.epsilon = er;
	a->priv.epsilon_total = et;
	a->priv.delta = c->dp_delta;
	a->priv.noise_multiplier = sigma;
	a->priv.sample_rate = a->round_q;
	a->priv_valid = true;
	return 0;
}

static void mcai_aggr_close_round(struct mcai_aggr *a, const char *how)
{
	struct mcai_agg_report rep;
	double acc = -1.0, facc = -1.0;
	char why[256];
	uint64_t round = a->round;
	int r;

	if (a->comp_updates)
		mcai_info("round %llu: %u compressed updates, %llu bytes each (float32: %llu)",
			  (unsigned long long)round, a->comp_updates,
			  (unsigned long long)(a->comp_bytes / a->comp_updates),
			  (unsigned long long)a->n_params * 4);

	a->running = false;
	a->status_dirty = true;
	mcai_aggr_sa_end(a);
	if (a->o.upstream) {
		mcai_aggr_forward(a, how);
		return;
	}
	if (a->answered < a->cfg->min_clients) {
		mcai_warn("round %llu failed (%s): %u of %u sampled nodes answered, %u dropped out, minimum %u; retrying in %u ms",
			  (unsigned long long)round, how, a->answered,
			  a->sampled, a->dropped, a->cfg->min_clients,
			  MCAI_AGGR_RETRY_MS);
		if (mcai_store_complete_round(a->store, round))
			mcai_err("registry: %s", mcai_store_error(a->store));
		mcai_aggr_record(a, 0, -1.0, -1.0);
		a->next_start = mcai_fed_now_ms() + MCAI_AGGR_RETRY_MS;
		mcai_aggr_write_status(a);
		return;
	}
	r = mcai_agg_finish(a->agg, a->combined, &rep, why, sizeof(why));
	if (r) {
		mcai_err("round %llu: aggregation failed: %s",
			 (unsigned long long)round, why);
		mcai_store_complete_round(a->store, round);
		mcai_aggr_record(a, 0, -1.0, -1.0);
		a->next_start = mcai_fed_now_ms() + MCAI_AGGR_RETRY_MS;
		return;
	}
	if (a->dp) {
		r = mcai_aggr_dp_round(a, &rep);
		if (r) {
			mcai_store_complete_round(a->store, round);
			mcai_aggr_record(a, 0, -1.0, -1.0);
			a->next_start = mcai_fed_now_ms() + MCAI_AGGR_RETRY_MS;
			mcai_aggr_write_status(a);
			return;
		}
	}
	/* the round indexed as the clients' rate is (mcai_aggr_lr()) */
	mcai_agg_apply(a->agg, a->params, a->combined,
		       a->version > 1 ? a->version - 1 : 0, a->cfg->rounds);
	r = mcai_aggr_publish(a, round, a->answered, &acc, &facc);
	if (r && a->priv_valid) {
		/* Nothing was released: the round is not paid for. */
		a->acct = a->acct_before;
		a->priv_valid = false;
		mcai_aggr_dp_save(a);
	}
	if (r) {
		/*
		 * The registry still holds the previous version: go back to
		 * its parameters (FedAdam's moments have moved on; they are
		 * not part of the registry anyway) and redo the round.
		 */
		struct mcai_version v;

		if (!mcai_store_read_latest(a->store, &v)) {
			memcpy(a->params, v.params, a->n_params * sizeof(float));
			mcai_version_free(&v);
		}
		mcai_store_complete_round(a->store, round);
		a->next_start = mcai_fed_now_ms() + MCAI_AGGR_RETRY_MS;
		return;
	}
	a->rounds_published++;
	mcai_aggr_record(a, a->version, acc, facc);
	if (a->priv_valid)
		mcai_info("round %llu: privacy: epsilon %.6g this round, %.6g in total of %g (delta %g, q %.4g, noise multiplier %.4g, clip %g, %s)",
			  (unsigned long long)round, a->priv.epsilon,
			  a->priv.epsilon_total, a->cfg->dp_budget,
			  a->priv.delta, a->priv.sample_rate,
			  a->priv.noise_multiplier, a->priv.clip_norm,
			  mcai_cfg_dp_mode_name(a->cfg->dp_mode));
	a->priv_valid = false;
	a->round_secagg = false;
	mcai_info("round %llu done (%s): %u of %u answered (%u dropped, %u clipped, weight %llu), mean train loss %.4f -> version %u, int8 accuracy %.4f, float %.4f, %.1f s",
		  (unsigned long long)round, how, a->answered, a->sampled,
		  a->dropped, rep.clipped, (unsigned long long)rep.weight,
		  a->loss_sum / a->answered, a->version, acc, facc,
		  a->hist[a->n_hist - 1].seconds);
	mcai_aggr_broadcast_model(a);
	if (a->cfg->rounds && a->version - 1 >= a->cfg->rounds &&
	    a->version >= a->drift_target) {
		a->done = true;
		mcai_info("federation complete: %u rounds, version %u", a->cfg->rounds,
			  a->version);
	}
	a->next_start = mcai_fed_now_ms();
	mcai_aggr_write_status(a);
}

static void mcai_aggr_maybe_close(struct mcai_aggr *a)
{
	/* A secure-aggregation round closes phase by phase. */
	if (a->sa)
		return;
	if (a->running && a->answered + a->dropped >= a->sampled)
		mcai_aggr_close_round(a, a->dropped ? "all answered or gone" :
				      "all answered");
}

/*
 * The clients' learning rate: with a fixed number of rounds it follows a
 * cosine from rounds.lr towards 0 over them, as mcai-train's does over
 * its epochs, so the last rounds take small steps instead of bouncing
 * between the shards' optima.  Indexed by versions published, so a
 * restarted aggregator picks up the same schedule.  Open-ended
 * federations keep it constant.
 */
static float mcai_aggr_lr(const struct mcai_aggr *a)
{
	double done = a->version > 1 ? a->version - 1 : 0, lr;

	if (!a->cfg->rounds || done >= a->cfg->rounds)
		return a->cfg->lr;
	lr = a->cfg->lr * 0.5 * (1.0 + cos(M_PI * done / a->cfg->rounds));
	return (float)fmax(lr, a->cfg->lr * 1e-3);
}

/*
 * This round's ROUND (a->round_msg) to @nd, after the MODEL when it is
 * behind; @sa_id its place in secure aggregation.
 */
static int mcai_aggr_send_round(struct mcai_aggr *a, struct mcai_aggr_node *nd,
				uint32_t sa_id)
{
	struct mcai_msg m = a->round_msg;
	int r;

	m.u.round.sa_id = sa_id;
	if (nd->version != a->version) {
		r = mcai_aggr_send_model(a, nd);
		if (r) {
			mcai_warn("round %llu: node '%s' skipped: MODEL not sent: %s",
				  (unsigned long long)a->round, nd->id,
				  strerror(-r));
			return r;
		}
		nd->version = a->version;
	}
	/*
	 * Compression only for the nodes that said they decode it:
	 * an older node keeps its plain ROUND and UPDATE.
	 */
	m.u.round.flags &= ~(MCAI_ROUND_F_COMPRESS | MCAI_ROUND_F_STATS |
			     MCAI_ROUND_F_PROGRESS);
	if (a->stats_asked && (nd->caps & MCAI_CAP_STATS))
		m.u.round.flags |= MCAI_ROUND_F_STATS;
	/*
	 * Heartbeats from the nodes that send them: a quarter of the idle
	 * timeout, so a node training longer than that is never taken for
	 * idle (within 0.1 .. 10 s: 1,000 nodes at most 100 frames a second
	 * with the default 300 s).
	 */
	if (nd->caps & MCAI_CAP_PROGRESS) {
		uint32_t idle = a->o.idle_ms ? a->o.idle_ms : 300000;

		m.u.round.flags |= MCAI_ROUND_F_PROGRESS;
		m.u.round.progress_ms = idle / 4 < MCAI_PROTO_PROGRESS_MIN_MS ?
					MCAI_PROTO_PROGRESS_MIN_MS :
					idle / 4 > 10000 ? 10000 : idle / 4;
	}
	nd->comp_asked = a->cfg->compress && !a->sa &&
			 (nd->caps & MCAI_CAP_COMPRESS);
	if (nd->comp_asked) {
		m.u.round.flags |= MCAI_ROUND_F_COMPRESS;
		m.u.round.comp_kind = a->cfg->compress;
		m.u.round.comp_topk = a->cfg->compress_topk;
		m.u.round.comp_block = MCAI_COMP_BLOCK;
	}
	r = mcai_net_send_msg(nd->peer, &m, NULL);
	if (r)
		mcai_warn("round %llu: node '%s' skipped: ROUND not sent",
			  (unsigned long long)a->round, nd->id);
	return r;
}

/*
 * rounds.compress = int8 with secure aggregation: int8 in Z_{2^16} under
 * the masks when every sampled node can, the round's nodes cannot wrap
 * the ring, and a range is known (runtime/fed/compress.h).  Otherwise
 * this round masks floats, and says why.
 */
static void mcai_aggr_sa_compress(struct mcai_aggr *a,
				  struct mcai_msg_round *m,
				  const uint32_t *cand, uint32_t want)
{
	float range = a->sa_comp_next;
	char why[192];
	uint32_t i;

	a->sa_ring16 = false;
	if (a->cfg->compress != MCAI_COMP_INT8)
		return;
	for (i = 0; i < want; i++)
		if (!(a->nodes[cand[i]].caps & MCAI_CAP_SA_COMPRESS)) {
			mcai_warn("round %llu: secure aggregation of floats: node '%s' cannot mask int8 (an older node)",
				  (unsigned long long)a->round,
				  a->nodes[cand[i]].id);
			return;
		}
	/* a distributed-DP noise share: 4 standard deviations fit too */
	if (range > 0 && (m->flags & MCAI_ROUND_F_DP)) {
		float sd = m->dp_sigma * m->dp_clip /
			   sqrtf((float)m->dp_shares);

		if (4 * sd > range)
			range = 4 * sd;
	}
	if (!(range > 0)) {
		mcai_info("round %llu: secure aggregation of floats: no int8 range known yet (the next one is twice this round's largest mean coordinate)",
			  (unsigned long long)a->round);
		return;
	}
	if (mcai_comp_sa_check(want, MCAI_COMP_SA_BITS, range, why,
			       sizeof(why))) {
		mcai_warn("round %llu: secure aggregation of floats: %s",
			  (unsigned long long)a->round, why);
		return;
	}
	a->sa_ring16 = true;
	a->sa_comp_range = range;
	m->flags |= MCAI_ROUND_F_SA_COMPRESS;
	m->sa_comp_range = range;
	m->sa_comp_bits = MCAI_COMP_SA_BITS;
}

static void mcai_aggr_start_round(struct mcai_aggr *a, uint32_t connected)
{
	struct mcai_msg m = { .type = MCAI_MSG_ROUND };
	const struct mcai_msg_round *up = a->o.upstream ? &a->up_round : NULL;
	uint32_t want = mcai_aggr_want(a, connected), i, j, t;
	uint32_t *cand;
	u64 rng;
	size_t k;

	cand = calloc(connected, sizeof(*cand));
	if (!cand)
		return;
	/*
	 * A node that refused the current version (its trust store does
	 * not take our signature) cannot train on it: sampling it would
	 * only hold the round until the deadline.
	 */
	for (k = 0, i = 0; k < a->n_nodes; k++)
		if (a->nodes[k].peer && a->nodes[k].refused != a->version)
			cand[i++] = (uint32_t)k;
	connected = i;
	want = mcai_aggr_want(a, connected);
	if (a->dp && !up) {
		double q = connected ? (double)want / connected : 1.0;
		double sw = mcai_aggr_dp_sigma_worst(a, want), er = 0, et = 0;

		/*
		 * Refused before a single node trains: the budget is spent
		 * by what is released, and past it nothing more may be.
		 */
		if (mcai_dp_acct_preview(&a->acct, q, sw, &er, &et) ||
		    !(et <= a->cfg->dp_budget)) {
			snprintf(a->budget_why, sizeof(a->budget_why),
				 "round %llu would take epsilon from %.6g to %.6g (q %.4g, noise multiplier %.4g, delta %g), budget %g",
				 (unsigned long long)mcai_store_last_round(a->store) + 1,
				 mcai_dp_acct_epsilon(&a->acct), et, q, sw,
				 a->cfg->dp_delta, a->cfg->dp_budget);
			mcai_err("privacy budget exhausted: %s; no more rounds",
				 a->budget_why);
			a->budget_out = true;
			a->status_dirty = true;
			mcai_aggr_write_status(a);
			free(cand);
			return;
		}
		a->round_q = q;
		a->round_shares = want;
	}
	a->round = up ? up->round_id : mcai_store_last_round(a->store) + 1;
	/* Seeded per round: a restarted aggregator samples the same way. */
	rng = a->o.seed ^ (a->round * 0xd1b54a32d192ed03ULL);
	for (i = 0; i < want; i++) {
		j = i + mcai_mlp_below(&rng, connected - i);
		t = cand[i];
		cand[i] = cand[j];
		cand[j] = t;
	}
	mcai_agg_begin(a->agg);
	a->running = true;
	a->started_once = true;
	a->sampled = a->answered = a->dropped = 0;
	a->loss_sum = 0.0;
	a->round_unclipped = 0;
	a->comp_bytes = 0;
	a->comp_updates = 0;
	/* Statistics travel in clear: not beside DP noise or SecAgg masks. */
	a->stats_asked = a->cfg->drift_stats && !a->dp && !a->cfg->secagg &&
			 !up && a->st_sum;
	a->stats_bad = false;
	a->st_nodes = a->st_nf = a->st_nc = 0;
	a->st_samples = 0;
	memset(a->st_classes, 0, sizeof(a->st_classes));
	a->t_start = mcai_fed_now_ms();
	m.u.round.round_id = a->round;
	snprintf(m.u.round.model, sizeof(m.u.round.model), "%s", a->cfg->model);
	m.u.round.base_version = a->version;
	m.u.round.deadline_ms = a->cfg->deadline_ms;
	m.u.round.local_epochs = a->cfg->local_epochs;
	m.u.round.batch = a->cfg->batch;
	m.u.round.lr = mcai_aggr_lr(a);
	m.u.round.prox_mu = a->cfg->strategy == MCAI_CFG_FEDPROX ?
			    a->cfg->prox_mu : 0.0f;
	if (a->dp && a->cfg->dp_mode == MCAI_CFG_DP_DISTRIBUTED) {
		m.u.round.flags |= MCAI_ROUND_F_DP;
		m.u.round.dp_clip = (float)a->cfg->dp_clip;
		m.u.round.dp_sigma = (float)a->cfg->dp_sigma;
		m.u.round.dp_shares = want;
	}
	if (up) {
		/*
		 * The upstream's training parameters; our own deadline ends
		 * early enough to get the combined update up in time.
		 */
		m.u.round.local_epochs = up->local_epochs;
		m.u.round.batch = up->batch;
		m.u.round.lr = up->lr;
		m.u.round.prox_mu = up->prox_mu;
		if (up->deadline_ms * 3 / 4 < m.u.round.deadline_ms)
			m.u.round.deadline_ms = up->deadline_ms * 3 / 4 ?
						up->deadline_ms * 3 / 4 : 1;
	}
	a->deadline = a->t_start + m.u.round.deadline_ms;
	if (a->cfg->secagg && !up) {
		/* Signed only when every sampled node can: older ones could not. */
		a->sa_signed = a->cfg->secagg_signed && a->o.tls;
		for (i = 0; i < want && a->sa_signed; i++)
			a->sa_signed = a->nodes[cand[i]].caps &
				       MCAI_CAP_SA_SIGNED;
		if (a->cfg->secagg_signed && !a->sa_signed)
			mcai_warn("round %llu: secure aggregation not signed: a sampled node does not offer it (an older node)",
				  (unsigned long long)a->round);
		mcai_aggr_sa_compress(a, &m.u.round, cand, want);
		if (want < 2 || mcai_aggr_sa_params(a, want)) {
			mcai_warn("round %llu: secure aggregation over %u nodes not possible; retrying in %u ms",
				  (unsigned long long)a->round, want,
				  MCAI_AGGR_RETRY_MS);
			a->running = false;
			a->next_start = mcai_fed_now_ms() + MCAI_AGGR_RETRY_MS;
			free(cand);
			return;
		}
		a->sa_weight_total = 0;
		for (i = 0; i < want; i++)
			a->sa_weight_total += a->nodes[cand[i]].n_samples;
		m.u.round.flags |= MCAI_ROUND_F_SECAGG |
				   (a->sa_signed ? MCAI_ROUND_F_SA_SIGNED : 0);
		m.u.round.sa_nodes = want;
		m.u.round.sa_threshold = a->sap.threshold;
		m.u.round.sa_degree = a->sap.degree;
		m.u.round.sa_scale_bits = a->sap.scale_bits;
		m.u.round.sa_clip = a->sap.clip;
		m.u.round.sa_weight_total = a->sa_weight_total;
		memcpy(m.u.round.sa_graph_seed, a->sap.graph_seed,
		       sizeof(m.u.round.sa_graph_seed));
		a->sa_want = MCAI_MSG_SA_ADVERT;
		a->sa_pending = 0;
		a->sa_deadline = a->deadline;
		a->sa_bytes_in = a->sa_bytes_out = 0;
	}
	a->round_msg = m;
	for (i = 0; i < want; i++) {
		struct mcai_aggr_node *nd = &a->nodes[cand[i]];

		if (mcai_aggr_send_round(a, nd, i))
			continue;
		nd->sampled_round = a->round;
		nd->answered = false;
		nd->gone = false;
		a->sampled++;
		if (a->sa) {
			nd->sa_id = i;
			nd->sa_wait = MCAI_MSG_SA_ADVERT;
			nd->sa_masked = false;
			a->sa_pending++;
		}
	}
	free(cand);
	mcai_info("round %llu: %u of %u connected nodes sampled (fraction %.2f, minimum %u), base version %u, lr %.4g, deadline %u ms",
		  (unsigned long long)a->round, a->sampled, connected,
		  a->cfg->fraction, a->cfg->min_clients, a->version,
		  (double)m.u.round.lr, m.u.round.deadline_ms);
	if (a->sa)
		mcai_info("round %llu: secure aggregation over %u nodes, threshold %u, %s%s, fixed point 2^-%u in [-%g, %g], deadline %u ms per phase",
			  (unsigned long long)a->round, want, a->sap.threshold,
			  a->sap.degree ? "SecAgg+ graph" : "complete graph",
			  a->sa_signed ? ", signed (fleet certificates, consistency check)" : "",
			  a->sap.scale_bits, (double)a->sap.clip,
			  (double)a->sap.clip, a->cfg->deadline_ms);
	if (a->sa && a->sa_ring16)
		mcai_info("round %llu: secure aggregation of int8 in Z_2^16: range %g (step %g), %u bytes a parameter",
			  (unsigned long long)a->round, (double)a->sa_comp_range,
			  (double)(a->sa_comp_range / MCAI_COMP_SA_LEVELS),
			  MCAI_COMP_SA_BITS / 8);
	if (!a->sampled)
		mcai_aggr_close_round(a, "nobody reachable");
}

void mcai_aggr_tick(struct mcai_aggr *a)
{
	uint64_t now = mcai_fed_now_ms();
	uint32_t connected, need;

	if (a->running && a->sa) {
		if (now >= a->sa_deadline)
			mcai_aggr_sa_advance(a, "deadline");
	} else if (a->running) {
		if (now >= a->deadline)
			mcai_aggr_close_round(a, "deadline");
	} else if (a->o.upstream) {
		if (a->up_pending) {
			a->up_pending = false;
			connected = mcai_aggr_eligible(a);
			if (connected >= a->cfg->min_clients)
				mcai_aggr_start_round(a, connected);
			else
				mcai_warn("upstream round %llu: %u nodes connected, minimum %u: not taking part",
					  (unsigned long long)a->up_round.round_id,
					  connected, a->cfg->min_clients);
		}
	} else if (!a->done && !a->budget_out && now >= a->next_start) {
		connected = mcai_aggr_eligible(a);
		need = a->cfg->min_clients;
		if (!a->started_once && a->o.start_nodes > need)
			need = a->o.start_nodes;
		if (connected >= need)
			mcai_aggr_start_round(a, connected);
	}
	if (a->status_dirty && now >= a->status_at)
		mcai_aggr_write_status(a);
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */
/* ------------------------------------------------------------------ */

/*
 * The slot of the disconnected node gone longest, to make room under
 * network.max_nodes; a->n_nodes when every known node is connected.
 * Slots are reused in place: connected peers keep their index.
 */
static size_t mcai_aggr_evict(const struct mcai_aggr *a)
{
	size_t i, best = a->n_nodes;

	for (i = 0; i < a->n_nodes; i++) {
		if (a->nodes[i].peer)
			continue;
		if (best == a->n_nodes ||
		    a->nodes[i].last_seen < a->nodes[best].last_seen)
			best = i;
	}
	return best;
}

/*
 * A node sampled in the running round is back (it restarted, or its
 * link dropped and it reconnected).  Gone without answering: it is asked
 * again, out of the dropped count, and its one UPDATE counts like any
 * other.  Already answered: its update is in the sum once, and any other
 * UPDATE it sends for the round is refused as stale.  Not in a secure
 * aggregation round: its keys went with its connection.
 */
static int mcai_aggr_rejoin(struct mcai_aggr *a, struct mcai_aggr_node *nd)
{
	int r;

	if (!a->running || nd->sampled_round != a->round)
		return 0;
	if (nd->answered) {
		mcai_info("round %llu: node '%s' is back; its update is counted already (%u of %u answered)",
			  (unsigned long long)a->round, nd->id, a->answered,
			  a->sampled);
		return 0;
	}
	if (!nd->gone || a->sa)
		return 0;
	r = mcai_aggr_send_round(a, nd, 0);
	if (r)
		return r;
	nd->gone = false;
	a->dropped--;
	mcai_info("round %llu: node '%s' is back: asked again (%u of %u answered, %u dropped)",
		  (unsigned long long)a->round, nd->id, a->answered, a->sampled,
		  a->dropped);
	return 0;
}

static int mcai_aggr_hello(struct mcai_aggr *a, struct mcai_peer *p,
			   const struct mcai_msg_hello *h)
{
	struct mcai_msg m = { .type = MCAI_MSG_WELCOME };
	struct mcai_aggr_node *nd = NULL;
	size_t i;
	int r;

	if (mcai_aggr_peer_node(a, p)) {
		mcai_net_close(p, "second HELLO");
		return 0;
	}
	if (strcmp(h->model, a->cfg->model)) {
		mcai_warn("peer %s: node '%s' trains model '%s', this fleet '%s'",
			  mcai_peer_name(p), h->node_id, h->model,
			  a->cfg->model);
		mcai_aggr_error(p, MCAI_ERR_MODEL, "unknown model");
		mcai_net_close(p, "wrong model");
		return 0;
	}
	if (!h->n_samples) {
		mcai_aggr_error(p, MCAI_ERR_PROTOCOL, "no samples to train on");
		mcai_net_close(p, "node without samples");
		return 0;
	}
	for (i = 0; i < a->n_nodes; i++)
		if (!strcmp(a->nodes[i].id, h->node_id))
			break;
	if (i < a->n_nodes) {
		nd = &a->nodes[i];
		/*
		 * A node id belongs to the certificate it first joined
		 * with, connected or not: another gateway of the fleet can
		 * neither push it out by its name nor take over its
		 * history (rounds, samples) once it has left.
		 */
		if (strcmp(nd->cn, mcai_peer_cn(p))) {
			if (nd->peer)
				mcai_warn("peer %s: node id '%s' is connected with certificate '%s': refused",
					  mcai_peer_name(p), nd->id, nd->cn);
			else
				mcai_warn("peer %s: node id '%s' belongs to certificate '%s', not '%s': refused",
					  mcai_peer_name(p), nd->id, nd->cn,
					  mcai_peer_cn(p));
			mcai_aggr_error(p, MCAI_ERR_AUTH,
					"node id bound to another certificate");
			mcai_net_close(p, "node id bound to another certificate");
			return 0;
		}
		if (nd->peer) {
			struct mcai_msg bye = { .type = MCAI_MSG_BYE };

			bye.u.bye.reason = MCAI_BYE_REPLACED;
			mcai_net_send_msg(nd->peer, &bye, NULL);
			mcai_peer_set_data(nd->peer, NULL);
			mcai_net_close(nd->peer, "replaced by a new connection");
			mcai_aggr_sa_drop(a, nd);
			if (a->running && nd->sampled_round == a->round &&
			    !nd->answered && !nd->gone) {
				a->dropped++;
				nd->gone = true;
			}
		}
	} else if (a->n_nodes >= a->cfg->max_nodes) {
		i = mcai_aggr_evict(a);
		if (i == a->n_nodes) {
			mcai_warn("peer %s: node '%s' refused: %zu nodes known, all connected (network.max_nodes)",
				  mcai_peer_name(p), h->node_id, a->n_nodes);
			mcai_aggr_error(p, MCAI_ERR_BUSY, "too many nodes");
			mcai_net_close(p, "node table full");
			return 0;
		}
		nd = &a->nodes[i];
		mcai_info("node '%s' (gone since %lld) forgotten for '%s' (network.max_nodes %u)",
			  nd->id, (long long)nd->last_seen, h->node_id,
			  a->cfg->max_nodes);
		memset(nd, 0, sizeof(*nd));
		snprintf(nd->id, sizeof(nd->id), "%s", h->node_id);
	} else {
		if (a->n_nodes == a->cap_nodes) {
			size_t cap = a->cap_nodes ? 2 * a->cap_nodes : 16;
			struct mcai_aggr_node *nn;

			nn = realloc(a->nodes, cap * sizeof(*nn));
			if (!nn) {
				mcai_net_close(p, "out of memory");
				return 0;
			}
			a->nodes = nn;
			a->cap_nodes = cap;
		}
		nd = &a->nodes[a->n_nodes++];
		memset(nd, 0, sizeof(*nd));
		snprintf(nd->id, sizeof(nd->id), "%s", h->node_id);
		i = a->n_nodes - 1;
	}
	nd->peer = p;
	snprintf(nd->cn, sizeof(nd->cn), "%s", mcai_peer_cn(p));
	nd->version = h->model_version;
	nd->n_samples = h->n_samples;
	nd->caps = h->caps;
	nd->role = h->role;
	/* It may trust us now (a fixed trust store); it will say if not. */
	nd->refused = 0;
	nd->last_seen = time(NULL);
	mcai_peer_set_data(p, (void *)(uintptr_t)(i + 1));
	a->status_dirty = true;
	mcai_info("peer %s: node '%s' joined: version %u, %llu samples (%u connected)",
		  mcai_peer_name(p), nd->id, nd->version,
		  (unsigned long long)nd->n_samples, mcai_aggr_connected(a));
	snprintf(m.u.welcome.node_id, sizeof(m.u.welcome.node_id), "%s",
		 nd->id);
	snprintf(m.u.welcome.fleet, sizeof(m.u.welcome.fleet), "%s",
		 a->o.fleet && mcai_proto_id_ok(a->o.fleet) ? a->o.fleet :
		 "default");
	m.u.welcome.version = a->version;
	r = mcai_net_send_msg(p, &m, NULL);
	if (!r && nd->version < a->version &&
	    (a->model_frame.len || a->model_payload.len)) {
		r = mcai_aggr_send_model(a, nd);
		if (!r)
			nd->version = a->version;
		else if (r == -EMSGSIZE)
			r = 0;
	}
	if (!r)
		r = mcai_aggr_rejoin(a, nd);
	return r == -EPIPE ? -EPIPE : 0;
}

static void mcai_aggr_update(struct mcai_aggr *a, struct mcai_peer *p,
			     struct mcai_aggr_node *nd,
			     const struct mcai_msg_update *u)
{
	const float *delta;
	char why[256];
	int r;

	if (!a->running || u->round_id != a->round || a->sa ||
	    nd->sampled_round != a->round || nd->answered || nd->gone) {
		mcai_warn("node '%s': UPDATE for round %llu refused as stale (current %llu, %s)",
			  nd->id, (unsigned long long)u->round_id,
			  (unsigned long long)a->round,
			  !a->running ? "no round open" :
			  a->sa ? "secure aggregation round" :
			  nd->sampled_round != a->round ? "not sampled" :
			  nd->answered ? "already answered" :
			  nd->gone ? "dropped out of it" : "other round");
		mcai_aggr_error(p, MCAI_ERR_STALE, "update for a closed round");
		return;
	}
	if (a->fedper && u->base_version == a->version &&
	    (u->comp || u->delta.n != a->split.n_shared)) {
		char msg[sizeof(((struct mcai_msg_error *)0)->message)];

		snprintf(msg, sizeof(msg),
			 "personal.mode = fedper, personal.layers = %s: an update is the %u shared parameters, this one has %u",
			 a->cfg->personal_layers, a->split.n_shared,
			 u->comp ? 0 : u->delta.n);
		mcai_warn("node '%s': UPDATE refused: %s%s", nd->id, msg,
			  !u->comp && u->delta.n == a->n_params ?
			  " (it carries the personal layers: the node is not set to fedper)" :
			  " (the node keeps other layers personal)");
		mcai_aggr_error(p, MCAI_ERR_MODEL, msg);
		/*
		 * It would send the same next time: out of this round now,
		 * so the round does not wait for its deadline.
		 */
		nd->gone = true;
		a->dropped++;
		mcai_aggr_maybe_close(a);
		return;
	}
	if (!a->fedper && u->base_version == a->version && !u->comp &&
	    u->delta.n < a->n_params) {
		char msg[sizeof(((struct mcai_msg_error *)0)->message)];

		/* a node keeping layers personal, in a fleet that does not */
		snprintf(msg, sizeof(msg),
			 "an update is the model's %u parameters, this one has %u (this aggregator is not set to personal.mode = fedper)",
			 a->n_params, u->delta.n);
		mcai_warn("node '%s': UPDATE refused: %s", nd->id, msg);
		mcai_aggr_error(p, MCAI_ERR_MODEL, msg);
		nd->gone = true;	/* as above: it would send the same */
		a->dropped++;
		mcai_aggr_maybe_close(a);
		return;
	}
	if (u->base_version != a->version ||
	    (!u->comp && !a->fedper && u->delta.n != a->n_params)) {
		mcai_warn("node '%s': UPDATE refused: base %u (want %u), %u values (want %u)",
			  nd->id, u->base_version, a->version, u->delta.n,
			  a->n_params);
		mcai_aggr_error(p, MCAI_ERR_MODEL, "update does not match the round");
		return;
	}
	/*
	 * The weight of an update is its sample count: a node claiming more
	 * than it declared when it joined would buy itself a bigger share
	 * of the average.  A site aggregator is exempt: it says HELLO before
	 * its own nodes join, so only its UPDATEs know the samples behind it.
	 */
	if (nd->role != MCAI_ROLE_AGGREGATOR && u->n_samples > nd->n_samples) {
		mcai_warn("node '%s': UPDATE for round %llu refused: %llu samples, HELLO declared %llu",
			  nd->id, (unsigned long long)u->round_id,
			  (unsigned long long)u->n_samples,
			  (unsigned long long)nd->n_samples);
		mcai_aggr_error(p, MCAI_ERR_PROTOCOL,
				"update claims more samples than declared");
		return;
	}
	/*
	 * One scratch vector: memory does not grow with the nodes.  A plain
	 * update without central DP (which clips it in place) is read where
	 * it is, in the received frame, when those bytes are host floats.
	 */
	delta = a->scratch;
	if (u->comp) {
		/* UPDATE_Z: only to a round that asked this node for it */
		if (!nd->comp_asked) {
			mcai_warn("node '%s': compressed UPDATE for a round that did not ask for one",
				  nd->id);
			mcai_aggr_error(p, MCAI_ERR_PROTOCOL,
					"compressed update not asked for");
			return;
		}
		r = mcai_comp_decode(u->comp, u->comp_len, a->n_params,
				     a->scratch, why, sizeof(why));
		if (r) {
			mcai_warn("node '%s': compressed UPDATE refused: %s",
				  nd->id, why);
			mcai_aggr_error(p, MCAI_ERR_MODEL,
					"compressed update does not decode");
			return;
		}
		a->comp_bytes += u->comp_len;
		a->comp_updates++;
	} else if (a->fedper) {
		u32 k;

		/*
		 * The shared values where they belong, zero in the personal
		 * ranges: the strategy leaves the global model's alone.
		 */
		delta = a->scratch;
		mcai_f32v_copy(&u->delta, a->combined);
		for (k = 0; k < a->split.n_ranges; k++)
			memset(a->scratch + a->split.personal[k].off, 0,
			       a->split.personal[k].len * sizeof(float));
		mcai_pers_unpack(&a->split, a->combined, a->scratch);
		a->pers_updates++;
		mcai_info("round %llu: node '%s': fedper update of %u shared values (%u bytes), none of the %u personal ones",
			  (unsigned long long)a->round, nd->id, u->delta.n,
			  u->delta.n * 4, a->n_params - a->split.n_shared);
	} else if ((a->dp && a->cfg->dp_mode == MCAI_CFG_DP_CENTRAL) ||
		   !(delta = mcai_f32v_floats(&u->delta))) {
		delta = a->scratch;
		mcai_f32v_copy(&u->delta, a->scratch);
	}
	/*
	 * With DP every update weighs the same: the sensitivity of the sum
	 * is one clipped update, whatever the node's sample count.
	 */
	if (a->dp && a->cfg->dp_mode == MCAI_CFG_DP_CENTRAL) {
		double clip = a->cfg->dp_clip;

		if (a->cfg->dp_adaptive) {
			clip = a->adapt.clip;
			a->round_unclipped +=
				mcai_l2_norm(a->scratch, a->n_params) <= clip;
		}
		mcai_dp_clip(a->scratch, a->n_params, clip);
	}
	/* the node's training loss: q-FFL's F_k (the others ignore it) */
	r = mcai_agg_add_loss(a->agg, delta, a->dp ? 1 : u->n_samples,
			      u->train_loss, why, sizeof(why));
	if (r) {
		mcai_warn("node '%s': UPDATE refused by %s: %s", nd->id,
			  a->strategy, why);
		return;
	}
	nd->answered = true;
	nd->rounds++;
	nd->last_loss = u->train_loss;
	a->answered++;
	a->loss_sum += u->train_loss;
	mcai_dbg("round %llu: update from '%s' (%llu samples, loss %.4f), %u of %u",
		 (unsigned long long)a->round, nd->id,
		 (unsigned long long)u->n_samples, (double)u->train_loss,
		 a->answered, a->sampled);
	mcai_aggr_maybe_close(a);
}

/*
 * A heartbeat of a sampled node still training: it is alive (the frame
 * itself keeps its connection from the idle timeout) and in the round
 * until the deadline.  One for another round, or from a node that was
 * not asked, is only logged: it may have crossed the round's close.
 */
static void mcai_aggr_progress(struct mcai_aggr *a, struct mcai_aggr_node *nd,
			       const struct mcai_msg_progress *g)
{
	if (!a->running || g->round_id != a->round ||
	    nd->sampled_round != a->round || nd->answered || nd->gone ||
	    !(nd->caps & MCAI_CAP_PROGRESS)) {
		mcai_dbg("node '%s': PROGRESS for round %llu ignored (current %llu)",
			 nd->id, (unsigned long long)g->round_id,
			 (unsigned long long)a->round);
		return;
	}
	mcai_dbg("round %llu: node '%s' training, %u of %u batches",
		 (unsigned long long)a->round, nd->id, g->done, g->total);
}

/* A sampled node's training statistics, folded into the round's. */
static void mcai_aggr_datastats(struct mcai_aggr *a, struct mcai_aggr_node *nd,
				const struct mcai_msg_datastats *d)
{
	uint32_t i;

	if (!a->running || !a->stats_asked || d->round_id != a->round ||
	    nd->sampled_round != a->round || nd->answered || nd->gone ||
	    nd->stats_round == a->round) {
		mcai_warn("node '%s': DATASTATS for round %llu ignored (current %llu)",
			  nd->id, (unsigned long long)d->round_id,
			  (unsigned long long)a->round);
		return;
	}
	nd->stats_round = a->round;
	if (d->n_features != a->shape.dim[0]) {
		mcai_warn("round %llu: node '%s' sent statistics of %u features, the model takes %u: none this round",
			  (unsigned long long)a->round, nd->id, d->n_features,
			  a->shape.dim[0]);
		a->stats_bad = true;
		return;
	}
	if (a->st_nodes && (d->n_features != a->st_nf ||
			    d->n_classes != a->st_nc)) {
		mcai_warn("round %llu: node '%s' sent statistics of %u features, %u classes, others %u, %u: none this round",
			  (unsigned long long)a->round, nd->id, d->n_features,
			  d->n_classes, a->st_nf, a->st_nc);
		a->stats_bad = true;
		return;
	}
	if (!a->st_nodes) {
		a->st_nf = d->n_features;
		a->st_nc = d->n_classes;
		memset(a->st_sum, 0, MCAI_PROV_STATS_MAX_FEATURES * sizeof(double));
		memset(a->st_sumsq, 0, MCAI_PROV_STATS_MAX_FEATURES * sizeof(double));
	}
	for (i = 0; i < d->n_features; i++) {
		double m = mcai_f32v_get(&d->mean, i);
		double v = mcai_f32v_get(&d->var, i);

		a->st_sum[i] += (double)d->samples * m;
		a->st_sumsq[i] += (double)d->samples * (v + m * m);
	}
	for (i = 0; i < d->n_classes; i++)
		a->st_classes[i] += d->classes[i];
	a->st_samples += d->samples;
	a->st_nodes++;
	mcai_dbg("round %llu: statistics from '%s': %llu samples, %u features",
		 (unsigned long long)a->round, nd->id,
		 (unsigned long long)d->samples, d->n_features);
}

/*
 * A node's round request (DRIFT): counted by the policy of drift.*
 * (runtime/fed/drift.h); when it says start, drift.rounds more rounds
 * run past rounds.count, and the requests are spent.
 */
static void mcai_aggr_drift(struct mcai_aggr *a, struct mcai_aggr_node *nd,
			    const struct mcai_msg_drift *d)
{
	const struct mcai_config *c = a->cfg;
	struct mcai_drift_policy pol = {
		.min_nodes = c->drift_min_nodes,
		.min_fraction = c->drift_min_fraction,
		.window_s = c->drift_window_s,
	};
	struct mcai_drift_report *rep;
	uint64_t now = (uint64_t)time(NULL);
	uint32_t voting = 0, connected = mcai_aggr_connected(a);
	size_t i, n = 0;
	bool start;

	mcai_info("drift: node '%s' reports %s version %u at score %.3f (threshold %.3f)%s",
		  nd->id, d->model, d->version, (double)d->score,
		  (double)d->threshold,
		  c->drift_min_nodes ? "" : "; drift.min_nodes = 0: not acted on");
	if (!c->drift_min_nodes || strcmp(d->model, c->model))
		return;
	nd->drift_at = now;
	nd->drift_score = d->score;
	a->status_dirty = true;
	rep = calloc(a->n_nodes, sizeof(*rep));
	if (!rep)
		return;
	for (i = 0; i < a->n_nodes; i++)
		if (a->nodes[i].drift_at && a->nodes[i].peer) {
			rep[n].node = a->nodes[i].id;
			rep[n].at_s = a->nodes[i].drift_at;
			n++;
		}
	start = mcai_drift_policy_start(&pol, rep, n, connected, now, &voting);
	free(rep);
	if (!start) {
		mcai_info("drift: %u of %u connected nodes asked within %u s (policy: %u nodes, fraction %.2f): no round yet",
			  voting, connected, c->drift_window_s,
			  c->drift_min_nodes, c->drift_min_fraction);
		return;
	}
	for (i = 0; i < a->n_nodes; i++)
		a->nodes[i].drift_at = 0;
	if (a->budget_out) {
		mcai_warn("drift: %u nodes asked for a round, but the privacy budget is spent",
			  voting);
		return;
	}
	a->drift_triggers++;
	a->drift_target = (a->running ? a->version + 1 : a->version) +
			  c->drift_rounds;
	mcai_info("drift: %u of %u connected nodes asked within %u s: starting %u round(s), up to version %u",
		  voting, connected, c->drift_window_s, c->drift_rounds,
		  a->drift_target);
	if (a->done) {
		a->done = false;
		a->next_start = mcai_fed_now_ms();
	}
}

static void mcai_aggr_telemetry(struct mcai_aggr *a, struct mcai_aggr_node *nd,
				const struct mcai_msg_telemetry *t)
{
	uint32_t i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->entries[i].model, a->cfg->model) && i + 1 < t->n)
			continue;
		nd->telem = t->entries[i];
		nd->have_telem = true;
		a->status_dirty = true;
		break;
	}
}

/*
 * The node would not install what we sent it (provenance): it keeps its
 * old version, so it is out of the round in progress and of the next
 * ones until a newer version comes along.
 */
static void mcai_aggr_refused(struct mcai_aggr *a, struct mcai_aggr_node *nd)
{
	nd->refused = a->version;
	nd->version = 0;
	a->status_dirty = true;
	mcai_aggr_sa_drop(a, nd);
	if (a->running && nd->sampled_round == a->round && !nd->answered &&
	    !nd->gone) {
		mcai_warn("round %llu: node '%s' refused version %u, counted as dropped out",
			  (unsigned long long)a->round, nd->id, a->version);
		nd->sampled_round = 0;
		a->dropped++;
		mcai_aggr_maybe_close(a);
	}
}

int mcai_aggr_frame(struct mcai_aggr *a, struct mcai_peer *p,
		    const struct mcai_frame_hdr *h, const uint8_t *payload)
{
	struct mcai_aggr_node *nd = mcai_aggr_peer_node(a, p);
	struct mcai_msg m;
	const char *why = NULL;
	int r = 0;

	if (mcai_msg_decode(h->type, payload, h->length, &m, &why)) {
		mcai_warn("peer %s: malformed %s: %s", mcai_peer_name(p),
			  mcai_msg_type_name(h->type), why);
		mcai_aggr_error(p, MCAI_ERR_PROTOCOL, why);
		mcai_net_close(p, "malformed message");
		return 0;
	}
	if (!nd && m.type != MCAI_MSG_HELLO) {
		mcai_warn("peer %s: %s before HELLO", mcai_peer_name(p),
			  mcai_msg_type_name(m.type));
		mcai_aggr_error(p, MCAI_ERR_PROTOCOL, "HELLO first");
		mcai_net_close(p, "no HELLO");
		mcai_msg_release(&m);
		return 0;
	}
	if (nd)
		nd->last_seen = time(NULL);
	switch (m.type) {
	case MCAI_MSG_HELLO:
		r = mcai_aggr_hello(a, p, &m.u.hello);
		break;
	case MCAI_MSG_UPDATE:
	case MCAI_MSG_UPDATE_Z:
		mcai_aggr_update(a, p, nd, &m.u.update);
		break;
	case MCAI_MSG_TELEMETRY:
		mcai_aggr_telemetry(a, nd, &m.u.telemetry);
		break;
	case MCAI_MSG_DATASTATS:
		mcai_aggr_datastats(a, nd, &m.u.datastats);
		break;
	case MCAI_MSG_PROGRESS:
		mcai_aggr_progress(a, nd, &m.u.progress);
		break;
	case MCAI_MSG_MODEL_RESUME:
		mcai_aggr_resume(a, nd, &m.u.resume);
		break;
	case MCAI_MSG_DRIFT:
		mcai_aggr_drift(a, nd, &m.u.drift);
		break;
	case MCAI_MSG_ERROR:
		mcai_warn("node '%s' reports error %u: %s", nd->id,
			  m.u.error.code, m.u.error.message);
		if (m.u.error.code == MCAI_ERR_MODEL)
			mcai_aggr_refused(a, nd);
		break;
	case MCAI_MSG_BYE:
		mcai_info("node '%s' says goodbye (%u)", nd->id,
			  m.u.bye.reason);
		mcai_net_close(p, "BYE");
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
		mcai_aggr_sa_frame(a, p, nd, &m);
		break;
	default:
		mcai_warn("node '%s': unexpected %s", nd->id,
			  mcai_msg_type_name(m.type));
		mcai_aggr_error(p, MCAI_ERR_PROTOCOL, "unexpected message");
		mcai_net_close(p, "unexpected message");
		break;
	}
	mcai_msg_release(&m);
	return r;
}

void mcai_aggr_closed(struct mcai_aggr *a, struct mcai_peer *p,
		      const char *why)
{
	struct mcai_aggr_node *nd = mcai_aggr_peer_node(a, p);

	if (!nd || nd->peer != p)
		return;
	nd->peer = NULL;
	nd->last_seen = time(NULL);
	a->status_dirty = true;
	mcai_info("node '%s' left: %s (%u connected)", nd->id, why,
		  mcai_aggr_connected(a));
	mcai_aggr_sa_drop(a, nd);
	if (a->running && nd->sampled_round == a->round && !nd->answered &&
	    !nd->gone) {
		mcai_warn("round %llu: sampled node '%s' dropped out",
			  (unsigned long long)a->round, nd->id);
		nd->gone = true;
		a->dropped++;
		mcai_aggr_maybe_close(a);
	}
}

/* ------------------------------------------------------------------ */
/* Status file                                                          */
/* ------------------------------------------------------------------ */

static void mcai_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void mcai_json_num(FILE *f, double v)
{
	if (v < 0.0 || !isfinite(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

static void mcai_aggr_write_status(struct mcai_aggr *a)
{
	char tmp[sizeof(a->status_path) + 8];
	size_t i;
	FILE *f;
	int fd;

	a->status_dirty = false;
	a->status_at = mcai_fed_now_ms() + MCAI_AGGR_STATUS_MS;
	snprintf(tmp, sizeof(tmp), "%s.tmp", a->status_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		mcai_warn("%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "{\"fleet\":");
	mcai_json_str(f, a->o.fleet ? a->o.fleet : "default");
	fprintf(f, ",\"model\":");
	mcai_json_str(f, a->cfg->model);
	fprintf(f, ",\"version\":%u,\"last_round\":%llu,\"running\":%s,\"round\":%llu,\"strategy\":",
		a->version, (unsigned long long)mcai_store_last_round(a->store),
		a->running ? "true" : "false", (unsigned long long)a->round);
	mcai_json_str(f, a->strategy);
	if (a->dp) {
		fprintf(f, ",\"privacy\":{\"mode\":");
		mcai_json_str(f, mcai_cfg_dp_mode_name(a->cfg->dp_mode));
		fprintf(f, ",\"rounds\":%llu,\"epsilon_total\":%.9g,\"budget\":%.9g,\"delta\":%.9g,\"noise_multiplier\":%.9g,\"clip_norm\":%.9g,\"exhausted\":%s,\"reason\":",
			(unsigned long long)a->acct.rounds,
			mcai_dp_acct_epsilon(&a->acct), a->cfg->dp_budget,
			a->cfg->dp_delta, a->cfg->dp_sigma, a->cfg->dp_clip,
			a->budget_out ? "true" : "false");
		mcai_json_str(f, a->budget_out ? a->budget_why : "");
		fputc('}', f);
	}
	fprintf(f, ",\"updated\":%lld,\"nodes\":[", (long long)time(NULL));
	for (i = 0; i < a->n_nodes; i++) {
		const struct mcai_aggr_node *nd = &a->nodes[i];

		fprintf(f, "%s\n{\"id\":", i ? "," : "");
		mcai_json_str(f, nd->id);
		fprintf(f, ",\"connected\":%s,\"last_seen\":%lld,\"version\":%u,\"rounds\":%u,\"samples\":%llu,\"loss\":",
			nd->peer ? "true" : "false", (long long)nd->last_seen,
			nd->version, nd->rounds,
			(unsigned long long)nd->n_samples);
		mcai_json_num(f, nd->rounds ? nd->last_loss : -1.0);
		if (nd->have_telem) {
			/* The fleet's model if the node runs it, else another. */
			fprintf(f, ",\"telemetry\":{\"model\":");
			mcai_json_str(f, nd->telem.model);
			fprintf(f, ",\"version\":%u,\"inferences\":%llu,\"energy_uj\":%llu,\"p50_ns\":%llu,\"p99_ns\":%llu,\"drops\":%llu}",
				nd->telem.version,
				(unsigned long long)nd->telem.inferences,
				(unsigned long long)nd->telem.energy_uj,
				(unsigned long long)nd->telem.p50_ns,
				(unsigned long long)nd->telem.p99_ns,
				(unsigned long long)nd->telem.drops);
		}
		fputc('}', f);
	}
	fprintf(f, "],\"rounds\":[");
	for (i = 0; i < a->n_hist; i++) {
		const struct mcai_aggr_round_rec *h = &a->hist[i];

		fprintf(f, "%s\n{\"round\":%llu,\"version\":%u,\"sampled\":%u,\"answered\":%u,\"accuracy\":",
			i ? "," : "", (unsigned long long)h->round, h->version,
			h->sampled, h->answered);
		mcai_json_num(f, h->accuracy);
		fprintf(f, ",\"float_accuracy\":");
		mcai_json_num(f, h->float_accuracy);
		fprintf(f, ",\"loss\":");
		mcai_json_num(f, h->loss);
		fprintf(f, ",\"seconds\":%.3f", h->seconds);
		if (h->epsilon_total >= 0)
			fprintf(f, ",\"epsilon\":%.9g,\"epsilon_total\":%.9g",
				h->epsilon, h->epsilon_total);
		fputc('}', f);
	}
	fprintf(f, "]}\n");
	if (fflush(f) || fsync(fileno(f))) {
		mcai_warn("%s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return;
	}
	fclose(f);
	if (rename(tmp, a->status_path))
		mcai_warn("%s: %s", a->status_path, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                           */
/* ------------------------------------------------------------------ */

static enum mcai_agg_kind mcai_aggr_kind(enum mcai_cfg_strategy s)
{
	switch (s) {
	case MCAI_CFG_FEDPROX:
		return MCAI_AGG_FEDPROX;
	case MCAI_CFG_FEDADAM:
		return MCAI_AGG_FEDADAM;
	case MCAI_CFG_MEDIAN:
		return MCAI_AGG_MEDIAN;
	case MCAI_CFG_TRIMMED_MEAN:
		return MCAI_AGG_TRIMMED_MEAN;
	case MCAI_CFG_KRUM:
		return MCAI_AGG_KRUM;
	case MCAI_CFG_FEDAVGM:
		return MCAI_AGG_FEDAVGM;
	case MCAI_CFG_FEDADAGRAD:
		return MCAI_AGG_FEDADAGRAD;
	case MCAI_CFG_FEDYOGI:
		return MCAI_AGG_FEDYOGI;
	case MCAI_CFG_KRUM_SINGLE:
		return MCAI_AGG_KRUM_SINGLE;
	case MCAI_CFG_BULYAN:
		return MCAI_AGG_BULYAN;
	case MCAI_CFG_QFEDAVG:
		return MCAI_AGG_QFEDAVG;
	default:
		return MCAI_AGG_FEDAVG;
	}
}

int mcai_aggr_new(struct mcai_aggr **out, const struct mcai_aggr_opts *o,
		  struct mcai_net *net)
{
	const struct mcai_config *c = o->cfg;
	struct mcai_agg_config ac;
	struct mcai_aggr *a;
	char err[512];
	int r;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->o = *o;
#ifdef MCAI_TEST_HOOKS
	a->sa_hostile = getenv("MCAI_TEST_SECAGG_HOSTILE");
	if (a->sa_hostile)
		mcai_warn("test hook: a hostile secure-aggregation aggregator (%s)",
			  a->sa_hostile);
#endif
	a->cfg = c;
	a->net = net;
	mcai_buf_init(&a->model_frame);
	mcai_buf_init(&a->model_payload);
	if (c->drift_stats) {
		a->st_sum = calloc(MCAI_PROV_STATS_MAX_FEATURES, sizeof(double));
		a->st_sumsq = calloc(MCAI_PROV_STATS_MAX_FEATURES,
				     sizeof(double));
		if (!a->st_sum || !a->st_sumsq) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (c->drift_min_nodes)
		mcai_info("drift: a round request from %u nodes (and %.0f%% of those connected) within %u s starts %u round(s)",
			  c->drift_min_nodes, 100 * c->drift_min_fraction,
			  c->drift_window_s, c->drift_rounds);
	r = mcai_store_open(&a->store, c->registry_dir, err, sizeof(err));
	if (r) {
		mcai_err("registry %s: %s", c->registry_dir, err);
		goto fail;
	}
	if (mcai_store_recovered(a->store))
		mcai_warn("registry: removed %u leftover files of an interrupted publish",
			  mcai_store_recovered(a->store));
	snprintf(a->status_path, sizeof(a->status_path), "%s/status.json",
		 c->registry_dir);
	if (o->eval_dir) {
		if (mcai_fed_load_split(&a->eval, o->eval_dir, "t10k", err,
					sizeof(err))) {
			mcai_err("evaluation set: %s", err);
			r = -ENOENT;
			goto fail;
		}
		a->have_eval = true;
		a->n_eval = o->eval_limit && o->eval_limit < a->eval.count ?
			    o->eval_limit : a->eval.count;
	}
	mcai_agg_config_default(&ac, mcai_aggr_kind(c->strategy));
	ac.clip_norm = c->clip_norm;
	ac.prox_mu = c->prox_mu;
	ac.trim = c->trim_fraction;
	ac.krum_f = c->krum_f;
	ac.krum_m = c->krum_m;
	ac.server_lr = c->server_lr;
	ac.server_step = c->server_step;
	ac.server_step_final = c->server_step_final;
	ac.beta1 = c->beta1;
	ac.beta2 = c->beta2;
	ac.tau = c->tau;
	ac.server_momentum = c->server_momentum;
	ac.q = c->q;
	ac.q_lr = c->q_lr;
	snprintf(a->strategy, sizeof(a->strategy), "%s",
		 mcai_agg_kind_name(ac.kind));
	if (mcai_agg_config_check(&ac, err, sizeof(err))) {
		mcai_err("strategy %s: %s", a->strategy, err);
		r = -EINVAL;
		goto fail;
	}
	a->ac = ac;
	if (c->sign_key[0] && !o->upstream) {
		char kid[MCAI_PROV_KEYID_HEX + 1];

		r = mcai_prov_key_load(&a->sign_key, c->sign_key, err,
				       sizeof(err));
		if (!r && !mcai_prov_key_is_private(a->sign_key)) {
			mcai_err("provenance.sign_key: %s: a public key cannot sign",
				 c->sign_key);
			r = -EINVAL;
			goto fail;
		}
		if (r) {
			mcai_err("provenance.sign_key: %s", err);
			goto fail;
		}
		mcai_prov_keyid_hex(mcai_prov_key_id(a->sign_key), kid);
		mcai_info("signing published versions with key %s (%s)", kid,
			  c->sign_key);
	} else if (!o->upstream) {
		mcai_warn("no provenance.sign_key: versions are published UNSIGNED and nodes that check signatures will refuse them");
	} else if (c->sign_key[0]) {
		/* A site relays what the top signed; it signs nothing itself. */
		mcai_warn("provenance.sign_key ignored: a site aggregator relays the upstream's signed versions");
	}
	if (o->upstream) {
		/* The model and its versions come from upstream. */
		mcai_info("aggregator: site of an upstream aggregator, model '%s', strategy %s, minimum %u",
			  c->model, a->strategy, c->min_clients);
		mcai_aggr_write_status(a);
		*out = a;
		return 0;
	}
	r = mcai_aggr_load_model(a);
	if (r)
		goto fail;
	a->round = mcai_store_last_round(a->store);
	if (c->dp_mode != MCAI_CFG_DP_OFF) {
		a->dp = true;
		r = mcai_dp_rng_init_os(&a->dp_rng);
		if (!r)
			r = mcai_aggr_dp_load(a);
		if (r)
			goto fail;
		mcai_info("privacy: differential privacy %s, clip %g, noise multiplier %g, delta %g, epsilon budget %g (spent %.6g)",
			  mcai_cfg_dp_mode_name(c->dp_mode), c->dp_clip,
			  c->dp_sigma, c->dp_delta, c->dp_budget,
			  mcai_dp_acct_epsilon(&a->acct));
		a->adapt = (struct mcai_dp_adaptive){
			.clip = c->dp_clip, .quantile = c->dp_quantile,
			.lr = c->dp_clip_lr,
		};
		if (c->dp_adaptive)
			mcai_info("privacy: adaptive clipping from %g towards quantile %g of the update norms (step %g)",
				  c->dp_clip, c->dp_quantile, c->dp_clip_lr);
	}
	if (c->rounds && a->version - 1 >= c->rounds) {
		a->done = true;
		mcai_info("federation complete already: version %u after %u rounds",
			  a->version, c->rounds);
	}
	mcai_info("aggregator: model '%s' version %u, strategy %s, %u rounds (0: until stopped), fraction %.2f, minimum %u, deadline %u ms, evaluation on %u images",
		  c->model, a->version, a->strategy, c->rounds, c->fraction,
		  c->min_clients, c->deadline_ms, a->n_eval);
	if (c->server_step_final > 0)
		mcai_info("aggregator: server step %g falling to %g over the rounds (cosine)",
			  c->server_step, c->server_step_final);
	else if (c->server_step != 1.0f)
		mcai_info("aggregator: server step %g", c->server_step);
	mcai_aggr_write_status(a);
	*out = a;
	return 0;
fail:
	mcai_aggr_free(a);
	return r;
}

void mcai_aggr_shutdown(struct mcai_aggr *a)
{
	if (!a)
		return;
	mcai_info("aggregator: version %u, %u rounds published in this run, %zu nodes known",
		  a->version, a->rounds_published, a->n_nodes);
	mcai_aggr_write_status(a);
}

void mcai_aggr_free(struct mcai_aggr *a)
{
	if (!a)
		return;
	mcai_agg_free(a->agg);
	mcai_store_close(a->store);
	mcai_mlp_free(a->mlp);
	free(a->params);
	free(a->scratch);
	free(a->combined);
	mcai_aggr_sa_end(a);
	free(a->sa_sum);
	free(a->sa_words);
	free(a->st_sum);
	free(a->st_sumsq);
	mcai_buf_free(&a->model_frame);
	mcai_buf_free(&a->model_payload);
	mcai_prov_key_free(a->sign_key);
	if (a->have_eval)
		mcai_dataset_free(&a->eval);
	free(a->tv);
	free(a->nodes);
	free(a);
}

/* ------------------------------------------------------------------ */
/* Hierarchy: this aggregator as a node of an upstream one              */
/* ------------------------------------------------------------------ */

void mcai_aggr_upstream_connected(struct mcai_aggr *a, struct mcai_peer *p)
{
	struct mcai_msg m = { .type = MCAI_MSG_HELLO };
	uint64_t samples = 0;
	size_t i;

	a->up = p;
	a->up_welcomed = false;
	for (i = 0; i < a->n_nodes; i++)
		samples += a->nodes[i].n_samples;
	snprintf(m.u.hello.node_id, sizeof(m.u.hello.node_id), "%s",
		 a->o.node_id ? a->o.node_id : "site");
	m.u.hello.role = MCAI_ROLE_AGGREGATOR;
	snprintf(m.u.hello.model, sizeof(m.u.hello.model), "%s", a->cfg->model);
	m.u.hello.model_version = a->version;
	/* Not known before our nodes join; the UPDATEs carry the truth. */
	m.u.hello.n_samples = samples ? samples : 1;
	m.u.hello.caps = MCAI_CAP_FEDPROX;
	if (mcai_net_send_msg(p, &m, NULL))
		mcai_net_close(p, "cannot send HELLO upstream");
}

void mcai_aggr_upstream_closed(struct mcai_aggr *a, struct mcai_peer *p)
{
	if (a->up == p) {
		a->up = NULL;
		a->up_welcomed = false;
	}
}

static int mcai_aggr_upstream_model(struct mcai_aggr *a, struct mcai_peer *p,
				    const struct mcai_msg_model *m,
				    const uint8_t *payload, uint32_t len)
{
	struct mcai_fedmlp_shape shape;
	struct mcai_model mm;
	size_t start;

	if (m->version <= a->version)
		return 0;
	if (!m->blob_len ||
	    mcai_aggr_blob_shape(m->blob, m->blob_len, "upstream MODEL", &mm,
				 &shape) ||
	    mcai_fedmlp_n_params(&shape) != m->params.n) {
		mcai_err("upstream MODEL version %u refused: %s", m->version,
			 !m->blob_len ? "no blob" :
			 "its blob and parameters are not one trainable MLP");
		mcai_net_close(p, "unverifiable model");
		return 0;
	}
	if (!a->mlp && mcai_aggr_alloc(a, &shape, &mm))
		return -ENOMEM;
	if (m->params.n != a->n_params ||
	    !mcai_fedmlp_same(&shape, &a->shape)) {
		mcai_err("upstream MODEL version %u: %u parameters, this site has %u",
			 m->version, m->params.n, a->n_params);
		mcai_net_close(p, "model shape changed");
		return 0;
	}
	mcai_f32v_copy(&m->params, a->params);
	a->version = m->version;
	/* Relayed byte for byte: the nodes verify what the top published. */
	mcai_buf_free(&a->model_payload);	/* not streamed on a relay */
	mcai_buf_free(&a->model_frame);
	mcai_buf_init(&a->model_frame);
	start = mcai_frame_begin(&a->model_frame, MCAI_MSG_MODEL);
	mcai_buf_put(&a->model_frame, payload, len);
	if (mcai_frame_end(&a->model_frame, start)) {
		mcai_buf_free(&a->model_frame);
		return -ENOMEM;
	}
	mcai_info("upstream: model '%s' version %u (round %llu), relayed to the site's nodes",
		  m->model, m->version, (unsigned long long)m->round_id);
	mcai_aggr_broadcast_model(a);
	a->status_dirty = true;
	return 0;
}

int mcai_aggr_upstream_frame(struct mcai_aggr *a, struct mcai_peer *p,
			     const struct mcai_frame_hdr *h,
			     const uint8_t *payload)
{
	struct mcai_msg m;
	const char *why = NULL;
	int r = 0;

	if (mcai_msg_decode(h->type, payload, h->length, &m, &why)) {
		mcai_err("upstream %s: malformed %s: %s", mcai_peer_name(p),
			 mcai_msg_type_name(h->type), why);
		mcai_net_close(p, "malformed message");
		return 0;
	}
	switch (m.type) {
	case MCAI_MSG_WELCOME:
		a->up_welcomed = true;
		mcai_info("upstream: welcomed as '%s' in fleet '%s', version %u",
			  m.u.welcome.node_id, m.u.welcome.fleet,
			  m.u.welcome.version);
		break;
	case MCAI_MSG_MODEL:
		r = mcai_aggr_upstream_model(a, p, &m.u.model, payload,
					     h->length);
		break;
	case MCAI_MSG_ROUND:
		if (a->running || m.u.round.base_version != a->version ||
		    !a->mlp) {
			mcai_warn("upstream round %llu (base %u): %s",
				  (unsigned long long)m.u.round.round_id,
				  m.u.round.base_version,
				  a->running ? "a round is still running here" :
				  "not on that version");
			break;
		}
		a->up_round = m.u.round;
		a->up_pending = true;
		mcai_aggr_tick(a);
		break;
	case MCAI_MSG_ERROR:
		mcai_warn("upstream error %u: %s", m.u.error.code,
			  m.u.error.message);
		break;
	case MCAI_MSG_BYE:
		mcai_info("upstream says goodbye (%u)", m.u.bye.reason);
		break;
	default:
		mcai_warn("upstream: unexpected %s, ignored",
			  mcai_msg_type_name(m.type));
		break;
	}
	mcai_msg_release(&m);
	return r;
}
