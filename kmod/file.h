/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an open /dev/mcai owns.  kmod/ioctl.c creates and releases it;
 * the pipeline and session layers keep their objects on it.
 */
#ifndef MCAI_FILE_H
#define MCAI_FILE_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct mcai_acct;
struct mcai_session;

/*
 * Per-open-file state, in file->private_data from open to release.
 * Everything a file owns dies with it.  Add fields here (sessions, ...)
 * rather than hanging a second structure off private_data.
 */
struct mcai_file {
	struct mutex lock;		/* protects the lists below */
	struct list_head pipelines;	/* struct mcai_pipeline, kmod/pipeline.c */
	u32 n_pipelines;		/* on that list */
	/* set once under lock (smp_store_release), freed at release */
	struct mcai_session *session;	/* kmod/session.c */
	/* the opener's user (kmod/account.c), from open to release */
	struct mcai_acct *acct;
	/* the opener had CAP_SYS_ADMIN (kmod/ioctl.c, mcai_user()) */
	bool opener_admin;
};

#endif /* MCAI_FILE_H */
