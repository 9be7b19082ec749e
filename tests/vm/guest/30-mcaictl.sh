#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcaictl (runtime/) against the real module: info, load, list, show,
# infer on Fashion-MNIST images (classes identical to the user-space
# engine), --json output that parses, version replacement and its errors,
# the messages for refused blobs, unknown names, missing privileges, a full
# model table and a missing module; unload and rmmod.
# Exit 0 pass, 1 fail, 77 skip (module, blob or data set missing).
set -eu
R=${MCAI_ROOT:?}
N=30-mcaictl
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
BLOB=$R/models/fmnist-mlp.mcai
DS=/usr/share/datasets/fashion-mnist
IMAGES=$DS/t10k-images-idx3-ubyte.gz
LABELS=$DS/t10k-labels-idx1-ubyte.gz
PY=python3

[[ -x $CTL ]] || { echo "$N: FAIL: build $CTL first (make tools)"; exit 1; }
[[ -e $KO ]] || { echo "$N: SKIP: no $KO (make module)"; exit 77; }
[[ -e $BLOB ]] || { echo "$N: SKIP: no $BLOB"; exit 77; }
[[ -e $IMAGES && -e $LABELS ]] || { echo "$N: SKIP: no $DS"; exit 77; }
command -v $PY >/dev/null || { echo "$N: SKIP: no python3"; exit 77; }

