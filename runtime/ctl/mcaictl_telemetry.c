// SPDX-License-Identifier: GPL-2.0
/*
 * mcaictl telemetry / mcaictl top: the eBPF telemetry of bpf/ from the
 * command line — enable, disable, status, per-model figures, a latency
 * histogram, RAPL calibration, and feeding measured energy back to the
 * module's budgets.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpf/calibrate.h"
#include "bpf/power.h"
#include "bpf/telemetry.h"
#include "runtime/daemon/energyfeed.h"
#include "runtime/ctl/mcaictl.h"

#define POWERCAP_ROOT	"/sys/class/powercap"
#define PROC_STAT	"/proc/stat"
#define MAX_SAMPLES	4096

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Total energy of a record in pJ (fits: 2^64 pJ is 18 MJ). */
static unsigned __int128 tel_pj(const struct mcai_tel_model *m)
{
	return (unsigned __int128)m->energy_uj * 1000000 + m->energy_pj_rem;
}

static double tel_uj_per_inf(const struct mcai_tel_model *m)
{
	return m->count ? (double)tel_pj(m) / 1e6 / (double)m->count : 0;
}

/* ---------------------------------------------------------------------- */
/* enable, disable, status                                                */
/* ---------------------------------------------------------------------- */

/*
 * Model ids restart when mcai.ko is reloaded: a record whose id now
 * belongs to another name is history of a model that is gone.
 */
static void forget_stale(void)
{
	struct mcai_tel_model *m;
	struct mcai_dev dev;
	size_t n, i;
	char err[256];

	if (mcai_tel_read(&m, &n, err, sizeof(err)))
		return;
	if (mcai_dev_open(&dev, opt_device)) {
		free(m);
		return;
	}
	for (i = 0; i < n; i++) {
		struct mcai_sel sel = { .id = m[i].model_id };
		struct mcai_model_info mi;

		if (!m[i].model_id || mcai_dev_model_info(&dev, sel, &mi))
			continue;
		if (m[i].name[0] && strcmp(mi.ref.name, m[i].name))
			mcai_tel_forget(m[i].model_id, m[i].version, err,
					sizeof(err));
	}
	mcai_dev_close(&dev);
	free(m);
}

static int tel_enable(const char *power_arg)
{
	enum mcai_power_origin origin = MCAI_POWER_ORIGIN_NONE;
	struct mcai_power_table t;
	char err[512], what[160];
	uint32_t mw0 = 0, khz0 = 0;
	bool already;
	int o;

	if (mcai_power_choose(power_arg, &t, &o, what, sizeof(what), err,
			      sizeof(err)))
		return fail("%s", err);
	origin = (enum mcai_power_origin)o;
	if (mcai_tel_enable(&already, err, sizeof(err)))
		return fail("telemetry enable: %s", err);
	if (mcai_tel_set_power_model(&t, origin, &mw0, &khz0, err,
				     sizeof(err)))
		return fail("telemetry enable: %s", err);
	forget_stale();
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_bool(&json, "enabled", true);
		mcai_json_kv_bool(&json, "already_enabled", already);
		mcai_json_kv_string(&json, "pin_dir", MCAI_TEL_PIN_DIR);
		mcai_json_kv_string(&json, "power_model", what);
		mcai_json_kv_uint(&json, "cpu0_power_mw", mw0);
		mcai_json_kv_uint(&json, "cpu0_freq_khz", khz0);
		mcai_json_object_end(&json);
		return 0;
	}
	printf("telemetry %s: maps and links pinned under %s\n",
	       already ? "was already enabled" : "enabled", MCAI_TEL_PIN_DIR);
	printf("power model: %s; CPU 0: %u mW at %s\n", what, mw0,
	       khz0 ? "its current frequency" : "the nominal frequency "
	       "(current frequency unknown)");
	return 0;
}

