// SPDX-License-Identifier: GPL-2.0
/*
 * Guest test: hostile model blobs against mcai.ko.
 *
 *   hostile_load DIR
 *
 * DIR is what `mcai-hostile DIR` wrote: NAME.mcai per hostile blob,
 * valid.mcai and manifest.txt ("NAME<TAB>expected reason" lines).  With
 * the module loaded (default parameters):
 *
 *  1. every hostile blob: MCAI_IOC_MODEL_LOAD fails with EINVAL, the
 *     reason is the manifest's, err_offset is where the user-space
 *     verifier (same source, limits from GET_INFO) puts the fault, and no
 *     model appears;
 *  2. valid.mcai loads, and MCAI_IOC_INFER agrees bit for bit with the
 *     user-space engine on a set of inputs;
 *  3. every hostile blob again, with the valid model loaded (same name):
 *     still refused, the loaded model untouched and still inferring;
 *  4. the model unloads; nothing is left loaded.
 *
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/engine/engine.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"
#include "uapi/mcai.h"

#include "report.h"


static u8 *read_file(const char *dir, const char *name, u32 *size)
{
	char path[4096], err[4200];
	u8 *p;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	p = mcai_blob_read(path, 1 << 24, size, err, sizeof(err));
	if (!p)
		fail("%s", err);
	return p;
}

/* What the module does with a blob, in user space: reason and offset. */
static int user_check(const u8 *blob, u32 size, const struct mcai_limits *lim,
		      char *reason, u32 *offset)
{
	struct mcai_verdict v;
	struct mcai_model m;
	u32 failed = 0;
	s8 *arena, *scores;
	int ret;

	if (mcai_verify(&m, blob, size, lim, &v)) {
		snprintf(reason, MCAI_REASON_LEN, "%s", v.reason);
		*offset = v.offset;
		return -1;
	}
	arena = malloc(m.arena_size + 1);
	scores = malloc(m.output_len);
	ret = mcai_engine_check_vectors(&m, arena, scores, &failed);
	free(arena);
	free(scores);
	if (ret) {
		snprintf(reason, MCAI_REASON_LEN, "test vector %u failed", failed);
		*offset = (u32)((const u8 *)m.tv - blob) +
			  failed * (m.input_len + m.output_len);
		return -1;
	}
	return 0;
}

