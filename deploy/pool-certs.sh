#!/usr/bin/env bash
# Makes a certificate authority and one certificate per node for a test pool's mutual TLS
# (pvdrm.cluster.tls, CLUSTER.md), with openssl:
#
#   deploy/pool-certs.sh DIR PASSWORD NODE...
#
# DIR/ca.pem        the pool's CA certificate: every node's pvdrm.cluster.tls.ca
# DIR/ca.key        the CA's private key: keep it off the nodes; it is what lets a machine join
# DIR/NODE.p12      NODE's certificate and key (PKCS#12, opened with PASSWORD): its tls.certificate
#
# A CA that already exists in DIR is reused, so a node can be added later. Keys are ECDSA P-256;
# certificates are valid for 825 days. Files are made readable by their owner only.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 DIR PASSWORD NODE..." >&2
  exit 2
fi
dir="$1" password="$2"
shift 2
mkdir -p "$dir"
umask 077
if [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 825 \
    -subj "/CN=pvdrm pool CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
for node in "$@"; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$node" \
    -keyout "$dir/$node.key" -out "$dir/$node.csr" 2>/dev/null
  # Nodes authenticate each other by chain to the CA, not by host name; the names are for people.
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s,IP:127.0.0.1\n' "$node" > "$dir/$node.ext"
  openssl x509 -req -in "$dir/$node.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -sha256 -days 825 \
    -extfile "$dir/$node.ext" -out "$dir/$node.pem" 2>/dev/null
  openssl pkcs12 -export -inkey "$dir/$node.key" -in "$dir/$node.pem" -name "$node" -passout "pass:$password" -out "$dir/$node.p12"
  rm -f "$dir/$node.key" "$dir/$node.csr" "$dir/$node.ext"
  echo "$dir/$node.p12"
done
