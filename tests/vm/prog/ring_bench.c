// SPDX-License-Identifier: GPL-2.0
/*
 * Tracker issue 3: inferences/s of one model in one guest run through
 *   (1) the zero-copy ring (session, batched doorbell, poll),
 *   (2) the synchronous MCAI_IOC_INFER ioctl,
 *   (3) the user-space engine, no kernel at all,
 * and the per-inference overhead of both kernel paths over pure compute.
 *
 *   ring_bench [-f BLOB] [-n N_SMALL] [-m N_BLOB] [-s SLOTS] [-i]
 *
 * Runs a generated ~1k-MAC model (FC 32->32 ReLU, FC 32->8: 1280 MACs)
 * and, with -f, a blob such as models/fmnist-mlp.mcai.  -i labels the
 * figures "guest instructions" (guest booted with -icount); otherwise
 * they are TCG time and only the ratios mean anything.  $MCAI_SIMD
 * chooses the user-space engine's SIMD path (default auto, the best the
 * CPU has); load the module with the same simd= so that the three paths
 * run the same kernels.  Targets: ring
 * < 25% over pure compute for the small model, ring >= 3x the ioctl.
 * Exit 0 whether or not targets are met, 1 on errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "models/engine/engine.h"
#include "models/engine/simd.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"
#include "uapi/mcai.h"

#define DEV "/dev/mcai"
#define IN_LEN 32
#define HID_LEN 32
#define OUT_LEN 8
#define NAME_SMALL "bench_small"
#define MAX_IN 4096
#define MAX_OUT 256
#define CHECK_EVERY 97		/* ring results compared with the engine */

static const char *prog = "ring_bench";
static const char *unit = "TCG time, ratios only";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static void bail(const char *msg)
{
	fprintf(stderr, "%s: %s\n", prog, msg);
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

struct bmodel {
	u8 *blob;
	u32 size;
	struct mcai_model m;
	void *state;		/* weights packed for the active SIMD path */
	u8 arena[65536] __attribute__((aligned(8)));
	u32 id;
};

static void bmodel_verify(struct bmodel *t, const char *what)
{
	struct mcai_limits lim;
	struct mcai_verdict v;

	u32 need;

	mcai_limits_default(&lim);
	if (mcai_model_state_size(t->blob, t->size, &lim, &need, &v)) {
		fprintf(stderr, "%s: %s rejected: %s\n", prog, what, v.reason);
		exit(1);
	}
	/* the user-space engine runs the same kernels as the module */
	t->state = need ? aligned_alloc(8, (need + 7) / 8 * 8) : NULL;
	if (need && !t->state)
		die("aligned_alloc");
	if (mcai_model_verify(&t->m, t->blob, t->size, &lim, t->state, need,
			      &v)) {
		fprintf(stderr, "%s: %s rejected: %s\n", prog, what, v.reason);
		exit(1);
	}
	if (t->m.arena_size > sizeof(t->arena) || t->m.input_len > MAX_IN ||
	    t->m.output_len > MAX_OUT)
		bail("model too large for the bench buffers");
}

/* FC 32->32 ReLU, FC 32->8: 1280 MACs. */
static struct bmodel *bmodel_small(void)
{
	static s8 w0[HID_LEN * IN_LEN], w1[OUT_LEN * HID_LEN];
	static s32 b0[HID_LEN], m0[HID_LEN], sh0[HID_LEN];
	static s32 b1[OUT_LEN], m1[OUT_LEN], sh1[OUT_LEN];
	struct bmodel *t = calloc(1, sizeof(*t));
	struct mcai_blob_spec s;
	u32 seed = 12345, i;
	char err[160];

	if (!t)
		die("calloc");
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
	s.name = NAME_SMALL;
	s.version = 1;
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
	bmodel_verify(t, "generated blob");
	return t;
}

static struct bmodel *bmodel_file(const char *path)
{
	struct bmodel *t = calloc(1, sizeof(*t));
	char err[200];

	if (!t)
		die("calloc");
	t->blob = mcai_blob_read(path, 1 << 24, &t->size, err, sizeof(err));
	if (!t->blob) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(1);
	}
	bmodel_verify(t, path);
	return t;
}

static int dev_open(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open " DEV);
	return fd;
}

