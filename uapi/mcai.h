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
#define MCAI_FEAT_SESSIONS	(1ULL << 3)	/* zero-copy rings, poll */
#define MCAI_FEAT_POLICY	(1ULL << 4)	/* priority, deadline, energy */
#define MCAI_FEAT_PIPELINES	(1ULL << 5)
#define MCAI_FEAT_STATS		(1ULL << 6)	/* drift statistics */
#define MCAI_FEAT_TRACEPOINTS	(1ULL << 7)	/* mcai:* trace events */
#define MCAI_FEAT_ENERGY_FEED	(1ULL << 8)	/* MCAI_IOC_MODEL_ENERGY */
#define MCAI_FEAT_SIGNED	(1ULL << 9)	/* signature trailer, below */
#define MCAI_FEAT_MIRROR	(1ULL << 10)	/* sample mirror, below */
#define MCAI_FEAT_ATTACH_LIST	(1ULL << 11)	/* MCAI_IOC_ATTACH_LIST, below */
#define MCAI_FEAT_DMABUF	(1ULL << 12)	/* MCAI_IOC_INFER_DMABUF, below */

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
/* Model blob, format version 2: a graph.  All integers little endian.    */
/* ---------------------------------------------------------------------- */

/*
 * A v2 blob starts like a v1 blob (magic, format_version, header_size,
 * flags, total_size at the same offsets), so a reader dispatches on
 * format_version; v1 blobs are unchanged.
 *
 * Blob layout (every section 4-byte aligned, none overlapping):
 *
 *   struct mcai_blob2_header                  (header_size bytes)
 *   struct mcai_blob2_tensor[n_tensors]       (at tensor_off)
 *   struct mcai_blob2_op[n_ops]               (at op_off)
 *   struct mcai_blob2_io[n_inputs + n_outputs] (at io_off)
 *   op parameters                             (params_off, params_size)
 *   constant data                             (data_off, data_size)
 *   test vectors                              (tv_off, tv_count records)
 *   SHA-256 of every byte before it           (last 32 bytes)
 *
 * Section offsets are relative to the blob; a tensor's constant offset
 * and quant array offset are relative to data_off, an op's params_off to
 * params_off.  Ops come in topological order: an op reads only constants,
 * graph inputs and outputs of earlier ops.  Intermediate tensors live in
 * one arena of arena_size bytes at offsets the writer planned; the
 * verifier checks that no two tensors alive at the same time overlap.
 * A test vector record is every input's bytes, then every output's
 * bytes, in io order, each tensor dense (little-endian elements).
 */
#define MCAI_BLOB2_VERSION	2
#define MCAI_BLOB2_MAX_TENSORS	512
#define MCAI_BLOB2_MAX_OPS	256
#define MCAI_BLOB2_MAX_IO	8	/* inputs, and outputs, each */
#define MCAI_BLOB2_OP_MAX_IN	4
#define MCAI_BLOB2_IO_NAME_LEN	24

enum mcai_dtype {
	MCAI_DT_INT8 = 1,
	MCAI_DT_INT16 = 2,
	MCAI_DT_INT32 = 3,
};

enum mcai_tensor_kind {
	MCAI_TK_CONST = 1,	/* offset into the data section */
	MCAI_TK_ARENA = 2,	/* offset into the arena */
};

/*
 * Operator types and their inputs (x = activation, w = int8 const
 * weights, b = int32 const bias); every op has one output.  Params are
 * __le32 words, in this order (acts are s32 -128..127 clamp bounds;
 * mult/shift per output channel as requant.h takes them):
 *   CONV2D     x w[O][kh][kw][I/groups] b: stride_h, stride_w, dil_h,
 *              dil_w, pad_top, pad_left, pad_bottom, pad_right, groups,
 *              act_min, act_max, mult[O], shift[O]
 *   DEPTHWISE  x w[1][kh][kw][O] b: as CONV2D (groups = 1, ignored)
 *   FC         x w[O][I] b: act_min, act_max, mult[O], shift[O]
 *   MAX_POOL2D, AVG_POOL2D  x: k_h, k_w, stride_h, stride_w, pad_top,
 *              pad_left, pad_bottom, pad_right, act_min, act_max
 *   GLOBAL_AVG_POOL x: act_min, act_max
 *   ADD        x1 x2: in1_mult, in1_shift, in2_mult, in2_shift,
 *              out_mult, out_shift, left_shift, act_min, act_max
 *   SOFTMAX    x: input_mult, input_left_shift, diff_min
 *   LUT        x: 256 int8 table bytes (index q + 128)
 *   RESHAPE    x: none (same element count)
 *   TREE       x (int16 features) -> int32 [n_outputs]: n_trees,
 *              n_nodes, n_values, n_outputs, max_depth, aggregate, link,
 *              frac_bits, has_base, roots[n_trees], nodes[n_nodes] as
 *              (left, right, value, feature | threshold << 16),
 *              values[n_values], base[n_outputs] if has_base
 *   RECON      recon x (int8, same shape) -> int32 [1]: in_mult,
 *              in_shift, mean_mult, mean_shift
 *   MUL        x1 x2: mult, shift, act_min, act_max
 *   MEAN       x: axes (bit d = dimension d), mult, shift; the output
 *              has the kept dimensions' elements
 *   PAD        x: before[4], after[4]; padded with the output zero point
 *   CONCAT     x1..x4 (1..MCAI_BLOB2_OP_MAX_IN): axis, then mult and
 *              shift of each input
 */
