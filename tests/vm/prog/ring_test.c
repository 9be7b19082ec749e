// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the zero-copy sessions and the scheduler (kmod/session.c,
 * kmod/sched.c), from user space through the raw ABI, checked against the
 * user-space engine built from the same sources as the module.
 *
 *   ring_test basic [BLOB]        N samples in, N results out, bit-exact,
 *                                 in order, seq numbers, counters; BLOB
 *                                 (e.g. models/fmnist-mlp.mcai) as well
 *   ring_test hostile             bad creates, mmaps, corrupted indices,
 *                                 writes to the read-only region
 *   ring_test kill                processes killed / fds closed mid-stream
 *   ring_test many N              N sessions opened and closed
 *   ring_test memcap MB           session_mem_mb=MB: refused past it
 *                                 (on ring-c, loaded before)
 *   ring_test producers P SECS    P processes streaming at once
 *   ring_test counters P SECS     P processes: the counters never lag the
 *                                 records (read each time res_tail moves)
 *   ring_test swap SECS           streams checked per version under swaps
 *                                 and priority flips
 *   ring_test energy              LOW shed over budget, HIGH not; deadlines
 *   ring_test pipeline            a session on an ensemble pipeline
 *   ring_test hold SECS           keep a session open (for rmmod tests)
 *   ring_test load NAME VER       load the test model NAME at VER
 *   ring_test push NAME N         load NAME at version 1, stream exactly N
 *                                 samples through a session, bit-exact
 *
 * Models are deterministic functions of (name, version).  Exit 0 pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "models/engine/engine.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"
#include "uapi/mcai.h"

#define DEV "/dev/mcai"
#define IN_LEN 64
#define HID_LEN 32
#define OUT_LEN 8
#define MAX_VER 512
/*
 * A result overdue this long means a stalled session.  Only a bound on a
 * test that would otherwise hang: generous, since a loaded 2-core host
 * can hold the guest up for seconds.
 */
#define STALL_MS 60000

static int failures;
static const char *prog = "ring_test";

static void fail(int line, const char *fmt, ...)
{
	va_list ap;

	failures++;
	fprintf(stderr, "%s[%d]: FAIL line %d: ", prog, getpid(), line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CHECK(cond, ...) do {				\
	if (!(cond))					\
		fail(__LINE__, __VA_ARGS__);		\
} while (0)

#define EXPECT_ERR(call, e) do {					\
	long r_;							\
	errno = 0;							\
	r_ = (long)(call);						\
	if (r_ != -1 || errno != (e))					\
		fail(__LINE__, "%s: got %ld (%s), want %s", #call, r_,	\
		     strerror(errno), strerror(e));			\
} while (0)

#define EXPECT_OK(call) do {						\
	long r_;							\
	errno = 0;							\
	r_ = (long)(call);						\
	if (r_ != 0)							\
		fail(__LINE__, "%s: got %ld (%s)", #call, r_,		\
		     strerror(errno));					\
} while (0)

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static u32 rnd(u32 *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static s8 rnd8(u32 *s)
{
	return (s8)(rnd(s) % 255 - 127);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- models ----------------------------------------------------------- */

struct tmodel {
	u8 *blob;
	u32 size;
	struct mcai_model m;
	u8 arena[65536];
};

/* FC 64->32 ReLU, FC 32->8: 2304 MACs, from (name, version). */
static struct tmodel *tmodel_make(const char *name, u32 version)
{
	static s8 w0[HID_LEN * IN_LEN], w1[OUT_LEN * HID_LEN];
	static s32 b0[HID_LEN], m0[HID_LEN], sh0[HID_LEN];
	static s32 b1[OUT_LEN], m1[OUT_LEN], sh1[OUT_LEN];
	struct tmodel *t = calloc(1, sizeof(*t));
	struct mcai_blob_spec s;
	struct mcai_limits lim;
	struct mcai_verdict v;
	u32 seed = version * 2654435761u, i;
	char err[160];
	const char *c;

	if (!t)
		die("calloc");
	for (c = name; *c; c++)
		seed = seed * 31 + (u8)*c;
	for (i = 0; i < sizeof(w0); i++)
		w0[i] = rnd8(&seed);
	for (i = 0; i < sizeof(w1); i++)
		w1[i] = rnd8(&seed);
	for (i = 0; i < HID_LEN; i++) {
		b0[i] = (s32)(rnd(&seed) % 2001) - 1000;
		m0[i] = (s32)((1u << 30) + rnd(&seed) % (1u << 29));
		sh0[i] = -10;
	}
	for (i = 0; i < OUT_LEN; i++) {
		b1[i] = (s32)(rnd(&seed) % 2001) - 1000;
		m1[i] = (s32)((1u << 30) + rnd(&seed) % (1u << 29));
		sh1[i] = -8;
	}
	memset(&s, 0, sizeof(s));
	s.name = name;
	s.version = version;
	s.head = MCAI_HEAD_ARGMAX;
	s.input_scale = 1.0f / 64;
	s.output_scale = 1.0f / 16;
	s.n_layers = 2;
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_RELU,
		.in_zp = 0, .out_zp = -128, .clamp_min = -128, .clamp_max = 127,
		.in_len = IN_LEN, .out_len = HID_LEN,
		.weights = w0, .bias = b0, .mult = m0, .shift = sh0,
	};
	s.layer[1] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_NONE,
		.in_zp = -128, .out_zp = 0, .clamp_min = -128, .clamp_max = 127,
		.in_len = HID_LEN, .out_len = OUT_LEN,
		.weights = w1, .bias = b1, .mult = m1, .shift = sh1,
	};
	t->blob = mcai_blob_write(&s, &t->size, err, sizeof(err));
	if (!t->blob) {
		fprintf(stderr, "%s: mcai_blob_write: %s\n", prog, err);
		exit(1);
	}
	mcai_limits_default(&lim);
	if (mcai_verify(&t->m, t->blob, t->size, &lim, &v)) {
		fprintf(stderr, "%s: own blob rejected: %s\n", prog, v.reason);
		exit(1);
	}
	return t;
}

static struct tmodel *tmodel_file(const char *path)
{
	struct tmodel *t = calloc(1, sizeof(*t));
	struct mcai_limits lim;
	struct mcai_verdict v;
	char err[200];

	if (!t)
		die("calloc");
	t->blob = mcai_blob_read(path, 1 << 24, &t->size, err, sizeof(err));
	if (!t->blob) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(1);
	}
	mcai_limits_default(&lim);
	if (mcai_verify(&t->m, t->blob, t->size, &lim, &v) ||
	    t->m.arena_size > sizeof(t->arena)) {
		fprintf(stderr, "%s: %s rejected\n", prog, path);
		exit(1);
	}
	return t;
}

