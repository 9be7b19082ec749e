// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of tests/bench/fed_bench.sh: the least CPU an aggregator can
 * spend on one UPDATE that arrives over TLS, measured on this machine in
 * the same run.  That least is decrypting the update's TLS records and
 * folding its delta into the round's sum; everything else the aggregator
 * does per update (sockets, framing, checks, bookkeeping) is on top.
 *
 *   tlsfloor PKI_DIR N_PARAMS [UPDATES]
 *
 * A client (node1's certificate) and a server (the aggregator's) of the
 * test PKI, both through runtime/fed/tls.c, the TLS code mcaid runs (same
 * library, same settings, so the same negotiated TLS 1.3 suite), handshake
 * over memory BIOs.  The client then encrypts UPDATES frames of the size an
 * UPDATE of N_PARAMS floats has, written as the bench's nodes write them (a
 * 44-byte head, then the delta: records of at most 16 KiB).  The server
 * side is timed on the thread's CPU clock, per update:
 *
 *   tls    the ciphertext fed in recv-sized chunks, the frame read out as
 *          plaintext into one buffer (mcai_tls_feed/mcai_tls_read)
 *   fold   the FedAvg fold of that plaintext: acc[i] += w * u[i], double
 *          accumulator, as runtime/fed/strategy.c keeps it
 *   aead   for reference, the negotiated AEAD alone (EVP) over the same
 *          record sizes: what of "tls" is the cipher, not the record layer
 *   recv   for reference, the same ciphertext received from a loopback TCP
 *          socket in recv-sized reads (a child process sends it): what the
 *          kernel charges a receiver on loopback, which the aggregator pays
 *          on top and the floor leaves out
 *
 * Each figure is the best of three passes of UPDATES updates (default 24).
 * Prints "key=value" lines: cipher, update_bytes, wire_bytes (ciphertext
 * per update), tls_us, fold_us, aead_us, recv_us, floor_us (= tls_us +
 * fold_us).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "runtime/fed/tls.h"
#include "runtime/lib/log.h"

#define RECV_CHUNK	(16 * 1024 + 512)	/* runtime/fed/net.c's buffers */
#define RECORD_MAX	(16 * 1024)
#define HEAD_BYTES	(16 + 24 + 4)		/* frame header, UPDATE head, count */
#define PASSES		3

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static void die(const char *what)
{
	fprintf(stderr, "tlsfloor: %s\n", what);
	exit(1);
}

/* Moves what @from has ready for the wire into @to. */
static void shuttle(struct mcai_tls *from, struct mcai_tls *to)
{
	uint8_t buf[RECV_CHUNK];
	size_t n;

	while ((n = mcai_tls_out_take(from, buf, sizeof(buf))))
		if (mcai_tls_feed(to, buf, n))
			die("feed: out of memory");
}

struct wire {
	uint8_t *p;
	size_t len, cap;
};

static void wire_take(struct wire *w, struct mcai_tls *from)
{
	size_t n;

	while ((n = mcai_tls_out_pending(from))) {
		if (w->len + n > w->cap) {
			w->cap = (w->len + n) * 2;
			w->p = realloc(w->p, w->cap);
			if (!w->p)
				die("out of memory");
		}
		w->len += mcai_tls_out_take(from, w->p + w->len, n);
	}
}

/* acc[i] += w * u[i] over the frame's delta, read as little-endian floats. */
static void fold(double *restrict acc, const uint8_t *restrict u, double w,
		 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		float f;

		memcpy(&f, u + 4 * i, sizeof(f));
		acc[i] += w * f;
	}
}

static const EVP_CIPHER *suite_aead(const char *name)
{
	if (strstr(name, "AES_256_GCM"))
		return EVP_aes_256_gcm();
	if (strstr(name, "AES_128_GCM"))
		return EVP_aes_128_gcm();
	if (strstr(name, "CHACHA20"))
		return EVP_chacha20_poly1305();
	return NULL;
}

