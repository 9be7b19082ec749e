// SPDX-License-Identifier: GPL-2.0
/*
 * ONNX bytes to the importer's graph (onnx_ir.h): protobuf-c's code,
 * generated at build time from Debian's onnx.proto, does the parsing;
 * this file checks what a hostile file can bend and protobuf cannot
 * (nesting depth, shapes, initialiser sizes, names, cycles) and sorts
 * the nodes.  Every refusal names what was wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/gen/onnx/onnx.pb-c.h"
#include "models/import/onnx_ir.h"

/*
 * protobuf-c recurses once per nested message with no limit of its own:
 * a file of nested attribute graphs would exhaust the stack.  Models
 * nest ModelProto > GraphProto > NodeProto > AttributeProto >
 * TensorProto and a little more; subgraphs (If, Loop) are refused
 * anyway.
 */
#define MCAI_OX_MAX_DEPTH	16

int mcai_ox_refuse(struct mcai_ox_graph *g, int code, const char *fmt, ...)
{
	va_list ap;

	if (g->err->code)
		return -1;
	g->err->code = code;
	va_start(ap, fmt);
	vsnprintf(g->err->msg, sizeof(g->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int mcai_ox_node_refuse(struct mcai_ox_graph *g, const struct mcai_ox_node *n,
			const char *fmt, ...)
{
	char why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED, "node \"%s\" (%s): %s",
			      n->name, n->op, why);
}

static int ox_varint(const u8 **p, const u8 *end, u64 *v)
{
	u32 shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		u8 b = *(*p)++;

		*v |= (u64)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* Walk the wire format only to bound the nesting of messages. */
static int ox_depth_ok(const u8 *p, const u8 *end,
		       const ProtobufCMessageDescriptor *d, u32 depth)
{
	if (depth > MCAI_OX_MAX_DEPTH)
		return -1;
	while (p < end) {
		u64 key, len;
		const ProtobufCFieldDescriptor *f;

		if (ox_varint(&p, end, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (ox_varint(&p, end, &len))
				return -1;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 2:
			if (ox_varint(&p, end, &len) || len > (u64)(end - p))
				return -1;
			f = key >> 3 <= 0xffffffffULL ?
			    protobuf_c_message_descriptor_get_field(d,
					(unsigned)(key >> 3)) : NULL;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    ox_depth_ok(p, p + len, f->descriptor, depth + 1))
				return -1;
			p += len;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

u64 mcai_ox_elems(const struct mcai_ox_tensor *t)
{
	u64 n = 1;
	u32 k;

	for (k = 0; k < t->rank; k++)
		n *= t->dims[k];
	return n;
}

s32 mcai_ox_add_tensor(struct mcai_ox_graph *g, const char *name)
{
	struct mcai_ox_tensor *t;

	if (g->n_t >= MCAI_OX_MAX_TENSORS)
		return -1;
	if (g->n_t == g->cap_t) {
		u32 cap = g->cap_t ? 2 * g->cap_t : 64;
		void *p = realloc(g->t, cap * sizeof(*g->t));

		if (!p)
			return -1;
		g->t = p;
		g->cap_t = cap;
	}
	t = &g->t[g->n_t];
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	if (!t->name)
		return -1;
	t->gw = -1;
	t->producer = -1;
	return (s32)g->n_t++;
}

static s32 ox_find(const struct mcai_ox_graph *g, const char *name)
{
	u32 i;

	/* linear: a micro-model has at most a few hundred tensors */
	for (i = 0; i < g->n_t; i++)
		if (!strcmp(g->t[i].name, name))
			return (s32)i;
	return -1;
}

static const Onnx__AttributeProto *ox_attr(const struct mcai_ox_node *n,
					   const char *name)
{
	const Onnx__NodeProto *p = n->proto;
	size_t i;

	for (i = 0; p && i < p->n_attribute; i++)
		if (p->attribute[i]->name && !strcmp(p->attribute[i]->name, name))
			return p->attribute[i];
	return NULL;
}

bool mcai_ox_attr_int(const struct mcai_ox_node *n, const char *name, s64 *v)
{
	const Onnx__AttributeProto *a = ox_attr(n, name);

	if (!a || !a->has_i)
		return false;
	*v = a->i;
	return true;
}

s64 mcai_ox_attr_int_or(const struct mcai_ox_node *n, const char *name,
			s64 dflt)
{
	s64 v;

	return mcai_ox_attr_int(n, name, &v) ? v : dflt;
}

float mcai_ox_attr_float_or(const struct mcai_ox_node *n, const char *name,
			    float dflt)
{
	const Onnx__AttributeProto *a = ox_attr(n, name);

	return a && a->has_f ? a->f : dflt;
}

long mcai_ox_attr_ints(const struct mcai_ox_node *n, const char *name,
		       const s64 **v)
{
	const Onnx__AttributeProto *a = ox_attr(n, name);

	if (!a)
		return -1;
	*v = (const s64 *)a->ints;
	return (long)a->n_ints;
}

long mcai_ox_attr_floats(const struct mcai_ox_node *n, const char *name,
			 const float **v)
{
	const Onnx__AttributeProto *a = ox_attr(n, name);

	if (!a)
		return -1;
	*v = a->floats;
	return (long)a->n_floats;
}

const void *mcai_ox_attr_tensor(const struct mcai_ox_node *n, const char *name)
{
	const Onnx__AttributeProto *a = ox_attr(n, name);

	return a ? a->t : NULL;
}

const char *mcai_ox_attr_string(const struct mcai_ox_node *n,
				const char *name)
{
	static char buf[64];
	const Onnx__AttributeProto *a = ox_attr(n, name);
	size_t len;

	if (!a || !a->has_s)
		return NULL;
	len = a->s.len < sizeof(buf) - 1 ? a->s.len : sizeof(buf) - 1;
	memcpy(buf, a->s.data, len);
	buf[len] = 0;
	return buf;
}

const char *mcai_ox_attr_unknown(const struct mcai_ox_node *n,
				 const char *const *known)
{
	const Onnx__NodeProto *p = n->proto;
	size_t i, k;

	for (i = 0; p && i < p->n_attribute; i++) {
		const char *an = p->attribute[i]->name ?
				 p->attribute[i]->name : "";

		for (k = 0; known[k]; k++)
			if (!strcmp(known[k], an))
				break;
		if (!known[k])
			return an;
	}
	return NULL;
}

void mcai_ox_alias(struct mcai_ox_graph *g, s32 from, s32 to)
{
	u32 i, k;

	for (i = 0; i < g->n_n; i++)
		for (k = 0; k < g->n[i].n_in; k++)
			if (g->n[i].in[k] == from)
				g->n[i].in[k] = to;
	for (k = 0; k < g->n_out; k++)
		if (g->out[k] == from) {
			g->out[k] = to;
			g->t[to].is_output = true;
			g->t[to].onnx_type = g->t[from].onnx_type;
		}
}

void mcai_ox_count_uses(struct mcai_ox_graph *g)
{
	u32 i, k;

	for (i = 0; i < g->n_t; i++) {
		g->t[i].uses = 0;
		g->t[i].producer = -1;
	}
	for (i = 0; i < g->n_n; i++) {
		if (g->n[i].dead)
			continue;
		for (k = 0; k < g->n[i].n_in; k++)
			if (g->n[i].in[k] >= 0)
				g->t[g->n[i].in[k]].uses++;
		for (k = 0; k < g->n[i].n_out; k++)
			if (g->n[i].out[k] >= 0)
				g->t[g->n[i].out[k]].producer = (s32)i;
	}
	for (k = 0; k < g->n_out; k++)
		g->t[g->out[k]].uses++;
}

static u32 ox_type_size(int type)
{
	switch (type) {
	case MCAI_OX_UINT8:
	case MCAI_OX_INT8:
		return 1;
	case MCAI_OX_INT16:
		return 2;
	case MCAI_OX_FLOAT:
	case MCAI_OX_INT32:
		return 4;
	case MCAI_OX_INT64:
	case MCAI_OX_DOUBLE:
		return 8;
	}
	return 0;
}

/* An initialiser's values as float (and int32 exactly); sizes checked. */
int mcai_ox_const_proto(struct mcai_ox_graph *g, s32 ti, const void *proto)
{
	const Onnx__TensorProto *p = proto;
	struct mcai_ox_tensor *t = &g->t[ti];
	int type = p->has_data_type ? p->data_type : 0;
	u32 es = ox_type_size(type);
	size_t have, k;
	u64 n;

	if (p->n_dims > MCAI_OX_MAX_RANK)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "initialiser \"%s\": rank %zu, at most %d supported",
				      t->name, p->n_dims, MCAI_OX_MAX_RANK);
	t->rank = (u32)p->n_dims;
	for (k = 0; k < p->n_dims; k++) {
		if (p->dims[k] < 0 || p->dims[k] > MCAI_OX_MAX_ELEMS)
			return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
					      "initialiser \"%s\": dimension %lld out of range",
					      t->name, (long long)p->dims[k]);
		t->dims[k] = (u32)p->dims[k];
	}
	n = 1;
	for (k = 0; k < t->rank; k++) {
		n *= t->dims[k];
		if (n > MCAI_OX_MAX_ELEMS)
			return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
					      "initialiser \"%s\": more than %u elements",
					      t->name, MCAI_OX_MAX_ELEMS);
	}
	if (p->has_data_location &&
	    p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "initialiser \"%s\": external data not supported (save the model with its weights inside)",
				      t->name);
	if (!es)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "initialiser \"%s\": element type %d not supported",
				      t->name, type);
	t->is_const = true;
	t->known = true;
	t->onnx_type = (u8)type;
	t->f = calloc(n ? n : 1, sizeof(float));
	if (type == MCAI_OX_INT32)
		t->i32 = calloc(n ? n : 1, sizeof(s32));
	if (!t->f || (type == MCAI_OX_INT32 && !t->i32))
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	if (p->has_raw_data) {
		const u8 *b = p->raw_data.data;

		if (p->raw_data.len != n * es)
			return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
					      "initialiser \"%s\": %zu bytes of data for %llu elements of %u bytes",
					      t->name, p->raw_data.len,
					      (unsigned long long)n, es);
		for (k = 0; k < n; k++, b += es) {
			float v;
			s64 i64;
			double d;
			s32 i32;
			s16 i16;

			switch (type) {
			case MCAI_OX_FLOAT:
				memcpy(&v, b, 4);
				break;
			case MCAI_OX_UINT8:
				v = b[0];
				break;
			case MCAI_OX_INT8:
				v = (s8)b[0];
				break;
			case MCAI_OX_INT16:
				memcpy(&i16, b, 2);
				v = i16;
				break;
			case MCAI_OX_INT32:
				memcpy(&i32, b, 4);
				t->i32[k] = i32;
				v = (float)i32;
				break;
			case MCAI_OX_INT64:
				memcpy(&i64, b, 8);
				v = (float)i64;
				break;
			default:
				memcpy(&d, b, 8);
				v = (float)d;
				break;
			}
			t->f[k] = v;
		}
		return 0;
	}
	switch (type) {
	case MCAI_OX_FLOAT:
		have = p->n_float_data;
		break;
	case MCAI_OX_INT64:
		have = p->n_int64_data;
		break;
	case MCAI_OX_DOUBLE:
		have = p->n_double_data;
		break;
	default:
		have = p->n_int32_data;
		break;
	}
	if (have != n)
		return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
				      "initialiser \"%s\": %zu values for %llu elements",
				      t->name, have, (unsigned long long)n);
	for (k = 0; k < n; k++) {
		switch (type) {
		case MCAI_OX_FLOAT:
			t->f[k] = p->float_data[k];
			break;
		case MCAI_OX_INT64:
			t->f[k] = (float)p->int64_data[k];
			break;
		case MCAI_OX_DOUBLE:
			t->f[k] = (float)p->double_data[k];
			break;
		case MCAI_OX_INT32:
			t->i32[k] = p->int32_data[k];
			t->f[k] = (float)p->int32_data[k];
			break;
		case MCAI_OX_UINT8:
			t->f[k] = (float)(u8)p->int32_data[k];
			break;
		case MCAI_OX_INT8:
			t->f[k] = (float)(s8)p->int32_data[k];
			break;
		default:
			t->f[k] = (float)(s16)p->int32_data[k];
			break;
		}
	}
	return 0;
}

