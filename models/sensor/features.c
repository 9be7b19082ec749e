// SPDX-License-Identifier: GPL-2.0
/*
 * Vibration feature front-end (see features.h): integer only, the same
 * code in mcai_simsensor.ko and in mcai-vibtrain.
 */
#include "models/sensor/features.h"

/* sin over the first quarter turn, Q15, 256 steps + the end point. */
static const s16 mcai_vib_qsin[257] = {
	0, 201, 402, 603, 804, 1005, 1206, 1407, 1608, 1809, 2009, 2210,
	2410, 2611, 2811, 3012, 3212, 3412, 3612, 3811, 4011, 4210, 4410,
	4609, 4808, 5007, 5205, 5404, 5602, 5800, 5998, 6195, 6393, 6590,
	6786, 6983, 7179, 7375, 7571, 7767, 7962, 8157, 8351, 8545, 8739,
	8933, 9126, 9319, 9512, 9704, 9896, 10087, 10278, 10469, 10659,
	10849, 11039, 11228, 11417, 11605, 11793, 11980, 12167, 12353, 12539,
	12725, 12910, 13094, 13279, 13462, 13645, 13828, 14010, 14191, 14372,
	14553, 14732, 14912, 15090, 15269, 15446, 15623, 15800, 15976, 16151,
	16325, 16499, 16673, 16846, 17018, 17189, 17360, 17530, 17700, 17869,
	18037, 18204, 18371, 18537, 18703, 18868, 19032, 19195, 19357, 19519,
	19680, 19841, 20000, 20159, 20317, 20475, 20631, 20787, 20942, 21096,
	21250, 21403, 21554, 21705, 21856, 22005, 22154, 22301, 22448, 22594,
	22739, 22884, 23027, 23170, 23311, 23452, 23592, 23731, 23870, 24007,
	24143, 24279, 24413, 24547, 24680, 24811, 24942, 25072, 25201, 25329,
	25456, 25582, 25708, 25832, 25955, 26077, 26198, 26319, 26438, 26556,
	26674, 26790, 26905, 27019, 27133, 27245, 27356, 27466, 27575, 27683,
	27790, 27896, 28001, 28105, 28208, 28310, 28411, 28510, 28609, 28706,
	28803, 28898, 28992, 29085, 29177, 29268, 29358, 29447, 29534, 29621,
	29706, 29791, 29874, 29956, 30037, 30117, 30195, 30273, 30349, 30424,
	30498, 30571, 30643, 30714, 30783, 30852, 30919, 30985, 31050, 31113,
	31176, 31237, 31297, 31356, 31414, 31470, 31526, 31580, 31633, 31685,
	31736, 31785, 31833, 31880, 31926, 31971, 32014, 32057, 32098, 32137,
	32176, 32213, 32250, 32285, 32318, 32351, 32382, 32412, 32441, 32469,
	32495, 32521, 32545, 32567, 32589, 32609, 32628, 32646, 32663, 32678,
	32692, 32705, 32717, 32728, 32737, 32745, 32752, 32757, 32761, 32765,
	32766, 32767,
};

/* round(256 * log2(1 + i / 64)) */
static const u8 mcai_vib_log_frac[64] = {
	0, 6, 11, 17, 22, 28, 33, 38, 44, 49, 54, 59, 63, 68, 73, 78, 82, 87,
	92, 96, 100, 105, 109, 113, 118, 122, 126, 130, 134, 138, 142, 146,
	150, 154, 157, 161, 165, 169, 172, 176, 179, 183, 186, 190, 193, 197,
	200, 203, 207, 210, 213, 216, 220, 223, 226, 229, 232, 235, 238, 241,
	244, 247, 250, 253,
};

s32 mcai_vib_sin_q15(u32 phase)
{
	u32 idx = phase >> 22;			/* 1024 steps per turn */
	u32 i = idx & 255;
	s32 v;

	switch (idx >> 8) {
	case 0:
		v = mcai_vib_qsin[i];
		break;
	case 1:
		v = mcai_vib_qsin[256 - i];
		break;
	case 2:
		v = -mcai_vib_qsin[i];
		break;
	default:
		v = -mcai_vib_qsin[256 - i];
		break;
	}
	return v;
}