static int tel_disable(bool purge)
{
	char err[512];

	if (mcai_tel_disable(purge, err, sizeof(err)))
		return fail("telemetry disable: %s", err);
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_bool(&json, "enabled", false);
		mcai_json_kv_bool(&json, "purged", purge);
		mcai_json_object_end(&json);
		return 0;
	}
	printf("telemetry disabled%s\n", purge ? "; maps removed" :
	       "; maps kept (counts resume on enable; --purge removes them)");
	return 0;
}

static const char *origin_name(enum mcai_power_origin o)
{
	switch (o) {
	case MCAI_POWER_ORIGIN_ENERGY_MODEL:
		return "kernel-energy-model";
	case MCAI_POWER_ORIGIN_TABLE:
		return "table";
	case MCAI_POWER_ORIGIN_RAPL:
		return "rapl";
	default:
		return "none";
	}
}

static int tel_status(void)
{
	struct mcai_tel_status st;
	char err[512];
	unsigned int i;

	if (mcai_tel_status(&st, err, sizeof(err)))
		return fail("telemetry status: %s", err);
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_bool(&json, "enabled",
				  st.attached == MCAI_TEL_N_PROGS);
		mcai_json_kv_bool(&json, "maps_pinned", st.maps_pinned);
		mcai_json_key(&json, "programs");
		mcai_json_array_begin(&json);
		for (i = 0; i < MCAI_TEL_N_PROGS; i++) {
			const struct mcai_tel_prog_status *p = &st.prog[i];

			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "name", p->name);
			mcai_json_kv_bool(&json, "attached", p->attached);
			mcai_json_kv_uint(&json, "prog_id", p->prog_id);
			mcai_json_kv_uint(&json, "run_cnt", p->run_cnt);
			mcai_json_kv_uint(&json, "run_time_ns", p->run_time_ns);
			mcai_json_kv_uint(&json, "recursion_misses",
					  p->recursion_misses);
			mcai_json_object_end(&json);
		}
		mcai_json_array_end(&json);
		mcai_json_key(&json, "power_cpu0");
		mcai_json_object_begin(&json);
		mcai_json_kv_uint(&json, "power_mw", st.power0.power_mw);
		mcai_json_kv_uint(&json, "freq_khz", st.power0.freq_khz);
		mcai_json_kv_string(&json, "energy_source",
			mcai_energy_source_name(st.power0.energy_source));
		mcai_json_kv_string(&json, "origin",
				    origin_name(st.power0.origin));
		mcai_json_object_end(&json);
		mcai_json_kv_uint(&json, "calibration_windows",
				  st.calibration.windows);
		mcai_json_kv_uint(&json, "pipeline_session_drops",
				  st.pipeline_drops);
		mcai_json_object_end(&json);
		return 0;
	}
	printf("telemetry: %s (%u of %d programs attached), maps %s\n",
	       st.attached == MCAI_TEL_N_PROGS ? "enabled" :
	       st.attached ? "PARTLY enabled" : "disabled", st.attached,
	       MCAI_TEL_N_PROGS, st.maps_pinned ? "pinned under "
	       MCAI_TEL_PIN_DIR : "not pinned");
	for (i = 0; i < MCAI_TEL_N_PROGS; i++) {
		const struct mcai_tel_prog_status *p = &st.prog[i];

		if (!p->attached)
			continue;
		printf("  %-16s prog id %-5u runs %-10" PRIu64, p->name,
		       p->prog_id, p->run_cnt);
		if (p->run_cnt)
			printf(" %6.0f ns/run", (double)p->run_time_ns /
			       (double)p->run_cnt);
		else
			printf(" (sysctl kernel.bpf_stats_enabled=1 for run times)");
		if (p->recursion_misses)
			printf("  %" PRIu64 " missed (recursion)",
			       p->recursion_misses);
		printf("\n");
	}
	if (st.maps_pinned)
		printf("power (CPU 0): %u mW, source %s (%s)%s\n",
		       st.power0.power_mw,
		       mcai_energy_source_name(st.power0.energy_source),
		       origin_name(st.power0.origin),
		       st.calibration.windows ? ", RAPL-calibrated" : "");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* show, hist                                                             */
/* ---------------------------------------------------------------------- */

