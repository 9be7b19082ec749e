// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the blob verifier and the engine (models/).
 *
 * Each input is tried twice:
 *  1. as is, under the default limits (what mcai.ko uses): almost always
 *     refused by the header or digest checks, which is their test;
 *  2. with total_size set to the input length and the SHA-256 digest
 *     re-sealed, under the format's widest limits, so that mutations
 *     reach the structural checks behind the digest.
 * A blob the verifier accepts is then run: mcai_engine_run() on an input
 * derived from the data, compared with a 64-bit reference written here,
 * and mcai_engine_check_vectors().  The blob, the input, the arena
 * (exactly m.arena_size bytes) and the scores (exactly output_len) are
 * separate heap blocks, so AddressSanitizer sees any access the verifier
 * should have ruled out.  Beyond the sanitizers, the target aborts when
 * the verified model breaks an invariant the engine relies on.
 *
 * Format v2 (graphs) goes through the same two tries with
 * mcai_graph_verify(); an accepted graph is run with its state and arena
 * in heap blocks of exactly the sizes the verifier gave, and its test
 * vectors are checked.  v2's arena is capped at 1 MiB here (the wide
 * limits would let one input ask for gigabytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/engine/engine.h"
#include "models/engine/graph.h"
#include "models/engine/requant.h"
#include "models/engine/sha256.h"
#include "models/engine/verify.h"

#define H(f)	((u32)offsetof(struct mcai_blob_header, f))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INVARIANT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_blob: invariant broken: %s (line %d)\n", \
			#c, __LINE__);					\
		abort();						\
	}								\
} while (0)

/* [p, p + len) lies within [lo, hi). */
static int inside(const void *p, u64 len, const u8 *lo, const u8 *hi)
{
	const u8 *b = p;

	return b >= lo && b <= hi && len <= (u64)(hi - b);
}

static void check_model(const struct mcai_model *m, const u8 *blob, u32 size)
{
	const u8 *end = blob + size - MCAI_DIGEST_LEN;
	const u8 *data = blob + mcai_le32(blob + H(data_off));
	const u8 *data_end = data + mcai_le32(blob + H(data_size));
	u32 i, widest = 0;
	u64 macs = 0;

	INVARIANT(m->blob == blob && m->blob_size == size);
	INVARIANT(m->digest == end);
	INVARIANT(m->n_layers >= 1 && m->n_layers <= MCAI_BLOB_MAX_LAYERS);
	INVARIANT(m->input_len >= 1 && m->input_len <= MCAI_MAX_DIM);
	INVARIANT(m->output_len >= 1 && m->output_len <= MCAI_MAX_DIM);
	INVARIANT(data <= data_end && data_end <= end);
	INVARIANT(inside(m->tv, (u64)m->tv_count * (m->input_len + m->output_len),
			 blob, end));
	INVARIANT(m->head == MCAI_HEAD_ARGMAX ||
		  (m->head == MCAI_HEAD_THRESHOLD && m->output_len == 1));
	INVARIANT(m->layer[0].in_len == m->input_len);
	INVARIANT(m->layer[0].in_zp == m->input_zp);
	INVARIANT(m->layer[m->n_layers - 1].out_len == m->output_len);
	INVARIANT(m->layer[m->n_layers - 1].out_zp == m->output_zp);
	for (i = 0; i < m->n_layers; i++) {
		const struct mcai_layer *l = &m->layer[i];
		u64 k;

		INVARIANT(l->in_len >= 1 && l->in_len <= MCAI_MAX_DIM);
		INVARIANT(l->out_len >= 1 && l->out_len <= MCAI_MAX_DIM);
		INVARIANT(l->clamp_min <= l->clamp_max);
		if (i) {
			INVARIANT(l->in_len == m->layer[i - 1].out_len);
			INVARIANT(l->in_zp == m->layer[i - 1].out_zp);
		}
		if (i + 1 < m->n_layers && l->out_len > widest)
			widest = l->out_len;
		if (l->type == MCAI_LAYER_LUT) {
			INVARIANT(l->in_len == l->out_len);
			INVARIANT(inside(l->lut, 256, data, data_end));
			continue;
		}
		INVARIANT(l->type == MCAI_LAYER_FC);
		INVARIANT(l->activation <= MCAI_ACT_RELU6);
		INVARIANT(inside(l->weights, (u64)l->in_len * l->out_len, data,
				 data_end));
		INVARIANT(inside(l->bias, 4ULL * l->out_len, data, data_end));
		INVARIANT(inside(l->mult, 4ULL * l->out_len, data, data_end));
		INVARIANT(inside(l->shift, 4ULL * l->out_len, data, data_end));
		for (k = 0; k < l->out_len; k++) {
			s32 sh = mcai_les32(l->shift + 4 * k);

			INVARIANT(mcai_les32(l->mult + 4 * k) >= 0);
			INVARIANT(sh >= -31 && sh <= 30);
		}
		for (k = 0; k < (u64)l->in_len * l->out_len; k++)
			INVARIANT(l->weights[k] != -128);
		macs += (u64)l->in_len * l->out_len;
	}
	INVARIANT(m->macs == macs);
	INVARIANT(m->arena_size == 2 * ((widest + 3) & ~3U));
	INVARIANT(m->arena_size <= mcai_le32(blob + H(arena_size)));
}

