// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of /dev/mcai (kmod/): the raw ioctl ABI, checked against the
 * user-space engine built from the same sources as the module.
 *
 *   mcai_abi abi               every ioctl, its errors and edge cases
 *   mcai_abi info              print GET_INFO
 *   mcai_abi load NAME VER     load the test model NAME, version VER
 *   mcai_abi unload NAME       unload NAME
 *   mcai_abi infer NAME VER N  N inferences on NAME, compared with VER
 *   mcai_abi unpriv NAME VER   as an unprivileged user: loads refused,
 *                              inference on NAME (loaded as VER) works
 *   mcai_abi cycles N          N load/unload cycles
 *   mcai_abi swap SECONDS      two inferring processes, one swapping
 *                              versions underneath them
 *
 * Test models are deterministic functions of (name, version), so separate
 * processes agree on what a version computes.  Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "models/engine/sha256.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"
#include "uapi/mcai.h"

#define DEV "/dev/mcai"
#define SYSFS "/sys/class/misc/mcai/"

#define IN_LEN 16
#define HID_LEN 12
#define OUT_LEN 5
#define N_TV 4

static int failures;
static const char *prog = "mcai_abi";

static void fail(int line, const char *fmt, ...)
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

/* The call must fail with errno @e. */
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

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* A small deterministic generator: the models must not depend on libc. */
static u32 rnd(u32 *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static s8 rnd8(u32 *s)
{
	return (s8)(rnd(s) % 255 - 127);	/* -127..127, never -128 */
}

struct tmodel {
	u8 *blob;
	u32 size;
	struct mcai_model m;	/* points into blob */
};

/*
 * FC 16->12 ReLU, LUT 12->12, FC 12->5: every layer type, with weights,
 * biases, multipliers and the table drawn from (name, version).
 */
static void tmodel_make(struct tmodel *t, const char *name, u32 version,
			u32 tv_count)
{
	static s8 w0[HID_LEN * IN_LEN], w2[OUT_LEN * HID_LEN], lut[256];
	static s32 b0[HID_LEN], m0[HID_LEN], sh0[HID_LEN];
	static s32 b2[OUT_LEN], m2[OUT_LEN], sh2[OUT_LEN];
	static s8 tv[64 * IN_LEN];
	struct mcai_blob_spec s;
	struct mcai_limits lim;
	struct mcai_verdict v;
	char err[160];
	u32 seed = version * 2654435761u, i;
	const char *c;

	for (c = name; *c; c++)
		seed = seed * 31 + (u8)*c;
	for (i = 0; i < sizeof(w0); i++)
		w0[i] = rnd8(&seed);
	for (i = 0; i < sizeof(w2); i++)
		w2[i] = rnd8(&seed);
	for (i = 0; i < HID_LEN; i++) {
		b0[i] = (s32)(rnd(&seed) % 2001) - 1000;
		m0[i] = (s32)((1u << 30) + rnd(&seed) % (1u << 29));
		sh0[i] = -9;
	}
	for (i = 0; i < OUT_LEN; i++) {
		b2[i] = (s32)(rnd(&seed) % 2001) - 1000;
		m2[i] = (s32)((1u << 30) + rnd(&seed) % (1u << 29));
		sh2[i] = -8;
	}
	for (i = 0; i < 256; i++)	/* monotonic, squashing: tanh-like */
		lut[i] = (s8)(((int)i - 128) / 2 + (int)(rnd(&seed) % 3) - 1);
	for (i = 0; i < sizeof(tv); i++)
		tv[i] = (s8)rnd(&seed);

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.version = version;
	s.head = MCAI_HEAD_ARGMAX;
	s.input_scale = 1.0f / 64;
	s.output_scale = 1.0f / 16;
	s.n_layers = 3;
	s.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_RELU,
		.in_zp = -3, .out_zp = -128, .clamp_min = -128, .clamp_max = 127,
		.in_len = IN_LEN, .out_len = HID_LEN,
		.weights = w0, .bias = b0, .mult = m0, .shift = sh0,
	};
	s.layer[1] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_LUT, .activation = MCAI_ACT_TANH,
		.in_zp = -128, .out_zp = 0, .clamp_min = -128, .clamp_max = 127,
		.in_len = HID_LEN, .out_len = HID_LEN, .lut = lut,
	};
	s.layer[2] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_NONE,
		.in_zp = 0, .out_zp = 5, .clamp_min = -128, .clamp_max = 127,
		.in_len = HID_LEN, .out_len = OUT_LEN,
		.weights = w2, .bias = b2, .mult = m2, .shift = sh2,
	};
	s.tv_count = tv_count;
	s.tv_inputs = tv;

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