static u32 mcai_vib_msb(u64 x)
{
	u32 r = 0;

	if (x >> 32) {
		x >>= 32;
		r += 32;
	}
	if (x >> 16) {
		x >>= 16;
		r += 16;
	}
	if (x >> 8) {
		x >>= 8;
		r += 8;
	}
	if (x >> 4) {
		x >>= 4;
		r += 4;
	}
	if (x >> 2) {
		x >>= 2;
		r += 2;
	}
	if (x >> 1)
		r += 1;
	return r;
}

s32 mcai_vib_log2_q8(u64 x)
{
	u32 msb, idx;

	if (!x)
		return 0;
	msb = mcai_vib_msb(x);
	if (msb >= 6)
		idx = (u32)(x >> (msb - 6)) & 63;
	else
		idx = (u32)(x << (6 - msb)) & 63;
	return (s32)(256 * msb + mcai_vib_log_frac[idx]);
}

u32 mcai_vib_auto_window(u32 fs)
{
	u64 target = (u64)fs * 4 / 25;		/* 160 ms */
	u64 p = MCAI_VIB_MIN_WINDOW;

	while (p < MCAI_VIB_MAX_WINDOW && 2 * p <= target)
		p *= 2;
	/* nearest in the log sense: 2p when target > p * sqrt(2) */
	if (p < MCAI_VIB_MAX_WINDOW && target * target > 2 * p * p)
		p *= 2;
	return (u32)p;
}

/* floor(v / 2^sh) without relying on the sign of a shifted value */
static s32 mcai_vib_floor_div(s32 v, u32 sh)
{
	if (v >= 0)
		return v >> sh;
	return -(s32)((((u32)-v) + (1U << sh) - 1) >> sh);
}

static s8 mcai_vib_q(s32 v)
{
	if (v < -128)
		return -128;
	if (v > 127)
		return 127;
	return (s8)v;
}

/* log2(a) in Q8 -> feature at 8 steps per octave */
static s8 mcai_vib_feat(s32 l2q8)
{
	return mcai_vib_q(mcai_vib_floor_div(l2q8 + 16, 5) - MCAI_VIB_FEAT_OFF);
}

static u64 mcai_vib_abs64(s64 v)
{
	return v < 0 ? (u64)-v : (u64)v;
}

/*
 * Largest DFT magnitude of v[MCAI_VIB_DEC] over bins whose frequency
 * b * fs / n lies in [lo, hi) Hz, as log2 Q8 of the tone amplitude in
 * mg; S32_MIN when the band holds no bin.  |X| by the alpha-max-beta-min
 * approximation max + 3/8 min (within 7%, 0.1 octave).
 */
static s32 mcai_vib_band(const s32 *v, u32 n, u32 log2n, u32 fs, u32 lo,
			 u32 hi)
{
	u64 best = 0;
	bool any = false;
	u32 b, m;

	for (b = 1; b < MCAI_VIB_DEC / 2; b++) {
		u64 f_n = (u64)b * fs;		/* frequency * n */
		s64 re = 0, im = 0;
		u64 a, c, mag;

		if (f_n < (u64)lo * n)
			continue;
		if (f_n >= (u64)hi * n)
			break;
		any = true;
		for (m = 0; m < MCAI_VIB_DEC; m++) {
			u32 ph = (u32)(b * m) << 25;	/* 2^32 / 128 */

			re += (s64)v[m] * mcai_vib_sin_q15(ph + (1U << 30));
			im += (s64)v[m] * mcai_vib_sin_q15(ph);
		}
		a = mcai_vib_abs64(re);
		c = mcai_vib_abs64(im);
		mag = a > c ? a + (3 * c >> 3) : c + (3 * a >> 3);
		if (mag > best)
			best = mag;
	}
	if (!any || !best)
		return S32_MIN;
	/* a tone of amplitude A gives |X| = A * n * 2^14 */
	return mcai_vib_log2_q8(best) - 256 * (s32)(log2n + 14);
}

static s8 mcai_vib_band_feat(s32 l2q8)
{
	return l2q8 == S32_MIN ? -128 : mcai_vib_feat(l2q8);
}

int mcai_vib_features(const s16 *xyz, u32 n, u32 fs,
		      struct mcai_vib_scratch *s, s8 *out)
{
	static const u16 env_lo[8] = { 0, 25, 50, 75, 100, 125, 150, 175 };
	u32 log2n, blk, a, i, m, j;

