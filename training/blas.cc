#include "training/blas.h"

#include <dlfcn.h>

#include <mutex>
#include <type_traits>

namespace memspice::training {

void SingleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] {
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
      f(1);
  });
}

template <typename S>
void RowMajorGemm(bool transpose_b, int m, int n, int k, S alpha, const S* a, int lda, const S* b,
                  int ldb, S beta, S* c, int ldc) {
  SingleThreadedBlas();
  // Column-major, the same memory holds the transposes: c^T = op(b)^T a^T.
  const char tb = transpose_b ? 'T' : 'N', ta = 'N';
  if constexpr (std::is_same_v<S, float>)
    sgemm_(&tb, &ta, &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c, &ldc);
  else
    dgemm_(&tb, &ta, &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c, &ldc);
}

template void RowMajorGemm<float>(bool, int, int, int, float, const float*, int, const float*, int,
                                  float, float*, int);
template void RowMajorGemm<double>(bool, int, int, int, double, const double*, int, const double*,
                                   int, double, double*, int);

}  // namespace memspice::training
