// SPDX-License-Identifier: GPL-2.0
/*
 * The ONNX importer (models/import/): models built here with protobuf-c's
 * generated structs, packed to bytes, imported, verified and run by the
 * engine; every accepted form, every refusal reason, hostile files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "build/gen/onnx/onnx.pb-c.h"
#include "models/engine/graph.h"
#include "models/import/import.h"
#include "models/import/iofacts.h"
#include "tests/unit/unit.h"

/* A model under construction: fixed arrays, enough for these tests. */
struct mb {
	Onnx__ModelProto m;
	Onnx__GraphProto g;
	Onnx__OperatorSetIdProto ops, ops_ms;
	Onnx__OperatorSetIdProto *opp[2];
	Onnx__NodeProto node[8], *nodep[8];
	Onnx__AttributeProto attr[16], *attrp[8][4];
	Onnx__TensorProto init[16], *initp[16];
	int64_t idims[16][4];
	Onnx__ValueInfoProto vin[2], vout[2], *vinp[2], *voutp[2];
	Onnx__TypeProto tp[4];
	Onnx__TypeProto__Tensor tt[4];
	Onnx__TensorShapeProto sh[4];
	Onnx__TensorShapeProto__Dimension dim[4][4], *dimp[4][4];
	u32 n_attr, n_tp;
};

static void mb_init(struct mb *b)
{
	memset(b, 0, sizeof(*b));
	onnx__model_proto__init(&b->m);
	onnx__graph_proto__init(&b->g);
	onnx__operator_set_id_proto__init(&b->ops);
	onnx__operator_set_id_proto__init(&b->ops_ms);
	b->ops.has_version = 1;
	b->ops.version = 13;
	b->ops_ms.domain = "com.microsoft";
	b->ops_ms.has_version = 1;
	b->ops_ms.version = 1;
	b->opp[0] = &b->ops;
	b->opp[1] = &b->ops_ms;
	b->m.n_opset_import = 2;
	b->m.opset_import = b->opp;
	b->m.has_ir_version = 1;
	b->m.ir_version = 8;
	b->m.graph = &b->g;
	b->g.name = "t";
	b->g.node = b->nodep;
	b->g.initializer = b->initp;
	b->g.input = b->vinp;
	b->g.output = b->voutp;
}

