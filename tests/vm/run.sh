#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a Debian kernel under QEMU (TCG) and run guest tests in it.
#
# The guest mounts this host's root file system read-only over virtio-9p and
# chroots into it, so tests, the repo, built modules and host tools are all
# reachable at their host paths.  Everything comes back on the serial
# console; see tests/vm/README.md.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${MCAI_VM_CACHE:-/var/tmp/mcai-vm}

# Modules the guest /init needs before it can mount the host root; their
# dependencies are added from modules.dep.  Any that a kernel has built in
# (modules.builtin) are skipped.
ROOT_MODULES=(virtio_pci 9pnet_virtio 9p)
# Loaded at boot too when the kernel has them (no error if not): the IIO
# core and its kfifo buffer, which mcai_simsensor's IIO device needs
# (tests/vm/lib.sh mcai_ko also modprobes them, where a guest root has
# the kernel's modules; the arm64 root has none).
OPT_MODULES=(industrialio kfifo_buf)

# Kernel log lines (console lines carry a printk timestamp) that fail the
# run even when the guest never printed a verdict.  Keep in sync with KPAT
# in init.sh; "Kernel panic" can only be seen here.
KPAT='BUG:|WARNING:|Oops|general protection fault|Call Trace:|kernel BUG|possible circular locking|INFO: |KASAN:|UBSAN:|kmemleak: [0-9]+ new suspected|Out of memory|Kernel panic'

usage() {
	cat <<EOF
usage: tests/vm/run.sh [--arch x86_64|arm64] [--cpu MODEL] [--kernel KVER]
                       [--smp N] [--mem MB] [--timeout SEC]
                       [--log FILE] [--keep] [--shell] [--icount]
                       [--kernel-image PATH --modules-dir DIR] TEST...

Boot /boot/vmlinuz-KVER under QEMU (TCG), mount the host root read-only in
the guest and run each TEST (an executable path) there, in order.  A test
passes with exit 0, is skipped with 77, fails otherwise.  The run fails on
any test failure and on BUG/WARNING/Oops/... in the guest kernel log.

  --arch ARCH     x86_64 (default) or arm64: Debian's arm64 kernel under
                  qemu-system-aarch64 -M virt, fetched and cached by
                  tests/vm/arm64.sh with an arm64 root file system the
                  guest chroots into; the repo is bound into it and
                  build/arm64 over its build/ (make arm64), so the tests
                  run unchanged on the arm64 binaries
  --cpu MODEL     the guest CPU (default max; arm64: cortex-a53)
  --kernel KVER   kernel release (default: newest 6.1 in /lib/modules
                  with a /boot/vmlinuz); with --arch arm64 a flavour
                  (6.1, 6.12) or the release it stands for
  --smp N         guest CPUs (default 2)
  --mem MB        guest memory (default 1024)
  --timeout SEC   per-test timeout in the guest (default 600); the whole
                  run gets SEC * number of tests + 120 s on the host, at
                  most SEC + 900 s (SEC + 60 s a test beyond 15 tests)
  --log FILE      also write the serial console to FILE
  --keep          keep the per-run directory (initrd, console log) and
                  print its path and the QEMU command
  --shell         after the tests, open a shell in the guest chroot on
                  the console (no host timeout)
  --icount        repeatable timing: -accel tcg,thread=single -icount
                  shift=0 -smp 1 (--smp is ignored).  The guest clock
                  then advances 1 ns per executed guest instruction, so a
                  time measured in the guest is an instruction count:
                  quote it as "guest instructions".  The kernel command
                  line carries mcai_icount=1 (tests read /proc/cmdline)
  --kernel-image PATH
                  boot PATH as is (no PVH vmlinux unpacked from it)
                  instead of /boot/vmlinuz-KVER: a kernel that is not
                  installed, e.g. the debug kernel of
                  tests/vm/debug-kernel.sh
  --modules-dir DIR
                  that kernel's module directory (modules.dep,
                  modules.builtin; INSTALL_MOD_PATH/lib/modules/KVER)
                  instead of /lib/modules/KVER; KVER defaults to its
                  last path component
  --help          this text

