// SPDX-License-Identifier: GPL-2.0
/*
 * The memory-bandwidth yardstick of tests/bench/fed_bench.sh: how long this
 * machine takes just to read BYTES of floats from memory and sum them, the
 * least any aggregation of that many update bytes can cost.
 *
 *   memsum BYTES [N_PARAMS]
 *
 * Prints, one "key=value" per line:
 *   sum_s / sum_gbs     a plain float sum over BYTES (a buffer larger than
 *                       the caches, read again until BYTES are done)
 *   axpy_s / axpy_gbs   with N_PARAMS: the FedAvg shape, acc[i] += w * u[i]
 *                       for BYTES / (4 * N_PARAMS) vectors u streamed from
 *                       that buffer into one N_PARAMS accumulator
 * Each is the best of three runs.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUF_BYTES	(256UL << 20)
#define LANES		16

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float sum_floats(const float *p, size_t n)
{
	float acc[LANES] = { 0 }, s = 0.0f;
	size_t i, j;

	for (i = 0; i + LANES <= n; i += LANES)
		for (j = 0; j < LANES; j++)
			acc[j] += p[i + j];
	for (; i < n; i++)
		s += p[i];
	for (j = 0; j < LANES; j++)
		s += acc[j];
	return s;
}

static void axpy(float *restrict acc, const float *restrict u, float w,
		 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		acc[i] += w * u[i];
}

int main(int argc, char **argv)
{
	unsigned long long bytes;
	size_t buf_floats, n_params = 0, i;
	double best_sum = 1e30, best_axpy = 1e30, t;
	volatile float sink = 0.0f;
	float *buf, *acc = NULL;
	int run;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: memsum BYTES [N_PARAMS]\n");
		return 2;
	}
	bytes = strtoull(argv[1], NULL, 0);
	if (argc == 3)
		n_params = strtoul(argv[2], NULL, 0);
	if (bytes < 4 || (n_params && n_params * 4 > BUF_BYTES)) {
		fprintf(stderr, "memsum: bad sizes\n");
		return 2;
	}
	buf_floats = BUF_BYTES / sizeof(float);
	buf = malloc(BUF_BYTES);
	if (n_params)
		acc = calloc(n_params, sizeof(float));
	if (!buf || (n_params && !acc)) {
		fprintf(stderr, "memsum: out of memory\n");
		return 1;
	}
	for (i = 0; i < buf_floats; i++)
		buf[i] = (float)(i % 1000) * 1e-6f;

	for (run = 0; run < 3; run++) {
		unsigned long long left = bytes / sizeof(float);

		t = now();
		while (left) {
			size_t n = left < buf_floats ? (size_t)left : buf_floats;

			sink += sum_floats(buf, n);
			left -= n;
		}
		t = now() - t;
		if (t < best_sum)
			best_sum = t;
	}
	printf("bytes=%llu\nsum_s=%.6f\nsum_gbs=%.3f\n", bytes, best_sum,
	       bytes / best_sum / 1e9);

	if (n_params) {
		size_t per = buf_floats / n_params, k;
		unsigned long long vecs = bytes / (n_params * sizeof(float)), v;

		for (run = 0; run < 3; run++) {
			memset(acc, 0, n_params * sizeof(float));
			t = now();
			for (v = 0, k = 0; v < vecs; v++, k = (k + 1) % per)
				axpy(acc, buf + k * n_params, 0.001f, n_params);
			t = now() - t;
			sink += acc[n_params / 2];
			if (t < best_axpy)
				best_axpy = t;
		}
		printf("axpy_s=%.6f\naxpy_gbs=%.3f\n", best_axpy,
		       vecs * n_params * sizeof(float) / best_axpy / 1e9);
	}
	free(acc);
	free(buf);
	return sink == 12345.0f ? 3 : 0;
}
