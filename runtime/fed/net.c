// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid transport: io_uring event loop, TLS over memory BIOs, framing.
 *
 * One thread, one ring.  Per peer there is at most one recv, one send and
 * (for outbound peers) one connect in flight, each linked to a timeout, so
 * a peer that goes quiet is noticed without any timer of our own:
 *
 *   recv + LINK_TIMEOUT	idle_ms between frames; stall_ms during the
 *				handshake or once a frame has started
 *   send + LINK_TIMEOUT	stall_ms: the peer stopped reading
 *   connect + LINK_TIMEOUT	stall_ms
 *
 * recv is one-shot, not multishot: a linked timeout cannot be attached to
 * a multishot request, and re-arming one recv per chunk is also how
 * back-pressure works (a peer whose output queue is over out_pause simply
 * gets no new recv until the queue drains).  The data still lands in a
 * provided buffer ring, so idle peers pin no memory.
 *
 * A peer is freed only when nothing of it is in flight: closing a peer
 * means shutdown(2) on its socket, which completes its pending requests,
 * and the peer sits on the closing list until the last completion.
 *
 * Memory does not grow with the number of peers by more than a small,
 * fixed amount each:
 *
 *   sending	a large frame (a model to every node of a round) is queued
 *		as plaintext shared by every peer it goes to (struct
 *		mcai_blob, found by content) and sealed into TLS records a
 *		window at a time as each socket drains, with all peers' send
 *		buffers within win_budget: a broadcast to N peers holds one
 *		model and the budget, not N ciphertexts.
 *   receiving	a frame longer than MCAI_PAYLOAD_STEP is assembled only
 *		while the bytes of all frames being assembled stay within
 *		in_budget; the other senders wait, unread, with TCP holding
 *		their data, and are resumed in arrival order.  One frame is
 *		always admitted, so any legal frame completes.  Such a frame
 *		gets its whole buffer at once (its length is already held
 *		against in_budget), and the buffer goes back to a pool when
 *		the frame is done: the next large frame, of this peer or
 *		another, lands in memory already mapped instead of a fresh
 *		one (an UPDATE a node, every round).  The pool stays within
 *		in_budget and is emptied once no large frame came for a tick.
 *   rate	with rate_frames set, a peer that sends more frames per
 *		second (burst: two seconds' worth) is not read until its
 *		allowance refills: a flood costs the daemon nothing more.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/lib/log.h"
#include "runtime/fed/net.h"
#include "runtime/fed/proto.h"
#include "runtime/fed/tls.h"

#define MCAI_RING_ENTRIES	4096
#define MCAI_CQ_ENTRIES		16384
#define MCAI_BUF_GROUP		1
#define MCAI_BUF_COUNT		512		/* power of two */
#define MCAI_BUF_SIZE		(16 * 1024 + 512)	/* one TLS record */
#define MCAI_PAYLOAD_STEP	(64 * 1024)
#define MCAI_SHARE_MIN		MCAI_PAYLOAD_STEP	/* shared, sealed lazily */
#define MCAI_SEAL_RECORD	(16 * 1024)	/* TLS's largest plaintext */
#define MCAI_SEAL_WINDOW	(32 * 1024)	/* ciphertext kept ready */
#define MCAI_IN_MIN_RATE	(256 * 1024)	/* bytes/s, see mcai_in_admit() */
#define MCAI_STOP_GRACE_MS	2000

/*
 * user_data: a peer pointer (16-byte aligned) or 0, plus an op in 3 bits;
 * op 0 with a pointer is a struct mcai_net_watch's poll.
 */
enum mcai_op {
	MCAI_OP_WATCH = 0,
	MCAI_OP_ACCEPT = 1,
	MCAI_OP_TICK,
	MCAI_OP_SIGNAL,
	MCAI_OP_RECV,
	MCAI_OP_SEND,
	MCAI_OP_CONNECT,
	MCAI_OP_LTIMEOUT,
};
#define MCAI_OP_MASK 7ULL

struct mcai_obuf {
	uint8_t *p;
	size_t len, off, cap;
};

/* One outgoing frame's plaintext, shared by every peer it is queued to. */
struct mcai_blob {
	struct mcai_blob *prev, *next;	/* net->blobs */
	unsigned int refs;
	size_t len;
	uint8_t data[];
};

/* A peer's place in a queued blob. */
struct mcai_outq {
	struct mcai_outq *next;
	struct mcai_blob *blob;
	size_t off;
};

/* A large payload buffer in net->pool, its first bytes reused as the link. */
struct mcai_plbuf {
	struct mcai_plbuf *next;
	size_t cap;
};

struct mcai_peer {
	struct mcai_net *net;
	struct mcai_peer *prev, *next;	/* net->peers or net->closing */
	struct mcai_peer *rearm_next;	/* recv to retry after -ENOBUFS */
	int fd;
	unsigned int inflight;
	bool outbound, connecting, reported, closing, close_after_flush;
	bool shut, recv_armed, send_armed, paused, rearm_queued;
	bool waiting, throttled, sealq, notify_pending, rate_due;
	struct mcai_peer *held_next;	/* net->waiting or net->throttled */
	struct mcai_peer *seal_next;	/* net->sealq */
	const char *recv_timeout_why;
	uint64_t hs_deadline_ns;

	struct mcai_tls tls;

	/* Frame being received: header bytes, then payload. */
	uint8_t hdr[MCAI_FRAME_HDR_LEN];
	size_t hdr_got;
	bool in_payload;
	struct mcai_frame_hdr h;
	uint8_t *pl;
	size_t pl_got, pl_cap;
	size_t in_held;			/* of net->in_used, this frame */
	uint64_t in_deadline_ns;	/* to complete it while others wait */

	/* Rate limit: frames allowed now, refilled with time. */
	double tokens;
	uint64_t tokens_ns;

	/* ocur is in flight (immutable), onext collects until ocur is done. */
	struct mcai_obuf ocur, onext;
	/* Plaintext not sealed yet, in order, behind what onext holds. */
	struct mcai_outq *oq_head, *oq_tail;
	size_t oq_bytes;

	struct __kernel_timespec ts_recv, ts_send;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	void *data;
	char addr[INET6_ADDRSTRLEN + 8];
	char name[sizeof(((struct mcai_tls *)0)->peer) + INET6_ADDRSTRLEN + 9];
	char why[256];
};

struct mcai_net {
	struct io_uring ring;
	bool ring_ok, started, stopping, accept_armed, tick_armed;
	bool signal_armed, accept_retry;
	struct mcai_net_opts o;
	char peer_name[256];		/* o.peer_name points here, or NULL */
	struct mcai_tls_ctx *tls;
	const struct mcai_net_ops *ops;
	void *arg;

	int listen_fd, sig_fd;
	struct signalfd_siginfo siginfo;
	struct __kernel_timespec tick_ts;
	uint64_t stop_deadline_ns;

	struct io_uring_buf_ring *br;
	size_t br_size;
	uint8_t *bufs;

	struct mcai_peer *peers, *closing, *rearm;
	struct mcai_peer *waiting, *throttled;	/* FIFO heads, see above */
	struct mcai_peer *sealq;
	struct mcai_blob *blobs;
	size_t in_used, win_used;
	struct mcai_plbuf *pool;	/* large payload buffers, free */
	size_t pool_bytes;
	bool pool_used;			/* one was taken since the last tick */
	char **allow;			/* sorted CNs; NULL: the CA decides */
	size_t n_allow;
	struct mcai_net_stats st;
	unsigned int watches;		/* polls in flight */
	struct mcai_net_watch *watch_list;	/* armed or idle, not forgotten */
	int err;
};

static uint64_t mcai_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void mcai_ms_to_ts(struct __kernel_timespec *ts, uint64_t ms)
{
	ts->tv_sec = (long long)(ms / 1000);
	ts->tv_nsec = (long long)(ms % 1000) * 1000000;
}

static uint64_t mcai_ud(const void *ptr, enum mcai_op op)
{
	return (uint64_t)(uintptr_t)ptr | (uint64_t)op;
}

/* Room for @n linked SQEs in this submission, submitting first if not. */
static struct io_uring_sqe *mcai_sqes(struct mcai_net *net, unsigned int n)
{
	if (io_uring_sq_space_left(&net->ring) < n)
		io_uring_submit(&net->ring);
	if (io_uring_sq_space_left(&net->ring) < n)
		return NULL;
	return io_uring_get_sqe(&net->ring);
}

static void mcai_list_add(struct mcai_peer **head, struct mcai_peer *p)
{
	p->prev = NULL;
	p->next = *head;
	if (*head)
		(*head)->prev = p;
	*head = p;
}

static void mcai_list_del(struct mcai_peer **head, struct mcai_peer *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		*head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

static size_t mcai_queued(const struct mcai_peer *p)
{
	return p->ocur.len - p->ocur.off + p->onext.len + p->oq_bytes;
}

static bool mcai_mid_frame(const struct mcai_peer *p)
{
	return p->hdr_got || p->in_payload || mcai_tls_in_pending(&p->tls);
}

/*
 * FIFOs of held peers, appended at the tail, resumed from the head:
 * @link is the offset of the peer's link field for that list.
 */
#define MCAI_LINK(p, link) (*(struct mcai_peer **)((char *)(p) + (link)))

static void mcai_held_add(struct mcai_peer **head, struct mcai_peer *p,
			  size_t link)
{
	struct mcai_peer **pp = head;

	while (*pp)
		pp = &MCAI_LINK(*pp, link);
	MCAI_LINK(p, link) = NULL;
	*pp = p;
}

static void mcai_held_del(struct mcai_peer **head, struct mcai_peer *p,
			  size_t link)
{
	struct mcai_peer **pp;

	for (pp = head; *pp; pp = &MCAI_LINK(*pp, link)) {
		if (*pp == p) {
			*pp = MCAI_LINK(p, link);
			MCAI_LINK(p, link) = NULL;
			return;
		}
	}
}

#define MCAI_HELD	offsetof(struct mcai_peer, held_next)
#define MCAI_SEALQ	offsetof(struct mcai_peer, seal_next)

/* The bytes of a frame being assembled go back to the budget. */
static void mcai_in_release(struct mcai_peer *p)
{
	p->net->in_used -= p->in_held;
	p->in_held = 0;
}

/* A buffer for a large frame's payload: from the pool when one fits. */
static uint8_t *mcai_pool_get(struct mcai_net *net, size_t len, size_t *cap)
{
	struct mcai_plbuf **pp, *b;

	net->pool_used = true;
	for (pp = &net->pool; (b = *pp); pp = &b->next) {
		if (b->cap >= len) {
			*pp = b->next;
			net->pool_bytes -= b->cap;
			*cap = b->cap;
			return (uint8_t *)b;
		}
	}
	b = malloc(len);
	*cap = b ? len : 0;
	return (uint8_t *)b;
}

static void mcai_pool_put(struct mcai_net *net, uint8_t *buf, size_t cap)
{
	struct mcai_plbuf *b = (struct mcai_plbuf *)(void *)buf;

	if (net->stopping || net->pool_bytes + cap > net->o.in_budget) {
		free(buf);
		return;
	}
	b->cap = cap;
	b->next = net->pool;
	net->pool = b;
	net->pool_bytes += cap;
}

/* Idle memory goes back: emptied on a tick that saw no large frame. */
static void mcai_pool_trim(struct mcai_net *net, bool all)
{
	struct mcai_plbuf *b;

	if (net->pool_used && !all) {
		net->pool_used = false;
		return;
	}
	while ((b = net->pool)) {
		net->pool = b->next;
		free(b);
	}
	net->pool_bytes = 0;
}

static void mcai_blob_put(struct mcai_net *net, struct mcai_blob *b)
{
	if (--b->refs)
		return;
	if (b->prev)
		b->prev->next = b->next;
	else
		net->blobs = b->next;
	if (b->next)
		b->next->prev = b->prev;
	free(b);
}

/*
 * The frame @hdr + @pl as a blob: an identical one already queued to
 * another peer when there is one (a model broadcast passes the same bytes
 * for every node), else a new copy.
 */
static struct mcai_blob *mcai_blob_get(struct mcai_net *net,
				       const uint8_t *hdr, const void *pl,
				       size_t pl_len)
{
	size_t len = MCAI_FRAME_HDR_LEN + pl_len;
	struct mcai_blob *b;

	for (b = net->blobs; b; b = b->next) {
		if (b->len == len &&
		    !memcmp(b->data, hdr, MCAI_FRAME_HDR_LEN) &&
		    !memcmp(b->data + MCAI_FRAME_HDR_LEN, pl, pl_len)) {
			b->refs++;
			return b;
		}
	}
	b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	memcpy(b->data, hdr, MCAI_FRAME_HDR_LEN);
	if (pl_len)
		memcpy(b->data + MCAI_FRAME_HDR_LEN, pl, pl_len);
	b->len = len;
	b->refs = 1;
	b->prev = NULL;
	b->next = net->blobs;
	if (net->blobs)
		net->blobs->prev = b;
	net->blobs = b;
	return b;
}

static void mcai_outq_pop(struct mcai_peer *p)
{
	struct mcai_outq *q = p->oq_head;

	p->oq_bytes -= q->blob->len - q->off;
	p->oq_head = q->next;
	if (!p->oq_head)
		p->oq_tail = NULL;
	mcai_blob_put(p->net, q->blob);
	free(q);
}

/* Send buffers count against net->win_used, see mcai_seal(). */
static int mcai_obuf_reserve(struct mcai_net *net, struct mcai_obuf *b,
			     size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *n;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	n = realloc(b->p, cap);
	if (!n)
		return -ENOMEM;
	net->win_used += cap - b->cap;
	b->p = n;
	b->cap = cap;
	return 0;
}

static void mcai_obuf_free(struct mcai_net *net, struct mcai_obuf *b)
{
	net->win_used -= b->cap;
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ */
/* Closing                                                              */
/* ------------------------------------------------------------------ */

static void mcai_peer_shut(struct mcai_peer *p)
{
	if (p->shut)
		return;
	p->shut = true;
	/* Completes whatever is pending on the socket; see the top comment. */
	shutdown(p->fd, SHUT_RDWR);
}

static void mcai_send_kick(struct mcai_peer *p);

/*
 * @graceful: flush what is queued and send close_notify first; used for
 * our own decisions, not when the peer misbehaved.
 */
static void mcai_peer_close(struct mcai_peer *p, enum mcai_log_level lvl,
			    bool graceful, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void mcai_peer_close(struct mcai_peer *p, enum mcai_log_level lvl,
			    bool graceful, const char *fmt, ...)
{
	struct mcai_net *net = p->net;
	va_list ap;

	if (p->closing) {
		if (!graceful)
			mcai_peer_shut(p);
		return;
	}
	p->closing = true;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	mcai_log(lvl, "peer %s: closing: %s", p->name, p->why);
	mcai_list_del(&net->peers, p);
	mcai_list_add(&net->closing, p);
	net->st.peers--;
	if (p->waiting) {
		p->waiting = false;
		mcai_held_del(&net->waiting, p, MCAI_HELD);
	}
	if (p->throttled) {
		p->throttled = false;
		mcai_held_del(&net->throttled, p, MCAI_HELD);
	}
	if (p->sealq && !graceful) {
		p->sealq = false;
		mcai_held_del(&net->sealq, p, MCAI_SEALQ);
	}
	mcai_in_release(p);

	if (graceful && !p->connecting) {
		/* close_notify goes after whatever is queued, not before. */
		if (p->tls.done && p->oq_head)
			p->notify_pending = true;
		else if (p->tls.done)
			mcai_tls_close_notify(&p->tls);
		p->close_after_flush = true;
		mcai_send_kick(p);
		if (p->send_armed || p->sealq)	/* flushed later, see mcai_reap() */
			return;
	}
	mcai_peer_shut(p);
}

static void mcai_peer_free(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;

	mcai_list_del(&net->closing, p);
	if (p->sealq)
		mcai_held_del(&net->sealq, p, MCAI_SEALQ);
	if (net->ops->closed && (p->reported || p->outbound))
		net->ops->closed(p, p->why, net->arg);
	close(p->fd);
	mcai_tls_fini(&p->tls);
	while (p->oq_head)
		mcai_outq_pop(p);
	if (p->pl_cap > MCAI_PAYLOAD_STEP)
		mcai_pool_put(net, p->pl, p->pl_cap);
	else
		free(p->pl);
	mcai_obuf_free(net, &p->ocur);
	mcai_obuf_free(net, &p->onext);
	free(p);
}

static void mcai_reap(struct mcai_net *net)
{
	struct mcai_peer *p = net->closing, *n;

	for (; p; p = n) {
		n = p->next;
		if (!p->inflight && !p->rearm_queued &&
		    !(p->sealq && !p->shut))
			mcai_peer_free(p);
	}
}

/* ------------------------------------------------------------------ */
/* Sending                                                              */
/* ------------------------------------------------------------------ */

/* Moves ciphertext out of OpenSSL into the queue that is not in flight. */
static int mcai_tls_drain(struct mcai_peer *p)
{
	size_t n;

	while ((n = mcai_tls_out_pending(&p->tls))) {
		if (mcai_obuf_reserve(p->net, &p->onext, n))
			return -ENOMEM;
		n = mcai_tls_out_take(&p->tls, p->onext.p + p->onext.len, n);
		if (!n)
			break;
		p->onext.len += n;
	}
	return 0;
}

/*
 * Seals queued plaintext, a record at a time, while less than a window of
 * ciphertext waits to be sent: the rest stays shared and unencrypted.  A
 * peer that holds no send buffers yet starts only while all peers' buffers
 * stay within win_budget, else it waits its turn (net->sealq): during a
 * broadcast, memory is the budget, not a window per node.  Buffers are
 * kept until the peer's queue is empty, so whoever started finishes.
 */
static int mcai_seal(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;

	if (p->oq_head && !p->ocur.cap && !p->onext.cap && net->win_used &&
	    (net->win_used + 2 * MCAI_SEAL_WINDOW > net->o.win_budget ||
	     (net->sealq && net->sealq != p))) {
		if (!p->sealq) {
			p->sealq = true;
			mcai_held_add(&net->sealq, p, MCAI_SEALQ);
		}
		return 0;
	}
	if (p->sealq) {
		p->sealq = false;
		mcai_held_del(&net->sealq, p, MCAI_SEALQ);
	}
	while (p->oq_head && p->onext.len < MCAI_SEAL_WINDOW) {
		struct mcai_outq *q = p->oq_head;
		size_t n = q->blob->len - q->off;

		if (n > MCAI_SEAL_RECORD)
			n = MCAI_SEAL_RECORD;
		if (mcai_tls_write(&p->tls, q->blob->data + q->off, n))
			return -EPROTO;
		q->off += n;
		p->oq_bytes -= n;
		if (q->off == q->blob->len)
			mcai_outq_pop(p);
		if (mcai_tls_drain(p))
			return -ENOMEM;
	}
	if (!p->oq_head && p->notify_pending) {
		p->notify_pending = false;
		mcai_tls_close_notify(&p->tls);
		if (mcai_tls_drain(p))
			return -ENOMEM;
	}
	return 0;
}

static void mcai_send_submit(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;
	struct io_uring_sqe *sqe = mcai_sqes(net, 2);

	if (!sqe) {
		mcai_peer_close(p, MCAI_LOG_ERROR, false, "submission queue full");
		return;
	}
	io_uring_prep_send(sqe, p->fd, p->ocur.p + p->ocur.off,
			   p->ocur.len - p->ocur.off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, mcai_ud(p, MCAI_OP_SEND));
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&net->ring);
	mcai_ms_to_ts(&p->ts_send, net->o.stall_ms);
	io_uring_prep_link_timeout(sqe, &p->ts_send, 0);
	io_uring_sqe_set_data64(sqe, mcai_ud(p, MCAI_OP_LTIMEOUT));
	p->inflight += 2;
	p->send_armed = true;
}

static void mcai_send_kick(struct mcai_peer *p)
{
	struct mcai_obuf t;

	if (p->shut)
		return;
	/* Always: the queue bound counts onext, not OpenSSL's buffer. */
	if (mcai_tls_drain(p)) {
		mcai_peer_close(p, MCAI_LOG_ERROR, false, "out of memory");
		return;
	}
	if (p->tls.done && mcai_seal(p)) {
		mcai_peer_close(p, MCAI_LOG_ERROR, false, "tls: %s",
				p->tls.why[0] ? p->tls.why : "out of memory");
		return;
	}
	if (p->send_armed || p->connecting)
		return;
	if (p->ocur.off == p->ocur.len) {
		if (!p->onext.len) {
			if (p->close_after_flush && !p->oq_head &&
			    !p->notify_pending)
				mcai_peer_shut(p);
			return;
		}
		t = p->ocur;
		p->ocur = p->onext;
		p->onext = t;
		p->onext.len = p->onext.off = 0;
	}
	mcai_send_submit(p);
}

static void mcai_recv_arm(struct mcai_peer *p);

static void mcai_on_send(struct mcai_peer *p, int res)
{
	struct mcai_net *net = p->net;

	p->send_armed = false;
	p->inflight--;
	if (res == -ECANCELED) {
		if (!p->closing)
			net->st.timeouts++;
		mcai_peer_close(p, MCAI_LOG_WARN, false,
				"peer stopped reading (send blocked %u ms, %zu bytes queued)",
				net->o.stall_ms, mcai_queued(p));
		return;
	}
	if (res < 0) {
		mcai_peer_close(p, p->closing ? MCAI_LOG_DEBUG : MCAI_LOG_WARN,
				false, "send: %s", strerror(-res));
		return;
	}
	p->ocur.off += (size_t)res;
	net->st.bytes_out += (uint64_t)res;
	if (p->ocur.off == p->ocur.len) {
		p->ocur.off = p->ocur.len = 0;
		/* An idle peer keeps no send buffers; a busy one reuses them. */
		if (!p->onext.len && !p->oq_head && p->ocur.cap) {
			mcai_obuf_free(net, &p->ocur);
			mcai_obuf_free(net, &p->onext);
			mcai_tls_trim(&p->tls);
		}
	}
	mcai_send_kick(p);
	if (p->paused && mcai_queued(p) <= net->o.out_pause / 2 &&
	    !p->closing) {
		p->paused = false;
		mcai_dbg("peer %s: queue drained, reading again", p->name);
		mcai_recv_arm(p);
	}
}

/*
 * A small frame with nothing queued ahead of it is sealed at once; a large
 * one, or one behind a large one, joins the plaintext queue (in order).
 */
static int mcai_queue_frame(struct mcai_peer *p, const uint8_t *hdr,
			    const void *pl, size_t pl_len)
{
	size_t len = MCAI_FRAME_HDR_LEN + pl_len;
	struct mcai_outq *q;

	if (p->closing)
		return -EPIPE;
	if (!p->tls.done)
		return -ENOTCONN;
	if (mcai_queued(p) + len > p->net->o.out_max)
		return -ENOBUFS;
	if (len < MCAI_SHARE_MIN && !p->oq_head) {
		if (mcai_tls_write(&p->tls, hdr, MCAI_FRAME_HDR_LEN) ||
		    (pl_len && mcai_tls_write(&p->tls, pl, pl_len))) {
			mcai_peer_close(p, MCAI_LOG_ERROR, false, "tls: %s",
					p->tls.why);
			return -EPIPE;
		}
	} else {
		q = malloc(sizeof(*q));
		if (!q)
			return -ENOMEM;
		q->blob = mcai_blob_get(p->net, hdr, pl, pl_len);
		if (!q->blob) {
			free(q);
			return -ENOMEM;
		}
		q->off = 0;
		q->next = NULL;
		if (p->oq_tail)
			p->oq_tail->next = q;
		else
			p->oq_head = q;
		p->oq_tail = q;
		p->oq_bytes += len;
	}
	p->net->st.frames_out++;
	mcai_send_kick(p);
	return 0;
}

int mcai_net_send_frame(struct mcai_peer *p, const void *frame, size_t len)
{
	struct mcai_frame_hdr h;
	const char *why = NULL;

	if (mcai_frame_hdr_parse(frame, len, &h, &why) ||
	    len != MCAI_FRAME_HDR_LEN + (size_t)h.length) {
		mcai_err("peer %s: refusing to send a malformed frame: %s",
			 p->name, why ? why : "length mismatch");
		return -EINVAL;
	}
	return mcai_queue_frame(p, frame, (const uint8_t *)frame +
				MCAI_FRAME_HDR_LEN, h.length);
}

int mcai_net_send_msg(struct mcai_peer *p, const struct mcai_msg *m,
		      struct mcai_buf *copy)
{
	struct mcai_buf b;
	const char *why = NULL;
	int r;

	mcai_buf_init(&b);
	r = mcai_msg_frame(&b, m, &why);
	if (r)
		mcai_err("peer %s: cannot encode %s: %s", p->name,
			 mcai_msg_type_name(m->type), why ? why : strerror(-r));
	else
		r = mcai_net_send_frame(p, b.data, b.len);
	if (!r && copy) {
		mcai_buf_free(copy);
		*copy = b;
	} else {
		mcai_buf_free(&b);
	}
	return r;
}

int mcai_net_send(struct mcai_peer *p, uint16_t type, const void *payload,
		  uint32_t len)
{
	uint8_t hdr[MCAI_FRAME_HDR_LEN];

	if (len > MCAI_FRAME_MAX)
		return -EMSGSIZE;
	mcai_frame_hdr_write(hdr, type, len);
	return mcai_queue_frame(p, hdr, payload, len);
}

void mcai_net_close(struct mcai_peer *p, const char *why)
{
	mcai_peer_close(p, MCAI_LOG_INFO, true, "%s", why);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                            */
/* ------------------------------------------------------------------ */

static void mcai_recv_arm(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;
	struct io_uring_sqe *sqe;
	uint64_t ms = net->o.idle_ms;

	if (p->recv_armed || p->closing || p->paused || p->waiting ||
	    p->throttled)
		return;
	if (!p->tls.done) {
		uint64_t now = mcai_now_ns();

		ms = p->hs_deadline_ns > now ?
		     (p->hs_deadline_ns - now) / 1000000 + 1 : 1;
		p->recv_timeout_why = "TLS handshake timed out";
	} else if (mcai_mid_frame(p)) {
		ms = net->o.stall_ms;
		p->recv_timeout_why = "peer stalled mid-frame";
	} else {
		p->recv_timeout_why = "idle timeout";
	}
	sqe = mcai_sqes(net, 2);
	if (!sqe) {
		mcai_peer_close(p, MCAI_LOG_ERROR, false, "submission queue full");
		return;
	}
	io_uring_prep_recv(sqe, p->fd, NULL, MCAI_BUF_SIZE, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_IO_LINK;
	sqe->buf_group = MCAI_BUF_GROUP;
	io_uring_sqe_set_data64(sqe, mcai_ud(p, MCAI_OP_RECV));
	sqe = io_uring_get_sqe(&net->ring);
	mcai_ms_to_ts(&p->ts_recv, ms);
	io_uring_prep_link_timeout(sqe, &p->ts_recv, 0);
	io_uring_sqe_set_data64(sqe, mcai_ud(p, MCAI_OP_LTIMEOUT));
	p->inflight += 2;
	p->recv_armed = true;
}

static int mcai_payload_reserve(struct mcai_peer *p)
{
	size_t want = p->pl_got + MCAI_PAYLOAD_STEP, cap;
	uint8_t *n;

	if (p->pl_cap >= p->h.length || p->pl_cap >= want)
		return 0;
	/*
	 * A large frame holds its length of in_budget already (see
	 * mcai_in_admit()): its whole buffer at once, from the pool, rather
	 * than growing it (a copy each time) into fresh memory.
	 */
	if (p->h.length > MCAI_PAYLOAD_STEP) {
		n = mcai_pool_get(p->net, p->h.length, &cap);
		if (!n)
			return -ENOMEM;
		if (p->pl_got)
			memcpy(n, p->pl, p->pl_got);
		free(p->pl);
		p->pl = n;
		p->pl_cap = cap;
		return 0;
	}
	/* Grow with the bytes that arrived, not with what the header claims. */
	if (want < p->pl_cap * 2)
		want = p->pl_cap * 2;
	if (want > p->h.length)
		want = p->h.length;
	n = realloc(p->pl, want);
	if (!n)
		return -ENOMEM;
	p->pl = n;
	p->pl_cap = want;
	return 0;
}

static void mcai_frame_done(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;
	int r = 0;

	net->st.frames_in++;
	mcai_dbg("peer %s: %s frame, %u bytes", p->name,
		 mcai_msg_type_name(p->h.type), p->h.length);
	if (net->ops->frame)
		r = net->ops->frame(p, &p->h, p->pl, net->arg);
	mcai_in_release(p);
	p->hdr_got = 0;
	p->pl_got = 0;
	p->in_payload = false;
	/* Keep a small buffer for the next frame; a large one is pooled. */
	if (p->pl_cap > MCAI_PAYLOAD_STEP) {
		mcai_pool_put(net, p->pl, p->pl_cap);
		p->pl = NULL;
		p->pl_cap = 0;
		if (!p->closing)
			mcai_tls_trim(&p->tls);
	}
	if (r < 0)
		mcai_peer_close(p, MCAI_LOG_WARN, false,
				"refused by the protocol layer (%s)",
				strerror(-r));
}

/*
 * May this peer start assembling its frame's payload now?  If not, it is
 * held, unread, until mcai_resume_held() admits it.
 */
static bool mcai_in_admit(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;

	if (p->in_held || p->h.length <= MCAI_PAYLOAD_STEP)
		return true;
	if ((net->in_used && net->in_used + p->h.length > net->o.in_budget) ||
	    (net->waiting && net->waiting != p)) {
		if (!p->waiting) {
			p->waiting = true;
			net->st.waited++;
			mcai_held_add(&net->waiting, p, MCAI_HELD);
		}
		return false;
	}
	if (p->waiting) {
		p->waiting = false;
		mcai_held_del(&net->waiting, p, MCAI_HELD);
	}
	p->in_held = p->h.length;
	net->in_used += p->in_held;
	/*
	 * Budget held is budget others wait for: a frame must come in at
	 * MCAI_IN_MIN_RATE at least, after stall_ms of grace.
	 */
	p->in_deadline_ns = mcai_now_ns() +
			    (uint64_t)net->o.stall_ms * 1000000ULL +
			    (uint64_t)p->h.length * 1000000000ULL /
			    MCAI_IN_MIN_RATE;
	return true;
}

/* Rate limit: may this peer's next frame be read now? */
static bool mcai_rate_admit(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;
	double burst = 2.0 * net->o.rate_frames;
	uint64_t now;

	if (!net->o.rate_frames)
		return true;
	now = mcai_now_ns();
	if (!p->tokens_ns) {
		p->tokens = burst;
	} else {
		p->tokens += (double)(now - p->tokens_ns) / 1e9 *
			     net->o.rate_frames;
		if (p->tokens > burst)
			p->tokens = burst;
	}
	p->tokens_ns = now;
	if (p->tokens >= 1.0) {
		p->tokens -= 1.0;
		return true;
	}
	if (!p->throttled) {
		p->throttled = true;
		net->st.throttled++;
		mcai_held_add(&net->throttled, p, MCAI_HELD);
		mcai_dbg("peer %s: over %u frames/s, not reading for now",
			 p->name, net->o.rate_frames);
	}
	return false;
}

/* Plaintext out of TLS into frames, until TLS needs more ciphertext. */
static void mcai_read_frames(struct mcai_peer *p)
{
	const char *why = NULL;
	ssize_t n = 0;
	int r;

	while (!p->closing && !p->waiting && !p->throttled) {
		if (!p->in_payload) {
			n = mcai_tls_read(&p->tls, p->hdr + p->hdr_got,
					  MCAI_FRAME_HDR_LEN - p->hdr_got);
			if (n <= 0)
				break;
			p->hdr_got += (size_t)n;
			if (p->hdr_got < MCAI_FRAME_HDR_LEN)
				continue;
			r = mcai_frame_hdr_parse(p->hdr, p->hdr_got, &p->h,
						 &why);
			if (r) {
				p->net->st.malformed++;
				mcai_peer_close(p, MCAI_LOG_WARN, false,
						"malformed frame: %s",
						why ? why : strerror(-r));
				return;
			}
			p->in_payload = true;
			p->pl_got = 0;
			p->rate_due = true;
		}
		/* Counted once the frame is there, not while waiting for one. */
		if (p->rate_due) {
			if (!mcai_rate_admit(p))
				return;
			p->rate_due = false;
		}
		if (!p->h.length) {
			mcai_frame_done(p);
			continue;
		}
		if (!mcai_in_admit(p))
			return;
		if (mcai_payload_reserve(p)) {
			mcai_peer_close(p, MCAI_LOG_ERROR, false,
					"out of memory for a %u byte frame",
					p->h.length);
			return;
		}
		n = mcai_tls_read(&p->tls, p->pl + p->pl_got,
				  p->pl_cap - p->pl_got);
		if (n <= 0)
			break;
		p->pl_got += (size_t)n;
		if (p->pl_got == p->h.length)
			mcai_frame_done(p);
	}
	if (p->closing)
		return;
	if (n == -EPIPE)
		mcai_peer_close(p, mcai_mid_frame(p) ? MCAI_LOG_WARN :
				MCAI_LOG_INFO, false, "%s",
				mcai_mid_frame(p) ?
				"close_notify in the middle of a frame" :
				"peer closed the connection");
	else if (n < 0)
		mcai_peer_close(p, MCAI_LOG_WARN, false, "tls: %s", p->tls.why);
}

static int mcai_cn_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool mcai_allowed(const struct mcai_net *net, const char *cn)
{
	if (!net->allow)
		return true;
	return bsearch(&cn, net->allow, net->n_allow, sizeof(*net->allow),
		       mcai_cn_cmp) != NULL;
}

static void mcai_allow_free(struct mcai_net *net)
{
	for (size_t i = 0; i < net->n_allow; i++)
		free(net->allow[i]);
	free(net->allow);
	net->allow = NULL;
	net->n_allow = 0;
}

int mcai_net_set_allow(struct mcai_net *net, const char *path, char *err,
		       size_t errlen)
{
	size_t cap = 0, lineno = 0;
	char *line = NULL, **v;
	ssize_t got;
	FILE *f;
	int r = 0;

	mcai_allow_free(net);
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	/* An empty list is a list: nobody gets in, which is what it says. */
	net->allow = calloc(1, sizeof(*net->allow));
	if (!net->allow)
		r = -ENOMEM;
	while (!r && (got = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e;

		lineno++;
		/* '#' starts a comment at the start or after a blank only. */
		for (e = strchr(s, '#'); e; e = strchr(e + 1, '#')) {
			if (e == s || e[-1] == ' ' || e[-1] == '\t') {
				*e = '\0';
				break;
			}
		}
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && strchr(" \t\r\n", e[-1]))
			*--e = '\0';
		if (!*s)
			continue;
		if (e - s >= (ptrdiff_t)sizeof(((struct mcai_tls *)0)->peer) ||
		    strpbrk(s, " \t")) {
			snprintf(err, errlen,
				 "%s:%zu: not a certificate CN: '%.64s'", path,
				 lineno, s);
			r = -EINVAL;
			break;
		}
		v = realloc(net->allow, (net->n_allow + 1) * sizeof(*v));
		if (!v || !(v[net->n_allow] = strdup(s))) {
			if (v)
				net->allow = v;
			r = -ENOMEM;
			break;
		}
		net->allow = v;
		net->n_allow++;
	}
	if (!r && ferror(f)) {
		r = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	if (r == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	free(line);
	fclose(f);
	if (r) {
		mcai_allow_free(net);
		return r;
	}
	qsort(net->allow, net->n_allow, sizeof(*net->allow), mcai_cn_cmp);
	return 0;
}

static void mcai_peer_progress(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;
	int r;

	if (!p->tls.done) {
		r = mcai_tls_handshake(&p->tls);
		if (r < 0) {
			net->st.handshake_failed++;
			/* Graceful: our alert reaches the peer and says why. */
			mcai_peer_close(p, MCAI_LOG_WARN, true,
					"TLS handshake failed: %s", p->tls.why);
			return;
		}
		if (r == 0) {
			mcai_send_kick(p);
			return;
		}
		snprintf(p->name, sizeof(p->name), "%s@%s", p->tls.peer,
			 p->addr);
		if (!p->outbound && !mcai_allowed(net, p->tls.peer)) {
			net->st.refused_allow++;
			mcai_peer_close(p, MCAI_LOG_WARN, true,
					"certificate '%s' is not on the fleet allow-list",
					p->tls.peer);
			return;
		}
		net->st.connected++;
		mcai_info("peer %s: connected (%s, TLS 1.3, peer verified)",
			  p->name, p->outbound ? "outbound" : "inbound");
		p->reported = true;
		if (net->ops->connected)
			net->ops->connected(p, net->arg);
		if (p->closing)
			return;
	}
	mcai_read_frames(p);
	if (!p->closing)
		mcai_send_kick(p);
}

static void mcai_buf_recycle(struct mcai_net *net, unsigned int bid)
{
	io_uring_buf_ring_add(net->br, net->bufs + (size_t)bid * MCAI_BUF_SIZE,
			      MCAI_BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(MCAI_BUF_COUNT), 0);
	io_uring_buf_ring_advance(net->br, 1);
}

static void mcai_on_recv(struct mcai_peer *p, int res, unsigned int flags)
{
	struct mcai_net *net = p->net;
	unsigned int bid;
	int r;

	p->recv_armed = false;
	p->inflight--;
	if (res == -ENOBUFS) {
		/* Every buffer is in use this instant; retry after the batch. */
		if (!p->rearm_queued && !p->closing) {
			p->rearm_queued = true;
			p->rearm_next = net->rearm;
			net->rearm = p;
		}
		return;
	}
	if (res == -ECANCELED) {
		if (!p->closing)
			net->st.timeouts++;
		mcai_peer_close(p, MCAI_LOG_WARN, false, "%s",
				p->recv_timeout_why);
		return;
	}
	if (res < 0) {
		mcai_peer_close(p, p->closing ? MCAI_LOG_DEBUG : MCAI_LOG_WARN,
				false, "recv: %s", strerror(-res));
		return;
	}
	if (res == 0) {
		if (!p->tls.done)
			mcai_peer_close(p, MCAI_LOG_WARN, false,
					"disconnected during the TLS handshake");
		else if (p->in_payload)
			mcai_peer_close(p, MCAI_LOG_WARN, false,
					"disconnected mid-frame (%zu of %u payload bytes)",
					p->pl_got, p->h.length);
		else if (mcai_mid_frame(p))
			mcai_peer_close(p, MCAI_LOG_WARN, false,
					"disconnected mid-frame (%zu of %d header bytes)",
					p->hdr_got, MCAI_FRAME_HDR_LEN);
		else
			mcai_peer_close(p, MCAI_LOG_INFO, false,
					"peer closed the connection");
		return;
	}
	if (!(flags & IORING_CQE_F_BUFFER)) {
		mcai_peer_close(p, MCAI_LOG_ERROR, false, "recv without a buffer");
		return;
	}
	bid = flags >> IORING_CQE_BUFFER_SHIFT;
	net->st.bytes_in += (uint64_t)res;
	r = p->closing ? 0 : mcai_tls_feed(&p->tls, net->bufs +
					   (size_t)bid * MCAI_BUF_SIZE,
					   (size_t)res);
	mcai_buf_recycle(net, bid);
	if (p->closing)
		return;
	if (r) {
		mcai_peer_close(p, MCAI_LOG_ERROR, false, "out of memory");
		return;
	}
	mcai_peer_progress(p);
	if (p->closing)
		return;
	/* Not while it holds receive budget: both ends could wait forever. */
	if (mcai_queued(p) > net->o.out_pause && !p->in_held) {
		if (!p->paused) {
			net->st.paused++;
			mcai_dbg("peer %s: %zu bytes queued, not reading until it drains",
				 p->name, mcai_queued(p));
		}
		p->paused = true;
		return;
	}
	mcai_recv_arm(p);
}

/* ------------------------------------------------------------------ */
/* Peers                                                                */
/* ------------------------------------------------------------------ */

static void mcai_sa_str(const struct sockaddr_storage *sa, char *buf,
			size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(buf, len, "[%s]:%u", host, port);
	} else {
		snprintf(buf, len, "?");
	}
}

static struct mcai_peer *mcai_peer_new(struct mcai_net *net, int fd,
				       bool outbound)
{
	struct mcai_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (mcai_tls_init(&p->tls, net->tls, !outbound)) {
		free(p);
		return NULL;
	}
	p->net = net;
	p->fd = fd;
	p->outbound = outbound;
	p->hs_deadline_ns = mcai_now_ns() +
			    (uint64_t)net->o.stall_ms * 1000000ULL;
	mcai_list_add(&net->peers, p);
	if (++net->st.peers > net->st.peak_peers)
		net->st.peak_peers = net->st.peers;
	return p;
}

static void mcai_accept_arm(struct mcai_net *net)
{
	struct io_uring_sqe *sqe;

	if (net->accept_armed || net->listen_fd < 0 || net->stopping)
		return;
	sqe = mcai_sqes(net, 1);
	if (!sqe)
		return;
	io_uring_prep_multishot_accept(sqe, net->listen_fd, NULL, NULL,
				       SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, mcai_ud(NULL, MCAI_OP_ACCEPT));
	net->accept_armed = true;
}

static void mcai_on_accept(struct mcai_net *net, int res, unsigned int flags)
{
	struct mcai_peer *p;
	int one = 1;

	if (!(flags & IORING_CQE_F_MORE))
		net->accept_armed = false;
	if (res < 0) {
		if (net->stopping)
			return;
		mcai_warn("accept: %s", strerror(-res));
		/* Out of fds: wait a tick rather than spin on the error. */
		if (!net->accept_armed)
			net->accept_retry = true;
		return;
	}
	net->st.accepted++;
	if (net->stopping || net->st.peers >= net->o.max_peers) {
		net->st.refused_full++;
		if (!net->stopping)
			mcai_warn("accept: %u peers already, refusing one",
				  net->st.peers);
		close(res);
		return;
	}
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p = mcai_peer_new(net, res, false);
	if (!p) {
		mcai_err("accept: out of memory");
		close(res);
		return;
	}
	p->sa_len = sizeof(p->sa);
	if (getpeername(res, (struct sockaddr *)&p->sa, &p->sa_len))
		p->sa.ss_family = AF_UNSPEC;
	mcai_sa_str(&p->sa, p->addr, sizeof(p->addr));
	snprintf(p->name, sizeof(p->name), "%s", p->addr);
	mcai_dbg("peer %s: accepted", p->name);
	mcai_recv_arm(p);
}

/*
 * "host:port", "[v6]:port", ":port" into @host (brackets dropped) and the
 * port, which points into @host's buffer.
 */
static int mcai_split_addr(const char *addr, char host[static 256],
			   char **port)
{
	if (snprintf(host, 256, "%s", addr) >= 256)
		return -ENAMETOOLONG;
	*port = strrchr(host, ':');
	if (!*port)
		return -EINVAL;
	*(*port)++ = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 2 || host[n - 1] != ']')
			return -EINVAL;
		host[n - 1] = '\0';
		memmove(host, host + 1, n - 1);
	}
	return 0;
}

static int mcai_resolve(const char *addr, bool passive,
			struct sockaddr_storage *sa, socklen_t *len)
{
	char host[256], *port;
	struct addrinfo hints = { 0 }, *ai;
	int r;

	r = mcai_split_addr(addr, host, &port);
	if (r)
		return r;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (r) {
		mcai_err("%s: %s", addr, gai_strerror(r));
		return -EINVAL;
	}
	memcpy(sa, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int mcai_net_listen(struct mcai_net *net, const char *addr)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int fd, one = 1, r;

	if (net->listen_fd >= 0)
		return -EBUSY;
	r = mcai_resolve(addr, true, &sa, &len);
	if (r)
		return r;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, len) || listen(fd, 4096)) {
		r = -errno;
		mcai_err("listen %s: %s", addr, strerror(errno));
		close(fd);
		return r;
	}
	net->listen_fd = fd;
	mcai_info("listening on %s", addr);
	return 0;
}

int mcai_net_connect(struct mcai_net *net, const char *addr, void *data)
{
	struct io_uring_sqe *sqe;
	struct mcai_peer *p;
	int fd, one = 1, r;
	struct sockaddr_storage sa;
	socklen_t len;
	char host[256], *port;

	if (!net->started || net->stopping)
		return -EAGAIN;
	r = mcai_resolve(addr, false, &sa, &len);
	if (r)
		return r;
	/*
	 * Who the server must be: the configured name, else the host we
	 * dial (":port" dials the loopback, which answers as localhost).
	 */
	r = mcai_split_addr(addr, host, &port);
	if (r)
		return r;
	if (net->o.peer_name)
		snprintf(host, sizeof(host), "%s", net->o.peer_name);
	else if (!host[0])
		snprintf(host, sizeof(host), "localhost");
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p = mcai_peer_new(net, fd, true);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->data = data;
	p->sa = sa;
	p->sa_len = len;
	p->connecting = true;
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	snprintf(p->name, sizeof(p->name), "%s", addr);
	r = mcai_tls_set_peer_name(&p->tls, host);
	if (r) {
		mcai_peer_close(p, MCAI_LOG_ERROR, false,
				"cannot expect server name '%s': %s", host,
				strerror(-r));
		return r;
	}
	sqe = mcai_sqes(net, 2);
	if (!sqe) {
		mcai_peer_close(p, MCAI_LOG_ERROR, false, "submission queue full");
		return -EBUSY;
	}
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&p->sa, p->sa_len);
	io_uring_sqe_set_data64(sqe, mcai_ud(p, MCAI_OP_CONNECT));
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&net->ring);
	mcai_ms_to_ts(&p->ts_send, net->o.stall_ms);
	io_uring_prep_link_timeout(sqe, &p->ts_send, 0);
	io_uring_sqe_set_data64(sqe, mcai_ud(p, MCAI_OP_LTIMEOUT));
	p->inflight += 2;
	mcai_dbg("peer %s: connecting", p->name);
	return 0;
}

static void mcai_on_connect(struct mcai_peer *p, int res)
{
	p->inflight--;
	p->connecting = false;
	if (res < 0) {
		mcai_peer_close(p, MCAI_LOG_WARN, false, "connect: %s",
				res == -ECANCELED ? "timed out" : strerror(-res));
		return;
	}
	p->hs_deadline_ns = mcai_now_ns() +
			    (uint64_t)p->net->o.stall_ms * 1000000ULL;
	mcai_peer_progress(p);	/* ClientHello */
	mcai_recv_arm(p);
}

/* ------------------------------------------------------------------ */
/* Loop                                                                 */
/* ------------------------------------------------------------------ */

int mcai_net_watch_arm(struct mcai_net *net, struct mcai_net_watch *w, int fd,
		       unsigned int events)
{
	struct io_uring_sqe *sqe;

	struct mcai_net_watch *it;

	if (w->armed)
		return -EBUSY;
	for (it = net->watch_list; it && it != w; it = it->next)
		;
	if (!it) {
		w->next = net->watch_list;
		net->watch_list = w;
	}
	sqe = mcai_sqes(net, 1);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_poll_add(sqe, fd, events);
	io_uring_sqe_set_data64(sqe, mcai_ud(w, MCAI_OP_WATCH));
	w->armed = true;
	w->cancelling = false;
	w->events = events;
	net->watches++;
	return 0;
}

void mcai_net_watch_cancel(struct mcai_net *net, struct mcai_net_watch *w)
{
	struct io_uring_sqe *sqe;

	if (!w->armed || w->cancelling)
		return;
	sqe = mcai_sqes(net, 1);
	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, mcai_ud(w, MCAI_OP_WATCH), 0);
	io_uring_sqe_set_data64(sqe, 0);
	w->cancelling = true;
}

