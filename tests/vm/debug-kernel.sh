#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, once, a 6.1 debug kernel for the deep guest check (make
# check-debug): Debian's linux-source-6.1, x86_64_defconfig +
# kvm_guest.config + KASAN, lockdep, DEBUG_ATOMIC_SLEEP, UBSAN, kmemleak,
# fault injection (failslab, fail_page_alloc, fail_usercopy),
# and what the guest init needs built in (virtio, 9p, tmpfs, bpffs, ...).
#
# usage: tests/vm/debug-kernel.sh [--print]
#
# Everything lives outside the repo, in ${MCAI_DEBUG_KERNEL:-/var/tmp/mcai-debug-kernel}:
#   src/linux-source-6.1/   the kernel tree, built in place: it is the KDIR
#                           for out-of-tree modules (make -C KDIR M=...)
#   mod/lib/modules/REL/    modules_install output: modules.dep,
#                           modules.builtin, the few =m modules
#   stamp                   written after a complete build; holds a hash of
#                           the tarball and of this script's configuration,
#                           so changing either rebuilds (incrementally)
#   build.log               the last build's make output
# With --print, it prints (after making sure the kernel is built) shell
# assignments for the caller: DEBUG_KREL, DEBUG_KDIR, DEBUG_IMAGE (the
# bzImage), DEBUG_MODDIR.
#
# The build runs under "nice -n 19 make -j${MCAI_DEBUG_JOBS:-2}": about 20
# minutes on this 2-core machine when it is otherwise idle.
set -euo pipefail

CACHE=${MCAI_DEBUG_KERNEL:-/var/tmp/mcai-debug-kernel}
TARBALL=${MCAI_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${MCAI_DEBUG_JOBS:-2}
LOCALVERSION=-mcai-debug

# Options on top of x86_64_defconfig + kvm_guest.config.  "y"/"n"/"str:X";
# every one is checked in the final .config, so an option kconfig drops
# for a missing dependency stops the build instead of going unnoticed.
OPTIONS=(
	# The checkers.
	KASAN=y KASAN_GENERIC=y KASAN_INLINE=y KASAN_OUTLINE=n KASAN_VMALLOC=y
	PROVE_LOCKING=y DEBUG_ATOMIC_SLEEP=y
	UBSAN=y UBSAN_BOUNDS=y UBSAN_SHIFT=y UBSAN_ALIGNMENT=n UBSAN_TRAP=n
	# Fault injection: allocations and user copies failing on purpose,
	# restricted to the tasks a test names (debugfs: failslab,
	# fail_page_alloc, fail_usercopy; /proc/PID/make-it-fail).
	FAULT_INJECTION=y FAILSLAB=y FAIL_PAGE_ALLOC=y
	FAULT_INJECTION_USERCOPY=y FAULT_INJECTION_DEBUG_FS=y DEBUG_FS=y
	# The guest init triggers a scan before its verdict.
	DEBUG_KMEMLEAK=y DEBUG_KMEMLEAK_DEFAULT_OFF=n DEBUG_KMEMLEAK_AUTO_SCAN=n
	# No DWARF: it would make the build much slower; reports still
	# carry symbol+offset.
	DEBUG_INFO_NONE=y DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=n DEBUG_INFO_DWARF4=n
	DEBUG_INFO_DWARF5=n
	# What mcai and its tests use, some missing from Debian's kernels.
	MODULES=y MODULE_UNLOAD=y MODULE_SIG=n MODVERSIONS=n
	KUNIT=y DMA_SHARED_BUFFER=y UDMABUF=y
	IIO=y IIO_BUFFER=y IIO_BUFFER_CB=y IIO_KFIFO_BUF=y IIO_TRIGGER=y
	IIO_TRIGGERED_BUFFER=y IIO_CONFIGFS=y IIO_SW_DEVICE=y IIO_SW_TRIGGER=y
	IIO_HRTIMER_TRIGGER=y IIO_SIMPLE_DUMMY=y IIO_SIMPLE_DUMMY_EVENTS=y
	IIO_SIMPLE_DUMMY_BUFFER=y CONFIGFS_FS=y
	HIGH_RES_TIMERS=y
	# The guest init (tests/vm/init.sh): no modules in the initramfs, so
	# the 9p root and every file system it mounts must be built in.
	VIRTIO=y VIRTIO_PCI=y VIRTIO_PCI_LEGACY=y NET_9P=y NET_9P_VIRTIO=y
	9P_FS=y 9P_FS_POSIX_ACL=y NETWORK_FILESYSTEMS=y
	DEVTMPFS=y TMPFS=y TMPFS_POSIX_ACL=y UNIX98_PTYS=y PROC_FS=y SYSFS=y
	CGROUPS=y BLK_DEV_INITRD=y RD_GZIP=y
	BPF_SYSCALL=y BPF_JIT=y BPF_EVENTS=y
	FTRACE=y TRACING=y EVENT_TRACING=y KPROBES=y KPROBE_EVENTS=y
	UPROBE_EVENTS=y
	DEBUG_FS=y DEBUG_FS_ALLOW_ALL=y
	NAMESPACES=y NET_NS=y USER_NS=y VETH=y
	SERIAL_8250=y SERIAL_8250_CONSOLE=y
	# PVH is in kvm_guest.config; but this KASAN vmlinux dies at once
	# when QEMU boots it through the PVH entry: run.sh boots the bzImage.
	PVH=y
	LOCALVERSION_AUTO=n "LOCALVERSION=str:$LOCALVERSION"
	# Hardware a QEMU guest without those devices never uses: about a
	# quarter of defconfig's build time (i915 alone is ~300 files), and
	# fewer drivers probing at every boot.
	DRM=n AGP=n SOUND=n USB_SUPPORT=n WLAN=n CFG80211=n MAC80211=n RFKILL=n
	ETHERNET=n NFS_FS=n
)

die() {
	echo "debug-kernel: $*" >&2
	exit 2
}

PRINT=0
case ${1:-} in
--print) PRINT=1 ;;
'') ;;
-h | --help) sed -n '3,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "unknown argument $1" ;;
esac

