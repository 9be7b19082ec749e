#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An unprivileged user (nobody, no capabilities) may open /dev/mcai and run
# inferences, but may not load, replace or unload models (EPERM) — unless
# through an fd that root opened and handed over, as mcaid does when it
# drops its privileges after opening the device.
# Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
T=$R/build/vm/mcai_abi
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=11-unpriv

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ -e $KO && -x $T ]] || { echo "$N: FAIL: build $KO and $T first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

"$T" load shared 3 || fail "root cannot load"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	--bounding-set=-all --no-new-privs "$T" unpriv shared 3 ||
	fail "unprivileged checks"
# Still there, still version 3: the refused calls changed nothing.
"$T" infer shared 3 10 || fail "model changed by an unprivileged caller"
# An fd opened by root keeps its privilege after the process drops its
# own (the opener's credentials count): version 4 through it.
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	--bounding-set=-all --no-new-privs "$T" inherited shared 3 3<> /dev/mcai ||
	fail "unprivileged use of a root-opened fd"
"$T" infer shared 4 10 || fail "version 4 not loaded through the inherited fd"
"$T" unload shared || fail "root cannot unload"

rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
