#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The deep check (make check-debug, not in CI): the guest tests on a 6.1
# debug kernel with KASAN, lockdep, DEBUG_ATOMIC_SLEEP, UBSAN and kmemleak.
# Builds that kernel once (tests/vm/debug-kernel.sh, ~20 min, cached in
# /var/tmp/mcai-debug-kernel), the modules against its tree into
# build/kmod/<its release>/, then boots it with tests/vm/run.sh.
#
# usage: tests/vm/check-debug.sh [run.sh options] [TEST...]
#   default TESTs: tests/vm/guest/*.sh.  Options go to run.sh after these
#   defaults, so they override them: --timeout ${MCAI_DEBUG_TIMEOUT:-2400}
#   (KASAN + lockdep under TCG: 4x run.sh's 600 s) --mem 2048 (KASAN's
#   shadow and kmemleak's metadata).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case ${1:-} in -h | --help) sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

opts=()
while (($#)) && [[ $1 == -* ]]; do
	case $1 in
	--keep | --shell) opts+=("$1"); shift ;;
	--) shift; break ;;
	*) opts+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
	esac
done
(($#)) || set -- "$HERE"/guest/*.sh

DEBUG_KREL='' DEBUG_KDIR='' DEBUG_IMAGE='' DEBUG_MODDIR=''
eval "$("$HERE/debug-kernel.sh" --print)"
[[ -n $DEBUG_KREL ]] || { echo "check-debug: no debug kernel" >&2; exit 2; }

echo "check-debug: building the modules for $DEBUG_KREL"
# The tree has CONFIG_WERROR (defconfig), Debian's kernels do not: keep
# warnings (e.g. KASAN's bigger stack frames over FRAME_WARN) visible but
# not fatal, as in the matrix build.
"$HERE/build-module.sh" "$DEBUG_KREL" "$DEBUG_KDIR" KCFLAGS=-Wno-error

exec "$HERE/run.sh" --kernel-image "$DEBUG_IMAGE" --modules-dir "$DEBUG_MODDIR" \
	--timeout "${MCAI_DEBUG_TIMEOUT:-2400}" --mem "${MCAI_DEBUG_MEM:-2048}" \
	"${opts[@]}" "$@"
