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
# In the guest (MCAI_VM=1, set by the harness): insmod, ring_bench,
# rmmod, simsensor_rate.sh.
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
	insmod "$MCAI_KO"
	rc=0
	icount=()
	grep -qw mcai_icount=1 /proc/cmdline && icount=(-i)
	"$B" "${icount[@]}" -f "$R/models/fmnist-mlp.mcai" "$@" || rc=$?
	rmmod mcai || rc=1
	"$R/tests/bench/simsensor_rate.sh" || rc=1
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
