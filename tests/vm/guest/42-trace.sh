#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcai:* tracepoints (kmod/trace.h): the events exist under tracefs and
# fire from the session worker (infer_start/end, shed), the synchronous
# path and a version swap.  Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
T=$R/build/vm/ring_test
A=$R/build/vm/mcai_abi
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=42-trace

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ ${MCAI_VM:-} ]] || exit 77
[[ -e $KO && -x $T && -x $A ]] || { echo "$N: FAIL: build first"; exit 1; }
TR=/sys/kernel/tracing
[[ -d $TR/events ]] || TR=/sys/kernel/debug/tracing
[[ -d $TR/events ]] || { echo "$N: no tracefs"; exit 77; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

for e in mcai_infer_start mcai_infer_end mcai_swap mcai_drop mcai_shed; do
	[[ -d $TR/events/mcai/$e ]] || fail "no event mcai:$e"
done
echo > "$TR/trace"
echo 1 > "$TR/events/mcai/enable"
"$T" energy > /dev/null || fail "energy run"
"$A" load trace-m 1 > /dev/null || fail "load v1"
"$A" load trace-m 2 > /dev/null || fail "load v2"
"$A" infer trace-m 2 3 > /dev/null || fail "sync infer"
echo 0 > "$TR/events/mcai/enable"
out=$(cat "$TR/trace")
for e in mcai_infer_start mcai_infer_end mcai_swap mcai_shed; do
	n=$(grep -c " $e: " <<< "$out")
	echo "$N: $e: $n events"
	((n > 0)) || fail "mcai:$e never fired"
done
grep -q ' mcai_swap: .*old_version=1 new_version=2' <<< "$out" ||
	fail "no swap 1 -> 2 event"
grep -q ' mcai_infer_end: .*session=0 ' <<< "$out" ||
	fail "no event from the synchronous path"
echo > "$TR/trace"
"$A" unload trace-m > /dev/null || fail "unload"
rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
