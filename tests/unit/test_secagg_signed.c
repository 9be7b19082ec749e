// SPDX-License-Identifier: GPL-2.0
/*
 * Signed secure aggregation (runtime/fed/secagg.c, MCAI_SECAGG_F_SIGNED):
 * whole rounds with fleet certificates made here (an EC P-256 CA and one
 * certificate per node), complete graph and SecAgg+, with a dropout; an
 * aggregator that substitutes or strips key advertisements, relays a
 * certificate of another CA, equivocates about the survivor set, drops
 * or forges the confirmations: every honest node refuses with its reason
 * and reveals nothing.  Malformed signed messages are refused, never
 * crash (the runner is built with ASan and UBSan).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/unit/unit.h"
#include "runtime/fed/proto.h"
#include "runtime/fed/secagg.h"

#define WHY 256
#define MAXN 16

struct pki {
	EVP_PKEY *ca_key;
	X509 *ca;
	X509_STORE *store;
	EVP_PKEY *key[MAXN];
	u8 *der[MAXN];
	int der_len[MAXN];
};

static long serial = 1;

static X509 *mk_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		     EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *nm;

	ck_assert(x);
	ck_assert(X509_set_version(x, 2) == 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	ck_assert(X509_set_pubkey(x, key) == 1);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
	if (!issuer) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL,
							NID_basic_constraints,
							"critical,CA:TRUE");

		ck_assert(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	ck_assert(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
	return x;
}

static void pki_init(struct pki *k, u32 n, const char *ca_cn)
{
	u32 i;

	memset(k, 0, sizeof(*k));
	k->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert(k->ca_key);
	k->ca = mk_cert(k->ca_key, ca_cn, NULL, NULL);
	k->store = X509_STORE_new();
	ck_assert(k->store && X509_STORE_add_cert(k->store, k->ca) == 1);
	for (i = 0; i < n; i++) {
		char cn[32];
		X509 *x;

		snprintf(cn, sizeof(cn), "node%u", i);
		k->key[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		ck_assert(k->key[i]);
		x = mk_cert(k->key[i], cn, k->ca, k->ca_key);
		k->der_len[i] = i2d_X509(x, &k->der[i]);
		ck_assert(k->der_len[i] > 0);
		X509_free(x);
	}
}

static void pki_free(struct pki *k)
{
	u32 i;

	for (i = 0; i < MAXN; i++) {
		EVP_PKEY_free(k->key[i]);
		OPENSSL_free(k->der[i]);
	}
	X509_STORE_free(k->store);
	X509_free(k->ca);
	EVP_PKEY_free(k->ca_key);
}

struct sround {
	struct mcai_secagg_params p;
	struct mcai_secagg_node *nd[MAXN];
	struct mcai_secagg_server *s;
	u32 w[MAXN][4];
	struct mcai_buf b, in;
	bool gone[MAXN];	/* silent from MASKED on */
	char why[WHY];
};

static struct mcai_secagg_params sparams(u32 n, u32 degree)
{
	struct mcai_secagg_params p;

	mcai_secagg_params_default(&p, 11, n, 4);
	p.degree = degree;
	p.threshold = mcai_secagg_holders(&p) / 2 + 1;
	p.flags = MCAI_SECAGG_F_SIGNED;
	memset(p.graph_seed, 0x5a, sizeof(p.graph_seed));
	return p;
}

