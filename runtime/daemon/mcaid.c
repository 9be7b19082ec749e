// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid: the federation daemon.
 *
 * This file is the process skeleton: options, start-up in the order the
 * privilege drop needs (open and bind as root, drop, restrict the ring),
 * signals, and the transport.  With a registry (aggregator: --registry or
 * a config file) or local data (node: --data, --shard or a config file)
 * the roles federate: runtime/daemon/aggregator.c runs the rounds and
 * runtime/daemon/node.c trains.  Without, they speak a minimal exchange that
 * tests the transport end to end:
 *
 *   node -> HELLO, aggregator -> WELCOME
 *   node -> UPDATE frames ("pings"), aggregator echoes each one verbatim
 *   node checks every echo byte for byte
 *
 * With --ping N a node exits 0 once every connection got N correct echoes
 * (1 on any failure); without it, it keeps its connection open and
 * reconnects when it drops.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "runtime/daemon/aggregator.h"
#include "runtime/daemon/config.h"
#include "runtime/daemon/escalate.h"
#include "runtime/daemon/httpmetrics.h"
#include "runtime/daemon/mqtt.h"
#include "runtime/fed/drift.h"
#include "runtime/fed/provenance.h"
#include "runtime/lib/device.h"
#include "runtime/lib/log.h"
#include "runtime/fed/net.h"
#include "runtime/daemon/node.h"
#include "runtime/daemon/privdrop.h"
#include "runtime/daemon/teleagent.h"
#include "runtime/fed/proto.h"
#include "runtime/fed/tls.h"
#ifdef MCAI_HAVE_CONFIG
#include "runtime/daemon/config.h"
#endif

#define MCAI_RECONNECT_S	5
#define MCAI_KEEPALIVE_S	60
#define MCAI_ECHO_MODEL		"mcaid-echo"
#define MCAI_MAX_SETS		32
/* Federation: round deadlines and held-back updates are checked per tick. */
#define MCAI_FED_TICK_MS	100

struct mcai_conn {
	unsigned int idx;
	struct mcai_peer *peer;
	bool active, welcomed, finished, failed;
	unsigned int echoed;
	struct mcai_buf last;		/* the ping in flight */
};

struct mcai_daemon {
	uint32_t role;
	const char *listen, *connect, *user, *config;
	const char *node_id;
	struct mcai_tls_files files;
	struct mcai_tls_ctx *tls;	/* owned by main() */
	struct mcai_net_opts nopts;
	unsigned int ping, ping_size, connections;
	bool user_explicit, log_level_set;
	bool rate_set;			/* --rate-frames given */
	bool train_samples;
	const char *allow_list;

	struct mcai_net *net;
	int dev_fd;
	struct mcai_conn *conns;
	unsigned int finished, failed;
	unsigned int ticks, reconnect_at, keepalive_at;
	float *ping_floats;
	int exit_code;

	/* Federation (runtime/daemon/aggregator.c, runtime/daemon/node.c). */
	bool fed;
	const char *registry, *data_dir, *shard, *eval_dir, *samples_dir;
	const char *initial;		/* --initial BLOB */
	unsigned int eval_limit, calib, hidden, start_nodes, answer_delay;
	const char *answer_hold;
	unsigned int train_pace, part_pace;
	bool no_progress;
	bool no_compress;
	unsigned long long seed;
	const char *sets[MCAI_MAX_SETS];
	unsigned int n_sets;
	struct mcai_aggr *aggr;
	struct mcai_fednode *fnode;

	/* eBPF telemetry (runtime/daemon/teleagent.c). */
	enum mcai_tel_mode tel_mode;
	const char *power_table;
	unsigned int feed_interval;
	struct mcai_teleagent tel;

	/* MQTT publisher (runtime/daemon/mqtt.c), node role. */
	struct mcai_mqtt *mqtt;

	/* Drift check against the training baseline (runtime/fed/drift.h). */
	struct mcai_drift_base drift;
	const char *drift_model;
	double drift_threshold;
	unsigned int drift_interval, drift_at, drift_min;
	bool drift_alarmed;

	/* Escalation to a bigger model (runtime/daemon/escalate.h). */
	struct mcai_escalate *esc;
	const char *esc_model;		/* the alerts' topic level */
	struct mcai_esc_stats esc_logged;

	/* HTTP /metrics (runtime/daemon/httpmetrics.h), metrics.listen. */
	struct mcai_httpm *httpm;
	bool drift_request, drift_requested;	/* drift.request_round */
};

static void mcai_escalate_log(struct mcai_daemon *d, bool at_exit);

static void mcai_usage(FILE *f)
{
	fprintf(f,
"Usage: mcaid --role node|aggregator [options]\n"
"\n"
"  --role ROLE           node (trains, sends updates) or aggregator\n"
"  --listen HOST:PORT    aggregator: where nodes connect\n"
"  --connect HOST:PORT   node: the aggregator to connect to\n"
"  --cert FILE           this daemon's certificate (PEM, from the fleet CA)\n"
"  --key FILE            its private key (PEM)\n"
"  --ca FILE             the fleet CA certificate (PEM)\n"
"  --crl FILE            the fleet CA's revocation list (PEM)\n"
"  --user NAME           drop root privileges to NAME (default: mcai,\n"
"                        or nobody if there is no such user)\n"
"  --config FILE         configuration file; options given here override it\n"
"  --log-level LEVEL     error, warn, info (default) or debug\n"
"  --node-id ID          node identity sent in HELLO (default: hostname)\n"
"  --max-peers N         aggregator: refuse connections beyond N (4096)\n"
"  --idle-timeout MS     close a peer silent this long between frames (300000)\n"
"  --stall-timeout MS    close a peer stuck this long in a handshake, a frame\n"
"                        or not reading what we send (30000)\n"
"  --ping N              node: send N echo frames per connection, check the\n"
"                        echoes, exit 0 if all came back intact\n"
"  --ping-size BYTES     payload of each echo frame (1024)\n"
"  --connections N       node: open N connections at once (1)\n"
"  --rate-frames N       aggregator: frames a peer may send per second\n"
"                        (100; 0: no limit); a faster peer is not read\n"
"  --assembly-kib N      aggregator: KiB of updates received at once over\n"
"                        all peers (16384); the other senders wait\n"
"  --send-kib N          KiB of ciphertext ready to send over all peers\n"
"                        (16384); a broadcast seals within it\n"
"  --allow-list FILE     aggregator: certificate CNs allowed to join\n"
"\n"
"Federation (see runtime/daemon/aggregator.h and runtime/daemon/node.h):\n"
"  --set KEY=VALUE       a config key (runtime/daemon/config.h), over the file;\n"
"                        e.g. rounds.count=3, rounds.min_clients=2\n"
"  --registry DIR        aggregator: model registry and status.json; runs\n"
"                        rounds (so does a config file)\n"
"  --eval DIR            aggregator: Fashion-MNIST test split for the int8\n"
"                        accuracy of every version\n"
"  --eval-limit N        evaluate on the first N test images (all)\n"
"  --calib N             calibration images for quantising (512)\n"
"  --hidden N            hidden width of a new registry's model (128)\n"
"  --initial BLOB        a new registry starts from this int8 MLP blob\n"
"                        (e.g. models/vib-classifier.mcai), not a random one\n"
"  --seed N              initial weights and client sampling (1)\n"
"  --start-nodes N       aggregator: first round waits for N nodes\n"
"  --data DIR            node: Fashion-MNIST training split (default\n"
"                        " MCAI_FMNIST_DIR "); trains\n"
"  --shard SPEC          node: \"K/N [iid|dirichlet:A] [seed=S] [limit=L]\"\n"
"  --samples DIR         node: the sample store the module's mirror is\n"
"                        drained into (config: data.samples); trained on\n"
"                        when neither --data nor --shard is given\n"
"  --answer-delay MS     node: hold each update (with secure aggregation:\n"
"                        its masked input) back (a slow gateway)\n"
"  --answer-hold FILE    node: hold each update until FILE exists (tests)\n"
"  --train-pace MS       node: train at most one batch per MS ms (a slow\n"
"                        gateway; heartbeats still go out)\n"
"  --part-pace MS        node: ask for each part of a streamed model MS ms\n"
"                        after the last (a slow link)\n"
"  --no-progress         node: do not offer heartbeats while training\n"
"                        (HELLO without MCAI_CAP_PROGRESS, as an older node)\n"
"  --no-compress         node: do not offer compressed updates (HELLO\n"
"                        without MCAI_CAP_COMPRESS, as an older node)\n"
"  --telemetry MODE      auto (default: when /dev/mcai is there and mcaid\n"
"                        starts as root), on (required) or off: load and\n"
"                        pin the eBPF telemetry before dropping privileges,\n"
"                        feed measured energy to the module's budgets and\n"
"                        send the figures to the aggregator\n"
"  --power-table T       telemetry power model: a table file or a built-in\n"
"                        name (default: kernel Energy Model, else built-in)\n"
"  --feed-interval SEC   how often to read the telemetry and feed (10)\n"
"  --help                this text\n"
"\n"
"Starts as root only to open /dev/mcai and bind, then drops privileges\n"
"(libcap-ng: no capabilities, empty bounding set, no_new_privs) and\n"
"restricts its io_uring.  SIGTERM or SIGINT stop it cleanly.\n");
}

