// SPDX-License-Identifier: GPL-2.0
/*
 * Guest test: signed blobs against mcai.ko (kmod/sign.c).
 *
 *   sign_check load FILE EXPECT
 *	MODEL_LOAD FILE; EXPECT is ok, EKEYREJECTED, EBADMSG or EINVAL.
 *	A refusal must carry a reason and leave no model behind; an
 *	accepted blob must infer bit for bit like the user-space engine on
 *	the blob without its signature, then it is unloaded.
 *   sign_check mutate SIGNED strict|lax
 *	Hostile variants of a signed blob, each refused with the errno the
 *	mode allows (uapi/mcai.h, "Signed blobs"); strict is for
 *	require_signed=1 with the signer's key in the keyring, lax for
 *	require_signed=0.  The intact file loads at the end.
 *   sign_check replay SIGNED_A SIGNED_B
 *	A's blob with B's signature in a well-formed trailer: EKEYREJECTED.
 *
 * No model may be loaded when it starts.  Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "models/engine/engine.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"
#include "uapi/mcai.h"

#include "report.h"


/* The test keys are RSA-2048 (tests/sign/make-keys.sh). */
#define RSA_SIG_LEN	256
static int fd = -1;
static struct mcai_limits lim;

static u32 nr_models(void)
{
	struct mcai_info info;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (ioctl(fd, MCAI_IOC_GET_INFO, &info)) {
		fail("GET_INFO: %s", strerror(errno));
		return ~0U;
	}
	return info.nr_models;
}

static u32 get_le32(const u8 *p)
{
	return p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static void put_le32(u8 *p, u32 v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* Offsets of a well-formed signed file. */
struct signed_file {
	u8 *p;
	u32 size, blob_len, sig_len, info_off;
};

static int open_signed(const char *path, struct signed_file *f)
{
	char err[4200];

	f->p = mcai_blob_read(path, 1 << 28, &f->size, err, sizeof(err));
	if (!f->p) {
		fail("%s", err);
		return -1;
	}
	if (f->size < MCAI_SIG_TRAILER_LEN ||
	    memcmp(f->p + f->size - MCAI_SIG_MAGIC_LEN, MCAI_SIG_MAGIC,
		   MCAI_SIG_MAGIC_LEN)) {
		fail("%s is not signed", path);
		return -1;
	}
	f->info_off = f->size - MCAI_SIG_TRAILER_LEN;
	f->sig_len = get_le32(f->p + f->info_off + 4);
	f->blob_len = get_le32(f->p + f->info_off + 8);
	if ((u64)f->blob_len + f->sig_len != f->info_off) {
		fail("%s: trailer lengths do not add up", path);
		return -1;
	}
	return 0;
}

/* Infer on a few inputs and compare with the user-space engine. */
static void infer_check(u32 id, const u8 *blob, u32 size, const char *what)
{
	static s8 in[65536], want[65536], got[65536], arena[1 << 20];
	struct mcai_verdict v;
	struct mcai_model m;
	u32 k, i, seed = 7;

	if (mcai_verify(&m, blob, size, &lim, &v)) {
		fail("%s: user-space verifier: %s", what, v.reason);
		return;
	}
	if (m.input_len > sizeof(in) || m.output_len > sizeof(got) ||
	    m.arena_size > sizeof(arena)) {
		fail("%s: model too large for this test", what);
		return;
	}
	for (k = 0; k < 32; k++) {
		struct mcai_infer req;
		int cls;

		for (i = 0; i < m.input_len; i++) {
			seed = seed * 1664525u + 1013904223u;
			in[i] = (s8)(seed >> 24);
		}
		cls = mcai_engine_run(&m, in, want, arena);
		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.ref.model_id = id;
		req.input_ptr = (u64)(uintptr_t)in;
		req.scores_ptr = (u64)(uintptr_t)got;
		req.input_len = m.input_len;
		req.scores_len = m.output_len;
		if (ioctl(fd, MCAI_IOC_INFER, &req)) {
			fail("%s: INFER %u: %s", what, k, strerror(errno));
			return;
		}
		if (req.class_id != cls || req.scores_len != m.output_len ||
		    memcmp(got, want, m.output_len)) {
			fail("%s: INFER %u: class %d, user space %d, scores %s",
			     what, k, req.class_id, cls,
			     memcmp(got, want, m.output_len) ? "differ" : "equal");
			return;
		}
	}
}

static void unload(u32 id)
{
	struct mcai_model_unload u;

	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.ref.model_id = id;
	if (ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u))
		fail("MODEL_UNLOAD %u: %s", id, strerror(errno));
}

#define ALLOW_OK		(1U << 0)
#define ALLOW_EKEYREJECTED	(1U << 1)
#define ALLOW_EBADMSG		(1U << 2)
#define ALLOW_EINVAL		(1U << 3)

static unsigned int allow_bit(int err)
{
	switch (err) {
	case 0:
		return ALLOW_OK;
	case EKEYREJECTED:
		return ALLOW_EKEYREJECTED;
	case EBADMSG:
		return ALLOW_EBADMSG;
	case EINVAL:
		return ALLOW_EINVAL;
	default:
		return 1U << 31;
	}
}

static unsigned long tally[4];	/* ok, EKEYREJECTED, EBADMSG, EINVAL */

/*
 * Load @size bytes at @p; the result must be one of @allow.  An accepted
 * blob is checked against the user-space engine (on @plain_len bytes:
 * the blob without its trailer) and unloaded.  Returns the errno.
 */
/* The reason the last refused load gave. */
static char last_reason[MCAI_REASON_LEN];

static int try_load(const u8 *p, u32 size, u32 plain_len, unsigned int allow,
		    const char *what)
{
	struct mcai_model_load req;
	unsigned int i;
	int err = 0;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.blob_ptr = (u64)(uintptr_t)p;
	req.blob_size = size;
	if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &req))
		err = errno;
	memcpy(last_reason, req.reason, sizeof(last_reason));
	last_reason[sizeof(last_reason) - 1] = '\0';
	for (i = 0; i < 4; i++)
		if (allow_bit(err) == 1U << i)
			tally[i]++;
	if (!(allow_bit(err) & allow)) {
		fail("%s: MODEL_LOAD: %s (reason \"%s\")", what,
		     err ? strerror(err) : "accepted", req.reason);
	} else if (err && !req.reason[0] && err != ENOMEM) {
		fail("%s: refused (%s) without a reason", what, strerror(err));
	}
	if (!err) {
		infer_check(req.model_id, p, plain_len, what);
		unload(req.model_id);
	} else if (nr_models()) {
		fail("%s: a model is loaded after a refusal", what);
	}
	return err;
}

