// SPDX-License-Identifier: GPL-2.0
/*
 * The MLPerf Tiny anomaly-detection autoencoder, trained on the
 * simulated vibration sensor: not built yet.
 */
#include "models/train/cli.h"
#include "models/train/mlperf.h"

void mcai_zoo_build_ad(const char *dir)
{
	(void)dir;
	mcai_die("ad-autoencoder: not built yet");
}
