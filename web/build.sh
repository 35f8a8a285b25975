#!/usr/bin/env bash
# Builds the web app into web/dist: the wasm in the `wasm-release` profile,
# the pinned wasm-bindgen (the version in Cargo.lock), `wasm-opt -Oz` (npm
# binaryen), then content-hashed file names, index.html, the service worker
# (which precaches exactly this build) and the manifest and icons.
# Installs what it lacks: the wasm32 target, wasm-bindgen-cli, binaryen.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=$PWD
OUT="$ROOT/web/dist"
STAGE="$ROOT/target/web-build"

say() { printf '==> %s\n' "$*"; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || {
  say "installing the wasm32 target"
  rustup target add wasm32-unknown-unknown
}

BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
[ -n "$BINDGEN_VERSION" ] || { echo "wasm-bindgen is not in Cargo.lock" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $BINDGEN_VERSION (matches Cargo.lock)"
  cargo install wasm-bindgen-cli --version "$BINDGEN_VERSION"
fi

WASM_OPT="$ROOT/web/node_modules/.bin/wasm-opt"
if [ ! -x "$WASM_OPT" ]; then
  say "installing binaryen (wasm-opt) from npm"
  (cd web && npm install --no-audit --no-fund --loglevel=error)
fi

say "building client-wasm (wasm-release)"
cargo build -p lifeos-client-wasm --target wasm32-unknown-unknown --profile wasm-release

rm -rf "$STAGE"
mkdir -p "$STAGE"
wasm-bindgen --target web --no-typescript --out-dir "$STAGE" --out-name lifeos \
  "${CARGO_TARGET_DIR:-target}"/wasm32-unknown-unknown/wasm-release/lifeos_client_wasm.wasm

say "optimising with wasm-opt -Oz"
"$WASM_OPT" -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o "$STAGE/lifeos_bg.opt.wasm" "$STAGE/lifeos_bg.wasm"

hash() { sha256sum "$1" | cut -c1-20; }

rm -rf "$OUT"
mkdir -p "$OUT/icons"
WASM="lifeos.$(hash "$STAGE/lifeos_bg.opt.wasm").wasm"
cp "$STAGE/lifeos_bg.opt.wasm" "$OUT/$WASM"
JS="lifeos.$(hash "$STAGE/lifeos.js").js"
cp "$STAGE/lifeos.js" "$OUT/$JS"
CSS="style.$(hash web/style.css).css"
cp web/style.css "$OUT/$CSS"
sed -e "s|{{JS}}|$JS|g" -e "s|{{WASM}}|$WASM|g" web/boot.js > "$STAGE/boot.js"
BOOT="boot.$(hash "$STAGE/boot.js").js"
cp "$STAGE/boot.js" "$OUT/$BOOT"
sed -e "s|{{JS}}|$JS|g" -e "s|{{WASM}}|$WASM|g" -e "s|{{CSS}}|$CSS|g" -e "s|{{BOOT}}|$BOOT|g" \
  web/index.html > "$OUT/index.html"
cp web/manifest.webmanifest "$OUT/"
cp web/icons/*.png "$OUT/icons/"

ASSETS="['/index.html', '/$BOOT', '/$JS', '/$WASM', '/$CSS', '/manifest.webmanifest'"
for icon in "$OUT"/icons/*.png; do ASSETS="$ASSETS, '/icons/$(basename "$icon")'"; done
ASSETS="$ASSETS]"
VERSION=$(cat "$OUT/index.html" "$OUT/manifest.webmanifest" "$OUT"/icons/*.png | sha256sum | cut -c1-16)
sed -e "s|{{VERSION}}|$VERSION|g" -e "s|{{ASSETS}}|$ASSETS|g" web/sw.js > "$OUT/sw.js"

# Brotli and gzip copies beside each file, which the relay serves to
# browsers that ask for them (Accept-Encoding).
node web/precompress.mjs "$OUT"

RAW=$(stat -c %s "$OUT/$WASM")
GZ=$(stat -c %s "$OUT/$WASM.gz")
BR=$(stat -c %s "$OUT/$WASM.br")
say "web/dist ready: $WASM $((RAW / 1024)) KB, $((GZ / 1024)) KB gzipped (budget 600 KB), $((BR / 1024)) KB with Brotli"
if [ "$GZ" -gt $((600 * 1024)) ]; then
  echo "note: the gzipped wasm is over the 600 KB budget (see docs/benchmarks.md)" >&2
fi
