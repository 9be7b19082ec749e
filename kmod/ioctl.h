/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The file operations of /dev/mcai: the ioctl ABI of uapi/mcai.h.
 */
#ifndef MCAI_IOCTL_H
#define MCAI_IOCTL_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>

extern const struct file_operations mcai_fops;

/*
 * Per-open-file state, in file->private_data from open to release.
 * Everything a file owns dies with it.  Add fields here (sessions, ...)
 * rather than hanging a second structure off private_data.
 */
struct mcai_file {
	struct mutex lock;		/* protects the lists below */
	struct list_head pipelines;	/* struct mcai_pipeline, kmod/pipeline.c */
	/* set once under lock (smp_store_release), freed at release */
	struct mcai_session *session;	/* kmod/session.c */
};

#endif /* MCAI_IOCTL_H */
