/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A verified mcai graph rebuilt with XNNPACK's subgraph API, op for op,
 * with the same quantisation, for engine-bench.  Runs of ops XNNPACK can
 * express become one XNNPACK runtime each; an op it cannot express runs
 * with mcai's own kernel between two runtimes, and the net says which.
 */
#ifndef MCAI_XNN_GRAPH_H
#define MCAI_XNN_GRAPH_H

#include <stddef.h>
#include <xnnpack.h>

#include "models/engine/graph.h"

struct mcai_xnn_stage {
	xnn_runtime_t rt;	/* NULL: op @op runs with mcai's kernel */
	u32 op;
};

struct mcai_xnn_net {
	const struct mcai_graph *g;
	void **buf;		/* [n_tensors]: arena tensors' own buffers */
	u8 *external;		/* [n_tensors]: XNNPACK or mcai reads it */
	struct mcai_xnn_stage *stage;
	u32 n_stages;
	u32 n_runtimes;
	u32 n_fallback;
	u32 n_refused;		/* of those, ops XNNPACK refused to define */
	u8 *refused;		/* [n_ops] */
	bool own_refused;
	u32 bad_op;
	char fallback[160];	/* the ops run with mcai's kernels, counted */
	char mapped[240];	/* how the other ops were expressed */
	void *keep[256];	/* scale and bias arrays the runtimes point at */
	u32 n_keep;
};

/* The op's name as the bench prints it. */
const char *mcai_xnn_op_name(u16 type);

/* 0, or -1 with the reason in @err. */
int mcai_xnn_build(struct mcai_xnn_net *n, const struct mcai_graph *g,
		   char *err, size_t errlen);

/* Where tensor @t lives on the XNNPACK side (inputs are written there). */
void *mcai_xnn_tensor(const struct mcai_xnn_net *n, u32 t);

/* One inference: every stage in order.  0, or -1 if a runtime failed. */
int mcai_xnn_run(const struct mcai_xnn_net *n);

void mcai_xnn_free(struct mcai_xnn_net *n);

#endif /* MCAI_XNN_GRAPH_H */
