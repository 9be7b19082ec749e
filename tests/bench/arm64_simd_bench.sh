#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The engine's arm64 SIMD paths in guest instructions: Debian's arm64 6.1
# under qemu-system-aarch64 -icount shift=0 (tests/vm/run.sh --icount:
# one vCPU, the guest clock advances 1 ns per executed instruction, so
# every "ns" below is a guest instruction count; TCG wall time means
# nothing).  On each CPU model (cortex-a53: neon; max: neon and dotprod)
# and each path the CPU has, the module is loaded with simd=PATH and
# build/vm/ring_bench runs with MCAI_SIMD=PATH: a 1,280-MAC MLP and
# models/fmnist-mlp.mcai (101,632 MACs) through the user-space engine,
# the ioctl and the ring.  Instructions per inference divided by MACs is
# the figure to compare between paths.
#
# usage: tests/bench/arm64_simd_bench.sh      (after make arm64)
#   MCAI_BENCH_CPUS (default "cortex-a53 max"), MCAI_BENCH_N (small model
#   inferences, default 2000), MCAI_BENCH_M (fmnist-mlp, default 200)
set -euo pipefail

if [[ -n ${MCAI_VM:-} ]]; then
	R=${MCAI_ROOT:?}
	# shellcheck source=tests/vm/lib.sh
	. "$R/tests/vm/lib.sh"
	B=$R/build/vm/ring_bench
	N=2000 M=200
	read -ra words </proc/cmdline
	for w in "${words[@]}"; do
		case $w in
		mcai_bench_n=*) N=${w#*=} ;;
		mcai_bench_m=*) M=${w#*=} ;;
		esac
	done
	feat=" $(grep -m1 '^Features' /proc/cpuinfo | cut -d: -f2) "
	paths="off neon"
	case $feat in *" asimddp "*) paths="$paths dotprod" ;; esac
	rc=0
	for p in $paths; do
		echo "arm64_simd_bench: simd=$p"
		insmod "$MCAI_KO" simd="$p" || { rc=1; continue; }
		MCAI_SIMD=$p "$B" -i -n "$N" -m "$M" -f "$R/models/fmnist-mlp.mcai" ||
			rc=1
		rmmod mcai || rc=1
	done
	exit "$rc"
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO"
[[ -x build/arm64/vm/ring_bench ]] || { echo "arm64_simd_bench: make arm64 first" >&2; exit 2; }
rc=0
for cpu in ${MCAI_BENCH_CPUS:-cortex-a53 max}; do
	echo "arm64_simd_bench: -cpu $cpu, figures in guest instructions"
	MCAI_VM_APPEND="mcai_bench_n=${MCAI_BENCH_N:-2000} mcai_bench_m=${MCAI_BENCH_M:-200}" \
		tests/vm/run.sh --arch arm64 --cpu "$cpu" --icount \
		"$REPO/tests/bench/arm64_simd_bench.sh" || rc=1
done
exit "$rc"
