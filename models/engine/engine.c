// SPDX-License-Identifier: GPL-2.0
/*
 * int8 inference: TFLite-style quantisation (symmetric per-channel int8
 * weights, asymmetric int8 activations, int32 bias, Q31 requantisation).
 * Layers ping-pong between the two halves of the arena; the last layer
 * writes straight into the caller's score buffer.
 */
#include "models/engine/engine.h"
#include "models/engine/requant.h"
#include "models/engine/simd.h"

static inline s8 mcai_clamp8(s64 v, s8 lo, s8 hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return (s8)v;
}

/*
 * The verifier bounds in_len by MCAI_MAX_DIM, |in - zp| <= 255 and
 * |w| <= 127, so the dot product cannot overflow an s32.  Four output rows
 * share each input load, which is what keeps the scalar loop fast.
 */
static void mcai_fc(const struct mcai_layer *l, const s8 *in, s8 *out)
{
	const u32 n = l->in_len;
	const s32 zp = l->in_zp;
	u32 o = 0, i;

	for (; o + 4 <= l->out_len; o += 4) {
		const s8 *w0 = l->weights + (size_t)o * n;
		const s8 *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
		s32 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
		u32 k;

		for (i = 0; i < n; i++) {
			s32 x = in[i] - zp;

			a0 += x * w0[i];
			a1 += x * w1[i];
			a2 += x * w2[i];
			a3 += x * w3[i];
		}
		for (k = 0; k < 4; k++) {
			s32 acc = k == 0 ? a0 : k == 1 ? a1 : k == 2 ? a2 : a3;
			u32 r = o + k;
			s32 v = mcai_sat32((s64)acc + mcai_les32(l->bias + 4 * r));

			v = mcai_requant(v, mcai_les32(l->mult + 4 * r),
					 mcai_les32(l->shift + 4 * r));
			out[r] = mcai_clamp8((s64)v + l->out_zp, l->clamp_min,
					     l->clamp_max);
		}
	}
	for (; o < l->out_len; o++) {
		const s8 *w = l->weights + (size_t)o * n;
		s32 acc = 0;
		s32 v;

		for (i = 0; i < n; i++)
			acc += (in[i] - zp) * w[i];
		v = mcai_sat32((s64)acc + mcai_les32(l->bias + 4 * o));
		v = mcai_requant(v, mcai_les32(l->mult + 4 * o),
				 mcai_les32(l->shift + 4 * o));
		out[o] = mcai_clamp8((s64)v + l->out_zp, l->clamp_min,
				     l->clamp_max);
	}
}

/* The output stage of mcai_fc() for channels the SIMD path computed. */
static void mcai_fc_simd_out(const void *ctx, u32 c0, u32 nch,
			     const s32 *acc, s8 *out)
{
	const struct mcai_layer *l = ctx;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* verify checked the arrays 4-aligned: le32 is s32 here */
	struct mcai_simd_outq q = {
		.bias = (const s32 *)l->bias + c0,
		.mult = (const s32 *)l->mult + c0,
		.shift = (const s32 *)l->shift + c0,
		.out_zp = l->out_zp, .lo = l->clamp_min, .hi = l->clamp_max,
	};

	mcai_simd_out8(&q, acc, nch, out + c0);
#else
	u32 i;

	for (i = 0; i < nch; i++) {
		u32 r = c0 + i;
		s32 v = mcai_sat32((s64)acc[i] + mcai_les32(l->bias + 4 * r));

		v = mcai_requant(v, mcai_les32(l->mult + 4 * r),
				 mcai_les32(l->shift + 4 * r));
		out[r] = mcai_clamp8((s64)v + l->out_zp, l->clamp_min,
				     l->clamp_max);
	}
#endif
}

/* The SIMD path, when the layer was packed for it and vectors are usable. */
static bool mcai_fc_simd(const struct mcai_layer *l, const s8 *in, s8 *out)
{
	u32 section = 0;
	bool done;

	if (!mcai_simd_usable(l->pk) || !mcai_simd_begin())
		return false;
	done = mcai_simd_fc_row(l->pk, in, l, mcai_fc_simd_out, out, &section);
	mcai_simd_end();
	return done;
}

static void mcai_lut_layer(const struct mcai_layer *l, const s8 *in, s8 *out)
{
	u32 i;

	for (i = 0; i < l->out_len; i++)
		out[i] = l->lut[(u8)(in[i] + 128)];
}

int mcai_engine_head(const struct mcai_model *m, const s8 *scores)
{
	u32 i, best = 0;

	if (m->head == MCAI_HEAD_THRESHOLD)
		return scores[0] >= m->head_threshold;
	for (i = 1; i < m->output_len; i++)
		if (scores[i] > scores[best])
			best = i;
	return (int)best;
}

int mcai_engine_run(const struct mcai_model *m, const s8 *input, s8 *scores,
		    void *arena)
{
	s8 *buf[2] = { arena, (s8 *)arena + m->arena_size / 2 };
	const s8 *src = input;
	u32 i;

	for (i = 0; i < m->n_layers; i++) {
		const struct mcai_layer *l = &m->layer[i];
		s8 *dst = i + 1 == m->n_layers ? scores : buf[i & 1];

		if (l->type != MCAI_LAYER_FC)
			mcai_lut_layer(l, src, dst);
		else if (!mcai_fc_simd(l, src, dst))
			mcai_fc(l, src, dst);
		src = dst;
	}
	return mcai_engine_head(m, scores);
}

int mcai_engine_check_vectors(const struct mcai_model *m, void *arena,
			      s8 *scores, u32 *failed)
{
	const u32 rec = m->input_len + m->output_len;
	u32 t;

	for (t = 0; t < m->tv_count; t++) {
		const s8 *tv = m->tv + (size_t)t * rec;

		mcai_engine_run(m, tv, scores, arena);
		if (memcmp(scores, tv + m->input_len, m->output_len)) {
			*failed = t;
			return -1;
		}
	}
	return 0;
}
