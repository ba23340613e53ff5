#!/bin/sh
# Makes the broker's TLS material with openssl: a private CA, the broker's server certificate and,
# optionally, client certificates for nodes (mutual TLS). ECDSA P-256 keys.
#
#   make-certs.sh ca     <dir>                      -> ca.key, ca.crt (keep ca.key offline)
#   make-certs.sh server <dir> <dns-name> [ip...]   -> server.key, server.crt signed by the CA
#   make-certs.sh client <dir> <node-id>            -> <node-id>.key, <node-id>.crt signed by the CA
#
# Copy ca.crt to every node (the collector verifies the broker with it) and server.key/server.crt/
# ca.crt to the broker's /mosquitto/certs. The server certificate's names must include the host
# name nodes connect to, or they will (rightly) refuse it.
set -eu

days_ca=3650
days_leaf=825

usage() {
  echo "usage: $0 ca <dir> | server <dir> <dns-name> [ip...] | client <dir> <node-id>" >&2
  exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
mkdir -p "$dir"
umask 077

leaf() { # leaf <name> <subject CN> <extfile>
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$1.key"
  openssl req -new -key "$dir/$1.key" -subj "/CN=$2" -out "$dir/$1.csr"
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days "$days_leaf" -sha256 -extfile "$3" -out "$dir/$1.crt" 2>/dev/null
  rm -f "$dir/$1.csr" "$3"
  chmod 644 "$dir/$1.crt"
}

case "$cmd" in
  ca)
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
    openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$days_ca" -subj "/CN=edge-telemetry broker CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.crt"
    chmod 644 "$dir/ca.crt"
    ;;
  server)
    [ $# -ge 1 ] || usage
    name=$1
    shift
    san="DNS:$name"
    for ip in "$@"; do san="$san,IP:$ip"; done
    ext=$(mktemp)
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" >"$ext"
    leaf server "$name" "$ext"
    ;;
  client)
    [ $# -eq 1 ] || usage
    ext=$(mktemp)
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$ext"
    leaf "$1" "$1" "$ext"
    ;;
  *) usage ;;
esac