enum mcai_op_type {
	MCAI_OP_CONV2D = 1,
	MCAI_OP_DEPTHWISE = 2,
	MCAI_OP_FC = 3,
	MCAI_OP_MAX_POOL2D = 4,
	MCAI_OP_AVG_POOL2D = 5,
	MCAI_OP_GLOBAL_AVG_POOL = 6,
	MCAI_OP_ADD = 7,
	MCAI_OP_SOFTMAX = 8,
	MCAI_OP_LUT = 9,
	MCAI_OP_RESHAPE = 10,
	MCAI_OP_TREE = 11,
	MCAI_OP_RECON = 12,
	MCAI_OP_MUL = 13,
	MCAI_OP_MEAN = 14,
	MCAI_OP_PAD = 15,
	MCAI_OP_CONCAT = 16,
};

struct mcai_blob2_header {
	__le32 magic;			/* MCAI_BLOB_MAGIC */
	__le16 format_version;		/* MCAI_BLOB2_VERSION */
	__le16 header_size;
	__le32 flags;			/* none defined: must be 0 */
	__le32 total_size;		/* whole blob, digest included */
	char name[MCAI_NAME_LEN];
	__le32 model_version;		/* >= 1 */
	__le32 n_tensors;
	__le32 tensor_off;
	__le32 n_ops;
	__le32 op_off;
	__le32 n_inputs;
	__le32 n_outputs;
	__le32 io_off;
	__le32 params_off;
	__le32 params_size;
	__le32 data_off;
	__le32 data_size;
	__le32 tv_off;			/* 0 when tv_count == 0 */
	__le32 tv_count;
	__le32 arena_size;		/* the writer's plan */
	__u8 head;			/* enum mcai_head, on output 0 */
	__s8 head_threshold;
	__u8 pad0[2];			/* must be 0 */
	__le32 reserved[6];		/* must be 0 */
};					/* 136 bytes */

struct mcai_blob2_tensor {
	__u8 dtype;			/* enum mcai_dtype */
	__u8 kind;			/* enum mcai_tensor_kind */
	__u8 rank;			/* 1..4: dims[0..4-rank) are 1 */
	__u8 qc_axis;			/* per-channel axis, 0..3 */
	__le32 dims[4];			/* NHWC, each >= 1 */
	__le32 scale;			/* float bits: real = scale * (q - zp) */
	__le32 zero_point;		/* s32 */
	__le32 qc_off;			/* per-channel scales (float bits) */
	__le32 qc_count;		/* 0: per tensor; else dims[qc_axis] */
	__le32 offset;			/* data- or arena-relative */
	__le32 size;			/* bytes: elements * dtype size */
	__le32 reserved[4];		/* must be 0 */
};					/* 64 bytes */

struct mcai_blob2_op {
	__le16 type;			/* enum mcai_op_type */
	__u8 n_in;			/* 1..MCAI_BLOB2_OP_MAX_IN */
	__u8 n_out;			/* 1 */
	__le32 in[MCAI_BLOB2_OP_MAX_IN];	/* tensor indices; unused 0 */
	__le32 out;
	__le32 params_off;		/* params-relative, 4-aligned */
	__le32 params_len;		/* bytes */
	__le32 reserved[4];		/* must be 0 */
};					/* 48 bytes */

struct mcai_blob2_io {
	__le32 tensor;
	__le32 reserved;		/* must be 0 */
	char name[MCAI_BLOB2_IO_NAME_LEN];	/* like model names */
};					/* 32 bytes */

/* ---------------------------------------------------------------------- */
/* Signed blobs                                                           */
/* ---------------------------------------------------------------------- */

