/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pipeline and drift-statistics guest tests
 * (pipe_check.c, stats_check.c): checks, small deterministic models built
 * with models/train/writer.h, raw ioctl wrappers, and the user-space references.
 */
#ifndef PIPE_COMMON_H
#define PIPE_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "models/engine/engine.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"
#include "uapi/mcai.h"

#define DEV "/dev/mcai"
#define SYSFS "/sys/class/misc/mcai/"

static int failures;
static const char *prog;

static inline void fail(int line, const char *fmt, ...)
{
	va_list ap;

	failures++;
	fprintf(stderr, "%s: FAIL line %d: ", prog, line);
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
	int r_;								\
	errno = 0;							\
	r_ = (call);							\
	if (r_ != -1 || errno != (e))					\
		fail(__LINE__, "%s: got %d (%s), want %s", #call, r_,	\
		     strerror(errno), strerror(e));			\
} while (0)

#define EXPECT_OK(call) do {						\
	int r_;								\
	errno = 0;							\
	r_ = (call);							\
	if (r_ != 0)							\
		fail(__LINE__, "%s: got %d (%s)", #call, r_,		\
		     strerror(errno));					\
} while (0)

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static inline u32 rnd(u32 *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static inline s8 rnd8(u32 *s)
{
	return (s8)(rnd(s) % 255 - 127);
}

struct tmodel {
	u8 *blob;
	u32 size;
	struct mcai_model m;
};

#define MAX_IN 64
#define MAX_OUT 8

/*
 * One FC layer in_len -> out_len, weights from (name, version); head
 * MCAI_HEAD_THRESHOLD needs out_len 1.  @feat0: only feature 0 counts
 * (a detector on feature 0: score ~ x0 / 2).
 */
static inline void tmodel_make(struct tmodel *t, const char *name, u32 version,
			u32 in_len, u32 out_len, u8 head, s8 thr, int feat0)
{
	static s8 w[MAX_OUT * MAX_IN];
	static s32 b[MAX_OUT], m[MAX_OUT], sh[MAX_OUT];
	struct mcai_blob_spec s;
	struct mcai_limits lim;
	struct mcai_verdict v;
	char err[160];
	u32 seed = version * 2654435761u, i;
	const char *c;

	for (c = name; *c; c++)
		seed = seed * 31 + (u8)*c;
	for (i = 0; i < out_len * in_len; i++)
		w[i] = feat0 ? (i % in_len ? 0 : 127) : rnd8(&seed);
	for (i = 0; i < out_len; i++) {
		b[i] = feat0 ? 0 : (s32)(rnd(&seed) % 2001) - 1000;
		m[i] = (s32)(1u << 30);
		sh[i] = feat0 ? -7 : -8;
	}
	memset(&s, 0, sizeof(s));
	s.name = name;
	s.version = version;
	s.head = head;
	s.head_threshold = thr;
	s.input_scale = 1.0f / 64;
	s.output_scale = 1.0f / 16;
	s.n_layers = 1;
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_NONE,
		.in_zp = 0, .out_zp = 0, .clamp_min = -128, .clamp_max = 127,
		.in_len = in_len, .out_len = out_len,
		.weights = w, .bias = b, .mult = m, .shift = sh,
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
}

/* The user-space engine: class, scores into @sc. */
static inline int urun(const struct tmodel *t, const s8 *in, s8 *sc)
{
	static u8 arena[8192];

	return mcai_engine_run(&t->m, in, sc, arena);
}

static inline int dev_open(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open " DEV);
	return fd;
}

/* Load; returns the model id, or 0 with errno. */
static inline u32 load(int fd, const struct tmodel *t)
{
	struct mcai_model_load l = {
		.size = sizeof(l),
		.blob_ptr = (uintptr_t)t->blob,
		.blob_size = t->size,
	};

	if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &l))
		return 0;
	return l.model_id;
}

static inline int unload_id(int fd, u32 id)
{
	struct mcai_model_unload u = { .size = sizeof(u), .ref.model_id = id };

	return ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u);
}

static inline void set_name(char *dst, const char *name)
{
	size_t n = strnlen(name, MCAI_NAME_LEN - 1);

	memcpy(dst, name, n);
	memset(dst + n, 0, MCAI_NAME_LEN - n);
}

static inline u64 model_inferences(int fd, u32 id)
{
	struct mcai_model_info mi = { .size = sizeof(mi), .ref.model_id = id };

	if (ioctl(fd, MCAI_IOC_MODEL_INFO, &mi))
		return ~0ull;
	return mi.inferences;
}

/* Inference on a model (flags 0) or a pipeline (MCAI_INFER_PIPELINE). */
static inline int infer(int fd, u32 flags, u32 id, const char *name, const s8 *in,
		 u32 in_len, s8 *scores, u32 cap, struct mcai_infer *out)
{
	struct mcai_infer r = {
		.size = sizeof(r),
		.flags = flags,
		.ref.model_id = id,
		.input_ptr = (uintptr_t)in,
		.input_len = in_len,
		.scores_ptr = (uintptr_t)scores,
		.scores_len = scores ? cap : 0,
	};
	int ret;

	if (name)
		set_name(r.ref.name, name);
	ret = ioctl(fd, MCAI_IOC_INFER, &r);
	if (out)
		*out = r;
	return ret;
}

static inline long read_counter(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), SYSFS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * The drift statistics' fixed-point formulas, computed independently of
 * the kernel (native 128-bit division):
 *   mean_q16 = floor(2^16 * S1 / n), var_q16 = floor(2^16 * (n S2 - S1^2) / n^2)
 */
static inline s32 ref_mean_q16(u64 n, s64 s1)
{
	__int128 a = (__int128)s1 * 65536, q;

	if (!n)
		return 0;
	q = a / (__int128)n;
	if (q * (__int128)n > a)	/* C truncates toward zero: floor it */
		q--;
	return (s32)q;
}

static inline u32 ref_var_q16(u64 n, s64 s1, u64 s2)
{
	unsigned __int128 num;

	if (!n)
		return 0;
	num = (unsigned __int128)n * s2 - (unsigned __int128)((__int128)s1 * s1);
	return (u32)((num << 16) / ((unsigned __int128)n * n));
}

#endif /* PIPE_COMMON_H */
