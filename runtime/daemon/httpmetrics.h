/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcaid's optional HTTP /metrics endpoint (config metrics.listen, a
 * loopback address): the text `mcaictl metrics` prints
 * (runtime/daemon/metrics.h), served by libmicrohttpd on mcaid's own
 * io_uring loop.
 *
 * How it fits the loop: libmicrohttpd runs without a thread of its own
 * (no MHD_USE_INTERNAL_POLLING_THREAD) and with its epoll backend, which
 * gathers the listening socket and every connection into one epoll fd.
 * That one fd is watched by the loop (mcai_net_watch_arm(), a oneshot
 * IORING_OP_POLL_ADD, the opcode the MQTT publisher already needed); when
 * it is readable, MHD_run() accepts, reads and answers without blocking,
 * and the watch is armed again.  The loop's tick also calls MHD_run() for
 * MHD's own timeouts.  Nothing new is allowed on the restricted ring, and
 * the socket is bound after the privilege drop (so a port below 1024 is
 * refused: the endpoint is for a local scraper or exporter only).
 *
 * A scrape opens /dev/mcai as the user mcaid runs as: what that user may
 * not read (the eBPF maps, for instance) is reported by its mcai_*_up
 * gauge as 0, exactly as `mcaictl metrics` run by that user would.
 */
#ifndef MCAI_HTTPMETRICS_H
#define MCAI_HTTPMETRICS_H

struct mcai_net;
struct mcai_httpm;

/*
 * Listen on @host:@port (numeric, loopback).  0, or -errno with a
 * sentence in @err.
 */
int mcai_httpm_start(struct mcai_httpm **out, struct mcai_net *net,
		     const char *host, unsigned int port, char *err,
		     unsigned long errlen);
/* From the loop's tick: MHD's timeouts. */
void mcai_httpm_tick(struct mcai_httpm *h);
/* Requests answered (any status). */
unsigned long long mcai_httpm_served(const struct mcai_httpm *h);
void mcai_httpm_stop(struct mcai_httpm *h);

#endif /* MCAI_HTTPMETRICS_H */