/*
 * A signature is appended to a blob the way the kernel appends one to a
 * module, so that an unsigned reader (and the verifier) only has to drop
 * the tail:
 *
 *	blob (blob_len bytes) | PKCS#7 (sig_len bytes) |
 *	struct mcai_sig_info (12 bytes) | MCAI_SIG_MAGIC (32 bytes)
 *
 * The PKCS#7 (CMS) SignedData is DER, detached (no content inside), of
 * type pkcs7-data, over the blob_len bytes of the blob exactly; the
 * kernel checks it with verify_pkcs7_signature() against the keys of its
 * ".mcai" keyring.  It may carry certificates (a chain up to a key in the
 * keyring) or none (the signer's key is in the keyring itself).
 *
 * A file ends in the magic or it is unsigned.  Then every field is
 * checked: id_type, version, reserved zero, 0 < sig_len <=
 * MCAI_SIG_MAX_LEN, and blob_len + sig_len + trailer == the whole length.
 * max_blob_size bounds the whole length, signature included.
 *
 * MCAI_IOC_MODEL_LOAD with a trailer, reason set in every case:
 *  - a malformed trailer: -EBADMSG, whatever the module parameter
 *    require_signed says;
 *  - require_signed=0: the trailer is stripped after those checks and
 *    the PKCS#7 is not looked at (an empty keyring must not stop signed
 *    blobs);
 *  - require_signed=1: PKCS#7 that does not parse: -EBADMSG; no trailer,
 *    or a signature that does not verify (unknown signer, other content,
 *    bad signature, unsupported algorithm): -EKEYREJECTED.
 */
#define MCAI_SIG_MAGIC		"~mcai model signature appended~\n"
#define MCAI_SIG_MAGIC_LEN	32	/* no NUL in the file */
#define MCAI_SIG_ID_PKCS7	2	/* module signing's PKEY_ID_PKCS7 */
#define MCAI_SIG_VERSION	1
/* bytes of PKCS#7: the most the kernel's ASN.1 decoder takes */
#define MCAI_SIG_MAX_LEN	65535
#define MCAI_SIG_TRAILER_LEN	(12 + MCAI_SIG_MAGIC_LEN)

struct mcai_sig_info {
	__u8 id_type;			/* MCAI_SIG_ID_PKCS7 */
	__u8 version;			/* MCAI_SIG_VERSION */
	__u8 reserved[2];		/* must be 0 */
	__le32 sig_len;			/* PKCS#7 bytes, right before this */
	__le32 blob_len;		/* signed bytes, from offset 0 */
};					/* 12 bytes, then the magic */

/* ---------------------------------------------------------------------- */
/* ioctls                                                                 */
/* ---------------------------------------------------------------------- */

#define MCAI_IOC_MAGIC		0xE9

/* MCAI_IOC_GET_INFO: what this module is and what it allows. */
#define MCAI_INFO_SIMD_LEN	16

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
	/* --- MCAI_INFO_SIZE_VER1 (48) bytes above --- */
	/*
	 * Limits and memory accounting: what sessions (rings, scratch,
	 * bookkeeping) and pipelines may hold, and hold now.  "user" is
	 * the euid of the file's opener; privileged requests (an admin's,
	 * a driver's) are charged to the module only.  Passing a bound is
	 * -ENOSPC; a memory cgroup's limit, -ENOMEM.
	 */
	__u64 mem_limit;		/* session_mem_mb, bytes */
	__u64 mem_unpriv_limit;		/* unprivileged requests together */
	__u64 mem_used;			/* charged now, all users */
	__u64 user_mem_limit;		/* user_mem_mb, bytes, per user */
	__u64 user_mem_used;		/* charged now to the opener's user */
	__u32 max_pipelines;		/* all pipelines together */
	__u32 unpriv_pipelines;		/* unprivileged pipelines together */
	__u32 user_pipelines;		/* per user */
	__u32 file_pipelines;		/* per open file */
	__u32 nr_pipelines;		/* now, all users */
	__u32 user_nr_pipelines;	/* now, the opener's user */
	/* --- 112 bytes above --- */
	/*
	 * The engine's SIMD path, chosen at module load (parameter simd=):
	 * "off", "avx2", "avx512vnni", "avxvnni", "neon" or "dotprod",
	 * NUL-padded.  All zero from a module older than the field.
	 */
	char simd[MCAI_INFO_SIMD_LEN];
};

#define MCAI_INFO_SIZE_VER1	48	/* first published size, still accepted */

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

/*
 * A model of either blob format.  For a v2 graph, input_len and
 * output_len are bytes: every graph input, then every output, in io
 * order, dense and little-endian, as its test vector records hold them
 * (int8 activations are one byte each, as in v1); n_layers counts its
 * ops; scales, zero points and the head describe its first input and
 * output.  Sessions, INFER and results carry these bytes unchanged.
 * Pipelines take only models whose first output is int8 scores.
 */
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
 * scores_ptr may be 0 if only the class is wanted.  With
 * MCAI_INFER_PIPELINE, ref names a pipeline (MCAI_IOC_PIPELINE_CREATE) by
 * pipeline id or name: scores_len returns the result's n_scores (a chain
 * gated at stage 1 returns stage 1's scores), version is that of the
 * model that answered, and result_flags carries the MCAI_RES_* flags.
 */
