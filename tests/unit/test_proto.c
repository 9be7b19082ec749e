// SPDX-License-Identifier: GPL-2.0
/*
 * The federation protocol codec (runtime/fed/proto.c): the frame header, a
 * round trip of every message, and every way a hostile peer can bend a
 * frame: short and wrong headers, payloads cut at every byte, counts and
 * lengths that lie or overflow, strings too long or with bad bytes,
 * non-finite floats, out-of-range fields and trailing bytes.  Payloads are
 * decoded from exact-size heap copies, so ASan sees any read past the end.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "runtime/fed/proto.h"
#include "runtime/fed/stream.h"
#include "models/engine/sha256.h"

static const float sample_params[] = { 0.5f, -1.25f, 3e-7f, -0.0f, 1e30f };
static const uint8_t sample_blob[] = { 'M', 'C', 'A', 'I', 1, 0, 128, 0, 7 };
/* The protocol does not look inside: any 16 bytes or more will do. */
static const uint8_t sample_comp[20] = { 1, 1, 0, 0, 5, 0, 0, 0, 9 };
/* Opaque to the codec: any bytes up to the limit travel. */
static const uint8_t sample_manifest[] = { 'M', 'C', 'P', 'M', 1, 0, 1, 0, 0xff };
static const float sample_var[] = { 0.0f, 1.0f, 2.5f, 1e6f, 0.125f };
static struct mcai_telem_entry sample_telem[] = {
	{ "fmnist", 3, 1000, 52000, 41000, 95000, 2 },
	{ "vib.a-1", 1, 7, 0, 0, 0, 0 },
};

/* One valid instance of every message type. */
/* One library message per secure-aggregation type: header + 4 bytes. */
#define SAMPLE_SA_LEN	20
static uint8_t sample_sa[MCAI_MSG_MAX + 1]
			[SAMPLE_SA_LEN];

static void sample_msg(uint16_t type, struct mcai_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case MCAI_MSG_HELLO:
		strcpy(m->u.hello.node_id, "gw-0042@site.a:1");
		m->u.hello.role = MCAI_ROLE_NODE;
		strcpy(m->u.hello.model, "fmnist");
		m->u.hello.model_version = 7;
		m->u.hello.n_samples = 123456789012ULL;
		m->u.hello.caps = MCAI_CAP_KERNEL | MCAI_CAP_FEDPROX |
				  (1ULL << 63);
		break;
	case MCAI_MSG_WELCOME:
		strcpy(m->u.welcome.node_id, "gw-0042");
		strcpy(m->u.welcome.fleet, "fleet.eu-1");
		m->u.welcome.version = 9;
		break;
	case MCAI_MSG_ROUND:
		m->u.round.round_id = 1ULL << 40;
		strcpy(m->u.round.model, "fmnist");
		m->u.round.base_version = 9;
		m->u.round.deadline_ms = 30000;
		m->u.round.local_epochs = 2;
		m->u.round.batch = 32;
		m->u.round.lr = 0.05f;
		m->u.round.prox_mu = 0.01f;
		break;
	case MCAI_MSG_MODEL:
		strcpy(m->u.model.model, "fmnist");
		m->u.model.version = 10;
		m->u.model.parent = 9;
		m->u.model.round_id = 77;
		m->u.model.params_f = sample_params;
		m->u.model.n_params = 5;
		m->u.model.blob = sample_blob;
		m->u.model.blob_len = sizeof(sample_blob);
		m->u.model.manifest = sample_manifest;
		m->u.model.manifest_len = sizeof(sample_manifest);
		break;
	case MCAI_MSG_UPDATE:
		m->u.update.round_id = 77;
		m->u.update.base_version = 9;
		m->u.update.n_samples = 600;
		m->u.update.train_loss = 0.375f;
		m->u.update.delta_f = sample_params;
		m->u.update.n_delta = 5;
		break;
	case MCAI_MSG_UPDATE_Z:
		m->u.update.round_id = 77;
		m->u.update.base_version = 9;
		m->u.update.n_samples = 600;
		m->u.update.train_loss = 0.375f;
		m->u.update.comp = sample_comp;
		m->u.update.comp_len = sizeof(sample_comp);
		break;
	case MCAI_MSG_TELEMETRY:
		m->u.telemetry.n = 2;
		m->u.telemetry.entries = sample_telem;
		break;
	case MCAI_MSG_ERROR:
		m->u.error.code = MCAI_ERR_STALE;
		strcpy(m->u.error.message, "round 76 closed; latest is 77");
		break;
	case MCAI_MSG_BYE:
		m->u.bye.reason = MCAI_BYE_SHUTDOWN;
		break;
	case MCAI_MSG_DATASTATS:
		m->u.datastats.round_id = 77;
		m->u.datastats.samples = 600;
		m->u.datastats.n_features = 5;
		m->u.datastats.mean_f = sample_params;
		m->u.datastats.var_f = sample_var;
		m->u.datastats.n_classes = 3;
		m->u.datastats.classes[0] = 100;
		m->u.datastats.classes[2] = 500;
		break;
	case MCAI_MSG_MODEL_PART:
		m->u.part.version = 10;
		memset(m->u.part.digest, 0xab, sizeof(m->u.part.digest));
		m->u.part.total = 100;
		m->u.part.offset = 91;
		m->u.part.data = sample_blob;
		m->u.part.len = sizeof(sample_blob);
		break;
	case MCAI_MSG_MODEL_RESUME:
		m->u.resume.version = 10;
		memset(m->u.resume.digest, 0xab, sizeof(m->u.resume.digest));
		m->u.resume.offset = 91;
		break;
	case MCAI_MSG_PROGRESS:
		m->u.progress.round_id = 77;
		m->u.progress.done = 12;
		m->u.progress.total = 94;
		break;
	case MCAI_MSG_DRIFT:
		strcpy(m->u.drift.model, "fmnist");
		m->u.drift.version = 4;
		m->u.drift.score = 2.75f;
		m->u.drift.threshold = 1.0f;
		break;
	default:
		if (mcai_msg_is_secagg(type)) {
			uint8_t *sa = sample_sa[type];

			/* Library header: type, version 1, 0, node 3, round 77. */
			memset(sa, 0, SAMPLE_SA_LEN);
			sa[0] = type == MCAI_MSG_SA_CONSIST_REQ ? 8 :
				type == MCAI_MSG_SA_CONSIST ? 9 :
				(uint8_t)(type - MCAI_MSG_SA_ADVERT + 1);
			sa[1] = 1;
			sa[4] = 3;
			sa[8] = 77;
			sa[16] = 0xa5;
			sa[SAMPLE_SA_LEN - 1] = (uint8_t)type;
			m->u.secagg.data = sa;
			m->u.secagg.len = SAMPLE_SA_LEN;
		}
		break;
	}
}

/* Encode a payload (no header) into a fresh buffer. */
static void encode_payload(const struct mcai_msg *m, struct mcai_buf *b)
{
	const char *why = NULL;
	int err;

	mcai_buf_init(b);
	err = mcai_msg_encode(b, m, &why);
	ck_assert_msg(!err, "encode %s: %d %s", mcai_msg_type_name(m->type),
		      err, why ? why : "");
}

/* Decode from an exact-size heap copy, so any over-read trips ASan. */
static int decode_copy(uint16_t type, const uint8_t *p, size_t len,
		       const char **why)
{
	uint8_t *c = malloc(len ? len : 1);
	struct mcai_msg m;
	int err;

	ck_assert_ptr_nonnull(c);
	if (len)
		memcpy(c, p, len);
	*why = NULL;
	err = mcai_msg_decode(type, c, len, &m, why);
	if (!err)
		mcai_msg_release(&m);
	free(c);
	return err;
}

static void expect_reject(uint16_t type, const uint8_t *p, size_t len,
			  const char *want)
{
	const char *why;
	int err = decode_copy(type, p, len, &why);

	ck_assert_msg(err == -EBADMSG, "%s: accepted (%d), want \"%s\"",
		      mcai_msg_type_name(type), err, want);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, want), "%s: reason \"%s\", want \"%s\"",
		      mcai_msg_type_name(type), why, want);
}

/* ---------------------------------------------------------------------- */
/* Frame header                                                           */
/* ---------------------------------------------------------------------- */

START_TEST(hdr_round_trip)
{
	uint8_t h[MCAI_FRAME_HDR_LEN];
	static const uint8_t want[] = {
		0x4d, 0x43, 0x41, 0x46, 1, 0, 5, 0, 0x78, 0x56, 0x34, 0x12,
		0, 0, 0, 0,
	};
	struct mcai_frame_hdr f;
	const char *why = NULL;

	mcai_frame_hdr_write(h, MCAI_MSG_UPDATE, 0x12345678);
	ck_assert_mem_eq(h, want, sizeof(want));
	ck_assert(!memcmp(h, "MCAF", 4));
	/* 0x12345678 is over the limit: rewrite with an allowed length. */
	mcai_frame_hdr_write(h, MCAI_MSG_UPDATE, MCAI_FRAME_MAX);
	ck_assert_int_eq(mcai_frame_hdr_parse(h, sizeof(h), &f, &why), 0);
	ck_assert_uint_eq(f.magic, MCAI_FRAME_MAGIC);
	ck_assert_uint_eq(f.version, 1);
	ck_assert_uint_eq(f.type, MCAI_MSG_UPDATE);
	ck_assert_uint_eq(f.length, MCAI_FRAME_MAX);
	ck_assert_uint_eq(f.flags, 0);
	/* Extra bytes after the header are the payload's business. */
	ck_assert_int_eq(mcai_frame_hdr_parse(want, sizeof(want), &f, NULL),
			 -EMSGSIZE);
}
END_TEST

START_TEST(hdr_short)
{
	uint8_t h[MCAI_FRAME_HDR_LEN];
	struct mcai_frame_hdr f;
	const char *why;
	size_t n;

	mcai_frame_hdr_write(h, MCAI_MSG_HELLO, 10);
	for (n = 0; n < MCAI_FRAME_HDR_LEN; n++) {
		uint8_t *c = malloc(n ? n : 1);

		memcpy(c, h, n);
		why = NULL;
		ck_assert_int_eq(mcai_frame_hdr_parse(c, n, &f, &why),
				 -EAGAIN);
		ck_assert_ptr_nonnull(why);
		free(c);
	}
	ck_assert_int_eq(mcai_frame_hdr_parse(NULL, 0, &f, NULL), -EAGAIN);
}
END_TEST

static void hdr_expect(const uint8_t *h, int want_err, const char *want_why)
{
	struct mcai_frame_hdr f;
	const char *why = NULL;

	ck_assert_int_eq(mcai_frame_hdr_parse(h, MCAI_FRAME_HDR_LEN, &f, &why),
			 want_err);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, want_why), "reason \"%s\", want \"%s\"",
		      why, want_why);
}

