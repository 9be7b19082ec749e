#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unknown and revoked peers are refused with a logged reason, both ways:
# a node with a certificate from another CA, a node whose certificate is
# in the CRL, and a node that does not trust the aggregator's CA.
. "$(dirname "$0")/lib.sh"

start_agg "$T/agg.log"
r=$(client cert rogue)
[ "${r%% *}" = refused ] || fail "rogue certificate: $r"
wait_log "$T/agg.log" "refused: .*(unable to get local issuer|unable to verify).*CN=rogue-node" 5 ||
	fail "no reason logged for the rogue certificate"
r=$(client cert revoked)
[ "${r%% *}" = refused ] || fail "revoked certificate: $r"
wait_log "$T/agg.log" "refused: certificate revoked \(CN=revoked-node" 5 ||
	fail "no reason logged for the revoked certificate"

# mcaid as the node: the same two, then a node trusting another CA.
node rogue "$T/rogue.log" --ping 1 && fail "rogue mcaid node got through"
node revoked "$T/revoked.log" --ping 1 && fail "revoked mcaid node got through"
"$MCAID" --role node --connect "127.0.0.1:$PORT" --cert "$P/node1.crt" \
	--key "$P/node1.key" --ca "$P/rogue-ca.crt" --ping 1 \
	> "$T/distrust.log" 2>&1 && fail "node accepted an aggregator it cannot verify"
grep -q "closing: TLS handshake failed: peer certificate refused: " "$T/distrust.log" ||
	fail "node did not log why it refused the aggregator"
for f in rogue revoked distrust; do sanitizer_clean "$T/$f.log"; done
node node1 "$T/good.log" --ping 3 || fail "a good node failed after the refusals"
stop_agg "$T/agg.log"
hf=$(stat_of "$T/agg.log" handshake_failed)
pass "rogue-CA and revoked certificates refused ($hf handshakes failed, reasons logged); node refuses an unverifiable aggregator; good node still served"
