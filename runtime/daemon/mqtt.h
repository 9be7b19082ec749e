/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcaid's MQTT publisher (libmosquitto), run by mcaid's own io_uring
 * loop: libmosquitto's socket is watched with mcai_net_watch_arm()
 * (IORING_OP_POLL_ADD) and served with mosquitto_loop_read/write, its
 * keep-alive and reconnects from the loop's tick (mosquitto_loop_misc);
 * no thread of libmosquitto's own (mosquitto_loop_start is not used).
 *
 * Topic tree (QoS 1):
 *   mcai/<node>/status           retained: {"node":..,"state":"online"};
 *                                the last will sets "offline" (retained)
 *   mcai/<node>/<model>/alert    one JSON object per alert:
 *                                {"node","model","kind","seq","time",...}
 *                                kind: detection | escalation | drift
 *
 * Alerts wait in a bounded queue until the broker acknowledges them
 * (PUBACK): queue_max messages; when full, policy drop-oldest removes the
 * oldest not yet acknowledged, drop-newest refuses the new one; either
 * way the drop is counted (and logged once per outage).  A message sent
 * but not acknowledged when the connection breaks is sent again on the
 * next connection (QoS 1: at least once), so nothing within the bound is
 * lost by a broker restart.
 */
#ifndef MCAI_MQTT_H
#define MCAI_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mcai_net;
struct mcai_mqtt;

enum mcai_mqtt_policy {
	MCAI_MQTT_DROP_OLDEST = 0,
	MCAI_MQTT_DROP_NEWEST = 1,
};

#define MCAI_MQTT_QUEUE_DEFAULT		1024
#define MCAI_MQTT_QUEUE_MAX		1000000
#define MCAI_MQTT_PAYLOAD_MAX		4096	/* bytes of one alert */

struct mcai_mqtt_opts {
	const char *host;		/* numeric or a name (resolved blocking) */
	unsigned int port;		/* 0: 1883, or 8883 with TLS */
	const char *node;		/* topic level and client id */
	const char *ca, *cert, *key;	/* ca: TLS on; cert+key: client cert */
	const char *tls_name;		/* "": the broker's name is not checked */
	unsigned int keepalive_s;	/* 0: 30; else 5 .. 65535 */
	unsigned int queue_max;		/* 0: MCAI_MQTT_QUEUE_DEFAULT */
	enum mcai_mqtt_policy policy;
	unsigned int reconnect_s;	/* 0: 2 */
};

struct mcai_mqtt_stats {
	uint64_t queued;		/* accepted into the queue */
	uint64_t acked;			/* PUBACK received */
	uint64_t dropped;		/* lost to the bound */
	uint64_t connects, disconnects;
	unsigned int pending;		/* in the queue now */
	bool connected;
};

/* Copies what it needs of @o; 0, or -errno with a sentence in @err. */
int mcai_mqtt_new(struct mcai_mqtt **out, struct mcai_net *net,
		  const struct mcai_mqtt_opts *o, char *err, size_t errlen);
/* First connection attempt; afterwards the tick reconnects. */
void mcai_mqtt_start(struct mcai_mqtt *m);
/* From the loop's tick: keep-alive, reconnects, retransmission. */
void mcai_mqtt_tick(struct mcai_mqtt *m);
/*
 * Queue an alert on mcai/<node>/<model>/alert.  @fields: more JSON
 * members ("\"score\":0.9"), or NULL.  0, or -ENOSPC when dropped by the
 * drop-newest policy, -EINVAL for a bad model name or oversize payload.
 */
int mcai_mqtt_alert(struct mcai_mqtt *m, const char *model, const char *kind,
		    const char *fields);
void mcai_mqtt_get_stats(const struct mcai_mqtt *m, struct mcai_mqtt_stats *st);
/* Disconnect cleanly (status "offline", retained), free. */
void mcai_mqtt_free(struct mcai_mqtt *m);

/* "drop-oldest" / "drop-newest"; -1 for anything else. */
int mcai_mqtt_policy_parse(const char *s);

#endif /* MCAI_MQTT_H */
