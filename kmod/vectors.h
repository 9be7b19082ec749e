/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test vectors a blob must reproduce before it is accepted
 * (kmod/registry.c runs them before a version is linked).
 */
#ifndef MCAI_VECTORS_H
#define MCAI_VECTORS_H

#include "models/engine/model.h"

int mcai_vectors_check(const struct mcai_model *m, u32 *failed);

#endif /* MCAI_VECTORS_H */
