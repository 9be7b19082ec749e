// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid's side of the eBPF telemetry (teleagent.h).
 *
 * The programs stay attached after mcaid exits (pinned links, as with
 * `mcaictl telemetry enable`); mcaid does not detach them on exit,
 * since other readers (bpftool, mcaictl top) may rely on them and a
 * restart would only reload them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/daemon/energyfeed.h"
#include "runtime/lib/log.h"
#include "runtime/daemon/teleagent.h"

int mcai_tel_mode_parse(const char *s, enum mcai_tel_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = MCAI_TEL_AUTO;
	else if (!strcmp(s, "on"))
		*mode = MCAI_TEL_ON;
	else if (!strcmp(s, "off"))
		*mode = MCAI_TEL_OFF;
	else
		return -1;
	return 0;
}

int mcai_teleagent_start(struct mcai_teleagent *t, enum mcai_tel_mode mode,
			 const char *power_table, int dev_fd,
			 unsigned int interval_s)
{
	struct mcai_power_table pt;
	char err[512], what[160];
	uint32_t mw0 = 0, khz0 = 0;
	bool already;
	int origin, r;

	memset(t, 0, sizeof(*t));
	t->dev_fd = dev_fd;
	t->maps.stats = -1;
	t->maps.drops = -1;
	t->maps.live = -1;
	t->interval_s = interval_s;
	if (mode == MCAI_TEL_OFF) {
		mcai_info("telemetry: off (as configured)");
		return 0;
	}
	if (mode == MCAI_TEL_AUTO && (dev_fd < 0 || geteuid())) {
		mcai_info("telemetry: off (%s)", dev_fd < 0 ?
			  "no /dev/mcai" : "not started as root");
		return 0;
	}
	r = mcai_power_choose(power_table, &pt, &origin, what, sizeof(what),
			      err, sizeof(err));
	if (!r)
		r = mcai_tel_enable(&already, err, sizeof(err));
	if (!r)
		r = mcai_tel_set_power_model(&pt,
					     (enum mcai_power_origin)origin,
					     &mw0, &khz0, err, sizeof(err));
	if (!r)
		r = mcai_tel_open_maps(&t->maps, err, sizeof(err));
	if (r) {
		mcai_tel_close_maps(&t->maps);
		if (mode == MCAI_TEL_ON) {
			mcai_err("telemetry: %s", err);
			return r < 0 ? r : -EINVAL;
		}
		mcai_warn("telemetry: off: %s", err);
		return 0;
	}
	t->on = true;
	t->countdown = interval_s;
	mcai_info("telemetry: %s under %s, power %s (CPU 0: %u mW), "
		  "budgets fed every %u s", already ? "attached already" :
		  "loaded and pinned", MCAI_TEL_PIN_DIR, what, mw0,
		  interval_s);
	return 0;
}

void mcai_teleagent_tick(struct mcai_teleagent *t)
{
	struct mcai_tel_model *m;
	struct mcai_dev dev;
	char err[512];
	size_t n;
	int fed;

	if (!t->on || !t->interval_s || --t->countdown)
		return;
	t->countdown = t->interval_s;
	if (mcai_tel_read_maps(&t->maps, &m, &n, err, sizeof(err))) {
		mcai_warn("telemetry: %s", err);
		return;
	}
	free(t->last);
	t->last = m;
	t->n_last = n;
	if (t->dev_fd < 0)
		return;
	memset(&dev, 0, sizeof(dev));
	dev.fd = t->dev_fd;
	snprintf(dev.path, sizeof(dev.path), "/dev/mcai");
	fed = mcai_energy_feed(&dev, m, n, false, NULL, NULL);
	if (fed < 0) {
		mcai_warn("telemetry: feeding the budgets: %s",
			  mcai_dev_error(&dev));
		return;
	}
	if (fed && !t->feeds++)
		mcai_info("telemetry: measured energy now prices %d model%s",
			  fed, fed == 1 ? "" : "s");
}

int mcai_teleagent_summary(const struct mcai_teleagent *t,
			   struct mcai_msg_telemetry *m)
{
	size_t i, n = t->n_last;

	memset(m, 0, sizeof(*m));
	if (!t->on || !n)
		return 0;
	if (n > MCAI_PROTO_MAX_TELEM)
		n = MCAI_PROTO_MAX_TELEM;
	m->entries = calloc(n, sizeof(*m->entries));
	if (!m->entries)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct mcai_tel_model *s = &t->last[i];
		struct mcai_telem_entry *e = &m->entries[m->n];

		/* a record without a name yet cannot be told apart: skip */
		if (!s->name[0])
			continue;
		snprintf(e->model, sizeof(e->model), "%s", s->name);
		e->version = s->version;
		e->inferences = s->count;
		e->energy_uj = s->energy_uj;
		e->p50_ns = mcai_tel_hist_quantile(s->hist, 0.50);
		e->p99_ns = mcai_tel_hist_quantile(s->hist, 0.99);
		e->drops = s->drops;
		m->n++;
	}
	return 0;
}

void mcai_teleagent_stop(struct mcai_teleagent *t)
{
	/* only a started agent owns fds (a zeroed one would name fd 0) */
	if (!t->on)
		return;
	mcai_tel_close_maps(&t->maps);
	free(t->last);
	t->last = NULL;
	t->n_last = 0;
	t->on = false;
}
