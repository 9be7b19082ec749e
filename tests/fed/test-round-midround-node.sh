#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Nodes killed (SIGKILL) in the middle of a round and started again
# while it is still open: node3 dies after training, before its update
# went out, and node1 right after its update was counted.  Back, node3 is
# asked again and its update counts; node1 is not asked again and its
# update stays counted once; the round closes with all three (weight
# 3000 = 3 x 1000 samples: nothing lost, nothing twice).  The nodes hold
# their updates until the test releases them (--answer-hold), so the
# round stays open exactly as long as the test needs.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

H=$T/state
start_fed_agg "$T/agg.log" --set rounds.count=2 --log-level debug
for i in 1 2 3; do
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/3 limit=3000" \
		--answer-hold "$H/go$i"
	pid[i]=$LAST_NODE
done
for i in 1 2 3; do
	wait_log "$T/node$i.log" "round 1: trained" 60 ||
		fail "node$i never trained round 1"
done
touch "$H/go1"
wait_log "$T/agg.log" "round 1: update from 'node1'" 20 ||
	fail "node1's update was not counted"
kill -KILL "${pid[1]}" "${pid[3]}"
wait "${pid[1]}" "${pid[3]}" 2>/dev/null
wait_log "$T/agg.log" "round 1: sampled node 'node3' dropped out" 20 ||
	fail "node3's loss not noticed"
grep -q "round 1 done" "$T/agg.log" && fail "round 1 closed early"
fed_node node1 "$T/node1b.log" --shard "0/3 limit=3000"
fed_node node3 "$T/node3b.log" --shard "2/3 limit=3000"
wait_log "$T/agg.log" "round 1: node 'node1' is back; its update is counted already" 30 ||
	fail "node1's return not logged"
wait_log "$T/agg.log" "round 1: node 'node3' is back: asked again \(1 of 3 answered, 0 dropped\)" 30 ||
	fail "node3 not asked again"
wait_log "$T/agg.log" "round 1: update from 'node3'" 30 ||
	fail "node3's update after its return not counted"
grep -q "round 1 done" "$T/agg.log" && fail "round 1 closed before node2 answered"
touch "$H/go2"
wait_log "$T/agg.log" "round 1 done" 30 || fail "round 1 did not close"
grep -q "round 1 done (all answered): 3 of 3 answered (0 dropped, 0 clipped, weight 3000)" \
	"$T/agg.log" || fail "round 1: $(grep 'round 1 done' "$T/agg.log")"
[ "$(grep -c "round 1: update from" "$T/agg.log")" = 3 ] &&
	[ "$(grep -c "round 1: update from 'node1'" "$T/agg.log")" = 1 ] ||
	fail "updates counted: $(grep "round 1: update from" "$T/agg.log")"
grep -q "round 1: training" "$T/node1b.log" && fail "node1 trained round 1 twice"
wait_log "$T/agg.log" "federation complete" 60 || fail "round 2 did not run"
grep -q "round 2: 3 of 3 connected nodes sampled" "$T/agg.log" ||
	fail "round 2 not run with the returned nodes"
grep -q "round 2 done (all answered): 3 of 3 answered" "$T/agg.log" ||
	fail "round 2: $(grep 'round 2 done' "$T/agg.log")"
stop_nodes
stop_agg "$T/agg.log"
for l in node2 node1b node3b; do
	sanitizer_clean "$T/$l.log"
done
pass "node3 killed before answering and node1 after: back in round 1, node3 asked again, node1 not; 3 of 3 answered, weight 3000 (each update once), round 2 with all three, int8 accuracy $(last_acc "$T/agg.log")"
