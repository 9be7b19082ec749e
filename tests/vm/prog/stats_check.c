// SPDX-License-Identifier: GPL-2.0
/*
 * Guest test of the drift statistics (MCAI_IOC_MODEL_STATS): after a known
 * set of inferences, the kernel's per-feature means and variances must be
 * bit-exact with the same Q16.16 formulas computed here with native
 * 128-bit arithmetic, and its class histogram must match the user-space
 * engine's classes.  Also: caps, reset (and its refusal without
 * CAP_SYS_ADMIN), concurrent updaters, version swaps that keep or reset
 * the statistics, error paths.
 *
 *   stats_check          run everything (as root); exit 0 pass, 1 fail
 */
#include <sys/wait.h>

#include "pipe_common.h"

#define IN 24
#define OUT 6
#define N 400

struct acc {
	u64 n;
	s64 s1[MAX_IN];
	u64 s2[MAX_IN];
	u64 hist[MAX_OUT];
};

static int stats(int fd, u32 id, const char *name, u32 flags, s32 *mean,
		 u32 *var, u32 fcap, u64 *hist, u32 ccap,
		 struct mcai_model_stats *out)
{
	struct mcai_model_stats st = {
		.size = sizeof(st), .flags = flags, .ref.model_id = id,
		.mean_ptr = (uintptr_t)mean, .var_ptr = (uintptr_t)var,
		.hist_ptr = (uintptr_t)hist,
		.features_cap = fcap, .classes_cap = ccap,
	};
	int r;

	if (name)
		set_name(st.ref.name, name);
	r = ioctl(fd, MCAI_IOC_MODEL_STATS, &st);
	if (out)
		*out = st;
	return r;
}

/* Inputs cover the extremes: -128 and 127 appear in every feature. */
static void gen_input(u32 *seed, u32 k, s8 *in, u32 len)
{
	u32 j;

	for (j = 0; j < len; j++) {
		if (k % 50 == 0)
			in[j] = -128;
		else if (k % 50 == 1)
			in[j] = 127;
		else
			in[j] = (s8)(rnd(seed) % 200 - 140 + j);  /* skewed */
	}
}

static void run_and_account(int fd, const struct tmodel *t, u32 id,
			    u32 count, u32 seed, struct acc *a)
{
	s8 in[MAX_IN], sc[MAX_OUT];
	struct mcai_infer r;
	u32 k, j;

	for (k = 0; k < count; k++) {
		gen_input(&seed, k, in, t->m.input_len);
		if (infer(fd, 0, id, NULL, in, t->m.input_len, NULL, 0, &r)) {
			fail(__LINE__, "infer: %s", strerror(errno));
			return;
		}
		if (!a)
			continue;
		CHECK(r.class_id == urun(t, in, sc), "class differs");
		a->n++;
		for (j = 0; j < t->m.input_len; j++) {
			a->s1[j] += in[j];
			a->s2[j] += (u64)(in[j] * in[j]);
		}
		a->hist[r.class_id]++;
	}
}

static void compare(int fd, u32 id, const struct acc *a, u32 nf, u32 nc,
		    const char *what)
{
	s32 mean[MAX_IN];
	u32 var[MAX_IN], j, bad = 0;
	u64 hist[MAX_OUT];
	struct mcai_model_stats st;

	if (stats(fd, id, NULL, 0, mean, var, MAX_IN, hist, MAX_OUT, &st)) {
		fail(__LINE__, "%s: MODEL_STATS: %s", what, strerror(errno));
		return;
	}
	CHECK(st.n_features == nf && st.n_classes == nc,
	      "%s: shape %u/%u, want %u/%u", what, st.n_features,
	      st.n_classes, nf, nc);
	CHECK(st.samples == a->n, "%s: samples %llu, want %llu", what,
	      (unsigned long long)st.samples, (unsigned long long)a->n);
	CHECK(!st.shed && !st.deadline_misses && !st.energy_uj,
	      "%s: scheduler counters not 0", what);
	for (j = 0; j < nf && j < MAX_IN; j++)
		if (mean[j] != ref_mean_q16(a->n, a->s1[j]) ||
		    var[j] != ref_var_q16(a->n, a->s1[j], a->s2[j])) {
			if (!bad++)
				fail(__LINE__, "%s: feature %u: mean %d var %u, want %d %u",
				     what, j, mean[j], var[j],
				     ref_mean_q16(a->n, a->s1[j]),
				     ref_var_q16(a->n, a->s1[j], a->s2[j]));
		}
	for (j = 0; j < nc && j < MAX_OUT; j++)
		CHECK(hist[j] == a->hist[j], "%s: hist[%u] %llu, want %llu",
		      what, j, (unsigned long long)hist[j],
		      (unsigned long long)a->hist[j]);
	if (!bad)
		printf("%s: %s: %llu samples, %u features, %u classes bit-exact\n",
		       prog, what, (unsigned long long)a->n, nf, nc);
}