START_TEST(hdr_bad_magic)
{
	uint8_t h[MCAI_FRAME_HDR_LEN];

	mcai_frame_hdr_write(h, MCAI_MSG_HELLO, 10);
	h[0] = 'X';
	hdr_expect(h, -EBADMSG, "bad frame magic");
	/* The blob magic is not the frame magic. */
	mcai_frame_hdr_write(h, MCAI_MSG_HELLO, 10);
	memcpy(h, "MCAI", 4);
	hdr_expect(h, -EBADMSG, "bad frame magic 0x4941434d");
	/* Byte-swapped (a big-endian writer) is refused too. */
	mcai_frame_hdr_write(h, MCAI_MSG_HELLO, 10);
	memcpy(h, "FACM", 4);
	hdr_expect(h, -EBADMSG, "bad frame magic");
	/* Plain text on the port, e.g. an HTTP probe. */
	memcpy(h, "GET / HTTP/1.1\r\n", 16);
	hdr_expect(h, -EBADMSG, "bad frame magic");
}
END_TEST

START_TEST(hdr_bad_version)
{
	uint8_t h[MCAI_FRAME_HDR_LEN];
	static const uint16_t bad[] = { 0, 2, 0x100, 0xffff };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mcai_frame_hdr_write(h, MCAI_MSG_HELLO, 10);
		h[4] = (uint8_t)bad[i];
		h[5] = (uint8_t)(bad[i] >> 8);
		hdr_expect(h, -EPROTONOSUPPORT, "unsupported protocol version");
	}
}
END_TEST

START_TEST(hdr_oversize)
{
	uint8_t h[MCAI_FRAME_HDR_LEN];

	mcai_frame_hdr_write(h, MCAI_MSG_MODEL, MCAI_FRAME_MAX + 1);
	hdr_expect(h, -EMSGSIZE, "frame length 8388609 over the 8388608 limit");
	mcai_frame_hdr_write(h, MCAI_MSG_MODEL, 0xffffffffU);
	hdr_expect(h, -EMSGSIZE, "over the");
	mcai_frame_hdr_write(h, MCAI_MSG_BYE, 0);
	ck_assert_int_eq(mcai_frame_hdr_parse(h, sizeof(h),
					      &(struct mcai_frame_hdr){ 0 },
					      NULL), 0);
}
END_TEST

START_TEST(hdr_flags)
{
	uint8_t h[MCAI_FRAME_HDR_LEN];
	int bit;

	for (bit = 0; bit < 32; bit++) {
		mcai_frame_hdr_write(h, MCAI_MSG_HELLO, 10);
		h[12 + bit / 8] = (uint8_t)(1U << (bit % 8));
		hdr_expect(h, -EBADMSG, "unknown frame flags");
	}
}
END_TEST

START_TEST(hdr_bad_type)
{
	uint8_t h[MCAI_FRAME_HDR_LEN];
	static const uint16_t bad[] = { 0, MCAI_MSG_MAX + 1, 0x100, 0xffff };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mcai_frame_hdr_write(h, bad[i], 10);
		hdr_expect(h, -EBADMSG, "unknown message type");
	}
	ck_assert_str_eq(mcai_msg_type_name(0), "UNKNOWN");
	ck_assert_str_eq(mcai_msg_type_name(MCAI_MSG_TELEMETRY), "TELEMETRY");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Round trips                                                            */
/* ---------------------------------------------------------------------- */

static void check_same(const struct mcai_msg *a, const struct mcai_msg *d)
{
	uint32_t i;

	ck_assert_uint_eq(a->type, d->type);
	switch (a->type) {
	case MCAI_MSG_HELLO:
		ck_assert_str_eq(a->u.hello.node_id, d->u.hello.node_id);
		ck_assert_uint_eq(a->u.hello.role, d->u.hello.role);
		ck_assert_str_eq(a->u.hello.model, d->u.hello.model);
		ck_assert_uint_eq(a->u.hello.model_version,
				  d->u.hello.model_version);
		ck_assert_uint_eq(a->u.hello.n_samples, d->u.hello.n_samples);
		ck_assert_uint_eq(a->u.hello.caps, d->u.hello.caps);
		break;
	case MCAI_MSG_WELCOME:
		ck_assert_str_eq(a->u.welcome.node_id, d->u.welcome.node_id);
		ck_assert_str_eq(a->u.welcome.fleet, d->u.welcome.fleet);
		ck_assert_uint_eq(a->u.welcome.version, d->u.welcome.version);
		break;
	case MCAI_MSG_ROUND:
		ck_assert_uint_eq(a->u.round.round_id, d->u.round.round_id);
		ck_assert_str_eq(a->u.round.model, d->u.round.model);
		ck_assert_uint_eq(a->u.round.base_version,
				  d->u.round.base_version);
		ck_assert_uint_eq(a->u.round.deadline_ms,
				  d->u.round.deadline_ms);
		ck_assert_uint_eq(a->u.round.local_epochs,
				  d->u.round.local_epochs);
		ck_assert_uint_eq(a->u.round.batch, d->u.round.batch);
		ck_assert(a->u.round.lr == d->u.round.lr);
		ck_assert(a->u.round.prox_mu == d->u.round.prox_mu);
		ck_assert_uint_eq(a->u.round.flags, d->u.round.flags);
		break;
	case MCAI_MSG_MODEL:
		ck_assert_str_eq(a->u.model.model, d->u.model.model);
		ck_assert_uint_eq(a->u.model.version, d->u.model.version);
		ck_assert_uint_eq(a->u.model.parent, d->u.model.parent);
		ck_assert_uint_eq(a->u.model.round_id, d->u.model.round_id);
		ck_assert_uint_eq(a->u.model.n_params, d->u.model.n_params);
		ck_assert_uint_eq(d->u.model.params.n, d->u.model.n_params);
		ck_assert_ptr_null(d->u.model.params_f);
		for (i = 0; i < a->u.model.n_params; i++) {
			float x = mcai_f32v_get(&d->u.model.params, i);

			/* Bit-exact, -0.0 included. */
			ck_assert(!memcmp(&x, &a->u.model.params_f[i], 4));
		}
		ck_assert_uint_eq(a->u.model.blob_len, d->u.model.blob_len);
		ck_assert_mem_eq(a->u.model.blob, d->u.model.blob,
				 a->u.model.blob_len);
		ck_assert_uint_eq(a->u.model.manifest_len,
				  d->u.model.manifest_len);
		if (a->u.model.manifest_len)
			ck_assert_mem_eq(a->u.model.manifest,
					 d->u.model.manifest,
					 a->u.model.manifest_len);
		else
			ck_assert_ptr_null(d->u.model.manifest);
		break;
	case MCAI_MSG_UPDATE:
		ck_assert_uint_eq(a->u.update.round_id, d->u.update.round_id);
		ck_assert_uint_eq(a->u.update.base_version,
				  d->u.update.base_version);
		ck_assert_uint_eq(a->u.update.n_samples,
				  d->u.update.n_samples);
		ck_assert(a->u.update.train_loss == d->u.update.train_loss);
		ck_assert_uint_eq(a->u.update.n_delta, d->u.update.n_delta);
		for (i = 0; i < a->u.update.n_delta; i++) {
			float x = mcai_f32v_get(&d->u.update.delta, i);

			ck_assert(!memcmp(&x, &a->u.update.delta_f[i], 4));
		}
		break;
	case MCAI_MSG_UPDATE_Z:
		ck_assert_uint_eq(a->u.update.round_id, d->u.update.round_id);
		ck_assert_uint_eq(a->u.update.n_samples,
				  d->u.update.n_samples);
		ck_assert(a->u.update.train_loss == d->u.update.train_loss);
		ck_assert_uint_eq(a->u.update.comp_len, d->u.update.comp_len);
		ck_assert_mem_eq(a->u.update.comp, d->u.update.comp,
				 a->u.update.comp_len);
		break;
	case MCAI_MSG_TELEMETRY:
		ck_assert_uint_eq(a->u.telemetry.n, d->u.telemetry.n);
		for (i = 0; i < a->u.telemetry.n; i++) {
			const struct mcai_telem_entry *x, *y;

			x = &a->u.telemetry.entries[i];
			y = &d->u.telemetry.entries[i];
			ck_assert_str_eq(x->model, y->model);
			ck_assert_uint_eq(x->version, y->version);
			ck_assert_uint_eq(x->inferences, y->inferences);
			ck_assert_uint_eq(x->energy_uj, y->energy_uj);
			ck_assert_uint_eq(x->p50_ns, y->p50_ns);
			ck_assert_uint_eq(x->p99_ns, y->p99_ns);
			ck_assert_uint_eq(x->drops, y->drops);
		}
		break;
	case MCAI_MSG_ERROR:
		ck_assert_uint_eq(a->u.error.code, d->u.error.code);
		ck_assert_str_eq(a->u.error.message, d->u.error.message);
		break;
	case MCAI_MSG_BYE:
		ck_assert_uint_eq(a->u.bye.reason, d->u.bye.reason);
		break;
	case MCAI_MSG_DATASTATS:
		ck_assert_uint_eq(a->u.datastats.round_id,
				  d->u.datastats.round_id);
		ck_assert_uint_eq(a->u.datastats.samples,
				  d->u.datastats.samples);
		ck_assert_uint_eq(d->u.datastats.n_features, 5);
		for (i = 0; i < 5; i++) {
			ck_assert(mcai_f32v_get(&d->u.datastats.mean, i) ==
				  a->u.datastats.mean_f[i]);
			ck_assert(mcai_f32v_get(&d->u.datastats.var, i) ==
				  a->u.datastats.var_f[i]);
		}
		ck_assert_uint_eq(d->u.datastats.n_classes, 3);
		ck_assert_mem_eq(d->u.datastats.classes,
				 a->u.datastats.classes, 3 * 8);
		break;
	case MCAI_MSG_DRIFT:
		ck_assert_str_eq(a->u.drift.model, d->u.drift.model);
		ck_assert_uint_eq(a->u.drift.version, d->u.drift.version);
		ck_assert(a->u.drift.score == d->u.drift.score);
		ck_assert(a->u.drift.threshold == d->u.drift.threshold);
		break;
	case MCAI_MSG_MODEL_PART:
		ck_assert_uint_eq(a->u.part.version, d->u.part.version);
		ck_assert_mem_eq(a->u.part.digest, d->u.part.digest, 32);
		ck_assert_uint_eq(a->u.part.total, d->u.part.total);
		ck_assert_uint_eq(a->u.part.offset, d->u.part.offset);
		ck_assert_uint_eq(a->u.part.len, d->u.part.len);
		ck_assert_mem_eq(a->u.part.data, d->u.part.data, a->u.part.len);
		break;
	case MCAI_MSG_MODEL_RESUME:
		ck_assert_uint_eq(a->u.resume.version, d->u.resume.version);
		ck_assert_mem_eq(a->u.resume.digest, d->u.resume.digest, 32);
		ck_assert_uint_eq(a->u.resume.offset, d->u.resume.offset);
		break;
	case MCAI_MSG_PROGRESS:
		ck_assert_uint_eq(a->u.progress.round_id,
				  d->u.progress.round_id);
		ck_assert_uint_eq(a->u.progress.done, d->u.progress.done);
		ck_assert_uint_eq(a->u.progress.total, d->u.progress.total);
		break;
	default:
		ck_assert(mcai_msg_is_secagg(a->type));
		ck_assert_uint_eq(a->u.secagg.len, d->u.secagg.len);
		ck_assert_mem_eq(a->u.secagg.data, d->u.secagg.data,
				 a->u.secagg.len);
		ck_assert_uint_eq(d->u.secagg.round, 77);
		ck_assert_uint_eq(d->u.secagg.node, 3);
		break;
	}
}

