#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run by tests/vm/guest/75-sensor-drift-loop.sh inside the guest, with
# mcai.ko loaded, vib-classifier loaded and mcai_simsensor.ko feeding it
# (every window mirrored; SIM_PARAMS names its parameter directory).  Not
# a host test: no test- prefix.  The drift loop driven by the simulated
# sensor's regime knob, on the vibration classifier (42 features):
#
#   regime A (gain 100 %): windows of a healthy machine and of an inner
#   race fault are mirrored into the node's sample store and labelled
#   with the simulator's ground truth (`mcaictl label`: the fault it was
#   set to); an aggregator seeded with the shipped classifier
#   (mcaid --initial, dequantised) runs round 1 on them (drift.stats):
#   version 2 carries their statistics, the node installs it into the
#   running sensor's model (hot swap) and takes them as its baseline;
#   the windows score under the threshold;
#   regime B (regime_gain_pct 300): the new regime's windows are
#   labelled likewise, the kernel's statistics shift, the node raises a
#   drift alarm (MQTT alert, DRIFT), the aggregator's policy starts
#   round 2, the node trains on its labelled windows, version 3 is
#   installed and the same regime scores under the threshold again.
#
# drift.min_samples is larger than the windows the labelling of a phase
# takes, so the node scores a phase's windows only once they are
# labelled (and a measurement only once both classes were seen).
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"
CTL=$ROOT/build/mcaictl
SP=${SIM_PARAMS:?}
MODEL=vib-classifier
THR=1.0
NA=${SENSOR_NA:-20}		# labelled windows per class, regime A
NB=${SENSOR_NB:-80}		# and regime B
MIN=${SENSOR_MIN:-250}		# drift.min_samples
GAIN=${SENSOR_GAIN:-300}	# regime B, percent
S=$T/state/samples
mkdir -p "$S"
chmod 700 "$S"
getent passwd mcai > /dev/null && chown mcai "$S"

# ids: the store's sample ids, one a line (the table's first column)
ids() {
	"$CTL" samples -s "$S" | awk 'NR > 1 && $1 ~ /^[0-9]+$/ && NF == 8 { print $1 }'
}
last_id() { ids | tail -n 1 | grep . || echo 0; }
# drain: with no node running, the module's mirror queue into the store
DRAIN=1
drain() { ((DRAIN)) && "$CTL" mirror -s "$S" > /dev/null; return 0; }
beyond() { drain; (( $(last_id) >= $1 )); }
# label_phase FAULT N: the sensor set to FAULT, then N windows of it
# (the SKIP after the switch left out: they may have been queued before,
# and the node drains on its tick) labelled FAULT, as the simulator's
# ground truth
SKIP=8
label_phase() {
	local f=$1 n=$2 mark
	echo "$f" > "$SP/fault" || fail "fault=$f"
	drain
	mark=$(( $(last_id) + SKIP ))
	wait_for 300 "$n windows of fault $f in the store" beyond $((mark + n)) ||
		fail "the store did not grow: last id $(last_id), want $((mark + n))"
	ids | awk -v lo="$mark" -v hi="$((mark + n))" -v f="$f" \
		'$1 > lo && $1 <= hi { print $1, f }' > "$T/labels"
	[ "$(wc -l < "$T/labels")" = "$n" ] || fail "$(wc -l < "$T/labels") windows to label, want $n"
	"$CTL" label -s "$S" --file "$T/labels" > /dev/null || fail "mcaictl label"
	LABELLED=$((LABELLED + n))
}
LABELLED=0

# score_after N: the first drift score the node logged after line N
score_after() {
	tail -n +"$(($1 + 1))" "$T/node.log" |
		sed -n "s/.*drift: $MODEL score \\([0-9.]*\\) (threshold.*/\\1/p" | head -n 1
}
scored() { [ -n "$(score_after "$1")" ]; }
# measure: the kernel's statistics of both classes of the regime, the
# node's score of them (it scores once MIN windows are in) in SCORE
measure() {
	local mark from
	"$CTL" stats --reset "$MODEL" > /dev/null || fail "stats --reset"
	mark=$(wc -l < "$T/node.log")
	echo 0 > "$SP/fault"
	from=$(last_id)
	wait_for 300 "$((MIN / 2)) healthy windows" beyond $((from + MIN / 2)) ||
		fail "no windows"
	echo 2 > "$SP/fault"
	wait_for 300 "the node's drift score" scored "$mark" || fail "no drift score logged"
	SCORE=$(score_after "$mark")
}

# 1. regime A, labelled (no node yet: the test drains the mirror)
echo 100 > "$SP/regime_gain_pct"
label_phase 0 "$NA"
label_phase 2 "$NA"
echo "regime A: $LABELLED windows labelled"

# a broker and a subscriber for the node's alerts
alert_broker "mcai/node1/$MODEL/alert" 1200

# 2. the federation of the classifier: round 1 on regime A
start_fed_agg "$T/agg.log" --initial "$ROOT/models/$MODEL.mcai" \
	--set "model=$MODEL" --start-nodes 1 --set rounds.min_clients=1 \
	--set rounds.count=1 --set rounds.lr=0.02 --set rounds.batch=16 \
	--set rounds.local_epochs=5 --set drift.stats=yes \
	--set drift.min_nodes=1 --set drift.window_s=1200 --set drift.rounds=1
