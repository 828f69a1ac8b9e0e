#!/usr/bin/env bash
# Installs the JavaScript tools of the package's build and tests (js-tests/package.json:
# playwright-core without a browser download, typescript, terser), idempotently: nothing is
# done when node_modules matches package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/js-tests"
stamp=node_modules/.qed-deps-stamp
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
