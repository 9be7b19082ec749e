#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Differential privacy in the federated rounds.  Three nodes, every one
# sampled (q = 1): two rounds with central DP, the aggregator stopped and
# restarted on the same registry, a third round with distributed DP (the
# nodes clip and add their noise shares), then a restart with a budget
# below what a fourth round would cost.  The cumulative epsilon goes on
# across the restarts; every published manifest (as the nodes accepted
# it, `mcaictl history`) carries the epsilon of its round and the total,
# equal to the RDP of the Gaussian mechanism computed here independently
# (q = 1: alpha T / (2 sigma^2) at each order, then Balle et al.'s
# conversion); the fourth round is refused before it starts, with the
# reason logged and in status.json.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

CTL=${MCAICTL:-$ROOT/build/mcaictl}
[ -x "$CTL" ] || skip "no $CTL (make build/mcaictl)"
SIGMA=3
DELTA=1e-5
# Small clip: the noise (sigma C / 3 per coordinate) stays small next to
# the weights, so training goes on; epsilon does not depend on C.
DP=(--set privacy.clip_norm=0.01 --set "privacy.noise_multiplier=$SIGMA"
    --set "privacy.delta=$DELTA")

# eps T: epsilon after T rounds of sampling rate 1.
eps() {
	python3 - "$1" "$SIGMA" "$DELTA" <<'PY'
import math, sys
t, sigma, delta = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
orders = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5] + \
    list(range(5, 64)) + [128, 256, 512]
best = min(t * a / (2 * sigma ** 2) - (math.log(delta) + math.log(a)) /
           (a - 1) + math.log((a - 1) / a) for a in orders)
print(repr(max(best, 0.0)))
PY
}
E1=$(eps 1)
E2=$(eps 2)
E3=$(eps 3)
E4=$(eps 4)
# Between three rounds and four.
BUDGET=$(python3 -c "print(($E3 + $E4) / 2)")

start_fed_agg "$T/agg.log" --set rounds.count=2 --set privacy.dp=central \
	--set privacy.epsilon_budget=100 "${DP[@]}"
for i in 1 2 3; do
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/3 iid limit=1500"
done
wait_log "$T/agg.log" "federation complete" 60 ||
	fail "2 central-DP rounds did not complete"
grep -q "privacy: differential privacy central" "$T/agg.log" ||
	fail "aggregator does not say DP is on"
stop_agg "$T/agg.log"
[ -f "$REG/privacy" ] || fail "no accountant in the registry"

restart_fed_agg "$T/agg2.log" --set rounds.count=3 \
	--set privacy.dp=distributed --set privacy.epsilon_budget=100 "${DP[@]}"
wait_log "$T/agg2.log" "federation complete" 60 ||
	fail "the distributed-DP round did not complete"
grep -q "accountant from the registry: 2 rounds" "$T/agg2.log" ||
	fail "restart did not read the accountant back"
stop_agg "$T/agg2.log"
for i in 1 2 3; do
	wait_log "$T/node$i.log" "model 'fmnist' version 4 " 15 ||
		fail "node$i did not get version 4"
	grep -q "round 3: privacy: update .*clipped to L2 0.01, noise share" \
		"$T/node$i.log" || fail "node$i did not add its noise share"
done

restart_fed_agg "$T/agg3.log" --set rounds.count=6 --set privacy.dp=central \
	--set "privacy.epsilon_budget=$BUDGET" "${DP[@]}"
wait_log "$T/agg3.log" "privacy budget exhausted: round 4 would take epsilon" 30 ||
	fail "round 4 was not refused over the budget"
# Stopped first, so that what it did is final when we look (the line
# above is logged before status.json is written).
stop_agg "$T/agg3.log"
grep -q '"exhausted":true,"reason":"round 4 would take epsilon' \
	"$REG/status.json" || fail "status.json does not say why: $(cat "$REG/status.json")"
grep -q "^round 3$" "$REG/state" || fail "a round ran past the budget: $(cat "$REG/state")"
grep -q "round 4: .* sampled" "$T/agg3.log" && fail "round 4 sampled nodes"
stop_nodes
for i in 1 2 3; do
	sanitizer_clean "$T/node$i.log"
done

# What the nodes accepted, signed: epsilon and epsilon_total per version.
"$CTL" history --json --dir "$T/state/hist-$FED_GEN-node1" fmnist \
	> "$T/hist.json" || fail "mcaictl history"
python3 - "$T/hist.json" "$E1" "$E2" "$E3" <<'PY' || fail "manifests do not carry the accountant's epsilon"
import json, sys
h = json.load(open(sys.argv[1]))
want = [float(x) for x in sys.argv[2:]]
vs = {v["version"]: v for v in h["versions"]}
for k, w in enumerate(want):
    v = vs[k + 2]
    p = v["privacy"] if "privacy" in v else v
    tot, one = p["epsilon_total"], p["epsilon"]
    if abs(tot - w) > 1e-9 * w or abs(one - want[0]) > 1e-9 * want[0]:
        sys.exit(f"version {k + 2}: epsilon {one} total {tot}, want {want[0]} / {w}")
print("epsilon_total per version:", [vs[k + 2]["privacy"]["epsilon_total"]
      if "privacy" in vs[k + 2] else vs[k + 2]["epsilon_total"]
      for k in range(len(want))])
PY
"$CTL" history --dir "$T/state/hist-$FED_GEN-node1" fmnist | tee "$T/hist.txt"
pass "epsilon_total after rounds 1-3: $E1, $E2, $E3 (sigma $SIGMA, delta $DELTA, q 1) in the signed manifests, kept across restarts; round 4 (epsilon $E4) refused under budget $BUDGET"
