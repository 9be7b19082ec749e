/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The signature trailer of a signed model blob (uapi/mcai.h, "Signed
 * blobs"), read in user space with the kernel's checks (kmod/sign.c):
 * mcai-sign shows and strips it, mcaictl verifies the blob before it.
 */
#ifndef MCAI_SIGTRAILER_H
#define MCAI_SIGTRAILER_H

#include <stddef.h>
#include <stdint.h>

/*
 * 1: signed, with the signed length in *@blob_len and the PKCS#7 length
 * in *@sig_len; 0: unsigned (no magic at the end); -1: a malformed
 * trailer, with the reason in *@why.
 */
int mcai_sig_trailer_parse(const unsigned char *p, size_t total,
			   uint32_t *blob_len, uint32_t *sig_len,
			   const char **why);

#endif /* MCAI_SIGTRAILER_H */
