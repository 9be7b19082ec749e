#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One aggregator, one node process with 1000 concurrent TLS connections
# (each: handshake, HELLO/WELCOME, 3 echoes, then held open until all are
# done), so the aggregator has all 1000 peers at once on one thread.
. "$(dirname "$0")/lib.sh"

N=${MCAI_FED_PEERS:-1000}
[ "$(ulimit -Hn)" -ge $((N + 100)) ] || skip "RLIMIT_NOFILE hard limit below $((N + 100))"
start_agg "$T/agg.log"
t0=$(date +%s.%N)
node node1 "$T/node.log" --log-level warn --connections "$N" --ping 3 ||
	fail "node with $N connections failed"
t1=$(date +%s.%N)
sanitizer_clean "$T/node.log"
stop_agg "$T/agg.log"
peak=$(stat_of "$T/agg.log" peak_peers)
conn=$(stat_of "$T/agg.log" connected)
fin=$(stat_of "$T/agg.log" frames_in)
[ "$conn" -eq "$N" ] || fail "$conn of $N connections verified"
[ "$peak" -ge "$N" ] || fail "only $peak peers at once"
[ "$fin" -eq $((N * 4)) ] || fail "$fin frames, expected $((N * 4))"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
pass "$N concurrent TLS peers (peak $peak), $fin frames, ${secs}s for all handshakes and echoes ($(basename "$MCAID"))"
