#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The running daemon's privileges, read from /proc/<pid>/status: started
# as root, it must run as the mcai user with no capabilities, an empty
# bounding set, no supplementary groups and NoNewPrivs.  Started
# unprivileged it runs as is; asked to "drop" to root it refuses to run.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root to test the drop"
if ! id mcai >/dev/null 2>&1; then
	command -v useradd >/dev/null || skip "no useradd to create user mcai"
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin mcai || fail "cannot create user mcai"
fi
uid=$(id -u mcai)

start_agg "$T/agg.log" --user mcai
st=/proc/$AGG/status
wait_log "$T/agg.log" "io_uring: restricted" 10 || fail "no start-up"
field() { awk -v k="$1:" '$1 == k { print $2 }' "$st"; }
read -r ruid euid suid fsuid < <(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "$st")
for u in "$ruid" "$euid" "$suid" "$fsuid"; do
	[ "$u" = "$uid" ] || fail "Uid line: $ruid $euid $suid $fsuid, want $uid"
done
for k in CapEff CapPrm CapBnd CapAmb CapInh; do
	[ "$(field $k)" = 0000000000000000 ] || fail "$k=$(field $k)"
done
[ "$(field NoNewPrivs)" = 1 ] || fail "NoNewPrivs=$(field NoNewPrivs)"
[ -z "$(awk '$1 == "Groups:" { print $2 }' "$st")" ] ||
	fail "supplementary groups left: $(grep Groups: "$st")"
node node1 "$T/node.log" --user mcai --ping 2 || fail "echo after the drop failed"
stop_agg "$T/agg.log"

# Unprivileged from the start: no drop, said so, and it works.
if command -v setpriv >/dev/null; then
	chmod 644 "$P"/*.key
	PORT=$(free_port)
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$MCAID" --role aggregator --listen "127.0.0.1:$PORT" \
		--cert "$P/aggregator.crt" --key "$P/aggregator.key" \
		--ca "$P/ca.crt" > "$T/unpriv.log" 2>&1 &
	AGG=$!
	PIDS+=("$AGG")
	wait_log "$T/unpriv.log" "io_uring: restricted" 10 ||
		fail "unprivileged start failed"
	grep -q "started unprivileged .*no drop needed" "$T/unpriv.log" ||
		fail "unprivileged start not logged as such"
	node node2 "$T/node2.log" --ping 2 || fail "echo with an unprivileged aggregator failed"
	stop_agg "$T/unpriv.log"
fi

# A drop that cannot happen means no daemon.
"$MCAID" --role aggregator --listen "127.0.0.1:$(free_port)" \
	--cert "$P/aggregator.crt" --key "$P/aggregator.key" --ca "$P/ca.crt" \
	--user root > "$T/root.log" 2>&1 && fail "ran with --user root"
grep -q "refusing to run" "$T/root.log" || fail "no refusal logged for --user root"
"$MCAID" --role aggregator --listen "127.0.0.1:$(free_port)" \
	--cert "$P/aggregator.crt" --key "$P/aggregator.key" --ca "$P/ca.crt" \
	--user no-such-user-mcai > "$T/nouser.log" 2>&1 && fail "ran with a missing user"
pass "root -> mcai (uid $uid): CapEff=CapPrm=CapBnd=CapAmb=0, no groups, NoNewPrivs=1; unprivileged start works; --user root and a missing user refused"
