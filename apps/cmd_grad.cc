// `memspice grad DECK --objective EXPR --wrt NAME[,NAME...]`: gradients by the discrete adjoint.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/cli_checks.h"
#include "apps/cli_common.h"
#include "autodiff/gradient.h"
#include "io/atomic_file.h"
#include "solver/simulator.h"

namespace memspice::apps {
namespace {

struct GradArgs {
  std::string deck, objective, method, json;
  std::vector<std::string> wrt, sets, include_dirs;
  double fixed_step = 0.0;
  int checkpoint = 1;
  bool check = false, tangent = false, quiet = false;
};

int RunGrad(const GradArgs& a) {
  std::optional<netlist::Netlist> nl = LoadDeck(a.deck, a.sets, a.include_dirs);
  if (!nl) return kExitInputError;
  std::vector<std::string> inputs = nl->files;
  inputs.push_back(a.deck);
  if (!CheckOutputPaths(inputs, {{"--json", a.json}})) return kExitInputError;
  io::RemoveTempFilesOnSignal();  // an interruption leaves earlier outputs as they were
  solver::SimOptions options;
  if (!TransientOptions(*nl, a.method, a.fixed_step, &options)) return kExitInputError;
  if (a.checkpoint < 1) {
    std::cerr << fmt::format("error: --checkpoint {} must be >= 1\n", a.checkpoint);
    return kExitInputError;
  }
  autodiff::GradRequest req;
  req.objective = a.objective;
  req.wrt = a.wrt;
  req.checkpoint_every = a.checkpoint;
  req.check_fd = a.check;
  req.check_tangent = a.tangent;
  req.reparse = MakeDeckReparser(a.deck, a.sets, a.include_dirs);
  autodiff::GradResult r;
  Status s = autodiff::ComputeGradient(*nl, options, req, &r);
  if (!s.ok()) {
    if (s.message().find("--wrt") != std::string::npos ||
        s.message().find("objective") != std::string::npos ||
        s.message().find("no .tran") != std::string::npos) {
      PrintStatus(s);
      return kExitInputError;
    }
    return ExitForFailedRun(s);
  }
  for (const auto& w : r.warnings) std::cerr << "warning: " << w << "\n";
  nlohmann::json j;
  j["objective"] = r.objective;
  j["gradient"] = nlohmann::json::object();
  for (const auto& e : r.entries) j["gradient"][e.name] = e.gradient;
  j["forward_s"] = r.forward_s;
  j["reverse_s"] = r.reverse_s;
  j["tape_bytes"] = r.tape_bytes;
  j["steps"] = r.steps;
  j["method"] = r.method;
  if (a.check || a.tangent) {
    nlohmann::json c = nlohmann::json::object();
    for (const auto& e : r.entries) {
      nlohmann::json row;
      row["adjoint"] = e.gradient;
      if (e.fd) {
        row["fd"] = *e.fd;
        row["rel_error"] = *e.fd_rel_error;
      }
      if (e.tangent) {
        row["tangent"] = *e.tangent;
        row["tangent_rel_error"] = *e.tangent_rel_error;
      }
      c[e.name] = row;
    }
    j["check"] = c;
  }
  if (!a.json.empty()) {
    if (!WriteOutputFile(a.json, j.dump(2) + "\n")) return kExitSimulationError;
  }
  if (!a.quiet) {
    std::cout << fmt::format(
        "objective  {:.12g}   ({} steps, {}, forward {:.3f} s, reverse "
        "{:.3f} s, tape {} bytes)\n",
        r.objective, r.steps, r.method, r.forward_s, r.reverse_s, r.tape_bytes);
    if (a.check || a.tangent) {
      std::cout << fmt::format("{:<24} {:>16} {:>16} {:>10} {:>16} {:>10}\n", "parameter",
                               "adjoint", "central FD", "rel.err", "tangent", "rel.err");
      for (const auto& e : r.entries) {
        std::cout << fmt::format("{:<24} {:>16.9g} {:>16} {:>10} {:>16} {:>10}\n", e.name,
                                 e.gradient, e.fd ? fmt::format("{:.9g}", *e.fd) : "-",
                                 e.fd ? fmt::format("{:.2e}", *e.fd_rel_error) : "-",
                                 e.tangent ? fmt::format("{:.9g}", *e.tangent) : "-",
                                 e.tangent ? fmt::format("{:.2e}", *e.tangent_rel_error) : "-");
      }
    } else {
      for (const auto& e : r.entries) {
        std::cout << fmt::format("d/d {:<20} {:.12g}\n", e.name, e.gradient);
      }
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterGrad(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<GradArgs>();
  CLI::App* g =
      app.add_subcommand("grad", "Gradient of a transient objective by the discrete adjoint");
  g->add_option("deck", args->deck, "Netlist file with a .tran analysis")->required();
  g->add_option("--objective", args->objective,
                "integral(expr), final(expr), at(expr, T), mean(expr), mse(signal, FILE), "
                "and sums of these")
      ->required();
  g->add_option("--wrt", args->wrt,
                "Parameters: .param name, element (R1), inst:param (m1:x0), model:param "
                "(mssn:tau), ic:node; globs allowed (xb.*:x0)")
      ->delimiter(',')
      ->required();
  g->add_option("--method", args->method, "Integration method: fe, be, trap, gear2, rk4");
  AddFixedStepOption(g, &args->fixed_step);
  g->add_option("--set", args->sets, "Override a .param: NAME=VALUE (repeatable)");
  g->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  g->add_option("--json", args->json, "Write the result as JSON");
  g->add_option("--checkpoint", args->checkpoint,
                "Keep every k-th state on the tape and recompute the rest (default 1: all)");
  g->add_flag("--check", args->check, "Compare with central finite differences");
  g->add_flag("--tangent", args->tangent, "Compare with forward sensitivities");
  g->add_flag("-q,--quiet", args->quiet, "Print only errors");
  g->callback([args, exit_code]() { *exit_code = RunGrad(*args); });
}

}  // namespace memspice::apps
