#!/usr/bin/env bash
# Installs dependencies, builds, then runs the main job on bundled inputs: a SPICE-level MIF neuron
# (circuits/examples/mif_neuron.cir) and a short MEMprop training of a 784-100-10 memristive spiking
# network on Fashion-MNIST, from generated netlist to exported trained netlist.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
M=build/apps/memspice
mkdir -p out
$M sim circuits/examples/mif_neuron.cir --csv out/mif_neuron.csv --plot out/mif_neuron.png --signals "v(v)"

# Two short epochs (6,000 images each, T = 200 steps); docs/training.md has the full recipe (85-88 %).
$M gen msnn --layers 784,100,10 --method semi-implicit --steps 200 --layer-scale 150,0.03 \
  --dataset fashion-mnist -o out/msnn.cir
rm -rf out/msnn_run
$M train out/msnn.cir --epochs 2 --max-train 6000 --batch-size 64 --lr 2e-3 --out out/msnn_run
$M export out/msnn_run -o out/msnn_trained.cir --sample 0
echo "quickstart: waveform out/mif_neuron.csv, plot out/mif_neuron.png;" \
  "trained network out/msnn_trained.cir, run directory out/msnn_run (metrics, learning_curves.png, membrane.png)"