static int ox_input(struct mcai_ox_graph *g, const Onnx__ValueInfoProto *vi)
{
	const Onnx__TypeProto__Tensor *tt;
	struct mcai_ox_tensor *t;
	const char *name = vi->name ? vi->name : "";
	s32 ti = ox_find(g, name);
	size_t k;
	u64 n = 1;

	if (ti >= 0 && g->t[ti].is_const)
		return 0;	/* IR < 4: initialisers are listed as inputs */
	if (ti >= 0)
		return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
				      "input \"%s\" listed twice", name);
	if (g->n_in >= MCAI_IMPORT_MAX_IO)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "more than %d graph inputs",
				      MCAI_IMPORT_MAX_IO);
	if (!vi->type || vi->type->value_case !=
	    ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "input \"%s\": not a tensor", name);
	tt = vi->type->tensor_type;
	if (!tt->shape)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "input \"%s\": no shape — pass a model with a static input shape",
				      name);
	if (tt->shape->n_dim > MCAI_OX_MAX_RANK || !tt->shape->n_dim)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "input \"%s\": rank %zu, 1..%d supported",
				      name, tt->shape->n_dim, MCAI_OX_MAX_RANK);
	ti = mcai_ox_add_tensor(g, name);
	if (ti < 0)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	t = &g->t[ti];
	t->is_input = true;
	t->known = true;
	t->onnx_type = tt->has_elem_type ? (u8)tt->elem_type : 0;
	if (t->onnx_type != MCAI_OX_FLOAT && t->onnx_type != MCAI_OX_INT8 &&
	    t->onnx_type != MCAI_OX_UINT8)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "input \"%s\": element type %d, only float, int8 and uint8 inputs supported",
				      name, tt->elem_type);
	t->rank = (u32)tt->shape->n_dim;
	for (k = 0; k < t->rank; k++) {
		const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];

		/*
		 * A batch axis (symbolic, unset or > 1) becomes 1: the engine
		 * is batch 1 and `mcaictl run` runs a batch sample by sample;
		 * the eval refuses ops that mix samples (g->batched).
		 */
		if (!k && t->rank > 1 &&
		    (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
		     d->dim_value > 1)) {
			t->dims[0] = 1;
			g->batched = true;
			if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
			    d->dim_value <= MCAI_OX_MAX_ELEMS)
				g->batch = (u32)d->dim_value;
			continue;
		}
		if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
			return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
					      "input \"%s\": dynamic dimension \"%s\" — pass a batch-1 model",
					      name, d->dim_param ? d->dim_param : "");
		if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
			return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
					      "input \"%s\": dimension %zu has no value — pass a batch-1 model",
					      name, k);
		if (d->dim_value < 1 || d->dim_value > MCAI_OX_MAX_ELEMS)
			return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
					      "input \"%s\": dimension %lld out of range",
					      name, (long long)d->dim_value);
		t->dims[k] = (u32)d->dim_value;
		n *= t->dims[k];
		if (n > MCAI_OX_MAX_ELEMS)
			return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
					      "input \"%s\": more than %u elements",
					      name, MCAI_OX_MAX_ELEMS);
	}
	g->in[g->n_in++] = ti;
	return 0;
}

