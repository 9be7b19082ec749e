// SPDX-License-Identifier: GPL-2.0
/*
 * Signed manifests and the install-time chain check (runtime/fed/provenance.c):
 * round trip, every byte of a manifest flipped, every truncation, wrong and
 * unknown keys, rollback, replay, forks, name and digest mismatches, the
 * trust store's loading rules, and the history file's torn-tail recovery.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "models/engine/sha256.h"
#include "runtime/fed/provenance.h"
#include "runtime/fed/store.h"

/* A history record's bytes for a manifest of @l bytes (provenance.h). */
#define HIST_REC_BYTES(l)	(16 + (l) + 8)

static char tdir[64];
static char err[MCAI_PROV_ERR_MAX];

static void setup(void)
{
	strcpy(tdir, "/tmp/mcai-prov-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void teardown(void)
{
	unit_rm_tree(tdir);
}

static void path_of(char *buf, size_t len, const char *a, const char *b)
{
	snprintf(buf, len, "%s/%s", a, b);
}

/* A fresh key pair in tdir/@sub: the private key, public one loaded too. */
static struct mcai_prov_key *new_key(const char *sub,
				     struct mcai_prov_key **pub)
{
	struct mcai_prov_key *k;
	uint8_t id[MCAI_PROV_KEYID_LEN];
	char dir[128], p[192];

	path_of(dir, sizeof(dir), tdir, sub);
	ck_assert_msg(!mcai_prov_keygen(dir, id, err, sizeof(err)), "%s", err);
	path_of(p, sizeof(p), dir, MCAI_PROV_KEY_FILE);
	ck_assert_msg(!mcai_prov_key_load(&k, p, err, sizeof(err)), "%s", err);
	ck_assert(mcai_prov_key_is_private(k));
	ck_assert_mem_eq(mcai_prov_key_id(k), id, MCAI_PROV_KEYID_LEN);
	if (pub) {
		path_of(p, sizeof(p), dir, MCAI_PROV_PUB_FILE);
		ck_assert_msg(!mcai_prov_key_load(pub, p, err, sizeof(err)),
			      "%s", err);
		ck_assert(!mcai_prov_key_is_private(*pub));
		ck_assert_mem_eq(mcai_prov_key_id(*pub), id,
				 MCAI_PROV_KEYID_LEN);
	}
	return k;
}

static struct mcai_prov_trust *trust_of(const struct mcai_prov_key *k)
{
	struct mcai_prov_trust *t;

	ck_assert(!mcai_prov_trust_new(&t));
	if (k)
		ck_assert(!mcai_prov_trust_add(t, k));
	return t;
}

/* A blob stand-in: provenance only hashes it. */
static void fill_blob(uint8_t *b, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)unit_rnd(&seed);
}

static void base_manifest(struct mcai_prov_manifest *m, const char *name,
			  uint32_t version, uint32_t parent,
			  const uint8_t *blob, size_t blen)
{
	mcai_prov_manifest_init(m);
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->version = version;
	m->parent = parent;
	m->round = version * 10ULL;
	snprintf(m->strategy, sizeof(m->strategy), "fedavg");
	m->participants = 7;
	m->blob_len = (uint32_t)blen;
	mcai_sha256(blob, blen, m->blob_sha256);
	m->created = 1700000000 + version;
}

static void sign_ok(const struct mcai_prov_key *k,
		    struct mcai_prov_manifest *m, uint8_t *out, size_t *len)
{
	ck_assert_msg(!mcai_prov_sign(k, m, out, MCAI_PROV_MANIFEST_MAX, len,
				      err, sizeof(err)), "%s", err);
}

static void signed_version(const struct mcai_prov_key *k, const char *name,
			   uint32_t version, uint32_t parent,
			   const uint8_t *blob, size_t blen, uint8_t *out,
			   size_t *len)
{
	struct mcai_prov_manifest m;

	base_manifest(&m, name, version, parent, blob, blen);
	sign_ok(k, &m, out, len);
}

static void current(struct mcai_prov_current *c, const char *name,
		    uint32_t version, const uint8_t *blob, size_t blen)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->version = version;
	if (blob)
		mcai_sha256(blob, blen, c->blob_sha256);
}

/* ---------------------------------------------------------------------- */

