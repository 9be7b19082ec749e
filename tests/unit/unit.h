/* SPDX-License-Identifier: GPL-2.0 */
/* The Check suites of tests/unit, one per concern; run by main.c. */
#ifndef MCAI_UNIT_H
#define MCAI_UNIT_H

#include <check.h>
#include <stdint.h>

#include "models/engine/model.h"
#include "models/train/writer.h"

Suite *requant_suite(void);
Suite *engine_suite(void);
Suite *verify_suite(void);
Suite *writer_suite(void);
Suite *sha256_suite(void);
Suite *quant_suite(void);
Suite *telemetry_suite(void);
Suite *mlp_suite(void);
Suite *strategy_suite(void);
Suite *proto_suite(void);
Suite *config_suite(void);
Suite *store_suite(void);
Suite *secagg_suite(void);
Suite *secagg_signed_suite(void);
Suite *dp_suite(void);
Suite *provenance_suite(void);
Suite *anomaly_suite(void);
Suite *drift_suite(void);
Suite *escalate_suite(void);
Suite *fedsim_suite(void);
Suite *samples_suite(void);
Suite *fedmlp_suite(void);
Suite *adamstate_suite(void);
Suite *compress_suite(void);
Suite *personal_suite(void);
Suite *fedhead_suite(void);
Suite *op_conv_suite(void);
Suite *op_pool_suite(void);
Suite *op_elementwise_suite(void);
Suite *op_reduce_suite(void);
Suite *op_softmax_suite(void);
Suite *op_activation_suite(void);
Suite *op_head_suite(void);
Suite *op_tree_suite(void);
Suite *graph_suite(void);
Suite *import_suite(void);
Suite *tensorfile_suite(void);
Suite *simd_suite(void);

/*
 * ck_assert_*() reports every passing check to the parent process: too slow
 * for sweeps of 10^5 cases.  EXPECT() only speaks on failure.
 */
#define EXPECT(cond, ...) do {			\
	if (!(cond))				\
		ck_abort_msg(__VA_ARGS__);	\
} while (0)

/* A fixed-seed generator (xorshift64*), so every run sees the same cases. */
static inline uint64_t unit_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static inline uint32_t unit_rnd32(uint64_t *s)
{
	return (uint32_t)(unit_rnd(s) >> 32);
}

/* helpers.c */

/* A blob written by the writer and its verified view. */
struct unit_model {
	u8 *blob;
	u32 size;
	struct mcai_model m;
};

/* The widest limits the format allows (MCAI_MAX_DIM, no size caps). */
void unit_limits_wide(struct mcai_limits *lim);
/* Write @s and verify it with the wide limits; fails the test otherwise. */
void unit_model_build(struct unit_model *t, const struct mcai_blob_spec *s);
void unit_model_free(struct unit_model *t);
/* Recompute the digest after editing a blob. */
void unit_seal(u8 *blob, u32 size);

/* Exact references for requant.h (128-bit arithmetic, see test_requant.c). */
s32 unit_ref_srdhm(s32 a, s32 b);
s32 unit_ref_rdivpot(s32 x, int e);
s32 unit_ref_requant(s32 x, s32 mult, int shift);

/* Random layer contents: weights -127..127, and so on. */
s8 unit_rnd_w(uint64_t *seed);
/* A uniform integer in [lo, hi]. */
static inline int unit_rnd_in(uint64_t *s, int lo, int hi)
{
	return lo + (int)(unit_rnd32(s) % (uint32_t)(hi - lo + 1));
}

/* malloc that fails the test instead of returning NULL (0 bytes: 1). */
void *unit_xmalloc(size_t n);
/* A whole file (a shipped blob; paths from the tree's top), or the test fails. */
u8 *unit_slurp(const char *path, u32 *len);
s8 unit_rnd_s8(uint64_t *seed);

/* Remove @dir and everything under it (a suite's scratch directory). */
void unit_rm_tree(const char *dir);

#endif /* MCAI_UNIT_H */
