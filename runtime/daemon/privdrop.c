// SPDX-License-Identifier: GPL-2.0
/*
 * Privilege drop: root -> unprivileged user with libcap-ng, then a check
 * of the kernel's own view of the result.  The check is what we trust: a
 * library call returning 0 is not proof that no capability survived.
 */
#include <cap-ng.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "runtime/lib/log.h"
#include "runtime/daemon/privdrop.h"

static int mcai_parse_ids(const char *s, unsigned int ids[4])
{
	return sscanf(s, "%u %u %u %u", &ids[0], &ids[1], &ids[2],
		      &ids[3]) == 4 ? 0 : -EINVAL;
}

int mcai_priv_read(pid_t pid, struct mcai_priv_state *st)
{
	char path[64], line[512];
	unsigned int ids[4];
	unsigned int seen = 0;
	FILE *f;

	memset(st, 0, sizeof(*st));
	st->no_new_privs = -1;
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "Uid") && !mcai_parse_ids(v, ids)) {
			for (int i = 0; i < 4; i++)
				st->uid[i] = ids[i];
			seen |= 1;
		} else if (!strcmp(line, "Gid") && !mcai_parse_ids(v, ids)) {
			for (int i = 0; i < 4; i++)
				st->gid[i] = ids[i];
			seen |= 2;
		} else if (!strcmp(line, "Groups")) {
			char *save = NULL;

			for (char *t = strtok_r(v, " \t\n", &save); t;
			     t = strtok_r(NULL, " \t\n", &save))
				st->ngroups++;
		} else if (!strcmp(line, "CapInh")) {
			st->cap_inh = strtoull(v, NULL, 16);
		} else if (!strcmp(line, "CapPrm")) {
			st->cap_prm = strtoull(v, NULL, 16);
			seen |= 4;
		} else if (!strcmp(line, "CapEff")) {
			st->cap_eff = strtoull(v, NULL, 16);
			seen |= 8;
		} else if (!strcmp(line, "CapBnd")) {
			st->cap_bnd = strtoull(v, NULL, 16);
			seen |= 16;
		} else if (!strcmp(line, "CapAmb")) {
			st->cap_amb = strtoull(v, NULL, 16);
		} else if (!strcmp(line, "NoNewPrivs")) {
			st->no_new_privs = atoi(v);
			seen |= 32;
		}
	}
	fclose(f);
	return seen == 63 ? 0 : -EPROTO;
}

/*
 * @dropped: we were root and switched.  A process that started
 * unprivileged cannot clear its bounding set (that needs CAP_SETPCAP), but
 * with no permitted capabilities and no_new_privs it can never gain one,
 * so the bounding set only matters when we did the drop ourselves.
 */
static int mcai_priv_verify(bool dropped)
{
	struct mcai_priv_state st;
	int err = mcai_priv_read(0, &st);
	int bad = 0;

	if (err) {
		mcai_err("privdrop: cannot read /proc/self/status: %s",
			 strerror(-err));
		return err;
	}
	for (int i = 0; i < 4; i++) {
		if (st.uid[i] == 0 || st.gid[i] == 0) {
			mcai_err("privdrop: still uid %u/%u/%u/%u gid %u/%u/%u/%u",
				 st.uid[0], st.uid[1], st.uid[2], st.uid[3],
				 st.gid[0], st.gid[1], st.gid[2], st.gid[3]);
			bad = 1;
			break;
		}
	}
	if (st.cap_eff || st.cap_prm || st.cap_amb || st.cap_inh) {
		mcai_err("privdrop: capabilities left: CapEff=%016" PRIx64
			 " CapPrm=%016" PRIx64 " CapAmb=%016" PRIx64
			 " CapInh=%016" PRIx64, st.cap_eff, st.cap_prm,
			 st.cap_amb, st.cap_inh);
		bad = 1;
	}
	if (dropped && st.cap_bnd) {
		mcai_err("privdrop: bounding set not cleared: CapBnd=%016" PRIx64,
			 st.cap_bnd);
		bad = 1;
	}
	if (dropped && st.ngroups) {
		mcai_err("privdrop: %u supplementary groups left", st.ngroups);
		bad = 1;
	}
	if (st.no_new_privs != 1) {
		mcai_err("privdrop: NoNewPrivs=%d", st.no_new_privs);
		bad = 1;
	}
	if (bad)
		return -EPERM;
	mcai_info("privileges: uid=%u gid=%u CapEff=CapPrm=0 CapBnd=%016" PRIx64
		  " NoNewPrivs=1", st.uid[0], st.gid[0], st.cap_bnd);
	return 0;
}

static int mcai_set_nnp(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		int err = -errno;

		mcai_err("privdrop: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return err;
	}
	return 0;
}

int mcai_privdrop(const char *user)
{
	const struct passwd *pw;
	bool fallback = !user;
	int r;

	if (geteuid() != 0 && getuid() != 0) {
		mcai_info("privdrop: started unprivileged (uid %u), no drop needed",
			  (unsigned int)getuid());
		/* File capabilities or ambient ones would survive otherwise. */
		if (capng_get_caps_process() == 0 &&
		    capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
			capng_clear(CAPNG_SELECT_CAPS);
			if (capng_apply(CAPNG_SELECT_CAPS)) {
				mcai_err("privdrop: cannot clear capabilities");
				return -EPERM;
			}
		}
		r = mcai_set_nnp();
		return r ? r : mcai_priv_verify(false);
	}

	if (!user)
		user = MCAI_DEFAULT_USER;
	errno = 0;
	pw = getpwnam(user);
	/*
	 * Only the default user falls back: an operator who named a user
	 * that does not exist made a mistake we should not paper over.
	 */
	if (!pw && fallback) {
		mcai_warn("privdrop: no user '%s', falling back to 'nobody'",
			  user);
		user = "nobody";
		pw = getpwnam(user);
	}
	if (!pw) {
		mcai_err("privdrop: no user '%s'", user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		mcai_err("privdrop: user '%s' has uid/gid 0", user);
		return -EPERM;
	}

	capng_clear(CAPNG_SELECT_BOTH);
	r = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
			    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING |
			    CAPNG_CLEAR_AMBIENT);
	if (r) {
		mcai_err("privdrop: capng_change_id(%s) failed (%d)", user, r);
		return -EPERM;
	}
	r = mcai_set_nnp();
	if (r)
		return r;
	mcai_info("privdrop: now running as '%s' (uid %u gid %u)", user,
		  (unsigned int)pw->pw_uid, (unsigned int)pw->pw_gid);
	return mcai_priv_verify(true);
}
