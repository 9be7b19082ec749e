/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcaid configuration: one file per daemon, for either role.
 *
 * Format: UTF-8/ASCII text, one `key = value` per line; `#` starts a
 * comment (at the start of a line, or after whitespace in a value); blank
 * lines are ignored; `[section]` makes the following keys `section.key`
 * (writing `section.key = v` at the top works the same).  A value may be
 * double-quoted to keep a `#` or surrounding spaces.  Relative paths are
 * taken relative to the directory of the config file, so a test tree can
 * carry its certificates beside its configs.
 *
 * Unknown keys, repeated keys, bad numbers, out-of-range values, keys of the
 * other role and missing required keys are all errors, reported as
 * "file:line: reason" (or "file: reason" for a missing key) in c->error.
 * runtime/dist/mcaid-node.conf and runtime/dist/mcaid-aggregator.conf list every key
 * with its default.
 *
 *   key                       role   default / rule
 *   role                      both   required: node | aggregator
 *   node_id                   both   "" (the daemon uses the hostname); id
 *   fleet                     both   "default"; id
 *   model                     both   required; model name ([A-Za-z0-9_.-])
 *   user                      both   "mcai"; account to drop privileges to
 *   log_level                 both   info: error | warn | info | debug
 *   network.listen            aggr   "0.0.0.0:7117"; numeric host:port
 *   network.upstream          both   required for a node, optional for an
 *                                    aggregator (hierarchy); host:port
 *   network.upstream_name     both   "" (the host of network.upstream); the
 *                                    name (DNS or IP SAN) the upstream's
 *                                    certificate must carry: any fleet
 *                                    certificate chains to the CA
 *   network.max_peers         aggr   4096 (1 .. 1000000)
 *   network.idle_timeout_ms   both   300000 (1000 .. 86400000)
 *   network.max_nodes         aggr   10000 (1 .. 10000000); node ids
 *                                    remembered (with their certificate);
 *                                    beyond it the longest-gone entry goes
 *   network.allow_list        aggr   "" (any certificate the fleet CA
 *                                    signed); path of a file of certificate
 *                                    CNs, one per line, '#' comments: the
 *                                    fleet's members, others are refused
 *   network.rate_frames       aggr   100 (0 .. 1000000; 0: no limit);
 *                                    frames a peer may send per second,
 *                                    bursts of two seconds' worth
 *   network.assembly_kib      aggr   16384 (64 .. 4194304); KiB of large
 *                                    frames (updates) received at once
 *                                    over all peers, the rest wait; a frame
 *                                    holding it must arrive at 256 KiB/s
 *                                    (after --stall-timeout, 30 s, of grace)
 *                                    while others wait, or is dropped
 *   network.send_kib          both   16384 (64 .. 4194304); KiB of
 *                                    ciphertext ready to send over all
 *                                    peers: a broadcast seals within it
 *   tls.cert / tls.key / tls.ca   both   required paths
 *   tls.crl                   both   "" (none); path
 *   data.train                node   "" (labelled samples from the module);
 *                                    path of a local dataset file
 *   data.samples              node   "/var/lib/mcaid/samples"; sample store
 *   data.eval                 both   "" (none); evaluation set path
 *   registry.dir              aggr   "/var/lib/mcaid/registry"
 *   registry.init             aggr   "" ; initial float master / blob path
 *   rounds.count              aggr   0 (run until stopped)
 *   rounds.fraction           aggr   1.0; (0, 1]
 *   rounds.min_clients        aggr   2 (1 .. 1000000)
 *   rounds.deadline_ms        aggr   60000 (1 .. MCAI_PROTO_MAX_DEADLINE_MS)
 *   rounds.local_epochs       aggr   1 (1 .. 1000)
 *   rounds.batch              aggr   32 (1 .. 65536)
 *   rounds.lr                 aggr   0.05 (> 0, <= 10)
 *   rounds.compress           aggr   none: none | int8 | topk; what the
 *                                    nodes that can (MCAI_CAP_COMPRESS)
 *                                    send: runtime/fed/compress.h.  With
 *                                    secure_aggregation int8 only (in
 *                                    Z_2^16 under the masks)
 *   rounds.compress_topk      aggr   0.1; (0, 1], the share topk sends
 *   strategy.name             aggr   fedavg: fedavg | fedprox | fedadam |
 *                                    median | trimmed_mean | krum |
 *                                    fedavgm | fedadagrad | fedyogi |
 *                                    krum_single | bulyan | qfedavg
 *                                    (runtime/fed/strategy.h)
 *   strategy.trim_fraction    aggr   0.1; [0, 0.5)
 *   strategy.krum_f           aggr   1; Byzantine clients tolerated, and
 *                                    min_clients must be >= 2 f + 3
 *                                    (krum, krum_single), >= 4 f + 3
 *                                    (bulyan)
 *   strategy.krum_m           aggr   0 (Multi-Krum keeps n - f); 0 .. 1e6
 *   strategy.clip_norm        aggr   0 (off); >= 0, applies to any strategy
 *   strategy.server_lr        aggr   0.01 (FedAdam, FedAdagrad, FedYogi;
 *                                    > 0)
 *   strategy.server_step      aggr   1 (0 < s <= 4); the model moves s times
 *                                    the combined update (not FedAdam)
 *   strategy.server_step_final aggr  0 (off); > 0 (<= 4) with rounds.count:
 *                                    the step follows a cosine from
 *                                    server_step to it over the rounds
 *   strategy.beta1            aggr   0.9  (FedAdam, FedAdagrad, FedYogi;
 *                                    [0, 1))
 *   strategy.beta2            aggr   0.99 (FedAdam, FedYogi; [0, 1))
 *   strategy.tau              aggr   0.001 (the three adaptive; > 0)
 *   strategy.server_momentum  aggr   0.9 (FedAvgM; [0, 1)); its rate is
 *                                    strategy.server_step
 *   strategy.q                aggr   0.2 (QFedAvg fairness; 0 .. 100)
 *   strategy.q_lr             aggr   0.1 (QFedAvg; L = 1 / q_lr; > 0)
 *   strategy.prox_mu          aggr   0.01 (FedProx; > 0 with fedprox)
 *   privacy.dp                aggr   off: off | central (the aggregator
 *                                    clips each update and adds the noise
 *                                    to the sum) | distributed (each node
 *                                    clips and adds its share of it)
 *   privacy.clip_norm         aggr   1.0 (> 0); C, L2 bound of an update
 *   privacy.noise_multiplier  aggr   1.0 (> 0); sigma: noise N(0, (sigma
 *                                    C)^2) on the sum of a round
 *   privacy.adaptive_clip     aggr   off: off | on; with dp central the
 *                                    clip norm follows a quantile of the
 *                                    update norms (Andrew et al. 2021,
 *                                    runtime/fed/dp.h); privacy.clip_norm
 *                                    is where it starts
 *   privacy.clip_quantile     aggr   0.5; (0, 1), the target quantile
 *   privacy.clip_lr           aggr   0.2; (0, 10], the geometric step
 *   privacy.clip_count_stddev aggr   0 (expected clients / 20, the
 *                                    paper's); >= 0, the noise on the
 *                                    count, must be > noise_multiplier / 2
 *   privacy.delta             aggr   1e-5; (0, 1)
 *   privacy.epsilon_budget    aggr   10 (> 0); a round that would take the
 *                                    cumulative epsilon past it is refused
 *   privacy.secure_aggregation aggr  off: off | on; the aggregator only
 *                                    learns the sum of the round's updates
 *                                    (runtime/fed/secagg.h).  Needs fedavg,
 *                                    fedprox or fedadam, no
 *                                    strategy.clip_norm, dp off or
 *                                    distributed, min_clients >= 3
 *   privacy.secagg_threshold  aggr   0 (a strict majority of a node's
 *                                    neighbours); shares that rebuild a
 *                                    secret, capped at the neighbours
 *   privacy.secagg_degree     aggr   0 (complete graph); even: SecAgg+
 *                                    neighbours per node (2 ceil(log2 n)
 *                                    is Bell et al.'s choice)
 *   privacy.secagg_signed     aggr   on: on | off; signed secure
 *                                    aggregation (fleet-signed keys, the
 *                                    consistency round) when every sampled
 *                                    node offers it, unsigned otherwise
 *   privacy.secagg_require_signed node  off: on | off; refuse secure-
 *                                    aggregation rounds that are not signed
 *   provenance.sign_key       aggr   "" (none: versions go out unsigned,
 *                                    which nodes refuse by default); path
 *                                    of the Ed25519 signer.key (0600)
 *   provenance.trust          node   "" (none); trusted signers: a
 *                                    directory of *.pub / *.pem, or a file.
 *                                    Required unless allow_unsigned = yes
 *   provenance.allow_unsigned node   no: yes | no; install models without
 *                                    any signature check (lab only)
 *   provenance.history        node   "/var/lib/mcaid/history"; directory of
 *                                    accepted manifests (created 0700)
 *   mqtt.broker               node   "" (no MQTT); host:port of the broker
 *                                    alerts are published to
 *                                    (runtime/daemon/mqtt.h: topic tree)
 *   mqtt.tls                  node   off: off | on; TLS with mqtt.ca/cert/key,
 *                                    each defaulting to tls.ca/cert/key
 *   mqtt.ca                   node   "" (tls.ca); the broker's CA; TLS on
 *   mqtt.cert / mqtt.key      node   "" (tls.cert / tls.key); together;
 *                                    read at each connection by the user
 *                                    mcaid runs as (checked at start)
 *   mqtt.queue                node   1024 (1 .. 1000000); alerts kept until
 *                                    the broker acknowledges them
 *   mqtt.queue_policy         node   drop-oldest: drop-oldest | drop-newest;
 *                                    which alert a full queue loses
 *   mqtt.keepalive_s          node   30 (5 .. 65535); a silent broker is
 *                                    given up after 1.5 of these
 *   drift.baseline            node   ""; the training data's statistics
 *                                    (runtime/fed/drift.h); a federated
 *                                    node replaces them with those of each
 *                                    signed version it installs that has
 *                                    them (MCAI_PROV_F_STATS)
 *   drift.threshold           node   1.0 (> 0); a drift score above it is
 *                                    a drift alarm (MQTT kind "drift")
 *   drift.interval_s          node   60 (1 .. 86400); how often the
 *                                    module's statistics are compared
 *   drift.min_samples         node   100; fewer live samples: no verdict
 *   escalate.policy           node   off: off | local; local: samples the
 *                                    kernel flagged MCAI_RES_ESCALATE
 *                                    (among those mirrored into
 *                                    data.samples) are run by a bigger
 *                                    model in mcaid's user-space engine
 *                                    (runtime/daemon/escalate.h)
 *   escalate.model            node   "" ; the bigger model's blob, required
 *                                    with local (read as root at start)
 *   escalate.rate             node   1.0 (> 0, <= 1e6); escalations per
 *                                    second, the token bucket's refill
 *   escalate.burst            node   10 (1 .. 1000000); the bucket's size
 *   escalate.label            node   yes: yes | no; the bigger model's
 *                                    class becomes the sample's label
 *   metrics.listen            both   "" (off); 127.0.0.1:PORT or
 *                                    [::1]:PORT: HTTP GET /metrics, the
 *                                    text of `mcaictl metrics`
 *                                    (runtime/daemon/httpmetrics.h)
 *   drift.request_round       node   no: yes | no; send each drift alarm
 *                                    to the aggregator as a round request
 *                                    (DRIFT; needs an aggregator that
 *                                    knows the message)
 *   drift.min_nodes           aggr   0 (round requests ignored); a round
 *                                    starts when this many distinct nodes
 *                                    asked within drift.window_s ...
 *   drift.min_fraction        aggr   0 (0 .. 1); ... and at least this
 *                                    fraction of the connected nodes
 *   drift.window_s            aggr   600 (1 .. 86400); how long a request
 *                                    counts
 *   drift.rounds              aggr   1 (1 .. 1000); rounds run per trigger,
 *                                    beyond rounds.count
 *   drift.stats               aggr   no: yes | no; nodes send their
 *                                    training data's statistics with each
 *                                    update (DATASTATS), signed into the
 *                                    manifest (not in DP/SecAgg rounds)
 *   personal.mode             both   off: off | fedper | ditto
 *                                    (runtime/fed/personal.h, runtime/
 *                                    daemon/nodepers.h).  fedper: the
 *                                    layers of personal.layers never leave
 *                                    the node, the aggregator (fedper too)
 *                                    averages the rest and refuses updates
 *                                    of another size; ditto (nodes only):
 *                                    a personal model beside the global one
 *   personal.layers           both   head (fedper only); weight-layer
 *                                    indices, "0,-1" style, "head" = -1;
 *                                    must leave a layer shared
 *   personal.lambda           node   0.1 (ditto only; (0, 1000]); the
 *                                    pull of the personal model towards
 *                                    the global one
 *   personal.dir              node   "/var/lib/mcaid/personal"; the node's
 *                                    own signer key, personal state,
 *                                    personal blobs and their history
 *   personal.install          node   fleet: fleet | personal; which
 *                                    versions the node loads into
 *                                    /dev/mcai as they come
 */
#ifndef MCAI_CONFIG_H
#define MCAI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/fed/proto.h"

#define MCAI_CONFIG_PATH_MAX	1024
#define MCAI_CONFIG_HOST_MAX	255
#define MCAI_CONFIG_USER_MAX	32
#define MCAI_CONFIG_ERR_MAX	512
#define MCAI_CONFIG_DEFAULT_PORT	7117

/* Named mcai_cfg_* so as not to collide with the strategies' own types. */
enum mcai_cfg_strategy {
	MCAI_CFG_FEDAVG,
	MCAI_CFG_FEDPROX,
	MCAI_CFG_FEDADAM,
	MCAI_CFG_MEDIAN,
	MCAI_CFG_TRIMMED_MEAN,
	MCAI_CFG_KRUM,
	MCAI_CFG_FEDAVGM,
	MCAI_CFG_FEDADAGRAD,
	MCAI_CFG_FEDYOGI,
	MCAI_CFG_KRUM_SINGLE,
	MCAI_CFG_BULYAN,
	MCAI_CFG_QFEDAVG,
};

enum mcai_cfg_dp_mode {
	MCAI_CFG_DP_OFF,
	MCAI_CFG_DP_CENTRAL,		/* the aggregator clips and adds noise */
	MCAI_CFG_DP_DISTRIBUTED,	/* the nodes do, each its share */
};

enum mcai_cfg_pers_mode {
	MCAI_CFG_PERS_OFF,
	MCAI_CFG_PERS_FEDPER,		/* shared body, personal layers */
	MCAI_CFG_PERS_DITTO,		/* a personal model beside */
};

enum mcai_cfg_pers_install {
	MCAI_CFG_PERS_INSTALL_FLEET,	/* the kernel runs the fleet's */
	MCAI_CFG_PERS_INSTALL_PERSONAL,	/* the node's personal versions */
};

/* personal.layers: "0,1,2,3" and a little room. */
#define MCAI_CFG_LAYERS_MAX	32

enum mcai_cfg_esc_policy {
	MCAI_CFG_ESC_OFF,		/* nothing routed (the default) */
	MCAI_CFG_ESC_LOCAL,		/* a bigger model in mcaid's engine */
};

struct mcai_cfg_addr {
	char host[MCAI_CONFIG_HOST_MAX + 1];	/* no brackets for IPv6 */
	uint16_t port;				/* 0: not set */
};

struct mcai_config {
	uint32_t role;				/* enum mcai_role, 0 unset */
	char node_id[MCAI_PROTO_ID_MAX + 1];
	char fleet[MCAI_PROTO_ID_MAX + 1];
	char model[MCAI_NAME_LEN];
	char user[MCAI_CONFIG_USER_MAX + 1];
	int log_level;				/* enum mcai_log_level values */

	struct mcai_cfg_addr listen;
	struct mcai_cfg_addr upstream;		/* port 0: none */
	char upstream_name[MCAI_CONFIG_HOST_MAX + 1];	/* "": upstream.host */
	uint32_t max_peers;
	uint32_t idle_timeout_ms;
	uint32_t max_nodes;
	uint32_t rate_frames;			/* per peer per second; 0 off */
	uint32_t assembly_kib;
	uint32_t send_kib;
	char allow_list[MCAI_CONFIG_PATH_MAX];	/* "" everyone the CA signs */

	char tls_cert[MCAI_CONFIG_PATH_MAX];
	char tls_key[MCAI_CONFIG_PATH_MAX];
	char tls_ca[MCAI_CONFIG_PATH_MAX];
	char tls_crl[MCAI_CONFIG_PATH_MAX];	/* "" none */

	char data_train[MCAI_CONFIG_PATH_MAX];	/* "" none */
	char data_samples[MCAI_CONFIG_PATH_MAX];
	char data_eval[MCAI_CONFIG_PATH_MAX];	/* "" none */

	char registry_dir[MCAI_CONFIG_PATH_MAX];
	char registry_init[MCAI_CONFIG_PATH_MAX];	/* "" none */

	uint32_t rounds;			/* 0: until stopped */
	double fraction;
	uint32_t min_clients;
	uint32_t deadline_ms;
	uint32_t local_epochs;
	uint32_t batch;
	float lr;
	uint32_t compress;			/* enum mcai_comp_kind */
	float compress_topk;

	enum mcai_cfg_strategy strategy;
	float trim_fraction;
	uint32_t krum_f;
	uint32_t krum_m;
	float clip_norm;
	float server_lr;
	float server_step;
	float server_step_final;
	float beta1;
	float beta2;
	float tau;
	float prox_mu;
	float server_momentum;
	float q;
	float q_lr;

	enum mcai_cfg_dp_mode dp_mode;
	double dp_clip;				/* C: L2 bound of an update */
	double dp_sigma;			/* noise multiplier */
	double dp_delta;
	double dp_budget;			/* epsilon the rounds may spend */
	bool dp_adaptive;			/* adaptive clipping */
	double dp_quantile;			/* its target quantile */
	double dp_clip_lr;			/* its geometric step */
	double dp_count_stddev;			/* 0: expected / 20 */
	bool secagg;				/* secure aggregation */
	uint32_t secagg_threshold;		/* 0: majority of neighbours */
	uint32_t secagg_degree;			/* 0: complete graph */
	bool secagg_signed;			/* aggr: sign when all can */
	bool secagg_require_signed;		/* node: refuse unsigned */

	char sign_key[MCAI_CONFIG_PATH_MAX];	/* "" none */
	char trust[MCAI_CONFIG_PATH_MAX];	/* "" none */
	bool allow_unsigned;
	char history_dir[MCAI_CONFIG_PATH_MAX];

	struct mcai_cfg_addr mqtt_broker;	/* port 0: no MQTT */
	bool mqtt_tls;
	char mqtt_ca[MCAI_CONFIG_PATH_MAX];	/* "": tls.ca */
	char mqtt_cert[MCAI_CONFIG_PATH_MAX];	/* "": tls.cert */
	char mqtt_key[MCAI_CONFIG_PATH_MAX];	/* "": tls.key */
	uint32_t mqtt_queue;
	uint32_t mqtt_policy;			/* enum mcai_mqtt_policy */
	uint32_t mqtt_keepalive_s;

	char drift_baseline[MCAI_CONFIG_PATH_MAX];	/* "": no drift check */
	double drift_threshold;
	uint32_t drift_interval_s;
	uint32_t drift_min_samples;
	bool drift_request_round;
	uint32_t drift_min_nodes;
	double drift_min_fraction;
	uint32_t drift_window_s;
	uint32_t drift_rounds;
	bool drift_stats;

	uint32_t escalate_policy;		/* enum mcai_cfg_esc_policy */
	char escalate_model[MCAI_CONFIG_PATH_MAX];	/* "": none */
	double escalate_rate;			/* tokens per second */
	uint32_t escalate_burst;		/* bucket size */
	bool escalate_label;

	struct mcai_cfg_addr metrics_listen;	/* port 0: no endpoint */

	uint32_t personal_mode;			/* enum mcai_cfg_pers_mode */
	char personal_layers[MCAI_CFG_LAYERS_MAX];	/* fedper */
	float personal_lambda;			/* ditto */
	char personal_dir[MCAI_CONFIG_PATH_MAX];
	uint32_t personal_install;		/* enum mcai_cfg_pers_install */

	char error[MCAI_CONFIG_ERR_MAX];

	/* Parser state: where each key was set (0: default), base dir. */
	uint32_t set_line[128];
	char origin[MCAI_CONFIG_PATH_MAX];
	char basedir[MCAI_CONFIG_PATH_MAX];
};

/* Every default; role unset. */
void mcai_config_init(struct mcai_config *c);

/*
 * Read a file (or a string, named @fname in messages, with relative paths
 * taken from @basedir, NULL for as-is) over what @c holds.  0, or -EINVAL
 * (syntax, unknown key, bad value; c->error says where), -ENOENT etc. when
 * the file cannot be read.  Does not check required keys: see finish().
 */
int mcai_config_read(struct mcai_config *c, const char *path);
int mcai_config_read_mem(struct mcai_config *c, const char *text, size_t len,
			 const char *fname, const char *basedir);

/*
 * One key from elsewhere (a command-line `-o key=value`), reported as
 * "@origin: reason".  Overrides a value from the file.
 */
int mcai_config_set(struct mcai_config *c, const char *key,
		    const char *value, const char *origin);

/* Required keys, keys of the other role, cross-key rules.  0 or -EINVAL. */
int mcai_config_finish(struct mcai_config *c);
/*
 * The aggregator's keys that must agree with each other (Krum and the
 * minimum, DP or secure aggregation and the strategy, the server step
 * and FedAdam, ...); part of finish(), and again after --set overrides.
 */
int mcai_config_check_aggregator(struct mcai_config *c);

/*
 * personal.*: a mode's keys only with it, ditto not on an aggregator,
 * fedper there not with secure aggregation, compression or upstream.
 * Part of finish().  0 or -EINVAL.
 */
int mcai_config_check_personal(struct mcai_config *c);

/* init + read + finish. */
int mcai_config_load(struct mcai_config *c, const char *path);

/* The effective configuration in the file format (reads back the same). */
void mcai_config_dump(const struct mcai_config *c, FILE *f);

const char *mcai_cfg_strategy_name(enum mcai_cfg_strategy s);
const char *mcai_cfg_dp_mode_name(enum mcai_cfg_dp_mode m);
const char *mcai_cfg_role_name(uint32_t role);

#endif /* MCAI_CONFIG_H */
