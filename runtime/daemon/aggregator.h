/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcaid, role aggregator: the round state machine.
 *
 * Nodes register with HELLO (their id, model version and sample count)
 * and get WELCOME, plus the current MODEL when theirs is older.  Then, one
 * round at a time:
 *
 *   start     once enough nodes are connected: sample max(min_clients,
 *             ceil(fraction * connected)) of them with an RNG seeded by
 *             (seed, round), so a restarted aggregator draws the same;
 *             send each ROUND (after MODEL when its version is behind)
 *   collect   every UPDATE is checked (round, base version, size) and
 *             folded into the strategy as it arrives (FedAvg keeps one
 *             accumulator, whatever the number of nodes); a sampled node
 *             that disconnects is a dropout
 *   close     when every sampled node answered or dropped out, or at the
 *             deadline (checked on the transport's tick): with at least
 *             min_clients answers, aggregate, apply, quantise with
 *             models/mlpquant (as mcai-train does), evaluate the int8
 *             blob, publish the version in runtime/store (crash-safe) and
 *             send the new MODEL to every connected node; with fewer, the
 *             round fails with its reason logged, is recorded as completed
 *             without a version, and the next one starts a little later
 *
 * Round ids come from the registry (last completed + 1), so a restarted
 * aggregator continues after the last completed round; rounds.count
 * counts published versions beyond the initial one, so the same config
 * restarted after a crash stops at the same total.  An update for any
 * other round (late, replayed) is refused as stale and logged; malformed
 * messages close that peer only.
 *
 * Privacy (privacy.*, README "Privacy"): with differential privacy the
 * updates weigh the same, are clipped (central: here; distributed: by the
 * nodes, which also add their noise shares) and the noisy sum is divided
 * by the nodes sampled; the RDP accountant in registry.dir/privacy pays
 * for each published round before it is published, and a round that
 * would pass the epsilon budget is refused before it starts.  With
 * secure aggregation a round's collect step is the four phases of
 * runtime/fed/secagg.h (SA_* frames, each phase closing when all answered or
 * are gone, or at the deadline); only the sum of the masked vectors is
 * decoded, and it carries the nodes' sample weights, so FedAvg's weighted
 * mean comes out of it.
 *
 * After each round (and when nodes come and go, at most every few
 * seconds) the aggregator writes status.json in the registry directory:
 * the fleet view (per node: connected, last seen, version, rounds taken
 * part in, samples, last loss, last TELEMETRY summary) and the round
 * history, which `mcaictl fleet` and `mcaictl rounds` print.
 */
#ifndef MCAI_AGGREGATOR_H
#define MCAI_AGGREGATOR_H

#include <stdint.h>

#include "runtime/daemon/config.h"

struct mcai_peer;
struct mcai_net;
struct mcai_frame_hdr;
struct mcai_aggr;

struct mcai_tls_ctx;

struct mcai_aggr_opts {
	const struct mcai_config *cfg;	/* rounds.*, strategy.*, registry.dir */
	const char *fleet;
	const char *eval_dir;		/* test split; NULL: no evaluation */
	uint32_t eval_limit;		/* first N test images; 0: all */
	uint32_t calib;			/* calibration images for quantising */
	uint32_t hidden;		/* width of a new model's hidden layer */
	/*
	 * Not NULL: a new registry starts from this int8 MLP blob (a shipped
	 * model, e.g. models/vib-classifier.mcai), dequantised into the float
	 * master copy (runtime/fed/fedmlp.h), instead of a random 784-H-10.
	 */
	const char *initial;
	uint64_t seed;			/* initial weights and client sampling */
	uint32_t start_nodes;		/* first round waits for this many */
	uint32_t idle_ms;		/* peers' idle timeout, 0: 300 s */
	/*
	 * A site under an upstream aggregator: no rounds of its own, no
	 * versions published here; each upstream ROUND runs on this site's
	 * nodes and its combined update (weight: their samples) goes up.
	 */
	bool upstream;
	const char *node_id;		/* our id in the upstream HELLO */
	/* Its fleet CA checks signed secure aggregation's ADVERTs; may be NULL. */
	struct mcai_tls_ctx *tls;
};

int mcai_aggr_new(struct mcai_aggr **out, const struct mcai_aggr_opts *o,
		  struct mcai_net *net);
void mcai_aggr_free(struct mcai_aggr *a);
int mcai_aggr_frame(struct mcai_aggr *a, struct mcai_peer *p,
		    const struct mcai_frame_hdr *h, const uint8_t *payload);
void mcai_aggr_closed(struct mcai_aggr *a, struct mcai_peer *p,
		      const char *why);
void mcai_aggr_tick(struct mcai_aggr *a);
/* The upstream connection (outbound peer) of a site aggregator. */
void mcai_aggr_upstream_connected(struct mcai_aggr *a, struct mcai_peer *p);
int mcai_aggr_upstream_frame(struct mcai_aggr *a, struct mcai_peer *p,
			     const struct mcai_frame_hdr *h,
			     const uint8_t *payload);
void mcai_aggr_upstream_closed(struct mcai_aggr *a, struct mcai_peer *p);
/* Log the fleet and write the status file one last time. */
void mcai_aggr_shutdown(struct mcai_aggr *a);

#endif /* MCAI_AGGREGATOR_H */
