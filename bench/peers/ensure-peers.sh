#!/usr/bin/env bash
# Installs the peer servers of `make bench-peers` only when their binaries are missing (Debian
# packages; needs root or sudo). The npm clients (@nats-io/transport-node, @nats-io/jetstream,
# etcd3) are dev dependencies, installed by `make install`.
set -euo pipefail
missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "bench-peers: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get install -y "${missing[@]}" || { "${sudo_cmd[@]}" apt-get update && "${sudo_cmd[@]}" apt-get install -y "${missing[@]}"; }
