#!/usr/bin/env bash
# The one test command: installs what is missing, then checks formatting, builds and runs the
# whole suite under ASan+UBSan (-Werror), the threaded tests under TSan (the tsan preset builds
# only the tests that run threads: LVS_TESTS_THREADED_ONLY), the fuzz targets for a
# bounded time, and clang-tidy.
# Usage: scripts/test.sh            (as root on Debian 12; .ci/run calls exactly this)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

step() { printf '\n==> %s  [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }

step "install dependencies"
scripts/install-deps.sh

step "clang-format (dry run)"
git ls-files -co --exclude-standard '*.h' '*.cc' | xargs -r clang-format --dry-run --Werror

step "build: dev preset (Debug, ASan+UBSan, -Werror)"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"

step "test: dev preset (unit, integration, e2e, benchmark smoke)"
ctest --preset dev -j "$jobs"

step "build + test: tsan preset (threaded tests)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs"
ctest --preset tsan -j "$jobs" -L 'unit|integration'

step "fuzz: libFuzzer targets for a bounded time each (fuzz preset, clang)"
cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j "$jobs" --target tests/fuzz/all
ctest --preset fuzz

step "clang-tidy: every source of src/ (scripts/tidy.sh)"
scripts/tidy.sh "$jobs"

echo
echo "scripts/test.sh: all checks passed"
