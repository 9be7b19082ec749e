// SPDX-License-Identifier: GPL-2.0
/*
 * Element-wise and data-movement operators: add and mul with their own
 * requantisation and 4-D broadcasting (TFLite's int8 ADD and MUL,
 * BroadcastAdd4DSlow's indexing), concatenation, pad, reshape.
 */
#include "models/engine/ops.h"
#include "models/engine/simd.h"

static int mcai_zp_ok(s32 zp)
{
	return zp >= -128 && zp <= 127;
}

/* Each input dimension equals the output's or is 1 (broadcast). */
static const char *mcai_bcast_check(const u32 a[4], const u32 b[4],
				    const u32 out[4])
{
	int d;

	if (!mcai_op_elems(out))
		return "empty tensor";
	if (mcai_op_elems(out) > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	for (d = 0; d < 4; d++)
		if ((a[d] != out[d] && a[d] != 1) ||
		    (b[d] != out[d] && b[d] != 1))
			return "shapes do not broadcast to the output";
	return NULL;
}

/* Dense strides of @dims, 0 along a dimension of 1: it is broadcast. */
static void mcai_bcast_strides(const u32 dims[4], size_t st[4])
{
	size_t s = 1;
	int d;

	for (d = 3; d >= 0; d--) {
		st[d] = dims[d] == 1 ? 0 : s;
		s *= dims[d];
	}
}

/* TFLite's int8 add for one pair; every intermediate is below 2^30. */
static s8 mcai_add_one(const struct mcai_add_params *p, s32 a, s32 b)
{
	const s32 lift = 1 << p->left_shift;
	s32 x = mcai_requant((a - p->in1_zp) * lift, p->in1_mult,
			     p->in1_shift);
	s32 y = mcai_requant((b - p->in2_zp) * lift, p->in2_mult,
			     p->in2_shift);
	s32 v = mcai_requant(x + y, p->out_mult, p->out_shift);

	return mcai_op_clamp8((s64)v + p->out_zp, p->act_min, p->act_max);
}

/* TFLite's int8 mul for one pair: |product| <= 255 * 255. */
static s8 mcai_mul_one(const struct mcai_mul_params *p, s32 a, s32 b)
{
	s32 v = mcai_requant((a - p->in1_zp) * (b - p->in2_zp), p->mult,
			     p->shift);

	return mcai_op_clamp8((s64)v + p->out_zp, p->act_min, p->act_max);
}

/*
 * Walk the output in order and each input through its broadcast strides;
 * @add selects the operation (add's params in @pa, else mul's in @pm).
 */
static void mcai_binary(const u32 d1[4], const u32 d2[4], const u32 od[4],
			const s8 *in1, const s8 *in2, s8 *out,
			const struct mcai_add_params *pa,
			const struct mcai_mul_params *pm)
{
	size_t s1[4], s2[4];
	u32 i[4];

	mcai_bcast_strides(d1, s1);
	mcai_bcast_strides(d2, s2);
	for (i[0] = 0; i[0] < od[0]; i[0]++) {
		for (i[1] = 0; i[1] < od[1]; i[1]++) {
			for (i[2] = 0; i[2] < od[2]; i[2]++) {
				size_t o1 = i[0] * s1[0] + i[1] * s1[1] +
					    i[2] * s1[2];
				size_t o2 = i[0] * s2[0] + i[1] * s2[1] +
					    i[2] * s2[2];

				for (i[3] = 0; i[3] < od[3]; i[3]++) {
					s32 a = in1[o1 + i[3] * s1[3]];
					s32 b = in2[o2 + i[3] * s2[3]];

					*out++ = pa ? mcai_add_one(pa, a, b) :
						      mcai_mul_one(pm, a, b);
				}
			}
		}
	}
}

const char *mcai_add_check(const struct mcai_add_params *p)
{
	const char *why = mcai_bcast_check(p->in1, p->in2, p->out);
	s32 m[3] = { p->in1_mult, p->in2_mult, p->out_mult };
	s32 s[3] = { p->in1_shift, p->in2_shift, p->out_shift };

	if (why)
		return why;
	if (!mcai_zp_ok(p->in1_zp) || !mcai_zp_ok(p->in2_zp) ||
	    !mcai_zp_ok(p->out_zp))
		return "zero point outside int8";
	/* 255 * 2^20 and the sum of two stay below 2^30 */
	if (p->left_shift < 0 || p->left_shift > 20)
		return "add left shift outside 0..20";
	/* input multipliers below 1, as TFLite's: no growth past 2^29 */
	if (p->in1_shift > 0 || p->in2_shift > 0)
		return "add input multiplier of 1 or more";
	if (p->act_min > p->act_max)
		return "empty activation range";
	return mcai_op_check_requant(m, s, 3);
}

const char *mcai_mul_check(const struct mcai_mul_params *p)
{
	const char *why = mcai_bcast_check(p->in1, p->in2, p->out);

	if (why)
		return why;
	if (!mcai_zp_ok(p->in1_zp) || !mcai_zp_ok(p->in2_zp) ||
	    !mcai_zp_ok(p->out_zp))
		return "zero point outside int8";
	if (p->act_min > p->act_max)
		return "empty activation range";
	return mcai_op_check_requant(&p->mult, &p->shift, 1);
}

void mcai_add(const struct mcai_add_params *p, const s8 *in1, const s8 *in2,
	      s8 *out)
{
	if (mcai_simd_add(p, in1, in2, out))
		return;
	mcai_binary(p->in1, p->in2, p->out, in1, in2, out, p, NULL);
}

void mcai_mul(const struct mcai_mul_params *p, const s8 *in1, const s8 *in2,
	      s8 *out)
{
	mcai_binary(p->in1, p->in2, p->out, in1, in2, out, NULL, p);
}

u64 mcai_add_macs(const struct mcai_add_params *p)
{
	return mcai_op_elems(p->out);
}

u64 mcai_mul_macs(const struct mcai_mul_params *p)
{
	return mcai_op_elems(p->out);
}

/* 1.0 as mcai_quantize_multiplier() encodes it, and the same zero point. */
static int mcai_concat_is_copy(const struct mcai_concat_input *in, s32 zp)
{
	return in->zp == zp && in->mult == 1 << 30 && in->shift == 1;
}

const char *mcai_concat_check(const struct mcai_concat_params *p)
{
	u64 along = 0;
	u32 i;
	int d;

	if (!p->in || !p->n_in)
		return "concatenation of nothing";
	if (p->axis > 3)
		return "concatenation axis outside 0..3";
	if (!mcai_op_elems(p->out))
		return "empty tensor";
	if (mcai_op_elems(p->out) > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	if (!mcai_zp_ok(p->out_zp))
		return "zero point outside int8";
	for (i = 0; i < p->n_in; i++) {
		const struct mcai_concat_input *in = &p->in[i];

		if (!in->data)
			return "concatenation input missing";
		for (d = 0; d < 4; d++)
			if (d != (int)p->axis && in->dims[d] != p->out[d])
				return "concatenation inputs disagree off the axis";
		along += in->dims[p->axis];
		if (!mcai_zp_ok(in->zp))
			return "zero point outside int8";
		if (mcai_op_check_requant(&in->mult, &in->shift, 1))
			return mcai_op_check_requant(&in->mult, &in->shift, 1);
	}
	if (along != p->out[p->axis])
		return "concatenated size disagrees with the output";
	return NULL;
}

void mcai_concat(const struct mcai_concat_params *p, s8 *out)
{
	size_t outer = 1, inner = 1;
	u32 d, i;
	size_t o, k;

	for (d = 0; d < p->axis; d++)
		outer *= p->out[d];
	for (d = p->axis + 1; d < 4; d++)
		inner *= p->out[d];
	for (o = 0; o < outer; o++) {
		for (i = 0; i < p->n_in; i++) {
			const struct mcai_concat_input *in = &p->in[i];
			const size_t len = in->dims[p->axis] * inner;
			const s8 *src = in->data + o * len;

			if (mcai_concat_is_copy(in, p->out_zp)) {
				memcpy(out, src, len);
				out += len;
				continue;
			}
			for (k = 0; k < len; k++) {
				s32 v = mcai_requant(src[k] - in->zp, in->mult,
						     in->shift);

				*out++ = mcai_op_clamp8((s64)v + p->out_zp,
							-128, 127);
			}
		}
	}
}

u64 mcai_concat_macs(const struct mcai_concat_params *p)
{
	u64 n = 0;
	u32 i;

	for (i = 0; i < p->n_in; i++)
		if (!mcai_concat_is_copy(&p->in[i], p->out_zp))
			n += mcai_op_elems(p->in[i].dims);
	return n;
}

const char *mcai_pad_check(const struct mcai_pad_params *p)
{
	u32 out[4];
	int d;

	if (!mcai_op_elems(p->in))
		return "empty tensor";
	for (d = 0; d < 4; d++) {
		u64 o = (u64)p->in[d] + p->before[d] + p->after[d];

		if (o > MCAI_OP_MAX_ELEMS)
			return "tensor too large";
		out[d] = (u32)o;
	}
	if (mcai_op_elems(out) > MCAI_OP_MAX_ELEMS)
		return "tensor too large";
	return NULL;
}

/* Row by row (the innermost dimension): fill, copy, fill. */
void mcai_pad(const struct mcai_pad_params *p, const s8 *in, s8 *out)
{
	const u32 *b = p->before;
	u32 od[4], n, h, w;
	int d;

	for (d = 0; d < 4; d++)
		od[d] = p->in[d] + b[d] + p->after[d];
	for (n = 0; n < od[0]; n++) {
		for (h = 0; h < od[1]; h++) {
			for (w = 0; w < od[2]; w++) {
				const s8 *src;

				if (n < b[0] || n - b[0] >= p->in[0] ||
				    h < b[1] || h - b[1] >= p->in[1] ||
				    w < b[2] || w - b[2] >= p->in[2]) {
					memset(out, p->value, od[3]);
					out += od[3];
					continue;
				}
				src = in + (((size_t)(n - b[0]) * p->in[1] +
					     (h - b[1])) * p->in[2] +
					    (w - b[2])) * p->in[3];
				memset(out, p->value, b[3]);
				memcpy(out + b[3], src, p->in[3]);
				memset(out + b[3] + p->in[3], p->value,
				       p->after[3]);
				out += od[3];
			}
		}
	}
}

u64 mcai_pad_macs(const struct mcai_pad_params *p)
{
	(void)p;	/* data movement only */
	return 0;
}

const char *mcai_reshape_check(const u32 in[4], const u32 out[4])
{
	if (!mcai_op_elems(in) || mcai_op_elems(in) > MCAI_OP_MAX_ELEMS)
		return "empty or too large tensor";
	if (mcai_op_elems(in) != mcai_op_elems(out))
		return "reshape changes the number of elements";
	return NULL;
}

void mcai_reshape(const s8 *in, s8 *out, size_t len)
{
	if (in != out)
		memmove(out, in, len);
}

u64 mcai_reshape_macs(size_t len)
{
	(void)len;	/* no data movement at all when aliased */
	return 0;
}
