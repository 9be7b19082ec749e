// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-hostile OUTDIR: write the hostile model blobs of tests/hostile.c as
 * OUTDIR/NAME.mcai, the valid base blob as OUTDIR/valid.mcai and
 * OUTDIR/manifest.txt, one "NAME<TAB>expected reason" line per hostile
 * blob.  Each blob is checked against the user-space verifier first: a
 * variant that does not fail the way the manifest says is an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/hostile.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcai-hostile OUTDIR\n"
		"\n"
		"Write hostile model blobs for the verifier tests: OUTDIR/NAME.mcai\n"
		"for each one, OUTDIR/valid.mcai (the valid blob they derive from)\n"
		"and OUTDIR/manifest.txt with a \"NAME<TAB>expected reason\" line\n"
		"per hostile blob.  The reasons are mcai_verify()'s under the\n"
		"default limits (mcai.ko loaded without parameters).\n");
}

static int write_file(const char *dir, const char *name, const u8 *p, u32 n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.mcai", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "mcai-hostile: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mcai_limits lim;
	struct hostile *h;
	char path[4096], reason[MCAI_REASON_LEN];
	const char *dir;
	u32 size, off;
	u8 *base;
	FILE *man;
	int n, i, bad = 0;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		usage(stderr);
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "mcai-hostile: %s: %s\n", dir, strerror(errno));
		return 1;
	}

	mcai_limits_default(&lim);
	base = hostile_base(&size);
	if (!base)
		return 1;
	if (hostile_check(base, size, &lim, reason, sizeof(reason), &off)) {
		fprintf(stderr, "mcai-hostile: base blob refused: %s\n", reason);
		return 1;
	}
	if (write_file(dir, "valid", base, size))
		return 1;
	free(base);

	n = hostile_build(&h);
	if (n < 0) {
		fprintf(stderr, "mcai-hostile: out of memory\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/manifest.txt", dir);
	man = fopen(path, "w");
	if (!man) {
		fprintf(stderr, "mcai-hostile: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (!hostile_check(h[i].blob, h[i].size, &lim, reason,
				   sizeof(reason), &off) ||
		    strcmp(reason, h[i].reason)) {
			fprintf(stderr, "mcai-hostile: %s: verifier says \"%s\", want \"%s\"\n",
				h[i].name, reason, h[i].reason);
			bad = 1;
		}
		if (write_file(dir, h[i].name, h[i].blob, h[i].size))
			bad = 1;
		fprintf(man, "%s\t%s\n", h[i].name, h[i].reason);
	}
	if (fclose(man)) {
		fprintf(stderr, "mcai-hostile: %s: %s\n", path, strerror(errno));
		bad = 1;
	}
	hostile_free(h, n);
	if (!bad)
		printf("mcai-hostile: wrote %d hostile blobs, valid.mcai and manifest.txt to %s\n",
		       n, dir);
	return bad;
}