#define MCAI_INFER_PIPELINE	(1U << 0)	/* ref names a pipeline */
#define MCAI_INFER_FLAGS_ALL	(MCAI_INFER_PIPELINE)

struct mcai_infer {
	__u32 size;
	__u32 flags;			/* MCAI_INFER_* */
	struct mcai_model_ref ref;
	__u64 input_ptr;
	__u64 scores_ptr;
	__u32 input_len;		/* must equal the model's input_len */
	__u32 scores_len;		/* in: capacity; out: output_len */
	__s32 class_id;			/* out */
	__u32 version;			/* out: the version that computed it */
	/* --- MCAI_INFER_SIZE_VER1 (80) bytes above --- */
	__u32 result_flags;		/* out: MCAI_RES_*; in: must be 0 */
	__u32 pad;			/* must be 0 */
};

#define MCAI_INFER_SIZE_VER1	80	/* first published size, still accepted */

#define MCAI_IOC_GET_INFO	_IOWR(MCAI_IOC_MAGIC, 0x00, struct mcai_info)
#define MCAI_IOC_MODEL_LOAD	_IOWR(MCAI_IOC_MAGIC, 0x01, struct mcai_model_load)
#define MCAI_IOC_MODEL_UNLOAD	_IOW(MCAI_IOC_MAGIC, 0x02, struct mcai_model_unload)
#define MCAI_IOC_MODEL_INFO	_IOWR(MCAI_IOC_MAGIC, 0x03, struct mcai_model_info)
#define MCAI_IOC_MODEL_LIST	_IOWR(MCAI_IOC_MAGIC, 0x04, struct mcai_model_list)
#define MCAI_IOC_INFER		_IOWR(MCAI_IOC_MAGIC, 0x05, struct mcai_infer)

/* ---------------------------------------------------------------------- */
/* Zero-copy sessions                                                     */
/* ---------------------------------------------------------------------- */

/*
 * A session binds an open /dev/mcai file to a model (or pipeline): one
 * session per file, living as long as the file.  Its rings are mapped
 * with two mmap() calls:
 *
 *   MCAI_MMAP_USER   read-write, written by user space:
 *                    struct mcai_user_ctl (one page), then in_slots input
 *                    slots of slot_size bytes each;
 *   MCAI_MMAP_KERNEL read-only (PROT_WRITE is refused), written by the
 *                    kernel: struct mcai_kernel_ctl (one page), then
 *                    res_slots result records of res_size bytes each.
 *
 * Indices are free-running __u32 counters; slot = index & (slots - 1).
 * Producer writes the slot, then publishes the index with a store-release;
 * the consumer reads the index with a load-acquire before the slot.  The
 * kernel keeps private copies of every index, never trusts one it reads
 * back (a tail more than in_slots ahead of its head is clamped and
 * counted as an overrun), and never reads a slot twice.
 *
 * Input:  user writes slots, advances in_tail, then rings the doorbell
 *         (MCAI_IOC_SESSION_KICK or write() of any 8 bytes); the kernel
 *         consumes in place and advances in_head.
 * Result: the kernel writes records, advances res_tail and wakes poll();
 *         user reads records and advances res_head.  When the result ring
 *         is full the kernel stops consuming input (back-pressure): nothing
 *         is lost; ring the doorbell again after consuming results.
 *
 * Each doorbell accepts at most in_slots samples past in_head: an in_tail
 * further ahead counts an overrun and is treated as in_head + in_slots;
 * one behind in_head (as a signed 32-bit difference) counts an overrun
 * and adds nothing.  A res_head beyond res_tail counts an overrun and
 * stalls the session until it is corrected.  Mappings must be MAP_SHARED
 * with exactly the offsets and lengths SESSION_CREATE returned (-EINVAL);
 * PROT_WRITE on MCAI_MMAP_KERNEL is refused (-EPERM) and mprotect()
 * cannot add it.  poll(): EPOLLIN while res_tail != res_head, EPOLLOUT
 * while the input ring has room; EPOLLERR on a file with no session.
 *
 * What a session holds (its rings, its scratch, its bookkeeping) is
 * charged before it is allocated: to the module's bound session_mem_mb
 * (default 256 MiB, for everyone together, user-space and in-kernel
 * clients alike) and, for an unprivileged caller, to its user's bound
 * user_mem_mb (default 64 MiB, per euid of the file's opener), while
 * unprivileged callers together may fill only three quarters of
 * session_mem_mb.  A SESSION_CREATE past a bound is refused with -ENOSPC;
 * one that the caller's memory cgroup (which is charged too) cannot hold,
 * with -ENOMEM.  The memory comes back when a session's file is released.
 * MCAI_IOC_GET_INFO reports the bounds and what is charged.
 */
