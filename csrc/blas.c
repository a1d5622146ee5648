/* blas.c: fnn_gemm, OpenMP-partitioned single-threaded OpenBLAS (see blas.h). Linked into
 * every extension module. */
#ifndef FNN_GENERIC
#include "blas.h"

/* Below this many multiply-adds a GEMM runs on the calling thread: splitting costs more than
 * it saves (a fork/join is a few microseconds). */
#define FNN_GEMM_PARALLEL_MIN (1 << 19)

/* Split [0, total) into `parts` blocks whose boundaries are multiples of 16 (whole SIMD panels). */
static void fnn_block(int64_t total, int parts, int index, int64_t *lo, int64_t *hi)
{
    int64_t units = (total + 15) / 16;
    int64_t a = units * index / parts * 16, b = units * (index + 1) / parts * 16;
    *lo = a < total ? a : total;
    *hi = b < total ? b : total;
}

#define FNN_GENERIC "blas.c"
#include "dtype.h"

#else  /* generic part */

void FNN(fnn_gemm)(int ta, int tb, int64_t m, int64_t n, int64_t k,
                   real alpha, const real *a, int64_t lda, const real *b, int64_t ldb,
                   real beta, real *c, int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {                  /* empty sum: C = beta * C (BLAS would reject ld = 0) */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0 ? (real)0 : beta * c[i * ldc + j];
        return;
    }
    int64_t work = m * n * (k > 0 ? k : 1);
    int split_rows = m >= n;
    int64_t extent = split_rows ? m : n;
    int nt = work < FNN_GEMM_PARALLEL_MIN ? 1 : fnn_threads_for(extent, 32);
    if (nt <= 1) {
        FNN(fnn_gemm_serial)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(nt)
    {
        int64_t lo, hi;
        fnn_block(extent, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        if (hi > lo) {
            if (split_rows) {          /* rows lo..hi of op(A) and of C */
                const real *ab = ta ? a + lo : a + lo * lda;
                FNN(fnn_gemm_serial)(ta, tb, hi - lo, n, k, alpha, ab, lda, b, ldb, beta,
                                     c + lo * ldc, ldc);
            } else {                   /* columns lo..hi of op(B) and of C */
                const real *bb = tb ? b + lo * ldb : b + lo;
                FNN(fnn_gemm_serial)(ta, tb, m, hi - lo, k, alpha, a, lda, bb, ldb, beta,
                                     c + lo, ldc);
            }
        }
    }
#else
    FNN(fnn_gemm_serial)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

#endif
