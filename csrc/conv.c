/* conv.c: 2-D convolution through im2col + GEMM (OpenBLAS), and im2col/col2im themselves.
 *
 * How a convolution runs (forward; backward mirrors it):
 *   - Batch-parallel (the usual case, N >= threads): the threads take batches of B images
 *     (dynamic schedule, at least 3 batches per thread, so a thread slowed by another process
 *     on a shared machine does not hold up the rest; B*P up to ~2048 columns,
 *     so small images still give BLAS a wide enough matrix: measured 66 -> 83 GFLOP/s per core
 *     for P = 196). It unfolds a batch into its own slice of the workspace, cols (K, B*P)
 *     (im2col, padding by bounds checks), multiplies with single-threaded BLAS
 *     (fnn_gemm_serial, one GEMM per group) and writes the result out with the bias + relu
 *     epilogue fused into that pass. In the backward pass each thread accumulates its own
 *     weight gradient (thread 0 straight into dw, the others in the workspace) and its own bias
 *     sums in double; they are added at the end.
 *   - Image by image (N < threads, e.g. one large image): im2col/col2im split over channels and
 *     the GEMMs split by fnn_gemm.
 *   - 1x1 kernels with stride 1 and no padding, when batches are of one image (B = 1), skip
 *     im2col: the image itself is the column matrix, and in the backward pass the input
 *     gradient is one GEMM straight into dx.
 * The workspace is the caller's (fnn_conv2d_workspace_bytes says how much); nothing here allocates.
 */
#ifndef FNN_GENERIC
#include "fastnn.h"

/* multiply-adds per thread worth forking for */
#define FNN_CONV_GRAIN (1 << 17)
/* elements per thread worth forking for in the memory-bound passes (im2col, epilogues) */
#define FNN_CONV_COPY_GRAIN 32768
/* columns a batch of images should give the GEMM, and the most images in one batch */
#ifndef FNN_CONV_BATCH_COLS
#define FNN_CONV_BATCH_COLS 2048
#endif
#define FNN_CONV_BATCH_MAX 16

static int64_t fnn_align64(int64_t bytes) { return (bytes + 63) & ~(int64_t)63; }

