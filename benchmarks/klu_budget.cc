// What KLU can do on crossbar MNA matrices: the time budget of a linear transient.
//
// Builds J = G + (2/h) C of an N x N resistive crossbar with line R and C (the topology of
// circuits/crossbar.h: SIN drivers and 0 V sense sources as MNA branch rows), in CSC, and times
// klu_analyze, klu_factor, klu_refactor, klu_solve and klu_tsolve for the ordering / BTF / scaling
// options. A trapezoidal linear transient with a constant step costs one factor + `steps` solves;
// with a changing step, one refactor per change.
//
//   klu_budget [--sizes 32,64,128] [--rline 1] [--cline 1e-15] [--h 1e-6] [--reps 20]
#include <klu.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "solver/klu_solver.h"

namespace {

struct Csc {
  int n = 0;
  std::vector<int> col_ptr, row_idx;
  std::vector<double> values;
};

struct Triplets {
  std::vector<int> r, c;
  std::vector<double> v;
  void Add(int row, int col, double val) {
    if (row < 0 || col < 0) return;  // ground
    r.push_back(row);
    c.push_back(col);
    v.push_back(val);
  }
  // Conductance g between nodes a and b (-1 = ground).
  void Stamp(int a, int b, double g) {
    Add(a, a, g);
    Add(b, b, g);
    Add(a, b, -g);
    Add(b, a, -g);
  }
};

Csc ToCsc(int n, const Triplets& t) {
  std::vector<size_t> order(t.r.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return t.c[a] != t.c[b] ? t.c[a] < t.c[b] : t.r[a] < t.r[b];
  });
  Csc m;
  m.n = n;
  m.col_ptr.assign(n + 1, 0);
  int last_r = -1, last_c = -1;
  for (size_t k : order) {
    if (t.r[k] == last_r && t.c[k] == last_c) {  // duplicate (row, col): sum
      m.values.back() += t.v[k];
      continue;
    }
    last_r = t.r[k];
    last_c = t.c[k];
    m.row_idx.push_back(t.r[k]);
    m.values.push_back(t.v[k]);
    m.col_ptr[t.c[k] + 1]++;
  }
  for (int c = 0; c < n; ++c) m.col_ptr[c + 1] += m.col_ptr[c];
  return m;
}

// N x N crossbar, rline per segment, cline at each cross-point node, cells uniform in
// [1e-5, 1e-3] S. Unknowns: word nodes (incl. driver node), bit nodes (incl. sense end), then
// the branch currents of the N drivers and N sense sources.
Csc BuildCrossbar(int nr, int nc, double rline, double cline, double h, int* unknowns) {
  auto word = [&](int i, int k) { return i * (nc + 1) + k + 1; };  // k = -1: driver node
  const int nword = nr * (nc + 1);
  auto bit = [&](int i, int k) { return nword + k * (nr + 1) + i; };  // i = nr: sense end
  const int nnodes = nword + nc * (nr + 1);
  const int n = nnodes + nr + nc;
  Triplets t;
  const double gl = 1.0 / rline, a0c = 2.0 / h * cline;
  std::mt19937_64 gen(1);
  for (int i = 0; i < nr; ++i) {
    for (int k = 0; k < nc; ++k) {
      t.Stamp(word(i, k - 1), word(i, k), gl);
      t.Stamp(bit(i, k), bit(i + 1, k), gl);
      t.Add(word(i, k), word(i, k), a0c);
      t.Add(bit(i, k), bit(i, k), a0c);
      const double u = static_cast<double>(gen() >> 11) * 0x1.0p-53;
      t.Stamp(word(i, k), bit(i, k), 1e-5 + u * (1e-3 - 1e-5));
    }
  }
  // Voltage sources: branch row = v(node) (the source value is the RHS), KCL gets +i.
  for (int i = 0; i < nr; ++i) {
    const int br = nnodes + i;
    t.Add(word(i, -1), br, 1.0);
    t.Add(br, word(i, -1), 1.0);
  }
  for (int k = 0; k < nc; ++k) {
    const int br = nnodes + nr + k;
    t.Add(bit(nr, k), br, 1.0);
    t.Add(br, bit(nr, k), 1.0);
  }
  *unknowns = n;
  return ToCsc(n, t);
}

// CPU time of this thread: on a shared machine wall time also counts other processes' slices.
double Now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

