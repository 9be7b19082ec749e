// SPDX-License-Identifier: GPL-2.0
/*
 * Verifier of blob format v2 (graphs).  As for v1, every field comes from
 * an attacker: range arithmetic is done in 64 bits on values of at most
 * 32 bits, nothing is read before its range is checked, and the work is
 * bounded by the header's counts, which are capped:
 *
 *   O(T^2) for the arena and constant overlap checks (T <= 512 tensors:
 *   at most 130816 pairs), O(ops * MCAI_BLOB2_OP_MAX_IN) for the graph,
 *   O(params_size + data_size) for decoding and scanning parameters
 *   (each constant tensor is decoded and scanned once, and constants may
 *   not overlap, so the sums stay within the data section), plus what
 *   each op's *_check() states (the tree check is O(nodes + values)).
 *
 * The reason is a fixed string; the offset names the table entry (tensor,
 * op or io record) or the field at fault.
 */
#include "models/engine/graph.h"
#include "models/engine/sha256.h"
#include "models/engine/simd.h"

#define G2H(f)		((u32)offsetof(struct mcai_blob2_header, f))
#define G2T(f)		((u32)offsetof(struct mcai_blob2_tensor, f))
#define G2O(f)		((u32)offsetof(struct mcai_blob2_op, f))
#define G2IO(f)		((u32)offsetof(struct mcai_blob2_io, f))
#define G2H_SIZE	((u32)sizeof(struct mcai_blob2_header))
#define G2T_SIZE	((u32)sizeof(struct mcai_blob2_tensor))
#define G2O_SIZE	((u32)sizeof(struct mcai_blob2_op))
#define G2IO_SIZE	((u32)sizeof(struct mcai_blob2_io))

/* softmax's output quantisation, 1/256 as float bits (TFLite's rule) */
#define MCAI_SCALE_1_256	0x3b800000U

#define MCAI_ALIGN8(x)		(((x) + 7) & ~7ULL)

struct mcai_gctx {
	const u8 *blob;
	u32 size;		/* digest excluded */
	struct mcai_verdict *v;
	const struct mcai_limits *lim;
	struct mcai_graph *g;
	u8 *state;
	u32 state_size;
	u32 used;
	u32 tensor_off, op_off, io_off;
	u32 params_off, params_size, data_off, data_size;
	u32 tv_off;
};

static int mcai_gfail(struct mcai_gctx *c, const char *reason, u32 offset)
{
	c->v->reason = reason;
	c->v->offset = offset;
	return -1;
}

