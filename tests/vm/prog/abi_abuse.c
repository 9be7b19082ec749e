// SPDX-License-Identifier: GPL-2.0
/*
 * Guest test: the /dev/mcai ABI used hostilely by an unprivileged user
 * (tests/vm/guest/21-abi-abuse.sh runs it as nobody), while root hot-swaps
 * a model underneath.  Every abuse must get the documented error of
 * uapi/mcai.h and kmod/ioctl.c, or be clamped and counted, and the module
 * must keep computing exactly what the user-space engine computes.
 *
 *   abi_abuse load NAME VER         root: load the test model NAME at VER
 *   abi_abuse swap NAME FROM TO     root: load FROM..TO under NAME, each
 *                                   after the previous one has served
 *                                   traffic
 *   abi_abuse ref NAME FILE         fixed inputs through MCAI_IOC_INFER,
 *                                   class and scores into FILE (cmp them)
 *   abi_abuse traffic NAME LAST     inferences and a session on NAME until
 *                                   SIGUSR1, each checked against the
 *                                   version it names; LAST must be seen
 *   abi_abuse ring NAME             garbage in every user-writable ring
 *                                   field, exact clamping counters, a
 *                                   second thread racing the indices
 *   abi_abuse mmap NAME             wrong mmaps, writes to read-only pages
 *   abi_abuse ioctl NAME NCMDS      every command (NCMDS of them in
 *                                   uapi/mcai.h) with bad pointers, sizes,
 *                                   flags, reserved fields; a sweep of
 *                                   unknown numbers
 *   abi_abuse close NAME BIG        close vs inference from several
 *                                   threads; close and munmap while the
 *                                   kernel produces (BIG: a slow model)
 *   abi_abuse settle                root: no session or pipeline left
 *
 * One "abi_abuse: PASS|FAIL what" line per behaviour, the failed checks
 * before it.  Exit 0 pass, 1 fail, 2 usage.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#include "pipe_common.h"
#include "ring_common.h"

#define IN_LEN MAX_IN
#define OUT_LEN MAX_OUT
#define N_REF 64
/* Bounds on waits for a state, not delays: generous for a loaded host. */
#define WAIT_S 120
#define STALL_MS 60000

#define MCAI_IOC_BASE(cmd) ((cmd) & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT))
#define KERNEL_PTR ((void *)0xffff888000000000UL)

/* mmap() returns a pointer: the call must fail with errno @e. */
#define EXPECT_MAP_ERR(call, e) do {					\
	void *p_;							\
	errno = 0;							\
	p_ = (call);							\
	if (p_ != MAP_FAILED || errno != (e)) {				\
		fail(__LINE__, "%s: got %p (%s), want %s", #call, p_,	\
		     strerror(errno), strerror(e));			\
		if (p_ != MAP_FAILED)					\
			munmap(p_, 4096);				\
	}								\
} while (0)

/* ---- one PASS/FAIL line per behaviour ---------------------------------- */

static const char *beh_what;
static int beh_failures;

static void begin(const char *what)
{
	beh_what = what;
	beh_failures = failures;
}

__attribute__((format(printf, 1, 2)))
static void end(const char *fmt, ...)
{
	char detail[256] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	printf("%s: %s %s%s%s\n", prog,
	       failures == beh_failures ? "PASS" : "FAIL", beh_what,
	       detail[0] ? ": " : "", detail);
}

/* ---- helpers ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Poll @cond until it holds; on a timeout report what was waited for.
 * The sleep between polls is no assertion, only a way not to spin.
 */
static int wait_until(int (*cond)(void *), void *arg, const char *what)
{
	double end_t = now_s() + WAIT_S;

	while (!cond(arg)) {
		if (now_s() > end_t) {
			fail(__LINE__, "timed out after %d s waiting for %s",
			     WAIT_S, what);
			return 0;
		}
		usleep(1000);
	}
	return 1;
}

/* Sample @seq of stream @salt. */
static void gen(u32 salt, u64 seq, s8 *buf, u32 len)
{
	u32 s = salt * 977u + (u32)seq * 2654435761u + 1, i;

	for (i = 0; i < len; i++)
		buf[i] = (s8)rnd(&s);
}

/* The user-space engine with an arena of the caller's: threads use it. */
static int eng(const struct mcai_model *m, const s8 *in, s8 *sc)
{
	u8 arena[65536];

	if (m->arena_size > sizeof(arena))
		return -1000;
	return mcai_engine_run(m, in, sc, arena);
}

static void test_model(struct tmodel *t, const char *name, u32 version)
{
	tmodel_make(t, name, version, IN_LEN, OUT_LEN, MCAI_HEAD_ARGMAX, 0, 0);
}

static u32 model_id(int fd, const char *name)
{
	struct mcai_model_info mi = { .size = sizeof(mi) };

	set_name(mi.ref.name, name);
	if (ioctl(fd, MCAI_IOC_MODEL_INFO, &mi))
		die("MODEL_INFO");
	return mi.ref.model_id;
}

static int get_info(int fd, struct mcai_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, MCAI_IOC_GET_INFO, info);
}

/*
 * A page followed by one no access is allowed to: structures that run
 * off its end.  The second page stays mapped PROT_NONE, so that no later
 * mmap() (a session's rings) can land there and make it readable.
 */
static u8 *edge_page(void)
{
	u8 *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + 4096, 4096, PROT_NONE))
		die("mmap");
	memset(p, 0, 4096);
	return p;
}