/* The AEAD alone over @bytes in records of at most RECORD_MAX. */
static double aead_us(const EVP_CIPHER *c, uint8_t *buf, size_t bytes,
		      unsigned int updates)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	uint8_t key[32], iv[12], tag[16], out[RECORD_MAX + 64];
	double best = 1e30;
	int run, len;

	if (!x)
		die("EVP_CIPHER_CTX_new");
	RAND_bytes(key, sizeof(key));
	RAND_bytes(iv, sizeof(iv));
	for (run = 0; run < PASSES; run++) {
		double t = cpu_us();

		for (unsigned int k = 0; k < updates; k++) {
			for (size_t off = 0; off < bytes; off += RECORD_MAX) {
				size_t n = bytes - off < RECORD_MAX ?
					   bytes - off : RECORD_MAX;

				iv[11]++;
				EVP_DecryptInit_ex(x, c, NULL, key, iv);
				EVP_DecryptUpdate(x, NULL, &len, iv, 5); /* AAD */
				EVP_DecryptUpdate(x, out, &len, buf + off,
						  (int)n);
				EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG,
						    16, tag);
				/* Fails (a random tag); the work is done. */
				EVP_DecryptFinal_ex(x, out + len, &len);
			}
		}
		t = (cpu_us() - t) / updates;
		if (t < best)
			best = t;
	}
	EVP_CIPHER_CTX_free(x);
	return best;
}

/*
 * The ciphertext of @updates updates through a loopback TCP connection:
 * this thread's CPU (nearly all of it the kernel's) to recv() it all.
 */
