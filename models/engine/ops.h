/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The int8 operator kernels of engine v2: plain scalar reference kernels,
 * one file per operator family (op_*.c), which the v2 interpreter calls
 * and which every SIMD kernel is tested against.
 *
 * Quantisation follows TFLite's spec: activations are asymmetric int8
 * (real = scale * (q - zp)), weights symmetric int8 per output channel
 * (zero point 0, values -127..127), biases int32 in units of
 * in_scale * w_scale[c], and requantisation multiplies by a Q31 mantissa
 * and a power-of-two shift (requant.h, gemmlowp rounding).  Scales never
 * reach the kernels: they are folded offline into the multipliers
 * (models/train/opquant.c computes them).
 *
 * Every kernel is a pure function over caller-provided buffers: no
 * allocation, no global state, loops bounded by the descriptor, and no
 * floating point.  Kernels whose work is not linear in their tensors'
 * sizes (convolutions, fully-connected) call mcai_yield() (port.h)
 * after each output row, so that one big layer does not hold a CPU (the
 * SIMD drivers of simd.h after each bounded FPU section instead).
 * Tensors are dense NHWC, N outermost, C innermost; rank-1..3 tensors
 * are rank 4 with leading 1s (a conv1d is a conv2d on H = 1, as TFLite's
 * converter lowers it).  Arrays of s32/s64/s16 are native-endian and
 * naturally aligned: the v2 loader decodes and packs the
 * blob once per load (the SIMD kernels re-lay weights there anyway).
 *
 * The kernels trust their descriptor: the *_check() functions state, and
 * the verifier enforces, what they rely on (shapes consistent, sizes
 * bounded so that size_t offsets cannot wrap, accumulators that cannot
 * overflow), and the caller provides buffers of the sizes the shapes
 * give.  A kernel must not run on a descriptor its check refused: its
 * loops still end (each is bounded by the descriptor), but it may read or
 * write outside the buffers.
 */
#ifndef MCAI_OPS_H
#define MCAI_OPS_H

#include "models/engine/port.h"
#include "models/engine/requant.h"

/*
 * An s32 dot product of K terms with |x - zp| <= 255 and |w| <= 127 stays
 * below 2^31 while K <= 65536: 65536 * 255 * 127 = 2122383360.  Every
 * accumulation in these kernels is bounded by this or says why it needs
 * no bound.
 */
#define MCAI_OP_MAX_DOT		65536U
/*
 * The largest tensor (elements) a descriptor may describe: offsets then fit
 * a 32-bit size_t with room for a sum of two of them.
 */
#define MCAI_OP_MAX_ELEMS	0x40000000U	/* 2^30 */

/* Dimension indices of a rank-4 NHWC shape. */
#define MCAI_N	0
#define MCAI_H	1
#define MCAI_W	2
#define MCAI_C	3

/* ------------------------------------------------------------------ */
/* Helpers shared by the kernels. */

static inline s8 mcai_op_clamp8(s64 v, s8 lo, s8 hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return (s8)v;
}

/*
 * The output stage of every dot-product kernel, as TFLite's reference
 * kernels do it: add the bias, requantise, add the output zero point,
 * clamp to the fused activation's range.  The bias is added in 64 bits
 * and saturated (TFLite wraps; a verified model never gets there).
 */
static inline s8 mcai_op_out8(s32 acc, s32 bias, s32 mult, s32 shift,
			      s32 out_zp, s8 lo, s8 hi)
{
	s32 v = mcai_sat32((s64)acc + bias);

	v = mcai_requant(v, mult, shift);
	return mcai_op_clamp8((s64)v + out_zp, lo, hi);
}

/* a * b, saturated at U64_MAX: MAC counts of absurd shapes stay ordered. */
static inline u64 mcai_op_mul_sat(u64 a, u64 b)
{
	if (a && b > ~0ULL / a)
		return ~0ULL;
	return a * b;
}

/* Elements of a rank-4 shape, saturated (0 if any dimension is 0). */
u64 mcai_op_elems(const u32 dims[4]);

