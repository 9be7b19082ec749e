// SPDX-License-Identifier: GPL-2.0
/*
 * The SIMD kernels (models/engine/simd.h) against the scalar reference
 * kernels, bit for bit: every path this CPU runs, over random shapes
 * (every remainder of the vector widths and of the im2col chunk, 1x1,
 * single channels, groups, channel multipliers, stride, padding,
 * dilation, batches) and over every shipped model (models/ and
 * models/mlperf-tiny/), test vectors and random inputs.  A path
 * the CPU lacks is skipped with a message.  The dispatch itself: names,
 * refusals, and that models packed for one path run scalar under another.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "models/engine/graph.h"
#include "models/engine/model.h"
#include "models/engine/simd.h"
#include "models/train/writer.h"

/*
 * The AVX-VNNI kernels built a second time with the EVEX-encoded
 * vpdpbusd (op_conv_avxvnni.c, tests/unit/unit.mk), run as the avxvnni
 * path (mcai_simd_stand_in()) where the CPU has AVX-512 VNNI: every
 * case below runs for it as for the real paths, so the AVX-VNNI
 * kernels' logic (packing, corrections, remainders) is tested on CPUs
 * without AVX-VNNI; only the VEX encoding of that one instruction is not.
 */
#define PATH_AVXVNNI_EVEX MCAI_SIMD_NR_PATHS

static const int paths[] = {
	MCAI_SIMD_AVX2, MCAI_SIMD_AVX512VNNI, MCAI_SIMD_AVXVNNI,
	PATH_AVXVNNI_EVEX, MCAI_SIMD_NEON, MCAI_SIMD_DOTPROD,
};
#define N_PATHS (sizeof(paths) / sizeof(paths[0]))

/* Whether the EVEX build stands in for the avxvnni path now. */
static bool evex_on;

/* The engine's path a paths[] entry runs as. */
static enum mcai_simd_path real_path(int p)
{
	return p == PATH_AVXVNNI_EVEX ? MCAI_SIMD_AVXVNNI :
	       (enum mcai_simd_path)p;
}

static const char *path_name(int p)
{
	return p == PATH_AVXVNNI_EVEX ? "avxvnni-evex" :
	       mcai_simd_name((enum mcai_simd_path)p);
}

/* The active path's name, the EVEX stand-in's own when it runs. */
static const char *active_name(void)
{
	enum mcai_simd_path a = mcai_simd_active();

	return evex_on && a == MCAI_SIMD_AVXVNNI ? "avxvnni-evex" :
	       mcai_simd_name(a);
}

/* Only the real paths from here on (the stand-in gone). */
static void stand_in_off(void)
{
#ifdef __x86_64__
	mcai_simd_stand_in(MCAI_SIMD_AVXVNNI, NULL);
#endif
	evex_on = false;
}

/* Make @p the active path, or say why not and return false. */
static bool use_path(int p)
{
	stand_in_off();
	if (p == PATH_AVXVNNI_EVEX) {
#ifdef __x86_64__
		if (mcai_simd_supported(MCAI_SIMD_AVX512VNNI)) {
			mcai_simd_stand_in(MCAI_SIMD_AVXVNNI,
					   &mcai_simd_avxvnni_evex);
			evex_on = true;
		}
#endif
		if (!evex_on) {
			printf("simd: avxvnni-evex: no AVX-512 VNNI on this CPU, skipped\n");
			return false;
		}
	}
	if (mcai_simd_set(real_path(p))) {
		printf("simd: %s: not supported by this CPU, skipped\n",
		       path_name(p));
		return false;
	}
	return true;
}

static s32 *rnd_words(uint64_t *seed, u32 n, s32 lo, s32 hi)
{
	s32 *w = unit_xmalloc(4ULL * n);
	u32 i;

	for (i = 0; i < n; i++)
		w[i] = lo + (s32)(unit_rnd(seed) % (uint64_t)((s64)hi - lo + 1));
	return w;
}

static s8 *rnd_bytes(uint64_t *seed, size_t n, bool weights)
{
	s8 *b = unit_xmalloc(n);
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = weights ? unit_rnd_w(seed) : unit_rnd_s8(seed);
	return b;
}

/* Multipliers and shifts that spread outputs over the int8 range. */
static void rnd_requant(uint64_t *seed, u32 n, s32 **mult, s32 **shift)
{
	*mult = rnd_words(seed, n, 1 << 30, S32_MAX);
	*shift = rnd_words(seed, n, -14, -4);
}

/* ------------------------------------------------------------------ */

static void fc_case(uint64_t *seed, u32 batch, u32 in_len, u32 out_len)
{
	struct mcai_fc_params p = {
		.batch = batch, .in_len = in_len, .out_len = out_len,
		.in_zp = unit_rnd_in(seed, -128, 127),
		.out_zp = unit_rnd_in(seed, -128, 127),
		.act_min = -128, .act_max = 127,
	};
	s8 *in = rnd_bytes(seed, (size_t)batch * in_len, false);
	s8 *w = rnd_bytes(seed, (size_t)in_len * out_len, true);
	/* a bias large enough to saturate sometimes */
	s32 *bias = rnd_words(seed, out_len, -(1 << 22), 1 << 22);
	s8 *ref = unit_xmalloc((size_t)batch * out_len);
	s8 *out = unit_xmalloc((size_t)batch * out_len);
	struct mcai_pack pk;
	s32 *mult, *shift;
	bool nobias = unit_rnd32(seed) % 4 == 0;
	u64 room = mcai_simd_pack_bytes_for(out_len, in_len);
	void *mem = unit_xmalloc(room);

	if (unit_rnd32(seed) % 3 == 0) {
		p.act_min = 0;
		p.act_max = (s8)unit_rnd_in(seed, 0, 127);
	}
	rnd_requant(seed, out_len, &mult, &shift);
	p.mult = mult;
	p.shift = shift;
	EXPECT(!mcai_fc_check(&p), "fc %u x %u: check refused", in_len,
	       out_len);
	mcai_fully_connected(&p, in, w, nobias ? NULL : bias, ref);
	EXPECT(mcai_simd_pack(&pk, w, out_len, in_len, 1, p.in_zp, mem,
			      (u32)room) == room,
	       "fc %u x %u: packing failed", in_len, out_len);
	memset(out, 0x5a, (size_t)batch * out_len);
	EXPECT(mcai_simd_fc(&p, &pk, in, nobias ? NULL : bias, out),
	       "fc %u x %u: the %s path declined", in_len, out_len,
	       active_name());
	EXPECT(!memcmp(out, ref, (size_t)batch * out_len),
	       "fc batch %u, %u x %u, zp %d: %s differs from scalar", batch,
	       in_len, out_len, p.in_zp, active_name());
	free(in);
	free(w);
	free(bias);
	free(ref);
	free(out);
	free(mult);
	free(shift);
	free(mem);
}

