// SPDX-License-Identifier: GPL-2.0
/*
 * Blob verifier.  Every offset, length, count and dimension comes from an
 * attacker; all range arithmetic is done in 64 bits on values that are at
 * most 32 bits wide, so it cannot wrap.  Nothing is dereferenced before
 * the range holding it has been checked.
 */
#include "models/engine/verify.h"
#include "models/engine/sha256.h"

#define HDR_OFF(f)	((u32)offsetof(struct mcai_blob_header, f))
#define LAYER_OFF(f)	((u32)offsetof(struct mcai_blob_layer, f))
#define HDR_SIZE	((u32)sizeof(struct mcai_blob_header))
#define LAYER_SIZE	((u32)sizeof(struct mcai_blob_layer))
#define HDR_RESERVED_LEN sizeof(((const struct mcai_blob_header *)0)->reserved)
#define LAYER_RESERVED_LEN sizeof(((const struct mcai_blob_layer *)0)->reserved)

/*
 * Fields are read through byte pointers (h, bl) plus offsetof, never
 * through a struct pointer: the blob may sit at any address.
 */
#define HF(f)		(h + HDR_OFF(f))
#define LF(f)		(bl + LAYER_OFF(f))

/* Every byte range the blob claims, so that overlaps can be refused. */
#define MCAI_MAX_RANGES	(5 + 4 * MCAI_BLOB_MAX_LAYERS)

/* 32-bit fields keep the table small: it lives on a kernel stack. */
struct mcai_range {
	u32 start;
	u32 len;
	u32 where;	/* offset of the field that claimed it */
};

struct mcai_vctx {
	const u8 *blob;
	u32 size;		/* digest excluded */
	struct mcai_verdict *v;
	struct mcai_range r[MCAI_MAX_RANGES];
	u32 nr;
};

static int mcai_fail(struct mcai_vctx *c, const char *reason, u32 offset)
{
	c->v->reason = reason;
	c->v->offset = offset;
	return -1;
}

/* Claim [start, start + len) of the blob for one purpose. */
static int mcai_claim(struct mcai_vctx *c, u64 start, u64 len, u32 where,
		      const char *what)
{
	u32 i;

	if (start > c->size || len > c->size - start)
		return mcai_fail(c, what, where);
	if (len == 0)
		return 0;
	for (i = 0; i < c->nr; i++) {
		const struct mcai_range *o = &c->r[i];

		if (start < (u64)o->start + o->len && o->start < start + len)
			return mcai_fail(c, "overlapping sections", where);
	}
	/* Both fit in 32 bits: checked against c->size above. */
	c->r[c->nr].start = (u32)start;
	c->r[c->nr].len = (u32)len;
	c->r[c->nr].where = where;
	c->nr++;
	return 0;
}

