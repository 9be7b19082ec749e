// SPDX-License-Identifier: GPL-2.0
/*
 * .npy and TensorProto .pb tensors (tensorfile.h).  The .pb side is the
 * generated protobuf-c code for onnx.proto's TensorProto; the .npy side
 * parses the format's small header dictionary, strictly: the keys NumPy
 * writes, C order, little-endian or byte-sized types.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/gen/onnx/onnx.pb-c.h"
#include "models/import/tensorfile.h"

static int tf_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

size_t mcai_tensor_elem_size(int type)
{
	switch (type) {
	case MCAI_TF_UINT8:
	case MCAI_TF_INT8:
		return 1;
	case MCAI_TF_INT16:
		return 2;
	case MCAI_TF_FLOAT:
	case MCAI_TF_INT32:
		return 4;
	case MCAI_TF_INT64:
	case MCAI_TF_DOUBLE:
		return 8;
	}
	return 0;
}

void mcai_tensor_free(struct mcai_tensor *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}

bool mcai_tensor_is_npy(const char *path, const u8 *buf, size_t len)
{
	size_t n = path ? strlen(path) : 0;

	if (n >= 4 && !strcmp(path + n - 4, ".npy"))
		return true;
	if (n >= 3 && !strcmp(path + n - 3, ".pb"))
		return false;
	return len >= 6 && !memcmp(buf, "\x93NUMPY", 6);
}

/* Product of the dims, each and all bounded. */
static int tf_count(struct mcai_tensor *t, char *err, size_t errlen)
{
	u32 k;

	t->count = 1;
	for (k = 0; k < t->rank; k++) {
		if (t->dims[k] > MCAI_TF_MAX_ELEMS)
			return tf_fail(err, errlen, "dimension %llu too large",
				       (unsigned long long)t->dims[k]);
		t->count *= t->dims[k];
		if (t->count > MCAI_TF_MAX_ELEMS)
			return tf_fail(err, errlen, "more than %u elements",
				       MCAI_TF_MAX_ELEMS);
	}
	return 0;
}

static const struct {
	const char *descr;
	int type;
} tf_descr[] = {
	{ "<f4", MCAI_TF_FLOAT }, { "<f8", MCAI_TF_DOUBLE },
	{ "|i1", MCAI_TF_INT8 }, { "|u1", MCAI_TF_UINT8 },
	{ "<i2", MCAI_TF_INT16 }, { "<i4", MCAI_TF_INT32 },
	{ "<i8", MCAI_TF_INT64 },
};

/* The value after "'key':" in the header dict, or NULL. */
static const char *tf_key(const char *h, const char *key)
{
	const char *p = strstr(h, key);

	if (!p)
		return NULL;
	p += strlen(key);
	while (*p == ' ')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

int mcai_tensor_parse_npy(struct mcai_tensor *t, const u8 *buf, size_t len,
			  char *err, size_t errlen)
{
	size_t hl, off, k;
	char *h;
	const char *p;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	if (len < 10 || memcmp(buf, "\x93NUMPY", 6))
		return tf_fail(err, errlen, "not a .npy file (no magic)");
	if (buf[6] == 1) {
		hl = buf[8] | (size_t)buf[9] << 8;
		off = 10;
	} else if (buf[6] == 2 || buf[6] == 3) {
		if (len < 12)
			return tf_fail(err, errlen, "truncated .npy header");
		hl = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
		     (size_t)buf[11] << 24;
		off = 12;
	} else {
		return tf_fail(err, errlen, ".npy format version %u not supported", buf[6]);
	}
	if (hl > 65536 || hl > len - off)
		return tf_fail(err, errlen, "truncated .npy header");
	h = malloc(hl + 1);
	if (!h)
		return tf_fail(err, errlen, "out of memory");
	memcpy(h, buf + off, hl);
	h[hl] = 0;
	if (strlen(h) != hl) {
		tf_fail(err, errlen, ".npy header holds a NUL");
		goto out;
	}
	p = tf_key(h, "'descr'");
	for (k = 0; p && k < sizeof(tf_descr) / sizeof(tf_descr[0]); k++)
		if (!strncmp(p, "'", 1) && !strncmp(p + 1, tf_descr[k].descr, 3) &&
		    p[4] == '\'')
			t->type = tf_descr[k].type;
	if (!t->type) {
		tf_fail(err, errlen, ".npy dtype not supported (float32/64, int8/16/32/64, uint8, little-endian)");
		goto out;
	}
	p = tf_key(h, "'fortran_order'");
	if (!p || strncmp(p, "False", 5)) {
		tf_fail(err, errlen, ".npy not in C order");
		goto out;
	}
	p = tf_key(h, "'shape'");
	if (!p || *p != '(') {
		tf_fail(err, errlen, ".npy header has no shape");
		goto out;
	}
	p++;
	for (;;) {
		char *end;
		unsigned long long v;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == ')')
			break;
		if (*p < '0' || *p > '9' || t->rank >= MCAI_TF_MAX_RANK) {
			tf_fail(err, errlen, ".npy shape malformed or of rank above %d",
				MCAI_TF_MAX_RANK);
			goto out;
		}
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || end == p) {
			tf_fail(err, errlen, ".npy shape malformed");
			goto out;
		}
		t->dims[t->rank++] = v;
		p = end;
	}
	if (tf_count(t, err, errlen))
		goto out;
	off += hl;
	if ((u64)(len - off) != t->count * mcai_tensor_elem_size(t->type)) {
		tf_fail(err, errlen, ".npy holds %zu data bytes, its shape needs %llu",
			len - off, (unsigned long long)(t->count *
			mcai_tensor_elem_size(t->type)));
		goto out;
	}
	t->data = malloc(len - off ? len - off : 1);
	if (!t->data) {
		tf_fail(err, errlen, "out of memory");
		goto out;
	}
	memcpy(t->data, buf + off, len - off);
	ret = 0;