static void load(int fd, struct bmodel *t)
{
	struct mcai_model_load l = {
		.size = sizeof(l),
		.blob_ptr = (uintptr_t)t->blob,
		.blob_size = t->size,
	};

	if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &l) && errno != EEXIST) {
		fprintf(stderr, "%s: MODEL_LOAD %s: %s (%s)\n", prog,
			t->m.name, strerror(errno), l.reason);
		exit(1);
	}
	t->id = l.model_id;
	if (!t->id)
		bail("MODEL_LOAD returned no model id");
}

static int unload(int fd, struct bmodel *t)
{
	struct mcai_model_unload u = { .size = sizeof(u) };

	u.ref.model_id = t->id;
	if (ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u)) {
		fprintf(stderr, "%s: MODEL_UNLOAD %s: %s\n", prog, t->m.name,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Sample @seq of the input stream; the same for every path. */
static void gen(u64 seq, s8 *buf, u32 len)
{
	u32 s = (u32)seq * 2654435761u + 1, i;

	for (i = 0; i < len; i++)
		buf[i] = (s8)rnd(&s);
}

/*
 * Inputs are generated before the clock starts, so every path times only
 * getting N precomputed samples through.
 */
struct inputs {
	s8 *buf;
	u32 n, len;
};

static const s8 *input(const struct inputs *in, u32 i)
{
	return in->buf + (size_t)i * in->len;
}

/* (3) user-space engine.  Returns seconds; keeps a checksum alive. */
static double run_user(struct bmodel *t, const struct inputs *in, long *sum)
{
	s8 sc[MAX_OUT];
	double t0 = now_s();
	u32 i;

	for (i = 0; i < in->n; i++)
		*sum += mcai_model_run(&t->m, input(in, i), sc, t->arena);
	return now_s() - t0;
}

/* (2) synchronous ioctl. */
static double run_ioctl(int fd, struct bmodel *t, const struct inputs *in,
			long *sum)
{
	s8 sc[MAX_OUT], ref[MAX_OUT];
	struct mcai_infer q;
	double t0, dt;
	u32 i;

	t0 = now_s();
	for (i = 0; i < in->n; i++) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.ref.model_id = t->id;
		q.input_ptr = (uintptr_t)input(in, i);
		q.input_len = in->len;
		q.scores_ptr = (uintptr_t)sc;
		q.scores_len = sizeof(sc);
		if (ioctl(fd, MCAI_IOC_INFER, &q))
			die("MCAI_IOC_INFER");
		*sum += q.class_id;
	}
	dt = now_s() - t0;
	/* The last one, bit-exact with the engine. */
	mcai_model_run(&t->m, input(in, in->n - 1), ref, t->arena);
	if (memcmp(sc, ref, t->m.output_len))
		bail("ioctl scores differ from the engine");
	return dt;
}

/* (1) zero-copy ring. */
struct ring {
	int fd;
	struct mcai_session_create sc;
	u8 *um, *km;
	struct mcai_user_ctl *uc;
	struct mcai_kernel_ctl *kc;
};

static void ring_open(struct ring *r, struct bmodel *t, u32 slots)
{
	memset(r, 0, sizeof(*r));
	r->fd = dev_open();
	r->sc.size = sizeof(r->sc);
	r->sc.ref.model_id = t->id;
	r->sc.in_slots = slots;
	r->sc.res_slots = slots;
	if (ioctl(r->fd, MCAI_IOC_SESSION_CREATE, &r->sc))
		die("SESSION_CREATE");
	if (r->sc.input_len != t->m.input_len ||
	    r->sc.output_len != t->m.output_len)
		bail("session shape differs from the model");
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

static void ring_close(struct ring *r)
{
	munmap(r->um, r->sc.user_len);
	munmap(r->km, r->sc.kernel_len);
	close(r->fd);
}

static s8 *in_slot(struct ring *r, u32 i)
{
	return (s8 *)(r->um + 4096 + (size_t)(i & (r->sc.in_slots - 1)) *
		      r->sc.slot_size);
}

static const struct mcai_result *res_rec(struct ring *r, u32 i)
{
	return (const void *)(r->km + 4096 +
			      (size_t)(i & (r->sc.res_slots - 1)) *
			      r->sc.res_size);
}

/*
 * Consumer strategy: fill every free slot, but only once at least half
 * the ring is free (or nothing is in flight), with one doorbell per fill;
 * then sleep in poll() until the worker's pass publishes results (it
 * wakes poll once per pass), consume them all and release them with one
 * store.  Results for the bit-exact check are copied aside and compared
 * after the clock stops, so the check costs the ring path nothing.
 */
static double run_ring(struct bmodel *t, const struct inputs *in, u32 slots,
		       long *sum, u64 *kicks, u64 *polls, u32 *checked)
{
	s8 ref[MAX_OUT];
	struct ring r;
	u32 tail = 0, rhead = 0, sent = 0, got = 0, i, ncheck;
	u32 out_len = t->m.output_len, low;
	s8 *keep;
	int stalls = 0;
	double t0, dt;

	ring_open(&r, t, slots);
	low = r.sc.in_slots < r.sc.res_slots ? r.sc.in_slots : r.sc.res_slots;
	low = low / 2 ? low / 2 : 1;
	ncheck = (in->n + CHECK_EVERY - 1) / CHECK_EVERY;
	keep = malloc((size_t)ncheck * out_len);
	if (!keep)
		die("malloc");
	*kicks = 0;
	*polls = 0;
	*checked = 0;
	t0 = now_s();
	while (got < in->n) {
		u32 head = __atomic_load_n(&r.kc->in_head, __ATOMIC_ACQUIRE);
		u32 rtail, room;
		struct pollfd p = { .fd = r.fd, .events = POLLIN };

		/* Room also in the result ring: never ahead of it. */
		room = r.sc.in_slots - (tail - head);
		if (r.sc.res_slots - (tail - rhead) < room)
			room = r.sc.res_slots - (tail - rhead);
		if (room > in->n - sent)
			room = in->n - sent;
		/*
		 * Results never outnumber free result slots, so the kernel
		 * never stops for back-pressure: one doorbell per fill is
		 * enough.
		 */
		if (room && (room >= low || tail == rhead)) {
			for (i = 0; i < room; i++)
				memcpy(in_slot(&r, tail + i),
				       input(in, sent + i), in->len);
			tail += room;
			sent += room;
			__atomic_store_n(&r.uc->in_tail, tail,
					 __ATOMIC_RELEASE);
			if (ioctl(r.fd, MCAI_IOC_SESSION_KICK))
				die("SESSION_KICK");
			(*kicks)++;
		}
		rtail = __atomic_load_n(&r.kc->res_tail, __ATOMIC_ACQUIRE);
		if (rtail == rhead) {
			int pr = poll(&p, 1, 5000);

			(*polls)++;
			if (pr < 0 && errno != EINTR)
				die("poll");
			if (pr <= 0) {
				if (++stalls > 3) {
					fprintf(stderr,
						"%s: ring stalled: sent %u got %u\n",
						prog, sent, got);
					exit(1);
				}
				continue;
			}
			if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
				bail("poll error on the session");
			rtail = __atomic_load_n(&r.kc->res_tail,
						__ATOMIC_ACQUIRE);
		}
		while (rhead != rtail) {
			const struct mcai_result *res = res_rec(&r, rhead);

			if (res->seq != got || res->class_id < 0 ||
			    res->n_scores != out_len) {
				fprintf(stderr,
					"%s: result %u: seq %llu class %d n_scores %u\n",
					prog, got,
					(unsigned long long)res->seq,
					res->class_id, res->n_scores);
				exit(1);
			}
			*sum += res->class_id;
			if (got % CHECK_EVERY == 0)
				memcpy(keep + (size_t)(got / CHECK_EVERY) *
				       out_len, res->scores, out_len);
			got++;
			rhead++;
		}
		__atomic_store_n(&r.uc->res_head, rhead, __ATOMIC_RELEASE);
	}
	dt = now_s() - t0;
	/* Every CHECK_EVERY-th result, bit-exact with the engine. */
	for (i = 0; i < ncheck; i++) {
		mcai_model_run(&t->m, input(in, i * CHECK_EVERY), ref,
				t->arena);
		if (memcmp(keep + (size_t)i * out_len, ref, out_len)) {
			fprintf(stderr,
				"%s: ring seq %u: scores differ from the engine\n",
				prog, i * CHECK_EVERY);
			exit(1);
		}
		(*checked)++;
	}
	free(keep);
	if (r.kc->completed != in->n || r.kc->dropped || r.kc->shed ||
	    r.kc->overruns) {
		fprintf(stderr,
			"%s: counters: completed %llu dropped %llu shed %llu overruns %llu\n",
			prog, (unsigned long long)r.kc->completed,
			(unsigned long long)r.kc->dropped,
			(unsigned long long)r.kc->shed,
			(unsigned long long)r.kc->overruns);
		exit(1);
	}
	ring_close(&r);
	return dt;
}

static void bench(int fd, struct bmodel *t, u32 n, u32 slots)
{
	struct inputs in;
	double tu, ti, tr, cu, ci, cr;
	long sum = 0;
	u64 kicks, polls;
	u32 i, checked;
	u64 macs = t->m.macs;

	in.n = n;
	in.len = t->m.input_len;
	in.buf = malloc((size_t)n * in.len);
	if (!in.buf)
		die("malloc");
	for (i = 0; i < n; i++)
		gen(i, in.buf + (size_t)i * in.len, in.len);

	load(fd, t);
	/* Warm-up: caches, TCG translation blocks. */
	run_user(t, &(struct inputs){ in.buf, n < 200 ? n : 200, in.len },
		 &sum);
	tu = run_user(t, &in, &sum);
	ti = run_ioctl(fd, t, &in, &sum);
	tr = run_ring(t, &in, slots, &sum, &kicks, &polls, &checked);

	cu = tu / n * 1e9;
	ci = ti / n * 1e9;
	cr = tr / n * 1e9;
	printf("== %s v%u: %u->%u, %llu MACs, N=%u, ring %u slots (%s)\n",
	       t->m.name, t->m.version, t->m.input_len, t->m.output_len,
	       (unsigned long long)macs, n, slots, unit);
	printf("  user engine : %10.0f inf/s  %9.0f ns/inf\n", n / tu, cu);
	printf("  ioctl       : %10.0f inf/s  %9.0f ns/inf\n", n / ti, ci);
	printf("  ring        : %10.0f inf/s  %9.0f ns/inf  (%llu kicks, %llu polls, %u results checked bit-exact)\n",
	       n / tr, cr, (unsigned long long)kicks,
	       (unsigned long long)polls, checked);
	printf("  ratio ring/user-engine time : %.3f\n", tr / tu);
	printf("  ratio ioctl/ring time       : %.3f\n", ti / tr);
	printf("  ring  overhead over compute : %+.0f ns/inf (%+.1f%%)\n",
	       cr - cu, (cr - cu) / cu * 100);
	printf("  ioctl overhead over compute : %+.0f ns/inf (%+.1f%%)\n",
	       ci - cu, (ci - cu) / cu * 100);
	printf("  targets: ring overhead < 25%%: %s; ring >= 3x ioctl: %s\n",
	       (cr - cu) / cu < 0.25 ? "MET" : "MISSED",
	       ti / tr >= 3.0 ? "MET" : "MISSED");
	printf("  (checksum %ld)\n", sum);
	fflush(stdout);
	free(in.buf);
}

/* The SIMD path of each side, so that the figures say what produced them. */
static void print_paths(void)
{
	char mod[32] = "?";
	FILE *f = fopen("/sys/module/mcai/parameters/simd", "r");

	if (f) {
		if (fgets(mod, sizeof(mod), f))
			mod[strcspn(mod, "\n")] = 0;
		fclose(f);
	}
	printf("simd: user-space engine %s, module %s\n",
	       mcai_simd_name(mcai_simd_active()), mod);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-f BLOB] [-n N_SMALL] [-m N_BLOB] [-s SLOTS] [-i]\n",
		prog);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *blob_path = NULL;
	u32 n_small = 20000, n_blob = 2000, slots = 1024;
	struct bmodel *small, *file = NULL;
	int c, fd, rc = 0;

	while ((c = getopt(argc, argv, "f:n:m:s:i")) != -1) {
		switch (c) {
		case 'f':
			blob_path = optarg;
			break;
		case 'n':
			n_small = (u32)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			n_blob = (u32)strtoul(optarg, NULL, 0);
			break;
		case 's':
			slots = (u32)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			unit = "guest instructions";
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !n_small || !n_blob || !slots ||
	    (slots & (slots - 1)) || slots > 4096)
		usage();

	/* before any model is loaded: weights are packed for this path */
	if (mcai_simd_select(getenv("MCAI_SIMD"))) {
		fprintf(stderr, "%s: MCAI_SIMD=%s: unknown or not supported here\n",
			prog, getenv("MCAI_SIMD"));
		return 1;
	}
	print_paths();
	small = bmodel_small();
	if (blob_path)
		file = bmodel_file(blob_path);
	fd = dev_open();

	bench(fd, small, n_small, slots);
	if (unload(fd, small))
		rc = 1;
	if (file) {
		bench(fd, file, n_blob, slots);
		if (unload(fd, file))
			rc = 1;
	}
	close(fd);
	return rc;
}
