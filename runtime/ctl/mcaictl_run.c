// SPDX-License-Identifier: GPL-2.0
/*
 * mcaictl run: one input (or a batch, sample by sample) through a blob, the output written in the
 * format it came in (.npy or TensorProto), so that it compares with what
 * the framework produced.  Imported blobs say in their io names
 * (models/import/iofacts.h) which tensors were float and which were
 * channels-first; this file quantises, transposes and dequantises
 * accordingly.  The user-space engine runs it unless --device asks for
 * /dev/mcai, where the blob's name must be loaded with the same digest:
 * both run the same engine code, so the bytes must agree exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/graph.h"
#include "models/engine/model.h"
#include "models/import/iofacts.h"
#include "models/import/tensorfile.h"
#include "runtime/ctl/mcaictl.h"

#define MAX_RUN_BLOB	(256U << 20)

const char run_details[] =
	"Runs a sample through BLOB.mcai: one --input file per blob input, in\n"
	"order, one --output file per model output (.npy or TensorProto .pb, by\n"
	"extension).  An input may hold a batch of samples along its first\n"
	"axis: they run one after another (the engine is batch 1) and each\n"
	"output gets that batch as its first axis.  For a blob made by `mcaictl import`, a float input is\n"
	"quantised (rounding half to even, as ONNX QuantizeLinear), an NCHW\n"
	"input is transposed to the engine's NHWC and back for outputs, and a\n"
	"float output is dequantised, with the ONNX shape; other blobs take and\n"
	"give their int8/int16/int32 values as stored.\n"
	"\n"
	"  -i, --input FILE    an input (repeat for each input)\n"
	"  -o, --output FILE   where an output goes (repeat for each output)\n"
	"      --device        run it in the kernel (/dev/mcai) instead of the\n"
	"                      user-space engine: the blob's name must be loaded,\n"
	"                      with this blob's digest\n";

/* The blob's tensor rank, which the decoded graph does not keep. */
static u32 blob_rank(const struct mcai_graph *g, u32 t)
{
	u32 off = mcai_le32(g->blob + offsetof(struct mcai_blob2_header,
					       tensor_off));

	return g->blob[off + t * sizeof(struct mcai_blob2_tensor) +
		       offsetof(struct mcai_blob2_tensor, rank)];
}

