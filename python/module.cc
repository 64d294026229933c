// The compiled part of the `memspice` Python package (`memspice._memspice`): thin bindings over the
// libraries. Argument checking with clear messages and the result classes live in
// python/memspice/__init__.py; this file converts between numpy and the C++ types, releases the GIL
// while simulating or training, and turns failures into the package's exceptions.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "autodiff/gradient.h"
#include "base/option_names.h"
#include "io/raw_file.h"
#include "netlist/netlist.h"
#include "ngspice/compare.h"
#include "ngspice/export.h"
#include "solver/circuit.h"
#include "solver/simulator.h"
#include "training/run_dir.h"
#include "training/trainer.h"

namespace py = pybind11;

namespace memspice::python {
namespace {

// A deck that failed to parse or build: the formatted diagnostics (file:line:col, source line,
// caret) and each diagnostic's fields.
struct NetlistFailure : std::runtime_error {
  NetlistFailure(const netlist::Diagnostics& d)
      : std::runtime_error(d.Format()), items(d.items()) {}
  std::vector<netlist::Diagnostic> items;
};
// A solver Status error (non-convergence, bad option values, I/O).
struct SimulationFailure : std::runtime_error {
  explicit SimulationFailure(const Status& s)
      : std::runtime_error(s.hint().empty() ? s.message() : s.message() + "\n  note: " + s.hint()) {
  }
};

void Check(const Status& s) {
  if (!s.ok()) throw SimulationFailure(s);
}

// Where a deck comes from: a file, or text with a name for locations and relative includes.
struct DeckSource {
  std::string text_or_path;
  bool is_path = true;
  std::string name;  // text decks: shown in error locations
  std::vector<std::string> include_dirs;
  std::map<std::string, double> params;  // .param overrides
};

netlist::ParseOptions ParseOptionsOf(const DeckSource& d,
                                     const std::map<std::string, double>& extra = {}) {
  netlist::ParseOptions po;
  po.overrides = d.params;
  for (const auto& [k, v] : extra) po.overrides[k] = v;
  po.include_paths = d.include_dirs;
  po.max_elements = 10'000'000;  // as the CLI: stops exponential subcircuit expansion
  return po;
}

std::optional<netlist::Netlist> ParseDeck(const DeckSource& d,
                                          const std::map<std::string, double>& extra,
                                          netlist::Diagnostics& diag) {
  const netlist::ParseOptions po = ParseOptionsOf(d, extra);
  auto nl = d.is_path ? netlist::ParseFile(d.text_or_path, po, diag)
                      : netlist::ParseString(d.text_or_path, d.name, po, diag);
  if (diag.has_errors()) return std::nullopt;
  return nl;
}

netlist::Netlist ParseOrThrow(const DeckSource& d) {
  if (d.is_path && !std::filesystem::exists(d.text_or_path)) {
    throw SimulationFailure(Status::Error(
        "cannot open deck '" + d.text_or_path + "': no such file",
        "pass a path to an existing file, or the deck text itself (text with a newline)"));
  }
  netlist::Diagnostics diag;
  auto nl = ParseDeck(d, {}, diag);
  if (!nl) throw NetlistFailure(diag);
  return std::move(*nl);
}

solver::SimOptions OptionsOf(const netlist::Netlist& nl, const std::string& method,
                             double fixed_step) {
  solver::SimOptions o;
  Check(o.ApplyNetlistOptions(nl));
  if (!method.empty()) {
    o.method = solver::ParseMethod(method);
    if (!o.method) {
      throw py::value_error("method='" + method +
                            "' is not known; expected 'fe', 'be', 'trap', 'gear2' or 'rk4'");
    }
  }
  if (!(fixed_step >= 0)) throw py::value_error("fixed_step must be >= 0 seconds (0: adaptive)");
  o.fixed_step = fixed_step;
  Check(o.Validate());
  return o;
}

py::dict PlotToDict(const io::WaveformTable& t) {
  py::dict d;
  d["title"] = t.title;
  d["analysis"] = t.analysis;
  d["scale_name"] = t.scale_name;
  d["names"] = t.names;
  d["scale"] = py::array_t<double>(static_cast<py::ssize_t>(t.scale.size()), t.scale.data());
  py::array_t<double> data(
      {static_cast<py::ssize_t>(t.rows.size()), static_cast<py::ssize_t>(t.names.size())});
  auto w = data.mutable_unchecked<2>();
  for (size_t k = 0; k < t.rows.size(); ++k) {
    for (size_t j = 0; j < t.names.size(); ++j) w(k, j) = t.rows[k][j];
  }
  d["data"] = data;
  return d;
}

io::WaveformTable PlotFromDict(const py::dict& d) {
  io::WaveformTable t;
  t.title = d["title"].cast<std::string>();
  t.analysis = d["analysis"].cast<std::string>();
  t.scale_name = d["scale_name"].cast<std::string>();
  t.names = d["names"].cast<std::vector<std::string>>();
  t.scale = d["scale"].cast<std::vector<double>>();
  auto data = d["data"].cast<py::array_t<double, py::array::c_style | py::array::forcecast>>();
  if (data.ndim() != 2 || data.shape(1) != static_cast<py::ssize_t>(t.names.size())) {
    throw py::value_error("plot data must be a (points x signals) array");
  }
  auto r = data.unchecked<2>();
  t.rows.assign(data.shape(0), std::vector<double>(t.names.size()));
  for (py::ssize_t k = 0; k < data.shape(0); ++k) {
    for (py::ssize_t j = 0; j < data.shape(1); ++j) t.rows[k][j] = r(k, j);
  }
  return t;
}

py::list Simulate(const DeckSource& deck, const std::string& method, double fixed_step) {
  std::vector<io::WaveformTable> tables;
  {
    py::gil_scoped_release release;
    netlist::Netlist nl = ParseOrThrow(deck);
    if (nl.analyses.empty()) {
      throw SimulationFailure(Status::Error("the deck has no analysis", "add .op, .dc or .tran"));
    }
    const solver::SimOptions options = OptionsOf(nl, method, fixed_step);
    netlist::Diagnostics diag;
    std::unique_ptr<solver::Circuit> circuit = solver::Circuit::Build(nl, diag);
    if (!circuit) throw NetlistFailure(diag);
    for (const netlist::Analysis& analysis : nl.analyses) {
      io::WaveformTable table;
      Check(solver::RunAnalysis(*circuit, nl, analysis, options, nullptr, &table));
      tables.push_back(std::move(table));
    }
  }
  py::list plots;
  for (const auto& t : tables) plots.append(PlotToDict(t));
  return plots;
}

void WriteRaw(const py::list& plots, const std::string& path, bool binary) {
  std::vector<io::WaveformTable> tables;
  for (const auto& p : plots) tables.push_back(PlotFromDict(p.cast<py::dict>()));
  py::gil_scoped_release release;
  Check(io::WriteRaw(tables, path, binary));
}

py::dict Grad(const DeckSource& deck, const std::string& objective,
              const std::vector<std::string>& wrt, const std::string& method, double fixed_step,
              bool check) {
  autodiff::GradResult r;
  {
    py::gil_scoped_release release;
    netlist::Netlist nl = ParseOrThrow(deck);
    const solver::SimOptions options = OptionsOf(nl, method, fixed_step);
    autodiff::GradRequest req;
    req.objective = objective;
    req.wrt = wrt;
    req.check_fd = check;
    req.reparse = [deck](const std::map<std::string, double>& extra,
                         std::string* error) -> std::optional<netlist::Netlist> {
      netlist::Diagnostics diag;
      auto nl = ParseDeck(deck, extra, diag);
      if (!nl) *error = diag.Format();
      return nl;
    };
    Check(autodiff::ComputeGradient(nl, options, req, &r));
  }
  py::dict gradient, fd;
  for (const auto& e : r.entries) {
    gradient[py::str(e.name)] = e.gradient;
    if (e.fd) fd[py::str(e.name)] = *e.fd;
  }
  py::dict out;
  out["objective"] = r.objective;
  out["gradient"] = gradient;
  out["fd"] = fd;
  out["method"] = r.method;
  out["steps"] = r.steps;
  out["warnings"] = r.warnings;
  return out;
}

py::dict Compare(const std::string& path, const DeckSource& deck,
                 const std::vector<std::string>& signals, double rtol, double rms_rtol,
                 double timeout) {
  ngspice::DeckCompareOptions o;
  o.compare.rtol = rtol;
  o.compare.rms_rtol = rms_rtol;
  o.compare.signals = signals;
  o.parse = ParseOptionsOf(deck);
  o.ngspice.timeout_seconds = timeout;
  ngspice::DeckComparison report;
  {
    py::gil_scoped_release release;
    Check(ngspice::CompareWithNgspice(path, o, &report));
  }
  py::list analyses;
  for (const auto& a : report.analyses) {
    py::dict signals_out;
    for (const auto& s : a.signals) {
      py::dict row;
      row["max_abs"] = s.max_abs;
      row["rms"] = s.rms;
      row["max_rel"] = s.max_rel;
      row["rms_rel"] = s.rms_rel;
      row["at"] = s.at;
      row["passed"] = s.pass;
      signals_out[py::str(s.name)] = row;
    }
    py::dict ad;
    ad["analysis"] = a.analysis;
    ad["signals"] = signals_out;
    ad["passed"] = a.pass;
    analyses.append(ad);
  }
  py::dict out;
  out["passed"] = report.pass;
  out["analyses"] = analyses;
  out["report"] = ngspice::FormatDeckComparison(report, o.compare);
  out["memspice_seconds"] = report.memspice_seconds;
  out["ngspice_seconds"] = report.ngspice_seconds;
  return out;
}

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

// Images (N x F or N x rows x cols, values in [0, 1]) and labels (N) from numpy.
training::Dataset DatasetFromArrays(const std::string& name, FloatArray x, IntArray y) {
  training::Dataset d;
  d.name = name;
  if (x.ndim() == 3) {
    d.rows = static_cast<int>(x.shape(1));
    d.cols = static_cast<int>(x.shape(2));
  } else if (x.ndim() == 2) {
    d.rows = 1;
    d.cols = static_cast<int>(x.shape(1));
  } else {
    throw py::value_error(name +
                          " images must be a 2-D (samples x features) or 3-D (samples x "
                          "rows x cols) array, got " +
                          std::to_string(x.ndim()) + " dimensions");
  }
  if (y.ndim() != 1 || y.shape(0) != x.shape(0)) {
    throw py::value_error(name + " labels must be a 1-D array with one label per image (" +
                          std::to_string(x.shape(0)) + ")");
  }
  d.images.assign(x.data(), x.data() + x.size());
  d.labels.assign(y.data(), y.data() + y.size());
  return d;
}

py::dict MetricsToDict(const training::EpochMetrics& m) {
  py::dict d;
  d["epoch"] = m.epoch;
  d["batches"] = m.batches;
  d["train_loss"] = m.train_loss;
  d["train_accuracy"] = m.train_accuracy;
  d["test_loss"] = m.test_loss;
  d["test_accuracy"] = m.test_accuracy;
  d["spiking_fraction"] = m.spiking_fraction;
  d["g_mean"] = m.g_mean;
  d["g_std"] = m.g_std;
  d["seconds"] = m.seconds;
  d["samples_per_second"] = m.samples_per_second;
  return d;
}

template <typename T>
T Get(const py::dict& d, const char* key, T fallback) {
  return d.contains(key) ? d[key].cast<T>() : fallback;
}

// Runs training; `net` and `opts` hold the keyword arguments already checked in Python.
void Train(const py::dict& net, const py::dict& opts, py::object data) {
  training::TrainOptions o;
  training::NetworkConfig& c = o.network;
  c.layer_sizes = Get(net, "layers", c.layer_sizes);
  c.steps = Get(net, "steps", c.steps);
  c.period = Get(net, "period", c.period);
  c.method = training::ParseMethod(Get<std::string>(net, "method", "semi-implicit"));
  c.form = training::ParseCrossbarForm(Get<std::string>(net, "crossbar", "ideal"));
  c.mapping = training::ParseSignedMapping(Get<std::string>(net, "mapping", "differential"));
  c.input_scale = Get(net, "input_scale", c.input_scale);
  c.v_scale = Get(net, "v_scale", c.v_scale);
  c.layer_scale = Get(net, "layer_scale", c.layer_scale);
  o.optimizer.kind = training::ParseOptimizer(Get<std::string>(opts, "optimizer", "adam"));
  o.optimizer.lr = Get(opts, "lr", o.optimizer.lr);
  o.optimizer.schedule =
      training::ParseLrSchedule(Get<std::string>(opts, "lr_schedule", "constant"));
  o.optimizer.lr_min = Get(opts, "lr_min", o.optimizer.lr_min);
  o.epochs = Get(opts, "epochs", o.epochs);
  o.batch_size = Get(opts, "batch_size", o.batch_size);
  o.threads = Get(opts, "threads", o.threads);
  o.max_batches = Get(opts, "max_batches", o.max_batches);
  o.max_train = Get(opts, "max_train", o.max_train);
  o.max_test = Get(opts, "max_test", o.max_test);
  o.seed = Get<uint64_t>(opts, "seed", o.seed);
  o.run_dir = Get<std::string>(opts, "run_dir", "");
  o.resume = Get(opts, "resume", false);
  o.progress = Get(opts, "progress", false);
  o.dataset = Get<std::string>(opts, "dataset", o.dataset);
  o.dataset_path = Get<std::string>(opts, "dataset_path", "");
  if (std::string err = o.Validate(); !err.empty()) throw py::value_error(err);
  training::DatasetPair pair;
  if (!data.is_none()) {
    auto t = data.cast<py::tuple>();
    pair.train = DatasetFromArrays("train", t[0].cast<FloatArray>(), t[1].cast<IntArray>());
    pair.test = DatasetFromArrays("test", t[2].cast<FloatArray>(), t[3].cast<IntArray>());
  }
  py::gil_scoped_release release;
  if (data.is_none()) {
    if (Status s = training::LoadDataset(o.dataset, o.dataset_path, &pair); !s.ok()) {
      throw training::TrainingError(s.message());  // the Python boundary
    }
  }
  training::RunTraining(o, pair);
}

py::dict LoadRun(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path ckpt = fs::path(dir) / "checkpoint.bin", params = fs::path(dir) / "params.json";
  if (!fs::exists(ckpt)) {
    throw training::TrainingError(dir + ": not a training run directory (no checkpoint.bin)");
  }
  training::Checkpoint k = training::LoadCheckpoint(ckpt.string());
  const bool finished = fs::exists(params);
  const training::Parameters p =
      finished ? training::LoadParametersJson(params.string()) : std::move(k.params);
  py::list g_plus, g_minus, history;
  for (size_t l = 0; l < p.g_plus.size(); ++l) {
    g_plus.append(py::cast(p.g_plus[l]));
    g_minus.append(py::cast(p.g_minus[l]));
  }
  for (const auto& m : k.history) history.append(MetricsToDict(m));
  py::dict out;
  out["g_plus"] = g_plus;
  out["g_minus"] = g_minus;
  out["history"] = history;
  out["config_json"] = k.config_json;
  out["finished"] = finished;
  return out;
}

DeckSource MakeSource(const std::string& text_or_path, bool is_path,
                      const std::map<std::string, double>& params,
                      const std::vector<std::string>& include_dirs) {
  DeckSource d;
  d.text_or_path = text_or_path;
  d.is_path = is_path;
  d.name = is_path ? text_or_path : "<deck>";
  d.params = params;
  d.include_dirs = include_dirs;
  return d;
}

void RegisterErrors(py::module_& m) {
  static py::exception<std::runtime_error> base(m, "Error", PyExc_Exception);
  static py::exception<NetlistFailure> netlist_error(m, "NetlistError", base.ptr());
  static py::exception<SimulationFailure> simulation_error(m, "SimulationError", base.ptr());
  static py::exception<training::TrainingError> training_error(m, "TrainingError", base.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const NetlistFailure& e) {
      py::list diags;
      for (const auto& d : e.items) {
        py::dict item;
        item["file"] = d.loc.file;
        item["line"] = d.loc.line;
        item["col"] = d.loc.col;
        item["severity"] = d.severity == netlist::Severity::kError ? "error" : "warning";
        item["message"] = d.message;
        item["hint"] = d.hint;
        diags.append(item);
      }
      py::object exc = py::reinterpret_borrow<py::object>(netlist_error.ptr())(e.what());
      exc.attr("diagnostics") = diags;
      PyErr_SetObject(netlist_error.ptr(), exc.ptr());
    } catch (const SimulationFailure& e) {
      simulation_error(e.what());
    } catch (const training::TrainingError& e) {
      training_error(e.what());
    }
  });
}

