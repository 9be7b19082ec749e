// SPDX-License-Identifier: GPL-2.0
/*
 * A whole test set through an imported (format v2) blob: every sample
 * quantised as `mcaictl run` quantises a float input (the blob's first
 * input's scale and zero point, half to even), run by the user-space
 * engine and, with --device, by /dev/mcai; kernel and user space must
 * agree bit for bit, and the number of samples whose class is the
 * expected one must equal the report's int8_correct= (REPORT "-": no
 * check, for the make targets that write the reports).  Exit 0 pass,
 * 1 fail, 77 skip.
 *
 * usage: graph_agree [--device] BLOB REPORT|- --fmnist DIR
 *        graph_agree [--device] BLOB REPORT --records FILE
 *
 * --fmnist: the 10,000 Fashion-MNIST test images, pixel / 255, against
 * their labels (a 28x28x1 image is the same bytes NCHW and NHWC).
 * --records: records of n_features int8 feature values and one expected
 * class byte (models/vib-trees-heldout.bin: scikit-learn's classes).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "models/engine/graph.h"
#include "models/engine/model.h"
#include "models/train/dataset.h"
#include "models/train/writer.h"

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

/* float -> the input tensor's integers, as mcaictl run does it */
static void quantise(const struct mcai_gtensor *t, const float *x, u32 n,
		     u8 *dst)
{
	float scale;
	u32 i;

	memcpy(&scale, &t->scale, sizeof(scale));
	for (i = 0; i < n; i++) {
		double q = nearbyint(x[i] / scale) + t->zp;
		double lo = t->dtype == MCAI_DT_INT8 ? -128 : -32768;
		double hi = t->dtype == MCAI_DT_INT8 ? 127 : 32767;

		q = q < lo ? lo : q > hi ? hi : q;
		if (t->dtype == MCAI_DT_INT8) {
			dst[i] = (u8)(s8)q;
		} else {
			s16 s = (s16)q;

			memcpy(dst + 2 * i, &s, 2);
		}
	}
}