START_TEST(round_trip)
{
	struct mcai_prov_key *pub, *k = new_key("keys", &pub);
	struct mcai_prov_trust *t = trust_of(pub);
	struct mcai_prov_manifest m, d;
	struct mcai_prov_current cur;
	uint8_t blob[1000], sm[MCAI_PROV_MANIFEST_MAX];
	char p[192];
	struct stat st;
	size_t len;

	fill_blob(blob, sizeof(blob), 1);
	base_manifest(&m, "fmnist-mlp", 3, 2, blob, sizeof(blob));
	m.flags = MCAI_PROV_F_DP | MCAI_PROV_F_SECAGG;
	m.n_params = 100;
	memset(m.params_sha256, 0xab, sizeof(m.params_sha256));
	m.accuracy = 0.875;
	m.loss = 0.25;
	m.privacy = (struct mcai_prov_privacy){ .epsilon = 0.5,
		.epsilon_total = 2.5, .delta = 1e-5, .noise_multiplier = 1.1,
		.clip_norm = 1.0, .sample_rate = 0.5 };
	sign_ok(k, &m, sm, &len);
	ck_assert_uint_eq(len, MCAI_PROV_FIXED_LEN + strlen("fmnist-mlp") +
			  strlen("fedavg"));
	ck_assert_mem_eq(m.signer, mcai_prov_key_id(k), MCAI_PROV_KEYID_LEN);

	ck_assert(!mcai_prov_decode(sm, len, &d, NULL));
	ck_assert_str_eq(d.name, m.name);
	ck_assert_str_eq(d.strategy, m.strategy);
	ck_assert_uint_eq(d.version, 3);
	ck_assert_uint_eq(d.parent, 2);
	ck_assert_uint_eq(d.round, 30);
	ck_assert_uint_eq(d.participants, 7);
	ck_assert_uint_eq(d.flags, m.flags);
	ck_assert_uint_eq(d.n_params, 100);
	ck_assert_mem_eq(d.params_sha256, m.params_sha256, 32);
	ck_assert_mem_eq(d.blob_sha256, m.blob_sha256, 32);
	ck_assert_int_eq(d.created, m.created);
	ck_assert(d.accuracy == 0.875 && d.loss == 0.25);
	ck_assert(!memcmp(&d.privacy, &m.privacy, sizeof(m.privacy)));
	ck_assert_mem_eq(d.signer, m.signer, MCAI_PROV_KEYID_LEN);

	ck_assert_int_eq(mcai_prov_verify(t, sm, len, &d, err, sizeof(err)),
			 MCAI_PROV_OK);
	current(&cur, "fmnist-mlp", 2, NULL, 0);
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm, len, blob, sizeof(blob),
					 0, &d, err, sizeof(err)),
			 MCAI_PROV_OK);
	/* First install: nothing there yet, any parent. */
	current(&cur, "fmnist-mlp", 0, NULL, 0);
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm, len, blob, sizeof(blob),
					 MCAI_PROV_STRICT, NULL, err,
					 sizeof(err)), MCAI_PROV_OK);

	/* The private key is the owner's alone. */
	path_of(p, sizeof(p), tdir, "keys/" MCAI_PROV_KEY_FILE);
	ck_assert(!stat(p, &st));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	/* keygen never overwrites. */
	path_of(p, sizeof(p), tdir, "keys");
	ck_assert_int_eq(mcai_prov_keygen(p, NULL, err, sizeof(err)), -EEXIST);
	/* A public key cannot sign. */
	ck_assert_int_eq(mcai_prov_sign(pub, &m, sm, sizeof(sm), &len, err,
					 sizeof(err)), -EINVAL);

	mcai_prov_trust_free(t);
	mcai_prov_key_free(pub);
	mcai_prov_key_free(k);
}
END_TEST

START_TEST(manifest_rules)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_manifest m;
	uint8_t blob[16] = { 1 }, sm[MCAI_PROV_MANIFEST_MAX];
	const char *why;
	size_t len;
	int i;

	for (i = 0; i < 16; i++) {
		base_manifest(&m, "m", 2, 1, blob, sizeof(blob));
		switch (i) {
		case 0: m.version = 0; m.parent = 0; break;
		case 1: m.parent = 2; break;
		case 2: snprintf(m.name, sizeof(m.name), "a/b"); break;
		case 3: m.name[0] = '\0'; break;
		case 4: snprintf(m.strategy, sizeof(m.strategy), "FedAvg");
			break;
		case 5: m.flags = 1U << 7; break;
		case 6: m.privacy.epsilon = 1; break;	/* no DP flag */
		case 7: m.flags = MCAI_PROV_F_DP; m.privacy.epsilon = NAN;
			break;
		case 8: m.flags = MCAI_PROV_F_DP; m.privacy.delta = 1; break;
		case 9: m.flags = MCAI_PROV_F_DP; m.privacy.epsilon = 2;
			m.privacy.epsilon_total = 1; break;
		case 10: m.accuracy = -0.5; break;
		case 11: m.accuracy = 1.5; break;
		case 12: m.loss = -0.0; break;
		case 13: m.n_params = 5; break;		/* digest all zero */
		case 14: m.blob_len = 0; break;
		case 15: m.created = -1; break;
		}
		EXPECT(mcai_prov_manifest_check(&m, &why) == -EINVAL,
		       "case %d accepted", i);
		EXPECT(mcai_prov_sign(k, &m, sm, sizeof(sm), &len, err,
				      sizeof(err)) == -EINVAL,
		       "case %d signed", i);
	}
	/*
	 * The longest name and strategy, with the largest statistics, fit
	 * MCAI_PROV_MANIFEST_MAX.
	 */
	base_manifest(&m, "0123456789012345678901234567890", 2, 1, blob,
		      sizeof(blob));
	memset(m.strategy, 'x', MCAI_PROV_STRATEGY_MAX);
	m.strategy[MCAI_PROV_STRATEGY_MAX] = '\0';
	m.flags |= MCAI_PROV_F_STATS;
	m.stats.samples = 1000;
	m.stats.n_features = MCAI_PROV_STATS_MAX_FEATURES;
	m.stats.n_classes = MCAI_PROV_STATS_MAX_CLASSES;
	sign_ok(k, &m, sm, &len);
	ck_assert_uint_eq(len, MCAI_PROV_MANIFEST_MAX);
	ck_assert_int_eq(mcai_prov_sign(k, &m, sm, len - 1, &len, err,
					sizeof(err)), -ENOBUFS);
	mcai_prov_key_free(k);
}
END_TEST

