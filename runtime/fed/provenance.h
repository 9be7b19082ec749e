/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Provenance of published model versions: signed manifests, the trust
 * store of signer keys, the install-time chain check, and the per-model
 * history of accepted versions.
 *
 * The aggregator signs every version it publishes (Ed25519, OpenSSL)
 * over a manifest that names the blob by its SHA-256 digest and says where
 * the version came from: name, version, parent, round, strategy, how many
 * nodes took part, privacy parameters, signer.  A node accepts a version
 * only through mcai_prov_check(): signed by a key of its trust store, for
 * its model name, newer than what it has, descending from it, and the
 * blob it received is the one that was signed.
 *
 * ==== Signed manifest, format 1 ==========================================
 *
 * Binary, little-endian, one encoding per manifest (the decoder rejects
 * anything a encoder would not write, so two different byte strings never
 * carry the same manifest and a signature covers exactly one meaning).
 *
 *   off  size  field
 *     0     4  magic      0x4d50434d ("MCPM" in memory order)
 *     4     2  format     MCAI_PROV_FORMAT (1)
 *     6     2  sig_alg    1 = Ed25519 (the only one)
 *     8     4  total_len  bytes of the whole manifest, signature included
 *    12     4  flags      MCAI_PROV_F_*, unknown bits rejected
 *    16        name       u8 length 1..31, then the bytes (proto.h rule)
 *              u32 version            >= 1
 *              u32 parent             < version; 0 = none
 *              u64 round              0 = initial model
 *              strategy   u8 length 0..31, then [a-z0-9_+-]
 *              u32 participants       nodes whose updates were aggregated
 *              u32 blob_len           >= 1
 *              u8[32] blob_sha256     SHA-256 of the whole blob file
 *              u32 n_params           float master copy, 0 = not shipped
 *              u8[32] params_sha256   of the n_params f32 LE; zero iff n = 0
 *              s64 created            Unix seconds, >= 0
 *              f64 accuracy           [0, 1], or -1 exactly: not measured
 *              f64 loss               >= 0, or -1 exactly: not measured
 *              f64 epsilon            privacy, this version (see below)
 *              f64 epsilon_total      cumulative, >= epsilon
 *              f64 delta              [0, 1)
 *              f64 noise_multiplier   sigma
 *              f64 clip_norm          L2 clip of each update
 *              f64 sample_rate        q, [0, 1]
 *              stats                  only with MCAI_PROV_F_STATS (below)
 *              u8[32] signer          key id: SHA-256 of the raw public key
 *   total_len-64  64  signature      Ed25519 over bytes [0, total_len - 64)
 *
 * f64 is the IEEE-754 binary64 bit pattern as a u64; every one must be
 * finite and not -0.0.  The six privacy values are all 0 unless
 * MCAI_PROV_F_DP is set; with it they must be >= 0 (what the DP
 * accountant reports).  The signature covers the header too, so neither
 * the format nor the length nor the signer can be swapped under it.
 *
 * The statistics of the training data (MCAI_PROV_F_STATS), what a node's
 * drift check compares the kernel's running statistics with
 * (runtime/fed/drift.h), in the model's quantised input units:
 *
 *              u64 samples            >= 1, the training samples counted
 *              u32 n_features         1 .. MCAI_PROV_STATS_MAX_FEATURES
 *              n_features x (f32 mean, f32 variance)   finite, not -0.0,
 *                                     |mean| <= 1e6, 0 <= variance <= 1e12
 *              u32 n_classes          0 (no histogram) .. MAX_CLASSES
 *              n_classes x u64 count  summing to at most samples
 *
 * A manifest without the flag has no such bytes: the manifests written
 * before the statistics existed decode as they always did.
 *
 * On a node, the signed manifest of a blob FILE lives next to it as
 * FILE.manifest (the blob format itself is left alone: the kernel parses
 * it).  Over the wire it travels as opaque bytes with the MODEL message.
 *
 * ==== Chain rule (mcai_prov_check) ========================================
 *
 * With the node's installed version C (0: none) and a manifest for
 * version V with parent P:
 *   - V <= C is refused (rollback; V == C with the same digest is
 *     MCAI_PROV_CURRENT, "already installed", also not an install);
 *   - P <  C is refused (a fork: V does not descend from what we run);
 *   - P >  C is accepted: the node missed versions C+1..P while offline,
 *     and the aggregator only ever offers its latest, so insisting on
 *     P == C would strand it for good.  The history shows the gap.
 *     MCAI_PROV_STRICT refuses it instead;
 *   - C == 0 (first install): any P.
 * MCAI_PROV_FORCE lifts the version and parent rules only (an operator
 * rolling back on purpose); signature, trust, name and digest still hold.
 *
 * ==== History =============================================================
 *
 * DIR/NAME.history holds every accepted manifest of model NAME, oldest
 * first: an 8-byte file header "MCAIHST1", then records
 *
 *   u32 magic 0x5248434d ("MCHR");  u16 len (manifest bytes);
 *   u16 flags (MCAI_PROV_REC_*);  s64 accepted (Unix seconds);
 *   len bytes of signed manifest;  u8[8] check: SHA-256 of all before it
 *   in the record, first 8 bytes
 *
 * Appends are O_APPEND writes followed by fsync, so records already there
 * are never rewritten.  A crash mid-append leaves a torn tail: readers
 * stop before it (and say so), and the next append rewrites the good
 * prefix plus the new record to a temp file, fsyncs, renames and fsyncs
 * the directory, so garbage never ends up between two records.  A bad
 * record followed by good data is corruption, not a torn tail: -EBADMSG.
 */
