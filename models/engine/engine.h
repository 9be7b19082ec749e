/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The int8 inference engine.  Integer only, no allocation, no libc beyond
 * memcpy: the same code runs in mcai.ko and in user space.
 */
#ifndef MCAI_ENGINE_H
#define MCAI_ENGINE_H

#include "models/engine/model.h"

/*
 * Run @m on @input (m->input_len values), write m->output_len scores and
 * return the class.  @arena must hold m->arena_size bytes; it is scratch.
 */
int mcai_engine_run(const struct mcai_model *m, const s8 *input, s8 *scores,
		    void *arena);

/* The class the model's head picks from @scores. */
int mcai_engine_head(const struct mcai_model *m, const s8 *scores);

/*
 * Run the blob's test vectors.  Returns 0 when every one reproduces its
 * expected scores exactly, else -1 and the failing index in @failed.
 * @scores is scratch of m->output_len bytes.
 */
int mcai_engine_check_vectors(const struct mcai_model *m, void *arena,
			      s8 *scores, u32 *failed);

#endif /* MCAI_ENGINE_H */
