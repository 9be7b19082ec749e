/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Signed models: the ".mcai" keyring and the signature trailer of a blob
 * (format in uapi/mcai.h).
 */
#ifndef MCAI_SIGN_H
#define MCAI_SIGN_H

#include <linux/types.h>

int mcai_sign_init(void);
void mcai_sign_exit(void);

/*
 * Check the signature trailer of the kernel's copy of a blob and strip it:
 * on success *size is the length of the blob proper.  On a refusal,
 * returns -EBADMSG or -EKEYREJECTED with *reason set (a static string),
 * or another negative errno (-ENOMEM) with *reason NULL.
 */
int mcai_sign_check(const void *blob, u32 *size, const char **reason);

#endif /* MCAI_SIGN_H */
