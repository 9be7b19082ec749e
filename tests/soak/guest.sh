#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make soak` (tests/soak/soak.sh boots the guest and reads
# the console): everything at once, for SOAK_MINUTES, in one guest:
#  - mcai_simsensor at SOAK_RATE samples/s per axis, SOAK_WINDOW-sample
#    windows, through the vib-detector -> vib-classifier chain pipeline
#    (pipeline=1; `mcaictl pipeline chain` holds the pipeline's fd);
#  - the eBPF telemetry attached (`mcaictl telemetry enable`; raw
#    tracepoints need no kernel BTF, so the debug kernel has it too), and
#    unpinned before rmmod (a pinned link holds mcai.ko); SOAK_TELEMETRY=off
#    leaves it off, for every mcaid as well;
#  - every SOAK_SWAP_SECONDS, vib-detector hot-swapped under the sensor,
#    alternating versions 2 and 1 (`mcaictl load`, `--force` back to 1);
#  - sessions opened and closed in a loop (`ring_test push`, 100 samples
#    each);
#  - an aggregator and SOAK_NODES mcaid nodes running rounds
#    (tests/soak/guest-fed.sh), installing each version into /dev/mcai.
# Every SOAK_INTERVAL seconds one CSV row goes to the console as
# "soak-csv: ..." (kernel memory from /proc/meminfo and /proc/slabinfo,
# the module's counters, the sensor's, each mcaid's RSS and open fds, the
# loops' counts), and once a minute a "soak: " progress line.  At the end
# everything stops, the sensor's counters must add up, every model
# unloads, the module's live counters are 0, `rmmod` succeeds, kmemleak
# (if the kernel has it) finds nothing and the kernel log has no error.
# The memory verdict is the host's (tests/soak/report.py).
# Exit 0 pass, 1 fail, 77 skip.
set -eu
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
CTL=$R/build/mcaictl
RING=$R/build/vm/ring_test
SIM=$(mcai_ko mcai_simsensor)
N=soak
MINUTES=${SOAK_MINUTES:-60}
INTERVAL=${SOAK_INTERVAL:-10}
SWAP_S=${SOAK_SWAP_SECONDS:-5}
NODES=${SOAK_NODES:-3}
RATE=${SOAK_RATE:-25600}
WINDOW=${SOAK_WINDOW:-1024}
# Keep in sync with KPAT in tests/vm/init.sh: the same lines fail the run.
KPAT='BUG:|WARNING:|Oops|general protection fault|Call Trace:|kernel BUG|possible circular locking|INFO: |KASAN:|UBSAN:|kmemleak: [0-9]+ new suspected|Out of memory'
S=/sys/class/misc/mcai

for f in "$MCAI_KO" "$SIM" "$CTL" "$RING" "$R/build/mcaid" \
	"$R/models/vib-detector.mcai" "$R/models/vib-classifier.mcai"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f (make tools, make vib-models)"; exit 1; }
done
TEL=${SOAK_TELEMETRY:-on}
[[ $TEL == on || $TEL == off ]] || { echo "$N: FAIL: SOAK_TELEMETRY is on or off, not '$TEL'"; exit 1; }
TEL_PIN=/sys/fs/bpf/mcai	# bpf/README.md

W=$(mktemp -d)
rc=0
SWAP_PID='' SESS_PID='' FED_PID=''
# On an early exit, the loops and the federation must not outlive the
# script (the guest runs nothing after it, but its kernel log is judged).
stop_all() {
	touch "$W/fed.stop"
	for p in $SWAP_PID $SESS_PID; do kill "$p" 2>/dev/null || :; done
}
trap stop_all EXIT
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
say() { echo "$N: $*"; }

grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
"$CTL" telemetry disable --purge >/dev/null 2>&1 || :
insmod "$MCAI_KO"
if [[ $TEL == on ]]; then
	"$CTL" telemetry enable >/dev/null
else
	say "SOAK_TELEMETRY=off: the eBPF telemetry stays off"
fi
"$CTL" load "$R/models/vib-detector.mcai" >/dev/null
"$CTL" load "$R/models/vib-classifier.mcai" >/dev/null

