#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcaictl metrics: the Prometheus exposition passes `promtool check
# metrics` with every source absent, with the module alone, with the
# eBPF telemetry and with the simulated sensor running; its figures are
# the ones the inferences made: N inferences through the ioctl give
# mcai_inferences_total N, the histogram's _count and +Inf bucket N with
# cumulative buckets, mcai_model_inferences_total N, mcai_drift_samples N,
# energy > 0 with source "modelled"; the sensor's results and escalations
# equal its own counters once it is paused; -o replaces the file whole.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
N=71-metrics
PROMTOOL=$(command -v promtool || echo /usr/bin/promtool)
TMP=$(mktemp -d)
NINF=7

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

for f in "$KO" "$SIM" "$CTL"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
if [[ ! -x $PROMTOOL ]]; then
	# the arm64 guest's own root (tests/vm/arm64.sh) has no prometheus
	[[ $(uname -m) == x86_64 ]] || { echo "$N: SKIP: no promtool in this guest's root"; exit 77; }
	echo "$N: FAIL: promtool not found (Debian prometheus)"
	exit 1
fi

cleanup() {
	"$CTL" telemetry disable --purge > /dev/null 2>&1
	grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
	grep -q '^mcai ' /proc/modules && rmmod mcai
	rm -rf "$TMP"
}

# check STEP: metrics to $TMP/STEP.prom, promtool-clean
check() {
	"$CTL" metrics > "$TMP/$1.prom" || { fail "$1: mcaictl metrics"; return 1; }
	"$PROMTOOL" check metrics < "$TMP/$1.prom" > "$TMP/$1.lint" 2>&1 ||
		fail "$1: promtool: $(cat "$TMP/$1.lint")"
}
# value STEP SAMPLE: the value of the sample line named exactly SAMPLE
value() {
	awk -v s="$2" '$1 == s { print $2; f = 1 } END { exit !f }' "$TMP/$1.prom"
}
expect() {		# expect STEP SAMPLE VALUE
	local v
	v=$(value "$1" "$2") || { fail "$1: no sample $2"; return; }
	[[ $v == "$3" ]] || fail "$1: $2 = $v, want $3"
}

grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
"$CTL" telemetry disable --purge > /dev/null 2>&1

# 1. nothing there: every source reported down, still valid
check none
expect none mcai_module_up 0
expect none mcai_telemetry_up 0
expect none mcai_simsensor_up 0

insmod "$KO" || { echo "$N: FAIL: insmod"; cleanup; exit 1; }
simd=$(cat /sys/module/mcai/parameters/simd)

# 2. the module alone
"$CTL" load "$R/models/fmnist-mlp.mcai" > /dev/null || fail "load fmnist-mlp"
ver=$("$CTL" --json show fmnist-mlp | sed -n 's/.*"version": *\([0-9]*\).*/\1/p' | head -n 1)
[[ $ver ]] || fail "no version of fmnist-mlp"
check module
expect module mcai_module_up 1
expect module "mcai_simd_path_info{path=\"$simd\"}" 1
expect module mcai_models_loaded 1
expect module "mcai_model_inferences_total{model=\"fmnist-mlp\"}" 0
expect module "mcai_drift_samples{model=\"fmnist-mlp\",version=\"$ver\"}" 0

# 3. telemetry on, NINF inferences through the ioctl
tel=1
printf '# one row\nname test\n1000000 1234 nominal\n' > "$TMP/p.power"
"$CTL" telemetry enable --power-table "$TMP/p.power" > /dev/null ||
	fail "telemetry enable"
head -c $((784 * NINF)) /dev/urandom > "$TMP/in"
"$CTL" infer --format raw -q fmnist-mlp "$TMP/in" > /dev/null || fail "infer"
check tel
L="model=\"fmnist-mlp\",version=\"$ver\""
expect tel "mcai_model_inferences_total{model=\"fmnist-mlp\"}" $NINF
expect tel "mcai_drift_samples{$L}" $NINF
if ((tel)); then
	expect tel mcai_telemetry_up 1
	expect tel "mcai_inferences_total{$L}" $NINF
	expect tel "mcai_drops_total{$L}" 0
	expect tel "mcai_inference_latency_seconds_count{$L}" $NINF
	expect tel "mcai_inference_latency_seconds_bucket{$L,le=\"+Inf\"}" $NINF
	# buckets cumulative, ending at the count; sum positive
	awk -v l="mcai_inference_latency_seconds_bucket{$L,le=" -v n=$NINF '
		index($1, l) == 1 { if ($2 < prev) bad = 1; prev = $2; k++ }
		END { exit bad || k != 33 || prev != n }' "$TMP/tel.prom" ||
		fail "histogram buckets not cumulative to $NINF (33 buckets)"
	s=$(value tel "mcai_inference_latency_seconds_sum{$L}")
	awk -v s="$s" 'BEGIN { exit !(s > 0) }' || fail "latency sum $s"
	e=$(value tel "mcai_energy_joules_total{$L,source=\"modelled\"}") ||
		fail "no modelled energy sample"
	awk -v e="${e:-0}" 'BEGIN { exit !(e > 0) }' || fail "energy $e J"
fi

# 4. -o: written whole, the same families
"$CTL" metrics -o "$TMP/out.prom" || fail "metrics -o"
[[ ! -e $TMP/out.prom.tmp ]] || fail "temp file left behind"
"$PROMTOOL" check metrics < "$TMP/out.prom" > /dev/null 2>&1 || fail "-o file not valid"
grep -q "^mcai_model_inferences_total{model=\"fmnist-mlp\"} $NINF\$" "$TMP/out.prom" ||
	fail "-o file lacks the inference count"

# 5. the simulated sensor: its results and escalations as it counts them
"$CTL" load "$R/models/vib-detector.mcai" > /dev/null || fail "load vib-detector"
"$CTL" load "$R/models/vib-classifier.mcai" > /dev/null || fail "load vib-classifier"
if insmod "$SIM" rate=2560 seed=7 fault=0 classifier=vib-classifier; then
	at_least() { (($(awk -v k="$1" '$1 == k { print $2 }' "$SIM_P/stats") >= $2)); }
	wait_for 120 "20 detector results" at_least det_mcai_completed 20 ||
		fail "sensor produced no results"
	sim_pause || fail "sensor did not go idle"
	check sim
	expect sim mcai_simsensor_up 1
	for p in det cls; do
		m=$(cat "$SIM_P/model")
		[[ $p == cls ]] && m=$(cat "$SIM_P/classifier")
		want=$(awk -v k=${p}_mcai_completed '$1 == k { print $2 }' <<< "$SIM_STATS")
		expect sim "mcai_session_results_total{model=\"$m\",session=\"simsensor-$p\"}" "$want"
		want=$(awk -v k=${p}_mcai_escalated '$1 == k { print $2 }' <<< "$SIM_STATS")
		expect sim "mcai_escalations_total{model=\"$m\",session=\"simsensor-$p\"}" "$want"
	done
	rmmod mcai_simsensor || fail "rmmod mcai_simsensor"
else
	fail "insmod mcai_simsensor"
fi

"$CTL" telemetry disable --purge > /dev/null 2>&1
for m in fmnist-mlp vib-detector vib-classifier; do
	"$CTL" unload $m > /dev/null || fail "unload $m"
done
live_zero "after the test" || rc=1
cleanup
((rc)) || echo "$N: all checks passed"
exit "$rc"