static bool mcai_gzero(const u8 *b, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* 1..len-1 characters of [A-Za-z0-9_.-], then NUL padding. */
static bool mcai_gname_ok(const char *name, u32 len)
{
	u32 i;

	for (i = 0; i < len && name[i]; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.'))
			return false;
	}
	return i > 0 && i < len && mcai_gzero((const u8 *)name + i, len - i);
}

/*
 * The weights of a conv2d or fully connected op packed for the active
 * SIMD path, in what the state has left: best effort, since the bound
 * of mcai_graph_state_size() may not cover weights two ops share.
 */
static void mcai_gpack(struct mcai_gctx *c, struct mcai_pack *pk,
		       const s8 *w, u32 n, u32 k, u32 groups, s32 in_zp)
{
	u64 at = MCAI_ALIGN8((u64)c->used);
	u32 used;

	if (at >= c->state_size)
		return;
	used = mcai_simd_pack(pk, w, n, k, groups, in_zp, c->state + at,
			      (u32)(c->state_size - at));
	if (used)
		c->used = (u32)(at + used);
}

/* 8-byte aligned room in the state; the size bound makes this not fail. */
static void *mcai_galloc(struct mcai_gctx *c, u64 bytes)
{
	u64 at = MCAI_ALIGN8((u64)c->used);

	if (at > c->state_size || bytes > c->state_size - at)
		return NULL;
	c->used = (u32)(at + bytes);
	return c->state + at;
}

static u32 mcai_dsize(u8 dtype)
{
	return dtype == MCAI_DT_INT8 ? 1 : dtype == MCAI_DT_INT16 ? 2 : 4;
}

u32 mcai_blob_format(const void *blob, u32 size)
{
	const u8 *h = blob;

	if (size < G2H(header_size))
		return 0;
	return mcai_le16(h + G2H(format_version));
}

u32 mcai_graph_state_size(const void *blob, u32 size,
			  const struct mcai_limits *lim,
			  struct mcai_verdict *v)
{
	const u8 *h = blob;
	u32 nt, no, ps, ds;
	u64 n;

	v->reason = NULL;
	v->offset = 0;
	if (size > lim->max_blob_size) {
		v->reason = "blob larger than max_blob_size";
		return 0;
	}
	if (size < G2H_SIZE + MCAI_DIGEST_LEN) {
		v->reason = "blob shorter than header and digest";
		return 0;
	}
	nt = mcai_le32(h + G2H(n_tensors));
	no = mcai_le32(h + G2H(n_ops));
	ps = mcai_le32(h + G2H(params_size));
	ds = mcai_le32(h + G2H(data_size));
	if (!nt || nt > MCAI_BLOB2_MAX_TENSORS) {
		v->reason = "tensor count out of range";
		v->offset = G2H(n_tensors);
		return 0;
	}
	if (!no || no > MCAI_BLOB2_MAX_OPS) {
		v->reason = "op count out of range";
		v->offset = G2H(n_ops);
		return 0;
	}
	if (ps > size || ds > size) {
		v->reason = "section larger than the blob";
		v->offset = ps > size ? G2H(params_size) : G2H(data_size);
		return 0;
	}
	/*
	 * Tables, then decoded arrays: every s32/s16 decoded comes from as
	 * many bytes of params or data (constants may not overlap), each
	 * allocation rounded up to 8 (4 arrays an op, 1 a tensor).
	 */
	n = MCAI_ALIGN8((u64)nt * sizeof(struct mcai_gtensor)) +
	    MCAI_ALIGN8((u64)no * sizeof(struct mcai_gop)) +
	    (u64)ps + ds + 8ULL * (4ULL * no + nt) + 16;
	/*
	 * The SIMD paths' packed weights (simd.h): an op's copy is its
	 * weights, 3 bytes of padding and 4 of corr a channel, and a
	 * constant; its weights and bias (4 bytes a channel) are in the
	 * data section and its multipliers and shifts (8) in the params,
	 * so ps + ds covers every op whose weights no other op shares.
	 * An op that finds no room left runs the scalar kernel.
	 */
	if (mcai_simd_active() != MCAI_SIMD_OFF)
		n += (u64)ps + ds + (u64)no * MCAI_SIMD_PACK_EXTRA;
	if (n > U32_MAX) {
		v->reason = "blob too large for a v2 state";
		return 0;
	}
	return (u32)n;
}

static int mcai_gsections(struct mcai_gctx *c, u32 nt, u32 no, u32 nio)
{
	struct { u64 start, len; u32 where; } r[6];
	u32 i, j;

	r[0].start = 0;
	r[0].len = G2H_SIZE;
	r[0].where = 0;
	r[1].start = c->tensor_off;
	r[1].len = (u64)nt * G2T_SIZE;
	r[1].where = G2H(tensor_off);
	r[2].start = c->op_off;
	r[2].len = (u64)no * G2O_SIZE;
	r[2].where = G2H(op_off);
	r[3].start = c->io_off;
	r[3].len = (u64)nio * G2IO_SIZE;
	r[3].where = G2H(io_off);
	r[4].start = c->params_off;
	r[4].len = c->params_size;
	r[4].where = G2H(params_off);
	r[5].start = c->data_off;
	r[5].len = c->data_size;
	r[5].where = G2H(data_off);
	for (i = 0; i < 6; i++) {
		if (r[i].start % MCAI_BLOB_ALIGN)
			return mcai_gfail(c, "misaligned section", r[i].where);
		if (r[i].start > c->size || r[i].len > c->size - r[i].start)
			return mcai_gfail(c, "section out of bounds",
					  r[i].where);
		for (j = 0; j < i; j++)
			if (r[i].len && r[j].len &&
			    r[i].start < r[j].start + r[j].len &&
			    r[j].start < r[i].start + r[i].len)
				return mcai_gfail(c, "overlapping sections",
						  r[i].where);
	}
	return 0;
}

/* Decode an int16/int32 constant into native elements in the state. */
static int mcai_gdecode_const(struct mcai_gctx *c, struct mcai_gtensor *t,
			      u32 to)
{
	const u8 *src = c->blob + c->data_off + t->offset;
	u32 n = t->bytes / mcai_dsize(t->dtype), i;
	void *dst;

	if (t->dtype == MCAI_DT_INT8) {
		t->data = src;
		return 0;
	}
	dst = mcai_galloc(c, t->bytes);
	if (!dst)
		return mcai_gfail(c, "state buffer too small", to);
	if (t->dtype == MCAI_DT_INT16) {
		s16 *d = dst;

		for (i = 0; i < n; i++)
			d[i] = (s16)mcai_le16(src + 2 * i);
	} else {
		s32 *d = dst;

		for (i = 0; i < n; i++)
			d[i] = mcai_les32(src + 4 * i);
	}
	t->data = dst;
	return 0;
}

static int mcai_gtensors(struct mcai_gctx *c, const struct mcai_limits *lim)
{
	struct mcai_graph *g = c->g;
	u32 i, j, d;

	for (i = 0; i < g->n_tensors; i++) {
		u32 to = c->tensor_off + i * G2T_SIZE;
		const u8 *b = c->blob + to;
		struct mcai_gtensor *t = &g->t[i];
		u8 rank = b[G2T(rank)], qa = b[G2T(qc_axis)];
		u32 qc_off = mcai_le32(b + G2T(qc_off));
		u32 qc_count = mcai_le32(b + G2T(qc_count));
		u32 size = mcai_le32(b + G2T(size));
		u64 elems;

		memset(t, 0, sizeof(*t));
		t->dtype = b[G2T(dtype)];
		t->kind = b[G2T(kind)];
		t->zp = mcai_les32(b + G2T(zero_point));
		t->scale = mcai_le32(b + G2T(scale));
		t->offset = mcai_le32(b + G2T(offset));
		t->first = -1;
		t->last = -1;
		if (!mcai_gzero(b + G2T(reserved), 16))
			return mcai_gfail(c, "reserved tensor field not zero",
					  to + G2T(reserved));
		if (t->dtype < MCAI_DT_INT8 || t->dtype > MCAI_DT_INT32)
			return mcai_gfail(c, "unknown tensor dtype",
					  to + G2T(dtype));
		if (t->kind != MCAI_TK_CONST && t->kind != MCAI_TK_ARENA)
			return mcai_gfail(c, "unknown tensor kind",
					  to + G2T(kind));
		if (rank < 1 || rank > 4)
			return mcai_gfail(c, "tensor rank outside 1..4",
					  to + G2T(rank));
		for (d = 0; d < 4; d++) {
			t->dims[d] = mcai_le32(b + G2T(dims) + 4 * d);
			if (!t->dims[d] || t->dims[d] > lim->max_dim)
				return mcai_gfail(c, "tensor dimension out of range",
						  to + G2T(dims) + 4 * d);
			if (d < 4U - rank && t->dims[d] != 1)
				return mcai_gfail(c, "tensor dimension beyond its rank",
						  to + G2T(dims) + 4 * d);
		}
		elems = mcai_op_elems(t->dims);
		if (elems > MCAI_OP_MAX_ELEMS)
			return mcai_gfail(c, "tensor too large", to + G2T(dims));
		if ((u64)size != elems * mcai_dsize(t->dtype))
			return mcai_gfail(c, "tensor size is not its shape's",
					  to + G2T(size));
		t->bytes = size;
		if (t->dtype == MCAI_DT_INT8 ? t->zp < -128 || t->zp > 127 :
		    t->dtype == MCAI_DT_INT16 ? t->zp < -32768 || t->zp > 32767 :
		    t->zp != 0)
			return mcai_gfail(c, "zero point outside its dtype",
					  to + G2T(zero_point));
		if (qc_count) {
			if (qa > 3 || qc_count != t->dims[qa])
				return mcai_gfail(c, "per-channel count is not the axis'",
						  to + G2T(qc_count));
			if (qc_off % MCAI_BLOB_ALIGN ||
			    (u64)qc_off + 4ULL * qc_count > c->data_size)
				return mcai_gfail(c, "per-channel scales out of bounds",
						  to + G2T(qc_off));
		} else if (qc_off || qa) {
			return mcai_gfail(c, "per-channel fields without a count",
					  to + G2T(qc_off));
		}
		if (t->offset % MCAI_BLOB_ALIGN)
			return mcai_gfail(c, "misaligned tensor",
					  to + G2T(offset));
		if (t->kind == MCAI_TK_CONST) {
			if ((u64)t->offset + size > c->data_size)
				return mcai_gfail(c, "constant outside the data section",
						  to + G2T(offset));
		} else if ((u64)t->offset + size > c->g->arena_size) {
			return mcai_gfail(c, "tensor outside the arena",
					  to + G2T(offset));
		}
		/* Decoded once each: overlapping constants could multiply it. */
		for (j = 0; t->kind == MCAI_TK_CONST && j < i; j++) {
			const struct mcai_gtensor *o = &g->t[j];

			if (o->kind == MCAI_TK_CONST &&
			    t->offset < (u64)o->offset + o->bytes &&
			    o->offset < (u64)t->offset + t->bytes)
				return mcai_gfail(c, "overlapping constants",
						  to + G2T(offset));
		}
		if (t->kind == MCAI_TK_CONST && mcai_gdecode_const(c, t, to))
			return -1;
	}
	return 0;
}

static int mcai_gio(struct mcai_gctx *c)
{
	struct mcai_graph *g = c->g;
	u32 k, j;

	for (k = 0; k < g->n_inputs + g->n_outputs; k++) {
		u32 io = c->io_off + k * G2IO_SIZE;
		const u8 *b = c->blob + io;
		u32 ti = mcai_le32(b + G2IO(tensor));
		bool in = k < g->n_inputs;
		struct mcai_gtensor *t;

		if (mcai_le32(b + G2IO(reserved)))
			return mcai_gfail(c, "reserved io field not zero",
					  io + G2IO(reserved));
		if (!mcai_gname_ok((const char *)b + G2IO(name),
				   MCAI_BLOB2_IO_NAME_LEN))
			return mcai_gfail(c, "bad io name", io + G2IO(name));
		if (ti >= g->n_tensors)
			return mcai_gfail(c, "io tensor index out of range",
					  io + G2IO(tensor));
		t = &g->t[ti];
		if (t->kind != MCAI_TK_ARENA)
			return mcai_gfail(c, "io tensor is a constant",
					  io + G2IO(tensor));
		if (in) {
			if (t->is_input)
				return mcai_gfail(c, "input listed twice",
						  io + G2IO(tensor));
			t->is_input = 1;
			t->first = 0;
			g->input[k] = ti;
			g->input_name[k] = (const char *)b + G2IO(name);
		} else {
			if (t->is_input)
				return mcai_gfail(c, "output is an input",
						  io + G2IO(tensor));
			for (j = 0; j < k - g->n_inputs; j++)
				if (g->output[j] == ti)
					return mcai_gfail(c, "output listed twice",
							  io + G2IO(tensor));
			g->output[k - g->n_inputs] = ti;
			g->output_name[k - g->n_inputs] =
				(const char *)b + G2IO(name);
		}
	}
	return 0;
}

/* Op parameter words, read through the checked params range. */
struct mcai_gparams {
	const u8 *p;
	u32 words;
};

static s32 mcai_gw(const struct mcai_gparams *pp, u32 k)
{
	return mcai_les32(pp->p + 4 * k);
}

/* @n s32 words from word @k, native, in the state. */
static const s32 *mcai_gwords(struct mcai_gctx *c,
			      const struct mcai_gparams *pp, u32 k, u32 n)
{
	s32 *d = mcai_galloc(c, 4ULL * n);
	u32 i;

	if (!d)
		return NULL;
	for (i = 0; i < n; i++)
		d[i] = mcai_gw(pp, k + i);
	return d;
}

static bool mcai_gact(s32 lo, s32 hi)
{
	return lo >= -128 && hi <= 127 && lo <= hi;
}

/* A dtype (and for weights and biases, a kind) an op requires of a tensor. */
static bool mcai_gis(const struct mcai_gtensor *t, u8 dtype, bool konst)
{
	return t->dtype == dtype && (!konst || t->kind == MCAI_TK_CONST);
}

static bool mcai_gsame(const u32 a[4], const u32 b[4])
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static const char *mcai_gweights(struct mcai_gtensor *w)
{
	const char *why;

	if (w->checked)
		return NULL;
	why = mcai_op_check_weights(w->data, w->bytes);
	w->checked = 1;
	return why;
}

static const char *mcai_gconv(struct mcai_gctx *c, struct mcai_gop *op,
			      const struct mcai_gparams *pp)
{
	struct mcai_graph *g = c->g;
	struct mcai_gtensor *x = &g->t[op->in[0]], *w = &g->t[op->in[1]];
	const struct mcai_gtensor *b = &g->t[op->in[2]], *o = &g->t[op->out];
	struct mcai_conv_params *p = &op->p.conv;
	u32 oc = o->dims[3];
	const char *why;

	if (!mcai_gis(x, MCAI_DT_INT8, false) || !mcai_gis(w, MCAI_DT_INT8, true) ||
	    !mcai_gis(b, MCAI_DT_INT32, true) || !mcai_gis(o, MCAI_DT_INT8, false))
		return "conv: wrong tensor dtype or kind";
	if (pp->words != 11 + 2ULL * oc)
		return "conv: params length is not 11 + 2 * out_c words";
	if (mcai_op_elems(b->dims) != oc)
		return "conv: bias length is not out_c";
	p->batch = x->dims[0];
	p->in_h = x->dims[1];
	p->in_w = x->dims[2];
	p->in_c = x->dims[3];
	p->out_h = o->dims[1];
	p->out_w = o->dims[2];
	p->out_c = oc;
	p->k_h = w->dims[1];
	p->k_w = w->dims[2];
	p->stride_h = (u32)mcai_gw(pp, 0);
	p->stride_w = (u32)mcai_gw(pp, 1);
	p->dil_h = (u32)mcai_gw(pp, 2);
	p->dil_w = (u32)mcai_gw(pp, 3);
	p->pad_top = (u32)mcai_gw(pp, 4);
	p->pad_left = (u32)mcai_gw(pp, 5);
	p->pad_bottom = (u32)mcai_gw(pp, 6);
	p->pad_right = (u32)mcai_gw(pp, 7);
	p->groups = (u32)mcai_gw(pp, 8);
	if (!mcai_gact(mcai_gw(pp, 9), mcai_gw(pp, 10)))
		return "conv: activation clamp outside int8";
	p->act_min = (s8)mcai_gw(pp, 9);
	p->act_max = (s8)mcai_gw(pp, 10);
	p->in_zp = x->zp;
	p->out_zp = o->zp;
	if (o->dims[0] != p->batch)
		return "conv: output batch is not the input's";
	if (op->type == MCAI_OP_CONV2D) {
		if (w->dims[0] != oc || !p->groups ||
		    (u64)w->dims[3] * p->groups != p->in_c)
			return "conv: filter shape is not [out_c][kh][kw][in_c / groups]";
	} else if (w->dims[0] != 1 || w->dims[3] != oc) {
		return "depthwise: filter shape is not [1][kh][kw][out_c]";
	} else if (p->groups != 1) {
		/* One spelling per graph: the digest then names one model. */
		return "depthwise: groups is not 1";
	}
	p->mult = mcai_gwords(c, pp, 11, oc);
	p->shift = mcai_gwords(c, pp, 11 + oc, oc);
	if (!p->mult || !p->shift)
		return "state buffer too small";
	if (op->type == MCAI_OP_CONV2D) {
		why = mcai_conv2d_check(p);
		op->macs = mcai_conv2d_macs(p);
	} else {
		why = mcai_depthwise_check(p);
		op->macs = mcai_depthwise_macs(p);
	}
	if (!why)
		why = mcai_gweights(w);
	if (!why && op->type == MCAI_OP_CONV2D)
		mcai_gpack(c, &op->pack, w->data, oc,
			   p->k_h * p->k_w * (p->in_c / p->groups), p->groups,
			   p->in_zp);
	return why;
}

static const char *mcai_gfc(struct mcai_gctx *c, struct mcai_gop *op,
			    const struct mcai_gparams *pp)
{
	struct mcai_graph *g = c->g;
	struct mcai_gtensor *x = &g->t[op->in[0]], *w = &g->t[op->in[1]];
	const struct mcai_gtensor *b = &g->t[op->in[2]], *o = &g->t[op->out];
	struct mcai_fc_params *p = &op->p.fc;
	/* Verified tensors have at most 2^30 elements: 32-bit division. */
	u32 xe = (u32)mcai_op_elems(x->dims);
	const char *why;

	if (!mcai_gis(x, MCAI_DT_INT8, false) || !mcai_gis(w, MCAI_DT_INT8, true) ||
	    !mcai_gis(b, MCAI_DT_INT32, true) || !mcai_gis(o, MCAI_DT_INT8, false))
		return "fc: wrong tensor dtype or kind";
	if (w->dims[0] != 1 || w->dims[1] != 1)
		return "fc: weights are not [out_len][in_len]";
	p->out_len = w->dims[2];
	p->in_len = w->dims[3];
	if (pp->words != 2 + 2ULL * p->out_len)
		return "fc: params length is not 2 + 2 * out_len words";
	if (mcai_op_elems(b->dims) != p->out_len)
		return "fc: bias length is not out_len";
	if (xe % p->in_len)
		return "fc: input is not whole rows of in_len";
	p->batch = xe / p->in_len;
	if (mcai_op_elems(o->dims) != (u64)p->batch * p->out_len)
		return "fc: output is not batch * out_len";
	if (!mcai_gact(mcai_gw(pp, 0), mcai_gw(pp, 1)))
		return "fc: activation clamp outside int8";
	p->act_min = (s8)mcai_gw(pp, 0);
	p->act_max = (s8)mcai_gw(pp, 1);
	p->in_zp = x->zp;
	p->out_zp = o->zp;
	p->mult = mcai_gwords(c, pp, 2, p->out_len);
	p->shift = mcai_gwords(c, pp, 2 + p->out_len, p->out_len);
	if (!p->mult || !p->shift)
		return "state buffer too small";
	why = mcai_fc_check(p);
	op->macs = mcai_fc_macs(p);
	if (!why)
		why = mcai_gweights(w);
	if (!why)
		mcai_gpack(c, &op->pack, w->data, p->out_len, p->in_len, 1,
			   p->in_zp);
	return why;
}

static const char *mcai_gpool(struct mcai_gctx *c, struct mcai_gop *op,
			      const struct mcai_gparams *pp)
{
	const struct mcai_gtensor *x = &c->g->t[op->in[0]];
	const struct mcai_gtensor *o = &c->g->t[op->out];
	struct mcai_pool_params *p = &op->p.pool;
	bool global = op->type == MCAI_OP_GLOBAL_AVG_POOL;
	u32 a = global ? 0 : 8;
	const char *why;

	if (!mcai_gis(x, MCAI_DT_INT8, false) || !mcai_gis(o, MCAI_DT_INT8, false))
		return "pool: wrong tensor dtype";
	if (x->zp != o->zp || x->scale != o->scale)
		return "pool: input and output quantisation differ";
	if (pp->words != (global ? 2U : 10U))
		return "pool: params length is not 10 (global: 2) words";
	if (x->dims[0] != o->dims[0] || x->dims[3] != o->dims[3])
		return "pool: output batch or channels are not the input's";
	p->batch = x->dims[0];
	p->in_h = x->dims[1];
	p->in_w = x->dims[2];
	p->c = x->dims[3];
	p->out_h = o->dims[1];
	p->out_w = o->dims[2];
	if (!global) {
		p->k_h = (u32)mcai_gw(pp, 0);
		p->k_w = (u32)mcai_gw(pp, 1);
		p->stride_h = (u32)mcai_gw(pp, 2);
		p->stride_w = (u32)mcai_gw(pp, 3);
		p->pad_top = (u32)mcai_gw(pp, 4);
		p->pad_left = (u32)mcai_gw(pp, 5);
		p->pad_bottom = (u32)mcai_gw(pp, 6);
		p->pad_right = (u32)mcai_gw(pp, 7);
	}
	if (!mcai_gact(mcai_gw(pp, a), mcai_gw(pp, a + 1)))
		return "pool: activation clamp outside int8";
	p->act_min = (s8)mcai_gw(pp, a);
	p->act_max = (s8)mcai_gw(pp, a + 1);
	if (global) {
		why = mcai_global_pool_check(p);
		op->macs = mcai_global_pool_macs(p);
	} else {
		why = mcai_pool2d_check(p);
		op->macs = mcai_pool2d_macs(p);
	}
	return why;
}

static const char *mcai_gadd(struct mcai_gctx *c, struct mcai_gop *op,
			     const struct mcai_gparams *pp)
{
	const struct mcai_gtensor *x1 = &c->g->t[op->in[0]];
	const struct mcai_gtensor *x2 = &c->g->t[op->in[1]];
	const struct mcai_gtensor *o = &c->g->t[op->out];
	struct mcai_add_params *p = &op->p.add;
	u32 d;

	if (!mcai_gis(x1, MCAI_DT_INT8, false) ||
	    !mcai_gis(x2, MCAI_DT_INT8, false) ||
	    !mcai_gis(o, MCAI_DT_INT8, false))
		return "add: wrong tensor dtype";
	if (pp->words != 9)
		return "add: params length is not 9 words";
	for (d = 0; d < 4; d++) {
		p->in1[d] = x1->dims[d];
		p->in2[d] = x2->dims[d];
		p->out[d] = o->dims[d];
	}
	p->in1_zp = x1->zp;
	p->in2_zp = x2->zp;
	p->out_zp = o->zp;
	p->in1_mult = mcai_gw(pp, 0);
	p->in1_shift = mcai_gw(pp, 1);
	p->in2_mult = mcai_gw(pp, 2);
	p->in2_shift = mcai_gw(pp, 3);
	p->out_mult = mcai_gw(pp, 4);
	p->out_shift = mcai_gw(pp, 5);
	p->left_shift = mcai_gw(pp, 6);
	if (!mcai_gact(mcai_gw(pp, 7), mcai_gw(pp, 8)))
		return "add: activation clamp outside int8";
	p->act_min = (s8)mcai_gw(pp, 7);
	p->act_max = (s8)mcai_gw(pp, 8);
	op->macs = mcai_add_macs(p);
	return mcai_add_check(p);
}

static const char *mcai_gsoftmax(struct mcai_gctx *c, struct mcai_gop *op,
				 const struct mcai_gparams *pp)
{
	const struct mcai_gtensor *x = &c->g->t[op->in[0]];
	const struct mcai_gtensor *o = &c->g->t[op->out];
	struct mcai_softmax_params *p = &op->p.softmax;

	if (!mcai_gis(x, MCAI_DT_INT8, false) || !mcai_gis(o, MCAI_DT_INT8, false))
		return "softmax: wrong tensor dtype";
	if (!mcai_gsame(x->dims, o->dims))
		return "softmax: output shape is not the input's";
	if (o->zp != -128 || o->scale != MCAI_SCALE_1_256)
		return "softmax: output quantisation is not 1/256, -128";
	if (pp->words != 3)
		return "softmax: params length is not 3 words";
	p->depth = x->dims[3];
	p->rows = (u32)mcai_op_elems(x->dims) / p->depth;
	p->input_mult = mcai_gw(pp, 0);
	p->input_left_shift = mcai_gw(pp, 1);
	p->diff_min = mcai_gw(pp, 2);
	op->macs = mcai_softmax_macs(p);
	return mcai_softmax_check(p);
}

static const char *mcai_gtree(struct mcai_gctx *c, struct mcai_gop *op,
			      const struct mcai_gparams *pp)
{
	const struct mcai_gtensor *x = &c->g->t[op->in[0]];
	const struct mcai_gtensor *o = &c->g->t[op->out];
	struct mcai_tree_ensemble *e = &op->p.tree;
	struct mcai_tree_node *nodes;
	u32 nt, nn, nv, no, md, agg, link, fb, base, i, k;
	u32 *roots;

	if (!mcai_gis(x, MCAI_DT_INT16, false) ||
	    !mcai_gis(o, MCAI_DT_INT32, false))
		return "tree: features are not int16 or scores not int32";
	if (pp->words < 9)
		return "tree: params shorter than their 9-word header";
	nt = (u32)mcai_gw(pp, 0);
	nn = (u32)mcai_gw(pp, 1);
	nv = (u32)mcai_gw(pp, 2);
	no = (u32)mcai_gw(pp, 3);
	md = (u32)mcai_gw(pp, 4);
	agg = (u32)mcai_gw(pp, 5);
	link = (u32)mcai_gw(pp, 6);
	fb = (u32)mcai_gw(pp, 7);
	base = (u32)mcai_gw(pp, 8);
	if (agg > 255 || link > 255 || fb > 255 || base > 1)
		return "tree: aggregate, link, frac_bits or has_base out of range";
	if (pp->words != 9ULL + nt + 4ULL * nn + nv + (base ? no : 0))
		return "tree: params length does not match its counts";
	if (no != mcai_op_elems(o->dims))
		return "tree: output length is not n_outputs";
	roots = mcai_galloc(c, 4ULL * nt);
	nodes = mcai_galloc(c, (u64)nn * sizeof(*nodes));
	if ((nt && !roots) || (nn && !nodes))
		return "state buffer too small";
	k = 9;
	for (i = 0; i < nt; i++)
		roots[i] = (u32)mcai_gw(pp, k++);
	for (i = 0; i < nn; i++) {
		u32 ft = (u32)mcai_gw(pp, k + 3);

		nodes[i].left = (u32)mcai_gw(pp, k);
		nodes[i].right = (u32)mcai_gw(pp, k + 1);
		nodes[i].value = (u32)mcai_gw(pp, k + 2);
		nodes[i].feature = (u16)ft;
		nodes[i].threshold = (s16)(ft >> 16);
		k += 4;
	}
	e->nodes = nodes;
	e->n_nodes = nn;
	e->roots = roots;
	e->n_trees = nt;
	e->values = mcai_gwords(c, pp, k, nv);
	e->n_values = nv;
	k += nv;
	e->base = base ? mcai_gwords(c, pp, k, no) : NULL;
	if ((nv && !e->values) || (base && no && !e->base))
		return "state buffer too small";
	e->n_features = (u32)mcai_op_elems(x->dims);
	e->n_outputs = no;
	e->max_depth = md;
	e->aggregate = (u8)agg;
	e->link = (u8)link;
	e->frac_bits = (u8)fb;
	op->macs = mcai_tree_macs(e);
	return mcai_tree_check(e);
}

static const char *mcai_gmul(struct mcai_gctx *c, struct mcai_gop *op,
			     const struct mcai_gparams *pp)
{
	const struct mcai_gtensor *x1 = &c->g->t[op->in[0]];
	const struct mcai_gtensor *x2 = &c->g->t[op->in[1]];
	const struct mcai_gtensor *o = &c->g->t[op->out];
	struct mcai_mul_params *p = &op->p.mul;
	u32 d;

	if (!mcai_gis(x1, MCAI_DT_INT8, false) ||
	    !mcai_gis(x2, MCAI_DT_INT8, false) ||
	    !mcai_gis(o, MCAI_DT_INT8, false))
		return "mul: wrong tensor dtype";
	if (pp->words != 4)
		return "mul: params length is not 4 words";
	for (d = 0; d < 4; d++) {
		p->in1[d] = x1->dims[d];
		p->in2[d] = x2->dims[d];
		p->out[d] = o->dims[d];
	}
	p->in1_zp = x1->zp;
	p->in2_zp = x2->zp;
	p->out_zp = o->zp;
	p->mult = mcai_gw(pp, 0);
	p->shift = mcai_gw(pp, 1);
	if (!mcai_gact(mcai_gw(pp, 2), mcai_gw(pp, 3)))
		return "mul: activation clamp outside int8";
	p->act_min = (s8)mcai_gw(pp, 2);
	p->act_max = (s8)mcai_gw(pp, 3);
	op->macs = mcai_mul_macs(p);
	return mcai_mul_check(p);
}

static const char *mcai_gmean(struct mcai_gctx *c, struct mcai_gop *op,
			      const struct mcai_gparams *pp)
{
	const struct mcai_gtensor *x = &c->g->t[op->in[0]];
	const struct mcai_gtensor *o = &c->g->t[op->out];
	struct mcai_mean_params *p = &op->p.mean;
	u64 kept = 1;
	u32 d;

	if (!mcai_gis(x, MCAI_DT_INT8, false) || !mcai_gis(o, MCAI_DT_INT8, false))
		return "mean: wrong tensor dtype";
	if (pp->words != 3)
		return "mean: params length is not 3 words";
	p->axes = (u32)mcai_gw(pp, 0);
	p->mult = mcai_gw(pp, 1);
	p->shift = mcai_gw(pp, 2);
	p->in_zp = x->zp;
	p->out_zp = o->zp;
	for (d = 0; d < 4; d++) {
		p->in[d] = x->dims[d];
		if (!(p->axes & (1U << d)))
			kept *= x->dims[d];
	}
	/* keep_dims or not, the kept elements are the output's bytes */
	if (mcai_op_elems(o->dims) != kept)
		return "mean: output is not the kept dimensions";
	op->macs = mcai_mean_macs(p);
	return mcai_mean_check(p);
}

static const char *mcai_gpad(struct mcai_gctx *c, struct mcai_gop *op,
			     const struct mcai_gparams *pp)
{
	const struct mcai_gtensor *x = &c->g->t[op->in[0]];
	const struct mcai_gtensor *o = &c->g->t[op->out];
	struct mcai_pad_params *p = &op->p.pad;
	const char *why;
	u32 d;

	if (!mcai_gis(x, MCAI_DT_INT8, false) || !mcai_gis(o, MCAI_DT_INT8, false))
		return "pad: wrong tensor dtype";
	if (x->zp != o->zp || x->scale != o->scale)
		return "pad: input and output quantisation differ";
	if (pp->words != 8)
		return "pad: params length is not 8 words";
	for (d = 0; d < 4; d++) {
		p->in[d] = x->dims[d];
		p->before[d] = (u32)mcai_gw(pp, d);
		p->after[d] = (u32)mcai_gw(pp, 4 + d);
	}
	p->value = (s8)o->zp;
	why = mcai_pad_check(p);
	if (why)
		return why;
	for (d = 0; d < 4; d++)
		if ((u64)p->in[d] + p->before[d] + p->after[d] != o->dims[d])
			return "pad: output shape is not the padded input's";
	op->macs = mcai_pad_macs(p);
	return NULL;
}

static const char *mcai_gconcat(struct mcai_gctx *c, struct mcai_gop *op,
				const struct mcai_gparams *pp)
{
	const struct mcai_gtensor *o = &c->g->t[op->out];
	struct mcai_concat_params *p = &op->p.concat.p;
	const char *why;
	u32 k, d;

	if (!mcai_gis(o, MCAI_DT_INT8, false))
		return "concat: wrong tensor dtype";
	if (pp->words != 1 + 2U * op->n_in)
		return "concat: params length is not 1 + 2 * n_in words";
	for (k = 0; k < op->n_in; k++) {
		const struct mcai_gtensor *x = &c->g->t[op->in[k]];
		struct mcai_concat_input *in = &op->p.concat.in[k];

		if (!mcai_gis(x, MCAI_DT_INT8, false))
			return "concat: wrong tensor dtype";
		/* a stand-in for the check; the run sets the arena's */
		in->data = (const s8 *)c->blob;
		for (d = 0; d < 4; d++)
			in->dims[d] = x->dims[d];
		in->zp = x->zp;
		in->mult = mcai_gw(pp, 1 + 2 * k);
		in->shift = mcai_gw(pp, 2 + 2 * k);
	}
	p->in = op->p.concat.in;
	p->n_in = op->n_in;
	p->axis = (u32)mcai_gw(pp, 0);
	p->out_zp = o->zp;
	for (d = 0; d < 4; d++)
		p->out[d] = o->dims[d];
	why = mcai_concat_check(p);
	op->macs = mcai_concat_macs(p);
	for (k = 0; k < op->n_in; k++)
		op->p.concat.in[k].data = NULL;
	return why;
}

static const char *mcai_gop_check(struct mcai_gctx *c, struct mcai_gop *op,
				  const struct mcai_gparams *pp, u32 plen)
{
	const struct mcai_gtensor *x = &c->g->t[op->in[0]];
	const struct mcai_gtensor *o = &c->g->t[op->out];
	u64 xe = mcai_op_elems(x->dims);

	switch (op->type) {
	case MCAI_OP_CONV2D:
	case MCAI_OP_DEPTHWISE:
		return mcai_gconv(c, op, pp);
	case MCAI_OP_FC:
		return mcai_gfc(c, op, pp);
	case MCAI_OP_MAX_POOL2D:
	case MCAI_OP_AVG_POOL2D:
	case MCAI_OP_GLOBAL_AVG_POOL:
		return mcai_gpool(c, op, pp);
	case MCAI_OP_ADD:
		return mcai_gadd(c, op, pp);
	case MCAI_OP_SOFTMAX:
		return mcai_gsoftmax(c, op, pp);
	case MCAI_OP_LUT:
		if (!mcai_gis(x, MCAI_DT_INT8, false) ||
		    !mcai_gis(o, MCAI_DT_INT8, false))
			return "lut: wrong tensor dtype";
		if (!mcai_gsame(x->dims, o->dims))
			return "lut: output shape is not the input's";
		if (plen != 256)
			return "lut: params are not 256 bytes";
		op->p.lut = (const s8 *)pp->p;
		op->macs = mcai_lut_macs(x->bytes);
		return NULL;
	case MCAI_OP_RESHAPE:
		if (x->dtype != o->dtype)
			return "reshape: dtype changes";
		if (plen)
			return "reshape: takes no params";
		op->macs = mcai_reshape_macs(x->bytes);
		return mcai_reshape_check(x->dims, o->dims);
	case MCAI_OP_TREE:
		return mcai_gtree(c, op, pp);
	case MCAI_OP_MUL:
		return mcai_gmul(c, op, pp);
	case MCAI_OP_MEAN:
		return mcai_gmean(c, op, pp);
	case MCAI_OP_PAD:
		return mcai_gpad(c, op, pp);
	case MCAI_OP_CONCAT:
		return mcai_gconcat(c, op, pp);
	case MCAI_OP_RECON: {
		const struct mcai_gtensor *x2 = &c->g->t[op->in[1]];
		struct mcai_recon_params *p = &op->p.recon;

		if (!mcai_gis(x, MCAI_DT_INT8, false) ||
		    !mcai_gis(x2, MCAI_DT_INT8, false) ||
		    !mcai_gis(o, MCAI_DT_INT32, false))
			return "recon: wrong tensor dtype";
		if (mcai_op_elems(x2->dims) != xe || o->bytes != 4)
			return "recon: input lengths differ or output is not one int32";
		if (pp->words != 4)
			return "recon: params length is not 4 words";
		p->len = (u32)xe;
		p->out_zp = x->zp;
		p->in_zp = x2->zp;
		p->in_mult = mcai_gw(pp, 0);
		p->in_shift = mcai_gw(pp, 1);
		p->mean_mult = mcai_gw(pp, 2);
		p->mean_shift = mcai_gw(pp, 3);
		op->macs = mcai_recon_macs(p);
		return mcai_recon_check(p);
	}
	}
	return "unknown op type";
}

/* Inputs each op type takes; 0 for unknown types. */
static u32 mcai_gop_arity(u16 type)
{
	switch (type) {
	case MCAI_OP_CONV2D:
	case MCAI_OP_DEPTHWISE:
	case MCAI_OP_FC:
		return 3;
	case MCAI_OP_ADD:
	case MCAI_OP_RECON:
	case MCAI_OP_MUL:
		return 2;
	case MCAI_OP_MAX_POOL2D:
	case MCAI_OP_AVG_POOL2D:
	case MCAI_OP_GLOBAL_AVG_POOL:
	case MCAI_OP_SOFTMAX:
	case MCAI_OP_LUT:
	case MCAI_OP_RESHAPE:
	case MCAI_OP_TREE:
	case MCAI_OP_MEAN:
	case MCAI_OP_PAD:
		return 1;
	case MCAI_OP_CONCAT:
		return MCAI_BLOB2_OP_MAX_IN;	/* at most: 1..4 */
	}
	return 0;
}

static int mcai_gops(struct mcai_gctx *c)
{
	struct mcai_graph *g = c->g;
	u32 i, k;

	for (i = 0; i < g->n_ops; i++) {
		u32 oo = c->op_off + i * G2O_SIZE;
		const u8 *b = c->blob + oo;
		struct mcai_gop *op = &g->op[i];
		u32 poff = mcai_le32(b + G2O(params_off));
		u32 plen = mcai_le32(b + G2O(params_len));
		struct mcai_gparams pp;
		struct mcai_gtensor *o;
		const char *why;

		memset(op, 0, sizeof(*op));
		op->type = mcai_le16(b + G2O(type));
		op->n_in = b[G2O(n_in)];
		if (!mcai_gzero(b + G2O(reserved), 16))
			return mcai_gfail(c, "reserved op field not zero",
					  oo + G2O(reserved));
		if (!mcai_gop_arity(op->type))
			return mcai_gfail(c, "unknown op type", oo + G2O(type));
		if (op->type == MCAI_OP_CONCAT ? !op->n_in ||
		    op->n_in > MCAI_BLOB2_OP_MAX_IN :
		    op->n_in != mcai_gop_arity(op->type))
			return mcai_gfail(c, "wrong input count for the op type",
					  oo + G2O(n_in));
		if (b[G2O(n_out)] != 1)
			return mcai_gfail(c, "op output count is not 1",
					  oo + G2O(n_out));
		for (k = 0; k < MCAI_BLOB2_OP_MAX_IN; k++) {
			u32 ti = mcai_le32(b + G2O(in) + 4 * k);
			struct mcai_gtensor *t;

			if (k >= op->n_in) {
				if (ti)
					return mcai_gfail(c, "unused op input not zero",
							  oo + G2O(in) + 4 * k);
				continue;
			}
			if (ti >= g->n_tensors)
				return mcai_gfail(c, "op input index out of range",
						  oo + G2O(in) + 4 * k);
			t = &g->t[ti];
			/*
			 * Written by an earlier op or a graph input: this is
			 * what refuses forward references and cycles.
			 */
			if (t->kind == MCAI_TK_ARENA && t->first < 0)
				return mcai_gfail(c, "op reads a tensor no earlier op writes",
						  oo + G2O(in) + 4 * k);
			if (t->kind == MCAI_TK_ARENA)
				t->last = (s32)i;
			op->in[k] = ti;
		}
		op->out = mcai_le32(b + G2O(out));
		if (op->out >= g->n_tensors)
			return mcai_gfail(c, "op output index out of range",
					  oo + G2O(out));
		o = &g->t[op->out];
		if (o->kind != MCAI_TK_ARENA)
			return mcai_gfail(c, "op writes a constant", oo + G2O(out));
		if (o->first >= 0)
			return mcai_gfail(c, "tensor written twice (or a graph input)",
					  oo + G2O(out));
		o->first = (s32)i;
		o->last = (s32)i;
		if (poff % MCAI_BLOB_ALIGN ||
		    (u64)poff + plen > c->params_size)
			return mcai_gfail(c, "op params out of bounds",
					  oo + G2O(params_off));
		if (plen % 4 && op->type != MCAI_OP_LUT)
			return mcai_gfail(c, "op params not whole words",
					  oo + G2O(params_len));
		pp.p = c->blob + c->params_off + poff;
		pp.words = plen / 4;
		why = mcai_gop_check(c, op, &pp, plen);
		if (why)
			return mcai_gfail(c, why, oo);
		/* Saturating: MAC counts of absurd shapes stay ordered. */
		g->macs = g->macs + op->macs < g->macs ? ~0ULL :
			  g->macs + op->macs;
		if (g->macs > c->lim->max_macs)
			return mcai_gfail(c, "graph has more MACs than max_macs",
					  oo);
	}
	return 0;
}

/* Tensors alive at the same time must not share arena bytes. */
static int mcai_garena(struct mcai_gctx *c)
{
	struct mcai_graph *g = c->g;
	u32 i, j;

	for (i = 0; i < g->n_outputs; i++)
		g->t[g->output[i]].last = (s32)g->n_ops;
	for (i = 0; i < g->n_tensors; i++) {
		struct mcai_gtensor *a = &g->t[i];

		if (a->kind != MCAI_TK_ARENA)
			continue;
		if (a->first < 0)
			return mcai_gfail(c, "arena tensor never written",
					  c->tensor_off + i * G2T_SIZE);
		if (a->last < a->first)
			a->last = a->first;
		for (j = 0; j < i; j++) {
			const struct mcai_gtensor *b = &g->t[j];

			if (b->kind != MCAI_TK_ARENA || a->first > b->last ||
			    b->first > a->last)
				continue;
			if (a->offset < (u64)b->offset + b->bytes &&
			    b->offset < (u64)a->offset + a->bytes)
				return mcai_gfail(c, "live tensors overlap in the arena",
						  c->tensor_off + i * G2T_SIZE +
						  G2T(offset));
		}
	}
	return 0;
}

static int mcai_gvectors(struct mcai_gctx *c)
{
	struct mcai_graph *g = c->g;
	u64 rec = 0, len;
	u32 i;

	for (i = 0; i < g->n_inputs; i++)
		rec += g->t[g->input[i]].bytes;
	g->tv_in_bytes = (u32)rec;
	for (i = 0; i < g->n_outputs; i++)
		rec += g->t[g->output[i]].bytes;
	g->tv_out_bytes = (u32)(rec - g->tv_in_bytes);
	if (rec > U32_MAX)
		return mcai_gfail(c, "test vector record too large",
				  G2H(tv_count));
	len = (u64)g->tv_count * rec;
	if (!g->tv_count) {
		if (c->tv_off)
			return mcai_gfail(c, "tv_off set without test vectors",
					  G2H(tv_off));
		return 0;
	}
	if (c->tv_off % MCAI_BLOB_ALIGN || c->tv_off > c->size ||
	    len > c->size - c->tv_off)
		return mcai_gfail(c, "test vectors out of bounds", G2H(tv_off));
	/* Below every other section, and none after it but the digest. */
	if (c->tv_off < (u64)c->data_off + c->data_size ||
	    c->tv_off < (u64)c->params_off + c->params_size ||
	    c->tv_off < (u64)c->io_off + (u64)(g->n_inputs + g->n_outputs) *
	    G2IO_SIZE ||
	    c->tv_off < (u64)c->op_off + (u64)g->n_ops * G2O_SIZE ||
	    c->tv_off < (u64)c->tensor_off + (u64)g->n_tensors * G2T_SIZE ||
	    c->tv_off < G2H_SIZE)
		return mcai_gfail(c, "test vectors overlap another section",
				  G2H(tv_off));
	g->tv = c->blob + c->tv_off;
	return 0;
}

int mcai_graph_verify(struct mcai_graph *g, const void *blob, u32 size,
		      const struct mcai_limits *lim, void *state,
		      u32 state_size, struct mcai_verdict *v)
{
	const u8 *h = blob;
	struct mcai_gctx c = {
		.blob = blob, .v = v, .lim = lim, .g = g, .state = state,
		.state_size = state_size,
	};
	u8 digest[MCAI_SHA256_LEN];
	u32 need;

	memset(g, 0, sizeof(*g));
	need = mcai_graph_state_size(blob, size, lim, v);
	if (!need)
		return -1;
	if (state_size < need)
		return mcai_gfail(&c, "state buffer too small", 0);
	if (mcai_le32(h + G2H(magic)) != MCAI_BLOB_MAGIC)
		return mcai_gfail(&c, "bad magic", G2H(magic));
	if (mcai_le16(h + G2H(format_version)) != MCAI_BLOB2_VERSION)
		return mcai_gfail(&c, "unsupported format version",
				  G2H(format_version));
	if (mcai_le16(h + G2H(header_size)) != G2H_SIZE)
		return mcai_gfail(&c, "bad header size", G2H(header_size));
	if (mcai_le32(h + G2H(total_size)) != size)
		return mcai_gfail(&c, "total_size does not match the blob length",
				  G2H(total_size));
	/* Integrity before meaning, as v1. */
	c.size = size - MCAI_DIGEST_LEN;
	mcai_sha256(blob, c.size, digest);
	if (memcmp(digest, h + c.size, MCAI_DIGEST_LEN))
		return mcai_gfail(&c, "SHA-256 digest mismatch", c.size);
	if (mcai_le32(h + G2H(flags)))
		return mcai_gfail(&c, "unknown flags", G2H(flags));
	if (h[G2H(pad0)] || h[G2H(pad0) + 1] ||
	    !mcai_gzero(h + G2H(reserved), 24))
		return mcai_gfail(&c, "reserved header field not zero",
				  G2H(reserved));
	if (!mcai_gname_ok((const char *)h + G2H(name), MCAI_NAME_LEN))
		return mcai_gfail(&c, "bad model name", G2H(name));
	memcpy(g->name, h + G2H(name), MCAI_NAME_LEN);
	g->blob = blob;
	g->blob_size = size;
	g->digest = h + c.size;
	g->version = mcai_le32(h + G2H(model_version));
	g->n_tensors = mcai_le32(h + G2H(n_tensors));
	g->n_ops = mcai_le32(h + G2H(n_ops));
	g->n_inputs = mcai_le32(h + G2H(n_inputs));
	g->n_outputs = mcai_le32(h + G2H(n_outputs));
	g->arena_size = mcai_le32(h + G2H(arena_size));
	g->head = h[G2H(head)];
	g->head_threshold = (s8)h[G2H(head_threshold)];
	g->tv_count = mcai_le32(h + G2H(tv_count));
	c.tensor_off = mcai_le32(h + G2H(tensor_off));
	c.op_off = mcai_le32(h + G2H(op_off));
	c.io_off = mcai_le32(h + G2H(io_off));
	c.params_off = mcai_le32(h + G2H(params_off));
	c.params_size = mcai_le32(h + G2H(params_size));
	c.data_off = mcai_le32(h + G2H(data_off));
	c.data_size = mcai_le32(h + G2H(data_size));
	c.tv_off = mcai_le32(h + G2H(tv_off));

	if (!g->version)
		return mcai_gfail(&c, "model version 0", G2H(model_version));
	if (!g->n_inputs || g->n_inputs > MCAI_BLOB2_MAX_IO)
		return mcai_gfail(&c, "input count out of range", G2H(n_inputs));
	if (!g->n_outputs || g->n_outputs > MCAI_BLOB2_MAX_IO)
		return mcai_gfail(&c, "output count out of range",
				  G2H(n_outputs));
	if (g->arena_size > lim->max_arena)
		return mcai_gfail(&c, "arena_size above max_arena",
				  G2H(arena_size));
	if (g->head != MCAI_HEAD_ARGMAX && g->head != MCAI_HEAD_THRESHOLD)
		return mcai_gfail(&c, "unknown head", G2H(head));
	if (g->head == MCAI_HEAD_ARGMAX && g->head_threshold)
		return mcai_gfail(&c, "threshold set on an argmax head",
				  G2H(head_threshold));
	if (mcai_gsections(&c, g->n_tensors, g->n_ops,
			   g->n_inputs + g->n_outputs))
		return -1;
	g->t = mcai_galloc(&c, (u64)g->n_tensors * sizeof(*g->t));
	g->op = mcai_galloc(&c, (u64)g->n_ops * sizeof(*g->op));
	if (!g->t || !g->op)
		return mcai_gfail(&c, "state buffer too small", 0);
	if (mcai_gtensors(&c, lim) || mcai_gio(&c) || mcai_gops(&c) ||
	    mcai_garena(&c) || mcai_gvectors(&c))
		return -1;
	if (g->head == MCAI_HEAD_THRESHOLD &&
	    g->t[g->output[0]].bytes / mcai_dsize(g->t[g->output[0]].dtype) != 1)
		return mcai_gfail(&c, "threshold head needs one output value",
				  G2H(head));
	g->state_used = c.used;
	return 0;
}