static void json_model(struct mcai_json *j, const struct mcai_tel_model *m)
{
	unsigned __int128 pj = tel_pj(m);
	int i;

	mcai_json_object_begin(j);
	mcai_json_kv_string(j, "name", m->name);
	mcai_json_kv_uint(j, "model_id", m->model_id);
	mcai_json_kv_uint(j, "version", m->version);
	mcai_json_kv_uint(j, "count", m->count);
	mcai_json_kv_uint(j, "latency_total_ns", m->latency_total_ns);
	mcai_json_kv_uint(j, "latency_max_ns", m->latency_max_ns);
	mcai_json_kv_uint(j, "latency_mean_ns", m->count ?
			  m->latency_total_ns / m->count : 0);
	mcai_json_kv_uint(j, "latency_p50_ns",
			  mcai_tel_hist_quantile(m->hist, 0.50));
	mcai_json_kv_uint(j, "latency_p99_ns",
			  mcai_tel_hist_quantile(m->hist, 0.99));
	mcai_json_kv_uint(j, "cpu_ns", m->cpu_ns);
	mcai_json_kv_uint(j, "macs", m->macs);
	mcai_json_kv_uint(j, "energy_uj", m->energy_uj);
	mcai_json_kv_uint(j, "energy_pj_rem", m->energy_pj_rem);
	if (pj <= UINT64_MAX)
		mcai_json_kv_uint(j, "energy_pj", (uint64_t)pj);
	mcai_json_kv_double(j, "uj_per_inference", tel_uj_per_inf(m));
	mcai_json_kv_string(j, "energy_source",
			    mcai_energy_source_name(m->energy_source));
	mcai_json_kv_uint(j, "power_mw", m->power_mw);
	mcai_json_kv_uint(j, "shed", m->shed);
	mcai_json_kv_uint(j, "drops", m->drops);
	mcai_json_kv_uint(j, "unpaired", m->unpaired);
	mcai_json_key(j, "latency_log2_ns");
	mcai_json_array_begin_inline(j);
	for (i = 0; i < MCAI_TEL_HIST_SLOTS; i++)
		mcai_json_uint(j, m->hist[i]);
	mcai_json_array_end(j);
	mcai_json_object_end(j);
}

static void print_header(bool with_rate)
{
	printf("%-20s %4s %10s %9s %9s %9s %9s %10s %8s %-15s %6s %6s%s\n",
	       "MODEL", "VER", "COUNT", "MEAN_us", "P50_us", "P99_us",
	       "MAX_us", "CPU_us/inf", "uJ/inf", "ENERGY_SOURCE", "SHED",
	       "DROPS", with_rate ? "      RATE" : "");
}

static void print_row(const struct mcai_tel_model *m, double rate,
		      bool with_rate)
{
	printf("%-20s %4u %10" PRIu64 " %9.2f %9.2f %9.2f %9.2f %10.2f %8.3f %-15s %6" PRIu64 " %6" PRIu64,
	       m->name[0] ? m->name : "?", m->version, m->count,
	       m->count ? (double)m->latency_total_ns / 1e3 /
			  (double)m->count : 0,
	       (double)mcai_tel_hist_quantile(m->hist, 0.50) / 1e3,
	       (double)mcai_tel_hist_quantile(m->hist, 0.99) / 1e3,
	       (double)m->latency_max_ns / 1e3,
	       m->count ? (double)m->cpu_ns / 1e3 / (double)m->count : 0,
	       tel_uj_per_inf(m), mcai_energy_source_name(m->energy_source),
	       m->shed, m->drops);
	if (with_rate)
		printf(" %9.1f/s", rate);
	printf("\n");
}

static int tel_show(void)
{
	struct mcai_tel_model *m;
	char err[512];
	size_t n, i;

	if (mcai_tel_read(&m, &n, err, sizeof(err)))
		return fail("telemetry: %s", err);
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_key(&json, "models");
		mcai_json_array_begin(&json);
		for (i = 0; i < n; i++)
			json_model(&json, &m[i]);
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
		free(m);
		return 0;
	}
	if (!n)
		printf("no inference recorded yet\n");
	else
		print_header(false);
	for (i = 0; i < n; i++)
		print_row(&m[i], 0, false);
	free(m);
	return 0;
}

