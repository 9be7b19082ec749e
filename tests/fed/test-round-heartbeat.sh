#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A slow node whose local training outlasts the idle timeout: the
# aggregator drops a peer silent for 5 s, and node3 and node4 each take
# about 8 s to train (--train-pace 250: one batch per 250 ms).  node3
# sends PROGRESS heartbeats (every 1.25 s, a quarter of the idle timeout,
# as its ROUND asked) and stays in the round until it answers; node4
# behaves as a node without heartbeats (--no-progress) and is dropped as
# idle in the middle of its training, counted as a dropout.  The round
# closes with 3 of 4, node3's update in it; hostile PROGRESS frames sent
# meanwhile close only their own connection.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

start_fed_agg "$T/agg.log" --set rounds.count=1 --log-level debug \
	--idle-timeout 5000 --start-nodes 4
fed_node node1 "$T/node1.log" --shard "0/4 limit=4000"
fed_node node2 "$T/node2.log" --shard "1/4 limit=4000"
fed_node node3 "$T/node3.log" --shard "2/4 limit=4000" --train-pace 250
fed_node node4 "$T/node4.log" --shard "3/4 limit=4000" --train-pace 250 \
	--no-progress
wait_log "$T/agg.log" "round 1: 4 of 4 connected nodes sampled" 60 ||
	fail "round 1 did not start with the four nodes"
wait_log "$T/agg.log" "round 1: node 'node3' training, [0-9]+ of 32 batches" 30 ||
	fail "no heartbeat from node3"
# Hostile heartbeats while the round runs: one unasked (ignored, the peer
# stays), then one with more batches done than in all, then a truncated
# one: each malformed one answered with ERROR and its connection closed.
cat > "$T/hostile.py" <<'PY'
import struct, sys
from hostile_peer import connector, frame, reply, s16
pki, port = sys.argv[1], int(sys.argv[2])
conn = connector(pki, port)

def error_then_closed(s):
    got = None
    while True:
        r = reply(s)
        if r is None:
            return got
        if r[0] == 7:
            got = r[1][6:].split(b"\0")[0].decode(errors="replace")

PROGRESS = 21
out = []
for bad in (struct.pack("<QII", 1, 33, 32), struct.pack("<QI", 1, 3)):
    s = conn()
    s.sendall(frame(1, s16(b"intruder") + struct.pack("<I", 1) + s16(b"fmnist") +
                    struct.pack("<IQQ", 0, 100, 0)))
    r = reply(s)                                   # WELCOME
    m = reply(s)                                   # the current MODEL
    if not m or m[0] != 4:
        out.append("no-model")
        break
    s.sendall(frame(PROGRESS, struct.pack("<QII", 1, 3, 32)))   # unasked
    s.sendall(frame(PROGRESS, bad))
    out.append("%s:%s" % (r and r[0], error_then_closed(s)))
print(" ".join(out))
PY
res=$(PYTHONPATH="$FED_DIR" python3 "$T/hostile.py" "$P" "$PORT") || fail "hostile client crashed"
case $res in
"2:"*"progress 33 of 32 batches 2:"*"truncated"*) ;;
*) fail "hostile PROGRESS: $res" ;;
esac
grep -q "node 'intruder': PROGRESS for round 1 ignored" "$T/agg.log" ||
	fail "the unasked PROGRESS was not ignored"
grep -q "malformed PROGRESS: progress 33 of 32 batches" "$T/agg.log" ||
	fail "the bad PROGRESS was not logged"
wait_log "$T/agg.log" "round 1: sampled node 'node4' dropped out" 30 ||
	fail "node4, silent while training, was not dropped"
grep -q "node 'node4' left: .*idle" "$T/agg.log" ||
	fail "node4 not dropped as idle: $(grep "node 'node4' left" "$T/agg.log")"
wait_log "$T/agg.log" "round 1 done" 60 || fail "round 1 did not close"
grep -q "round 1 done (all answered or gone): 3 of 4 answered (1 dropped" \
	"$T/agg.log" || fail "round 1: $(grep 'round 1 done' "$T/agg.log")"
grep -q "round 1: update from 'node3'" "$T/agg.log" ||
	fail "node3's update not in the round"
grep -q "node 'node3' left" "$T/agg.log" && fail "node3 was dropped"
ms=$(grep -o "round 1: trained in [0-9]* ms" "$T/node3.log" | grep -o "[0-9]* ms" | grep -o "[0-9]*")
[ -n "$ms" ] && [ "$ms" -gt 5000 ] ||
	fail "node3 trained in ${ms:-?} ms, not longer than the 5 s idle timeout"
beats=$(grep -c "round 1: node 'node3' training" "$T/agg.log")
grep -q "node 'node4' training" "$T/agg.log" && fail "node4 sent heartbeats"
wait_log "$T/agg.log" "federation complete" 30 || fail "the federation did not end"
stop_nodes
stop_agg "$T/agg.log"
for i in 1 2 3 4; do
	sanitizer_clean "$T/node$i.log"
done
pass "node3 trained $ms ms against a 5 s idle timeout, $beats heartbeats, its update in round 1; node4 without heartbeats dropped as idle; 3 of 4 answered; hostile PROGRESS closed only its peer"