#define MCAI_MMAP_USER		0x00000000ULL
#define MCAI_MMAP_KERNEL	0x10000000ULL

struct mcai_user_ctl {
	__u32 in_tail;			/* user: input samples published */
	__u32 pad0[15];			/* own cache line */
	__u32 res_head;			/* user: results consumed */
	__u32 pad1[15];
};

struct mcai_kernel_ctl {
	__u32 in_head;			/* kernel: input samples consumed */
	__u32 pad0[15];
	__u32 res_tail;			/* kernel: results published */
	__u32 pad1[15];
	/* Counters, monotonic; submitted = completed + dropped + shed + queued */
	__u64 submitted;
	__u64 completed;
	/*
	 * dropped: refused (input ring full, driver API), or not computed
	 * (model unloaded or reshaped, pipeline failed: the record has
	 * class_id -1 and no scores).
	 */
	__u64 dropped;
	__u64 shed;			/* energy budget exceeded, low priority */
	__u64 overruns;			/* user published an impossible index */
	__u64 deadline_misses;
	__u64 gated;			/* chain pipelines: stage 2 not needed */
	__u64 escalated;
};

/* Result record flags */
#define MCAI_RES_ESCALATE	(1U << 0)	/* the collective is unsure */
#define MCAI_RES_GATED		(1U << 1)	/* chain stopped at stage 1 */
#define MCAI_RES_DEADLINE_MISS	(1U << 2)
#define MCAI_RES_SHED		(1U << 3)	/* not computed: over budget */

/* One result record; scores follow, output_len of them, then padding. */
struct mcai_result {
	__u64 seq;			/* input sequence number (its index) */
	__u64 latency_ns;		/* submit to result */
	__u32 model_id;			/* the model (last stage) that answered */
	__u32 version;
	__s32 class_id;
	__u32 flags;			/* MCAI_RES_* */
	__u32 n_scores;
	__u32 pad;
	__s8 scores[];
};

/* MCAI_IOC_SESSION_CREATE flags */
#define MCAI_SESSION_PIPELINE	(1U << 0)	/* ref names a pipeline */
#define MCAI_SESSION_FLAGS_ALL	(MCAI_SESSION_PIPELINE)

struct mcai_session_create {
	__u32 size;
	__u32 flags;			/* MCAI_SESSION_* */
	struct mcai_model_ref ref;	/* in; a model's id is filled in out */
	__u32 in_slots;			/* in: 0 = 256, else 2^n <= 4096; out */
	__u32 res_slots;		/* ditto */
	__u32 slot_size;		/* out: bytes per input slot */
	__u32 res_size;			/* out: bytes per result record */
	__u32 input_len;		/* out: int8 values a sample holds */
	__u32 output_len;		/* out: scores per result */
	__u64 user_off;			/* out: mmap offset, MCAI_MMAP_USER */
	__u64 user_len;			/* out: bytes to map there */
	__u64 kernel_off;		/* out: MCAI_MMAP_KERNEL */
	__u64 kernel_len;
	/* --- MCAI_SESSION_CREATE_SIZE_VER1 (104) bytes above --- */
	__u32 mirror_every;		/* in: see "Sample mirror"; 0 = off */
	__u32 pad;			/* must be 0 */
};

#define MCAI_SESSION_CREATE_SIZE_VER1	104	/* still accepted */

/* ---------------------------------------------------------------------- */
/* Scheduling, pipelines, statistics                                       */
/* ---------------------------------------------------------------------- */

#define MCAI_PRIO_LOW		0
#define MCAI_PRIO_NORMAL	1
#define MCAI_PRIO_HIGH		2	/* never shed; overruns counted */

/*
 * Per-model scheduling policy (by id or name).  energy_budget_uj: micro-
 * joules per second the model may spend (0 = unlimited); an inference is
 * charged macs * pj_per_mac / 10^6 µJ until measured figures replace it.
 */
struct mcai_model_policy {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	struct mcai_model_ref ref;
	__u32 priority;			/* MCAI_PRIO_* */
	__u32 deadline_us;		/* submit-to-result bound, 0 = none */
	__u64 energy_budget_uj;		/* per second, 0 = unlimited */
	__u32 pj_per_mac;		/* 0 = keep the module default */
	__u32 pad;
};

#define MCAI_PIPE_CHAIN		1	/* stage 2 runs when stage 1 fires */
#define MCAI_PIPE_ENSEMBLE_VOTE	2	/* majority vote of classes */
#define MCAI_PIPE_ENSEMBLE_AVG	3	/* weighted average of scores */
#define MCAI_PIPE_MAX_MODELS	8