#ifndef MCAI_PROVENANCE_H
#define MCAI_PROVENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uapi/mcai.h"

#define MCAI_PROV_MAGIC		0x4d50434dU	/* "MCPM" */
#define MCAI_PROV_FORMAT	1
#define MCAI_PROV_SIG_ED25519	1
#define MCAI_PROV_KEYID_LEN	32
#define MCAI_PROV_SIG_LEN	64
#define MCAI_PROV_STRATEGY_MAX	31
/* Key ids are shown as their first 8 bytes in hex. */
#define MCAI_PROV_KEYID_HEX	16

/* Fixed part and the two strings at their extremes. */
#define MCAI_PROV_FIXED_LEN	(16 + 1 + 4 + 4 + 8 + 1 + 4 + 4 + 32 + 4 + \
				 32 + 8 + 8 * 8 + MCAI_PROV_KEYID_LEN + \
				 MCAI_PROV_SIG_LEN)
#define MCAI_PROV_MANIFEST_MIN	(MCAI_PROV_FIXED_LEN + 1)
/* The training data's statistics, MCAI_PROV_F_STATS. */
#define MCAI_PROV_STATS_MAX_FEATURES	1024
#define MCAI_PROV_STATS_MAX_CLASSES	64
#define MCAI_PROV_STATS_LEN(nf, nc)	(8 + 4 + 8 * (nf) + 4 + 8 * (nc))
#define MCAI_PROV_MANIFEST_MAX	(MCAI_PROV_FIXED_LEN + MCAI_NAME_LEN - 1 + \
				 MCAI_PROV_STRATEGY_MAX + \
				 MCAI_PROV_STATS_LEN(MCAI_PROV_STATS_MAX_FEATURES, \
						     MCAI_PROV_STATS_MAX_CLASSES))

/* Manifest flags. */
#define MCAI_PROV_F_DP		(1U << 0)	/* DP noise added, see privacy */
#define MCAI_PROV_F_SECAGG	(1U << 1)	/* secure aggregation used */
#define MCAI_PROV_F_STATS	(1U << 2)	/* training data statistics */
#define MCAI_PROV_F_ALL		(MCAI_PROV_F_DP | MCAI_PROV_F_SECAGG | \
				 MCAI_PROV_F_STATS)

/* History record flags. */
#define MCAI_PROV_REC_FORCED	(1U << 0)	/* accepted with FORCE */
#define MCAI_PROV_REC_ALL	MCAI_PROV_REC_FORCED

/* mcai_prov_check() flags. */
#define MCAI_PROV_FORCE		(1U << 0)
#define MCAI_PROV_STRICT	(1U << 1)
/*
 * The blob must be a model the module would take, as it says it is: it
 * verifies (runtime/fed/modelcheck.h, with the widest limits a module can
 * have), its test vectors pass, and its header's name and version are the
 * manifest's.  What accepts a version for real (the node, mcaictl accept)
 * sets it; the chain rules alone do not need it.
 */
#define MCAI_PROV_MODEL		(1U << 2)

/* Files written by mcai_prov_keygen() in its directory. */
#define MCAI_PROV_KEY_FILE	"signer.key"
#define MCAI_PROV_PUB_FILE	"signer.pub"

#define MCAI_PROV_ERR_MAX	256

/* What the DP code reports for a version; all 0 without MCAI_PROV_F_DP. */
struct mcai_prov_privacy {
	double epsilon;			/* this version's round */
	double epsilon_total;		/* cumulative, what the budget caps */
	double delta;
	double noise_multiplier;
	double clip_norm;
	double sample_rate;
};

/* The training data's statistics; entries beyond the counts are 0. */
struct mcai_prov_stats {
	uint64_t samples;
	uint32_t n_features;
	uint32_t n_classes;		/* 0: no class histogram */
	float mean[MCAI_PROV_STATS_MAX_FEATURES];
	float var[MCAI_PROV_STATS_MAX_FEATURES];
	uint64_t classes[MCAI_PROV_STATS_MAX_CLASSES];
};

