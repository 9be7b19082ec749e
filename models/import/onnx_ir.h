/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The importer's view of an ONNX graph, between the protobuf and the
 * blob: tensors by index, nodes in topological order, every quantised
 * form already turned into a float graph whose tensors carry the
 * quantisation the source model fixed (QDQ, QOperator) or calibration
 * will give them.  User space only.
 */
#ifndef MCAI_ONNX_IR_H
#define MCAI_ONNX_IR_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"
#include "models/import/import.h"

#define MCAI_OX_MAX_RANK	4
#define MCAI_OX_MAX_NODES	4096U
#define MCAI_OX_MAX_TENSORS	8192U
/* Elements of any one tensor: a micro-model's tensors are far smaller. */
#define MCAI_OX_MAX_ELEMS	(1U << 24)

/* ONNX TensorProto.DataType values the importer reads. */
enum {
	MCAI_OX_FLOAT = 1, MCAI_OX_UINT8 = 2, MCAI_OX_INT8 = 3,
	MCAI_OX_INT16 = 5, MCAI_OX_INT32 = 6, MCAI_OX_INT64 = 7,
	MCAI_OX_DOUBLE = 11,
};

struct mcai_ox_tensor {
	char *name;
	u32 rank;
	u32 dims[MCAI_OX_MAX_RANK];	/* ONNX order (NCHW) */
	bool known;			/* shape known */
	bool is_const;
	bool is_input, is_output;
	u8 onnx_type;			/* element type at the graph boundary */
	float *f;			/* constant values, or the last eval */
	/* exact int8 weights (QDQ, QOperator): f is their dequantised copy */
	s8 *q8;
	float *qs;			/* per-tensor (1) or per-channel scales */
	u32 nqs;
	u32 qaxis;			/* the axis of per-channel qs */
	s32 *i32;			/* exact int32 bias, in in*w scale */
	/* activation quantisation, int8 domain */
	bool has_q;
	float scale;
	s32 zp;
	bool calibrated;
	float lo, hi;
	/* lowering */
	s32 gw;				/* tensor index in the blob, -1 none */
	bool nchw;			/* 3-/4-D activation stored channels-last */
	bool flat_chw;			/* flattened from C,H,W order */
	u32 chw[3];
	bool classifier;		/* ai.onnx.ml scores: a label before */
	bool one_d;			/* ONNX N,C,L held as N,C,1,L */
	/*
	 * An input a Scaler multiplied per feature (last axis): the graph
	 * reads x * feat_scale, the blob's input has per-channel scales.
	 */
	float *feat_scale;
	s32 producer;			/* node index, -1 */
	u32 uses;
};

/* Fused activations (the clamp of the producer's output). */
enum { MCAI_OX_ACT_NONE, MCAI_OX_ACT_RELU, MCAI_OX_ACT_CLIP };

struct mcai_ox_node {
	const char *name;		/* ONNX name, or "#<index>" */
	const char *op;		/* op type after normalisation */
	const char *domain;
	const void *proto;		/* Onnx__NodeProto: attributes */
	u32 n_in, n_out;
	s32 in[9];			/* tensor index, -1 for "" */
	s32 out[2];
	bool dead;
	u8 act;
	float act_lo, act_hi;
	u32 axes;			/* ReduceMean: ONNX axes as a bit mask */
	bool one_d;			/* 1-D window attributes, over W (H = 1) */
	char namebuf[16];
};

struct mcai_ox_graph {
	void *model;			/* Onnx__ModelProto */
	u32 n_t, cap_t;
	struct mcai_ox_tensor *t;
	u32 n_n;
	struct mcai_ox_node *n;
	u32 n_in, n_out;
	s32 in[MCAI_IMPORT_MAX_IO];
	s32 out[MCAI_IMPORT_MAX_IO];
	s64 opset, ml_opset;
	bool batched;			/* an input's batch axis was made 1 */
	u32 batch;			/* its declared size, 0 symbolic */
	u64 act_elems;			/* activations allocated by the eval */
	struct mcai_import_error *err;
};

/* onnx_load.c: parse and check; builds @g (nodes sorted). */
int mcai_ox_load(struct mcai_ox_graph *g, const u8 *buf, size_t len,
		 struct mcai_import_error *err);