void mcai_net_watch_forget(struct mcai_net *net, struct mcai_net_watch *w)
{
	struct mcai_net_watch **pp;

	mcai_net_watch_cancel(net, w);
	for (pp = &net->watch_list; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	w->armed = false;
}

static void mcai_tick_arm(struct mcai_net *net)
{
	struct io_uring_sqe *sqe = mcai_sqes(net, 1);

	if (!sqe)
		return;
	mcai_ms_to_ts(&net->tick_ts, net->o.tick_ms);
	io_uring_prep_timeout(sqe, &net->tick_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, mcai_ud(NULL, MCAI_OP_TICK));
	net->tick_armed = true;
}

static void mcai_signal_arm(struct mcai_net *net)
{
	struct io_uring_sqe *sqe;

	if (net->sig_fd < 0 || net->signal_armed)
		return;
	sqe = mcai_sqes(net, 1);
	if (!sqe)
		return;
	io_uring_prep_read(sqe, net->sig_fd, &net->siginfo,
			   sizeof(net->siginfo), 0);
	io_uring_sqe_set_data64(sqe, mcai_ud(NULL, MCAI_OP_SIGNAL));
	net->signal_armed = true;
}

/* Goes on reading a held peer, as a recv completion would have. */
static void mcai_resume(struct mcai_peer *p)
{
	struct mcai_net *net = p->net;

	mcai_read_frames(p);
	if (p->closing || p->waiting || p->throttled)
		return;
	mcai_send_kick(p);
	if (p->closing)
		return;
	if (mcai_queued(p) > net->o.out_pause && !p->in_held) {
		p->paused = true;
		return;
	}
	mcai_recv_arm(p);
}

/*
 * Waiting peers, oldest first, as the assembly budget allows; with
 * @tick, also the throttled ones (their allowance refills with time).
 */
static void mcai_resume_held(struct mcai_net *net, bool tick)
{
	struct mcai_peer *p, *n;

	while ((p = net->waiting) &&
	       (!net->in_used ||
		net->in_used + p->h.length <= net->o.in_budget)) {
		if (!mcai_in_admit(p))
			break;
		mcai_resume(p);
	}
	/* Peers waiting to seal, while the send buffers have room. */
	while ((p = net->sealq) &&
	       net->win_used + 2 * MCAI_SEAL_WINDOW <= net->o.win_budget) {
		mcai_send_kick(p);
		if (net->sealq == p)
			break;
	}
	if (!tick)
		return;
	/* A frame holding budget that others wait for must keep coming. */
	if (net->waiting) {
		uint64_t now = mcai_now_ns();

		for (p = net->peers; p; p = n) {
			n = p->next;
			if (p->in_held && now > p->in_deadline_ns)
				mcai_peer_close(p, MCAI_LOG_WARN, false,
						"%u byte frame too slow (%zu bytes in) while others wait",
						p->h.length, p->pl_got);
		}
	}
	p = net->throttled;
	net->throttled = NULL;
	for (; p; p = n) {
		n = p->held_next;
		p->held_next = NULL;
		p->throttled = false;
		mcai_resume(p);
	}
}

static void mcai_dispatch(struct mcai_net *net, uint64_t ud, int res,
			  unsigned int flags)
{
	struct mcai_peer *p = (struct mcai_peer *)(uintptr_t)(ud & ~MCAI_OP_MASK);

	switch ((enum mcai_op)(ud & MCAI_OP_MASK)) {
	case MCAI_OP_WATCH: {
		struct mcai_net_watch *w = (struct mcai_net_watch *)p, *it;

		net->watches--;
		for (it = net->watch_list; it && it != w; it = it->next)
			;
		if (!it)
			break;		/* forgotten: its owner is gone */
		w->armed = false;
		w->cancelling = false;
		w->ready(w, res);
		break;
	}
	case MCAI_OP_ACCEPT:
		mcai_on_accept(net, res, flags);
		break;
	case MCAI_OP_TICK:
		net->tick_armed = false;
		if (res == -ECANCELED)
			break;
		if (net->accept_retry) {
			net->accept_retry = false;
			mcai_accept_arm(net);
		}
		mcai_resume_held(net, true);
		mcai_pool_trim(net, false);
		if (net->ops->tick && !net->stopping)
			net->ops->tick(net, net->arg);
		/* Stopping too: the stop deadline is checked on wake-ups. */
		mcai_tick_arm(net);
		break;
	case MCAI_OP_SIGNAL:
		net->signal_armed = false;
		if (res == (int)sizeof(net->siginfo) && net->ops->signal)
			net->ops->signal(net, (int)net->siginfo.ssi_signo,
					 net->arg);
		else if (res < 0 && res != -ECANCELED)
			mcai_warn("signalfd: %s", strerror(-res));
		if (res != -ECANCELED)
			mcai_signal_arm(net);
		break;
	case MCAI_OP_RECV:
		mcai_on_recv(p, res, flags);
		break;
	case MCAI_OP_SEND:
		mcai_on_send(p, res);
		break;
	case MCAI_OP_CONNECT:
		mcai_on_connect(p, res);
		break;
	case MCAI_OP_LTIMEOUT:
		p->inflight--;
		break;
	}
}

static void mcai_rearm_pending(struct mcai_net *net)
{
	struct mcai_peer *p = net->rearm, *n;

	net->rearm = NULL;
	for (; p; p = n) {
		n = p->rearm_next;
		p->rearm_queued = false;
		p->rearm_next = NULL;
		mcai_recv_arm(p);
	}
}

static void mcai_stop_begin(struct mcai_net *net)
{
	struct mcai_peer *p, *n;

	net->stop_deadline_ns = mcai_now_ns() +
				MCAI_STOP_GRACE_MS * 1000000ULL;
	if (net->listen_fd >= 0)
		shutdown(net->listen_fd, SHUT_RDWR);
	for (p = net->peers; p; p = n) {
		n = p->next;
		mcai_peer_close(p, MCAI_LOG_INFO, true, "daemon shutting down");
	}
}

int mcai_net_run(struct mcai_net *net)
{
	struct io_uring_cqe *cqe;
	bool stop_begun = false;
	int r;

	if (!net->started)
		return -EINVAL;
	while (net->err == 0) {
		if (net->stopping && !stop_begun) {
			stop_begun = true;
			mcai_stop_begin(net);
		}
		if (stop_begun) {
			if (!net->peers && !net->closing && !net->accept_armed)
				break;
			if (mcai_now_ns() > net->stop_deadline_ns) {
				struct mcai_peer *p;

				/* Peers that do not read their close_notify. */
				for (p = net->closing; p; p = p->next)
					mcai_peer_shut(p);
				for (p = net->peers; p; p = p->next)
					mcai_peer_shut(p);
			}
		}
		r = io_uring_submit_and_wait(&net->ring, 1);
		if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN) {
			mcai_err("io_uring_submit_and_wait: %s", strerror(-r));
			net->err = r;
			break;
		}
		while (io_uring_peek_cqe(&net->ring, &cqe) == 0) {
			uint64_t ud = cqe->user_data;
			int res = cqe->res;
			unsigned int flags = cqe->flags;

			io_uring_cqe_seen(&net->ring, cqe);
			mcai_dispatch(net, ud, res, flags);
		}
		mcai_resume_held(net, false);
		mcai_rearm_pending(net);
		mcai_reap(net);
	}
	return net->err;
}