static Onnx__ValueInfoProto *mb_vi(struct mb *b, Onnx__ValueInfoProto *v,
				   const char *name, int type, u32 rank,
				   const int64_t *dims, const char *param)
{
	u32 k = b->n_tp++, d;

	onnx__value_info_proto__init(v);
	onnx__type_proto__init(&b->tp[k]);
	onnx__type_proto__tensor__init(&b->tt[k]);
	onnx__tensor_shape_proto__init(&b->sh[k]);
	v->name = (char *)name;
	v->type = &b->tp[k];
	b->tp[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	b->tp[k].tensor_type = &b->tt[k];
	b->tt[k].has_elem_type = 1;
	b->tt[k].elem_type = type;
	b->tt[k].shape = &b->sh[k];
	b->sh[k].n_dim = rank;
	b->sh[k].dim = b->dimp[k];
	for (d = 0; d < rank; d++) {
		onnx__tensor_shape_proto__dimension__init(&b->dim[k][d]);
		b->dimp[k][d] = &b->dim[k][d];
		if (param && d == 0) {
			b->dim[k][d].value_case =
				ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			b->dim[k][d].dim_param = (char *)param;
		} else {
			b->dim[k][d].value_case =
				ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			b->dim[k][d].dim_value = dims[d];
		}
	}
	return v;
}

static void mb_input(struct mb *b, const char *name, int type, u32 rank,
		     const int64_t *dims, const char *param)
{
	b->vinp[b->g.n_input] = mb_vi(b, &b->vin[b->g.n_input], name, type,
				      rank, dims, param);
	b->g.n_input++;
}

static void mb_output(struct mb *b, const char *name, int type, u32 rank,
		      const int64_t *dims)
{
	b->voutp[b->g.n_output] = mb_vi(b, &b->vout[b->g.n_output], name,
					type, rank, dims, NULL);
	b->g.n_output++;
}

/* An initialiser of raw bytes (the caller keeps @data alive). */
static void mb_init_raw(struct mb *b, const char *name, int type, u32 rank,
			const int64_t *dims, const void *data, size_t len)
{
	u32 k = (u32)b->g.n_initializer++;
	Onnx__TensorProto *t = &b->init[k];

	onnx__tensor_proto__init(t);
	memcpy(b->idims[k], dims, rank * sizeof(int64_t));
	t->name = (char *)name;
	t->n_dims = rank;
	t->dims = b->idims[k];
	t->has_data_type = 1;
	t->data_type = type;
	t->has_raw_data = 1;
	t->raw_data.data = (uint8_t *)data;
	t->raw_data.len = len;
	b->initp[k] = t;
}

static Onnx__NodeProto *mb_node(struct mb *b, const char *op, const char *name,
				char **in, u32 n_in, char **out, u32 n_out)
{
	u32 k = (u32)b->g.n_node++;
	Onnx__NodeProto *n = &b->node[k];

	onnx__node_proto__init(n);
	n->op_type = (char *)op;
	n->name = (char *)name;
	n->input = in;
	n->n_input = n_in;
	n->output = out;
	n->n_output = n_out;
	n->attribute = b->attrp[k];
	b->nodep[k] = n;
	return n;
}

static void mb_attr_ints(struct mb *b, Onnx__NodeProto *n, const char *name,
			 int64_t *v, u32 count)
{
	Onnx__AttributeProto *a = &b->attr[b->n_attr++];

	onnx__attribute_proto__init(a);
	a->name = (char *)name;
	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
	a->ints = v;
	a->n_ints = count;
	n->attribute[n->n_attribute++] = a;
}

static void mb_attr_int(struct mb *b, Onnx__NodeProto *n, const char *name,
			int64_t v)
{
	Onnx__AttributeProto *a = &b->attr[b->n_attr++];

	onnx__attribute_proto__init(a);
	a->name = (char *)name;
	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
	a->has_i = 1;
	a->i = v;
	n->attribute[n->n_attribute++] = a;
}

static u8 *mb_pack(struct mb *b, size_t *len)
{
	u8 *buf;

	*len = onnx__model_proto__get_packed_size(&b->m);
	buf = malloc(*len);
	ck_assert_ptr_nonnull(buf);
	onnx__model_proto__pack(&b->m, buf);
	return buf;
}

static int mb_import(struct mb *b, const struct mcai_import_calib *cal,
		     u32 n_cal, struct mcai_import_result *r,
		     struct mcai_import_error *err)
{
	struct mcai_import_opts o = { .name = "t", .version = 1,
				      .calib = cal, .n_calib = n_cal };
	size_t len;
	u8 *buf = mb_pack(b, &len);
	int ret = mcai_import_onnx(buf, len, &o, r, err);

	free(buf);
	return ret;
}

/*
 * Run an imported blob on int8 input bytes; with @gout, the graph for
 * inspection, whose decoded state the caller frees (*@keep).
 */
static int run_blob(const struct mcai_import_result *r, const void *in,
		    void *out, struct mcai_graph *gout, void **keep)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	u32 ss;
	void *state, *arena;
	int cls;

	mcai_limits_widest(&lim);
	ck_assert_int_eq(mcai_model_state_size(r->blob, r->size, &lim, &ss, &v), 0);
	state = aligned_alloc(8, (ss + 7) & ~7U);
	ck_assert_int_eq(mcai_model_verify(&m, r->blob, r->size, &lim, state, ss, &v), 0);
	arena = aligned_alloc(8, (m.arena_size + 15) & ~7U);
	cls = mcai_model_run(&m, in, out, arena);
	free(arena);
	if (gout) {
		*gout = *m.graph;
		*keep = state;
	} else {
		free(state);
	}
	return cls;
}

static char *S_x[] = { "x" }, *S_y[] = { "y" };

