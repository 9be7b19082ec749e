#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The publisher inside mcaid (node role, after its privilege drop, in
# its restricted io_uring loop): over TLS with the fleet's certificates
# (mqtt.tls = on: tls.ca/cert/key), the node's retained status goes
# "online" once it runs, "offline" after SIGTERM (a clean goodbye), and
# "offline" by the last will when it is killed.
. "$(dirname "$0")/lib.sh"
MCAID=${MCAID:-$ROOT/build/mcaid-san}
[ -x "$MCAID" ] || skip "$MCAID not built"
command -v openssl >/dev/null || skip "no openssl"

"$ROOT/tests/fed/mkcerts.sh" "$T/pki" > /dev/null || fail "mkcerts.sh"
P=$T/pki
chmod 755 "$T" "$P"
mkdir -p "$T/samples" "$T/hist"
# the key must be readable by the user mcaid drops to
if [ "$(id -u)" = 0 ] && id mcai > /dev/null 2>&1; then
	chown mcai "$T/samples" "$T/hist" "$P/node1.key"
fi
start_broker "cafile $P/ca.crt" "certfile $P/aggregator.crt" \
	"keyfile $P/aggregator.key" "require_certificate true"
cat > "$T/node.conf" <<EOC
role = node
node_id = gw-m
model = fmnist
log_level = debug
network.upstream = 127.0.0.1:$(free_port)
tls.cert = pki/node1.crt
tls.key = pki/node1.key
tls.ca = pki/ca.crt
data.samples = samples
provenance.history = hist
provenance.allow_unsigned = yes
mqtt.broker = 127.0.0.1:$PORT
mqtt.tls = on
EOC
TLS_SUB=(--cafile "$P/ca.crt" --cert "$P/node2.crt" --key "$P/node2.key")
status() {	# status WANT: the retained status of gw-m is WANT
	mosquitto_sub -h 127.0.0.1 -p "$PORT" "${TLS_SUB[@]}" -t mcai/gw-m/status \
		-C 1 -W 5 2>/dev/null | grep -q "\"state\":\"$1\""
}
"$MCAID" --config "$T/node.conf" > "$T/mcaid.log" 2>&1 &
M=$!
PIDS+=("$M")
wait_for 20 "mcaid's status online" status online || fail "never online"
grep -q "privileges: uid=" "$T/mcaid.log" || fail "no privilege drop logged"
grep -q "mqtt: connected to 127.0.0.1:$PORT (TLS)" "$T/mcaid.log" || fail "not over TLS"
kill -TERM "$M"
wait "$M" || fail "mcaid exited $? after SIGTERM"
grep -Eq "Sanitizer|runtime error:" "$T/mcaid.log" && fail "sanitizer"
status offline || fail "status after SIGTERM is not offline"

"$MCAID" --config "$T/node.conf" > "$T/mcaid2.log" 2>&1 &
M=$!
PIDS+=("$M")
wait_for 20 "mcaid's status online again" status online || fail "not online again"
sub s-will 1 "$T/will" "${TLS_SUB[@]}" -t mcai/gw-m/status -R
kill -KILL "$M"
wait "$SUB" || fail "no last will"
grep -q '"state":"offline"' "$T/will" || fail "last will: $(cat "$T/will")"
pass "mcaid node over TLS after its privilege drop: online, offline on SIGTERM, last will on SIGKILL"
