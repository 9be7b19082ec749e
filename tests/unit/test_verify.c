// SPDX-License-Identifier: GPL-2.0
/*
 * The blob verifier (models/engine/verify.c): a valid blob passes and decodes to
 * what was written; every hostile variant of tests/hostile.c is refused
 * with exactly its expected reason (variants are re-sealed, so a reason
 * other than the digest's proves the structural check was reached); the
 * limits; offsets of the faults; 32-bit wrap-arounds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "tests/hostile.h"
#include "models/engine/sha256.h"
#include "models/engine/verify.h"

#define H(f)	((u32)offsetof(struct mcai_blob_header, f))
#define LF(f)	((u32)offsetof(struct mcai_blob_layer, f))

static struct hostile *hv;
static int hn;

static void hostile_setup(void)
{
	hn = hostile_build(&hv);
	ck_assert_int_gt(hn, 0);
}

static void hostile_teardown(void)
{
	hostile_free(hv, hn);
	hv = NULL;
	hn = 0;
}

static const struct hostile *find(const char *name)
{
	int i;

	for (i = 0; i < hn; i++)
		if (!strcmp(hv[i].name, name))
			return &hv[i];
	ck_abort_msg("no hostile variant %s", name);
	return NULL;
}

static u32 get32(const u8 *p)
{
	return mcai_le32(p);
}

static void put32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

START_TEST(valid_blob_decodes)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	u32 size, data_off, data_end, i;
	u8 *blob = hostile_base(&size), digest[32];
	float f;

	ck_assert_ptr_nonnull(blob);
	mcai_limits_default(&lim);
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), 0);
	ck_assert_ptr_null(v.reason);
	ck_assert_str_eq(m.name, HOSTILE_NAME);
	ck_assert_ptr_eq(m.blob, blob);
	ck_assert_uint_eq(m.blob_size, size);
	ck_assert_uint_eq(m.version, 1);
	ck_assert_uint_eq(m.n_layers, 3);
	ck_assert_uint_eq(m.input_len, HOSTILE_IN);
	ck_assert_uint_eq(m.output_len, HOSTILE_OUT);
	ck_assert_uint_eq(m.arena_size, 2 * HOSTILE_HID);
	ck_assert_uint_eq(m.macs, HOSTILE_IN * HOSTILE_HID + HOSTILE_HID * HOSTILE_OUT);
	ck_assert_int_eq(m.input_zp, -5);
	ck_assert_int_eq(m.output_zp, 3);
	ck_assert_uint_eq(m.head, MCAI_HEAD_ARGMAX);
	ck_assert_uint_eq(m.tv_count, HOSTILE_TV);
	ck_assert_ptr_eq(m.tv, blob + get32(blob + H(tv_off)));
	ck_assert_ptr_eq(m.digest, blob + size - 32);
	memcpy(&f, &m.input_scale, 4);
	ck_assert(f == 1.0f / 32);
	mcai_sha256(blob, size - 32, digest);
	ck_assert_mem_eq(digest, m.digest, 32);

	/* Every array points inside the data section. */
	data_off = get32(blob + H(data_off));
	data_end = data_off + get32(blob + H(data_size));
	for (i = 0; i < m.n_layers; i++) {
		const struct mcai_layer *l = &m.layer[i];
		const u8 *lo = blob + data_off, *hi = blob + data_end;

		if (l->type == MCAI_LAYER_LUT) {
			ck_assert((const u8 *)l->lut >= lo && (const u8 *)l->lut + 256 <= hi);
			continue;
		}
		ck_assert((const u8 *)l->weights >= lo &&
			  (const u8 *)l->weights + l->in_len * l->out_len <= hi);
		ck_assert(l->bias >= lo && l->bias + 4 * l->out_len <= hi);
		ck_assert(l->mult >= lo && l->mult + 4 * l->out_len <= hi);
		ck_assert(l->shift >= lo && l->shift + 4 * l->out_len <= hi);
	}
	ck_assert_uint_eq(m.layer[0].type, MCAI_LAYER_FC);
	ck_assert_uint_eq(m.layer[0].activation, MCAI_ACT_RELU);
	ck_assert_uint_eq(m.layer[1].type, MCAI_LAYER_LUT);
	ck_assert_uint_eq(m.layer[1].activation, MCAI_ACT_SIGMOID);
	ck_assert_int_eq(m.layer[1].in_zp, -128);
	ck_assert_uint_eq(m.layer[2].out_len, HOSTILE_OUT);
	free(blob);
}
END_TEST