START_TEST(test_simd_fc)
{
	static const u32 lens[] = {
		1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
		127, 128, 129, 511, 512, 513, 784, 1025,
	};
	static const u32 outs[] = {
		1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100,
		128, 130, 256,
	};
	uint64_t seed = 0x5eed5171dULL;
	u32 k, i, j, n = 0;

	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			for (j = 0; j < sizeof(outs) / sizeof(outs[0]); j++, n++)
				fc_case(&seed, 1 + (i + j) % 3, lens[i],
					outs[j]);
	}
	printf("simd: fc: %u cases bit-exact\n", n);
}
END_TEST

/* ------------------------------------------------------------------ */

struct conv_shape {
	u32 in_h, in_w, in_c, out_c, k_h, k_w, stride, dil, pad, groups;
};

/* Random valid conv2d (or depthwise) params; false if the shape is empty. */
static bool conv_params(uint64_t *seed, const struct conv_shape *s,
			bool dw, struct mcai_conv_params *p)
{
	memset(p, 0, sizeof(*p));
	p->batch = 1 + unit_rnd32(seed) % 2;
	p->in_h = s->in_h;
	p->in_w = s->in_w;
	p->in_c = s->in_c;
	p->out_c = s->out_c;
	p->k_h = s->k_h;
	p->k_w = s->k_w;
	p->stride_h = s->stride;
	p->stride_w = 1 + (s->stride + 1) % 2;
	p->dil_h = s->dil;
	p->dil_w = 1 + unit_rnd32(seed) % 2;
	p->pad_top = s->pad;
	p->pad_left = unit_rnd32(seed) % s->k_w;
	p->pad_bottom = unit_rnd32(seed) % s->k_h;
	p->pad_right = s->pad;
	p->groups = dw ? 1 : s->groups;
	p->in_zp = unit_rnd_in(seed, -128, 127);
	p->out_zp = unit_rnd_in(seed, -128, 127);
	p->act_min = -128;
	p->act_max = 127;
	p->out_h = mcai_op_out_dim(p->in_h, p->k_h, p->stride_h, p->dil_h,
				   p->pad_top, p->pad_bottom);
	p->out_w = mcai_op_out_dim(p->in_w, p->k_w, p->stride_w, p->dil_w,
				   p->pad_left, p->pad_right);
	return p->out_h && p->out_w;
}

static void conv_case(uint64_t *seed, const struct conv_shape *s, bool dw,
		      bool conv1d, u32 *n)
{
	struct mcai_conv_params p;
	size_t in_len, out_len, f_len;
	s8 *in, *f, *ref, *out;
	s32 *bias, *mult, *shift;
	struct mcai_pack pk;
	u32 k;
	u64 room;
	void *mem;
	bool done;

	if (!conv_params(seed, s, dw, &p))
		return;
	if (conv1d) {
		p.in_h = p.out_h = p.k_h = p.stride_h = p.dil_h = 1;
		p.pad_top = p.pad_bottom = 0;
	}
	rnd_requant(seed, p.out_c, &mult, &shift);
	p.mult = mult;
	p.shift = shift;
	EXPECT(!(dw ? mcai_depthwise_check(&p) : mcai_conv2d_check(&p)),
	       "conv: check refused the case");
	k = p.k_h * p.k_w * (dw ? 1 : p.in_c / p.groups);
	in_len = (size_t)p.batch * p.in_h * p.in_w * p.in_c;
	out_len = (size_t)p.batch * p.out_h * p.out_w * p.out_c;
	f_len = (size_t)p.out_c * p.k_h * p.k_w *
		(dw ? 1 : p.in_c / p.groups);
	in = rnd_bytes(seed, in_len, false);
	f = rnd_bytes(seed, f_len, true);
	bias = rnd_words(seed, p.out_c, -(1 << 20), 1 << 20);
	ref = unit_xmalloc(out_len);
	out = unit_xmalloc(out_len);
	memset(out, 0x5a, out_len);
	if (dw) {
		mcai_depthwise_conv2d(&p, in, f, bias, ref);
		done = mcai_simd_depthwise(&p, in, f, bias, out);
		/* a multiplier is the reference's to do */
		EXPECT(done == (p.out_c == p.in_c),
		       "depthwise: %s %s a multiplier of %u",
		       active_name(),
		       done ? "took" : "declined", p.out_c / p.in_c);
		if (!done)
			mcai_depthwise_conv2d(&p, in, f, bias, out);
		mem = NULL;
	} else {
		if (conv1d)
			mcai_conv1d(&p, in, f, bias, ref);
		else
			mcai_conv2d(&p, in, f, bias, ref);
		room = mcai_simd_pack_bytes_for(p.out_c, k);
		mem = unit_xmalloc(room);
		EXPECT(mcai_simd_pack(&pk, f, p.out_c, k, p.groups, p.in_zp,
				      mem, (u32)room) == room,
		       "conv: packing failed");
		EXPECT(mcai_simd_conv2d(&p, &pk, in, bias, out),
		       "conv: the %s path declined",
		       active_name());
	}
	EXPECT(!memcmp(out, ref, out_len),
	       "%s %ux%ux%u -> %u, k %ux%u, stride %u/%u, dil %u/%u, pad "
	       "%u/%u/%u/%u, groups %u: %s differs from scalar",
	       dw ? "depthwise" : conv1d ? "conv1d" : "conv2d", p.in_h,
	       p.in_w, p.in_c, p.out_c, p.k_h, p.k_w, p.stride_h, p.stride_w,
	       p.dil_h, p.dil_w, p.pad_top, p.pad_left, p.pad_bottom,
	       p.pad_right, p.groups, active_name());
	(*n)++;
	free(in);
	free(f);
	free(bias);
	free(ref);
	free(out);
	free(mult);
	free(shift);
	free(mem);
}

