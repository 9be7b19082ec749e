/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replace a file so that a crash leaves either the old or the new contents,
 * never a mix: temp file, write, fsync, rename over the name, fsync the
 * directory (without the last step the rename itself may not survive).
 */
#ifndef MCAI_ATOMICFILE_H
#define MCAI_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Points between the steps, for callers that test crash recovery. */
enum mcai_atomic_step {
	MCAI_ATOMIC_WRITTEN,	/* temp file written and synced */
	MCAI_ATOMIC_RENAMED,	/* renamed, directory not yet synced */
};

typedef void (*mcai_atomic_hook)(enum mcai_atomic_step step, void *arg);

/* write(2) until all @n bytes are out; 0 or -errno. */
int mcai_write_full(int fd, const void *p, size_t n);

/*
 * Write @iov as @name in directory @dfd through temp file @tmp (same
 * directory; a leftover of it is removed first).  @hook, if any, is called
 * at each step.  0 or -errno, with a message in @err.
 */
int mcai_atomic_writev_at(int dfd, const char *name, const char *tmp,
			  const struct iovec *iov, int iovcnt, mode_t mode,
			  mcai_atomic_hook hook, void *arg, char *err,
			  size_t errlen);

/* The same for a path; the temp file is "<path>.tmp". */
int mcai_atomic_writev(const char *path, const struct iovec *iov, int iovcnt,
		       mode_t mode, char *err, size_t errlen);
int mcai_atomic_write(const char *path, const void *data, size_t len,
		      mode_t mode, char *err, size_t errlen);

#endif /* MCAI_ATOMICFILE_H */
