/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The second place where the kernel and user space differ, for the SIMD
 * kernels only: which vector extensions the CPU (and the OS) offer, and
 * how vector registers may be used.  Kept apart from port.h because
 * every engine file includes port.h, and these are architecture headers
 * (the FPU API, CPU features, the compiler's intrinsics) that only the
 * dispatch (simd.c) and the per-ISA objects need; an arm64 or 32-bit
 * build of the rest never sees them.
 *
 * Kernel: vector code runs between kernel_fpu_begin() and
 * kernel_fpu_end(), which disable preemption (on PREEMPT_RT too), so the
 * callers bound each section (simd.h); irq_fpu_usable() says whether
 * the context may use the FPU at all.  User space: the registers are the
 * process's own, nothing to save.
 *
 * Intrinsics: an object compiled with -mavx2 (or more) defines
 * MCAI_SIMD_INTRINSICS before including this file.  GCC's <immintrin.h>
 * includes <mm_malloc.h>, which includes <stdlib.h>: the kernel has no
 * such header.  Defining mm_malloc.h's include guard first makes that
 * include empty; nothing else in <immintrin.h> reaches libc, and the
 * SIMD objects never call _mm_malloc().  (kmod/Kbuild gives these
 * objects the compiler's header directory, which -nostdinc removes.)
 * sparse understands neither those headers nor GCC's vector builtins:
 * under __CHECKER__ it sees declarations of the intrinsics the kernels
 * use instead, and checks the kernels against them.
 */
#ifndef MCAI_PORT_SIMD_H
#define MCAI_PORT_SIMD_H

#include "models/engine/port.h"

#if defined(MCAI_SIMD_INTRINSICS) && defined(__x86_64__)
#ifndef __CHECKER__
#define _MM_MALLOC_H_INCLUDED
#include <immintrin.h>
#else
typedef struct { long long v[2]; } __m128i;
typedef struct { long long v[4]; } __m256i;
typedef struct { long long v[8]; } __m512i;
typedef unsigned short __mmask16;
typedef unsigned long long __mmask64;
__m128i _mm_loadu_si128(const __m128i *p);
__m128i _mm_set1_epi16(short v);
__m128i _mm_cvtsi64_si128(long long v);
__m256i _mm256_loadu_si256(const __m256i *p);
void _mm256_storeu_si256(__m256i *p, __m256i v);
__m256i _mm256_setzero_si256(void);
__m256i _mm256_set1_epi8(char v);
__m256i _mm256_set1_epi16(short v);
__m256i _mm256_set1_epi32(int v);
__m256i _mm256_add_epi32(__m256i a, __m256i b);
__m256i _mm256_sub_epi16(__m256i a, __m256i b);
__m256i _mm256_sub_epi32(__m256i a, __m256i b);
__m256i _mm256_xor_si256(__m256i a, __m256i b);
__m256i _mm256_madd_epi16(__m256i a, __m256i b);
__m256i _mm256_mullo_epi16(__m256i a, __m256i b);
__m256i _mm256_mullo_epi32(__m256i a, __m256i b);
__m256i _mm256_cvtepi8_epi16(__m128i a);
__m256i _mm256_cvtepi8_epi32(__m128i a);
__m256i _mm256_cvtepi16_epi32(__m128i a);
__m128i _mm256_castsi256_si128(__m256i a);
__m128i _mm256_extracti128_si256(__m256i a, const int i);
__m256i _mm256_dpbusd_avx_epi32(__m256i a, __m256i b, __m256i c);
__m512i _mm512_loadu_si512(const void *p);
void _mm512_storeu_si512(void *p, __m512i v);
__m512i _mm512_set1_epi8(char v);
__m512i _mm512_set1_epi32(int v);
__m512i _mm512_xor_si512(__m512i a, __m512i b);
__m512i _mm512_maskz_loadu_epi8(__mmask64 m, const void *p);
void _mm512_mask_storeu_epi8(void *p, __mmask64 m, __m512i v);
__m512i _mm512_maskz_loadu_epi32(__mmask16 m, const void *p);
void _mm512_mask_storeu_epi32(void *p, __mmask16 m, __m512i v);
__m512i _mm512_dpbusd_epi32(__m512i a, __m512i b, __m512i c);
/* the output stage's */
__m128i _mm_packs_epi16(__m128i a, __m128i b);
__m128i _mm_packs_epi32(__m128i a, __m128i b);
void _mm_storel_epi64(__m128i *p, __m128i v);
__m256i _mm256_set1_epi64x(long long v);
__m256i _mm256_add_epi64(__m256i a, __m256i b);
__m256i _mm256_and_si256(__m256i a, __m256i b);
__m256i _mm256_blend_epi32(__m256i a, __m256i b, const int m);
__m256i _mm256_andnot_si256(__m256i a, __m256i b);
__m256i _mm256_or_si256(__m256i a, __m256i b);
__m256i _mm256_cmpeq_epi32(__m256i a, __m256i b);
__m256i _mm256_cmpgt_epi32(__m256i a, __m256i b);
__m256i _mm256_max_epi16(__m256i a, __m256i b);
__m256i _mm256_min_epi16(__m256i a, __m256i b);
void _mm_storeu_si128(__m128i *p, __m128i v);
__m256i _mm256_max_epi32(__m256i a, __m256i b);
__m256i _mm256_min_epi32(__m256i a, __m256i b);
__m256i _mm256_mul_epi32(__m256i a, __m256i b);
__m256i _mm256_slli_epi64(__m256i a, int n);
__m256i _mm256_sllv_epi32(__m256i a, __m256i n);
__m256i _mm256_srai_epi32(__m256i a, int n);
__m256i _mm256_srav_epi32(__m256i a, __m256i n);
__m256i _mm256_srli_epi32(__m256i a, int n);
__m256i _mm256_srli_epi64(__m256i a, int n);
__m512i _mm512_setzero_si512(void);
__m512i _mm512_set1_epi64(long long v);
__m512i _mm512_add_epi32(__m512i a, __m512i b);
__m512i _mm512_add_epi64(__m512i a, __m512i b);
__m512i _mm512_sub_epi32(__m512i a, __m512i b);
__m512i _mm512_and_si512(__m512i a, __m512i b);
__m512i _mm512_max_epi32(__m512i a, __m512i b);
__m512i _mm512_min_epi32(__m512i a, __m512i b);
__m512i _mm512_mul_epi32(__m512i a, __m512i b);
__m512i _mm512_slli_epi64(__m512i a, unsigned int n);
__m512i _mm512_sllv_epi32(__m512i a, __m512i n);
__m512i _mm512_srai_epi32(__m512i a, unsigned int n);
__m512i _mm512_srav_epi32(__m512i a, __m512i n);
__m512i _mm512_srli_epi32(__m512i a, unsigned int n);
__m512i _mm512_srli_epi64(__m512i a, unsigned int n);
__mmask16 _mm512_cmpeq_epi32_mask(__m512i a, __m512i b);
__mmask16 _mm512_cmpgt_epi32_mask(__m512i a, __m512i b);
__mmask16 _mm512_cmplt_epi32_mask(__m512i a, __m512i b);
__m512i _mm512_mask_add_epi32(__m512i s, __mmask16 m, __m512i a,
			      __m512i b);
__m512i _mm512_mask_blend_epi32(__mmask16 m, __m512i a, __m512i b);
__m512i _mm512_mask_mov_epi32(__m512i s, __mmask16 m, __m512i a);
void _mm512_mask_cvtepi32_storeu_epi8(void *p, __mmask16 m, __m512i v);
/* the output stage of several pixels */
int _mm256_testz_si256(__m256i a, __m256i b);
__mmask16 _mm512_test_epi32_mask(__m512i a, __m512i b);
unsigned long long _bzhi_u64(unsigned long long a, unsigned int n);
#endif
#endif

/*
 * arm64: the objects built with NEON allowed (kmod/Kbuild takes away the
 * kernel's -mgeneral-regs-only for them and adds -ffreestanding and the
 * compiler's header directory) get <arm_neon.h>, in the kernel through
 * <asm/neon-intrinsics.h>, which makes its int64_t the kernel's s64.
 */
#if defined(MCAI_SIMD_INTRINSICS) && defined(__aarch64__)
#ifdef __KERNEL__
#include <asm/neon-intrinsics.h>
#else
#include <arm_neon.h>
#endif
#endif

#ifdef __KERNEL__
#ifdef CONFIG_X86_64
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>

static inline bool mcai_cpu_ymm(void)
{
	return cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM, NULL);
}

static inline bool mcai_cpu_zmm(void)
{
	return cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM |
				 XFEATURE_MASK_AVX512, NULL);
}

