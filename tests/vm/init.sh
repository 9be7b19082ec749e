#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# /init of the mcai test guest (runs from a busybox initramfs built by
# tests/vm/run.sh; busybox ash, not bash).
#
# It loads the virtio/9p modules the Debian kernel keeps out of vmlinuz,
# mounts the host's root file system read-only over virtio-9p, gives the
# chroot its writable and pseudo file systems, runs every test listed in
# /mcai-vm/tests inside the chroot, scans the kernel log, prints one verdict
# line and powers off.  The host reads everything from the serial console.
#
# The per-run parameters come in a second cpio archive appended to the
# cached initramfs (the kernel unpacks concatenated archives), so the cached
# part never changes between runs:
#   /mcai-vm/root     repo root (absolute host path; the guest sees the same)
#   /mcai-vm/kver     expected kernel release
#   /mcai-vm/timeout  per-test timeout in seconds
#   /mcai-vm/tests    one "guest path<TAB>name" per line
#   /mcai-vm/shell    present: start a shell in the chroot after the tests
#   /mcai-vm/sysroot  optional: a host directory to chroot into instead of
#                     the host root (the arm64 guest: the host's binaries
#                     are amd64, tests/vm/arm64.sh makes an arm64 tree)
#   /mcai-vm/binds    optional: "host path<TAB>chroot path" per line, bound
#                     read-only into the chroot in order (the repo into the
#                     sysroot, then build/arm64 over its build/)
#   /mcai-vm/console  optional: the console's tty (default ttyS0)

export PATH=/bin
R=/newroot
# Host paths hidden by the tmpfs mounts below stay reachable under here
# (the test may live in the host's /tmp, e.g. a throwaway test).
HOSTROOT=/run/mcai-vm/hostroot
# Lines from the kernel log that fail the run.  Lockdep splats start with
# "WARNING:" too; "INFO: " covers hung tasks and RCU stalls.
KPAT='BUG:|WARNING:|Oops|general protection fault|Call Trace:|kernel BUG|possible circular locking|INFO: |KASAN:|UBSAN:|kmemleak: [0-9]+ new suspected|Out of memory'
# Reports after which the guest cannot be trusted to finish the run (a
# stuck CPU, a task that never wakes, memory gone): no further test runs.
FATAL='soft lockup|hard LOCKUP|rcu_.* stall|blocked for more than|Out of memory|invoked oom-killer'

# A leading newline because the previous output (a test's, or a kernel
# message) may not end with one and the host parses lines by prefix.
say() { printf '\nmcai-vm: %s\n' "$*"; }

# What was the guest doing: blocked tasks (sysrq w writes their stacks to
# the kernel log), memory, and the end of the kernel log.  Busybox applets
# from the initramfs only: the 9p root may be what hangs.
diagnose() {
	echo 1 >/proc/sys/kernel/sysrq
	echo w >/proc/sysrq-trigger
	say "memory: $(grep -E '^(MemAvailable|Shmem):' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
	say "kernel log, last 80 lines:"
	dmesg | tail -n 80 | sed 's/^/mcai-vm: kernel: /'
}

finish() {
	printf '\nMCAI-VM-VERDICT: %s\n' "$1"
	if [ -e /mcai-vm/shell ]; then
		say "shell in the chroot; exit it to power off"
		chroot "$R" /usr/bin/env -i PATH="$GPATH" HOME=/tmp TERM=linux \
			MCAI_ROOT="$ROOT" MCAI_KVER="$KVER" MCAI_VM=1 \
			/usr/bin/setsid -c /bin/bash -i \
			<"/dev/$CONSOLE" >"/dev/$CONSOLE" 2>&1
	fi
	sync
	poweroff -f
	# Not reached unless poweroff failed; sysrq never needs userspace.
	echo o >/proc/sysrq-trigger
	sleep 10
}

