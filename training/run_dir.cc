#include "training/run_dir.h"

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "base/option_names.h"
#include "io/atomic_file.h"

namespace memspice::training {

namespace fs = std::filesystem;
using nlohmann::json;

std::string RunFile(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

void WriteFileAtomic(const std::string& path, const std::string& contents) {
  // One atomic-write helper for every output (io/atomic_file.h); training reports by throwing.
  const Status s = io::WriteFileAtomic(path, contents);
  if (!s.ok()) throw TrainingError(s.message());
}

json NetworkConfigToJson(const NetworkConfig& c) {
  json j{{"layers", c.layer_sizes},
         {"steps", c.steps},
         {"period", c.period},
         {"dt", c.dt},
         {"tau_a", c.tau_a},
         {"method", MethodName(c.method)},
         {"crossbar", CrossbarFormName(c.form)},
         {"input_scale", c.input_scale},
         {"v_scale", c.v_scale},
         {"layer_scale", c.layer_scale}};
  // Written only when not the default, so records of differential networks stay as before.
  if (c.mapping != SignedMapping::kDifferential) j["mapping"] = SignedMappingName(c.mapping);
  return j;
}

namespace {

// j[key] into *field when present (required: error when absent); errors name the field.
template <typename T>
void Take(const json& j, const char* key, bool required, const std::string& where, T* field) {
  if (!j.contains(key)) {
    if (required) throw TrainingError(fmt::format("{}: error: field '{}' is missing", where, key));
    return;
  }
  try {
    *field = j.at(key).get<T>();
  } catch (const json::exception&) {
    throw TrainingError(
        fmt::format("{}: error: field '{}' has the wrong type: {}", where, key, j.at(key).dump()));
  }
}

NetworkConfig NetworkConfigFrom(const json& j, const std::string& where) {
  if (!j.is_object()) throw TrainingError(fmt::format("{}: error: 'net' is not an object", where));
  NetworkConfig c;
  std::string method = MethodName(c.method), crossbar = CrossbarFormName(c.form);
  std::string mapping = SignedMappingName(c.mapping);
  std::vector<double> scale;
  Take(j, "layers", true, where, &c.layer_sizes);
  Take(j, "steps", true, where, &c.steps);
  Take(j, "period", false, where, &c.period);
  Take(j, "dt", false, where, &c.dt);
  Take(j, "tau_a", false, where, &c.tau_a);
  Take(j, "method", true, where, &method);
  Take(j, "crossbar", false, where, &crossbar);
  Take(j, "mapping", false, where, &mapping);
  Take(j, "input_scale", false, where, &c.input_scale);
  Take(j, "v_scale", false, where, &c.v_scale);
  Take(j, "layer_scale", false, where, &scale);
  if (!scale.empty()) c.layer_scale = scale;  // older records wrote [] for the defaults
  c.method = ParseMethod(method);
  c.form = ParseCrossbarForm(crossbar);
  c.mapping = ParseSignedMapping(mapping);
  if (std::string e = c.Validate(); !e.empty())
    throw TrainingError(fmt::format("{}: error: {}", where, e));
  return c;
}

json TrainSettingsToJson(const TrainOptions& o) {
  return json{{"optimizer", OptimizerName(o.optimizer.kind)},
              {"lr", o.optimizer.lr},
              {"lr_schedule", LrScheduleName(o.optimizer.schedule)},
              {"lr_min", o.optimizer.lr_min},
              {"epochs", o.epochs},
              {"batch_size", o.batch_size},
              {"max_batches", o.max_batches},
              {"seed", o.seed},
              {"max_train", o.max_train},
              {"max_test", o.max_test},
              {"init_fraction", o.init_fraction}};
}

void TrainSettingsFromJson(const json& j, const std::string& where, TrainOptions* o) {
  if (!j.is_object()) return;
  std::string optimizer = OptimizerName(o->optimizer.kind);
  Take(j, "optimizer", false, where, &optimizer);
  o->optimizer.kind = ParseOptimizer(optimizer);
  Take(j, "lr", false, where, &o->optimizer.lr);
  std::string schedule = LrScheduleName(o->optimizer.schedule);
  Take(j, "lr_schedule", false, where, &schedule);
  o->optimizer.schedule = ParseLrSchedule(schedule);
  Take(j, "lr_min", false, where, &o->optimizer.lr_min);
  Take(j, "epochs", false, where, &o->epochs);
  Take(j, "batch_size", false, where, &o->batch_size);
  Take(j, "max_batches", false, where, &o->max_batches);
  Take(j, "seed", false, where, &o->seed);
  Take(j, "max_train", false, where, &o->max_train);
  Take(j, "max_test", false, where, &o->max_test);
  Take(j, "init_fraction", false, where, &o->init_fraction);
}

}  // namespace

NetworkConfig NetworkConfigFromJson(const json& j) { return NetworkConfigFrom(j, "network"); }

void WriteRunRecord(const std::string& dir, const RunRecord& r) {
  json j{{"dataset", r.dataset}, {"preset", r.preset}, {"train", TrainSettingsToJson(r.options)}};
  if (r.deck.empty()) {
    j["net"] = NetworkConfigToJson(r.options.network);
  } else {
    j["deck"] = r.deck;
    j["path"] = r.path;
  }
  if (r.options.update.rule != UpdateRule::kIdeal)
    j["update"] = UpdateOptionsToJson(r.options.update);
  WriteFileAtomic(RunFile(dir, kTrainArgsFile), j.dump(2) + "\n");
}

RunRecord ReadRunRecord(const std::string& dir) {
  const std::string where = RunFile(dir, kTrainArgsFile);
  std::ifstream in(where);
  if (!in)
    throw TrainingError(fmt::format(
        "{}: error: no run record here; give a run directory made by 'memspice train'", where));
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw TrainingError(fmt::format("{}: error: not valid JSON", where));
  if (!j.contains("net") && !j.contains("deck"))
    throw TrainingError(fmt::format("{}: error: needs a field 'net' or 'deck'", where));
  RunRecord r;
  Take(j, "dataset", false, where, &r.dataset);
  Take(j, "preset", false, where, &r.preset);
  Take(j, "deck", false, where, &r.deck);
  Take(j, "path", false, where, &r.path);
  if (j.contains("net")) r.options.network = NetworkConfigFrom(j["net"], where + ": net");
  if (j.contains("train")) TrainSettingsFromJson(j["train"], where + ": train", &r.options);
  if (j.contains("update")) r.options.update = UpdateOptionsFromJson(j["update"], where);
  return r;
}

void PrepareRunDir(const std::string& dir, RunDirMode mode) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw TrainingError(fmt::format("{}: error: run directory is a file", dir));
  if (mode == RunDirMode::kResume) {
    for (const char* f : {kTrainArgsFile, kCheckpointFile})
      if (!fs::exists(RunFile(dir, f)))
        throw TrainingError(fmt::format(
            "{}: error: cannot resume: no {} there; is it a run directory of 'memspice train'?",
            dir, f));
    return;
  }
  if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec)) {
    if (mode == RunDirMode::kNew)
      throw TrainingError(fmt::format(
          "{}: error: run directory is not empty; continue it with {} {}, replace its run "
          "with {}, or choose another {}",
          dir, base::Opt("resume"), dir, base::Opt("overwrite"), base::Opt("out")));
    for (const char* f : {kTrainArgsFile, kCheckpointFile, kParamsFile, kMetricsCsvFile,
                          kMetricsJsonFile, kMnaParamsFile, "learning_curves.png", "membrane.png"})
      fs::remove(RunFile(dir, f), ec);
  }
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw TrainingError(fmt::format("{}: error: cannot create run directory: {}", dir,
                                    ec ? ec.message() : "not a directory"));
  // Writability is checked now, before a long run, not when the first epoch ends.
  const std::string probe = RunFile(dir, ".write_test");
  if (!std::ofstream(probe))
    throw TrainingError(fmt::format("{}: error: run directory is not writable", dir));
  fs::remove(probe, ec);
}

