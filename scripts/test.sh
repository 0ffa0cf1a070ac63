#!/usr/bin/env bash
# test.sh — every test: unit and real-data tests (gcc, -O2), the store's tests again on a local
# PostgreSQL server, the browser test, again under ASan+UBSan (clang) with the libFuzzer targets run
# for a bounded time, and the accuracy regression on the reference databases.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ecgnet_install_deps
# A local PostgreSQL server for the store's *_pg tests (sets ECGNET_TEST_PG_URL).
source scripts/pg.sh
ecgnet_pg_start

jobs="$(nproc)"
fuzz_seconds="${ECGNET_FUZZ_SECONDS:-60}"

echo "== release build (gcc) and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== the reviewers' web page in headless Chromium (installs chromium and playwright-core if missing)"
tests/web/run.sh build

echo "== ASan+UBSan build (clang), tests and fuzzers (${fuzz_seconds}s each)"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DECGNET_SANITIZE=ON -DECGNET_FUZZ=ON -DECGNET_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs")