/* @server_checks: the aggregator is given the CA (an honest one is). */
static void sround_init(struct sround *r, struct pki *k, u32 n, u32 degree,
			bool server_checks)
{
	struct mcai_secagg_auth a = { .ca = k->store };
	u32 i, j;

	memset(r, 0, sizeof(*r));
	r->p = sparams(n, degree);
	for (i = 0; i < n; i++) {
		r->nd[i] = mcai_secagg_node_new(&r->p, i, r->why, WHY);
		ck_assert_msg(r->nd[i], "%s", r->why);
		a.key = k->key[i];
		a.cert = k->der[i];
		a.cert_len = (size_t)k->der_len[i];
		ck_assert_msg(!mcai_secagg_node_set_auth(r->nd[i], &a, r->why,
							 WHY), "%s", r->why);
		for (j = 0; j < 4; j++)
			r->w[i][j] = i * 1000 + j * 7 + 1;
	}
	r->s = mcai_secagg_server_new(&r->p, r->why, WHY);
	ck_assert_msg(r->s, "%s", r->why);
	a.key = NULL;
	if (server_checks)
		ck_assert(!mcai_secagg_server_set_auth(r->s, &a, r->why, WHY));
	mcai_buf_init(&r->b);
	mcai_buf_init(&r->in);
}

static void sround_free(struct sround *r)
{
	u32 i;

	for (i = 0; i < r->p.nodes; i++)
		mcai_secagg_node_free(r->nd[i]);
	mcai_secagg_server_free(r->s);
	mcai_buf_free(&r->b);
	mcai_buf_free(&r->in);
}

static void deliver(struct sround *r)
{
	int err = mcai_secagg_server_receive(r->s, r->b.data, r->b.len,
					     r->why, WHY);

	ck_assert_msg(!err, "receive: %d %s", err, r->why);
	mcai_buf_reset(&r->b);
}

/* The aggregator's next message for @i, moved to r->in. */
static void fetch(struct sround *r, u32 i)
{
	int err;

	mcai_buf_reset(&r->b);
	mcai_buf_reset(&r->in);
	err = mcai_secagg_server_message_for(r->s, i, &r->in, r->why, WHY);
	ck_assert_msg(!err, "message_for %u: %d %s", i, err, r->why);
}

static void advertise_all(struct sround *r)
{
	u32 i;

	for (i = 0; i < r->p.nodes; i++) {
		ck_assert_msg(!mcai_secagg_node_advertise(r->nd[i], &r->b,
							  r->why, WHY),
			      "%s", r->why);
		deliver(r);
	}
	ck_assert_msg(!mcai_secagg_server_close(r->s, r->why, WHY), "%s",
		      r->why);
}

/* From KEYS through the close of MASKED. */
static void share_and_mask(struct sround *r)
{
	u32 i;

	for (i = 0; i < r->p.nodes; i++) {
		fetch(r, i);
		ck_assert_msg(!mcai_secagg_node_share_keys(r->nd[i], r->in.data,
							   r->in.len, &r->b,
							   r->why, WHY),
			      "share_keys %u: %s", i, r->why);
		deliver(r);
	}
	ck_assert(!mcai_secagg_server_close(r->s, r->why, WHY));
	for (i = 0; i < r->p.nodes; i++) {
		if (r->gone[i])
			continue;
		fetch(r, i);
		ck_assert_msg(!mcai_secagg_node_masked_words(r->nd[i], r->in.data,
							     r->in.len, r->w[i],
							     &r->b, r->why, WHY),
			      "masked %u: %s", i, r->why);
		deliver(r);
	}
	ck_assert_msg(!mcai_secagg_server_close(r->s, r->why, WHY), "%s",
		      r->why);
}

static void confirm_all(struct sround *r)
{
	u32 i;

	ck_assert_int_eq(mcai_secagg_server_phase(r->s), MCAI_SECAGG_PH_CONSIST);
	for (i = 0; i < r->p.nodes; i++) {
		if (r->gone[i])
			continue;
		fetch(r, i);
		ck_assert_msg(!mcai_secagg_node_confirm(r->nd[i], r->in.data,
							r->in.len, &r->b,
							r->why, WHY),
			      "confirm %u: %s", i, r->why);
		deliver(r);
	}
	ck_assert_msg(!mcai_secagg_server_close(r->s, r->why, WHY), "%s",
		      r->why);
}

