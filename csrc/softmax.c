/* softmax.c: softmax / log-softmax over the middle axis of (outer, n, inner), and gradients.
 *
 * Contiguous rows (inner == 1), per row: the max (several independent lanes, so that gcc
 * vectorises it), exp(x - max) written to y by mathfn.h's vectorised exp, its sum (short blocks
 * in float, the block sums in double), then one scaling pass while the row is still in L1.
 * Strided rows (inner > 1): blocks of up to FNN_SM_BLOCK neighbouring columns are processed
 * together, sweeping the n rows of the block; the per-column max and sum live in small arrays,
 * and every loop runs along the contiguous inner axis, so it vectorises too.
 * Threads split the independent units (rows, or column blocks) statically; sums are in double. */
#ifndef FNN_GENERIC
#include "fastnn.h"
#include "mathfn.h"
FNN_NO_TRAPPING_MATH

/* Elements per thread worth forking for. */
#define FNN_SM_GRAIN 32768
/* Columns per block in the strided case (the per-column state fits in a few KiB of stack). */
#define FNN_SM_BLOCK 256
/* Elements per partial sum in row reductions (see sm_row_exp_sum). */
#define FNN_SM_SUM_BLOCK 256

#define FNN_GENERIC "softmax.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

/* ---- row helpers (inner == 1) ------------------------------------------------------------- */

/* max of x[0..n), n >= 1, started from x[0]. The omp simd max-reduction lets gcc keep one max
 * per SIMD lane (vmaxps); NaNs may be skipped by it, but a NaN in the row still reaches every
 * output through the sum of exp(x - max). */
