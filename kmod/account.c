// SPDX-License-Identifier: GPL-2.0
/*
 * Limits and memory accounting (kmod/account.h).
 *
 * One struct mcai_acct per user that has /dev/mcai open, found by euid
 * in an xarray when a file is opened (a mutex serialises creation and
 * removal; nothing looks one up anywhere else).  Every open file holds a
 * reference, and so does everything charged to it, so the budget outlives
 * the last close while a session or pipeline of its user lingers.
 *
 * The counters are atomics, updated with a compare-and-exchange loop that
 * never passes a bound, not even for an instant: two concurrent charges
 * that together do not fit cannot both succeed, and one that fits is
 * never refused because another was about to be undone.  Charging takes
 * no lock, so the session worker may charge a scratch buffer it grows.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

#include "account.h"

/*
 * /dev/mcai is open to every user, so these bound what all of them can
 * make the kernel hold; see kmod/README.md, "Limits and memory
 * accounting".  Read-only once the module is loaded.
 */
static unsigned int session_mem_mb = 256;
module_param(session_mem_mb, uint, 0444);
MODULE_PARM_DESC(session_mem_mb,
		 "MiB all sessions together may hold: rings, scratch, bookkeeping (1..65536)");

static unsigned int user_mem_mb = 64;
module_param(user_mem_mb, uint, 0444);
MODULE_PARM_DESC(user_mem_mb,
		 "MiB the sessions of one unprivileged user may hold (1..65536)");

static unsigned int max_pipelines = 4096;
module_param(max_pipelines, uint, 0444);
MODULE_PARM_DESC(max_pipelines, "most pipelines at once (4..1048576)");

static unsigned int user_pipelines = 1024;
module_param(user_pipelines, uint, 0444);
MODULE_PARM_DESC(user_pipelines,
		 "most pipelines of one unprivileged user (1..1048576)");

static unsigned int file_pipelines = 256;
module_param(file_pipelines, uint, 0444);
MODULE_PARM_DESC(file_pipelines, "most pipelines one open file may own (1..1048576)");

#define MCAI_ACCT_MAX_MB	65536U
#define MCAI_ACCT_MAX_PIPES	SZ_1M

struct mcai_acct {
	refcount_t ref;		/* open files, and what is charged */
	u32 uid;		/* euid of the opener, in the initial namespace */
	atomic64_t mem;		/* bytes charged */
	atomic64_t pipelines;
};

static DEFINE_XARRAY(mcai_accts);	/* uid -> struct mcai_acct */
static DEFINE_MUTEX(mcai_accts_lock);	/* creation and removal */

static atomic64_t mcai_mem = ATOMIC64_INIT(0);
static atomic64_t mcai_pipes = ATOMIC64_INIT(0);

int mcai_acct_init_module(void)
{
	if (!session_mem_mb || session_mem_mb > MCAI_ACCT_MAX_MB ||
	    !user_mem_mb || user_mem_mb > MCAI_ACCT_MAX_MB) {
		pr_err("session_mem_mb %u / user_mem_mb %u out of range (1..%u)\n",
		       session_mem_mb, user_mem_mb, MCAI_ACCT_MAX_MB);
		return -EINVAL;
	}
	/* the users' share of max_pipelines must not round down to 0 */
	if (max_pipelines < MCAI_ACCT_USER_SHARE_DEN ||
	    max_pipelines > MCAI_ACCT_MAX_PIPES ||
	    !user_pipelines || user_pipelines > MCAI_ACCT_MAX_PIPES ||
	    !file_pipelines || file_pipelines > MCAI_ACCT_MAX_PIPES) {
		pr_err("max_pipelines %u / user_pipelines %u / file_pipelines %u out of range\n",
		       max_pipelines, user_pipelines, file_pipelines);
		return -EINVAL;
	}
	return 0;
}

void mcai_acct_exit_module(void)
{
	WARN_ON(!xa_empty(&mcai_accts));
	WARN_ON(atomic64_read(&mcai_mem));
	WARN_ON(atomic64_read(&mcai_pipes));
	xa_destroy(&mcai_accts);
}

struct mcai_acct *mcai_acct_get(const struct cred *cred)
{
	u32 uid = from_kuid(&init_user_ns, cred->euid);
	struct mcai_acct *a;
	int ret;

