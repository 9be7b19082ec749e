#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A peer that disconnects in the middle of a frame (plain TCP close, and
# close_notify) is closed with that reason; the aggregator serves on.
. "$(dirname "$0")/lib.sh"

start_agg "$T/agg.log"
client midframe >/dev/null || fail "client failed"
wait_log "$T/agg.log" "disconnected mid-frame \(10 of 1000 payload bytes\)" 5 ||
	fail "mid-frame TCP close not reported"
client midframe notify >/dev/null || fail "client failed"
wait_log "$T/agg.log" "close_notify in the middle of a frame" 5 ||
	fail "mid-frame close_notify not reported"
node node1 "$T/node.log" --ping 5 || fail "node failed after the mid-frame peers"
stop_agg "$T/agg.log"
pass "mid-frame disconnects (TCP close and close_notify) logged and contained"
