// The BLAS the training library links (OpenBLAS behind CHOLMOD, Fortran interface): the line
// network's supernodal solves, and the dense products of the bit-line coupling relaxation, which
// Eigen, compiled for SSE2 only here (training/CMakeLists.txt), runs 2-3x slower than OpenBLAS's
// AVX2 / AVX-512 kernels.
#ifndef MEMSPICE_TRAINING_BLAS_H_
#define MEMSPICE_TRAINING_BLAS_H_

extern "C" {
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
void dtrsm_(const char* side, const char* uplo, const char* ta, const char* diag, const int* m,
            const int* n, const double* alpha, const double* a, const int* lda, double* b,
            const int* ldb);
}

namespace memspice::training {

// The BLAS is called from the training threads, one block of work per thread; OpenBLAS's own
// threads on top of them only spin (measured: 2.4x the CPU time of the line factorisation under
// load), so it runs single-threaded. Idempotent and cheap; called before the first BLAS call.
void SingleThreadedBlas();

// c = alpha a op(b) + beta c for row-major matrices: a m x k, b k x n (transpose_b: b is n x k and
// op(b) = b^T), c m x n, with row strides lda, ldb, ldc. float and double.
template <typename S>
void RowMajorGemm(bool transpose_b, int m, int n, int k, S alpha, const S* a, int lda, const S* b,
                  int ldb, S beta, S* c, int ldc);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_BLAS_H_
