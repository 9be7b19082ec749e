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
# Also: hostile SA_* frames from a peer (out of phase, the aggregator's
# kind, a library message under another frame type) are answered with
# ERROR and logged; the wire cost of one node's secure aggregation.
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

# Hostile secure-aggregation frames from a joined peer: out of phase, an
# aggregator's message, another frame type's library message.
cat > "$T/sa-evil.py" <<'PY'
import socket, ssl, struct, sys
pki, port = sys.argv[1], int(sys.argv[2])
HELLO, ERROR, SA_ADVERT, SA_KEYS = 1, 7, 9, 10
def conn():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(f"{pki}/node1.crt", f"{pki}/node1.key")
    ctx.load_verify_locations(f"{pki}/ca.crt")
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                        server_hostname="localhost")
    s.settimeout(20)
    s16 = lambda b: struct.pack("<H", len(b)) + b
    send(s, HELLO, s16(b"intruder") + struct.pack("<I", 1) + s16(b"fmnist") +
         struct.pack("<IQQ", 0, 100, 0))
    return s
def send(s, t, p):
    s.sendall(struct.pack("<IHHII", 0x4641434d, 1, t, len(p), 0) + p)
def sa(libtype, node, rnd, body=b"\0" * 96):
    m = struct.pack("<BBHIQ", libtype, 1, 0, node, rnd) + body
    return struct.pack("<I", len(m)) + m
def until_error(s):
    b = b""
    while True:
        while len(b) < 16:
            c = s.recv(65536)
            if not c:
                return "closed"
            b += c
        _, _, t, n, _ = struct.unpack("<IHHII", b[:16])
        while len(b) < 16 + n:
            c = s.recv(65536)
            if not c:
                return "closed"
            b += c
        p, b = b[16:16 + n], b[16 + n:]
        if t == ERROR:
            return "error %d %s" % (struct.unpack_from("<I", p)[0], p[6:].decode())
s = conn()
send(s, SA_ADVERT, sa(1, 0, 1))          # no secure-aggregation round open
print(until_error(s), flush=True)
send(s, SA_KEYS, sa(2, 0, 1, b""))       # an aggregator's message
print(until_error(s), flush=True)
s = conn()
send(s, SA_ADVERT, sa(2, 0, 1))          # KEYS inside an ADVERT frame
print(until_error(s), flush=True)
PY
python3 "$T/sa-evil.py" "$P" "$PORT" > "$T/sa-evil.out" 2>&1 ||
	fail "hostile client: $(cat "$T/sa-evil.out")"
grep -qx "error 6 secure aggregation message out of phase" "$T/sa-evil.out" ||
	fail "out-of-phase SA_ADVERT: $(cat "$T/sa-evil.out")"
grep -qx "error 1 unexpected message" "$T/sa-evil.out" ||
	fail "SA_KEYS from a node: $(cat "$T/sa-evil.out")"
grep -qx "error 1 secagg message of type 2 in a SA_ADVERT frame" "$T/sa-evil.out" ||
	fail "KEYS in an ADVERT frame: $(cat "$T/sa-evil.out")"
grep -q "node 'intruder': SA_ADVERT for round 1 refused as stale" "$T/sa.log" ||
	fail "stale SA_ADVERT not logged"
grep -q "node 'intruder' sent SA_KEYS, an aggregator's message" "$T/sa.log" ||
	fail "SA_KEYS from a node not logged"
grep -q "malformed SA_ADVERT: secagg message of type 2" "$T/sa.log" ||
	fail "mistyped SA_ADVERT not logged"
stop_agg "$T/sa.log"

# 2. Seven nodes: three hold their masked input back 15 s, the window in
# which the test kills some of them (it polls for the "held back" line;
# 15 s leaves room for a loaded machine, and is within the 30 s phase
# deadline).
restart_fed_agg "$T/sa2.log" --set rounds.count=3 --start-nodes 7 "${SA[@]}"
for i in 5 6 7; do
	fed_node "node$i" "$T/sa-node$i.log" --shard "$((i - 5))/3 $SHARD" \
		--answer-delay 15000
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
