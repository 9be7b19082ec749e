// SPDX-License-Identifier: GPL-2.0
/*
 * The int8 side of mcai-zoo's networks (netbuild.h): TFLite's
 * post-training quantisation of a calibrated float net into a v2 graph
 * blob, and a probe that reads every layer's int8 output back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/cli.h"
#include "models/train/graph_writer.h"
#include "models/train/netbuild.h"
#include "models/train/opquant.h"
#include "models/train/quant.h"
#include "uapi/mcai.h"

/* What a write allocates, freed when the blob is sealed. */
struct nq_pool {
	void *p[4 * MCAI_NB_MAX_LAYERS + 8];
	u32 n;
};

static void *nq_alloc(struct nq_pool *pool, size_t n, size_t size)
{
	void *p = mcai_xcalloc(n, size);

	if (pool->n >= sizeof(pool->p) / sizeof(pool->p[0]))
		mcai_die("netquant: allocation pool exhausted");
	pool->p[pool->n++] = p;
	return p;
}

/* Scales and zero points: the calibrated range, or what the op fixes. */
static void nq_scales(struct mcai_nb_net *n)
{
	u32 i;

	for (i = 0; i < n->n_t; i++) {
		struct mcai_nb_tensor *t = &n->t[i];
		struct mcai_nb_layer *l = mcai_nb_writer(n, i);
		s8 zp;

		if (t->fixed && t->scale > 0)
			continue;
		if (l && l->kind == MCAI_NB_AVGPOOL) {
			/* pooling keeps its input's quantisation */
			t->scale = n->t[l->in[0]].scale;
			t->zp = n->t[l->in[0]].zp;
			continue;
		}
		if (!(t->hi >= t->lo))
			mcai_die("%s: tensor %u was never calibrated", n->name, i);
		mcai_qparams((float)t->lo, (float)t->hi, &t->scale, &zp);
		t->zp = zp;
	}
}

/*
 * Symmetric per-channel int8 weights of a layer: channel c's weights are
 * w[c * per + m] (conv, FC) or w[m * ch + c] (depthwise).
 */
static void nq_weights(const struct mcai_nb_layer *l, s8 *q, float *scale)
{
	u32 ch = l->n_b, per = l->n_w / l->n_b, c, m;

	for (c = 0; c < ch; c++) {
		double mx = 0;

		for (m = 0; m < per; m++) {
			u32 at = l->kind == MCAI_NB_DW ? m * ch + c : c * per + m;

			if (fabs(l->w[at]) > mx)
				mx = fabs(l->w[at]);
		}
		scale[c] = mx > 0 ? (float)(mx / 127) : 1.0f;
		for (m = 0; m < per; m++) {
			u32 at = l->kind == MCAI_NB_DW ? m * ch + c : c * per + m;
			double v = nearbyint(l->w[at] / scale[c]);

			q[at] = (s8)(v > 127 ? 127 : v < -127 ? -127 : v);
		}
	}
}

static u32 nq_const(struct mcai_gw_graph *g, u8 dtype, const u32 dims[4],
		    float scale, const float *qc, u32 qc_axis, const void *data)
{
	struct mcai_gw_tensor *t = &g->t[g->n_tensors];

	memset(t, 0, sizeof(*t));
	t->dtype = dtype;
	t->kind = MCAI_TK_CONST;
	t->rank = 4;
	memcpy(t->dims, dims, sizeof(t->dims));
	t->scale = scale;
	t->data = data;
	if (qc) {
		t->qc_scales = qc;
		t->qc_axis = (u8)qc_axis;
		t->qc_count = dims[qc_axis];
	}
	return g->n_tensors++;
}

/* Conv, depthwise, FC: constants, requantisation, the op's words. */
static void nq_dot_op(struct mcai_nb_net *n, const struct mcai_nb_layer *l,
		      struct mcai_gw_graph *g, struct mcai_gw_op *op,
		      struct nq_pool *pool)
{
	const struct mcai_nb_tensor *x = &n->t[l->in[0]], *o = &n->t[l->out];
	u32 ch = l->n_b, c, wd[4], bd[4] = { 1, 1, 1, ch };
	s8 *wq = nq_alloc(pool, l->n_w, 1);
	float *ws = nq_alloc(pool, ch, sizeof(float));
	float *bs = nq_alloc(pool, ch, sizeof(float));
	s32 *bq = nq_alloc(pool, ch, sizeof(s32));
	s32 *mult = nq_alloc(pool, ch, sizeof(s32));
	s32 *shift = nq_alloc(pool, ch, sizeof(s32));
	s32 *words = nq_alloc(pool, 11 + 2 * ch, sizeof(s32));
	s8 lo, hi;
	u32 axis;

