#!/usr/bin/env bash
# bench/run.sh: the side-by-side comparison of MISSION.md, in one command.
# Builds the relay and the load generator (release), installs the
# automerge-repo reference server's npm packages, runs every scenario
# against both servers on loopback (ours on a fresh Postgres database when
# the server below answers, else SQLite), prints the table with ratios and
# writes it into docs/benchmarks.md with the chart docs/img/bench-compare.svg.
# Extra arguments go to lifeos-bench (e.g. --scenarios fanout --seconds 10).
set -euo pipefail
cd "$(dirname "$0")/.."

# 10,000 idle connections: one descriptor each on both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 11000 ]; then
    echo "bench/run.sh: only $(ulimit -n) file descriptors; each end of the idle scenario needs ~10,100" >&2
fi

cargo build --release --locked -p lifeos-relay -p lifeos-bench
# `npm install` from the committed lock file (npm 11's `npm ci` refuses a lock
# without the optional per-platform packages of cbor-extract).
(cd bench/reference && npm install --no-audit --no-fund --loglevel=error)

admin="${LIFEOS_BENCH_POSTGRES_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
postgres=()
if command -v psql >/dev/null && psql "$admin" -qtAc 'SELECT 1' >/dev/null 2>&1; then
    db="lifeos_bench_$$"
    psql "$admin" -qc "CREATE DATABASE $db"
    trap 'psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
    postgres=(--postgres "${admin%/*}/$db")
else
    echo "bench/run.sh: no Postgres at $admin; the relay runs on SQLite" >&2
fi

# Absolute: the load generator starts each server in a directory of its own.
bin="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)"
"$bin/lifeos-bench" \
    --relay "$bin/lifeos-relay" \
    --reference bench/reference \
    "${postgres[@]}" \
    --docs docs \
    "$@"