static int fnn_conv_is_1x1(const fnn_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* The batch size B and where each piece of the workspace lives, in bytes from its start:
 *   [dbacc: threads x C_out doubles (backward)]  then per thread t, at base + per_thread * t:
 *   cols (K, B*P; none when `one`), and
 *   forward:  ytmp (C_out, B*P; B > 1 only)
 *   backward: dcols (K, B*P; none when `one`), dz (C_out, B*P), dwacc (C_out, K/groups; unused
 *             by thread 0, which accumulates straight into dw). */
typedef struct {
    int64_t batch;
    int one;                      /* 1x1 fast path: no column matrix at all */
    int64_t dbacc, base, per_thread, cols, ytmp, dcols, dz, dwacc, total;
} fnn_conv_plan;

static fnn_conv_plan fnn_conv_make_plan(const fnn_conv_geom *g, int backward, int es)
{
    fnn_conv_plan p;
    const int64_t K = g->c * g->kh * g->kw, P = g->h_out * g->w_out;
    const int T = g->threads > 0 ? g->threads : 1;
    int64_t B = P >= FNN_CONV_BATCH_COLS ? 1 : (FNN_CONV_BATCH_COLS + P - 1) / P;
    if (B > FNN_CONV_BATCH_MAX)
        B = FNN_CONV_BATCH_MAX;
    const int64_t fair = (g->n + 3 * T - 1) / (3 * T);  /* >= 3 chunks per thread to share */
    if (B > fair)
        B = fair;
    if (B < 1)
        B = 1;
    p.batch = B;
    p.one = fnn_conv_is_1x1(g) && B == 1;
    const int64_t colbytes = p.one ? 0 : fnn_align64(K * B * P * es);
    const int64_t outbytes = fnn_align64(g->c_out * B * P * es);
    p.dbacc = 0;
    p.base = backward ? fnn_align64((int64_t)T * g->c_out * (int64_t)sizeof(double)) : 0;
    p.cols = 0;
    p.ytmp = colbytes;
    p.dcols = colbytes;
    p.dz = p.dcols + colbytes;
    p.dwacc = p.dz + outbytes;
    if (backward)
        p.per_thread = p.dwacc + fnn_align64(g->c_out * (K / g->groups) * es);
    else
        p.per_thread = p.ytmp + (B > 1 ? outbytes : 0);
    p.total = p.base + p.per_thread * T;
    if (p.total == 0)
        p.total = 64;
    return p;
}

int64_t fnn_conv2d_workspace_bytes(const fnn_conv_geom *g, int backward, int elem_size)
{
    return fnn_conv_make_plan(g, backward, elem_size).total;
}

/* the first and one-past-last output columns ow whose input column ow*sw + iw0 is inside [0, w) */
static void fnn_conv_valid_cols(int64_t iw0, int64_t sw, int64_t w, int64_t wo, int64_t *lo, int64_t *hi)
{
    int64_t a = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
    int64_t b = (w - 1 - iw0) < 0 ? 0 : (w - 1 - iw0) / sw + 1;
    if (a > wo) a = wo;
    if (b > wo) b = wo;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

static inline int fnn_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

#define FNN_GENERIC "conv.c"
#include "dtype.h"


#else  /* generic part, once per dtype */

/* The kh*kw rows that input channel xc (h, w) contributes to a column matrix, written at
 * rows + (i kw + j) ld (row stride ld >= P, so several images can sit side by side). */
static void FNN(im2col_plane)(real *rows, int64_t ld, const real *xc, const fnn_conv_geom *g)
{
    const int64_t wo = g->w_out, ho = g->h_out, sw = g->sw;
    for (int64_t i = 0; i < g->kh; i++) {
        for (int64_t j = 0; j < g->kw; j++) {
            real *row = rows + (i * g->kw + j) * ld;
            const int64_t iw0 = j * g->dw - g->pw;
            int64_t lo, hi;
            fnn_conv_valid_cols(iw0, sw, g->w, wo, &lo, &hi);
            for (int64_t oh = 0; oh < ho; oh++) {
                const int64_t ih = oh * g->sh - g->ph + i * g->dh;
                real *dst = row + oh * wo;
                if (ih < 0 || ih >= g->h) {
                    for (int64_t ow = 0; ow < wo; ow++)
                        dst[ow] = 0;
                    continue;
                }
                const real *src = xc + ih * g->w + iw0;
                for (int64_t ow = 0; ow < lo; ow++)
                    dst[ow] = 0;
                if (sw == 1) {
                    for (int64_t ow = lo; ow < hi; ow++)
                        dst[ow] = src[ow];
                } else {
                    for (int64_t ow = lo; ow < hi; ow++)
                        dst[ow] = src[ow * sw];
                }
                for (int64_t ow = hi; ow < wo; ow++)
                    dst[ow] = 0;
            }
        }
    }
}

/* xc (h, w) += its kh*kw rows of a column matrix (row stride ld): the adjoint of im2col_plane */
static void FNN(col2im_plane)(real *xc, const real *rows, int64_t ld, const fnn_conv_geom *g)
{
    const int64_t wo = g->w_out, ho = g->h_out, sw = g->sw;
    for (int64_t i = 0; i < g->kh; i++) {
        for (int64_t j = 0; j < g->kw; j++) {
            const real *row = rows + (i * g->kw + j) * ld;
            const int64_t iw0 = j * g->dw - g->pw;
            int64_t lo, hi;
            fnn_conv_valid_cols(iw0, sw, g->w, wo, &lo, &hi);
            for (int64_t oh = 0; oh < ho; oh++) {
                const int64_t ih = oh * g->sh - g->ph + i * g->dh;
                if (ih < 0 || ih >= g->h)
                    continue;
                const real *src = row + oh * wo;
                real *dst = xc + ih * g->w + iw0;
                if (sw == 1) {
                    for (int64_t ow = lo; ow < hi; ow++)
                        dst[ow] += src[ow];
                } else {
                    for (int64_t ow = lo; ow < hi; ow++)
                        dst[ow * sw] += src[ow];
                }
            }
        }
    }
}

void FNN(fnn_im2col)(real *cols, const real *x, const fnn_conv_geom *g)
{
    const int64_t planes = g->n * g->c, P = g->h_out * g->w_out, rows = g->kh * g->kw;
    int nt = fnn_threads_for(planes * rows * P, FNN_CONV_COPY_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t q = 0; q < planes; q++)
        FNN(im2col_plane)(cols + q * rows * P, P, x + q * g->h * g->w, g);
}

void FNN(fnn_col2im)(real *x, const real *cols, const fnn_conv_geom *g)
{
    const int64_t planes = g->n * g->c, P = g->h_out * g->w_out, rows = g->kh * g->kw;
    const int64_t hw = g->h * g->w;
    int nt = fnn_threads_for(planes * rows * P, FNN_CONV_COPY_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t q = 0; q < planes; q++) {
        real *xc = x + q * hw;
        for (int64_t k = 0; k < hw; k++)
            xc[k] = 0;
        FNN(col2im_plane)(xc, cols + q * rows * P, P, g);
    }
}

/* dst rows co0..co1 of one image (c_out, P) = act(src rows (row stride lds) + b): the bias +
 * relu epilogue, in place when src == dst */
FNN_HOT static void FNN(conv_epilogue)(real *dst, const real *src, int64_t lds, const real *b,
                                       int64_t co0, int64_t co1, int64_t P, int act)
{
    for (int64_t co = co0; co < co1; co++) {
        const real *s = src + co * lds;
        real *d = dst + co * P;
        const real bv = b ? b[co] : (real)0;
        if (act == FNN_ACT_RELU) {
            for (int64_t p = 0; p < P; p++) {
                real v = s[p] + bv;
                d[p] = v > 0 ? v : (real)0;
            }
        } else {
            for (int64_t p = 0; p < P; p++)
                d[p] = s[p] + bv;
        }
    }
}

/* acc[co] += sum of row co (length L, row stride ld) of dz, in double with 8 partial sums */
FNN_HOT static void FNN(conv_rowsums)(double *acc, const real *dz, int64_t ld, int64_t co0, int64_t co1, int64_t L)
{
    for (int64_t co = co0; co < co1; co++) {
        const real *row = dz + co * ld;
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t p = 0;
        for (; p + 8 <= L; p += 8)
            for (int k = 0; k < 8; k++)
                s[k] += (double)row[p + k];
        double t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
        for (; p < L; p++)
            t += (double)row[p];
        acc[co] += t;
    }
}

/* rows co0..co1 of dz (row stride ld) = dy (c_out, P) of one image, times (y > 0) when relu */
FNN_HOT static void FNN(conv_gather_dz)(real *dz, int64_t ld, const real *dy, const real *y,
                                        int64_t co0, int64_t co1, int64_t P, int relu)
{
    for (int64_t co = co0; co < co1; co++) {
        real *d = dz + co * ld;
        const real *s = dy + co * P;
        if (relu) {
            const real *yr = y + co * P;
            for (int64_t p = 0; p < P; p++)
                d[p] = yr[p] > 0 ? s[p] : (real)0;
        } else {
            for (int64_t p = 0; p < P; p++)
                d[p] = s[p];
        }
    }
}

/* Images n0 .. n0+nb-1 on the calling thread: unfold them side by side into cols (K, nb*P),
 * one GEMM per group, epilogue on the way out to y. */
static void FNN(conv_fwd_batch)(real *y, real *cols, real *ytmp, const real *x, const real *w,
                                const real *b, const fnn_conv_geom *g, const fnn_conv_plan *pl,
                                int64_t n0, int64_t nb, int act)
{
    const int64_t P = g->h_out * g->w_out, hw = g->h * g->w, rows = g->kh * g->kw, L = nb * P;
    const int64_t Kg = g->c / g->groups * rows, Cog = g->c_out / g->groups;
    const int64_t xsz = g->c * hw, ysz = g->c_out * P;
    const real *src = x + n0 * xsz;           /* the column matrix, row stride L */
    if (!pl->one) {
        for (int64_t s = 0; s < nb; s++)
            for (int64_t c = 0; c < g->c; c++)
                FNN(im2col_plane)(cols + c * rows * L + s * P, L, x + (n0 + s) * xsz + c * hw, g);
        src = cols;
    }
    real *dst = nb == 1 ? y + n0 * ysz : ytmp;
    for (int64_t gi = 0; gi < g->groups; gi++)
        FNN(fnn_gemm_serial)(0, 0, Cog, L, Kg, 1, w + gi * Cog * Kg, Kg, src + gi * Kg * L, L,
                             0, dst + gi * Cog * L, L);
    if (nb == 1) {
        if (b || act != FNN_ACT_NONE)
            FNN(conv_epilogue)(dst, dst, P, b, 0, g->c_out, P, act);
    } else {
        for (int64_t s = 0; s < nb; s++)
            FNN(conv_epilogue)(y + (n0 + s) * ysz, ytmp + s * P, L, b, 0, g->c_out, P, act);
    }
}

void FNN(fnn_conv2d_fwd)(real *y, void *work, const real *x, const real *w, const real *b,
                         const fnn_conv_geom *g, int act)
{
    if (g->n <= 0)
        return;
    const fnn_conv_plan pl = fnn_conv_make_plan(g, 0, (int)sizeof(real));
    const int64_t P = g->h_out * g->w_out, hw = g->h * g->w, rows = g->kh * g->kw;
    const int64_t K = g->c * rows, Kg = K / g->groups, Cog = g->c_out / g->groups;
    const int64_t ysz = g->c_out * P, xsz = g->c * hw;
    int nt = fnn_threads_for(g->n * g->c_out * P * Kg, FNN_CONV_GRAIN);
    if (nt > g->threads)
        nt = g->threads;
    char *base = (char *)work + pl.base;
    const int64_t nchunks = (g->n + pl.batch - 1) / pl.batch;

    if (nt <= 1 || g->n >= nt) {        /* batch-parallel: threads take batches of images */
        #pragma omp parallel num_threads(nt) if(nt > 1)
        {
            char *mine = base + pl.per_thread * fnn_thread_id();
            real *cols = (real *)(mine + pl.cols), *ytmp = (real *)(mine + pl.ytmp);
            #pragma omp for schedule(dynamic, 1)
            for (int64_t ci = 0; ci < nchunks; ci++) {
                const int64_t n0 = ci * pl.batch;
                const int64_t nb = g->n - n0 < pl.batch ? g->n - n0 : pl.batch;
                FNN(conv_fwd_batch)(y, cols, ytmp, x, w, b, g, &pl, n0, nb, act);
            }
        }
        return;
    }
    /* fewer images than threads: image by image, each step split across the threads */
    real *cols = (real *)(base + pl.cols);
    for (int64_t n = 0; n < g->n; n++) {
        const real *xn = x + n * xsz;
        real *yn = y + n * ysz;
        const real *src = xn;
        if (!pl.one) {
            int ntc = fnn_threads_for(K * P, FNN_CONV_COPY_GRAIN);
            #pragma omp parallel for schedule(static) num_threads(ntc) if(ntc > 1)
            for (int64_t c = 0; c < g->c; c++)
                FNN(im2col_plane)(cols + c * rows * P, P, xn + c * hw, g);
            src = cols;
        }
        for (int64_t gi = 0; gi < g->groups; gi++)
            FNN(fnn_gemm)(0, 0, Cog, P, Kg, 1, w + gi * Cog * Kg, Kg, src + gi * Kg * P, P,
                          0, yn + gi * Cog * P, P);
        if (b || act != FNN_ACT_NONE) {
            int nte = fnn_threads_for(ysz, FNN_CONV_COPY_GRAIN);
            #pragma omp parallel num_threads(nte) if(nte > 1)
            {
                int t = fnn_thread_id(), T = 1;
#ifdef _OPENMP
                T = omp_get_num_threads();
#endif
                FNN(conv_epilogue)(yn, yn, P, b, g->c_out * t / T, g->c_out * (t + 1) / T, P, act);
            }
        }
    }
}

/* Backward of images n0 .. n0+nb-1 on the calling thread. dwt: this thread's weight-gradient
 * accumulator (overwritten when first, else accumulated); dbt: its double bias sums or NULL. */
static void FNN(conv_bwd_batch)(real *dx, real *dwt, double *dbt, real *cols, real *dcols, real *dzb,
                                const real *dy, const real *x, const real *w, const real *y,
                                const fnn_conv_geom *g, const fnn_conv_plan *pl,
                                int64_t n0, int64_t nb, int act, int first)
{
    const int64_t P = g->h_out * g->w_out, hw = g->h * g->w, rows = g->kh * g->kw, L = nb * P;
    const int64_t Kg = g->c / g->groups * rows, Cog = g->c_out / g->groups;
    const int64_t xsz = g->c * hw, ysz = g->c_out * P;
    const real *dz = dy + n0 * ysz;           /* (c_out, L) */
    if (nb > 1 || act == FNN_ACT_RELU) {
        for (int64_t s = 0; s < nb; s++)
            FNN(conv_gather_dz)(dzb + s * P, L, dy + (n0 + s) * ysz, y ? y + (n0 + s) * ysz : NULL,
                                0, g->c_out, P, act == FNN_ACT_RELU);
        dz = dzb;
    }
    if (dbt)
        FNN(conv_rowsums)(dbt, dz, L, 0, g->c_out, L);
    if (dwt) {
        const real *src = x + n0 * xsz;
        if (!pl->one) {
            for (int64_t s = 0; s < nb; s++)
                for (int64_t c = 0; c < g->c; c++)
                    FNN(im2col_plane)(cols + c * rows * L + s * P, L, x + (n0 + s) * xsz + c * hw, g);
            src = cols;
        }
        for (int64_t gi = 0; gi < g->groups; gi++)
            FNN(fnn_gemm_serial)(0, 1, Cog, Kg, L, 1, dz + gi * Cog * L, L, src + gi * Kg * L, L,
                                 first ? 0 : 1, dwt + gi * Cog * Kg, Kg);
    }
    if (dx) {
        real *dst = pl->one ? dx + n0 * xsz : dcols;
        for (int64_t gi = 0; gi < g->groups; gi++)
            FNN(fnn_gemm_serial)(1, 0, Kg, L, Cog, 1, w + gi * Cog * Kg, Kg, dz + gi * Cog * L, L,
                                 0, dst + gi * Kg * L, L);
        if (!pl->one) {
            for (int64_t s = 0; s < nb; s++) {
                real *dxs = dx + (n0 + s) * xsz;
                for (int64_t k = 0; k < xsz; k++)
                    dxs[k] = 0;
                for (int64_t c = 0; c < g->c; c++)
                    FNN(col2im_plane)(dxs + c * hw, dcols + c * rows * L + s * P, L, g);
            }
        }
    }
}

void FNN(fnn_conv2d_bwd)(real *dx, real *dw, real *db, void *work, const real *dy,
                         const real *x, const real *w, const real *y,
                         const fnn_conv_geom *g, int act)
{
    const fnn_conv_plan pl = fnn_conv_make_plan(g, 1, (int)sizeof(real));
    const int64_t P = g->h_out * g->w_out, hw = g->h * g->w, rows = g->kh * g->kw;
    const int64_t K = g->c * rows, Kg = K / g->groups, Cog = g->c_out / g->groups;
    const int64_t ysz = g->c_out * P, xsz = g->c * hw, wsz = g->c_out * Kg;
    double *dbacc = (double *)((char *)work + pl.dbacc);
    char *base = (char *)work + pl.base;
    if (g->n <= 0) {
        if (dw)
            for (int64_t k = 0; k < wsz; k++)
                dw[k] = 0;
        if (db)
            for (int64_t co = 0; co < g->c_out; co++)
                db[co] = 0;
        return;
    }
    int nt = fnn_threads_for(g->n * g->c_out * P * Kg * 2, FNN_CONV_GRAIN);
    if (nt > g->threads)
        nt = g->threads;
    const int64_t nchunks = (g->n + pl.batch - 1) / pl.batch;

    if (nt <= 1 || g->n >= nt) {        /* batch-parallel, per-thread dw / db accumulators */
        #pragma omp parallel num_threads(nt) if(nt > 1)
        {
            const int t = fnn_thread_id();
            int T = 1;                     /* the team OpenMP really gave us */
#ifdef _OPENMP
            T = omp_get_num_threads();
#endif
            char *mine = base + pl.per_thread * t;
            real *cols = (real *)(mine + pl.cols), *dcols = (real *)(mine + pl.dcols);
            real *dzb = (real *)(mine + pl.dz);
            real *dwt = dw == NULL ? NULL : t == 0 ? dw : (real *)(mine + pl.dwacc);
            double *dbt = db ? dbacc + (int64_t)t * g->c_out : NULL;
            if (dbt)
                for (int64_t co = 0; co < g->c_out; co++)
                    dbt[co] = 0;
            int first = 1;
            #pragma omp for schedule(dynamic, 1) nowait
            for (int64_t ci = 0; ci < nchunks; ci++) {
                const int64_t n0 = ci * pl.batch;
                const int64_t nb = g->n - n0 < pl.batch ? g->n - n0 : pl.batch;
                FNN(conv_bwd_batch)(dx, dwt, dbt, cols, dcols, dzb, dy, x, w, y, g, &pl, n0, nb, act, first);
                first = 0;
            }
            if (dwt && first)              /* this thread had no image: contribute zeros */
                for (int64_t k = 0; k < wsz; k++)
                    dwt[k] = 0;
            if (T > 1) {
                #pragma omp barrier
                if (dw) {                  /* dw += the other threads' accumulators */
                    int64_t k0 = wsz * t / T, k1 = wsz * (t + 1) / T;
                    for (int u = 1; u < T; u++) {
                        const real *other = (const real *)(base + pl.per_thread * u + pl.dwacc);
                        for (int64_t k = k0; k < k1; k++)
                            dw[k] += other[k];
                    }
                }
            }
            if (db && t == 0)
                for (int64_t co = 0; co < g->c_out; co++) {
                    double s = 0;
                    for (int u = 0; u < T; u++)
                        s += dbacc[(int64_t)u * g->c_out + co];
                    db[co] = (real)s;
                }
        }
        return;
    }

    /* fewer images than threads: image by image, each step split across the threads */
    real *cols = (real *)(base + pl.cols), *dcols = (real *)(base + pl.dcols);
    real *dzbuf = (real *)(base + pl.dz);
    if (db)
        for (int64_t co = 0; co < g->c_out; co++)
            dbacc[co] = 0;
    for (int64_t n = 0; n < g->n; n++) {
        const real *xn = x + n * xsz, *dyn = dy + n * ysz;
        const real *dz = dyn;
        int nte = fnn_threads_for(ysz, FNN_CONV_COPY_GRAIN);
        if (act == FNN_ACT_RELU || db) {
            #pragma omp parallel num_threads(nte) if(nte > 1)
            {
                int t = fnn_thread_id(), T = 1;
#ifdef _OPENMP
                T = omp_get_num_threads();
#endif
                int64_t c0 = g->c_out * t / T, c1 = g->c_out * (t + 1) / T;
                if (act == FNN_ACT_RELU)
                    FNN(conv_gather_dz)(dzbuf, P, dyn, y + n * ysz, c0, c1, P, 1);
                if (db)
                    FNN(conv_rowsums)(dbacc, act == FNN_ACT_RELU ? dzbuf : dyn, P, c0, c1, P);
            }
            if (act == FNN_ACT_RELU)
                dz = dzbuf;
        }
        int ntc = fnn_threads_for(K * P, FNN_CONV_COPY_GRAIN);
        if (dw) {
            const real *src = xn;
            if (!pl.one) {
                #pragma omp parallel for schedule(static) num_threads(ntc) if(ntc > 1)
                for (int64_t c = 0; c < g->c; c++)
                    FNN(im2col_plane)(cols + c * rows * P, P, xn + c * hw, g);
                src = cols;
            }
            for (int64_t gi = 0; gi < g->groups; gi++)
                FNN(fnn_gemm)(0, 1, Cog, Kg, P, 1, dz + gi * Cog * P, P, src + gi * Kg * P, P,
                              n == 0 ? 0 : 1, dw + gi * Cog * Kg, Kg);
        }
        if (dx) {
            real *dxn = dx + n * xsz;
            real *dst = pl.one ? dxn : dcols;
            for (int64_t gi = 0; gi < g->groups; gi++)
                FNN(fnn_gemm)(1, 0, Kg, P, Cog, 1, w + gi * Cog * Kg, Kg, dz + gi * Cog * P, P,
                              0, dst + gi * Kg * P, P);
            if (!pl.one) {
                #pragma omp parallel for schedule(static) num_threads(ntc) if(ntc > 1)
                for (int64_t c = 0; c < g->c; c++) {
                    real *xc = dxn + c * hw;
                    for (int64_t k = 0; k < hw; k++)
                        xc[k] = 0;
                    FNN(col2im_plane)(xc, dcols + c * rows * P, P, g);
                }
            }
        }
    }
    if (db)
        for (int64_t co = 0; co < g->c_out; co++)
            db[co] = (real)dbacc[co];
}

#endif
