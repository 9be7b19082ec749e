// SPDX-License-Identifier: GPL-2.0
/*
 * The version registry (runtime/fed/store.c): publish / read / history, the
 * rules a publish must follow, and crash safety: leftovers of a crash
 * between write and rename, a child killed at every step of a publish,
 * and children SIGKILLed at random moments while publishing in a loop.
 * After each, a reopen must find the last completed round intact.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "runtime/fed/store.h"

static char tdir[64];

static void setup(void)
{
	strcpy(tdir, "/tmp/mcai-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	mcai_store_test_hook = NULL;
}

static void teardown(void)
{
	unit_rm_tree(tdir);
}

static struct mcai_store *open_ok(void)
{
	struct mcai_store *s;
	char err[MCAI_STORE_ERR_MAX];
	int ret = mcai_store_open(&s, tdir, err, sizeof(err));

	ck_assert_msg(!ret, "open: %d %s", ret, err);
	return s;
}

/* Deterministic contents for version @v: checked after every crash. */
static float param_of(uint32_t v, uint32_t i)
{
	return (float)v * 1000.0f + (float)i * 0.25f;
}

static uint8_t blob_of(uint32_t v, uint32_t i)
{
	return (uint8_t)(v * 31 + i);
}

struct payload {
	float *params;
	uint8_t *blob;
	uint32_t n_params, blob_len;
};

static void payload_make(struct payload *p, uint32_t v, uint32_t np,
			 uint32_t nb)
{
	uint32_t i;

	p->n_params = np;
	p->blob_len = nb;
	p->params = malloc((size_t)np * sizeof(float) + 1);
	p->blob = malloc(nb + 1);
	for (i = 0; i < np; i++)
		p->params[i] = param_of(v, i);
	for (i = 0; i < nb; i++)
		p->blob[i] = blob_of(v, i);
}

static void payload_free(struct payload *p)
{
	free(p->params);
	free(p->blob);
}

static void info_make(struct mcai_version_info *in, uint32_t v,
		      uint64_t round, const struct payload *p)
{
	memset(in, 0, sizeof(*in));
	strcpy(in->name, "fmnist");
	in->version = v;
	in->parent = v - 1;
	in->round = round;
	strcpy(in->strategy, "fedavg");
	in->participants = v + 3;
	in->n_params = p->n_params;
	in->blob_len = p->blob_len;
	in->accuracy = v == 1 ? -1 : 0.5 + v * 0.01;
	in->loss = 1.0 / v;
}

static int publish(struct mcai_store *s, uint32_t v, uint64_t round,
		   uint32_t np, uint32_t nb)
{
	struct mcai_version_info in;
	struct payload p;
	int err;

	payload_make(&p, v, np, nb);
	info_make(&in, v, round, &p);
	err = mcai_store_publish(s, &in, p.params, p.blob);
	payload_free(&p);
	return err;
}

/* The latest version is whole and holds what was published as it. */
static void check_version(struct mcai_store *s, uint32_t v)
{
	struct mcai_version ver;
	uint32_t i;
	int err = mcai_store_read(s, v, &ver);

	ck_assert_msg(!err, "read v%u: %d %s", v, err, mcai_store_error(s));
	ck_assert_uint_eq(ver.info.version, v);
	ck_assert_uint_eq(ver.info.parent, v - 1);
	ck_assert_str_eq(ver.info.name, "fmnist");
	for (i = 0; i < ver.info.n_params; i++)
		EXPECT(ver.params[i] == param_of(v, i), "v%u param %u", v, i);
	for (i = 0; i < ver.info.blob_len; i++)
		EXPECT(ver.blob[i] == blob_of(v, i), "v%u blob %u", v, i);
	mcai_version_free(&ver);
}

static unsigned int count_tmp(void)
{
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir(tdir);

	while ((de = readdir(d)))
		n += !strncmp(de->d_name, ".tmp-", 5);
	closedir(d);
	return n;
}

