// SPDX-License-Identifier: GPL-2.0
/*
 * A node's personal state file (FedPer's personal layers, Ditto's
 * personal model), see personal.h.  Apart from personal.c so the
 * simulator, which keeps nothing on disk, does not link the file code.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/engine/sha256.h"
#include "runtime/fed/personal.h"
#include "runtime/lib/atomicfile.h"

#define PERS_HDR_LEN	32

static void put32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

static u32 get32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 |
	       (u32)p[3] << 24;
}

int mcai_pers_state_save(const char *path, const struct mcai_pers_state *st,
			 const float *params, char *err, size_t errlen)
{
	size_t len;
	u8 *buf;
	u32 i;
	int r;

	if (!st->n_params || st->n_params > MCAI_PERS_STATE_MAX_PARAMS ||
	    (st->kind != MCAI_PERS_FEDPER && st->kind != MCAI_PERS_DITTO)) {
		snprintf(err, errlen, "personal state: bad header");
		return -EINVAL;
	}
	len = PERS_HDR_LEN + (size_t)st->n_params * 4 + MCAI_SHA256_LEN;
	buf = malloc(len);
	if (!buf) {
		snprintf(err, errlen, "personal state: out of memory");
		return -ENOMEM;
	}
	put32(buf, MCAI_PERS_STATE_MAGIC);
	put32(buf + 4, 1);
	put32(buf + 8, (u32)st->kind);
	put32(buf + 12, st->mask);
	put32(buf + 16, st->n_params);
	put32(buf + 20, st->version);
	put32(buf + 24, (u32)st->round);
	put32(buf + 28, (u32)(st->round >> 32));
	for (i = 0; i < st->n_params; i++) {
		u32 v;

		memcpy(&v, params + i, 4);
		put32(buf + PERS_HDR_LEN + 4 * (size_t)i, v);
	}
	mcai_sha256(buf, len - MCAI_SHA256_LEN, buf + len - MCAI_SHA256_LEN);
	r = mcai_atomic_write(path, buf, len, 0600, err, errlen);
	free(buf);
	return r;
}

int mcai_pers_state_load(const char *path, struct mcai_pers_state *st,
			 float **params, char *err, size_t errlen)
{
	u8 digest[MCAI_SHA256_LEN], *buf = NULL;
	struct stat sb;
	size_t len;
	u32 i, n;
	float *p;
	int fd, r = -EBADMSG;
	ssize_t got;

	*params = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &sb) || sb.st_size < PERS_HDR_LEN + MCAI_SHA256_LEN ||
	    sb.st_size > PERS_HDR_LEN + 4LL * MCAI_PERS_STATE_MAX_PARAMS +
			 MCAI_SHA256_LEN) {
		snprintf(err, errlen, "%s: not a personal state file (size)",
			 path);
		goto out;
	}
	len = (size_t)sb.st_size;
	buf = malloc(len);
	if (!buf) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	got = read(fd, buf, len);
	if (got != (ssize_t)len) {
		snprintf(err, errlen, "%s: short read", path);
		goto out;
	}
	n = get32(buf + 16);
	if (get32(buf) != MCAI_PERS_STATE_MAGIC || get32(buf + 4) != 1 ||
	    !n || n > MCAI_PERS_STATE_MAX_PARAMS ||
	    len != PERS_HDR_LEN + 4 * (size_t)n + MCAI_SHA256_LEN ||
	    (get32(buf + 8) != MCAI_PERS_FEDPER &&
	     get32(buf + 8) != MCAI_PERS_DITTO)) {
		snprintf(err, errlen, "%s: not a personal state file (header)",
			 path);
		goto out;
	}
	mcai_sha256(buf, len - MCAI_SHA256_LEN, digest);
	if (memcmp(digest, buf + len - MCAI_SHA256_LEN, MCAI_SHA256_LEN)) {
		snprintf(err, errlen, "%s: digest mismatch (torn or altered)",
			 path);
		goto out;
	}
	p = malloc((size_t)n * sizeof(float));
	if (!p) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (i = 0; i < n; i++) {
		u32 v = get32(buf + PERS_HDR_LEN + 4 * (size_t)i);

		memcpy(p + i, &v, 4);
	}
	st->kind = (enum mcai_pers_kind)get32(buf + 8);
	st->mask = get32(buf + 12);
	st->n_params = n;
	st->version = get32(buf + 20);
	st->round = get32(buf + 24) | (u64)get32(buf + 28) << 32;
	*params = p;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}