static int cmd_load(const char *path, const char *expect)
{
	static const struct { const char *name; unsigned int allow; } e[] = {
		{ "ok", ALLOW_OK }, { "EKEYREJECTED", ALLOW_EKEYREJECTED },
		{ "EBADMSG", ALLOW_EBADMSG }, { "EINVAL", ALLOW_EINVAL },
	};
	unsigned int i, allow = 0;
	u32 size, plain;
	char err[4200];
	u8 *p;

	for (i = 0; i < sizeof(e) / sizeof(e[0]); i++)
		if (!strcmp(expect, e[i].name))
			allow = e[i].allow;
	if (!allow) {
		fail("unknown expectation %s", expect);
		return 1;
	}
	p = mcai_blob_read(path, 1 << 28, &size, err, sizeof(err));
	if (!p) {
		fail("%s", err);
		return 1;
	}
	plain = size;
	if (size >= MCAI_SIG_TRAILER_LEN &&
	    !memcmp(p + size - MCAI_SIG_MAGIC_LEN, MCAI_SIG_MAGIC,
		    MCAI_SIG_MAGIC_LEN))
		plain = get_le32(p + size - MCAI_SIG_TRAILER_LEN + 8);
	if (plain > size)
		plain = size;
	try_load(p, size, plain, allow, path);
	free(p);
	return 0;
}

/* A copy of @f with its trailer rewritten: sig_len, blob_len, byte 0..3. */
static u8 *with_trailer(const struct signed_file *f, u32 sig_len, u32 blob_len,
			const u8 head[4])
{
	u8 *q = malloc(f->size);

	if (!q)
		abort();
	memcpy(q, f->p, f->size);
	memcpy(q + f->info_off, head, 4);
	put_le32(q + f->info_off + 4, sig_len);
	put_le32(q + f->info_off + 8, blob_len);
	return q;
}

