/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A float network described layer by layer (user space only), the way a
 * Keras model is written, and everything mcai-zoo does with it: a float
 * forward pass (netbuild.c) whose activation ranges calibrate the int8
 * quantisation, then the int8 graph blob and a probe of how well each
 * layer's output uses its int8 range (netquant.c).
 *
 * Batch 1, NHWC.  Batch normalisation is folded into the weights before
 * they get here (mcai_nb_synthetic() folds its synthetic statistics, a
 * trainer folds its own), ReLU is fused into the layer that precedes it:
 * the graph that runs is the graph TFLite's converter would emit.
 */
#ifndef MCAI_NETBUILD_H
#define MCAI_NETBUILD_H

#include <stdbool.h>
#include <stdio.h>

#include "models/engine/graph.h"

#define MCAI_NB_MAX_TENSORS	64
#define MCAI_NB_MAX_LAYERS	64

enum mcai_nb_kind {
	MCAI_NB_CONV,		/* w [O][kh][kw][I], b [O] */
	MCAI_NB_DW,		/* w [kh][kw][C], b [C]; multiplier 1 */
	MCAI_NB_FC,		/* w [O][I], b [O]; input flattened */
	MCAI_NB_AVGPOOL,	/* valid padding */
	MCAI_NB_ADD,
	MCAI_NB_SOFTMAX,
	MCAI_NB_RECON,		/* MSE of in[0] (reconstruction) vs in[1] */
};

struct mcai_nb_tensor {
	u32 dims[4];		/* NHWC, dims[0] = 1 */
	u32 elems;
	float *v;		/* the last float forward pass */
	double lo, hi;		/* observed over the calibration passes */
	bool fixed;		/* scale and zp given, not calibrated */
	u8 dtype;		/* enum mcai_dtype of the int8 graph */
	float scale;
	s32 zp;
	u32 gw;			/* its index in the written graph */
};

struct mcai_nb_layer {
	u8 kind;		/* enum mcai_nb_kind */
	bool relu;
	u32 in[2];
	u32 out;
	u32 k_h, k_w, stride_h, stride_w;
	u32 pad_top, pad_left, pad_bottom, pad_right;
	u32 n_w, n_b;
	float *w, *b;
	double score_scale;	/* RECON: one score step, in squared units */
	char name[24];
};

struct mcai_nb_net {
	const char *name;
	u32 n_t, n_l;
	struct mcai_nb_tensor t[MCAI_NB_MAX_TENSORS];
	struct mcai_nb_layer l[MCAI_NB_MAX_LAYERS];
	u32 input;
	u32 n_out;
	u32 output[2];		/* output[0] carries the head */
};

/* An empty net named @name (a blob name, < 32 characters). */
void mcai_nb_init(struct mcai_nb_net *n, const char *name);
void mcai_nb_free(struct mcai_nb_net *n);

/* The input, h x w x c, quantised to int8 over [lo, hi]. */
u32 mcai_nb_input(struct mcai_nb_net *n, u32 h, u32 w, u32 c, double lo,
		  double hi);

/*
 * Layers; each returns its output tensor.  Convolutions pad as Keras'
 * padding='same' (TFLite's SAME: the odd pixel at the end).  Weights are
 * allocated zeroed: fill them with mcai_nb_synthetic() or a trainer's.
 */
u32 mcai_nb_conv(struct mcai_nb_net *n, const char *name, u32 x, u32 out_c,
		 u32 k_h, u32 k_w, u32 stride, bool relu);
u32 mcai_nb_dw(struct mcai_nb_net *n, const char *name, u32 x, u32 k,
	       u32 stride, bool relu);
u32 mcai_nb_fc(struct mcai_nb_net *n, const char *name, u32 x, u32 out,
	       bool relu);
u32 mcai_nb_avgpool(struct mcai_nb_net *n, const char *name, u32 x,
		    u32 k_h, u32 k_w);
u32 mcai_nb_add(struct mcai_nb_net *n, const char *name, u32 a, u32 b,
		bool relu);
u32 mcai_nb_softmax(struct mcai_nb_net *n, const char *name, u32 x);
u32 mcai_nb_recon(struct mcai_nb_net *n, const char *name, u32 recon,
		  u32 input, double score_scale);

