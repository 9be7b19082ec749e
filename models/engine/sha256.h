/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SHA-256 (FIPS 180-4), freestanding, so the blob digest is computed by the
 * same code in the kernel, in user space and under the fuzzer.
 */
#ifndef MCAI_SHA256_H
#define MCAI_SHA256_H

#include "models/engine/port.h"

#define MCAI_SHA256_LEN 32

struct mcai_sha256 {
	u32 state[8];
	u64 bytes;
	u8 buf[64];
};

void mcai_sha256_init(struct mcai_sha256 *c);
void mcai_sha256_update(struct mcai_sha256 *c, const void *data, size_t len);
void mcai_sha256_final(struct mcai_sha256 *c, u8 out[MCAI_SHA256_LEN]);
void mcai_sha256(const void *data, size_t len, u8 out[MCAI_SHA256_LEN]);

#endif /* MCAI_SHA256_H */
