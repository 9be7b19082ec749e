#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Signed models (kmod/sign.c): the .mcai keyring and require_signed.
#
#  - require_signed=0 (default): unsigned and signed blobs load (the
#    trailer is stripped; the signature is not looked at), a malformed
#    trailer is refused (EBADMSG), truncations are plain bad blobs.
#  - keys go in with `keyctl padd asymmetric "" %keyring:.mcai`, the
#    documented operator command; require_signed switches on at run time
#    and refuses to switch off.
#  - require_signed=1: unsigned -> EKEYREJECTED; signed by the key in the
#    keyring -> loads and infers bit for bit like user space; signed by an
#    unknown key -> EKEYREJECTED; a leaf certificate carried in the
#    signature, whose CA is in the keyring -> loads; another blob's
#    signature (replay) -> EKEYREJECTED; every byte of the PKCS#7 and of
#    the trailer flipped, content bytes flipped, the file and the PKCS#7
#    cut at hundreds of lengths, lying lengths -> refused
#    (build/vm/sign_check); the key unlinked -> refused again.
#  - the keyring dies with the module; insmod require_signed=1 starts
#    with an empty keyring.
# Any kernel warning fails the run (run.sh).  Exit 0 pass, 1 fail, 77 skip.
set -u
R=${MCAI_ROOT:?}
N=80-signed
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIGN=$R/build/mcai-sign
CTL=$R/build/mcaictl
CHK=$R/build/vm/sign_check
BLOB=$R/models/fmnist-mlp.mcai
BLOB2=$R/models/vib-detector.mcai
PARAM=/sys/module/mcai/parameters/require_signed

[[ -n ${MCAI_VM:-} ]] || { echo "$N: SKIP: not in the guest"; exit 77; }
for f in "$SIGN" "$CHK"; do
	[[ -x $f ]] || { echo "$N: FAIL: build $f first (make tools)"; exit 1; }
done
[[ -e $KO ]] || { echo "$N: SKIP: no $KO"; exit 77; }
[[ -e $BLOB && -e $BLOB2 ]] || { echo "$N: SKIP: no shipped blobs"; exit 77; }
command -v keyctl >/dev/null || { echo "$N: SKIP: no keyctl (keyutils)"; exit 77; }
command -v openssl >/dev/null || { echo "$N: SKIP: no openssl"; exit 77; }
grep -q '^mcai ' /proc/modules && { echo "$N: FAIL: mcai already loaded"; exit 1; }

