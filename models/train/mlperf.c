// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-zoo: build the four MLPerf Tiny reference models as engine v2
 * graph blobs with their reports (make mlperf-models), or check shipped
 * ones (make check-mlperf).  Deterministic: the same bytes every run.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/cli.h"
#include "models/train/mlperf.h"
#include "models/train/writer.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcai-zoo [--out-dir DIR] [--only NAME]\n"
		"       mcai-zoo --check DIR\n\n"
		"Builds the MLPerf Tiny reference models as engine v2 graph blobs,\n"
		"each with a report: kws-dscnn, vww-mobilenet, ic-resnet8 (synthetic\n"
		"weights) and ad-autoencoder (trained on the simulated vibration\n"
		"sensor).\n\n"
		"  --out-dir DIR  where to write NAME.mcai and NAME.txt (default .)\n"
		"  --only NAME    build only that model\n"
		"  --check DIR    verify DIR's blobs, run their test vectors and check\n"
		"                 their MACs against the MLPerf Tiny table (within %.0f%%)\n"
		"  --help         this text\n",
		100 * MCAI_ZOO_MAC_TOLERANCE);
}

/* One shipped blob: verified, its vectors reproduced, its MACs the table's. */
static int check_one(const char *dir, enum mcai_zoo_id id)
{
	const struct mcai_zoo_ref *ref = &mcai_zoo_refs[id];
	struct mcai_nb_probe p;
	char path[4096], err[512], need[128];
	const char *lim;
	u32 size, failed = 0;
	double dev;
	u8 *blob;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/%s.mcai", dir, ref->name);
	blob = mcai_blob_read(path, MCAI_CEIL_MAX_BLOB, &size, err, sizeof(err));
	if (!blob) {
		fprintf(stderr, "FAIL %s: %s\n", ref->name, err);
		return -1;
	}
	if (mcai_nb_probe_open(&p, blob, size, err, sizeof(err))) {
		fprintf(stderr, "FAIL %s: %s\n", path, err);
		free(blob);
		return -1;
	}
	if (strcmp(p.g.name, ref->name)) {
		fprintf(stderr, "FAIL %s: named %s, not %s\n", path, p.g.name,
			ref->name);
		ret = -1;
	}
	if (!p.g.tv_count) {
		fprintf(stderr, "FAIL %s: carries no test vectors\n", path);
		ret = -1;
	} else if (mcai_graph_check_vectors(&p.g, p.arena, &failed)) {
		fprintf(stderr, "FAIL %s: test vector %u does not reproduce\n",
			path, failed);
		ret = -1;
	}
	dev = ((double)p.g.macs - ref->macs) / ref->macs;
	if (fabs(dev) > MCAI_ZOO_MAC_TOLERANCE) {
		fprintf(stderr, "FAIL %s: %llu MACs, %+.1f%% off the table's %.0f (more than %.0f%%)\n",
			path, (unsigned long long)p.g.macs, 100 * dev, ref->macs,
			100 * MCAI_ZOO_MAC_TOLERANCE);
		ret = -1;
	}
	lim = mcai_zoo_limits(blob, size, need, sizeof(need));
	if (!ret)
		printf("ok   %-15s %9llu MACs (%+.2f%% of the table), %u test vectors, arena %u, largest dim %u, %s%s\n",
		       ref->name, (unsigned long long)p.g.macs, 100 * dev,
		       p.g.tv_count, p.arena_size, p.max_dim,
		       lim ? "needs " : "default limits", lim ? lim : "");
	mcai_nb_probe_close(&p);
	free(blob);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out-dir", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, 'n' },
		{ "check", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *dir = ".", *only = NULL, *check = NULL;
	int c, bad = 0;
	u32 i;

	mcai_cli_prog = "mcai-zoo";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'n':
			only = optarg;
			break;
		case 'c':
			check = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (only) {
		for (i = 0; i < MCAI_ZOO_N; i++)
			if (!strcmp(only, mcai_zoo_refs[i].name))
				break;
		if (i == MCAI_ZOO_N)
			mcai_die("--only: no model named %s", only);
	}
	for (i = 0; i < MCAI_ZOO_N; i++) {
		const char *name = mcai_zoo_refs[i].name;

		if (only && strcmp(only, name))
			continue;
		if (check) {
			bad |= check_one(check, i);
			continue;
		}
		if (i == MCAI_ZOO_AD)
			mcai_zoo_build_ad(dir);
		else
			mcai_zoo_build_cnn(i, dir);
		printf("wrote %s/%s.mcai and %s.txt\n", dir, name, name);
	}
	if (bad) {
		fprintf(stderr, "mcai-zoo: %s: some models failed the check\n",
			check);
		return 1;
	}
	return 0;
}
