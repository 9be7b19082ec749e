// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid config parser (runtime/daemon/config.c): the shipped example files, the
 * defaults, sections vs dotted keys, quoting and relative paths, and every
 * kind of error with its exact "file:line: reason".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "runtime/daemon/config.h"

/* Six lines: a minimal valid node config. */
#define NODE_BASE "role = node\nmodel = fmnist\n"			\
	"network.upstream = 10.0.0.1:7117\n"				\
	"tls.cert = n.crt\ntls.key = n.key\ntls.ca = ca.crt\n"
/* Five lines: a minimal valid aggregator config. */
#define AGGR_BASE "role = aggregator\nmodel = fmnist\n"		\
	"tls.cert = a.crt\ntls.key = a.key\ntls.ca = ca.crt\n"

static int parse(struct mcai_config *c, const char *text)
{
	int err;

	mcai_config_init(c);
	err = mcai_config_read_mem(c, text, strlen(text), "test.conf", NULL);
	if (!err)
		err = mcai_config_finish(c);
	return err;
}

static void expect_ok(const char *text)
{
	struct mcai_config c;

	ck_assert_msg(!parse(&c, text), "refused: %s\n---\n%s", c.error, text);
}

static void expect_err(const char *text, const char *want)
{
	struct mcai_config c;
	int err = parse(&c, text);

	ck_assert_msg(err == -EINVAL, "accepted (%d), want \"%s\"\n---\n%s",
		      err, want, text);
	ck_assert_msg(strstr(c.error, want), "error \"%s\", want \"%s\"",
		      c.error, want);
}

START_TEST(example_node)
{
	struct mcai_config c;

	ck_assert_msg(!mcai_config_load(&c, "runtime/dist/mcaid-node.conf"), "%s",
		      c.error);
	ck_assert_uint_eq(c.role, MCAI_ROLE_NODE);
	ck_assert_str_eq(c.model, "fmnist");
	ck_assert_str_eq(c.node_id, "");
	ck_assert_str_eq(c.upstream.host, "aggregator.example");
	ck_assert_uint_eq(c.upstream.port, 7117);
	ck_assert_str_eq(c.upstream_name, "");
	ck_assert_str_eq(c.user, "mcai");
	ck_assert_str_eq(c.tls_ca, "/etc/mcaid/ca.crt");
	ck_assert_str_eq(c.tls_crl, "");
	ck_assert_str_eq(c.data_samples, "/var/lib/mcaid/samples");
	ck_assert_int_eq(c.log_level, 2);
	ck_assert_str_eq(c.trust, "/etc/mcaid/trust");
	ck_assert(!c.allow_unsigned);
	ck_assert_str_eq(c.history_dir, "/var/lib/mcaid/history");
}
END_TEST

START_TEST(example_aggregator)
{
	struct mcai_config c, d;

	ck_assert_msg(!mcai_config_load(&c, "runtime/dist/mcaid-aggregator.conf"),
		      "%s", c.error);
	ck_assert_uint_eq(c.role, MCAI_ROLE_AGGREGATOR);
	ck_assert_str_eq(c.listen.host, "0.0.0.0");
	ck_assert_uint_eq(c.listen.port, 7117);
	ck_assert_uint_eq(c.upstream.port, 0);
	ck_assert_int_eq(c.strategy, MCAI_CFG_FEDAVG);
	ck_assert_str_eq(c.registry_dir, "/var/lib/mcaid/registry");
	ck_assert_uint_eq(c.min_clients, 2);
	/* The file restates every default. */
	mcai_config_init(&d);
	ck_assert_uint_eq(c.rounds, d.rounds);
	ck_assert(c.fraction == d.fraction);
	ck_assert(c.lr == d.lr);
	ck_assert(c.trim_fraction == d.trim_fraction);
	ck_assert(c.server_lr == d.server_lr);
	ck_assert(c.beta1 == d.beta1 && c.beta2 == d.beta2);
	ck_assert(c.tau == d.tau && c.prox_mu == d.prox_mu);
	ck_assert_uint_eq(c.max_peers, d.max_peers);
	ck_assert_uint_eq(c.deadline_ms, d.deadline_ms);
	ck_assert_uint_eq(c.max_nodes, d.max_nodes);
	ck_assert_uint_eq(c.max_nodes, 10000);
	ck_assert_str_eq(c.sign_key, "");
	ck_assert_int_eq(c.dp_mode, d.dp_mode);
	ck_assert(c.dp_clip == d.dp_clip && c.dp_sigma == d.dp_sigma);
	ck_assert(c.dp_delta == d.dp_delta && c.dp_budget == d.dp_budget);
	ck_assert(c.secagg == d.secagg);
	ck_assert_uint_eq(c.secagg_threshold, d.secagg_threshold);
	ck_assert_uint_eq(c.secagg_degree, d.secagg_degree);
}
END_TEST