static void tmodel_free(struct tmodel *t)
{
	free(t->blob);
	t->blob = NULL;
}

/* Re-seal a blob after editing it: the digest covers everything before. */
static void reseal(u8 *blob, u32 size)
{
	mcai_sha256(blob, size - MCAI_DIGEST_LEN, blob + size - MCAI_DIGEST_LEN);
}

static int dev_open(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open " DEV);
	return fd;
}

static int load(int fd, const struct tmodel *t, u32 flags,
		struct mcai_model_load *out)
{
	struct mcai_model_load l = {
		.size = sizeof(l),
		.flags = flags,
		.blob_ptr = (uintptr_t)t->blob,
		.blob_size = t->size,
	};
	int r = ioctl(fd, MCAI_IOC_MODEL_LOAD, &l);

	if (out)
		*out = l;
	return r;
}

/* Names longer than MCAI_NAME_LEN - 1 are cut: they are invalid anyway. */
static void set_name(char *dst, const char *name)
{
	size_t n = strnlen(name, MCAI_NAME_LEN - 1);

	memcpy(dst, name, n);
	memset(dst + n, 0, MCAI_NAME_LEN - n);
}

static int unload_name(int fd, const char *name)
{
	struct mcai_model_unload u = { .size = sizeof(u) };

	set_name(u.ref.name, name);
	return ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u);
}

static int unload_id(int fd, u32 id)
{
	struct mcai_model_unload u = { .size = sizeof(u), .ref.model_id = id };

	return ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u);
}

/* Inference by id, or by name when id is 0. */
static int infer(int fd, u32 id, const char *name, const s8 *in, s8 *scores,
		 struct mcai_infer *out)
{
	struct mcai_infer r = {
		.size = sizeof(r),
		.ref.model_id = id,
		.input_ptr = (uintptr_t)in,
		.input_len = IN_LEN,
		.scores_ptr = (uintptr_t)scores,
		.scores_len = scores ? OUT_LEN : 0,
	};
	int ret;

	if (name)
		set_name(r.ref.name, name);
	ret = ioctl(fd, MCAI_IOC_INFER, &r);
	if (out)
		*out = r;
	return ret;
}

/* Kernel and user engine must agree bit for bit. */
static int same_as_user(const struct tmodel *t, const s8 *in,
			const s8 *kscores, int kclass)
{
	s8 us[OUT_LEN];
	u8 arena[1024];
	int ucls;

	if (t->m.arena_size > sizeof(arena))
		return 0;
	ucls = mcai_engine_run(&t->m, in, us, arena);
	return ucls == kclass && !memcmp(us, kscores, OUT_LEN);
}

static long read_counter(const char *name)
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

static int get_info(int fd, struct mcai_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, MCAI_IOC_GET_INFO, info);
}

/* ---------------------------------------------------------------- abi */

