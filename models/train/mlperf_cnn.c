// SPDX-License-Identifier: GPL-2.0
/*
 * The three convolutional MLPerf Tiny references, layer for layer as
 * mlcommons/tiny's benchmark/training scripts define them, with
 * SYNTHETIC weights (the data sets are not installable here): DS-CNN
 * (keyword_spotting/keras_model.py, ds_cnn), MobileNetV1 0.25
 * (visual_wake_words/vww_model.py) and ResNet-8
 * (image_classification/keras_model.py, resnet_v1_eembc with 16
 * filters, the v1.0 reference).  The quantisation is still calibrated
 * the way a real model's would be: on inputs shaped like the real ones.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/train/cli.h"
#include "models/train/mlperf.h"
#include "uapi/mcai.h"

#define N_CAL		32	/* calibration inputs */
#define N_PROBE		64	/* evaluation inputs, distinct from those */
#define N_TV		4	/* test vectors: the first evaluation inputs */

/* Keras' separable block as the references spell it: dw 3x3, pw 1x1. */
static u32 cnn_separable(struct mcai_nb_net *n, u32 x, u32 i, u32 out_c,
			 u32 stride)
{
	char name[24];

	snprintf(name, sizeof(name), "dw%u", i);
	x = mcai_nb_dw(n, name, x, 3, stride, true);
	snprintf(name, sizeof(name), "pw%u", i);
	return mcai_nb_conv(n, name, x, out_c, 1, 1, 1, true);
}

static void cnn_kws(struct mcai_nb_net *n)
{
	u32 x = mcai_nb_input(n, 49, 10, 1, -4.0, 4.0), i;

	x = mcai_nb_conv(n, "conv1", x, 64, 10, 4, 2, true);
	for (i = 1; i <= 4; i++)
		x = cnn_separable(n, x, i, 64, 1);
	/* final_pool_size = (int(49 / 2), int(10 / 2)) = (24, 5): on the
	 * 25 x 5 map, valid padding, the last row is left out
	 */
	x = mcai_nb_avgpool(n, "avgpool", x, 24, 5);
	x = mcai_nb_fc(n, "fc", x, 12, false);
	n->output[n->n_out++] = mcai_nb_softmax(n, "softmax", x);
}

static void cnn_vww(struct mcai_nb_net *n)
{
	/* stride of each separable block and whether it doubles the filters */
	static const u8 stride[13] = { 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1 };
	static const u8 grow[13] = { 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0 };
	u32 x = mcai_nb_input(n, 96, 96, 3, 0.0, 1.0), f = 8, i;

	x = mcai_nb_conv(n, "conv1", x, f, 3, 3, 2, true);
	for (i = 0; i < 13; i++) {
		f <<= grow[i];
		x = cnn_separable(n, x, i + 1, f, stride[i]);
	}
	x = mcai_nb_avgpool(n, "avgpool", x, n->t[x].dims[1], n->t[x].dims[2]);
	x = mcai_nb_fc(n, "fc", x, 2, false);
	n->output[n->n_out++] = mcai_nb_softmax(n, "softmax", x);
}

static u32 cnn_stack(struct mcai_nb_net *n, u32 x, u32 s, u32 f, u32 stride)
{
	char a[24], b[24], c[24], d[24];
	u32 y;

	snprintf(a, sizeof(a), "s%u.conv1", s);
	snprintf(b, sizeof(b), "s%u.conv2", s);
	snprintf(c, sizeof(c), "s%u.short", s);
	snprintf(d, sizeof(d), "s%u.add", s);
	y = mcai_nb_conv(n, a, x, f, 3, 3, stride, true);
	y = mcai_nb_conv(n, b, y, f, 3, 3, 1, false);
	if (stride != 1)	/* the 1x1 projection of the identity path */
		x = mcai_nb_conv(n, c, x, f, 1, 1, stride, false);
	return mcai_nb_add(n, d, x, y, true);
}

static void cnn_ic(struct mcai_nb_net *n)
{
	u32 x = mcai_nb_input(n, 32, 32, 3, 0.0, 1.0);

	x = mcai_nb_conv(n, "conv1", x, 16, 3, 3, 1, true);
	x = cnn_stack(n, x, 1, 16, 1);
	x = cnn_stack(n, x, 2, 32, 2);
	x = cnn_stack(n, x, 3, 64, 2);
	x = mcai_nb_avgpool(n, "avgpool", x, 8, 8);
	x = mcai_nb_fc(n, "fc", x, 10, false);
	n->output[n->n_out++] = mcai_nb_softmax(n, "softmax", x);
}

