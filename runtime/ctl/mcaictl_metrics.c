// SPDX-License-Identifier: GPL-2.0
/*
 * mcaictl metrics: the Prometheus text exposition (runtime/daemon/metrics.c)
 * on stdout or, for a node_exporter textfile collector, in a file
 * replaced atomically (-o FILE).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/lib/atomicfile.h"
#include "runtime/daemon/metrics.h"
#include "runtime/ctl/mcaictl.h"

const char metrics_details[] =
	"Prints the Prometheus text exposition (0.0.4) of the module (models,\n"
	"versions, inferences, drift samples, SIMD path, session memory), the\n"
	"eBPF telemetry (per model version: inferences, drops, shed, latency\n"
	"histogram, CPU time, energy in joules with its source) and the\n"
	"simulated sensor's sessions (escalations, results).  A source that is\n"
	"absent is reported by its mcai_*_up gauge as 0.\n"
	"  -o, --output FILE  write FILE atomically (FILE.tmp, then rename), for\n"
	"                     node_exporter's textfile collector\n"
	"  -b, --baseline DIR mcai_drift_score of each model with a baseline\n"
	"                     DIR/<model>.baseline (mcaictl stats --baseline-out)\n"
	"Exit 0 even when a source is absent; 1 when the output cannot be\n"
	"written.\n";

int metrics_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "output", required_argument, NULL, 'o' },
		{ "baseline", required_argument, NULL, 'b' },
		{ 0 }
	};
	const struct command *c = find_command("metrics");
	const char *out = NULL, *baseline = NULL;
	char *buf = NULL;
	size_t len = 0;
	char err[256];
	int ch, ret = 0;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjo:b:", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == 'o')
			out = optarg;
		else if (ch == 'b')
			baseline = optarg;
	}
	if (optind != argc)
		return usage_error(c, "metrics takes no arguments");
	if (opt_json)
		return usage_error(c, "metrics prints Prometheus text, not JSON");

	ch = mcai_metrics_text(opt_device, baseline, &buf, &len);
	if (ch) {
		ret = fail("metrics: %s", strerror(-ch));
		goto out;
	}
	if (out) {
		if (mcai_atomic_write(out, buf, len, 0644, err, sizeof(err)))
			ret = fail("metrics: %s", err);
	} else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout)) {
		ret = fail("metrics: stdout: %s", strerror(errno));
	}
out:
	free(buf);
	return ret;
}
