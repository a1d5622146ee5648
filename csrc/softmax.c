/* softmax.c: softmax / log-softmax over the middle axis of (outer, n, inner), and gradients.
 *
 * Contiguous rows (inner == 1), per row: the max (several independent lanes, so that gcc
 * vectorises it), exp(x - max) written to y by mathfn.h's vectorised exp, its sum (short blocks
 * in float, the block sums in double), then one scaling pass while the row is still in L1.
 * Strided rows (inner > 1): blocks of up to FNN_SM_BLOCK neighbouring columns are processed
 * together, sweeping the n rows of the block; the per-column max and sum live in small arrays,
 * and every loop runs along the contiguous inner axis, so it vectorises too.
 * Threads split the independent units (rows, or column blocks) statically; sums are in double.
 * When there are fewer rows than threads and a row has at least two FNN_SM_CHUNK chunks, each row
 * is split across the threads instead (sm_row_split), with the same summation order, so the
 * result never depends on the thread count. Small inputs never enter an OpenMP region. */
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
/* A row's sums are grouped in chunks of this many elements (a multiple of FNN_SM_SUM_BLOCK); a
 * row of at least two chunks, when there are fewer rows than threads, is split across threads
 * at chunk boundaries (sm_row_split). */
#define FNN_SM_CHUNK 65536

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

/* y = exp(x - m) over a chunk of len <= FNN_SM_CHUNK, returns its sum (block sums in double) */
FNN_INLINE double FNN(sm_chunk_exp_sum)(real *restrict y, const real *restrict x, real m,
                                        int64_t len)
{
    double s = 0;
    int64_t i = 0;
    for (; i + FNN_SM_SUM_BLOCK <= len; i += FNN_SM_SUM_BLOCK)
        s += FNN(sm_exp_block)(y + i, x + i, m, FNN_SM_SUM_BLOCK);
    return s + FNN(sm_exp_block)(y + i, x + i, m, len - i);
}

/* y = exp(x - m) over a row of n, returns its sum: chunk sums added in chunk order, the same
 * grouping as the thread-split path of sm_row_split, so results never depend on thread counts */
FNN_INLINE double FNN(sm_row_exp_sum)(real *restrict y, const real *restrict x, real m, int64_t n)
{
    double s = 0;
    for (int64_t c = 0; c < n; c += FNN_SM_CHUNK)
        s += FNN(sm_chunk_exp_sum)(y + c, x + c, m, n - c < FNN_SM_CHUNK ? n - c : FNN_SM_CHUNK);
    return s;
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

/* sum of a[0..len) (b == NULL) or of a[i] * b[i], len <= FNN_SM_CHUNK (block sums in double) */
FNN_INLINE double FNN(sm_chunk_sum)(const real *restrict a, const real *restrict b, int64_t len)
{
    double s = 0;
    int64_t i = 0;
    for (; i + FNN_SM_SUM_BLOCK <= len; i += FNN_SM_SUM_BLOCK)
        s += FNN(sm_sum_block)(a + i, b ? b + i : NULL, FNN_SM_SUM_BLOCK);
    return s + FNN(sm_sum_block)(a + i, b ? b + i : NULL, len - i);
}

/* the same over a row of n (chunk sums in chunk order, as sm_row_exp_sum) */
FNN_INLINE double FNN(sm_row_sum)(const real *restrict a, const real *restrict b, int64_t n)
{
    double s = 0;
    for (int64_t c = 0; c < n; c += FNN_SM_CHUNK) {
        int64_t len = n - c < FNN_SM_CHUNK ? n - c : FNN_SM_CHUNK;
        s += FNN(sm_chunk_sum)(a + c, b ? b + c : NULL, len);
    }
    return s;
}

/* forward's last pass: y = x - v (log-softmax, v = max + log sum) or y *= v (v = 1 / sum) */
FNN_INLINE void FNN(sm_fwd_apply)(real *restrict y, const real *restrict x, int64_t n, int is_log,
                                  real v)
{
    if (is_log)
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] - v;
    else
        for (int64_t i = 0; i < n; i++)
            y[i] *= v;
}

/* backward's last pass, from v = sum(dy) (log) or sum(dy * y) */
FNN_INLINE void FNN(sm_bwd_apply)(real *restrict dx, const real *restrict dy,
                                  const real *restrict y, int64_t n, int is_log, real v)
{
    /* y <= 0 for log-softmax (log-probabilities): the cheaper exp, whose flushed subnormals do
     * not matter */
    if (is_log)
        for (int64_t i = 0; i < n; i++)
            dx[i] = dy[i] - FNN(fnn_vexp_flush)(y[i]) * v;
    else
        for (int64_t i = 0; i < n; i++)
            dx[i] = y[i] * (dy[i] - v);
}

/* the scalar between the reductions and the last pass */
FNN_INLINE real FNN(sm_fwd_scalar)(real m, double s, int is_log)
{
    return is_log ? m + (real)fnn_log((real)s) : (real)(1.0 / s);
}

/* Rows [r0, r1) of (rows, n): forward (log = 0 softmax, 1 log-softmax). */
FNN_HOT static void FNN(sm_rows_fwd)(real *restrict y, const real *restrict x,
                                     int64_t r0, int64_t r1, int64_t n, int is_log)
{
    for (int64_t r = r0; r < r1; r++) {
        const real *restrict xr = x + r * n;
        real *restrict yr = y + r * n;
        if (r + 1 < r1)
            fnn_prefetch_row(xr + n, n * (int64_t)sizeof(real));
        real m = FNN(sm_row_max)(xr, n);
        double s = FNN(sm_row_exp_sum)(yr, xr, m, n);
        FNN(sm_fwd_apply)(yr, xr, n, is_log, FNN(sm_fwd_scalar)(m, s, is_log));
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
        real v = (real)FNN(sm_row_sum)(dyr, is_log ? NULL : yr, n);
        FNN(sm_bwd_apply)(dxr, dyr, yr, n, is_log, v);
    }
}

