// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus text exposition (version 0.0.4) of what the module and
 * the eBPF telemetry maps know: `mcaictl metrics` prints it (for a
 * node_exporter textfile collector or any scraper that runs a command),
 * mcaid serves it on http://127.0.0.1:PORT/metrics (metrics.listen).
 *
 * Every family is printed whole (HELP, TYPE, then all its samples) because
 * the format requires a family's samples to be contiguous; so the figures
 * are read first and printed family by family.  A source that is not
 * there (module not loaded, telemetry not enabled, no simulated sensor)
 * leaves its families out and says so in mcai_*_up gauges, so a dashboard
 * tells "nothing happened" from "not measured".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/telemetry.h"
#include "runtime/fed/drift.h"
#include "runtime/lib/device.h"
#include "runtime/daemon/metrics.h"

#define SIMSENSOR_PARAMS	"/sys/module/mcai_simsensor/parameters/"

struct met_model {
	struct mcai_model_info mi;
	bool have_stats;
	uint64_t drift_samples;
	double drift_score;		/* < 0: no baseline to compare with */
};

struct met {
	bool dev_up;
	struct mcai_info info;
	struct met_model *models;
	u32 n_models;
	bool tel_up;
	struct mcai_tel_model *tel;
	size_t n_tel;
	struct mcai_tel_status tst;
	bool sim_up;
	char sim_model[2][MCAI_NAME_LEN + 1];	/* det, cls target names */
	uint64_t sim_escalated[2];
	uint64_t sim_results[2];
	unsigned int sim_targets;
};

/* A label value: backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{model="..",version="N"} — the labels every per-version figure has. */
static void mv_labels(FILE *f, const char *metric, const char *model,
		      uint32_t version)
{
	fprintf(f, "%s{model=\"", metric);
	label_value(f, model);
	fprintf(f, "\",version=\"%" PRIu32 "\"", version);
}

static const char *energy_label(enum mcai_energy_source s)
{
	switch (s) {
	case MCAI_ENERGY_SOURCE_MODEL:
		return "modelled";
	case MCAI_ENERGY_SOURCE_RAPL_CALIBRATED:
		return "rapl";
	default:
		return "none";
	}
}

/* One line of a sysfs file into @buf (newline removed); 0 or -1. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	char *nl;

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	return 0;
}

/*
 * The simulated sensor's counters (its "stats" parameter, "key value"
 * lines): the only place the kernel keeps a session's escalations.
 */
static void read_simsensor(struct met *m)
{
	char line[256], key[128];
	unsigned long long v;
	FILE *f;

	f = fopen(SIMSENSOR_PARAMS "stats", "r");
	if (!f)
		return;
	m->sim_up = true;
	while (fgets(line, sizeof(line), f)) {
		int t;

		if (sscanf(line, "%127s %llu", key, &v) != 2)
			continue;
		if (!strncmp(key, "det_", 4))
			t = 0;
		else if (!strncmp(key, "cls_", 4))
			t = 1;
		else
			continue;
		if (m->sim_targets < (unsigned int)t + 1)
			m->sim_targets = t + 1;
		if (!strcmp(key + 4, "mcai_escalated"))
			m->sim_escalated[t] = v;
		else if (!strcmp(key + 4, "mcai_completed"))
			m->sim_results[t] = v;
	}
	fclose(f);
	if (read_line(SIMSENSOR_PARAMS "model", m->sim_model[0],
		      sizeof(m->sim_model[0])))
		m->sim_model[0][0] = 0;
	if (read_line(SIMSENSOR_PARAMS "classifier", m->sim_model[1],
		      sizeof(m->sim_model[1])))
		m->sim_model[1][0] = 0;
}

/*
 * DIR/<name>.baseline (mcaictl stats --baseline-out) against the live
 * means; -1 when there is none or it does not fit.
 */
