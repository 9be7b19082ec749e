// SPDX-License-Identifier: GPL-2.0
/*
 * The federation protocol codec: see proto.h for the wire format.
 *
 * The decoders are the attack surface of an aggregator with thousands of
 * peers, so they follow one pattern: a bounded reader that fails closed
 * (every get checks the bytes left first), counts checked against the bytes
 * left before anything is sized from them, and every semantic rule the
 * encoders also enforce, so a message that decodes can be re-encoded to the
 * same bytes.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/floats.h"
#include "runtime/fed/proto.h"

static _Thread_local char mcai_why_buf[160];

/* Reasons with numbers in them: formatted per thread, see proto.h. */
static const char *mcai_whyf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static const char *mcai_whyf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mcai_why_buf, sizeof(mcai_why_buf), fmt, ap);
	va_end(ap);
	return mcai_why_buf;
}

static void mcai_set_why(const char **why, const char *s)
{
	if (why)
		*why = s;
}

static uint16_t mcai_ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t mcai_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t mcai_ld64(const uint8_t *p)
{
	return (uint64_t)mcai_ld32(p) | (uint64_t)mcai_ld32(p + 4) << 32;
}

static float mcai_ldf(const uint8_t *p)
{
	uint32_t bits = mcai_ld32(p);
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static void mcai_st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void mcai_st32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* ---------------------------------------------------------------------- */
/* Frame header                                                           */
/* ---------------------------------------------------------------------- */

static const char *const mcai_type_names[] = {
	[MCAI_MSG_HELLO] = "HELLO",
	[MCAI_MSG_WELCOME] = "WELCOME",
	[MCAI_MSG_ROUND] = "ROUND",
	[MCAI_MSG_MODEL] = "MODEL",
	[MCAI_MSG_UPDATE] = "UPDATE",
	[MCAI_MSG_TELEMETRY] = "TELEMETRY",
	[MCAI_MSG_ERROR] = "ERROR",
	[MCAI_MSG_BYE] = "BYE",
	[MCAI_MSG_DRIFT] = "DRIFT",
	[MCAI_MSG_PROGRESS] = "PROGRESS",
	[MCAI_MSG_MODEL_PART] = "MODEL_PART",
	[MCAI_MSG_MODEL_RESUME] = "MODEL_RESUME",
	[MCAI_MSG_DATASTATS] = "DATASTATS",
	[MCAI_MSG_SA_ADVERT] = "SA_ADVERT",
	[MCAI_MSG_SA_KEYS] = "SA_KEYS",
	[MCAI_MSG_SA_SHARES] = "SA_SHARES",
	[MCAI_MSG_SA_SHARES_FOR] = "SA_SHARES_FOR",
	[MCAI_MSG_SA_MASKED] = "SA_MASKED",
	[MCAI_MSG_SA_UNMASK_REQ] = "SA_UNMASK_REQ",
	[MCAI_MSG_SA_UNMASK] = "SA_UNMASK",
	[MCAI_MSG_UPDATE_Z] = "UPDATE_Z",
	[MCAI_MSG_SA_CONSIST_REQ] = "SA_CONSIST_REQ",
	[MCAI_MSG_SA_CONSIST] = "SA_CONSIST",
};

const char *mcai_msg_type_name(uint16_t type)
{
	if (type >= 1 && type <= MCAI_MSG_MAX)
		return mcai_type_names[type];
	return "UNKNOWN";
}

int mcai_frame_hdr_parse(const uint8_t *buf, size_t len,
			 struct mcai_frame_hdr *out, const char **why)
{
	struct mcai_frame_hdr h;

	if (len < MCAI_FRAME_HDR_LEN) {
		mcai_set_why(why, "short frame header");
		return -EAGAIN;
	}
	h.magic = mcai_ld32(buf);
	h.version = mcai_ld16(buf + 4);
	h.type = mcai_ld16(buf + 6);
	h.length = mcai_ld32(buf + 8);
	h.flags = mcai_ld32(buf + 12);
	/* Magic first: anything else on the port is not ours at all. */
	if (h.magic != MCAI_FRAME_MAGIC) {
		mcai_set_why(why, mcai_whyf("bad frame magic 0x%08x",
					    h.magic));
		return -EBADMSG;
	}
	if (h.version != MCAI_PROTO_VERSION) {
		mcai_set_why(why, mcai_whyf("unsupported protocol version %u",
					    h.version));
		return -EPROTONOSUPPORT;
	}
	if (h.length > MCAI_FRAME_MAX) {
		mcai_set_why(why, mcai_whyf("frame length %u over the %u limit",
					    h.length, MCAI_FRAME_MAX));
		return -EMSGSIZE;
	}
	if (h.flags) {
		mcai_set_why(why, mcai_whyf("unknown frame flags 0x%x",
					    h.flags));
		return -EBADMSG;
	}
	if (h.type < 1 || h.type > MCAI_MSG_MAX) {
		mcai_set_why(why, mcai_whyf("unknown message type %u", h.type));
		return -EBADMSG;
	}
	*out = h;
	return 0;
}

void mcai_frame_hdr_write(uint8_t *buf, uint16_t type, uint32_t length)
{
	mcai_st32(buf, MCAI_FRAME_MAGIC);
	mcai_st16(buf + 4, MCAI_PROTO_VERSION);
	mcai_st16(buf + 6, type);
	mcai_st32(buf + 8, length);
	mcai_st32(buf + 12, 0);
}

/* ---------------------------------------------------------------------- */
/* Output buffer                                                          */
/* ---------------------------------------------------------------------- */

void mcai_buf_init(struct mcai_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void mcai_buf_init_fixed(struct mcai_buf *b, void *mem, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->data = mem;
	b->cap = cap;
	b->fixed = true;
}

void mcai_buf_free(struct mcai_buf *b)
{
	if (!b->fixed)
		free(b->data);
	memset(b, 0, sizeof(*b));
}

void mcai_buf_reset(struct mcai_buf *b)
{
	b->len = 0;
	b->err = 0;
}

/*
 * Room for a few maximal frames queued behind each other, and no more: an
 * encoder fed a wild count fails with -EMSGSIZE instead of trying to
 * allocate gigabytes.
 */
#define MCAI_BUF_LIMIT	(8 * ((size_t)MCAI_FRAME_HDR_LEN + MCAI_FRAME_MAX))

static bool mcai_buf_room(struct mcai_buf *b, size_t n)
{
	size_t cap;
	uint8_t *d;

	if (b->err)
		return false;
	if (n <= b->cap - b->len)
		return true;
	if (b->fixed) {
		b->err = -ENOBUFS;
		return false;
	}
	if (n > MCAI_BUF_LIMIT - b->len) {
		b->err = -EMSGSIZE;
		return false;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	if (cap > MCAI_BUF_LIMIT)
		cap = MCAI_BUF_LIMIT;
	d = realloc(b->data, cap);
	if (!d) {
		b->err = -ENOMEM;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void mcai_buf_put(struct mcai_buf *b, const void *p, size_t n)
{
	if (!n || !mcai_buf_room(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void mcai_buf_put_u8(struct mcai_buf *b, uint8_t v)
{
	mcai_buf_put(b, &v, 1);
}

void mcai_buf_put_u16(struct mcai_buf *b, uint16_t v)
{
	uint8_t t[2];

	mcai_st16(t, v);
	mcai_buf_put(b, t, sizeof(t));
}

void mcai_buf_put_u32(struct mcai_buf *b, uint32_t v)
{
	uint8_t t[4];

	mcai_st32(t, v);
	mcai_buf_put(b, t, sizeof(t));
}

void mcai_buf_put_u64(struct mcai_buf *b, uint64_t v)
{
	uint8_t t[8];

	mcai_st32(t, (uint32_t)v);
	mcai_st32(t + 4, (uint32_t)(v >> 32));
	mcai_buf_put(b, t, sizeof(t));
}

void mcai_buf_put_f32(struct mcai_buf *b, float v)
{
	uint32_t bits;

	memcpy(&bits, &v, sizeof(bits));
	mcai_buf_put_u32(b, bits);
}

size_t mcai_frame_begin(struct mcai_buf *b, uint16_t type)
{
	size_t start = b->len;
	uint8_t h[MCAI_FRAME_HDR_LEN];

	mcai_frame_hdr_write(h, type, 0);
	mcai_buf_put(b, h, sizeof(h));
	return start;
}

int mcai_frame_end(struct mcai_buf *b, size_t start)
{
	size_t plen;

	if (b->err)
		return b->err;
	if (start > b->len || b->len - start < MCAI_FRAME_HDR_LEN)
		return -EINVAL;
	plen = b->len - start - MCAI_FRAME_HDR_LEN;
	if (plen > MCAI_FRAME_MAX) {
		b->err = -EMSGSIZE;
		return b->err;
	}
	mcai_st32(b->data + start + 8, (uint32_t)plen);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Float views                                                            */
/* ---------------------------------------------------------------------- */

float mcai_f32v_get(const struct mcai_f32v *v, uint32_t i)
{
	return mcai_ldf(v->le + 4 * (size_t)i);
}

/* The wire's floats are the host's: little-endian IEEE-754 binary32. */
static bool mcai_host_floats(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return ((uintptr_t)p & (_Alignof(float) - 1)) == 0;
#else
	(void)p;
	return false;
#endif
}

void mcai_f32v_copy(const struct mcai_f32v *v, float *dst)
{
	uint32_t i;

	if (mcai_host_floats(v->le)) {
		memcpy(dst, v->le, 4 * (size_t)v->n);
		return;
	}
	for (i = 0; i < v->n; i++)
		dst[i] = mcai_ldf(v->le + 4 * (size_t)i);
}

const float *mcai_f32v_floats(const struct mcai_f32v *v)
{
	if (!v->n || !mcai_host_floats(v->le))
		return NULL;
	return (const float *)(const void *)v->le;
}

/* ---------------------------------------------------------------------- */
/* String rules                                                           */
/* ---------------------------------------------------------------------- */

/* The kernel's rule for model names (models/engine/verify.c). */
static bool mcai_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/*
 * Node ids end up in logs, file names of the fleet view and mcaictl
 * output: no spaces, no control bytes, nothing a shell or a terminal
 * would interpret.
 */
static bool mcai_id_char(unsigned char c)
{
	return mcai_name_char(c) || c == ':' || c == '@';
}

static bool mcai_msg_char(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

enum mcai_str_kind { MCAI_STR_ID, MCAI_STR_NAME, MCAI_STR_MSG };

static size_t mcai_str_max(enum mcai_str_kind k)
{
	return k == MCAI_STR_ID ? MCAI_PROTO_ID_MAX :
	       k == MCAI_STR_NAME ? MCAI_PROTO_NAME_MAX : MCAI_PROTO_MSG_MAX;
}

/* NULL when fine, else the reason; @what names the field. */
static const char *mcai_str_check(const char *s, size_t n,
				  enum mcai_str_kind k, const char *what)
{
	size_t i;

	if (n > mcai_str_max(k))
		return mcai_whyf("%s: %zu bytes, at most %zu", what, n,
				 mcai_str_max(k));
	if (!n && k != MCAI_STR_MSG)
		return mcai_whyf("%s: empty", what);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = k == MCAI_STR_ID ? mcai_id_char(c) :
			  k == MCAI_STR_NAME ? mcai_name_char(c) :
			  mcai_msg_char(c);

		if (!c)
			return mcai_whyf("%s: NUL byte at %zu", what, i);
		if (!ok)
			return mcai_whyf("%s: bad character 0x%02x at %zu",
					 what, c, i);
	}
	return NULL;
}

bool mcai_proto_name_ok(const char *s)
{
	size_t n = strnlen(s, MCAI_PROTO_NAME_MAX + 1);

	return !mcai_str_check(s, n, MCAI_STR_NAME, "name");
}

bool mcai_proto_id_ok(const char *s)
{
	size_t n = strnlen(s, MCAI_PROTO_ID_MAX + 1);

	return !mcai_str_check(s, n, MCAI_STR_ID, "id");
}

/* ---------------------------------------------------------------------- */
/* Bounded reader                                                         */
/* ---------------------------------------------------------------------- */

struct mcai_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	const char *why;	/* first failure; later gets are no-ops */
};

static bool mcai_rd_need(struct mcai_rd *r, size_t n, const char *what)
{
	if (r->why)
		return false;
	if (n > r->len - r->off) {
		r->why = mcai_whyf("truncated %s: %zu bytes at offset %zu, %zu left",
				   what, n, r->off, r->len - r->off);
		return false;
	}
	return true;
}

static uint16_t mcai_rd_u16(struct mcai_rd *r, const char *what)
{
	uint16_t v;

	if (!mcai_rd_need(r, 2, what))
		return 0;
	v = mcai_ld16(r->p + r->off);
	r->off += 2;
	return v;
}

static uint32_t mcai_rd_u32(struct mcai_rd *r, const char *what)
{
	uint32_t v;

	if (!mcai_rd_need(r, 4, what))
		return 0;
	v = mcai_ld32(r->p + r->off);
	r->off += 4;
	return v;
}

static uint64_t mcai_rd_u64(struct mcai_rd *r, const char *what)
{
	uint64_t v;

	if (!mcai_rd_need(r, 8, what))
		return 0;
	v = mcai_ld64(r->p + r->off);
	r->off += 8;
	return v;
}

static float mcai_rd_f32(struct mcai_rd *r, const char *what)
{
	float v;

	if (!mcai_rd_need(r, 4, what))
		return 0;
	v = mcai_ldf(r->p + r->off);
	r->off += 4;
	if (!isfinite(v)) {
		r->why = mcai_whyf("%s: non-finite value", what);
		return 0;
	}
	return v;
}

/* Into @dst, which holds max + 1 bytes; always NUL-terminated. */
static void mcai_rd_str(struct mcai_rd *r, char *dst, enum mcai_str_kind k,
			const char *what)
{
	uint16_t n;
	const char *bad;

	dst[0] = 0;
	n = mcai_rd_u16(r, what);
	if (r->why)
		return;
	/* Length first: a huge length is "too long", not "truncated". */
	if (n > mcai_str_max(k)) {
		r->why = mcai_whyf("%s: %u bytes, at most %zu", what, n,
				   mcai_str_max(k));
		return;
	}
	if (!mcai_rd_need(r, n, what))
		return;
	bad = mcai_str_check((const char *)r->p + r->off, n, k, what);
	if (bad) {
		r->why = bad;
		return;
	}
	memcpy(dst, r->p + r->off, n);
	dst[n] = 0;
	r->off += n;
}

/*
 * Every UPDATE's delta goes through here: one branch-free pass where the
 * wire's floats are the host's.
 */
static bool mcai_le_floats_finite(const uint8_t *p, uint32_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return mcai_floats_finite(p, n);
#else
	uint32_t i;

	for (i = 0; i < n; i++)
		if (!isfinite(mcai_ldf(p + 4 * (size_t)i)))
			return false;
	return true;
#endif
}

static void mcai_rd_f32v(struct mcai_rd *r, struct mcai_f32v *v,
			 const char *what)
{
	uint32_t n, i;

	v->le = NULL;
	v->n = 0;
	n = mcai_rd_u32(r, what);
	if (r->why)
		return;
	if (n > MCAI_PROTO_MAX_FLOATS) {
		r->why = mcai_whyf("%s: count %u over the %u limit", what, n,
				   MCAI_PROTO_MAX_FLOATS);
		return;
	}
	/* n <= 2^21, so 4 * n cannot wrap a size_t. */
	if ((size_t)n * 4 > r->len - r->off) {
		r->why = mcai_whyf("%s: count %u needs %zu bytes, %zu left",
				   what, n, (size_t)n * 4, r->len - r->off);
		return;
	}
	/* The value by value walk only to say where the bad one is. */
	if (!mcai_le_floats_finite(r->p + r->off, n)) {
		for (i = 0; i < n; i++) {
			if (!isfinite(mcai_ldf(r->p + r->off + 4 * (size_t)i))) {
				r->why = mcai_whyf("%s: non-finite value at index %u",
						   what, i);
				return;
			}
		}
	}
	v->le = r->p + r->off;
	v->n = n;
	r->off += (size_t)n * 4;
}

static int mcai_rd_end(struct mcai_rd *r, const char **why)
{
	if (!r->why && r->off != r->len)
		r->why = mcai_whyf("%zu trailing bytes after the payload",
				   r->len - r->off);
	if (r->why) {
		mcai_set_why(why, r->why);
		return -EBADMSG;
	}
	return 0;
}

static void mcai_rd_init(struct mcai_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->off = 0;
	r->why = NULL;
}

/* ---------------------------------------------------------------------- */
/* Encoding helpers                                                       */
/* ---------------------------------------------------------------------- */

/* Checks as the decoder would, so we never send what a peer refuses. */
static const char *mcai_put_str(struct mcai_buf *b, const char *s,
				enum mcai_str_kind k, const char *what)
{
	size_t n = strnlen(s, mcai_str_max(k) + 1);
	const char *bad = mcai_str_check(s, n, k, what);

	if (bad)
		return bad;
	mcai_buf_put_u16(b, (uint16_t)n);
	mcai_buf_put(b, s, n);
	return NULL;
}

static const char *mcai_put_floats(struct mcai_buf *b, const float *f,
				   const struct mcai_f32v *v, uint32_t n,
				   const char *what)
{
	uint32_t i;

	if (!f) {
		if (n && (!v->le || v->n != n))
			return mcai_whyf("%s: no values", what);
	}
	if (n > MCAI_PROTO_MAX_FLOATS)
		return mcai_whyf("%s: count %u over the %u limit", what, n,
				 MCAI_PROTO_MAX_FLOATS);
	for (i = 0; i < n; i++) {
		float x = f ? f[i] : mcai_f32v_get(v, i);

		if (!isfinite(x))
			return mcai_whyf("%s: non-finite value at index %u",
					 what, i);
	}
	mcai_buf_put_u32(b, n);
	if (!f) {
		if (n)
			mcai_buf_put(b, v->le, (size_t)n * 4);
		return NULL;
	}
	/* One room check, then direct stores: these arrays are megabytes. */
	if (!mcai_buf_room(b, (size_t)n * 4))
		return NULL;
	for (i = 0; i < n; i++) {
		uint32_t bits;

		memcpy(&bits, &f[i], sizeof(bits));
		mcai_st32(b->data + b->len + 4 * (size_t)i, bits);
	}
	b->len += (size_t)n * 4;
	return NULL;
}

static int mcai_enc_done(struct mcai_buf *b, const char *bad,
			 const char **why)
{
	if (bad) {
		mcai_set_why(why, bad);
		return -EINVAL;
	}
	if (b->err) {
		mcai_set_why(why, b->err == -ENOMEM ? "out of memory" :
			     "message does not fit the buffer");
		return b->err;
	}
	return 0;
}

/*
 * Encoders check everything before writing a byte, so a rejected message
 * leaves the buffer as it was; these run the field checks shared by both
 * directions.
 */
static const char *mcai_round_check(const struct mcai_msg_round *m)
{
	if (!m->round_id)
		return "round id 0";
	if (!m->deadline_ms || m->deadline_ms > MCAI_PROTO_MAX_DEADLINE_MS)
		return mcai_whyf("deadline %u ms out of range", m->deadline_ms);
	if (!m->local_epochs || m->local_epochs > MCAI_PROTO_MAX_EPOCHS)
		return mcai_whyf("local epochs %u out of range",
				 m->local_epochs);
	if (!m->batch || m->batch > MCAI_PROTO_MAX_BATCH)
		return mcai_whyf("batch %u out of range", m->batch);
	if (!isfinite(m->lr) || !(m->lr > 0))
		return "learning rate not a positive finite number";
	if (!isfinite(m->prox_mu) || m->prox_mu < 0)
		return "prox mu not a finite number >= 0";
	if (m->flags & ~MCAI_ROUND_FLAGS_ALL)
		return mcai_whyf("unknown round flags 0x%x", m->flags);
	if (m->flags & MCAI_ROUND_F_DP) {
		if (!isfinite(m->dp_clip) || !(m->dp_clip > 0))
			return "dp clip not a positive finite number";
		if (!isfinite(m->dp_sigma) || !(m->dp_sigma > 0))
			return "dp noise multiplier not a positive finite number";
		if (!m->dp_shares)
			return "dp noise shares 0";
	}
	if (m->flags & MCAI_ROUND_F_SECAGG) {
		if (m->sa_nodes < 2 || m->sa_nodes > MCAI_PROTO_SA_MAX_NODES)
			return mcai_whyf("secagg nodes %u out of range",
					 m->sa_nodes);
		if (m->sa_id >= m->sa_nodes)
			return mcai_whyf("secagg id %u not below %u nodes",
					 m->sa_id, m->sa_nodes);
		if (!m->sa_threshold || m->sa_threshold >= m->sa_nodes)
			return mcai_whyf("secagg threshold %u out of range",
					 m->sa_threshold);
		if (m->sa_degree >= m->sa_nodes)
			return mcai_whyf("secagg degree %u not below %u nodes",
					 m->sa_degree, m->sa_nodes);
		if (m->sa_scale_bits > MCAI_PROTO_SA_MAX_SCALE)
			return mcai_whyf("secagg scale bits %u above %u",
					 m->sa_scale_bits,
					 MCAI_PROTO_SA_MAX_SCALE);
		if (!isfinite(m->sa_clip) || !(m->sa_clip > 0))
			return "secagg clip not a positive finite number";
		if (!m->sa_weight_total)
			return "secagg weight total 0";
	}
	if ((m->flags & MCAI_ROUND_F_SA_SIGNED) &&
	    !(m->flags & MCAI_ROUND_F_SECAGG))
		return "signed secure aggregation without secure aggregation";
	if (m->flags & MCAI_ROUND_F_COMPRESS) {
		if (m->flags & MCAI_ROUND_F_SECAGG)
			return "compression with secure aggregation: not in this protocol version";
		if (m->comp_kind != 1 && m->comp_kind != 2)
			return mcai_whyf("unknown compression %u", m->comp_kind);
		if (!isfinite(m->comp_topk) || !(m->comp_topk > 0) ||
		    m->comp_topk > 1)
			return "compression top-k fraction not in (0, 1]";
		if (!m->comp_block || m->comp_block > 65536)
			return mcai_whyf("compression block %u out of range",
					 m->comp_block);
	}
	if (m->flags & MCAI_ROUND_F_SA_COMPRESS) {
		if (!(m->flags & MCAI_ROUND_F_SECAGG))
			return "compressed secure aggregation without secure aggregation";
		if (!isfinite(m->sa_comp_range) || !(m->sa_comp_range > 0))
			return "secagg compression range not a positive finite number";
		if (m->sa_comp_bits != 16)
			return mcai_whyf("secagg compression ring of %u bits: 16 only",
					 m->sa_comp_bits);
		if (127ULL * m->sa_nodes > 32767)
			return mcai_whyf("secagg compression over %u nodes: the sum of their int8 would wrap the 16-bit ring (258 at most)",
					 m->sa_nodes);
	}
	if ((m->flags & MCAI_ROUND_F_PROGRESS) &&
	    (m->progress_ms < MCAI_PROTO_PROGRESS_MIN_MS ||
	     m->progress_ms > MCAI_PROTO_PROGRESS_MAX_MS))
		return mcai_whyf("progress interval %u ms out of range",
				 m->progress_ms);
	return NULL;
}

static const char *mcai_role_check(uint32_t role)
{
	if (role != MCAI_ROLE_NODE && role != MCAI_ROLE_AGGREGATOR)
		return mcai_whyf("unknown role %u", role);
	return NULL;
}

static const char *mcai_model_check(const struct mcai_msg_model *m)
{
	if (!m->version)
		return "model version 0";
	if (m->parent >= m->version)
		return mcai_whyf("parent version %u not older than %u",
				 m->parent, m->version);
	return NULL;
}

static const char *mcai_update_check(const struct mcai_msg_update *m)
{
	if (!m->round_id)
		return "round id 0";
	if (!m->n_samples)
		return "update from 0 samples";
	if (!isfinite(m->train_loss))
		return "train loss: non-finite value";
	return NULL;
}

static const char *mcai_telem_check(const struct mcai_telem_entry *e,
				    uint32_t i)
{
	if (e->p50_ns > e->p99_ns)
		return mcai_whyf("telemetry entry %u: p50 above p99", i);
	return NULL;
}

static const char *mcai_error_check(uint32_t code)
{
	if (code < 1 || code > MCAI_ERR_MAX)
		return mcai_whyf("unknown error code %u", code);
	return NULL;
}

static const char *mcai_bye_check(uint32_t reason)
{
	if (reason > MCAI_BYE_MAX)
		return mcai_whyf("unknown bye reason %u", reason);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Messages                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Each encoder validates first, then writes; on a validation failure the
 * buffer is rolled back to where it was so a caller can keep using it.
 */
#define MCAI_ENC_BEGIN(b)	size_t mcai_enc_mark = (b)->len
#define MCAI_ENC_FAIL(b)	((b)->len = mcai_enc_mark)

int mcai_hello_encode(struct mcai_buf *b, const struct mcai_msg_hello *m,
		      const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad;

	bad = mcai_put_str(b, m->node_id, MCAI_STR_ID, "node id");
	if (!bad)
		bad = mcai_role_check(m->role);
	if (!bad) {
		mcai_buf_put_u32(b, m->role);
		bad = mcai_put_str(b, m->model, MCAI_STR_NAME, "model name");
	}
	if (!bad) {
		mcai_buf_put_u32(b, m->model_version);
		mcai_buf_put_u64(b, m->n_samples);
		mcai_buf_put_u64(b, m->caps);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_hello_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_hello *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	mcai_rd_str(&r, m->node_id, MCAI_STR_ID, "node id");
	m->role = mcai_rd_u32(&r, "role");
	if (!r.why)
		r.why = mcai_role_check(m->role);
	mcai_rd_str(&r, m->model, MCAI_STR_NAME, "model name");
	m->model_version = mcai_rd_u32(&r, "model version");
	m->n_samples = mcai_rd_u64(&r, "sample count");
	m->caps = mcai_rd_u64(&r, "capabilities");
	return mcai_rd_end(&r, why);
}

int mcai_welcome_encode(struct mcai_buf *b, const struct mcai_msg_welcome *m,
			const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad;

	bad = mcai_put_str(b, m->node_id, MCAI_STR_ID, "node id");
	if (!bad)
		bad = mcai_put_str(b, m->fleet, MCAI_STR_ID, "fleet");
	if (!bad)
		mcai_buf_put_u32(b, m->version);
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_welcome_decode(const uint8_t *p, size_t len,
			struct mcai_msg_welcome *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	mcai_rd_str(&r, m->node_id, MCAI_STR_ID, "node id");
	mcai_rd_str(&r, m->fleet, MCAI_STR_ID, "fleet");
	m->version = mcai_rd_u32(&r, "version");
	return mcai_rd_end(&r, why);
}

int mcai_round_encode(struct mcai_buf *b, const struct mcai_msg_round *m,
		      const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad;

	bad = mcai_round_check(m);
	if (!bad) {
		mcai_buf_put_u64(b, m->round_id);
		bad = mcai_put_str(b, m->model, MCAI_STR_NAME, "model name");
	}
	if (!bad) {
		mcai_buf_put_u32(b, m->base_version);
		mcai_buf_put_u32(b, m->deadline_ms);
		mcai_buf_put_u32(b, m->local_epochs);
		mcai_buf_put_u32(b, m->batch);
		mcai_buf_put_f32(b, m->lr);
		mcai_buf_put_f32(b, m->prox_mu);
		mcai_buf_put_u32(b, m->flags);
		if (m->flags & MCAI_ROUND_F_DP) {
			mcai_buf_put_f32(b, m->dp_clip);
			mcai_buf_put_f32(b, m->dp_sigma);
			mcai_buf_put_u32(b, m->dp_shares);
		}
		if (m->flags & MCAI_ROUND_F_SECAGG) {
			mcai_buf_put_u32(b, m->sa_id);
			mcai_buf_put_u32(b, m->sa_nodes);
			mcai_buf_put_u32(b, m->sa_threshold);
			mcai_buf_put_u32(b, m->sa_degree);
			mcai_buf_put_u32(b, m->sa_scale_bits);
			mcai_buf_put_f32(b, m->sa_clip);
			mcai_buf_put_u64(b, m->sa_weight_total);
			mcai_buf_put(b, m->sa_graph_seed,
				     sizeof(m->sa_graph_seed));
		}
		if (m->flags & MCAI_ROUND_F_COMPRESS) {
			mcai_buf_put_u32(b, m->comp_kind);
			mcai_buf_put_f32(b, m->comp_topk);
			mcai_buf_put_u32(b, m->comp_block);
		}
		if (m->flags & MCAI_ROUND_F_PROGRESS)
			mcai_buf_put_u32(b, m->progress_ms);
		if (m->flags & MCAI_ROUND_F_SA_COMPRESS) {
			mcai_buf_put_f32(b, m->sa_comp_range);
			mcai_buf_put_u32(b, m->sa_comp_bits);
		}
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_round_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_round *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->round_id = mcai_rd_u64(&r, "round id");
	mcai_rd_str(&r, m->model, MCAI_STR_NAME, "model name");
	m->base_version = mcai_rd_u32(&r, "base version");
	m->deadline_ms = mcai_rd_u32(&r, "deadline");
	m->local_epochs = mcai_rd_u32(&r, "local epochs");
	m->batch = mcai_rd_u32(&r, "batch");
	m->lr = mcai_rd_f32(&r, "learning rate");
	m->prox_mu = mcai_rd_f32(&r, "prox mu");
	m->flags = mcai_rd_u32(&r, "flags");
	/* Unknown bits are refused by the check, before any field of theirs. */
	if (!r.why && (m->flags & MCAI_ROUND_F_DP)) {
		m->dp_clip = mcai_rd_f32(&r, "dp clip");
		m->dp_sigma = mcai_rd_f32(&r, "dp noise multiplier");
		m->dp_shares = mcai_rd_u32(&r, "dp noise shares");
	}
	if (!r.why && (m->flags & MCAI_ROUND_F_SECAGG)) {
		m->sa_id = mcai_rd_u32(&r, "secagg id");
		m->sa_nodes = mcai_rd_u32(&r, "secagg nodes");
		m->sa_threshold = mcai_rd_u32(&r, "secagg threshold");
		m->sa_degree = mcai_rd_u32(&r, "secagg degree");
		m->sa_scale_bits = mcai_rd_u32(&r, "secagg scale bits");
		m->sa_clip = mcai_rd_f32(&r, "secagg clip");
		m->sa_weight_total = mcai_rd_u64(&r, "secagg weight total");
		if (mcai_rd_need(&r, sizeof(m->sa_graph_seed),
				 "secagg graph seed")) {
			memcpy(m->sa_graph_seed, r.p + r.off,
			       sizeof(m->sa_graph_seed));
			r.off += sizeof(m->sa_graph_seed);
		}
	}
	if (!r.why && (m->flags & MCAI_ROUND_F_COMPRESS)) {
		m->comp_kind = mcai_rd_u32(&r, "compression kind");
		m->comp_topk = mcai_rd_f32(&r, "compression top-k");
		m->comp_block = mcai_rd_u32(&r, "compression block");
	}
	if (!r.why && (m->flags & MCAI_ROUND_F_PROGRESS))
		m->progress_ms = mcai_rd_u32(&r, "progress interval");
	if (!r.why && (m->flags & MCAI_ROUND_F_SA_COMPRESS)) {
		m->sa_comp_range = mcai_rd_f32(&r, "secagg compression range");
		m->sa_comp_bits = mcai_rd_u32(&r, "secagg compression ring");
	}
	if (!r.why)
		r.why = mcai_round_check(m);
	return mcai_rd_end(&r, why);
}

int mcai_model_encode(struct mcai_buf *b, const struct mcai_msg_model *m,
		      const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad;

	bad = mcai_model_check(m);
	if (!bad && m->blob_len && !m->blob)
		bad = "blob: no bytes";
	if (!bad && m->manifest_len > MCAI_PROTO_MANIFEST_MAX)
		bad = mcai_whyf("manifest: %u bytes, at most %u",
				m->manifest_len, MCAI_PROTO_MANIFEST_MAX);
	if (!bad && m->manifest_len && !m->manifest)
		bad = "manifest: no bytes";
	if (!bad)
		bad = mcai_put_str(b, m->model, MCAI_STR_NAME, "model name");
	if (!bad) {
		mcai_buf_put_u32(b, m->version);
		mcai_buf_put_u32(b, m->parent);
		mcai_buf_put_u64(b, m->round_id);
		bad = mcai_put_floats(b, m->params_f, &m->params, m->n_params,
				      "params");
	}
	if (!bad) {
		mcai_buf_put_u32(b, m->blob_len);
		mcai_buf_put(b, m->blob, m->blob_len);
		mcai_buf_put_u32(b, m->manifest_len);
		mcai_buf_put(b, m->manifest, m->manifest_len);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_model_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_model *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	mcai_rd_str(&r, m->model, MCAI_STR_NAME, "model name");
	m->version = mcai_rd_u32(&r, "version");
	m->parent = mcai_rd_u32(&r, "parent version");
	m->round_id = mcai_rd_u64(&r, "round id");
	if (!r.why)
		r.why = mcai_model_check(m);
	mcai_rd_f32v(&r, &m->params, "params");
	m->n_params = m->params.n;
	m->blob_len = mcai_rd_u32(&r, "blob length");
	if (!r.why && m->blob_len > r.len - r.off)
		r.why = mcai_whyf("blob: length %u, %zu bytes left",
				  m->blob_len, r.len - r.off);
	if (!r.why) {
		m->blob = m->blob_len ? r.p + r.off : NULL;
		r.off += m->blob_len;
	} else {
		m->blob_len = 0;
	}
	m->manifest_len = mcai_rd_u32(&r, "manifest length");
	/* The bound first: a huge length is "too long", not "truncated". */
	if (!r.why && m->manifest_len > MCAI_PROTO_MANIFEST_MAX)
		r.why = mcai_whyf("manifest: %u bytes, at most %u",
				  m->manifest_len, MCAI_PROTO_MANIFEST_MAX);
	if (!r.why && m->manifest_len > r.len - r.off)
		r.why = mcai_whyf("manifest: length %u, %zu bytes left",
				  m->manifest_len, r.len - r.off);
	if (!r.why) {
		m->manifest = m->manifest_len ? r.p + r.off : NULL;
		r.off += m->manifest_len;
	} else {
		m->manifest_len = 0;
	}
	return mcai_rd_end(&r, why);
}

int mcai_update_encode(struct mcai_buf *b, const struct mcai_msg_update *m,
		       const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad;

	bad = mcai_update_check(m);
	if (!bad) {
		mcai_buf_put_u64(b, m->round_id);
		mcai_buf_put_u32(b, m->base_version);
		mcai_buf_put_u64(b, m->n_samples);
		mcai_buf_put_f32(b, m->train_loss);
		bad = mcai_put_floats(b, m->delta_f, &m->delta, m->n_delta,
				      "delta");
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_update_decode(const uint8_t *p, size_t len,
		       struct mcai_msg_update *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->round_id = mcai_rd_u64(&r, "round id");
	m->base_version = mcai_rd_u32(&r, "base version");
	m->n_samples = mcai_rd_u64(&r, "sample count");
	m->train_loss = mcai_rd_f32(&r, "train loss");
	if (!r.why)
		r.why = mcai_update_check(m);
	mcai_rd_f32v(&r, &m->delta, "delta");
	m->n_delta = m->delta.n;
	return mcai_rd_end(&r, why);
}

/* The compressed delta: its header alone is 16 bytes (compress.h). */
#define MCAI_COMP_MIN_BYTES	16

int mcai_update_z_encode(struct mcai_buf *b, const struct mcai_msg_update *m,
			 const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad;

	bad = mcai_update_check(m);
	if (!bad && (!m->comp || m->comp_len < MCAI_COMP_MIN_BYTES ||
		     m->comp_len > MCAI_FRAME_MAX - 28))
		bad = mcai_whyf("compressed delta of %u bytes", m->comp_len);
	if (!bad) {
		mcai_buf_put_u64(b, m->round_id);
		mcai_buf_put_u32(b, m->base_version);
		mcai_buf_put_u64(b, m->n_samples);
		mcai_buf_put_f32(b, m->train_loss);
		mcai_buf_put_u32(b, m->comp_len);
		mcai_buf_put(b, m->comp, m->comp_len);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_update_z_decode(const uint8_t *p, size_t len,
			 struct mcai_msg_update *m, const char **why)
{
	struct mcai_rd r;
	uint32_t n;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->round_id = mcai_rd_u64(&r, "round id");
	m->base_version = mcai_rd_u32(&r, "base version");
	m->n_samples = mcai_rd_u64(&r, "sample count");
	m->train_loss = mcai_rd_f32(&r, "train loss");
	if (!r.why)
		r.why = mcai_update_check(m);
	n = mcai_rd_u32(&r, "compressed delta length");
	if (!r.why && n < MCAI_COMP_MIN_BYTES)
		r.why = mcai_whyf("compressed delta of %u bytes", n);
	if (!r.why && n > len - r.off)
		r.why = mcai_whyf("compressed delta: length %u, %zu bytes left",
				  n, len - r.off);
	if (!r.why) {
		m->comp = p + r.off;
		m->comp_len = n;
		r.off += n;
	}
	return mcai_rd_end(&r, why);
}

/* The smallest encoding of one entry: a 1-byte name and the numbers. */
#define MCAI_TELEM_MIN_BYTES	(2 + 1 + 4 + 5 * 8)

int mcai_telemetry_encode(struct mcai_buf *b,
			  const struct mcai_msg_telemetry *m, const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad = NULL;
	uint32_t i;

	if (m->n > MCAI_PROTO_MAX_TELEM)
		bad = mcai_whyf("telemetry: %u entries, at most %u", m->n,
				MCAI_PROTO_MAX_TELEM);
	else if (m->n && !m->entries)
		bad = "telemetry: no entries";
	for (i = 0; !bad && i < m->n; i++)
		bad = mcai_telem_check(&m->entries[i], i);
	if (!bad)
		mcai_buf_put_u32(b, m->n);
	for (i = 0; !bad && i < m->n; i++) {
		const struct mcai_telem_entry *e = &m->entries[i];

		bad = mcai_put_str(b, e->model, MCAI_STR_NAME, "model name");
		if (bad)
			break;
		mcai_buf_put_u32(b, e->version);
		mcai_buf_put_u64(b, e->inferences);
		mcai_buf_put_u64(b, e->energy_uj);
		mcai_buf_put_u64(b, e->p50_ns);
		mcai_buf_put_u64(b, e->p99_ns);
		mcai_buf_put_u64(b, e->drops);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_telemetry_decode(const uint8_t *p, size_t len,
			  struct mcai_msg_telemetry *m, const char **why)
{
	struct mcai_rd r;
	uint32_t n, i;
	int err;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	n = mcai_rd_u32(&r, "telemetry count");
	if (!r.why && n > MCAI_PROTO_MAX_TELEM)
		r.why = mcai_whyf("telemetry: %u entries, at most %u", n,
				  MCAI_PROTO_MAX_TELEM);
	/* Sized by the count only once the bytes could hold that many. */
	if (!r.why && (size_t)n * MCAI_TELEM_MIN_BYTES > r.len - r.off)
		r.why = mcai_whyf("telemetry: %u entries cannot fit in %zu bytes",
				  n, r.len - r.off);
	if (!r.why && n) {
		m->entries = calloc(n, sizeof(*m->entries));
		if (!m->entries) {
			mcai_set_why(why, "out of memory");
			return -ENOMEM;
		}
		m->n = n;
	}
	for (i = 0; !r.why && i < n; i++) {
		struct mcai_telem_entry *e = &m->entries[i];

		mcai_rd_str(&r, e->model, MCAI_STR_NAME, "model name");
		e->version = mcai_rd_u32(&r, "version");
		e->inferences = mcai_rd_u64(&r, "inferences");
		e->energy_uj = mcai_rd_u64(&r, "energy");
		e->p50_ns = mcai_rd_u64(&r, "p50 latency");
		e->p99_ns = mcai_rd_u64(&r, "p99 latency");
		e->drops = mcai_rd_u64(&r, "drops");
		if (!r.why)
			r.why = mcai_telem_check(e, i);
	}
	err = mcai_rd_end(&r, why);
	if (err)
		mcai_msg_telemetry_free(m);
	return err;
}

void mcai_msg_telemetry_free(struct mcai_msg_telemetry *m)
{
	free(m->entries);
	m->entries = NULL;
	m->n = 0;
}

int mcai_error_encode(struct mcai_buf *b, const struct mcai_msg_error *m,
		      const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad;

	bad = mcai_error_check(m->code);
	if (!bad) {
		mcai_buf_put_u32(b, m->code);
		bad = mcai_put_str(b, m->message, MCAI_STR_MSG, "message");
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_error_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_error *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->code = mcai_rd_u32(&r, "error code");
	if (!r.why)
		r.why = mcai_error_check(m->code);
	mcai_rd_str(&r, m->message, MCAI_STR_MSG, "message");
	return mcai_rd_end(&r, why);
}

int mcai_bye_encode(struct mcai_buf *b, const struct mcai_msg_bye *m,
		    const char **why)
{
	const char *bad = mcai_bye_check(m->reason);

	if (!bad)
		mcai_buf_put_u32(b, m->reason);
	return mcai_enc_done(b, bad, why);
}

int mcai_bye_decode(const uint8_t *p, size_t len,
		    struct mcai_msg_bye *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->reason = mcai_rd_u32(&r, "bye reason");
	if (!r.why)
		r.why = mcai_bye_check(m->reason);
	return mcai_rd_end(&r, why);
}

static const char *mcai_progress_check(const struct mcai_msg_progress *m)
{
	if (!m->round_id)
		return "progress for round 0";
	if (!m->total)
		return "progress of 0 batches";
	if (m->done > m->total)
		return mcai_whyf("progress %u of %u batches", m->done,
				 m->total);
	return NULL;
}

int mcai_progress_encode(struct mcai_buf *b,
			 const struct mcai_msg_progress *m, const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad = mcai_progress_check(m);

	if (!bad) {
		mcai_buf_put_u64(b, m->round_id);
		mcai_buf_put_u32(b, m->done);
		mcai_buf_put_u32(b, m->total);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_progress_decode(const uint8_t *p, size_t len,
			 struct mcai_msg_progress *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->round_id = mcai_rd_u64(&r, "round id");
	m->done = mcai_rd_u32(&r, "batches done");
	m->total = mcai_rd_u32(&r, "batches in all");
	if (!r.why)
		r.why = mcai_progress_check(m);
	return mcai_rd_end(&r, why);
}

static const char *mcai_part_check(const struct mcai_msg_part *m)
{
	if (!m->version)
		return "model part of version 0";
	if (!m->total || m->total > MCAI_PROTO_STREAM_MAX)
		return mcai_whyf("model stream of %llu bytes, 1 .. %u",
				 (unsigned long long)m->total,
				 MCAI_PROTO_STREAM_MAX);
	if (!m->len || m->len > MCAI_PROTO_PART_MAX)
		return mcai_whyf("model part of %u bytes, 1 .. %u", m->len,
				 MCAI_PROTO_PART_MAX);
	if (m->offset > m->total || m->len > m->total - m->offset)
		return mcai_whyf("model part at %llu + %u past the total %llu",
				 (unsigned long long)m->offset, m->len,
				 (unsigned long long)m->total);
	return NULL;
}

static int mcai_part_encode(struct mcai_buf *b, const struct mcai_msg_part *m,
			    const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad = mcai_part_check(m);

	if (!bad && !m->data)
		bad = "model part: no bytes";
	if (!bad) {
		mcai_buf_put_u32(b, m->version);
		mcai_buf_put(b, m->digest, sizeof(m->digest));
		mcai_buf_put_u64(b, m->total);
		mcai_buf_put_u64(b, m->offset);
		mcai_buf_put_u32(b, m->len);
		mcai_buf_put(b, m->data, m->len);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

static int mcai_part_decode(const uint8_t *p, size_t len,
			    struct mcai_msg_part *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->version = mcai_rd_u32(&r, "version");
	if (mcai_rd_need(&r, sizeof(m->digest), "digest")) {
		memcpy(m->digest, r.p + r.off, sizeof(m->digest));
		r.off += sizeof(m->digest);
	}
	m->total = mcai_rd_u64(&r, "total");
	m->offset = mcai_rd_u64(&r, "offset");
	m->len = mcai_rd_u32(&r, "part length");
	if (!r.why && m->len > r.len - r.off)
		r.why = mcai_whyf("model part: length %u, %zu bytes left",
				  m->len, r.len - r.off);
	if (!r.why) {
		m->data = r.p + r.off;
		r.off += m->len;
		r.why = mcai_part_check(m);
	}
	return mcai_rd_end(&r, why);
}

static const char *mcai_resume_check(const struct mcai_msg_resume *m)
{
	if (!m->version)
		return "model resume of version 0";
	if (m->offset > MCAI_PROTO_STREAM_MAX)
		return mcai_whyf("model resume at %llu, past %u",
				 (unsigned long long)m->offset,
				 MCAI_PROTO_STREAM_MAX);
	return NULL;
}

static int mcai_resume_encode(struct mcai_buf *b,
			      const struct mcai_msg_resume *m, const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad = mcai_resume_check(m);

	if (!bad) {
		mcai_buf_put_u32(b, m->version);
		mcai_buf_put(b, m->digest, sizeof(m->digest));
		mcai_buf_put_u64(b, m->offset);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

static int mcai_resume_decode(const uint8_t *p, size_t len,
			      struct mcai_msg_resume *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->version = mcai_rd_u32(&r, "version");
	if (mcai_rd_need(&r, sizeof(m->digest), "digest")) {
		memcpy(m->digest, r.p + r.off, sizeof(m->digest));
		r.off += sizeof(m->digest);
	}
	m->offset = mcai_rd_u64(&r, "offset");
	if (!r.why)
		r.why = mcai_resume_check(m);
	return mcai_rd_end(&r, why);
}

static const char *mcai_drift_check(const struct mcai_msg_drift *m)
{
	if (!isfinite(m->score) || m->score < 0)
		return "drift score negative or not finite";
	if (!isfinite(m->threshold) || m->threshold <= 0)
		return "drift threshold not positive or not finite";
	if (m->score <= m->threshold)
		return "drift score not above its threshold";
	return NULL;
}

int mcai_drift_encode(struct mcai_buf *b, const struct mcai_msg_drift *m,
		      const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad = mcai_drift_check(m);

	if (!bad)
		bad = mcai_put_str(b, m->model, MCAI_STR_NAME, "model name");
	if (!bad) {
		mcai_buf_put_u32(b, m->version);
		mcai_buf_put_f32(b, m->score);
		mcai_buf_put_f32(b, m->threshold);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_drift_decode(const uint8_t *p, size_t len,
		      struct mcai_msg_drift *m, const char **why)
{
	struct mcai_rd r;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	mcai_rd_str(&r, m->model, MCAI_STR_NAME, "model name");
	m->version = mcai_rd_u32(&r, "version");
	m->score = mcai_rd_f32(&r, "drift score");
	m->threshold = mcai_rd_f32(&r, "drift threshold");
	if (!r.why)
		r.why = mcai_drift_check(m);
	return mcai_rd_end(&r, why);
}

/* The counts and the class histogram; the floats are checked by kind. */
static const char *mcai_datastats_check(const struct mcai_msg_datastats *m)
{
	uint64_t sum = 0;
	uint32_t i;

	if (!m->round_id)
		return "data statistics for round 0";
	if (!m->samples)
		return "data statistics of no samples";
	if (!m->n_features || m->n_features > MCAI_PROV_STATS_MAX_FEATURES)
		return mcai_whyf("data statistics: %u features, 1 .. %u",
				 m->n_features, MCAI_PROV_STATS_MAX_FEATURES);
	if (m->n_classes > MCAI_PROV_STATS_MAX_CLASSES)
		return mcai_whyf("data statistics: %u classes, at most %u",
				 m->n_classes, MCAI_PROV_STATS_MAX_CLASSES);
	for (i = 0; i < m->n_classes; i++) {
		if (m->classes[i] > m->samples - sum)
			return "data statistics: classes count more than the samples";
		sum += m->classes[i];
	}
	return NULL;
}

/* Value @i of an array given as floats or, decoded, as a view. */
static float mcai_ds_get(const float *f, const struct mcai_f32v *v, uint32_t i)
{
	return f ? f[i] : mcai_f32v_get(v, i);
}

int mcai_datastats_encode(struct mcai_buf *b,
			  const struct mcai_msg_datastats *m, const char **why)
{
	const char *bad = mcai_datastats_check(m);
	uint32_t i;

	/* floats to encode, or the views of a decoded message (a relay) */
	if (!bad && !(m->mean_f && m->var_f) &&
	    !(m->mean.le && m->var.le && m->mean.n == m->n_features &&
	      m->var.n == m->n_features))
		bad = "data statistics: no values";
	for (i = 0; !bad && i < m->n_features; i++) {
		float mu = mcai_ds_get(m->mean_f, &m->mean, i);
		float v = mcai_ds_get(m->var_f, &m->var, i);

		if (!isfinite(mu) || !isfinite(v) || v < 0)
			bad = mcai_whyf("data statistics: feature %u not finite or negative variance",
					i);
	}
	if (!bad) {
		mcai_buf_put_u64(b, m->round_id);
		mcai_buf_put_u64(b, m->samples);
		mcai_buf_put_u32(b, m->n_features);
		for (i = 0; i < m->n_features; i++)
			mcai_buf_put_f32(b, mcai_ds_get(m->mean_f, &m->mean, i));
		mcai_buf_put_u32(b, m->n_features);
		for (i = 0; i < m->n_features; i++)
			mcai_buf_put_f32(b, mcai_ds_get(m->var_f, &m->var, i));
		mcai_buf_put_u32(b, m->n_classes);
		for (i = 0; i < m->n_classes; i++)
			mcai_buf_put_u64(b, m->classes[i]);
	}
	return mcai_enc_done(b, bad, why);
}

int mcai_datastats_decode(const uint8_t *p, size_t len,
			  struct mcai_msg_datastats *m, const char **why)
{
	struct mcai_rd r;
	uint32_t i;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	m->round_id = mcai_rd_u64(&r, "round id");
	m->samples = mcai_rd_u64(&r, "samples");
	mcai_rd_f32v(&r, &m->mean, "means");
	mcai_rd_f32v(&r, &m->var, "variances");
	if (!r.why && m->mean.n != m->var.n)
		r.why = mcai_whyf("data statistics: %u means, %u variances",
				  m->mean.n, m->var.n);
	m->n_features = m->mean.n;
	for (i = 0; !r.why && i < m->var.n; i++)
		if (mcai_f32v_get(&m->var, i) < 0)
			r.why = mcai_whyf("data statistics: negative variance at %u",
					  i);
	if (!r.why)
		m->n_classes = mcai_rd_u32(&r, "class count");
	if (!r.why && m->n_classes > MCAI_PROV_STATS_MAX_CLASSES)
		r.why = mcai_whyf("data statistics: %u classes, at most %u",
				  m->n_classes, MCAI_PROV_STATS_MAX_CLASSES);
	for (i = 0; !r.why && i < m->n_classes; i++)
		m->classes[i] = mcai_rd_u64(&r, "class counts");
	if (!r.why)
		r.why = mcai_datastats_check(m);
	return mcai_rd_end(&r, why);
}

/* ---------------------------------------------------------------------- */
/* Secure aggregation                                                     */
/* ---------------------------------------------------------------------- */

bool mcai_msg_is_secagg(uint16_t type)
{
	return (type >= MCAI_MSG_SA_ADVERT && type <= MCAI_MSG_SA_UNMASK) ||
	       type == MCAI_MSG_SA_CONSIST_REQ || type == MCAI_MSG_SA_CONSIST;
}

/* The library's message type (runtime/fed/secagg.h) a frame type carries. */
static unsigned int mcai_secagg_lib_type(uint16_t type)
{
	if (type == MCAI_MSG_SA_CONSIST_REQ)
		return 8;	/* MCAI_SECAGG_CONSIST_REQ */
	if (type == MCAI_MSG_SA_CONSIST)
		return 9;	/* MCAI_SECAGG_CONSIST */
	return type - MCAI_MSG_SA_ADVERT + 1u;
}

/*
 * The library's header, so that a message cannot travel under another
 * frame type than its own (an aggregator's KEYS sent up as a node's
 * ADVERT) and the daemon can route it before the library parses it.
 */
static const char *mcai_secagg_hdr_check(uint16_t type, const uint8_t *p,
					 size_t len, uint64_t *round,
					 uint32_t *node)
{
	if (!mcai_msg_is_secagg(type))
		return mcai_whyf("type %u is not a secure-aggregation message",
				 type);
	if (len < MCAI_PROTO_SA_HDR_LEN)
		return mcai_whyf("secagg message: %zu bytes, header needs %d",
				 len, MCAI_PROTO_SA_HDR_LEN);
	if (p[0] != mcai_secagg_lib_type(type))
		return mcai_whyf("secagg message of type %u in a %s frame",
				 p[0], mcai_msg_type_name(type));
	if (p[1] != 1)
		return mcai_whyf("secagg message version %u", p[1]);
	if (p[2] || p[3])
		return "secagg message: reserved bytes not zero";
	*node = mcai_ld32(p + 4);
	*round = mcai_ld64(p + 8);
	if (!*round)
		return "secagg message: round id 0";
	return NULL;
}

int mcai_secagg_msg_encode(struct mcai_buf *b, uint16_t type,
			   const struct mcai_msg_secagg *m, const char **why)
{
	MCAI_ENC_BEGIN(b);
	const char *bad = NULL;
	uint64_t round;
	uint32_t node;

	if (m->len && !m->data)
		bad = "secagg message: no bytes";
	if (!bad && m->len > MCAI_FRAME_MAX - 4)
		bad = mcai_whyf("secagg message: %u bytes, at most %u", m->len,
				MCAI_FRAME_MAX - 4);
	if (!bad)
		bad = mcai_secagg_hdr_check(type, m->data, m->len, &round,
					    &node);
	if (!bad) {
		mcai_buf_put_u32(b, m->len);
		mcai_buf_put(b, m->data, m->len);
	}
	if (bad)
		MCAI_ENC_FAIL(b);
	return mcai_enc_done(b, bad, why);
}

int mcai_secagg_msg_decode(uint16_t type, const uint8_t *p, size_t len,
			   struct mcai_msg_secagg *m, const char **why)
{
	struct mcai_rd r;
	uint32_t n;

	memset(m, 0, sizeof(*m));
	mcai_rd_init(&r, p, len);
	n = mcai_rd_u32(&r, "secagg message length");
	if (!r.why && n > len - r.off)
		r.why = mcai_whyf("secagg message: length %u, %zu bytes left",
				  n, len - r.off);
	if (!r.why) {
		m->data = p + r.off;
		m->len = n;
		r.off += n;
		r.why = mcai_secagg_hdr_check(type, m->data, n, &m->round,
					      &m->node);
	}
	return mcai_rd_end(&r, why);
}

/* ---------------------------------------------------------------------- */
/* Dispatch                                                               */
/* ---------------------------------------------------------------------- */

int mcai_msg_decode(uint16_t type, const uint8_t *p, size_t len,
		    struct mcai_msg *m, const char **why)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case MCAI_MSG_HELLO:
		return mcai_hello_decode(p, len, &m->u.hello, why);
	case MCAI_MSG_WELCOME:
		return mcai_welcome_decode(p, len, &m->u.welcome, why);
	case MCAI_MSG_ROUND:
		return mcai_round_decode(p, len, &m->u.round, why);
	case MCAI_MSG_MODEL:
		return mcai_model_decode(p, len, &m->u.model, why);
	case MCAI_MSG_UPDATE:
		return mcai_update_decode(p, len, &m->u.update, why);
	case MCAI_MSG_UPDATE_Z:
		return mcai_update_z_decode(p, len, &m->u.update, why);
	case MCAI_MSG_TELEMETRY:
		return mcai_telemetry_decode(p, len, &m->u.telemetry, why);
	case MCAI_MSG_ERROR:
		return mcai_error_decode(p, len, &m->u.error, why);
	case MCAI_MSG_BYE:
		return mcai_bye_decode(p, len, &m->u.bye, why);
	case MCAI_MSG_DRIFT:
		return mcai_drift_decode(p, len, &m->u.drift, why);
	case MCAI_MSG_DATASTATS:
		return mcai_datastats_decode(p, len, &m->u.datastats, why);
	case MCAI_MSG_PROGRESS:
		return mcai_progress_decode(p, len, &m->u.progress, why);
	case MCAI_MSG_MODEL_PART:
		return mcai_part_decode(p, len, &m->u.part, why);
	case MCAI_MSG_MODEL_RESUME:
		return mcai_resume_decode(p, len, &m->u.resume, why);
	}
	if (mcai_msg_is_secagg(type))
		return mcai_secagg_msg_decode(type, p, len, &m->u.secagg, why);
	mcai_set_why(why, mcai_whyf("unknown message type %u", type));
	return -EBADMSG;
}

int mcai_msg_encode(struct mcai_buf *b, const struct mcai_msg *m,
		    const char **why)
{
	switch (m->type) {
	case MCAI_MSG_HELLO:
		return mcai_hello_encode(b, &m->u.hello, why);
	case MCAI_MSG_WELCOME:
		return mcai_welcome_encode(b, &m->u.welcome, why);
	case MCAI_MSG_ROUND:
		return mcai_round_encode(b, &m->u.round, why);
	case MCAI_MSG_MODEL:
		return mcai_model_encode(b, &m->u.model, why);
	case MCAI_MSG_UPDATE:
		return mcai_update_encode(b, &m->u.update, why);
	case MCAI_MSG_UPDATE_Z:
		return mcai_update_z_encode(b, &m->u.update, why);
	case MCAI_MSG_TELEMETRY:
		return mcai_telemetry_encode(b, &m->u.telemetry, why);
	case MCAI_MSG_ERROR:
		return mcai_error_encode(b, &m->u.error, why);
	case MCAI_MSG_BYE:
		return mcai_bye_encode(b, &m->u.bye, why);
	case MCAI_MSG_DRIFT:
		return mcai_drift_encode(b, &m->u.drift, why);
	case MCAI_MSG_DATASTATS:
		return mcai_datastats_encode(b, &m->u.datastats, why);
	case MCAI_MSG_PROGRESS:
		return mcai_progress_encode(b, &m->u.progress, why);
	case MCAI_MSG_MODEL_PART:
		return mcai_part_encode(b, &m->u.part, why);
	case MCAI_MSG_MODEL_RESUME:
		return mcai_resume_encode(b, &m->u.resume, why);
	}
	if (mcai_msg_is_secagg(m->type))
		return mcai_secagg_msg_encode(b, m->type, &m->u.secagg, why);
	mcai_set_why(why, mcai_whyf("unknown message type %u", m->type));
	return -EINVAL;
}

int mcai_msg_frame(struct mcai_buf *b, const struct mcai_msg *m,
		   const char **why)
{
	size_t start;
	int err;

	if (b->err)
		return mcai_enc_done(b, NULL, why);
	start = mcai_frame_begin(b, m->type);
	err = mcai_msg_encode(b, m, why);
	if (!err)
		err = mcai_frame_end(b, start);
	if (err) {
		if (err == -EMSGSIZE)
			mcai_set_why(why, "payload over MCAI_FRAME_MAX");
		/* Drop the half frame; a sticky error stays for the caller. */
		if (start <= b->len)
			b->len = start;
	}
	return err;
}

void mcai_msg_release(struct mcai_msg *m)
{
	if (m->type == MCAI_MSG_TELEMETRY)
		mcai_msg_telemetry_free(&m->u.telemetry);
}
