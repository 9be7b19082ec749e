/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hostile model blobs: a valid base blob built with the writer, and a
 * named list of variants of it that a verifier must refuse, each with the
 * reason it must give.  Used by the unit tests (mcai_verify in user space),
 * by mcai-hostile (writes them out for the guest test, which feeds them to
 * the kernel) and by the fuzz corpus generator.
 *
 * Every variant is re-sealed (its SHA-256 recomputed) unless the point of
 * it is a bad digest or a length that does not match total_size, so that
 * the verifier's structural checks are really reached.
 */
#ifndef MCAI_TESTS_HOSTILE_H
#define MCAI_TESTS_HOSTILE_H

#include <stddef.h>

#include "models/engine/model.h"

/* Base model: FC 12->8 ReLU, LUT 8->8 (sigmoid), FC 8->4, 4 test vectors. */
#define HOSTILE_IN	12
#define HOSTILE_HID	8
#define HOSTILE_OUT	4
#define HOSTILE_TV	4
#define HOSTILE_NAME	"hostile-base"

struct hostile {
	char name[48];		/* file name stem, [a-z0-9-] */
	const char *reason;	/* exact expected reason, default limits */
	u8 *blob;		/* malloc'd, exactly size bytes */
	u32 size;
};

/* The valid base blob (malloc'd); NULL only if out of memory. */
u8 *hostile_base(u32 *size);

/*
 * Build every hostile variant.  Returns the number of variants and a
 * malloc'd array in *out (free with hostile_free), or -1.
 */
int hostile_build(struct hostile **out);
void hostile_free(struct hostile *h, int n);

/* Recompute the digest over everything before the last 32 bytes. */
void hostile_seal(u8 *blob, u32 size);

/*
 * What the kernel does with a blob: mcai_verify() with @lim, then the
 * test vectors.  Returns 0 if accepted, else -1 with the reason (the
 * verifier's, or "test vector N failed") in @reason and the blob offset at
 * fault in *offset.
 */
int hostile_check(const u8 *blob, u32 size, const struct mcai_limits *lim,
		  char *reason, size_t reason_len, u32 *offset);

#endif /* MCAI_TESTS_HOSTILE_H */