static inline bool mcai_cpu_avx2(void)
{
	return boot_cpu_has(X86_FEATURE_AVX2) && mcai_cpu_ymm();
}

static inline bool mcai_cpu_avx512vnni(void)
{
	return mcai_cpu_avx2() && boot_cpu_has(X86_FEATURE_AVX512F) &&
	       boot_cpu_has(X86_FEATURE_AVX512BW) &&
	       boot_cpu_has(X86_FEATURE_AVX512VL) &&
	       boot_cpu_has(X86_FEATURE_AVX512_VNNI) && mcai_cpu_zmm();
}

static inline bool mcai_cpu_avxvnni(void)
{
	return mcai_cpu_avx2() && boot_cpu_has(X86_FEATURE_AVX_VNNI);
}

/* Softirq or hard IRQ that interrupted FPU use: scalar then. */
static inline bool mcai_fpu_usable(void)
{
	return irq_fpu_usable();
}

static inline void mcai_fpu_begin(void)
{
	kernel_fpu_begin();
}

static inline void mcai_fpu_end(void)
{
	kernel_fpu_end();
}
#elif defined(CONFIG_ARM64)
#include <asm/cpufeature.h>
#include <asm/neon.h>
#include <asm/simd.h>

/* The hwcaps user space sees as "asimd" and "asimddp" in /proc/cpuinfo. */
static inline bool mcai_cpu_neon(void)
{
	return cpu_have_named_feature(ASIMD);
}

