// SPDX-License-Identifier: GPL-2.0
/* A model blob checked in user space as the kernel checks it. */
#include <errno.h>
#include <stdlib.h>

#include "runtime/fed/modelcheck.h"
#include "runtime/fed/sigtrailer.h"
#include "models/engine/engine.h"
#include "models/engine/verify.h"

int mcai_model_check_blob(struct mcai_model *m, const uint8_t *blob,
			  size_t size, const struct mcai_limits *lim,
			  struct mcai_verdict *v)
{
	uint32_t blob_len, sig_len;
	const char *why = NULL;
	size_t len = size;
	int sig;

	/* a signed blob: verify what is signed, the module checks the rest */
	sig = mcai_sig_trailer_parse(blob, size, &blob_len, &sig_len, &why);
	if (sig < 0) {
		v->reason = why;
		v->offset = (u32)(size > UINT32_MAX ? UINT32_MAX : size);
		return -1;
	}
	if (sig > 0)
		len = blob_len;
	if (len > UINT32_MAX) {
		v->reason = "larger than 4 GiB";
		v->offset = UINT32_MAX;
		return -1;
	}
	return mcai_verify(m, blob, (u32)len, lim, v) ? -1 : 0;
}

int mcai_model_check_vectors(const struct mcai_model *m, u32 *failed)
{
	void *arena = malloc(m->arena_size ? m->arena_size : 1);
	s8 *scores = malloc(m->output_len ? m->output_len : 1);
	int ret = -ENOMEM;

	if (arena && scores)
		ret = mcai_engine_check_vectors(m, arena, scores, failed) ?
		      -1 : 0;
	free(arena);
	free(scores);
	return ret;
}
