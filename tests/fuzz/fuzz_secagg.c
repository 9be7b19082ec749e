// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the secure-aggregation messages (runtime/fed/secagg.c)
 * as a hostile peer would send them: input byte 0 picks the receiver —
 * the aggregator in its advertise phase, or a node at key sharing, at
 * masked input, or at unmasking — and the rest is the message.  Every
 * refusal must carry a reason and leave the receiver usable: after a
 * refusal, the same receiver still accepts its honest next message.
 * Selectors 4 .. 7 do the same in a signed round (fleet certificates
 * made once, here): the aggregator's ADVERT, a node's KEYS, CONSIST_REQ
 * and UNMASK_REQ (the last two after an honest round up to its masked
 * inputs, and for UNMASK_REQ an honest confirmation).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "runtime/fed/secagg.h"

#define N_NODES	3
#define DIM	4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mcai_fuzz_reason(int ret, const char *why)
{
	if (ret && !why[0])
		abort();
}

/* The fleet: a CA and one certificate per node, made on first use. */
static struct {
	X509_STORE *ca;
	EVP_PKEY *key[N_NODES];
	unsigned char *der[N_NODES];
	int der_len[N_NODES];
} fleet;

static X509 *mcai_fuzz_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
			    EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *nm;

	if (!x || X509_set_version(x, 2) != 1)
		abort();
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_set_pubkey(x, key);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
	if (!issuer) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL,
							NID_basic_constraints,
							"critical,CA:TRUE");

		if (!e)
			abort();
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, ikey ? ikey : key, EVP_sha256()) <= 0)
		abort();
	return x;
}

static void mcai_fuzz_fleet(void)
{
	EVP_PKEY *ck;
	X509 *ca;
	int i;

	if (fleet.ca)
		return;
	ck = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!ck)
		abort();
	ca = mcai_fuzz_cert(ck, "fuzz CA", NULL, NULL);
	fleet.ca = X509_STORE_new();
	if (!fleet.ca || X509_STORE_add_cert(fleet.ca, ca) != 1)
		abort();
	for (i = 0; i < N_NODES; i++) {
		X509 *x;

		fleet.key[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (!fleet.key[i])
			abort();
		x = mcai_fuzz_cert(fleet.key[i], "node", ca, ck);
		fleet.der_len[i] = i2d_X509(x, &fleet.der[i]);
		if (fleet.der_len[i] <= 0)
			abort();
		X509_free(x);
	}
	X509_free(ca);
	EVP_PKEY_free(ck);
}

/* One message from the aggregator's message_for() into @nd's @step. */
static void mcai_fuzz_relay(struct mcai_secagg_server *s,
			    struct mcai_secagg_node **nd, int step,
			    const u32 (*w)[DIM])
{
	struct mcai_buf in, out;
	char why[256];
	int i, ret = 0;

	for (i = 0; i < N_NODES; i++) {
		mcai_buf_init(&in);
		mcai_buf_init(&out);
		if (mcai_secagg_server_message_for(s, (u32)i, &in, why,
						   sizeof(why)))
			abort();
		if (step == 0)
			ret = mcai_secagg_node_share_keys(nd[i], in.data, in.len,
							  &out, why, sizeof(why));
		else if (step == 1)
			ret = mcai_secagg_node_masked_words(nd[i], in.data,
							    in.len, w[i], &out,
							    why, sizeof(why));
		else
			ret = mcai_secagg_node_confirm(nd[i], in.data, in.len,
						       &out, why, sizeof(why));
		if (ret || mcai_secagg_server_receive(s, out.data, out.len, why,
						      sizeof(why)))
			abort();
		mcai_buf_free(&in);
		mcai_buf_free(&out);
	}
	if (mcai_secagg_server_close(s, why, sizeof(why)))
		abort();
}

