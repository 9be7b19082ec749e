#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test keys for signed models (require_signed=1), with the openssl CLI.
#
# usage: tests/sign/make-keys.sh DIR
#
# Writes into DIR, each as NAME.key (PEM private key), NAME.pem and
# NAME.der (certificate; DER is what `keyctl padd asymmetric` takes):
#   signer  self-signed signing certificate: goes into the .mcai keyring
#   other   self-signed, never in the keyring: an unknown signer
#   ca      a test CA (CA:TRUE, keyCertSign)
#   leaf    a signing certificate issued by ca: with `mcai-sign --certs`
#           it verifies when only ca is in the keyring
# RSA-2048 with SHA-256: Debian's 6.1 has no ECDSA (CONFIG_CRYPTO_ECDSA
# is off there; 6.12 has it).  The extensions are those of the kernel's
# own module signing key (certs/default_x509.genkey).  Test keys only:
# unencrypted, short-lived, never for a real fleet.
set -euo pipefail

[ $# -eq 1 ] || { sed -n '5,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
dir=$1
mkdir -p "$dir"
cd "$dir"

leaf_ext="basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"

selfsigned() {	# NAME CN [extra -addext...]
	local name=$1 cn=$2
	shift 2
	openssl req -new -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 \
		-subj "/O=mcai test/CN=$cn" -keyout "$name.key" -out "$name.pem" \
		-addext "subjectKeyIdentifier=hash" \
		-addext "authorityKeyIdentifier=keyid" "$@" 2>/dev/null
	openssl x509 -in "$name.pem" -outform DER -out "$name.der"
}

selfsigned signer "model signing key" \
	-addext "basicConstraints=critical,CA:FALSE" \
	-addext "keyUsage=digitalSignature"
selfsigned other "unknown signing key" \
	-addext "basicConstraints=critical,CA:FALSE" \
	-addext "keyUsage=digitalSignature"
selfsigned ca "model signing CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign"

openssl req -new -newkey rsa:2048 -sha256 -nodes \
	-subj "/O=mcai test/CN=model signing key issued by the CA" \
	-keyout leaf.key -out leaf.csr 2>/dev/null
printf '%s\n' "$leaf_ext" > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-sha256 -days 3650 -extfile leaf.ext -out leaf.pem 2>/dev/null
openssl x509 -in leaf.pem -outform DER -out leaf.der
rm -f leaf.csr leaf.ext ca.srl
