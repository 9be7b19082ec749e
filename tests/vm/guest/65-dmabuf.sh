#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dma-buf import (kmod/dmabuf.c, MCAI_IOC_INFER_DMABUF): Fashion-MNIST
# images in a sealed memfd, exported as a dma-buf by udmabuf, run as
# frames in several layouts and compared bit-exact with MCAI_IOC_INFER;
# every hostile request refused with its errno (tests/vm/prog/
# dmabuf_check.c); `mcaictl infer-dmabuf` gives the classes `mcaictl
# infer` gives; the module unloads afterwards.  Debian's 6.1 has no
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
grep -q '^mcai ' /proc/modules && { rmmod mcai || { echo "$N: FAIL: rmmod mcai"; rc=1; }; }
[[ $rc == 0 ]] && echo "$N: PASS"
exit $rc
