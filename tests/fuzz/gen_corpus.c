// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-fuzz-corpus OUTDIR: the seed corpus of tests/fuzz (committed in
 * tests/fuzz/corpus/; `make fuzz-corpus` regenerates it).  A handful of
 * valid blobs of different shapes, written by the writer, and a few
 * hostile variants from tests/hostile.c.  Deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/hostile.h"
#include "models/train/writer.h"

static u32 seed = 12345;

static u32 rnd(void)
{
	seed = seed * 1664525u + 1013904223u;
	return seed >> 8;
}

static int save(const char *dir, const char *name, const u8 *p, u32 n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* Arrays for up to 16 layers of up to 64 x 64. */
static s8 W[16][64 * 64], LUT[16][256], TV[8 * 64];
static s32 BIAS[16][64], MULT[16][64], SHIFT[16][64];

static void layer(struct mcai_blob_spec *s, u32 i, u16 type, u32 in, u32 out,
		  s8 in_zp, s8 out_zp)
{
	struct mcai_layer_spec *l = &s->layer[i];
	u32 k;

	memset(l, 0, sizeof(*l));
	l->type = type;
	l->in_len = in;
	l->out_len = out;
	l->in_zp = in_zp;
	l->out_zp = out_zp;
	l->clamp_min = -128;
	l->clamp_max = 127;
	if (type == MCAI_LAYER_LUT) {
		l->activation = MCAI_ACT_SIGMOID;
		for (k = 0; k < 256; k++)
			LUT[i][k] = (s8)rnd();
		l->lut = LUT[i];
		return;
	}
	if (rnd() % 2) {
		l->activation = MCAI_ACT_RELU;
		l->clamp_min = out_zp;
	}
	for (k = 0; k < in * out; k++)
		W[i][k] = (s8)(rnd() % 255 - 127);
	for (k = 0; k < out; k++) {
		BIAS[i][k] = (s32)(rnd() % 2001) - 1000;
		MULT[i][k] = (s32)((1u << 30) + rnd() % (1u << 30));
		SHIFT[i][k] = -8 - (s32)(rnd() % 3);
	}
	l->weights = W[i];
	l->bias = BIAS[i];
	l->mult = MULT[i];
	l->shift = SHIFT[i];
}

static int emit(const char *dir, const char *file, struct mcai_blob_spec *s,
		u32 tv_count)
{
	char err[200];
	u32 size, k;
	u8 *blob;

	for (k = 0; k < sizeof(TV); k++)
		TV[k] = (s8)rnd();
	s->version = 1;
	s->input_scale = 0.1f;
	s->output_scale = 0.2f;
	s->tv_count = tv_count;
	s->tv_inputs = TV;
	blob = mcai_blob_write(s, &size, err, sizeof(err));
	if (!blob) {
		fprintf(stderr, "%s: %s\n", file, err);
		return -1;
	}
	k = save(dir, file, blob, size);
	free(blob);
	return (int)k;
}

int main(int argc, char **argv)
{
	static const char *const hostile[] = {
		"layers-mul-wrap", "tv-count-mul-wrap", "data-end-wrap",
		"fc-dims-mul-wrap", "arrays-share-bytes", "weight-minus-128",
		"tv-wrong-score", "lut-over-weights", "truncated-half",
	};
	struct mcai_blob_spec s;
	struct hostile *h;
	const char *dir;
	int n, i, rc = 0;
	unsigned int k;
	u32 size;
	u8 *base;

	if (argc != 2) {
		fprintf(stderr, "usage: mcai-fuzz-corpus OUTDIR\n");
		return 2;
	}
	dir = argv[1];

	base = hostile_base(&size);
	rc |= !base || save(dir, "valid-base.mcai", base, size);
	free(base);

	memset(&s, 0, sizeof(s));
	s.name = "fc1";
	s.n_layers = 1;
	layer(&s, 0, MCAI_LAYER_FC, 5, 3, 0, 0);
	rc |= emit(dir, "valid-fc-5x3.mcai", &s, 0);

	memset(&s, 0, sizeof(s));
	s.name = "thresh";
	s.head = MCAI_HEAD_THRESHOLD;
	s.head_threshold = 4;
	s.n_layers = 2;
	layer(&s, 0, MCAI_LAYER_FC, 9, 6, -128, 2);
	layer(&s, 1, MCAI_LAYER_FC, 6, 1, 2, 0);
	rc |= emit(dir, "valid-threshold.mcai", &s, 3);

	memset(&s, 0, sizeof(s));
	s.name = "lut";
	s.n_layers = 1;
	layer(&s, 0, MCAI_LAYER_LUT, 16, 16, 127, -3);
	rc |= emit(dir, "valid-lut-16.mcai", &s, 2);

	memset(&s, 0, sizeof(s));
	s.name = "deep";
	s.n_layers = 6;
	layer(&s, 0, MCAI_LAYER_FC, 11, 7, 3, -1);
	layer(&s, 1, MCAI_LAYER_LUT, 7, 7, -1, 0);
	layer(&s, 2, MCAI_LAYER_FC, 7, 13, 0, 5);
	layer(&s, 3, MCAI_LAYER_FC, 13, 4, 5, -128);
	layer(&s, 4, MCAI_LAYER_LUT, 4, 4, -128, 1);
	layer(&s, 5, MCAI_LAYER_FC, 4, 3, 1, 0);
	rc |= emit(dir, "valid-deep-6.mcai", &s, 2);

	memset(&s, 0, sizeof(s));
	s.name = "wide";
	s.n_layers = 2;
	layer(&s, 0, MCAI_LAYER_FC, 64, 17, -7, 0);
	layer(&s, 1, MCAI_LAYER_FC, 17, 10, 0, 9);
	rc |= emit(dir, "valid-wide-64x17.mcai", &s, 1);

	memset(&s, 0, sizeof(s));
	s.name = "max-layers";
	s.n_layers = MCAI_BLOB_MAX_LAYERS;
	for (k = 0; k < MCAI_BLOB_MAX_LAYERS; k++)
		layer(&s, k, k % 3 == 2 ? MCAI_LAYER_LUT : MCAI_LAYER_FC,
		      k % 3 == 2 ? 5 : 5, 5, 0, 0);
	rc |= emit(dir, "valid-16-layers.mcai", &s, 1);

	n = hostile_build(&h);
	if (n < 0)
		return 1;
	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(hostile) / sizeof(hostile[0]); k++)
			if (!strcmp(h[i].name, hostile[k])) {
				char file[80];

				snprintf(file, sizeof(file), "hostile-%s.mcai", h[i].name);
				rc |= save(dir, file, h[i].blob, h[i].size);
			}
	hostile_free(h, n);
	return rc ? 1 : 0;
}
