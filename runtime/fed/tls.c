// SPDX-License-Identifier: GPL-2.0
/*
 * TLS for mcaid: OpenSSL 3.0 over memory BIOs.
 *
 * Kernel TLS: OpenSSL 3.0 turns kTLS on (SSL_OP_ENABLE_KTLS) only when its
 * own socket BIO does the I/O: it installs the keys with setsockopt from
 * inside that BIO and keeps the record sequence numbers to itself.  With
 * memory BIOs, which is what lets io_uring move the bytes, it never does,
 * and 3.0 exports neither the record sequence numbers nor a "keys are
 * ready" hook that would let us install TLS_TX/TLS_RX safely ourselves.
 * So the record layer stays in user space; the log says so once, together
 * with whether this kernel has the tls ULP at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "runtime/lib/log.h"
#include "runtime/fed/tls.h"

struct mcai_tls_ctx {
	SSL_CTX *ssl_ctx;
};

static int mcai_tls_ex_idx = -1;

static void mcai_tls_err_str(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char ebuf[200];

	if (e) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(buf, len, "%s: %s", what, ebuf);
	} else {
		snprintf(buf, len, "%s", what);
	}
	ERR_clear_error();
}

/*
 * The subject's one CN, as it is: a second CN, an embedded NUL or a name
 * too long for @buf would let a certificate pass for another node (ids and
 * the allow-list go by this name), so they give "(invalid CN)".
 */
static void mcai_subject_cn(X509 *x, char *buf, size_t len)
{
	X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
	int i = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
	const ASN1_STRING *s;
	int l;

	if (i < 0) {
		snprintf(buf, len, "(no CN)");
		return;
	}
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	l = s ? ASN1_STRING_length(s) : -1;
	if (X509_NAME_get_index_by_NID(n, NID_commonName, i) >= 0 || l <= 0 ||
	    (size_t)l >= len || memchr(ASN1_STRING_get0_data(s), 0, (size_t)l)) {
		snprintf(buf, len, "(invalid CN)");
		return;
	}
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)l);
	buf[l] = '\0';
}

/* Records the first verification failure, with whose certificate it was. */
static int mcai_tls_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx,
				SSL_get_ex_data_X509_STORE_CTX_idx());
	struct mcai_tls *t = ssl ? SSL_get_ex_data(ssl, mcai_tls_ex_idx) : NULL;
	char cn[128];
	int err;

	if (ok || !t || t->why[0])
		return ok;
	err = X509_STORE_CTX_get_error(sctx);
	mcai_subject_cn(X509_STORE_CTX_get_current_cert(sctx), cn, sizeof(cn));
	/* A name mismatch: say which name we wanted, not only which we got. */
	if (err == X509_V_ERR_HOSTNAME_MISMATCH ||
	    err == X509_V_ERR_IP_ADDRESS_MISMATCH)
		snprintf(t->why, sizeof(t->why),
			 "peer certificate refused: not issued to '%s' (CN=%s, depth %d)",
			 t->want, cn, X509_STORE_CTX_get_error_depth(sctx));
	else
		snprintf(t->why, sizeof(t->why),
			 "peer certificate refused: %s (CN=%s, depth %d)",
			 X509_verify_cert_error_string(err), cn,
			 X509_STORE_CTX_get_error_depth(sctx));
	return ok;
}

static bool mcai_ktls_ulp_available(void)
{
	char buf[256] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "re");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	for (char *s = strtok(buf, " \n"); s; s = strtok(NULL, " \n"))
		if (!strcmp(s, "tls"))
			return true;
	return false;
}