/* biolatency's layout: one row per log2 bucket, a bar of 40 stars. */
static void print_hist(const uint64_t *h)
{
	uint64_t max = 0;
	int i, lo = -1, hi = -1, k, stars;

	for (i = 0; i < MCAI_TEL_HIST_SLOTS; i++) {
		if (!h[i])
			continue;
		if (lo < 0)
			lo = i;
		hi = i;
		if (h[i] > max)
			max = h[i];
	}
	if (lo < 0) {
		printf("  (empty)\n");
		return;
	}
	printf("%24s : %-10s distribution\n", "ns", "count");
	for (i = lo; i <= hi; i++) {
		stars = (int)(h[i] * 40 / max);
		printf("%10llu -> %-10llu : %-10" PRIu64 " |",
		       1ULL << i, (2ULL << i) - 1, h[i]);
		for (k = 0; k < 40; k++)
			putchar(k < stars ? '*' : ' ');
		printf("|\n");
	}
}

static int tel_hist(const char *name, bool version_set, uint32_t version)
{
	struct mcai_tel_model *m, sum;
	bool found = false;
	char err[512];
	size_t n, i;
	int k;

	if (mcai_tel_read(&m, &n, err, sizeof(err)))
		return fail("telemetry: %s", err);
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < n; i++) {
		if (strcmp(m[i].name, name) ||
		    (version_set && m[i].version != version))
			continue;
		found = true;
		for (k = 0; k < MCAI_TEL_HIST_SLOTS; k++)
			sum.hist[k] += m[i].hist[k];
		sum.count += m[i].count;
	}
	free(m);
	if (!found)
		return fail("telemetry has no record of model %s%s", name,
			    version_set ? " at that version" : "");
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "name", name);
		mcai_json_kv_uint(&json, "count", sum.count);
		mcai_json_key(&json, "latency_log2_ns");
		mcai_json_array_begin_inline(&json);
		for (k = 0; k < MCAI_TEL_HIST_SLOTS; k++)
			mcai_json_uint(&json, sum.hist[k]);
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
		return 0;
	}
	printf("latency of %s%s, %" PRIu64 " inferences (start to end, log2 buckets):\n",
	       name, version_set ? "" : " (all versions)", sum.count);
	print_hist(sum.hist);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* calibrate, feed                                                        */
/* ---------------------------------------------------------------------- */

/*
 * Recorded readings, one sample per line:
 *   t_ns busy_cpu_ns energy_uj:max_energy_range_uj [energy_uj:range ...]
 * (one energy:range pair per package, as powercap shows them).
 */
static int read_samples_file(const char *path, struct mcai_rapl_sample *s,
			     size_t cap, size_t *n)
{
	char line[1024];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "r");

	*n = 0;
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		struct mcai_rapl_sample *x;
		char *p = line, *end;
		uint32_t k = 0;

		lineno++;
		p += strspn(p, " \t");
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		if (*n == cap) {
			fclose(f);
			return fail("%s: more than %zu samples", path, cap);
		}
		x = &s[*n];
		memset(x, 0, sizeof(*x));
		x->t_ns = strtoull(p, &end, 10);
		if (end == p)
			goto bad;
		p = end;
		x->busy_ns = strtoull(p, &end, 10);
		if (end == p)
			goto bad;
		p = end;
		for (;;) {
			p += strspn(p, " \t");
			if (*p == '\n' || !*p || *p == '#')
				break;
			if (k == MCAI_RAPL_MAX_PKG)
				goto bad;
			x->energy_uj[k] = strtoull(p, &end, 10);
			if (end == p || *end != ':')
				goto bad;
			p = end + 1;
			x->range_uj[k] = strtoull(p, &end, 10);
			if (end == p)
				goto bad;
			p = end;
			k++;
		}
		if (!k)
			goto bad;
		x->n_pkg = k;
		(*n)++;
	}
	fclose(f);
	if (*n < 2)
		return fail("%s: need at least two samples", path);
	return 0;