static int cmd_mutate(const char *path, const char *mode)
{
	const int strict = !strcmp(mode, "strict");
	const u8 good[4] = { MCAI_SIG_ID_PKCS7, MCAI_SIG_VERSION, 0, 0 };
	/* What a broken signature, or a missing one, may get. */
	const unsigned int sig_bad = strict ?
		ALLOW_EKEYREJECTED | ALLOW_EBADMSG : ALLOW_OK;
	const unsigned int no_trailer = strict ? ALLOW_EKEYREJECTED :
					ALLOW_EINVAL;
	struct signed_file f;
	char what[160];
	u32 i, len, bl;
	u8 *q;

	if (!strict && strcmp(mode, "lax")) {
		fail("mode is strict or lax");
		return 1;
	}
	if (open_signed(path, &f))
		return 1;
	q = malloc(f.size + 64);
	if (!q)
		abort();

	/* 1. One flipped byte in the signed content. */
	for (i = 0; i < f.blob_len; i += i < 256 || i + 256 > f.blob_len ? 37 : 4099) {
		memcpy(q, f.p, f.size);
		q[i] ^= 0x5a;
		snprintf(what, sizeof(what), "content byte %u flipped", i);
		/* lax: the verifier catches it (digest, header) */
		try_load(q, f.size, f.blob_len,
			 strict ? ALLOW_EKEYREJECTED : ALLOW_EINVAL, what);
	}
	printf("%s: content flips refused\n", prog);

	/*
	 * 2. Every byte of the PKCS#7, flipped (lax: not looked at).  The
	 * signature value (the last RSA_SIG_LEN bytes: no unsigned
	 * attributes) must be refused.  The SignedData envelope around it
	 * is not signed: a flip that only changes what the kernel ignores
	 * or accepts either way (the outer digestAlgorithms set, SET vs
	 * SEQUENCE OF, the NULL algorithm parameters) may still verify, as
	 * with a module signature; the content and the signer cannot
	 * change, and an accepted blob is checked to run like the original.
	 * Those offsets are listed.
	 */
	for (i = 0; i < f.sig_len; i++) {
		const int in_value = i + RSA_SIG_LEN >= f.sig_len;

		memcpy(q, f.p, f.size);
		q[f.blob_len + i] ^= strict ? 0x01 : 0xff;
		snprintf(what, sizeof(what), "PKCS#7 byte %u/%u flipped", i,
			 f.sig_len);
		if (!try_load(q, f.size, f.blob_len,
			      in_value ? sig_bad : sig_bad | ALLOW_OK, what) &&
		    strict)
			printf("%s: PKCS#7 byte %u flipped still verifies (envelope)\n",
			       prog, i);
		if (!strict && i > 16)
			i += 31;
	}
	printf("%s: %u PKCS#7 byte flips done\n", prog, f.sig_len);

	/* 3. Every byte of the trailer, flipped. */
	for (i = f.info_off; i < f.size; i++) {
		memcpy(q, f.p, f.size);
		q[i] ^= 0x80;
		snprintf(what, sizeof(what), "trailer byte %u flipped",
			 i - f.info_off);
		try_load(q, f.size, f.blob_len,
			 i < f.info_off + 12 ? ALLOW_EBADMSG : no_trailer, what);
	}
	printf("%s: trailer flips refused\n", prog);

	/*
	 * 4. The file cut short: every length from 64 bytes before the end
	 * of the blob on, and a sample of shorter ones.  The magic is gone,
	 * so it is an unsigned blob, complete only at blob_len.
	 */
	for (len = 0; len < f.size; len++) {
		if (len + 64 < f.blob_len && len > 64 && len % 1499)
			continue;
		snprintf(what, sizeof(what), "cut to %u of %u bytes", len, f.size);
		/* registry.c refuses an empty blob before anything else */
		try_load(f.p, len, len,
			 !len ? ALLOW_EINVAL :
			 len == f.blob_len && !strict ? ALLOW_OK : no_trailer,
			 what);
	}
	printf("%s: truncated files refused\n", prog);

	/*
	 * 5. The PKCS#7 cut short inside a consistent trailer: the
	 * lengths add up, the DER does not.
	 */
	for (len = 1; len < f.sig_len; len++) {
		u8 *c = with_trailer(&f, len, f.blob_len, good);
		u32 drop = f.sig_len - len;

		memmove(c + f.blob_len + len, c + f.blob_len + f.sig_len,
			MCAI_SIG_TRAILER_LEN);
		snprintf(what, sizeof(what), "PKCS#7 cut to %u of %u bytes",
			 len, f.sig_len);
		try_load(c, f.size - drop, f.blob_len, sig_bad, what);
		free(c);
		if (!strict && len > 16)
			len += 31;
	}
	printf("%s: truncated signatures refused\n", prog);

	/* 6. Lying lengths and fields. */
	{
		const struct { u32 sig, blob; u8 head[4]; const char *what; } t[] = {
			{ 0, f.blob_len + f.sig_len, { 2, 1, 0, 0 }, "sig_len 0" },
			{ ~0U, f.blob_len, { 2, 1, 0, 0 }, "sig_len ~0" },
			{ MCAI_SIG_MAX_LEN + 1, f.blob_len, { 2, 1, 0, 0 }, "sig_len max+1" },
			{ f.info_off + 1, 0, { 2, 1, 0, 0 }, "sig_len past the start" },
			{ f.info_off, 0, { 2, 1, 0, 0 }, "blob_len 0" },
			{ f.sig_len, ~0U, { 2, 1, 0, 0 }, "blob_len ~0" },
			{ f.sig_len, f.blob_len + 1, { 2, 1, 0, 0 }, "blob_len + 1" },
			{ f.sig_len, f.blob_len - 1, { 2, 1, 0, 0 }, "blob_len - 1" },
			{ f.sig_len + 1, f.blob_len, { 2, 1, 0, 0 }, "sig_len + 1" },
			{ f.sig_len - 1, f.blob_len, { 2, 1, 0, 0 }, "sig_len - 1" },
			{ 0x80000000U + f.sig_len, 0x80000000U + f.blob_len, { 2, 1, 0, 0 }, "sum wraps" },
			{ f.sig_len, f.blob_len, { 1, 1, 0, 0 }, "id_type 1" },
			{ f.sig_len, f.blob_len, { 0, 1, 0, 0 }, "id_type 0" },
			{ f.sig_len, f.blob_len, { 2, 0, 0, 0 }, "version 0" },
			{ f.sig_len, f.blob_len, { 2, 2, 0, 0 }, "version 2" },
			{ f.sig_len, f.blob_len, { 2, 1, 1, 0 }, "reserved[0]" },
			{ f.sig_len, f.blob_len, { 2, 1, 0, 0x80 }, "reserved[1]" },
		};

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			u8 *c = with_trailer(&f, t[i].sig, t[i].blob, t[i].head);

			try_load(c, f.size, f.blob_len, ALLOW_EBADMSG, t[i].what);
			free(c);
		}
	}
	/* Trailing bytes after the magic: no longer a trailer. */
	memcpy(q, f.p, f.size);
	memset(q + f.size, 0, 64);
	try_load(q, f.size + 1, f.blob_len, no_trailer, "one byte after the magic");
	/* Only a trailer, or a trailer and a signature: nothing signed. */
	bl = f.size - f.blob_len;
	{
		u8 *c = with_trailer(&f, f.sig_len, 0, good);

		try_load(c + f.blob_len, bl, 0, ALLOW_EBADMSG, "no blob");
		free(c);
	}
	try_load(f.p + f.info_off, MCAI_SIG_TRAILER_LEN, 0, ALLOW_EBADMSG,
		 "trailer alone");
	printf("%s: lying trailers refused\n", prog);

	/*
	 * 7. A PKCS#7 as long as the kernel's ASN.1 decoder takes, and one
	 * byte more: the real signature padded with zeros.  Checked, it is
	 * refused (the DER ends before sig_len; past the decoder's limit, its
	 * -EMSGSIZE once came back with no reason); unchecked, the first is
	 * a well-formed trailer.
	 */
	for (len = MCAI_SIG_MAX_LEN; len <= MCAI_SIG_MAX_LEN + 1; len++) {
		u32 size = f.blob_len + len + MCAI_SIG_TRAILER_LEN;
		u8 *c = calloc(1, size);
		int err;

		if (!c)
			abort();
		memcpy(c, f.p, f.blob_len + f.sig_len);
		memcpy(c + f.blob_len + len, f.p + f.info_off,
		       MCAI_SIG_TRAILER_LEN);
		put_le32(c + f.blob_len + len + 4, len);
		snprintf(what, sizeof(what), "PKCS#7 padded to %u bytes", len);
		err = try_load(c, size, f.blob_len,
			       strict || len > MCAI_SIG_MAX_LEN ?
			       ALLOW_EBADMSG : ALLOW_OK, what);
		if (err && !strstr(last_reason, "PKCS#7") &&
		    !strstr(last_reason, "sig_len") &&
		    !strstr(last_reason, "does not match") &&
		    !strstr(last_reason, "signer"))
			fail("%s: reason \"%s\" does not say what is wrong",
			     what, last_reason);
		free(c);
	}
	printf("%s: oversized signatures refused with their reason\n", prog);

	/* 8. And the intact file still loads and runs. */
	try_load(f.p, f.size, f.blob_len, ALLOW_OK, "intact signed blob");
	printf("%s: %s: ok %lu, EKEYREJECTED %lu, EBADMSG %lu, EINVAL %lu\n",
	       prog, mode, tally[0], tally[1], tally[2], tally[3]);
	free(q);
	free(f.p);
	return 0;
}

