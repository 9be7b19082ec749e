#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The transport's budgets against peers that misbehave:
#  * send budget, graceful close: a peer whose echo waits for the send
#    budget (another peer, not reading, holds it) and then says something
#    wrong is closed gracefully: once the budget frees, it still gets its
#    whole queued echo, then close_notify; nothing is freed under it;
#  * send budget, turns: with one peer never reading, two others' echoes
#    go out as soon as a third peer's buffers are freed, not after the
#    non-reader's stall timeout;
#  * receive budget: two peers trickling 2 MiB frames fill the assembly
#    budget; they are dropped for being too slow once others wait, and a
#    real node's 200 KB echo completes.
. "$(dirname "$0")/lib.sh"

start_agg "$T/agg.log" --rate-frames 0 --send-kib 128
r=$(client close-in-queue 2>&1) ||
	fail "closed peer waiting for the send budget: $r"
[ "$r" = "echo-intact 900000 then eof" ] ||
	fail "closed peer waiting for the send budget: $r"
stop_agg "$T/agg.log"

# The non-reader's stall timeout (120 s) is far beyond what the echoes
# take even on a loaded machine (1.5 s idle), so the bound tells "after the
# third peer drained" from "after the stall timeout" whatever the load.
start_agg "$T/agg2.log" --rate-frames 0 --send-kib 256 --stall-timeout 120000
r=$(client turns 2>&1) ||
	fail "echoes behind a non-reader: $r"
secs=${r#slowest }
awk -v s="$secs" 'BEGIN { exit !(s < 60) }' ||
	fail "echoes behind a non-reader took ${secs}s (its stall timeout?)"
stop_agg "$T/agg2.log"

start_agg "$T/agg3.log" --assembly-kib 4096 --stall-timeout 3000
client loris > "$T/loris.out" 2>&1 &
PIDS+=($!)
wait_log "$T/loris.out" holding 10 || fail "slow peers did not start"
t0=$(date +%s)
node node2 "$T/node.log" --ping 1 --ping-size 200000 ||
	fail "a real node's echo did not get through the slow peers"
t1=$(date +%s)
grep -q "frame too slow .* while others wait" "$T/agg3.log" ||
	fail "the slow peers were not dropped"
sanitizer_clean "$T/node.log"
stop_agg "$T/agg3.log"
w=$(stat_of "$T/agg3.log" waited)
[ "$w" -gt 0 ] || fail "the node never waited for the budget"
pass "graceful close while queued for the send budget: whole echo then close_notify; two echoes behind a non-reader in ${secs}s; slow 2 MiB frames dropped, a node's echo through in $((t1 - t0))s"