/* A manifest with training statistics over @nf features, @nc classes. */
static void stats_manifest(struct mcai_prov_manifest *m, const uint8_t *blob,
			   size_t blen, uint32_t nf, uint32_t nc)
{
	base_manifest(m, "fmnist", 3, 2, blob, blen);
	m->flags |= MCAI_PROV_F_STATS;
	m->stats.samples = 600;
	m->stats.n_features = nf;
	m->stats.n_classes = nc;
	for (uint32_t i = 0; i < nf; i++) {
		m->stats.mean[i] = -100.0f + (float)i * 0.5f;
		m->stats.var[i] = (float)(i % 7) * 3.25f;
	}
	for (uint32_t i = 0; i < nc; i++)
		m->stats.classes[i] = 60;
}

/* Where the statistics start in a signed manifest (provenance.h). */
static size_t stats_off(const struct mcai_prov_manifest *m)
{
	return MCAI_PROV_FIXED_LEN + strlen(m->name) + strlen(m->strategy) -
	       MCAI_PROV_SIG_LEN - MCAI_PROV_KEYID_LEN;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * The training statistics: round trip, signature over them, a manifest
 * without them unchanged, and hostile sections (truncated, counts that
 * lie, NaN, -0.0, negative variance, a histogram larger than the data)
 * refused by the decoder before anything is read by a count.
 */
START_TEST(stats_section)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_trust *t = trust_of(k);
	struct mcai_prov_manifest m, d;
	uint8_t blob[64], sm[MCAI_PROV_MANIFEST_MAX], bad[MCAI_PROV_MANIFEST_MAX];
	const char *why;
	size_t len, plain_len, off, l;
	float nan = NAN, negz = -0.0f;

	fill_blob(blob, sizeof(blob), 9);
	/* no statistics: exactly the old encoding, and the flag clear */
	base_manifest(&m, "fmnist", 3, 2, blob, sizeof(blob));
	sign_ok(k, &m, sm, &plain_len);
	ck_assert_uint_eq(plain_len, MCAI_PROV_FIXED_LEN + 6 + 6);
	ck_assert_int_eq(mcai_prov_decode(sm, plain_len, &d, &why), 0);
	ck_assert(!(d.flags & MCAI_PROV_F_STATS));
	ck_assert_uint_eq(d.stats.n_features, 0);

	stats_manifest(&m, blob, sizeof(blob), 784, 10);
	sign_ok(k, &m, sm, &len);
	ck_assert_uint_eq(len, plain_len + MCAI_PROV_STATS_LEN(784, 10));
	ck_assert_int_eq(mcai_prov_verify(t, sm, len, &d, err, sizeof(err)),
			 MCAI_PROV_OK);
	ck_assert_uint_eq(d.stats.samples, 600);
	ck_assert_uint_eq(d.stats.n_features, 784);
	ck_assert_uint_eq(d.stats.n_classes, 10);
	ck_assert_mem_eq(d.stats.mean, m.stats.mean, 784 * sizeof(float));
	ck_assert_mem_eq(d.stats.var, m.stats.var, 784 * sizeof(float));
	ck_assert_mem_eq(d.stats.classes, m.stats.classes, 10 * 8);
	/* a histogram is optional */
	stats_manifest(&m, blob, sizeof(blob), 3, 0);
	sign_ok(k, &m, sm, &len);
	ck_assert_int_eq(mcai_prov_decode(sm, len, &d, &why), 0);
	ck_assert_uint_eq(d.stats.n_classes, 0);

	/* every truncation of a manifest with statistics */
	stats_manifest(&m, blob, sizeof(blob), 5, 3);
	sign_ok(k, &m, sm, &len);
	for (l = 0; l < len; l++)
		ck_assert_int_lt(mcai_prov_decode(sm, l, &d, &why), 0);
	/* ... and with the length field agreeing with the truncation */
	off = stats_off(&m);
	for (l = off; l < len - MCAI_PROV_SIG_LEN; l++) {
		memcpy(bad, sm, l);
		memcpy(bad + l, sm + len - MCAI_PROV_SIG_LEN, MCAI_PROV_SIG_LEN);
		put32(bad + 8, (uint32_t)(l + MCAI_PROV_SIG_LEN));
		EXPECT(mcai_prov_decode(bad, l + MCAI_PROV_SIG_LEN, &d, &why) < 0,
		       "cut at %zu decoded", l);
	}

	/* counts that lie: feature count 0, above the limit, off by one */
	{
		const uint32_t nfs[] = { 0, 4, 6, MCAI_PROV_STATS_MAX_FEATURES + 1,
					 0xffffffffU };
		const uint32_t ncs[] = { 2, 4, MCAI_PROV_STATS_MAX_CLASSES + 1,
					 0xffffffffU };

		for (size_t i = 0; i < sizeof(nfs) / sizeof(nfs[0]); i++) {
			memcpy(bad, sm, len);
			put32(bad + off + 8, nfs[i]);
			EXPECT(mcai_prov_decode(bad, len, &d, &why) == -EBADMSG,
			       "feature count %u decoded", nfs[i]);
		}
		for (size_t i = 0; i < sizeof(ncs) / sizeof(ncs[0]); i++) {
			memcpy(bad, sm, len);
			put32(bad + off + 12 + 5 * 8, ncs[i]);
			EXPECT(mcai_prov_decode(bad, len, &d, &why) == -EBADMSG,
			       "class count %u decoded", ncs[i]);
		}
	}
	/* NaN, -0.0 as a mean; NaN, negative as a variance */
	{
		const struct { size_t at; float v; } cases[] = {
			{ 12, nan }, { 12, negz }, { 12, INFINITY },
			{ 12, 2e6f }, { 16, nan }, { 16, -1.0f }, { 16, negz },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint32_t u;

			memcpy(&u, &cases[i].v, 4);
			memcpy(bad, sm, len);
			put32(bad + off + cases[i].at, u);
			EXPECT(mcai_prov_decode(bad, len, &d, &why) == -EBADMSG,
			       "value case %zu decoded", i);
		}
	}
	/* zero samples; a histogram counting more than the samples */
	memcpy(bad, sm, len);
	memset(bad + off, 0, 8);
	ck_assert_int_eq(mcai_prov_decode(bad, len, &d, &why), -EBADMSG);
	memcpy(bad, sm, len);
	put32(bad + off + 12 + 5 * 8 + 4, 599);	/* 599 + 60 + 60 > 600 */
	ck_assert_int_eq(mcai_prov_decode(bad, len, &d, &why), -EBADMSG);
	/* a flipped statistic breaks the signature */
	memcpy(bad, sm, len);
	bad[off + 12] ^= 1;
	ck_assert_int_eq(mcai_prov_decode(bad, len, &d, &why), 0);
	ck_assert_int_eq(mcai_prov_verify(t, bad, len, &d, err, sizeof(err)),
			 MCAI_PROV_BAD_SIGNATURE);

	/* the signer refuses what the decoder would */
	stats_manifest(&m, blob, sizeof(blob), 5, 3);
	m.stats.mean[4] = nan;
	ck_assert_int_eq(mcai_prov_manifest_check(&m, &why), -EINVAL);
	stats_manifest(&m, blob, sizeof(blob), 5, 3);
	m.flags &= ~MCAI_PROV_F_STATS;
	ck_assert_int_eq(mcai_prov_manifest_check(&m, &why), -EINVAL);
	stats_manifest(&m, blob, sizeof(blob), 5, 3);
	m.stats.classes[2] = UINT64_MAX;
	ck_assert_int_eq(mcai_prov_manifest_check(&m, &why), -EINVAL);

	mcai_prov_trust_free(t);
	mcai_prov_key_free(k);
}
END_TEST

