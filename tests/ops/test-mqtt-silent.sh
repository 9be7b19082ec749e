#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A broker that never answers: a listener that accepts and then says
# nothing.  The publisher gives up on each silent connection after its
# keep-alive (5 s here: 1.5 periods of silence) and tries again, never blocks its loop (it keeps
# answering commands), keeps its queue within the bound (20 alerts into
# 10: 10 dropped and counted), and exits cleanly on request.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "no python3 for the silent listener"

PORT=$(free_port)
python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)          # never read, never written
    print("accepted", len(held), flush=True)
' "$PORT" > "$T/silent.out" 2>&1 &
PIDS+=($!)
wait_for 5 "the silent listener on $PORT" listening || fail "no listener"

start_drive "$T/drive.log" --host 127.0.0.1 --port "$PORT" --node gw-s \
	--queue 10 --keepalive 5
cmd burst 20 m1 detection
wait_stat dropped 10 10 || fail "dropped is not 10"
[ "$(last_stat pending)" = 10 ] || fail "pending $(last_stat pending)"
[ "$(last_stat connected)" = 0 ] || fail "connected to a silent broker?"
# a second connection means the first was given up
accepted() { grep -q "^accepted $1\$" "$T/silent.out"; }
wait_for 20 "the publisher to give up and reconnect" accepted 2 ||
	fail "never gave up the silent connection"
wait_stat pending 10 5 || fail "the loop stopped answering"
[ "$(last_stat connects)" = 0 ] || fail "counted a connection"
stop_drive
grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$T/drive.log" && fail "sanitizer"
pass "silent broker: given up after the keep-alive, retried, queue held at 10 (10 dropped), loop responsive"
