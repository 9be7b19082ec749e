// SPDX-License-Identifier: GPL-2.0
/*
 * Measured energy into the module's budgets (energyfeed.h).
 */
#include <string.h>

#include "runtime/daemon/energyfeed.h"

int mcai_energy_feed(struct mcai_dev *dev, const struct mcai_tel_model *m,
		     size_t n, bool dry_run, mcai_feed_cb cb, void *arg)
{
	int fed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		struct mcai_sel sel = { .id = m[i].model_id };
		struct mcai_model_info mi;
		uint32_t src;
		uint64_t mpj;

		if (!mcai_tel_mpj_per_mac(&m[i], &mpj, &src))
			continue;
		/* only the running version: its figure prices what follows */
		if (mcai_dev_model_info(dev, sel, &mi) ||
		    mi.version != m[i].version ||
		    strcmp(mi.ref.name, m[i].name))
			continue;
		if (!dry_run && mcai_dev_set_energy(dev, sel, src, mpj))
			return -1;
		if (cb)
			cb(arg, &m[i], mpj, src);
		fed++;
	}
	return fed;
}
