#!/usr/bin/env bash
# Makes the certificates of a replog deployment with openssl (EC P-256):
#   ca.pem / ca-key.pem          the CA that signs everything below (keep ca-key.pem offline)
#   server.pem / server-key.pem  the API (gRPC) server certificate; SANs cover the compose service
#                                names, the Kubernetes Service/pod DNS names and localhost
#   peer.pem / peer-key.pem      Raft peer mTLS (client + server use, checked against the CA)
#   client.pem / client-key.pem  a client certificate; its CN ($CLIENT_CN, default root) is the
#                                identity the ACL (casbin policy) checks
#
# Usage: deploy/gen-certs.sh [OUT_DIR]          (default deploy/certs)
# Environment:
#   NAMESPACE=replog     Kubernetes namespace in the server certificate's DNS names
#   CLIENT_CN=root       identity of the client certificate
#   EXTRA_SANS=          more subjectAltName entries, e.g. "DNS:replog.example.com,IP:10.0.0.5"
#   DAYS=365             validity
# Existing files in OUT_DIR are overwritten. Keys are written 0644 so that the containers'
# non-root user (uid 10001) can read them through a bind mount: fine for development; in
# production deliver them as a Kubernetes Secret (deploy/k8s) or chown them to 10001 and use 0600.
set -euo pipefail

out="${1:-$(dirname "$0")/certs}"
ns="${NAMESPACE:-replog}"
client_cn="${CLIENT_CN:-root}"
days="${DAYS:-365}"

command -v openssl >/dev/null || { echo "gen-certs.sh: openssl is required" >&2; exit 1; }
mkdir -p "$out"
cd "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

sans="DNS:localhost,IP:127.0.0.1,DNS:n1,DNS:n2,DNS:n3"
sans+=",DNS:replog,DNS:replog.${ns},DNS:replog.${ns}.svc,DNS:replog.${ns}.svc.cluster.local"
sans+=",DNS:*.replog-headless,DNS:*.replog-headless.${ns},DNS:*.replog-headless.${ns}.svc,DNS:*.replog-headless.${ns}.svc.cluster.local"
if [[ -n "${EXTRA_SANS:-}" ]]; then sans+=",${EXTRA_SANS}"; fi

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1"; }

# leaf NAME CN EXTENSIONS
leaf() {
  key "$1-key.pem"
  openssl req -new -key "$1-key.pem" -subj "/CN=$2" -out "$tmp/$1.csr"
  printf '%b' "$3" > "$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA ca.pem -CAkey ca-key.pem -CAserial "$tmp/ca.srl" -CAcreateserial \
    -days "$days" -sha256 -extfile "$tmp/$1.ext" -out "$1.pem" 2>/dev/null
}

key ca-key.pem
openssl req -x509 -new -key ca-key.pem -sha256 -days "$days" -subj "/CN=replog-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
leaf server replog-server "subjectAltName=${sans}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n"
leaf peer replog-peer "subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n"
leaf client "$client_cn" "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"
chmod 0644 ./*.pem
chmod 0600 ca-key.pem

for c in server peer client; do openssl verify -CAfile ca.pem "$c.pem" >/dev/null; done
echo "gen-certs.sh: wrote ca, server, peer and client (CN=${client_cn}) certificates to $(pwd)"
