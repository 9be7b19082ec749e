#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# MQTT delivery: alerts of three kinds reach a subscriber of
# mcai/+/+/alert as JSON on mcai/<node>/<model>/alert, in order, every
# sequence number once; the node's retained status is "online" while it
# runs, "offline" after a clean stop, and "offline" by the last will when
# the publisher is killed.
. "$(dirname "$0")/lib.sh"

start_broker
N=25
sub s1 $N "$T/alerts" -t 'mcai/+/+/alert'
start_drive "$T/drive.log" --host 127.0.0.1 --port "$PORT" --node gw-1
cmd alert fmnist-mlp detection
cmd alert vib-chain escalation
cmd alert fmnist-mlp drift
cmd burst $((N - 3)) fmnist-mlp detection
wait "$SUB" || fail "subscriber got $(wc -l < "$T/alerts") of $N alerts"
wait_stat acked $N 10 || fail "broker did not acknowledge $N"
grep -c '^mcai/gw-1/fmnist-mlp/alert {' "$T/alerts" | grep -qx $((N - 1)) ||
	fail "fmnist-mlp alerts: $(cat "$T/alerts")"
grep -q '^mcai/gw-1/vib-chain/alert {"node":"gw-1","model":"vib-chain","kind":"escalation","seq":2,' "$T/alerts" ||
	fail "escalation alert: $(sed -n 2p "$T/alerts")"
sed -n 3p "$T/alerts" | grep -q '"kind":"drift","seq":3,' || fail "drift alert"
seqs=$(sed 's/.*"seq":\([0-9]*\),.*/\1/' "$T/alerts" | tr '\n' ' ')
[ "$seqs" = "$(seq -s ' ' 1 $N) " ] || fail "sequence numbers: $seqs"
python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l.split(" ", 1)[1])' "$T/alerts" ||
	fail "an alert is not JSON"

# retained status: online now
mosquitto_sub -h 127.0.0.1 -p "$PORT" -t mcai/gw-1/status -C 1 -W 10 \
	> "$T/status" || fail "no retained status"
grep -qx '{"node":"gw-1","state":"online"}' "$T/status" || fail "status: $(cat "$T/status")"
stop_drive
grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$T/drive.log" && fail "sanitizer"
mosquitto_sub -h 127.0.0.1 -p "$PORT" -t mcai/gw-1/status -C 1 -W 10 \
	> "$T/status" || fail "no retained status after stop"
grep -qx '{"node":"gw-1","state":"offline"}' "$T/status" || fail "status after stop: $(cat "$T/status")"

# last will: a publisher that dies without a goodbye
start_drive "$T/drive2.log" --host 127.0.0.1 --port "$PORT" --node gw-2
online() {
	mosquitto_sub -h 127.0.0.1 -p "$PORT" -t mcai/gw-2/status -C 1 -W 5 2>/dev/null |
		grep -q '"online"'
}
wait_for 10 "gw-2 online" online || fail "gw-2 never online"
sub s2 1 "$T/will" -t mcai/gw-2/status -R
kill -KILL "$DRIVE_PID"
wait "$SUB" || fail "no last will"
grep -qx 'mcai/gw-2/status {"node":"gw-2","state":"offline"}' "$T/will" ||
	fail "last will: $(cat "$T/will")"
pass "$N alerts in order, JSON, status online/offline, last will"
