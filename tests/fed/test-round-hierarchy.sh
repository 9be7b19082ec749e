#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two-level federation: a site aggregator is a node of the top one.  The
# top samples the site and a direct node; the site runs each round on its
# own two nodes and sends their combined update up, weighted by their
# samples; the versions the top publishes are relayed down unchanged, so
# the site's nodes end on the top's last version.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

start_fed_agg "$T/top.log" --set rounds.count=2 --start-nodes 2
TOP=$PORT
SITE=$(free_port)
"$MCAID" --role aggregator --listen "127.0.0.1:$SITE" \
	--connect "127.0.0.1:$TOP" --node-id site1 \
	--cert "$P/aggregator.crt" --key "$P/aggregator.key" \
	--ca "$P/ca.crt" --crl "$P/crl.pem" --registry "$T/state/site" \
	--set rounds.min_clients=2 > "$T/site.log" 2>&1 &
site=$!
PIDS+=("$site")
wait_log "$T/site.log" "ready: aggregator" 10 || fail "site did not start"
PORT=$SITE
fed_node leaf1 "$T/leaf1.log" --shard "0/3 limit=3000"
fed_node leaf2 "$T/leaf2.log" --shard "1/3 limit=3000"
# The top's first round must find the site with its nodes.
wait_log "$T/site.log" "joined: .*\(2 connected\)" 30 || fail "leaves did not join the site"
PORT=$TOP
fed_node direct3 "$T/direct3.log" --shard "2/3 limit=3000"
wait_log "$T/top.log" "federation complete" 60 || fail "2 rounds did not complete"
grep -q "round 1 done (all answered): 2 of 2 answered (0 dropped, 0 clipped, weight 3000)" \
	"$T/top.log" || fail "top round 1 did not combine site (2000) and direct node (1000)"
n=$(grep -c "combined update (weight 2000) sent upstream" "$T/site.log")
[ "$n" -eq 2 ] || fail "site forwarded $n combined updates, expected 2"
for l in leaf1 leaf2 direct3; do
	wait_log "$T/$l.log" "model 'fmnist' version 3 " 10 ||
		fail "$l did not end on version 3"
done
stop_nodes
kill -TERM "$site"
wait "$site" || fail "site exited $? after SIGTERM"
sanitizer_clean "$T/site.log"
stop_agg "$T/top.log"
for l in leaf1 leaf2 direct3; do
	sanitizer_clean "$T/$l.log"
done
pass "top <- {site <- {leaf1, leaf2}, direct3}: 2 rounds, site updates weighted 2000 of 3000, leaves on version 3, int8 accuracy $(last_acc "$T/top.log")"
