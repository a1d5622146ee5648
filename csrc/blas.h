/* blas.h: GEMM for the kernels, from the scipy-openblas32 wheel (prefixed cblas symbols).
 *
 * fnn_gemm_f32/f64 compute, row-major,
 *     C (m, n) = alpha * op(A) (m, k) @ op(B) (k, n) + beta * C
 * and split the larger of m and n across OpenMP threads, each calling single-threaded BLAS on
 * its block (OpenBLAS itself is kept at one thread: see runtime.h). Sizes are int64_t here and
 * must fit 32-bit BLAS ints: the Python layer checks that before calling any kernel.
 * Call them from outside OpenMP regions; inside one, call fnn_gemm_serial_*.
 */
#ifndef FNN_BLAS_H
#define FNN_BLAS_H
#include "runtime.h"
#include "cblas.h"

/* An epilogue runs on one block of C right after the thread that computed it, while the block
 * is still in that core's cache: rows [row0, row1) x columns [col0, col1). Blocks of different
 * threads never overlap, so an epilogue may write its block freely. */
typedef void (*fnn_epilogue)(void *arg, int64_t row0, int64_t row1, int64_t col0, int64_t col1);

/* fnn_gemm followed by ep(ep_arg, ...) on every block (ep may be NULL). */
void fnn_gemm_ep_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc, fnn_epilogue ep, void *ep_arg);
void fnn_gemm_ep_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     double alpha, const double *a, int64_t lda, const double *b, int64_t ldb,
                     double beta, double *c, int64_t ldc, fnn_epilogue ep, void *ep_arg);

void fnn_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc);
void fnn_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                  double alpha, const double *a, int64_t lda, const double *b, int64_t ldb,
                  double beta, double *c, int64_t ldc);

static inline void fnn_gemm_serial_f32(int ta, int tb, int64_t m, int64_t n, int64_t k,
                                       float alpha, const float *a, int64_t lda,
                                       const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                      (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb,
                      beta, c, (blasint)ldc);
}

static inline void fnn_gemm_serial_f64(int ta, int tb, int64_t m, int64_t n, int64_t k,
                                       double alpha, const double *a, int64_t lda,
                                       const double *b, int64_t ldb, double beta, double *c, int64_t ldc)
{
    scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                      (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb,
                      beta, c, (blasint)ldc);
}

#endif