/* The reference: 64-bit accumulators, requant.h for the rescaling. */
static void ref_layer(const struct mcai_layer *l, const s8 *in, s8 *out)
{
	u32 o, i;

	if (l->type == MCAI_LAYER_LUT) {
		for (i = 0; i < l->in_len; i++)
			out[i] = l->lut[in[i] + 128];
		return;
	}
	for (o = 0; o < l->out_len; o++) {
		int64_t acc = 0, v;

		for (i = 0; i < l->in_len; i++)
			acc += (int64_t)(in[i] - l->in_zp) *
			       l->weights[(size_t)o * l->in_len + i];
		INVARIANT(acc >= INT32_MIN && acc <= INT32_MAX);
		acc += mcai_les32(l->bias + 4 * o);
		v = (int64_t)mcai_requant(mcai_sat32(acc),
					  mcai_les32(l->mult + 4 * o),
					  (int)mcai_les32(l->shift + 4 * o)) +
		    l->out_zp;
		out[o] = (s8)(v < l->clamp_min ? l->clamp_min :
			      v > l->clamp_max ? l->clamp_max : v);
	}
}

static void run_model(const struct mcai_model *m, const u8 *data, size_t size)
{
	s8 *input = malloc(m->input_len), *scores = malloc(m->output_len);
	s8 *arena = malloc(m->arena_size);
	s8 *ra = malloc(MCAI_MAX_DIM), *rb = malloc(MCAI_MAX_DIM);
	s8 *want = malloc(m->output_len);
	const s8 *src = input;
	u32 i, failed = U32_MAX;
	int cls;

	INVARIANT(input && scores && arena && ra && rb && want);
	for (i = 0; i < m->input_len; i++)
		input[i] = (s8)(size ? data[(i * 7) % size] ^ (u8)i : (u8)i);

	cls = mcai_engine_run(m, input, scores, arena);
	if (m->head == MCAI_HEAD_THRESHOLD)
		INVARIANT(cls == (scores[0] >= m->head_threshold));
	else
		INVARIANT(cls >= 0 && (u32)cls < m->output_len);

	for (i = 0; i < m->n_layers; i++) {
		s8 *dst = i + 1 == m->n_layers ? want : (i & 1) ? rb : ra;

		ref_layer(&m->layer[i], src, dst);
		src = dst;
	}
	INVARIANT(!memcmp(scores, want, m->output_len));
	INVARIANT(cls == mcai_engine_head(m, want));

	if (mcai_engine_check_vectors(m, arena, scores, &failed))
		INVARIANT(failed < m->tv_count);
	else
		INVARIANT(failed == U32_MAX);

	free(input);
	free(scores);
	free(arena);
	free(ra);
	free(rb);
	free(want);
}

