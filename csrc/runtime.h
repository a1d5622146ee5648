/* runtime.h: thread settings and small shared helpers for every kernel family.
 *
 * Threading model: OpenBLAS always runs single-threaded (fnn_runtime_init sets it to 1), and all
 * parallelism is OpenMP owned by fastnn, including GEMM (see fnn_gemm in blas.h, which splits the
 * output across OpenMP threads, each calling single-threaded BLAS). So there is one thread pool,
 * never a threaded BLAS inside an OpenMP region, and no oversubscription.
 */
#ifndef FNN_RUNTIME_H
#define FNN_RUNTIME_H

#include <stdint.h>
#include <stddef.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Hot elementwise loops get an AVX2+FMA clone picked at load time (ifunc), and a baseline
 * x86-64 clone; no -march=native in anything that ships. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define FNN_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FNN_HOT
#endif

/* Set the thread count used by this extension's kernels; n <= 0 means "follow OpenMP"
 * (OMP_NUM_THREADS / omp_set_num_threads / threadpoolctl). */
void fnn_set_num_threads(int n);
/* Threads a kernel may use. */
int fnn_get_num_threads(void);
/* Threads for a piece of work of `work` units where one thread should get at least `grain`
 * units: 1 for small work, never more than fnn_get_num_threads(). */
int fnn_threads_for(int64_t work, int64_t grain);
/* This thread's number in its team, and the team's size: the team OpenMP really gave, which may
 * be smaller than the num_threads asked for (0 and 1 outside a parallel region). */
static inline int fnn_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int fnn_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Inside a parallel region: this thread's share [*lo, *hi) of [0, n), in whole blocks of
 * `align` elements (align 1: plain elements). Outside a region: all of it. */
static inline void fnn_thread_range(int64_t n, int64_t align, int64_t *lo, int64_t *hi)
{
    const int t = fnn_thread_id(), T = fnn_team_size();
    int64_t blocks = (n + align - 1) / align;
    int64_t a = blocks * t / T * align, b = blocks * (t + 1) / T * align;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}

/* s (cols,) = the column sums of a (rows, cols) (e.g. a bias gradient), each added up in double
 * in row order, so the result is the same for any thread count; threads own disjoint column
 * blocks, one thread per `grain` elements of a. */
void fnn_colsum_f32(float *s, const float *a, int64_t rows, int64_t cols, int64_t grain);
void fnn_colsum_f64(double *s, const double *a, int64_t rows, int64_t cols, int64_t grain);

/* Row kernels (softmax, cross-entropy, layer norm) read each row several times while it sits in
 * L1, but the first pass over a row starts cold: a row of a few KiB begins on a new page, where
 * the hardware prefetcher starts over, and that pass waits on memory. fnn_prefetch_row(p, n)
 * asks for the first min(n, FNN_PREFETCH_MAX) bytes at p (the next row) while the caller works
 * on this one. Measured on 2 threads, interleaved A/B runs: softmax (4096, 1000) forward
 * 1.65 -> 1.43 ms, layer norm (4096, 1024) forward 1.78 -> 1.50 ms, cross-entropy forward +
 * backward (4096, 1000) 2.62 -> 2.43 ms; for passes that read two rows at once (softmax and
 * layer-norm backward) it did not help and is not used. A hint only: it never faults. */
#define FNN_PREFETCH_MAX 8192
static inline void fnn_prefetch_row(const void *p, int64_t bytes)
{
    const char *c = (const char *)p;
    if (bytes > FNN_PREFETCH_MAX)
        bytes = FNN_PREFETCH_MAX;
    for (int64_t k = 0; k < bytes; k += 64)
        __builtin_prefetch(c + k, 0, 3);
}

/* Puts fastnn's OpenBLAS back to one thread if something (threadpoolctl's threadpool_limits,
 * a direct openblas_set_num_threads) raised it: fastnn's OpenMP threads call it, and a threaded
 * BLAS inside them would oversubscribe the cores. One load and compare when nothing changed;
 * a no-op inside a parallel region. Called by fnn_threads_for and fnn_gemm. */
void fnn_blas_keep_serial(void);
/* 1 when this extension was built with OpenMP. */
int fnn_openmp_enabled(void);
/* Called once at import: makes OpenBLAS single-threaded (fastnn owns the parallelism). */
void fnn_runtime_init(void);

#endif