T=$(mktemp -d)
cleanup() {
	if grep -q '^mcai ' /proc/modules; then
		rmmod mcai || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
# check WHAT CMD...: run CMD, fail with WHAT when it fails.
check() {
	local what=$1
	shift
	"$@" || fail "$what"
}
keyring_listed() { grep -q ' keyring *\.mcai: ' /proc/keys; }

"$R/tests/sign/make-keys.sh" "$T/k" || { echo "$N: FAIL: make-keys.sh"; exit 1; }
K=$T/k
sign() {	# OUT KEYNAME BLOB [--certs]
	"$SIGN" sign --key "$K/$2.key" --cert "$K/$2.pem" ${4:-} -o "$1" "$3" 2>/dev/null ||
		fail "mcai-sign $2 $3"
}
sign "$T/good.mcai" signer "$BLOB"
sign "$T/other.mcai" other "$BLOB"
sign "$T/chain.mcai" leaf "$BLOB" --certs
sign "$T/vib.mcai" signer "$BLOB2"
check "mcai-sign verify" "$SIGN" verify --cert "$K/signer.pem" "$T/good.mcai" >/dev/null
"$SIGN" verify --cert "$K/signer.pem" "$T/other.mcai" >/dev/null 2>&1 &&
	fail "mcai-sign verify accepts another signer"
"$SIGN" strip -o "$T/stripped.mcai" "$T/good.mcai" && cmp -s "$T/stripped.mcai" "$BLOB" ||
	fail "mcai-sign strip does not give back the blob"
((rc == 0)) || exit 1

# --- require_signed=0: everything loads as before; trailers are checked ---
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
[[ $(cat $PARAM) == N ]] || fail "require_signed is $(cat $PARAM), want N"
keyring_listed || fail "no .mcai keyring in /proc/keys"
check "unsigned, require_signed=0" "$CHK" load "$BLOB" ok
check "signed, require_signed=0" "$CHK" load "$T/good.mcai" ok
check "unknown signer, require_signed=0" "$CHK" load "$T/other.mcai" ok
check "mutations, require_signed=0" "$CHK" mutate "$T/good.mcai" lax

# --- the operator's commands ---
kid=$(keyctl padd asymmetric "" %keyring:.mcai <"$K/signer.der") ||
	fail "keyctl padd asymmetric \"\" %keyring:.mcai < signer.der"
keyctl padd asymmetric "" %keyring:.mcai <"$K/ca.der" >/dev/null ||
	fail "keyctl padd of the CA"
keyctl list %keyring:.mcai | sed "s/^/$N: keyring: /"
[[ $(keyctl rdescribe "${kid:-0}" 2>/dev/null) == asymmetric\;* ]] ||
	fail "key $kid is not an asymmetric key"
check "require_signed=1 at run time" sh -c "echo 1 > $PARAM"
[[ $(cat $PARAM) == Y ]] || fail "require_signed is $(cat $PARAM) after setting it"
if sh -c "echo 0 > $PARAM" 2>/dev/null; then
	fail "require_signed switched off at run time"
fi
[[ $(cat $PARAM) == Y ]] || fail "require_signed is $(cat $PARAM), want Y"

# --- require_signed=1 ---
# A kernel without RSA/SHA-256 in its crypto API (a minimal debug build)
# cannot verify anything: say so and skip, rather than fail every check.
if ! "$CHK" load "$T/good.mcai" ok > "$T/probe.out" 2>&1 &&
   grep -q "unsupported algorithm" "$T/probe.out"; then
	echo "$N: this kernel's crypto cannot verify RSA/SHA-256 signatures; skipped"
	rmmod mcai
	exit 77
fi
check "unsigned refused" "$CHK" load "$BLOB" EKEYREJECTED
check "signed accepted" "$CHK" load "$T/good.mcai" ok
# The operator's path: mcaictl hands the signed file over unchanged.
if [[ -x $CTL ]]; then
	# it verifies the signed part in user space first, as for any blob
	check "mcaictl load (signed)" "$CTL" load "$T/good.mcai" >/dev/null
	"$CTL" list | grep -q fmnist-mlp || fail "mcaictl list: no fmnist-mlp"
	check "mcaictl unload" "$CTL" unload fmnist-mlp >/dev/null
	if "$CTL" load "$BLOB" > /dev/null 2> "$T/ctl.err"; then
		fail "mcaictl loaded an unsigned blob with require_signed=1"
	fi
	grep -q "signature refused" "$T/ctl.err" ||
		fail "mcaictl does not say why: $(cat "$T/ctl.err")"
fi
check "unknown signer refused" "$CHK" load "$T/other.mcai" EKEYREJECTED
check "leaf certificate of a trusted CA accepted" "$CHK" load "$T/chain.mcai" ok
check "second signed blob accepted" "$CHK" load "$T/vib.mcai" ok
check "replayed signature refused" "$CHK" replay "$T/good.mcai" "$T/vib.mcai"
check "mutations, require_signed=1" "$CHK" mutate "$T/good.mcai" strict

# Revocation: the key out of the keyring, its blobs out of the door.
check "keyctl unlink" keyctl unlink "${kid:-0}" %keyring:.mcai >/dev/null
check "signed by an unlinked key refused" "$CHK" load "$T/good.mcai" EKEYREJECTED
check "CA chain still accepted" "$CHK" load "$T/chain.mcai" ok
rmmod mcai || fail "rmmod"
# The keyring is put at rmmod; the key GC frees it asynchronously, in a
# work item that a loaded machine may run late.
keyring_gone() { ! keyring_listed; }
wait_for 120 "the key GC to free the .mcai keyring after rmmod" keyring_gone ||
	fail ".mcai keyring still listed after rmmod: $(grep ' keyring *\.mcai: ' /proc/keys)"

# --- insmod require_signed=1: an empty keyring refuses everything ---
insmod "$KO" require_signed=1 || { echo "$N: FAIL: insmod require_signed=1"; exit 1; }
[[ $(cat $PARAM) == Y ]] || fail "require_signed is $(cat $PARAM), want Y"
check "empty keyring refuses" "$CHK" load "$T/good.mcai" EKEYREJECTED
keyctl padd asymmetric "" %keyring:.mcai <"$K/signer.der" >/dev/null ||
	fail "keyctl padd after reload"
check "signed accepted after reload" "$CHK" load "$T/good.mcai" ok
# Locking the keyring (one-way): no key can be added any more.
check "keyctl restrict_keyring" keyctl restrict_keyring %keyring:.mcai
if keyctl padd asymmetric "" %keyring:.mcai <"$K/other.der" >/dev/null 2>&1; then
	fail "a key was added to a locked keyring"
fi
check "signed accepted with the keyring locked" "$CHK" load "$T/good.mcai" ok
check "unknown signer refused with the keyring locked" "$CHK" load "$T/other.mcai" EKEYREJECTED
rmmod mcai || fail "rmmod"

((rc == 0)) && echo "$N: all checks passed"
exit $rc