static int dev_open(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open " DEV);
	return fd;
}

static void set_name(char *dst, const char *name)
{
	memset(dst, 0, MCAI_NAME_LEN);
	strncpy(dst, name, MCAI_NAME_LEN - 1);
}

/* Load; returns the model id or 0.  EEXIST counts as loaded. */
static u32 load(const struct tmodel *t)
{
	struct mcai_model_load l = {
		.size = sizeof(l),
		.blob_ptr = (uintptr_t)t->blob,
		.blob_size = t->size,
	};
	int fd = dev_open(), r;

	r = ioctl(fd, MCAI_IOC_MODEL_LOAD, &l);
	close(fd);
	if (r && errno != EEXIST)
		return 0;
	return l.model_id;
}

static int unload_name(const char *name)
{
	struct mcai_model_unload u = { .size = sizeof(u) };
	int fd = dev_open(), r;

	set_name(u.ref.name, name);
	r = ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u);
	close(fd);
	return r;
}

static int set_policy(const char *name, u32 prio, u32 deadline_us,
		      u64 budget_uj, u32 pj)
{
	struct mcai_model_policy p = {
		.size = sizeof(p), .priority = prio, .deadline_us = deadline_us,
		.energy_budget_uj = budget_uj, .pj_per_mac = pj,
	};
	int fd = dev_open(), r;

	set_name(p.ref.name, name);
	r = ioctl(fd, MCAI_IOC_MODEL_POLICY, &p);
	close(fd);
	return r;
}

/* ---- rings ------------------------------------------------------------ */

struct ring {
	int fd;
	struct mcai_session_create sc;
	u8 *um, *km;
	struct mcai_user_ctl *uc;
	struct mcai_kernel_ctl *kc;
	u32 tail, rhead;	/* our indices */
};

static int ring_create(struct ring *r, const char *name, u32 flags,
		       u32 in_slots, u32 res_slots)
{
	memset(r, 0, sizeof(*r));
	r->fd = dev_open();
	r->sc.size = sizeof(r->sc);
	r->sc.flags = flags;
	set_name(r->sc.ref.name, name);
	r->sc.in_slots = in_slots;
	r->sc.res_slots = res_slots;
	if (ioctl(r->fd, MCAI_IOC_SESSION_CREATE, &r->sc)) {
		int e = errno;

		close(r->fd);
		errno = e;
		return -1;
	}
	return 0;
}

static void ring_map(struct ring *r)
{
	r->um = mmap(NULL, r->sc.user_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, r->sc.user_off);
	if (r->um == MAP_FAILED)
		die("mmap user");
	r->km = mmap(NULL, r->sc.kernel_len, PROT_READ, MAP_SHARED, r->fd,
		     r->sc.kernel_off);
	if (r->km == MAP_FAILED)
		die("mmap kernel");
	r->uc = (void *)r->um;
	r->kc = (void *)r->km;
}

static void ring_open(struct ring *r, const char *name, u32 flags,
		      u32 in_slots, u32 res_slots)
{
	if (ring_create(r, name, flags, in_slots, res_slots))
		die("SESSION_CREATE");
	ring_map(r);
}

static void ring_close(struct ring *r)
{
	munmap(r->um, r->sc.user_len);
	munmap(r->km, r->sc.kernel_len);
	close(r->fd);
}

static void kick(struct ring *r, int use_write)
{
	u64 one = 1;

	if (use_write) {
		if (write(r->fd, &one, 8) != 8)
			fail(__LINE__, "doorbell write: %s", strerror(errno));
	} else if (ioctl(r->fd, MCAI_IOC_SESSION_KICK)) {
		fail(__LINE__, "KICK: %s", strerror(errno));
	}
}

static s8 *in_slot(struct ring *r, u32 i)
{
	return (s8 *)(r->um + 4096 + (size_t)(i & (r->sc.in_slots - 1)) *
		      r->sc.slot_size);
}

static const struct mcai_result *res_rec(struct ring *r, u32 i)
{
	return (const void *)(r->km + 4096 + (size_t)(i & (r->sc.res_slots - 1)) *
			      r->sc.res_size);
}

/* Sample number @seq of stream @salt. */
static void gen(u32 salt, u64 seq, s8 *buf, u32 len)
{
	u32 s = salt * 977u + (u32)seq * 2654435761u + 1, i;

	for (i = 0; i < len; i++)
		buf[i] = (s8)rnd(&s);
}

/* How a result is checked: against the engine of the version it names. */
struct check {
	struct tmodel *model[MAX_VER];	/* by version (generated models) */
	struct tmodel *fixed;		/* or one model from a file */
	const char *name;
	u32 model_id;
	u32 salt;
	u32 last_version;
	u64 n_shed, n_miss;
};

static struct tmodel *check_model(struct check *c, u32 ver)
{
	if (c->fixed)
		return c->fixed->m.version == ver ? c->fixed : NULL;
	if (!ver || ver >= MAX_VER)
		return NULL;
	if (!c->model[ver])
		c->model[ver] = tmodel_make(c->name, ver);
	return c->model[ver];
}

static void check_result(struct check *c, struct ring *r,
			 const struct mcai_result *res, u64 want_seq)
{
	s8 in[4096], sc[256];
	struct tmodel *t;
	int cls;

	CHECK(res->seq == want_seq, "seq %llu, want %llu",
	      (unsigned long long)res->seq, (unsigned long long)want_seq);
	CHECK(res->model_id == c->model_id, "model_id %u, want %u",
	      res->model_id, c->model_id);
	CHECK(res->version >= c->last_version, "version went back %u -> %u",
	      c->last_version, res->version);
	c->last_version = res->version;
	if (res->flags & MCAI_RES_DEADLINE_MISS)
		c->n_miss++;
	if (res->flags & MCAI_RES_SHED) {
		c->n_shed++;
		CHECK(res->n_scores == 0 && res->class_id == -1,
		      "shed result with scores");
		return;
	}
	CHECK(!(res->flags & ~MCAI_RES_DEADLINE_MISS), "flags 0x%x",
	      res->flags);
	t = check_model(c, res->version);
	if (!t) {
		fail(__LINE__, "result from unknown version %u", res->version);
		return;
	}
	gen(c->salt, res->seq, in, r->sc.input_len);
	cls = mcai_engine_run(&t->m, in, sc, t->arena);
	CHECK(res->n_scores == t->m.output_len, "n_scores %u", res->n_scores);
	CHECK(res->class_id == cls, "seq %llu v%u: class %d, engine %d",
	      (unsigned long long)res->seq, res->version, res->class_id, cls);
	CHECK(!memcmp(res->scores, sc, t->m.output_len),
	      "seq %llu v%u: scores differ from the engine",
	      (unsigned long long)res->seq, res->version);
}

