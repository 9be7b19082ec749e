// SPDX-License-Identifier: GPL-2.0
/*
 * Secure aggregation (Bonawitz et al. 2017, SecAgg+ of Bell et al. 2020):
 * the node and aggregator state machines of runtime/fed/secagg.h, Shamir over
 * GF(2^61 - 1), the fixed-point ring encoding and the neighbourhood graph.
 * OpenSSL does X25519, HKDF-SHA256, AES-128-CTR (the PRG), AES-256-GCM
 * (the shares in transit) and the randomness; in signed rounds also the
 * fleet certificates' chains and signatures.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "runtime/fed/secagg.h"

#define KEY_LEN		MCAI_SECAGG_KEY_LEN
#define SHARE_LEN	MCAI_SECAGG_SHARE_LEN
#define CT_LEN		MCAI_SECAGG_CT_LEN
#define PT_LEN		(CT_LEN - 16)
#define PRG_KEY_LEN	16
#define GCM_KEY_LEN	32
#define VERSION		1

/* Node flags at the aggregator: the sets of Bonawitz et al. */
#define IN_U1	0x1	/* advertised keys */
#define IN_U2	0x2	/* sent its shares */
#define IN_U3	0x4	/* sent its masked input */
#define IN_U4	0x8	/* answered the unmask request */
#define IN_C	0x10	/* signed rounds: confirmed the survivor set */

static void say(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* Index of @id in the ascending @v[0..n), or -1. */
static int find_u32(const u32 *v, u32 n, u32 id)
{
	const u32 *hit = bsearch(&id, v, n, sizeof(*v), cmp_u32);

	return hit ? (int)(hit - v) : -1;
}

/* ---- Reading messages --------------------------------------------------- */

struct rd {
	const u8 *p;
	size_t left;
	bool bad;
};

static const u8 *rd_bytes(struct rd *r, size_t n)
{
	const u8 *p = r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static u32 rd_u32(struct rd *r)
{
	const u8 *p = rd_bytes(r, 4);

	return p ? mcai_le32(p) : 0;
}

static u16 rd_u16(struct rd *r)
{
	const u8 *p = rd_bytes(r, 2);

	return p ? mcai_le16(p) : 0;
}

/* u16 length, then that many bytes (1 .. @max); NULL when out of bounds. */
static const u8 *rd_blob(struct rd *r, size_t max, u16 *len)
{
	*len = rd_u16(r);
	if (r->bad || !*len || *len > max) {
		r->bad = true;
		return NULL;
	}
	return rd_bytes(r, *len);
}

/* The header of a @type message for round p->round; the node id out. */
static int rd_hdr(struct rd *r, const u8 *msg, size_t len, u8 type,
		  const struct mcai_secagg_params *p, u32 *node, char *why,
		  size_t why_len)
{
	const u8 *h;

	r->p = msg;
	r->left = msg ? len : 0;
	r->bad = false;
	h = rd_bytes(r, MCAI_SECAGG_HDR_LEN);
	if (!h) {
		say(why, why_len, "message shorter than its header");
		return -EBADMSG;
	}
	if (h[0] != type || h[1] != VERSION || h[2] || h[3]) {
		say(why, why_len, "message type %u version %u, want %u version %u",
		    h[0], h[1], type, VERSION);
		return -EBADMSG;
	}
	if (mcai_le64(h + 8) != p->round) {
		say(why, why_len, "message for round %llu, this is round %llu",
		    (unsigned long long)mcai_le64(h + 8),
		    (unsigned long long)p->round);
		return -EBADMSG;
	}
	*node = mcai_le32(h + 4);
	if (*node >= p->nodes) {
		say(why, why_len, "node %u out of range", *node);
		return -EBADMSG;
	}
	return 0;
}

static int rd_end(const struct rd *r, char *why, size_t why_len)
{
	if (r->bad || r->left) {
		say(why, why_len, r->bad ? "message truncated" :
		    "trailing bytes after the message");
		return -EBADMSG;
	}
	return 0;
}

static void put_hdr(struct mcai_buf *b, u8 type, u32 node, u64 round)
{
	mcai_buf_put_u8(b, type);
	mcai_buf_put_u8(b, VERSION);
	mcai_buf_put_u16(b, 0);
	mcai_buf_put_u32(b, node);
	mcai_buf_put_u64(b, round);
}

/* ---- Parameters, graph, encoding --------------------------------------- */

u32 mcai_secagg_plus_degree(u32 nodes)
{
	u32 lg = 0;

	while (lg < 32 && (UINT64_C(1) << lg) < nodes)
		lg++;
	return 2 * lg < nodes - 1 ? 2 * lg : 0;
}

u32 mcai_secagg_holders(const struct mcai_secagg_params *p)
{
	return p->degree ? p->degree : p->nodes - 1;
}

void mcai_secagg_params_default(struct mcai_secagg_params *p, u64 round,
				u32 nodes, u32 dim)
{
	memset(p, 0, sizeof(*p));
	p->round = round;
	p->nodes = nodes;
	p->dim = dim;
	p->threshold = nodes > 1 ? (nodes - 1) / 2 + 1 : 1;
	p->scale_bits = 16;
	p->clip = 4.0f;
	p->ring_bits = 32;
}

static bool ring16(const struct mcai_secagg_params *p)
{
	return p->ring_bits == 16;
}

int mcai_secagg_params_check(const struct mcai_secagg_params *p, char *why,
			     size_t why_len)
{
	u32 d;
	double top;

	if (!p->round) {
		say(why, why_len, "round 0: rounds start at 1");
		return -EINVAL;
	}
	if (p->nodes < 2 || p->nodes > MCAI_SECAGG_MAX_NODES) {
		say(why, why_len, "%u nodes, want 2 .. %u", p->nodes,
		    MCAI_SECAGG_MAX_NODES);
		return -EINVAL;
	}
	if (p->degree && (p->degree % 2 || p->degree >= p->nodes - 1)) {
		say(why, why_len,
		    "degree %u: 0 (complete) or even and below n - 1 = %u",
		    p->degree, p->nodes - 1);
		return -EINVAL;
	}
	d = mcai_secagg_holders(p);
	/* A strict majority: two quorums of holders always meet. */
	if (p->threshold > d || 2 * p->threshold <= d) {
		say(why, why_len, "threshold %u: want %u/2 < t <= %u", p->threshold,
		    d, d);
		return -EINVAL;
	}
	if (!p->dim || p->dim > MCAI_PROTO_MAX_FLOATS) {
		say(why, why_len, "dim %u: want 1 .. %u", p->dim,
		    (u32)MCAI_PROTO_MAX_FLOATS);
		return -EINVAL;
	}
	if (p->flags & ~(u32)MCAI_SECAGG_F_SIGNED) {
		say(why, why_len, "unknown flags 0x%x", p->flags);
		return -EINVAL;
	}
	if (p->ring_bits && p->ring_bits != 16 && p->ring_bits != 32) {
		say(why, why_len, "ring of %u bits: 16 or 32", p->ring_bits);
		return -EINVAL;
	}
	if (p->scale_bits > 24 || !isfinite(p->clip) || !(p->clip > 0)) {
		say(why, why_len, "scale_bits %u (<= 24), clip %g (> 0)",
		    p->scale_bits, (double)p->clip);
		return -EINVAL;
	}
	top = floor((double)p->clip * ldexp(1.0, (int)p->scale_bits)) + 1;
	if ((double)p->nodes * top > 2147483647.0) {
		say(why, why_len,
		    "%u nodes x clip %g x 2^%u overflows the 32-bit ring",
		    p->nodes, (double)p->clip, p->scale_bits);
		return -EINVAL;
	}
	return 0;
}

void mcai_secagg_encode(const struct mcai_secagg_params *p, const float *x,
			u32 *w)
{
	double lim = p->clip, sc = ldexp(1.0, (int)p->scale_bits);
	u32 i;

	for (i = 0; i < p->dim; i++) {
		double v = x[i];

		if (isnan(v))
			v = 0;
		v = v < -lim ? -lim : v > lim ? lim : v;
		/* two's complement: the conversion to u32 is mod 2^32 */
		w[i] = (u32)(s64)llround(v * sc);
	}
}

void mcai_secagg_decode(const struct mcai_secagg_params *p, const u32 *w,
			float *x)
{
	double sc = ldexp(1.0, -(int)p->scale_bits);
	u32 i;

	for (i = 0; i < p->dim; i++) {
		double v = w[i] >= 0x80000000u ? (double)w[i] - 4294967296.0 :
						 (double)w[i];

		x[i] = (float)(v * sc);
	}
}

/* HKDF-SHA256(ikm, info = label || round || a || b) -> out. */
static int hkdf(const u8 *ikm, size_t ikm_len, const char *label, u64 round,
		u32 a, u32 b, u8 *out, size_t out_len)
{
	u8 info[64];
	size_t ll = strlen(label);
	EVP_KDF *kdf;
	EVP_KDF_CTX *kc = NULL;
	OSSL_PARAM prm[4];
	int ok;

	memcpy(info, label, ll);
	mcai_put_le64(info + ll, round);
	mcai_put_le32(info + ll + 8, a);
	mcai_put_le32(info + ll + 12, b);
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf)
		kc = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						  (char *)"SHA256", 0);
	prm[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						   (void *)ikm, ikm_len);
	prm[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
						   ll + 16);
	prm[3] = OSSL_PARAM_construct_end();
	ok = kc && EVP_KDF_derive(kc, out, out_len, prm) == 1;
	EVP_KDF_CTX_free(kc);
	OPENSSL_cleanse(info, sizeof(info));
	return ok ? 0 : -EIO;
}

/*
 * The commitment to a self-mask seed, sent in ADVERT: the aggregator
 * checks the seed it rebuilds against it, so a bad share cannot go
 * unnoticed.  A 256-bit random seed stays hidden behind its hash.
 */
static int commit(const u8 b[KEY_LEN], u64 round, u32 id, u8 out[32])
{
	static const char label[] = "mcai-secagg commit";
	u8 m[sizeof(label) + 12 + KEY_LEN];
	unsigned int l = 0;
	int ok;

	memcpy(m, label, sizeof(label));
	mcai_put_le64(m + sizeof(label), round);
	mcai_put_le32(m + sizeof(label) + 8, id);
	memcpy(m + sizeof(label) + 12, b, KEY_LEN);
	ok = EVP_Digest(m, sizeof(m), out, &l, EVP_sha256(), NULL) == 1 &&
	     l == 32;
	OPENSSL_cleanse(m, sizeof(m));
	return ok ? 0 : -EIO;
}

/* An AES-128-CTR keystream from a zero IV, read in u32 words. */
struct stream {
	EVP_CIPHER_CTX *c;
	u8 buf[4096];
	u32 pos, len;
};