/* QLinearMatMul between QuantizeLinear and DequantizeLinear: bit exact. */
START_TEST(qoperator_matmul_exact)
{
	static const int64_t xd[] = { 1, 4 }, wd[] = { 4, 3 }, one[] = { 0 };
	static const s8 w[12] = { 1, -2, 3, 4, 5, -6, 7, 8, -9, 10, 11, 12 };
	static const float xs = 0.5f, ws = 0.25f, ys = 1.0f;
	static const s8 xz = 0, wz = 0, yz = 2;
	static char *q_in[] = { "x", "xs", "xz" }, *q_out[] = { "xq" };
	static char *mm_in[] = { "xq", "xs", "xz", "w", "ws", "wz", "ys", "yz" };
	static char *mm_out[] = { "yq" }, *d_in[] = { "yq", "ys", "yz" };
	struct mcai_import_result r;
	struct mcai_import_error err;
	struct mb b;
	s8 in[4] = { 2, -4, 6, 8 }, out[3];
	int k;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, xd, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 3 });
	mb_init_raw(&b, "xs", 1, 0, one, &xs, 4);
	mb_init_raw(&b, "xz", 3, 0, one, &xz, 1);
	mb_init_raw(&b, "w", 3, 2, wd, w, 12);
	mb_init_raw(&b, "ws", 1, 0, one, &ws, 4);
	mb_init_raw(&b, "wz", 3, 0, one, &wz, 1);
	mb_init_raw(&b, "ys", 1, 0, one, &ys, 4);
	mb_init_raw(&b, "yz", 3, 0, one, &yz, 1);
	mb_node(&b, "QuantizeLinear", "q", q_in, 3, q_out, 1);
	mb_node(&b, "QLinearMatMul", "mm", mm_in, 8, mm_out, 1);
	mb_node(&b, "DequantizeLinear", "dq", d_in, 3, S_y, 1);
	ck_assert_msg(!mb_import(&b, NULL, 0, &r, &err), "%s", err.msg);
	ck_assert_str_eq(r.form, "mixed");
	run_blob(&r, in, out, NULL, NULL);
	for (k = 0; k < 3; k++) {
		/* (x - 0) . w * 0.5 * 0.25 / 1 + 2, half away from zero */
		double acc = 0;
		int i;

		for (i = 0; i < 4; i++)
			acc += in[i] * w[i * 3 + k];
		acc = acc * 0.125;
		acc = (acc < 0 ? -floor(-acc + 0.5) : floor(acc + 0.5)) + 2;
		ck_assert_int_eq(out[k], (s8)fmax(-128, fmin(127, acc)));
	}
	free(r.blob);
}
END_TEST

