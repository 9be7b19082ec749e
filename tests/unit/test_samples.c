// SPDX-License-Identifier: GPL-2.0
/*
 * The labelled sample store (runtime/fed/samples.c): append, reopen, labels,
 * torn tails and corrupt records of both files, oldest-first eviction,
 * and the dataset built for the trainer (inverse input quantisation,
 * refused sizes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "runtime/fed/samples.h"

static char sdir[64];

static void setup(void)
{
	strcpy(sdir, "/tmp/mcai-samples-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sdir));
}

static void teardown(void)
{
	unit_rm_tree(sdir);
}

static struct mcai_samples *sopen(const struct mcai_samples_opts *o)
{
	struct mcai_samples *st;
	char err[256] = "";
	int r = mcai_samples_open(&st, sdir, o, err, sizeof(err));

	ck_assert_msg(!r, "open: %d %s", r, err);
	return st;
}

/* Sample @k: @len inputs that depend on k, model 7 version k % 3. */
static void make(u32 k, u32 len, struct mcai_sample_meta *m, s8 *in)
{
	memset(m, 0, sizeof(*m));
	m->timestamp_ns = 1000000000ULL * k;
	m->kernel_seq = k * 2;
	m->model_id = 7;
	m->version = k % 3 + 1;
	m->session_id = 5;
	m->class_id = (s32)(k % 10);
	m->score = -(s32)k;
	m->input_len = len;
	for (u32 i = 0; i < len; i++)
		in[i] = (s8)(k * 31 + i * 7);
}

static u64 append(struct mcai_samples *st, u32 k, u32 len)
{
	struct mcai_sample_meta m;
	s8 in[1024];
	u64 id = 0;

	make(k, len, &m, in);
	ck_assert_int_eq(mcai_samples_append(st, &m, in, &id), 0);
	return id;
}

static void expect_sample(struct mcai_samples *st, u32 i, u32 k, u32 len)
{
	const struct mcai_sample_meta *g = mcai_samples_at(st, i);
	struct mcai_sample_meta m;
	s8 in[1024], got[1024];

	make(k, len, &m, in);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(g->input_len, len);
	ck_assert_uint_eq(g->timestamp_ns, m.timestamp_ns);
	ck_assert_uint_eq(g->kernel_seq, m.kernel_seq);
	ck_assert_uint_eq(g->version, m.version);
	ck_assert_int_eq(g->class_id, m.class_id);
	ck_assert_int_eq(g->score, m.score);
	ck_assert_int_eq(mcai_samples_input(st, i, got, len), 0);
	ck_assert_mem_eq(got, in, len);
}

static off_t file_size(const char *name)
{
	char p[128];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", sdir, name);
	ck_assert_int_eq(stat(p, &sb), 0);
	return sb.st_size;
}

static void poke(const char *name, off_t off, const void *b, size_t n)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", sdir, name);
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, b, n, off), (ssize_t)n);
	close(fd);
}

static void cut(const char *name, off_t size)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", sdir, name);
	ck_assert_int_eq(truncate(p, size), 0);
}

#define SEG0 "seg-0000000000000000.smp"
#define REC(len) (MCAI_SAMPLES_HDR + (len))

START_TEST(append_reopen)
{
	struct mcai_samples *st = sopen(NULL);
	struct mcai_samples_stats s;
	u32 k;

	for (k = 0; k < 50; k++)
		ck_assert_uint_eq(append(st, k, 100 + k), k + 1);
	ck_assert_int_eq(mcai_samples_sync(st), 0);
	mcai_samples_close(st);

	st = sopen(NULL);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_eq(s.samples, 50);
	ck_assert_uint_eq(s.torn + s.corrupt, 0);
	for (k = 0; k < 50; k++)
		expect_sample(st, k, k, 100 + k);
	/* ids go on from the last one */
	ck_assert_uint_eq(append(st, 99, 10), 51);
	ck_assert_ptr_null(mcai_samples_at(st, 51));
	mcai_samples_close(st);
}
END_TEST