/* Kahn's algorithm: ONNX requires sorted nodes, a hostile file not. */
static int ox_sort(struct mcai_ox_graph *g)
{
	struct mcai_ox_node *sorted;
	bool *done, *ready;
	u32 placed = 0, i, k;
	int ret = 0;

	sorted = calloc(g->n_n ? g->n_n : 1, sizeof(*sorted));
	done = calloc(g->n_n ? g->n_n : 1, sizeof(*done));
	ready = calloc(g->n_t ? g->n_t : 1, sizeof(*ready));
	if (!sorted || !done || !ready) {
		ret = mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
		goto out;
	}
	for (i = 0; i < g->n_t; i++)
		ready[i] = g->t[i].is_const || g->t[i].is_input;
	while (placed < g->n_n) {
		bool progress = false;

		for (i = 0; i < g->n_n; i++) {
			struct mcai_ox_node *n = &g->n[i];
			bool ok = !done[i];

			for (k = 0; ok && k < n->n_in; k++)
				if (n->in[k] >= 0 && !ready[n->in[k]])
					ok = false;
			if (!ok)
				continue;
			done[i] = true;
			progress = true;
			for (k = 0; k < n->n_out; k++)
				if (n->out[k] >= 0)
					ready[n->out[k]] = true;
			sorted[placed++] = *n;
		}
		if (!progress) {
			for (i = 0; i < g->n_n && done[i]; i++)
				;
			ret = mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
					     "node \"%s\" (%s): its inputs are never computed (cyclic graph)",
					     g->n[i].name, g->n[i].op);
			goto out;
		}
	}
	memcpy(g->n, sorted, g->n_n * sizeof(*sorted));
	/* a generated name pointed at its node's old slot: its own now */
	for (i = 0; i < g->n_n; i++)
		if ((const char *)g->n[i].name >= (const char *)g->n &&
		    (const char *)g->n[i].name < (const char *)(g->n + g->n_n))
			g->n[i].name = g->n[i].namebuf;
