#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The aggregator's memory bounds and per-peer rate limit hold without
# losing a byte:
#  * assembly budget: with --assembly-kib 64, only one large frame is
#    received at a time; 20 connections sending 300 KB frames at once all
#    get every echo back intact, and the others were held (waited > 0);
#  * send budget: a 300 KB echo queued to each of those connections at
#    once is sealed a window at a time within the budget;
#  * rate limit: at --rate-frames 10 (bursts of 20), 61 frames from one
#    peer take at least (61 - 20) / 10 s, all echoed intact, and the
#    peer was throttled (not read) rather than disconnected.
. "$(dirname "$0")/lib.sh"

start_agg "$T/agg.log" --assembly-kib 64
node node1 "$T/node1.log" --connections 20 --ping 3 --ping-size 300000 ||
	fail "20 connections x 3 echoes of 300 KB under a 64 KiB budget failed"
sanitizer_clean "$T/node1.log"
stop_agg "$T/agg.log"
waited=$(stat_of "$T/agg.log" waited)
fin=$(stat_of "$T/agg.log" frames_in)
[ "$fin" -eq 80 ] || fail "aggregator saw $fin frames, expected 80"
[ "$waited" -gt 0 ] || fail "no sender was held by the assembly budget"

start_agg "$T/agg2.log" --rate-frames 10
t0=$(date +%s.%N)
node node1 "$T/node2.log" --ping 60 --ping-size 100 ||
	fail "60 echoes under a 10 frames/s limit failed"
t1=$(date +%s.%N)
sanitizer_clean "$T/node2.log"
stop_agg "$T/agg2.log"
thr=$(stat_of "$T/agg2.log" throttled)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
awk -v s="$secs" 'BEGIN { exit !(s >= 3.5) }' ||
	fail "61 frames at 10/s (burst 20) took only ${secs}s"
[ "$thr" -gt 0 ] || fail "the fast peer was never throttled"
grep "closing:" "$T/agg2.log" | grep -vq "peer closed the connection" &&
	fail "the fast peer was disconnected instead of slowed down"
pass "20 x 3 x 300 KB echoes intact with one frame assembled at a time ($waited waits); 61 frames at 10/s took ${secs}s ($thr throttles), none lost"
