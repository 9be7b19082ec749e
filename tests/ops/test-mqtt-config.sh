#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcaid's MQTT keys, malformed: each bad value is refused at start with
# "file:line: reason" and exit 2, before anything runs; an MQTT key in an
# aggregator's file is refused as not used by that role; a client key the
# unprivileged daemon could not read at each connection is refused at
# start (exit 1) instead of failing every reconnect later.
. "$(dirname "$0")/lib.sh"
MCAID=${MCAID:-$ROOT/build/mcaid-san}
[ -x "$MCAID" ] || skip "$MCAID not built"

base() {
	cat <<EOC
role = node
node_id = gw-c
model = fmnist
network.upstream = 127.0.0.1:1
tls.cert = pki/node1.crt
tls.key = pki/node1.key
tls.ca = pki/ca.crt
EOC
}
# refused LINE_VALUE REASON_REGEX: base + "mqtt.broker" + LINE_VALUE
n=0
refused() {
	n=$((n + 1))
	{ base; printf '%s\n' "$@"; } > "$T/bad$n.conf"
	"$MCAID" --config "$T/bad$n.conf" > "$T/bad$n.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "bad$n ($*): exit $rc, want 2: $(cat "$T/bad$n.out")"
	grep -Eq "bad$n.conf:[0-9]+: " "$T/bad$n.out" ||
		fail "bad$n ($*): no file:line: $(cat "$T/bad$n.out")"
}
refused "mqtt.broker = 127.0.0.1:1883" "mqtt.queue = 0"
refused "mqtt.broker = 127.0.0.1:1883" "mqtt.queue = 1000001"
refused "mqtt.broker = 127.0.0.1:1883" "mqtt.queue = -5"
refused "mqtt.broker = 127.0.0.1:1883" "mqtt.queue_policy = drop-random"
refused "mqtt.broker = 127.0.0.1:1883" "mqtt.keepalive_s = 2"
refused "mqtt.broker = 127.0.0.1"
refused "mqtt.broker = 127.0.0.1:99999"
refused "mqtt.broker = 127.0.0.1:1883" "mqtt.cert = pki/node1.crt"
refused "mqtt.tls = on"
refused "mqtt.tls = maybe"
refused "mqtt.broker = 127.0.0.1:1883" "mqtt.broker = 127.0.0.1:1884"
refused "mqtt.brokr = 127.0.0.1:1883"
# an aggregator does not publish
printf 'role = aggregator\nmodel = fmnist\ntls.cert = a\ntls.key = b\ntls.ca = c\nmqtt.broker = 127.0.0.1:1883\n' > "$T/agg.conf"
"$MCAID" --config "$T/agg.conf" > "$T/agg.out" 2>&1
[ $? -eq 2 ] && grep -q "not used by role aggregator" "$T/agg.out" ||
	fail "aggregator with mqtt.broker: $(cat "$T/agg.out")"

# a key the daemon cannot read after its privilege drop
if [ "$(id -u)" = 0 ] && id mcai > /dev/null 2>&1; then
	"$ROOT/tests/fed/mkcerts.sh" "$T/pki" > /dev/null || fail "mkcerts.sh"
	chmod 755 "$T" "$T/pki"
	mkdir -p "$T/samples" "$T/hist" && chown mcai "$T/samples" "$T/hist"
	{ base; echo "data.samples = samples"; echo "provenance.history = hist"
	  echo "provenance.allow_unsigned = yes"
	  echo "mqtt.broker = 127.0.0.1:1883"; echo "mqtt.tls = on"; } > "$T/key.conf"
	chmod 600 "$T/pki/node1.key"
	"$MCAID" --config "$T/key.conf" > "$T/key.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "mqtt: .*node1.key: Permission denied" "$T/key.out" ||
		fail "unreadable key: exit $rc: $(tail -n 3 "$T/key.out")"
	extra=", an unreadable key"
fi
pass "$n malformed MQTT settings refused with file:line, aggregator refused${extra:-}"
