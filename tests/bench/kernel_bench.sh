#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tracker issue 3: inferences/s of the zero-copy ring, the synchronous
# MCAI_IOC_INFER ioctl and the user-space engine, in one guest run, on a
# ~1k-MAC model and on models/fmnist-mlp.mcai (build/vm/ring_bench); then
# the highest simulated-sensor rate sustained with zero drops
# (tests/bench/simsensor_rate.sh).
#
# On the host: builds mcai.ko and mcai_simsensor.ko for the newest Debian
# 6.1 kernel with tests/vm/build-module.sh and boots that kernel with
# tests/vm/run.sh --smp 1, running this same script in the guest, twice:
#   - with --icount (-accel tcg,thread=single -icount shift=0): the guest
#     clock counts instructions, so every figure is in "guest
#     instructions" (ns = instructions) and repeats from run to run;
#   - under plain TCG: times mean nothing, only the ratios do.
# MCAI_BENCH_MODE=icount|tcg runs only one of them (default: both).
# MCAI_BENCH_SIMD lists the engine's SIMD paths to measure in the same
# boot (default "auto off": the best the guest CPU has, then scalar);
# MCAI_BENCH_SENSOR=0 leaves out simsensor_rate.sh.
# In the guest (MCAI_VM=1, set by the harness), for each path: insmod
# simd=PATH, MCAI_SIMD=PATH ring_bench, rmmod; then simsensor_rate.sh.
#
# usage: tests/bench/kernel_bench.sh
set -euo pipefail

if [[ -n ${MCAI_VM:-} ]]; then
	R=${MCAI_ROOT:?}
	# shellcheck source=tests/vm/lib.sh
	. "$R/tests/vm/lib.sh"
	B=$R/build/vm/ring_bench
	[[ -e $MCAI_KO && -x $B ]] || { echo "kernel_bench: build $MCAI_KO and $B first"; exit 1; }
	if grep -q '^mcai_simsensor ' /proc/modules; then
		rmmod mcai_simsensor
	fi
	if grep -q '^mcai ' /proc/modules; then
		rmmod mcai
	fi
	rc=0
	icount=()
	paths="auto off" sensor=1
	read -ra words </proc/cmdline
	for w in "${words[@]}"; do
		case $w in
		mcai_icount=1) icount=(-i) ;;
		mcai_bench_simd=*) paths=${w#*=}; paths=${paths//,/ } ;;
		mcai_bench_sensor=*) sensor=${w#*=} ;;
		esac
	done
	# Each SIMD path in turn, the module and the user-space engine alike.
	for p in $paths; do
		echo "kernel_bench: simd=$p"
		insmod "$MCAI_KO" simd="$p" || { rc=1; continue; }
		MCAI_SIMD=$p "$B" "${icount[@]}" -f "$R/models/fmnist-mlp.mcai" "$@" || rc=1
		rmmod mcai || rc=1
	done
	[[ $sensor == 0 ]] || "$R/tests/bench/simsensor_rate.sh" || rc=1
	exit "$rc"
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO"

# The newest installed 6.1 release with an image and headers.
. "$REPO/tests/vm/kernels.sh"
kver=$(mcai_kver 6.1) || exit 2

make build/vm/ring_bench
# simsensor_rate.sh loads the vibration models with it
[[ -x build/mcaictl ]] || make build/mcaictl
tests/vm/build-module.sh "$kver"
mode=${MCAI_BENCH_MODE:-both}
simd=${MCAI_BENCH_SIMD:-auto off}
export MCAI_VM_APPEND="${MCAI_VM_APPEND:+$MCAI_VM_APPEND }mcai_bench_simd=${simd// /,} mcai_bench_sensor=${MCAI_BENCH_SENSOR:-1}"
rc=0
if [[ $mode == both || $mode == icount ]]; then
	echo "kernel_bench: -icount run: figures in guest instructions"
	tests/vm/run.sh --kernel "$kver" --icount "$REPO/tests/bench/kernel_bench.sh" || rc=1
fi
if [[ $mode == both || $mode == tcg ]]; then
	echo "kernel_bench: plain TCG run: only the ratios mean anything"
	tests/vm/run.sh --kernel "$kver" --smp 1 "$REPO/tests/bench/kernel_bench.sh" || rc=1
fi
exit "$rc"
