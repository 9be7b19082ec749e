#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The aggregator is killed (SIGKILL) right after a round: restarted on
# the same registry it continues from the last completed round, the
# nodes reconnect by themselves, and the federation ends at the same
# total of rounds as if nothing had happened.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

start_fed_agg "$T/agg.log" --set rounds.count=4
for i in 1 2 3; do
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/3 limit=3000"
done
wait_log "$T/agg.log" "round 2 done" 60 || fail "round 2 did not complete"
kill -KILL "$AGG"
wait "$AGG" 2>/dev/null
sanitizer_clean "$T/agg.log"
last=$(sed -n 's/^round //p' "$REG/state")
restart_fed_agg "$T/agg2.log" --set rounds.count=4
wait_log "$T/agg2.log" "federation complete" 60 || fail "restart did not complete"
grep -q "registry: continuing after round $last" "$T/agg2.log" ||
	fail "restart did not continue after round $last"
grep -q "round $((last + 1)): " "$T/agg2.log" || fail "first round after restart is not $((last + 1))"
grep -q "initial model" "$T/agg2.log" && fail "restart made a new initial model"
for i in 1 2 3; do
	wait_log "$T/node$i.log" "model 'fmnist' version 5 " 15 ||
		fail "node$i did not end on version 5"
done
stop_nodes
stop_agg "$T/agg2.log"
for i in 1 2 3; do
	sanitizer_clean "$T/node$i.log"
done
grep -q "^version 5$" "$REG/state" || fail "registry: $(cat "$REG/state")"
pass "killed after round 2 (registry at round $last), restart continued with round $((last + 1)), ended at version 5 on every node, int8 accuracy $(last_acc "$T/agg2.log")"