out:
	free(sorted);
	free(done);
	free(ready);
	return ret;
}

static int ox_nodes(struct mcai_ox_graph *g, const Onnx__GraphProto *gp)
{
	size_t i, k;

	if (gp->n_node > MCAI_OX_MAX_NODES)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "%zu nodes, at most %u supported",
				      gp->n_node, MCAI_OX_MAX_NODES);
	g->n = calloc(gp->n_node ? gp->n_node : 1, sizeof(*g->n));
	if (!g->n)
		return mcai_ox_refuse(g, MCAI_IMPORT_EIO, "out of memory");
	/* outputs first, so that a node may be listed before its producer */
	for (i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *p = gp->node[i];
		struct mcai_ox_node *n = &g->n[i];

		n->proto = p;
		n->op = p->op_type ? p->op_type : "";
		n->domain = p->domain ? p->domain : "";
		snprintf(n->namebuf, sizeof(n->namebuf), "#%u", (unsigned)i);
		n->name = p->name && p->name[0] ? p->name : n->namebuf;
		if (p->n_input > 9 || p->n_output > 2)
			return mcai_ox_node_refuse(g, n,
						   "%zu inputs and %zu outputs: more than any supported op takes",
						   p->n_input, p->n_output);
		n->n_in = (u32)p->n_input;
		n->n_out = (u32)p->n_output;
		g->n_n = (u32)i + 1;
		/*
		 * "FC" names the importer's own fully connected node (Gemm
		 * and MatMul by a constant, rewritten, weights checked);
		 * one in the file would skip those checks.
		 */
		if (!strcmp(n->op, "FC"))
			return mcai_ox_node_refuse(g, n, "op not supported");
		/*
		 * Every supported op's first output is required; rewrites
		 * write it, and an absent one must not alias tensor 0.
		 */
		n->out[0] = n->out[1] = -1;
		if (!p->n_output || !p->output[0][0])
			return mcai_ox_node_refuse(g, n, "no output");
		for (k = 0; k < p->n_output; k++) {
			s32 ti;

			n->out[k] = -1;
			if (!p->output[k][0])
				continue;
			if (ox_find(g, p->output[k]) >= 0)
				return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
						      "node \"%s\" (%s): output \"%s\" is already defined",
						      n->name, n->op, p->output[k]);
			ti = mcai_ox_add_tensor(g, p->output[k]);
			if (ti < 0)
				return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
						      "more than %u tensors",
						      MCAI_OX_MAX_TENSORS);
			n->out[k] = ti;
		}
	}
	for (i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *p = gp->node[i];
		struct mcai_ox_node *n = &g->n[i];

		for (k = 0; k < p->n_input; k++) {
			n->in[k] = -1;
			if (!p->input[k][0])
				continue;
			n->in[k] = ox_find(g, p->input[k]);
			if (n->in[k] < 0)
				return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
						      "node \"%s\" (%s): input \"%s\" is not defined",
						      n->name, n->op, p->input[k]);
		}
	}
	return 0;
}