	nq_weights(l, wq, ws);
	for (c = 0; c < ch; c++) {
		bs[c] = (float)((double)x->scale * ws[c]);
		bq[c] = mcai_round_s32(l->b[c] / ((double)x->scale * ws[c]));
		mcai_quantize_multiplier((double)x->scale * ws[c] / o->scale,
					 &mult[c], &shift[c]);
	}
	mcai_act_range(l->relu ? MCAI_ACT_RELU : MCAI_ACT_NONE, o->scale, o->zp,
		       &lo, &hi);
	if (l->kind == MCAI_NB_FC) {
		struct mcai_fc_params p = {
			.out_len = ch, .act_min = lo, .act_max = hi,
			.mult = mult, .shift = shift,
		};

		wd[0] = wd[1] = 1;
		wd[2] = ch;
		wd[3] = x->elems;
		axis = 2;
		op->type = MCAI_OP_FC;
		op->params_len = 4 * mcai_gw_fc_words(&p, words);
	} else {
		struct mcai_conv_params p = {
			.out_c = ch, .stride_h = l->stride_h,
			.stride_w = l->stride_w, .dil_h = 1, .dil_w = 1,
			.pad_top = l->pad_top, .pad_left = l->pad_left,
			.pad_bottom = l->pad_bottom, .pad_right = l->pad_right,
			.groups = 1, .act_min = lo, .act_max = hi,
			.mult = mult, .shift = shift,
		};
		bool dw = l->kind == MCAI_NB_DW;

		wd[0] = dw ? 1 : ch;
		wd[1] = l->k_h;
		wd[2] = l->k_w;
		wd[3] = dw ? ch : x->dims[3];
		axis = dw ? 3 : 0;
		op->type = dw ? MCAI_OP_DEPTHWISE : MCAI_OP_CONV2D;
		op->params_len = 4 * mcai_gw_conv_words(&p, words);
	}
	op->n_in = 3;
	op->in[1] = nq_const(g, MCAI_DT_INT8, wd, ws[0], ws, axis, wq);
	op->in[2] = nq_const(g, MCAI_DT_INT32, bd, bs[0], bs, 3, bq);
	op->params = words;
}

static void nq_op(struct mcai_nb_net *n, const struct mcai_nb_layer *l,
		  struct mcai_gw_graph *g, struct mcai_gw_op *op,
		  struct nq_pool *pool)
{
	const struct mcai_nb_tensor *x = &n->t[l->in[0]], *o = &n->t[l->out];
	s32 *words = nq_alloc(pool, 16, sizeof(s32));

	memset(op, 0, sizeof(*op));
	op->in[0] = x->gw;
	op->out = o->gw;
	op->n_in = 1;
	op->params = words;
	switch (l->kind) {
	case MCAI_NB_CONV:
	case MCAI_NB_DW:
	case MCAI_NB_FC:
		nq_dot_op(n, l, g, op, pool);
		break;
	case MCAI_NB_AVGPOOL: {
		struct mcai_pool_params p = {
			.k_h = l->k_h, .k_w = l->k_w, .stride_h = l->stride_h,
			.stride_w = l->stride_w, .act_min = -128, .act_max = 127,
		};

		op->type = MCAI_OP_AVG_POOL2D;
		op->params_len = 4 * mcai_gw_pool_words(&p, false, words);
		break;
	}
	case MCAI_NB_ADD: {
		const struct mcai_nb_tensor *y = &n->t[l->in[1]];
		struct mcai_add_params p;

		mcai_add_prepare(&p, x->scale, x->zp, y->scale, y->zp, o->scale,
				 o->zp);
		mcai_act_range(l->relu ? MCAI_ACT_RELU : MCAI_ACT_NONE, o->scale,
			       o->zp, &p.act_min, &p.act_max);
		op->type = MCAI_OP_ADD;
		op->n_in = 2;
		op->in[1] = y->gw;
		op->params_len = 4 * mcai_gw_add_words(&p, words);
		break;
	}
	case MCAI_NB_SOFTMAX: {
		struct mcai_softmax_params p;

		mcai_softmax_prepare(&p, 1.0, x->scale);
		op->type = MCAI_OP_SOFTMAX;
		op->params_len = 4 * mcai_gw_softmax_words(&p, words);
		break;
	}
	case MCAI_NB_RECON: {
		const struct mcai_nb_tensor *in = &n->t[l->in[1]];
		struct mcai_recon_params p;

		mcai_recon_prepare(&p, x->elems, x->scale, x->zp, in->scale,
				   in->zp, l->score_scale);
		op->type = MCAI_OP_RECON;
		op->n_in = 2;
		op->in[1] = in->gw;
		op->params_len = 4 * mcai_gw_recon_words(&p, words);
		break;
	}
	}
}

