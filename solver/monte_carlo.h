// Monte Carlo runs (`memspice sweep --mc N`): the seed of each run, device spreads drawn per
// instance, and the numbers a run draws (the CSV columns of the drawn values).
//
// A run's values depend only on (seed, run index): run k re-parses the deck with
// ParseOptions::seed = RunSeed(seed, k) and draws its spreads from the same seed, so that the
// split of the runs over threads and MPI ranks cannot change them. Run 0 is the nominal circuit
// (ParseOptions::nominal, no spread).
#ifndef MEMSPICE_SOLVER_MONTE_CARLO_H_
#define MEMSPICE_SOLVER_MONTE_CARLO_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "netlist/netlist.h"

namespace memspice::solver {

// The seed of Monte Carlo run `run` (>= 1) of a sweep seeded with `seed`: a SplitMix64 hash of
// both, so that neighbouring runs and seeds give unrelated streams.
uint64_t RunSeed(uint64_t seed, int run);

// A relative gaussian spread of one device parameter: every instance of the device gets
// value * (1 + sigma * N(0, 1)), drawn independently.
struct Spread {
  std::string device;  // "mss" (a Y device type) or an element letter ("r", "c", "d")
  std::string param;   // a row of the device's parameter table; "value" for the element value
  double sigma = 0;    // relative standard deviation (0.05 for 5%)
};

// Parses DEVICE.PARAM=SIGMA with SIGMA a number (0.05) or a percentage (5%), checking the device
// and the parameter against the registry's parameter tables.
Status ParseSpread(const std::string& text, Spread* out);

// Draws every spread for every instance of its device, in element order, from `seed`, and
// writes the value on the instance. An instance's nominal value is its own (instance line), else
// its model card's, else the table default; `nominal_run` writes that value undrawn (run 0).
// Errors: a parameter no instance may carry (a .model-only parameter), a missing nominal value.
Status ApplySpreads(const std::vector<Spread>& spreads, uint64_t seed, bool nominal_run,
                    netlist::Netlist* nl);

// The numbers of a flattened deck that Monte Carlo can draw, by name: top-level .params ("r"),
// element values ("r1:value"), instance parameters ("ymss1:ron") and model parameters
// ("mssn:tau"); run 0 and run 1 differ where a run draws.
std::map<std::string, double> DrawableValues(const netlist::Netlist& nl);

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_MONTE_CARLO_H_