/* Frame, parse the header, decode, compare, re-encode to the same bytes. */
START_TEST(round_trip_each)
{
	uint16_t type = (uint16_t)(_i + 1);
	struct mcai_msg m, d;
	struct mcai_buf b, b2;
	struct mcai_frame_hdr h;
	const char *why = NULL;
	int err;

	sample_msg(type, &m);
	mcai_buf_init(&b);
	err = mcai_msg_frame(&b, &m, &why);
	ck_assert_msg(!err, "frame: %s", why ? why : "");
	ck_assert_int_eq(mcai_frame_hdr_parse(b.data, b.len, &h, &why), 0);
	ck_assert_uint_eq(h.type, type);
	ck_assert_uint_eq(h.length, b.len - MCAI_FRAME_HDR_LEN);
	err = mcai_msg_decode(h.type, b.data + MCAI_FRAME_HDR_LEN, h.length,
			      &d, &why);
	ck_assert_msg(!err, "decode %s: %s", mcai_msg_type_name(type), why);
	check_same(&m, &d);

	/* Decoded views re-encode as they are (a relay needs no copy). */
	mcai_buf_init(&b2);
	ck_assert_int_eq(mcai_msg_frame(&b2, &d, &why), 0);
	ck_assert_uint_eq(b2.len, b.len);
	ck_assert_mem_eq(b2.data, b.data, b.len);
	mcai_msg_release(&d);
	mcai_buf_free(&b2);
	mcai_buf_free(&b);
}
END_TEST

/* The documented wire layout, byte for byte, for two messages. */
START_TEST(wire_layout)
{
	struct mcai_msg m;
	struct mcai_buf b;
	static const uint8_t bye[] = {
		0x4d, 0x43, 0x41, 0x46, 1, 0, 8, 0, 4, 0, 0, 0, 0, 0, 0, 0,
		1, 0, 0, 0,
	};
	static const uint8_t upd[] = {
		2, 0, 0, 0, 0, 0, 0, 0,		/* round */
		3, 0, 0, 0,			/* base version */
		10, 0, 0, 0, 0, 0, 0, 0,	/* samples */
		0x00, 0x00, 0x80, 0x3f,		/* loss 1.0f */
		2, 0, 0, 0,			/* count */
		0x00, 0x00, 0x00, 0xc0,		/* -2.0f */
		0x00, 0x00, 0x00, 0x3f,		/* 0.5f */
	};
	static const float delta[] = { -2.0f, 0.5f };

	memset(&m, 0, sizeof(m));
	m.type = MCAI_MSG_BYE;
	m.u.bye.reason = MCAI_BYE_SHUTDOWN;
	mcai_buf_init(&b);
	ck_assert_int_eq(mcai_msg_frame(&b, &m, NULL), 0);
	ck_assert_uint_eq(b.len, sizeof(bye));
	ck_assert_mem_eq(b.data, bye, sizeof(bye));

	mcai_buf_reset(&b);
	m.type = MCAI_MSG_UPDATE;
	m.u.update.round_id = 2;
	m.u.update.base_version = 3;
	m.u.update.n_samples = 10;
	m.u.update.train_loss = 1.0f;
	m.u.update.delta_f = delta;
	m.u.update.n_delta = 2;
	ck_assert_int_eq(mcai_msg_encode(&b, &m, NULL), 0);
	ck_assert_uint_eq(b.len, sizeof(upd));
	ck_assert_mem_eq(b.data, upd, sizeof(upd));
	mcai_buf_free(&b);
}
END_TEST

START_TEST(round_trip_empty_arrays)
{
	struct mcai_msg m, d;
	struct mcai_buf b;
	const char *why = NULL;

	/* A MODEL with no floats and no blob, an empty TELEMETRY. */
	sample_msg(MCAI_MSG_MODEL, &m);
	m.u.model.params_f = NULL;
	m.u.model.n_params = 0;
	m.u.model.blob = NULL;
	m.u.model.blob_len = 0;
	m.u.model.parent = 0;
	encode_payload(&m, &b);
	ck_assert_int_eq(mcai_msg_decode(m.type, b.data, b.len, &d, &why), 0);
	ck_assert_uint_eq(d.u.model.n_params, 0);
	ck_assert_ptr_null(d.u.model.blob);
	mcai_buf_free(&b);

	sample_msg(MCAI_MSG_TELEMETRY, &m);
	m.u.telemetry.n = 0;
	m.u.telemetry.entries = NULL;
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_int_eq(mcai_msg_decode(m.type, b.data, b.len, &d, &why), 0);
	ck_assert_uint_eq(d.u.telemetry.n, 0);
	mcai_msg_release(&d);
	mcai_buf_free(&b);

	/* An ERROR with an empty message is fine. */
	sample_msg(MCAI_MSG_ERROR, &m);
	m.u.error.message[0] = 0;
	encode_payload(&m, &b);
	ck_assert_int_eq(mcai_msg_decode(m.type, b.data, b.len, &d, &why), 0);
	ck_assert_str_eq(d.u.error.message, "");
	mcai_buf_free(&b);
}
END_TEST

/* Strings at their exact limits pass; float copy-out works. */
START_TEST(round_trip_limits)
{
	struct mcai_msg m, d;
	struct mcai_buf b;
	const char *why = NULL;
	float got[5];

	sample_msg(MCAI_MSG_HELLO, &m);
	memset(m.u.hello.node_id, 'n', MCAI_PROTO_ID_MAX);
	m.u.hello.node_id[MCAI_PROTO_ID_MAX] = 0;
	memset(m.u.hello.model, 'm', MCAI_PROTO_NAME_MAX);
	m.u.hello.model[MCAI_PROTO_NAME_MAX] = 0;
	encode_payload(&m, &b);
	ck_assert_int_eq(mcai_msg_decode(m.type, b.data, b.len, &d, &why), 0);
	check_same(&m, &d);
	mcai_buf_free(&b);

	sample_msg(MCAI_MSG_ERROR, &m);
	memset(m.u.error.message, '~', MCAI_PROTO_MSG_MAX);
	m.u.error.message[MCAI_PROTO_MSG_MAX] = 0;
	encode_payload(&m, &b);
	ck_assert_int_eq(mcai_msg_decode(m.type, b.data, b.len, &d, &why), 0);
	check_same(&m, &d);
	mcai_buf_free(&b);

	sample_msg(MCAI_MSG_UPDATE, &m);
	encode_payload(&m, &b);
	ck_assert_int_eq(mcai_msg_decode(m.type, b.data, b.len, &d, &why), 0);
	mcai_f32v_copy(&d.u.update.delta, got);
	ck_assert_mem_eq(got, sample_params, sizeof(got));
	mcai_buf_free(&b);
}
END_TEST

/* A full-size parameter vector: the largest frame there is. */
START_TEST(round_trip_large_update)
{
	uint32_t n = 1U << 20, i;
	float *delta = malloc((size_t)n * sizeof(float));
	struct mcai_msg m, d;
	struct mcai_buf b;
	struct mcai_frame_hdr h;
	const char *why = NULL;

	ck_assert_ptr_nonnull(delta);
	for (i = 0; i < n; i++)
		delta[i] = (float)i * 0.001f - 17.0f;
	memset(&m, 0, sizeof(m));
	m.type = MCAI_MSG_UPDATE;
	m.u.update.round_id = 5;
	m.u.update.n_samples = 1;
	m.u.update.delta_f = delta;
	m.u.update.n_delta = n;
	mcai_buf_init(&b);
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), 0);
	ck_assert_int_eq(mcai_frame_hdr_parse(b.data, b.len, &h, &why), 0);
	ck_assert_int_eq(mcai_msg_decode(h.type, b.data + 16, h.length, &d,
					 &why), 0);
	ck_assert_uint_eq(d.u.update.n_delta, n);
	for (i = 0; i < n; i += 4097)
		EXPECT(mcai_f32v_get(&d.u.update.delta, i) == delta[i],
		       "delta[%u]", i);
	mcai_buf_free(&b);
	free(delta);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Malformed payloads                                                     */
/* ---------------------------------------------------------------------- */

/* Every proper prefix of every valid payload is refused, and so is one
 * extra byte. */
START_TEST(truncated_every_byte)
{
	uint16_t type = (uint16_t)(_i + 1);
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why;
	uint8_t *ext;
	size_t n;

	sample_msg(type, &m);
	encode_payload(&m, &b);
	ck_assert_int_eq(decode_copy(type, b.data, b.len, &why), 0);
	for (n = 0; n < b.len; n++) {
		int err = decode_copy(type, b.data, n, &why);

		EXPECT(err == -EBADMSG, "%s cut at %zu of %zu: %d",
		       mcai_msg_type_name(type), n, b.len, err);
		EXPECT(why && *why, "%s cut at %zu: no reason",
		       mcai_msg_type_name(type), n);
	}
	ext = calloc(1, b.len + 1);
	memcpy(ext, b.data, b.len);
	expect_reject(type, ext, b.len + 1, "1 trailing bytes");
	free(ext);
	mcai_buf_free(&b);
}
END_TEST

START_TEST(truncated_reason)
{
	struct mcai_msg m;
	struct mcai_buf b;

	sample_msg(MCAI_MSG_HELLO, &m);
	encode_payload(&m, &b);
	expect_reject(MCAI_MSG_HELLO, b.data, 0, "truncated node id");
	expect_reject(MCAI_MSG_HELLO, b.data, b.len - 1,
		      "truncated capabilities");
	mcai_buf_free(&b);
	expect_reject(MCAI_MSG_BYE, NULL, 0, "truncated bye reason");
}
END_TEST

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Offsets into the sample MODEL payload. */
#define MODEL_NAME_LEN	6	/* "fmnist" */
#define MODEL_COUNT_OFF	(2 + MODEL_NAME_LEN + 4 + 4 + 8)
#define MODEL_BLOBLEN_OFF	(MODEL_COUNT_OFF + 4 + 5 * 4)
#define UPDATE_COUNT_OFF	(8 + 4 + 8 + 4)

