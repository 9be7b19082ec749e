// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile model blobs; see hostile.h.  The expected reasons are the
 * verifier's strings under the default limits (what mcai.ko uses when
 * loaded without parameters), so the same list checks user space and the
 * kernel.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/hostile.h"
#include "models/engine/engine.h"
#include "models/engine/sha256.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"

#define H(f)		((u32)offsetof(struct mcai_blob_header, f))
#define LF(f)		((u32)offsetof(struct mcai_blob_layer, f))
#define LSZ		((u32)sizeof(struct mcai_blob_layer))

static u32 rnd(u32 *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

void hostile_seal(u8 *blob, u32 size)
{
	mcai_sha256(blob, size - MCAI_DIGEST_LEN, blob + size - MCAI_DIGEST_LEN);
}

u8 *hostile_base(u32 *size)
{
	static s8 w0[HOSTILE_HID * HOSTILE_IN], w2[HOSTILE_OUT * HOSTILE_HID];
	static s8 lut[256], tv[HOSTILE_TV * HOSTILE_IN];
	static s32 b0[HOSTILE_HID], m0[HOSTILE_HID], sh0[HOSTILE_HID];
	static s32 b2[HOSTILE_OUT], m2[HOSTILE_OUT], sh2[HOSTILE_OUT];
	struct mcai_blob_spec s;
	char err[160];
	u32 seed = 20240601, i;
	u8 *blob;

	for (i = 0; i < sizeof(w0); i++)
		w0[i] = (s8)(rnd(&seed) % 255 - 127);
	for (i = 0; i < sizeof(w2); i++)
		w2[i] = (s8)(rnd(&seed) % 255 - 127);
	for (i = 0; i < HOSTILE_HID; i++) {
		b0[i] = (s32)(rnd(&seed) % 4001) - 2000;
		m0[i] = (s32)((1u << 30) + rnd(&seed) % (1u << 30));
		sh0[i] = -7;
	}
	for (i = 0; i < HOSTILE_OUT; i++) {
		b2[i] = (s32)(rnd(&seed) % 4001) - 2000;
		m2[i] = (s32)((1u << 30) + rnd(&seed) % (1u << 30));
		sh2[i] = -6;
	}
	for (i = 0; i < 256; i++)	/* a coarse sigmoid: -128..127 onto 0..127 */
		lut[i] = (s8)(i / 2);
	for (i = 0; i < sizeof(tv); i++)
		tv[i] = (s8)rnd(&seed);

	memset(&s, 0, sizeof(s));
	s.name = HOSTILE_NAME;
	s.version = 1;
	s.head = MCAI_HEAD_ARGMAX;
	s.input_scale = 1.0f / 32;
	s.output_scale = 1.0f / 8;
	s.n_layers = 3;
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_RELU,
		.in_zp = -5, .out_zp = -128, .clamp_min = -128, .clamp_max = 127,
		.in_len = HOSTILE_IN, .out_len = HOSTILE_HID,
		.weights = w0, .bias = b0, .mult = m0, .shift = sh0,
	};
	s.layer[1] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_LUT, .activation = MCAI_ACT_SIGMOID,
		.in_zp = -128, .out_zp = 0, .clamp_min = -128, .clamp_max = 127,
		.in_len = HOSTILE_HID, .out_len = HOSTILE_HID, .lut = lut,
	};
	s.layer[2] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_NONE,
		.in_zp = 0, .out_zp = 3, .clamp_min = -128, .clamp_max = 127,
		.in_len = HOSTILE_HID, .out_len = HOSTILE_OUT,
		.weights = w2, .bias = b2, .mult = m2, .shift = sh2,
	};
	s.tv_count = HOSTILE_TV;
	s.tv_inputs = tv;
	blob = mcai_blob_write(&s, size, err, sizeof(err));
	if (!blob)
		fprintf(stderr, "hostile: base blob: %s\n", err);
	return blob;
}