u8 *mcai_nb_write(struct mcai_nb_net *n, u8 head, s8 thr, const s8 *tv,
		  u32 n_tv, u32 *size, char *err, size_t errlen)
{
	struct nq_pool pool = { .n = 0 };
	struct mcai_gw_graph g;
	struct mcai_gw_op *ops;
	u8 *blob;
	u32 i;

	nq_scales(n);
	memset(&g, 0, sizeof(g));
	g.name = n->name;
	g.version = 1;
	g.head = head;
	g.head_threshold = thr;
	g.t = nq_alloc(&pool, n->n_t + 2 * n->n_l, sizeof(*g.t));
	ops = nq_alloc(&pool, n->n_l, sizeof(*ops));
	g.op = ops;
	for (i = 0; i < n->n_t; i++) {
		struct mcai_gw_tensor *t = &g.t[i];
		const struct mcai_nb_tensor *s = &n->t[i];

		t->dtype = s->dtype;
		t->kind = MCAI_TK_ARENA;
		t->rank = 4;
		memcpy(t->dims, s->dims, sizeof(t->dims));
		t->scale = s->scale;
		t->zp = s->zp;
		n->t[i].gw = i;
	}
	g.n_tensors = n->n_t;
	for (i = 0; i < n->n_l; i++)
		nq_op(n, &n->l[i], &g, &ops[i], &pool);
	g.n_ops = n->n_l;
	g.n_inputs = 1;
	g.input[0] = n->t[n->input].gw;
	g.input_name[0] = "input";
	g.n_outputs = n->n_out;
	for (i = 0; i < n->n_out; i++)
		g.output[i] = n->t[n->output[i]].gw;
	g.tv_count = n_tv;
	g.tv_inputs = tv;
	blob = mcai_graph_write(&g, size, err, errlen);
	for (i = 0; i < pool.n; i++)
		free(pool.p[i]);
	return blob;
}

void mcai_nb_quantise_input(const struct mcai_nb_net *n, const float *x,
			    s8 *q)
{
	const struct mcai_nb_tensor *t = &n->t[n->input];
	float scale;
	s8 zp;
	u32 i;

	mcai_qparams((float)t->lo, (float)t->hi, &scale, &zp);
	for (i = 0; i < t->elems; i++)
		q[i] = mcai_quantize(x[i], scale, zp);
}

void mcai_nb_dequantise_input(const struct mcai_nb_net *n, const s8 *q,
			      float *x)
{
	const struct mcai_nb_tensor *t = &n->t[n->input];
	float scale;
	s8 zp;
	u32 i;

	mcai_qparams((float)t->lo, (float)t->hi, &scale, &zp);
	for (i = 0; i < t->elems; i++)
		x[i] = scale * (q[i] - zp);
}

int mcai_nb_probe_open(struct mcai_nb_probe *p, const u8 *blob, u32 size,
		       char *err, size_t errlen)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	u32 need, i, d, at = 0;

	memset(p, 0, sizeof(*p));
	mcai_limits_widest(&lim);
	need = mcai_graph_state_size(blob, size, &lim, &v);
	p->state = need ? aligned_alloc(8, (need + 7) & ~7U) : NULL;
	if (!p->state || mcai_graph_verify(&p->g, blob, size, &lim, p->state,
					   need, &v)) {
		snprintf(err, errlen, "verifier refused the blob: %s at %u",
			 v.reason ? v.reason : "no state", v.offset);
		free(p->state);
		p->state = NULL;
		return -1;
	}
	p->arena_size = p->g.arena_size;
	for (i = 0; i < p->g.n_tensors; i++) {
		struct mcai_gtensor *t = &p->g.t[i];

		for (d = 0; d < 4; d++)
			if (t->dims[d] > p->max_dim)
				p->max_dim = t->dims[d];
		if (t->kind != MCAI_TK_ARENA)
			continue;
		t->offset = at;
		at += (t->bytes + 7) & ~7U;
	}
	p->arena = aligned_alloc(8, at + 8);
	if (!p->arena)
		mcai_die("out of memory");
	return 0;
}

void mcai_nb_probe_close(struct mcai_nb_probe *p)
{
	free(p->arena);
	free(p->state);
	memset(p, 0, sizeof(*p));
}

