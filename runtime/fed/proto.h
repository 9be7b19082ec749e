/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mcaid federation protocol: framing and the payload codecs.
 *
 * Pure byte shuffling, no I/O: the transport (io_uring + TLS) hands complete
 * or partial byte runs to mcai_frame_hdr_parse() and, once a whole payload
 * is there, to the decoder of its type.  A decoder never reads outside
 * [payload, payload + len), never allocates from a count it has not first
 * checked against the bytes present, and rejects trailing bytes, so every
 * valid message has exactly one encoding.
 *
 * ==== Frame ==============================================================
 *
 * Every message is a 16-byte header followed by `length` payload bytes.
 * All integers little-endian.
 *
 *   off  size  field
 *     0     4  magic     0x4641434d ("MCAF" in memory order)
 *     4     2  version   MCAI_PROTO_VERSION (1)
 *     6     2  type      enum mcai_msg_type
 *     8     4  length    payload bytes, 0 .. MCAI_FRAME_MAX (8 MiB)
 *    12     4  flags     none defined in version 1: must be 0
 *
 * An unknown type is a header error too (-EBADMSG): a peer speaking
 * version 1 knows all of them.
 *
 * ==== Payload building blocks ============================================
 *
 *   u8/u16/u32/u64   little-endian unsigned integers
 *   f32              IEEE-754 binary32, its bit pattern as a u32 LE
 *   str(N)           u16 byte length L (L <= N), then L bytes, no NUL
 *   id               str(64) of [A-Za-z0-9_.:@-], not empty
 *   name             str(31) of [A-Za-z0-9_.-], not empty: a model name that
 *                    fits the kernel's char[MCAI_NAME_LEN] (uapi/mcai.h)
 *   f32[]            u32 count n, then n f32; n <= MCAI_PROTO_MAX_FLOATS;
 *                    every element finite (no NaN, no Inf)
 *   bytes            u32 length n, then n bytes
 *
 * ==== Messages ===========================================================
 *
 * HELLO (node -> aggregator, first frame of a connection)
 *   id  node_id;  u32 role (enum mcai_role);  name model;
 *   u32 model_version (0 = none installed);  u64 n_samples (local labelled
 *   samples);  u64 caps (MCAI_CAP_*, unknown bits ignored: they are what
 *   lets a newer node talk to an older aggregator)
 *
 * WELCOME (aggregator -> node, answer to HELLO)
 *   id  node_id (as accepted, normally the certificate's);  id fleet;
 *   u32 version (the aggregator's current model version, 0 = none yet)
 *
 * ROUND (aggregator -> node: you are sampled for this round)
 *   u64 round_id (>= 1);  name model;  u32 base_version;
 *   u32 deadline_ms (1 .. MCAI_PROTO_MAX_DEADLINE_MS);
 *   u32 local_epochs (1 .. MCAI_PROTO_MAX_EPOCHS);
 *   u32 batch (1 .. MCAI_PROTO_MAX_BATCH);
 *   f32 lr (finite, > 0);  f32 prox_mu (finite, >= 0; 0 = plain FedAvg);
 *   u32 flags (MCAI_ROUND_F_*, unknown bits rejected), then
 *   with MCAI_ROUND_F_DP:  f32 dp_clip (finite, > 0);  f32 dp_sigma
 *   (finite, > 0);  u32 dp_shares (>= 1: nodes whose noise makes the sum's)
 *   with MCAI_ROUND_F_SECAGG:  u32 sa_id (this node's, < sa_nodes);
 *   u32 sa_nodes (2 .. 4096);  u32 sa_threshold (1 .. sa_nodes - 1);
 *   u32 sa_degree (< sa_nodes; 0 = complete graph);  u32 sa_scale_bits
 *   (0 .. 24);  f32 sa_clip (finite, > 0);  u64 sa_weight_total (>= 1:
 *   the samples of the round's nodes; each scales its update by its own
 *   samples / this);  u8[32] sa_graph_seed
 *   with MCAI_ROUND_F_COMPRESS (only to a node whose HELLO had
 *   MCAI_CAP_COMPRESS; not with SECAGG in this version):  u32 comp_kind
 *   (1 int8, 2 topk: runtime/fed/compress.h);  f32 comp_topk (finite, (0,
 *   1]);  u32 comp_block (1 .. 65536).  The node answers UPDATE_Z.
 *   with MCAI_ROUND_F_PROGRESS (only to a node whose HELLO had
 *   MCAI_CAP_PROGRESS):  u32 progress_ms (MCAI_PROTO_PROGRESS_MIN_MS ..
 *   MCAI_PROTO_PROGRESS_MAX_MS): send PROGRESS this often while training.
 *   with MCAI_ROUND_F_SA_COMPRESS (only with SECAGG, only to a node whose
 *   HELLO had MCAI_CAP_SA_COMPRESS):  f32 sa_comp_range (finite, > 0:
 *   each coordinate clamped to it, int8 of scale range / 127);  u32
 *   sa_comp_bits (16: the ring Z_{2^16}; SA_MASKED then carries u16
 *   words).  runtime/fed/compress.h bounds the nodes (258).
 *
 * PROGRESS (node -> aggregator, while it trains for a round whose ROUND
 *   had MCAI_ROUND_F_PROGRESS): u64 round_id (>= 1);  u32 done;  u32 total
 *   (1 .. ; done <= total): the local batches trained of the round's.
 *   A heartbeat: a slow node training longer than the idle timeout is
 *   alive, and stays in the round until its deadline.  Only to an
 *   aggregator that asked (an older one answers "unknown message type").
 *
 * MODEL_PART (aggregator -> node whose HELLO had MCAI_CAP_STREAM: a MODEL
 *   too large for one frame, streamed as its payload's bytes in parts)
 *   u32 version (>= 1);  u8[32] digest (SHA-256 of the whole MODEL
 *   payload);  u64 total (1 .. MCAI_PROTO_STREAM_MAX);  u64 offset;
 *   bytes data (u32 n, 1 .. MCAI_PROTO_PART_MAX, offset + n <= total).
 *   Stop and wait: the aggregator sends the next part when the node asks
 *   for it, so one part per node is in flight whatever the model's size.
 *
 * MODEL_RESUME (node -> aggregator: the next part, please)
 *   u32 version (>= 1);  u8[32] digest;  u64 offset (<= total): the
 *   bytes of that stream the node holds.  After each part, and after a
 *   reconnection with a part-streamed model unfinished: the aggregator
 *   goes on from there when it still serves that digest, else starts its
 *   current model from 0.  A part out of order (offset not the bytes
 *   held), of another total, or a whole that does not hash to the digest
 *   is a protocol error: the node drops what it held and closes.
 *
 * SA_ADVERT, SA_KEYS, SA_SHARES, SA_SHARES_FOR, SA_MASKED, SA_UNMASK_REQ,
 * SA_UNMASK, and in signed rounds SA_CONSIST_REQ, SA_CONSIST between
 * SA_MASKED and SA_UNMASK_REQ (secure aggregation, runtime/fed/secagg.h,
 * one frame type per message of the library)
 *   bytes msg: the library's message, n >= 16.  Checked here: its
 *   16-byte header (type matching the frame type, version 1, zero
 *   field, round >= 1); the body is the library's to check.
 *
 * MODEL (aggregator -> node: a published version)
 *   name model;  u32 version (>= 1);  u32 parent (< version, 0 = none);
 *   u64 round_id;  f32[] params (the float master copy);
 *   bytes blob (the int8 model blob of uapi/mcai.h, 0 .. what is left;
 *   its own header and digest are checked by models/engine/verify.c, not here);
 *   bytes manifest (the signed manifest of runtime/fed/provenance.h,
 *   0 .. MCAI_PROTO_MANIFEST_MAX bytes; 0 = unsigned.  Opaque here: its
 *   structure and signature are the node's mcai_prov_check(), so a
 *   relaying aggregator passes it on untouched)
 *
 * UPDATE (node -> aggregator: the result of local training)
 *   u64 round_id (>= 1);  u32 base_version;  u64 n_samples (>= 1);
 *   f32 train_loss (finite);  f32[] delta (local - base parameters)
 *
 * UPDATE_Z (node -> aggregator: UPDATE, compressed as the ROUND asked)
 *   u64 round_id (>= 1);  u32 base_version;  u64 n_samples (>= 1);
 *   f32 train_loss (finite);  bytes comp (16 .. MCAI_FRAME_MAX - 28: the
 *   compressed delta of runtime/fed/compress.h, which carries its own
 *   kind and format byte and is checked by mcai_comp_decode(), not here)
 *
 * Negotiation: compression is per round and per node.  A node that can
 * decode it says MCAI_CAP_COMPRESS in HELLO (an older aggregator ignores
 * the bit); the aggregator sets MCAI_ROUND_F_COMPRESS only in the ROUNDs
 * it sends such nodes, so an older node keeps getting ROUNDs it knows and
 * answering plain UPDATEs.  A ROUND with a flag a node does not know is
 * refused with "unknown round flags", and a frame type an aggregator does
 * not know with "unknown message type": the clear errors of a peer too old.
 *
 * TELEMETRY (node -> aggregator, any time after WELCOME)
 *   u32 n (0 .. MCAI_PROTO_MAX_TELEM), then n entries of
 *   name model;  u32 version;  u64 inferences;  u64 energy_uj;
 *   u64 p50_ns;  u64 p99_ns (p50_ns <= p99_ns);  u64 drops
 *
 * DRIFT (node -> aggregator: a drift alarm and a round request)
 *   name model;  u32 version (installed, 0 = none);
 *   f32 score (finite, >= 0);  f32 threshold (finite, > 0, below score:
 *   a report is of a crossing).  runtime/fed/drift.h defines the score;
 *   the aggregator's policy (drift.min_nodes ...) decides on a round.
 *   WELCOME carries no capabilities, so a node sends it only when its
 *   config asks (drift.request_round = yes): an aggregator older than the
 *   type answers "unknown message type" and closes.
 *
 * DATASTATS (node -> aggregator: its training data's statistics, just
 *   before its UPDATE, in a round whose ROUND had MCAI_ROUND_F_STATS)
 *   u64 round_id (>= 1);  u64 samples (>= 1);  f32[] mean (1 ..
 *   MCAI_PROV_STATS_MAX_FEATURES);  f32[] var (as many, each >= 0);
 *   u32 n_classes (0 .. MCAI_PROV_STATS_MAX_CLASSES), then n u64 counts
 *   (summing to at most samples).  In the model's quantised input units
 *   (runtime/fed/drift.h); pooled by the aggregator into the manifest.
 *
 * ERROR (either way; the sender closes after it)
 *   u32 code (enum mcai_err_code);  str(256) message (printable ASCII)
 *
 * BYE (either way, orderly goodbye)
 *   u32 reason (enum mcai_bye_reason)
 *
 * ==== Errors =============================================================
 *
 * Every parse/decode function returns 0 or a negative errno and on failure
 * points *why at a human-readable reason.  Reasons that carry a number
 * ("non-finite value at index 17") live in a thread-local buffer that the
 * next failing call on the same thread overwrites.
 */
#ifndef MCAI_PROTO_H
#define MCAI_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/fed/provenance.h"
#include "uapi/mcai.h"

#define MCAI_FRAME_MAGIC	0x4641434dU	/* "MCAF" */
#define MCAI_PROTO_VERSION	1
#define MCAI_FRAME_HDR_LEN	16
#define MCAI_FRAME_MAX		(8U << 20)	/* payload bytes */

/* String limits, in bytes, without the terminator. */
#define MCAI_PROTO_ID_MAX	64
#define MCAI_PROTO_NAME_MAX	(MCAI_NAME_LEN - 1)
#define MCAI_PROTO_MSG_MAX	256

/* The most floats a frame can carry; any count above is a lie. */
#define MCAI_PROTO_MAX_FLOATS	(MCAI_FRAME_MAX / 4)
#define MCAI_PROTO_MAX_TELEM	256
#define MCAI_PROTO_MAX_DEADLINE_MS	(24U * 3600 * 1000)
#define MCAI_PROTO_MAX_EPOCHS	1000
#define MCAI_PROTO_MAX_BATCH	65536
/* A signed manifest never exceeds this; a longer one is a lie. */
#define MCAI_PROTO_MANIFEST_MAX	MCAI_PROV_MANIFEST_MAX

enum mcai_msg_type {
	MCAI_MSG_HELLO = 1,
	MCAI_MSG_WELCOME,
	MCAI_MSG_ROUND,
	MCAI_MSG_MODEL,
	MCAI_MSG_UPDATE,
	MCAI_MSG_TELEMETRY,
	MCAI_MSG_ERROR,
	MCAI_MSG_BYE,
	/* Secure aggregation (runtime/fed/secagg.h), in the order of a round. */
	MCAI_MSG_SA_ADVERT,		/* node -> aggregator */
	MCAI_MSG_SA_KEYS,		/* aggregator -> node */
	MCAI_MSG_SA_SHARES,		/* node -> aggregator */
	MCAI_MSG_SA_SHARES_FOR,		/* aggregator -> node */
	MCAI_MSG_SA_MASKED,		/* node -> aggregator */
	MCAI_MSG_SA_UNMASK_REQ,		/* aggregator -> node */
	MCAI_MSG_SA_UNMASK,		/* node -> aggregator */
	MCAI_MSG_UPDATE_Z,		/* node -> aggregator */
	MCAI_MSG_DRIFT,			/* node -> aggregator */
	MCAI_MSG_DATASTATS,		/* node -> aggregator */
	/* Signed secure aggregation (MCAI_ROUND_F_SA_SIGNED) */
	MCAI_MSG_SA_CONSIST_REQ,	/* aggregator -> node */
	MCAI_MSG_SA_CONSIST,		/* node -> aggregator */
	MCAI_MSG_PROGRESS,		/* node -> aggregator */
	MCAI_MSG_MODEL_PART,		/* aggregator -> node */
	MCAI_MSG_MODEL_RESUME,		/* node -> aggregator */
	MCAI_MSG_MAX = MCAI_MSG_MODEL_RESUME,
};

enum mcai_role {
	MCAI_ROLE_NODE = 1,
	MCAI_ROLE_AGGREGATOR = 2,	/* as a node of an upstream one */
};

/* HELLO capability bits. */
#define MCAI_CAP_KERNEL		(1ULL << 0)	/* installs into /dev/mcai */
#define MCAI_CAP_TELEMETRY	(1ULL << 1)	/* eBPF telemetry available */
#define MCAI_CAP_FEDPROX	(1ULL << 2)	/* honours ROUND.prox_mu */
#define MCAI_CAP_KTLS		(1ULL << 3)	/* kernel TLS offload in use */
#define MCAI_CAP_COMPRESS	(1ULL << 4)	/* ROUND_F_COMPRESS, UPDATE_Z */
#define MCAI_CAP_STATS		(1ULL << 5)	/* ROUND_F_STATS, DATASTATS */
#define MCAI_CAP_SA_SIGNED	(1ULL << 6)	/* ROUND_F_SA_SIGNED, SA_CONSIST* */
#define MCAI_CAP_PROGRESS	(1ULL << 7)	/* ROUND_F_PROGRESS, PROGRESS */
#define MCAI_CAP_STREAM		(1ULL << 8)	/* MODEL_PART, MODEL_RESUME */
#define MCAI_CAP_SA_COMPRESS	(1ULL << 9)	/* ROUND_F_SA_COMPRESS */

/*
 * ROUND flags; each one appends its fields after flags, in bit order.
 * MCAI_ROUND_F_DP: distributed differential privacy (runtime/fed/dp.h): the
 * node clips its delta to L2 dp_clip and adds N(0, (dp_sigma dp_clip)^2
 * / dp_shares) to each coordinate; the update is then unweighted.
 */
#define MCAI_ROUND_F_DP		(1U << 0)
/*
 * MCAI_ROUND_F_SECAGG: the round runs secure aggregation (runtime/
 * secagg.h) instead of UPDATE; its public parameters follow.
 */
#define MCAI_ROUND_F_SECAGG	(1U << 1)
/* MCAI_ROUND_F_COMPRESS: answer with UPDATE_Z, compressed as described. */
#define MCAI_ROUND_F_COMPRESS	(1U << 2)
/*
 * MCAI_ROUND_F_STATS (no fields; only to a node whose HELLO had
 * MCAI_CAP_STATS): send DATASTATS before the UPDATE.
 */
#define MCAI_ROUND_F_STATS	(1U << 3)
/*
 * MCAI_ROUND_F_SA_SIGNED (no fields; only with SECAGG, only to a node
 * whose HELLO had MCAI_CAP_SA_SIGNED): the secure aggregation is signed
 * (runtime/fed/secagg.h MCAI_SECAGG_F_SIGNED): fleet-signed ADVERTs and
 * the SA_CONSIST_REQ / SA_CONSIST round before SA_UNMASK_REQ.
 */
#define MCAI_ROUND_F_SA_SIGNED	(1U << 4)
/* MCAI_ROUND_F_PROGRESS: send PROGRESS every progress_ms while training. */
#define MCAI_ROUND_F_PROGRESS	(1U << 5)
/*
 * MCAI_ROUND_F_SA_COMPRESS (only with SECAGG, only to a node whose HELLO
 * had MCAI_CAP_SA_COMPRESS): the masked input is int8 of the round's
 * common scale sa_comp_range / 127, in the ring Z_{2^sa_comp_bits}
 * (runtime/fed/compress.h, "With secure aggregation").
 */
#define MCAI_ROUND_F_SA_COMPRESS	(1U << 6)
#define MCAI_ROUND_FLAGS_ALL	(MCAI_ROUND_F_DP | MCAI_ROUND_F_SECAGG | \
				 MCAI_ROUND_F_COMPRESS | MCAI_ROUND_F_STATS | \
				 MCAI_ROUND_F_SA_SIGNED | MCAI_ROUND_F_PROGRESS | \
				 MCAI_ROUND_F_SA_COMPRESS)
#define MCAI_PROTO_PART_MAX		(1U << 20)
#define MCAI_PROTO_STREAM_MAX		(64U << 20)
#define MCAI_PROTO_DIGEST_LEN		32
#define MCAI_PROTO_PROGRESS_MIN_MS	100
#define MCAI_PROTO_PROGRESS_MAX_MS	60000
/* Bounds of the secure-aggregation fields (those of runtime/fed/secagg.h). */
#define MCAI_PROTO_SA_HDR_LEN	16
#define MCAI_PROTO_SA_MAX_NODES	4096
#define MCAI_PROTO_SA_MAX_SCALE	24
#define MCAI_PROTO_SA_SEED_LEN	32

enum mcai_err_code {
	MCAI_ERR_PROTOCOL = 1,		/* malformed frame or payload */
	MCAI_ERR_VERSION,		/* protocol version not supported */
	MCAI_ERR_AUTH,			/* peer identity refused */
	MCAI_ERR_BUSY,			/* too many peers, try later */
	MCAI_ERR_MODEL,			/* unknown model or version */
	MCAI_ERR_STALE,			/* update for a closed round */
	MCAI_ERR_INTERNAL,
	MCAI_ERR_MAX = MCAI_ERR_INTERNAL,
};

enum mcai_bye_reason {
	MCAI_BYE_NORMAL = 0,
	MCAI_BYE_SHUTDOWN,		/* the sender is stopping */
	MCAI_BYE_IDLE,			/* idle timeout */
	MCAI_BYE_REPLACED,		/* same node id connected again */
	MCAI_BYE_MAX = MCAI_BYE_REPLACED,
};

struct mcai_frame_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t length;
	uint32_t flags;
};

/*
 * 0 with *out filled, -EAGAIN when fewer than MCAI_FRAME_HDR_LEN bytes are
 * there (nothing decided yet), -EBADMSG (magic, flags, type),
 * -EPROTONOSUPPORT (version) or -EMSGSIZE (length) with *why set.
 * @why may be NULL.
 */
int mcai_frame_hdr_parse(const uint8_t *buf, size_t len,
			 struct mcai_frame_hdr *out, const char **why);
/* Writes the 16 header bytes for @type / @length (magic, version 1). */
void mcai_frame_hdr_write(uint8_t *buf, uint16_t type, uint32_t length);
const char *mcai_msg_type_name(uint16_t type);

/* ---------------------------------------------------------------------- */
/* Output buffer                                                          */
/* ---------------------------------------------------------------------- */

/*
 * A byte buffer that either grows on the heap (mcai_buf_init) or fills a
 * caller's fixed array (mcai_buf_init_fixed).  The first failure sticks in
 * err (-ENOMEM, -ENOBUFS, -EMSGSIZE) and later appends do nothing, so an
 * encoder checks once at the end; mcai_buf_reset() clears it.  A growing
 * buffer stops at eight maximal frames (-EMSGSIZE), so a wild count fails
 * instead of allocating gigabytes.
 */
struct mcai_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int err;
	bool fixed;
};

void mcai_buf_init(struct mcai_buf *b);
void mcai_buf_init_fixed(struct mcai_buf *b, void *mem, size_t cap);
void mcai_buf_free(struct mcai_buf *b);
void mcai_buf_reset(struct mcai_buf *b);	/* len = 0, err = 0 */
void mcai_buf_put(struct mcai_buf *b, const void *p, size_t n);
void mcai_buf_put_u8(struct mcai_buf *b, uint8_t v);
void mcai_buf_put_u16(struct mcai_buf *b, uint16_t v);
void mcai_buf_put_u32(struct mcai_buf *b, uint32_t v);
void mcai_buf_put_u64(struct mcai_buf *b, uint64_t v);
void mcai_buf_put_f32(struct mcai_buf *b, float v);

/*
 * Framing around any encoder: reserve the header, append the payload,
 * then fill in the length.  mcai_frame_end() returns 0 or the sticky error
 * (-EMSGSIZE when the payload outgrew MCAI_FRAME_MAX).
 */
size_t mcai_frame_begin(struct mcai_buf *b, uint16_t type);
int mcai_frame_end(struct mcai_buf *b, size_t start);

/* ---------------------------------------------------------------------- */
/* Float arrays                                                           */
/* ---------------------------------------------------------------------- */

/*
 * Decoded float arrays are views into the payload (no copy, no
 * allocation): @le points at n little-endian binary32 values, already
 * checked finite.  mcai_f32v_get() reads one, mcai_f32v_copy() all of
 * them; the payload must outlive the view.  mcai_f32v_floats() is the
 * view as floats where the bytes already are host floats (a little-endian
 * host, a 4-byte aligned view), so a reader can use them in place; NULL
 * elsewhere, where only a copy will do.
 */
struct mcai_f32v {
	const uint8_t *le;
	uint32_t n;
};

float mcai_f32v_get(const struct mcai_f32v *v, uint32_t i);
void mcai_f32v_copy(const struct mcai_f32v *v, float *dst);
const float *mcai_f32v_floats(const struct mcai_f32v *v);

/* ---------------------------------------------------------------------- */
/* Messages                                                               */
/* ---------------------------------------------------------------------- */

struct mcai_msg_hello {
	char node_id[MCAI_PROTO_ID_MAX + 1];
	uint32_t role;
	char model[MCAI_NAME_LEN];
	uint32_t model_version;
	uint64_t n_samples;
	uint64_t caps;
};

struct mcai_msg_welcome {
	char node_id[MCAI_PROTO_ID_MAX + 1];
	char fleet[MCAI_PROTO_ID_MAX + 1];
	uint32_t version;
};

struct mcai_msg_round {
	uint64_t round_id;
	char model[MCAI_NAME_LEN];
	uint32_t base_version;
	uint32_t deadline_ms;
	uint32_t local_epochs;
	uint32_t batch;
	float lr;
	float prox_mu;
	uint32_t flags;
	/* MCAI_ROUND_F_DP */
	float dp_clip;
	float dp_sigma;
	uint32_t dp_shares;
	/* MCAI_ROUND_F_SECAGG */
	uint32_t sa_id;
	uint32_t sa_nodes;
	uint32_t sa_threshold;
	uint32_t sa_degree;
	uint32_t sa_scale_bits;
	float sa_clip;
	uint64_t sa_weight_total;
	uint8_t sa_graph_seed[MCAI_PROTO_SA_SEED_LEN];
	/* MCAI_ROUND_F_COMPRESS */
	uint32_t comp_kind;
	float comp_topk;
	uint32_t comp_block;
	/* MCAI_ROUND_F_PROGRESS */
	uint32_t progress_ms;
	/* MCAI_ROUND_F_SA_COMPRESS */
	float sa_comp_range;
	uint32_t sa_comp_bits;
};

/*
 * A secure-aggregation message (types MCAI_MSG_SA_*): a view of the
 * library's bytes (encode reads @data/@len; decode points them into the
 * payload and fills @round and @node from its header: the sender, or the
 * recipient of an aggregator's message).
 */
struct mcai_msg_secagg {
	const uint8_t *data;
	uint32_t len;
	uint64_t round;
	uint32_t node;
};

/*
 * Encoding reads params from @params_f (host floats, n_params of them) or,
 * when params_f is NULL, from the view @params (so a decoded MODEL can be
 * relayed down a hierarchy as is); decoding sets @params and n_params and
 * leaves params_f NULL.  Likewise the blob and the manifest: encode
 * copies blob/blob_len (manifest/manifest_len), decode points them into
 * the payload (NULL when empty).  UPDATE's delta works the same way.
 */
struct mcai_msg_model {
	char model[MCAI_NAME_LEN];
	uint32_t version;
	uint32_t parent;
	uint64_t round_id;
	const float *params_f;
	uint32_t n_params;
	struct mcai_f32v params;
	const uint8_t *blob;
	uint32_t blob_len;
	const uint8_t *manifest;	/* NULL / 0: unsigned */
	uint32_t manifest_len;
};

struct mcai_msg_update {
	uint64_t round_id;
	uint32_t base_version;
	uint64_t n_samples;
	float train_loss;
	const float *delta_f;		/* encode */
	uint32_t n_delta;
	struct mcai_f32v delta;		/* decode */
	/* UPDATE_Z: the compressed delta instead (encode and decode) */
	const uint8_t *comp;
	uint32_t comp_len;
};

struct mcai_telem_entry {
	char model[MCAI_NAME_LEN];
	uint32_t version;
	uint64_t inferences;
	uint64_t energy_uj;
	uint64_t p50_ns;
	uint64_t p99_ns;
	uint64_t drops;
};

/*
 * Decoding allocates @entries (calloc, n of them, only after checking the
 * payload holds n minimal entries); release with mcai_msg_telemetry_free().
 * Encoding reads n entries from @entries.
 */
struct mcai_msg_telemetry {
	uint32_t n;
	struct mcai_telem_entry *entries;
};

struct mcai_msg_error {
	uint32_t code;
	char message[MCAI_PROTO_MSG_MAX + 1];
};

struct mcai_msg_bye {
	uint32_t reason;
};

/*
 * Encoders append the payload only (wrap with mcai_frame_begin/end) and
 * return 0, or -EINVAL with *why when the message itself is invalid (the
 * same rules the decoder enforces: a peer never receives what it would
 * refuse), or the buffer's sticky error.
 */
int mcai_hello_encode(struct mcai_buf *b, const struct mcai_msg_hello *m,
		      const char **why);
int mcai_welcome_encode(struct mcai_buf *b, const struct mcai_msg_welcome *m,
			const char **why);
int mcai_round_encode(struct mcai_buf *b, const struct mcai_msg_round *m,
		      const char **why);
int mcai_model_encode(struct mcai_buf *b, const struct mcai_msg_model *m,
		      const char **why);
int mcai_update_z_encode(struct mcai_buf *b, const struct mcai_msg_update *m,
			 const char **why);
int mcai_update_z_decode(const uint8_t *p, size_t len,
			 struct mcai_msg_update *m, const char **why);
int mcai_update_encode(struct mcai_buf *b, const struct mcai_msg_update *m,
		       const char **why);
int mcai_telemetry_encode(struct mcai_buf *b,
			  const struct mcai_msg_telemetry *m, const char **why);
int mcai_error_encode(struct mcai_buf *b, const struct mcai_msg_error *m,
		      const char **why);
int mcai_bye_encode(struct mcai_buf *b, const struct mcai_msg_bye *m,
		    const char **why);
int mcai_secagg_msg_encode(struct mcai_buf *b, uint16_t type,
			   const struct mcai_msg_secagg *m, const char **why);

/*
 * Decoders: 0, or -EBADMSG with *why.  @p / @len is exactly one payload.
 * Views in the result (MODEL params and blob, UPDATE delta) point into @p.
 */
int mcai_hello_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_hello *m, const char **why);
int mcai_welcome_decode(const uint8_t *p, size_t len,
			struct mcai_msg_welcome *m, const char **why);
int mcai_round_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_round *m, const char **why);
int mcai_model_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_model *m, const char **why);
int mcai_update_decode(const uint8_t *p, size_t len,
		       struct mcai_msg_update *m, const char **why);