static void test_info(int fd)
{
	struct { struct mcai_info i; u8 tail[40]; } big;
	struct mcai_info info;
	unsigned long cmd;
	u8 *page;
	void *p;

	EXPECT_OK(get_info(fd, &info));
	CHECK(info.abi_version == MCAI_ABI_VERSION, "abi_version %u",
	      info.abi_version);
	CHECK(info.size == sizeof(info), "info.size %u", info.size);
	CHECK((info.features & (MCAI_FEAT_SYNC_INFER | MCAI_FEAT_HOT_SWAP |
				MCAI_FEAT_TEST_VECTORS)) ==
	      (MCAI_FEAT_SYNC_INFER | MCAI_FEAT_HOT_SWAP |
	       MCAI_FEAT_TEST_VECTORS), "features %llx",
	      (unsigned long long)info.features);
	CHECK(info.blob_format_version == MCAI_BLOB2_VERSION, "blob format");
	CHECK(info.max_blob_size && info.max_models && info.max_layers &&
	      info.max_dim && info.max_arena, "a zero limit");
	CHECK(info.nr_models == 0, "nr_models %u at start", info.nr_models);

	/* Unknown commands, in our magic and in another one. */
	EXPECT_ERR(ioctl(fd, _IO(MCAI_IOC_MAGIC, 0x7f), 0), ENOTTY);
	EXPECT_ERR(ioctl(fd, _IOWR(MCAI_IOC_MAGIC, 0x40, struct mcai_info),
			 &info), ENOTTY);
	EXPECT_ERR(ioctl(fd, _IOWR('x', 0x00, struct mcai_info), &info),
		   ENOTTY);
	EXPECT_ERR(ioctl(fd, TCGETS, &info), ENOTTY);

	/* Sizes: too small, zero, absurd. */
	memset(&info, 0, sizeof(info));
	info.size = 8;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, &info), EINVAL);
	info.size = 0;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, &info), EINVAL);
	info.size = MCAI_INFO_SIZE_VER1 - 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, &info), EINVAL);
	/* the first published size still works, and gets no more back */
	memset(&info, 0xa5, sizeof(info));
	memset(&info, 0, MCAI_INFO_SIZE_VER1);
	info.size = MCAI_INFO_SIZE_VER1;
	EXPECT_OK(ioctl(fd, MCAI_IOC_GET_INFO, &info));
	CHECK(info.size == sizeof(info) && info.mem_limit == 0xa5a5a5a5a5a5a5a5ULL,
	      "GET_INFO of the first size: size %u", info.size);
	memset(&info, 0, sizeof(info));
	info.size = 1 << 20;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, &info), E2BIG);

	/* Reserved field. */
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.pad = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, &info), EINVAL);

	/* A newer, bigger structure: zero tail accepted, the command's size
	 * bits differ and do not matter; non-zero tail refused. */
	memset(&big, 0, sizeof(big));
	big.i.size = sizeof(big);
	cmd = _IOC(_IOC_READ | _IOC_WRITE, MCAI_IOC_MAGIC, 0x00, sizeof(big));
	EXPECT_OK(ioctl(fd, cmd, &big));
	CHECK(big.i.size == sizeof(struct mcai_info) &&
	      big.i.abi_version == MCAI_ABI_VERSION, "big GET_INFO");
	memset(&big, 0, sizeof(big));
	big.i.size = sizeof(big);
	big.tail[39] = 1;
	EXPECT_ERR(ioctl(fd, cmd, &big), E2BIG);
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, &big), E2BIG);

	/* Bad pointers. */
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, NULL), EFAULT);
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, (void *)1), EFAULT);
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, (void *)-4096L), EFAULT);
	/* A structure that claims to run into an unmapped page. */
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	page = p;
	munmap(page + 4096, 4096);
	memset(page, 0, 4096);
	*(u32 *)(page + 4096 - sizeof(info)) = sizeof(info) + 64;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, page + 4096 - sizeof(info)),
		   EFAULT);
	/* Readable but not writable: the copy back faults. */
	*(u32 *)page = sizeof(info);
	mprotect(page, 4096, PROT_READ);
	EXPECT_ERR(ioctl(fd, MCAI_IOC_GET_INFO, page), EFAULT);
	munmap(page, 4096);
}