/*
 * Pipelines live as long as the file that created them.
 *
 * Names: a pipeline an admin creates (CAP_SYS_ADMIN, or an fd an admin
 * opened, as for MODEL_LOAD) is in the one namespace everyone sees and
 * in-kernel drivers attach to; an unprivileged caller's is in a namespace
 * of its own user (the euid of the file's opener) that no one else sees,
 * by name or by id.  A user's lookup by name finds its own pipeline
 * first, then an admin's; a driver's finds an admin's only.  A name is
 * unique within its namespace (-EEXIST), so no user can take a name an
 * admin or a driver needs.  Bounds (-ENOSPC): file_pipelines per file
 * (default 256), user_pipelines per unprivileged user (1024),
 * max_pipelines in all (4096), of which unprivileged users together may
 * hold three quarters.
 *
 * A chain has two
 * models: stage 2 runs only when stage 1's class equals fire_class.  An
 * ensemble's models must have the same input_len and output_len; weights
 * (Q8, 256 = 1.0) apply to MCAI_PIPE_ENSEMBLE_AVG.  A result is flagged
 * MCAI_RES_ESCALATE when ensemble members disagree or when the winning
 * score is below escalate_below.
 *
 * Details (kmod/pipeline.c has the full rules): a chain result gated at
 * stage 1 is stage 1's (its scores, class and model) with MCAI_RES_GATED;
 * the winning score is scores[class] (argmax head) or scores[0]
 * (threshold head) of what answered; a vote tie goes to the lowest class
 * and its scores are the members' average; MCAI_PIPE_ENSEMBLE_AVG rounds
 * sum(w * score) / sum(w) half away from zero, all weights 0 meaning
 * equal weights.  Unused fields (weights outside AVG, fire_class outside
 * chains, model_ids past n_models) must be 0.  A run whose member was
 * unloaded fails with ENOENT, one whose member changed shape with ESTALE.
 */
struct mcai_pipeline_create {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	char name[MCAI_NAME_LEN];
	__u32 type;			/* MCAI_PIPE_* */
	__u32 n_models;
	__u32 model_ids[MCAI_PIPE_MAX_MODELS];
	__u16 weights[MCAI_PIPE_MAX_MODELS];
	__s32 fire_class;		/* chains */
	__s32 escalate_below;		/* score; -129 = never */
	__u32 pipeline_id;		/* out */
	__u32 pad;
};

/*
 * Drift statistics of a model (all versions of its name since load):
 * per input feature the running mean and variance (Q16.16 fixed point, in
 * quantised input units), and the histogram of output classes.  User
 * space passes arrays of capacity entries; n_features / n_classes return
 * how many exist.  With n samples, S1 = sum x and S2 = sum x^2 (exact):
 *   mean = floor(2^16 * S1 / n), var = floor(2^16 * (n*S2 - S1^2) / n^2)
 * (population variance; 0 when n = 0).  A version whose input_len or
 * class count differs from the previous one resets them.  Reading needs
 * only an open fd; MCAI_STATS_RESET needs CAP_SYS_ADMIN (EPERM).
 */
struct mcai_model_stats {
	__u32 size;
	__u32 flags;			/* MCAI_STATS_RESET clears after reading */
	struct mcai_model_ref ref;
	__u64 mean_ptr;			/* __s32[features_cap] */
	__u64 var_ptr;			/* __u32[features_cap] */
	__u64 hist_ptr;			/* __u64[classes_cap] */
	__u32 features_cap;
	__u32 classes_cap;
	__u32 n_features;		/* out */
	__u32 n_classes;		/* out */
	__u64 samples;			/* out */
	__u64 shed;			/* out: scheduler counters of the model */
	__u64 deadline_misses;
	__u64 energy_uj;		/* out: charged so far */
	/* --- MCAI_STATS_SIZE_VER1 (120) bytes above --- */
	__u32 energy_source;		/* out: MCAI_ENERGY_* the budget uses */
	__u32 pad;
	__u64 mpj_per_mac;		/* out: its energy per MAC, 1/1000 pJ */
};

#define MCAI_STATS_SIZE_VER1	120	/* first published size, still accepted */
#define MCAI_STATS_RESET	(1U << 0)

/*
 * Where an energy figure comes from.  The same labels appear in the eBPF
 * telemetry maps (bpf/telemetry.h, enum mcai_energy_source).
 */
#define MCAI_ENERGY_ESTIMATE		0	/* macs * pj_per_mac, a guess */
#define MCAI_ENERGY_MODEL		1	/* CPU time x power model */
#define MCAI_ENERGY_RAPL_CALIBRATED	2	/* CPU time x RAPL-calibrated power */

/*
 * Measured energy for a model's budget (MCAI_IOC_MODEL_ENERGY, needs
 * CAP_SYS_ADMIN): the telemetry's energy per MAC (in 1/1000 pJ, so one
 * figure serves every version of the name whatever its size) replaces the
 * pj_per_mac estimate.  source MCAI_ENERGY_ESTIMATE with mpj_per_mac 0
 * goes back to the estimate.  mpj_per_mac is at most 10^9 (1 µJ per MAC).
 */