out:
	free(h);
	if (ret)
		mcai_tensor_free(t);
	return ret;
}

int mcai_tensor_parse_pb(struct mcai_tensor *t, const u8 *buf, size_t len,
			 char *err, size_t errlen)
{
	Onnx__TensorProto *p;
	size_t es, k, have;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	p = onnx__tensor_proto__unpack(NULL, len, buf);
	if (!p)
		return tf_fail(err, errlen, "not a TensorProto: protobuf-c cannot unpack it");
	t->type = p->has_data_type ? p->data_type : 0;
	es = mcai_tensor_elem_size(t->type);
	if (!es) {
		tf_fail(err, errlen, "TensorProto element type %d not supported", t->type);
		goto out;
	}
	if (p->n_dims > MCAI_TF_MAX_RANK) {
		tf_fail(err, errlen, "TensorProto of rank %zu, at most %d", p->n_dims,
			MCAI_TF_MAX_RANK);
		goto out;
	}
	t->rank = (u32)p->n_dims;
	for (k = 0; k < p->n_dims; k++) {
		if (p->dims[k] < 0) {
			tf_fail(err, errlen, "TensorProto dimension %lld negative",
				(long long)p->dims[k]);
			goto out;
		}
		t->dims[k] = (u64)p->dims[k];
	}
	if (tf_count(t, err, errlen))
		goto out;
	if (p->name)
		snprintf(t->name, sizeof(t->name), "%s", p->name);
	if (p->has_data_location &&
	    p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
		tf_fail(err, errlen, "TensorProto with external data not supported");
		goto out;
	}
	t->data = malloc(t->count * es + 1);
	if (!t->data) {
		tf_fail(err, errlen, "out of memory");
		goto out;
	}
	if (p->has_raw_data) {
		if (p->raw_data.len != t->count * es) {
			tf_fail(err, errlen, "TensorProto holds %zu bytes, its shape needs %llu",
				p->raw_data.len, (unsigned long long)(t->count * es));
			goto out;
		}
		/* an empty tensor's raw_data may be a NULL pointer */
		if (p->raw_data.len)
			memcpy(t->data, p->raw_data.data, p->raw_data.len);
		ret = 0;
		goto out;
	}
	have = t->type == MCAI_TF_FLOAT ? p->n_float_data :
	       t->type == MCAI_TF_INT64 ? p->n_int64_data :
	       t->type == MCAI_TF_DOUBLE ? p->n_double_data : p->n_int32_data;
	if (have != t->count) {
		tf_fail(err, errlen, "TensorProto holds %zu values, its shape needs %llu",
			have, (unsigned long long)t->count);
		goto out;
	}
	for (k = 0; k < t->count; k++) {
		switch (t->type) {
		case MCAI_TF_FLOAT:
			((float *)t->data)[k] = p->float_data[k];
			break;
		case MCAI_TF_INT64:
			((s64 *)t->data)[k] = p->int64_data[k];
			break;
		case MCAI_TF_DOUBLE:
			((double *)t->data)[k] = p->double_data[k];
			break;
		case MCAI_TF_INT32:
			((s32 *)t->data)[k] = p->int32_data[k];
			break;
		case MCAI_TF_INT16:
			((s16 *)t->data)[k] = (s16)p->int32_data[k];
			break;
		default:
			((u8 *)t->data)[k] = (u8)p->int32_data[k];
			break;
		}
	}
	ret = 0;
out:
	onnx__tensor_proto__free_unpacked(p, NULL);
	if (ret)
		mcai_tensor_free(t);
	return ret;
}