static void test_load(int fd, struct tmodel *v1, struct tmodel *v2,
		      u32 *id_out)
{
	struct mcai_model_load l;
	struct tmodel bad;
	u32 rec, id;

	EXPECT_OK(load(fd, v1, 0, &l));
	CHECK(l.model_id != 0 && l.version == 1 && l.replaced_version == 0 &&
	      l.reason[0] == 0, "load v1: id %u version %u replaced %u '%s'",
	      l.model_id, l.version, l.replaced_version, l.reason);
	id = l.model_id;
	*id_out = id;

	/* Flags, reserved fields, pointers, sizes. */
	EXPECT_ERR(load(fd, v2, 1u << 7, NULL), EINVAL);
	l = (struct mcai_model_load){ .size = sizeof(l), .pad = 1,
		.blob_ptr = (uintptr_t)v2->blob, .blob_size = v2->size };
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_LOAD, &l), EINVAL);
	l = (struct mcai_model_load){ .size = sizeof(l), .blob_ptr = 1,
		.blob_size = v2->size };
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_LOAD, &l), EFAULT);
	l = (struct mcai_model_load){ .size = sizeof(l),
		.blob_ptr = (uintptr_t)v2->blob, .blob_size = 0 };
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_LOAD, &l), EINVAL);
	CHECK(l.reason[0], "no reason for an empty blob");
	l = (struct mcai_model_load){ .size = sizeof(l),
		.blob_ptr = (uintptr_t)v2->blob, .blob_size = 0xffffffffu };
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_LOAD, &l), EINVAL);
	CHECK(strstr(l.reason, "max_blob_size") != NULL,
	      "oversized blob reason '%s'", l.reason);
	/* Truncated: the verifier says why. */
	l = (struct mcai_model_load){ .size = sizeof(l),
		.blob_ptr = (uintptr_t)v2->blob, .blob_size = v2->size - 1 };
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_LOAD, &l), EINVAL);
	CHECK(l.reason[0], "no reason for a truncated blob");

	/* A corrupted byte: digest mismatch, with a reason. */
	tmodel_make(&bad, "abi_a", 5, N_TV);
	bad.blob[200] ^= 0x55;
	EXPECT_ERR(load(fd, &bad, 0, &l), EINVAL);
	CHECK(l.reason[0] && memchr(l.reason, 0, sizeof(l.reason)),
	      "corrupt blob: no reason");
	printf("%s: corrupt blob refused: %s (offset %u)\n", prog, l.reason,
	       l.err_offset);
	tmodel_free(&bad);

	/* A test vector whose expected scores are wrong, digest resealed. */
	tmodel_make(&bad, "abi_a", 5, N_TV);
	rec = IN_LEN + OUT_LEN;
	((u8 *)bad.m.tv)[2 * rec + IN_LEN + 1] ^= 1;
	reseal(bad.blob, bad.size);
	EXPECT_ERR(load(fd, &bad, 0, &l), EINVAL);
	CHECK(!strcmp(l.reason, "test vector 2 failed"), "tv reason '%s'",
	      l.reason);
	CHECK(l.err_offset == (u32)((const u8 *)bad.m.tv - bad.blob) + 2 * rec,
	      "tv err_offset %u", l.err_offset);
	tmodel_free(&bad);

	/* Versions: same -> EEXIST, newer swaps keeping the id, older ->
	 * ESTALE unless forced. */
	EXPECT_ERR(load(fd, v1, 0, &l), EEXIST);
	CHECK(l.reason[0], "EEXIST without reason");
	EXPECT_OK(load(fd, v2, 0, &l));
	CHECK(l.model_id == id && l.version == 2 && l.replaced_version == 1,
	      "swap to v2: id %u/%u version %u replaced %u", l.model_id, id,
	      l.version, l.replaced_version);
	EXPECT_ERR(load(fd, v1, 0, &l), ESTALE);
	CHECK(l.reason[0], "ESTALE without reason");
	EXPECT_ERR(load(fd, v2, MCAI_LOAD_FORCE, &l), EEXIST);
	EXPECT_OK(load(fd, v1, MCAI_LOAD_FORCE, &l));
	CHECK(l.model_id == id && l.version == 1 && l.replaced_version == 2,
	      "forced downgrade: id %u version %u replaced %u", l.model_id,
	      l.version, l.replaced_version);
}

static void test_model_info(int fd, const struct tmodel *t, u32 id)
{
	struct mcai_model_info mi = { .size = sizeof(mi), .ref.model_id = id };

	EXPECT_OK(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi));
	CHECK(!strcmp(mi.ref.name, "abi_a") && mi.version == 1 &&
	      mi.n_layers == 3 && mi.input_len == IN_LEN &&
	      mi.output_len == OUT_LEN && mi.macs == IN_LEN * HID_LEN +
	      HID_LEN * OUT_LEN && mi.blob_size == t->size &&
	      mi.arena_size == t->m.arena_size && mi.tv_count == N_TV &&
	      mi.input_scale == t->m.input_scale &&
	      mi.input_zp == t->m.input_zp && mi.output_zp == t->m.output_zp &&
	      mi.head == MCAI_HEAD_ARGMAX,
	      "MODEL_INFO by id: name '%s' version %u macs %llu", mi.ref.name,
	      mi.version, (unsigned long long)mi.macs);
	CHECK(!memcmp(mi.digest, t->blob + t->size - MCAI_DIGEST_LEN,
		      MCAI_DIGEST_LEN), "digest");

	memset(&mi, 0, sizeof(mi));
	mi.size = sizeof(mi);
	strcpy(mi.ref.name, "abi_a");
	EXPECT_OK(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi));
	CHECK(mi.ref.model_id == id, "MODEL_INFO by name: id %u",
	      mi.ref.model_id);

	/* Not there, malformed references, reserved fields. */
	memset(&mi, 0, sizeof(mi));
	mi.size = sizeof(mi);
	strcpy(mi.ref.name, "nope");
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi), ENOENT);
	mi.ref.model_id = 0x7fffffff;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi), ENOENT);
	memset(&mi.ref, 0, sizeof(mi.ref));
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi), EINVAL);
	memset(mi.ref.name, 'a', MCAI_NAME_LEN);
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi), EINVAL);
	memset(&mi.ref, 0, sizeof(mi.ref));
	mi.ref.model_id = id;
	mi.ref.pad = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi), EINVAL);
	mi.ref.pad = 0;
	mi.flags = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi), EINVAL);
}

