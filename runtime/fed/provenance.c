// SPDX-License-Identifier: GPL-2.0
/*
 * Signed manifests, trust store, chain check and history: see
 * provenance.h for the formats and the rules.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "models/engine/sha256.h"
#include "runtime/lib/atomicfile.h"
#include "runtime/lib/errmsg.h"
#include "runtime/fed/modelcheck.h"
#include "runtime/fed/proto.h"
#include "runtime/fed/provenance.h"
#include "runtime/fed/store.h"

#define HIST_MAGIC		"MCAIHST1"
#define HIST_MAGIC_LEN		8
#define HIST_REC_MAGIC		0x5248434dU	/* "MCHR" */
#define HIST_REC_HDR		16
#define HIST_CHECK_LEN		8
#define HIST_SUFFIX		".history"
/* Far more than a lifetime of rounds; a bigger file is not ours. */
#define HIST_MAX_FILE		(256U << 20)
#define TRUST_MAX_KEYS		1024
#define PEM_MAX_FILE		(1U << 20)

_Static_assert(MCAI_PROV_MANIFEST_MAX <= UINT16_MAX,
	       "history records store the manifest length in a u16");

struct mcai_prov_key {
	EVP_PKEY *pkey;
	bool private;
	uint8_t id[MCAI_PROV_KEYID_LEN];
};

struct mcai_prov_trust {
	struct mcai_prov_key *keys;
	size_t n;
	size_t cap;
};

/* The message for the caller; the status is the caller's own. */
#define perr(err, errlen, ...) mcai_errmsg(err, errlen, 0, __VA_ARGS__)