Environment: MCAI_VM_CACHE (default /var/tmp/mcai-vm) caches initramfs
images, keyed by kernel release and a hash of the guest init, and the
vmlinux unpacked from each bzImage.  MCAI_VM_HOST_TIMEOUT (seconds)
replaces the host-side limit on the whole run; MCAI_VM_DEADLINE (epoch
seconds) ends the run by then at the latest.  MCAI_VM_ICOUNT=1 is
--icount.  MCAI_VM_APPEND adds words to the kernel command line, where
tests read their knobs (mcai_graph_samples=N).  MCAI_ARM64_CACHE is
tests/vm/arm64.sh's cache (default /var/tmp/mcai-arm64).
EOF
}

die() {
	echo "vm: $*" >&2
	exit 2
}

default_kver() {
	local k best=
	for k in /lib/modules/6.1.*; do
		k=${k##*/}
		[[ -e /boot/vmlinuz-$k ]] || continue
		best+="$k"$'\n'
	done
	[[ -n $best ]] || return 1
	printf '%s' "$best" | sort -V | tail -n 1
}

# Print the modules.dep paths of ROOT_MODULES and their dependencies,
# dependencies first (depth-first post-order, each once).
resolve_modules() {
	local moddir=$1 line mod deps name
	declare -A dep=() byname=() seen=()
	while IFS= read -r line; do
		mod=${line%%:*}
		deps=${line#*:}
		dep[$mod]=${deps# }
		name=${mod##*/}
		name=${name%%.ko*}
		byname[${name//-/_}]=$mod
	done <"$moddir/modules.dep"

	visit() {
		local m=$1 d
		[[ -n ${seen[$m]:-} ]] && return
		seen[$m]=1
		for d in ${dep[$m]}; do
			visit "$d"
		done
		printf '%s\n' "$m"
	}
	for name in "${ROOT_MODULES[@]}"; do
		name=${name//-/_}
		if [[ -n ${byname[$name]:-} ]]; then
			visit "${byname[$name]}"
		elif ! grep -Eq "/${name//_/[-_]}\.ko" "$moddir/modules.builtin"; then
			die "$KVER: module $name neither in modules.dep nor built in"
		fi
	done
	for name in "${OPT_MODULES[@]}"; do
		name=${name//-/_}
		[[ -z ${byname[$name]:-} ]] || visit "${byname[$name]}"
	done
}

# Build the cached part of the initramfs: static busybox, /init and the
# modules, decompressed (busybox insmod cannot read .ko.xz / .ko.zst).
# Uncompressed cpio: gunzip under TCG costs more boot time than reading a
# few more MB.
build_initramfs() {
	local out=$1 moddir=$MODDIR tmp m base mods
	# Not in a process substitution: a failure here must stop the build.
	mods=$(resolve_modules "$moddir")
	tmp=$(mktemp -d "$CACHE/build.XXXXXX")
	mkdir -p "$tmp"/{bin,dev,proc,sys,newroot,lib/mcai-vm}
	cp "$BUSYBOX" "$tmp/bin/busybox"
	# Applet links made here, not by "busybox --install" at boot.  The
	# list comes from the host's busybox, which runs here (an arm64 one
	# does not): the same Debian version, the same applets.
	for m in $(/bin/busybox --list); do
		[[ $m == busybox ]] || ln -s busybox "$tmp/bin/$m"
	done
	install -m 0755 "$HERE/init.sh" "$tmp/init"
	: >"$tmp/lib/mcai-vm/modules.order"
	while IFS= read -r m; do
		[[ -n $m ]] || continue # every root module built in
		base=${m##*/}
		base=${base%%.ko*}.ko
		case $m in
		*.ko.xz) xz -dc "$moddir/$m" >"$tmp/lib/mcai-vm/$base" ;;
		*.ko.zst) zstd -qdc "$moddir/$m" >"$tmp/lib/mcai-vm/$base" ;;
		*.ko.gz) gzip -dc "$moddir/$m" >"$tmp/lib/mcai-vm/$base" ;;
		*.ko) cp "$moddir/$m" "$tmp/lib/mcai-vm/$base" ;;
		*) die "unexpected module file $m" ;;
		esac
		echo "$base" >>"$tmp/lib/mcai-vm/modules.order"
	done <<<"$mods"
	(cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$tmp.cpio"
	rm -rf "$tmp"
	mv -f "$tmp.cpio" "$out" # atomic: concurrent runs never see half a file
}

# Debian's bzImage is xz-compressed, and decompressing it in the emulated
# CPU costs ~2 s of every TCG boot.  QEMU can instead boot the bare ELF
# vmlinux through its PVH entry (CONFIG_PVH=y), so unpack it once, the way
# the kernel's scripts/extract-vmlinux does: try each compression magic
# found in the image until the output is an ELF with the PVH note
# (XEN_ELFNOTE_PHYS32_ENTRY, type 0x12).
extract_vmlinux() {
	local img=$1 out=$2 spec magic off notes tmp
	local -a cmd
	command -v readelf >/dev/null || return 1
	tmp=$(mktemp "$out.XXXXXX")
	for spec in '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -qdc' \
		'\x1f\x8b\x08:gzip -dc'; do
		magic=${spec%%:*}
		read -ra cmd <<<"${spec#*:}"
		for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | head -n 3 | cut -d: -f1); do
			# Trailing data after the payload makes the decompressor
			# complain; only the result counts.
			tail -c +$((off + 1)) "$img" | "${cmd[@]}" >"$tmp" 2>/dev/null || true
			notes=$(readelf -n "$tmp" 2>/dev/null) || continue
			if [[ $notes == *"note type: (0x00000012)"* ]]; then
				mv -f "$tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$tmp"
	return 1
}

# A path as the guest sees it: the same, except under the directories the
# guest covers with tmpfs, whose host contents init.sh binds elsewhere.
guest_path() {
	case $1 in
	/tmp/* | /var/tmp/* | /run/*) printf '/run/mcai-vm/hostroot%s' "$1" ;;
	*) printf '%s' "$1" ;;
	esac
}

KVER='' SMP=2 MEM=1024 TMO=600 LOG='' KEEP=0 SHELL_AFTER=0 IMAGE='' MODDIR=''
ICOUNT=0 ARCH=x86_64 CPU='' BUSYBOX=/bin/busybox SYSROOT=''
[[ ${MCAI_VM_ICOUNT:-0} == 0 ]] || ICOUNT=1
while (($#)); do
	case $1 in
	--arch) ARCH=${2:?}; shift 2 ;;
	--cpu) CPU=${2:?}; shift 2 ;;
	--kernel) KVER=${2:?}; shift 2 ;;
	--smp) SMP=${2:?}; shift 2 ;;
	--mem) MEM=${2:?}; shift 2 ;;
	--timeout) TMO=${2:?}; shift 2 ;;
	--log) LOG=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--shell) SHELL_AFTER=1; shift ;;
	--icount) ICOUNT=1; shift ;;
	--kernel-image) IMAGE=${2:?}; shift 2 ;;
	--modules-dir) MODDIR=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
(($#)) || { usage >&2; exit 2; }
[[ $SMP =~ ^[1-9][0-9]*$ && $MEM =~ ^[1-9][0-9]*$ && $TMO =~ ^[1-9][0-9]*$ ]] ||
	die "--smp, --mem and --timeout take positive integers"

case $ARCH in
x86_64) CPU=${CPU:-max} ;;
arm64)
	CPU=${CPU:-cortex-a53}
	[[ -z $IMAGE && -z $MODDIR ]] || die "--kernel-image and --modules-dir are x86_64 only"
	# --kernel: a flavour, or a release whose flavour is its x.y
	flavour=${KVER:-6.1}
	[[ $flavour =~ ^[0-9]+\.[0-9]+$ ]] || flavour=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$KVER")
	eval "$("$HERE/arm64.sh" --print "$flavour")"
	[[ -z $KVER || $KVER == "$flavour" || $KVER == "$ARM64_KVER" ]] ||
		die "arm64 $flavour is $ARM64_KVER today, not $KVER"
	KVER=$ARM64_KVER IMAGE=$ARM64_IMAGE MODDIR=$ARM64_MODDIR
	BUSYBOX=$ARM64_BUSYBOX SYSROOT=$ARM64_ROOTFS
	[[ -d $REPO/build/arm64/vm ]] || die "no build/arm64/vm: run make arm64 first"
	;;
*) die "--arch: x86_64 or arm64" ;;
esac

if [[ $ARCH == arm64 ]]; then
	:
elif [[ -n $IMAGE || -n $MODDIR ]]; then
	# A kernel that is not installed: both, absolute (QEMU and the cache
	# key see them).
	[[ -n $IMAGE && -n $MODDIR ]] || die "--kernel-image and --modules-dir go together"
	IMAGE=$(realpath "$IMAGE") MODDIR=$(realpath "$MODDIR")
	[[ -n $KVER ]] || KVER=${MODDIR##*/}
fi
if [[ -z $KVER ]]; then
	KVER=$(default_kver) || die "no 6.1 kernel with /boot/vmlinuz in /lib/modules"
fi
VMLINUZ=${IMAGE:-/boot/vmlinuz-$KVER}
MODDIR=${MODDIR:-/lib/modules/$KVER}
[[ -r $VMLINUZ ]] || die "$VMLINUZ missing or unreadable"
[[ -r $MODDIR/modules.dep ]] || die "$MODDIR/modules.dep missing"

# Tests: absolute host paths, mapped to guest paths; named relative to the
# repo when inside it.
TESTS=() NAMES=()
for t in "$@"; do
	[[ -f $t && -x $t ]] || die "$t: not an executable file"
	t=$(realpath "$t")
	[[ $t != *[$'\t\n']* ]] || die "$t: tab or newline in path"
	TESTS+=("$t")
	NAMES+=("${t#"$REPO"/}")
done

mkdir -p "$CACHE"
KEY=$( {
	cat "$HERE/init.sh"
	declare -f resolve_modules build_initramfs
	printf '%s\n' "${ROOT_MODULES[@]}" "${OPT_MODULES[@]}"
	/bin/busybox 2>&1 | sed -n 1p || true
	# A kernel that is not installed may be rebuilt under the same name.
	[[ -z $IMAGE ]] || stat -c '%n %s %Y' "$MODDIR/modules.dep" "$MODDIR/modules.builtin"
	# arm64: the busybox file name carries its version
	[[ $ARCH == x86_64 ]] || echo "$BUSYBOX"
} | sha256sum | cut -c1-16)
BASE=$CACHE/initramfs-$KVER-$KEY.cpio
if [[ ! -s $BASE ]]; then
	echo "vm: building $BASE"
	build_initramfs "$BASE"
	# Images of older init versions for this kernel are dead weight.
	for f in "$CACHE/initramfs-$KVER-"*.cpio; do
		[[ $f == "$BASE" ]] || rm -f "$f"
	done
fi

KERNEL=$CACHE/vmlinux-$KVER-$(stat -c %s-%Y "$VMLINUZ")
if [[ -n $IMAGE ]]; then
	# Booted as given: a KASAN kernel's vmlinux does not survive the PVH
	# entry (QEMU exits at once), its bzImage boots; QEMU unpacks
	# Debian's gzipped arm64 Image itself.
	KERNEL=$IMAGE
elif [[ ! -s $KERNEL ]]; then
	# A reinstalled kernel package leaves an outdated unpacked copy.
	rm -f "$CACHE/vmlinux-$KVER-"*
	if ! extract_vmlinux "$VMLINUZ" "$KERNEL"; then
		echo "vm: no PVH vmlinux in $VMLINUZ, booting the bzImage (slower)"
		KERNEL=$VMLINUZ
	fi
fi

RUN=$(mktemp -d "$CACHE/run.XXXXXX")
cleanup() {
	if ((KEEP)); then echo "vm: kept $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT

# Per-run parameters, appended to the cached image as a second archive.
mkdir -p "$RUN/spec/mcai-vm"
guest_path "$REPO" >"$RUN/spec/mcai-vm/root"
echo "$KVER" >"$RUN/spec/mcai-vm/kver"
echo "$TMO" >"$RUN/spec/mcai-vm/timeout"
for i in "${!TESTS[@]}"; do
	printf '%s\t%s\n' "$(guest_path "${TESTS[i]}")" "${NAMES[i]}"
done >"$RUN/spec/mcai-vm/tests"
((SHELL_AFTER)) && : >"$RUN/spec/mcai-vm/shell"
if [[ $ARCH == arm64 ]]; then
	echo ttyAMA0 >"$RUN/spec/mcai-vm/console"
	echo "$SYSROOT" >"$RUN/spec/mcai-vm/sysroot"
	# The repo at the path the tests know, then the arm64 build as its
	# build/; the Fashion-MNIST data set of the host (dataset-fashion-mnist).
	# Targets on the read-only sysroot must exist before the boot.
	{
		printf '%s\t%s\n' "$REPO" "$(guest_path "$REPO")"
		printf '%s\t%s\n' "$REPO/build/arm64" "$(guest_path "$REPO/build")"
		[[ ! -d /usr/share/datasets ]] ||
			printf '%s\t%s\n' /usr/share/datasets /usr/share/datasets
	} >"$RUN/spec/mcai-vm/binds"
	while IFS=$'\t' read -r _ dst; do
		case $dst in /tmp/* | /var/tmp/* | /run/*) ;; *) mkdir -p "$SYSROOT$dst" ;; esac
	done <"$RUN/spec/mcai-vm/binds"
fi
(cd "$RUN/spec" && find mcai-vm | cpio --quiet -o -H newc -R 0:0) >"$RUN/spec.cpio"
cat "$BASE" "$RUN/spec.cpio" >"$RUN/initrd"

# loglevel=5 shows KERN_WARNING and worse (WARN splats, lockdep) on the
# console, hiding the info chatter: the host can still judge a guest that
# dies before its verdict.  No panic_on_warn/oops=panic: the run goes on
# and the log collects every report.  A panic reboots at once (panic=-1),
# which -no-reboot turns into QEMU exiting.  mitigations=off saves TCG
# time; i8042.* skip probing a PS/2 controller nobody uses.
# no_timer_check: on a loaded host, TCG's virtual time can miss the IO-APIC
# timer check's window and the boot panics ("IO-APIC + timer doesn't
# work"); the check is for broken boards, not for QEMU's.
APPEND="loglevel=5 printk.time=1 panic=-1 log_buf_len=4M"
APPEND+=" mitigations=off random.trust_cpu=on rdinit=/init"
if [[ $ARCH == x86_64 ]]; then
	APPEND="console=ttyS0 $APPEND i8042.noaux i8042.nokbd i8042.nopnp 8250.nr_uarts=1"
	APPEND+=" no_timer_check"
else
	# The virt board's PL011.
	APPEND="console=ttyAMA0 $APPEND"
fi
# Not a kernel parameter: the kernel hands it to /init's environment
# (dropped there) and shows it in /proc/cmdline, where tests look for it.
((ICOUNT)) && APPEND+=" mcai_icount=1"
# Knobs for the tests, the same way (e.g. mcai_graph_samples=N).
[[ -z ${MCAI_VM_APPEND:-} ]] || APPEND+=" $MCAI_VM_APPEND"

# multidevs=remap: the host root spans several file systems; without it
# inode numbers from different devices collide in the guest.
VIRTFS=local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
# -cpu max: under TCG it has AVX2 & co., so host binaries built for this
# machine run.  -cpu host fails (MSR 0x10a) and KVM hangs on this host.
# thread=single: the vCPUs take turns on one host thread.  Multi-threaded
# TCG ran the suite in 250 s on an idle host but 434 s against 298 s for
# this when the host had other work (the vCPU threads preempt each other
# at every emulated IPI and spin-wait), and it has the cross-vCPU races of
# its own; the guest still has 2 CPUs, so SMP paths run interleaved.
# --icount: one vCPU on one host thread, guest time = instructions
# executed (shift=0: 1 ns each), so guest-measured times repeat exactly.
ACCEL=(-accel tcg,thread=single)
if ((ICOUNT)); then
	ACCEL=(-accel tcg,thread=single -icount shift=0)
	SMP=1
fi
# arm64: QEMU's virt board, booted directly (no firmware).  -cpu max
# computes pointer authentication with QEMU's own cheap hash instead of
# QARMA (pauth-impdef=on): the guest still signs and checks every return
# address, which is what matters for the module, at a fraction of the TCG
# cost.
case $ARCH in
x86_64) QEMU=(qemu-system-x86_64 -machine pc -cpu "$CPU") ;;
arm64)
	[[ $CPU != max ]] || CPU=max,pauth-impdef=on
	QEMU=(qemu-system-aarch64 -machine virt -cpu "$CPU")
	;;
esac
QEMU+=("${ACCEL[@]}" -smp "$SMP" -m "$MEM"
	-nodefaults -no-user-config -nographic -no-reboot -serial stdio
	-kernel "$KERNEL" -initrd "$RUN/initrd" -append "$APPEND"
	-virtfs "$VIRTFS")
((KEEP)) && echo "vm: $(printf '%q ' "${QEMU[@]}")"

# Host-side limit on the whole run, for a guest that can no longer end
# itself (a wedged kernel).  The guest enforces the per-test limit and
# powers off when a test outlives it (init.sh), so the host allows one
# test its whole timeout plus a generous share for the rest (900 s, or
# 60 s a test for long suites: every guest test on arm64's `max` under a
# loaded host needed more than 1500 s), not every test its whole
# timeout: a hung guest must not hold CI for hours.
# MCAI_VM_HOST_TIMEOUT overrides it (seconds).
# MCAI_VM_DEADLINE (epoch seconds, set by matrix.sh) caps it further.
HOST_TMO=$((TMO * ${#TESTS[@]} + 120))
share=$((60 * ${#TESTS[@]}))
((share >= 900)) || share=900
((HOST_TMO <= TMO + share)) || HOST_TMO=$((TMO + share))
HOST_TMO=${MCAI_VM_HOST_TIMEOUT:-$HOST_TMO}
if [[ -n ${MCAI_VM_DEADLINE:-} ]]; then
	left=$((MCAI_VM_DEADLINE - EPOCHSECONDS))
	((left > 60)) || die "no time left before MCAI_VM_DEADLINE"
	((HOST_TMO <= left)) || HOST_TMO=$left
fi
CONSOLE=$RUN/console.log
echo "vm: booting $KVER ($ARCH, cpu ${CPU%%,*}, smp $SMP, ${MEM} MB, ${#TESTS[@]} tests$( ((ICOUNT)) && printf ', icount'))"
start=$EPOCHREALTIME
set +e
if ((SHELL_AFTER)); then
	"${QEMU[@]}" 2>&1 | tee "$CONSOLE"
	qrc=${PIPESTATUS[0]}
else
	timeout -k 10 "$HOST_TMO" "${QEMU[@]}" </dev/null 2>&1 | tee "$CONSOLE"
	qrc=${PIPESTATUS[0]}
fi
set -e
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
[[ -n $LOG ]] && cp "$CONSOLE" "$LOG"

# Judge from the console log, carriage returns stripped.
fail=0
log=$(tr -d '\r' <"$CONSOLE")
if ((qrc == 124 || qrc == 137)); then
	echo "vm: FAIL: no power-off within ${HOST_TMO}s, QEMU killed"
	fail=1
elif ((qrc != 0)); then
	echo "vm: FAIL: QEMU exited with $qrc"
	fail=1
fi
if ! grep -qx 'MCAI-VM-VERDICT: PASS' <<<"$log"; then
	grep -qx 'MCAI-VM-VERDICT: FAIL' <<<"$log" ||
		echo "vm: FAIL: the guest printed no verdict"
	fail=1
fi
if khits=$(grep -E "^\[ *[0-9]+\.[0-9]+\] .*($KPAT)" <<<"$log"); then
	echo "vm: FAIL: kernel log errors on the console ($(wc -l <<<"$khits") lines, the first 20):"
	head -n 20 <<<"$khits" | while IFS= read -r l; do echo "vm:   $l"; done
	fail=1
fi

pass=0 nfail=0 skip=0 failed=''
for n in "${NAMES[@]}"; do
	if grep -qxF "mcai-vm: PASS $n" <<<"$log"; then
		pass=$((pass + 1))
	elif grep -qxF "mcai-vm: SKIP $n" <<<"$log"; then
		skip=$((skip + 1))
	else
		grep -qF "mcai-vm: FAIL $n (exit " <<<"$log" ||
			echo "vm: $n: no result (guest died or never ran it)"
		nfail=$((nfail + 1))
		failed+=" ${n##*/}"
	fi
done
((nfail == 0)) || fail=1

echo "vm: $KVER ($ARCH, ${CPU%%,*}), wall time ${elapsed}s"
echo "vm: $pass passed, $nfail failed${failed:+ (${failed# })}, $skip skipped"
if ((fail)); then
	echo "vm: FAIL"
	exit 1
fi
echo "vm: PASS"
