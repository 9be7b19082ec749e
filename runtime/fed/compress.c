// SPDX-License-Identifier: GPL-2.0
/*
 * Compressed model updates, see compress.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/compress.h"
#include "runtime/lib/errmsg.h"

static const char *const kind_names[] = {
	[MCAI_COMP_NONE] = "none",
	[MCAI_COMP_INT8] = "int8",
	[MCAI_COMP_TOPK] = "topk",
};

#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *mcai_comp_kind_name(enum mcai_comp_kind k)
{
	return (unsigned int)k < N_KINDS ? kind_names[k] : "?";
}

int mcai_comp_kind_parse(const char *name, enum mcai_comp_kind *k)
{
	u32 i;

	for (i = 0; name && i < N_KINDS; i++)
		if (!strcmp(name, kind_names[i])) {
			*k = (enum mcai_comp_kind)i;
			return 0;
		}
	return -EINVAL;
}

void mcai_comp_config_default(struct mcai_comp_config *c,
			      enum mcai_comp_kind kind)
{
	c->kind = kind;
	c->topk = 0.1f;
	c->block = MCAI_COMP_BLOCK;
}

int mcai_comp_config_check(const struct mcai_comp_config *c, char *why,
			   size_t why_len)
{
	if ((unsigned int)c->kind >= N_KINDS)
		return mcai_errmsg(why, why_len, -EINVAL,
				   "unknown compression %d", (int)c->kind);
	if (!c->block || c->block > 65536)
		return mcai_errmsg(why, why_len, -EINVAL,
				   "compression block %u: 1 .. 65536", c->block);
	if (c->kind == MCAI_COMP_TOPK && !(c->topk > 0.0f && c->topk <= 1.0f))
		return mcai_errmsg(why, why_len, -EINVAL,
				   "top-k fraction %g: must be in (0, 1]",
				   c->topk);
	return 0;
}

u32 mcai_comp_values(const struct mcai_comp_config *c, u32 n)
{
	double k;

	if (c->kind != MCAI_COMP_TOPK)
		return n;
	/* 0.3f is a hair above 0.3: forgive that, or 0.3 of 10 would be 4 */
	k = ceil((double)c->topk * n * (1 - 1e-6));
	return k < 1 ? 1 : k > n ? n : (u32)k;
}

static size_t blocks(u32 k, u32 block)
{
	return ((size_t)k + block - 1) / block;
}

size_t mcai_comp_size(const struct mcai_comp_config *c, u32 n)
{
	const u32 k = mcai_comp_values(c, n);
	size_t s;

	if (c->kind == MCAI_COMP_NONE)
		return (size_t)n * 4;
	s = MCAI_COMP_HDR + blocks(k, c->block) * 4 + k;
	if (c->kind == MCAI_COMP_TOPK)
		s += ((size_t)n + 7) / 8;
	return s;
}

/* splitmix64 and a uniform double in [0, 1) with 53 bits. */
static double uniform(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

int mcai_comp_round(float x, float scale, double u)
{
	double q;

	if (!(scale > 0.0f))
		return 0;
	q = floor((double)x / scale + u);
	return q > 127 ? 127 : q < -127 ? -127 : (int)q;
}

static void put32(u8 *p, u32 x)
{
	p[0] = (u8)x;
	p[1] = (u8)(x >> 8);
	p[2] = (u8)(x >> 16);
	p[3] = (u8)(x >> 24);
}

static u32 get32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static void putf(u8 *p, float f)
{
	u32 x;

	memcpy(&x, &f, 4);
	put32(p, x);
}

static float getf(const u8 *p)
{
	u32 x = get32(p);
	float f;

	memcpy(&f, &x, 4);
	return f;
}

static int cmp_desc(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x < y) - (x > y);
}

/*
 * The k-th largest of mag[0..n) (k >= 1): a sorted copy of a strided
 * sample would do for a threshold, but the bitmap must hold exactly k
 * bits, so the exact value is found (qsort of a copy; n log n once per
 * update is small beside the training that produced it).
 */
static int kth_largest(const float *mag, u32 n, u32 k, float *out)
{
	float *t = malloc((size_t)n * sizeof(float));

	if (!t)
		return -ENOMEM;
	memcpy(t, mag, (size_t)n * sizeof(float));
	qsort(t, n, sizeof(float), cmp_desc);
	*out = t[k - 1];
	free(t);
	return 0;
}