static void signed_round(u32 n, u32 degree, int drop)
{
	struct pki k;
	struct sround r;
	struct mcai_secagg_report rep;
	u32 got[4], want[4] = { 0 }, i, j;

	pki_init(&k, n, "fleet CA");
	sround_init(&r, &k, n, degree, true);
	if (drop >= 0)
		r.gone[drop] = true;
	advertise_all(&r);
	share_and_mask(&r);
	confirm_all(&r);
	for (i = 0; i < n; i++) {
		if (r.gone[i])
			continue;
		fetch(&r, i);
		ck_assert_msg(!mcai_secagg_node_unmask(r.nd[i], r.in.data,
						       r.in.len, &r.b, r.why,
						       WHY),
			      "unmask %u: %s", i, r.why);
		deliver(&r);
		for (j = 0; j < 4; j++)
			want[j] += r.w[i][j];
	}
	ck_assert_msg(!mcai_secagg_server_close(r.s, r.why, WHY), "%s", r.why);
	ck_assert(!mcai_secagg_server_result(r.s, got, NULL, &rep, r.why, WHY));
	for (j = 0; j < 4; j++)
		ck_assert_uint_eq(got[j], want[j]);
	ck_assert_uint_eq(rep.masked, n - (drop >= 0));
	ck_assert_uint_eq(rep.recovered, drop >= 0);
	sround_free(&r);
	pki_free(&k);
}

START_TEST(signed_round_complete)
{
	signed_round(5, 0, -1);
}
END_TEST

START_TEST(signed_round_dropout_plus)
{
	/* SecAgg+ degree 4 of 9 (t = 3), node 4 silent after sharing */
	signed_round(9, 4, 4);
}
END_TEST

/* Byte offset of KEYS entry @e's field at @off (entries vary in length). */
static size_t keys_entry(const struct mcai_buf *b, u32 e)
{
	size_t at = MCAI_SECAGG_HDR_LEN + 4;
	u32 i;

	for (i = 0; i < e; i++) {
		at += 4 + 3 * MCAI_SECAGG_KEY_LEN;
		at += 2 + mcai_le16(b->data + at);
		at += 2 + mcai_le16(b->data + at);
	}
	return at;
}

static int try_keys(struct sround *r, u32 i)
{
	mcai_buf_reset(&r->b);
	return mcai_secagg_node_share_keys(r->nd[i], r->in.data, r->in.len,
					   &r->b, r->why, WHY);
}

START_TEST(substituted_keys_refused)
{
	struct pki k;
	struct sround r;
	size_t at, len;
	int err;

	pki_init(&k, 4, "fleet CA");
	sround_init(&r, &k, 4, 0, true);
	advertise_all(&r);

	/* the aggregator's own c_pk in place of node 1's (entry 0 for node 0) */
	fetch(&r, 0);
	at = keys_entry(&r.in, 0);
	r.in.data[at + 4] ^= 0x40;
	err = try_keys(&r, 0);
	ck_assert_int_eq(err, -EBADMSG);
	ck_assert_msg(strstr(r.why, "signature does not verify"), "%s", r.why);
	ck_assert_uint_eq(r.b.len, 0);

	/* the signature itself damaged */
	fetch(&r, 0);
	at = keys_entry(&r.in, 1);
	at += 4 + 3 * MCAI_SECAGG_KEY_LEN;
	at += 2 + mcai_le16(r.in.data + at);
	r.in.data[at + 2 + 10] ^= 1;
	ck_assert_int_eq(try_keys(&r, 0), -EBADMSG);

	/* unsigned: the entries of an unsigned round */
	fetch(&r, 0);
	len = r.in.len;
	r.in.len = MCAI_SECAGG_HDR_LEN + 4 + 3 * (4 + 2 * MCAI_SECAGG_KEY_LEN);
	ck_assert_int_eq(try_keys(&r, 0), -EBADMSG);
	r.in.len = len;

	/* every truncation refused, no crash */
	for (len = 0; len < r.in.len; len += 7) {
		mcai_buf_reset(&r.b);
		ck_assert_int_ne(mcai_secagg_node_share_keys(r.nd[0], r.in.data,
							     len, &r.b, r.why,
							     WHY), 0);
	}
	/* the genuine message still works: nothing was kept from the above */
	ck_assert_msg(!try_keys(&r, 0), "%s", r.why);
	sround_free(&r);
	pki_free(&k);
}
END_TEST

