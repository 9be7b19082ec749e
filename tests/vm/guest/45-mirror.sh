#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The sample mirror (kmod/mirror.c) and the labelled sample store
# (runtime/fed/samples.c) through mcaictl: N inferences mirrored 1 in K give
# exactly N/K records with the right inputs and results; a full queue
# counts drops while every inference completes; hostile requests and an
# unprivileged reader are refused; mirror_kb=0 turns the feature off;
# `mcaictl mirror` drains the queue into a store that `mcaictl samples`
# lists and `mcaictl label` labels.
# Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
N=45-mirror
T=$R/build/vm/mirror_check
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
BLOB=$R/models/fmnist-mlp.mcai

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ ${MCAI_VM:-} ]] || exit 77
[[ -e $KO && -x $T && -x $CTL ]] || { echo "$N: FAIL: build $KO, $T and $CTL first"; exit 1; }
[[ -e $BLOB ]] || { echo "$N: SKIP: no $BLOB"; exit 77; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

"$T" basic "$BLOB" 1000 4 || fail "basic 1000/4"
"$T" basic "$BLOB" 257 16 || fail "basic 257/16"
"$T" basic "$BLOB" 64 1 || fail "basic 64/1"
"$T" pipeline "$BLOB" || fail "pipeline session"
"$T" full "$BLOB" 2000 || fail "full queue"
"$T" hostile "$BLOB" || fail "hostile"

# mcaictl: drain into a store, list, label.
S=$(mktemp -d)/store
"$T" push "$BLOB" 40 4 || fail "push"
out=$("$CTL" mirror -s "$S" 2>&1) || fail "mcaictl mirror: $out"
grep -q '^10 samples added' <<<"$out" || fail "mcaictl mirror said: $out"
n=$("$CTL" --json samples -s "$S" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["samples"], len(j["items"]), sum(i["label"] is None for i in j["items"]), {i["input_len"] for i in j["items"]})') ||
	fail "samples --json does not parse"
[[ $n == "10 10 10 {784}" ]] || fail "samples --json: $n"
"$CTL" label -s "$S" 3 7 || fail "label 3 7"
printf '# id class\n1 2\n\n10 9\n' >"$S.labels"
"$CTL" label -s "$S" --file "$S.labels" >/dev/null || fail "label --file"
printf '2 1\n99 1\n' >"$S.bad"
"$CTL" label -s "$S" --file "$S.bad" 2>/dev/null && fail "label --file with an unknown id accepted"
"$CTL" label -s "$S" 4 256 2>/dev/null && fail "class 256 accepted"
"$CTL" label -s "$S" 4 x 2>/dev/null && fail "class x accepted"
got=$("$CTL" --json samples -s "$S" | python3 -c 'import json,sys; print(" ".join("%d:%d" % (i["id"], i["label"]) for i in json.load(sys.stdin)["items"] if i["label"] is not None))')
[[ $got == "1:2 3:7 10:9" ]] || fail "labels after label: $got (2 must stay unlabelled)"
"$CTL" samples -s "$S" --labelled | grep -q '3 labelled' || fail "samples --labelled"
out=$("$CTL" mirror -s "$S" 2>&1) || fail "second mirror: $out"
grep -q '^0 samples added' <<<"$out" || fail "second mirror said: $out"
# an unprivileged user may not drain the queue
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" mirror -s /tmp/unpriv-store 2>&1) &&
	fail "unprivileged mirror succeeded"
grep -q 'CAP_SYS_ADMIN' <<<"$out" || fail "unprivileged mirror said: $out"
rm -rf "$(dirname "$S")"

# The in-kernel driver API: mcai_simsensor's windows (vib-detector, 42
# features) through a kernel client mirroring 1 in 2.
SIM=$(mcai_ko mcai_simsensor)
P=/sys/module/mcai_simsensor/parameters
S=$(mktemp -d)/store
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$P/stats"; }
completed() { (( $(stat_of det_mcai_completed) >= $1 )); }
"$CTL" mirror -s "$S" >/dev/null || fail "draining leftovers"
rm -rf "$S"
if [[ -e $SIM ]] && "$CTL" load "$R/models/vib-detector.mcai" >/dev/null &&
   insmod "$SIM" mirror=2 seed=7 fault=0; then
	wait_for 120 "9 windows computed" completed 9 ||
		fail "driver API: $(stat_of det_mcai_completed) windows computed"
	# paused and drained (sim_pause: tests/vm/lib.sh): nothing completes
	# (and is mirrored) after this count
	sim_pause || fail "driver API: the sensor did not go idle after run=0"
	c=$(awk '$1 == "det_mcai_completed" { print $2 }' <<<"$SIM_STATS")
	rmmod mcai_simsensor || fail "rmmod mcai_simsensor"
	out=$("$CTL" --json mirror -s "$S" | python3 -c 'import json,sys; print(json.load(sys.stdin)["added"])')
	[[ $out == $((c / 2)) ]] || fail "driver API: $c windows computed, 1 in 2 mirrored: $out records"
	got=$("$CTL" --json samples -s "$S" | python3 -c 'import json,sys; j=json.load(sys.stdin)["items"]; print({i["input_len"] for i in j}, len({i["model_id"] for i in j}))')
	[[ $got == "{42} 1" ]] || fail "driver API records: $got"
	echo "$N: driver API: $c windows, $out mirrored"
	rm -rf "$(dirname "$S")"
else
	fail "mcai_simsensor with mirror=2"
fi
"$CTL" unload vib-detector >/dev/null 2>&1

"$R/build/vm/mcai_abi" unload fmnist-mlp >/dev/null 2>&1
rmmod mcai || fail "rmmod"

# mirror_kb=0: no feature, non-zero N refused; an absurd size refused.
insmod "$KO" mirror_kb=0 || { echo "$N: FAIL: insmod mirror_kb=0"; exit 1; }
"$T" off "$BLOB" || fail "mirror_kb=0"
"$R/build/vm/mcai_abi" unload fmnist-mlp >/dev/null 2>&1
rmmod mcai || fail "rmmod (mirror_kb=0)"
if insmod "$KO" mirror_kb=100000000 2>/dev/null; then
	fail "mirror_kb=100000000 accepted"
	rmmod mcai
fi
((rc)) || echo "$N: all checks passed"
exit "$rc"
