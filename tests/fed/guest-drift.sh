#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run by tests/vm/guest/74-drift-loop.sh inside the guest, with mcai.ko
# loaded (not a host test: no test- prefix).  The drift loop end to end:
#
#   an aggregator (drift.stats, drift.min_nodes = 1) publishes version 2,
#   whose signed manifest carries the node's training statistics; the
#   node installs it into /dev/mcai and takes that as its drift baseline;
#   inputs like the training data score under the threshold; then the
#   machine's regime changes (every pixel brighter: gain and offset, as
#   mcai_simsensor's regime knobs do to its signal), the node's data
#   directory is refreshed with data of the new regime, and the inputs
#   the kernel sees shift: the node raises a drift alarm, published over
#   MQTT to a real mosquitto in the guest (the x86 guests must have one),
#   and asks for a round (DRIFT); the aggregator's policy starts one; the
#   node trains on the new regime's data and sends its statistics;
#   version 3 is published with them in its manifest, installed by the
#   node (hot swap), and the same shifted inputs score under the
#   threshold again.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"
CTL=$ROOT/build/mcaictl
THR=1.0
GAIN=${DRIFT_GAIN:-70}		# percent
OFFSET=${DRIFT_OFFSET:-90}	# pixel steps

# The data: the node's directory (plain idx files, replaced atomically
# as a collector would), and the inputs the kernel sees as raw int8
# (pixel - 128: the model's input quantisation, scale 1/255, zero point
# -128), 300 test images of each regime.
D=$T/state/data
mkdir -p "$D"
python3 - "$FMNIST" "$D" "$T" "$GAIN" "$OFFSET" <<'PY' || fail "preparing the data"
import gzip, os, sys
src, dst, tmp, gain, off = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def read(name):
    p = os.path.join(src, name)
    if os.path.exists(p + ".gz"):
        return gzip.open(p + ".gz").read()
    return open(p, "rb").read()
