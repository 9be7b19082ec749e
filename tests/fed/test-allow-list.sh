#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A fleet allow-list: certificates the CA signed but the list does not
# name are refused after the handshake with the reason logged, listed
# ones are served; a malformed list stops the aggregator at start with
# the line that is wrong.
. "$(dirname "$0")/lib.sh"

cat > "$T/allow" <<'LIST'
# fleet "default": its members, by certificate CN
node1   # the only member
LIST
start_agg "$T/agg.log" --allow-list "$T/allow"
grep -q "allow-list $T/allow" "$T/agg.log" || fail "allow-list not announced"
node node2 "$T/node2.log" --ping 1 && fail "node2 (not listed) got through"
wait_log "$T/agg.log" "certificate 'node2' is not on the fleet allow-list" 5 ||
	fail "no reason logged for node2"
node node1 "$T/node1.log" --ping 3 || fail "node1 (listed) was not served"
sanitizer_clean "$T/node1.log"
sanitizer_clean "$T/node2.log"
stop_agg "$T/agg.log"
ra=$(stat_of "$T/agg.log" refused_allow)
[ "$ra" -eq 1 ] || fail "refused_allow=$ra, expected 1"

printf 'node1\nnot a cn\n' > "$T/bad"
"$MCAID" --role aggregator --listen "127.0.0.1:$(free_port)" \
	--cert "$P/aggregator.crt" --key "$P/aggregator.key" --ca "$P/ca.crt" \
	--allow-list "$T/bad" > "$T/bad.log" 2>&1 &&
	fail "aggregator started with a malformed allow-list"
grep -q "allow-list: $T/bad:2: not a certificate CN" "$T/bad.log" ||
	fail "no line-numbered reason for the malformed allow-list"
"$MCAID" --role aggregator --listen "127.0.0.1:$(free_port)" \
	--cert "$P/aggregator.crt" --key "$P/aggregator.key" --ca "$P/ca.crt" \
	--allow-list "$T/missing" > "$T/missing.log" 2>&1 &&
	fail "aggregator started without its allow-list file"
grep -q "allow-list: $T/missing: No such file" "$T/missing.log" ||
	fail "no reason for the missing allow-list"
sanitizer_clean "$T/bad.log"
pass "unlisted node refused after the handshake with the reason logged, listed node served; malformed and missing lists stop the aggregator"
