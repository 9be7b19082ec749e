#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tracker issue 3: the highest simulated-sensor rate mcai sustains with
# zero drops.  Guest only (run by tests/bench/kernel_bench.sh; mcai.ko
# must not be loaded).
#
# For each configuration, mcai_simsensor.ko runs at a rate for STEP_S
# seconds, is paused (run=0), and once its clients have drained the rate
# passes when, for every client, submitted = completed, dropped = shed =
# 0, the timer never fell behind (lagged_samples = 0) and at least 90% of
# rate * STEP_S samples were generated.  The search doubles the rate from
# 3200 samples/s per axis (the module's default; the simulated 1100 Hz
# resonance needs more than 2200) to the simulator's cap (MCAI_VIB_MAX_FS,
# 102400 = 3200 * 32), then bisects between the last pass and the first failure down
# to 1/32 of the pass.  Configurations: the shipped pair (vib-detector +
# vib-classifier) on ~160 ms windows, the rings at mcai's default size;
# and a stress case, 256-sample windows (the smallest: the most
# inferences per sample) into one input slot per client, so any window
# that arrives while the previous one is still queued is dropped.
#
# Under -icount the guest clock counts instructions: the rates are then
# "samples per guest-instruction-second" (10^9 guest instructions), and
# repeat from run to run; under plain TCG they are TCG-time rates.
#
# usage (guest): simsensor_rate.sh [STEP_S]
set -u
[[ ${MCAI_VM:-} ]] || { echo "simsensor_rate: not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
CTL=$R/build/mcaictl
SIM=$(mcai_ko mcai_simsensor)
P=/sys/module/mcai_simsensor/parameters
STEP_S=${1:-3}
MAX_FS=102400		# MCAI_VIB_MAX_FS (models/sensor/vibration.h)
N=simsensor_rate

unit="samples/s per axis (TCG time)"
grep -qw mcai_icount=1 /proc/cmdline &&
	unit="samples per guest-instruction-second per axis (-icount: 10^9 guest instructions)"

for f in "$MCAI_KO" "$SIM" "$CTL" "$R/models/vib-detector.mcai" \
	 "$R/models/vib-classifier.mcai"; do
	[[ -e $f ]] || { echo "$N: missing $f (make tools, make vib-models)"; exit 1; }
done

val() {			# val SNAPSHOT NAME
	awk -v k="$2" '$1 == k { print $2 }' <<<"$1"
}

# trial RATE ARGS...: 0 when RATE is sustained with zero drops; prints
# one line either way.
trial() {
	local rate=$1 b i p s c d h l smp ok=1 why=""
	shift
	if ! insmod "$SIM" rate="$rate" "$@" 2>/dev/null; then
		echo "$N:   rate $rate: insmod refused"
		return 1
	fi
	sleep "$STEP_S"
	echo 0 >"$P/run"
	# drain: every window committed so far gets its result
	for ((i = 0; i < 100; i++)); do
		b=$(cat "$P/stats")
		ok=1
		for p in det cls; do
			s=$(val "$b" ${p}_mcai_submitted)
			[[ -n $s ]] || continue
			c=$(val "$b" ${p}_mcai_completed)
			d=$(val "$b" ${p}_mcai_dropped)
			h=$(val "$b" ${p}_mcai_shed)
			((s == c + d + h)) || ok=0
		done
		((ok)) && break
		sleep 0.1
	done
	rmmod mcai_simsensor || { echo "$N: rmmod mcai_simsensor failed"; exit 1; }
	ok=1
	l=$(val "$b" lagged_samples)
	smp=$(val "$b" samples)
	((l == 0)) || { ok=0; why+=" lagged $l"; }
	((smp * 10 >= rate * STEP_S * 9)) ||
		{ ok=0; why+=" only $smp samples in ${STEP_S}s"; }
	for p in det cls; do
		s=$(val "$b" ${p}_mcai_submitted)
		[[ -n $s ]] || continue
		c=$(val "$b" ${p}_mcai_completed)
		d=$(val "$b" ${p}_mcai_dropped)
		h=$(val "$b" ${p}_mcai_shed)
		((s > 0 && s == c && d == 0 && h == 0)) ||
			{ ok=0; why+=" $p: submitted $s completed $c dropped $d shed $h"; }
	done
	if ((ok)); then
		echo "$N:   rate $rate: ok ($(val "$b" windows) windows)"
		return 0
	fi
	echo "$N:   rate $rate: drops:$why"
	return 1
}

# search LABEL ARGS...: the highest sustained rate for that configuration
search() {
	local label=$1 good=0 bad=0 r=3200 mid
	shift
	echo "$N: $label"
	while :; do
		if trial "$r" "$@"; then
			good=$r
			((r >= MAX_FS)) && break
			r=$((r * 2 > MAX_FS ? MAX_FS : r * 2))
		else
			bad=$r
			break
		fi
	done
	if ((bad && good)); then
		while ((bad - good > good / 32)); do
			mid=$(((good + bad) / 2))
			if trial "$mid" "$@"; then good=$mid; else bad=$mid; fi
		done
	fi
	if ((good == 0)); then
		echo "$N: $label: max sustained rate with zero drops: below 3200 $unit"
	elif ((bad == 0)); then
		echo "$N: $label: max sustained rate with zero drops: >= $good $unit (the simulator's cap)"
	else
		echo "$N: $label: max sustained rate with zero drops: $good $unit (drops at $bad)"
	fi
}

grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$MCAI_KO" || { echo "$N: insmod mcai failed"; exit 1; }
rc=0
if "$CTL" load "$R/models/vib-detector.mcai" >/dev/null &&
   "$CTL" load "$R/models/vib-classifier.mcai" >/dev/null; then
	search "vib-detector + vib-classifier, ~160 ms windows, default rings" \
		classifier=vib-classifier
	search "vib-detector + vib-classifier, 256-sample windows, 1 input slot each" \
		classifier=vib-classifier window=256 slots=1
else
	echo "$N: cannot load the vibration models"
	rc=1
fi
"$CTL" unload vib-classifier >/dev/null 2>&1
"$CTL" unload vib-detector >/dev/null 2>&1
rmmod mcai || rc=1
exit "$rc"
