#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Drift, end to end up to the alert: a baseline taken from the module's
# statistics while fmnist-mlp sees its "training" inputs (all zero),
# mcaictl metrics reports mcai_drift_score 0 for the same data
# (promtool-clean); then mcaid (node role, privileges dropped) compares
# the live statistics every second, and when the inputs shift (random
# bytes) publishes one drift alert with its score and a round request to
# a real mosquitto in the guest; the metrics' score is above the
# threshold too.  Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
MCAID=$R/build/mcaid
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=72-drift
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
TMP=$(mktemp -d)
chmod 755 "$TMP"
PIDS=()

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2> /dev/null
	done
	wait 2> /dev/null
	"$CTL" unload fmnist-mlp > /dev/null 2>&1
	rm -rf "$TMP"
}
for f in "$KO" "$CTL" "$MCAID"; do
	[[ -x $f || -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
for f in "$MOSQ" /usr/bin/promtool /usr/bin/mosquitto_sub; do
	[[ -x $f ]] && continue
	# the arm64 guest's own root (tests/vm/arm64.sh) has no broker or
	# promtool, and its cross-built mcaid no MQTT
	[[ $(uname -m) == x86_64 ]] || { echo "$N: SKIP: no $f in this guest's root"; exit 77; }
	echo "$N: FAIL: missing $f"
	exit 1
done
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
trap 'cleanup; grep -q "^mcai " /proc/modules && rmmod mcai' EXIT
"$CTL" load "$R/models/fmnist-mlp.mcai" > /dev/null || fail "load"

# 1. the baseline: 200 all-zero inputs
head -c $((784 * 200)) /dev/zero > "$TMP/zeros"
"$CTL" infer --format raw -q fmnist-mlp "$TMP/zeros" > /dev/null || fail "infer zeros"
"$CTL" stats --baseline-out "$TMP/fmnist-mlp.baseline" fmnist-mlp > /dev/null ||
	fail "stats --baseline-out"
head -n 3 "$TMP/fmnist-mlp.baseline" | grep -q '^features 784$' || fail "baseline header"
"$CTL" stats --reset fmnist-mlp > /dev/null || fail "stats --reset"
head -c $((784 * 60)) /dev/zero > "$TMP/zeros60"
"$CTL" infer --format raw -q fmnist-mlp "$TMP/zeros60" > /dev/null || fail "infer"
"$CTL" metrics --baseline "$TMP" > "$TMP/m0.prom" || fail "metrics"
promtool check metrics < "$TMP/m0.prom" > "$TMP/lint" 2>&1 || fail "promtool: $(cat "$TMP/lint")"
grep -q '^mcai_drift_score{model="fmnist-mlp",version="[0-9]*"} 0.000000$' "$TMP/m0.prom" ||
	fail "drift score on the training data: $(grep drift_score "$TMP/m0.prom")"

# 2. a broker, a subscriber, and mcaid watching the drift
port=18830
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\nlog_dest file %s\nlog_type all\n' \
	$port "$TMP/broker.log" > "$TMP/broker.conf"
"$MOSQ" -c "$TMP/broker.conf" > /dev/null 2>&1 &
PIDS+=($!)
listening() { ss -Htln "sport = :$port" | grep -q .; }
wait_for 30 "mosquitto to listen" listening || fail "no broker"
mosquitto_sub -h 127.0.0.1 -p $port -i drift-sub -q 1 -v -t 'mcai/+/+/alert' \
	-C 1 -W 300 > "$TMP/alert" 2> "$TMP/sub.err" &
SUB=$!
PIDS+=($SUB)
subscribed() { grep -q "Sending SUBACK to drift-sub" "$TMP/broker.log" 2> /dev/null; }
wait_for 30 "the subscriber" subscribed || fail "subscriber"

bash "$R/tests/fed/mkcerts.sh" "$TMP/pki" > /dev/null || fail "mkcerts"
chmod 755 "$TMP/pki"
mkdir -p "$TMP/samples" "$TMP/hist"
id mcai > /dev/null 2>&1 && chown mcai "$TMP/samples" "$TMP/hist"
cat > "$TMP/node.conf" <<EOC
role = node
node_id = guest-1
model = fmnist-mlp
log_level = debug
network.upstream = 127.0.0.1:18831
tls.cert = pki/node1.crt
tls.key = pki/node1.key
tls.ca = pki/ca.crt
data.samples = samples
provenance.history = hist
provenance.allow_unsigned = yes
mqtt.broker = 127.0.0.1:$port
drift.baseline = fmnist-mlp.baseline
drift.threshold = 1.0
drift.interval_s = 1
drift.min_samples = 50
EOC
"$MCAID" --config "$TMP/node.conf" --telemetry off > "$TMP/mcaid.log" 2>&1 &
M=$!
PIDS+=($M)
connected() { grep -q "mqtt: connected to 127.0.0.1:$port" "$TMP/mcaid.log"; }
wait_for 60 "mcaid to connect to the broker" connected || fail "mcaid not connected"
# the training-like data first: no alarm
score_logged() { grep -q "drift: fmnist-mlp score 0.000" "$TMP/mcaid.log"; }
wait_for 60 "mcaid's first drift comparison" score_logged || fail "no comparison logged"

# 3. the shift: random inputs
head -c $((784 * 200)) /dev/urandom > "$TMP/shifted"
"$CTL" infer --format raw -q fmnist-mlp "$TMP/shifted" > /dev/null || fail "infer shifted"
wait "$SUB" || fail "no drift alert: $(tail -n 5 "$TMP/mcaid.log")"
cat "$TMP/alert"
grep -q '^mcai/guest-1/fmnist-mlp/alert {"node":"guest-1","model":"fmnist-mlp","kind":"drift",' "$TMP/alert" ||
	fail "alert: $(cat "$TMP/alert")"
grep -q '"round_request":true' "$TMP/alert" || fail "no round request"
s=$(sed 's/.*"score":\([0-9.]*\).*/\1/' "$TMP/alert")
awk -v s="$s" 'BEGIN { exit !(s > 1.0) }' || fail "score $s not above 1.0"
grep -q "drift: fmnist-mlp score .* above 1.000: asking for a round" "$TMP/mcaid.log" ||
	fail "alarm not logged"
"$CTL" metrics --baseline "$TMP" > "$TMP/m1.prom" || fail "metrics"
promtool check metrics < "$TMP/m1.prom" > /dev/null 2>&1 || fail "promtool after shift"
ms=$(sed -n 's/^mcai_drift_score{model="fmnist-mlp",version="[0-9]*"} //p' "$TMP/m1.prom")
awk -v s="${ms:-0}" 'BEGIN { exit !(s > 1.0) }' || fail "metrics drift score $ms"
echo "$N: drift score after the shift: alert $s, metrics $ms"

kill -TERM "$M"
wait "$M" || fail "mcaid exited $? after SIGTERM"
grep -q "privileges: uid=" "$TMP/mcaid.log" || fail "mcaid did not drop privileges"
cleanup
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod"
trap - EXIT
((rc)) || echo "$N: all checks passed"
exit "$rc"
