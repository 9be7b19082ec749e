// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid configuration parser: see config.h for the format and the keys.
 *
 * The daemon starts as root and reads this before dropping privileges, so
 * the parser is strict: one table drives parsing, range checks, role
 * checks and the dump, and anything it does not know is an error rather
 * than a silently ignored typo in a security-relevant key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/daemon/config.h"
#include "runtime/fed/compress.h"
#include "runtime/fed/personal.h"

#define MCAI_CFG_LINE_MAX	4096
#define MCAI_CFG_FILE_MAX	(1U << 20)

enum mcai_cfg_type {
	MCAI_T_ROLE,
	MCAI_T_ID,
	MCAI_T_NAME,
	MCAI_T_USER,
	MCAI_T_LOGLEVEL,
	MCAI_T_LISTEN,		/* numeric host:port */
	MCAI_T_UPSTREAM,	/* host name or numeric, :port; may be empty */
	MCAI_T_PEERNAME,	/* host name or IP literal; may be empty */
	MCAI_T_U32,
	MCAI_T_F32,
	MCAI_T_F64,
	MCAI_T_PATH,		/* required non-empty when set */
	MCAI_T_PATH_OPT,	/* "" means none */
	MCAI_T_STRATEGY,
	MCAI_T_BOOL,		/* yes | no */
	MCAI_T_DPMODE,		/* off | central | distributed */
	MCAI_T_ONOFF,		/* off | on */
	MCAI_T_MQTTPOLICY,	/* drop-oldest | drop-newest */
	MCAI_T_COMPRESS,	/* none | int8 | topk */
	MCAI_T_ESCPOLICY,	/* off | local */
	MCAI_T_PERSMODE,	/* off | fedper | ditto */
	MCAI_T_PERSLAYERS,	/* personal.h's layer list */
	MCAI_T_PERSINSTALL,	/* fleet | personal */
};

#define MCAI_R_NODE	(1U << MCAI_ROLE_NODE)
#define MCAI_R_AGGR	(1U << MCAI_ROLE_AGGREGATOR)
#define MCAI_R_BOTH	(MCAI_R_NODE | MCAI_R_AGGR)

/* Range flags for floats: open ends. */
#define MCAI_LO_OPEN	1
#define MCAI_HI_OPEN	2

struct mcai_cfg_key {
	const char *name;
	enum mcai_cfg_type type;
	size_t off;
	unsigned int roles;
	double lo, hi;
	unsigned int open;
	bool required;
};

#define OFF(f)	offsetof(struct mcai_config, f)