# The federation first: its set-up (certificates, the aggregator's first
# evaluation) is slow under TCG, slower still beside the sensor on the
# debug kernel.
SOAK_FED_STOP=$W/fed.stop SOAK_FED_PIDS=$W/fed.pids SOAK_FED_LOG=$W/fed.log \
	SOAK_NODES=$NODES SOAK_TELEMETRY=$TEL MCAID=$R/build/mcaid \
	bash "$R/tests/soak/guest-fed.sh" >"$W/fed.out" 2>&1 &
FED_PID=$!
fed_up() { [[ -s $W/fed.pids ]] || ! kill -0 "$FED_PID" 2>/dev/null; }
wait_for 600 "the federation to start" fed_up || :
if [[ ! -s $W/fed.pids ]]; then
	fail "the federation did not start"
	cat "$W/fed.out"
fi
DAEMONS=()
[[ ! -s $W/fed.pids ]] || mapfile -t DAEMONS <"$W/fed.pids"

# Version 2 of vib-detector: the same blob with model_version (offset 48
# in blob formats 1 and 2, uapi/mcai.h) set to 2 and the SHA-256 that
# closes the blob recomputed.  Same weights, so the swaps change nothing
# the sensor's results depend on; only the swap path is exercised.
DET2=$W/vib-detector-v2.mcai
python3 - "$R/models/vib-detector.mcai" "$DET2" <<'EOF'
import hashlib, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", b, 48, 2)
b[-32:] = hashlib.sha256(b[:-32]).digest()
open(sys.argv[2], "wb").write(b)
EOF

# The chain pipeline lives as long as the fd that made it: `mcaictl
# pipeline` creates it, then reads samples from the fifo, which stays
# open (fd 7) and empty until the end.
mkfifo "$W/pipe"
"$CTL" pipeline chain vib-detector vib-classifier --input - -q \
	<"$W/pipe" >"$W/pipeline.log" 2>&1 &
PIPE_PID=$!
exec 7>"$W/pipe"
sim_up() {
	insmod "$SIM" rate="$RATE" window="$WINDOW" fault=1 pipeline=1 \
		model="mcaictl-$PIPE_PID" 2>/dev/null
}
if ! wait_for 120 "mcai_simsensor to attach to pipeline mcaictl-$PIPE_PID" sim_up; then
	cat "$W/pipeline.log"
	exit 1
fi

# Background loops; each counts into a file the sampler reads.  They
# end at the top of a round once $W/loops.stop exists, and are waited
# for: a loop killed mid-round would leave its child (a ring_test or an
# mcaictl, /dev/mcai open) running past the end, to be counted nowhere
# and to hold the module at rmmod.
swapper() {
	local n=0 bad=0 v=2
	while [[ ! -e $W/loops.stop ]]; do
		sleep "$SWAP_S"
		if ((v == 2)); then
			"$CTL" load "$DET2" >/dev/null 2>>"$W/swap.err" || bad=$((bad + 1))
			v=1
		else
			"$CTL" load --force "$R/models/vib-detector.mcai" \
				>/dev/null 2>>"$W/swap.err" || bad=$((bad + 1))
			v=2
		fi
		n=$((n + 1))
		echo "$n $bad" >"$W/swaps.tmp" && mv "$W/swaps.tmp" "$W/swaps"
	done
}
sessions() {
	local n=0 bad=0
	while [[ ! -e $W/loops.stop ]]; do
		"$RING" push soak-ring 100 >/dev/null 2>>"$W/ring.err" || bad=$((bad + 1))
		n=$((n + 1))
		echo "$n $bad" >"$W/sessions.tmp" && mv "$W/sessions.tmp" "$W/sessions"
		sleep 0.5
	done
}
echo "0 0" >"$W/swaps"
echo "0 0" >"$W/sessions"
swapper &
SWAP_PID=$!
sessions &
SESS_PID=$!

# ---- sampling ----------------------------------------------------------

