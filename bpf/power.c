// SPDX-License-Identifier: GPL-2.0
/*
 * Power models: operator tables and the kernel Energy Model (power.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/lib/errmsg.h"
#include "power.h"
/* generated in $(B)/gen/, which bpf.mk puts on the include path */
#include "power_tables.h"

static bool mcai_power_num(const char **p, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)**p))
		return false;
	errno = 0;
	v = strtoull(*p, &end, 10);
	if (errno || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	*p = end;
	return true;
}

static const char *mcai_power_skip(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int mcai_power_add(struct mcai_power_table *t, uint32_t khz,
			  uint32_t mw, unsigned int line, char *err,
			  size_t errlen)
{
	uint32_t i, j;

	if (!khz || !mw || mw > MCAI_POWER_MAX_MW)
		return mcai_errmsg(err, errlen, -1,
			"line %u: frequency must be > 0 kHz and power 1..%u mW",
			line, MCAI_POWER_MAX_MW);
	if (t->n == MCAI_POWER_MAX_ROWS)
		return mcai_errmsg(err, errlen, -1, "line %u: more than %d rows",
				      line, MCAI_POWER_MAX_ROWS);
	for (i = 0; i < t->n && t->row[i].khz < khz; i++)
		;
	if (i < t->n && t->row[i].khz == khz)
		return mcai_errmsg(err, errlen, -1,
				      "line %u: frequency %u kHz listed twice",
				      line, khz);
	for (j = t->n; j > i; j--)
		t->row[j] = t->row[j - 1];
	t->row[i].khz = khz;
	t->row[i].mw = mw;
	t->n++;
	return (int)i;
}

int mcai_power_parse(const char *text, struct mcai_power_table *t,
		     char *err, size_t errlen)
{
	uint32_t nominal_khz = 0, i;
	unsigned int line = 0;
	const char *p = text;

	memset(t, 0, sizeof(*t));
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char buf[256];
		const char *q;
		uint32_t khz, mw;

		line++;
		if (len >= sizeof(buf))
			return mcai_errmsg(err, errlen, -1,
					      "line %u: longer than %zu bytes",
					      line, sizeof(buf) - 1);
		memcpy(buf, p, len);
		buf[len] = '\0';
		p = eol ? eol + 1 : p + len;
		q = mcai_power_skip(buf);
		if (!*q || *q == '#' || *q == '\r')
			continue;
		if (!strncmp(q, "name", 4) && (q[4] == ' ' || q[4] == '\t')) {
			q = mcai_power_skip(q + 4);
			snprintf(t->name, sizeof(t->name), "%.*s",
				 (int)strcspn(q, " \t\r"), q);
			continue;
		}
		if (!mcai_power_num(&q, &khz) ||
		    (q = mcai_power_skip(q), !mcai_power_num(&q, &mw)))
			return mcai_errmsg(err, errlen, -1,
				"line %u: expected \"frequency_khz power_mw\"",
				line);
		if (mcai_power_add(t, khz, mw, line, err, errlen) < 0)
			return -1;
		q = mcai_power_skip(q);
		if (!strncmp(q, "nominal", 7)) {
			if (nominal_khz)
				return mcai_errmsg(err, errlen, -1,
					"line %u: a second nominal row", line);
			nominal_khz = khz;
			q = mcai_power_skip(q + 7);
		}
		if (*q && *q != '#' && *q != '\r')
			return mcai_errmsg(err, errlen, -1,
					      "line %u: unexpected \"%s\"",
					      line, q);
	}
	if (!t->n)
		return mcai_errmsg(err, errlen, -1, "no frequency rows");
	t->nominal = t->n - 1;		/* the fastest, unless told */
	for (i = 0; i < t->n; i++)
		if (t->row[i].khz == nominal_khz)
			t->nominal = i;
	if (!t->name[0])
		snprintf(t->name, sizeof(t->name), "table");
	return 0;
}

int mcai_power_load(const char *path, struct mcai_power_table *t,
		    char *err, size_t errlen)
{
	char text[16384], sub[192];
	size_t n;
	FILE *f;
	int ret;

	f = fopen(path, "r");
	if (!f)
		return mcai_errmsg(err, errlen, -1, "%s: %s", path,
				      strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	if (!feof(f)) {
		fclose(f);
		return mcai_errmsg(err, errlen, -1, "%s: larger than %zu bytes",
				      path, sizeof(text) - 1);
	}
	fclose(f);
	text[n] = '\0';
	ret = mcai_power_parse(text, t, sub, sizeof(sub));
	if (ret)
		mcai_errmsg(err, errlen, -1, "%s: %s", path, sub);
	return ret;
}

const char *mcai_power_builtin(const char *name)
{
	if (!strcmp(name, "x86-gateway"))
		return mcai_power_x86_gateway;
	if (!strcmp(name, "cortex-a53"))
		return mcai_power_cortex_a53;
	return NULL;
}

const char *mcai_power_builtin_default(void)
{
#if defined(__aarch64__) || defined(__arm__)
	return mcai_power_cortex_a53;
#else
	return mcai_power_x86_gateway;
#endif
}

uint32_t mcai_power_at(const struct mcai_power_table *t, uint32_t khz)
{
	const struct mcai_power_row *lo, *hi;
	uint64_t num, den;
	uint32_t i;

	if (!t->n)
		return 0;
	if (!khz)
		return t->row[t->nominal].mw;
	if (khz <= t->row[0].khz)
		return t->row[0].mw;
	for (i = 1; i < t->n; i++)
		if (khz <= t->row[i].khz)
			break;
	if (i == t->n)
		return t->row[t->n - 1].mw;
	lo = &t->row[i - 1];
	hi = &t->row[i];
	/* lo->mw + (hi->mw - lo->mw) * (khz - lo) / (hi - lo), rounded */
	den = hi->khz - lo->khz;
	if (hi->mw >= lo->mw) {
		num = (uint64_t)(hi->mw - lo->mw) * (khz - lo->khz);
		return lo->mw + (uint32_t)((num + den / 2) / den);
	}
	num = (uint64_t)(lo->mw - hi->mw) * (khz - lo->khz);
	return lo->mw - (uint32_t)((num + den / 2) / den);
}

static bool mcai_read_ulong(const char *path, unsigned long *v)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%li", (long *)v) == 1;
	fclose(f);
	return ok;
}

