#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The bounded queue: 150 alerts into a queue of 100 while there is no
# connection.  drop-oldest: 50 dropped and counted, alerts 51..150
# delivered once connected; drop-newest: 50 refused and counted, alerts
# 1..100 delivered.  Nothing else lost, nothing delivered twice.
. "$(dirname "$0")/lib.sh"

start_broker
run() {		# run POLICY FIRST: the 100 delivered are FIRST..FIRST+99
	local pol=$1 first=$2 seqs
	sub "s-$pol" 100 "$T/$pol" -t 'mcai/+/+/alert'
	start_drive "$T/drive-$pol.log" --host 127.0.0.1 --port "$PORT" \
		--node "gw-$pol" --queue 100 --policy "$pol" --no-connect
	cmd burst 150 m1 detection
	wait_stat dropped 50 10 || fail "$pol: dropped is not 50"
	[ "$(last_stat pending)" = 100 ] || fail "$pol: pending $(last_stat pending)"
	cmd connect
	wait "$SUB" || fail "$pol: subscriber got $(wc -l < "$T/$pol") of 100"
	wait_stat acked 100 10 || fail "$pol: not all acknowledged"
	[ "$(last_stat pending)" = 0 ] || fail "$pol: pending after delivery"
	seqs=$(sed 's/.*"seq":\([0-9]*\),.*/\1/' "$T/$pol" | tr '\n' ' ')
	[ "$seqs" = "$(seq -s ' ' "$first" $((first + 99))) " ] ||
		fail "$pol: delivered $seqs"
	stop_drive
	grep -q "queue full (100 alerts): dropping the" "$T/drive-$pol.log" ||
		fail "$pol: the drop was not logged"
	grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$T/drive-$pol.log" &&
		fail "$pol: sanitizer"
}
run drop-oldest 51
run drop-newest 1
pass "queue of 100, 150 alerts: 50 dropped and counted, the other 100 delivered once (both policies)"
