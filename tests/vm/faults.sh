#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of make check-faults: run one guest test with kernel
# allocations (and user copies) failing at random, restricted to the test's
# tasks, then judge the module, not the test.
#
# usage (in the guest, as root): tests/vm/faults.sh TEST
#
# Environment (tests/vm/faults-run.sh sets them in the wrappers it makes):
#   MCAI_FAULT_PROB      percent of eligible calls that fail (default 10)
#   MCAI_FAULT_INTERVAL  only every Nth eligible call may fail (default 1)
#   MCAI_FAULT_ATTRS     which of failslab, fail_page_alloc, fail_usercopy
#                        (default all three)
#   MCAI_FAULT_VERBOSE   the attributes' verbose (default 0; 1 logs a
#                        KERN_NOTICE line per failure, 2 adds a stack dump,
#                        whose "Call Trace:" fails the run)
#   MCAI_FAULT_SCOPE     "mcai" (default): a watcher sets make-it-fail on
#                        the test's processes that hold /dev/mcai open, so
#                        failures hit the module's ioctls, mmap and release
#                        rather than bash's fork and exec; "tree":
#                        make-it-fail on the test's whole process tree
#   MCAI_FAULT_MODLOAD   1: the watcher marks insmod/rmmod/modprobe too
#                        (default 0: at 10% load_module()'s own hundred
#                        allocations fail first, "Failed to allocate memory
#                        for static calls", and the test stops at insmod)
#
# Failslab and fail_page_alloc run with task-filter=Y: only tasks with
# /proc/PID/make-it-fail = 1 see failures.  make-it-fail is a task_struct
# field that dup_task_struct() copies, so children inherit it (6.1:
# kernel/fork.c arch_dup_task_struct, *dst = *src).  The stack filter
# (require-start/end) is not available on x86_64 (FAULT_INJECTION_
# STACKTRACE_FILTER depends on !X86_64), hence the watcher.
#
# The test's own verdict does not count here (it is expected to see ENOMEM
# and EFAULT).  This exits 0 when, after the test, the mcai modules unload
# and mcai's live counters were 0 with no model registered; else 1.  The
# number of injected failures per attribute is read from its "times"
# (started at a known count, decremented per failure).  The kernel log is
# judged by init.sh as for every test (BUG/WARNING/KASAN/lockdep/kmemleak);
# the lines this test added are also printed here, prefixed "faults:".
# A leak with models still registered shows at rmmod: the module's exit
# unloads them and WARN_ONs on live counters or budgets left non-zero
# (kmod/registry.c, account.c), and kmemleak scans at the end of the run.
set -uo pipefail

