#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Zero-copy sessions (kmod/session.c): the ring protocol end to end,
# bit-exact with the user-space engine (a generated model and the
# Fashion-MNIST blob); hostile user space (bad creates and mmaps, writes
# to the read-only region, corrupted indices); processes killed and fds
# closed mid-stream; 2000 sessions; rmmod refused while a session is open.
# Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
T=$R/build/vm/ring_test
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=40-ring

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ ${MCAI_VM:-} ]] || exit 77
[[ -e $KO && -x $T ]] || { echo "$N: FAIL: build $KO and $T first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

"$T" info >/dev/null 2>&1
"$T" basic "$R/models/fmnist-mlp.mcai" || fail "basic"
"$T" hostile || fail "hostile"
"$T" kill || fail "kill"
"$T" many 2000 || fail "many"

# rmmod is refused while a session is open, works after.  The holder
# sleeps as long as the test may run (it is killed): on a loaded machine
# the rmmod below may come late, but never after the session closed.
"$T" hold "${MCAI_TEST_TIMEOUT:-600}" > /tmp/hold.$$ &
hold=$!
holding() { grep -q holding /tmp/hold.$$ || ! kill -0 "$hold" 2>/dev/null; }
if wait_for 120 "ring_test hold to open its session" holding &&
   grep -q holding /tmp/hold.$$; then
	if rmmod mcai 2>/dev/null; then
		fail "rmmod accepted with a session open"
		insmod "$KO"
	fi
else
	fail "no session held: $(cat /tmp/hold.$$)"
fi
kill "$hold"; wait "$hold" 2>/dev/null
rm -f /tmp/hold.$$
"$R/build/vm/mcai_abi" unload ring-hold >/dev/null 2>&1

for c in live_slots live_versions live_bytes; do
	v=$(cat /sys/class/misc/mcai/$c)
	[[ $v == 0 ]] || fail "$c is $v after the test"
done
rmmod mcai || fail "rmmod after the sessions closed"

# All sessions together stay under session_mem_mb; unprivileged users
# together under three quarters of it (kmod/account.h).
insmod "$KO" session_mem_mb=4 || fail "insmod session_mem_mb=4"
"$T" load ring-c 1 || fail "load ring-c"
setpriv --reuid=65534 --regid=65534 --clear-groups "$T" memcap 4 ||
	fail "memcap"
"$R/build/vm/mcai_abi" unload ring-c > /dev/null 2>&1
rmmod mcai || fail "rmmod after memcap"
insmod "$KO" session_mem_mb=0 2>/dev/null && {
	fail "session_mem_mb=0 accepted"
	rmmod mcai
}
((rc)) || echo "$N: all checks passed"
exit "$rc"
