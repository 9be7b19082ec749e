/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SIMD for the dot-product kernels (fully connected, conv2d/conv1d,
 * depthwise): the dispatch, the packed weights and the drivers.
 *
 * The SIMD part computes exactly the int32 accumulators the scalar
 * reference (op_conv.c, engine.c) computes; the output stage (bias,
 * requantisation, clamp) is vectorised too (out8 below), each step the
 * integer identity of mcai_op_out8()'s, so every path is bit-exact with
 * scalar, and tested so (exhaustively at the edges for the output stage).
 *
 * Dispatch: one path for the whole process or module, chosen once from
 * the CPU's features (mcai_simd_select(), "auto" = the best one), before
 * any model is loaded.  Weights are packed at load for the path active
 * then, and each packed copy remembers its path: a kernel only uses a
 * packed copy made for the path it is, so changing the path (tests do)
 * never mixes layouts; models loaded before run scalar.
 *
 * Packing (mcai_pack): the weights of @n output channels of @k taps each
 * (a fully connected layer's rows; a conv's OHWI filters, whose rows are
 * the im2col order (ky, kx, ic)) as panels of @nr channels (the last
 * panel of each group may be narrower), each panel [k / kr][nr][kr]:
 * one vector load is nr channels times kr taps, multiplied by kr
 * activations broadcast.  The activation zero point (and VNNI's +128,
 * below) go into @corr, per channel, so the inner loop sees raw bytes.
 *
 *   avx2        nr 8, kr 2: vpmovsxbw the weights, vpmaddwd with the
 *               activation pair sign-extended: exact int32 (no
 *               vpmaddubsw, which saturates in int16).
 *   avx512vnni  nr 16, kr 4: vpdpbusd on zmm; unsigned x signed, so the
 *               activations are x ^ 0x80 = x + 128 as u8, and corr
 *               holds -(128 + zp) * sum(w).
 *   avxvnni     nr 8, kr 4: the same with the VEX ymm vpdpbusd.
 *   neon        nr 8, kr 4 (arm64): smull/smlal pairs of two quads in
 *               int16 (exact: |w| <= 127), sadalp into int32.
 *   dotprod     nr 16, kr 4 (arm64 v8.2 dotprod): sdot, signed x
 *               signed, raw activations.
 *
 * Accumulations wrap modulo 2^32 in the vector registers; the exact sum
 * they end on fits an s32 (ops.h: MCAI_OP_MAX_DOT), so the wrapped
 * arithmetic gives it exactly.
 *
 * FPU sections: in the kernel vector registers are used between
 * kernel_fpu_begin() and kernel_fpu_end() (arm64: kernel_neon_begin()
 * and kernel_neon_end()), with preemption off.  The
 * drivers end a section after at most MCAI_SIMD_SECTION_MACS
 * multiply-accumulates (plus one block), yield, and begin the next.
 */
#ifndef MCAI_SIMD_H
#define MCAI_SIMD_H

#include "models/engine/ops.h"

enum mcai_simd_path {
	MCAI_SIMD_OFF = 0,		/* the scalar reference kernels */
	MCAI_SIMD_AVX2 = 1,
	MCAI_SIMD_AVX512VNNI = 2,
	MCAI_SIMD_AVXVNNI = 3,
	MCAI_SIMD_NEON = 4,		/* arm64, every CPU */
	MCAI_SIMD_DOTPROD = 5,		/* arm64 with asimddp (v8.2+) */
	MCAI_SIMD_NR_PATHS = 6,
};

/*
 * ~64 K MACs: about 1-3 us on this engine's slowest vector path, the
 * order of the kernel crypto code's 4 KiB sections.  The output stage
 * (scalar requantisation) and the gathering of a window cost far more
 * than a MAC: each output counts as MCAI_SIMD_OUT_COST MACs and each
 * kernel call as MCAI_SIMD_CALL_COST, so that layers of few channels,
 * all overhead, are bounded in time too.
 */
#define MCAI_SIMD_SECTION_MACS	65536U
#define MCAI_SIMD_OUT_COST	256U
#define MCAI_SIMD_CALL_COST	1024U
/* Output channels a kernel call accumulates at once (a multiple of nr). */
#define MCAI_SIMD_OCB		64U
/* Taps of one im2col chunk on the stack (a multiple of kr). */
#define MCAI_SIMD_KC		512U
/*
 * Taps a dot4() call covers at most (a multiple of kr), so that a call
 * is no more MACs (4 pixels x MCAI_SIMD_OCB channels) than a dot()
 * call: the section bound counts in such calls.
 */