static inline bool mcai_cpu_dotprod(void)
{
	return mcai_cpu_neon() && cpu_have_named_feature(ASIMDDP);
}

/*
 * NEON in softirq or hard IRQ context (or where the task's state cannot
 * be saved): may_use_simd() says no and the scalar kernels run.
 */
static inline bool mcai_fpu_usable(void)
{
	return may_use_simd();
}

static inline void mcai_fpu_begin(void)
{
	kernel_neon_begin();
}

static inline void mcai_fpu_end(void)
{
	kernel_neon_end();
}
#else /* neither x86-64 nor arm64: scalar only */
static inline bool mcai_cpu_avx2(void) { return false; }
static inline bool mcai_cpu_avx512vnni(void) { return false; }
static inline bool mcai_cpu_avxvnni(void) { return false; }
static inline bool mcai_fpu_usable(void) { return false; }
static inline void mcai_fpu_begin(void) { }
static inline void mcai_fpu_end(void) { }
#endif
#else /* user space */
#ifdef __x86_64__
#include <cpuid.h>

/* libgcc's checks include the OS's (XCR0) support for the registers. */
static inline bool mcai_cpu_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}

static inline bool mcai_cpu_avx512vnni(void)
{
	return mcai_cpu_avx2() && __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx512vnni");
}

/*
 * CPUID.(7, 1):EAX[4]: clang 14 knows no "avxvnni" for
 * __builtin_cpu_supports(); the OS's part is AVX2's (ymm state).
 */
static inline bool mcai_cpu_avxvnni(void)
{
	unsigned int a, b, c, d;

	if (!mcai_cpu_avx2() || !__get_cpuid_count(7, 1, &a, &b, &c, &d))
		return false;
	return a & (1U << 4);
}
#elif defined(__aarch64__)
#include <sys/auxv.h>

/* The kernel's hwcaps: it saves the registers, so they are usable. */
static inline bool mcai_cpu_neon(void)
{
	return getauxval(AT_HWCAP) & HWCAP_ASIMD;
}

static inline bool mcai_cpu_dotprod(void)
{
	return mcai_cpu_neon() && (getauxval(AT_HWCAP) & HWCAP_ASIMDDP);
}
#else
static inline bool mcai_cpu_avx2(void) { return false; }
static inline bool mcai_cpu_avx512vnni(void) { return false; }
static inline bool mcai_cpu_avxvnni(void) { return false; }
#endif
static inline bool mcai_fpu_usable(void) { return true; }
#ifdef MCAI_FPU_SECTION_HOOK
/*
 * The FPU-section benchmark's build of simd.c only (tests/bench/
 * fpu_section_bench.c defines these): every section's begin and end,
 * where the kernel calls kernel_fpu_begin() and kernel_fpu_end(), so
 * that each section of the same engine code is timed in user space.
 */
void mcai_fpu_section_begin(void);
void mcai_fpu_section_end(void);
static inline void mcai_fpu_begin(void) { mcai_fpu_section_begin(); }
static inline void mcai_fpu_end(void) { mcai_fpu_section_end(); }
#else
static inline void mcai_fpu_begin(void) { }
static inline void mcai_fpu_end(void) { }
#endif
#endif

#endif /* MCAI_PORT_SIMD_H */
