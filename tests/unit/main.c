// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test runner: every suite of tests/unit in one Check runner, built
 * with ASan + UBSan (LeakSanitizer included).  Each test runs in a forked
 * child (Check's default), so a crash or a leak fails that test alone.
 * CK_RUN_SUITE=verify / CK_RUN_CASE=... select a part, as usual with Check.
 */
#include <stdlib.h>

#include "tests/unit/unit.h"

int main(void)
{
	SRunner *sr = srunner_create(requant_suite());
	int failed;

	srunner_add_suite(sr, engine_suite());
	srunner_add_suite(sr, import_suite());
	srunner_add_suite(sr, tensorfile_suite());
	srunner_add_suite(sr, verify_suite());
	srunner_add_suite(sr, writer_suite());
	srunner_add_suite(sr, sha256_suite());
	srunner_add_suite(sr, quant_suite());
	srunner_add_suite(sr, telemetry_suite());
	srunner_add_suite(sr, mlp_suite());
	srunner_add_suite(sr, strategy_suite());
	srunner_add_suite(sr, proto_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, secagg_suite());
	srunner_add_suite(sr, secagg_signed_suite());
	srunner_add_suite(sr, dp_suite());
	srunner_add_suite(sr, provenance_suite());
	srunner_add_suite(sr, anomaly_suite());
	srunner_add_suite(sr, drift_suite());
	srunner_add_suite(sr, escalate_suite());
	srunner_add_suite(sr, fedsim_suite());
	srunner_add_suite(sr, samples_suite());
	srunner_add_suite(sr, fedmlp_suite());
	srunner_add_suite(sr, adamstate_suite());
	srunner_add_suite(sr, compress_suite());
	srunner_add_suite(sr, personal_suite());
	srunner_add_suite(sr, fedhead_suite());
	srunner_add_suite(sr, op_conv_suite());
	srunner_add_suite(sr, op_pool_suite());
	srunner_add_suite(sr, op_elementwise_suite());
	srunner_add_suite(sr, op_reduce_suite());
	srunner_add_suite(sr, op_softmax_suite());
	srunner_add_suite(sr, op_activation_suite());
	srunner_add_suite(sr, op_head_suite());
	srunner_add_suite(sr, op_tree_suite());
	srunner_add_suite(sr, graph_suite());
	srunner_add_suite(sr, simd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
