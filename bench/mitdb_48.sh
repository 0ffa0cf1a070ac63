#!/usr/bin/env bash
# mitdb_48.sh — the 48 MIT-BIH records analysed as 48 separate `ecgnet analyze` processes, two at a
# time (this machine's two cores), start-up included: wall-clock seconds for the whole batch.
# usage: bench/mitdb_48.sh [BUILD_DIR] [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
data="${2:-${ECGNET_DATA:-../shared/ecgdata}}"
bin="$build/cmd/ecgnet"
[ -x "$bin" ] || { echo "mitdb_48: $bin not built (run scripts/setup.sh)" >&2; exit 1; }
records=$(ls "$data"/mitdb/*.hea | sed 's/\.hea$//')
[ "$(echo "$records" | wc -l)" -eq 48 ] || { echo "mitdb_48: expected 48 records in $data/mitdb" >&2; exit 1; }
for run in 1 2 3; do
  start=$(date +%s.%N)
  echo "$records" | xargs -P2 -n1 "$bin" analyze >/dev/null
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v r="$run" 'BEGIN { printf "run %d: 48 records, 2 processes at a time: %.2f s\n", r, e - s }'
done
