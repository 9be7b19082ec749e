#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch, once, what an arm64 guest and an arm64 cross-build need, from the
# Debian archive apt is configured with (no other source):
#   * Debian's arm64 kernel of a flavour (6.1, 6.12): image, modules,
#     headers, their common headers, and the amd64 kbuild tools of the
#     same version (they build arm64 modules: only the compiler is cross);
#   * busybox-static:arm64 for the guest's initramfs;
#   * an arm64 root file system (packages unpacked by mmdebstrap, no
#     maintainer script run) that the guest chroots into: the host root
#     is amd64, so the tests' shell, coreutils, kmod, bpftool, python3,
#     openssl and the libraries mcaictl/mcaid link come from here.
#
# usage: tests/vm/arm64.sh [--print] [FLAVOUR]     FLAVOUR: 6.1 (default), 6.12
#
# Everything lives in ${MCAI_ARM64_CACHE:-/var/tmp/mcai-arm64}, keyed by
# package version (a new kernel ABI or point release fetches anew):
#   k-KVER-VERSION/          the kernel packages unpacked: boot/vmlinuz-KVER,
#                            lib/modules/KVER (with modules.dep: depmod -b),
#                            usr/src/linux-headers-KVER (the KDIR)
#   busybox-VERSION          the static arm64 busybox
#   rootfs-HASH/             the root file system (HASH: package list and
#                            this script's fix-ups)
# With --print it prints shell assignments: ARM64_KVER, ARM64_IMAGE,
# ARM64_MODDIR, ARM64_KDIR, ARM64_BUSYBOX, ARM64_ROOTFS.
set -euo pipefail

CACHE=${MCAI_ARM64_CACHE:-/var/tmp/mcai-arm64}

# The guest's root file system: what the guest tests run (bash, coreutils,
# util-linux, kmod, iproute2, awk, python3, openssl, keyctl, bpftool) and
# the run-time libraries of mcaictl, mcaid and the guest programs.
ROOTFS_PKGS=(
	base-files base-passwd bash dash coreutils util-linux mount kmod
	iproute2 mawk sed grep findutils procps diffutils debianutils
	gzip xz-utils python3 openssl keyutils bpftool libc-bin
	zlib1g libssl3 liburing2 libcap-ng0 libbpf1 libelf1 libprotobuf-c1
)

PRINT=0
[[ ${1:-} != --print ]] || { PRINT=1; shift; }
FLAVOUR=${1:-6.1}

say() { echo "arm64: $*" >&2; }
die() { say "$*"; exit 1; }

# The archive's arm64 package lists: dpkg must know the architecture
# (tests/deps.sh adds it).
dpkg --print-foreign-architectures | grep -qx arm64 ||
	die "dpkg does not know arm64: run make deps (dpkg --add-architecture arm64)"

# Every apt-cache call costs seconds, and run.sh calls this script for
# each boot: the versions of everything are asked for at once (POLICY),
# candidate reads the answer.
POLICY=
candidate() {
	awk -v p="$1" '$1 == p && $2 != "(none)" { print $2 }' <<<"$POLICY"
}
policy() {
	POLICY=$(apt-cache policy "$@" 2>/dev/null |
		awk '/^[^ ]/ { p = substr($1, 1, length($1) - 1) } $1 == "Candidate:" { print p, $2 }')
}