void mcai_net_stop(struct mcai_net *net)
{
	if (!net->stopping)
		mcai_info("stopping: closing %u peers", net->st.peers);
	net->stopping = true;
}

/* ------------------------------------------------------------------ */
/* Set-up                                                               */
/* ------------------------------------------------------------------ */

static void mcai_raise_nofile(unsigned int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
		mcai_warn("RLIMIT_NOFILE is %llu: fewer than %u peers will fit",
			  (unsigned long long)rl.rlim_cur, want - 64);
}

static int mcai_ring_init(struct mcai_net *net)
{
	struct io_uring_params prm = { 0 };
	struct io_uring_buf_reg reg = { 0 };
	int r;

	/*
	 * Created disabled, so that restrictions can be registered after
	 * the privilege drop and before anything is submitted.  Created as
	 * root, so that kernel.io_uring_disabled=1 hosts still work.
	 */
	prm.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE |
		    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
	prm.cq_entries = MCAI_CQ_ENTRIES;
	r = io_uring_queue_init_params(MCAI_RING_ENTRIES, &net->ring, &prm);
	if (r == -EINVAL) {
		memset(&prm, 0, sizeof(prm));
		prm.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE;
		prm.cq_entries = MCAI_CQ_ENTRIES;
		r = io_uring_queue_init_params(MCAI_RING_ENTRIES, &net->ring,
					       &prm);
	}
	if (r) {
		mcai_err("io_uring_queue_init: %s", strerror(-r));
		return r;
	}
	net->ring_ok = true;
	if (!(prm.features & IORING_FEAT_NODROP))
		mcai_warn("io_uring: kernel may drop completions under load");

	net->br_size = MCAI_BUF_COUNT * sizeof(struct io_uring_buf);
	net->br = mmap(NULL, net->br_size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (net->br == MAP_FAILED) {
		net->br = NULL;
		return -ENOMEM;
	}
	net->bufs = malloc((size_t)MCAI_BUF_COUNT * MCAI_BUF_SIZE);
	if (!net->bufs)
		return -ENOMEM;
	reg.ring_addr = (unsigned long)net->br;
	reg.ring_entries = MCAI_BUF_COUNT;
	reg.bgid = MCAI_BUF_GROUP;
	r = io_uring_register_buf_ring(&net->ring, &reg, 0);
	if (r) {
		mcai_err("io_uring: provided buffer ring: %s (kernel >= 5.19 needed)",
			 strerror(-r));
		return r;
	}
	io_uring_buf_ring_init(net->br);
	for (unsigned int i = 0; i < MCAI_BUF_COUNT; i++)
		io_uring_buf_ring_add(net->br, net->bufs +
				      (size_t)i * MCAI_BUF_SIZE, MCAI_BUF_SIZE,
				      (unsigned short)i,
				      io_uring_buf_ring_mask(MCAI_BUF_COUNT),
				      (int)i);
	io_uring_buf_ring_advance(net->br, MCAI_BUF_COUNT);
	return 0;
}

int mcai_net_new(struct mcai_net **out, const struct mcai_net_opts *opts,
		 struct mcai_tls_ctx *tls, const struct mcai_net_ops *ops,
		 void *arg)
{
	struct mcai_net *net = calloc(1, sizeof(*net));
	int r;

	if (!net)
		return -ENOMEM;
	net->o = *opts;
	net->o.peer_name = NULL;
	if (opts->peer_name && opts->peer_name[0]) {
		if (strlen(opts->peer_name) >= sizeof(net->peer_name)) {
			free(net);
			return -ENAMETOOLONG;
		}
		strcpy(net->peer_name, opts->peer_name);
		net->o.peer_name = net->peer_name;
	}
	if (!net->o.max_peers)
		net->o.max_peers = 4096;
	if (!net->o.idle_ms)
		net->o.idle_ms = 300000;
	if (!net->o.stall_ms)
		net->o.stall_ms = 30000;
	if (!net->o.tick_ms)
		net->o.tick_ms = 1000;
	if (!net->o.out_pause)
		net->o.out_pause = 1U << 20;
	if (!net->o.out_max)
		net->o.out_max = 32U << 20;
	if (!net->o.in_budget)
		net->o.in_budget = 16U << 20;
	if (!net->o.win_budget)
		net->o.win_budget = 16U << 20;
	net->tls = tls;
	net->ops = ops;
	net->arg = arg;
	net->listen_fd = -1;
	net->sig_fd = -1;
	mcai_raise_nofile(net->o.max_peers + 64);
	r = mcai_ring_init(net);
	if (r) {
		mcai_net_free(net);
		return r;
	}
	*out = net;
	return 0;
}

int mcai_net_watch_signals(struct mcai_net *net, int sigfd)
{
	net->sig_fd = sigfd;
	return 0;
}

static int mcai_uring_register(struct mcai_net *net, unsigned int op,
			       const void *arg, unsigned int nr)
{
	long r = syscall(__NR_io_uring_register, net->ring.ring_fd, op, arg,
			 nr);

	return r < 0 ? -errno : 0;
}

int mcai_net_start(struct mcai_net *net)
{
	static const unsigned char ops[] = {
		IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND,
		IORING_OP_CONNECT, IORING_OP_LINK_TIMEOUT, IORING_OP_TIMEOUT,
		IORING_OP_READ, IORING_OP_ASYNC_CANCEL,
		/* mcai_net_watch_arm(): a library's socket (MQTT) */
		IORING_OP_POLL_ADD,
	};
	struct io_uring_restriction res[sizeof(ops) + 1];
	unsigned int n = 0;
	int r;

	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < sizeof(ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_IO_LINK | IOSQE_BUFFER_SELECT;
	/*
	 * No register opcode is listed: the ring is frozen once enabled.
	 * Raw syscalls because Debian's liburing 2.3 declares
	 * io_uring_register_restrictions() and io_uring_enable_rings() but
	 * its shared library does not export them.
	 */
	r = mcai_uring_register(net, IORING_REGISTER_RESTRICTIONS, res, n);
	if (r) {
		mcai_err("io_uring: IORING_REGISTER_RESTRICTIONS: %s",
			 strerror(-r));
		return r;
	}
	r = mcai_uring_register(net, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (r) {
		mcai_err("io_uring: IORING_REGISTER_ENABLE_RINGS: %s",
			 strerror(-r));
		return r;
	}
	mcai_info("io_uring: restricted to accept/recv/send/connect/timeouts/read/cancel/poll, enabled");
	net->started = true;
	mcai_accept_arm(net);
	mcai_tick_arm(net);
	mcai_signal_arm(net);
	return 0;
}

/* Waits for our own long-lived requests, which point into *net. */
static void mcai_cancel_own(struct mcai_net *net)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int spins = 0;

	if (!net->started)
		return;
	if (net->tick_armed && (sqe = mcai_sqes(net, 1))) {
		io_uring_prep_cancel64(sqe, mcai_ud(NULL, MCAI_OP_TICK), 0);
		io_uring_sqe_set_data64(sqe, 0);
	}
	if (net->signal_armed && (sqe = mcai_sqes(net, 1))) {
		io_uring_prep_cancel64(sqe, mcai_ud(NULL, MCAI_OP_SIGNAL), 0);
		io_uring_sqe_set_data64(sqe, 0);
	}
	while ((net->tick_armed || net->signal_armed || net->accept_armed ||
		net->peers || net->closing || net->watches) && spins++ < 100) {
		struct __kernel_timespec ts = { .tv_nsec = 10000000 };

		io_uring_submit_and_wait_timeout(&net->ring, &cqe, 1, &ts, NULL);
		while (io_uring_peek_cqe(&net->ring, &cqe) == 0) {
			uint64_t ud = cqe->user_data;
			int res = cqe->res;
			unsigned int flags = cqe->flags;

			io_uring_cqe_seen(&net->ring, cqe);
			if (ud)
				mcai_dispatch(net, ud, res, flags);
		}
		for (struct mcai_peer *p = net->peers, *n; p; p = n) {
			n = p->next;
			mcai_peer_close(p, MCAI_LOG_DEBUG, false, "freed");
		}
		mcai_reap(net);
	}
}

void mcai_net_free(struct mcai_net *net)
{
	if (!net)
		return;
	net->stopping = true;
	if (net->ring_ok) {
		mcai_cancel_own(net);
		io_uring_queue_exit(&net->ring);
	}
	if (net->listen_fd >= 0)
		close(net->listen_fd);
	if (net->br)
		munmap(net->br, net->br_size);
	free(net->bufs);
	mcai_pool_trim(net, true);
	mcai_allow_free(net);
	free(net);
}

void mcai_net_get_stats(const struct mcai_net *net, struct mcai_net_stats *st)
{
	*st = net->st;
}

void mcai_peer_set_data(struct mcai_peer *p, void *data)
{
	p->data = data;
}

void *mcai_peer_data(const struct mcai_peer *p)
{
	return p->data;
}

const char *mcai_peer_name(const struct mcai_peer *p)
{
	return p->name;
}

const char *mcai_peer_cn(const struct mcai_peer *p)
{
	return p->tls.peer;
}

bool mcai_peer_outbound(const struct mcai_peer *p)
{
	return p->outbound;
}

size_t mcai_peer_queued(const struct mcai_peer *p)
{
	return mcai_queued(p);
}

struct mcai_net *mcai_peer_net(const struct mcai_peer *p)
{
	return p->net;
}
