// SPDX-License-Identifier: GPL-2.0
/*
 * SHA-256 (FIPS 180-4).  Small and portable rather than fast: it runs once
 * per model load, over at most a few megabytes.
 */
#include "models/engine/sha256.h"

static const u32 mcai_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline u32 mcai_ror32(u32 x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static u32 mcai_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static void mcai_sha256_block(u32 st[8], const u8 *p)
{
	u32 w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = mcai_be32(p + 4 * i);
	for (i = 16; i < 64; i++) {
		u32 s0 = mcai_ror32(w[i - 15], 7) ^ mcai_ror32(w[i - 15], 18) ^
			 (w[i - 15] >> 3);
		u32 s1 = mcai_ror32(w[i - 2], 17) ^ mcai_ror32(w[i - 2], 19) ^
			 (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = st[0]; b = st[1]; c = st[2]; d = st[3];
	e = st[4]; f = st[5]; g = st[6]; h = st[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (mcai_ror32(e, 6) ^ mcai_ror32(e, 11) ^ mcai_ror32(e, 25)) +
		     ((e & f) ^ (~e & g)) + mcai_sha256_k[i] + w[i];
		t2 = (mcai_ror32(a, 2) ^ mcai_ror32(a, 13) ^ mcai_ror32(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	st[0] += a; st[1] += b; st[2] += c; st[3] += d;
	st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

void mcai_sha256_init(struct mcai_sha256 *c)
{
	static const u32 iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->state, iv, sizeof(iv));
	c->bytes = 0;
}

void mcai_sha256_update(struct mcai_sha256 *c, const void *data, size_t len)
{
	const u8 *p = data;
	size_t fill = c->bytes % 64;

	c->bytes += len;
	if (fill) {
		size_t take = 64 - fill < len ? 64 - fill : len;

		memcpy(c->buf + fill, p, take);
		p += take;
		len -= take;
		if (fill + take < 64)
			return;
		mcai_sha256_block(c->state, c->buf);
	}
	for (; len >= 64; p += 64, len -= 64)
		mcai_sha256_block(c->state, p);
	if (len)
		memcpy(c->buf, p, len);
}

void mcai_sha256_final(struct mcai_sha256 *c, u8 out[MCAI_SHA256_LEN])
{
	u64 bits = c->bytes * 8;
	size_t fill = c->bytes % 64;
	int i;

	c->buf[fill++] = 0x80;
	if (fill > 56) {
		memset(c->buf + fill, 0, 64 - fill);
		mcai_sha256_block(c->state, c->buf);
		fill = 0;
	}
	memset(c->buf + fill, 0, 56 - fill);
	for (i = 0; i < 8; i++)
		c->buf[56 + i] = (u8)(bits >> (56 - 8 * i));
	mcai_sha256_block(c->state, c->buf);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (u8)(c->state[i] >> 24);
		out[4 * i + 1] = (u8)(c->state[i] >> 16);
		out[4 * i + 2] = (u8)(c->state[i] >> 8);
		out[4 * i + 3] = (u8)c->state[i];
	}
}

void mcai_sha256(const void *data, size_t len, u8 out[MCAI_SHA256_LEN])
{
	struct mcai_sha256 c;

	mcai_sha256_init(&c);
	mcai_sha256_update(&c, data, len);
	mcai_sha256_final(&c, out);
}