static int get_info(int fd, struct mcai_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	if (ioctl(fd, MCAI_IOC_GET_INFO, info)) {
		fail("GET_INFO: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct entry {
	char name[64];
	char reason[MCAI_REASON_LEN];
};

static int read_manifest(const char *dir, struct entry **out)
{
	char path[4096], line[512];
	struct entry *e = NULL;
	int n = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/manifest.txt", dir);
	f = fopen(path, "r");
	if (!f) {
		fail("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');

		if (!tab || !nl) {
			fail("manifest: bad line \"%s\"", line);
			continue;
		}
		*tab = *nl = '\0';
		if (n == cap) {
			cap = cap ? 2 * cap : 128;
			e = realloc(e, (size_t)cap * sizeof(*e));
			if (!e) {
				fclose(f);
				return -1;
			}
		}
		if (strlen(line) >= sizeof(e[n].name) ||
		    strlen(tab + 1) >= sizeof(e[n].reason)) {
			fail("manifest: line too long");
			continue;
		}
		memcpy(e[n].name, line, strlen(line) + 1);
		memcpy(e[n].reason, tab + 1, strlen(tab + 1) + 1);
		n++;
	}
	fclose(f);
	*out = e;
	return n;
}

/* One pass over the hostile blobs; returns how many were refused right. */
static int hostile_pass(int fd, const char *dir, const struct entry *e, int n,
			const struct mcai_limits *lim, u32 want_models)
{
	int i, ok = 0;

	for (i = 0; i < n; i++) {
		char file[80], ureason[MCAI_REASON_LEN] = "";
		struct mcai_model_load req;
		struct mcai_info info;
		u32 size = 0, uoff = 0;
		u8 *blob;
		int r, before = failures;

		snprintf(file, sizeof(file), "%s.mcai", e[i].name);
		blob = read_file(dir, file, &size);
		if (!blob)
			continue;
		if (!user_check(blob, size, lim, ureason, &uoff) ||
		    strcmp(ureason, e[i].reason))
			fail("%s: user-space verifier says \"%s\", manifest \"%s\"",
			     e[i].name, ureason, e[i].reason);

		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.blob_ptr = (u64)(uintptr_t)blob;
		req.blob_size = size;
		req.err_offset = 0xdeadbeef;
		errno = 0;
		r = ioctl(fd, MCAI_IOC_MODEL_LOAD, &req);
		if (r != -1 || errno != EINVAL) {
			fail("%s: MODEL_LOAD returned %d (%s), want EINVAL",
			     e[i].name, r, strerror(errno));
			if (r == 0) {	/* do not leave it behind */
				struct mcai_model_unload u;

				memset(&u, 0, sizeof(u));
				u.size = sizeof(u);
				u.ref.model_id = req.model_id;
				ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u);
			}
		} else {
			if (strcmp(req.reason, e[i].reason))
				fail("%s: kernel says \"%s\", want \"%s\"",
				     e[i].name, req.reason, e[i].reason);
			if (req.err_offset != uoff)
				fail("%s: kernel err_offset %u, user space %u",
				     e[i].name, req.err_offset, uoff);
		}
		free(blob);
		if (!get_info(fd, &info) && info.nr_models != want_models)
			fail("%s: %u models loaded after a refused load, want %u",
			     e[i].name, info.nr_models, want_models);
		if (failures == before)
			ok++;
	}
	return ok;
}

/* Infer on @n inputs and compare with the user-space engine. */
static void infer_check(int fd, u32 id, const struct mcai_model *m, u32 n)
{
	s8 in[4096], want[4096], got[4096], arena[65536];
	u32 k, i, seed = 99;

	if (m->input_len > sizeof(in) || m->output_len > sizeof(got) ||
	    m->arena_size > sizeof(arena)) {
		fail("valid model too large for this test");
		return;
	}
	for (k = 0; k < n; k++) {
		struct mcai_infer req;
		int cls;

		for (i = 0; i < m->input_len; i++) {
			seed = seed * 1664525u + 1013904223u;
			in[i] = (s8)(seed >> 24);
		}
		if (k < m->tv_count)	/* the blob's own vectors first */
			memcpy(in, m->tv + k * (m->input_len + m->output_len),
			       m->input_len);
		cls = mcai_engine_run(m, in, want, arena);

		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.ref.model_id = id;
		req.input_ptr = (u64)(uintptr_t)in;
		req.scores_ptr = (u64)(uintptr_t)got;
		req.input_len = m->input_len;
		req.scores_len = m->output_len;
		if (ioctl(fd, MCAI_IOC_INFER, &req)) {
			fail("INFER %u: %s", k, strerror(errno));
			return;
		}
		if (req.class_id != cls || req.scores_len != m->output_len ||
		    memcmp(got, want, m->output_len)) {
			fail("INFER %u: class %d (user space %d), scores differ: %d",
			     k, req.class_id, cls,
			     memcmp(got, want, m->output_len) != 0);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct mcai_limits lim;
	struct mcai_model_load req;
	struct mcai_model_unload un;
	struct mcai_verdict v;
	struct mcai_model m;
	struct mcai_info info;
	struct entry *e = NULL;
	char ureason[MCAI_REASON_LEN];
	u32 size, uoff;
	u8 *valid;
	int fd, n, ok;

	prog = "hostile_load";
	if (argc != 2 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: %s DIR   (DIR written by mcai-hostile)\n", prog);
		return argc == 2 ? 0 : 1;
	}
	fd = open("/dev/" MCAI_DEVICE_NAME, O_RDWR);
	if (fd < 0) {
		fail("/dev/mcai: %s", strerror(errno));
		return 1;
	}
	if (get_info(fd, &info))
		return 1;
	if (info.nr_models) {
		fail("%u models already loaded", info.nr_models);
		return 1;
	}
	lim.max_blob_size = info.max_blob_size;
	lim.max_layers = info.max_layers;
	lim.max_dim = info.max_dim;
	lim.max_arena = info.max_arena;

	n = read_manifest(argv[1], &e);
	if (n <= 0) {
		fail("empty manifest");
		return 1;
	}
	valid = read_file(argv[1], "valid.mcai", &size);
	if (!valid)
		return 1;
	if (user_check(valid, size, &lim, ureason, &uoff) ||
	    mcai_verify(&m, valid, size, &lim, &v)) {
		fail("valid.mcai refused in user space: %s", ureason);
		return 1;
	}

	/* 1. Every hostile blob, nothing loaded. */
	ok = hostile_pass(fd, argv[1], e, n, &lim, 0);
	printf("%s: %d/%d hostile blobs refused with the expected reason\n",
	       prog, ok, n);

	/* 2. The valid blob loads and infers like user space. */
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.blob_ptr = (u64)(uintptr_t)valid;
	req.blob_size = size;
	if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &req)) {
		fail("valid.mcai: MODEL_LOAD: %s (%s)", strerror(errno), req.reason);
		return 1;
	}
	if (!req.model_id || req.version != m.version || req.replaced_version)
		fail("valid.mcai: id %u version %u replaced %u", req.model_id,
		     req.version, req.replaced_version);
	infer_check(fd, req.model_id, &m, 64);

	/* 3. Again, with the model loaded under the same name. */
	ok = hostile_pass(fd, argv[1], e, n, &lim, 1);
	printf("%s: %d/%d refused again with the valid model loaded\n", prog, ok, n);
	infer_check(fd, req.model_id, &m, 64);

	/* 4. Unload; nothing left behind. */
	memset(&un, 0, sizeof(un));
	un.size = sizeof(un);
	un.ref.model_id = req.model_id;
	if (ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &un))
		fail("MODEL_UNLOAD: %s", strerror(errno));
	if (!get_info(fd, &info) && info.nr_models)
		fail("%u models left after unload", info.nr_models);

	free(valid);
	free(e);
	close(fd);
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", prog, failures);
		return 1;
	}
	printf("%s: all checks passed\n", prog);
	return 0;
}
