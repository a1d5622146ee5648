/* norm.c: batch norm and layer norm, forward and backward.
 *
 * Batch norm sees x as (n, c, l): channel k's values are n blocks of l contiguous elements, one
 * block every c*l elements. Threads own whole channels, so the statistics, the running-stat
 * update and the channel sums of the backward pass never race. Two paths:
 *   l > 1 (images, sequences): channel by channel; a channel's blocks are small enough to stay
 *     in cache across the three passes (sum, squared deviations, output).
 *   l == 1 ((N, C) input): a channel is a strided column, so threads own ranges of columns and
 *     sweep the rows in chunks of FNN_NORM_CB columns with the accumulators on the stack.
 * Layer norm sees x as (rows, d): threads own rows; the backward's dgamma/dbeta (sums over rows)
 * go into per-thread double partials that are added at the end.
 *
 * All statistics are double, two-pass (mean first, then squared deviations from it); the
 * elementwise passes run in the array's precision as y = (x - mean) * scale + shift, which keeps
 * the subtraction before the scaling (no cancellation when |mean| >> std). The mean is split
 * into a float head and tail, x - mh - ml, so that rounding the double mean to float32 does not
 * shift the whole channel by up to half an ulp of the mean (visible when |mean| >> std).
 */
#ifndef FNN_GENERIC
#include "fastnn.h"

/* On the eight-lane inner loops of the reductions: they are elementwise over the lanes (each lane
 * its own accumulator), so vectorising them reorders nothing. */
#ifdef _OPENMP
#define FNN_NORM_SIMD _Pragma("omp simd")
#else
#define FNN_NORM_SIMD
#endif

/* The reduction helpers must be inlined into each FNN_HOT clone: an out-of-line copy would be
 * compiled for the baseline target only (no AVX2), whichever clone calls it. */
#if defined(__GNUC__)
#define FNN_NORM_INLINE static inline __attribute__((always_inline))
#else
#define FNN_NORM_INLINE static inline
#endif
/* Independent double accumulators per reduction (4 AVX2 registers). */
#define FNN_NORM_LANES 16
/* Elements per thread worth forking for. */
#define FNN_NORM_GRAIN 32768
/* Columns per chunk in the (N, C) batch-norm path (stack accumulators). */
#define FNN_NORM_CB 64

/* Threads worth forking for `work` elements, at most one per unit (channel or row), at least 1. */
static inline int fnn_norm_threads(int64_t work, int64_t units)
{
    int nt = fnn_threads_for(work, FNN_NORM_GRAIN);
    if (nt > units)
        nt = units > 0 ? (int)units : 1;
    return nt;
}

/* Run `body` over [0, total) split into contiguous parts, one per thread: `body` sees the
 * thread number t and its part [lo, hi) (fnn_thread_range). On `nt` OpenMP threads (a variable of
 * that name at the call site), or, when nt is 1, in the calling thread with t = 0 and the whole
 * range: no parallel region at all, as entering one costs more than small work. */
#define FNN_NORM_SPLIT(total, body)                                                    \
    do {                                                                               \
        if (nt <= 1) {                                                                 \
            int t = 0;                                                                 \
            int64_t lo = 0, hi = (total);                                              \
            (void)t;                                                                   \
            body;                                                                      \
        } else {                                                                       \
            _Pragma("omp parallel num_threads(nt)")                                    \
            {                                                                          \
                const int t = fnn_thread_id();                                         \
                int64_t lo, hi;                                                        \
                (void)t;                                                               \
                fnn_thread_range((total), 1, &lo, &hi);                                \
                body;                                                                  \
            }                                                                          \
        }                                                                              \
    } while (0)

#define FNN_GENERIC "norm.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

/* ---- reductions in double, FNN_NORM_LANES independent accumulators (so the compiler can keep
 *      them in several vector registers without reassociating anything it was not told to) ---- */

/* sum of the lanes, pairwise (16 -> 8 -> 4 -> 2 -> 1); overwrites acc */
FNN_NORM_INLINE double FNN(norm_fold)(double *acc)
{
    for (int w = FNN_NORM_LANES / 2; w >= 1; w /= 2)
        for (int k = 0; k < w; k++)
            acc[k] += acc[k + w];
    return acc[0];
}

