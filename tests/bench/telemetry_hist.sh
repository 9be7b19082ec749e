#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The eBPF telemetry's latency histogram, measured (make plot-data-latency):
# one guest boot with -icount (a guest nanosecond is one guest
# instruction, so the figures repeat), the telemetry attached, then
#   * models/fmnist-mlp.mcai and models/fmnist-cnn.mcai: random images
#     through `mcaictl infer` (the ioctl path), MCAI_HIST_MLP (400) and
#     MCAI_HIST_CNN (60) of them;
#   * the simulated vibration sensor feeding vib-detector and, the same
#     windows, vib-classifier, until MCAI_HIST_DET (300) detector results;
# and `mcaictl --json telemetry hist NAME` for each model, as a user would
# read it.  The guest prints those lines with a "HIST " prefix on the
# console; the host turns them into bpf/latency-hist.txt: one row per
# log2 bucket [2^b, 2^(b+1)) ns, a column of inferences per model.
#
# usage: tests/bench/telemetry_hist.sh [OUT]   (default bpf/latency-hist.txt)
set -euo pipefail

MODELS="fmnist-mlp fmnist-cnn vib-detector vib-classifier"
# TCG under -icount on a shared host runs some 10^7 guest instructions a
# second: these counts keep the guest within a few minutes.
export MCAI_HIST_MLP=${MCAI_HIST_MLP:-400} MCAI_HIST_CNN=${MCAI_HIST_CNN:-60}
export MCAI_HIST_DET=${MCAI_HIST_DET:-300}

if [[ -n ${MCAI_VM:-} ]]; then
	R=${MCAI_ROOT:?}
	. "$R/tests/vm/lib.sh"
	N=telemetry_hist
	CTL=$R/build/mcaictl
	SIM=$(mcai_ko mcai_simsensor)
	T=$(mktemp -d)
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
	grep -q '^mcai ' /proc/modules && rmmod mcai
	insmod "$MCAI_KO"
	"$CTL" telemetry disable --purge > /dev/null 2>&1 || true
	"$CTL" telemetry enable > /dev/null
	for m in $MODELS; do
		"$CTL" load "$R/models/$m.mcai" > /dev/null
	done
	infer() {		# infer MODEL COUNT: COUNT random inputs
		local len
		len=$("$CTL" --json show "$1" |
			sed -n 's/.*"input_len": *\([0-9]*\).*/\1/p' | head -n 1)
		[[ $len ]] || { echo "$N: no input_len for $1"; return 1; }
		head -c $((len * $2)) /dev/urandom > "$T/in"
		"$CTL" infer --format raw -q "$1" "$T/in" > /dev/null
	}
	echo "$N: $MCAI_HIST_MLP fmnist-mlp, $MCAI_HIST_CNN fmnist-cnn inferences"
	infer fmnist-mlp "$MCAI_HIST_MLP"
	infer fmnist-cnn "$MCAI_HIST_CNN"
	want=$MCAI_HIST_DET
	echo "$N: the sensor until $want detector results"
	insmod "$SIM" rate=2560 seed=7 fault=1 classifier=vib-classifier
	det_done() {
		(($(awk '$1 == "det_mcai_completed" { print $2 }' "$SIM_P/stats") >= want))
	}
	wait_for 600 "$want detector results" det_done
	sim_pause
	for m in $MODELS; do
		echo "HIST $("$CTL" --json telemetry hist "$m" | tr -d '\n ')"
	done
	"$CTL" telemetry show
	rmmod mcai_simsensor
	"$CTL" telemetry disable --purge > /dev/null
	for m in $MODELS; do
		"$CTL" unload "$m" > /dev/null
	done
	rmmod mcai
	rm -rf "$T"
	exit 0
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/bpf/latency-hist.txt}
cd "$REPO"
. "$REPO/tests/vm/kernels.sh"
kver=$(mcai_kver 6.1) || exit 2
make build/mcaictl
tests/vm/build-module.sh "$kver"
LOG=$(mktemp /tmp/mcai-hist.XXXXXX)
trap 'rm -f "$LOG" "$LOG.json"' EXIT
tests/vm/run.sh --kernel "$kver" --icount --log "$LOG" \
	"$REPO/tests/bench/telemetry_hist.sh"
# the console may end lines in CR
sed -n 's/\r$//; s/^HIST //p' "$LOG" > "$LOG.json"
[[ $(wc -l < "$LOG.json") -eq $(wc -w <<< "$MODELS") ]] ||
	{ echo "telemetry_hist: expected one HIST line per model" >&2; exit 1; }
{
	echo "# make plot-data-latency (tests/bench/telemetry_hist.sh): eBPF telemetry"
	echo "# latency histogram, start to end of each inference, one guest boot of"
	echo "# Debian $kver under QEMU TCG -icount (1 guest ns = 1 guest instruction),"
	echo "# fmnist-mlp/-cnn: random images through the ioctl (mcaictl infer);"
	echo "# vib-detector, vib-classifier: the simulated sensor feeding both the same windows"
	printf '# inferences:'
	jq -r '" \(.name) \(.count)"' "$LOG.json" | tr -d '\n'
	echo
	printf 'lo_ns hi_ns'
	jq -r '" \(.name)"' "$LOG.json" | tr -d '\n'
	echo
	jq -s -r '(.[0].latency_log2_ns | length) as $n |
		range(0; $n) as $b |
		[pow(2; $b), pow(2; $b + 1)] + [.[].latency_log2_ns[$b]] |
		map(tostring) | join(" ")' "$LOG.json"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
