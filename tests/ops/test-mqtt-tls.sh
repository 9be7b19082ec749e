#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# MQTT over TLS with the fleet's certificates (tests/fed/mkcerts.sh): the
# broker presents the aggregator's certificate (SAN 127.0.0.1) and
# requires a client certificate from the fleet CA.  A node with its fleet
# certificate delivers; a node whose certificate another CA signed is
# refused by the broker, and a node that trusts another CA refuses the
# broker; both keep their alerts queued.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip "no openssl"

"$ROOT/tests/fed/mkcerts.sh" "$T/pki" node1 node2 > /dev/null || fail "mkcerts.sh"
P=$T/pki
start_broker "cafile $P/ca.crt" "certfile $P/aggregator.crt" \
	"keyfile $P/aggregator.key" "require_certificate true" \
	"tls_version tlsv1.3"
TLS_SUB=(--cafile "$P/ca.crt" --cert "$P/node2.crt" --key "$P/node2.key")
N=10
sub s1 $N "$T/alerts" -t 'mcai/+/+/alert' "${TLS_SUB[@]}"
start_drive "$T/drive.log" --host 127.0.0.1 --port "$PORT" --node node1 \
	--ca "$P/ca.crt" --cert "$P/node1.crt" --key "$P/node1.key"
cmd burst $N m1 escalation
wait "$SUB" || fail "subscriber got $(wc -l < "$T/alerts") of $N over TLS"
wait_stat acked $N 10 || fail "not acknowledged"
grep -q 'connected to 127.0.0.1:[0-9]* (TLS)' "$T/drive.log" || fail "not TLS?"
grep -c '^mcai/node1/m1/alert ' "$T/alerts" | grep -qx $N || fail "topics"
stop_drive

# a certificate from another CA: the broker refuses it
start_drive "$T/drive-rogue.log" --host 127.0.0.1 --port "$PORT" --node rogue \
	--ca "$P/ca.crt" --cert "$P/rogue.crt" --key "$P/rogue.key"
cmd burst 3 m1 detection
refused() { grep -q "OpenSSL Error" "$T/broker.log"; }
wait_for 10 "the broker to refuse the rogue certificate" refused ||
	fail "broker accepted a rogue certificate?"
wait_stat pending 3 5 || fail "rogue: alerts not kept"
[ "$(last_stat connects)" = 0 ] || fail "rogue connected"
stop_drive

# the node trusts another CA: it refuses the broker
start_drive "$T/drive-ca.log" --host 127.0.0.1 --port "$PORT" --node node1 \
	--ca "$P/rogue-ca.crt" --cert "$P/node1.crt" --key "$P/node1.key"
cmd burst 3 m1 detection
tls_err() { grep -q "mqtt: 127.0.0.1:$PORT: .*TLS" "$T/drive-ca.log"; }
wait_for 10 "the node to refuse the broker's certificate" tls_err ||
	fail "node accepted a broker of another CA?"
wait_stat pending 3 5 || fail "wrong CA: alerts not kept"
[ "$(last_stat connects)" = 0 ] || fail "wrong CA: connected"
stop_drive
for f in "$T"/drive*.log; do
	grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$f" && fail "sanitizer in $f"
done
pass "TLS 1.3 with fleet certificates: $N delivered; rogue client refused; wrong CA refused; alerts kept"
