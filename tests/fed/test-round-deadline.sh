#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A node that never answers in time: each round closes at its deadline
# with the others; the straggler's late update is refused as stale and
# it keeps its connection.  With a minimum the round cannot reach, the
# round fails at the deadline with its reason logged, is recorded in the
# registry without a version, and the next one is tried.
#
# Timing under ASan on a loaded machine: an honest round (3000 samples)
# takes a few seconds, so the deadline is 12 s; the straggler holds its
# update 30 s, far beyond it, so it cannot make a round by luck.  The
# update it holds for the last round goes out ~30 s into that round,
# after the federation completed, and is refused as stale then.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

start_fed_agg "$T/agg.log" --set rounds.count=2 --set rounds.deadline_ms=12000
fed_node node1 "$T/node1.log" --shard "0/3 limit=3000"
fed_node node2 "$T/node2.log" --shard "1/3 limit=3000"
fed_node node3 "$T/node3.log" --shard "2/3 limit=3000" --answer-delay 30000
wait_log "$T/agg.log" "federation complete" 90 || fail "2 rounds did not complete"
grep -q "round 1 done (deadline): 2 of 3 answered" "$T/agg.log" ||
	fail "round 1 not closed by its deadline"
wait_log "$T/agg.log" "node 'node3': UPDATE for round [0-9]+ refused as stale" 60 ||
	fail "late update not refused"
grep -q "node 'node3' left" "$T/agg.log" && fail "the straggler was disconnected"
stop_nodes
stop_agg "$T/agg.log"
d1=$(grep -o "round 1 done.*, [0-9.]* s$" "$T/agg.log" | grep -o "[0-9.]* s$")

# Minimum 3 with a straggler: the round fails, the registry moves on.
rm -rf "$REG"
start_fed_agg "$T/agg2.log" --set rounds.count=1 --set rounds.deadline_ms=8000 \
	--set rounds.min_clients=3
for i in 1 2 3; do
	fed_node "node$i" "$T/n2-$i.log" --shard "$((i - 1))/3 limit=3000" \
		$([ $i -eq 3 ] && echo --answer-delay 60000)
done
wait_log "$T/agg2.log" "round 2: 3 of 3 connected nodes sampled" 60 ||
	fail "no retry after the failed round"
grep -Eq "round 1 failed \(deadline\): [0-2] of 3 sampled nodes answered, 0 dropped out, minimum 3" \
	"$T/agg2.log" || fail "failed round not logged with its reason"
grep -q "^round 1$" "$REG/state" || fail "failed round not recorded: $(cat "$REG/state")"
grep -q "^version 1$" "$REG/state" || fail "a failed round published a version"
stop_nodes
stop_agg "$T/agg2.log"
for f in "$T"/node*.log "$T"/n2-*.log; do
	sanitizer_clean "$f"
done
pass "straggler: rounds closed at the 12 s deadline ($d1) with 2 of 3, late update refused as stale; unreachable minimum: round failed with its reason, recorded, retried"