bad:
	fclose(f);
	return fail("%s:%u: expected \"t_ns busy_ns energy_uj:range_uj ...\"",
		    path, lineno);
}

static int tel_calibrate(double seconds, uint32_t idle_mw,
			 const char *samples, const char *powercap,
			 bool dry_run)
{
	struct mcai_rapl_sample *s;
	struct mcai_calibration c;
	struct mcai_tel_calibration tc;
	char err[512];
	size_t n = 0, i;
	int ret = 0;

	s = calloc(MAX_SAMPLES, sizeof(*s));
	if (!s)
		return fail("out of memory");
	if (samples) {
		if (read_samples_file(samples, s, MAX_SAMPLES, &n)) {
			free(s);
			return EXIT_FAILURE;
		}
	} else {
		if (mcai_rapl_sample(powercap, PROC_STAT, mono_ns(), &s[0],
				     err, sizeof(err))) {
			free(s);
			return fail("calibrate: %s; the energy stays modelled",
				    err);
		}
		if (!opt_json)
			fprintf(stderr, "calibrating over %.1f s...\n",
				seconds);
		usleep((useconds_t)(seconds * 1e6));
		if (mcai_rapl_sample(powercap, PROC_STAT, mono_ns(), &s[1],
				     err, sizeof(err))) {
			free(s);
			return fail("calibrate: %s", err);
		}
		n = 2;
	}
	memset(&tc, 0, sizeof(tc));
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_key(&json, "windows");
		mcai_json_array_begin(&json);
	}
	for (i = 1; i < n; i++) {
		if (mcai_rapl_calibrate(&s[i - 1], &s[i], idle_mw, &c, err,
					sizeof(err))) {
			if (opt_json)
				mcai_json_close_all(&json);
			free(s);
			return fail("calibrate: window %zu: %s", i, err);
		}
		tc.windows++;
		tc.window_ns = c.window_ns;
		tc.rapl_energy_uj = c.energy_uj;
		tc.busy_cpu_ns = c.busy_ns;
		tc.power_mw = c.power_mw;
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "window_ns", c.window_ns);
			mcai_json_kv_uint(&json, "energy_uj", c.energy_uj);
			mcai_json_kv_uint(&json, "busy_cpu_ns", c.busy_ns);
			mcai_json_kv_uint(&json, "power_mw", c.power_mw);
			mcai_json_object_end(&json);
		} else {
			printf("window %zu: %.3f s, package %" PRIu64
			       " uJ, busy CPU %.3f s -> %u mW per busy CPU\n",
			       i, (double)c.window_ns / 1e9, c.energy_uj,
			       (double)c.busy_ns / 1e9, c.power_mw);
		}
	}
	tc.updated_unix_s = (uint64_t)time(NULL);
	if (!dry_run && mcai_tel_set_calibration(&tc, err, sizeof(err)))
		ret = fail("calibrate: %s", err);
	if (opt_json) {
		mcai_json_array_end(&json);
		mcai_json_kv_uint(&json, "power_mw", tc.power_mw);
		mcai_json_kv_bool(&json, "applied", !dry_run && !ret);
		mcai_json_object_end(&json);
	} else if (!ret) {
		printf("%s: %u mW per busy CPU, energy source rapl-calibrated\n",
		       dry_run ? "would apply" : "applied", tc.power_mw);
	}
	free(s);
	return ret;
}

struct feed_report {
	bool dry_run;
	bool quiet;
};

static void feed_report(void *arg, const struct mcai_tel_model *m,
			uint64_t mpj, uint32_t source)
{
	const struct feed_report *r = arg;

	(void)source;
	if (r->quiet)
		return;
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "name", m->name);
		mcai_json_kv_uint(&json, "version", m->version);
		mcai_json_kv_uint(&json, "mpj_per_mac", mpj);
		mcai_json_kv_string(&json, "energy_source",
				    mcai_energy_source_name(m->energy_source));
		mcai_json_object_end(&json);
		return;
	}
	printf("%s version %u: %.3f pJ per MAC (%s)%s\n", m->name, m->version,
	       (double)mpj / 1000, mcai_energy_source_name(m->energy_source),
	       r->dry_run ? ", not applied" : "");
}