FNN_NORM_INLINE double FNN(norm_sum)(const real *x, int64_t n)
{
    double acc[FNN_NORM_LANES] = {0};
    int64_t i = 0;
    for (; i + FNN_NORM_LANES <= n; i += FNN_NORM_LANES)
        FNN_NORM_SIMD
        for (int k = 0; k < FNN_NORM_LANES; k++)
            acc[k] += (double)x[i + k];
    for (int k = 0; i < n; i++, k++)
        acc[k] += (double)x[i];
    return FNN(norm_fold)(acc);
}

/* sum of (x - mean)^2 */
FNN_NORM_INLINE double FNN(norm_sqdev)(const real *x, int64_t n, double mean)
{
    double acc[FNN_NORM_LANES] = {0};
    int64_t i = 0;
    for (; i + FNN_NORM_LANES <= n; i += FNN_NORM_LANES)
        FNN_NORM_SIMD
        for (int k = 0; k < FNN_NORM_LANES; k++) {
            double v = (double)x[i + k] - mean;
            acc[k] += v * v;
        }
    for (int k = 0; i < n; i++, k++) {
        double v = (double)x[i] - mean;
        acc[k] += v * v;
    }
    return FNN(norm_fold)(acc);
}

/* s[0] += sum of dy, s[1] += sum of dy * (x - mean) */
FNN_NORM_INLINE void FNN(norm_dysums)(double *s, const real *dy, const real *x, int64_t n, double mean)
{
    double a[FNN_NORM_LANES] = {0}, b[FNN_NORM_LANES] = {0};
    int64_t i = 0;
    for (; i + FNN_NORM_LANES <= n; i += FNN_NORM_LANES)
        FNN_NORM_SIMD
        for (int k = 0; k < FNN_NORM_LANES; k++) {
            double g = (double)dy[i + k];
            a[k] += g;
            b[k] += g * ((double)x[i + k] - mean);
        }
    for (int k = 0; i < n; i++, k++) {
        double g = (double)dy[i];
        a[k] += g;
        b[k] += g * ((double)x[i] - mean);
    }
    s[0] += FNN(norm_fold)(a);
    s[1] += FNN(norm_fold)(b);
}

/* the same with dy weighted by w: s[0] += sum of dy*w, s[1] += sum of dy*w * (x - mean) */
FNN_NORM_INLINE void FNN(norm_dysums_w)(double *s, const real *dy, const real *w, const real *x,
                                      int64_t n, double mean)
{
    double a[FNN_NORM_LANES] = {0}, b[FNN_NORM_LANES] = {0};
    int64_t i = 0;
    for (; i + FNN_NORM_LANES <= n; i += FNN_NORM_LANES)
        FNN_NORM_SIMD
        for (int k = 0; k < FNN_NORM_LANES; k++) {
            double g = (double)dy[i + k] * (double)w[i + k];
            a[k] += g;
            b[k] += g * ((double)x[i + k] - mean);
        }
    for (int k = 0; i < n; i++, k++) {
        double g = (double)dy[i] * (double)w[i];
        a[k] += g;
        b[k] += g * ((double)x[i] - mean);
    }
    s[0] += FNN(norm_fold)(a);
    s[1] += FNN(norm_fold)(b);
}

/* ---------------------------------------------------------------------------------------------
 * batch norm
 * ------------------------------------------------------------------------------------------- */

/* mean and invstd of channel k (batch statistics given sum of x and of squared deviations over
 * m values, or the running statistics), the running update, and save_mean/save_invstd */
static inline void FNN(bn_stats_from_running)(double *mean, double *invstd, const real *rm,
                                              const real *rv, int64_t k, double eps)
{
    *mean = (double)rm[k];
    *invstd = 1.0 / sqrt((double)rv[k] + eps);
}

static inline void FNN(bn_update_running)(real *rm, real *rv, int64_t k, double mean, double var,
                                          int64_t m, double momentum)
{
    if (rm == NULL)
        return;
    double unbiased = var * ((double)m / (double)(m - 1));
    rm[k] = (real)((1 - momentum) * (double)rm[k] + momentum * mean);
    rv[k] = (real)((1 - momentum) * (double)rv[k] + momentum * unbiased);
}

