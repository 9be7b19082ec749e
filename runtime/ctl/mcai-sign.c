// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-sign: append a PKCS#7 signature to a model blob in the format
 * /dev/mcai checks with require_signed=1 (uapi/mcai.h, "Signed blobs"),
 * and show, strip or verify one in user space.
 *
 * The signature is made like the kernel's scripts/sign-file.c signs a
 * module: CMS SignedData, detached, binary, no signed attributes, signer
 * identified by issuer and serial number, SHA-256; the signer's
 * certificate is left out unless --certs asks for it (needed when the
 * keyring holds the CA that issued it rather than the certificate
 * itself).
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "models/engine/port.h"
#include "runtime/fed/sigtrailer.h"
#include "uapi/mcai.h"

#define MAX_FILE	(1U << 30)	/* max_blob_size's own upper bound */

static const char *prog = "mcai-sign";

static void usage(FILE *f)
{
	fprintf(f,
"usage: %s sign --key KEY.pem --cert CERT.pem [--certs] [-o OUT] BLOB\n"
"       %s show FILE\n"
"       %s strip [-o OUT] FILE\n"
"       %s verify --cert CERT.pem FILE\n"
"\n"
"sign    append a PKCS#7 signature (RSA or EC key, SHA-256) and the trailer\n"
"        /dev/mcai checks with require_signed=1; OUT defaults to BLOB.signed.\n"
"        --certs puts the signer's certificate into the signature, for a\n"
"        keyring that holds the issuing CA instead of the certificate.\n"
"show    say whether FILE is signed, and the lengths in its trailer\n"
"strip   write FILE without its signature (OUT defaults to standard output)\n"
"verify  check the signature against CERT.pem (the signer's certificate),\n"
"        as the kernel does for a certificate in its .mcai keyring\n"
"\n"
"The kernel trusts the certificates in its .mcai keyring; as root:\n"
"  openssl x509 -in CERT.pem -outform DER -out CERT.der\n"
"  keyctl padd asymmetric \"\" %%keyring:.mcai < CERT.der\n",
		prog, prog, prog, prog);
}

static void ossl_fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", prog, what);
	ERR_print_errors_fp(stderr);
}

static unsigned char *read_all(const char *path, size_t *len)
{
	unsigned char *buf = NULL, *nb;
	size_t cap = 0, n = 0, got;
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			if (cap > MAX_FILE + 1)
				cap = MAX_FILE + 1;
			if (n == cap) {
				fprintf(stderr, "%s: %s: larger than %u bytes\n",
					prog, path, MAX_FILE);
				goto fail;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "%s: out of memory\n", prog);
				goto fail;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: %s: read error\n", prog, path);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

static int write_all(const char *path, const void *a, size_t alen,
		     const void *b, size_t blen, const void *c, size_t clen)
{
	FILE *f = path ? fopen(path, "wb") : stdout;
	int bad;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	bad = fwrite(a, 1, alen, f) != alen || fwrite(b, 1, blen, f) != blen ||
	      fwrite(c, 1, clen, f) != clen;
	if (f != stdout)
		bad |= fclose(f) != 0;
	else
		bad |= fflush(f) != 0;
	if (bad) {
		fprintf(stderr, "%s: %s: write error\n", prog,
			path ? path : "stdout");
		return -1;
	}
	return 0;
}

static X509 *load_cert(const char *path)
{
	BIO *b = BIO_new_file(path, "rb");
	X509 *x = NULL;

	if (!b) {
		ossl_fail(path);
		return NULL;
	}
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!x) {
		/* DER, as handed to keyctl, works too */
		BIO_reset(b);
		x = d2i_X509_bio(b, NULL);
	}
	BIO_free(b);
	if (!x)
		ossl_fail("cannot read the certificate");
	return x;
}

static EVP_PKEY *load_key(const char *path)
{
	BIO *b = BIO_new_file(path, "rb");
	EVP_PKEY *k;

	if (!b) {
		ossl_fail(path);
		return NULL;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!k)
		ossl_fail("cannot read the private key");
	return k;
}

/* DER of a detached CMS signature over @blob; NULL on failure. */
static unsigned char *cms_sign(const unsigned char *blob, size_t len,
			       X509 *cert, EVP_PKEY *key, int with_certs,
			       int *der_len)
{
	unsigned int flags = CMS_BINARY | CMS_DETACHED | CMS_PARTIAL |
			     CMS_NOSMIMECAP | CMS_NOATTR;
	unsigned char *der = NULL;
	CMS_ContentInfo *cms;
	BIO *in;

	if (!with_certs)
		flags |= CMS_NOCERTS;
	in = BIO_new_mem_buf(blob, (int)len);
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if (!in || !cms) {
		ossl_fail("CMS_sign");
		goto out;
	}
	if (!CMS_add1_signer(cms, cert, key, EVP_sha256(), flags)) {
		ossl_fail("CMS_add1_signer (does the key match the certificate?)");
		goto out;
	}
	if (!CMS_final(cms, in, NULL, flags)) {
		ossl_fail("CMS_final");
		goto out;
	}
	*der_len = i2d_CMS_ContentInfo(cms, &der);
	if (*der_len <= 0) {
		ossl_fail("i2d_CMS_ContentInfo");
		der = NULL;
	}
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return der;
}

