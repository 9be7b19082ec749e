// SPDX-License-Identifier: GPL-2.0
/*
 * mcai_import_onnx(): the importer's passes in order — load and check
 * (onnx_load.c), quantised forms to one float graph (onnx_qnorm.c),
 * rewrites (onnx_rewrite.c), shapes and calibration (onnx_eval.c),
 * lowering and writing (onnx_lower.c) — and the name the blob gets.
 */
#include <stdlib.h>
#include <string.h>

#include "build/gen/onnx/onnx.pb-c.h"
#include "models/import/onnx_ir.h"

static void ox_blob_name(const struct mcai_ox_graph *g, char *out, size_t len)
{
	const Onnx__ModelProto *m = g->model;
	const char *src = m->graph->name && m->graph->name[0] ?
			  m->graph->name : "onnx";
	size_t i;

	for (i = 0; src[i] && i + 1 < len; i++) {
		char c = src[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' ||
			 c == '_' ? c : '_';
	}
	out[i] = 0;
}

static const char *ox_form(const struct mcai_ox_graph *g)
{
	bool qdq = false, qop = false;
	u32 i;

	for (i = 0; i < g->n_n; i++) {
		const char *op = g->n[i].op;

		if (!strcmp(op, "QuantizeLinear") || !strcmp(op, "DequantizeLinear"))
			qdq = true;
		else if (!strncmp(op, "QLinear", 7) || strstr(op, "Integer"))
			qop = true;
	}
	return qdq && qop ? "mixed" : qdq ? "qdq" : qop ? "qoperator" : "float";
}

int mcai_import_inputs(const u8 *buf, size_t len, u32 *n_inputs,
		       u64 elems[MCAI_IMPORT_MAX_IO],
		       struct mcai_import_error *err)
{
	struct mcai_ox_graph g;
	u32 i;

	if (mcai_ox_load(&g, buf, len, err)) {
		mcai_ox_free(&g);
		return err->code;
	}
	*n_inputs = g.n_in;
	for (i = 0; i < g.n_in; i++)
		elems[i] = mcai_ox_elems(&g.t[g.in[i]]);
	mcai_ox_free(&g);
	return 0;
}

/* @dst = @src times the input's per-feature (last axis) scales. */
static void ox_feat_scale(const struct mcai_ox_tensor *t, const float *src,
			  float *dst)
{
	u32 f = t->dims[t->rank - 1];
	u64 e = mcai_ox_elems(t), k;

	for (k = 0; k < e; k++)
		dst[k] = src[k] * t->feat_scale[k % f];
}

int mcai_import_onnx(const u8 *buf, size_t len,
		     const struct mcai_import_opts *opts,
		     struct mcai_import_result *r,
		     struct mcai_import_error *err)
{
	struct mcai_import_opts o = *opts;
	struct mcai_ox_graph g;
	float *in[MCAI_IMPORT_MAX_IO];
	char name[MCAI_NAME_LEN];
	const float *tv = NULL;
	float *tvbuf = NULL, *sbuf[MCAI_IMPORT_MAX_IO] = { 0 };
	u32 i, s;
	int rw;

	memset(r, 0, sizeof(*r));
	if (mcai_ox_load(&g, buf, len, err))
		goto fail;
	if (!o.name) {
		ox_blob_name(&g, name, sizeof(name));
		o.name = name;
	}
	if (!o.version) {
		const Onnx__ModelProto *m = g.model;

		o.version = m->has_model_version && m->model_version >= 1 &&
			    m->model_version <= 0x7fffffff ?
			    (u32)m->model_version : 1;
	}
	rw = mcai_ox_ml_linear(&g);
	if (rw < 0)
		goto fail;
	if (rw) {
		/* now a float FC graph: the ordinary path, calibration */
		r->form = "ml";
	} else if (mcai_ox_is_ml(&g)) {
		r->form = "ml";
		if (mcai_ox_lower_ml(&g, &o, r))
			goto fail;
		mcai_ox_free(&g);
		return 0;
	}
	if (!r->form)
		r->form = ox_form(&g);
	if (mcai_ox_normalise_quant(&g))
		goto fail;
	rw = mcai_ox_rewrite(&g);
	if (rw < 0)
		goto fail;
	r->n_rewrites = (u32)rw;
	if (o.n_calib && o.n_calib != g.n_in) {
		mcai_ox_refuse(&g, MCAI_IMPORT_EUNSUPPORTED,
			       "calibration data for %u inputs, the model has %u",
			       o.n_calib, g.n_in);
		goto fail;
	}
	if (mcai_ox_eval(&g, NULL))
		goto fail;
	for (s = 0; o.n_calib && s < o.calib[0].count; s++) {
		for (i = 0; i < g.n_in; i++) {
			u64 e = mcai_ox_elems(&g.t[g.in[i]]);
			const float *fs = g.t[g.in[i]].feat_scale;

			if (o.calib[i].count != o.calib[0].count) {
				mcai_ox_refuse(&g, MCAI_IMPORT_EUNSUPPORTED,
					       "input \"%s\": %u calibration samples, input 0 has %u",
					       g.t[g.in[i]].name, o.calib[i].count,
					       o.calib[0].count);
				goto fail;
			}
			in[i] = (float *)o.calib[i].data + e * s;
			if (fs) {
				/* the graph reads x * scale per feature */
				if (!sbuf[i])
					sbuf[i] = malloc(e * sizeof(float));
				if (!sbuf[i]) {
					mcai_ox_refuse(&g, MCAI_IMPORT_EIO, "out of memory");
					goto fail;
				}
				ox_feat_scale(&g.t[g.in[i]], in[i], sbuf[i]);
				in[i] = sbuf[i];
			}
		}
		if (mcai_ox_eval(&g, in))
			goto fail;
	}
	if (o.n_calib && o.calib[0].count) {
		u64 total = 0, at = 0;

		for (i = 0; i < g.n_in; i++)
			total += mcai_ox_elems(&g.t[g.in[i]]);
		tvbuf = malloc(total * sizeof(float));
		if (!tvbuf) {
			mcai_ox_refuse(&g, MCAI_IMPORT_EIO, "out of memory");
			goto fail;
		}
		for (i = 0; i < g.n_in; i++) {
			u64 e = mcai_ox_elems(&g.t[g.in[i]]);

			memcpy(tvbuf + at, o.calib[i].data, e * sizeof(float));
			if (g.t[g.in[i]].feat_scale)
				ox_feat_scale(&g.t[g.in[i]], tvbuf + at, tvbuf + at);
			at += e;
		}
		tv = tvbuf;
	}
	if (mcai_ox_lower(&g, &o, tv, r))
		goto fail;
	free(tvbuf);
	for (i = 0; i < MCAI_IMPORT_MAX_IO; i++)
		free(sbuf[i]);
	mcai_ox_free(&g);
	return 0;
fail:
	free(tvbuf);
	for (i = 0; i < MCAI_IMPORT_MAX_IO; i++)
		free(sbuf[i]);
	if (!err->code) {
		err->code = MCAI_IMPORT_EUNSUPPORTED;
		strcpy(err->msg, "import failed");
	}
	mcai_ox_free(&g);
	return err->code;
}