# Setup failures: no test can run, say why and stop.
die() {
	say "setup failed: $*"
	finish FAIL
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

ROOT=$(cat /mcai-vm/root) || die "no /mcai-vm/root in the initramfs"
KVER=$(cat /mcai-vm/kver) || die "no /mcai-vm/kver"
TMO=$(cat /mcai-vm/timeout) || die "no /mcai-vm/timeout"
GPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SYSROOT=$(cat /mcai-vm/sysroot 2>/dev/null)
CONSOLE=$(cat /mcai-vm/console 2>/dev/null)
CONSOLE=${CONSOLE:-ttyS0}

# modules.order lists the modules dependencies first (run.sh resolved it
# from modules.dep); busybox insmod does no dependency handling itself.
while read -r m; do
	insmod "/lib/mcai-vm/$m" || die "insmod $m"
done </lib/mcai-vm/modules.order

# The 9p device is probed synchronously when 9pnet_virtio registers, so one
# try normally suffices; the loop only guards against a slow probe.  With
# a sysroot the host root goes to /host and the sysroot becomes the chroot.
H=$R
[ -z "$SYSROOT" ] || H=/host
mkdir -p "$R" "$H"
i=0
until mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose \
	hostroot "$H" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || die "cannot mount the host root over 9p"
	sleep 0.1
done
# robind SRC DST: a bind mount is read-write until remounted, even from a
# read-only file system's superblock (tests check that / reads "ro").
robind() {
	mount --bind "$1" "$2" && mount -o remount,bind,ro "$2"
}
[ -z "$SYSROOT" ] || robind "$H$SYSROOT" "$R" || die "bind the sysroot $SYSROOT"

mount -t tmpfs -o mode=0755 tmpfs "$R/run" || die "tmpfs /run"
mkdir -p "$R$HOSTROOT"
# Not --rbind: only the 9p mount, without the tmpfs stacked on it below.
mount --bind "$H" "$R$HOSTROOT" || die "bind $HOSTROOT"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp" || die "tmpfs /tmp"
mount -t tmpfs -o mode=1777 tmpfs "$R/var/tmp" || die "tmpfs /var/tmp"
mount -t proc proc "$R/proc" || die "proc"
mount -t sysfs sysfs "$R/sys" || die "sysfs"
mount -t devtmpfs devtmpfs "$R/dev" || die "devtmpfs"
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o mode=0620,ptmxmode=0666,gid=5 devpts "$R/dev/pts" || die "devpts"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm" || die "tmpfs /dev/shm"
mount -t bpf -o mode=0700 bpf "$R/sys/fs/bpf" || die "bpffs"
mount -t tracefs tracefs "$R/sys/kernel/tracing" || die "tracefs"
mount -t debugfs debugfs "$R/sys/kernel/debug" || die "debugfs"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup" || die "cgroup2"
# After the tmpfs mounts, so that a bind under /tmp or /run stays visible
# (a repo in the host's /tmp is seen under $HOSTROOT, see run.sh).  A
# target on the read-only sysroot was made by run.sh; one on a tmpfs is
# made here.
if [ -n "$SYSROOT" ]; then
	tab=$(printf '\t')
	while IFS="$tab" read -r src dst; do
		mkdir -p "$R$dst" 2>/dev/null
		robind "$H$src" "$R$dst" || die "bind $src on $dst"
	done </mcai-vm/binds
fi
# The network namespace is shared with the chroot: loopback for mcaid tests.
ip link set lo up || die "ip link set lo up"
# With kmemleak: report only what the tests leak.  A scan now flags what
# boot left unreferenced (some of it false positives), "clear" greys that
# for good.
KMEMLEAK=$R/sys/kernel/debug/kmemleak
if [ -w "$KMEMLEAK" ]; then
	echo scan >"$KMEMLEAK"
	echo clear >"$KMEMLEAK"
fi
hostname mcai-vm

say "booted $(uname -r) in $(cut -d' ' -f1 /proc/uptime)s"

fail=0
tab=$(printf '\t')
while IFS="$tab" read -r path name; do
	say "RUN $name"
	t0=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2016 # expanded by the chroot's sh
	# env -i: the test sees a known environment, not init's.  coreutils
	# timeout (from the host root) kills the test's whole process group.
	chroot "$R" /usr/bin/env -i PATH="$GPATH" HOME=/tmp TMPDIR=/tmp \
		LANG=C.UTF-8 MCAI_ROOT="$ROOT" MCAI_KVER="$KVER" MCAI_VM=1 \
		MCAI_TEST_TIMEOUT="$TMO" \
		/bin/sh -c 'cd "$MCAI_ROOT" 2>/dev/null || cd /; exec timeout -k 10 "$1" "$2"' \
		sh "$TMO" "$path" </dev/null &
	tpid=$!
	# timeout(1) cannot end a test stuck in the kernel (nor start when
	# the 9p root hangs): then say why and end the run from here.
	(
		sleep $((TMO + 30))
		say "$name still running $((TMO + 30))s after its start"
		diagnose
		finish FAIL
	) &
	wpid=$!
	wait "$tpid"
	rc=$?
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	say "took $name $(awk -v a="$t0" '{ printf "%.1fs", $1 - a }' /proc/uptime), $(grep '^MemAvailable:' /proc/meminfo | tr -s ' ')"
	case $rc in
	0) say "PASS $name" ;;
	77) say "SKIP $name" ;;
	*)
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] &&
			say "$name timed out after ${TMO}s"
		say "FAIL $name (exit $rc)"
		fail=1
		;;
	esac
	if dmesg | grep -qE "$FATAL"; then
		say "the kernel reports a stuck or exhausted guest; no further test runs"
		diagnose
		fail=1
		break
	fi
done </mcai-vm/tests

# kmemleak only reports on a scan; Debian does not enable it, a debug
# kernel may (tests/vm/debug-kernel.sh, automatic scanning off).  It
# reports objects at least 5 s old: wait that long after the last test.
# A new object's first checksum counts as a change, which keeps it out of
# that scan's report: scan twice (a module's 16 leaked kmallocs were only
# reported by the second scan).  The file is a debugfs seq file of size 0,
# so read it, not test -s.
if [ -w "$KMEMLEAK" ]; then
	sleep 5
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	leaks=$(cat "$KMEMLEAK")
	if [ -n "$leaks" ]; then
		say "kmemleak reports:"
		printf '%s\n' "$leaks"
		fail=1
	fi
fi

hits=$(dmesg | grep -E "$KPAT")
if [ -n "$hits" ]; then
	say "kernel log has errors:"
	printf '%s\n' "$hits" | sed 's/^/mcai-vm: kernel: /'
	fail=1
fi

if [ "$fail" -eq 0 ]; then finish PASS; else finish FAIL; fi
