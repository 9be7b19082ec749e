#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# int8 updates inside secure aggregation (rounds.compress = int8 with
# privacy.secure_aggregation; runtime/fed/compress.h, "With secure
# aggregation").
#   1. Five nodes, three rounds.  Round 1 masks floats (no int8 range is
#      known yet); rounds 2 and 3 mask int8 of the announced range in
#      Z_2^16.  Each node dumps (test builds, MCAI_TEST_SA_DUMP) its
#      floats and its integers, the aggregator its unmasked words: these
#      are exactly the nodes' integer sums mod 2^16 coordinate by
#      coordinate (the masks cancel on the quantised integers), their
#      decoding within n steps of the nodes' clamped floats, and the
#      masked input on the wire half the float one's bytes.
#   2. Round 3: node3 is killed after its masked input went out, before
#      the unmask request (node5 holds its own back meanwhile): it is in
#      the sum, its self mask rebuilt from its neighbours' shares, and
#      the sum is still exact.
#   3. Restarted with distributed DP: clip and noise share before the
#      quantisation, the round accounted at the full noise as before.
#   4. rounds.compress = topk with secure aggregation is refused at load.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

SHARD="iid limit=2500"
DUMP=$T/state/dump
mkdir -p "$DUMP"
chmod 1777 "$DUMP"
export MCAI_TEST_SA_DUMP=$DUMP
SA=(--set privacy.secure_aggregation=on --set rounds.min_clients=4
    --set rounds.compress=int8)

# check_round R NODES: the unmasked words against the nodes' dumps.
check_round() {
	python3 - "$DUMP" "$1" "$2" <<'PY'
import array, glob, sys
dump, rnd, nodes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = array.array("I")
with open(f"{dump}/r{rnd}-sum", "rb") as f:
    s.frombytes(f.read())
dim = len(s)
qsum = [0] * dim
fsum = [0.0] * dim
files = sorted(glob.glob(f"{dump}/r{rnd}-n*"))
assert len(files) == nodes, f"round {rnd}: {len(files)} node dumps, want {nodes}"
for fn in files:
    raw = open(fn, "rb").read()
    rng = array.array("f", raw[:4])[0]
    x = array.array("f", raw[4:4 + 4 * dim])
    q = array.array("i", raw[4 + 4 * dim:])
    assert len(x) == dim and len(q) == dim, f"{fn}: short"
    for k in range(dim - 2):
        assert abs(q[k]) <= 127, f"{fn}[{k}] = {q[k]}"
        qsum[k] += q[k]
        fsum[k] += max(-rng, min(rng, x[k]))
    qsum[dim - 2] += q[dim - 2]
    qsum[dim - 1] += q[dim - 1]
    fsum[dim - 2] += x[dim - 2]
step = rng / 127
worst = 0.0
for k in range(dim):
    assert s[k] == qsum[k] & 0xffff, \
        f"round {rnd} word {k}: {s[k]:04x}, the nodes' integers sum to {qsum[k]}"
for k in range(dim - 2):
    worst = max(worst, abs(qsum[k] * step - fsum[k]))
assert worst <= nodes * step * 1.0001, f"error {worst} > {nodes} steps of {step}"
lv = 32767 // nodes
werr = abs(qsum[dim - 2] / lv - fsum[dim - 2])
assert werr <= nodes / lv * 1.0001, f"weight error {werr}"
print(f"round {rnd}: {dim} words exact, sum of weights {qsum[dim - 2] / lv:.5f}, "
      f"largest error {worst:.3g} (bound {nodes} x {step:.3g})")
PY
}

# 1. Five nodes, three rounds; node5 holds its masked input back 20 s.
start_fed_agg "$T/agg.log" --set rounds.count=3 --start-nodes 5 "${SA[@]}"
for i in 1 2 3 4; do
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/5 $SHARD"
	eval "PID$i=$LAST_NODE"
done
fed_node node5 "$T/node5.log" --shard "4/5 $SHARD" --answer-delay 20000
# 2. Round 3: node3 dies once its masked input is out (first, the
# checks of round 2 after).
wait_log "$T/node3.log" "round 3: secure aggregation: SA_MASKED sent" 120 ||
	fail "node3 did not send its masked input in round 3"
grep -q "round 3: secure aggregation: SA_MASKED sent" "$T/node5.log" &&
	fail "node5 was not holding its masked input back (the phase closed before node3 was killed)"
kill -KILL "$PID3"
wait "$PID3" 2>/dev/null
wait_log "$T/agg.log" "round 3 done|round 3 failed" 120 || fail "round 3 did not end"
wait_log "$T/agg.log" "round 2 done|round 2 failed" 1 || fail "round 2 did not end"
grep -q "round 1: secure aggregation of floats: no int8 range known yet" \
	"$T/agg.log" || fail "round 1 did not mask floats"
grep -q "round 1: secure aggregation: sum of 5 masked inputs unmasked" \
	"$T/agg.log" || fail "round 1: no unmasked sum of 5"
grep -Eq "round 2: secure aggregation of int8 in Z_2\^16: range [0-9.e-]+ \(step [0-9.e-]+\), 2 bytes a parameter" \
	"$T/agg.log" || fail "round 2 did not mask int8 in Z_2^16"
grep -q "round 2 done (secure aggregation): 5 of 5 answered" "$T/agg.log" ||
	fail "round 2 not published from the int8 sum"
