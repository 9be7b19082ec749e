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
#include "models/engine/engine.h"

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
	const size_t rec = (size_t)m->input_len + m->output_len;
	struct mcai_model *one;
	u32 t, ignored;
	s8 *scores;
	int ret = 0;

	if (!m->tv_count)
		return 0;
	one = kmemdup(m, sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!one)
		return -ENOMEM;
	scores = kvmalloc((size_t)m->output_len + m->arena_size,
			  GFP_KERNEL_ACCOUNT);
	if (!scores) {
		ret = -ENOMEM;
		goto out_one;
	}
	one->tv_count = 1;
	for (t = 0; t < m->tv_count; t++) {
		one->tv = m->tv + t * rec;
		if (mcai_engine_check_vectors(one, scores + m->output_len,
					      scores, &ignored)) {
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
	kvfree(scores);
out_one:
	kfree(one);
	return ret;
}