int mcai_tls_ctx_new(struct mcai_tls_ctx **out,
		     const struct mcai_tls_files *files)
{
	struct mcai_tls_ctx *c;
	X509_STORE *store;
	char why[256];

	if (!files->cert || !files->key || !files->ca) {
		mcai_err("tls: --cert, --key and --ca are all required");
		return -EINVAL;
	}
	if (mcai_tls_ex_idx < 0)
		mcai_tls_ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
						       NULL);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ssl_ctx = SSL_CTX_new(TLS_method());
	if (!c->ssl_ctx)
		goto fail_ssl;
	SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_3_VERSION);
	/*
	 * Sessions are not resumed (every connection proves its certificate
	 * again, so a revocation takes effect at once) and so no tickets:
	 * they would only be bytes on the wire.
	 */
	SSL_CTX_set_session_cache_mode(c->ssl_ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(c->ssl_ctx, 0);
	SSL_CTX_set_options(c->ssl_ctx, SSL_OP_NO_TICKET);
	/* Thousands of mostly idle peers: no record buffers while idle. */
	SSL_CTX_set_mode(c->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	/*
	 * OpenSSL also checks the leaf's purpose: a client wants serverAuth
	 * in the server's extendedKeyUsage, a server clientAuth in the
	 * client's.  Node certificates carry clientAuth only, so that alone
	 * keeps them from serving; the name (mcai_tls_set_peer_name) covers
	 * every other certificate of the fleet.
	 */
	SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, mcai_tls_verify_cb);
	SSL_CTX_set_verify_depth(c->ssl_ctx, 4);

	if (SSL_CTX_use_certificate_chain_file(c->ssl_ctx, files->cert) != 1) {
		mcai_tls_err_str(why, sizeof(why), files->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c->ssl_ctx, files->key,
					SSL_FILETYPE_PEM) != 1) {
		mcai_tls_err_str(why, sizeof(why), files->key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(c->ssl_ctx) != 1) {
		mcai_tls_err_str(why, sizeof(why), "key does not match certificate");
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(c->ssl_ctx, files->ca, NULL) != 1) {
		mcai_tls_err_str(why, sizeof(why), files->ca);
		goto fail;
	}
	store = SSL_CTX_get_cert_store(c->ssl_ctx);
	if (files->crl) {
		X509_LOOKUP *lu = X509_STORE_add_lookup(store,
							X509_LOOKUP_file());

		if (!lu || X509_load_crl_file(lu, files->crl,
					      X509_FILETYPE_PEM) < 1) {
			mcai_tls_err_str(why, sizeof(why), files->crl);
			goto fail;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	} else {
		mcai_warn("tls: no --crl: revoked certificates are not refused");
	}
	mcai_info("tls: TLS 1.3, mutual authentication against %s%s%s",
		  files->ca, files->crl ? ", CRL " : "",
		  files->crl ? files->crl : "");
	mcai_info("tls: record layer in user space over memory BIOs (kTLS not used: OpenSSL 3.0 offloads only through its socket BIO; tls ULP %s on this kernel)",
		  mcai_ktls_ulp_available() ? "available" : "absent");
	*out = c;
	return 0;

fail_ssl:
	mcai_tls_err_str(why, sizeof(why), "SSL_CTX_new");
fail:
	mcai_err("tls: %s", why);
	SSL_CTX_free(c->ssl_ctx);
	free(c);
	return -EINVAL;
}

int mcai_tls_ctx_identity(struct mcai_tls_ctx *ctx, EVP_PKEY **key,
			  X509 **cert, X509_STORE **ca)
{
	EVP_PKEY *k = ctx ? SSL_CTX_get0_privatekey(ctx->ssl_ctx) : NULL;
	X509 *c = ctx ? SSL_CTX_get0_certificate(ctx->ssl_ctx) : NULL;

	if (!k || !c)
		return -ENOENT;
	if (key)
		*key = k;
	if (cert)
		*cert = c;
	if (ca)
		*ca = SSL_CTX_get_cert_store(ctx->ssl_ctx);
	return 0;
}

void mcai_tls_ctx_free(struct mcai_tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

int mcai_tls_init(struct mcai_tls *t, struct mcai_tls_ctx *ctx, bool server)
{
	SSL *ssl;
	BIO *rb, *wb;

	memset(t, 0, sizeof(*t));
	ssl = SSL_new(ctx->ssl_ctx);
	if (!ssl)
		return -ENOMEM;
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	if (!rb || !wb) {
		BIO_free(rb);
		BIO_free(wb);
		SSL_free(ssl);
		return -ENOMEM;
	}
	/* An empty memory BIO means "more later", not end of stream. */
	BIO_set_mem_eof_return(rb, -1);
	BIO_set_mem_eof_return(wb, -1);
	SSL_set_bio(ssl, rb, wb);
	SSL_set_ex_data(ssl, mcai_tls_ex_idx, t);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	t->ssl = ssl;
	t->rbio = rb;
	t->wbio = wb;
	return 0;
}

/*
 * A memory BIO keeps the largest buffer it ever held: after a model or an
 * update went through, that is tens of KiB per peer for as long as the
 * peer stays connected.  An empty one is swapped for a fresh one.
 */
void mcai_tls_trim(struct mcai_tls *t)
{
	BIO *b;

	if (!BIO_ctrl_pending(t->rbio) && (b = BIO_new(BIO_s_mem()))) {
		BIO_set_mem_eof_return(b, -1);
		SSL_set0_rbio(t->ssl, b);
		t->rbio = b;
	}
	if (!BIO_ctrl_pending(t->wbio) && (b = BIO_new(BIO_s_mem()))) {
		BIO_set_mem_eof_return(b, -1);
		SSL_set0_wbio(t->ssl, b);
		t->wbio = b;
	}
}

int mcai_tls_set_peer_name(struct mcai_tls *t, const char *name)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
	unsigned char ip[16];
	int r;

	if (!name || !name[0] || strlen(name) >= sizeof(t->want))
		return -EINVAL;
	snprintf(t->want, sizeof(t->want), "%s", name);
	/*
	 * An address literal is matched against the iPAddress SANs: a DNS
	 * name check of "127.0.0.1" would look for a dNSName of that text,
	 * which well-formed certificates do not carry.
	 */
	if (inet_pton(AF_INET, name, ip) == 1 ||
	    inet_pton(AF_INET6, name, ip) == 1) {
		r = X509_VERIFY_PARAM_set1_ip_asc(vp, name);
	} else {
		X509_VERIFY_PARAM_set_hostflags(vp,
				X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		r = SSL_set1_host(t->ssl, name);
	}
	ERR_clear_error();
	return r == 1 ? 0 : -ENOMEM;
}

void mcai_tls_fini(struct mcai_tls *t)
{
	SSL_free(t->ssl);	/* frees both BIOs */
	t->ssl = t->rbio = t->wbio = NULL;
}

int mcai_tls_feed(struct mcai_tls *t, const void *buf, size_t len)
{
	size_t done;

	if (!len)
		return 0;
	if (BIO_write_ex(t->rbio, buf, len, &done) != 1 || done != len)
		return -ENOMEM;
	return 0;
}

/* Turns an SSL error into 0 (retry), -EPIPE or -EPROTO with t->why. */
static int mcai_tls_error(struct mcai_tls *t, int ret, const char *what)
{
	int e = SSL_get_error(t->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(t->why, sizeof(t->why), "peer sent close_notify");
		ERR_clear_error();
		return -EPIPE;
	default:
		/* The verify callback's reason beats OpenSSL's generic one. */
		if (!t->why[0])
			mcai_tls_err_str(t->why, sizeof(t->why), what);
		else
			ERR_clear_error();
		return -EPROTO;
	}
}

int mcai_tls_handshake(struct mcai_tls *t)
{
	int r;

	if (t->done)
		return 1;
	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	if (r != 1) {
		r = mcai_tls_error(t, r, "handshake");
		return r == -EPIPE ? -EPROTO : r;
	}
	if (SSL_version(t->ssl) != TLS1_3_VERSION) {
		snprintf(t->why, sizeof(t->why), "not TLS 1.3");
		return -EPROTO;
	}
	/* FAIL_IF_NO_PEER_CERT covers the server; this covers the client. */
	if (!SSL_get0_peer_certificate(t->ssl) ||
	    SSL_get_verify_result(t->ssl) != X509_V_OK) {
		snprintf(t->why, sizeof(t->why), "peer not verified");
		return -EPROTO;
	}
	mcai_subject_cn(SSL_get0_peer_certificate(t->ssl), t->peer,
			sizeof(t->peer));
	/* A node is known by its CN; a server by its name (SAN) alone. */
	if (SSL_is_server(t->ssl) && t->peer[0] == '(') {
		snprintf(t->why, sizeof(t->why),
			 "peer certificate has no usable CN %s", t->peer);
		return -EPROTO;
	}
	t->done = true;
	return 1;
}

ssize_t mcai_tls_read(struct mcai_tls *t, void *buf, size_t len)
{
	size_t got = 0;
	int r;

	ERR_clear_error();
	r = SSL_read_ex(t->ssl, buf, len, &got);
	if (r == 1)
		return (ssize_t)got;
	return mcai_tls_error(t, r, "read");
}

int mcai_tls_write(struct mcai_tls *t, const void *buf, size_t len)
{
	size_t done = 0;
	int r;

	ERR_clear_error();
	/* Without partial writes, a memory BIO takes everything or fails. */
	r = SSL_write_ex(t->ssl, buf, len, &done);
	if (r != 1 || done != len) {
		if (!mcai_tls_error(t, r, "write"))
			snprintf(t->why, sizeof(t->why), "write: short");
		return -EPROTO;
	}
	return 0;
}

void mcai_tls_close_notify(struct mcai_tls *t)
{
	ERR_clear_error();
	if (t->done)
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

size_t mcai_tls_out_pending(const struct mcai_tls *t)
{
	return BIO_ctrl_pending(t->wbio);
}

size_t mcai_tls_out_take(struct mcai_tls *t, void *buf, size_t len)
{
	size_t got = 0;

	if (BIO_read_ex(t->wbio, buf, len, &got) != 1)
		return 0;
	return got;
}

size_t mcai_tls_in_pending(const struct mcai_tls *t)
{
	return BIO_ctrl_pending(t->rbio);
}
