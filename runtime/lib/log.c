// SPDX-License-Identifier: GPL-2.0
/*
 * Logging for mcaid.  Each line is formatted into one buffer and written
 * with a single write(2), so lines from concurrent processes sharing a
 * stderr (tests run many daemons into one file) never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "runtime/lib/log.h"

enum mcai_log_level mcai_log_threshold = MCAI_LOG_INFO;

static const char *const mcai_level_names[] = {
	[MCAI_LOG_ERROR] = "error",
	[MCAI_LOG_WARN] = "warn",
	[MCAI_LOG_INFO] = "info",
	[MCAI_LOG_DEBUG] = "debug",
};

void mcai_log_set_level(enum mcai_log_level level)
{
	mcai_log_threshold = level;
}

const char *mcai_log_level_name(enum mcai_log_level level)
{
	if ((unsigned int)level > MCAI_LOG_DEBUG)
		return "?";
	return mcai_level_names[level];
}

int mcai_log_parse_level(const char *s, enum mcai_log_level *out)
{
	for (unsigned int i = 0; i <= MCAI_LOG_DEBUG; i++) {
		if (!strcasecmp(s, mcai_level_names[i])) {
			*out = (enum mcai_log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(s, "warning")) {
		*out = MCAI_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void mcai_log(enum mcai_log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int r, saved = errno;

	if (!mcai_log_on(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ mcaid[%d] %s: ",
		     ts.tv_nsec / 1000000, (int)getpid(),
		     mcai_log_level_name(level));
	if (r > 0)
		n += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r;
	/* A truncated line still ends with a newline. */
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}