void mcai_ox_free(struct mcai_ox_graph *g);
/* A new tensor (a rewrite's result); -1 when the table is full. */
s32 mcai_ox_add_tensor(struct mcai_ox_graph *g, const char *name);
u64 mcai_ox_elems(const struct mcai_ox_tensor *t);
/* Replace every read of @from by @to (and its graph-output role). */
void mcai_ox_alias(struct mcai_ox_graph *g, s32 from, s32 to);
void mcai_ox_count_uses(struct mcai_ox_graph *g);

/* Attributes of a node (onnx_load.c). */
bool mcai_ox_attr_int(const struct mcai_ox_node *n, const char *name,
		      s64 *v);
s64 mcai_ox_attr_int_or(const struct mcai_ox_node *n, const char *name,
			s64 dflt);
float mcai_ox_attr_float_or(const struct mcai_ox_node *n, const char *name,
			    float dflt);
/* Returns the count (or -1 when absent); @v points into the proto. */
long mcai_ox_attr_ints(const struct mcai_ox_node *n, const char *name,
		       const s64 **v);
long mcai_ox_attr_floats(const struct mcai_ox_node *n, const char *name,
			 const float **v);
const char *mcai_ox_attr_string(const struct mcai_ox_node *n,
				const char *name);
/* A tensor attribute (Onnx__TensorProto), or NULL. */
const void *mcai_ox_attr_tensor(const struct mcai_ox_node *n,
				const char *name);
/* Tensor @ti from an Onnx__TensorProto: values and sizes checked. */
int mcai_ox_const_proto(struct mcai_ox_graph *g, s32 ti, const void *proto);
/* Does the node carry an attribute not in the NULL-terminated @known? */
const char *mcai_ox_attr_unknown(const struct mcai_ox_node *n,
				 const char *const *known);

/* Refusals: set @g->err, return -1. */
__attribute__((format(printf, 3, 4)))
int mcai_ox_refuse(struct mcai_ox_graph *g, int code, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
int mcai_ox_node_refuse(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
			const char *fmt, ...);

/* onnx_qnorm.c: QDQ and QOperator forms into float ops + quantisation. */
int mcai_ox_normalise_quant(struct mcai_ox_graph *g);
/* onnx_rewrite.c: folds, fusions, drops; how many, or -1. */
int mcai_ox_rewrite(struct mcai_ox_graph *g);
int mcai_ox_reshape_dims(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
			 const struct mcai_ox_tensor *x,
			 const struct mcai_ox_tensor *s, u32 *rank, u32 *dims);

/* A convolution's or pooling's window, ONNX attributes resolved. */
struct mcai_ox_window {
	u32 kh, kw, sh, sw, dh, dw;
	u32 pt, pl, pb, pr;
	u32 group;
	u32 oh, ow;
};

/* onnx_eval.c: a pool's kernel_shape (1-D: @kh 1); -1 when malformed. */
int mcai_ox_pool_kernel(const struct mcai_ox_node *n, u32 *kh, u32 *kw);
/* onnx_eval.c: the window of @n over NCHW input @x (kernel @kh x @kw). */
int mcai_ox_window(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
		   const struct mcai_ox_tensor *x, u32 kh, u32 kw,
		   struct mcai_ox_window *w);
/* onnx_eval.c: shapes and float values of every tensor for @inputs. */
int mcai_ox_eval(struct mcai_ox_graph *g, float *const *inputs);
/* onnx_lower.c: the int8 graph, written as a blob. */
int mcai_ox_lower(struct mcai_ox_graph *g, const struct mcai_import_opts *o,
		  const float *tv_input, struct mcai_import_result *r);
/* onnx_ml.c: ai.onnx.ml tree ensembles as one TREE op. */
bool mcai_ox_is_ml(const struct mcai_ox_graph *g);
int mcai_ox_lower_ml(struct mcai_ox_graph *g, const struct mcai_import_opts *o,
		     struct mcai_import_result *r);
/* onnx_ml.c: [Scaler ->] LinearClassifier / LinearRegressor as FC
 * (+ Softmax / Sigmoid); 1 rewritten, 0 none there, -1 refused.
 */
int mcai_ox_ml_linear(struct mcai_ox_graph *g);

#endif /* MCAI_ONNX_IR_H */