namespace {

// Empty if `p` has the crossbar shapes of `c`, else what differs.
std::string ShapeMismatch(const NetworkConfig& c, const Parameters& p) {
  if (static_cast<int>(p.g_plus.size()) != c.num_layers() || p.g_minus.size() != p.g_plus.size())
    return fmt::format("{} crossbars, the network has {}", p.g_plus.size(), c.num_layers());
  for (int l = 0; l < c.num_layers(); ++l)
    for (const Eigen::MatrixXd* m : {&p.g_plus[l], &p.g_minus[l]})
      if (m->rows() != c.layer_sizes[l] || m->cols() != c.layer_sizes[l + 1])
        return fmt::format("crossbar {} is {}x{}, the network's is {}x{}", l + 1, m->rows(),
                           m->cols(), c.layer_sizes[l], c.layer_sizes[l + 1]);
  return "";
}

// Conductances outside the network's device range [g_min, g_max] (e.g. a run of another synapse
// model); "" if none. The tolerance is the checkpoint check's.
std::string RangeMismatch(const NetworkConfig& c, const Parameters& p) {
  const double tol = 1e-12 * std::abs(c.g_max);
  for (int l = 0; l < static_cast<int>(p.g_plus.size()); ++l)
    for (const Eigen::MatrixXd* m : {&p.g_plus[l], &p.g_minus[l]})
      if (m->size() > 0 && (m->minCoeff() < c.g_min - tol || m->maxCoeff() > c.g_max + tol))
        return fmt::format(
            "crossbar {}: conductances range over [{:g}, {:g}] S, outside the network's device "
            "range [{:g}, {:g}] S",
            l + 1, m->minCoeff(), m->maxCoeff(), c.g_min, c.g_max);
  return "";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Metrics, conductances and checkpoints.

json MetricsToJson(const EpochMetrics& m) {
  return json{{"epoch", m.epoch},
              {"batches", m.batches},
              {"train_loss", m.train_loss},
              {"train_accuracy", m.train_accuracy},
              {"test_loss", m.test_loss},
              {"test_accuracy", m.test_accuracy},
              {"spiking_fraction", m.spiking_fraction},
              {"g_mean", m.g_mean},
              {"g_std", m.g_std},
              {"g_at_min", m.g_at_min},
              {"g_at_max", m.g_at_max},
              {"seconds", m.seconds},
              {"samples_per_second", m.samples_per_second},
              {"tape_bytes_per_batch", m.tape_bytes_per_batch},
              {"peak_rss_bytes", m.peak_rss_bytes},
              {"r_up", m.r_up},
              {"n_up", m.n_up},
              {"pulses", m.pulses},
              {"energy", m.energy},
              {"drift", m.drift},
              {"refreshes", m.refreshes}};
}

EpochMetrics MetricsFromJson(const json& j, const std::string& where) {
  EpochMetrics m;
  Take(j, "epoch", true, where, &m.epoch);
  Take(j, "batches", true, where, &m.batches);
  Take(j, "train_loss", true, where, &m.train_loss);
  Take(j, "train_accuracy", true, where, &m.train_accuracy);
  Take(j, "test_loss", true, where, &m.test_loss);
  Take(j, "test_accuracy", true, where, &m.test_accuracy);
  Take(j, "spiking_fraction", true, where, &m.spiking_fraction);
  Take(j, "g_mean", true, where, &m.g_mean);
  Take(j, "g_std", true, where, &m.g_std);
  Take(j, "g_at_min", true, where, &m.g_at_min);
  Take(j, "g_at_max", true, where, &m.g_at_max);
  Take(j, "seconds", true, where, &m.seconds);
  Take(j, "samples_per_second", true, where, &m.samples_per_second);
  Take(j, "tape_bytes_per_batch", false, where, &m.tape_bytes_per_batch);  // absent before v2
  Take(j, "peak_rss_bytes", false, where, &m.peak_rss_bytes);
  for (auto [key, field] : {std::pair{"r_up", &m.r_up},
                            {"n_up", &m.n_up},
                            {"pulses", &m.pulses},
                            {"energy", &m.energy},
                            {"drift", &m.drift},
                            {"refreshes", &m.refreshes}})
    Take(j, key, false, where, field);  // absent before device-aware updates
  return m;
}

namespace {

// Checkpoint layout (version 2): magic "MSPCKPT2", uint64 header length, JSON header, then G+/G-,
// Adam m and v as (int32 layers, per matrix int32 rows, int32 cols, raw doubles), then the zlib
// CRC-32 of every byte before it (uint32). Version 1 ("MSPCKPT1", no CRC) is still read.
constexpr char kMagicV1[8] = {'M', 'S', 'P', 'C', 'K', 'P', 'T', '1'};
constexpr char kMagicV2[8] = {'M', 'S', 'P', 'C', 'K', 'P', 'T', '2'};
constexpr int kCheckpointVersion = 2;
constexpr int32_t kMaxLayers = 64;  // crossbars in one network, far above any real one

template <typename T>
void Put(std::string* out, const T& v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

void PutParams(std::string* out, const Parameters& p) {
  Put(out, static_cast<int32_t>(p.g_plus.size()));
  for (size_t l = 0; l < p.g_plus.size(); ++l)
    for (const Eigen::MatrixXd* m : {&p.g_plus[l], &p.g_minus[l]}) {
      Put(out, static_cast<int32_t>(m->rows()));
      Put(out, static_cast<int32_t>(m->cols()));
      out->append(reinterpret_cast<const char*>(m->data()), sizeof(double) * m->size());
    }
}

// Reads a checkpoint's bytes with bounds checks; errors name the file and what was being read.
class Reader {
 public:
  Reader(const std::string& bytes, size_t end, std::string path)
      : bytes_(bytes), end_(end), path_(std::move(path)) {}
  size_t left() const { return end_ - pos_; }
  size_t pos() const { return pos_; }
  TrainingError Fail(const std::string& what) const {
    return TrainingError(fmt::format("{}: error: corrupt checkpoint: {}", path_, what));
  }
  template <typename T>
  T Get(const char* what) {
    T v;
    if (left() < sizeof v) throw Fail(fmt::format("file ends inside {}", what));
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string GetString(size_t n, const char* what) {
    if (left() < n)
      throw Fail(fmt::format("file ends inside {} ({} bytes claimed, {} left)", what, n, left()));
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  Parameters GetParams(const char* what) {
    const int32_t n = Get<int32_t>(what);
    if (n < 0 || n > kMaxLayers)
      throw Fail(fmt::format("{} claims {} crossbars (must be 0..{})", what, n, kMaxLayers));
    Parameters p;
    for (int32_t l = 0; l < n; ++l)
      for (int which = 0; which < 2; ++which) {
        const int32_t rows = Get<int32_t>(what), cols = Get<int32_t>(what);
        // The claimed size is checked against the bytes that are there before anything is
        // allocated, so a corrupt size can never ask for terabytes.
        const double bytes = 8.0 * std::max(0, rows) * std::max(0, cols);
        if (rows < 0 || cols < 0 || bytes > static_cast<double>(left()))
          throw Fail(fmt::format(
              "{} crossbar {} claims {} x {} conductances ({}), the file has {} bytes left", what,
              l + 1, rows, cols, FormatBytes(bytes), left()));
        Eigen::MatrixXd m(rows, cols);
        std::memcpy(m.data(), bytes_.data() + pos_, static_cast<size_t>(bytes));
        pos_ += static_cast<size_t>(bytes);
        (which ? p.g_minus : p.g_plus).push_back(std::move(m));
      }
    return p;
  }

 private:
  const std::string& bytes_;
  size_t end_, pos_ = 0;
  std::string path_;
};

}  // namespace

void SaveCheckpoint(const std::string& path, const Checkpoint& c) {
  json h;
  h["version"] = kCheckpointVersion;
  h["config"] = json::parse(c.config_json);
  h["optimizer_step"] = c.optimizer_step;
  h["epoch"] = c.epoch;
  h["batch"] = c.batch;
  h["epoch_seed"] = c.epoch_seed;
  h["epoch_seed_valid"] = c.epoch_seed_valid;
  h["rng_state"] = c.rng_state;
  h["partial_loss"] = c.partial_loss;
  h["partial_correct"] = c.partial_correct;
  h["partial_count"] = c.partial_count;
  const ProgrammingStats& ps = c.partial_programming;
  h["partial_programming"] = {ps.device_steps, ps.updated, ps.pulses,
                              ps.energy,       ps.drift,   ps.refreshes};
  json hist = json::array();
  for (const auto& m : c.history) hist.push_back(MetricsToJson(m));
  h["history"] = hist;
  const std::string header = h.dump();
  std::string out(kMagicV2, sizeof kMagicV2);
  Put(&out, static_cast<uint64_t>(header.size()));
  out += header;
  PutParams(&out, c.params);
  PutParams(&out, c.optimizer_m);
  PutParams(&out, c.optimizer_v);
  Put(&out, static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(out.data()),
                                        static_cast<uInt>(out.size()))));
  WriteFileAtomic(path, out);
}

namespace {

std::string ReadWholeFile(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw TrainingError(
        fmt::format("{}: error: checkpoint not found (or not a regular file)", path));
  const uintmax_t size = fs::file_size(path, ec);
  if (ec)
    throw TrainingError(fmt::format("{}: error: cannot read checkpoint: {}", path, ec.message()));
  if (std::string e = MemoryBudgetError(static_cast<double>(size), "reading the checkpoint");
      !e.empty())
    throw TrainingError(fmt::format("{}: error: {}", path, e));
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
    throw TrainingError(fmt::format("{}: error: cannot read checkpoint", path));
  return bytes;
}

// The programming counters [device_steps, updated, pulses, energy, drift, refreshes] (optional).
void ParseProgramming(const json& h, const std::string& where, ProgrammingStats* ps) {
  if (!h.contains("partial_programming")) return;
  const json& a = h["partial_programming"];
  const bool ok =
      a.is_array() && a.size() == 6 && std::all_of(a.begin(), a.end(), [](const json& v) {
        return v.is_number() && v.get<double>() >= 0 && std::isfinite(v.get<double>());
      });
  if (!ok)
    throw TrainingError(fmt::format(
        "{}: error: field 'partial_programming' must be 6 numbers >= 0 [device_steps, updated, "
        "pulses, energy, drift, refreshes]",
        where));
  *ps = {a[0].get<long>(),   a[1].get<long>(),   a[2].get<long>(),
         a[3].get<double>(), a[4].get<double>(), a[5].get<long>()};
}

void ParseHeader(const json& h, const std::string& where, Checkpoint* c) {
  if (!h.is_object() || !h.contains("config") || !h["config"].is_object())
    throw TrainingError(fmt::format("{}: error: field 'config' is missing", where));
  c->config_json = h["config"].dump();
  Take(h, "optimizer_step", true, where, &c->optimizer_step);
  Take(h, "epoch", true, where, &c->epoch);
  Take(h, "batch", true, where, &c->batch);
  Take(h, "epoch_seed", true, where, &c->epoch_seed);
  Take(h, "epoch_seed_valid", true, where, &c->epoch_seed_valid);
  Take(h, "rng_state", true, where, &c->rng_state);
  Take(h, "partial_loss", true, where, &c->partial_loss);
  Take(h, "partial_correct", true, where, &c->partial_correct);
  Take(h, "partial_count", true, where, &c->partial_count);
  ParseProgramming(h, where, &c->partial_programming);
  if (!h.contains("history") || !h["history"].is_array())
    throw TrainingError(fmt::format("{}: error: field 'history' is missing", where));
  for (const json& m : h["history"])
    c->history.push_back(
        MetricsFromJson(m, fmt::format("{}: history[{}]", where, c->history.size())));
}

// Range checks of the fields; the message names the field, its value and the rule.
void CheckRanges(const Checkpoint& c, const std::string& where) {
  auto bad = [&](const char* field, auto value, const char* rule) {
    return TrainingError(
        fmt::format("{}: error: field '{}' = {} must be {}", where, field, value, rule));
  };
  if (c.epoch < 0) throw bad("epoch", c.epoch, ">= 0");
  if (c.batch < 0) throw bad("batch", c.batch, ">= 0");
  if (c.optimizer_step < 0) throw bad("optimizer_step", c.optimizer_step, ">= 0");
  if (c.partial_count < 0) throw bad("partial_count", c.partial_count, ">= 0");
  if (c.partial_correct < 0 || c.partial_correct > c.partial_count)
    throw bad("partial_correct", c.partial_correct, "in [0, partial_count]");
  if (!std::isfinite(c.partial_loss) || c.partial_loss < 0)
    throw bad("partial_loss", c.partial_loss, "finite and >= 0");
  if (static_cast<int>(c.history.size()) != c.epoch)
    throw bad("history", fmt::format("{} epochs", c.history.size()),
              "one entry per finished epoch ('epoch')");
  for (size_t i = 0; i < c.history.size(); ++i)
    if (c.history[i].epoch != static_cast<int>(i) + 1)
      throw bad("history[].epoch", c.history[i].epoch, "1, 2, 3, ... in order");
  std::mt19937_64 rng;
  std::istringstream rs(c.rng_state);
  rs >> rng;
  if (rs.fail() || !(rs >> std::ws).eof())
    throw bad("rng_state", "'...'", "the text state of a std::mt19937_64 (312 numbers)");
}

// The conductances must have the configured shapes and lie in [g_min, g_max]; Adam's moments must
// have the same shapes and be finite.
void CheckParameters(const Checkpoint& c, const std::string& where) {
  const json cfg = json::parse(c.config_json);
  std::vector<int> sizes;
  double g_min = 0, g_max = std::numeric_limits<double>::infinity();
  Take(cfg, "layer_sizes", false, where + ": config", &sizes);
  Take(cfg, "g_min", false, where + ": config", &g_min);
  Take(cfg, "g_max", false, where + ": config", &g_max);
  const double tol = 1e-12 * std::abs(g_max);
  for (const auto& [name, p] :
       {std::pair<const char*, const Parameters*>{"conductances", &c.params},
        {"adam m", &c.optimizer_m},
        {"adam v", &c.optimizer_v}}) {
    if (!sizes.empty()) {
      NetworkConfig shape;
      shape.layer_sizes = sizes;
      if (std::string e = ShapeMismatch(shape, *p); !e.empty())
        throw TrainingError(fmt::format("{}: error: {}: {}", where, name, e));
    }
    for (const auto* set : {&p->g_plus, &p->g_minus})
      for (const Eigen::MatrixXd& m : *set) {
        if (!m.allFinite())
          throw TrainingError(fmt::format("{}: error: {} contain NaN or infinity", where, name));
        if (p == &c.params && m.size() > 0 &&
            (m.minCoeff() < g_min - tol || m.maxCoeff() > g_max + tol))
          throw TrainingError(
              fmt::format("{}: error: conductances range over [{:g}, {:g}] S, outside the device "
                          "range [{:g}, {:g}] S",
                          where, m.minCoeff(), m.maxCoeff(), g_min, g_max));
      }
  }
}

}  // namespace

Checkpoint LoadCheckpoint(const std::string& path) {
  const std::string bytes = ReadWholeFile(path);
  const bool v2 = bytes.size() >= 8 && std::memcmp(bytes.data(), kMagicV2, 8) == 0;
  const bool v1 = bytes.size() >= 8 && std::memcmp(bytes.data(), kMagicV1, 8) == 0;
  if (!v1 && !v2)
    throw TrainingError(
        fmt::format("{}: error: not a memspice training checkpoint (bad magic)", path));
  size_t end = bytes.size();
  if (v2) {
    if (end < 8 + sizeof(uint32_t))
      throw TrainingError(fmt::format("{}: error: corrupt checkpoint: truncated", path));
    end -= sizeof(uint32_t);
    uint32_t stored;
    std::memcpy(&stored, bytes.data() + end, sizeof stored);
    const uint32_t actual = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(end)));
    if (stored != actual)
      throw TrainingError(fmt::format(
          "{}: error: checkpoint checksum mismatch (stored {:08x}, computed {:08x}): the file is "
          "truncated or damaged",
          path, stored, actual));
  }
  Reader r(bytes, end, path);
  r.GetString(8, "the magic");
  const uint64_t len = r.Get<uint64_t>("the header length");
  if (len > r.left())
    throw r.Fail(fmt::format("header length {} exceeds the {} bytes left", len, r.left()));
  const json h = json::parse(r.GetString(len, "the header"), nullptr, false);
  if (h.is_discarded()) throw r.Fail("the header is not valid JSON");
  if (v2 && h.value("version", 0) != kCheckpointVersion)
    throw TrainingError(fmt::format("{}: error: field 'version' = {} must be {}", path,
                                    h.value("version", json()).dump(), kCheckpointVersion));
  Checkpoint c;
  ParseHeader(h, path, &c);
  c.params = r.GetParams("conductances");
  c.optimizer_m = r.GetParams("adam m");
  c.optimizer_v = r.GetParams("adam v");
  if (r.left() != 0) throw r.Fail(fmt::format("{} unexpected bytes after the data", r.left()));
  CheckRanges(c, path);
  CheckParameters(c, path);
  return c;
}

void SaveParametersJson(const std::string& path, const NetworkConfig& c, const Parameters& p) {
  json j;
  j["g_min"] = c.g_min;
  j["g_max"] = c.g_max;
  j["layer_sizes"] = c.layer_sizes;
  j["layer_scale"] = c.layer_scale;
  j["layers"] = json::array();
  for (size_t l = 0; l < p.g_plus.size(); ++l) {
    json layer;
    layer["in"] = p.g_plus[l].rows();
    layer["out"] = p.g_plus[l].cols();
    for (int which = 0; which < 2; ++which) {
      const Eigen::MatrixXd& m = which ? p.g_minus[l] : p.g_plus[l];
      json rows = json::array();
      for (int i = 0; i < m.rows(); ++i) {
        std::vector<double> r(m.cols());
        for (int k = 0; k < m.cols(); ++k) r[k] = m(i, k);
        rows.push_back(r);
      }
      layer[which ? "g_minus" : "g_plus"] = rows;
    }
    j["layers"].push_back(layer);
  }
  WriteFileAtomic(path, j.dump() + "\n");
}

Parameters LoadParametersJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw TrainingError(fmt::format("{}: error: parameter file not found", path));
  Parameters p;
  try {
    json j;
    in >> j;
    for (const auto& layer : j.at("layers")) {
      const int rows = layer.at("in"), cols = layer.at("out");
      for (int which = 0; which < 2; ++which) {
        const auto& src = layer.at(which ? "g_minus" : "g_plus");
        if (static_cast<int>(src.size()) != rows)
          throw TrainingError(
              fmt::format("{}: error: layer has {} rows, expected {}", path, src.size(), rows));
        Eigen::MatrixXd m(rows, cols);
        for (int i = 0; i < rows; ++i) {
          if (static_cast<int>(src[i].size()) != cols)
            throw TrainingError(fmt::format("{}: error: row {} has {} columns, expected {}", path,
                                            i, src[i].size(), cols));
          for (int k = 0; k < cols; ++k) m(i, k) = src[i][k];
        }
        (which ? p.g_minus : p.g_plus).push_back(std::move(m));
      }
    }
  } catch (const json::exception& e) {
    throw TrainingError(fmt::format("{}: error: invalid parameter file: {}", path, e.what()));
  }
  return p;
}

