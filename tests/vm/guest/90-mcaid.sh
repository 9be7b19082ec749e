#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcaid in the guest (tests/fed/guest-install.sh): a federation of an
# aggregator and two nodes installs each round's version into /dev/mcai
# while mcai_simsensor.ko keeps classifying vibration windows; afterwards
# the sensor's counters add up with nothing dropped or shed (no result
# lost to the swaps), and the kernel log is clean.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
S=/sys/module/mcai_simsensor/parameters
N=90-mcaid

[[ -x $R/build/mcaid ]] || { echo "$N: FAIL: build/mcaid missing"; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

rc=0
"$CTL" load "$R/models/vib-detector.mcai" > /dev/null || rc=1
# mirror=4: the detector's windows feed node1's sample store (1 in 4)
insmod "$SIM" rate=6400 fault=1 mirror=4 || rc=1
if ((rc == 0)); then
	MCAID=$R/build/mcaid bash "$R/tests/fed/guest-install.sh"
	r=$?
	((r == 0 || r == 77)) || rc=1
	((r == 77)) && rc=77
fi

# paused and drained (sim_pause: tests/vm/lib.sh), then one read counts
if [[ -r $S/stats ]]; then
	sim_pause || { echo "$N: FAIL: the sensor did not go idle after run=0"; rc=1; }
	stat_of() { awk -v k="$1" '$1 == k { print $2 }' <<< "$SIM_STATS"; }
	sub=$(stat_of det_mcai_submitted) comp=$(stat_of det_mcai_completed)
	drop=$(stat_of det_mcai_dropped) shed=$(stat_of det_mcai_shed)
	echo "$N: sensor: submitted $sub completed $comp dropped $drop shed $shed"
	if [[ -z $sub || $sub != "$comp" || $drop != 0 || $shed != 0 ]]; then
		echo "$N: FAIL: sensor results lost during the swaps"
		rc=1
	fi
	((sub > 0)) || { echo "$N: FAIL: the sensor produced nothing"; rc=1; }
fi
"$R/build/mcaictl" telemetry disable --purge > /dev/null 2>&1
rmmod mcai_simsensor
"$CTL" unload vib-detector > /dev/null 2>&1
"$CTL" unload fmnist > /dev/null 2>&1
rmmod mcai || { echo "$N: FAIL: rmmod"; rc=1; }
((rc)) || echo "$N: all checks passed"
exit "$rc"