/*
 * Output length of a convolution or pooling window along one axis, or 0
 * when the window does not fit: floor((in + before + after - eff) /
 * stride) + 1 with eff = (k - 1) * dilation + 1.
 */
u32 mcai_op_out_dim(u32 in, u32 k, u32 stride, u32 dilation, u32 before,
		    u32 after);

/*
 * TFLite's SAME padding along one axis: out = ceil(in / stride), the total
 * padding needed to cover it split with the odd one at the end (after).
 */
void mcai_op_same_pad(u32 in, u32 k, u32 stride, u32 dilation, u32 *out,
		      u32 *before, u32 *after);

/*
 * Requantisation parameters as requant.h needs them: mult in 0..S32_MAX,
 * shift in -31..30.  NULL if all n are usable, else the reason.
 */
const char *mcai_op_check_requant(const s32 *mult, const s32 *shift, u32 n);

/* Symmetric int8 weights (no -128): what MCAI_OP_MAX_DOT assumes. */
const char *mcai_op_check_weights(const s8 *w, size_t n);

/* ------------------------------------------------------------------ */
/* op_conv.c: convolutions and fully connected. */

/*
 * conv2d, depthwise conv2d and conv1d.  Filters, TFLite layouts:
 *   conv2d     [out_c][k_h][k_w][in_c / groups] (OHWI); output channel oc
 *              belongs to group oc / (out_c / groups) and reads that
 *              group's in_c / groups input channels;
 *   depthwise  [k_h][k_w][out_c] (1HWO), out_c = in_c * multiplier;
 *              output channel oc reads input channel oc / multiplier.
 * Padding is explicit (pad_bottom/pad_right only matter to the output
 * size, which the check ties to them): taps outside the input contribute
 * nothing, which is TFLite's padding with the input zero point.
 */
struct mcai_conv_params {
	u32 batch;
	u32 in_h, in_w, in_c;
	u32 out_h, out_w, out_c;
	u32 k_h, k_w;
	u32 stride_h, stride_w;
	u32 dil_h, dil_w;
	u32 pad_top, pad_left, pad_bottom, pad_right;
	u32 groups;		/* conv2d only; depthwise has in_c groups */
	s32 in_zp;
	s32 out_zp;
	s8 act_min;		/* fused ReLU/ReLU6 as the output clamp */
	s8 act_max;
	const s32 *mult;	/* [out_c] */
	const s32 *shift;	/* [out_c] */
};

/* NULL if the kernel may run @p, else why not. */
const char *mcai_conv2d_check(const struct mcai_conv_params *p);
const char *mcai_depthwise_check(const struct mcai_conv_params *p);
/* conv1d: a conv2d whose in_h, out_h, k_h are 1 (the H fields ignored). */
const char *mcai_conv1d_check(const struct mcai_conv_params *p);

/* @bias may be NULL (no bias). */
void mcai_conv2d(const struct mcai_conv_params *p, const s8 *in,
		 const s8 *filter, const s32 *bias, s8 *out);
void mcai_depthwise_conv2d(const struct mcai_conv_params *p, const s8 *in,
			   const s8 *filter, const s32 *bias, s8 *out);
void mcai_conv1d(const struct mcai_conv_params *p, const s8 *in,
		 const s8 *filter, const s32 *bias, s8 *out);

/* Depthwise output channel @oc from input channel @ic at window (y0, x0). */
s32 mcai_dw_dot(const struct mcai_conv_params *p, const s8 *img,
		s64 y0, s64 x0, const s8 *filter, u32 oc, u32 ic);

/* batch * out_h * out_w * out_c * k_h * k_w * (in_c / groups) */
u64 mcai_conv2d_macs(const struct mcai_conv_params *p);
/* batch * out_h * out_w * out_c * k_h * k_w */
u64 mcai_depthwise_macs(const struct mcai_conv_params *p);
/* batch * out_w * out_c * k_w * (in_c / groups) */
u64 mcai_conv1d_macs(const struct mcai_conv_params *p);

