#!/usr/bin/env bash
# Configures and builds memspice in build/ (Release) with Ninja. Extra CMake options come from
# $MEMSPICE_CMAKE_ARGS (CI: -DMEMSPICE_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086  # word splitting of the options is intended
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${MEMSPICE_CMAKE_ARGS:-} >/dev/null
cmake --build build -j "$(nproc)"
