// SPDX-License-Identifier: GPL-2.0
/*
 * Federated simulator (runtime/fed/fedsim.c) on tiny synthetic data: every
 * image in exactly one shard (IID and Dirichlet), the minimum shard size
 * honoured, runs reproducible from their seed, a separable problem
 * learned through the int8 path, and the sign-flip attack beating FedAvg
 * but not the coordinate median or anomaly quarantine.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "runtime/fed/fedsim.h"

#define IMG	8		/* pixels per image */
#define CLS	4
#define NTRAIN	400
#define NTEST	100

/*
 * Class k lights pixels 2k and 2k + 1 (200..255) over a dim background
 * (0..40): separable by a single layer, learnt in a few rounds.
 */
static u8 tr_img[NTRAIN * IMG], tr_lab[NTRAIN];
static u8 te_img[NTEST * IMG], te_lab[NTEST];

static void make(u8 *img, u8 *lab, u32 n, uint64_t *seed)
{
	u32 i, p;

	for (i = 0; i < n; i++) {
		lab[i] = (u8)(unit_rnd32(seed) % CLS);
		for (p = 0; p < IMG; p++)
			img[i * IMG + p] = (u8)(unit_rnd32(seed) % 41);
		img[i * IMG + 2 * lab[i]] = (u8)(200 + unit_rnd32(seed) % 56);
		img[i * IMG + 2 * lab[i] + 1] = (u8)(200 + unit_rnd32(seed) % 56);
	}
}

static struct mcai_fedsim_data data(void)
{
	uint64_t seed = 77;

	make(tr_img, tr_lab, NTRAIN, &seed);
	make(te_img, te_lab, NTEST, &seed);
	return (struct mcai_fedsim_data){
		.train_images = tr_img, .train_labels = tr_lab,
		.train_count = NTRAIN, .test_images = te_img,
		.test_labels = te_lab, .test_count = NTEST,
		.input_len = IMG, .classes = CLS,
	};
}

static void check_partition(float alpha, u32 clients, u32 min_shard)
{
	struct mcai_fedsim_data d = data();
	u32 **shard, *len, c, i, total = 0;
	u8 seen[NTRAIN] = { 0 };

	ck_assert_int_eq(mcai_fedsim_split(d.train_labels, NTRAIN, CLS, clients,
					   alpha, min_shard, 5, &shard, &len), 0);
	for (c = 0; c < clients; c++) {
		ck_assert_uint_ge(len[c], min_shard);
		for (i = 0; i < len[c]; i++) {
			ck_assert_uint_lt(shard[c][i], NTRAIN);
			ck_assert_uint_eq(seen[shard[c][i]]++, 0);
		}
		total += len[c];
		if (alpha == 0)
			ck_assert_uint_eq(len[c], NTRAIN / clients);
	}
	ck_assert_uint_eq(total, NTRAIN);
	mcai_fedsim_shards_free(shard, len, clients);
}

START_TEST(split_covers_once)
{
	check_partition(0, 8, 1);
	check_partition(0.5f, 8, 10);
	check_partition(0.1f, 5, 20);
	check_partition(100, 10, 30);
}
END_TEST

START_TEST(split_errors)
{
	struct mcai_fedsim_data d = data();
	u32 **shard, *len;

	/* 10 clients cannot each have 41 of 400 images. */
	ck_assert_int_eq(mcai_fedsim_split(d.train_labels, NTRAIN, CLS, 10, 0.5f,
					   41, 5, &shard, &len), -EINVAL);
	/* A label outside the classes. */
	ck_assert_int_eq(mcai_fedsim_split(d.train_labels, NTRAIN, 2, 4, 0,
					   1, 5, &shard, &len), -EINVAL);
}
END_TEST

START_TEST(dirichlet_skews)
{
	/*
	 * alpha 0.1 concentrates each class on few clients: the largest
	 * share of one class held by a single client is far above the IID
	 * 1/8.
	 */
	struct mcai_fedsim_data d = data();
	u32 **shard, *len, c, i, k, per[CLS] = { 0 }, best = 0;

	for (i = 0; i < NTRAIN; i++)
		per[tr_lab[i]]++;
	ck_assert_int_eq(mcai_fedsim_split(d.train_labels, NTRAIN, CLS, 8, 0.1f,
					   5, 9, &shard, &len), 0);
	for (c = 0; c < 8; c++)
		for (k = 0; k < CLS; k++) {
			u32 n = 0;

			for (i = 0; i < len[c]; i++)
				n += tr_lab[shard[c][i]] == k;
			if (n * 100 / per[k] > best)
				best = n * 100 / per[k];
		}
	ck_assert_uint_ge(best, 50);
	mcai_fedsim_shards_free(shard, len, 8);
}
END_TEST