START_TEST(counts_lie)
{
	static const uint32_t lies[] = {
		6, 7, 0x40000000U, 0x40000001U, MCAI_PROTO_MAX_FLOATS,
		MCAI_PROTO_MAX_FLOATS + 1, 0x7fffffffU, 0xffffffffU,
	};
	struct mcai_msg m;
	struct mcai_buf b;
	size_t i;

	sample_msg(MCAI_MSG_MODEL, &m);
	encode_payload(&m, &b);
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		put_le32(b.data + MODEL_COUNT_OFF, lies[i]);
		/* Small lies eat the blob length and fail later on. */
		expect_reject(MCAI_MSG_MODEL, b.data, b.len,
			      lies[i] > 8 ? "params: count" : "");
	}
	/* One fewer float: the rest is misparsed, and caught. */
	put_le32(b.data + MODEL_COUNT_OFF, 4);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len, "blob");
	put_le32(b.data + MODEL_COUNT_OFF, 5);
	ck_assert_int_eq(decode_copy(MCAI_MSG_MODEL, b.data, b.len,
				     &(const char *){ NULL }), 0);

	/* Blob length past the end, and wrapping. */
	/* 22 left: the blob, the manifest length and the manifest. */
	put_le32(b.data + MODEL_BLOBLEN_OFF, 23);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len, "blob: length 23, 22");
	put_le32(b.data + MODEL_BLOBLEN_OFF, 0xffffffffU);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len, "blob: length");
	/* One short: the manifest length is read a byte early. */
	put_le32(b.data + MODEL_BLOBLEN_OFF, sizeof(sample_blob) - 1);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len, "manifest: length 2311, 10 bytes left");
	mcai_buf_free(&b);

	sample_msg(MCAI_MSG_UPDATE, &m);
	encode_payload(&m, &b);
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		put_le32(b.data + UPDATE_COUNT_OFF, lies[i]);
		expect_reject(MCAI_MSG_UPDATE, b.data, b.len, "delta: count");
	}
	put_le32(b.data + UPDATE_COUNT_OFF, 4);
	expect_reject(MCAI_MSG_UPDATE, b.data, b.len, "4 trailing bytes");
	mcai_buf_free(&b);
}
END_TEST

/*
 * The manifest: empty (an unsigned model, for a lab node that allows
 * it), at the limit, over it in either direction, cut short, and a
 * length without bytes.
 */
START_TEST(model_manifest)
{
	static uint8_t big[MCAI_PROTO_MANIFEST_MAX + 1];
	struct mcai_msg m, d;
	struct mcai_buf b;
	const char *why = NULL;
	size_t off;

	memset(big, 0xa5, sizeof(big));
	sample_msg(MCAI_MSG_MODEL, &m);
	m.u.model.manifest = NULL;
	m.u.model.manifest_len = 0;
	encode_payload(&m, &b);
	ck_assert_int_eq(mcai_msg_decode(m.type, b.data, b.len, &d, &why), 0);
	ck_assert_ptr_null(d.u.model.manifest);
	ck_assert_uint_eq(d.u.model.manifest_len, 0);
	mcai_buf_free(&b);

	m.u.model.manifest = big;
	m.u.model.manifest_len = MCAI_PROTO_MANIFEST_MAX;
	encode_payload(&m, &b);
	ck_assert_int_eq(mcai_msg_decode(m.type, b.data, b.len, &d, &why), 0);
	ck_assert_uint_eq(d.u.model.manifest_len, MCAI_PROTO_MANIFEST_MAX);
	check_same(&m, &d);
	/* The length field sits right before the manifest bytes. */
	off = b.len - MCAI_PROTO_MANIFEST_MAX - 4;
	put_le32(b.data + off, MCAI_PROTO_MANIFEST_MAX + 1);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len, "manifest: ");
	put_le32(b.data + off, 0xffffffffU);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len, "at most");
	put_le32(b.data + off, MCAI_PROTO_MANIFEST_MAX - 1);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len, "1 trailing bytes");
	put_le32(b.data + off, MCAI_PROTO_MANIFEST_MAX);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len - 1, "manifest: length");
	mcai_buf_free(&b);

	/* The encoder refuses what the decoder would. */
	mcai_buf_init(&b);
	m.u.model.manifest_len = MCAI_PROTO_MANIFEST_MAX + 1;
	ck_assert_int_eq(mcai_msg_encode(&b, &m, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "manifest"));
	ck_assert_uint_eq(b.len, 0);
	m.u.model.manifest = NULL;
	m.u.model.manifest_len = 3;
	ck_assert_int_eq(mcai_msg_encode(&b, &m, &why), -EINVAL);
	ck_assert_str_eq(why, "manifest: no bytes");
	ck_assert_uint_eq(b.len, 0);
	mcai_buf_free(&b);
}
END_TEST

START_TEST(telemetry_counts_lie)
{
	struct mcai_msg m;
	struct mcai_buf b;

	sample_msg(MCAI_MSG_TELEMETRY, &m);
	encode_payload(&m, &b);
	put_le32(b.data, 3);
	expect_reject(MCAI_MSG_TELEMETRY, b.data, b.len,
		      "3 entries cannot fit");
	put_le32(b.data, MCAI_PROTO_MAX_TELEM + 1);
	expect_reject(MCAI_MSG_TELEMETRY, b.data, b.len,
		      "257 entries, at most 256");
	put_le32(b.data, 0xffffffffU);
	expect_reject(MCAI_MSG_TELEMETRY, b.data, b.len, "at most 256");
	/* Fewer entries than sent: leftovers are trailing bytes. */
	put_le32(b.data, 1);
	expect_reject(MCAI_MSG_TELEMETRY, b.data, b.len, "trailing bytes");
	mcai_buf_free(&b);
}
END_TEST

/* A HELLO payload with @id as the raw node id bytes, the rest valid. */
static void hello_with_id(struct mcai_buf *b, uint16_t len_field,
			  const void *id, size_t n)
{
	mcai_buf_init(b);
	mcai_buf_put_u16(b, len_field);
	mcai_buf_put(b, id, n);
	mcai_buf_put_u32(b, MCAI_ROLE_NODE);
	mcai_buf_put_u16(b, 1);
	mcai_buf_put(b, "m", 1);
	mcai_buf_put_u32(b, 1);
	mcai_buf_put_u64(b, 1);
	mcai_buf_put_u64(b, 0);
}

START_TEST(strings_bad)
{
	char big[300];
	struct mcai_buf b;
	struct mcai_msg m;

	memset(big, 'a', sizeof(big));
	hello_with_id(&b, 65, big, 65);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len,
		      "node id: 65 bytes, at most 64");
	mcai_buf_free(&b);
	hello_with_id(&b, 0xffff, big, 10);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len,
		      "node id: 65535 bytes, at most 64");
	mcai_buf_free(&b);
	/* The length runs past the payload: an unterminated string. */
	hello_with_id(&b, 40, big, 10);
	b.len = 2 + 10;
	expect_reject(MCAI_MSG_HELLO, b.data, b.len, "truncated node id");
	mcai_buf_free(&b);
	hello_with_id(&b, 3, "a\0b", 3);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len, "node id: NUL byte at 1");
	mcai_buf_free(&b);
	hello_with_id(&b, 3, "a b", 3);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len,
		      "node id: bad character 0x20 at 1");
	mcai_buf_free(&b);
	hello_with_id(&b, 2, "a\n", 2);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len, "bad character 0x0a");
	mcai_buf_free(&b);
	hello_with_id(&b, 2, "\xc3\xa9", 2);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len, "bad character 0xc3");
	mcai_buf_free(&b);
	hello_with_id(&b, 0, "", 0);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len, "node id: empty");
	mcai_buf_free(&b);

	/* Model names follow the kernel's rule: no ':' or '@'. */
	mcai_buf_init(&b);
	mcai_buf_put_u16(&b, 1);
	mcai_buf_put(&b, "n", 1);
	mcai_buf_put_u32(&b, MCAI_ROLE_NODE);
	mcai_buf_put_u16(&b, 32);
	mcai_buf_put(&b, big, 32);
	mcai_buf_put_u32(&b, 1);
	mcai_buf_put_u64(&b, 1);
	mcai_buf_put_u64(&b, 0);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len,
		      "model name: 32 bytes, at most 31");
	mcai_buf_free(&b);

	/* ERROR messages: printable ASCII, up to 256 bytes. */
	mcai_buf_init(&b);
	mcai_buf_put_u32(&b, MCAI_ERR_PROTOCOL);
	mcai_buf_put_u16(&b, 257);
	mcai_buf_put(&b, big, 257);
	expect_reject(MCAI_MSG_ERROR, b.data, b.len,
		      "message: 257 bytes, at most 256");
	mcai_buf_free(&b);
	mcai_buf_init(&b);
	mcai_buf_put_u32(&b, MCAI_ERR_PROTOCOL);
	mcai_buf_put_u16(&b, 4);
	mcai_buf_put(&b, "ok\x1b[", 4);
	expect_reject(MCAI_MSG_ERROR, b.data, b.len,
		      "message: bad character 0x1b at 2");
	mcai_buf_free(&b);

	/* The encoder holds itself to the same rules. */
	sample_msg(MCAI_MSG_WELCOME, &m);
	strcpy(m.u.welcome.fleet, "has space");
	mcai_buf_init(&b);
	ck_assert_int_eq(mcai_msg_encode(&b, &m, NULL), -EINVAL);
	ck_assert_uint_eq(b.len, 0);
	mcai_buf_free(&b);
}
END_TEST

START_TEST(model_name_chars)
{
	struct mcai_buf b;
	static const char *const bad[] = { "a:b", "a@b", "a/b", "a b", "" };
	static const char *const good[] = { "a", "A-z_0.9", "fmnist" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!mcai_proto_name_ok(bad[i]), "%s", bad[i]);
		mcai_buf_init(&b);
		mcai_buf_put_u32(&b, 1);		/* round id */
		mcai_buf_put_u32(&b, 0);
		mcai_buf_put_u16(&b, (uint16_t)strlen(bad[i]));
		mcai_buf_put(&b, bad[i], strlen(bad[i]));
		mcai_buf_put_u32(&b, 1);
		mcai_buf_put_u32(&b, 1000);
		mcai_buf_put_u32(&b, 1);
		mcai_buf_put_u32(&b, 1);
		mcai_buf_put_f32(&b, 0.1f);
		mcai_buf_put_f32(&b, 0.0f);
		mcai_buf_put_u32(&b, 0);
		expect_reject(MCAI_MSG_ROUND, b.data, b.len, "model name");
		mcai_buf_free(&b);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(mcai_proto_name_ok(good[i]), "%s", good[i]);
	ck_assert(mcai_proto_id_ok("gw-1@site:2"));
	ck_assert(!mcai_proto_id_ok("gw 1"));
}
END_TEST