/* Each hostile variant: refused, with its reason, offset inside the blob. */
START_TEST(hostile_variant_refused)
{
	const struct hostile *h = &hv[_i];
	struct mcai_limits lim;
	char reason[MCAI_REASON_LEN];
	u32 off = 0xdeadbeef;
	u8 *copy = malloc(h->size);

	mcai_limits_default(&lim);
	memcpy(copy, h->blob, h->size);
	ck_assert_msg(hostile_check(h->blob, h->size, &lim, reason,
				    sizeof(reason), &off) == -1,
		      "%s: accepted", h->name);
	ck_assert_msg(!strcmp(reason, h->reason), "%s: reason \"%s\", want \"%s\"",
		      h->name, reason, h->reason);
	ck_assert_msg(off < h->size || off == 0, "%s: offset %u past size %u",
		      h->name, off, h->size);
	/* The reason fits struct mcai_model_load.reason unabridged. */
	ck_assert_uint_lt(strlen(h->reason), MCAI_REASON_LEN);
	/* The verifier only reads. */
	ck_assert_mem_eq(copy, h->blob, h->size);
	free(copy);
}
END_TEST

/*
 * The variants are sealed unless their point is the digest or the length,
 * and they really differ from the base.
 */
START_TEST(hostile_list_sane)
{
	u32 size, i;
	u8 *base = hostile_base(&size), digest[32];
	int k, j, sealed = 0;

	ck_assert_int_ge(hn, 100);
	for (k = 0; k < hn; k++) {
		const struct hostile *h = &hv[k];
		int integrity = !strcmp(h->reason, "SHA-256 digest mismatch") ||
				!strcmp(h->reason, "blob shorter than header and digest") ||
				!strcmp(h->reason, "total_size does not match the blob length");

		for (i = 0; h->name[i]; i++)
			ck_assert_msg((h->name[i] >= 'a' && h->name[i] <= 'z') ||
				      (h->name[i] >= '0' && h->name[i] <= '9') ||
				      h->name[i] == '-', "name %s", h->name);
		ck_assert_str_ne(h->name, "valid");
		ck_assert_str_ne(h->name, "manifest");
		for (j = 0; j < k; j++)
			ck_assert_str_ne(h->name, hv[j].name);
		ck_assert_msg(h->size != size || memcmp(h->blob, base, size),
			      "%s is the base blob", h->name);
		if (!integrity) {
			mcai_sha256(h->blob, h->size - 32, digest);
			ck_assert_msg(!memcmp(digest, h->blob + h->size - 32, 32),
				      "%s not re-sealed", h->name);
			ck_assert_uint_eq(get32(h->blob + H(total_size)), h->size);
			sealed++;
		}
	}
	ck_assert_int_ge(sealed, 90);
	free(base);
}
END_TEST

