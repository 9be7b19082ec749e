#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make a test fleet PKI with the openssl CLI, ECDSA P-256 throughout:
#
#   ca.crt ca.key            the fleet CA
#   aggregator.crt/.key      serverAuth + clientAuth (an aggregator can be a
#                            node of an upstream one), SAN localhost/127.0.0.1
#   node1 node2 ... .crt/.key  clientAuth (names from the command line)
#   revoked.crt/.key         a node certificate, revoked in crl.pem
#   crl.pem                  the CA's CRL
#   rogue-ca.crt, rogue.crt/.key   a node certificate from another CA
#
# Usage: mkcerts.sh OUTDIR [NODE_NAME...]   (default: node1 node2)
# For tests and for trying mcaid out; a real fleet keeps its CA key offline.
set -eu

out=${1:?usage: mkcerts.sh OUTDIR [NODE_NAME...]}
shift
nodes=("$@")
[ ${#nodes[@]} -gt 0 ] || nodes=(node1 node2)

mkdir -p "$out"
cd "$out"
umask 077

days=3650
rm -rf ca.db && mkdir -p ca.db
: > ca.db/index.txt
echo 1000 > ca.db/serial
echo 1000 > ca.db/crlnumber

cat > ca.cnf <<CNF
[ ca ]
default_ca = fleet
[ fleet ]
dir = ca.db
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = ca.crt
private_key = ca.key
default_md = sha256
default_days = $days
default_crl_days = $days
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
authorityKeyIdentifier = keyid
[ v3_client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
CNF

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1" 2>/dev/null
}

# self-signed CA: key, name, file prefix
mkca() {
	key "$2.key"
	openssl req -new -x509 -key "$2.key" -subj "/O=mcai test/CN=$1" \
		-days $days -sha256 -config ca.cnf -extensions v3_ca \
		-out "$2.crt"
}

# leaf signed by the fleet CA: CN, extensions, file prefix
mkleaf() {
	key "$3.key"
	openssl req -new -key "$3.key" -subj "/O=mcai test/CN=$1" \
		-config ca.cnf -out "$3.csr"
	openssl ca -batch -notext -config ca.cnf -extensions "$2" \
		-in "$3.csr" -out "$3.crt" 2>/dev/null
	rm -f "$3.csr"
}

mkca "mcai fleet test CA" ca
mkleaf aggregator v3_server aggregator
for n in "${nodes[@]}"; do
	mkleaf "$n" v3_client "$n"
done
mkleaf revoked-node v3_client revoked
openssl ca -batch -config ca.cnf -revoke revoked.crt \
	-crl_reason keyCompromise 2>/dev/null
openssl ca -batch -config ca.cnf -gencrl -out crl.pem 2>/dev/null

# A certificate the fleet never issued: same shape, other CA.
mkca "rogue CA" rogue-ca
key rogue.key
openssl req -new -key rogue.key -subj "/O=mcai test/CN=rogue-node" \
	-config ca.cnf -out rogue.csr
openssl x509 -req -in rogue.csr -CA rogue-ca.crt -CAkey rogue-ca.key \
	-CAcreateserial -days $days -sha256 -extfile ca.cnf \
	-extensions v3_client -out rogue.crt 2>/dev/null
rm -f rogue.csr rogue-ca.srl

chmod 644 ./*.crt crl.pem
openssl verify -CAfile ca.crt -crl_check -CRLfile crl.pem \
	aggregator.crt "${nodes[0]}.crt" >/dev/null
if openssl verify -CAfile ca.crt -crl_check -CRLfile crl.pem \
	revoked.crt >/dev/null 2>&1; then
	echo "mkcerts: revoked.crt still verifies" >&2
	exit 1
fi
echo "mkcerts: CA, aggregator, ${nodes[*]}, revoked (in crl.pem), rogue in $out"
