/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcai-zoo: the four MLPerf Tiny reference models as engine v2 graph
 * blobs (models/mlperf-tiny/).  What the builders share: the reference
 * table, writing a blob and its report, the facts every report states.
 */
#ifndef MCAI_MLPERF_H
#define MCAI_MLPERF_H

#include <stdbool.h>
#include <stdio.h>

#include "models/train/netbuild.h"

enum mcai_zoo_id {
	MCAI_ZOO_KWS,
	MCAI_ZOO_VWW,
	MCAI_ZOO_IC,
	MCAI_ZOO_AD,
	MCAI_ZOO_N
};

/* The MLPerf Tiny table: what each model must come out as. */
struct mcai_zoo_ref {
	const char *name;	/* blob name and file stem */
	const char *title;
	double macs;		/* the table's MACs */
	double kb;		/* the table's int8 model size, KB */
};

extern const struct mcai_zoo_ref mcai_zoo_refs[MCAI_ZOO_N];

/* Within this fraction of the table's MACs, or --check fails. */
#define MCAI_ZOO_MAC_TOLERANCE	0.05

/* Build model @id into @dir: <name>.mcai and <name>.txt. */
void mcai_zoo_build_cnn(enum mcai_zoo_id id, const char *dir);
void mcai_zoo_build_ad(const char *dir);

/* Write @len bytes to @dir/@file atomically (a temporary, then rename). */
void mcai_zoo_save(const char *dir, const char *file, const void *data,
		   size_t len);

/* A report in memory, saved as @dir/<name>.txt by mcai_zoo_report_save(). */
struct mcai_zoo_report {
	FILE *f;
	char *buf;
	size_t len;
};

void mcai_zoo_report_open(struct mcai_zoo_report *r);
void mcai_zoo_report_save(struct mcai_zoo_report *r, const char *dir,
			  const char *name);

/*
 * The facts of a written blob: MACs against the table, constant bytes,
 * arena, largest dimension, blob size, the limits it loads under.
 */
void mcai_zoo_facts(FILE *f, enum mcai_zoo_id id, const u8 *blob, u32 size,
		    const struct mcai_nb_probe *p);

/*
 * NULL when @blob verifies under the module's default limits; else the
 * module parameters it needs, in @need.
 */
const char *mcai_zoo_limits(const u8 *blob, u32 size, char *need,
			    size_t len);

#endif /* MCAI_MLPERF_H */