for t in make gcc flex bison bc depmod readelf; do
	command -v "$t" >/dev/null || die "$t not found (apt-get install build-essential flex bison bc kmod binutils)"
done
[[ -e /usr/include/gelf.h ]] || die "libelf-dev missing (objtool needs it)"
[[ -r $TARBALL ]] || die "$TARBALL missing (apt-get install linux-source-6.1)"
mkdir -p "$CACHE"
SRC=$CACHE/src/linux-source-6.1
MODROOT=$CACHE/mod

WANT=$( {
	stat -c '%n %s %Y' "$TARBALL"
	printf '%s\n' "${OPTIONS[@]}"
} | sha256sum | cut -c1-16)

emit() {
	local krel
	krel=$(cat "$CACHE/release")
	printf 'DEBUG_KREL=%q\n' "$krel"
	printf 'DEBUG_KDIR=%q\n' "$SRC"
	printf 'DEBUG_IMAGE=%q\n' "$SRC/arch/x86/boot/bzImage"
	printf 'DEBUG_MODDIR=%q\n' "$MODROOT/lib/modules/$krel"
}

built() {
	[[ -s $CACHE/stamp && $(cat "$CACHE/stamp") == "$WANT" ]]
}

configure() {
	echo "debug-kernel: configuring (x86_64_defconfig kvm_guest.config + debug options)"
	make -s x86_64_defconfig kvm_guest.config >/dev/null
	args=()
	for o in "${OPTIONS[@]}"; do
		case ${o#*=} in
		y) args+=(--enable "${o%%=*}") ;;
		n) args+=(--disable "${o%%=*}") ;;
		str:*) args+=(--set-str "${o%%=*}" "${o#*=str:}") ;;
		*) die "bad option spec $o" ;;
		esac
	done
	scripts/config --file .config "${args[@]}"
	make -s olddefconfig >/dev/null
	# A second pass: options whose dependencies the first pass enabled.
	scripts/config --file .config "${args[@]}"
	make -s olddefconfig >/dev/null
	bad=()
	for o in "${OPTIONS[@]}"; do
		name=CONFIG_${o%%=*}
		case ${o#*=} in
		y) grep -qx "$name=y" .config || bad+=("$o") ;;
		n) ! grep -q "^$name=" .config || bad+=("$o") ;;
		str:*) grep -qxF "$name=\"${o#*=str:}\"" .config || bad+=("$o") ;;
		esac
	done
	((${#bad[@]} == 0)) || die "kconfig did not keep: ${bad[*]}"
}

# One builder at a time; a second caller waits and then finds the stamp.
exec 9>"$CACHE/lock"
flock 9

if built; then
	((PRINT)) && emit
	exit 0
fi

# Everything below goes to stderr: with --print, stdout carries only the
# assignments.
{
	start=$SECONDS
	if [[ ! -e $SRC/.extracted ]]; then
		echo "debug-kernel: extracting $TARBALL into $CACHE/src"
		rm -rf "$CACHE/src"
		mkdir -p "$CACHE/src"
		tar -C "$CACHE/src" -xf "$TARBALL"
		[[ -f $SRC/Makefile ]] || die "no linux-source-6.1/Makefile in $TARBALL"
		: >"$SRC/.extracted"
	fi

	cd "$SRC"
	M=(nice -n 19 make -j"$JOBS")
	# Configured already for this hash (a build interrupted after it):
	# leave .config alone so make resumes instead of rebuilding.
	if [[ ! -s $CACHE/configured || $(cat "$CACHE/configured") != "$WANT" ]]; then
		configure
		echo "$WANT" >"$CACHE/configured"
	fi

	echo "debug-kernel: building in $SRC (${M[*]}), log in $CACHE/build.log"
	if ! "${M[@]}" vmlinux bzImage modules >"$CACHE/build.log" 2>&1; then
		tail -n 40 "$CACHE/build.log"
		die "kernel build failed, see $CACHE/build.log"
	fi
	# bzImage + modules leave the tree ready for M= builds; modules_prepare
	# is a no-op then, but says what the tree is for.
	"${M[@]}" modules_prepare >>"$CACHE/build.log" 2>&1
	krel=$(cat include/config/kernel.release)
	rm -rf "$MODROOT"
	make -s INSTALL_MOD_PATH="$MODROOT" modules_install >>"$CACHE/build.log" 2>&1 ||
		die "modules_install failed, see $CACHE/build.log"
	# modules_install points build/ at the tree; depmod wrote modules.dep.
	[[ -s $MODROOT/lib/modules/$krel/modules.builtin ]] || die "no modules.builtin"
	[[ -e $MODROOT/lib/modules/$krel/modules.dep ]] || die "no modules.dep"
	echo "$krel" >"$CACHE/release"
	echo "$WANT" >"$CACHE/stamp"
	echo "debug-kernel: built $krel in $((SECONDS - start)) s"
} >&2

((PRINT)) && emit
exit 0