/*
 * Stream @n samples through @r (fresh indices) and check every result.
 * Returns the number of results read.
 */
static u64 stream(struct ring *r, struct check *c, u64 n, int use_write)
{
	u64 sent = 0, got = 0;
	int stalls = 0;

	while (got < n) {
		u32 head = __atomic_load_n(&r->kc->in_head, __ATOMIC_ACQUIRE);
		u32 rtail;
		struct pollfd p = { .fd = r->fd, .events = POLLIN };

		while (sent < n && r->tail - head < r->sc.in_slots) {
			gen(c->salt, sent, in_slot(r, r->tail), r->sc.input_len);
			r->tail++;
			sent++;
		}
		__atomic_store_n(&r->uc->in_tail, r->tail, __ATOMIC_RELEASE);
		kick(r, use_write && (sent & 1));
		if (poll(&p, 1, STALL_MS / 4) <= 0) {
			if (++stalls > 3) {
				fail(__LINE__, "stalled: sent %llu got %llu",
				     (unsigned long long)sent,
				     (unsigned long long)got);
				return got;
			}
			continue;
		}
		rtail = __atomic_load_n(&r->kc->res_tail, __ATOMIC_ACQUIRE);
		while (r->rhead != rtail) {
			check_result(c, r, res_rec(r, r->rhead), got);
			got++;
			r->rhead++;
		}
		__atomic_store_n(&r->uc->res_head, r->rhead, __ATOMIC_RELEASE);
	}
	return got;
}

static void check_counters(struct ring *r, u64 n, const char *what)
{
	struct mcai_kernel_ctl k;

	memcpy(&k, r->kc, sizeof(k));
	CHECK(k.submitted == n, "%s: submitted %llu, want %llu", what,
	      (unsigned long long)k.submitted, (unsigned long long)n);
	CHECK(k.submitted == k.completed + k.dropped + k.shed,
	      "%s: submitted %llu != completed %llu + dropped %llu + shed %llu",
	      what, (unsigned long long)k.submitted,
	      (unsigned long long)k.completed, (unsigned long long)k.dropped,
	      (unsigned long long)k.shed);
	CHECK(k.in_head == (u32)n && k.res_tail == (u32)n,
	      "%s: in_head %u res_tail %u", what, k.in_head, k.res_tail);
}

/* ---- tests ------------------------------------------------------------ */

/* Exactly @n samples through a session on @name (telemetry counts). */
static void t_push(const char *name, u64 n)
{
	struct check c = { .name = name, .salt = 1 };
	struct ring r;

	c.model_id = load(tmodel_make(name, 1));
	CHECK(c.model_id, "load %s", name);
	if (!c.model_id)
		return;
	ring_open(&r, name, 0, 0, 0);
	CHECK(stream(&r, &c, n, 1) == n, "results missing");
	check_counters(&r, n, "push");
	ring_close(&r);
	printf("ring push: %llu samples through %s\n", (unsigned long long)n,
	       name);
}

static void t_basic(const char *blob_path)
{
	struct check c = { .name = "ring-a", .salt = 1 };
	struct ring r;
	double t0;
	u64 n = 4000;

	c.model_id = load(tmodel_make("ring-a", 1));
	CHECK(c.model_id, "load ring-a");
	/* small rings: wrap many times, and back-pressure on results */
	ring_open(&r, "ring-a", 0, 64, 16);
	CHECK(r.sc.input_len == IN_LEN && r.sc.output_len == OUT_LEN,
	      "geometry %u/%u", r.sc.input_len, r.sc.output_len);
	CHECK(r.sc.slot_size == 64 && r.sc.res_size == 64,
	      "slot_size %u res_size %u", r.sc.slot_size, r.sc.res_size);
	CHECK(r.sc.user_len == 4096 + 4096 && r.sc.kernel_len == 4096 + 4096,
	      "lengths %llu %llu", (unsigned long long)r.sc.user_len,
	      (unsigned long long)r.sc.kernel_len);
	t0 = now_s();
	CHECK(stream(&r, &c, n, 1) == n, "results missing");
	check_counters(&r, n, "basic");
	CHECK(c.n_shed == 0 && r.kc->shed == 0, "shed without a budget");
	printf("ring basic: %llu samples bit-exact in %.2f s\n",
	       (unsigned long long)n, now_s() - t0);
	/* a second stream continues the sequence numbers */
	{
		struct pollfd p = { .fd = r.fd, .events = POLLIN };

		CHECK(poll(&p, 1, 0) == 0, "POLLIN with nothing pending");
	}
	ring_close(&r);

	if (blob_path) {
		struct check f = { .salt = 7 };
		u64 m = 600;

		f.fixed = tmodel_file(blob_path);
		f.model_id = load(f.fixed);
		CHECK(f.model_id, "load %s", blob_path);
		ring_open(&r, f.fixed->m.name, 0, 0, 0);
		CHECK(r.sc.input_len == f.fixed->m.input_len &&
		      r.sc.slot_size == ((f.fixed->m.input_len + 63) & ~63u),
		      "fmnist geometry");
		t0 = now_s();
		CHECK(stream(&r, &f, m, 0) == m, "results missing");
		check_counters(&r, m, "blob");
		printf("ring %s: %llu samples bit-exact in %.2f s\n",
		       f.fixed->m.name, (unsigned long long)m, now_s() - t0);
		ring_close(&r);
		CHECK(!unload_name(f.fixed->m.name), "unload");
	}
	CHECK(!unload_name("ring-a"), "unload ring-a");
}