meminfo() {		# meminfo KEY...: their kB values, comma separated
	awk -v keys="$*" 'BEGIN { n = split(keys, k, " ") }
		{ sub(":", "", $1); v[$1] = $2 }
		END { for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? "," : ""), v[k[i]] }' /proc/meminfo
}
# kmalloc_kb: bytes in use in the kmalloc caches (active objects x object
# size), empty when /proc/slabinfo is missing (no SLUB debug info)
kmalloc_kb() {
	[[ -r /proc/slabinfo ]] || return 0
	awk '$1 ~ /^(dma-)?kmalloc-/ { b += $2 * $4 } END { printf "%d", b / 1024 }' /proc/slabinfo
}
# inode_kb: bytes in the per-inode caches that are not reclaimable while
# their file exists (tmpfs inodes, LSM inode blobs).  The registry keeps
# three files per version in the guest's tmpfs, ~4 KiB of SUnreclaim a
# round: the harness's files, not the module's memory.
inode_kb() {
	[[ -r /proc/slabinfo ]] || return 0
	awk '$1 == "shmem_inode_cache" || $1 == "lsm_inode_cache" { b += $2 * $4 }
		END { printf "%d", b / 1024 }' /proc/slabinfo
}
# kmemleak_kb: bytes in kmemleak_object (debug kernel; empty elsewhere):
# kmemleak's record of every tracked allocation in the kernel, one per
# live object of any cache, so it grows with the registry's files (their
# inodes, dentries, xattrs, page-cache nodes) as well.  A leak in the
# module still shows in the leaked object's own cache and in kmemleak's
# report; this is the debugger's bookkeeping, not the module's memory.
kmemleak_kb() {
	[[ -r /proc/slabinfo ]] || return 0
	awk '$1 == "kmemleak_object" { b += $2 * $4 } END { printf "%d", b / 1024 }' /proc/slabinfo
}
# slab_snap: per cache, kB in use (for the growth report at the end)
slab_snap() {
	[[ -r /proc/slabinfo ]] || return 0
	awk 'NR > 2 { printf "%s %d\n", $1, $2 * $4 / 1024 }' /proc/slabinfo
}
simval() { awk -v k="$1" '$1 == k { print $2 }' <<<"$SIMS"; }
proc_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || :; }
proc_fds() {
	local f=(/proc/"$1"/fd/*)
	if [[ -e ${f[0]} ]]; then echo "${#f[@]}"; fi
}
rounds() {
	local log
	log=$(cat "$W/fed.log" 2>/dev/null) || { echo 0; return; }
	grep -c "round [0-9]* done" "$log" 2>/dev/null || :
}

HEADER="t_s,slab_kb,sunreclaim_kb,vmalloc_kb,kmalloc_kb,inode_kb,kmemleak_kb,memavailable_kb,shmem_kb"
HEADER+=",mcai_nr_models,mcai_live_slots,mcai_live_versions,mcai_live_bytes,mcai_inferences"
HEADER+=",sim_windows,sim_submitted,sim_completed,sim_dropped,sim_shed,sim_gated,sim_lagged"
HEADER+=",swaps,swap_errors,sessions,session_errors,rounds"
for d in "${DAEMONS[@]}"; do
	HEADER+=",${d% *}_rss_kb,${d% *}_fds"
done
T0=$(uptime_s)
slab_snap >"$W/slab.0"
read -r SUR0 INO0 KML0 <<<"$(meminfo SUnreclaim) $(inode_kb) $(kmemleak_kb)"
sample() {
	local row c d
	SIMS=$(cat /sys/module/mcai_simsensor/parameters/stats)
	row="$(($(uptime_s) - T0)),$(meminfo Slab SUnreclaim VmallocUsed)"
	row+=",$(kmalloc_kb),$(inode_kb),$(kmemleak_kb),$(meminfo MemAvailable Shmem)"
	for c in nr_models live_slots live_versions live_bytes inferences; do
		row+=",$(cat "$S/$c")"
	done
	row+=",$(simval windows),$(simval det_mcai_submitted),$(simval det_mcai_completed)"
	row+=",$(simval det_mcai_dropped),$(simval det_mcai_shed),$(simval det_mcai_gated)"
	row+=",$(simval lagged_samples)"
	row+=",$(tr ' ' , <"$W/swaps"),$(tr ' ' , <"$W/sessions"),$(rounds)"
	for d in "${DAEMONS[@]}"; do
		row+=",$(proc_rss "${d#* }"),$(proc_fds "${d#* }")"
	done
	LAST=$row
	echo "soak-csv: $row"
}

say "soaking for $MINUTES min: sensor $RATE samples/s, $WINDOW-sample windows, chain pipeline; swap every ${SWAP_S}s; sessions in a loop; $NODES mcaid nodes + aggregator; a sample every ${INTERVAL}s"
echo "soak-csv: $HEADER"
END=$((T0 + MINUTES * 60))
next=$T0
minute=$((T0 + 60))
while :; do
	now=$(uptime_s)
	((now < END)) || break
	if ((now >= next)); then
		sample
		next=$((next + INTERVAL))
	fi
	if ((now >= minute)); then
		# the latest sample, each value named
		say "$(((now - T0) / 60))/$MINUTES min: $(awk -F, -v h="$HEADER" \
			'{ n = split(h, k, ","); for (i = 1; i <= n; i++) printf "%s=%s ", k[i], $i }' <<<"$LAST")"
		minute=$((minute + 60))
		if dmesg | grep -qE "$KPAT"; then
			fail "kernel log error during the soak: $(dmesg | grep -E "$KPAT" | head -n 3)"
			break
		fi
	fi
	for p in "$SWAP_PID" "$SESS_PID" "$FED_PID"; do
		kill -0 "$p" 2>/dev/null || { fail "a background loop (pid $p) ended early"; break 2; }
	done
	sleep 1
done
sample
# which caches grew, for whoever reads a failed verdict
slab_snap >"$W/slab.1"
awk 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; if (d > 0) print d, $1 }' \
	"$W/slab.0" "$W/slab.1" | sort -rn | head -n 8 |
	while read -r d c; do say "slab growth over the soak: $c +$d kB"; done

# ---- the end: stop everything, then everything must unload -------------

touch "$W/loops.stop"
loops_done() { ! kill -0 "$SWAP_PID" 2>/dev/null && ! kill -0 "$SESS_PID" 2>/dev/null; }
wait_for 600 "the swap and session loops to end their last round" loops_done ||
	fail "the swap and session loops did not end"
kill "$SWAP_PID" "$SESS_PID" 2>/dev/null || :
wait "$SWAP_PID" "$SESS_PID" 2>/dev/null || :
read -r n bad <"$W/swaps"
say "swaps: $n, failed $bad"
((bad == 0)) || fail "$bad swaps failed: $(sort "$W/swap.err" | uniq -c | head -n 3)"
read -r n bad <"$W/sessions"
say "sessions: $n, failed $bad"
((bad == 0)) || fail "$bad session loops failed: $(sort "$W/ring.err" | uniq -c | head -n 3)"
touch "$W/fed.stop"
wait "$FED_PID" || fail "federation: $(tail -n 20 "$W/fed.out")"
say "federation: $(tail -n 1 "$W/fed.out")"

if sim_pause 300; then
	SIMS=$SIM_STATS
	s=$(simval det_mcai_submitted) c=$(simval det_mcai_completed)
	d=$(simval det_mcai_dropped) h=$(simval det_mcai_shed)
	say "sensor: windows $(simval windows) submitted $s completed $c dropped $d shed $h gated $(simval det_mcai_gated)"
	((s == c + d + h)) || fail "sensor: submitted $s != completed $c + dropped $d + shed $h"
	((c > 0)) || fail "the sensor completed nothing"
else
	fail "the sensor did not go idle after run=0"
fi
rmmod mcai_simsensor || fail "rmmod mcai_simsensor"
exec 7>&-
wait "$PIPE_PID" || :	# no samples on its input: mcaictl says so
# The telemetry's links are pinned: each raw-tracepoint link holds a
# reference on mcai.ko until it is unpinned (bpf/README.md), with no
# process holding anything.  Whoever attached them (this script, or an
# mcaid whose --telemetry was left at auto: it pins and leaves them by
# design), they go before rmmod, whatever TEL says.
if [[ $TEL == on || -e $TEL_PIN ]]; then
	[[ $TEL == on ]] ||
		say "telemetry pinned although off here: $(ls "$TEL_PIN/links" 2>/dev/null | tr '\n' ' ')"
	"$CTL" telemetry disable --purge >/dev/null || fail "telemetry disable"
	[[ ! -e $TEL_PIN/links ]] || [[ -z $(ls "$TEL_PIN/links") ]] ||
		fail "telemetry links still pinned: $(ls "$TEL_PIN/links" | tr '\n' ' ')"
fi
for m in vib-classifier vib-detector soak-ring fmnist; do
	"$CTL" unload "$m" >/dev/null 2>&1 || :
done
live_zero "after the soak" || rc=1
# who holds the module: its refcount, and every process with /dev/mcai
# open or mapped (a mapping holds the file too)
holders() {
	local p c
	say "mcai refcnt $(cat /sys/module/mcai/refcnt 2>/dev/null), holders: $(ls /sys/module/mcai/holders 2>/dev/null | tr '\n' ' ')"
	for p in /proc/[0-9]*; do
		if ls -l "$p/fd" 2>/dev/null | grep -q '/dev/mcai' ||
		   grep -q '/dev/mcai' "$p/maps" 2>/dev/null; then
			c=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)
			say "  pid ${p#/proc/} ($(cat "$p/comm" 2>/dev/null), state $(awk '/^State:/ { print $2 }' "$p/status" 2>/dev/null)): ${c:0:160}"
		fi
	done
	# A task blocked in the file's release has no fd table left to list
	# but still holds the reference: every task in D, with its stack.
	for p in /proc/[0-9]*; do
		[[ $(awk '/^State:/ { print $2 }' "$p/status" 2>/dev/null) == D ]] || continue
		say "  pid ${p#/proc/} ($(cat "$p/comm" 2>/dev/null)) in D: $(tr '\n' ' ' <"$p/stack" 2>/dev/null | cut -c 1-400)"
	done
	say "  modules: $(awk '{ printf "%s(%s:%s) ", $1, $3, $4 }' /proc/modules)"
	# a pinned raw-tracepoint link on an mcai:* tracepoint holds one each
	say "  pinned telemetry links: $(ls "$TEL_PIN/links" 2>/dev/null | tr '\n' ' ')"
}
refcnt_zero() { [[ $(cat /sys/module/mcai/refcnt) == 0 ]]; }
if rmmod mcai; then
	say "rmmod mcai: ok"
else
	fail "rmmod mcai"
	holders
	# then whether the reference is ever given back (a late close) or
	# not (a leak), so that what follows (kmemleak) still runs unloaded
	if wait_for 120 "mcai's refcount to fall to 0" refcnt_zero && rmmod mcai; then
		say "rmmod mcai: ok on a second try"
	else
		# the list again would take minutes on the debug kernel
		say "mcai refcnt still $(cat /sys/module/mcai/refcnt)"
	fi
fi

# kmemleak (debug kernel): as tests/vm/init.sh does, objects must be 5 s
# old and a new object escapes its first scan, so wait and scan twice.
K=/sys/kernel/debug/kmemleak
if [[ -w $K ]]; then
	sleep 5
	echo scan >"$K"
	echo scan >"$K"
	leaks=$(grep -c '^unreferenced object' "$K" || :)
	say "kmemleak: $leaks unreferenced objects"
	((leaks == 0)) || fail "kmemleak reports $leaks objects"
else
	say "kmemleak: not in this kernel"
fi
# Once everything is stopped, unloaded and the federation's files are
# gone: what is left of the soak's growth in SUnreclaim (informational;
# RCU-deferred frees and KASAN's quarantine of freed objects still hold
# some of it on the debug kernel).
read -r SUR1 INO1 KML1 <<<"$(meminfo SUnreclaim) $(inode_kb) $(kmemleak_kb)"
say "at the end, all stopped and unloaded: SUnreclaim ${SUR0} -> ${SUR1} kB ($((SUR1 - SUR0))), inode caches ${INO0:-0} -> ${INO1:-0} kB, kmemleak_object ${KML0:-0} -> ${KML1:-0} kB"
errs=$(dmesg | grep -cE "$KPAT" || :)
say "kernel log: $errs error lines"
((errs == 0)) || fail "kernel log: $(dmesg | grep -E "$KPAT" | head -n 5)"
((rc)) || say "all checks passed"
exit "$rc"