static const struct mcai_cfg_key mcai_cfg_keys[] = {
	{ "role", MCAI_T_ROLE, OFF(role), MCAI_R_BOTH, 0, 0, 0, true },
	{ "node_id", MCAI_T_ID, OFF(node_id), MCAI_R_BOTH, 0, 0, 0, false },
	{ "fleet", MCAI_T_ID, OFF(fleet), MCAI_R_BOTH, 0, 0, 0, false },
	{ "model", MCAI_T_NAME, OFF(model), MCAI_R_BOTH, 0, 0, 0, true },
	{ "user", MCAI_T_USER, OFF(user), MCAI_R_BOTH, 0, 0, 0, false },
	{ "log_level", MCAI_T_LOGLEVEL, OFF(log_level), MCAI_R_BOTH,
	  0, 0, 0, false },

	{ "network.listen", MCAI_T_LISTEN, OFF(listen), MCAI_R_AGGR,
	  0, 0, 0, false },
	{ "network.upstream", MCAI_T_UPSTREAM, OFF(upstream), MCAI_R_BOTH,
	  0, 0, 0, false },
	{ "network.upstream_name", MCAI_T_PEERNAME, OFF(upstream_name),
	  MCAI_R_BOTH, 0, 0, 0, false },
	{ "network.max_peers", MCAI_T_U32, OFF(max_peers), MCAI_R_AGGR,
	  1, 1000000, 0, false },
	{ "network.idle_timeout_ms", MCAI_T_U32, OFF(idle_timeout_ms),
	  MCAI_R_BOTH, 1000, 86400000, 0, false },
	{ "network.max_nodes", MCAI_T_U32, OFF(max_nodes), MCAI_R_AGGR,
	  1, 10000000, 0, false },
	{ "network.allow_list", MCAI_T_PATH_OPT, OFF(allow_list), MCAI_R_AGGR,
	  0, 0, 0, false },
	{ "network.rate_frames", MCAI_T_U32, OFF(rate_frames), MCAI_R_AGGR,
	  0, 1000000, 0, false },
	{ "network.assembly_kib", MCAI_T_U32, OFF(assembly_kib), MCAI_R_AGGR,
	  64, 4194304, 0, false },
	{ "network.send_kib", MCAI_T_U32, OFF(send_kib), MCAI_R_BOTH,
	  64, 4194304, 0, false },

	{ "tls.cert", MCAI_T_PATH, OFF(tls_cert), MCAI_R_BOTH, 0, 0, 0, true },
	{ "tls.key", MCAI_T_PATH, OFF(tls_key), MCAI_R_BOTH, 0, 0, 0, true },
	{ "tls.ca", MCAI_T_PATH, OFF(tls_ca), MCAI_R_BOTH, 0, 0, 0, true },
	{ "tls.crl", MCAI_T_PATH_OPT, OFF(tls_crl), MCAI_R_BOTH,
	  0, 0, 0, false },

	{ "data.train", MCAI_T_PATH_OPT, OFF(data_train), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "data.samples", MCAI_T_PATH, OFF(data_samples), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "data.eval", MCAI_T_PATH_OPT, OFF(data_eval), MCAI_R_BOTH,
	  0, 0, 0, false },

	{ "registry.dir", MCAI_T_PATH, OFF(registry_dir), MCAI_R_AGGR,
	  0, 0, 0, false },
	{ "registry.init", MCAI_T_PATH_OPT, OFF(registry_init), MCAI_R_AGGR,
	  0, 0, 0, false },

	{ "rounds.count", MCAI_T_U32, OFF(rounds), MCAI_R_AGGR,
	  0, 4294967295.0, 0, false },
	{ "rounds.fraction", MCAI_T_F64, OFF(fraction), MCAI_R_AGGR,
	  0, 1, MCAI_LO_OPEN, false },
	{ "rounds.min_clients", MCAI_T_U32, OFF(min_clients), MCAI_R_AGGR,
	  1, 1000000, 0, false },
	{ "rounds.deadline_ms", MCAI_T_U32, OFF(deadline_ms), MCAI_R_AGGR,
	  1, MCAI_PROTO_MAX_DEADLINE_MS, 0, false },
	{ "rounds.local_epochs", MCAI_T_U32, OFF(local_epochs), MCAI_R_AGGR,
	  1, MCAI_PROTO_MAX_EPOCHS, 0, false },
	{ "rounds.batch", MCAI_T_U32, OFF(batch), MCAI_R_AGGR,
	  1, MCAI_PROTO_MAX_BATCH, 0, false },
	{ "rounds.lr", MCAI_T_F32, OFF(lr), MCAI_R_AGGR,
	  0, 10, MCAI_LO_OPEN, false },
	{ "rounds.compress", MCAI_T_COMPRESS, OFF(compress), MCAI_R_AGGR,
	  0, 0, 0, false },
	{ "rounds.compress_topk", MCAI_T_F32, OFF(compress_topk), MCAI_R_AGGR,
	  0, 1, MCAI_LO_OPEN, false },

	{ "strategy.name", MCAI_T_STRATEGY, OFF(strategy), MCAI_R_AGGR,
	  0, 0, 0, false },
	{ "strategy.trim_fraction", MCAI_T_F32, OFF(trim_fraction),
	  MCAI_R_AGGR, 0, 0.5, MCAI_HI_OPEN, false },
	{ "strategy.krum_f", MCAI_T_U32, OFF(krum_f), MCAI_R_AGGR,
	  0, 100000, 0, false },
	{ "strategy.krum_m", MCAI_T_U32, OFF(krum_m), MCAI_R_AGGR,
	  0, 1000000, 0, false },
	{ "strategy.clip_norm", MCAI_T_F32, OFF(clip_norm), MCAI_R_AGGR,
	  0, 1e30, 0, false },
	{ "strategy.server_lr", MCAI_T_F32, OFF(server_lr), MCAI_R_AGGR,
	  0, 10, MCAI_LO_OPEN, false },
	{ "strategy.server_step", MCAI_T_F32, OFF(server_step), MCAI_R_AGGR,
	  0, 4, MCAI_LO_OPEN, false },
	{ "strategy.server_step_final", MCAI_T_F32, OFF(server_step_final),
	  MCAI_R_AGGR, 0, 4, 0, false },
	{ "strategy.beta1", MCAI_T_F32, OFF(beta1), MCAI_R_AGGR,
	  0, 1, MCAI_HI_OPEN, false },
	{ "strategy.beta2", MCAI_T_F32, OFF(beta2), MCAI_R_AGGR,
	  0, 1, MCAI_HI_OPEN, false },
	{ "strategy.tau", MCAI_T_F32, OFF(tau), MCAI_R_AGGR,
	  0, 1, MCAI_LO_OPEN, false },
	{ "strategy.prox_mu", MCAI_T_F32, OFF(prox_mu), MCAI_R_AGGR,
	  0, 1000, 0, false },
	{ "strategy.server_momentum", MCAI_T_F32, OFF(server_momentum),
	  MCAI_R_AGGR, 0, 1, MCAI_HI_OPEN, false },
	{ "strategy.q", MCAI_T_F32, OFF(q), MCAI_R_AGGR, 0, 100, 0, false },
	{ "strategy.q_lr", MCAI_T_F32, OFF(q_lr), MCAI_R_AGGR,
	  0, 1000, MCAI_LO_OPEN, false },

	{ "privacy.dp", MCAI_T_DPMODE, OFF(dp_mode), MCAI_R_AGGR,
	  0, 0, 0, false },
	{ "privacy.clip_norm", MCAI_T_F64, OFF(dp_clip), MCAI_R_AGGR,
	  0, 1e6, MCAI_LO_OPEN, false },
	{ "privacy.noise_multiplier", MCAI_T_F64, OFF(dp_sigma), MCAI_R_AGGR,
	  0, 1e6, MCAI_LO_OPEN, false },
	{ "privacy.adaptive_clip", MCAI_T_ONOFF, OFF(dp_adaptive),
	  MCAI_R_AGGR, 0, 0, 0, false },
	{ "privacy.clip_quantile", MCAI_T_F64, OFF(dp_quantile), MCAI_R_AGGR,
	  0, 1, MCAI_LO_OPEN | MCAI_HI_OPEN, false },
	{ "privacy.clip_lr", MCAI_T_F64, OFF(dp_clip_lr), MCAI_R_AGGR,
	  0, 10, MCAI_LO_OPEN, false },
	{ "privacy.clip_count_stddev", MCAI_T_F64, OFF(dp_count_stddev),
	  MCAI_R_AGGR, 0, 1e6, 0, false },
	{ "privacy.delta", MCAI_T_F64, OFF(dp_delta), MCAI_R_AGGR,
	  0, 1, MCAI_LO_OPEN | MCAI_HI_OPEN, false },
	{ "privacy.epsilon_budget", MCAI_T_F64, OFF(dp_budget), MCAI_R_AGGR,
	  0, 1e9, MCAI_LO_OPEN, false },
	{ "privacy.secure_aggregation", MCAI_T_ONOFF, OFF(secagg),
	  MCAI_R_AGGR, 0, 0, 0, false },
	{ "privacy.secagg_threshold", MCAI_T_U32, OFF(secagg_threshold),
	  MCAI_R_AGGR, 0, 4096, 0, false },
	{ "privacy.secagg_degree", MCAI_T_U32, OFF(secagg_degree),
	  MCAI_R_AGGR, 0, 4096, 0, false },
	{ "privacy.secagg_signed", MCAI_T_ONOFF, OFF(secagg_signed),
	  MCAI_R_AGGR, 0, 0, 0, false },
	{ "privacy.secagg_require_signed", MCAI_T_ONOFF,
	  OFF(secagg_require_signed), MCAI_R_NODE, 0, 0, 0, false },

	{ "provenance.sign_key", MCAI_T_PATH_OPT, OFF(sign_key), MCAI_R_AGGR,
	  0, 0, 0, false },
	{ "provenance.trust", MCAI_T_PATH_OPT, OFF(trust), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "provenance.allow_unsigned", MCAI_T_BOOL, OFF(allow_unsigned),
	  MCAI_R_NODE, 0, 0, 0, false },
	{ "provenance.history", MCAI_T_PATH, OFF(history_dir), MCAI_R_NODE,
	  0, 0, 0, false },

	{ "mqtt.broker", MCAI_T_UPSTREAM, OFF(mqtt_broker), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "mqtt.tls", MCAI_T_ONOFF, OFF(mqtt_tls), MCAI_R_NODE, 0, 0, 0, false },
	{ "mqtt.ca", MCAI_T_PATH_OPT, OFF(mqtt_ca), MCAI_R_NODE, 0, 0, 0, false },
	{ "mqtt.cert", MCAI_T_PATH_OPT, OFF(mqtt_cert), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "mqtt.key", MCAI_T_PATH_OPT, OFF(mqtt_key), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "mqtt.queue", MCAI_T_U32, OFF(mqtt_queue), MCAI_R_NODE,
	  1, 1000000, 0, false },
	{ "mqtt.queue_policy", MCAI_T_MQTTPOLICY, OFF(mqtt_policy), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "mqtt.keepalive_s", MCAI_T_U32, OFF(mqtt_keepalive_s), MCAI_R_NODE,
	  5, 65535, 0, false },

	{ "drift.baseline", MCAI_T_PATH_OPT, OFF(drift_baseline), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "drift.threshold", MCAI_T_F64, OFF(drift_threshold), MCAI_R_NODE,
	  0, 1e6, MCAI_LO_OPEN, false },
	{ "drift.interval_s", MCAI_T_U32, OFF(drift_interval_s), MCAI_R_NODE,
	  1, 86400, 0, false },
	{ "drift.min_samples", MCAI_T_U32, OFF(drift_min_samples), MCAI_R_NODE,
	  1, 1000000000, 0, false },

	{ "escalate.policy", MCAI_T_ESCPOLICY, OFF(escalate_policy),
	  MCAI_R_NODE, 0, 0, 0, false },
	{ "escalate.model", MCAI_T_PATH_OPT, OFF(escalate_model), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "escalate.rate", MCAI_T_F64, OFF(escalate_rate), MCAI_R_NODE,
	  0, 1e6, MCAI_LO_OPEN, false },
	{ "escalate.burst", MCAI_T_U32, OFF(escalate_burst), MCAI_R_NODE,
	  1, 1000000, 0, false },
	{ "escalate.label", MCAI_T_BOOL, OFF(escalate_label), MCAI_R_NODE,
	  0, 0, 0, false },

	{ "metrics.listen", MCAI_T_UPSTREAM, OFF(metrics_listen), MCAI_R_BOTH,
	  0, 0, 0, false },
	{ "drift.request_round", MCAI_T_BOOL, OFF(drift_request_round),
	  MCAI_R_NODE, 0, 0, 0, false },
	{ "drift.min_nodes", MCAI_T_U32, OFF(drift_min_nodes), MCAI_R_AGGR,
	  0, 1000000, 0, false },
	{ "drift.min_fraction", MCAI_T_F64, OFF(drift_min_fraction), MCAI_R_AGGR,
	  0, 1, 0, false },
	{ "drift.window_s", MCAI_T_U32, OFF(drift_window_s), MCAI_R_AGGR,
	  1, 86400, 0, false },
	{ "drift.rounds", MCAI_T_U32, OFF(drift_rounds), MCAI_R_AGGR,
	  1, 1000, 0, false },
	{ "drift.stats", MCAI_T_BOOL, OFF(drift_stats), MCAI_R_AGGR,
	  0, 0, 0, false },

	{ "personal.mode", MCAI_T_PERSMODE, OFF(personal_mode), MCAI_R_BOTH,
	  0, 0, 0, false },
	{ "personal.layers", MCAI_T_PERSLAYERS, OFF(personal_layers),
	  MCAI_R_BOTH, 0, 0, 0, false },
	{ "personal.lambda", MCAI_T_F32, OFF(personal_lambda), MCAI_R_NODE,
	  0, 1000, MCAI_LO_OPEN, false },
	{ "personal.dir", MCAI_T_PATH, OFF(personal_dir), MCAI_R_NODE,
	  0, 0, 0, false },
	{ "personal.install", MCAI_T_PERSINSTALL, OFF(personal_install),
	  MCAI_R_NODE, 0, 0, 0, false },
};