// Library messages name options neutrally (base::Opt); here the ones the Python functions take
// are spelled as keyword arguments, the others keep their neutral name.
std::string PythonOptionSpelling(std::string_view name) {
  static constexpr std::string_view kKeywords[] = {"method", "fixed_step", "wrt",  "objective",
                                                   "params", "signals",    "rtol", "timeout"};
  for (std::string_view k : kKeywords)
    if (k == name) return std::string(name) + "=";
  return "'" + std::string(name) + "'";
}

}  // namespace
}  // namespace memspice::python

PYBIND11_MODULE(_memspice, m) {
  using namespace memspice::python;
  m.doc() = "memspice compiled core; use the memspice package";
  RegisterErrors(m);
  memspice::base::SetOptionSpelling(&PythonOptionSpelling);
  m.attr("SOURCE_LIB_DIR") = MEMSPICE_SOURCE_DIR "/circuits/lib";
  py::class_<DeckSource>(m, "DeckSource");
  m.def("deck_source", &MakeSource, py::arg("text_or_path"), py::arg("is_path"), py::arg("params"),
        py::arg("include_dirs"));
  m.def("simulate", &Simulate, py::arg("deck"), py::arg("method"), py::arg("fixed_step"));
  m.def("write_raw", &WriteRaw, py::arg("plots"), py::arg("path"), py::arg("binary"));
  m.def("grad", &Grad, py::arg("deck"), py::arg("objective"), py::arg("wrt"), py::arg("method"),
        py::arg("fixed_step"), py::arg("check"));
  m.def("compare", &Compare, py::arg("path"), py::arg("deck"), py::arg("signals"), py::arg("rtol"),
        py::arg("rms_rtol"), py::arg("timeout"));
  m.def("train", &Train, py::arg("net"), py::arg("opts"), py::arg("data"));
  m.def("load_run", &LoadRun, py::arg("run_dir"));
}