T=$(mktemp -d)
chmod 755 "$T"	# readable by the unprivileged checks
ours=0
cleanup() {
	if ((ours)) && grep -q '^mcai ' /proc/modules; then
		rmmod mcai || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# set -e ends the test at the first failed check; say where.
trap 'echo "$N: FAIL: line $LINENO: exit status $?"' ERR

rc=0
checks=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

# run EXPECTED_RC CMD...: output in $T/out, stderr in $T/err.
run() {
	local want=$1 got=0
	shift
	checks=$((checks + 1))
	"$@" >"$T/out" 2>"$T/err" || got=$?
	if ((got != want)); then
		fail "'${*#"$R/"}' exited $got, want $want"
		sed 's/^/    | /' "$T/out" "$T/err" | head -n 20
		return 1
	fi
	return 0
}

# expect FILE TEXT: FILE contains TEXT (fixed string).
expect() {
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" && return 0
	fail "expected '$2' in $(basename "$1"):"
	sed 's/^/    | /' "$1" | head -n 10
	return 1
}

json_ok() {
	$PY -m json.tool "$T/out" >/dev/null 2>&1 && return 0
	fail "$1: --json output does not parse:"
	head -c 600 "$T/out" | sed 's/^/    | /'
	return 1
}

# pyget EXPR: evaluate EXPR on the JSON document in $T/out (as j).
pyget() {
	$PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" \
		"$T/out"
}

# A copy of the blob with a new name and/or version and a fresh digest.
reseal() {		# reseal OUT VERSION [NAME]
	$PY - "$BLOB" "$1" "$2" "${3:-}" <<'PYEOF'
import hashlib, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<I', b, 48, int(sys.argv[3]))
if sys.argv[4]:
    name = sys.argv[4].encode()
    b[16:48] = name + bytes(32 - len(name))
b[-32:] = hashlib.sha256(b[:-32]).digest()
open(sys.argv[2], 'wb').write(b)
PYEOF
}

# The blob as user space sees it.
run 0 "$CTL" --json inspect "$BLOB" && json_ok inspect
NAME=$(pyget "j['name']")
VER=$(pyget "j['version']")
INLEN=$(pyget "j['input_len']")
echo "$N: blob $NAME version $VER, $INLEN inputs"

grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO"
ours=1

# --- info, empty list -------------------------------------------------
run 0 "$CTL" info && expect "$T/out" "abi version:     1" &&
	expect "$T/out" "models loaded:   0"
run 0 "$CTL" --json info && json_ok info &&
	[[ $(pyget "j['abi_version'], j['nr_models'], 'sync-infer' in j['features']") == "1 0 True" ]] ||
	fail "info --json: $(cat "$T/out")"
run 0 "$CTL" list && expect "$T/out" "no models loaded"
run 0 "$CTL" list --json && json_ok "list (empty)" &&
	[[ $(pyget "len(j['models'])") == 0 ]] || fail "list --json not empty"

# --- load, list, show -------------------------------------------------
run 0 "$CTL" load "$BLOB" && expect "$T/out" "loaded $NAME version $VER (id "
ID=$(sed -n 's/.*(id \([0-9]*\)).*/\1/p' "$T/out")
run 1 "$CTL" load "$BLOB" &&
	expect "$T/err" "mcaictl: $BLOB: version $VER of $NAME is already loaded"
run 0 "$CTL" list && expect "$T/out" "$NAME" && expect "$T/out" "$INLEN->" &&
	sed "s/^/$N: list: /" "$T/out"
run 0 "$CTL" --json list && json_ok list &&
	[[ $(pyget "[(m['id'], m['name'], m['version']) for m in j['models']]") == "[($ID, '$NAME', $VER)]" ]] ||
	fail "list --json: $(cat "$T/out")"
run 0 "$CTL" show "$NAME" && expect "$T/out" "model $NAME (id $ID)"
run 0 "$CTL" show "id:$ID" && expect "$T/out" "model $NAME (id $ID)"
run 0 "$CTL" --json show "$NAME" && json_ok show &&
	[[ $(pyget "j['input_len'], j['digest'] == '$(head -c -32 "$BLOB" | sha256sum | cut -c1-64)'") == "$INLEN True" ]] ||
	fail "show --json: $(cat "$T/out")"
run 0 "$CTL" info && expect "$T/out" "models loaded:   1"

# --- infer: kernel against the user-space engine ------------------------
run 0 "$CTL" infer "$NAME" "$IMAGES" --labels "$LABELS" --limit 200 &&
	cp "$T/out" "$T/kernel.txt" && expect "$T/out" "200 samples, kernel," &&
	expect "$T/out" "accuracy "
run 0 "$CTL" infer "$NAME" "$IMAGES" --labels "$LABELS" --limit 200 \
	--engine user --model "$BLOB" && cp "$T/out" "$T/user.txt" &&
	expect "$T/out" "200 samples, user-space engine,"
# Same table (index, class, label, score); only the summary differs.
# (No <(...): the guest has no /dev/fd.)
head -n 201 "$T/kernel.txt" >"$T/kernel.tab"
head -n 201 "$T/user.txt" >"$T/user.tab"
if ! diff "$T/kernel.tab" "$T/user.tab" >"$T/diff"; then
	fail "kernel and user engine disagree:"
	head -n 20 "$T/diff"
fi
acc=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$T/kernel.txt")
echo "$N: kernel: $(tail -n 1 "$T/kernel.txt")"
[[ -n $acc ]] && $PY -c "import sys; sys.exit(float('$acc') < 50)" ||
	fail "accuracy $acc% on 200 images"

run 0 "$CTL" --json infer "$NAME" "$IMAGES" --labels "$LABELS" --limit 200 \
	--scores && json_ok infer &&
	[[ $(pyget "len(j['results']), j['summary']['count'], all(len(r['scores']) == 10 for r in j['results']), j['engine']") == "200 200 True kernel" ]] ||
	fail "infer --json: $(head -c 300 "$T/out")"
# The classes of the JSON run are the text run's.
pyget "'\n'.join('%d %d' % (r['index'], r['class']) for r in j['results'])" >"$T/jcls"
awk 'NR > 1 && NR <= 201 { print $1, $2 }' "$T/kernel.txt" | diff -q - "$T/jcls" >/dev/null ||
	fail "infer --json classes differ from the text output"

# Raw int8 samples, quantised here with the model's own parameters, from a
# file and from stdin; the classes must match those of the IDX run.
run 0 "$CTL" --json show "$NAME"
$PY - "$IMAGES" "$T/raw3" "$(pyget "j['input_scale']")" "$(pyget "j['input_zp']")" <<'PYEOF'
import gzip, struct, sys
d = gzip.open(sys.argv[1]).read()
n, r, c = struct.unpack('>III', d[4:16])
scale, zp = float(sys.argv[3]), int(sys.argv[4])
out = bytearray()
for p in d[16:16 + 3 * r * c]:
    q = max(-128, min(127, round(p / 255.0 / scale) + zp))
    out.append(q & 0xff)
open(sys.argv[2], 'wb').write(out)
PYEOF
run 0 "$CTL" infer "$NAME" "$T/raw3" && expect "$T/out" "3 samples, kernel" &&
	awk 'NR > 1 && NR <= 4 { print $1, $2 }' "$T/out" >"$T/raw.cls"
awk 'NR > 1 && NR <= 4 { print $1, $2 }' "$T/kernel.txt" | diff -q - "$T/raw.cls" >/dev/null ||
	fail "raw samples classified differently from the same IDX images"
head -c "$INLEN" "$T/raw3" >"$T/raw1"
run 0 "$CTL" --json infer "$NAME" <"$T/raw1" && json_ok "infer (one sample)" &&
	[[ $(pyget "j['index'], j['class'], len(j['scores'])") == "0 $(awk 'NR == 2 { print $2 }' "$T/kernel.txt") 10" ]] ||
	fail "one-sample infer --json: $(cat "$T/out")"
head -c $((INLEN + 1)) "$T/raw3" >"$T/rawbad"
run 1 "$CTL" infer "$NAME" "$T/rawbad" && expect "$T/err" "is not a whole number of samples"
run 0 "$CTL" show "$NAME" && expect "$T/out" "inferences:   "

# --- refused blobs: the kernel's reason reaches the user ----------------
cp "$BLOB" "$T/corrupt.mcai"
printf '\x5a' | dd of="$T/corrupt.mcai" bs=1 seek=300 conv=notrunc 2>/dev/null
run 1 "$CTL" load "$T/corrupt.mcai" &&
	expect "$T/err" "model rejected: SHA-256 digest mismatch (at byte"
run 1 "$CTL" load --no-verify "$T/corrupt.mcai" &&
	expect "$T/err" "model rejected: SHA-256 digest mismatch (at byte"
cp "$BLOB" "$T/magic.mcai"
printf 'X' | dd of="$T/magic.mcai" bs=1 seek=0 conv=notrunc 2>/dev/null
run 1 "$CTL" load --no-verify "$T/magic.mcai" &&
	expect "$T/err" "model rejected: bad magic (at byte 0)"
run 1 "$CTL" --json load --no-verify "$T/magic.mcai" && json_ok "load error" &&
	[[ $(pyget "'bad magic' in j['error']") == True ]] || fail "load error --json"
run 1 "$CTL" inspect "$T/corrupt.mcai" && expect "$T/err" "SHA-256 digest mismatch"

# --- versions: replace, stale, force ------------------------------------
reseal "$T/next.mcai" $((VER + 1))
run 0 "$CTL" load "$T/next.mcai" &&
	expect "$T/out" "replaced $NAME version $VER -> $((VER + 1)) (id $ID)"
run 1 "$CTL" load "$BLOB" &&
	expect "$T/err" "$NAME version $VER is older than the loaded version $((VER + 1)) (use --force)"
run 0 "$CTL" infer "$NAME" "$T/raw1" && expect "$T/out" "version $((VER + 1))"
run 0 "$CTL" --json load --force "$BLOB" && json_ok "load --force" &&
	[[ $(pyget "j['action'], j['id'], j['version'], j['replaced_version']") == "replaced $ID $VER $((VER + 1))" ]] ||
	fail "load --force --json: $(cat "$T/out")"

# --- unknown names, bad arguments ----------------------------------------
run 1 "$CTL" infer nosuch "$T/raw1" && expect "$T/err" "no model named nosuch"
run 1 "$CTL" show nosuch && expect "$T/err" "no model named nosuch"
run 1 "$CTL" unload nosuch && expect "$T/err" "no model named nosuch"
run 1 "$CTL" infer id:999999 "$T/raw1" && expect "$T/err" "no model with id 999999"
run 2 "$CTL" infer 'bad/name' "$T/raw1" && expect "$T/err" "bad model name"
run 2 "$CTL" load && expect "$T/err" "Usage: mcaictl"

# --- privileges -----------------------------------------------------------
if command -v setpriv >/dev/null; then
	nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	run 1 "${nobody[@]}" "$CTL" load "$BLOB" &&
		expect "$T/err" "loading models needs CAP_SYS_ADMIN"
	run 1 "${nobody[@]}" "$CTL" unload "$NAME" &&
		expect "$T/err" "unloading models needs CAP_SYS_ADMIN"
	# Inference needs only an open fd.
	run 0 "${nobody[@]}" "$CTL" infer "$NAME" "$T/raw1"
	run 0 "${nobody[@]}" "$CTL" list
else
	echo "$N: no setpriv: privilege checks skipped"
fi

# --- no leaks, no invalid accesses on the kernel paths ------------------
if command -v valgrind >/dev/null; then
	vg=(valgrind -q --leak-check=full --show-leak-kinds=all
	    --errors-for-leak-kinds=all --error-exitcode=99)
	# (Each run costs seconds under TCG: a few that cover device.c.)
	run 0 "${vg[@]}" "$CTL" --json list
	run 0 "${vg[@]}" "$CTL" infer "$NAME" "$IMAGES" --labels "$LABELS" \
		--limit 5 --scores
	run 1 "${vg[@]}" "$CTL" load "$BLOB"		# EEXIST
	run 1 "${vg[@]}" "$CTL" load --no-verify "$T/magic.mcai"
	run 1 "${vg[@]}" "$CTL" infer nosuch "$T/raw1"
else
	echo "$N: no valgrind: leak checks skipped"
fi

# --- unload ----------------------------------------------------------------
run 0 "$CTL" unload "$NAME" && expect "$T/out" "unloaded $NAME version $VER (id $ID)"
run 0 "$CTL" list && expect "$T/out" "no models loaded"
run 1 "$CTL" infer "$NAME" "$T/raw1" && expect "$T/err" "no model named $NAME"
run 0 "$CTL" load "$BLOB" && run 0 "$CTL" --json unload "id:$(sed -n 's/.*(id \([0-9]*\)).*/\1/p' "$T/out")" &&
	json_ok unload && [[ $(pyget "j['action'], j['name']") == "unloaded $NAME" ]] ||
	fail "unload --json: $(cat "$T/out")"
rmmod mcai || fail "rmmod"

# --- a full table ----------------------------------------------------------
insmod "$KO" max_models=1
reseal "$T/other.mcai" 1 other-model
run 0 "$CTL" load "$BLOB"
run 1 "$CTL" load "$T/other.mcai" &&
	expect "$T/err" "no room for another model: max_models (1) reached"
run 0 "$CTL" info && expect "$T/out" "max models:      1"
run 0 "$CTL" unload "$NAME"
rmmod mcai || fail "rmmod"
ours=0

# --- no module ---------------------------------------------------------------
run 1 "$CTL" info && expect "$T/err" "/dev/mcai not found: is the mcai module loaded? (modprobe mcai)"
run 1 "$CTL" -d /dev/null list && expect "$T/err" "/dev/null does not understand"
# The user-space engine needs no module.
run 0 "$CTL" infer "$NAME" "$T/raw3" --model "$BLOB"

((rc)) || echo "$N: all $checks checks passed"
exit "$rc"