/* A random shape; @big: an im2col longer than one chunk. */
static void rnd_shape(uint64_t *seed, bool big, struct conv_shape *s)
{
	static const u32 chans[] = {
		1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48,
		63, 64, 65, 100,
	};
	const u32 nc = sizeof(chans) / sizeof(chans[0]);

	s->in_h = 1 + unit_rnd32(seed) % 7;
	s->in_w = 1 + unit_rnd32(seed) % 7;
	s->in_c = big ? 130 + unit_rnd32(seed) % 200 : chans[unit_rnd32(seed) % nc];
	s->out_c = chans[unit_rnd32(seed) % nc];
	s->k_h = 1 + unit_rnd32(seed) % 3;
	s->k_w = 1 + unit_rnd32(seed) % 3;
	s->stride = 1 + unit_rnd32(seed) % 2;
	s->dil = 1 + unit_rnd32(seed) % 2;
	s->pad = unit_rnd32(seed) % s->k_h;
	if (s->pad >= s->k_w)
		s->pad = s->k_w - 1;
	s->groups = 1;
	if (unit_rnd32(seed) % 4 == 0) {
		u32 g = 1 + unit_rnd32(seed) % 4;

		s->groups = g;
		s->in_c = g * (1 + s->in_c / g);
		s->out_c = g * (1 + s->out_c / g);
	}
}

START_TEST(test_simd_conv2d)
{
	uint64_t seed = 0xc0417e57ULL;
	struct conv_shape s;
	u32 k, i, n = 0;

	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		for (i = 0; i < 400; i++) {
			rnd_shape(&seed, i % 10 == 9, &s);
			conv_case(&seed, &s, false, false, &n);
		}
		for (i = 0; i < 150; i++) {
			rnd_shape(&seed, i % 10 == 9, &s);
			conv_case(&seed, &s, false, true, &n);
		}
		/* 1x1, single channel, and a pointwise layer */
		s = (struct conv_shape){ 1, 1, 1, 1, 1, 1, 1, 1, 0, 1 };
		conv_case(&seed, &s, false, false, &n);
		s = (struct conv_shape){ 5, 5, 1, 1, 3, 3, 1, 1, 1, 1 };
		conv_case(&seed, &s, false, false, &n);
		s = (struct conv_shape){ 6, 6, 64, 128, 1, 1, 1, 1, 0, 1 };
		conv_case(&seed, &s, false, false, &n);
		/*
		 * first layers (1 and 3 channels, gathered four pixels at
		 * a time), and windows gathered in chunks for each block
		 * of more than 64 channels
		 */
		s = (struct conv_shape){ 10, 10, 1, 16, 3, 3, 1, 1, 1, 1 };
		conv_case(&seed, &s, false, false, &n);
		s = (struct conv_shape){ 9, 11, 3, 8, 3, 3, 2, 1, 1, 1 };
		conv_case(&seed, &s, false, false, &n);
		s = (struct conv_shape){ 6, 7, 200, 100, 3, 3, 1, 1, 1, 1 };
		conv_case(&seed, &s, false, false, &n);
		s = (struct conv_shape){ 6, 7, 130, 70, 3, 2, 1, 2, 1, 1 };
		conv_case(&seed, &s, false, false, &n);
		/*
		 * rows copied into a band with their padding first (the
		 * shipped models' shapes, smaller): whole kr-tap rows read
		 * in place from it, first layers' windows copied from it,
		 * a band too large for the stack (the old way)
		 */
		for (i = 0; i < 4; i++) {
			s = (struct conv_shape){ 14, 14, 16, 32, 3, 3, 1, 1, 1, 1 };
			conv_case(&seed, &s, false, false, &n);
			s = (struct conv_shape){ 28, 28, 1, 16, 3, 3, 1, 1, 1, 1 };
			conv_case(&seed, &s, false, false, &n);
			s = (struct conv_shape){ 21, 20, 3, 8, 3, 3, 2, 1, 0, 1 };
			conv_case(&seed, &s, false, false, &n);
			s = (struct conv_shape){ 19, 10, 1, 64, 10, 4, 2, 1, 4, 1 };
			conv_case(&seed, &s, false, false, &n);
			s = (struct conv_shape){ 9, 8, 3, 16, 3, 3, 1, 2, 2, 1 };
			conv_case(&seed, &s, false, false, &n);
			s = (struct conv_shape){ 8, 8, 64, 64, 3, 3, 1, 1, 1, 1 };
			conv_case(&seed, &s, false, false, &n);
			s = (struct conv_shape){ 10, 9, 16, 24, 2, 2, 1, 1, 1, 1 };
			conv_case(&seed, &s, false, false, &n);
		}
	}
	printf("simd: conv2d and conv1d: %u cases bit-exact\n", n);
}
END_TEST