static int stream_init(struct stream *st, const u8 key[PRG_KEY_LEN])
{
	static const u8 iv[16];

	st->pos = st->len = 0;
	st->c = EVP_CIPHER_CTX_new();
	if (!st->c)
		return -ENOMEM;
	if (EVP_EncryptInit_ex(st->c, EVP_aes_128_ctr(), NULL, key, iv) != 1) {
		EVP_CIPHER_CTX_free(st->c);
		st->c = NULL;
		return -EIO;
	}
	return 0;
}

static void stream_free(struct stream *st)
{
	EVP_CIPHER_CTX_free(st->c);
	OPENSSL_cleanse(st->buf, sizeof(st->buf));
}

/* The next @n bytes of keystream into @out (n <= sizeof(buf)). */
static int stream_fill(struct stream *st, u8 *out, u32 n)
{
	static const u8 zero[sizeof(((struct stream *)0)->buf)];
	int outl = 0;

	if (EVP_EncryptUpdate(st->c, out, &outl, zero, (int)n) != 1 ||
	    outl != (int)n)
		return -EIO;
	return 0;
}

static int stream_u32(struct stream *st, u32 *v)
{
	int err;

	if (st->pos == st->len) {
		err = stream_fill(st, st->buf, sizeof(st->buf));
		if (err)
			return err;
		st->pos = 0;
		st->len = sizeof(st->buf);
	}
	*v = mcai_le32(st->buf + st->pos);
	st->pos += 4;
	return 0;
}

/* acc += PRG(key) or acc -= PRG(key), word by word mod 2^32. */
static int prg_add(const u8 key[PRG_KEY_LEN], u32 *acc, u32 n, bool sub)
{
	struct stream st;
	u32 off, i;
	int err = stream_init(&st, key);

	for (off = 0; !err && off < n; off += 1024) {
		u32 m = n - off < 1024 ? n - off : 1024;

		err = stream_fill(&st, st.buf, 4 * m);
		if (err)
			break;
		if (sub)
			for (i = 0; i < m; i++)
				acc[off + i] -= mcai_le32(st.buf + 4 * i);
		else
			for (i = 0; i < m; i++)
				acc[off + i] += mcai_le32(st.buf + 4 * i);
	}
	if (st.c)
		stream_free(&st);
	return err;
}

/*
 * The neighbours of every node into nbr (n rows of d, each ascending).
 * The ring order comes from the public seed, so everyone draws the same.
 */
static int graph_build(const struct mcai_secagg_params *p, u32 *nbr, u32 only)
{
	u32 n = p->nodes, d = mcai_secagg_holders(p), h = d / 2;
	u32 *who, *pos, i, k;
	u8 key[PRG_KEY_LEN];
	struct stream st;
	int err;

	if (!p->degree) {
		for (i = 0; i < n; i++) {
			u32 *row = nbr + (size_t)(only < n ? 0 : i) * d;

			if (only < n && i != only)
				continue;
			for (k = 0; k < n - 1; k++)
				row[k] = k < i ? k : k + 1;
		}
		return 0;
	}
	err = hkdf(p->graph_seed, sizeof(p->graph_seed), "mcai-secagg graph",
		   p->round, n, d, key, sizeof(key));
	if (err)
		return err;
	who = malloc(2 * (size_t)n * sizeof(*who));
	if (!who)
		return -ENOMEM;
	pos = who + n;
	err = stream_init(&st, key);
	OPENSSL_cleanse(key, sizeof(key));
	for (i = 0; i < n; i++)
		who[i] = i;
	/* Fisher-Yates; rejection keeps each draw exactly uniform */
	for (i = n - 1; !err && i > 0; i--) {
		u64 span = (u64)i + 1, lim = (UINT64_C(1) << 32) / span * span;
		u32 r, j, t;

		do {
			err = stream_u32(&st, &r);
		} while (!err && r >= lim);
		if (err)
			break;
		j = (u32)(r % span);
		t = who[i];
		who[i] = who[j];
		who[j] = t;
	}
	if (st.c)
		stream_free(&st);
	for (i = 0; i < n; i++)
		pos[who[i]] = i;
	for (i = 0; !err && i < n; i++) {
		u32 *row = nbr + (size_t)(only < n ? 0 : i) * d;

		if (only < n && i != only)
			continue;
		for (k = 1; k <= h; k++) {
			row[2 * (k - 1)] = who[(pos[i] + k) % n];
			row[2 * (k - 1) + 1] = who[(pos[i] + n - k) % n];
		}
		qsort(row, d, sizeof(*row), cmp_u32);
	}
	free(who);
	return err;
}

int mcai_secagg_neighbours(const struct mcai_secagg_params *p, u32 id,
			   u32 *out)
{
	int err;

	if (mcai_secagg_params_check(p, NULL, 0) || id >= p->nodes)
		return -EINVAL;
	err = graph_build(p, out, id);
	return err ? err : (int)mcai_secagg_holders(p);
}

/* ---- Shamir over GF(2^61 - 1) ------------------------------------------ */

#define P61 MCAI_SHAMIR_P

static u64 gf_add(u64 a, u64 b)
{
	u64 s = a + b;

	return s >= P61 ? s - P61 : s;
}

static u64 gf_sub(u64 a, u64 b)
{
	return a >= b ? a - b : a + P61 - b;
}

/* a, b < p: the product is below 2^122, so one fold and one subtraction. */
static u64 gf_mul(u64 a, u64 b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	u64 s = ((u64)r & P61) + (u64)(r >> 61);

	return s >= P61 ? s - P61 : s;
}

static u64 gf_inv(u64 a)
{
	u64 r = 1, e = P61 - 2;

	while (e) {
		if (e & 1)
			r = gf_mul(r, a);
		a = gf_mul(a, a);
		e >>= 1;
	}
	return r;
}

/* Limb l of a 32-byte secret: 7 bytes each, the last 4. */
static u32 limb_bytes(u32 l)
{
	return l < MCAI_SHAMIR_LIMBS - 1 ? 7 : KEY_LEN - 7 * (MCAI_SHAMIR_LIMBS - 1);
}

static int gf_rand(u64 *v)
{
	u8 b[8];

	/* 61 random bits; the all-ones value is p itself: draw again */
	do {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return -EIO;
		*v = mcai_le64(b) & P61;
	} while (*v == P61);
	return 0;
}

int mcai_shamir_split(const u8 secret[KEY_LEN], u32 t, u32 k, const u32 *xs,
		      struct mcai_shamir_share *out)
{
	u64 coef[MCAI_SHAMIR_LIMBS];
	u32 i, j, l, c;
	int err = 0;

	if (!t || t > k)
		return -EINVAL;
	for (i = 0; i < k; i++) {
		if (!xs[i])
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (xs[j] == xs[i])
				return -EINVAL;
	}
	for (i = 0; i < k; i++) {
		out[i].x = xs[i];
		for (l = 0; l < MCAI_SHAMIR_LIMBS; l++)
			out[i].y[l] = 0;
	}
	/*
	 * Horner from the top coefficient down: the t - 1 random ones are
	 * drawn one at a time, so only one per limb is ever held.
	 */
	for (c = t; c-- > 0 && !err;) {
		for (l = 0; l < MCAI_SHAMIR_LIMBS; l++) {
			if (c) {
				err = gf_rand(&coef[l]);
				if (err)
					break;
			} else {
				u64 v = 0;
				u32 b;

				for (b = 0; b < limb_bytes(l); b++)
					v |= (u64)secret[7 * l + b] << (8 * b);
				coef[l] = v;
			}
			for (i = 0; i < k; i++)
				out[i].y[l] = gf_add(gf_mul(out[i].y[l], xs[i]),
						   coef[l]);
		}
	}
	OPENSSL_cleanse(coef, sizeof(coef));
	if (err)
		OPENSSL_cleanse(out, sizeof(*out) * k);
	return err;
}

int mcai_shamir_combine(const struct mcai_shamir_share *sh, u32 k, u32 t,
			u8 secret[KEY_LEN])
{
	u64 lam[256], *lp = lam, v;
	u32 i, j, l, b;
	int err = 0;

	if (!t || k < t)
		return -ENODATA;
	if (t > 256) {
		lp = malloc(t * sizeof(*lp));
		if (!lp)
			return -ENOMEM;
	}
	/* Lagrange at 0: lambda_i = prod_{j != i} x_j / (x_j - x_i) */
	for (i = 0; i < t && !err; i++) {
		u64 num = 1, den = 1;

		if (!sh[i].x)
			err = -EINVAL;
		for (j = 0; j < t && !err; j++) {
			if (j == i)
				continue;
			if (sh[j].x == sh[i].x) {
				err = -EINVAL;
				break;
			}
			num = gf_mul(num, sh[j].x);
			den = gf_mul(den, gf_sub(sh[j].x, sh[i].x));
		}
		lp[i] = gf_mul(num, gf_inv(den));
	}
	for (l = 0; l < MCAI_SHAMIR_LIMBS && !err; l++) {
		v = 0;
		for (i = 0; i < t; i++)
			v = gf_add(v, gf_mul(lp[i], sh[i].y[l] % P61));
		if (v >> (8 * limb_bytes(l))) {
			err = -EBADMSG;
			break;
		}
		for (b = 0; b < limb_bytes(l); b++)
			secret[7 * l + b] = (u8)(v >> (8 * b));
	}
	if (lp != lam)
		free(lp);
	if (err)
		OPENSSL_cleanse(secret, KEY_LEN);
	return err;
}

static void put_share(u8 *p, const struct mcai_shamir_share *s)
{
	u32 l;

	mcai_put_le32(p, s->x);
	for (l = 0; l < MCAI_SHAMIR_LIMBS; l++)
		mcai_put_le64(p + 4 + 8 * l, s->y[l]);
}

/* A share as read off the wire: limbs must be field elements. */
static bool get_share(const u8 *p, struct mcai_shamir_share *s)
{
	u32 l;

	s->x = mcai_le32(p);
	for (l = 0; l < MCAI_SHAMIR_LIMBS; l++) {
		s->y[l] = mcai_le64(p + 4 + 8 * l);
		if (s->y[l] >= P61)
			return false;
	}
	return true;
}

/* ---- X25519, AES-GCM ---------------------------------------------------- */

static int x25519_pub(EVP_PKEY *k, u8 out[KEY_LEN])
{
	size_t l = KEY_LEN;

	return EVP_PKEY_get_raw_public_key(k, out, &l) == 1 && l == KEY_LEN ?
	       0 : -EIO;
}

/* The raw shared secret; -EBADMSG for a key X25519 rejects (low order). */
static int x25519_agree(EVP_PKEY *mine, const u8 peer_pub[KEY_LEN],
			u8 out[KEY_LEN])
{
	EVP_PKEY *peer;
	EVP_PKEY_CTX *c = NULL;
	size_t l = KEY_LEN;
	int ok;

	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub,
					   KEY_LEN);
	if (peer)
		c = EVP_PKEY_CTX_new(mine, NULL);
	ok = c && EVP_PKEY_derive_init(c) == 1 &&
	     EVP_PKEY_derive_set_peer(c, peer) == 1 &&
	     EVP_PKEY_derive(c, out, &l) == 1 && l == KEY_LEN;
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(peer);
	return ok ? 0 : -EBADMSG;
}

