#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest; then builds the
# libFuzzer targets of the parsers with clang (a separate tree) and runs each briefly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
bash "$root/deploy/build.sh"
cd "$root/build"
ctest --output-on-failure -j"$jobs" --timeout 600

# Fuzzing: every tests/inspectors/fuzz/*_fuzz.cc, DLP_FUZZ_SECONDS each (default 20).
mapfile -t fuzzers < <(find "$root/tests/inspectors/fuzz" -name '*_fuzz.cc' -printf '%f\n' |
  sed 's/\.cc$//' | sort)
if [ "${#fuzzers[@]}" -gt 0 ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDLP_BUILD_BENCH=OFF -DDLP_FUZZ_SECONDS="${DLP_FUZZ_SECONDS:-20}" >/dev/null
  cmake --build "$root/build-fuzz" -j"$jobs" --target "${fuzzers[@]}"
  ctest --test-dir "$root/build-fuzz" --output-on-failure -L fuzz -j"$jobs"
fi