def shift(px):
    return bytes(min(255, p * gain // 100 + off) for p in px)
ti, tl = read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")
# the first 3000 training images are plenty for the node's shard
n = 3000
hdr = ti[:4] + n.to_bytes(4, "big") + ti[8:16]
img = ti[16:16 + n * 784]
lab = tl[:4] + n.to_bytes(4, "big") + tl[8:8 + n]
open(os.path.join(dst, "train-labels-idx1-ubyte"), "wb").write(lab)
open(os.path.join(dst, "train-images-idx3-ubyte"), "wb").write(hdr + img)
open(os.path.join(tmp, "train-images-shifted"), "wb").write(hdr + shift(img))
te = read("t10k-images-idx3-ubyte")[16:16 + 300 * 784]
q = lambda px: bytes((p - 128) & 0xff for p in px)
open(os.path.join(tmp, "in-a.raw"), "wb").write(q(te))
open(os.path.join(tmp, "in-b.raw"), "wb").write(q(shift(te)))
PY
chmod -R a+rX "$D"

# A broker and a subscriber for the node's alerts.
alert_broker 'mcai/node1/fmnist/alert' 900

start_fed_agg "$T/agg.log" --start-nodes 1 --set rounds.min_clients=1 \
	--set rounds.count=1 --set drift.stats=yes --set drift.min_nodes=1 \
	--set drift.window_s=600 --set drift.rounds=1
fed_node node1 "$T/node1.log" --data "$D" --shard "0/1 iid limit=1500" \
	--log-level debug --set drift.threshold=$THR \
	--set drift.interval_s=1 --set drift.min_samples=100 \
	--set drift.request_round=yes --telemetry off "${MQTT[@]}"
NODE=$LAST_NODE

# 1. version 2 with its training statistics, installed, the baseline
wait_log "$T/agg.log" "training statistics of 1 nodes \\(1500 samples, 784 features, 10 classes\\) in the manifest" 300 ||
	fail "version 2 was not published with the training statistics"
wait_log "$T/node1.log" "drift: fmnist version 2: baseline from its signed manifest \\(784 features, 1500 training samples\\)" 120 ||
	fail "node1 did not take version 2's manifest as its baseline"
"$CTL" list | grep -Eq '^ +[0-9]+ +fmnist +2 ' ||
	fail "version 2 not in /dev/mcai: $("$CTL" list)"

# score_after LOG N: the first drift score node1 logged after line N
score_after() {
	tail -n +"$(($2 + 1))" "$1" |
		sed -n 's/.*drift: fmnist score \([0-9.]*\) (threshold.*/\1/p' | head -n 1
}
scored() { [ -n "$(score_after "$T/node1.log" "$1")" ]; }

# 2. inputs like the training data: under the threshold
"$CTL" stats --reset fmnist > /dev/null || fail "stats --reset"
mark=$(wc -l < "$T/node1.log")
"$CTL" infer --format raw -q fmnist "$T/in-a.raw" > /dev/null || fail "infer regime A"
wait_for 60 "node1's drift score of the old regime" scored "$mark" ||
	fail "no drift score logged"
s_a=$(score_after "$T/node1.log" "$mark")
awk -v s="$s_a" -v t=$THR 'BEGIN { exit !(s <= t) }' ||
	fail "drift score $s_a of the training regime above $THR"
grep -q "drift: node 'node1' reports" "$T/agg.log" &&
	fail "a round request before any shift"

# 3. the regime changes: the node's data, then the inputs
mv "$T/train-images-shifted" "$D/train-images-idx3-ubyte.new"
chmod a+r "$D/train-images-idx3-ubyte.new"
mv "$D/train-images-idx3-ubyte.new" "$D/train-images-idx3-ubyte"
"$CTL" stats --reset fmnist > /dev/null || fail "stats --reset"
"$CTL" infer --format raw -q fmnist "$T/in-b.raw" > /dev/null || fail "infer regime B"
wait_log "$T/node1.log" "drift: fmnist score [0-9.]+ above 1.000: asking for a round" 60 ||
	fail "no drift alarm after the shift"
s_b=$(sed -n 's/.*drift: fmnist score \([0-9.]*\) above.*/\1/p' "$T/node1.log" | head -n 1)
wait_log "$T/node1.log" "drift: round request sent" 30 || fail "no round request sent"
if [ ${#MQTT[@]} -gt 0 ]; then
	wait_for 60 "the drift alert over MQTT" test -s "$T/alert" ||
		fail "no drift alert over MQTT: $(cat "$T/sub.err")"
	cat "$T/alert"
	grep -q '^mcai/node1/fmnist/alert {"node":"node1","model":"fmnist","kind":"drift",.*"round_request":true' "$T/alert" ||
		fail "alert: $(cat "$T/alert")"
	s_m=$(sed 's/.*"score":\([0-9.]*\).*/\1/' "$T/alert")
	awk -v s="$s_m" -v t=$THR 'BEGIN { exit !(s > t) }' ||
		fail "the alert's score $s_m not above $THR"
fi
wait_log "$T/agg.log" "drift: node 'node1' reports fmnist version 2 at score" 60 ||
	fail "the aggregator did not receive the request"
wait_log "$T/agg.log" "drift: 1 of 1 connected nodes asked within 600 s: starting 1 round" 30 ||
	fail "the policy did not start a round"

# 4. the round on the new regime's data, version 3 with its statistics
wait_log "$T/node1.log" "local data: .*train-images-idx3-ubyte changed, reading it again" 120 ||
	fail "node1 did not read its refreshed data"
wait_log "$T/agg.log" "round 2 done .* -> version 3" 300 || fail "round 2 did not publish version 3"
wait_log "$T/node1.log" "drift: fmnist version 3: baseline from its signed manifest" 120 ||
	fail "node1 did not install version 3 with its baseline"
"$CTL" list | grep -Eq '^ +[0-9]+ +fmnist +3 ' ||
	fail "version 3 not in /dev/mcai: $("$CTL" list)"

# 5. the same shifted inputs, against version 3's baseline
mark=$(wc -l < "$T/node1.log")
"$CTL" infer --format raw -q fmnist "$T/in-b.raw" > /dev/null || fail "infer regime B again"
wait_for 60 "node1's drift score against version 3" scored "$mark" ||
	fail "no drift score logged after version 3"
s_c=$(score_after "$T/node1.log" "$mark")
awk -v s="$s_c" -v t=$THR 'BEGIN { exit !(s <= t) }' ||
	fail "drift score $s_c still above $THR with version 3"
grep -q "drift: fmnist back under the threshold\|drift: fmnist score" "$T/node1.log" ||
	fail "no verdict"
grep -c "drift: 1 of 1 connected nodes asked" "$T/agg.log" | grep -qx 1 ||
	fail "more than one round triggered"
echo "drift scores: old regime $s_a, shifted $s_b (version 2), shifted $s_c (version 3); threshold $THR"

# unprivileged all along
awk '/^Uid:/ { exit !($2 != 0) }' "/proc/$NODE/status" || fail "node1 runs as root"
stop_nodes
stop_agg "$T/agg.log"
pass "drift loop: alarm at $s_b, round 2 on the new regime, version 3 installed, score $s_c"
