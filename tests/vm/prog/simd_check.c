// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space engine's SIMD paths against its scalar kernels, bit for
 * bit, where the Check unit tests (tests/unit/test_simd.c) cannot run:
 * in a guest, on a CPU the build host does not have (the arm64 guest's
 * Cortex-A53 and `max`).  For each path named (default: every path this
 * CPU runs): fully connected, conv2d, conv1d and depthwise over random
 * shapes (every remainder of the panel widths and quads, 1x1, single
 * channels, groups, channel multipliers, stride, padding, dilation,
 * im2col longer than one chunk) and max pooling where the path has it,
 * then every BLOB given, loaded for the path and for scalar: its test
 * vectors and random inputs.
 * Exit 0 pass, 1 fail, 77 when no path named runs here.
 *
 * usage: simd_check [--path P]... [BLOB...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/graph.h"
#include "models/engine/model.h"
#include "models/engine/simd.h"
#include "models/train/writer.h"
#include "report.h"

static u64 rnd(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static s32 rnd_in(u64 *s, s32 lo, s32 hi)
{
	return lo + (s32)((rnd(s) >> 32) % (u64)((s64)hi - lo + 1));
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	return p;
}

/* Weights in -127..127 (the verifier's bound), activations any s8. */
static s8 *rnd_bytes(u64 *s, size_t n, bool weights)
{
	s8 *b = xmalloc(n);
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (s8)rnd_in(s, weights ? -127 : -128, 127);
	return b;
}

static s32 *rnd_words(u64 *s, u32 n, s32 lo, s32 hi)
{
	s32 *w = xmalloc(4ULL * n);
	u32 i;

	for (i = 0; i < n; i++)
		w[i] = rnd_in(s, lo, hi);
	return w;
}

static u32 cases;

static void fc_case(u64 *s, u32 batch, u32 in_len, u32 out_len)
{
	struct mcai_fc_params p = {
		.batch = batch, .in_len = in_len, .out_len = out_len,
		.in_zp = rnd_in(s, -128, 127), .out_zp = rnd_in(s, -128, 127),
		.act_min = -128, .act_max = 127,
	};
	s8 *in = rnd_bytes(s, (size_t)batch * in_len, false);
	s8 *w = rnd_bytes(s, (size_t)in_len * out_len, true);
	s32 *bias = rnd_words(s, out_len, -(1 << 22), 1 << 22);
	s32 *mult = rnd_words(s, out_len, 1 << 30, S32_MAX);
	s32 *shift = rnd_words(s, out_len, -14, -4);
	s8 *ref = xmalloc((size_t)batch * out_len);
	s8 *out = xmalloc((size_t)batch * out_len);
	u64 room = mcai_simd_pack_bytes_for(out_len, in_len);
	void *mem = xmalloc(room);
	struct mcai_pack pk;

	p.mult = mult;
	p.shift = shift;
	if (mcai_fc_check(&p)) {
		fail("fc %u x %u: check refused", in_len, out_len);
		goto out;
	}
	mcai_fully_connected(&p, in, w, bias, ref);
	memset(out, 0x5a, (size_t)batch * out_len);
	if (mcai_simd_pack(&pk, w, out_len, in_len, 1, p.in_zp, mem,
			   (u32)room) != room)
		fail("fc %u x %u: packing failed", in_len, out_len);
	else if (!mcai_simd_fc(&p, &pk, in, bias, out))
		fail("fc %u x %u: the path declined", in_len, out_len);
	else if (memcmp(out, ref, (size_t)batch * out_len))
		fail("fc batch %u, %u x %u, zp %d: %s differs from scalar",
		     batch, in_len, out_len, p.in_zp,
		     mcai_simd_name(mcai_simd_active()));
	cases++;
out:
	free(in);
	free(w);
	free(bias);
	free(mult);
	free(shift);
	free(ref);
	free(out);
	free(mem);
}

/*
 * A fixed layer shape (the shipped models', smaller), over conv_case()'s
 * random parameters: rows copied into a padded band, first layers'
 * windows copied from it, depthwise runs of four pixels.
 */
struct fixed_shape {
	u32 in_h, in_w, in_c, out_c, k_h, k_w, stride, dil, pad;
};

static const struct fixed_shape fixed[] = {
	{ 14, 14, 16, 32, 3, 3, 1, 1, 1 },	/* fmnist-cnn's second */
	{ 28, 28, 1, 16, 3, 3, 1, 1, 1 },	/* fmnist-cnn's first */
	{ 21, 20, 3, 8, 3, 3, 2, 1, 0 },	/* VWW's first, smaller */
	{ 19, 10, 1, 64, 10, 4, 2, 1, 4 },	/* KWS's first */
	{ 9, 8, 3, 16, 3, 3, 1, 2, 2 },		/* dilated rows */
	{ 8, 8, 64, 64, 3, 3, 1, 1, 1 },	/* a band too large */
	{ 10, 9, 16, 24, 2, 2, 1, 1, 1 },	/* 32-byte rows */
	{ 12, 12, 64, 64, 3, 3, 1, 1, 1 },	/* VWW's depthwise */
	{ 13, 13, 16, 16, 3, 3, 2, 1, 0 },
	{ 25, 5, 64, 64, 3, 3, 1, 1, 1 },	/* KWS's depthwise */
	{ 9, 15, 27, 27, 3, 3, 1, 1, 1 },
};

static void conv_case_fx(u64 *s, bool dw, bool conv1d, bool big,
			 const struct fixed_shape *fx);

static void conv_case(u64 *s, bool dw, bool conv1d, bool big)
{
	conv_case_fx(s, dw, conv1d, big, NULL);
}

static void conv_case_fx(u64 *s, bool dw, bool conv1d, bool big,
			 const struct fixed_shape *fx)
{
	static const u32 chans[] = {
		1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48,
		63, 64, 65, 100,
	};
	const u32 nc = sizeof(chans) / sizeof(chans[0]);
	struct mcai_conv_params p;
	size_t in_len, out_len, f_len;
	s8 *in, *f, *ref, *out;
	s32 *bias, *mult, *shift;
	struct mcai_pack pk;
	void *mem = NULL;
	u64 room;
	u32 k;
	bool ok;

	memset(&p, 0, sizeof(p));
	p.batch = 1 + (u32)(rnd(s) % 2);
	p.in_h = conv1d ? 1 : 1 + (u32)(rnd(s) % 7);
	p.in_w = 1 + (u32)(rnd(s) % 7);
	p.in_c = big ? 130 + (u32)(rnd(s) % 200) : chans[rnd(s) % nc];
	p.out_c = chans[rnd(s) % nc];
	p.k_h = conv1d ? 1 : 1 + (u32)(rnd(s) % 3);
	p.k_w = 1 + (u32)(rnd(s) % 3);
	p.stride_h = 1 + (u32)(rnd(s) % 2);
	p.stride_w = 1 + (u32)(rnd(s) % 2);
	p.dil_h = 1 + (u32)(rnd(s) % 2);
	p.dil_w = 1 + (u32)(rnd(s) % 2);
	p.pad_top = (u32)(rnd(s) % p.k_h);
	p.pad_bottom = (u32)(rnd(s) % p.k_h);
	p.pad_left = (u32)(rnd(s) % p.k_w);
	p.pad_right = (u32)(rnd(s) % p.k_w);
	p.groups = 1;
	if (fx) {
		p.in_h = fx->in_h;
		p.in_w = fx->in_w;
		p.in_c = fx->in_c;
		p.out_c = dw ? fx->in_c : fx->out_c;
		p.k_h = fx->k_h;
		p.k_w = fx->k_w;
		p.stride_h = p.stride_w = fx->stride;
		p.dil_h = fx->dil;
		p.dil_w = 1;
		p.pad_top = fx->pad;
		p.pad_bottom = fx->pad ? fx->pad - 1 : 0;
		p.pad_left = fx->pad < fx->k_w ? fx->pad : fx->k_w - 1;
		p.pad_right = p.pad_left ? p.pad_left - 1 : 0;
	} else if (dw) {
		p.out_c = p.in_c * (rnd(s) % 4 ? 1 : 1 + (u32)(rnd(s) % 3));
	} else if (rnd(s) % 4 == 0) {
		p.groups = 1 + (u32)(rnd(s) % 4);
		p.in_c = p.groups * (1 + p.in_c / p.groups);
		p.out_c = p.groups * (1 + p.out_c / p.groups);
	}
	p.in_zp = rnd_in(s, -128, 127);
	p.out_zp = rnd_in(s, -128, 127);
	p.act_min = -128;
	p.act_max = 127;
	p.out_h = mcai_op_out_dim(p.in_h, p.k_h, p.stride_h, p.dil_h,
				  p.pad_top, p.pad_bottom);
	p.out_w = mcai_op_out_dim(p.in_w, p.k_w, p.stride_w, p.dil_w,
				  p.pad_left, p.pad_right);
	if (!p.out_h || !p.out_w)
		return;
	mult = rnd_words(s, p.out_c, 1 << 30, S32_MAX);
	shift = rnd_words(s, p.out_c, -14, -4);
	p.mult = mult;
	p.shift = shift;
	k = p.k_h * p.k_w * (dw ? 1 : p.in_c / p.groups);
	in_len = (size_t)p.batch * p.in_h * p.in_w * p.in_c;
	out_len = (size_t)p.batch * p.out_h * p.out_w * p.out_c;
	f_len = (size_t)p.out_c * k;
	in = rnd_bytes(s, in_len, false);
	f = rnd_bytes(s, f_len, true);
	bias = rnd_words(s, p.out_c, -(1 << 20), 1 << 20);
	ref = xmalloc(out_len);
	out = xmalloc(out_len);
	memset(out, 0x5a, out_len);
	if (dw ? mcai_depthwise_check(&p) : mcai_conv2d_check(&p)) {
		fail("conv: check refused a case");
		goto out;
	}
	if (dw) {
		mcai_depthwise_conv2d(&p, in, f, bias, ref);
		ok = mcai_simd_depthwise(&p, in, f, bias, out);
		if (ok != (p.out_c == p.in_c))
			fail("depthwise: %s %s a multiplier of %u",
			     mcai_simd_name(mcai_simd_active()),
			     ok ? "took" : "declined", p.out_c / p.in_c);
		if (!ok)
			mcai_depthwise_conv2d(&p, in, f, bias, out);
	} else {
		if (conv1d)
			mcai_conv1d(&p, in, f, bias, ref);
		else
			mcai_conv2d(&p, in, f, bias, ref);
		room = mcai_simd_pack_bytes_for(p.out_c, k);
		mem = xmalloc(room);
		if (mcai_simd_pack(&pk, f, p.out_c, k, p.groups, p.in_zp, mem,
				   (u32)room) != room ||
		    !mcai_simd_conv2d(&p, &pk, in, bias, out)) {
			fail("conv: the %s path declined",
			     mcai_simd_name(mcai_simd_active()));
			goto out;
		}
	}
	if (memcmp(out, ref, out_len))
		fail("%s %ux%ux%u -> %u, k %ux%u, stride %u/%u, dil %u/%u, "
		     "pad %u/%u/%u/%u, groups %u: %s differs from scalar",
		     dw ? "depthwise" : conv1d ? "conv1d" : "conv2d", p.in_h,
		     p.in_w, p.in_c, p.out_c, p.k_h, p.k_w, p.stride_h,
		     p.stride_w, p.dil_h, p.dil_w, p.pad_top, p.pad_left,
		     p.pad_bottom, p.pad_right, p.groups,
		     mcai_simd_name(mcai_simd_active()));
	cases++;
out:
	free(in);
	free(f);
	free(bias);
	free(mult);
	free(shift);
	free(ref);
	free(out);
	free(mem);
}

/* Max pooling, where the path has a kernel for it (x86's). */
static void pool_case(u64 *s)
{
	static const u32 chans[] = { 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33,
				     64, 100 };
	struct mcai_pool_params p;
	size_t in_len, out_len;
	s8 *in, *ref, *out;

	memset(&p, 0, sizeof(p));
	p.batch = 1 + (u32)(rnd(s) % 2);
	p.in_h = 1 + (u32)(rnd(s) % 9);
	p.in_w = 1 + (u32)(rnd(s) % 9);
	p.c = chans[rnd(s) % (sizeof(chans) / sizeof(chans[0]))];
	p.k_h = 1 + (u32)(rnd(s) % 4);
	p.k_w = 1 + (u32)(rnd(s) % 4);
	p.stride_h = 1 + (u32)(rnd(s) % 3);
	p.stride_w = 1 + (u32)(rnd(s) % 3);
	p.pad_top = (u32)(rnd(s) % p.k_h);
	p.pad_bottom = (u32)(rnd(s) % p.k_h);
	p.pad_left = (u32)(rnd(s) % p.k_w);
	p.pad_right = (u32)(rnd(s) % p.k_w);
	p.out_h = mcai_op_out_dim(p.in_h, p.k_h, p.stride_h, 1, p.pad_top,
				  p.pad_bottom);
	p.out_w = mcai_op_out_dim(p.in_w, p.k_w, p.stride_w, 1, p.pad_left,
				  p.pad_right);
	p.act_min = (s8)rnd_in(s, -128, rnd(s) % 2 ? -128 : 0);
	p.act_max = (s8)rnd_in(s, rnd(s) % 2 ? 127 : 0, 127);
	if (mcai_pool2d_check(&p))
		return;
	in_len = (size_t)p.batch * p.in_h * p.in_w * p.c;
	out_len = (size_t)p.batch * p.out_h * p.out_w * p.c;
	in = rnd_bytes(s, in_len, false);
	ref = xmalloc(out_len);
	out = xmalloc(out_len);
	mcai_max_pool2d(&p, in, ref);
	if (mcai_simd_max_pool2d(&p, in, out)) {
		if (memcmp(out, ref, out_len))
			fail("max pool %ux%ux%u, k %ux%u, stride %u/%u, "
			     "pad %u/%u/%u/%u, clamp %d..%d: %s differs from "
			     "scalar", p.in_h, p.in_w, p.c, p.k_h, p.k_w,
			     p.stride_h, p.stride_w, p.pad_top, p.pad_left,
			     p.pad_bottom, p.pad_right, p.act_min, p.act_max,
			     mcai_simd_name(mcai_simd_active()));
		cases++;
	}
	free(in);
	free(ref);
	free(out);
}

static void shapes(enum mcai_simd_path path)
{
	static const u32 lens[] = {
		1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
		127, 128, 129, 513, 784, 1025,
	};
	static const u32 outs[] = {
		1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 31, 32, 33, 63,
		64, 65, 100, 128, 130,
	};
	u64 seed = 0x5eed5171dULL + path;
	u32 i, j;

	cases = 0;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (j = 0; j < sizeof(outs) / sizeof(outs[0]); j++)
			fc_case(&seed, 1 + (i + j) % 3, lens[i], outs[j]);
	for (i = 0; i < 300; i++)
		conv_case(&seed, false, false, i % 10 == 9);
	for (i = 0; i < 100; i++)
		conv_case(&seed, false, true, i % 10 == 9);
	for (i = 0; i < 300; i++)
		conv_case(&seed, true, false, false);
	for (i = 0; i < 2 * sizeof(fixed) / sizeof(fixed[0]); i++)
		conv_case_fx(&seed, i % 2, false, false, &fixed[i / 2]);
	for (i = 0; i < 300; i++)
		pool_case(&seed);
	printf("%s: %s: %u random fc/conv2d/conv1d/depthwise/max pool cases run\n",
	       prog, mcai_simd_name(path), cases);
}

struct loaded {
	struct mcai_model m;
	void *state, *arena;
};

static bool load(struct loaded *l, const char *file, const u8 *blob,
		 u32 size)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	u32 need = 0;

	memset(l, 0, sizeof(*l));
	mcai_limits_widest(&lim);
	if (mcai_model_state_size(blob, size, &lim, &need, &v)) {
		fail("%s: %s", file, v.reason);
		return false;
	}
	l->state = need ? xmalloc(need) : NULL;
	if (mcai_model_verify(&l->m, blob, size, &lim, l->state, need, &v)) {
		fail("%s: refused under %s: %s", file,
		     mcai_simd_name(mcai_simd_active()), v.reason);
		free(l->state);
		return false;
	}
	l->arena = xmalloc(l->m.arena_size + 8);
	return true;
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

static void model(enum mcai_simd_path path, const char *file)
{
	u64 seed = 0x30de1ULL;
	char err[256];
	u32 size, r, t;
	u8 *blob = mcai_blob_read(file, 64U << 20, &size, err, sizeof(err));
	struct loaded ref, vec;
	u8 *in, *want, *have;

	if (!blob) {
		fail("%s", err);
		return;
	}
	mcai_simd_set(MCAI_SIMD_OFF);
	if (!load(&ref, file, blob, size)) {
		free(blob);
		return;
	}
	mcai_simd_set(path);
	if (!load(&vec, file, blob, size)) {
		unload(&ref);
		free(blob);
		return;
	}
	in = xmalloc(ref.m.input_len);
	want = xmalloc(ref.m.output_len);
	have = xmalloc(ref.m.output_len);
	for (t = 0; t < vec.m.tv_count; t++)
		if (mcai_model_check_vector(&vec.m, t, vec.arena, have))
			fail("%s: %s fails test vector %u", file,
			     mcai_simd_name(path), t);
	for (r = 0; r < 16; r++) {
		for (t = 0; t < ref.m.input_len; t++)
			in[t] = (u8)rnd(&seed);
		mcai_simd_set(MCAI_SIMD_OFF);
		mcai_model_run(&ref.m, in, want, ref.arena);
		mcai_simd_set(path);
		mcai_model_run(&vec.m, in, have, vec.arena);
		if (memcmp(want, have, ref.m.output_len))
			fail("%s: %s differs from scalar on input %u", file,
			     mcai_simd_name(path), r);
	}
	printf("%s: %s: %s: %u ops packed, %u vectors, 16 random inputs\n",
	       prog, mcai_simd_name(path), file, packed(&vec),
	       vec.m.tv_count);
	unload(&ref);
	unload(&vec);
	free(in);
	free(want);
	free(have);
	free(blob);
}

int main(int argc, char **argv)
{
	int want[MCAI_SIMD_NR_PATHS] = { 0 };
	bool named = false;
	u32 ran = 0;
	int a = 1, k;

	prog = "simd_check";
	/* line by line: a crash still shows how far it got */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; a + 1 < argc && !strcmp(argv[a], "--path"); a += 2) {
		k = mcai_simd_parse(argv[a + 1]);
		if (k <= 0) {
			fprintf(stderr, "%s: --path %s: not a vector path\n",
				prog, argv[a + 1]);
			return 2;
		}
		want[k] = 1;
		named = true;
	}
	for (k = 1; k < MCAI_SIMD_NR_PATHS; k++) {
		int i;

		if (named && !want[k])
			continue;
		if (mcai_simd_set((enum mcai_simd_path)k)) {
			if (named)
				fail("%s: not supported by this CPU",
				     mcai_simd_name(k));
			continue;
		}
		shapes((enum mcai_simd_path)k);
		for (i = a; i < argc; i++)
			model((enum mcai_simd_path)k, argv[i]);
		ran++;
	}
	mcai_simd_set(MCAI_SIMD_OFF);
	if (!ran && !failures) {
		printf("%s: no vector path on this CPU\n", prog);
		return 77;
	}
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", prog, failures);
		return 1;
	}
	printf("%s: %u paths bit-exact with scalar\n", prog, ran);
	return 0;
}
