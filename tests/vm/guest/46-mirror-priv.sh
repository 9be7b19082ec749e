#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Only an admin decides what reaches the training store: an unprivileged
# session may not turn its mirror on (SESSION_CREATE mirror_every,
# SESSION_MIRROR: EPERM) but may turn it off, and none of its samples is
# queued; an fd root opened, as mcaid keeps after dropping privileges,
# still may.  Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
T=$R/build/vm/limits_check
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=46-mirror-priv

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ -e $KO && -x $T && -x $CTL ]] || { echo "$N: FAIL: build $KO, $T and $CTL first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
"$CTL" load "$R/models/fmnist-mlp.mcai" >/dev/null || fail "load fmnist-mlp"
"$T" mirror fmnist-mlp || fail "mirror"
"$CTL" unload fmnist-mlp >/dev/null || fail "unload"
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
