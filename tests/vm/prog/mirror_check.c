// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the sample mirror (kmod/mirror.c, uapi "Sample mirror"),
 * through the raw ABI on a session of a model loaded from a blob file:
 *
 *   mirror_check basic BLOB N K   N inferences, mirror 1 in K set at
 *                                 SESSION_CREATE: exactly N/K records,
 *                                 each with the input, sequence, model,
 *                                 version, class and score of its result
 *   mirror_check full BLOB N      mirror every input (SESSION_MIRROR) of
 *                                 N > the queue: every inference completes,
 *                                 the queue holds what fits, the rest is
 *                                 counted dropped
 *   mirror_check pipeline BLOB    the same on a session bound to an
 *                                 ensemble pipeline (the model twice)
 *   mirror_check hostile BLOB     bad requests, unprivileged reader
 *   mirror_check off BLOB         module loaded with mirror_kb=0
 *   mirror_check push BLOB N K    N inferences mirrored 1 in K, no read
 *                                 (for `mcaictl mirror` to drain)
 *   mirror_check bench BLOB N     time per inference (guest instructions
 *                                 under tests/vm/run.sh --icount): mirror
 *                                 off, every input queued (drained between
 *                                 chunks, the reader not timed), every
 *                                 input dropped (queue full)
 *
 * Inputs are a deterministic function of the sequence number.  Exit 0
 * pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uapi/mcai.h"
#include "tests/vm/prog/report.h"

typedef uint8_t u8;
typedef int8_t s8;
typedef uint32_t u32;
typedef int32_t s32;
typedef uint64_t u64;

#define CHECK(c, ...) do { if (!(c)) fail(__VA_ARGS__); } while (0)
#define EXPECT_ERR(call, e) do {					\
	errno = 0;							\
	if ((call) != -1 || errno != (e))				\
		fail("line %d: %s: errno %d (%s), want %d", __LINE__,	\
		     #call, errno, strerror(errno), (e));		\
} while (0)

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static int dev_open(void)
{
	int fd = open("/dev/" MCAI_DEVICE_NAME, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/mcai");
	return fd;
}

/* Load the blob (an already loaded one is fine); its model id. */
static u32 load_blob(const char *path)
{
	struct mcai_model_load req;
	struct stat sb;
	u8 *blob;
	int fd = open(path, O_RDONLY), dfd;

	if (fd < 0 || fstat(fd, &sb))
		die(path);
	blob = malloc(sb.st_size);
	if (!blob || read(fd, blob, sb.st_size) != sb.st_size)
		die(path);
	close(fd);
	dfd = dev_open();
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.blob_ptr = (uintptr_t)blob;
	req.blob_size = sb.st_size;
	if (ioctl(dfd, MCAI_IOC_MODEL_LOAD, &req) && errno != EEXIST) {
		fprintf(stderr, "%s: load %s: %s (%s)\n", prog, path,
			strerror(errno), req.reason);
		exit(1);
	}
	free(blob);
	close(dfd);
	return req.model_id;
}

struct ring {
	int fd;
	struct mcai_session_create sc;
	u8 *um, *km;
	struct mcai_user_ctl *uc;
	struct mcai_kernel_ctl *kc;
	u32 tail, rhead;
};

/* A session on @fd (-1: a new fd) bound to a model, or a pipeline. */
static void ring_open_on(struct ring *r, int fd, u32 flags, u32 ref_id,
			 u32 every)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd >= 0 ? fd : dev_open();
	r->sc.size = sizeof(r->sc);
	r->sc.flags = flags;
	r->sc.ref.model_id = ref_id;
	r->sc.mirror_every = every;
	if (ioctl(r->fd, MCAI_IOC_SESSION_CREATE, &r->sc))
		die("SESSION_CREATE");
	r->um = mmap(NULL, r->sc.user_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, r->sc.user_off);
	r->km = mmap(NULL, r->sc.kernel_len, PROT_READ, MAP_SHARED, r->fd,
		     r->sc.kernel_off);
	if (r->um == MAP_FAILED || r->km == MAP_FAILED)
		die("mmap");
	r->uc = (void *)r->um;
	r->kc = (void *)r->km;
}

static void ring_open(struct ring *r, u32 model_id, u32 every)
{
	ring_open_on(r, -1, 0, model_id, every);
}

static void ring_close(struct ring *r)
{
	munmap(r->um, r->sc.user_len);
	munmap(r->km, r->sc.kernel_len);
	close(r->fd);
}

