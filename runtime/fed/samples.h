/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The labelled sample store: the local data a node trains on, fed by the
 * module's sample mirror (uapi/mcai.h, "Sample mirror") and labelled by
 * the operator (`mcaictl label`).  The samples never leave the node.
 *
 * A directory (mode 0700) of append-only files:
 *
 *   seg-NNNNNNNNNNNNNNNN.smp   samples, NNNN the segment number in hex;
 *                              a new segment starts when the current one
 *                              would exceed segment_bytes
 *   labels.log                 labels, keyed by sample id, last one wins
 *
 * A sample record is a 64-byte little-endian header and the int8 input:
 *
 *    0 magic "SMPL" (0x4c504d53)   4 rec_len (64 + input_len)
 *    8 id (u64, store-wide, increasing)   16 timestamp_ns (CLOCK_REALTIME)
 *   24 kernel sample_seq   32 model_id   36 version   40 session_id
 *   44 class_id (s32)   48 score (s32)   52 result flags
 *   56 input_len   60 CRC-32C of bytes 0..59 and of the input
 *
 * A label record is 24 bytes: magic "LABL" (0x4c42414c), class (u32),
 * id (u64), CRC-32C of bytes 0..15, 4 zero bytes.
 *
 * Crash safety: a record is written with one write() on an O_APPEND file
 * and the file synced before the call returns an id, so after a crash a
 * file ends in whole records plus at most one torn one.  Opening the store
 * checks every record: a torn tail (a record running past the end of the
 * file) is dropped and the file truncated to its last whole record; a
 * record whose header or checksum is wrong is counted as corrupt and
 * skipped, the reader resynchronising on the next record that checks out;
 * an id not above the previous one is treated as corrupt too.  Nothing
 * unchecked is ever returned.
 *
 * Bounded size: when the segments exceed max_bytes the oldest segments are
 * removed whole (never the current one), and their labels with them.
 *
 * Several processes may hold the same store open (the node daemon keeps
 * it open, `mcaictl label` comes and goes): every operation takes an
 * flock() on the directory for its own duration (waiting at most 10 s),
 * then catches up with what the others appended, evicted or compacted.
 * mcai_samples_at() and the stats show the store as of the last
 * operation (or mcai_samples_refresh()).
 */
#ifndef MCAI_SAMPLES_H
#define MCAI_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/train/dataset.h"
#include "models/engine/port.h"

#define MCAI_SAMPLES_HDR	64
#define MCAI_SAMPLES_LABEL_REC	24
#define MCAI_SAMPLES_MAX_INPUT	65535		/* the module's max_dim bound */
#define MCAI_SAMPLES_NO_LABEL	(-1)
#define MCAI_SAMPLES_MAX_CLASS	255		/* labels are bytes in a dataset */

struct mcai_samples;

struct mcai_samples_opts {
	u64 max_bytes;		/* 0: 64 MiB */
	u64 segment_bytes;	/* 0: max_bytes / 16, at least 64 KiB */
};

struct mcai_sample_meta {
	u64 id;			/* assigned by the store */
	u64 timestamp_ns;
	u64 kernel_seq;		/* the mirror's sample_seq */
	u32 model_id, version, session_id;
	s32 class_id, score;	/* what the model said */
	u32 flags;
	u32 input_len;
	s32 label;		/* MCAI_SAMPLES_NO_LABEL until labelled */
};

struct mcai_samples_stats {
	u64 samples, labelled;
	u64 bytes;		/* of the sample segments */
	u32 segments;
	u64 torn;		/* torn tails dropped at open */
	u64 corrupt;		/* records skipped at open */
	u64 evicted;		/* samples removed to stay under max_bytes */
};

/*
 * Open (creating it if needed) the store in @dir.  0, or -errno with a
 * message in @err.
 */
int mcai_samples_open(struct mcai_samples **out, const char *dir,
		      const struct mcai_samples_opts *o, char *err,
		      size_t errlen);
void mcai_samples_close(struct mcai_samples *st);

/*
 * Append one sample (@m->id and @m->label are ignored) and its
 * @m->input_len int8 values.  The id is returned in @id.  The record is
 * durable only after mcai_samples_sync() (mcai_samples_drain() and
 * mcai_samples_close() call it).  0 or -errno.
 */
int mcai_samples_append(struct mcai_samples *st,
			const struct mcai_sample_meta *m, const s8 *input,
			u64 *id);
/* Make every appended record durable.  0 or -errno. */
int mcai_samples_sync(struct mcai_samples *st);
/* Catch up with the other processes' changes.  0 or -errno. */
int mcai_samples_refresh(struct mcai_samples *st);

