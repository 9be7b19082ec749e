// SPDX-License-Identifier: GPL-2.0
/*
 * One entry point for both blob formats.  Callers (mcai.ko's registry,
 * inference paths and loader self-test, the daemon, the tools) hold a
 * struct mcai_model and move bytes in and out of it; whether the bytes
 * go through engine v1's layer list or a v2 graph is decided here, once,
 * from the header's format_version.
 *
 * A v2 graph's inputs and outputs cross this interface as a test vector
 * record holds them: every input, then every output, in io order, dense
 * and little-endian.  The summary fields of struct mcai_model describe
 * them as a whole (input_len, output_len) and by the first tensor of
 * each (scales, zero points, the head's dtype).
 */
#include "models/engine/engine.h"
#include "models/engine/graph.h"
#include "models/engine/simd.h"
#include "models/engine/verify.h"

#define MCAI_MODEL_ALIGN	8U
#define MCAI_GRAPH_HDR	\
	((sizeof(struct mcai_graph) + MCAI_MODEL_ALIGN - 1) & \
	 ~(MCAI_MODEL_ALIGN - 1))

/*
 * v1's packed FC layers (simd.h): a layer's copy is its weights, 3 bytes
 * of padding and 4 of corr a channel and a constant; its weights and 12
 * bytes a channel (bias, multiplier, shift) are in the blob, so the blob's
 * size bounds them all.  0 with SIMD off, or for a blob too large.
 */
static u32 mcai_model_v1_state(u32 size)
{
	u64 n = (u64)size + MCAI_BLOB_MAX_LAYERS *
		((sizeof(struct mcai_pack) + 7) / 8 * 8 +
		 MCAI_SIMD_PACK_EXTRA);

	if (mcai_simd_active() == MCAI_SIMD_OFF || n > U32_MAX)
		return 0;
	return (u32)n;
}

/* Pack v1's FC layers into @state: best effort, scalar where it fails. */
static void mcai_model_v1_pack(struct mcai_model *m, u8 *state, u32 room)
{
	const u32 hdr = (sizeof(struct mcai_pack) + 7) / 8 * 8;
	u32 i, used = 0;

	for (i = 0; i < m->n_layers; i++) {
		struct mcai_layer *l = &m->layer[i];
		struct mcai_pack *pk = (struct mcai_pack *)(state + used);
		u32 n;

		if (l->type != MCAI_LAYER_FC || room - used < hdr)
			continue;
		n = mcai_simd_pack(pk, l->weights, l->out_len, l->in_len, 1,
				   l->in_zp, state + used + hdr,
				   room - used - hdr);
		if (!n)
			continue;
		l->pk = pk;
		used += hdr + (n + 7) / 8 * 8;
	}
}

int mcai_model_state_size(const void *blob, u32 size,
			  const struct mcai_limits *lim, u32 *bytes,
			  struct mcai_verdict *v)
{
	u32 need;

	*bytes = 0;
	if (mcai_blob_format(blob, size) != MCAI_BLOB2_VERSION) {
		/* v1, or refused by mcai_verify() */
		*bytes = mcai_model_v1_state(size);
		return 0;
	}
	need = mcai_graph_state_size(blob, size, lim, v);
	if (!need)
		return -1;
	if (need > U32_MAX - MCAI_GRAPH_HDR) {
		v->reason = "graph state too large";
		v->offset = 0;
		return -1;
	}
	*bytes = need + MCAI_GRAPH_HDR;
	return 0;
}

/* The summary of a verified graph, as engine v1's fields mean it. */
static void mcai_model_from_graph(struct mcai_model *m,
				  const struct mcai_graph *g)
{
	const struct mcai_gtensor *in = &g->t[g->input[0]];
	const struct mcai_gtensor *out = &g->t[g->output[0]];

	memset(m, 0, sizeof(*m));
	m->blob = g->blob;
	m->blob_size = g->blob_size;
	memcpy(m->name, g->name, sizeof(m->name));
	m->version = g->version;
	m->n_layers = g->n_ops;
	m->input_len = g->tv_in_bytes;
	m->output_len = g->tv_out_bytes;
	m->arena_size = (g->arena_size + MCAI_MODEL_ALIGN - 1) &
			~(MCAI_MODEL_ALIGN - 1);
	m->input_scale = in->scale;
	m->output_scale = out->scale;
	m->input_zp = in->dtype == MCAI_DT_INT8 ? (s8)in->zp : 0;
	m->output_zp = out->dtype == MCAI_DT_INT8 ? (s8)out->zp : 0;
	m->head = g->head;
	m->head_threshold = g->head_threshold;
	m->tv_count = g->tv_count;
	m->tv = (const s8 *)g->tv;
	m->macs = g->macs;
	m->digest = g->digest;
	m->format = MCAI_BLOB2_VERSION;
	m->output_dtype = out->dtype;
	m->graph = g;
	if (g->head == MCAI_HEAD_THRESHOLD)
		m->n_classes = 2;
	else if (out->dtype == MCAI_DT_INT8)
		m->n_classes = out->bytes;
	else if (out->dtype == MCAI_DT_INT32)
		m->n_classes = out->bytes / 4;
	else
		m->n_classes = 1;	/* int16 outputs have no class */
}

int mcai_model_verify(struct mcai_model *m, const void *blob, u32 size,
		      const struct mcai_limits *lim, void *state,
		      u32 state_size, struct mcai_verdict *v)
{
	struct mcai_graph *g = state;

	if (mcai_blob_format(blob, size) != MCAI_BLOB2_VERSION) {
		if (mcai_verify(m, blob, size, lim, v))
			return -1;
		m->format = 1;
		m->output_dtype = MCAI_DT_INT8;
		m->graph = NULL;
		m->n_classes = m->head == MCAI_HEAD_THRESHOLD ? 2 :
			       m->output_len;
		if (state && state_size)
			mcai_model_v1_pack(m, state, state_size);
		m->state = state;
		return 0;
	}
	if (!state || state_size < MCAI_GRAPH_HDR) {
		v->reason = "no state for a v2 graph";
		v->offset = 0;
		return -1;
	}
	if (mcai_graph_verify(g, blob, size, lim, (u8 *)state + MCAI_GRAPH_HDR,
			      state_size - MCAI_GRAPH_HDR, v))
		return -1;
	mcai_model_from_graph(m, g);
	m->state = state;
	return 0;
}

int mcai_model_run(const struct mcai_model *m, const void *input,
		   void *scores, void *arena)
{
	if (m->graph)
		return mcai_graph_run_bytes(m->graph, arena, input, scores);
	return mcai_engine_run(m, input, scores, arena);
}

static size_t mcai_model_record(const struct mcai_model *m)
{
	return (size_t)m->input_len + m->output_len;
}

int mcai_model_check_vector(const struct mcai_model *m, u32 t, void *arena,
			    void *scores)
{
	const u8 *rec = (const u8 *)m->tv + t * mcai_model_record(m);

	mcai_model_run(m, rec, scores, arena);
	return memcmp(scores, rec + m->input_len, m->output_len) ? -1 : 0;
}

u32 mcai_model_vector_offset(const struct mcai_model *m, u32 t)
{
	return (u32)((const u8 *)m->tv - m->blob) +
	       (u32)(t * mcai_model_record(m));
}
