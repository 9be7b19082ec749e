#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make soak (not in make check): one guest running, for SOAK_MINUTES, the
# simulated sensor through the detector -> classifier chain, the eBPF
# telemetry, hot swaps, sessions opened and closed, and an mcaid
# federation (tests/soak/guest.sh), sampling memory and counters every
# SOAK_INTERVAL seconds; then a plot and a leak verdict
# (tests/soak/report.py) in tests/soak/KERNEL-DATE.{csv,png,txt}.
#
# usage: tests/soak/soak.sh
#   SOAK_MINUTES (60), SOAK_KERNEL (6.1 | 6.12 | 6.12-rt | debug: the 6.1
#   KASAN/lockdep/kmemleak kernel of tests/vm/check-debug.sh),
#   SOAK_INTERVAL (10 s), SOAK_SWAP_SECONDS (5), SOAK_NODES (3),
#   SOAK_RATE (25600 samples/s per axis; 6400 on debug), SOAK_WINDOW
#   (1024 samples), SOAK_TELEMETRY (on | off: the eBPF telemetry),
#   SOAK_MEM (2048 MB), SOAK_OUT (tests/soak).  The console goes to
#   build/soak/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VM=$REPO/tests/vm

case ${1:-} in -h | --help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

minutes=${SOAK_MINUTES:-60}
kernel=${SOAK_KERNEL:-6.1}
out=${SOAK_OUT:-$HERE}
[[ $minutes =~ ^[1-9][0-9]*$ ]] || { echo "soak: SOAK_MINUTES must be a positive integer" >&2; exit 2; }
mkdir -p "$out" "$REPO/build/soak"
base=$kernel-$(date +%Y%m%d-%H%M)
csv=$out/$base.csv
console=$REPO/build/soak/$base.console
guest_lines=$REPO/build/soak/$base.guest

# KASAN and lockdep make every inference several times dearer: on the
# debug kernel a quarter of the default rate keeps the sensor from
# starving the rest of the soak (and the sampler) on a shared host.
[[ $kernel != debug ]] || SOAK_RATE=${SOAK_RATE:-6400}

# The guest starts tests with a clean environment: the parameters reach
# it through a wrapper that sets them (as tests/vm/faults-run.sh does),
# outside the repo (run.sh maps /var/tmp paths for the guest).
W=$(mktemp -d /var/tmp/mcai-soak.XXXXXX)
trap 'rm -rf "$W"' EXIT
{
	echo '#!/bin/sh'
	printf 'exec /usr/bin/env'
	for v in SOAK_MINUTES SOAK_INTERVAL SOAK_SWAP_SECONDS SOAK_NODES \
		SOAK_RATE SOAK_WINDOW SOAK_TELEMETRY; do
		[[ -z ${!v:-} ]] || printf ' %s=%q' "$v" "${!v}"
	done
	printf ' %q\n' "$HERE/guest.sh"
} >"$W/soak.sh"
chmod +x "$W/soak.sh"

# The guest's limit: the soak plus its set-up and tear-down (the
# federation's certificates and first evaluation, the drain, kmemleak),
# which take minutes under KASAN.
tmo=$((minutes * 60 + 900))
# 2 GiB, as check-debug.sh gives its guests: the aggregator publishes a
# version every few seconds under TCG and its registry, in the guest's
# tmpfs, keeps each one (~100 KiB: the float master): some 250 MiB an hour.
mem=${SOAK_MEM:-2048}
case $kernel in
debug)
	runner=("$VM/check-debug.sh" --timeout "$tmo" --mem "$mem") ;;
6.1 | 6.12 | 6.12-rt)
	. "$VM/kernels.sh"
	kver=$(mcai_kver "$kernel")
	"$VM/build-module.sh" "$kver"
	runner=("$VM/run.sh" --kernel "$kver" --timeout "$tmo" --mem "$mem") ;;
*)
	echo "soak: SOAK_KERNEL is 6.1, 6.12, 6.12-rt or debug, not '$kernel'" >&2
	exit 2 ;;
esac

echo "soak: $kernel, $minutes min; CSV $csv, console $console"
# The CSV rows come on the console as "soak-csv: ..."; everything else is
# shown as it comes (a progress line a minute) and kept.
: >"$csv"
: >"$guest_lines"
set +e
"${runner[@]}" "$W/soak.sh" 2>&1 | while IFS= read -r line; do
	line=${line%$'\r'}
	printf '%s\n' "$line" >>"$console"
	case $line in
	"soak-csv: "*) printf '%s\n' "${line#soak-csv: }" >>"$csv" ;;
	*)
		printf '%s\n' "$line"
		# the guest's final word and the harness's, for the summary
		if [[ $line =~ ^(soak:\ [^0-9]|vm:\ |mcai-vm:\ (PASS|FAIL|SKIP|took)) ]]; then
			printf '%s\n' "$line" >>"$guest_lines"
		fi ;;
	esac
done
vm_rc=${PIPESTATUS[0]}
set -e

rep_rc=0
/usr/bin/python3 "$HERE/report.py" "$csv" "$out/$base.png" "$out/$base.txt" \
	"$guest_lines" || rep_rc=$?
echo "soak: summary $out/$base.txt, plot $out/$base.png"
if ((vm_rc == 0 && rep_rc == 0)); then
	echo "soak: PASS"
	exit 0
fi
g=PASS m=PASS
((vm_rc == 0)) || g=FAIL
((rep_rc == 0)) || m=FAIL
echo "soak: FAIL (guest run: $g, memory verdict: $m)"
exit 1
