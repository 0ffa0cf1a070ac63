#!/usr/bin/env bash
# setup.sh — on a fresh Debian 12 machine: install what is missing, build, then run ecgnet's main
# job on its embedded defaults: the ecgnetd server, fed by a simulated device with a demo record.
#
# ECGNET_SETUP_NO_SERVE=1 stops after the demo instead of leaving ecgnetd running.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ecgnet_install_deps

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
bin=build/cmd

data="${ECGNET_DATA:-../shared/ecgdata}"
if [ -f "$data/mitdb/207.hea" ]; then
  demo="$data/mitdb/207"   # ventricular flutter at 41 s: a critical flag
else
  # No reference data beside the project: a generated 12-lead ECG instead.
  mkdir -p build/demo
  $bin/ecgnet synth build/demo demo --seconds 60 --leads 12 --fs 500 --pvc 0.05 >/dev/null
  demo=build/demo/demo
fi

echo "== ecgnet analyze $demo (the offline analysis)"
$bin/ecgnet analyze "$demo"

# The server on its defaults: 127.0.0.1:8080, data in ./ecgnet-data. A demo device is registered
# (once) and streams the record as a bedside device would, 60 times faster than real time.
port=8080
if ! $bin/ecgnet device list 2>/dev/null | grep -q '^demo-device '; then
  $bin/ecgnet device add demo-device --site "Demo Township Hospital" > build/demo-device.txt
fi
token="$(grep -oE '[A-Za-z0-9_-]{43}' build/demo-device.txt | head -1)"
# A cardiologist to log in to the page with (its password is printed below, and kept in build/).
if ! $bin/ecgnet user list 2>/dev/null | grep -q '^demo-cardiologist '; then
  head -c 12 /dev/urandom | base64 | tr -d '+/=' > build/demo-cardiologist.txt
  $bin/ecgnet user add demo-cardiologist --role cardiologist < build/demo-cardiologist.txt >/dev/null
fi
echo "== ecgnetd (127.0.0.1:$port, data in ./ecgnet-data)"
$bin/ecgnetd &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 1
echo "== ecgnet replay $demo: a simulated device streams it to ecgnetd"
$bin/ecgnet replay "$demo" --url "ws://127.0.0.1:$port" --device demo-device --token "$token" \
  --recording "demo-$(date +%s)" --speed 60 --verify ecgnet-data
echo
echo "ecgnetd is serving on ws://127.0.0.1:$port/v1/device (metrics: http://127.0.0.1:$port/metrics)."
echo "The cardiologists' page: http://127.0.0.1:$port/ — user demo-cardiologist, password $(cat build/demo-cardiologist.txt)"
echo "Register real devices with:  $bin/ecgnet device add ID --site SITE"
if [ "${ECGNET_SETUP_NO_SERVE:-0}" = 1 ]; then
  exit 0
fi
echo "Ctrl-C stops it (a kill -9 would lose no acknowledged sample either)."
trap - EXIT
wait "$server"
