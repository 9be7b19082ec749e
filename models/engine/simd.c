// SPDX-License-Identifier: GPL-2.0
/*
 * The SIMD dispatch (which path runs, chosen once) and the packing of
 * weights at load (simd.h describes both).  Plain C, built like the rest
 * of the engine: only the per-ISA objects are compiled with vector flags.
 */
#include "models/engine/simd.h"
#include "models/engine/port_simd.h"

static const char *const mcai_simd_names[MCAI_SIMD_NR_PATHS] = {
	[MCAI_SIMD_OFF] = "off",
	[MCAI_SIMD_AVX2] = "avx2",
	[MCAI_SIMD_AVX512VNNI] = "avx512vnni",
	[MCAI_SIMD_AVXVNNI] = "avxvnni",
	[MCAI_SIMD_NEON] = "neon",
	[MCAI_SIMD_DOTPROD] = "dotprod",
};

/* -1 until chosen: the first user then gets the best path. */
static int mcai_simd_path_now = -1;

#ifndef __KERNEL__
/* mcai_simd_stand_in()'s: kernels run as a path the CPU lacks. */
static const struct mcai_simd_isa *mcai_simd_stand_ins[MCAI_SIMD_NR_PATHS];

void mcai_simd_stand_in(enum mcai_simd_path path,
			const struct mcai_simd_isa *isa)
{
	if ((unsigned int)path >= MCAI_SIMD_NR_PATHS || path == MCAI_SIMD_OFF)
		return;
	mcai_simd_stand_ins[path] = isa;
	/* gone while active: the CPU may lack the path's own kernels */
	if (!isa && mcai_simd_path_now == (int)path &&
	    !mcai_simd_supported(path))
		mcai_simd_path_now = MCAI_SIMD_OFF;
}
#endif

const char *mcai_simd_name(enum mcai_simd_path path)
{
	if ((unsigned int)path >= MCAI_SIMD_NR_PATHS)
		return NULL;
	return mcai_simd_names[path];
}

int mcai_simd_parse(const char *name)
{
	int i;

	if (!name || !*name || !strcmp(name, "auto"))
		return (int)mcai_simd_best();
	for (i = 0; i < MCAI_SIMD_NR_PATHS; i++)
		if (!strcmp(name, mcai_simd_names[i]))
			return i;
	return -1;
}

bool mcai_simd_supported(enum mcai_simd_path path)
{
#ifndef __KERNEL__
	if ((unsigned int)path < MCAI_SIMD_NR_PATHS &&
	    mcai_simd_stand_ins[path])
		return true;
#endif
	switch (path) {
	case MCAI_SIMD_OFF:
		return true;
#ifdef __x86_64__
	case MCAI_SIMD_AVX2:
		return mcai_cpu_avx2();
	case MCAI_SIMD_AVX512VNNI:
		return mcai_cpu_avx512vnni();
	case MCAI_SIMD_AVXVNNI:
		return mcai_cpu_avxvnni();
#endif
#ifdef __aarch64__
	case MCAI_SIMD_NEON:
		return mcai_cpu_neon();
	case MCAI_SIMD_DOTPROD:
		return mcai_cpu_dotprod();
#endif
	default:
		return false;
	}
}

/* VNNI does 4 MACs where AVX2 does 2; AVX-512's zmm twice AVX-VNNI's ymm. */
enum mcai_simd_path mcai_simd_best(void)
{
	if (mcai_simd_supported(MCAI_SIMD_AVX512VNNI))
		return MCAI_SIMD_AVX512VNNI;
	if (mcai_simd_supported(MCAI_SIMD_AVXVNNI))
		return MCAI_SIMD_AVXVNNI;
	if (mcai_simd_supported(MCAI_SIMD_AVX2))
		return MCAI_SIMD_AVX2;
	/* arm64: SDOT does 4 MACs a lane where NEON's smull/smlal do 2 */
	if (mcai_simd_supported(MCAI_SIMD_DOTPROD))
		return MCAI_SIMD_DOTPROD;
	if (mcai_simd_supported(MCAI_SIMD_NEON))
		return MCAI_SIMD_NEON;
	return MCAI_SIMD_OFF;
}

int mcai_simd_set(enum mcai_simd_path path)
{
	if ((unsigned int)path >= MCAI_SIMD_NR_PATHS ||
	    !mcai_simd_supported(path))
		return -1;
	mcai_simd_path_now = (int)path;
	return 0;
}

int mcai_simd_select(const char *name)
{
	int path = mcai_simd_parse(name);

	return path < 0 ? -1 : mcai_simd_set((enum mcai_simd_path)path);
}

enum mcai_simd_path mcai_simd_active(void)
{
	if (mcai_simd_path_now < 0)
		mcai_simd_path_now = (int)mcai_simd_best();
	return (enum mcai_simd_path)mcai_simd_path_now;
}