int mcai_comp_encode(const struct mcai_comp_config *c, const float *delta,
		     float *resid, u32 n, u64 *rng, u8 *out, float *sent)
{
	const u32 k = mcai_comp_values(c, n), block = c->block;
	const size_t nmap = c->kind == MCAI_COMP_TOPK ? ((size_t)n + 7) / 8 : 0;
	u8 *map = out + MCAI_COMP_HDR;
	u8 *scales = map + nmap;
	s8 *q = (s8 *)(scales + blocks(k, block) * 4);
	float *v, thr = 0;
	u32 i, j, b, at, ties = 0;
	int err;

	if (c->kind == MCAI_COMP_NONE || mcai_comp_config_check(c, NULL, 0) ||
	    !n)
		return -EINVAL;
	v = malloc((size_t)n * sizeof(float));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = delta[i] + (resid ? resid[i] : 0.0f);
	out[0] = (u8)c->kind;
	out[1] = MCAI_COMP_FORMAT;
	out[2] = out[3] = 0;
	put32(out + 4, n);
	put32(out + 8, block);
	put32(out + 12, k);
	if (c->kind == MCAI_COMP_TOPK) {
		/* v's magnitudes in sent as scratch; then the threshold */
		float *mag = sent ? sent : resid;
		float *own = NULL;

		if (!mag) {
			own = malloc((size_t)n * sizeof(float));
			if (!own) {
				free(v);
				return -ENOMEM;
			}
			mag = own;
		}
		for (i = 0; i < n; i++)
			mag[i] = fabsf(v[i]);
		err = kth_largest(mag, n, k, &thr);
		free(own);
		if (err) {
			free(v);
			return err;
		}
		/* above the threshold all go; at it, the first ones in order */
		for (i = 0; i < n; i++)
			ties += fabsf(v[i]) > thr;
		ties = k - ties;
		memset(map, 0, nmap);
		for (i = 0; i < n; i++) {
			const float a = fabsf(v[i]);

			if (a > thr || (a == thr && ties && ties--))
				map[i / 8] |= (u8)(1u << (i % 8));
		}
	}
	/* the values sent, in index order, block by block of k */
	for (b = 0, at = 0, i = 0; b < blocks(k, block); b++) {
		const u32 start = at, len = k - start < block ? k - start : block;
		u32 i0 = i, got = 0;
		float mx = 0, s;

		/* find the block's members (and its largest magnitude) */
		for (j = i; j < n && got < len; j++) {
			if (nmap && !(map[j / 8] >> (j % 8) & 1))
				continue;
			if (fabsf(v[j]) > mx)
				mx = fabsf(v[j]);
			got++;
		}
		s = mx / 127.0f;
		/* guard: s * 127 must reach mx, or the top value clips */
		if (s > 0 && s * 127.0f < mx)
			s = nextafterf(s, INFINITY);
		putf(scales + 4 * b, s);
		for (j = i0, got = 0; j < n && got < len; j++) {
			int x;

			if (nmap && !(map[j / 8] >> (j % 8) & 1))
				continue;
			x = mcai_comp_round(v[j], s, uniform(rng));
			q[at++] = (s8)x;
			got++;
		}
		i = j;
	}
	/* what the receiver gets, and the residual: v minus that */
	err = 0;
	for (i = 0, at = 0; i < n; i++) {
		float d = 0;

		if (!nmap || (map[i / 8] >> (i % 8) & 1)) {
			d = (float)q[at] * getf(scales + 4 * (at / block));
			at++;
		}
		if (sent)
			sent[i] = d;
		if (resid)
			resid[i] = v[i] - d;
	}
	free(v);
	return err;
}