/* A float Conv + BatchNorm + Relu with calibration: folded, fused, NHWC. */
START_TEST(float_conv_bn_relu_calibrated)
{
	static const int64_t xd[] = { 1, 2, 4, 4 }, wd[] = { 3, 2, 3, 3 };
	static const int64_t cd[] = { 3 };
	static char *c_in[] = { "x", "w" }, *c_out[] = { "c" };
	static char *bn_in[] = { "c", "g", "be", "m", "v" }, *bn_out[] = { "n" };
	static char *r_in[] = { "n" };
	static int64_t pads[] = { 1, 1, 1, 1 };
	float w[54], gm[3] = { 1, 2, 0.5f }, be[3] = { 0.1f, 0, -0.1f };
	float mean[3] = { 0, 0.1f, 0 }, var[3] = { 1, 1, 4 }, cal[4 * 32];
	struct mcai_import_calib c = { cal, 4 };
	struct mcai_import_result r;
	struct mcai_import_error err;
	struct mcai_graph g;
	struct mb b;
	s8 in[32], out[48];
	uint64_t seed = 15;
	void *keep = NULL;
	u32 k;

	for (k = 0; k < 54; k++)
		w[k] = (float)((int)(unit_rnd32(&seed) % 200) - 100) / 300;
	for (k = 0; k < 128; k++)
		cal[k] = (float)((int)(unit_rnd32(&seed) % 200) - 100) / 100;
	mb_init(&b);
	mb_input(&b, "x", 1, 4, xd, NULL);
	mb_output(&b, "y", 1, 4, (const int64_t[]){ 1, 3, 4, 4 });
	mb_init_raw(&b, "w", 1, 4, wd, w, sizeof(w));
	mb_init_raw(&b, "g", 1, 1, cd, gm, 12);
	mb_init_raw(&b, "be", 1, 1, cd, be, 12);
	mb_init_raw(&b, "m", 1, 1, cd, mean, 12);
	mb_init_raw(&b, "v", 1, 1, cd, var, 12);
	mb_attr_ints(&b, mb_node(&b, "Conv", "conv", c_in, 2, c_out, 1),
		     "pads", pads, 4);
	mb_node(&b, "BatchNormalization", "bn", bn_in, 5, bn_out, 1);
	mb_node(&b, "Relu", "relu", r_in, 1, S_y, 1);
	ck_assert_msg(!mb_import(&b, &c, 1, &r, &err), "%s", err.msg);
	ck_assert_str_eq(r.form, "float");
	ck_assert_uint_eq(r.n_ops, 1);
	ck_assert_uint_eq(r.n_rewrites, 2);
	memset(in, 0, sizeof(in));
	run_blob(&r, in, out, &g, &keep);
	ck_assert_uint_eq(g.n_ops, 1);
	ck_assert_uint_eq(g.op[0].type, MCAI_OP_CONV2D);
	/* NHWC: (1, 4, 4, 3) */
	ck_assert_uint_eq(g.t[g.output[0]].dims[3], 3);
	ck_assert_uint_eq(g.t[g.input[0]].dims[3], 2);
	ck_assert_str_eq(g.input_name[0], "x__ft");
	/* the ReLU clamp: no output below the zero point */
	for (k = 0; k < 48; k++)
		ck_assert_int_ge(out[k], g.t[g.output[0]].zp);
	ck_assert_uint_eq(g.tv_count, 1);
	free(keep);
	free(r.blob);
}
END_TEST

static void refusal(struct mb *b, int code, const char *want)
{
	struct mcai_import_result r;
	struct mcai_import_error err;
	int ret = mb_import(b, NULL, 0, &r, &err);

	ck_assert_int_eq(ret, code);
	ck_assert_msg(strstr(err.msg, want), "\"%s\" lacks \"%s\"", err.msg, want);
}

/* A symbolic first axis of rank >= 2 is a batch (run sample by sample);
 * of a rank-1 input it is the data's own length: refused.
 */
START_TEST(refuses_dynamic_dim)
{
	struct mb b;

	mb_init(&b);
	mb_input(&b, "x", 1, 1, (const int64_t[]){ 4 }, "N");
	mb_output(&b, "y", 1, 1, (const int64_t[]){ 4 });
	mb_node(&b, "Relu", "r", S_x, 1, S_y, 1);
	refusal(&b, MCAI_IMPORT_EUNSUPPORTED, "input \"x\": dynamic dimension \"N\"");
}
END_TEST

START_TEST(refuses_batch_mixing)
{
	static char *c_in[] = { "x", "x" };
	struct mb b;
	Onnx__NodeProto *n;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, "N");
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 2, 4 });
	n = mb_node(&b, "Concat", "cat", c_in, 2, S_y, 1);
	mb_attr_int(&b, n, "axis", 0);
	refusal(&b, MCAI_IMPORT_EUNSUPPORTED, "node \"cat\" (Concat): its output does not keep the batch axis first");
}
END_TEST

START_TEST(refuses_unknown_op_naming_node)
{
	struct mb b;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 4 });
	mb_node(&b, "Erf", "Erf_3", S_x, 1, S_y, 1);
	refusal(&b, MCAI_IMPORT_EUNSUPPORTED, "node \"Erf_3\" (Erf): op not supported");
}
END_TEST

START_TEST(refuses_uncalibrated_float)
{
	static const float cal[4] = { 1, 2, 3, 4 };
	struct mb b;

	(void)cal;
	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 4 });
	mb_node(&b, "Sigmoid", "s", S_x, 1, S_y, 1);
	refusal(&b, MCAI_IMPORT_EUNSUPPORTED, "pass --calibrate");
}
END_TEST

