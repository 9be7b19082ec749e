// SPDX-License-Identifier: GPL-2.0
/*
 * Atomic file replacement, one implementation for the version registry,
 * the provenance history and mcaictl's output files: see atomicfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/lib/atomicfile.h"
#include "runtime/lib/errmsg.h"

int mcai_write_full(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void mcai_step(mcai_atomic_hook hook, void *arg,
		      enum mcai_atomic_step step)
{
	if (hook)
		hook(step, arg);
}

int mcai_atomic_writev_at(int dfd, const char *name, const char *tmp,
			  const struct iovec *iov, int iovcnt, mode_t mode,
			  mcai_atomic_hook hook, void *arg, char *err,
			  size_t errlen)
{
	int fd, e = 0, i;

	/*
	 * A leftover from a failed or crashed call was never renamed, so it
	 * is garbage; O_EXCL then refuses anything (a symlink) put there
	 * in between.
	 */
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return mcai_errmsg(err, errlen, -errno, "create %s: %s", tmp,
				 strerror(errno));
	for (i = 0; i < iovcnt && !e; i++)
		e = mcai_write_full(fd, iov[i].iov_base, iov[i].iov_len);
	if (!e && fsync(fd))
		e = -errno;
	if (close(fd) && !e)
		e = -errno;
	if (e) {
		unlinkat(dfd, tmp, 0);
		return mcai_errmsg(err, errlen, e, "write %s: %s", tmp,
				 strerror(-e));
	}
	mcai_step(hook, arg, MCAI_ATOMIC_WRITTEN);
	if (renameat(dfd, tmp, dfd, name)) {
		e = -errno;
		unlinkat(dfd, tmp, 0);
		return mcai_errmsg(err, errlen, e, "rename %s: %s", name,
				 strerror(-e));
	}
	mcai_step(hook, arg, MCAI_ATOMIC_RENAMED);
	if (fsync(dfd))
		return mcai_errmsg(err, errlen, -errno,
				 "fsync directory of %s: %s", name,
				 strerror(errno));
	return 0;
}

int mcai_atomic_writev(const char *path, const struct iovec *iov, int iovcnt,
		       mode_t mode, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char dir[PATH_MAX], tmp[NAME_MAX + 1], msg[NAME_MAX + 128];
	int dfd, e;

	if (!*base)
		return mcai_errmsg(err, errlen, -EINVAL, "%s: not a file name",
				 path);
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return mcai_errmsg(err, errlen, -ENAMETOOLONG,
				 "%s: path too long", path);
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", base) >= sizeof(tmp))
		return mcai_errmsg(err, errlen, -ENAMETOOLONG,
				 "%s: name too long", path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return mcai_errmsg(err, errlen, -errno, "%s: %s", dir,
				 strerror(errno));
	e = mcai_atomic_writev_at(dfd, base, tmp, iov, iovcnt, mode, NULL,
				  NULL, msg, sizeof(msg));
	close(dfd);
	/* The steps name the file within @dir: say which directory. */
	if (e)
		mcai_errmsg(err, errlen, e, "%s: %s", dir, msg);
	return e;
}

int mcai_atomic_write(const char *path, const void *data, size_t len,
		      mode_t mode, char *err, size_t errlen)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };

	return mcai_atomic_writev(path, &iov, 1, mode, err, errlen);
}
