// SPDX-License-Identifier: GPL-2.0
/*
 * Energy budgets bind every inference path: the synchronous INFER ioctl and
 * each stage of a pipeline, not only sessions.  A model whose budget
 * cannot pay for one inference is shed (-EAGAIN, counted) at LOW
 * priority, and runs anyway (bounded debt) at HIGH.
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "models/train/writer.h"

static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "budget_check: FAIL: " __VA_ARGS__);	\
		fputc('\n', stderr);					\
		failures++;						\
	}								\
} while (0)

static u8 *make_model(const char *name, u32 *size)
{
	static s8 w1[32 * 32], w2[8 * 32];
	static s32 b[32], mu[32], sh[32];
	struct mcai_blob_spec s = {
		.name = name, .version = 1, .n_layers = 2,
		.input_scale = 1.0f / 64, .output_scale = 1.0f / 16,
	};
	char err[128];
	u32 i;
	u8 *blob;

	for (i = 0; i < sizeof(w1); i++)
		w1[i] = (s8)((i * 37) % 255 - 127);
	for (i = 0; i < sizeof(w2); i++)
		w2[i] = (s8)((i * 53) % 255 - 127);
	for (i = 0; i < 32; i++) {
		b[i] = (s32)(i * 11) - 100;
		mu[i] = 1 << 30;
		sh[i] = -8;
	}
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_RELU,
		.in_len = 32, .out_len = 32, .in_zp = 0, .out_zp = -128,
		.clamp_min = -128, .clamp_max = 127,
		.weights = w1, .bias = b, .mult = mu, .shift = sh,
	};
	s.layer[1] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .in_len = 32, .out_len = 8,
		.in_zp = -128, .out_zp = 0, .clamp_min = -128, .clamp_max = 127,
		.weights = w2, .bias = b, .mult = mu, .shift = sh,
	};
	blob = mcai_blob_write(&s, size, err, sizeof(err));
	if (!blob)
		fprintf(stderr, "budget_check: %s\n", err);
	return blob;
}

static u32 load(int fd, const char *name)
{
	struct mcai_model_load req = { .size = sizeof(req) };
	u32 size = 0;
	u8 *blob = make_model(name, &size);

	if (!blob)
		return 0;
	req.blob_ptr = (uintptr_t)blob;
	req.blob_size = size;
	if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &req)) {
		fprintf(stderr, "budget_check: load %s: %s (%s)\n", name,
			strerror(errno), req.reason);
		req.model_id = 0;
	}
	free(blob);
	return req.model_id;
}

static int policy(int fd, u32 id, u32 prio, u64 budget_uj, u32 pj)
{
	struct mcai_model_policy p = {
		.size = sizeof(p), .ref.model_id = id, .priority = prio,
		.energy_budget_uj = budget_uj, .pj_per_mac = pj,
	};

	return ioctl(fd, MCAI_IOC_MODEL_POLICY, &p) ? -errno : 0;
}

/* Sync INFER on a model (or a pipeline); returns 0 or -errno. */
static int infer(int fd, u32 id, u32 flags)
{
	s8 in[32] = { 1, 2, 3 }, scores[8];
	struct mcai_infer req = {
		.size = sizeof(req), .flags = flags, .ref.model_id = id,
		.input_ptr = (uintptr_t)in, .input_len = sizeof(in),
		.scores_ptr = (uintptr_t)scores, .scores_len = sizeof(scores),
	};

	return ioctl(fd, MCAI_IOC_INFER, &req) ? -errno : 0;
}

static u64 shed_of(int fd, u32 id)
{
	struct mcai_model_stats st = { .size = sizeof(st), .ref.model_id = id };

	if (ioctl(fd, MCAI_IOC_MODEL_STATS, &st))
		return (u64)-1;
	return st.shed;
}

int main(void)
{
	struct mcai_pipeline_create pc = {
		.size = sizeof(pc), .name = "budget-vote",
		.type = MCAI_PIPE_ENSEMBLE_VOTE, .n_models = 2,
		.escalate_below = -129,
	};
	u32 cheap, costly;
	int fd, i, ret;

	fd = open("/dev/mcai", O_RDWR);
	if (fd < 0) {
		perror("/dev/mcai");
		return 77;
	}
	cheap = load(fd, "budget-free");
	costly = load(fd, "budget-tight");
	if (!cheap || !costly)
		return 1;

	/* 1280 MACs x 10^6 pJ/MAC = 1.28 J per inference; bucket 1 µJ. */
	CHECK(policy(fd, costly, MCAI_PRIO_LOW, 1, 1000000) == 0, "policy");
	CHECK(infer(fd, cheap, 0) == 0, "unbudgeted model refused");
	for (i = 0; i < 5; i++) {
		ret = infer(fd, costly, 0);
		CHECK(ret == -EAGAIN, "LOW model over budget: got %d, want -EAGAIN", ret);
	}
	CHECK(shed_of(fd, costly) == 5, "shed counter %llu, want 5",
	      (unsigned long long)shed_of(fd, costly));

	/* A pipeline stage pays from its own model's budget too. */
	pc.model_ids[0] = cheap;
	pc.model_ids[1] = costly;
	CHECK(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &pc) == 0, "pipeline: %s",
	      strerror(errno));
	ret = infer(fd, pc.pipeline_id, MCAI_INFER_PIPELINE);
	CHECK(ret == -EAGAIN, "pipeline with a shed stage: got %d", ret);
	CHECK(shed_of(fd, costly) == 6, "shed counter after the pipeline");

	/* HIGH priority runs anyway, into bounded debt, and is not shed. */
	CHECK(policy(fd, costly, MCAI_PRIO_HIGH, 1, 1000000) == 0, "policy HIGH");
	for (i = 0; i < 5; i++)
		CHECK(infer(fd, costly, 0) == 0, "HIGH model shed");
	CHECK(infer(fd, pc.pipeline_id, MCAI_INFER_PIPELINE) == 0,
	      "pipeline with a HIGH stage shed");
	CHECK(shed_of(fd, costly) == 6, "HIGH work counted as shed");

	/* Lifting the budget lets LOW work run again. */
	CHECK(policy(fd, costly, MCAI_PRIO_LOW, 0, 0) == 0, "policy unlimited");
	CHECK(infer(fd, costly, 0) == 0, "unlimited model shed");

	close(fd);
	if (failures)
		return 1;
	printf("budget_check: sync and pipeline paths shed over budget, HIGH runs\n");
	return 0;
}
