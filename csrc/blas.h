/* blas.h: GEMM for the kernels, from the scipy-openblas32 wheel (prefixed cblas symbols); the
 * declarations below are written once for float and double (dtype.h idiom).
 *
 * fnn_gemm_f32/f64 compute, row-major,
 *     C (m, n) = alpha * op(A) (m, k) @ op(B) (k, n) + beta * C
 * and split the larger of m and n across OpenMP threads, each calling single-threaded BLAS on
 * its block (OpenBLAS itself is kept at one thread: see runtime.h). Sizes are int64_t here and
 * must fit 32-bit BLAS ints: the Python layer checks that before calling any kernel.
 * Call them from outside OpenMP regions; inside one, call fnn_gemm_serial_*.
 */
#ifndef FNN_GENERIC
#ifndef FNN_BLAS_H
#define FNN_BLAS_H
#include "runtime.h"
#include "cblas.h"

/* An epilogue runs on one block of C right after the thread that computed it, while the block
 * is still in that core's cache: rows [row0, row1) x columns [col0, col1). Blocks of different
 * threads never overlap, so an epilogue may write its block freely. */
typedef void (*fnn_epilogue)(void *arg, int64_t row0, int64_t row1, int64_t col0, int64_t col1);

#define FNN_GENERIC "blas.h"
#include "dtype.h"
#endif

#else  /* generic part, once per dtype */

/* fnn_gemm followed by ep(ep_arg, ...) on every block (ep may be NULL). */
void FNN(fnn_gemm_ep)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                      real alpha, const real *a, int64_t lda, const real *b, int64_t ldb,
                      real beta, real *c, int64_t ldc, fnn_epilogue ep, void *ep_arg);

void FNN(fnn_gemm)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   real alpha, const real *a, int64_t lda, const real *b, int64_t ldb,
                   real beta, real *c, int64_t ldc);

#if FNN_IS_F32
#define FNN_CBLAS_GEMM scipy_cblas_sgemm
#else
#define FNN_CBLAS_GEMM scipy_cblas_dgemm
#endif

static inline void FNN(fnn_gemm_serial)(int ta, int tb, int64_t m, int64_t n, int64_t k,
                                        real alpha, const real *a, int64_t lda,
                                        const real *b, int64_t ldb, real beta, real *c, int64_t ldc)
{
    FNN_CBLAS_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                   (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb,
                   beta, c, (blasint)ldc);
}

#undef FNN_CBLAS_GEMM
#endif