START_TEST(foreign_certificate_refused)
{
	struct pki k, rogue;
	struct sround r;
	struct mcai_secagg_auth a;
	int err;

	pki_init(&k, 4, "fleet CA");
	pki_init(&rogue, 4, "fleet CA");	/* same name, other key */
	/* node 2 holds a certificate of the rogue CA */
	sround_init(&r, &k, 4, 0, false);
	mcai_secagg_node_free(r.nd[2]);
	r.nd[2] = mcai_secagg_node_new(&r.p, 2, r.why, WHY);
	a = (struct mcai_secagg_auth){ .key = rogue.key[2], .cert = rogue.der[2],
		.cert_len = (size_t)rogue.der_len[2], .ca = k.store };
	ck_assert(!mcai_secagg_node_set_auth(r.nd[2], &a, r.why, WHY));

	/* an aggregator that checks refuses it at once */
	{
		struct mcai_secagg_server *s = mcai_secagg_server_new(&r.p, r.why,
								      WHY);
		struct mcai_secagg_auth sa = { .ca = k.store };

		ck_assert(s && !mcai_secagg_server_set_auth(s, &sa, r.why, WHY));
		ck_assert(!mcai_secagg_node_advertise(r.nd[2], &r.b, r.why, WHY));
		err = mcai_secagg_server_receive(s, r.b.data, r.b.len, r.why,
						 WHY);
		ck_assert_int_eq(err, -EBADMSG);
		ck_assert_msg(strstr(r.why, "certificate refused"), "%s", r.why);
		/* an unsigned ADVERT in a signed round */
		err = mcai_secagg_server_receive(s, r.b.data,
						 MCAI_SECAGG_HDR_LEN + 96,
						 r.why, WHY);
		ck_assert_int_eq(err, -EBADMSG);
		mcai_secagg_server_free(s);
		mcai_buf_reset(&r.b);
	}
	/* one that relays it: the honest nodes refuse */
	mcai_secagg_node_free(r.nd[2]);
	r.nd[2] = mcai_secagg_node_new(&r.p, 2, r.why, WHY);
	ck_assert(!mcai_secagg_node_set_auth(r.nd[2], &a, r.why, WHY));
	advertise_all(&r);
	fetch(&r, 0);
	ck_assert_int_eq(try_keys(&r, 0), -EBADMSG);
	ck_assert_msg(strstr(r.why, "node 2") &&
		      strstr(r.why, "certificate refused"), "%s", r.why);
	sround_free(&r);
	pki_free(&k);
	pki_free(&rogue);
}
END_TEST

/* CONSIST_REQ in r->in without node @victim. */
static void drop_from_u3(struct mcai_buf *b, u32 victim)
{
	u32 k = mcai_le32(b->data + MCAI_SECAGG_HDR_LEN), i, m = 0;
	u8 *ids = b->data + MCAI_SECAGG_HDR_LEN + 4;

	for (i = 0; i < k; i++)
		if (mcai_le32(ids + 4 * i) != victim)
			memmove(ids + 4 * m++, ids + 4 * i, 4);
	ck_assert_uint_eq(m, k - 1);
	mcai_put_le32(b->data + MCAI_SECAGG_HDR_LEN, m);
	b->len -= 4;
}

