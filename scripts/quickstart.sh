#!/usr/bin/env bash
# Installs dependencies, builds, and simulates the bundled example deck.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p out
build/apps/memspice sim circuits/examples/mif_neuron.cir --csv out/mif_neuron.csv \
  --plot out/mif_neuron.png --signals "v(v)"