static void test_list(int fd, u32 id_a, u32 id_b)
{
	struct mcai_model_list ml = { .size = sizeof(ml) };
	u32 ids[8] = { 0 };

	EXPECT_OK(ioctl(fd, MCAI_IOC_MODEL_LIST, &ml));
	CHECK(ml.count == 2, "list count %u", ml.count);
	ml.ids_ptr = (uintptr_t)ids;
	ml.capacity = 1;
	EXPECT_OK(ioctl(fd, MCAI_IOC_MODEL_LIST, &ml));
	CHECK(ml.count == 2 && ids[0] == id_a && ids[1] == 0,
	      "capacity 1: count %u ids %u %u", ml.count, ids[0], ids[1]);
	ml.capacity = 8;
	EXPECT_OK(ioctl(fd, MCAI_IOC_MODEL_LIST, &ml));
	CHECK(ml.count == 2 && ids[0] == id_a && ids[1] == id_b,
	      "capacity 8: ids %u %u", ids[0], ids[1]);
	ml.ids_ptr = 8;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_LIST, &ml), EFAULT);
	ml.ids_ptr = (uintptr_t)ids;
	ml.flags = 2;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_LIST, &ml), EINVAL);
}

static void test_infer(int fd, const struct tmodel *t, u32 id)
{
	struct mcai_model_info mi = { .size = sizeof(mi), .ref.model_id = id };
	struct mcai_infer r;
	s8 in[IN_LEN], ks[OUT_LEN + 8];
	u32 seed = 42, i, j, ok = 0;
	u64 before;

	EXPECT_OK(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi));
	before = mi.inferences;
	for (i = 0; i < 200; i++) {
		for (j = 0; j < IN_LEN; j++)
			in[j] = (s8)rnd(&seed);
		memset(ks, 0x7f, sizeof(ks));
		if (infer(fd, i & 1 ? id : 0, i & 1 ? NULL : "abi_a", in, ks,
			  &r)) {
			fail(__LINE__, "infer %u: %s", i, strerror(errno));
			continue;
		}
		ok += same_as_user(t, in, ks, r.class_id) &&
		      r.scores_len == OUT_LEN && r.version == 1 &&
		      ks[OUT_LEN] == 0x7f;
	}
	CHECK(ok == 200, "%u of 200 inferences bit-exact", ok);
	/* Class only. */
	EXPECT_OK(infer(fd, id, NULL, in, NULL, &r));
	CHECK(same_as_user(t, in, ks, r.class_id), "class-only inference");

	mi.size = sizeof(mi);
	EXPECT_OK(ioctl(fd, MCAI_IOC_MODEL_INFO, &mi));
	CHECK(mi.inferences == before + 201, "inferences %llu, want %llu",
	      (unsigned long long)mi.inferences,
	      (unsigned long long)before + 201);

	/* Wrong lengths, bad pointers, flags, unknown model. */
	r = (struct mcai_infer){ .size = sizeof(r), .ref.model_id = id,
		.input_ptr = (uintptr_t)in, .input_len = IN_LEN - 1,
		.scores_ptr = (uintptr_t)ks, .scores_len = OUT_LEN };
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EINVAL);
	r.input_len = 0;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EINVAL);
	r.input_len = 0xffffffffu;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EINVAL);
	r.input_len = IN_LEN;
	r.scores_len = OUT_LEN - 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EINVAL);
	r.scores_len = OUT_LEN;
	r.input_ptr = 16;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EFAULT);
	r.input_ptr = (uintptr_t)in;
	r.scores_ptr = 16;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EFAULT);
	r.scores_ptr = (uintptr_t)ks;
	r.flags = 1U << 31;	/* bit 0 is MCAI_INFER_PIPELINE */
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EINVAL);
	r.flags = 0;
	r.ref.model_id = 0xfffffff0u;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), ENOENT);
	r.ref.model_id = id;
	EXPECT_OK(ioctl(fd, MCAI_IOC_INFER, &r));
}