START_TEST(test_simd_depthwise)
{
	uint64_t seed = 0xd3b7415eULL;
	struct conv_shape s;
	u32 k, i, n = 0;

	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		for (i = 0; i < 400; i++) {
			rnd_shape(&seed, false, &s);
			/* a channel multiplier in one case of four */
			s.out_c = s.in_c * (i % 4 ? 1 : 1 + i % 3);
			conv_case(&seed, &s, true, false, &n);
		}
		s = (struct conv_shape){ 1, 1, 1, 1, 1, 1, 1, 1, 0, 1 };
		conv_case(&seed, &s, true, false, &n);
		/* windows past the x86 tap list (32 taps) and at its size */
		s = (struct conv_shape){ 9, 8, 40, 40, 7, 5, 1, 1, 3, 1 };
		conv_case(&seed, &s, true, false, &n);
		s = (struct conv_shape){ 12, 20, 24, 24, 4, 8, 2, 1, 2, 1 };
		conv_case(&seed, &s, true, false, &n);
		s = (struct conv_shape){ 14, 14, 17, 17, 6, 6, 1, 2, 3, 1 };
		conv_case(&seed, &s, true, false, &n);
		/*
		 * runs of pixels inside the image, four to a dw4() call,
		 * and the edges around them: VWW's and KWS's shapes (8 to
		 * 64 channels, stride 1 and 2, padded and not), 16 + 8 + a
		 * few channels, a dilated row
		 */
		for (i = 0; i < 3; i++) {
			s = (struct conv_shape){ 12, 12, 64, 64, 3, 3, 1, 1, 1, 1 };
			conv_case(&seed, &s, true, false, &n);
			s = (struct conv_shape){ 13, 13, 16, 16, 3, 3, 2, 1, 0, 1 };
			conv_case(&seed, &s, true, false, &n);
			s = (struct conv_shape){ 11, 10, 8, 8, 3, 3, 1, 1, 1, 1 };
			conv_case(&seed, &s, true, false, &n);
			s = (struct conv_shape){ 25, 5, 64, 64, 3, 3, 1, 1, 1, 1 };
			conv_case(&seed, &s, true, false, &n);
			s = (struct conv_shape){ 9, 15, 27, 27, 3, 3, 1, 1, 1, 1 };
			conv_case(&seed, &s, true, false, &n);
			s = (struct conv_shape){ 10, 17, 40, 40, 3, 2, 1, 2, 1, 1 };
			conv_case(&seed, &s, true, false, &n);
		}
	}
	printf("simd: depthwise: %u cases bit-exact\n", n);
}
END_TEST

/* ------------------------------------------------------------------ */

/* A blob loaded through mcai_model_verify() under the active path. */
struct loaded {
	struct mcai_model m;
	void *state, *arena;
};

static void load(struct loaded *l, const u8 *blob, u32 size)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	u32 need;

	mcai_limits_widest(&lim);
	ck_assert_int_eq(mcai_model_state_size(blob, size, &lim, &need, &v), 0);
	l->state = need ? unit_xmalloc(need) : NULL;
	EXPECT(!mcai_model_verify(&l->m, blob, size, &lim, l->state, need, &v),
	       "model refused: %s", v.reason);
	l->arena = unit_xmalloc(l->m.arena_size + 8);
}

static void unload(struct loaded *l)
{
	free(l->state);
	free(l->arena);
}

/* Ops (v2) or layers (v1) packed for the active path. */
static u32 packed(const struct loaded *l)
{
	u32 i, n = 0;

	if (l->m.graph) {
		for (i = 0; i < l->m.graph->n_ops; i++)
			n += mcai_simd_usable(&l->m.graph->op[i].pack);
		return n;
	}
	for (i = 0; i < l->m.n_layers; i++)
		n += l->m.layer[i].pk && mcai_simd_usable(l->m.layer[i].pk);
	return n;
}

/* Ops a SIMD path packs: FC, conv2d (and conv1d as conv2d), v1 FC layers. */
static u32 packable(const struct loaded *l)
{
	u32 i, n = 0;

	if (l->m.graph) {
		for (i = 0; i < l->m.graph->n_ops; i++)
			n += l->m.graph->op[i].type == MCAI_OP_FC ||
			     l->m.graph->op[i].type == MCAI_OP_CONV2D;
		return n;
	}
	for (i = 0; i < l->m.n_layers; i++)
		n += l->m.layer[i].type == MCAI_LAYER_FC;
	return n;
}

static void model_case(const char *file, u32 *n)
{
	uint64_t seed = 0x30de1ULL;
	char err[256];
	u32 size, k, r, t;
	u8 *blob = mcai_blob_read(file, 64U << 20, &size, err, sizeof(err));
	struct loaded ref, simd;
	u8 *in, *want, *have;

	EXPECT(blob, "%s", err);
	mcai_simd_set(MCAI_SIMD_OFF);
	load(&ref, blob, size);
	in = unit_xmalloc(ref.m.input_len);
	want = unit_xmalloc(ref.m.output_len);
	have = unit_xmalloc(ref.m.output_len);
	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		load(&simd, blob, size);
		/* a tree ensemble has nothing to pack */
		EXPECT(!packable(&simd) || packed(&simd) > 0,
		       "%s: nothing packed for %s", file,
		       path_name(paths[k]));
		for (t = 0; t < simd.m.tv_count; t++)
			EXPECT(!mcai_model_check_vector(&simd.m, t, simd.arena,
							have),
			       "%s: %s fails test vector %u", file,
			       path_name(paths[k]), t);
		for (r = 0; r < 16; r++) {
			for (t = 0; t < ref.m.input_len; t++)
				in[t] = (u8)unit_rnd_s8(&seed);
			/* a v2 graph's int16 inputs: any bytes are valid */
			mcai_simd_set(MCAI_SIMD_OFF);
			mcai_model_run(&ref.m, in, want, ref.arena);
			mcai_simd_set(real_path(paths[k]));
			mcai_model_run(&simd.m, in, have, simd.arena);
			EXPECT(!memcmp(want, have, ref.m.output_len),
			       "%s: %s differs from scalar on input %u", file,
			       path_name(paths[k]), r);
		}
		printf("simd: %s: %s bit-exact (%u ops packed, %u vectors, "
		       "16 random inputs)\n", file, path_name(paths[k]),
		       packed(&simd), simd.m.tv_count);
		unload(&simd);
		(*n)++;
	}
	unload(&ref);
	free(in);
	free(want);
	free(have);
	free(blob);
}

