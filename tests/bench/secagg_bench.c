// SPDX-License-Identifier: GPL-2.0
/*
 * Secure aggregation cost vs the number of nodes: whole rounds of
 * runtime/fed/secagg.c in one process, every message through its bytes, for
 * an update of 101,770 parameters (the Fashion-MNIST MLP 784-128-10).
 * For n = 10, 50, 100, 200, on the complete graph (Bonawitz et al. 2017)
 * and on the SecAgg+ graph with k = 2 ceil(log2 n) neighbours (Bell et
 * al. 2020), it prints per node: compute time (mean over the nodes of
 * the time spent in its four steps) and bytes sent and received; and the
 * aggregator's time (CPU time of the one thread that runs everything;
 * OpenSSL is warmed up by a small round first).  A second table drops 10 % of the nodes after they
 * shared their keys, which makes the aggregator rebuild their keys and
 * take the masks towards them off.  Every round's sum is checked against
 * the plain sum, word for word.
 *
 *   secagg-bench [--quick] [--dim N]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/fed/secagg.h"

/*
 * CPU time of this thread: what a node spends, unaffected by whatever
 * else the machine runs (the whole round is one thread).
 */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static u64 rnd_state = 0x9e3779b97f4a7c15ULL;

static u32 rnd32(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (u32)((rnd_state * 2685821657736338717ULL) >> 32);
}

struct result {
	double node_ms, node_max_ms, server_ms;
	double sent, recv;		/* per node, bytes */
	double server_sent;		/* total, bytes */
	u32 k, t, recovered;
};

static void die(const char *what, int err, const char *why)
{
	fprintf(stderr, "secagg-bench: %s: %d %s\n", what, err, why);
	exit(1);
}

/* Aggregator side of a step: hand @m to the server, timed. */
static void to_server(struct mcai_secagg_server *s, struct mcai_buf *m,
		      double *t_server, char *why)
{
	double t0 = now();
	int err = mcai_secagg_server_receive(s, m->data, m->len, why, 256);

	*t_server += now() - t0;
	if (err)
		die("receive", err, why);
}

static void run(u32 n, u32 degree, u32 dim, u32 drop_pct, struct result *res)
{
	struct mcai_secagg_params p;
	struct mcai_secagg_node **nd = calloc(n, sizeof(*nd));
	struct mcai_secagg_server *s;
	struct mcai_buf in, out;
	double *t_node = calloc(n, sizeof(*t_node)), t_server = 0, t0;
	u64 *sent = calloc(n, sizeof(*sent)), *recv = calloc(n, sizeof(*recv));
	u32 *want = calloc(dim, sizeof(*want)), *got = malloc(dim * 4);
	float *x = malloc(dim * sizeof(*x));
	u32 *w = malloc(dim * sizeof(*w));
	bool *dropped = calloc(n, sizeof(*dropped));
	struct mcai_secagg_report rep;
	char why[256] = "";
	u32 i, k, phase;
	int err;

	if (!nd || !t_node || !sent || !recv || !want || !got || !x || !w ||
	    !dropped)
		die("malloc", -ENOMEM, "");
	mcai_secagg_params_default(&p, 1, n, dim);
	p.degree = degree;
	p.threshold = mcai_secagg_holders(&p) / 2 + 1;
	for (i = 0; i < sizeof(p.graph_seed); i++)
		p.graph_seed[i] = (u8)rnd32();
	for (i = 0; i < n * drop_pct / 100; i++)
		dropped[(i * 7919u) % n] = true;
	mcai_buf_init(&in);
	mcai_buf_init(&out);
	t0 = now();
	s = mcai_secagg_server_new(&p, why, sizeof(why));
	t_server += now() - t0;
	if (!s)
		die("server_new", -EINVAL, why);
	for (i = 0; i < n; i++) {
		t0 = now();
		nd[i] = mcai_secagg_node_new(&p, i, why, sizeof(why));
		if (!nd[i])
			die("node_new", -EINVAL, why);
		err = mcai_secagg_node_advertise(nd[i], &out, why, sizeof(why));
		t_node[i] += now() - t0;
		if (err)
			die("advertise", err, why);
		sent[i] += out.len;
		to_server(s, &out, &t_server, why);
		mcai_buf_reset(&out);
	}
	for (phase = 0; phase < 3; phase++) {
		t0 = now();
		err = mcai_secagg_server_close(s, why, sizeof(why));
		t_server += now() - t0;
		if (err)
			die("close", err, why);
		for (i = 0; i < n; i++) {
			if (phase >= 1 && dropped[i])
				continue;
			mcai_buf_reset(&in);
			t0 = now();
			err = mcai_secagg_server_message_for(s, i, &in, why,
							     sizeof(why));
			t_server += now() - t0;
			if (err)
				die("message_for", err, why);
			recv[i] += in.len;
			if (phase == 1) {
				/* the update itself: small floats */
				for (k = 0; k < dim; k++)
					x[k] = (float)((int)(rnd32() % 2001) -
						       1000) * 1e-4f;
				mcai_secagg_encode(&p, x, w);
				for (k = 0; k < dim; k++)
					want[k] += w[k];
			}
			t0 = now();
			if (phase == 0)
				err = mcai_secagg_node_share_keys(nd[i], in.data,
								  in.len, &out,
								  why,
								  sizeof(why));
			else if (phase == 1)
				err = mcai_secagg_node_masked_input(nd[i],
								    in.data,
								    in.len, x,
								    &out, why,
								    sizeof(why));
			else
				err = mcai_secagg_node_unmask(nd[i], in.data,
							      in.len, &out, why,
							      sizeof(why));
			t_node[i] += now() - t0;
			if (err)
				die("node step", err, why);
			sent[i] += out.len;
			to_server(s, &out, &t_server, why);
			mcai_buf_reset(&out);
		}
	}
	t0 = now();
	err = mcai_secagg_server_close(s, why, sizeof(why));
	t_server += now() - t0;
	if (err)
		die("unmask", err, why);
	err = mcai_secagg_server_result(s, got, NULL, &rep, why, sizeof(why));
	if (err || memcmp(got, want, dim * 4))
		die("the sum is not the plain sum", err, why);

	memset(res, 0, sizeof(*res));
	for (i = 0, k = 0; i < n; i++) {
		if (dropped[i])
			continue;
		k++;
		res->node_ms += t_node[i] * 1e3;
		if (t_node[i] * 1e3 > res->node_max_ms)
			res->node_max_ms = t_node[i] * 1e3;
		res->sent += sent[i];
		res->recv += recv[i];
		res->server_sent += recv[i];
	}
	res->node_ms /= k;
	res->sent /= k;
	res->recv /= k;
	res->server_ms = t_server * 1e3;
	res->k = mcai_secagg_holders(&p);
	res->t = p.threshold;
	res->recovered = rep.recovered;

	for (i = 0; i < n; i++)
		mcai_secagg_node_free(nd[i]);
	mcai_secagg_server_free(s);
	mcai_buf_free(&in);
	mcai_buf_free(&out);
	free(nd);
	free(t_node);
	free(sent);
	free(recv);
	free(want);
	free(got);
	free(x);
	free(w);
	free(dropped);
}

