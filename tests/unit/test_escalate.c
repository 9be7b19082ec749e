// SPDX-License-Identifier: GPL-2.0
/*
 * Escalation to a bigger model (runtime/daemon/escalate.c): the escalate.*
 * config keys (defaults, values, errors, cross-key rules), the token
 * bucket driven by a synthetic clock, and a scan over a real sample store
 * with the real vib-classifier-large blob: only flagged samples are routed, the rate
 * limit counts what it refuses, and each label is the class the engine
 * gives that sample's input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "uapi/mcai.h"
#include "runtime/daemon/config.h"
#include "runtime/daemon/escalate.h"
#include "runtime/fed/samples.h"

#define NODE_BASE "role = node\nmodel = vib\n"				\
	"network.upstream = 10.0.0.1:7117\n"				\
	"tls.cert = n.crt\ntls.key = n.key\ntls.ca = ca.crt\n"
#define BIG_MODEL "models/vib-classifier-large.mcai"

static int parse(struct mcai_config *c, const char *text)
{
	int err;

	mcai_config_init(c);
	err = mcai_config_read_mem(c, text, strlen(text), "test.conf", NULL);
	if (!err)
		err = mcai_config_finish(c);
	return err;
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

START_TEST(config_defaults)
{
	struct mcai_config c;

	ck_assert_msg(!parse(&c, NODE_BASE), "%s", c.error);
	/* off unless asked for: it moves data off the fast path */
	ck_assert_uint_eq(c.escalate_policy, MCAI_CFG_ESC_OFF);
	ck_assert_str_eq(c.escalate_model, "");
	ck_assert(c.escalate_rate == 1.0);
	ck_assert_uint_eq(c.escalate_burst, 10);
	ck_assert(c.escalate_label);
	/* the shipped example says the same */
	ck_assert_msg(!mcai_config_load(&c, "runtime/dist/mcaid-node.conf"),
		      "%s", c.error);
	ck_assert_uint_eq(c.escalate_policy, MCAI_CFG_ESC_OFF);
	ck_assert(c.escalate_rate == 1.0);
	ck_assert_uint_eq(c.escalate_burst, 10);
}
END_TEST

START_TEST(config_values)
{
	struct mcai_config c, d;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_msg(!parse(&c, NODE_BASE "[escalate]\npolicy = local\n"
			     "model = /m/big.mcai\nrate = 0.25\nburst = 3\n"
			     "label = no\n"), "%s", c.error);
	ck_assert_uint_eq(c.escalate_policy, MCAI_CFG_ESC_LOCAL);
	ck_assert_str_eq(c.escalate_model, "/m/big.mcai");
	ck_assert(c.escalate_rate == 0.25);
	ck_assert_uint_eq(c.escalate_burst, 3);
	ck_assert(!c.escalate_label);
	/* the dump reads back the same */
	f = open_memstream(&text, &len);
	mcai_config_dump(&c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "\n[escalate]\npolicy = local\n"));
	mcai_config_init(&d);
	ck_assert_msg(!mcai_config_read_mem(&d, text, len, "dump", NULL), "%s",
		      d.error);
	ck_assert_msg(!mcai_config_finish(&d), "%s", d.error);
	free(text);
	ck_assert_uint_eq(d.escalate_policy, MCAI_CFG_ESC_LOCAL);
	ck_assert(d.escalate_rate == 0.25);
	ck_assert_uint_eq(d.escalate_burst, 3);
	ck_assert(!d.escalate_label);
	/* a command-line override */
	ck_assert(!mcai_config_set(&c, "escalate.policy", "off", "-o"));
	ck_assert_uint_eq(c.escalate_policy, MCAI_CFG_ESC_OFF);
}
END_TEST

START_TEST(config_errors)
{
	expect_err(NODE_BASE "escalate.policy = remote\n",
		   "test.conf:7: escalate.policy");
	expect_err(NODE_BASE "escalate.policy = on\n", "escalate.policy");
	expect_err(NODE_BASE "escalate.policy = local\n",
		   "test.conf:7: escalate.policy local needs escalate.model");
	expect_err(NODE_BASE "escalate.model = big.mcai\n",
		   "test.conf:7: escalate.model without escalate.policy");
	expect_err(NODE_BASE "escalate.policy = local\n"
		   "escalate.model = b\nescalate.rate = 0\n", "escalate.rate");
	expect_err(NODE_BASE "escalate.rate = -1\n", "escalate.rate");
	expect_err(NODE_BASE "escalate.rate = 2e6\n", "escalate.rate");
	expect_err(NODE_BASE "escalate.rate = fast\n", "escalate.rate");
	expect_err(NODE_BASE "escalate.burst = 0\n", "escalate.burst");
	expect_err(NODE_BASE "escalate.burst = 1000001\n", "escalate.burst");
	expect_err(NODE_BASE "escalate.label = 1\n", "escalate.label");
	expect_err(NODE_BASE "escalate.policy = off\nescalate.policy = off\n",
		   "escalate.policy");
	/* a node's policy, not an aggregator's */
	expect_err("role = aggregator\nmodel = m\ntls.cert = a\ntls.key = b\n"
		   "tls.ca = c\nescalate.policy = off\n",
		   "not used by role aggregator");
}
END_TEST

