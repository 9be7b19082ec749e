#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Chaining to the fleet CA does not make a peer the aggregator: every node
# holds such a certificate.  A connecting node refuses, with the reason
# logged, an "aggregator" that serves
#   - a node certificate (clientAuth only: wrong purpose for a server), and
#   - a certificate of the same CA fit for serving but issued to another
#     name than the one the node dials (127.0.0.1),
# and still accepts the real aggregator, whose SAN holds 127.0.0.1.
. "$(dirname "$0")/lib.sh"

# A fleet member with serverAuth whose name is not the aggregator's.
cat > "$T/impostor.cnf" <<'CNF'
[ v3_impostor ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:node9.example
CNF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$P/impostor.key" 2>/dev/null
openssl req -new -key "$P/impostor.key" -subj "/O=mcai test/CN=node9" \
	-out "$T/impostor.csr" 2>/dev/null || fail "impostor CSR"
openssl x509 -req -in "$T/impostor.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" \
	-CAcreateserial -days 30 -sha256 -extfile "$T/impostor.cnf" \
	-extensions v3_impostor -out "$P/impostor.crt" 2>/dev/null ||
	fail "impostor certificate"
openssl verify -CAfile "$P/ca.crt" "$P/impostor.crt" >/dev/null ||
	fail "impostor certificate does not chain to the fleet CA"

# 1: a node's own certificate, served as the aggregator's.
start_agg "$T/agg-node.log" --cert "$P/node2.crt" --key "$P/node2.key"
node node1 "$T/n-node.log" --ping 1 &&
	fail "node accepted an aggregator serving a node certificate"
grep -q "closing: TLS handshake failed: peer certificate refused: unsuitable certificate purpose (CN=node2, depth 0)" \
	"$T/n-node.log" || fail "no reason logged for the node certificate"
stop_agg "$T/agg-node.log"

# 2: a serving certificate of the fleet, issued to another name.
start_agg "$T/agg-imp.log" --cert "$P/impostor.crt" --key "$P/impostor.key"
node node1 "$T/n-imp.log" --ping 1 &&
	fail "node accepted an aggregator certificate issued to another name"
grep -q "closing: TLS handshake failed: peer certificate refused: not issued to '127.0.0.1' (CN=node9, depth 0)" \
	"$T/n-imp.log" || fail "no reason logged for the misnamed certificate"
stop_agg "$T/agg-imp.log"

# 3: the real one.
start_agg "$T/agg.log"
node node1 "$T/n-good.log" --ping 3 || fail "node refused the real aggregator"
stop_agg "$T/agg.log"
for f in n-node n-imp n-good; do sanitizer_clean "$T/$f.log"; done
pass "node refuses a node certificate and a misnamed fleet certificate posing as the aggregator (reasons logged); the real aggregator (SAN IP:127.0.0.1) is accepted"
