#!/usr/bin/env bash
# ingest_load.sh — N simulated 12-lead 500 Hz devices stream in real time to one ecgnetd on this
# machine; prints the journaled samples, the latency quantiles from /metrics, the server's CPU and
# peak memory, and checks every journal sample by sample against the source record.
#
# usage: bench/ingest_load.sh [BUILD_DIR] [DEVICES] [SECONDS] [STAGGER_S]
#        (defaults: build 1000 180 20 — three minutes of signal per device, the devices joining
#        over 20 s as a region's devices would, not all in one instant)
set -euo pipefail
build="$(cd "${1:-build}" && pwd)"
devices="${2:-1000}"
seconds="${3:-180}"
stagger="${4:-20}"
port="${ECGNET_BENCH_PORT:-18190}"
work="$(mktemp -d /tmp/ecgnet-load.XXXXXX)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

"$build/cmd/ecgnet" synth . load --seconds "$seconds" --leads 12 --fs 500 --pvc 0.03 >/dev/null
token="$("$build/cmd/ecgnet" device add load --site Bench --data data | grep -oE '[A-Za-z0-9_-]{43}' | head -1)"
ulimit -n "$(ulimit -Hn)"
"$build/cmd/ecgnetd" --data data --port "$port" --log-level warn 2>server.log &
server=$!
sleep 1
started=$(date +%s)

metrics() { # GET /metrics without curl
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}

echo "== $devices devices x ${seconds} s of 12-lead 500 Hz ECG, real time, joining over ${stagger} s"
"$build/cmd/ecgnet" replay load --url "ws://127.0.0.1:$port" --device load --token "$token" \
  --devices "$devices" --speed 1 --stagger "$stagger" --quiet --verify data | tail -2
metrics > metrics.txt
awk '
  /^ecgnet_pipeline_latency_seconds_bucket/ { split($1, a, "\""); le[n] = a[2]; c[n++] = $2 }
  /^ecgnet_pipeline_latency_seconds_count/ { total = $2 }
  /^ecgnet_lead_samples_total / { ls = $2 }
  /^ecgnet_fsyncs_total / { fs = $2 }
  /^ecgnet_gaps_total / { gaps = $2 }
  /^ecgnet_frames_rejected_total / { rej = $2 }
  END {
    printf "lead-samples journaled %d, fsyncs %d, gaps %d, rejected %d, frames %d\n", ls, fs, gaps, rej, total
    for (i = 0; i < n; i++) printf "  <= %-5s s: %6.2f %%\n", le[i], 100 * c[i] / total
    for (q = 0; q < 3; q++) {
      want = (q == 0 ? 0.5 : q == 1 ? 0.99 : 0.999) * total
      for (i = 0; i < n; i++) if (c[i] >= want) { printf "p%s latency <= %s s\n", (q == 0 ? "50" : q == 1 ? "99" : "99.9"), le[i]; break }
    }
  }' metrics.txt
# The server's CPU time (user + system, clock ticks) and peak memory, from /proc.
ticks=$(awk '{ print $14 + $15 }' "/proc/$server/stat")
peak=$(awk '/VmHWM/ { print $2 }' "/proc/$server/status")
elapsed=$(( $(date +%s) - started ))
awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v e="$elapsed" -v p="$peak" \
  'BEGIN { printf "ecgnetd: %.0f %% of one core over %d s, peak RSS %d MiB\n", 100 * t / hz / e, e, p / 1024 }' 
kill -TERM "$server"
wait "$server" || true
