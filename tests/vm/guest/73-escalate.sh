#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mcai-matrix: 6.1
#
# Escalation to a bigger model, end to end: mcai_simsensor.ko feeds the
# chain vib-detector -> vib-classifier (a pipeline with escalate_below 50,
# every window mirrored); mcaid (node role, privileges dropped) drains
# the mirror into its sample store.
#  - a strong inner-race fault: the classifier is sure, escalations rare;
#  - the machine's regime shifts (healthy, 3x the signal): the detector
#    fires, the classifier answers with low scores, nearly every result
#    is flagged escalate;
#  - policy off: escalated samples pile up in the store, none labelled,
#    no alert reaches the broker, mcaid logs no escalation;
#  - policy local (vib-classifier-large in mcaid's engine, 0.5/s, burst
#    3): each routed sample's label is the class the large model gives
#    its stored input in the kernel (mcaictl infer), the alert on the
#    broker carries both answers (the small one as stored) and no input,
#    routed <= burst + rate * elapsed + 1, the rest counted as limited,
#    seen = routed + limited.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
MCAID=$R/build/mcaid
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
P=/sys/module/mcai_simsensor/parameters
N=73-escalate
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
BIG=$R/models/vib-classifier-large.mcai
RATE=0.5
BURST=3
ESC_BELOW=50
TMP=$(mktemp -d)
chmod 755 "$TMP"
PIDS=()

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
for f in "$KO" "$SIM" "$CTL" "$MCAID" "$BIG" "$R/models/vib-detector.mcai" \
	 "$R/models/vib-classifier.mcai"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
for f in "$MOSQ" /usr/bin/mosquitto_sub /usr/bin/python3; do
	[[ -x $f ]] && continue
	[[ $(uname -m) == x86_64 ]] || { echo "$N: SKIP: no $f in this guest's root"; exit 77; }
	echo "$N: FAIL: missing $f"
	exit 1
done
# the sensor goes first, then the pipeline's file closes (as in 61)
cleanup() {
	local p
	grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2> /dev/null
	done
	wait 2> /dev/null
	"$CTL" unload vib-classifier-large > /dev/null 2>&1
	"$CTL" unload vib-classifier > /dev/null 2>&1
	"$CTL" unload vib-detector > /dev/null 2>&1
	rm -rf "$TMP"
}
grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod mcai"; exit 1; }
trap 'cleanup; grep -q "^mcai " /proc/modules && rmmod mcai' EXIT
for m in vib-detector vib-classifier vib-classifier-large; do
	"$CTL" load "$R/models/$m.mcai" > /dev/null || fail "load $m"
done
json=$("$CTL" --json list)
id_of() {
	tr -d '\n ' <<< "$json" | grep -o "\"id\":[0-9]*,\"name\":\"$1\"" |
		sed 's/"id":\([0-9]*\),.*/\1/'
}
det=$(id_of vib-detector)
cls=$(id_of vib-classifier)
[[ $det && $cls ]] || { fail "model ids not found in: $json"; exit 1; }

# the chain, held open by tests/vm/pipe-hold.py, with
# escalate_below
python3 "$R/tests/vm/pipe-hold.py" "$det" "$cls" "$TMP/ready" "$ESC_BELOW" &
PY=$!
PIDS+=($PY)
answered() { [[ -s $TMP/ready ]] || ! kill -0 "$PY" 2> /dev/null; }
wait_for 120 "the pipeline helper to write $TMP/ready" answered ||
	{ fail "pipeline helper: no answer"; exit 1; }
[[ $(cat "$TMP/ready") == ok ]] || { fail "pipeline create: $(cat "$TMP/ready")"; exit 1; }

# a broker and a subscriber that keeps every alert
port=18840
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\nlog_dest file %s\nlog_type all\n' \
	$port "$TMP/broker.log" > "$TMP/broker.conf"
"$MOSQ" -c "$TMP/broker.conf" > /dev/null 2>&1 &
PIDS+=($!)
listening() { ss -Htln "sport = :$port" | grep -q .; }
wait_for 30 "mosquitto to listen" listening || { fail "no broker"; exit 1; }
mosquitto_sub -h 127.0.0.1 -p $port -i esc-sub -q 1 -v -t 'mcai/+/+/alert' \
	> "$TMP/alerts" 2> "$TMP/sub.err" &
PIDS+=($!)
subscribed() { grep -q "Sending SUBACK to esc-sub" "$TMP/broker.log" 2> /dev/null; }
wait_for 30 "the subscriber" subscribed || fail "subscriber"

