#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mcai-matrix: 6.12
#
# The drift loop end to end in the guest (tests/fed/guest-drift.sh): a
# signed version carrying its training statistics is installed into
# /dev/mcai by an unprivileged node, the inputs shift, the node's drift
# alarm asks the aggregator for a round, the aggregator's policy runs
# one on the new regime's data, and the new version (hot swapped in) brings
# the drift score back under the threshold.  Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=74-drift-loop

[[ -x $R/build/mcaid && -x $R/build/mcaictl ]] ||
	{ echo "$N: FAIL: build/mcaid or build/mcaictl missing"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

t0=$SECONDS
MCAID=$R/build/mcaid bash "$R/tests/fed/guest-drift.sh"
rc=$?
echo "$N: the loop took $((SECONDS - t0)) s"
((rc == 0 || rc == 77)) || rc=1
# the daemons' eBPF telemetry (pinned) holds the module
"$R/build/mcaictl" telemetry disable --purge > /dev/null 2>&1
"$R/build/mcaictl" unload fmnist > /dev/null 2>&1
live_zero "after the test" || rc=1
rmmod mcai || { echo "$N: FAIL: rmmod"; rc=1; }
((rc)) || echo "$N: all checks passed"
exit "$rc"
