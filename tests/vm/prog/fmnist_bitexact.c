// SPDX-License-Identifier: GPL-2.0
/*
 * Run every Fashion-MNIST test image through /dev/mcai and through the
 * user-space engine; the scores must be bit-identical, and the number of
 * correct classes must equal what the trainer reported when it wrote the
 * shipped blob.  Exit 0 pass, 1 fail, 77 skip (liburing convention).
 *
 * usage: fmnist_bitexact [--expect-sha256 HEX] BLOB REPORT [DATASET_DIR]
 *        fmnist_bitexact --user-sha256 BLOB REPORT [DATASET_DIR]
 *
 * Both print the SHA-256 of every image's scores, in order.  The second
 * needs no device: it runs the user-space engine alone, on the build
 * machine, and --expect-sha256 then holds the kernel of another
 * architecture to that machine's result (make arm64 records the x86
 * digest for the arm64 guest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "models/train/dataset.h"
#include "models/engine/engine.h"
#include "models/engine/sha256.h"
#include "models/train/quant.h"
#include "models/engine/verify.h"
#include "models/train/writer.h"

/* The int8_correct= line of the trainer's report. */
static long reported_correct(const char *path)
{
	char line[256];
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "int8_correct=%ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void hex(const u8 *d, char out[2 * MCAI_SHA256_LEN + 1])
{
	unsigned int i;

	for (i = 0; i < MCAI_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int main(int argc, char **argv)
{
	const char *expect = NULL, *dir;
	bool user_only = false;
	struct mcai_sha256 sha;
	u8 digest[MCAI_SHA256_LEN];
	char digest_hex[2 * MCAI_SHA256_LEN + 1];
	char images[512], labels[512], err[256];
	struct mcai_model_load load = { .size = sizeof(load) };
	struct mcai_model_unload unload = { .size = sizeof(unload) };
	struct mcai_dataset ds = { 0 };
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	float in_scale;
	long want;
	u32 blob_size = 0, i, j, correct = 0, mismatches = 0;
	double t_user = 0, t_kern = 0, t0;
	s8 *in = NULL, *ks = NULL, *us = NULL;
	void *arena = NULL;
	u8 *blob = NULL;
	int fd = -1, ret = 1;

	if (argc > 2 && !strcmp(argv[1], "--expect-sha256")) {
		expect = argv[2];
		argv += 2;
		argc -= 2;
	} else if (argc > 1 && !strcmp(argv[1], "--user-sha256")) {
		user_only = true;
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: %s [--expect-sha256 HEX | --user-sha256] BLOB REPORT [DATASET_DIR]\n",
			argv[0]);
		return 1;
	}
	dir = argc > 3 ? argv[3] : MCAI_FMNIST_DIR;
	mcai_sha256_init(&sha);
	blob = mcai_blob_read(argv[1], MCAI_DEFAULT_MAX_BLOB, &blob_size, err,
			      sizeof(err));
	if (!blob) {
		fprintf(stderr, "%s\n", err);
		goto cleanup;
	}
	want = reported_correct(argv[2]);
	if (want < 0) {
		fprintf(stderr, "no int8_correct= in %s\n", argv[2]);
		goto cleanup;
	}
	snprintf(images, sizeof(images), "%s/t10k-images-idx3-ubyte.gz", dir);
	snprintf(labels, sizeof(labels), "%s/t10k-labels-idx1-ubyte.gz", dir);
	if (mcai_dataset_load(&ds, images, labels, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		ret = 77;
		goto cleanup;
	}
	mcai_limits_default(&lim);
	if (mcai_verify(&m, blob, blob_size, &lim, &v)) {
		fprintf(stderr, "blob rejected in user space: %s\n", v.reason);
		goto cleanup;
	}
	if (m.input_len != ds.rows * ds.cols) {
		fprintf(stderr, "model input %u != image size %u\n", m.input_len,
			ds.rows * ds.cols);
		goto cleanup;
	}
	memcpy(&in_scale, &m.input_scale, sizeof(in_scale));

	if (user_only) {
		in = malloc(m.input_len);
		us = malloc(m.output_len);
		arena = malloc(m.arena_size ? m.arena_size : 1);
		if (!in || !us || !arena)
			goto cleanup;
		for (i = 0; i < ds.count; i++) {
			const u8 *px = ds.images + (size_t)i * m.input_len;

			for (j = 0; j < m.input_len; j++)
				in[j] = mcai_quantize(px[j] / 255.0f, in_scale,
						      m.input_zp);
			mcai_engine_run(&m, in, us, arena);
			mcai_sha256_update(&sha, us, m.output_len);
		}
		mcai_sha256_final(&sha, digest);
		hex(digest, digest_hex);
		printf("%s\n", digest_hex);
		ret = 0;
		goto cleanup;
	}

	fd = open("/dev/mcai", O_RDWR);
	if (fd < 0) {
		perror("/dev/mcai");
		goto cleanup;
	}
	load.blob_ptr = (uintptr_t)blob;
	load.blob_size = blob_size;
	if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &load)) {
		fprintf(stderr, "load: %s: %s\n", strerror(errno), load.reason);
		goto cleanup;
	}

	in = malloc(m.input_len);
	ks = malloc(m.output_len);
	us = malloc(m.output_len);
	arena = malloc(m.arena_size ? m.arena_size : 1);
	if (!in || !ks || !us || !arena)
		goto cleanup;

	for (i = 0; i < ds.count; i++) {
		const u8 *px = ds.images + (size_t)i * m.input_len;
		struct mcai_infer inf = {
			.size = sizeof(inf),
			.ref.model_id = load.model_id,
			.input_ptr = (uintptr_t)in,
			.input_len = m.input_len,
			.scores_ptr = (uintptr_t)ks,
			.scores_len = m.output_len,
		};
		int ucls;

		for (j = 0; j < m.input_len; j++)
			in[j] = mcai_quantize(px[j] / 255.0f, in_scale, m.input_zp);
		t0 = now();
		ucls = mcai_engine_run(&m, in, us, arena);
		t_user += now() - t0;
		t0 = now();
		if (ioctl(fd, MCAI_IOC_INFER, &inf)) {
			fprintf(stderr, "infer %u: %s\n", i, strerror(errno));
			goto cleanup;
		}
		t_kern += now() - t0;
		if (inf.class_id != ucls || memcmp(ks, us, m.output_len)) {
			if (mismatches++ < 5)
				fprintf(stderr, "image %u: kernel class %d, user %d\n",
					i, inf.class_id, ucls);
		}
		correct += inf.class_id == ds.labels[i];
		mcai_sha256_update(&sha, ks, m.output_len);
	}
	mcai_sha256_final(&sha, digest);
	hex(digest, digest_hex);
	printf("fmnist: %u images, kernel/user mismatches %u, correct %u (reported %ld), accuracy %.4f\n",
	       ds.count, mismatches, correct, want, correct / (double)ds.count);
	printf("fmnist: time ratio ioctl/user-engine %.2f\n", t_kern / t_user);
	printf("fmnist: kernel scores sha256 %s\n", digest_hex);
	ret = mismatches == 0 && (long)correct == want && ds.count == 10000 ? 0 : 1;
	if (expect) {
		bool same = !strcmp(expect, digest_hex);

		printf("fmnist: %s the expected %s\n",
		       same ? "equal to" : "DIFFERENT from", expect);
		if (!same)
			ret = 1;
	}

	memcpy(unload.ref.name, m.name, MCAI_NAME_LEN);
	if (ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &unload)) {
		perror("unload");
		ret = 1;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	mcai_dataset_free(&ds);
	free(blob);
	free(in);
	free(ks);
	free(us);
	free(arena);
	return ret;
}
