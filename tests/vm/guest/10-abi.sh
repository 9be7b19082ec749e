#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The ioctl ABI of /dev/mcai (kmod/): every command, its error paths, model
# versions and swaps, results bit-exact with the user-space engine; module
# parameters; insmod and rmmod.  Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
T=$R/build/vm/mcai_abi
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=10-abi

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
loaded() { grep -q '^mcai ' /proc/modules; }

[[ -e $KO && -x $T ]] || { echo "$N: FAIL: build $KO and $T first"; exit 1; }
loaded && rmmod mcai

insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
[[ -c /dev/mcai ]] || fail "no /dev/mcai"
mode=$(stat -c %a /dev/mcai)
[[ $mode == 666 ]] || fail "/dev/mcai mode $mode, want 666"
for c in nr_models live_slots live_versions live_bytes inferences; do
	[[ $(cat /sys/class/misc/mcai/$c) == 0 ]] || fail "counter $c not 0"
done
"$T" info
"$T" abi || fail "mcai_abi abi (default limits)"
rmmod mcai || fail "rmmod"
[[ -e /dev/mcai ]] && fail "/dev/mcai still there after rmmod"

# Parameters out of range are refused at insmod, in range they show.
for p in max_models=0 max_dim=0 max_dim=70000 max_layers=17 \
	max_blob_size=0 max_arena=0; do
	if insmod "$KO" "$p" 2>/dev/null; then
		fail "insmod $p accepted"
		rmmod mcai
	fi
done
if insmod "$KO" max_models=3 max_blob_size=65536; then
	"$T" info | grep -q 'max_blob_size 65536 max_models 3 ' ||
		fail "parameters not reported by GET_INFO"
	# With max_models=3 the ENOSPC path runs after two loads.
	"$T" abi || fail "mcai_abi abi (max_models=3)"
	rmmod mcai || fail "rmmod"
else
	fail "insmod max_models=3"
fi

loaded && fail "mcai still loaded"
((rc)) || echo "$N: all checks passed"
exit "$rc"