struct mcai_prov_manifest {
	uint32_t flags;			/* MCAI_PROV_F_* */
	char name[MCAI_NAME_LEN];
	uint32_t version;
	uint32_t parent;
	uint64_t round;
	char strategy[MCAI_PROV_STRATEGY_MAX + 1];
	uint32_t participants;
	uint32_t blob_len;
	uint8_t blob_sha256[MCAI_DIGEST_LEN];
	uint32_t n_params;
	uint8_t params_sha256[MCAI_DIGEST_LEN];
	int64_t created;
	double accuracy;		/* -1: not measured */
	double loss;			/* -1: not measured */
	struct mcai_prov_privacy privacy;
	struct mcai_prov_stats stats;	/* with MCAI_PROV_F_STATS only */
	uint8_t signer[MCAI_PROV_KEYID_LEN];	/* set by mcai_prov_sign() */
};

enum mcai_prov_verdict {
	MCAI_PROV_OK = 0,
	MCAI_PROV_UNSIGNED,		/* no manifest at all */
	MCAI_PROV_MALFORMED,		/* truncated, non-canonical, ... */
	MCAI_PROV_UNKNOWN_SIGNER,	/* key id not in the trust store */
	MCAI_PROV_BAD_SIGNATURE,
	MCAI_PROV_NAME_MISMATCH,
	MCAI_PROV_ROLLBACK,		/* version <= installed (replay too) */
	MCAI_PROV_CURRENT,		/* that very version is installed */
	MCAI_PROV_FORK,			/* parent older than installed */
	MCAI_PROV_SKIPPED,		/* parent newer, with MCAI_PROV_STRICT */
	MCAI_PROV_DIGEST_MISMATCH,	/* blob is not the signed one */
	MCAI_PROV_ERROR,		/* out of memory, OpenSSL failure */
	MCAI_PROV_BAD_MODEL,		/* the module would refuse the blob */
	MCAI_PROV_HEADER_MISMATCH,	/* blob's name/version not the signed */
};

const char *mcai_prov_verdict_name(int verdict);

/* A manifest with accuracy/loss "not measured" and nothing else set. */
void mcai_prov_manifest_init(struct mcai_prov_manifest *m);

struct mcai_version_info;

/*
 * What the aggregator's registry recorded for a published version
 * (runtime/fed/store.h, after mcai_store_publish() filled in digests and
 * time), as a manifest: the caller adds flags and privacy, then signs.
 * A negative accuracy or loss becomes -1 ("not measured"); an accuracy
 * above 1 is passed through and refused by the signer.
 */
void mcai_prov_manifest_from_version(struct mcai_prov_manifest *m,
				     const struct mcai_version_info *vi);

/*
 * The signed bytes' structure: 0, or -EBADMSG (-EPROTONOSUPPORT for an
 * unknown format or signature algorithm) with *why.  Checks no
 * signature: a decoded manifest is not yet a trusted one.
 */
int mcai_prov_decode(const uint8_t *p, size_t len,
		     struct mcai_prov_manifest *m, const char **why);

/*
 * Whether @m could be encoded (the decoder's rules, so a node never
 * receives what it would refuse): 0, or -EINVAL with *why.
 */
int mcai_prov_manifest_check(const struct mcai_prov_manifest *m,
			     const char **why);

/* ---------------------------------------------------------------------- */
/* Keys and the trust store                                               */
/* ---------------------------------------------------------------------- */

struct mcai_prov_key;
struct mcai_prov_trust;

/*
 * A new Ed25519 key pair as DIR/signer.key (PKCS#8 PEM, 0600) and
 * DIR/signer.pub (SubjectPublicKeyInfo PEM, 0644); DIR is created (0700)
 * if missing.  Never overwrites an existing key (-EEXIST).  @keyid gets
 * the new key's id when not NULL.  0 or a negative errno with @err.
 */
int mcai_prov_keygen(const char *dir, uint8_t keyid[MCAI_PROV_KEYID_LEN],
		     char *err, size_t errlen);

/*
 * A PEM Ed25519 key, private (can sign) or public (can verify).
 * 0, or -ENOENT / -EBADMSG (not an Ed25519 key) / -errno with @err.
 * A private key file readable by group or others is refused (-EPERM).
 */
int mcai_prov_key_load(struct mcai_prov_key **out, const char *path,
		       char *err, size_t errlen);
void mcai_prov_key_free(struct mcai_prov_key *k);
bool mcai_prov_key_is_private(const struct mcai_prov_key *k);
const uint8_t *mcai_prov_key_id(const struct mcai_prov_key *k);

/* First MCAI_PROV_KEYID_HEX hex digits of a key id, NUL-terminated. */
void mcai_prov_keyid_hex(const uint8_t id[MCAI_PROV_KEYID_LEN],
			 char out[MCAI_PROV_KEYID_HEX + 1]);