START_TEST(non_finite)
{
	static const uint32_t bad_bits[] = {
		0x7fc00000U,	/* quiet NaN */
		0xffc00001U,	/* negative NaN with payload */
		0x7f800001U,	/* signalling NaN */
		0x7f800000U,	/* +Inf */
		0xff800000U,	/* -Inf */
	};
	struct mcai_msg m;
	struct mcai_buf b;
	char want[64];
	size_t i;
	int k;

	for (i = 0; i < sizeof(bad_bits) / sizeof(bad_bits[0]); i++) {
		for (k = 0; k < 5; k += 2) {
			sample_msg(MCAI_MSG_MODEL, &m);
			encode_payload(&m, &b);
			put_le32(b.data + MODEL_COUNT_OFF + 4 + 4 * k,
				 bad_bits[i]);
			snprintf(want, sizeof(want),
				 "params: non-finite value at index %d", k);
			expect_reject(MCAI_MSG_MODEL, b.data, b.len, want);
			mcai_buf_free(&b);

			sample_msg(MCAI_MSG_UPDATE, &m);
			encode_payload(&m, &b);
			put_le32(b.data + UPDATE_COUNT_OFF + 4 + 4 * k,
				 bad_bits[i]);
			snprintf(want, sizeof(want),
				 "delta: non-finite value at index %d", k);
			expect_reject(MCAI_MSG_UPDATE, b.data, b.len, want);
			mcai_buf_free(&b);
		}
		/* The scalars too: loss, learning rate, mu. */
		sample_msg(MCAI_MSG_UPDATE, &m);
		encode_payload(&m, &b);
		put_le32(b.data + UPDATE_COUNT_OFF - 4, bad_bits[i]);
		expect_reject(MCAI_MSG_UPDATE, b.data, b.len,
			      "train loss: non-finite");
		mcai_buf_free(&b);
		sample_msg(MCAI_MSG_ROUND, &m);
		encode_payload(&m, &b);
		put_le32(b.data + b.len - 12, bad_bits[i]);
		expect_reject(MCAI_MSG_ROUND, b.data, b.len,
			      "learning rate: non-finite");
		put_le32(b.data + b.len - 12, 0x3f800000U);
		put_le32(b.data + b.len - 8, bad_bits[i]);
		expect_reject(MCAI_MSG_ROUND, b.data, b.len,
			      "prox mu: non-finite");
		mcai_buf_free(&b);
	}
}
END_TEST

START_TEST(non_finite_encode)
{
	float bad[3] = { 1.0f, 2.0f, 0.0f };
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why = NULL;

	bad[2] = NAN;
	sample_msg(MCAI_MSG_UPDATE, &m);
	m.u.update.delta_f = bad;
	m.u.update.n_delta = 3;
	mcai_buf_init(&b);
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_str_eq(why, "delta: non-finite value at index 2");
	ck_assert_uint_eq(b.len, 0);
	bad[2] = INFINITY;
	sample_msg(MCAI_MSG_MODEL, &m);
	m.u.model.params_f = bad;
	m.u.model.n_params = 3;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_str_eq(why, "params: non-finite value at index 2");
	ck_assert_uint_eq(b.len, 0);
	mcai_buf_free(&b);
}
END_TEST

/* Encode @m unchecked-by-hand: patch one u32 at @off and expect @want. */
static void patch_u32(uint16_t type, size_t off_from_end, uint32_t v,
		      const char *want)
{
	struct mcai_msg m;
	struct mcai_buf b;

	sample_msg(type, &m);
	encode_payload(&m, &b);
	put_le32(b.data + b.len - off_from_end, v);
	expect_reject(type, b.data, b.len, want);
	mcai_buf_free(&b);
}

START_TEST(fields_out_of_range)
{
	struct mcai_msg m;
	struct mcai_buf b;

	/* HELLO role sits after the node id. */
	sample_msg(MCAI_MSG_HELLO, &m);
	encode_payload(&m, &b);
	put_le32(b.data + 2 + strlen(m.u.hello.node_id), 3);
	expect_reject(MCAI_MSG_HELLO, b.data, b.len, "unknown role 3");
	mcai_buf_free(&b);

	/* ROUND tail: deadline, epochs, batch, lr, mu, flags. */
	patch_u32(MCAI_MSG_ROUND, 24, 0, "deadline 0 ms out of range");
	patch_u32(MCAI_MSG_ROUND, 24, MCAI_PROTO_MAX_DEADLINE_MS + 1,
		  "deadline");
	patch_u32(MCAI_MSG_ROUND, 20, 0, "local epochs 0 out of range");
	patch_u32(MCAI_MSG_ROUND, 20, 1001, "local epochs 1001");
	patch_u32(MCAI_MSG_ROUND, 16, 0, "batch 0 out of range");
	patch_u32(MCAI_MSG_ROUND, 16, 65537, "batch 65537");
	patch_u32(MCAI_MSG_ROUND, 12, 0, "learning rate not a positive");
	patch_u32(MCAI_MSG_ROUND, 12, 0xbf800000U, "learning rate");
	patch_u32(MCAI_MSG_ROUND, 8, 0xbf800000U, "prox mu not");
	patch_u32(MCAI_MSG_ROUND, 4, 16,
		  "signed secure aggregation without secure aggregation");
	patch_u32(MCAI_MSG_ROUND, 4, 128, "unknown round flags 0x80");
	patch_u32(MCAI_MSG_ROUND, 4, 0x80000000U, "unknown round flags");

	sample_msg(MCAI_MSG_ROUND, &m);
	encode_payload(&m, &b);
	memset(b.data, 0, 8);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "round id 0");
	mcai_buf_free(&b);

	/* MODEL version / parent after the name. */
	sample_msg(MCAI_MSG_MODEL, &m);
	encode_payload(&m, &b);
	put_le32(b.data + 2 + MODEL_NAME_LEN, 0);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len, "model version 0");
	put_le32(b.data + 2 + MODEL_NAME_LEN, 9);
	expect_reject(MCAI_MSG_MODEL, b.data, b.len,
		      "parent version 9 not older than 9");
	mcai_buf_free(&b);

	/* UPDATE: zero samples, zero round. */
	sample_msg(MCAI_MSG_UPDATE, &m);
	encode_payload(&m, &b);
	memset(b.data + 12, 0, 8);
	expect_reject(MCAI_MSG_UPDATE, b.data, b.len, "update from 0 samples");
	memset(b.data, 0, 8);
	expect_reject(MCAI_MSG_UPDATE, b.data, b.len, "round id 0");
	mcai_buf_free(&b);

	/* TELEMETRY p50 above p99 in the second entry. */
	sample_msg(MCAI_MSG_TELEMETRY, &m);
	encode_payload(&m, &b);
	b.data[b.len - 24] = 1;		/* last entry's p50 = 1, p99 = 0 */
	expect_reject(MCAI_MSG_TELEMETRY, b.data, b.len,
		      "telemetry entry 1: p50 above p99");
	mcai_buf_free(&b);

	patch_u32(MCAI_MSG_BYE, 4, MCAI_BYE_MAX + 1, "unknown bye reason");
	sample_msg(MCAI_MSG_ERROR, &m);
	encode_payload(&m, &b);
	put_le32(b.data, 0);
	expect_reject(MCAI_MSG_ERROR, b.data, b.len, "unknown error code 0");
	put_le32(b.data, MCAI_ERR_MAX + 1);
	expect_reject(MCAI_MSG_ERROR, b.data, b.len, "unknown error code");
	mcai_buf_free(&b);
	expect_reject(0, (const uint8_t *)"", 0, "unknown message type 0");
}
END_TEST

/* ROUND with MCAI_ROUND_F_DP: its three fields, and every way to bend them. */
/*
 * ROUND with MCAI_ROUND_F_COMPRESS: 12 more bytes (kind, top-k, block),
 * each bad value refused by name, and not together with SECAGG.  An
 * UPDATE_Z whose compressed delta is shorter than its own header, or
 * whose length runs past the payload, is refused.
 */
START_TEST(round_compress)
{
	struct mcai_msg m, d;
	struct mcai_buf b;
	const char *why = NULL;
	size_t base;

	sample_msg(MCAI_MSG_ROUND, &m);
	encode_payload(&m, &b);
	base = b.len;
	mcai_buf_free(&b);
	m.u.round.flags = MCAI_ROUND_F_COMPRESS;
	m.u.round.comp_kind = 2;
	m.u.round.comp_topk = 0.25f;
	m.u.round.comp_block = 256;
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, base + 12);
	ck_assert_int_eq(mcai_msg_decode(MCAI_MSG_ROUND, b.data, b.len, &d,
					 &why), 0);
	ck_assert_uint_eq(d.u.round.comp_kind, 2);
	ck_assert(d.u.round.comp_topk == 0.25f);
	ck_assert_uint_eq(d.u.round.comp_block, 256);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len - 1,
		      "truncated compression block");
	put_le32(b.data + base, 3);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "unknown compression 3");
	put_le32(b.data + base, 1);
	put_le32(b.data + base + 4, 0x3fc00000U);	/* 1.5 */
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "top-k fraction");
	put_le32(b.data + base + 4, 0x3e800000U);
	put_le32(b.data + base + 8, 0);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "compression block 0");
	mcai_buf_free(&b);
	mcai_buf_init(&b);
	m.u.round.flags |= MCAI_ROUND_F_SECAGG;
	m.u.round.sa_nodes = 3;
	m.u.round.sa_threshold = 2;
	m.u.round.sa_clip = 4;
	m.u.round.sa_weight_total = 10;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "secure aggregation"));
	mcai_buf_free(&b);

	sample_msg(MCAI_MSG_UPDATE_Z, &m);
	encode_payload(&m, &b);
	/* the length field of the compressed delta: 28 bytes in */
	put_le32(b.data + 24, 15);
	expect_reject(MCAI_MSG_UPDATE_Z, b.data, b.len,
		      "compressed delta of 15 bytes");
	put_le32(b.data + 24, 21);
	expect_reject(MCAI_MSG_UPDATE_Z, b.data, b.len, "length 21");
	mcai_buf_free(&b);
	mcai_buf_init(&b);
	m.u.update.comp_len = 8;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	mcai_buf_free(&b);
}
END_TEST

