/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an imported blob records about its inputs and outputs, for
 * `mcaictl run`: the blob format has no field for it, so the io name
 * carries it as a suffix "__" CODE after the (sanitised) ONNX name:
 *
 *   f   the ONNX tensor is float: quantise it with the blob tensor's
 *       scale and zero point (per-channel scales on the last axis for
 *       tree features), dequantise outputs
 *   i   int8 in ONNX and in the blob
 *   u   uint8 in ONNX, int8 in the blob (value - 128, zero point too)
 *   then optionally
 *   t   ONNX has it channels-first (NCHW, NCL), the blob channels-last
 *   c   a classifier's scores: ONNX has a label output (int64, the
 *       argmax) before this one
 *
 * The blob tensor's rank is the ONNX rank.  A name without the suffix
 * (a blob not made by the importer) is int8/int16/int32 as stored.
 */
#ifndef MCAI_IOFACTS_H
#define MCAI_IOFACTS_H

#include <stdbool.h>

#include "models/engine/port.h"
#include "uapi/mcai.h"

struct mcai_iofacts {
	bool tagged;			/* the suffix was there */
	bool is_float;
	bool is_uint8;
	bool nchw;
	bool classifier;
};

/* Parse the suffix of an io name. */
void mcai_iofacts_parse(const char *name, struct mcai_iofacts *f);

/*
 * The io name for ONNX name @onnx with facts @f: characters outside
 * [A-Za-z0-9_.-] become '_', the name is cut to fit the suffix.
 */
void mcai_iofacts_name(const char *onnx, const struct mcai_iofacts *f,
		       char out[MCAI_BLOB2_IO_NAME_LEN]);

/*
 * The ONNX shape of a blob tensor: @rank dims from channels-last
 * @dims (rank-4 blob order, leading 1s).  Returns the rank.
 */
u32 mcai_iofacts_onnx_shape(const u32 dims[4], u32 rank, bool nchw,
			    u32 out[4]);

#endif /* MCAI_IOFACTS_H */