START_TEST(labels)
{
	struct mcai_samples *st = sopen(NULL);
	struct mcai_samples_stats s;

	for (u32 k = 0; k < 10; k++)
		append(st, k, 16);
	ck_assert_int_eq(mcai_samples_label(st, 3, 4), 0);
	ck_assert_int_eq(mcai_samples_label(st, 5, 9), 0);
	ck_assert_int_eq(mcai_samples_label(st, 3, 2), 0);	/* last wins */
	ck_assert_int_eq(mcai_samples_label(st, 11, 1), -ENOENT);
	ck_assert_int_eq(mcai_samples_label(st, 0, 1), -ENOENT);
	ck_assert_int_eq(mcai_samples_label(st, 4, 256), -ERANGE);
	mcai_samples_close(st);

	st = sopen(NULL);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_eq(s.labelled, 2);
	ck_assert_int_eq(mcai_samples_at(st, 2)->label, 2);
	ck_assert_int_eq(mcai_samples_at(st, 4)->label, 9);
	ck_assert_int_eq(mcai_samples_at(st, 0)->label, MCAI_SAMPLES_NO_LABEL);
	mcai_samples_close(st);

	/* a torn label record is dropped, the earlier ones stay */
	cut("labels.log", 3 * MCAI_SAMPLES_LABEL_REC - 5);
	st = sopen(NULL);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_eq(s.torn, 1);
	ck_assert_int_eq(mcai_samples_at(st, 2)->label, 4);
	ck_assert_int_eq(mcai_samples_at(st, 4)->label, 9);
	mcai_samples_close(st);
	ck_assert_int_eq(file_size("labels.log"), 2 * MCAI_SAMPLES_LABEL_REC);

	/* a corrupt one is skipped, never misread */
	poke("labels.log", 4, "\x07", 1);
	st = sopen(NULL);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_eq(s.corrupt, 1);
	ck_assert_uint_eq(s.labelled, 1);
	ck_assert_int_eq(mcai_samples_at(st, 2)->label, MCAI_SAMPLES_NO_LABEL);
	ck_assert_int_eq(mcai_samples_at(st, 4)->label, 9);
	mcai_samples_close(st);
}
END_TEST

START_TEST(torn_tail)
{
	struct mcai_samples *st = sopen(NULL);
	struct mcai_samples_stats s;
	u32 cuts[] = { 1, 3, 63, 64, 65, REC(40) - 1 };

	for (u32 k = 0; k < 5; k++)
		append(st, k, 40);
	mcai_samples_close(st);
	for (u32 c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		/* a sixth record, torn after cuts[c] bytes */
		st = sopen(NULL);
		append(st, 5, 40);
		mcai_samples_close(st);
		cut(SEG0, 5 * REC(40) + cuts[c]);

		st = sopen(NULL);
		mcai_samples_get_stats(st, &s);
		ck_assert_msg(s.samples == 5 && s.torn == 1 && !s.corrupt,
			      "cut %u: %llu samples, %llu torn", cuts[c],
			      (unsigned long long)s.samples,
			      (unsigned long long)s.torn);
		for (u32 k = 0; k < 5; k++)
			expect_sample(st, k, k, 40);
		mcai_samples_close(st);
		/* truncated to the whole records, so appends follow them */
		ck_assert_int_eq(file_size(SEG0), 5 * REC(40));
	}
	st = sopen(NULL);
	ck_assert_uint_eq(append(st, 6, 40), 6);
	mcai_samples_close(st);
	st = sopen(NULL);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_eq(s.samples + s.torn + s.corrupt, 6);
	expect_sample(st, 5, 6, 40);
	mcai_samples_close(st);
}
END_TEST

