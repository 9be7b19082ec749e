#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Linked timeouts: an idle peer, a peer stalled mid-frame and a TCP peer
# that never starts TLS are each closed after their timeout, a peer that
# stops reading is paused (back-pressure) then closed, and nothing else.
. "$(dirname "$0")/lib.sh"

start_agg "$T/agg.log" --idle-timeout 1500 --stall-timeout 1000
client idle echo > "$T/idle.out" & c1=$!
client idle partial > "$T/part.out" & c2=$!
client idle tcp > "$T/tcp.out" & c3=$!
wait $c1 $c2 $c3
s_idle=$(cat "$T/idle.out") s_part=$(cat "$T/part.out") s_tcp=$(cat "$T/tcp.out")
for v in "$s_idle" "$s_part" "$s_tcp"; do
	[ "${v%%.*}" != -1 ] || fail "a quiet peer was never closed"
done
# Never before its timeout; how long after it depends on the machine's
# load, and the logged reasons below say which timeout closed it.
awk -v a="$s_idle" 'BEGIN { exit !(a >= 1.3) }' ||
	fail "idle peer closed after $s_idle s (idle timeout 1.5 s)"
awk -v a="$s_part" 'BEGIN { exit !(a >= 0.8) }' ||
	fail "mid-frame peer closed after $s_part s (stall timeout 1 s)"
grep -q "closing: idle timeout" "$T/agg.log" || fail "no idle timeout logged"
grep -q "closing: peer stalled mid-frame" "$T/agg.log" ||
	fail "no mid-frame stall logged"
grep -q "closing: TLS handshake timed out" "$T/agg.log" ||
	fail "no handshake timeout logged"

stop_agg "$T/agg.log"
# Back-pressure wants a send stall longer than the client's patience (3 s).
start_agg "$T/agg2.log" --stall-timeout 5000
t0=$(date +%s.%N)
read -r sent closed < <(client flood 7)
[ "$closed" = blocked ] || fail "flood: '$closed' after $sent bytes"
[ "$sent" -lt $((64 << 20)) ] || fail "flood: $sent bytes accepted, no back-pressure"
wait_log "$T/agg2.log" "closing: peer stopped reading" 5 ||
	fail "flooding peer that never reads was not closed"
closed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
node node1 "$T/node.log" --ping 3 || fail "node failed after the flood"
stop_agg "$T/agg2.log"
[ "$(stat_of "$T/agg2.log" paused)" -ge 1 ] || fail "flooding peer never paused"
pass "idle closed after ${s_idle}s, mid-frame after ${s_part}s, no-TLS after ${s_tcp}s; non-reading peer paused after $((sent >> 20)) MiB, closed within ${closed}s (stall timeout 5 s)"
