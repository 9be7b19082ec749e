#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mcai-matrix: 6.12-rt
#
# The drift loop driven by mcai_simsensor's regime knob, end to end in
# the guest (tests/fed/guest-sensor-drift.sh): the sensor feeds the
# shipped vib-classifier and mirrors every window; a node labels them
# with the simulator's ground truth, trains on them in a federation
# seeded with the classifier; the regime shifts (regime_gain_pct), the
# drift alarm asks for a round, the node trains on the new regime's
# windows, and the new version, hot swapped under the running sensor,
# brings the drift score back under the threshold.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
CTL=$R/build/mcaictl
N=75-sensor-drift-loop

for f in "$KO" "$SIM" "$CTL" "$R/build/mcaid" "$R/models/vib-classifier.mcai"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
rc=0
"$CTL" load "$R/models/vib-classifier.mcai" > /dev/null || { echo "$N: FAIL: load"; rc=1; }
if ((rc == 0)); then
	insmod "$SIM" rate=25600 model=vib-classifier fault=0 mirror=1 ||
		{ echo "$N: FAIL: insmod mcai_simsensor"; rc=1; }
fi
if ((rc == 0)); then
	t0=$SECONDS
	SIM_PARAMS=/sys/module/mcai_simsensor/parameters \
		MCAID=$R/build/mcaid bash "$R/tests/fed/guest-sensor-drift.sh"
	rc=$?
	echo "$N: the loop took $((SECONDS - t0)) s"
	((rc == 0 || rc == 77)) || rc=1
fi
grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
# the daemons' eBPF telemetry (pinned) holds the module
"$CTL" telemetry disable --purge > /dev/null 2>&1
"$CTL" unload vib-classifier > /dev/null 2>&1
live_zero "after the test" || rc=1
rmmod mcai || { echo "$N: FAIL: rmmod"; rc=1; }
((rc)) || echo "$N: all checks passed"
exit "$rc"
