// SPDX-License-Identifier: GPL-2.0
/*
 * mcai-mqtt-drive: mcaid's MQTT publisher (runtime/daemon/mqtt.c) in
 * mcaid's own io_uring loop (runtime/fed/net.c, restricted as in mcaid),
 * driven by commands on stdin, so the tests in tests/ops/ can make alerts
 * happen when they choose.  stdin is watched by the same loop
 * (mcai_net_watch_arm), as the broker's socket is.
 *
 *   alert MODEL KIND        one alert
 *   burst N MODEL KIND      N alerts
 *   stats                   "stats queued=Q acked=A dropped=D pending=P
 *                           connected=0|1 connects=C" on stdout
 *   connect                 the first connection attempt (with
 *                           --no-connect: alerts queue until then, as
 *                           while the broker is down)
 *   quit                    (or end of input) disconnect and exit
 *
 * Options: --host H --port P --node N [--ca F [--cert F --key F]]
 *          [--queue N] [--policy drop-oldest|drop-newest] [--keepalive S]
 *          [--no-connect]
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/daemon/mqtt.h"
#include "runtime/fed/net.h"
#include "runtime/lib/log.h"

struct drive {
	struct mcai_net_watch in;	/* first, aligned */
	struct mcai_net *net;
	struct mcai_mqtt *mqtt;
	char buf[4096];
	size_t len;
	int rc;
	bool started;
};

static void print_stats(struct drive *d)
{
	struct mcai_mqtt_stats st;

	mcai_mqtt_get_stats(d->mqtt, &st);
	printf("stats queued=%llu acked=%llu dropped=%llu pending=%u "
	       "connected=%d connects=%llu\n",
	       (unsigned long long)st.queued, (unsigned long long)st.acked,
	       (unsigned long long)st.dropped, st.pending, st.connected,
	       (unsigned long long)st.connects);
	fflush(stdout);
}

static void command(struct drive *d, char *line)
{
	char model[128], kind[64];
	unsigned int n, i;

	if (sscanf(line, "alert %127s %63s", model, kind) == 2) {
		if (mcai_mqtt_alert(d->mqtt, model, kind, "\"score\":1") == -EINVAL)
			fprintf(stderr, "mqtt-drive: bad alert: %s\n", line);
	} else if (sscanf(line, "burst %u %127s %63s", &n, model, kind) == 3) {
		for (i = 0; i < n; i++)
			if (mcai_mqtt_alert(d->mqtt, model, kind, NULL) == -EINVAL)
				break;
	} else if (!strcmp(line, "stats")) {
		print_stats(d);
	} else if (!strcmp(line, "connect")) {
		mcai_mqtt_start(d->mqtt);
		d->started = true;
	} else if (!strcmp(line, "quit")) {
		mcai_net_stop(d->net);
	} else if (*line) {
		fprintf(stderr, "mqtt-drive: unknown command: %s\n", line);
		d->rc = 2;
	}
}

static void on_stdin(struct mcai_net_watch *w, int res)
{
	struct drive *d = (struct drive *)w;
	ssize_t r;
	char *nl;

	if (res == -ECANCELED)
		return;
	r = read(0, d->buf + d->len, sizeof(d->buf) - 1 - d->len);
	if (r <= 0) {
		mcai_net_stop(d->net);
		return;
	}
	d->len += (size_t)r;
	d->buf[d->len] = 0;
	while ((nl = strchr(d->buf, '\n'))) {
		*nl = 0;
		command(d, d->buf);
		memmove(d->buf, nl + 1, d->len - (size_t)(nl + 1 - d->buf) + 1);
		d->len -= (size_t)(nl + 1 - d->buf);
	}
	if (d->len == sizeof(d->buf) - 1)
		d->len = 0;	/* an overlong line: forget it */
	mcai_net_watch_arm(d->net, &d->in, 0, POLLIN);
}

static void on_tick(struct mcai_net *net, void *arg)
{
	struct drive *d = arg;

	(void)net;
	if (d->started)
		mcai_mqtt_tick(d->mqtt);
}

static const struct mcai_net_ops ops = { .tick = on_tick };

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "node", required_argument, NULL, 'n' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "queue", required_argument, NULL, 'q' },
		{ "policy", required_argument, NULL, 'P' },
		{ "keepalive", required_argument, NULL, 'K' },
		{ "no-connect", no_argument, NULL, 'N' },
		{ 0 }
	};
	struct mcai_mqtt_opts o = { .node = "node1" };
	struct mcai_net_opts no = { .tick_ms = 100 };
	static struct drive d;
	char err[256];
	bool connect = true;
	int ch, pol;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = (unsigned int)atoi(optarg); break;
		case 'n': o.node = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'q': o.queue_max = (unsigned int)atoi(optarg); break;
		case 'K': o.keepalive_s = (unsigned int)atoi(optarg); break;
		case 'N': connect = false; break;
		case 'P':
			pol = mcai_mqtt_policy_parse(optarg);
			if (pol < 0) {
				fprintf(stderr, "mqtt-drive: bad --policy\n");
				return 2;
			}
			o.policy = (enum mcai_mqtt_policy)pol;
			break;
		default:
			return 2;
		}
	}
	o.reconnect_s = 1;
	mcai_log_set_level(MCAI_LOG_DEBUG);
	if (mcai_net_new(&d.net, &no, NULL, &ops, &d))
		return 1;
	if (mcai_mqtt_new(&d.mqtt, d.net, &o, err, sizeof(err))) {
		fprintf(stderr, "mqtt-drive: %s\n", err);
		mcai_net_free(d.net);
		return 1;
	}
	if (mcai_net_start(d.net))
		return 1;
	d.in.ready = on_stdin;
	mcai_net_watch_arm(d.net, &d.in, 0, POLLIN);
	if (connect) {
		mcai_mqtt_start(d.mqtt);
		d.started = true;
	}
	mcai_net_run(d.net);
	print_stats(&d);
	mcai_net_watch_forget(d.net, &d.in);
	mcai_mqtt_free(d.mqtt);
	mcai_net_free(d.net);
	return d.rc;
}
