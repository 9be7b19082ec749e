// SPDX-License-Identifier: GPL-2.0
/*
 * The longest FPU section, measured: in the kernel the SIMD kernels run
 * between kernel_fpu_begin() and kernel_fpu_end(), preemption off, and
 * the engine ends a section after about MCAI_SIMD_SECTION_MACS
 * MAC-equivalents (models/engine/simd.h).  This program runs the same
 * engine code, built as the kernel builds it (-mno-sse etc. for all but
 * the ISA objects), with the same section boundaries, in user space:
 * simd.c is built with MCAI_FPU_SECTION_HOOK, so that every section's
 * begin and end (models/engine/port_simd.h) land here and are timed.
 *
 * For every BLOB and every path this CPU runs (off, avx2, avx512vnni,
 * avxvnni where the CPU has AVX-VNNI, and avxvnni-evex: op_conv_avxvnni.c
 * built with the EVEX vpdpbusd, standing in for avxvnni where the CPU
 * has AVX-512 VNNI), it runs --reps inferences on one random input and
 * prints: sections per inference, the longest section's own time (each
 * section of the inference is the same work every run: its fastest run,
 * the longest of those), the longest seen in any run (which includes
 * whatever interrupted this process: on a loaded machine, much more),
 * the 99th percentile and median over all sections of all runs, and the
 * inference time (fastest run).  The kernel adds kernel_fpu_begin()'s
 * and kernel_fpu_end()'s own cost (saving and restoring the task's
 * vector state), which user space does not have.
 *
 * A program that prints figures, not a test: `make bench-fpu-section`;
 * models/engine/fpu-sections.txt holds its output on the build host.
 *
 * usage: fpu-section-bench [--reps N] BLOB...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/engine/graph.h"
#include "models/engine/model.h"
#include "models/engine/simd.h"
#include "models/train/writer.h"

static const char *prog = "fpu-section-bench";

/* ---- the hooks simd.c calls (models/engine/port_simd.h) ---- */

static u64 *rec;		/* section durations, ns */
static u32 rec_n, rec_cap;
static u64 rec_t0;
static bool rec_open;
static u32 rec_lost, rec_nested;

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

void mcai_fpu_section_begin(void)
{
	if (rec_open)
		rec_nested++;
	rec_open = true;
	rec_t0 = now_ns();
}

void mcai_fpu_section_end(void)
{
	u64 t = now_ns();

	if (!rec_open) {
		rec_nested++;
		return;
	}
	rec_open = false;
	if (rec_n < rec_cap)
		rec[rec_n++] = t - rec_t0;
	else if (rec_cap)	/* 0: warming up, nothing recorded */
		rec_lost++;
}

/* ---- the paths ---- */

struct path {
	const char *name;
	enum mcai_simd_path path;
	bool evex;		/* op_conv_avxvnni.c's EVEX build as avxvnni */
};

static const struct path paths[] = {
	{ "off", MCAI_SIMD_OFF, false },
	{ "avx2", MCAI_SIMD_AVX2, false },
	{ "avx512vnni", MCAI_SIMD_AVX512VNNI, false },
	{ "avxvnni", MCAI_SIMD_AVXVNNI, false },
	{ "avxvnni-evex", MCAI_SIMD_AVXVNNI, true },
};

/* Make @p active; false (and why, on stdout) if this CPU cannot. */
static bool use(const struct path *p)
{
	mcai_simd_stand_in(MCAI_SIMD_AVXVNNI, NULL);
	if (p->evex) {
		if (!mcai_simd_supported(MCAI_SIMD_AVX512VNNI))
			return false;
		mcai_simd_stand_in(MCAI_SIMD_AVXVNNI, &mcai_simd_avxvnni_evex);
	}
	return !mcai_simd_set(p->path);
}

/* ---- one model on one path ---- */

