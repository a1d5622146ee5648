/* dropout.c: inverted dropout, y = x * mask / (1 - p), with the counter-based mask of dropout.h.
 * Forward and backward are the same masked scaling (of x, then of dy); each element's keep bit is
 * recomputed from (key, index), so threads split the elements freely and no mask is stored. */
#ifndef FNN_GENERIC
#include "fastnn.h"

/* `keep ? v * scale : 0` is only turned into a SIMD blend (instead of an unpredictable branch,
 * 4x slower at p = 0.5) when gcc may assume that floating-point operations do not trap. No
 * computed value changes (fastnn never reads FP exception flags); this is not -ffast-math. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#define FNN_DROPOUT_GRAIN 65536   /* elements per thread worth forking for */

FNN_HOT static void fnn_dropout_mask_block(uint8_t *keep, int64_t i0, int64_t i1, uint64_t key,
                                           uint64_t threshold)
{
    for (int64_t i = i0; i < i1; i++)
        keep[i] = (fnn_dropout_hash(key, (uint64_t)i) >> 11) >= threshold;
}

void fnn_dropout_mask(uint8_t *keep, int64_t n, uint64_t key, uint64_t threshold)
{
    int nt = fnn_threads_for(n, FNN_DROPOUT_GRAIN);
    if (nt <= 1) {          /* no OpenMP team for small work: even a 1-thread region costs ~0.5 us */
        fnn_dropout_mask_block(keep, 0, n, key, threshold);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int64_t lo, hi;
        fnn_thread_range(n, 1, &lo, &hi);
        fnn_dropout_mask_block(keep, lo, hi, key, threshold);
    }
}

#define FNN_GENERIC "dropout.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

FNN_HOT static void FNN(dropout_block)(real *restrict y, const real *restrict x, int64_t i0, int64_t i1,
                                       uint64_t key, uint64_t threshold, real scale)
{
    for (int64_t i = i0; i < i1; i++)
        y[i] = (fnn_dropout_hash(key, (uint64_t)i) >> 11) >= threshold ? x[i] * scale : (real)0;
}

static void FNN(dropout_apply)(real *y, const real *x, int64_t n, uint64_t key, uint64_t threshold,
                               real scale)
{
    int nt = fnn_threads_for(n, FNN_DROPOUT_GRAIN);
    if (nt <= 1) {
        FNN(dropout_block)(y, x, 0, n, key, threshold, scale);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int64_t lo, hi;
        fnn_thread_range(n, 1, &lo, &hi);
        FNN(dropout_block)(y, x, lo, hi, key, threshold, scale);
    }
}

void FNN(fnn_dropout_fwd)(real *y, const real *x, int64_t n, uint64_t key, uint64_t threshold, real scale)
{
    FNN(dropout_apply)(y, x, n, key, threshold, scale);
}

void FNN(fnn_dropout_bwd)(real *dx, const real *dy, int64_t n, uint64_t key, uint64_t threshold, real scale)
{
    FNN(dropout_apply)(dx, dy, n, key, threshold, scale);
}

#endif