/* Every byte flipped, two ways: never accepted, the reason as expected. */
START_TEST(forged_every_byte)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_trust *t = trust_of(k);
	struct mcai_prov_manifest m;
	uint8_t blob[64], sm[MCAI_PROV_MANIFEST_MAX], bad[sizeof(sm)];
	const uint8_t masks[] = { 0x01, 0xff };
	size_t len, i, sig_off;

	fill_blob(blob, sizeof(blob), 2);
	signed_version(k, "m", 1, 0, blob, sizeof(blob), sm, &len);
	sig_off = len - MCAI_PROV_SIG_LEN;
	for (size_t mi = 0; mi < sizeof(masks); mi++) {
		for (i = 0; i < len; i++) {
			int v;

			memcpy(bad, sm, len);
			bad[i] ^= masks[mi];
			v = mcai_prov_verify(t, bad, len, &m, err, sizeof(err));
			EXPECT(v != MCAI_PROV_OK, "byte %zu ^ %#x accepted", i,
			       masks[mi]);
			if (i >= sig_off)
				EXPECT(v == MCAI_PROV_BAD_SIGNATURE,
				       "signature byte %zu: %s", i,
				       mcai_prov_verdict_name(v));
			else if (i >= sig_off - MCAI_PROV_KEYID_LEN)
				EXPECT(v == MCAI_PROV_UNKNOWN_SIGNER,
				       "signer byte %zu: %s", i,
				       mcai_prov_verdict_name(v));
			else
				EXPECT(v == MCAI_PROV_MALFORMED ||
				       v == MCAI_PROV_BAD_SIGNATURE,
				       "byte %zu: %s", i,
				       mcai_prov_verdict_name(v));
		}
	}
	mcai_prov_trust_free(t);
	mcai_prov_key_free(k);
}
END_TEST

START_TEST(truncated_every_length)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_trust *t = trust_of(k);
	struct mcai_prov_current cur;
	struct mcai_prov_manifest m;
	uint8_t blob[64], sm[MCAI_PROV_MANIFEST_MAX + 8];
	size_t len, n;

	fill_blob(blob, sizeof(blob), 3);
	signed_version(k, "m", 1, 0, blob, sizeof(blob), sm, &len);
	current(&cur, "m", 0, NULL, 0);
	for (n = 0; n < len; n++) {
		/* A copy of exactly n bytes, so ASan sees any over-read. */
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, sm, n);
		EXPECT(mcai_prov_verify(t, cut, n, &m, err, sizeof(err)) ==
		       MCAI_PROV_MALFORMED, "length %zu not malformed", n);
		EXPECT(mcai_prov_check(t, &cur, cut, n, blob, sizeof(blob), 0,
				       NULL, err, sizeof(err)) ==
		       MCAI_PROV_MALFORMED, "check at length %zu", n);
		free(cut);
	}
	/* Trailing bytes are as bad as missing ones. */
	sm[len] = 0;
	ck_assert_int_eq(mcai_prov_verify(t, sm, len + 1, &m, err, sizeof(err)),
			 MCAI_PROV_MALFORMED);
	ck_assert_int_eq(mcai_prov_verify(t, sm, len, &m, err, sizeof(err)),
			 MCAI_PROV_OK);
	mcai_prov_trust_free(t);
	mcai_prov_key_free(k);
}
END_TEST

