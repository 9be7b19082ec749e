/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What mcaictl's command files share: the command table entry, global
 * options, the JSON writer on stdout, messages and option parsing.
 * runtime/ctl/mcaictl.c has the model commands and main(),
 * runtime/ctl/mcaictl_telemetry.c the telemetry ones.
 */
#ifndef MCAI_MCAICTL_H
#define MCAI_MCAICTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/lib/device.h"
#include "runtime/lib/json.h"

#define EXIT_USAGE	2

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;		/* synopsis after the command name */
	const char *summary;		/* one line for the command list */
	const char *details;		/* options and behaviour */
};

extern const char *opt_device;
extern bool opt_json;
extern struct mcai_json json;

const struct command *find_command(const char *name);

/* Report a failure (stderr, and {"error"} in JSON mode).  Returns 1. */
__attribute__((format(printf, 1, 2)))
int fail(const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void warn(const char *fmt, ...);
/* A usage error in command @c: the message, then its synopsis.  Returns 2. */
__attribute__((format(printf, 2, 3)))
int usage_error(const struct command *c, const char *fmt, ...);

#define COMMON_OPTIONS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "json", no_argument, NULL, 'j' }

/*
 * getopt_long over a subcommand's arguments (argv[0] is the command):
 * handles --help and --json, returns the next other option, -1 at the
 * end, or (exit status + OPT_DONE_BASE) when the command must stop.
 */
#define OPT_DONE_BASE	(-1000)
int next_option(const struct command *c, int argc, char **argv,
		const char *shortopts, const struct option *longopts);
void reset_getopt(void);
/* Decimal digits only, in range; 0, or -1 for anything else. */
int parse_u64(const char *s, uint64_t *out);
int parse_u32(const char *s, u32 *out);
/* Open the device named by -d / $MCAI_DEVICE; 0, or 1 after reporting. */
int open_device(struct mcai_dev *d);

/* runtime/ctl/mcaictl_telemetry.c */
int telemetry_main(int argc, char **argv);
int top_main(int argc, char **argv);
extern const char telemetry_details[];
extern const char top_details[];

/* runtime/ctl/mcaictl_metrics.c */
int metrics_main(int argc, char **argv);
extern const char metrics_details[];

/* runtime/ctl/mcaictl_fleet.c */
int fleet_main(int argc, char **argv);
int rounds_main(int argc, char **argv);
extern const char fleet_details[];
extern const char rounds_details[];

/* runtime/ctl/mcaictl_provenance.c */
int keygen_main(int argc, char **argv);
int sign_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int accept_main(int argc, char **argv);
int history_main(int argc, char **argv);
extern const char keygen_details[];
extern const char sign_details[];
extern const char verify_details[];
extern const char accept_details[];
extern const char history_details[];

/* A whole file (or "-", stdin) of at most @max bytes; 0, or 1 after fail(). */
int read_all(const char *path, unsigned long long max, u8 **buf,
	     size_t *len);

/* runtime/ctl/mcaictl_import.c, runtime/ctl/mcaictl_run.c */
int import_main(int argc, char **argv);
int run_main(int argc, char **argv);
extern const char import_details[];
extern const char run_details[];

/* runtime/ctl/mcaictl_samples.c */
int mirror_main(int argc, char **argv);
int label_main(int argc, char **argv);
int samples_main(int argc, char **argv);
extern const char mirror_details[];
extern const char label_details[];
extern const char samples_details[];

#endif /* MCAI_MCAICTL_H */