int mcai_tensor_read(struct mcai_tensor *t, const char *path, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "rb");
	u8 *buf = NULL;
	size_t len = 0, cap = 0, n;
	int ret;

	memset(t, 0, sizeof(*t));
	if (!f)
		return tf_fail(err, errlen, "%s: %s", path, strerror(errno));
	for (;;) {
		if (len == cap) {
			u8 *nb;

			if (cap >= (size_t)4 * MCAI_TF_MAX_ELEMS) {
				fclose(f);
				free(buf);
				return tf_fail(err, errlen, "%s: too large", path);
			}
			cap = cap ? 2 * cap : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return tf_fail(err, errlen, "out of memory");
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (!n)
			break;
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return tf_fail(err, errlen, "%s: read error", path);
	}
	fclose(f);
	ret = mcai_tensor_is_npy(path, buf, len) ?
	      mcai_tensor_parse_npy(t, buf, len, err, errlen) :
	      mcai_tensor_parse_pb(t, buf, len, err, errlen);
	free(buf);
	return ret;
}

u8 *mcai_tensor_npy_bytes(const struct mcai_tensor *t, size_t *len)
{
	char hdr[256], shape[160] = "";
	size_t hl, k, dl = t->count * mcai_tensor_elem_size(t->type), pos = 0;
	const char *descr = "<f4";
	u8 *b;

	for (k = 0; k < sizeof(tf_descr) / sizeof(tf_descr[0]); k++)
		if (tf_descr[k].type == t->type)
			descr = tf_descr[k].descr;
	for (k = 0; k < t->rank && pos < sizeof(shape) - 24; k++)
		pos += (size_t)snprintf(shape + pos, sizeof(shape) - pos, "%llu,%s",
					(unsigned long long)t->dims[k],
					k + 1 < t->rank || t->rank == 1 ? "" : "");
	if (pos && t->rank > 1)
		shape[pos - 1] = 0;	/* (a,b) but (a,) */
	hl = (size_t)snprintf(hdr, sizeof(hdr),
			      "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
			      descr, shape);
	/* pad so the data starts 64-byte aligned, header ends in \n */
	while ((10 + hl + 1) % 64 && hl < sizeof(hdr) - 2)
		hdr[hl++] = ' ';
	hdr[hl++] = '\n';
	b = malloc(10 + hl + dl);
	if (!b)
		return NULL;
	memcpy(b, "\x93NUMPY\x01\x00", 8);
	b[8] = (u8)hl;
	b[9] = (u8)(hl >> 8);
	memcpy(b + 10, hdr, hl);
	memcpy(b + 10 + hl, t->data, dl);
	*len = 10 + hl + dl;
	return b;
}

u8 *mcai_tensor_pb_bytes(const struct mcai_tensor *t, size_t *len)
{
	Onnx__TensorProto p = ONNX__TENSOR_PROTO__INIT;
	int64_t dims[MCAI_TF_MAX_RANK];
	u8 *b;
	u32 k;

	for (k = 0; k < t->rank; k++)
		dims[k] = (int64_t)t->dims[k];
	p.n_dims = t->rank;
	p.dims = dims;
	p.has_data_type = 1;
	p.data_type = t->type;
	if (t->name[0])
		p.name = (char *)t->name;
	p.has_raw_data = 1;
	p.raw_data.len = t->count * mcai_tensor_elem_size(t->type);
	p.raw_data.data = t->data;
	*len = onnx__tensor_proto__get_packed_size(&p);
	b = malloc(*len ? *len : 1);
	if (b)
		onnx__tensor_proto__pack(&p, b);
	return b;
}

int mcai_tensor_write(const struct mcai_tensor *t, const char *path,
		      char *err, size_t errlen)
{
	size_t len;
	u8 *b = mcai_tensor_is_npy(path, NULL, 0) ?
		mcai_tensor_npy_bytes(t, &len) : mcai_tensor_pb_bytes(t, &len);
	FILE *f;
	int ok;

	if (!b)
		return tf_fail(err, errlen, "out of memory");
	f = fopen(path, "wb");
	if (!f) {
		free(b);
		return tf_fail(err, errlen, "%s: %s", path, strerror(errno));
	}
	ok = fwrite(b, 1, len, f) == len;
	ok &= fclose(f) == 0;
	free(b);
	return ok ? 0 : tf_fail(err, errlen, "%s: write failed", path);
}

void mcai_tensor_to_float(const struct mcai_tensor *t, float *out)
{
	u64 k;

	for (k = 0; k < t->count; k++) {
		switch (t->type) {
		case MCAI_TF_FLOAT:
			out[k] = ((const float *)t->data)[k];
			break;
		case MCAI_TF_DOUBLE:
			out[k] = (float)((const double *)t->data)[k];
			break;
		case MCAI_TF_INT8:
			out[k] = ((const s8 *)t->data)[k];
			break;
		case MCAI_TF_UINT8:
			out[k] = ((const u8 *)t->data)[k];
			break;
		case MCAI_TF_INT16:
			out[k] = ((const s16 *)t->data)[k];
			break;
		case MCAI_TF_INT32:
			out[k] = (float)((const s32 *)t->data)[k];
			break;
		default:
			out[k] = (float)((const s64 *)t->data)[k];
			break;
		}
	}
}
