#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hot swap under traffic: two processes infer (one by id, one by name)
# while a third loads newer and newer versions of the same model.  Every
# result must be bit-exact for the version the kernel says computed it,
# no call may fail, and the kernel log stays clean (the harness checks).
# Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
T=$R/build/vm/mcai_abi
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=13-swap
SECONDS_=${MCAI_SWAP_SECONDS:-20}

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ -e $KO && -x $T ]] || { echo "$N: FAIL: build $KO and $T first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

"$T" swap "$SECONDS_" || fail "swap under traffic"
for c in live_slots live_versions live_bytes; do
	v=$(cat /sys/class/misc/mcai/$c)
	[[ $v == 0 ]] || fail "$c is $v after the test"
done

rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