static void gen(u64 seq, s8 *buf, u32 len)
{
	u32 s = (u32)seq * 2654435761u + 7, i;

	for (i = 0; i < len; i++) {
		s = s * 1103515245u + 12345u;
		buf[i] = (s8)(s >> 16);
	}
}

struct res {
	s32 class_id;
	s32 score;
	u32 version;
};

/*
 * Push @n samples through @r (seq from 0), wait for each chunk's results
 * and keep class, score and version per seq in @out (may be NULL).
 */
static void push(struct ring *r, u32 n, struct res *out)
{
	u32 chunk = r->sc.in_slots < r->sc.res_slots ? r->sc.in_slots :
		    r->sc.res_slots, done = 0;

	while (done < n) {
		u32 k = n - done < chunk ? n - done : chunk, i;
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int spins = 0;

		for (i = 0; i < k; i++)
			gen(r->tail + i, (s8 *)(r->um + 4096 + (size_t)((r->tail + i) &
			    (r->sc.in_slots - 1)) * r->sc.slot_size),
			    r->sc.input_len);
		r->tail += k;
		__atomic_store_n(&r->uc->in_tail, r->tail, __ATOMIC_RELEASE);
		if (ioctl(r->fd, MCAI_IOC_SESSION_KICK))
			die("KICK");
		while (__atomic_load_n(&r->kc->res_tail, __ATOMIC_ACQUIRE) -
		       r->rhead < k) {
			if (poll(&p, 1, 1000) == 0 && ++spins > 30) {
				fail("no results after 30 s");
				exit(1);
			}
		}
		for (i = 0; i < k; i++) {
			const struct mcai_result *res = (const void *)(r->km +
				4096 + (size_t)((r->rhead + i) &
				(r->sc.res_slots - 1)) * r->sc.res_size);

			CHECK(res->seq == r->rhead + i, "seq %llu, want %u",
			      (unsigned long long)res->seq, r->rhead + i);
			CHECK(res->class_id >= 0, "seq %u not computed", done + i);
			if (out) {
				out[done + i].class_id = res->class_id;
				out[done + i].score =
					res->scores[(u32)res->class_id <
						    res->n_scores ?
						    res->class_id : 0];
				out[done + i].version = res->version;
			}
		}
		r->rhead += k;
		__atomic_store_n(&r->uc->res_head, r->rhead, __ATOMIC_RELEASE);
		done += k;
	}
}

static int mirror_read(int fd, void *buf, u32 len, struct mcai_mirror_read *rd)
{
	memset(rd, 0, sizeof(*rd));
	rd->size = sizeof(*rd);
	rd->buf_ptr = (uintptr_t)buf;
	rd->buf_len = len;
	return ioctl(fd, MCAI_IOC_MIRROR_READ, rd);
}

/* Empty the queue; the counters after. */
static void drain(int fd, struct mcai_mirror_read *rd)
{
	static u8 buf[1 << 20];

	do {
		if (mirror_read(fd, buf, sizeof(buf), rd))
			die("MIRROR_READ");
	} while (rd->n_records);
}

