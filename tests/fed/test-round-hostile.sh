#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hostile peers against a federating aggregator: a payload that is not a
# HELLO, an UPDATE before HELLO, a stale UPDATE (answered with ERROR, the
# peer stays), a truncated UPDATE (ERROR, closed), another certificate
# claiming a connected node's id (ERROR, closed).  Each is logged with
# its reason and only that peer is affected: three real nodes complete
# their rounds meanwhile.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

start_fed_agg "$T/agg.log" --set rounds.count=2
for i in 1 2 3; do
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/3 limit=3000"
done
wait_log "$T/agg.log" "round 1: " 60 || fail "round 1 did not start"
cat > "$T/hostile.py" <<'PY'
import struct, sys
from hostile_peer import connector, frame, reply, s16
pki, port = sys.argv[1], int(sys.argv[2])
conn = connector(pki, port)

def closed(s):
    while True:
        r = reply(s)
        if r is None:
            return True
        if r[0] not in (2, 4, 7):
            return False

out = []
s = conn(); s.sendall(frame(1, b"xx"))          # HELLO that is not one
r = reply(s); out.append("bad-hello:%s" % (r and r[0])); out.append(str(closed(s)))
s = conn()
upd = struct.pack("<QIQf", 1, 1, 10, 0.5) + struct.pack("<I", 2) + b"\0" * 8
s.sendall(frame(5, upd))                          # UPDATE before HELLO
r = reply(s); out.append("early-update:%s" % (r and r[0])); out.append(str(closed(s)))
s = conn()
hello = s16(b"intruder") + struct.pack("<I", 1) + s16(b"fmnist") + \
    struct.pack("<IQQ", 0, 100, 0)
s.sendall(frame(1, hello))
r = reply(s); out.append("welcome:%s" % (r and r[0]))
s.sendall(frame(5, struct.pack("<QIQf", 99, 1, 10, 0.5) + struct.pack("<I", 2) + b"\0" * 8))
while True:                                       # MODEL may come first
    r = reply(s)
    if r is None or r[0] == 7:
        break
out.append("stale:%s" % (r and r[0]))
s.sendall(frame(5, upd[:10]))                     # truncated UPDATE
while True:
    r = reply(s)
    if r is None or r[0] == 7:
        break
out.append("truncated:%s" % (r and r[0])); out.append(str(closed(s)))
s = conn()                                        # node1 runs on node2.crt
s.sendall(frame(1, s16(b"node1") + hello[10:]))
r = reply(s); out.append("takeover:%s" % (r and r[0])); out.append(str(closed(s)))
print(" ".join(out))
PY
res=$(PYTHONPATH="$FED_DIR" python3 "$T/hostile.py" "$P" "$PORT") || fail "hostile client crashed"
[ "$res" = "bad-hello:7 True early-update:7 True welcome:2 stale:7 truncated:7 True takeover:7 True" ] ||
	fail "unexpected answers: $res"
grep -q "malformed HELLO" "$T/agg.log" || fail "bad HELLO not logged"
grep -q "UPDATE before HELLO" "$T/agg.log" || fail "early UPDATE not logged"
grep -q "node 'intruder': UPDATE for round 99 refused as stale" "$T/agg.log" ||
	fail "stale UPDATE not logged"
grep -q "malformed UPDATE" "$T/agg.log" || fail "truncated UPDATE not logged"
grep -q "node id 'node1' is connected with certificate 'node2': refused" \
	"$T/agg.log" || fail "take-over of node1's id not refused"
wait_log "$T/agg.log" "federation complete" 60 || fail "rounds did not complete"
grep -q "round 2 done (all answered): 3 of 3" "$T/agg.log" ||
	fail "round 2 not completed by the 3 real nodes"
stop_nodes
stop_agg "$T/agg.log"
for i in 1 2 3; do
	sanitizer_clean "$T/node$i.log"
done
pass "bad HELLO, UPDATE before HELLO, stale and truncated UPDATE, id take-over each answered with ERROR and logged; 3 real nodes finished 2 rounds"