START_TEST(corrupt_record)
{
	struct mcai_samples *st = sopen(NULL);
	struct mcai_samples_stats s;
	u8 x;

	for (u32 k = 0; k < 6; k++)
		append(st, k, 40);
	mcai_samples_close(st);

	/* one input byte of record 2: checksum */
	x = 0x5a;
	poke(SEG0, 2 * REC(40) + MCAI_SAMPLES_HDR + 3, &x, 1);
	/* the length field of record 4: the reader must resynchronise */
	poke(SEG0, 4 * REC(40) + 4, "\xff\x00", 2);
	st = sopen(NULL);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_eq(s.corrupt, 2);
	ck_assert_uint_eq(s.samples, 4);
	expect_sample(st, 0, 0, 40);
	expect_sample(st, 1, 1, 40);
	expect_sample(st, 2, 3, 40);
	expect_sample(st, 3, 5, 40);
	ck_assert_uint_eq(mcai_samples_at(st, 3)->id, 6);
	/* a corrupt sample cannot be labelled */
	ck_assert_int_eq(mcai_samples_label(st, 3, 1), -ENOENT);
	ck_assert_uint_eq(append(st, 9, 40), 7);
	mcai_samples_close(st);

	/* garbage after the last record of the current segment */
	st = sopen(NULL);
	mcai_samples_close(st);
	{
		char junk[80];

		memset(junk, 'g', sizeof(junk));
		memcpy(junk, "SMPL", 4);	/* the magic, then nonsense */
		poke(SEG0, file_size(SEG0), junk, sizeof(junk));
	}
	st = sopen(NULL);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_eq(s.samples, 5);
	ck_assert_uint_eq(s.corrupt, 3);
	ck_assert_uint_eq(append(st, 10, 40), 8);
	mcai_samples_close(st);
	st = sopen(NULL);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_eq(s.samples, 6);
	expect_sample(st, 5, 10, 40);
	mcai_samples_close(st);
}
END_TEST

START_TEST(eviction)
{
	struct mcai_samples_opts o = {
		.max_bytes = 256 << 10, .segment_bytes = 64 << 10,
	};
	struct mcai_samples *st = sopen(&o);
	struct mcai_samples_stats s;
	u32 k, per_seg = (64 << 10) / REC(1000);

	for (k = 0; k < 1000; k++)
		append(st, k, 1000);
	/* label an old sample and a recent one */
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_le(s.bytes, o.max_bytes);
	ck_assert_uint_gt(s.evicted, 0);
	ck_assert_uint_eq(s.samples + s.evicted, 1000);
	ck_assert_uint_ge(s.samples, 3 * per_seg);
	ck_assert_int_eq(mcai_samples_label(st, 1000, 3), 0);
	ck_assert_int_eq(mcai_samples_label(st, s.evicted + 1, 4), 0);
	ck_assert_int_eq(mcai_samples_label(st, s.evicted, 4), -ENOENT);
	/* the oldest go first: what is left is the newest, in order */
	for (u32 i = 0; i < s.samples; i++)
		ck_assert_uint_eq(mcai_samples_at(st, i)->id,
				  s.evicted + 1 + i);
	expect_sample(st, (u32)s.samples - 1, 999, 1000);
	for (; k < 1000 + per_seg * 2; k++)
		append(st, k, 1000);
	mcai_samples_close(st);

	st = sopen(&o);
	mcai_samples_get_stats(st, &s);
	ck_assert_uint_le(s.bytes, o.max_bytes);
	ck_assert_uint_eq(s.labelled, 1);
	ck_assert_uint_eq(mcai_samples_at(st, (u32)s.samples - 1)->id, k);
	mcai_samples_close(st);
}
END_TEST