static void test_basic(const char *blob, u32 n, u32 k)
{
	u32 id = load_blob(blob), want = n / k, got = 0, i, off;
	struct mcai_mirror_read rd, before;
	struct res *res = calloc(n, sizeof(*res));
	static u8 buf[8 << 20];
	s8 in[65536];
	struct ring r;

	if (!res)
		die("calloc");
	ring_open(&r, id, k);
	drain(r.fd, &before);
	push(&r, n, res);
	/* a small buffer first: whole records only, in order */
	for (off = 0;;) {
		u32 len = got < 3 ? 1024 : (u32)sizeof(buf) - off;

		if (mirror_read(r.fd, buf + off, len, &rd))
			die("MIRROR_READ");
		if (!rd.n_records)
			break;
		CHECK(got >= 3 || rd.n_records == 1,
		      "a 1 KiB read returned %u records", rd.n_records);
		/* a bounded copy under the queue's lock: ~64 KiB per call */
		CHECK(rd.bytes < 65536 + 2 * r.sc.slot_size + 64,
		      "one read returned %u bytes", rd.bytes);
		got += rd.n_records;
		off += rd.bytes;
	}
	CHECK(got == want, "%u inferences, 1 in %u: %u records, want %u", n,
	      k, got, want);
	CHECK(rd.queued == 0, "queued %u after draining", rd.queued);
	CHECK(rd.mirrored - before.mirrored == want, "mirrored %llu",
	      (unsigned long long)(rd.mirrored - before.mirrored));
	CHECK(rd.dropped == before.dropped, "%llu dropped",
	      (unsigned long long)(rd.dropped - before.dropped));
	for (i = 0, off = 0; i < got && i < want; i++) {
		const struct mcai_mirror_record *h = (const void *)(buf + off);
		u64 seq = (u64)(i + 1) * k - 1;

		CHECK(h->rec_len == ((sizeof(*h) + r.sc.input_len + 7) & ~7u),
		      "rec_len %u", h->rec_len);
		CHECK(h->input_len == r.sc.input_len, "input_len %u",
		      h->input_len);
		CHECK(h->input_seq == seq, "record %u: input_seq %llu, want %llu",
		      i, (unsigned long long)h->input_seq,
		      (unsigned long long)seq);
		CHECK(i == 0 || h->sample_seq ==
		      ((const struct mcai_mirror_record *)buf)->sample_seq + i,
		      "sample_seq not consecutive");
		CHECK(h->model_id == id && h->version == res[seq].version,
		      "model %u v%u", h->model_id, h->version);
		CHECK(h->class_id == res[seq].class_id &&
		      h->score == res[seq].score,
		      "record %u: class %d score %d, result %d %d", i,
		      h->class_id, h->score, res[seq].class_id,
		      res[seq].score);
		CHECK(h->timestamp_ns > 0, "record %u: timestamp 0", i);
		gen(seq, in, r.sc.input_len);
		CHECK(!memcmp(h->input, in, r.sc.input_len),
		      "record %u: input differs from sample %llu", i,
		      (unsigned long long)seq);
		off += h->rec_len;
	}
	printf("mirror basic: %u inferences, 1 in %u: %u records, inputs exact\n",
	       n, k, got);
	ring_close(&r);
	free(res);
}

/* A session on an ensemble pipeline: the record names the last model. */
static void test_pipeline(const char *blob)
{
	u32 id = load_blob(blob), got = 0, i, off = 0;
	struct mcai_pipeline_create pc;
	struct mcai_mirror_read rd;
	static u8 buf[1 << 20];
	struct res res[30];
	s8 in[65536];
	struct ring r;
	int fd = dev_open();

	memset(&pc, 0, sizeof(pc));
	pc.size = sizeof(pc);
	strcpy(pc.name, "mirror-pipe");
	pc.type = MCAI_PIPE_ENSEMBLE_VOTE;
	pc.n_models = 2;
	pc.model_ids[0] = id;
	pc.model_ids[1] = id;
	pc.escalate_below = -129;
	if (ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &pc))
		die("PIPELINE_CREATE");
	drain(fd, &rd);
	ring_open_on(&r, fd, MCAI_SESSION_PIPELINE, pc.pipeline_id, 3);
	push(&r, 30, res);
	do {
		if (mirror_read(fd, buf + off, sizeof(buf) - off, &rd))
			die("MIRROR_READ");
		got += rd.n_records;
		off += rd.bytes;
	} while (rd.n_records);
	CHECK(got == 10, "pipeline session, 30 inferences, 1 in 3: %u records",
	      got);
	for (i = 0, off = 0; i < got && i < 10; i++) {
		const struct mcai_mirror_record *h = (const void *)(buf + off);
		u64 seq = 3 * i + 2;

		gen(seq, in, r.sc.input_len);
		CHECK(h->input_seq == seq && h->model_id == id &&
		      h->class_id == res[seq].class_id &&
		      !memcmp(h->input, in, r.sc.input_len),
		      "pipeline record %u: seq %llu model %u class %d", i,
		      (unsigned long long)h->input_seq, h->model_id,
		      h->class_id);
		off += h->rec_len;
	}
	ring_close(&r);
	printf("mirror pipeline: 30 inferences, 1 in 3: %u records\n", got);
}

