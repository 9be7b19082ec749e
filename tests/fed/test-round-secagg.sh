#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Secure aggregation in the federated rounds (privacy.secure_aggregation).
#   1. Four nodes, one round of plain FedAvg, then the same round from the
#      same seeds with secure aggregation on a fresh registry: the two
#      published versions agree within the fixed-point tolerance (the
#      aggregator only ever decoded the sum of the masked vectors).
#   2. Restarted with three more nodes that hold their masked input back:
#      one of them is killed after it shared its keys (it is in U2, not
#      U3); the survivors' masks towards it are removed from its key's
#      shares and the round publishes.
#   3. Next round, threshold 5: two of them are killed after sharing,
#      four survivors are too few: the round fails with the reason
#      logged, and the round after it runs (and publishes) without them.
#   4. Restarted with distributed DP: the nodes clip and add their noise
#      shares inside the masked vectors (weight 1 each), the round is
#      accounted at the full noise (all four shares in the sum).
# Also: the wire cost of one node's secure aggregation, as it logs it.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

SHARD="iid limit=2000"
fed4() {
	for i in 1 2 3 4; do
		fed_node "node$i" "$T/$1-node$i.log" --shard "$((i - 1))/4 $SHARD"
	done
}

# 1a. The reference: plain FedAvg.
REG=$T/state/registry-plain
start_fed_agg "$T/plain.log" --set rounds.count=1 --start-nodes 4
fed4 plain
wait_log "$T/plain.log" "federation complete" 60 || fail "plain round did not complete"
stop_nodes
stop_agg "$T/plain.log"
PLAIN=$REG

# 1b. The same round with secure aggregation.
REG=$T/state/registry-sa
SA=(--set privacy.secure_aggregation=on --set rounds.min_clients=3
    --set privacy.secagg_threshold=5)
start_fed_agg "$T/sa.log" --set rounds.count=1 --start-nodes 4 "${SA[@]}"
fed4 sa
wait_log "$T/sa.log" "federation complete|failed" 60 ||
	fail "secure-aggregation round did not complete"
grep -q "round 1: secure aggregation over 4 nodes, threshold 3, complete graph" \
	"$T/sa.log" || fail "round 1 did not use secure aggregation (threshold capped at d = 3)"
grep -q "round 1: secure aggregation: sum of 4 masked inputs unmasked" \
	"$T/sa.log" || fail "round 1: no unmasked sum of 4"
grep -q "round 1 done (secure aggregation): 4 of 4 answered" "$T/sa.log" ||
	fail "round 1 not published from the secure sum"
grep -q "UPDATE" "$T/sa.log" && fail "the aggregator saw a plain UPDATE"
wire=$(grep -o "round 1: secure aggregation wire cost: .*" "$T/sa-node1.log") ||
	fail "node1 did not log its wire cost"
echo "node1 $wire"
python3 - "$PLAIN" "$REG" <<'PY' || fail "secure aggregation does not give FedAvg's model"
import array, sys
def load(reg, v):
    a = array.array("f")
    with open(f"{reg}/v{v:08d}.params", "rb") as f:
        a.frombytes(f.read())
    return a
base, plain, sa = load(sys.argv[1], 1), load(sys.argv[1], 2), load(sys.argv[2], 2)
assert base == load(sys.argv[2], 1), "different initial models"
moved = max(abs(p - b) for p, b in zip(plain, base))
diff = max(abs(p - s) for p, s in zip(plain, sa))
# 4 fixed-point roundings of 2^-17 in the sum, divided by a weight near 1
print(f"largest step of the round {moved:.3g}, largest difference {diff:.3g}")
if not moved > 1e-3 or not diff < 2e-4:
    sys.exit(1)
PY
stop_agg "$T/sa.log"

# 2. Seven nodes: three hold their masked input back 6 s.
restart_fed_agg "$T/sa2.log" --set rounds.count=3 --start-nodes 7 "${SA[@]}"
for i in 5 6 7; do
	fed_node "node$i" "$T/sa-node$i.log" --shard "$((i - 5))/3 $SHARD" \
		--answer-delay 6000
	eval "PID$i=$LAST_NODE"
