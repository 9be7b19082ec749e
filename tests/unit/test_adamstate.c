// SPDX-License-Identifier: GPL-2.0
/*
 * FedAdam's moments beside the registry (runtime/fed/adamstate.c): round trip,
 * the choice between fedadam and fedadam.next by version tag at every
 * point of a publish, and damaged files refused with a reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "runtime/fed/adamstate.h"

#define N 1000

static char tdir[64];
static float m[N], v[N], m2[N], v2[N];
static char err[512];

static void setup(void)
{
	strcpy(tdir, "/tmp/mcai-adam-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	for (int i = 0; i < N; i++) {
		m[i] = (float)i * 0.25f - 100.0f;
		v[i] = (float)i * 1e-3f;
	}
}

static void teardown(void)
{
	unit_rm_tree(tdir);
}

static void save(uint32_t version, float scale, uint64_t steps)
{
	float a[N], b[N];

	for (int i = 0; i < N; i++) {
		a[i] = m[i] * scale;
		b[i] = v[i] * scale;
	}
	ck_assert_int_eq(mcai_adamstate_save(tdir, version, a, b, N, steps,
					     err, sizeof(err)), 0);
}

/* Loads @version and checks it is the one saved with @scale, @steps. */
static void expect(uint32_t version, float scale, uint64_t steps)
{
	uint64_t got = 0;

	ck_assert_int_eq(mcai_adamstate_load(tdir, version, m2, v2, N, &got,
					     err, sizeof(err)), 0);
	ck_assert_uint_eq(got, steps);
	for (int i = 0; i < N; i++) {
		ck_assert_float_eq(m2[i], m[i] * scale);
		ck_assert_float_eq(v2[i], v[i] * scale);
	}
}

START_TEST(round_trip_and_publish_steps)
{
	uint64_t steps;

	/* Nothing saved yet: no moments, not an error. */
	ck_assert_int_eq(mcai_adamstate_load(tdir, 1, m2, v2, N, &steps, err,
					     sizeof(err)), -ENOENT);
	/* Version 2 being published: only .next has it. */
	save(2, 1.0f, 1ULL << 33);
	expect(2, 1.0f, 1ULL << 33);
	/* Crash before the registry recorded 2: version 1 is latest. */
	ck_assert_int_eq(mcai_adamstate_load(tdir, 1, m2, v2, N, &steps, err,
					     sizeof(err)), -ENOENT);
	ck_assert_int_eq(mcai_adamstate_commit(tdir, err, sizeof(err)), 0);
	expect(2, 1.0f, 1ULL << 33);
	/* Version 3 saved, not committed: 2 and 3 are both there. */
	save(3, 2.0f, 7);
	expect(2, 1.0f, 1ULL << 33);
	expect(3, 2.0f, 7);
	ck_assert_int_eq(mcai_adamstate_commit(tdir, err, sizeof(err)), 0);
	expect(3, 2.0f, 7);
	ck_assert_int_eq(mcai_adamstate_load(tdir, 2, m2, v2, N, &steps, err,
					     sizeof(err)), -ENOENT);
	/* Nothing to commit is an error, not a silent success. */
	ck_assert_int_eq(mcai_adamstate_commit(tdir, err, sizeof(err)),
			 -ENOENT);
}
END_TEST

static void damage(const char *name, long off, int truncate_to)
{
	char path[128];
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	if (truncate_to >= 0) {
		ck_assert_int_eq(truncate(path, truncate_to), 0);
		return;
	}
	f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	c = fgetc(f);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	fputc(c ^ 0x40, f);
	fclose(f);
}

START_TEST(damaged_refused)
{
	uint64_t steps;

	save(4, 1.0f, 9);
	ck_assert_int_eq(mcai_adamstate_commit(tdir, err, sizeof(err)), 0);
	damage("fedadam", 32 + 4 * 17, -1);	/* one bit of m[17] */
	ck_assert_int_eq(mcai_adamstate_load(tdir, 4, m2, v2, N, &steps, err,
					     sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "checksum mismatch"));

	save(4, 1.0f, 9);
	ck_assert_int_eq(mcai_adamstate_commit(tdir, err, sizeof(err)), 0);
	damage("fedadam", 0, 100);
	ck_assert_int_eq(mcai_adamstate_load(tdir, 4, m2, v2, N, &steps, err,
					     sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "wrong length"));

	save(4, 1.0f, 9);
	ck_assert_int_eq(mcai_adamstate_commit(tdir, err, sizeof(err)), 0);
	damage("fedadam", 0, 10);
	ck_assert_int_eq(mcai_adamstate_load(tdir, 4, m2, v2, N, &steps, err,
					     sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "truncated header"));

	/* Moments of another model size are not these. */
	save(5, 1.0f, 9);
	ck_assert_int_eq(mcai_adamstate_load(tdir, 5, m2, v2, N - 1, &steps,
					     err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "another model size"));
	/* A damaged current file does not hide a good .next. */
	expect(5, 1.0f, 9);

	ck_assert_int_eq(mcai_adamstate_save(tdir, 6, m, v, 0, 1, err,
					     sizeof(err)), -EINVAL);
}
END_TEST

Suite *adamstate_suite(void)
{
	Suite *s = suite_create("adamstate");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip_and_publish_steps);
	tcase_add_test(tc, damaged_refused);
	suite_add_tcase(s, tc);
	return s;
}
