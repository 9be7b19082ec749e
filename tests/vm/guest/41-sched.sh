#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The scheduler and sessions under load (kmod/sched.c, kmod/session.c):
# several producer processes at once, hot swap under streaming traffic
# (every result bit-exact for the version it reports), the energy budget
# shedding a LOW model while a HIGH one is never shed, deadline misses,
# counters adding up, a session on a pipeline.  Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
T=$R/build/vm/ring_test
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=41-sched

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ ${MCAI_VM:-} ]] || exit 77
[[ -e $KO && -x $T ]] || { echo "$N: FAIL: build $KO and $T first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

"$T" producers 4 8 || fail "producers"
"$T" swap 10 || fail "swap under load"
"$T" energy || fail "energy budget"
"$T" pipeline || fail "pipeline session"

for c in live_slots live_versions live_bytes; do
	v=$(cat /sys/class/misc/mcai/$c)
	[[ $v == 0 ]] || fail "$c is $v after the test"
done
rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