/* Fully connected: weights [out_len][in_len], rows of a batch. */
struct mcai_fc_params {
	u32 batch;
	u32 in_len;
	u32 out_len;
	s32 in_zp;
	s32 out_zp;
	s8 act_min;
	s8 act_max;
	const s32 *mult;	/* [out_len] */
	const s32 *shift;	/* [out_len] */
};

const char *mcai_fc_check(const struct mcai_fc_params *p);
void mcai_fully_connected(const struct mcai_fc_params *p, const s8 *in,
			  const s8 *weights, const s32 *bias, s8 *out);
/* batch * in_len * out_len */
u64 mcai_fc_macs(const struct mcai_fc_params *p);

/* ------------------------------------------------------------------ */
/* op_pool.c: pooling.  Input and output share scale and zero point. */

struct mcai_pool_params {
	u32 batch;
	u32 in_h, in_w, c;
	u32 out_h, out_w;
	u32 k_h, k_w;
	u32 stride_h, stride_w;
	u32 pad_top, pad_left, pad_bottom, pad_right;
	s8 act_min;
	s8 act_max;
};

/* The taps [*lo, *hi) of a window at @origin that fall inside 0..in-1. */
void mcai_pool_span(s64 origin, u32 k, u32 in, u32 *lo, u32 *hi);
/* Pads must be smaller than the window, so no window is all padding. */
const char *mcai_pool2d_check(const struct mcai_pool_params *p);
/* 1-D: in_h, out_h, k_h are 1 (the H fields ignored). */
const char *mcai_pool1d_check(const struct mcai_pool_params *p);
/* Global: the window is the whole in_h x in_w plane, out is 1 x 1. */
const char *mcai_global_pool_check(const struct mcai_pool_params *p);

void mcai_max_pool2d(const struct mcai_pool_params *p, const s8 *in, s8 *out);
/*
 * The mean of the window's valid (non-padding) elements, TFLite's count,
 * rounded half away from zero.
 */
void mcai_avg_pool2d(const struct mcai_pool_params *p, const s8 *in, s8 *out);
void mcai_max_pool1d(const struct mcai_pool_params *p, const s8 *in, s8 *out);
void mcai_avg_pool1d(const struct mcai_pool_params *p, const s8 *in, s8 *out);
void mcai_global_avg_pool(const struct mcai_pool_params *p, const s8 *in,
			  s8 *out);

/* batch * out_h * out_w * c * k_h * k_w: one compare or add per tap. */
u64 mcai_pool2d_macs(const struct mcai_pool_params *p);
u64 mcai_pool1d_macs(const struct mcai_pool_params *p);
/* batch * in_h * in_w * c */
u64 mcai_global_pool_macs(const struct mcai_pool_params *p);

/* ------------------------------------------------------------------ */
/* op_elementwise.c: add, mul, concat, pad, reshape. */

/*
 * Add and mul on rank-4 shapes with broadcasting: each input dimension
 * equals the output's or is 1.
 *
 * Add is TFLite's int8 ADD: both inputs are shifted left by left_shift
 * (20: |q - zp| <= 255 keeps 2^28 of headroom), scaled by their own
 * multipliers (in_scale / (2 * max(in scales)), shifts <= 0), summed, and
 * the sum requantised by out_mult/out_shift (2 * max in scale /
 * (2^left_shift * out_scale)).
 */
struct mcai_add_params {
	u32 in1[4], in2[4], out[4];
	s32 in1_zp, in2_zp, out_zp;
	s32 in1_mult, in1_shift;
	s32 in2_mult, in2_shift;
	s32 out_mult, out_shift;
	s32 left_shift;
	s8 act_min;
	s8 act_max;
};

/* Mul, TFLite's int8 MUL: (x1 - zp1) * (x2 - zp2) requantised once. */
struct mcai_mul_params {
	u32 in1[4], in2[4], out[4];
	s32 in1_zp, in2_zp, out_zp;
	s32 mult, shift;		/* in1_scale * in2_scale / out_scale */
	s8 act_min;
	s8 act_max;
};

const char *mcai_add_check(const struct mcai_add_params *p);
const char *mcai_mul_check(const struct mcai_mul_params *p);
void mcai_add(const struct mcai_add_params *p, const s8 *in1, const s8 *in2,
	      s8 *out);
