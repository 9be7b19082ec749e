#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The engine's SIMD dispatch in the kernel: simd= picks the path (auto,
# the default, the best this CPU has), sysfs and mcaictl info report it, a
# path the CPU lacks or an unknown name fails insmod with a reason in the
# kernel log, and on every path the CPU has the kernel's scores equal the
# user-space scalar engine's, byte for byte, for every shipped model; then
# the user-space engine's paths against its scalar kernels (simd_check:
# random shapes and every shipped model), which is where the arm64 paths
# run in user space (the build host is x86).  x86: avx2, avx512vnni,
# avxvnni; arm64: neon on every CPU (the Cortex-A53), dotprod where the
# CPU has asimddp (QEMU's max).
set -u
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
P=/sys/module/mcai/parameters/simd
ret=0
fail() { echo "17-simd: $*"; ret=1; }

# The CPU flags each path needs (/proc/cpuinfo's names).
needs() {
	case $1 in
	off) echo "" ;;
	avx2) echo "avx2" ;;
	avx512vnni) echo "avx2 avx512bw avx512vl avx512_vnni" ;;
	avxvnni) echo "avx2 avx_vnni" ;;
	neon) echo "asimd" ;;
	dotprod) echo "asimd asimddp" ;;
	*) echo "none-such" ;;
	esac
}
# x86's "flags", arm64's "Features"
flags=" $(grep -m1 -E '^(flags|Features)' /proc/cpuinfo | cut -d: -f2) "
has() {
	for f in $(needs "$1"); do
		case $flags in *" $f "*) ;; *) return 1 ;; esac
	done
	return 0
}
echo "17-simd: CPU has:$(for p in avx2 avx512vnni avxvnni neon dotprod; do has $p && printf ' %s' $p; done)"

insmod "$MCAI_KO" || exit 1
auto=$(cat $P)
info=$("$R/build/mcaictl" --json info | sed -n 's/.*"simd": *"\([a-z0-9]*\)".*/\1/p')
[ "$auto" = "$info" ] || fail "sysfs says $auto, mcaictl info $info"
if { has avx2 || has neon; } && [ "$auto" = off ]; then
	fail "auto chose off on a CPU with a vector path"
fi
if has dotprod && [ "$auto" != dotprod ]; then
	fail "auto chose $auto on a CPU with asimddp"
fi
echo "17-simd: auto is $auto"
rmmod mcai || ret=1

for p in off avx2 avx512vnni avxvnni neon dotprod bogus; do
	if [ "$p" != bogus ] && has "$p"; then
		insmod "$MCAI_KO" simd=$p || { fail "simd=$p refused"; continue; }
		[ "$(cat $P)" = "$p" ] || fail "simd=$p reads $(cat $P)"
		n=0 bad=0
		for b in "$R"/models/*.mcai "$R"/models/mlperf-tiny/*.mcai; do
			n=$((n + 1))
			MCAI_SIMD=off "$R/build/vm/graph_bitexact" --samples 8 "$b" \
				>/dev/null || { bad=$((bad + 1)); fail "simd=$p: $b differs from scalar"; }
		done
		[ "$n" -ge 8 ] || fail "simd=$p: only $n shipped models found"
		echo "17-simd: simd=$p: $((n - bad)) of $n shipped models bit-exact with scalar"
		rmmod mcai || ret=1
	else
		if insmod "$MCAI_KO" simd=$p 2>/dev/null; then
			fail "simd=$p accepted on a CPU without it"
			rmmod mcai
		elif ! dmesg | tail -n 5 | grep -q "simd=$p"; then
			fail "simd=$p refused without a reason in the log"
		else
			echo "17-simd: simd=$p refused: $(dmesg | grep "simd=$p" | tail -n 1 | sed 's/^\[[^]]*\] //')"
		fi
	fi
done

paths=
for p in avx2 avx512vnni avxvnni neon dotprod; do
	has $p && paths="$paths --path $p"
done
if [ -n "$paths" ]; then
	# shellcheck disable=SC2086 # one word per argument
	if "$R/build/vm/simd_check" $paths "$R"/models/*.mcai \
		"$R"/models/mlperf-tiny/*.mcai >/tmp/simd_check.out 2>&1; then
		grep -E 'cases run|paths bit-exact' /tmp/simd_check.out |
			sed 's/^/17-simd: user space: /'
	else
		cat /tmp/simd_check.out
		fail "user space: a path differs from scalar"
	fi
fi
exit $ret