static int child_segv(void *addr)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork");
	if (!pid) {
		*(volatile u32 *)addr = 0xdeadbeef;
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

/* Wait until the kernel has consumed and answered everything accepted. */
static void drain(struct ring *r)
{
	struct mcai_kernel_ctl *k = r->kc;
	double end = now_s() + STALL_MS / 1000.0;

	do {
		u32 rt = __atomic_load_n(&k->res_tail, __ATOMIC_ACQUIRE);

		/*
		 * Consume whatever is there, bogus or not, and kick with no
		 * new input (each kick on a bogus tail accepts another ring).
		 */
		__atomic_store_n(&r->uc->res_head, rt, __ATOMIC_RELEASE);
		__atomic_store_n(&r->uc->in_tail,
				 __atomic_load_n(&k->in_head, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
		kick(r, 0);
		usleep(10000);
		if (k->submitted == k->completed + k->dropped + k->shed &&
		    __atomic_load_n(&k->res_tail, __ATOMIC_ACQUIRE) == rt)
			return;
	} while (now_s() < end);
	fail(__LINE__, "session not drained after %d s: submitted %llu completed %llu dropped %llu shed %llu",
	     STALL_MS / 1000, (unsigned long long)k->submitted,
	     (unsigned long long)k->completed, (unsigned long long)k->dropped,
	     (unsigned long long)k->shed);
}

static void t_hostile(void)
{
	struct check c = { .name = "ring-h", .salt = 3 };
	struct mcai_session_create sc;
	struct ring r, r2;
	u32 i, seed = 12345;
	void *p;
	int fd;
	u64 one = 1;

	c.model_id = load(tmodel_make("ring-h", 1));
	CHECK(c.model_id, "load ring-h");

	/* creation errors */
	fd = dev_open();
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_KICK), EINVAL);
	EXPECT_ERR(write(fd, &one, 8), EINVAL);
	EXPECT_ERR(mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0), EINVAL);
	memset(&sc, 0, sizeof(sc));
	sc.size = sizeof(sc);
	set_name(sc.ref.name, "ring-h");
	sc.flags = 0x80;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EINVAL);
	sc.flags = 0;
	sc.in_slots = 3;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EINVAL);
	sc.in_slots = 8192;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EINVAL);
	sc.in_slots = 0;
	sc.res_slots = 6;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EINVAL);
	sc.res_slots = 0;
	sc.ref.pad = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EINVAL);
	sc.ref.pad = 0;
	set_name(sc.ref.name, "no-such-model");
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), ENOENT);
	sc.flags = MCAI_SESSION_PIPELINE;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), ENOENT);
	sc.flags = 0;
	sc.size = 8;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EINVAL);
	sc.size = sizeof(sc);
	set_name(sc.ref.name, "ring-h");
	EXPECT_OK(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc));
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EBUSY);
	EXPECT_ERR(write(fd, &one, 4), EINVAL);
	close(fd);

	/* mmap errors */
	ring_open(&r, "ring-h", 0, 16, 16);
	EXPECT_ERR(mmap(NULL, r.sc.user_len + 4096, PROT_READ | PROT_WRITE,
			MAP_SHARED, r.fd, r.sc.user_off), EINVAL);
	EXPECT_ERR(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd,
			r.sc.user_off), EINVAL);
	EXPECT_ERR(mmap(NULL, r.sc.user_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE, r.fd, r.sc.user_off), EINVAL);
	EXPECT_ERR(mmap(NULL, r.sc.user_len, PROT_READ, MAP_PRIVATE, r.fd,
			r.sc.user_off), EINVAL);
	EXPECT_ERR(mmap(NULL, r.sc.kernel_len, PROT_READ | PROT_WRITE,
			MAP_SHARED, r.fd, r.sc.kernel_off), EPERM);
	EXPECT_ERR(mmap(NULL, r.sc.kernel_len - 4096, PROT_READ, MAP_SHARED,
			r.fd, r.sc.kernel_off), EINVAL);
	EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, r.fd, 4096), EINVAL);
	EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, r.fd,
			r.sc.kernel_off + 4096), EINVAL);
	EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, r.fd, 1ull << 40),
		   EINVAL);
	/* the kernel region stays read-only */
	EXPECT_ERR(mprotect(r.km, r.sc.kernel_len, PROT_READ | PROT_WRITE),
		   EACCES);
	CHECK(child_segv(&r.kc->in_head), "write to kernel ctl did not fault");
	CHECK(child_segv(r.km + 4096), "write to result ring did not fault");
	p = mremap(r.km, r.sc.kernel_len, r.sc.kernel_len + 4096, 0);
	CHECK(p == MAP_FAILED, "mremap grew the kernel region");

	/* it still works after all that */
	CHECK(stream(&r, &c, 100, 0) == 100, "stream after mmap abuse");
	check_counters(&r, 100, "after mmap abuse");

	/* tail far ahead: clamped to in_slots, counted */
	__atomic_store_n(&r.uc->in_tail, r.tail + 1000000, __ATOMIC_RELEASE);
	kick(&r, 0);
	drain(&r);
	CHECK(r.kc->overruns >= 1, "overrun not counted (ahead)");
	CHECK(r.kc->submitted == 100 + 16, "ahead: submitted %llu, want 116",
	      (unsigned long long)r.kc->submitted);
	/* tail behind the head */
	__atomic_store_n(&r.uc->in_tail, r.kc->in_head - 5, __ATOMIC_RELEASE);
	kick(&r, 0);
	drain(&r);
	CHECK(r.kc->overruns >= 2, "overrun not counted (behind)");
	/* res_head beyond res_tail: the session stalls, nothing breaks */
	__atomic_store_n(&r.uc->in_tail, r.kc->in_head + 4, __ATOMIC_RELEASE);
	__atomic_store_n(&r.uc->res_head, r.kc->res_tail + 100,
			 __ATOMIC_RELEASE);
	kick(&r, 0);
	usleep(50000);
	/* random garbage, with kicks */
	for (i = 0; i < 2000; i++) {
		__atomic_store_n(&r.uc->in_tail, rnd(&seed) * 977u,
				 __ATOMIC_RELEASE);
		if (i & 1)
			__atomic_store_n(&r.uc->res_head, rnd(&seed) * 131u,
					 __ATOMIC_RELEASE);
		kick(&r, i & 2);
		in_slot(&r, i)[i % IN_LEN] = (s8)i;
	}
	drain(&r);
	{
		struct mcai_kernel_ctl *k = r.kc;

		CHECK(k->submitted == k->completed + k->dropped + k->shed,
		      "garbage: counters do not add up");
		CHECK(k->overruns > 100, "garbage: overruns %llu",
		      (unsigned long long)k->overruns);
		printf("ring hostile: submitted %llu completed %llu overruns %llu\n",
		       (unsigned long long)k->submitted,
		       (unsigned long long)k->completed,
		       (unsigned long long)k->overruns);
	}
	ring_close(&r);

	/* unload under traffic: the rest is dropped, class -1, no scores */
	CHECK(load(tmodel_make("ring-u", 1)), "load ring-u");
	ring_open(&r2, "ring-u", 0, 256, 256);
	for (i = 0; i < 256; i++)
		gen(9, i, in_slot(&r2, i), IN_LEN);
	__atomic_store_n(&r2.uc->in_tail, 256, __ATOMIC_RELEASE);
	kick(&r2, 0);
	CHECK(!unload_name("ring-u"), "unload ring-u under traffic");
	drain(&r2);
	{
		struct mcai_kernel_ctl *k = r2.kc;
		u32 bad = 0;

		for (i = 0; i < k->res_tail; i++) {
			const struct mcai_result *res = res_rec(&r2, i);

			if (res->class_id == -1)
				bad += res->n_scores != 0 || res->version != 0;
		}
		CHECK(k->submitted == 256 && k->completed + k->dropped == 256 &&
		      k->res_tail == 256 && !bad,
		      "unload under traffic: submitted %llu completed %llu dropped %llu",
		      (unsigned long long)k->submitted,
		      (unsigned long long)k->completed,
		      (unsigned long long)k->dropped);
		printf("ring unload under traffic: completed %llu dropped %llu\n",
		       (unsigned long long)k->completed,
		       (unsigned long long)k->dropped);
	}
	ring_close(&r2);

	/* a fresh session on the same model is unaffected */
	ring_open(&r2, "ring-h", 0, 0, 0);
	CHECK(stream(&r2, &c, 300, 1) == 300, "fresh session after abuse");
	check_counters(&r2, 300, "fresh");
	ring_close(&r2);
	CHECK(!unload_name("ring-h"), "unload ring-h");
}