/* Returns how many were fed, or -1 after reporting. */
static int feed(struct mcai_dev *dev, const struct mcai_tel_model *m,
		size_t n, bool dry_run, bool quiet)
{
	struct feed_report r = { .dry_run = dry_run, .quiet = quiet };
	int fed = mcai_energy_feed(dev, m, n, dry_run, feed_report, &r);

	if (fed < 0)
		fail("feed: %s", mcai_dev_error(dev));
	return fed;
}

/*
 * The figures as JSON in @path, replaced atomically (temp, fsync,
 * rename) and world-readable: how an unprivileged reader such as mcaid,
 * which may not use the bpf() syscall at all once it dropped its
 * privileges, gets them.
 */
static int export_json(const char *path, const struct mcai_tel_model *m,
		       size_t n)
{
	struct mcai_json j;
	char tmp[4096];
	size_t i;
	FILE *f;
	int ok, fd;

	/* a fresh name (mkstemp): never through a planted symlink */
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return fail("--export: path too long");
	fd = mkstemp(tmp);
	if (fd < 0)
		return fail("%s: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return fail("%s: %s", tmp, strerror(errno));
	}
	mcai_json_init(&j, f, 2);
	mcai_json_object_begin(&j);
	mcai_json_kv_uint(&j, "time_unix_s", (uint64_t)time(NULL));
	mcai_json_key(&j, "models");
	mcai_json_array_begin(&j);
	for (i = 0; i < n; i++)
		json_model(&j, &m[i]);
	mcai_json_array_end(&j);
	mcai_json_object_end(&j);
	ok = !mcai_json_finish(&j) && !fflush(f) && !fsync(fileno(f)) &&
	     !fchmod(fileno(f), 0644);
	if (fclose(f) || !ok || rename(tmp, path)) {
		unlink(tmp);
		return fail("%s: %s", path, strerror(errno));
	}
	return 0;
}

