#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check-deb` (after `make deb`): the packages on this machine, as
# root.  Install both; DKMS must have built and installed mcai.ko and
# mcai_simsensor.ko for each kernel of the matrix (6.1, 6.12, 6.12-rt;
# MCAI_KERNELS narrows it), a kernel the postinst left out gets it from
# the kernel-headers hook, which must succeed; a guest per kernel runs
# packaging/guest-installed.sh (modprobe, udev, group access,
# inference); then purge both and check that nothing of them is left.
# Last, a module build that fails on purpose must leave the kernel-headers
# hooks succeeding and a placeholder that refuses to load (a guest
# tries).  A failure purges too, so the next run starts clean.  The times of the
# steps are printed at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO"
B=${B:-build}
[[ $B == /* ]] || B=$REPO/$B
. tests/vm/kernels.sh

say() { echo "check-deb: $*"; }
die() {
	say "FAIL: $*"
	exit 1
}
if [[ $(id -u) != 0 ]]; then
	say "SKIP: installs packages, needs root"
	exit 0
fi

ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
arch=$(dpkg --print-architecture)
debs=("$B/deb/mcai-dkms_${ver}_all.deb" "$B/deb/mcai_${ver}_${arch}.deb")
for d in "${debs[@]}"; do
	[[ -s $d ]] || die "$d missing: make deb"
done
flavours=${MCAI_KERNELS:-"6.1 6.12 6.12-rt"}
kvers=()
for f in $flavours; do
	kvers+=("$(mcai_kver "$f")") || die "no $f kernel with headers"
done

times=()
t0=$SECONDS
step() { times+=("$(printf '%-34s %4d s' "$1" $((SECONDS - t0)))"); t0=$SECONDS; }

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'; }
present() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -qv 'not-installed'; }
purge() {
	local p=()
	present mcai && p+=(mcai)
	present mcai-dkms && p+=(mcai-dkms)
	[[ ${#p[@]} == 0 ]] || DEBIAN_FRONTEND=noninteractive dpkg --purge "${p[@]}"
}
# A run that stopped half-way left its packages: start from none.
purge >/dev/null || die "could not purge an earlier run's packages"
# A run killed inside DKMS's build can leave /var/lib/dkms/mcai with no
# package behind it, which makes the next postinst's "dkms remove" fail.
if [[ -e /var/lib/dkms/mcai ]] && ! present mcai-dkms; then
	say "removing an interrupted run's DKMS tree /var/lib/dkms/mcai"
	rm -rf /var/lib/dkms/mcai
fi
had_user=$(getent passwd mcai >/dev/null && echo yes || echo no)
had_group=$(getent group mcai >/dev/null && echo yes || echo no)
cleanup() {
	local rc=$?
	if ((rc)); then
		say "purging after the failure"
		purge >/dev/null 2>&1 || true
	fi
	exit $rc
}
trap cleanup EXIT

# 1. Install: the mcai-dkms postinst adds the sources and builds for
# the kernels dkms's common.postinst chooses.
say "installing ${debs[*]##*/}"
DEBIAN_FRONTEND=noninteractive dpkg -i "${debs[@]}" >"$B/deb/install.log" 2>&1 || {
	tail -n 40 "$B/deb/install.log"
	die "dpkg -i (log: $B/deb/install.log)"
}
grep -E '^(Building for|Building initial|It is likely)' "$B/deb/install.log" | sed 's/^/check-deb: postinst: /' || true
step "dpkg -i (DKMS builds in postinst)"

# 2. DKMS for each kernel: a kernel the postinst did not build for
# (dkms builds for the running and the newest kernel when the running
# one is installed) gets it from the kernel-headers hook, exactly as
# when its headers are installed; the hook must exit 0.
for k in "${kvers[@]}"; do
	if ! dkms status -m mcai -v "$ver" -k "$k" 2>/dev/null | grep -q ': installed'; then
		say "$k: not built by the postinst; running /etc/kernel/header_postinst.d/dkms $k"
		/etc/kernel/header_postinst.d/dkms "$k" >>"$B/deb/install.log" 2>&1 ||
			die "$k: the kernel-headers hook failed (log: $B/deb/install.log)"
	fi
	dkms status -m mcai -v "$ver" -k "$k" 2>/dev/null | grep -q ': installed' ||
		die "$k: dkms status: $(dkms status -m mcai -k "$k" 2>/dev/null)"
	for m in mcai mcai_simsensor mcai_iio; do
		f=$(modinfo -k "$k" -n "$m") || die "$k: modinfo finds no $m"
		[[ $f == /lib/modules/$k/updates/dkms/$m.ko* ]] || die "$k: $m is $f"
	done
	say "$k: $(dkms status -m mcai -v "$ver" -k "$k" 2>/dev/null)"
done
step "DKMS for ${#kvers[@]} kernels"

# 3. What the guest cannot see for itself.
getent group mcai >/dev/null || die "no group mcai after install (sysusers)"
getent passwd mcai >/dev/null || die "no user mcai after install (sysusers)"
[[ -f /etc/mcai/mcaid-node.conf ]] || die "no /etc/mcai/mcaid-node.conf"
dpkg-query -W -f='${Conffiles}\n' mcai | grep -q /etc/mcai/mcaid-node.conf ||
	die "/etc/mcai/mcaid-node.conf is not a conffile"
man -w mcaictl mcaid mcaid.conf >/dev/null 2>&1 || die "man pages not found by man -w"
systemd-analyze verify /lib/systemd/system/mcaid.service \
	/lib/systemd/system/mcai-telemetry.service 2>&1 |
	grep -v -e 'Failed to .*cgroup' -e '^$' | sed 's/^/check-deb: systemd-analyze: /' || true

# 4. A guest per kernel: the DKMS-built module, by name.
for k in "${kvers[@]}"; do
	tests/vm/run.sh --kernel "$k" --timeout 300 "$HERE/guest-installed.sh" ||
		die "$k: guest"
	step "guest $k"
done

# 5. A module that does not build must not fail the kernel-headers
# postinst: last (the purge follows, so the real module need not be
# rebuilt), on the first kernel, DKMS's build removed, the installed
# source broken, and the headers' hooks run as linux-headers-KVER's
# postinst runs them.  dkms/make.sh must install placeholders instead.
k=${kvers[0]}
main=/usr/src/mcai-$ver/kmod/main.c
cp -p "$main" "$B/deb/main.c.orig"
restore() { cp -p "$B/deb/main.c.orig" "$main"; }
dkms remove -m mcai -v "$ver" -k "$k" >>"$B/deb/install.log" 2>&1 ||
	die "$k: dkms remove"
echo '#error deliberately broken by packaging/check-deb.sh' >>"$main"
if ! run-parts --exit-on-error --arg="$k" /etc/kernel/header_postinst.d \
	>"$B/deb/broken.log" 2>&1; then
	restore
	tail -n 30 "$B/deb/broken.log"
	die "$k: a failed module build failed the kernel-headers hooks"
fi
restore
dpkg --verify mcai-dkms | grep . && die "mcai-dkms's files differ after the restore"
desc=$(modinfo -k "$k" -F description mcai)
[[ $desc == *placeholder* ]] || die "$k: after the failed build mcai is '$desc', not the placeholder"
grep -q 'deliberately broken' "/var/lib/dkms/mcai/$ver/$k/$(uname -m)/log/make.log" ||
	die "$k: the build's errors are not in DKMS's make.log"
say "$k: a failed build: the headers' hooks exit 0, placeholder installed ($desc)"
step "failed build -> placeholder ($k)"
# ... and it refuses to load, naming the build log.
tests/vm/run.sh --kernel "$k" --timeout 120 "$HERE/guest-placeholder.sh" ||
	die "$k: placeholder guest"
step "guest $k: the placeholder"

# 6. Purge: nothing of either package may be left.
DEBIAN_FRONTEND=noninteractive dpkg --purge mcai mcai-dkms >"$B/deb/purge.log" 2>&1 || {
	tail -n 20 "$B/deb/purge.log"
	die "dpkg --purge"
}
left=()
for p in mcai mcai-dkms; do
	present "$p" && left+=("package $p: $(dpkg-query -W -f='${Status}' "$p")")
done
for d in "${debs[@]}"; do
	while IFS= read -r f; do
		f=${f#.}
		[[ -n $f && ! -d $f && -e $f ]] && left+=("$f")
	done < <(dpkg-deb -c "$d" | awk '{print $6}')
done
[[ ! -e /var/lib/dkms/mcai ]] || left+=(/var/lib/dkms/mcai)
[[ ! -e /usr/src/mcai-$ver ]] || left+=("/usr/src/mcai-$ver")
[[ ! -e /etc/mcai ]] || left+=(/etc/mcai)
rm -f "$B/deb/main.c.orig"
for k in "${kvers[@]}"; do
	for f in /lib/modules/"$k"/updates/dkms/mcai*; do
		[[ ! -e $f ]] || left+=("$f")
	done
	! modinfo -k "$k" -n mcai >/dev/null 2>&1 ||
		left+=("$k: modinfo still finds mcai ($(modinfo -k "$k" -n mcai))")
done
((${#left[@]} == 0)) || die "left after purge: ${left[*]}"
# The mcai user and group stay, as sysusers.d users do (files the
# account owned may outlive the package; a reused id would inherit
# them).  One this run created is removed again, so the machine ends
# as it began.
if [[ $had_user == no ]]; then
	userdel mcai 2>/dev/null || true
fi
if [[ $had_group == no ]] && getent group mcai >/dev/null; then
	groupdel mcai || true
fi
step "dpkg --purge, nothing left"
trap - EXIT

say "PASS: ${kvers[*]}"
say "time per step:"
printf 'check-deb:   %s\n' "${times[@]}"
