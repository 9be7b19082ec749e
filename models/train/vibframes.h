/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The anomaly detector's front-end (user space only): a window of the
 * simulated accelerometer (models/sensor/vibration.h) becomes the 640
 * values the MLPerf Tiny autoencoder takes, 5 frames x 128 spectral bins,
 * the shape of the reference's 5 stacked log-mel frames of 128 bands.
 *
 * Sample rate MCAI_VF_FS; frames of MCAI_VF_FRAME samples, Hann window,
 * hop MCAI_VF_HOP (half a frame, as the reference's n_fft 1024 / hop
 * 512); each frame's power spectrum of the radial plane (x and y added:
 * the direction of the load and of the imbalance's rotating force) in
 * bins 0..127 of 25 Hz, DC to 3175 Hz, on a dB scale.  Linear bins, not
 * mel: the evidence of a bearing defect is the housing resonance near
 * 1 kHz and of an imbalance the line at shaft speed (20-30 Hz, bin 1),
 * and a mel scale would blur the first into a few bands.
 */
#ifndef MCAI_VIBFRAMES_H
#define MCAI_VIBFRAMES_H

#include "models/engine/port.h"

#define MCAI_VF_FS		6400U
#define MCAI_VF_FRAME		256U
#define MCAI_VF_HOP		128U
#define MCAI_VF_FRAMES		5U
#define MCAI_VF_BINS		128U
#define MCAI_VF_LEN		(MCAI_VF_FRAMES * MCAI_VF_BINS)	/* 640 */
/* Samples a window needs: 768, 120 ms at 6.4 kHz. */
#define MCAI_VF_SAMPLES		(MCAI_VF_FRAME + (MCAI_VF_FRAMES - 1) * MCAI_VF_HOP)

/*
 * out[f * 128 + k] = 10 log10(1 + P) of frame f, bin k, P in mg^2 (the
 * 1 keeps an empty bin finite) from xyz[3 * MCAI_VF_SAMPLES] interleaved.
 */
void mcai_vf_frames(const s16 *xyz, float *out);

#endif /* MCAI_VIBFRAMES_H */
