// CompareWithNgspice and RunMemspiceDeck live apart from compare.cc so that table comparison
// links without the parser and the simulator.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>

#include "base/strings.h"
#include "solver/circuit.h"
#include "solver/compare.h"
#include "solver/simulator.h"

namespace memspice::solver {
namespace {

using base::Lower;
using AKind = netlist::Analysis::Kind;

std::optional<AKind> PlotKind(const WaveformTable& t) {
  std::string a = Lower(t.analysis);
  if (a.rfind("operating", 0) == 0) return AKind::kOp;
  if (a.rfind("transient", 0) == 0) return AKind::kTran;
  if (a.rfind("dc", 0) == 0) return AKind::kDc;
  if (a.rfind("ac", 0) == 0) return AKind::kAc;
  return std::nullopt;
}

const char* KindName(AKind k) {
  switch (k) {
    case AKind::kOp:
      return ".op";
    case AKind::kDc:
      return ".dc";
    case AKind::kTran:
      return ".tran";
    case AKind::kAc:
      return ".ac";
  }
  return "?";
}

}  // namespace

Status RunMemspiceDeck(const std::string& deck_path, const netlist::ParseOptions& parse,
                       const SimOptions& sim, std::vector<WaveformTable>* tables,
                       netlist::Netlist* parsed) {
  netlist::Diagnostics diag;
  std::optional<netlist::Netlist> nl = netlist::ParseFile(deck_path, parse, diag);
  if (!nl) {
    return Status::Error(fmt::format("cannot parse '{}':\n{}", deck_path, diag.Format()));
  }
  if (nl->analyses.empty()) {
    return Status::Error(fmt::format("'{}' has no analysis", deck_path),
                         "add .op, .dc or .tran to the deck");
  }
  std::unique_ptr<Circuit> circuit = Circuit::Build(*nl, diag);
  if (!circuit) {
    return Status::Error(
        fmt::format("cannot build the circuit of '{}':\n{}", deck_path, diag.Format()));
  }
  SimOptions options = sim;
  Status applied = options.ApplyNetlistOptions(*nl);
  if (!applied.ok()) {
    return Status::Error(fmt::format("{}: {}", deck_path, applied.message()), applied.hint());
  }
  for (const auto& analysis : nl->analyses) {
    WaveformTable table;
    Status s = RunAnalysis(*circuit, *nl, analysis, options, nullptr, &table);
    if (!s.ok()) {
      return s.Prefixed(fmt::format("{}: {} failed: ", deck_path, KindName(analysis.kind)));
    }
    tables->push_back(std::move(table));
  }
  if (parsed) *parsed = std::move(*nl);
  return Status::Ok();
}

Status CompareWithNgspice(const std::string& deck_path, const DeckCompareOptions& options,
                          DeckComparison* report) {
  *report = DeckComparison();
  netlist::Netlist nl;
  auto t0 = std::chrono::steady_clock::now();
  Status s = RunMemspiceDeck(deck_path, options.parse, options.sim, &report->memspice, &nl);
  report->memspice_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!s.ok()) return s;

  const bool native = std::any_of(nl.elements.begin(), nl.elements.end(),
                                  [](const netlist::Element& e) { return e.letter == 'y'; });
  NgspiceResult ng;
  if (native) {
    if (!options.export_native) {
      return Status::Error(
          fmt::format("'{}' uses native devices; ngspice export not available", deck_path),
          "pass an exporter (circuits::ExportNgspice) in DeckCompareOptions::export_native");
    }
    std::string text;
    s = options.export_native(nl, deck_path, &text);
    if (!s.ok()) return s;
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
  if (native && options.signal_map) {
    // Give ngspice's stand-in vectors (state capacitors, ...) the memspice names.
    for (auto& plot : ng.plots) {
      for (const auto& table : report->memspice) {
        for (const auto& name : table.names) {
          std::string theirs = Lower(options.signal_map(name));
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
                      KindName(kind), deck_path, have.empty() ? "nothing" : have));
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

}  // namespace memspice::solver
