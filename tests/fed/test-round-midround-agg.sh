#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The aggregator is killed (SIGKILL) in the middle of a round: node1's
# and node2's updates are in its sum, node3 still holds its own.  The sum
# dies with it; restarted on the same registry it runs the same round
# again, the nodes reconnect by themselves and answer with the update
# they computed for that round, without training again (with DP, a
# second training would be a second noisy release of the same data).
# The round closes with 3 of 3, weight 3000 = 3 x 1000 samples: every
# update once, none lost.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

H=$T/state
start_fed_agg "$T/agg.log" --set rounds.count=2 --log-level debug
fed_node node1 "$T/node1.log" --shard "0/3 limit=3000"
fed_node node2 "$T/node2.log" --shard "1/3 limit=3000"
fed_node node3 "$T/node3.log" --shard "2/3 limit=3000" --answer-hold "$H/go3"
for i in 1 2; do
	wait_log "$T/agg.log" "round 1: update from 'node$i'" 60 ||
		fail "node$i's update never reached the aggregator"
done
wait_log "$T/node3.log" "round 1: trained" 20 || fail "node3 never trained"
kill -KILL "$AGG"
wait "$AGG" 2>/dev/null
sanitizer_clean "$T/agg.log"
grep -q "round 1 done" "$T/agg.log" && fail "round 1 closed before the kill"
[ "$(sed -n 's/^round //p' "$REG/state")" = 0 ] ||
	fail "registry moved past round 0: $(cat "$REG/state")"
restart_fed_agg "$T/agg2.log" --set rounds.count=2 --log-level debug
wait_log "$T/agg2.log" "round 1: 3 of 3 connected nodes sampled" 60 ||
	fail "round 1 not run again with the three nodes"
for i in 1 2 3; do
	wait_log "$T/node$i.log" "round 1: asked again \(version 1\): the update already computed for it, not trained again" 30 ||
		fail "node$i did not answer from its computed update"
done
for i in 1 2; do
	wait_log "$T/agg2.log" "round 1: update from 'node$i'" 30 ||
		fail "node$i's update not counted after the restart"
done
grep -q "round 1 done" "$T/agg2.log" && fail "round 1 closed without node3"
touch "$H/go3"
wait_log "$T/agg2.log" "round 1 done" 30 || fail "round 1 did not close"
grep -q "round 1 done (all answered): 3 of 3 answered (0 dropped, 0 clipped, weight 3000)" \
	"$T/agg2.log" || fail "round 1: $(grep 'round 1 done' "$T/agg2.log")"
for i in 1 2 3; do
	[ "$(grep -c "round 1: training" "$T/node$i.log")" = 1 ] ||
		fail "node$i trained round 1 more than once"
	[ "$(grep -c "round 1: update from 'node$i'" "$T/agg2.log")" = 1 ] ||
		fail "node$i counted twice after the restart"
done
wait_log "$T/agg2.log" "federation complete" 60 || fail "round 2 did not run"
for i in 1 2 3; do
	wait_log "$T/node$i.log" "model 'fmnist' version 3 " 15 ||
		fail "node$i did not end on version 3"
done
stop_nodes
stop_agg "$T/agg2.log"
for i in 1 2 3; do
	sanitizer_clean "$T/node$i.log"
done
pass "killed with 2 of 3 updates in round 1's sum: restarted, round 1 again, the nodes answered from their computed updates (each trained once), 3 of 3 answered, weight 3000, ended at version 3, int8 accuracy $(last_acc "$T/agg2.log")"
