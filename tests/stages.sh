#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`'s driver: runs each stage (a make target) in order, stops
# at the first that fails, and ends with how long each took, so that a
# slow CI run says where its time went.
#   tests/stages.sh TARGET...
set -u
cd "$(dirname "$0")/.."

make=${MAKE:-make}
names=() secs=()
report() {
	local i total=0
	echo "check: time per stage"
	for i in "${!names[@]}"; do
		printf '  %-16s %5d s\n' "${names[$i]}" "${secs[$i]}"
		total=$((total + secs[i]))
	done
	printf '  %-16s %5d s\n' total "$total"
}

for t in "$@"; do
	t0=$SECONDS
	$make --no-print-directory "$t"
	rc=$?
	names+=("$t")
	secs+=($((SECONDS - t0)))
	if [ $rc -ne 0 ]; then
		report
		echo "check: stage $t failed (exit $rc)"
		exit 1
	fi
done
report
