// SPDX-License-Identifier: GPL-2.0
/*
 * Activations of one int8 by a 256-entry table: sigmoid, tanh,
 * hard-swish or any other function of one value.  With int8 in and out a
 * table is exact to one rounding of the real function, cheaper than any
 * fixed-point evaluation and the same on every CPU.  The table is built
 * offline (mcai_lut_build() in models/train/opquant.c, which needs libm).
 */
#include "models/engine/ops.h"

void mcai_lut(const s8 lut[256], const s8 *in, s8 *out, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = lut[in[i] + 128];
}

u64 mcai_lut_macs(size_t len)
{
	(void)len;	/* a look-up, not arithmetic */
	return 0;
}
