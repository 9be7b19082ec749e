/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Vibration feature front-end: a window of 3-axis int16 accelerometer
 * samples (1 LSB = 1 mg) becomes MCAI_VIB_NFEAT int8 features.  Integer
 * only, no allocation, no libc beyond memset: compiled into
 * mcai_simsensor.ko and into user space (mcai-vibtrain), so the kernel
 * and the trainer see bit-identical features.
 *
 * Every feature is an amplitude on a logarithmic scale, 8 steps per
 * octave (0.75 dB): q = clamp(round(8 * log2(a)) - MCAI_VIB_FEAT_OFF),
 * with a in mg (kurtosis: a dimensionless ratio).  The shared fixed
 * scale is what the models' input quantisation says: input_scale =
 * MCAI_VIB_INPUT_SCALE, input_zp = 0.
 *
 * Per axis (x, y, z), MCAI_VIB_PER_AXIS features:
 *   0  RMS of the AC signal (mean removed)
 *   1  peak |x - mean|
 *   2  kurtosis m4 / m2^2 (impulsiveness; 3 for Gaussian noise)
 *   3  RMS of the first difference (a high-pass: resonance energy)
 *   4  1x band: largest spectral line 15..40 Hz (shaft speed, imbalance)
 *   5  2x band: largest line 40..70 Hz (twice shaft speed, misalignment)
 *   6..13  envelope spectrum: largest line of |first difference|
 *      (demodulated resonance) in 25 Hz bands 0-25, 25-50, ... 175-200 Hz,
 *      where bearing-defect frequencies (BPFO ~ 3.6 f_r, BPFI ~ 5.4 f_r)
 *      and their harmonics appear
 *
 * Spectra come from a 128-point DFT of the window decimated by summing
 * blocks of window/128 samples (a box low-pass), with a Q15 sine table.
 */
#ifndef MCAI_FEATURES_H
#define MCAI_FEATURES_H

#include "models/engine/port.h"

#define MCAI_VIB_AXES		3
#define MCAI_VIB_PER_AXIS	14
#define MCAI_VIB_NFEAT		(MCAI_VIB_AXES * MCAI_VIB_PER_AXIS)	/* 42 */
#define MCAI_VIB_DEC		128	/* decimated points per window */
#define MCAI_VIB_MIN_WINDOW	256
#define MCAI_VIB_MAX_WINDOW	8192
#define MCAI_VIB_FEAT_OFF	64	/* q = 8 log2(a) - 64: 1 mg -> -64 */
#define MCAI_VIB_INPUT_SCALE	0.125f	/* octaves per step (user space) */

/* Scratch for one window: decimated signal and envelope of one axis. */
struct mcai_vib_scratch {
	s32 low[MCAI_VIB_DEC];
	s32 env[MCAI_VIB_DEC];
};

/*
 * Features of @n interleaved samples xyz[3 * n] taken at @fs Hz into
 * out[MCAI_VIB_NFEAT].  @n must be a power of two in
 * MCAI_VIB_MIN_WINDOW..MCAI_VIB_MAX_WINDOW.  Returns 0, or -1 (and
 * writes nothing) on a bad @n or @fs.
 */
int mcai_vib_features(const s16 *xyz, u32 n, u32 fs,
		      struct mcai_vib_scratch *s, s8 *out);

/* sin(2 pi phase / 2^32) in Q15 (1024-step table). */
s32 mcai_vib_sin_q15(u32 phase);

/* round(256 * log2(x)) for x >= 1; 0 for x == 0. */
s32 mcai_vib_log2_q8(u64 x);

/* Power-of-two window nearest to 160 ms at @fs, clamped to the limits. */
u32 mcai_vib_auto_window(u32 fs);

#endif /* MCAI_FEATURES_H */
