/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcaid, role node: local training on private data for the federation.
 *
 * A node says HELLO with the number of labelled samples it holds, then
 * follows its aggregator: every MODEL is verified (mcai_verify(): header,
 * bounds and SHA-256 digest) and its signed manifest checked against the
 * node's trust store and history (mcai_prov_check(): signer, model name,
 * no rollback or replay, blob and float parameters are the signed ones)
 * before anything of it is used; a refused one is logged with its
 * verdict, answered with ERROR, and the node stays on its version.  Its float
 * master copy becomes the base of the next round, and its int8 blob is
 * hot-swapped into /dev/mcai when the device is there.  On ROUND the node
 * trains the base on its shard (models/train/mlp.h: SGD with momentum, FedProx
 * term when the round says so) and answers with an UPDATE: the delta,
 * its sample count and mean training loss.  Raw samples never leave it.
 * A ROUND may ask for distributed differential privacy (clip the delta,
 * add a noise share) and/or secure aggregation: then the delta, scaled by
 * this node's share of the round's samples, goes out only masked, through
 * the SA_* messages of runtime/fed/secagg.h.
 *
 * The model is any MLP of fully-connected layers (runtime/fed/fedmlp.h):
 * its shape is read from the verified blob of each MODEL, and the float
 * parameter count must be the one it implies.
 *
 * Local data: the labelled sample store (any model, samples of its input
 * length), or a data directory holding the Fashion-MNIST training split (IDX, plain or gzip) cut into shards that
 * every node computes identically from the same spec, so no coordination
 * is needed for disjoint shards:
 *
 *   "K/N"                 shard K (0-based) of N, IID (seeded shuffle)
 *   "K/N dirichlet:A"     label skew: each class is split over the N
 *                         shards with proportions ~ Dirichlet(A)
 *   tokens "iid", "seed=S" (default 1) and "limit=L" (use the first L
 *   training images only) may follow, separated by spaces or commas.
 */
#ifndef MCAI_NODE_H
#define MCAI_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/train/dataset.h"
#include "models/engine/port.h"
#include "runtime/daemon/config.h"
#include "runtime/fed/proto.h"

/* The data directory's images (Fashion-MNIST) and the default model. */
#define MCAI_FED_INPUTS		(28 * 28)
#define MCAI_FED_CLASSES	10
/* The runtime's input quantisation: q = pixel - 128 (as mcai-train). */
#define MCAI_FED_IN_SCALE	(1.0f / 255.0f)
#define MCAI_FED_IN_ZP		(-128)

struct mcai_peer;
struct mcai_prov_manifest;
struct mcai_net;
struct mcai_frame_hdr;

/* ---- Shared with the aggregator: data and model shape ---------------- */

/* DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; 0 or -1 + err. */
int mcai_fed_load_split(struct mcai_dataset *d, const char *dir,
			const char *split, char *err, size_t errlen);
/* mcai_mlp_data getter over a struct mcai_dataset: pixels / 255. */
void mcai_fed_get_image(void *ctx, u32 index, float *x, u32 *label);
uint64_t mcai_fed_now_ms(void);

struct mcai_shard_spec {
	u32 k, n;
	bool dirichlet;
	double alpha;
	u64 seed;
	u32 limit;		/* 0: the whole split */
};

int mcai_shard_parse(const char *s, struct mcai_shard_spec *out, char *err,
		     size_t errlen);
/* The indices of shard k, malloc'ed (may be empty: *count == 0). */
int mcai_shard_indices(const struct mcai_dataset *d,
		       const struct mcai_shard_spec *s, u32 **idx, u32 *count);

/* ---- The node -------------------------------------------------------- */

struct mcai_escalate;

struct mcai_tls_ctx;

struct mcai_fednode_opts {
	const char *node_id;
	const char *model;		/* name in HELLO */
	const char *data_dir;		/* NULL: MCAI_FMNIST_DIR */
	const char *shard;		/* NULL: "0/1" */
	/*
	 * Not NULL: the sample store (runtime/fed/samples.h) the module's mirror
	 * is drained into every tick.  With @train_samples the node trains
	 * on its labelled samples, reloaded for every round, and data_dir
	 * and shard are not used.
	 */
	const char *samples_dir;
	bool train_samples;
	int dev_fd;			/* /dev/mcai opened before the drop, or -1 */
	float momentum;			/* local SGD momentum */
	/*
	 * Hold each UPDATE this long after training: a slow gateway, for
	 * the deadline and dropout tests.
	 */
	u32 answer_delay_ms;
	/*
	 * Hold each UPDATE also until this file exists: a gateway held
	 * for exactly as long as a test needs (the mid-round kill tests).
	 */
	const char *answer_hold;
	/*
	 * Train at most one batch per this many ms: a slow gateway whose
	 * training outlasts the idle timeout (the heartbeat test).
	 */
	u32 train_pace_ms;
	/* Ask for the next part of a streamed model this long after one. */
	u32 part_pace_ms;
	/* Do not offer MCAI_CAP_PROGRESS: no heartbeats, as an older node. */
	bool no_progress;
	/* Do not offer MCAI_CAP_COMPRESS: behave as a node before it. */
	bool no_compress;
	/*
	 * provenance.trust, .allow_unsigned, .history.  NULL: taken from
	 * the configuration @model points into (mcaid passes cfg->model).
	 */
	const struct mcai_config *cfg;
	/*
	 * Not NULL: escalated samples of each drain go to the bigger model
	 * (runtime/daemon/escalate.h); owned by the caller.
	 */
	struct mcai_escalate *esc;
	/*
	 * Called when a signed version carrying its training data's
	 * statistics (MCAI_PROV_F_STATS) has been installed into /dev/mcai:
	 * the drift check's new baseline.  NULL: not wanted.
	 */
	void (*on_stats)(void *arg, const struct mcai_prov_manifest *pm);
	void *arg;
	/*
	 * The TLS context: its key and certificate sign this node's secure-
	 * aggregation keys, its CA checks the neighbours'.  NULL: no signed
	 * secure aggregation (MCAI_CAP_SA_SIGNED not offered).
	 */
	struct mcai_tls_ctx *tls;
};

struct mcai_fednode;

int mcai_fednode_new(struct mcai_fednode **out,
		     const struct mcai_fednode_opts *o);
void mcai_fednode_free(struct mcai_fednode *n);
/* Transport callbacks, for the peer that is the aggregator. */
void mcai_fednode_connected(struct mcai_fednode *n, struct mcai_peer *p);
int mcai_fednode_frame(struct mcai_fednode *n, struct mcai_peer *p,
		       const struct mcai_frame_hdr *h, const uint8_t *payload);
void mcai_fednode_closed(struct mcai_fednode *n, struct mcai_peer *p);
void mcai_fednode_tick(struct mcai_fednode *n);
uint32_t mcai_fednode_version(const struct mcai_fednode *n);
/*
 * A drift alarm to the aggregator as a round request (DRIFT): 0, or
 * -ENOTCONN when not welcomed yet, or the transport's error.
 */
int mcai_fednode_drift(struct mcai_fednode *n, double score, double threshold);

#endif /* MCAI_NODE_H */