START_TEST(equivocation_refused)
{
	struct pki k;
	struct sround r;
	u32 i, refused = 0;
	int err;

	pki_init(&k, 6, "fleet CA");
	/* a lying aggregator does not check what it collects */
	sround_init(&r, &k, 6, 0, false);
	advertise_all(&r);
	share_and_mask(&r);
	/* nodes 3, 4, 5 are told node 0 dropped; 0, 1, 2 that it survived */
	for (i = 0; i < 6; i++) {
		fetch(&r, i);
		if (i >= 3)
			drop_from_u3(&r.in, 0);
		ck_assert_msg(!mcai_secagg_node_confirm(r.nd[i], r.in.data,
							r.in.len, &r.b, r.why,
							WHY), "%s", r.why);
		deliver(&r);
	}
	/* a second, different set for node 1 is refused */
	fetch(&r, 1);
	drop_from_u3(&r.in, 0);
	mcai_buf_reset(&r.b);
	err = mcai_secagg_node_confirm(r.nd[1], r.in.data, r.in.len, &r.b,
				       r.why, WHY);
	ck_assert_int_eq(err, -EPERM);
	ck_assert_msg(strstr(r.why, "equivocates"), "%s", r.why);
	/* the same set again: answered again */
	fetch(&r, 1);
	ck_assert(!mcai_secagg_node_confirm(r.nd[1], r.in.data, r.in.len, &r.b,
					    r.why, WHY));
	mcai_buf_reset(&r.b);

	ck_assert(!mcai_secagg_server_close(r.s, r.why, WHY));
	for (i = 0; i < 6; i++) {
		fetch(&r, i);
		mcai_buf_reset(&r.b);
		err = mcai_secagg_node_unmask(r.nd[i], r.in.data, r.in.len,
					      &r.b, r.why, WHY);
		ck_assert_msg(err == -EPERM, "node %u: %d %s", i, err, r.why);
		ck_assert_uint_eq(r.b.len, 0);
		refused++;
	}
	ck_assert_uint_eq(refused, 6);
	sround_free(&r);
	pki_free(&k);
}
END_TEST

START_TEST(confirmations_checked)
{
	struct pki k;
	struct sround r;
	size_t base, at;
	u32 kk, i;
	int err;

	pki_init(&k, 5, "fleet CA");
	sround_init(&r, &k, 5, 0, true);
	advertise_all(&r);
	share_and_mask(&r);

	/* node 0 left out of the set although it sent its masked input */
	fetch(&r, 0);
	drop_from_u3(&r.in, 0);
	err = mcai_secagg_node_confirm(r.nd[0], r.in.data, r.in.len, &r.b,
				       r.why, WHY);
	ck_assert_int_eq(err, -EPERM);
	ck_assert_msg(strstr(r.why, "left out"), "%s", r.why);
	/* truncations and trailing bytes */
	fetch(&r, 0);
	for (at = 0; at < r.in.len; at++)
		ck_assert_int_eq(mcai_secagg_node_confirm(r.nd[0], r.in.data,
							  at, &r.b, r.why, WHY),
				 -EBADMSG);
	confirm_all(&r);

	/* UNMASK_REQ for node 0: lists of a complete graph, then 4 confirmations */
	fetch(&r, 0);
	base = MCAI_SECAGG_HDR_LEN + 4;
	base += 4 + 4 * (size_t)mcai_le32(r.in.data + base);
	base += 4 + 4 * (size_t)mcai_le32(r.in.data + base);
	kk = mcai_le32(r.in.data + base);
	ck_assert_uint_eq(kk, 4);

	/* without them: too few confirmed */
	{
		size_t len = r.in.len;

		mcai_put_le32(r.in.data + base, 0);
		r.in.len = base + 4;
		err = mcai_secagg_node_unmask(r.nd[0], r.in.data, r.in.len,
					      &r.b, r.why, WHY);
		ck_assert_int_eq(err, -EPERM);
		ck_assert_msg(strstr(r.why, "0 of node 0's neighbours"), "%s",
			      r.why);
		r.in.len = len;
		mcai_put_le32(r.in.data + base, kk);
	}
	/* a forged confirmation: refused whole */
	at = base + 4 + 4 + 2 + 8;
	r.in.data[at] ^= 0x10;
	err = mcai_secagg_node_unmask(r.nd[0], r.in.data, r.in.len, &r.b,
				      r.why, WHY);
	ck_assert_int_eq(err, -EPERM);
	ck_assert_uint_eq(r.b.len, 0);
	r.in.data[at] ^= 0x10;
	/* every truncation refused */
	for (at = 0; at < r.in.len; at += 5)
		ck_assert_int_ne(mcai_secagg_node_unmask(r.nd[0], r.in.data, at,
							 &r.b, r.why, WHY), 0);
	ck_assert_uint_eq(r.b.len, 0);
	/* and the genuine request is answered */
	for (i = 0; i < 5; i++) {
		fetch(&r, i);
		ck_assert_msg(!mcai_secagg_node_unmask(r.nd[i], r.in.data,
						       r.in.len, &r.b, r.why,
						       WHY), "%s", r.why);
		deliver(&r);
	}
	ck_assert_msg(!mcai_secagg_server_close(r.s, r.why, WHY), "%s", r.why);
	sround_free(&r);
	pki_free(&k);
}
END_TEST