	if (n < MCAI_VIB_MIN_WINDOW || n > MCAI_VIB_MAX_WINDOW || (n & (n - 1)))
		return -1;
	if (fs < 1000 || fs > 102400)
		return -1;
	log2n = mcai_vib_msb(n);
	blk = n / MCAI_VIB_DEC;

	for (a = 0; a < MCAI_VIB_AXES; a++) {
		s8 *f = out + a * MCAI_VIB_PER_AXIS;
		s64 sum = 0, mean;
		u64 sumsq = 0, dsq = 0, var_n2, peak = 0, m2 = 0, m4 = 0;
		u32 sh, esh;
		s32 prev = xyz[a], dprev, dcur;

		for (i = 0; i < n; i++) {
			s32 x = xyz[3 * i + a];

			sum += x;
			sumsq += (u64)((s64)x * x);
		}
		mean = sum >= 0 ? sum >> log2n : -(s64)((u64)(-sum) >> log2n);
		/* n^2 var = n sum x^2 - (sum x)^2 */
		var_n2 = (sumsq << log2n) - (u64)(sum * sum);
		for (i = 0; i < n; i++) {
			u64 d = mcai_vib_abs64(xyz[3 * i + a] - mean);

			if (d > peak)
				peak = d;
		}
		/* fourth moment with d^2 scaled below 2^24: no overflow */
		sh = 2 * (mcai_vib_msb(peak) + 1);
		esh = sh + 1 > 24 ? sh + 1 - 24 : 0;	/* |psi| <= 2 peak^2 */
		sh = sh > 24 ? sh - 24 : 0;
		i = 0;
		dprev = xyz[a] - (s32)mean;
		dcur = dprev;
		for (m = 0; m < MCAI_VIB_DEC; m++) {
			s32 lo = 0, env = 0;

			for (j = 0; j < blk; j++, i++) {
				s32 x = xyz[3 * i + a];
				s32 dd = x - prev;
				s32 dnext = i + 1 < n ?
					xyz[3 * (i + 1) + a] - (s32)mean : dcur;
				u64 y = mcai_vib_abs64(dcur);
				s64 psi;

				y = (y * y) >> sh;
				m2 += y;
				m4 += y * y;
				dsq += (u64)((s64)dd * dd);
				lo += x;
				/* Teager-Kaiser energy: A^2 sin^2(w) for a tone */
				psi = (s64)dcur * dcur - (s64)dprev * dnext;
				env += (s32)(psi >= 0 ? psi >> esh : -((-psi) >> esh));
				prev = x;
				dprev = dcur;
				dcur = dnext;
			}
			s->low[m] = lo;
			s->env[m] = env;
		}

		f[0] = mcai_vib_feat(mcai_vib_log2_q8(var_n2) / 2 -
				     256 * (s32)log2n);
		f[1] = mcai_vib_feat(mcai_vib_log2_q8(peak));
		/* kurtosis n m4 / m2^2 at 16 steps per octave */
		if (m2)
			f[2] = mcai_vib_q(mcai_vib_floor_div(256 * (s32)log2n +
					mcai_vib_log2_q8(m4) -
					2 * mcai_vib_log2_q8(m2) + 8, 4) -
					MCAI_VIB_FEAT_OFF);
		else
			f[2] = -128;
		f[3] = mcai_vib_feat(mcai_vib_log2_q8(dsq) / 2 -
				     128 * (s32)log2n);
		f[4] = mcai_vib_band_feat(mcai_vib_band(s->low, n, log2n, fs,
							15, 40));
		f[5] = mcai_vib_band_feat(mcai_vib_band(s->low, n, log2n, fs,
							40, 70));
		/* a line of the energy envelope, as sqrt(mg^2) */
		for (j = 0; j < 8; j++) {
			s32 l2 = mcai_vib_band(s->env, n, log2n, fs, env_lo[j],
					       env_lo[j] + 25);

			if (l2 != S32_MIN)
				l2 = mcai_vib_floor_div(l2 + 256 * (s32)esh, 1);
			f[6 + j] = mcai_vib_band_feat(l2);
		}
	}
	return 0;
}
