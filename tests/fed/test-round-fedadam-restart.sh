#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# FedAdam's server moments survive a crash: the aggregator is killed
# (SIGKILL) after round 2 of 4; restarted on the same registry it loads
# the moments saved with the latest version (2 Adam steps) and ends with
# moments tagged with the last version after 4 steps.  Without the file
# it says Adam starts from zero instead of pretending.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

# "fedadam" file: version tag (bytes 12..15) and steps (24..31).
adam_tag() {
	python3 -c 'import struct,sys
b = open(sys.argv[1], "rb").read(32)
assert b[:8] == b"MCAIADAM", b[:8]
print(struct.unpack_from("<I", b, 12)[0], struct.unpack_from("<Q", b, 24)[0])' "$1"
}

start_fed_agg "$T/agg.log" --set rounds.count=4 --set strategy.name=fedadam
for i in 1 2 3; do
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/3 limit=2000"
done
wait_log "$T/agg.log" "round 2 done" 60 || fail "round 2 did not complete"
kill -KILL "$AGG"
wait "$AGG" 2>/dev/null
sanitizer_clean "$T/agg.log"
ver=$(sed -n 's/^version //p' "$REG/state")
read -r tag steps < <(adam_tag "$REG/fedadam") || fail "no fedadam moments in the registry"
[ "$tag" = "$ver" ] || fail "moments tagged $tag, registry at version $ver"
[ "$steps" = 2 ] || fail "moments after $steps Adam steps, expected 2"

restart_fed_agg "$T/agg2.log" --set rounds.count=4 --set strategy.name=fedadam
wait_log "$T/agg2.log" "federation complete" 60 || fail "restart did not complete"
grep -q "fedadam: moments of version $ver from the registry (2 steps)" "$T/agg2.log" ||
	fail "restart did not load the moments of version $ver"
stop_nodes
stop_agg "$T/agg2.log"
read -r tag steps < <(adam_tag "$REG/fedadam")
[ "$tag" = 5 ] && [ "$steps" = 4 ] ||
	fail "after 4 rounds: moments tagged $tag after $steps steps, expected 5 after 4"
[ -e "$REG/fedadam.next" ] && fail "fedadam.next left behind after a clean publish"

rm -f "$REG/fedadam"
restart_fed_agg "$T/agg3.log" --set rounds.count=4 --set strategy.name=fedadam
wait_log "$T/agg3.log" "fedadam: no moments saved for version 5" 30 ||
	fail "a missing moments file was not reported"
stop_agg "$T/agg3.log"
for i in 1 2 3; do
	sanitizer_clean "$T/node$i.log"
done
pass "killed after round 2: restart loaded version $ver's moments (2 steps), ended tagged 5 after 4 steps; a missing file is reported, Adam restarts from zero"