	mutex_lock(&mcai_accts_lock);
	a = xa_load(&mcai_accts, uid);
	if (a) {
		refcount_inc(&a->ref);
		goto out;
	}
	a = kzalloc(sizeof(*a), MCAI_GFP_USER);
	if (!a) {
		a = ERR_PTR(-ENOMEM);
		goto out;
	}
	refcount_set(&a->ref, 1);
	a->uid = uid;
	ret = xa_err(xa_store(&mcai_accts, uid, a, MCAI_GFP_USER));
	if (ret) {
		kfree(a);
		a = ERR_PTR(ret);
	}
out:
	mutex_unlock(&mcai_accts_lock);
	return a;
}

struct mcai_acct *mcai_acct_hold(struct mcai_acct *a)
{
	if (a)
		refcount_inc(&a->ref);
	return a;
}

/* Process context (the mutex). */
void mcai_acct_put(struct mcai_acct *a)
{
	if (!a || !refcount_dec_and_mutex_lock(&a->ref, &mcai_accts_lock))
		return;
	xa_erase(&mcai_accts, a->uid);
	mutex_unlock(&mcai_accts_lock);
	/* whatever was charged held a reference: all of it came back */
	WARN_ON_ONCE(atomic64_read(&a->mem) || atomic64_read(&a->pipelines));
	kfree(a);
}

u32 mcai_acct_uid(const struct mcai_acct *a)
{
	return a->uid;
}

size_t mcai_acct_kv_size(size_t size)
{
	/* kvmalloc() tries kmalloc() first: its bucket, or whole pages */
	if (size <= PAGE_SIZE)
		return kmalloc_size_roundup(size);
	return mcai_acct_vm_size(size);
}

size_t mcai_acct_vm_size(size_t size)
{
	size_t pages = PAGE_ALIGN(size) >> PAGE_SHIFT;

	/* the pages, and the array vmalloc() keeps of them */
	return (pages << PAGE_SHIFT) + pages * sizeof(void *);
}

/* Add @n to @v unless that passes @max; never passes it in between. */
static bool mcai_acct_add(atomic64_t *v, s64 n, s64 max)
{
	s64 old = atomic64_read(v);

	do {
		if (n > max - old)
			return false;
	} while (!atomic64_try_cmpxchg(v, &old, old + n));
	return true;
}

/* The module's bound as @a sees it: privileged requests get all of it. */
static s64 mcai_acct_share(const struct mcai_acct *a, s64 bound)
{
	if (!a)
		return bound;
	return div_s64(bound * MCAI_ACCT_USER_SHARE_NUM,
		       MCAI_ACCT_USER_SHARE_DEN);
}

static s64 mcai_acct_mem_bound(void)
{
	return (s64)session_mem_mb << 20;
}

int mcai_acct_mem_charge(struct mcai_acct *a, size_t bytes)
{
	s64 n = bytes;

	if (!mcai_acct_add(&mcai_mem, n,
			   mcai_acct_share(a, mcai_acct_mem_bound())))
		return -ENOSPC;
	if (a && !mcai_acct_add(&a->mem, n, (s64)user_mem_mb << 20)) {
		atomic64_sub(n, &mcai_mem);
		return -ENOSPC;
	}
	return 0;
}

void mcai_acct_mem_uncharge(struct mcai_acct *a, size_t bytes)
{
	if (a)
		atomic64_sub(bytes, &a->mem);
	atomic64_sub(bytes, &mcai_mem);
}

int mcai_acct_pipe_charge(struct mcai_acct *a)
{
	if (!mcai_acct_add(&mcai_pipes, 1,
			   mcai_acct_share(a, max_pipelines)))
		return -ENOSPC;
	if (a && !mcai_acct_add(&a->pipelines, 1, user_pipelines)) {
		atomic64_dec(&mcai_pipes);
		return -ENOSPC;
	}
	return 0;
}

void mcai_acct_pipe_uncharge(struct mcai_acct *a)
{
	if (a)
		atomic64_dec(&a->pipelines);
	atomic64_dec(&mcai_pipes);
}

u32 mcai_acct_file_pipelines(void)
{
	return file_pipelines;
}

void mcai_acct_info(const struct mcai_acct *a, struct mcai_info *info)
{
	info->mem_limit = mcai_acct_mem_bound();
	info->mem_unpriv_limit = mcai_acct_share(a, mcai_acct_mem_bound());
	info->mem_used = atomic64_read(&mcai_mem);
	info->user_mem_limit = (u64)user_mem_mb << 20;
	info->user_mem_used = atomic64_read(&a->mem);
	info->max_pipelines = max_pipelines;
	info->unpriv_pipelines = mcai_acct_share(a, max_pipelines);
	info->user_pipelines = user_pipelines;
	info->file_pipelines = file_pipelines;
	info->nr_pipelines = atomic64_read(&mcai_pipes);
	info->user_nr_pipelines = atomic64_read(&a->pipelines);
}
