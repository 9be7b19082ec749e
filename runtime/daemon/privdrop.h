/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Privilege drop for mcaid.  The daemon opens what needs root (/dev/mcai,
 * BPF, a low port) first, then calls mcai_privdrop() and keeps the fds.
 */
#ifndef MCAI_PRIVDROP_H
#define MCAI_PRIVDROP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define MCAI_DEFAULT_USER "mcai"

/* What /proc/<pid>/status says about a process's credentials. */
struct mcai_priv_state {
	uid_t uid[4];			/* real, effective, saved, fs */
	gid_t gid[4];
	unsigned int ngroups;		/* supplementary groups */
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
};

/* Parse /proc/<pid>/status (pid 0: self).  0 or -errno. */
int mcai_priv_read(pid_t pid, struct mcai_priv_state *st);

/*
 * If root: switch to @user (NULL: "mcai", or "nobody" when "mcai" does not
 * exist), drop supplementary groups, every capability and the bounding
 * set.  Either way set no_new_privs, then check the result from
 * /proc/self/status.  0, or -errno after logging what is wrong; the caller
 * must then exit rather than run on.
 */
int mcai_privdrop(const char *user);

#endif /* MCAI_PRIVDROP_H */
