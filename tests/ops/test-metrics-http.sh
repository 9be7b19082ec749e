#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcaid's HTTP /metrics (metrics.listen, after its privilege drop, on its
# restricted io_uring loop): GET /metrics answers 200 with the Prometheus
# text that promtool accepts and that is byte for byte what `mcaictl
# metrics` prints on the same host; HEAD works; other paths are 404,
# other methods 405; eight scrapes at once are all answered; a
# non-loopback address is refused at start; no sanitizer report.
. "$(dirname "$0")/lib.sh"
MCAID=${MCAID:-$ROOT/build/mcaid-san}
CTL=$ROOT/build/mcaictl
[ -x "$MCAID" ] || skip "$MCAID not built"
[ -x "$CTL" ] || skip "$CTL not built"
command -v curl > /dev/null || skip "no curl"
command -v promtool > /dev/null || skip "no promtool (Debian prometheus)"
command -v openssl > /dev/null || skip "no openssl"

"$ROOT/tests/fed/mkcerts.sh" "$T/pki" > /dev/null || fail "mkcerts.sh"
chmod 755 "$T" "$T/pki"
mkdir -p "$T/samples" "$T/hist"
if [ "$(id -u)" = 0 ] && id mcai > /dev/null 2>&1; then
	chown mcai "$T/samples" "$T/hist"
fi
HP=$(free_port)
conf() {	# conf LISTEN
	cat <<EOC
role = node
node_id = gw-h
model = fmnist
network.upstream = 127.0.0.1:$(free_port)
tls.cert = pki/node1.crt
tls.key = pki/node1.key
tls.ca = pki/ca.crt
data.samples = samples
provenance.history = hist
provenance.allow_unsigned = yes
metrics.listen = $1
EOC
}
conf 0.0.0.0:$HP > "$T/bad.conf"
"$MCAID" --config "$T/bad.conf" > "$T/bad.log" 2>&1 && fail "0.0.0.0 accepted"
grep -q "metrics.listen must be a numeric loopback address" "$T/bad.log" ||
	fail "refusal: $(cat "$T/bad.log")"

conf 127.0.0.1:$HP > "$T/node.conf"
"$MCAID" --config "$T/node.conf" > "$T/mcaid.log" 2>&1 &
M=$!
PIDS+=("$M")
up() { grep -q "metrics: http://127.0.0.1:$HP/metrics" "$T/mcaid.log"; }
wait_for 20 "mcaid's metrics endpoint" up || fail "no endpoint: $(tail -n 3 "$T/mcaid.log")"
URL=http://127.0.0.1:$HP/metrics
code=$(curl -s -o "$T/m.prom" -D "$T/h" -w '%{http_code}' "$URL") || fail "curl"
[ "$code" = 200 ] || fail "GET /metrics: $code"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/h" || fail "content type: $(cat "$T/h")"
promtool check metrics < "$T/m.prom" > "$T/lint" 2>&1 || fail "promtool: $(cat "$T/lint")"
grep -q '^mcai_module_up [01]$' "$T/m.prom" || fail "no mcai_module_up: $(head -n 5 "$T/m.prom")"
"$CTL" metrics > "$T/ctl.prom" || fail "mcaictl metrics"
cmp -s "$T/m.prom" "$T/ctl.prom" || fail "differs from mcaictl metrics: $(diff "$T/m.prom" "$T/ctl.prom" | head -n 5)"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$URL")" = 200 ] || fail "HEAD"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/")" = 404 ] || fail "GET / not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d a=b "$URL")" = 405 ] || fail "POST not 405"
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o "$T/p$i" -w '%{http_code}\n' "$URL" > "$T/c$i" &
	CP[$i]=$!
done
for i in 1 2 3 4 5 6 7 8; do
	wait "${CP[$i]}" || fail "parallel scrape $i"
	[ "$(cat "$T/c$i")" = 200 ] && cmp -s "$T/p$i" "$T/m.prom" || fail "parallel scrape $i: $(cat "$T/c$i")"
done
kill -TERM "$M"
wait "$M" || fail "mcaid exited $? after SIGTERM"
grep -q "privileges: uid=" "$T/mcaid.log" || fail "no privilege drop logged"
grep -Eq "Sanitizer|runtime error:" "$T/mcaid.log" && fail "sanitizer: $(grep -E -m3 'Sanitizer|runtime error:' "$T/mcaid.log")"
n=$(sed -n 's/.*metrics: \([0-9]*\) requests answered.*/\1/p' "$T/mcaid.log")
[ "${n:-0}" -ge 12 ] || fail "mcaid counted ${n:-no} requests, 12 were made"
pass "GET /metrics on 127.0.0.1 after the privilege drop: promtool-clean, same text as mcaictl metrics, 404/405, 8 parallel scrapes; $n requests"