# The kernel release a flavour's meta-package stands for today.
case $FLAVOUR in
6.1) meta=linux-image-arm64 ;;
6.12) meta=linux-image-6.12-arm64 ;;
*) die "unknown flavour $FLAVOUR (6.1 or 6.12)" ;;
esac
img=$(apt-cache depends "$meta:arm64" 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[^:]*-arm64\)\(:arm64\)\{0,1\}$/\1/p' | head -n 1)
[[ -n $img ]] || die "$meta:arm64 is not in the archive apt knows (apt-get update?)"
KVER=${img#linux-image-}
policy "$img:arm64" busybox-static:arm64 "${ROOTFS_PKGS[@]/%/:arm64}"
ver=$(candidate "$img:arm64")
[[ -n $ver ]] || die "no candidate for $img:arm64"
# linux-headers-6.1.0-57-common, linux-headers-6.12.118+deb12-common
common=linux-headers-${KVER%-arm64}-common

mkdir -p "$CACHE/debs"

# fetch NAME:ARCH...: apt-get download into the cache, replacing any
# other version there (fetch runs only when what it unpacks is missing).
fetch() {
	local p
	for p in "$@"; do
		rm -f "$CACHE/debs/${p%%:*}_"*"_${p#*:}.deb"
	done
	# As root apt warns that it cannot drop to the _apt user here; the
	# rest of its output says what was fetched, or why not.
	if ! (cd "$CACHE/debs" && apt-get download -q "$@") >"$CACHE/debs/log" 2>&1; then
		cat "$CACHE/debs/log" >&2
		die "apt-get download $* failed"
	fi
	grep -v '^W: Download is performed unsandboxed' "$CACHE/debs/log" >&2 || :
	for p in "$@"; do
		deb_of "$p" >/dev/null || die "apt-get download $p failed"
	done
}
# deb_of NAME:ARCH: the downloaded file (fetch leaves one per package).
deb_of() {
	local f
	for f in "$CACHE/debs/${1%%:*}_"*"_${1#*:}.deb"; do
		[[ -s $f ]] || return 1
		echo "$f"
		return 0
	done
}

# publish TMP DIR PREFIX: TMP becomes DIR unless a run beside this one
# published it first; then older complete versions (PREFIX*/.done) go.
publish() {
	local d
	if [[ -e $2/.done ]]; then
		rm -rf "$1"
	else
		rm -rf "$2"
		mv "$1" "$2"
	fi
	for d in "$3"*/.done; do
		d=${d%/.done}
		[[ ! -d $d || $d == "$2" ]] || rm -rf "$d"
	done
}

KTREE=$CACHE/k-$KVER-$ver
if [[ ! -e $KTREE/.done ]]; then
	# the kbuild package the arm64 headers depend on; its amd64 build
	kbuild=$(apt-cache depends "linux-headers-$KVER:arm64" |
		sed -n 's/^ *Depends: \(linux-kbuild-[^:]*\)\(:arm64\)\{0,1\}$/\1/p' | head -n 1)
	[[ -n $kbuild ]] || die "linux-headers-$KVER:arm64 names no linux-kbuild package"
	pkgs=("$img:arm64" "linux-headers-$KVER:arm64" "$common:all" "$kbuild:amd64")
	say "fetching $KVER ($ver): ${pkgs[*]}"
	fetch "${pkgs[@]}"
	# Unpacked under a private name and renamed when complete: a run
	# beside this one (another work tree) never sees half a tree.
	tmp=$(mktemp -d "$KTREE.XXXXXX")
	for p in "${pkgs[@]}"; do
		dpkg-deb -x "$(deb_of "$p")" "$tmp"
	done
	hdr=$tmp/usr/src/linux-headers-$KVER
	# The arm64 headers include the common ones by absolute path; the
	# scripts/ and tools/ links point at ../../lib/linux-kbuild-X, which
	# resolves inside this tree, where the amd64 kbuild was unpacked.
	sed -i "s|/usr/src/$common|$KTREE/usr/src/$common|g" "$hdr/Makefile"
	grep -q "$KTREE/usr/src/$common" "$hdr/Makefile" ||
		die "$hdr/Makefile does not include $common as expected"
	[[ -x $hdr/scripts/basic/fixdep || -e $hdr/scripts/Makefile.build ]] ||
		die "$hdr/scripts does not resolve to $kbuild"
	# Debian generates modules.dep at install time, not in the package.
	depmod -b "$tmp" "$KVER"
	: >"$tmp/.done"
	publish "$tmp" "$KTREE" "$CACHE/k-$KVER-"

fi

bbver=$(candidate busybox-static:arm64)
[[ -n $bbver ]] || die "no busybox-static:arm64 in the archive"
BUSYBOX=$CACHE/busybox-${bbver//:/_}
if [[ ! -s $BUSYBOX ]]; then
	fetch busybox-static:arm64
	tmp=$(mktemp -d "$CACHE/bb.XXXXXX")
	dpkg-deb -x "$(deb_of busybox-static:arm64)" "$tmp"
	install -m 0755 "$tmp/bin/busybox" "$BUSYBOX.tmp"
	mv -f "$BUSYBOX.tmp" "$BUSYBOX"
	rm -rf "$tmp"
fi

# The root file system, keyed by the package list, the versions apt would
# fetch (a security update rebuilds it) and the fix-ups below.
fixups() {
	local r=$1
	# What maintainer scripts would have made and the tests need.
	[[ -e $r/bin/sh ]] || ln -s dash "$r/bin/sh"
	[[ -e $r/usr/bin/awk ]] || ln -s mawk "$r/usr/bin/awk"
	[[ -e $r/usr/bin/which ]] || ln -s which.debianutils "$r/usr/bin/which"
	cp "$r/usr/share/base-passwd/passwd.master" "$r/etc/passwd"
	cp "$r/usr/share/base-passwd/group.master" "$r/etc/group"
	# mcaid drops to this user (runtime/dist); the tests fall back to
	# nobody without it
	echo 'mcai:x:998:998:mcai:/nonexistent:/usr/sbin/nologin' >>"$r/etc/passwd"
	echo 'mcai:x:998:' >>"$r/etc/group"
	mkdir -p "$r"/{proc,sys,dev,run,tmp,var/tmp,root}
	chmod 1777 "$r/tmp" "$r/var/tmp"
}
vers=$(for p in "${ROOTFS_PKGS[@]}"; do echo "$p $(candidate "$p:arm64")"; done)
RKEY=$( {
	echo "$vers"
	declare -f fixups
} | sha256sum | cut -c1-16)
ROOTFS=$CACHE/rootfs-$RKEY
if [[ ! -e $ROOTFS/.done ]]; then
	command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run make deps"
	say "building the arm64 root file system $ROOTFS"
	tmp=$(mktemp -d "$ROOTFS.XXXXXX")
	# No mirror named: mmdebstrap takes the suite's main archive and its
	# security updates, as the host's apt does.  extract: unpack only;
	# nothing arm64 runs on this host.
	list=$(
		IFS=,
		echo "${ROOTFS_PKGS[*]}"
	)
	mmdebstrap --quiet --architectures=arm64 --variant=extract \
		--include="$list" bookworm "$tmp" >&2
	fixups "$tmp"
	: >"$tmp/.done"
	publish "$tmp" "$ROOTFS" "$CACHE/rootfs-"
fi

if ((PRINT)); then
	printf 'ARM64_KVER=%q\n' "$KVER"
	printf 'ARM64_IMAGE=%q\n' "$KTREE/boot/vmlinuz-$KVER"
	printf 'ARM64_MODDIR=%q\n' "$KTREE/lib/modules/$KVER"
	printf 'ARM64_KDIR=%q\n' "$KTREE/usr/src/linux-headers-$KVER"
	printf 'ARM64_BUSYBOX=%q\n' "$BUSYBOX"
	printf 'ARM64_ROOTFS=%q\n' "$ROOTFS"
else
	say "$KVER ready in $KTREE, root file system $ROOTFS"
fi