#define MCAI_SIMD_KC4	(MCAI_SIMD_KC / 4)
/* Bytes a vector load may read past a packed array's end. */
#define MCAI_SIMD_SLACK		64U

struct mcai_pack {
	u8 path;		/* enum mcai_simd_path it was made for */
	u8 nr, kr;
	u8 pad;
	u32 n;			/* output channels */
	u32 k;			/* taps a channel */
	u32 kp;			/* k rounded up to kr */
	u32 groups;		/* channels n / groups per group */
	const s32 *corr;	/* [n] */
	const s8 *w;		/* [n][kp], in panels, + MCAI_SIMD_SLACK */
};

/* "off", "avx2", "avx512vnni", "avxvnni", "neon", "dotprod"; NULL if none. */
const char *mcai_simd_name(enum mcai_simd_path path);
/* The path called @name, "auto" the best one: -1 if none is so called. */
int mcai_simd_parse(const char *name);
/* Whether this CPU (and OS) can run @path (OFF: always). */
bool mcai_simd_supported(enum mcai_simd_path path);
/* The best path this CPU runs. */
enum mcai_simd_path mcai_simd_best(void);
/*
 * Make @path the active one: 0, or -1 if the CPU cannot run it (nothing
 * changes then).  Call before loading models, not while any runs.
 */
int mcai_simd_set(enum mcai_simd_path path);
/*
 * mcai_simd_set(mcai_simd_parse(@name)); NULL or "" is "auto".  -1 for
 * an unknown name or a path the CPU lacks.
 */
int mcai_simd_select(const char *name);
/* The active path (the best one, if none was chosen yet). */
enum mcai_simd_path mcai_simd_active(void);

/*
 * Packing at load.  mcai_simd_pack_bytes() is an upper bound on what
 * mcai_simd_pack() takes for @n channels of @k taps under the active
 * path (0 with SIMD off), without the struct; mcai_simd_pack() builds
 * the copy for weights @w [n][k] (row-major, -127..127) at @mem
 * (8-byte aligned) and returns the bytes used, or 0 when the active path
 * packs nothing or @room is too small (the op then runs scalar).  The
 * channels form @groups equal groups (conv2d's), no panel straddles two.
 */
u64 mcai_simd_pack_bytes_for(u32 n, u32 k);
u32 mcai_simd_pack(struct mcai_pack *pk, const s8 *w, u32 n, u32 k,
		   u32 groups, s32 in_zp, void *mem, u32 room);
/* Room per packed op beyond its weights and 4 bytes a channel. */
#define MCAI_SIMD_PACK_EXTRA	(MCAI_SIMD_SLACK + 16U)

/*
 * The drivers: false when @pk is not for the active path, or vectors
 * cannot be used here (the caller then runs the scalar kernel); true
 * when @out has been written, bit-exact with the scalar kernel.
 */
bool mcai_simd_fc(const struct mcai_fc_params *p, const struct mcai_pack *pk,
		  const s8 *in, const s32 *bias, s8 *out);
bool mcai_simd_conv2d(const struct mcai_conv_params *p,
		      const struct mcai_pack *pk, const s8 *in,
		      const s32 *bias, s8 *out);
/* Depthwise reads the filter as it is (1HWO is channel-contiguous). */
bool mcai_simd_depthwise(const struct mcai_conv_params *p, const s8 *in,
			 const s8 *filter, const s32 *bias, s8 *out);
/* 2-D max pooling: every channel of a window at once. */
bool mcai_simd_max_pool2d(const struct mcai_pool_params *p, const s8 *in,
			  s8 *out);
/* Add without broadcasting (a residual connection): element by element. */
bool mcai_simd_add(const struct mcai_add_params *p, const s8 *in1,
		   const s8 *in2, s8 *out);

/*
 * One row of a fully connected layer (engine v1's too, whose output
 * stage reads its parameters from the blob): the accumulators of
 * channels [c0, c0 + nch), exactly sum((x - zp) * w), handed to @fn,
 * which writes out[c0 ..].  Inside a section (mcai_simd_begin());
 * false if @pk is not the active path's.
 */
typedef void (*mcai_simd_out_fn)(const void *ctx, u32 c0, u32 nch,
				 const s32 *acc, s8 *out);
bool mcai_simd_fc_row(const struct mcai_pack *pk, const s8 *x,
		      const void *ctx, mcai_simd_out_fn fn, s8 *out,
		      u32 *section);