/* A child that streams forever. */
static void streamer(const char *name, u32 salt, int close_midway)
{
	struct ring r;
	u64 n;

	ring_open(&r, name, 0, 256, 64);
	for (n = 0;; n++) {
		u32 i;

		for (i = 0; i < 200; i++)
			gen(salt, i, in_slot(&r, r.tail + i), IN_LEN);
		r.tail += 200;
		__atomic_store_n(&r.uc->in_tail, r.tail, __ATOMIC_RELEASE);
		kick(&r, 0);
		if (close_midway && n == 3) {
			/* pending work, then the fd and mappings go away */
			ring_close(&r);
			_exit(0);
		}
		usleep(1000);
		__atomic_store_n(&r.uc->res_head,
				 __atomic_load_n(&r.kc->res_tail, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
		r.tail = __atomic_load_n(&r.kc->in_head, __ATOMIC_ACQUIRE) +
			 (r.tail - __atomic_load_n(&r.kc->in_head,
						   __ATOMIC_ACQUIRE)) % 56;
	}
}

static void t_kill(void)
{
	struct check c = { .name = "ring-k", .salt = 5 };
	struct ring r;
	pid_t pids[8];
	int i, st;

	c.model_id = load(tmodel_make("ring-k", 1));
	CHECK(c.model_id, "load ring-k");
	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (!pids[i])
			streamer("ring-k", i, i & 1);
	}
	usleep(800000);
	for (i = 0; i < 8; i++) {
		if (!(i & 1))
			kill(pids[i], SIGKILL);
		waitpid(pids[i], &st, 0);
		if (i & 1)
			CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "closer %d", i);
		else
			CHECK(WIFSIGNALED(st), "streamer %d not killed", i);
	}
	ring_open(&r, "ring-k", 0, 0, 0);
	CHECK(stream(&r, &c, 200, 0) == 200, "stream after kills");
	ring_close(&r);
	CHECK(!unload_name("ring-k"), "unload ring-k");
	printf("ring kill: 4 killed, 4 closed mid-stream\n");
}

static void t_many(u32 n)
{
	struct ring r;
	u32 i;

	CHECK(load(tmodel_make("ring-m", 1)), "load ring-m");
	for (i = 0; i < n; i++) {
		ring_open(&r, "ring-m", 0, 1u << (i % 8), 1u << (i % 5));
		if (i % 3 == 0) {
			/* leave work pending at close */
			__atomic_store_n(&r.uc->in_tail, 1u << (i % 8),
					 __ATOMIC_RELEASE);
			kick(&r, 0);
		}
		if (i % 7 == 0)
			close(r.fd);	/* mappings outlive the fd */
		munmap(r.um, r.sc.user_len);
		munmap(r.km, r.sc.kernel_len);
		if (i % 7)
			close(r.fd);
	}
	CHECK(!unload_name("ring-m"), "unload ring-m");
	printf("ring many: %u sessions opened and closed\n", n);
}

/*
 * With the module loaded at session_mem_mb=MB: sessions of 4096 slots
 * each are created until one is refused with ENOSPC; what they hold
 * (rings, scratch, bookkeeping: GET_INFO's user_mem_used) adds up to at
 * most the bound an unprivileged user has (three quarters of MB, or
 * user_mem_mb if lower: GET_INFO) and the next would have passed it; the
 * memory comes back when a session's file is released (its mappings are
 * gone).  The model ring-c is loaded (ring_test load ring-c 1): this
 * needs no privilege.
 */
static void t_memcap(u32 mb)
{
	struct mcai_info info = { .size = sizeof(info) };
	struct ring r[64];
	u64 held = 0, one, bound, used0;
	u32 n = 0, i;
	int fd = dev_open();

	if (ioctl(fd, MCAI_IOC_GET_INFO, &info) || info.size < sizeof(info))
		die("GET_INFO: no accounting");
	CHECK(info.mem_limit == (u64)mb << 20, "mem_limit %llu, want %u MiB",
	      (unsigned long long)info.mem_limit, mb);
	bound = info.mem_unpriv_limit < info.user_mem_limit ?
		info.mem_unpriv_limit : info.user_mem_limit;
	used0 = info.user_mem_used;
	while (n < 64) {
		if (ring_create(&r[n], "ring-c", 0, 4096, 4096)) {
			CHECK(errno == ENOSPC, "create %u: %s, want ENOSPC", n,
			      strerror(errno));
			break;
		}
		n++;
	}
	if (ioctl(fd, MCAI_IOC_GET_INFO, &info))
		die("GET_INFO");
	held = info.user_mem_used - used0;
	one = n ? held / n : 0;
	CHECK(n >= 2 && n < 64, "%u sessions before the refusal", n);
	CHECK(one >= r[0].sc.user_len + r[0].sc.kernel_len,
	      "%llu bytes charged per session, its rings are %llu",
	      (unsigned long long)one,
	      (unsigned long long)(r[0].sc.user_len + r[0].sc.kernel_len));
	CHECK(held <= bound && held + one > bound,
	      "%llu bytes held, %llu per session, bound %llu",
	      (unsigned long long)held, (unsigned long long)one,
	      (unsigned long long)bound);
	close(fd);
	if (n) {
		close(r[--n].fd);
		CHECK(!ring_create(&r[n], "ring-c", 0, 4096, 4096),
		      "create after a release: %s", strerror(errno));
		n++;
	}
	for (i = 0; i < n; i++)
		close(r[i].fd);
	printf("ring memcap: %u sessions of %llu bytes under %llu bytes (session_mem_mb %u), the next refused with ENOSPC\n",
	       n, (unsigned long long)one, (unsigned long long)bound, mb);
}