void mcai_mul(const struct mcai_mul_params *p, const s8 *in1, const s8 *in2,
	      s8 *out);
/* One (requantised) operation per output element. */
u64 mcai_add_macs(const struct mcai_add_params *p);
u64 mcai_mul_macs(const struct mcai_mul_params *p);

/*
 * Concatenation along @axis.  An input whose scale and zero point equal
 * the output's (mult = 2^30, shift = 1: 1.0 as mcai_quantize_multiplier
 * encodes it, and zp = out_zp) is copied; any other is requantised:
 * clamp(requant(q - zp, mult, shift) + out_zp), integer only.
 */
struct mcai_concat_input {
	const s8 *data;
	u32 dims[4];
	s32 zp;
	s32 mult;		/* in_scale / out_scale */
	s32 shift;
};

struct mcai_concat_params {
	const struct mcai_concat_input *in;
	u32 n_in;
	u32 axis;		/* 0..3 */
	u32 out[4];
	s32 out_zp;
};

const char *mcai_concat_check(const struct mcai_concat_params *p);
void mcai_concat(const struct mcai_concat_params *p, s8 *out);
/* 0: data movement (a requantised input costs one op an element). */
u64 mcai_concat_macs(const struct mcai_concat_params *p);

/*
 * Pad: out = in with before[d] / after[d] elements of @value around each
 * dimension.  TFLite pads int8 with the output zero point (real 0);
 * input and output share their quantisation.
 */
struct mcai_pad_params {
	u32 in[4];
	u32 before[4];
	u32 after[4];
	s8 value;
};

const char *mcai_pad_check(const struct mcai_pad_params *p);
void mcai_pad(const struct mcai_pad_params *p, const s8 *in, s8 *out);
u64 mcai_pad_macs(const struct mcai_pad_params *p);	/* 0 */

/*
 * Reshape and flatten change the shape only: dense NHWC bytes are the same
 * bytes.  The planner aliases the two tensors; when it could not, the
 * bytes are moved (memmove: they may overlap).
 */
const char *mcai_reshape_check(const u32 in[4], const u32 out[4]);
void mcai_reshape(const s8 *in, s8 *out, size_t len);
u64 mcai_reshape_macs(size_t len);	/* 0 */

/* ------------------------------------------------------------------ */
/* op_reduce.c: mean over a set of axes. */

/*
 * out = clamp(requant(sum(q - in_zp), mult, shift) + out_zp), the sum over
 * the axes in the bit mask @axes (bit d = dimension d), with
 * mult/shift = in_scale / (out_scale * count): the division by the count
 * folded into the multiplier, so a single rounding and no division.  The
 * output has the input's shape with the reduced dimensions 1 (keep_dims;
 * without it the bytes are the same).
 */
struct mcai_mean_params {
	u32 in[4];
	u32 axes;
	s32 in_zp, out_zp;
	s32 mult, shift;
};

/*
 * The most elements one sum of a mean or a pooling window may cover:
 * |sum| <= 255 * 2^23 < 2^31.
 */
#define MCAI_OP_MAX_MEAN	0x800000U	/* 2^23 */

const char *mcai_mean_check(const struct mcai_mean_params *p);
void mcai_mean(const struct mcai_mean_params *p, const s8 *in, s8 *out);
/* One accumulate per input element. */
u64 mcai_mean_macs(const struct mcai_mean_params *p);

/* ------------------------------------------------------------------ */
/* op_softmax.c: integer softmax. */

/*
 * TFLite Micro's int8 softmax over the innermost dimension, bit for bit:
 * the differences to the row's maximum are scaled by beta * in_scale into
 * Q5.26 (input_mult, input_left_shift), exp() is gemmlowp's fixed-point
 * exp_on_negative_values, the sum is kept in Q12.19 and inverted with
 * gemmlowp's Newton-Raphson reciprocal.  Differences below diff_min
 * contribute exp = 0.  The output is int8 with scale 1/256, zero point
 * -128, as TFLite requires.  models/train/opquant.c computes the params.
 * TFLite stops (TFLITE_CHECK) when the sum of exps reaches 512, where the
 * final shift would pass 31; this goes on with the wider shift: every
 * probability is then at most 1/512 and the outputs -128, which is the
 * float result rounded, to 1 LSB.
 */
