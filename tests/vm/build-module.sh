#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the modules for one kernel in build/kmod/KVER/, against KDIR
# (default: Debian's headers, /usr/src/linux-headers-KVER; a full kernel
# build tree works too, e.g. the debug kernel of tests/vm/debug-kernel.sh).
# The guest tests find the result as build/kmod/$MCAI_KVER/kmod/*.ko
# (tests/vm/lib.sh).
#
# usage: tests/vm/build-module.sh KVER [KDIR [MAKE-ARG...]]
#   MAKE-ARGs go to the kbuild make (e.g. KCFLAGS=..., or ARCH=arm64
#   CROSS_COMPILE=aarch64-linux-gnu- for a cross-build).
#   MCAI_BUILD (default build/) is where kmod/KVER/ goes: the arm64 build
#   keeps everything under build/arm64/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

(($# >= 1)) || { sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
kver=$1
kdir=${2:-/usr/src/linux-headers-$kver}
shift $(($# >= 2 ? 2 : 1))

# Kbuild builds in the source tree, so each kernel gets its own copy.
dir=${MCAI_BUILD:-$REPO/build}/kmod/$kver
# A file is copied only when its contents changed, and gets a fresh mtime
# then: preserving the source's mtime could leave an object built from an
# older copy looking newer than the new one, and kbuild would keep it.
sync_file() {
	cmp -s "$1" "$2/${1##*/}" || cp "$1" "$2/"
}

mkdir -p "$dir"
sync_file "$REPO/Kbuild" "$dir"
# What goes into a .ko (tests/layout.sh keeps the rest out of these rooms).
for d in kmod models/engine models/sensor uapi; do
	mkdir -p "$dir/$d"
	for f in "$REPO/$d"/*.[ch]; do
		# kbuild's generated files belong to the other build
		[[ $f == *.mod.c ]] || sync_file "$f" "$dir/$d"
	done
	[ ! -e "$REPO/$d/Kbuild" ] || sync_file "$REPO/$d/Kbuild" "$dir/$d"
done
make -s -C "$kdir" M="$dir" "$@" modules
