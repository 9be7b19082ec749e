#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the modules against each kernel of the matrix and run the guest
# tests on that kernel.  Kernels: Debian's 6.1 (the reference gateway
# kernel), 6.12 and 6.12 PREEMPT_RT; and Debian's arm64 kernels, named
# arm64-6.1 or arm64-6.12, with @CPU for the guest's CPU model
# (arm64-6.1@max; default cortex-a53), run on make arm64's build.
#
# A test whose header has a line "# mcai-matrix: FLAVOUR..." runs on
# those of its flavours this run has; when the run has none of them, on
# the run's first kernel only.  End-to-end tests whose kernel-facing
# parts other tests cover on every kernel name one kernel each, so that
# the matrix spends its time where kernels differ.
#
# usage: tests/vm/matrix.sh [--kernels "6.1 6.12 6.12-rt"] TEST...
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
flavours=${MCAI_KERNELS:-"6.1 6.12 6.12-rt"}

while [ $# -gt 0 ]; do
	case $1 in
	--kernels) flavours=$2; shift 2 ;;
	--help)
		sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "matrix: no tests given" >&2; exit 2; }

# kver_of FLAVOUR: the release standing for it (tests/vm/kernels.sh;
# arm64: tests/vm/arm64.sh, which fetches it when missing).
. "$HERE/kernels.sh"
kver_of() {
	case $1 in
	arm64-*)
		eval "$("$HERE/arm64.sh" --print "$(arm64_flavour "$1")")"
		echo "$ARM64_KVER"
		;;
	*) mcai_kver "$1" ;;
	esac
}
# arm64-6.1@max: 6.1 and max
arm64_flavour() {
	local f=${1#arm64-}
	echo "${f%@*}"
}
arm64_cpu() {
	[[ $1 == *@* ]] && echo "${1#*@}" || echo cortex-a53
}

# Each kernel gets its own copy of the sources under build/kmod/KVER
# (arm64: build/arm64/kmod/KVER, cross-compiled).
build_for() {
	case $2 in
	arm64-*)
		eval "$("$HERE/arm64.sh" --print "$(arm64_flavour "$2")")"
		MCAI_BUILD=$(cd "$HERE/../.." && pwd)/build/arm64 "$HERE/build-module.sh" \
			"$1" "$ARM64_KDIR" ARCH=arm64 CROSS_COMPILE="${ARM64_CROSS:-aarch64-linux-gnu-}"
		;;
	*) "$HERE/build-module.sh" "$1" ;;
	esac
}

# All kernels together get MCAI_MATRIX_BUDGET seconds (default an hour,
# about five times what they need on a 2-core machine): guests that wedge
# must fail CI, not outlast it.
# tests_for FLAVOUR TEST...: the tests that run on FLAVOUR (the header
# rule above); says which are left to another kernel.
tests_for() {
	local f=$1 t want k here
	shift
	for t in "$@"; do
		want=$(sed -n '1,20s/^# mcai-matrix: *//p' "$t" | head -n 1)
		if [[ -z $want ]]; then
			echo "$t"
			continue
		fi
		here=
		for k in $want; do
			[[ " $flavours " == *" $k "* ]] && here+=" $k"
		done
		if [[ -z $here ]]; then
			[[ $f == "${flavours%% *}" ]] && echo "$t"
		elif [[ " $here " == *" $f "* ]]; then
			echo "$t"
		fi
	done
}

export MCAI_VM_DEADLINE=$((EPOCHSECONDS + ${MCAI_MATRIX_BUDGET:-3600}))

fail=0
summary=()
for f in $flavours; do
	kver=$(kver_of "$f")
	echo "matrix: === $f ($kver) ==="
	if ((MCAI_VM_DEADLINE - EPOCHSECONDS < 120)); then
		summary+=("$f: FAIL: not run, MCAI_MATRIX_BUDGET spent")
		fail=1
		continue
	fi
	mapfile -t tests < <(tests_for "$f" "$@")
	for t in "$@"; do
		[[ " ${tests[*]} " == *" $t "* ]] ||
			echo "matrix: $f: ${t##*/} runs on another kernel ($(sed -n '1,20s/^# \(mcai-matrix: .*\)/\1/p' "$t" | head -n 1))"
	done
	if ((${#tests[@]} == 0)); then
		summary+=("$f: no test for this kernel")
		continue
	fi
	if ! build_for "$kver" "$f"; then
		summary+=("$f: build FAILED")
		fail=1
		continue
	fi
	# The verdict again at the very end, where a truncated CI log
	# still shows it.
	out=$(mktemp)
	args=(--kernel "$kver")
	[[ $f != arm64-* ]] || args=(--arch arm64 --cpu "$(arm64_cpu "$f")" --kernel "$kver")
	if "$HERE/run.sh" "${args[@]}" "${tests[@]}" | tee "$out"; then
		summary+=("$f: PASS")
	else
		summary+=("$f: FAIL: $(grep -E '^vm: [0-9]+ passed' "$out" | tail -n 1 | cut -c5-)")
		# and the first signs of why: a watchdog's word, kernel reports
		while IFS= read -r l; do
			summary+=("$f:   ${l:0:200}")
		done < <(grep -E '^mcai-vm: .*(still running|timed out|no further test)|^vm:   \[|^vm: FAIL: (no power-off|QEMU exited)' "$out" | head -n 4)
		fail=1
	fi
	rm -f "$out"
done
printf 'matrix: %s\n' "${summary[@]}"
exit $fail