FNN_INLINE real FNN(sm_row_max)(const real *restrict x, int64_t n)
{
    real m = x[0];
    #pragma omp simd reduction(max:m)
    for (int64_t i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* Row sums are formed in blocks of FNN_SM_SUM_BLOCK elements: within a block in `real` (gcc
 * keeps one partial sum per SIMD lane, so each float partial sum adds only 256 / 8 = 32 terms),
 * the block sums then in double. This keeps the accuracy of a double sum for long rows without
 * converting every element to double, which cost about a third of the forward pass. */

/* exp(x[i] - m) into y[i] for i < len, returns their sum (len <= FNN_SM_SUM_BLOCK) */
FNN_INLINE real FNN(sm_exp_block)(real *restrict y, const real *restrict x, real m, int64_t len)
{
    real acc = 0;
    #pragma omp simd reduction(+:acc)
    for (int64_t i = 0; i < len; i++) {
        real e = FNN(fnn_vexp_flush)(x[i] - m);
        y[i] = e;
        acc += e;
    }
    return acc;
}

/* y = exp(x - m) over a row of n, returns its sum (block sums in double) */
FNN_INLINE double FNN(sm_row_exp_sum)(real *restrict y, const real *restrict x, real m, int64_t n)
{
    double s = 0;
    int64_t i = 0;
    for (; i + FNN_SM_SUM_BLOCK <= n; i += FNN_SM_SUM_BLOCK)
        s += FNN(sm_exp_block)(y + i, x + i, m, FNN_SM_SUM_BLOCK);
    return s + FNN(sm_exp_block)(y + i, x + i, m, n - i);
}

/* sum of a[i] (b == NULL) or of a[i] * b[i] for i < len <= FNN_SM_SUM_BLOCK */
FNN_INLINE real FNN(sm_sum_block)(const real *restrict a, const real *restrict b, int64_t len)
{
    real acc = 0;
    if (b) {
        #pragma omp simd reduction(+:acc)
        for (int64_t i = 0; i < len; i++)
            acc += a[i] * b[i];
    } else {
        #pragma omp simd reduction(+:acc)
        for (int64_t i = 0; i < len; i++)
            acc += a[i];
    }
    return acc;
}

/* sum of a[0..n) (b == NULL) or of a[i] * b[i] (block sums in double) */
FNN_INLINE double FNN(sm_row_sum)(const real *restrict a, const real *restrict b, int64_t n)
{
    double s = 0;
    int64_t i = 0;
    for (; i + FNN_SM_SUM_BLOCK <= n; i += FNN_SM_SUM_BLOCK)
        s += FNN(sm_sum_block)(a + i, b ? b + i : NULL, FNN_SM_SUM_BLOCK);
    return s + FNN(sm_sum_block)(a + i, b ? b + i : NULL, n - i);
}

/* Rows [r0, r1) of (rows, n): forward (log = 0 softmax, 1 log-softmax). */
FNN_HOT static void FNN(sm_rows_fwd)(real *restrict y, const real *restrict x,
                                     int64_t r0, int64_t r1, int64_t n, int is_log)
{
    for (int64_t r = r0; r < r1; r++) {
        const real *restrict xr = x + r * n;
        real *restrict yr = y + r * n;
        real m = FNN(sm_row_max)(xr, n);
        double s = FNN(sm_row_exp_sum)(yr, xr, m, n);
        if (is_log) {
            real shift = m + (real)fnn_log((real)s);
            for (int64_t i = 0; i < n; i++)
                yr[i] = xr[i] - shift;
        } else {
            real inv = (real)(1.0 / s);
            for (int64_t i = 0; i < n; i++)
                yr[i] *= inv;
        }
    }
}

/* Rows [r0, r1): backward (log = 0: dx = y (dy - <dy, y>); log = 1: dx = dy - e^y sum(dy)). */
FNN_HOT static void FNN(sm_rows_bwd)(real *restrict dx, const real *restrict dy,
                                     const real *restrict y, int64_t r0, int64_t r1, int64_t n,
                                     int is_log)
{
    for (int64_t r = r0; r < r1; r++) {
        const real *restrict dyr = dy + r * n, *restrict yr = y + r * n;
        real *restrict dxr = dx + r * n;
        if (is_log) {
            /* y <= 0 (log-probabilities): the cheaper exp, whose flushed subnormals do not matter */
            real s = (real)FNN(sm_row_sum)(dyr, NULL, n);
            for (int64_t i = 0; i < n; i++)
                dxr[i] = dyr[i] - FNN(fnn_vexp_flush)(yr[i]) * s;
        } else {
            real dot = (real)FNN(sm_row_sum)(dyr, yr, n);
            for (int64_t i = 0; i < n; i++)
                dxr[i] = yr[i] * (dyr[i] - dot);
        }
    }
}

/* ---- column-block helpers (inner > 1) ------------------------------------------------------ */

/* Units [u0, u1) of (outer x column blocks): forward. */
FNN_HOT static void FNN(sm_cols_fwd)(real *restrict y, const real *restrict x, int64_t u0,
                                     int64_t u1, int64_t n, int64_t inner, int is_log)
{
    int64_t nblk = (inner + FNN_SM_BLOCK - 1) / FNN_SM_BLOCK;
    real m[FNN_SM_BLOCK], shift[FNN_SM_BLOCK];
    double s[FNN_SM_BLOCK];
    for (int64_t u = u0; u < u1; u++) {
        int64_t o = u / nblk, j0 = (u % nblk) * FNN_SM_BLOCK;
        int64_t w = inner - j0 < FNN_SM_BLOCK ? inner - j0 : FNN_SM_BLOCK;
        const real *restrict xs = x + o * n * inner + j0;
        real *restrict ys = y + o * n * inner + j0;
        for (int64_t j = 0; j < w; j++) {
            m[j] = xs[j];
            s[j] = 0;
        }
        for (int64_t i = 1; i < n; i++) {
            const real *restrict xr = xs + i * inner;
            for (int64_t j = 0; j < w; j++)
                m[j] = xr[j] > m[j] ? xr[j] : m[j];
        }
        for (int64_t i = 0; i < n; i++) {
            const real *restrict xr = xs + i * inner;
            real *restrict yr = ys + i * inner;
            for (int64_t j = 0; j < w; j++) {
                real e = FNN(fnn_vexp_flush)(xr[j] - m[j]);
                yr[j] = e;
                s[j] += e;
            }
        }
        if (is_log) {
            for (int64_t j = 0; j < w; j++)
                shift[j] = m[j] + (real)fnn_log((real)s[j]);
            for (int64_t i = 0; i < n; i++) {
                const real *restrict xr = xs + i * inner;
                real *restrict yr = ys + i * inner;
                for (int64_t j = 0; j < w; j++)
                    yr[j] = xr[j] - shift[j];
            }
        } else {
            for (int64_t j = 0; j < w; j++)
                shift[j] = (real)(1.0 / s[j]);      /* the reciprocal of the sum */
            for (int64_t i = 0; i < n; i++) {
                real *restrict yr = ys + i * inner;
                for (int64_t j = 0; j < w; j++)
                    yr[j] *= shift[j];
            }
        }
    }
}

/* Units [u0, u1): backward. */
FNN_HOT static void FNN(sm_cols_bwd)(real *restrict dx, const real *restrict dy,
                                     const real *restrict y, int64_t u0, int64_t u1, int64_t n,
                                     int64_t inner, int is_log)
{
    int64_t nblk = (inner + FNN_SM_BLOCK - 1) / FNN_SM_BLOCK;
    double s[FNN_SM_BLOCK];
    real sr[FNN_SM_BLOCK];
    for (int64_t u = u0; u < u1; u++) {
        int64_t o = u / nblk, j0 = (u % nblk) * FNN_SM_BLOCK;
        int64_t w = inner - j0 < FNN_SM_BLOCK ? inner - j0 : FNN_SM_BLOCK;
        int64_t off = o * n * inner + j0;
        for (int64_t j = 0; j < w; j++)
            s[j] = 0;
        for (int64_t i = 0; i < n; i++) {
            const real *restrict dyr = dy + off + i * inner, *restrict yr = y + off + i * inner;
            if (is_log)
                for (int64_t j = 0; j < w; j++)
                    s[j] += dyr[j];
            else
                for (int64_t j = 0; j < w; j++)
                    s[j] += (double)dyr[j] * yr[j];
        }
        for (int64_t j = 0; j < w; j++)
            sr[j] = (real)s[j];
        for (int64_t i = 0; i < n; i++) {
            const real *restrict dyr = dy + off + i * inner, *restrict yr = y + off + i * inner;
            real *restrict dxr = dx + off + i * inner;
            if (is_log)
                for (int64_t j = 0; j < w; j++)
                    dxr[j] = dyr[j] - FNN(fnn_vexp_flush)(yr[j]) * sr[j];
            else
                for (int64_t j = 0; j < w; j++)
                    dxr[j] = yr[j] * (dyr[j] - sr[j]);
        }
    }
}

/* ---- drivers --------------------------------------------------------------------------------- */

/* Units [u0, u1): rows (inner == 1) or column blocks, forward or backward. */
static void FNN(sm_units)(real *out, const real *a, const real *b, int64_t u0, int64_t u1,
                          int64_t n, int64_t inner, int is_log, int backward)
{
    if (inner == 1) {
        if (backward)
            FNN(sm_rows_bwd)(out, a, b, u0, u1, n, is_log);
        else
            FNN(sm_rows_fwd)(out, a, u0, u1, n, is_log);
    } else {
        if (backward)
            FNN(sm_cols_bwd)(out, a, b, u0, u1, n, inner, is_log);
        else
            FNN(sm_cols_fwd)(out, a, u0, u1, n, inner, is_log);
    }
}

/* Split the units [0, units) statically across nt threads. Small work runs directly on the
 * calling thread: even a parallel region with if(0) costs a noticeable part of a tiny call. */
static void FNN(sm_run)(real *out, const real *a, const real *b, int64_t outer, int64_t n,
                        int64_t inner, int is_log, int backward)
{
    if (outer == 0 || n == 0 || inner == 0)
        return;
    int64_t units = inner == 1 ? outer : outer * ((inner + FNN_SM_BLOCK - 1) / FNN_SM_BLOCK);
    int nt = fnn_threads_for(outer * n * inner, FNN_SM_GRAIN);
    if (nt > units)
        nt = (int)units;
    if (nt <= 1) {
        FNN(sm_units)(out, a, b, 0, units, n, inner, is_log, backward);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int t = 0, T = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        T = omp_get_num_threads();
#endif
        FNN(sm_units)(out, a, b, units * t / T, units * (t + 1) / T, n, inner, is_log, backward);
    }
}

void FNN(fnn_softmax_fwd)(real *y, const real *x, int64_t outer, int64_t n, int64_t inner)
{
    FNN(sm_run)(y, x, NULL, outer, n, inner, 0, 0);
}

void FNN(fnn_log_softmax_fwd)(real *y, const real *x, int64_t outer, int64_t n, int64_t inner)
{
    FNN(sm_run)(y, x, NULL, outer, n, inner, 1, 0);
}

void FNN(fnn_softmax_bwd)(real *dx, const real *dy, const real *y,
                          int64_t outer, int64_t n, int64_t inner)
{
    FNN(sm_run)(dx, dy, y, outer, n, inner, 0, 1);
}

void FNN(fnn_log_softmax_bwd)(real *dx, const real *dy, const real *y,
                              int64_t outer, int64_t n, int64_t inner)
{
    FNN(sm_run)(dx, dy, y, outer, n, inner, 1, 1);
}

#endif