START_TEST(test_simd_models)
{
	glob_t gl;
	u32 i, n = 0;

	memset(&gl, 0, sizeof(gl));
	glob("models/*.mcai", 0, NULL, &gl);
	glob("models/mlperf-tiny/*.mcai", GLOB_APPEND, NULL, &gl);
	ck_assert_uint_ge(gl.gl_pathc, 7);
	for (i = 0; i < gl.gl_pathc; i++)
		model_case(gl.gl_pathv[i], &n);
	printf("simd: %zu shipped models, %u model x path runs bit-exact\n",
	       gl.gl_pathc, n);
	globfree(&gl);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Words that reach every branch of requant.h: the ends, ties, signs. */
static s32 edge_word(uint64_t *seed)
{
	static const s32 fixed[] = {
		S32_MIN, S32_MIN + 1, -(1 << 30) - 1, -(1 << 30), -65536, -3,
		-2, -1, 0, 1, 2, 3, 65535, 1 << 30, (1 << 30) + 1,
		S32_MAX - 1, S32_MAX,
	};
	u64 r = unit_rnd(seed);

	switch (r % 4) {
	case 0:
		return fixed[(r >> 8) % (sizeof(fixed) / sizeof(fixed[0]))];
	case 1:		/* an odd multiple of a power of two: a tie somewhere */
		return (s32)((u32)((r >> 8) % 255 * 2 + 1) << ((r >> 20) % 24)) *
		       ((r >> 40) & 1 ? -1 : 1);
	case 2:
		return (s32)(r >> 16) % 5000;
	default:
		return (s32)(u32)(r >> 16);
	}
}

/* Random or extreme multipliers, including the saturating S32_MIN. */
static s32 edge_mult(uint64_t *seed)
{
	static const s32 fixed[] = {
		0, 1, 2, 1 << 30, (1 << 30) + 1, S32_MAX - 1, S32_MAX, S32_MIN,
	};
	u64 r = unit_rnd(seed);

	if (r % 3 == 0)
		return fixed[(r >> 8) % (sizeof(fixed) / sizeof(fixed[0]))];
	return (s32)((r >> 16) & S32_MAX);
}

/* The vector output stage against mcai_op_out8(), element by element. */
static u64 out8_case(uint64_t *seed, u32 n, bool bias_on)
{
	s32 acc[80], bias[80], mult[80], shift[80];
	s8 out[80], want;
	struct mcai_simd_outq q;
	u64 r = unit_rnd(seed);
	u32 i;

	q.out_zp = (s32)(r % 256) - 128;
	q.lo = (s8)(r >> 8);
	q.hi = (s8)(r >> 16);
	if ((r >> 24) % 4 == 0) {	/* the full range, as most layers */
		q.lo = -128;
		q.hi = 127;
	}
	for (i = 0; i < n; i++) {
		acc[i] = edge_word(seed);
		bias[i] = edge_word(seed);
		mult[i] = edge_mult(seed);
		shift[i] = (s32)(unit_rnd(seed) % 62) - 31;
	}
	q.bias = bias_on ? bias : NULL;
	q.mult = mult;
	q.shift = shift;
	memset(out, 0x5a, sizeof(out));
	ck_assert(mcai_simd_begin());
	mcai_simd_out8(&q, acc, n, out);
	mcai_simd_end();
	for (i = 0; i < n; i++) {
		want = mcai_op_out8(acc[i], bias_on ? bias[i] : 0, mult[i],
				    shift[i], q.out_zp, q.lo, q.hi);
		if (out[i] != want)
			ck_abort_msg("out8 %s: acc %d bias %d mult %d shift %d zp %d [%d, %d]: %d, want %d",
				     active_name(), acc[i],
				     bias_on ? bias[i] : 0, mult[i], shift[i],
				     q.out_zp, q.lo, q.hi, out[i], want);
	}
	/* nothing written past n */
	for (; i < 80; i++)
		ck_assert_int_eq(out[i], 0x5a);
	return n;
}

START_TEST(test_simd_out8)
{
	uint64_t seed = 16;
	u64 total = 0;
	u32 k, it;

	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		for (it = 0; it < 40000; it++)
			total += out8_case(&seed, 1 + it % 72, it % 5 != 0);
	}
	mcai_simd_set(MCAI_SIMD_OFF);
	printf("simd: output stage, %llu channels bit-exact\n",
	       (unsigned long long)total);
}
END_TEST

/*
 * The output stage of several pixels (mcai_simd_out8n()) against
 * mcai_op_out8(): strides wider than the channels, 1 to 4 pixels,
 * multipliers >= 0 (what the check lets through), with and without a
 * bound on the accumulators; where there is one, the accumulators stay
 * inside it and the biases are random or at the edges, so that blocks
 * go both ways (with and without the saturation steps).
 */
