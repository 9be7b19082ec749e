// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid's HTTP /metrics endpoint: runtime/daemon/httpmetrics.h says how
 * it runs on the daemon's loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "runtime/daemon/httpmetrics.h"
#include "runtime/fed/net.h"
#include "runtime/lib/log.h"
#include "runtime/daemon/metrics.h"

/* Scrapers are few and local: a bound, and a deadline for a stuck one. */
#define MCAI_HTTPM_MAX_CONN	16
#define MCAI_HTTPM_TIMEOUT_S	10

struct mcai_httpm {
	struct mcai_net_watch w;	/* first: the loop's watch */
	struct mcai_net *net;
	struct MHD_Daemon *mhd;
	int epfd;
	bool stopping;
	unsigned long long served;
};

static enum MHD_Result httpm_reply(struct MHD_Connection *c,
				   unsigned int status, char *body,
				   size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ?
				"text/plain; version=0.0.4; charset=utf-8" :
				"text/plain; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result httpm_request(void *cls, struct MHD_Connection *c,
				     const char *url, const char *method,
				     const char *version,
				     const char *upload_data,
				     size_t *upload_data_size, void **con_cls)
{
	struct mcai_httpm *h = cls;
	char *buf = NULL;
	size_t len = 0;
	int r;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	h->served++;
	/* no body is read: anything but GET and HEAD is refused at once */
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		*upload_data_size = 0;
		return httpm_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				   (char *)"GET /metrics only\n", 18,
				   MHD_RESPMEM_PERSISTENT);
	}
	if (strcmp(url, "/metrics"))
		return httpm_reply(c, MHD_HTTP_NOT_FOUND,
				   (char *)"not found: /metrics only\n", 25,
				   MHD_RESPMEM_PERSISTENT);
	r = mcai_metrics_text(NULL, NULL, &buf, &len);
	if (r)
		return httpm_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				   (char *)"out of memory\n", 14,
				   MHD_RESPMEM_PERSISTENT);
	return httpm_reply(c, MHD_HTTP_OK, buf, len, MHD_RESPMEM_MUST_FREE);
}

static void httpm_rearm(struct mcai_httpm *h)
{
	if (h->stopping || h->w.armed)
		return;
	if (mcai_net_watch_arm(h->net, &h->w, h->epfd, POLLIN))
		mcai_dbg("metrics: could not arm the poll; the tick serves it");
}

static void httpm_ready(struct mcai_net_watch *w, int res)
{
	struct mcai_httpm *h = (struct mcai_httpm *)w;

	if (res < 0 && res != -ECANCELED)
		mcai_dbg("metrics: poll: %s", strerror(-res));
	if (h->stopping)
		return;
	MHD_run(h->mhd);
	httpm_rearm(h);
}

static void httpm_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	mcai_dbg("metrics: libmicrohttpd: %s", msg);
}

int mcai_httpm_start(struct mcai_httpm **out, struct mcai_net *net,
		     const char *host, unsigned int port, char *err,
		     unsigned long errlen)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	struct mcai_httpm *h;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	*out = NULL;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "metrics.listen: '%s' is not a numeric address",
			 host);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->net = net;
	h->w.ready = httpm_ready;
	h->epfd = -1;
	h->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL,
				  httpm_request, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned int)MCAI_HTTPM_MAX_CONN,
				  MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)MCAI_HTTPM_TIMEOUT_S,
				  MHD_OPTION_EXTERNAL_LOGGER, httpm_log, NULL,
				  MHD_OPTION_END);
	if (!h->mhd) {
		int e = errno ? errno : EADDRNOTAVAIL;

		snprintf(err, errlen, "metrics.listen %s:%u: cannot listen: %s%s",
			 host, port, strerror(e), port < 1024 ?
			 " (the port is bound after the privilege drop: take one >= 1024)" :
			 "");
		free(h);
		return -e;
	}
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!di || di->epoll_fd < 0) {
		snprintf(err, errlen, "metrics: libmicrohttpd has no epoll fd");
		MHD_stop_daemon(h->mhd);
		free(h);
		return -ENOTSUP;
	}
	h->epfd = di->epoll_fd;
	httpm_rearm(h);
	*out = h;
	return 0;
}

void mcai_httpm_tick(struct mcai_httpm *h)
{
	if (!h || h->stopping)
		return;
	MHD_run(h->mhd);
	httpm_rearm(h);
}

unsigned long long mcai_httpm_served(const struct mcai_httpm *h)
{
	return h ? h->served : 0;
}

void mcai_httpm_stop(struct mcai_httpm *h)
{
	if (!h)
		return;
	h->stopping = true;
	mcai_net_watch_forget(h->net, &h->w);
	MHD_stop_daemon(h->mhd);
	free(h);
}
