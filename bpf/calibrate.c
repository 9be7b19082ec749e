// SPDX-License-Identifier: GPL-2.0
/*
 * RAPL calibration arithmetic and sampling (calibrate.h).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/lib/errmsg.h"
#include "calibrate.h"

int mcai_proc_stat_busy_ns(const char *text, long hz, uint64_t *busy_ns)
{
	unsigned long long v[8] = { 0 };
	int n;

	if (hz <= 0 || strncmp(text, "cpu ", 4))
		return -1;
	/* user nice system idle iowait irq softirq steal */
	n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return -1;
	*busy_ns = (uint64_t)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) *
		   (1000000000ULL / (uint64_t)hz);
	return 0;
}

static int mcai_read_u64(const char *path, uint64_t *v)
{
	unsigned long long x;
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%llu", &x) == 1;
	fclose(f);
	if (!ok)
		return -1;
	*v = x;
	return 0;
}

static int mcai_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mcai_rapl_sample(const char *powercap_root, const char *proc_stat,
		     uint64_t t_ns, struct mcai_rapl_sample *s, char *err,
		     size_t errlen)
{
	char *names[MCAI_RAPL_MAX_PKG], path[512], text[512];
	struct dirent *de;
	uint32_t i, n = 0;
	DIR *d;
	FILE *f;
	size_t len;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	s->t_ns = t_ns;
	d = opendir(powercap_root);
	if (!d) {
		errno = ENOENT;
		return mcai_errmsg(err, errlen, -1, "no powercap (%s)",
				    powercap_root);
	}
	while ((de = readdir(d))) {
		unsigned int pkg;
		char tail;

		/* intel-rapl:N, not intel-rapl:N:M (core, uncore, dram) */
		if (sscanf(de->d_name, "intel-rapl:%u%c", &pkg, &tail) != 1)
			continue;
		if (n == MCAI_RAPL_MAX_PKG)
			break;
		names[n] = strdup(de->d_name);
		if (!names[n])
			break;
		n++;
	}
	closedir(d);
	if (!n) {
		errno = ENOENT;
		mcai_errmsg(err, errlen, -1, "no RAPL package zone under %s",
			     powercap_root);
		goto out;
	}
	/* the same order in every sample */
	qsort(names, n, sizeof(names[0]), mcai_cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/energy_uj", powercap_root,
			 names[i]);
		if (mcai_read_u64(path, &s->energy_uj[i])) {
			mcai_errmsg(err, errlen, -1, "%s: %s", path,
				     errno == EACCES ?
				     "not readable (root only since 5.10)" :
				     "unreadable");
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s/max_energy_range_uj",
			 powercap_root, names[i]);
		if (mcai_read_u64(path, &s->range_uj[i])) {
			mcai_errmsg(err, errlen, -1, "%s: unreadable", path);
			goto out;
		}
	}
	s->n_pkg = n;
	f = fopen(proc_stat, "r");
	if (!f) {
		mcai_errmsg(err, errlen, -1, "%s: %s", proc_stat, strerror(errno));
		goto out;
	}
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	if (mcai_proc_stat_busy_ns(text, sysconf(_SC_CLK_TCK), &s->busy_ns)) {
		mcai_errmsg(err, errlen, -1, "%s: no cpu line", proc_stat);
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	return ret;
}

int mcai_rapl_calibrate(const struct mcai_rapl_sample *a,
			const struct mcai_rapl_sample *b, uint32_t idle_mw,
			struct mcai_calibration *c, char *err, size_t errlen)
{
	uint64_t e = 0, idle_uj, mw;
	uint32_t i;

	memset(c, 0, sizeof(*c));
	if (!a->n_pkg || a->n_pkg != b->n_pkg)
		return mcai_errmsg(err, errlen, -1,
				    "the samples have %u and %u packages",
				    a->n_pkg, b->n_pkg);
	if (b->t_ns <= a->t_ns)
		return mcai_errmsg(err, errlen, -1, "empty window");
	if (b->busy_ns <= a->busy_ns)
		return mcai_errmsg(err, errlen, -1,
				    "no CPU time was spent in the window");
	for (i = 0; i < a->n_pkg; i++) {
		uint64_t d;

		if (b->energy_uj[i] >= a->energy_uj[i]) {
			d = b->energy_uj[i] - a->energy_uj[i];
		} else {
			/* the counter wrapped at its range (once, at most) */
			if (!b->range_uj[i] || a->energy_uj[i] > b->range_uj[i])
				return mcai_errmsg(err, errlen, -1,
					"package %u: counter went back from %"
					PRIu64 " to %" PRIu64
					" without a known range", i,
					a->energy_uj[i], b->energy_uj[i]);
			/* as powercap users count it: range - a + b */
			d = b->range_uj[i] - a->energy_uj[i] + b->energy_uj[i];
		}
		e += d;
	}
	c->window_ns = b->t_ns - a->t_ns;
	c->energy_uj = e;
	c->busy_ns = b->busy_ns - a->busy_ns;
	/* idle floor: mW * ns / 10^6 = µJ */
	idle_uj = (uint64_t)idle_mw * c->window_ns / 1000000;
	if (idle_uj >= e)
		return mcai_errmsg(err, errlen, -1,
			"the idle floor (%u mW) exceeds the window's energy",
			idle_mw);
	/* (µJ * 10^6) / ns = mW, rounded to nearest; e < 2^44 µJ in practice */
	if ((e - idle_uj) > UINT64_MAX / 1000000)
		return mcai_errmsg(err, errlen, -1, "energy out of range");
	mw = ((e - idle_uj) * 1000000 + c->busy_ns / 2) / c->busy_ns;
	if (!mw || mw > UINT32_MAX)
		return mcai_errmsg(err, errlen, -1,
				    "calibrated power %" PRIu64 " mW out of range",
				    mw);
	c->power_mw = (uint32_t)mw;
	return 0;
}