START_TEST(round_dp)
{
	static const uint32_t bad_clip[] = { 0, 0x80000000U, 0xbf800000U,
					     0x7fc00000U, 0x7f800000U };
	struct mcai_msg m, d;
	struct mcai_buf b;
	const char *why = NULL;
	size_t i, base;

	sample_msg(MCAI_MSG_ROUND, &m);
	encode_payload(&m, &b);
	base = b.len;
	mcai_buf_free(&b);
	m.u.round.flags = MCAI_ROUND_F_DP;
	m.u.round.dp_clip = 0.5f;
	m.u.round.dp_sigma = 1.25f;
	m.u.round.dp_shares = 7;
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, base + 12);
	ck_assert_int_eq(mcai_msg_decode(MCAI_MSG_ROUND, b.data, b.len, &d,
					 &why), 0);
	ck_assert(d.u.round.dp_clip == 0.5f);
	ck_assert(d.u.round.dp_sigma == 1.25f);
	ck_assert_uint_eq(d.u.round.dp_shares, 7);
	ck_assert_uint_eq(d.u.round.flags, MCAI_ROUND_F_DP);
	/* Each field cut short, and one byte too many. */
	expect_reject(MCAI_MSG_ROUND, b.data, base, "truncated dp clip");
	expect_reject(MCAI_MSG_ROUND, b.data, base + 4,
		      "truncated dp noise multiplier");
	expect_reject(MCAI_MSG_ROUND, b.data, base + 8,
		      "truncated dp noise shares");
	expect_reject(MCAI_MSG_ROUND, b.data, b.len - 1,
		      "truncated dp noise shares");
	mcai_buf_free(&b);
	for (i = 0; i < sizeof(bad_clip) / sizeof(bad_clip[0]); i++) {
		encode_payload(&m, &b);
		put_le32(b.data + base, bad_clip[i]);
		expect_reject(MCAI_MSG_ROUND, b.data, b.len, "dp clip");
		put_le32(b.data + base, 0x3f000000U);
		put_le32(b.data + base + 4, bad_clip[i]);
		expect_reject(MCAI_MSG_ROUND, b.data, b.len,
			      "dp noise multiplier");
		mcai_buf_free(&b);
	}
	encode_payload(&m, &b);
	put_le32(b.data + base + 8, 0);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "dp noise shares 0");
	mcai_buf_free(&b);
	{
		uint8_t ext[256];

		encode_payload(&m, &b);
		ck_assert_uint_lt(b.len, sizeof(ext));
		memcpy(ext, b.data, b.len);
		ext[b.len] = 0;
		expect_reject(MCAI_MSG_ROUND, ext, b.len + 1,
			      "1 trailing bytes");
		mcai_buf_free(&b);
	}
	/* The encoder holds the same line. */
	mcai_buf_init(&b);
	m.u.round.dp_shares = 0;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_str_eq(why, "dp noise shares 0");
	m.u.round.dp_shares = 1;
	m.u.round.dp_clip = NAN;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_uint_eq(b.len, 0);
	mcai_buf_free(&b);
}
END_TEST

/* ROUND with MCAI_ROUND_F_SECAGG: the parameters, and every bad one. */
START_TEST(round_secagg)
{
	struct mcai_msg m, d;
	struct mcai_buf b;
	const char *why = NULL;
	size_t base, i;
	/* Field offsets after the flags word, and what breaks each. */
	static const struct {
		size_t off;
		uint32_t v;
		const char *want;
	} bad[] = {
		{ 0, 8, "secagg id 8 not below 8 nodes" },
		{ 4, 1, "secagg nodes 1 out of range" },
		{ 4, 4097, "secagg nodes 4097 out of range" },
		{ 8, 0, "secagg threshold 0 out of range" },
		{ 8, 8, "secagg threshold 8 out of range" },
		{ 12, 8, "secagg degree 8 not below 8 nodes" },
		{ 16, 25, "secagg scale bits 25 above 24" },
		{ 20, 0, "secagg clip not a positive" },
		{ 20, 0xbf800000U, "secagg clip not a positive" },
		{ 20, 0x7f800000U, "secagg clip: non-finite" },
		{ 24, 0, "secagg weight total 0" },
	};

	sample_msg(MCAI_MSG_ROUND, &m);
	encode_payload(&m, &b);
	base = b.len;
	mcai_buf_free(&b);
	m.u.round.flags = MCAI_ROUND_F_SECAGG;
	m.u.round.sa_id = 5;
	m.u.round.sa_nodes = 8;
	m.u.round.sa_threshold = 4;
	m.u.round.sa_degree = 6;
	m.u.round.sa_scale_bits = 16;
	m.u.round.sa_clip = 4.0f;
	m.u.round.sa_weight_total = 0;	/* all of it in the low word */
	m.u.round.sa_weight_total = 6000;
	for (i = 0; i < sizeof(m.u.round.sa_graph_seed); i++)
		m.u.round.sa_graph_seed[i] = (uint8_t)(i * 7 + 1);
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, base + 24 + 8 + 32);
	ck_assert_int_eq(mcai_msg_decode(MCAI_MSG_ROUND, b.data, b.len, &d,
					 &why), 0);
	ck_assert_uint_eq(d.u.round.sa_id, 5);
	ck_assert_uint_eq(d.u.round.sa_nodes, 8);
	ck_assert_uint_eq(d.u.round.sa_threshold, 4);
	ck_assert_uint_eq(d.u.round.sa_degree, 6);
	ck_assert_uint_eq(d.u.round.sa_scale_bits, 16);
	ck_assert(d.u.round.sa_clip == 4.0f);
	ck_assert_uint_eq(d.u.round.sa_weight_total, 6000);
	ck_assert_mem_eq(d.u.round.sa_graph_seed, m.u.round.sa_graph_seed,
			 sizeof(m.u.round.sa_graph_seed));
	expect_reject(MCAI_MSG_ROUND, b.data, base, "truncated secagg id");
	expect_reject(MCAI_MSG_ROUND, b.data, base + 24,
		      "truncated secagg weight total");
	expect_reject(MCAI_MSG_ROUND, b.data, b.len - 1,
		      "truncated secagg graph seed");
	mcai_buf_free(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		encode_payload(&m, &b);
		put_le32(b.data + base + bad[i].off, bad[i].v);
		expect_reject(MCAI_MSG_ROUND, b.data, b.len, bad[i].want);
		mcai_buf_free(&b);
	}
	/* Both flags: DP's fields first, then secure aggregation's. */
	m.u.round.flags = MCAI_ROUND_F_DP | MCAI_ROUND_F_SECAGG;
	m.u.round.dp_clip = 1.0f;
	m.u.round.dp_sigma = 1.0f;
	m.u.round.dp_shares = 8;
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, base + 12 + 24 + 8 + 32);
	ck_assert_int_eq(mcai_msg_decode(MCAI_MSG_ROUND, b.data, b.len, &d,
					 &why), 0);
	ck_assert_uint_eq(d.u.round.dp_shares, 8);
	ck_assert_uint_eq(d.u.round.sa_weight_total, 6000);
	mcai_buf_free(&b);
	mcai_buf_init(&b);
	m.u.round.sa_id = 9;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_str_eq(why, "secagg id 9 not below 8 nodes");
	ck_assert_uint_eq(b.len, 0);
	mcai_buf_free(&b);
}
END_TEST

/* Every secure-aggregation frame: the library header it must carry. */
START_TEST(secagg_malformed)
{
	uint16_t type = (uint16_t)(MCAI_MSG_SA_ADVERT + _i);
	uint16_t other = type == MCAI_MSG_SA_UNMASK ? MCAI_MSG_SA_ADVERT :
			 (uint16_t)(type + 1);
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why = NULL;
	uint8_t *c;

	sample_msg(type, &m);
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, 4 + SAMPLE_SA_LEN);
	c = b.data;
	/* Under another frame type than its own. */
	expect_reject(other, c, b.len, "secagg message of type");
	/* Length field lies either way. */
	put_le32(c, SAMPLE_SA_LEN + 1);
	expect_reject(type, c, b.len, "secagg message: length 21, 20 bytes left");
	put_le32(c, SAMPLE_SA_LEN - 1);
	expect_reject(type, c, b.len, "1 trailing bytes");
	/* Shorter than the library's header. */
	put_le32(c, 15);
	expect_reject(type, c, 4 + 15, "secagg message: 15 bytes, header needs 16");
	put_le32(c, 0);
	expect_reject(type, c, 4, "secagg message: 0 bytes");
	put_le32(c, SAMPLE_SA_LEN);
	c[5] = 9;			/* library type 9 */
	c[4] = 9;
	expect_reject(type, c, b.len, "secagg message of type 9");
	c[4] = (uint8_t)(type - MCAI_MSG_SA_ADVERT + 1);
	c[5] = 2;
	expect_reject(type, c, b.len, "secagg message version 2");
	c[5] = 1;
	c[7] = 1;
	expect_reject(type, c, b.len, "reserved bytes not zero");
	c[7] = 0;
	c[12] = 0;			/* round 77 -> 0 */
	expect_reject(type, c, b.len, "secagg message: round id 0");
	c[12] = 77;
	ck_assert_int_eq(decode_copy(type, c, b.len, &why), 0);
	mcai_buf_free(&b);
	/* The encoder holds the same line. */
	mcai_buf_init(&b);
	m.u.secagg.len = 10;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_str_eq(why, "secagg message: 10 bytes, header needs 16");
	m.u.secagg.len = SAMPLE_SA_LEN;
	m.type = other;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	m.u.secagg.data = NULL;
	m.type = type;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_str_eq(why, "secagg message: no bytes");
	ck_assert_uint_eq(b.len, 0);
	mcai_buf_free(&b);
	ck_assert(!mcai_msg_is_secagg(MCAI_MSG_BYE));
	ck_assert_str_eq(mcai_msg_type_name(MCAI_MSG_SA_SHARES_FOR),
			 "SA_SHARES_FOR");
}
END_TEST

/* The encoder refuses the same out-of-range fields, leaving no bytes. */
START_TEST(encode_rejects)
{
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why;
	struct mcai_telem_entry e[1] = { { "x", 1, 0, 0, 5, 4, 0 } };

	mcai_buf_init(&b);
	mcai_buf_put_u32(&b, 0xdeadbeef);
#define REJ(setup, want) do {						\
		why = NULL;						\
		setup;							\
		ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL); \
		ck_assert_msg(why && strstr(why, want), "%s vs %s",	\
			      why ? why : "(null)", want);		\
		ck_assert_uint_eq(b.len, 4);				\
	} while (0)
	REJ((sample_msg(MCAI_MSG_HELLO, &m), m.u.hello.role = 0),
	    "unknown role");
	REJ((sample_msg(MCAI_MSG_HELLO, &m), m.u.hello.model[0] = 0),
	    "model name: empty");
	REJ((sample_msg(MCAI_MSG_ROUND, &m), m.u.round.batch = 0), "batch");
	REJ((sample_msg(MCAI_MSG_ROUND, &m), m.u.round.lr = NAN),
	    "learning rate");
	REJ((sample_msg(MCAI_MSG_MODEL, &m), m.u.model.parent = 10),
	    "parent version");
	REJ((sample_msg(MCAI_MSG_MODEL, &m), m.u.model.blob = NULL),
	    "blob: no bytes");
	REJ((sample_msg(MCAI_MSG_MODEL, &m), m.u.model.params_f = NULL),
	    "params: no values");
	REJ((sample_msg(MCAI_MSG_UPDATE, &m), m.u.update.n_samples = 0),
	    "0 samples");
	REJ((sample_msg(MCAI_MSG_UPDATE, &m),
	     m.u.update.train_loss = -INFINITY), "train loss");
	REJ((sample_msg(MCAI_MSG_TELEMETRY, &m), m.u.telemetry.n = 257),
	    "257 entries");
	REJ((sample_msg(MCAI_MSG_TELEMETRY, &m), m.u.telemetry.entries = e,
	     m.u.telemetry.n = 1), "p50 above p99");
	REJ((sample_msg(MCAI_MSG_ERROR, &m), m.u.error.code = 99),
	    "unknown error code 99");
	REJ((sample_msg(MCAI_MSG_ERROR, &m),
	     strcpy(m.u.error.message, "tab\there")), "bad character 0x09");
	REJ((sample_msg(MCAI_MSG_BYE, &m), m.u.bye.reason = 99),
	    "unknown bye reason");
	REJ((sample_msg(MCAI_MSG_BYE, &m), m.type = 42),
	    "unknown message type 42");
