#!/usr/bin/env bash
# web_latency.sh — the reviewers' page, timed N times in headless Chromium against one ecgnetd on
# this machine: "critical to page" (a critical flag stored → the open page's alarm, through the
# live worklist socket; target < 1 s) and "click to drawn 12-lead" (a worklist row clicked → the
# 10-s 3×4 page drawn; target < 300 ms). Prints each run, then p50 and max of each.
#
# usage: bench/web_latency.sh [BUILD_DIR] [N]     (defaults: build 10)
#        needs node, npm and Debian's chromium (tests/web/run.sh installs what is missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
n="${2:-10}"
web="$root/tests/web"

for exe in cmd/ecgnet cmd/ecgnetd; do
  if [ ! -x "$build/$exe" ]; then
    echo "web_latency.sh: $build/$exe is missing: build it first (cmake --build $build --target ecgnet ecgnetd)" >&2
    exit 2
  fi
done
if [ ! -d "$web/node_modules/playwright-core" ]; then
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$web/latency.mjs" "$build" "$n"