/* The first queued OpenSSL error as text, and the queue cleared. */
static const char *ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (!e)
		snprintf(buf, len, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

const char *mcai_prov_verdict_name(int verdict)
{
	static const char *const names[] = {
		[MCAI_PROV_OK] = "ok",
		[MCAI_PROV_UNSIGNED] = "unsigned",
		[MCAI_PROV_MALFORMED] = "malformed",
		[MCAI_PROV_UNKNOWN_SIGNER] = "unknown-signer",
		[MCAI_PROV_BAD_SIGNATURE] = "bad-signature",
		[MCAI_PROV_NAME_MISMATCH] = "name-mismatch",
		[MCAI_PROV_ROLLBACK] = "rollback",
		[MCAI_PROV_CURRENT] = "already-installed",
		[MCAI_PROV_FORK] = "fork",
		[MCAI_PROV_SKIPPED] = "skipped-versions",
		[MCAI_PROV_DIGEST_MISMATCH] = "digest-mismatch",
		[MCAI_PROV_ERROR] = "error",
		[MCAI_PROV_BAD_MODEL] = "bad-model",
		[MCAI_PROV_HEADER_MISMATCH] = "header-mismatch",
	};

	if (verdict < 0 || (size_t)verdict >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[verdict];
}

void mcai_prov_manifest_init(struct mcai_prov_manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->accuracy = -1;
	m->loss = -1;
}

void mcai_prov_manifest_from_version(struct mcai_prov_manifest *m,
				     const struct mcai_version_info *vi)
{
	mcai_prov_manifest_init(m);
	snprintf(m->name, sizeof(m->name), "%s", vi->name);
	m->version = vi->version;
	m->parent = vi->parent;
	m->round = vi->round;
	snprintf(m->strategy, sizeof(m->strategy), "%s", vi->strategy);
	m->participants = vi->participants;
	m->blob_len = vi->blob_len;
	memcpy(m->blob_sha256, vi->blob_sha256, MCAI_DIGEST_LEN);
	m->n_params = vi->n_params;
	if (vi->n_params)
		memcpy(m->params_sha256, vi->params_sha256, MCAI_DIGEST_LEN);
	m->created = vi->created;
	/* NaN compares false: also "not measured". */
	m->accuracy = vi->accuracy >= 0 ? vi->accuracy : -1;
	m->loss = vi->loss >= 0 ? vi->loss : -1;
}

void mcai_prov_keyid_hex(const uint8_t id[MCAI_PROV_KEYID_LEN],
			 char out[MCAI_PROV_KEYID_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < MCAI_PROV_KEYID_HEX / 2; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[MCAI_PROV_KEYID_HEX] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Manifest rules, encoder, decoder                                       */
/* ---------------------------------------------------------------------- */

static bool strategy_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return !acc;
}

/* Finite and not -0.0: one bit pattern per value. */
static bool f64_canon(double v)
{
	return isfinite(v) && !signbit(v);
}

/* An evaluation figure: -1 exactly (not measured), or finite >= 0. */
static bool eval_ok(double v)
{
	return v == -1.0 || f64_canon(v);
}

/* Finite, not -0.0 (one bit pattern per value), within @max. */
static bool f32_canon(float v, float max)
{
	return isfinite(v) && !(v == 0 && signbit(v)) && fabsf(v) <= max;
}

/* The statistics section's rules (an all-zero section without the flag). */
static int stats_rules(const struct mcai_prov_manifest *m, const char **why)
{
	const struct mcai_prov_stats *s = &m->stats;
	uint64_t sum = 0;
	uint32_t i;

	if (!(m->flags & MCAI_PROV_F_STATS)) {
		if (s->samples || s->n_features || s->n_classes)
			return *why = "statistics without the statistics flag",
			       -EINVAL;
		return 0;
	}
	if (!s->samples)
		return *why = "statistics of no samples", -EINVAL;
	if (!s->n_features || s->n_features > MCAI_PROV_STATS_MAX_FEATURES)
		return *why = "statistics feature count out of range", -EINVAL;
	if (s->n_classes > MCAI_PROV_STATS_MAX_CLASSES)
		return *why = "statistics class count out of range", -EINVAL;
	for (i = 0; i < s->n_features; i++) {
		if (!f32_canon(s->mean[i], 1e6f))
			return *why = "statistics mean not finite or out of range",
			       -EINVAL;
		if (!f32_canon(s->var[i], 1e12f) || s->var[i] < 0)
			return *why = "statistics variance negative or not finite",
			       -EINVAL;
	}
	for (i = 0; i < s->n_classes; i++) {
		if (s->classes[i] > s->samples - sum)
			return *why = "class histogram counts more than the samples",
			       -EINVAL;
		sum += s->classes[i];
	}
	return 0;
}

/*
 * The rules shared by encoder and decoder, on the decoded fields (the
 * string lengths are checked where the bytes are).
 */
static int manifest_rules(const struct mcai_prov_manifest *m,
			  const char **why)
{
	const struct mcai_prov_privacy *p = &m->privacy;
	const double pv[] = { p->epsilon, p->epsilon_total, p->delta,
			      p->noise_multiplier, p->clip_norm,
			      p->sample_rate };

	if (m->flags & ~MCAI_PROV_F_ALL)
		return *why = "unknown manifest flags", -EINVAL;
	if (!mcai_proto_name_ok(m->name))
		return *why = "bad model name", -EINVAL;
	if (strnlen(m->strategy, sizeof(m->strategy)) > MCAI_PROV_STRATEGY_MAX ||
	    !strategy_ok(m->strategy, strlen(m->strategy)))
		return *why = "bad strategy name", -EINVAL;
	if (!m->version)
		return *why = "version 0", -EINVAL;
	if (m->parent >= m->version)
		return *why = "parent not older than version", -EINVAL;
	if (!m->blob_len)
		return *why = "empty blob", -EINVAL;
	if (!m->n_params != all_zero(m->params_sha256, MCAI_DIGEST_LEN))
		return *why = "params digest without params (or the reverse)",
		       -EINVAL;
	if (m->created < 0)
		return *why = "negative creation time", -EINVAL;
	if (!eval_ok(m->accuracy) || m->accuracy > 1)
		return *why = "accuracy not in [0, 1] nor -1", -EINVAL;
	if (!eval_ok(m->loss))
		return *why = "loss not >= 0 nor -1", -EINVAL;
	for (size_t i = 0; i < sizeof(pv) / sizeof(pv[0]); i++) {
		if (!f64_canon(pv[i]))
			return *why = "privacy value negative or not finite",
			       -EINVAL;
		if (!(m->flags & MCAI_PROV_F_DP) && pv[i] != 0)
			return *why = "privacy values without the DP flag",
			       -EINVAL;
	}
	if (p->epsilon_total < p->epsilon)
		return *why = "cumulative epsilon below the round's", -EINVAL;
	if (p->delta >= 1)
		return *why = "delta not below 1", -EINVAL;
	if (p->sample_rate > 1)
		return *why = "sample rate above 1", -EINVAL;
	return stats_rules(m, why);
}

int mcai_prov_manifest_check(const struct mcai_prov_manifest *m,
			     const char **why)
{
	const char *dummy;

	return manifest_rules(m, why ? why : &dummy);
}

static void put_le(uint8_t **p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		(*p)[i] = (uint8_t)(v >> (8 * i));
	*p += n;
}

static void put_f64(uint8_t **p, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	put_le(p, u, 8);
}

static void put_f32(uint8_t **p, float v)
{
	uint32_t u;

	memcpy(&u, &v, sizeof(u));
	put_le(p, u, 4);
}

static void put_bytes(uint8_t **p, const void *src, size_t n)
{
	memcpy(*p, src, n);
	*p += n;
}

/*
 * Everything but the signature into @out (cap >= MCAI_PROV_MANIFEST_MAX);
 * returns the signed-over length.  @m must have passed manifest_rules().
 */
static size_t manifest_body(const struct mcai_prov_manifest *m, uint8_t *out)
{
	size_t nl = strlen(m->name), sl = strlen(m->strategy);
	size_t total = MCAI_PROV_FIXED_LEN + nl + sl;
	const struct mcai_prov_stats *s = &m->stats;
	uint8_t *p = out;

	if (m->flags & MCAI_PROV_F_STATS)
		total += MCAI_PROV_STATS_LEN(s->n_features, s->n_classes);

	put_le(&p, MCAI_PROV_MAGIC, 4);
	put_le(&p, MCAI_PROV_FORMAT, 2);
	put_le(&p, MCAI_PROV_SIG_ED25519, 2);
	put_le(&p, total, 4);
	put_le(&p, m->flags, 4);
	put_le(&p, nl, 1);
	put_bytes(&p, m->name, nl);
	put_le(&p, m->version, 4);
	put_le(&p, m->parent, 4);
	put_le(&p, m->round, 8);
	put_le(&p, sl, 1);
	put_bytes(&p, m->strategy, sl);
	put_le(&p, m->participants, 4);
	put_le(&p, m->blob_len, 4);
	put_bytes(&p, m->blob_sha256, MCAI_DIGEST_LEN);
	put_le(&p, m->n_params, 4);
	put_bytes(&p, m->params_sha256, MCAI_DIGEST_LEN);
	put_le(&p, (uint64_t)m->created, 8);
	put_f64(&p, m->accuracy);
	put_f64(&p, m->loss);
	put_f64(&p, m->privacy.epsilon);
	put_f64(&p, m->privacy.epsilon_total);
	put_f64(&p, m->privacy.delta);
	put_f64(&p, m->privacy.noise_multiplier);
	put_f64(&p, m->privacy.clip_norm);
	put_f64(&p, m->privacy.sample_rate);
	if (m->flags & MCAI_PROV_F_STATS) {
		put_le(&p, s->samples, 8);
		put_le(&p, s->n_features, 4);
		for (uint32_t i = 0; i < s->n_features; i++) {
			put_f32(&p, s->mean[i]);
			put_f32(&p, s->var[i]);
		}
		put_le(&p, s->n_classes, 4);
		for (uint32_t i = 0; i < s->n_classes; i++)
			put_le(&p, s->classes[i], 8);
	}
	put_bytes(&p, m->signer, MCAI_PROV_KEYID_LEN);
	return (size_t)(p - out);
}

/* A bounded reader: every get checks what is left first. */
struct rd {
	const uint8_t *p;
	size_t left;
	bool short_;
};

static uint64_t get_le(struct rd *r, int n)
{
	uint64_t v = 0;

	if (r->left < (size_t)n) {
		r->short_ = true;
		r->left = 0;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	r->left -= (size_t)n;
	return v;
}

static double get_f64(struct rd *r)
{
	uint64_t u = get_le(r, 8);
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

static float get_f32(struct rd *r)
{
	uint32_t u = (uint32_t)get_le(r, 4);
	float v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

/*
 * The statistics section: the counts are checked against their limits
 * and against the bytes left before anything is read by them.
 */
static bool get_stats(struct rd *r, struct mcai_prov_stats *s)
{
	uint32_t i;

	s->samples = get_le(r, 8);
	s->n_features = (uint32_t)get_le(r, 4);
	if (r->short_ || !s->n_features ||
	    s->n_features > MCAI_PROV_STATS_MAX_FEATURES ||
	    r->left < 8ULL * s->n_features + 4)
		return false;
	for (i = 0; i < s->n_features; i++) {
		s->mean[i] = get_f32(r);
		s->var[i] = get_f32(r);
	}
	s->n_classes = (uint32_t)get_le(r, 4);
	if (r->short_ || s->n_classes > MCAI_PROV_STATS_MAX_CLASSES ||
	    r->left < 8ULL * s->n_classes)
		return false;
	for (i = 0; i < s->n_classes; i++)
		s->classes[i] = get_le(r, 8);
	return !r->short_;
}

static void get_bytes(struct rd *r, void *dst, size_t n)
{
	if (r->left < n) {
		r->short_ = true;
		r->left = 0;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
}

/* u8 length, then that many bytes into a NUL-terminated @dst. */
static bool get_str(struct rd *r, char *dst, size_t max)
{
	size_t n = (size_t)get_le(r, 1);

	if (r->short_ || n > max || r->left < n)
		return false;
	memcpy(dst, r->p, n);
	dst[n] = '\0';
	/* An embedded NUL would make two encodings of one name. */
	if (strlen(dst) != n)
		return false;
	r->p += n;
	r->left -= n;
	return true;
}

int mcai_prov_decode(const uint8_t *p, size_t len,
		     struct mcai_prov_manifest *m, const char **why)
{
	struct rd r = { .p = p, .left = len };
	const char *dummy;
	uint32_t total;
	int err;

	if (!why)
		why = &dummy;
	memset(m, 0, sizeof(*m));
	if (len < 16)
		return *why = "manifest shorter than its header", -EBADMSG;
	if (get_le(&r, 4) != MCAI_PROV_MAGIC)
		return *why = "not a signed manifest (bad magic)", -EBADMSG;
	if (get_le(&r, 2) != MCAI_PROV_FORMAT)
		return *why = "unsupported manifest format", -EPROTONOSUPPORT;
	if (get_le(&r, 2) != MCAI_PROV_SIG_ED25519)
		return *why = "unsupported signature algorithm",
		       -EPROTONOSUPPORT;
	total = (uint32_t)get_le(&r, 4);
	if (total != len)
		return *why = len < total ? "manifest truncated" :
			       "manifest length field does not match",
		       -EBADMSG;
	if (total < MCAI_PROV_MANIFEST_MIN || total > MCAI_PROV_MANIFEST_MAX)
		return *why = "manifest length out of range", -EBADMSG;
	m->flags = (uint32_t)get_le(&r, 4);
	if (!get_str(&r, m->name, MCAI_NAME_LEN - 1))
		return *why = "bad model name field", -EBADMSG;
	m->version = (uint32_t)get_le(&r, 4);
	m->parent = (uint32_t)get_le(&r, 4);
	m->round = get_le(&r, 8);
	if (!get_str(&r, m->strategy, MCAI_PROV_STRATEGY_MAX))
		return *why = "bad strategy field", -EBADMSG;
	m->participants = (uint32_t)get_le(&r, 4);
	m->blob_len = (uint32_t)get_le(&r, 4);
	get_bytes(&r, m->blob_sha256, MCAI_DIGEST_LEN);
	m->n_params = (uint32_t)get_le(&r, 4);
	get_bytes(&r, m->params_sha256, MCAI_DIGEST_LEN);
	m->created = (int64_t)get_le(&r, 8);
	m->accuracy = get_f64(&r);
	m->loss = get_f64(&r);
	m->privacy.epsilon = get_f64(&r);
	m->privacy.epsilon_total = get_f64(&r);
	m->privacy.delta = get_f64(&r);
	m->privacy.noise_multiplier = get_f64(&r);
	m->privacy.clip_norm = get_f64(&r);
	m->privacy.sample_rate = get_f64(&r);
	if ((m->flags & MCAI_PROV_F_STATS) && !get_stats(&r, &m->stats))
		return *why = "bad statistics section", -EBADMSG;
	get_bytes(&r, m->signer, MCAI_PROV_KEYID_LEN);
	/* What is left must be exactly the signature. */
	if (r.short_ || r.left != MCAI_PROV_SIG_LEN)
		return *why = "manifest fields do not fill its length",
		       -EBADMSG;
	err = manifest_rules(m, why);
	return err ? -EBADMSG : 0;
}

/* ---------------------------------------------------------------------- */
/* Keys                                                                   */
/* ---------------------------------------------------------------------- */

static int key_id(EVP_PKEY *pkey, uint8_t id[MCAI_PROV_KEYID_LEN])
{
	uint8_t raw[32];
	size_t n = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1 || n != 32)
		return -EIO;
	mcai_sha256(raw, n, id);
	return 0;
}

static int key_wrap(struct mcai_prov_key **out, EVP_PKEY *pkey, bool priv)
{
	struct mcai_prov_key *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	if (key_id(pkey, k->id)) {
		free(k);
		return -EIO;
	}
	k->pkey = pkey;
	k->private = priv;
	*out = k;
	return 0;
}

void mcai_prov_key_free(struct mcai_prov_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

bool mcai_prov_key_is_private(const struct mcai_prov_key *k)
{
	return k->private;
}

const uint8_t *mcai_prov_key_id(const struct mcai_prov_key *k)
{
	return k->id;
}

/* Write @pkey as PEM to a new file (never an existing one). */
static int write_pem(int dfd, const char *name, mode_t mode, EVP_PKEY *pkey,
		     bool priv, char *err, size_t errlen)
{
	char why[256];
	FILE *f;
	int fd, ok;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = -errno;

		perr(err, errlen, "%s: %s", name, strerror(-e));
		return e;
	}
	/* The umask may have widened nothing, but be exact about it. */
	if (fchmod(fd, mode)) {
		int e = -errno;

		close(fd);
		unlinkat(dfd, name, 0);
		perr(err, errlen, "chmod %s: %s", name, strerror(-e));
		return e;
	}
	f = fdopen(fd, "w");
	if (!f) {
		int e = -errno;

		close(fd);
		unlinkat(dfd, name, 0);
		perr(err, errlen, "%s: %s", name, strerror(-e));
		return e;
	}
	ok = priv ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) :
		    PEM_write_PUBKEY(f, pkey);
	if (ok != 1) {
		fclose(f);
		unlinkat(dfd, name, 0);
		perr(err, errlen, "writing %s: %s", name,
		     ossl_reason(why, sizeof(why)));
		return -EIO;
	}
	if (fflush(f) || fsync(fileno(f))) {
		int e = -errno;

		fclose(f);
		unlinkat(dfd, name, 0);
		perr(err, errlen, "writing %s: %s", name, strerror(-e));
		return e;
	}
	if (fclose(f)) {
		int e = -errno;

		unlinkat(dfd, name, 0);
		perr(err, errlen, "closing %s: %s", name, strerror(-e));
		return e;
	}
	return 0;
}

int mcai_prov_keygen(const char *dir, uint8_t keyid[MCAI_PROV_KEYID_LEN],
		     char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	char why[256];
	int dfd, e;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		e = -errno;
		perr(err, errlen, "mkdir %s: %s", dir, strerror(-e));
		return e;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		e = -errno;
		perr(err, errlen, "%s: %s", dir, strerror(-e));
		return e;
	}
	/* Check both names first: half a pair is worse than none. */
	if (!faccessat(dfd, MCAI_PROV_KEY_FILE, F_OK, AT_SYMLINK_NOFOLLOW) ||
	    !faccessat(dfd, MCAI_PROV_PUB_FILE, F_OK, AT_SYMLINK_NOFOLLOW)) {
		close(dfd);
		perr(err, errlen, "%s already holds a signing key", dir);
		return -EEXIST;
	}
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey) {
		close(dfd);
		perr(err, errlen, "key generation: %s",
		     ossl_reason(why, sizeof(why)));
		return -EIO;
	}
	e = write_pem(dfd, MCAI_PROV_KEY_FILE, 0600, pkey, true, err, errlen);
	if (!e) {
		e = write_pem(dfd, MCAI_PROV_PUB_FILE, 0644, pkey, false, err,
			      errlen);
		if (e)
			unlinkat(dfd, MCAI_PROV_KEY_FILE, 0);
	}
	if (!e && fsync(dfd)) {
		e = -errno;
		perr(err, errlen, "fsync %s: %s", dir, strerror(-e));
	}
	if (!e && keyid && key_id(pkey, keyid)) {
		e = -EIO;
		perr(err, errlen, "key id: %s", ossl_reason(why, sizeof(why)));
	}
	EVP_PKEY_free(pkey);
	close(dfd);
	return e;
}

/* A whole small file into memory (NUL-terminated for the PEM parser). */
static int slurp(const char *path, size_t max, char **out, size_t *len,
		 struct stat *st)
{
	size_t n = 0;
	char *buf;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st)) {
		e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size > max) {
		close(fd);
		return S_ISREG(st->st_mode) ? -EFBIG : -EINVAL;
	}
	buf = malloc((size_t)st->st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st->st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st->st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? -errno : -EIO;
			free(buf);
			close(fd);
			return e;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int mcai_prov_key_load(struct mcai_prov_key **out, const char *path,
		       char *err, size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	struct stat st;
	bool priv;
	size_t len;
	char *text;
	BIO *bio;
	int e;

	e = slurp(path, PEM_MAX_FILE, &text, &len, &st);
	if (e) {
		perr(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	priv = strstr(text, "PRIVATE KEY-----") != NULL;
	/*
	 * Like ssh: a signing key others can read is a key others may hold,
	 * and signing with it would vouch for them.
	 */
	if (priv && (st.st_mode & 077)) {
		free(text);
		perr(err, errlen, "%s: private key readable by others "
		     "(mode %04o; chmod 600)", path,
		     (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	bio = BIO_new_mem_buf(text, (int)len);
	if (bio) {
		pkey = priv ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
			      PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	OPENSSL_cleanse(text, len);
	free(text);
	if (!pkey) {
		char why[256];

		perr(err, errlen, "%s: not a PEM key: %s", path,
		     ossl_reason(why, sizeof(why)));
		return -EBADMSG;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		perr(err, errlen, "%s: not an Ed25519 key", path);
		return -EBADMSG;
	}
	e = key_wrap(out, pkey, priv);
	if (e) {
		EVP_PKEY_free(pkey);
		perr(err, errlen, "%s: %s", path, strerror(-e));
	}
	return e;
}

/* ---------------------------------------------------------------------- */
/* Trust store                                                            */
/* ---------------------------------------------------------------------- */

int mcai_prov_trust_new(struct mcai_prov_trust **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void mcai_prov_trust_free(struct mcai_prov_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		EVP_PKEY_free(t->keys[i].pkey);
	free(t->keys);
	free(t);
}

size_t mcai_prov_trust_count(const struct mcai_prov_trust *t)
{
	return t->n;
}

static const struct mcai_prov_key *
trust_find(const struct mcai_prov_trust *t, const uint8_t id[32])
{
	for (size_t i = 0; i < t->n; i++)
		if (!memcmp(t->keys[i].id, id, MCAI_PROV_KEYID_LEN))
			return &t->keys[i];
	return NULL;
}

/* Takes over @pkey's reference on success; a duplicate is dropped. */
static int trust_push(struct mcai_prov_trust *t, EVP_PKEY *pkey)
{
	struct mcai_prov_key k = { .pkey = pkey };

	if (key_id(pkey, k.id))
		return -EIO;
	if (trust_find(t, k.id)) {
		EVP_PKEY_free(pkey);
		return 0;
	}
	if (t->n == TRUST_MAX_KEYS)
		return -E2BIG;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4;
		struct mcai_prov_key *nk = realloc(t->keys, cap * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		t->keys = nk;
		t->cap = cap;
	}
	t->keys[t->n++] = k;
	return 0;
}

int mcai_prov_trust_add(struct mcai_prov_trust *t,
			const struct mcai_prov_key *k)
{
	int e;

	if (EVP_PKEY_up_ref(k->pkey) != 1)
		return -EIO;
	e = trust_push(t, k->pkey);
	if (e)
		EVP_PKEY_free(k->pkey);
	return e;
}

/* Every PUBLIC KEY block of one PEM file; at least one. */
static int trust_file(struct mcai_prov_trust *t, const char *path,
		      char *err, size_t errlen)
{
	struct stat st;
	int e, found = 0;
	size_t len;
	char *text;
	BIO *bio;

	e = slurp(path, PEM_MAX_FILE, &text, &len, &st);
	if (e) {
		perr(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	if (strstr(text, "PRIVATE KEY-----")) {
		/* Nothing signs from a trust store: keep secrets out of it. */
		OPENSSL_cleanse(text, len);
		free(text);
		perr(err, errlen, "%s: a private key in the trust store", path);
		return -EPERM;
	}
	bio = BIO_new_mem_buf(text, (int)len);
	if (!bio) {
		free(text);
		return -ENOMEM;
	}
	for (;;) {
		EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);

		if (!pkey)
			break;
		if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
			EVP_PKEY_free(pkey);
			perr(err, errlen, "%s: key %d is not Ed25519", path,
			     found + 1);
			e = -EBADMSG;
			break;
		}
		e = trust_push(t, pkey);
		if (e) {
			EVP_PKEY_free(pkey);
			perr(err, errlen, "%s: %s", path, strerror(-e));
			break;
		}
		found++;
	}
	/* The loop ends on "no more PEM": not an error unless none at all. */
	ERR_clear_error();
	BIO_free(bio);
	free(text);
	if (!e && !found) {
		perr(err, errlen, "%s: no PEM public key in it", path);
		e = -EBADMSG;
	}
	return e;
}

static bool trust_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.' || l < 5)
		return false;
	return !strcmp(n + l - 4, ".pub") || !strcmp(n + l - 4, ".pem");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int trust_dir(struct mcai_prov_trust *t, const char *path,
		     char *err, size_t errlen)
{
	char **names = NULL, full[4096];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int e = 0;

	d = opendir(path);
	if (!d) {
		e = -errno;
		perr(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	while ((de = readdir(d))) {
		if (!trust_name(de->d_name))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 8;
			char **nn = realloc(names, nc * sizeof(*nn));

			if (!nn) {
				e = -ENOMEM;
				break;
			}
			names = nn;
			cap = nc;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			e = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	/* Sorted, so the same directory always gives the same errors. */
	if (!e && n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; !e && i < n; i++) {
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", path,
				     names[i]) >= sizeof(full)) {
			e = -ENAMETOOLONG;
			perr(err, errlen, "%s/%s: path too long", path,
			     names[i]);
			break;
		}
		e = trust_file(t, full, err, errlen);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (e == -ENOMEM)
		perr(err, errlen, "out of memory");
	return e;
}

int mcai_prov_trust_load(struct mcai_prov_trust **out, const char *path,
			 char *err, size_t errlen)
{
	struct mcai_prov_trust *t;
	struct stat st;
	int e;

	if (stat(path, &st)) {
		e = -errno;
		perr(err, errlen, "trust store %s: %s", path, strerror(-e));
		return e;
	}
	if (mcai_prov_trust_new(&t)) {
		perr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e = S_ISDIR(st.st_mode) ? trust_dir(t, path, err, errlen) :
				  trust_file(t, path, err, errlen);
	if (!e && !t->n) {
		perr(err, errlen, "trust store %s: no *.pub or *.pem key", path);
		e = -ENOKEY;
	}
	if (e) {
		mcai_prov_trust_free(t);
		return e;
	}
	*out = t;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Sign, verify, check                                                    */
/* ---------------------------------------------------------------------- */

int mcai_prov_sign(const struct mcai_prov_key *k,
		   struct mcai_prov_manifest *m, uint8_t *out, size_t cap,
		   size_t *len, char *err, size_t errlen)
{
	uint8_t body[MCAI_PROV_MANIFEST_MAX];
	size_t blen, siglen = MCAI_PROV_SIG_LEN;
	EVP_MD_CTX *ctx;
	const char *why;
	char oerr[256];
	int ok;

	if (!k->private) {
		perr(err, errlen, "signing needs a private key");
		return -EINVAL;
	}
	if (manifest_rules(m, &why)) {
		perr(err, errlen, "manifest: %s", why);
		return -EINVAL;
	}
	memcpy(m->signer, k->id, MCAI_PROV_KEYID_LEN);
	blen = manifest_body(m, body);
	if (cap < blen + MCAI_PROV_SIG_LEN) {
		perr(err, errlen, "manifest buffer too small");
		return -ENOBUFS;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		perr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Ed25519 is PureEdDSA: no digest, one-shot only. */
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestSign(ctx, out + blen, &siglen, body, blen) == 1 &&
	     siglen == MCAI_PROV_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		perr(err, errlen, "signing: %s", ossl_reason(oerr, sizeof(oerr)));
		return -EIO;
	}
	memcpy(out, body, blen);
	*len = blen + MCAI_PROV_SIG_LEN;
	return 0;
}

int mcai_prov_verify(const struct mcai_prov_trust *t, const uint8_t *p,
		     size_t len, struct mcai_prov_manifest *m, char *err,
		     size_t errlen)
{
	const struct mcai_prov_key *k;
	char hex[MCAI_PROV_KEYID_HEX + 1];
	const char *why;
	EVP_MD_CTX *ctx;
	int r;

	if (mcai_prov_decode(p, len, m, &why)) {
		perr(err, errlen, "%s", why);
		return MCAI_PROV_MALFORMED;
	}
	k = t ? trust_find(t, m->signer) : NULL;
	if (!k) {
		mcai_prov_keyid_hex(m->signer, hex);
		perr(err, errlen, "signer %s is not in the trust store", hex);
		return MCAI_PROV_UNKNOWN_SIGNER;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		perr(err, errlen, "out of memory");
		return MCAI_PROV_ERROR;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) != 1) {
		char oerr[256];

		EVP_MD_CTX_free(ctx);
		perr(err, errlen, "verify: %s", ossl_reason(oerr, sizeof(oerr)));
		return MCAI_PROV_ERROR;
	}
	r = EVP_DigestVerify(ctx, p + len - MCAI_PROV_SIG_LEN,
			     MCAI_PROV_SIG_LEN, p, len - MCAI_PROV_SIG_LEN);
	EVP_MD_CTX_free(ctx);
	/* A failed verification leaves errors queued; they say no more. */
	ERR_clear_error();
	if (r != 1) {
		mcai_prov_keyid_hex(m->signer, hex);
		perr(err, errlen, "signature does not verify with key %s", hex);
		return MCAI_PROV_BAD_SIGNATURE;
	}
	return MCAI_PROV_OK;
}

/*
 * MCAI_PROV_MODEL: what the module will check at load, checked before
 * anything is recorded, and the header against the manifest (a trusted
 * manifest over another version's, or another model's, blob).
 */
/* The checks on a blob that verified, as @m. */
static int prov_check_verified(const struct mcai_prov_manifest *pm,
			       const struct mcai_model *m, char *err,
			       size_t errlen)
{
	u32 failed;
	int r;

	if (strncmp(m->name, pm->name, MCAI_NAME_LEN) ||
	    m->version != pm->version) {
		perr(err, errlen, "blob is \"%.*s\" version %u, the manifest "
		     "signs \"%s\" version %u", MCAI_NAME_LEN, m->name,
		     m->version, pm->name, pm->version);
		return MCAI_PROV_HEADER_MISMATCH;
	}
	r = mcai_model_check_vectors(m, &failed);
	if (r == -ENOMEM) {
		perr(err, errlen, "out of memory running the test vectors");
		return MCAI_PROV_ERROR;
	}
	if (r) {
		perr(err, errlen, "blob refused: test vector %u of %u fails",
		     failed, m->tv_count);
		return MCAI_PROV_BAD_MODEL;
	}
	return MCAI_PROV_OK;
}

static int prov_check_model(const struct mcai_prov_manifest *pm,
			    const uint8_t *blob, size_t blob_len,
			    char *err, size_t errlen)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	int r;

	mcai_limits_widest(&lim);
	if (mcai_model_check_blob(&m, blob, blob_len, &lim, &v)) {
		perr(err, errlen, "blob refused: %s (at byte %u)", v.reason,
		     v.offset);
		return MCAI_PROV_BAD_MODEL;
	}
	r = prov_check_verified(pm, &m, err, errlen);
	mcai_model_check_free(&m);
	return r;
}

int mcai_prov_check(const struct mcai_prov_trust *t,
		    const struct mcai_prov_current *cur,
		    const uint8_t *manifest, size_t manifest_len,
		    const uint8_t *blob, size_t blob_len, unsigned int flags,
		    struct mcai_prov_manifest *out, char *err, size_t errlen)
{
	struct mcai_prov_manifest local;
	struct mcai_prov_manifest *m = out ? out : &local;
	uint8_t digest[MCAI_DIGEST_LEN];
	bool force = flags & MCAI_PROV_FORCE;
	int v;

	if (!manifest) {
		memset(m, 0, sizeof(*m));
		perr(err, errlen, "no signed manifest");
		return MCAI_PROV_UNSIGNED;
	}
	v = mcai_prov_verify(t, manifest, manifest_len, m, err, errlen);
	if (v)
		return v;
	if (strcmp(m->name, cur->name)) {
		perr(err, errlen, "manifest is for model \"%s\", not \"%s\"",
		     m->name, cur->name);
		return MCAI_PROV_NAME_MISMATCH;
	}
	/* The blob before the chain: a replayed manifest says "rollback". */
	if (!blob || blob_len != m->blob_len) {
		perr(err, errlen, "blob is %zu bytes, the signed one %u",
		     blob ? blob_len : 0, m->blob_len);
		return MCAI_PROV_DIGEST_MISMATCH;
	}
	mcai_sha256(blob, blob_len, digest);
	if (memcmp(digest, m->blob_sha256, MCAI_DIGEST_LEN)) {
		perr(err, errlen, "blob digest differs from the signed one");
		return MCAI_PROV_DIGEST_MISMATCH;
	}
	if (flags & MCAI_PROV_MODEL) {
		v = prov_check_model(m, blob, blob_len, err, errlen);
		if (v)
			return v;
	}
	if (cur->version && !force) {
		if (m->version == cur->version &&
		    !memcmp(m->blob_sha256, cur->blob_sha256, MCAI_DIGEST_LEN)) {
			perr(err, errlen, "version %u is already installed",
			     m->version);
			return MCAI_PROV_CURRENT;
		}
		if (m->version <= cur->version) {
			perr(err, errlen, "version %u is not newer than the "
			     "installed %u", m->version, cur->version);
			return MCAI_PROV_ROLLBACK;
		}
		if (m->parent < cur->version) {
			perr(err, errlen, "version %u descends from %u, older "
			     "than the installed %u", m->version, m->parent,
			     cur->version);
			return MCAI_PROV_FORK;
		}
		if (m->parent > cur->version && (flags & MCAI_PROV_STRICT)) {
			perr(err, errlen, "version %u skips %u..%u after the "
			     "installed %u", m->version, cur->version + 1,
			     m->parent, cur->version);
			return MCAI_PROV_SKIPPED;
		}
	}
	perr(err, errlen, "ok");
	return MCAI_PROV_OK;
}

/* ---------------------------------------------------------------------- */
/* History                                                                */
/* ---------------------------------------------------------------------- */

static int hist_path(char *buf, size_t len, const char *dir, const char *name)
{
	if (!mcai_proto_name_ok(name))
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/%s" HIST_SUFFIX, dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static void rec_check(const uint8_t *rec, size_t len, uint8_t out[8])
{
	uint8_t d[MCAI_SHA256_LEN];

	mcai_sha256(rec, len, d);
	memcpy(out, d, HIST_CHECK_LEN);
}

/* One record into @out (HIST_REC_HDR + len + HIST_CHECK_LEN bytes). */
static size_t rec_build(uint8_t *out, const uint8_t *man, size_t len,
			int64_t accepted, uint32_t flags)
{
	uint8_t *p = out;

	put_le(&p, HIST_REC_MAGIC, 4);
	put_le(&p, len, 2);
	put_le(&p, flags, 2);
	put_le(&p, (uint64_t)accepted, 8);
	put_bytes(&p, man, len);
	rec_check(out, (size_t)(p - out), p);
	return (size_t)(p - out) + HIST_CHECK_LEN;
}

/*
 * The record at @r (with @left bytes to the end of the file): 1 valid
 * (with *rlen, and *m / *rflags filled), 0 not a record, -1 a record
 * header whose body runs past the end.
 */
static int rec_parse(const uint8_t *r, size_t left, size_t *rlen,
		     struct mcai_prov_manifest *m, uint32_t *rflags)
{
	struct rd rd = { .p = r, .left = left };
	uint8_t chk[HIST_CHECK_LEN];
	uint32_t magic;
	size_t mlen;

	if (left < HIST_REC_HDR)
		return -1;
	magic = (uint32_t)get_le(&rd, 4);
	mlen = (size_t)get_le(&rd, 2);
	*rflags = (uint32_t)get_le(&rd, 2);
	*rlen = HIST_REC_HDR + mlen + HIST_CHECK_LEN;
	if (magic != HIST_REC_MAGIC || mlen > MCAI_PROV_MANIFEST_MAX ||
	    (*rflags & ~MCAI_PROV_REC_ALL))
		return 0;
	if (left < *rlen)
		return -1;
	rec_check(r, *rlen - HIST_CHECK_LEN, chk);
	if (memcmp(chk, r + *rlen - HIST_CHECK_LEN, HIST_CHECK_LEN))
		return 0;
	return mcai_prov_decode(r + HIST_REC_HDR, mlen, m, NULL) ? 0 : 1;
}

/* Whether a valid record starts anywhere in [from, size). */
static bool valid_after(const uint8_t *buf, size_t from, size_t size)
{
	struct mcai_prov_manifest m;
	uint32_t rflags;
	size_t rlen;

	for (size_t o = from; o + HIST_REC_HDR <= size; o++)
		if (rec_parse(buf + o, size - o, &rlen, &m, &rflags) == 1)
			return true;
	return false;
}

/*
 * Parse a history image.  Returns 0 with the records (may be NULL: count
 * only), *good = bytes of complete valid records from the start, *torn =
 * whether bytes after them were dropped as a torn tail.
 *
 * Appends only ever write at the end, so a crash can only damage what
 * comes after the last good record: anything bad there, with no valid
 * record after it, is a torn tail (whatever the file system left in a
 * half-written block).  A bad stretch with a good record after it was
 * damaged some other way and is reported, not skipped.
 */
static int hist_parse(const uint8_t *buf, size_t size,
		      struct mcai_prov_record *recs, size_t *n, size_t *good,
		      bool *torn, char *err, size_t errlen)
{
	size_t off = HIST_MAGIC_LEN, count = 0;

	*torn = false;
	*n = 0;
	*good = 0;
	if (size < HIST_MAGIC_LEN) {
		/* Cut short while being created: nothing was in it yet. */
		*torn = size > 0;
		return 0;
	}
	if (memcmp(buf, HIST_MAGIC, HIST_MAGIC_LEN)) {
		perr(err, errlen, "not a model history file");
		return -EBADMSG;
	}
	while (off < size) {
		struct mcai_prov_manifest m;
		uint32_t rflags;
		size_t rlen;
		int v = rec_parse(buf + off, size - off, &rlen, &m, &rflags);

		if (v != 1) {
			if (valid_after(buf, off + 1, size)) {
				perr(err, errlen, "corrupt record %zu at byte "
				     "%zu", count + 1, off);
				return -EBADMSG;
			}
			*torn = true;
			break;
		}
		if (recs) {
			struct mcai_prov_record *o = &recs[count];
			struct rd rd = { .p = buf + off + 8, .left = 8 };

			o->flags = rflags;
			o->accepted = (int64_t)get_le(&rd, 8);
			o->m = m;
			o->raw_len = rlen - HIST_REC_HDR - HIST_CHECK_LEN;
			memcpy(o->raw, buf + off + HIST_REC_HDR, o->raw_len);
		}
		count++;
		off += rlen;
	}
	*n = count;
	*good = off;
	return 0;
}

static int hist_load(const char *path, uint8_t **buf, size_t *size)
{
	struct stat st;
	char *text;
	int e;

	e = slurp(path, HIST_MAX_FILE, &text, size, &st);
	if (e)
		return e;
	*buf = (uint8_t *)text;
	return 0;
}

int mcai_prov_history_read(const char *dir, const char *name,
			   struct mcai_prov_record **out, size_t *n,
			   bool *torn, char *err, size_t errlen)
{
	struct mcai_prov_record *recs = NULL;
	size_t size, good, count;
	char path[4096];
	bool t;
	uint8_t *buf;
	int e;

	*out = NULL;
	*n = 0;
	e = hist_path(path, sizeof(path), dir, name);
	if (e) {
		perr(err, errlen, "bad model name or directory");
		return e;
	}
	e = hist_load(path, &buf, &size);
	if (e) {
		perr(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	e = hist_parse(buf, size, NULL, &count, &good, &t, err, errlen);
	if (!e && count) {
		recs = calloc(count, sizeof(*recs));
		if (!recs) {
			perr(err, errlen, "out of memory");
			e = -ENOMEM;
		} else {
			e = hist_parse(buf, size, recs, &count, &good, &t, err,
				       errlen);
		}
	}
	free(buf);
	if (e) {
		free(recs);
		return e;
	}
	*out = recs;
	*n = count;
	if (torn)
		*torn = t;
	return 0;
}

int mcai_prov_history_current(const char *dir, const char *name,
			      struct mcai_prov_current *cur, char *err,
			      size_t errlen)
{
	struct mcai_prov_record *recs;
	char nm[MCAI_NAME_LEN];
	size_t n;
	int e;

	/* @name may be cur->name itself: copy it before clearing *cur. */
	if (!mcai_proto_name_ok(name)) {
		perr(err, errlen, "bad model name");
		return -EINVAL;
	}
	snprintf(nm, sizeof(nm), "%s", name);
	memset(cur, 0, sizeof(*cur));
	memcpy(cur->name, nm, sizeof(nm));
	e = mcai_prov_history_read(dir, nm, &recs, &n, NULL, err, errlen);
	if (e == -ENOENT)
		return 0;
	if (e)
		return e;
	if (n) {
		cur->version = recs[n - 1].m.version;
		memcpy(cur->blob_sha256, recs[n - 1].m.blob_sha256,
		       MCAI_DIGEST_LEN);
	}
	free(recs);
	return 0;
}

/* The good prefix (or a fresh header) plus @rec, atomically replacing. */
static int hist_rewrite(const char *path, const uint8_t *prefix, size_t plen,
			const uint8_t *rec, size_t rlen, char *err,
			size_t errlen)
{
	struct iovec iov[2] = {
		{ .iov_base = plen ? (void *)prefix : (void *)HIST_MAGIC,
		  .iov_len = plen ? plen : HIST_MAGIC_LEN },
		{ .iov_base = (void *)rec, .iov_len = rlen },
	};

	return mcai_atomic_writev(path, iov, 2, 0600, err, errlen);
}

static int hist_append_locked(const char *path, const uint8_t *rec,
			      size_t rlen, char *err, size_t errlen);

int mcai_prov_history_append(const char *dir, const uint8_t *manifest,
			     size_t len, int64_t accepted, uint32_t flags,
			     char *err, size_t errlen)
{
	uint8_t rec[HIST_REC_HDR + MCAI_PROV_MANIFEST_MAX + HIST_CHECK_LEN];
	struct mcai_prov_manifest m;
	const char *why;
	char path[4096];
	size_t rlen;
	int lfd, e;

	if (mcai_prov_decode(manifest, len, &m, &why)) {
		perr(err, errlen, "manifest: %s", why);
		return -EINVAL;
	}
	if (flags & ~MCAI_PROV_REC_ALL) {
		perr(err, errlen, "unknown record flags");
		return -EINVAL;
	}
	e = hist_path(path, sizeof(path), dir, m.name);
	if (e) {
		perr(err, errlen, "history path too long");
		return e;
	}
	if (accepted < 0)
		accepted = (int64_t)time(NULL);
	rlen = rec_build(rec, manifest, len, accepted, flags);

	/*
	 * One writer at a time (the daemon, or mcaictl accept beside it):
	 * the directory's lock spans read, decide and write.
	 */
	lfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0 || flock(lfd, LOCK_EX)) {
		e = -errno;
		if (lfd >= 0)
			close(lfd);
		perr(err, errlen, "%s: %s", dir, strerror(-e));
		return e;
	}
	e = hist_append_locked(path, rec, rlen, err, errlen);
	close(lfd);
	return e;
}

static int hist_append_locked(const char *path, const uint8_t *rec,
			      size_t rlen, char *err, size_t errlen)
{
	size_t size = 0, good = 0, count;
	uint8_t *buf = NULL;
	bool torn = false;
	int fd, e;

	e = hist_load(path, &buf, &size);
	if (e && e != -ENOENT) {
		perr(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	if (!e) {
		e = hist_parse(buf, size, NULL, &count, &good, &torn, err,
			       errlen);
		if (e) {
			free(buf);
			return e;
		}
	}
	if (!buf || torn || good < HIST_MAGIC_LEN) {
		/* New file, or one with a torn tail to cut off first. */
		e = hist_rewrite(path, buf, good, rec, rlen, err, errlen);
		free(buf);
		return e;
	}
	free(buf);
	/*
	 * The common case, a clean file: append in place.  A crash during
	 * the write leaves a torn tail that the next reader skips.
	 */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		perr(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	e = mcai_write_full(fd, rec, rlen);
	if (!e && fsync(fd))
		e = -errno;
	if (close(fd) && !e)
		e = -errno;
	if (e)
		perr(err, errlen, "appending to %s: %s", path, strerror(-e));
	return e;
}
