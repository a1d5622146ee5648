/* pool.c: max pooling with argmax, average pooling, global average pooling (see pool.h).
 * Every kernel splits the N*C planes across OpenMP threads: planes never share memory, so
 * forward and backward (including the scatter of max-pool gradients) cannot race. */
#ifndef FNN_GENERIC
#include "fastnn.h"

/* input elements per thread worth forking for */
#define FNN_POOL_GRAIN 32768

/* the clipped window [*a, *b) of output position o along one axis */
static inline void fnn_pool_window(int64_t o, int64_t s, int64_t p, int64_t k, int64_t n,
                                   int64_t *a, int64_t *b)
{
    int64_t lo = o * s - p, hi = lo + k;
    *a = lo < 0 ? 0 : lo;
    *b = hi > n ? n : hi;
}

/* 1 when every window lies within the padded input (always, unless ceil_mode added a last,
 * partial window): the fast and tiled paths below assume whole windows. */
static inline int fnn_pool_whole_windows(const fnn_pool_geom *g)
{
    return (g->h_out - 1) * g->sh + g->kh <= g->h + 2 * g->ph &&
           (g->w_out - 1) * g->sw + g->kw <= g->w + 2 * g->pw;
}

/* The average's divisor with count_include_pad: the window's extent within the padded input
 * [-p, n + p), which is k except for a ceil_mode window hanging past its end (PyTorch's rule). */
static inline int64_t fnn_pool_padded_extent(int64_t o, int64_t s, int64_t p, int64_t k, int64_t n)
{
    int64_t lo = o * s - p, hi = lo + k;
    return (hi > n + p ? n + p : hi) - lo;
}

/* The average's divisor for output (oh, ow), whose clipped window is [h0, h1) x [w0, w1): the
 * padded window's area with count_include_pad, else the number of real pixels. */
static inline int64_t fnn_pool_divisor(const fnn_pool_geom *g, int64_t oh, int64_t ow,
                                       int64_t h0, int64_t h1, int64_t w0, int64_t w1,
                                       int count_include_pad)
{
    return count_include_pad
        ? fnn_pool_padded_extent(oh, g->sh, g->ph, g->kh, g->h) *
          fnn_pool_padded_extent(ow, g->sw, g->pw, g->kw, g->w)
        : (h1 - h0) * (w1 - w0);
}

#define FNN_GENERIC "pool.c"
#include "dtype.h"

#else  /* generic part, once per dtype */


/* n outputs of 2x2 / stride 2 windows whose top-left inputs are r0[2 k] (r1: the row below):
 * the first maximum in row-major order, a NaN wins (PyTorch's rule); base is the plane index of
 * r0[0], wi the plane width. Branch-free and `omp simd`, so that it vectorises even for the
 * fixed n = 8 blocks below (left alone, gcc unrolls those into branchy scalar code). */
static inline void FNN(max2x2_run)(real *restrict yr, int32_t *restrict ir, const real *restrict r0,
                                   const real *restrict r1, int32_t base, int32_t wi, int64_t n)
{
    #pragma omp simd
    for (int64_t k = 0; k < n; k++) {
        real best = r0[2 * k], v;
        int32_t off = 0, take;
        v = r0[2 * k + 1];
        take = (v > best) | (v != v);
        best = take ? v : best;
        off = take ? 1 : off;
        v = r1[2 * k];
        take = (v > best) | (v != v);
        best = take ? v : best;
        off = take ? wi : off;
        v = r1[2 * k + 1];
        take = (v > best) | (v != v);
        best = take ? v : best;
        off = take ? wi + 1 : off;
        yr[k] = best;
        ir[k] = base + (int32_t)(2 * k) + off;
    }
}

/* 2x2 windows, stride 2, no padding: the common case. Rows go in blocks of 8 outputs (one AVX
 * vector of floats) with the last block shifted back to end at the row's end (recomputing a few
 * outputs is harmless), so short rows (14 outputs for 28 pixels) need no scalar remainder. */