/* The key of one kind for the pair {a, b}: the same from both ends. */
static int pair_key(EVP_PKEY *mine, const u8 peer_pub[KEY_LEN],
		    const char *label, u64 round, u32 a, u32 b, u8 *out,
		    size_t out_len)
{
	u8 z[KEY_LEN];
	int err = x25519_agree(mine, peer_pub, z);

	if (!err)
		err = hkdf(z, sizeof(z), label, round, a < b ? a : b,
			   a < b ? b : a, out, out_len);
	OPENSSL_cleanse(z, sizeof(z));
	return err;
}

static void gcm_nonce_aad(u8 nonce[12], u8 aad[16], u64 round, u32 from,
			  u32 to)
{
	/* one message per direction per pair and round: unique nonces */
	mcai_put_le32(nonce, from);
	mcai_put_le32(nonce + 4, to);
	mcai_put_le32(nonce + 8, 0);
	mcai_put_le64(aad, round);
	mcai_put_le32(aad + 8, from);
	mcai_put_le32(aad + 12, to);
}

static int gcm_seal(const u8 key[GCM_KEY_LEN], u64 round, u32 from, u32 to,
		    const u8 *pt, u8 *ct)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	u8 nonce[12], aad[16];
	int l = 0, l2 = 0, ok;

	gcm_nonce_aad(nonce, aad, round, from, to);
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) &&
	     EVP_EncryptUpdate(c, NULL, &l, aad, sizeof(aad)) &&
	     EVP_EncryptUpdate(c, ct, &l, pt, PT_LEN) && l == PT_LEN &&
	     EVP_EncryptFinal_ex(c, ct + l, &l2) && l2 == 0 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, ct + PT_LEN);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EIO;
}

static int gcm_open(const u8 key[GCM_KEY_LEN], u64 round, u32 from, u32 to,
		    const u8 *ct, u8 *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	u8 nonce[12], aad[16], tag[16];
	int l = 0, l2 = 0, ok;

	if (!c)
		return -ENOMEM;
	memcpy(tag, ct + PT_LEN, sizeof(tag));
	gcm_nonce_aad(nonce, aad, round, from, to);
	ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) &&
	     EVP_DecryptUpdate(c, NULL, &l, aad, sizeof(aad)) &&
	     EVP_DecryptUpdate(c, pt, &l, ct, PT_LEN) && l == PT_LEN &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) &&
	     EVP_DecryptFinal_ex(c, pt + l, &l2) > 0;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		OPENSSL_cleanse(pt, PT_LEN);
	return ok ? 0 : -EBADMSG;
}

/* ---- Fleet signatures (signed rounds) ------------------------------------ */

static bool is_signed(const struct mcai_secagg_params *p)
{
	return p->flags & MCAI_SECAGG_F_SIGNED;
}

/* Ed25519/Ed448 sign the message itself; every other key type SHA-256. */
static const EVP_MD *sig_md(EVP_PKEY *k)
{
	int id = EVP_PKEY_get_base_id(k);

	return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL :
								EVP_sha256();
}

/* Sign @m with @key and append u16 length, signature to @out. */
static int sig_put(EVP_PKEY *key, const u8 *m, size_t len,
		   struct mcai_buf *out, char *why, size_t why_len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	u8 sig[MCAI_SECAGG_SIG_MAX];
	size_t sl = 0;
	int ok;

	ok = c && EVP_DigestSignInit(c, NULL, sig_md(key), NULL, key) == 1 &&
	     EVP_DigestSign(c, NULL, &sl, m, len) == 1 &&
	     sl && sl <= sizeof(sig) &&
	     EVP_DigestSign(c, sig, &sl, m, len) == 1;
	EVP_MD_CTX_free(c);
	if (!ok) {
		say(why, why_len, "OpenSSL: signing with the fleet key failed");
		return -EIO;
	}
	mcai_buf_put_u16(out, (u16)sl);
	mcai_buf_put(out, sig, sl);
	return 0;
}