void WriteMetricsFiles(const std::string& dir, const std::vector<EpochMetrics>& history) {
  std::string csv =
      "epoch,batches,train_loss,train_accuracy,test_loss,test_accuracy,spiking_fraction,g_mean,"
      "g_std,g_at_min,g_at_max,seconds,samples_per_second,tape_bytes_per_batch,peak_rss_bytes,"
      "r_up,n_up,pulses,energy,drift,refreshes\n";
  json arr = json::array();
  for (const EpochMetrics& m : history) {
    csv += fmt::format(
        "{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.4g},{:.4g},"
        "{:.0f},{:.0f},{:.6g},{:.6g},{:.0f},{:.6g},{:.6g},{:.0f}\n",
        m.epoch, m.batches, m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy,
        m.spiking_fraction, m.g_mean, m.g_std, m.g_at_min, m.g_at_max, m.seconds,
        m.samples_per_second, m.tape_bytes_per_batch, m.peak_rss_bytes, m.r_up, m.n_up, m.pulses,
        m.energy, m.drift, m.refreshes);
    arr.push_back(MetricsToJson(m));
  }
  WriteFileAtomic(RunFile(dir, kMetricsCsvFile), csv);
  WriteFileAtomic(RunFile(dir, kMetricsJsonFile), arr.dump(2) + "\n");
}

