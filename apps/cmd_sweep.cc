// `memspice sweep DECK`: the deck once per `.step` value (nested .step cards give every
// combination, the first card varying fastest), runs shared among threads and, under mpirun,
// among ranks; one raw file with a plot per run and a CSV of the `.meas` results per run.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <thread>

#include "apps/cli_common.h"
#include "netlist/directive_cards.h"
#include "netlist/expression.h"
#include "parallel/collective.h"
#include "solver/circuit.h"
#include "solver/measure.h"
#include "solver/raw_file.h"

namespace memspice::apps {
namespace {

struct SweepArgs {
  std::string deck, raw, csv, method;
  std::vector<std::string> sets, include_dirs;
  int threads = 2;
  bool ascii = false, quiet = false;
};

// One .step card: a parameter and its values.
struct Step {
  std::string param;
  std::vector<double> values;
};

constexpr int kMaxRuns = 1'000'000;  // guards against a typo such as a step of 1f over 1 s

// `.step param NAME START STOP STEP` or `.step param NAME list V1 V2 ...`.
bool ParseStep(const netlist::DirectiveCard& card, netlist::Diagnostics& diag, Step* out) {
  const auto& w = card.words;
  size_t i = 1;
  if (i < w.size() && w[i].text == "param") ++i;
  if (i >= w.size()) {
    diag.Error(card.end, "expected a parameter name after .step",
               "write .step param NAME START STOP STEP or .step param NAME list V1 V2 ...");
    return false;
  }
  out->param = w[i++].text;
  const bool list = i < w.size() && w[i].text == "list";
  if (list) ++i;
  std::vector<double> nums;
  for (; i < w.size(); ++i) {
    std::optional<double> v = netlist::ParseSpiceNumber(w[i].text);
    if (!v || !std::isfinite(*v)) {
      diag.Error(w[i].loc, fmt::format("'{}' is not a number", w[i].text),
                 "steps take numbers such as 1k, 2.5m, 1e-3");
      return false;
    }
    nums.push_back(*v);
  }
  if (list) {
    if (nums.empty()) diag.Error(card.end, "'list' needs at least one value");
    out->values = nums;
    return !nums.empty();
  }
  if (nums.size() != 3 || nums[2] == 0 || (nums[1] - nums[0]) / nums[2] < 0 ||
      (nums[1] - nums[0]) / nums[2] > kMaxRuns) {
    diag.Error(card.loc,
               fmt::format(".step param {} needs START STOP STEP with STEP != 0 going "
                           "from START towards STOP (at most {} values)",
                           out->param, kMaxRuns),
               "e.g. .step param r 1k 5k 1k, or .step param r list 1k 2.2k 4.7k");
    return false;
  }
  const int n = static_cast<int>(std::floor((nums[1] - nums[0]) / nums[2] * (1 + 1e-9))) + 1;
  for (int k = 0; k < n; ++k) out->values.push_back(nums[0] + k * nums[2]);
  return true;
}

struct Run {
  std::map<std::string, double> params;
  solver::WaveformTable table;   // the run's last analysis
  std::vector<double> measures;  // NaN where a measurement failed
  std::string error;             // a failed run (simulation error)
};

// Runs one point: parse with the overrides, build, run every analysis, measure the last.
void Simulate(const SweepArgs& a, const DeckReparser& reparse,
              const std::vector<solver::Measurement>& measures, Run* run,
              std::vector<std::string>* warnings) {
  std::string error;
  std::optional<netlist::Netlist> nl = reparse(run->params, &error);
  if (!nl) {
    run->error = error;
    return;
  }
  solver::SimOptions options;
  netlist::Diagnostics diag;
  std::unique_ptr<solver::Circuit> circuit;
  if (!TransientOptions(*nl, a.method, 0.0, &options) ||
      !(circuit = solver::Circuit::Build(*nl, diag))) {
    run->error = diag.Format().empty() ? "bad options" : diag.Format();
    return;
  }
  for (const netlist::Analysis& analysis : nl->analyses) {
    run->table = solver::WaveformTable();
    solver::Status s = solver::RunAnalysis(*circuit, *nl, analysis, options, nullptr, &run->table);
    if (!s.ok()) {
      run->error = s.message();
      return;
    }
  }
  for (const solver::Measurement& m : measures) {
    double v = std::numeric_limits<double>::quiet_NaN();
    if (solver::Status s = solver::EvaluateMeasurement(m, run->table, &v); !s.ok()) {
      warnings->push_back(s.message());
    }
    run->measures.push_back(v);
  }
}

// Packs this rank's runs (measures, errors and, for the raw file, the tables) and gathers them
// on every rank in run order.
void Gather(const parallel::Collective& world, bool tables, int n_measures,
            std::vector<Run>* runs) {
  const auto [first, last] =
      parallel::BlockOf(static_cast<int>(runs->size()), world.rank(), world.size());
  std::vector<double> nums;
  std::string text;
  for (int r = first; r < last; ++r) {
    const Run& run = (*runs)[r];
    nums.insert(nums.end(), run.measures.begin(), run.measures.end());
    nums.resize(nums.size() + (n_measures - run.measures.size()),
                std::numeric_limits<double>::quiet_NaN());
    text += run.error + '\x1f';
    if (!tables) continue;
    const solver::WaveformTable& t = run.table;
    nums.push_back(t.num_points());
    nums.insert(nums.end(), t.scale.begin(), t.scale.end());
    for (const auto& row : t.rows) nums.insert(nums.end(), row.begin(), row.end());
    text += t.title + '\x1f' + t.analysis + '\x1f' + t.scale_name + '\x1f';
    for (const auto& n : t.names) text += n + '\x1e';
    text += '\x1f';
  }
  const std::vector<double> all = world.AllGather(nums);
  std::string all_text;
  for (const auto& s : world.AllGatherText(text)) all_text += s;
  size_t at = 0, pos = 0;
  auto field = [&] {
    const size_t end = all_text.find('\x1f', pos);
    std::string f = all_text.substr(pos, end - pos);
    pos = end + 1;
    return f;
  };
  for (Run& run : *runs) {
    run.measures.assign(all.begin() + at, all.begin() + at + n_measures);
    at += n_measures;
    run.error = field();
    if (!tables) continue;
    solver::WaveformTable& t = run.table;
    t.title = field();
    t.analysis = field();
    t.scale_name = field();
    t.names.clear();
    std::istringstream names(field());
    for (std::string n; std::getline(names, n, '\x1e');) t.names.push_back(n);
    const size_t points = static_cast<size_t>(all[at++]);
    t.scale.assign(all.begin() + at, all.begin() + at + points);
    at += points;
    t.rows.assign(points, {});
    for (auto& row : t.rows) {
      row.assign(all.begin() + at, all.begin() + at + t.names.size());
      at += t.names.size();
    }
  }
}

// Runs [first, last) of `runs` on `threads` threads.
void RunBlock(const SweepArgs& a, const DeckReparser& reparse,
              const std::vector<solver::Measurement>& measures, int first, int last,
              std::vector<Run>* runs, std::vector<std::string>* warnings) {
  std::atomic<int> next{first};
  std::vector<std::vector<std::string>> per_thread(std::max(1, a.threads));
  auto worker = [&](int t) {
    for (int r = next++; r < last; r = next++) {
      Simulate(a, reparse, measures, &(*runs)[r], &per_thread[t]);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < a.threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
  for (const auto& w : per_thread) warnings->insert(warnings->end(), w.begin(), w.end());
}

std::string RunLabel(const Run& run) {
  std::string s;
  for (const auto& [k, v] : run.params) s += fmt::format("{}{}={:.6g}", s.empty() ? "" : " ", k, v);
  return s;
}

bool WriteMeasureCsv(const std::string& path, const std::vector<Step>& steps,
                     const std::vector<solver::Measurement>& measures,
                     const std::vector<Run>& runs) {
  std::ofstream out(path);
  out << "run";
  for (const Step& s : steps) out << "," << s.param;
  for (const auto& m : measures) out << "," << m.name;
  out << "\n";
  for (size_t r = 0; r < runs.size(); ++r) {
    out << r + 1;
    for (const Step& s : steps) out << fmt::format(",{:.17g}", runs[r].params.at(s.param));
    for (double v : runs[r].measures) out << (std::isnan(v) ? "," : fmt::format(",{:.17g}", v));
    out << "\n";
  }
  return static_cast<bool>(out);
}

int RunSweep(const SweepArgs& a) {
  const parallel::Collective* shared = parallel::SharedWorld();
  const parallel::LocalCollective alone;
  const parallel::Collective& world = shared ? *shared : alone;
  const bool root = world.is_root();
  if (a.threads < 1) {
    if (root) std::cerr << fmt::format("error: --threads {} must be >= 1\n", a.threads);
    return kExitInputError;
  }
  // The deck, its .step and .meas cards: any rank's error stops every rank with that message.
  netlist::Diagnostics diag;
  std::vector<netlist::DirectiveCard> step_cards, meas_cards;
  std::vector<Step> steps;
  std::vector<solver::Measurement> measures;
  netlist::ParseOptions po;
  po.include_paths = LibraryPaths(a.include_dirs);
  std::optional<netlist::Netlist> nl;
  std::string error;
  {
    std::ostringstream err;
    std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
    nl = LoadDeck(a.deck, a.sets, a.include_dirs);
    std::cerr.rdbuf(old);
    if (nl) {
      netlist::ReadDirectiveCards(a.deck, po, {".step"}, diag, &step_cards);
      netlist::ReadDirectiveCards(a.deck, po, {".meas", ".measure"}, diag, &meas_cards);
      for (const auto& c : step_cards) {
        steps.emplace_back();
        if (!ParseStep(c, diag, &steps.back())) steps.pop_back();
      }
      solver::ParseMeasurements(meas_cards, diag, &measures);
      if (steps.empty() && !diag.has_errors()) {
        diag.Error(netlist::SourceLoc{a.deck, 0, 0}, "the deck has no .step card",
                   "add e.g. .step param r list 1k 2k 4k");
      }
      err << diag.Format();
    }
    error = (!nl || diag.has_errors()) ? err.str() : "";
    if (error.empty() && root && !a.quiet) std::cerr << err.str();  // warnings
  }
  if (error = AgreeOnError(error); !error.empty()) {
    if (root) std::cerr << error;
    return kExitInputError;
  }
  // Every combination, the first .step varying fastest.
  std::vector<Run> runs(1);
  for (const Step& s : steps) {
    std::vector<Run> next;
    for (double v : s.values)
      for (const Run& r : runs) {
        next.push_back(r);
        next.back().params[s.param] = v;
      }
    runs = std::move(next);
  }
  const DeckReparser reparse = MakeDeckReparser(a.deck, a.sets, a.include_dirs);
  const auto [first, last] =
      parallel::BlockOf(static_cast<int>(runs.size()), world.rank(), world.size());
  std::vector<std::string> warnings;
  RunBlock(a, reparse, measures, first, last, &runs, &warnings);
  Gather(world, !a.raw.empty(), static_cast<int>(measures.size()), &runs);
  std::string mine;
  for (const auto& w : warnings) mine += "warning: " + w + "\n";
  const std::vector<std::string> all_warnings = world.AllGatherText(mine);
  if (!root) return kExitOk;
  for (const auto& w : all_warnings) std::cerr << w;
  int failed = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    if (runs[r].error.empty()) continue;
    ++failed;
    std::cerr << fmt::format("error: run {} ({}): {}\n", r + 1, RunLabel(runs[r]), runs[r].error);
  }
  if (!a.raw.empty()) {
    std::vector<solver::WaveformTable> tables;
    for (size_t r = 0; r < runs.size(); ++r) {
      if (!runs[r].error.empty()) continue;
      tables.push_back(runs[r].table);
      tables.back().title =
          fmt::format("{} (run {}: {})", runs[r].table.title, r + 1, RunLabel(runs[r]));
    }
    if (solver::Status s = solver::WriteRaw(tables, a.raw, !a.ascii); !s.ok()) {
      PrintStatus(s);
      return kExitSimulationError;
    }
    if (!a.quiet) std::cout << fmt::format("raw file: {} ({} plots)\n", a.raw, tables.size());
  }
  if (!a.csv.empty()) {
    if (!WriteMeasureCsv(a.csv, steps, measures, runs)) {
      std::cerr << fmt::format("error: cannot write '{}'\n", a.csv);
      return kExitSimulationError;
    }
    if (!a.quiet) std::cout << "measurements: " << a.csv << "\n";
  }
  if (!a.quiet) {
    for (size_t r = 0; r < runs.size(); ++r) {
      std::cout << fmt::format("run {} ({})", r + 1, RunLabel(runs[r]));
      for (size_t m = 0; m < measures.size(); ++m)
        std::cout << fmt::format("  {}={:.6g}", measures[m].name, runs[r].measures[m]);
      std::cout << "\n";
    }
  }
  return failed ? kExitSimulationError : kExitOk;
}

}  // namespace

void RegisterSweep(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Run a deck for every .step value (threads, MPI ranks); raw plots + .meas CSV");
  cmd->add_option("deck", args->deck, "Netlist with .step (and .meas) cards")->required();
  cmd->add_option("--raw", args->raw, "Write every run's last analysis as one plot per run");
  cmd->add_flag("--ascii", args->ascii, "Raw file in ascii format");
  cmd->add_option("--csv", args->csv, "Write one row per run: step values and .meas results");
  cmd->add_option("--threads", args->threads, "Runs simulated at once in each process");
  cmd->add_option("--method", args->method, "Integration method: fe, be, trap, gear2, rk4");
  cmd->add_option("--set", args->sets, "Override a .param: NAME=VALUE (repeatable)");
  cmd->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  cmd->add_flag("-q,--quiet", args->quiet, "Print only errors");
  cmd->callback([args, exit_code]() { *exit_code = RunSweep(*args); });
}

}  // namespace memspice::apps
