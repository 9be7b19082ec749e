/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mcai: Micro-Collective AI — the whole kernel/user ABI.
 *
 * This is the only place where ioctl numbers, structures, limits and the
 * model blob format are defined.  It is included by the kernel module, the
 * runtime, the BPF programs and the tests.
 *
 * Rules (Documentation/driver-api/ioctl.rst, botching-up-ioctls.rst):
 *  - every structure starts with a __u32 size that user space sets to
 *    sizeof(struct) as it knows it; the kernel refuses sizes below those
 *    of ABI version 1 (-EINVAL), accepts newer (longer) structures whose
 *    unknown tail is zero (-E2BIG otherwise), and copies results back in
 *    min(user size, kernel size) bytes; fields added later come at the end
 *    and a caller that does not know them gets them zero-filled;
 *  - pointers travel as __u64, all padding is explicit;
 *  - unknown flags and non-zero reserved fields are rejected with -EINVAL;
 *  - unknown commands get -ENOTTY.
 */
#ifndef _UAPI_MCAI_H
#define _UAPI_MCAI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MCAI_DEVICE_NAME	"mcai"
#define MCAI_ABI_VERSION	1

/* Model names: 1..31 bytes of [A-Za-z0-9_.-], NUL padded. */
#define MCAI_NAME_LEN		32
#define MCAI_REASON_LEN		96
#define MCAI_DIGEST_LEN		32	/* SHA-256 */

/* Features advertised by MCAI_IOC_GET_INFO. */
#define MCAI_FEAT_SYNC_INFER	(1ULL << 0)
#define MCAI_FEAT_HOT_SWAP	(1ULL << 1)
#define MCAI_FEAT_TEST_VECTORS	(1ULL << 2)

/* ---------------------------------------------------------------------- */
/* Model blob, format version 1.  All integers little endian.             */
/* ---------------------------------------------------------------------- */

#define MCAI_BLOB_MAGIC		0x4941434dU	/* "MCAI" */
#define MCAI_BLOB_VERSION	1
#define MCAI_BLOB_ALIGN		4	/* every section and array offset */
#define MCAI_BLOB_MAX_LAYERS	16	/* hard cap of format v1 */

/* Layer types.  Anything else is rejected. */
enum mcai_layer_type {
	MCAI_LAYER_FC = 1,	/* fully connected, per-channel requant */
	MCAI_LAYER_LUT = 2,	/* elementwise 256-entry int8 table */
};

/* Fused activation of an FC layer; the clamp bounds carry the numbers. */
enum mcai_activation {
	MCAI_ACT_NONE = 0,
	MCAI_ACT_RELU = 1,
	MCAI_ACT_RELU6 = 2,
	MCAI_ACT_SIGMOID = 3,	/* LUT layers: what the table holds */
	MCAI_ACT_TANH = 4,
};

/* How the output vector becomes a class. */
enum mcai_head {
	MCAI_HEAD_ARGMAX = 0,	/* class = index of the highest score */
	MCAI_HEAD_THRESHOLD = 1,	/* one score; class = score >= threshold */
};

/*
 * Blob layout:
 *
 *   struct mcai_blob_header                      (header_size bytes)
 *   struct mcai_blob_layer[n_layers]             (at layer_off)
 *   data section                                 (data_off, data_size)
 *   test vectors                                 (tv_off, tv_count records)
 *   SHA-256 of every byte before it              (last 32 bytes)
 *
 * Offsets inside a layer (weights_off, ...) are relative to data_off.
 * Sections may not overlap and must lie inside the blob; every array of
 * 32-bit values is 4-byte aligned.  A test vector record is input_len
 * int8 inputs followed by output_len int8 expected scores.
 */
struct mcai_blob_header {
	__le32 magic;
	__le16 format_version;
	__le16 header_size;
	__le32 flags;			/* none defined in v1: must be 0 */
	__le32 total_size;		/* whole blob, digest included */
	char name[MCAI_NAME_LEN];
	__le32 model_version;		/* >= 1 */
	__le32 n_layers;
	__le32 layer_off;
	__le32 data_off;
	__le32 data_size;
	__le32 tv_off;			/* 0 when tv_count == 0 */
	__le32 tv_count;
	__le32 input_len;		/* int8 elements */
	__le32 output_len;		/* int8 scores */
	__le32 arena_size;		/* scratch bytes the engine needs */
	__le32 input_scale;		/* IEEE-754 float bits: real = scale * (q - zp) */
	__le32 output_scale;		/* ditto, informative for user space */
	__s8 input_zp;
	__s8 output_zp;
	__u8 head;			/* enum mcai_head */
	__s8 head_threshold;		/* MCAI_HEAD_THRESHOLD only */
	__le32 reserved[7];		/* must be 0 */
};					/* 128 bytes */

