// The run directory of `memspice train`: which files it holds, how they are written (atomically)
// and how they are read back (`train --resume`, `eval`, `export`).
//
//   train_args.json   the run's record: network (or deck), dataset, optimisation settings; written
//                     once, after every option and the dataset were validated
//   checkpoint.bin    everything needed to continue bit-exactly (trainer.h), the source of truth
//   metrics.csv/json  one row per finished epoch, rewritten from the checkpoint's history
//   params.json       final conductances (when the run finished all its epochs)
//   learning_curves.png, membrane.png   plots of a finished run
//
// Every file is written to a temporary file in the same folder and renamed, so an interruption
// leaves either the old or the new file, never a half one.
#ifndef MEMSPICE_TRAINING_RUN_DIR_H_
#define MEMSPICE_TRAINING_RUN_DIR_H_

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "training/optimizer.h"
#include "training/trainer.h"

namespace memspice::training {

inline constexpr const char* kTrainArgsFile = "train_args.json";
inline constexpr const char* kCheckpointFile = "checkpoint.bin";
inline constexpr const char* kParamsFile = "params.json";
inline constexpr const char* kMetricsCsvFile = "metrics.csv";
inline constexpr const char* kMetricsJsonFile = "metrics.json";
inline constexpr const char* kMnaParamsFile = "mna_params.json";  // runs trained on the MNA engine

// dir/name as a string.
std::string RunFile(const std::string& dir, const char* name);

// io::WriteFileAtomic (a temporary file next to `path`, renamed over it when complete) that
// throws TrainingError naming the file when it cannot be written.
void WriteFileAtomic(const std::string& path, const std::string& contents);

// What a run was started with (train_args.json). A network built from flags is `options.network`;
// a deck-based run names its deck instead (the deck shapes the network).
struct RunRecord {
  // as given to `train`: fashion-mnist, mnist or a folder
  std::string dataset = circuits::DefaultNetwork().dataset;
  std::string deck;                // absolute path of the network deck; empty: from flags
  std::string path = "fast";       // deck runs: "fast" (compiled kernels) or "mna"
  std::string preset = "default";  // the preset the settings started from
  TrainOptions options;            // network (flag-built runs) and optimisation settings
};
void WriteRunRecord(const std::string& dir, const RunRecord& record);
// Throws TrainingError naming the file and the field that is missing or wrong.
RunRecord ReadRunRecord(const std::string& dir);

// The network-shaping fields as JSON (train_args.json "net") and back; FromJson throws
// TrainingError naming a missing or mistyped field. Absent optional fields keep their defaults.
nlohmann::json NetworkConfigToJson(const NetworkConfig& c);
NetworkConfig NetworkConfigFromJson(const nlohmann::json& j);

// How a run may use its directory. kNew refuses a directory that holds any file; kOverwrite
// removes the run files (and only those) first; kResume needs train_args.json and a checkpoint.
enum class RunDirMode { kNew, kOverwrite, kResume };
// Checks (and for kOverwrite clears) the directory; creates it for kNew / kOverwrite. Throws
// TrainingError saying what is there and which option would proceed.
void PrepareRunDir(const std::string& dir, RunDirMode mode);

// Checkpoint: everything needed to continue bit-exactly.
struct Checkpoint {
  std::string config_json;  // the options that shape the computation (checked on resume)
  Parameters params;
  long optimizer_step = 0;
  Parameters optimizer_m, optimizer_v;
  int epoch = 0;                  // 0-based epoch in progress
  int batch = 0;                  // next batch within that epoch
  uint64_t epoch_seed = 0;        // shuffle seed of that epoch
  bool epoch_seed_valid = false;  // false: draw the epoch's seed from the RNG on resume
  std::string rng_state;          // std::mt19937_64 state (text) after drawing epoch_seed
  std::vector<EpochMetrics> history;
  double partial_loss = 0;  // running sums of the epoch in progress
  long partial_correct = 0, partial_count = 0;
  ProgrammingStats partial_programming;  // programming counters of the epoch in progress

  // The optimiser's moments and step count, stored into and restored from this checkpoint.
  void StoreOptimizer(const Optimizer& opt) {
    optimizer_step = opt.step_count();
    optimizer_m = opt.m();
    optimizer_v = opt.v();
  }
  void RestoreOptimizer(Optimizer* opt) {
    opt->SetState(optimizer_step, std::move(optimizer_m), std::move(optimizer_v));
  }
};
// Written atomically with a version and a CRC-32. Loading checks the checksum, every field's range
// (epoch, batch, RNG state, history), the conductances' shapes and device range and refuses
// trailing bytes; errors name the file and the field.
void SaveCheckpoint(const std::string& path, const Checkpoint& c);
Checkpoint LoadCheckpoint(const std::string& path);

// Conductances as JSON {"g_min":…, "g_max":…, "layers":[{"in":…, "out":…, "g_plus":[[…]],
// "g_minus":[[…]]}]}
void SaveParametersJson(const std::string& path, const NetworkConfig& c, const Parameters& p);
Parameters LoadParametersJson(const std::string& path);

// One epoch's metrics as JSON and back (FromJson names the field that is missing or mistyped).
nlohmann::json MetricsToJson(const EpochMetrics& m);
EpochMetrics MetricsFromJson(const nlohmann::json& j, const std::string& where);

// Metrics files rewritten (atomically) from the whole history.
void WriteMetricsFiles(const std::string& dir, const std::vector<EpochMetrics>& history);

// mna_params.json: the trainable synapses' names and conductances of an MNA-engine run. Reading
// checks that the names are those of the deck (`names`).
void WriteMnaParams(const std::string& path, const std::vector<std::string>& names,
                    const std::vector<double>& g);
std::vector<double> ReadMnaParams(const std::string& path, const std::vector<std::string>& names);

// The trained conductances of a run: params.json or the checkpoint, whichever is newer and
// matches `config`'s layer sizes and device range [g_min, g_max] (a stale params.json after a
// resumed, interrupted run loses to the checkpoint). `source` says which file was used. Throws
// TrainingError if neither is usable, with the reason for each.
struct TrainedParameters {
  Parameters params;
  std::string source;
};
TrainedParameters LoadTrainedParameters(const std::string& dir, const NetworkConfig& config);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_RUN_DIR_H_
