#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pipeline names cannot be squatted, and a driver never binds to an
# unprivileged user's pipeline (kmod/pipeline.h, "Names"):
#  - nobody's name is nobody's: root creates the same name after it,
#    65533 sees root's, ids of another user's pipelines do not exist;
#  - nobody holds "sim-chain" (a vote that escalates every result):
#    mcai_simsensor model=sim-chain pipeline=1 loads but waits (deferred
#    binding): nobody's pipeline is not what it waits for, windows go by
#    and none gets a result;
#  - root then creates its own "sim-chain" (a chain that gates and never
#    escalates): the waiting driver binds to root's, its results are
#    gated and none escalated.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
T=$R/build/vm/limits_check
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
P=/sys/module/mcai_simsensor/parameters
N=53-pipe-names

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

for f in "$KO" "$SIM" "$T" "$CTL"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
"$CTL" load "$R/models/vib-detector.mcai" >/dev/null || fail "load vib-detector"
"$CTL" load "$R/models/vib-classifier.mcai" >/dev/null || fail "load vib-classifier"

"$T" names vib-detector vib-classifier || fail "names"

tmp=$(mktemp -d)
chmod 0777 "$tmp"
# hold NAME TYPE WHO: a pipeline kept by a background limits_check
holders=()
hold() {
	local ready=$tmp/$3.ready

	if [[ $3 == nobody ]]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$T" hold "$1" "$2" vib-detector vib-detector "$ready" &
	else
		"$T" hold "$1" "$2" vib-detector vib-classifier "$ready" &
	fi
	holders+=($!)
	answered() { [[ -s $ready ]]; }
	wait_for 120 "$3's pipeline $1" answered || return 1
	[[ $(cat "$ready") == ok ]]
}
release() {
	local f p

	for f in "$tmp"/*.ready; do
		[[ -e $f ]] && touch "$f.done"
	done

	for p in "${holders[@]}"; do
		wait "$p" || fail "holder $p exited with $?"
	done
	holders=()
}
snap() { cat "$P/stats"; }
val() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
results() { (( $(val "$(snap)" det_results) >= $1 )); }

if hold sim-chain vote nobody; then
	if insmod "$SIM" rate=25600 model=sim-chain pipeline=1 fault=0; then
		windows() { (( $(val "$(snap)" windows) >= $1 )); }
		wait_for 120 "4 windows" windows 4 || fail "windows: $(val "$(snap)" windows)"
		[[ $(val "$(snap)" det_state) == waiting ]] ||
			fail "the driver is $(val "$(snap)" det_state) with only nobody's sim-chain"
		[[ $(val "$(snap)" det_results) == 0 ]] ||
			fail "results from nobody's sim-chain: $(val "$(snap)" det_results)"
		if hold sim-chain chain root; then
			bound() { [[ $(val "$(snap)" det_state) == bound ]]; }
			wait_for 60 "the driver bound to root's sim-chain" bound ||
				fail "det_state $(val "$(snap)" det_state) with root's sim-chain"
			wait_for 300 "20 results" results 20 ||
				fail "results: $(val "$(snap)" det_results)"
			sim_pause || fail "the sensor did not go idle"
			g=$(val "$SIM_STATS" det_mcai_gated)
			e=$(val "$SIM_STATS" det_mcai_escalated)
			r=$(val "$SIM_STATS" det_results)
			echo "$N: driver on sim-chain: $r results, $g gated, $e escalated"
			(( e == 0 )) || fail "$e escalated results: the driver runs nobody's vote"
			(( g > 0 )) || fail "no result gated: not root's chain"
		else
			fail "root's sim-chain after nobody's: $(cat "$tmp/root.ready")"
		fi
		rmmod mcai_simsensor || fail "rmmod mcai_simsensor"
	else
		fail "insmod mcai_simsensor model=sim-chain pipeline=1 (waiting)"
	fi
else
	fail "nobody's sim-chain: $(cat "$tmp/nobody.ready" 2>/dev/null)"
fi
release
rm -rf "$tmp"
"$CTL" unload vib-classifier >/dev/null || fail "unload vib-classifier"
"$CTL" unload vib-detector >/dev/null || fail "unload vib-detector"
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
