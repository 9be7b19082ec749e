/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FedAdam's server moments (m, v and the step count) beside the model
 * registry, so that an aggregator restarted after a crash continues the
 * same Adam trajectory instead of silently restarting it from zero.
 *
 * Two files in the registry directory, each written atomically
 * (runtime/lib/atomicfile.h) and tagged with the version they belong to:
 *
 *   fedadam        the moments after the latest published version
 *   fedadam.next   the moments of a version being published
 *
 * The aggregator saves .next before it publishes version V and commits
 * (renames it over fedadam) once V is durable, so whatever instant a crash
 * hits, one of the two carries the tag of the registry's latest version;
 * mcai_adamstate_load() takes that one.
 *
 * Format (little-endian): "MCAIADAM", u32 format (1), u32 version, u32 n,
 * u32 0, u64 steps, f32 m[n], f32 v[n], SHA-256 of all the bytes before.
 */
#ifndef MCAI_ADAMSTATE_H
#define MCAI_ADAMSTATE_H

#include <stddef.h>
#include <stdint.h>

int mcai_adamstate_save(const char *dir, uint32_t version, const float *m,
			const float *v, uint32_t n, uint64_t steps, char *err,
			size_t errlen);
int mcai_adamstate_commit(const char *dir, char *err, size_t errlen);
/*
 * The moments tagged @version, of @n values each: 0; -ENOENT when neither
 * file has them (none saved yet, or another version's); -EINVAL when a
 * file is damaged, with the reason in @err.
 */
int mcai_adamstate_load(const char *dir, uint32_t version, float *m,
			float *v, uint32_t n, uint64_t *steps, char *err,
			size_t errlen);

#endif /* MCAI_ADAMSTATE_H */
