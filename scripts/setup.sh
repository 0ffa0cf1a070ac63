#!/usr/bin/env bash
# setup.sh — on a fresh Debian 12 machine: install what is missing, build, analyse a demo record.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ecgnet_install_deps

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

data="${ECGNET_DATA:-../shared/ecgdata}"
if [ -f "$data/mitdb/100.hea" ]; then
  demo="$data/mitdb/100"
else
  # No reference data beside the project: analyse a generated record instead.
  mkdir -p build/demo
  build/cmd/ecgnet synth build/demo demo --seconds 60 --leads 12 --fs 500 --pvc 0.05
  demo=build/demo/demo
fi
echo "== ecgnet analyze $demo"
build/cmd/ecgnet analyze "$demo" --beats build/demo-beats.csv
echo "(beats written to build/demo-beats.csv; 'build/cmd/ecgnet --help' lists the commands)"