struct mcai_model_energy {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	struct mcai_model_ref ref;
	__u32 source;			/* MCAI_ENERGY_* */
	__u32 pad;
	__u64 mpj_per_mac;
};

#define MCAI_IOC_SESSION_CREATE	_IOWR(MCAI_IOC_MAGIC, 0x10, struct mcai_session_create)
#define MCAI_IOC_SESSION_KICK	_IO(MCAI_IOC_MAGIC, 0x11)
#define MCAI_IOC_MODEL_POLICY	_IOW(MCAI_IOC_MAGIC, 0x12, struct mcai_model_policy)
#define MCAI_IOC_PIPELINE_CREATE _IOWR(MCAI_IOC_MAGIC, 0x13, struct mcai_pipeline_create)
#define MCAI_IOC_MODEL_STATS	_IOWR(MCAI_IOC_MAGIC, 0x14, struct mcai_model_stats)
#define MCAI_IOC_MODEL_ENERGY	_IOW(MCAI_IOC_MAGIC, 0x15, struct mcai_model_energy)

/* ---------------------------------------------------------------------- */
/* Sample mirror                                                          */
/* ---------------------------------------------------------------------- */

/*
 * A session may mirror one input in N to a bounded queue per device,
 * from which a privileged reader (the node daemon, `mcaictl mirror`)
 * builds a local training set: the samples never leave the node.
 *
 * N is set at MCAI_IOC_SESSION_CREATE (mirror_every) or later with
 * MCAI_IOC_SESSION_MIRROR; 0 (the default) is off.  What feeds local
 * training is an admin's choice: a non-zero N needs CAP_SYS_ADMIN or an
 * fd an admin opened (as MIRROR_READ does), else -EPERM; anyone may set
 * 0.  In-kernel drivers choose at mcai_client_attach().  The input with
 * sequence number seq is mirrored when (seq + 1) % N == 0, so N inputs
 * per mirrored sample exactly, whatever the batching; inputs that were
 * not computed (shed, failed) are not mirrored.  The bytes mirrored are
 * those of the slot after the run: a session writing a slot while it is
 * computed only confuses its own sample.
 *
 * The inference never waits for the queue: when it is full, or busy with
 * a reader at that instant, the sample is counted in dropped and the
 * inference completes as usual.  The queue's size is the module
 * parameter mirror_kb (0 disables the feature: no MCAI_FEAT_MIRROR, and
 * a non-zero N is refused with -EOPNOTSUPP).
 *
 * MCAI_IOC_MIRROR_READ (CAP_SYS_ADMIN, as for MODEL_LOAD) moves whole
 * records, oldest first, into buf_ptr while they fit in buf_len (about
 * 64 KiB at most per call): a read consumes them, so one reader drains
 * the queue, calling again while queued is not 0.  buf_len 0 only returns
 * the counters; a buffer too short for the oldest record is -ENOSPC
 * (nothing consumed; max_record tells the size needed).  Records are
 * struct mcai_mirror_record, 8-byte aligned, each rec_len bytes long.
 */
struct mcai_session_mirror {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	__u32 every;			/* 0 = off, else one input in every */
	__u32 pad;			/* must be 0 */
};

struct mcai_mirror_record {
	__u32 rec_len;			/* header + input, rounded up to 8 */
	__u32 input_len;		/* int8 values in input[] */
	__u64 sample_seq;		/* per device, increasing; drops may leave gaps */
	__u64 input_seq;		/* the session's input sequence number */
	__u64 timestamp_ns;		/* CLOCK_REALTIME when mirrored */
	__u32 session_id;		/* as in the mcai:* trace events */
	__u32 model_id;			/* the model (last stage) that answered */
	__u32 version;
	__s32 class_id;
	__s32 score;			/* scores[class_id], or scores[0] */
	__u32 flags;			/* MCAI_RES_* of the result */
	__s8 input[];
};					/* 56 bytes, then input, padding */

struct mcai_mirror_read {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	__u64 buf_ptr;
	__u32 buf_len;			/* in: bytes at buf_ptr */
	__u32 n_records;		/* out: records written */
	__u32 bytes;			/* out: bytes written */
	__u32 queued;			/* out: records still queued */
	__u64 mirrored;			/* out: records queued since load */
	__u64 dropped;			/* out: samples lost: queue full or busy */
	__u32 queue_bytes;		/* out: the queue's capacity */
	__u32 max_record;		/* out: largest record that can be queued */
};

#define MCAI_IOC_SESSION_MIRROR	_IOW(MCAI_IOC_MAGIC, 0x20, struct mcai_session_mirror)
#define MCAI_IOC_MIRROR_READ	_IOWR(MCAI_IOC_MAGIC, 0x21, struct mcai_mirror_read)