START_TEST(wrong_and_unknown_key)
{
	struct mcai_prov_key *pa, *a = new_key("a", &pa);
	struct mcai_prov_key *pb, *b = new_key("b", &pb);
	struct mcai_prov_trust *only_b = trust_of(pb), *none = trust_of(NULL);
	struct mcai_prov_trust *both = trust_of(pa);
	struct mcai_prov_current cur;
	struct mcai_prov_manifest m;
	uint8_t blob[64], sm[MCAI_PROV_MANIFEST_MAX];
	size_t len, id_off;

	ck_assert(!mcai_prov_trust_add(both, pb));
	ck_assert(!mcai_prov_trust_add(both, pb));	/* duplicate: once */
	ck_assert_uint_eq(mcai_prov_trust_count(both), 2);
	fill_blob(blob, sizeof(blob), 4);
	signed_version(a, "m", 1, 0, blob, sizeof(blob), sm, &len);
	current(&cur, "m", 0, NULL, 0);

	ck_assert_int_eq(mcai_prov_verify(only_b, sm, len, &m, err,
					  sizeof(err)), MCAI_PROV_UNKNOWN_SIGNER);
	ck_assert_int_eq(mcai_prov_verify(none, sm, len, &m, err, sizeof(err)),
			 MCAI_PROV_UNKNOWN_SIGNER);
	ck_assert_int_eq(mcai_prov_verify(NULL, sm, len, &m, err, sizeof(err)),
			 MCAI_PROV_UNKNOWN_SIGNER);
	ck_assert_int_eq(mcai_prov_check(only_b, &cur, sm, len, blob,
					 sizeof(blob), MCAI_PROV_FORCE, NULL,
					 err, sizeof(err)),
			 MCAI_PROV_UNKNOWN_SIGNER);
	ck_assert_int_eq(mcai_prov_verify(both, sm, len, &m, err, sizeof(err)),
			 MCAI_PROV_OK);

	/* Signed by a, claiming to be b: b's key does not verify it. */
	id_off = len - MCAI_PROV_SIG_LEN - MCAI_PROV_KEYID_LEN;
	memcpy(sm + id_off, mcai_prov_key_id(b), MCAI_PROV_KEYID_LEN);
	ck_assert_int_eq(mcai_prov_verify(only_b, sm, len, &m, err,
					  sizeof(err)), MCAI_PROV_BAD_SIGNATURE);
	ck_assert_int_eq(mcai_prov_verify(both, sm, len, &m, err, sizeof(err)),
			 MCAI_PROV_BAD_SIGNATURE);

	/* No manifest at all. */
	ck_assert_int_eq(mcai_prov_check(both, &cur, NULL, 0, blob,
					 sizeof(blob), MCAI_PROV_FORCE, &m, err,
					 sizeof(err)), MCAI_PROV_UNSIGNED);

	mcai_prov_trust_free(only_b);
	mcai_prov_trust_free(none);
	mcai_prov_trust_free(both);
	mcai_prov_key_free(pa);
	mcai_prov_key_free(pb);
	mcai_prov_key_free(a);
	mcai_prov_key_free(b);
}
END_TEST

START_TEST(rollback_fork_skip)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_trust *t = trust_of(k);
	struct mcai_prov_current cur;
	uint8_t b5[64], bx[64], sm[MCAI_PROV_MANIFEST_MAX];
	size_t len;

	fill_blob(b5, sizeof(b5), 5);
	fill_blob(bx, sizeof(bx), 6);
	current(&cur, "m", 5, b5, sizeof(b5));

#define CHECK(blob, flags, want) \
	ck_assert_msg(mcai_prov_check(t, &cur, sm, len, blob, sizeof(blob), \
				      flags, NULL, err, sizeof(err)) == want, \
		      "want %s, got: %s", mcai_prov_verdict_name(want), err)

	/* Lower version. */
	signed_version(k, "m", 4, 3, bx, sizeof(bx), sm, &len);
	CHECK(bx, 0, MCAI_PROV_ROLLBACK);
	CHECK(bx, MCAI_PROV_FORCE, MCAI_PROV_OK);
	/* Equal version, other blob. */
	signed_version(k, "m", 5, 4, bx, sizeof(bx), sm, &len);
	CHECK(bx, 0, MCAI_PROV_ROLLBACK);
	/* Equal version, the installed blob. */
	signed_version(k, "m", 5, 4, b5, sizeof(b5), sm, &len);
	CHECK(b5, 0, MCAI_PROV_CURRENT);
	/* The next one. */
	signed_version(k, "m", 6, 5, bx, sizeof(bx), sm, &len);
	CHECK(bx, 0, MCAI_PROV_OK);
	CHECK(bx, MCAI_PROV_STRICT, MCAI_PROV_OK);
	/* Newer, but branching off before what is installed. */
	signed_version(k, "m", 7, 4, bx, sizeof(bx), sm, &len);
	CHECK(bx, 0, MCAI_PROV_FORK);
	CHECK(bx, MCAI_PROV_FORCE, MCAI_PROV_OK);
	/* Missed 6 and 7 while offline. */
	signed_version(k, "m", 8, 7, bx, sizeof(bx), sm, &len);
	CHECK(bx, 0, MCAI_PROV_OK);
	CHECK(bx, MCAI_PROV_STRICT, MCAI_PROV_SKIPPED);
	/* Force lifts the chain rules, not the others. */
	signed_version(k, "other", 1, 0, bx, sizeof(bx), sm, &len);
	CHECK(bx, MCAI_PROV_FORCE, MCAI_PROV_NAME_MISMATCH);
	signed_version(k, "m", 6, 5, bx, sizeof(bx), sm, &len);
	CHECK(b5, MCAI_PROV_FORCE, MCAI_PROV_DIGEST_MISMATCH);
