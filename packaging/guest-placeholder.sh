#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest (packaging/check-deb.sh, after a deliberately failed DKMS
# build): the placeholder DKMS installed instead of mcai.ko refuses to
# load, and the kernel log names the version, this kernel and where the
# build's errors are.
set -u
N=guest-placeholder
KVER=$(uname -r)
fail() {
	echo "$N: FAIL: $*"
	exit 1
}

desc=$(modinfo -F description mcai) || fail "modinfo finds no mcai"
[[ $desc == *placeholder* ]] || fail "mcai is '$desc', not the placeholder"
out=$(modprobe mcai 2>&1) && fail "the placeholder loaded"
msg="did not build for kernel $KVER, this is a placeholder: see make.log under /var/lib/dkms/mcai/"
dmesg | grep -qF "$msg" ||
	fail "the refusal ($out) did not name the build log: $(dmesg | tail -n 3)"
[[ ! -d /sys/module/mcai ]] || fail "/sys/module/mcai exists"
echo "$N: modprobe mcai: $out"
echo "$N: $(dmesg | grep -F "$msg" | tail -n 1)"
echo "$N: PASS ($KVER)"