static int tel_feed(bool dry_run, const char *export_path)
{
	struct mcai_tel_model *m;
	struct mcai_dev dev;
	char err[512];
	size_t n;
	int fed;

	if (mcai_tel_read(&m, &n, err, sizeof(err)))
		return fail("telemetry: %s", err);
	if (export_path && export_json(export_path, m, n)) {
		free(m);
		return EXIT_FAILURE;
	}
	if (open_device(&dev)) {
		free(m);
		return EXIT_FAILURE;
	}
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_key(&json, "fed");
		mcai_json_array_begin(&json);
	}
	fed = feed(&dev, m, n, dry_run, false);
	mcai_dev_close(&dev);
	free(m);
	if (fed < 0) {
		if (opt_json)
			mcai_json_close_all(&json);
		return EXIT_FAILURE;
	}
	if (opt_json) {
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
	} else if (!fed) {
		printf("nothing to feed: no running model version has "
		       "measured inferences yet\n");
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* the command                                                            */
/* ---------------------------------------------------------------------- */

const char telemetry_details[] =
	"  enable [--power-table FILE|NAME]\n"
	"        load the eBPF programs and pin them and their maps under\n"
	"        " MCAI_TEL_PIN_DIR " (they stay attached after mcaictl exits);\n"
	"        the power model is FILE, a built-in table (x86-gateway,\n"
	"        cortex-a53), else the kernel Energy Model, else the built-in\n"
	"        table of this architecture\n"
	"  disable [--purge]   detach; --purge also removes the maps\n"
	"  status              programs, run counts, power in use\n"
	"  show (default)      per model version: count, latency mean/p50/p99/\n"
	"                      max, CPU time, uJ per inference, energy source\n"
	"  hist NAME [--version V]   log2 latency histogram of one model\n"
	"  calibrate [--seconds S] [--idle-mw W] [--powercap DIR]\n"
	"            [--samples FILE] [--dry-run]\n"
	"        measure package energy (RAPL, powercap) against busy CPU\n"
	"        time and switch the energy source to rapl-calibrated;\n"
	"        --samples replays recorded readings (lines of\n"
	"        \"t_ns busy_ns energy_uj:range_uj ...\")\n"
	"  feed [--dry-run] [--export FILE]\n"
	"        measured energy per MAC of each running model into its\n"
	"        module energy budget; --export also writes the figures as\n"
	"        JSON to FILE (atomically, mode 0644) for unprivileged readers\n"
	"        such as mcaid (runtime/dist/mcai-telemetry.timer runs this)\n"
	"Needs root (BPF) for everything but reading pinned maps that the\n"
	"administrator made readable.  rmmod mcai needs `disable` first.\n";

int telemetry_main(int argc, char **argv)
{
	enum { OPT_POWER = 0x300, OPT_PURGE, OPT_VERSION, OPT_SECONDS,
	       OPT_IDLE, OPT_POWERCAP, OPT_SAMPLES, OPT_DRY, OPT_EXPORT };
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "power-table", required_argument, NULL, OPT_POWER },
		{ "purge", no_argument, NULL, OPT_PURGE },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "idle-mw", required_argument, NULL, OPT_IDLE },
		{ "powercap", required_argument, NULL, OPT_POWERCAP },
		{ "samples", required_argument, NULL, OPT_SAMPLES },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "export", required_argument, NULL, OPT_EXPORT },
		{ 0 }
	};
	const struct command *c = find_command("telemetry");
	const char *power = NULL, *samples = NULL, *powercap = POWERCAP_ROOT;
	const char *export = NULL;
	const char *sub = "show";
	bool purge = false, dry = false, version_set = false;
	uint32_t version = 0, idle = 0;
	double seconds = 5;
	char *end;
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		switch (ch) {
		case OPT_POWER:
			power = optarg;
			break;
		case OPT_PURGE:
			purge = true;
			break;
		case OPT_VERSION:
			if (parse_u32(optarg, &version))
				return usage_error(c, "bad --version %s",
						   optarg);
			version_set = true;
			break;
		case OPT_SECONDS:
			seconds = strtod(optarg, &end);
			if (*end || !(seconds >= 0.1 && seconds <= 3600))
				return usage_error(c, "--seconds: 0.1 to 3600");
			break;
		case OPT_IDLE:
			if (parse_u32(optarg, &idle))
				return usage_error(c, "bad --idle-mw %s",
						   optarg);
			break;
		case OPT_POWERCAP:
			powercap = optarg;
			break;
		case OPT_SAMPLES:
			samples = optarg;
			break;
		case OPT_DRY:
			dry = true;
			break;
		case OPT_EXPORT:
			export = optarg;
			break;
		}
	}
	if (optind < argc)
		sub = argv[optind++];
	if (!strcmp(sub, "hist")) {
		if (argc - optind != 1)
			return usage_error(c, "hist takes one model name");
		return tel_hist(argv[optind], version_set, version);
	}
	if (optind != argc)
		return usage_error(c, "unexpected \"%s\"", argv[optind]);
	if (!strcmp(sub, "enable"))
		return tel_enable(power);
	if (!strcmp(sub, "disable"))
		return tel_disable(purge);
	if (!strcmp(sub, "status"))
		return tel_status();
	if (!strcmp(sub, "show"))
		return tel_show();
	if (!strcmp(sub, "calibrate"))
		return tel_calibrate(seconds, idle, samples, powercap, dry);
	if (!strcmp(sub, "feed"))
		return tel_feed(dry, export);
	return usage_error(c, "no telemetry command \"%s\"", sub);
}

/* ---------------------------------------------------------------------- */
/* top                                                                    */
/* ---------------------------------------------------------------------- */