/* channel k of x (n, c, l), l != 1 */
FNN_HOT static void FNN(bn_fwd_channel)(real *y, double *save_mean, double *save_invstd,
                                        real *rm, real *rv, const real *x, const real *gamma,
                                        const real *beta, int64_t n, int64_t c, int64_t l,
                                        int64_t k, int batch_stats, double momentum, double eps)
{
    double mean, invstd;
    if (batch_stats) {
        int64_t m = n * l;
        if (m == 0) {
            save_mean[k] = save_invstd[k] = 0;
            return;
        }
        double s = 0;
        for (int64_t i = 0; i < n; i++)
            s += FNN(norm_sum)(x + (i * c + k) * l, l);
        mean = s / (double)m;
        double q = 0;
        for (int64_t i = 0; i < n; i++)
            q += FNN(norm_sqdev)(x + (i * c + k) * l, l, mean);
        double var = q / (double)m;
        invstd = 1.0 / sqrt(var + eps);
        FNN(bn_update_running)(rm, rv, k, mean, var, m, momentum);
    } else {
        FNN(bn_stats_from_running)(&mean, &invstd, rm, rv, k, eps);
    }
    save_mean[k] = mean;
    save_invstd[k] = invstd;
    const real mh = (real)mean, ml = (real)(mean - (double)mh);
    const real a = (real)((gamma ? (double)gamma[k] : 1.0) * invstd);
    const real b = beta ? beta[k] : (real)0;
    for (int64_t i = 0; i < n; i++) {
        const real *xb = x + (i * c + k) * l;
        real *yb = y + (i * c + k) * l;
        for (int64_t j = 0; j < l; j++)
            yb[j] = (xb[j] - mh - ml) * a + b;
    }
}

/* channels [k0, k1) of x (n, c) */
FNN_HOT static void FNN(bn_fwd_cols)(real *y, double *save_mean, double *save_invstd,
                                     real *rm, real *rv, const real *x, const real *gamma,
                                     const real *beta, int64_t n, int64_t c, int64_t k0, int64_t k1,
                                     int batch_stats, double momentum, double eps)
{
    double acc[FNN_NORM_CB], mean[FNN_NORM_CB];
    real mh[FNN_NORM_CB], ml[FNN_NORM_CB], a[FNN_NORM_CB], b[FNN_NORM_CB];
    for (int64_t kb = k0; kb < k1; kb += FNN_NORM_CB) {
        int64_t w = k1 - kb < FNN_NORM_CB ? k1 - kb : FNN_NORM_CB;
        if (batch_stats) {
            if (n == 0) {
                for (int64_t j = 0; j < w; j++)
                    save_mean[kb + j] = save_invstd[kb + j] = 0;
                continue;
            }
            for (int64_t j = 0; j < w; j++)
                acc[j] = 0;
            for (int64_t i = 0; i < n; i++) {
                const real *row = x + i * c + kb;
                for (int64_t j = 0; j < w; j++)
                    acc[j] += (double)row[j];
            }
            for (int64_t j = 0; j < w; j++) {
                mean[j] = acc[j] / (double)n;
                acc[j] = 0;
            }
            for (int64_t i = 0; i < n; i++) {
                const real *row = x + i * c + kb;
                for (int64_t j = 0; j < w; j++) {
                    double v = (double)row[j] - mean[j];
                    acc[j] += v * v;
                }
            }
            for (int64_t j = 0; j < w; j++) {
                double var = acc[j] / (double)n;
                save_mean[kb + j] = mean[j];
                save_invstd[kb + j] = 1.0 / sqrt(var + eps);
                FNN(bn_update_running)(rm, rv, kb + j, mean[j], var, n, momentum);
            }
        } else {
            for (int64_t j = 0; j < w; j++)
                FNN(bn_stats_from_running)(save_mean + kb + j, save_invstd + kb + j, rm, rv, kb + j, eps);
        }
        for (int64_t j = 0; j < w; j++) {
            mh[j] = (real)save_mean[kb + j];
            ml[j] = (real)(save_mean[kb + j] - (double)mh[j]);
            a[j] = (real)((gamma ? (double)gamma[kb + j] : 1.0) * save_invstd[kb + j]);
            b[j] = beta ? beta[kb + j] : (real)0;
        }
        for (int64_t i = 0; i < n; i++) {
            const real *row = x + i * c + kb;
            real *yrow = y + i * c + kb;
            for (int64_t j = 0; j < w; j++)
                yrow[j] = (row[j] - mh[j] - ml[j]) * a[j] + b[j];
        }
    }
}

