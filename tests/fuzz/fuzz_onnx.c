// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the ONNX importer (models/import/) on hostile bytes —
 * truncations, huge dimensions, cycles, initialisers whose sizes lie —
 * and the .npy / TensorProto readers `mcaictl run` and `--calibrate`
 * use.  Every input must end in a blob or a refusal, never a crash, a
 * leak or a hang.  An accepted blob is verified again, as the kernel
 * would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/graph.h"
#include "models/engine/model.h"
#include "models/import/import.h"
#include "models/import/tensorfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcai_import_opts o = { .name = "fuzz", .version = 1 };
	struct mcai_import_result r;
	struct mcai_import_error err;
	struct mcai_tensor t;
	char msg[256];

	if (!mcai_import_onnx(data, size, &o, &r, &err)) {
		struct mcai_limits lim;
		struct mcai_verdict v;
		struct mcai_model m;
		u32 ss;
		void *state;

		mcai_limits_widest(&lim);
		if (mcai_model_state_size(r.blob, r.size, &lim, &ss, &v))
			abort();
		state = aligned_alloc(8, (ss + 7) & ~7U);
		if (!state || mcai_model_verify(&m, r.blob, r.size, &lim, state,
						ss, &v))
			abort();
		free(state);
		free(r.blob);
	} else if (err.code != MCAI_IMPORT_EUNSUPPORTED &&
		   err.code != MCAI_IMPORT_EMALFORMED) {
		/* out of memory is the only other answer, and not for us */
		if (err.code != MCAI_IMPORT_EIO)
			abort();
	}
	if (!mcai_tensor_parse_pb(&t, data, size, msg, sizeof(msg)))
		mcai_tensor_free(&t);
	if (!mcai_tensor_parse_npy(&t, data, size, msg, sizeof(msg)))
		mcai_tensor_free(&t);
	return 0;
}
