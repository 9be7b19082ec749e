// SPDX-License-Identifier: GPL-2.0
/* The reassembly of a streamed MODEL: see stream.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/sha256.h"
#include "runtime/fed/stream.h"

void mcai_stream_rx_reset(struct mcai_stream_rx *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static int mcai_stream_fail(struct mcai_stream_rx *s, const char **why,
			    char *msg)
{
	mcai_stream_rx_reset(s);
	if (why)
		*why = msg;
	return -EBADMSG;
}

int mcai_stream_rx_part(struct mcai_stream_rx *s, const struct mcai_msg_part *m,
			const char **why)
{
	static _Thread_local char msg[160];
	uint8_t d[MCAI_SHA256_LEN];
	bool same = s->version == m->version &&
		    !memcmp(s->digest, m->digest, sizeof(d));

	if (!same || !s->buf) {
		if (m->offset) {
			snprintf(msg, sizeof(msg),
				 "model part at %llu of a stream not held (version %u)",
				 (unsigned long long)m->offset, m->version);
			return mcai_stream_fail(s, why, msg);
		}
		/* A new stream: a newer model replaces a partial one. */
		mcai_stream_rx_reset(s);
		s->buf = malloc(m->total);
		if (!s->buf)
			return -ENOMEM;
		s->version = m->version;
		memcpy(s->digest, m->digest, sizeof(s->digest));
		s->total = m->total;
	} else if (m->total != s->total) {
		snprintf(msg, sizeof(msg),
			 "model part of a %llu-byte stream, %llu announced",
			 (unsigned long long)m->total,
			 (unsigned long long)s->total);
		return mcai_stream_fail(s, why, msg);
	} else if (m->offset != s->have) {
		snprintf(msg, sizeof(msg),
			 "model part out of order: at %llu, %llu bytes held",
			 (unsigned long long)m->offset,
			 (unsigned long long)s->have);
		return mcai_stream_fail(s, why, msg);
	}
	/* the decoder checked offset + len <= total */
	memcpy(s->buf + s->have, m->data, m->len);
	s->have += m->len;
	if (s->have < s->total)
		return 0;
	mcai_sha256(s->buf, s->total, d);
	if (memcmp(d, s->digest, sizeof(d))) {
		snprintf(msg, sizeof(msg),
			 "streamed model version %u: %llu bytes do not hash to their digest",
			 s->version, (unsigned long long)s->total);
		return mcai_stream_fail(s, why, msg);
	}
	return 1;
}

void mcai_stream_part_at(struct mcai_msg_part *m, uint32_t version,
			 const uint8_t digest[MCAI_PROTO_DIGEST_LEN],
			 const uint8_t *payload, uint64_t total,
			 uint64_t offset, uint32_t part_len)
{
	memset(m, 0, sizeof(*m));
	m->version = version;
	memcpy(m->digest, digest, sizeof(m->digest));
	m->total = total;
	m->offset = offset;
	m->data = payload + offset;
	m->len = total - offset < part_len ? (uint32_t)(total - offset) :
					     part_len;
}