TEST=${1:?usage: faults.sh TEST}
N=${TEST##*/}
D=/sys/kernel/debug
PROB=${MCAI_FAULT_PROB:-10}
INTERVAL=${MCAI_FAULT_INTERVAL:-1}
VERBOSE=${MCAI_FAULT_VERBOSE:-0}
SCOPE=${MCAI_FAULT_SCOPE:-mcai}
MODLOAD=${MCAI_FAULT_MODLOAD:-0}
TIMES=1000000
KPAT='BUG:|WARNING:|Oops|general protection fault|Call Trace:|kernel BUG|possible circular locking|INFO: |KASAN:|UBSAN:|kmemleak: [0-9]+ new suspected|Out of memory|vmalloc error|page allocation failure'

say() { printf 'faults: %s: %s\n' "$N" "$*"; }

[[ -d $D/failslab && -d $D/fail_page_alloc ]] || {
	say "SKIP: no failslab/fail_page_alloc in debugfs (not a fault-injection kernel)"
	exit 77
}
ATTRS=()
for a in ${MCAI_FAULT_ATTRS:-failslab fail_page_alloc fail_usercopy}; do
	[[ -d $D/$a ]] && ATTRS+=("$a")
done

w() { printf '%s\n' "$2" >"$D/$1" || say "cannot write $2 to $D/$1"; }

setup() {
	local a
	for a in "${ATTRS[@]}"; do
		w "$a/probability" 0
		w "$a/interval" "$INTERVAL"
		w "$a/times" "$TIMES"
		w "$a/space" 0
		w "$a/verbose" "$VERBOSE"
		w "$a/task-filter" Y
	done
	w failslab/ignore-gfp-wait N
	w fail_page_alloc/ignore-gfp-wait N
	# __GFP_HIGHMEM marks page cache and anonymous user pages: not the
	# module's, and failing a 9p root's page cache only kills processes.
	w fail_page_alloc/ignore-gfp-highmem Y
	w fail_page_alloc/min-order 0
	for a in "${ATTRS[@]}"; do w "$a/probability" "$PROB"; done
}

stop() {
	local a
	for a in "${ATTRS[@]}"; do w "$a/probability" 0; done
}

# Mark, every 20 ms, the processes that have /dev/mcai open or are loading
# or unloading a module.  Builtins only (no fork per round): [[ -ef ]]
# stats through the /proc fd symlink, read -t on a private fifo sleeps.
watcher() {
	local f p c round=0
	declare -A marked=()
	while :; do
		for f in /proc/[0-9]*/fd/*; do
			[[ $f -ef /dev/mcai ]] || continue
			p=${f#/proc/}
			p=${p%%/*}
			[[ -n ${marked[$p]:-} ]] && continue
			echo 1 >"/proc/$p/make-it-fail" 2>/dev/null && marked[$p]=1
		done
		[[ $MODLOAD == 1 ]] && for f in /proc/[0-9]*/comm; do
			read -r c <"$f" 2>/dev/null || continue
			case $c in insmod | rmmod | modprobe) ;; *) continue ;; esac
			p=${f#/proc/}
			p=${p%%/*}
			[[ -n ${marked[$p]:-} ]] && continue
			echo 1 >"/proc/$p/make-it-fail" 2>/dev/null && marked[$p]=1
		done
		# A broken 9p root (below) only makes the test wait for its
		# timeouts: end it.  An open is a walk; once a second or so.
		if ((++round % 50 == 0)) && ! : 2>/dev/null <"$TEST"; then
			say "the guest root (9p) broke during the test: ending it"
			kill -KILL -- -"$1" 2>/dev/null
		fi
		read -rt 0.02 -u 8 _ || :
	done
}

counters() {
	local f out=''
	for f in nr_models live_slots live_versions live_bytes; do
		v='?'
		read -r v <"/sys/class/misc/mcai/$f" 2>/dev/null
		out+=" $f=$v"
	done
	echo "${out# }"
}

# rmmod from tmpfs, loader and libraries included: the 9p root may be
# unusable after the test (see below).
RMMOD=(rmmod)
B=$(mktemp -d /tmp/faults-bin.XXXXXX)
# (no process substitution: the chroot's /dev has no /dev/fd)
read -ra libs <<<"$(ldd /usr/sbin/rmmod | awk '$3 ~ /^\// { printf "%s ", $3 }')"
if cp -L /usr/sbin/rmmod "$B/rmmod" && cp -L /lib64/ld-linux-x86-64.so.2 "$B/ld.so" &&
	cp -L "${libs[@]}" "$B/"; then
	RMMOD=("$B/ld.so" --library-path "$B" "$B/rmmod")
fi
fifo=$B/sleep
mkfifo "$fifo" && exec 8<>"$fifo"

klines0=$(dmesg | wc -l)
setup
say "start: scope $SCOPE, probability $PROB%, interval $INTERVAL, attributes ${ATTRS[*]}"

wpid=''
if [[ $SCOPE == mcai ]]; then
	# The test in a process group of its own (job control), which the
	# watcher can end as a whole.
	set -m
	"$TEST" &
	tpid=$!
	set +m
	# timeout(1) in init.sh ends its own group, not the test's
	trap 'kill -KILL -- -"$tpid" 2>/dev/null' TERM
	watcher "$tpid" &
	wpid=$!
	wait "$tpid"
	trc=$?
else
	# A subshell: the wrapper itself keeps make-it-fail 0.
	(echo 1 >/proc/self/make-it-fail && exec "$TEST")
	trc=$?
fi
[[ -n $wpid ]] && { kill "$wpid"; wait "$wpid" 2>/dev/null; }
stop

inj='' total=0
for a in "${ATTRS[@]}"; do
	# a builtin: exec may be what the test broke
	read -r left <"$D/$a/times" || left=$TIMES
	n=$((TIMES - left))
	total=$((total + n))
	inj+=" $a=$n"
done
say "injected${inj} total=$total (test exit $trc, not judged)"

# The guest's root is the host's over 9p, and 6.1's 9p client does not
# survive injected failures: a Tclunk whose allocation fails frees the fid
# number on the client only, the next walk reuses it and QEMU refuses it
# (EINVAL) for good, so every later open in the guest fails "Invalid
# argument".  Hence one test per boot (faults-run.sh), the rmmod below
# from a tmpfs copy made before the test, and builtins for the counters.
# An open is a walk (a fid clone) even for a cached dentry.
root_ok=1
if ! : 2>/dev/null <"$TEST"; then
	root_ok=0
	say "the guest root (9p) is broken (open: EINVAL): injection hit the 9p client; the test's later steps mean nothing"
fi

# Processes the test left behind (daemons, background loops) hold the
# module: give them a moment, then end them (guest only).
ok=1
for i in 1 2 3 4 5 6 7 8 9 10; do
	[[ -e /sys/module/mcai ]] || break
	read -r refs </sys/module/mcai/refcnt || refs=0
	((refs == 0)) && break
	((i == 5)) && for f in /proc/[0-9]*/fd/*; do
		[[ $f -ef /dev/mcai ]] || continue
		p=${f#/proc/}
		p=${p%%/*}
		((p != $$)) && kill -9 "$p" 2>/dev/null
	done
	read -rt 0.5 -u 8 _ || :
done

if [[ -e /sys/class/misc/mcai ]]; then
	c=$(counters)
	say "counters after the test: $c"
	case " $c " in
	*" nr_models=0 "*)
		[[ $c == *" live_slots=0 live_versions=0 live_bytes=0" ]] || {
			say "FAIL: live counters not 0 with no model registered"
			ok=0
		}
		;;
	esac
fi
for m in mcai_simsensor mcai; do
	[[ -e /sys/module/$m ]] || continue
	if ! "${RMMOD[@]}" "$m"; then
		refs='?'
		read -r refs <"/sys/module/$m/refcnt"
		say "FAIL: rmmod $m (refcnt $refs)"
		ok=0
	fi
done
[[ -e /sys/module/mcai ]] || say "mcai unloaded"

hits=''
((root_ok)) && hits=$(dmesg | tail -n +$((klines0 + 1)) | grep -E "$KPAT")
if [[ -n $hits ]]; then
	say "kernel log lines during this test:"
	printf '%s\n' "$hits" | head -n 40 | sed "s/^/faults: $N: kernel: /"
	ok=0
fi

((ok)) && { say "OK"; exit 0; }
say "FAIL"
exit 1
