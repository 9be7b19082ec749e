// SPDX-License-Identifier: GPL-2.0
/*
 * What mcai-zoo's builders share (mlperf.h): the MLPerf Tiny table, the
 * files they write, and the facts every report states about its blob.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/cli.h"
#include "models/train/mlperf.h"

/*
 * MLPerf Tiny v1.0's reference table (mlcommons/tiny, benchmark/README):
 * MACs of the convolutions and dense layers, size of the int8 TFLite file.
 */
const struct mcai_zoo_ref mcai_zoo_refs[MCAI_ZOO_N] = {
	[MCAI_ZOO_KWS] = { "kws-dscnn", "Keyword spotting, DS-CNN", 2.66e6, 53 },
	[MCAI_ZOO_VWW] = { "vww-mobilenet",
			   "Visual wake words, MobileNetV1 0.25", 7.49e6, 325 },
	[MCAI_ZOO_IC] = { "ic-resnet8", "Image classification, ResNet-8",
			  12.5e6, 96 },
	[MCAI_ZOO_AD] = { "ad-autoencoder",
			  "Anomaly detection, FC autoencoder", 264e3, 270 },
};

void mcai_zoo_save(const char *dir, const char *file, const void *data,
		   size_t len)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f)
		mcai_die("%s: cannot create: %s", tmp, strerror(errno));
	if (fwrite(data, 1, len, f) != len || fflush(f) || ferror(f) ||
	    fclose(f)) {
		remove(tmp);
		mcai_die("%s: write failed", tmp);
	}
	if (rename(tmp, path)) {
		remove(tmp);
		mcai_die("%s: cannot rename: %s", tmp, strerror(errno));
	}
}

void mcai_zoo_report_open(struct mcai_zoo_report *r)
{
	memset(r, 0, sizeof(*r));
	r->f = open_memstream(&r->buf, &r->len);
	if (!r->f)
		mcai_die("out of memory");
}

void mcai_zoo_report_save(struct mcai_zoo_report *r, const char *dir,
			  const char *name)
{
	char file[256];

	if (fclose(r->f))
		mcai_die("report of %s: out of memory", name);
	snprintf(file, sizeof(file), "%s.txt", name);
	mcai_zoo_save(dir, file, r->buf, r->len);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

const char *mcai_zoo_limits(const u8 *blob, u32 size, char *need, size_t len)
{
	struct mcai_limits lim, wide;
	struct mcai_verdict v;
	struct mcai_graph g;
	u32 n, i, d, dim = 0;
	void *state;
	size_t at = 0;
	int bad;

	mcai_limits_default(&lim);
	n = mcai_graph_state_size(blob, size, &lim, &v);
	state = n ? aligned_alloc(8, (n + 7) & ~7U) : NULL;
	bad = !state || mcai_graph_verify(&g, blob, size, &lim, state, n, &v);
	free(state);
	if (!bad)
		return NULL;
	/* Refused: say which parameters would let it in. */
	mcai_limits_widest(&wide);
	n = mcai_graph_state_size(blob, size, &wide, &v);
	state = n ? aligned_alloc(8, (n + 7) & ~7U) : NULL;
	if (!state || mcai_graph_verify(&g, blob, size, &wide, state, n, &v)) {
		free(state);
		snprintf(need, len, "refused under any limits: %s", v.reason);
		return need;
	}
	for (i = 0; i < g.n_tensors; i++)
		for (d = 0; d < 4; d++)
			if (g.t[i].dims[d] > dim)
				dim = g.t[i].dims[d];
	need[0] = 0;
	if (size > lim.max_blob_size)
		at += (size_t)snprintf(need + at, len - at, "max_blob_size=%u ",
				       size);
	if (dim > lim.max_dim && at < len)
		at += (size_t)snprintf(need + at, len - at, "max_dim=%u ", dim);
	if (g.arena_size > lim.max_arena && at < len)
		snprintf(need + at, len - at, "max_arena=%u", g.arena_size);
	free(state);
	return need;
}

void mcai_zoo_facts(FILE *f, enum mcai_zoo_id id, const u8 *blob, u32 size,
		    const struct mcai_nb_probe *p)
{
	const struct mcai_zoo_ref *ref = &mcai_zoo_refs[id];
	const struct mcai_graph *g = &p->g;
	u64 conv_macs = 0, wbytes = 0, bbytes = 0;
	char need[128];
	const char *lim = mcai_zoo_limits(blob, size, need, sizeof(need));
	u32 i;

	for (i = 0; i < g->n_ops; i++)
		if (g->op[i].type == MCAI_OP_CONV2D ||
		    g->op[i].type == MCAI_OP_DEPTHWISE ||
		    g->op[i].type == MCAI_OP_FC)
			conv_macs += g->op[i].macs;
	for (i = 0; i < g->n_tensors; i++) {
		if (g->t[i].kind != MCAI_TK_CONST)
			continue;
		if (g->t[i].dtype == MCAI_DT_INT8)
			wbytes += g->t[i].bytes;
		else
			bbytes += g->t[i].bytes;
	}
	fprintf(f, "Blob facts\n");
	fprintf(f, "  MACs (engine count, every op):   %llu\n",
		(unsigned long long)g->macs);
	fprintf(f, "  MACs (conv, depthwise, dense):   %llu\n",
		(unsigned long long)conv_macs);
	fprintf(f, "  MLPerf Tiny table:               %.0f (engine count %+.2f%%)\n",
		ref->macs, 100.0 * ((double)g->macs - ref->macs) / ref->macs);
	fprintf(f, "  parameters:                      %llu bytes int8 weights + %llu bytes int32 biases\n",
		(unsigned long long)wbytes, (unsigned long long)bbytes);
	fprintf(f, "  blob:                            %u bytes (table: %.0f KB TFLite file)\n",
		size, ref->kb);
	fprintf(f, "  arena:                           %u bytes\n", p->arena_size);
	fprintf(f, "  largest tensor dimension:        %u\n", p->max_dim);
	fprintf(f, "  ops, tensors, test vectors:      %u, %u, %u\n", g->n_ops,
		g->n_tensors, g->tv_count);
	fprintf(f, "  module limits:                   %s%s\n",
		lim ? "needs " : "loads under the defaults (max_dim 4096, max_arena 64 KiB)",
		lim ? lim : "");
}
