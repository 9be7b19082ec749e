#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A model larger than one frame (784-2400-10: about 9.6 MB of MODEL
# against the 8 MiB frame limit) streamed in 1 MiB parts, stop and wait.
# node2 is on a slow link (--part-pace 300: it asks for each part 300 ms
# after the last); the aggregator is killed (SIGKILL) while node2 holds
# part of the stream, restarted on the same registry, and node2 resumes
# where it was instead of starting again; the SHA-256 of the whole is
# checked, the round runs on the streamed version with both nodes.
# Hostile MODEL_RESUME frames close only their peer.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

big=(--hidden 2400 --eval-limit 100 --calib 50 --set rounds.count=1
	--start-nodes 2 --log-level debug)
start_fed_agg "$T/agg.log" "${big[@]}"
grep -Eq "MODEL version 1: [0-9]+ bytes, more than a frame" "$T/agg.log" ||
	fail "the model is not larger than a frame: $(grep 'MODEL version' "$T/agg.log")"
size=$(grep -Eo "MODEL version 1: [0-9]+ bytes" "$T/agg.log" | grep -Eo "[0-9]+ bytes" | grep -Eo "[0-9]+")
fed_node node1 "$T/node1.log" --shard "0/2 limit=200"
fed_node node2 "$T/node2.log" --shard "1/2 limit=200" --part-pace 300 \
	--log-level debug
wait_log "$T/node2.log" "model version 1: 3145728 of $size bytes" 60 ||
	fail "node2 did not get 3 parts"
kill -KILL "$AGG"
wait "$AGG" 2>/dev/null
sanitizer_clean "$T/agg.log"
held=$(grep -Eo "model version 1: [0-9]+ of $size bytes" "$T/node2.log" | tail -n 1 | awk '{print $4}')
[ "${held:-0}" -lt "$size" ] || fail "node2 had it all before the kill"
restart_fed_agg "$T/agg2.log" "${big[@]}"
wait_log "$T/node2.log" "model version 1: resuming at byte [0-9]+ of $size" 60 ||
	fail "node2 did not resume"
at=$(grep -Eo "resuming at byte [0-9]+" "$T/node2.log" | tail -n 1 | awk '{print $4}')
[ "$at" -ge 3145728 ] || fail "node2 resumed at byte $at"
wait_log "$T/node2.log" "model version 1: $size bytes streamed, SHA-256 verified" 60 ||
	fail "node2 did not complete the stream"
[ "$(grep -c "more than a frame: streamed in parts" "$T/node2.log")" = 1 ] ||
	fail "node2 started the stream more than once"
wait_log "$T/agg2.log" "round 1 done" 120 || fail "round 1 did not close"
grep -q "round 1 done (all answered): 2 of 2 answered" "$T/agg2.log" ||
	fail "round 1: $(grep 'round 1 done' "$T/agg2.log")"
wait_log "$T/agg2.log" "federation complete" 60 || fail "the federation did not end"
# Hostile resumes (after the round: an intruder is not sampled): an
# unknown digest gets the current model from the start; a truncated one is an ERROR and closes that connection.
cat > "$T/hostile.py" <<'PY'
import struct, sys
from hostile_peer import connector, frame, reply, s16
pki, port = sys.argv[1], int(sys.argv[2])
conn = connector(pki, port)

PART, RESUME = 22, 23
s = conn()
s.sendall(frame(1, s16(b"intruder") + struct.pack("<I", 1) + s16(b"fmnist") +
                struct.pack("<IQQ", 0, 100, 1 << 8)))
out = []
r = reply(s)                                        # WELCOME
r = reply(s)                                        # part 0
out.append("first:%s@%d" % (r and r[0], r and struct.unpack("<Q", r[1][44:52])[0]))
s.sendall(frame(RESUME, struct.pack("<I", 1) + b"\x55" * 32 + struct.pack("<Q", 5)))
r = reply(s)
out.append("unknown:%s@%d" % (r and r[0], r and struct.unpack("<Q", r[1][44:52])[0]))
s.sendall(frame(RESUME, struct.pack("<I", 1) + b"\x55" * 20))
err = None
while True:
    r = reply(s)
    if r is None:
        break
    if r[0] == 7:
        err = r[1][6:].decode(errors="replace")
out.append("truncated:%s" % err)
print(" ".join(out))
PY
res=$(PYTHONPATH="$FED_DIR" python3 "$T/hostile.py" "$P" "$PORT") || fail "hostile client crashed"
case $res in
"first:22@0 unknown:22@0 truncated:truncated digest"*) ;;
*) fail "hostile MODEL_RESUME: $res" ;;
esac
stop_nodes
stop_agg "$T/agg2.log"
for i in 1 2; do
	sanitizer_clean "$T/node$i.log"
done
pass "a $size-byte MODEL (over the $((8 << 20))-byte frame) streamed in 1 MiB parts; aggregator killed with $held bytes at node2, restarted: node2 resumed at byte $at, SHA-256 verified, round 1 with 2 of 2; hostile resumes closed only their peer"