/*
 * Trusted signers from @path: a directory (every regular file named
 * *.pub or *.pem in it; other names are ignored) or one file; a file may
 * hold several PEM public keys.  Any such file that does not parse as
 * Ed25519 public keys is an error rather than skipped, so a typo cannot
 * quietly shrink the store.  An empty store is -ENOKEY.
 */
int mcai_prov_trust_load(struct mcai_prov_trust **out, const char *path,
			 char *err, size_t errlen);
/* An empty store, for mcai_prov_trust_add(). */
int mcai_prov_trust_new(struct mcai_prov_trust **out);
/* Trust @k's public half (the store takes its own reference). */
int mcai_prov_trust_add(struct mcai_prov_trust *t,
			const struct mcai_prov_key *k);
size_t mcai_prov_trust_count(const struct mcai_prov_trust *t);
void mcai_prov_trust_free(struct mcai_prov_trust *t);

/* ---------------------------------------------------------------------- */
/* Signing, verification, the chain check                                 */
/* ---------------------------------------------------------------------- */

/*
 * Sign @m with private key @k: sets m->signer, writes the signed manifest
 * to @out (MCAI_PROV_MANIFEST_MAX bytes are always enough) and its length
 * to *len.  0, or -EINVAL (@m breaks a rule, or @k is public only) /
 * -ENOBUFS / -EIO (OpenSSL) with @err.
 */
int mcai_prov_sign(const struct mcai_prov_key *k,
		   struct mcai_prov_manifest *m, uint8_t *out, size_t cap,
		   size_t *len, char *err, size_t errlen);

/*
 * Decode and check the signature against @t: MCAI_PROV_OK with *m
 * filled, else MALFORMED, UNKNOWN_SIGNER, BAD_SIGNATURE or ERROR with the
 * reason in @err.  *m is filled whenever the bytes decode, so a caller
 * can still show what an unverifiable manifest claims.
 */
int mcai_prov_verify(const struct mcai_prov_trust *t, const uint8_t *p,
		     size_t len, struct mcai_prov_manifest *m, char *err,
		     size_t errlen);

/* What a node has installed; version 0: nothing yet. */
struct mcai_prov_current {
	char name[MCAI_NAME_LEN];
	uint32_t version;
	uint8_t blob_sha256[MCAI_DIGEST_LEN];
};

/*
 * Everything a node checks before installing @blob: @manifest (NULL:
 * MCAI_PROV_UNSIGNED) verified against @t, m.name == cur->name, the chain
 * rule above (flags: MCAI_PROV_FORCE, MCAI_PROV_STRICT), SHA-256 and
 * length of @blob equal to the signed ones, and with MCAI_PROV_MODEL the
 * blob itself.  MCAI_PROV_OK or the first
 * rule broken, with @err; *out is filled when the manifest decodes.
 */
int mcai_prov_check(const struct mcai_prov_trust *t,
		    const struct mcai_prov_current *cur,
		    const uint8_t *manifest, size_t manifest_len,
		    const uint8_t *blob, size_t blob_len, unsigned int flags,
		    struct mcai_prov_manifest *out, char *err, size_t errlen);

/* ---------------------------------------------------------------------- */
/* History                                                                */
/* ---------------------------------------------------------------------- */

struct mcai_prov_record {
	int64_t accepted;		/* Unix seconds */
	uint32_t flags;			/* MCAI_PROV_REC_* */
	struct mcai_prov_manifest m;
	size_t raw_len;
	uint8_t raw[MCAI_PROV_MANIFEST_MAX];	/* the signed bytes */
};

/*
 * Durably append a signed manifest (already accepted by
 * mcai_prov_check(); decoded again here only for its name) to
 * DIR/NAME.history.  DIR must exist.  @accepted < 0: now.
 * 0 or a negative errno with @err.
 */
int mcai_prov_history_append(const char *dir, const uint8_t *manifest,
			     size_t len, int64_t accepted, uint32_t flags,
			     char *err, size_t errlen);

/*
 * Every record of DIR/NAME.history, oldest first, into a malloc'ed array
 * (free()); *torn (may be NULL) says a torn tail was left out.
 * -ENOENT when there is no history, -EBADMSG when it is corrupt.
 */
int mcai_prov_history_read(const char *dir, const char *name,
			   struct mcai_prov_record **out, size_t *n,
			   bool *torn, char *err, size_t errlen);

/*
 * The newest record as the node's current state for mcai_prov_check():
 * name, version, blob digest; version 0 when there is no history yet.
 */
int mcai_prov_history_current(const char *dir, const char *name,
			      struct mcai_prov_current *cur, char *err,
			      size_t errlen);

#endif /* MCAI_PROVENANCE_H */
