#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The ABI used hostilely by an unprivileged user (nobody, no capabilities),
# tests/vm/prog/abi_abuse.c: garbage in every user-writable ring field
# (clamped, counted exactly), a thread racing the indices, writes to the
# read-only pages, wrong mmaps, every ioctl with bad pointers, sizes,
# flags and reserved fields, a sweep of unknown numbers, close and munmap
# while the kernel produces, close vs inference from several threads.
# Meanwhile nobody's traffic runs and root hot-swaps its model, version
# after version.  Afterwards the module answers a fixed input byte for
# byte as before, holds nothing, unloads, and logged no warning.
# Exit 0 pass, 1 fail, 77 skip.
set -u
N=21-abi-abuse
[[ ${MCAI_VM:-} ]] || { echo "$N: SKIP: guest test (MCAI_VM unset)"; exit 77; }
R=${MCAI_ROOT:?}
T=$R/build/vm/abi_abuse
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
BLOB=$R/models/fmnist-mlp.mcai

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
# nobody, no capabilities; setpriv execs, so a job's pid is the program's
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
	--bounding-set=-all --no-new-privs)
loaded() { grep -q '^mcai ' /proc/modules; }

[[ -e $KO && -x $T && -x $CTL ]] || { echo "$N: FAIL: build $KO, $T and $CTL first"; exit 1; }
loaded && rmmod mcai
klog0=$(dmesg | wc -l)
tmp=$(mktemp -d)
chmod 1777 "$tmp"	# nobody writes its reference runs there
trap 'rm -rf "$tmp"' EXIT

insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
"$T" load abuse-ref 1 || fail "load abuse-ref"
"$T" load abuse-swap 1 || fail "load abuse-swap"
"$CTL" load "$BLOB" >/dev/null || fail "load $BLOB"
# every command uapi/mcai.h defines must be abused (abi_abuse checks)
ncmds=$(grep -c '^#define MCAI_IOC_[A-Z_]*[[:space:]]*_IO' "$R/uapi/mcai.h")

"${NOBODY[@]}" "$T" ref abuse-ref "$tmp/ref.before" || fail "reference run before the abuse"

# nobody's traffic on abuse-swap, checked against each version it meets
"${NOBODY[@]}" "$T" traffic abuse-swap 9 >"$tmp/traffic" 2>&1 &
traffic=$!
running() { grep -q 'traffic running' "$tmp/traffic" || ! kill -0 "$traffic" 2>/dev/null; }
wait_for 120 "nobody's traffic to start" running
grep -q 'traffic running' "$tmp/traffic" || fail "no traffic: $(cat "$tmp/traffic")"

# The device is held: rmmod is refused, and changes nothing.
if rmmod mcai 2>/dev/null; then
	fail "rmmod accepted while nobody holds /dev/mcai"
	exit 1
fi

# Each abuse with root swapping versions of abuse-swap under the traffic.
v=2
for what in "ring abuse-ref" "mmap abuse-ref" "ioctl abuse-ref $ncmds" \
	"close abuse-ref $BLOB"; do
	"$T" swap abuse-swap "$v" $((v + 1)) &
	swapper=$!
	# shellcheck disable=SC2086 # the words are the arguments
	"${NOBODY[@]}" "$T" $what || fail "abi_abuse ${what%% *}"
	wait "$swapper" || fail "swap to v$v..v$((v + 1))"
	v=$((v + 2))
done

kill -USR1 "$traffic"
wait "$traffic" || fail "nobody's traffic"
cat "$tmp/traffic"

# The same answers as before, byte for byte.
"${NOBODY[@]}" "$T" ref abuse-ref "$tmp/ref.after" || fail "reference run after the abuse"
cmp "$tmp/ref.before" "$tmp/ref.after" || fail "abuse-ref answers differently after the abuse"
# abuse-swap at its last version, checked against the engine
"${NOBODY[@]}" "$T" ref abuse-swap "$tmp/swap.after" || fail "abuse-swap after the swaps"

# Nothing held: no session, no pipeline, no reference on the module.
"$T" settle || fail "sessions or pipelines left"
refcnt=$(cat /sys/module/mcai/refcnt)
[[ $refcnt == 0 ]] || fail "module refcnt $refcnt with every fd closed"
for m in abuse-ref abuse-swap fmnist-mlp; do
	"$CTL" unload "$m" >/dev/null || fail "unload $m"
done
live_zero "after the abuse" || rc=1
rmmod mcai || fail "rmmod after the abuse"
loaded && fail "mcai still loaded"

# What the harness greps for at the end of the run, here to name this test.
klog=$(dmesg | tail -n +$((klog0 + 1)) |
	grep -E 'BUG:|WARNING:|Oops|general protection fault|Call Trace:|kernel BUG|possible circular locking|INFO: |KASAN:|UBSAN:|Out of memory')
[[ -z $klog ]] || fail "kernel log: $klog"
((rc)) || echo "$N: all checks passed"
exit "$rc"