static double recv_cost(const uint8_t *p, size_t len, unsigned int updates)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	static uint8_t buf[RECV_CHUNK];
	int lfd, cfd, fd, run;
	double best = 1e30;
	pid_t pid;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (run = 0; run < PASSES; run++) {
		size_t got = 0;
		double t;

		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(lfd, 1) ||
		    getsockname(lfd, (struct sockaddr *)&sa, &sl))
			die("loopback listener");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			size_t off = 0;
			ssize_t n;

			cfd = socket(AF_INET, SOCK_STREAM, 0);
			if (cfd < 0 ||
			    connect(cfd, (struct sockaddr *)&sa, sizeof(sa)))
				_exit(1);
			while (off < len && (n = send(cfd, p + off, len - off,
						      MSG_NOSIGNAL)) > 0)
				off += (size_t)n;
			_exit(off == len ? 0 : 1);
		}
		fd = accept(lfd, NULL, NULL);
		close(lfd);
		sa.sin_port = 0;
		if (fd < 0)
			die("accept");
		t = cpu_us();
		while (got < len) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n <= 0)
				die("recv");
			got += (size_t)n;
		}
		t = (cpu_us() - t) / updates;
		close(fd);
		waitpid(pid, NULL, 0);
		if (t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	struct mcai_tls_ctx *sctx, *cctx;
	struct mcai_tls srv, cli;
	struct mcai_tls_files f;
	struct wire w = { 0 };
	unsigned int updates = 24, k;
	double best_tls = 1e30, best_fold = 1e30, aead = 0, rcpu;
	size_t n_params, frame_len, wire_per = 0;
	uint8_t *frame, *plain;
	double *acc;
	char path[4][512];
	FILE *crl;
	const char *cipher;
	int run, i;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: tlsfloor PKI_DIR N_PARAMS [UPDATES]\n");
		return 2;
	}
	n_params = strtoul(argv[2], NULL, 0);
	if (argc == 4)
		updates = (unsigned int)strtoul(argv[3], NULL, 0);
	if (!n_params || n_params > (1U << 24) || !updates)
		die("bad sizes");
	mcai_log_set_level(MCAI_LOG_WARN);

	snprintf(path[0], sizeof(path[0]), "%s/aggregator.crt", argv[1]);
	snprintf(path[1], sizeof(path[1]), "%s/aggregator.key", argv[1]);
	snprintf(path[2], sizeof(path[2]), "%s/ca.crt", argv[1]);
	snprintf(path[3], sizeof(path[3]), "%s/crl.pem", argv[1]);
	/* With the CRL when there is one, as fed_bench.sh runs mcaid. */
	crl = fopen(path[3], "re");
	if (crl)
		fclose(crl);
	f = (struct mcai_tls_files){ path[0], path[1], path[2],
				     crl ? path[3] : NULL };
	if (mcai_tls_ctx_new(&sctx, &f))
		die("server context");
	snprintf(path[0], sizeof(path[0]), "%s/node1.crt", argv[1]);
	snprintf(path[1], sizeof(path[1]), "%s/node1.key", argv[1]);
	if (mcai_tls_ctx_new(&cctx, &f))
		die("client context");
	if (mcai_tls_init(&srv, sctx, true) || mcai_tls_init(&cli, cctx, false) ||
	    mcai_tls_set_peer_name(&cli, "localhost"))
		die("tls init");
	for (i = 0; i < 20 && !(srv.done && cli.done); i++) {
		if (mcai_tls_handshake(&cli) < 0)
			die(cli.why);
		shuttle(&cli, &srv);
		if (mcai_tls_handshake(&srv) < 0)
			die(srv.why);
		shuttle(&srv, &cli);
	}
	if (!srv.done || !cli.done)
		die("handshake did not finish");
	cipher = SSL_get_cipher_name((SSL *)srv.ssl);

	frame_len = HEAD_BYTES + 4 * n_params;
	frame = malloc(frame_len);
	plain = malloc(frame_len);
	acc = calloc(n_params, sizeof(*acc));
	if (!frame || !plain || !acc)
		die("out of memory");
	for (size_t j = 0; j < n_params; j++) {
		float v = (float)((int)(j % 2001) - 1000) * 1e-6f;

		memcpy(frame + HEAD_BYTES + 4 * j, &v, sizeof(v));
	}
	memset(frame, 0x5a, HEAD_BYTES);

	for (run = 0; run < PASSES; run++) {
		double t_tls = 0, t_fold = 0;
		size_t off = 0;

		/* The nodes' side, not timed: one pass of ciphertext. */
		w.len = 0;
		for (k = 0; k < updates; k++) {
			if (mcai_tls_write(&cli, frame, HEAD_BYTES) ||
			    mcai_tls_write(&cli, frame + HEAD_BYTES,
					   frame_len - HEAD_BYTES))
				die(cli.why);
			wire_take(&w, &cli);
		}
		wire_per = w.len / updates;

		for (k = 0; k < updates; k++) {
			size_t got = 0;
			double t0 = cpu_us(), t1;

			while (got < frame_len) {
				ssize_t r = mcai_tls_read(&srv, plain + got,
							  frame_len - got);

				if (r > 0) {
					got += (size_t)r;
					continue;
				}
				if (r < 0)
					die(srv.why);
				if (off == w.len)
					die("ran out of ciphertext");
				size_t n = w.len - off < RECV_CHUNK ?
					   w.len - off : RECV_CHUNK;
				if (mcai_tls_feed(&srv, w.p + off, n))
					die("feed: out of memory");
				off += n;
			}
			t1 = cpu_us();
			fold(acc, plain + HEAD_BYTES, 1.0 + k, n_params);
			t_tls += t1 - t0;
			t_fold += cpu_us() - t1;
		}
		t_tls /= updates;
		t_fold /= updates;
		if (t_tls < best_tls)
			best_tls = t_tls;
		if (t_fold < best_fold)
			best_fold = t_fold;
	}
	if (suite_aead(cipher))
		aead = aead_us(suite_aead(cipher), w.p, wire_per, updates);
	rcpu = recv_cost(w.p, w.len, updates);

	printf("cipher=%s\nupdate_bytes=%zu\nwire_bytes=%zu\n", cipher,
	       frame_len, wire_per);
	printf("tls_us=%.1f\nfold_us=%.1f\naead_us=%.1f\nrecv_us=%.1f\n"
	       "floor_us=%.1f\n", best_tls, best_fold, aead, rcpu,
	       best_tls + best_fold);
	mcai_tls_fini(&srv);
	mcai_tls_fini(&cli);
	mcai_tls_ctx_free(sctx);
	mcai_tls_ctx_free(cctx);
	free(w.p);
	free(frame);
	free(plain);
	/* The sum is used, so the fold is not optimised away. */
	return acc[n_params / 2] == 12345.0 ? 3 : (free(acc), 0);
}