static void *xmalloc(size_t n)
{
	void *m = aligned_alloc(8, (n + 8) & ~(size_t)7);

	if (!m) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	return m;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static double us(u64 ns)
{
	return ns / 1000.0;
}

/* The figures of @reps runs of @per sections each (rec[]). */
static void section_stats(const char *file, const struct path *pa, u32 per,
			  u32 reps, u64 best)
{
	u64 *own, *all, longest = 0, any;
	u32 i, r;

	/* each section's fastest run: its own cost, interruptions left out */
	own = xmalloc(8ULL * per);
	for (i = 0; i < per; i++) {
		own[i] = ~0ULL;
		for (r = 0; r < reps; r++)
			if (rec[(size_t)r * per + i] < own[i])
				own[i] = rec[(size_t)r * per + i];
		if (own[i] > longest)
			longest = own[i];
	}
	all = rec;
	qsort(all, (size_t)per * reps, 8, cmp_u64);
	any = all[(size_t)per * reps - 1];
	printf("%-38s %-13s %9u %10.2f %10.2f %8.2f %8.2f %12.1f\n", file,
	       pa->name, per, us(longest), us(any),
	       us(all[((size_t)per * reps * 99 + 99) / 100 - 1]),
	       us(all[(size_t)per * reps / 2]), us(best));
	free(own);
}

static int run(const char *file, const u8 *blob, u32 size,
	       const struct path *pa, u32 reps)
{
	struct mcai_limits lim;
	struct mcai_verdict v = { "", 0 };
	struct mcai_model m;
	void *state = NULL, *arena;
	u8 *in, *out;
	u32 need, per, i, r;
	u64 best = ~0ULL;
	int rc = 0;
	u64 seed = 0x5ec710;

	mcai_limits_widest(&lim);
	if (mcai_model_state_size(blob, size, &lim, &need, &v))
		goto bad;
	if (need)
		state = xmalloc(need);
	/* loaded under the path, so that its weights are packed for it */
	if (mcai_model_verify(&m, blob, size, &lim, state, need, &v)) {
		free(state);
		goto bad;
	}
	arena = xmalloc(m.arena_size + 8);
	in = xmalloc(m.input_len);
	out = xmalloc(m.output_len);
	for (i = 0; i < m.input_len; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		in[i] = (u8)(seed >> 56);
	}
	/* warm the caches; count the sections of one inference */
	for (r = 0; r < 3; r++)
		mcai_model_run(&m, in, out, arena);
	rec_cap = 1U << 20;
	rec = xmalloc(8ULL * rec_cap);
	rec_n = 0;
	mcai_model_run(&m, in, out, arena);
	per = rec_n;
	if ((u64)per * reps > rec_cap)
		reps = per ? rec_cap / per : reps;
	rec_n = 0;
	for (r = 0; r < reps; r++) {
		u64 t0 = now_ns();

		mcai_model_run(&m, in, out, arena);
		t0 = now_ns() - t0;
		if (t0 < best)
			best = t0;
		if (rec_n != (r + 1) * per) {
			fprintf(stderr, "%s: %s: %s: run %u had %u sections, the first %u\n",
				prog, file, pa->name, r, rec_n - r * per, per);
			reps = 0;
			break;
		}
	}
	if (!reps) {
		rc = -1;
	} else if (!per) {
		printf("%-38s %-13s %9u %10s %10s %8s %8s %12.1f\n", file,
		       pa->name, 0U, "-", "-", "-", "-", us(best));
	} else {
		section_stats(file, pa, per, reps, best);
	}
	free(rec);
	rec = NULL;
	rec_cap = rec_n = 0;
	free(state);
	free(arena);
	free(in);
	free(out);
	return rc;
bad:
	fprintf(stderr, "%s: %s: cannot load: %s (offset %u)\n", prog, file,
		v.reason, v.offset);
	return -1;
}

static void cpu_name(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(buf, len, "%s", strchr(line, ':') + 2);
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	fclose(f);
}

int main(int argc, char **argv)
{
	u32 reps = 200, k, size;
	int a = 1, rc = 0;
	char cpu[128], err[256];

	if (a + 1 < argc && !strcmp(argv[a], "--reps")) {
		reps = (u32)strtoul(argv[a + 1], NULL, 10);
		a += 2;
	}
	if (a >= argc || !reps) {
		fprintf(stderr, "usage: %s [--reps N] BLOB...\n", prog);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	cpu_name(cpu, sizeof(cpu));
	printf("# FPU sections of the engine (kernel-like build, user space), %s\n", cpu);
	printf("# bound: MCAI_SIMD_SECTION_MACS %u MAC-equivalents (an output %u, a kernel call %u); %u runs a model and path\n",
	       MCAI_SIMD_SECTION_MACS, MCAI_SIMD_OUT_COST, MCAI_SIMD_CALL_COST,
	       reps);
	printf("# longest: the longest section's own time (its fastest of the runs); any run: the longest seen, interruptions included\n");
	printf("# paths not listed: this CPU lacks them%s\n",
	       mcai_simd_supported(MCAI_SIMD_AVXVNNI) ? "" :
	       " (avxvnni: no AVX-VNNI here; avxvnni-evex runs its kernels)");
	printf("%-38s %-13s %9s %10s %10s %8s %8s %12s\n", "model", "path",
	       "sections", "longest_us", "anyrun_us", "p99_us", "med_us",
	       "inference_us");
	for (; a < argc; a++) {
		u8 *blob = mcai_blob_read(argv[a], 64U << 20, &size, err,
					  sizeof(err));

		if (!blob) {
			fprintf(stderr, "%s: %s\n", prog, err);
			rc = 1;
			continue;
		}
		for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
			if (!use(&paths[k]))
				continue;
			if (run(argv[a], blob, size, &paths[k], reps))
				rc = 1;
		}
		free(blob);
	}
	mcai_simd_stand_in(MCAI_SIMD_AVXVNNI, NULL);
	if (rec_lost || rec_nested) {
		fprintf(stderr, "%s: %u sections lost, %u nested or unpaired\n",
			prog, rec_lost, rec_nested);
		rc = 1;
	}
	return rc;
}