static int cmd_sign(const char *keyf, const char *certf, int with_certs,
		    const char *out, const char *in)
{
	unsigned char trailer[MCAI_SIG_TRAILER_LEN], *blob, *der = NULL;
	uint32_t bl, sl;
	const char *why = NULL;
	char *def = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	size_t len;
	int der_len = 0, ret = 1;

	blob = read_all(in, &len);
	if (!blob)
		return 1;
	if (mcai_sig_trailer_parse(blob, len, &bl, &sl, &why)) {
		fprintf(stderr, "%s: %s is already signed; strip it first\n",
			prog, in);
		goto out;
	}
	if (!len || len > MAX_FILE - MCAI_SIG_MAX_LEN - MCAI_SIG_TRAILER_LEN) {
		fprintf(stderr, "%s: %s: bad size %zu\n", prog, in, len);
		goto out;
	}
	cert = load_cert(certf);
	key = load_key(keyf);
	if (!cert || !key)
		goto out;
	der = cms_sign(blob, len, cert, key, with_certs, &der_len);
	if (!der)
		goto out;
	if (der_len > MCAI_SIG_MAX_LEN) {
		fprintf(stderr, "%s: signature of %d bytes, more than the %d the kernel takes\n",
			prog, der_len, MCAI_SIG_MAX_LEN);
		goto out;
	}
	memset(trailer, 0, sizeof(trailer));
	trailer[0] = MCAI_SIG_ID_PKCS7;
	trailer[1] = MCAI_SIG_VERSION;
	mcai_put_le32(trailer + 4, (uint32_t)der_len);
	mcai_put_le32(trailer + 8, (uint32_t)len);
	memcpy(trailer + 12, MCAI_SIG_MAGIC, MCAI_SIG_MAGIC_LEN);
	if (!out) {
		def = malloc(strlen(in) + sizeof(".signed"));
		if (!def)
			goto out;
		sprintf(def, "%s.signed", in);
		out = def;
	}
	if (write_all(out, blob, len, der, (size_t)der_len, trailer,
		      sizeof(trailer)))
		goto out;
	fprintf(stderr, "%s: %s: %zu bytes + %d bytes of signature\n", prog,
		out, len, der_len);
	ret = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	X509_free(cert);
	free(def);
	free(blob);
	return ret;
}

/* A file of @in and what its trailer says; see mcai_sig_trailer_parse(). */
struct signed_file {
	unsigned char *p;
	size_t len;
	uint32_t bl, sl;
	const char *why;
};

/* Read @in and parse its trailer into *r; false if it cannot be read. */
static bool read_signed(const char *in, struct signed_file *sf, int *r)
{
	memset(sf, 0, sizeof(*sf));
	sf->p = read_all(in, &sf->len);
	if (!sf->p)
		return false;
	*r = mcai_sig_trailer_parse(sf->p, sf->len, &sf->bl, &sf->sl,
				    &sf->why);
	return true;
}

static int cmd_show(const char *in)
{
	struct signed_file sf;
	int r;

	if (!read_signed(in, &sf, &r))
		return 1;
	if (r == 0)
		printf("%s: unsigned, %zu bytes\n", in, sf.len);
	else if (r > 0)
		printf("%s: signed, blob %u bytes, PKCS#7 %u bytes, trailer %d bytes\n",
		       in, sf.bl, sf.sl, MCAI_SIG_TRAILER_LEN);
	else
		printf("%s: malformed: %s\n", in, sf.why);
	free(sf.p);
	return r < 0;
}

static int cmd_strip(const char *out, const char *in)
{
	struct signed_file sf;
	int r;

	if (!read_signed(in, &sf, &r))
		return 1;
	if (r < 0)
		fprintf(stderr, "%s: %s: malformed signature trailer: %s\n",
			prog, in, sf.why);
	else
		r = write_all(out, sf.p, r ? sf.bl : sf.len, "", 0, "", 0);
	free(sf.p);
	return r != 0;
}

static int cmd_verify(const char *certf, const char *in)
{
	uint32_t bl = 0, sl = 0;
	const char *why = NULL, *der;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *certs = NULL;
	BIO *content = NULL;
	X509 *cert = NULL;
	unsigned char *p;
	size_t len;
	int r, ret = 1;

	p = read_all(in, &len);
	if (!p)
		return 1;
	r = mcai_sig_trailer_parse(p, len, &bl, &sl, &why);
	if (r <= 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, in,
			r ? why : "not signed");
		goto out;
	}
	cert = load_cert(certf);
	if (!cert)
		goto out;
	der = (const char *)p + bl;
	cms = d2i_CMS_ContentInfo(NULL, (const unsigned char **)&der, sl);
	certs = sk_X509_new_null();
	content = BIO_new_mem_buf(p, (int)bl);
	if (!cms || !certs || !content || !sk_X509_push(certs, cert)) {
		ossl_fail("cannot parse the PKCS#7 signature");
		goto out;
	}
	/* Trust is the keyring's business: only the signature is checked. */
	if (CMS_verify(cms, certs, NULL, content, NULL,
		       CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY |
		       CMS_NOINTERN) != 1) {
		ossl_fail("signature does not verify");
		goto out;
	}
	printf("%s: signature verifies (%u bytes signed)\n", in, bl);
	ret = 0;
out:
	sk_X509_free(certs);
	X509_free(cert);
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	free(p);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "certs", no_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *key = NULL, *cert = NULL, *out = NULL, *cmd;
	int with_certs = 0, c;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;	/* options follow the command */
	while ((c = getopt_long(argc, argv, "k:c:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'C':
			with_certs = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "sign") && key && cert)
		return cmd_sign(key, cert, with_certs, out, argv[optind]);
	if (!strcmp(cmd, "show") && !key && !cert && !out)
		return cmd_show(argv[optind]);
	if (!strcmp(cmd, "strip") && !key && !cert)
		return cmd_strip(out, argv[optind]);
	if (!strcmp(cmd, "verify") && cert && !key && !out)
		return cmd_verify(cert, argv[optind]);
	usage(stderr);
	return 2;
}
