#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks on everything compiled into the kernel: sparse (C=2) on a
# full module build, and checkpatch.pl from Debian's linux-source-6.1.
# Any warning fails.
set -eu
cd "$(dirname "$0")/.."

KDIR=${KDIR:?KDIR not set}
cache=${MCAI_SRC_CACHE:-/var/tmp/mcai-linux-src}
tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
checkpatch=$cache/scripts/checkpatch.pl

if [ ! -x "$checkpatch" ]; then
	[ -n "$tarball" ] || { echo "static: linux-source-6.1 not installed" >&2; exit 1; }
	mkdir -p "$cache"
	tar -xJf "$tarball" -C "$cache" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
fi

# Sources that end up in a .ko: the module and the shared model library.
mapfile -t files < <(ls kmod/*.[ch] models/engine/*.[ch] models/sensor/*.[ch] |
	grep -v '\.mod\.c$')

fail=0
echo "static: checkpatch on ${#files[@]} files"
if ! "$checkpatch" --no-tree --strict --quiet --show-types \
	--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES,NEW_TYPEDEFS \
	-f "${files[@]}"; then
	fail=1
fi
# uapi headers cannot use BIT(): user space has no such macro.
if ! "$checkpatch" --no-tree --strict --quiet --show-types \
	--ignore SPDX_LICENSE_TAG,BIT_MACRO -f uapi/mcai.h; then
	fail=1
fi

echo "static: sparse (make C=2)"
log=$(mktemp)
make -s -C "$KDIR" M="$PWD" C=2 modules >"$log" 2>&1 || { cat "$log"; fail=1; }
if grep -E 'warning:|error:' "$log"; then
	fail=1
fi
rm -f "$log"

if [ $fail -ne 0 ]; then
	echo "static: FAILED"
	exit 1
fi
echo "static: clean"