#undef CHECK
	mcai_prov_trust_free(t);
	mcai_prov_key_free(k);
}
END_TEST

START_TEST(name_and_digest_mismatch)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_trust *t = trust_of(k);
	struct mcai_prov_current cur;
	uint8_t blob[300], sm[MCAI_PROV_MANIFEST_MAX];
	size_t len, i;

	fill_blob(blob, sizeof(blob), 7);
	signed_version(k, "vib-detector", 2, 1, blob, sizeof(blob), sm, &len);
	current(&cur, "vib-classifier", 1, NULL, 0);
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm, len, blob, sizeof(blob),
					 0, NULL, err, sizeof(err)),
			 MCAI_PROV_NAME_MISMATCH);
	/* A prefix is not the name. */
	current(&cur, "vib-detecto", 1, NULL, 0);
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm, len, blob, sizeof(blob),
					 0, NULL, err, sizeof(err)),
			 MCAI_PROV_NAME_MISMATCH);

	current(&cur, "vib-detector", 1, NULL, 0);
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm, len, blob, sizeof(blob),
					 0, NULL, err, sizeof(err)),
			 MCAI_PROV_OK);
	/* Every byte of the blob matters, and its length. */
	for (i = 0; i < sizeof(blob); i++) {
		blob[i] ^= 0x40;
		EXPECT(mcai_prov_check(t, &cur, sm, len, blob, sizeof(blob), 0,
				       NULL, err, sizeof(err)) ==
		       MCAI_PROV_DIGEST_MISMATCH, "blob byte %zu", i);
		blob[i] ^= 0x40;
	}
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm, len, blob,
					 sizeof(blob) - 1, 0, NULL, err,
					 sizeof(err)),
			 MCAI_PROV_DIGEST_MISMATCH);
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm, len, NULL, 0, 0, NULL,
					 err, sizeof(err)),
			 MCAI_PROV_DIGEST_MISMATCH);
	mcai_prov_trust_free(t);
	mcai_prov_key_free(k);
}
END_TEST

/* Accept v1..v3 through the history, then replay each old one. */
START_TEST(replay)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_trust *t = trust_of(k);
	struct mcai_prov_current cur;
	uint8_t blobs[3][80], sm[3][MCAI_PROV_MANIFEST_MAX];
	size_t len[3];
	uint32_t v;

	for (v = 1; v <= 3; v++) {
		fill_blob(blobs[v - 1], sizeof(blobs[0]), 10 + v);
		signed_version(k, "m", v, v - 1, blobs[v - 1],
			       sizeof(blobs[0]), sm[v - 1], &len[v - 1]);
		ck_assert(!mcai_prov_history_current(tdir, "m", &cur, err,
						     sizeof(err)));
		ck_assert_uint_eq(cur.version, v - 1);
		ck_assert_int_eq(mcai_prov_check(t, &cur, sm[v - 1], len[v - 1],
						 blobs[v - 1], sizeof(blobs[0]),
						 MCAI_PROV_STRICT, NULL, err,
						 sizeof(err)), MCAI_PROV_OK);
		ck_assert_msg(!mcai_prov_history_append(tdir, sm[v - 1],
							len[v - 1], -1, 0, err,
							sizeof(err)), "%s", err);
	}
	ck_assert(!mcai_prov_history_current(tdir, "m", &cur, err,
					     sizeof(err)));
	ck_assert_uint_eq(cur.version, 3);
	/* The name may come from the very struct being filled in. */
	ck_assert(!mcai_prov_history_current(tdir, cur.name, &cur, err,
					     sizeof(err)));
	ck_assert_str_eq(cur.name, "m");
	ck_assert_uint_eq(cur.version, 3);
	for (v = 1; v <= 2; v++)
		ck_assert_int_eq(mcai_prov_check(t, &cur, sm[v - 1], len[v - 1],
						 blobs[v - 1], sizeof(blobs[0]),
						 0, NULL, err, sizeof(err)),
				 MCAI_PROV_ROLLBACK);
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm[2], len[2], blobs[2],
					 sizeof(blobs[0]), 0, NULL, err,
					 sizeof(err)), MCAI_PROV_CURRENT);
	mcai_prov_trust_free(t);
	mcai_prov_key_free(k);
}
END_TEST

static void write_file(const char *path, const void *p, size_t n, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	ck_assert(!fchmod(fd, (mode_t)mode));
	close(fd);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, cap);
	close(fd);
	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

