#!/usr/bin/env bash
# Installs what is missing and builds dlpgate into build/ (Release-with-debug-info).
#   deploy/build.sh            # everything: binaries, tests, benchmarks
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/install-deps.sh"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j"$jobs"