/* A bounded FPU section: false (and no section) if vectors are unusable. */
bool mcai_simd_begin(void);
void mcai_simd_end(void);
/*
 * Count a kernel call of @macs MACs and @outs outputs in the section;
 * past the bound, end it, yield, begin the next.
 */
void mcai_simd_tick(u32 *section_macs, u32 macs, u32 outs);
/* Whether @pk can be used now (its path is the active one). */
bool mcai_simd_usable(const struct mcai_pack *pk);

/*
 * What the output stage of channels [c, c + n) reads: each pointer
 * already at channel c.  Both the op structs (mcai_fc_params,
 * mcai_conv_params) and engine v1's little-endian blob feed it.
 */
struct mcai_simd_outq {
	const s32 *bias;	/* NULL: no bias */
	const s32 *mult;	/* 0..S32_MAX */
	const s32 *shift;	/* -31..30 */
	s32 out_zp;		/* -128..127 */
	s8 lo, hi;		/* the clamp */
	/*
	 * A bound on |acc| (0: none known).  mcai_simd_out8n() adds a
	 * block's biases without the saturation steps where |bias| +
	 * acc_max cannot overflow: the sum is then the same.
	 */
	u32 acc_max;
};

/*
 * |acc| of a dot product of @k taps, |x - zp| <= 255 and |w| <= 128:
 * below 2^31 while k <= MCAI_OP_MAX_DOT (65536 * 32640 = 2139095040).
 */
static inline u32 mcai_simd_acc_max(u32 k)
{
	return k <= MCAI_OP_MAX_DOT ? k * 32640U : 0;
}

/*
 * out[i] = mcai_op_out8(acc[i], bias[i], mult[i], shift[i], out_zp, lo,
 * hi) for i < n, with the active path's vectors inside a section, else
 * (or with no path active) the scalar code.
 */
void mcai_simd_out8(const struct mcai_simd_outq *q, const s32 *acc, u32 n,
		    s8 *out);
/*
 * The output stage of @np pixels sharing the channels' constants: pixel
 * p's @n accumulators at acc + p * astride, its bytes at out + p *
 * ostride, each mcai_simd_out8()'s result; q->mult >= 0
 * (mcai_op_check_requant()'s), which the vector code relies on.
 */
void mcai_simd_out8n(const struct mcai_simd_outq *q, const s32 *acc,
		     u32 astride, u32 np, u32 n, s8 *out, size_t ostride);

/* The per-ISA kernels (op_conv_<isa>.c), called inside a section. */
struct mcai_simd_isa {
	/* in place: raw s8 activations to what dot() multiplies */
	void (*prep)(u8 *x, u32 len);
	/*
	 * acc[i] (first: = corr[c0 + i] +, else +=) the dot product of
	 * channel c0 + i's taps [k0, k0 + len) with x[0..len), for the
	 * @nch channels from c0 (c0 a panel start, c0 + nch a panel end
	 * or the group's end); x readable to len rounded up to kr.
	 */
	void (*dot)(const struct mcai_pack *pk, const u8 *x, u32 k0,
		    u32 len, u32 c0, u32 nch, s32 *acc, bool first);
	/*
	 * dot() for four pixels at once, from their raw s8 activations
	 * (no prep: the kernel applies it), x[p] readable to len rounded
	 * up to kr, len <= MCAI_SIMD_KC4; pixel p's accumulators at
	 * acc + p * MCAI_SIMD_OCB.
	 * NULL: the driver goes pixel by pixel.
	 */
	void (*dot4)(const struct mcai_pack *pk, const u8 *const x[4],
		     u32 k0, u32 len, u32 c0, u32 nch, s32 *acc, bool first);
	/*
	 * Depthwise, channel multiplier 1: acc[i] = the window's dot
	 * product of channel c0 + i at (y0, x0), valid taps only.
	 */
	void (*dw)(const struct mcai_conv_params *p, const s8 *img, s64 y0,
		   s64 x0, const s8 *filter, u32 c0, u32 nch, s32 *acc);
	/*
	 * dw() for np (1..4) pixels of one row at columns x0[0..np),
	 * increasing, whose windows all lie in the image; pixel q's
	 * accumulators at acc + q * MCAI_SIMD_OCB.  NULL: dw() a pixel.
	 */
	void (*dw4)(const struct mcai_conv_params *p, const s8 *img, s64 y0,
		    const s64 *x0, u32 np, const s8 *filter, u32 c0, u32 nch,
		    s32 *acc);
	/* mcai_simd_out8()'s vector half */
	void (*out8)(const struct mcai_simd_outq *q, const s32 *acc, u32 n,
		     s8 *out);
	/*
	 * mcai_simd_out8n()'s: each channel block's constants (bias,
	 * multiplier, shifts, rounding masks) computed once for all @np
	 * pixels, the saturation steps left out where a block cannot
	 * need them; NULL: out8 pixel by pixel.
	 */
	void (*out8n)(const struct mcai_simd_outq *q, const s32 *acc,
		      u32 astride, u32 np, u32 n, s8 *out, size_t ostride);
	/*
	 * mcai_add()'s elements [0, n) of same-shape inputs, each exactly
	 * the scalar mcai_add_one(); NULL: the scalar loop.
	 */
	void (*add)(const struct mcai_add_params *p, const s8 *in1,
		    const s8 *in2, u32 n, s8 *out);
	/*
	 * Max pooling, all @c channels of one window: out[i] = clamp(max
	 * over rows x cols taps of base[ky * row + kx * c + i], lo, hi),
	 * as the scalar mcai_max_pool2d(); NULL: the scalar kernel.
	 */
	void (*maxp)(const s8 *base, size_t row, u32 c, u32 rows, u32 cols,
		     s8 lo, s8 hi, s8 *out);
	u8 nr, kr, off;		/* off: what prep adds (VNNI: 128) */
};

