/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Simulated 3-axis accelerometer on a rotating machine (a motor-driven
 * shaft on 6205 deep-groove ball bearings).  Integer only, deterministic
 * (one seeded splitmix64 stream), no allocation, no libc: compiled into
 * mcai_simsensor.ko and into user space (mcai-vibtrain), so the trainer
 * learns from exactly the signal the kernel module produces.  All of it
 * is a model of a machine: the data is simulated, not measured.
 *
 * Units: 1 LSB = 1 mg (int16: +-32.767 g, saturating).  Axes: x and y
 * radial (y vertical, stiffer), z axial, and z also carries 1 g of
 * gravity (sensor mounted flat on the bearing housing).
 *
 * Content of the signal:
 *  - shaft rotation f_r: 1x (residual imbalance: a rotating force, so a
 *    circular orbit in x/y, little axial) and 2x (misalignment, strongest
 *    axially), each a Q15 table sine driven by a 32-bit phase accumulator;
 *  - broadband noise (approximately Gaussian: sum of four uniforms);
 *  - bearing defects: each time a ball rolls over a defect an impulse
 *    excites a structural resonance of the housing (a damped second-order
 *    integer oscillator at res_hz, damping ratio 0.04).  Impulses repeat at
 *      BPFO = N/2 f_r (1 - d/D cos phi) = 3.585 f_r  (outer race)
 *      BPFI = N/2 f_r (1 + d/D cos phi) = 5.415 f_r  (inner race)
 *    for N = 9 balls, d = 7.94 mm, D = 39.04 mm, phi = 0 (the 6205 of the
 *    CWRU bearing data set), with +-2% timing jitter (ball slip) and
 *    +-20% amplitude scatter.  An outer-race defect sits still in the load
 *    zone: constant amplitude.  An inner-race defect turns with the shaft
 *    and passes through the load zone once a revolution: its impulses are
 *    amplitude-modulated at f_r;
 *  - imbalance fault: the 1x component grows by severity_mg.
 */
#ifndef MCAI_VIBRATION_H
#define MCAI_VIBRATION_H

#include "models/engine/port.h"

enum mcai_vib_fault {
	MCAI_VIB_NORMAL = 0,
	MCAI_VIB_OUTER = 1,		/* outer-race defect */
	MCAI_VIB_INNER = 2,		/* inner-race defect */
	MCAI_VIB_IMBALANCE = 3,
	MCAI_VIB_NFAULTS
};

#define MCAI_VIB_MIN_FS		1000
#define MCAI_VIB_MAX_FS		102400

struct mcai_vib_cfg {
	u32 fs;			/* sample rate, Hz */
	u32 shaft_mhz;		/* shaft speed, mHz (24600 = 1476 rpm) */
	u32 load_pct;		/* 0..100: scales defect impulses */
	u32 noise_mg;		/* broadband noise sigma per sample */
	u32 imb_mg;		/* healthy residual 1x amplitude */
	u32 mis_mg;		/* healthy 2x amplitude */
	u32 res_hz;		/* housing resonance, < fs / 2 */
	u32 fault;		/* enum mcai_vib_fault */
	u32 severity_mg;	/* defect impulse peak / added 1x amplitude */
	u64 seed;
};

struct mcai_vib {
	struct mcai_vib_cfg cfg;
	u64 rng;
	u64 n;			/* samples generated */
	u64 next_imp;		/* next defect impulse, Q16 samples */
	u64 period;		/* defect impulse period, Q16 samples */
	u32 ph_r;		/* shaft phase, 2^32 per turn */
	u32 inc_r;
	u32 ph2;		/* phase offset of 2x against 1x */
	s64 y1, y2;		/* resonator state, Q8 mg */
	s64 c1, c2;		/* resonator coefficients, Q30 */
};

/* A healthy machine at @fs with typical values. */
void mcai_vib_default(struct mcai_vib_cfg *cfg, u32 fs, u64 seed);

/* Returns 0, or -1 when fs, res_hz or fault is out of range. */
int mcai_vib_init(struct mcai_vib *v, const struct mcai_vib_cfg *cfg);

/* Change the injected fault from the next sample on. */
int mcai_vib_set_fault(struct mcai_vib *v, u32 fault, u32 severity_mg);

/* The next @n samples, interleaved x, y, z: xyz[3 * n]. */
void mcai_vib_generate(struct mcai_vib *v, s16 *xyz, u32 n);

/* Deterministic PRNG (splitmix64) shared with the trainer. */
u64 mcai_vib_rand(u64 *state);

#endif /* MCAI_VIBRATION_H */