#undef REJ
	mcai_buf_free(&b);
}
END_TEST

START_TEST(fixed_buffer)
{
	uint8_t mem[40];
	struct mcai_buf b;
	struct mcai_msg m;
	const char *why = NULL;
	size_t i;

	/* A HELLO frame fits in a caller's array exactly when it fits. */
	sample_msg(MCAI_MSG_BYE, &m);
	mcai_buf_init_fixed(&b, mem, 20);
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), 0);
	ck_assert_uint_eq(b.len, 20);
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -ENOBUFS);
	ck_assert_uint_eq(b.len, 20);
	ck_assert_int_eq(b.err, -ENOBUFS);
	mcai_buf_reset(&b);
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), 0);
	mcai_buf_free(&b);	/* a no-op for the caller's memory */

	sample_msg(MCAI_MSG_HELLO, &m);
	for (i = 0; i < sizeof(mem); i++) {
		mcai_buf_init_fixed(&b, mem, i);
		ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -ENOBUFS);
		ck_assert_str_eq(why, "message does not fit the buffer");
	}
}
END_TEST

/* A count within the float limit still cannot beat the frame limit. */
START_TEST(encode_oversize)
{
	float *f = calloc(MCAI_PROTO_MAX_FLOATS, sizeof(float));
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why = NULL;

	ck_assert_ptr_nonnull(f);
	sample_msg(MCAI_MSG_UPDATE, &m);
	m.u.update.delta_f = f;
	m.u.update.n_delta = MCAI_PROTO_MAX_FLOATS;
	mcai_buf_init(&b);
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EMSGSIZE);
	ck_assert_uint_eq(b.len, 0);
	mcai_buf_free(&b);
	m.u.update.n_delta = MCAI_PROTO_MAX_FLOATS + 1;
	mcai_buf_init(&b);
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_str_eq(why, "delta: count 2097153 over the 2097152 limit");
	mcai_buf_free(&b);
	free(f);
}
END_TEST

/* Random corruption of valid frames: decoders must stay in bounds. */
START_TEST(mutation_sweep)
{
	uint64_t seed = 0x5eed5eedULL;
	int iter, type, accepted = 0;

	for (iter = 0; iter < 20000; iter++) {
		struct mcai_msg m, d;
		struct mcai_buf b;
		uint8_t *c;
		size_t len;
		int k, flips;
		const char *why;

		type = 1 + (int)(unit_rnd32(&seed) % MCAI_MSG_MAX);
		sample_msg((uint16_t)type, &m);
		encode_payload(&m, &b);
		len = b.len;
		if (unit_rnd32(&seed) % 4 == 0)
			len = unit_rnd32(&seed) % (b.len + 1);
		c = malloc(len ? len : 1);
		memcpy(c, b.data, len);
		flips = 1 + (int)(unit_rnd32(&seed) % 4);
		for (k = 0; len && k < flips; k++)
			c[unit_rnd32(&seed) % len] ^=
				(uint8_t)(1U << (unit_rnd32(&seed) % 8));
		why = NULL;
		if (!mcai_msg_decode((uint16_t)type, c, len, &d, &why)) {
			accepted++;
			mcai_msg_release(&d);
		} else {
			EXPECT(why && *why, "iteration %d: no reason", iter);
		}
		free(c);
		mcai_buf_free(&b);
	}
	/* Some flips land in free-form numbers and stay valid. */
	ck_assert_int_gt(accepted, 0);
}
END_TEST

/* DATASTATS: counts that lie, negative variance, a histogram too big. */
START_TEST(datastats_malformed)
{
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why;
	size_t var_at, nc_at;

	sample_msg(MCAI_MSG_DATASTATS, &m);
	encode_payload(&m, &b);
	var_at = 16 + 4 + 5 * 4;	/* the variances' count */
	nc_at = var_at + 4 + 5 * 4;
	ck_assert_uint_eq(b.len, nc_at + 4 + 3 * 8);
	put_le32(b.data + var_at, 4);
	expect_reject(MCAI_MSG_DATASTATS, b.data, b.len, "");
	put_le32(b.data + var_at, 0xffffffffU);
	expect_reject(MCAI_MSG_DATASTATS, b.data, b.len, "over the");
	put_le32(b.data + var_at, 5);
	put_le32(b.data + var_at + 4, 0xbf800000U);	/* -1.0 */
	expect_reject(MCAI_MSG_DATASTATS, b.data, b.len, "negative variance");
	put_le32(b.data + var_at + 4, 0x7fc00000U);	/* NaN */
	expect_reject(MCAI_MSG_DATASTATS, b.data, b.len, "non-finite");
	put_le32(b.data + var_at + 4, 0);
	ck_assert_int_eq(decode_copy(MCAI_MSG_DATASTATS, b.data, b.len, &why),
			 0);
	put_le32(b.data + nc_at, MCAI_PROV_STATS_MAX_CLASSES + 1);
	expect_reject(MCAI_MSG_DATASTATS, b.data, b.len, "classes, at most");
	put_le32(b.data + nc_at, 4);
	expect_reject(MCAI_MSG_DATASTATS, b.data, b.len, "truncated");
	put_le32(b.data + nc_at, 3);
	put_le32(b.data + nc_at + 4 + 8, 1);		/* 100 + 1 + 500 > 600 */
	expect_reject(MCAI_MSG_DATASTATS, b.data, b.len, "more than the samples");
	put_le32(b.data + nc_at + 4 + 8, 0);
	memset(b.data + 8, 0, 8);			/* no samples */
	expect_reject(MCAI_MSG_DATASTATS, b.data, b.len, "no samples");
	mcai_buf_free(&b);
	/* more features than a manifest carries */
	{
		static float big[MCAI_PROV_STATS_MAX_FEATURES + 1];

		sample_msg(MCAI_MSG_DATASTATS, &m);
		m.u.datastats.mean_f = big;
		m.u.datastats.var_f = big;
		m.u.datastats.n_features = MCAI_PROV_STATS_MAX_FEATURES + 1;
		mcai_buf_init(&b);
		ck_assert_int_eq(mcai_msg_encode(&b, &m, &why), -EINVAL);
		mcai_buf_free(&b);
	}
}
END_TEST

/* DRIFT: a report of a crossing, with finite figures, and nothing else. */
START_TEST(drift_report)
{
	const float nan = NAN;
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why;
	size_t off;

	sample_msg(MCAI_MSG_DRIFT, &m);
	encode_payload(&m, &b);
	/* name (2 + 6), version, score, threshold */
	ck_assert_uint_eq(b.len, 2 + 6 + 4 + 4 + 4);
	off = 2 + 6 + 4;
	memcpy(b.data + off, &nan, 4);
	expect_reject(MCAI_MSG_DRIFT, b.data, b.len, "drift score");
	put_le32(b.data + off, 0x3f800000);		/* 1.0 == threshold */
	expect_reject(MCAI_MSG_DRIFT, b.data, b.len, "not above its threshold");
	put_le32(b.data + off, 0xbf800000);		/* -1.0 */
	expect_reject(MCAI_MSG_DRIFT, b.data, b.len, "negative");
	put_le32(b.data + off, 0x40000000);		/* 2.0 */
	put_le32(b.data + off + 4, 0);			/* threshold 0 */
	expect_reject(MCAI_MSG_DRIFT, b.data, b.len, "threshold");
	put_le32(b.data + off + 4, 0x3f800000);
	ck_assert_int_eq(decode_copy(MCAI_MSG_DRIFT, b.data, b.len, &why), 0);
	expect_reject(MCAI_MSG_DRIFT, b.data, b.len - 1, "truncated");
	mcai_buf_free(&b);
	/* the encoder refuses what the decoder would */
	mcai_buf_init(&b);
	m.u.drift.score = 0.5f;
	ck_assert_int_eq(mcai_msg_encode(&b, &m, &why), -EINVAL);
	mcai_buf_free(&b);
}
END_TEST

/* ROUND's heartbeat interval: in range, and only with its flag. */
START_TEST(round_progress)
{
	struct mcai_msg m, d;
	struct mcai_buf b;
	const char *why = NULL;
	size_t base;

	sample_msg(MCAI_MSG_ROUND, &m);
	encode_payload(&m, &b);
	base = b.len;
	mcai_buf_free(&b);
	m.u.round.flags = MCAI_ROUND_F_PROGRESS;
	m.u.round.progress_ms = 1000;
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, base + 4);
	ck_assert_int_eq(mcai_msg_decode(MCAI_MSG_ROUND, b.data, b.len, &d,
					 &why), 0);
	ck_assert_uint_eq(d.u.round.progress_ms, 1000);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len - 1,
		      "truncated progress interval");
	put_le32(b.data + base, MCAI_PROTO_PROGRESS_MIN_MS - 1);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "progress interval 99 ms");
	put_le32(b.data + base, MCAI_PROTO_PROGRESS_MAX_MS + 1);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "out of range");
	/* the flag cleared: the interval is trailing garbage */
	put_le32(b.data + base - 4, 0);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "4 trailing bytes");
	mcai_buf_free(&b);
}
END_TEST

/*
 * ROUND with MCAI_ROUND_F_SA_COMPRESS: 8 more bytes after SECAGG's (range,
 * ring bits); only with SECAGG, a positive finite range, the 16-bit ring,
 * and not over more nodes than its sum of int8 can hold (258).
 */
START_TEST(round_sa_compress)
{
	struct mcai_msg m, d;
	struct mcai_buf b;
	const char *why = NULL;
	size_t base;

	sample_msg(MCAI_MSG_ROUND, &m);
	m.u.round.flags = MCAI_ROUND_F_SECAGG;
	m.u.round.sa_nodes = 4;
	m.u.round.sa_threshold = 2;
	m.u.round.sa_clip = 4;
	m.u.round.sa_weight_total = 10;
	encode_payload(&m, &b);
	base = b.len;
	mcai_buf_free(&b);
	m.u.round.flags |= MCAI_ROUND_F_SA_COMPRESS;
	m.u.round.sa_comp_range = 0.5f;
	m.u.round.sa_comp_bits = 16;
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, base + 8);
	ck_assert_int_eq(mcai_msg_decode(MCAI_MSG_ROUND, b.data, b.len, &d,
					 &why), 0);
	ck_assert(d.u.round.sa_comp_range == 0.5f);
	ck_assert_uint_eq(d.u.round.sa_comp_bits, 16);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len - 1,
		      "truncated secagg compression ring");
	put_le32(b.data + base + 4, 32);
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "ring of 32 bits: 16 only");
	put_le32(b.data + base + 4, 16);
	put_le32(b.data + base, 0x7fc00000U);		/* NaN */
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "compression range");
	put_le32(b.data + base, 0xbf000000U);		/* -0.5 */
	expect_reject(MCAI_MSG_ROUND, b.data, b.len, "compression range");
	mcai_buf_free(&b);
	/* 259 nodes: 259 x 127 would wrap Z_2^16 */
	mcai_buf_init(&b);
	m.u.round.sa_nodes = 259;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "258 at most"));
	mcai_buf_free(&b);
	mcai_buf_init(&b);
	m.u.round.sa_nodes = 258;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), 0);
	mcai_buf_free(&b);
	/* not without SECAGG */
	mcai_buf_init(&b);
	m.u.round.flags = MCAI_ROUND_F_SA_COMPRESS;
	ck_assert_int_eq(mcai_msg_frame(&b, &m, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "without secure aggregation"));
	mcai_buf_free(&b);
}
END_TEST

