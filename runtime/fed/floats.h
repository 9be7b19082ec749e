/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two passes over an update's floats that every update pays: is every
 * value finite, and acc += w * delta.  mcaid builds at -O2, where GCC
 * vectorises no loop of unknown length; these are written with GCC's
 * vector extensions (clang has them too) so they run a vector at a time
 * on any target, with the same result, value for value, as the scalar
 * loops they replace: no sum is reordered.
 */
#ifndef MCAI_FLOATS_H
#define MCAI_FLOATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint32_t mcai_v4u __attribute__((vector_size(16)));
typedef float mcai_v4f __attribute__((vector_size(16)));
typedef double mcai_v4d __attribute__((vector_size(32)));

#define MCAI_F32_EXP	0x7f800000u	/* all ones: an infinity or a NaN */

/*
 * Whether the @n IEEE-754 single floats at @p, in host byte order, are all
 * finite.  Branch-free over the data, so it costs the same whatever it
 * finds; callers that must say where the bad value is look again.
 */
static inline bool mcai_floats_finite(const void *p, size_t n)
{
	const mcai_v4u m = { MCAI_F32_EXP, MCAI_F32_EXP, MCAI_F32_EXP,
			     MCAI_F32_EXP };
	const uint8_t *b = p;
	mcai_v4u bad = { 0, 0, 0, 0 };
	uint32_t tail = 0, w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		mcai_v4u x, y;

		memcpy(&x, b + 4 * i, sizeof(x));
		memcpy(&y, b + 4 * i + 16, sizeof(y));
		bad |= (mcai_v4u)((x & m) == m) | (mcai_v4u)((y & m) == m);
	}
	for (; i < n; i++) {
		memcpy(&w, b + 4 * i, sizeof(w));
		tail |= (w & MCAI_F32_EXP) == MCAI_F32_EXP;
	}
	return !(tail | bad[0] | bad[1] | bad[2] | bad[3]);
}

/* acc[i] += w * d[i], in double, as the plain loop computes it. */
static inline void mcai_fold_f32(double *restrict acc, const float *restrict d,
				 double w, size_t n)
{
	const mcai_v4d wv = { w, w, w, w };
	size_t i;

	for (i = 0; i + 4 <= n; i += 4) {
		mcai_v4f x;
		mcai_v4d a;

		memcpy(&x, d + i, sizeof(x));
		memcpy(&a, acc + i, sizeof(a));
		a += wv * __builtin_convertvector(x, mcai_v4d);
		memcpy(acc + i, &a, sizeof(a));
	}
	for (; i < n; i++)
		acc[i] += w * d[i];
}

#endif /* MCAI_FLOATS_H */