static float fbits(u32 u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/*
 * Tensor @t's per-channel scales on the last (NHWC) axis, as floats in
 * the verified blob, or NULL (per tensor, or on another axis).
 */
static const u8 *last_axis_scales(const struct mcai_graph *g, u32 t)
{
	const u8 *h = g->blob;
	const u8 *e = h + mcai_le32(h + offsetof(struct mcai_blob2_header,
						 tensor_off)) +
		      t * sizeof(struct mcai_blob2_tensor);
	u32 count = mcai_le32(e + offsetof(struct mcai_blob2_tensor, qc_count));

	if (!count || e[offsetof(struct mcai_blob2_tensor, qc_axis)] != 3 ||
	    count != g->t[t].dims[3])
		return NULL;
	return h + mcai_le32(h + offsetof(struct mcai_blob2_header, data_off)) +
	       mcai_le32(e + offsetof(struct mcai_blob2_tensor, qc_off));
}

/* NCHW (or NCL) element @k of an ONNX shape as its channels-last index. */
static u64 to_nhwc(const u32 *od, u32 rank, u64 k)
{
	u64 c_, sp, hw, n;

	c_ = od[1];
	sp = rank == 4 ? (u64)od[2] * od[3] : od[2];
	n = k / (c_ * sp);
	hw = k % sp;
	return n * c_ * sp + hw * c_ + (k / sp) % c_;
}

/*
 * Input @k from @path as floats: one sample, or a batch of them along
 * the first axis (the blob is batch 1: `run` loops over the samples).
 */
static int read_input(const struct mcai_graph *g, u32 k, const char *path,
		      float **vals, u32 *batch)
{
	const struct mcai_gtensor *t = &g->t[g->input[k]];
	struct mcai_tensor in;
	u64 e = mcai_op_elems(t->dims), b;
	char err[256];

	if (mcai_tensor_read(&in, path, err, sizeof(err)))
		return fail("%s", err);
	b = e ? in.count / e : 0;
	if (!e || !b || in.count % e || b > 0xffffffffULL ||
	    (b > 1 && (!in.rank || in.dims[0] != b)) ||
	    (k && b != *batch)) {
		u64 want = k ? (u64)*batch * e : e;

		mcai_tensor_free(&in);
		return fail("%s: %llu values, input %u (%s) takes %llu%s", path,
			    (unsigned long long)in.count, k, g->input_name[k],
			    (unsigned long long)want,
			    k ? " (the first input's batch)" :
			    " a sample, or a batch of them along the first axis");
	}
	*vals = malloc(in.count * sizeof(float));
	if (!*vals) {
		mcai_tensor_free(&in);
		return fail("out of memory");
	}
	mcai_tensor_to_float(&in, *vals);
	*batch = (u32)b;
	mcai_tensor_free(&in);
	return 0;
}

/* One sample @v of input @k, quantised (and transposed) into @dst. */
static void load_input(const struct mcai_graph *g, u32 k, const float *v,
		       u8 *dst)
{
	const struct mcai_gtensor *t = &g->t[g->input[k]];
	struct mcai_iofacts f;
	u32 rank = blob_rank(g, g->input[k]), od[4];
	u64 e = mcai_op_elems(t->dims), i;
	float scale = fbits(t->scale);
	/* a Scaler's per-feature scales (models/import/onnx_ml.c) */
	const u8 *qc = last_axis_scales(g, g->input[k]);

	mcai_iofacts_parse(g->input_name[k], &f);
	mcai_iofacts_onnx_shape(t->dims, rank, f.nchw, od);
	for (i = 0; i < e; i++) {
		u64 o = f.nchw && rank >= 3 ? to_nhwc(od, rank, i) : i;
		double q = v[i];

		if (qc)
			scale = fbits(mcai_le32(qc + 4 * (o % t->dims[3])));
		s64 lo = t->dtype == MCAI_DT_INT8 ? -128 :
			 t->dtype == MCAI_DT_INT16 ? -32768 : INT32_MIN;
		s64 hi = t->dtype == MCAI_DT_INT8 ? 127 :
			 t->dtype == MCAI_DT_INT16 ? 32767 : INT32_MAX;

		if (f.is_float)
			q = nearbyint(q / scale) + t->zp; /* half to even */
		else if (f.is_uint8)
			q -= 128;
		q = isnan(q) ? t->zp : q < lo ? lo : q > hi ? hi : q;
		if (t->dtype == MCAI_DT_INT8) {
			dst[o] = (u8)(s8)q;
		} else if (t->dtype == MCAI_DT_INT16) {
			s16 s = (s16)q;

			memcpy(dst + 2 * o, &s, 2);
		} else {
			s32 s = (s32)q;

			memcpy(dst + 4 * o, &s, 4);
		}
	}
}

/* Output @k of @batch samples (@stride bytes apart from @src) to @path. */
static int store_output(const struct mcai_graph *g, u32 k, const u8 *src,
			u32 batch, u32 stride, const char *path)
{
	const struct mcai_gtensor *t = &g->t[g->output[k]];
	struct mcai_iofacts f;
	struct mcai_tensor out = { 0 };
	u32 rank = blob_rank(g, g->output[k]), od[4], d;
	u64 e = mcai_op_elems(t->dims), i;
	float scale = fbits(t->scale);
	char err[256];
	int ret;

	mcai_iofacts_parse(g->output_name[k], &f);
	mcai_iofacts_onnx_shape(t->dims, rank, f.nchw, od);
	if (batch > 1 && (rank < 2 || od[0] != 1))
		return fail("output %u (%s) has no batch axis (rank %u): give one sample at a time",
			    k, g->output_name[k], rank);
	out.rank = rank;
	for (d = 0; d < rank; d++)
		out.dims[d] = od[d];
	if (batch > 1)
		out.dims[0] = batch;
	out.count = e * batch;
	out.type = f.is_float ? MCAI_TF_FLOAT : f.is_uint8 ? MCAI_TF_UINT8 :
		   t->dtype == MCAI_DT_INT8 ? MCAI_TF_INT8 :
		   t->dtype == MCAI_DT_INT16 ? MCAI_TF_INT16 : MCAI_TF_INT32;
	out.data = calloc(out.count ? out.count : 1,
			  mcai_tensor_elem_size(out.type));
	if (!out.data)
		return fail("out of memory");
	for (i = 0; i < out.count; i++) {
		/* sample b's element el, from that sample's output bytes */
		u64 b = i / e, el = i % e;
		const u8 *from = src + b * stride;
		u64 s = f.nchw && rank >= 3 ? to_nhwc(od, rank, el) : el;
		s32 q;

		if (t->dtype == MCAI_DT_INT8) {
			q = (s8)from[s];
		} else if (t->dtype == MCAI_DT_INT16) {
			s16 v;

			memcpy(&v, from + 2 * s, 2);
			q = v;
		} else {
			memcpy(&q, from + 4 * s, 4);
		}
		if (f.is_float)
			((float *)out.data)[i] = scale * (float)(q - t->zp);
		else if (f.is_uint8)
			((u8 *)out.data)[i] = (u8)(q + 128);
		else if (out.type == MCAI_TF_INT8)
			((s8 *)out.data)[i] = (s8)q;
		else if (out.type == MCAI_TF_INT16)
			((s16 *)out.data)[i] = (s16)q;
		else
			((s32 *)out.data)[i] = q;
	}
	ret = mcai_tensor_write(&out, path, err, sizeof(err));
	mcai_tensor_free(&out);
	return ret ? fail("%s", err) : 0;
}

/* The same engine in the kernel: the loaded version must be this blob. */
static int run_device(const struct mcai_model *m, const u8 *in, u8 *out)
{
	struct mcai_sel sel = { .id = 0, .name = m->name };
	struct mcai_infer_reply r;
	struct mcai_model_info mi;
	struct mcai_dev d;
	int ret;

	if (open_device(&d))
		return 1;
	memset(&mi, 0, sizeof(mi));
	if (mcai_dev_model_info(&d, sel, &mi)) {
		fail("%s: %s", m->name, d.msg);
		mcai_dev_close(&d);
		return 1;
	}
	if (memcmp(mi.digest, m->digest, MCAI_DIGEST_LEN)) {
		fail("%s: the loaded version %u is not this blob (digests differ): load it first",
		     m->name, mi.version);
		mcai_dev_close(&d);
		return 1;
	}
	ret = mcai_dev_infer(&d, sel, (const s8 *)in, m->input_len,
			     (s8 *)out, m->output_len, &r);
	if (ret) {
		fail("%s: %s", m->name, d.msg);
	} else if (r.scores_len != m->output_len) {
		ret = fail("%s: the loaded model gives %u output bytes, this blob %u: load this blob first",
			   m->name, r.scores_len, m->output_len);
	}
	mcai_dev_close(&d);
	return ret ? 1 : 0;
}

enum { OPT_DEVICE = 256 };

int run_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "device", no_argument, NULL, OPT_DEVICE },
		{ 0 }
	};
	const struct command *c = find_command("run");
	const char *ins[MCAI_BLOB2_MAX_IO], *outs[MCAI_BLOB2_MAX_IO];
	u32 n_ins = 0, n_outs = 0, state_size, k, at, batch = 1, b;
	float *vals[MCAI_BLOB2_MAX_IO] = { 0 };
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	const struct mcai_graph *g;
	bool device = false;
	void *state = NULL, *arena = NULL;
	u8 *blob = NULL, *in = NULL, *out = NULL;
	int ch, ret = EXIT_FAILURE, cls = -1;
	size_t size;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hji:o:", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == 'i' || ch == 'o') {
			if ((ch == 'i' ? n_ins : n_outs) >= MCAI_BLOB2_MAX_IO)
				return usage_error(c, "at most %d inputs and outputs",
						   MCAI_BLOB2_MAX_IO);
			if (ch == 'i')
				ins[n_ins++] = optarg;
			else
				outs[n_outs++] = optarg;
		} else if (ch == OPT_DEVICE) {
			device = true;
		}
	}
	if (argc - optind != 1)
		return usage_error(c, "run takes one blob file");
	if (!n_ins || !n_outs)
		return usage_error(c, "give --input and --output files");
	if (read_all(argv[optind], MAX_RUN_BLOB, &blob, &size))
		return EXIT_FAILURE;
	mcai_limits_widest(&lim);
	if (mcai_blob_format(blob, (u32)size) != MCAI_BLOB2_VERSION) {
		fail("%s: not a graph blob (format 2)", argv[optind]);
		goto out;
	}
	if (mcai_model_state_size(blob, (u32)size, &lim, &state_size, &v)) {
		fail("%s: %s (at byte %u)", argv[optind], v.reason, v.offset);
		goto out;
	}
	state = aligned_alloc(8, (state_size + 7) & ~7U);
	if (!state || mcai_model_verify(&m, blob, (u32)size, &lim, state,
					state_size, &v)) {
		fail("%s: %s (at byte %u)", argv[optind],
		     state ? v.reason : "out of memory", state ? v.offset : 0);
		goto out;
	}
	g = m.graph;
	if (n_ins != g->n_inputs || n_outs != g->n_outputs) {
		ret = usage_error(c, "the blob has %u inputs and %u outputs",
				  g->n_inputs, g->n_outputs);
		goto out;
	}
	for (k = 0; k < g->n_inputs; k++)
		if (read_input(g, k, ins[k], &vals[k], &batch))
			goto out;
	in = calloc(1, m.input_len + 8);
	out = calloc(batch, m.output_len + 8);
	arena = aligned_alloc(8, (m.arena_size + 15) & ~7U);
	if (!in || !out || !arena) {
		fail("out of memory");
		goto out;
	}
	/* the engine is batch 1: a batch runs one sample after another */
	for (b = 0; b < batch; b++) {
		u8 *o = out + (size_t)b * m.output_len;

		for (k = 0, at = 0; k < g->n_inputs; k++) {
			const struct mcai_gtensor *t = &g->t[g->input[k]];

			load_input(g, k, vals[k] + b * mcai_op_elems(t->dims),
				   in + at);
			at += t->bytes;
		}
		if (device) {
			if (run_device(&m, in, o))
				goto out;
			cls = -1;
		} else {
			cls = mcai_model_run(&m, in, o, arena);
		}
	}
	for (k = 0, at = 0; k < g->n_outputs; k++) {
		if (store_output(g, k, out + at, batch, m.output_len, outs[k]))
			goto out;
		at += g->t[g->output[k]].bytes;
	}
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "blob", argv[optind]);
		mcai_json_kv_string(&json, "engine", device ? "kernel" : "user");
		mcai_json_kv_int(&json, "samples", batch);
		/* the last sample's */
		mcai_json_kv_int(&json, "class", cls);
		mcai_json_object_end(&json);
	}
	ret = 0;
out:
	for (k = 0; k < MCAI_BLOB2_MAX_IO; k++)
		free(vals[k]);
	free(blob);
	free(state);
	free(arena);
	free(in);
	free(out);
	return ret;
}
