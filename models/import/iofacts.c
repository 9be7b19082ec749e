// SPDX-License-Identifier: GPL-2.0
/*
 * The io-name suffix of imported blobs (iofacts.h): the only place that
 * knows its spelling, so the importer and `mcaictl run` cannot drift.
 */
#include <string.h>

#include "models/import/iofacts.h"

void mcai_iofacts_parse(const char *name, struct mcai_iofacts *f)
{
	const char *s = NULL, *p;

	memset(f, 0, sizeof(*f));
	for (p = name; (p = strstr(p, "__")); p++)
		s = p;
	if (!s)
		return;
	s += 2;
	if (*s != 'f' && *s != 'i' && *s != 'u')
		return;
	if (strspn(s + 1, "tc") != strlen(s + 1))
		return;
	f->tagged = true;
	f->is_float = *s == 'f';
	f->is_uint8 = *s == 'u';
	f->nchw = strchr(s + 1, 't') != NULL;
	f->classifier = strchr(s + 1, 'c') != NULL;
}

void mcai_iofacts_name(const char *onnx, const struct mcai_iofacts *f,
		       char out[MCAI_BLOB2_IO_NAME_LEN])
{
	char suf[8];
	size_t n = 0, room, i;

	suf[n++] = '_';
	suf[n++] = '_';
	suf[n++] = f->is_float ? 'f' : f->is_uint8 ? 'u' : 'i';
	if (f->nchw)
		suf[n++] = 't';
	if (f->classifier)
		suf[n++] = 'c';
	suf[n] = 0;
	room = MCAI_BLOB2_IO_NAME_LEN - 1 - n;
	memset(out, 0, MCAI_BLOB2_IO_NAME_LEN);
	for (i = 0; onnx[i] && i < room; i++) {
		char c = onnx[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-' ||
			  c == '_';

		out[i] = ok ? c : '_';
	}
	if (!i)
		out[i++] = 'x';
	memcpy(out + i, suf, n);
}

u32 mcai_iofacts_onnx_shape(const u32 dims[4], u32 rank, bool nchw,
			    u32 out[4])
{
	u32 k;

	if (nchw && rank == 4) {
		out[0] = dims[0];
		out[1] = dims[3];
		out[2] = dims[1];
		out[3] = dims[2];
	} else if (nchw && rank == 3) {
		/* N, C, L lives as (1, N, L, C) */
		out[0] = dims[1];
		out[1] = dims[3];
		out[2] = dims[2];
	} else {
		for (k = 0; k < rank; k++)
			out[k] = dims[4 - rank + k];
	}
	return rank;
}
