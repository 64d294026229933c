#include "solver/klu_solver.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>

#ifdef MEMSPICE_HAVE_CHOLMOD
#include <cholmod.h>
#endif

namespace memspice::solver {
namespace {

std::atomic<int> g_num_analyses{0};

#ifdef MEMSPICE_HAVE_CHOLMOD
int MetisOrder(int n, int* ap, int* ai, int* perm, klu_common* /*common*/) {
  // METIS rejects tiny graphs; the identity is optimal there anyway.
  constexpr int kMetisMinGraph = 4;
  if (n < kMetisMinGraph) {
    for (int k = 0; k < n; ++k) perm[k] = k;
    return n * n;
  }
  cholmod_common cc;
  cholmod_start(&cc);
  cholmod_sparse a{};
  a.nrow = a.ncol = n;
  a.nzmax = ap[n];
  a.p = ap;
  a.i = ai;
  a.stype = 1;
  a.itype = CHOLMOD_INT;
  a.xtype = CHOLMOD_PATTERN;
  a.dtype = CHOLMOD_DOUBLE;
  a.sorted = 1;
  a.packed = 1;
  const int ok = cholmod_metis(&a, nullptr, 0, 1, perm, &cc);
  cholmod_finish(&cc);
  // KLU only compares the estimate between blocks; any positive value will do.
  return ok ? 10 * ap[n] + n : 0;
}
#endif

// klu_analyze with METIS nested dissection for large patterns, else (or if METIS fails) KLU's
// defaults.
klu_symbolic* Analyze(int n, int* col_ptr, int* row_idx, klu_common* common) {
  if (n >= kMetisMinUnknowns && MetisUserOrder() != nullptr) {
    klu_common metis = *common;
    metis.ordering = 3;
    metis.btf = 0;
    metis.user_order = MetisUserOrder();
    if (klu_symbolic* s = klu_analyze(n, col_ptr, row_idx, &metis)) return s;
  }
  return klu_analyze(n, col_ptr, row_idx, common);
}

// A deep copy of a numeric factorization (KLU has none), array by array as klu_free_numeric
// frees them; nullptr if out of memory. klu_refactor of a copy keeps the pivot order and the
// patterns and costs about a third of klu_factor on large arrays (docs/benchmarks.md).
klu_numeric* CopyNumeric(const klu_numeric& src, klu_common* common) {
  bool ok = true;
  auto dup = [&](const void* p, size_t count, size_t size) -> void* {
    if (p == nullptr) return nullptr;
    void* q = klu_malloc(count, size, common);
    if (q == nullptr) {
      ok = false;
      return nullptr;
    }
    std::memcpy(q, p, count * size);
    return q;
  };
  auto* dst = static_cast<klu_numeric*>(klu_malloc(1, sizeof(klu_numeric), common));
  if (dst == nullptr) return nullptr;
  *dst = src;
  const size_t n = src.n, nblocks = src.nblocks, nzoff = src.nzoff;
  const ptrdiff_t x_offset = static_cast<char*>(src.Xwork) - static_cast<char*>(src.Work);
  const ptrdiff_t i_offset = reinterpret_cast<char*>(src.Iwork) - static_cast<char*>(src.Work);
  dst->Pnum = static_cast<int*>(dup(src.Pnum, n, sizeof(int)));
  dst->Pinv = static_cast<int*>(dup(src.Pinv, n, sizeof(int)));
  dst->Lip = static_cast<int*>(dup(src.Lip, n, sizeof(int)));
  dst->Uip = static_cast<int*>(dup(src.Uip, n, sizeof(int)));
  dst->Llen = static_cast<int*>(dup(src.Llen, n, sizeof(int)));
  dst->Ulen = static_cast<int*>(dup(src.Ulen, n, sizeof(int)));
  dst->LUsize = static_cast<size_t*>(dup(src.LUsize, nblocks, sizeof(size_t)));
  dst->LUbx = static_cast<void**>(klu_malloc(nblocks, sizeof(void*), common));
  if (dst->LUbx != nullptr) {
    for (size_t b = 0; b < nblocks; ++b)
      dst->LUbx[b] = dup(src.LUbx[b], src.LUsize[b], sizeof(double));  // Unit = double
  } else {
    ok = false;
  }
  dst->Udiag = dup(src.Udiag, n, sizeof(double));
  dst->Rs = static_cast<double*>(dup(src.Rs, n, sizeof(double)));
  dst->Work = dup(src.Work, src.worksize, 1);
  dst->Xwork = dst->Work == nullptr ? nullptr : static_cast<char*>(dst->Work) + x_offset;
  dst->Iwork = dst->Work == nullptr
                   ? nullptr
                   : reinterpret_cast<int*>(static_cast<char*>(dst->Work) + i_offset);
  dst->Offp = static_cast<int*>(dup(src.Offp, n + 1, sizeof(int)));
  dst->Offi = static_cast<int*>(dup(src.Offi, nzoff + 1, sizeof(int)));
  dst->Offx = dup(src.Offx, nzoff + 1, sizeof(double));
  if (!ok) klu_free_numeric(&dst, common);
  return dst;
}

}  // namespace

KluUserOrder MetisUserOrder() {
#ifdef MEMSPICE_HAVE_CHOLMOD
  return MetisOrder;
#else
  return nullptr;
#endif
}

std::shared_ptr<KluSymbolic> KluSymbolic::ForPattern(int n, const std::vector<int>& col_ptr,
                                                     const std::vector<int>& row_idx) {
  // Most recently used first. A handful covers a forward run, its replay and adjoint, and the
  // finite-difference checks, all on one pattern.
  static std::mutex mutex;
  static std::vector<std::shared_ptr<KluSymbolic>> recent;
  constexpr size_t kKeep = 4;
  std::lock_guard<std::mutex> lock(mutex);
  for (size_t k = 0; k < recent.size(); ++k) {
    const auto& s = recent[k];
    if (s->n_ == n && s->col_ptr_ == col_ptr && s->row_idx_ == row_idx) {
      std::rotate(recent.begin(), recent.begin() + k, recent.begin() + k + 1);
      return recent.front();
    }
  }
  std::shared_ptr<KluSymbolic> s(new KluSymbolic());
  klu_defaults(&s->common_);
  s->n_ = n;
  s->col_ptr_ = col_ptr;
  s->row_idx_ = row_idx;
  if (n > 0) {
    s->symbolic_ = Analyze(n, s->col_ptr_.data(), s->row_idx_.data(), &s->common_);
    ++g_num_analyses;
    if (s->symbolic_ == nullptr) return nullptr;
  }
  recent.insert(recent.begin(), s);
  if (recent.size() > kKeep) recent.pop_back();
  return s;
}

KluSymbolic::~KluSymbolic() {
  if (symbolic_ != nullptr) klu_free_symbolic(&symbolic_, &common_);
}

int KluSymbolic::num_analyses() { return g_num_analyses.load(); }

KluSolver::KluSolver() {
  klu_defaults(&common_);
  common_.halt_if_singular = 1;
}

KluSolver::~KluSolver() {
  for (auto& e : entries_) FreeEntry(&e);
}

void KluSolver::FreeEntry(Entry* e) {
  if (e->numeric != nullptr) klu_free_numeric(&e->numeric, &common_);
  e->numeric = nullptr;
  e->supernodes.reset();
  e->solves = 0;
  e->key = std::numeric_limits<double>::quiet_NaN();
}

klu_numeric* KluSolver::current() const {
  return current_ >= 0 ? entries_[current_].numeric : nullptr;
}

bool KluSolver::has_factorization() const { return current() != nullptr; }

bool KluSolver::Analyze(int n, const std::vector<int>& col_ptr, const std::vector<int>& row_idx) {
  for (auto& e : entries_) FreeEntry(&e);
  entries_.clear();
  current_ = -1;
  n_ = n;
  symbolic_ = KluSymbolic::ForPattern(n, col_ptr, row_idx);
  return symbolic_ != nullptr;
}

void KluSolver::set_cache_capacity(int capacity) {
  capacity_ = capacity < 1 ? 1 : static_cast<size_t>(capacity);
  while (entries_.size() > capacity_) {
    FreeEntry(&entries_.back());
    entries_.pop_back();
  }
  if (current_ >= static_cast<int>(entries_.size())) current_ = -1;
}

void KluSolver::ForgetKeys() {
  for (auto& e : entries_) e.key = std::numeric_limits<double>::quiet_NaN();
}

bool KluSolver::Select(double key) {
  if (std::isnan(key)) return false;
  for (size_t k = 0; k < entries_.size(); ++k) {
    if (entries_[k].key == key && entries_[k].numeric != nullptr) {
      current_ = static_cast<int>(k);
      entries_[k].last_use = ++clock_;
      return true;
    }
  }
  return false;
}

bool KluSolver::Factor(const double* values, double key) {
  singular_col_ = -1;
  if (n_ == 0) return true;
  if (symbolic_ == nullptr) return false;
  klu_symbolic* sym = symbolic_->get();
  int* cp = symbolic_->col_ptr();
  int* ri = symbolic_->row_idx();
  // Target: the entry of this key, else the current one (unkeyed use), else a new or the least
  // recently used entry, whose numeric object is recycled by klu_refactor.
  const int previous = current_;
  int target = -1;
  if (!std::isnan(key)) {
    for (size_t k = 0; k < entries_.size(); ++k) {
      if (entries_[k].key == key) target = static_cast<int>(k);
    }
  }
  if (target < 0 && std::isnan(key) && current_ >= 0) target = current_;
  if (target < 0 && entries_.size() < capacity_) {
    entries_.emplace_back();
    target = static_cast<int>(entries_.size()) - 1;
  }
  if (target < 0) {
    target = 0;
    for (size_t k = 1; k < entries_.size(); ++k) {
      if (entries_[k].last_use < entries_[target].last_use) target = static_cast<int>(k);
    }
  }
  Entry& e = entries_[target];
  e.key = key;
  e.last_use = ++clock_;
  e.supernodes.reset();  // of the values replaced below
  e.solves = 0;
  current_ = target;
  // A new entry starts as a copy of the last factorization (same pattern), refactored below.
  if (e.numeric == nullptr && previous >= 0 && previous != target &&
      entries_[previous].numeric != nullptr) {
    e.numeric = CopyNumeric(*entries_[previous].numeric, &common_);
    e.fresh_rcond = entries_[previous].fresh_rcond;
  }
  // klu_refactor takes a non-const pointer but does not modify the values.
  double* ax = const_cast<double*>(values);
  if (e.numeric != nullptr) {
    int ok = klu_refactor(cp, ri, ax, sym, e.numeric, &common_);
    if (ok && common_.status == KLU_OK) {
      // A pivot order chosen for other values can turn poor; then pivot afresh.
      klu_rcond(sym, e.numeric, &common_);
      if (std::isfinite(common_.rcond) && common_.rcond > 1e-3 * e.fresh_rcond) {
        ++num_refactor_;
        return true;
      }
    }
    klu_free_numeric(&e.numeric, &common_);
    e.numeric = nullptr;
  }
  e.numeric = klu_factor(cp, ri, ax, sym, &common_);
  if (e.numeric == nullptr || common_.status != KLU_OK) {
    singular_col_ =
        (common_.singular_col >= 0 && common_.singular_col < n_) ? common_.singular_col : -1;
    FreeEntry(&e);
    current_ = -1;
    return false;
  }
  klu_rcond(sym, e.numeric, &common_);
  e.fresh_rcond = std::isfinite(common_.rcond) ? common_.rcond : 0.0;
  ++num_factor_;
  return true;
}

void KluSolver::Solve(double* b) {
  klu_numeric* num = current();
  if (n_ == 0 || num == nullptr) return;
  Entry& e = entries_[current_];
  if (n_ >= kMetisMinUnknowns && ++e.solves == kSupernodalMinSolves) {
    e.supernodes = std::make_unique<KluSupernodes>();
    if (!e.supernodes->Build(*num)) e.supernodes.reset();  // several blocks: KLU's solve
  }
  if (e.supernodes != nullptr) {
    e.supernodes->Solve(*symbolic_->get(), *num, b);
    return;
  }
  klu_solve(symbolic_->get(), num, n_, 1, b, &common_);
}

void KluSolver::TSolve(double* b) {
  klu_numeric* num = current();
  if (n_ == 0 || num == nullptr) return;
  klu_tsolve(symbolic_->get(), num, n_, 1, b, &common_);
}

KluComplexSolver::KluComplexSolver(std::shared_ptr<KluSymbolic> symbolic)
    : symbolic_(std::move(symbolic)) {
  klu_defaults(&common_);
  common_.halt_if_singular = 1;
}

KluComplexSolver::~KluComplexSolver() {
  if (numeric_ != nullptr) klu_z_free_numeric(&numeric_, &common_);
}

bool KluComplexSolver::Factor(const double* values) {
  singular_col_ = -1;
  const int n = symbolic_ == nullptr ? 0 : symbolic_->n();
  if (numeric_ != nullptr) klu_z_free_numeric(&numeric_, &common_);
  if (n == 0) return true;
  // klu_z_factor takes a non-const pointer but does not modify the values.
  numeric_ = klu_z_factor(symbolic_->col_ptr(), symbolic_->row_idx(), const_cast<double*>(values),
                          symbolic_->get(), &common_);
  if (numeric_ == nullptr || common_.status != KLU_OK) {
    singular_col_ =
        (common_.singular_col >= 0 && common_.singular_col < n) ? common_.singular_col : -1;
    if (numeric_ != nullptr) klu_z_free_numeric(&numeric_, &common_);
    return false;
  }
  return true;
}

void KluComplexSolver::Solve(double* b) {
  if (numeric_ == nullptr) return;
  klu_z_solve(symbolic_->get(), numeric_, symbolic_->n(), 1, b, &common_);
}

}  // namespace memspice::solver