/* An address no access is allowed to, for as long as the program runs. */
static void *no_access(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* ---- root: models --------------------------------------------------------- */

static int cmd_load(const char *name, u32 ver)
{
	struct tmodel t;
	int fd = dev_open();

	test_model(&t, name, ver);
	if (!load(fd, &t))
		die("MODEL_LOAD");
	free(t.blob);
	close(fd);
	return 0;
}

struct served {
	int fd;
	u32 id;
	u64 want;
};

static int has_served(void *p)
{
	struct served *s = p;

	return model_inferences(s->fd, s->id) >= s->want;
}

/*
 * Each version goes in once the previous one has served 50 inferences
 * more, so that the swaps are spread over the traffic whatever its pace.
 */
static int cmd_swap(const char *name, u32 from, u32 to)
{
	struct served s = { .fd = dev_open() };
	u32 v;

	begin("hot swap under nobody's traffic");
	s.id = model_id(s.fd, name);
	for (v = from; v <= to && !failures; v++) {
		struct mcai_model_load l = { .size = sizeof(l) };
		struct tmodel t;

		s.want = model_inferences(s.fd, s.id) + 50;
		if (!wait_until(has_served, &s, "50 inferences of the traffic"))
			break;
		test_model(&t, name, v);
		l.blob_ptr = (uintptr_t)t.blob;
		l.blob_size = t.size;
		EXPECT_OK(ioctl(s.fd, MCAI_IOC_MODEL_LOAD, &l));
		CHECK(l.model_id == s.id && l.version == v &&
		      l.replaced_version == v - 1,
		      "swap to v%u: id %u (want %u) version %u replaced %u",
		      v, l.model_id, s.id, l.version, l.replaced_version);
		free(t.blob);
	}
	close(s.fd);
	end("%s v%u..v%u", name, from, to);
	return failures ? 1 : 0;
}

/* ---- reference run -------------------------------------------------------- */

/*
 * N_REF fixed inputs: version, class and scores of each into @path, for a
 * byte-for-byte comparison with another run; each checked on the way
 * against the engine of the version the kernel names.
 */
static int cmd_ref(const char *name, const char *path)
{
	struct tmodel t = { 0 };
	u32 i, have = 0;
	int fd = dev_open();
	FILE *f = fopen(path, "w");

	begin("reference inferences");
	if (!f)
		die(path);
	for (i = 0; i < N_REF; i++) {
		struct mcai_infer r;
		s8 in[IN_LEN], sc[OUT_LEN], us[OUT_LEN];
		int cls;

		gen(1000, i, in, IN_LEN);
		if (infer(fd, 0, 0, name, in, IN_LEN, sc, OUT_LEN, &r)) {
			fail(__LINE__, "infer %s: %s", name, strerror(errno));
			break;
		}
		if (r.version != have) {
			free(t.blob);
			test_model(&t, name, r.version);
			have = r.version;
		}
		cls = eng(&t.m, in, us);
		CHECK(cls == r.class_id && !memcmp(us, sc, OUT_LEN),
		      "input %u: kernel v%u differs from the engine", i,
		      r.version);
		fwrite(&r.version, sizeof(r.version), 1, f);
		fwrite(&r.class_id, sizeof(r.class_id), 1, f);
		fwrite(sc, 1, OUT_LEN, f);
	}
	if (fclose(f))
		fail(__LINE__, "%s: %s", path, strerror(errno));
	free(t.blob);
	close(fd);
	end("%s, %u inputs, version %u", name, i, have);
	return failures ? 1 : 0;
}

/* ---- nobody's background traffic ------------------------------------------ */

struct traffic {
	const char *name;
	u32 id, last;
	struct tmodel *v;		/* [1..last], built before the threads */
	int kind;			/* 0 by id, 1 by name, 2 a session */
	u64 n;
	u32 seen;			/* the last version a result named */
};

static int traffic_stop;
static int traffic_running;

/* One result: a version no older than the last one, equal to the engine. */
static void traffic_check(struct traffic *tr, u32 version, const s8 *in,
			  const s8 *sc, s32 cls)
{
	s8 us[OUT_LEN];

	if (version < tr->seen || version < 1 || version > tr->last) {
		fail(__LINE__, "traffic %d: version %u after %u", tr->kind,
		     version, tr->seen);
		return;
	}
	tr->seen = version;
	CHECK(eng(&tr->v[version].m, in, us) == cls &&
	      !memcmp(us, sc, OUT_LEN),
	      "traffic %d: result %llu of v%u differs from the engine",
	      tr->kind, (unsigned long long)tr->n, version);
}

static void traffic_sync(struct traffic *tr)
{
	int fd = dev_open();

	for (;;) {
		/* after the stop one more round: it sees the last version */
		int stopping = __atomic_load_n(&traffic_stop, __ATOMIC_ACQUIRE);
		struct mcai_infer r;
		s8 in[IN_LEN], sc[OUT_LEN];

		gen(tr->kind, tr->n, in, IN_LEN);
		if (infer(fd, 0, tr->kind ? 0 : tr->id,
			  tr->kind ? tr->name : NULL, in, IN_LEN, sc, OUT_LEN,
			  &r)) {
			fail(__LINE__, "traffic %d: %s", tr->kind,
			     strerror(errno));
			break;
		}
		traffic_check(tr, r.version, in, sc, r.class_id);
		if (!tr->n++)
			__atomic_add_fetch(&traffic_running, 1, __ATOMIC_RELEASE);
		if (stopping)
			break;
	}
	close(fd);
}

/* Chunks of 32 samples through a session, every result checked. */
static void traffic_ring(struct traffic *tr)
{
	struct ring r;

	if (ring_open(&r, dev_open(), 0, tr->id, NULL, 64, 64)) {
		fail(__LINE__, "traffic session: %s", strerror(errno));
		return;
	}
	for (;;) {
		int stopping = __atomic_load_n(&traffic_stop, __ATOMIC_ACQUIRE);
		u32 base = r.tail, i;

		for (i = 0; i < 32; i++)
			gen(7, base + i, ring_in(&r, base + i), IN_LEN);
		r.tail += 32;
		ring_store(&r.uc->in_tail, r.tail);
		if (ring_kick(&r, i & 1)) {
			fail(__LINE__, "traffic kick: %s", strerror(errno));
			break;
		}
		while (r.rhead != r.tail && !failures) {
			struct pollfd p = { .fd = r.fd, .events = POLLIN };
			u32 rt;

			if (poll(&p, 1, STALL_MS) <= 0) {
				fail(__LINE__, "traffic session stalled at %u of %u",
				     r.rhead, r.tail);
				break;
			}
			rt = ring_load(&r.kc->res_tail);
			for (; r.rhead != rt; r.rhead++) {
				const struct mcai_result *res = ring_res(&r, r.rhead);
				s8 in[IN_LEN];

				gen(7, r.rhead, in, IN_LEN);
				CHECK(res->seq == r.rhead && res->flags == 0 &&
				      res->n_scores == OUT_LEN,
				      "traffic record %u: seq %llu flags %#x n_scores %u",
				      r.rhead, (unsigned long long)res->seq,
				      res->flags, res->n_scores);
				traffic_check(tr, res->version, in, res->scores,
					      res->class_id);
				tr->n++;
			}
			ring_store(&r.uc->res_head, r.rhead);
		}
		if (base == 0)
			__atomic_add_fetch(&traffic_running, 1, __ATOMIC_RELEASE);
		if (stopping || failures)
			break;
	}
	ring_close(&r);
}

static void *traffic_thread(void *p)
{
	struct traffic *tr = p;

	if (tr->kind == 2)
		traffic_ring(tr);
	else
		traffic_sync(tr);
	return NULL;
}

static int traffic_up(void *p)
{
	(void)p;
	return __atomic_load_n(&traffic_running, __ATOMIC_ACQUIRE) == 3;
}

static int cmd_traffic(const char *name, u32 last)
{
	struct traffic tr[3];
	pthread_t th[3];
	sigset_t set;
	int fd = dev_open(), sig, i;
	struct tmodel *v = calloc(last + 1, sizeof(*v));
	u32 k;

	begin("traffic across hot swaps");
	if (!v)
		die("calloc");
	for (k = 1; k <= last; k++)
		test_model(&v[k], name, k);
	/* the threads inherit the mask: only sigwait() below takes it */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < 3; i++) {
		tr[i] = (struct traffic){ .name = name, .last = last, .v = v,
					  .kind = i, .id = model_id(fd, name) };
		if (pthread_create(&th[i], NULL, traffic_thread, &tr[i]))
			die("pthread_create");
	}
	if (wait_until(traffic_up, NULL, "the three traffic threads' first results"))
		printf("%s: traffic running\n", prog);
	sigwait(&set, &sig);
	__atomic_store_n(&traffic_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CHECK(tr[i].seen == last,
		      "traffic %d ended on version %u, the last one is %u", i,
		      tr[i].seen, last);
	}
	end("%llu by id, %llu by name, %llu through a session, up to v%u",
	    (unsigned long long)tr[0].n, (unsigned long long)tr[1].n,
	    (unsigned long long)tr[2].n, last);
	for (k = 1; k <= last; k++)
		free(v[k].blob);
	free(v);
	close(fd);
	return failures ? 1 : 0;
}

/* ---- rings ------------------------------------------------------------------ */

struct settle {
	struct ring *r;
	u32 want;
};

/* Everything accepted up to @want consumed and answered, counters add up. */
static int ring_settled(void *p)
{
	struct settle *s = p;
	struct mcai_kernel_ctl *k = s->r->kc;

	return ring_load(&k->in_head) == s->want &&
	       ring_load(&k->res_tail) == s->want &&
	       k->submitted == k->completed + k->dropped + k->shed;
}

/* Wait for @want, then consume every result (contents not looked at). */
static void ring_drain_to(struct ring *r, u32 want, const char *what)
{
	struct settle s = { r, want };

	if (!wait_until(ring_settled, &s, what))
		fprintf(stderr, "%s: in_head %u res_tail %u, want %u\n", prog,
			r->kc->in_head, r->kc->res_tail, want);
	r->tail = ring_load(&r->kc->in_head);
	r->rhead = ring_load(&r->kc->res_tail);
	ring_store(&r->uc->res_head, r->rhead);
}

/*
 * One doorbell on a drained session with in_tail = @t: what uapi/mcai.h
 * says it adds and counts, exactly, and visible when the doorbell returns.
 */
static void kick_expect(struct ring *r, u32 t, const char *what)
{
	struct mcai_kernel_ctl *k = r->kc;
	u32 h = ring_load(&k->in_head), d = t - h;
	u64 ov = k->overruns, sub = k->submitted, want_ov = 0, add = d;

	if ((s32)d < 0) {
		want_ov = 1;
		add = 0;
	} else if (d > r->sc.in_slots) {
		want_ov = 1;
		add = r->sc.in_slots;
	}
	ring_store(&r->uc->in_tail, t);
	EXPECT_OK(ring_kick(r, 0));
	CHECK(k->overruns == ov + want_ov && k->submitted == sub + add,
	      "%s (in_tail %#x, head %#x): overruns +%llu submitted +%llu, want +%llu +%llu",
	      what, t, h, (unsigned long long)(k->overruns - ov),
	      (unsigned long long)(k->submitted - sub),
	      (unsigned long long)want_ov, (unsigned long long)add);
	ring_drain_to(r, h + (u32)add, what);
}

/*
 * @n fresh samples of stream @salt through @r, each result checked for
 * its sequence number and against the engine.
 */
static void ring_stream(struct ring *r, const struct tmodel *t, u32 salt,
			u32 n, const char *what)
{
	u32 start = r->tail, stalls = 0;

	CHECK(r->rhead == r->tail, "%s: results pending", what);
	while (r->rhead - start < n && stalls < 4) {
		u32 head = ring_load(&r->kc->in_head), rt;
		struct pollfd p = { .fd = r->fd, .events = POLLIN };

		while (r->tail - start < n && r->tail - head < r->sc.in_slots) {
			gen(salt, r->tail, ring_in(r, r->tail), IN_LEN);
			r->tail++;
		}
		ring_store(&r->uc->in_tail, r->tail);
		EXPECT_OK(ring_kick(r, r->tail & 1));
		if (poll(&p, 1, STALL_MS / 4) <= 0) {
			stalls++;
			continue;
		}
		rt = ring_load(&r->kc->res_tail);
		for (; r->rhead != rt; r->rhead++) {
			const struct mcai_result *res = ring_res(r, r->rhead);
			s8 in[IN_LEN], us[OUT_LEN];

			gen(salt, r->rhead, in, IN_LEN);
			CHECK(res->seq == r->rhead && res->flags == 0 &&
			      res->n_scores == OUT_LEN &&
			      res->version == t->m.version &&
			      eng(&t->m, in, us) == res->class_id &&
			      !memcmp(us, res->scores, OUT_LEN),
			      "%s: record %u (seq %llu, v%u, flags %#x) is not the engine's",
			      what, r->rhead, (unsigned long long)res->seq,
			      res->version, res->flags);
		}
		ring_store(&r->uc->res_head, r->rhead);
	}
	CHECK(r->rhead - start == n, "%s: %u of %u results", what,
	      r->rhead - start, n);
}

struct racer {
	struct ring *r;
	int stop;
	u64 writes;
};