bash "$R/tests/fed/mkcerts.sh" "$TMP/pki" > /dev/null || fail "mkcerts"
chmod 755 "$TMP/pki"
mkdir -p "$TMP/samples" "$TMP/hist"
id mcai > /dev/null 2>&1 && chown mcai "$TMP/samples" "$TMP/hist"
cp "$BIG" "$TMP/big.mcai"
chmod 600 "$TMP/big.mcai"	# root's alone: read before the drop
# node.conf POLICY: the node's config, escalation as given
node_conf() {
	cat <<EOC
role = node
node_id = guest-1
model = vib-chain
network.upstream = 127.0.0.1:18841
tls.cert = pki/node1.crt
tls.key = pki/node1.key
tls.ca = pki/ca.crt
data.samples = samples
provenance.history = hist
provenance.allow_unsigned = yes
mqtt.broker = 127.0.0.1:$port
EOC
	[[ $1 == off ]] && return
	printf '[escalate]\npolicy = local\nmodel = big.mcai\nrate = %s\nburst = %s\n' \
		$RATE $BURST
}
# store_json: the store as mcaictl sees it, inputs included
store_json() { "$CTL" --json samples -s "$TMP/samples" --inputs; }
# count KIND: samples in the store that are escalated / labelled
count() {
	store_json | python3 -c '
import json, sys
d = json.load(sys.stdin)
k = sys.argv[1]
print(sum(1 for s in d["items"] if (s["flags"] & 1 if k == "escalated" else s["label"] is not None)))' "$1"
}
enough_escalated() { local n; n=$(count escalated 2> /dev/null); (( ${n:-0} >= $1 )); }

# 1. a strong fault: sure answers
insmod "$SIM" rate=25600 model=vib-chain pipeline=1 fault=2 mirror=1 ||
	{ fail "insmod mcai_simsensor"; exit 1; }