FNN_HOT static void FNN(max_pool_2x2)(real *yq, int32_t *iq, const real *xc, const fnn_pool_geom *g)
{
    const int64_t w = g->w, wo = g->w_out;
    const int32_t wi = (int32_t)w;
    for (int64_t oh = 0; oh < g->h_out; oh++) {
        const real *r0 = xc + 2 * oh * w, *r1 = r0 + w;
        real *yr = yq + oh * wo;
        int32_t *ir = iq + oh * wo;
        const int32_t base = (int32_t)(2 * oh * w);
        if (wo < 8) {
            FNN(max2x2_run)(yr, ir, r0, r1, base, wi, wo);
            continue;
        }
        int64_t b = 0;
        for (; b + 8 <= wo; b += 8)
            FNN(max2x2_run)(yr + b, ir + b, r0 + 2 * b, r1 + 2 * b, base + (int32_t)(2 * b), wi, 8);
        if (b < wo) {
            b = wo - 8;
            FNN(max2x2_run)(yr + b, ir + b, r0 + 2 * b, r1 + 2 * b, base + (int32_t)(2 * b), wi, 8);
        }
    }
}

static void FNN(max_pool_plane)(real *yq, int32_t *iq, const real *xc, const fnn_pool_geom *g)
{
    const int64_t w = g->w, wo = g->w_out;
    for (int64_t oh = 0; oh < g->h_out; oh++) {
        int64_t h0, h1;
        fnn_pool_window(oh, g->sh, g->ph, g->kh, g->h, &h0, &h1);
        for (int64_t ow = 0; ow < wo; ow++) {
            int64_t w0, w1;
            fnn_pool_window(ow, g->sw, g->pw, g->kw, w, &w0, &w1);
            real best = -INFINITY;
            int64_t bi = h0 * w + w0;
            for (int64_t ih = h0; ih < h1; ih++)
                for (int64_t iw = w0; iw < w1; iw++) {
                    real v = xc[ih * w + iw];
                    if (v > best || v != v) {
                        best = v;
                        bi = ih * w + iw;
                    }
                }
            yq[oh * wo + ow] = best;
            iq[oh * wo + ow] = (int32_t)bi;
        }
    }
}

void FNN(fnn_max_pool2d_fwd)(real *y, int32_t *argmax, const real *x, const fnn_pool_geom *g)
{
    const int64_t planes = g->n * g->c, hw = g->h * g->w, P = g->h_out * g->w_out;
    const int fast = g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0
                     && fnn_pool_whole_windows(g);
    int nt = fnn_threads_for(planes * hw, FNN_POOL_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t q = 0; q < planes; q++) {
        if (fast)
            FNN(max_pool_2x2)(y + q * P, argmax + q * P, x + q * hw, g);
        else
            FNN(max_pool_plane)(y + q * P, argmax + q * P, x + q * hw, g);
    }
}

/* windows that tile the input (stride == kernel, no padding): every pixel is written once,
 * with its gradient or 0, so dx needs no separate zeroing pass */
FNN_HOT static void FNN(max_pool_bwd_tiled)(real *dxc, const real *dyq, const int32_t *iq, const fnn_pool_geom *g)
{
    const int64_t w = g->w, wo = g->w_out, kh = g->kh, kw = g->kw;
    for (int64_t oh = 0; oh < g->h_out; oh++) {
        for (int64_t i = 0; i < kh; i++) {
            const int64_t ih = oh * kh + i;
            real *row = dxc + ih * w;
            for (int64_t ow = 0; ow < wo; ow++) {
                const int64_t a = iq[oh * wo + ow];
                const real v = dyq[oh * wo + ow];
                for (int64_t j = 0; j < kw; j++)
                    row[ow * kw + j] = ih * w + ow * kw + j == a ? v : (real)0;
            }
            for (int64_t iw = wo * kw; iw < w; iw++)
                row[iw] = 0;
        }
    }
    for (int64_t k = g->h_out * kh * w; k < g->h * w; k++)
        dxc[k] = 0;
}

/* n windows of the 2x2 / stride 2 backward: each of the 4 pixels gets dy or 0 */
static inline void FNN(max2x2_bwd_run)(real *restrict r0, real *restrict r1, const real *restrict dr,
                                       const int32_t *restrict ir, int32_t base, int32_t wi, int64_t n)
{
    #pragma omp simd
    for (int64_t k = 0; k < n; k++) {
        const int32_t off = ir[k] - base - (int32_t)(2 * k);
        const real v = dr[k];
        r0[2 * k] = off == 0 ? v : (real)0;
        r0[2 * k + 1] = off == 1 ? v : (real)0;
        r1[2 * k] = off == wi ? v : (real)0;
        r1[2 * k + 1] = off == wi + 1 ? v : (real)0;
    }
}

