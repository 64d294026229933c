#include "autodiff/tape.h"

#include <algorithm>

namespace memspice::autodiff {

Tape::Tape(int n, int keep_every) : n_(n), keep_every_(std::max(1, keep_every)) {}

void Tape::AppendStep(double time, double h, solver::Method method, bool restart) {
  times_.push_back(time);
  hs_.push_back(h);
  methods_.push_back(static_cast<uint8_t>(method) | (restart ? kRestartBit : 0));
}

int Tape::Slot(int k) const {
  if (k < 0 || k >= size() || !IsCheckpoint(k)) return -1;
  const int slot = k / keep_every_;
  if (slot >= static_cast<int>(filled_.size()) || !filled_[slot]) return -1;
  return slot;
}

void Tape::SetState(int k, const double* x, const double* prev, const double* qdot) {
  if (!IsCheckpoint(k)) return;
  const size_t slot = static_cast<size_t>(k / keep_every_);
  const size_t need = (slot + 1) * static_cast<size_t>(n_);
  if (states_.size() < need) {
    states_.resize(need, 0.0);
    filled_.resize(slot + 1, 0);
    if (keep_every_ > 1) {
      prevs_.resize(need, 0.0);
      qdots_.resize(need, 0.0);
    }
  }
  std::copy(x, x + n_, states_.begin() + slot * n_);
  if (keep_every_ > 1) {
    double* p = prevs_.data() + slot * n_;
    double* qd = qdots_.data() + slot * n_;
    if (prev != nullptr)
      std::copy(prev, prev + n_, p);
    else
      std::copy(x, x + n_, p);
    if (qdot != nullptr)
      std::copy(qdot, qdot + n_, qd);
    else
      std::fill(qd, qd + n_, 0.0);
  }
  filled_[slot] = 1;
}

const double* Tape::state(int k) const {
  const int s = Slot(k);
  return s < 0 ? nullptr : states_.data() + static_cast<size_t>(s) * n_;
}

const double* Tape::prev_state(int k) const {
  const int s = Slot(k);
  return s < 0 || prevs_.empty() ? nullptr : prevs_.data() + static_cast<size_t>(s) * n_;
}

const double* Tape::qdot(int k) const {
  const int s = Slot(k);
  return s < 0 || qdots_.empty() ? nullptr : qdots_.data() + static_cast<size_t>(s) * n_;
}

size_t Tape::bytes() const {
  size_t anchors = 0;
  const Anchor* last = nullptr;  // consecutive steps share one anchor
  for (const auto& [k, a] : anchors_) {
    anchors += sizeof(k) + sizeof(a);
    if (a != nullptr && a.get() != last) anchors += sizeof(Anchor) + a->x.size() * sizeof(double);
    last = a.get();
  }
  return (times_.size() + hs_.size() + states_.size() + prevs_.size() + qdots_.size()) *
             sizeof(double) +
         methods_.size() * sizeof(uint8_t) + filled_.size() + anchors;
}

void TapeRecorder::OnStep(const solver::StepInfo& info) {
  tape_->AppendStep(info.time, info.h, info.method, info.restart);
  tape_->SetState(tape_->size() - 1, info.x, nullptr, nullptr);
}

}  // namespace memspice::autodiff