int main(int argc, char **argv)
{
	static const u32 full_ns[] = { 10, 50, 100, 200 };
	static const u32 quick_ns[] = { 10, 50 };
	const u32 *ns = full_ns;
	u32 nn = 4, dim = 101770, i, g, d;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--quick")) {
			ns = quick_ns;
			nn = 2;
		} else if (!strcmp(argv[a], "--dim") && a + 1 < argc) {
			dim = (u32)strtoul(argv[++a], NULL, 10);
		} else {
			fprintf(stderr, "usage: secagg-bench [--quick] [--dim N]\n");
			return 2;
		}
	}
	/* the first round pays OpenSSL's provider loading: not a node's cost */
	{
		struct result warm;

		run(5, 0, 64, 0, &warm);
	}
	printf("secure aggregation, %u-parameter update (%.0f KB as 32-bit words), one round, one core\n\n",
	       dim, dim * 4 / 1024.0);
	for (d = 0; d < 2; d++) {
		u32 pct = d ? 10 : 0;

		if (d)
			printf("\n%u %% of the nodes drop after sharing their keys (the aggregator rebuilds\nand unmasks them; per-node figures are over the survivors)\n\n",
			       pct);
		printf("%5s %-9s %4s %4s | %10s %10s %10s %10s | %11s %9s\n",
		       "n", "graph", "k", "t", "node ms", "max ms",
		       "sent KB", "recv KB", "aggreg. ms", "recovered");
		for (i = 0; i < nn; i++) {
			for (g = 0; g < 2; g++) {
				u32 deg = g ? mcai_secagg_plus_degree(ns[i]) : 0;
				struct result r;

				if (g && !deg)
					continue;
				run(ns[i], deg, dim, pct, &r);
				printf("%5u %-9s %4u %4u | %10.1f %10.1f %10.1f %10.1f | %11.1f %9u\n",
				       ns[i], g ? "SecAgg+" : "complete", r.k,
				       r.t, r.node_ms, r.node_max_ms,
				       r.sent / 1024, r.recv / 1024,
				       r.server_ms, r.recovered);
				fflush(stdout);
			}
		}
	}
	printf("\nnode ms: X25519 key generation and agreement, Shamir sharing, AES-GCM of the\n"
	       "shares, and one AES-128-CTR mask expansion per neighbour plus the self mask.\n"
	       "On the complete graph a node's work and its key traffic grow linearly in n\n"
	       "(n - 1 mask expansions of the whole update), the aggregator's quadratically;\n"
	       "with SecAgg+ they follow k = 2 ceil(log2 n), as Bell et al. (CCS 2020) claim:\n"
	       "O(log^2 n + m log n) computation and O(log n + m) communication per client.\n"
	       "Bytes sent are dominated by the masked input (4 bytes a parameter) in both.\n");
	return 0;
}
