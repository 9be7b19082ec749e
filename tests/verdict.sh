# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the host-side shell suites' lib.sh (tests/fed/, tests/ops/):
# the test's NAME and ROOT, sanitizer options for the binaries it runs,
# the one verdict line (pass / fail with the tail of every log in $T /
# skip = exit 77) and a cleanup that kills what the test started (PIDS)
# and removes its scratch directory $T unless KEEP is set.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=$(basename "$0" .sh)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
PIDS=()

pass() { echo "PASS $NAME: $*"; exit 0; }
fail() {
	echo "FAIL $NAME: $*"
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 15 lines)"
		tail -n 15 "$f"
	done
	exit 1
}
skip() { echo "SKIP $NAME: $*"; exit 77; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
