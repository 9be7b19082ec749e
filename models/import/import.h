/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ONNX importer (user space only): an .onnx model in, a verified
 * blob of format v2 out, or a refusal that names the node, its op type
 * and what is not supported.
 *
 * Accepted: QDQ models (QuantizeLinear/DequantizeLinear around float
 * ops), QOperator models (QLinearConv, QLinearMatMul, com.microsoft
 * QLinearAdd, QLinearAveragePool, QLinearGlobalAveragePool), float
 * models with calibration samples, and ai.onnx.ml tree ensembles.
 * models/README.md lists the ops and the rewrites.
 */
#ifndef MCAI_IMPORT_H
#define MCAI_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"
#include "uapi/mcai.h"

#define MCAI_IMPORT_MAX_IO	MCAI_BLOB2_MAX_IO

/* Why an import failed: distinct exit statuses in mcaictl import. */
enum mcai_import_status {
	MCAI_IMPORT_OK = 0,
	MCAI_IMPORT_EIO = 1,		/* reading, allocating, writing */
	MCAI_IMPORT_EUNSUPPORTED = 3,	/* valid ONNX the engine cannot run */
	MCAI_IMPORT_EMALFORMED = 4,	/* not a well-formed ONNX model */
};

struct mcai_import_error {
	int code;			/* enum mcai_import_status */
	char msg[512];
};

/* Calibration samples of one graph input, float, ONNX layout. */
struct mcai_import_calib {
	const float *data;		/* count * elems of the input */
	u32 count;
};

struct mcai_import_opts {
	const char *name;		/* NULL: the graph's name, sanitised */
	u32 version;			/* 0: the model's model_version or 1 */
	bool per_tensor;		/* per-tensor weight scales */
	/* [graph input] samples, or n_calib == 0 */
	const struct mcai_import_calib *calib;
	u32 n_calib;
};

struct mcai_import_result {
	u8 *blob;			/* malloc'd */
	u32 size;
	u32 n_ops;
	u32 n_quant_fixed;		/* tensors quantised by the source */
	u32 n_quant_calibrated;		/* tensors quantised by calibration */
	u32 n_rewrites;			/* folds, fusions, drops */
	const char *form;		/* "qdq", "qoperator", "float", "ml", "mixed" */
};

/*
 * Import the @len bytes of an ONNX ModelProto.  Returns 0 with @r
 * filled (free r->blob), or the status with @err set.
 */
int mcai_import_onnx(const u8 *buf, size_t len,
		     const struct mcai_import_opts *o,
		     struct mcai_import_result *r,
		     struct mcai_import_error *err);

/*
 * The graph inputs of a model as calibration wants them: how many, and
 * each one's element count (ONNX shape, batch 1).  For loading .npy/.pb
 * samples before the import.  0, or the status with @err set.
 */
int mcai_import_inputs(const u8 *buf, size_t len, u32 *n_inputs,
		       u64 elems[MCAI_IMPORT_MAX_IO],
		       struct mcai_import_error *err);

#endif /* MCAI_IMPORT_H */
