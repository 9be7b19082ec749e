// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid's MQTT publisher; mqtt.h says what it publishes and how the queue
 * is bounded.
 *
 * How it runs in mcaid's loop: the loop is io_uring (runtime/fed/net.c),
 * restricted to the opcodes it uses; IORING_OP_POLL_ADD was added to that
 * list for this (a readiness poll, nothing more).  libmosquitto's socket
 * is polled with it (mcai_net_watch_arm()); when it is ready, or on the
 * loop's tick, mosquitto_loop() is called with a zero timeout, which
 * serves whatever state libmosquitto is in (TCP connect, TLS handshake,
 * reads, writes, keep-alive) without ever blocking.  No thread: neither
 * mosquitto_loop_start() nor mosquitto_loop_forever().  After the
 * privilege drop libmosquitto needs only socket/connect/read/write/select
 * (the unit's @system-service set) and, with TLS, to read its CA,
 * certificate and key as the mcai user at each connection.
 *
 * One libmosquitto handle per connection: when a connection ends the
 * handle is destroyed, with whatever it had in flight, and the next
 * connection gets a fresh one to which every unacknowledged message of
 * our queue is published again.  So our queue is the only copy of what
 * is owed, its bound the only bound, and a message is never sent twice
 * on one connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/daemon/mqtt.h"
#include "runtime/fed/net.h"
#include "runtime/lib/log.h"

struct mqtt_msg {
	struct mqtt_msg *next;
	char *topic;
	char *payload;
	size_t len;
	int mid;		/* 0: not published on this connection */
};

struct mcai_mqtt {
	struct mcai_net_watch w;	/* first: the loop's watch */
	struct mcai_net *net;
	struct mosquitto *mosq;		/* NULL between connections */
	bool connected, stopping, lib_init;
	uint64_t next_try_ns;
	char *host, *node, *ca, *cert, *key;
	unsigned int port, keepalive, queue_max, reconnect_s;
	enum mcai_mqtt_policy policy;
	char status_topic[256];
	struct mqtt_msg *head, *tail;
	unsigned int pending;
	uint64_t seq, drops_logged;
	struct mcai_mqtt_stats st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int mcai_mqtt_policy_parse(const char *s)
{
	if (!strcmp(s, "drop-oldest"))
		return MCAI_MQTT_DROP_OLDEST;
	if (!strcmp(s, "drop-newest"))
		return MCAI_MQTT_DROP_NEWEST;
	return -1;
}

/* A topic level: what mcai_name_valid() allows, never '+', '#' or '/'. */
static bool level_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

static void msg_free(struct mqtt_msg *q)
{
	free(q->topic);
	free(q->payload);
	free(q);
}

static void queue_pop(struct mcai_mqtt *m)
{
	struct mqtt_msg *q = m->head;

	m->head = q->next;
	if (!m->head)
		m->tail = NULL;
	m->pending--;
	msg_free(q);
}

/* ------------------------------------------------------------------ */
/* the loop's side                                                      */
/* ------------------------------------------------------------------ */

static void mqtt_rearm(struct mcai_mqtt *m);

static void mqtt_lost(struct mcai_mqtt *m, const char *why)
{
	struct mqtt_msg *q;

	if (!m->mosq)
		return;
	if (m->connected) {
		m->st.disconnects++;
		mcai_warn("mqtt: connection to %s:%u lost: %s; %u alerts wait",
			  m->host, m->port, why, m->pending);
	} else {
		mcai_dbg("mqtt: %s:%u: %s", m->host, m->port, why);
	}
	m->connected = false;
	mcai_net_watch_cancel(m->net, &m->w);
	mosquitto_destroy(m->mosq);
	m->mosq = NULL;
	for (q = m->head; q; q = q->next)
		q->mid = 0;
	m->next_try_ns = now_ns() + (uint64_t)m->reconnect_s * 1000000000ULL;
}

/* Hand every message not yet on this connection to libmosquitto. */
static void mqtt_flush(struct mcai_mqtt *m)
{
	struct mqtt_msg *q;

	if (!m->connected)
		return;
	for (q = m->head; q; q = q->next) {
		int rc;

		if (q->mid)
			continue;
		rc = mosquitto_publish(m->mosq, &q->mid, q->topic, (int)q->len,
				       q->payload, 1, false);
		if (rc != MOSQ_ERR_SUCCESS) {
			q->mid = 0;
			mqtt_lost(m, mosquitto_strerror(rc));
			return;
		}
	}
}

/* Serve libmosquitto without blocking; false when the connection ended. */
static bool mqtt_service(struct mcai_mqtt *m)
{
	int rc;

	if (!m->mosq)
		return false;
	rc = mosquitto_loop(m->mosq, 0, 64);
	if (rc != MOSQ_ERR_SUCCESS) {
		mqtt_lost(m, rc == MOSQ_ERR_ERRNO ? strerror(errno) :
			  mosquitto_strerror(rc));
		return false;
	}
	return m->mosq != NULL;
}

static void mqtt_ready(struct mcai_net_watch *w, int res)
{
	struct mcai_mqtt *m = (struct mcai_mqtt *)w;

	if (res < 0 && res != -ECANCELED)
		mcai_dbg("mqtt: poll: %s", strerror(-res));
	if (m->stopping)
		return;
	if (res >= 0 && !mqtt_service(m))
		return;
	mqtt_rearm(m);
}

/* Poll for input, and for output while libmosquitto has some waiting. */
static void mqtt_rearm(struct mcai_mqtt *m)
{
	unsigned int ev;
	int fd;

	if (!m->mosq || m->stopping)
		return;
	fd = mosquitto_socket(m->mosq);
	if (fd < 0)
		return;
	ev = POLLIN | (mosquitto_want_write(m->mosq) ? POLLOUT : 0);
	if (m->w.armed) {
		/* a poll without POLLOUT would sleep through a write */
		if ((ev & ~m->w.events) && !m->w.cancelling)
			mcai_net_watch_cancel(m->net, &m->w);
		return;
	}
	if (mcai_net_watch_arm(m->net, &m->w, fd, ev))
		mcai_dbg("mqtt: could not arm the poll; the tick serves it");
}

/* ------------------------------------------------------------------ */
/* libmosquitto's callbacks (called from mosquitto_loop, on our thread)  */
/* ------------------------------------------------------------------ */

static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mcai_mqtt *m = arg;
	char status[320];
	int n;

	(void)mosq;
	if (rc) {
		/* refused: the broker closes; mosquitto_loop reports it */
		mcai_warn("mqtt: %s:%u refused the connection: %s", m->host,
			  m->port, mosquitto_connack_string(rc));
		return;
	}
	m->connected = true;
	m->st.connects++;
	mcai_info("mqtt: connected to %s:%u%s; %u alerts waiting", m->host,
		  m->port, m->ca ? " (TLS)" : "", m->pending);
	n = snprintf(status, sizeof(status),
		     "{\"node\":\"%s\",\"state\":\"online\"}", m->node);
	mosquitto_publish(m->mosq, NULL, m->status_topic, n, status, 1, true);
	mqtt_flush(m);
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct mcai_mqtt *m = arg;
	struct mqtt_msg **pp, *q;

	(void)mosq;
	for (pp = &m->head; (q = *pp); pp = &q->next) {
		if (q->mid != mid)
			continue;
		*pp = q->next;
		if (m->tail == q) {
			struct mqtt_msg *t = m->head;

			while (t && t->next)
				t = t->next;
			m->tail = t;
		}
		m->pending--;
		m->st.acked++;
		msg_free(q);
		return;
	}
	/* the status message, or one dropped by the bound meanwhile */
}

/* ------------------------------------------------------------------ */
/* connecting                                                           */
/* ------------------------------------------------------------------ */

static void mqtt_connect(struct mcai_mqtt *m)
{
	char will[320];
	int rc, n;

	m->next_try_ns = now_ns() + (uint64_t)m->reconnect_s * 1000000000ULL;
	m->mosq = mosquitto_new(m->node, true, m);
	if (!m->mosq) {
		mcai_warn("mqtt: mosquitto_new: %s", strerror(errno));
		return;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
			     MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	n = snprintf(will, sizeof(will),
		     "{\"node\":\"%s\",\"state\":\"offline\"}", m->node);
	rc = mosquitto_will_set(m->mosq, m->status_topic, n, will, 1, true);
	if (rc == MOSQ_ERR_SUCCESS && m->ca)
		rc = mosquitto_tls_set(m->mosq, m->ca, NULL, m->cert, m->key,
				       NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_connect_async(m->mosq, m->host, (int)m->port,
					     (int)m->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		mcai_dbg("mqtt: connect %s:%u: %s", m->host, m->port,
			   rc == MOSQ_ERR_ERRNO ? strerror(errno) :
			   mosquitto_strerror(rc));
		mosquitto_destroy(m->mosq);
		m->mosq = NULL;
		return;
	}
	mqtt_rearm(m);
}

void mcai_mqtt_start(struct mcai_mqtt *m)
{
	mqtt_connect(m);
}

void mcai_mqtt_tick(struct mcai_mqtt *m)
{
	if (m->stopping)
		return;
	if (!m->mosq) {
		if (now_ns() >= m->next_try_ns)
			mqtt_connect(m);
		return;
	}
	/*
	 * Keep-alive and a connection that never completes: mosquitto_loop
	 * sends PINGREQ and gives up on a silent broker after 1.5 keep-alive
	 * periods.
	 */
	if (mqtt_service(m))
		mqtt_rearm(m);
}

int mcai_mqtt_alert(struct mcai_mqtt *m, const char *model, const char *kind,
		    const char *fields)
{
	char payload[MCAI_MQTT_PAYLOAD_MAX];
	struct mqtt_msg *q;
	struct timespec ts;
	int n;

	if (!level_ok(model) || !level_ok(kind))
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(payload, sizeof(payload),
		     "{\"node\":\"%s\",\"model\":\"%s\",\"kind\":\"%s\","
		     "\"seq\":%" PRIu64 ",\"time\":%lld.%03ld%s%s}",
		     m->node, model, kind, ++m->seq, (long long)ts.tv_sec,
		     ts.tv_nsec / 1000000, fields ? "," : "",
		     fields ? fields : "");
	if (n < 0 || (size_t)n >= sizeof(payload))
		return -EINVAL;
	if (m->pending >= m->queue_max) {
		m->st.dropped++;
		if (!m->drops_logged++)
			mcai_warn("mqtt: queue full (%u alerts): dropping the %s",
				  m->queue_max,
				  m->policy == MCAI_MQTT_DROP_OLDEST ?
				  "oldest" : "newest");
		if (m->policy == MCAI_MQTT_DROP_NEWEST)
			return -ENOSPC;
		queue_pop(m);
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->payload = strdup(payload);
	if (asprintf(&q->topic, "mcai/%s/%s/alert", m->node, model) < 0)
		q->topic = NULL;
	if (!q->payload || !q->topic) {
		msg_free(q);
		return -ENOMEM;
	}
	q->len = (size_t)n;
	if (m->tail)
		m->tail->next = q;
	else
		m->head = q;
	m->tail = q;
	m->pending++;
	m->st.queued++;
	if (m->connected) {
		mqtt_flush(m);
		if (mqtt_service(m))
			mqtt_rearm(m);
	}
	return 0;
}

void mcai_mqtt_get_stats(const struct mcai_mqtt *m, struct mcai_mqtt_stats *st)
{
	*st = m->st;
	st->pending = m->pending;
	st->connected = m->connected;
}

int mcai_mqtt_new(struct mcai_mqtt **out, struct mcai_net *net,
		  const struct mcai_mqtt_opts *o, char *err, size_t errlen)
{
	struct mcai_mqtt *m;

	*out = NULL;
	if (!o->host || !*o->host) {
		snprintf(err, errlen, "mqtt: no broker host");
		return -EINVAL;
	}
	if (!o->node || !level_ok(o->node)) {
		snprintf(err, errlen, "mqtt: node id \"%s\" is not a topic "
			 "level ([A-Za-z0-9_.-], 1..64)", o->node ? o->node : "");
		return -EINVAL;
	}
	if ((o->cert && *o->cert) != (o->key && *o->key)) {
		snprintf(err, errlen, "mqtt: a client certificate needs its key "
			 "and a key its certificate");
		return -EINVAL;
	}
	if (o->keepalive_s && (o->keepalive_s < 5 || o->keepalive_s > 65535)) {
		/* libmosquitto refuses less than 5 s */
		snprintf(err, errlen, "mqtt: keep-alive of %u s: 5 .. 65535",
			 o->keepalive_s);
		return -EINVAL;
	}
	if (o->queue_max > MCAI_MQTT_QUEUE_MAX) {
		snprintf(err, errlen, "mqtt: queue of %u alerts: at most %u",
			 o->queue_max, MCAI_MQTT_QUEUE_MAX);
		return -EINVAL;
	}
	m = aligned_alloc(16, (sizeof(*m) + 15) & ~(size_t)15);
	if (!m)
		goto nomem;
	memset(m, 0, sizeof(*m));
	m->net = net;
	m->w.ready = mqtt_ready;
	m->host = strdup(o->host);
	m->node = strdup(o->node);
	if (o->ca && *o->ca) {
		m->ca = strdup(o->ca);
		if (!m->ca)
			goto nomem;
	}
	if (o->cert && *o->cert) {
		m->cert = strdup(o->cert);
		m->key = strdup(o->key);
		if (!m->cert || !m->key)
			goto nomem;
	}
	if (!m->host || !m->node)
		goto nomem;
	m->port = o->port ? o->port : m->ca ? 8883 : 1883;
	m->keepalive = o->keepalive_s ? o->keepalive_s : 30;
	m->queue_max = o->queue_max ? o->queue_max : MCAI_MQTT_QUEUE_DEFAULT;
	m->reconnect_s = o->reconnect_s ? o->reconnect_s : 2;
	m->policy = o->policy;
	snprintf(m->status_topic, sizeof(m->status_topic), "mcai/%s/status",
		 m->node);
	mosquitto_lib_init();
	m->lib_init = true;
	*out = m;
	return 0;
nomem:
	snprintf(err, errlen, "mqtt: out of memory");
	mcai_mqtt_free(m);
	return -ENOMEM;
}

void mcai_mqtt_free(struct mcai_mqtt *m)
{
	if (!m)
		return;
	m->stopping = true;
	if (m->net)
		mcai_net_watch_forget(m->net, &m->w);
	if (m->mosq) {
		if (m->connected) {
			char st[320];
			int n = snprintf(st, sizeof(st),
				"{\"node\":\"%s\",\"state\":\"offline\"}",
				m->node);

			/* best effort, without waiting: a clean goodbye */
			mosquitto_publish(m->mosq, NULL, m->status_topic, n,
					  st, 1, true);
			mosquitto_loop_write(m->mosq, 8);
			mosquitto_disconnect(m->mosq);
			mosquitto_loop_write(m->mosq, 8);
		}
		mosquitto_destroy(m->mosq);
	}
	if (m->lib_init)
		mosquitto_lib_cleanup();
	while (m->head)
		queue_pop(m);
	free(m->host);
	free(m->node);
	free(m->ca);
	free(m->cert);
	free(m->key);
	free(m);
}