START_TEST(dataset)
{
	const struct mcai_samples_conv fm = {
		.rows = 28, .cols = 28, .classes = 10,
		.in_scale = 1.0f / 255.0f, .in_zp = -128,
	};
	struct mcai_samples *st = sopen(NULL);
	struct mcai_sample_meta m;
	struct mcai_dataset d;
	char err[256];
	s8 in[784];
	u32 skipped;

	ck_assert_int_eq(mcai_samples_dataset(st, &d, &fm, &skipped, err,
					      sizeof(err)), -ENODATA);
	memset(&m, 0, sizeof(m));
	m.input_len = 784;
	for (u32 k = 0; k < 4; k++) {
		for (u32 i = 0; i < 784; i++)
			in[i] = (s8)(i + k);
		ck_assert_int_eq(mcai_samples_append(st, &m, in, NULL), 0);
	}
	append(st, 1, 100);		/* id 5: another model's size */
	ck_assert_int_eq(mcai_samples_label(st, 1, 7), 0);
	ck_assert_int_eq(mcai_samples_label(st, 3, 0), 0);
	ck_assert_int_eq(mcai_samples_label(st, 4, 12), 0);	/* >= classes */
	ck_assert_int_eq(mcai_samples_label(st, 5, 1), 0);
	ck_assert_int_eq(mcai_samples_dataset(st, &d, &fm, &skipped, err,
					      sizeof(err)), 0);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_uint_eq(skipped, 2);
	ck_assert_uint_eq(d.rows * d.cols, 784);
	ck_assert_uint_eq(d.labels[0], 7);
	ck_assert_uint_eq(d.labels[1], 0);
	/* pixel = q + 128: the exact inverse of mcai-train's quantisation */
	for (u32 i = 0; i < 784; i++) {
		EXPECT(d.images[i] == (u8)((s8)i + 128), "pixel %u", i);
		EXPECT(d.images[784 + i] == (u8)((s8)(i + 2) + 128),
		       "pixel %u of the second", i);
	}
	mcai_samples_dataset_free(&d);
	mcai_samples_close(st);

	/* the node's call: the same conversion */
	ck_assert_int_eq(mcai_samples_node_load(&d, sdir, err, sizeof(err)), 0);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_uint_eq(d.images[5], (u8)(5 + 128));
	mcai_samples_dataset_free(&d);
}
END_TEST

