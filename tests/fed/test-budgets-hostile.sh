#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The transport's budgets against peers that misbehave:
#  * send budget, graceful close: a peer whose echo waits for the send
#    budget (another peer, not reading, holds it) and then says something
#    wrong is closed gracefully: once the budget frees, it still gets its
#    whole queued echo, then close_notify; nothing is freed under it;
#  * send budget, turns: with one peer never reading, two others' echoes
#    go out as soon as a third peer's buffers are freed, not after the
#    non-reader's 30 s stall timeout;
#  * receive budget: two peers trickling 2 MiB frames fill the assembly
#    budget; they are dropped for being too slow once others wait, and a
#    real node's 200 KB echo completes.
. "$(dirname "$0")/lib.sh"

cat > "$T/peers.py" <<'PY'
import socket, ssl, struct, sys, threading, time
pki, port, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
UPDATE, HELLO = 5, 1
def conn():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(f"{pki}/node1.crt", f"{pki}/node1.key")
    ctx.load_verify_locations(f"{pki}/ca.crt")
    s = socket.create_connection(("127.0.0.1", port))
    return ctx.wrap_socket(s, server_hostname="localhost")
def hdr(t, n):
    return struct.pack("<IHHII", 0x4641434d, 1, t, n, 0)
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError(f"EOF after {len(b)} of {n} bytes")
        b += c
    return b
if cmd == "close-in-queue":
    a = conn()                      # holds the send budget, never reads
    a.sendall(hdr(UPDATE, 6000000) + b"a" * 6000000)
    time.sleep(1)
    b = conn()                      # its echo waits for the budget
    b.sendall(hdr(UPDATE, 900000) + b"b" * 900000)
    time.sleep(0.5)
    b.sendall(hdr(HELLO, 8) + b"\xff" * 8)  # malformed HELLO: closed
    time.sleep(1)
    a.close()                       # the budget frees
    b.settimeout(20)
    h = recv_exact(b, 16)
    got = recv_exact(b, struct.unpack("<IHHII", h)[3])
    assert got == b"b" * 900000, "echo differs"
    try:                            # then the server's close_notify
        rest = b.recv(4096)
    except (ssl.SSLError, OSError):
        rest = b""
    print("echo-intact", len(got), "then", "eof" if not rest else "more")
elif cmd == "turns":
    a = conn(); a.sendall(hdr(UPDATE, 6000000) + b"a" * 6000000)
    b = conn(); b.sendall(hdr(UPDATE, 6000000) + b"b" * 6000000)
    time.sleep(0.5)
    took = {}
    def echo(name, ch):
        s = conn()
        t = time.monotonic()
        s.sendall(hdr(UPDATE, 300000) + ch * 300000)
        got = recv_exact(s, 16 + 300000)
        assert got[16:] == ch * 300000
        took[name] = time.monotonic() - t
    th = [threading.Thread(target=echo, args=(n, c))
          for n, c in (("C", b"c"), ("D", b"d"))]
    for t in th:
        t.start()
    time.sleep(1.5)
    recv_exact(b, 16 + 6000000)     # b drains: its buffers are freed
    for t in th:
        t.join()
    print("slowest %.1f" % max(took.values()))
elif cmd == "loris":
    ss = []
    for i in range(2):
        s = conn()
        s.sendall(hdr(UPDATE, 2 << 20) + b"x" * 100000)
        ss.append(s)
    print("holding", flush=True)
    for k in range(12):
        time.sleep(2)
        try:
            for s in ss:
                s.sendall(b"y" * 10)
        except OSError:
            print("dropped", flush=True)
            break
PY

start_agg "$T/agg.log" --rate-frames 0 --send-kib 128
r=$(python3 "$T/peers.py" "$P" "$PORT" close-in-queue 2>&1) ||
	fail "closed peer waiting for the send budget: $r"
[ "$r" = "echo-intact 900000 then eof" ] ||
	fail "closed peer waiting for the send budget: $r"
stop_agg "$T/agg.log"

start_agg "$T/agg2.log" --rate-frames 0 --send-kib 256
r=$(python3 "$T/peers.py" "$P" "$PORT" turns 2>&1) ||
	fail "echoes behind a non-reader: $r"
secs=${r#slowest }
awk -v s="$secs" 'BEGIN { exit !(s < 10) }' ||
	fail "echoes behind a non-reader took ${secs}s (its stall timeout?)"
stop_agg "$T/agg2.log"

start_agg "$T/agg3.log" --assembly-kib 4096 --stall-timeout 3000
python3 "$T/peers.py" "$P" "$PORT" loris > "$T/loris.out" 2>&1 &
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
