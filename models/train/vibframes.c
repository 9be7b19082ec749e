// SPDX-License-Identifier: GPL-2.0
/*
 * The anomaly detector's spectral frames (vibframes.h): a radix-2 FFT
 * in double precision, one frame and one axis at a time.
 */
#include <math.h>

#include "models/train/vibframes.h"

/* In-place iterative radix-2 FFT of n (a power of two) points. */
static void vf_fft(double *re, double *im, u32 n)
{
	u32 i, j, len, k;

	for (i = 1, j = 0; i < n; i++) {
		u32 bit = n >> 1;
		double t;

		for (; j & bit; bit >>= 1)
			j ^= bit;
		j ^= bit;
		if (i < j) {
			t = re[i];
			re[i] = re[j];
			re[j] = t;
			t = im[i];
			im[i] = im[j];
			im[j] = t;
		}
	}
	for (len = 2; len <= n; len <<= 1) {
		double a = -2 * M_PI / len;

		for (i = 0; i < n; i += len)
			for (k = 0; k < len / 2; k++) {
				double wr = cos(a * k), wi = sin(a * k);
				double *ur = &re[i + k], *ui = &im[i + k];
				double *vr = &re[i + k + len / 2];
				double *vi = &im[i + k + len / 2];
				double xr = *vr * wr - *vi * wi;
				double xi = *vr * wi + *vi * wr;

				*vr = *ur - xr;
				*vi = *ui - xi;
				*ur += xr;
				*ui += xi;
			}
	}
}

void mcai_vf_frames(const s16 *xyz, float *out)
{
	double re[MCAI_VF_FRAME], im[MCAI_VF_FRAME], p[MCAI_VF_BINS];
	u32 f, axis, i;

	for (f = 0; f < MCAI_VF_FRAMES; f++) {
		const s16 *s = xyz + 3 * f * MCAI_VF_HOP;

		for (i = 0; i < MCAI_VF_BINS; i++)
			p[i] = 0;
		for (axis = 0; axis < 2; axis++) {	/* x and y: radial */
			double mean = 0;

			for (i = 0; i < MCAI_VF_FRAME; i++)
				mean += s[3 * i + axis];
			mean /= MCAI_VF_FRAME;
			for (i = 0; i < MCAI_VF_FRAME; i++) {
				double w = 0.5 - 0.5 * cos(2 * M_PI * i / MCAI_VF_FRAME);

				/* without the mean, bin 0 holds no gravity or offset */
				re[i] = w * (s[3 * i + axis] - mean);
				im[i] = 0;
			}
			vf_fft(re, im, MCAI_VF_FRAME);
			/* per sample: a level whatever the frame length */
			for (i = 0; i < MCAI_VF_BINS; i++)
				p[i] += (re[i] * re[i] + im[i] * im[i]) /
					MCAI_VF_FRAME;
		}
		for (i = 0; i < MCAI_VF_BINS; i++)
			out[f * MCAI_VF_BINS + i] = (float)(10 * log10(1 + p[i]));
	}
}