/* Garbage in every field user space may write, as fast as it can. */
static void *racer_thread(void *p)
{
	struct racer *rc = p;
	struct ring *r = rc->r;
	u32 seed = 4242;

	while (!__atomic_load_n(&rc->stop, __ATOMIC_ACQUIRE)) {
		u32 x = rnd(&seed) * 2654435761u;

		switch (x & 7) {
		case 0:		/* far ahead, wrapped, "negative" */
			ring_store(&r->uc->in_tail, x);
			break;
		case 1:
			ring_store(&r->uc->in_tail, 0x80000000u + (x & 3));
			break;
		case 2:
			ring_store(&r->uc->in_tail,
				   ring_load(&r->kc->in_head) - 1 - (x & 15));
			break;
		case 3:
			ring_store(&r->uc->res_head, x);
			break;
		case 4:
			ring_store(&r->uc->res_head,
				   ring_load(&r->kc->res_tail) + (x & 255));
			break;
		case 5:
			r->uc->pad0[x % 15] = x;
			r->uc->pad1[x % 15] = ~x;
			break;
		default:	/* the slot the kernel may be reading now */
			ring_in(r, ring_load(&r->kc->in_head))[x % IN_LEN] = (s8)x;
			break;
		}
		__atomic_add_fetch(&rc->writes, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int racing(void *p)
{
	return __atomic_load_n(&((struct racer *)p)->writes, __ATOMIC_RELAXED) >= 1000;
}

/* Consistent and idle after the garbage: the doorbell put back in order. */
static int ring_recovered(void *p)
{
	struct ring *r = p;
	struct mcai_kernel_ctl *k = r->kc;
	u32 h = ring_load(&k->in_head), rt = ring_load(&k->res_tail);

	ring_store(&r->uc->res_head, rt);
	ring_store(&r->uc->in_tail, h);
	ring_kick(r, 0);
	return h == rt && ring_load(&k->in_head) == h &&
	       ring_load(&k->res_tail) == rt && (u32)k->submitted == h &&
	       k->submitted == k->completed + k->dropped + k->shed;
}

struct counted {
	const struct mcai_kernel_ctl *k;
	u64 before;
};

static int overrun_counted(void *p)
{
	const struct counted *c = p;

	return c->k->overruns > c->before;
}

static int cmd_ring(const char *name)
{
	struct racer rc = { 0 };
	struct mcai_kernel_ctl *k;
	struct ring r, r2;
	struct tmodel t;
	pthread_t th;
	u64 ov, kicks = 0;
	u32 h, i, bad = 0;

	test_model(&t, name, 1);
	if (ring_open(&r, dev_open(), 0, 0, name, 16, 64))
		die("session");
	k = r.kc;

	begin("ring: garbage in the pad words of the user page");
	memset(r.uc->pad0, 0xff, sizeof(r.uc->pad0));
	memset(r.uc->pad1, 0xa5, sizeof(r.uc->pad1));
	ring_stream(&r, &t, 1, 100, "pads");
	CHECK(k->overruns == 0, "overruns %llu", (unsigned long long)k->overruns);
	end("100 results bit-exact, no overrun");

	begin("ring: impossible in_tail values clamped and counted exactly");
	h = ring_load(&k->in_head);
	kick_expect(&r, h + 1000000, "far ahead");
	h = ring_load(&k->in_head);
	kick_expect(&r, h - 1, "one behind the head");
	kick_expect(&r, h + 0x80000000u, "half the index space ahead");
	kick_expect(&r, h + 0x7fffffffu, "just under half ahead");
	h = ring_load(&k->in_head);
	kick_expect(&r, 0xffffffffu, "-1 as unsigned");
	h = ring_load(&k->in_head);
	kick_expect(&r, 0x80000000u, "INT_MIN as unsigned");
	h = ring_load(&k->in_head);
	kick_expect(&r, h - r.sc.in_slots, "a ring behind (wrapped)");
	kick_expect(&r, h + r.sc.in_slots + 1, "one past a ringful");
	h = ring_load(&k->in_head);
	kick_expect(&r, h + r.sc.in_slots, "exactly a ringful");
	h = ring_load(&k->in_head);
	kick_expect(&r, h, "nothing new");
	/* taking back accepted samples: counted, they stay accepted */
	h = ring_load(&k->in_head);
	ov = k->overruns;
	ring_store(&r.uc->in_tail, h + 8);
	EXPECT_OK(ring_kick(&r, 0));
	ring_store(&r.uc->in_tail, h + 4);
	EXPECT_OK(ring_kick(&r, 1));
	CHECK(k->overruns == ov + 1, "taken back: overruns +%llu, want +1",
	      (unsigned long long)(k->overruns - ov));
	ring_drain_to(&r, h + 8, "taken back samples consumed");
	ring_stream(&r, &t, 2, 50, "after the clamps");
	end("%llu overruns, then 50 results bit-exact",
	    (unsigned long long)k->overruns);

	begin("ring: res_head past res_tail stalls the session, counted");
	h = ring_load(&k->in_head);
	ov = k->overruns;
	ring_store(&r.uc->res_head, r.rhead + 100);
	ring_store(&r.uc->in_tail, h + 4);
	EXPECT_OK(ring_kick(&r, 0));
	/* the worker counts it when it meets the index */
	{
		struct counted c = { k, ov };

		wait_until(overrun_counted, &c, "an overrun for res_head past res_tail");
	}
	CHECK(ring_load(&k->in_head) == h && ring_load(&k->res_tail) == h,
	      "consumed while stalled: in_head %u res_tail %u, want %u",
	      k->in_head, k->res_tail, h);
	/* put right: the session resumes */
	ring_store(&r.uc->res_head, r.rhead);
	EXPECT_OK(ring_kick(&r, 0));
	ring_drain_to(&r, h + 4, "the stalled session to resume");
	ring_stream(&r, &t, 3, 50, "after the stall");
	end("stalled with %llu overrun(s), resumed bit-exact",
	    (unsigned long long)(k->overruns - ov));

	begin("ring: a second thread racing the indices while the kernel consumes");
	ov = k->overruns;
	rc.r = &r;
	if (pthread_create(&th, NULL, racer_thread, &rc))
		die("pthread_create");
	/* from its first writes on, no index the doorbell reads is possible */
	wait_until(racing, &rc, "the racing thread's first 1000 writes");
	for (i = 0; i < 3000; i++) {
		struct pollfd p = { .fd = r.fd, .events = POLLIN | POLLOUT };

		EXPECT_OK(ring_kick(&r, i & 1));
		kicks++;
		if (!(i % 64))
			CHECK(poll(&p, 1, 0) >= 0 && !(p.revents & POLLERR),
			      "poll: revents %#x", p.revents);
	}
	__atomic_store_n(&rc.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	if (!wait_until(ring_recovered, &r, "the session to settle after the race"))
		fprintf(stderr, "%s: in_head %u res_tail %u submitted %llu completed %llu dropped %llu shed %llu\n",
			prog, k->in_head, k->res_tail,
			(unsigned long long)k->submitted,
			(unsigned long long)k->completed,
			(unsigned long long)k->dropped,
			(unsigned long long)k->shed);
	CHECK(k->dropped == 0 && k->shed == 0 && k->completed == k->submitted,
	      "after the race: completed %llu dropped %llu shed %llu of %llu",
	      (unsigned long long)k->completed, (unsigned long long)k->dropped,
	      (unsigned long long)k->shed, (unsigned long long)k->submitted);
	/* every doorbell met an impossible index; the worker counts more */
	CHECK(k->overruns - ov >= kicks, "%llu overruns for %llu kicks",
	      (unsigned long long)(k->overruns - ov),
	      (unsigned long long)kicks);
	/* the records are well formed, whatever the slots held */
	for (i = 0; i < r.sc.res_slots && i < k->res_tail; i++) {
		const struct mcai_result *res = ring_res(&r, k->res_tail - 1 - i);
		s32 c;
		u32 j, best = 0;

		for (j = 1; j < OUT_LEN; j++)
			best = res->scores[j] > res->scores[best] ? j : best;
		c = res->class_id;
		bad += res->version != 1 || res->n_scores != OUT_LEN ||
		       res->seq != (u64)(k->res_tail - 1 - i) || c != (s32)best;
	}
	CHECK(!bad, "%u malformed records after the race", bad);
	r.tail = ring_load(&k->in_head);
	r.rhead = ring_load(&k->res_tail);
	ring_stream(&r, &t, 4, 300, "after the race");
	end("%llu garbage writes, %llu overruns over %llu doorbells, %llu consumed, then 300 bit-exact",
	    (unsigned long long)rc.writes,
	    (unsigned long long)(k->overruns - ov), (unsigned long long)kicks,
	    (unsigned long long)k->completed);
	ring_close(&r);

	begin("ring: a fresh session on the same model after the abuse");
	if (ring_open(&r2, dev_open(), 0, 0, name, 0, 0))
		die("session");
	ring_stream(&r2, &t, 5, 300, "fresh session");
	CHECK(r2.kc->overruns == 0 && r2.kc->submitted == 300 &&
	      r2.kc->completed == 300, "fresh: overruns %llu submitted %llu",
	      (unsigned long long)r2.kc->overruns,
	      (unsigned long long)r2.kc->submitted);
	ring_close(&r2);
	end("300 results bit-exact");
	free(t.blob);
	return failures ? 1 : 0;
}

/* ---- mappings ----------------------------------------------------------------- */

static sigjmp_buf segv_jmp;
static volatile sig_atomic_t segv_code;
static void *volatile segv_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	segv_code = si->si_code;
	segv_addr = si->si_addr;
	siglongjmp(segv_jmp, 1);
}

/*
 * Store @v at @p: 1 if that raised SIGSEGV for a write to a page mapped
 * without write permission (SEGV_ACCERR, at @p), 0 if the store went
 * through, -1 for any other fault.
 */
static int store_faults(volatile u32 *p, u32 v)
{
	struct sigaction sa = { .sa_sigaction = on_segv,
				.sa_flags = SA_SIGINFO }, old;
	int ret = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	segv_code = 0;
	segv_addr = NULL;
	if (sigsetjmp(segv_jmp, 1))
		ret = segv_code == SEGV_ACCERR && segv_addr == (void *)p ? 1 : -1;
	else
		*p = v;
	sigaction(SIGSEGV, &old, NULL);
	return ret;
}

static int cmd_mmap(const char *name)
{
	struct mcai_kernel_ctl before;
	struct ring r;
	struct tmodel t;
	u8 *um2, *km2;
	void *p;
	int fd, ro;

	test_model(&t, name, 1);

	begin("mmap: a file without a session");
	fd = dev_open();
	EXPECT_MAP_ERR(mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd,
			    MCAI_MMAP_KERNEL), EINVAL);
	close(fd);
	end("EINVAL");

	if (ring_create(&r, dev_open(), 0, 0, name, 16, 16))
		die("session");

	begin("mmap: private, wrong lengths, wrong offsets");
	EXPECT_MAP_ERR(mmap(NULL, r.sc.user_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE, r.fd, r.sc.user_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.user_len, PROT_READ, MAP_PRIVATE, r.fd,
			    r.sc.user_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.kernel_len, PROT_READ, MAP_PRIVATE,
			    r.fd, r.sc.kernel_off), EINVAL);
	/* a private writable copy of the kernel's region: not shared first */
	EXPECT_MAP_ERR(mmap(NULL, r.sc.kernel_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE, r.fd, r.sc.kernel_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.user_len + 4096, PROT_READ | PROT_WRITE,
			    MAP_SHARED, r.fd, r.sc.user_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.user_len * 64, PROT_READ | PROT_WRITE,
			    MAP_SHARED, r.fd, r.sc.user_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.user_len - 4096, PROT_READ | PROT_WRITE,
			    MAP_SHARED, r.fd, r.sc.user_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.kernel_len + 4096, PROT_READ,
			    MAP_SHARED, r.fd, r.sc.kernel_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, r.fd,
			    r.sc.kernel_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, r.fd, 4096),
		       EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.user_len, PROT_READ, MAP_SHARED, r.fd,
			    r.sc.user_off + r.sc.user_len), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.kernel_len, PROT_READ, MAP_SHARED, r.fd,
			    r.sc.kernel_off + r.sc.kernel_len), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.kernel_len, PROT_READ, MAP_SHARED, r.fd,
			    2 * r.sc.kernel_off), EINVAL);
	EXPECT_MAP_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, r.fd,
			    1ll << 40), EINVAL);
	/* not a page multiple: the VFS refuses before the module sees it */
	EXPECT_MAP_ERR(mmap(NULL, r.sc.user_len, PROT_READ, MAP_SHARED, r.fd,
			    r.sc.user_off + 8), EINVAL);
	end("EINVAL for each");

	begin("mmap: the kernel's region writable");
	EXPECT_MAP_ERR(mmap(NULL, r.sc.kernel_len, PROT_READ | PROT_WRITE,
			    MAP_SHARED, r.fd, r.sc.kernel_off), EPERM);
	EXPECT_MAP_ERR(mmap(NULL, r.sc.kernel_len, PROT_WRITE, MAP_SHARED,
			    r.fd, r.sc.kernel_off), EPERM);
	end("EPERM");

	begin("mmap: a session fd opened read-only maps nothing writable");
	ro = open(DEV, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		die("open " DEV " O_RDONLY");
	{
		struct ring rr;

		EXPECT_OK(ring_create(&rr, ro, 0, 0, name, 16, 16));
		EXPECT_MAP_ERR(mmap(NULL, rr.sc.user_len, PROT_READ | PROT_WRITE,
				    MAP_SHARED, ro, rr.sc.user_off), EACCES);
		ring_close(&rr);
	}
	end("EACCES");

	if (ring_map(&r))
		die("mmap");
	begin("mmap: the regions mapped twice alias the same pages");
	um2 = mmap(NULL, r.sc.user_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		   r.fd, r.sc.user_off);
	km2 = mmap(NULL, r.sc.kernel_len, PROT_READ, MAP_SHARED, r.fd,
		   r.sc.kernel_off);
	CHECK(um2 != MAP_FAILED && km2 != MAP_FAILED, "second mapping: %s",
	      strerror(errno));
	if (um2 != MAP_FAILED && km2 != MAP_FAILED) {
		((struct mcai_user_ctl *)um2)->pad0[3] = 0x5a5a1234;
		CHECK(r.uc->pad0[3] == 0x5a5a1234, "user pages not shared");
		r.uc->pad0[3] = 0;
		ring_stream(&r, &t, 11, 40, "first mapping");
		CHECK(!memcmp(km2, r.km, r.sc.kernel_len),
		      "kernel pages differ between the mappings");
	}
	end(NULL);

	begin("mmap: stores to the read-only region raise SIGSEGV");
	memcpy(&before, r.kc, sizeof(before));
	CHECK(store_faults(&r.kc->in_head, 0xdeadbeef) == 1, "in_head");
	CHECK(store_faults(&r.kc->res_tail, 0xdeadbeef) == 1, "res_tail");
	CHECK(store_faults((u32 *)&r.kc->overruns, 0) == 1, "overruns");
	CHECK(store_faults((u32 *)&r.kc->completed, 0) == 1, "completed");
	CHECK(store_faults((u32 *)(r.km + 4096), 0) == 1, "a result record");
	CHECK(store_faults((u32 *)(r.km + r.sc.kernel_len - 4), 0) == 1,
	      "the last word");
	if (km2 != MAP_FAILED)
		CHECK(store_faults((u32 *)km2, 0) == 1, "the second mapping");
	CHECK(!memcmp(&before, r.kc, sizeof(before)),
	      "the kernel's page changed");
	/* the user region takes stores: a fault there would be a bug */
	CHECK(store_faults(&r.uc->pad1[0], 1) == 0, "user page");
	end("SEGV_ACCERR at each address");

	begin("mmap: mprotect and mremap cannot add write or grow");
	EXPECT_ERR(mprotect(r.km, r.sc.kernel_len, PROT_READ | PROT_WRITE),
		   EACCES);
	EXPECT_ERR(mprotect(r.km, 4096, PROT_WRITE), EACCES);
	if (km2 != MAP_FAILED)
		EXPECT_ERR(mprotect(km2 + 4096, 4096, PROT_READ | PROT_WRITE),
			   EACCES);
	CHECK(store_faults(&r.kc->in_head, 1) == 1,
	      "in_head writable after mprotect");
	p = mremap(r.km, r.sc.kernel_len, r.sc.kernel_len + 4096, 0);
	CHECK(p == MAP_FAILED && errno == EFAULT,
	      "mremap grew the kernel region: %p %s", p, strerror(errno));
	p = mremap(r.um, r.sc.user_len, r.sc.user_len * 2, MREMAP_MAYMOVE);
	CHECK(p == MAP_FAILED && errno == EFAULT,
	      "mremap grew the user region: %p %s", p, strerror(errno));
	end("EACCES, EFAULT");

	begin("mmap: part of a second mapping unmapped, the first still works");
	if (um2 != MAP_FAILED) {
		EXPECT_OK(munmap(um2, 4096));
		EXPECT_OK(munmap(um2 + 4096, r.sc.user_len - 4096));
	}
	if (km2 != MAP_FAILED)
		EXPECT_OK(munmap(km2 + 4096, r.sc.kernel_len - 4096));
	ring_stream(&r, &t, 12, 100, "after the mapping abuse");
	if (km2 != MAP_FAILED)
		EXPECT_OK(munmap(km2, 4096));
	CHECK(r.kc->overruns == 0 && r.kc->submitted == 140 &&
	      r.kc->completed == 140, "overruns %llu submitted %llu completed %llu",
	      (unsigned long long)r.kc->overruns,
	      (unsigned long long)r.kc->submitted,
	      (unsigned long long)r.kc->completed);
	end("140 results bit-exact");
	ring_close(&r);
	free(t.blob);
	return failures ? 1 : 0;
}