/*
 * Synthetic MFCCs: 49 frames of 10 coefficients, each coefficient an
 * AR(1) track in time (speech changes slowly over 20 ms hops) whose
 * spread falls with the coefficient's order, as cepstra do.
 */
static void input_mfcc(u64 *r, float *x)
{
	u32 t, c;

	for (c = 0; c < 10; c++) {
		double sd = 1.6 / (1.0 + 0.25 * c), v = sd * mcai_nb_normal(r);

		for (t = 0; t < 49; t++) {
			v = 0.85 * v + sqrt(1 - 0.85 * 0.85) * sd * mcai_nb_normal(r);
			x[t * 10 + c] = (float)v;
		}
	}
}

/*
 * Synthetic images, pixels in [0, 1] as the references' rescale 1/255
 * gives them: a per-image colour cast, two oriented gratings (edges and
 * texture at random scales) and sensor noise.
 */
static void input_image(u64 *r, u32 side, float *x)
{
	double base[3], fx[2], fy[2], ph[2], amp[2][3];
	u32 i, j, c, k;

	for (c = 0; c < 3; c++)
		base[c] = 0.25 + 0.5 * mcai_nb_uniform(r);
	for (k = 0; k < 2; k++) {
		double a = 2 * M_PI * mcai_nb_uniform(r);
		double f = (0.5 + 6 * mcai_nb_uniform(r)) * 2 * M_PI / side;

		fx[k] = f * cos(a);
		fy[k] = f * sin(a);
		ph[k] = 2 * M_PI * mcai_nb_uniform(r);
		for (c = 0; c < 3; c++)
			amp[k][c] = 0.25 * mcai_nb_uniform(r);
	}
	for (i = 0; i < side; i++)
		for (j = 0; j < side; j++)
			for (c = 0; c < 3; c++) {
				double v = base[c] + 0.03 * mcai_nb_normal(r);

				for (k = 0; k < 2; k++)
					v += amp[k][c] * sin(fx[k] * j + fy[k] * i + ph[k]);
				x[(i * side + j) * 3 + c] =
					(float)(v < 0 ? 0 : v > 1 ? 1 : v);
			}
}

static void cnn_input(enum mcai_zoo_id id, u64 *r, float *x)
{
	if (id == MCAI_ZOO_KWS)
		input_mfcc(r, x);
	else
		input_image(r, id == MCAI_ZOO_VWW ? 96 : 32, x);
}

static const char *const cnn_source[] = {
	[MCAI_ZOO_KWS] = "benchmark/training/keyword_spotting/keras_model.py, get_model(), model_architecture 'ds_cnn'",
	[MCAI_ZOO_VWW] = "benchmark/training/visual_wake_words/vww_model.py, mobilenet_v1()",
	[MCAI_ZOO_IC] = "benchmark/training/image_classification/keras_model.py, resnet_v1_eembc(conv_filters=16)",
};

static const char *const cnn_notes[] = {
	[MCAI_ZOO_KWS] =
	"Input 49 x 10 x 1 (49 frames of 10 MFCCs).  conv 10x4 stride 2 SAME,\n"
	"64 filters -> 25 x 5 x 64; four separable blocks (depthwise 3x3 SAME,\n"
	"pointwise 1x1, 64 filters), BN folded and ReLU fused after each conv;\n"
	"AveragePooling2D(pool_size=(24, 5)) with Keras' default valid padding\n"
	"and stride = pool size, so the 25th row is left out as in the reference;\n"
	"dense 64 -> 12, softmax.  The dropout layers do nothing at inference.\n",
	[MCAI_ZOO_VWW] =
	"Input 96 x 96 x 3.  conv 3x3 stride 2 SAME, 8 filters (alpha 0.25), then\n"
	"13 separable blocks (depthwise 3x3 SAME, pointwise 1x1) with strides\n"
	"1,2,1,2,1,2,1,1,1,1,1,2,1 and filters 16,32,32,64,64,128 x6,256,256;\n"
	"BN folded and ReLU fused after every conv (the reference's ReLU, not\n"
	"Keras' ReLU6); AveragePooling2D over the whole 3 x 3 map; dense\n"
	"256 -> 2, softmax.\n",
	[MCAI_ZOO_IC] =
	"Input 32 x 32 x 3.  conv 3x3 SAME, 16 filters; three residual stacks\n"
	"of two 3x3 convs (16, 32, 64 filters; the first conv of stacks 2 and 3\n"
	"stride 2), BN folded into each conv, ReLU after the first, none after\n"
	"the second; stacks 2 and 3 project the identity with a 1x1 stride-2\n"
	"conv; add, then ReLU (fused into the add); AveragePooling2D 8x8;\n"
	"dense 64 -> 10, softmax.\n"
	"Filters: the script's current default is conv_filters=26, a later\n"
	"development; the MLPerf Tiny v1.0 reference, whose figures the table\n"
	"gives, is the 16-filter network (num_filters = 16 before that change),\n"
	"which is what this is.\n",
};

