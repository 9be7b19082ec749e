#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An aggregator's --set overrides pass the same cross-key checks as its
# configuration file: a combination the file would be refused for is
# refused on the command line too, with the file's message, before any
# socket is bound; and a valid server step schedule starts and is logged.
. "$(dirname "$0")/lib.sh"

# refused WANT LOG [options]: mcaid exits 2 (a configuration error) and
# LOG carries WANT.
refused() {
	local want=$1 log=$2 rc
	shift 2
	"$MCAID" --role aggregator --listen 127.0.0.1:1 \
		--cert "$P/aggregator.crt" --key "$P/aggregator.key" \
		--ca "$P/ca.crt" --registry "$T/reg" "$@" > "$log" 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "$* exited $rc, want 2: $(cat "$log")"
	grep -qF "$want" "$log" || fail "$*: no '$want' in: $(cat "$log")"
}

refused "strategy fedadam takes no server step" "$T/a.log" \
	--set strategy.name=fedadam --set strategy.server_step=2
refused "strategy.server_step_final needs rounds.count" "$T/b.log" \
	--set strategy.server_step_final=1
refused "privacy.dp central needs strategy fedavg, fedprox, fedadam, fedavgm, fedadagrad or fedyogi" \
	"$T/c.log" --set strategy.name=median --set privacy.dp=central
refused "needs rounds.min_clients >= 5" "$T/d.log" --set strategy.name=krum

# A file that passes its own checks, broken by an override.
cat > "$T/agg.conf" <<EOF
role = aggregator
model = fmnist
tls.cert = $P/aggregator.crt
tls.key = $P/aggregator.key
tls.ca = $P/ca.crt
[strategy]
name = fedadam
EOF
refused "strategy fedadam takes no server step" "$T/e.log" \
	--config "$T/agg.conf" --set strategy.server_step=1.5

# the registry's parent writable by the user mcaid drops to
mkdir -m 1777 "$T/state"
start_agg "$T/agg.log" --registry "$T/state/reg" --set rounds.count=3 \
	--set strategy.server_step=2 --set strategy.server_step_final=1
# Logged when the aggregator is set up, after the privilege drop and
# before "ready", which start_agg waited for.
grep -q "server step 2 falling to 1 over the rounds" "$T/agg.log" ||
	fail "the schedule is not logged: $(cat "$T/agg.log")"
kill -TERM "$AGG"
wait "$AGG" || fail "aggregator exited $? after SIGTERM"
pass "conflicting --set overrides refused with the file's messages (5 cases), a server step schedule starts"