/* Selectors 4 .. 7: the signed round. */
static void mcai_fuzz_signed(int sel, const uint8_t *data, size_t size)
{
	static const u32 w[N_NODES][DIM] = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 },
					     { 9, 10, 11, 12 } };
	struct mcai_secagg_params p;
	struct mcai_secagg_server *s;
	struct mcai_secagg_node *nd[N_NODES] = { 0 };
	struct mcai_secagg_auth a = { 0 };
	struct mcai_buf adv[N_NODES], out;
	char why[256];
	int ret, i;

	mcai_fuzz_fleet();
	mcai_secagg_params_default(&p, 1, N_NODES, DIM);
	p.flags = MCAI_SECAGG_F_SIGNED;
	s = mcai_secagg_server_new(&p, why, sizeof(why));
	a.ca = fleet.ca;
	if (!s || mcai_secagg_server_set_auth(s, &a, why, sizeof(why)))
		abort();
	for (i = 0; i < N_NODES; i++) {
		mcai_buf_init(&adv[i]);
		nd[i] = mcai_secagg_node_new(&p, (u32)i, why, sizeof(why));
		a.key = fleet.key[i];
		a.cert = fleet.der[i];
		a.cert_len = (size_t)fleet.der_len[i];
		if (!nd[i] || mcai_secagg_node_set_auth(nd[i], &a, why,
							 sizeof(why)) ||
		    mcai_secagg_node_advertise(nd[i], &adv[i], why,
					       sizeof(why)))
			abort();
	}
	mcai_buf_init(&out);
	why[0] = '\0';
	if (sel == 4) {
		ret = mcai_secagg_server_receive(s, data, size, why,
						 sizeof(why));
		mcai_fuzz_reason(ret, why);
		for (i = 0; i < N_NODES; i++) {
			ret = mcai_secagg_server_receive(s, adv[i].data,
							 adv[i].len, why,
							 sizeof(why));
			if (ret && ret != -EALREADY)
				abort();
		}
		goto out;
	}
	if (sel == 5) {
		ret = mcai_secagg_node_share_keys(nd[0], data, size, &out, why,
						  sizeof(why));
		mcai_fuzz_reason(ret, why);
		goto out;
	}
	for (i = 0; i < N_NODES; i++)
		if (mcai_secagg_server_receive(s, adv[i].data, adv[i].len, why,
					       sizeof(why)))
			abort();
	if (mcai_secagg_server_close(s, why, sizeof(why)))
		abort();
	mcai_fuzz_relay(s, nd, 0, w);
	mcai_fuzz_relay(s, nd, 1, w);
	if (sel == 6) {
		ret = mcai_secagg_node_confirm(nd[0], data, size, &out, why,
					       sizeof(why));
		mcai_fuzz_reason(ret, why);
		goto out;
	}
	mcai_fuzz_relay(s, nd, 2, w);
	ret = mcai_secagg_node_unmask(nd[0], data, size, &out, why,
				      sizeof(why));
	mcai_fuzz_reason(ret, why);
out:
	mcai_buf_free(&out);
	for (i = 0; i < N_NODES; i++) {
		mcai_buf_free(&adv[i]);
		mcai_secagg_node_free(nd[i]);
	}
	mcai_secagg_server_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcai_secagg_params p;
	struct mcai_secagg_server *s;
	struct mcai_secagg_node *nd[N_NODES] = { 0 };
	struct mcai_buf adv[N_NODES], out;
	float x[DIM] = { 0.5f, -1.0f, 0.25f, 2.0f };
	char why[256];
	int ret, i;

	if (!size)
		return 0;
	if (data[0] % 8 >= 4) {
		mcai_fuzz_signed(data[0] % 8, data + 1, size - 1);
		return 0;
	}
	mcai_secagg_params_default(&p, 1, N_NODES, DIM);
	s = mcai_secagg_server_new(&p, why, sizeof(why));
	if (!s)
		abort();
	for (i = 0; i < N_NODES; i++) {
		mcai_buf_init(&adv[i]);
		nd[i] = mcai_secagg_node_new(&p, (u32)i, why, sizeof(why));
		if (!nd[i] || mcai_secagg_node_advertise(nd[i], &adv[i], why,
							  sizeof(why)))
			abort();
	}
	mcai_buf_init(&out);
	why[0] = '\0';
	switch (data[0] % 4) {
	case 0:		/* the aggregator, advertise phase */
		ret = mcai_secagg_server_receive(s, data + 1, size - 1, why,
						 sizeof(why));
		mcai_fuzz_reason(ret, why);
		/* still takes the honest adverts (or says it has one) */
		for (i = 0; i < N_NODES; i++) {
			ret = mcai_secagg_server_receive(s, adv[i].data,
							 adv[i].len, why,
							 sizeof(why));
			if (ret && ret != -EALREADY)
				abort();
		}
		break;
	case 1:		/* node 0 given garbage as the KEYS message */
		ret = mcai_secagg_node_share_keys(nd[0], data + 1, size - 1,
						  &out, why, sizeof(why));
		mcai_fuzz_reason(ret, why);
		break;
	case 2:		/* garbage as SHARES_FOR, out of order too */
		ret = mcai_secagg_node_masked_input(nd[0], data + 1, size - 1,
						    x, &out, why, sizeof(why));
		mcai_fuzz_reason(ret, why);
		break;
	default:	/* garbage as UNMASK_REQ */
		ret = mcai_secagg_node_unmask(nd[0], data + 1, size - 1, &out,
					      why, sizeof(why));
		mcai_fuzz_reason(ret, why);
		break;
	}
	mcai_buf_free(&out);
	for (i = 0; i < N_NODES; i++) {
		mcai_buf_free(&adv[i]);
		mcai_secagg_node_free(nd[i]);
	}
	mcai_secagg_server_free(s);
	return 0;
}