static void test_max_models(int fd)
{
	struct mcai_info info;
	struct tmodel t;
	char name[MCAI_NAME_LEN];
	u32 i, n;

	EXPECT_OK(get_info(fd, &info));
	n = info.nr_models;
	if (info.max_models > 256) {
		printf("%s: max_models %u: ENOSPC not tested\n", prog,
		       info.max_models);
		return;
	}
	for (i = n; i < info.max_models; i++) {
		snprintf(name, sizeof(name), "fill%u", i);
		tmodel_make(&t, name, 1, 0);
		EXPECT_OK(load(fd, &t, 0, NULL));
		tmodel_free(&t);
	}
	tmodel_make(&t, "one_too_many", 1, 0);
	EXPECT_ERR(load(fd, &t, 0, NULL), ENOSPC);
	tmodel_free(&t);
	for (i = n; i < info.max_models; i++) {
		snprintf(name, sizeof(name), "fill%u", i);
		EXPECT_OK(unload_name(fd, name));
	}
}

static int cmd_abi(void)
{
	struct tmodel a1, a2, b;
	struct mcai_model_load l;
	struct mcai_model_unload u;
	struct mcai_info info;
	u32 id_a, id_b;
	int fd = dev_open();

	tmodel_make(&a1, "abi_a", 1, N_TV);
	tmodel_make(&a2, "abi_a", 2, N_TV);
	tmodel_make(&b, "abi_b", 7, 0);

	test_info(fd);
	test_load(fd, &a1, &a2, &id_a);
	EXPECT_OK(load(fd, &b, 0, &l));
	id_b = l.model_id;
	CHECK(id_b != id_a, "two names, one id");
	test_model_info(fd, &a1, id_a);
	test_list(fd, id_a, id_b);
	test_infer(fd, &a1, id_a);
	test_max_models(fd);

	/* Unload: reserved fields, by name, by id, twice. */
	u = (struct mcai_model_unload){ .size = sizeof(u), .flags = 1,
		.ref.model_id = id_a };
	EXPECT_ERR(ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u), EINVAL);
	EXPECT_OK(unload_name(fd, "abi_a"));
	EXPECT_ERR(unload_name(fd, "abi_a"), ENOENT);
	EXPECT_ERR(unload_id(fd, id_a), ENOENT);
	EXPECT_ERR(infer(fd, id_a, NULL, (const s8 *)a1.blob, NULL, NULL),
		   ENOENT);
	EXPECT_OK(unload_id(fd, id_b));
	EXPECT_ERR(unload_id(fd, id_b), ENOENT);

	/* A reloaded name gets a fresh id: ids are never reused. */
	EXPECT_OK(load(fd, &a1, 0, &l));
	CHECK(l.model_id != id_a && l.model_id != id_b, "id %u reused",
	      l.model_id);
	EXPECT_OK(unload_id(fd, l.model_id));

	EXPECT_OK(get_info(fd, &info));
	CHECK(info.nr_models == 0, "nr_models %u at the end", info.nr_models);
	CHECK(read_counter("live_versions") == 0 &&
	      read_counter("live_slots") == 0 &&
	      read_counter("live_bytes") == 0 &&
	      read_counter("nr_models") == 0,
	      "live counters not 0: versions %ld slots %ld bytes %ld",
	      read_counter("live_versions"), read_counter("live_slots"),
	      read_counter("live_bytes"));

	tmodel_free(&a1);
	tmodel_free(&a2);
	tmodel_free(&b);
	close(fd);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------- others */

static int cmd_info(void)
{
	struct mcai_info i;
	int fd = dev_open();

	if (get_info(fd, &i))
		die("GET_INFO");
	printf("abi_version %u features %#llx blob_format %u max_blob_size %u max_models %u max_layers %u max_dim %u max_arena %u nr_models %u\n",
	       i.abi_version, (unsigned long long)i.features,
	       i.blob_format_version, i.max_blob_size, i.max_models,
	       i.max_layers, i.max_dim, i.max_arena, i.nr_models);
	close(fd);
	return 0;
}