void WriteMnaParams(const std::string& path, const std::vector<std::string>& names,
                    const std::vector<double>& g) {
  WriteFileAtomic(path, json{{"names", names}, {"g", g}}.dump(1) + "\n");
}

std::vector<double> ReadMnaParams(const std::string& path, const std::vector<std::string>& names) {
  std::ifstream in(path);
  const json j = json::parse(in, nullptr, false);
  if (!in || j.is_discarded() || !j.is_object())
    throw TrainingError(fmt::format("{}: error: missing or not valid JSON", path));
  std::vector<std::string> have;
  std::vector<double> g;
  Take(j, "names", true, path, &have);
  Take(j, "g", true, path, &g);
  if (have != names || g.size() != names.size())
    throw TrainingError(fmt::format("{}: error: does not match the deck's {} trainable synapses",
                                    path, names.size()));
  return g;
}

TrainedParameters LoadTrainedParameters(const std::string& dir, const NetworkConfig& config) {
  struct Candidate {
    std::string path;
    fs::file_time_type time;
    Parameters params;
  };
  std::vector<Candidate> usable;
  std::string reasons;
  for (const char* name : {kParamsFile, kCheckpointFile}) {
    const std::string path = RunFile(dir, name);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      reasons += fmt::format("\n  {}: not there", path);
      continue;
    }
    try {
      Candidate c{path, fs::last_write_time(path, ec),
                  name == kParamsFile ? LoadParametersJson(path) : LoadCheckpoint(path).params};
      if (std::string e = ShapeMismatch(config, c.params); !e.empty())
        throw TrainingError(fmt::format("{}: error: {}", path, e));
      if (std::string e = RangeMismatch(config, c.params); !e.empty())
        throw TrainingError(fmt::format("{}: error: {}", path, e));
      if (std::string e = CheckReference(config, c.params); !e.empty())
        throw TrainingError(fmt::format("{}: error: {}", path, e));
      usable.push_back(std::move(c));
    } catch (const TrainingError& e) {
      reasons += fmt::format("\n  {}", e.what());
    }
  }
  if (usable.empty())
    throw TrainingError(fmt::format("{}: error: no usable trained conductances:{}", dir, reasons));
  // Newest wins; on a tie params.json (written last at the end of a finished run).
  const Candidate* best = &usable.front();
  for (const Candidate& c : usable)
    if (c.time > best->time) best = &c;
  return {best->params, best->path};
}

}  // namespace memspice::training
