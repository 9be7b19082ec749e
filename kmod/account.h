/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Limits and memory accounting: what the users of /dev/mcai may hold.
 *
 * Everything a request can make the module allocate for longer than the
 * request (a session's rings, bookkeeping and scratch; a pipeline) is
 * charged before it is allocated, to two budgets:
 *  - the whole module's: session_mem_mb (bytes) and max_pipelines;
 *  - the user's, for an unprivileged request: user_mem_mb and
 *    user_pipelines, per user (the euid of the file's opener).
 * A charge past a bound fails with -ENOSPC and allocates nothing.
 *
 * Who is charged is a struct mcai_acct, NULL for a privileged request
 * (an admin's, kmod/ioctl.c mcai_admin(), or an in-kernel driver's): those
 * have no per-user bound and may fill the module's bounds, while
 * unprivileged requests together may fill only MCAI_ACCT_USER_SHARE of
 * them.  However many users there are, they cannot take the last quarter
 * that drivers and an admin's pipelines need.  The same pointer names a
 * pipeline's namespace (kmod/pipeline.c).
 *
 * The allocations themselves use MCAI_GFP_USER: charged to the caller's
 * memory cgroup, failing (-ENOMEM) rather than invoking the OOM killer
 * and without a warning in the kernel log when the cgroup or the machine
 * is out of memory.
 */
#ifndef MCAI_ACCOUNT_H
#define MCAI_ACCOUNT_H

#include <linux/gfp.h>
#include <linux/types.h>

#include "uapi/mcai.h"

struct cred;
struct mcai_acct;

#define MCAI_GFP_USER	(GFP_KERNEL_ACCOUNT | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

/* Unprivileged requests together: this share of the module's bounds. */
#define MCAI_ACCT_USER_SHARE_NUM	3
#define MCAI_ACCT_USER_SHARE_DEN	4

/* Check the module parameters; at module init. */
int mcai_acct_init_module(void);
/* Module exit: every file is closed, so nothing is charged any more. */
void mcai_acct_exit_module(void);

/*
 * The budget of the user @cred's euid names (a reference; shared by all
 * of that user's files), or ERR_PTR(-ENOMEM).  Process context.
 */
struct mcai_acct *mcai_acct_get(const struct cred *cred);
struct mcai_acct *mcai_acct_hold(struct mcai_acct *a);	/* NULL ok */
void mcai_acct_put(struct mcai_acct *a);		/* NULL ok */
u32 mcai_acct_uid(const struct mcai_acct *a);

/* Bytes the module would hold for a kvmalloc() or vmalloc() of @size. */
size_t mcai_acct_kv_size(size_t size);
size_t mcai_acct_vm_size(size_t size);

/*
 * Charge @bytes to @a (NULL: privileged, the module's bound only) and to
 * the module; -ENOSPC past either bound.  Any context (atomics only).
 */
int mcai_acct_mem_charge(struct mcai_acct *a, size_t bytes);
void mcai_acct_mem_uncharge(struct mcai_acct *a, size_t bytes);

/* One pipeline, as above; -ENOSPC past max_pipelines or user_pipelines. */
int mcai_acct_pipe_charge(struct mcai_acct *a);
void mcai_acct_pipe_uncharge(struct mcai_acct *a);

/* Pipelines one file may own (file_pipelines). */
u32 mcai_acct_file_pipelines(void);

/* MCAI_IOC_GET_INFO: the limits, and what @a (the opener's user) holds. */
void mcai_acct_info(const struct mcai_acct *a, struct mcai_info *info);

#endif /* MCAI_ACCOUNT_H */
