/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The aggregator's model registry: every published version on disk, and the
 * last completed round, surviving a crash or power cut at any instant.
 *
 * Layout of the registry directory (all files 0600, directory 0700):
 *
 *   state                 "mcai-registry 1", "round N", "version V": the
 *                         last completed round and the version it produced
 *   v00000007.blob        int8 model blob (uapi/mcai.h format), as published
 *   v00000007.params      float master copy: n_params f32 little-endian
 *   v00000007.manifest    text: name, version, parent, round, strategy,
 *                         participants, sizes, SHA-256 of blob and params,
 *                         creation time, evaluation accuracy and loss
 *   .tmp-*                a write in progress (or a crash's leftover)
 *
 * Every file is written as temp file, write, fsync, rename, fsync of the
 * directory; a version's three files land before the state file names it.
 * So the state file only ever names a complete version, and on open:
 * .tmp-* files are removed, and version files newer than the state's (a
 * publish cut short before its round was recorded) are removed too: that
 * round did not complete and is redone, and no node can have seen it since
 * mcai_store_publish() returns only after the state file is durable.
 *
 * One process at a time: the directory is flock()ed while open (-EBUSY).
 * Not thread-safe; the daemon calls it from its event loop.
 */
#ifndef MCAI_STORE_H
#define MCAI_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "uapi/mcai.h"

#define MCAI_STORE_ERR_MAX	256
#define MCAI_STORE_STRATEGY_MAX	31
/* Bigger than any frame can carry, so anything published can be sent. */
#define MCAI_STORE_MAX_PARAMS	(1U << 22)
#define MCAI_STORE_MAX_BLOB	(16U << 20)

struct mcai_store;

struct mcai_version_info {
	char name[MCAI_NAME_LEN];		/* model name rule of proto.h */
	uint32_t version;			/* latest + 1 */
	uint32_t parent;			/* the latest (0: first) */
	uint64_t round;				/* > last; 0: initial model */
	/* [a-z0-9_+-], may be "" */
	char strategy[MCAI_STORE_STRATEGY_MAX + 1];
	uint32_t participants;
	uint32_t n_params;
	uint32_t blob_len;
	/* Filled in by publish: */
	uint8_t blob_sha256[MCAI_DIGEST_LEN];
	uint8_t params_sha256[MCAI_DIGEST_LEN];
	int64_t created;			/* Unix seconds */
	/* Evaluation, negative when not measured. */
	double accuracy;
	double loss;
};

struct mcai_version {
	struct mcai_version_info info;
	float *params;				/* n_params, malloc'ed */
	uint8_t *blob;				/* blob_len, malloc'ed */
};

/*
 * Open (creating the directory if it is missing, not its parents) and
 * recover.  0, or a negative errno with the reason in @err.
 */
int mcai_store_open(struct mcai_store **out, const char *dir, char *err,
		    size_t errlen);
void mcai_store_close(struct mcai_store *s);

/* The reason of the last failed call on @s. */
const char *mcai_store_error(const struct mcai_store *s);

uint64_t mcai_store_last_round(const struct mcai_store *s);
uint32_t mcai_store_latest_version(const struct mcai_store *s);
/* How many stale files the last open removed (temp files and orphans). */
unsigned int mcai_store_recovered(const struct mcai_store *s);

/*
 * Durably record a new version as the result of round info->round, which
 * thereby completes.  Checks version/parent/round/sizes/name, fills in the
 * digests and creation time of *info.  0 or a negative errno; on failure
 * the registry still holds the previous state.
 */
int mcai_store_publish(struct mcai_store *s, struct mcai_version_info *info,
		       const float *params, const uint8_t *blob);

/* A round that completed without a new version (too few answers). */
int mcai_store_complete_round(struct mcai_store *s, uint64_t round);

/*
 * Read one version, or the latest, checking both digests: -ENOENT when it
 * is not there, -EBADMSG when a file does not match its manifest.  Free
 * with mcai_version_free().
 */
int mcai_store_read(struct mcai_store *s, uint32_t version,
		    struct mcai_version *out);
int mcai_store_read_latest(struct mcai_store *s, struct mcai_version *out);
void mcai_version_free(struct mcai_version *v);

/* The manifest alone (no data, no digest check). */
int mcai_store_info(struct mcai_store *s, uint32_t version,
		    struct mcai_version_info *out);

/*
 * Every recorded version, oldest first, into a malloc'ed array (free()):
 * the round history for `mcaictl rounds`.
 */
int mcai_store_history(struct mcai_store *s, struct mcai_version_info **out,
		       size_t *n);

/*
 * Test hook, NULL in production: called at each step of a publish with the
 * step's name ("blob-written", "blob-renamed", ..., "state-renamed"), so a
 * test can kill the process exactly between a write and its rename.
 */
extern void (*mcai_store_test_hook)(const char *step);

#endif /* MCAI_STORE_H */