#define MCAI_CFG_NKEYS	(sizeof(mcai_cfg_keys) / sizeof(mcai_cfg_keys[0]))
_Static_assert(MCAI_CFG_NKEYS <=
	       sizeof(((struct mcai_config *)0)->set_line) / sizeof(uint32_t),
	       "set_line too small for the key table");

/* set_line value of a key set by mcai_config_set(). */
#define MCAI_SET_OVERRIDE	UINT32_MAX

static const char *const mcai_strategy_names[] = {
	[MCAI_CFG_FEDAVG] = "fedavg",
	[MCAI_CFG_FEDPROX] = "fedprox",
	[MCAI_CFG_FEDADAM] = "fedadam",
	[MCAI_CFG_MEDIAN] = "median",
	[MCAI_CFG_TRIMMED_MEAN] = "trimmed_mean",
	[MCAI_CFG_KRUM] = "krum",
	[MCAI_CFG_FEDAVGM] = "fedavgm",
	[MCAI_CFG_FEDADAGRAD] = "fedadagrad",
	[MCAI_CFG_FEDYOGI] = "fedyogi",
	[MCAI_CFG_KRUM_SINGLE] = "krum_single",
	[MCAI_CFG_BULYAN] = "bulyan",
	[MCAI_CFG_QFEDAVG] = "qfedavg",
};

/* Same order and values as enum mcai_log_level (runtime/lib/log.h). */
static const char *const mcai_level_names[] = {
	"error", "warn", "info", "debug",
};

static const char *const mcai_bool_names[] = { "no", "yes" };
static const char *const mcai_dp_mode_names[] = {
	[MCAI_CFG_DP_OFF] = "off",
	[MCAI_CFG_DP_CENTRAL] = "central",
	[MCAI_CFG_DP_DISTRIBUTED] = "distributed",
};
static const char *const mcai_onoff_names[] = { "off", "on" };
/* Same order as enum mcai_mqtt_policy (runtime/daemon/mqtt.h). */
static const char *const mcai_mqtt_policy_names[] = {
	"drop-oldest", "drop-newest",
};
/* The values of enum mcai_comp_kind (runtime/fed/compress.h). */
static const char *const mcai_compress_names[] = { "none", "int8", "topk" };
/* The values of enum mcai_cfg_esc_policy. */
static const char *const mcai_esc_policy_names[] = { "off", "local" };
/* The values of enum mcai_cfg_pers_mode and mcai_cfg_pers_install. */
static const char *const mcai_pers_mode_names[] = { "off", "fedper", "ditto" };
static const char *const mcai_pers_install_names[] = { "fleet", "personal" };

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

const char *mcai_cfg_dp_mode_name(enum mcai_cfg_dp_mode m)
{
	if ((unsigned int)m < ARRAY_LEN(mcai_dp_mode_names))
		return mcai_dp_mode_names[m];
	return "?";
}

const char *mcai_cfg_strategy_name(enum mcai_cfg_strategy s)
{
	if ((unsigned int)s < ARRAY_LEN(mcai_strategy_names))
		return mcai_strategy_names[s];
	return "?";
}

const char *mcai_cfg_role_name(uint32_t role)
{
	return role == MCAI_ROLE_NODE ? "node" :
	       role == MCAI_ROLE_AGGREGATOR ? "aggregator" : "?";
}

void mcai_config_init(struct mcai_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->fleet, "default");
	strcpy(c->user, "mcai");
	c->log_level = 2;
	strcpy(c->listen.host, "0.0.0.0");
	c->listen.port = MCAI_CONFIG_DEFAULT_PORT;
	c->max_peers = 4096;
	c->idle_timeout_ms = 300000;
	c->max_nodes = 10000;
	c->rate_frames = 100;		/* MCAI_RATE_FRAMES_DEFAULT, net.h */
	c->assembly_kib = 16384;
	c->send_kib = 16384;
	strcpy(c->data_samples, "/var/lib/mcaid/samples");
	strcpy(c->registry_dir, "/var/lib/mcaid/registry");
	c->rounds = 0;
	c->fraction = 1.0;
	c->min_clients = 2;
	c->deadline_ms = 60000;
	c->secagg_signed = true;
	c->local_epochs = 1;
	c->batch = 32;
	c->lr = 0.05f;
	c->compress_topk = 0.1f;
	c->strategy = MCAI_CFG_FEDAVG;
	c->trim_fraction = 0.1f;
	c->krum_f = 1;
	c->krum_m = 0;
	c->clip_norm = 0;
	c->server_lr = 0.01f;
	c->server_step = 1.0f;
	c->server_step_final = 0;
	c->beta1 = 0.9f;
	c->beta2 = 0.99f;
	c->tau = 0.001f;
	c->prox_mu = 0.01f;
	c->server_momentum = 0.9f;
	c->q = 0.2f;
	c->q_lr = 0.1f;
	c->dp_quantile = 0.5;
	c->dp_clip_lr = 0.2;
	c->dp_mode = MCAI_CFG_DP_OFF;
	c->dp_clip = 1.0;
	c->dp_sigma = 1.0;
	c->dp_delta = 1e-5;
	c->dp_budget = 10.0;
	strcpy(c->history_dir, "/var/lib/mcaid/history");
	c->mqtt_queue = 1024;
	c->mqtt_keepalive_s = 30;
	c->drift_threshold = 1.0;
	c->drift_interval_s = 60;
	c->drift_min_samples = 100;
	c->escalate_rate = 1.0;
	c->escalate_burst = 10;
	c->escalate_label = true;
	c->drift_window_s = 600;
	c->drift_rounds = 1;
	strcpy(c->personal_layers, "head");
	c->personal_lambda = 0.1f;
	strcpy(c->personal_dir, "/var/lib/mcaid/personal");
	strcpy(c->origin, "(config)");
}

