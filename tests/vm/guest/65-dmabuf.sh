#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dma-buf import (kmod/dmabuf.c, MCAI_IOC_INFER_DMABUF): Fashion-MNIST
# images in a sealed memfd, exported as a dma-buf by udmabuf, run as
# frames in several layouts and compared bit-exact with MCAI_IOC_INFER;
# every hostile request refused with its errno (tests/vm/prog/
# dmabuf_check.c); `mcaictl infer-dmabuf` gives the classes `mcaictl
# infer` gives, and refuses a frame past the end; the module unloads
# afterwards.  Debian's 6.1 has no
# udmabuf (CONFIG_UDMABUF is not set): skipped there, exit 77.  6.12 has
# it built in.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
N=65-dmabuf
BLOB=$R/models/fmnist-mlp.mcai
CHK=$R/build/vm/dmabuf_check

for f in "$BLOB" "$CHK"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
[[ -c /dev/udmabuf ]] || modprobe -q udmabuf 2>/dev/null
if [[ ! -c /dev/udmabuf ]]; then
	cfg=$(grep -h '^# CONFIG_UDMABUF\|^CONFIG_UDMABUF' "/boot/config-$(uname -r)" 2>/dev/null)
	echo "$N: skipped: $(uname -r) has no /dev/udmabuf (${cfg:-no config found}); dma-buf import is tested on 6.12"
	exit 77
fi

rc=0
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$MCAI_KO" || { echo "$N: FAIL: insmod mcai"; exit 1; }
"$CHK" "$BLOB" || rc=1

# mcaictl infer-dmabuf: 40 frames of random int8 from a file, exported by
# udmabuf (whole pages: 32768 bytes), classed as mcaictl infer classes
# the same bytes; 41 frames from offset 784 end past the buffer
CTL=$R/build/mcaictl
tmp=$(mktemp -d)
"$CTL" load "$BLOB" >/dev/null || { echo "$N: FAIL: mcaictl load"; rc=1; }
head -c $((40 * 784)) /dev/urandom >"$tmp/frames"
"$CTL" --json infer --format raw fmnist-mlp "$tmp/frames" >"$tmp/a.json" || { echo "$N: FAIL: mcaictl infer"; rc=1; }
"$CTL" --json infer-dmabuf fmnist-mlp "$tmp/frames" >"$tmp/b.json" || { echo "$N: FAIL: mcaictl infer-dmabuf"; rc=1; }
/usr/bin/python3 - "$tmp/a.json" "$tmp/b.json" <<'PYEOF' || rc=1
import json, sys
a = [r["class"] for r in json.load(open(sys.argv[1]))["results"]]
b = json.load(open(sys.argv[2]))["classes"]
ok = len(a) == 40 and a == b
print("65-dmabuf: mcaictl infer-dmabuf: %d frames, %s" % (len(b), "the classes infer gives" if ok else "FAIL: %s vs %s" % (b, a)))
sys.exit(0 if ok else 1)
PYEOF
"$CTL" infer-dmabuf --offset 784 --frames 39 fmnist-mlp "$tmp/frames" | tail -1
"$CTL" infer-dmabuf --offset 784 --frames 41 fmnist-mlp "$tmp/frames" 2>/dev/null &&
	{ echo "$N: FAIL: a frame past the buffer's end accepted"; rc=1; }
"$CTL" unload fmnist-mlp >/dev/null || rc=1
rm -rf "$tmp"
grep -q '^mcai ' /proc/modules && { rmmod mcai || { echo "$N: FAIL: rmmod mcai"; rc=1; }; }
[[ $rc == 0 ]] && echo "$N: PASS"
exit $rc