/* ---- ioctls ------------------------------------------------------------------- */

/*
 * Every command of uapi/mcai.h and what it answers an unprivileged caller
 * whose argument cannot be read, on a file without a session: the
 * privileged ones refuse before looking at it (kmod/ioctl.c), KICK never
 * reads it and finds no session.
 */
static const struct acmd {
	unsigned long cmd;
	const char *name;
	int bad_arg;			/* errno for NULL or unmapped */
	u32 min_size, size;		/* 0: no structure copied in */
	int priv;
} acmds[] = {
	{ MCAI_IOC_GET_INFO, "GET_INFO", EFAULT, MCAI_INFO_SIZE_VER1,
	  sizeof(struct mcai_info), 0 },
	{ MCAI_IOC_MODEL_LOAD, "MODEL_LOAD", EPERM, 0, 0, 1 },
	{ MCAI_IOC_MODEL_UNLOAD, "MODEL_UNLOAD", EPERM, 0, 0, 1 },
	{ MCAI_IOC_MODEL_INFO, "MODEL_INFO", EFAULT,
	  sizeof(struct mcai_model_info), sizeof(struct mcai_model_info), 0 },
	{ MCAI_IOC_MODEL_LIST, "MODEL_LIST", EFAULT,
	  sizeof(struct mcai_model_list), sizeof(struct mcai_model_list), 0 },
	{ MCAI_IOC_INFER, "INFER", EFAULT, MCAI_INFER_SIZE_VER1,
	  sizeof(struct mcai_infer), 0 },
	{ MCAI_IOC_SESSION_CREATE, "SESSION_CREATE", EFAULT,
	  MCAI_SESSION_CREATE_SIZE_VER1, sizeof(struct mcai_session_create), 0 },
	{ MCAI_IOC_SESSION_KICK, "SESSION_KICK", EINVAL, 0, 0, 0 },
	{ MCAI_IOC_MODEL_POLICY, "MODEL_POLICY", EPERM, 0, 0, 1 },
	{ MCAI_IOC_PIPELINE_CREATE, "PIPELINE_CREATE", EFAULT,
	  sizeof(struct mcai_pipeline_create),
	  sizeof(struct mcai_pipeline_create), 0 },
	{ MCAI_IOC_MODEL_STATS, "MODEL_STATS", EFAULT, MCAI_STATS_SIZE_VER1,
	  sizeof(struct mcai_model_stats), 0 },
	{ MCAI_IOC_MODEL_ENERGY, "MODEL_ENERGY", EPERM, 0, 0, 1 },
	{ MCAI_IOC_SESSION_MIRROR, "SESSION_MIRROR", EFAULT,
	  sizeof(struct mcai_session_mirror),
	  sizeof(struct mcai_session_mirror), 0 },
	{ MCAI_IOC_MIRROR_READ, "MIRROR_READ", EPERM, 0, 0, 1 },
	{ MCAI_IOC_ATTACH_LIST, "ATTACH_LIST", EFAULT,
	  sizeof(struct mcai_attach_list), sizeof(struct mcai_attach_list), 0 },
	{ MCAI_IOC_INFER_DMABUF, "INFER_DMABUF", EFAULT,
	  sizeof(struct mcai_infer_dmabuf), sizeof(struct mcai_infer_dmabuf), 0 },
};
#define N_ACMDS (sizeof(acmds) / sizeof(acmds[0]))

