/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mcaid transport: one io_uring event loop moving TLS-protected,
 * framed messages (runtime/fed/proto.h) between this daemon and its peers.
 *
 * Life cycle, in the order the privilege drop needs:
 *
 *	mcai_net_new()		as root: ring (disabled) and buffer ring
 *	mcai_net_listen()	as root: bind, so a low port works
 *	mcai_net_watch_signals()
 *	mcai_privdrop()
 *	mcai_net_start()	restrict the ring to our opcodes, enable it
 *	mcai_net_connect()	any time from here on, also from callbacks
 *	mcai_net_run()		until mcai_net_stop()
 *	mcai_net_free()
 *
 * Everything runs on the thread that calls mcai_net_run(); callbacks run
 * on it too, and may call every function here except mcai_net_run() and
 * mcai_net_free().  A peer pointer stays valid until its closed() callback
 * has returned.
 */
#ifndef MCAI_NET_H
#define MCAI_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mcai_net;
struct mcai_peer;
struct mcai_tls_ctx;
struct mcai_frame_hdr;
struct mcai_msg;
struct mcai_buf;

struct mcai_net_ops {
	/* TLS handshake done, peer certificate verified. */
	void (*connected)(struct mcai_peer *p, void *arg);
	/*
	 * One whole frame whose header passed mcai_frame_hdr_parse().
	 * @payload (h->length bytes) is only valid during the call.  A
	 * negative return closes the peer; set the reason with
	 * mcai_net_close() first if you have a better one than "refused by
	 * the protocol layer".
	 */
	int (*frame)(struct mcai_peer *p, const struct mcai_frame_hdr *h,
		     const uint8_t *payload, void *arg);
	/*
	 * The peer is gone; called for every peer that reached connected()
	 * and for every outbound peer (so that a node can reconnect).
	 */
	void (*closed)(struct mcai_peer *p, const char *why, void *arg);
	/* Every tick_ms, for deadlines and reconnects. */
	void (*tick)(struct mcai_net *net, void *arg);
	/* A signal from the fd given to mcai_net_watch_signals(). */
	void (*signal)(struct mcai_net *net, int signo, void *arg);
};

#define MCAI_RATE_FRAMES_DEFAULT	100

struct mcai_net_opts {
	unsigned int max_peers;	/* more are refused at accept; 0: 4096 */
	unsigned int idle_ms;	/* nothing received between frames; 0: 300 s */
	unsigned int stall_ms;	/* handshake, mid-frame, blocked send; 0: 30 s */
	unsigned int tick_ms;	/* 0: 1 s */
	size_t out_pause;	/* stop reading a peer with more queued; 0: 1 MiB */
	size_t out_max;		/* mcai_net_send() refuses beyond; 0: 32 MiB */
	/*
	 * Payload bytes of large frames assembled at once, across peers;
	 * others wait unread (one frame is always admitted).  0: 16 MiB.
	 */
	size_t in_budget;
	/* Send buffers over all peers (ciphertext ready to go); 0: 16 MiB. */
	size_t win_budget;
	/*
	 * Frames a peer may send per second (burst 2 s); 0: no limit.
	 * mcaid's default is MCAI_RATE_FRAMES_DEFAULT.
	 */
	unsigned int rate_frames;
	/*
	 * Outbound: the name the server's certificate must carry (DNS name
	 * or address literal, see mcai_tls_set_peer_name()); copied.  NULL
	 * or "": the host part of the mcai_net_connect() address.
	 */
	const char *peer_name;
};

struct mcai_net_stats {
	uint64_t accepted, connected, refused_full, handshake_failed;
	uint64_t malformed, timeouts, paused;
	uint64_t waited, throttled;	/* held for the budget / rate */
	uint64_t refused_allow;		/* verified, not on the allow-list */
	uint64_t frames_in, frames_out, bytes_in, bytes_out;
	unsigned int peers, peak_peers;
};

int mcai_net_new(struct mcai_net **out, const struct mcai_net_opts *opts,
		 struct mcai_tls_ctx *tls, const struct mcai_net_ops *ops,
		 void *arg);
