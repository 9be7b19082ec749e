#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# How long a high-priority small model waits while a big one runs: the
# simulated sensor (mcai_simsensor.ko, an hrtimer feeding vib-detector
# through the driver API) with vib-detector at MCAI_PRIO_HIGH, first
# alone, then while ResNet-8 (models/mlperf-tiny/ic-resnet8.mcai, 12.5 M
# MACs) streams through INFER and a session at normal priority.  The
# figure is the sensor's worst submit-to-result latency, in guest
# instructions: the guest runs with one vCPU under -icount shift=0.
#
# It runs twice, with mcai.ko built as shipped (the engine yields
# between ops and output rows, models/engine/port.h) and built with
# -DMCAI_ENGINE_NO_YIELD (a model holds the CPU for its whole run), and
# prints both.  Figures, not a test.
#
# usage: tests/bench/preempt_bench.sh [KERNEL-SERIES]   (default 6.1)
set -euo pipefail

if [[ -n ${MCAI_VM:-} ]]; then
	R=${MCAI_ROOT:?}
	# shellcheck source=tests/vm/lib.sh
	. "$R/tests/vm/lib.sh"
	P=/sys/module/mcai_simsensor/parameters
	val() { awk -v k="$1" '$1 == k { print $2 }' "$P/stats"; }
	wait_results() {	# wait_results N: det_results >= N
		local i
		for ((i = 0; i < 600; i++)); do
			(($(val det_results) >= $1)) && return 0
			sleep 0.1
		done
		echo "preempt: waited for $1 sensor results, have $(val det_results)"
		return 1
	}
	insmod "$MCAI_KO"
	"$R/build/mcaictl" load "$R/models/vib-detector.mcai" >/dev/null
	"$R/build/vm/model_policy" vib-detector high
	insmod "$(mcai_ko mcai_simsensor)" model=vib-detector window=256
	wait_results 20
	idle=$(val det_latency_max_ns)
	idle_avg=$(val det_latency_avg_ns)
	n0=$(val det_results)
	"$R/build/vm/graph_bitexact" --samples 8 \
		"$R/models/mlperf-tiny/ic-resnet8.mcai" >/dev/null
	n1=$(val det_results)
	echo "preempt: $(uname -r): worst wait alone $idle (mean $idle_avg), with ResNet-8 running $(val det_latency_max_ns) (mean $(val det_latency_avg_ns)) guest instructions; $((n1 - n0)) sensor windows during ResNet-8, $(val det_mcai_dropped) dropped"
	rmmod mcai_simsensor
	rmmod mcai
	exit 0
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO"
. "$REPO/tests/vm/kernels.sh"
kver=$(mcai_kver "${1:-6.1}") || exit 2

make build/vm/graph_bitexact build/vm/model_policy build/mcaictl
rc=0
for build in no-yield yield; do
	flags=()
	[[ $build == no-yield ]] && flags=(KCFLAGS=-DMCAI_ENGINE_NO_YIELD)
	tests/vm/build-module.sh "$kver" "/usr/src/linux-headers-$kver" \
		"${flags[@]}" >/dev/null
	tests/vm/run.sh --kernel "$kver" --icount \
		"$REPO/tests/bench/preempt_bench.sh" |
		sed -n "s/^preempt: /preempt: $build: /p" || rc=1
done
exit "$rc"
