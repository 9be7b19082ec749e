/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One tensor in a file, as frameworks save them: ONNX TensorProto (.pb)
 * and NumPy (.npy, format 1.0-3.0, C order).  Readers take hostile bytes;
 * every size is checked before use.  Element types: float32, float64
 * (read as float32), int8, uint8, int16, int32, int64.
 */
#ifndef MCAI_TENSORFILE_H
#define MCAI_TENSORFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"

#define MCAI_TF_MAX_RANK	8
#define MCAI_TF_MAX_ELEMS	(1U << 28)

/* Element types use ONNX's TensorProto.DataType numbers. */
enum {
	MCAI_TF_FLOAT = 1, MCAI_TF_UINT8 = 2, MCAI_TF_INT8 = 3,
	MCAI_TF_INT16 = 5, MCAI_TF_INT32 = 6, MCAI_TF_INT64 = 7,
	MCAI_TF_DOUBLE = 11,
};

struct mcai_tensor {
	int type;
	u32 rank;
	u64 dims[MCAI_TF_MAX_RANK];
	u64 count;			/* elements */
	void *data;			/* malloc'd, native little-endian */
	char name[64];			/* TensorProto's, else empty */
};

/* Which format @path names: by extension, else by the first bytes. */
bool mcai_tensor_is_npy(const char *path, const u8 *buf, size_t len);

/* Parse @len bytes; 0, or -1 with a sentence in @err. */
int mcai_tensor_parse_npy(struct mcai_tensor *t, const u8 *buf, size_t len,
			  char *err, size_t errlen);
int mcai_tensor_parse_pb(struct mcai_tensor *t, const u8 *buf, size_t len,
			 char *err, size_t errlen);
int mcai_tensor_read(struct mcai_tensor *t, const char *path, char *err,
		     size_t errlen);

/* Serialise; a malloc'd buffer in @out, or NULL on allocation failure. */
u8 *mcai_tensor_npy_bytes(const struct mcai_tensor *t, size_t *len);
u8 *mcai_tensor_pb_bytes(const struct mcai_tensor *t, size_t *len);
/* Write in the format @path names (.npy, else TensorProto). */
int mcai_tensor_write(const struct mcai_tensor *t, const char *path,
		      char *err, size_t errlen);

/* The elements as float32 (@out holds t->count). */
void mcai_tensor_to_float(const struct mcai_tensor *t, float *out);
size_t mcai_tensor_elem_size(int type);
void mcai_tensor_free(struct mcai_tensor *t);

#endif /* MCAI_TENSORFILE_H */