static void test_full(const char *blob, u32 n)
{
	u32 id = load_blob(blob), per;
	struct mcai_mirror_read before, rd;
	struct mcai_session_mirror sm = { .size = sizeof(sm), .every = 1 };
	struct ring r;

	ring_open(&r, id, 0);
	drain(r.fd, &before);
	if (ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm))
		die("SESSION_MIRROR");
	push(&r, n, NULL);
	/* nothing waits for the queue, nothing is lost to it */
	CHECK(r.kc->completed == n && r.kc->dropped == 0,
	      "completed %llu dropped %llu of %u",
	      (unsigned long long)r.kc->completed,
	      (unsigned long long)r.kc->dropped, n);
	if (mirror_read(r.fd, NULL, 0, &rd))
		die("MIRROR_READ counters");
	per = (sizeof(struct mcai_mirror_record) + r.sc.input_len + 7) & ~7u;
	CHECK(rd.queued == rd.queue_bytes / per,
	      "queued %u, the queue holds %u", rd.queued, rd.queue_bytes / per);
	CHECK(rd.dropped - before.dropped == n - rd.queued,
	      "dropped %llu, want %u",
	      (unsigned long long)(rd.dropped - before.dropped),
	      n - rd.queued);
	printf("mirror full: %u inferences completed, %u queued, %llu dropped\n",
	       n, rd.queued, (unsigned long long)(rd.dropped - before.dropped));
	drain(r.fd, &rd);
	/* turned off: nothing more is mirrored */
	sm.every = 0;
	if (ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm))
		die("SESSION_MIRROR off");
	push(&r, 50, NULL);
	if (mirror_read(r.fd, NULL, 0, &rd))
		die("MIRROR_READ counters");
	CHECK(rd.queued == 0, "%u queued with the mirror off", rd.queued);
	ring_close(&r);
}

static void test_hostile(const char *blob)
{
	u32 id = load_blob(blob);
	struct mcai_session_mirror sm;
	struct mcai_mirror_read rd;
	struct mcai_session_create sc;
	static u8 big[1 << 20];
	u8 small[16];
	struct ring r;
	int fd = dev_open();
	pid_t pid;
	int st;

	/* SESSION_MIRROR without a session, bad flags, pad, size */
	memset(&sm, 0, sizeof(sm));
	sm.size = sizeof(sm);
	sm.every = 2;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_MIRROR, &sm), EINVAL);
	ring_open(&r, id, 0);
	sm.flags = 1;
	EXPECT_ERR(ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm), EINVAL);
	sm.flags = 0;
	sm.pad = 1;
	EXPECT_ERR(ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm), EINVAL);
	sm.pad = 0;
	sm.size = 8;
	EXPECT_ERR(ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm), EINVAL);
	sm.size = sizeof(sm);
	CHECK(!ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm), "SESSION_MIRROR: %s",
	      strerror(errno));
	ring_close(&r);

	/* SESSION_CREATE: pad must be 0; the old size still works */
	memset(&sc, 0, sizeof(sc));
	sc.size = sizeof(sc);
	sc.ref.model_id = id;
	sc.pad = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EINVAL);
	sc.pad = 0;
	sc.size = MCAI_SESSION_CREATE_SIZE_VER1;
	sc.mirror_every = 7;	/* beyond the declared size: not read */
	CHECK(!ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc),
	      "SESSION_CREATE of the first size: %s", strerror(errno));
	close(fd);
	fd = dev_open();

	/* MIRROR_READ: flags, short size, bad buffer, short buffer */
	memset(&rd, 0, sizeof(rd));
	rd.size = sizeof(rd);
	rd.flags = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MIRROR_READ, &rd), EINVAL);
	rd.flags = 0;
	rd.size = 12;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MIRROR_READ, &rd), EINVAL);
	drain(fd, &rd);
	ring_open(&r, id, 1);
	push(&r, 2, NULL);
	ring_close(&r);
	EXPECT_ERR(mirror_read(fd, small, sizeof(small), &rd), ENOSPC);
	CHECK(!mirror_read(fd, NULL, 0, &rd) && rd.queued == 2,
	      "ENOSPC consumed records: %u queued", rd.queued);
	/* a buffer the caller cannot write loses nothing */
	EXPECT_ERR(mirror_read(fd, (void *)16, 1 << 20, &rd), EFAULT);
	CHECK(!mirror_read(fd, NULL, 0, &rd) && rd.queued == 2,
	      "EFAULT consumed records: %u queued", rd.queued);
	CHECK(!mirror_read(fd, big, sizeof(big), &rd) && rd.n_records == 2 &&
	      rd.queued == 0, "after EFAULT: read %u, %u left",
	      rd.n_records, rd.queued);

	/* an unprivileged reader gets nothing, even with an fd of its own */
	pid = fork();
	if (pid == 0) {
		int ufd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		ufd = open("/dev/" MCAI_DEVICE_NAME, O_RDWR);
		if (ufd < 0)
			_exit(3);
		memset(&rd, 0, sizeof(rd));
		rd.size = sizeof(rd);
		_exit(ioctl(ufd, MCAI_IOC_MIRROR_READ, &rd) == -1 &&
		      errno == EPERM ? 0 : 4);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0, "unprivileged MIRROR_READ: status %d", st);
	close(fd);
	printf("mirror hostile: done\n");
}