int hostile_check(const u8 *blob, u32 size, const struct mcai_limits *lim,
		  char *reason, size_t reason_len, u32 *offset)
{
	struct mcai_verdict v;
	struct mcai_model m;
	u32 failed = 0;
	s8 *arena, *scores;
	int ret;

	if (mcai_verify(&m, blob, size, lim, &v)) {
		snprintf(reason, reason_len, "%s", v.reason);
		*offset = v.offset;
		return -1;
	}
	arena = malloc(m.arena_size ? m.arena_size : 1);
	scores = malloc(m.output_len);
	if (!arena || !scores) {
		free(arena);
		free(scores);
		snprintf(reason, reason_len, "out of memory");
		*offset = 0;
		return -1;
	}
	ret = mcai_engine_check_vectors(&m, arena, scores, &failed);
	free(arena);
	free(scores);
	if (ret) {
		snprintf(reason, reason_len, "test vector %u failed", failed);
		*offset = (u32)((const u8 *)m.tv - blob) +
			  failed * (m.input_len + m.output_len);
		return -1;
	}
	reason[0] = '\0';
	*offset = 0;
	return 0;
}

/* ------------------------------------------------------------------ */

struct builder {
	struct hostile *v;
	int n, cap;
	const u8 *base;
	u32 size;		/* of the base */
	u8 *cur;
	int err;
	/* Layout of the base, read back from its header. */
	u32 layer_off, data_off, data_size, tv_off;
};

static u8 *start(struct builder *b)
{
	b->cur = malloc(b->size);
	if (!b->cur) {
		b->err = 1;
		b->cur = NULL;
		return NULL;
	}
	memcpy(b->cur, b->base, b->size);
	return b->cur;
}

enum { RAW = 0, SEAL = 1 };

