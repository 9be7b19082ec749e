// SPDX-License-Identifier: GPL-2.0
/*
 * mcaictl mirror / label / samples: the labelled sample store of
 * runtime/fed/samples.h, fed from the module's sample mirror, without mcaid.
 * The store is locked while a command runs: with a node daemon using the
 * same directory, a command can find it busy and says so.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/ctl/mcaictl.h"
#include "runtime/fed/samples.h"

#define SAMPLES_DEFAULT_DIR	"/var/lib/mcaid/samples"

const char mirror_details[] =
	"Moves every record of the module's sample mirror queue (sessions\n"
	"created with mirror_every, or switched on with MCAI_IOC_SESSION_MIRROR)\n"
	"into the sample store, then syncs it.  Needs CAP_SYS_ADMIN: the\n"
	"queue holds other users' inputs.  Reports the samples added and the\n"
	"module's drop counter (queue full or busy).\n"
	"\n"
	"  -s, --store DIR   the sample store (default " SAMPLES_DEFAULT_DIR ")\n"
	"  -n, --max N       move at most N samples (default: all)\n";

const char label_details[] =
	"Sets the class of sample ID (as listed by `mcaictl samples`); the last\n"
	"label given wins.  With --file, FILE (\"-\" for stdin) has one \"ID CLASS\"\n"
	"per line; blank lines and lines starting with # are skipped.  Every\n"
	"line is checked before any label is written: one bad line changes\n"
	"nothing.  CLASS is 0..255.\n"
	"\n"
	"  -s, --store DIR   the sample store (default " SAMPLES_DEFAULT_DIR ")\n"
	"  -f, --file FILE   labels from FILE\n";

const char samples_details[] =
	"Lists the samples of the store, oldest first: id, time, model id and\n"
	"version, the class and score the model gave, the label (\"-\" until\n"
	"labelled) and the input size; then totals, and what opening the store\n"
	"found (torn tails dropped, corrupt records skipped).\n"
	"\n"
	"  -s, --store DIR   the sample store (default " SAMPLES_DEFAULT_DIR ")\n"
	"  -l, --labelled    only labelled samples\n"
	"  -i, --inputs      with --json: each sample's int8 input too\n"
	"\n"
	"--json also gives each sample's result flags (MCAI_RES_*: 1 escalate,\n"
	"2 gated).\n";

static int store_open(const char *dir, struct mcai_samples **st)
{
	char err[512];
	int r = mcai_samples_open(st, dir, NULL, err, sizeof(err));

	if (r)
		return fail("sample store: %s", err);
	return 0;
}

int mirror_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "store", required_argument, NULL, 's' },
		{ "max", required_argument, NULL, 'n' },
		{ 0 }
	};
	const struct command *c = find_command("mirror");
	const char *dir = SAMPLES_DEFAULT_DIR;
	struct mcai_samples_stats s;
	struct mcai_samples *st;
	struct mcai_dev d;
	uint64_t max = 0;
	u64 added = 0, dropped = 0;
	char err[512];
	int ch, r;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjs:n:", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == 's')
			dir = optarg;
		else if (ch == 'n' && parse_u64(optarg, &max))
			return usage_error(c, "--max wants a number, not \"%s\"",
					   optarg);
	}
	if (optind < argc)
		return usage_error(c, "unexpected argument \"%s\"", argv[optind]);
	if (open_device(&d))
		return EXIT_FAILURE;
	if (store_open(dir, &st)) {
		mcai_dev_close(&d);
		return EXIT_FAILURE;
	}
	r = mcai_samples_drain(st, d.fd, max, &added, &dropped, err,
			       sizeof(err));
	mcai_samples_get_stats(st, &s);
	mcai_samples_close(st);
	mcai_dev_close(&d);
	if (r)
		return fail("%s: %s%s", dir, err, added ?
			    " (the samples before it were stored)" : "");
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "store", dir);
		mcai_json_kv_uint(&json, "added", added);
		mcai_json_kv_uint(&json, "module_dropped", dropped);
		mcai_json_kv_uint(&json, "samples", s.samples);
		mcai_json_kv_uint(&json, "labelled", s.labelled);
		mcai_json_kv_uint(&json, "evicted", s.evicted);
		mcai_json_object_end(&json);
	} else {
		printf("%llu samples added to %s (%llu in the store, %llu labelled",
		       (unsigned long long)added, dir,
		       (unsigned long long)s.samples,
		       (unsigned long long)s.labelled);
		if (s.evicted)
			printf(", %llu oldest evicted", (unsigned long long)s.evicted);
		printf("); the module dropped %llu since it was loaded\n",
		       (unsigned long long)dropped);
	}
	return 0;
}

/* "ID CLASS" with nothing else on the line.  0, or -1. */
static int parse_label_line(char *line, u64 *id, u32 *cls)
{
	uint64_t v;

	char *a = strtok(line, " \t\r\n"), *b = strtok(NULL, " \t\r\n");

	if (!a || !b || strtok(NULL, " \t\r\n"))
		return -1;
	if (parse_u64(a, &v) || parse_u32(b, cls))
		return -1;
	*id = v;
	return 0;
}