/* channels [k0, k1) */
static void FNN(bn_fwd_range)(real *y, double *save_mean, double *save_invstd, real *rm, real *rv,
                              const real *x, const real *gamma, const real *beta, int64_t n,
                              int64_t c, int64_t l, int64_t k0, int64_t k1, int batch_stats,
                              double momentum, double eps)
{
    if (l == 1) {
        FNN(bn_fwd_cols)(y, save_mean, save_invstd, rm, rv, x, gamma, beta, n, c, k0, k1,
                         batch_stats, momentum, eps);
        return;
    }
    for (int64_t k = k0; k < k1; k++)
        FNN(bn_fwd_channel)(y, save_mean, save_invstd, rm, rv, x, gamma, beta, n, c, l, k,
                            batch_stats, momentum, eps);
}

void FNN(fnn_batch_norm_fwd)(real *y, double *save_mean, double *save_invstd,
                             real *running_mean, real *running_var,
                             const real *x, const real *gamma, const real *beta,
                             int64_t n, int64_t c, int64_t l,
                             int batch_stats, double momentum, double eps)
{
    int nt = fnn_norm_threads(n * c * l, c);
    FNN_NORM_SPLIT(c, FNN(bn_fwd_range)(y, save_mean, save_invstd, running_mean, running_var, x,
                                        gamma, beta, n, c, l, lo, hi, batch_stats, momentum, eps));
}

/* Backward of channel k. With g = gamma[k], s = invstd, m = n*l, xc = x - mean:
 *   dbeta = sum dy,  dgamma = s * sum dy*xc,
 *   batch statistics: dx = g*s*dy - g*s^3 * (sum dy*xc)/m * xc - g*s * (sum dy)/m
 *   running statistics: dx = g*s*dy. */
FNN_HOT static void FNN(bn_bwd_channel)(real *dx, real *dgamma, real *dbeta, const real *dy,
                                        const real *x, const real *gamma, const double *save_mean,
                                        const double *save_invstd, int64_t n, int64_t c, int64_t l,
                                        int64_t k, int batch_stats)
{
    const double mean = save_mean[k], s = save_invstd[k];
    const double g = gamma ? (double)gamma[k] : 1.0;
    double sums[2] = {0, 0};
    if (batch_stats || dgamma || dbeta)
        for (int64_t i = 0; i < n; i++)
            FNN(norm_dysums)(sums, dy + (i * c + k) * l, x + (i * c + k) * l, l, mean);
    if (dgamma)
        dgamma[k] = (real)(sums[1] * s);
    if (dbeta)
        dbeta[k] = (real)sums[0];
    const real A = (real)(g * s);
    if (batch_stats) {
        int64_t m = n * l;
        if (m == 0)
            return;
        const real B = (real)(-g * s * s * s * sums[1] / (double)m);
        const real C0 = (real)(-g * s * sums[0] / (double)m);
        const real mh = (real)mean, ml = (real)(mean - (double)mh);
        for (int64_t i = 0; i < n; i++) {
            const real *xb = x + (i * c + k) * l, *gb = dy + (i * c + k) * l;
            real *db = dx + (i * c + k) * l;
            for (int64_t j = 0; j < l; j++)
                db[j] = A * gb[j] + B * (xb[j] - mh - ml) + C0;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            const real *gb = dy + (i * c + k) * l;
            real *db = dx + (i * c + k) * l;
            for (int64_t j = 0; j < l; j++)
                db[j] = A * gb[j];
        }
    }
}

