#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/build.sh"
cd "$root/build"
ctest --output-on-failure -j"$(nproc 2>/dev/null || echo 2)" --timeout 600
