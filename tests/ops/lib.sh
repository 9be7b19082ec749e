# SPDX-License-Identifier: GPL-2.0
#
# Shared by tests/ops/test-*.sh (sourced, not run): a scratch directory,
# a real mosquitto broker on a free loopback port, mcai-mqtt-drive (the
# publisher of mcaid in mcaid's loop, commanded on a pipe) and waits that
# poll for states, never sleep-then-assert.  Each test ends with
# pass/fail/skip, which print the one verdict line.

OPS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../verdict.sh
. "$OPS_DIR/../verdict.sh"
DRIVE=${DRIVE:-$ROOT/build/mcai-mqtt-drive}

[ -x "$DRIVE" ] || skip "$DRIVE not built"
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] ||
	skip "no mosquitto (Debian mosquitto)"
command -v mosquitto_sub >/dev/null || skip "no mosquitto_sub (mosquitto-clients)"
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
T=$(mktemp -d /tmp/mcai-ops.XXXXXX)
trap cleanup EXIT

. "$ROOT/tests/fed/port.sh"

# wait_for SECONDS WHAT CMD...: CMD every 0.1 s until it succeeds; the
# limit (3 x SECONDS, at least 60 s) only bounds a test that would hang.
wait_for() {
	local secs=$1 what=$2 limit end
	shift 2
	limit=$((secs * 3 > 60 ? secs * 3 : 60))
	end=$((SECONDS + limit))
	until "$@"; do
		((SECONDS < end)) || {
			echo "timed out after $limit s waiting for $what" >&2
			return 1
		}
		sleep 0.1
	done
}

# start_broker [CONF_LINES...]: BROKER (pid) once it listens on PORT
# (PORT is chosen on the first call and kept across restarts).
listening() { ss -Htln "sport = :$PORT" | grep -q .; }
start_broker() {
	local l
	[ -n "${PORT:-}" ] || PORT=$(free_port)
	{
		echo "listener $PORT 127.0.0.1"
		echo "allow_anonymous true"
		# started as root it would switch to user mosquitto, who cannot
		# write in the scratch directory
		echo "user $(id -un)"
		echo "log_dest file $T/broker.log"
		echo "log_type all"
		for l in "$@"; do echo "$l"; done
	} > "$T/broker.conf"
	"$MOSQUITTO" -c "$T/broker.conf" >> "$T/broker.out" 2>&1 &
	BROKER=$!
	PIDS+=("$BROKER")
	wait_for 5 "mosquitto to listen on $PORT" listening ||
		fail "broker did not start"
}
stop_broker() {
	kill -TERM "$BROKER"
	wait "$BROKER" 2>/dev/null
	wait_for 5 "port $PORT to be free" bash -c "! ss -Htln 'sport = :$PORT' | grep -q ."
}

# start_drive LOG [options]: the publisher with its stdin on fd DIN and its
# stdout (stats lines) in $T/drive.out.
start_drive() {
	local log=$1
	shift
	exec {DIN}> >(exec "$DRIVE" "$@" > "$T/drive.out" 2> "$log")
	DRIVE_PID=$!
	PIDS+=("$DRIVE_PID")
}
cmd() { echo "$*" >&"$DIN"; }
# stat KEY: KEY's value in the last stats line
last_stat() {
	tail -n 1 "$T/drive.out" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p"
}
# stats_say KEY VALUE: asks for stats until KEY=VALUE
stat_is() {
	cmd stats
	[ "$(last_stat "$1")" = "$2" ]
}
wait_stat() {	# wait_stat KEY VALUE SECONDS
	wait_for "$3" "the publisher's $1 to reach $2 (last: $(tail -n 1 "$T/drive.out" 2>/dev/null))" stat_is "$1" "$2"
}
stop_drive() {
	cmd quit
	exec {DIN}>&-
	wait_for 10 "the publisher to exit" bash -c "! kill -0 $DRIVE_PID 2>/dev/null"
}

# subscribed ID: the broker has acknowledged client ID's subscription
subscribed() { grep -q "Sending SUBACK to $1\$" "$T/broker.log" 2>/dev/null; }
# sub ID COUNT OUT [mosquitto_sub options]: a subscriber in the background,
# COUNT messages into OUT, started once the broker has acknowledged it.
sub() {
	local id=$1 n=$2 out=$3
	shift 3
	mosquitto_sub -h 127.0.0.1 -p "$PORT" -i "$id" -q 1 -v -C "$n" -W 60 \
		"$@" > "$out" 2> "$out.err" &
	SUB=$!
	PIDS+=("$SUB")
	wait_for 5 "$id to subscribe" subscribed "$id" || fail "$id did not subscribe"
}