static bool exists(const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", tdir, name);
	return !access(p, F_OK);
}

static void write_file(const char *name, const void *data, size_t len)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tdir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

START_TEST(publish_read_history)
{
	struct mcai_store *s = open_ok();
	struct mcai_version_info *h;
	struct mcai_version ver;
	size_t n;

	ck_assert_uint_eq(mcai_store_latest_version(s), 0);
	ck_assert_uint_eq(mcai_store_last_round(s), 0);
	ck_assert_int_eq(mcai_store_read_latest(s, &ver), -ENOENT);
	ck_assert_int_eq(mcai_store_history(s, &h, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(h);

	/* The initial model comes from round 0. */
	ck_assert_int_eq(publish(s, 1, 0, 10, 100), 0);
	ck_assert_int_eq(publish(s, 2, 1, 10, 100), 0);
	ck_assert_int_eq(publish(s, 3, 5, 0, 0), 0);	/* empty is allowed */
	ck_assert_int_eq(publish(s, 4, 6, 1000, 3), 0);
	ck_assert_uint_eq(mcai_store_latest_version(s), 4);
	ck_assert_uint_eq(mcai_store_last_round(s), 6);
	ck_assert_int_eq(mcai_store_read_latest(s, &ver), 0);
	ck_assert_uint_eq(ver.info.n_params, 1000);
	ck_assert_uint_eq(ver.info.round, 6);
	ck_assert_str_eq(ver.info.strategy, "fedavg");
	ck_assert_uint_eq(ver.info.participants, 7);
	ck_assert(fabs(ver.info.accuracy - 0.54) < 1e-9);
	ck_assert(ver.info.created > 1600000000);
	mcai_version_free(&ver);
	mcai_store_close(s);

	/* All of it survives a reopen. */
	s = open_ok();
	ck_assert_uint_eq(mcai_store_recovered(s), 0);
	ck_assert_uint_eq(mcai_store_latest_version(s), 4);
	ck_assert_uint_eq(mcai_store_last_round(s), 6);
	check_version(s, 1);
	check_version(s, 3);
	check_version(s, 4);
	ck_assert_int_eq(mcai_store_history(s, &h, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(h[0].version, 1);
	ck_assert_uint_eq(h[0].round, 0);
	ck_assert(h[0].accuracy == -1);
	ck_assert_uint_eq(h[1].round, 1);
	ck_assert_uint_eq(h[3].version, 4);
	ck_assert_uint_eq(h[3].parent, 3);
	ck_assert_uint_eq(h[3].blob_len, 3);
	free(h);
	ck_assert_int_eq(mcai_store_read(s, 5, &ver), -ENOENT);
	ck_assert_int_eq(mcai_store_read(s, 0, &ver), -ENOENT);
	mcai_store_close(s);
}
END_TEST

START_TEST(publish_rules)
{
	struct mcai_store *s = open_ok();
	struct mcai_version_info in;
	struct payload p;
	float bad = NAN;

	ck_assert_int_eq(publish(s, 2, 1, 1, 1), -EINVAL);
	ck_assert_str_eq(mcai_store_error(s),
			 "version 2 (parent 1) does not follow 0");
	ck_assert_int_eq(publish(s, 1, 1, 1, 1), 0);
	ck_assert_int_eq(publish(s, 2, 1, 1, 1), -EINVAL);
	ck_assert_str_eq(mcai_store_error(s),
			 "round 1 is not after the last completed 1");
	ck_assert_int_eq(publish(s, 2, 0, 1, 1), -EINVAL);
	ck_assert_int_eq(publish(s, 3, 2, 1, 1), -EINVAL);

	payload_make(&p, 2, 4, 4);
	info_make(&in, 2, 2, &p);
	in.parent = 0;
	ck_assert_int_eq(mcai_store_publish(s, &in, p.params, p.blob), -EINVAL);
	info_make(&in, 2, 2, &p);
	strcpy(in.name, "bad name");
	ck_assert_int_eq(mcai_store_publish(s, &in, p.params, p.blob), -EINVAL);
	ck_assert_str_eq(mcai_store_error(s), "bad model name");
	info_make(&in, 2, 2, &p);
	strcpy(in.strategy, "Fed Avg");
	ck_assert_int_eq(mcai_store_publish(s, &in, p.params, p.blob), -EINVAL);
	info_make(&in, 2, 2, &p);
	in.n_params = MCAI_STORE_MAX_PARAMS + 1;
	ck_assert_int_eq(mcai_store_publish(s, &in, p.params, p.blob), -EINVAL);
	info_make(&in, 2, 2, &p);
	ck_assert_int_eq(mcai_store_publish(s, &in, NULL, p.blob), -EINVAL);
	p.params[3] = bad;
	ck_assert_int_eq(mcai_store_publish(s, &in, p.params, p.blob), -EINVAL);
	ck_assert_str_eq(mcai_store_error(s),
			 "non-finite parameter at index 3");
	payload_free(&p);

	/* Nothing of the refused attempts reached the disk. */
	ck_assert(!exists("v00000002.blob"));
	ck_assert_uint_eq(count_tmp(), 0);
	ck_assert_uint_eq(mcai_store_latest_version(s), 1);
	ck_assert_int_eq(publish(s, 2, 2, 4, 4), 0);
	mcai_store_close(s);
}
END_TEST

START_TEST(complete_round)
{
	struct mcai_store *s = open_ok();

	ck_assert_int_eq(publish(s, 1, 0, 3, 3), 0);
	ck_assert_int_eq(mcai_store_complete_round(s, 1), 0);
	ck_assert_int_eq(mcai_store_complete_round(s, 1), -EINVAL);
	ck_assert_int_eq(mcai_store_complete_round(s, 4), 0);
	ck_assert_int_eq(publish(s, 2, 4, 3, 3), -EINVAL);
	mcai_store_close(s);
	s = open_ok();
	ck_assert_uint_eq(mcai_store_last_round(s), 4);
	ck_assert_uint_eq(mcai_store_latest_version(s), 1);
	ck_assert_int_eq(publish(s, 2, 5, 3, 3), 0);
	check_version(s, 2);
	mcai_store_close(s);
}
END_TEST

START_TEST(exclusive)
{
	struct mcai_store *s = open_ok(), *t;
	char err[MCAI_STORE_ERR_MAX];

	ck_assert_int_eq(mcai_store_open(&t, tdir, err, sizeof(err)), -EBUSY);
	ck_assert_msg(strstr(err, "in use by another process"), "%s", err);
	ck_assert_ptr_null(t);
	mcai_store_close(s);
	s = open_ok();
	mcai_store_close(s);
	/* A missing parent is an error, not a silent mkdir -p. */
	ck_assert_int_eq(mcai_store_open(&t, "/nonexistent/a/b", err,
					 sizeof(err)), -ENOENT);
}
END_TEST

/* A crash between write and rename leaves temp files: they vanish. */
START_TEST(stale_temp_files)
{
	struct mcai_store *s = open_ok();
	static const char junk[] = "mcai-registry 1\nround 99\nver";

	ck_assert_int_eq(publish(s, 1, 0, 8, 8), 0);
	ck_assert_int_eq(publish(s, 2, 1, 8, 8), 0);
	mcai_store_close(s);
	write_file(".tmp-state", junk, sizeof(junk) - 1);
	write_file(".tmp-v00000003.blob", "xx", 2);
	write_file(".tmp-v00000003.manifest", "", 0);
	s = open_ok();
	ck_assert_uint_eq(mcai_store_recovered(s), 3);
	ck_assert_uint_eq(count_tmp(), 0);
	ck_assert_uint_eq(mcai_store_last_round(s), 1);
	ck_assert_uint_eq(mcai_store_latest_version(s), 2);
	check_version(s, 2);
	ck_assert_int_eq(publish(s, 3, 2, 8, 8), 0);
	mcai_store_close(s);
}
END_TEST

/* Files of a version the state does not name are a cut-short publish. */
START_TEST(orphan_version)
{
	struct mcai_store *s = open_ok();

	ck_assert_int_eq(publish(s, 1, 0, 8, 8), 0);
	mcai_store_close(s);
	write_file("v00000002.blob", "half", 4);
	write_file("v00000002.params", "", 0);
	write_file("v00000002.manifest", "mcai-manifest 1\n", 16);
	write_file("notes.txt", "kept", 4);	/* not ours: left alone */
	s = open_ok();
	ck_assert_uint_eq(mcai_store_recovered(s), 3);
	ck_assert(!exists("v00000002.blob"));
	ck_assert(!exists("v00000002.manifest"));
	ck_assert(exists("notes.txt"));
	ck_assert_uint_eq(mcai_store_latest_version(s), 1);
	ck_assert_int_eq(publish(s, 2, 1, 8, 8), 0);
	check_version(s, 2);
	mcai_store_close(s);
}
END_TEST

START_TEST(corruption_detected)
{
	struct mcai_store *s = open_ok();
	struct mcai_version ver;
	char err[MCAI_STORE_ERR_MAX], p[256];
	int fd;

	ck_assert_int_eq(publish(s, 1, 0, 64, 64), 0);
	ck_assert_int_eq(publish(s, 2, 1, 64, 64), 0);
	mcai_store_close(s);

	/* One flipped byte in a blob: refused by its digest. */
	snprintf(p, sizeof(p), "%s/v00000002.blob", tdir);
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "\xff", 1, 10), 1);
	close(fd);
	s = open_ok();
	ck_assert_int_eq(mcai_store_read_latest(s, &ver), -EBADMSG);
	ck_assert_str_eq(mcai_store_error(s),
			 "v00000002.blob does not match its manifest");
	ck_assert_ptr_null(ver.blob);
	check_version(s, 1);
	mcai_store_close(s);

	/* Truncated params. */
	snprintf(p, sizeof(p), "%s/v00000001.params", tdir);
	ck_assert_int_eq(truncate(p, 8), 0);
	s = open_ok();
	ck_assert_int_eq(mcai_store_read(s, 1, &ver), -EBADMSG);
	mcai_store_close(s);

	/* A state file that is not one. */
	write_file("state", "mcai-registry 1\nround x\nversion 2\n", 34);
	ck_assert_int_eq(mcai_store_open(&s, tdir, err, sizeof(err)), -EBADMSG);
	ck_assert_str_eq(err, "state file is corrupt");

	/* A state naming a version whose manifest is gone. */
	write_file("state", "mcai-registry 1\nround 1\nversion 2\n", 34);
	snprintf(p, sizeof(p), "%s/v00000002.manifest", tdir);
	unlink(p);
	ck_assert_int_eq(mcai_store_open(&s, tdir, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "state names version 2, which is unreadable"),
		      "%s", err);

	/* A manifest with a bad field. */
	write_file("v00000002.manifest", "mcai-manifest 1\nname a b\n", 25);
	ck_assert_int_eq(mcai_store_open(&s, tdir, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "v00000002.manifest:2: bad name"), "%s", err);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Killed processes                                                       */
/* ---------------------------------------------------------------------- */

static const char *kill_step;

static void kill_at(const char *step)
{
	if (!strcmp(step, kill_step))
		raise(SIGKILL);
}

static const char *const steps[] = {
	"blob-written", "blob-renamed", "params-written", "params-renamed",
	"manifest-written", "manifest-renamed", "state-written",
	"state-renamed",
};

/* A child publishes v3 / round 7 and dies at step _i: before the state's
 * rename the registry is as it was, from it on the round is complete. */
START_TEST(killed_at_each_step)
{
	struct mcai_store *s = open_ok();
	bool done = _i == 7;
	int status;
	pid_t pid;

	ck_assert_int_eq(publish(s, 1, 0, 500, 300), 0);
	ck_assert_int_eq(publish(s, 2, 6, 500, 300), 0);
	mcai_store_close(s);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		s = open_ok();
		kill_step = steps[_i];
		mcai_store_test_hook = kill_at;
		publish(s, 3, 7, 500, 300);
		_exit(3);	/* not reached: killed on the way */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "child at %s: status 0x%x", steps[_i], status);

	s = open_ok();
	ck_assert_uint_eq(count_tmp(), 0);
	ck_assert_uint_eq(mcai_store_last_round(s), done ? 7 : 6);
	ck_assert_uint_eq(mcai_store_latest_version(s), done ? 3 : 2);
	check_version(s, done ? 3 : 2);
	if (!done) {
		ck_assert(!exists("v00000003.blob"));
		ck_assert(!exists("v00000003.manifest"));
	}
	/* And the registry carries on. */
	ck_assert_int_eq(publish(s, done ? 4 : 3, 8, 500, 300), 0);
	check_version(s, done ? 4 : 3);
	mcai_store_close(s);
}
END_TEST

/*
 * A child publishes version after version (round = version) with a few
 * hundred KiB each; SIGKILL lands at a random moment.  Every reopen must
 * find a complete latest version matching the last completed round.
 * The child reports each finished version on a pipe and the parent waits
 * for 0-2 of them before the random delay, so that progress is an event
 * the test waits for, not something a loaded machine may never reach in
 * the delay.
 */
START_TEST(killed_at_random)
{
	uint64_t seed = 0xc0ffee;
	struct mcai_store *s = open_ok();
	uint32_t before, after = 1, v;
	int iter, status, progressed = 0, fds[2];
	pid_t pid;

	ck_assert_int_eq(publish(s, 1, 1, 1000, 100), 0);
	mcai_store_close(s);
	for (iter = 0; iter < 12; iter++) {
		struct timespec ts;

		uint32_t wait_for = iter ? unit_rnd32(&seed) % 3 : 1;
		char c;

		before = after;
		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (!pid) {
			close(fds[0]);
			s = open_ok();
			for (v = mcai_store_latest_version(s) + 1;; v++)
				if (publish(s, v, v, 100000, 5000) ||
				    write(fds[1], "v", 1) != 1)
					_exit(1);
		}
		close(fds[1]);
		while (wait_for--)
			ck_assert_msg(read(fds[0], &c, 1) == 1,
				      "child died before publishing a version");
		close(fds[0]);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(unit_rnd32(&seed) % 60) * 1000000L;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status), "child exited 0x%x", status);

		s = open_ok();
		after = mcai_store_latest_version(s);
		ck_assert_uint_ge(after, before);
		ck_assert_uint_eq(mcai_store_last_round(s), after);
		ck_assert_uint_eq(count_tmp(), 0);
		check_version(s, after);
		progressed += after > before;
		mcai_store_close(s);
	}
	/* Every version in the history is whole too. */
	s = open_ok();
	for (v = 1; v <= after; v++)
		check_version(s, v);
	mcai_store_close(s);
	ck_assert_int_gt(progressed, 0);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("registry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, publish_read_history);
	tcase_add_test(tc, publish_rules);
	tcase_add_test(tc, complete_round);
	tcase_add_test(tc, exclusive);
	tcase_add_test(tc, corruption_detected);
	suite_add_tcase(s, tc);

	tc = tcase_create("crash");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stale_temp_files);
	tcase_add_test(tc, orphan_version);
	tcase_add_loop_test(tc, killed_at_each_step, 0,
			    (int)(sizeof(steps) / sizeof(steps[0])));
	tcase_add_test(tc, killed_at_random);
	suite_add_tcase(s, tc);
	return s;
}
