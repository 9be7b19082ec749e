// SPDX-License-Identifier: GPL-2.0
/*
 * The test vectors a blob must reproduce before the registry accepts it,
 * run in the loader's context.  Below the registry: it knows a model, not
 * the table.
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "vectors.h"
#include "models/engine/model.h"

/*
 * Run every test vector of a freshly verified model.  Returns 0, -EINVAL
 * with the failing index in @failed, -ENOMEM, or -EINTR when the loader
 * is killed.  The vectors are checked one at a time with the library's
 * own checker, so the comparison is the one user space runs, and between
 * two of them the task can be rescheduled: a blob of max_blob_size can
 * carry enough vectors to keep a CPU busy for a long time.
 */
int mcai_vectors_check(const struct mcai_model *m, u32 *failed)
{
	void *arena;
	u32 t;
	int ret = 0;

	if (!m->tv_count)
		return 0;
	/* The arena first: a v2 graph's needs 8-byte alignment. */
	arena = kvmalloc((size_t)m->arena_size + m->output_len,
			 GFP_KERNEL_ACCOUNT);
	if (!arena)
		return -ENOMEM;
	for (t = 0; t < m->tv_count; t++) {
		if (mcai_model_check_vector(m, t, arena,
					    (u8 *)arena + m->arena_size)) {
			*failed = t;
			ret = -EINVAL;
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	kvfree(arena);
	return ret;
}
