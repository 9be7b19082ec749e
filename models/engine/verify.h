/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The blob verifier: every blob is hostile until this says otherwise.
 */
#ifndef MCAI_VERIFY_H
#define MCAI_VERIFY_H

#include "models/engine/model.h"

/*
 * Decode and verify a blob of @size bytes into @m.  Returns 0, or -1 with
 * @v set to a fixed reason string and the blob offset at fault.  On
 * success @m points into @blob, which must outlive it and stay unchanged.
 */
int mcai_verify(struct mcai_model *m, const void *blob, u32 size,
		const struct mcai_limits *lim, struct mcai_verdict *v);

#endif /* MCAI_VERIFY_H */