static u64 out8n_case(uint64_t *seed, u32 n, u32 np, bool bias_on)
{
	enum { AS = 80, OS = 83 };
	s32 acc[4 * AS], bias[AS], mult[AS], shift[AS];
	s8 out[4 * OS], want;
	struct mcai_simd_outq q;
	u64 r = unit_rnd(seed);
	u32 i, p;

	memset(&q, 0, sizeof(q));
	q.out_zp = (s32)(r % 256) - 128;
	q.lo = (s8)(r >> 8);
	q.hi = (s8)(r >> 16);
	if ((r >> 24) % 4 == 0) {
		q.lo = -128;
		q.hi = 127;
	}
	if ((r >> 28) % 3)
		q.acc_max = mcai_simd_acc_max(1 + (u32)(r >> 32) % 4608);
	for (i = 0; i < n; i++) {
		bias[i] = (r >> 30) & 1 ? edge_word(seed) :
			  (s32)(unit_rnd(seed) >> 40) - (1 << 23);
		mult[i] = edge_mult(seed);
		if (mult[i] < 0)
			mult[i] = S32_MAX;
		shift[i] = (s32)(unit_rnd(seed) % 62) - 31;
		if ((r >> 34) & 1)	/* a layer of right shifts only */
			shift[i] = -(shift[i] < 0 ? -shift[i] : shift[i]);
	}
	for (p = 0; p < np; p++)
		for (i = 0; i < n; i++) {
			s32 a = edge_word(seed);

			if (q.acc_max && (a > (s32)q.acc_max ||
					  a < -(s32)q.acc_max))
				a %= (s32)q.acc_max + 1;
			acc[p * AS + i] = a;
		}
	q.bias = bias_on ? bias : NULL;
	q.mult = mult;
	q.shift = shift;
	memset(out, 0x5a, sizeof(out));
	ck_assert(mcai_simd_begin());
	mcai_simd_out8n(&q, acc, AS, np, n, out, OS);
	mcai_simd_end();
	for (p = 0; p < 4; p++)
		for (i = 0; i < OS; i++) {
			s8 got = out[p * OS + i];

			if (p >= np || i >= n) {	/* nothing else written */
				ck_assert_int_eq(got, 0x5a);
				continue;
			}
			want = mcai_op_out8(acc[p * AS + i],
					    bias_on ? bias[i] : 0, mult[i],
					    shift[i], q.out_zp, q.lo, q.hi);
			if (got != want)
				ck_abort_msg("out8n %s: pixel %u acc %d bias %d mult %d shift %d zp %d [%d, %d] max %u: %d, want %d",
					     active_name(),
					     p, acc[p * AS + i],
					     bias_on ? bias[i] : 0, mult[i],
					     shift[i], q.out_zp, q.lo, q.hi,
					     q.acc_max, got, want);
		}
	return (u64)n * np;
}

START_TEST(test_simd_out8n)
{
	uint64_t seed = 17;
	u64 total = 0;
	u32 k, it;

	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		for (it = 0; it < 20000; it++)
			total += out8n_case(&seed, 1 + it % 72, 1 + it / 72 % 4,
					    it % 5 != 0);
	}
	mcai_simd_set(MCAI_SIMD_OFF);
	printf("simd: output stage of several pixels, %llu outputs bit-exact\n",
	       (unsigned long long)total);
}
END_TEST

/* ------------------------------------------------------------------ */

/*
 * The vector add against the scalar one: random parameters within
 * mcai_add_check()'s bounds (extreme multipliers and shifts included),
 * every length's tail, in place, and broadcasting (which stays scalar).
 */
static u64 add_case(uint64_t *seed, u32 n, u32 how)
{
	struct mcai_add_params p;
	s8 *a = rnd_bytes(seed, n + 1, false), *b = rnd_bytes(seed, n, false);
	s8 *want = unit_xmalloc(n + 8), *got = unit_xmalloc(n + 8);
	const s8 *in1 = a, *in2 = b;
	enum mcai_simd_path path = mcai_simd_active();
	u32 i;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < 4; i++)
		p.in1[i] = p.in2[i] = p.out[i] = 1;
	p.in1[3] = p.in2[3] = p.out[3] = n;
	if (how == 2 && n > 1)	/* in2 broadcast along the channels */
		p.in2[3] = 1;
	p.in1_zp = unit_rnd_s8(seed);
	p.in2_zp = unit_rnd_s8(seed);
	p.out_zp = unit_rnd_s8(seed);
	p.left_shift = unit_rnd32(seed) % 4 ? 20 : (s32)(unit_rnd32(seed) % 21);
	p.in1_mult = edge_mult(seed);
	p.in2_mult = edge_mult(seed);
	p.out_mult = edge_mult(seed);
	if (p.in1_mult < 0)
		p.in1_mult = S32_MAX;
	if (p.in2_mult < 0)
		p.in2_mult = 1 << 30;
	if (p.out_mult < 0)
		p.out_mult = S32_MAX - 1;
	p.in1_shift = -(s32)(unit_rnd32(seed) % 32);
	p.in2_shift = -(s32)(unit_rnd32(seed) % 32);
	p.out_shift = (s32)(unit_rnd32(seed) % 62) - 31;
	p.act_min = unit_rnd_s8(seed);
	p.act_max = unit_rnd_s8(seed);
	if (p.act_min > p.act_max || unit_rnd32(seed) % 3 == 0) {
		p.act_min = -128;
		p.act_max = 127;
	}
	ck_assert_msg(!mcai_add_check(&p), "add params: %s", mcai_add_check(&p));
	if (how == 1)		/* unaligned, and in place in the scalar run */
		in1 = a + 1;
	mcai_simd_set(MCAI_SIMD_OFF);
	memcpy(want, in1, n);
	mcai_add(&p, want, in2, want);
	ck_assert_int_eq(mcai_simd_set(path), 0);
	memset(got, 0x5a, n + 8);
	if (how == 1) {
		memcpy(got, in1, n);
		mcai_add(&p, got, in2, got);
	} else {
		mcai_add(&p, in1, in2, got);
	}
	if (memcmp(got, want, n)) {
		for (i = 0; i < n && got[i] == want[i]; i++)
			;
		ck_abort_msg("add %s, n %u, case %u: element %u: a %d b %d zp %d/%d/%d, mult %d/%d/%d, shift %d/%d/%d, lift %d: %d, want %d",
			     active_name(), n, how, i, in1[i],
			     in2[how == 2 ? 0 : i], p.in1_zp, p.in2_zp,
			     p.out_zp, p.in1_mult, p.in2_mult, p.out_mult,
			     p.in1_shift, p.in2_shift, p.out_shift,
			     p.left_shift, got[i], want[i]);
	}
	for (i = n; how != 1 && i < n + 8; i++)
		ck_assert_int_eq(got[i], 0x5a);
	free(a);
	free(b);
	free(want);
	free(got);
	return n;
}

START_TEST(test_simd_add)
{
	uint64_t seed = 17;
	u64 total = 0;
	u32 k, it;

	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		for (it = 0; it < 6000; it++)
			total += add_case(&seed, it % 7 == 6 ?
					  1 + unit_rnd32(&seed) % 5000 :
					  1 + it % 40, it % 3);
	}
	mcai_simd_set(MCAI_SIMD_OFF);
	printf("simd: add, %llu elements bit-exact\n",
	       (unsigned long long)total);
}
END_TEST

