// SPDX-License-Identifier: GPL-2.0
/*
 * Which op, tensor or io entry a byte of a v2 blob belongs to, so that a
 * refusal can name it ("op 12", "tensor 40") next to the verifier's
 * reason and offset.  It runs on blobs the verifier refused: every field
 * it reads is bounds-checked here again, and its work is bounded by the
 * format's tensor and op limits.
 */
#include "models/engine/graph.h"

#define W2H(f)		((u32)offsetof(struct mcai_blob2_header, f))
#define W2T(f)		((u32)offsetof(struct mcai_blob2_tensor, f))
#define W2O(f)		((u32)offsetof(struct mcai_blob2_op, f))
#define W2T_SIZE	((u64)sizeof(struct mcai_blob2_tensor))
#define W2O_SIZE	((u64)sizeof(struct mcai_blob2_op))
#define W2IO_SIZE	((u64)sizeof(struct mcai_blob2_io))

struct mcai_wctx {
	const u8 *b;
	u32 size;
};

/* The le32 at @off, or 0 when it is not inside the blob. */
static u32 mcai_wle32(const struct mcai_wctx *c, u64 off)
{
	return off + 4 <= c->size ? mcai_le32(c->b + off) : 0;
}

static bool mcai_win(u64 x, u64 start, u64 len)
{
	return x >= start && x - start < len;
}

/* A table of @n entries of @esz bytes at @start: the entry holding @off. */
static bool mcai_wtable(u32 off, u32 start, u32 n, u64 esz, u32 max,
			u32 *index)
{
	if (n > max || !mcai_win(off, start, n * esz))
		return false;
	*index = (u32)((off - start) / esz);
	return true;
}

const char *mcai_graph_where(const void *blob, u32 size, u32 offset,
			     u32 *index)
{
	const struct mcai_wctx c = { blob, size };
	u32 nt = mcai_wle32(&c, W2H(n_tensors));
	u32 no = mcai_wle32(&c, W2H(n_ops));
	u32 ni = mcai_wle32(&c, W2H(n_inputs));
	u32 nio = ni + mcai_wle32(&c, W2H(n_outputs));
	u32 to = mcai_wle32(&c, W2H(tensor_off));
	u32 oo = mcai_wle32(&c, W2H(op_off));
	u32 po = mcai_wle32(&c, W2H(params_off));
	u32 ps = mcai_wle32(&c, W2H(params_size));
	u32 dof = mcai_wle32(&c, W2H(data_off));
	u32 ds = mcai_wle32(&c, W2H(data_size));
	u32 i;

	*index = U32_MAX;
	if (size < sizeof(struct mcai_blob2_header) ||
	    offset < sizeof(struct mcai_blob2_header))
		return "header";
	if (mcai_wtable(offset, to, nt, W2T_SIZE, MCAI_BLOB2_MAX_TENSORS,
			index))
		return "tensor";
	if (mcai_wtable(offset, oo, no, W2O_SIZE, MCAI_BLOB2_MAX_OPS, index))
		return "op";
	if (nio >= ni &&
	    mcai_wtable(offset, mcai_wle32(&c, W2H(io_off)), nio, W2IO_SIZE,
			2 * MCAI_BLOB2_MAX_IO, index)) {
		if (*index < ni)
			return "input";
		*index -= ni;
		return "output";
	}
	if (mcai_win(offset, po, ps) && no <= MCAI_BLOB2_MAX_OPS) {
		for (i = 0; i < no; i++) {
			u64 e = oo + i * W2O_SIZE;

			if (mcai_win(offset - po, mcai_wle32(&c, e + W2O(params_off)),
				     mcai_wle32(&c, e + W2O(params_len)))) {
				*index = i;
				return "op";
			}
		}
		return "params";
	}
	if (mcai_win(offset, dof, ds) && nt <= MCAI_BLOB2_MAX_TENSORS) {
		for (i = 0; i < nt; i++) {
			u64 e = to + i * W2T_SIZE;

			if (e + W2T(kind) < c.size &&
			    c.b[e + W2T(kind)] != MCAI_TK_CONST)
				continue;
			if (mcai_win(offset - dof, mcai_wle32(&c, e + W2T(offset)),
				     mcai_wle32(&c, e + W2T(size))) ||
			    mcai_win(offset - dof, mcai_wle32(&c, e + W2T(qc_off)),
				     4ULL * mcai_wle32(&c, e + W2T(qc_count)))) {
				*index = i;
				return "tensor";
			}
		}
		return "data";
	}
	return "blob";
}
