// SPDX-License-Identifier: GPL-2.0
/*
 * ai.onnx.ml models.  Recognised here so that they get their own
 * refusal, not "op not supported": the tree and linear mapping is not
 * written yet.
 */
#include <string.h>

#include "models/import/onnx_ir.h"

bool mcai_ox_is_ml(const struct mcai_ox_graph *g)
{
	u32 i;

	for (i = 0; i < g->n_n; i++)
		if (!strcmp(g->n[i].domain, "ai.onnx.ml"))
			return true;
	return false;
}

int mcai_ox_lower_ml(struct mcai_ox_graph *g, const struct mcai_import_opts *o,
		     struct mcai_import_result *r)
{
	u32 i;

	(void)o;
	(void)r;
	for (i = 0; i < g->n_n; i++)
		if (!strcmp(g->n[i].domain, "ai.onnx.ml"))
			break;
	return mcai_ox_node_refuse(g, &g->n[i],
				   "ai.onnx.ml operators are not supported by this importer yet");
}