/* the same for channels [k0, k1) of (n, c) input */
FNN_HOT static void FNN(bn_bwd_cols)(real *dx, real *dgamma, real *dbeta, const real *dy,
                                     const real *x, const real *gamma, const double *save_mean,
                                     const double *save_invstd, int64_t n, int64_t c,
                                     int64_t k0, int64_t k1, int batch_stats)
{
    double s0[FNN_NORM_CB], s1[FNN_NORM_CB], mean[FNN_NORM_CB];
    real mh[FNN_NORM_CB], ml[FNN_NORM_CB], A[FNN_NORM_CB], B[FNN_NORM_CB], C0[FNN_NORM_CB];
    for (int64_t kb = k0; kb < k1; kb += FNN_NORM_CB) {
        int64_t w = k1 - kb < FNN_NORM_CB ? k1 - kb : FNN_NORM_CB;
        for (int64_t j = 0; j < w; j++) {
            s0[j] = s1[j] = 0;
            mean[j] = save_mean[kb + j];
        }
        if (batch_stats || dgamma || dbeta)
            for (int64_t i = 0; i < n; i++) {
                const real *xr = x + i * c + kb, *gr = dy + i * c + kb;
                for (int64_t j = 0; j < w; j++) {
                    double g = (double)gr[j];
                    s0[j] += g;
                    s1[j] += g * ((double)xr[j] - mean[j]);
                }
            }
        for (int64_t j = 0; j < w; j++) {
            double s = save_invstd[kb + j], g = gamma ? (double)gamma[kb + j] : 1.0;
            if (dgamma)
                dgamma[kb + j] = (real)(s1[j] * s);
            if (dbeta)
                dbeta[kb + j] = (real)s0[j];
            A[j] = (real)(g * s);
            B[j] = batch_stats && n > 0 ? (real)(-g * s * s * s * s1[j] / (double)n) : (real)0;
            C0[j] = batch_stats && n > 0 ? (real)(-g * s * s0[j] / (double)n) : (real)0;
            mh[j] = (real)mean[j];
            ml[j] = (real)(mean[j] - (double)mh[j]);
        }
        if (batch_stats) {
            for (int64_t i = 0; i < n; i++) {
                const real *xr = x + i * c + kb, *gr = dy + i * c + kb;
                real *dr = dx + i * c + kb;
                for (int64_t j = 0; j < w; j++)
                    dr[j] = A[j] * gr[j] + B[j] * (xr[j] - mh[j] - ml[j]) + C0[j];
            }
        } else {
            for (int64_t i = 0; i < n; i++) {
                const real *gr = dy + i * c + kb;
                real *dr = dx + i * c + kb;
                for (int64_t j = 0; j < w; j++)
                    dr[j] = A[j] * gr[j];
            }
        }
    }
}

static void FNN(bn_bwd_range)(real *dx, real *dgamma, real *dbeta, const real *dy,
                              const real *x, const real *gamma, const double *save_mean,
                              const double *save_invstd, int64_t n, int64_t c, int64_t l,
                              int64_t k0, int64_t k1, int batch_stats)
{
    if (l == 1) {
        FNN(bn_bwd_cols)(dx, dgamma, dbeta, dy, x, gamma, save_mean, save_invstd, n, c, k0, k1,
                         batch_stats);
        return;
    }
    for (int64_t k = k0; k < k1; k++)
        FNN(bn_bwd_channel)(dx, dgamma, dbeta, dy, x, gamma, save_mean, save_invstd, n, c, l, k,
                            batch_stats);
}

void FNN(fnn_batch_norm_bwd)(real *dx, real *dgamma, real *dbeta,
                             const real *dy, const real *x, const real *gamma,
                             const double *save_mean, const double *save_invstd,
                             int64_t n, int64_t c, int64_t l, int batch_stats)
{
    int nt = fnn_norm_threads(n * c * l, c);
    FNN_NORM_SPLIT(c, FNN(bn_bwd_range)(dx, dgamma, dbeta, dy, x, gamma, save_mean, save_invstd,
                                        n, c, l, lo, hi, batch_stats));
}

/* ---------------------------------------------------------------------------------------------
 * layer norm
 * ------------------------------------------------------------------------------------------- */

FNN_HOT static void FNN(ln_fwd_rows)(real *y, double *save_mean, double *save_rstd,
                                     const real *x, const real *gamma, const real *beta,
                                     int64_t r0, int64_t r1, int64_t d, double eps)
{
    for (int64_t r = r0; r < r1; r++) {
        const real *xr = x + r * d;
        real *yr = y + r * d;
        if (r + 1 < r1)
            fnn_prefetch_row(xr + d, d * (int64_t)sizeof(real));
        double mean = d > 0 ? FNN(norm_sum)(xr, d) / (double)d : 0.0;
        double var = d > 0 ? FNN(norm_sqdev)(xr, d, mean) / (double)d : 0.0;
        double rstd = 1.0 / sqrt(var + eps);
        save_mean[r] = mean;
        save_rstd[r] = rstd;
        const real mh = (real)mean, ml = (real)(mean - (double)mh), a = (real)rstd;
        if (gamma && beta) {
            for (int64_t j = 0; j < d; j++)
                yr[j] = (xr[j] - mh - ml) * a * gamma[j] + beta[j];
        } else if (gamma) {
            for (int64_t j = 0; j < d; j++)
                yr[j] = (xr[j] - mh - ml) * a * gamma[j];
        } else if (beta) {
            for (int64_t j = 0; j < d; j++)
                yr[j] = (xr[j] - mh - ml) * a + beta[j];
        } else {
            for (int64_t j = 0; j < d; j++)
                yr[j] = (xr[j] - mh - ml) * a;
        }
    }
}