node_conf off > "$TMP/node.conf"
"$MCAID" --config "$TMP/node.conf" --telemetry off > "$TMP/off.log" 2>&1 &
M=$!
PIDS+=($M)
ready() { grep -q "ready: node" "$TMP/$1.log"; }
wait_for 60 "mcaid (policy off) to start" ready off || fail "mcaid did not start"
grep -q "escalation:" "$TMP/off.log" && fail "policy off, yet: $(grep escalation: "$TMP/off.log")"
stored() { local n; n=$(store_json 2> /dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'); (( ${n:-0} >= $1 )); }
wait_for 300 "40 windows of the fault in the store" stored 40 ||
	fail "store: $(store_json 2>&1 | tail -n 3)"
e0=$(count escalated)
n0=$(store_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
echo "$N: fault=2: $e0 of $n0 stored windows escalated"
(( e0 * 5 <= n0 )) || fail "fault=2: $e0/$n0 escalated, the classifier should be sure"

# 2. the regime shifts: unsure answers, escalated; policy off keeps them
echo 0 > "$P/fault"
echo 300 > "$P/regime_gain_pct"
want=$((e0 + 30))
wait_for 300 "30 more escalated samples in the store" enough_escalated $want ||
	fail "escalated: $(count escalated), want $want"
kill -TERM "$M"
wait "$M" || fail "mcaid (policy off) exited $?"
e1=$(count escalated)
l1=$(count labelled)
echo "$N: policy off: $e1 escalated samples stored, $l1 labelled"
(( l1 == 0 )) || fail "policy off, yet $l1 samples labelled"
grep -q "escalation:" "$TMP/off.log" && fail "policy off, yet: $(grep escalation: "$TMP/off.log" | head -n 3)"
grep -q '"kind":"escalation"' "$TMP/alerts" && fail "policy off, yet an escalation alert: $(head -n 3 "$TMP/alerts")"
grep -q "privileges: uid=" "$TMP/off.log" || fail "mcaid did not drop privileges"

# 3. policy local: the large model answers, at its rate
node_conf local > "$TMP/node.conf"
t0=$(date +%s.%N)
"$MCAID" --config "$TMP/node.conf" --telemetry off > "$TMP/on.log" 2>&1 &
M=$!
PIDS+=($M)
wait_for 60 "mcaid (policy local) to start" ready on || fail "mcaid did not start: $(tail -n 5 "$TMP/on.log")"
grep -q "escalation: samples flagged escalate in .* go to vib-classifier-large" "$TMP/on.log" ||
	fail "no escalation set-up line: $(grep -i escal "$TMP/on.log")"
alerts() { grep -c '"kind":"escalation"' "$TMP/alerts" 2> /dev/null; }
six() { (( $(alerts) >= 6 )); }
wait_for 300 "6 escalation alerts on the broker" six || fail "$(alerts) alerts: $(tail -n 5 "$TMP/on.log")"
limited() { grep -q "escalation: .* [1-9][0-9]* limited by the rate" "$TMP/on.log"; }
wait_for 120 "the rate limit to refuse one" limited || fail "nothing limited: $(grep 'escalation: [0-9]' "$TMP/on.log" | tail -n 1)"
kill -TERM "$M"
wait "$M" || fail "mcaid (policy local) exited $?"
t1=$(date +%s.%N)
last=$(grep "escalation: [0-9]* seen" "$TMP/on.log" | tail -n 1)
echo "$N: $last"
# (a here-string: the guest's busybox root has no /dev/fd for <(...))
read -r seen routed limited failed <<< "$(sed 's/.*escalation: \([0-9]*\) seen, \([0-9]*\) routed .*, \([0-9]*\) limited by the rate, \([0-9]*\) failed.*/\1 \2 \3 \4/' <<< "$last")"

[[ $seen && $routed && $limited && $failed ]] || { fail "counters: $last"; exit 1; }
(( failed == 0 )) || fail "$failed failed"
(( seen == routed + limited )) || fail "seen $seen != routed $routed + limited $limited"
(( limited > 0 )) || fail "nothing limited"
awk -v r="$routed" -v a="$t0" -v b="$t1" -v rate=$RATE -v burst=$BURST \
	'BEGIN { m = burst + rate * (b - a) + 1; printf "routed %d, bound %.1f over %.1f s\n", r, m, b - a; exit !(r <= m) }' ||
	fail "routed $routed over the token bucket's bound"

# 4. both answers, as recorded, as published, as the kernel computes them
store_json > "$TMP/store.json"
grep '"kind":"escalation"' "$TMP/alerts" | sed 's/^[^ ]* //' > "$TMP/alerts.json"
python3 - "$TMP" "$routed" <<'EOF' || fail "records"
import json, sys
tmp, routed = sys.argv[1], int(sys.argv[2])
items = {s["id"]: s for s in json.load(open(tmp + "/store.json"))["items"]}
alerts = [json.loads(l) for l in open(tmp + "/alerts.json")]
ok = True
def bad(msg):
    global ok
    print("73-escalate: FAIL: " + msg)
    ok = False
labelled = [s for s in items.values() if s["label"] is not None]
if len(labelled) != routed:
    bad("%d labelled, %d routed" % (len(labelled), routed))
seen = set()
for a in alerts:
    if "input" in json.dumps(a):
        bad("an alert carries the input: %s" % a)
    s = items.get(a["sample"])
    if s is None:
        bad("alert for sample %d not in the store" % a["sample"]); continue
    seen.add(a["sample"])
    if not s["flags"] & 1:
        bad("sample %d routed without the escalate flag" % s["id"])
    if (a["small"]["class"], a["small"]["score"], a["small"]["model_id"]) != (s["class"], s["score"], s["model_id"]):
        bad("small answer %s != stored %s" % (a["small"], s))
    if a["big"]["model"] != "vib-classifier-large":
        bad("big model %s" % a["big"]["model"])
    if s["label"] != a["big"]["class"]:
        bad("label %s != big class %s" % (s["label"], a["big"]["class"]))
    if a["agree"] != (a["big"]["class"] == a["small"]["class"]):
        bad("agree wrong in %s" % a)
if not 6 <= len(seen) <= routed:
    bad("%d alerted samples, %d routed" % (len(seen), routed))
# the labelled inputs, in id order, for the kernel to classify
with open(tmp + "/inputs.raw", "wb") as f, open(tmp + "/expect", "w") as e:
    by = {a["sample"]: a for a in alerts}
    for s in sorted(labelled, key=lambda s: s["id"]):
        if len(s["input"]) != s["input_len"]:
            bad("sample %d: input not read back" % s["id"])
        f.write(bytes(v & 0xff for v in s["input"]))
        sc = by[s["id"]]["big"]["score"] if s["id"] in by else "-"
        e.write("%d %s\n" % (s["label"], sc))
print("73-escalate: %d labelled, %d alerts (%d samples); small->big classes: %s" % (
    len(labelled), len(alerts), len(seen),
    sorted(set((a["small"]["class"], a["big"]["class"]) for a in alerts))))
sys.exit(0 if ok else 1)
EOF
# the kernel's run of the same blob on the same inputs: class and score
"$CTL" infer --format raw vib-classifier-large "$TMP/inputs.raw" > "$TMP/kernel.out" ||
	fail "mcaictl infer vib-classifier-large"
awk 'NF == 3 && $1 ~ /^[0-9]+$/ { print $2, $3 }' "$TMP/kernel.out" > "$TMP/kernel"
paste -d' ' "$TMP/expect" "$TMP/kernel" | awk '
	{ n++ }
	$1 != $3 || ($2 != "-" && $2 != $4) { bad++; print "73-escalate: FAIL: recorded " $1 " " $2 ", kernel " $3 " " $4 }
	END { printf "73-escalate: %d labels checked against the kernel\n", n; exit (bad || n == 0) }' ||
	fail "labels differ from the kernel's answers"
[[ $(wc -l < "$TMP/expect") == "$(wc -l < "$TMP/kernel")" ]] ||
	fail "$(wc -l < "$TMP/expect") labels, $(wc -l < "$TMP/kernel") kernel answers: $(head -n 3 "$TMP/kernel.out")"

touch "$TMP/ready.done"
sim_pause || fail "the sensor did not go idle after run=0"
cleanup
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod"
trap - EXIT
((rc)) || echo "$N: all checks passed"
exit "$rc"
