// The transient tape: what a forward run leaves for the reverse pass.
//
// One entry per accepted step (step 0 is the initial point): its time, the step h that led to it
// and the integration formula used (backward Euler on restarts of trap/Gear2). States are stored
// as one column of n doubles per step (structure of arrays), read through state(); with
// checkpointing only every k-th column is kept, plus what a step needs to restart from there
// (the previous column and the LMS derivative history qdot), and the reverse pass recomputes the
// columns in between. Readers never see the difference: they ask has_state()/state().
#ifndef MEMSPICE_AUTODIFF_TAPE_H_
#define MEMSPICE_AUTODIFF_TAPE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "solver/simulator.h"

namespace memspice::autodiff {

class Tape {
 public:
  // A chord Jacobian of the exact step solver (autodiff/adjoint.h): G + a0 C at state x and
  // time. A checkpointed segment restarts from the one its first step started with.
  struct Anchor {
    double time = 0.0;
    double a0 = 0.0;
    std::vector<double> x;
  };

  // n: unknowns per state column; keep_every: 1 stores every column, k > 1 keeps checkpoints at
  // steps 0, k, 2k, ... only.
  Tape(int n, int keep_every);

  int n() const { return n_; }
  int keep_every() const { return keep_every_; }
  // Number of entries, including step 0.
  int size() const { return static_cast<int>(times_.size()); }
  double time(int k) const { return times_[k]; }
  double h(int k) const { return hs_[k]; }
  solver::Method method(int k) const {
    return static_cast<solver::Method>(methods_[k] & ~kRestartBit);
  }
  // Whether step k's Newton started from x_{k-1} instead of the linear predictor.
  bool restart(int k) const { return (methods_[k] & kRestartBit) != 0; }
  const std::vector<double>& times() const { return times_; }

  // Appends the grid entry of the next step (states go through SetState/SetCheckpoint).
  void AppendStep(double time, double h, solver::Method method, bool restart = false);
  // Whether step k's column is (to be) kept.
  bool IsCheckpoint(int k) const { return k % keep_every_ == 0; }
  // Stores the state column of step k (only kept if IsCheckpoint(k)); `prev` is step k-1's
  // column and `qdot` the LMS history at step k (both may be null, kept only with
  // checkpointing: a segment restarts from them).
  void SetState(int k, const double* x, const double* prev, const double* qdot);
  // Column of step k, or nullptr if it is not stored.
  const double* state(int k) const;
  const double* prev_state(int k) const;  // checkpoint restart data, nullptr if none
  const double* qdot(int k) const;
  bool has_state(int k) const { return state(k) != nullptr; }

  // The chord Jacobian step k starts from, kept where a replay of step k cannot know it (first
  // step of a segment, or one after a rejected attempt refreshed it); null: none yet.
  void SetAnchor(int k, std::shared_ptr<const Anchor> anchor) { anchors_[k] = std::move(anchor); }
  // Whether step k has a kept anchor, and which.
  bool has_anchor(int k) const { return anchors_.count(k) != 0; }
  const std::shared_ptr<const Anchor>& anchor(int k) const { return anchors_.at(k); }

  // Bytes held by the grid and the stored columns.
  size_t bytes() const;

 private:
  static constexpr uint8_t kRestartBit = 0x80;  // in methods_, above every Method value
  int Slot(int k) const;                        // column slot of step k or -1
  int n_;
  int keep_every_;
  std::vector<double> times_, hs_;
  std::vector<uint8_t> methods_;
  std::vector<double> states_, prevs_, qdots_;  // slot-major columns of n
  std::vector<char> filled_;                    // per slot
  std::map<int, std::shared_ptr<const Anchor>> anchors_;
};

// Records the grid of a transient run through the solver's step observer. With keep_every == 1
// it also keeps every state the solver reports; with checkpointing it keeps the solver's columns
// at checkpoints only (the gradient driver replaces them by its own replayed states).
class TapeRecorder : public solver::StepObserver {
 public:
  explicit TapeRecorder(Tape* tape) : tape_(tape) {}
  void OnStep(const solver::StepInfo& info) override;

 private:
  Tape* tape_;
};

}  // namespace memspice::autodiff

#endif  // MEMSPICE_AUTODIFF_TAPE_H_
