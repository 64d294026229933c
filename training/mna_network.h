// MNA fallback of the MEMprop network: any netlist with the `*@msnn` directives (recognised by the
// compiler or not) run sample by sample through the generic engine. The sample is bound through
// the pixel parameters, the trainable synapse states through their x0, the transient is run with a
// fixed step dt (forward Euler for method=fe: the fast kernels' scheme), the loss is the NLL
// summed over the T steps of the output membrane potentials (as training/network.h), and its
// gradient with respect to the synapse conductances comes from the discrete adjoint
// (autodiff/gradient.h). Slow but exact; it is also the reference the fast path is tested
// against.
#ifndef MEMSPICE_TRAINING_MNA_NETWORK_H_
#define MEMSPICE_TRAINING_MNA_NETWORK_H_

#include <atomic>
#include <string>
#include <vector>

#include "training/compiler.h"
#include "training/dataset.h"
#include "training/trainer.h"

namespace memspice::training {

struct MnaSampleResult {
  double loss = 0;     // NLL summed over n = 1..T (0 without a label)
  int predicted = -1;  // argmax_k sum_{n=1..T} v_out_k[n]
  std::vector<double> v_sum;
  std::vector<double> grad;                 // dL/dG per trainable synapse [1/S] (when requested)
  std::vector<std::vector<double>> traces;  // requested nodes: v[n], n = 0..T
};

class MnaNetwork {
 public:
  explicit MnaNetwork(const CompiledNetwork& compiled);

  int num_params() const { return static_cast<int>(c_.trainable.size()); }
  int num_outputs() const { return static_cast<int>(c_.outputs.size()); }
  const std::vector<std::string>& names() const { return c_.trainable; }
  // Conductances of the trainable synapses in the deck [S].
  const std::vector<double>& initial() const { return c_.trainable_g; }
  double g_min() const { return g_min_; }
  double g_max() const { return g_max_; }

  // One sample (image: one value per input in [0, 1]; label < 0: no loss). g: conductance per
  // trainable synapse (empty: the deck's own). Throws TrainingError on solver failures.
  MnaSampleResult Run(const std::vector<double>& g, const float* image, int label, bool want_grad,
                      const std::vector<std::string>& trace_nodes = {}) const;

 private:
  CompiledNetwork c_;
  double g_min_ = 0, g_max_ = 0;
};

struct MnaTrainOptions {
  int epochs = 1, batch_size = 8, max_train = 0, max_test = 0;
  OptimizerOptions optimizer;
  uint64_t seed = 1;
  bool progress = true;
  // checkpoint.bin of the run (run_dir.h format): written at every epoch end and when stopped;
  // empty: none. With `resume` the run continues from it.
  std::string checkpoint;
  bool resume = false;
  // Set (e.g. by a signal handler) to stop before the next sample: the batch in progress is
  // abandoned (an MNA sample takes seconds), a checkpoint written and the result is `interrupted`.
  const std::atomic<bool>* stop = nullptr;
};

struct MnaTrainResult {
  std::vector<double> g;                          // trained conductances, one per trainable synapse
  std::vector<double> epoch_loss, test_accuracy;  // every epoch so far, also before a resume
  bool interrupted = false;            // stopped by `stop`; the checkpoint holds the state
  int next_epoch = 0, next_batch = 0;  // where a resume continues (0-based)
};

// Mini-batch training through the MNA engine (one sample at a time), Adam/SGD on the normalised
// conductances with clipping to [1/R_off, 1/R_on]. Throws TrainingError on solver failures and on
// a checkpoint that does not belong to this network and these options.
MnaTrainResult TrainMna(const MnaNetwork& net, const DatasetPair& data, const MnaTrainOptions& o);

// Accuracy of conductances g over the first max_test test samples (0: all).
EvalResult EvaluateMna(const MnaNetwork& net, const std::vector<double>& g, const Dataset& test,
                       int max_test);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_MNA_NETWORK_H_