struct Config {
  const char* name;
  int ordering, btf, scale;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {32, 64, 128};
  double rline = 1.0, cline = 1e-15, h = 1e-6;
  int reps = 20;
  for (int a = 1; a < argc; ++a) {
    auto next = [&]() -> const char* {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "klu_budget: %s needs a value\n", argv[a]);
        std::exit(2);
      }
      return argv[++a];
    };
    if (!std::strcmp(argv[a], "--sizes")) {
      sizes.clear();
      std::string s = next();
      for (size_t p = 0; p < s.size();) {
        size_t q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        sizes.push_back(std::atoi(s.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else if (!std::strcmp(argv[a], "--rline")) {
      rline = std::atof(next());
    } else if (!std::strcmp(argv[a], "--cline")) {
      cline = std::atof(next());
    } else if (!std::strcmp(argv[a], "--h")) {
      h = std::atof(next());
    } else if (!std::strcmp(argv[a], "--reps")) {
      reps = std::atoi(next());
    } else {
      std::fprintf(stderr,
                   "usage: klu_budget [--sizes 32,64,128] [--rline OHM] [--cline F] [--h S] "
                   "[--reps N]\n");
      return 2;
    }
  }
  if (rline <= 0 || h <= 0 || reps < 1 || sizes.empty()) {
    std::fprintf(stderr, "klu_budget: need rline > 0, h > 0, reps >= 1\n");
    return 2;
  }
  const Config configs[] = {
      {"AMD, btf, scale=max (default)", 0, 1, 2},
      {"AMD, btf, scale=sum", 0, 1, 1},
      {"AMD, btf, no scale", 0, 1, 0},
      {"AMD, no btf, scale=max", 0, 0, 2},
      {"AMD, no btf, no scale", 0, 0, 0},
      {"COLAMD, btf, scale=max", 1, 1, 2},
      {"COLAMD, no btf, no scale", 1, 0, 0},
      {"METIS ND, btf, no scale", 3, 1, 0},
      {"METIS ND, no btf, no scale", 3, 0, 0},
  };
  std::printf(
      "| size | unknowns | nnz(J) | options | nnz(L+U) | analyze ms | factor ms | refactor ms | "
      "solve us | tsolve us | 1000 steps, fixed h (ms) | 1000 steps, refactor each (ms) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int size : sizes) {
    if (size < 1) continue;
    int n = 0;
    Csc m = BuildCrossbar(size, size, rline, cline, h, &n);
    std::vector<double> rhs(n), b(n);
    for (int k = 0; k < n; ++k) rhs[k] = std::sin(0.1 * k);
    {  // warm caches and the allocator so the first configuration is not penalised
      klu_common wc;
      klu_defaults(&wc);
      klu_symbolic* ws = klu_analyze(n, m.col_ptr.data(), m.row_idx.data(), &wc);
      klu_numeric* wn = klu_factor(m.col_ptr.data(), m.row_idx.data(), m.values.data(), ws, &wc);
      klu_free_numeric(&wn, &wc);
      klu_free_symbolic(&ws, &wc);
    }
    for (const Config& cfg : configs) {
      if (cfg.ordering == 3 && memspice::solver::MetisUserOrder() == nullptr) continue;
      klu_common common;
      klu_defaults(&common);
      common.ordering = cfg.ordering;
      common.btf = cfg.btf;
      common.scale = cfg.scale;
      common.user_order = memspice::solver::MetisUserOrder();
      // Each figure is the minimum over `reps` CPU timings: the least disturbed by other load.
      double t_an = 1e300, t_fac = 1e300, t_ref = 1e300, t_sol = 1e300, t_tsol = 1e300;
      klu_symbolic* sym = nullptr;
      for (int r = 0; r < reps; ++r) {
        if (sym) klu_free_symbolic(&sym, &common);
        const double t0 = Now();
        sym = klu_analyze(n, m.col_ptr.data(), m.row_idx.data(), &common);
        t_an = std::min(t_an, Now() - t0);
      }
      if (!sym) {
        std::fprintf(stderr, "klu_analyze failed (status %d)\n", common.status);
        return 1;
      }
      klu_numeric* num = nullptr;
      for (int r = 0; r < reps; ++r) {
        if (num) klu_free_numeric(&num, &common);
        const double t0 = Now();
        num = klu_factor(m.col_ptr.data(), m.row_idx.data(), m.values.data(), sym, &common);
        t_fac = std::min(t_fac, Now() - t0);
        if (!num) {
          std::fprintf(stderr, "klu_factor failed (status %d)\n", common.status);
          return 1;
        }
      }
      const long lu = static_cast<long>(num->lnz) + num->unz;
      for (int r = 0; r < reps; ++r) {
        const double t0 = Now();
        klu_refactor(m.col_ptr.data(), m.row_idx.data(), m.values.data(), sym, num, &common);
        t_ref = std::min(t_ref, Now() - t0);
      }
      // Solves are short: time batches of 20.
      for (int r = 0; r < reps; ++r) {
        double t0 = Now();
        for (int s = 0; s < 20; ++s) {
          b = rhs;
          klu_solve(sym, num, n, 1, b.data(), &common);
        }
        t_sol = std::min(t_sol, (Now() - t0) / 20);
        t0 = Now();
        for (int s = 0; s < 20; ++s) {
          b = rhs;
          klu_tsolve(sym, num, n, 1, b.data(), &common);
        }
        t_tsol = std::min(t_tsol, (Now() - t0) / 20);
      }
      std::printf(
          "| %dx%d | %d | %zu | %s | %ld | %.3f | %.3f | %.3f | %.1f | %.1f | %.1f | %.1f |\n",
          size, size, n, m.row_idx.size(), cfg.name, lu, t_an * 1e3, t_fac * 1e3, t_ref * 1e3,
          t_sol * 1e6, t_tsol * 1e6, (t_fac + 1000 * t_sol) * 1e3, 1000 * (t_ref + t_sol) * 1e3);
      std::fflush(stdout);
      klu_free_numeric(&num, &common);
      klu_free_symbolic(&sym, &common);
    }
  }
  return 0;
}
