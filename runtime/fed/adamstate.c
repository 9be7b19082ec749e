// SPDX-License-Identifier: GPL-2.0
/*
 * FedAdam's moments beside the registry: see runtime/fed/adamstate.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "models/engine/sha256.h"
#include "runtime/fed/adamstate.h"
#include "runtime/lib/atomicfile.h"

#define MCAI_ADAM_MAGIC		"MCAIADAM"
#define MCAI_ADAM_FORMAT	1
#define MCAI_ADAM_HDR		32
#define MCAI_ADAM_CUR		"fedadam"
#define MCAI_ADAM_NEXT		"fedadam.next"
/* Far beyond any model a frame can carry, short of overflowing a size. */
#define MCAI_ADAM_MAX_N		(1U << 26)

static void mcai_put32(uint8_t *p, uint32_t x)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint32_t mcai_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The file's bytes are the floats' bytes: little-endian hosts only. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "adamstate writes host floats as little-endian");

int mcai_adamstate_save(const char *dir, uint32_t version, const float *m,
			const float *v, uint32_t n, uint64_t steps, char *err,
			size_t errlen)
{
	uint8_t hdr[MCAI_ADAM_HDR], digest[MCAI_SHA256_LEN];
	struct mcai_sha256 h;
	struct iovec iov[4];
	char path[PATH_MAX];

	if (!n || n > MCAI_ADAM_MAX_N) {
		snprintf(err, errlen, "fedadam state: %u values", n);
		return -EINVAL;
	}
	memcpy(hdr, MCAI_ADAM_MAGIC, 8);
	mcai_put32(hdr + 8, MCAI_ADAM_FORMAT);
	mcai_put32(hdr + 12, version);
	mcai_put32(hdr + 16, n);
	mcai_put32(hdr + 20, 0);
	mcai_put32(hdr + 24, (uint32_t)steps);
	mcai_put32(hdr + 28, (uint32_t)(steps >> 32));
	mcai_sha256_init(&h);
	mcai_sha256_update(&h, hdr, sizeof(hdr));
	mcai_sha256_update(&h, m, (size_t)n * sizeof(float));
	mcai_sha256_update(&h, v, (size_t)n * sizeof(float));
	mcai_sha256_final(&h, digest);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ (void *)m, (size_t)n * sizeof(float) };
	iov[2] = (struct iovec){ (void *)v, (size_t)n * sizeof(float) };
	iov[3] = (struct iovec){ digest, sizeof(digest) };
	snprintf(path, sizeof(path), "%s/" MCAI_ADAM_NEXT, dir);
	return mcai_atomic_writev(path, iov, 4, 0600, err, errlen);
}

int mcai_adamstate_commit(const char *dir, char *err, size_t errlen)
{
	char from[PATH_MAX], to[PATH_MAX];
	int dfd, r = 0;

	snprintf(from, sizeof(from), "%s/" MCAI_ADAM_NEXT, dir);
	snprintf(to, sizeof(to), "%s/" MCAI_ADAM_CUR, dir);
	if (rename(from, to)) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", from, strerror(-r));
		return r;
	}
	/* The rename itself lasts only once the directory is on disk. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd)) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
	}
	if (dfd >= 0)
		close(dfd);
	return r;
}

/* One file: 1 when it holds @version's moments (now in m, v), 0 if not. */
static int mcai_adamstate_read(const char *path, uint32_t version, float *m,
			       float *v, uint32_t n, uint64_t *steps,
			       char *err, size_t errlen)
{
	uint8_t hdr[MCAI_ADAM_HDR], digest[MCAI_SHA256_LEN];
	uint8_t want[MCAI_SHA256_LEN];
	size_t body = (size_t)n * sizeof(float);
	struct mcai_sha256 h;
	const char *why = NULL;
	struct stat st;
	FILE *f;
	int r = 0;

	f = fopen(path, "rbe");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fileno(f), &st) || fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr))
		why = "truncated header";
	else if (memcmp(hdr, MCAI_ADAM_MAGIC, 8) ||
		 mcai_get32(hdr + 8) != MCAI_ADAM_FORMAT)
		why = "not a FedAdam state of this format";
	else if (mcai_get32(hdr + 12) != version)
		goto out;			/* another version's: not ours */
	else if (mcai_get32(hdr + 16) != n)
		why = "moments of another model size";
	else if ((uint64_t)st.st_size != sizeof(hdr) + 2 * (uint64_t)body +
		 sizeof(digest))
		why = "wrong length";
	else if (fread(m, 1, body, f) != body || fread(v, 1, body, f) != body ||
		 fread(want, 1, sizeof(want), f) != sizeof(want))
		why = "short read";
	if (!why) {
		mcai_sha256_init(&h);
		mcai_sha256_update(&h, hdr, sizeof(hdr));
		mcai_sha256_update(&h, m, body);
		mcai_sha256_update(&h, v, body);
		mcai_sha256_final(&h, digest);
		if (memcmp(digest, want, sizeof(digest)))
			why = "checksum mismatch";
	}
	if (why) {
		snprintf(err, errlen, "%s: %s", path, why);
		r = -EINVAL;
		goto out;
	}
	*steps = (uint64_t)mcai_get32(hdr + 24) |
		 (uint64_t)mcai_get32(hdr + 28) << 32;
	r = 1;
out:
	fclose(f);
	return r;
}

int mcai_adamstate_load(const char *dir, uint32_t version, float *m,
			float *v, uint32_t n, uint64_t *steps, char *err,
			size_t errlen)
{
	static const char *const names[] = { MCAI_ADAM_CUR, MCAI_ADAM_NEXT };
	char path[PATH_MAX];
	int r, bad = 0;

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		r = mcai_adamstate_read(path, version, m, v, n, steps, err,
					errlen);
		if (r == 1)
			return 0;
		if (r == -EINVAL)
			bad = r;
		else if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
			return r;
		}
	}
	return bad ? bad : -ENOENT;
}