/* Where the verifier says the fault is, for a sample of variants. */
START_TEST(fault_offsets)
{
	static const struct {
		const char *name;
		u32 off;	/* for the base: layer table at 128, data at 320 */
	} cases[] = {
		{ "bad-magic", 0 },
		{ "bad-version", 4 },
		{ "bad-header-size", 6 },
		{ "total-size-small", 12 },
		{ "unknown-flags", 8 },
		{ "name-slash", 16 + 3 },
		{ "name-padding", 16 + 12 },
		{ "layers-17", 52 },
		{ "reserved-header-0", 100 },
		{ "layer-type-unknown", 128 + 2 * 64 },
		{ "layer-in-65537", 128 + 64 + 4 },
		{ "zp-chain", 128 + 2 * 64 + 12 },
		{ "fc-activation-sigmoid", 128 + 2 },
		{ "weights-off-huge", 128 + 16 },
		{ "bias-misaligned", 128 + 20 },
		{ "mult-off-huge", 128 + 128 + 24 },
		{ "tv-off-huge", 68 },
		{ "arena-too-small", 84 },
		{ "weight-minus-128", 320 + 448 + 5 },
		{ "mult-int-min", 320 + 128 + 12 },
		{ "shift-31", 320 + 160 + 4 },
		{ "tv-wrong-score", 320 + 528 + 16 },
		{ "tv-wrong-last", 320 + 528 + 48 },
	};
	struct mcai_limits lim;
	char reason[MCAI_REASON_LEN];
	unsigned int k;
	u32 off;

	mcai_limits_default(&lim);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct hostile *h = find(cases[k].name);

		hostile_check(h->blob, h->size, &lim, reason, sizeof(reason), &off);
		ck_assert_msg(off == cases[k].off, "%s: offset %u, want %u",
			      h->name, off, cases[k].off);
	}
	/* A digest mismatch points at the digest. */
	off = 0;
	hostile_check(find("bad-digest")->blob, find("bad-digest")->size, &lim,
		      reason, sizeof(reason), &off);
	ck_assert_uint_eq(off, find("bad-digest")->size - 32);
}
END_TEST

START_TEST(limits)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	u32 size;
	u8 *blob = hostile_base(&size);

	mcai_limits_default(&lim);
	lim.max_blob_size = size - 1;
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), -1);
	ck_assert_str_eq(v.reason, "blob larger than max_blob_size");
	lim.max_blob_size = size;
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), 0);

	lim.max_layers = 2;
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), -1);
	ck_assert_str_eq(v.reason, "layer count out of range");
	lim.max_layers = 3;
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), 0);

	lim.max_dim = HOSTILE_IN - 1;
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), -1);
	ck_assert_str_eq(v.reason, "input_len out of range");
	lim.max_dim = HOSTILE_HID - 1;	/* the input fits, a layer does not */
	put32(blob + H(input_len), HOSTILE_HID - 1);
	put32(blob + 128 + LF(in_len), HOSTILE_HID - 1);
	unit_seal(blob, size);
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), -1);
	ck_assert_str_eq(v.reason, "layer output width out of range");
	free(blob);

	blob = hostile_base(&size);
	mcai_limits_default(&lim);
	lim.max_arena = 2 * HOSTILE_HID - 1;
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), -1);
	ck_assert_str_eq(v.reason, "arena_size above max_arena");
	/* A header arena bigger than needed is fine; m.arena_size is exact. */
	mcai_limits_default(&lim);
	put32(blob + H(arena_size), 4096);
	unit_seal(blob, size);
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), 0);
	ck_assert_uint_eq(m.arena_size, 2 * HOSTILE_HID);
	free(blob);

	ck_assert_int_eq(mcai_verify(&m, NULL, 0, &lim, &v), -1);
	ck_assert_str_eq(v.reason, "blob shorter than header and digest");
}
END_TEST

/*
 * in_len * out_len = 65536 * 65536 = 2^32 is 0 in 32 bits: with the
 * format's widest limit the dimensions pass and the weights must be
 * refused for their real size.
 */
START_TEST(weights_size_wraps_32_bits)
{
	const struct hostile *h = find("fc-dims-mul-wrap");
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;

	unit_limits_wide(&lim);
	ck_assert_int_eq(mcai_verify(&m, h->blob, h->size, &lim, &v), -1);
	ck_assert_str_eq(v.reason, "weights out of bounds");
	ck_assert_uint_eq(v.offset, 128 + LF(weights_off));
}
END_TEST