static void t_producers(int np, double secs)
{
	pid_t pids[16];
	int i, st;

	CHECK(load(tmodel_make("ring-p", 1)), "load ring-p");
	for (i = 0; i < np; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (!pids[i]) {
			struct check c = { .name = "ring-p", .salt = 100 + i };
			struct ring r;
			double end = now_s() + secs;
			u64 total = 0;

			ring_open(&r, "ring-p", 0, 32, 32);
			c.model_id = r.sc.ref.model_id;
			while (now_s() < end && !failures) {
				/* fresh check state per chunk: seq continues */
				u64 got = 0, want = total + 500;
				u32 head, rt;

				while (total + got < want && !failures) {
					struct pollfd p = { .fd = r.fd, .events = POLLIN };
					u64 sent = r.tail;

					head = __atomic_load_n(&r.kc->in_head, __ATOMIC_ACQUIRE);
					while (sent < want && r.tail - head < r.sc.in_slots) {
						gen(c.salt, r.tail, in_slot(&r, r.tail), IN_LEN);
						r.tail++;
						sent++;
					}
					__atomic_store_n(&r.uc->in_tail, r.tail, __ATOMIC_RELEASE);
					kick(&r, 1);
					if (poll(&p, 1, STALL_MS) <= 0) {
						fail(__LINE__, "producer %d stalled", i);
						break;
					}
					rt = __atomic_load_n(&r.kc->res_tail, __ATOMIC_ACQUIRE);
					while (r.rhead != rt) {
						check_result(&c, &r, res_rec(&r, r.rhead),
							     r.rhead);
						r.rhead++;
						got++;
					}
					__atomic_store_n(&r.uc->res_head, r.rhead, __ATOMIC_RELEASE);
				}
				total += got;
			}
			check_counters(&r, total, "producer");
			printf("ring producer %d: %llu samples\n", i,
			       (unsigned long long)total);
			ring_close(&r);
			_exit(failures ? 1 : 0);
		}
	}
	for (i = 0; i < np; i++) {
		waitpid(pids[i], &st, 0);
		CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "producer %d failed", i);
	}
	CHECK(!unload_name("ring-p"), "unload ring-p");
}

/*
 * The counters never lag the records they count (uapi: submitted =
 * completed + dropped + shed + queued): whoever load-acquires res_tail
 * must find completed + dropped + shed >= res_tail at once, not only when
 * the session is idle.  Each of @np processes keeps a 256-slot ring full
 * (passes of several chunks) and spins on res_tail, reading the counters
 * each time it moves; a worker that published the records before their
 * counters is caught between two chunks, or before the end of its pass.
 * Every result is checked bit-exact too, and the counters exactly at the
 * end.
 */
static void t_counters(int np, double secs)
{
	pid_t pids[16];
	int i, st;

	CHECK(load(tmodel_make("ring-k", 1)), "load ring-k");
	for (i = 0; i < np; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (!pids[i]) {
			struct check c = { .name = "ring-k", .salt = 300 + i };
			struct mcai_kernel_ctl k;
			struct ring r;
			double end = now_s() + secs, idle = now_s();
			u64 looks = 0, lags = 0;
			u32 spins = 0;

			ring_open(&r, "ring-k", 0, 256, 256);
			c.model_id = r.sc.ref.model_id;
			while (now_s() < end && lags < 10) {
				u32 head = __atomic_load_n(&r.kc->in_head,
							   __ATOMIC_ACQUIRE);
				u32 rt, before = r.tail;
				u64 counted;

				while (r.tail - head < r.sc.in_slots) {
					gen(c.salt, r.tail, in_slot(&r, r.tail),
					    IN_LEN);
					r.tail++;
				}
				if (r.tail != before) {
					__atomic_store_n(&r.uc->in_tail, r.tail,
							 __ATOMIC_RELEASE);
					kick(&r, r.tail & 1);
				}
				rt = __atomic_load_n(&r.kc->res_tail,
						     __ATOMIC_ACQUIRE);
				if (rt == r.rhead) {
					struct pollfd p = { .fd = r.fd,
							    .events = POLLIN };

					/* spin a while, then sleep in poll() */
					if (++spins < 20000)
						continue;
					spins = 0;
					if (poll(&p, 1, 1000) <= 0 &&
					    now_s() - idle > STALL_MS / 1000) {
						fail(__LINE__, "stalled at %u", rt);
						break;
					}
					continue;
				}
				/* right after the acquire: the records' counters */
				memcpy(&k, r.kc, sizeof(k));
				counted = k.completed + k.dropped + k.shed;
				looks++;
				if (counted < rt || k.submitted < rt) {
					lags++;
					fail(__LINE__,
					     "res_tail %u but submitted %llu, completed %llu + dropped %llu + shed %llu = %llu",
					     rt, (unsigned long long)k.submitted,
					     (unsigned long long)k.completed,
					     (unsigned long long)k.dropped,
					     (unsigned long long)k.shed,
					     (unsigned long long)counted);
				}
				while (r.rhead != rt) {
					check_result(&c, &r, res_rec(&r, r.rhead),
						     r.rhead);
					r.rhead++;
				}
				__atomic_store_n(&r.uc->res_head, r.rhead,
						 __ATOMIC_RELEASE);
				/* the result ring had no room: wake the worker */
				kick(&r, 0);
				idle = now_s();
				spins = 0;
			}
			/* drain what is in flight, then the exact counters */
			while (!lags && r.rhead != r.tail) {
				struct pollfd p = { .fd = r.fd, .events = POLLIN };
				u32 rt;

				if (poll(&p, 1, STALL_MS) <= 0) {
					fail(__LINE__, "stalled draining at %u of %u",
					     r.rhead, r.tail);
					break;
				}
				rt = __atomic_load_n(&r.kc->res_tail,
						     __ATOMIC_ACQUIRE);
				while (r.rhead != rt) {
					check_result(&c, &r, res_rec(&r, r.rhead),
						     r.rhead);
					r.rhead++;
				}
				__atomic_store_n(&r.uc->res_head, r.rhead,
						 __ATOMIC_RELEASE);
				kick(&r, 0);
			}
			if (!failures)
				check_counters(&r, r.tail, "counters");
			CHECK(looks > 0, "no result seen");
			printf("ring counters %d: %u samples, res_tail read %llu times, %llu behind their counters\n",
			       i, r.tail, (unsigned long long)looks,
			       (unsigned long long)lags);
			ring_close(&r);
			_exit(failures ? 1 : 0);
		}
	}
	for (i = 0; i < np; i++) {
		waitpid(pids[i], &st, 0);
		CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "process %d failed", i);
	}
	unload_name("ring-k");
}

