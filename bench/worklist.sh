#!/usr/bin/env bash
# worklist.sh — the worklist API's latency with N recordings in the store: fills a fresh store
# (bench_worklist_fill), starts ecgnetd on it, logs in as a cardiologist and times REQUESTS
# GET /api/worklist calls (the page's default view, then filtered views) over one keep-alive
# connection with curl; prints p50, p99 and max per view.
#
# usage: bench/worklist.sh [BUILD_DIR] [N] [REQUESTS] [STORE_URL]
#        (defaults: build 100000 1000, SQLite in a scratch data directory; give a
#        postgresql://... URL of an EMPTY database for PostgreSQL — `eval "$(scripts/pg.sh)"`
#        then e.g. "${ECGNET_TEST_PG_URL%/*}/ecgnet_bench" after `createdb`)
set -euo pipefail
build="$(cd "${1:-build}" && pwd)"
n="${2:-100000}"
requests="${3:-1000}"
port="${ECGNET_BENCH_PORT:-18191}"
work="$(mktemp -d /tmp/ecgnet-worklist.XXXXXX)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -m 700 "$work/data"
url="${4:-sqlite:$work/data/ecgnet.db}"
password="bench-password-$$"

t0=$(date +%s.%N)
"$build/bench/bench_worklist_fill" "$url" "$n" "$password"
echo "filled $n recordings in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s (${url%%:*})"

"$build/cmd/ecgnetd" --data "$work/data" --store "$url" --port "$port" --log-level warn 2>"$work/server.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

jar="$work/cookies"
curl -sf -c "$jar" -H 'Content-Type: application/json' \
  -d "{\"name\":\"bench-reader\",\"password\":\"$password\"}" "http://127.0.0.1:$port/api/login" >/dev/null

# One curl process, one connection, REQUESTS transfers: time_total is each request's own time.
timed() { # VIEW_NAME QUERY
  local args=()
  for _ in $(seq "$requests"); do args+=(-o /dev/null "http://127.0.0.1:$port/api/worklist$2"); done
  curl -sf -b "$jar" -w '%{time_total}\n' "${args[@]}" >"$work/times"
  sort -n "$work/times" | awk -v view="$1" '{t[NR] = $1 * 1000}
    END {printf "%-34s n=%d  p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms\n", view, NR,
         t[int(NR * 0.5) + (NR * 0.5 > int(NR * 0.5))], t[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))], t[NR]}'
}

echo "worklist API, $n recordings, $requests requests per view:"
timed "default (most urgent first, 200)" ""
timed "critical only" "?priority=critical"
timed "one site" "?site=%E4%B9%A1%E9%95%87%E5%8D%AB%E7%94%9F%E9%99%A2%2007"
timed "new, limit 50" "?review=new&limit=50"
