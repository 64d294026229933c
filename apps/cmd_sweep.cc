// `memspice sweep DECK`: the deck once per `.step` value (nested .step cards give every
// combination, the first card varying fastest) and per Monte Carlo run (--mc N: the nominal run 0,
// then N runs with their own draws), runs shared among threads and, under mpirun, among ranks;
// one raw file with a plot per run and a CSV of the drawn values and `.meas` results per run.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "apps/cli_common.h"
#include "io/raw_file.h"
#include "netlist/directive_cards.h"
#include "netlist/expression.h"
#include "parallel/collective.h"
#include "solver/circuit.h"
#include "solver/measure.h"
#include "solver/monte_carlo.h"

namespace memspice::apps {
namespace {

struct SweepArgs {
  std::string deck, raw, csv, method;
  std::vector<std::string> sets, include_dirs, spreads;
  int threads = 2;
  int mc = 0;
  uint64_t seed = 0;
  bool mc_given = false, seed_given = false;  // --mc, --seed on the command line
  bool ascii = false, quiet = false, progress = false, no_progress = false;
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

// Monte Carlo: runs 1..runs drawn from RunSeed(seed, run), run 0 nominal (solver/monte_carlo.h).
struct MonteCarlo {
  int runs = 0;  // 0: no Monte Carlo
  uint64_t seed = 0;
  std::vector<solver::Spread> spreads;
  std::vector<std::string> drawn;  // names of the drawn values (solver::DrawableValues)
};

// What every run shares.
struct Plan {
  SeededReparser reparse;
  std::vector<Step> steps;
  std::vector<solver::Measurement> measures;
  MonteCarlo mc;
};

struct Run {
  std::map<std::string, double> params;  // .step values
  int mc = -1;                           // Monte Carlo run (0: nominal), -1 without --mc
  io::WaveformTable table;               // the run's last analysis
  std::vector<double> measures;          // NaN where a measurement failed
  std::vector<double> drawn;             // values of Plan::mc.drawn (NaN: absent)
  std::string error;                     // a failed run (simulation error)
};

// The run's deck: parsed with the .step values and its Monte Carlo draws.
std::optional<netlist::Netlist> RunDeck(const Plan& plan, const Run& run, std::string* error) {
  std::optional<uint64_t> seed;
  if (run.mc >= 0) seed = solver::RunSeed(plan.mc.seed, run.mc);
  std::optional<netlist::Netlist> nl = plan.reparse(run.params, seed, run.mc == 0, error);
  if (nl && run.mc >= 0) {
    if (Status s = solver::ApplySpreads(plan.mc.spreads, *seed, run.mc == 0, &*nl); !s.ok()) {
      *error = s.message() + (s.hint().empty() ? "" : "; " + s.hint());
      return std::nullopt;
    }
  }
  return nl;
}

// Runs one point: parse with the overrides and draws, build, run every analysis, measure the last.
void Simulate(const SweepArgs& a, const Plan& plan, Run* run, std::vector<std::string>* warnings) {
  std::optional<netlist::Netlist> nl = RunDeck(plan, *run, &run->error);
  if (!nl) return;
  if (!plan.mc.drawn.empty()) {
    const std::map<std::string, double> values = solver::DrawableValues(*nl);
    for (const std::string& name : plan.mc.drawn) {
      auto it = values.find(name);
      run->drawn.push_back(it == values.end() ? std::numeric_limits<double>::quiet_NaN()
                                              : it->second);
    }
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
    run->table = io::WaveformTable();
    Status s = solver::RunAnalysis(*circuit, *nl, analysis, options, nullptr, &run->table);
    if (!s.ok()) {
      run->error = s.message();
      return;
    }
  }
  for (const solver::Measurement& m : plan.measures) {
    double v = std::numeric_limits<double>::quiet_NaN();
    if (Status s = solver::EvaluateMeasurement(m, run->table, &v); !s.ok()) {
      warnings->push_back(s.message());
    }
    run->measures.push_back(v);
  }
}

// Appends `values` padded with NaN to `n` entries.
void AppendPadded(const std::vector<double>& values, size_t n, std::vector<double>* out) {
  out->insert(out->end(), values.begin(), values.end());
  out->resize(out->size() + (n - values.size()), std::numeric_limits<double>::quiet_NaN());
}

// Packs this rank's runs (measures, drawn values, errors and, for the raw file, the tables) and
// gathers them on every rank in run order.
void Gather(const parallel::Collective& world, bool tables, size_t n_measures, size_t n_drawn,
            std::vector<Run>* runs) {
  const auto [first, last] =
      parallel::BlockOf(static_cast<int>(runs->size()), world.rank(), world.size());
  std::vector<double> nums;
  std::string text;
  for (int r = first; r < last; ++r) {
    const Run& run = (*runs)[r];
    AppendPadded(run.measures, n_measures, &nums);
    AppendPadded(run.drawn, n_drawn, &nums);
    text += run.error + '\x1f';
    if (!tables) continue;
    const io::WaveformTable& t = run.table;
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
  auto take = [&](size_t n, std::vector<double>* out) {
    out->assign(all.begin() + at, all.begin() + at + n);
    at += n;
  };
  for (Run& run : *runs) {
    take(n_measures, &run.measures);
    take(n_drawn, &run.drawn);
    run.error = field();
    if (!tables) continue;
    io::WaveformTable& t = run.table;
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
    for (auto& row : t.rows) take(t.names.size(), &row);
  }
}

// Runs [first, last) of `runs` on `threads` threads; with `progress`, a line on stderr counts
// the runs done in this block.
void RunBlock(const SweepArgs& a, const Plan& plan, int first, int last, bool progress,
              std::vector<Run>* runs, std::vector<std::string>* warnings) {
  std::atomic<int> next{first}, done{0};
  std::mutex print;
  std::vector<std::vector<std::string>> per_thread(std::max(1, a.threads));
  auto worker = [&](int t) {
    for (int r = next++; r < last; r = next++) {
      Simulate(a, plan, &(*runs)[r], &per_thread[t]);
      const int n = ++done;
      if (!progress) continue;
      std::lock_guard<std::mutex> lock(print);
      std::cerr << fmt::format("\rsweep: {}/{} runs{}", n, last - first,
                               last - first < static_cast<int>(runs->size()) ? " (rank 0)" : "")
                << std::flush;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < a.threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
  if (progress) std::cerr << "\n";
  for (const auto& w : per_thread) warnings->insert(warnings->end(), w.begin(), w.end());
}

std::string RunLabel(const Run& run) {
  std::string s = run.mc >= 0 ? fmt::format("mc={}", run.mc) : "";
  for (const auto& [k, v] : run.params) s += fmt::format("{}{}={:.6g}", s.empty() ? "" : " ", k, v);
  return s;
}

std::string Cell(double v) { return std::isnan(v) ? "," : fmt::format(",{:.17g}", v); }

std::string MeasureCsv(const Plan& plan, const std::vector<Run>& runs) {
  std::string out = plan.mc.runs > 0 ? "run,mc" : "run";
  for (const Step& s : plan.steps) out += "," + s.param;
  for (const std::string& d : plan.mc.drawn) out += "," + d;
  for (const auto& m : plan.measures) out += "," + m.name;
  out += "\n";
  for (size_t r = 0; r < runs.size(); ++r) {
    out += std::to_string(r + 1);
    if (plan.mc.runs > 0) out += fmt::format(",{}", runs[r].mc);
    for (const Step& s : plan.steps) out += Cell(runs[r].params.at(s.param));
    for (double v : runs[r].drawn) out += Cell(v);
    for (double v : runs[r].measures) out += Cell(v);
    out += "\n";
  }
  return out;
}

// Reads the .step and .meas cards into the plan; reports the errors to diag.
void ReadCards(const SweepArgs& a, netlist::Diagnostics& diag, Plan* plan) {
  netlist::ParseOptions po;
  po.include_paths = LibraryPaths(a.include_dirs);
  std::vector<netlist::DirectiveCard> step_cards, meas_cards;
  netlist::ReadDirectiveCards(a.deck, po, {".step"}, diag, &step_cards);
  netlist::ReadDirectiveCards(a.deck, po, {".meas", ".measure"}, diag, &meas_cards);
  for (const auto& c : step_cards) {
    plan->steps.emplace_back();
    if (!ParseStep(c, diag, &plan->steps.back())) plan->steps.pop_back();
  }
  solver::ParseMeasurements(meas_cards, diag, &plan->measures);
}

// The deck's `.options NAME=` as a count or seed: an integer in [lo, hi], else nullopt.
std::optional<double> IntegerOption(const netlist::Netlist& nl, const std::string& name, double lo,
                                    double hi) {
  auto it = nl.options.find(name);
  if (it == nl.options.end()) return std::nullopt;
  const double v = it->second;
  if (v >= lo && v <= hi && v == std::floor(v)) return v;
  return std::nullopt;
}

// --mc/--seed/--spread and `.options mc_runs=`; returns an error message (empty if fine).
std::string SetUpMonteCarlo(const SweepArgs& a, const netlist::Netlist& nl, MonteCarlo* mc) {
  const std::string where = a.deck + ": ";
  if (nl.options.count("mc_runs") && !IntegerOption(nl, "mc_runs", 1, kMaxRuns) && !a.mc_given) {
    return fmt::format("{}error: .options mc_runs={} is not a whole number of runs in [1, {}]\n",
                       where, nl.options.at("mc_runs"), kMaxRuns);
  }
  if (a.mc_given) {
    if (a.mc < 1 || a.mc > kMaxRuns) {
      return fmt::format(
          "error: --mc {} must be a number of runs in [1, {}]\nnote: e.g. --mc 200 runs the "
          "nominal circuit and 200 drawn ones\n",
          a.mc, kMaxRuns);
    }
    mc->runs = a.mc;
  } else {
    mc->runs = static_cast<int>(IntegerOption(nl, "mc_runs", 1, kMaxRuns).value_or(0));
  }
  for (const std::string& text : a.spreads) {
    mc->spreads.emplace_back();
    if (Status s = solver::ParseSpread(text, &mc->spreads.back()); !s.ok()) {
      return fmt::format("error: {}\nnote: {}\n", s.message(), s.hint());
    }
  }
  if (mc->runs == 0 && (a.seed_given || !a.spreads.empty())) {
    return fmt::format(
        "error: {} applies to Monte Carlo runs, and there are none\n"
        "note: add --mc N or .options mc_runs=N to the deck\n",
        a.seed_given ? "--seed" : "--spread");
  }
  if (mc->runs > 0 && nl.random_draws == 0 && mc->spreads.empty()) {
    return fmt::format(
        "{}error: Monte Carlo with --mc {}, but the deck draws no random value and no --spread "
        "is given: every run would be the same\nnote: write e.g. R1 a b {{agauss(1k, 50, 1)}} "
        "or .param r = gauss(1k, 0.05, 1), or pass --spread mss.ron=5%\n",
        where, mc->runs);
  }
  mc->seed =
      a.seed_given
          ? a.seed
          : static_cast<uint64_t>(
                IntegerOption(nl, "seed", 0, netlist::kMaxSeed).value_or(netlist::kDefaultSeed));
  return "";
}

// The names of the values that Monte Carlo runs draw: those where run 1 differs from the nominal
// run 0 (of the first .step point). Empty if either run cannot be parsed (the runs report why).
std::vector<std::string> DrawnNames(const Plan& plan, const std::map<std::string, double>& params) {
  std::string error;
  Run nominal, first;
  nominal.params = first.params = params;
  nominal.mc = 0;
  first.mc = 1;
  std::optional<netlist::Netlist> a = RunDeck(plan, nominal, &error);
  std::optional<netlist::Netlist> b = RunDeck(plan, first, &error);
  if (!a || !b) return {};
  const std::map<std::string, double> va = solver::DrawableValues(*a);
  const std::map<std::string, double> vb = solver::DrawableValues(*b);
  std::vector<std::string> names;
  for (const auto& [name, v] : vb) {
    auto it = va.find(name);
    if (it == va.end() || it->second != v) names.push_back(name);
  }
  return names;
}

// Every combination of the .step values, the first .step varying fastest, inside every Monte
// Carlo run 0..N (each run's draws are the same at every .step point).
std::vector<Run> MakeRuns(const Plan& plan) {
  std::vector<Run> runs(1);
  for (const Step& s : plan.steps) {
    std::vector<Run> next;
    for (double v : s.values)
      for (const Run& r : runs) {
        next.push_back(r);
        next.back().params[s.param] = v;
      }
    runs = std::move(next);
  }
  if (plan.mc.runs == 0) return runs;
  std::vector<Run> all;
  for (int k = 0; k <= plan.mc.runs; ++k) {
    for (Run r : runs) {
      r.mc = k;
      all.push_back(std::move(r));
    }
  }
  return all;
}

// Loads the deck, its cards and the Monte Carlo set-up; returns the error message (empty if
// fine). Warnings and notes go to *notes.
std::string LoadPlan(const SweepArgs& a, Plan* plan, std::string* notes) {
  std::ostringstream err;
  std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
  std::optional<netlist::Netlist> nl = LoadDeck(a.deck, a.sets, a.include_dirs);
  std::cerr.rdbuf(old);
  if (!nl) return err.str();
  netlist::Diagnostics diag;
  ReadCards(a, diag, plan);
  err << diag.Format();
  if (diag.has_errors()) return err.str();
  if (std::string e = SetUpMonteCarlo(a, *nl, &plan->mc); !e.empty()) return e;
  if (plan->steps.empty() && plan->mc.runs == 0) {
    diag.Error(netlist::SourceLoc{a.deck, 0, 0}, "the deck has no .step card and no Monte Carlo",
               "add e.g. .step param r list 1k 2k 4k, or run --mc N");
    return diag.Format();
  }
  double total = plan->mc.runs + 1.0;
  for (const Step& st : plan->steps) total *= st.values.size();
  if (total > kMaxRuns) {
    return fmt::format("error: {:.0f} runs (Monte Carlo runs x .step points) are more than {}\n",
                       total, kMaxRuns);
  }
  if (a.mc_given && nl->options.count("mc_runs") && nl->options.at("mc_runs") != a.mc) {
    err << fmt::format("note: --mc {} replaces the deck's .options mc_runs={}\n", a.mc,
                       nl->options.at("mc_runs"));
  }
  plan->reparse = MakeSeededReparser(a.deck, a.sets, a.include_dirs);
  if (plan->mc.runs > 0) plan->mc.drawn = DrawnNames(*plan, MakeRuns(*plan).front().params);
  *notes = err.str();
  return "";
}

// Mean, standard deviation and range of each measurement over the drawn runs (mc >= 1) that
// gave it; only without .step, whose points would mix.
void PrintMonteCarloSummary(const Plan& plan, const std::vector<Run>& runs) {
  if (plan.mc.runs == 0 || !plan.steps.empty()) return;
  for (size_t m = 0; m < plan.measures.size(); ++m) {
    std::vector<double> v;
    for (const Run& r : runs) {
      if (r.mc >= 1 && !std::isnan(r.measures[m])) v.push_back(r.measures[m]);
    }
    if (v.empty()) continue;
    double sum = 0, sum2 = 0;
    for (double x : v) sum += x;
    const double mean = sum / v.size();
    for (double x : v) sum2 += (x - mean) * (x - mean);
    const double sd = v.size() > 1 ? std::sqrt(sum2 / (v.size() - 1)) : 0.0;
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    std::cout << fmt::format("{}: mean={:.6g} sd={:.6g} min={:.6g} max={:.6g} over {} runs\n",
                             plan.measures[m].name, mean, sd, *lo, *hi, v.size());
  }
}

// Rank 0's report: failed runs, the raw file, the CSV and the per-run lines. Returns the exit code.
int Report(const SweepArgs& a, const Plan& plan, const std::vector<Run>& runs) {
  int failed = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    if (runs[r].error.empty()) continue;
    ++failed;
    std::cerr << fmt::format("error: run {} ({}): {}\n", r + 1, RunLabel(runs[r]), runs[r].error);
  }
  if (!a.raw.empty()) {
    std::vector<io::WaveformTable> tables;
    for (size_t r = 0; r < runs.size(); ++r) {
      if (!runs[r].error.empty()) continue;
      tables.push_back(runs[r].table);
      tables.back().title =
          fmt::format("{} (run {}: {})", runs[r].table.title, r + 1, RunLabel(runs[r]));
    }
    if (Status s = io::WriteRaw(tables, a.raw, !a.ascii); !s.ok()) {
      PrintStatus(s);
      return kExitSimulationError;
    }
    if (!a.quiet) std::cout << fmt::format("raw file: {} ({} plots)\n", a.raw, tables.size());
  }
  if (!a.csv.empty()) {
    if (!WriteOutputFile(a.csv, MeasureCsv(plan, runs))) return kExitSimulationError;
    if (!a.quiet) std::cout << "measurements: " << a.csv << "\n";
  }
  if (!a.quiet) {
    for (size_t r = 0; r < runs.size(); ++r) {
      std::cout << fmt::format("run {} ({})", r + 1, RunLabel(runs[r]));
      for (size_t m = 0; m < plan.measures.size(); ++m)
        std::cout << fmt::format("  {}={:.6g}", plan.measures[m].name, runs[r].measures[m]);
      std::cout << "\n";
    }
    PrintMonteCarloSummary(plan, runs);
  }
  return failed ? kExitSimulationError : kExitOk;
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
  if (root && !CheckOutputPaths({a.deck}, {{"--raw", a.raw}, {"--csv", a.csv}})) {
    return kExitInputError;
  }
  // Any rank's error stops every rank with that message.
  Plan plan;
  std::string notes;
  if (std::string error = AgreeOnError(LoadPlan(a, &plan, &notes)); !error.empty()) {
    if (root) std::cerr << error;
    return kExitInputError;
  }
  if (root && !a.quiet) std::cerr << notes;
  std::vector<Run> runs = MakeRuns(plan);
  const auto [first, last] =
      parallel::BlockOf(static_cast<int>(runs.size()), world.rank(), world.size());
  const bool progress =
      root && (a.progress || (!a.no_progress && !a.quiet && isatty(STDERR_FILENO)));
  std::vector<std::string> warnings;
  RunBlock(a, plan, first, last, progress, &runs, &warnings);
  Gather(world, !a.raw.empty(), plan.measures.size(), plan.mc.drawn.size(), &runs);
  std::string mine;
  for (const auto& w : warnings) mine += "warning: " + w + "\n";
  const std::vector<std::string> all_warnings = world.AllGatherText(mine);
  if (!root) return kExitOk;
  for (const auto& w : all_warnings) std::cerr << w;
  return Report(a, plan, runs);
}

}  // namespace

void RegisterSweep(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run a deck for every .step value and Monte Carlo run (threads, MPI ranks); raw plots + "
      ".meas CSV");
  cmd->add_option("deck", args->deck, "Netlist with .step (and .meas) cards")->required();
  cmd->add_option("--raw", args->raw, "Write every run's last analysis as one plot per run");
  cmd->add_flag("--ascii", args->ascii, "Raw file in ascii format");
  cmd->add_option("--csv", args->csv,
                  "Write one row per run: step values, drawn values and .meas results");
  CLI::Option* mc = cmd->add_option(
      "--mc", args->mc,
      "Monte Carlo: N drawn runs after the nominal run 0 (replaces .options mc_runs=N)");
  CLI::Option* seed = cmd->add_option(
      "--seed", args->seed, "Seed of the Monte Carlo runs (default: .options seed=, else 1)");
  cmd->add_option("--spread", args->spreads,
                  "Gaussian spread per instance, relative sigma: DEVICE.PARAM=SIGMA, e.g. "
                  "mss.ron=5% (repeatable)")
      ->allow_extra_args(false);  // one value per --spread: the deck may follow
  cmd->add_option("--threads", args->threads, "Runs simulated at once in each process");
  cmd->add_option("--method", args->method, "Integration method: fe, be, trap, gear2, rk4");
  cmd->add_option("--set", args->sets, "Override a .param: NAME=VALUE (repeatable)");
  cmd->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  cmd->add_flag("--progress", args->progress,
                "Show a progress line (default when stderr is a terminal)");
  cmd->add_flag("--no-progress", args->no_progress, "Never show progress");
  cmd->add_flag("-q,--quiet", args->quiet, "Print only errors");
  cmd->callback([args, exit_code, mc, seed]() {
    args->mc_given = mc->count() > 0;
    args->seed_given = seed->count() > 0;
    *exit_code = RunSweep(*args);
  });
}

}  // namespace memspice::apps