static void t_swap(double secs)
{
	pid_t pids[2], swapper;
	int i, st;
	u32 ver = 1;

	CHECK(load(tmodel_make("ring-s", 1)), "load ring-s");
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (!pids[i]) {
			struct check c = { .name = "ring-s", .salt = 200 + i };
			struct ring r;
			double end = now_s() + secs;
			u64 n = 0;

			ring_open(&r, "ring-s", 0, 64, 64);
			c.model_id = r.sc.ref.model_id;
			/*
			 * One long stream, in chunks of 300 results, past
			 * @secs until it has seen a swap: a loaded machine
			 * may start the swapper late.
			 */
			while ((now_s() < end || c.last_version <= 1) &&
			       now_s() < end + STALL_MS / 1000.0 && !failures) {
				u64 base = n;
				struct ring *rp = &r;
				u64 got = 0;

				while (got < 300 && !failures) {
					struct pollfd p = { .fd = rp->fd, .events = POLLIN };
					u32 head = __atomic_load_n(&rp->kc->in_head, __ATOMIC_ACQUIRE);
					u32 rt;

					while (rp->tail - (u32)base < 300 &&
					       rp->tail - head < rp->sc.in_slots) {
						gen(c.salt, rp->tail, in_slot(rp, rp->tail), IN_LEN);
						rp->tail++;
					}
					__atomic_store_n(&rp->uc->in_tail, rp->tail, __ATOMIC_RELEASE);
					kick(rp, 0);
					if (poll(&p, 1, STALL_MS) <= 0) {
						fail(__LINE__, "swap stream stalled");
						break;
					}
					rt = __atomic_load_n(&rp->kc->res_tail, __ATOMIC_ACQUIRE);
					while (rp->rhead != rt) {
						check_result(&c, rp, res_rec(rp, rp->rhead), rp->rhead);
						rp->rhead++;
						got++;
					}
					__atomic_store_n(&rp->uc->res_head, rp->rhead, __ATOMIC_RELEASE);
				}
				n += got;
			}
			check_counters(&r, n, "swap");
			printf("ring swap stream %d: %llu results, last version %u\n",
			       i, (unsigned long long)n, c.last_version);
			CHECK(c.last_version > 1, "no swap seen by the stream");
			ring_close(&r);
			_exit(failures ? 1 : 0);
		}
	}
	swapper = fork();
	if (!swapper) {
		double end = now_s() + secs - 0.5;

		unsigned int flips = 0, k;

		/* at least one swap, however late this starts */
		while ((now_s() < end || ver == 1) && ver < MAX_VER - 1) {
			struct tmodel *t = tmodel_make("ring-s", ++ver);

			if (!load(t))
				fail(__LINE__, "swap to v%u", ver);
			free(t->blob);
			free(t);
			/*
			 * Priority flips move the sessions' worker between
			 * the normal and the high-priority workqueue while
			 * it streams: passes must never overlap.
			 */
			for (k = 0; k < 10; k++, flips++) {
				if (set_policy("ring-s", flips & 1 ?
					       MCAI_PRIO_HIGH : MCAI_PRIO_NORMAL,
					       0, 0, 0))
					fail(__LINE__, "priority flip");
				usleep(5000);
			}
		}
		printf("ring swap: %u versions, %u priority flips\n", ver, flips);
		_exit(failures ? 1 : 0);
	}
	for (i = 0; i < 2; i++) {
		waitpid(pids[i], &st, 0);
		CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "stream %d failed", i);
	}
	waitpid(swapper, &st, 0);
	CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "swapper failed");
	CHECK(!unload_name("ring-s"), "unload ring-s");
}

static void t_energy(void)
{
	struct check lo = { .name = "ring-lo", .salt = 300 };
	struct check hi = { .name = "ring-hi", .salt = 301 };
	struct check dl = { .name = "ring-dl", .salt = 302 };
	struct mcai_model_stats st = { .size = sizeof(st) };
	struct ring rl, rh, rd;
	u64 n = 3000;
	int fd;

	lo.model_id = load(tmodel_make("ring-lo", 1));
	hi.model_id = load(tmodel_make("ring-hi", 1));
	dl.model_id = load(tmodel_make("ring-dl", 1));
	CHECK(lo.model_id && hi.model_id && dl.model_id, "load");
	/* 2304 MACs * 100 pJ = 0.2304 µJ per inference; budget 20 µJ/s */
	EXPECT_OK(set_policy("ring-lo", MCAI_PRIO_LOW, 0, 20, 100));
	EXPECT_OK(set_policy("ring-hi", MCAI_PRIO_HIGH, 0, 20, 100));
	EXPECT_ERR(set_policy("ring-lo", 3, 0, 0, 0), EINVAL);
	EXPECT_ERR(set_policy("no-such", 0, 0, 0, 0), ENOENT);
	/* 1 µs deadline: every result misses it under emulation */
	EXPECT_OK(set_policy("ring-dl", MCAI_PRIO_NORMAL, 1, 0, 0));

	ring_open(&rl, "ring-lo", 0, 0, 0);
	ring_open(&rh, "ring-hi", 0, 0, 0);
	ring_open(&rd, "ring-dl", 0, 0, 0);
	CHECK(stream(&rl, &lo, n, 0) == n, "low stream");
	CHECK(stream(&rh, &hi, n, 0) == n, "high stream");
	CHECK(stream(&rd, &dl, 200, 0) == 200, "deadline stream");
	check_counters(&rl, n, "low");
	check_counters(&rh, n, "high");
	check_counters(&rd, 200, "deadline");
	CHECK(lo.n_shed > 0 && lo.n_shed == rl.kc->shed,
	      "low: %llu shed results, counter %llu",
	      (unsigned long long)lo.n_shed, (unsigned long long)rl.kc->shed);
	CHECK(rl.kc->completed > 0, "low: nothing ran (the burst should)");
	CHECK(hi.n_shed == 0 && rh.kc->shed == 0, "high priority shed");
	CHECK(dl.n_miss == 200 && rd.kc->deadline_misses == 200,
	      "deadline: %llu flagged, counter %llu",
	      (unsigned long long)dl.n_miss,
	      (unsigned long long)rd.kc->deadline_misses);
	printf("ring energy: low completed %llu shed %llu; high completed %llu shed %llu; misses %llu\n",
	       (unsigned long long)rl.kc->completed,
	       (unsigned long long)rl.kc->shed,
	       (unsigned long long)rh.kc->completed,
	       (unsigned long long)rh.kc->shed,
	       (unsigned long long)rd.kc->deadline_misses);
	/* the per-model counters, where MODEL_STATS reports them */
	fd = dev_open();
	set_name(st.ref.name, "ring-lo");
	if (!ioctl(fd, MCAI_IOC_MODEL_STATS, &st))
		printf("ring energy: MODEL_STATS shed %llu energy_uj %llu\n",
		       (unsigned long long)st.shed,
		       (unsigned long long)st.energy_uj);
	close(fd);
	ring_close(&rl);
	ring_close(&rh);
	ring_close(&rd);
	/* unprivileged: refused */
	if (!fork()) {
		if (setresuid(65534, 65534, 65534))
			_exit(2);
		errno = 0;
		_exit(set_policy("ring-lo", 0, 0, 0, 0) == -1 &&
		      errno == EPERM ? 0 : 1);
	} else {
		int s;

		wait(&s);
		CHECK(WIFEXITED(s) && !WEXITSTATUS(s),
		      "unprivileged MODEL_POLICY not refused");
	}
	CHECK(!unload_name("ring-lo") && !unload_name("ring-hi") &&
	      !unload_name("ring-dl"), "unload");
}

