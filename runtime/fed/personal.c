// SPDX-License-Identifier: GPL-2.0
/*
 * Personalised federated learning (FedPer, Ditto), see personal.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/personal.h"

static const char *const pers_names[] = {
	[MCAI_PERS_NONE] = "none",
	[MCAI_PERS_FEDPER] = "fedper",
	[MCAI_PERS_DITTO] = "ditto",
};

#define N_PERS (sizeof(pers_names) / sizeof(pers_names[0]))

const char *mcai_pers_kind_name(enum mcai_pers_kind k)
{
	return (unsigned int)k < N_PERS ? pers_names[k] : "?";
}

int mcai_pers_kind_parse(const char *name, enum mcai_pers_kind *k)
{
	u32 i;

	for (i = 0; name && i < N_PERS; i++)
		if (!strcmp(name, pers_names[i])) {
			*k = (enum mcai_pers_kind)i;
			return 0;
		}
	return -EINVAL;
}

int mcai_pers_layers_parse(const char *spec, u32 n_layers, u32 *mask)
{
	const char *p = spec;
	u32 m = 0;

	if (!spec || !*spec || !n_layers || n_layers > MCAI_MLP_MAX_LAYERS)
		return -EINVAL;
	while (*p) {
		long v;
		char *end;

		if (!strncmp(p, "head", 4)) {
			v = -1;
			end = (char *)p + 4;
		} else {
			v = strtol(p, &end, 10);
			if (end == p)
				return -EINVAL;
		}
		if (v < 0)
			v += n_layers;
		if (v < 0 || v >= (long)n_layers)
			return -EINVAL;
		m |= 1u << v;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -EINVAL;
		p = end;
	}
	/* A model with nothing shared is not federated at all. */
	if (m == (1u << n_layers) - 1)
		return -EINVAL;
	*mask = m;
	return 0;
}

int mcai_pers_split_init(struct mcai_pers_split *s, const u32 *dims,
			 u32 n_dims, u32 mask)
{
	u64 off = 0;
	u32 l;

	memset(s, 0, sizeof(*s));
	if (n_dims < 2 || n_dims > MCAI_MLP_MAX_LAYERS + 1 ||
	    mask >> (n_dims - 1) || mask == (1u << (n_dims - 1)) - 1)
		return -EINVAL;
	for (l = 0; l + 1 < n_dims; l++) {
		const u64 len = (u64)dims[l] * dims[l + 1] + dims[l + 1];

		if (!dims[l] || !dims[l + 1] || off + len > U32_MAX)
			return -EINVAL;
		if (mask & (1u << l)) {
			s->personal[s->n_ranges].off = (u32)off;
			s->personal[s->n_ranges].len = (u32)len;
			s->n_ranges++;
		}
		off += len;
	}
	s->n_params = (u32)off;
	s->n_shared = s->n_params;
	for (l = 0; l < s->n_ranges; l++)
		s->n_shared -= s->personal[l].len;
	return 0;
}

bool mcai_pers_is_personal(const struct mcai_pers_split *s, u32 i)
{
	u32 r;

	for (r = 0; r < s->n_ranges; r++)
		if (i >= s->personal[r].off &&
		    i - s->personal[r].off < s->personal[r].len)
			return true;
	return false;
}

/*
 * The shared stretches between the personal ranges, in order: calls
 * fn(full offset, shared offset, length) for each.
 */
#define FOR_SHARED(s, FN)						\
	do {								\
		u32 _at = 0, _sh = 0, _r;				\
									\
		for (_r = 0; _r <= (s)->n_ranges; _r++) {		\
			const u32 _end = _r < (s)->n_ranges ?		\
				(s)->personal[_r].off : (s)->n_params;	\
									\
			if (_end > _at)					\
				FN(_at, _sh, _end - _at);		\
			_sh += _end - _at;				\
			if (_r < (s)->n_ranges)				\
				_at = _end + (s)->personal[_r].len;	\
		}							\
	} while (0)

void mcai_pers_pack(const struct mcai_pers_split *s, const float *full,
		    float *shared)
{
	/* memmove: in place the shared offset never passes the full one */
#define PACK(f, sh, n) memmove(shared + (sh), full + (f), (n) * sizeof(float))
	FOR_SHARED(s, PACK);
#undef PACK
}

void mcai_pers_unpack(const struct mcai_pers_split *s, const float *shared,
		      float *full)
{
#define UNPACK(f, sh, n) memcpy(full + (f), shared + (sh), (n) * sizeof(float))
	FOR_SHARED(s, UNPACK);
#undef UNPACK
}

void mcai_pers_copy_personal(const struct mcai_pers_split *s,
			     const float *from, float *to)
{
	u32 r;

	for (r = 0; r < s->n_ranges; r++)
		memcpy(to + s->personal[r].off, from + s->personal[r].off,
		       s->personal[r].len * sizeof(float));
}

struct mcai_mlp_opt mcai_pers_ditto_opt(const struct mcai_mlp_opt *base,
					float lambda, const float *global)
{
	struct mcai_mlp_opt o = *base;

	o.prox_mu = lambda;
	o.prox_ref = lambda > 0 ? global : NULL;
	return o;
}

double mcai_pers_weighted_acc(const u32 *correct, const u32 *total,
			      const u32 *counts, u32 classes)
{
	double acc = 0, w = 0;
	u32 y;

	for (y = 0; y < classes; y++) {
		if (!total[y] || !counts[y])
			continue;
		acc += (double)counts[y] * correct[y] / total[y];
		w += counts[y];
	}
	return w > 0 ? acc / w : 0;
}
