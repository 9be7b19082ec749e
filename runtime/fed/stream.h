/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A MODEL too large for one frame, streamed in MODEL_PART frames
 * (runtime/fed/proto.h): the node's side puts the parts back together,
 * strictly in order, and checks the whole against the digest every part
 * carries before anything decodes it.  What it holds survives a lost
 * connection: MODEL_RESUME asks for the rest.
 */
#ifndef MCAI_STREAM_H
#define MCAI_STREAM_H

#include <stdint.h>

#include "runtime/fed/proto.h"

struct mcai_stream_rx {
	uint32_t version;		/* 0: nothing held */
	uint8_t digest[MCAI_PROTO_DIGEST_LEN];
	uint64_t total, have;
	uint8_t *buf;			/* total bytes, have of them filled */
};

/*
 * One part in: 0 more to come (@s->have is what to ask for next), 1 the
 * whole is there and hashes to its digest (@s->buf, @s->total bytes),
 * -EBADMSG with @why for a part out of order, of another total, or a
 * whole that does not hash right (what was held is dropped), -ENOMEM.
 * A part at offset 0 of another stream (a newer model) replaces the one
 * held.
 */
int mcai_stream_rx_part(struct mcai_stream_rx *s, const struct mcai_msg_part *m,
			const char **why);
/* Drop what is held. */
void mcai_stream_rx_reset(struct mcai_stream_rx *s);

/* The part of @payload (@total bytes, its @digest) at @offset. */
void mcai_stream_part_at(struct mcai_msg_part *m, uint32_t version,
			 const uint8_t digest[MCAI_PROTO_DIGEST_LEN],
			 const uint8_t *payload, uint64_t total,
			 uint64_t offset, uint32_t part_len);

#endif /* MCAI_STREAM_H */
