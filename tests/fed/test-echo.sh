#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Aggregator and two nodes, separate processes, exchange frames over TLS
# 1.3 on loopback: HELLO/WELCOME, then echoes of small and 2 MiB frames,
# every byte checked by the node.  SIGTERM stops the aggregator cleanly.
. "$(dirname "$0")/lib.sh"

start_agg "$T/agg.log"
node node1 "$T/node1.log" --ping 50 --ping-size 1000 &
n1=$!
node node2 "$T/node2.log" --ping 4 --ping-size $((2 << 20))
rc2=$?
wait $n1
rc1=$?
[ $rc1 -eq 0 ] || fail "node1 (50 x 1 KB echoes) exited $rc1"
[ $rc2 -eq 0 ] || fail "node2 (4 x 2 MiB echoes) exited $rc2"
sanitizer_clean "$T/node1.log"
sanitizer_clean "$T/node2.log"
grep -q "HELLO from node" "$T/agg.log" || fail "no HELLO logged"
grep -q "peer verified" "$T/node1.log" || fail "node did not verify"
stop_agg "$T/agg.log"
fin=$(stat_of "$T/agg.log" frames_in)
bin=$(stat_of "$T/agg.log" bytes_in)
[ "$fin" -eq 56 ] || fail "aggregator saw $fin frames, expected 56"
pass "2 nodes, $fin frames ($bin bytes of TLS) echoed intact, clean SIGTERM"