/* The kernels of @path, NULL for the scalar path. */
static const struct mcai_simd_isa *mcai_simd_isa_of(u8 path)
{
#ifndef __KERNEL__
	if (path < MCAI_SIMD_NR_PATHS && mcai_simd_stand_ins[path])
		return mcai_simd_stand_ins[path];
#endif
	switch (path) {
#ifdef __x86_64__
	case MCAI_SIMD_AVX2:
		return &mcai_simd_avx2;
	case MCAI_SIMD_AVX512VNNI:
		return &mcai_simd_avx512vnni;
	case MCAI_SIMD_AVXVNNI:
		return &mcai_simd_avxvnni;
#endif
#ifdef __aarch64__
	case MCAI_SIMD_NEON:
		return &mcai_simd_neon;
	case MCAI_SIMD_DOTPROD:
		return &mcai_simd_dotprod;
#endif
	default:
		return NULL;
	}
}

const struct mcai_simd_isa *mcai_simd_isa_active(void)
{
	return mcai_simd_isa_of((u8)mcai_simd_active());
}

#define MCAI_ALIGN8(x)	(((x) + 7) & ~7ULL)

u64 mcai_simd_pack_bytes_for(u32 n, u32 k)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_of((u8)mcai_simd_active());
	u64 kp;

	if (!isa)
		return 0;
	kp = ((u64)k + isa->kr - 1) / isa->kr * isa->kr;
	return MCAI_ALIGN8(4ULL * n) + MCAI_ALIGN8((u64)n * kp +
						   MCAI_SIMD_SLACK);
}

/*
 * Channel c's taps in panel order: the panel of nr channels from the
 * group's start that holds c, r channels wide, taps kr at a time.
 */
u32 mcai_simd_pack(struct mcai_pack *pk, const s8 *w, u32 n, u32 k,
		   u32 groups, s32 in_zp, void *mem, u32 room)
{
	u8 path = (u8)mcai_simd_active();
	const struct mcai_simd_isa *isa = mcai_simd_isa_of(path);
	u64 need = mcai_simd_pack_bytes_for(n, k);
	u32 kr, nr, kp, ocg, c, g;
	s32 *corr;
	s8 *dst;

	memset(pk, 0, sizeof(*pk));
	if (!isa || !need || need > room || !groups || n % groups)
		return 0;
	kr = isa->kr;
	nr = isa->nr;
	kp = (k + kr - 1) / kr * kr;
	ocg = n / groups;
	corr = mem;
	dst = (s8 *)mem + MCAI_ALIGN8(4ULL * n);
	memset(dst, 0, (size_t)n * kp + MCAI_SIMD_SLACK);
	for (g = 0; g < groups; g++) {
		u32 gend = (g + 1) * ocg;

		for (c = g * ocg; c < gend; c += nr) {
			u32 r = gend - c < nr ? gend - c : nr;
			s8 *panel = dst + (size_t)c * kp;
			u32 i, t;

			for (i = 0; i < r; i++) {
				const s8 *row = w + (size_t)(c + i) * k;
				s32 sum = 0;

				for (t = 0; t < k; t++) {
					panel[(size_t)(t / kr) * r * kr +
					      i * kr + t % kr] = row[t];
					sum += row[t];
				}
				/* |sum| <= 127 * 65536: the product fits */
				corr[c + i] = -(isa->off + in_zp) * sum;
			}
		}
	}
	pk->path = path;
	pk->nr = (u8)nr;
	pk->kr = (u8)kr;
	pk->n = n;
	pk->k = k;
	pk->kp = kp;
	pk->groups = groups;
	pk->corr = corr;
	pk->w = dst;
	return (u32)need;
}

bool mcai_simd_usable(const struct mcai_pack *pk)
{
	return pk && pk->path && pk->path == (u8)mcai_simd_active();
}

void mcai_simd_out8(const struct mcai_simd_outq *q, const s32 *acc, u32 n,
		    s8 *out)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	u32 i;

	if (isa && isa->out8) {
		isa->out8(q, acc, n, out);
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = mcai_op_out8(acc[i], q->bias ? q->bias[i] : 0,
				      q->mult[i], q->shift[i], q->out_zp, q->lo,
				      q->hi);
}

void mcai_simd_out8n(const struct mcai_simd_outq *q, const s32 *acc,
		     u32 astride, u32 np, u32 n, s8 *out, size_t ostride)
{
	const struct mcai_simd_isa *isa = mcai_simd_isa_active();
	u32 p;

	if (isa && isa->out8n) {
		isa->out8n(q, acc, astride, np, n, out, ostride);
		return;
	}
	for (p = 0; p < np; p++)
		mcai_simd_out8(q, acc + (size_t)p * astride, n,
			       out + (size_t)p * ostride);
}

bool mcai_simd_begin(void)
{
	if (!mcai_fpu_usable())
		return false;
	mcai_fpu_begin();
	return true;
}

void mcai_simd_end(void)
{
	mcai_fpu_end();
}

void mcai_simd_tick(u32 *section_macs, u32 macs, u32 outs)
{
	*section_macs += macs + outs * MCAI_SIMD_OUT_COST + MCAI_SIMD_CALL_COST;
	if (*section_macs < MCAI_SIMD_SECTION_MACS)
		return;
	mcai_fpu_end();
	mcai_yield();
	mcai_fpu_begin();
	*section_macs = 0;
}
