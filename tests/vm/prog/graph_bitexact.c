// SPDX-License-Identifier: GPL-2.0
/*
 * Models of either blob format through /dev/mcai, bit-exact with the
 * user-space engine: each blob is loaded (the module runs its test
 * vectors), MODEL_INFO must report the MACs and arena user space
 * computes, then the same pseudo-random inputs go through
 * MCAI_IOC_INFER and through a session ring, and every score byte and
 * class must equal mcai_model_run()'s.  Exit 0 pass, 1 fail.
 *
 * usage: graph_bitexact [--samples N] BLOB...
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "models/engine/model.h"
#include "models/engine/simd.h"
#include "models/train/writer.h"
#include "report.h"
#include "ring_common.h"

#define RING_SLOTS	16U	/* a power of two; samples go in batches */
#define WAIT_S		120

struct model_run {
	struct mcai_model m;
	u8 *blob;
	u32 blob_size;
	void *state, *arena;
	s8 *in, *want;		/* samples * input_len, samples * output_len */
	int *cls;
	u32 samples;
};

static u32 rnd(u32 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void model_free(struct model_run *r)
{
	free(r->blob);
	free(r->state);
	free(r->arena);
	free(r->in);
	free(r->want);
	free(r->cls);
}

/* Verify in user space and compute the expected scores of every sample. */
static int model_prepare(struct model_run *r, const char *path, u32 samples)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	char err[256];
	u32 need, i, seed = 0x9e3779b9;
	size_t k;

	r->samples = samples;
	r->blob = mcai_blob_read(path, MCAI_DEFAULT_MAX_BLOB, &r->blob_size,
				 err, sizeof(err));
	if (!r->blob) {
		fail("%s", err);
		return -1;
	}
	mcai_limits_default(&lim);
	if (mcai_model_state_size(r->blob, r->blob_size, &lim, &need, &v) ||
	    (need && !(r->state = aligned_alloc(8, (need + 7) & ~7U))) ||
	    mcai_model_verify(&r->m, r->blob, r->blob_size, &lim, r->state,
			      need, &v)) {
		fail("%s: refused in user space with the module's default limits: %s",
		     path, need && !r->state ? "no memory" : v.reason);
		return -1;
	}
	r->arena = aligned_alloc(8, r->m.arena_size + 8);
	r->in = malloc((size_t)samples * r->m.input_len);
	r->want = malloc((size_t)samples * r->m.output_len);
	r->cls = calloc(samples, sizeof(*r->cls));
	if (!r->arena || !r->in || !r->want || !r->cls) {
		fail("out of memory");
		return -1;
	}
	for (k = 0; k < (size_t)samples * r->m.input_len; k++)
		r->in[k] = (s8)rnd(&seed);
	for (i = 0; i < samples; i++)
		r->cls[i] = mcai_model_run(&r->m,
					   r->in + (size_t)i * r->m.input_len,
					   r->want + (size_t)i * r->m.output_len,
					   r->arena);
	return 0;
}

static void check_info(int fd, const struct model_run *r, u32 id)
{
	struct mcai_model_info mi = { .size = sizeof(mi), .ref.model_id = id };

	if (ioctl(fd, MCAI_IOC_MODEL_INFO, &mi)) {
		fail("%s: MODEL_INFO: %s", r->m.name, strerror(errno));
		return;
	}
	if (mi.macs != r->m.macs || mi.arena_size != r->m.arena_size ||
	    mi.input_len != r->m.input_len || mi.output_len != r->m.output_len)
		fail("%s: kernel says macs %llu arena %u in %u out %u, user space %llu %u %u %u",
		     r->m.name, (unsigned long long)mi.macs, mi.arena_size,
		     mi.input_len, mi.output_len, (unsigned long long)r->m.macs,
		     r->m.arena_size, r->m.input_len, r->m.output_len);
}

static void check_ioctl(int fd, const struct model_run *r, u32 id)
{
	s8 *ks = malloc(r->m.output_len);
	u32 i, bad = 0;

	if (!ks) {
		fail("out of memory");
		return;
	}
	for (i = 0; i < r->samples; i++) {
		struct mcai_infer inf = {
			.size = sizeof(inf),
			.ref.model_id = id,
			.input_ptr = (uintptr_t)(r->in +
						 (size_t)i * r->m.input_len),
			.input_len = r->m.input_len,
			.scores_ptr = (uintptr_t)ks,
			.scores_len = r->m.output_len,
		};

		if (ioctl(fd, MCAI_IOC_INFER, &inf)) {
			fail("%s: INFER %u: %s", r->m.name, i, strerror(errno));
			break;
		}
		if (inf.class_id != r->cls[i] ||
		    memcmp(ks, r->want + (size_t)i * r->m.output_len,
			   r->m.output_len))
			bad++;
	}
	if (bad)
		fail("%s: %u of %u ioctl inferences differ from user space",
		     r->m.name, bad, r->samples);
	free(ks);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Wait until the kernel has published results past @done; returns the
 * new res_tail, or @done after WAIT_S without one.  POLLIN stays ready
 * while unconsumed results exist, so the caller consumes what it got.
 */
static u32 ring_wait(const struct ring *r, u32 done)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	double end = now_s() + WAIT_S;
	u32 tail;

	while ((tail = ring_load(&r->kc->res_tail)) == done && now_s() < end)
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			break;
	return tail;
}

