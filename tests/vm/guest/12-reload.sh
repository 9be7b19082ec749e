#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Leaks and module lifetime: 1000 load/swap/unload cycles, 100,000
# inferences and 20 insmod/rmmod cycles with models loaded leave the
# module's live-object counters at 0 and the kernel's Slab and MemAvailable
# where they were; rmmod is refused while a file descriptor is open.
#
# Slab is the sharp check: every allocation mcai makes is a slab object
# (the blobs here are under a page), and a leak of even 8 bytes per
# inference would show (measured drift over the whole test: < 200 kB).
# MemAvailable does not count free pages parked on the per-cpu page lists,
# which swing by 10 MB and more between two samples with 4 CPUs; adding
# them back (the "count:" lines of /proc/zoneinfo) leaves a measure that
# stays within 1 MB, and that catches page-sized leaks.

set -u
R=${MCAI_ROOT:?}
T=$R/build/vm/mcai_abi
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=12-reload
CYCLES=${MCAI_RELOAD_CYCLES:-1000}
SLAB_TOL_KB=512
AVAIL_TOL_KB=8192

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
loaded() { grep -q '^mcai ' /proc/modules; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# MemAvailable plus the free pages on per-cpu lists, in kB.
avail() {
	local pcp
	pcp=$(awk '$1 == "count:" { s += $2 } END { print s + 0 }' /proc/zoneinfo)
	echo $(($(meminfo MemAvailable) + pcp * $(getconf PAGESIZE) / 1024))
}
# Drop caches that would blur the picture and make SLUB give back the
# empty slabs on its partial lists.  What that frees behind an RCU grace
# period (kfree_rcu, dentries) comes back later, by how much later a
# loaded machine decides: both measurements poll settle rather than sleep
# for what an idle machine needs.
settle() {
	local f
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f"
	done 2>/dev/null
}
# steady: 5 settle passes in a row gave back less than 64 kB of Slab
# each: the baseline is no longer shrinking; sets slab0
quiet=0
steady() {
	local before=$slab0

	settle
	slab0=$(meminfo Slab)
	if ((before - slab0 < 64)); then
		quiet=$((quiet + 1))
	else
		quiet=0
	fi
	((quiet >= 5))
}
# returned: Slab and MemAvailable+pcp are back within tolerance of the
# baseline; sets slab1 and avail1
returned() {
	settle
	slab1=$(meminfo Slab)
	avail1=$(avail)
	((slab1 - slab0 <= SLAB_TOL_KB && avail0 - avail1 <= AVAIL_TOL_KB))
}

[[ -e $KO && -x $T ]] || { echo "$N: FAIL: build $KO and $T first"; exit 1; }
loaded && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

# Warm up once so that one-time allocations are in the baseline.
"$T" cycles 10 >/dev/null || fail "warm-up cycles"
slab0=$(meminfo Slab)
# A baseline taken too early is only higher: the final check laxer.
wait_for 60 "Slab to stop shrinking after settle" steady ||
	echo "$N: baseline taken while Slab still shrinks"
avail0=$(avail)

"$T" cycles "$CYCLES" || fail "$CYCLES cycles"
live_zero "after $CYCLES cycles" || rc=1

"$T" load hot 1 >/dev/null && "$T" infer hot 1 100000 && "$T" unload hot ||
	fail "100000 inferences"
[[ $(cat /sys/class/misc/mcai/inferences) -ge 100000 ]] ||
	fail "inference counter $(cat /sys/class/misc/mcai/inferences)"
live_zero "after 100000 inferences" || rc=1

# An open fd pins the module.
exec 3</dev/mcai
if rmmod mcai 2>/dev/null; then
	fail "rmmod succeeded with /dev/mcai open"
fi
loaded || fail "module gone while an fd was open"
exec 3<&-

# insmod/rmmod with models loaded: exit frees them.
for ((i = 0; i < 20; i++)); do
	loaded || insmod "$KO" || { fail "insmod $i"; break; }
	"$T" load alpha 1 >/dev/null && "$T" load beta 2 >/dev/null &&
		"$T" load beta 3 >/dev/null && "$T" load gamma 4 >/dev/null &&
		"$T" infer beta 3 5 || fail "models in insmod cycle $i"
	[[ $(cat /sys/class/misc/mcai/nr_models) == 3 ]] ||
		fail "nr_models not 3 in cycle $i"
	rmmod mcai || { fail "rmmod with models loaded, cycle $i"; break; }
done
insmod "$KO" || fail "final insmod"
live_zero "after insmod/rmmod cycles" || rc=1
rmmod mcai || fail "final rmmod"

# A leak never comes back; a deferred free does, however late.
wait_for 120 "Slab and MemAvailable+pcp back to the baseline" returned
echo "$N: Slab ${slab0} -> ${slab1} kB, MemAvailable+pcp ${avail0} -> ${avail1} kB"
((slab1 - slab0 <= SLAB_TOL_KB)) ||
	fail "Slab grew by $((slab1 - slab0)) kB (tolerance $SLAB_TOL_KB)"
((avail0 - avail1 <= AVAIL_TOL_KB)) ||
	fail "MemAvailable+pcp fell by $((avail0 - avail1)) kB (tolerance $AVAIL_TOL_KB)"

((rc)) || echo "$N: all checks passed"
exit "$rc"
