#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest (packaging/check-deb.sh boots one per kernel): the module
# DKMS built and installed on the host loads by name, udev gives
# /dev/mcai to group mcai with mode 0660, a user outside the group cannot
# open it and one in the group classifies with the installed mcaictl.
# The guest runs on the host's root, read-only: /lib/modules/KVER and
# /usr, /etc are the host's, with the packages installed.
set -u
N=guest-installed
KVER=$(uname -r)
CTL=/usr/bin/mcaictl
FM=/usr/share/datasets/fashion-mnist
fail() {
	echo "$N: FAIL: $*"
	exit 1
}
# shellcheck source=/dev/null
. "$MCAI_ROOT/tests/vm/lib.sh"

# The DKMS-built module, by name, from updates/dkms.
ko=$(modinfo -n mcai) || fail "modinfo finds no mcai for $KVER"
case $ko in
/lib/modules/$KVER/updates/dkms/mcai.ko*) ;;
*) fail "modprobe would load $ko, not DKMS's updates/dkms/mcai.ko" ;;
esac
sim=$(modinfo -n mcai_simsensor) || fail "modinfo finds no mcai_simsensor"
[[ $sim == /lib/modules/$KVER/updates/dkms/mcai_simsensor.ko* ]] ||
	fail "mcai_simsensor is $sim"
modprobe mcai || fail "modprobe mcai"
[[ -d /sys/module/mcai ]] || fail "no /sys/module/mcai after modprobe"
echo "$N: modprobe mcai loaded $ko ($(modinfo -F vermagic mcai))"
wait_for 30 "/dev/mcai from devtmpfs" test -c /dev/mcai || exit 1
echo "$N: before udev: /dev/mcai $(stat -c '%U:%G %a' /dev/mcai)"

# udev as on a booted system: systemd-udevd with the host's rules (the
# package's in /lib/udev/rules.d), then the device replayed to it.
gid=$(getent group mcai | cut -d: -f3) || fail "no group mcai (sysusers)"
# The tests run chrooted into the host root, where udevadm would ignore
# every request ("Running in chroot"): this guest's udev is the real one.
export SYSTEMD_IGNORE_CHROOT=1
/lib/systemd/systemd-udevd --daemon --resolve-names=late ||
	fail "systemd-udevd did not start"
# --daemon returns before udevd listens: an event sent before then is
# lost, so wait until it answers, and replay the device until it counts.
wait_for 60 "systemd-udevd to answer (udevadm control --ping)" \
	udevadm control --ping --timeout=5 || exit 1
replayed() {
	[[ $(stat -c '%G %a' /dev/mcai) == "mcai 660" ]] && return 0
	udevadm trigger --settle --action=add --subsystem-match=misc \
		--sysname-match=mcai
	return 1
}
wait_for 60 "/dev/mcai to become group mcai, mode 0660" replayed || {
	udevadm test "$(udevadm info -q path -n /dev/mcai)" 2>&1 | tail -n 20
	fail "/dev/mcai is $(stat -c '%U:%G %a' /dev/mcai)"
}
echo "$N: udev: /dev/mcai $(stat -c '%U:%G %a' /dev/mcai)"
udevadm control --exit || true

# A model to classify with, loaded by root.
$CTL load "$MCAI_ROOT/models/fmnist-mlp.mcai" >/dev/null || fail "mcaictl load"

# Outside the group: nobody, no supplementary groups.  The open itself
# must fail, with EACCES.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	sh -c 'exec 3<>/dev/mcai' 2>&1) &&
	fail "a user outside group mcai opened /dev/mcai"
[[ $out == *"Permission denied"* ]] || fail "open as nobody: $out (not EACCES)"
echo "$N: outside the group: $out"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	$CTL infer fmnist-mlp "$FM/t10k-images-idx3-ubyte.gz" --limit 5 2>&1) &&
	fail "mcaictl infer worked outside group mcai: $out"

# In the group (what `adduser USER mcai` gives): classifies, and right.
out=$(setpriv --reuid=65534 --regid=65534 --groups="$gid" \
	$CTL infer -q fmnist-mlp "$FM/t10k-images-idx3-ubyte.gz" \
	--labels "$FM/t10k-labels-idx1-ubyte.gz" --limit 200 2>&1) ||
	fail "mcaictl infer as nobody in group mcai: $out"
echo "$N: in the group: $out"
acc=$(sed -n 's/.*accuracy[^0-9]*\([0-9][0-9.]*\).*/\1/p' <<<"$out" | head -n 1)
[[ -n $acc ]] || fail "no accuracy in mcaictl's output"
awk -v a="$acc" 'BEGIN { exit !(a > 70) }' || fail "accuracy $acc, expected > 70"

$CTL unload fmnist-mlp || fail "mcaictl unload"
modprobe -r mcai || fail "modprobe -r mcai"
echo "$N: PASS ($KVER)"
