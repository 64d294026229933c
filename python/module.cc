// The compiled part of the `memspice` Python package (`memspice._memspice`): thin bindings over the
// libraries. Argument checking with clear messages and the result classes live in
// python/memspice/__init__.py; this file converts between numpy and the C++ types, releases the GIL
// while simulating or training, and turns failures into the package's exceptions.
#include <fmt/format.h>
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <map>
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
  d["r_up"] = m.r_up;
  d["n_up"] = m.n_up;
  d["pulses"] = m.pulses;
  d["energy"] = m.energy;
  return d;
}

template <typename T>
T Get(const py::dict& d, const char* key, T fallback) {
  return d.contains(key) ? d[key].cast<T>() : fallback;
}

template <typename T>
void SetIf(const py::dict& d, const char* key, T* field) {
  if (d.contains(key)) *field = d[key].cast<T>();
}

// The device settings among the keyword arguments (training::DeviceSettingKeys), by name.
std::map<std::string, double> DeviceSettings(const py::dict& d) {
  std::map<std::string, double> values;
  for (const std::string& key : training::DeviceSettingKeys())
    if (d.contains(key.c_str())) values[key] = d[key.c_str()].cast<double>();
  return values;
}

// The images and labels of `data` (a (train_x, train_y, test_x, test_y) or (test_x, test_y)
// tuple) or, when it is None, the dataset `name` at `path`.
training::DatasetPair LoadData(py::object data, const std::string& name, const std::string& path) {
  training::DatasetPair pair;
  if (data.is_none()) {
    py::gil_scoped_release release;
    if (Status s = training::LoadDataset(name, path, &pair); !s.ok()) {
      throw training::TrainingError(s.message());  // the Python boundary
    }
    return pair;
  }
  auto t = data.cast<py::tuple>();
  const size_t test = t.size() == 4 ? 2 : 0;
  if (test == 2)
    pair.train = DatasetFromArrays("train", t[0].cast<FloatArray>(), t[1].cast<IntArray>());
  pair.test = DatasetFromArrays("test", t[test].cast<FloatArray>(), t[test + 1].cast<IntArray>());
  return pair;
}

// Runs training; `net` and `opts` hold the keyword arguments already checked in Python. The
// preset's settings (training::TrainPreset) hold where a keyword is not given.
void Train(const py::dict& net, const py::dict& opts, py::object data) {
  training::TrainOptions o = training::TrainPreset(Get<std::string>(opts, "preset", "default"));
  training::NetworkConfig& c = o.network;
  SetIf(net, "layers", &c.layer_sizes);
  SetIf(net, "steps", &c.steps);
  SetIf(net, "period", &c.period);
  if (net.contains("method")) c.method = training::ParseMethod(net["method"].cast<std::string>());
  if (net.contains("crossbar"))
    c.form = training::ParseCrossbarForm(net["crossbar"].cast<std::string>());
  if (net.contains("mapping"))
    c.mapping = training::ParseSignedMapping(net["mapping"].cast<std::string>());
  SetIf(net, "input_scale", &c.input_scale);
  SetIf(net, "v_scale", &c.v_scale);
  SetIf(net, "layer_scale", &c.layer_scale);
  if (opts.contains("optimizer"))
    o.optimizer.kind = training::ParseOptimizer(opts["optimizer"].cast<std::string>());
  SetIf(opts, "lr", &o.optimizer.lr);
  if (opts.contains("lr_schedule"))
    o.optimizer.schedule = training::ParseLrSchedule(opts["lr_schedule"].cast<std::string>());
  SetIf(opts, "lr_min", &o.optimizer.lr_min);
  SetIf(opts, "epochs", &o.epochs);
  SetIf(opts, "batch_size", &o.batch_size);
  SetIf(opts, "threads", &o.threads);
  SetIf(opts, "max_batches", &o.max_batches);
  SetIf(opts, "max_train", &o.max_train);
  SetIf(opts, "max_test", &o.max_test);
  SetIf<uint64_t>(opts, "seed", &o.seed);
  if (opts.contains("update"))
    o.update.rule = training::ParseUpdateRule(opts["update"].cast<std::string>());
  training::ApplyDeviceSettings(Get<std::string>(opts, "device", ""), DeviceSettings(opts),
                                &o.update);
  o.run_dir = Get<std::string>(opts, "run_dir", "");
  o.resume = Get(opts, "resume", false);
  o.progress = Get(opts, "progress", false);
  o.dataset = Get<std::string>(opts, "dataset", o.dataset);
  o.dataset_path = Get<std::string>(opts, "dataset_path", "");
  if (std::string err = o.Validate(); !err.empty()) throw py::value_error(err);
  training::DatasetPair pair = LoadData(data, o.dataset, o.dataset_path);
  training::CheckTrainingData(o, pair);
  if (!o.resume) {  // the run record `memspice eval` and evaluate() read, as `memspice train`'s
    training::RunRecord record;
    record.dataset = !data.is_none() ? "" : o.dataset == "idx" ? o.dataset_path : o.dataset;
    record.preset = Get<std::string>(opts, "preset", "default");
    record.options = o;
    training::PrepareRunDir(o.run_dir, training::RunDirMode::kOverwrite);
    training::WriteRunRecord(o.run_dir, record);
  }
  py::gil_scoped_release release;
  training::RunTraining(o, pair);
}

