// SPDX-License-Identifier: GPL-2.0
/*
 * The model table.
 *
 * Readers (inference, info) never block writers and never take a lock:
 * they find the slot under rcu_read_lock() and take a reference on its
 * current version with kref_get_unless_zero().  Writers (load, unload) are
 * serialised by mcai_registry_lock, publish a new version with
 * rcu_replace_pointer() and then drop the table's reference on the old
 * one, so inferences already running finish on the old version, which is
 * freed when the last of them puts it.  Version and slot structures are
 * freed with kfree_rcu() because a reader may still be looking at one it
 * found just before it was unpublished; the blob itself is only touched
 * by reference holders and is freed at once.
 *
 * Nothing here runs in atomic context: a mutex (a sleeping lock on every
 * kernel, PREEMPT_RT included) and RCU are the only synchronisation, and
 * no lock is held across an allocation that may sleep or a user copy,
 * except the registry mutex across GFP_KERNEL allocations, which is fine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "account.h"
#include "compat.h"
#include "registry.h"
#include "sign.h"
#include "trace.h"
#include "vectors.h"
#include "models/engine/graph.h"

struct mcai_live mcai_live;

static DEFINE_XARRAY_ALLOC1(mcai_slots);	/* id -> struct mcai_slot */
static DEFINE_MUTEX(mcai_registry_lock);	/* serialises writers */
static u32 mcai_next_id;			/* under mcai_registry_lock */
static u32 mcai_nr_slots;		/* written under the lock, read anywhere */
static struct mcai_limits mcai_lim;		/* set once, at init */
static u32 mcai_max_models;

#define mcai_locked()	lockdep_is_held(&mcai_registry_lock)

void mcai_registry_init(const struct mcai_limits *lim, u32 max_models)
{
	mcai_lim = *lim;
	mcai_max_models = max_models;
}

const struct mcai_limits *mcai_registry_limits(void)
{
	return &mcai_lim;
}

u32 mcai_registry_max_models(void)
{
	return mcai_max_models;
}

u32 mcai_registry_count(void)
{
	return READ_ONCE(mcai_nr_slots);
}

static void mcai_slot_free(struct kref *ref)
{
	struct mcai_slot *s = container_of(ref, struct mcai_slot, ref);

	atomic_dec(&mcai_live.slots);
	atomic_long_sub(sizeof(*s), &mcai_live.bytes);
	mcai_drift_destroy(&s->drift);
	kfree_rcu(s, rcu);
}

void mcai_slot_put(struct mcai_slot *s)
{
	kref_put(&s->ref, mcai_slot_free);
}

static struct mcai_slot *mcai_slot_alloc(const char *name)
{
	struct mcai_slot *s = kzalloc(sizeof(*s), MCAI_GFP_USER);

	if (!s)
		return NULL;
	kref_init(&s->ref);
	atomic64_set(&s->inferences, 0);
	mcai_drift_init(&s->drift);
	mcai_sched_init(&s->sched);
	memcpy(s->name, name, MCAI_NAME_LEN);
	atomic_inc(&mcai_live.slots);
	atomic_long_add(sizeof(*s), &mcai_live.bytes);
	return s;
}

/* Last reference gone: process context, never under rcu_read_lock(). */
static void mcai_version_free(struct kref *ref)
{
	struct mcai_version *v = container_of(ref, struct mcai_version, ref);

	atomic_dec(&mcai_live.versions);
	atomic_long_sub(v->bytes, &mcai_live.bytes);
	kvfree(v->state);
	kvfree(v->blob);
	if (v->slot)
		mcai_slot_put(v->slot);
	kfree_rcu(v, rcu);
}

void mcai_version_put(struct mcai_version *v)
{
	kref_put(&v->ref, mcai_version_free);
}

/*
 * The blob is charged to the loader's memory cgroup: it is user-controlled
 * memory that can stay around for a long time.  A cgroup or machine short
 * of max_blob_size refuses the load (-ENOMEM), it kills no process.
 */
static struct mcai_version *mcai_version_alloc(u32 size)
{
	struct mcai_version *v = kzalloc(sizeof(*v), MCAI_GFP_USER);

	if (!v)
		return NULL;
	v->blob = kvmalloc(size, MCAI_GFP_USER);
	if (!v->blob) {
		kfree(v);
		return NULL;
	}
	kref_init(&v->ref);
	v->bytes = sizeof(*v) + size;
	atomic_inc(&mcai_live.versions);
	atomic_long_add(v->bytes, &mcai_live.bytes);
	return v;
}

/* Under rcu_read_lock() or mcai_registry_lock. */
static struct mcai_slot *mcai_slot_find(u32 id, const char *name)
{
	struct mcai_slot *s;
	unsigned long i;

	if (id)
		return xa_load(&mcai_slots, id);
	xa_for_each(&mcai_slots, i, s)
		if (!strncmp(s->name, name, MCAI_NAME_LEN))
			return s;
	return NULL;
}

