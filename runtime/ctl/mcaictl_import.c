// SPDX-License-Identifier: GPL-2.0
/*
 * mcaictl import: an ONNX model into a verified blob of format v2, by
 * the importer of models/import/.  Scriptable: the exit status says
 * which kind of failure (import.h), --json gives the facts on stdout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "models/import/import.h"
#include "models/import/tensorfile.h"
#include "runtime/ctl/mcaictl.h"

#define MAX_ONNX_FILE	(256U << 20)
#define MAX_CALIB_FILES	256

const char import_details[] =
	"Reads MODEL.onnx and writes a blob of format v2 that the engine runs,\n"
	"in the kernel and in user space alike.  Accepted: QDQ models\n"
	"(QuantizeLinear/DequantizeLinear around float ops), QOperator models\n"
	"(QLinearConv, QLinearMatMul, ConvInteger/MatMulInteger + Cast + Mul,\n"
	"com.microsoft QLinearAdd, QLinearAveragePool, QLinearGlobalAveragePool,\n"
	"QLinearSigmoid, QLinearConcat) and float models with --calibrate.\n"
	"Batch norm folds into the Conv/Gemm before it, Relu/Clip fuse into\n"
	"their producer, Identity/Dropout go.  The blob's inputs are channels-last\n"
	"(NHWC) where the model's were NCHW: `mcaictl run` transposes for you.\n"
	"\n"
	"  -o, --output FILE     the blob to write (required)\n"
	"      --name N          the blob's model name (default: the graph's)\n"
	"      --version V       its version (default: model_version, else 1)\n"
	"      --calibrate FILE  samples (.npy or TensorProto .pb; one sample or a\n"
	"                        batch in the first dimension) to quantise a float\n"
	"                        model by; repeat it; with several inputs, the\n"
	"                        files go to the inputs in turn.  The first sample\n"
	"                        becomes the blob's test vector.\n"
	"      --per-tensor      one weight scale per tensor, not per channel\n"
	"\n"
	"Exit status: 0 written, 1 I/O error, 2 usage, 3 the model uses what the\n"
	"engine does not support (the message names the node, its op type and\n"
	"why), 4 the file is not a well-formed ONNX model.\n";

struct calib_set {
	float *data[MCAI_IMPORT_MAX_IO];
	u32 count[MCAI_IMPORT_MAX_IO];
};

/* Append the samples of @path to input @k's set. */
static int calib_add(struct calib_set *cs, u32 k, u64 elems, const char *path)
{
	struct mcai_tensor t;
	char err[256];
	float *nd;
	u64 n;

	if (mcai_tensor_read(&t, path, err, sizeof(err)))
		return fail("%s", err);
	if (!elems || t.count % elems) {
		mcai_tensor_free(&t);
		return fail("%s: %llu values are not samples of %llu", path,
			    (unsigned long long)t.count,
			    (unsigned long long)elems);
	}
	n = t.count / elems;
	if (cs->count[k] + n > 1000000) {
		mcai_tensor_free(&t);
		return fail("%s: too many calibration samples", path);
	}
	nd = realloc(cs->data[k], (cs->count[k] + n) * elems * sizeof(float));
	if (!nd) {
		mcai_tensor_free(&t);
		return fail("out of memory");
	}
	cs->data[k] = nd;
	mcai_tensor_to_float(&t, nd + cs->count[k] * elems);
	cs->count[k] += (u32)n;
	mcai_tensor_free(&t);
	return 0;
}

static int write_file(const char *path, const u8 *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return fail("cannot create %s: %s", path, strerror(errno));
	ok = fwrite(b, 1, len, f) == len;
	ok &= fclose(f) == 0;
	return ok ? 0 : fail("%s: write failed", path);
}

enum { OPT_NAME = 256, OPT_VERSION, OPT_CALIB, OPT_PER_TENSOR };

int import_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "calibrate", required_argument, NULL, OPT_CALIB },
		{ "per-tensor", no_argument, NULL, OPT_PER_TENSOR },
		{ 0 }
	};
	const struct command *c = find_command("import");
	struct mcai_import_calib calib[MCAI_IMPORT_MAX_IO];
	const char *calib_files[MAX_CALIB_FILES];
	struct mcai_import_opts o = { 0 };
	struct mcai_import_result r;
	struct mcai_import_error err;
	struct calib_set cs = { 0 };
	u64 elems[MCAI_IMPORT_MAX_IO];
	const char *out = NULL, *path;
	u32 n_calib = 0, n_in = 0, i;
	int ch, ret = EXIT_FAILURE;
	size_t len;
	u8 *buf;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjo:", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case OPT_NAME:
			if (!mcai_name_valid(optarg))
				return usage_error(c, "--name wants 1..31 of [A-Za-z0-9_.-], not \"%s\"",
						   optarg);
			o.name = optarg;
			break;
		case OPT_VERSION:
			if (parse_u32(optarg, &o.version) || !o.version)
				return usage_error(c, "--version wants a number >= 1");
			break;
		case OPT_CALIB:
			if (n_calib >= MAX_CALIB_FILES)
				return usage_error(c, "at most %d --calibrate files",
						   MAX_CALIB_FILES);
			calib_files[n_calib++] = optarg;
			break;
		case OPT_PER_TENSOR:
			o.per_tensor = true;
			break;
		}
	}
	if (argc - optind != 1)
		return usage_error(c, argc == optind ? "no model file given" :
					"import takes one model file");
	if (!out)
		return usage_error(c, "no output file given (-o OUT.mcai)");
	path = argv[optind];
	if (read_all(path, MAX_ONNX_FILE, &buf, &len))
		return EXIT_FAILURE;
	if (n_calib) {
		if (mcai_import_inputs(buf, len, &n_in, elems, &err)) {
			ret = err.code;
			fail("%s: %s", path, err.msg);
			goto out;
		}
		for (i = 0; i < n_calib; i++)
			if (calib_add(&cs, i % n_in, elems[i % n_in], calib_files[i]))
				goto out;
		for (i = 0; i < n_in; i++) {
			calib[i].data = cs.data[i];
			calib[i].count = cs.count[i];
		}
		o.calib = calib;
		o.n_calib = n_in;
	}
	ret = mcai_import_onnx(buf, len, &o, &r, &err);
	if (ret) {
		fail("%s: %s", path, err.msg);
		goto out;
	}
	if (write_file(out, r.blob, r.size)) {
		ret = EXIT_FAILURE;
	} else if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "model", path);
		mcai_json_kv_string(&json, "blob", out);
		mcai_json_kv_string(&json, "form", r.form);
		mcai_json_kv_uint(&json, "size", r.size);
		mcai_json_kv_uint(&json, "ops", r.n_ops);
		mcai_json_kv_uint(&json, "rewrites", r.n_rewrites);
		mcai_json_kv_uint(&json, "quant_fixed", r.n_quant_fixed);
		mcai_json_kv_uint(&json, "quant_calibrated", r.n_quant_calibrated);
		mcai_json_object_end(&json);
	} else {
		printf("%s: %s model, %u ops (%u rewrites), %u tensors quantised by the model, %u by calibration; %u bytes\n",
		       out, r.form, r.n_ops, r.n_rewrites, r.n_quant_fixed,
		       r.n_quant_calibrated, r.size);
	}
	free(r.blob);
out:
	for (i = 0; i < MCAI_IMPORT_MAX_IO; i++)
		free(cs.data[i]);
	free(buf);
	return ret;
}
