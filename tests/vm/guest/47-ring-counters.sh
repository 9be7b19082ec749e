#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A session's counters never lag the records they count (uapi/mcai.h:
# submitted = completed + dropped + shed + queued).  Whoever load-acquires
# res_tail must find completed + dropped + shed covering every record up
# to it at once, not only once the session is idle: `ring_test push`
# checks the counters right after its last result, and found them short
# of it once in a soak on the debug kernel (tests/soak/).  Here several
# processes keep full rings on one model and spin on res_tail (passes of
# several chunks: the window is every chunk but the last), beside a CPU
# hog that preempts the worker between its chunks.
# Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
T=$R/build/vm/ring_test
. "$R/tests/vm/lib.sh"
N=47-ring-counters
PROCS=${RING_COUNTERS_PROCS:-3}
SECS=${RING_COUNTERS_SECS:-20}

[[ ${MCAI_VM:-} ]] || exit 77
[[ -e $MCAI_KO && -x $T ]] || { echo "$N: FAIL: build $MCAI_KO and $T first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$MCAI_KO" || { echo "$N: FAIL: insmod"; exit 1; }

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

# one busy loop: the worker shares its CPU with it and with the readers
( while :; do :; done ) &
hog=$!
"$T" counters "$PROCS" "$SECS" || fail "ring_test counters $PROCS $SECS"
kill "$hog"
wait "$hog" 2>/dev/null

for c in live_slots live_versions live_bytes; do
	v=$(cat /sys/class/misc/mcai/$c)
	[[ $v == 0 ]] || fail "$c is $v after the test"
done
rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
