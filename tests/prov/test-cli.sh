#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mcaictl keygen / sign / verify / accept / history end to end, the way an
# aggregator signs and a node installs: a trusted and a rogue key, then
# every refusal a node must make (unsigned, unknown signer, forged and
# truncated manifest, swapped blob, rollback, replay, fork, wrong name) and
# the history chain, including a torn tail left by a crash.
# Exit 0 pass, 1 fail, 77 skip.  $MCAICTL: the binary (build/mcaictl).

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
M=${MCAICTL:-$top/build/mcaictl}
MODEL=$top/models/fmnist-mlp.mcai

if [ ! -x "$M" ]; then
	echo "SKIP: test-cli.sh: no $M (make build/mcaictl)"
	exit 77
fi
[ -r "$MODEL" ] || { echo "SKIP: test-cli.sh: no $MODEL"; exit 77; }

T=$(mktemp -d /tmp/mcai-prov-XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
# The defaults must not leak in from the environment running the test.
unset MCAI_TRUST MCAI_HISTORY_DIR
cd "$T" || exit 1
checks=0

fail() {
	echo "FAIL: test-cli.sh: $*"
	for f in "$T"/out "$T"/err; do
		[ -s "$f" ] && sed 's/^/    /' "$f"
	done
	exit 1
}

# run WANT_RC CMD...: run mcaictl, stdout to out, stderr to err.
run() {
	local want=$1 rc
	shift
	"$M" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq "$want" ] || fail "mcaictl $* exited $rc, expected $want"
	if grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error:" \
		"$T/err"; then
		fail "sanitizer report from mcaictl $*"
	fi
	checks=$((checks + 1))
}

expect_out() {
	grep -q -- "$1" "$T/out" || fail "output lacks \"$1\""
}

expect_err() {
	grep -q -- "$1" "$T/err" || fail "stderr lacks \"$1\""
}

# --- keys -----------------------------------------------------------------
run 0 keygen agg
expect_out "key id"
[ "$(stat -c %a agg/signer.key)" = 600 ] || fail "private key not 0600"
[ -s agg/signer.pub ] || fail "no public key"
run 1 keygen agg
expect_err "already holds a signing key"
run 0 --json keygen rogue
expect_out '"key_id"'
mkdir trust
cp agg/signer.pub trust/aggregator.pub
echo "keys of the fleet's aggregators" >trust/README

# reblob SRC DST VERSION [break]: SRC with its header's version set to
# VERSION (and with "break", its first test vector's first expected score
# changed), the digest sealed again: a model a node would take, or not.
reblob() {
	/usr/bin/python3 - "$@" <<'PY' || fail "reblob $*"
import hashlib, struct, sys
src, dst, ver = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(src, "rb").read())
struct.pack_into("<I", b, 48, ver)            # model_version
if len(sys.argv) > 4:
    tv_off, tv_count, in_len = struct.unpack_from("<III", b, 68)
    assert tv_count, "no test vectors to break"
    b[tv_off + in_len] ^= 1
b[-32:] = hashlib.sha256(b[:-32]).digest()
open(dst, "wb").write(b)
PY
}

# --- sign and verify ------------------------------------------------------
for v in 1 2 3 4 5; do
	reblob "$MODEL" v$v.mcai $v
done
reblob "$top/models/vib-detector.mcai" vib.mcai 3

run 0 sign --key agg/signer.key --version 1 --round 1 --strategy fedavg \
	--participants 10 v1.mcai
[ -s v1.mcai.manifest ] || fail "no v1.mcai.manifest"
run 0 sign --key agg/signer.key --version 2 --round 2 --strategy fedavg \
	--participants 9 --epsilon 0.5 --epsilon-total 1.0 --delta 1e-5 \
	--noise 1.1 --clip 1.0 --sample-rate 0.5 --secagg v2.mcai
run 0 sign --key agg/signer.key --version 3 --round 3 --strategy median \
	--participants 8 --accuracy 0.85 --loss 0.4 v3.mcai

run 0 verify --trust trust v1.mcai
expect_out "fmnist-mlp version 1, parent 0, round 1"
expect_out "signature    valid"
expect_out "blob digest  matches"
run 0 --json verify --trust trust/aggregator.pub v2.mcai
expect_out '"verified": true'
expect_out '"epsilon_total": 1'
expect_out '"secure_aggregation": true'
expect_out '"signer": "'

# A private key in a group-readable file is refused for signing.
cp agg/signer.key loose.key && chmod 644 loose.key
run 1 sign --key loose.key --version 4 v4.mcai
expect_err "readable by others"
# Nothing is signed that a node would refuse, unless forced.
run 1 sign --key agg/signer.key --version 9 v4.mcai
expect_err 'header says "fmnist-mlp" version 4'
reblob "$MODEL" badtv.mcai 4 break
run 1 sign --key agg/signer.key badtv.mcai
expect_err "test vector 0 of 10 fails"

# --- refusals -------------------------------------------------------------
# Unsigned.
run 1 verify --trust trust v4.mcai
expect_err "unsigned"
run 1 --json verify --trust trust v4.mcai
expect_out '"verdict": "unsigned"'

# Signed by a key the node does not trust.
run 0 sign --key rogue/signer.key --version 4 --out rogue.manifest v4.mcai
run 1 verify --trust trust --manifest rogue.manifest v4.mcai
expect_out "unknown signer"
# ... not even when the trust store is missing altogether.
run 1 verify --trust "$T/nowhere" v1.mcai
expect_out "no trust store"

# Forged: one bit of the signature, one of the body.
size=$(stat -c %s v1.mcai.manifest)
cp v1.mcai.manifest sig.manifest
printf '\x55' | dd of=sig.manifest bs=1 seek=$((size - 1)) conv=notrunc \
	status=none
