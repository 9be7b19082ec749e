/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Secure aggregation: the aggregator learns the sum of the nodes' updates
 * and nothing else about any one of them (Bonawitz et al., "Practical
 * Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017),
 * optionally over a sparse neighbourhood graph instead of all pairs (Bell
 * et al., "Secure Single-Server Aggregation with (Poly)Logarithmic
 * Overhead", CCS 2020: SecAgg+).
 *
 * Message-level state machines only: every step takes the bytes the peer
 * sent and appends the bytes to send to a struct mcai_buf (runtime/fed/proto.h),
 * so the daemon can carry them in its frames.  No networking, no clock:
 * the daemon decides when a phase is over (all in, or deadline) and calls
 * mcai_secagg_server_close().
 *
 * ==== A round ===========================================================
 *
 *   node i                                aggregator
 *   advertise()      ADVERT  -------->    receive()           U1
 *                                         close(); message_for(i)
 *   share_keys()     <--------  KEYS      (i's neighbours in U1)
 *                    SHARES  -------->    receive()           U2
 *                                         close(); message_for(i)
 *   masked_input()   <------  SHARES_FOR  (ciphertexts to i from U2)
 *                    MASKED  -------->    receive()           U3
 *                                         close(); message_for(i)
 *   unmask()         <-----  UNMASK_REQ   (survived / dropped neighbours)
 *                    UNMASK  -------->    receive()           U4
 *                                         close(); result()
 *
 * Each node has two fresh X25519 key pairs per round: c (agrees the key
 * that encrypts the Shamir shares it sends a neighbour) and s (agrees the
 * pairwise mask seed), and a 32-byte self-mask seed b.  It splits s's
 * private key and b into t-of-d Shamir shares, one per neighbour, and sends
 * each neighbour its two shares encrypted with AES-256-GCM.  Its masked
 * input is
 *
 *   y_i = enc(x_i) + PRG(b_i) + sum_{j in U2, j ~ i} sgn(i - j) PRG(s_ij)
 *
 * in Z_{2^32}, where s_ij comes from X25519(s_i, s_j) through HKDF-SHA256
 * bound to the round and the pair, and PRG is AES-128-CTR from a zero IV.
 * Pairwise masks cancel exactly in the sum; the aggregator removes the
 * self masks of the survivors (U3) from t shares of each b, and the
 * pairwise masks that survivors added towards nodes that dropped after
 * sharing (U2 \ U3) from t shares of each dropped node's s key.  Every
 * rebuilt secret is checked (b against the commitment in ADVERT, s against
 * s_pk); with more than t shares at hand, one bad share is worked around.
 *
 * ==== The one rule that keeps a node private ============================
 *
 * If the aggregator held both b_i and s_i of a node whose y_i it also has,
 * it could unmask y_i alone.  An honest node therefore reveals, for each
 * neighbour, only one kind of share in the whole round: b's share when the
 * aggregator says that neighbour survived, s's share when it says it
 * dropped.  mcai_secagg_node_unmask() refuses (-EPERM) a request that puts
 * one node in both lists, or that contradicts what an earlier request of
 * the same round made it reveal.  The threshold must be a strict majority
 * of the d holders (t > d/2): two sets of t holders then always share a
 * node, which refuses, so the aggregator cannot gather t shares of both
 * kinds by asking disjoint halves.
 *
 * ==== Signed rounds: an aggregator that lies (MCAI_SECAGG_F_SIGNED) ====
 *
 * The rule above assumes the aggregator relays honestly.  One that does
 * not can (a) hand a node its own X25519 keys in place of the
 * neighbours' (KEYS), so the node encrypts its shares to the aggregator,
 * which then rebuilds both of its secrets and unmasks its input alone; or
 * (b) tell different nodes different survivor sets.  In a signed round
 * (Bonawitz et al. 2017, the malicious-server variant):
 *
 *  - each node signs its ADVERT with its fleet key (the private key of
 *    its TLS certificate) and sends the certificate along; KEYS relays
 *    certificate and signature, and a node checks both (the certificate
 *    chains to the fleet CA, the signature covers round, node id, the
 *    round's graph parameters and the three advertised values) before it
 *    encrypts anything to a neighbour.  A key not signed by a fleet
 *    member is refused, and with it the whole KEYS message.
 *  - ConsistencyCheck: after MASKED the aggregator sends every survivor
 *    the whole survivor set U3 (CONSIST_REQ); each node signs it
 *    (CONSIST) once per round and refuses to sign a second, different
 *    one; UNMASK_REQ then carries the signatures of the node's
 *    neighbours, and the node reveals nothing unless at least t of them
 *    are valid signatures over the very set it signed, none is over
 *    another set, and the request's survived/dropped lists agree with
 *    that set.  In a complete graph t + 1 signers (the node and t
 *    neighbours) are more than n/2, so two nodes that reveal saw the same
 *    U3: no honest node is told a survivor dropped while another is told
 *    it survived.  With SecAgg+ the t signers are of one neighbourhood,
 *    so the guarantee is per neighbourhood (two nodes can only be shown
 *    different sets when their neighbourhoods' signers do not meet).
 *
 * Nodes that collude with the aggregator are outside this model (as in
 * the unsigned rule, they count towards t), and so is a stolen node key
 * signing for several ids: one certificate behind two ids is not refused
 * (the test PKI shares certificates).  Certificates must be signed by the
 * fleet CA directly (no intermediates travel in ADVERT).
 *
 * ==== Fixed point =======================================================
 *
 * A float x becomes the 32-bit word enc(x) = round(clamp(x, -clip, clip) *
 * 2^scale_bits) mod 2^32 (two's complement, round half away from zero).
 * mcai_secagg_params_check() requires n * (floor(clip * 2^scale_bits) + 1)
 * <= 2^31 - 1, so the sum of n encodings never wraps as a signed 32-bit
 * integer and decodes exactly to the sum of the rounded values: the decoded
 * sum differs from the sum of the clamped floats by at most n / 2^(f + 1)
 * per coordinate (f = scale_bits), plus the float rounding of the result.
 * Defaults: f = 16, clip = 4 (up to 8191 nodes, resolution 1.5e-5).
 *
 * ==== Narrow ring (ring_bits 16) ========================================
 *
 * The masks are drawn in Z_{2^32} as always; with ring_bits 16 the node
 * sends y_i mod 2^16 (u16 words) and the aggregator reduces its sum mod
 * 2^16 after unmasking.  Reduction mod 2^16 is a ring homomorphism of
 * Z_{2^32}, so the masks cancel exactly as in the wide ring and the sum is
 * that of the inputs mod 2^16.  Only mcai_secagg_node_masked_words() takes
 * such input (words the caller has already put in the ring: compressed
 * updates, runtime/fed/compress.h, which bounds what the sum may hold);
 * the float fixed point above needs the 32-bit ring.  result()'s @sum is
 * then the words sign-extended from 16 bits, unscaled.
 *
 * ==== Shamir =============================================================
 *
 * Over GF(p), p = 2^61 - 1.  A 32-byte secret is five limbs (four of 7
 * bytes, one of 4, little-endian), each shared with its own random
 * polynomial of degree t - 1.  Holder j's share is at x = j + 1.
 *
 * ==== SecAgg+ graph =====================================================
 *
 * degree = 0 (or >= n - 1): every node is every other node's neighbour.
 * Otherwise degree d is even and < n - 1: the nodes are placed on a ring
 * in a random order drawn from graph_seed (AES-128-CTR keystream, Fisher-
 * Yates with rejection sampling) and each is linked to the d/2 nearest on
 * either side: a Harary graph H(d, n) with shuffled labels.  Bell et al.
 * need the graph to be unknown to the nodes until they are committed to
 * the round: the aggregator should draw the seed after sampling.  With
 * d = 2 ceil(log2 n), a neighbourhood is 2 log2 n + 1 nodes counting the
 * node itself (mcai_secagg_plus_degree()).
 *
 * ==== Wire formats (all integers little-endian) =========================
 *
 * Every message starts with a 16-byte header:
 *   u8 type (enum mcai_secagg_msg);  u8 version (1);  u16 zero;
 *   u32 node (the sender, or for aggregator messages the recipient);
 *   u64 round
 * ADVERT      c_pk[32] s_pk[32] commit[32]: SHA-256("mcai-secagg commit\0",
 *             u64 round, u32 node, b), checked against the rebuilt b
 * KEYS        u32 k, then k x (u32 id, c_pk[32], s_pk[32]), ids ascending
 * SHARES      u32 k, then k x (u32 to, ct[104]), recipients ascending
 * SHARES_FOR  u32 k, then k x (u32 from, ct[104]), senders ascending
 *             ct = AES-256-GCM(u32 from, u32 to, s_pk of from, s-share,
 *             b-share) + tag, a share being u32 x then 5 x u64 limbs;
 *             nonce = from, to, 0.  The sender's s_pk inside lets the
 *             receiver check the one the aggregator gave it: a wrong one
 *             would not fail anywhere, the masks would just not cancel.
 * MASKED      u32 dim, then dim x u32 (ring_bits 16: dim x u16)
 * UNMASK_REQ  u32 survivors (|U3| in the whole round);  u32 ns, then ns x
 *             u32 survived neighbours;  u32 nd, then nd x u32 dropped ones
 * UNMASK      u32 k, then k x (u32 about, u8 kind, share)
 *
 * Signed rounds (MCAI_SECAGG_F_SIGNED; cert is DER, 1 .. CERT_MAX bytes,
 * sig 1 .. SIG_MAX bytes, each preceded by its u16 length):
 * ADVERT      c_pk s_pk commit, u16 cl, cert, u16 sl, sig: a signature
 *             (SHA-256; none for Ed25519) over "mcai-secagg advert\0",
 *             u64 round, u32 node, u32 nodes, u32 threshold, u32 degree,
 *             graph_seed[32], c_pk, s_pk, commit
 * KEYS        u32 k, then k x (u32 id, c_pk, s_pk, commit, u16 cl, cert,
 *             u16 sl, sig)
 * CONSIST_REQ u32 k, then k x u32 id: U3, ascending
 * CONSIST     u16 sl, sig: over "mcai-secagg consistency\0", u64 round,
 *             u32 node, u32 k, SHA-256 of the k ids as sent (u32 LE each)
 * UNMASK_REQ  as above, then u32 k, then k x (u32 id, u16 sl, sig): the
 *             CONSIST signatures of the recipient's neighbours, ascending
 */
#ifndef MCAI_SECAGG_H
#define MCAI_SECAGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/engine/port.h"
#include "runtime/fed/proto.h"

#define MCAI_SECAGG_KEY_LEN	32	/* X25519 keys, seeds */
#define MCAI_SECAGG_MAX_NODES	4096
#define MCAI_SECAGG_HDR_LEN	16
#define MCAI_SECAGG_SHARE_LEN	44	/* u32 x + 5 x u64 */
#define MCAI_SECAGG_CT_LEN	(8 + 32 + 2 * MCAI_SECAGG_SHARE_LEN + 16)
#define MCAI_SECAGG_CERT_MAX	4096	/* a DER certificate in ADVERT */
#define MCAI_SECAGG_SIG_MAX	1024	/* a signature (RSA-8192) */

/* mcai_secagg_params.flags */
#define MCAI_SECAGG_F_SIGNED	0x1	/* signed keys and ConsistencyCheck */

#define MCAI_SHAMIR_LIMBS	5
#define MCAI_SHAMIR_P		((UINT64_C(1) << 61) - 1)

enum mcai_secagg_msg {
	MCAI_SECAGG_ADVERT = 1,
	MCAI_SECAGG_KEYS,
	MCAI_SECAGG_SHARES,
	MCAI_SECAGG_SHARES_FOR,
	MCAI_SECAGG_MASKED,
	MCAI_SECAGG_UNMASK_REQ,
	MCAI_SECAGG_UNMASK,
	MCAI_SECAGG_CONSIST_REQ,	/* signed rounds only */
	MCAI_SECAGG_CONSIST,
};

/* Share kinds in UNMASK. */
enum mcai_secagg_kind {
	MCAI_SECAGG_SELF = 1,	/* of b: the neighbour survived */
	MCAI_SECAGG_PAIR = 2,	/* of s's private key: it dropped */
};

/* Public per-round parameters: every node and the aggregator agree. */
struct mcai_secagg_params {
	u64 round;		/* >= 1: keys, masks and messages are bound to it */
	u32 nodes;		/* n: ids 0 .. n - 1, 2 .. MCAI_SECAGG_MAX_NODES */
	u32 threshold;		/* t: d/2 < t <= d, d = neighbours per node */
	u32 degree;		/* 0: complete graph; else even, < n - 1 */
	u32 dim;		/* words per update, 1 .. MCAI_PROTO_MAX_FLOATS */
	u32 scale_bits;		/* fixed point: x * 2^scale_bits, 0 .. 24 */
	float clip;		/* each coordinate clamped to [-clip, clip] */
	u8 graph_seed[32];	/* public, draws the SecAgg+ graph */
	u32 flags;		/* MCAI_SECAGG_F_* */
	u32 ring_bits;		/* 32 (0 means 32) or 16: see "Narrow ring" */
};

/* Outcome of a round, filled by the aggregator. */
struct mcai_secagg_report {
	u32 advertised;		/* |U1| */
	u32 shared;		/* |U2| */
	u32 masked;		/* |U3|: the updates in the sum */
	u32 answered;		/* |U4|: answered the unmask request */
	u32 recovered;		/* dropped after sharing, masks removed */
};

enum mcai_secagg_phase {
	MCAI_SECAGG_PH_ADVERTISE,
	MCAI_SECAGG_PH_SHARE,
	MCAI_SECAGG_PH_MASKED,
	MCAI_SECAGG_PH_CONSIST,		/* signed rounds only */
	MCAI_SECAGG_PH_UNMASK,
	MCAI_SECAGG_PH_DONE,
	MCAI_SECAGG_PH_FAILED,
};

/*
 * Defaults: complete graph, t = floor((n - 1) / 2) + 1, f = 16, clip = 4,
 * graph seed zero.
 */
void mcai_secagg_params_default(struct mcai_secagg_params *p, u64 round,
				u32 nodes, u32 dim);
/* SecAgg+: 2 ceil(log2 n), or 0 (complete) when that is not below n - 1. */
u32 mcai_secagg_plus_degree(u32 nodes);
/* 0 or -EINVAL with the reason. */
int mcai_secagg_params_check(const struct mcai_secagg_params *p, char *why,
			     size_t why_len);
/* Neighbours per node: n - 1 or degree. */
u32 mcai_secagg_holders(const struct mcai_secagg_params *p);
/*
 * The neighbours of @id, ascending, into @out (mcai_secagg_holders()
 * entries).  Returns their count, or -EINVAL / -ENOMEM.
 */
int mcai_secagg_neighbours(const struct mcai_secagg_params *p, u32 id,
			   u32 *out);

/* Fixed point (see above): @dim coordinates. */
void mcai_secagg_encode(const struct mcai_secagg_params *p, const float *x,
			u32 *w);
void mcai_secagg_decode(const struct mcai_secagg_params *p, const u32 *w,
			float *x);

/* ---- Shamir over GF(2^61 - 1), usable on its own -------------------- */

struct mcai_shamir_share {
	u32 x;				/* 1 .. 2^32 - 1 */
	u64 y[MCAI_SHAMIR_LIMBS];
};

/*
 * Split a 32-byte secret into @k shares at the points xs[0..k) (distinct,
 * non-zero), any @t of which rebuild it (1 <= t <= k).  Coefficients from
 * OpenSSL's RAND_bytes.  0, -EINVAL, or -EIO when the RNG fails.
 */
int mcai_shamir_split(const u8 secret[MCAI_SECAGG_KEY_LEN], u32 t, u32 k,
		      const u32 *xs, struct mcai_shamir_share *out);
/*
 * Rebuild from the first @t of @k shares: -ENODATA when k < t, -EINVAL on
 * a repeated or zero x, -EBADMSG when a limb comes out too wide (shares
 * that do not belong together, detected with high probability).
 */
int mcai_shamir_combine(const struct mcai_shamir_share *sh, u32 k, u32 t,
			u8 secret[MCAI_SECAGG_KEY_LEN]);

/* ---- Fleet identity (signed rounds) ------------------------------------ */

struct evp_pkey_st;
struct x509_store_st;

/*
 * Borrowed, not copied (except the certificate bytes): @key and @ca must
 * outlive the node or aggregator state they are given to.
 */
struct mcai_secagg_auth {
	struct evp_pkey_st *key;	/* node: its fleet private key */
	const u8 *cert;			/* node: its leaf certificate, DER */
	size_t cert_len;
	struct x509_store_st *ca;	/* the fleet CA: every peer chains to it */
};

/* ---- Node side --------------------------------------------------------- */

struct mcai_secagg_node;

/* A node of one round; its keys and seed are drawn here. */
struct mcai_secagg_node *mcai_secagg_node_new(const struct mcai_secagg_params *p,
					      u32 id, char *why, size_t why_len);
void mcai_secagg_node_free(struct mcai_secagg_node *nd);
/*
 * Signed rounds: the node's key, certificate and the fleet CA, before
 * advertise().  0 or -EINVAL (missing piece, certificate too long).
 */
int mcai_secagg_node_set_auth(struct mcai_secagg_node *nd,
			      const struct mcai_secagg_auth *a, char *why,
			      size_t why_len);

/*
 * Each step appends its one message to @out and returns 0, or a negative
 * errno with the reason in @why (NULL allowed) and the node unchanged:
 * -EPROTO   called out of order
 * -EBADMSG  input malformed, for another round or node, or not decrypting
 * -ENODATA  fewer than t neighbours left: the node stops here
 * -EPERM    (unmask) the request would expose this node's neighbour
 * -ENOMEM, -EIO (OpenSSL), or @out's sticky error.
 */
int mcai_secagg_node_advertise(struct mcai_secagg_node *nd,
			       struct mcai_buf *out, char *why, size_t why_len);
int mcai_secagg_node_share_keys(struct mcai_secagg_node *nd, const u8 *keys,
				size_t len, struct mcai_buf *out, char *why,
				size_t why_len);
/* @x: dim floats, encoded as above. */
int mcai_secagg_node_masked_input(struct mcai_secagg_node *nd,
				  const u8 *shares, size_t len, const float *x,
				  struct mcai_buf *out, char *why,
				  size_t why_len);
/* The same from words already in the ring (enc(x) or any other). */
int mcai_secagg_node_masked_words(struct mcai_secagg_node *nd,
				  const u8 *shares, size_t len, const u32 *w,
				  struct mcai_buf *out, char *why,
				  size_t why_len);
/*
 * Signed rounds, CONSIST_REQ: sign the survivor set.  Asked again with the
 * same set, answers again; with another set, -EPERM (the aggregator
 * equivocates).  -EPERM too when the set leaves this node out or names a
 * neighbour that never shared with it.
 */
int mcai_secagg_node_confirm(struct mcai_secagg_node *nd, const u8 *req,
			     size_t len, struct mcai_buf *out, char *why,
			     size_t why_len);
/*
 * May be called again in the same round (a lost answer): a request that
 * asks for what was already revealed is answered again; one that asks for
 * the other kind of share of any neighbour is refused whole.
 */
int mcai_secagg_node_unmask(struct mcai_secagg_node *nd, const u8 *req,
			    size_t len, struct mcai_buf *out, char *why,
			    size_t why_len);

/* ---- Aggregator side --------------------------------------------------- */

struct mcai_secagg_server;

struct mcai_secagg_server *
mcai_secagg_server_new(const struct mcai_secagg_params *p, char *why,
		       size_t why_len);
void mcai_secagg_server_free(struct mcai_secagg_server *s);
/*
 * Signed rounds: with @a->ca the aggregator checks every ADVERT's
 * certificate and signature, and every CONSIST signature, as the nodes
 * will (a bad one is refused at once instead of failing the round at the
 * nodes).  Optional; @a->key is not used.
 */
int mcai_secagg_server_set_auth(struct mcai_secagg_server *s,
				const struct mcai_secagg_auth *a, char *why,
				size_t why_len);
enum mcai_secagg_phase mcai_secagg_server_phase(const struct mcai_secagg_server *s);

/*
 * A node's message of the current phase.  -EBADMSG malformed or wrong
 * round, -EPROTO wrong phase (a late message is dropped, never used),
 * -EPERM a node that is out of the round, -EALREADY a duplicate.  A
 * rejected message changes nothing.
 */
int mcai_secagg_server_receive(struct mcai_secagg_server *s, const u8 *msg,
			       size_t len, char *why, size_t why_len);
/*
 * End the current phase (everyone answered, or the deadline passed).  The
 * last one, UNMASK, rebuilds the missing secrets and unmasks the sum.
 * -ENODATA with the reason when too few nodes are left or a secret cannot
 * be rebuilt (the round is then FAILED), -EBADMSG when a rebuilt key does
 * not match the one advertised.
 */
int mcai_secagg_server_close(struct mcai_secagg_server *s, char *why,
			     size_t why_len);
/*
 * After a close(): the message for node @id in the next phase (KEYS,
 * SHARES_FOR, CONSIST_REQ or UNMASK_REQ).  -ENOENT when @id is out of the round.
 */
int mcai_secagg_server_message_for(struct mcai_secagg_server *s, u32 id,
				   struct mcai_buf *out, char *why,
				   size_t why_len);
/*
 * When DONE: the sum over U3 as ring words (@words, may be NULL) and
 * decoded (@sum, may be NULL), and the report (may be NULL).  The error
 * and reason of a FAILED round otherwise.
 */
int mcai_secagg_server_result(const struct mcai_secagg_server *s, u32 *words,
			      float *sum, struct mcai_secagg_report *rep,
			      char *why, size_t why_len);

#endif /* MCAI_SECAGG_H */