START_TEST(gamma_mean)
{
	/* E[Gamma(a, 1)] = a, for a below and above 1. */
	u64 rng = 3;
	double s = 0, t = 0;
	u32 i;

	for (i = 0; i < 20000; i++) {
		s += mcai_gamma(&rng, 0.5);
		t += mcai_gamma(&rng, 3.0);
	}
	ck_assert(fabs(s / 20000 - 0.5) < 0.03);
	ck_assert(fabs(t / 20000 - 3.0) < 0.08);
}
END_TEST

static struct mcai_fedsim_config small(void)
{
	struct mcai_fedsim_config c;

	mcai_fedsim_config_default(&c);
	c.hidden[0] = 8;
	c.clients = 10;
	c.rounds = 4;
	c.fraction = 1;
	c.batch = 8;
	c.lr = 0.1f;
	c.calib = 100;
	c.min_shard = 5;
	return c;
}

static double run(const struct mcai_fedsim_config *c,
		  struct mcai_fedsim_result *res)
{
	struct mcai_fedsim_data d = data();
	char why[256] = "";
	int err = mcai_fedsim_run(c, &d, res, NULL, NULL, why, sizeof(why));

	ck_assert_msg(!err, "run: %d %s", err, why);
	return res->rounds[res->n_rounds - 1].int8_acc;
}

START_TEST(learns_and_repeats)
{
	struct mcai_fedsim_config c = small();
	struct mcai_fedsim_result a, b;
	u32 r;

	c.dropout = 0.2f;
	run(&c, &a);
	run(&c, &b);
	for (r = 0; r < c.rounds; r++) {
		ck_assert_uint_eq(a.rounds[r].answered, 8);	/* 10 - 2 */
		ck_assert(a.rounds[r].int8_acc == b.rounds[r].int8_acc);
		ck_assert(a.rounds[r].float_acc == b.rounds[r].float_acc);
	}
	ck_assert_msg(a.rounds[c.rounds - 1].int8_acc >= 0.9,
		      "int8 accuracy %g", a.rounds[c.rounds - 1].int8_acc);
	ck_assert_uint_gt(a.blob_bytes, 0);
	mcai_fedsim_result_free(&a);
	mcai_fedsim_result_free(&b);
}
END_TEST

START_TEST(kill_and_central)
{
	struct mcai_fedsim_config c = small();
	struct mcai_fedsim_data d = data();
	struct mcai_fedsim_result res;
	char why[256] = "";

	c.fraction = 0.5f;
	c.kill_round = 2;
	c.kill_fraction = 0.3f;
	run(&c, &res);
	ck_assert_uint_eq(res.rounds[0].dead, 0);
	ck_assert_uint_eq(res.rounds[1].dead, 3);
	ck_assert_uint_le(res.rounds[1].answered, res.rounds[1].sampled);
	/* After the deaths, 7 are left: round(0.5 * 7) = 4 sampled. */
	ck_assert_uint_eq(res.rounds[2].sampled, 4);
	ck_assert_uint_eq(res.rounds[2].answered, 4);
	mcai_fedsim_result_free(&res);

	ck_assert_int_eq(mcai_fedsim_central(&c, &d, &res, NULL, NULL, why,
					     sizeof(why)), 0);
	/* round(0.5 * 400 * 1) samples between evaluations. */
	ck_assert_uint_eq(res.rounds[0].samples, 200);
	ck_assert(res.rounds[c.rounds - 1].int8_acc >= 0.9);
	mcai_fedsim_result_free(&res);
}
END_TEST

START_TEST(sign_flip)
{
	/*
	 * 3 of 10 clients send -5 x their delta: FedAvg's mean moves against
	 * the honest direction, the coordinate median does not; anomaly
	 * scoring flags exactly the hostile ones in the first round.
	 */
	struct mcai_fedsim_config c = small();
	struct mcai_fedsim_result res;
	double avg, med;
	u32 r;

	c.attack = MCAI_ATTACK_SIGN_FLIP;
	c.malicious = 0.3f;
	c.eval_every = 0;
	avg = run(&c, &res);
	ck_assert_uint_eq(res.n_malicious, 3);
	mcai_fedsim_result_free(&res);
	mcai_agg_config_default(&c.agg, MCAI_AGG_MEDIAN);
	med = run(&c, &res);
	mcai_fedsim_result_free(&res);
	ck_assert_msg(med >= 0.9 && avg < 0.6, "fedavg %g, median %g", avg, med);

	mcai_agg_config_default(&c.agg, MCAI_AGG_FEDAVG);
	c.anomaly = true;
	c.acfg.quarantine_flags = 1;
	ck_assert(run(&c, &res) >= 0.9);
	ck_assert_uint_eq(res.rounds[0].flagged, 3);
	ck_assert_uint_eq(res.rounds[0].flagged_malicious, 3);
	for (r = 1; r < c.rounds; r++) {
		/* Honest ones may follow on tiny data; the hostile are out. */
		ck_assert_uint_ge(res.rounds[r].quarantined, 3);
		ck_assert_uint_eq(res.rounds[r].malicious, 0);
	}
	mcai_fedsim_result_free(&res);
}
END_TEST

