# SPDX-License-Identifier: GPL-2.0
#
# Shared by tests/fed/test-*.sh (sourced, not run): a scratch directory
# with a fresh test PKI, an aggregator on a free loopback port, and a
# small TLS client (Python's ssl module) that can misbehave on purpose.
# Each test ends with pass/fail/skip, which print the one verdict line.

FED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../verdict.sh
. "$FED_DIR/../verdict.sh"
MCAID=${MCAID:-$ROOT/build/mcaid-san}

[ -x "$MCAID" ] || skip "$MCAID not built"
command -v openssl >/dev/null || skip "no openssl"
command -v python3 >/dev/null || skip "no python3"
T=$(mktemp -d /tmp/mcai-fed.XXXXXX)
chmod 755 "$T"
trap cleanup EXIT
"$FED_DIR/mkcerts.sh" "$T/pki" >/dev/null || fail "mkcerts.sh failed"
P=$T/pki

. "$FED_DIR/port.sh"

# wait_for SECONDS WHAT CMD...: runs CMD every 0.1 s until it succeeds.
# Tests wait for states, never for time: SECONDS is a generous figure for
# an idle machine, and the wait allows three times that and at least
# WAIT_MIN_S (default 60 s) -- on a loaded 2-core machine an ASan daemon
# can be several times slower, and a timeout only bounds a test that
# would otherwise hang; it must never decide a verdict.  On a timeout it
# says what it waited for (on stderr) and returns 1.
WAIT_MIN_S=${WAIT_MIN_S:-60}
wait_for() {
	local secs=$1 what=$2 limit end
	shift 2
	limit=$((secs * 3 > WAIT_MIN_S ? secs * 3 : WAIT_MIN_S))
	end=$((SECONDS + limit))
	until "$@"; do
		((SECONDS < end)) || {
			echo "timed out after $limit s waiting for $what" >&2
			return 1
		}
		sleep 0.1
	done
}

# start_agg LOG [extra mcaid options]: sets AGG (pid) and PORT once the
# aggregator has logged "ready" (start-up over: privileges dropped,
# registry read) and listens on PORT.
agg_ready() {
	kill -0 "$AGG" 2>/dev/null || return 0	# dead: stop waiting
	# (the log may not exist yet: the shell opens it in the child)
	grep -q "listening on 127.0.0.1:$PORT\$" "$1" 2>/dev/null &&
		grep -q "ready: aggregator" "$1" &&
		ss -Htln "sport = :$PORT" | grep -q .
}
start_agg() {
	local log=$1 try
	shift
	# Another test may take the port between our check and the bind.
	for ((try = 0; try < 5; try++)); do
		PORT=$(free_port)
		"$MCAID" --role aggregator --listen "127.0.0.1:$PORT" \
			--cert "$P/aggregator.crt" --key "$P/aggregator.key" \
			--ca "$P/ca.crt" --crl "$P/crl.pem" "$@" > "$log" 2>&1 &
		AGG=$!
		PIDS+=("$AGG")
		# Something listening on the port is not enough: another
		# process may hold it.  Ours must be alive and say so.
		wait_for 10 "the aggregator to log 'ready' on port $PORT" \
			agg_ready "$log" || break
		kill -0 "$AGG" 2>/dev/null && return 0
		grep -q "Address already in use" "$log" || break
	done
	fail "aggregator did not start"
}

# node CERTNAME LOG [extra options]: runs a node in the foreground.
node() {
	local cert=$1 log=$2
	shift 2
	"$MCAID" --role node --connect "127.0.0.1:$PORT" \
		--cert "$P/$cert.crt" --key "$P/$cert.key" --ca "$P/ca.crt" \
		--crl "$P/crl.pem" "$@" > "$log" 2>&1
}

# wait_log FILE REGEX SECONDS: until FILE has a line matching REGEX
# (SECONDS as for wait_for).
has_line() { grep -Eq -- "$2" "$1" 2>/dev/null; }
wait_log() {
	wait_for "$3" "/$2/ in $1" has_line "$1" "$2"
}

# stop_agg LOG: SIGTERM, a clean exit 0, and no sanitizer report.
stop_agg() {
	kill -TERM "$AGG" 2>/dev/null
	wait "$AGG"
	local rc=$?
	[ $rc -eq 0 ] || fail "aggregator exited $rc after SIGTERM"
	sanitizer_clean "$1"
}

sanitizer_clean() {
	if grep -Eq "Sanitizer|runtime error:" "$1"; then
		fail "sanitizer report in $1"
	fi
}

# stat_of LOG KEY: a number from the "stats:" line a daemon logs at exit.
stat_of() {
	grep -o "stats:.*" "$1" | tail -n 1 | tr ' ' '\n' |
		sed -n "s/^$2=//p"
}

# client SCRIPT_ARGS...: the Python TLS client below, as node1.
client() {
	python3 "$T/client.py" "$P" "$PORT" "$@"
}

cat > "$T/client.py" <<'PY'
# A TLS client that speaks the frame header and can misbehave.
import os, socket, ssl, struct, sys, threading, time

pki, port, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]
MAGIC, VERSION = 0x4641434d, 1
HELLO, UPDATE, TELEMETRY = 1, 5, 6