struct label_item {
	u64 id;
	u32 cls;
	unsigned int line;
};

static int read_label_file(const char *path, struct label_item **out,
			   size_t *n)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct label_item *v = NULL;
	size_t cap = 0, k = 0;
	unsigned int ln = 0;
	char line[256];
	int r = 0;

	if (!f)
		return fail("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			r = fail("%s:%u: line too long", path, ln);
			break;
		}
		if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
			continue;
		if (k == cap) {
			void *q;

			cap = cap ? cap * 2 : 64;
			q = realloc(v, cap * sizeof(*v));
			if (!q) {
				r = fail("out of memory");
				break;
			}
			v = q;
		}
		if (parse_label_line(p, &v[k].id, &v[k].cls)) {
			r = fail("%s:%u: expected \"ID CLASS\" (two numbers)",
				 path, ln);
			break;
		}
		v[k++].line = ln;
	}
	if (!r && ferror(f))
		r = fail("%s: %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	if (r) {
		free(v);
		return r;
	}
	*out = v;
	*n = k;
	return 0;
}

int label_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "store", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ 0 }
	};
	const struct command *c = find_command("label");
	const char *dir = SAMPLES_DEFAULT_DIR, *file = NULL;
	struct label_item one, *items = &one;
	struct mcai_samples *st;
	u64 *ids = NULL;
	u32 *cls = NULL;
	size_t n = 1, i;
	int ch, r = 0;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjs:f:", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == 's')
			dir = optarg;
		else if (ch == 'f')
			file = optarg;
	}
	if (file) {
		if (optind < argc)
			return usage_error(c, "ID CLASS and --file are exclusive");
		if (read_label_file(file, &items, &n))
			return EXIT_FAILURE;
	} else {
		if (argc - optind != 2)
			return usage_error(c, "expected ID CLASS");
		uint64_t v;

		if (parse_u64(argv[optind], &v))
			return usage_error(c, "ID must be a number, not \"%s\"",
					   argv[optind]);
		one.id = v;
		if (parse_u32(argv[optind + 1], &one.cls))
			return usage_error(c, "CLASS must be a number, not \"%s\"",
					   argv[optind + 1]);
		one.line = 0;
	}
	if (store_open(dir, &st)) {
		r = EXIT_FAILURE;
		goto out;
	}
	ids = malloc(n * sizeof(*ids));
	cls = malloc(n * sizeof(*cls));
	if (!ids || !cls) {
		r = fail("out of memory");
	} else {
		size_t bad = 0;
		int e;

		for (i = 0; i < n; i++) {
			ids[i] = items[i].id;
			cls[i] = items[i].cls;
		}
		/* all or nothing: the store checks every id first */
		e = mcai_samples_label_many(st, ids, cls, n, &bad);
		if (e == -ENOENT)
			r = fail("%s%s%.0u: no sample %llu in %s (evicted, or never mirrored)",
				 file ? file : "label", file ? ":" : "",
				 items[bad].line,
				 (unsigned long long)items[bad].id, dir);
		else if (e == -ERANGE)
			r = fail("%s%s%.0u: class %u is above %u",
				 file ? file : "label", file ? ":" : "",
				 items[bad].line, items[bad].cls,
				 MCAI_SAMPLES_MAX_CLASS);
		else if (e)
			r = fail("%s: labelling: %s", dir, strerror(-e));
	}
	free(ids);
	free(cls);
	mcai_samples_close(st);
	if (!r) {
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "labelled", n);
			mcai_json_object_end(&json);
		} else if (file) {
			printf("%zu labels set in %s\n", n, dir);
		}
	}
