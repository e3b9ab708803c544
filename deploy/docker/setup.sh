#!/usr/bin/env bash
# Prepares deploy/docker for `docker compose up`:
#
#   pki/            the federation CA, its revocation list (crl.pem), and the
#                   certificates of the hub ("hub"),
#                   the nodes (edelenyi, kisteleki, szecsenyi: their compose
#                   service names are in their certificates) and an operator
#                   for the `search` service;
#   data/NAME/      each node's data folder, with a copy of config/NAME.toml as
#                   node.toml and a few sample documents imported (their
#                   [policy] lets the hub and the operator in);
#   .env            the uid/gid the containers run as (owner of pki/ and data/).
#
# Usage: deploy/docker/setup.sh [--bin DIR] [--force] [--no-sample]
#   --bin DIR    folder with tudashalo-hub and tudashalo-node (default:
#                target/release, then target/debug, then PATH; else cargo build)
#   --force      mint a new PKI and recreate data/ (deletes what was there)
#   --no-sample  leave the nodes empty
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
nodes=(edelenyi kisteleki szecsenyi)
bin_dir=""
force=0
sample=1

while [[ $# -gt 0 ]]; do
    case "$1" in
    --bin) bin_dir=${2:?--bin needs a folder}; shift 2 ;;
    --force) force=1; shift ;;
    --no-sample) sample=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

find_bin() {
    local name=$1 dir
    if [[ -n $bin_dir ]]; then
        echo "$bin_dir/$name"
        return
    fi
    for dir in "$repo/target/release" "$repo/target/debug"; do
        if [[ -x $dir/$name ]]; then
            echo "$dir/$name"
            return
        fi
    done
    if command -v "$name" >/dev/null; then
        command -v "$name"
        return
    fi
    (cd "$repo" && cargo build --release --locked --bin tudashalo-node --bin tudashalo-hub >&2)
    echo "$repo/target/release/$name"
}
HUB_BIN=$(find_bin tudashalo-hub)
NODE_BIN=$(find_bin tudashalo-node)

pki="$here/pki"
data="$here/data"
if ((force)); then
    rm -rf "$pki" "$data"
fi

# --- PKI -----------------------------------------------------------------------
if [[ -f $pki/ca.key ]]; then
    echo "pki/ exists: keeping it (--force mints a new one)"
else
    "$HUB_BIN" pki init --dir "$pki" --name "Tudásháló demó CA"
    "$HUB_BIN" pki issue --dir "$pki" --name hub --role hub --host hub,localhost,127.0.0.1
    "$HUB_BIN" pki issue --dir "$pki" --name operator --role operator
    for name in "${nodes[@]}"; do
        "$HUB_BIN" pki issue --dir "$pki" --name "$name" --role node --host "$name"
    done
fi
# The revocation list the servers read next to ca.pem (empty to begin with;
# `tudashalo-hub pki revoke --dir deploy/docker/pki NAME` adds to it).
if [[ ! -f $pki/crl.pem ]]; then
    "$HUB_BIN" pki crl --dir "$pki"
fi

# --- node data folders ---------------------------------------------------------
for name in "${nodes[@]}"; do
    dir="$data/$name"
    mkdir -p "$dir"
    # The container mounts config/NAME.toml over this copy; the copy lets
    # `tudashalo-node import --data data/NAME` run on the host too.
    cp "$here/config/$name.toml" "$dir/node.toml"
    if ((sample)) && [[ ! -d $dir/store ]]; then
        samples=$(mktemp -d)
        cat >"$samples/documents.jsonl" <<EOF
{"id":"${name}-turizmus","title":"Turizmusfejlesztési koncepció (${name})","body":"A falusi turizmus, a kerékpáros útvonalak és a helyi termékek összekapcsolása a kistérségben.","kind":"concept","sectors":["turizmus"],"year":2023,"visibility":"federated"}
{"id":"${name}-ivoviz","title":"Ivóvízhálózat-rekonstrukció (${name})","body":"Az elöregedett ivóvízvezetékek cseréje csökkenti a hálózati veszteséget.","kind":"project","sectors":["vízgazdálkodás"],"year":2022,"visibility":"public"}
EOF
        "$NODE_BIN" import --data "$dir" "$samples/documents.jsonl"
        rm -rf "$samples"
    fi
done

# --- who the containers run as -------------------------------------------------
# The containers read the keys and write data/ as the owner of these files.
# As root, hand them to the image's non-root user (65532) instead of root.
if [[ $(id -u) -eq 0 ]]; then
    chown -R 65532:65532 "$pki" "$data"
    uid=65532 gid=65532
else
    uid=$(id -u) gid=$(id -g)
fi
printf 'TUDASHALO_UID=%s\nTUDASHALO_GID=%s\n' "$uid" "$gid" >"$here/.env"

cat <<EOF

Ready. From the repository root:
  docker compose -f deploy/docker/compose.yaml up -d --build
  docker compose -f deploy/docker/compose.yaml run --rm search turizmus
EOF