int mcai_telemetry_decode(const uint8_t *p, size_t len,
			  struct mcai_msg_telemetry *m, const char **why);
int mcai_error_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_error *m, const char **why);
int mcai_bye_decode(const uint8_t *p, size_t len,
		    struct mcai_msg_bye *m, const char **why);
int mcai_secagg_msg_decode(uint16_t type, const uint8_t *p, size_t len,
			   struct mcai_msg_secagg *m, const char **why);
/* MCAI_MSG_SA_ADVERT .. MCAI_MSG_SA_UNMASK. */
bool mcai_msg_is_secagg(uint16_t type);

void mcai_msg_telemetry_free(struct mcai_msg_telemetry *m);

struct mcai_msg_drift {
	char model[MCAI_NAME_LEN];
	uint32_t version;
	float score;
	float threshold;
};

struct mcai_msg_datastats {
	uint64_t round_id;
	uint64_t samples;
	struct mcai_f32v mean;		/* decoded: views into the payload */
	struct mcai_f32v var;
	const float *mean_f;		/* to encode: n_features each, or NULL:
					 * the views (a decoded message) */
	const float *var_f;
	uint32_t n_features;
	uint32_t n_classes;
	uint64_t classes[MCAI_PROV_STATS_MAX_CLASSES];
};

