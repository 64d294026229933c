// CompareWithNgspice lives apart from compare.cc so that table comparison links without the parser
// and the simulator.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>

#include "base/strings.h"
#include "ngspice/compare.h"
#include "ngspice/export.h"
#include "solver/simulator.h"

namespace memspice::ngspice {
namespace {

using base::Lower;
using AKind = netlist::Analysis::Kind;

std::optional<AKind> PlotKind(const io::WaveformTable& t) {
  std::string a = Lower(t.analysis);
  if (a.rfind("operating", 0) == 0) return AKind::kOp;
  if (a.rfind("transient", 0) == 0) return AKind::kTran;
  if (a.rfind("dc", 0) == 0) return AKind::kDc;
  if (a.rfind("ac", 0) == 0) return AKind::kAc;
  return std::nullopt;
}

}  // namespace

Status CompareWithNgspice(const std::string& deck_path, const DeckCompareOptions& options,
                          DeckComparison* report) {
  *report = DeckComparison();
  netlist::Netlist nl;
  auto t0 = std::chrono::steady_clock::now();
  Status s = solver::RunMemspiceDeck(deck_path, options.parse, options.sim, &report->memspice, &nl);
  report->memspice_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!s.ok()) return s;

  const bool native = std::any_of(nl.elements.begin(), nl.elements.end(),
                                  [](const netlist::Element& e) { return e.letter == 'y'; });
  NgspiceResult ng;
  if (native) {
    // ngspice lacks the native devices: it runs their behavioural export.
    std::string text;
    netlist::Diagnostics diag;
    if (!ExportNgspice(deck_path, options.parse.include_paths, &text, diag)) {
      return Status::Error("ngspice export failed:\n" + diag.Format());
    }
    std::string dir = std::filesystem::absolute(deck_path).parent_path().string();
    s = RunNgspiceText(text, dir, options.ngspice, &ng);
  } else {
    s = RunNgspice(deck_path, options.ngspice, &ng);
  }
  report->ngspice_seconds = ng.seconds;
  if (options.ngspice.keep_files) report->ngspice_dir = ng.work_dir;
  if (!s.ok()) {
    if (options.ngspice.keep_files && !ng.work_dir.empty()) {
      return Status::Error(s.message() + "\n  ngspice files kept in " + ng.work_dir, s.hint());
    }
    return s;
  }
  if (native) {
    // Give ngspice's stand-in vectors (state capacitors, ...) the memspice names.
    for (auto& plot : ng.plots) {
      for (const auto& table : report->memspice) {
        for (const auto& name : table.names) {
          std::string theirs = Lower(NgspiceSignalName(name));
          int j = theirs == name ? -1 : plot.Find(theirs);
          if (j >= 0 && plot.Find(name) < 0) plot.names[j] = name;
        }
      }
    }
  }
  // ngspice writes each non-ASCII byte of a name as '_' ("nœud" -> "n__ud").
  for (auto& plot : ng.plots) {
    for (const auto& table : report->memspice) {
      for (const auto& name : table.names) {
        std::string theirs = name;
        for (char& c : theirs) {
          if (static_cast<unsigned char>(c) >= 0x80) c = '_';
        }
        int j = theirs == name ? -1 : plot.Find(theirs);
        if (j >= 0 && plot.Find(name) < 0) plot.names[j] = name;
      }
    }
  }
  report->ngspice = ng.plots;

  CompareOptions copt = options.compare;
  if (copt.signals.empty()) copt.signals = ReadSignalsHeader(deck_path);

  // Pair the k-th memspice analysis of a kind with ngspice's k-th plot of that kind (ngspice
  // does not write plots in deck order).
  std::vector<bool> used(ng.plots.size(), false);
  report->pass = true;
  for (size_t a = 0; a < nl.analyses.size(); ++a) {
    const AKind kind = nl.analyses[a].kind;
    int match = -1;
    for (size_t p = 0; p < ng.plots.size(); ++p) {
      if (!used[p] && PlotKind(ng.plots[p]) == kind) {
        match = static_cast<int>(p);
        break;
      }
    }
    if (match < 0) {
      std::string have;
      for (const auto& p : ng.plots) have += (have.empty() ? "" : ", ") + p.analysis;
      return Status::Error(
          fmt::format("ngspice produced no result for analysis {} of '{}' "
                      "(it wrote: {})",
                      solver::AnalysisCard(kind), deck_path, have.empty() ? "nothing" : have));
    }
    used[match] = true;
    TableComparison c;
    s = CompareTables(ng.plots[match], report->memspice[a], copt, &c);
    if (!s.ok()) {
      return Status::Error(fmt::format("{}: {}", deck_path, s.message()), s.hint());
    }
    report->pass = report->pass && c.pass;
    report->analyses.push_back(std::move(c));
  }
  return Status::Ok();
}

}  // namespace memspice::ngspice