static const char *const cnn_input_text[] = {
	[MCAI_ZOO_KWS] =
	"Calibration and evaluation inputs are synthetic MFCCs: per\n"
	"coefficient an AR(1) track over the 49 frames (0.85 correlation), spread\n"
	"1.6 / (1 + c / 4); the int8 input covers -4..4.\n",
	[MCAI_ZOO_VWW] =
	"Calibration and evaluation inputs are synthetic 96 x 96 RGB images in\n"
	"[0, 1] (a colour cast, two gratings, noise); the int8 input is TFLite's\n"
	"image quantisation, scale 1/255, zero point -128.\n",
	[MCAI_ZOO_IC] =
	"Calibration and evaluation inputs are synthetic 32 x 32 RGB images in\n"
	"[0, 1] (a colour cast, two gratings, noise); the int8 input is TFLite's\n"
	"image quantisation, scale 1/255, zero point -128.\n",
};

static const char *const cnn_mac_note[] = {
	[MCAI_ZOO_KWS] =
	"The engine also counts the average pool (7680), the softmax's two\n"
	"passes (24): the table counts the convolutions and the dense layer.\n",
	[MCAI_ZOO_VWW] =
	"The engine also counts the average pool (2304) and the softmax (4).\n",
	[MCAI_ZOO_IC] =
	"The engine also counts the three residual adds (28672), the average\n"
	"pool (4096) and the softmax (20).\n",
};

