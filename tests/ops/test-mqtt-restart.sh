#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Broker restart mid-stream: 300 alerts are published and the broker is
# stopped while they flow (some acknowledged, some in flight, some not
# yet sent), 200 more are raised while it is down, then it comes back
# (with its persistence, so a durable subscriber's queue survives).
# Every one of the 500 alerts reaches the durable subscriber: nothing is
# lost within the bound (queue 1000); duplicates (QoS 1 resends of
# messages whose PUBACK the restart cut off) are counted and reported.
. "$(dirname "$0")/lib.sh"

BROKER_CONF=("persistence true" "persistence_location $T/" "max_queued_messages 10000")
start_broker "${BROKER_CONF[@]}"
# a durable session (clean session off) that the broker queues for
mosquitto_sub -h 127.0.0.1 -p "$PORT" -i durable -c -q 1 \
	-t 'mcai/+/+/alert' -E || fail "durable subscription"
start_drive "$T/drive.log" --host 127.0.0.1 --port "$PORT" --node gw-r \
	--queue 1000
wait_stat connected 1 10 || fail "never connected"
cmd burst 300 m1 detection
stop_broker
cmd stats
wait_stat connected 0 10 || fail "the loss of the broker went unnoticed"
at_stop="acked $(last_stat acked), pending $(last_stat pending)"
cmd burst 200 m1 drift
wait_stat pending $((500 - $(last_stat acked))) 10 ||
	fail "alerts raised while down did not queue"
start_broker "${BROKER_CONF[@]}"
wait_stat pending 0 20 || fail "queue not drained after the broker returned"
dropped=$(last_stat dropped)
[ "$dropped" = 0 ] || fail "$dropped dropped within the bound"

# the durable subscriber collects; duplicates mean reading on until
# 500 distinct sequence numbers are there
: > "$T/got"
want=500
while :; do
	mosquitto_sub -h 127.0.0.1 -p "$PORT" -i durable -c -q 1 -v \
		-t 'mcai/+/+/alert' -C "$want" -W 30 >> "$T/got" ||
		fail "durable subscriber: $(sed 's/.*"seq":\([0-9]*\),.*/\1/' "$T/got" | sort -un | wc -l) of 500 distinct"
	distinct=$(sed 's/.*"seq":\([0-9]*\),.*/\1/' "$T/got" | sort -un | wc -l)
	((distinct >= 500)) && break
	want=$((500 - distinct))
done
seqs=$(sed 's/.*"seq":\([0-9]*\),.*/\1/' "$T/got" | sort -un | tr '\n' ' ')
[ "$seqs" = "$(seq -s ' ' 1 500) " ] || fail "sequence numbers: $seqs"
dups=$(($(wc -l < "$T/got") - 500))
stop_drive
grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$T/drive.log" && fail "sanitizer"
pass "500 of 500 delivered across a restart (at the stop: $at_stop), $dups duplicates, 0 dropped"