/*
 * An honest aggregator (given the CA) refuses a confirmation of another
 * set; the node that signed it cannot sign again, the round completes
 * without its answer.
 */
START_TEST(server_checks_confirmations)
{
	struct pki k;
	struct sround r;
	struct mcai_secagg_report rep;
	u32 got[4], want[4] = { 0 }, i, j;
	int err;

	pki_init(&k, 4, "fleet CA");
	sround_init(&r, &k, 4, 0, true);
	advertise_all(&r);
	share_and_mask(&r);
	for (i = 0; i < 4; i++) {
		fetch(&r, i);
		if (i == 1)
			drop_from_u3(&r.in, 0);
		ck_assert(!mcai_secagg_node_confirm(r.nd[i], r.in.data, r.in.len,
						    &r.b, r.why, WHY));
		err = mcai_secagg_server_receive(r.s, r.b.data, r.b.len, r.why,
						 WHY);
		mcai_buf_reset(&r.b);
		if (i == 1) {
			ck_assert_int_eq(err, -EBADMSG);
			ck_assert_msg(strstr(r.why, "not a signature of the survivor set"),
				      "%s", r.why);
		} else {
			ck_assert_msg(!err, "%s", r.why);
		}
	}
	ck_assert(!mcai_secagg_server_close(r.s, r.why, WHY));
	/* node 1 confirmed nothing the aggregator kept: no request for it */
	mcai_buf_reset(&r.in);
	ck_assert_int_eq(mcai_secagg_server_message_for(r.s, 1, &r.in, r.why,
							WHY), -ENOENT);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 4; j++)
			want[j] += r.w[i][j];
		if (i == 1)
			continue;
		fetch(&r, i);
		ck_assert_msg(!mcai_secagg_node_unmask(r.nd[i], r.in.data,
						       r.in.len, &r.b, r.why,
						       WHY), "%s", r.why);
		deliver(&r);
	}
	ck_assert_msg(!mcai_secagg_server_close(r.s, r.why, WHY), "%s", r.why);
	ck_assert(!mcai_secagg_server_result(r.s, got, NULL, &rep, r.why, WHY));
	for (j = 0; j < 4; j++)
		ck_assert_uint_eq(got[j], want[j]);
	ck_assert_uint_eq(rep.answered, 3);
	sround_free(&r);
	pki_free(&k);
}
END_TEST

