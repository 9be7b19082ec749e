#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Signed secure aggregation against a lying aggregator (mcaid-san's test
# hooks, MCAI_TEST_SECAGG_HOSTILE; the installed mcaid has none):
#   1. equivocate: after the masked inputs the aggregator tells the odd
#      secagg ids that node 0 dropped and the even ids that it survived,
#      and relays every confirmation to everyone.  Every node refuses to
#      reveal a share, logging why; the round fails without a sum.
#   2. forge: the aggregator alters the first key of every KEYS (its own
#      key in place of a neighbour's).  Every node refuses to share its
#      secrets: the signature of that advertisement does not verify.
#   3. The honest aggregator: a signed round with the consistency check
#      publishes from all four.
#   4. privacy.secagg_signed = off: an unsigned round (as when a sampled
#      node is too old to sign); a node with secagg_require_signed = on
#      stays out, the other three publish.
# Four real mcaid nodes each time, over loopback TLS.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

SHARD="iid limit=1500"
SA=(--set privacy.secure_aggregation=on --set rounds.min_clients=3
    --set rounds.deadline_ms=20000)
fed4() {
	for i in 1 2 3 4; do
		fed_node "node$i" "$T/$1-node$i.log" --shard "$((i - 1))/4 $SHARD"
	done
}
# nodes_say RUN PATTERN: every node of RUN logged PATTERN.
nodes_say() {
	local i
	for i in 1 2 3 4; do
		wait_log "$T/$1-node$i.log" "$2" 60 ||
			fail "$1: node$i did not log '$2'"
	done
}

# 1. Equivocation about the survivor set.
REG=$T/state/registry-eq
export MCAI_TEST_SECAGG_HOSTILE=equivocate
start_fed_agg "$T/eq.log" --set rounds.count=1 --start-nodes 4 "${SA[@]}"
unset MCAI_TEST_SECAGG_HOSTILE
fed4 eq
wait_log "$T/eq.log" "round 1 failed|round 1 done" 120 ||
	fail "equivocation: round 1 did not end"
grep -q "round 1: secure aggregation over 4 nodes, threshold 2, complete graph, signed" \
	"$T/eq.log" || fail "equivocation: the round was not signed"
grep -q "test hook: secagg id 1 told node 0 dropped" "$T/eq.log" ||
	fail "equivocation: the hook did not lie"
grep -q "round 1 done" "$T/eq.log" && fail "equivocation: a round was published"
grep -q "secure aggregation: sum of" "$T/eq.log" &&
	fail "equivocation: the aggregator unmasked a sum"
grep -q "SA_UNMASK sent" "$T"/eq-node*.log &&
	fail "equivocation: a node revealed shares"
nodes_say eq "round 1: secure aggregation: SA_UNMASK_REQ refused: refused: "
eq_why=$(grep -ho "SA_UNMASK_REQ refused: .*" "$T/eq-node1.log" | head -n 1)
echo "node1 $eq_why"
grep -hq "not of the survivor set node .* signed\|says otherwise" "$T"/eq-node*.log ||
	fail "equivocation: no node named the conflicting survivor sets"
eq_agg=$(grep -o "round 1: secure aggregation failed in phase .*" "$T/eq.log") ||
	fail "equivocation: no reason logged by the aggregator"
stop_nodes
stop_agg "$T/eq.log"

# 2. Forged key advertisements.
REG=$T/state/registry-forge
export MCAI_TEST_SECAGG_HOSTILE=forge
start_fed_agg "$T/fo.log" --set rounds.count=1 --start-nodes 4 "${SA[@]}"
unset MCAI_TEST_SECAGG_HOSTILE
fed4 fo
wait_log "$T/fo.log" "round 1 failed|round 1 done" 120 ||
	fail "forge: round 1 did not end"
grep -q "round 1 done" "$T/fo.log" && fail "forge: a round was published"
grep -q "SA_SHARES sent" "$T"/fo-node*.log &&
	fail "forge: a node shared its secrets under a forged key"
nodes_say fo "round 1: secure aggregation: SA_KEYS refused: key advertisement of node [0-9]+: the signature does not verify against its fleet certificate"
fo_why=$(grep -ho "SA_KEYS refused: .*" "$T/fo-node1.log" | head -n 1)
echo "node1 $fo_why"
stop_nodes
stop_agg "$T/fo.log"

# 3. The honest aggregator, same configuration: published from all four.
REG=$T/state/registry-ok
start_fed_agg "$T/ok.log" --set rounds.count=1 --start-nodes 4 "${SA[@]}"
fed4 ok
wait_log "$T/ok.log" "federation complete|round 1 failed" 120 ||
	fail "honest: round 1 did not end"
grep -q "test hook" "$T/ok.log" && fail "honest: a hook was active"
grep -q "round 1: secure aggregation over 4 nodes, threshold 2, complete graph, signed" \
	"$T/ok.log" || fail "honest: the round was not signed"
grep -q "round 1 done (secure aggregation): 4 of 4 answered" "$T/ok.log" ||
	fail "honest: round 1 not published from 4"
nodes_say ok "round 1: secure aggregation: SA_CONSIST sent"
nodes_say ok "round 1: secure aggregation: SA_UNMASK sent"
nodes_say ok "model 'fmnist' version 2 "
stop_nodes
stop_agg "$T/ok.log"

# 4. Negotiation: an aggregator with signing off runs unsigned rounds (as
# with an older node in the sample); a node that requires signing stays
# out of them, the other three publish.
REG=$T/state/registry-off
start_fed_agg "$T/off.log" --set rounds.count=1 --start-nodes 4 "${SA[@]}" \
	--set privacy.secagg_signed=off
for i in 1 2 3; do
	fed_node "node$i" "$T/off-node$i.log" --shard "$((i - 1))/4 $SHARD"
done
fed_node node4 "$T/off-node4.log" --shard "3/4 $SHARD" \
	--set privacy.secagg_require_signed=on
wait_log "$T/off.log" "federation complete|round 1 failed" 120 ||
	fail "unsigned: round 1 did not end"
grep -q "round 1: secure aggregation over 4 nodes, threshold 2, complete graph, fixed point" \
	"$T/off.log" || fail "unsigned: the round was signed or not secure"
grep -q "round 1: secure aggregation refused: the round is not signed and privacy.secagg_require_signed is on" \
	"$T/off-node4.log" || fail "unsigned: node4 did not refuse the unsigned round"
grep -q "round 1 done (secure aggregation): 3 of 4 answered" "$T/off.log" ||
	fail "unsigned: round 1 not published from the other 3"
grep -q "SA_CONSIST" "$T/off-node1.log" && fail "unsigned: a consistency round ran"
stop_nodes
stop_agg "$T/off.log"
for r in eq fo ok off; do
	for i in 1 2 3 4; do
		sanitizer_clean "$T/$r-node$i.log"
	done
done
pass "equivocating aggregator: all 4 nodes refused to unmask (node1 $eq_why; aggregator: $eq_agg); forged keys: all 4 refused to share (node1 $fo_why); honest signed round published from 4 of 4; unsigned round refused by a node that requires signing, published from 3"