/* ---- one long row split across threads (inner == 1, fewer rows than threads) --------------- */

/* One chunk [c, c + len) of a row, for sm_row_split. phase 0: *m = max; 1: y = exp(x - v),
 * *s = its sum; 2: the forward's last pass with v; 3: *s = sum(dy) or sum(dy * y); 4: the
 * backward's last pass with v. (out, a, b) = (y, x, -) forward, (dx, dy, y) backward. */
FNN_HOT static void FNN(sm_chunk_phase)(int phase, real *out, const real *a, const real *b,
                                        int64_t len, int is_log, real v, real *m, double *s)
{
    switch (phase) {
    case 0: *m = FNN(sm_row_max)(a, len); break;
    case 1: *s = FNN(sm_chunk_exp_sum)(out, a, v, len); break;
    case 2: FNN(sm_fwd_apply)(out, a, len, is_log, v); break;
    case 3: *s = FNN(sm_chunk_sum)(a, is_log ? NULL : b, len); break;
    default: FNN(sm_bwd_apply)(out, a, b, len, is_log, v); break;
    }
}

/* One row of n split into FNN_SM_CHUNK chunks shared by nt threads: per-chunk maxima and sums
 * go to small arrays and are combined in chunk order by every thread (so the result is the one
 * the serial path gives), with OpenMP barriers between the passes. Returns -1 when the small
 * arrays cannot be allocated (the caller then runs the row serially). */
static int FNN(sm_row_split)(real *out, const real *a, const real *b, int64_t n, int is_log,
                             int backward, int nt)
{
    int64_t nch = (n + FNN_SM_CHUNK - 1) / FNN_SM_CHUNK;
    real *cm = malloc((size_t)nch * sizeof *cm);
    double *cs = malloc((size_t)nch * sizeof *cs);
    if (!cm || !cs) {
        free(cm);
        free(cs);
        return -1;
    }
    if (nt > nch)
        nt = (int)nch;
    #pragma omp parallel num_threads(nt)
    {
        real v = 0;
        if (!backward) {
            #pragma omp for schedule(static)
            for (int64_t c = 0; c < nch; c++)
                FNN(sm_chunk_phase)(0, out + c * FNN_SM_CHUNK, a + c * FNN_SM_CHUNK, NULL,
                                    c == nch - 1 ? n - c * FNN_SM_CHUNK : FNN_SM_CHUNK, is_log,
                                    0, &cm[c], NULL);
            real m = cm[0];
            for (int64_t c = 1; c < nch; c++)
                m = cm[c] > m ? cm[c] : m;
            #pragma omp for schedule(static)
            for (int64_t c = 0; c < nch; c++)
                FNN(sm_chunk_phase)(1, out + c * FNN_SM_CHUNK, a + c * FNN_SM_CHUNK, NULL,
                                    c == nch - 1 ? n - c * FNN_SM_CHUNK : FNN_SM_CHUNK, is_log,
                                    m, NULL, &cs[c]);
            double s = 0;
            for (int64_t c = 0; c < nch; c++)
                s += cs[c];
            v = FNN(sm_fwd_scalar)(m, s, is_log);
        } else {
            #pragma omp for schedule(static)
            for (int64_t c = 0; c < nch; c++)
                FNN(sm_chunk_phase)(3, NULL, a + c * FNN_SM_CHUNK, b + c * FNN_SM_CHUNK,
                                    c == nch - 1 ? n - c * FNN_SM_CHUNK : FNN_SM_CHUNK, is_log,
                                    0, NULL, &cs[c]);
            double s = 0;
            for (int64_t c = 0; c < nch; c++)
                s += cs[c];
            v = (real)s;
        }
        #pragma omp for schedule(static)
        for (int64_t c = 0; c < nch; c++)
            FNN(sm_chunk_phase)(backward ? 4 : 2, out + c * FNN_SM_CHUNK, a + c * FNN_SM_CHUNK,
                                b ? b + c * FNN_SM_CHUNK : NULL,
                                c == nch - 1 ? n - c * FNN_SM_CHUNK : FNN_SM_CHUNK, is_log, v,
                                NULL, NULL);
    }
    free(cm);
    free(cs);
    return 0;
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
    if (inner == 1 && outer < nt && n >= 2 * FNN_SM_CHUNK) {   /* a few long rows */
        int64_t r = 0;
        for (; r < outer; r++)
            if (FNN(sm_row_split)(out + r * n, a + r * n, b ? b + r * n : NULL, n, is_log,
                                  backward, nt) != 0)
                break;
        if (r == outer)
            return;
        /* out of memory for the chunk arrays: the remaining rows serially */
        FNN(sm_units)(out + r * n, a + r * n, b ? b + r * n : NULL, 0, outer - r, n, inner,
                      is_log, backward);
        return;
    }
    if (nt > units)
        nt = (int)units;
    if (nt <= 1) {
        FNN(sm_units)(out, a, b, 0, units, n, inner, is_log, backward);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int64_t lo, hi;
        fnn_thread_range(units, 1, &lo, &hi);
        FNN(sm_units)(out, a, b, lo, hi, n, inner, is_log, backward);
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