/*
 * In-kernel attachments (kmod/mcai_driver.h): what drivers are attached to
 * which model or pipeline name, and whether that name is bound now.  A
 * driver may attach to a name nothing has yet: the attachment waits, binds
 * when a model (or an admin's pipeline) of that name appears, keeps its
 * session across hot swaps, and waits again when the name goes away;
 * what it submits meanwhile is counted as dropped.
 *
 * MCAI_IOC_ATTACH_LIST (anyone): up to capacity records of rec_size bytes
 * (the caller's sizeof(struct mcai_attach_info); the kernel writes
 * min(rec_size, its own) bytes of each, so the record may grow at its end)
 * into buf_ptr; count returns how many attachments exist.
 */
#define MCAI_ATTACH_WAITING	1	/* no model or pipeline of that name */
#define MCAI_ATTACH_BOUND	2	/* running on model_id */
#define MCAI_ATTACH_REFUSED	3	/* the name exists, binding failed: error */

#define MCAI_ATTACH_PIPELINE	(1U << 0)	/* name is a pipeline's */

struct mcai_attach_info {
	__u32 id;			/* the attachment, never reused */
	__u32 state;			/* MCAI_ATTACH_* */
	__u32 flags;			/* MCAI_ATTACH_PIPELINE */
	__u32 model_id;			/* bound: the model's id, 0 otherwise */
	__s32 error;			/* refused: the negative errno */
	__u32 binds;			/* times bound since attach */
	__u32 input_len;		/* the driver's sample, 0 = any */
	__u32 pad;
	char name[MCAI_NAME_LEN];	/* what it attached to */
	char driver[MCAI_NAME_LEN];	/* the attaching module */
	/* since attach, all binds; submitted = completed + dropped + shed + queued */
	__u64 submitted;
	__u64 completed;
	__u64 dropped;			/* includes everything sent while waiting */
	__u64 shed;
};					/* 128 bytes: MCAI_ATTACH_INFO_SIZE_VER1 */

#define MCAI_ATTACH_INFO_SIZE_VER1	128

struct mcai_attach_list {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	__u64 buf_ptr;
	__u32 capacity;			/* records at buf_ptr */
	__u32 rec_size;			/* bytes per record, >= 128 */
	__u32 count;			/* out */
	__u32 pad;			/* must be 0 */
};

#define MCAI_IOC_ATTACH_LIST	_IOWR(MCAI_IOC_MAGIC, 0x22, struct mcai_attach_list)

/* ---------------------------------------------------------------------- */
/* dma-buf import                                                         */
/* ---------------------------------------------------------------------- */

/*
 * Inference on frames another driver (a camera, a high-rate ADC, udmabuf)
 * placed in a dma-buf, without a copy through user memory.  Frame i is
 * the input_len int8 values at offset + i * stride (stride 0: input_len;
 * a stride below input_len gives overlapping windows over a stream).  The
 * kernel maps the buffer (dma_buf_vmap), brackets the run with CPU access
 * and runs the model once per frame, as MCAI_IOC_INFER would on each.
 *
 * Refusals, checked before any frame runs: fd not open EBADF, not a
 * dma-buf EINVAL; input_len not the model's EMSGSIZE; frames 0 or above
 * MCAI_DMABUF_MAX_FRAMES, or flags/pad set, EINVAL; offset + (frames - 1)
 * * stride + input_len overflowing 64 bits EOVERFLOW, past the buffer's
 * end ERANGE; scores_len below frames * output_len (scores_ptr set)
 * ENOSPC; a buffer the exporter cannot map into the kernel EOPNOTSUPP.
 */
#define MCAI_DMABUF_MAX_FRAMES	256

struct mcai_infer_dmabuf {
	__u32 size;
	__u32 flags;			/* none defined: must be 0 */
	struct mcai_model_ref ref;
	__s32 fd;			/* the dma-buf */
	__u32 frames;			/* 1..MCAI_DMABUF_MAX_FRAMES */
	__u64 offset;			/* bytes to the first frame */
	__u64 stride;			/* bytes between frames, 0 = input_len */
	__u64 classes_ptr;		/* frames x __s32, or 0 */
	__u64 scores_ptr;		/* frames x output_len int8, or 0 */
	__u32 input_len;		/* each frame: must be the model's */
	__u32 scores_len;		/* in: capacity; out: frames x output_len */
	__u32 version;			/* out: the version that ran every frame */
	__u32 pad;			/* must be 0 */
};

#define MCAI_IOC_INFER_DMABUF	_IOWR(MCAI_IOC_MAGIC, 0x23, struct mcai_infer_dmabuf)

#endif /* _UAPI_MCAI_H */
