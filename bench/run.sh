#!/usr/bin/env bash
# Benchmarks of Tudásháló against the centralised alternative, in one run.
#
#   bash bench/run.sh [--nodes 5,33,100] [--docs 2000] [--quick] [more tudashalo-bench flags]
#
# Builds the release binaries, installs PostgreSQL (Debian's postgresql and
# postgresql-contrib) if it is missing and this runs as root, then runs
# tudashalo-bench: N nodes and a hub as separate processes over mTLS on
# loopback, one node holding every document, and a private PostgreSQL
# cluster in a temporary folder (Unix socket only). Results go to
# bench/results/<date>-<host>.json and into BENCHMARKS.md (a --quick run:
# bench/results/<date>-<host>-quick.json only). Where PostgreSQL
# cannot be installed or started, it says so and measures Tudásháló only.
# `tudashalo-bench --help` lists every flag (rounds, time bounds, clients).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"

echo "== building release binaries"
cargo build --release \
    -p tudashalo-node -p tudashalo-hub -p tudashalo-bench \
    --bin tudashalo-node --bin tudashalo-hub --bin tudashalo-bench

no_postgres=0
quick=0
for arg in "$@"; do
    [ "$arg" = "--no-postgres" ] && no_postgres=1
    [ "$arg" = "--quick" ] && quick=1
done
if [ "$no_postgres" = 0 ] && ! ls /usr/lib/postgresql/*/bin/pg_ctl > /dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "== installing PostgreSQL (postgresql, postgresql-contrib)"
        if ! { apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib; }; then
            echo "PostgreSQL could not be installed: measuring Tudásháló only"
        fi
    else
        echo "PostgreSQL is not installed and cannot be installed here (needs root and apt-get): measuring Tudásháló only"
    fi
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/tudashalo-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# A --quick run keeps the full run's table in BENCHMARKS.md.
md=(--benchmarks-md BENCHMARKS.md)
[ "$quick" = 1 ] && md=()

echo "== running (scratch in $work)"
"$target_dir/release/tudashalo-bench" \
    --bin-dir "$target_dir/release" \
    --work "$work" \
    --results-dir bench/results \
    "${md[@]}" \
    "$@"
