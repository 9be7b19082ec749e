// SPDX-License-Identifier: GPL-2.0
/*
 * mcaictl fleet / rounds: the aggregator's view of its federation, read
 * from the status.json that mcaid (role aggregator) rewrites in its
 * registry directory after every round (runtime/daemon/aggregator.h).  The file
 * is read, never the registry itself: the running aggregator holds that
 * locked.
 *
 * The reader knows the writer's layout (one node or one round per line,
 * flat "key":value pairs, nested only for "telemetry") and nothing more:
 * it is a status file of this project, not general JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/ctl/mcaictl.h"

#define FLEET_DEFAULT_DIR	"/var/lib/mcaid/registry"

const char fleet_details[] =
	"Reads DIR/status.json (default " FLEET_DEFAULT_DIR "), written by the\n"
	"aggregator after each round and when nodes come and go.  Per node:\n"
	"connected, seconds since last seen, model version, rounds taken part in,\n"
	"local samples, last training loss, and the last telemetry summary it\n"
	"sent (inferences, energy per inference, p50/p99 latency).\n"
	"\n"
	"  -s, --state DIR   the aggregator's registry directory\n";

const char rounds_details[] =
	"Reads DIR/status.json (default " FLEET_DEFAULT_DIR ").  Per round of\n"
	"this aggregator run (the last 64): version published (\"-\" when the\n"
	"round failed), nodes sampled and answering, int8 and float accuracy on\n"
	"the evaluation set when one is configured, mean training loss and the\n"
	"round's wall time.\n"
	"\n"
	"  -s, --state DIR   the aggregator's registry directory\n";

/* The text after "key": on @line, or NULL. */
static const char *field(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? p + strlen(pat) : NULL;
}

static double num(const char *line, const char *key, double dflt)
{
	const char *p = field(line, key);
	char *end;
	double v;

	if (!p || !strncmp(p, "null", 4))
		return dflt;
	v = strtod(p, &end);
	return end == p ? dflt : v;
}

static bool flag(const char *line, const char *key)
{
	const char *p = field(line, key);

	return p && !strncmp(p, "true", 4);
}

static void str(const char *line, const char *key, char *out, size_t len)
{
	const char *p = field(line, key);
	size_t n = 0;

	if (p && *p == '"') {
		for (p++; *p && *p != '"' && n + 1 < len; p++) {
			if (*p == '\\' && p[1])
				p++;
			out[n++] = *p;
		}
	}
	out[n] = 0;
}

static int parse_state(const struct command *c, int argc, char **argv,
		       const char **dir)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "state", required_argument, NULL, 's' },
		{ 0 }
	};
	int ch;

	*dir = FLEET_DEFAULT_DIR;
	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjs:", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == 's')
			*dir = optarg;
	}
	if (optind < argc)
		return usage_error(c, "unexpected argument \"%s\"", argv[optind]);
	return -1;
}

static FILE *open_status(const char *dir, char *head, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/status.json", dir);
	f = fopen(path, "r");
	if (!f) {
		fail("%s: %s (is an aggregator running with --registry %s?)",
		     path, strerror(errno), dir);
		return NULL;
	}
	if (!fgets(head, (int)len, f) || !field(head, "fleet")) {
		fail("%s: not an mcaid status file", path);
		fclose(f);
		return NULL;
	}
	return f;
}

/*
 * What fleet and rounds start with: their options, then the status file
 * with its first line in @head.  -1 with *f open to go on, or the exit
 * status.
 */
static int open_state(const char *cmd, int argc, char **argv, char *head,
		      size_t len, FILE **f)
{
	const char *dir;
	int r = parse_state(find_command(cmd), argc, argv, &dir);

	if (r >= 0)
		return r;
	*f = open_status(dir, head, len);
	return *f ? -1 : EXIT_FAILURE;
}

static void print_ratio(double v)
{
	if (v < 0)
		printf("  %8s", "-");
	else
		printf("  %8.4f", v);
}