static double drift_score(const char *dir, const char *name,
			  const struct mcai_stats_reply *r)
{
	struct mcai_drift_base b;
	char path[4096], err[256], *text = NULL;
	size_t len = 0;
	double score;
	FILE *f, *mem;
	int c;

	if (!dir || !r->samples)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.baseline", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	mem = open_memstream(&text, &len);
	if (!mem) {
		fclose(f);
		return -1;
	}
	while ((c = getc(f)) != EOF && len < (64U << 20))
		putc(c, mem);
	fclose(f);
	fclose(mem);
	if (mcai_drift_base_parse(text, len, &b, err, sizeof(err))) {
		fprintf(stderr, "metrics: %s: %s\n", path, err);
		free(text);
		return -1;
	}
	free(text);
	score = mcai_drift_score_q16(&b, r->mean, r->n_features);
	mcai_drift_base_free(&b);
	return score;
}

static const char *opt_baseline;
static const char *opt_device;

static void read_device(struct met *m)
{
	struct mcai_dev dev;
	u32 *ids = NULL, count = 0, i;

	if (mcai_dev_open(&dev, opt_device))
		return;
	if (mcai_dev_get_info(&dev, &m->info) ||
	    mcai_dev_list(&dev, &ids, &count))
		goto out;
	m->dev_up = true;
	m->models = calloc(count ? count : 1, sizeof(*m->models));
	if (!m->models)
		goto out;
	for (i = 0; i < count; i++) {
		struct met_model *mm = &m->models[m->n_models];
		struct mcai_sel sel = { .id = ids[i] };
		struct mcai_stats_reply r;

		/* unloaded since the list was taken: not an error */
		if (mcai_dev_model_info(&dev, sel, &mm->mi))
			continue;
		if (!mcai_dev_model_stats(&dev, sel, false, &r)) {
			mm->have_stats = true;
			mm->drift_samples = r.samples;
			mm->drift_score = drift_score(opt_baseline,
						      mm->mi.ref.name, &r);
			mcai_stats_reply_free(&r);
		}
		m->n_models++;
	}
out:
	free(ids);
	mcai_dev_close(&dev);
}

static void read_telemetry(struct met *m)
{
	char err[256];

	if (mcai_tel_status(&m->tst, err, sizeof(err)) ||
	    !m->tst.maps_pinned)
		return;
	if (mcai_tel_read(&m->tel, &m->n_tel, err, sizeof(err)))
		return;
	m->tel_up = true;
}