static unsigned long with_size(unsigned long cmd, u32 size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

static int defined_cmd(unsigned long cmd)
{
	size_t i;

	for (i = 0; i < N_ACMDS; i++)
		if (MCAI_IOC_BASE(acmds[i].cmd) == MCAI_IOC_BASE(cmd))
			return 1;
	return 0;
}

/* ioctl(@fd, @cmd, @arg) must fail with @e, or succeed when @e is 0. */
static void expect_ioc(int line, int fd, unsigned long cmd, void *arg, int e,
		       const char *what)
{
	int r;

	errno = 0;
	r = ioctl(fd, cmd, arg);
	if (e ? r != -1 || errno != e : r != 0)
		fail(line, "%s (cmd %#lx): got %d (%s), want %s", what, cmd, r,
		     strerror(errno), e ? strerror(e) : "success");
}

#define EXPECT_IOC(fd, cmd, arg, e, what) \
	expect_ioc(__LINE__, (fd), (cmd), (void *)(arg), (e), (what))

/* Unknown numbers in our magic and in others: ENOTTY, arg untouched. */
static u64 sweep(int fd, u8 *buf)
{
	static const u32 sizes[] = { 0, 4, sizeof(struct mcai_info), 0x3fff };
	/*
	 * Not 0x00, 'T', 'X', 'f', 0x94: the VFS answers some of those
	 * numbers itself (FIGETBSZ, FIONBIO, FIFREEZE, FS_IOC_*, FICLONE).
	 */
	static const u8 others[] = { 0x01, 0x42, 'x', 0xE8, 0xEA, 0xFF };
	u32 nr, dir, s, m;
	u64 n = 0;

	for (nr = 0; nr < 256; nr++) {
		for (dir = 0; dir < 4; dir++) {
			for (s = 0; s < 4; s++) {
				unsigned long cmd = _IOC(dir, MCAI_IOC_MAGIC,
							 nr, sizes[s]);

				if (defined_cmd(cmd))
					continue;
				memset(buf, 0, 4096);
				*(u32 *)buf = sizeof(struct mcai_info);
				EXPECT_IOC(fd, cmd, buf, ENOTTY, "unknown");
				EXPECT_IOC(fd, cmd, NULL, ENOTTY, "unknown, NULL");
				CHECK(*(u32 *)buf == sizeof(struct mcai_info) &&
				      !buf[4] && !buf[100],
				      "unknown cmd %#lx wrote to its argument", cmd);
				n += 2;
			}
			for (m = 0; m < sizeof(others); m++) {
				unsigned long cmd = _IOC(dir, others[m], nr, 8);

				EXPECT_IOC(fd, cmd, buf, ENOTTY, "other magic");
				EXPECT_IOC(fd, _IOC(dir, others[m], nr, 0), NULL,
					   ENOTTY, "other magic, NULL");
				n += 2;
			}
		}
	}
	return n;
}

/* A valid INFER of @name at @u (which need not be aligned). */
static void infer_req(struct mcai_infer *q, u32 id, const s8 *in, s8 *sc)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->ref.model_id = id;
	q->input_ptr = (uintptr_t)in;
	q->input_len = IN_LEN;
	q->scores_ptr = (uintptr_t)sc;
	q->scores_len = OUT_LEN;
}