void mcai_zoo_build_cnn(enum mcai_zoo_id id, const char *dir)
{
	const struct mcai_zoo_ref *ref = &mcai_zoo_refs[id];
	static struct mcai_nb_net net;
	struct mcai_nb_net *n = &net;
	struct mcai_nb_use use[MCAI_NB_MAX_TENSORS];
	struct mcai_nb_probe probe;
	struct mcai_zoo_report rep;
	u64 r = 0x6d6c70657266ULL + id;	/* fixed seeds, one per model */
	u32 in_len, out_len, i, j, size, agree = 0;
	double dmax = 0, dsum = 0;
	float *x;
	s8 *q, *tv;
	u8 *blob;
	char err[256], file[64];

	mcai_nb_init(n, ref->name);
	if (id == MCAI_ZOO_KWS)
		cnn_kws(n);
	else if (id == MCAI_ZOO_VWW)
		cnn_vww(n);
	else
		cnn_ic(n);
	mcai_nb_synthetic(n, 0x73796e7468ULL + id);
	in_len = n->t[n->input].elems;
	out_len = n->t[n->output[0]].elems;
	x = mcai_xcalloc(in_len, sizeof(float));
	q = mcai_xcalloc(in_len, 1);
	tv = mcai_xcalloc((size_t)N_PROBE * in_len, 1);

	/*
	 * Calibration: float passes over the int8 grid's own inputs.  The
	 * first centres the synthetic classifier's logits (its bias takes
	 * out their mean, as training would leave them about 0) so that
	 * they spread over their int8 range instead of sharing one offset.
	 */
	{
		struct mcai_nb_layer *fc = mcai_nb_writer(n, n->l[n->n_l - 1].in[0]);
		const float *logit = n->t[fc->out].v;
		double *mean = mcai_xcalloc(out_len, sizeof(double));
		u64 r0 = r;

		for (i = 0; i < N_CAL; i++) {
			cnn_input(id, &r, x);
			mcai_nb_quantise_input(n, x, q);
			mcai_nb_dequantise_input(n, q, x);
			mcai_nb_forward(n, x);
			for (j = 0; j < out_len; j++)
				mean[j] += logit[j] / N_CAL;
		}
		for (j = 0; j < out_len; j++)
			fc->b[j] -= (float)mean[j];
		free(mean);
		r = r0;
	}
	for (i = 0; i < N_CAL; i++) {
		cnn_input(id, &r, x);
		mcai_nb_quantise_input(n, x, q);
		mcai_nb_dequantise_input(n, q, x);
		mcai_nb_forward(n, x);
		mcai_nb_observe(n);
	}
	for (i = 0; i < N_PROBE; i++) {
		cnn_input(id, &r, x);
		mcai_nb_quantise_input(n, x, tv + (size_t)i * in_len);
	}
	blob = mcai_nb_write(n, MCAI_HEAD_ARGMAX, 0, tv, N_TV, &size, err,
			     sizeof(err));
	if (!blob)
		mcai_die("%s: %s", ref->name, err);
	if (mcai_nb_probe_open(&probe, blob, size, err, sizeof(err)))
		mcai_die("%s: %s", ref->name, err);

	/* Evaluation: int8 graph against the float net, same inputs. */
	memset(use, 0, sizeof(use));
	for (i = 0; i < N_PROBE; i++) {
		const s8 *qi = tv + (size_t)i * in_len;
		const s8 *po;
		u32 fbest = 0;
		int cls;

		mcai_nb_dequantise_input(n, qi, x);
		mcai_nb_forward(n, x);
		cls = mcai_nb_probe_run(&probe, qi);
		mcai_nb_probe_use(&probe, n, use);
		po = mcai_nb_probe_tensor(&probe, n->t[n->output[0]].gw);
		for (j = 0; j < out_len; j++) {
			const float *pf = n->t[n->output[0]].v;
			double d = fabs((po[j] + 128) / 256.0 - pf[j]);

			if (pf[j] > pf[fbest])
				fbest = j;
			dsum += d;
			if (d > dmax)
				dmax = d;
		}
		agree += (u32)cls == fbest;
	}

	mcai_zoo_report_open(&rep);
	fprintf(rep.f, "%s: %s (MLPerf Tiny reference)\n\n", ref->name,
		ref->title);
	fprintf(rep.f,
		"WEIGHTS ARE SYNTHETIC.  The architecture is the reference's, layer\n"
		"for layer; the weights are not trained (the data set cannot be\n"
		"installed here): He-normal kernels from a fixed-seed PRNG, with a\n"
		"synthetic batch normalisation (gamma, beta, moving mean and\n"
		"variance) folded into every convolution, the dense layer's bias\n"
		"set to centre its logits on the calibration inputs.  The model\n"
		"classifies nothing; it measures\n"
		"cost, memory and the int8 pipeline.  Swap in trained weights and\n"
		"the same code quantises them.\n\n");
	fprintf(rep.f, "Source: mlcommons/tiny, %s\n\n", cnn_source[id]);
	fputs(cnn_notes[id], rep.f);
	fputc('\n', rep.f);
	mcai_zoo_facts(rep.f, id, blob, size, &probe);
	fputc('\n', rep.f);
	fputs(cnn_mac_note[id], rep.f);
	fprintf(rep.f, "The table's model size is the TFLite flatbuffer: %llu float\n"
		"parameters, as int8 weights and int32 biases here.\n\n",
		(unsigned long long)mcai_nb_params(n));
	fprintf(rep.f, "Quantisation (TFLite's post-training rules)\n");
	fprintf(rep.f,
		"Symmetric per-channel int8 weights, int32 biases, Q31 multipliers;\n"
		"each activation asymmetric int8 over the range its layer produced\n"
		"on %u calibration inputs (min/max, as TFLite's calibrator).\n",
		N_CAL);
	fputs(cnn_input_text[id], rep.f);
	fprintf(rep.f,
		"\nPer layer, over %u evaluation inputs (not the calibration ones):\n"
		"'int8 seen' is the range of output codes, 'codes' the share of the\n"
		"256 codes it spans, 'lo%%' the share of outputs at the lower clamp\n"
		"(for a ReLU layer: its zeros), 'hi%%' at 127 (saturation).\n\n",
		N_PROBE);
	mcai_nb_report_layers(rep.f, n, &probe, use);
	fprintf(rep.f,
		"\nint8 graph against the float net on the same %u inputs: top-1\n"
		"agreement %u/%u; softmax probabilities differ by %.4f on average,\n"
		"%.4f at most (one int8 step is 1/256 = 0.0039).  Random weights\n"
		"map every input to nearly the same pooled features, so the\n"
		"classes' logits differ by about an int8 step and top-1 agreement\n"
		"says little here; the SQNR column (dB of signal to quantisation noise\n"
		"of each layer's int8 output against the float net's) is the measure.\n",
		N_PROBE, agree, N_PROBE, dsum / (N_PROBE * out_len), dmax);
	fprintf(rep.f,
		"\nTest vectors: the first %u evaluation inputs, their outputs\n"
		"computed by the engine's interpreter when the blob was written.\n",
		N_TV);
	mcai_nb_probe_close(&probe);
	mcai_zoo_report_save(&rep, dir, ref->name);
	snprintf(file, sizeof(file), "%s.mcai", ref->name);
	mcai_zoo_save(dir, file, blob, size);
	free(blob);
	free(x);
	free(q);
	free(tv);
	mcai_nb_free(n);
}