int mcai_nb_probe_run(struct mcai_nb_probe *p, const s8 *q)
{
	const struct mcai_gtensor *in = &p->g.t[p->g.input[0]];

	memcpy(mcai_graph_tensor(&p->g, p->arena, p->g.input[0]), q, in->bytes);
	return mcai_graph_run(&p->g, p->arena);
}

const void *mcai_nb_probe_tensor(const struct mcai_nb_probe *p, u32 gw)
{
	return mcai_graph_tensor(&p->g, p->arena, gw);
}

void mcai_nb_probe_use(const struct mcai_nb_probe *p,
		       const struct mcai_nb_net *n, struct mcai_nb_use *use)
{
	u32 i, j;

	for (i = 0; i < n->n_t; i++) {
		const struct mcai_gtensor *t = &p->g.t[n->t[i].gw];
		const s8 *v = mcai_nb_probe_tensor(p, n->t[i].gw);
		struct mcai_nb_use *u = &use[i];
		s32 lo = -128, hi = 127;
		const struct mcai_nb_layer *l = NULL;
		double d;

		if (t->dtype != MCAI_DT_INT8)
			continue;
		for (j = 0; j < n->n_l; j++)
			if (n->l[j].out == i)
				l = &n->l[j];
		if (l && l->relu)
			lo = n->t[i].zp;	/* ReLU's clamp */
		if (!u->n) {
			u->qmin = 127;
			u->qmax = -128;
		}
		for (j = 0; j < t->bytes; j++) {
			if (v[j] < u->qmin)
				u->qmin = v[j];
			if (v[j] > u->qmax)
				u->qmax = v[j];
			u->at_lo += v[j] == lo;
			u->at_hi += v[j] == hi;
			d = (double)n->t[i].scale * (v[j] - n->t[i].zp) -
			    n->t[i].v[j];
			u->sig2 += (double)n->t[i].v[j] * n->t[i].v[j];
			u->err2 += d * d;
		}
		u->n += t->bytes;
	}
}

static const char *nq_kind(u8 kind)
{
	static const char *const names[] = {
		"conv2d", "depthwise", "fc", "avg_pool", "add", "softmax",
		"recon",
	};

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

void mcai_nb_report_layers(FILE *f, const struct mcai_nb_net *n,
			   const struct mcai_nb_probe *p,
			   const struct mcai_nb_use *use)
{
	u32 i;

	fprintf(f, "%-3s %-12s %-9s %-4s %-12s %9s  %-19s %9s %5s  %-9s %5s %6s %6s %5s\n",
		"#", "layer", "op", "act", "output", "MACs", "float range",
		"scale", "zp", "int8 seen", "codes", "lo%", "hi%", "SQNR");
	for (i = 0; i < n->n_l; i++) {
		const struct mcai_nb_layer *l = &n->l[i];
		const struct mcai_nb_tensor *o = &n->t[l->out];
		const struct mcai_nb_use *u = &use[l->out];
		char shape[24], seen[16] = "-", codes[8] = "-", lo[8] = "-",
		     hi[8] = "-", range[24] = "(fixed)", snr[12] = "-";

		snprintf(shape, sizeof(shape), "%ux%ux%u", o->dims[1], o->dims[2],
			 o->dims[3]);
		if (!o->fixed || l->kind == MCAI_NB_AVGPOOL)
			snprintf(range, sizeof(range), "%.3g..%.3g",
				 l->kind == MCAI_NB_AVGPOOL ? n->t[l->in[0]].lo : o->lo,
				 l->kind == MCAI_NB_AVGPOOL ? n->t[l->in[0]].hi : o->hi);
		if (o->dtype == MCAI_DT_INT8 && u->n) {
			snprintf(seen, sizeof(seen), "%d..%d", u->qmin, u->qmax);
			snprintf(codes, sizeof(codes), "%3.0f%%",
				 100.0 * (u->qmax - u->qmin + 1) / 256);
			snprintf(lo, sizeof(lo), "%5.1f", 100.0 * u->at_lo / u->n);
			snprintf(hi, sizeof(hi), "%5.1f", 100.0 * u->at_hi / u->n);
			if (u->err2 > 0)
				snprintf(snr, sizeof(snr), "%4.1f",
					 10 * log10(u->sig2 / u->err2));
		}
		fprintf(f, "%-3u %-12s %-9s %-4s %-12s %9llu  %-19s %9.3g %5d  %-9s %5s %6s %6s %5s\n",
			i, l->name, nq_kind(l->kind), l->relu ? "relu" : "-",
			shape, (unsigned long long)p->g.op[i].macs, range,
			o->scale, o->zp, seen, codes, lo, hi, snr);
	}
}