static int cmd_ioctl(const char *name, u32 ncmds)
{
	u8 *edge = edge_page(), *ro_page, *buf;
	void *gap = no_access();
	struct mcai_info info;
	struct mcai_infer q;
	struct tmodel t;
	s8 in[IN_LEN], sc[OUT_LEN], us[OUT_LEN];
	u32 id, i, s;
	u64 n;
	int fd = dev_open(), fd2, cls;

	test_model(&t, name, 1);
	id = model_id(fd, name);
	gen(99, 0, in, IN_LEN);
	cls = eng(&t.m, in, us);
	buf = aligned_alloc(4096, 3 * 4096);
	ro_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!buf || ro_page == MAP_FAILED)
		die("alloc");

	begin("ioctl: every command of uapi/mcai.h is in this test");
	CHECK(ncmds == N_ACMDS, "uapi/mcai.h defines %u commands, %zu abused",
	      ncmds, N_ACMDS);
	end("%zu commands", N_ACMDS);

	begin("ioctl: unknown numbers in the magic and outside it");
	n = sweep(fd, buf);
	end("%llu calls, ENOTTY", (unsigned long long)n);

	begin("ioctl: each command with NULL, wild, kernel and inaccessible pointers, any _IOC size");
	for (i = 0; i < N_ACMDS; i++) {
		static const u32 sizes[] = { 0, 1, 8, 0x3fff };
		const struct acmd *a = &acmds[i];
		void *args[] = { NULL, (void *)1, (void *)-4096L, KERNEL_PTR,
				 gap };
		u32 k;

		for (k = 0; k < sizeof(args) / sizeof(args[0]); k++) {
			EXPECT_IOC(fd, a->cmd, args[k], a->bad_arg, a->name);
			/* matched on all but the size bits (kmod/ioctl.c) */
			for (s = 0; s < 4; s++)
				EXPECT_IOC(fd, with_size(a->cmd, sizes[s]),
					   args[k], a->bad_arg, a->name);
		}
		/* the wrong direction is another command: unknown */
		EXPECT_IOC(fd, a->cmd ^ ((unsigned long)_IOC_READ << _IOC_DIRSHIFT),
			   NULL, ENOTTY, a->name);
	}
	end("%zu commands", N_ACMDS);

	begin("ioctl: structure sizes too small, too large, non-zero tails, running off the page");
	for (i = 0; i < N_ACMDS; i++) {
		const struct acmd *a = &acmds[i];
		u32 bad[] = { 0, 4, a->min_size - 1, 4097, 0x10000, 0xffffffffu };

		if (!a->min_size)
			continue;
		for (s = 0; s < sizeof(bad) / sizeof(bad[0]); s++) {
			memset(buf, 0, 2 * 4096);
			*(u32 *)buf = bad[s];
			EXPECT_IOC(fd, a->cmd, buf, bad[s] > 4096 ? E2BIG : EINVAL,
				   a->name);
		}
		/* a newer caller's tail must be zero */
		memset(buf, 0, 2 * 4096);
		*(u32 *)buf = a->size + 16;
		buf[a->size + 9] = 1;
		EXPECT_IOC(fd, a->cmd, buf, E2BIG, a->name);
		*(u32 *)buf = 4096;
		buf[a->size + 9] = 0;
		buf[4095] = 0x80;
		EXPECT_IOC(fd, a->cmd, buf, E2BIG, a->name);
		/* the size word readable, the rest not */
		memset(edge, 0, 4096);
		*(u32 *)(edge + 4092) = a->size;
		EXPECT_IOC(fd, a->cmd, edge + 4092, EFAULT, a->name);
		/* the structure readable, the zero tail it claims not */
		*(u32 *)(edge + 4096 - a->size) = a->size + 64;
		EXPECT_IOC(fd, a->cmd, edge + 4096 - a->size, EFAULT, a->name);
	}
	/* a zero tail up to a whole page is accepted */
	memset(buf, 0, 4096);
	*(u32 *)buf = 4096;
	EXPECT_IOC(fd, MCAI_IOC_GET_INFO, buf, 0, "GET_INFO of 4096 bytes");
	CHECK(((struct mcai_info *)buf)->size == sizeof(struct mcai_info),
	      "GET_INFO size back %u", ((struct mcai_info *)buf)->size);
	memset(buf, 0, 4096);
	*(u32 *)buf = 4096;
	EXPECT_IOC(fd, MCAI_IOC_MODEL_LIST, buf, 0, "MODEL_LIST of 4096 bytes");
	CHECK(((struct mcai_model_list *)buf)->count >= 3, "MODEL_LIST count %u",
	      ((struct mcai_model_list *)buf)->count);
	end(NULL);

	begin("ioctl: unaligned structures and buffers work");
	for (s = 1; s < 8; s += 2) {
		void *qu = buf + s;
		s8 *inu = (s8 *)buf + 1024 + s, *scu = (s8 *)buf + 2048 + s;
		void *iu = buf + 3000 + s;

		memcpy(inu, in, IN_LEN);
		memset(scu, 0x7f, OUT_LEN + 1);
		infer_req(&q, id, inu, scu);
		memcpy(qu, &q, sizeof(q));
		EXPECT_IOC(fd, MCAI_IOC_INFER, qu, 0, "unaligned INFER");
		memcpy(&q, qu, sizeof(q));
		CHECK(q.class_id == cls && !memcmp(scu, us, OUT_LEN) &&
		      scu[OUT_LEN] == 0x7f && q.scores_len == OUT_LEN,
		      "unaligned INFER at +%u: class %d, engine %d", s,
		      q.class_id, cls);
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		memcpy(iu, &info, sizeof(info));
		EXPECT_IOC(fd, MCAI_IOC_GET_INFO, iu, 0, "unaligned GET_INFO");
		memcpy(&info, iu, sizeof(info));
		CHECK(info.abi_version == MCAI_ABI_VERSION,
		      "unaligned GET_INFO: abi %u", info.abi_version);
	}
	end(NULL);

	begin("ioctl: results copied back to a read-only page");
	memset(ro_page, 0, 4096);
	*(u32 *)ro_page = sizeof(struct mcai_info);
	infer_req((struct mcai_infer *)(ro_page + 1024), id, in, sc);
	((struct mcai_model_list *)(ro_page + 2048))->size =
		sizeof(struct mcai_model_list);
	mprotect(ro_page, 4096, PROT_READ);
	EXPECT_IOC(fd, MCAI_IOC_GET_INFO, ro_page, EFAULT, "GET_INFO");
	EXPECT_IOC(fd, MCAI_IOC_INFER, ro_page + 1024, EFAULT, "INFER");
	EXPECT_IOC(fd, MCAI_IOC_MODEL_LIST, ro_page + 2048, EFAULT, "MODEL_LIST");
	end("EFAULT");

	begin("ioctl: GET_INFO reserved field");
	get_info(fd, &info);
	info.pad = 1;
	EXPECT_IOC(fd, MCAI_IOC_GET_INFO, &info, EINVAL, "pad");
	end(NULL);

	begin("ioctl: MODEL_INFO and MODEL_LIST flags, references, pointers");
	{
		struct mcai_model_info mi = { .size = sizeof(mi) };
		struct mcai_model_list ml = { .size = sizeof(ml) };
		u32 ids[4];

		mi.ref.model_id = id;
		mi.flags = 1;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_INFO, &mi, EINVAL, "flags");
		mi.flags = 0;
		mi.ref.pad = 1;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_INFO, &mi, EINVAL, "ref.pad");
		mi.ref.pad = 0;
		mi.ref.model_id = 0;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_INFO, &mi, EINVAL, "empty name");
		memset(mi.ref.name, 'a', MCAI_NAME_LEN);
		EXPECT_IOC(fd, MCAI_IOC_MODEL_INFO, &mi, EINVAL, "unterminated name");
		set_name(mi.ref.name, "no-such-model");
		EXPECT_IOC(fd, MCAI_IOC_MODEL_INFO, &mi, ENOENT, "unknown name");
		mi.ref.model_id = 0xfffffff0u;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_INFO, &mi, ENOENT, "unknown id");
		ml.flags = 1;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_LIST, &ml, EINVAL, "flags");
		ml.flags = 0;
		ml.capacity = 4;
		ml.ids_ptr = (uintptr_t)gap;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_LIST, &ml, EFAULT, "ids not accessible");
		ml.ids_ptr = (uintptr_t)KERNEL_PTR;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_LIST, &ml, EFAULT, "ids in the kernel");
		/* room for one id claimed to be 2^32 - 1: the second faults */
		ml.capacity = 0xffffffffu;
		ml.ids_ptr = (uintptr_t)(edge + 4092);
		EXPECT_IOC(fd, MCAI_IOC_MODEL_LIST, &ml, EFAULT, "ids run off the page");
		ml.capacity = 4;
		ml.ids_ptr = (uintptr_t)ids;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_LIST, &ml, 0, "valid");
		CHECK(ml.count >= 3, "count %u", ml.count);
	}
	end(NULL);

	begin("ioctl: INFER flags, reserved fields, lengths, pointers");
	infer_req(&q, id, in, sc);
	q.flags = 1u << 1;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EINVAL, "flag 1");
	q.flags = 1u << 31;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EINVAL, "flag 31");
	q.flags = 0;
	q.result_flags = 1;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EINVAL, "result_flags in");
	q.result_flags = 0;
	q.pad = 1;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EINVAL, "pad");
	q.pad = 0;
	q.ref.pad = 0x80000000u;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EINVAL, "ref.pad");
	q.ref.pad = 0;
	{
		u32 lens[] = { 0, IN_LEN - 1, IN_LEN + 1, 65536, 0xffffffffu };

		for (s = 0; s < sizeof(lens) / sizeof(lens[0]); s++) {
			q.input_len = lens[s];
			EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EINVAL, "input_len");
		}
	}
	q.input_len = IN_LEN;
	q.scores_len = OUT_LEN - 1;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EINVAL, "scores_len short");
	q.scores_len = OUT_LEN;
	q.input_ptr = 0;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EFAULT, "input NULL");
	q.input_ptr = (uintptr_t)gap;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EFAULT, "input not accessible");
	q.input_ptr = (uintptr_t)KERNEL_PTR;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EFAULT, "input in the kernel");
	q.input_ptr = (uintptr_t)(edge + 4096 - IN_LEN / 2);
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EFAULT, "input runs off the page");
	q.input_ptr = (uintptr_t)in;
	q.scores_ptr = (uintptr_t)gap;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EFAULT, "scores not accessible");
	q.scores_ptr = (uintptr_t)ro_page;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EFAULT, "scores read-only");
	q.scores_ptr = (uintptr_t)KERNEL_PTR;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EFAULT, "scores in the kernel");
	q.scores_ptr = (uintptr_t)(edge + 4096 - OUT_LEN / 2);
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EFAULT, "scores run off the page");
	q.scores_ptr = (uintptr_t)sc;
	q.flags = MCAI_INFER_PIPELINE;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, ENOENT, "a model's id as a pipeline");
	q.flags = 0;
	q.ref.model_id = 0xfffffff0u;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, ENOENT, "unknown id");
	/* the first published size works; one byte less does not */
	infer_req(&q, id, in, sc);
	q.size = MCAI_INFER_SIZE_VER1;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, 0, "size VER1");
	CHECK(q.class_id == cls && !memcmp(sc, us, OUT_LEN), "VER1 result");
	q.size = MCAI_INFER_SIZE_VER1 - 1;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, EINVAL, "size VER1 - 1");
	infer_req(&q, id, in, NULL);
	q.scores_len = 0;
	EXPECT_IOC(fd, MCAI_IOC_INFER, &q, 0, "class only");
	CHECK(q.class_id == cls, "class only: %d, engine %d", q.class_id, cls);
	end(NULL);

	begin("ioctl: privileged commands refused to nobody, whatever the argument");
	{
		struct mcai_model_load l = { .size = sizeof(l),
			.blob_ptr = (uintptr_t)t.blob, .blob_size = t.size };
		struct mcai_model_unload u = { .size = sizeof(u), .ref.model_id = id };
		struct mcai_model_policy po = { .size = sizeof(po), .ref.model_id = id };
		struct mcai_model_energy en = { .size = sizeof(en), .ref.model_id = id };
		struct mcai_mirror_read mr = { .size = sizeof(mr) };
		struct mcai_model_stats st = { .size = sizeof(st), .ref.model_id = id,
					       .flags = MCAI_STATS_RESET };

		CHECK(geteuid() != 0, "running as root");
		EXPECT_IOC(fd, MCAI_IOC_MODEL_LOAD, &l, EPERM, "MODEL_LOAD");
		l.flags = 0xff;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_LOAD, &l, EPERM, "MODEL_LOAD bad flags");
		EXPECT_IOC(fd, MCAI_IOC_MODEL_UNLOAD, &u, EPERM, "MODEL_UNLOAD");
		EXPECT_IOC(fd, MCAI_IOC_MODEL_POLICY, &po, EPERM, "MODEL_POLICY");
		po.flags = 1;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_POLICY, &po, EPERM, "MODEL_POLICY bad flags");
		EXPECT_IOC(fd, MCAI_IOC_MODEL_ENERGY, &en, EPERM, "MODEL_ENERGY");
		EXPECT_IOC(fd, MCAI_IOC_MIRROR_READ, &mr, EPERM, "MIRROR_READ");
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, EPERM, "MODEL_STATS reset");
		/* ...and nothing changed: still there, still version 1 */
		EXPECT_OK(infer(fd, 0, id, NULL, in, IN_LEN, sc, OUT_LEN, &q));
		CHECK(q.version == 1 && q.class_id == cls &&
		      !memcmp(sc, us, OUT_LEN), "model changed: v%u", q.version);
	}
	end("EPERM");

	begin("ioctl: MODEL_STATS flags, references, pointers");
	{
		struct mcai_model_stats st;
		s32 mean[IN_LEN];
		u32 var[IN_LEN];
		u64 hist[OUT_LEN];

		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		st.ref.model_id = id;
		st.flags = 2;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, EINVAL, "flags");
		st.flags = 0;
		st.ref.pad = 1;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, EINVAL, "ref.pad");
		st.ref.pad = 0;
		st.ref.model_id = 0xfffffff0u;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, ENOENT, "unknown id");
		st.ref.model_id = id;
		st.features_cap = IN_LEN;
		st.mean_ptr = (uintptr_t)gap;
		st.var_ptr = (uintptr_t)var;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, EFAULT, "mean not accessible");
		st.mean_ptr = (uintptr_t)mean;
		st.var_ptr = (uintptr_t)KERNEL_PTR;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, EFAULT, "var in the kernel");
		st.var_ptr = (uintptr_t)var;
		st.classes_cap = OUT_LEN;
		st.hist_ptr = (uintptr_t)(edge + 4096 - 8);
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, EFAULT, "hist runs off the page");
		/* capacities past what exists: only what exists is written */
		st.hist_ptr = (uintptr_t)hist;
		st.features_cap = 0xffffffffu;
		st.classes_cap = 0xffffffffu;
		st.mean_ptr = (uintptr_t)buf;
		st.var_ptr = (uintptr_t)buf + 4096;
		st.hist_ptr = (uintptr_t)buf + 8192;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, 0, "huge capacities");
		CHECK(st.n_features == IN_LEN && st.n_classes == OUT_LEN,
		      "n_features %u n_classes %u", st.n_features, st.n_classes);
		st.size = MCAI_STATS_SIZE_VER1;
		EXPECT_IOC(fd, MCAI_IOC_MODEL_STATS, &st, 0, "size VER1");
	}
	end(NULL);

	begin("ioctl: PIPELINE_CREATE flags, reserved fields, names, members");
	fd2 = dev_open();
	{
		struct mcai_pipeline_create pc, good;
		u32 id2 = model_id(fd, "abuse-swap"), big = model_id(fd, "fmnist-mlp");

		memset(&good, 0, sizeof(good));
		good.size = sizeof(good);
		set_name(good.name, "nobody-pipe");
		good.type = MCAI_PIPE_ENSEMBLE_VOTE;
		good.n_models = 2;
		good.model_ids[0] = id;
		good.model_ids[1] = id2;
		good.escalate_below = -129;
#define PC_BAD(field_expr, e, what) do {				\
		pc = good;						\
		field_expr;						\
		EXPECT_IOC(fd2, MCAI_IOC_PIPELINE_CREATE, &pc, e, what);	\
	} while (0)
		PC_BAD(pc.flags = 1, EINVAL, "flags");
		PC_BAD(pc.pad = 1, EINVAL, "pad");
		PC_BAD(memset(pc.name, 0, MCAI_NAME_LEN), EINVAL, "empty name");
		PC_BAD(memset(pc.name, 'p', MCAI_NAME_LEN), EINVAL, "unterminated name");
		PC_BAD(set_name(pc.name, "a b"), EINVAL, "a space in the name");
		PC_BAD(set_name(pc.name, "../x"), EINVAL, "a slash in the name");
		PC_BAD(pc.name[MCAI_NAME_LEN - 1] = 'z', EINVAL, "garbage after the NUL");
		PC_BAD(pc.type = 0, EINVAL, "type 0");
		PC_BAD(pc.type = 4, EINVAL, "type 4");
		PC_BAD(pc.n_models = 1, EINVAL, "one member");
		PC_BAD(pc.n_models = MCAI_PIPE_MAX_MODELS + 1, EINVAL, "nine members");
		PC_BAD(pc.n_models = 0xffffffffu, EINVAL, "2^32 - 1 members");
		PC_BAD(pc.type = MCAI_PIPE_CHAIN; pc.n_models = 3; pc.model_ids[2] = id,
		       EINVAL, "a chain of three");
		PC_BAD(pc.type = MCAI_PIPE_CHAIN; pc.fire_class = -1, EINVAL,
		       "negative fire_class");
		PC_BAD(pc.fire_class = 1, EINVAL, "fire_class on an ensemble");
		PC_BAD(pc.escalate_below = -130, EINVAL, "escalate_below -130");
		PC_BAD(pc.escalate_below = 0x7fffffff, EINVAL, "escalate_below huge");
		PC_BAD(pc.model_ids[1] = 0, EINVAL, "member id 0");
		PC_BAD(pc.model_ids[5] = id, EINVAL, "an id past n_models");
		PC_BAD(pc.weights[0] = 256, EINVAL, "weights on a vote");
		PC_BAD(pc.type = MCAI_PIPE_ENSEMBLE_AVG; pc.weights[4] = 1, EINVAL,
		       "a weight past n_models");
		PC_BAD(pc.model_ids[1] = 0xfffffff0u, ENOENT, "unknown member");
		PC_BAD(pc.model_ids[1] = big, EINVAL, "members of different shapes");
		pc = good;
		EXPECT_IOC(fd2, MCAI_IOC_PIPELINE_CREATE, &pc, 0, "valid");
		CHECK(pc.pipeline_id != 0, "no pipeline id");
		pc = good;
		EXPECT_IOC(fd2, MCAI_IOC_PIPELINE_CREATE, &pc, EEXIST, "same name");
		get_info(fd, &info);
		CHECK(info.user_nr_pipelines == 1, "user_nr_pipelines %u",
		      info.user_nr_pipelines);
		/* it runs, and goes when its file does */
		infer_req(&q, 0, in, sc);
		set_name(q.ref.name, "nobody-pipe");
		q.flags = MCAI_INFER_PIPELINE;
		EXPECT_IOC(fd, MCAI_IOC_INFER, &q, 0, "pipeline by name");
	}
	close(fd2);
	get_info(fd, &info);
	CHECK(info.user_nr_pipelines == 0, "user_nr_pipelines %u after close",
	      info.user_nr_pipelines);
	end(NULL);

	begin("ioctl: SESSION_CREATE, SESSION_KICK, SESSION_MIRROR, doorbell");
	{
		struct mcai_session_create sc0, scr;
		struct mcai_session_mirror mm = { .size = sizeof(mm) };
		u64 eight[2] = { 1, 1 };
		char c;

		memset(&sc0, 0, sizeof(sc0));
		sc0.size = sizeof(sc0);
		sc0.ref.model_id = id;
#define SC_BAD(field_expr, e, what) do {				\
		scr = sc0;						\
		field_expr;						\
		EXPECT_IOC(fd, MCAI_IOC_SESSION_CREATE, &scr, e, what);	\
	} while (0)
		SC_BAD(scr.flags = 2, EINVAL, "flags");
		SC_BAD(scr.flags = 0x80000000u, EINVAL, "flag 31");
		SC_BAD(scr.pad = 1, EINVAL, "pad");
		SC_BAD(scr.ref.pad = 1, EINVAL, "ref.pad");
		SC_BAD(scr.in_slots = 3, EINVAL, "in_slots 3");
		SC_BAD(scr.in_slots = 8192, EINVAL, "in_slots 8192");
		SC_BAD(scr.in_slots = 0x80000000u, EINVAL, "in_slots 2^31");
		SC_BAD(scr.res_slots = 0xffffffffu, EINVAL, "res_slots 2^32 - 1");
		SC_BAD(scr.mirror_every = 1, EPERM, "mirror_every as nobody");
		SC_BAD(scr.flags = MCAI_SESSION_PIPELINE; scr.ref.model_id = 0,
		       EINVAL, "pipeline without a reference");
		SC_BAD(scr.flags = MCAI_SESSION_PIPELINE, ENOENT,
		       "a model's id as a pipeline");
		SC_BAD(scr.ref.model_id = 0xfffffff0u, ENOENT, "unknown model");
		mm.every = 1;
		EXPECT_IOC(fd, MCAI_IOC_SESSION_MIRROR, &mm, EPERM, "mirror on");
		mm.every = 0;
		mm.flags = 1;
		EXPECT_IOC(fd, MCAI_IOC_SESSION_MIRROR, &mm, EINVAL, "mirror flags");
		mm.flags = 0;
		mm.pad = 1;
		EXPECT_IOC(fd, MCAI_IOC_SESSION_MIRROR, &mm, EINVAL, "mirror pad");
		mm.pad = 0;
		EXPECT_IOC(fd, MCAI_IOC_SESSION_MIRROR, &mm, EINVAL, "no session");
		EXPECT_IOC(fd, MCAI_IOC_SESSION_KICK, NULL, EINVAL, "no session");
		EXPECT_ERR((int)write(fd, eight, 8), EINVAL);
		/* the first published size; then one session per file */
		scr = sc0;
		scr.size = MCAI_SESSION_CREATE_SIZE_VER1;
		EXPECT_IOC(fd, MCAI_IOC_SESSION_CREATE, &scr, 0, "size VER1");
		scr = sc0;
		EXPECT_IOC(fd, MCAI_IOC_SESSION_CREATE, &scr, EBUSY, "a second");
		EXPECT_IOC(fd, MCAI_IOC_SESSION_MIRROR, &mm, 0, "mirror off");
		EXPECT_IOC(fd, MCAI_IOC_SESSION_KICK, KERNEL_PTR, 0, "KICK ignores arg");
		EXPECT_ERR((int)write(fd, eight, 4), EINVAL);
		EXPECT_ERR((int)write(fd, eight, 16), EINVAL);
		EXPECT_ERR((int)read(fd, &c, 1), EINVAL);
		EXPECT_ERR((int)lseek(fd, 0, SEEK_SET), ESPIPE);
	}
	end(NULL);

	begin("ioctl: the model still computes what the engine does");
	for (i = 0; i < 100; i++) {
		s8 x[IN_LEN];

		gen(98, i, x, IN_LEN);
		EXPECT_OK(infer(fd, 0, id, NULL, x, IN_LEN, sc, OUT_LEN, &q));
		CHECK(q.class_id == eng(&t.m, x, us) && !memcmp(sc, us, OUT_LEN),
		      "input %u differs", i);
	}
	end("100 inferences bit-exact");

	close(fd);
	munmap(edge, 4096);
	munmap(ro_page, 4096);
	free(buf);
	free(t.blob);
	return failures ? 1 : 0;
}