static void print_module(FILE *f, const struct met *m)
{
	u32 i;

	family(f, "mcai_module_up", "gauge",
	       "1 when /dev/mcai answered, 0 when it did not");
	fprintf(f, "mcai_module_up %d\n", m->dev_up);
	if (!m->dev_up)
		return;
	family(f, "mcai_simd_path_info", "gauge",
	       "The int8 engine's SIMD path chosen at module load (label path)");
	fprintf(f, "mcai_simd_path_info{path=\"");
	label_value(f, m->info.simd[0] ? m->info.simd : "unknown");
	fprintf(f, "\"} 1\n");
	family(f, "mcai_models_loaded", "gauge", "Models loaded now");
	fprintf(f, "mcai_models_loaded %" PRIu32 "\n", m->info.nr_models);
	family(f, "mcai_session_memory_bytes", "gauge",
	       "Memory charged now to sessions and pipelines, all users");
	fprintf(f, "mcai_session_memory_bytes %" PRIu64 "\n",
		(uint64_t)m->info.mem_used);
	family(f, "mcai_session_memory_limit_bytes", "gauge",
	       "The module's bound on session and pipeline memory");
	fprintf(f, "mcai_session_memory_limit_bytes %" PRIu64 "\n",
		(uint64_t)m->info.mem_limit);
	family(f, "mcai_pipelines", "gauge", "Pipelines now, all users");
	fprintf(f, "mcai_pipelines %" PRIu32 "\n", m->info.nr_pipelines);

	family(f, "mcai_model_info", "gauge",
	       "One per loaded model: its running version and id");
	for (i = 0; i < m->n_models; i++) {
		mv_labels(f, "mcai_model_info", m->models[i].mi.ref.name,
			  m->models[i].mi.version);
		fprintf(f, ",id=\"%" PRIu32 "\"} 1\n",
			m->models[i].mi.ref.model_id);
	}
	family(f, "mcai_model_inferences_total", "counter",
	       "Inferences completed on a model name, all its versions "
	       "(the module's count, with or without telemetry)");
	for (i = 0; i < m->n_models; i++) {
		fprintf(f, "mcai_model_inferences_total{model=\"");
		label_value(f, m->models[i].mi.ref.name);
		fprintf(f, "\"} %" PRIu64 "\n",
			(uint64_t)m->models[i].mi.inferences);
	}
	family(f, "mcai_drift_samples", "gauge",
	       "Samples in the module's running drift statistics of the "
	       "running version (reset by mcaictl stats --reset)");
	for (i = 0; i < m->n_models; i++) {
		if (!m->models[i].have_stats)
			continue;
		mv_labels(f, "mcai_drift_samples", m->models[i].mi.ref.name,
			  m->models[i].mi.version);
		fprintf(f, "} %" PRIu64 "\n", m->models[i].drift_samples);
	}
	family(f, "mcai_drift_score", "gauge",
	       "Standardised mean shift of the live inputs from the training "
	       "baseline (--baseline DIR): in training standard deviations");
	for (i = 0; i < m->n_models; i++) {
		if (!m->models[i].have_stats || m->models[i].drift_score < 0)
			continue;
		mv_labels(f, "mcai_drift_score", m->models[i].mi.ref.name,
			  m->models[i].mi.version);
		fprintf(f, "} %.6f\n", m->models[i].drift_score);
	}
}

static void print_histogram(FILE *f, const struct mcai_tel_model *t)
{
	uint64_t cum = 0;
	int b;

	/*
	 * Slot b holds 2^b <= ns < 2^(b+1): its upper bound is the bucket's
	 * le (an inference of exactly 2^(b+1) ns lands one bucket higher).
	 */
	for (b = 0; b < MCAI_TEL_HIST_SLOTS; b++) {
		cum += t->hist[b];
		mv_labels(f, "mcai_inference_latency_seconds_bucket", t->name,
			  t->version);
		fprintf(f, ",le=\"%.10g\"} %" PRIu64 "\n",
			(double)(1ULL << (b + 1)) / 1e9, cum);
	}
	/* +Inf is the count: inferences beyond the last slot are in it */
	mv_labels(f, "mcai_inference_latency_seconds_bucket", t->name,
		  t->version);
	fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", t->count);
	mv_labels(f, "mcai_inference_latency_seconds_sum", t->name, t->version);
	fprintf(f, "} %.9f\n", (double)t->latency_total_ns / 1e9);
	mv_labels(f, "mcai_inference_latency_seconds_count", t->name,
		  t->version);
	fprintf(f, "} %" PRIu64 "\n", t->count);
}