def conn(cert="node1"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(f"{pki}/{cert}.crt", f"{pki}/{cert}.key")
    ctx.load_verify_locations(f"{pki}/ca.crt")
    s = socket.create_connection(("127.0.0.1", port))
    return ctx.wrap_socket(s, server_hostname="localhost")

def hdr(typ, length, magic=MAGIC, version=VERSION, flags=0):
    return struct.pack("<IHHII", magic, version, typ, length, flags)

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError(f"EOF after {len(b)} of {n} bytes")
        b += c
    return b

def echo(s, payload):
    s.sendall(hdr(UPDATE, len(payload)) + payload)
    h = recv_exact(s, 16)
    m, v, t, n, f = struct.unpack("<IHHII", h)
    got = recv_exact(s, n)
    assert (m, t, n) == (MAGIC, UPDATE, len(payload)), (m, t, n)
    assert got == payload, "echo differs"

def wait_eof(s, limit):
    """Seconds until the server closes us (EOF or reset), or -1."""
    s.settimeout(limit)
    t0 = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except (ssl.SSLError, ConnectionError):
        pass
    except socket.timeout:
        return -1
    return time.monotonic() - t0

if cmd == "midframe":
    # Header for 1000 bytes, 10 of them, then a plain TCP close.
    s = conn()
    s.sendall(hdr(UPDATE, 1000) + b"x" * 10)
    time.sleep(0.2)
    if args and args[0] == "notify":
        try:
            s.unwrap()
        except (ssl.SSLError, OSError):
            pass  # the server closes at once; our close_notify went out
    s.close()
    print("sent")
elif cmd == "malformed":
    # args: a kind; prints how long until the server closed us.
    kinds = {
        "magic": hdr(UPDATE, 4, magic=0x12345678),
        "version": hdr(UPDATE, 4, version=2),
        "length": hdr(UPDATE, (8 << 20) + 1),
        "flags": hdr(UPDATE, 4, flags=1),
        "type": hdr(999, 4),
    }
    s = conn()
    s.sendall(kinds[args[0]] + b"abcd")
    print("%.3f" % wait_eof(s, 120))
elif cmd == "bystander":
    # Stays connected while others misbehave; echoes before and after
    # a marker file appears (args: marker path).
    s = conn()
    echo(s, b"before" * 100)
    print("ready", flush=True)
    t0 = time.monotonic()                # the test's go, however late
    while not os.path.exists(args[0]) and time.monotonic() - t0 < 300:
        time.sleep(0.05)
    echo(s, b"after" * 1000)
    print("ok")
elif cmd == "idle":
    # args: what to do before going quiet; prints seconds until closed.
    if args[0] == "tcp":
        s = socket.create_connection(("127.0.0.1", port))
    else:
        s = conn()
        if args[0] == "partial":
            s.sendall(hdr(UPDATE, 100)[:7])
        elif args[0] == "echo":
            echo(s, b"hello")
    print("%.3f" % wait_eof(s, 120))
elif cmd == "flood":
    # Sends echo frames and never reads; prints the bytes sent before our
    # sends blocked for 3 s, then stays silent (args: seconds) and closes.
    s = conn()
    s.settimeout(3)
    frame = hdr(UPDATE, 65536) + b"z" * 65536
    sent = 0
    try:
        while sent < (1 << 30):
            s.sendall(frame)
            sent += len(frame)
    except socket.timeout:
        pass
    except (ssl.SSLError, OSError):
        print(sent, "closed-while-sending")
        sys.exit(0)
    print(sent, "blocked", flush=True)
    time.sleep(float(args[0]))
elif cmd == "cert":
    # args: certificate name; prints "refused" or "accepted".
    try:
        s = conn(args[0])
        s.sendall(hdr(TELEMETRY, 4) + b"\0\0\0\0")
        s.settimeout(5)
        print("accepted" if s.recv(16) else "refused")
    except (ssl.SSLError, ConnectionError, EOFError) as e:
        print("refused", type(e).__name__)
elif cmd == "close-in-queue":
    # One peer holds the send budget (never reads); another's echo waits
    # for it, then that peer is closed for a malformed HELLO.
    a = conn()                      # holds the send budget, never reads
    a.sendall(hdr(UPDATE, 6000000) + b"a" * 6000000)
    time.sleep(1)
    b = conn()                      # its echo waits for the budget
    b.sendall(hdr(UPDATE, 900000) + b"b" * 900000)
    time.sleep(0.5)
    b.sendall(hdr(HELLO, 8) + b"\xff" * 8)  # malformed HELLO: closed
    time.sleep(1)
    a.close()                       # the budget frees
    b.settimeout(20)
    h = recv_exact(b, 16)
    got = recv_exact(b, struct.unpack("<IHHII", h)[3])
    assert got == b"b" * 900000, "echo differs"
    try:                            # then the server's close_notify
        rest = b.recv(4096)
    except (ssl.SSLError, OSError):
        rest = b""
    print("echo-intact", len(got), "then", "eof" if not rest else "more")
elif cmd == "turns":
    a = conn(); a.sendall(hdr(UPDATE, 6000000) + b"a" * 6000000)
    b = conn(); b.sendall(hdr(UPDATE, 6000000) + b"b" * 6000000)
    time.sleep(0.5)
    took = {}
    def echo(name, ch):
        s = conn()
        t = time.monotonic()
        s.sendall(hdr(UPDATE, 300000) + ch * 300000)
        got = recv_exact(s, 16 + 300000)
        assert got[16:] == ch * 300000
        took[name] = time.monotonic() - t
    th = [threading.Thread(target=echo, args=(n, c))
          for n, c in (("C", b"c"), ("D", b"d"))]
    for t in th:
        t.start()
    time.sleep(1.5)
    recv_exact(b, 16 + 6000000)     # b drains: its buffers are freed
    for t in th:
        t.join()
    print("slowest %.1f" % max(took.values()))
elif cmd == "loris":
    ss = []
    for i in range(2):
        s = conn()
        s.sendall(hdr(UPDATE, 2 << 20) + b"x" * 100000)
        ss.append(s)
    print("holding", flush=True)
    for k in range(12):
        time.sleep(2)
        try:
            for s in ss:
                s.sendall(b"y" * 10)
        except OSError:
            print("dropped", flush=True)
            break
PY