/* ---- close and munmap under traffic ------------------------------------------ */

struct closer {
	int fd;
	u32 id;
	const char *name;
	const struct tmodel *t;
	int kind;		/* 0, 1: INFER by id, 2: by name, 3: MODEL_STATS */
	u64 ok;
	int err;		/* errno of the call that ended the loop */
};

static int closers_ready;

static void *closer_thread(void *p)
{
	struct closer *c = p;

	for (;;) {
		struct mcai_model_stats st = { .size = sizeof(st) };
		struct mcai_infer q = { 0 };
		s8 in[IN_LEN], sc[OUT_LEN], us[OUT_LEN];
		int r;

		gen(50 + c->kind, c->ok, in, IN_LEN);
		if (c->kind == 3) {
			st.ref.model_id = c->id;
			r = ioctl(c->fd, MCAI_IOC_MODEL_STATS, &st);
		} else {
			r = infer(c->fd, 0, c->kind == 2 ? 0 : c->id,
				  c->kind == 2 ? c->name : NULL, in, IN_LEN,
				  sc, OUT_LEN, &q);
		}
		if (r) {
			c->err = errno;
			break;
		}
		/* a call that got in before the close completes normally */
		if (c->kind != 3)
			CHECK(q.class_id == eng(&c->t->m, in, us) &&
			      !memcmp(sc, us, OUT_LEN),
			      "closer %d: result %llu differs", c->kind,
			      (unsigned long long)c->ok);
		if (++c->ok == 20)
			__atomic_add_fetch(&closers_ready, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The doorbell, by ioctl or write(), until the fd is gone. */
static void *kicker_thread(void *p)
{
	struct closer *c = p;
	u64 one = 1;

	for (;;) {
		int r = c->kind & 1 ? (write(c->fd, &one, 8) == 8 ? 0 : -1) :
			ioctl(c->fd, MCAI_IOC_SESSION_KICK);

		if (r) {
			c->err = errno;
			break;
		}
		if (++c->ok == 20)
			__atomic_add_fetch(&closers_ready, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int closers_up(void *p)
{
	return __atomic_load_n(&closers_ready, __ATOMIC_ACQUIRE) == *(int *)p;
}

struct user_mem {
	int fd;
	u64 want;
	u64 now;
};

static int user_mem_is(void *p)
{
	struct user_mem *m = p;
	struct mcai_info info;

	if (get_info(m->fd, &info))
		return 0;
	m->now = info.user_mem_used;
	return info.user_mem_used == m->want;
}

static int started(void *p)
{
	return ring_load(&((struct ring *)p)->kc->in_head) > 0;
}

static int answered(void *p)
{
	struct ring *r = p;

	return ring_load(&r->kc->res_tail) == r->tail;
}

/* A session on @t filled with @n samples of stream @salt, doorbell rung. */
static void fill(struct ring *r, const struct tmodel *t, u32 salt, u32 n)
{
	u32 i;

	if (ring_open(r, dev_open(), 0, 0, t->m.name, n, n))
		die("session");
	for (i = 0; i < n; i++)
		gen(salt, i, ring_in(r, i), t->m.input_len);
	r->tail = n;
	ring_store(&r->uc->in_tail, n);
	EXPECT_OK(ring_kick(r, 0));
}

/* Every @step-th record against the engine (the big model is slow there). */
static void check_records(struct ring *r, const struct tmodel *t, u32 salt,
			  u32 step, const char *what)
{
	s8 *in = malloc(t->m.input_len), *us = malloc(t->m.output_len);
	u8 *arena = malloc(t->m.arena_size + 1);
	u32 i, bad = 0;

	if (!in || !us || !arena)
		die("malloc");
	for (i = 0; i < r->tail; i += step) {
		const struct mcai_result *res = ring_res(r, i);

		gen(salt, i, in, t->m.input_len);
		bad += res->seq != i || res->n_scores != t->m.output_len ||
		       mcai_engine_run(&t->m, in, us, arena) != res->class_id ||
		       memcmp(us, res->scores, t->m.output_len);
	}
	CHECK(!bad, "%s: %u records differ from the engine", what, bad);
	free(in);
	free(us);
	free(arena);
}

static int cmd_close(const char *name, const char *big_path)
{
	struct user_mem um = { .fd = dev_open() };
	struct mcai_info info;
	struct tmodel t, big = { 0 };
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct ring r;
	char err[200];
	u32 id, at, round, n_big = 1024;
	int i;

	test_model(&t, name, 1);
	id = model_id(um.fd, name);
	big.blob = mcai_blob_read(big_path, 1 << 24, &big.size, err, sizeof(err));
	mcai_limits_default(&lim);
	if (!big.blob || mcai_verify(&big.m, big.blob, big.size, &lim, &v)) {
		fprintf(stderr, "%s: %s: %s\n", prog, big_path, big.blob ? v.reason : err);
		return 1;
	}
	if (get_info(um.fd, &info))
		die("GET_INFO");
	um.want = info.user_mem_used;

	begin("close: an fd closed while four threads call it");
	for (round = 0; round < 5; round++) {
		struct closer c[4];
		pthread_t th[4];
		int nth = 4;

		__atomic_store_n(&closers_ready, 0, __ATOMIC_RELEASE);
		for (i = 0; i < nth; i++) {
			c[i] = (struct closer){ .fd = dev_open(), .id = id,
						.name = name, .t = &t, .kind = i };
			if (i)
				c[i].fd = c[0].fd;
			if (pthread_create(&th[i], NULL, closer_thread, &c[i]))
				die("pthread_create");
		}
		/* nothing opens a file from here to the joins: no fd reuse */
		wait_until(closers_up, &nth, "20 calls from each thread");
		EXPECT_OK(close(c[0].fd));
		for (i = 0; i < nth; i++) {
			pthread_join(th[i], NULL);
			CHECK(c[i].err == EBADF,
			      "round %u thread %d ended with %s after %llu calls, want EBADF",
			      round, i, strerror(c[i].err),
			      (unsigned long long)c[i].ok);
		}
	}
	end("5 rounds, every thread ended with EBADF");

	begin("close: the fd closed while the kernel produces, the mapping still receives");
	fill(&r, &big, 60, n_big);
	wait_until(started, &r, "the kernel to start consuming");
	EXPECT_OK(close(r.fd));
	r.fd = -1;
	at = ring_load(&r.kc->in_head);
	CHECK(at < n_big, "all %u consumed before the close: no race tested", at);
	/* the mappings hold the file: the session lives and finishes */
	wait_until(answered, &r, "the session to answer every sample after close()");
	check_records(&r, &big, 60, 16, "after close()");
	CHECK(r.kc->completed == n_big && r.kc->overruns == 0,
	      "completed %llu overruns %llu", (unsigned long long)r.kc->completed,
	      (unsigned long long)r.kc->overruns);
	ring_close(&r);
	if (!wait_until(user_mem_is, &um, "the session's memory to come back"))
		fprintf(stderr, "%s: user_mem_used %llu, want %llu\n", prog,
			(unsigned long long)um.now, (unsigned long long)um.want);
	end("closed at %u of %u, all %u answered", at, n_big, n_big);

	begin("close: munmap while the kernel produces, then close");
	fill(&r, &big, 61, n_big);
	wait_until(started, &r, "the kernel to start consuming");
	at = ring_load(&r.kc->in_head);
	EXPECT_OK(munmap(r.um, r.sc.user_len));
	EXPECT_OK(munmap(r.km, r.sc.kernel_len));
	r.um = r.km = MAP_FAILED;
	CHECK(at < n_big, "all %u consumed before munmap: no race tested", at);
	/* the fd still rings the doorbell of a session nobody maps */
	EXPECT_OK(ring_kick(&r, 0));
	EXPECT_OK(ring_kick(&r, 1));
	ring_close(&r);
	if (!wait_until(user_mem_is, &um, "the session's memory to come back"))
		fprintf(stderr, "%s: user_mem_used %llu, want %llu\n", prog,
			(unsigned long long)um.now, (unsigned long long)um.want);
	end("unmapped at %u of %u", at, n_big);

	begin("close: fd and mappings all gone while the kernel produces");
	fill(&r, &big, 62, n_big);
	wait_until(started, &r, "the kernel to start consuming");
	at = ring_load(&r.kc->in_head);
	EXPECT_OK(close(r.fd));
	r.fd = -1;
	EXPECT_OK(munmap(r.km, r.sc.kernel_len));
	r.km = MAP_FAILED;
	/* the last reference: the release waits for the worker's pass */
	EXPECT_OK(munmap(r.um, r.sc.user_len));
	r.um = MAP_FAILED;
	CHECK(at < n_big, "all %u consumed before the close: no race tested", at);
	if (!wait_until(user_mem_is, &um, "the session's memory to come back"))
		fprintf(stderr, "%s: user_mem_used %llu, want %llu\n", prog,
			(unsigned long long)um.now, (unsigned long long)um.want);
	end("released at %u of %u", at, n_big);

	begin("close: a session fd closed while threads ring its doorbell");
	{
		struct closer c[3];
		pthread_t th[3];
		int nth = 3;

		fill(&r, &t, 63, 256);
		__atomic_store_n(&closers_ready, 0, __ATOMIC_RELEASE);
		for (i = 0; i < nth; i++) {
			c[i] = (struct closer){ .fd = r.fd, .kind = i };
			if (pthread_create(&th[i], NULL, kicker_thread, &c[i]))
				die("pthread_create");
		}
		wait_until(closers_up, &nth, "20 doorbells from each thread");
		EXPECT_OK(close(r.fd));
		r.fd = -1;
		for (i = 0; i < nth; i++) {
			pthread_join(th[i], NULL);
			CHECK(c[i].err == EBADF,
			      "doorbell thread %d ended with %s, want EBADF", i,
			      strerror(c[i].err));
		}
		wait_until(answered, &r, "the session to answer every sample after close()");
		check_records(&r, &t, 63, 1, "doorbells");
		CHECK(r.kc->submitted == 256 && r.kc->completed == 256,
		      "submitted %llu completed %llu",
		      (unsigned long long)r.kc->submitted,
		      (unsigned long long)r.kc->completed);
		ring_close(&r);
	}
	if (!wait_until(user_mem_is, &um, "the session's memory to come back"))
		fprintf(stderr, "%s: user_mem_used %llu, want %llu\n", prog,
			(unsigned long long)um.now, (unsigned long long)um.want);
	end("256 results bit-exact");

	close(um.fd);
	free(t.blob);
	free(big.blob);
	return failures ? 1 : 0;
}

/* ---- root: nothing left ---------------------------------------------------- */

static int nothing_held(void *p)
{
	struct mcai_info *info = p;
	int fd = dev_open(), r = get_info(fd, info);

	close(fd);
	return !r && info->mem_used == 0 && info->nr_pipelines == 0;
}

static int cmd_settle(void)
{
	struct mcai_info info;

	begin("no session or pipeline left after the abuse");
	if (!wait_until(nothing_held, &info, "mem_used and nr_pipelines to reach 0"))
		fprintf(stderr, "%s: mem_used %llu nr_pipelines %u\n", prog,
			(unsigned long long)info.mem_used, info.nr_pipelines);
	end(NULL);
	return failures ? 1 : 0;
}

static u32 num(const char *str)
{
	char *e;
	unsigned long v = strtoul(str, &e, 0);

	if (!*str || *e || v > 0xffffffffu) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, str);
		exit(2);
	}
	return (u32)v;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	prog = "abi_abuse";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(c, "load") && argc == 4)
		return cmd_load(argv[2], num(argv[3]));
	if (!strcmp(c, "swap") && argc == 5)
		return cmd_swap(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(c, "ref") && argc == 4)
		return cmd_ref(argv[2], argv[3]);
	if (!strcmp(c, "traffic") && argc == 4)
		return cmd_traffic(argv[2], num(argv[3]));
	if (!strcmp(c, "ring") && argc == 3)
		return cmd_ring(argv[2]);
	if (!strcmp(c, "mmap") && argc == 3)
		return cmd_mmap(argv[2]);
	if (!strcmp(c, "ioctl") && argc == 4)
		return cmd_ioctl(argv[2], num(argv[3]));
	if (!strcmp(c, "close") && argc == 4)
		return cmd_close(argv[2], argv[3]);
	if (!strcmp(c, "settle") && argc == 2)
		return cmd_settle();
	fprintf(stderr, "usage: see the top of %s\n", __FILE__);
	return 2;
}