static int cmd_load(const char *name, u32 version)
{
	struct mcai_model_load l;
	struct tmodel t;
	int fd = dev_open();

	tmodel_make(&t, name, version, N_TV);
	if (load(fd, &t, MCAI_LOAD_FORCE, &l)) {
		fprintf(stderr, "%s: load %s v%u: %s: %s\n", prog, name,
			version, strerror(errno), l.reason);
		return 1;
	}
	printf("%s: loaded %s v%u as id %u\n", prog, name, version,
	       l.model_id);
	tmodel_free(&t);
	close(fd);
	return 0;
}

static int cmd_unload(const char *name)
{
	int fd = dev_open();

	if (unload_name(fd, name)) {
		fprintf(stderr, "%s: unload %s: %s\n", prog, name,
			strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}

static int cmd_infer(const char *name, u32 version, u32 n)
{
	struct mcai_infer r;
	struct tmodel t;
	s8 in[IN_LEN], ks[OUT_LEN];
	u32 seed = 7, i, j, ok = 0;
	int fd = dev_open();

	tmodel_make(&t, name, version, N_TV);
	for (i = 0; i < n; i++) {
		for (j = 0; j < IN_LEN; j++)
			in[j] = (s8)rnd(&seed);
		if (infer(fd, 0, name, in, ks, &r)) {
			fail(__LINE__, "infer %s: %s", name, strerror(errno));
			break;
		}
		ok += r.version == version &&
		      same_as_user(&t, in, ks, r.class_id);
	}
	CHECK(ok == n, "%u of %u inferences bit-exact", ok, n);
	tmodel_free(&t);
	close(fd);
	return failures ? 1 : 0;
}

/* Run as an unprivileged user by the caller (setpriv). */
static int cmd_unpriv(const char *name, u32 version)
{
	struct tmodel t, t2;
	struct mcai_info info;
	int fd = dev_open();

	CHECK(geteuid() != 0, "running as root");
	EXPECT_OK(get_info(fd, &info));
	tmodel_make(&t, "unpriv_new", 1, 0);
	EXPECT_ERR(load(fd, &t, 0, NULL), EPERM);
	tmodel_make(&t2, name, version + 1, N_TV);
	EXPECT_ERR(load(fd, &t2, 0, NULL), EPERM);
	EXPECT_ERR(unload_name(fd, name), EPERM);
	close(fd);
	tmodel_free(&t);
	tmodel_free(&t2);
	if (cmd_infer(name, version, 100))
		return 1;
	return failures ? 1 : 0;
}

/*
 * Run unprivileged with fd 3 opened by root (as mcaid does before it
 * drops privileges): its own fd cannot load, the inherited one can.
 */
static int cmd_inherited(const char *name, u32 version)
{
	struct mcai_model_load l;
	struct tmodel t;
	int own = dev_open();

	CHECK(geteuid() != 0, "running as root");
	tmodel_make(&t, name, version + 1, N_TV);
	EXPECT_ERR(load(own, &t, 0, NULL), EPERM);
	EXPECT_OK(load(3, &t, 0, &l));
	CHECK(l.version == version + 1, "inherited fd loaded version %u",
	      l.version);
	close(own);
	tmodel_free(&t);
	return failures ? 1 : 0;
}

static int cmd_cycles(u32 n)
{
	struct tmodel t[3];
	struct mcai_model_load l;
	u32 i, k, id;
	int fd = dev_open();

	for (k = 0; k < 3; k++)
		tmodel_make(&t[k], "cycle", k + 1, N_TV);
	for (i = 0; i < n && !failures; i++) {
		/* Load, swap up twice, downgrade, unload. */
		EXPECT_OK(load(fd, &t[0], 0, &l));
		id = l.model_id;
		EXPECT_OK(load(fd, &t[1], 0, &l));
		EXPECT_OK(load(fd, &t[2], 0, &l));
		EXPECT_OK(load(fd, &t[i % 2], MCAI_LOAD_FORCE, &l));
		CHECK(l.model_id == id, "id changed across swaps");
		EXPECT_OK(unload_id(fd, id));
	}
	CHECK(read_counter("live_versions") == 0 &&
	      read_counter("live_slots") == 0 &&
	      read_counter("live_bytes") == 0,
	      "after %u cycles: versions %ld slots %ld bytes %ld", n,
	      read_counter("live_versions"), read_counter("live_slots"),
	      read_counter("live_bytes"));
	for (k = 0; k < 3; k++)
		tmodel_free(&t[k]);
	close(fd);
	printf("%s: %u load/swap/unload cycles\n", prog, i);
	return failures ? 1 : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Infer until @deadline, at least once however late a loaded machine
 * starts us; every result must match the version it reports.
 */
static int swap_inferer(int by_id, u32 id, double deadline)
{
	struct tmodel t[2] = { { 0 } };
	u32 have[2] = { 0, 0 }, seed = by_id ? 99 : 77, n = 0, j;
	struct mcai_infer r;
	s8 in[IN_LEN], ks[OUT_LEN];
	int fd = dev_open();

	while (now() < deadline || !n) {
		u32 slot;

		for (j = 0; j < IN_LEN; j++)
			in[j] = (s8)rnd(&seed);
		if (infer(fd, by_id ? id : 0, by_id ? NULL : "swap", in, ks,
			  &r)) {
			fail(__LINE__, "inferer %d: %s", by_id,
			     strerror(errno));
			break;
		}
		slot = r.version & 1;
		if (have[slot] != r.version) {
			tmodel_free(&t[slot]);
			tmodel_make(&t[slot], "swap", r.version, 0);
			have[slot] = r.version;
		}
		if (!same_as_user(&t[slot], in, ks, r.class_id)) {
			fail(__LINE__, "inferer %d: version %u differs", by_id,
			     r.version);
			break;
		}
		n++;
	}
	printf("%s: inferer %s: %u inferences\n", prog,
	       by_id ? "by id" : "by name", n);
	tmodel_free(&t[0]);
	tmodel_free(&t[1]);
	close(fd);
	return failures || !n ? 1 : 0;
}

/* Swap until @deadline, at least once. */
static int swap_swapper(u32 id, double deadline)
{
	struct mcai_model_load l;
	struct tmodel t;
	u32 v = 2, n = 0;
	int fd = dev_open();

	while (now() < deadline || !n) {
		tmodel_make(&t, "swap", v, N_TV);
		if (load(fd, &t, 0, &l) || l.model_id != id ||
		    l.replaced_version != v - 1) {
			fail(__LINE__, "swap to v%u: %s '%s' id %u", v,
			     strerror(errno), l.reason, l.model_id);
			tmodel_free(&t);
			break;
		}
		tmodel_free(&t);
		v++;
		n++;
	}
	printf("%s: swapper: %u swaps\n", prog, n);
	close(fd);
	return failures || !n ? 1 : 0;
}

static int cmd_swap(double seconds)
{
	struct mcai_model_load l;
	struct tmodel t;
	double deadline;
	int fd = dev_open(), status, rc = 0, i;
	pid_t pid[3];

	tmodel_make(&t, "swap", 1, N_TV);
	if (load(fd, &t, 0, &l))
		die("load swap v1");
	tmodel_free(&t);
	deadline = now() + seconds;
	for (i = 0; i < 3; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork");
		if (pid[i] == 0)
			_exit(i < 2 ? swap_inferer(i, l.model_id, deadline)
				    : swap_swapper(l.model_id, deadline));
	}
	for (i = 0; i < 3; i++) {
		if (waitpid(pid[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			rc = 1;
	}
	EXPECT_OK(unload_id(fd, l.model_id));
	close(fd);
	CHECK(read_counter("live_versions") == 0,
	      "live_versions %ld after the swap test",
	      read_counter("live_versions"));
	return rc || failures ? 1 : 0;
}

static u32 num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*s == 0 || *end || v > 0xffffffffu) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		exit(2);
	}
	return (u32)v;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(c, "abi") && argc == 2)
		return cmd_abi();
	if (!strcmp(c, "info") && argc == 2)
		return cmd_info();
	if (!strcmp(c, "load") && argc == 4)
		return cmd_load(argv[2], num(argv[3]));
	if (!strcmp(c, "unload") && argc == 3)
		return cmd_unload(argv[2]);
	if (!strcmp(c, "infer") && argc == 5)
		return cmd_infer(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(c, "unpriv") && argc == 4)
		return cmd_unpriv(argv[2], num(argv[3]));
	if (!strcmp(c, "inherited") && argc == 4)
		return cmd_inherited(argv[2], num(argv[3]));
	if (!strcmp(c, "cycles") && argc == 3)
		return cmd_cycles(num(argv[2]));
	if (!strcmp(c, "swap") && argc == 3)
		return cmd_swap(num(argv[2]));
	fprintf(stderr, "usage: %s abi|info|load NAME VER|unload NAME|infer NAME VER N|unpriv NAME VER|inherited NAME VER|cycles N|swap SECONDS\n",
		prog);
	return 2;
}