/* The active path's kernels, NULL for the scalar path. */
const struct mcai_simd_isa *mcai_simd_isa_active(void);

/* op_conv_avx2.c's depthwise, which the VNNI paths use too */
void mcai_simd_avx2_dw(const struct mcai_conv_params *p, const s8 *img,
		       s64 y0, s64 x0, const s8 *filter, u32 c0, u32 nch,
		       s32 *acc);
/* op_conv_avx2.c's depthwise of four pixels, which the VNNI paths use too */
void mcai_simd_avx2_dw4(const struct mcai_conv_params *p, const s8 *img,
			s64 y0, const s64 *x0, u32 np, const s8 *filter,
			u32 c0, u32 nch, s32 *acc);
/* op_conv_avx2.c's output stage, which AVX-VNNI uses too */
void mcai_simd_avx2_out8(const struct mcai_simd_outq *q, const s32 *acc,
			 u32 n, s8 *out);
/* op_conv_avx2.c's output stage of several pixels, which AVX-VNNI uses too */
void mcai_simd_avx2_out8n(const struct mcai_simd_outq *q, const s32 *acc,
			  u32 astride, u32 np, u32 n, s8 *out,
			  size_t ostride);
/* op_conv_avx2.c's max pooling, which every x86 path uses */
void mcai_simd_avx2_maxp(const s8 *base, size_t row, u32 c, u32 rows,
			 u32 cols, s8 lo, s8 hi, s8 *out);
/* op_conv_avx2.c's add, which every x86 path uses */
void mcai_simd_avx2_add(const struct mcai_add_params *p, const s8 *in1,
			const s8 *in2, u32 n, s8 *out);

extern const struct mcai_simd_isa mcai_simd_avx2;
extern const struct mcai_simd_isa mcai_simd_avx512vnni;
extern const struct mcai_simd_isa mcai_simd_avxvnni;

#ifndef __KERNEL__
/*
 * User space, for the unit tests and benchmarks only: run @isa's kernels
 * as @path, which mcai_simd_supported() then accepts whatever the CPU
 * says (NULL undoes it, and makes "off" active if @path was and the CPU
 * lacks it).  The caller vouches that this CPU runs @isa;
 * call it before loading models for @path, as mcai_simd_set().  Its
 * one use: mcai_simd_avxvnni_evex as the avxvnni path on a CPU with
 * AVX-512 VNNI but without AVX-VNNI (op_conv_avxvnni.c built again with
 * the EVEX vpdpbusd, tests/unit/unit.mk), so that the AVX-VNNI kernels
 * run, and are tested, where the VEX instruction does not exist.
 */
void mcai_simd_stand_in(enum mcai_simd_path path,
			const struct mcai_simd_isa *isa);
extern const struct mcai_simd_isa mcai_simd_avxvnni_evex;
#endif

/* op_conv_neon.c's depthwise, which the dot-product path uses too */
void mcai_simd_neon_dw(const struct mcai_conv_params *p, const s8 *img,
		       s64 y0, s64 x0, const s8 *filter, u32 c0, u32 nch,
		       s32 *acc);

extern const struct mcai_simd_isa mcai_simd_neon;
extern const struct mcai_simd_isa mcai_simd_dotprod;

#endif /* MCAI_SIMD_H */