/*
 * One random max pooling (windows 1..4, strides, padding, clamps, channel
 * counts around 8 and 16) against mcai_max_pool2d(); the bytes after the
 * output must stay untouched.  Returns the outputs compared.
 */
static u32 max_pool_case(uint64_t *seed)
{
	static const u32 chans[] = { 1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32,
				     33, 64, 100 };
	struct mcai_pool_params p = { .batch = 1 + unit_rnd32(seed) % 2 };
	size_t in_len, out_len;
	s8 *in, *want, *got;
	u32 i;

	p.in_h = 1 + unit_rnd32(seed) % 9;
	p.in_w = 1 + unit_rnd32(seed) % 9;
	p.c = chans[unit_rnd32(seed) % (sizeof(chans) / sizeof(chans[0]))];
	p.k_h = 1 + unit_rnd32(seed) % 4;
	p.k_w = 1 + unit_rnd32(seed) % 4;
	p.stride_h = 1 + unit_rnd32(seed) % 3;
	p.stride_w = 1 + unit_rnd32(seed) % 3;
	p.pad_top = unit_rnd32(seed) % p.k_h;
	p.pad_bottom = unit_rnd32(seed) % p.k_h;
	p.pad_left = unit_rnd32(seed) % p.k_w;
	p.pad_right = unit_rnd32(seed) % p.k_w;
	p.out_h = mcai_op_out_dim(p.in_h, p.k_h, p.stride_h, 1, p.pad_top,
				  p.pad_bottom);
	p.out_w = mcai_op_out_dim(p.in_w, p.k_w, p.stride_w, 1, p.pad_left,
				  p.pad_right);
	p.act_min = unit_rnd32(seed) % 3 ? -128 : unit_rnd_s8(seed);
	p.act_max = unit_rnd32(seed) % 3 ? 127 : unit_rnd_s8(seed);
	if (p.act_min > p.act_max) {
		s8 t = p.act_min;

		p.act_min = p.act_max;
		p.act_max = t;
	}
	if (mcai_pool2d_check(&p))
		return 0;
	in_len = (size_t)p.batch * p.in_h * p.in_w * p.c;
	out_len = (size_t)p.batch * p.out_h * p.out_w * p.c;
	in = rnd_bytes(seed, in_len, false);
	want = unit_xmalloc(out_len);
	got = unit_xmalloc(out_len + 16);
	memset(got, 0x5a, out_len + 16);
	mcai_max_pool2d(&p, in, want);
	ck_assert(mcai_simd_max_pool2d(&p, in, got));
	if (memcmp(got, want, out_len)) {
		for (i = 0; i < out_len && got[i] == want[i]; i++)
			;
		ck_abort_msg("max pool %s: %ux%ux%u, k %ux%u, stride %u/%u, pad %u/%u/%u/%u, clamp %d..%d: output %u is %d, want %d",
			     active_name(), p.in_h, p.in_w, p.c, p.k_h,
			     p.k_w, p.stride_h, p.stride_w, p.pad_top,
			     p.pad_left, p.pad_bottom, p.pad_right, p.act_min,
			     p.act_max, i, got[i], want[i]);
	}
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(got[out_len + i], 0x5a);
	free(in);
	free(want);
	free(got);
	return (u32)out_len;
}

START_TEST(test_simd_max_pool)
{
	uint64_t seed = 0x9001;
	u64 total = 0;
	u32 k, it;

	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		for (it = 0; it < 3000; it++)
			total += max_pool_case(&seed);
	}
	mcai_simd_set(MCAI_SIMD_OFF);
	printf("simd: max pool, %llu outputs bit-exact\n",
	       (unsigned long long)total);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_simd_dispatch)
{
	enum mcai_simd_path best;
	u32 k;

	stand_in_off();
	best = mcai_simd_best();
	ck_assert_int_eq(mcai_simd_parse("auto"), best);
	ck_assert_int_eq(mcai_simd_parse(NULL), best);
	ck_assert_int_eq(mcai_simd_parse("off"), MCAI_SIMD_OFF);
	ck_assert_int_eq(mcai_simd_parse("sse9"), -1);
	ck_assert_int_eq(mcai_simd_select("sse9"), -1);
	ck_assert_int_eq(mcai_simd_select("off"), 0);
	ck_assert_int_eq(mcai_simd_active(), MCAI_SIMD_OFF);
	for (k = 0; k < MCAI_SIMD_NR_PATHS; k++) {
		const char *name = mcai_simd_name(k);

		ck_assert_ptr_nonnull(name);
		ck_assert_int_eq(mcai_simd_parse(name), k);
		/* a refused path changes nothing */
		ck_assert_int_eq(mcai_simd_select(name),
				 mcai_simd_supported(k) ? 0 : -1);
		ck_assert_int_eq(mcai_simd_active(),
				 mcai_simd_supported(k) ? k : MCAI_SIMD_OFF);
		mcai_simd_set(MCAI_SIMD_OFF);
	}
	ck_assert_ptr_null(mcai_simd_name(MCAI_SIMD_NR_PATHS));
	/* nothing packed, nothing to allocate, with SIMD off */
	ck_assert_uint_eq(mcai_simd_pack_bytes_for(100, 100), 0);
	printf("simd: best path on this CPU: %s\n", mcai_simd_name(best));
}
END_TEST

/*
 * The avxvnni path on a CPU without AVX-VNNI: refused by name, and the
 * EVEX stand-in makes it run only while registered, packing for the
 * avxvnni path with its panels (8 channels of 4 taps); the copies it
 * made are declined once it is gone.
 */
