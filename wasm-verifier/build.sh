#!/usr/bin/env bash
# Builds the npm package `qed-verifier` into wasm-verifier/pkg/:
#   pkg/package.json, README.md    the package (name qed-verifier)
#   pkg/node/    CommonJS for Node  (wasm-bindgen --target nodejs), loaded synchronously
#   pkg/web/     ES module for browsers and bundlers (wasm-bindgen --target web); call init() once
#   pkg/*/index.js   the entry points: every export wrapped so that nothing can throw
#   (the web glue and entry point are minified with terser; see npm-deps.sh)
#   pkg/*/client.mjs the fetch helper (asks a QED server and a snapshot store, verifies)
#
# wasm-pack builds each target in the dedicated `wasm` profile (opt-level z, fat LTO, one codegen
# unit, panic=abort; see the root Cargo.toml) with the pinned wasm-bindgen 0.2.130 from PATH
# (`--mode no-install`); the second target reuses the first one's compilation. wasm-pack's own
# package.json and wasm-opt step are skipped (`--no-pack --no-opt`): this script runs wasm-opt
# from binaryen 132 and writes one package.json for both targets.
#
# Usage: wasm-verifier/build.sh            (prints the sizes; writes pkg/SIZES.txt)
# Env:   CARGO_TARGET_DIR (default: <repo>/target), WASM_OPT_FLAGS (default: -Oz --converge)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
WASM_BINDGEN_VERSION=0.2.130
WASM_OPT_FLAGS="${WASM_OPT_FLAGS:--Oz --converge}"

need() { command -v "$1" >/dev/null || { echo "build.sh: $1 not found ($2)" >&2; exit 1; }; }
need wasm-pack "cargo install wasm-pack --version =0.15.1"
need wasm-bindgen "cargo install wasm-bindgen-cli --version =$WASM_BINDGEN_VERSION"
need wasm-opt "npm install --prefix /opt/binaryen binaryen@132.0.0 (not Debian's binaryen 108)"
wasm-bindgen --version | grep -qF "$WASM_BINDGEN_VERSION" ||
  { echo "build.sh: wasm-bindgen CLI must be $WASM_BINDGEN_VERSION (the crate's version)" >&2; exit 1; }
wasm-opt --version | grep -q "version 1[2-9][0-9]" ||
  { echo "build.sh: wasm-opt must be binaryen >= 120 (Debian's 108 breaks wasm-bindgen output)" >&2; exit 1; }

# The config's wasm32 rustflags (compact SHA-2, fiat field arithmetic) are repeated because
# RUSTFLAGS replaces them; shorter panic-location paths in the module (never shown: panics abort).
RUSTFLAGS="--cfg sha2_backend=\"soft\" --cfg sha2_backend_soft=\"compact\" --cfg curve25519_dalek_backend=\"fiat\""
RUSTFLAGS="$RUSTFLAGS --remap-path-prefix=$repo=q"
for index in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  RUSTFLAGS="$RUSTFLAGS --remap-path-prefix=${index%/}="
done
export RUSTFLAGS

pkg="$here/pkg"
rm -rf "$pkg"
mkdir -p "$pkg"
for target in nodejs web; do
  dir="$pkg/$([ "$target" = nodejs ] && echo node || echo web)"
  wasm-pack --quiet build "$here" --mode no-install --no-pack --no-opt --profile wasm \
    --target "$target" --out-dir "$dir"
  rm -f "$dir/.gitignore"
  wasm-opt $WASM_OPT_FLAGS "$dir/qed_verifier_bg.wasm" -o "$dir/qed_verifier_bg.opt.wasm"
  mv "$dir/qed_verifier_bg.opt.wasm" "$dir/qed_verifier_bg.wasm"
  # The API documentation lives in the .d.ts; drop the JSDoc copies from the glue.
  node "$here/js/strip-jsdoc.mjs" "$dir/qed_verifier.js"
  cp "$here/js/client.mjs" "$here/js/client.d.mts" "$dir/"
done
# What browsers download is minified (terser, from js-tests/): the web glue and entry point.
# The Node build stays readable; the API documentation is in the .d.ts files.
"$here/npm-deps.sh"
terser="$here/js-tests/node_modules/.bin/terser"
minify() { "$terser" "$1" --module --compress --mangle --comments '/@ts-self-types/' -o "$1.min" && mv "$1.min" "$1"; }
cp "$here/js/index.node.cjs" "$pkg/node/index.js"
cp "$here/js/index.node.d.ts" "$pkg/node/index.d.ts"
cp "$here/js/index.web.js" "$pkg/web/index.js"
cp "$here/js/index.web.d.ts" "$pkg/web/index.d.ts"
minify "$pkg/web/qed_verifier.js"
minify "$pkg/web/index.js"
cp "$here/js/package.json" "$pkg/package.json"
cp "$here/README.md" "$pkg/README.md"
# Node reads each folder's own module type (the web glue is ESM, the node glue CommonJS).
echo '{ "type": "commonjs" }' > "$pkg/node/package.json"
echo '{ "type": "module" }' > "$pkg/web/package.json"
# A smoke test of the optimised build (a broken wasm-opt fails silently otherwise).
node -e "
const q = require('$pkg/node/index.js');
const d = q.digest('hello');
if (d !== '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824') { console.error('smoke test failed:', d); process.exit(1); }
"
node "$here/js/sizes.mjs" "$pkg" | tee "$pkg/SIZES.txt"
