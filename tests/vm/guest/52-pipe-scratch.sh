#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A pipeline session's scratch is sized from its members' real arenas,
# not from max_arena, and is charged to its user: nobody builds a chain
# of one loaded model used twice and opens sessions with 1-slot rings on
# it, with max_arena=1 MiB and user_mem_mb=2.  Each session pins its
# rings and a few hundred bytes, the budget refuses it (ENOSPC) before
# 2 MiB are held, and the pipeline still computes on both paths.  A
# member hot-swapped to a version with a 64 times larger arena: the
# session's worker grows the scratch, charged to nobody, and computes on.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
T=$R/build/vm/limits_check
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=52-pipe-scratch

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ -e $KO && -x $T && -x $CTL ]] || { echo "$N: FAIL: build $KO, $T and $CTL first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" max_arena=1048576 user_mem_mb=2 || { echo "$N: FAIL: insmod"; exit 1; }
"$CTL" load "$R/models/fmnist-mlp.mcai" >/dev/null || fail "load fmnist-mlp"
"$T" scratch fmnist-mlp 400 || fail "scratch"
"$CTL" unload fmnist-mlp >/dev/null || fail "unload"
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod"

insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
"$T" grow || fail "grow"
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod after grow"
((rc)) || echo "$N: all checks passed"
exit "$rc"