int mcai_comp_decode(const u8 *in, size_t len, u32 n, float *out, char *why,
		     size_t why_len)
{
	struct mcai_comp_config c;
	u32 k, block, i, at, bits = 0;
	size_t nmap, want;
	const u8 *map, *scales;
	const s8 *q;

	if (len < MCAI_COMP_HDR)
		return mcai_errmsg(why, why_len, -EBADMSG,
				   "compressed update of %zu bytes", len);
	if ((in[0] != MCAI_COMP_INT8 && in[0] != MCAI_COMP_TOPK) ||
	    in[1] != MCAI_COMP_FORMAT || in[2] || in[3])
		return mcai_errmsg(why, why_len, -EBADMSG,
				   "compressed update of kind %u format %u: not one this side reads",
				   in[0], in[1]);
	if (get32(in + 4) != n)
		return mcai_errmsg(why, why_len, -EBADMSG,
				   "compressed update of %u parameters, the model has %u",
				   get32(in + 4), n);
	block = get32(in + 8);
	k = get32(in + 12);
	c.kind = (enum mcai_comp_kind)in[0];
	c.block = block;
	c.topk = 1;
	if (mcai_comp_config_check(&c, NULL, 0) || !k || k > n ||
	    (c.kind == MCAI_COMP_INT8 && k != n))
		return mcai_errmsg(why, why_len, -EBADMSG,
				   "compressed update: block %u, %u of %u values",
				   block, k, n);
	nmap = c.kind == MCAI_COMP_TOPK ? ((size_t)n + 7) / 8 : 0;
	want = MCAI_COMP_HDR + nmap + blocks(k, block) * 4 + k;
	if (len != want)
		return mcai_errmsg(why, why_len, -EBADMSG,
				   "compressed update of %zu bytes, its header says %zu",
				   len, want);
	map = in + MCAI_COMP_HDR;
	scales = map + nmap;
	q = (const s8 *)(scales + blocks(k, block) * 4);
	if (nmap) {
		for (i = 0; i < n; i++)
			bits += map[i / 8] >> (i % 8) & 1;
		if (bits != k || (n % 8 && map[nmap - 1] >> (n % 8)))
			return mcai_errmsg(why, why_len, -EBADMSG,
					   "compressed update: bitmap of %u bits for %u values",
					   bits, k);
	}
	for (i = 0; i < blocks(k, block); i++) {
		const float s = getf(scales + 4 * i);

		if (!(s >= 0.0f && isfinite(s)))
			return mcai_errmsg(why, why_len, -EBADMSG,
					   "compressed update: scale %u is %g", i, s);
	}
	for (i = 0; i < k; i++)
		if (q[i] == -128)
			return mcai_errmsg(why, why_len, -EBADMSG,
					   "compressed update: value %u is -128", i);
	for (i = 0, at = 0; i < n; i++) {
		if (nmap && !(map[i / 8] >> (i % 8) & 1)) {
			out[i] = 0;
			continue;
		}
		out[i] = (float)q[at] * getf(scales + 4 * (at / block));
		at++;
	}
	return 0;
}

u32 mcai_comp_ring_bits(u32 nodes)
{
	return 127ull * nodes < (1u << 15) ? 16 : 32;
}

void mcai_comp_ring_encode(const float *x, u32 n, float scale, u64 *rng,
			   u32 *words)
{
	u32 i;

	for (i = 0; i < n; i++)
		words[i] = (u32)mcai_comp_round(x[i], scale, uniform(rng));
}

void mcai_comp_ring_decode(const u32 *words, u32 n, u32 bits, float scale,
			   float *sum)
{
	u32 i;

	for (i = 0; i < n; i++) {
		s64 w = bits == 16 ? (s64)(int16_t)(words[i] & 0xffff) :
				     (s64)(s32)words[i];

		sum[i] = (float)((double)w * scale);
	}
}

int mcai_comp_sa_check(u32 nodes, u32 bits, float range, char *why,
		       size_t why_len)
{
	if (bits != MCAI_COMP_SA_BITS)
		return mcai_errmsg(why, why_len, -EINVAL,
				   "compressed secure aggregation in a ring of %u bits: 16 only",
				   bits);
	if (!isfinite(range) || !(range > 0))
		return mcai_errmsg(why, why_len, -EINVAL,
				   "compressed secure aggregation with range %g",
				   (double)range);
	if (nodes < 1 || nodes > MCAI_COMP_SA_MAX_NODES)
		return mcai_errmsg(why, why_len, -ERANGE,
				   "compressed secure aggregation over %u nodes: %u x 127 would wrap Z_2^16 (%u nodes at most)",
				   nodes, nodes, MCAI_COMP_SA_MAX_NODES);
	return 0;
}

u32 mcai_comp_sa_levels(u32 nodes)
{
	return nodes ? 32767u / nodes : 0;
}

u32 mcai_comp_sa_encode(const float *x, u32 n, float range, u32 levels,
			u64 *rng, u32 *words)
{
	const double k = (double)levels / range;
	u32 i, clamped = 0;

	for (i = 0; i < n; i++) {
		double v = isnan(x[i]) ? 0.0 : (double)x[i], q;

		if (v > range || v < -range) {
			v = v > 0 ? range : -range;
			clamped++;
		}
		q = floor(v * k + uniform(rng));
		/* v k <= levels, u < 1: only floating error can reach past */
		q = q > levels ? levels : q < -(double)levels ? -(double)levels : q;
		words[i] = (u32)(s32)q;
	}
	return clamped;
}

void mcai_comp_sa_decode(const u32 *words, u32 n, float range, u32 levels,
			 float *sum)
{
	const double step = (double)range / levels;
	u32 i;

	for (i = 0; i < n; i++)
		sum[i] = (float)((double)(int16_t)(words[i] & 0xffff) * step);
}