static int mcai_parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int mcai_parse_role(const char *s, uint32_t *role)
{
	if (!strcmp(s, "node"))
		*role = MCAI_ROLE_NODE;
	else if (!strcmp(s, "aggregator"))
		*role = MCAI_ROLE_AGGREGATOR;
	else
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The echo exchange                                                    */
/* ------------------------------------------------------------------ */

static void mcai_conn_finish(struct mcai_daemon *d, struct mcai_conn *c,
			     bool ok)
{
	if (c->finished)
		return;
	c->finished = true;
	c->failed = !ok;
	d->finished++;
	if (!ok)
		d->failed++;
	if (d->finished == d->connections) {
		mcai_info("ping: %u of %u connections completed %u echoes",
			  d->connections - d->failed, d->connections, d->ping);
		d->exit_code = d->failed ? 1 : 0;
		mcai_net_stop(d->net);
	}
}

static int mcai_send_ping(struct mcai_daemon *d, struct mcai_conn *c)
{
	struct mcai_msg m = { .type = MCAI_MSG_UPDATE };

	m.u.update.round_id = c->echoed + 1;
	m.u.update.base_version = c->idx;
	m.u.update.n_samples = 1;
	m.u.update.train_loss = (float)c->echoed;
	m.u.update.delta_f = d->ping_floats;
	m.u.update.n_delta = d->ping_size / 4;
	return mcai_net_send_msg(c->peer, &m, &c->last);
}

static void mcai_on_connected(struct mcai_peer *p, void *arg)
{
	struct mcai_daemon *d = arg;
	struct mcai_msg m = { .type = MCAI_MSG_HELLO };
	struct mcai_conn *c = mcai_peer_data(p);

	if (d->aggr && mcai_peer_outbound(p)) {
		c->peer = p;
		mcai_aggr_upstream_connected(d->aggr, p);
		return;
	}
	if (d->role != MCAI_ROLE_NODE)
		return;
	c->peer = p;
	if (d->fnode) {
		mcai_fednode_connected(d->fnode, p);
		return;
	}
	if (d->connections > 1)
		snprintf(m.u.hello.node_id, sizeof(m.u.hello.node_id),
			 "%s.%u", d->node_id, c->idx);
	else
		snprintf(m.u.hello.node_id, sizeof(m.u.hello.node_id), "%s",
			 d->node_id);
	m.u.hello.role = MCAI_ROLE_NODE;
	snprintf(m.u.hello.model, sizeof(m.u.hello.model), MCAI_ECHO_MODEL);
	if (mcai_net_send_msg(p, &m, NULL))
		mcai_net_close(p, "cannot send HELLO");
}

static int mcai_aggregator_frame(struct mcai_daemon *d, struct mcai_peer *p,
				 const struct mcai_frame_hdr *h,
				 const uint8_t *payload)
{
	struct mcai_msg m = { .type = MCAI_MSG_WELCOME }, in;
	const char *why = NULL;
	int r;

	(void)d;
	if (h->type != MCAI_MSG_HELLO)
		return mcai_net_send(p, h->type, payload, h->length) == -EPIPE ?
		       -EPIPE : 0;
	r = mcai_msg_decode(h->type, payload, h->length, &in, &why);
	if (r) {
		mcai_warn("peer %s: bad HELLO: %s", mcai_peer_name(p), why);
		mcai_net_close(p, "bad HELLO");
		return 0;
	}
	mcai_info("peer %s: HELLO from node '%s'", mcai_peer_name(p),
		  in.u.hello.node_id);
	snprintf(m.u.welcome.node_id, sizeof(m.u.welcome.node_id), "%s",
		 in.u.hello.node_id);
	snprintf(m.u.welcome.fleet, sizeof(m.u.welcome.fleet), "default");
	mcai_msg_release(&in);
	return mcai_net_send_msg(p, &m, NULL) == -EPIPE ? -EPIPE : 0;
}

static int mcai_node_frame(struct mcai_daemon *d, struct mcai_peer *p,
			   const struct mcai_frame_hdr *h,
			   const uint8_t *payload)
{
	struct mcai_conn *c = mcai_peer_data(p);

	if (h->type == MCAI_MSG_WELCOME && !c->welcomed) {
		c->welcomed = true;
		mcai_dbg("peer %s: WELCOME", mcai_peer_name(p));
		if (d->ping && mcai_send_ping(d, c))
			mcai_net_close(p, "cannot send ping");
		return 0;
	}
	if (!d->ping || c->finished)
		return 0;
	if (!c->last.len || c->last.len != MCAI_FRAME_HDR_LEN + h->length ||
	    memcmp(c->last.data + MCAI_FRAME_HDR_LEN, payload, h->length)) {
		mcai_err("peer %s: echo %u does not match what was sent",
			 mcai_peer_name(p), c->echoed + 1);
		mcai_conn_finish(d, c, false);
		mcai_net_close(p, "bad echo");
		return 0;
	}
	if (++c->echoed == d->ping) {
		mcai_buf_free(&c->last);
		/* Stay connected: the test wants them all open at once. */
		mcai_conn_finish(d, c, true);
		return 0;
	}
	if (mcai_send_ping(d, c))
		mcai_net_close(p, "cannot send ping");
	return 0;
}

static int mcai_on_frame(struct mcai_peer *p, const struct mcai_frame_hdr *h,
			 const uint8_t *payload, void *arg)
{
	struct mcai_daemon *d = arg;

	if (d->aggr && mcai_peer_outbound(p)) {
		struct mcai_conn *c = mcai_peer_data(p);

		if (h->type == MCAI_MSG_WELCOME)
			c->welcomed = true;
		return mcai_aggr_upstream_frame(d->aggr, p, h, payload);
	}
	if (d->aggr)
		return mcai_aggr_frame(d->aggr, p, h, payload);
	if (d->fnode) {
		struct mcai_conn *c = mcai_peer_data(p);

		/* Welcomed: the keepalive of mcai_on_tick() starts. */
		if (h->type == MCAI_MSG_WELCOME)
			c->welcomed = true;
		return mcai_fednode_frame(d->fnode, p, h, payload);
	}
	if (d->role == MCAI_ROLE_AGGREGATOR)
		return mcai_aggregator_frame(d, p, h, payload);
	return mcai_node_frame(d, p, h, payload);
}

static void mcai_on_closed(struct mcai_peer *p, const char *why, void *arg)
{
	struct mcai_daemon *d = arg;
	struct mcai_conn *c;

	if (d->aggr && mcai_peer_outbound(p)) {
		mcai_aggr_upstream_closed(d->aggr, p);
	} else if (d->aggr) {
		mcai_aggr_closed(d->aggr, p, why);
		return;
	}
	if (d->fnode)
		mcai_fednode_closed(d->fnode, p);
	c = mcai_peer_data(p);
	if (!c)
		return;
	mcai_buf_free(&c->last);
	c->peer = NULL;
	c->active = false;
	c->welcomed = false;
	if (d->ping) {
		if (!c->finished)
			mcai_err("peer %s: lost before the echoes were done: %s",
				 mcai_peer_name(p), why);
		mcai_conn_finish(d, c, c->finished && !c->failed);
		return;
	}
	d->reconnect_at = d->ticks + MCAI_RECONNECT_S;
	mcai_info("reconnecting in %d s", MCAI_RECONNECT_S);
}

static void mcai_node_connect(struct mcai_daemon *d, struct mcai_conn *c)
{
	int r;

	r = mcai_net_connect(d->net, d->connect, c);
	if (r) {
		mcai_err("connect %s: %s", d->connect, strerror(-r));
		if (d->ping)
			mcai_conn_finish(d, c, false);
		else
			d->reconnect_at = d->ticks + MCAI_RECONNECT_S;
		return;
	}
	c->active = true;
}

/*
 * Compare the module's running statistics of our model with the training
 * baseline; above the threshold, one drift alarm per crossing (logged and,
 * with MQTT, published with "round_request": the aggregator's policy
 * decides whether enough of the fleet agrees to start a round).
 */
static void mcai_drift_check(struct mcai_daemon *d)
{
	struct mcai_dev dev = { .fd = d->dev_fd };
	struct mcai_sel sel = { .name = d->drift_model };
	struct mcai_stats_reply r;
	char fields[160];
	double score;

	if (d->dev_fd < 0)
		return;
	if (mcai_dev_model_stats(&dev, sel, false, &r)) {
		mcai_dbg("drift: %s", mcai_dev_error(&dev));
		return;
	}
	if (r.samples < d->drift_min) {
		mcai_stats_reply_free(&r);
		return;
	}
	score = mcai_drift_score_q16(&d->drift, r.mean, r.n_features);
	mcai_stats_reply_free(&r);
	if (score < 0) {
		mcai_warn("drift: %s has %u features, the baseline %u: not compared",
			  d->drift_model, r.n_features, d->drift.n_features);
		return;
	}
	mcai_dbg("drift: %s score %.3f (threshold %.3f)", d->drift_model,
		 score, d->drift_threshold);
	if (score <= d->drift_threshold) {
		if (d->drift_alarmed)
			mcai_info("drift: %s back under the threshold (%.3f)",
				  d->drift_model, score);
		d->drift_alarmed = false;
		d->drift_requested = false;
		return;
	}
	if (d->drift_alarmed) {
		/* the aggregator was away at the crossing: ask now */
		if (d->drift_request && d->fnode && !d->drift_requested)
			d->drift_requested = !mcai_fednode_drift(d->fnode, score,
								 d->drift_threshold);
		return;
	}
	d->drift_alarmed = true;
	mcai_warn("drift: %s score %.3f above %.3f: asking for a round",
		  d->drift_model, score, d->drift_threshold);
	if (d->drift_request && d->fnode)
		d->drift_requested = !mcai_fednode_drift(d->fnode, score,
							 d->drift_threshold);
#ifdef MCAI_HAVE_MQTT
	if (d->mqtt) {
		snprintf(fields, sizeof(fields),
			 "\"score\":%.4f,\"threshold\":%.4f,\"round_request\":true",
			 score, d->drift_threshold);
		mcai_mqtt_alert(d->mqtt, d->drift_model, "drift", fields);
	}
#else
	(void)fields;
#endif
}

/*
 * A newly installed signed version carries its training data's
 * statistics: they are the baseline from now on, and the module's
 * running statistics start over, so the score speaks of the inputs this
 * version sees, not of those that made us ask for it.
 */
static void mcai_drift_from_manifest(void *arg,
				     const struct mcai_prov_manifest *pm)
{
	struct mcai_daemon *d = arg;
	struct mcai_dev dev = { .fd = d->dev_fd };
	struct mcai_sel sel = { .name = pm->name };
	struct mcai_drift_base b;
	struct mcai_stats_reply r;

	if (!d->drift_model || strcmp(pm->name, d->drift_model) ||
	    mcai_drift_base_from_stats(&b, pm->stats.n_features,
				       pm->stats.mean, pm->stats.var))
		return;
	mcai_drift_base_free(&d->drift);
	d->drift = b;
	d->drift_alarmed = false;
	d->drift_requested = false;
	d->drift_at = d->ticks + d->drift_interval;
	if (d->dev_fd >= 0) {
		if (mcai_dev_model_stats(&dev, sel, true, &r))
			mcai_warn("drift: statistics not reset: %s",
				  mcai_dev_error(&dev));
		else
			mcai_stats_reply_free(&r);
	}
	mcai_info("drift: %s version %u: baseline from its signed manifest (%u features, %llu training samples), statistics reset",
		  pm->name, pm->version, b.n_features,
		  (unsigned long long)pm->stats.samples);
}

static void mcai_on_tick(struct mcai_net *net, void *arg)
{
	struct mcai_daemon *d = arg;
	struct mcai_conn *c = &d->conns[0];

	(void)net;
#ifdef MCAI_HAVE_MQTT
	if (d->mqtt)
		mcai_mqtt_tick(d->mqtt);
#endif
#ifdef MCAI_HAVE_MHD
	mcai_httpm_tick(d->httpm);
#endif
	if (d->fed) {
		/* Ticks come every MCAI_FED_TICK_MS: count seconds in ticks. */
		static unsigned int sub;

		if (d->aggr)
			mcai_aggr_tick(d->aggr);
		if (d->fnode)
			mcai_fednode_tick(d->fnode);
		if (++sub < 1000 / MCAI_FED_TICK_MS)
			return;
		sub = 0;
	}
	d->ticks++;
	mcai_teleagent_tick(&d->tel);
	mcai_escalate_log(d, false);
	if (d->drift.n_features && d->ticks >= d->drift_at) {
		d->drift_at = d->ticks + d->drift_interval;
		mcai_drift_check(d);
	}
	/* Nodes, and aggregators with an upstream, keep a connection up. */
	if (!d->conns || d->ping)
		return;
	if (!c->active && d->reconnect_at && d->ticks >= d->reconnect_at) {
		d->reconnect_at = 0;
		mcai_node_connect(d, c);
	}
	/*
	 * Traffic now and then, so neither side takes us for idle: the
	 * telemetry summary, as often as it is refreshed when it is on.
	 */
	if (c->peer && c->welcomed && d->ticks >= d->keepalive_at) {
		struct mcai_msg m = { .type = MCAI_MSG_TELEMETRY };
		unsigned int every = MCAI_KEEPALIVE_S;

		if (d->tel.on && d->feed_interval &&
		    d->feed_interval < every)
			every = d->feed_interval;
		d->keepalive_at = d->ticks + every;
		if (mcai_teleagent_summary(&d->tel, &m.u.telemetry))
			memset(&m.u.telemetry, 0, sizeof(m.u.telemetry));
		mcai_net_send_msg(c->peer, &m, NULL);
		mcai_msg_telemetry_free(&m.u.telemetry);
	}
}

static void mcai_on_signal(struct mcai_net *net, int signo, void *arg)
{
	struct mcai_daemon *d = arg;

	mcai_info("%s: shutting down", strsignal(signo));
	if (d->ping)
		d->exit_code = 1;
	mcai_net_stop(net);
}

static const struct mcai_net_ops mcai_daemon_ops = {
	.connected = mcai_on_connected,
	.frame = mcai_on_frame,
	.closed = mcai_on_closed,
	.tick = mcai_on_tick,
	.signal = mcai_on_signal,
};

/* ------------------------------------------------------------------ */
/* Start-up                                                             */
/* ------------------------------------------------------------------ */

enum {
	OPT_ROLE = 256, OPT_LISTEN, OPT_CONNECT, OPT_CERT, OPT_KEY, OPT_CA,
	OPT_CRL, OPT_USER, OPT_CONFIG, OPT_LOG_LEVEL, OPT_NODE_ID,
	OPT_MAX_PEERS, OPT_IDLE, OPT_STALL, OPT_PING, OPT_PING_SIZE,
	OPT_CONNECTIONS, OPT_SET, OPT_REGISTRY, OPT_EVAL, OPT_EVAL_LIMIT,
	OPT_CALIB, OPT_HIDDEN, OPT_SEED, OPT_START_NODES, OPT_DATA, OPT_SHARD,
	OPT_SAMPLES, OPT_INITIAL,
	OPT_ANSWER_DELAY, OPT_ANSWER_HOLD, OPT_TRAIN_PACE, OPT_NO_PROGRESS, OPT_PART_PACE, OPT_NO_COMPRESS, OPT_TELEMETRY, OPT_POWER_TABLE, OPT_FEED_INTERVAL,
	OPT_RATE_FRAMES, OPT_ASSEMBLY_KIB, OPT_SEND_KIB, OPT_ALLOW_LIST,
	OPT_HELP,
};

static const struct option mcai_long_opts[] = {
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "crl", required_argument, NULL, OPT_CRL },
	{ "user", required_argument, NULL, OPT_USER },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "node-id", required_argument, NULL, OPT_NODE_ID },
	{ "max-peers", required_argument, NULL, OPT_MAX_PEERS },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "stall-timeout", required_argument, NULL, OPT_STALL },
	{ "ping", required_argument, NULL, OPT_PING },
	{ "ping-size", required_argument, NULL, OPT_PING_SIZE },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "set", required_argument, NULL, OPT_SET },
	{ "registry", required_argument, NULL, OPT_REGISTRY },
	{ "eval", required_argument, NULL, OPT_EVAL },
	{ "eval-limit", required_argument, NULL, OPT_EVAL_LIMIT },
	{ "calib", required_argument, NULL, OPT_CALIB },
	{ "hidden", required_argument, NULL, OPT_HIDDEN },
	{ "initial", required_argument, NULL, OPT_INITIAL },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "start-nodes", required_argument, NULL, OPT_START_NODES },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "samples", required_argument, NULL, OPT_SAMPLES },
	{ "answer-delay", required_argument, NULL, OPT_ANSWER_DELAY },
	{ "answer-hold", required_argument, NULL, OPT_ANSWER_HOLD },
	{ "train-pace", required_argument, NULL, OPT_TRAIN_PACE },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "part-pace", required_argument, NULL, OPT_PART_PACE },
	{ "no-compress", no_argument, NULL, OPT_NO_COMPRESS },
	{ "telemetry", required_argument, NULL, OPT_TELEMETRY },
	{ "power-table", required_argument, NULL, OPT_POWER_TABLE },
	{ "feed-interval", required_argument, NULL, OPT_FEED_INTERVAL },
	{ "rate-frames", required_argument, NULL, OPT_RATE_FRAMES },
	{ "assembly-kib", required_argument, NULL, OPT_ASSEMBLY_KIB },
	{ "send-kib", required_argument, NULL, OPT_SEND_KIB },
	{ "allow-list", required_argument, NULL, OPT_ALLOW_LIST },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