/* Is @cpu in a cpulist such as "0-3,6"? */
static bool mcai_cpulist_has(const char *list, int cpu)
{
	const char *p = list;

	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p)
			return false;
		b = a;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		if (cpu >= a && cpu <= b)
			return true;
		p = end;
		while (*p == ',' || *p == '\n' || *p == ' ')
			p++;
	}
	return false;
}

int mcai_power_from_em(const char *em_root, int cpu,
		       struct mcai_power_table *t, char *err, size_t errlen)
{
	char path[512], cpus[256];
	struct dirent *de, *ps;
	unsigned long flags;
	DIR *root, *dom;
	FILE *f;
	size_t n;

	memset(t, 0, sizeof(*t));
	root = opendir(em_root);
	if (!root) {
		errno = ENOENT;
		return mcai_errmsg(err, errlen, -1,
			"no kernel Energy Model (%s: %s)", em_root,
			strerror(errno));
	}
	while ((de = readdir(root))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/cpus", em_root,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(cpus, 1, sizeof(cpus) - 1, f);
		fclose(f);
		cpus[n] = '\0';
		if (mcai_cpulist_has(cpus, cpu))
			break;
	}
	if (!de) {
		closedir(root);
		errno = ENOENT;
		return mcai_errmsg(err, errlen, -1,
			"the kernel Energy Model has no domain for CPU %d", cpu);
	}
	snprintf(t->name, sizeof(t->name), "em:%.28s", de->d_name);
	snprintf(path, sizeof(path), "%s/%s/flags", em_root, de->d_name);
	/* EM_PERF_DOMAIN_MICROWATTS: otherwise an abstract scale */
	if (mcai_read_ulong(path, &flags) && !(flags & 1)) {
		closedir(root);
		errno = EINVAL;
		return mcai_errmsg(err, errlen, -1,
			"the kernel Energy Model of CPU %d is in an abstract "
			"scale, not micro-watts", cpu);
	}
	snprintf(path, sizeof(path), "%s/%s", em_root, de->d_name);
	dom = opendir(path);
	closedir(root);
	if (!dom)
		return mcai_errmsg(err, errlen, -1, "%s: %s", path,
				      strerror(errno));
	while ((ps = readdir(dom))) {
		unsigned long khz, uw;
		char p2[1024];

		if (strncmp(ps->d_name, "ps:", 3))
			continue;
		if (snprintf(p2, sizeof(p2), "%s/%.255s/frequency", path,
			     ps->d_name) >= (int)sizeof(p2) ||
		    !mcai_read_ulong(p2, &khz))
			continue;
		if (snprintf(p2, sizeof(p2), "%s/%.255s/power", path,
			     ps->d_name) >= (int)sizeof(p2) ||
		    !mcai_read_ulong(p2, &uw))
			continue;
		if (khz > UINT32_MAX || uw / 1000 > MCAI_POWER_MAX_MW)
			continue;
		/* µW to mW, at least 1 so that the row is usable */
		if (mcai_power_add(t, (uint32_t)khz,
				   uw < 1000 ? 1 : (uint32_t)((uw + 500) / 1000),
				   0, err, errlen) < 0)
			break;
	}
	closedir(dom);
	if (!t->n) {
		errno = ENOENT;
		return mcai_errmsg(err, errlen, -1,
			"the kernel Energy Model of CPU %d has no states", cpu);
	}
	t->nominal = t->n - 1;
	return 0;
}

uint32_t mcai_cpu_cur_khz(int cpu)
{
	char path[128];
	unsigned long khz;

	snprintf(path, sizeof(path),
		 "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", cpu);
	if (!mcai_read_ulong(path, &khz) || khz > UINT32_MAX)
		return 0;
	return (uint32_t)khz;
}

int mcai_power_choose(const char *arg, struct mcai_power_table *t,
		      int *origin, char *what, size_t whatlen, char *err,
		      size_t errlen)
{
	const char *text;
	char sub[256];

	if (arg) {
		text = mcai_power_builtin(arg);
		if (text ? mcai_power_parse(text, t, sub, sizeof(sub)) :
			   mcai_power_load(arg, t, sub, sizeof(sub)))
			return mcai_errmsg(err, errlen, -1, "power table: %s",
					   sub);
		*origin = 2;	/* MCAI_POWER_ORIGIN_TABLE */
		snprintf(what, whatlen, "table %s (%s)", t->name,
			 text ? "built in" : arg);
		return 0;
	}
	if (!mcai_power_from_em(MCAI_POWER_EM_ROOT, 0, t, sub, sizeof(sub))) {
		*origin = 1;	/* MCAI_POWER_ORIGIN_ENERGY_MODEL */
		snprintf(what, whatlen, "kernel Energy Model (%s)", t->name);
		return 0;
	}
	if (mcai_power_parse(mcai_power_builtin_default(), t, sub,
			     sizeof(sub)))
		return mcai_errmsg(err, errlen, -1, "built-in power table: %s",
				   sub);
	*origin = 2;		/* MCAI_POWER_ORIGIN_TABLE */
	snprintf(what, whatlen, "table %s (built in; no kernel Energy Model)",
		 t->name);
	return 0;
}
