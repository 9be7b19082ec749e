#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module init under injected failures (kmod/main.c's goto ladder): mcai.ko
# is loaded once per fault-injection point of its init, with exactly that
# point failing (/proc/thread-self/fail-nth, build/vm/modload_nth), for
# every slab allocation (failslab), every page allocation of order 4 and
# up (fail_page_alloc: the mirror's queue; smaller orders are the slab's
# and vmalloc's pages, which vary from run to run) and every user copy.
# Each load must either succeed (the point was not the module's, or was
# survived) and unload, or fail with a clean error (ENOMEM, or EFAULT for
# a failed copy) and leave nothing behind: no module, no /dev/mcai, and
# the next clean insmod and rmmod succeed (the misc minor, the
# workqueues' names, the keyring and the name table were given back).
# kmemleak (the debug kernel) and the kernel log judge the rest.
#
# The points of the init are found by counting: a load with a parameter
# out of range (init fails at its first line) makes C0 checks, a whole
# load C1.  C0 also counts what the loader does after a failed init (the
# module's sysfs removal and its uevent allocate), so the init starts
# some points before C0: the sweep is C0-SLACK .. C1+2 (SLACK 40,
# INIT_FAULTS_SLACK); the points before the init fail the kernel's own
# loader, which must fail as cleanly.
# Needs CONFIG_FAULT_INJECTION (the debug kernel of make check-debug);
# skipped elsewhere.  Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
N=14-init-faults
P=$R/build/vm/modload_nth
D=/sys/kernel/debug
KO=$MCAI_KO

[[ ${MCAI_VM:-} ]] || exit 77
[[ -e /proc/self/fail-nth && -d $D/failslab && -d $D/fail_page_alloc ]] || {
	echo "$N: SKIP: no fail-nth/failslab/fail_page_alloc (not a fault-injection kernel)"
	exit 77
}
[[ -e $KO && -x $P ]] || { echo "$N: FAIL: build $KO and $P first"; exit 1; }
grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

# fail-nth ignores probability and the task filter; these only decide
# which allocations are checked (and so counted) at all
ATTRS=(failslab fail_page_alloc)
[[ -d $D/fail_usercopy ]] && ATTRS+=(fail_usercopy)
declare -A SAVED=()
setw() {
	[[ -n ${SAVED[$1]+x} ]] || SAVED[$1]=$(cat "$D/$1")
	echo "$2" >"$D/$1" || fail "cannot write $2 to $D/$1"
}
restore() {
	local k
	for k in "${!SAVED[@]}"; do echo "${SAVED[$k]}" >"$D/$k" 2>/dev/null; done
}
trap restore EXIT
for a in "${ATTRS[@]}"; do
	setw "$a/probability" 0
	setw "$a/verbose" 0
done
setw failslab/ignore-gfp-wait N
setw fail_page_alloc/ignore-gfp-wait N
setw fail_page_alloc/min-order 4

loaded() { grep -q '^mcai ' /proc/modules; }
# field NAME LINE: the number after NAME in modload_nth's line
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

big=100000000
out0=$("$P" "$KO" $big "max_models=0")
out1=$("$P" "$KO" $big "")
c0=$(field calls "$out0")
c1=$(field calls "$out1")
echo "$N: a load failing at its first line: $out0"
echo "$N: a whole load: $out1"
[[ $(field errno "$out0") == 22 ]] || fail "max_models=0: $out0, want errno 22 (EINVAL)"
if [[ $(field rc "$out1") != 0 ]] || ! loaded; then
	fail "a load without faults: $out1"
	exit 1
fi
rmmod mcai || { fail "rmmod after a load without faults"; exit 1; }
((c1 > c0)) || { fail "no fault-injection point in the init ($c0 then $c1)"; exit 1; }

slack=${INIT_FAULTS_SLACK:-40}
lo=$((c0 > slack ? c0 - slack : 1))
hi=$((c1 + 2))
echo "$N: sweeping points $lo..$hi (the init and the loader's steps around it)"
nfail=0 nok=0 nmiss=0
declare -A ERRS=()
for ((n = lo; n <= hi; n++)); do
	out=$("$P" "$KO" "$n" "")
	r=$(field rc "$out") e=$(field errno "$out") f=$(field fired "$out")
	if [[ -z $r ]]; then
		fail "point $n: modload_nth said nothing"
		loaded && rmmod mcai
		continue
	fi
	if [[ $r == 0 ]]; then
		((f)) && nok=$((nok + 1)) || nmiss=$((nmiss + 1))
		loaded || fail "point $n: finit_module returned 0 but mcai is not loaded"
		rmmod mcai || fail "point $n: rmmod after a load that succeeded ($out)"
		continue
	fi
	nfail=$((nfail + 1))
	ERRS[$e]=$((${ERRS[$e]:-0} + 1))
	((f)) || fail "point $n: the load failed without the fault firing: $out"
	case $e in
	12 | 14) ;;	# ENOMEM, EFAULT
	*) fail "point $n: the load failed with errno $e, not ENOMEM or EFAULT: $out" ;;
	esac
	if loaded; then
		fail "point $n: the load failed but mcai is in /proc/modules"
		rmmod mcai
	fi
	[[ ! -e /dev/mcai ]] || fail "point $n: /dev/mcai left behind"
	[[ ! -e /sys/module/mcai ]] || fail "point $n: /sys/module/mcai left behind"
	# everything the failed init took was given back: a clean load works
	if insmod "$KO"; then
		rmmod mcai || fail "point $n: rmmod after the clean load"
	else
		fail "point $n: a clean insmod after the failed one"
	fi
	((rc == 0)) || break
done
errs=''
for e in "${!ERRS[@]}"; do errs+=" errno $e: ${ERRS[$e]}"; done
echo "$N: $((hi - lo + 1)) points: $nfail loads failed cleanly (${errs# }), $nok survived their fault, $nmiss never reached it"
((nfail > 0)) || fail "no load failed: the sweep never hit the init"

# kmemleak (debug kernel): what the failed inits allocated must be freed
K=$D/kmemleak
if [[ -w $K ]]; then
	sleep 5
	echo scan >"$K"
	echo scan >"$K"
	leaks=$(grep -c '^unreferenced object' "$K" || :)
	echo "$N: kmemleak: $leaks unreferenced objects"
	((leaks == 0)) || fail "kmemleak: $(head -n 20 "$K")"
fi
((rc)) || echo "$N: all checks passed"
exit "$rc"
