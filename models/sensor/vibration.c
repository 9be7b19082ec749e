// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated vibration of a rotating machine (see vibration.h for the
 * physics).  Integer only and deterministic: the kernel module and the
 * trainer produce the same samples for the same configuration.
 */
#include "models/sensor/vibration.h"
#include "models/sensor/features.h"

#define Q30		0x40000000LL	/* 1.0 in Q30 */

u64 mcai_vib_rand(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* num / den by shift and subtract: no 64-bit division helper needed. */
static u64 mcai_vib_div(u64 num, u64 den)
{
	u64 q = 0, r = 0;
	int i;

	if (!den)
		return 0;
	for (i = 63; i >= 0; i--) {
		r = (r << 1) | ((num >> i) & 1);
		if (r >= den) {
			r -= den;
			q |= 1ULL << i;
		}
	}
	return q;
}

/* Uniform in [-2^15, 2^15). */
static s32 mcai_vib_uniform(u64 *rng)
{
	return (s32)(mcai_vib_rand(rng) >> 48) - 32768;
}

/*
 * Approximately Gaussian with standard deviation @sigma: the sum of four
 * uniforms on [-1, 1) has variance 4/3; 28378 / 2^30 = 1 / (32768 sqrt(4/3)).
 */
static s32 mcai_vib_gauss(u64 *rng, u32 sigma)
{
	s64 s = 0;
	int i;

	for (i = 0; i < 4; i++)
		s += mcai_vib_uniform(rng);
	s = s * sigma * 28378;
	return (s32)(s >= 0 ? s >> 30 : -((-s) >> 30));
}

void mcai_vib_default(struct mcai_vib_cfg *cfg, u32 fs, u64 seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->fs = fs;
	cfg->shaft_mhz = 24600;		/* 4-pole motor on 50 Hz, 1.6% slip */
	cfg->load_pct = 70;
	cfg->noise_mg = 25;
	cfg->imb_mg = 30;
	cfg->mis_mg = 12;
	cfg->res_hz = 1100;
	cfg->fault = MCAI_VIB_NORMAL;
	cfg->severity_mg = 600;
	cfg->seed = seed;
}

int mcai_vib_set_fault(struct mcai_vib *v, u32 fault, u32 severity_mg)
{
	u64 bpf_mhz;

	if (fault >= MCAI_VIB_NFAULTS)
		return -1;
	v->cfg.fault = fault;
	v->cfg.severity_mg = severity_mg;
	v->period = 0;
	if (fault == MCAI_VIB_OUTER)
		bpf_mhz = (u64)v->cfg.shaft_mhz * 3585 / 1000;
	else if (fault == MCAI_VIB_INNER)
		bpf_mhz = (u64)v->cfg.shaft_mhz * 5415 / 1000;
	else
		return 0;
	if (!bpf_mhz)
		return 0;
	/* fs * 1000 / bpf_mhz samples between impulses, Q16 */
	v->period = mcai_vib_div((u64)v->cfg.fs * 1000 << 16, bpf_mhz);
	v->next_imp = (v->n << 16) + (v->period >> 1);
	return 0;
}

int mcai_vib_init(struct mcai_vib *v, const struct mcai_vib_cfg *cfg)
{
	u64 delta, r;
	s64 c;

	if (cfg->fs < MCAI_VIB_MIN_FS || cfg->fs > MCAI_VIB_MAX_FS ||
	    !cfg->res_hz || 2 * cfg->res_hz >= cfg->fs ||
	    cfg->fault >= MCAI_VIB_NFAULTS || cfg->shaft_mhz > 1000000 ||
	    cfg->load_pct > 100 || cfg->noise_mg > 4000 ||
	    cfg->imb_mg > 8000 || cfg->mis_mg > 8000 ||
	    cfg->severity_mg > 16000)
		return -1;
	memset(v, 0, sizeof(*v));
	v->cfg = *cfg;
	v->rng = cfg->seed;
	v->ph_r = (u32)mcai_vib_rand(&v->rng);
	v->ph2 = (u32)mcai_vib_rand(&v->rng);
	v->inc_r = (u32)mcai_vib_div((u64)cfg->shaft_mhz << 32,
				     (u64)cfg->fs * 1000);
	/*
	 * Resonator y[n] = 2 r cos(w) y[n-1] - r^2 y[n-2] + u[n], with
	 * w = 2 pi f_n / fs and r = 1 - zeta w (zeta = 0.04, so 0.2513 =
	 * 2 pi zeta; 8235 / 2^15 = 0.2513).
	 */
	delta = mcai_vib_div((u64)cfg->res_hz << 30, cfg->fs) * 8235 >> 15;
	if (delta > Q30 / 2)
		delta = Q30 / 2;
	r = Q30 - delta;
	c = mcai_vib_sin_q15((u32)mcai_vib_div((u64)cfg->res_hz << 32,
					       cfg->fs) + (1U << 30));
	v->c1 = (s64)(2 * r) * c >> 15;
	v->c2 = (s64)(r * r >> 30);
	return mcai_vib_set_fault(v, cfg->fault, cfg->severity_mg);
}

static s16 mcai_vib_sat16(s64 x)
{
	if (x > 32767)
		return 32767;
	if (x < -32768)
		return -32768;
	return (s16)x;
}

/* a * sin(phase) in mg, a in mg */
static s32 mcai_vib_tone(u32 a, u32 phase)
{
	return (s32)(((s64)a * mcai_vib_sin_q15(phase)) >> 15);
}

void mcai_vib_generate(struct mcai_vib *v, s16 *xyz, u32 n)
{
	const struct mcai_vib_cfg *c = &v->cfg;
	const u32 quarter = 1U << 30;
	u32 a1 = c->imb_mg, a2 = c->mis_mg, i;

	if (c->fault == MCAI_VIB_IMBALANCE)
		a1 += c->severity_mg;

	for (i = 0; i < n; i++, v->n++) {
		u32 th = v->ph_r, th2 = 2 * v->ph_r + v->ph2;
		s64 y, res;
		s32 x0, x1, x2;

		/* a defect impulse due at this sample? */
		if (v->period && (v->n << 16) >= v->next_imp) {
			/* load 0..100% scales the impact 0.5..1.0 */
			s64 amp = c->severity_mg * (100 + c->load_pct) / 200;
			s64 jit = mcai_vib_uniform(&v->rng);	/* +-2^15 */

			/* +-20% scatter: 13107 / 2^31 = 1 / (5 * 2^15) */
			amp = amp * (5 * 32768 + mcai_vib_uniform(&v->rng)) *
			      13107 >> 31;
			if (c->fault == MCAI_VIB_INNER)	/* load zone */
				amp = amp * (18022 + ((14746LL *
				      mcai_vib_sin_q15(th + quarter)) >> 15)) >> 15;
			v->y1 += amp * 256;
			/* next impact: period +-2% (41 / 2^36 = 1 / 2^15 / 51150) */
			jit = jit * (s64)v->period * 41;
			jit = jit >= 0 ? jit >> 36 : -((-jit) >> 36);
			v->next_imp += v->period + jit;
		}
		y = (v->c1 * v->y1 - v->c2 * v->y2);
		y = y >= 0 ? y >> 30 : -((-y) >> 30);
		v->y2 = v->y1;
		v->y1 = y;
		res = y >= 0 ? y >> 8 : -((-y) >> 8);		/* mg */

		/* x radial horizontal, y radial vertical, z axial */
		x0 = mcai_vib_tone(a1, th + quarter) +
		     mcai_vib_tone(a2, th2 + quarter);
		x1 = mcai_vib_tone(a1 * 4 / 5, th) +
		     mcai_vib_tone(a2 * 3 / 5, th2);
		x2 = mcai_vib_tone(a1 / 5, th + quarter / 2) +
		     mcai_vib_tone(a2 * 6 / 5, th2 + quarter);
		xyz[3 * i] = mcai_vib_sat16(x0 + res +
					    mcai_vib_gauss(&v->rng, c->noise_mg));
		xyz[3 * i + 1] = mcai_vib_sat16(x1 + res * 9 / 16 +
						mcai_vib_gauss(&v->rng, c->noise_mg));
		xyz[3 * i + 2] = mcai_vib_sat16(1000 + x2 + res * 5 / 16 +
						mcai_vib_gauss(&v->rng, c->noise_mg));
		v->ph_r += v->inc_r;
	}
}