START_TEST(bucket_burst_then_rate)
{
	struct mcai_esc_bucket b;
	unsigned int got = 0;

	mcai_esc_bucket_init(&b, 2.0, 3, 1000);
	/* full at start: the burst, then nothing at the same instant */
	for (int i = 0; i < 10; i++)
		got += mcai_esc_bucket_take(&b, 1000);
	ck_assert_uint_eq(got, 3);
	/* 2/s: one token each 500 ms, none before */
	ck_assert(!mcai_esc_bucket_take(&b, 1499));
	ck_assert(mcai_esc_bucket_take(&b, 1500));
	ck_assert(!mcai_esc_bucket_take(&b, 1500));
	/* over a long idle time it refills to the burst, never beyond */
	got = 0;
	for (int i = 0; i < 10; i++)
		got += mcai_esc_bucket_take(&b, 100000);
	ck_assert_uint_eq(got, 3);
	/* a clock going back refills nothing and breaks nothing */
	ck_assert(!mcai_esc_bucket_take(&b, 50));
	ck_assert(mcai_esc_bucket_take(&b, 100500));
}
END_TEST

START_TEST(bucket_long_run)
{
	struct mcai_esc_bucket b;
	unsigned int got = 0;

	/* 0.5/s, burst 4, offered 4/s for 60 s: 4 + 30 tokens exactly */
	mcai_esc_bucket_init(&b, 0.5, 4, 0);
	for (uint64_t t = 0; t <= 60000; t += 250)
		got += mcai_esc_bucket_take(&b, t);
	ck_assert_uint_eq(got, 4 + 30);
	/*
	 * A fractional rate keeps its remainders between takes: 1 + 10
	 * over 30 s (the last one may fall to rounding), never more.
	 */
	mcai_esc_bucket_init(&b, 1.0 / 3.0, 1, 0);
	got = 0;
	for (uint64_t t = 0; t <= 30000; t += 7)
		got += mcai_esc_bucket_take(&b, t);
	ck_assert_uint_ge(got, 10);
	ck_assert_uint_le(got, 11);
}
END_TEST

struct seen {
	unsigned int n;
	struct mcai_esc_answer a[16];
};

static void on_alert(void *arg, const char *big, const struct mcai_esc_answer *a)
{
	struct seen *s = arg;

	ck_assert_str_eq(big, "vib-classifier-large");
	if (s->n < 16)
		s->a[s->n] = *a;
	s->n++;
}