int main(int argc, char **argv)
{
	struct mcai_model_load load = { .size = sizeof(load) };
	struct mcai_model_unload unload = { .size = sizeof(unload) };
	struct mcai_dataset ds = { 0 };
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	const struct mcai_gtensor *it;
	bool device = false;
	const char *blobp, *report, *mode, *src;
	char err[256];
	u32 blob_size = 0, state_size = 0, n = 0, nf, i, j;
	u32 correct = 0, mismatches = 0;
	u8 *blob = NULL, *in = NULL, *ks = NULL, *us = NULL, *rec = NULL;
	float *x = NULL;
	void *state = NULL, *arena = NULL;
	long want;
	int fd = -1, ret = 1, a = 1;

	if (argc > 1 && !strcmp(argv[1], "--device")) {
		device = true;
		a++;
	}
	if (argc - a != 4) {
		fprintf(stderr, "usage: %s [--device] BLOB REPORT --fmnist DIR | --records FILE\n",
			argv[0]);
		return 1;
	}
	blobp = argv[a];
	report = argv[a + 1];
	mode = argv[a + 2];
	src = argv[a + 3];
	blob = mcai_blob_read(blobp, MCAI_DEFAULT_MAX_BLOB, &blob_size, err,
			      sizeof(err));
	if (!blob) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	mcai_limits_default(&lim);
	if (mcai_model_state_size(blob, blob_size, &lim, &state_size, &v)) {
		fprintf(stderr, "%s: %s\n", blobp, v.reason);
		goto out;
	}
	state = calloc(1, state_size ? state_size : 8);
	if (!state || mcai_model_verify(&m, blob, blob_size, &lim, state,
					state_size, &v)) {
		fprintf(stderr, "%s: %s\n", blobp, state ? v.reason : "no memory");
		goto out;
	}
	if (!m.graph || m.graph->n_inputs != 1) {
		fprintf(stderr, "%s: not a one-input graph blob\n", blobp);
		goto out;
	}
	it = &m.graph->t[m.graph->input[0]];
	if (it->dtype != MCAI_DT_INT8 && it->dtype != MCAI_DT_INT16) {
		fprintf(stderr, "%s: input neither int8 nor int16\n", blobp);
		goto out;
	}
	nf = m.input_len / (it->dtype == MCAI_DT_INT8 ? 1 : 2);
	if (!strcmp(mode, "--fmnist")) {
		char images[512], labels[512];

		snprintf(images, sizeof(images), "%s/t10k-images-idx3-ubyte.gz", src);
		snprintf(labels, sizeof(labels), "%s/t10k-labels-idx1-ubyte.gz", src);
		if (mcai_dataset_load(&ds, images, labels, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			ret = 77;
			goto out;
		}
		if (nf != ds.rows * ds.cols) {
			fprintf(stderr, "input of %u values, images of %u\n", nf,
				ds.rows * ds.cols);
			goto out;
		}
		n = ds.count;
	} else if (!strcmp(mode, "--records")) {
		FILE *f = fopen(src, "rb");
		long len;

		if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
		    len % (nf + 1) || fseek(f, 0, SEEK_SET)) {
			fprintf(stderr, "%s: missing, or not records of %u + 1 bytes\n",
				src, nf);
			if (f)
				fclose(f);
			goto out;
		}
		n = (u32)(len / (nf + 1));
		rec = malloc(len ? (size_t)len : 1);
		if (!rec || fread(rec, 1, (size_t)len, f) != (size_t)len) {
			fclose(f);
			goto out;
		}
		fclose(f);
	} else {
		fprintf(stderr, "%s: --fmnist or --records\n", mode);
		goto out;
	}
	/* "-": no report yet (the make target that writes it) */
	want = strcmp(report, "-") ? reported_correct(report) : -2;
	if (want == -1) {
		fprintf(stderr, "no int8_correct= in %s\n", report);
		goto out;
	}
	if (device) {
		fd = open("/dev/mcai", O_RDWR);
		if (fd < 0) {
			perror("/dev/mcai");
			goto out;
		}
		load.blob_ptr = (uintptr_t)blob;
		load.blob_size = blob_size;
		if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &load)) {
			fprintf(stderr, "load: %s: %s\n", strerror(errno), load.reason);
			goto out;
		}
	}
	x = malloc(nf * sizeof(float));
	in = malloc(m.input_len);
	ks = malloc(m.output_len);
	us = malloc(m.output_len);
	arena = aligned_alloc(8, m.arena_size ? (m.arena_size + 7) / 8 * 8 : 8);
	if (!x || !in || !ks || !us || !arena)
		goto out;
	for (i = 0; i < n; i++) {
		u32 label;
		int ucls;

		for (j = 0; j < nf; j++)
			x[j] = rec ? (float)(s8)rec[(size_t)i * (nf + 1) + j] :
			       ds.images[(size_t)i * nf + j] / 255.0f;
		label = rec ? rec[(size_t)i * (nf + 1) + nf] : ds.labels[i];
		quantise(it, x, nf, in);
		ucls = mcai_model_run(&m, in, us, arena);
		if (device) {
			struct mcai_infer inf = {
				.size = sizeof(inf),
				.ref.model_id = load.model_id,
				.input_ptr = (uintptr_t)in,
				.input_len = m.input_len,
				.scores_ptr = (uintptr_t)ks,
				.scores_len = m.output_len,
			};

			if (ioctl(fd, MCAI_IOC_INFER, &inf)) {
				fprintf(stderr, "infer %u: %s\n", i, strerror(errno));
				goto out;
			}
			if (inf.class_id != ucls || memcmp(ks, us, m.output_len)) {
				if (mismatches++ < 5)
					fprintf(stderr, "sample %u: kernel class %d, user %d\n",
						i, inf.class_id, ucls);
			}
		}
		correct += (u32)ucls == label;
	}
	printf("%s: %u samples, %s, expected class %u (reported %ld)\n",
	       m.name, n, device ? (mismatches ? "kernel and user space differ" :
				    "kernel = user space bit for bit") :
	       "user space", correct, want);
	printf("int8_correct=%u\n", correct);
	ret = mismatches == 0 && (want == -2 || (long)correct == want) ? 0 : 1;
	if (device) {
		memcpy(unload.ref.name, m.name, MCAI_NAME_LEN);
		if (ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &unload)) {
			perror("unload");
			ret = 1;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	mcai_dataset_free(&ds);
	free(blob);
	free(state);
	free(rec);
	free(x);
	free(in);
	free(ks);
	free(us);
	free(arena);
	return ret;
}