/* The layer that writes tensor @t (every tensor but the input has one). */
struct mcai_nb_layer *mcai_nb_writer(struct mcai_nb_net *n, u32 t);

/*
 * Synthetic weights from a fixed seed: He-normal kernels, and for
 * convolutions a batch normalisation of synthetic statistics (gamma,
 * beta, moving mean and variance) folded in as Keras' layers would be
 * after training.  Deterministic.
 */
void mcai_nb_synthetic(struct mcai_nb_net *n, u64 seed);

/* splitmix64 draws shared by the model builders. */
double mcai_nb_uniform(u64 *rng);		/* [0, 1) */
double mcai_nb_normal(u64 *rng);		/* N(0, 1) */

/* Float forward pass of @in (the input's elements); tensors' v hold it. */
void mcai_nb_forward(struct mcai_nb_net *n, const float *in);
/* Widen every tensor's observed range by the last forward pass. */
void mcai_nb_observe(struct mcai_nb_net *n);
/* Forget the observed ranges (before a calibration). */
void mcai_nb_reset_ranges(struct mcai_nb_net *n);

/* Weights and biases (floats) of the net; its conv/FC MACs. */
u64 mcai_nb_params(const struct mcai_nb_net *n);
u64 mcai_nb_macs(const struct mcai_nb_net *n);

/* ------------------------------------------------------------------ */
/* netquant.c: the int8 graph. */

/* Per-tensor use of the int8 range over a set of probe inputs. */
struct mcai_nb_use {
	s32 qmin, qmax;
	u64 n, at_lo, at_hi;	/* elements, and those at the clamp bounds */
	double sig2, err2;	/* float output's energy, int8's error's */
};

/*
 * Scales and zero points from the observed ranges (asymmetric, TFLite's
 * rule; pooling keeps its input's; softmax is 1/256, -128), then the
 * blob: per-channel int8 weights, int32 biases, Q31 multipliers, @n_tv
 * test vectors of int8 inputs @tv (their outputs computed by the
 * interpreter).  @head/@thr as uapi/mcai.h.  Returns a malloc'd verified
 * blob, or NULL with @err.
 */
u8 *mcai_nb_write(struct mcai_nb_net *n, u8 head, s8 thr, const s8 *tv,
		  u32 n_tv, u32 *size, char *err, size_t errlen);

/* Quantise a float input to the int8 input tensor of @n. */
void mcai_nb_quantise_input(const struct mcai_nb_net *n, const float *x,
			    s8 *q);
/* The float values the int8 input @q stands for. */
void mcai_nb_dequantise_input(const struct mcai_nb_net *n, const s8 *q,
			      float *x);

/*
 * A verified blob run for analysis: every arena tensor laid out apart (a
 * diagnostic layout, not the blob's plan) so that every layer's output
 * survives the run and can be read afterwards.
 */
struct mcai_nb_probe {
	u8 *state;
	u8 *arena;
	u32 arena_size;		/* the blob's own plan */
	u32 max_dim;		/* the largest tensor dimension */
	struct mcai_graph g;
};

/* 0, or -1 with @err when the verifier refuses @blob (widest limits). */
int mcai_nb_probe_open(struct mcai_nb_probe *p, const u8 *blob, u32 size,
		       char *err, size_t errlen);
void mcai_nb_probe_close(struct mcai_nb_probe *p);
/* Run int8 input @q; returns the head's class. */
int mcai_nb_probe_run(struct mcai_nb_probe *p, const s8 *q);
/* Tensor @gw of the last run. */
const void *mcai_nb_probe_tensor(const struct mcai_nb_probe *p, u32 gw);
/*
 * Add the last run's tensors to @use[n->n_t], the error against the float
 * values the tensors hold (a forward pass of the same input).
 */
void mcai_nb_probe_use(const struct mcai_nb_probe *p,
		       const struct mcai_nb_net *n, struct mcai_nb_use *use);

/* The per-layer table of a report: shapes, MACs, ranges, range use. */
void mcai_nb_report_layers(FILE *f, const struct mcai_nb_net *n,
			   const struct mcai_nb_probe *p,
			   const struct mcai_nb_use *use);

#endif /* MCAI_NETBUILD_H */