int fleet_main(int argc, char **argv)
{
	char head[4096], line[4096], id[80], model[40], tmodel[40];
	unsigned int n = 0, up = 0;
	time_t now = time(NULL);
	FILE *f;
	int r = open_state("fleet", argc, argv, head, sizeof(head), &f);

	if (r >= 0)
		return r;
	str(head, "model", model, sizeof(model));
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "model", model);
		mcai_json_kv_uint(&json, "version", (unsigned long long)num(head, "version", 0));
		mcai_json_kv_uint(&json, "last_round", (unsigned long long)num(head, "last_round", 0));
		mcai_json_key(&json, "nodes");
		mcai_json_array_begin(&json);
	} else {
		printf("model %s, version %.0f, last completed round %.0f%s\n\n",
		       model, num(head, "version", 0),
		       num(head, "last_round", 0),
		       flag(head, "running") ? " (a round is running)" : "");
		printf("%-20s %-4s %8s %7s %6s %8s %8s %12s %9s %10s %10s\n",
		       "NODE", "UP", "SEEN", "VERSION", "ROUNDS", "SAMPLES",
		       "LOSS", "INFERENCES", "uJ/INF", "P50", "P99");
	}
	while (fgets(line, sizeof(line), f)) {
		double inf, uj;

		if (!field(line, "id") || !field(line, "connected"))
			continue;
		str(line, "id", id, sizeof(id));
		inf = num(line, "inferences", -1);
		uj = num(line, "energy_uj", -1);
		/* The node line's only "model" is its telemetry's. */
		str(line, "model", tmodel, sizeof(tmodel));
		n++;
		up += flag(line, "connected");
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "id", id);
			mcai_json_kv_bool(&json, "connected", flag(line, "connected"));
			mcai_json_kv_int(&json, "last_seen", (long long)num(line, "last_seen", 0));
			mcai_json_kv_uint(&json, "version", (unsigned long long)num(line, "version", 0));
			mcai_json_kv_uint(&json, "rounds", (unsigned long long)num(line, "rounds", 0));
			mcai_json_kv_uint(&json, "samples", (unsigned long long)num(line, "samples", 0));
			mcai_json_kv_double(&json, "loss", num(line, "loss", NAN));
			if (inf >= 0) {
				mcai_json_kv_string(&json, "telemetry_model", tmodel);
				mcai_json_kv_uint(&json, "inferences", (unsigned long long)inf);
				mcai_json_kv_uint(&json, "energy_uj", (unsigned long long)uj);
				mcai_json_kv_uint(&json, "p50_ns", (unsigned long long)num(line, "p50_ns", 0));
				mcai_json_kv_uint(&json, "p99_ns", (unsigned long long)num(line, "p99_ns", 0));
			}
			mcai_json_object_end(&json);
			continue;
		}
		printf("%-20s %-4s %7.0fs %7.0f %6.0f %8.0f", id,
		       flag(line, "connected") ? "yes" : "no",
		       difftime(now, (time_t)num(line, "last_seen", 0)),
		       num(line, "version", 0), num(line, "rounds", 0),
		       num(line, "samples", 0));
		if (num(line, "loss", -1) < 0)
			printf(" %8s", "-");
		else
			printf(" %8.4f", num(line, "loss", 0));
		if (inf >= 0)
			printf(" %12.0f %9.1f %8.1fus %8.1fus%s%s%s\n", inf,
			       inf > 0 ? uj / inf : 0.0,
			       num(line, "p50_ns", 0) / 1000.0,
			       num(line, "p99_ns", 0) / 1000.0,
			       strcmp(tmodel, model) ? "  (of " : "",
			       strcmp(tmodel, model) ? tmodel : "",
			       strcmp(tmodel, model) ? ")" : "");
		else
			printf(" %12s %9s %10s %10s\n", "-", "-", "-", "-");
	}
	fclose(f);
	if (opt_json) {
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
	} else {
		printf("\n%u nodes known, %u connected\n", n, up);
	}
	return EXIT_SUCCESS;
}

int rounds_main(int argc, char **argv)
{
	char head[4096], line[4096];
	FILE *f;
	int r = open_state("rounds", argc, argv, head, sizeof(head), &f);

	if (r >= 0)
		return r;
	if (opt_json) {
		mcai_json_array_begin(&json);
	} else {
		printf("%6s %8s %8s %9s %10s %10s %8s %8s\n", "ROUND", "VERSION",
		       "SAMPLED", "ANSWERED", "INT8-ACC", "FLOAT-ACC", "LOSS",
		       "SECONDS");
	}
	while (fgets(line, sizeof(line), f)) {
		if (!field(line, "round") || !field(line, "answered"))
			continue;
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "round", (unsigned long long)num(line, "round", 0));
			mcai_json_kv_uint(&json, "version", (unsigned long long)num(line, "version", 0));
			mcai_json_kv_uint(&json, "sampled", (unsigned long long)num(line, "sampled", 0));
			mcai_json_kv_uint(&json, "answered", (unsigned long long)num(line, "answered", 0));
			mcai_json_kv_double(&json, "accuracy", num(line, "accuracy", NAN));
			mcai_json_kv_double(&json, "float_accuracy", num(line, "float_accuracy", NAN));
			mcai_json_kv_double(&json, "loss", num(line, "loss", NAN));
			mcai_json_kv_double(&json, "seconds", num(line, "seconds", 0));
			mcai_json_object_end(&json);
			continue;
		}
		printf("%6.0f ", num(line, "round", 0));
		if (num(line, "version", 0) > 0)
			printf("%8.0f", num(line, "version", 0));
		else
			printf("%8s", "failed");
		printf(" %8.0f %9.0f ", num(line, "sampled", 0),
		       num(line, "answered", 0));
		print_ratio(num(line, "accuracy", -1));
		print_ratio(num(line, "float_accuracy", -1));
		print_ratio(num(line, "loss", -1));
		printf(" %8.1f\n", num(line, "seconds", 0));
	}
	fclose(f);
	if (opt_json)
		mcai_json_array_end(&json);
	return EXIT_SUCCESS;
}
