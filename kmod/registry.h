/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The model table: one slot per model name, holding the current version
 * behind an RCU pointer.
 */
#ifndef MCAI_REGISTRY_H
#define MCAI_REGISTRY_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

#include "models/engine/model.h"
#include "live.h"
#include "sched.h"
#include "stats.h"

/*
 * A name in the table.  The id is allocated once and survives version
 * swaps; it is never reused while the module is loaded (cyclic allocation).
 * The table holds one reference, every version of this name holds one.
 */
struct mcai_slot {
	struct kref ref;
	struct rcu_head rcu;
	struct mcai_version __rcu *cur;	/* NULL once unloaded */
	atomic64_t inferences;		/* all versions of this name */
	u32 id;
	char name[MCAI_NAME_LEN];
	struct mcai_drift drift;	/* drift statistics, kmod/stats.c */
	struct mcai_sched sched;	/* policy and energy, kmod/sched.c */
};

/*
 * One verified blob.  The slot holds one reference while it is current;
 * every inference in flight holds one, so a swap or an unload never frees
 * a model under a running inference.
 */
struct mcai_version {
	struct kref ref;
	struct rcu_head rcu;
	struct mcai_slot *slot;		/* NULL until linked into the table */
	void *blob;			/* kvmalloc'd; m.* points into it */
	void *state;			/* kvmalloc'd v2 graph, or NULL */
	size_t bytes;			/* accounted in mcai_live.bytes */
	struct mcai_model m;
};

/* What MODEL_LOAD reports back; reason is set on refusals. */
struct mcai_load_result {
	u32 model_id;
	u32 version;
	u32 replaced_version;
	u32 err_offset;
	char reason[MCAI_REASON_LEN];
};

void mcai_registry_init(const struct mcai_limits *lim, u32 max_models);
void mcai_registry_exit(void);
const struct mcai_limits *mcai_registry_limits(void);
u32 mcai_registry_max_models(void);
u32 mcai_registry_count(void);

int mcai_registry_load(const void __user *ublob, u32 size, u32 flags,
		       struct mcai_load_result *res);
int mcai_registry_unload(u32 id, const char *name);
u32 mcai_registry_list(u32 *ids, u32 capacity);

struct mcai_version *mcai_version_get(u32 id, const char *name);
void mcai_version_put(struct mcai_version *v);

/*
 * For holders of a slot (pipelines, the settings and statistics ioctls):
 * the slot outlives an unload, its current version is then NULL.
 * mcai_slot_get() (by id, or by name when the id is 0) and
 * mcai_slot_get_by_id() return NULL when no such model is loaded.
 */
struct mcai_slot *mcai_slot_get(u32 id, const char *name);
struct mcai_slot *mcai_slot_get_by_id(u32 id);
void mcai_slot_put(struct mcai_slot *s);
struct mcai_version *mcai_slot_version_get(struct mcai_slot *s);

#endif /* MCAI_REGISTRY_H */