START_TEST(config_errors)
{
	struct mcai_fedsim_config c = small();
	struct mcai_fedsim_data d = data();
	struct mcai_fedsim_result res;
	char why[256] = "";

	c.fraction = 0;
	ck_assert_int_eq(mcai_fedsim_run(&c, &d, &res, NULL, NULL, why,
					 sizeof(why)), -EINVAL);
	ck_assert(strstr(why, "fraction") != NULL);
	c = small();
	c.calib = NTRAIN + 1;
	ck_assert_int_eq(mcai_fedsim_config_check(&c, &d, why, sizeof(why)),
			 -EINVAL);
	c = small();
	c.clients = 100;	/* 4 images each, min_shard 5 */
	ck_assert_int_eq(mcai_fedsim_run(&c, &d, &res, NULL, NULL, why,
					 sizeof(why)), -EINVAL);
}
END_TEST

/*
 * FedPer: the head (8 * 4 + 4 = 36 of the 8-8-4 MLP's 108 parameters)
 * stays on the clients, so a float32 update is 4 * 72 bytes; every client
 * is measured on its own labels.  Ditto: the global model follows exactly
 * the plain run's rounds (the personal training draws from its own
 * stream), and the personal models are measured beside it.
 */
START_TEST(personalised_runs)
{
	struct mcai_fedsim_config c = small();
	struct mcai_fedsim_result plain, fp, dt;
	u32 r, i, differ;
	double sum;

	c.alpha = 0.3f;
	c.node_eval = true;
	run(&c, &plain);
	ck_assert_uint_eq(plain.n_wire, 108);
	ck_assert_uint_eq(plain.n_clients, 10);
	for (i = 0; i < 10; i++)
		ck_assert(plain.node_pers_acc[i] == plain.node_global_acc[i]);

	c.personalise = MCAI_PERS_FEDPER;
	run(&c, &fp);
	ck_assert_uint_eq(fp.n_params, 108);
	ck_assert_uint_eq(fp.n_wire, 72);
	for (r = 0; r < c.rounds; r++)
		ck_assert_uint_eq(fp.rounds[r].bytes_up,
				  (u64)fp.rounds[r].answered * 4 * 72);
	ck_assert_uint_eq(fp.node_untrained, 0);
	for (i = 0; i < 10; i++)
		ck_assert(fp.node_pers_acc[i] >= 0 && fp.node_pers_acc[i] <= 1);

	c.personalise = MCAI_PERS_DITTO;
	c.ditto_lambda = 0.5f;
	run(&c, &dt);
	ck_assert_uint_eq(dt.n_wire, 108);
	ck_assert(plain.global_norm > 0);
	ck_assert(dt.global_norm == plain.global_norm);
	ck_assert(fp.global_norm != plain.global_norm);
	for (r = 0; r < c.rounds; r++)
		ck_assert(dt.rounds[r].int8_acc == plain.rounds[r].int8_acc);
	/*
	 * The personal models are models of their own (the global one
	 * separates this data perfectly: they cannot beat it here), trained:
	 * better than chance (0.25) by far on average.
	 */
	for (i = 0, differ = 0, sum = 0; i < 10; i++) {
		ck_assert(dt.node_global_acc[i] == plain.node_global_acc[i]);
		differ += dt.node_pers_acc[i] != dt.node_global_acc[i];
		sum += dt.node_pers_acc[i];
	}
	ck_assert_uint_gt(differ, 0);
	ck_assert_msg(sum / 10 >= 0.8, "Ditto mean %g", sum / 10);
	mcai_fedsim_result_free(&plain);
	mcai_fedsim_result_free(&fp);
	mcai_fedsim_result_free(&dt);
}
END_TEST

Suite *fedsim_suite(void)
{
	Suite *s = suite_create("fedsim");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, split_covers_once);
	tcase_add_test(tc, split_errors);
	tcase_add_test(tc, dirichlet_skews);
	tcase_add_test(tc, gamma_mean);
	tcase_add_test(tc, learns_and_repeats);
	tcase_add_test(tc, kill_and_central);
	tcase_add_test(tc, sign_flip);
	tcase_add_test(tc, config_errors);
	tcase_add_test(tc, personalised_runs);
	suite_add_tcase(s, tc);
	return s;
}