const char top_details[] =
	"Every model version the telemetry has seen, refreshed every\n"
	"--interval seconds (default 1): inference rate, and over the last\n"
	"interval (or since the start when it had none) mean/p50/p99/max\n"
	"latency, CPU time and uJ per inference, the energy source, sheds and\n"
	"drops.\n"
	"  -i, --interval S   refresh period, 0.1 to 60 s\n"
	"  -n, --count N      stop after N refreshes (default: until ^C)\n"
	"      --feed         also feed the measured energy to the module's\n"
	"                     budgets at each refresh (telemetry feed)\n";

static volatile sig_atomic_t top_stop;

static void top_sigint(int sig)
{
	(void)sig;
	top_stop = 1;
}

/* @cur minus the record of the same key in @prev (the interval). */
static void top_delta(struct mcai_tel_model *d,
		      const struct mcai_tel_model *cur,
		      const struct mcai_tel_model *prev, size_t np)
{
	size_t i;
	int k;

	*d = *cur;
	for (i = 0; i < np; i++) {
		const struct mcai_tel_model *p = &prev[i];
		unsigned __int128 pj;

		if (p->model_id != cur->model_id || p->version != cur->version)
			continue;
		if (p->count > cur->count)
			return;		/* reset meanwhile */
		d->count -= p->count;
		d->latency_total_ns -= p->latency_total_ns;
		d->cpu_ns -= p->cpu_ns;
		d->macs -= p->macs;
		pj = tel_pj(cur) - tel_pj(p);
		d->energy_uj = (uint64_t)(pj / 1000000);
		d->energy_pj_rem = (uint64_t)(pj % 1000000);
		for (k = 0; k < MCAI_TEL_HIST_SLOTS; k++)
			d->hist[k] -= p->hist[k];
		return;
	}
}

int top_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "feed", no_argument, NULL, 'f' },
		{ 0 }
	};
	const struct command *c = find_command("top");
	struct mcai_tel_model *prev = NULL, *cur = NULL;
	bool tty = isatty(STDOUT_FILENO), do_feed = false;
	size_t np = 0, nc, i;
	double interval = 1;
	uint32_t count = 0, done = 0;
	char err[512], *end;
	struct mcai_dev dev;
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hji:n:", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == 'i') {
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.1 && interval <= 60))
				return usage_error(c, "--interval: 0.1 to 60");
		} else if (ch == 'n') {
			if (parse_u32(optarg, &count) || !count)
				return usage_error(c, "bad --count %s", optarg);
		} else if (ch == 'f') {
			do_feed = true;
		}
	}
	if (optind != argc)
		return usage_error(c, "top takes no operands");
	if (opt_json)
		return usage_error(c, "top is for a terminal; use "
				   "`mcaictl --json telemetry`");
	if (mcai_tel_read(&prev, &np, err, sizeof(err)))
		return fail("top: %s", err);
	if (do_feed && open_device(&dev)) {
		free(prev);
		return EXIT_FAILURE;
	}
	signal(SIGINT, top_sigint);
	signal(SIGTERM, top_sigint);
	while (!top_stop && (!count || done < count)) {
		usleep((useconds_t)(interval * 1e6));
		if (mcai_tel_read(&cur, &nc, err, sizeof(err))) {
			free(prev);
			if (do_feed)
				mcai_dev_close(&dev);
			return fail("top: %s", err);
		}
		if (tty)
			printf("\033[H\033[2J");
		printf("mcai top: %zu model versions, every %.1f s "
		       "(figures over the last interval)\n", nc, interval);
		print_header(true);
		for (i = 0; i < nc; i++) {
			struct mcai_tel_model d;

			double rate;

			top_delta(&d, &cur[i], prev, np);
			rate = (double)d.count / interval;
			if (!d.count)
				d = cur[i];	/* idle: totals since start */
			print_row(&d, rate, true);
		}
		if (do_feed && feed(&dev, cur, nc, false, true) < 0)
			warn("top: feeding the budgets failed");
		fflush(stdout);
		free(prev);
		prev = cur;
		np = nc;
		cur = NULL;
		done++;
	}
	free(prev);
	if (do_feed)
		mcai_dev_close(&dev);
	return 0;
}
