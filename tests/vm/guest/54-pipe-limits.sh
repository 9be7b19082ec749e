#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pipelines are bounded per file, per user and in all, and their names
# are found without a scan (kmod/pipeline.c, kmod/account.c):
#  - max_pipelines=64 user_pipelines=20 file_pipelines=8: nobody gets 8
#    per file and 20 in all, 65533 its own 20, 65532 only what is left of
#    the users' three quarters (48), root the last quarter up to 64;
#    every refusal is ENOSPC and every pipeline goes with its file;
#  - 8192 pipelines: the median time to create one is the same for the
#    last 512 as for the first 512 (a scan of the names would not be);
#  - absurd parameters are refused at insmod.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
T=$R/build/vm/limits_check
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=54-pipe-limits
BLOB=$R/models/fmnist-mlp.mcai

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ -e $KO && -x $T && -x $CTL ]] || { echo "$N: FAIL: build $KO, $T and $CTL first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai

insmod "$KO" max_pipelines=64 user_pipelines=20 file_pipelines=8 ||
	{ echo "$N: FAIL: insmod"; exit 1; }
"$CTL" load "$BLOB" >/dev/null || fail "load fmnist-mlp"
"$T" pipes fmnist-mlp || fail "pipes"
"$CTL" unload fmnist-mlp >/dev/null || fail "unload"
rmmod mcai || fail "rmmod after pipes"

insmod "$KO" max_pipelines=16384 || fail "insmod max_pipelines=16384"
"$CTL" load "$BLOB" >/dev/null || fail "load fmnist-mlp"
"$T" lookup fmnist-mlp 8192 || fail "lookup"
"$CTL" unload fmnist-mlp >/dev/null || fail "unload"
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod after lookup"

for p in max_pipelines=0 max_pipelines=3 max_pipelines=2000000 \
	 user_pipelines=0 file_pipelines=0; do
	if insmod "$KO" "$p" 2>/dev/null; then
		fail "$p accepted"
		rmmod mcai
	fi
done
((rc)) || echo "$N: all checks passed"
exit "$rc"