/* 1-D convolutions run as H = 1 2-D ones, over a 1-D (N,C,L) input only. */
START_TEST(refuses_conv1d_over_image)
{
	static const int64_t wd[] = { 2, 2, 3 };
	static char *c_in[] = { "x", "w" };
	float w[12] = { 0 };
	struct mb b;

	mb_init(&b);
	mb_input(&b, "x", 1, 4, (const int64_t[]){ 1, 2, 1, 8 }, NULL);
	mb_output(&b, "y", 1, 3, (const int64_t[]){ 1, 2, 6 });
	mb_init_raw(&b, "w", 1, 3, wd, w, sizeof(w));
	mb_node(&b, "Conv", "Conv_12", c_in, 2, S_y, 1);
	refusal(&b, MCAI_IMPORT_EUNSUPPORTED, "node \"Conv_12\" (Conv): a 1-D window over an input of rank 4");
}
END_TEST

START_TEST(refuses_ml_malformed)
{
	struct mb b;
	Onnx__NodeProto *n;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 1 });
	n = mb_node(&b, "TreeEnsembleRegressor", "tree", S_x, 1, S_y, 1);
	n->domain = "ai.onnx.ml";
	refusal(&b, MCAI_IMPORT_EUNSUPPORTED, "node \"tree\" (TreeEnsembleRegressor): no nodes_treeids");
}
END_TEST

START_TEST(refuses_ml_linear)
{
	struct mb b;
	Onnx__NodeProto *n;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 1 });
	n = mb_node(&b, "LinearRegressor", "lin", S_x, 1, S_y, 1);
	n->domain = "ai.onnx.ml";
	refusal(&b, MCAI_IMPORT_EUNSUPPORTED, "node \"lin\" (LinearRegressor): coefficients missing");
}
END_TEST

START_TEST(hostile_initialiser_size)
{
	static const int64_t wd[] = { 4, 4 };
	static char *in[] = { "x", "w" };
	float w[15] = { 0 };
	struct mb b;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 4 });
	mb_init_raw(&b, "w", 1, 2, wd, w, sizeof(w));
	mb_node(&b, "MatMul", "mm", in, 2, S_y, 1);
	refusal(&b, MCAI_IMPORT_EMALFORMED, "initialiser \"w\": 60 bytes of data for 16 elements");
}
END_TEST

START_TEST(hostile_huge_dims)
{
	static const int64_t wd[] = { 1LL << 40, 4 };
	static char *in[] = { "x", "w" };
	float w[4] = { 0 };
	struct mb b;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 4 });
	mb_init_raw(&b, "w", 1, 2, wd, w, sizeof(w));
	mb_node(&b, "MatMul", "mm", in, 2, S_y, 1);
	refusal(&b, MCAI_IMPORT_EMALFORMED, "out of range");
	mb_init(&b);
	mb_input(&b, "x", 1, 3, (const int64_t[]){ 1, 65536, 65536 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 4 });
	mb_node(&b, "Relu", "r", S_x, 1, S_y, 1);
	refusal(&b, MCAI_IMPORT_EUNSUPPORTED, "more than");
}
END_TEST

START_TEST(hostile_cycle)
{
	static char *a_in[] = { "x", "b" }, *a_out[] = { "a" };
	static char *b_in[] = { "a" }, *b_out[] = { "b" };
	static char *c_in[] = { "b" };
	struct mb b;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 4 });
	mb_node(&b, "Add", "add", a_in, 2, a_out, 1);
	mb_node(&b, "Relu", "relu", b_in, 1, b_out, 1);
	mb_node(&b, "Relu", "out", c_in, 1, S_y, 1);
	refusal(&b, MCAI_IMPORT_EMALFORMED, "cyclic graph");
}
END_TEST

