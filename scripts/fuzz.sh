#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset `fuzz`, clang) and runs each for SECONDS (default 60),
# seeded with the repository's decks. Exits non-zero on any crash, leak, timeout, OOM or
# sanitizer report; the reproducer is kept and its path printed.
#   scripts/fuzz.sh [SECONDS]        env: FUZZ_TARGETS="netlist_fuzz circuit_fuzz"  MEMSPICE_JOBS=N
#                                         FUZZ_TIMEOUT=S (per-input hang limit, wall seconds, default 5;
#                                         raise it on a loaded machine, where wall time is not CPU time)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
  echo "usage: scripts/fuzz.sh [SECONDS]   (SECONDS: positive integer, default 60)" >&2
  exit 2
fi
targets=(${FUZZ_TARGETS:-netlist_fuzz circuit_fuzz})
jobs="${MEMSPICE_JOBS:-$(nproc)}"
timeout="${FUZZ_TIMEOUT:-5}"
if ! [[ "$timeout" =~ ^[0-9]+$ ]] || (( timeout < 1 )); then
  echo "scripts/fuzz.sh: FUZZ_TIMEOUT must be a positive integer (seconds), got '$timeout'" >&2
  exit 2
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs" --target "${targets[@]}"

# Everything the fuzzer writes goes to a temporary directory, never into the repository.
work="$(mktemp -d "${TMPDIR:-/tmp}/memspice-fuzz.XXXXXX")"
keep=0
trap '[[ $keep == 1 ]] || rm -rf "$work"' EXIT

# Seed corpus: every deck and library file, flattened to unique names; tests/fuzz/seeds holds
# inputs that once found bugs (regression seeds).
seed="$work/seed"
mkdir -p "$seed"
while IFS= read -r -d '' f; do
  rel="${f#"$repo"/}"
  cp "$f" "$seed/${rel//\//_}"
done < <(find "$repo/tests/regression/decks" "$repo/tests/netlist_errors" "$repo/circuits/examples" \
              "$repo/circuits/lib" "$repo/tests/fuzz/seeds" -type f \( -name '*.cir' -o -name '*.sp' -o -name '*.lib' \
              -o -name '*.inc' \) -print0)
# Inputs name "fuzz.cir" in the working directory: give their .include/.lib lines files to find.
run_dir="$work/run"
mkdir -p "$run_dir/lib"
cp "$repo"/tests/regression/decks/lib/* "$repo"/tests/netlist_errors/lib/* "$run_dir/lib/"
cp "$repo"/circuits/lib/*.lib "$run_dir/"

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"

status=0
for t in "${targets[@]}"; do
  corpus="$work/corpus-$t"
  mkdir -p "$corpus" "$work/artifacts"
  cp "$seed"/* "$corpus/"
  echo "== $t: ${seconds}s, seeds: $(ls "$seed" | wc -l)"
  log="$work/$t.log"
  if (cd "$run_dir" && "$repo/build-fuzz/tests/fuzz/$t" "$corpus" \
        -max_total_time="$seconds" -seed=1 -timeout="$timeout" -rss_limit_mb=2048 -max_len=8192 \
        -dict="$repo/tests/fuzz/spice.dict" -artifact_prefix="$work/artifacts/$t-" \
        -print_final_stats=1) >"$log" 2>&1; then
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  else
    status=1
    keep=1
    tail -n 60 "$log"
    echo "FAIL: $t; reproducers:" >&2
    ls "$work/artifacts/$t-"* >&2 2>/dev/null || true
    echo "full log: $log  (reproduce: cd $run_dir && $repo/build-fuzz/tests/fuzz/$t ARTIFACT)" >&2
  fi
done
exit "$status"