static void print_telemetry(FILE *f, const struct met *m)
{
	size_t i;

	family(f, "mcai_telemetry_up", "gauge",
	       "1 when the eBPF telemetry maps are pinned and readable");
	fprintf(f, "mcai_telemetry_up %d\n", m->tel_up);
	if (!m->tel_up)
		return;
	family(f, "mcai_inferences_total", "counter",
	       "Inferences completed, per model version (eBPF telemetry)");
	for (i = 0; i < m->n_tel; i++) {
		mv_labels(f, "mcai_inferences_total", m->tel[i].name,
			  m->tel[i].version);
		fprintf(f, "} %" PRIu64 "\n", m->tel[i].count);
	}
	family(f, "mcai_drops_total", "counter",
	       "Samples lost before they reached the model (ring full, model "
	       "gone, hard IRQ), per model version");
	for (i = 0; i < m->n_tel; i++) {
		mv_labels(f, "mcai_drops_total", m->tel[i].name,
			  m->tel[i].version);
		fprintf(f, "} %" PRIu64 "\n", m->tel[i].drops);
	}
	family(f, "mcai_shed_total", "counter",
	       "Inferences refused by the energy budget, per model version");
	for (i = 0; i < m->n_tel; i++) {
		mv_labels(f, "mcai_shed_total", m->tel[i].name,
			  m->tel[i].version);
		fprintf(f, "} %" PRIu64 "\n", m->tel[i].shed);
	}
	family(f, "mcai_inference_latency_seconds", "histogram",
	       "Inference latency, start to end (wall), per model version");
	for (i = 0; i < m->n_tel; i++)
		print_histogram(f, &m->tel[i]);
	family(f, "mcai_inference_cpu_seconds_total", "counter",
	       "CPU time of inferences (wall minus time switched out)");
	for (i = 0; i < m->n_tel; i++) {
		mv_labels(f, "mcai_inference_cpu_seconds_total", m->tel[i].name,
			  m->tel[i].version);
		fprintf(f, "} %.9f\n", (double)m->tel[i].cpu_ns / 1e9);
	}
	family(f, "mcai_energy_joules_total", "counter",
	       "Energy of inferences, CPU time x power; source: modelled "
	       "(power model) or rapl (RAPL-calibrated) of the latest inference");
	for (i = 0; i < m->n_tel; i++) {
		const struct mcai_tel_model *t = &m->tel[i];

		mv_labels(f, "mcai_energy_joules_total", t->name, t->version);
		fprintf(f, ",source=\"%s\"} %.12f\n",
			energy_label(t->energy_source),
			(double)t->energy_uj / 1e6 +
			(double)t->energy_pj_rem / 1e12);
	}
	family(f, "mcai_pipeline_session_drops_total", "counter",
	       "Samples lost by pipeline sessions (no single model)");
	fprintf(f, "mcai_pipeline_session_drops_total %" PRIu64 "\n",
		m->tst.pipeline_drops);
}

static void print_simsensor(FILE *f, const struct met *m)
{
	static const char *const stage[2] = { "det", "cls" };
	unsigned int t;

	family(f, "mcai_simsensor_up", "gauge",
	       "1 when the simulated sensor (mcai_simsensor) is loaded");
	fprintf(f, "mcai_simsensor_up %d\n", m->sim_up);
	if (!m->sim_up)
		return;
	family(f, "mcai_escalations_total", "counter",
	       "Results flagged for escalation (the collective is unsure), "
	       "per model a kernel session serves");
	for (t = 0; t < m->sim_targets; t++) {
		fprintf(f, "mcai_escalations_total{model=\"");
		label_value(f, m->sim_model[t]);
		fprintf(f, "\",session=\"simsensor-%s\"} %" PRIu64 "\n",
			stage[t], m->sim_escalated[t]);
	}
	family(f, "mcai_session_results_total", "counter",
	       "Results a kernel session completed, per model it serves");
	for (t = 0; t < m->sim_targets; t++) {
		fprintf(f, "mcai_session_results_total{model=\"");
		label_value(f, m->sim_model[t]);
		fprintf(f, "\",session=\"simsensor-%s\"} %" PRIu64 "\n",
			stage[t], m->sim_results[t]);
	}
}

int mcai_metrics_text(const char *device, const char *baseline_dir,
		      char **buf, size_t *len)
{
	struct met m;
	FILE *f;
	int ret = 0;

	/* one renderer at a time per process: mcaictl once, mcaid's loop */
	opt_device = device;
	opt_baseline = baseline_dir;
	*buf = NULL;
	*len = 0;
	memset(&m, 0, sizeof(m));
	read_device(&m);
	read_telemetry(&m);
	read_simsensor(&m);
	f = open_memstream(buf, len);
	if (!f) {
		ret = -errno;
		goto out;
	}
	print_module(f, &m);
	print_telemetry(f, &m);
	print_simsensor(f, &m);
	if (fclose(f)) {
		ret = -errno;
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
out:
	free(m.models);
	free(m.tel);
	return ret;
}