START_TEST(scan_store)
{
	struct mcai_escalate_opts o = {
		.model_path = BIG_MODEL, .rate = 1.0, .burst = 3, .label = true,
	};
	char dir[] = "/tmp/mcai-esc-XXXXXX", err[512];
	struct mcai_samples *st;
	struct mcai_escalate *e;
	struct mcai_esc_stats s;
	struct seen seen = { 0 };
	uint64_t seed = 7;
	u64 ids[8];
	int8_t in[8][42];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_msg(!mcai_samples_open(&st, dir, NULL, err, sizeof(err)),
		      "%s", err);
	ck_assert_msg(!mcai_escalate_new(&e, &o, 0, err, sizeof(err)), "%s",
		      err);
	mcai_escalate_set_alert(e, on_alert, &seen);
	/* 8 samples, the odd ones flagged escalate */
	for (int i = 0; i < 8; i++) {
		struct mcai_sample_meta m = {
			.timestamp_ns = 1000 + i, .kernel_seq = i,
			.model_id = 5, .version = 1, .session_id = 2,
			.class_id = i & 3, .score = -20 + i,
			.flags = (i & 1) ? MCAI_RES_ESCALATE : 0,
			.input_len = 42,
		};

		for (int j = 0; j < 42; j++)
			in[i][j] = unit_rnd_s8(&seed) / 4;
		ck_assert(!mcai_samples_append(st, &m, in[i], &ids[i]));
	}
	ck_assert(!mcai_samples_sync(st));
	/* at t = 0: the burst takes 3 of the 4 flagged, the 4th is limited */
	mcai_escalate_scan(e, st, 8, 0);
	mcai_escalate_get_stats(e, &s);
	ck_assert_uint_eq(s.seen, 4);
	ck_assert_uint_eq(s.routed, 3);
	ck_assert_uint_eq(s.limited, 1);
	ck_assert_uint_eq(s.failed, 0);
	ck_assert_uint_eq(seen.n, 3);
	for (unsigned int k = 0; k < 3; k++) {
		const struct mcai_sample_meta *m;
		int i = 2 * (int)k + 1;
		int32_t cls, score;

		ck_assert_uint_eq(seen.a[k].sample_id, ids[i]);
		ck_assert_int_eq(seen.a[k].small_class, i & 3);
		ck_assert_int_eq(seen.a[k].small_score, -20 + i);
		ck_assert_uint_eq(seen.a[k].small_model_id, 5);
		/* the label is what the engine says of this input */
		ck_assert(!mcai_escalate_run(e, in[i], 42, &cls, &score));
		ck_assert_int_eq(seen.a[k].big_class, cls);
		ck_assert_int_eq(seen.a[k].big_score, score);
		ck_assert(cls >= 0 && cls < 4);
		m = mcai_samples_at(st, (u32)i);
		ck_assert_ptr_nonnull(m);
		ck_assert_int_eq(m->label, cls);
		/* the small model's answer is kept beside it */
		ck_assert_int_eq(m->class_id, i & 3);
	}
	/* neither the unflagged nor the limited one got a label */
	for (int i = 0; i < 8; i += 2)
		ck_assert_int_eq(mcai_samples_at(st, (u32)i)->label,
				 MCAI_SAMPLES_NO_LABEL);
	ck_assert_int_eq(mcai_samples_at(st, 7)->label, MCAI_SAMPLES_NO_LABEL);
	/* wrong input length: refused, not run */
	{
		int32_t c, sc;

		ck_assert_int_eq(mcai_escalate_run(e, in[0], 41, &c, &sc),
				 -EINVAL);
	}
	/* a second drain 2 s later: two tokens for its one flagged sample */
	{
		struct mcai_sample_meta m = {
			.kernel_seq = 9, .model_id = 5, .class_id = 0,
			.flags = MCAI_RES_ESCALATE | MCAI_RES_GATED,
			.input_len = 42,
		};
		u64 id;

		ck_assert(!mcai_samples_append(st, &m, in[0], &id));
		ck_assert(!mcai_samples_sync(st));
		mcai_escalate_scan(e, st, 1, 2000);
		mcai_escalate_get_stats(e, &s);
		ck_assert_uint_eq(s.seen, 5);
		ck_assert_uint_eq(s.routed, 4);
		ck_assert_uint_eq(s.limited, 1);
		ck_assert_uint_eq(seen.a[3].sample_id, id);
	}
	mcai_escalate_free(e);
	mcai_samples_close(st);
	unit_rm_tree(dir);
}
END_TEST

START_TEST(bad_models)
{
	struct mcai_escalate_opts o = { .rate = 1.0, .burst = 1 };
	char err[512], path[] = "/tmp/mcai-esc-blob-XXXXXX";
	struct mcai_escalate *e = (void *)1;
	FILE *f;
	int fd;

	o.model_path = "/nonexistent/big.mcai";
	ck_assert_int_eq(mcai_escalate_new(&e, &o, 0, err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_null(e);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/big.mcai"));
	/* not a blob */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("not a model at all, just some text\n", f);
	fclose(f);
	o.model_path = path;
	ck_assert_int_eq(mcai_escalate_new(&e, &o, 0, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "refused"));
	unlink(path);
	/* no rate, no burst */
	o.model_path = BIG_MODEL;
	o.rate = 0;
	ck_assert_int_eq(mcai_escalate_new(&e, &o, 0, err, sizeof(err)),
			 -EINVAL);
	o.rate = 1;
	o.burst = 0;
	ck_assert_int_eq(mcai_escalate_new(&e, &o, 0, err, sizeof(err)),
			 -EINVAL);
}
END_TEST

Suite *escalate_suite(void)
{
	Suite *s = suite_create("escalate");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_values);
	tcase_add_test(tc, config_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("bucket");
	tcase_add_test(tc, bucket_burst_then_rate);
	tcase_add_test(tc, bucket_long_run);
	suite_add_tcase(s, tc);
	tc = tcase_create("scan");
	tcase_add_test(tc, scan_store);
	tcase_add_test(tc, bad_models);
	suite_add_tcase(s, tc);
	return s;
}