/* The provenance keys: their roles, the two words of a flag, bounds. */
START_TEST(provenance_keys)
{
	struct mcai_config c;

	mcai_config_init(&c);
	ck_assert(!c.allow_unsigned);
	ck_assert_str_eq(c.trust, "");
	ck_assert_int_eq(mcai_config_set(&c, "provenance.allow_unsigned",
					 "yes", "t"), 0);
	ck_assert(c.allow_unsigned);
	ck_assert_int_eq(mcai_config_set(&c, "provenance.allow_unsigned",
					 "no", "t"), 0);
	ck_assert(!c.allow_unsigned);
	ck_assert_int_eq(mcai_config_set(&c, "provenance.allow_unsigned",
					 "1", "t"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(c.error, "is not one of no, yes"));
	ck_assert_int_eq(mcai_config_set(&c, "network.max_nodes", "0", "t"),
			 -EINVAL);
	ck_assert_int_eq(mcai_config_set(&c, "network.max_nodes", "5", "t"),
			 0);
	ck_assert_uint_eq(c.max_nodes, 5);
	ck_assert_int_eq(mcai_config_set(&c, "provenance.sign_key", "/k",
					 "t"), 0);
	ck_assert_str_eq(c.sign_key, "/k");
	expect_err(NODE_BASE "[provenance]\nsign_key = /k\n",
		   "is not used by role node");
	expect_err(AGGR_BASE "[provenance]\ntrust = /t\n",
		   "is not used by role aggregator");
	expect_err(NODE_BASE "[provenance]\nallow_unsigned = true\n",
		   "allow_unsigned: 'true' is not one of no, yes");
}
END_TEST

/* privacy.*: values, ranges, and the combinations refused at load. */
START_TEST(privacy_keys)
{
	struct mcai_config c;

	mcai_config_init(&c);
	ck_assert_int_eq(c.dp_mode, MCAI_CFG_DP_OFF);
	ck_assert(c.dp_clip == 1.0 && c.dp_sigma == 1.0);
	ck_assert(c.dp_delta == 1e-5 && c.dp_budget == 10.0);
	ck_assert_int_eq(parse(&c, AGGR_BASE "[privacy]\ndp = distributed\n"
			       "clip_norm = 0.5\nnoise_multiplier = 1.1\n"
			       "delta = 1e-6\nepsilon_budget = 8\n"), 0);
	ck_assert_int_eq(c.dp_mode, MCAI_CFG_DP_DISTRIBUTED);
	ck_assert(c.dp_clip == 0.5 && c.dp_sigma == 1.1);
	ck_assert(c.dp_delta == 1e-6 && c.dp_budget == 8.0);
	ck_assert_str_eq(mcai_cfg_dp_mode_name(c.dp_mode), "distributed");
	expect_ok(AGGR_BASE "privacy.dp = central\n");
	expect_err(AGGR_BASE "privacy.dp = on\n",
		   "test.conf:6: privacy.dp: 'on' is not one of off, central, distributed");
	expect_err(AGGR_BASE "privacy.clip_norm = 0\n", "privacy.clip_norm");
	expect_err(AGGR_BASE "privacy.noise_multiplier = 0\n",
		   "privacy.noise_multiplier");
	expect_err(AGGR_BASE "privacy.noise_multiplier = -1\n",
		   "privacy.noise_multiplier");
	expect_err(AGGR_BASE "privacy.delta = 0\n", "privacy.delta");
	expect_err(AGGR_BASE "privacy.delta = 1\n", "privacy.delta");
	expect_err(AGGR_BASE "privacy.epsilon_budget = 0\n",
		   "privacy.epsilon_budget");
	expect_err(AGGR_BASE "privacy.epsilon_budget = nan\n",
		   "privacy.epsilon_budget");
	expect_err(NODE_BASE "privacy.dp = central\n",
		   "is not used by role node");
	/* The noise is calibrated to a sum: robust strategies are refused. */
	expect_err(AGGR_BASE "strategy.name = median\nprivacy.dp = central\n",
		   "test.conf:7: privacy.dp central needs strategy fedavg, fedprox, fedadam, fedavgm, fedadagrad or fedyogi");
	expect_err(AGGR_BASE "strategy.name = krum\nrounds.min_clients = 5\n"
		   "privacy.dp = distributed\n",
		   "privacy.dp distributed needs strategy fedavg, fedprox, fedadam, fedavgm, fedadagrad or fedyogi (the noise is calibrated to a sum of clipped updates, not to krum)");
	expect_ok(AGGR_BASE "strategy.name = fedadam\nprivacy.dp = central\n");
	expect_ok(AGGR_BASE "strategy.name = median\nprivacy.dp = off\n");
	expect_err(AGGR_BASE "network.upstream = 10.0.0.1:7117\n"
		   "privacy.dp = central\n",
		   "privacy.dp on a site aggregator");
}
END_TEST

/* Secure aggregation: on/off, and every combination refused at load. */
START_TEST(secagg_keys)
{
	struct mcai_config c;

#define SA_BASE AGGR_BASE "rounds.min_clients = 3\n"
	mcai_config_init(&c);
	ck_assert(!c.secagg);
	ck_assert_uint_eq(c.secagg_threshold, 0);
	ck_assert_uint_eq(c.secagg_degree, 0);
	ck_assert_int_eq(parse(&c, SA_BASE "[privacy]\nsecure_aggregation = on\n"
			       "secagg_threshold = 7\nsecagg_degree = 8\n"), 0);
	ck_assert(c.secagg);
	ck_assert_uint_eq(c.secagg_threshold, 7);
	ck_assert_uint_eq(c.secagg_degree, 8);
	expect_ok(SA_BASE "privacy.secure_aggregation = off\n");
	expect_ok(SA_BASE "privacy.secure_aggregation = on\n"
		  "strategy.name = fedadam\n");
	expect_ok(SA_BASE "privacy.secure_aggregation = on\n"
		  "strategy.name = fedprox\nprivacy.dp = distributed\n");
	expect_err(SA_BASE "privacy.secure_aggregation = yes\n",
		   "test.conf:7: privacy.secure_aggregation: 'yes' is not one of off, on");
	expect_err(SA_BASE "privacy.secure_aggregation = on\n"
		   "strategy.name = median\n",
		   "test.conf:7: privacy.secure_aggregation needs strategy fedavg, fedprox, fedadam, fedavgm, fedadagrad or fedyogi: median needs the individual updates");
	expect_err(SA_BASE "privacy.secure_aggregation = on\n"
		   "strategy.name = trimmed_mean\n",
		   "trimmed_mean needs the individual updates");
	expect_err(AGGR_BASE "rounds.min_clients = 5\n"
		   "privacy.secure_aggregation = on\nstrategy.name = krum\n",
		   "krum needs the individual updates");
	expect_err(SA_BASE "privacy.secure_aggregation = on\n"
		   "privacy.dp = central\n",
		   "with privacy.dp = central: the aggregator only sees the sum");
	expect_err(SA_BASE "privacy.secure_aggregation = on\n"
		   "strategy.clip_norm = 5\n",
		   "privacy.secure_aggregation with strategy.clip_norm");
	expect_err(AGGR_BASE "privacy.secure_aggregation = on\n",
		   "test.conf:6: privacy.secure_aggregation needs rounds.min_clients >= 3, have 2");
	expect_err(SA_BASE "privacy.secure_aggregation = on\n"
		   "privacy.secagg_degree = 5\n",
		   "test.conf:8: privacy.secagg_degree 5 is odd");
	expect_err(SA_BASE "privacy.secagg_threshold = 4097\n",
		   "privacy.secagg_threshold");
	expect_err(SA_BASE "network.upstream = 10.0.0.1:7117\n"
		   "privacy.secure_aggregation = on\n",
		   "on a site aggregator (network.upstream) is not supported");
	expect_err(NODE_BASE "privacy.secure_aggregation = on\n",
		   "is not used by role node");
#undef SA_BASE
}
END_TEST

START_TEST(defaults)
{
	struct mcai_config c;

	ck_assert_msg(!parse(&c, AGGR_BASE), "%s", c.error);
	ck_assert_str_eq(c.fleet, "default");
	ck_assert_str_eq(c.user, "mcai");
	ck_assert_str_eq(c.upstream_name, "");
	ck_assert_uint_eq(c.listen.port, MCAI_CONFIG_DEFAULT_PORT);
	ck_assert_uint_eq(c.rounds, 0);
	ck_assert(c.fraction == 1.0);
	ck_assert_uint_eq(c.local_epochs, 1);
	ck_assert_uint_eq(c.batch, 32);
	ck_assert_uint_eq(c.krum_f, 1);
	ck_assert(c.clip_norm == 0);
	ck_assert_str_eq(c.tls_cert, "a.crt");	/* no base dir: as is */
}
END_TEST

START_TEST(sections_and_values)
{
	static const char text[] =
		"# comment\n"
		"  role=aggregator   # trailing comment\n"
		"model = m.v-2_x\n"
		"node_id = agg-1@site:a\n"
		"\n"
		"[tls]\r\n"
		"cert = \"my #1 cert.pem\"   # quoted keeps the '#'\n"
		"key = /abs/a.key\n"
		"ca = sub/ca.crt\n"
		"[ network ]\n"
		"listen = [::1]:9000\n"
		"upstream = region-1.example.net:7118\n"
		"[rounds]\n"
		"fraction = 0.25\n"
		"lr = 1e-3\n"
		"min_clients = 7\n"
		"strategy.name = krum\n"	/* dotted inside a section: */
		"[strategy]\n"
		"krum_f = 2\n"
		"krum_m = 5\n"
		"clip_norm = 10.5\n";
	struct mcai_config c;

	mcai_config_init(&c);
	/* rounds.strategy.name would be unknown: the dotted line is wrong. */
	ck_assert_int_eq(mcai_config_read_mem(&c, text, strlen(text),
					      "t.conf", "/etc/x"), -EINVAL);
	ck_assert_str_eq(c.error, "t.conf:17: unknown key 'rounds.strategy.name'");

	mcai_config_init(&c);
	{
		char fixed[sizeof(text) + 16];
		char *p;

		strcpy(fixed, text);
		p = strstr(fixed, "strategy.name = krum\n");
		memcpy(p, "#", 1);
		strcat(fixed, "name = krum\n");
		ck_assert_msg(!mcai_config_read_mem(&c, fixed, strlen(fixed),
						    "t.conf", "/etc/x"),
			      "%s", c.error);
	}
	ck_assert_msg(!mcai_config_finish(&c), "%s", c.error);
	ck_assert_uint_eq(c.role, MCAI_ROLE_AGGREGATOR);
	ck_assert_str_eq(c.model, "m.v-2_x");
	ck_assert_str_eq(c.node_id, "agg-1@site:a");
	ck_assert_str_eq(c.tls_cert, "/etc/x/my #1 cert.pem");
	ck_assert_str_eq(c.tls_key, "/abs/a.key");
	ck_assert_str_eq(c.tls_ca, "/etc/x/sub/ca.crt");
	ck_assert_str_eq(c.listen.host, "::1");
	ck_assert_uint_eq(c.listen.port, 9000);
	ck_assert_str_eq(c.upstream.host, "region-1.example.net");
	ck_assert_uint_eq(c.upstream.port, 7118);
	ck_assert(c.fraction == 0.25);
	ck_assert(c.lr == 1e-3f);
	ck_assert_int_eq(c.strategy, MCAI_CFG_KRUM);
	ck_assert_uint_eq(c.krum_f, 2);
	ck_assert_uint_eq(c.krum_m, 5);
	ck_assert(c.clip_norm == 10.5f);
}
END_TEST

START_TEST(relative_to_file)
{
	char dir[] = "/tmp/mcai-cfg-XXXXXX";
	char path[256], want[300];
	struct mcai_config c;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/n.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(NODE_BASE "data.train = d/train.bin\n", f);
	fclose(f);
	ck_assert_msg(!mcai_config_load(&c, path), "%s", c.error);
	snprintf(want, sizeof(want), "%s/n.crt", dir);
	ck_assert_str_eq(c.tls_cert, want);
	snprintf(want, sizeof(want), "%s/d/train.bin", dir);
	ck_assert_str_eq(c.data_train, want);
	unlink(path);

	/* A config that is not there, or not a file. */
	ck_assert_int_eq(mcai_config_load(&c, path), -ENOENT);
	ck_assert_msg(strstr(c.error, "No such file"), "%s", c.error);
	ck_assert_int_eq(mcai_config_load(&c, dir), -EINVAL);
	ck_assert_msg(strstr(c.error, "not a regular file"), "%s", c.error);
	rmdir(dir);
}
END_TEST

START_TEST(syntax_errors)
{
	char big[5000];

	expect_err(NODE_BASE "just words\n",
		   "test.conf:7: expected 'key = value'");
	expect_err(NODE_BASE "= 3\n", "test.conf:7: missing key");
	expect_err(NODE_BASE "Model = x\n", "test.conf:7: bad key 'Model'");
	expect_err(NODE_BASE "[tls\n",
		   "test.conf:7: section header without ']'");
	expect_err(NODE_BASE "[tls] x\n",
		   "test.conf:7: text after the section header");
	expect_err(NODE_BASE "[]\n", "test.conf:7: bad section name ''");
	expect_err(NODE_BASE "[a.b]\n", "test.conf:7: bad section name 'a.b'");
	expect_err(NODE_BASE "user = \"abc\n",
		   "test.conf:7: unterminated quoted value");
	expect_err(NODE_BASE "user = \"abc\" def\n",
		   "test.conf:7: text after the quoted value");
	memset(big, 'x', sizeof(big));
	memcpy(big, "user = ", 7);
	big[sizeof(big) - 1] = 0;
	{
		char *t = malloc(sizeof(NODE_BASE) + sizeof(big));

		strcpy(t, NODE_BASE);
		strcat(t, big);
		expect_err(t, "test.conf:7: line longer than 4096 bytes");
		free(t);
	}
	{
		static const char nul[] = NODE_BASE "user = a\0b\n";
		struct mcai_config c;

		mcai_config_init(&c);
		ck_assert_int_eq(mcai_config_read_mem(&c, nul, sizeof(nul) - 1,
						      "test.conf", NULL),
				 -EINVAL);
		ck_assert_str_eq(c.error, "test.conf:7: NUL byte");
	}
}
END_TEST

START_TEST(key_errors)
{
	expect_err(NODE_BASE "colour = blue\n",
		   "test.conf:7: unknown key 'colour'");
	expect_err(NODE_BASE "[tls]\nkey_file = x\n",
		   "test.conf:8: unknown key 'tls.key_file'");
	expect_err(NODE_BASE "[bogus]\ncert = x\n",
		   "test.conf:8: unknown key 'bogus.cert'");
	expect_err(NODE_BASE "model = other\n",
		   "test.conf:7: duplicate key 'model' (first set on line 2)");
	expect_err(NODE_BASE "[tls]\nca = x\n",
		   "test.conf:8: duplicate key 'tls.ca' (first set on line 6)");
}
END_TEST

START_TEST(number_errors)
{
	expect_err(AGGR_BASE "rounds.count = abc\n",
		   "test.conf:6: rounds.count: 'abc' is not a number");
	expect_err(AGGR_BASE "rounds.count = -1\n",
		   "test.conf:6: rounds.count: '-1' is not a number");
	expect_err(AGGR_BASE "rounds.count = 12x\n",
		   "test.conf:6: rounds.count: '12x' is not a number");
	expect_err(AGGR_BASE "rounds.count = 0x10\n", "is not a number");
	expect_err(AGGR_BASE "rounds.count = 1 2\n", "is not a number");
	expect_err(AGGR_BASE "rounds.count = 4294967296\n",
		   "test.conf:6: rounds.count: 4294967296 out of range 0 .. 4294967295");
	expect_err(AGGR_BASE "rounds.count = 99999999999999999999999\n",
		   "out of range");
	expect_err(AGGR_BASE "rounds.count =\n",
		   "test.conf:6: rounds.count: empty value");
	expect_err(AGGR_BASE "rounds.min_clients = 0\n",
		   "test.conf:6: rounds.min_clients: 0 out of range 1 .. 1000000");
	expect_err(AGGR_BASE "rounds.batch = 65537\n", "rounds.batch: 65537 out of range");
	expect_err(AGGR_BASE "rounds.deadline_ms = 0\n", "rounds.deadline_ms: 0 out of range");
	expect_err(AGGR_BASE "rounds.local_epochs = 1001\n", "out of range");
	expect_err(AGGR_BASE "network.max_peers = 0\n", "out of range");
	expect_err(AGGR_BASE "network.idle_timeout_ms = 999\n", "out of range");

	expect_err(AGGR_BASE "rounds.fraction = 0\n",
		   "test.conf:6: rounds.fraction: 0 out of range (0, 1]");
	expect_err(AGGR_BASE "rounds.fraction = 1.01\n", "out of range (0, 1]");
	expect_ok(AGGR_BASE "rounds.fraction = 1\n");
	expect_err(AGGR_BASE "rounds.fraction = half\n",
		   "rounds.fraction: 'half' is not a number");
	expect_err(AGGR_BASE "rounds.fraction = 0.5.\n", "is not a number");
	expect_err(AGGR_BASE "rounds.lr = nan\n",
		   "test.conf:6: rounds.lr: nan is not a finite number");
	expect_err(AGGR_BASE "rounds.lr = inf\n", "not a finite number");
	expect_err(AGGR_BASE "rounds.lr = 1e999\n", "not a finite number");
	expect_err(AGGR_BASE "rounds.lr = 1e-50\n",
		   "rounds.lr: 1e-50 out of range as a float");
	expect_err(AGGR_BASE "rounds.lr = -0.1\n", "out of range (0, 10]");
	expect_err(AGGR_BASE "strategy.trim_fraction = 0.5\n",
		   "strategy.trim_fraction: 0.5 out of range [0, 0.5)");
	expect_ok(AGGR_BASE "strategy.trim_fraction = 0\n");
	expect_err(AGGR_BASE "strategy.beta1 = 1\n", "out of range [0, 1)");
	expect_err(AGGR_BASE "strategy.beta2 = -0.1\n", "out of range [0, 1)");
	expect_err(AGGR_BASE "strategy.tau = 0\n", "out of range (0, 1]");
	expect_err(AGGR_BASE "strategy.server_lr = 0\n", "out of range");
	expect_err(AGGR_BASE "strategy.clip_norm = -1\n", "out of range");
	expect_err(AGGR_BASE "strategy.prox_mu = -1\n", "out of range");
}
END_TEST

START_TEST(value_errors)
{
	expect_err("role = server\n",
		   "test.conf:1: role: 'server' is not one of node, aggregator");
	expect_err(AGGR_BASE "strategy.name = fedsgd\n",
		   "test.conf:6: strategy.name: 'fedsgd' is not one of fedavg, fedprox, fedadam, median, trimmed_mean, krum, fedavgm, fedadagrad, fedyogi, krum_single, bulyan, qfedavg");
	expect_err(NODE_BASE "log_level = verbose\n",
		   "log_level: 'verbose' is not one of error, warn, info, debug");
	expect_err(NODE_BASE "fleet = \"my fleet\"\n",
		   "test.conf:7: fleet: 'my fleet': 1 .. 64 of");
	expect_err(NODE_BASE "fleet =\n", "test.conf:7: fleet: empty value");
	expect_err(NODE_BASE "node_id = "
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		   "node_id: 'aaaa");
	expect_err("role = node\nmodel = a:b\n",
		   "test.conf:2: model: 'a:b': 1 .. 31 of [A-Za-z0-9_.-]");
	expect_err("role = node\nmodel = 0123456789012345678901234567890123\n",
		   "test.conf:2: model:");
	expect_err(NODE_BASE "user = Root\n", "user: 'Root': not a user name");
	expect_err(NODE_BASE "user = 1abc\n", "not a user name");
	expect_err(NODE_BASE "user = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		   "user: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': 1 .. 32 characters");
	expect_ok(NODE_BASE "user = _mcai-d0\n");
	expect_err(NODE_BASE "tls.crl = \"\"\ndata.samples =\n",
		   "test.conf:8: data.samples: empty value");
}
END_TEST

START_TEST(address_errors)
{
	expect_err(AGGR_BASE "network.listen = 0.0.0.0\n",
		   "test.conf:6: network.listen: '0.0.0.0': expected host:port");
	expect_err(AGGR_BASE "network.listen = 0.0.0.0:0\n",
		   "'0.0.0.0:0': port out of range 1 .. 65535");
	expect_err(AGGR_BASE "network.listen = 0.0.0.0:65536\n",
		   "port out of range");
	expect_err(AGGR_BASE "network.listen = 0.0.0.0:http\n", "bad port");
	expect_err(AGGR_BASE "network.listen = 0.0.0.0:-1\n", "bad port");
	expect_err(AGGR_BASE "network.listen = ::1:7117\n",
		   "an IPv6 address needs brackets");
	expect_err(AGGR_BASE "network.listen = [::1:7117\n", "missing ']'");
	expect_err(AGGR_BASE "network.listen = [::1]7117\n",
		   "expected host:port");
	expect_err(AGGR_BASE "network.listen = [10.0.0.1]:7117\n",
		   "brackets only around IPv6");
	expect_err(AGGR_BASE "network.listen = localhost:7117\n",
		   "network.listen: 'localhost:7117': not an IP address");
	expect_err(AGGR_BASE "network.listen = :7117\n", "bad host");
	expect_err(AGGR_BASE "network.upstream = a_b:1\n",
		   "test.conf:6: network.upstream: 'a_b:1': bad host name");
	expect_err("role = node\nnetwork.upstream = [zz]:1\n",
		   "not an IP address");
	expect_ok(AGGR_BASE "network.listen = [::]:1\n");
	expect_ok(AGGR_BASE "network.upstream = 192.168.1.1:65535\n");
}
END_TEST

START_TEST(required_and_roles)
{
	expect_err("", "test.conf: missing required key 'role'");
	expect_err("model = m\n", "test.conf: missing required key 'role'");
	expect_err("role = node\n", "test.conf: missing required key 'model'");
	expect_err("role = node\nmodel = m\ntls.key = k\ntls.ca = c\n",
		   "test.conf: missing required key 'tls.cert'");
	expect_err("role = node\nmodel = m\ntls.cert = k\ntls.ca = c\n",
		   "test.conf: missing required key 'tls.key'");
	expect_err("role = node\nmodel = m\ntls.cert = k\ntls.key = c\n",
		   "test.conf: missing required key 'tls.ca'");
	expect_err("role = node\nmodel = m\ntls.cert = k\ntls.key = c\n"
		   "tls.ca = x\n",
		   "test.conf: missing required key 'network.upstream' (role node)");
	expect_err("role = node\nmodel = m\ntls.cert = k\ntls.key = c\n"
		   "tls.ca = x\nnetwork.upstream =\n",
		   "missing required key 'network.upstream'");
	expect_ok(NODE_BASE);
	expect_ok(AGGR_BASE);

	expect_err(NODE_BASE "[rounds]\ncount = 3\n",
		   "test.conf:8: key 'rounds.count' is not used by role node");
	expect_err(NODE_BASE "registry.dir = /r\n",
		   "test.conf:7: key 'registry.dir' is not used by role node");
	expect_err(NODE_BASE "network.listen = 0.0.0.0:1\n",
		   "key 'network.listen' is not used by role node");
	expect_err(AGGR_BASE "data.train = x\n",
		   "test.conf:6: key 'data.train' is not used by role aggregator");
	/* Role may come last: the check runs once the file is read. */
	expect_err("rounds.count = 3\n" "model = m\ntls.cert = k\n"
		   "tls.key = c\ntls.ca = x\nnetwork.upstream = h:1\n"
		   "role = node\n",
		   "test.conf:1: key 'rounds.count' is not used by role node");
}
END_TEST

START_TEST(upstream_name)
{
	struct mcai_config c;

	ck_assert_msg(!parse(&c, NODE_BASE "network.upstream_name = agg-1.example\n"),
		      "%s", c.error);
	ck_assert_str_eq(c.upstream_name, "agg-1.example");
	expect_ok(NODE_BASE "network.upstream_name = 10.0.0.1\n");
	expect_ok(NODE_BASE "network.upstream_name = fe80::1\n");
	expect_ok(NODE_BASE "network.upstream_name =\n");
	expect_err(NODE_BASE "network.upstream_name = a_b\n",
		   "test.conf:7: network.upstream_name: 'a_b': not a host name or IP address");
	expect_err(NODE_BASE "network.upstream_name = [::1]\n",
		   "not a host name or IP address");
	/* A name to check, but no upstream to check it on. */
	expect_err(AGGR_BASE "network.upstream_name = agg.example\n",
		   "test.conf:6: network.upstream_name without network.upstream");
	expect_ok(AGGR_BASE "network.upstream = 10.0.0.1:7117\n"
		  "network.upstream_name = agg.example\n");
}
END_TEST

START_TEST(cross_key)
{
	expect_err(AGGR_BASE "strategy.name = krum\n",
		   "test.conf:6: strategy krum with krum_f = 1 needs rounds.min_clients >= 5, have 2");
	expect_err(AGGR_BASE "strategy.krum_f = 2\nstrategy.name = krum\n"
		   "rounds.min_clients = 6\n",
		   "test.conf:6: strategy krum with krum_f = 2 needs rounds.min_clients >= 7, have 6");
	expect_ok(AGGR_BASE "strategy.krum_f = 2\nstrategy.name = krum\n"
		  "rounds.min_clients = 7\n");
	expect_ok(AGGR_BASE "strategy.krum_f = 0\nstrategy.name = krum\n"
		  "rounds.min_clients = 3\n");
	expect_err(AGGR_BASE "strategy.name = krum\nrounds.min_clients = 6\n"
		   "strategy.krum_m = 6\n",
		   "test.conf:8: strategy.krum_m 6 above rounds.min_clients - krum_f = 5");
	/* krum_f is harmless for the other strategies. */
	expect_ok(AGGR_BASE "strategy.krum_f = 40\n");
	expect_err(AGGR_BASE "strategy.name = fedprox\nstrategy.prox_mu = 0\n",
		   "test.conf:7: strategy fedprox needs strategy.prox_mu > 0");
	expect_ok(AGGR_BASE "strategy.name = fedprox\n");
	expect_ok(AGGR_BASE "strategy.server_step = 2\n"
		  "strategy.server_step_final = 1\nrounds.count = 30\n");
	expect_err(AGGR_BASE "strategy.server_step_final = 1\n",
		   "strategy.server_step_final needs rounds.count");
	expect_err(AGGR_BASE "strategy.name = fedadam\nstrategy.server_step = 2\n",
		   "strategy fedadam takes no server step");
	expect_err(AGGR_BASE "strategy.name = fedadam\nrounds.count = 3\n"
		   "strategy.server_step_final = 1\n",
		   "strategy fedadam takes no server step");
	expect_err(AGGR_BASE "strategy.server_step = 0\n",
		   "strategy.server_step: 0 out of range (0, 4]");
	expect_err(AGGR_BASE "strategy.server_step = 5\n", "out of range (0, 4]");
	expect_err(AGGR_BASE "strategy.server_step_final = -1\n",
		   "out of range [0, 4]");
	expect_ok(AGGR_BASE "strategy.name = fedavg\nstrategy.prox_mu = 0\n");
}
END_TEST

/* The strategies of the second set: names, their keys, cross checks. */
START_TEST(more_strategies)
{
	struct mcai_config c;

	ck_assert_int_eq(parse(&c, AGGR_BASE "[strategy]\nname = fedavgm\n"
			       "server_momentum = 0.5\nserver_step = 0.7\n"), 0);
	ck_assert_int_eq(c.strategy, MCAI_CFG_FEDAVGM);
	ck_assert(c.server_momentum == 0.5f && c.server_step == 0.7f);
	ck_assert_int_eq(parse(&c, AGGR_BASE "strategy.name = qfedavg\n"
			       "strategy.q = 1\nstrategy.q_lr = 0.05\n"), 0);
	ck_assert(c.strategy == MCAI_CFG_QFEDAVG && c.q == 1.0f &&
		  c.q_lr == 0.05f);
	expect_ok(AGGR_BASE "strategy.name = fedyogi\nprivacy.dp = central\n");
	expect_ok(AGGR_BASE "strategy.name = fedadagrad\n"
		  "privacy.secure_aggregation = on\nrounds.min_clients = 3\n");
	expect_err(AGGR_BASE "strategy.name = fedyogi\nstrategy.server_step = 2\n",
		   "strategy fedyogi takes no server step");
	expect_err(AGGR_BASE "strategy.server_momentum = 1\n",
		   "strategy.server_momentum");
	expect_err(AGGR_BASE "strategy.q_lr = 0\n", "strategy.q_lr");
	expect_err(AGGR_BASE "strategy.name = krum_single\n",
		   "strategy krum_single with krum_f = 1 needs rounds.min_clients >= 5, have 2");
	expect_ok(AGGR_BASE "strategy.name = krum_single\nrounds.min_clients = 5\n");
	expect_err(AGGR_BASE "strategy.name = bulyan\nrounds.min_clients = 6\n",
		   "strategy bulyan with krum_f = 1 needs rounds.min_clients >= 7, have 6");
	expect_ok(AGGR_BASE "strategy.name = bulyan\nrounds.min_clients = 7\n");
	expect_err(AGGR_BASE "strategy.name = qfedavg\nprivacy.dp = central\n",
		   "not to qfedavg");
	expect_err(AGGR_BASE "strategy.name = bulyan\nrounds.min_clients = 7\n"
		   "privacy.secure_aggregation = on\n",
		   "bulyan needs the individual updates");
	/* adaptive clipping: central DP only, a count noise that leaves room */
	ck_assert_int_eq(parse(&c, AGGR_BASE "[privacy]\ndp = central\n"
			       "adaptive_clip = on\nclip_quantile = 0.7\n"
			       "clip_lr = 0.1\nclip_count_stddev = 2\n"), 0);
	ck_assert(c.dp_adaptive && c.dp_quantile == 0.7 &&
		  c.dp_clip_lr == 0.1 && c.dp_count_stddev == 2);
	expect_err(AGGR_BASE "privacy.adaptive_clip = on\n",
		   "privacy.adaptive_clip needs privacy.dp = central");
	expect_err(AGGR_BASE "privacy.adaptive_clip = on\nprivacy.dp = central\n"
		   "privacy.clip_count_stddev = 0.5\n",
		   "privacy.clip_count_stddev 0.5 must be above");
	expect_err(AGGR_BASE "privacy.clip_quantile = 1\n",
		   "privacy.clip_quantile");
	/* compressed updates: the kinds, the share; int8 only under SecAgg */
	ck_assert_int_eq(parse(&c, AGGR_BASE "rounds.compress = topk\n"
			       "rounds.compress_topk = 0.25\n"), 0);
	ck_assert(c.compress == 2 && c.compress_topk == 0.25f);
	expect_ok(AGGR_BASE "rounds.compress = int8\n");
	expect_err(AGGR_BASE "rounds.compress = zip\n",
		   "'zip' is not one of none, int8, topk");
	expect_err(AGGR_BASE "rounds.compress_topk = 0\n",
		   "rounds.compress_topk");
	expect_ok(AGGR_BASE "rounds.compress = int8\nrounds.min_clients = 3\n"
		  "privacy.secure_aggregation = on\n");
	expect_err(AGGR_BASE "rounds.compress = topk\nrounds.min_clients = 3\n"
		   "privacy.secure_aggregation = on\n",
		   "rounds.compress = topk with privacy.secure_aggregation: each node's top-k index set is its own");
}
END_TEST

START_TEST(overrides)
{
	struct mcai_config c;

	mcai_config_init(&c);
	ck_assert_int_eq(mcai_config_read_mem(&c, AGGR_BASE, strlen(AGGR_BASE),
					      "test.conf", NULL), 0);
	ck_assert_int_eq(mcai_config_set(&c, "rounds.count", "30", "-o"), 0);
	ck_assert_int_eq(mcai_config_set(&c, "model", "vib", "-o"), 0);
	ck_assert_uint_eq(c.rounds, 30);
	ck_assert_str_eq(c.model, "vib");
	ck_assert_int_eq(mcai_config_set(&c, "rounds.count", "x", "-o"),
			 -EINVAL);
	ck_assert_str_eq(c.error, "-o: rounds.count: 'x' is not a number");
	ck_assert_int_eq(mcai_config_set(&c, "nope", "1", "--set"), -EINVAL);
	ck_assert_str_eq(c.error, "--set: unknown key 'nope'");
	ck_assert_int_eq(mcai_config_set(&c, "data.train", "x", "-o"), 0);
	ck_assert_int_eq(mcai_config_finish(&c), -EINVAL);
	ck_assert_str_eq(c.error,
			 "command line: key 'data.train' is not used by role aggregator");
}
END_TEST

START_TEST(dump_round_trip)
{
	static const char *const files[] = {
		"runtime/dist/mcaid-aggregator.conf", "runtime/dist/mcaid-node.conf",
	};
	struct mcai_config c, d;
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;

	for (i = 0; i < 2; i++) {
		ck_assert_msg(!mcai_config_load(&c, files[i]), "%s", c.error);
		mcai_config_set(&c, "network.upstream", "[fe80::1]:99", "t");
		mcai_config_set(&c, "tls.crl", "/x y/#z", "t");
		mcai_config_set(&c, "network.upstream_name", "agg.example",
				"t");
		if (c.role == MCAI_ROLE_AGGREGATOR)
			mcai_config_set(&c, "rounds.lr", "0.1", "t");
		f = open_memstream(&text, &len);
		mcai_config_dump(&c, f);
		fclose(f);
		mcai_config_init(&d);
		ck_assert_msg(!mcai_config_read_mem(&d, text, len, "dump", NULL),
			      "%s\n%s", d.error, text);
		ck_assert_msg(!mcai_config_finish(&d), "%s", d.error);
		free(text);
		text = NULL;
		/* Every value, byte for byte (parser state aside). */
		ck_assert_mem_eq(&c, &d, offsetof(struct mcai_config, error));
	}
}
END_TEST

/* metrics.listen: off by default, loopback only, either role. */
START_TEST(metrics_listen)
{
	struct mcai_config c;

	ck_assert_msg(!parse(&c, NODE_BASE), "%s", c.error);
	ck_assert_uint_eq(c.metrics_listen.port, 0);
	expect_ok(NODE_BASE "metrics.listen = 127.0.0.1:9717\n");
	ck_assert_msg(!parse(&c, NODE_BASE "[metrics]\nlisten = [::1]:9717\n"),
		      "%s", c.error);
	ck_assert_str_eq(c.metrics_listen.host, "::1");
	ck_assert_uint_eq(c.metrics_listen.port, 9717);
	expect_ok(AGGR_BASE "metrics.listen = 127.0.0.2:9100\n");
	expect_err(NODE_BASE "metrics.listen = 0.0.0.0:9717\n",
		   "test.conf:7: metrics.listen must be a numeric loopback address");
	expect_err(NODE_BASE "metrics.listen = localhost:9717\n",
		   "metrics.listen must be a numeric loopback address");
	expect_err(NODE_BASE "metrics.listen = 127.0.0.1\n", "metrics.listen");
	expect_err(NODE_BASE "metrics.listen = 127.0.0.1:99999\n",
		   "metrics.listen");
}
END_TEST

/* personal.*: modes, layer lists, a mode's keys only with it, roles. */
START_TEST(personal_keys)
{
	struct mcai_config c;

	ck_assert_msg(!parse(&c, NODE_BASE), "%s", c.error);
	ck_assert_uint_eq(c.personal_mode, MCAI_CFG_PERS_OFF);
	ck_assert_str_eq(c.personal_layers, "head");
	ck_assert(c.personal_lambda == 0.1f);
	ck_assert_str_eq(c.personal_dir, "/var/lib/mcaid/personal");
	ck_assert_uint_eq(c.personal_install, MCAI_CFG_PERS_INSTALL_FLEET);
	ck_assert_msg(!parse(&c, NODE_BASE "[personal]\nmode = fedper\n"
			     "layers = 0,-1\ndir = /p\ninstall = personal\n"),
		      "%s", c.error);
	ck_assert_uint_eq(c.personal_mode, MCAI_CFG_PERS_FEDPER);
	ck_assert_str_eq(c.personal_layers, "0,-1");
	ck_assert_uint_eq(c.personal_install, MCAI_CFG_PERS_INSTALL_PERSONAL);
	ck_assert_msg(!parse(&c, NODE_BASE "personal.mode = ditto\n"
			     "personal.lambda = 2.5\n"), "%s", c.error);
	ck_assert_uint_eq(c.personal_mode, MCAI_CFG_PERS_DITTO);
	ck_assert(c.personal_lambda == 2.5f);
	expect_ok(AGGR_BASE "personal.mode = fedper\npersonal.layers = head\n");
	expect_ok(NODE_BASE "personal.mode = fedper\npersonal.layers = 1\n");
	expect_err(NODE_BASE "personal.mode = on\n",
		   "test.conf:7: personal.mode: 'on' is not one of off, fedper, ditto");
	expect_err(NODE_BASE "personal.mode = fedper\npersonal.layers = 1,\n",
		   "test.conf:8: personal.layers: '1,': want weight-layer indices");
	expect_err(NODE_BASE "personal.mode = fedper\npersonal.layers = x\n",
		   "personal.layers: 'x'");
	expect_err(NODE_BASE "personal.mode = fedper\npersonal.layers = 9\n",
		   "personal.layers: '9'");
	expect_err(NODE_BASE "personal.mode = fedper\npersonal.layers = \n",
		   "personal.layers");
	/* every layer personal: nothing would be federated */
	expect_err(NODE_BASE "personal.mode = fedper\npersonal.layers = 0,1,2,3\n",
		   "not all of them");
	expect_err(NODE_BASE "personal.layers = head\n",
		   "test.conf:7: personal.layers is for personal.mode = fedper (mode is off)");
	expect_err(NODE_BASE "personal.mode = fedper\npersonal.lambda = 1\n",
		   "test.conf:8: personal.lambda is for personal.mode = ditto (mode is fedper)");
	expect_err(NODE_BASE "personal.mode = ditto\npersonal.lambda = 0\n",
		   "personal.lambda");
	expect_err(NODE_BASE "personal.mode = ditto\npersonal.lambda = 1001\n",
		   "personal.lambda");
	expect_err(NODE_BASE "personal.install = personal\n",
		   "personal.install = personal with personal.mode = off");
	expect_err(NODE_BASE "personal.install = kernel\n",
		   "'kernel' is not one of fleet, personal");
	expect_err(AGGR_BASE "personal.dir = /p\n", "is not used by role aggregator");
	expect_err(AGGR_BASE "personal.lambda = 1\n",
		   "is not used by role aggregator");
	expect_err(AGGR_BASE "personal.mode = ditto\n",
		   "personal.mode = ditto is a node setting");
	expect_err(AGGR_BASE "personal.mode = fedper\nrounds.compress = int8\n",
		   "personal.mode = fedper with rounds.compress is not supported");
	expect_err(AGGR_BASE "personal.mode = fedper\n"
		   "privacy.secure_aggregation = on\nrounds.min_clients = 3\n",
		   "personal.mode = fedper with privacy.secure_aggregation");
	expect_err(AGGR_BASE "personal.mode = fedper\n"
		   "network.upstream = 10.0.0.1:7117\n",
		   "personal.mode = fedper on a site aggregator");
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("files");

	tcase_add_test(tc, example_node);
	tcase_add_test(tc, example_aggregator);
	tcase_add_test(tc, provenance_keys);
	tcase_add_test(tc, privacy_keys);
	tcase_add_test(tc, secagg_keys);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, sections_and_values);
	tcase_add_test(tc, relative_to_file);
	tcase_add_test(tc, overrides);
	tcase_add_test(tc, dump_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, key_errors);
	tcase_add_test(tc, number_errors);
	tcase_add_test(tc, value_errors);
	tcase_add_test(tc, address_errors);
	tcase_add_test(tc, required_and_roles);
	tcase_add_test(tc, upstream_name);
	tcase_add_test(tc, cross_key);
	tcase_add_test(tc, more_strategies);
	tcase_add_test(tc, metrics_listen);
	tcase_add_test(tc, personal_keys);
	suite_add_tcase(s, tc);
	return s;
}
