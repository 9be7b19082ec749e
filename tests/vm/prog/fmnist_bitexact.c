// SPDX-License-Identifier: GPL-2.0
/*
 * Run every Fashion-MNIST test image through /dev/mcai and through the
 * user-space engine; the scores must be bit-identical, and the number of
 * correct classes must equal what the trainer reported when it wrote the
 * shipped blob.  Exit 0 pass, 1 fail, 77 skip (liburing convention).
 *
 * usage: fmnist_bitexact BLOB REPORT [DATASET_DIR]
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

int main(int argc, char **argv)
{
	const char *dir = argc > 3 ? argv[3] : MCAI_FMNIST_DIR;
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

	if (argc < 3) {
		fprintf(stderr, "usage: %s BLOB REPORT [DATASET_DIR]\n", argv[0]);
		return 1;
	}
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
	}
	printf("fmnist: %u images, kernel/user mismatches %u, correct %u (reported %ld), accuracy %.4f\n",
	       ds.count, mismatches, correct, want, correct / (double)ds.count);
	printf("fmnist: time ratio ioctl/user-engine %.2f\n", t_kern / t_user);
	ret = mismatches == 0 && (long)correct == want && ds.count == 10000 ? 0 : 1;

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
