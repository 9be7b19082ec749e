/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the user-space model tools (mcai-train, mcai-vibtrain, mcai-fedsim)
 * share around their work: fatal errors, allocation, the clock and option
 * values.  A bad option or an exhausted heap ends the run, so these exit
 * instead of returning errors.
 */
#ifndef MCAI_CLI_H
#define MCAI_CLI_H

#include <stddef.h>

#include "models/engine/port.h"

/* Prefix of every message from mcai_die(); main() sets it first. */
extern const char *mcai_cli_prog;

/* "<prog>: <message>" on stderr, then exit(1). */
__attribute__((format(printf, 1, 2), noreturn))
void mcai_die(const char *fmt, ...);

/* calloc() that never returns NULL (or a zero-size block). */
void *mcai_xcalloc(size_t n, size_t size);

/* Monotonic seconds, for the progress and timing lines. */
double mcai_now(void);

/* The value @s of option @opt, in lo..hi (strtoull base 0: 0x.. too). */
unsigned long long mcai_parse_uint(const char *opt, const char *s,
				   unsigned long long lo,
				   unsigned long long hi);
float mcai_parse_float(const char *opt, const char *s, float lo, float hi);

/*
 * --hidden "W[,W...]": at most @max widths of 1..@max_width into @w.
 * Returns how many (at least one).
 */
u32 mcai_parse_widths(const char *s, u32 *w, u32 max, u32 max_width);

#endif /* MCAI_CLI_H */