/* Label sample @id (durable on return).  -ENOENT: no such sample. */
int mcai_samples_label(struct mcai_samples *st, u64 id, u32 cls);
/*
 * Label @n samples at once, all or nothing (one write, one sync): -ENOENT
 * or -ERANGE with the index of the first bad entry in *@bad (may be NULL).
 */
int mcai_samples_label_many(struct mcai_samples *st, const u64 *ids,
			    const u32 *cls, size_t n, size_t *bad);

void mcai_samples_get_stats(const struct mcai_samples *st,
			    struct mcai_samples_stats *s);
/* The @i-th sample, oldest first; NULL past the end. */
const struct mcai_sample_meta *mcai_samples_at(const struct mcai_samples *st,
					       u32 i);
/* Its input, exactly meta->input_len values into @buf.  0 or -errno. */
int mcai_samples_input(struct mcai_samples *st, u32 i, s8 *buf, u32 len);

/*
 * The labelled samples as images for the trainer: each sample of
 * @rows x @cols inputs whose label is below @classes becomes the pixels
 * round(255 * in_scale * (q - in_zp)), clamped to 0..255 (the inverse of
 * the model's input quantisation: q = pixel - 128 for the Fashion-MNIST
 * MLP), and its label.  Samples of another size are refused and counted
 * in *@skipped (may be NULL).  @model_id 0 takes every model.  0, or
 * -ENODATA when no sample qualifies, -errno otherwise, with a message in
 * @err.  Free with mcai_samples_dataset_free().
 */
struct mcai_samples_conv {
	u32 rows, cols, classes;
	float in_scale;
	int in_zp;
	u32 model_id;
};

int mcai_samples_dataset(struct mcai_samples *st, struct mcai_dataset *d,
			 const struct mcai_samples_conv *c, u32 *skipped,
			 char *err, size_t errlen);
void mcai_samples_dataset_free(struct mcai_dataset *d);

/*
 * The labelled samples as int8 vectors of one model's input, exactly as
 * the module saw them (the trainer of any shape dequantises them with the
 * model's input quantisation, runtime/fed/fedmlp.h): every sample of
 * @c->len inputs whose label is below @c->classes (and of @c->model_id
 * unless 0), oldest first.  Samples of another length or class are
 * counted in *@skipped (may be NULL).  0, -ENODATA when none qualifies,
 * -errno otherwise, with @err.  Free with mcai_samples_vectors_free().
 */
struct mcai_samples_sel {
	u32 len, classes;
	u32 model_id;
};

struct mcai_samples_vecs {
	u32 count, len;
	s8 *inputs;		/* count * len */
	u8 *labels;		/* count */
};

int mcai_samples_vectors(struct mcai_samples *st, struct mcai_samples_vecs *v,
			 const struct mcai_samples_sel *c, u32 *skipped,
			 char *err, size_t errlen);
void mcai_samples_vectors_free(struct mcai_samples_vecs *v);

/*
 * Drain the module's mirror queue (MCAI_IOC_MIRROR_READ on @dev_fd, which
 * needs CAP_SYS_ADMIN or an fd opened with it) into the store, then sync.
 * At most @max records (0: until the queue is empty).  @added, @dropped
 * (the module's drop counter) may be NULL.  0 or -errno with @err.
 */
int mcai_samples_drain(struct mcai_samples *st, int dev_fd, u64 max,
		       u64 *added, u64 *dropped, char *err, size_t errlen);

/*
 * The node daemon's two calls (runtime/daemon/node.c):
 *
 * mcai_samples_node_drain(): on each tick, drain the mirror queue into the
 * store at @dir.  *@st is the daemon's handle: NULL the first time (the
 * store is opened then), kept across ticks, closed with
 * mcai_samples_close() when the node goes away.  With nothing queued it
 * costs one ioctl.  Errors are returned (for the caller to log), never
 * fatal.  mcai_samples_node_load(): the labelled 28x28 samples of the
 * store as the node's training split (input quantisation q = pixel - 128,
 * 10 classes), in place of mcai_fed_load_split(); free it with
 * mcai_samples_dataset_free().
 */
int mcai_samples_node_drain(struct mcai_samples **st, const char *dir,
			    int dev_fd, u64 *added, char *err, size_t errlen);
int mcai_samples_node_load(struct mcai_dataset *d, const char *dir,
			   char *err, size_t errlen);

/*
 * The node's call for a model of any shape: open the store at @dir,
 * mcai_samples_vectors(), close it.  Used in place of
 * mcai_samples_node_load() for every model but the 784-input one.
 */
int mcai_samples_node_vectors(struct mcai_samples_vecs *v, const char *dir,
			      const struct mcai_samples_sel *c, u32 *skipped,
			      char *err, size_t errlen);

/* CRC-32C (Castagnoli), as the records use; exposed for the tests. */
u32 mcai_crc32c(u32 crc, const void *p, size_t n);

#endif /* MCAI_SAMPLES_H */