static bool sig_ok(EVP_PKEY *pk, const u8 *m, size_t len, const u8 *sig,
		   size_t sl)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok;

	ok = c && EVP_DigestVerifyInit(c, NULL, sig_md(pk), NULL, pk) == 1 &&
	     EVP_DigestVerify(c, sig, sl, m, len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

/*
 * A DER certificate that chains to the fleet CA @ca (with its CRL, when
 * the store has one): its public key, or NULL with the reason.
 */
static EVP_PKEY *cert_key(X509_STORE *ca, const u8 *der, size_t len,
			  char *why, size_t why_len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_STORE_CTX *c = NULL;
	EVP_PKEY *pk = NULL;
	int err;

	if (!x || p != der + len) {
		say(why, why_len, "certificate does not parse as DER");
		goto out;
	}
	c = X509_STORE_CTX_new();
	if (!c || X509_STORE_CTX_init(c, ca, x, NULL) != 1) {
		say(why, why_len, "OpenSSL: out of memory");
		goto out;
	}
	if (X509_verify_cert(c) != 1) {
		err = X509_STORE_CTX_get_error(c);
		say(why, why_len, "certificate refused: %s",
		    X509_verify_cert_error_string(err));
		goto out;
	}
	pk = X509_get_pubkey(x);
	if (!pk)
		say(why, why_len, "certificate without a usable key");
out:
	X509_STORE_CTX_free(c);
	X509_free(x);
	return pk;
}

#define ADVERT_LABEL	"mcai-secagg advert"
#define ADVERT_TBS	(sizeof(ADVERT_LABEL) + 8 + 4 * 4 + 32 + 3 * 32)

/* What an ADVERT signature covers (secagg.h). */
static void advert_tbs(const struct mcai_secagg_params *p, u32 id,
		       const u8 *cpk, const u8 *spk, const u8 *bc,
		       u8 m[ADVERT_TBS])
{
	u8 *q = m;

	memcpy(q, ADVERT_LABEL, sizeof(ADVERT_LABEL));
	q += sizeof(ADVERT_LABEL);
	mcai_put_le64(q, p->round);
	mcai_put_le32(q + 8, id);
	mcai_put_le32(q + 12, p->nodes);
	mcai_put_le32(q + 16, p->threshold);
	mcai_put_le32(q + 20, p->degree);
	q += 24;
	memcpy(q, p->graph_seed, 32);
	memcpy(q + 32, cpk, KEY_LEN);
	memcpy(q + 64, spk, KEY_LEN);
	memcpy(q + 96, bc, 32);
}

#define CONSIST_LABEL	"mcai-secagg consistency"
#define CONSIST_TBS	(sizeof(CONSIST_LABEL) + 8 + 4 + 4 + 32)

/* What a CONSIST signature covers: @k ids whose SHA-256 is @digest. */
static void consist_tbs(u64 round, u32 id, u32 k, const u8 digest[32],
			u8 m[CONSIST_TBS])
{
	u8 *q = m + sizeof(CONSIST_LABEL);

	memcpy(m, CONSIST_LABEL, sizeof(CONSIST_LABEL));
	mcai_put_le64(q, round);
	mcai_put_le32(q + 8, id);
	mcai_put_le32(q + 12, k);
	memcpy(q + 16, digest, 32);
}

/* Signed ADVERT fields after the header's three values, checked. */
struct signed_advert {
	const u8 *cert, *sig;
	u16 cl, sl;
};

static int rd_signed_advert(struct rd *r, struct signed_advert *a)
{
	a->cert = rd_blob(r, MCAI_SECAGG_CERT_MAX, &a->cl);
	a->sig = rd_blob(r, MCAI_SECAGG_SIG_MAX, &a->sl);
	return r->bad ? -EBADMSG : 0;
}

/*
 * Node @id's advertised values with certificate and signature: the
 * signer's key when both check out, else NULL with the reason.
 */
static EVP_PKEY *advert_check(X509_STORE *ca,
			      const struct mcai_secagg_params *p, u32 id,
			      const u8 *cpk, const u8 *spk, const u8 *bc,
			      const struct signed_advert *a, char *why,
			      size_t why_len)
{
	u8 m[ADVERT_TBS];
	char r[160];
	EVP_PKEY *pk = cert_key(ca, a->cert, a->cl, r, sizeof(r));

	if (!pk) {
		say(why, why_len, "key advertisement of node %u: %s", id, r);
		return NULL;
	}
	advert_tbs(p, id, cpk, spk, bc, m);
	if (!sig_ok(pk, m, sizeof(m), a->sig, a->sl)) {
		say(why, why_len,
		    "key advertisement of node %u: the signature does not verify against its fleet certificate (keys substituted or forged)",
		    id);
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

/* ---- Node ---------------------------------------------------------------- */

struct peer {
	u32 id;
	bool u1, u2;
	u8 revealed;			/* 0 or enum mcai_secagg_kind */
	u8 cpk[KEY_LEN], spk[KEY_LEN];
	u8 ek[GCM_KEY_LEN];		/* encrypts the shares between us */
	struct mcai_shamir_share sk_sh, b_sh;	/* theirs, held here */
	EVP_PKEY *pk;			/* signed rounds: its fleet key */
};

enum node_phase { N_NEW, N_ADVERTISED, N_SHARED, N_MASKED, N_CONFIRMED };

struct mcai_secagg_node {
	struct mcai_secagg_params p;
	u32 id, d;
	u32 *nbr;
	struct peer *peer;
	EVP_PKEY *c, *s;
	u8 cpk[KEY_LEN], spk[KEY_LEN];
	u8 b[KEY_LEN];
	enum node_phase phase;
	/* signed rounds */
	EVP_PKEY *fkey;			/* borrowed */
	X509_STORE *ca;			/* borrowed */
	u8 *cert;
	size_t cert_len;
	u8 *u3;				/* n: the survivor set we signed */
	u32 n_u3;
	u8 u3_digest[32];
};

struct mcai_secagg_node *mcai_secagg_node_new(const struct mcai_secagg_params *p,
					      u32 id, char *why, size_t why_len)
{
	struct mcai_secagg_node *nd;
	u32 i;

	if (mcai_secagg_params_check(p, why, why_len))
		return NULL;
	if (id >= p->nodes) {
		say(why, why_len, "node %u of %u", id, p->nodes);
		return NULL;
	}
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		goto nomem;
	nd->p = *p;
	nd->id = id;
	nd->d = mcai_secagg_holders(p);
	nd->nbr = calloc(nd->d, sizeof(*nd->nbr));
	nd->peer = calloc(nd->d, sizeof(*nd->peer));
	if (!nd->nbr || !nd->peer)
		goto nomem;
	if (graph_build(p, nd->nbr, id))
		goto crypto;
	for (i = 0; i < nd->d; i++)
		nd->peer[i].id = nd->nbr[i];
	nd->c = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	nd->s = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (!nd->c || !nd->s || x25519_pub(nd->c, nd->cpk) ||
	    x25519_pub(nd->s, nd->spk) || RAND_bytes(nd->b, KEY_LEN) != 1)
		goto crypto;
	return nd;
crypto:
	say(why, why_len, "OpenSSL: key generation failed");
	mcai_secagg_node_free(nd);
	return NULL;
nomem:
	say(why, why_len, "out of memory");
	mcai_secagg_node_free(nd);
	return NULL;
}

void mcai_secagg_node_free(struct mcai_secagg_node *nd)
{
	if (!nd)
		return;
	EVP_PKEY_free(nd->c);
	EVP_PKEY_free(nd->s);
	for (u32 i = 0; nd->peer && i < nd->d; i++)
		EVP_PKEY_free(nd->peer[i].pk);
	free(nd->cert);
	free(nd->u3);
	if (nd->peer)
		OPENSSL_cleanse(nd->peer, nd->d * sizeof(*nd->peer));
	free(nd->peer);
	free(nd->nbr);
	OPENSSL_cleanse(nd, sizeof(*nd));
	free(nd);
}

int mcai_secagg_node_set_auth(struct mcai_secagg_node *nd,
			      const struct mcai_secagg_auth *a, char *why,
			      size_t why_len)
{
	u8 *c;

	if (!a || !a->key || !a->ca || !a->cert || !a->cert_len ||
	    a->cert_len > MCAI_SECAGG_CERT_MAX) {
		say(why, why_len,
		    "signing needs a fleet key, a certificate of 1 .. %u bytes and the fleet CA",
		    MCAI_SECAGG_CERT_MAX);
		return -EINVAL;
	}
	if (nd->phase != N_NEW) {
		say(why, why_len, "fleet identity set after advertising");
		return -EPROTO;
	}
	c = malloc(a->cert_len);
	if (!c)
		return -ENOMEM;
	memcpy(c, a->cert, a->cert_len);
	free(nd->cert);
	nd->cert = c;
	nd->cert_len = a->cert_len;
	nd->fkey = a->key;
	nd->ca = a->ca;
	return 0;
}

static int node_phase(const struct mcai_secagg_node *nd, enum node_phase want,
		      const char *step, char *why, size_t why_len)
{
	if (nd->phase != want) {
		say(why, why_len, "%s out of order (node %u)", step, nd->id);
		return -EPROTO;
	}
	return 0;
}

/* The error of @out, else @err; undo what this step appended on failure. */
static int out_done(struct mcai_buf *out, size_t start, int err, char *why,
		    size_t why_len)
{
	if (!err && out->err) {
		err = out->err;
		say(why, why_len, "output buffer: error %d", err);
	}
	if (err && !out->err && out->len > start)
		out->len = start;
	return err;
}

int mcai_secagg_node_advertise(struct mcai_secagg_node *nd,
			       struct mcai_buf *out, char *why, size_t why_len)
{
	size_t start = out->len;
	u8 bc[32];
	int err = node_phase(nd, N_NEW, "advertise", why, why_len);

	if (err)
		return err;
	if (is_signed(&nd->p) && !nd->fkey) {
		say(why, why_len, "signed round but no fleet key given");
		return -EINVAL;
	}
	err = commit(nd->b, nd->p.round, nd->id, bc);
	if (err)
		return err;
	put_hdr(out, MCAI_SECAGG_ADVERT, nd->id, nd->p.round);
	mcai_buf_put(out, nd->cpk, KEY_LEN);
	mcai_buf_put(out, nd->spk, KEY_LEN);
	mcai_buf_put(out, bc, sizeof(bc));
	if (is_signed(&nd->p)) {
		u8 m[ADVERT_TBS];

		advert_tbs(&nd->p, nd->id, nd->cpk, nd->spk, bc, m);
		mcai_buf_put_u16(out, (u16)nd->cert_len);
		mcai_buf_put(out, nd->cert, nd->cert_len);
		err = sig_put(nd->fkey, m, sizeof(m), out, why, why_len);
	}
	err = out_done(out, start, err, why, why_len);
	if (!err)
		nd->phase = N_ADVERTISED;
	return err;
}

/* A secret of ours into one share per neighbour of @sel (in peer order). */
static int split_for(const struct mcai_secagg_node *nd, const u8 *secret,
		     const bool *sel, u32 k, struct mcai_shamir_share *sh)
{
	u32 *xs = malloc(k * sizeof(*xs)), i, m = 0;
	int err;

	if (!xs)
		return -ENOMEM;
	for (i = 0; i < nd->d; i++)
		if (sel[i])
			xs[m++] = nd->peer[i].id + 1;
	err = mcai_shamir_split(secret, nd->p.threshold, k, xs, sh);
	free(xs);
	return err;
}

int mcai_secagg_node_share_keys(struct mcai_secagg_node *nd, const u8 *keys,
				size_t len, struct mcai_buf *out, char *why,
				size_t why_len)
{
	struct mcai_shamir_share *sk_sh = NULL, *b_sh = NULL;
	struct rd r;
	u32 node, k, i, m, last = 0;
	bool *sel = NULL, sgn = is_signed(&nd->p);
	const u8 **ent = NULL;
	EVP_PKEY **pks = NULL;
	u8 ssk[KEY_LEN], pt[PT_LEN], ct[CT_LEN];
	size_t start = out->len, skl = KEY_LEN;
	int err = node_phase(nd, N_ADVERTISED, "share_keys", why, why_len);

	if (err)
		return err;
	err = rd_hdr(&r, keys, len, MCAI_SECAGG_KEYS, &nd->p, &node, why,
		     why_len);
	if (err)
		return err;
	if (node != nd->id) {
		say(why, why_len, "KEYS for node %u, this is %u", node, nd->id);
		return -EBADMSG;
	}
	k = rd_u32(&r);
	if (r.bad || k > nd->d ||
	    (sgn ? r.left < (size_t)k * (4 + 3 * KEY_LEN + 6) :
		   r.left != (size_t)k * (4 + 2 * KEY_LEN))) {
		say(why, why_len, "KEYS: %u entries in %zu bytes", k, r.left);
		return -EBADMSG;
	}
	sel = calloc(nd->d, sizeof(*sel));
	ent = calloc(k ? k : 1, sizeof(*ent));
	pks = calloc(k ? k : 1, sizeof(*pks));
	if (!sel || !ent || !pks) {
		err = -ENOMEM;
		goto out;
	}
	/* check everything before keeping anything */
	for (i = 0; i < k; i++) {
		const u8 *e = rd_bytes(&r, 4 + (sgn ? 3 : 2) * KEY_LEN);
		u32 id = e ? mcai_le32(e) : 0;
		int at = find_u32(nd->nbr, nd->d, id);
		struct signed_advert sa;

		if (!e || (sgn && rd_signed_advert(&r, &sa))) {
			say(why, why_len, "KEYS: entry %u truncated", i);
			err = -EBADMSG;
			goto out;
		}
		if (at < 0 || (i && id <= last)) {
			say(why, why_len, "KEYS: node %u is not a neighbour%s",
			    id, at < 0 ? "" : " in ascending order");
			err = -EBADMSG;
			goto out;
		}
		last = id;
		sel[at] = true;
		ent[i] = e;
		if (sgn) {
			pks[i] = advert_check(nd->ca, &nd->p, id, e + 4,
					      e + 4 + KEY_LEN,
					      e + 4 + 2 * KEY_LEN, &sa, why,
					      why_len);
			if (!pks[i]) {
				err = -EBADMSG;
				goto out;
			}
		}
	}
	err = rd_end(&r, why, why_len);
	if (err)
		goto out;
	if (k < nd->p.threshold) {
		say(why, why_len,
		    "node %u: %u neighbours advertised keys, threshold %u",
		    nd->id, k, nd->p.threshold);
		err = -ENODATA;
		goto out;
	}
	for (i = 0; i < k; i++) {
		const u8 *e = ent[i];
		struct peer *pe = &nd->peer[find_u32(nd->nbr, nd->d,
						     mcai_le32(e))];

		memcpy(pe->cpk, e + 4, KEY_LEN);
		memcpy(pe->spk, e + 4 + KEY_LEN, KEY_LEN);
		EVP_PKEY_free(pe->pk);
		pe->pk = pks[i];
		pks[i] = NULL;
	}
	sk_sh = calloc(k, sizeof(*sk_sh));
	b_sh = calloc(k, sizeof(*b_sh));
	if (!sk_sh || !b_sh) {
		err = -ENOMEM;
		goto out;
	}
	if (EVP_PKEY_get_raw_private_key(nd->s, ssk, &skl) != 1 ||
	    skl != KEY_LEN) {
		err = -EIO;
		goto out;
	}
	err = split_for(nd, ssk, sel, k, sk_sh);
	if (!err)
		err = split_for(nd, nd->b, sel, k, b_sh);
	if (err) {
		say(why, why_len, "Shamir split failed (%d)", err);
		goto out;
	}
	put_hdr(out, MCAI_SECAGG_SHARES, nd->id, nd->p.round);
	mcai_buf_put_u32(out, k);
	for (i = 0, m = 0; i < nd->d && !err; i++) {
		struct peer *pe = &nd->peer[i];

		if (!sel[i])
			continue;
		err = pair_key(nd->c, pe->cpk, "mcai-secagg enc", nd->p.round,
			       nd->id, pe->id, pe->ek, sizeof(pe->ek));
		if (err) {
			say(why, why_len, "node %u's key does not agree", pe->id);
			break;
		}
		mcai_put_le32(pt, nd->id);
		mcai_put_le32(pt + 4, pe->id);
		memcpy(pt + 8, nd->spk, KEY_LEN);
		put_share(pt + 8 + KEY_LEN, &sk_sh[m]);
		put_share(pt + 8 + KEY_LEN + SHARE_LEN, &b_sh[m]);
		m++;
		err = gcm_seal(pe->ek, nd->p.round, nd->id, pe->id, pt, ct);
		mcai_buf_put_u32(out, pe->id);
		mcai_buf_put(out, ct, CT_LEN);
	}
	err = out_done(out, start, err, why, why_len);
	if (!err) {
		for (i = 0; i < nd->d; i++)
			nd->peer[i].u1 = sel[i];
		nd->phase = N_SHARED;
	}
out:
	OPENSSL_cleanse(ssk, sizeof(ssk));
	OPENSSL_cleanse(pt, sizeof(pt));
	if (sk_sh)
		OPENSSL_cleanse(sk_sh, k * sizeof(*sk_sh));
	if (b_sh)
		OPENSSL_cleanse(b_sh, k * sizeof(*b_sh));
	free(sk_sh);
	free(b_sh);
	free(sel);
	for (i = 0; pks && i < k; i++)
		EVP_PKEY_free(pks[i]);
	free(pks);
	free(ent);
	return err;
}

/* Decrypt the shares sent to us; nothing is kept unless all are good. */
static int node_take_shares(struct mcai_secagg_node *nd, const u8 *msg,
			    size_t len, u32 *count, char *why, size_t why_len)
{
	struct mcai_shamir_share *sh;
	struct rd r;
	u32 node, k, i, last = 0;
	u8 pt[PT_LEN];
	int err;

	err = rd_hdr(&r, msg, len, MCAI_SECAGG_SHARES_FOR, &nd->p, &node, why,
		     why_len);
	if (err)
		return err;
	if (node != nd->id) {
		say(why, why_len, "SHARES_FOR node %u, this is %u", node,
		    nd->id);
		return -EBADMSG;
	}
	k = rd_u32(&r);
	if (r.bad || k > nd->d || r.left != (size_t)k * (4 + CT_LEN)) {
		say(why, why_len, "SHARES_FOR: %u entries in %zu bytes", k,
		    r.left);
		return -EBADMSG;
	}
	sh = calloc(2 * (size_t)k + 1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	for (i = 0; i < k && !err; i++) {
		const u8 *e = rd_bytes(&r, 4 + CT_LEN);
		u32 from = mcai_le32(e);
		int at = find_u32(nd->nbr, nd->d, from);

		if (at < 0 || !nd->peer[at].u1 || (i && from <= last)) {
			say(why, why_len,
			    "SHARES_FOR: node %u is not a neighbour that advertised, in order",
			    from);
			err = -EBADMSG;
			break;
		}
		last = from;
		if (gcm_open(nd->peer[at].ek, nd->p.round, from, nd->id, e + 4,
			     pt)) {
			say(why, why_len, "shares from node %u do not decrypt",
			    from);
			err = -EBADMSG;
			break;
		}
		/* the mask key the aggregator gave us must be the sender's */
		if (memcmp(pt + 8, nd->peer[at].spk, KEY_LEN)) {
			say(why, why_len,
			    "node %u's mask key differs from the one the aggregator sent",
			    from);
			err = -EBADMSG;
			break;
		}
		if (mcai_le32(pt) != from || mcai_le32(pt + 4) != nd->id ||
		    !get_share(pt + 8 + KEY_LEN, &sh[2 * i]) ||
		    !get_share(pt + 8 + KEY_LEN + SHARE_LEN, &sh[2 * i + 1]) ||
		    sh[2 * i].x != nd->id + 1 || sh[2 * i + 1].x != nd->id + 1) {
			say(why, why_len, "shares from node %u are malformed",
			    from);
			err = -EBADMSG;
		}
	}
	OPENSSL_cleanse(pt, sizeof(pt));
	if (!err && k < nd->p.threshold) {
		say(why, why_len,
		    "node %u: %u neighbours sent shares, threshold %u", nd->id,
		    k, nd->p.threshold);
		err = -ENODATA;
	}
	if (!err) {
		r.p = msg + MCAI_SECAGG_HDR_LEN + 4;
		for (i = 0; i < k; i++) {
			u32 from = mcai_le32(r.p + (size_t)i * (4 + CT_LEN));
			struct peer *pe = &nd->peer[find_u32(nd->nbr, nd->d,
							     from)];

			pe->u2 = true;
			pe->sk_sh = sh[2 * i];
			pe->b_sh = sh[2 * i + 1];
		}
		*count = k;
	}
	OPENSSL_cleanse(sh, (2 * (size_t)k + 1) * sizeof(*sh));
	free(sh);
	return err;
}

int mcai_secagg_node_masked_words(struct mcai_secagg_node *nd,
				  const u8 *shares, size_t len, const u32 *w,
				  struct mcai_buf *out, char *why,
				  size_t why_len)
{
	u8 key[PRG_KEY_LEN];
	size_t start = out->len;
	u32 *y, i, k;
	int err = node_phase(nd, N_SHARED, "masked_input", why, why_len);

	if (err)
		return err;
	y = malloc((size_t)nd->p.dim * sizeof(*y));
	if (!y)
		return -ENOMEM;
	err = node_take_shares(nd, shares, len, &k, why, why_len);
	if (err)
		goto out;
	memcpy(y, w, (size_t)nd->p.dim * sizeof(*y));
	err = hkdf(nd->b, KEY_LEN, "mcai-secagg self", nd->p.round, nd->id,
		   nd->id, key, sizeof(key));
	if (!err)
		err = prg_add(key, y, nd->p.dim, false);
	for (i = 0; i < nd->d && !err; i++) {
		const struct peer *pe = &nd->peer[i];

		if (!pe->u2)
			continue;
		err = pair_key(nd->s, pe->spk, "mcai-secagg mask", nd->p.round,
			       nd->id, pe->id, key, sizeof(key));
		/* +PRG towards lower ids, -PRG towards higher: they cancel */
		if (!err)
			err = prg_add(key, y, nd->p.dim, pe->id > nd->id);
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (err) {
		say(why, why_len, "masking failed (%d)", err);
		/* the shares were taken: this node cannot go on */
		for (i = 0; i < nd->d; i++)
			nd->peer[i].u2 = false;
		goto out;
	}
	put_hdr(out, MCAI_SECAGG_MASKED, nd->id, nd->p.round);
	mcai_buf_put_u32(out, nd->p.dim);
	/* the narrow ring: y mod 2^16, the masks cancel there too */
	for (i = 0; i < nd->p.dim; i++)
		if (ring16(&nd->p))
			mcai_buf_put_u16(out, (u16)y[i]);
		else
			mcai_buf_put_u32(out, y[i]);
	err = out_done(out, start, 0, why, why_len);
	if (!err)
		nd->phase = N_MASKED;
out:
	free(y);
	return err;
}

int mcai_secagg_node_masked_input(struct mcai_secagg_node *nd,
				  const u8 *shares, size_t len, const float *x,
				  struct mcai_buf *out, char *why,
				  size_t why_len)
{
	u32 *w;
	int err;

	if (ring16(&nd->p)) {
		say(why, why_len,
		    "float input needs the 32-bit ring (this round's is 16)");
		return -EINVAL;
	}
	w = malloc((size_t)nd->p.dim * sizeof(*w));
	if (!w)
		return -ENOMEM;
	mcai_secagg_encode(&nd->p, x, w);
	err = mcai_secagg_node_masked_words(nd, shares, len, w, out, why,
					    why_len);
	free(w);
	return err;
}

int mcai_secagg_node_confirm(struct mcai_secagg_node *nd, const u8 *req,
			     size_t len, struct mcai_buf *out, char *why,
			     size_t why_len)
{
	struct rd r;
	u32 node, k, i, id, last = 0;
	const u8 *ids;
	u8 digest[32], m[CONSIST_TBS], *u3;
	unsigned int dl = 0;
	size_t start = out->len;
	int err, at;

	if (!is_signed(&nd->p)) {
		say(why, why_len, "CONSIST_REQ in a round that is not signed");
		return -EPROTO;
	}
	if (nd->phase != N_CONFIRMED) {
		err = node_phase(nd, N_MASKED, "confirm", why, why_len);
		if (err)
			return err;
	}
	err = rd_hdr(&r, req, len, MCAI_SECAGG_CONSIST_REQ, &nd->p, &node, why,
		     why_len);
	if (err)
		return err;
	if (node != nd->id) {
		say(why, why_len, "CONSIST_REQ for node %u, this is %u", node,
		    nd->id);
		return -EBADMSG;
	}
	k = rd_u32(&r);
	if (r.bad || k > nd->p.nodes || r.left != (size_t)k * 4) {
		say(why, why_len, "CONSIST_REQ: %u ids in %zu bytes", k, r.left);
		return -EBADMSG;
	}
	ids = r.p;
	if (EVP_Digest(ids, (size_t)k * 4, digest, &dl, EVP_sha256(), NULL) != 1)
		return -EIO;
	if (nd->phase == N_CONFIRMED) {
		/* once per round: a second set is the aggregator equivocating */
		if (k != nd->n_u3 || memcmp(digest, nd->u3_digest, 32)) {
			say(why, why_len,
			    "refused: a second, different survivor set for round %llu (%u nodes, had %u): the aggregator equivocates",
			    (unsigned long long)nd->p.round, k, nd->n_u3);
			return -EPERM;
		}
		goto sign;
	}
	u3 = calloc(nd->p.nodes, 1);
	if (!u3)
		return -ENOMEM;
	for (i = 0; i < k; i++) {
		id = mcai_le32(ids + (size_t)i * 4);
		if (id >= nd->p.nodes || (i && id <= last)) {
			say(why, why_len,
			    "CONSIST_REQ: id %u out of range or order", id);
			err = -EBADMSG;
			goto bad;
		}
		last = id;
		u3[id] = 1;
		at = find_u32(nd->nbr, nd->d, id);
		if (at >= 0 && !nd->peer[at].u2) {
			say(why, why_len,
			    "refused: node %u is in the survivor set but never shared keys with node %u",
			    id, nd->id);
			err = -EPERM;
			goto bad;
		}
	}
	if (!u3[nd->id]) {
		say(why, why_len,
		    "refused: node %u sent its masked input but is left out of the survivor set",
		    nd->id);
		err = -EPERM;
		goto bad;
	}
	if (k < nd->p.threshold) {
		say(why, why_len, "refused: %u survivors, threshold %u", k,
		    nd->p.threshold);
		err = -EPERM;
		goto bad;
	}
	nd->u3 = u3;
	nd->n_u3 = k;
	memcpy(nd->u3_digest, digest, 32);
	nd->phase = N_CONFIRMED;
sign:
	consist_tbs(nd->p.round, nd->id, nd->n_u3, nd->u3_digest, m);
	put_hdr(out, MCAI_SECAGG_CONSIST, nd->id, nd->p.round);
	err = sig_put(nd->fkey, m, sizeof(m), out, why, why_len);
	return out_done(out, start, err, why, why_len);
bad:
	free(u3);
	return err;
}

/*
 * Signed rounds: the neighbours' CONSIST signatures at the end of an
 * UNMASK_REQ.  0 when at least t of them are over the set this node
 * signed; -EPERM when fewer are, or when any is over another set.
 */
static int check_confirmations(const struct mcai_secagg_node *nd, struct rd *r,
			       char *why, size_t why_len)
{
	u32 k = rd_u32(r), i, id, last = 0, good = 0;
	u8 m[CONSIST_TBS];

	if (r->bad || k > nd->d) {
		say(why, why_len, "UNMASK_REQ: %u confirmations", k);
		return -EBADMSG;
	}
	for (i = 0; i < k; i++) {
		const u8 *sig;
		u16 sl;
		int at;

		id = rd_u32(r);
		sig = rd_blob(r, MCAI_SECAGG_SIG_MAX, &sl);
		if (!sig) {
			say(why, why_len, "UNMASK_REQ: confirmation %u truncated",
			    i);
			return -EBADMSG;
		}
		at = find_u32(nd->nbr, nd->d, id);
		if (at < 0 || !nd->peer[at].pk || (i && id <= last)) {
			say(why, why_len,
			    "UNMASK_REQ: confirmation of node %u, not a neighbour with a key (or out of order)",
			    id);
			return -EBADMSG;
		}
		last = id;
		consist_tbs(nd->p.round, id, nd->n_u3, nd->u3_digest, m);
		if (!sig_ok(nd->peer[at].pk, m, sizeof(m), sig, sl)) {
			say(why, why_len,
			    "refused: node %u's confirmation is not of the survivor set node %u signed (the aggregator showed nodes different survivor sets)",
			    id, nd->id);
			return -EPERM;
		}
		if (!nd->u3[id]) {
			say(why, why_len,
			    "refused: node %u confirmed but is not in the survivor set",
			    id);
			return -EPERM;
		}
		good++;
	}
	if (good < nd->p.threshold) {
		say(why, why_len,
		    "refused: %u of node %u's neighbours confirmed the survivor set, threshold %u",
		    good, nd->id, nd->p.threshold);
		return -EPERM;
	}
	return 0;
}

int mcai_secagg_node_unmask(struct mcai_secagg_node *nd, const u8 *req,
			    size_t len, struct mcai_buf *out, char *why,
			    size_t why_len)
{
	struct rd r;
	u32 node, survivors, cnt, i, j, k = 0;
	size_t start = out->len;
	u8 *ask;
	bool sgn = is_signed(&nd->p);
	int err = node_phase(nd, sgn ? N_CONFIRMED : N_MASKED, "unmask", why,
			     why_len);

	if (err)
		return err;
	err = rd_hdr(&r, req, len, MCAI_SECAGG_UNMASK_REQ, &nd->p, &node, why,
		     why_len);
	if (err)
		return err;
	if (node != nd->id) {
		say(why, why_len, "UNMASK_REQ for node %u, this is %u", node,
		    nd->id);
		return -EBADMSG;
	}
	ask = calloc(nd->d, 1);
	if (!ask)
		return -ENOMEM;
	survivors = rd_u32(&r);
	/* two lists: j = 0 survived (b's share), j = 1 dropped (s's share) */
	for (j = 0; j < 2 && !err; j++) {
		u8 kind = j ? MCAI_SECAGG_PAIR : MCAI_SECAGG_SELF;

		cnt = rd_u32(&r);
		if (r.bad || cnt > nd->d || r.left < (size_t)cnt * 4) {
			say(why, why_len, "UNMASK_REQ: list of %u truncated",
			    cnt);
			err = -EBADMSG;
			break;
		}
		for (i = 0; i < cnt; i++) {
			u32 id = rd_u32(&r);
			int at = find_u32(nd->nbr, nd->d, id);

			if (j && id == nd->id) {
				say(why, why_len,
				    "refused: node %u is listed as dropped but is answering",
				    id);
				err = -EPERM;
				break;
			}
			if (at < 0 || !nd->peer[at].u2) {
				say(why, why_len,
				    "UNMASK_REQ: node %u did not share with node %u",
				    id, nd->id);
				err = -EBADMSG;
				break;
			}
			if (ask[at] && ask[at] != kind) {
				say(why, why_len,
				    "refused: both the self-mask and the pairwise-key share of node %u asked for",
				    id);
				err = -EPERM;
				break;
			}
			if (ask[at]) {
				say(why, why_len, "UNMASK_REQ: node %u twice",
				    id);
				err = -EBADMSG;
				break;
			}
			if (sgn && nd->u3[id] != !j) {
				say(why, why_len,
				    "refused: node %u is listed as %s, the survivor set this node signed says otherwise",
				    id, j ? "dropped" : "survived");
				err = -EPERM;
				break;
			}
			if (nd->peer[at].revealed &&
			    nd->peer[at].revealed != kind) {
				say(why, why_len,
				    "refused: the %s share of node %u was already revealed this round",
				    kind == MCAI_SECAGG_SELF ? "pairwise-key" :
							       "self-mask", id);
				err = -EPERM;
				break;
			}
			ask[at] = kind;
			k++;
		}
	}
	if (!err && sgn && survivors != nd->n_u3) {
		say(why, why_len,
		    "refused: %u survivors, the set this node signed has %u",
		    survivors, nd->n_u3);
		err = -EPERM;
	}
	if (!err && sgn)
		err = check_confirmations(nd, &r, why, why_len);
	if (!err)
		err = rd_end(&r, why, why_len);
	/*
	 * Fewer than t survivors: the sum would be of too few updates for
	 * the threshold's promise; Bonawitz's nodes abort here too.
	 */
	if (!err && survivors < nd->p.threshold) {
		say(why, why_len, "refused: %u survivors, threshold %u",
		    survivors, nd->p.threshold);
		err = -EPERM;
	}
	if (err)
		goto out;
	put_hdr(out, MCAI_SECAGG_UNMASK, nd->id, nd->p.round);
	mcai_buf_put_u32(out, k);
	for (i = 0; i < nd->d; i++) {
		u8 s[SHARE_LEN];

		if (!ask[i])
			continue;
		mcai_buf_put_u32(out, nd->peer[i].id);
		mcai_buf_put_u8(out, ask[i]);
		put_share(s, ask[i] == MCAI_SECAGG_SELF ? &nd->peer[i].b_sh :
							  &nd->peer[i].sk_sh);
		mcai_buf_put(out, s, sizeof(s));
		OPENSSL_cleanse(s, sizeof(s));
	}
	err = out_done(out, start, 0, why, why_len);
	if (!err)
		for (i = 0; i < nd->d; i++)
			if (ask[i])
				nd->peer[i].revealed = ask[i];
out:
	free(ask);
	return err;
}

/* ---- Aggregator ---------------------------------------------------------- */

struct snode {
	u8 in;				/* IN_U* */
	u8 cpk[KEY_LEN], spk[KEY_LEN];
	u8 bc[32];			/* commitment to the self-mask seed */
	u8 *ct;				/* d x CT_LEN, by recipient position */
	struct mcai_shamir_share *sh;	/* d: revealed shares of our secret */
	u8 *sh_have;			/* d: by holder position */
	/* signed rounds: ADVERT's certificate and signature, CONSIST's */
	u8 *cert, *asig, *csig;
	u16 cl, asl, csl;
	EVP_PKEY *pk;			/* when the aggregator checks */
};

struct mcai_secagg_server {
	struct mcai_secagg_params p;
	u32 n, d;
	u32 *nbr;			/* n x d */
	struct snode *nd;
	u32 *acc;			/* sum of the masked inputs */
	enum mcai_secagg_phase phase;
	int err;
	char reason[192];
	struct mcai_secagg_report rep;
	X509_STORE *ca;			/* borrowed, may be NULL */
	u8 u3_digest[32];		/* signed rounds: of the U3 list */
};

static const u32 *row(const struct mcai_secagg_server *s, u32 i)
{
	return s->nbr + (size_t)i * s->d;
}

/* Position of @id among @i's neighbours, or -1. */
static int npos(const struct mcai_secagg_server *s, u32 i, u32 id)
{
	return find_u32(row(s, i), s->d, id);
}

struct mcai_secagg_server *
mcai_secagg_server_new(const struct mcai_secagg_params *p, char *why,
		       size_t why_len)
{
	struct mcai_secagg_server *s;

	if (mcai_secagg_params_check(p, why, why_len))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->p = *p;
	s->n = p->nodes;
	s->d = mcai_secagg_holders(p);
	s->nbr = malloc((size_t)s->n * s->d * sizeof(*s->nbr));
	s->nd = calloc(s->n, sizeof(*s->nd));
	s->acc = calloc(p->dim, sizeof(*s->acc));
	if (!s->nbr || !s->nd || !s->acc)
		goto nomem;
	if (graph_build(p, s->nbr, U32_MAX)) {
		say(why, why_len, "OpenSSL: graph draw failed");
		mcai_secagg_server_free(s);
		return NULL;
	}
	s->phase = MCAI_SECAGG_PH_ADVERTISE;
	return s;
nomem:
	say(why, why_len, "out of memory");
	mcai_secagg_server_free(s);
	return NULL;
}

void mcai_secagg_server_free(struct mcai_secagg_server *s)
{
	u32 i;

	if (!s)
		return;
	for (i = 0; s->nd && i < s->n; i++) {
		free(s->nd[i].ct);
		if (s->nd[i].sh)
			OPENSSL_cleanse(s->nd[i].sh, s->d * sizeof(*s->nd[i].sh));
		free(s->nd[i].sh);
		free(s->nd[i].sh_have);
		free(s->nd[i].cert);
		free(s->nd[i].asig);
		free(s->nd[i].csig);
		EVP_PKEY_free(s->nd[i].pk);
	}
	free(s->nd);
	free(s->nbr);
	free(s->acc);
	free(s);
}

int mcai_secagg_server_set_auth(struct mcai_secagg_server *s,
				const struct mcai_secagg_auth *a, char *why,
				size_t why_len)
{
	if (!a || !a->ca) {
		say(why, why_len, "no fleet CA");
		return -EINVAL;
	}
	s->ca = a->ca;
	return 0;
}

enum mcai_secagg_phase mcai_secagg_server_phase(const struct mcai_secagg_server *s)
{
	return s->phase;
}

static const u8 phase_msg[] = {
	[MCAI_SECAGG_PH_ADVERTISE] = MCAI_SECAGG_ADVERT,
	[MCAI_SECAGG_PH_SHARE] = MCAI_SECAGG_SHARES,
	[MCAI_SECAGG_PH_MASKED] = MCAI_SECAGG_MASKED,
	[MCAI_SECAGG_PH_CONSIST] = MCAI_SECAGG_CONSIST,
	[MCAI_SECAGG_PH_UNMASK] = MCAI_SECAGG_UNMASK,
};

/*
 * Which set a node must be in to send in this phase, and what it joins.
 * In a signed round only nodes that confirmed U3 are asked to unmask.
 */
static u8 phase_need(const struct mcai_secagg_server *s,
		     enum mcai_secagg_phase ph)
{
	static const u8 need[] = { 0, IN_U1, IN_U2, IN_U3, IN_U3 };

	return need[ph] | (ph == MCAI_SECAGG_PH_UNMASK && is_signed(&s->p) ?
			   IN_C : 0);
}

static const u8 phase_join[] = { IN_U1, IN_U2, IN_U3, IN_C, IN_U4 };

static int recv_advert(struct mcai_secagg_server *s, u32 from, struct rd *r,
		       char *why, size_t why_len)
{
	struct snode *sn = &s->nd[from];
	const u8 *cpk = rd_bytes(r, KEY_LEN), *spk = rd_bytes(r, KEY_LEN);
	const u8 *bc = rd_bytes(r, 32);
	struct signed_advert a;

	if (!bc || (is_signed(&s->p) && rd_signed_advert(r, &a)) || r->left) {
		say(why, why_len, "ADVERT from %u malformed%s", from,
		    is_signed(&s->p) ? " (a signed round: certificate and signature expected)" : "");
		return -EBADMSG;
	}
	if (is_signed(&s->p)) {
		if (s->ca) {
			sn->pk = advert_check(s->ca, &s->p, from, cpk, spk, bc,
					      &a, why, why_len);
			if (!sn->pk)
				return -EBADMSG;
		}
		sn->cert = malloc(a.cl);
		sn->asig = malloc(a.sl);
		if (!sn->cert || !sn->asig) {
			free(sn->cert);
			free(sn->asig);
			sn->cert = sn->asig = NULL;
			EVP_PKEY_free(sn->pk);
			sn->pk = NULL;
			return -ENOMEM;
		}
		memcpy(sn->cert, a.cert, a.cl);
		memcpy(sn->asig, a.sig, a.sl);
		sn->cl = a.cl;
		sn->asl = a.sl;
	}
	memcpy(sn->cpk, cpk, KEY_LEN);
	memcpy(sn->spk, spk, KEY_LEN);
	memcpy(sn->bc, bc, 32);
	return 0;
}

static int recv_consist(struct mcai_secagg_server *s, u32 from, struct rd *r,
			char *why, size_t why_len)
{
	struct snode *sn = &s->nd[from];
	u8 m[CONSIST_TBS];
	const u8 *sig;
	u16 sl;

	sig = rd_blob(r, MCAI_SECAGG_SIG_MAX, &sl);
	if (!sig || r->left) {
		say(why, why_len, "CONSIST from %u malformed", from);
		return -EBADMSG;
	}
	if (sn->pk) {
		consist_tbs(s->p.round, from, s->rep.masked, s->u3_digest, m);
		if (!sig_ok(sn->pk, m, sizeof(m), sig, sl)) {
			say(why, why_len,
			    "CONSIST from %u: not a signature of the survivor set",
			    from);
			return -EBADMSG;
		}
	}
	sn->csig = malloc(sl);
	if (!sn->csig)
		return -ENOMEM;
	memcpy(sn->csig, sig, sl);
	sn->csl = sl;
	return 0;
}

static int recv_shares(struct mcai_secagg_server *s, u32 from, struct rd *r,
		       char *why, size_t why_len)
{
	struct snode *sn = &s->nd[from];
	const u32 *nb = row(s, from);
	u32 k = rd_u32(r), i, m = 0, want = 0;

	for (i = 0; i < s->d; i++)
		want += !!(s->nd[nb[i]].in & IN_U1);
	/* exactly the neighbours that advertised: then masks line up */
	if (r->bad || k != want || r->left != (size_t)k * (4 + CT_LEN)) {
		say(why, why_len, "SHARES from %u: %u entries, want %u", from,
		    k, want);
		return -EBADMSG;
	}
	for (i = 0; i < s->d; i++) {
		if (!(s->nd[nb[i]].in & IN_U1))
			continue;
		if (mcai_le32(r->p + (size_t)m * (4 + CT_LEN)) != nb[i]) {
			say(why, why_len, "SHARES from %u: entry %u is not for %u",
			    from, m, nb[i]);
			return -EBADMSG;
		}
		m++;
	}
	sn->ct = malloc((size_t)s->d * CT_LEN);
	if (!sn->ct)
		return -ENOMEM;
	for (i = 0; i < k; i++) {
		const u8 *e = rd_bytes(r, 4 + CT_LEN);

		memcpy(sn->ct + (size_t)npos(s, from, mcai_le32(e)) * CT_LEN,
		       e + 4, CT_LEN);
	}
	return 0;
}

static int recv_unmask(struct mcai_secagg_server *s, u32 from, struct rd *r,
		       char *why, size_t why_len)
{
	u32 k = rd_u32(r), i;
	const size_t el = 5 + SHARE_LEN;
	struct rd chk;

	if (r->bad || k > s->d || r->left != (size_t)k * el) {
		say(why, why_len, "UNMASK from %u: %u entries in %zu bytes",
		    from, k, r->left);
		return -EBADMSG;
	}
	/* all checked first: a bad answer is dropped whole */
	chk = *r;
	for (i = 0; i < k; i++) {
		const u8 *e = rd_bytes(&chk, el);
		u32 about = mcai_le32(e);
		struct mcai_shamir_share sh;
		int at = about < s->n ? npos(s, about, from) : -1;
		u8 want;

		if (at < 0 || !(s->nd[about].in & IN_U2)) {
			say(why, why_len,
			    "UNMASK from %u: node %u is not its neighbour in U2",
			    from, about);
			return -EBADMSG;
		}
		want = s->nd[about].in & IN_U3 ? MCAI_SECAGG_SELF :
						  MCAI_SECAGG_PAIR;
		if (e[4] != want || !get_share(e + 5, &sh) || sh.x != from + 1) {
			say(why, why_len, "UNMASK from %u: bad share of node %u",
			    from, about);
			return -EBADMSG;
		}
		if (s->nd[about].sh_have && s->nd[about].sh_have[at]) {
			say(why, why_len, "UNMASK from %u: node %u twice", from,
			    about);
			return -EBADMSG;
		}
	}
	for (i = 0; i < k; i++) {
		const u8 *e = rd_bytes(r, el);
		u32 about = mcai_le32(e);
		struct snode *sn = &s->nd[about];
		int at = npos(s, about, from);

		if (!sn->sh) {
			sn->sh = calloc(s->d, sizeof(*sn->sh));
			sn->sh_have = calloc(s->d, 1);
			if (!sn->sh || !sn->sh_have)
				return -ENOMEM;
		}
		get_share(e + 5, &sn->sh[at]);
		sn->sh_have[at] = 1;
	}
	return 0;
}

int mcai_secagg_server_receive(struct mcai_secagg_server *s, const u8 *msg,
			       size_t len, char *why, size_t why_len)
{
	struct rd r;
	u32 from, i;
	u8 type;
	int err;

	if (s->phase > MCAI_SECAGG_PH_UNMASK) {
		say(why, why_len, "round is over");
		return -EPROTO;
	}
	type = msg && len ? msg[0] : 0;
	if (type != phase_msg[s->phase]) {
		say(why, why_len, "message type %u in phase %d (late or early)",
		    type, s->phase);
		return -EPROTO;
	}
	err = rd_hdr(&r, msg, len, type, &s->p, &from, why, why_len);
	if (err)
		return err;
	if ((s->nd[from].in & phase_need(s, s->phase)) !=
	    phase_need(s, s->phase)) {
		say(why, why_len, "node %u is out of the round", from);
		return -EPERM;
	}
	if (s->nd[from].in & phase_join[s->phase]) {
		say(why, why_len, "node %u already sent this phase's message",
		    from);
		return -EALREADY;
	}
	switch (s->phase) {
	case MCAI_SECAGG_PH_ADVERTISE:
		err = recv_advert(s, from, &r, why, why_len);
		break;
	case MCAI_SECAGG_PH_CONSIST:
		err = recv_consist(s, from, &r, why, why_len);
		break;
	case MCAI_SECAGG_PH_SHARE:
		err = recv_shares(s, from, &r, why, why_len);
		break;
	case MCAI_SECAGG_PH_MASKED:
		if (rd_u32(&r) != s->p.dim ||
		    r.left != (size_t)s->p.dim * (ring16(&s->p) ? 2 : 4)) {
			say(why, why_len, "MASKED from %u: wrong length", from);
			return -EBADMSG;
		}
		/* streaming: only the running sum is kept */
		for (i = 0; i < s->p.dim; i++)
			s->acc[i] += ring16(&s->p) ? rd_u16(&r) : rd_u32(&r);
		break;
	default:
		err = recv_unmask(s, from, &r, why, why_len);
		break;
	}
	if (err)
		return err;
	s->nd[from].in |= phase_join[s->phase];
	return 0;
}

static u32 count_in(const struct mcai_secagg_server *s, u8 set)
{
	u32 i, c = 0;

	for (i = 0; i < s->n; i++)
		c += !!(s->nd[i].in & set);
	return c;
}

static int fail(struct mcai_secagg_server *s, int err, char *why,
		size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct mcai_secagg_server *s, int err, char *why,
		size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	say(why, why_len, "%s", s->reason);
	s->phase = MCAI_SECAGG_PH_FAILED;
	s->err = err;
	return err;
}

/* Whether @sec is node @j's: its seed commitment or its public key. */
static bool secret_ok(const struct mcai_secagg_server *s, u32 j, bool self,
		      const u8 sec[KEY_LEN])
{
	u8 chk[32];
	EVP_PKEY *sk;
	bool ok;

	if (self)
		return !commit(sec, s->p.round, j, chk) &&
		       !memcmp(chk, s->nd[j].bc, 32);
	sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sec, KEY_LEN);
	ok = sk && !x25519_pub(sk, chk) && !memcmp(chk, s->nd[j].spk, KEY_LEN);
	EVP_PKEY_free(sk);
	return ok;
}

/*
 * The secret of @j from the shares its neighbours revealed, checked.  The
 * first t shares are tried, then, when there are more, every set leaving
 * one out: a single bad share is worked around.  -ENODATA below t shares,
 * -EBADMSG when no set gives the committed secret.
 */
static int rebuild(struct mcai_secagg_server *s, u32 j, bool self,
		   u8 out[KEY_LEN], u32 *got)
{
	struct snode *sn = &s->nd[j];
	struct mcai_shamir_share *sh, *use;
	u32 i, k = 0, a, m, t = s->p.threshold;
	int err = -ENODATA;

	*got = 0;
	if (!sn->sh)
		return -ENODATA;
	sh = malloc(2 * (size_t)s->d * sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	use = sh + s->d;
	for (i = 0; i < s->d; i++)
		if (sn->sh_have[i])
			sh[k++] = sn->sh[i];
	*got = k;
	/* try 0: the first t; try a = 1..k (k > t): all but share a - 1 */
	for (a = 0; k >= t && a <= (k > t ? k : 0); a++) {
		for (i = 0, m = 0; i < k; i++)
			if (!a || i != a - 1)
				use[m++] = sh[i];
		err = mcai_shamir_combine(use, m, t, out);
		if (err == -ENOMEM || (!err && secret_ok(s, j, self, out)))
			break;
		err = -EBADMSG;
	}
	OPENSSL_cleanse(sh, 2 * (size_t)s->d * sizeof(*sh));
	free(sh);
	if (err)
		OPENSSL_cleanse(out, KEY_LEN);
	return err;
}

static int finish(struct mcai_secagg_server *s, char *why, size_t why_len)
{
	u8 sec[KEY_LEN], key[PRG_KEY_LEN], pub[KEY_LEN];
	u32 j, i, got;
	int err = 0;

	s->rep.answered = count_in(s, IN_U4);
	for (j = 0; j < s->n && !err; j++) {
		struct snode *sn = &s->nd[j];
		const u32 *nb = row(s, j);
		EVP_PKEY *sk;
		bool needed = false;

		if (sn->in & IN_U3) {
			/* a survivor: take its self mask off */
			err = rebuild(s, j, true, sec, &got);
			if (err == -ENODATA || err == -EBADMSG) {
				err = fail(s, err, why, why_len,
					   "node %u survived but %u of its neighbours revealed its self-mask share, threshold %u%s",
					   j, got, s->p.threshold,
					   err == -EBADMSG ? " (no set of them rebuilds the committed secret)" : "");
				break;
			}
			if (!err)
				err = hkdf(sec, KEY_LEN, "mcai-secagg self",
					   s->p.round, j, j, key, sizeof(key));
			if (!err)
				err = prg_add(key, s->acc, s->p.dim, true);
			continue;
		}
		if (!(sn->in & IN_U2))
			continue;
		/* dropped after sharing: survivors masked towards it */
		for (i = 0; i < s->d; i++)
			needed |= !!(s->nd[nb[i]].in & IN_U3);
		if (!needed)
			continue;
		err = rebuild(s, j, false, sec, &got);
		if (err == -ENODATA || err == -EBADMSG) {
			err = fail(s, err, why, why_len,
				   "node %u dropped after sharing and %u of its neighbours revealed its key share, threshold %u%s",
				   j, got, s->p.threshold,
				   err == -EBADMSG ? " (no set of them rebuilds the committed secret)" : "");
			break;
		}
		if (err)
			break;
		sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sec,
						  KEY_LEN);
		if (!sk || x25519_pub(sk, pub) ||
		    memcmp(pub, sn->spk, KEY_LEN)) {
			EVP_PKEY_free(sk);
			err = fail(s, -EBADMSG, why, why_len,
				   "node %u: the rebuilt key does not match the advertised one",
				   j);
			break;
		}
		for (i = 0; i < s->d && !err; i++) {
			u32 k = nb[i];

			if (!(s->nd[k].in & IN_U3))
				continue;
			err = pair_key(sk, s->nd[k].spk, "mcai-secagg mask",
				       s->p.round, j, k, key, sizeof(key));
			/* k added +PRG if j < k, -PRG if j > k: undo it */
			if (!err)
				err = prg_add(key, s->acc, s->p.dim, j < k);
		}
		EVP_PKEY_free(sk);
		s->rep.recovered++;
	}
	OPENSSL_cleanse(sec, sizeof(sec));
	OPENSSL_cleanse(key, sizeof(key));
	if (err && s->phase != MCAI_SECAGG_PH_FAILED)
		return fail(s, err, why, why_len, "unmasking failed (%d)", err);
	if (!err) {
		/* the narrow ring: everything above bit 15 is mask residue */
		for (i = 0; ring16(&s->p) && i < s->p.dim; i++)
			s->acc[i] &= 0xffff;
		s->phase = MCAI_SECAGG_PH_DONE;
	}
	return err;
}

/* SHA-256 of U3's ids (u32 LE each, ascending), as CONSIST_REQ sends them. */
static int u3_digest(struct mcai_secagg_server *s)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	u8 w[4];
	u32 i;
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;

	for (i = 0; ok && i < s->n; i++) {
		if (!(s->nd[i].in & IN_U3))
			continue;
		mcai_put_le32(w, i);
		ok = EVP_DigestUpdate(c, w, 4) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(c, s->u3_digest, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EIO;
}

int mcai_secagg_server_close(struct mcai_secagg_server *s, char *why,
			     size_t why_len)
{
	u32 t = s->p.threshold, c;

	switch (s->phase) {
	case MCAI_SECAGG_PH_ADVERTISE:
		c = s->rep.advertised = count_in(s, IN_U1);
		/* every node needs t holders besides itself */
		if (c < t + 1)
			return fail(s, -ENODATA, why, why_len,
				    "%u nodes advertised keys, need threshold + 1 = %u",
				    c, t + 1);
		break;
	case MCAI_SECAGG_PH_SHARE:
		c = s->rep.shared = count_in(s, IN_U2);
		if (c < t + 1)
			return fail(s, -ENODATA, why, why_len,
				    "%u nodes sent shares, need threshold + 1 = %u",
				    c, t + 1);
		break;
	case MCAI_SECAGG_PH_MASKED:
		c = s->rep.masked = count_in(s, IN_U3);
		if (c < t)
			return fail(s, -ENODATA, why, why_len,
				    "%u masked inputs, threshold %u", c, t);
		if (is_signed(&s->p) && u3_digest(s))
			return fail(s, -EIO, why, why_len, "OpenSSL: SHA-256");
		/* unsigned rounds go straight to unmasking */
		if (!is_signed(&s->p))
			s->phase++;
		break;
	case MCAI_SECAGG_PH_CONSIST:
		c = count_in(s, IN_C);
		if (c < t)
			return fail(s, -ENODATA, why, why_len,
				    "%u nodes confirmed the survivor set, threshold %u",
				    c, t);
		break;
	case MCAI_SECAGG_PH_UNMASK:
		return finish(s, why, why_len);
	default:
		say(why, why_len, "round is over");
		return -EPROTO;
	}
	s->phase++;
	return 0;
}

int mcai_secagg_server_message_for(struct mcai_secagg_server *s, u32 id,
				   struct mcai_buf *out, char *why,
				   size_t why_len)
{
	static const u8 need[] = {
		[MCAI_SECAGG_PH_SHARE] = IN_U1,
		[MCAI_SECAGG_PH_MASKED] = IN_U2,
		[MCAI_SECAGG_PH_CONSIST] = IN_U3,
		[MCAI_SECAGG_PH_UNMASK] = IN_U3,
	};
	u8 in_need = need[s->phase < MCAI_SECAGG_PH_SHARE ? MCAI_SECAGG_PH_SHARE :
		       s->phase > MCAI_SECAGG_PH_UNMASK ? MCAI_SECAGG_PH_UNMASK :
		       s->phase];
	bool sgn = is_signed(&s->p);
	const u32 *nb;
	size_t start = out->len;
	u32 i, k = 0;

	if (s->phase < MCAI_SECAGG_PH_SHARE || s->phase > MCAI_SECAGG_PH_UNMASK) {
		say(why, why_len, "no message to send in this phase");
		return -EPROTO;
	}
	if (sgn && s->phase == MCAI_SECAGG_PH_UNMASK)
		in_need |= IN_C;
	if (id >= s->n || (s->nd[id].in & in_need) != in_need) {
		say(why, why_len, "node %u is out of the round", id);
		return -ENOENT;
	}
	nb = row(s, id);
	switch (s->phase) {
	case MCAI_SECAGG_PH_SHARE:
		for (i = 0; i < s->d; i++)
			k += !!(s->nd[nb[i]].in & IN_U1);
		put_hdr(out, MCAI_SECAGG_KEYS, id, s->p.round);
		mcai_buf_put_u32(out, k);
		for (i = 0; i < s->d; i++) {
			const struct snode *sn = &s->nd[nb[i]];

			if (!(sn->in & IN_U1))
				continue;
			mcai_buf_put_u32(out, nb[i]);
			mcai_buf_put(out, sn->cpk, KEY_LEN);
			mcai_buf_put(out, sn->spk, KEY_LEN);
			if (!sgn)
				continue;
			mcai_buf_put(out, sn->bc, 32);
			mcai_buf_put_u16(out, sn->cl);
			mcai_buf_put(out, sn->cert, sn->cl);
			mcai_buf_put_u16(out, sn->asl);
			mcai_buf_put(out, sn->asig, sn->asl);
		}
		break;
	case MCAI_SECAGG_PH_CONSIST:
		put_hdr(out, MCAI_SECAGG_CONSIST_REQ, id, s->p.round);
		mcai_buf_put_u32(out, s->rep.masked);
		for (i = 0; i < s->n; i++)
			if (s->nd[i].in & IN_U3)
				mcai_buf_put_u32(out, i);
		break;
	case MCAI_SECAGG_PH_MASKED:
		for (i = 0; i < s->d; i++)
			k += !!(s->nd[nb[i]].in & IN_U2);
		put_hdr(out, MCAI_SECAGG_SHARES_FOR, id, s->p.round);
		mcai_buf_put_u32(out, k);
		for (i = 0; i < s->d; i++) {
			const struct snode *sn = &s->nd[nb[i]];

			if (!(sn->in & IN_U2))
				continue;
			mcai_buf_put_u32(out, nb[i]);
			mcai_buf_put(out, sn->ct + (size_t)npos(s, nb[i], id) *
					  CT_LEN, CT_LEN);
		}
		break;
	default:
		put_hdr(out, MCAI_SECAGG_UNMASK_REQ, id, s->p.round);
		mcai_buf_put_u32(out, s->rep.masked);
		for (k = 0; k < 2; k++) {
			u8 want = k ? IN_U2 : IN_U2 | IN_U3;
			u32 c = 0;

			for (i = 0; i < s->d; i++)
				c += (s->nd[nb[i]].in & (IN_U2 | IN_U3)) == want;
			mcai_buf_put_u32(out, c);
			for (i = 0; i < s->d; i++)
				if ((s->nd[nb[i]].in & (IN_U2 | IN_U3)) == want)
					mcai_buf_put_u32(out, nb[i]);
		}
		if (!sgn)
			break;
		for (i = 0, k = 0; i < s->d; i++)
			k += !!(s->nd[nb[i]].in & IN_C);
		mcai_buf_put_u32(out, k);
		for (i = 0; i < s->d; i++) {
			const struct snode *sn = &s->nd[nb[i]];

			if (!(sn->in & IN_C))
				continue;
			mcai_buf_put_u32(out, nb[i]);
			mcai_buf_put_u16(out, sn->csl);
			mcai_buf_put(out, sn->csig, sn->csl);
		}
		break;
	}
	return out_done(out, start, 0, why, why_len);
}

int mcai_secagg_server_result(const struct mcai_secagg_server *s, u32 *words,
			      float *sum, struct mcai_secagg_report *rep,
			      char *why, size_t why_len)
{
	if (rep)
		*rep = s->rep;
	if (s->phase == MCAI_SECAGG_PH_FAILED) {
		say(why, why_len, "%s", s->reason);
		return s->err;
	}
	if (s->phase != MCAI_SECAGG_PH_DONE) {
		say(why, why_len, "round not finished");
		return -EPROTO;
	}
	if (words)
		memcpy(words, s->acc, (size_t)s->p.dim * sizeof(*words));
	if (sum && ring16(&s->p)) {
		u32 i;

		for (i = 0; i < s->p.dim; i++)
			sum[i] = (float)(int16_t)s->acc[i];
	} else if (sum) {
		mcai_secagg_decode(&s->p, s->acc, sum);
	}
	return 0;
}
