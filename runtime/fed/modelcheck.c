// SPDX-License-Identifier: GPL-2.0
/* A model blob checked in user space as the kernel checks it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/modelcheck.h"
#include "runtime/fed/sigtrailer.h"

/* Either format, the state of a v2 graph allocated here. */
static int mcai_model_load_checked(struct mcai_model *m, const uint8_t *blob,
				   u32 len, const struct mcai_limits *lim,
				   struct mcai_verdict *v)
{
	void *state = NULL;
	u32 need;

	memset(m, 0, sizeof(*m));
	if (mcai_model_state_size(blob, len, lim, &need, v))
		return -1;
	if (need && !(state = aligned_alloc(8, (need + 7) & ~7U))) {
		v->reason = "out of memory";
		v->offset = 0;
		return -1;
	}
	if (mcai_model_verify(m, blob, len, lim, state, need, v)) {
		free(state);
		return -1;
	}
	return 0;
}

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
	return mcai_model_load_checked(m, blob, (u32)len, lim, v);
}

void mcai_model_check_free(struct mcai_model *m)
{
	free(m->state);
	m->state = NULL;
	m->graph = NULL;
}

int mcai_model_check_vectors(const struct mcai_model *m, u32 *failed)
{
	void *arena = aligned_alloc(8, m->arena_size + 8);
	void *scores = malloc(m->output_len ? m->output_len : 1);
	int ret = -ENOMEM;
	u32 t;

	if (arena && scores) {
		ret = 0;
		for (t = 0; t < m->tv_count && !ret; t++)
			if (mcai_model_check_vector(m, t, arena, scores)) {
				*failed = t;
				ret = -1;
			}
	}
	free(arena);
	free(scores);
	return ret;
}