/*
 * A reference to the current version of a model, by id or (id 0) by name,
 * or NULL when there is no such model.
 */
struct mcai_version *mcai_version_get(u32 id, const char *name)
{
	struct mcai_version *v;
	struct mcai_slot *s;

	rcu_read_lock();
	for (;;) {
		s = mcai_slot_find(id, name);
		v = s ? rcu_dereference(s->cur) : NULL;
		if (!v || kref_get_unless_zero(&v->ref))
			break;
		/*
		 * The version died between the load and the get: a writer
		 * has already unpublished it, so looking again finds its
		 * successor or nothing.
		 */
	}
	rcu_read_unlock();
	return v;
}

/* The current version of a slot the caller holds, or NULL once unloaded. */
struct mcai_version *mcai_slot_version_get(struct mcai_slot *s)
{
	struct mcai_version *v;

	rcu_read_lock();
	do {
		v = rcu_dereference(s->cur);
	} while (v && !kref_get_unless_zero(&v->ref));
	rcu_read_unlock();
	return v;
}

/* A reference to a loaded model's slot, or NULL. */
struct mcai_slot *mcai_slot_get(u32 id, const char *name)
{
	struct mcai_slot *s;

	rcu_read_lock();
	s = mcai_slot_find(id, name);
	if (s && (!rcu_access_pointer(s->cur) || !kref_get_unless_zero(&s->ref)))
		s = NULL;
	rcu_read_unlock();
	return s;
}

struct mcai_slot *mcai_slot_get_by_id(u32 id)
{
	return id ? mcai_slot_get(id, NULL) : NULL;
}

static __printf(4, 5)
int mcai_refuse(struct mcai_load_result *res, int err, u32 offset,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	res->err_offset = offset;
	return err;
}

/* Link @v into the table; the caller holds mcai_registry_lock. */
static int mcai_registry_link(struct mcai_version *v, struct mcai_slot **fresh,
			      u32 flags, struct mcai_version **old,
			      struct mcai_load_result *res)
{
	u32 ver = v->m.version, cur;
	struct mcai_version *prev;
	struct mcai_slot *s;
	int ret;

	s = mcai_slot_find(0, v->m.name);
	if (s) {
		prev = rcu_dereference_protected(s->cur, mcai_locked());
		cur = prev->m.version;
		/* A refusal still says which id and version stay loaded. */
		res->model_id = s->id;
		res->version = cur;
		if (ver == cur)
			return mcai_refuse(res, -EEXIST, 0,
					   "version %u already loaded", ver);
		if (ver < cur && !(flags & MCAI_LOAD_FORCE))
			return mcai_refuse(res, -ESTALE, 0,
					   "version %u older than loaded %u",
					   ver, cur);
		res->replaced_version = cur;
	} else {
		if (mcai_nr_slots >= mcai_max_models)
			return mcai_refuse(res, -ENOSPC, 0,
					   "max_models (%u) reached",
					   mcai_max_models);
		s = *fresh;
		/* Published with cur == NULL: readers see "no model" yet. */
		ret = xa_alloc_cyclic(&mcai_slots, &s->id, s,
				      XA_LIMIT(1, U32_MAX), &mcai_next_id,
				      GFP_KERNEL_ACCOUNT);
		if (ret < 0)
			return ret == -EBUSY ? -ENOSPC : ret;
		*fresh = NULL;		/* the table owns its reference now */
		WRITE_ONCE(mcai_nr_slots, mcai_nr_slots + 1);
	}
	kref_get(&s->ref);
	v->slot = s;
	*old = rcu_replace_pointer(s->cur, v, mcai_locked());
	res->model_id = s->id;
	res->version = ver;
	return 0;
}

/*
 * Verify the blob of @v (@size bytes, signature trailer stripped) with
 * either format's verifier.  A v2 graph is decoded into state sized from
 * its header's counts, charged like the blob; its size is bounded by
 * the blob's (every decoded array comes from a blob section) and the
 * format's tensor and op limits.
 */
static int mcai_version_verify(struct mcai_version *v, u32 size,
			       struct mcai_load_result *res)
{
	struct mcai_verdict verdict;
	u32 need;

	if (mcai_model_state_size(v->blob, size, &mcai_lim, &need, &verdict))
		goto refuse;
	if (need) {
		v->state = kvmalloc(need, MCAI_GFP_USER);
		if (!v->state)
			return -ENOMEM;
		v->bytes += need;
		atomic_long_add(need, &mcai_live.bytes);
	}
	if (mcai_model_verify(&v->m, v->blob, size, &mcai_lim, v->state, need,
			      &verdict))
		goto refuse;
	return 0;
refuse:
	if (mcai_blob_format(v->blob, size) == MCAI_BLOB2_VERSION) {
		u32 i;
		const char *at = mcai_graph_where(v->blob, size, verdict.offset,
						  &i);

		if (i != U32_MAX)
			return mcai_refuse(res, -EINVAL, verdict.offset,
					   "%s (%s %u)", verdict.reason, at, i);
		return mcai_refuse(res, -EINVAL, verdict.offset, "%s (%s)",
				   verdict.reason, at);
	}
	return mcai_refuse(res, -EINVAL, verdict.offset, "%s", verdict.reason);
}

