/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The model library is compiled into mcai.ko and into user space from one
 * source.  This header is the only place where the two worlds differ:
 * fixed-width integer types, little-endian loads, and yielding the CPU.
 */
#ifndef MCAI_PORT_H
#define MCAI_PORT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/limits.h>
#include <linux/sched.h>

#ifdef MCAI_ENGINE_NO_YIELD		/* the "before" of tests/bench/preempt */
#define mcai_yield()	do { } while (0)
#else
/*
 * A point between two ops where the engine lets the CPU go: every caller
 * of the engine in mcai.ko runs in process context (ioctls, the session
 * workers, the loader), so a big graph never holds a CPU for its whole
 * run and a high-priority worker gets in between two ops.
 */
#define mcai_yield()	cond_resched()
#endif
#else /* user space */
#include <stddef.h>
#include <string.h>
#include <stdbool.h>
#include <linux/types.h>

/* The kernel's short names, over the uapi types user space also has. */
typedef __u8 u8;
typedef __s8 s8;
typedef __u16 u16;
typedef __s16 s16;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef __s64 s64;

#define S32_MAX ((s32)0x7fffffff)
#define S32_MIN (-S32_MAX - 1)
#define U32_MAX ((u32)~0U)

#define mcai_yield()	do { } while (0)
#endif

/*
 * Byte-wise loads: correct on any endianness and alignment, and compilers
 * turn them into single loads where that is legal.  (Spelled out here
 * rather than using <asm/unaligned.h>, which moved between 6.1 and 6.12.)
 */
static inline u32 mcai_le32(const void *p)
{
	const u8 *b = p;

	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

static inline u64 mcai_le64(const void *p)
{
	const u8 *b = p;

	return (u64)mcai_le32(b) | (u64)mcai_le32(b + 4) << 32;
}

static inline s32 mcai_les32(const void *p)
{
	return (s32)mcai_le32(p);
}

static inline u16 mcai_le16(const void *p)
{
	const u8 *b = p;

	return (u16)(b[0] | b[1] << 8);
}

static inline void mcai_put_le32(void *p, u32 v)
{
	u8 *b = p;

	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
	b[2] = (u8)(v >> 16);
	b[3] = (u8)(v >> 24);
}

static inline void mcai_put_le64(void *p, u64 v)
{
	u8 *b = p;

	mcai_put_le32(b, (u32)v);
	mcai_put_le32(b + 4, (u32)(v >> 32));
}

static inline void mcai_put_le16(void *p, u16 v)
{
	u8 *b = p;

	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
}

#endif /* MCAI_PORT_H */