/* the 2x2 / stride 2 / no padding case of max_pool_bwd_tiled, in blocks of 8 like max_pool_2x2 */
FNN_HOT static void FNN(max_pool_bwd_2x2)(real *dxc, const real *dyq, const int32_t *iq, const fnn_pool_geom *g)
{
    const int64_t w = g->w, wo = g->w_out;
    const int32_t wi = (int32_t)w;
    for (int64_t oh = 0; oh < g->h_out; oh++) {
        real *r0 = dxc + 2 * oh * w, *r1 = r0 + w;
        const real *dr = dyq + oh * wo;
        const int32_t *ir = iq + oh * wo;
        const int32_t base = (int32_t)(2 * oh * w);
        if (wo < 8) {
            FNN(max2x2_bwd_run)(r0, r1, dr, ir, base, wi, wo);
        } else {
            int64_t b = 0;
            for (; b + 8 <= wo; b += 8)
                FNN(max2x2_bwd_run)(r0 + 2 * b, r1 + 2 * b, dr + b, ir + b, base + (int32_t)(2 * b), wi, 8);
            if (b < wo) {
                b = wo - 8;
                FNN(max2x2_bwd_run)(r0 + 2 * b, r1 + 2 * b, dr + b, ir + b, base + (int32_t)(2 * b), wi, 8);
            }
        }
        if (w & 1) {
            r0[w - 1] = 0;
            r1[w - 1] = 0;
        }
    }
    for (int64_t k = g->h_out * 2 * w; k < g->h * w; k++)
        dxc[k] = 0;
}

void FNN(fnn_max_pool2d_bwd)(real *dx, const real *dy, const int32_t *argmax, const fnn_pool_geom *g)
{
    const int64_t planes = g->n * g->c, hw = g->h * g->w, P = g->h_out * g->w_out;
    const int tiled = g->sh == g->kh && g->sw == g->kw && g->ph == 0 && g->pw == 0
                      && fnn_pool_whole_windows(g);
    int nt = fnn_threads_for(planes * hw, FNN_POOL_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t q = 0; q < planes; q++) {
        real *dxc = dx + q * hw;
        const real *dyq = dy + q * P;
        const int32_t *iq = argmax + q * P;
        if (tiled && g->kh == 2 && g->kw == 2) {
            FNN(max_pool_bwd_2x2)(dxc, dyq, iq, g);
        } else if (tiled) {
            FNN(max_pool_bwd_tiled)(dxc, dyq, iq, g);
        } else {
            for (int64_t k = 0; k < hw; k++)
                dxc[k] = 0;
            for (int64_t o = 0; o < P; o++)
                dxc[iq[o]] += dyq[o];
        }
    }
}

