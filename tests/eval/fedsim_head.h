/* SPDX-License-Identifier: GPL-2.0 */
/* mcai-fedsim --suite cnn-head (fedsim_head.c). */
#ifndef MCAI_FEDSIM_HEAD_H
#define MCAI_FEDSIM_HEAD_H

#include "runtime/fed/fedsim.h"

/*
 * Federate the trailing @trainable fc layers (0: all) of the v2 blob
 * @model from a re-initialised head, IID, Dirichlet 0.5 and 0.1, with
 * @c's population, rounds and local training; the table on stdout.
 */
int mcai_eval_cnn_head(const struct mcai_fedsim_config *c,
		       const struct mcai_fedsim_data *d, const char *model,
		       u32 trainable);

#endif /* MCAI_FEDSIM_HEAD_H */