for i in 1 2 3 4 5; do
	grep -q "round 2: secure aggregation compressed: int8 of range .* in Z_2^16" \
		"$T/node$i.log" || fail "node$i did not quantise in round 2"
done
r2=$(check_round 2 5) || fail "round 2's sum is not the nodes' integer sum: $r2"
echo "$r2"
wire1=$(grep -o "round 1: secure aggregation wire cost: .*" "$T/node1.log") ||
	fail "node1: no wire cost for round 1"
wire2=$(grep -o "round 2: secure aggregation wire cost: .*" "$T/node1.log") ||
	fail "node1: no wire cost for round 2"
m1=$(echo "$wire1" | sed -n 's/.*MASKED \([0-9]*\),.*/\1/p')
m2=$(echo "$wire2" | sed -n 's/.*MASKED \([0-9]*\),.*/\1/p')
s1=$(echo "$wire1" | sed -n 's/.*: sent \([0-9]*\) bytes.*/\1/p')
s2=$(echo "$wire2" | sed -n 's/.*: sent \([0-9]*\) bytes.*/\1/p')
ratio=$(awk -v a="$m1" -v b="$m2" 'BEGIN { printf "%.3f", a / b }')
sratio=$(awk -v a="$s1" -v b="$s2" 'BEGIN { printf "%.3f", a / b }')
awk -v r="$ratio" 'BEGIN { exit !(r >= 1.99 && r <= 2.01) }' ||
	fail "masked input $m1 bytes as floats, $m2 as int8: ratio $ratio, want 2"
echo "node1 masked input: $m1 bytes (floats, Z_2^32) -> $m2 bytes (int8, Z_2^16), ${ratio}x; all it sent for SecAgg: $s1 -> $s2 bytes, ${sratio}x"

grep -q "round 3: secure aggregation: sum of 5 masked inputs unmasked (5 advertised, 5 shared keys, 4 answered the unmask request" \
	"$T/agg.log" || fail "round 3: node3's masked input not unmasked without it"
grep -q "round 3 done (secure aggregation): 5 of 5 answered" "$T/agg.log" ||
	fail "round 3 not published"
r3=$(check_round 3 5) || fail "round 3's sum is not the nodes' integer sum: $r3"
echo "$r3"
wait_log "$T/agg.log" "federation complete" 60 || fail "federation did not complete"
acc=$(last_acc "$T/agg.log")
stop_agg "$T/agg.log"
stop_nodes

# 3. Distributed DP: clip, noise share, then int8 under the masks.
restart_fed_agg "$T/dp.log" --set rounds.count=5 --start-nodes 4 "${SA[@]}" \
	--set privacy.dp=distributed --set privacy.clip_norm=0.01 \
	--set privacy.noise_multiplier=3 --set privacy.epsilon_budget=100
for i in 1 2 4 5; do
	fed_node "node$i" "$T/dp-node$i.log" --shard "$((i - 1))/5 $SHARD"
done
wait_log "$T/dp.log" "federation complete|round 5 failed" 180 ||
	fail "the DP rounds with int8 secure aggregation did not end"
grep -Eq "round 5: secure aggregation of int8 in Z_2\^16: range" "$T/dp.log" ||
	fail "round 5 did not mask int8"
grep -q "round 5 done (secure aggregation): 4 of 4 answered" "$T/dp.log" ||
	fail "round 5 not published"
# q = 1, sigma 3, delta 1e-5, per round: 1.38628 (test-round-dp.sh)
grep -q "round 5: privacy: epsilon 1.38628 this round" "$T/dp.log" ||
	fail "round 5: not the epsilon of one round at sigma 3"
for i in 1 2 4 5; do
	grep -q "round 5: privacy: update clipped to L2 0.01, noise share N(0, (3 \* 0.01)^2 / 4) added" \
		"$T/dp-node$i.log" || fail "node$i did not add its noise share"
	grep -q "round 5: secure aggregation compressed: int8 of range" \
		"$T/dp-node$i.log" || fail "node$i did not quantise after its noise"
done
r5=$(check_round 5 4) || fail "round 5's sum is not the nodes' integer sum: $r5"
echo "$r5"
stop_agg "$T/dp.log"
stop_nodes
for i in 1 2 3 4 5; do
	sanitizer_clean "$T/node$i.log"
done

# 4. Top-k cannot be summed under the masks: refused before it listens.
timeout 60 "$MCAID" --role aggregator --listen "127.0.0.1:$PORT" \
	--cert "$P/aggregator.crt" --key "$P/aggregator.key" --ca "$P/ca.crt" \
	--registry "$REG" --set privacy.secure_aggregation=on \
	--set rounds.min_clients=3 --set rounds.compress=topk \
	> "$T/topk.log" 2>&1 && fail "topk with secure aggregation accepted"
grep -q "each node's top-k index set is its own" "$T/topk.log" ||
	fail "topk with secure aggregation: $(cat "$T/topk.log")"

pass "int8 in Z_2^16 under SecAgg: masked input ${ratio}x fewer bytes than floats ($m1 -> $m2, all SecAgg messages ${sratio}x), unmasked words exactly the nodes' integer sums (rounds 2, 3, 5), node killed after masking unmasked correctly, DP noise before quantisation accounted as before; int8 accuracy after round 3: $acc"