static void test_formulas(void)
{
	/* Floor toward -inf, exact variance: hand-checked values. */
	CHECK(ref_mean_q16(3, -1) == -21846, "floor(-65536/3)");
	CHECK(ref_mean_q16(3, 1) == 21845, "floor(65536/3)");
	CHECK(ref_var_q16(2, 1, 1) == 16384, "var{0,1} = 0.25");
	CHECK(ref_var_q16(2, -256, 32768) == 0, "var{-128,-128} = 0");
}

int main(int argc, char **argv)
{
	static struct acc a, b;
	struct tmodel t1, t1b, t2, th;
	struct mcai_model_stats st;
	s32 mean[MAX_IN + 4];
	u32 var[MAX_IN + 4], id, idth, j;
	u64 hist[MAX_OUT + 2];
	int fd, status;
	pid_t pid[2];

	(void)argc;
	prog = "stats_check";
	(void)argv;
	test_formulas();
	fd = dev_open();

	tmodel_make(&t1, "st_a", 1, IN, OUT, MCAI_HEAD_ARGMAX, 0, 0);
	id = load(fd, &t1);
	if (!id)
		die("load st_a");

	/* Fresh: shape known, nothing counted. */
	memset(&a, 0, sizeof(a));
	compare(fd, id, &a, IN, OUT, "fresh");

	run_and_account(fd, &t1, id, N, 7, &a);
	compare(fd, id, &a, IN, OUT, "sync");

	/* Two concurrent updaters (-smp 2): the lock loses nothing. */
	for (j = 0; j < 2; j++) {
		pid[j] = fork();
		if (pid[j] < 0)
			die("fork");
		if (!pid[j]) {
			int cfd = dev_open();

			run_and_account(cfd, &t1, id, N, 100 + j, NULL);
			_exit(failures ? 1 : 0);
		}
	}
	for (j = 0; j < 2; j++) {
		CHECK(waitpid(pid[j], &status, 0) == pid[j] &&
		      WIFEXITED(status) && !WEXITSTATUS(status), "child %u", j);
	}
	/* What the children did, recomputed here. */
	for (j = 0; j < 2; j++) {
		u32 seed = 100 + j, k, f;
		s8 in[MAX_IN], sc[MAX_OUT];

		for (k = 0; k < N; k++) {
			gen_input(&seed, k, in, IN);
			a.n++;
			for (f = 0; f < IN; f++) {
				a.s1[f] += in[f];
				a.s2[f] += (u64)(in[f] * in[f]);
			}
			a.hist[urun(&t1, in, sc)]++;
		}
	}
	compare(fd, id, &a, IN, OUT, "concurrent");

	/* By name, with small caps: only cap entries written. */
	memset(mean, 0x55, sizeof(mean));
	memset(var, 0x55, sizeof(var));
	memset(hist, 0x55, sizeof(hist));
	EXPECT_OK(stats(fd, 0, "st_a", 0, mean, var, 3, hist, 2, &st));
	CHECK(st.n_features == IN && st.n_classes == OUT && st.samples == a.n,
	      "capped read: %u %u", st.n_features, st.n_classes);
	CHECK(mean[2] == ref_mean_q16(a.n, a.s1[2]) &&
	      mean[3] == 0x55555555 && var[3] == 0x55555555 &&
	      hist[1] == a.hist[1] && hist[2] == 0x5555555555555555ull,
	      "caps not honoured");
	/* Caps 0: null pointers are never touched. */
	EXPECT_OK(stats(fd, id, NULL, 0, NULL, NULL, 0, NULL, 0, &st));
	CHECK(st.samples == a.n, "cap-0 read");

	/* Error paths. */
	EXPECT_ERR(stats(fd, id, NULL, 2, NULL, NULL, 0, NULL, 0, NULL), EINVAL);
	EXPECT_ERR(stats(fd, 0xfffffff0u, NULL, 0, NULL, NULL, 0, NULL, 0, NULL),
		   ENOENT);
	EXPECT_ERR(stats(fd, 0, "nope", 0, NULL, NULL, 0, NULL, 0, NULL), ENOENT);
	EXPECT_ERR(stats(fd, id, NULL, 0, (s32 *)8, var, 4, hist, 1, NULL),
		   EFAULT);
	st = (struct mcai_model_stats){ .size = 8 };
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_STATS, &st), EINVAL);

	/*
	 * Unprivileged, through its own fd: reading works, resetting does
	 * not (an fd opened by root would carry root's right to reset).
	 */
	pid[0] = fork();
	if (pid[0] < 0)
		die("fork");
	if (!pid[0]) {
		int ufd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		ufd = open("/dev/mcai", O_RDWR);
		if (ufd < 0)
			_exit(2);
		EXPECT_OK(stats(ufd, id, NULL, 0, mean, var, IN, hist, OUT,
				&st));
		EXPECT_ERR(stats(ufd, id, NULL, MCAI_STATS_RESET, NULL, NULL, 0,
				 NULL, 0, NULL), EPERM);
		_exit(failures ? 1 : 0);
	}
	CHECK(waitpid(pid[0], &status, 0) == pid[0] && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "unprivileged child");
	compare(fd, id, &a, IN, OUT, "after refused reset");

	/* Reset: the read that resets still returns the old values. */
	EXPECT_OK(stats(fd, id, NULL, MCAI_STATS_RESET, mean, var, IN, hist,
			OUT, &st));
	CHECK(st.samples == a.n && mean[5] == ref_mean_q16(a.n, a.s1[5]),
	      "resetting read");
	memset(&a, 0, sizeof(a));
	compare(fd, id, &a, IN, OUT, "after reset");

	/* A same-shape version swap keeps counting; stats span versions. */
	run_and_account(fd, &t1, id, 60, 9, &a);
	tmodel_make(&t1b, "st_a", 2, IN, OUT, MCAI_HEAD_ARGMAX, 0, 0);
	CHECK(load(fd, &t1b) == id, "swap to v2");
	run_and_account(fd, &t1b, id, 70, 11, &a);
	compare(fd, id, &a, IN, OUT, "across a swap");

	/* A version with another input_len resets to its shape. */
	tmodel_make(&t2, "st_a", 3, IN / 2, OUT - 2, MCAI_HEAD_ARGMAX, 0, 0);
	CHECK(load(fd, &t2) == id, "swap to v3");
	memset(&b, 0, sizeof(b));
	compare(fd, id, &b, IN / 2, OUT - 2, "reset by a new shape");
	run_and_account(fd, &t2, id, 50, 13, &b);
	compare(fd, id, &b, IN / 2, OUT - 2, "new shape");

	/* A threshold head has two classes. */
	tmodel_make(&th, "st_th", 1, 8, 1, MCAI_HEAD_THRESHOLD, 3, 1);
	idth = load(fd, &th);
	CHECK(idth, "load st_th");
	memset(&b, 0, sizeof(b));
	run_and_account(fd, &th, idth, 120, 17, &b);
	compare(fd, idth, &b, 8, 2, "threshold head");
	CHECK(b.hist[0] && b.hist[1], "threshold classes not both seen");

	EXPECT_OK(unload_id(fd, id));
	EXPECT_OK(unload_id(fd, idth));
	EXPECT_ERR(stats(fd, id, NULL, 0, NULL, NULL, 0, NULL, 0, NULL), ENOENT);
	close(fd);
	free(t1.blob);
	free(t1b.blob);
	free(t2.blob);
	free(th.blob);
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", prog, failures);
		return 1;
	}
	printf("%s: all checks passed\n", prog);
	return 0;
}