static int cmd_replay(const char *a_path, const char *b_path)
{
	struct signed_file a, b;
	u32 size;
	u8 *q;

	if (open_signed(a_path, &a) || open_signed(b_path, &b))
		return 1;
	size = a.blob_len + b.sig_len + MCAI_SIG_TRAILER_LEN;
	q = malloc(size);
	if (!q)
		abort();
	memcpy(q, a.p, a.blob_len);
	memcpy(q + a.blob_len, b.p + b.blob_len,
	       b.sig_len + MCAI_SIG_TRAILER_LEN);
	put_le32(q + size - MCAI_SIG_TRAILER_LEN + 8, a.blob_len);
	try_load(q, size, a.blob_len, ALLOW_EKEYREJECTED,
		 "blob with another blob's signature");
	free(q);
	free(a.p);
	free(b.p);
	return 0;
}

int main(int argc, char **argv)
{
	struct mcai_info info;

	prog = "sign_check";
	if (argc != 4) {
		fprintf(stderr,
			"usage: %s load FILE ok|EKEYREJECTED|EBADMSG|EINVAL\n"
			"       %s mutate SIGNED strict|lax\n"
			"       %s replay SIGNED_A SIGNED_B\n", prog, prog, prog);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 1;
	}
	fd = open("/dev/" MCAI_DEVICE_NAME, O_RDWR);
	if (fd < 0) {
		fail("/dev/mcai: %s", strerror(errno));
		return 1;
	}
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (ioctl(fd, MCAI_IOC_GET_INFO, &info)) {
		fail("GET_INFO: %s", strerror(errno));
		return 1;
	}
	if (!(info.features & MCAI_FEAT_SIGNED))
		fail("GET_INFO: no MCAI_FEAT_SIGNED");
	if (info.nr_models) {
		fail("%u models already loaded", info.nr_models);
		return 1;
	}
	lim.max_blob_size = info.max_blob_size;
	lim.max_layers = info.max_layers;
	lim.max_dim = info.max_dim;
	lim.max_arena = info.max_arena;

	if (!strcmp(argv[1], "load"))
		cmd_load(argv[2], argv[3]);
	else if (!strcmp(argv[1], "mutate"))
		cmd_mutate(argv[2], argv[3]);
	else if (!strcmp(argv[1], "replay"))
		cmd_replay(argv[2], argv[3]);
	else
		fail("unknown command %s", argv[1]);
	if (nr_models())
		fail("models left loaded");
	close(fd);
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", prog, failures);
		return 1;
	}
	return 0;
}
