/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Failure reports of the guest tests that keep going after a failed check
 * (sign_check.c, hostile_load.c), so that one boot lists every failure.
 * main() names the program in @prog first and exits non-zero if
 * @failures is.
 */
#ifndef MCAI_VM_REPORT_H
#define MCAI_VM_REPORT_H

#include <stdarg.h>
#include <stdio.h>

static const char *prog;
static int failures;

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	fprintf(stderr, "%s: FAIL: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#endif /* MCAI_VM_REPORT_H */