// Test accuracy, mean loss and confusion matrix of a run directory trained on the fast path
// without a deck; with `noise_seed` (>= 0) on a fresh array under the run's device description,
// then `device`'s card, then the device settings in `opts` (training::FreshArray).
py::dict Evaluate(const std::string& run_dir, const py::dict& opts, py::object data) {
  const training::RunRecord record = training::ReadRunRecord(run_dir);
  if (!record.deck.empty())
    throw training::TrainingError(
        fmt::format("{}: trained from the deck {}; evaluate it with `memspice eval {}`", run_dir,
                    record.deck, run_dir));
  training::Network net(record.options.network);
  training::Parameters p = training::LoadTrainedParameters(run_dir, net.config()).params;
  const int64_t noise_seed = Get<int64_t>(opts, "noise_seed", -1);
  if (noise_seed >= 0) {
    training::UpdateOptions u = record.options.update;
    training::ApplyDeviceSettings(Get<std::string>(opts, "device", ""), DeviceSettings(opts), &u);
    p = training::FreshArray(p, u, net.config(), static_cast<uint64_t>(noise_seed));
  }
  // A dataset given as train()'s (name, path), else the run's (as `memspice train` names it).
  std::string name = Get<std::string>(opts, "dataset", ""), path;
  if (name.empty() && data.is_none()) {
    if (record.dataset.empty())
      throw training::TrainingError(fmt::format(
          "{}: trained on arrays; give data=(test_images, test_labels) or a dataset", run_dir));
    std::tie(name, path) = training::DatasetSource(record.dataset, "");
  }
  const training::DatasetPair pair =
      LoadData(data, name, Get<std::string>(opts, "dataset_path", path));
  training::EvalResult r;
  {
    py::gil_scoped_release release;
    r = training::Evaluate(net, p, pair.test, Get(opts, "threads", 2), Get(opts, "max_test", 0));
  }
  py::dict out;
  out["count"] = r.count;
  out["accuracy"] = r.accuracy;
  out["loss"] = r.loss;
  out["spiking_fraction"] = r.spiking_fraction;
  out["confusion"] = py::cast(Eigen::MatrixXi(r.confusion));
  return out;
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
  m.def("evaluate", &Evaluate, py::arg("run_dir"), py::arg("opts"), py::arg("data"));
  m.def("device_setting_keys", &memspice::training::DeviceSettingKeys);
  m.def("load_run", &LoadRun, py::arg("run_dir"));
}
