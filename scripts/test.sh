#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (regression decks run ngspice).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
