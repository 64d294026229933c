// The nonlinear pulse response of an MSS synapse from the programming model (training/
// programming.h), and the single-device decks that give the same curves through `memspice sim`
// (benchmarks/pulse_response.sh runs them, joins and plots). Pulses follow each other without
// gaps, so pulse n ends at t = n w under a constant voltage: the deck is a DC source across one
// device, and G = |i(v1)| / |V| at t = n w.
//
//   pulse_response_bench DEVICE_FILE OUT_DIR [--pulses 600] [--every 20] [--steps-per-pulse 20]
//
// Four cases from the device card (`.model NAME mss (...)`, docs/device_updates.md): SET at the
// card's set_amplitude and at a weaker pulse von + 0.3 (set_amplitude - von) from x0 = 0.05, RESET
// likewise from x0 = 0.95. Writes OUT_DIR/model.csv (pulse, every `every` pulses, then G [S] per
// case) and OUT_DIR/case<k>.cir; prints one line per case: deck, volts, fixed RK4 step.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "training/programming.h"

namespace mt = memspice::training;
namespace mss = memspice::devices::mss;

namespace {

// Fraction of the way from the threshold to the card's amplitude of the weaker pulse.
constexpr double kWeakFraction = 0.3;
// Initial states of the SET and RESET trains: near the ends the response is largest.
constexpr double kSetStart = 0.05, kResetStart = 0.95;

struct Case {
  const char* label;
  double volts, x0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("MSS pulse response: programming model and single-device decks");
  std::string device, out;
  int pulses = 600, every = 20, steps = 20;
  app.add_option("device", device, "File with the .model NAME mss (...) card")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("out", out, "Output folder")->required();
  app.add_option("--pulses", pulses, "Pulses per train")->check(CLI::PositiveNumber);
  app.add_option("--every", every, "Write G every N pulses")->check(CLI::PositiveNumber);
  app.add_option("--steps-per-pulse", steps, "RK4 steps per pulse in the decks")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  std::string name;
  mt::ProgrammingOptions o;
  try {
    o = mt::ReadDeviceCard(device, &name);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  const mss::MssParams& p = o.synapse;
  const std::vector<Case> cases = {
      {"set", p.von + kWeakFraction * (o.set_amplitude - p.von), kSetStart},
      {"set", o.set_amplitude, kSetStart},
      {"reset", p.voff + kWeakFraction * (o.reset_amplitude - p.voff), kResetStart},
      {"reset", o.reset_amplitude, kResetStart},
  };
  std::filesystem::create_directories(out);
  std::ofstream csv(out + "/model.csv");
  csv << "pulse";
  for (const Case& c : cases) csv << fmt::format(",{}_{:.3g}V", c.label, c.volts);
  csv << "\n";
  for (int n = 0; n <= pulses; n += every) {
    csv << n;
    for (const Case& c : cases)
      csv << fmt::format(
          ",{:.17g}",
          mss::Conductance(p, mt::ApplyPulseTrain(p, c.x0, c.volts, o.pulse_width, n).x));
    csv << "\n";
  }
  const double step = o.pulse_width / steps;
  const std::string include = std::filesystem::absolute(device).string();
  for (size_t k = 0; k < cases.size(); ++k) {
    const std::string deck = fmt::format("{}/case{}.cir", out, k);
    std::ofstream(deck) << fmt::format(
        "* one synapse device under {} pulses of {:.17g} V, {:.17g} s each\n"
        ".include \"{}\"\nV1 p 0 DC {:.17g}\nYMSS m1 p 0 {} x0={:.17g}\n.tran {:.17g} {:.17g}\n"
        ".end\n",
        pulses, cases[k].volts, o.pulse_width, include, cases[k].volts, name, cases[k].x0, step,
        o.pulse_width * pulses);
    std::cout << fmt::format("{} {:.17g} {:.17g}\n", deck, cases[k].volts, step);
  }
  return csv.good() ? 0 : 1;
}