grep -q "registry: initial model version 1 (42-32-4 argmax" "$T/agg.log" ||
	fail "the registry was not seeded with the classifier: $(grep registry: "$T/agg.log")"
DRAIN=0
"$MCAID" --role node --connect "127.0.0.1:$PORT" \
	--cert "$P/node1.crt" --key "$P/node1.key" --ca "$P/ca.crt" \
	--crl "$P/crl.pem" --node-id node1 --samples "$S" \
	--set "model=$MODEL" \
	--set "provenance.trust=$SIGNER/signer.pub" \
	--set "provenance.history=$T/state/hist-node1" \
	--log-level debug --set drift.threshold=$THR \
	--set drift.interval_s=1 --set drift.min_samples="$MIN" \
	--set drift.request_round=yes --telemetry off "${MQTT[@]}" \
	> "$T/node.log" 2>&1 &
NODE=$!
PIDS+=("$NODE")
wait_log "$T/agg.log" "training statistics of 1 nodes \\($LABELLED samples, 42 features, 4 classes\\) in the manifest" 300 ||
	fail "version 2 was not published with the statistics of the $LABELLED labelled windows"
wait_log "$T/node.log" "drift: $MODEL version 2: baseline from its signed manifest \\(42 features, $LABELLED training samples\\)" 120 ||
	fail "the node did not take version 2's manifest as its baseline"
"$CTL" list | grep -Eq "^ +[0-9]+ +$MODEL +2 " ||
	fail "version 2 not in /dev/mcai: $("$CTL" list)"
grep -q "round 1: training version 1 on $LABELLED samples" "$T/node.log" ||
	fail "round 1 did not train on the labelled windows: $(grep 'round 1' "$T/node.log")"

# 3. regime A against version 2: under the threshold
measure
s_a=$SCORE
awk -v s="$s_a" -v t=$THR 'BEGIN { exit !(s <= t) }' ||
	fail "drift score $s_a of the training regime above $THR"
grep -q "drift: node 'node1' reports" "$T/agg.log" &&
	fail "a round request before any shift"

# 4. regime B: labelled before the node has seen MIN of its windows
"$CTL" stats --reset "$MODEL" > /dev/null || fail "stats --reset"
echo "$GAIN" > "$SP/regime_gain_pct" || fail "regime_gain_pct=$GAIN"
LABELLED=0
label_phase 0 "$NB"
label_phase 2 "$NB"
echo "regime B: $LABELLED windows labelled"
wait_log "$T/node.log" "drift: $MODEL score [0-9.]+ above 1.000: asking for a round" 300 ||
	fail "no drift alarm after the shift"
s_b=$(sed -n "s/.*drift: $MODEL score \\([0-9.]*\\) above.*/\\1/p" "$T/node.log" | head -n 1)
wait_log "$T/node.log" "drift: round request sent" 30 || fail "no round request sent"
if [ ${#MQTT[@]} -gt 0 ]; then
	wait_for 60 "the drift alert over MQTT" test -s "$T/alert" ||
		fail "no drift alert over MQTT: $(cat "$T/sub.err")"
	cat "$T/alert"
	grep -q "^mcai/node1/$MODEL/alert {\"node\":\"node1\",\"model\":\"$MODEL\",\"kind\":\"drift\",.*\"round_request\":true" "$T/alert" ||
		fail "alert: $(cat "$T/alert")"
fi
wait_log "$T/agg.log" "drift: 1 of 1 connected nodes asked within 1200 s: starting 1 round" 60 ||
	fail "the policy did not start a round"

# 5. round 2 on both regimes' labelled windows, version 3 installed
all=$((2 * NA + 2 * NB))
wait_log "$T/node.log" "round 2: training version 2 on $all samples" 300 ||
	fail "round 2 did not train on the $all labelled windows: $(grep 'round 2' "$T/node.log")"
wait_log "$T/agg.log" "round 2 done .* -> version 3" 300 || fail "round 2 did not publish version 3"
wait_log "$T/node.log" "drift: $MODEL version 3: baseline from its signed manifest \\(42 features, $all training samples\\)" 120 ||
	fail "the node did not install version 3 with its baseline"
"$CTL" list | grep -Eq "^ +[0-9]+ +$MODEL +3 " ||
	fail "version 3 not in /dev/mcai: $("$CTL" list)"

# 6. regime B against version 3: under the threshold again
measure
s_c=$SCORE
awk -v s="$s_c" -v t=$THR 'BEGIN { exit !(s <= t) }' ||
	fail "drift score $s_c still above $THR with version 3"
grep -c "drift: 1 of 1 connected nodes asked" "$T/agg.log" | grep -qx 1 ||
	fail "more than one round triggered"
echo "drift scores: regime A $s_a (version 2), regime B $s_b (version 2), regime B $s_c (version 3); threshold $THR"
awk '/^Uid:/ { exit !($2 != 0) }' "/proc/$NODE/status" || fail "the node runs as root"
kill -TERM "$NODE"
wait "$NODE" || fail "node exited $? after SIGTERM"
sanitizer_clean "$T/node.log"
stop_agg "$T/agg.log"
pass "sensor drift loop: regime A $s_a, shift to ${GAIN} % alarm at $s_b, round 2 on the new regime's windows, version 3 installed, score $s_c"