/* A session on an ensemble: each result equals the synchronous path's. */
static void t_pipeline(void)
{
	struct mcai_pipeline_create pc = { .size = sizeof(pc) };
	struct ring r;
	u32 a, b, i, got = 0;
	int fd;

	a = load(tmodel_make("ring-e1", 1));
	b = load(tmodel_make("ring-e2", 1));
	CHECK(a && b, "load");
	fd = dev_open();
	set_name(pc.name, "ring-ens");
	pc.type = MCAI_PIPE_ENSEMBLE_AVG;
	pc.n_models = 2;
	pc.model_ids[0] = a;
	pc.model_ids[1] = b;
	pc.weights[0] = 256;
	pc.weights[1] = 128;
	pc.escalate_below = 10;
	if (ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &pc)) {
		printf("ring pipeline: PIPELINE_CREATE: %s (skipped)\n",
		       strerror(errno));
		close(fd);
		goto out;
	}
	ring_open(&r, "ring-ens", MCAI_SESSION_PIPELINE, 64, 64);
	for (i = 0; i < 64; i++)
		gen(400, i, in_slot(&r, i), IN_LEN);
	__atomic_store_n(&r.uc->in_tail, 64, __ATOMIC_RELEASE);
	kick(&r, 0);
	while (got < 64) {
		struct pollfd p = { .fd = r.fd, .events = POLLIN };
		u32 rt;

		if (poll(&p, 1, STALL_MS) <= 0) {
			fail(__LINE__, "pipeline session stalled");
			break;
		}
		rt = __atomic_load_n(&r.kc->res_tail, __ATOMIC_ACQUIRE);
		for (; got != rt; got++) {
			const struct mcai_result *res = res_rec(&r, got);
			struct mcai_infer q = { .size = sizeof(q) };
			s8 in[IN_LEN], sc[OUT_LEN];

			gen(400, got, in, IN_LEN);
			q.flags = MCAI_INFER_PIPELINE;
			q.ref.model_id = pc.pipeline_id;
			q.input_ptr = (uintptr_t)in;
			q.input_len = IN_LEN;
			q.scores_ptr = (uintptr_t)sc;
			q.scores_len = OUT_LEN;
			if (ioctl(fd, MCAI_IOC_INFER, &q)) {
				fail(__LINE__, "sync pipeline infer: %s",
				     strerror(errno));
				continue;
			}
			CHECK(res->seq == got, "seq");
			CHECK(res->class_id == q.class_id &&
			      res->flags == q.result_flags &&
			      res->n_scores == q.scores_len &&
			      !memcmp(res->scores, sc, q.scores_len),
			      "pipeline result %u differs from MCAI_IOC_INFER", got);
		}
		__atomic_store_n(&r.uc->res_head, got, __ATOMIC_RELEASE);
	}
	printf("ring pipeline: %u results equal to the synchronous path, escalated %llu\n",
	       got, (unsigned long long)r.kc->escalated);
	ring_close(&r);
	close(fd);
out:
	unload_name("ring-e1");
	unload_name("ring-e2");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "basic")) {
		t_basic(argc > 2 ? argv[2] : NULL);
	} else if (!strcmp(cmd, "hostile")) {
		t_hostile();
	} else if (!strcmp(cmd, "kill")) {
		t_kill();
	} else if (!strcmp(cmd, "many") && argc > 2) {
		t_many(atoi(argv[2]));
	} else if (!strcmp(cmd, "producers") && argc > 3) {
		t_producers(atoi(argv[2]) > 16 ? 16 : atoi(argv[2]),
			    atof(argv[3]));
	} else if (!strcmp(cmd, "counters") && argc > 3) {
		t_counters(atoi(argv[2]) > 16 ? 16 : atoi(argv[2]),
			   atof(argv[3]));
	} else if (!strcmp(cmd, "swap") && argc > 2) {
		t_swap(atof(argv[2]));
	} else if (!strcmp(cmd, "memcap") && argc > 2) {
		t_memcap((u32)atoi(argv[2]));
	} else if (!strcmp(cmd, "energy")) {
		t_energy();
	} else if (!strcmp(cmd, "pipeline")) {
		t_pipeline();
	} else if (!strcmp(cmd, "hold") && argc > 2) {
		struct ring r;

		CHECK(load(tmodel_make("ring-hold", 1)), "load");
		ring_open(&r, "ring-hold", 0, 0, 0);
		printf("holding\n");
		sleep(atoi(argv[2]));
		ring_close(&r);
	} else if (!strcmp(cmd, "push") && argc > 3) {
		t_push(argv[2], strtoull(argv[3], NULL, 10));
	} else if (!strcmp(cmd, "load") && argc > 3) {
		CHECK(load(tmodel_make(argv[2], atoi(argv[3]))), "load");
	} else {
		fprintf(stderr, "usage: see the top of %s\n", __FILE__);
		return 2;
	}
	if (failures)
		fprintf(stderr, "%s %s: %d failures\n", prog, cmd, failures);
	return failures ? 1 : 0;
}
