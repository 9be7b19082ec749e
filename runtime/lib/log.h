/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcaid logging: one line per event on stderr, with a UTC timestamp and a
 * level, so journald and a terminal both read it.  Messages below the
 * configured level cost one comparison.
 */
#ifndef MCAI_LOG_H
#define MCAI_LOG_H

enum mcai_log_level {
	MCAI_LOG_ERROR,
	MCAI_LOG_WARN,
	MCAI_LOG_INFO,
	MCAI_LOG_DEBUG,
};

extern enum mcai_log_level mcai_log_threshold;

void mcai_log_set_level(enum mcai_log_level level);
/* "error", "warn", "info", "debug": 0, or -EINVAL. */
int mcai_log_parse_level(const char *s, enum mcai_log_level *out);
const char *mcai_log_level_name(enum mcai_log_level level);

void mcai_log(enum mcai_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define mcai_log_on(level) ((level) <= mcai_log_threshold)
#define mcai_err(...)	mcai_log(MCAI_LOG_ERROR, __VA_ARGS__)
#define mcai_warn(...)	mcai_log(MCAI_LOG_WARN, __VA_ARGS__)
#define mcai_info(...)	mcai_log(MCAI_LOG_INFO, __VA_ARGS__)
#define mcai_dbg(...)	do {						\
		if (mcai_log_on(MCAI_LOG_DEBUG))			\
			mcai_log(MCAI_LOG_DEBUG, __VA_ARGS__);		\
	} while (0)

#endif /* MCAI_LOG_H */