static bool mcai_zero(const void *p, size_t len)
{
	const u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static int mcai_check_name(struct mcai_vctx *c, const char *name)
{
	u32 i;

	for (i = 0; i < MCAI_NAME_LEN && name[i]; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.'))
			return mcai_fail(c, "name has a character outside [A-Za-z0-9_.-]",
					 HDR_OFF(name) + i);
	}
	if (i == 0)
		return mcai_fail(c, "empty name", HDR_OFF(name));
	if (i == MCAI_NAME_LEN)
		return mcai_fail(c, "name not NUL terminated", HDR_OFF(name));
	if (!mcai_zero(name + i, MCAI_NAME_LEN - i))
		return mcai_fail(c, "name padding not zero", HDR_OFF(name) + i);
	return 0;
}

/* An array of @count elements of @elem bytes at data-relative @off. */
static int mcai_array(struct mcai_vctx *c, u64 data_off, u32 off, u64 count,
		      u32 elem, u32 where, const char *what)
{
	if (elem > 1 && off % MCAI_BLOB_ALIGN)
		return mcai_fail(c, "misaligned array", where);
	return mcai_claim(c, data_off + off, count * elem, where, what);
}

static int mcai_verify_fc(struct mcai_vctx *c, struct mcai_layer *l,
			  const u8 *bl, u32 lo, u64 data_off)
{
	u32 woff = mcai_le32(LF(weights_off)), boff = mcai_le32(LF(bias_off));
	u32 moff = mcai_le32(LF(mult_off)), soff = mcai_le32(LF(shift_off));
	u64 nw = (u64)l->in_len * l->out_len;
	u32 i;

	if (l->activation > MCAI_ACT_RELU6)
		return mcai_fail(c, "bad activation for FC layer",
				 lo + LAYER_OFF(activation));
	if (mcai_le32(LF(lut_off)))
		return mcai_fail(c, "FC layer with a LUT", lo + LAYER_OFF(lut_off));
	if (mcai_array(c, data_off, woff, nw, 1, lo + LAYER_OFF(weights_off),
		       "weights out of bounds") ||
	    mcai_array(c, data_off, boff, l->out_len, 4, lo + LAYER_OFF(bias_off),
		       "bias out of bounds") ||
	    mcai_array(c, data_off, moff, l->out_len, 4, lo + LAYER_OFF(mult_off),
		       "multipliers out of bounds") ||
	    mcai_array(c, data_off, soff, l->out_len, 4, lo + LAYER_OFF(shift_off),
		       "shifts out of bounds"))
		return -1;

	l->weights = (const s8 *)(c->blob + data_off + woff);
	l->bias = c->blob + data_off + boff;
	l->mult = c->blob + data_off + moff;
	l->shift = c->blob + data_off + soff;

	/* -128 is excluded so that |w| <= 127 bounds the accumulator. */
	for (i = 0; i < nw; i++)
		if (l->weights[i] == -128)
			return mcai_fail(c, "weight -128 (weights are symmetric)",
					 (u32)(data_off + woff + i));
	for (i = 0; i < l->out_len; i++) {
		s32 mult = mcai_les32(l->mult + 4 * i);
		s32 shift = mcai_les32(l->shift + 4 * i);

		if (mult < 0)
			return mcai_fail(c, "negative multiplier",
					 (u32)(data_off + moff + 4 * i));
		if (shift < -31 || shift > 30)
			return mcai_fail(c, "shift outside -31..30",
					 (u32)(data_off + soff + 4 * i));
	}
	return 0;
}

static int mcai_verify_lut(struct mcai_vctx *c, struct mcai_layer *l,
			   const u8 *bl, u32 lo, u64 data_off)
{
	u32 off = mcai_le32(LF(lut_off));

	if (l->activation != MCAI_ACT_NONE &&
	    l->activation != MCAI_ACT_SIGMOID && l->activation != MCAI_ACT_TANH)
		return mcai_fail(c, "bad activation for LUT layer",
				 lo + LAYER_OFF(activation));
	if (l->in_len != l->out_len)
		return mcai_fail(c, "LUT layer changes the width",
				 lo + LAYER_OFF(out_len));
	if (mcai_le32(LF(weights_off)) || mcai_le32(LF(bias_off)) ||
	    mcai_le32(LF(mult_off)) || mcai_le32(LF(shift_off)))
		return mcai_fail(c, "LUT layer with FC arrays",
				 lo + LAYER_OFF(weights_off));
	if (mcai_array(c, data_off, off, 256, 1, lo + LAYER_OFF(lut_off),
		       "LUT out of bounds"))
		return -1;
	l->lut = (const s8 *)(c->blob + data_off + off);
	return 0;
}

static int mcai_verify_layers(struct mcai_vctx *c, struct mcai_model *m,
			      const struct mcai_limits *lim, u32 layer_off,
			      u64 data_off)
{
	u32 i, widest = 0;

	for (i = 0; i < m->n_layers; i++) {
		u32 lo = layer_off + i * LAYER_SIZE;
		const u8 *bl = c->blob + lo;
		struct mcai_layer *l = &m->layer[i];
		u32 prev_len = i ? m->layer[i - 1].out_len : m->input_len;
		s8 prev_zp = i ? m->layer[i - 1].out_zp : m->input_zp;
		int ret;

		memset(l, 0, sizeof(*l));
		l->type = mcai_le16(LF(type));
		l->activation = *LF(activation);
		l->in_len = mcai_le32(LF(in_len));
		l->out_len = mcai_le32(LF(out_len));
		l->in_zp = (s8)*LF(in_zp);
		l->out_zp = (s8)*LF(out_zp);
		l->clamp_min = (s8)*LF(clamp_min);
		l->clamp_max = (s8)*LF(clamp_max);

		if (*LF(pad0) ||
		    !mcai_zero(LF(reserved), LAYER_RESERVED_LEN))
			return mcai_fail(c, "reserved layer field not zero", lo);
		if (l->in_len == 0 || l->in_len > lim->max_dim)
			return mcai_fail(c, "layer input width out of range",
					 lo + LAYER_OFF(in_len));
		if (l->out_len == 0 || l->out_len > lim->max_dim)
			return mcai_fail(c, "layer output width out of range",
					 lo + LAYER_OFF(out_len));
		if (l->in_len != prev_len)
			return mcai_fail(c, "layer input width does not match its source",
					 lo + LAYER_OFF(in_len));
		if (l->in_zp != prev_zp)
			return mcai_fail(c, "layer input zero point does not match its source",
					 lo + LAYER_OFF(in_zp));
		if (l->clamp_min > l->clamp_max)
			return mcai_fail(c, "clamp_min above clamp_max",
					 lo + LAYER_OFF(clamp_min));

		if (l->type == MCAI_LAYER_FC) {
			ret = mcai_verify_fc(c, l, bl, lo, data_off);
			m->macs += (u64)l->in_len * l->out_len;
		} else if (l->type == MCAI_LAYER_LUT) {
			ret = mcai_verify_lut(c, l, bl, lo, data_off);
		} else {
			ret = mcai_fail(c, "unknown layer type",
					lo + LAYER_OFF(type));
		}
		if (ret)
			return ret;
		if (i + 1 < m->n_layers && l->out_len > widest)
			widest = l->out_len;
	}
	if (m->layer[m->n_layers - 1].out_len != m->output_len)
		return mcai_fail(c, "last layer width is not output_len",
				 HDR_OFF(output_len));
	if (m->layer[m->n_layers - 1].out_zp != m->output_zp)
		return mcai_fail(c, "last layer zero point is not output_zp",
				 HDR_OFF(output_zp));
	/* Two ping-pong buffers, each rounded up to keep the halves aligned. */
	m->arena_size = 2 * ((widest + 3) & ~3U);
	return 0;
}

int mcai_verify(struct mcai_model *m, const void *blob, u32 size,
		const struct mcai_limits *lim, struct mcai_verdict *v)
{
	const u8 *h = blob;
	struct mcai_vctx c = { .blob = blob, .v = v };
	u8 digest[MCAI_SHA256_LEN];
	u32 hdr_size, layer_off, data_off, data_size, tv_off, arena;
	u64 tv_len;

	memset(m, 0, sizeof(*m));
	v->reason = NULL;
	v->offset = 0;

	if (size > lim->max_blob_size)
		return mcai_fail(&c, "blob larger than max_blob_size", 0);
	if (size < HDR_SIZE + MCAI_DIGEST_LEN)
		return mcai_fail(&c, "blob shorter than header and digest", 0);
	if (mcai_le32(HF(magic)) != MCAI_BLOB_MAGIC)
		return mcai_fail(&c, "bad magic", HDR_OFF(magic));
	if (mcai_le16(HF(format_version)) != MCAI_BLOB_VERSION)
		return mcai_fail(&c, "unsupported format version",
				 HDR_OFF(format_version));
	hdr_size = mcai_le16(HF(header_size));
	if (hdr_size != HDR_SIZE)
		return mcai_fail(&c, "bad header size", HDR_OFF(header_size));
	if (mcai_le32(HF(total_size)) != size)
		return mcai_fail(&c, "total_size does not match the blob length",
				 HDR_OFF(total_size));

	/* Integrity before meaning: a corrupted blob is reported as such. */
	c.size = size - MCAI_DIGEST_LEN;
	mcai_sha256(blob, c.size, digest);
	if (memcmp(digest, c.blob + c.size, MCAI_DIGEST_LEN))
		return mcai_fail(&c, "SHA-256 digest mismatch", c.size);

	if (mcai_le32(HF(flags)))
		return mcai_fail(&c, "unknown flags", HDR_OFF(flags));
	if (!mcai_zero(HF(reserved), HDR_RESERVED_LEN))
		return mcai_fail(&c, "reserved header field not zero",
				 HDR_OFF(reserved));
	if (mcai_check_name(&c, (const char *)HF(name)))
		return -1;
	memcpy(m->name, HF(name), MCAI_NAME_LEN);

	m->blob = blob;
	m->blob_size = size;
	m->digest = c.blob + c.size;
	m->version = mcai_le32(HF(model_version));
	m->n_layers = mcai_le32(HF(n_layers));
	m->input_len = mcai_le32(HF(input_len));
	m->output_len = mcai_le32(HF(output_len));
	m->input_scale = mcai_le32(HF(input_scale));
	m->output_scale = mcai_le32(HF(output_scale));
	m->input_zp = (s8)*HF(input_zp);
	m->output_zp = (s8)*HF(output_zp);
	m->head = *HF(head);
	m->head_threshold = (s8)*HF(head_threshold);
	m->tv_count = mcai_le32(HF(tv_count));

	if (m->version == 0)
		return mcai_fail(&c, "model version 0", HDR_OFF(model_version));
	if (m->n_layers == 0 || m->n_layers > lim->max_layers ||
	    m->n_layers > MCAI_BLOB_MAX_LAYERS)
		return mcai_fail(&c, "layer count out of range", HDR_OFF(n_layers));
	if (m->input_len == 0 || m->input_len > lim->max_dim)
		return mcai_fail(&c, "input_len out of range", HDR_OFF(input_len));
	if (m->output_len == 0 || m->output_len > lim->max_dim)
		return mcai_fail(&c, "output_len out of range", HDR_OFF(output_len));
	if (m->head == MCAI_HEAD_THRESHOLD) {
		if (m->output_len != 1)
			return mcai_fail(&c, "threshold head needs one output",
					 HDR_OFF(head));
	} else if (m->head != MCAI_HEAD_ARGMAX) {
		return mcai_fail(&c, "unknown head", HDR_OFF(head));
	} else if (m->head_threshold) {
		return mcai_fail(&c, "threshold set on an argmax head",
				 HDR_OFF(head_threshold));
	}

	/* Sections: header, layer table, data, test vectors; no overlaps. */
	layer_off = mcai_le32(HF(layer_off));
	data_off = mcai_le32(HF(data_off));
	data_size = mcai_le32(HF(data_size));
	tv_off = mcai_le32(HF(tv_off));
	if (mcai_claim(&c, 0, HDR_SIZE, 0, "header out of bounds"))
		return -1;
	if (layer_off % MCAI_BLOB_ALIGN || data_off % MCAI_BLOB_ALIGN)
		return mcai_fail(&c, "misaligned section", HDR_OFF(layer_off));
	if (mcai_claim(&c, layer_off,
		       (u64)m->n_layers * LAYER_SIZE,
		       HDR_OFF(layer_off), "layer table out of bounds"))
		return -1;
	/* The data section is one range; arrays inside it are claimed below. */
	if (data_off > c.size || data_size > c.size - data_off)
		return mcai_fail(&c, "data section out of bounds", HDR_OFF(data_off));
	tv_len = (u64)m->tv_count * ((u64)m->input_len + m->output_len);
	if (m->tv_count == 0 && tv_off)
		return mcai_fail(&c, "tv_off set without test vectors", HDR_OFF(tv_off));
	if (tv_off < (u64)data_off + data_size && data_off < (u64)tv_off + tv_len)
		return mcai_fail(&c, "overlapping sections", HDR_OFF(tv_off));
	if (mcai_claim(&c, tv_off, tv_len, HDR_OFF(tv_off),
		       "test vectors out of bounds"))
		return -1;
	m->tv = (const s8 *)(c.blob + tv_off);

	/* Arrays must lie in the data section: shrink the view to it. */
	{
		u32 whole = c.size;
		u32 i;
		int ret;

		for (i = 0; i < c.nr; i++)
			if (c.r[i].start < (u64)data_off + data_size &&
			    data_off < (u64)c.r[i].start + c.r[i].len)
				return mcai_fail(&c, "overlapping sections",
						 HDR_OFF(data_off));
		c.size = data_off + data_size;
		ret = mcai_verify_layers(&c, m, lim, layer_off, data_off);
		c.size = whole;
		if (ret)
			return ret;
	}

	arena = mcai_le32(HF(arena_size));
	if (arena < m->arena_size)
		return mcai_fail(&c, "arena_size too small for the layers",
				 HDR_OFF(arena_size));
	if (arena > lim->max_arena)
		return mcai_fail(&c, "arena_size above max_arena",
				 HDR_OFF(arena_size));
	return 0;
}
