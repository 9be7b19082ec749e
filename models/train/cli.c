// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line helpers of the model tools, see cli.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/train/cli.h"

const char *mcai_cli_prog = "mcai";

void mcai_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", mcai_cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *mcai_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		mcai_die("out of memory");
	return p;
}

double mcai_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

unsigned long long mcai_parse_uint(const char *opt, const char *s,
				   unsigned long long lo,
				   unsigned long long hi)
{
	unsigned long long v;
	char *end;

	errno = 0;
	/* strtoull() would accept "-1" as a huge value. */
	if (!s || *s == '-' || *s == 0)
		mcai_die("%s needs a number", opt);
	v = strtoull(s, &end, 0);
	if (errno || *end || v < lo || v > hi)
		mcai_die("%s: '%s' is not a number in %llu..%llu", opt, s, lo,
			 hi);
	return v;
}

float mcai_parse_float(const char *opt, const char *s, float lo, float hi)
{
	char *end;
	float v;

	if (!s || *s == 0)
		mcai_die("%s needs a number", opt);
	errno = 0;
	v = strtof(s, &end);
	/* Written so that NaN fails the range check too. */
	if (errno || *end || !(v >= lo && v <= hi))
		mcai_die("%s: '%s' is not a number in %g..%g", opt, s, lo, hi);
	return v;
}

u32 mcai_parse_widths(const char *s, u32 *w, u32 max, u32 max_width)
{
	char buf[64], *tok, *save = NULL;
	u32 n = 0;

	if (!s || strlen(s) >= sizeof(buf))
		mcai_die("--hidden needs a width, e.g. 128 or 128,32");
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			mcai_die("--hidden: at most %u hidden layers", max);
		w[n++] = (u32)mcai_parse_uint("--hidden", tok, 1, max_width);
	}
	if (!n)
		mcai_die("--hidden needs a width, e.g. 128 or 128,32");
	return n;
}