/* "host:port", "[v6]:port" or ":port". */
int mcai_net_listen(struct mcai_net *net, const char *addr);
/* @sigfd: a signalfd; the transport reads it and calls ops->signal. */
int mcai_net_watch_signals(struct mcai_net *net, int sigfd);
int mcai_net_start(struct mcai_net *net);
/*
 * Only inbound peers whose certificate CN is listed in @path (one per
 * line, '#' comments) are let past the handshake.  Call before the
 * privilege drop if the file is root's.  -errno with @err set.
 */
int mcai_net_set_allow(struct mcai_net *net, const char *path, char *err,
		       size_t errlen);
/*
 * Outbound TLS client connection; @data as mcai_peer_set_data().  The
 * server must prove opts->peer_name, by default the host of @addr.
 */
int mcai_net_connect(struct mcai_net *net, const char *addr, void *data);
/*
 * Readiness of a file this loop does not own (a library's socket: the
 * MQTT client's), as a oneshot IORING_OP_POLL_ADD on the same ring, so
 * such a library runs on this thread instead of a thread of its own.
 * @w is the caller's, 16-byte aligned, and must stay until its ready()
 * has been called for the last arm.  ready() gets the poll's revents, or
 * -ECANCELED after mcai_net_watch_cancel(), or another -errno.  Arm again
 * from ready() to keep watching.
 */
struct mcai_net_watch {
	void (*ready)(struct mcai_net_watch *w, int res);
	bool armed;			/* a poll is in flight */
	bool cancelling;
	unsigned int events;		/* of the poll in flight */
	struct mcai_net_watch *next;	/* the loop's list of live watches */
} __attribute__((aligned(16)));

int mcai_net_watch_arm(struct mcai_net *net, struct mcai_net_watch *w, int fd,
		       unsigned int events);
void mcai_net_watch_cancel(struct mcai_net *net, struct mcai_net_watch *w);
/*
 * Before freeing @w: cancel its poll and forget it, so that the poll's
 * completion, whenever it comes, calls nothing.
 */
void mcai_net_watch_forget(struct mcai_net *net, struct mcai_net_watch *w);
int mcai_net_run(struct mcai_net *net);
/* Graceful: close_notify to every peer, then mcai_net_run() returns. */
void mcai_net_stop(struct mcai_net *net);
void mcai_net_free(struct mcai_net *net);
void mcai_net_get_stats(const struct mcai_net *net, struct mcai_net_stats *st);

/*
 * Queue one frame (header built here) or one already framed buffer
 * (mcai_msg_frame() output).  0, -ENOBUFS when the peer's queue is over
 * out_max (it is not reading; the caller decides), -EMSGSIZE, -EPIPE when
 * the peer is closing.
 */
int mcai_net_send(struct mcai_peer *p, uint16_t type, const void *payload,
		  uint32_t len);
int mcai_net_send_frame(struct mcai_peer *p, const void *frame, size_t len);
/*
 * Encode @m (runtime/fed/proto.h, a failure is logged) and queue it as above.
 * With @copy, the frame's bytes are left there once queued (what it held
 * is freed).
 */
int mcai_net_send_msg(struct mcai_peer *p, const struct mcai_msg *m,
		      struct mcai_buf *copy);
/* Flush what is queued, close_notify, then close; @why is logged. */
void mcai_net_close(struct mcai_peer *p, const char *why);

void mcai_peer_set_data(struct mcai_peer *p, void *data);
void *mcai_peer_data(const struct mcai_peer *p);
/* "CN@address" once verified, "address" before. */
const char *mcai_peer_name(const struct mcai_peer *p);
/* Certificate subject CN, "" before the handshake. */
const char *mcai_peer_cn(const struct mcai_peer *p);
bool mcai_peer_outbound(const struct mcai_peer *p);
size_t mcai_peer_queued(const struct mcai_peer *p);
struct mcai_net *mcai_peer_net(const struct mcai_peer *p);

#endif /* MCAI_NET_H */
