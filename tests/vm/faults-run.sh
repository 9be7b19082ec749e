#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fault injection (make check-faults, not in CI): the guest tests that
# allocate on the 6.1 debug kernel (tests/vm/check-debug.sh), each run by
# tests/vm/faults.sh with failslab, fail_page_alloc and fail_usercopy
# failing at random for the test's tasks.  A test passes when the module
# unloads afterwards and its live counters are 0; the run passes when, in
# addition, the kernel log has no BUG/WARNING/KASAN/lockdep/kmemleak
# report.  The test's own verdict does not count.
#
# usage: tests/vm/faults-run.sh [run.sh options] [TEST...]
#   default TESTs: the allocating guest tests (10-abi ... 80-signed).
#   Environment: MCAI_FAULT_PROB (10), MCAI_FAULT_INTERVAL (1),
#   MCAI_FAULT_ATTRS (failslab fail_page_alloc fail_usercopy),
#   MCAI_FAULT_VERBOSE (0), MCAI_FAULT_SCOPE (mcai | tree),
#   MCAI_FAULT_MODLOAD (0): see tests/vm/faults.sh.  MCAI_FAULT_TIMEOUT:
#   per test (default 900 s).  MCAI_FAULT_JOBS: guests at once (1).
#   MCAI_FAULT_LOGS: a directory to keep each test's console log in.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case ${1:-} in -h | --help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

opts=()
while (($#)) && [[ $1 == -* ]]; do
	case $1 in
	--keep | --shell) opts+=("$1"); shift ;;
	--) shift; break ;;
	*) opts+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
	esac
done
if ! (($#)); then
	for t in 10-abi 11-unpriv 12-reload 13-swap 20-hostile 40-ring \
		44-memlimits 45-mirror 51-pipeline 52-pipe-scratch \
		53-pipe-names 54-pipe-limits 80-signed; do
		set -- "$@" "$HERE/guest/$t.sh"
	done
fi

# One wrapper per test, named like it, outside the repo (run.sh maps
# /var/tmp paths for the guest).
W=$(mktemp -d /var/tmp/mcai-faults.XXXXXX)
trap 'rm -rf "$W"' EXIT
for t in "$@"; do
	t=$(realpath "$t")
	{
		echo '#!/bin/sh'
		printf 'exec /usr/bin/env'
		for v in MCAI_FAULT_PROB MCAI_FAULT_INTERVAL MCAI_FAULT_ATTRS \
			MCAI_FAULT_VERBOSE MCAI_FAULT_SCOPE MCAI_FAULT_MODLOAD; do
			[[ -z ${!v:-} ]] || printf ' %s=%q' "$v" "${!v}"
		done
		printf ' %q %q\n' "$HERE/faults.sh" "$t"
	} >"$W/${t##*/}"
	chmod +x "$W/${t##*/}"
done

DEBUG_KREL='' DEBUG_KDIR='' DEBUG_IMAGE='' DEBUG_MODDIR=''
eval "$("$HERE/debug-kernel.sh" --print)"
[[ -n $DEBUG_KREL ]] || { echo "check-faults: no debug kernel" >&2; exit 2; }
echo "check-faults: building the modules for $DEBUG_KREL"
"$HERE/build-module.sh" "$DEBUG_KREL" "$DEBUG_KDIR" KCFLAGS=-Wno-error

# One boot per test: the 9p root rarely survives a test under injection
# (tests/vm/faults.sh), and a broken root would void every later test.
tmo=${MCAI_FAULT_TIMEOUT:-900}
njobs=${MCAI_FAULT_JOBS:-1}
one() {
	local t=$1 name=${1##*/}
	"$HERE/run.sh" --kernel-image "$DEBUG_IMAGE" --modules-dir "$DEBUG_MODDIR" \
		--timeout "$tmo" --mem "${MCAI_DEBUG_MEM:-2048}" "${opts[@]}" \
		--log "$W/${name%.sh}.console" "$t" >"$W/${name%.sh}.out" 2>&1
	echo "check-faults: ${name%.sh}: $(tail -n 1 "$W/${name%.sh}.out")"
}
for t in "$W"/*.sh; do
	while (($(jobs -rp | wc -l) >= njobs)); do wait -n || :; done
	one "$t" &
done
wait

rc=0
echo "check-faults: per test (injected failures; verdict from the module's unload, counters and the kernel log):"
for t in "$W"/*.sh; do
	n=${t##*/}
	n=${n%.sh}
	[[ -s $W/$n.out ]] || { echo "check-faults:   $n: not run"; rc=1; continue; }
	log=$(tr -d '\r' <"$W/$n.out")
	# (grep finding nothing is no error here)
	grep -E '^faults: [^:]+: (injected|counters|FAIL|OK|the guest root)' <<<"$log" |
		sed 's/^faults: /check-faults:   /' || :
	grep -E '^mcai-vm: kernel: ' <<<"$log" | head -n 30 |
		sed 's/^/check-faults:   /' || :
	v=$(tail -n 1 "$W/$n.out")
	echo "check-faults:   $n: $v"
	[[ $v == "vm: PASS" ]] || rc=1
	[[ -z ${MCAI_FAULT_LOGS:-} ]] || cp "$W/$n.out" "$MCAI_FAULT_LOGS/$n.out"
done
((rc == 0)) && echo "check-faults: PASS" || echo "check-faults: FAIL"
exit "$rc"
