// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the secure-aggregation messages (runtime/fed/secagg.c)
 * as a hostile peer would send them: input byte 0 picks the receiver —
 * the aggregator in its advertise phase, or a node at key sharing, at
 * masked input, or at unmasking — and the rest is the message.  Every
 * refusal must carry a reason and leave the receiver usable: after a
 * refusal, the same receiver still accepts its honest next message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/secagg.h"

#define N_NODES	3
#define DIM	4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mcai_fuzz_reason(int ret, const char *why)
{
	if (ret && !why[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcai_secagg_params p;
	struct mcai_secagg_server *s;
	struct mcai_secagg_node *nd[N_NODES] = { 0 };
	struct mcai_buf adv[N_NODES], out;
	float x[DIM] = { 0.5f, -1.0f, 0.25f, 2.0f };
	char why[256];
	int ret, i;

	if (!size)
		return 0;
	mcai_secagg_params_default(&p, 1, N_NODES, DIM);
	s = mcai_secagg_server_new(&p, why, sizeof(why));
	if (!s)
		abort();
	for (i = 0; i < N_NODES; i++) {
		mcai_buf_init(&adv[i]);
		nd[i] = mcai_secagg_node_new(&p, (u32)i, why, sizeof(why));
		if (!nd[i] || mcai_secagg_node_advertise(nd[i], &adv[i], why,
							  sizeof(why)))
			abort();
	}
	mcai_buf_init(&out);
	why[0] = '\0';
	switch (data[0] % 4) {
	case 0:		/* the aggregator, advertise phase */
		ret = mcai_secagg_server_receive(s, data + 1, size - 1, why,
						 sizeof(why));
		mcai_fuzz_reason(ret, why);
		/* still takes the honest adverts (or says it has one) */
		for (i = 0; i < N_NODES; i++) {
			ret = mcai_secagg_server_receive(s, adv[i].data,
							 adv[i].len, why,
							 sizeof(why));
			if (ret && ret != -EALREADY)
				abort();
		}
		break;
	case 1:		/* node 0 given garbage as the KEYS message */
		ret = mcai_secagg_node_share_keys(nd[0], data + 1, size - 1,
						  &out, why, sizeof(why));
		mcai_fuzz_reason(ret, why);
		break;
	case 2:		/* garbage as SHARES_FOR, out of order too */
		ret = mcai_secagg_node_masked_input(nd[0], data + 1, size - 1,
						    x, &out, why, sizeof(why));
		mcai_fuzz_reason(ret, why);
		break;
	default:	/* garbage as UNMASK_REQ */
		ret = mcai_secagg_node_unmask(nd[0], data + 1, size - 1, &out,
					      why, sizeof(why));
		mcai_fuzz_reason(ret, why);
		break;
	}
	mcai_buf_free(&out);
	for (i = 0; i < N_NODES; i++) {
		mcai_buf_free(&adv[i]);
		mcai_secagg_node_free(nd[i]);
	}
	mcai_secagg_server_free(s);
	return 0;
}