static bool same(const struct model_run *m, u32 i,
		 const struct mcai_result *rec)
{
	return rec->seq == i && rec->class_id == m->cls[i] &&
	       rec->n_scores == m->m.output_len &&
	       !memcmp(rec->scores, m->want + (size_t)i * m->m.output_len,
		       m->m.output_len);
}

static void check_ring(const struct model_run *m, u32 id)
{
	struct ring r;
	u32 i, j, n, done, tail, bad = 0;

	if (ring_open(&r, open("/dev/mcai", O_RDWR), 0, id, NULL, RING_SLOTS,
		      RING_SLOTS)) {
		fail("%s: session: %s", m->m.name, strerror(errno));
		goto cleanup;
	}
	for (i = 0; i < m->samples; i += n) {
		n = m->samples - i < RING_SLOTS ? m->samples - i : RING_SLOTS;
		for (j = 0; j < n; j++)
			memcpy(ring_in(&r, i + j),
			       m->in + (size_t)(i + j) * m->m.input_len,
			       m->m.input_len);
		ring_store(&r.uc->in_tail, i + n);
		if (ring_kick(&r, 0)) {
			fail("%s: KICK: %s", m->m.name, strerror(errno));
			goto cleanup;
		}
		for (done = i; done != i + n; done = tail) {
			tail = ring_wait(&r, done);
			if (tail == done || tail - i > n) {
				fail("%s: waited %d s for results %u..%u, res_tail %u",
				     m->m.name, WAIT_S, done, i + n - 1, tail);
				goto cleanup;
			}
			for (j = done; j != tail; j++)
				bad += !same(m, j, ring_res(&r, j));
			ring_store(&r.uc->res_head, tail);
		}
	}
	if (bad)
		fail("%s: %u of %u ring results differ from user space",
		     m->m.name, bad, m->samples);
cleanup:
	ring_close(&r);
}

int main(int argc, char **argv)
{
	u32 samples = 32;
	int a = 1, fd;

	prog = "graph_bitexact";
	/* the user-space engine's path: MCAI_SIMD=off compares with scalar */
	if (mcai_simd_select(getenv("MCAI_SIMD"))) {
		fprintf(stderr, "%s: MCAI_SIMD=%s: not supported here\n", prog,
			getenv("MCAI_SIMD"));
		return 1;
	}
	if (argc > 2 && !strcmp(argv[1], "--samples")) {
		samples = (u32)strtoul(argv[2], NULL, 0);
		a = 3;
	}
	if (a >= argc || !samples) {
		fprintf(stderr, "usage: %s [--samples N] BLOB...\n", argv[0]);
		return 1;
	}
	fd = open("/dev/mcai", O_RDWR);
	if (fd < 0) {
		perror("/dev/mcai");
		return 1;
	}
	for (; a < argc; a++) {
		struct mcai_model_load load = { .size = sizeof(load) };
		struct mcai_model_unload un = { .size = sizeof(un) };
		struct model_run r = { 0 };
		int before = failures;

		if (model_prepare(&r, argv[a], samples))
			goto next;
		load.blob_ptr = (uintptr_t)r.blob;
		load.blob_size = r.blob_size;
		if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &load)) {
			fail("%s: MODEL_LOAD: %s: %s", argv[a], strerror(errno),
			     load.reason);
			goto next;
		}
		check_info(fd, &r, load.model_id);
		check_ioctl(fd, &r, load.model_id);
		check_ring(&r, load.model_id);
		un.ref.model_id = load.model_id;
		if (ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &un))
			fail("%s: UNLOAD: %s", r.m.name, strerror(errno));
		if (failures == before)
			printf("%s: %s (format %u): %u MACs, arena %u B, %u samples bit-exact through INFER and the ring\n",
			       prog, r.m.name, r.m.format,
			       (unsigned int)r.m.macs, r.m.arena_size, samples);
next:
		model_free(&r);
	}
	close(fd);
	return failures ? 1 : 0;
}
