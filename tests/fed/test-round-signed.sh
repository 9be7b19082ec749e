#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Provenance end to end.  The aggregator signs what it publishes; nodes
# that trust its key train and follow, a node whose trust store holds
# another key refuses every version (unknown-signer), stays without a
# model and is left out of the rounds instead of holding them up.  A
# node that claims more samples in its UPDATE than in its HELLO is
# refused; its node id stays bound to the certificate it joined with.  A
# manifest forged in the registry while the aggregator was down is
# refused by a fresh node (bad-signature).  The node table stays within
# network.max_nodes by forgetting the longest-gone node.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

gen_signer "$T/state/other"

# A node that speaks the protocol by hand (args: cert id n_samples mode):
#   liar   HELLO with n_samples, then every ROUND answered with an UPDATE
#          claiming a million samples; prints the ERROR it gets, exits
#   hello  HELLO, prints "welcome" or the ERROR, exits
cat > "$T/fl.py" <<'PY'
import socket, ssl, struct, sys

pki, port, cert, nid, samples, mode = sys.argv[1:7]
HELLO, WELCOME, ROUND, MODEL, UPDATE, ERROR = 1, 2, 3, 4, 5, 7

def s16(b):
    return struct.pack("<H", len(b)) + b

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_cert_chain(f"{pki}/{cert}.crt", f"{pki}/{cert}.key")
ctx.load_verify_locations(f"{pki}/ca.crt")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))),
                    server_hostname="localhost")
s.settimeout(60)

def send(t, p):
    s.sendall(struct.pack("<IHHII", 0x4641434d, 1, t, len(p), 0) + p)

def recv(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b

send(HELLO, s16(nid.encode()) + struct.pack("<I", 1) + s16(b"fmnist") +
     struct.pack("<IQQ", 0, int(samples), 0))
n_params = 0
while True:
    _, _, t, n, _ = struct.unpack("<IHHII", recv(16))
    p = recv(n)
    if t == ERROR:
        (code,) = struct.unpack_from("<I", p)
        print("error", code, p[6:].decode(), flush=True)
        break
    if t == WELCOME and mode == "hello":
        print("welcome", flush=True)
        break
    if t == MODEL:
        off = 2 + struct.unpack_from("<H", p)[0] + 16
        (n_params,) = struct.unpack_from("<I", p, off)
    if t == ROUND:
        rid = struct.unpack_from("<Q", p)[0]
        off = 8 + 2 + struct.unpack_from("<H", p, 8)[0]
        (base,) = struct.unpack_from("<I", p, off)
        send(UPDATE, struct.pack("<QIQfI", rid, base, 1000000, 0.5,
                                 n_params) + b"\0" * (4 * n_params))
s.close()
PY
fl() {
	python3 "$T/fl.py" "$P" "$PORT" "$@"
}

start_fed_agg "$T/agg.log" --set rounds.count=2
# logged once the registry is open, after the privilege drop
wait_log "$T/agg.log" "signing published versions with key" 20 ||
	fail "aggregator does not sign"
fl node1 liar 100 liar > "$T/liar.out" 2>&1 &
liar=$!
PIDS+=("$liar")
fed_node node1 "$T/node1.log" --shard "0/3 iid limit=3000"
fed_node node2 "$T/node2.log" --shard "1/3 iid limit=3000"
TRUST=$T/state/other/signer.pub \
	fed_node node3 "$T/node3.log" --shard "2/3 iid limit=3000"
wait_log "$T/agg.log" "federation complete" 90 ||
	fail "2 rounds did not complete"
for i in 1 2; do
	wait_log "$T/node$i.log" "model 'fmnist' version 3 .*signed by a trusted key" 10 ||
		fail "node$i did not install signed version 3"
done
[ -s "$T/state/hist-1-node1/fmnist.history" ] || fail "node1 keeps no history"

# The node that does not trust our key: refused each version, kept none.
wait_log "$T/node3.log" "MODEL version 3 refused: unknown-signer" 10 ||
	fail "node3 did not refuse version 3 as unknown-signer"
grep -q "model 'fmnist' version" "$T/node3.log" &&
	fail "node3 installed a model signed by a key it does not trust"
grep -q "node 'node3' reports error .*refused: unknown-signer" "$T/agg.log" ||
	fail "aggregator was not told of node3's refusal"
grep -Eq "round [0-9]+ done.*version 3" "$T/agg.log" ||
	fail "no round produced version 3"

# The liar: HELLO said 100 samples, the UPDATE a million.
wait "$liar"
grep -q "update claims more samples than declared" "$T/liar.out" ||
	fail "inflated UPDATE not refused: $(cat "$T/liar.out")"
grep -q "node 'liar': UPDATE for round [0-9]* refused: 1000000 samples, HELLO declared 100" \
	"$T/agg.log" || fail "refusal of the inflated UPDATE not logged"

# Its id stays with node1's certificate, though it is gone.
r=$(fl node2 liar 100 hello)
[ "$r" = "error 3 node id bound to another certificate" ] ||
	fail "node id taken over by another certificate: $r"
grep -q "node id 'liar' belongs to certificate 'node1', not 'node2': refused" \
	"$T/agg.log" || fail "take-over refusal not logged"
r=$(fl node1 liar 100 hello)
[ "$r" = welcome ] || fail "the id's own certificate refused: $r"

# A manifest forged while the aggregator is down: the last byte of the
# signature of version 3, as it restarts and serves it again.
stop_nodes
stop_agg "$T/agg.log"
for i in 1 2 3; do
	sanitizer_clean "$T/node$i.log"
done
f=$REG/v00000003.signed
[ -s "$f" ] || fail "no signed manifest next to version 3"
n=$(stat -c %s "$f")
b=$(od -An -tu1 -j $((n - 1)) -N1 "$f" | tr -d ' ')
printf "$(printf '\\%03o' $(((b ^ 1) & 255)))" |
	dd of="$f" bs=1 seek=$((n - 1)) conv=notrunc status=none
restart_fed_agg "$T/agg2.log" --set rounds.count=2 --set network.max_nodes=2
fed_node node5 "$T/node5.log" --shard "0/3 iid limit=3000"
wait_log "$T/node5.log" "MODEL version 3 refused: bad-signature" 30 ||
	fail "forged manifest not refused"
grep -q "model 'fmnist' version" "$T/node5.log" &&
	fail "node5 installed a model with a forged manifest"

# network.max_nodes 2: node5 (connected) and a departed 'gone1'; 'new1'
# takes the departed one's place, never node5's.
r=$(fl node1 gone1 100 hello)
[ "$r" = welcome ] || fail "gone1 not welcomed: $r"
wait_log "$T/agg2.log" "node 'gone1' left" 10 || fail "gone1 did not leave"
r=$(fl node1 new1 100 hello)
[ "$r" = welcome ] || fail "new1 not welcomed: $r"
grep -q "node 'gone1' (gone since [0-9]*) forgotten for 'new1' (network.max_nodes 2)" \
	"$T/agg2.log" || fail "the departed node was not evicted for a new one"
stop_nodes
stop_agg "$T/agg2.log"
sanitizer_clean "$T/node5.log"
pass "signed versions installed by trusting nodes; unknown-signer and bad-signature (forged in the registry) refused and reported; inflated n_samples refused; node id bound to its certificate; node table capped"