/* Wide limits do not change the reasons that do not depend on them. */
START_TEST(hostile_under_wide_limits)
{
	static const char *const same[] = {
		"layers-mul-wrap", "tv-count-mul-wrap", "data-end-wrap",
		"layer-off-huge", "tv-off-huge", "weights-off-huge",
		"layer-in-huge", "input-len-huge", "arrays-share-bytes",
		"weight-minus-128", "tv-wrong-score", "layer-type-unknown",
	};
	struct mcai_limits lim;
	char reason[MCAI_REASON_LEN];
	unsigned int k;
	u32 off;

	unit_limits_wide(&lim);
	for (k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
		const struct hostile *h = find(same[k]);

		ck_assert_int_eq(hostile_check(h->blob, h->size, &lim, reason,
					       sizeof(reason), &off), -1);
		ck_assert_msg(!strcmp(reason, h->reason), "%s: \"%s\"", h->name,
			      reason);
	}
	/* 65537 is above even the format's own ceiling. */
	lim.max_dim = MCAI_MAX_DIM;
	ck_assert_int_eq(hostile_check(find("input-len-65537")->blob,
				       find("input-len-65537")->size, &lim,
				       reason, sizeof(reason), &off), -1);
	ck_assert_str_eq(reason, "input_len out of range");
}
END_TEST

/* Every truncation of the base is refused, and never read past its end. */
START_TEST(every_truncation)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	u32 size, n;
	u8 *base = hostile_base(&size);

	mcai_limits_default(&lim);
	for (n = 0; n < size; n++) {
		u8 *cut = malloc(n ? n : 1);

		memcpy(cut, base, n);
		ck_assert_int_eq(mcai_verify(&m, cut, n, &lim, &v), -1);
		ck_assert_ptr_nonnull(v.reason);
		/* And the same length claimed and re-sealed. */
		if (n >= 160) {
			put32(cut + H(total_size), n);
			unit_seal(cut, n);
			ck_assert_int_eq(mcai_verify(&m, cut, n, &lim, &v), -1);
			ck_assert_str_ne(v.reason, "SHA-256 digest mismatch");
		}
		free(cut);
	}
	free(base);
}
END_TEST

/* Flipping any single byte of the sealed part breaks the digest. */
START_TEST(every_byte_flip)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	u32 size, i;
	u8 *blob = hostile_base(&size);

	mcai_limits_default(&lim);
	for (i = 16; i < size; i++) {	/* 0..15: magic .. total_size */
		blob[i] ^= 0x01;
		ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), -1);
		ck_assert_str_eq(v.reason, "SHA-256 digest mismatch");
		blob[i] ^= 0x01;
	}
	ck_assert_int_eq(mcai_verify(&m, blob, size, &lim, &v), 0);
	free(blob);
}
END_TEST

Suite *verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *ok = tcase_create("valid");
	TCase *bad = tcase_create("hostile");
	TCase *misc = tcase_create("misc");
	struct hostile *tmp;
	int n = hostile_build(&tmp);

	hostile_free(tmp, n);
	tcase_add_test(ok, valid_blob_decodes);
	tcase_add_test(ok, limits);
	suite_add_tcase(s, ok);
	tcase_add_checked_fixture(bad, hostile_setup, hostile_teardown);
	tcase_add_loop_test(bad, hostile_variant_refused, 0, n > 0 ? n : 1);
	tcase_add_test(bad, hostile_list_sane);
	tcase_add_test(bad, fault_offsets);
	tcase_add_test(bad, weights_size_wraps_32_bits);
	tcase_add_test(bad, hostile_under_wide_limits);
	suite_add_tcase(s, bad);
	tcase_set_timeout(misc, 30);
	tcase_add_test(misc, every_truncation);
	tcase_add_test(misc, every_byte_flip);
	suite_add_tcase(s, misc);
	return s;
}
