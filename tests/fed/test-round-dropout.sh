#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A node killed in the middle of a round (after training, before its
# update went out): the aggregator counts it as a dropout and closes the
# round with the two that answered, without waiting for the deadline;
# the next round runs with the survivors.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

start_fed_agg "$T/agg.log" --set rounds.count=3
fed_node node1 "$T/node1.log" --shard "0/3 limit=3000"
fed_node node2 "$T/node2.log" --shard "1/3 limit=3000"
# node3 holds each update 10 s: the test kills it in that window, which
# it enters once it logs "trained" (the kill comes within a poll of that
# line; 10 s leaves room for a loaded machine).
fed_node node3 "$T/node3.log" --shard "2/3 limit=3000" --answer-delay 10000
victim=$LAST_NODE
wait_log "$T/node3.log" "round 2: trained" 60 || fail "node3 never trained round 2"
kill -KILL "$victim"
wait "$victim" 2>/dev/null
wait_log "$T/agg.log" "round 2 done" 20 || fail "round 2 did not close"
grep -q "round 2: sampled node 'node3' dropped out" "$T/agg.log" ||
	fail "dropout not logged"
grep -q "round 2 done (all answered or gone): 2 of 3 answered (1 dropped" \
	"$T/agg.log" || fail "round 2 did not close with the two others"
wait_log "$T/agg.log" "federation complete" 30 || fail "round 3 did not run"
grep -q "round 3: 2 of 2 connected nodes sampled" "$T/agg.log" ||
	fail "round 3 not run with the survivors"
stop_nodes
stop_agg "$T/agg.log"
sanitizer_clean "$T/node1.log"
sanitizer_clean "$T/node2.log"
t=$(grep -o "round 2 done.*, [0-9.]* s$" "$T/agg.log" | grep -o "[0-9.]* s$")
pass "node3 killed mid-round 2: closed with 2 of 3 after $t (deadline 30 s), round 3 with the survivors, int8 accuracy $(last_acc "$T/agg.log")"