out:
	if (items != &one)
		free(items);
	return r ? EXIT_FAILURE : 0;
}

int samples_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "store", required_argument, NULL, 's' },
		{ "labelled", no_argument, NULL, 'l' },
		{ "inputs", no_argument, NULL, 'i' },
		{ 0 }
	};
	const struct command *c = find_command("samples");
	const char *dir = SAMPLES_DEFAULT_DIR;
	struct mcai_samples_stats s;
	struct mcai_samples *st;
	bool only_labelled = false, inputs = false;
	s8 *in = NULL;
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjs:li", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == 's')
			dir = optarg;
		else if (ch == 'l')
			only_labelled = true;
		else if (ch == 'i')
			inputs = true;
	}
	if (inputs && !opt_json)
		return usage_error(c, "--inputs goes with --json");
	if (optind < argc)
		return usage_error(c, "unexpected argument \"%s\"", argv[optind]);
	if (store_open(dir, &st))
		return EXIT_FAILURE;
	mcai_samples_get_stats(st, &s);
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "store", dir);
		mcai_json_kv_uint(&json, "samples", s.samples);
		mcai_json_kv_uint(&json, "labelled", s.labelled);
		mcai_json_kv_uint(&json, "bytes", s.bytes);
		mcai_json_kv_uint(&json, "segments", s.segments);
		mcai_json_kv_uint(&json, "torn", s.torn);
		mcai_json_kv_uint(&json, "corrupt", s.corrupt);
		mcai_json_key(&json, "items");
		mcai_json_array_begin(&json);
	} else {
		printf("%10s %-19s %6s %5s %6s %6s %6s %6s\n", "ID", "TIME",
		       "MODEL", "VER", "CLASS", "SCORE", "LABEL", "INPUTS");
	}
	for (u32 i = 0; i < s.samples; i++) {
		const struct mcai_sample_meta *m = mcai_samples_at(st, i);

		if (only_labelled && m->label < 0)
			continue;
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "id", m->id);
			mcai_json_kv_uint(&json, "timestamp_ns", m->timestamp_ns);
			mcai_json_kv_uint(&json, "model_id", m->model_id);
			mcai_json_kv_uint(&json, "version", m->version);
			mcai_json_kv_uint(&json, "session", m->session_id);
			mcai_json_kv_int(&json, "class", m->class_id);
			mcai_json_kv_int(&json, "score", m->score);
			mcai_json_key(&json, "label");
			if (m->label < 0)
				mcai_json_null(&json);
			else
				mcai_json_int(&json, m->label);
			mcai_json_kv_uint(&json, "flags", m->flags);
			mcai_json_kv_uint(&json, "input_len", m->input_len);
			/* the raw sample: for the store's owner, on this gateway */
			if (inputs) {
				if (!in)
					in = malloc(MCAI_SAMPLES_MAX_INPUT);
				mcai_json_key(&json, "input");
				mcai_json_array_begin(&json);
				if (in && !mcai_samples_input(st, i, in,
							      m->input_len))
					for (u32 j = 0; j < m->input_len; j++)
						mcai_json_int(&json, in[j]);
				mcai_json_array_end(&json);
			}
			mcai_json_object_end(&json);
		} else {
			time_t t = (time_t)(m->timestamp_ns / 1000000000ULL);
			char when[32] = "-", lab[16] = "-";
			struct tm tm;

			if (gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
			if (m->label >= 0)
				snprintf(lab, sizeof(lab), "%d", m->label);
			printf("%10llu %-19s %6u %5u %6d %6d %6s %6u\n",
			       (unsigned long long)m->id, when, m->model_id,
			       m->version, m->class_id, m->score, lab,
			       m->input_len);
		}
	}
	if (opt_json) {
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
	} else {
		printf("\n%llu samples, %llu labelled, %llu bytes in %u segments",
		       (unsigned long long)s.samples,
		       (unsigned long long)s.labelled,
		       (unsigned long long)s.bytes, s.segments);
		if (s.torn || s.corrupt)
			printf("; opening dropped %llu torn tails, skipped %llu corrupt records",
			       (unsigned long long)s.torn,
			       (unsigned long long)s.corrupt);
		printf("\n");
	}
	free(in);
	mcai_samples_close(st);
	return 0;
}
