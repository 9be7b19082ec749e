// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for signed model manifests (runtime/fed/provenance.c), the
 * bytes a node receives next to every model version.  The decoder must
 * refuse with a reason or produce a manifest that passes the encoder's
 * own rules; signature checking against an empty trust store must refuse
 * without crashing.  Seeds: tests/fuzz/corpus-manifest (made by
 * `mcaictl sign`).
 */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/fed/provenance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcai_prov_trust *trust;
	struct mcai_prov_manifest m;
	const char *why = NULL;
	char err[256];

	if (!trust && mcai_prov_trust_new(&trust))
		abort();
	if (mcai_prov_decode(data, size, &m, &why)) {
		if (!why || !*why)
			abort();	/* every refusal has a reason */
		return 0;
	}
	/* what decodes could have been encoded */
	if (mcai_prov_manifest_check(&m, &why))
		abort();
	/* nobody is trusted: a valid structure still does not verify */
	if (!mcai_prov_verify(trust, data, size, &m, err, sizeof(err)))
		abort();
	return 0;
}
