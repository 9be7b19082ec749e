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
# Then mcai_simsensor's init the same way, with mcai loaded and the vib
# models in it (both of its clients bind at once): each failed load
# leaves no module, no IIO device and mcai's refcount as it was
# (INIT_FAULTS_STRIDE=N: every Nth of its points only).
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

# ---- mcai_simsensor's init, the same way --------------------------------
# Its init (kmod/simsensor.c) attaches two clients through mcai's driver
# API (one a pipeline-less model, one the classifier, both loaded so that
# the attach binds at once: sessions, rings, workers) and registers its
# IIO device with a kfifo buffer.  Loaded once per point with mcai loaded
# and the models in it; a failed load must leave no module, no IIO device
# and no client behind (mcai's refcount is 0 again, so mcai unloads at the
# end), and a clean load must still work.
SIM=$(mcai_ko mcai_simsensor)
CTL=$R/build/mcaictl
sim_loaded() { grep -q '^mcai_simsensor ' /proc/modules; }
# the IIO device the simsensor registers, by name
sim_iio() { grep -lx mcai-simsensor /sys/bus/iio/devices/*/name 2>/dev/null | head -n 1; }
mcai_refs() { cat /sys/module/mcai/refcnt; }
if [[ -e $SIM && -x $CTL ]] && ((rc == 0)); then
	insmod "$KO" || { fail "insmod mcai for the simsensor sweep"; exit 1; }
	for m in vib-detector vib-classifier; do
		"$CTL" load "$R/models/$m.mcai" >/dev/null || { fail "cannot load $m"; exit 1; }
	done
	SP="classifier=vib-classifier"
	refs0=$(mcai_refs)
	sout0=$("$P" "$SIM" $big "rate=1 $SP")
	sout1=$("$P" "$SIM" $big "$SP")
	s0=$(field calls "$sout0") s1=$(field calls "$sout1")
	echo "$N: simsensor: a load failing at its first line: $sout0"
	echo "$N: simsensor: a whole load: $sout1"
	[[ $(field errno "$sout0") == 22 ]] || fail "simsensor rate=1: $sout0, want errno 22 (EINVAL)"
	if [[ $(field rc "$sout1") != 0 ]] || ! sim_loaded; then
		fail "a simsensor load without faults: $sout1"
		exit 1
	fi
	rmmod mcai_simsensor || { fail "rmmod mcai_simsensor after a load without faults"; exit 1; }
	((s1 > s0)) || { fail "no fault-injection point in the simsensor's init ($s0 then $s1)"; exit 1; }
	lo=$((s0 > slack ? s0 - slack : 1))
	hi=$((s1 + 2))
	# Every point takes two loads of a module that binds two models and
	# registers an IIO device: on a loaded host under KASAN some 400
	# points take the best part of an hour, so INIT_FAULTS_STRIDE (1)
	# may thin the sweep to every Nth point.
	stride=${INIT_FAULTS_STRIDE:-1}
	echo "$N: simsensor: sweeping points $lo..$hi, every ${stride}"
	sfail=0 sok=0 smiss=0
	declare -A SERRS=()
	for ((n = lo; n <= hi; n += stride)); do
		out=$("$P" "$SIM" "$n" "$SP")
		r=$(field rc "$out") e=$(field errno "$out") f=$(field fired "$out")
		if [[ -z $r ]]; then
			fail "simsensor point $n: modload_nth said nothing"
			sim_loaded && rmmod mcai_simsensor
			continue
		fi
		if [[ $r == 0 ]]; then
			((f)) && sok=$((sok + 1)) || smiss=$((smiss + 1))
			sim_loaded || fail "simsensor point $n: finit_module returned 0 but mcai_simsensor is not loaded"
			rmmod mcai_simsensor || fail "simsensor point $n: rmmod after a load that succeeded ($out)"
		else
			sfail=$((sfail + 1))
			SERRS[$e]=$((${SERRS[$e]:-0} + 1))
			((f)) || fail "simsensor point $n: the load failed without the fault firing: $out"
			case $e in
			12 | 14) ;;	# ENOMEM, EFAULT
			*) fail "simsensor point $n: the load failed with errno $e, not ENOMEM or EFAULT: $out" ;;
			esac
			if sim_loaded; then
				fail "simsensor point $n: the load failed but mcai_simsensor is in /proc/modules"
				rmmod mcai_simsensor
			fi
		fi
		[[ ! -e /sys/module/mcai_simsensor ]] || fail "simsensor point $n: /sys/module/mcai_simsensor left behind"
		[[ -z $(sim_iio) ]] || fail "simsensor point $n: IIO device $(sim_iio) left behind"
		[[ $(mcai_refs) == "$refs0" ]] ||
			fail "simsensor point $n: mcai's refcount $(mcai_refs), $refs0 before ($out)"
		if insmod "$SIM" "$SP"; then
			rmmod mcai_simsensor || fail "simsensor point $n: rmmod after the clean load"
		else
			fail "simsensor point $n: a clean insmod after the failed one"
		fi
		((rc == 0)) || break
	done
	errs=''
	for e in "${!SERRS[@]}"; do errs+=" errno $e: ${SERRS[$e]}"; done
	echo "$N: simsensor: $(((hi - lo) / stride + 1)) points: $sfail loads failed cleanly (${errs# }), $sok survived their fault, $smiss never reached it"
	((sfail > 0)) || fail "no simsensor load failed: the sweep never hit its init"
	"$CTL" unload vib-classifier >/dev/null || fail "unload vib-classifier after the simsensor sweep"
	"$CTL" unload vib-detector >/dev/null || fail "unload vib-detector after the simsensor sweep"
	live_zero "after the simsensor sweep" || rc=1
	rmmod mcai || fail "rmmod mcai after the simsensor sweep (refcnt $(mcai_refs))"
elif ((rc == 0)); then
	echo "$N: FAIL: build $SIM and $CTL first (make module tools)"
	rc=1
fi

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
