#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest sanity: the harness gave us the kernel, mounts and users that the
# other guest tests rely on.  Exit 0 pass, 1 fail, 77 skip.

[[ -n ${MCAI_VM:-} ]] || { echo "not in the mcai test VM"; exit 77; }

rc=0
fail() {
	echo "00-sanity: FAIL: $*"
	rc=1
}

[[ $(uname -r) == "$MCAI_KVER" ]] ||
	fail "uname -r is $(uname -r), expected $MCAI_KVER"

[[ -d $MCAI_ROOT/tests/vm ]] || fail "MCAI_ROOT=$MCAI_ROOT is not the repo"
# The host root must be read-only, so a test can never change the host.
[[ $(findmnt -no OPTIONS /) == ro,* ]] || fail "/ not mounted read-only"
if touch "$MCAI_ROOT/.mcai-vm-write-probe" 2>/dev/null; then
	fail "could write to $MCAI_ROOT"
fi

for d in /tmp /var/tmp /run /dev/shm; do
	if f=$(mktemp -p "$d" 2>/dev/null) && echo ok >"$f"; then
		rm -f "$f"
	else
		fail "$d not writable"
	fi
done

want() { # mountpoint fstype
	[[ $(findmnt -no FSTYPE "$1") == "$2" ]] || fail "$1 is not $2"
}
want /sys/fs/bpf bpf
want /sys/kernel/tracing tracefs
want /sys/kernel/debug debugfs
want /proc proc
want /dev devtmpfs

[[ $(setpriv --reuid=65534 --regid=65534 --clear-groups id -u) == 65534 ]] ||
	fail "cannot run as an unprivileged user"

ip -o link show lo | grep -q 'state UNKNOWN\|UP' || fail "loopback down"
# kmod tools come from the host root; lsmod reads /proc/modules.  A debug
# kernel has 9p built in, so then it is only in /proc/filesystems.
lsmod | grep -q '^9p ' || grep -qw 9p /proc/filesystems ||
	fail "9p is neither a module nor built in"
lsmod >/dev/null || fail "lsmod does not work"

((rc)) || echo "00-sanity: all checks passed"
exit "$rc"
