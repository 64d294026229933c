#include "solver/klu_supernodes.h"

#include <algorithm>

namespace memspice::solver {
namespace {

// Column k of KLU's L or U in block 0: row indices, then values after the indices' padding.
struct Column {
  const int* index;
  const double* values;
  int size;
};
Column GetColumn(const klu_numeric& f, const int* start, const int* size, int k) {
  const double* base = static_cast<const double*>(f.LUbx[0]) + start[k];
  const size_t index_units = (sizeof(int) * size[k] + sizeof(double) - 1) / sizeof(double);
  return {reinterpret_cast<const int*>(base), base + index_units, size[k]};
}

// Rows of a rectangle updated together: independent chains of subtractions keep the floating-point
// units busy while each x entry still receives its products one after another, in KLU's order.
constexpr int kRows = 4;

// Values before row (or column) r of a run's triangle, stored by decreasing length w-1, w-2, ...
size_t TriangleOffset(int w, int r) {
  return static_cast<size_t>(r) * (w - 1) - static_cast<size_t>(r) * (r - 1) / 2;
}

}  // namespace

bool KluSupernodes::Build(const klu_numeric& numeric) {
  n_ = 0;
  if (numeric.nblocks != 1) return false;
  BuildL(numeric);
  BuildU(numeric);
  u_diag_.assign(static_cast<const double*>(numeric.Udiag),
                 static_cast<const double*>(numeric.Udiag) + numeric.n);
  work_.resize(numeric.n);
  n_ = numeric.n;
  return true;
}

void KluSupernodes::BuildL(const klu_numeric& f) {
  const int n = f.n;
  // Column k joins column k + 1's run when its rows are k + 1 and those of column k + 1.
  std::vector<char> joins(n, 0), mark(n, 0);
  for (int k = 0; k + 1 < n; ++k) {
    const Column a = GetColumn(f, f.Lip, f.Llen, k), b = GetColumn(f, f.Lip, f.Llen, k + 1);
    if (a.size != b.size + 1) continue;
    for (int p = 0; p < a.size; ++p) mark[a.index[p]] = 1;
    bool same = mark[k + 1] != 0;
    for (int p = 0; p < b.size && same; ++p) same = mark[b.index[p]] != 0;
    for (int p = 0; p < a.size; ++p) mark[a.index[p]] = 0;
    joins[k] = same;
  }
  l_runs_.clear();
  l_index_.clear();
  l_values_.clear();
  std::vector<int> position(n, 0);  // of a rectangle row in its run
  for (int j = 0; j < n;) {
    Run run;
    run.first = j;
    run.width = 1;
    while (j + run.width < n && joins[j + run.width - 1]) ++run.width;
    const int w = run.width;
    const Column last = GetColumn(f, f.Lip, f.Llen, j + w - 1);
    run.index_begin = l_index_.size();
    for (int p = 0; p < last.size; ++p) {
      position[last.index[p]] = p;
      l_index_.push_back(last.index[p]);
    }
    run.index_end = l_index_.size();
    run.values = l_values_.size();
    const size_t triangle = TriangleOffset(w, w);
    l_values_.resize(run.values + triangle + static_cast<size_t>(last.size) * w, 0.0);
    double* tri = &l_values_[run.values];
    double* rect = tri + triangle;
    for (int c = 0; c < w; ++c) {
      const Column col = GetColumn(f, f.Lip, f.Llen, j + c);
      for (int p = 0; p < col.size; ++p) {
        const int row = col.index[p];
        if (row < j + w)
          tri[TriangleOffset(w, c) + (row - j - c - 1)] = col.values[p];
        else
          rect[static_cast<size_t>(position[row]) * w + c] = col.values[p];
      }
    }
    l_runs_.push_back(run);
    j += w;
  }
}

void KluSupernodes::BuildU(const klu_numeric& f) {
  const int n = f.n;
  // U by rows, columns in decreasing order (the order klu_usolve applies them in).
  std::vector<int> row_start(n + 1, 0);
  for (int k = 0; k < n; ++k) {
    const Column col = GetColumn(f, f.Uip, f.Ulen, k);
    for (int p = 0; p < col.size; ++p) ++row_start[col.index[p] + 1];
  }
  for (int i = 0; i < n; ++i) row_start[i + 1] += row_start[i];
  std::vector<int> cols(row_start[n]), next(row_start.begin(), row_start.end() - 1);
  std::vector<double> vals(row_start[n]);
  for (int k = n - 1; k >= 0; --k) {
    const Column col = GetColumn(f, f.Uip, f.Ulen, k);
    for (int p = 0; p < col.size; ++p) {
      const int q = next[col.index[p]]++;
      cols[q] = k;
      vals[q] = col.values[p];
    }
  }
  // Row i joins row i + 1's run when its columns are those of row i + 1, then i + 1.
  auto joins = [&](int i) {
    const int a = row_start[i], b = row_start[i + 1], e = row_start[i + 2];
    return b - a == e - b + 1 && cols[b - 1] == i + 1 &&
           std::equal(cols.begin() + b, cols.begin() + e, cols.begin() + a);
  };
  u_runs_.clear();
  u_index_.clear();
  u_values_.clear();
  for (int i = 0; i < n;) {
    Run run;
    run.first = i;
    run.width = 1;
    while (i + run.width < n && joins(i + run.width - 1)) ++run.width;
    const int w = run.width;
    const int last = i + w - 1, m = row_start[last + 1] - row_start[last];
    run.index_begin = u_index_.size();
    u_index_.insert(u_index_.end(), cols.begin() + row_start[last],
                    cols.begin() + row_start[last + 1]);
    run.index_end = u_index_.size();
    run.values = u_values_.size();
    const size_t triangle = TriangleOffset(w, w);
    u_values_.resize(run.values + triangle + static_cast<size_t>(m) * w, 0.0);
    double* tri = &u_values_[run.values];
    double* rect = tri + triangle;
    for (int r = 0; r < w; ++r) {  // row i + r: the rectangle's m columns, then its triangle part
      const int b = row_start[i + r];
      std::copy(vals.begin() + b, vals.begin() + b + m, rect + static_cast<size_t>(r) * m);
      std::copy(vals.begin() + b + m, vals.begin() + row_start[i + r + 1],
                tri + TriangleOffset(w, r));
    }
    u_runs_.push_back(run);
    i += w;
  }
}

void KluSupernodes::LSolve(double* x) const {
  for (const Run& run : l_runs_) {
    const int j = run.first, w = run.width;
    const double* v = &l_values_[run.values];
    for (int c = 0; c < w; ++c) {
      const double xc = x[j + c];
      for (int r = c + 1; r < w; ++r) x[j + r] -= *v++ * xc;
    }
    // The rectangle, four rows at a time: four independent chains of subtractions.
    const double* xs = x + j;
    size_t p = run.index_begin;
    for (; p + kRows <= run.index_end; p += kRows, v += kRows * w) {
      double t[kRows];
      for (int r = 0; r < kRows; ++r) t[r] = x[l_index_[p + r]];
      for (int c = 0; c < w; ++c) {
        const double xc = xs[c];
        for (int r = 0; r < kRows; ++r) t[r] -= v[r * w + c] * xc;
      }
      for (int r = 0; r < kRows; ++r) x[l_index_[p + r]] = t[r];
    }
    for (; p < run.index_end; ++p, v += w) {
      double t = x[l_index_[p]];
      for (int c = 0; c < w; ++c) t -= v[c] * xs[c];
      x[l_index_[p]] = t;
    }
  }
}

void KluSupernodes::USolve(double* x) const {
  for (auto it = u_runs_.rbegin(); it != u_runs_.rend(); ++it) {
    const int i = it->first, w = it->width;
    const double* tri = &u_values_[it->values];
    // The rectangle, four rows at a time in registers (its columns lie right of the run).
    const double* rect = tri + TriangleOffset(w, w);
    const int* cols = &u_index_[it->index_begin];
    const size_t m = it->index_end - it->index_begin;
    int row = 0;
    for (; row + kRows <= w; row += kRows) {
      double t[kRows];
      const double* v = rect + static_cast<size_t>(row) * m;  // row-major: one stream per row
      for (int k = 0; k < kRows; ++k) t[k] = x[i + row + k];
      for (size_t p = 0; p < m; ++p) {
        const double xc = x[cols[p]];
        for (int k = 0; k < kRows; ++k) t[k] -= v[k * m + p] * xc;
      }
      for (int k = 0; k < kRows; ++k) x[i + row + k] = t[k];
    }
    for (; row < w; ++row) {
      double t = x[i + row];
      const double* v = rect + static_cast<size_t>(row) * m;
      for (size_t p = 0; p < m; ++p) t -= v[p] * x[cols[p]];
      x[i + row] = t;
    }
    for (int r = w - 1; r >= 0; --r) {
      double t = x[i + r];
      const double* a = tri + TriangleOffset(w, r);
      for (int c = w - 1; c > r; --c) t -= *a++ * x[i + c];
      x[i + r] = t / u_diag_[i + r];
    }
  }
}

void KluSupernodes::Solve(const klu_symbolic& symbolic, const klu_numeric& numeric, double* b) {
  double* x = work_.data();
  const int* pnum = numeric.Pnum;
  const double* rs = numeric.Rs;
  for (int k = 0; k < n_; ++k) {
    const int i = pnum[k];
    x[k] = rs != nullptr ? b[i] / rs[k] : b[i];  // KLU keeps Rs in pivot order
  }
  LSolve(x);
  USolve(x);
  for (int k = 0; k < n_; ++k) b[symbolic.Q[k]] = x[k];
}

}  // namespace memspice::solver