struct mcai_softmax_params {
	u32 rows;
	u32 depth;
	s32 input_mult;
	s32 input_left_shift;	/* 0..30 */
	s32 diff_min;		/* <= 0 */
};

/* The Q12.19 sum of exps cannot overflow below 4096 classes. */
#define MCAI_OP_MAX_SOFTMAX	4095U

const char *mcai_softmax_check(const struct mcai_softmax_params *p);
void mcai_softmax(const struct mcai_softmax_params *p, const s8 *in, s8 *out);
/* Two passes of an exp and an accumulate per element. */
u64 mcai_softmax_macs(const struct mcai_softmax_params *p);

/* ------------------------------------------------------------------ */
/* op_activation.c: 256-entry lookup tables. */

/*
 * out = lut[in + 128] for any element-wise function of one int8 (sigmoid,
 * tanh, hard-swish, ...): the table is built offline from the float
 * function and the two tensors' quantisation (mcai_lut_build() in
 * models/train/opquant.h), so one rounding of the exact function.
 * Indexed like engine v1's LUT layer (q + 128, not TFLite's (u8)q).
 */
void mcai_lut(const s8 lut[256], const s8 *in, s8 *out, size_t len);
u64 mcai_lut_macs(size_t len);		/* 0: a table look-up */

/* ------------------------------------------------------------------ */
/* op_head.c: heads. */

/* The index of the largest of @len scores; ties go to the lowest index. */
u32 mcai_argmax(const s8 *scores, u32 len);
/* argmax of each of @rows rows of @depth, into @classes[rows]. */
void mcai_argmax_rows(const s8 *scores, u32 rows, u32 depth, u32 *classes);
/* Score head: 1 if scores[index] >= threshold (engine v1's threshold). */
int mcai_score_head(const s8 *scores, u32 index, s8 threshold);
/* rows * depth: one compare a score, as max pooling counts them. */
u64 mcai_argmax_macs(u32 rows, u32 depth);

/*
 * Anomaly head, the reconstruction score: the mean squared error between
 * a model's output (the reconstruction) and its input, as an s32.  The input
 * is brought to the output's scale (in_mult/in_shift = in_scale /
 * out_scale, at most 0.5 LSB of error an element), each difference is
 * squared exactly in 64 bits, the sum saturates at S64_MAX, and
 * mean_mult/mean_shift = out_scale^2 / (len * score_scale) turn it into
 * the score with one rounding (mcai_requant64): score * score_scale is the
 * MSE in real units.
 */
struct mcai_recon_params {
	u32 len;
	s32 out_zp;
	s32 in_zp;
	s32 in_mult, in_shift;
	s32 mean_mult, mean_shift;
};

const char *mcai_recon_check(const struct mcai_recon_params *p);
s32 mcai_recon_score(const struct mcai_recon_params *p, const s8 *recon,
		     const s8 *input);
/* One square and accumulate per element. */
u64 mcai_recon_macs(const struct mcai_recon_params *p);

/* ------------------------------------------------------------------ */
/* op_tree.c: tree ensembles and linear models on int16 features. */

/*
 * A node of a flattened tree.  A split sends feature values
 * x[feature] <= threshold to @left, others to @right (scikit-learn's
 * rule; thresholds are quantised with floor, see opquant.h).  A leaf has
 * feature == MCAI_TREE_LEAF and its n_outputs values at values[@value].
 */
#define MCAI_TREE_LEAF		0xffffU

struct mcai_tree_node {
	u32 left;
	u32 right;
	u32 value;
	u16 feature;
	s16 threshold;
};

/* Deepest tree accepted: the checker's stack and the walk's bound. */
#define MCAI_TREE_MAX_DEPTH	64U
#define MCAI_TREE_MAX_NODES	0x1000000U	/* 2^24 */
#define MCAI_TREE_MAX_OUTPUTS	1024U