struct mcai_blob_layer {
	__le16 type;			/* enum mcai_layer_type */
	__u8 activation;		/* enum mcai_activation */
	__u8 pad0;			/* must be 0 */
	__le32 in_len;
	__le32 out_len;
	__s8 in_zp;			/* activation zero points */
	__s8 out_zp;
	__s8 clamp_min;			/* output clamp, after zero point */
	__s8 clamp_max;
	__le32 weights_off;		/* FC: int8 [out_len][in_len] */
	__le32 bias_off;		/* FC: int32 [out_len] */
	__le32 mult_off;		/* FC: Q31 multipliers int32 [out_len] */
	__le32 shift_off;		/* FC: int32 [out_len], -31..30 */
	__le32 lut_off;			/* LUT: int8 [256], index = q + 128 */
	__le32 reserved[7];		/* must be 0 */
};					/* 64 bytes */

/* ---------------------------------------------------------------------- */
/* ioctls                                                                 */
/* ---------------------------------------------------------------------- */

#define MCAI_IOC_MAGIC		0xE9

/* MCAI_IOC_GET_INFO: what this module is and what it allows. */
struct mcai_info {
	__u32 size;			/* in: sizeof; out: kernel's sizeof */
	__u32 abi_version;
	__u64 features;			/* MCAI_FEAT_* */
	__u32 blob_format_version;	/* highest blob format understood */
	__u32 max_blob_size;		/* limits are module parameters */
	__u32 max_models;
	__u32 max_layers;
	__u32 max_dim;			/* largest layer width */
	__u32 max_arena;
	__u32 nr_models;		/* currently loaded */
	__u32 pad;
};

/* MCAI_IOC_MODEL_LOAD flags */
#define MCAI_LOAD_FORCE		(1U << 0)	/* allow a version downgrade */
#define MCAI_LOAD_FLAGS_ALL	(MCAI_LOAD_FORCE)

/*
 * Load a blob.  A name not yet loaded gets a new model id; a newer version
 * of a loaded name replaces it atomically and keeps its id.  On -EINVAL the
 * kernel fills reason and err_offset (which byte of the blob was wrong); on
 * -EEXIST and -ESTALE, model_id and version name what stays loaded.
 */
struct mcai_model_load {
	__u32 size;
	__u32 flags;			/* MCAI_LOAD_* */
	__u64 blob_ptr;
	__u32 blob_size;
	__u32 model_id;			/* out */
	__u32 version;			/* out: the version now active */
	__u32 replaced_version;		/* out: 0 if none was loaded */
	__u32 err_offset;		/* out */
	__u32 pad;
	char reason[MCAI_REASON_LEN];	/* out, NUL terminated */
};

/* Select a model by id, or by name when model_id is 0. */
struct mcai_model_ref {
	__u32 model_id;
	__u32 pad;
	char name[MCAI_NAME_LEN];
};

struct mcai_model_unload {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	struct mcai_model_ref ref;
};

struct mcai_model_info {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	struct mcai_model_ref ref;	/* in; the name is filled in out */
	__u32 version;
	__u32 n_layers;
	__u32 input_len;
	__u32 output_len;
	__u64 macs;			/* multiply-accumulates per inference */
	__u32 blob_size;
	__u32 arena_size;
	__u32 input_scale;		/* float bits, as in the blob */
	__u32 output_scale;
	__s8 input_zp;
	__s8 output_zp;
	__u8 head;
	__s8 head_threshold;
	__u32 tv_count;
	__u64 inferences;		/* completed on this name, all versions */
	__u8 digest[MCAI_DIGEST_LEN];
};

/*
 * List loaded model ids.  ids_ptr points to an array of capacity __u32;
 * count returns how many models are loaded (which may exceed capacity:
 * only the first capacity ids are written).
 */
struct mcai_model_list {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	__u64 ids_ptr;
	__u32 capacity;
	__u32 count;			/* out */
};

/*
 * Synchronous inference: input_len int8 values in, scores and class out.
 * scores_ptr may be 0 if only the class is wanted.
 */
struct mcai_infer {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	struct mcai_model_ref ref;
	__u64 input_ptr;
	__u64 scores_ptr;
	__u32 input_len;		/* must equal the model's input_len */
	__u32 scores_len;		/* in: capacity; out: output_len */
	__s32 class_id;			/* out */
	__u32 version;			/* out: the version that computed it */
};

#define MCAI_IOC_GET_INFO	_IOWR(MCAI_IOC_MAGIC, 0x00, struct mcai_info)
#define MCAI_IOC_MODEL_LOAD	_IOWR(MCAI_IOC_MAGIC, 0x01, struct mcai_model_load)
#define MCAI_IOC_MODEL_UNLOAD	_IOW(MCAI_IOC_MAGIC, 0x02, struct mcai_model_unload)
#define MCAI_IOC_MODEL_INFO	_IOWR(MCAI_IOC_MAGIC, 0x03, struct mcai_model_info)
#define MCAI_IOC_MODEL_LIST	_IOWR(MCAI_IOC_MAGIC, 0x04, struct mcai_model_list)
#define MCAI_IOC_INFER		_IOWR(MCAI_IOC_MAGIC, 0x05, struct mcai_infer)

#endif /* _UAPI_MCAI_H */
