// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the suites of tests/unit. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "models/engine/sha256.h"
#include "models/engine/verify.h"

typedef __int128 i128;

void *unit_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	ck_assert(p != NULL);
	return p;
}

u8 *unit_slurp(const char *path, u32 *len)
{
	FILE *f = fopen(path, "rb");
	long n;
	u8 *p;

	ck_assert_msg(f != NULL, "%s: cannot open (run from the tree's top)",
		      path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert(n > 0);
	rewind(f);
	p = unit_xmalloc((size_t)n);
	ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (u32)n;
	return p;
}

void unit_limits_wide(struct mcai_limits *lim)
{
	lim->max_blob_size = U32_MAX;
	lim->max_layers = MCAI_BLOB_MAX_LAYERS;
	lim->max_dim = MCAI_MAX_DIM;
	lim->max_arena = U32_MAX;
	lim->max_macs = ~0ULL;
}

void unit_model_build(struct unit_model *t, const struct mcai_blob_spec *s)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	char err[200];

	t->blob = mcai_blob_write(s, &t->size, err, sizeof(err));
	ck_assert_msg(t->blob != NULL, "mcai_blob_write: %s", err);
	unit_limits_wide(&lim);
	ck_assert_msg(mcai_verify(&t->m, t->blob, t->size, &lim, &v) == 0,
		      "written blob refused: %s at %u", v.reason, v.offset);
}

void unit_model_free(struct unit_model *t)
{
	free(t->blob);
	t->blob = NULL;
}

void unit_seal(u8 *blob, u32 size)
{
	mcai_sha256(blob, size - MCAI_DIGEST_LEN, blob + size - MCAI_DIGEST_LEN);
}

/* floor(n / 2^k) for any sign, without relying on >> of negatives. */
static i128 floor_pot(i128 n, int k)
{
	i128 d = (i128)1 << k;
	i128 q = n / d;

	if (n % d != 0 && n < 0)
		q--;
	return q;
}

static s32 sat(i128 v)
{
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN)
		return INT32_MIN;
	return (s32)v;
}

/* floor(a*b/2^31 + 1/2) = floor((2ab + 2^31) / 2^32), saturated. */
s32 unit_ref_srdhm(s32 a, s32 b)
{
	return sat(floor_pot(2 * (i128)a * b + ((i128)1 << 31), 32));
}

/* x / 2^e, to nearest, ties away from zero. */
s32 unit_ref_rdivpot(s32 x, int e)
{
	i128 mag = x < 0 ? -(i128)x : (i128)x;

	if (e == 0)
		return x;
	mag = (mag + ((i128)1 << (e - 1))) >> e;
	return (s32)(x < 0 ? -mag : mag);
}

s32 unit_ref_requant(s32 x, s32 mult, int shift)
{
	i128 scaled = (i128)x * ((i128)1 << (shift > 0 ? shift : 0));

	return unit_ref_rdivpot(unit_ref_srdhm(sat(scaled), mult),
				shift < 0 ? -shift : 0);
}

s8 unit_rnd_w(uint64_t *seed)
{
	return (s8)((int)(unit_rnd32(seed) % 255) - 127);
}

s8 unit_rnd_s8(uint64_t *seed)
{
	return (s8)(unit_rnd32(seed) & 0xff);
}

void unit_rm_tree(const char *dir)
{
	struct dirent *de;
	char p[512];
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		/* lstat: a symlink a test planted is removed, not followed. */
		if (!lstat(p, &st) && S_ISDIR(st.st_mode))
			unit_rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}