int mcai_ox_load(struct mcai_ox_graph *g, const u8 *buf, size_t len,
		 struct mcai_import_error *err)
{
	Onnx__ModelProto *m;
	const Onnx__GraphProto *gp;
	size_t i;

	memset(g, 0, sizeof(*g));
	memset(err, 0, sizeof(*err));
	g->err = err;
	if (ox_depth_ok(buf, buf + len, &onnx__model_proto__descriptor, 0))
		return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
				      "not an ONNX model: malformed protobuf, or messages nested deeper than %d",
				      MCAI_OX_MAX_DEPTH);
	m = onnx__model_proto__unpack(NULL, len, buf);
	if (!m)
		return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
				      "not an ONNX model: protobuf-c cannot unpack it");
	g->model = m;
	gp = m->graph;
	if (!gp || !m->has_ir_version)
		return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
				      "not an ONNX model: no graph or no ir_version");
	for (i = 0; i < m->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = m->opset_import[i];
		const char *d = o->domain ? o->domain : "";

		if (!d[0] || !strcmp(d, "ai.onnx"))
			g->opset = o->version;
		else if (!strcmp(d, "ai.onnx.ml"))
			g->ml_opset = o->version;
	}
	if (gp->n_sparse_initializer)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "sparse initialisers not supported");
	for (i = 0; i < gp->n_initializer; i++) {
		const Onnx__TensorProto *p = gp->initializer[i];
		const char *name = p->name ? p->name : "";
		s32 ti;

		if (!name[0] || ox_find(g, name) >= 0)
			return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
					      "initialiser \"%s\": empty or duplicate name",
					      name);
		ti = mcai_ox_add_tensor(g, name);
		if (ti < 0)
			return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
					      "more than %u tensors",
					      MCAI_OX_MAX_TENSORS);
		if (mcai_ox_const_proto(g, ti, p))
			return -1;
	}
	for (i = 0; i < gp->n_input; i++)
		if (ox_input(g, gp->input[i]))
			return -1;
	if (!g->n_in)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "the graph has no input");
	if (ox_nodes(g, gp))
		return -1;
	if (!gp->n_output || gp->n_output > MCAI_IMPORT_MAX_IO)
		return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
				      "%zu graph outputs, 1..%d supported",
				      gp->n_output, MCAI_IMPORT_MAX_IO);
	for (i = 0; i < gp->n_output; i++) {
		const Onnx__ValueInfoProto *vi = gp->output[i];
		s32 ti = ox_find(g, vi->name ? vi->name : "");

		if (ti < 0)
			return mcai_ox_refuse(g, MCAI_IMPORT_EMALFORMED,
					      "output \"%s\" is not computed by any node",
					      vi->name ? vi->name : "");
		if (g->t[ti].is_const || g->t[ti].is_input)
			return mcai_ox_refuse(g, MCAI_IMPORT_EUNSUPPORTED,
					      "output \"%s\" is a constant or an input",
					      g->t[ti].name);
		g->t[ti].is_output = true;
		if (vi->type && vi->type->value_case ==
		    ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
		    vi->type->tensor_type->has_elem_type)
			g->t[ti].onnx_type = (u8)vi->type->tensor_type->elem_type;
		else
			g->t[ti].onnx_type = MCAI_OX_FLOAT;
		g->out[g->n_out++] = ti;
	}
	return ox_sort(g);
}

void mcai_ox_free(struct mcai_ox_graph *g)
{
	u32 i;

	for (i = 0; i < g->n_t; i++) {
		free(g->t[i].name);
		free(g->t[i].f);
		free(g->t[i].q8);
		free(g->t[i].qs);
		free(g->t[i].i32);
		free(g->t[i].feat_scale);
	}
	free(g->t);
	free(g->n);
	if (g->model)
		onnx__model_proto__free_unpacked(g->model, NULL);
	memset(g, 0, sizeof(*g));
}