static void test_off(const char *blob)
{
	u32 id = load_blob(blob);
	struct mcai_session_mirror sm = { .size = sizeof(sm), .every = 3 };
	struct mcai_session_create sc;
	struct mcai_mirror_read rd;
	struct mcai_info info = { .size = sizeof(info) };
	struct ring r;
	int fd = dev_open();

	if (ioctl(fd, MCAI_IOC_GET_INFO, &info))
		die("GET_INFO");
	CHECK(!(info.features & MCAI_FEAT_MIRROR), "MCAI_FEAT_MIRROR with mirror_kb=0");
	memset(&sc, 0, sizeof(sc));
	sc.size = sizeof(sc);
	sc.ref.model_id = id;
	sc.mirror_every = 2;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_SESSION_CREATE, &sc), EOPNOTSUPP);
	EXPECT_ERR(mirror_read(fd, NULL, 0, &rd), EOPNOTSUPP);
	ring_open(&r, id, 0);
	EXPECT_ERR(ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm), EOPNOTSUPP);
	sm.every = 0;
	CHECK(!ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm), "every=0 refused");
	push(&r, 10, NULL);
	ring_close(&r);
	close(fd);
	printf("mirror off: done\n");
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* @n inferences in chunks of 128; ns per inference, the reader excluded. */
static double bench_one(u32 id, u32 every, bool drain_between, u32 n)
{
	struct mcai_session_mirror sm = { .size = sizeof(sm), .every = every };
	struct mcai_mirror_read rd;
	struct ring r;
	u64 t = 0, t0;
	u32 done;

	ring_open(&r, id, 0);
	drain(r.fd, &rd);
	if (!drain_between && every) {
		/* fill the queue first: every sample below is a drop */
		sm.every = 1;
		ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm);
		push(&r, 2048, NULL);
		sm.every = every;
	}
	if (ioctl(r.fd, MCAI_IOC_SESSION_MIRROR, &sm))
		die("SESSION_MIRROR");
	push(&r, 128, NULL);	/* warm up */
	if (drain_between)
		drain(r.fd, &rd);
	for (done = 0; done < n; done += 128) {
		t0 = now_ns();
		push(&r, 128, NULL);
		t += now_ns() - t0;
		if (drain_between)
			drain(r.fd, &rd);
	}
	ring_close(&r);
	drain(dev_open(), &rd);
	return (double)t / done;
}

static void test_bench(const char *blob, u32 n)
{
	u32 id = load_blob(blob);

	for (int rep = 0; rep < 2; rep++) {
		double off = bench_one(id, 0, false, n);
		double q = bench_one(id, 1, true, n);
		double d = bench_one(id, 1, false, n);

		printf("mirror bench: per inference: off %.0f, queued %.0f (+%.0f), dropped %.0f (+%.0f)\n",
		       off, q, q - off, d, d - off);
	}
}

int main(int argc, char **argv)
{
	prog = "mirror_check";
	if (argc >= 5 && !strcmp(argv[1], "basic")) {
		test_basic(argv[2], atoi(argv[3]), atoi(argv[4]));
	} else if (argc >= 4 && !strcmp(argv[1], "full")) {
		test_full(argv[2], atoi(argv[3]));
	} else if (argc >= 3 && !strcmp(argv[1], "pipeline")) {
		test_pipeline(argv[2]);
	} else if (argc >= 3 && !strcmp(argv[1], "hostile")) {
		test_hostile(argv[2]);
	} else if (argc >= 3 && !strcmp(argv[1], "off")) {
		test_off(argv[2]);
	} else if (argc >= 4 && !strcmp(argv[1], "bench")) {
		test_bench(argv[2], atoi(argv[3]));
	} else if (argc >= 5 && !strcmp(argv[1], "push")) {
		struct ring r;

		ring_open(&r, load_blob(argv[2]), atoi(argv[4]));
		push(&r, atoi(argv[3]), NULL);
		ring_close(&r);
	} else {
		fprintf(stderr, "usage: see the top of tests/vm/prog/mirror_check.c\n");
		return 2;
	}
	if (failures)
		fprintf(stderr, "%s: %d failures\n", prog, failures);
	return failures ? 1 : 0;
}