static void check_graph(const struct mcai_graph *g, const u8 *blob, u32 size)
{
	u32 i, k;

	INVARIANT(g->blob == blob && g->blob_size == size);
	INVARIANT(g->n_ops >= 1 && g->n_ops <= MCAI_BLOB2_MAX_OPS);
	INVARIANT(g->n_tensors >= 1 && g->n_tensors <= MCAI_BLOB2_MAX_TENSORS);
	for (i = 0; i < g->n_tensors; i++) {
		const struct mcai_gtensor *t = &g->t[i];

		if (t->kind == MCAI_TK_ARENA)
			INVARIANT((u64)t->offset + t->bytes <= g->arena_size);
		else
			INVARIANT(inside(t->data, t->bytes, blob, blob + size) ||
				  t->dtype != MCAI_DT_INT8);
	}
	/* topological: every arena input written by an earlier op */
	for (i = 0; i < g->n_ops; i++)
		for (k = 0; k < g->op[i].n_in; k++) {
			const struct mcai_gtensor *t = &g->t[g->op[i].in[k]];

			if (t->kind == MCAI_TK_ARENA)
				INVARIANT(t->first < (s32)i || t->is_input);
		}
}

static void try_graph(const u8 *blob, u32 size, const struct mcai_limits *lim)
{
	struct mcai_limits gl = *lim;
	struct mcai_verdict v;
	struct mcai_graph g;
	void *state, *arena;
	u32 need, failed = U32_MAX;
	int cls;

	if (gl.max_arena > (1U << 20))
		gl.max_arena = 1U << 20;
	need = mcai_graph_state_size(blob, size, &gl, &v);
	if (!need) {
		INVARIANT(v.reason != NULL);
		return;
	}
	state = malloc(need);
	INVARIANT(state != NULL);
	if (mcai_graph_verify(&g, blob, size, &gl, state, need, &v)) {
		INVARIANT(v.reason != NULL);
		INVARIANT(v.offset < size || v.offset == 0);
		free(state);
		return;
	}
	INVARIANT(v.reason == NULL && g.state_used <= need);
	check_graph(&g, blob, size);
	arena = malloc(g.arena_size ? g.arena_size : 1);
	INVARIANT(arena != NULL);
	memset(arena, 0x5a, g.arena_size);
	cls = mcai_graph_run(&g, arena);
	INVARIANT(cls >= 0);
	if (mcai_graph_check_vectors(&g, arena, &failed))
		INVARIANT(failed < g.tv_count);
	free(arena);
	free(state);
}

static void try_blob(const u8 *blob, u32 size, const struct mcai_limits *lim,
		     const u8 *data, size_t dsize)
{
	struct mcai_verdict v;
	struct mcai_model m;

	if (mcai_blob_format(blob, size) == MCAI_BLOB2_VERSION) {
		try_graph(blob, size, lim);
		return;
	}
	if (mcai_verify(&m, blob, size, lim, &v)) {
		INVARIANT(v.reason != NULL);
		INVARIANT(v.offset < size || v.offset == 0);
		return;
	}
	INVARIANT(v.reason == NULL);
	check_model(&m, blob, size);
	run_model(&m, data, dsize);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcai_limits def, wide = {
		.max_blob_size = U32_MAX, .max_layers = MCAI_BLOB_MAX_LAYERS,
		.max_dim = MCAI_MAX_DIM, .max_arena = U32_MAX,
		.max_macs = ~0ULL,
	};
	u8 *blob;

	if (size > (1U << 20))
		return 0;
	mcai_limits_default(&def);
	blob = malloc(size ? size : 1);
	if (!blob)
		return 0;
	memcpy(blob, data, size);
	try_blob(blob, (u32)size, &def, data, size);

	if (size >= sizeof(struct mcai_blob_header) + MCAI_DIGEST_LEN) {
		u32 n = (u32)size;

		blob[H(total_size)] = (u8)n;
		blob[H(total_size) + 1] = (u8)(n >> 8);
		blob[H(total_size) + 2] = (u8)(n >> 16);
		blob[H(total_size) + 3] = (u8)(n >> 24);
		mcai_sha256(blob, n - MCAI_DIGEST_LEN, blob + n - MCAI_DIGEST_LEN);
		try_blob(blob, n, &wide, data, size);
	}
	free(blob);
	return 0;
}
