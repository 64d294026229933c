// Device-aware optimisers for crossbar conductances. Each conductance G lives in [g_min, g_max] =
// [1/R_off, 1/R_on]; the optimiser works in the normalised coordinate g = (G - g_min) / (g_max -
// g_min) in [0, 1], so the learning rate is a fraction of the device's conductance range (lr =
// 2e-3: 0.2 % of the range per Adam step), and after every update G is clipped back into [g_min,
// g_max] as a programmed device would saturate.
#ifndef MEMSPICE_TRAINING_OPTIMIZER_H_
#define MEMSPICE_TRAINING_OPTIMIZER_H_

#include <string>

#include "training/network.h"

namespace memspice::training {

enum class OptimizerKind { kAdam, kSgd };
OptimizerKind ParseOptimizer(const std::string& name);  // "adam" or "sgd"
std::string OptimizerName(OptimizerKind k);

// Learning rate over the run: constant, or cosine annealing from lr to lr_min over the run's steps
// (PyTorch's CosineAnnealingLR with T_max = every optimiser step of the run, stepped per batch).
enum class LrSchedule { kConstant, kCosine };
LrSchedule ParseLrSchedule(const std::string& name);  // "constant" or "cosine"
std::string LrScheduleName(LrSchedule s);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdam;
  double lr = 2e-3;  // the measured recipe's; the paper used 1e-4 (TrainPreset("paper"))
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam
  double momentum = 0.0;                          // SGD
  LrSchedule schedule = LrSchedule::kConstant;
  double lr_min = 0.0;   // cosine: the rate the last step reaches
  long total_steps = 0;  // cosine: optimiser steps of the whole run (set by the trainer)

  // The rate of optimiser step t (1-based).
  double LearningRate(long t) const;
};

class Optimizer {
 public:
  // `shape` gives the crossbar sizes (its values are not used).
  Optimizer(OptimizerOptions options, double g_min, double g_max, const Parameters& shape);

  // One update with gradient dL/dG (per siemens) of the loss being minimised; clips to [g_min,
  // g_max].
  void Step(const Parameters& grad, Parameters* p);

  // The same step as a desired conductance change [S] (unclipped), advancing the moments; a
  // device-aware update rule (training/update_rules.h) then programs it.
  Parameters Delta(const Parameters& grad);

  // State for checkpoints: step count and the first/second moments (Adam) or velocity (SGD, in m).
  long step_count() const { return t_; }
  const Parameters& m() const { return m_; }
  const Parameters& v() const { return v_; }
  void SetState(long t, Parameters m, Parameters v);
  const OptimizerOptions& options() const { return options_; }

 private:
  OptimizerOptions options_;
  double g_min_, g_max_;
  long t_ = 0;
  Parameters m_, v_;
};

// Clips every conductance into [g_min, g_max].
void ClipConductances(double g_min, double g_max, Parameters* p);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_OPTIMIZER_H_