/*
 * Copy, verify, self-test and publish a blob.  Returns 0 with @res filled,
 * or an error; refusals (-EINVAL, -EEXIST, -ESTALE, -ENOSPC, and from
 * the signature check -EBADMSG and -EKEYREJECTED) also set res->reason.
 */
int mcai_registry_load(const void __user *ublob, u32 size, u32 flags,
		       struct mcai_load_result *res)
{
	struct mcai_version *v, *old = NULL;
	struct mcai_drift *drift;
	struct mcai_slot *fresh;
	const char *why;
	u32 failed = 0;
	int ret;

	/* Bound the size before allocating anything. */
	if (!size)
		return mcai_refuse(res, -EINVAL, 0, "empty blob");
	if (size > mcai_lim.max_blob_size)
		return mcai_refuse(res, -EINVAL, 0,
				   "blob larger than max_blob_size (%u)",
				   mcai_lim.max_blob_size);

	v = mcai_version_alloc(size);
	if (!v)
		return -ENOMEM;
	if (copy_from_user(v->blob, ublob, size)) {
		ret = -EFAULT;
		goto err_put;
	}
	/* From here on the kernel's copy is the only one looked at. */
	ret = mcai_sign_check(v->blob, &size, &why);
	if (ret) {
		if (why)
			mcai_refuse(res, ret, 0, "%s", why);
		goto err_put;
	}
	ret = mcai_version_verify(v, size, res);
	if (ret)
		goto err_put;
	ret = mcai_vectors_check(&v->m, &failed);
	if (ret == -EINVAL)
		ret = mcai_refuse(res, -EINVAL,
				  mcai_model_vector_offset(&v->m, failed),
				  "test vector %u failed", failed);
	if (ret)
		goto err_put;

	/* Allocated outside the lock; dropped again if the name exists. */
	fresh = mcai_slot_alloc(v->m.name);
	if (!fresh) {
		ret = -ENOMEM;
		goto err_put;
	}
	/* Drift statistics of this version's shape, in case they are new. */
	drift = mcai_drift_prep(&v->m);
	if (!drift) {
		mcai_slot_put(fresh);
		ret = -ENOMEM;
		goto err_put;
	}

	mutex_lock(&mcai_registry_lock);
	ret = mcai_registry_link(v, &fresh, flags, &old, res);
	if (!ret)
		mcai_drift_install(&v->slot->drift, drift);
	mutex_unlock(&mcai_registry_lock);

	mcai_drift_prep_free(drift);
	if (fresh)
		mcai_slot_put(fresh);
	if (ret)
		goto err_put;
	trace_mcai_swap(res->model_id, res->replaced_version, res->version);
	if (old)
		mcai_version_put(old);
	return 0;

err_put:
	mcai_version_put(v);
	return ret;
}

int mcai_registry_unload(u32 id, const char *name)
{
	struct mcai_version *old;
	struct mcai_slot *s;

	mutex_lock(&mcai_registry_lock);
	s = mcai_slot_find(id, name);
	if (!s) {
		mutex_unlock(&mcai_registry_lock);
		return -ENOENT;
	}
	xa_erase(&mcai_slots, s->id);
	WRITE_ONCE(mcai_nr_slots, mcai_nr_slots - 1);
	old = rcu_replace_pointer(s->cur, NULL, mcai_locked());
	mutex_unlock(&mcai_registry_lock);

	/* In-flight inferences keep the version, and through it the slot. */
	mcai_version_put(old);
	mcai_slot_put(s);
	return 0;
}

/* Write up to @capacity ids in id order; return how many models exist. */
u32 mcai_registry_list(u32 *ids, u32 capacity)
{
	struct mcai_slot *s;
	unsigned long i;
	u32 n = 0;

	mutex_lock(&mcai_registry_lock);
	xa_for_each(&mcai_slots, i, s) {
		if (n < capacity)
			ids[n] = s->id;
		n++;
	}
	mutex_unlock(&mcai_registry_lock);
	return n;
}

/* Module exit: no file is open, so nothing but the table holds a model. */
void mcai_registry_exit(void)
{
	struct mcai_slot *s;
	unsigned long i;

	xa_for_each(&mcai_slots, i, s)
		mcai_registry_unload(s->id, NULL);
	xa_destroy(&mcai_slots);

	WARN_ON(atomic_read(&mcai_live.versions));
	WARN_ON(atomic_read(&mcai_live.slots));
	WARN_ON(atomic_long_read(&mcai_live.bytes));
}
