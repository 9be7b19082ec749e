/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcaid's side of the eBPF telemetry (bpf/): load and pin the programs
 * while still root, keep the maps' fds across the privilege drop, then
 * every few seconds read them, feed the measured energy into the
 * module's budgets (through the /dev/mcai fd opened as root) and keep a
 * summary for the TELEMETRY message a node sends its aggregator.
 */
#ifndef MCAI_TELEAGENT_H
#define MCAI_TELEAGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "bpf/telemetry.h"
#include "runtime/fed/proto.h"

enum mcai_tel_mode {
	MCAI_TEL_AUTO,		/* when /dev/mcai is there and we are root */
	MCAI_TEL_ON,		/* required: failing to load is fatal */
	MCAI_TEL_OFF,
};

struct mcai_teleagent {
	bool on;
	int dev_fd;			/* not ours: the daemon's */
	struct mcai_tel_maps maps;
	unsigned int interval_s;	/* feed period; 0 = never */
	unsigned int countdown;
	struct mcai_tel_model *last;	/* the latest read */
	size_t n_last;
	unsigned long long feeds;
};

/* "auto", "on" or "off"; -1 for anything else. */
int mcai_tel_mode_parse(const char *s, enum mcai_tel_mode *mode);

/*
 * Before the privilege drop.  Returns 0 (telemetry on, or off as asked
 * or not possible in auto mode, said in the log), or a negative errno
 * in on mode when it cannot be loaded.
 */
int mcai_teleagent_start(struct mcai_teleagent *t, enum mcai_tel_mode mode,
			 const char *power_table, int dev_fd,
			 unsigned int interval_s);
/* Once a second, after the drop. */
void mcai_teleagent_tick(struct mcai_teleagent *t);
/*
 * The latest figures as a TELEMETRY message (entries malloc'd: free with
 * mcai_msg_telemetry_free()); n = 0 when telemetry is off.
 */
int mcai_teleagent_summary(const struct mcai_teleagent *t,
			   struct mcai_msg_telemetry *m);
void mcai_teleagent_stop(struct mcai_teleagent *t);

#endif /* MCAI_TELEAGENT_H */