/* ---------------------------------------------------------------------- */
/* Errors                                                                 */
/* ---------------------------------------------------------------------- */

static int mcai_cfg_err(struct mcai_config *c, const char *where,
			unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int mcai_cfg_err(struct mcai_config *c, const char *where,
			unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (line)
		n = snprintf(c->error, sizeof(c->error), "%s:%u: ", where,
			     line);
	else
		n = snprintf(c->error, sizeof(c->error), "%s: ", where);
	if (n < 0 || (size_t)n >= sizeof(c->error))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->error + n, sizeof(c->error) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Where a key was set, for errors found after parsing. */
static int mcai_cfg_key_err(struct mcai_config *c, size_t k, const char *fmt,
			    ...) __attribute__((format(printf, 3, 4)));
static int mcai_cfg_key_err(struct mcai_config *c, size_t k, const char *fmt,
			    ...)
{
	char msg[MCAI_CONFIG_ERR_MAX];
	uint32_t line = c->set_line[k];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line == MCAI_SET_OVERRIDE)
		return mcai_cfg_err(c, "command line", 0, "%s", msg);
	return mcai_cfg_err(c, c->origin, line, "%s", msg);
}

static size_t mcai_cfg_find(const char *name)
{
	size_t i;

	for (i = 0; i < MCAI_CFG_NKEYS; i++)
		if (!strcmp(mcai_cfg_keys[i].name, name))
			return i;
	return MCAI_CFG_NKEYS;
}

/* ---------------------------------------------------------------------- */
/* Values                                                                 */
/* ---------------------------------------------------------------------- */

/* Error text into @why (a short buffer), -EINVAL. */
#define MCAI_WHY_MAX	256

static int mcai_why(char *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int mcai_why(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, MCAI_WHY_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int mcai_parse_u32(const char *v, const struct mcai_cfg_key *k,
			  uint32_t *out, char *why)
{
	unsigned long long x;
	char *end;

	/* strtoull accepts "-1" and leading spaces: refuse both up front. */
	if (*v < '0' || *v > '9')
		return mcai_why(why, "%s: '%s' is not a number", k->name, v);
	errno = 0;
	x = strtoull(v, &end, 10);
	if (*end)
		return mcai_why(why, "%s: '%s' is not a number", k->name, v);
	if (errno == ERANGE || x < k->lo || x > k->hi)
		return mcai_why(why, "%s: %s out of range %.0f .. %.0f",
				k->name, v, k->lo, k->hi);
	*out = (uint32_t)x;
	return 0;
}

static bool mcai_in_range(const struct mcai_cfg_key *k, double x)
{
	return !(x < k->lo || x > k->hi ||
		 ((k->open & MCAI_LO_OPEN) && x == k->lo) ||
		 ((k->open & MCAI_HI_OPEN) && x == k->hi));
}

static int mcai_parse_real(const char *v, const struct mcai_cfg_key *k,
			   double *out, char *why)
{
	char *end;
	double x;

	if (!*v || *v == ' ' || *v == '\t')
		return mcai_why(why, "%s: '%s' is not a number", k->name, v);
	errno = 0;
	x = strtod(v, &end);
	if (*end || end == v)
		return mcai_why(why, "%s: '%s' is not a number", k->name, v);
	if (!isfinite(x) || errno == ERANGE)
		return mcai_why(why, "%s: %s is not a finite number", k->name,
				v);
	if (!mcai_in_range(k, x))
		return mcai_why(why, "%s: %s out of range %c%g, %g%c", k->name,
				v, k->open & MCAI_LO_OPEN ? '(' : '[', k->lo,
				k->hi, k->open & MCAI_HI_OPEN ? ')' : ']');
	*out = x;
	return 0;
}

static bool mcai_host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
}

/* "host:port", "[v6]:port"; @numeric: the host must be an IP address. */
static int mcai_parse_addr(const char *v, const struct mcai_cfg_key *k,
			   bool numeric, struct mcai_cfg_addr *out, char *why)
{
	struct mcai_cfg_addr a;
	const char *colon, *host = v;
	size_t hlen, i;
	uint8_t ip[16];
	unsigned long port;
	char *end;

	memset(&a, 0, sizeof(a));
	if (*v == '[') {
		const char *rb = strchr(v, ']');

		if (!rb)
			return mcai_why(why, "%s: '%s': missing ']'", k->name,
					v);
		host = v + 1;
		hlen = (size_t)(rb - host);
		if (rb[1] != ':')
			return mcai_why(why, "%s: '%s': expected host:port",
					k->name, v);
		colon = rb + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return mcai_why(why, "%s: '%s': expected host:port",
					k->name, v);
		if (memchr(v, ':', (size_t)(colon - v)))
			return mcai_why(why,
					"%s: '%s': an IPv6 address needs brackets, [addr]:port",
					k->name, v);
		hlen = (size_t)(colon - v);
	}
	if (!hlen || hlen > MCAI_CONFIG_HOST_MAX)
		return mcai_why(why, "%s: '%s': bad host", k->name, v);
	memcpy(a.host, host, hlen);
	a.host[hlen] = 0;
	if (colon[1] < '0' || colon[1] > '9')
		return mcai_why(why, "%s: '%s': bad port", k->name, v);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port < 1 || port > 65535)
		return mcai_why(why, "%s: '%s': port out of range 1 .. 65535",
				k->name, v);
	a.port = (uint16_t)port;
	if (inet_pton(AF_INET, a.host, ip) == 1 ||
	    inet_pton(AF_INET6, a.host, ip) == 1) {
		if ((*v == '[') != !!strchr(a.host, ':'))
			return mcai_why(why, "%s: '%s': brackets only around IPv6",
					k->name, v);
		*out = a;
		return 0;
	}
	if (numeric || *v == '[')
		return mcai_why(why, "%s: '%s': not an IP address", k->name, v);
	for (i = 0; i < hlen; i++)
		if (!mcai_host_char(a.host[i]))
			return mcai_why(why, "%s: '%s': bad host name", k->name,
					v);
	*out = a;
	return 0;
}

/*
 * The name the upstream's certificate must carry: a DNS name or an IP
 * address without brackets, as it appears in a subjectAltName.
 */
static int mcai_parse_peername(const char *v, const struct mcai_cfg_key *k,
			       char *dst, char *why)
{
	size_t n = strlen(v), i;
	uint8_t ip[16];

	if (n > MCAI_CONFIG_HOST_MAX)
		return mcai_why(why, "%s: name too long", k->name);
	if (n && inet_pton(AF_INET, v, ip) != 1 &&
	    inet_pton(AF_INET6, v, ip) != 1) {
		for (i = 0; i < n; i++)
			if (!mcai_host_char(v[i]))
				return mcai_why(why,
						"%s: '%s': not a host name or IP address",
						k->name, v);
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static int mcai_parse_path(struct mcai_config *c, const char *v,
			   const struct mcai_cfg_key *k, char *dst, char *why)
{
	size_t n = strlen(v), b = strlen(c->basedir);

	if (!n) {
		if (k->type == MCAI_T_PATH_OPT) {
			dst[0] = 0;
			return 0;
		}
		return mcai_why(why, "%s: empty path", k->name);
	}
	if (v[0] == '/' || !b) {
		if (n >= MCAI_CONFIG_PATH_MAX)
			return mcai_why(why, "%s: path too long", k->name);
		memcpy(dst, v, n + 1);
		return 0;
	}
	/* Relative to the config file, not to wherever the daemon started. */
	if (b + 1 + n >= MCAI_CONFIG_PATH_MAX)
		return mcai_why(why, "%s: path too long", k->name);
	memcpy(dst, c->basedir, b);
	dst[b] = '/';
	memcpy(dst + b + 1, v, n + 1);
	return 0;
}

static int mcai_parse_user(const char *v, const struct mcai_cfg_key *k,
			   char *dst, char *why)
{
	size_t i, n = strlen(v);

	if (!n || n > MCAI_CONFIG_USER_MAX)
		return mcai_why(why, "%s: '%s': 1 .. %d characters", k->name, v,
				MCAI_CONFIG_USER_MAX);
	for (i = 0; i < n; i++) {
		char ch = v[i];
		bool ok = (ch >= 'a' && ch <= 'z') || ch == '_' ||
			  (i && ((ch >= '0' && ch <= '9') || ch == '-'));

		if (!ok)
			return mcai_why(why, "%s: '%s': not a user name",
					k->name, v);
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static int mcai_pick(const char *v, const char *const *names, size_t n,
		     const struct mcai_cfg_key *k, int *out, char *why)
{
	char list[128] = "";
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(v, names[i])) {
			*out = (int)i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? ", " : "", names[i]);
	}
	return mcai_why(why, "%s: '%s' is not one of %s", k->name, v, list);
}

/* Parse @v for key @k into @c; on failure @why says what. */
static int mcai_cfg_apply(struct mcai_config *c, const struct mcai_cfg_key *k,
			  const char *v, char *why)
{
	void *dst = (char *)c + k->off;
	static const char *const roles[] = { "node", "aggregator" };
	double d = 0;
	uint32_t u = 0;
	int i = 0, err;

	if (!*v && k->type != MCAI_T_PATH_OPT && k->type != MCAI_T_UPSTREAM &&
	    k->type != MCAI_T_PEERNAME && strcmp(k->name, "node_id"))
		return mcai_why(why, "%s: empty value", k->name);
	switch (k->type) {
	case MCAI_T_ROLE:
		err = mcai_pick(v, roles, 2, k, &i, why);
		if (!err)
			c->role = i ? MCAI_ROLE_AGGREGATOR : MCAI_ROLE_NODE;
		return err;
	case MCAI_T_ID:
		if (*v && !mcai_proto_id_ok(v))
			return mcai_why(why,
					"%s: '%s': 1 .. %d of [A-Za-z0-9_.:@-]",
					k->name, v, MCAI_PROTO_ID_MAX);
		strcpy(dst, v);
		return 0;
	case MCAI_T_NAME:
		if (!mcai_proto_name_ok(v))
			return mcai_why(why, "%s: '%s': 1 .. %d of [A-Za-z0-9_.-]",
					k->name, v, MCAI_PROTO_NAME_MAX);
		strcpy(dst, v);
		return 0;
	case MCAI_T_USER:
		return mcai_parse_user(v, k, dst, why);
	case MCAI_T_LOGLEVEL:
		return mcai_pick(v, mcai_level_names,
				 ARRAY_LEN(mcai_level_names), k, dst, why);
	case MCAI_T_STRATEGY:
		err = mcai_pick(v, mcai_strategy_names,
				ARRAY_LEN(mcai_strategy_names), k, &i, why);
		if (!err)
			c->strategy = (enum mcai_cfg_strategy)i;
		return err;
	case MCAI_T_LISTEN:
		return mcai_parse_addr(v, k, true, dst, why);
	case MCAI_T_UPSTREAM:
		if (!*v) {
			memset(dst, 0, sizeof(struct mcai_cfg_addr));
			return 0;
		}
		return mcai_parse_addr(v, k, false, dst, why);
	case MCAI_T_PEERNAME:
		return mcai_parse_peername(v, k, dst, why);
	case MCAI_T_U32:
		err = mcai_parse_u32(v, k, &u, why);
		if (!err)
			memcpy(dst, &u, sizeof(u));
		return err;
	case MCAI_T_F32:
		err = mcai_parse_real(v, k, &d, why);
		if (!err) {
			float f = (float)d;

			/* 1e-50 is > 0 as a double but 0 as a float. */
			if (!mcai_in_range(k, f))
				return mcai_why(why,
						"%s: %s out of range as a float",
						k->name, v);
			memcpy(dst, &f, sizeof(f));
		}
		return err;
	case MCAI_T_F64:
		err = mcai_parse_real(v, k, &d, why);
		if (!err)
			memcpy(dst, &d, sizeof(d));
		return err;
	case MCAI_T_PATH:
	case MCAI_T_PATH_OPT:
		return mcai_parse_path(c, v, k, dst, why);
	case MCAI_T_DPMODE:
		err = mcai_pick(v, mcai_dp_mode_names,
				ARRAY_LEN(mcai_dp_mode_names), k, &i, why);
		if (!err)
			c->dp_mode = (enum mcai_cfg_dp_mode)i;
		return err;
	case MCAI_T_MQTTPOLICY:
		err = mcai_pick(v, mcai_mqtt_policy_names,
				ARRAY_LEN(mcai_mqtt_policy_names), k, &i, why);
		if (!err)
			c->mqtt_policy = (uint32_t)i;
		return err;
	case MCAI_T_ONOFF:
		err = mcai_pick(v, mcai_onoff_names, ARRAY_LEN(mcai_onoff_names),
				k, &i, why);
		if (!err)
			*(bool *)dst = i;
		return err;
	case MCAI_T_COMPRESS:
		err = mcai_pick(v, mcai_compress_names,
				ARRAY_LEN(mcai_compress_names), k, &i, why);
		if (!err)
			*(uint32_t *)dst = (uint32_t)i;
		return err;
	case MCAI_T_ESCPOLICY:
		err = mcai_pick(v, mcai_esc_policy_names,
				ARRAY_LEN(mcai_esc_policy_names), k, &i, why);
		if (!err)
			*(uint32_t *)dst = (uint32_t)i;
		return err;
	case MCAI_T_PERSMODE:
		err = mcai_pick(v, mcai_pers_mode_names,
				ARRAY_LEN(mcai_pers_mode_names), k, &i, why);
		if (!err)
			*(uint32_t *)dst = (uint32_t)i;
		return err;
	case MCAI_T_PERSINSTALL:
		err = mcai_pick(v, mcai_pers_install_names,
				ARRAY_LEN(mcai_pers_install_names), k, &i, why);
		if (!err)
			*(uint32_t *)dst = (uint32_t)i;
		return err;
	case MCAI_T_PERSLAYERS: {
		u32 mask;

		/*
		 * The syntax and the widest range here; whether the list
		 * fits the model (and leaves a layer shared) is known once
		 * its first version says how many layers it has.
		 */
		if (strlen(v) >= MCAI_CFG_LAYERS_MAX ||
		    mcai_pers_layers_parse(v, MCAI_MLP_MAX_LAYERS, &mask))
			return mcai_why(why,
					"%s: '%s': want weight-layer indices separated by commas (0 is the first, -1 or \"head\" the last), at most %u layers, not all of them",
					k->name, v, MCAI_MLP_MAX_LAYERS);
		memcpy(dst, v, strlen(v) + 1);
		return 0;
	}
	case MCAI_T_BOOL:
		/* Only the two words: "1" or "true" in a security key is a guess. */
		err = mcai_pick(v, mcai_bool_names, ARRAY_LEN(mcai_bool_names),
				k, &i, why);
		if (!err)
			*(bool *)dst = i != 0;
		return err;
	}
	return mcai_why(why, "%s: internal: bad key type", k->name);
}

/* ---------------------------------------------------------------------- */
/* Lines                                                                  */
/* ---------------------------------------------------------------------- */

static bool mcai_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static char *mcai_trim(char *s)
{
	size_t n;

	while (mcai_blank(*s))
		s++;
	n = strlen(s);
	while (n && mcai_blank(s[n - 1]))
		s[--n] = 0;
	return s;
}

static bool mcai_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.';
}

/* Cut a value at its comment and unquote it; NULL and @why on error. */
static char *mcai_value(char *v, char *why)
{
	char *p;

	v = mcai_trim(v);
	if (*v == '"') {
		char *q = strchr(v + 1, '"');

		if (!q) {
			mcai_why(why, "unterminated quoted value");
			return NULL;
		}
		*q = 0;
		p = mcai_trim(q + 1);
		if (*p && *p != '#') {
			mcai_why(why, "text after the quoted value");
			return NULL;
		}
		return v + 1;
	}
	if (*v == '#')
		return v + strlen(v);	/* empty value, then a comment */
	for (p = v; *p; p++) {
		if (*p == '#' && mcai_blank(p[-1])) {
			*p = 0;
			break;
		}
	}
	return mcai_trim(v);
}

static int mcai_cfg_line(struct mcai_config *c, char *line, unsigned int ln,
			 char *section)
{
	char full[2 * MCAI_CFG_LINE_MAX];
	char why[MCAI_WHY_MAX];
	char *s = mcai_trim(line), *eq, *key, *val;
	size_t k, i;

	if (!*s || *s == '#')
		return 0;
	if (*s == '[') {
		char *rb = strchr(s, ']');

		if (!rb)
			return mcai_cfg_err(c, c->origin, ln,
					    "section header without ']'");
		*rb = 0;
		val = mcai_trim(rb + 1);
		if (*val && *val != '#')
			return mcai_cfg_err(c, c->origin, ln,
					    "text after the section header");
		key = mcai_trim(s + 1);
		for (i = 0; key[i]; i++)
			if (!mcai_key_char(key[i]) || key[i] == '.')
				break;
		if (!*key || key[i] || strlen(key) >= 32)
			return mcai_cfg_err(c, c->origin, ln,
					    "bad section name '%s'", key);
		strcpy(section, key);
		return 0;
	}
	eq = strchr(s, '=');
	if (!eq)
		return mcai_cfg_err(c, c->origin, ln,
				    "expected 'key = value'");
	*eq = 0;
	key = mcai_trim(s);
	for (i = 0; key[i]; i++)
		if (!mcai_key_char(key[i]))
			return mcai_cfg_err(c, c->origin, ln,
					    "bad key '%s'", key);
	if (!*key)
		return mcai_cfg_err(c, c->origin, ln, "missing key");
	if (*section)
		snprintf(full, sizeof(full), "%s.%s", section, key);
	else
		snprintf(full, sizeof(full), "%s", key);
	k = mcai_cfg_find(full);
	if (k == MCAI_CFG_NKEYS)
		return mcai_cfg_err(c, c->origin, ln, "unknown key '%s'", full);
	if (c->set_line[k] && c->set_line[k] != MCAI_SET_OVERRIDE)
		return mcai_cfg_err(c, c->origin, ln,
				    "duplicate key '%s' (first set on line %u)",
				    full, c->set_line[k]);
	val = mcai_value(eq + 1, why);
	if (!val || mcai_cfg_apply(c, &mcai_cfg_keys[k], val, why))
		return mcai_cfg_err(c, c->origin, ln, "%s", why);
	c->set_line[k] = ln;
	return 0;
}

int mcai_config_read_mem(struct mcai_config *c, const char *text, size_t len,
			 const char *fname, const char *basedir)
{
	char line[MCAI_CFG_LINE_MAX + 1];
	char section[32] = "";
	unsigned int ln = 0;
	size_t pos = 0;
	int err;

	snprintf(c->origin, sizeof(c->origin), "%s",
		 fname ? fname : "(config)");
	if (basedir && strlen(basedir) >= sizeof(c->basedir))
		return mcai_cfg_err(c, c->origin, 0, "directory name too long");
	snprintf(c->basedir, sizeof(c->basedir), "%s", basedir ? basedir : "");
	c->error[0] = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		ln++;
		if (n > MCAI_CFG_LINE_MAX)
			return mcai_cfg_err(c, c->origin, ln,
					    "line longer than %d bytes",
					    MCAI_CFG_LINE_MAX);
		if (memchr(text + pos, 0, n))
			return mcai_cfg_err(c, c->origin, ln, "NUL byte");
		memcpy(line, text + pos, n);
		line[n] = 0;
		err = mcai_cfg_line(c, line, ln, section);
		if (err)
			return err;
		pos += n + (nl ? 1 : 0);
	}
	return 0;
}

int mcai_config_read(struct mcai_config *c, const char *path)
{
	char dir[MCAI_CONFIG_PATH_MAX];
	struct stat st;
	char *text, *slash;
	size_t got = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		mcai_cfg_err(c, path, 0, "%s", strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > MCAI_CFG_FILE_MAX) {
		close(fd);
		return mcai_cfg_err(c, path, 0,
				    "not a regular file of at most 1 MiB");
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		mcai_cfg_err(c, path, 0, "out of memory");
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	err = mcai_config_read_mem(c, text, got, path, dir);
	free(text);
	return err;
}

int mcai_config_set(struct mcai_config *c, const char *key,
		    const char *value, const char *origin)
{
	char why[MCAI_WHY_MAX];
	size_t k = mcai_cfg_find(key);

	if (k == MCAI_CFG_NKEYS)
		return mcai_cfg_err(c, origin, 0, "unknown key '%s'", key);
	if (mcai_cfg_apply(c, &mcai_cfg_keys[k], value, why))
		return mcai_cfg_err(c, origin, 0, "%s", why);
	c->set_line[k] = MCAI_SET_OVERRIDE;
	return 0;
}

int mcai_config_finish(struct mcai_config *c)
{
	unsigned int rbit;
	size_t i;

	if (!c->role)
		return mcai_cfg_err(c, c->origin, 0,
				    "missing required key 'role'");
	rbit = 1U << c->role;
	for (i = 0; i < MCAI_CFG_NKEYS; i++) {
		const struct mcai_cfg_key *k = &mcai_cfg_keys[i];

		if (k->required && !c->set_line[i])
			return mcai_cfg_err(c, c->origin, 0,
					    "missing required key '%s'",
					    k->name);
		if (c->set_line[i] && !(k->roles & rbit))
			return mcai_cfg_key_err(c, i,
						"key '%s' is not used by role %s",
						k->name,
						mcai_cfg_role_name(c->role));
	}
	if (c->role == MCAI_ROLE_NODE && !c->upstream.port)
		return mcai_cfg_err(c, c->origin, 0,
				    "missing required key 'network.upstream' (role node)");
	if (!c->mqtt_cert[0] != !c->mqtt_key[0])
		return mcai_cfg_key_err(c, mcai_cfg_find(c->mqtt_cert[0] ?
							 "mqtt.cert" : "mqtt.key"),
					"mqtt.cert and mqtt.key go together");
	if ((c->mqtt_tls || c->mqtt_ca[0] || c->mqtt_cert[0]) &&
	    !c->mqtt_broker.port)
		return mcai_cfg_key_err(c, mcai_cfg_find(c->mqtt_tls ? "mqtt.tls" :
							 c->mqtt_ca[0] ? "mqtt.ca" :
							 "mqtt.cert"),
					"MQTT settings without mqtt.broker");
	if (c->upstream_name[0] && !c->upstream.port)
		return mcai_cfg_key_err(c,
					mcai_cfg_find("network.upstream_name"),
					"network.upstream_name without network.upstream");
	/* a scrape endpoint for this host's scraper, never the network's */
	if (c->metrics_listen.port &&
	    strcmp(c->metrics_listen.host, "::1") &&
	    strncmp(c->metrics_listen.host, "127.", 4))
		return mcai_cfg_key_err(c, mcai_cfg_find("metrics.listen"),
					"metrics.listen must be a numeric loopback address (127.0.0.1:PORT or [::1]:PORT)");
	/* the bigger model is named with the policy, never implied */
	if (c->escalate_policy == MCAI_CFG_ESC_LOCAL && !c->escalate_model[0])
		return mcai_cfg_key_err(c, mcai_cfg_find("escalate.policy"),
					"escalate.policy local needs escalate.model");
	if (c->escalate_policy == MCAI_CFG_ESC_OFF && c->escalate_model[0])
		return mcai_cfg_key_err(c, mcai_cfg_find("escalate.model"),
					"escalate.model without escalate.policy (off): say local to route escalations");
	if (mcai_config_check_personal(c))
		return -EINVAL;
	if (c->role != MCAI_ROLE_AGGREGATOR)
		return 0;
	return mcai_config_check_aggregator(c);
}

int mcai_config_check_personal(struct mcai_config *c)
{
	const size_t km = mcai_cfg_find("personal.mode");

	/* A key of a mode not chosen is a mistake, not a no-op. */
	if (c->personal_mode != MCAI_CFG_PERS_FEDPER &&
	    c->set_line[mcai_cfg_find("personal.layers")])
		return mcai_cfg_key_err(c, mcai_cfg_find("personal.layers"),
					"personal.layers is for personal.mode = fedper (mode is %s)",
					mcai_pers_mode_names[c->personal_mode % 3]);
	if (c->personal_mode != MCAI_CFG_PERS_DITTO &&
	    c->set_line[mcai_cfg_find("personal.lambda")])
		return mcai_cfg_key_err(c, mcai_cfg_find("personal.lambda"),
					"personal.lambda is for personal.mode = ditto (mode is %s)",
					mcai_pers_mode_names[c->personal_mode % 3]);
	if (c->personal_mode == MCAI_CFG_PERS_OFF &&
	    c->personal_install == MCAI_CFG_PERS_INSTALL_PERSONAL)
		return mcai_cfg_key_err(c, mcai_cfg_find("personal.install"),
					"personal.install = personal with personal.mode = off: there are no personal versions");
	if (c->role != MCAI_ROLE_AGGREGATOR)
		return 0;
	/* Ditto trains the global model as usual: the nodes alone know. */
	if (c->personal_mode == MCAI_CFG_PERS_DITTO)
		return mcai_cfg_key_err(c, km,
					"personal.mode = ditto is a node setting: the aggregator trains the global model as without it (set fedper here only, the shared layers it averages)");
	if (c->personal_mode != MCAI_CFG_PERS_FEDPER)
		return 0;
	if (c->secagg)
		return mcai_cfg_key_err(c, km,
					"personal.mode = fedper with privacy.secure_aggregation is not supported in this version (the masked vector is the whole model)");
	if (c->compress)
		return mcai_cfg_key_err(c, km,
					"personal.mode = fedper with rounds.compress is not supported in this version (compressed updates are of the whole model)");
	if (c->upstream.port)
		return mcai_cfg_key_err(c, km,
					"personal.mode = fedper on a site aggregator (network.upstream) is not supported: set it on the top aggregator");
	return 0;
}

int mcai_config_check_aggregator(struct mcai_config *c)
{
	size_t kf = mcai_cfg_find("strategy.krum_f");
	size_t ks = mcai_cfg_find("strategy.name");

	const bool krum = c->strategy == MCAI_CFG_KRUM ||
			  c->strategy == MCAI_CFG_KRUM_SINGLE;
	/* a sum of the updates: what DP's noise and SecAgg's masks cover */
	const bool summed = c->strategy == MCAI_CFG_FEDAVG ||
			    c->strategy == MCAI_CFG_FEDPROX ||
			    c->strategy == MCAI_CFG_FEDADAM ||
			    c->strategy == MCAI_CFG_FEDAVGM ||
			    c->strategy == MCAI_CFG_FEDADAGRAD ||
			    c->strategy == MCAI_CFG_FEDYOGI;
	const bool adaptive = c->strategy == MCAI_CFG_FEDADAM ||
			      c->strategy == MCAI_CFG_FEDADAGRAD ||
			      c->strategy == MCAI_CFG_FEDYOGI;

	/* Bulyan runs Krum down to 2f + 1 left and trims 2f more. */
	if (c->strategy == MCAI_CFG_BULYAN &&
	    c->min_clients < 4 * (uint64_t)c->krum_f + 3)
		return mcai_cfg_key_err(c, c->set_line[kf] ? kf : ks,
					"strategy bulyan with krum_f = %u needs rounds.min_clients >= %u, have %u",
					c->krum_f, 4 * c->krum_f + 3,
					c->min_clients);
	/* Krum scores need n > 2f + 2 updates to be defined at all. */
	if (krum && c->min_clients < 2 * (uint64_t)c->krum_f + 3)
		return mcai_cfg_key_err(c, c->set_line[kf] ? kf : ks,
					"strategy %s with krum_f = %u needs rounds.min_clients >= %u, have %u",
					mcai_cfg_strategy_name(c->strategy),
					c->krum_f, 2 * c->krum_f + 3,
					c->min_clients);
	if (c->strategy == MCAI_CFG_KRUM && c->krum_m &&
	    c->krum_m > c->min_clients - c->krum_f)
		return mcai_cfg_key_err(c, mcai_cfg_find("strategy.krum_m"),
					"strategy.krum_m %u above rounds.min_clients - krum_f = %u",
					c->krum_m, c->min_clients - c->krum_f);
	/* FedAdam's step is its own (server_lr over sqrt(v) + tau). */
	if (adaptive && (c->server_step != 1.0f || c->server_step_final > 0))
		return mcai_cfg_key_err(c, mcai_cfg_find(c->server_step != 1.0f ?
							 "strategy.server_step" :
							 "strategy.server_step_final"),
					"strategy %s takes no server step (its step is strategy.server_lr)",
					mcai_cfg_strategy_name(c->strategy));
	if (c->server_step_final > 0 && !c->rounds)
		return mcai_cfg_key_err(c, mcai_cfg_find("strategy.server_step_final"),
					"strategy.server_step_final needs rounds.count (the schedule runs over the rounds)");
	if (c->strategy == MCAI_CFG_FEDPROX && !(c->prox_mu > 0))
		return mcai_cfg_key_err(c, mcai_cfg_find("strategy.prox_mu"),
					"strategy fedprox needs strategy.prox_mu > 0");
	/*
	 * The Gaussian mechanism's sensitivity is that of a sum of clipped
	 * updates; a median or Krum's choice is not a sum.
	 */
	if (c->dp_mode != MCAI_CFG_DP_OFF && !summed)
		return mcai_cfg_key_err(c, mcai_cfg_find("privacy.dp"),
					"privacy.dp %s needs strategy fedavg, fedprox, fedadam, fedavgm, fedadagrad or fedyogi (the noise is calibrated to a sum of clipped updates, not to %s)",
					mcai_cfg_dp_mode_name(c->dp_mode),
					mcai_cfg_strategy_name(c->strategy));
	if (c->secagg) {
		size_t ks_on = mcai_cfg_find("privacy.secure_aggregation");

		/* Robust strategies look at single updates, which it hides. */
		if (!summed)
			return mcai_cfg_key_err(c, ks_on,
						"privacy.secure_aggregation needs strategy fedavg, fedprox, fedadam, fedavgm, fedadagrad or fedyogi: %s needs the individual updates, which secure aggregation hides",
						mcai_cfg_strategy_name(c->strategy));
		if (c->clip_norm > 0)
			return mcai_cfg_key_err(c, ks_on,
						"privacy.secure_aggregation with strategy.clip_norm: the aggregator never sees an update to clip (nodes clamp to the fixed-point range; use privacy.dp = distributed for an L2 bound)");
		if (c->dp_mode == MCAI_CFG_DP_CENTRAL)
			return mcai_cfg_key_err(c, ks_on,
						"privacy.secure_aggregation with privacy.dp = central: the aggregator only sees the sum, so the nodes must add the noise (privacy.dp = distributed)");
		if (c->min_clients < 3)
			return mcai_cfg_key_err(c, ks_on,
						"privacy.secure_aggregation needs rounds.min_clients >= 3, have %u: the sum of two updates gives each node the other's",
						c->min_clients);
		if (c->secagg_degree & 1)
			return mcai_cfg_key_err(c,
						mcai_cfg_find("privacy.secagg_degree"),
						"privacy.secagg_degree %u is odd: the SecAgg+ graph links d/2 nodes on either side",
						c->secagg_degree);
		if (c->upstream.port)
			return mcai_cfg_key_err(c, ks_on,
						"privacy.secure_aggregation on a site aggregator (network.upstream) is not supported");
		/* compress.h: masks only cancel over one index set */
		if (c->compress == MCAI_COMP_TOPK)
			return mcai_cfg_key_err(c, mcai_cfg_find("rounds.compress"),
						"rounds.compress = topk with privacy.secure_aggregation: each node's top-k index set is its own, and masked values only sum over the same coordinates (int8 does)");
	}
	/*
	 * Adaptive clipping counts the updates within the clip: the
	 * aggregator sees their norms only when it clips them itself.
	 */
	if (c->dp_adaptive && c->dp_mode != MCAI_CFG_DP_CENTRAL)
		return mcai_cfg_key_err(c, mcai_cfg_find("privacy.adaptive_clip"),
					"privacy.adaptive_clip needs privacy.dp = central (the aggregator counts the updates within the clip norm)");
	if (c->dp_adaptive && c->dp_count_stddev > 0 &&
	    !(2 * c->dp_count_stddev > c->dp_sigma))
		return mcai_cfg_key_err(c, mcai_cfg_find("privacy.clip_count_stddev"),
					"privacy.clip_count_stddev %g must be above privacy.noise_multiplier / 2 = %g (else the count takes the whole privacy budget)",
					c->dp_count_stddev, c->dp_sigma / 2);
	if (c->dp_mode != MCAI_CFG_DP_OFF && c->upstream.port)
		return mcai_cfg_key_err(c, mcai_cfg_find("privacy.dp"),
					"privacy.dp on a site aggregator (network.upstream): set it on the top aggregator, which publishes");
	return 0;
}

int mcai_config_load(struct mcai_config *c, const char *path)
{
	int err;

	mcai_config_init(c);
	err = mcai_config_read(c, path);
	if (!err)
		err = mcai_config_finish(c);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Dump                                                                   */
/* ---------------------------------------------------------------------- */

static void mcai_dump_addr(FILE *f, const struct mcai_cfg_addr *a)
{
	if (!a->port)
		return;
	if (strchr(a->host, ':'))
		fprintf(f, "[%s]:%u", a->host, a->port);
	else
		fprintf(f, "%s:%u", a->host, a->port);
}

void mcai_config_dump(const struct mcai_config *c, FILE *f)
{
	char section[32] = "";
	size_t i;

	for (i = 0; i < MCAI_CFG_NKEYS; i++) {
		const struct mcai_cfg_key *k = &mcai_cfg_keys[i];
		const void *src = (const char *)c + k->off;
		const char *dot = strchr(k->name, '.');
		const char *name = k->name;
		float fv;
		double dv;
		uint32_t u;

		if (!(k->roles & (c->role ? 1U << c->role : MCAI_R_BOTH)))
			continue;
		/* a mode's own key only with that mode: it reads back */
		if ((k->off == OFF(personal_layers) &&
		     c->personal_mode != MCAI_CFG_PERS_FEDPER) ||
		    (k->off == OFF(personal_lambda) &&
		     c->personal_mode != MCAI_CFG_PERS_DITTO))
			continue;
		if (dot) {
			size_t n = (size_t)(dot - k->name);

			if (strncmp(section, k->name, n) || section[n]) {
				memcpy(section, k->name, n);
				section[n] = 0;
				fprintf(f, "\n[%s]\n", section);
			}
			name = dot + 1;
		}
		fprintf(f, "%s = ", name);
		switch (k->type) {
		case MCAI_T_ROLE:
			fputs(mcai_cfg_role_name(c->role), f);
			break;
		case MCAI_T_LOGLEVEL:
			fputs(mcai_level_names[c->log_level & 3], f);
			break;
		case MCAI_T_STRATEGY:
			fputs(mcai_cfg_strategy_name(c->strategy), f);
			break;
		case MCAI_T_LISTEN:
		case MCAI_T_UPSTREAM:
			mcai_dump_addr(f, src);
			break;
		case MCAI_T_U32:
			memcpy(&u, src, sizeof(u));
			fprintf(f, "%u", u);
			break;
		case MCAI_T_F32:
			memcpy(&fv, src, sizeof(fv));
			fprintf(f, "%.9g", fv);
			break;
		case MCAI_T_F64:
			memcpy(&dv, src, sizeof(dv));
			fprintf(f, "%.17g", dv);
			break;
		case MCAI_T_BOOL:
			fputs(mcai_bool_names[*(const bool *)src], f);
			break;
		case MCAI_T_DPMODE:
			fputs(mcai_cfg_dp_mode_name(c->dp_mode), f);
			break;
		case MCAI_T_MQTTPOLICY:
			fputs(mcai_mqtt_policy_names[c->mqtt_policy & 1], f);
			break;
		case MCAI_T_ONOFF:
			fputs(mcai_onoff_names[*(const bool *)src], f);
			break;
		case MCAI_T_COMPRESS:
			fputs(mcai_compress_names[*(const uint32_t *)src], f);
			break;
		case MCAI_T_ESCPOLICY:
			fputs(mcai_esc_policy_names[*(const uint32_t *)src & 1],
			      f);
			break;
		case MCAI_T_PERSMODE:
			fputs(mcai_pers_mode_names[*(const uint32_t *)src % 3],
			      f);
			break;
		case MCAI_T_PERSINSTALL:
			fputs(mcai_pers_install_names[*(const uint32_t *)src & 1],
			      f);
			break;
		case MCAI_T_PERSLAYERS:
		case MCAI_T_ID:
		case MCAI_T_NAME:
		case MCAI_T_USER:
		case MCAI_T_PEERNAME:
		case MCAI_T_PATH:
		case MCAI_T_PATH_OPT:
			fprintf(f, "\"%s\"", (const char *)src);
			break;
		}
		fputc('\n', f);
	}
}