enum mcai_tree_aggregate {
	/* out[k] = base[k] + sum of the trees' leaf values: decision tree,
	 * gradient boosting
	 */
	MCAI_TREE_SUM = 0,
	/* out[k] = trees whose leaf's largest value is k: random forest */
	MCAI_TREE_VOTE = 1,
	/* out[k] = mean of the leaf values, half away from zero: forest */
	MCAI_TREE_AVERAGE = 2,
};

enum mcai_link {
	MCAI_LINK_IDENTITY = 0,
	/* 1 / (1 + e^-x) of x in Q(frac_bits), as Q0.31 (2^31 - 1 = 1.0) */
	MCAI_LINK_LOGISTIC = 1,
};

/*
 * Tree t's nodes are nodes[roots[t] .. roots[t + 1]) (the last tree's end
 * at n_nodes), its root the first of them; children come strictly after
 * their parent and inside their tree's range, which makes every walk
 * finish; the depth (splits on a root-to-leaf path) is at most max_depth.
 */
struct mcai_tree_ensemble {
	const struct mcai_tree_node *nodes;
	u32 n_nodes;
	const u32 *roots;
	u32 n_trees;
	const s32 *values;	/* leaf values, n_outputs a leaf */
	u32 n_values;
	const s32 *base;	/* SUM: [n_outputs] added first, or NULL */
	u32 n_features;
	u32 n_outputs;
	u32 max_depth;		/* <= MCAI_TREE_MAX_DEPTH */
	u8 aggregate;		/* enum mcai_tree_aggregate */
	u8 link;		/* enum mcai_link, SUM only */
	u8 frac_bits;		/* of the values, for the logistic: 2..31 */
};

/*
 * The bounded-work checker the verifier calls: every index in range,
 * children strictly after their parent and inside their tree, no node
 * reached twice, depth <= max_depth, leaves' values in range, AVERAGE's
 * sums fit an s32.  O(n_nodes + n_values) time, O(MCAI_TREE_MAX_DEPTH)
 * stack.  NULL if the kernel may run @e, else why not.
 */
const char *mcai_tree_check(const struct mcai_tree_ensemble *e);

/*
 * Evaluate the ensemble on @x[n_features] into @out[n_outputs] and return
 * the class: the argmax of @out (lowest index on ties), or for a single
 * output, out > 0 (SUM; logistic: p > 0.5).  -1 if a walk did not end on
 * a leaf within max_depth (a checked ensemble never does that).
 */
int mcai_tree_ensemble(const struct mcai_tree_ensemble *e, const s16 *x,
		       s32 *out);
/* n_trees * (max_depth + n_outputs): compares, then accumulates. */
u64 mcai_tree_macs(const struct mcai_tree_ensemble *e);

/*
 * Linear and logistic models: acc[k] = bias[k] + sum_j w[k][j] * x[j] in
 * 64 bits (|w * x| <= 2^30, n_features <= 65536, |bias| <= 2^61: no
 * overflow), scaled to a Q(frac_bits) score by mult/shift with one
 * rounding (mcai_requant64), then the link.  Feature zero points are
 * folded into the bias offline, feature scales into the weights.
 */
struct mcai_linear_params {
	u32 n_features;
	u32 n_outputs;
	const s16 *weights;	/* [n_outputs][n_features] */
	const s64 *bias;	/* [n_outputs], accumulator units */
	const s32 *mult;	/* [n_outputs] */
	const s32 *shift;	/* [n_outputs] */
	u8 link;		/* enum mcai_link */
	u8 frac_bits;		/* of the score, for the logistic: 2..31 */
};

const char *mcai_linear_check(const struct mcai_linear_params *p);
/* As mcai_tree_ensemble(): the class, @out[n_outputs] the scores. */
int mcai_linear(const struct mcai_linear_params *p, const s16 *x, s32 *out);
/* n_features * n_outputs */
u64 mcai_linear_macs(const struct mcai_linear_params *p);

#endif /* MCAI_OPS_H */