/* The daemon keeps the store open while mcaictl labels and appends. */
START_TEST(shared)
{
	struct mcai_samples_opts o = {
		.max_bytes = 256 << 10, .segment_bytes = 64 << 10,
	};
	struct mcai_samples *a = sopen(&o), *b = sopen(&o);
	struct mcai_samples_stats s;
	u32 k, i;

	for (k = 0; k < 3; k++)
		ck_assert_uint_eq(append(a, k, 40), k + 1);
	for (; k < 5; k++)
		ck_assert_uint_eq(append(b, k, 40), k + 1);	/* after a's */
	/* each labels the other's sample */
	ck_assert_int_eq(mcai_samples_label(a, 5, 1), 0);
	ck_assert_int_eq(mcai_samples_label(b, 2, 3), 0);
	ck_assert_int_eq(mcai_samples_refresh(a), 0);
	ck_assert_int_eq(mcai_samples_refresh(b), 0);
	for (i = 0; i < 5; i++) {
		expect_sample(a, i, i, 40);
		expect_sample(b, i, i, 40);
	}
	ck_assert_int_eq(mcai_samples_at(a, 1)->label, 3);
	ck_assert_int_eq(mcai_samples_at(b, 4)->label, 1);

	/* b compacts labels.log (it replaces the file): a reads it again */
	{
		static u64 ids[1100];
		static u32 cls[1100];
		size_t bad = 0;

		for (i = 0; i < 1100; i++) {
			ids[i] = 3;
			cls[i] = i % 10;
		}
		ids[700] = 6;	/* not a sample: nothing is written */
		ck_assert_int_eq(mcai_samples_label_many(b, ids, cls, 1100,
							 &bad), -ENOENT);
		ck_assert_uint_eq(bad, 700);
		cls[700] = 256;
		ck_assert_int_eq(mcai_samples_label_many(b, ids, cls, 1100,
							 &bad), -ERANGE);
		ck_assert_uint_eq(bad, 700);
		ids[700] = 3;
		cls[700] = 0;
		ck_assert_int_eq(mcai_samples_label_many(b, ids, cls, 1100,
							 NULL), 0);
	}
	ck_assert_int_eq(mcai_samples_label(a, 4, 8), 0);
	ck_assert_int_eq(mcai_samples_refresh(b), 0);
	mcai_samples_get_stats(b, &s);
	ck_assert_uint_eq(s.labelled, 4);
	ck_assert_int_eq(mcai_samples_at(b, 2)->label, 1099 % 10);
	ck_assert_int_eq(mcai_samples_at(b, 3)->label, 8);
	/* compacted once past 2 * 4 + 1024 records: what is left is short */
	ck_assert_int_le(file_size("labels.log"), 100 * MCAI_SAMPLES_LABEL_REC);

	/* a crashed writer's torn tail, seen by a handle already open */
	append(a, 5, 40);
	cut(SEG0, 5 * REC(40) + 30);
	ck_assert_uint_eq(append(b, 5, 40), 6);
	expect_sample(b, 5, 5, 40);
	ck_assert_int_eq(file_size(SEG0), 6 * REC(40));
	/* shorter than a had checked: a checks it again */
	cut(SEG0, 4 * REC(40));
	ck_assert_int_eq(mcai_samples_refresh(a), 0);
	mcai_samples_get_stats(a, &s);
	ck_assert_uint_eq(s.samples, 4);
	ck_assert_uint_eq(append(a, 4, 40), 5);
	expect_sample(a, 4, 4, 40);

	/* a evicts what b has indexed: b forgets it, ids stay unique */
	for (k = 6; k < 400; k++)
		append(a, k, 1000);
	ck_assert_uint_eq(append(b, 400, 40), 400);
	mcai_samples_get_stats(b, &s);
	ck_assert_uint_le(s.bytes, o.max_bytes);
	ck_assert_uint_gt(s.evicted, 0);
	ck_assert_uint_eq(mcai_samples_at(b, (u32)s.samples - 1)->id, 400);
	ck_assert_int_eq(mcai_samples_label(b, 1, 1), -ENOENT);
	expect_sample(b, (u32)s.samples - 2, 399, 1000);
	mcai_samples_close(a);
	mcai_samples_close(b);
}
END_TEST

/* root working on the daemon's store leaves files the daemon can open */
START_TEST(ownership)
{
	struct mcai_samples *st;
	struct stat sb;
	char p[128];

	if (geteuid() != 0)
		return;		/* only root can give files away */
	ck_assert_int_eq(chown(sdir, 65534, 65534), 0);
	st = sopen(NULL);
	append(st, 1, 10);
	ck_assert_int_eq(mcai_samples_label(st, 1, 1), 0);
	mcai_samples_close(st);
	snprintf(p, sizeof(p), "%s/%s", sdir, SEG0);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_uint_eq(sb.st_uid, 65534);
	snprintf(p, sizeof(p), "%s/labels.log", sdir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_uint_eq(sb.st_uid, 65534);
	ck_assert_uint_eq(sb.st_gid, 65534);
}
END_TEST

START_TEST(crc_vector)
{
	/* the CRC-32C check value */
	ck_assert_uint_eq(mcai_crc32c(0, "123456789", 9), 0xe3069283);
}
END_TEST

Suite *samples_suite(void)
{
	Suite *s = suite_create("samples");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, crc_vector);
	tcase_add_test(tc, append_reopen);
	tcase_add_test(tc, labels);
	tcase_add_test(tc, torn_tail);
	tcase_add_test(tc, corrupt_record);
	tcase_add_test(tc, eviction);
	tcase_add_test(tc, dataset);
	tcase_add_test(tc, shared);
	tcase_add_test(tc, ownership);
	suite_add_tcase(s, tc);
	return s;
}
