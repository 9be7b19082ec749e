/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live-object counters of the whole module, read-only in sysfs
 * (nr_models, live_slots, live_versions, live_bytes); leak tests watch
 * them.  The lowest layer of kmod/: every file that allocates a counted
 * object may include it.
 */
#ifndef MCAI_LIVE_H
#define MCAI_LIVE_H

#include <linux/atomic.h>

struct mcai_live {
	atomic_t slots;
	atomic_t versions;
	atomic_long_t bytes;
	atomic64_t inferences;
};

extern struct mcai_live mcai_live;

#endif /* MCAI_LIVE_H */
