// SPDX-License-Identifier: GPL-2.0
/*
 * Blob writer.  Layout: header, layer table, data (each array 4-byte
 * aligned), test vectors, digest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/train/writer.h"
#include "models/engine/verify.h"
#include "models/engine/engine.h"
#include "models/engine/sha256.h"

static u32 align4(u64 v)
{
	return (u32)((v + 3) & ~3ULL);
}

static u32 fbits(float f)
{
	u32 u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/* Copy an s32 array little endian at data + *off, advance *off. */
static u32 put_s32s(u8 *data, u32 *off, const s32 *v, u32 n)
{
	u32 at = *off, i;

	for (i = 0; i < n; i++)
		mcai_put_le32(data + at + 4 * i, (u32)v[i]);
	*off = align4((u64)at + 4ULL * n);
	return at;
}

static u32 put_bytes(u8 *data, u32 *off, const void *v, u64 n)
{
	u32 at = *off;

	memcpy(data + at, v, n);
	*off = align4(at + n);
	return at;
}

u8 *mcai_blob_write(const struct mcai_blob_spec *s, u32 *size, char *err,
		    size_t errlen)
{
	const u32 hdr = sizeof(struct mcai_blob_header);
	const u32 lsz = sizeof(struct mcai_blob_layer);
	u64 data_size = 0, total, tv_len = 0;
	u32 in_len, out_len, widest = 0, i, off = 0, layer_off, data_off, tv_off;
	struct mcai_limits lim = {
		.max_blob_size = U32_MAX, .max_layers = MCAI_BLOB_MAX_LAYERS,
		.max_dim = MCAI_MAX_DIM, .max_arena = U32_MAX,
		.max_macs = ~0ULL,
	};
	struct mcai_verdict v;
	struct mcai_model m;
	u8 *blob = NULL, *data;
	s8 *arena = NULL;

	if (!s->n_layers || s->n_layers > MCAI_BLOB_MAX_LAYERS) {
		snprintf(err, errlen, "layer count %u out of range 1..%u",
			 s->n_layers, MCAI_BLOB_MAX_LAYERS);
		return NULL;
	}
	if (!s->name || strlen(s->name) >= MCAI_NAME_LEN) {
		snprintf(err, errlen, "model name missing or longer than %u",
			 MCAI_NAME_LEN - 1);
		return NULL;
	}
	in_len = s->layer[0].in_len;
	out_len = s->layer[s->n_layers - 1].out_len;
	for (i = 0; i < s->n_layers; i++) {
		const struct mcai_layer_spec *l = &s->layer[i];

		if (l->type == MCAI_LAYER_FC)
			data_size += align4((u64)l->in_len * l->out_len) +
				     12ULL * l->out_len;
		else
			data_size += 256;
		if (i + 1 < s->n_layers && l->out_len > widest)
			widest = l->out_len;
	}
	tv_len = (u64)s->tv_count * (in_len + out_len);
	layer_off = hdr;
	data_off = layer_off + s->n_layers * lsz;
	tv_off = s->tv_count ? (u32)(data_off + data_size) : 0;
	total = data_off + data_size + align4(tv_len) + MCAI_DIGEST_LEN;
	if (total > U32_MAX) {
		snprintf(err, errlen, "model too large for format v1");
		return NULL;
	}

	blob = calloc(1, total);
	if (!blob) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, magic), MCAI_BLOB_MAGIC);
	mcai_put_le16(blob + offsetof(struct mcai_blob_header, format_version),
	      MCAI_BLOB_VERSION);
	mcai_put_le16(blob + offsetof(struct mcai_blob_header, header_size), hdr);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, total_size), (u32)total);
	memcpy(blob + offsetof(struct mcai_blob_header, name), s->name,
	       strlen(s->name));
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, model_version), s->version);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, n_layers), s->n_layers);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, layer_off), layer_off);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, data_off), data_off);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, data_size), (u32)data_size);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, tv_off), tv_off);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, tv_count), s->tv_count);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, input_len), in_len);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, output_len), out_len);
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, arena_size),
	      2 * align4(widest));
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, input_scale),
	      fbits(s->input_scale));
	mcai_put_le32(blob + offsetof(struct mcai_blob_header, output_scale),
	      fbits(s->output_scale));
	blob[offsetof(struct mcai_blob_header, input_zp)] = (u8)s->layer[0].in_zp;
	blob[offsetof(struct mcai_blob_header, output_zp)] =
		(u8)s->layer[s->n_layers - 1].out_zp;
	blob[offsetof(struct mcai_blob_header, head)] = s->head;
	blob[offsetof(struct mcai_blob_header, head_threshold)] =
		(u8)s->head_threshold;

	data = blob + data_off;
	for (i = 0; i < s->n_layers; i++) {
		const struct mcai_layer_spec *l = &s->layer[i];
		u8 *bl = blob + layer_off + i * lsz;

		mcai_put_le16(bl + offsetof(struct mcai_blob_layer, type), l->type);
		bl[offsetof(struct mcai_blob_layer, activation)] = l->activation;
		mcai_put_le32(bl + offsetof(struct mcai_blob_layer, in_len), l->in_len);
		mcai_put_le32(bl + offsetof(struct mcai_blob_layer, out_len), l->out_len);
		bl[offsetof(struct mcai_blob_layer, in_zp)] = (u8)l->in_zp;
		bl[offsetof(struct mcai_blob_layer, out_zp)] = (u8)l->out_zp;
		bl[offsetof(struct mcai_blob_layer, clamp_min)] = (u8)l->clamp_min;
		bl[offsetof(struct mcai_blob_layer, clamp_max)] = (u8)l->clamp_max;
		if (l->type == MCAI_LAYER_FC) {
			mcai_put_le32(bl + offsetof(struct mcai_blob_layer, weights_off),
			      put_bytes(data, &off, l->weights,
					(u64)l->in_len * l->out_len));
			mcai_put_le32(bl + offsetof(struct mcai_blob_layer, bias_off),
			      put_s32s(data, &off, l->bias, l->out_len));
			mcai_put_le32(bl + offsetof(struct mcai_blob_layer, mult_off),
			      put_s32s(data, &off, l->mult, l->out_len));
			mcai_put_le32(bl + offsetof(struct mcai_blob_layer, shift_off),
			      put_s32s(data, &off, l->shift, l->out_len));
		} else {
			mcai_put_le32(bl + offsetof(struct mcai_blob_layer, lut_off),
			      put_bytes(data, &off, l->lut, 256));
		}
	}

	/*
	 * Expected test vector scores come from the engine, so they are
	 * written in a second pass: verify without vectors first.
	 */
	if (s->tv_count) {
		for (i = 0; i < s->tv_count; i++)
			memcpy(blob + tv_off + (size_t)i * (in_len + out_len),
			       s->tv_inputs + (size_t)i * in_len, in_len);
	}
	mcai_sha256(blob, total - MCAI_DIGEST_LEN, blob + total - MCAI_DIGEST_LEN);
	if (mcai_verify(&m, blob, (u32)total, &lim, &v)) {
		snprintf(err, errlen, "written blob fails verification: %s (offset %u)",
			 v.reason, v.offset);
		goto fail;
	}
	if (s->tv_count) {
		arena = malloc(m.arena_size + 1);
		if (!arena) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (i = 0; i < s->tv_count; i++) {
			u8 *rec = blob + tv_off + (size_t)i * (in_len + out_len);

			mcai_engine_run(&m, (const s8 *)rec, (s8 *)rec + in_len,
					arena);
		}
		free(arena);
		mcai_sha256(blob, total - MCAI_DIGEST_LEN,
			    blob + total - MCAI_DIGEST_LEN);
	}
	*size = (u32)total;
	return blob;
fail:
	free(blob);
	return NULL;
}

u8 *mcai_blob_read(const char *path, u32 max, u32 *size, char *err,
		   size_t errlen)
{
	FILE *f = fopen(path, "rb");
	u8 *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		snprintf(err, errlen, "%s: cannot seek: %s", path,
			 strerror(errno));
		goto out;
	}
	if (n == 0 || (unsigned long)n > max) {
		snprintf(err, errlen, "%s: %ld bytes is not a plausible blob (1..%u)",
			 path, n, max);
		goto out;
	}
	buf = malloc((size_t)n);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s: short read", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	*size = (u32)n;
out:
	fclose(f);
	return buf;
}