#ifdef MCAI_HAVE_CONFIG
/*
 * The file first, command-line options over it.  Only the transport's
 * keys are taken from it here; the rest is for the round logic.
 */
static int mcai_apply_config(struct mcai_daemon *d, struct mcai_config *cfg)
{
	struct mcai_config def;
	int r;

	r = mcai_config_load(cfg, d->config);
	if (r) {
		mcai_err("%s", cfg->error[0] ? cfg->error : strerror(-r));
		return r;
	}
	mcai_config_init(&def);
	if (!d->role)
		d->role = cfg->role;
	if (!d->user && cfg->user[0]) {
		d->user = cfg->user;
		/* A user left at its default may fall back to nobody. */
		d->user_explicit = strcmp(cfg->user, def.user) != 0;
	}
	if (!d->files.cert)
		d->files.cert = cfg->tls_cert;
	if (!d->files.key)
		d->files.key = cfg->tls_key;
	if (!d->files.ca)
		d->files.ca = cfg->tls_ca;
	if (!d->files.crl && cfg->tls_crl[0])
		d->files.crl = cfg->tls_crl;
	if (!d->node_id && cfg->node_id[0])
		d->node_id = cfg->node_id;
	if (!d->nopts.max_peers)
		d->nopts.max_peers = cfg->max_peers;
	if (!d->nopts.idle_ms)
		d->nopts.idle_ms = cfg->idle_timeout_ms;
	if (!d->rate_set && d->role == MCAI_ROLE_AGGREGATOR) {
		d->nopts.rate_frames = cfg->rate_frames;
		d->rate_set = true;
	}
	if (!d->nopts.in_budget)
		d->nopts.in_budget = (size_t)cfg->assembly_kib << 10;
	if (!d->nopts.win_budget)
		d->nopts.win_budget = (size_t)cfg->send_kib << 10;
	if (!d->allow_list && cfg->allow_list[0])
		d->allow_list = cfg->allow_list;
	return 0;
}