run 1 verify --trust trust --manifest sig.manifest v1.mcai
expect_out "signature    INVALID"
cp v1.mcai.manifest body.manifest
printf '\x09' | dd of=body.manifest bs=1 seek=$((size - 140)) conv=notrunc \
	status=none
run 1 verify --trust trust --manifest body.manifest v1.mcai

# Truncated, and one byte too many.
head -c $((size - 1)) v1.mcai.manifest >short.manifest
run 1 verify --trust trust --manifest short.manifest v1.mcai
expect_err "malformed manifest"
cp v1.mcai.manifest long.manifest && printf x >>long.manifest
run 1 verify --trust trust --manifest long.manifest v1.mcai
expect_err "malformed manifest"

# A different blob under a valid manifest.
run 1 verify --trust trust --manifest v1.mcai.manifest v2.mcai
expect_out "DOES NOT MATCH"
expect_out "digest-mismatch"

# --- the chain on a node --------------------------------------------------
mkdir hist
run 0 accept --trust trust --dir hist v1.mcai
expect_out "accepted and recorded"
run 0 accept --trust trust --dir hist v2.mcai
# Replays of the installed and of an older version.
run 1 accept --trust trust --dir hist v2.mcai
expect_out "already-installed"
run 1 accept --trust trust --dir hist v1.mcai
expect_out "rollback"
run 1 verify --trust trust --history hist v1.mcai
expect_out "rollback"
# A fork: version 5 built on version 1, which the node has left behind.
run 0 sign --key agg/signer.key --parent 1 --out fork.manifest v5.mcai
run 1 accept --trust trust --dir hist --manifest fork.manifest v5.mcai
expect_out "fork"
# Another model's manifest (and blob) offered as this model.
run 0 sign --key agg/signer.key --out other.manifest vib.mcai
run 0 verify --trust trust --manifest other.manifest vib.mcai
run 1 verify --trust trust --name fmnist-mlp --manifest other.manifest vib.mcai
expect_out "name-mismatch"
run 1 accept --trust trust --dir hist --name fmnist-mlp \
	--manifest other.manifest vib.mcai
expect_out "name-mismatch"
[ ! -e hist/vib-detector.history ] || fail "refused manifest recorded"
run 0 accept --trust trust --dir hist --name fmnist-mlp v3.mcai
# A trusted key's manifest that says something else than the blob: a
# version 9 over the version 4 blob, fmnist-mlp over vib-detector's blob;
# and a blob whose test vectors fail (the module would refuse it).
run 0 sign --key agg/signer.key --force --version 9 --parent 3 \
	--out v9.manifest v4.mcai
run 1 accept --trust trust --dir hist --manifest v9.manifest v4.mcai
expect_out "header-mismatch"
expect_err 'blob is "fmnist-mlp" version 4, the manifest signs "fmnist-mlp" version 9'
run 0 sign --key agg/signer.key --force --name fmnist-mlp --version 4 \
	--out swap.manifest vib.mcai
run 1 accept --trust trust --dir hist --manifest swap.manifest vib.mcai
expect_out "header-mismatch"
run 0 sign --key agg/signer.key --force badtv.mcai
run 1 --json accept --trust trust --dir hist badtv.mcai
expect_out '"verdict": "bad-model"'
expect_out "test vector 0 of 10 fails"
run 0 --json history --dir hist fmnist-mlp
[ "$(grep -o '"version":' "$T/out" | wc -l)" -eq 3 ] ||
	fail "a refused blob was recorded"
# The node missed version 4 (parent 4 > installed 3): fine unless strict.
run 0 sign --key agg/signer.key --parent 4 --round 5 v5.mcai
run 1 accept --trust trust --dir hist --strict v5.mcai
expect_out "skipped-versions"

# --- history --------------------------------------------------------------
run 0 history --dir hist --trust trust fmnist-mlp
[ "$(grep -c '^[0-9]' "$T/out")" -eq 3 ] || fail "history has not 3 rows"
expect_out "0.5/1"
expect_out "median"
run 0 --json history --dir hist fmnist-mlp
[ "$(grep -o '"version":' "$T/out" | wc -l)" -eq 3 ] ||
	fail "JSON history has not 3 versions"
expect_out '"torn_tail": false'
run 1 history --dir hist vib-detector
expect_err "no history"
run 2 history --dir hist "../etc"

# A crash cut the last append short: readers skip the tail, the next
# accept removes it and appends after the good records.
printf 'MCHR\x40\x01\x00\x00partial' >>hist/fmnist-mlp.history
run 0 history --dir hist fmnist-mlp
expect_err "torn tail"
[ "$(grep -c '^[0-9]' "$T/out")" -eq 3 ] || fail "torn history lost rows"
run 0 accept --trust trust --dir hist v5.mcai
expect_out "accepted and recorded"
run 0 --json history --dir hist --trust trust fmnist-mlp
expect_out '"torn_tail": false'
expect_out '"skipped_versions":true'
[ "$(grep -o '"signature":"ok"' "$T/out" | wc -l)" -eq 4 ] ||
	fail "not every recorded signature verifies"

# An operator's deliberate rollback is recorded as forced.
run 0 accept --trust trust --dir hist --force v1.mcai
run 0 history --dir hist fmnist-mlp
expect_out "(forced)"

# --- usage ----------------------------------------------------------------
run 2 verify
run 2 sign --version 1 v1.mcai
run 2 verify --force v1.mcai
run 0 help verify

echo "PASS: test-cli.sh: $checks mcaictl runs: keygen, sign, verify, accept, history; unsigned, unknown signer, forged, truncated, swapped blob, rollback, replay, fork, skipped, torn tail; nothing signed or accepted that the module would refuse or whose header disagrees"
exit 0
