#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bounded, charged kernel memory (kmod/account.c): an unprivileged user
# (nobody) opening /dev/mcai 2000 times, each with the largest rings of
# the Fashion-MNIST model, is refused with ENOSPC at user_mem_mb while
# the machine barely notices, and another user and root keep working.
# Inside a memory cgroup of 64 MiB (below user_mem_mb=128) the cgroup's
# limit stops it instead: ENOMEM, no OOM kill, nothing in the kernel log,
# other users unaffected.  Everything charged comes back.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
T=$R/build/vm/limits_check
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=44-memlimits
BLOB=$R/models/fmnist-mlp.mcai
CG=/sys/fs/cgroup/mcai-memlimits

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ -e $KO && -x $T && -x $CTL ]] || { echo "$N: FAIL: build $KO, $T and $CTL first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
klog0=$(dmesg | wc -l)

# the defaults: session_mem_mb=256, user_mem_mb=64
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
"$CTL" load "$BLOB" >/dev/null || fail "load fmnist-mlp"
"$T" exhaust fmnist-mlp 2000 || fail "exhaust"
"$CTL" unload fmnist-mlp >/dev/null || fail "unload"
rmmod mcai || fail "rmmod after exhaust"

# a memory cgroup below the user's budget
if [[ -e /sys/fs/cgroup/cgroup.controllers ]] &&
   grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
	insmod "$KO" user_mem_mb=128 || fail "insmod user_mem_mb=128"
	"$CTL" load "$BLOB" >/dev/null || fail "load fmnist-mlp"
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control ||
		fail "cannot enable the memory controller"
	rmdir "$CG" 2>/dev/null
	mkdir "$CG" && echo 64M >"$CG/memory.max" || fail "cannot make $CG"
	"$T" memcg fmnist-mlp "$CG" || fail "memcg"
	# the child has exited: the group is empty
	empty() { ! grep -q . "$CG/cgroup.procs"; }
	wait_for 60 "$CG to empty" empty || fail "$CG still has $(cat "$CG/cgroup.procs")"
	rmdir "$CG" || fail "rmdir $CG"
	"$CTL" unload fmnist-mlp >/dev/null || fail "unload"
	rmmod mcai || fail "rmmod after memcg"
elif grep -qE '^memory[[:space:]]+[0-9]+[[:space:]]+[0-9]+[[:space:]]+1' /proc/cgroups; then
	fail "the kernel has a memory controller, but cgroup2 does not offer it"
else
	# a kernel built without CONFIG_MEMCG (the debug kernel): nothing
	# can charge a cgroup there, so that part cannot run
	echo "$N: SKIP: cgroup part: this kernel has no memory controller"
fi

# nothing in the kernel log: no allocation warning, no OOM report
klog=$(dmesg | tail -n +$((klog0 + 1)) |
	grep -Ei 'out of memory|oom|page allocation failure|vmalloc error|call trace|warning')
[[ -z $klog ]] || fail "kernel log: $klog"
# out-of-range parameters are refused
for p in user_mem_mb=0 user_mem_mb=65537 session_mem_mb=0; do
	if insmod "$KO" "$p" 2>/dev/null; then
		fail "$p accepted"
		rmmod mcai
	fi
done
((rc)) || echo "$N: all checks passed"
exit "$rc"