/* 2x2 windows, stride 2, no padding (divisor 4 either way) */
FNN_HOT static void FNN(avg_pool_2x2)(real *yq, const real *xc, const fnn_pool_geom *g)
{
    const int64_t w = g->w, wo = g->w_out;
    for (int64_t oh = 0; oh < g->h_out; oh++) {
        const real *r0 = xc + 2 * oh * w, *r1 = r0 + w;
        real *yr = yq + oh * wo;
        for (int64_t ow = 0; ow < wo; ow++)
            yr[ow] = (((r0[2 * ow] + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) / (real)4;
    }
}

/* windows that tile the input (stride == kernel, no padding, divisor kh*kw): every pixel is
 * written once, so dx needs no separate zeroing pass */
FNN_HOT static void FNN(avg_pool_bwd_tiled)(real *dxc, const real *dyq, const fnn_pool_geom *g)
{
    const int64_t w = g->w, wo = g->w_out, kh = g->kh, kw = g->kw;
    const real div = (real)(kh * kw);
    for (int64_t oh = 0; oh < g->h_out; oh++) {
        for (int64_t i = 0; i < kh; i++) {
            real *row = dxc + (oh * kh + i) * w;
            if (kw == 2) {
                for (int64_t ow = 0; ow < wo; ow++) {
                    const real v = dyq[oh * wo + ow] / div;
                    row[2 * ow] = v;
                    row[2 * ow + 1] = v;
                }
            } else {
                for (int64_t ow = 0; ow < wo; ow++) {
                    const real v = dyq[oh * wo + ow] / div;
                    for (int64_t j = 0; j < kw; j++)
                        row[ow * kw + j] = v;
                }
            }
            for (int64_t iw = wo * kw; iw < w; iw++)
                row[iw] = 0;
        }
    }
    for (int64_t k = g->h_out * kh * w; k < g->h * w; k++)
        dxc[k] = 0;
}

void FNN(fnn_avg_pool2d_fwd)(real *y, const real *x, const fnn_pool_geom *g, int count_include_pad)
{
    const int64_t planes = g->n * g->c, hw = g->h * g->w, P = g->h_out * g->w_out;
    const int64_t w = g->w, wo = g->w_out;
    const int fast = g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0
                     && fnn_pool_whole_windows(g);
    int nt = fnn_threads_for(planes * hw, FNN_POOL_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t q = 0; q < planes; q++) {
        const real *xc = x + q * hw;
        real *yq = y + q * P;
        if (fast) {
            FNN(avg_pool_2x2)(yq, xc, g);
            continue;
        }
        for (int64_t oh = 0; oh < g->h_out; oh++) {
            int64_t h0, h1;
            fnn_pool_window(oh, g->sh, g->ph, g->kh, g->h, &h0, &h1);
            for (int64_t ow = 0; ow < wo; ow++) {
                int64_t w0, w1;
                fnn_pool_window(ow, g->sw, g->pw, g->kw, w, &w0, &w1);
                real s = 0;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++)
                        s += xc[ih * w + iw];
                int64_t div = fnn_pool_divisor(g, oh, ow, h0, h1, w0, w1, count_include_pad);
                yq[oh * wo + ow] = s / (real)div;
            }
        }
    }
}

void FNN(fnn_avg_pool2d_bwd)(real *dx, const real *dy, const fnn_pool_geom *g, int count_include_pad)
{
    const int64_t planes = g->n * g->c, hw = g->h * g->w, P = g->h_out * g->w_out;
    const int64_t w = g->w, wo = g->w_out;
    int nt = fnn_threads_for(planes * hw, FNN_POOL_GRAIN);
    const int tiled = g->sh == g->kh && g->sw == g->kw && g->ph == 0 && g->pw == 0
                      && fnn_pool_whole_windows(g);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t q = 0; q < planes; q++) {
        real *dxc = dx + q * hw;
        const real *dyq = dy + q * P;
        if (tiled) {
            FNN(avg_pool_bwd_tiled)(dxc, dyq, g);
            continue;
        }
        for (int64_t k = 0; k < hw; k++)
            dxc[k] = 0;
        for (int64_t oh = 0; oh < g->h_out; oh++) {
            int64_t h0, h1;
            fnn_pool_window(oh, g->sh, g->ph, g->kh, g->h, &h0, &h1);
            for (int64_t ow = 0; ow < wo; ow++) {
                int64_t w0, w1;
                fnn_pool_window(ow, g->sw, g->pw, g->kw, w, &w0, &w1);
                int64_t div = fnn_pool_divisor(g, oh, ow, h0, h1, w0, w1, count_include_pad);
                const real v = dyq[oh * wo + ow] / (real)div;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++)
                        dxc[ih * w + iw] += v;
            }
        }
    }
}

FNN_HOT static double FNN(pool_rowsum)(const real *row, int64_t n)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t p = 0;
    for (; p + 8 <= n; p += 8)
        for (int k = 0; k < 8; k++)
            s[k] += (double)row[p + k];
    double t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; p < n; p++)
        t += (double)row[p];
    return t;
}

void FNN(fnn_global_avg_pool2d_fwd)(real *y, const real *x, int64_t planes, int64_t hw)
{
    int nt = fnn_threads_for(planes * hw, FNN_POOL_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t q = 0; q < planes; q++)
        y[q] = (real)(FNN(pool_rowsum)(x + q * hw, hw) / (double)hw);
}

void FNN(fnn_global_avg_pool2d_bwd)(real *dx, const real *dy, int64_t planes, int64_t hw)
{
    int nt = fnn_threads_for(planes * hw, FNN_POOL_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t q = 0; q < planes; q++) {
        const real v = dy[q] / (real)hw;
        real *row = dx + q * hw;
        for (int64_t k = 0; k < hw; k++)
            row[k] = v;
    }
}

#endif
