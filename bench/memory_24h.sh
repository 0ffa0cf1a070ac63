#!/usr/bin/env bash
# memory_24h.sh — peak resident memory and time of `ecgnet analyze` on a 24-hour 12-lead 500 Hz
# EDF+ (about 1 GB, generated into the build directory and removed afterwards).
# usage: bench/memory_24h.sh [BUILD_DIR] [HOURS]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
hours="${2:-24}"
edf="$build/bench-${hours}h.edf"
"$build/bench/bench_long_edf" "$edf" "$hours"
trap 'rm -f "$edf"' EXIT
for mode in "" "--diagnostic"; do
  /usr/bin/time -f "analyze $mode: %e s wall, peak RSS %M KiB" "$build/cmd/ecgnet" analyze "$edf" $mode >/dev/null
done
