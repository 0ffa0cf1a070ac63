#!/usr/bin/env bash
# run.sh — the web page's browser test: installs what is missing (Debian's chromium, playwright-core
# from npm), then runs web_test.mjs against the ecgnet and ecgnetd of a build directory.
# usage: tests/web/run.sh [BUILD_DIR]   (default: build/ beside this repository's CMakeLists.txt)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build}"
build="$(cd "$build" && pwd)"

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# playwright-core only drives a browser: it downloads none (Debian's chromium is used).
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

for exe in cmd/ecgnet cmd/ecgnetd; do
  if [ ! -x "$build/$exe" ]; then
    echo "run.sh: $build/$exe is missing: build it first (cmake --build $build --target ecgnet ecgnetd)" >&2
    exit 2
  fi
done

exec node "$here/web_test.mjs" "$build"
