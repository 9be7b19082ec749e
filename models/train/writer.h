/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Blob writer and file reader (user space only): lays out a model described in memory as a
 * format v1 blob, fills in the test vectors' expected scores with the
 * engine itself, seals it with its digest and checks it with the verifier.
 */
#ifndef MCAI_WRITER_H
#define MCAI_WRITER_H

#include "models/engine/model.h"

struct mcai_layer_spec {
	u16 type;			/* enum mcai_layer_type */
	u8 activation;
	s8 in_zp, out_zp;
	s8 clamp_min, clamp_max;
	u32 in_len, out_len;
	const s8 *weights;		/* FC: [out_len][in_len], no -128 */
	const s32 *bias;		/* FC: [out_len] */
	const s32 *mult;		/* FC: [out_len] */
	const s32 *shift;		/* FC: [out_len] */
	const s8 *lut;			/* LUT: [256] */
};

struct mcai_blob_spec {
	const char *name;
	u32 version;
	u8 head;			/* enum mcai_head */
	s8 head_threshold;
	float input_scale, output_scale;
	u32 n_layers;
	struct mcai_layer_spec layer[MCAI_BLOB_MAX_LAYERS];
	u32 tv_count;
	const s8 *tv_inputs;		/* tv_count * input_len */
};

/*
 * Returns a malloc'd blob and its size in @size, or NULL with a message in
 * @err.  Input/output widths and zero points come from the first and last
 * layers.
 */
u8 *mcai_blob_write(const struct mcai_blob_spec *s, u32 *size, char *err,
		    size_t errlen);

/*
 * Read a whole blob file (at most @max bytes) into a malloc'd buffer.
 * Returns NULL with a message naming the file in @err.  Reading is not
 * verifying: pass the result to mcai_verify().
 */
u8 *mcai_blob_read(const char *path, u32 max, u32 *size, char *err,
		   size_t errlen);

#endif /* MCAI_WRITER_H */
