// `memspice fit DECK --target FILE --signals ... --params ...`: parameter extraction by nonlinear
// least squares (Ceres) on the target's time grid; see docs/fitting.md.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/cli_checks.h"
#include "apps/cli_common.h"
#include "autodiff/fit.h"
#include "base/strings.h"
#include "io/atomic_file.h"
#include "io/csv_writer.h"
#include "io/raw_file.h"
#include "netlist/expression.h"
#include "ngspice/export.h"
#include "ngspice/runner.h"
#include "solver/simulator.h"

namespace memspice::apps {
namespace {

struct FitArgs {
  std::string deck, target, method, loss = "none", out, json;
  std::vector<std::string> signals, params, bounds, starts, sets, include_dirs;
  double fixed_step = 0.0, huber_scale = 0.01;
  int max_iterations = 100;
  bool linear = false, quiet = false;
};

using base::Lower;

// CSV (header, time first) or SPICE raw file (last transient plot; ngspice names normalised,
// exported memristor states v(m1_x) readable as x(m1)).
Status ReadTarget(const std::string& path, const std::vector<std::string>& signals,
                  io::WaveformTable* table) {
  if (!std::filesystem::exists(path)) {
    return Status::Error(fmt::format("cannot open target '{}': no such file", path));
  }
  const std::string ext = Lower(std::filesystem::path(path).extension().string());
  if (ext == ".raw") {
    std::vector<io::WaveformTable> plots;
    Status s = io::ReadRaw(path, &plots);
    if (!s.ok()) return s;
    const io::WaveformTable* tran = nullptr;
    for (const auto& p : plots) {
      if (Lower(p.scale_name) == "time") tran = &p;
    }
    if (tran == nullptr) {
      return Status::Error(fmt::format("target '{}' has no transient plot (no time column)", path));
    }
    *table = *tran;
    ngspice::NormalizeNgspiceNames(table);
  } else {
    Status s = io::ReadCsv(path, table, true);
    if (!s.ok()) return s;
    if (Lower(table->scale_name) != "time") {
      return Status::Error(
          fmt::format("target '{}' has no time column: its first column is '{}'", path,
                      table->scale_name),
          "the target CSV needs a header 'time,<signal>,...' as written by memspice sim --csv");
    }
  }
  for (const auto& sig : signals) {
    if (table->Find(sig) >= 0) continue;
    const int c = table->Find(ngspice::NgspiceSignalName(sig));
    if (c >= 0) table->names[c] = Lower(sig);
  }
  return Status::Ok();
}

// NAME=LO:HI with either side optional (ron=100:, k=:1).
bool ParseBound(const std::string& text, autodiff::FitRequest* req) {
  const size_t eq = text.find('='), colon = text.find(':', eq == std::string::npos ? 0 : eq);
  auto fail = [&](const std::string& why) {
    std::cerr << fmt::format(
        "error: --bounds '{}': {}; expected NAME=LO:HI with SPICE numbers, e.g. ron=100:10k "
        "(either side may be empty)\n",
        text, why);
    return false;
  };
  if (eq == std::string::npos || eq == 0) return fail("no NAME=");
  if (colon == std::string::npos) return fail("no ':' between the bounds");
  const std::string name = text.substr(0, eq);
  const std::string lo = text.substr(eq + 1, colon - eq - 1), hi = text.substr(colon + 1);
  std::optional<double> l, h;
  if (!lo.empty()) {
    l = netlist::ParseSpiceNumber(lo);
    if (!l) return fail("'" + lo + "' is not a number");
  }
  if (!hi.empty()) {
    h = netlist::ParseSpiceNumber(hi);
    if (!h) return fail("'" + hi + "' is not a number");
  }
  if (!l && !h) return fail("both bounds are empty");
  if (l && h && !(*l < *h)) return fail("the lower bound is not below the upper bound");
  req->bounds[name] = {l, h};
  return true;
}

std::string DefaultOutput(const std::string& deck) {
  std::filesystem::path p(deck);
  const std::string ext = p.has_extension() ? p.extension().string() : ".cir";
  return (p.parent_path() / (p.stem().string() + "_fit" + ext)).string();
}

// A fit that did not converge, or converged far from the target, is a failure: it says why (in
// Ceres' words) and writes no fitted deck, so a previous good one is kept.
bool FitSucceeded(const autodiff::FitResult& r, bool huber) {
  // Residuals are scaled by each target signal's range: an RMS above this is not a fit.
  constexpr double kPoorFitRms = 0.1;
  const double rms = r.residuals > 0 ? std::sqrt(2.0 * r.final_cost / r.residuals) : 0.0;
  if (!r.converged) {
    std::cerr << fmt::format(
        "error: the fit did not converge: {} (cost {:.6g} -> {:.6g} after {} iterations)\n"
        "  note: try other --start values, --bounds, --max-iterations, or fewer --params\n",
        r.termination, r.initial_cost, r.final_cost, r.iterations);
    return false;
  }
  if (!huber && rms > kPoorFitRms) {
    std::cerr << fmt::format(
        "error: the fit converged to a poor solution: RMS error {:.3g} of the target's range "
        "(cost {:.6g}; Ceres: {})\n"
        "  note: the model may not describe the target; check the --signals columns, --start "
        "values and --bounds\n",
        rms, r.final_cost, r.termination);
    return false;
  }
  return true;
}

// The fit request of the flags (the target read); false after printing what is wrong.
bool MakeRequest(const FitArgs& a, autodiff::FitRequest* request) {
  autodiff::FitRequest& req = *request;
  req.params = a.params;
  req.signals = a.signals;
  for (auto& s : req.signals) s = Lower(s);
  req.max_iterations = a.max_iterations;
  req.log_space = !a.linear;
  if (a.loss != "none" && a.loss != "huber") {
    std::cerr << fmt::format("error: --loss '{}' is not known; expected none or huber\n", a.loss);
    return false;
  }
  req.huber = a.loss == "huber";
  if (!(a.huber_scale > 0)) {
    std::cerr << "error: --huber-scale must be > 0 (in units of the signal range), e.g. 0.01\n";
    return false;
  }
  req.huber_scale = a.huber_scale;
  if (a.max_iterations < 1) {
    std::cerr << "error: --max-iterations must be >= 1\n";
    return false;
  }
  for (const auto& b : a.bounds) {
    if (!ParseBound(b, &req)) return false;
  }
  for (const auto& st : a.starts) {
    const size_t eq = st.find('=');
    std::optional<double> v;
    if (eq != std::string::npos && eq > 0) v = netlist::ParseSpiceNumber(st.substr(eq + 1));
    if (!v) {
      std::cerr << fmt::format(
          "error: --start '{}': expected NAME=VALUE with a number, e.g. --start mssn:ron=1.2k\n",
          st);
      return false;
    }
    req.start[Lower(st.substr(0, eq))] = *v;
  }
  if (Status s = ReadTarget(a.target, req.signals, &req.target); !s.ok()) {
    PrintStatus(s);
    return false;
  }
  return true;
}

// Writes the deck's own text with the fitted values to `out`; false after printing why not.
bool WriteFittedDeck(const FitArgs& a, const netlist::Netlist& nl, const autodiff::FitResult& r,
                     const std::string& out) {
  std::ifstream in(a.deck);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::pair<std::string, double>> fitted;
  for (const auto& p : r.params) fitted.emplace_back(p.name, p.fitted);
  std::string fitted_text;
  std::vector<std::string> unwritten;
  Status s = autodiff::SubstituteParams(text.str(), nl, fitted, &fitted_text, &unwritten);
  if (!s.ok()) {
    PrintStatus(s);
    return false;
  }
  for (const auto& u : unwritten) {
    std::cerr << fmt::format(
        "warning: '{}' is defined outside '{}' (include file or subcircuit) and was not written "
        "to the fitted deck; pass its value with --set or edit the library\n",
        u, a.deck);
  }
  return WriteOutputFile(out, fitted_text);
}

// The fit's report for --json.
nlohmann::json FitJson(const autodiff::FitResult& r, const std::string& fitted_deck) {
  nlohmann::json j;
  j["final_cost"] = r.final_cost;
  j["initial_cost"] = r.initial_cost;
  j["iterations"] = r.iterations;
  j["simulations"] = r.evaluations;
  j["jacobians"] = r.jacobian_evaluations;
  j["residuals"] = r.residuals;
  j["seconds"] = r.seconds;
  j["converged"] = r.converged;
  j["termination"] = r.termination;
  j["jacobian_method"] = r.jacobian_method;
  j["fitted_deck"] = fitted_deck;
  j["params"] = nlohmann::json::object();
  for (const auto& p : r.params) {
    nlohmann::json e;
    e["initial"] = p.initial;
    e["fitted"] = p.fitted;
    e["sigma"] = p.sigma ? nlohmann::json(*p.sigma) : nlohmann::json(nullptr);
    e["log_space"] = p.log_space;
    j["params"][p.name] = e;
  }
  return j;
}

// The table of fitted parameters and the solver's summary on stdout.
void PrintFit(const autodiff::FitResult& r, bool huber, const std::string& fitted_deck) {
  std::cout << fmt::format("{:<20} {:>14} {:>14} {:>12} {:>9}\n", "parameter", "initial", "fitted",
                           "uncertainty", "rel.unc");
  for (const auto& p : r.params) {
    std::cout << fmt::format(
        "{:<20} {:>14.7g} {:>14.7g} {:>12} {:>9}\n", p.name, p.initial, p.fitted,
        p.sigma ? fmt::format("{:.3g}", *p.sigma) : "n/a",
        p.sigma && p.fitted != 0.0 ? fmt::format("{:.2e}", *p.sigma / std::abs(p.fitted)) : "n/a");
  }
  if (!r.covariance_note.empty()) std::cout << "note: " << r.covariance_note << "\n";
  std::cout << fmt::format(
      "cost {:.6g} -> {:.6g} ({} residuals{}), {} iterations, {} simulations, {} Jacobians, "
      "{:.2f} s\n",
      r.initial_cost, r.final_cost, r.residuals, huber ? ", Huber loss" : "", r.iterations,
      r.evaluations, r.jacobian_evaluations, r.seconds);
  std::cout << "Jacobian: " << r.jacobian_method << "\n";
  std::cout << "Ceres: " << r.termination << "\n";
  std::cout << "fitted deck: " << fitted_deck << "\n";
}

int RunFit(const FitArgs& a) {
  std::optional<netlist::Netlist> nl = LoadDeck(a.deck, a.sets, a.include_dirs);
  if (!nl) return kExitInputError;
  std::vector<std::string> inputs = nl->files;
  inputs.push_back(a.deck);
  inputs.push_back(a.target);
  const std::string fitted_deck = a.out.empty() ? DefaultOutput(a.deck) : a.out;
  if (!CheckOutputPaths(inputs, {{"--output", fitted_deck}, {"--json", a.json}})) {
    return kExitInputError;
  }
  io::RemoveTempFilesOnSignal();  // an interruption leaves earlier outputs as they were
  solver::SimOptions options;
  if (!TransientOptions(*nl, a.method, a.fixed_step, &options)) return kExitInputError;
  autodiff::FitRequest req;
  if (!MakeRequest(a, &req)) return kExitInputError;
  req.reparse = MakeDeckReparser(a.deck, a.sets, a.include_dirs);

  autodiff::FitResult r;
  Status s = autodiff::Fit(*nl, options, req, &r);
  if (!s.ok()) {
    if (!r.input_error) return ExitForFailedRun(s);
    PrintStatus(s);
    return kExitInputError;
  }
  for (const auto& w : r.warnings) std::cerr << "warning: " << w << "\n";
  if (!FitSucceeded(r, req.huber)) return kExitSimulationError;

  if (!WriteFittedDeck(a, *nl, r, fitted_deck)) return kExitSimulationError;
  if (!a.json.empty()) {
    if (!WriteOutputFile(a.json, FitJson(r, fitted_deck).dump(2) + "\n")) {
      return kExitSimulationError;
    }
  }
  if (!a.quiet) PrintFit(r, req.huber, fitted_deck);
  return kExitOk;
}

}  // namespace

void RegisterFit(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<FitArgs>();
  CLI::App* f = app.add_subcommand(
      "fit", "Fit deck parameters to a target waveform (nonlinear least squares, Ceres)");
  f->add_option("deck", args->deck, "Netlist file with a .tran analysis")->required();
  f->add_option("--target", args->target,
                "Target waveform: CSV (header time,<signal>,...) or SPICE raw file")
      ->required();
  f->add_option("--signals", args->signals, "Signals to fit: v(out), v(a,b), i(v1), x(m1)")
      ->delimiter(',')
      ->required();
  f->add_option("--params", args->params,
                "Parameters: .param name, element (R1), inst:param (m1:x0), model:param "
                "(mssn:tau), ic:node; globs allowed")
      ->delimiter(',')
      ->required();
  f->add_option("--bounds", args->bounds, "NAME=LO:HI (either side may be empty; repeatable)");
  f->add_option("--start", args->starts, "Start value NAME=VALUE instead of the deck's");
  f->add_option("--loss", args->loss, "none (least squares) or huber");
  f->add_option("--huber-scale", args->huber_scale,
                "Huber's threshold in units of each signal's range (default 0.01)");
  f->add_option("-o,--output", args->out, "Fitted deck (default <deck>_fit.cir)");
  f->add_option("--json", args->json, "Write the result as JSON");
  f->add_option("--max-iterations", args->max_iterations, "Ceres iterations (default 100)");
  f->add_flag("--linear", args->linear, "Fit positive parameters linearly instead of in log space");
  f->add_option("--method", args->method, "Integration method: fe, be, trap, gear2, rk4");
  AddFixedStepOption(f, &args->fixed_step);
  f->add_option("--set", args->sets, "Override a .param: NAME=VALUE (repeatable)");
  f->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  f->add_flag("-q,--quiet", args->quiet, "Print only errors and warnings");
  f->callback([args, exit_code]() { *exit_code = RunFit(*args); });
}

}  // namespace memspice::apps