int mcai_datastats_encode(struct mcai_buf *b,
			  const struct mcai_msg_datastats *m, const char **why);
int mcai_datastats_decode(const uint8_t *p, size_t len,
			  struct mcai_msg_datastats *m, const char **why);

struct mcai_msg_progress {
	uint64_t round_id;
	uint32_t done, total;
};

struct mcai_msg_part {
	uint32_t version;
	uint8_t digest[MCAI_PROTO_DIGEST_LEN];
	uint64_t total, offset;
	const uint8_t *data;		/* decoded: a view into the payload */
	uint32_t len;
};

struct mcai_msg_resume {
	uint32_t version;
	uint8_t digest[MCAI_PROTO_DIGEST_LEN];
	uint64_t offset;
};

int mcai_progress_encode(struct mcai_buf *b,
			 const struct mcai_msg_progress *m, const char **why);
int mcai_progress_decode(const uint8_t *p, size_t len,
			 struct mcai_msg_progress *m, const char **why);

int mcai_drift_encode(struct mcai_buf *b, const struct mcai_msg_drift *m,
		      const char **why);
int mcai_drift_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_drift *m, const char **why);

/* Any message, tagged by its frame type. */
struct mcai_msg {
	uint16_t type;
	union {
		struct mcai_msg_hello hello;
		struct mcai_msg_welcome welcome;
		struct mcai_msg_round round;
		struct mcai_msg_model model;
		struct mcai_msg_update update;
		struct mcai_msg_telemetry telemetry;
		struct mcai_msg_error error;
		struct mcai_msg_bye bye;
		struct mcai_msg_secagg secagg;
		struct mcai_msg_drift drift;
		struct mcai_msg_datastats datastats;
		struct mcai_msg_progress progress;
		struct mcai_msg_part part;
		struct mcai_msg_resume resume;
	} u;
};

/* Dispatch on @type; -EBADMSG for an unknown type.  Free with _release. */
int mcai_msg_decode(uint16_t type, const uint8_t *p, size_t len,
		    struct mcai_msg *m, const char **why);
int mcai_msg_encode(struct mcai_buf *b, const struct mcai_msg *m,
		    const char **why);
/* Header + payload in one go: mcai_frame_begin, encode, mcai_frame_end. */
int mcai_msg_frame(struct mcai_buf *b, const struct mcai_msg *m,
		   const char **why);
void mcai_msg_release(struct mcai_msg *m);

/* Name / node-id character rules, shared with config and store. */
bool mcai_proto_name_ok(const char *s);
bool mcai_proto_id_ok(const char *s);

#endif /* MCAI_PROTO_H */