done
wait_log "$T/sa-node5.log" "round 2: secure aggregation: SA_MASKED held back" 60 ||
	fail "node5 did not reach the masked-input phase of round 2"
grep -q "round 2: secure aggregation: SA_SHARES sent" "$T/sa-node5.log" ||
	fail "node5 had not shared its keys"
kill -KILL "$PID5"
wait "$PID5" 2>/dev/null
wait_log "$T/sa2.log" "round 2 done|round 2 failed" 60 || fail "round 2 did not end"
grep -q "round 2: secure aggregation over 7 nodes, threshold 5" "$T/sa2.log" ||
	fail "round 2 was not over 7 nodes"
grep -q "round 2: secure aggregation: sum of 6 masked inputs unmasked .* 1 dropped after sharing and recovered" \
	"$T/sa2.log" || fail "round 2 did not recover node5's masks"
grep -q "round 2 done (secure aggregation): 6 of 7 answered" "$T/sa2.log" ||
	fail "round 2 not published with 6"

# 3. Round 3 over six nodes, threshold 5: two dropped leave four.
for i in 6 7; do
	wait_log "$T/sa-node$i.log" "round 3: secure aggregation: SA_MASKED held back" 60 ||
		fail "node$i did not reach the masked-input phase of round 3"
done
kill -KILL "$PID6" "$PID7"
wait "$PID6" "$PID7" 2>/dev/null
wait_log "$T/sa2.log" "round 3 failed" 60 || fail "round 3 did not fail"
reason=$(grep -o "round 3: secure aggregation failed in phase .*" "$T/sa2.log") ||
	fail "no reason logged for round 3"
echo "$reason"
wait_log "$T/sa2.log" "federation complete" 60 || fail "the round after the failure did not publish"
grep -q "round 4: secure aggregation over 4 nodes, threshold 3" "$T/sa2.log" ||
	fail "round 4 did not run over the four left"
grep -q "round 4 done (secure aggregation): 4 of 4 answered" "$T/sa2.log" ||
	fail "round 4 not published"
for i in 1 2 3 4; do
	wait_log "$T/sa-node$i.log" "model 'fmnist' version 4 " 15 ||
		fail "node$i did not get version 4"
done
stop_agg "$T/sa2.log"
# 4. Distributed DP on top: the nodes clip and noise, the masks hide it.
restart_fed_agg "$T/sa3.log" --set rounds.count=4 --start-nodes 4 "${SA[@]}" \
	--set privacy.dp=distributed --set privacy.clip_norm=0.01 \
	--set privacy.noise_multiplier=3 --set privacy.epsilon_budget=100
wait_log "$T/sa3.log" "federation complete|round 5 failed" 60 ||
	fail "the DP round with secure aggregation did not end"
grep -q "round 5: secure aggregation: sum of 4 masked inputs unmasked" \
	"$T/sa3.log" || fail "round 5 did not run secure aggregation"
# q = 1, sigma 3, delta 1e-5, one round: 1.38628 (test-round-dp.sh's formula)
grep -q "round 5: privacy: epsilon 1.38628 this round, 1.38628 in total" \
	"$T/sa3.log" || fail "round 5: not the epsilon of one round at sigma 3"
for i in 1 2 3 4; do
	grep -q "round 5: privacy: update clipped to L2 0.01, noise share N(0, (3 \* 0.01)^2 / 4) added" \
		"$T/sa-node$i.log" || fail "node$i did not add its noise share"
	grep -q "round 5: secure aggregation as id [0-3] of 4 .*weight 1$" \
		"$T/sa-node$i.log" || fail "node$i did not weigh 1 under DP"
	wait_log "$T/sa-node$i.log" "model 'fmnist' version 5 " 15 ||
		fail "node$i did not get version 5"
done
stop_agg "$T/sa3.log"
stop_nodes
for i in 1 2 3 4; do
	sanitizer_clean "$T/sa-node$i.log"
done
pass "secure FedAvg of 4 equals plain FedAvg (fixed point); 1 of 7 killed after sharing keys: round published from 6; 2 of 6 killed under threshold 5: $reason; next round published; distributed DP under the masks (epsilon 1.38628 for the round). node1 $wire"