/* host:port of a config address, brackets back around IPv6. */
static const char *mcai_cfg_addr_str(const struct mcai_cfg_addr *a, char *buf,
				     size_t len)
{
	if (!a->port)
		return NULL;
	snprintf(buf, len, strchr(a->host, ':') ? "[%s]:%u" : "%s:%u",
		 a->host, a->port);
	return buf;
}
#endif

static int mcai_parse_args(struct mcai_daemon *d, int argc, char **argv)
{
	enum mcai_log_level lvl;
	unsigned int v;
	int c;

	while ((c = getopt_long(argc, argv, "h", mcai_long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROLE:
			if (mcai_parse_role(optarg, &d->role))
				goto bad;
			break;
		case OPT_LISTEN:
			d->listen = optarg;
			break;
		case OPT_CONNECT:
			d->connect = optarg;
			break;
		case OPT_CERT:
			d->files.cert = optarg;
			break;
		case OPT_KEY:
			d->files.key = optarg;
			break;
		case OPT_CA:
			d->files.ca = optarg;
			break;
		case OPT_CRL:
			d->files.crl = optarg;
			break;
		case OPT_USER:
			d->user = optarg;
			d->user_explicit = true;
			break;
		case OPT_CONFIG:
			d->config = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (mcai_log_parse_level(optarg, &lvl))
				goto bad;
			mcai_log_set_level(lvl);
			d->log_level_set = true;
			break;
		case OPT_NODE_ID:
			if (!mcai_proto_id_ok(optarg))
				goto bad;
			d->node_id = optarg;
			break;
		case OPT_MAX_PEERS:
			if (mcai_parse_uint(optarg, 1000000, &v) || !v)
				goto bad;
			d->nopts.max_peers = v;
			break;
		case OPT_IDLE:
			if (mcai_parse_uint(optarg, 86400000, &v) || !v)
				goto bad;
			d->nopts.idle_ms = v;
			break;
		case OPT_STALL:
			if (mcai_parse_uint(optarg, 86400000, &v) || !v)
				goto bad;
			d->nopts.stall_ms = v;
			break;
		case OPT_PING:
			if (mcai_parse_uint(optarg, 1000000, &d->ping))
				goto bad;
			break;
		case OPT_PING_SIZE:
			if (mcai_parse_uint(optarg, MCAI_FRAME_MAX - 64,
					    &d->ping_size))
				goto bad;
			break;
		case OPT_CONNECTIONS:
			if (mcai_parse_uint(optarg, 100000, &d->connections) ||
			    !d->connections)
				goto bad;
			break;
		case OPT_SET:
			if (d->n_sets == MCAI_MAX_SETS || !strchr(optarg, '='))
				goto bad;
			d->sets[d->n_sets++] = optarg;
			break;
		case OPT_REGISTRY:
			d->registry = optarg;
			break;
		case OPT_EVAL:
			d->eval_dir = optarg;
			break;
		case OPT_EVAL_LIMIT:
			if (mcai_parse_uint(optarg, 10000000, &d->eval_limit))
				goto bad;
			break;
		case OPT_CALIB:
			if (mcai_parse_uint(optarg, 1000000, &d->calib) ||
			    !d->calib)
				goto bad;
			break;
		case OPT_HIDDEN:
			if (mcai_parse_uint(optarg, 4096, &d->hidden) ||
			    !d->hidden)
				goto bad;
			break;
		case OPT_INITIAL:
			d->initial = optarg;
			break;
		case OPT_SEED:
			if (mcai_parse_uint(optarg, UINT_MAX, &v))
				goto bad;
			d->seed = v;
			break;
		case OPT_START_NODES:
			if (mcai_parse_uint(optarg, 1000000, &d->start_nodes))
				goto bad;
			break;
		case OPT_DATA:
			d->data_dir = optarg;
			break;
		case OPT_SAMPLES:
			d->samples_dir = optarg;
			break;
		case OPT_SHARD:
			d->shard = optarg;
			break;
		case OPT_ANSWER_DELAY:
			if (mcai_parse_uint(optarg, 86400000, &d->answer_delay))
				goto bad;
			break;
		case OPT_ANSWER_HOLD:
			d->answer_hold = optarg;
			break;
		case OPT_PART_PACE:
			if (mcai_parse_uint(optarg, 60000, &d->part_pace))
				goto bad;
			break;
		case OPT_NO_PROGRESS:
			d->no_progress = true;
			break;
		case OPT_TRAIN_PACE:
			if (mcai_parse_uint(optarg, 60000, &d->train_pace))
				goto bad;
			break;
		case OPT_NO_COMPRESS:
			d->no_compress = true;
			break;
		case OPT_TELEMETRY:
			if (mcai_tel_mode_parse(optarg, &d->tel_mode))
				goto bad;
			break;
		case OPT_POWER_TABLE:
			d->power_table = optarg;
			break;
		case OPT_FEED_INTERVAL:
			if (mcai_parse_uint(optarg, 86400, &d->feed_interval))
				goto bad;
			break;
		case OPT_RATE_FRAMES:
			if (mcai_parse_uint(optarg, 1000000,
					    &d->nopts.rate_frames))
				goto bad;
			d->rate_set = true;
			break;
		case OPT_ASSEMBLY_KIB:
			if (mcai_parse_uint(optarg, 4194304, &v) || v < 64)
				goto bad;
			d->nopts.in_budget = (size_t)v << 10;
			break;
		case OPT_SEND_KIB:
			if (mcai_parse_uint(optarg, 4194304, &v) || v < 64)
				goto bad;
			d->nopts.win_budget = (size_t)v << 10;
			break;
		case OPT_ALLOW_LIST:
			d->allow_list = optarg;
			break;
		case OPT_HELP:
		case 'h':
			mcai_usage(stdout);
			exit(0);
		default:
			mcai_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mcaid: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "mcaid: bad value for --%s: '%s'\n",
		mcai_long_opts[c - OPT_ROLE].name, optarg);
	return -EINVAL;
}

static int mcai_check_args(struct mcai_daemon *d)
{
	if (!d->role) {
		fprintf(stderr, "mcaid: --role node|aggregator is required\n");
		return -EINVAL;
	}
	if (d->role == MCAI_ROLE_AGGREGATOR && !d->listen) {
		fprintf(stderr, "mcaid: an aggregator needs --listen\n");
		return -EINVAL;
	}
	if (d->role == MCAI_ROLE_NODE && !d->connect) {
		fprintf(stderr, "mcaid: a node needs --connect\n");
		return -EINVAL;
	}
	if (d->role == MCAI_ROLE_AGGREGATOR && (d->ping || d->connections > 1)) {
		fprintf(stderr, "mcaid: --ping and --connections are for nodes\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * Whether this daemon federates, and its configuration: the file's (or
 * the defaults), then --set, then the dedicated flags.
 */
static int mcai_fed_setup(struct mcai_daemon *d, struct mcai_config *cfg)
{
	unsigned int i;

	if (!d->config)
		mcai_config_init(cfg);
	for (i = 0; i < d->n_sets; i++) {
		char key[128];
		const char *eq = strchr(d->sets[i], '=');
		size_t kl = (size_t)(eq - d->sets[i]);

		if (kl >= sizeof(key)) {
			fprintf(stderr, "mcaid: --set %s: key too long\n",
				d->sets[i]);
			return -EINVAL;
		}
		memcpy(key, d->sets[i], kl);
		key[kl] = 0;
		if (mcai_config_set(cfg, key, eq + 1, "--set")) {
			fprintf(stderr, "mcaid: %s\n", cfg->error);
			return -EINVAL;
		}
	}
	/* an override must not undo what the file's checks ensured */
	if (d->role == MCAI_ROLE_AGGREGATOR &&
	    mcai_config_check_aggregator(cfg)) {
		fprintf(stderr, "mcaid: %s\n", cfg->error);
		return -EINVAL;
	}
	if (d->registry)
		snprintf(cfg->registry_dir, sizeof(cfg->registry_dir), "%s",
			 d->registry);
	if (!cfg->model[0])
		snprintf(cfg->model, sizeof(cfg->model), "fmnist");
	if (d->role == MCAI_ROLE_AGGREGATOR)
		d->fed = d->registry || d->config;
	else
		d->fed = !d->ping && d->connections == 1 &&
			 (d->data_dir || d->shard || d->config ||
			  d->samples_dir);
	if (d->fed && d->role == MCAI_ROLE_NODE && !d->data_dir &&
	    cfg->data_train[0])
		d->data_dir = cfg->data_train;
	/* No dataset named: the node trains on what the module mirrored. */
	/*
	 * The mirror is drained into the store given, else the config's;
	 * it is trained on when no dataset is named.
	 */
	if (d->fed && d->role == MCAI_ROLE_NODE && !d->samples_dir &&
	    d->config)
		d->samples_dir = cfg->data_samples;
	d->train_samples = d->samples_dir && !d->data_dir && !d->shard;
	if (d->fed && d->role == MCAI_ROLE_AGGREGATOR && !d->eval_dir &&
	    cfg->data_eval[0])
		d->eval_dir = cfg->data_eval;
	if (d->fed && !d->nopts.tick_ms)
		d->nopts.tick_ms = MCAI_FED_TICK_MS;
	return 0;
}

static int mcai_fed_start(struct mcai_daemon *d, const struct mcai_config *cfg)
{
	if (!d->fed)
		return 0;
	if (d->role == MCAI_ROLE_AGGREGATOR) {
		struct mcai_aggr_opts o = {
			.cfg = cfg, .fleet = cfg->fleet,
			.eval_dir = d->eval_dir, .eval_limit = d->eval_limit,
			.calib = d->calib, .hidden = d->hidden,
			.initial = d->initial,
			.seed = d->seed ? d->seed : 1,
			.start_nodes = d->start_nodes,
			.idle_ms = d->nopts.idle_ms,
			.upstream = d->connect != NULL,
			.node_id = d->node_id,
			.tls = d->tls,
		};

		return mcai_aggr_new(&d->aggr, &o, d->net);
	} else {
		struct mcai_fednode_opts o = {
			.node_id = d->node_id, .model = cfg->model,
			.data_dir = d->data_dir, .shard = d->shard,
			.samples_dir = d->samples_dir,
			.train_samples = d->train_samples,
			.dev_fd = d->dev_fd, .momentum = 0.9f,
			.answer_delay_ms = d->answer_delay, .cfg = cfg,
			.answer_hold = d->answer_hold,
			.train_pace_ms = d->train_pace,
			.no_progress = d->no_progress,
			.part_pace_ms = d->part_pace,
			.no_compress = d->no_compress,
			.esc = d->esc,
			.on_stats = mcai_drift_from_manifest, .arg = d,
			.tls = d->tls,
		};

		return mcai_fednode_new(&d->fnode, &o);
	}
}

/* SIGTERM/SIGINT arrive through the ring, never as asynchronous handlers. */
static int mcai_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void mcai_log_stats(const struct mcai_daemon *d)
{
	struct mcai_net_stats st;

	mcai_net_get_stats(d->net, &st);
	mcai_info("stats: accepted=%llu connected=%llu peak_peers=%u refused_full=%llu handshake_failed=%llu malformed=%llu timeouts=%llu paused=%llu waited=%llu throttled=%llu refused_allow=%llu frames_in=%llu frames_out=%llu bytes_in=%llu bytes_out=%llu",
		  (unsigned long long)st.accepted,
		  (unsigned long long)st.connected, st.peak_peers,
		  (unsigned long long)st.refused_full,
		  (unsigned long long)st.handshake_failed,
		  (unsigned long long)st.malformed,
		  (unsigned long long)st.timeouts,
		  (unsigned long long)st.paused,
		  (unsigned long long)st.waited,
		  (unsigned long long)st.throttled,
		  (unsigned long long)st.refused_allow,
		  (unsigned long long)st.frames_in,
		  (unsigned long long)st.frames_out,
		  (unsigned long long)st.bytes_in,
		  (unsigned long long)st.bytes_out);
}

/*
 * Escalation's counters, logged once a second when they moved (and at
 * exit): operators and tests read what was routed and what the rate
 * limit refused without a metrics scrape.
 */
static void mcai_escalate_log(struct mcai_daemon *d, bool at_exit)
{
	struct mcai_esc_stats s;

	if (!d->esc)
		return;
	mcai_escalate_get_stats(d->esc, &s);
	if (!at_exit && !memcmp(&s, &d->esc_logged, sizeof(s)))
		return;
	d->esc_logged = s;
	mcai_info("escalation: %llu seen, %llu routed to %s, %llu limited by the rate, %llu failed, %llu agreed",
		  (unsigned long long)s.seen, (unsigned long long)s.routed,
		  mcai_escalate_model_name(d->esc),
		  (unsigned long long)s.limited, (unsigned long long)s.failed,
		  (unsigned long long)s.agreed);
}

/* One routed sample: both answers logged and, with MQTT, published. */
static void mcai_escalate_alert(void *arg, const char *big_model,
				const struct mcai_esc_answer *a)
{
	struct mcai_daemon *d = arg;

	mcai_info("escalation: sample %llu: small model %u v%u class %d score %d, %s class %d score %d",
		  (unsigned long long)a->sample_id, a->small_model_id,
		  a->small_version, a->small_class, a->small_score, big_model,
		  a->big_class, a->big_score);
#ifdef MCAI_HAVE_MQTT
	if (d->mqtt) {
		char fields[512];

		/* both answers, never the input: it stays in the store */
		snprintf(fields, sizeof(fields),
			 "\"sample\":%llu,\"small\":{\"model_id\":%u,\"version\":%u,\"class\":%d,\"score\":%d},\"big\":{\"model\":\"%s\",\"class\":%d,\"score\":%d},\"agree\":%s",
			 (unsigned long long)a->sample_id, a->small_model_id,
			 a->small_version, a->small_class, a->small_score,
			 big_model, a->big_class, a->big_score,
			 a->small_class == a->big_class ? "true" : "false");
		mcai_mqtt_alert(d->mqtt, d->esc_model, "escalation", fields);
	}
#else
	(void)d;
#endif
}

/*
 * escalate.policy local: the bigger model, read and checked as root
 * before the drop (its file may be root's alone).  It sees what the
 * mirror brings into the node's sample store, so it needs that store.
 */
static int mcai_escalate_setup(struct mcai_daemon *d,
			       const struct mcai_config *cfg)
{
	struct mcai_escalate_opts o = {
		.model_path = cfg->escalate_model, .rate = cfg->escalate_rate,
		.burst = cfg->escalate_burst, .label = cfg->escalate_label,
	};
	char err[512];
	int r;

	if (d->role != MCAI_ROLE_NODE ||
	    cfg->escalate_policy != MCAI_CFG_ESC_LOCAL)
		return 0;
	if (!d->fed || !d->samples_dir) {
		mcai_err("escalate.policy local: escalated samples come through the sample store (data.samples), which this node does not drain");
		return -EINVAL;
	}
	r = mcai_escalate_new(&d->esc, &o, mcai_fed_now_ms(), err,
			      sizeof(err));
	if (r) {
		mcai_err("%s", r == -ENOMEM ? strerror(ENOMEM) : err);
		return r;
	}
	d->esc_model = cfg->model;
	mcai_escalate_set_alert(d->esc, mcai_escalate_alert, d);
	mcai_info("escalation: samples flagged escalate in %s go to %s (%s), at most %.3g/s, bursts of %u; its class %s",
		  d->samples_dir, mcai_escalate_model_name(d->esc),
		  cfg->escalate_model, cfg->escalate_rate,
		  cfg->escalate_burst, cfg->escalate_label ?
		  "becomes the sample's label" : "is logged only");
	return 0;
}

/* The drift baseline of a node whose config names one, read as root. */
static int mcai_drift_setup(struct mcai_daemon *d, const struct mcai_config *cfg)
{
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *f, *m;
	int c, r;

	if (d->role != MCAI_ROLE_NODE)
		return 0;
	d->drift_request = cfg->drift_request_round;
	if (!cfg->drift_baseline[0]) {
		/* A federated node's baseline comes with each signed version. */
		d->drift_model = cfg->model;
		d->drift_threshold = cfg->drift_threshold;
		d->drift_interval = cfg->drift_interval_s;
		d->drift_min = cfg->drift_min_samples;
		d->drift_at = d->drift_interval;
		return 0;
	}
	f = fopen(cfg->drift_baseline, "r");
	if (!f) {
		mcai_err("drift.baseline %s: %s", cfg->drift_baseline,
			 strerror(errno));
		return -errno;
	}
	m = open_memstream(&text, &len);
	if (!m) {
		fclose(f);
		return -ENOMEM;
	}
	/* at most 64 MiB: a million features and then some */
	while ((c = getc(f)) != EOF && len < (64U << 20))
		putc(c, m);
	fclose(f);
	fclose(m);
	r = mcai_drift_base_parse(text, len, &d->drift, err, sizeof(err));
	free(text);
	if (r) {
		mcai_err("drift.baseline %s: %s", cfg->drift_baseline, err);
		return r;
	}
	d->drift_model = cfg->model;
	d->drift_threshold = cfg->drift_threshold;
	d->drift_interval = cfg->drift_interval_s;
	d->drift_min = cfg->drift_min_samples;
	d->drift_at = d->drift_interval;
	mcai_info("drift: %s against %s (%u features), every %u s, alarm above %.3f",
		  d->drift_model, cfg->drift_baseline, d->drift.n_features,
		  d->drift_interval, d->drift_threshold);
	return 0;
}

/*
 * The MQTT publisher of a node whose config names mqtt.broker.  After the
 * privilege drop: libmosquitto opens its socket and, with TLS, reads the
 * CA, certificate and key at each connection as the user we run as, so
 * that they must be readable by it is checked here, once, loudly.
 */
static int mcai_mqtt_setup(struct mcai_daemon *d, const struct mcai_config *cfg)
{
#ifdef MCAI_HAVE_MQTT
	struct mcai_mqtt_opts o = { 0 };
	const char *files[3];
	char err[256];
	int r;

	if (d->role != MCAI_ROLE_NODE || !cfg->mqtt_broker.port)
		return 0;
	o.host = cfg->mqtt_broker.host;
	o.port = cfg->mqtt_broker.port;
	o.node = d->node_id;
	if (cfg->mqtt_tls || cfg->mqtt_ca[0]) {
		/* the broker's own CA, or the fleet's */
		o.ca = cfg->mqtt_ca[0] ? cfg->mqtt_ca : d->files.ca;
		o.cert = cfg->mqtt_cert[0] ? cfg->mqtt_cert : d->files.cert;
		o.key = cfg->mqtt_key[0] ? cfg->mqtt_key : d->files.key;
	}
	o.queue_max = cfg->mqtt_queue;
	o.policy = (enum mcai_mqtt_policy)cfg->mqtt_policy;
	o.keepalive_s = cfg->mqtt_keepalive_s;
	files[0] = o.ca;
	files[1] = o.cert;
	files[2] = o.key;
	for (unsigned int i = 0; i < 3; i++)
		if (files[i] && access(files[i], R_OK)) {
			mcai_err("mqtt: %s: %s (libmosquitto reads it at each connection, as the user mcaid runs as)",
				 files[i], strerror(errno));
			return -EACCES;
		}
	r = mcai_mqtt_new(&d->mqtt, d->net, &o, err, sizeof(err));
	if (r) {
		mcai_err("%s", err);
		return r;
	}
	mcai_info("mqtt: alerts to %s:%u%s as mcai/%s/<model>/alert, QoS 1; queue %u, %s",
		  o.host, o.port, o.ca ? " over TLS" : "", o.node, o.queue_max,
		  o.policy == MCAI_MQTT_DROP_NEWEST ? "drop-newest" :
		  "drop-oldest");
	mcai_mqtt_start(d->mqtt);
	return 0;
#else
	if (d->role != MCAI_ROLE_NODE || !cfg->mqtt_broker.port)
		return 0;
	mcai_err("mqtt.broker: this mcaid was built without libmosquitto");
	return -ENOTSUP;
#endif
}

/*
 * metrics.listen: the endpoint, bound after the privilege drop (a
 * loopback port for a local scraper; config.c refuses anything else).
 */
static int mcai_httpm_setup(struct mcai_daemon *d, const struct mcai_config *cfg)
{
	if (!cfg->metrics_listen.port)
		return 0;
#ifdef MCAI_HAVE_MHD
	char err[256];
	int r;

	r = mcai_httpm_start(&d->httpm, d->net, cfg->metrics_listen.host,
			     cfg->metrics_listen.port, err, sizeof(err));
	if (r) {
		mcai_err("%s", r == -ENOMEM ? strerror(ENOMEM) : err);
		return r;
	}
	mcai_info("metrics: http://%s%s%s:%u/metrics",
		  strchr(cfg->metrics_listen.host, ':') ? "[" : "",
		  cfg->metrics_listen.host,
		  strchr(cfg->metrics_listen.host, ':') ? "]" : "",
		  cfg->metrics_listen.port);
	return 0;
#else
	(void)d;
	mcai_err("metrics.listen: this mcaid was built without libmicrohttpd");
	return -ENOTSUP;
#endif
}

static void mcai_httpm_end(struct mcai_daemon *d)
{
#ifdef MCAI_HAVE_MHD
	if (!d->httpm)
		return;
	mcai_info("metrics: %llu requests answered",
		  mcai_httpm_served(d->httpm));
	mcai_httpm_stop(d->httpm);
	d->httpm = NULL;
#else
	(void)d;
#endif
}

static void mcai_mqtt_stop(struct mcai_daemon *d)
{
#ifdef MCAI_HAVE_MQTT
	struct mcai_mqtt_stats st;

	if (!d->mqtt)
		return;
	mcai_mqtt_get_stats(d->mqtt, &st);
	mcai_info("mqtt: %llu alerts queued, %llu acknowledged, %llu dropped by the bound, %u undelivered at exit; %llu connections",
		  (unsigned long long)st.queued, (unsigned long long)st.acked,
		  (unsigned long long)st.dropped, st.pending,
		  (unsigned long long)st.connects);
	mcai_mqtt_free(d->mqtt);
	d->mqtt = NULL;
#else
	(void)d;
#endif
}

int main(int argc, char **argv)
{
	struct mcai_daemon d = { .dev_fd = -1, .ping_size = 1024,
				 .connections = 1, .feed_interval = 10 };
	struct mcai_tls_ctx *tls = NULL;
	char hostname[MCAI_PROTO_ID_MAX + 1];
	int sig_fd = -1, r;
	static struct mcai_config cfg;
#ifdef MCAI_HAVE_CONFIG
	char listen_buf[300], connect_buf[300];
#endif

	if (mcai_parse_args(&d, argc, argv))
		return 2;
#ifdef MCAI_HAVE_CONFIG
	if (d.config) {
		if (mcai_apply_config(&d, &cfg))
			return 2;
		if (!d.listen && d.role == MCAI_ROLE_AGGREGATOR)
			d.listen = mcai_cfg_addr_str(&cfg.listen, listen_buf,
						     sizeof(listen_buf));
		if (!d.connect)
			d.connect = mcai_cfg_addr_str(&cfg.upstream,
						      connect_buf,
						      sizeof(connect_buf));
		/* the name the upstream's certificate must carry */
		d.nopts.peer_name = cfg.upstream_name;
		if (!d.log_level_set && cfg.log_level >= MCAI_LOG_ERROR &&
		    cfg.log_level <= MCAI_LOG_DEBUG)
			mcai_log_set_level((enum mcai_log_level)cfg.log_level);
	}
#else
	if (d.config) {
		fprintf(stderr, "mcaid: built without configuration file support\n");
		return 2;
	}
#endif
	if (mcai_check_args(&d))
		return 2;
	if (mcai_fed_setup(&d, &cfg))
		return 2;
	if (mcai_drift_setup(&d, &cfg))
		return 2;
	if (mcai_escalate_setup(&d, &cfg))
		return 2;
	if (!d.node_id) {
		if (gethostname(hostname, sizeof(hostname)) ||
		    !mcai_proto_id_ok(hostname))
			snprintf(hostname, sizeof(hostname), "node");
		d.node_id = hostname;
	}
	mcai_info("starting as %s", d.role == MCAI_ROLE_NODE ? "node" :
		  "aggregator");

	sig_fd = mcai_signals();
	if (sig_fd < 0) {
		mcai_err("signalfd: %s", strerror(-sig_fd));
		return 1;
	}
	d.exit_code = 1;
	/* Everything that needs root, before the drop. */
	r = mcai_tls_ctx_new(&tls, &d.files);
	if (r)
		goto out;
	d.tls = tls;
	d.dev_fd = open("/dev/mcai", O_RDWR | O_CLOEXEC);
	if (d.dev_fd >= 0)
		mcai_info("/dev/mcai opened");
	else
		mcai_info("/dev/mcai: %s (running without the kernel module)",
			  strerror(errno));
	/* BPF programs load only now, while we may */
	r = mcai_teleagent_start(&d.tel, d.tel_mode, d.power_table, d.dev_fd,
				 d.feed_interval);
	if (r)
		goto out;
	/* The config file's default when there is no file either. */
	if (!d.rate_set && d.role == MCAI_ROLE_AGGREGATOR)
		d.nopts.rate_frames = MCAI_RATE_FRAMES_DEFAULT;
	r = mcai_net_new(&d.net, &d.nopts, tls, &mcai_daemon_ops, &d);
	if (r)
		goto out;
	if (d.allow_list) {
		char why[512];

		r = mcai_net_set_allow(d.net, d.allow_list, why, sizeof(why));
		if (r) {
			mcai_err("allow-list: %s", why);
			goto out;
		}
		mcai_info("allow-list %s: only the certificates it names may join",
			  d.allow_list);
	}
	if (d.listen && (r = mcai_net_listen(d.net, d.listen)))
		goto out;
	mcai_net_watch_signals(d.net, sig_fd);

	r = mcai_privdrop(d.user_explicit ? d.user : NULL);
	if (r == -ENOENT && !d.user_explicit && d.user) {
		/*
		 * A configured default that does not exist: same as no
		 * user.  Only then: any other failure may have happened
		 * half way, and a second try would judge a half-dropped
		 * process by the rules of one started unprivileged.
		 */
		r = mcai_privdrop(NULL);
	}
	if (r) {
		mcai_err("refusing to run with these privileges");
		goto out;
	}
	r = mcai_net_start(d.net);
	if (r)
		goto out;
	/* After the drop, so the registry belongs to the user we run as. */
	r = mcai_fed_start(&d, &cfg);
	if (r)
		goto out;
	r = mcai_mqtt_setup(&d, &cfg);
	if (r)
		goto out;
	r = mcai_httpm_setup(&d, &cfg);
	if (r)
		goto out;

	if (d.role == MCAI_ROLE_NODE || (d.aggr && d.connect)) {
		d.conns = calloc(d.connections, sizeof(*d.conns));
		d.ping_floats = calloc(d.ping_size / 4 + 1, sizeof(float));
		if (!d.conns || !d.ping_floats) {
			r = -ENOMEM;
			goto out;
		}
		for (unsigned int i = 0; i < d.ping_size / 4; i++)
			d.ping_floats[i] = (float)i * 0.25f - 3.0f;
		for (unsigned int i = 0; i < d.connections; i++) {
			d.conns[i].idx = i;
			mcai_buf_init(&d.conns[i].last);
			mcai_node_connect(&d, &d.conns[i]);
		}
	}
	if (!d.ping)
		d.exit_code = 0;
	/*
	 * Start-up is over: privileges dropped, registry and schedule read
	 * and logged.  Supervisors and tests wait for this line rather than
	 * for "listening on", which comes before all of that.
	 */
	mcai_info("ready: %s", d.role == MCAI_ROLE_NODE ? "node" : "aggregator");
	r = mcai_net_run(d.net);
	if (r)
		d.exit_code = 1;
	mcai_aggr_shutdown(d.aggr);
	mcai_log_stats(&d);
out:
	mcai_escalate_log(&d, true);
	mcai_httpm_end(&d);
	mcai_mqtt_stop(&d);
	mcai_drift_base_free(&d.drift);
	mcai_net_free(d.net);
	mcai_aggr_free(d.aggr);
	mcai_fednode_free(d.fnode);
	mcai_escalate_free(d.esc);
	if (d.conns)
		for (unsigned int i = 0; i < d.connections; i++)
			mcai_buf_free(&d.conns[i].last);
	free(d.conns);
	free(d.ping_floats);
	mcai_tls_ctx_free(tls);
	mcai_teleagent_stop(&d.tel);
	if (d.dev_fd >= 0)
		close(d.dev_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	mcai_info("exit %d", d.exit_code);
	return d.exit_code;
}
