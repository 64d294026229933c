#include "training/optimizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "training/dataset.h"

namespace memspice::training {

OptimizerKind ParseOptimizer(const std::string& name) {
  if (name == "adam") return OptimizerKind::kAdam;
  if (name == "sgd") return OptimizerKind::kSgd;
  throw TrainingError(fmt::format("option 'optimizer' = '{}' must be adam or sgd", name));
}

std::string OptimizerName(OptimizerKind k) { return k == OptimizerKind::kAdam ? "adam" : "sgd"; }

LrSchedule ParseLrSchedule(const std::string& name) {
  if (name == "constant") return LrSchedule::kConstant;
  if (name == "cosine") return LrSchedule::kCosine;
  throw TrainingError(fmt::format("option 'lr_schedule' = '{}' must be constant or cosine", name));
}

std::string LrScheduleName(LrSchedule s) {
  return s == LrSchedule::kCosine ? "cosine" : "constant";
}

double OptimizerOptions::LearningRate(long t) const {
  if (schedule == LrSchedule::kConstant || total_steps <= 1) return lr;
  // Step 1 runs at lr, step total_steps at lr_min; steps past the end (a run extended by
  // --resume --epochs) stay at lr_min.
  const double progress =
      std::min(1.0, static_cast<double>(std::max(0L, t - 1)) / (total_steps - 1));
  return lr_min + (lr - lr_min) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

namespace {
Parameters ZerosLike(const Parameters& p) {
  Parameters z;
  for (size_t l = 0; l < p.g_plus.size(); ++l) {
    z.g_plus.push_back(Eigen::MatrixXd::Zero(p.g_plus[l].rows(), p.g_plus[l].cols()));
    z.g_minus.push_back(Eigen::MatrixXd::Zero(p.g_minus[l].rows(), p.g_minus[l].cols()));
  }
  return z;
}
}  // namespace

Optimizer::Optimizer(OptimizerOptions options, double g_min, double g_max, const Parameters& shape)
    : options_(options), g_min_(g_min), g_max_(g_max), m_(ZerosLike(shape)), v_(ZerosLike(shape)) {
  if (!(options_.lr > 0) || !std::isfinite(options_.lr))
    throw TrainingError(fmt::format("option 'lr' = {} must be > 0", options_.lr));
  if (!(options_.beta1 >= 0 && options_.beta1 < 1))
    throw TrainingError(fmt::format("option 'beta1' = {} must be in [0, 1)", options_.beta1));
  if (!(options_.beta2 >= 0 && options_.beta2 < 1))
    throw TrainingError(fmt::format("option 'beta2' = {} must be in [0, 1)", options_.beta2));
  if (!(options_.momentum >= 0 && options_.momentum < 1))
    throw TrainingError(fmt::format("option 'momentum' = {} must be in [0, 1)", options_.momentum));
  if (!(options_.lr_min >= 0 && options_.lr_min <= options_.lr))
    throw TrainingError(
        fmt::format("option 'lr_min' = {} must be in [0, lr = {}]", options_.lr_min, options_.lr));
}

void Optimizer::SetState(long t, Parameters m, Parameters v) {
  t_ = t;
  m_ = std::move(m);
  v_ = std::move(v);
}

Parameters Optimizer::Delta(const Parameters& grad) {
  ++t_;
  const double range = g_max_ - g_min_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double c1 = 1.0 - std::pow(b1, static_cast<double>(t_));
  const double c2 = 1.0 - std::pow(b2, static_cast<double>(t_));
  const double lr = options_.LearningRate(t_);
  Parameters delta = ZerosLike(grad);
  for (size_t l = 0; l < grad.g_plus.size(); ++l) {
    for (int which = 0; which < 2; ++which) {
      const Eigen::MatrixXd& g = which ? grad.g_minus[l] : grad.g_plus[l];
      Eigen::MatrixXd& d = which ? delta.g_minus[l] : delta.g_plus[l];
      Eigen::MatrixXd& m = which ? m_.g_minus[l] : m_.g_plus[l];
      Eigen::MatrixXd& v = which ? v_.g_minus[l] : v_.g_plus[l];
      const Eigen::ArrayXXd gn = g.array() * range;  // gradient w.r.t. the normalised conductance
      if (options_.kind == OptimizerKind::kAdam) {
        m.array() = b1 * m.array() + (1 - b1) * gn;
        v.array() = b2 * v.array() + (1 - b2) * gn.square();
        d.array() = -(range * lr * (m.array() / c1) / ((v.array() / c2).sqrt() + options_.eps));
      } else {
        m.array() = options_.momentum * m.array() + gn;
        d.array() = -(range * lr * m.array());
      }
    }
  }
  return delta;
}

void Optimizer::Step(const Parameters& grad, Parameters* p) {
  const Parameters delta = Delta(grad);
  for (size_t l = 0; l < p->g_plus.size(); ++l) {
    p->g_plus[l] += delta.g_plus[l];
    p->g_minus[l] += delta.g_minus[l];
  }
  ClipConductances(g_min_, g_max_, p);
}

void ClipConductances(double g_min, double g_max, Parameters* p) {
  for (auto* set : {&p->g_plus, &p->g_minus})
    for (auto& w : *set) w = w.cwiseMax(g_min).cwiseMin(g_max);
}

}  // namespace memspice::training
