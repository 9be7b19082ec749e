/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sample mirror (uapi/mcai.h, "Sample mirror"): one input in N of a
 * session, copied into a bounded per-device queue for local training.
 */
#ifndef MCAI_MIRROR_H
#define MCAI_MIRROR_H

#include <linux/types.h>

#include "uapi/mcai.h"

struct mcai_session;

int mcai_mirror_init(void);
void mcai_mirror_exit(void);

/* Whether the queue exists (mirror_kb > 0). */
bool mcai_mirror_enabled(void);

/* -EINVAL / -EOPNOTSUPP for a value a session may not use. */
int mcai_mirror_check_every(u32 every);

/*
 * Queue the sample @in (@len values) of session @session_id and its
 * result @r if its sequence number is due (one in @every, 0 = off).
 * Worker context; never sleeps nor waits: a full or busy queue counts a
 * drop.
 */
void mcai_mirror_sample(u32 every, u32 session_id, const s8 *in, u32 len,
			const struct mcai_result *r);

/* MCAI_IOC_MIRROR_READ, request copied in; process context. */
int mcai_mirror_read(struct mcai_mirror_read *req);

#endif /* MCAI_MIRROR_H */