static void add(struct builder *b, const char *name, const char *reason,
		u32 size, int seal)
{
	struct hostile *h;
	u8 *blob = b->cur;

	b->cur = NULL;
	if (!blob)
		return;
	if (seal && size >= sizeof(struct mcai_blob_header) + MCAI_DIGEST_LEN)
		hostile_seal(blob, size);
	if (size != b->size) {	/* exactly size bytes, so ASan sees overreads */
		u8 *shrunk = malloc(size ? size : 1);

		if (!shrunk) {
			free(blob);
			b->err = 1;
			return;
		}
		memcpy(shrunk, blob, size);
		free(blob);
		blob = shrunk;
	}
	if (b->n == b->cap) {
		int cap = b->cap ? 2 * b->cap : 64;
		struct hostile *nv = realloc(b->v, (size_t)cap * sizeof(*nv));

		if (!nv) {
			free(blob);
			b->err = 1;
			return;
		}
		b->v = nv;
		b->cap = cap;
	}
	h = &b->v[b->n++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->reason = reason;
	h->blob = blob;
	h->size = size;
}

/* Set a header field / a field of layer @i, then re-seal. */
static void hdr32(struct builder *b, const char *name, const char *reason,
		  u32 field, u32 val)
{
	u8 *p = start(b);

	if (p)
		mcai_put_le32(p + field, val);
	add(b, name, reason, b->size, SEAL);
}

static void hdr8(struct builder *b, const char *name, const char *reason,
		 u32 field, u8 val)
{
	u8 *p = start(b);

	if (p)
		p[field] = val;
	add(b, name, reason, b->size, SEAL);
}

static u32 lay(const struct builder *b, u32 i, u32 field)
{
	return b->layer_off + i * LSZ + field;
}

static void lay32(struct builder *b, const char *name, const char *reason,
		  u32 i, u32 field, u32 val)
{
	hdr32(b, name, reason, lay(b, i, field), val);
}

static void lay8(struct builder *b, const char *name, const char *reason,
		 u32 i, u32 field, u8 val)
{
	hdr8(b, name, reason, lay(b, i, field), val);
}

/* Data-relative offset of an array of layer @i, as the base has it. */
static u32 arr(const struct builder *b, u32 i, u32 field)
{
	return mcai_le32(b->base + lay(b, i, field));
}

static const char *const R_SHORT = "blob shorter than header and digest";
static const char *const R_TOTAL = "total_size does not match the blob length";
static const char *const R_OVERLAP = "overlapping sections";
static const char *const R_LCOUNT = "layer count out of range";
static const char *const R_LIN = "layer input width out of range";
static const char *const R_LOUT = "layer output width out of range";
static const char *const R_INLEN = "input_len out of range";
static const char *const R_OUTLEN = "output_len out of range";
static const char *const R_TVOOB = "test vectors out of bounds";
static const char *const R_DATAOOB = "data section out of bounds";
static const char *const R_LTOOB = "layer table out of bounds";
static const char *const R_WOOB = "weights out of bounds";
static const char *const R_SHIFT = "shift outside -31..30";
static const char *const R_TYPE = "unknown layer type";
static const char *const R_NAME = "name has a character outside [A-Za-z0-9_.-]";

static void build_header(struct builder *b)
{
	u8 *p;

	/* Truncations: total_size no longer matches, digest not recomputed. */
	p = start(b); add(b, "truncated-1", R_SHORT, 1, RAW);
	p = start(b); add(b, "truncated-64", R_SHORT, 64, RAW);
	p = start(b); add(b, "truncated-159", R_SHORT, 159, RAW);
	p = start(b); add(b, "truncated-160", R_TOTAL, 160, RAW);
	p = start(b); add(b, "truncated-half", R_TOTAL, b->size / 2, RAW);
	p = start(b); add(b, "truncated-no-digest", R_TOTAL, b->size - 32, RAW);
	p = start(b); add(b, "truncated-1-byte", R_TOTAL, b->size - 1, RAW);
	/* Truncated, total_size fixed up and re-sealed: the sections stick out. */
	p = start(b);
	if (p)
		mcai_put_le32(p + H(total_size), b->data_off + 64 + 32);
	add(b, "truncated-resealed-data", R_DATAOOB, b->data_off + 64 + 32, SEAL);
	p = start(b);
	if (p)
		mcai_put_le32(p + H(total_size), b->tv_off + 20 + 32);
	add(b, "truncated-resealed-tv", R_TVOOB, b->tv_off + 20 + 32, SEAL);

	hdr32(b, "bad-magic", "bad magic", H(magic), 0x4d434149);
	hdr32(b, "zero-magic", "bad magic", H(magic), 0);
	p = start(b);
	if (p)
		mcai_put_le16(p + H(format_version), 3);
	add(b, "bad-version", "unsupported format version", b->size, SEAL);
	p = start(b);
	if (p)
		mcai_put_le16(p + H(format_version), 0);
	add(b, "version-0", "unsupported format version", b->size, SEAL);
	p = start(b);
	if (p)
		mcai_put_le16(p + H(header_size), 132);
	add(b, "bad-header-size", "bad header size", b->size, SEAL);
	hdr32(b, "total-size-small", R_TOTAL, H(total_size), b->size - 4);
	hdr32(b, "total-size-large", R_TOTAL, H(total_size), b->size + 4);
	hdr32(b, "total-size-huge", R_TOTAL, H(total_size), 0xffffffff);

	p = start(b);
	if (p)
		p[b->size - 1] ^= 1;
	add(b, "bad-digest", "SHA-256 digest mismatch", b->size, RAW);
	p = start(b);
	if (p)
		p[b->data_off + 3] ^= 0x10;
	add(b, "corrupt-weight-unsealed", "SHA-256 digest mismatch", b->size, RAW);
	p = start(b);
	if (p)
		memset(p + b->size - 32, 0, 32);
	add(b, "zero-digest", "SHA-256 digest mismatch", b->size, RAW);

	hdr32(b, "unknown-flags", "unknown flags", H(flags), 1);
	hdr32(b, "unknown-flags-high", "unknown flags", H(flags), 0x80000000);
	hdr32(b, "reserved-header-0", "reserved header field not zero",
	      H(reserved), 1);
	hdr32(b, "reserved-header-6", "reserved header field not zero",
	      H(reserved) + 24, 0x01000000);

	p = start(b);
	if (p)
		memset(p + H(name), 0, MCAI_NAME_LEN);
	add(b, "name-empty", "empty name", b->size, SEAL);
	p = start(b);
	if (p)
		memcpy(p + H(name), "bad/name", 8);
	add(b, "name-slash", R_NAME, b->size, SEAL);
	p = start(b);
	if (p)
		p[H(name) + 2] = (u8)0xc3;
	add(b, "name-high-byte", R_NAME, b->size, SEAL);
	p = start(b);
	if (p)
		p[H(name) + 1] = ' ';
	add(b, "name-space", R_NAME, b->size, SEAL);
	p = start(b);
	if (p)
		memset(p + H(name), 'a', MCAI_NAME_LEN);
	add(b, "name-unterminated", "name not NUL terminated", b->size, SEAL);
	p = start(b);
	if (p)
		p[H(name) + MCAI_NAME_LEN - 1] = 'x';
	add(b, "name-padding", "name padding not zero", b->size, SEAL);

	hdr32(b, "model-version-0", "model version 0", H(model_version), 0);
	hdr32(b, "layers-0", R_LCOUNT, H(n_layers), 0);
	hdr32(b, "layers-17", R_LCOUNT, H(n_layers), 17);
	/* n_layers * 64 wraps to 3 * 64 in 32 bits. */
	hdr32(b, "layers-mul-wrap", R_LCOUNT, H(n_layers), 0x04000003);
	hdr32(b, "layers-huge", R_LCOUNT, H(n_layers), 0xffffffff);
	hdr32(b, "input-len-0", R_INLEN, H(input_len), 0);
	hdr32(b, "input-len-max-dim-plus-1", R_INLEN, H(input_len),
	      MCAI_DEFAULT_MAX_DIM + 1);
	hdr32(b, "input-len-65537", R_INLEN, H(input_len), 65537);
	hdr32(b, "input-len-huge", R_INLEN, H(input_len), 0xffffffff);
	hdr32(b, "output-len-0", R_OUTLEN, H(output_len), 0);
	hdr32(b, "output-len-huge", R_OUTLEN, H(output_len), 0xffffffff);
	hdr8(b, "head-unknown", "unknown head", H(head), 2);
	hdr8(b, "head-threshold-4-outputs", "threshold head needs one output",
	     H(head), MCAI_HEAD_THRESHOLD);
	hdr8(b, "threshold-on-argmax", "threshold set on an argmax head",
	     H(head_threshold), 5);
	hdr32(b, "output-len-mismatch", "last layer width is not output_len",
	      H(output_len), HOSTILE_OUT - 1);
	hdr8(b, "output-zp-mismatch", "last layer zero point is not output_zp",
	     H(output_zp), 4);
	/*
	 * in_len * out_len = 2^32 wraps to 0 (refused earlier here: max_dim;
	 * with max_dim = MCAI_MAX_DIM it reaches the weights).
	 */
	p = start(b);
	if (p) {
		mcai_put_le32(p + H(tv_count), 0);
		mcai_put_le32(p + H(tv_off), 0);
		mcai_put_le32(p + H(input_len), 65536);
		mcai_put_le32(p + lay(b, 0, LF(in_len)), 65536);
		mcai_put_le32(p + lay(b, 0, LF(out_len)), 65536);
	}
	add(b, "fc-dims-mul-wrap", R_INLEN, b->size, SEAL);
	hdr8(b, "input-zp-mismatch",
	     "layer input zero point does not match its source", H(input_zp), 127);
}

static void build_sections(struct builder *b)
{
	u8 *p;

	hdr32(b, "misaligned-layer-off", "misaligned section", H(layer_off),
	      b->layer_off + 2);
	hdr32(b, "misaligned-data-off", "misaligned section", H(data_off),
	      b->data_off + 1);
	hdr32(b, "layer-table-over-header", R_OVERLAP, H(layer_off), 64);
	hdr32(b, "layer-table-at-0", R_OVERLAP, H(layer_off), 0);
	hdr32(b, "layer-off-huge", R_LTOOB, H(layer_off), 0xffffffc0);
	/* Two layers would fit, three do not. */
	hdr32(b, "layer-table-past-end", R_LTOOB, H(layer_off),
	      b->size - 32 - 2 * LSZ);
	hdr32(b, "layer-table-over-digest", R_LTOOB, H(layer_off),
	      b->size - 32 - 64);
	hdr32(b, "data-over-layer-table", R_OVERLAP, H(data_off),
	      b->layer_off + LSZ);
	hdr32(b, "data-over-header", R_OVERLAP, H(data_off), 0);
	hdr32(b, "data-off-huge", R_DATAOOB, H(data_off), 0xfffffffc);
	hdr32(b, "data-size-huge", R_DATAOOB, H(data_size), 0xffffffff);
	/* data_off + data_size wraps to 16 in 32 bits. */
	hdr32(b, "data-end-wrap", R_DATAOOB, H(data_size), 0u - b->data_off + 16);
	hdr32(b, "data-into-digest", R_DATAOOB, H(data_size),
	      b->size - 32 - b->data_off + 4);
	/* The data section grown over the test vectors. */
	hdr32(b, "data-over-tv", R_OVERLAP, H(data_size), b->data_size + 16);
	hdr32(b, "tv-over-data", R_OVERLAP, H(tv_off), b->tv_off - 16);
	hdr32(b, "tv-over-header", R_OVERLAP, H(tv_off), 0);
	hdr32(b, "tv-over-layer-table", R_OVERLAP, H(tv_off), b->layer_off + 8);
	hdr32(b, "tv-off-huge", R_TVOOB, H(tv_off), 0xfffffff0);
	hdr32(b, "tv-past-end", R_TVOOB, H(tv_count), HOSTILE_TV + 1);
	/* tv_count * (in + out) = tv_count * 16 wraps to 64 in 32 bits. */
	hdr32(b, "tv-count-mul-wrap", R_TVOOB, H(tv_count), 0x10000004);
	hdr32(b, "tv-count-huge", R_TVOOB, H(tv_count), 0xffffffff);
	hdr32(b, "tv-off-without-tv", "tv_off set without test vectors",
	      H(tv_count), 0);
	hdr32(b, "arena-too-small", "arena_size too small for the layers",
	      H(arena_size), 2 * HOSTILE_HID - 1);
	hdr32(b, "arena-zero", "arena_size too small for the layers",
	      H(arena_size), 0);
	hdr32(b, "arena-above-limit", "arena_size above max_arena",
	      H(arena_size), MCAI_DEFAULT_MAX_ARENA + 1);
	hdr32(b, "arena-huge", "arena_size above max_arena", H(arena_size),
	      0xffffffff);

	/* A test vector whose expected score is wrong (the second one). */
	p = start(b);
	if (p)
		p[b->tv_off + (HOSTILE_IN + HOSTILE_OUT) + HOSTILE_IN + 2] ^= 0x40;
	add(b, "tv-wrong-score", "test vector 1 failed", b->size, SEAL);
	p = start(b);
	if (p)	/* the last byte of the last vector */
		p[b->tv_off + HOSTILE_TV * (HOSTILE_IN + HOSTILE_OUT) - 1] ^= 1;
	add(b, "tv-wrong-last", "test vector 3 failed", b->size, SEAL);
}

static void build_layers(struct builder *b)
{
	u8 *p;

	lay32(b, "layer-type-unknown", R_TYPE, 2, LF(type), 3);
	lay32(b, "layer-type-0", R_TYPE, 0, LF(type), 0);
	p = start(b);
	if (p)
		mcai_put_le16(p + lay(b, 1, LF(type)), 0xffff);
	add(b, "layer-type-ffff", R_TYPE, b->size, SEAL);
	lay8(b, "layer-pad", "reserved layer field not zero", 0, LF(pad0), 1);
	lay32(b, "layer-reserved", "reserved layer field not zero", 1,
	      LF(reserved) + 12, 7);
	lay32(b, "layer-in-0", R_LIN, 0, LF(in_len), 0);
	lay32(b, "layer-in-huge", R_LIN, 0, LF(in_len), 0xffffffff);
	lay32(b, "layer-in-65537", R_LIN, 1, LF(in_len), 65537);
	lay32(b, "layer-in-max-dim-plus-1", R_LIN, 2, LF(in_len),
	      MCAI_DEFAULT_MAX_DIM + 1);
	lay32(b, "layer-out-0", R_LOUT, 0, LF(out_len), 0);
	lay32(b, "layer-out-huge", R_LOUT, 0, LF(out_len), 0xffffffff);
	lay32(b, "layer-out-max-dim-plus-1", R_LOUT, 2, LF(out_len),
	      MCAI_DEFAULT_MAX_DIM + 1);
	lay32(b, "width-chain-first", "layer input width does not match its source",
	      0, LF(in_len), HOSTILE_IN - 1);
	p = start(b);
	if (p) {	/* the LUT takes 9 where the layer before gives 8 */
		mcai_put_le32(p + lay(b, 1, LF(in_len)), HOSTILE_HID + 1);
		mcai_put_le32(p + lay(b, 1, LF(out_len)), HOSTILE_HID + 1);
	}
	add(b, "width-chain-lut", "layer input width does not match its source",
	    b->size, SEAL);
	lay32(b, "width-chain-last", "layer input width does not match its source",
	      2, LF(in_len), HOSTILE_HID * 2);
	lay8(b, "zp-chain", "layer input zero point does not match its source",
	     2, LF(in_zp), 1);
	lay8(b, "zp-chain-extreme", "layer input zero point does not match its source",
	     1, LF(in_zp), 127);
	p = start(b);
	if (p) {
		p[lay(b, 0, LF(clamp_min))] = 10;
		p[lay(b, 0, LF(clamp_max))] = (u8)-10;
	}
	add(b, "clamp-inverted", "clamp_min above clamp_max", b->size, SEAL);
	lay8(b, "fc-activation-sigmoid", "bad activation for FC layer", 0,
	     LF(activation), MCAI_ACT_SIGMOID);
	lay8(b, "fc-activation-ff", "bad activation for FC layer", 2,
	     LF(activation), 0xff);
	lay32(b, "fc-with-lut", "FC layer with a LUT", 0, LF(lut_off), 4);
	lay32(b, "weights-off-huge", R_WOOB, 0, LF(weights_off), 0xfffffff0);
	lay32(b, "weights-past-data", R_WOOB, 2, LF(weights_off),
	      b->data_size - HOSTILE_OUT * HOSTILE_HID + 1);
	lay32(b, "bias-misaligned", "misaligned array", 0, LF(bias_off),
	      arr(b, 0, LF(bias_off)) + 2);
	lay32(b, "shift-misaligned", "misaligned array", 2, LF(shift_off),
	      arr(b, 2, LF(shift_off)) + 1);
	lay32(b, "bias-off-huge", "bias out of bounds", 0, LF(bias_off),
	      0xfffffffc);
	lay32(b, "mult-off-huge", "multipliers out of bounds", 2, LF(mult_off),
	      0xfffffffc);
	/* Past the data section, inside the test vectors: still refused. */
	lay32(b, "shift-into-tv", "shifts out of bounds", 2, LF(shift_off),
	      b->data_size);
	lay32(b, "arrays-share-bytes", R_OVERLAP, 0, LF(mult_off),
	      arr(b, 0, LF(bias_off)));
	lay32(b, "arrays-partly-overlap", R_OVERLAP, 0, LF(mult_off),
	      arr(b, 0, LF(bias_off)) + 4);
	lay32(b, "weights-shared-across-layers", R_OVERLAP, 2, LF(weights_off),
	      arr(b, 0, LF(weights_off)));
	lay32(b, "lut-over-weights", R_OVERLAP, 1, LF(lut_off),
	      arr(b, 0, LF(weights_off)) + 8);
	p = start(b);
	if (p)
		p[b->data_off + arr(b, 2, LF(weights_off)) + 5] = 0x80;
	add(b, "weight-minus-128", "weight -128 (weights are symmetric)",
	    b->size, SEAL);
	p = start(b);
	if (p)
		mcai_put_le32(p + b->data_off + arr(b, 0, LF(mult_off)) + 4 * 3, 0x80000000);
	add(b, "mult-int-min", "negative multiplier", b->size, SEAL);
	p = start(b);
	if (p)
		mcai_put_le32(p + b->data_off + arr(b, 2, LF(mult_off)), 0xffffffff);
	add(b, "mult-minus-1", "negative multiplier", b->size, SEAL);
	p = start(b);
	if (p)
		mcai_put_le32(p + b->data_off + arr(b, 0, LF(shift_off)) + 4, 31);
	add(b, "shift-31", R_SHIFT, b->size, SEAL);
	p = start(b);
	if (p)
		mcai_put_le32(p + b->data_off + arr(b, 0, LF(shift_off)), (u32)-32);
	add(b, "shift-minus-32", R_SHIFT, b->size, SEAL);
	p = start(b);
	if (p)
		mcai_put_le32(p + b->data_off + arr(b, 2, LF(shift_off)) + 12, 0x80000000);
	add(b, "shift-int-min", R_SHIFT, b->size, SEAL);
	lay8(b, "lut-activation-relu", "bad activation for LUT layer", 1,
	     LF(activation), MCAI_ACT_RELU);
	p = start(b);
	if (p) {	/* the LUT widens, and the next layer follows */
		mcai_put_le32(p + lay(b, 1, LF(out_len)), HOSTILE_HID + 1);
		mcai_put_le32(p + lay(b, 2, LF(in_len)), HOSTILE_HID + 1);
	}
	add(b, "lut-changes-width", "LUT layer changes the width", b->size, SEAL);
	lay32(b, "lut-with-weights", "LUT layer with FC arrays", 1,
	      LF(weights_off), 4);
	lay32(b, "lut-with-shift", "LUT layer with FC arrays", 1,
	      LF(shift_off), 4);
	lay32(b, "lut-past-data", "LUT out of bounds", 1, LF(lut_off),
	      b->data_size - 128);
	lay32(b, "lut-off-huge", "LUT out of bounds", 1, LF(lut_off),
	      0xffffff00);
}

int hostile_build(struct hostile **out)
{
	struct builder b;

	memset(&b, 0, sizeof(b));
	b.base = hostile_base(&b.size);
	if (!b.base)
		return -1;
	b.layer_off = mcai_le32(b.base + H(layer_off));
	b.data_off = mcai_le32(b.base + H(data_off));
	b.data_size = mcai_le32(b.base + H(data_size));
	b.tv_off = mcai_le32(b.base + H(tv_off));

	build_header(&b);
	build_sections(&b);
	build_layers(&b);

	free((void *)b.base);
	if (b.err) {
		hostile_free(b.v, b.n);
		return -1;
	}
	*out = b.v;
	return b.n;
}

void hostile_free(struct hostile *h, int n)
{
	int i;

	if (!h)
		return;
	for (i = 0; i < n; i++)
		free(h[i].blob);
	free(h);
}