START_TEST(test_simd_avxvnni_stand_in)
{
	uint64_t seed = 0xe7e8;
	struct mcai_fc_params p = {
		.batch = 1, .in_len = 37, .out_len = 13, .in_zp = -7,
		.out_zp = 2, .act_min = -128, .act_max = 127,
	};
	s8 *w = rnd_bytes(&seed, 37 * 13, true), *in = rnd_bytes(&seed, 37, false);
	s8 want[13], got[13];
	struct mcai_pack pk;
	s32 *mult, *shift;
	void *mem;
	u32 room;

	rnd_requant(&seed, 13, &mult, &shift);
	p.mult = mult;
	p.shift = shift;
	stand_in_off();
	mcai_fully_connected(&p, in, w, NULL, want);
	if (!mcai_simd_supported(MCAI_SIMD_AVXVNNI)) {
		/* what MCAI_SIMD=avxvnni and simd=avxvnni meet here */
		ck_assert_int_eq(mcai_simd_select("off"), 0);
		ck_assert_int_eq(mcai_simd_select("avxvnni"), -1);
		ck_assert_int_eq(mcai_simd_active(), MCAI_SIMD_OFF);
		ck_assert(mcai_simd_best() != MCAI_SIMD_AVXVNNI);
		printf("simd: avxvnni refused on this CPU (no AVX-VNNI)\n");
	}
	if (!use_path(PATH_AVXVNNI_EVEX))
		goto out;
	ck_assert_int_eq(mcai_simd_active(), MCAI_SIMD_AVXVNNI);
	ck_assert_int_eq(mcai_simd_select("avxvnni"), 0);
	room = (u32)mcai_simd_pack_bytes_for(13, 37);
	mem = unit_xmalloc(room);
	ck_assert_uint_eq(mcai_simd_pack(&pk, w, 13, 37, 1, p.in_zp, mem, room),
			  room);
	ck_assert_int_eq(pk.path, MCAI_SIMD_AVXVNNI);
	ck_assert_int_eq(pk.nr, 8);
	ck_assert_int_eq(pk.kr, 4);
	ck_assert_uint_eq(pk.kp, 40);
	/* corr = -(128 + zp) * sum(w): the +128 of the u8 activations */
	{
		s32 sum = 0;
		u32 t;

		for (t = 0; t < 37; t++)
			sum += w[t];
		ck_assert_int_eq(pk.corr[0], -(128 + p.in_zp) * sum);
	}
	memset(got, 0x5a, sizeof(got));
	ck_assert(mcai_simd_fc(&p, &pk, in, NULL, got));
	ck_assert(!memcmp(got, want, sizeof(got)));
	stand_in_off();
	if (!mcai_simd_supported(MCAI_SIMD_AVXVNNI)) {
		ck_assert_int_eq(mcai_simd_set(MCAI_SIMD_AVXVNNI), -1);
		ck_assert_int_eq(mcai_simd_select("off"), 0);
		ck_assert(!mcai_simd_fc(&p, &pk, in, NULL, got));
	}
	free(mem);
	printf("simd: avxvnni-evex stands in for avxvnni only while registered\n");
out:
	stand_in_off();
	mcai_simd_set(MCAI_SIMD_OFF);
	free(w);
	free(in);
	free(mult);
	free(shift);
}
END_TEST

/* A layer packed for one path runs scalar under another, still exact. */
START_TEST(test_simd_path_change)
{
	uint64_t seed = 77;
	struct mcai_fc_params p = {
		.batch = 1, .in_len = 40, .out_len = 20, .in_zp = 3,
		.out_zp = -5, .act_min = -128, .act_max = 127,
	};
	struct mcai_pack pk;
	s32 *mult, *shift;
	s8 *w, *in;
	void *mem;
	s8 out[20];
	u32 k, j, tried = 0;

	w = rnd_bytes(&seed, 800, true);
	in = rnd_bytes(&seed, 40, false);
	rnd_requant(&seed, 20, &mult, &shift);
	p.mult = mult;
	p.shift = shift;
	for (k = 0; k < N_PATHS; k++) {
		if (!use_path(paths[k]))
			continue;
		mem = unit_xmalloc(mcai_simd_pack_bytes_for(20, 40));
		ck_assert_uint_gt(mcai_simd_pack(&pk, w, 20, 40, 1, p.in_zp, mem,
						 (u32)mcai_simd_pack_bytes_for(20, 40)),
				  0);
		/* too little room: no copy, the op runs scalar */
		ck_assert_uint_eq(mcai_simd_pack(&pk, w, 20, 40, 1, p.in_zp,
						 mem, 100), 0);
		ck_assert(!mcai_simd_fc(&p, &pk, in, NULL, out));
		ck_assert_uint_gt(mcai_simd_pack(&pk, w, 20, 40, 1, p.in_zp, mem,
						 (u32)mcai_simd_pack_bytes_for(20, 40)),
				  0);
		for (j = 0; j < N_PATHS; j++) {
			/* the stand-in is the avxvnni path: skip it too */
			if (real_path(paths[j]) == real_path(paths[k]) ||
			    mcai_simd_set(real_path(paths[j])))
				continue;
			ck_assert(!mcai_simd_fc(&p, &pk, in, NULL, out));
			tried++;
		}
		mcai_simd_set(MCAI_SIMD_OFF);
		ck_assert(!mcai_simd_fc(&p, &pk, in, NULL, out));
		free(mem);
	}
	printf("simd: %u cross-path uses declined\n", tried);
	free(w);
	free(in);
	free(mult);
	free(shift);
}
END_TEST

Suite *simd_suite(void)
{
	Suite *s = suite_create("simd");
	TCase *tc = tcase_create("simd");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_simd_dispatch);
	tcase_add_test(tc, test_simd_avxvnni_stand_in);
	tcase_add_test(tc, test_simd_path_change);
	tcase_add_test(tc, test_simd_out8);
	tcase_add_test(tc, test_simd_out8n);
	tcase_add_test(tc, test_simd_add);
	tcase_add_test(tc, test_simd_max_pool);
	tcase_add_test(tc, test_simd_fc);
	tcase_add_test(tc, test_simd_conv2d);
	tcase_add_test(tc, test_simd_depthwise);
	tcase_add_test(tc, test_simd_models);
	suite_add_tcase(s, tc);
	return s;
}