START_TEST(history_torn_tail)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_record *recs;
	uint8_t blob[32], sm[MCAI_PROV_MANIFEST_MAX];
	static uint8_t full[8192];
	size_t len, n, size, two = 0, cut;
	char hist[192];
	bool torn;
	uint32_t v;

	path_of(hist, sizeof(hist), tdir, "m.history");
	ck_assert_int_eq(mcai_prov_history_read(tdir, "m", &recs, &n, &torn,
						err, sizeof(err)), -ENOENT);
	for (v = 1; v <= 3; v++) {
		fill_blob(blob, sizeof(blob), v);
		signed_version(k, "m", v, v - 1, blob, sizeof(blob), sm, &len);
		ck_assert(!mcai_prov_history_append(tdir, sm, len, 1000 + v,
						    v == 2 ?
						    MCAI_PROV_REC_FORCED : 0,
						    err, sizeof(err)));
		if (v == 2)
			two = read_file(hist, full, sizeof(full));
	}
	size = read_file(hist, full, sizeof(full));
	ck_assert(!mcai_prov_history_read(tdir, "m", &recs, &n, &torn, err,
					  sizeof(err)));
	ck_assert_uint_eq(n, 3);
	ck_assert(!torn);
	for (v = 1; v <= 3; v++) {
		ck_assert_uint_eq(recs[v - 1].m.version, v);
		ck_assert_int_eq(recs[v - 1].accepted, 1000 + v);
		ck_assert_uint_eq(recs[v - 1].flags,
				  v == 2 ? MCAI_PROV_REC_FORCED : 0);
	}
	ck_assert_uint_eq(recs[2].raw_len, len);
	ck_assert_mem_eq(recs[2].raw, sm, len);
	free(recs);

	/* The third append cut short at every length. */
	for (cut = two; cut < size; cut++) {
		write_file(hist, full, cut, 0600);
		ck_assert(!mcai_prov_history_read(tdir, "m", &recs, &n, &torn,
						  err, sizeof(err)));
		EXPECT(n == 2 && torn == (cut > two), "cut %zu: %zu records",
		       cut, n);
		free(recs);
	}
	/* A full-length record with its last bytes never written. */
	{
		static uint8_t z[8192];

		memcpy(z, full, size);
		memset(z + size - 20, 0, 20);
		write_file(hist, z, size, 0600);
		ck_assert(!mcai_prov_history_read(tdir, "m", &recs, &n, &torn,
						  err, sizeof(err)));
		ck_assert(n == 2 && torn);
		free(recs);
		/* Zeros after a clean end (size extended, data lost). */
		memcpy(z, full, size);
		memset(z + size, 0, 100);
		write_file(hist, z, size + 100, 0600);
		ck_assert(!mcai_prov_history_read(tdir, "m", &recs, &n, &torn,
						  err, sizeof(err)));
		ck_assert(n == 3 && torn);
		free(recs);
	}

	/* The next append cuts the torn tail off: no garbage in between. */
	write_file(hist, full, size - 7, 0600);
	fill_blob(blob, sizeof(blob), 3);
	signed_version(k, "m", 3, 2, blob, sizeof(blob), sm, &len);
	ck_assert(!mcai_prov_history_append(tdir, sm, len, 1003, 0, err,
					    sizeof(err)));
	fill_blob(blob, sizeof(blob), 4);
	signed_version(k, "m", 4, 3, blob, sizeof(blob), sm, &len);
	ck_assert(!mcai_prov_history_append(tdir, sm, len, 1004, 0, err,
					    sizeof(err)));
	ck_assert(!mcai_prov_history_read(tdir, "m", &recs, &n, &torn, err,
					  sizeof(err)));
	ck_assert_uint_eq(n, 4);
	ck_assert(!torn);
	ck_assert_uint_eq(recs[3].m.version, 4);
	free(recs);
	ck_assert_uint_eq(read_file(hist, full, sizeof(full)),
			  size + HIST_REC_BYTES(len));

	/* Damage before good records is corruption, not a torn tail. */
	full[20] ^= 1;
	write_file(hist, full, size, 0600);
	ck_assert_int_eq(mcai_prov_history_read(tdir, "m", &recs, &n, &torn,
						err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(mcai_prov_history_append(tdir, sm, len, 1, 0, err,
						  sizeof(err)), -EBADMSG);
	/* Not a history file at all. */
	write_file(hist, "hello world\n", 12, 0600);
	ck_assert_int_eq(mcai_prov_history_read(tdir, "m", &recs, &n, &torn,
						err, sizeof(err)), -EBADMSG);
	/* Created, then cut before its header was complete. */
	write_file(hist, "MCAI", 4, 0600);
	ck_assert(!mcai_prov_history_read(tdir, "m", &recs, &n, &torn, err,
					  sizeof(err)));
	ck_assert(n == 0 && torn);
	ck_assert(!mcai_prov_history_append(tdir, sm, len, 1, 0, err,
					    sizeof(err)));
	ck_assert(!mcai_prov_history_read(tdir, "m", &recs, &n, &torn, err,
					  sizeof(err)));
	ck_assert(n == 1 && !torn);
	free(recs);
	mcai_prov_key_free(k);
}
END_TEST

START_TEST(trust_store_loading)
{
	struct mcai_prov_key *pa, *a = new_key("a", &pa);
	struct mcai_prov_key *pb, *b = new_key("b", &pb);
	struct mcai_prov_trust *t;
	uint8_t pem_a[1024], pem_b[1024], both[2048];
	size_t la, lb;
	char trust[128], p[192], keyp[192];

	path_of(p, sizeof(p), tdir, "a/" MCAI_PROV_PUB_FILE);
	la = read_file(p, pem_a, sizeof(pem_a));
	path_of(p, sizeof(p), tdir, "b/" MCAI_PROV_PUB_FILE);
	lb = read_file(p, pem_b, sizeof(pem_b));

	path_of(trust, sizeof(trust), tdir, "trust");
	ck_assert(!mkdir(trust, 0700));
	ck_assert_int_eq(mcai_prov_trust_load(&t, trust, err, sizeof(err)),
			 -ENOKEY);
	path_of(p, sizeof(p), trust, "README");
	write_file(p, "not a key", 9, 0644);
	path_of(p, sizeof(p), trust, "a.pub");
	write_file(p, pem_a, la, 0644);
	path_of(p, sizeof(p), trust, "b.pem");
	write_file(p, pem_b, lb, 0644);
	ck_assert_msg(!mcai_prov_trust_load(&t, trust, err, sizeof(err)), "%s",
		      err);
	ck_assert_uint_eq(mcai_prov_trust_count(t), 2);
	mcai_prov_trust_free(t);

	/* One file with both keys. */
	memcpy(both, pem_a, la);
	memcpy(both + la, pem_b, lb);
	path_of(p, sizeof(p), tdir, "bundle.pem");
	write_file(p, both, la + lb, 0644);
	ck_assert_msg(!mcai_prov_trust_load(&t, p, err, sizeof(err)), "%s",
		      err);
	ck_assert_uint_eq(mcai_prov_trust_count(t), 2);
	mcai_prov_trust_free(t);

	/* A broken key file fails the load rather than being skipped. */
	path_of(p, sizeof(p), trust, "c.pub");
	write_file(p, pem_b, lb / 2, 0644);
	ck_assert_int_eq(mcai_prov_trust_load(&t, trust, err, sizeof(err)),
			 -EBADMSG);
	unlink(p);
	/* No private keys in a trust store. */
	path_of(keyp, sizeof(keyp), tdir, "a/" MCAI_PROV_KEY_FILE);
	la = read_file(keyp, pem_a, sizeof(pem_a));
	path_of(p, sizeof(p), trust, "secret.pem");
	write_file(p, pem_a, la, 0600);
	ck_assert_int_eq(mcai_prov_trust_load(&t, trust, err, sizeof(err)),
			 -EPERM);
	unlink(p);
	ck_assert_int_eq(mcai_prov_trust_load(&t, "/nonexistent/trust", err,
					      sizeof(err)), -ENOENT);

	/* A private key others can read is refused. */
	ck_assert(!chmod(keyp, 0640));
	mcai_prov_key_free(a);
	ck_assert_int_eq(mcai_prov_key_load(&a, keyp, err, sizeof(err)),
			 -EPERM);

	mcai_prov_key_free(pa);
	mcai_prov_key_free(pb);
	mcai_prov_key_free(b);
}
END_TEST

/* What the registry publishes signs as is. */
START_TEST(from_registry)
{
	struct mcai_prov_key *k = new_key("keys", NULL);
	struct mcai_prov_trust *t = trust_of(k);
	struct mcai_version_info vi;
	struct mcai_prov_current cur;
	struct mcai_prov_manifest m, d;
	uint8_t blob[200], sm[MCAI_PROV_MANIFEST_MAX];
	size_t len;

	fill_blob(blob, sizeof(blob), 9);
	memset(&vi, 0, sizeof(vi));
	snprintf(vi.name, sizeof(vi.name), "fmnist");
	vi.version = 4;
	vi.parent = 3;
	vi.round = 12;
	snprintf(vi.strategy, sizeof(vi.strategy), "trimmed_mean");
	vi.participants = 10;
	vi.n_params = 101770;
	vi.blob_len = sizeof(blob);
	mcai_sha256(blob, sizeof(blob), vi.blob_sha256);
	memset(vi.params_sha256, 0x5a, sizeof(vi.params_sha256));
	vi.created = 1700000000;
	vi.accuracy = 0.84;
	vi.loss = -1e9;		/* the registry's "not measured" */

	mcai_prov_manifest_from_version(&m, &vi);
	m.flags = MCAI_PROV_F_DP;
	m.privacy.epsilon = 0.25;
	m.privacy.epsilon_total = 3;
	m.privacy.delta = 1e-5;
	sign_ok(k, &m, sm, &len);
	current(&cur, "fmnist", 3, NULL, 0);
	ck_assert_int_eq(mcai_prov_check(t, &cur, sm, len, blob, sizeof(blob),
					 MCAI_PROV_STRICT, &d, err,
					 sizeof(err)), MCAI_PROV_OK);
	ck_assert_str_eq(d.strategy, "trimmed_mean");
	ck_assert_uint_eq(d.n_params, 101770);
	ck_assert_mem_eq(d.params_sha256, vi.params_sha256, 32);
	ck_assert(d.accuracy == 0.84 && d.loss == -1);
	ck_assert(d.privacy.epsilon_total == 3);
	mcai_prov_trust_free(t);
	mcai_prov_key_free(k);
}
END_TEST

Suite *provenance_suite(void)
{
	Suite *s = suite_create("provenance");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, manifest_rules);
	tcase_add_test(tc, forged_every_byte);
	tcase_add_test(tc, stats_section);
	tcase_add_test(tc, truncated_every_length);
	tcase_add_test(tc, wrong_and_unknown_key);
	tcase_add_test(tc, rollback_fork_skip);
	tcase_add_test(tc, name_and_digest_mismatch);
	tcase_add_test(tc, replay);
	tcase_add_test(tc, history_torn_tail);
	tcase_add_test(tc, trust_store_loading);
	tcase_add_test(tc, from_registry);
	suite_add_tcase(s, tc);
	return s;
}
