/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A model blob checked in user space as the kernel checks it before a
 * load (kmod/registry.c): the signature trailer split off, the blob
 * verified, its test vectors run.  mcaictl load/inspect/run and the
 * provenance rules (mcaictl accept, the node) share it, so nothing is
 * recorded as accepted that the module would refuse.
 */
#ifndef MCAI_MODELCHECK_H
#define MCAI_MODELCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "models/engine/model.h"

/*
 * Verify @blob (@size bytes, signed or not, either blob format) against
 * @lim into @m.  0, or -1 with the reason in @v (a malformed trailer or
 * what the verifier refused).  @m points into @blob and, for a v2 graph,
 * into state allocated here: release it with mcai_model_check_free().
 */
int mcai_model_check_blob(struct mcai_model *m, const uint8_t *blob,
			  size_t size, const struct mcai_limits *lim,
			  struct mcai_verdict *v);
void mcai_model_check_free(struct mcai_model *m);

/*
 * Run @m's test vectors: 0 when every one reproduces its scores, -1 with
 * the first failing index in *@failed, -ENOMEM.
 */
int mcai_model_check_vectors(const struct mcai_model *m, u32 *failed);

#endif /* MCAI_MODELCHECK_H */
