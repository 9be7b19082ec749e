/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space libraries report failures the same way: a sentence for the
 * operator in the caller's buffer (which may be NULL or empty), and a
 * return value.
 */
#ifndef MCAI_ERRMSG_H
#define MCAI_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Format into @err (if @errlen) and return @ret. */
__attribute__((format(printf, 4, 5)))
static inline int mcai_errmsg(char *err, size_t errlen, int ret,
			      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

#endif /* MCAI_ERRMSG_H */
