/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Synchronous inference through the shared engine, and the test vectors a
 * blob must reproduce before it is accepted.
 */
#ifndef MCAI_INFER_H
#define MCAI_INFER_H

#include "models/engine/model.h"

int mcai_infer(struct mcai_infer *req);
int mcai_infer_check_vectors(const struct mcai_model *m, u32 *failed);

#endif /* MCAI_INFER_H */
