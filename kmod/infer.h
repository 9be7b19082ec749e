/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Synchronous inference through the shared engine (MCAI_IOC_INFER).
 */
#ifndef MCAI_INFER_H
#define MCAI_INFER_H

#include "uapi/mcai.h"

int mcai_infer(struct mcai_infer *req);

#endif /* MCAI_INFER_H */