/* Every truncation of a valid model: refused or imported, never a crash. */
START_TEST(hostile_truncations)
{
	static char *in[] = { "x", "w" };
	static const int64_t wd[] = { 4, 4 };
	struct mcai_import_opts o = { .name = "t", .version = 1 };
	struct mcai_import_result r;
	struct mcai_import_error err;
	float w[16] = { 1 };
	struct mb b;
	size_t len, k;
	u8 *buf;

	mb_init(&b);
	mb_input(&b, "x", 1, 2, (const int64_t[]){ 1, 4 }, NULL);
	mb_output(&b, "y", 1, 2, (const int64_t[]){ 1, 4 });
	mb_init_raw(&b, "w", 1, 2, wd, w, sizeof(w));
	mb_node(&b, "MatMul", "mm", in, 2, S_y, 1);
	buf = mb_pack(&b, &len);
	for (k = 0; k < len; k++) {
		int ret = mcai_import_onnx(buf, k, &o, &r, &err);

		if (!ret)
			free(r.blob);
		else
			ck_assert(ret == MCAI_IMPORT_EMALFORMED ||
				  ret == MCAI_IMPORT_EUNSUPPORTED);
	}
	free(buf);
}
END_TEST

/* Nested messages past the depth bound are refused before protobuf-c. */
START_TEST(hostile_nesting)
{
	struct mcai_import_opts o = { .name = "t", .version = 1 };
	struct mcai_import_result r;
	struct mcai_import_error err;
	/* graph(7) > node(1) > attribute(5) > g(6) > node(1) > ... */
	static const u8 tags[] = { 0x3a, 0x0a, 0x2a, 0x32 };
	u8 buf[400];
	size_t n = 0, k;

	/* each level: tag, one-byte length of the rest */
	for (k = 0; k < 60; k++) {
		buf[n++] = tags[k == 0 ? 0 : 1 + (k - 1) % 3];
		buf[n++] = (u8)(2 * (60 - k - 1));
	}
	ck_assert_int_eq(mcai_import_onnx(buf, n, &o, &r, &err),
			 MCAI_IMPORT_EMALFORMED);
	ck_assert(strstr(err.msg, "nested"));
}
END_TEST

START_TEST(iofacts_names)
{
	struct mcai_iofacts f = { .is_float = true, .nchw = true }, p;
	char name[MCAI_BLOB2_IO_NAME_LEN];
	u32 od[4];

	mcai_iofacts_name("input.1/with:odd chars and more than fits", &f, name);
	ck_assert_uint_lt(strlen(name), MCAI_BLOB2_IO_NAME_LEN);
	ck_assert(!strcmp(name + strlen(name) - 4, "__ft"));
	mcai_iofacts_parse(name, &p);
	ck_assert(p.tagged && p.is_float && p.nchw && !p.is_uint8);
	mcai_iofacts_parse("in0", &p);
	ck_assert(!p.tagged);
	mcai_iofacts_parse("a__b", &p);
	ck_assert(!p.tagged);
	ck_assert_uint_eq(mcai_iofacts_onnx_shape((const u32[]){ 1, 5, 6, 3 }, 4,
						  true, od), 4);
	ck_assert(od[0] == 1 && od[1] == 3 && od[2] == 5 && od[3] == 6);
}
END_TEST

Suite *import_suite(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("import");

	tcase_add_test(tc, qoperator_matmul_exact);
	tcase_add_test(tc, float_conv_bn_relu_calibrated);
	tcase_add_test(tc, refuses_dynamic_dim);
	tcase_add_test(tc, refuses_batch_mixing);
	tcase_add_test(tc, refuses_unknown_op_naming_node);
	tcase_add_test(tc, refuses_uncalibrated_float);
	tcase_add_test(tc, refuses_conv1d_over_image);
	tcase_add_test(tc, refuses_ml_malformed);
	tcase_add_test(tc, refuses_ml_linear);
	tcase_add_test(tc, hostile_initialiser_size);
	tcase_add_test(tc, hostile_huge_dims);
	tcase_add_test(tc, hostile_cycle);
	tcase_add_test(tc, hostile_truncations);
	tcase_add_test(tc, hostile_nesting);
	tcase_add_test(tc, iofacts_names);
	suite_add_tcase(s, tc);
	return s;
}