START_TEST(auth_required)
{
	struct mcai_secagg_params p = sparams(4, 0);
	struct mcai_secagg_node *nd = mcai_secagg_node_new(&p, 0, NULL, 0);
	struct mcai_secagg_auth a = { 0 };
	struct mcai_buf b;
	char why[WHY];

	ck_assert(nd);
	mcai_buf_init(&b);
	ck_assert_int_eq(mcai_secagg_node_advertise(nd, &b, why, WHY), -EINVAL);
	ck_assert_int_eq(mcai_secagg_node_set_auth(nd, &a, why, WHY), -EINVAL);
	/* CONSIST_REQ in an unsigned round */
	p.flags = 0;
	mcai_secagg_node_free(nd);
	nd = mcai_secagg_node_new(&p, 0, NULL, 0);
	ck_assert_int_eq(mcai_secagg_node_confirm(nd, b.data, b.len, &b, why,
						  WHY), -EPROTO);
	p.flags = 0x80;
	ck_assert_int_eq(mcai_secagg_params_check(&p, why, WHY), -EINVAL);
	mcai_secagg_node_free(nd);
	mcai_buf_free(&b);
}
END_TEST

/* The two new frame types carry exactly the library's two new messages. */
START_TEST(consist_frames)
{
	struct mcai_buf lib, pl;
	struct mcai_msg_secagg m;
	const char *why = NULL;

	mcai_buf_init(&lib);
	mcai_buf_init(&pl);
	mcai_buf_put_u8(&lib, MCAI_SECAGG_CONSIST);
	mcai_buf_put_u8(&lib, 1);
	mcai_buf_put_u16(&lib, 0);
	mcai_buf_put_u32(&lib, 3);
	mcai_buf_put_u64(&lib, 9);
	mcai_buf_put_u16(&lib, 1);
	mcai_buf_put_u8(&lib, 0xaa);
	mcai_buf_put_u32(&pl, (u32)lib.len);
	mcai_buf_put(&pl, lib.data, lib.len);
	ck_assert(mcai_msg_is_secagg(MCAI_MSG_SA_CONSIST));
	ck_assert(mcai_msg_is_secagg(MCAI_MSG_SA_CONSIST_REQ));
	ck_assert_str_eq(mcai_msg_type_name(MCAI_MSG_SA_CONSIST), "SA_CONSIST");
	ck_assert_int_eq(mcai_secagg_msg_decode(MCAI_MSG_SA_CONSIST, pl.data,
						pl.len, &m, &why), 0);
	ck_assert_uint_eq(m.node, 3);
	ck_assert_uint_eq(m.round, 9);
	/* under another frame type: refused */
	ck_assert_int_ne(mcai_secagg_msg_decode(MCAI_MSG_SA_CONSIST_REQ, pl.data,
						pl.len, &m, &why), 0);
	ck_assert_int_ne(mcai_secagg_msg_decode(MCAI_MSG_SA_UNMASK, pl.data,
						pl.len, &m, &why), 0);
	pl.data[4] = MCAI_SECAGG_CONSIST_REQ;
	ck_assert_int_eq(mcai_secagg_msg_decode(MCAI_MSG_SA_CONSIST_REQ, pl.data,
						pl.len, &m, &why), 0);
	ck_assert_int_ne(mcai_secagg_msg_decode(MCAI_MSG_SA_CONSIST, pl.data,
						pl.len, &m, &why), 0);
	mcai_buf_free(&lib);
	mcai_buf_free(&pl);
}
END_TEST

Suite *secagg_signed_suite(void)
{
	Suite *s = suite_create("secagg_signed");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, auth_required);
	tcase_add_test(tc, consist_frames);
	tcase_add_test(tc, signed_round_complete);
	tcase_add_test(tc, signed_round_dropout_plus);
	tcase_add_test(tc, substituted_keys_refused);
	tcase_add_test(tc, foreign_certificate_refused);
	tcase_add_test(tc, equivocation_refused);
	tcase_add_test(tc, confirmations_checked);
	tcase_add_test(tc, server_checks_confirmations);
	suite_add_tcase(s, tc);
	return s;
}
