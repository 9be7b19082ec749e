/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS 1.3 with mutual authentication for mcaid, driven through memory
 * BIOs: the transport moves ciphertext with io_uring and only hands bytes
 * to OpenSSL (mcai_tls_feed) and takes bytes from it (mcai_tls_out_take).
 * No function here does I/O on a socket.
 */
#ifndef MCAI_TLS_H
#define MCAI_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mcai_tls_ctx;

struct mcai_tls_files {
	const char *cert;	/* PEM chain, leaf first */
	const char *key;	/* PEM private key */
	const char *ca;		/* PEM fleet CA */
	const char *crl;	/* PEM CRL of the fleet CA, NULL: none */
};

/* Loads everything at start-up, while the files are still readable. */
int mcai_tls_ctx_new(struct mcai_tls_ctx **out,
		     const struct mcai_tls_files *files);
void mcai_tls_ctx_free(struct mcai_tls_ctx *ctx);

struct evp_pkey_st;
struct x509_st;
struct x509_store_st;
/*
 * The fleet identity loaded at start-up (the files may be unreadable
 * after privileges are dropped), for signatures beside TLS: signed
 * secure aggregation.  Borrowed from @ctx; any pointer may be NULL.
 * 0, or -ENOENT when no key or certificate is loaded.
 */
int mcai_tls_ctx_identity(struct mcai_tls_ctx *ctx, struct evp_pkey_st **key,
			  struct x509_st **cert, struct x509_store_st **ca);

struct mcai_tls {
	void *ssl;			/* SSL *, opaque to the transport */
	void *rbio, *wbio;		/* BIO *, owned by ssl */
	bool done;			/* handshake complete, peer verified */
	char peer[128];			/* peer certificate subject CN */
	char want[256];			/* client: name the server must carry */
	char why[512];			/* reason of the last failure */
};

int mcai_tls_init(struct mcai_tls *t, struct mcai_tls_ctx *ctx, bool server);
void mcai_tls_fini(struct mcai_tls *t);
/*
 * Client only, before the handshake: the server's certificate must carry
 * @name (a DNS name, or an IPv4/IPv6 literal) in its subjectAltName, or as
 * its CN when it has no DNS names.  Chaining to the fleet CA is not enough
 * on its own: every node holds a certificate from that CA, and any of them
 * could otherwise answer for the aggregator.  0, -EINVAL or -ENOMEM.
 */
int mcai_tls_set_peer_name(struct mcai_tls *t, const char *name);

/* Ciphertext received from the peer.  0 or -ENOMEM. */
int mcai_tls_feed(struct mcai_tls *t, const void *buf, size_t len);
/* 1 handshake complete, 0 needs more input, -EPROTO with t->why. */
int mcai_tls_handshake(struct mcai_tls *t);
/*
 * Plaintext: > 0 bytes read, 0 needs more input, -EPIPE the peer sent
 * close_notify, -EPROTO with t->why.
 */
ssize_t mcai_tls_read(struct mcai_tls *t, void *buf, size_t len);
/* Encrypts all of @buf into the output BIO.  0 or -EPROTO. */
int mcai_tls_write(struct mcai_tls *t, const void *buf, size_t len);
/* Queues close_notify. */
void mcai_tls_close_notify(struct mcai_tls *t);
/* Ciphertext waiting to be sent, and taking it. */
/* Frees the BIOs' grown buffers when they are empty (an idle peer). */
void mcai_tls_trim(struct mcai_tls *t);
size_t mcai_tls_out_pending(const struct mcai_tls *t);
size_t mcai_tls_out_take(struct mcai_tls *t, void *buf, size_t len);
/* Bytes of a partial TLS record buffered (the peer stopped mid-record). */
size_t mcai_tls_in_pending(const struct mcai_tls *t);

#endif /* MCAI_TLS_H */
