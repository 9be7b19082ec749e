/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Built-in engine-v2 graphs for engine-bench --synthetic: random weights,
 * shapes and quantisation of the kind the MLPerf Tiny models have, for
 * measuring before (or besides) the shipped graph blobs.
 */
#ifndef MCAI_SYNTH_GRAPHS_H
#define MCAI_SYNTH_GRAPHS_H

#include <stddef.h>

#include "models/engine/port.h"

#define MCAI_SYNTH_COUNT	2

/* Graph @k as a malloc'd, verified v2 blob and its name, or NULL. */
u8 *mcai_synth_graph(u32 k, char *name, size_t name_len, u32 *size);

#endif /* MCAI_SYNTH_GRAPHS_H */