void FNN(fnn_layer_norm_fwd)(real *y, double *save_mean, double *save_rstd,
                             const real *x, const real *gamma, const real *beta,
                             int64_t rows, int64_t d, double eps)
{
    int nt = fnn_norm_threads(rows * d, rows);
    FNN_NORM_SPLIT(rows, FNN(ln_fwd_rows)(y, save_mean, save_rstd, x, gamma, beta, lo, hi, d, eps));
}

/* Rows [r0, r1). With xhat = (x - mean) * rstd and h = dy * gamma:
 *   dx = rstd * (h - mean(h) - xhat * mean(h * xhat)),
 * and, when pg/pb are not NULL, pg += dy * xhat, pb += dy (this thread's partial sums, double). */
FNN_HOT static void FNN(ln_bwd_rows)(real *dx, double *pg, double *pb, const real *dy,
                                     const real *x, const real *gamma, const double *save_mean,
                                     const double *save_rstd, int64_t r0, int64_t r1, int64_t d)
{
    for (int64_t r = r0; r < r1; r++) {
        const real *xr = x + r * d, *gr = dy + r * d;
        real *dr = dx + r * d;
        const double mean = save_mean[r], rstd = save_rstd[r];
        double sums[2] = {0, 0};
        if (gamma)
            FNN(norm_dysums_w)(sums, gr, gamma, xr, d, mean);
        else
            FNN(norm_dysums)(sums, gr, xr, d, mean);
        const double sh = sums[0], shx = sums[1] * rstd;
        const real mh = (real)mean, ml = (real)(mean - (double)mh), s = (real)rstd;
        const real c1 = d > 0 ? (real)(sh / (double)d) : (real)0;
        const real c2 = d > 0 ? (real)(shx / (double)d) : (real)0;
        int64_t j;
        if (gamma) {
            for (j = 0; j < d; j++)
                dr[j] = s * (gr[j] * gamma[j] - c1 - (xr[j] - mh - ml) * s * c2);
        } else {
            for (j = 0; j < d; j++)
                dr[j] = s * (gr[j] - c1 - (xr[j] - mh - ml) * s * c2);
        }
        if (pg)
            for (j = 0; j < d; j++)
                pg[j] += (double)gr[j] * (((double)xr[j] - mean) * rstd);
        if (pb)
            for (j = 0; j < d; j++)
                pb[j] += (double)gr[j];
    }
}

void FNN(fnn_layer_norm_bwd)(real *dx, real *dgamma, real *dbeta,
                             const real *dy, const real *x, const real *gamma,
                             const double *save_mean, const double *save_rstd,
                             int64_t rows, int64_t d)
{
    int nt = fnn_norm_threads(rows * d, rows);
    int want = dgamma != NULL || dbeta != NULL;
    double *part = NULL;
    if (want && d > 0)
        part = (double *)calloc((size_t)nt * 2 * (size_t)d, sizeof(double));
    /* thread t adds into its own partials part[t * 2d .. (t + 1) * 2d) */
    FNN_NORM_SPLIT(rows, double *pg = part ? part + (size_t)t * 2 * (size_t)d : NULL;
                   FNN(ln_bwd_rows)(dx, pg, pg ? pg + d : NULL, dy, x, gamma, save_mean, save_rstd,
                                    lo, hi, d));
    if (!want)
        return;
    if (part) {      /* add the per-thread partials */
        for (int64_t j = 0; j < d; j++) {
            double sg = 0, sb = 0;
            for (int t = 0; t < nt; t++) {
                sg += part[(size_t)t * 2 * (size_t)d + (size_t)j];
                sb += part[(size_t)t * 2 * (size_t)d + (size_t)d + (size_t)j];
            }
            if (dgamma)
                dgamma[j] = (real)sg;
            if (dbeta)
                dbeta[j] = (real)sb;
        }
        free(part);
    } else {         /* d == 0, or no memory for the partials: column by column */
        for (int64_t j = 0; j < d; j++) {
            double sg = 0, sb = 0;
            for (int64_t r = 0; r < rows; r++) {
                double g = (double)dy[r * d + j];
                sg += g * (((double)x[r * d + j] - save_mean[r]) * save_rstd[r]);
                sb += g;
            }
            if (dgamma)
                dgamma[j] = (real)sg;
            if (dbeta)
                dbeta[j] = (real)sb;
        }
    }
}

#endif