/* PROGRESS: a count of batches of a real round, and nothing else. */
START_TEST(progress_malformed)
{
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why;

	sample_msg(MCAI_MSG_PROGRESS, &m);
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, 16);
	ck_assert_int_eq(decode_copy(MCAI_MSG_PROGRESS, b.data, b.len, &why),
			 0);
	expect_reject(MCAI_MSG_PROGRESS, b.data, 0, "truncated");
	expect_reject(MCAI_MSG_PROGRESS, b.data, b.len - 1, "truncated");
	put_le32(b.data + 8, 95);			/* done > total */
	expect_reject(MCAI_MSG_PROGRESS, b.data, b.len, "progress 95 of 94");
	put_le32(b.data + 8, 0);
	put_le32(b.data + 12, 0);
	expect_reject(MCAI_MSG_PROGRESS, b.data, b.len, "of 0 batches");
	put_le32(b.data + 12, 94);
	memset(b.data, 0, 8);
	expect_reject(MCAI_MSG_PROGRESS, b.data, b.len, "round 0");
	mcai_buf_free(&b);
	{
		uint8_t longer[17] = { 1 };

		put_le32(longer + 12, 1);
		expect_reject(MCAI_MSG_PROGRESS, longer, sizeof(longer),
			      "1 trailing bytes");
	}
	/* the encoder refuses what the decoder would */
	mcai_buf_init(&b);
	m.u.progress.done = 95;
	ck_assert_int_eq(mcai_msg_encode(&b, &m, &why), -EINVAL);
	mcai_buf_free(&b);
}
END_TEST

/* MODEL_PART and MODEL_RESUME: bounds, lengths, trailing bytes. */
START_TEST(part_malformed)
{
	struct mcai_msg m;
	struct mcai_buf b;
	const char *why;
	uint8_t big[64];

	sample_msg(MCAI_MSG_MODEL_PART, &m);
	encode_payload(&m, &b);
	/* version 4, digest 32, total 8, offset 8, len 4, data 9 */
	ck_assert_uint_eq(b.len, 4 + 32 + 8 + 8 + 4 + 9);
	ck_assert_int_eq(decode_copy(MCAI_MSG_MODEL_PART, b.data, b.len, &why),
			 0);
	expect_reject(MCAI_MSG_MODEL_PART, b.data, b.len - 1, "length 9, 8");
	expect_reject(MCAI_MSG_MODEL_PART, b.data, 20, "truncated digest");
	put_le32(b.data + 44, 92);			/* 92 + 9 > 100 */
	expect_reject(MCAI_MSG_MODEL_PART, b.data, b.len, "past the total");
	put_le32(b.data + 44, 91);
	put_le32(b.data + 36, 0);			/* total 0 */
	expect_reject(MCAI_MSG_MODEL_PART, b.data, b.len, "stream of 0 bytes");
	put_le32(b.data + 36, 100);
	memset(b.data + 48, 0xff, 4);			/* offset 2^64 - small */
	expect_reject(MCAI_MSG_MODEL_PART, b.data, b.len, "past the total");
	memset(b.data + 48, 0, 4);
	memset(b.data, 0, 4);				/* version 0 */
	expect_reject(MCAI_MSG_MODEL_PART, b.data, b.len, "version 0");
	mcai_buf_free(&b);
	/* a part of 0 bytes, and one over the part limit, are refused */
	memset(big, 0, sizeof(big));
	put_le32(big, 1);
	put_le32(big + 36, 100);
	expect_reject(MCAI_MSG_MODEL_PART, big, 56, "part of 0 bytes");
	put_le32(big + 52, MCAI_PROTO_PART_MAX + 1);
	expect_reject(MCAI_MSG_MODEL_PART, big, 56, "length");
	mcai_buf_init(&b);
	m.u.part.len = 0;
	ck_assert_int_eq(mcai_msg_encode(&b, &m, &why), -EINVAL);
	mcai_buf_free(&b);

	sample_msg(MCAI_MSG_MODEL_RESUME, &m);
	encode_payload(&m, &b);
	ck_assert_uint_eq(b.len, 4 + 32 + 8);
	expect_reject(MCAI_MSG_MODEL_RESUME, b.data, b.len - 1, "truncated");
	put_le32(b.data + 36, MCAI_PROTO_STREAM_MAX + 1);
	expect_reject(MCAI_MSG_MODEL_RESUME, b.data, b.len, "resume at");
	mcai_buf_free(&b);
}
END_TEST

/* One part of @total at @off of @payload into @s. */
static int rx(struct mcai_stream_rx *s, uint32_t version, const uint8_t *dg,
	      const uint8_t *payload, uint64_t total, uint64_t off,
	      uint32_t part, const char **why)
{
	struct mcai_msg_part m;

	mcai_stream_part_at(&m, version, dg, payload, total, off, part);
	return mcai_stream_rx_part(s, &m, why);
}

/*
 * Reassembly: in order to the end, the digest checked; a part out of
 * order, of another total, of a stream not held, or a whole that does
 * not hash right drops the stream with a reason; a newer stream from
 * its start replaces a partial one.
 */
START_TEST(stream_reassembly)
{
	enum { N = 10000, PART = 3000 };
	struct mcai_stream_rx s = { 0 };
	static uint8_t pl[N], other[N];
	uint8_t dg[32], dg2[32];
	const char *why = NULL;
	uint64_t off;
	int r = 0, i;

	for (i = 0; i < N; i++) {
		pl[i] = (uint8_t)(i * 7 + 3);
		other[i] = (uint8_t)(i * 5 + 1);
	}
	mcai_sha256(pl, N, dg);
	mcai_sha256(other, N, dg2);
	for (off = 0; off < N; off += PART) {
		r = rx(&s, 4, dg, pl, N, off, PART, &why);
		ck_assert_int_eq(r, off + PART >= N ? 1 : 0);
	}
	ck_assert_uint_eq(s.total, N);
	ck_assert_mem_eq(s.buf, pl, N);
	mcai_stream_rx_reset(&s);

	/* out of order: a part skipped */
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, 0, PART, &why), 0);
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, 2 * PART, PART, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "out of order: at 6000, 3000 bytes held"));
	ck_assert_ptr_null(s.buf);
	/* a part again (duplicate) */
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, 0, PART, &why), 0);
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, PART, PART, &why), 0);
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, PART, PART, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "out of order"));
	/* a part of a stream not held */
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, PART, PART, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "not held"));
	/* another total for the same digest */
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, 0, PART, &why), 0);
	ck_assert_int_eq(rx(&s, 4, dg, pl, N - 1, PART, PART, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "9999-byte stream, 10000 announced"));
	/* bytes that do not hash to the digest announced */
	for (off = 0; off < N; off += PART) {
		r = rx(&s, 4, dg, off >= PART ? other : pl, N, off, PART, &why);
		if (r)
			break;
	}
	ck_assert_int_eq(r, -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "do not hash to their digest"));
	ck_assert_ptr_null(s.buf);
	/* a newer stream from its start replaces a partial one */
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, 0, PART, &why), 0);
	ck_assert_int_eq(rx(&s, 5, dg2, other, N, 0, PART, &why), 0);
	ck_assert_uint_eq(s.version, 5);
	ck_assert_uint_eq(s.have, PART);
	for (off = PART; off < N; off += PART)
		r = rx(&s, 5, dg2, other, N, off, PART, &why);
	ck_assert_int_eq(r, 1);
	ck_assert_mem_eq(s.buf, other, N);
	mcai_stream_rx_reset(&s);
	/* a part of the old stream after the new one started */
	ck_assert_int_eq(rx(&s, 5, dg2, other, N, 0, PART, &why), 0);
	ck_assert_int_eq(rx(&s, 4, dg, pl, N, PART, PART, &why), -EBADMSG);
	mcai_stream_rx_reset(&s);
}
END_TEST

Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("header");

	tcase_add_test(tc, hdr_round_trip);
	tcase_add_test(tc, hdr_short);
	tcase_add_test(tc, hdr_bad_magic);
	tcase_add_test(tc, hdr_bad_version);
	tcase_add_test(tc, hdr_oversize);
	tcase_add_test(tc, hdr_flags);
	tcase_add_test(tc, hdr_bad_type);
	suite_add_tcase(s, tc);

	tc = tcase_create("round-trip");
	tcase_add_loop_test(tc, round_trip_each, 0, MCAI_MSG_MAX);
	tcase_add_test(tc, wire_layout);
	tcase_add_test(tc, round_trip_empty_arrays);
	tcase_add_test(tc, round_trip_limits);
	tcase_add_test(tc, round_trip_large_update);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, truncated_every_byte, 0, MCAI_MSG_MAX);
	tcase_add_test(tc, truncated_reason);
	tcase_add_test(tc, counts_lie);
	tcase_add_test(tc, model_manifest);
	tcase_add_test(tc, telemetry_counts_lie);
	tcase_add_test(tc, drift_report);
	tcase_add_test(tc, datastats_malformed);
	tcase_add_test(tc, strings_bad);
	tcase_add_test(tc, model_name_chars);
	tcase_add_test(tc, non_finite);
	tcase_add_test(tc, non_finite_encode);
	tcase_add_test(tc, fields_out_of_range);
	tcase_add_test(tc, round_dp);
	tcase_add_test(tc, round_compress);
	tcase_add_test(tc, round_progress);
	tcase_add_test(tc, round_sa_compress);
	tcase_add_test(tc, progress_malformed);
	tcase_add_test(tc, part_malformed);
	tcase_add_test(tc, stream_reassembly);
	tcase_add_test(tc, round_secagg);
	tcase_add_loop_test(tc, secagg_malformed, 0,
			    MCAI_MSG_SA_UNMASK - MCAI_MSG_SA_ADVERT + 1);
	tcase_add_test(tc, encode_rejects);
	tcase_add_test(tc, fixed_buffer);
	tcase_add_test(tc, encode_oversize);
	tcase_add_test(tc, mutation_sweep);
	suite_add_tcase(s, tc);
	return s;
}
