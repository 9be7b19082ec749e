#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcai_simsensor.ko attached to a chain pipeline (pipeline=1): the cheap
# vib-detector gates vib-classifier (MCAI_PIPE_CHAIN, fire_class 1).  The
# pipeline lives as long as the file that created it, so a small python3
# helper creates it on /dev/mcai and holds the fd while the sensor runs.
#  - fault=0: nearly every window is gated (answered by the detector);
#  - fault=2: the gate opens and the classifier says inner race on >= 80%;
#  - counters add up: submitted = completed + dropped + shed;
#  - each phase counts 40 results, however long a loaded machine takes;
#  - rmmod, then the pipeline's file closes, then everything unloads.
# Exit 0 pass, 1 fail, 77 skip (no python3 or no pipeline support).
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
P=/sys/module/mcai_simsensor/parameters
N=61-simsensor-chain
command -v python3 >/dev/null || { echo "$N: no python3"; exit 77; }

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
for f in "$KO" "$SIM" "$CTL" "$R/models/vib-detector.mcai" \
	 "$R/models/vib-classifier.mcai"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
snap() { cat "$P/stats"; }
val() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
# after SNAPSHOT NAME N: the counter NAME is N past its value in SNAPSHOT
after() {
	local v

	v=$(val "$(snap)" "$2")
	(( ${v:-0} >= $(val "$1" "$2") + $3 ))
}
# caught_up SNAPSHOT: every window committed by then has its result
caught_up() {
	(( $(val "$(snap)" det_results) >= $(val "$1" det_committed) ))
}

grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod mcai"; exit 1; }
"$CTL" load "$R/models/vib-detector.mcai" >/dev/null || fail "load vib-detector"
"$CTL" load "$R/models/vib-classifier.mcai" >/dev/null || fail "load vib-classifier"
json=$("$CTL" --json list)
id_of() {
	# the "id" that precedes "name": "$1" in mcaictl's JSON
	tr -d '\n ' <<<"$json" | grep -o "\"id\":[0-9]*,\"name\":\"$1\"" |
		sed 's/"id":\([0-9]*\),.*/\1/'
}
det=$(id_of vib-detector)
cls=$(id_of vib-classifier)
[[ $det && $cls ]] || fail "model ids not found in: $json"

tmp=$(mktemp -d)
# the chain, made and held open by tests/vm/pipe-hold.py
python3 "$R/tests/vm/pipe-hold.py" "$det" "$cls" "$tmp/ready" &
py=$!
# python3 starts slowly on a loaded guest: wait for its answer (or its end)
answered() { [[ -s $tmp/ready ]] || ! kill -0 "$py" 2>/dev/null; }
if ! wait_for 120 "the pipeline helper to write $tmp/ready" answered; then
	fail "pipeline helper: no answer"
elif [[ ! -s $tmp/ready ]]; then
	fail "pipeline helper exited without an answer"
fi
# give_up STATUS: release the helper, unload everything, exit STATUS.
give_up() {
	touch "$tmp/ready.done"
	kill "$py" 2>/dev/null
	wait "$py"
	"$CTL" unload vib-classifier >/dev/null
	"$CTL" unload vib-detector >/dev/null
	rmmod mcai
	rm -rf "$tmp"
	exit "$1"
}
((rc)) && give_up 1
if [[ $(cat "$tmp/ready") != ok ]]; then
	echo "$N: pipeline create: $(cat "$tmp/ready" 2>/dev/null)"
	give_up 77
fi

if insmod "$SIM" rate=25600 model=vib-chain pipeline=1 fault=0; then
	for f in 0 2; do
		echo $f >"$P/fault"
		# past the mixed windows: the one in progress at the switch
		# and the next go by, and their results come in
		a=$(snap)
		wait_for 120 "2 windows after fault=$f" after "$a" windows 2 ||
			fail "fault=$f: windows stuck at $(val "$(snap)" windows)"
		a=$(snap)
		wait_for 120 "the results of the first $(val "$a" windows) windows" \
			caught_up "$a" ||
			fail "fault=$f: $(val "$(snap)" det_results) results, $(val "$a" det_committed) windows committed"
		a=$(snap)
		wait_for 300 "40 results with fault=$f" after "$a" det_results 40
		b=$(snap)
		r=$(( $(val "$b" det_results) - $(val "$a" det_results) ))
		g=$(( $(val "$b" det_mcai_gated) - $(val "$a" det_mcai_gated) ))
		c=$(( $(val "$b" det_class$f) - $(val "$a" det_class$f) ))
		echo "$N: fault=$f: $r results, $g gated, class $f on $c"
		(( r >= 40 )) || fail "fault=$f: only $r results, want 40"
		if ((f == 0)); then
			(( g * 10 >= r * 9 )) || fail "fault=0: only $g/$r gated"
		else
			(( g * 10 <= r )) || fail "fault=2: $g/$r gated"
		fi
		(( c * 10 >= r * 8 )) || fail "fault=$f: class $f on $c/$r"
	done
	# paused and drained (sim_pause: tests/vm/lib.sh), one read
	sim_pause || fail "the sensor did not go idle after run=0"
	b=$SIM_STATS
	s=$(val "$b" det_mcai_submitted); c=$(val "$b" det_mcai_completed)
	d=$(val "$b" det_mcai_dropped); h=$(val "$b" det_mcai_shed)
	echo "$N: submitted $s completed $c dropped $d shed $h"
	(( s == c + d + h )) || fail "submitted $s != completed $c + dropped $d + shed $h"
	rmmod mcai_simsensor || fail "rmmod mcai_simsensor"
else
	fail "insmod mcai_simsensor model=vib-chain pipeline=1"
fi
touch "$tmp/ready.done"
wait $py || fail "pipeline helper"
rm -rf "$tmp"
"$CTL" unload vib-classifier >/dev/null || fail "unload vib-classifier"
"$CTL" unload vib-detector >/dev/null || fail "unload vib-detector"
rmmod mcai || fail "rmmod mcai"
((rc)) || echo "$N: all checks passed"
exit "$rc"
