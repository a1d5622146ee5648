/* conv.c: 2-D convolution through im2col + GEMM (OpenBLAS), and im2col/col2im themselves.
 *
 * How a convolution runs (forward; backward mirrors it):
 *   - Batch-parallel (the usual case, N >= threads): the threads take batches of B images
 *     (forward: dynamic schedule, at least 3 batches per thread, so a thread slowed by another
 *     process on a shared machine does not hold up the rest; backward: static schedule, see
 *     below; B*P up to ~2048 columns,
 *     so small images still give BLAS a wide enough matrix: measured 66 -> 83 GFLOP/s per core
 *     for P = 196). It unfolds a batch into its own slice of the workspace, cols (K, B*P)
 *     (im2col, padding by bounds checks), multiplies with single-threaded BLAS
 *     (fnn_gemm_serial, one GEMM per group) and writes the result out with the bias + relu
 *     epilogue fused into that pass. In the backward pass each thread accumulates its own
 *     weight gradient (thread 0 straight into dw, the others in the workspace) and its own bias
 *     sums in double; they are added at the end, in thread order. Which images a thread sums
 *     must not depend on timing, or the float sums would differ from run to run (a dynamic
 *     schedule did exactly that: tests/test_determinism.py), so the backward pass hands out
 *     the batches statically: thread t always takes the same contiguous run of them.
 *   - Image by image (N < threads, e.g. one large image): im2col/col2im split over channels and
 *     the GEMMs split by fnn_gemm.
 *   - 1x1 kernels with stride 1 and no padding, when batches are of one image (B = 1), skip
 *     im2col: the image itself is the column matrix, and in the backward pass the input
 *     gradient is one GEMM straight into dx.
 *   - 3x3 kernels with stride 1, no dilation, no groups and >= 16 channels each side go by
 *     Winograd F(2x2, 3x3) instead (2.25x fewer multiply-adds), in the forward pass, for the
 *     input gradient (the transposed convolution is again a 3x3 stride-1 convolution) and for
 *     the weight gradient (wino_dw: the adjoint of the forward's transforms around 16 GEMMs).
 *     Measured on 2 Zen 2 cores, one thread: forward 8.5 -> 5.7 ms (64x32x14x14 -> 64) and
 *     28 -> 16.6 ms (8x64x56x56 -> 64), backward of the latter 61 -> 42 ms; two threads, the
 *     weight gradient by Winograd instead of im2col: backward 7.7 -> 6.2 ms and 23.6 -> 16.3 ms.
 *     Outputs of at least 16 x 48 summing over <= 64 channels take Winograd F(4x4, 3x3)
 *     instead, in all three passes (4x fewer multiply-adds; see fnn_wino_tile for when and what
 *     it costs).
 *   - Small filters (stride 1, no padding, C*kH*kW <= 256, C_out <= 32, W_out >= 8, e.g.
 *     LeNet's 5x5 layers) skip im2col in the forward pass: a direct kernel keeps an 8-channel x
 *     one-vector output block in registers (fnn_conv_use_direct); with C_out <= 16 and W_out a
 *     whole number of vectors the backward pass computes the weight gradient (per-thread accumulators,
 *     static schedule as above) and the input gradient (no dcols GEMM, no col2im) the same
 *     direct way.
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

/* Threads for `work` multiply-adds of this convolution: by FNN_CONV_GRAIN, and never more than
 * the g->threads its workspace was sized for. */
static int fnn_conv_team(const fnn_conv_geom *g, int64_t work)
{
    int nt = fnn_threads_for(work, FNN_CONV_GRAIN);
    return nt < g->threads ? nt : g->threads;
}

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

/* Winograd F(m x m, 3x3) for the forward pass of 3x3 / stride 1 / undilated / ungrouped
 * convolutions with enough channels for the small GEMMs to pay, when every thread gets whole
 * images. Each (m+2) x (m+2) input tile d (stride m) becomes V = B^T d B, each filter
 * U = G w G^T, and an m x m output tile is A^T M A with M the (m+2)^2 products U[k] V[k], one
 * GEMM per k over all channels and a block of tiles. m = 2 (16 GEMMs) does 2.25x fewer
 * multiply-adds than im2col + GEMM, m = 4 (36 GEMMs) 4x. m = 4 is used for outputs of at least
 * 16 x 48 summing <= 64 channels (fnn_wino_tile): on narrower ones the per-row overhead of its transforms and the
 * padding of the last tile row/column cost more than the multiply-adds it saves (one thread,
 * 64x32x14x14 -> 64: 5.3 ms by m = 2, 8.0 ms by m = 4; 8x64x56x56 -> 64: 16.8 -> 12.4 ms;
 * two threads 9.4 -> 8.2 ms). Its transforms have larger coefficients (interpolation points 0,
 * +-1, +-2), so float32 rounding grows: measured 3-6e-6 of max |y| at 16-64 channels against
 * 1.5-3e-7 for m = 2, inside the float32 tolerance (tests/test_conv.py); float64 ~1e-14. The
 * weight gradient (wino_dw) uses the same m as the forward pass. The work is cut into
 * blocks of consecutive tile rows (across image boundaries), ~FNN_WINO_BLOCK_COLS tiles each, so
 * that a block's transformed input V and GEMM output M stay in cache between the transforms and
 * the GEMMs (unblocked, they are 4x the image and the transforms run at memory speed).
 * Workspace: U ((m+2)^2, C_out, C), the transformed weights, then per thread V ((m+2)^2, C, L),
 * M ((m+2)^2, C_out, L) and, for m = 4, the transforms' scratch (FNN_WINO4_SCRATCH),
 * L = rows per block * tiles per row. */
#ifndef FNN_WINO_BLOCK_COLS
#define FNN_WINO_BLOCK_COLS 256
#endif
#ifndef FNN_WINO4_BLOCK_COLS
#define FNN_WINO4_BLOCK_COLS 64
#endif

/* The per-thread scratch of F(4x4, 3x3), in elements, for tw tiles per row: W zeros (input
 * rows outside the image), then tb (wino4_in_row, 24 (tw + 1)), then ob (wino4_out_row, 24 tw). */
#define FNN_WINO4_TB(g, tw) ((g)->w)
#define FNN_WINO4_OB(g, tw) ((g)->w + 24 * ((tw) + 1))
#define FNN_WINO4_SCRATCH(g, tw) ((g)->w + 24 * ((tw) + 1) + 24 * (tw))

typedef struct {
    int m, planes;                 /* output tile size, (m + 2)^2 GEMMs */
    int64_t rows, tiles_h, tiles_w, base, per_thread, v, mm, scratch, total;
} fnn_wino_plan;

static int fnn_conv_use_wino(const fnn_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
           g->groups == 1 && g->c >= 16 && g->c_out >= 16 && g->n >= (g->threads > 0 ? g->threads : 1);
}

/* The output tile size of the Winograd passes (fnn_conv_use_wino(g) holds): 4 for outputs of at
 * least 16 x 48 that sum over at most FNN_WINO4_MAX_C channels. F(4x4)'s float32 error grows
 * with the number of channels summed: measured 5-6e-6 of max |y| at 64, up to 9e-6 at 128 and
 * 1.3e-5 at 256 (F(2x2): 3-6e-7), so wider layers stay on F(2x2) and every result stays well
 * inside the float32 tolerance (norm-wise 1e-5). */
#ifndef FNN_WINO4_MAX_C
#define FNN_WINO4_MAX_C 64
#endif
static int fnn_wino_tile(const fnn_conv_geom *g)
{
    return g->h_out >= 16 && g->w_out >= 48 && g->c <= FNN_WINO4_MAX_C ? 4 : 2;
}

static fnn_wino_plan fnn_wino_make_plan(const fnn_conv_geom *g, int m, int es)
{
    fnn_wino_plan p;
    const int T = g->threads > 0 ? g->threads : 1;
    p.m = m;
    p.planes = (m + 2) * (m + 2);
    p.tiles_h = (g->h_out + m - 1) / m;
    p.tiles_w = (g->w_out + m - 1) / m;
    const int64_t all_rows = g->n * p.tiles_h;
    const int64_t cols = m == 4 ? FNN_WINO4_BLOCK_COLS : FNN_WINO_BLOCK_COLS;
    int64_t R = (cols + p.tiles_w - 1) / p.tiles_w;
    const int64_t fair = (all_rows + 3 * T - 1) / (3 * T);
    if (R > fair)
        R = fair;
    if (R < 1)
        R = 1;
    p.rows = R;
    const int64_t L = R * p.tiles_w;
    p.base = fnn_align64(p.planes * g->c_out * g->c * es);
    p.v = 0;
    p.mm = fnn_align64(p.planes * g->c * L * es);
    p.scratch = p.mm + fnn_align64(p.planes * g->c_out * L * es);
    p.per_thread = p.scratch + (m == 4 ? fnn_align64(FNN_WINO4_SCRATCH(g, p.tiles_w) * es) : 0);
    p.total = p.base + p.per_thread * T;
    return p;
}

/* The input gradient of a 3x3 / stride 1 / undilated / ungrouped convolution with padding
 * p <= 2 is itself such a convolution: dx = conv2d(dz, w', padding 2 - p) with
 * w'[c, co, i, j] = w[co, c, 2 - i, 2 - j]. Fills gt with that convolution's geometry and
 * says whether it goes by Winograd. */
static int fnn_conv_dx_wino(const fnn_conv_geom *g, fnn_conv_geom *gt)
{
    if (!(g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
          g->groups == 1 && g->ph <= 2 && g->pw <= 2))
        return 0;
    *gt = *g;
    gt->c = g->c_out;
    gt->c_out = g->c;
    gt->h = g->h_out;
    gt->w = g->w_out;
    gt->ph = 2 - g->ph;
    gt->pw = 2 - g->pw;
    gt->h_out = g->h;
    gt->w_out = g->w;
    return fnn_conv_use_wino(gt);
}

typedef struct {
    fnn_wino_plan w;
    int64_t du, du_bytes, dbacc, total;
} fnn_dw_wino_plan;

static fnn_dw_wino_plan fnn_dw_wino_make_plan(const fnn_conv_geom *g, int es)
{
    fnn_dw_wino_plan p;
    const int T = g->threads > 0 ? g->threads : 1;
    p.w = fnn_wino_make_plan(g, fnn_wino_tile(g), es);
    p.du_bytes = fnn_align64(p.w.planes * g->c_out * g->c * es);
    p.du = p.w.total;
    p.dbacc = p.du + p.du_bytes * (T - 1);
    p.total = p.dbacc + fnn_align64(T * g->c_out * (int64_t)sizeof(double));
    return p;
}

/* The backward workspace when dx goes by Winograd (then fnn_conv_use_wino(g) holds too: the
 * transposed geometry swaps C and C_out and keeps the rest of what it tests):
 * [the transposed convolution's Winograd workspace | w' (C, C_out, 3, 3) | dz (N, C_out,
 * H_out, W_out) when relu | wino_dw's plan, or im2col's for db alone, whichever is larger]. */
typedef struct {
    int64_t wflip, dz, rest, total;
} fnn_dx_wino_plan;

static fnn_dx_wino_plan fnn_dx_wino_make_plan(const fnn_conv_geom *g, const fnn_conv_geom *gt, int act, int es)
{
    fnn_dx_wino_plan p;
    p.wflip = fnn_wino_make_plan(gt, fnn_wino_tile(gt), es).total;
    p.dz = p.wflip + fnn_align64(g->c * g->c_out * 9 * es);
    p.rest = p.dz + (act == FNN_ACT_RELU ? fnn_align64(g->n * g->c_out * g->h_out * g->w_out * es) : 0);
    p.total = fnn_conv_make_plan(g, 1, es).total;
    const int64_t dw_bytes = fnn_dw_wino_make_plan(g, es).total;
    if (dw_bytes > p.total)
        p.total = dw_bytes;
    p.total += p.rest;
    return p;
}

/* Direct convolution (no column matrix) for small filters: stride 1, no padding, dilation or
 * groups, C*kH*kW <= FNN_DIRECT_MAX_K and rows at least 8 outputs wide. Each thread takes whole
 * images; an output block of 8 channels x one vector of columns (8 floats / 4 doubles) stays in
 * registers while the C*kH*kW filter taps stream past it, one broadcast weight and one
 * (unaligned) input load per tap. For LeNet's layers (1 -> 8 and 8 -> 16 channels, 5x5) the
 * im2col + small-GEMM path spent more time unfolding and packing than multiplying. Workspace:
 * the weights rearranged as wt (ceil(C_out / 8), K, 8), zero-padded past C_out. Only for
 * C_out <= FNN_DIRECT_MAX_COUT and kernels larger than 1x1: with many output channels (or no
 * unfolding to save) the GEMM's efficiency wins again (1x1 64 -> 128 channels at 14x14:
 * 1.7 ms by GEMM, 2.6 ms direct). Measured on 2 Zen 2 cores, LeNet at batch 64: conv 1 -> 8
 * forward 0.30 -> 0.11 ms, 8 -> 16 0.51 -> 0.19 ms. */
#ifndef FNN_DIRECT_MAX_K
#define FNN_DIRECT_MAX_K 256
#endif
#ifndef FNN_DIRECT_MAX_COUT
#define FNN_DIRECT_MAX_COUT 32
#endif
#define FNN_DIRECT_CB 8

static int fnn_conv_use_direct(const fnn_conv_geom *g)
{
    return g->groups == 1 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
           g->ph == 0 && g->pw == 0 && g->c * g->kh * g->kw <= FNN_DIRECT_MAX_K &&
           g->kh * g->kw > 1 && g->c_out <= FNN_DIRECT_MAX_COUT &&
           g->w_out >= 8 && g->n >= (g->threads > 0 ? g->threads : 1);
}

/* The backward pass goes direct (weight and input gradients) only with C_out <= 16 (and W_out a
 * whole number of vectors, checked per dtype): with 32 output channels, 28-34 wide images, the
 * weight gradient re-reads the input once per 8 channels and lost to im2col + GEMM by 20-40%,
 * while for <= 16 channels both gradients won (LeNet's conv 8 -> 16: 1.06 -> 0.59 ms; 64x8x20x20
 * -> 16 k5: 3.3 -> 2.5 ms; 2 threads). */
#ifndef FNN_DIRECT_BWD_MAX_COUT
#define FNN_DIRECT_BWD_MAX_COUT 16
#endif

static int fnn_conv_use_direct_bwd(const fnn_conv_geom *g)
{
    return fnn_conv_use_direct(g) && g->c_out <= FNN_DIRECT_BWD_MAX_COUT;
}

static int64_t fnn_direct_wt_bytes(const fnn_conv_geom *g, int es)
{
    const int64_t blocks = (g->c_out + FNN_DIRECT_CB - 1) / FNN_DIRECT_CB;
    return fnn_align64(blocks * FNN_DIRECT_CB * g->c * g->kh * g->kw * es);
}

int64_t fnn_conv2d_workspace_bytes(const fnn_conv_geom *g, int backward, int act, int elem_size)
{
    fnn_conv_geom gt;
    if (!backward && fnn_conv_use_direct(g))
        return fnn_direct_wt_bytes(g, elem_size);
    if (!backward && fnn_conv_use_wino(g))
        return fnn_wino_make_plan(g, fnn_wino_tile(g), elem_size).total;
    if (backward && fnn_conv_dx_wino(g, &gt))
        return fnn_dx_wino_make_plan(g, &gt, act, elem_size).total;
    if (backward && fnn_conv_use_direct_bwd(g))   /* + the rearranged weights for direct dx */
        return fnn_align64(fnn_conv_make_plan(g, 1, elem_size).total) + fnn_direct_wt_bytes(g, elem_size);
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


/* G f for one row or column f0, f1, f2 of a 3x3 filter: m + 2 values.
 * m = 2: G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]];
 * m = 4: G = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6],
 *             [1/24, -1/12, 1/6], [0, 0, 1]] (points 0, 1, -1, 2, -2, infinity) */
static void fnn_wino_g(double *o, double f0, double f1, double f2, int m)
{
    if (m == 2) {
        o[0] = f0;
        o[1] = (f0 + f1 + f2) / 2;
        o[2] = (f0 - f1 + f2) / 2;
        o[3] = f2;
    } else {
        o[0] = f0 / 4;
        o[1] = -(f0 + f1 + f2) / 6;
        o[2] = -(f0 - f1 + f2) / 6;
        o[3] = f0 / 24 + f1 / 12 + f2 / 6;
        o[4] = f0 / 24 - f1 / 12 + f2 / 6;
        o[5] = f2;
    }
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

/* U ((m+2)^2, C_out, C) = G w G^T for every 3x3 filter w (C_out, C, 3, 3), in double */
static void FNN(wino_weights)(real *u, const real *w, int64_t co_n, int64_t c_n, int m)
{
    const int a = m + 2;
    const int64_t plane = co_n * c_n;
    for (int64_t f = 0; f < plane; f++) {          /* f = co * c_n + c */
        const real *k = w + f * 9;
        double t[6][3], col[6];
        for (int j = 0; j < 3; j++) {              /* G k: column j */
            fnn_wino_g(col, k[j], k[3 + j], k[6 + j], m);
            for (int i = 0; i < a; i++)
                t[i][j] = col[i];
        }
        for (int i = 0; i < a; i++) {              /* (G k) G^T: row i */
            fnn_wino_g(col, t[i][0], t[i][1], t[i][2], m);
            for (int j = 0; j < a; j++)
                u[(int64_t)(i * a + j) * plane + f] = (real)col[j];
        }
    }
}

/* V (16 planes of stride vplane) for the 4x4 input tiles tx in [t0, t1) of one tile row whose
 * four input rows are r[0..3] (NULL: outside the image, reads as zeros); o points at tile 0's
 * slot in plane 0. interior: every column 2 tx - pw .. 2 tx - pw + 3 is inside the row, so the
 * loop has no bounds checks and vectorises across tiles. */
static inline void FNN(wino_in_tiles)(real *restrict o, int64_t vplane, const real *const r[4],
                                      int64_t pw, int64_t W, int64_t t0, int64_t t1, int interior)
{
    if (interior) {
        const real *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3];
        #pragma omp simd
        for (int64_t tx = t0; tx < t1; tx++) {
            const int64_t q = 2 * tx - pw;
            real d[4][4];
            for (int j = 0; j < 4; j++) {
                d[0][j] = r0[q + j];
                d[1][j] = r1[q + j];
                d[2][j] = r2[q + j];
                d[3][j] = r3[q + j];
            }
            real t[4][4];
            for (int j = 0; j < 4; j++) {          /* B^T d */
                t[0][j] = d[0][j] - d[2][j];
                t[1][j] = d[1][j] + d[2][j];
                t[2][j] = d[2][j] - d[1][j];
                t[3][j] = d[1][j] - d[3][j];
            }
            for (int i = 0; i < 4; i++) {          /* (B^T d) B */
                o[(i * 4 + 0) * vplane + tx] = t[i][0] - t[i][2];
                o[(i * 4 + 1) * vplane + tx] = t[i][1] + t[i][2];
                o[(i * 4 + 2) * vplane + tx] = t[i][2] - t[i][1];
                o[(i * 4 + 3) * vplane + tx] = t[i][1] - t[i][3];
            }
        }
        return;
    }
    for (int64_t tx = t0; tx < t1; tx++) {
        const int64_t q = 2 * tx - pw;
        real d[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                d[i][j] = (r[i] && q + j >= 0 && q + j < W) ? r[i][q + j] : (real)0;
        real t[4][4];
        for (int j = 0; j < 4; j++) {
            t[0][j] = d[0][j] - d[2][j];
            t[1][j] = d[1][j] + d[2][j];
            t[2][j] = d[2][j] - d[1][j];
            t[3][j] = d[1][j] - d[3][j];
        }
        for (int i = 0; i < 4; i++) {
            o[(i * 4 + 0) * vplane + tx] = t[i][0] - t[i][2];
            o[(i * 4 + 1) * vplane + tx] = t[i][1] + t[i][2];
            o[(i * 4 + 2) * vplane + tx] = t[i][2] - t[i][1];
            o[(i * 4 + 3) * vplane + tx] = t[i][1] - t[i][3];
        }
    }
}

/* B^T d for one column (or d B for one row) d0..d5 of a 6x6 input tile, Winograd F(4, 3), into
 * the scalars o0..o5 (macros on scalars: gcc vectorises the loops that use them across tiles,
 * which it did not with small arrays passed to an inline function):
 * B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
 *        [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]] */
#define FNN_WINO4_BT(o0, o1, o2, o3, o4, o5, d0, d1, d2, d3, d4, d5) do { \
        (o0) = 4 * (d0) - 5 * (d2) + (d4);                                 \
        (o1) = (d3) + (d4) - 4 * ((d1) + (d2));                             \
        (o2) = (d4) - (d3) + 4 * ((d1) - (d2));                             \
        (o3) = (d4) - (d2) + 2 * ((d3) - (d1));                             \
        (o4) = (d4) - (d2) - 2 * ((d3) - (d1));                             \
        (o5) = 4 * (d1) - 5 * (d3) + (d5);                                 \
    } while (0)

/* A^T m for one column (or m A for one row) m0..m5 of a 6x6 product tile, into o0..o3:
 * A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]] */
#define FNN_WINO4_AT(o0, o1, o2, o3, m0, m1, m2, m3, m4, m5) do { \
        const real s12_ = (m1) + (m2), d12_ = (m1) - (m2);          \
        const real s34_ = (m3) + (m4), d34_ = (m3) - (m4);          \
        (o0) = (m0) + s12_ + s34_;                                  \
        (o1) = d12_ + 2 * d34_;                                     \
        (o2) = s12_ + 4 * s34_;                                     \
        (o3) = d12_ + 8 * d34_ + (m5);                              \
    } while (0)

/* F(4x4, 3x3) input transform of one tile row: V = B^T d B for its tw tiles (6x6 input tiles
 * d at stride 4), into slot 0.. of the 36 planes of stride vplane at o. Input rows r[0..5], a
 * row outside the image is a row of W zeros. Written as two passes through tb, each
 * along contiguous memory so that gcc vectorises them across tiles (a 6x6 tile per SIMD lane
 * needed strided loads it would not vectorise):
 *   1. B^T down the columns: for every input column u = 4 t + k - pw (k = 0..3, zero outside
 *      the image), the six values tb[(k * 6 + i) * (tw + 1) + t], i = 0..5 (t = 0..tw);
 *   2. B along the rows: tile tx's columns are u = 4 tx + c, c = 0..5, i.e. phase c at t = tx
 *      for c < 4, phases 0 and 1 at t = tx + 1 for c = 4, 5. */
static inline void FNN(wino4_in_row)(real *restrict o, int64_t vplane, const real *const r[6],
                                     int64_t pw, int64_t W, int64_t tw, real *restrict tb)
{
    const int64_t ts = tw + 1;
    const real *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4], *r5 = r[5];
    real *t0 = tb, *t1 = tb + ts, *t2 = tb + 2 * ts, *t3 = tb + 3 * ts, *t4 = tb + 4 * ts, *t5 = tb + 5 * ts;
    /* pass 1, phase k at t0..t5 + k * 6 * ts; interior t: all four columns inside the image */
    int64_t lo = (pw + 3) / 4, hi = W - 4 + pw >= 0 ? (W - 4 + pw) / 4 + 1 : 0;
    if (hi > ts) hi = ts;
    if (lo > hi) lo = hi;
    #pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        const int64_t ko = (int64_t)k * 6 * ts;
        for (int64_t t = 0; t < ts; t++) {
            if (t == lo) {
                #pragma omp simd
                for (int64_t u = lo; u < hi; u++) {
                    const int64_t w = 4 * u + k - pw;
                    FNN_WINO4_BT(t0[ko + u], t1[ko + u], t2[ko + u], t3[ko + u], t4[ko + u], t5[ko + u],
                                 r0[w], r1[w], r2[w], r3[w], r4[w], r5[w]);
                }
                t = hi;
                if (t >= ts)
                    break;
            }
            const int64_t w = 4 * t + k - pw;
            const int in = w >= 0 && w < W;
            const real d0 = in ? r0[w] : 0, d1 = in ? r1[w] : 0, d2 = in ? r2[w] : 0;
            const real d3 = in ? r3[w] : 0, d4 = in ? r4[w] : 0, d5 = in ? r5[w] : 0;
            FNN_WINO4_BT(t0[ko + t], t1[ko + t], t2[ko + t], t3[ko + t], t4[ko + t], t5[ko + t],
                         d0, d1, d2, d3, d4, d5);
        }
    }
    /* pass 2 */
    for (int i = 0; i < 6; i++) {
        const real *p0 = tb + (0 * 6 + i) * ts, *p1 = tb + (1 * 6 + i) * ts;
        const real *p2 = tb + (2 * 6 + i) * ts, *p3 = tb + (3 * 6 + i) * ts;
        real *o0 = o + (int64_t)(i * 6) * vplane, *o1 = o0 + vplane, *o2 = o1 + vplane;
        real *o3 = o2 + vplane, *o4 = o3 + vplane, *o5 = o4 + vplane;
        #pragma omp simd
        for (int64_t tx = 0; tx < tw; tx++)
            FNN_WINO4_BT(o0[tx], o1[tx], o2[tx], o3[tx], o4[tx], o5[tx],
                         p0[tx], p1[tx], p2[tx], p3[tx], p0[tx + 1], p1[tx + 1]);
    }
}

/* Output tiles tx in [t0, t1) of one tile row: y0/y1 the two output rows (y1 NULL past the
 * end), e tile 0's slot in plane 0 of M (planes of stride mplane); every tile here is whole
 * horizontally (2 tx + 1 < W_out) */
static inline void FNN(wino_relu_row)(real *restrict y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = y[i] > 0 ? y[i] : (real)0;
}

static inline void FNN(wino_out_tiles)(real *restrict y0, real *restrict y1, const real *restrict e,
                                       int64_t mplane, real bv, int relu, int64_t t0, int64_t t1)
{
    #pragma omp simd
    for (int64_t tx = t0; tx < t1; tx++) {
        real a[2][4];
        for (int j = 0; j < 4; j++) {              /* A^T M */
            const real m0 = e[(0 + j) * mplane + tx], m1 = e[(4 + j) * mplane + tx];
            const real m2 = e[(8 + j) * mplane + tx], m3 = e[(12 + j) * mplane + tx];
            a[0][j] = m0 + m1 + m2;
            a[1][j] = m1 - m2 - m3;
        }
        real o00 = a[0][0] + a[0][1] + a[0][2] + bv, o01 = a[0][1] - a[0][2] - a[0][3] + bv;
        real o10 = a[1][0] + a[1][1] + a[1][2] + bv, o11 = a[1][1] - a[1][2] - a[1][3] + bv;
        if (relu) {
            o00 = o00 > 0 ? o00 : (real)0;
            o01 = o01 > 0 ? o01 : (real)0;
            o10 = o10 > 0 ? o10 : (real)0;
            o11 = o11 > 0 ? o11 : (real)0;
        }
        y0[2 * tx] = o00;
        y0[2 * tx + 1] = o01;
        if (y1) {
            y1[2 * tx] = o10;
            y1[2 * tx + 1] = o11;
        }
    }
}

/* V ((m+2)^2, C, L) = B^T d B for every (m+2) x (m+2) input tile d (stride m, zero outside
 * the image) of the tile rows r0 .. r1-1 (tile row r: image r / tiles_h, row r % tiles_h),
 * L = (r1 - r0) * tiles_w, m = pl->m; scratch: the thread's wino4 scratch (m = 4 only). */
FNN_HOT static void FNN(wino_in_block)(real *v, real *scratch, const real *x, const fnn_conv_geom *g,
                                       const fnn_wino_plan *pl, int64_t r0, int64_t r1)
{
    const int64_t H = g->h, W = g->w, C = g->c, m = pl->m, a = m + 2;
    const int64_t th = pl->tiles_h, tw = pl->tiles_w, L = (r1 - r0) * tw;
    const int64_t vplane = C * L, pw = g->pw;
    /* tiles whose a input columns are all inside the image: m tx - pw >= 0, m tx - pw + a <= W */
    int64_t lo = (pw + m - 1) / m, hi = W - a + pw >= 0 ? (W - a + pw) / m + 1 : 0;
    if (hi > tw) hi = tw;
    if (lo > hi) lo = hi;
    for (int64_t c = 0; c < C; c++) {
        for (int64_t gr = r0; gr < r1; gr++) {
            const int64_t n = gr / th, ty = gr % th;
            const real *xc = x + (n * C + c) * H * W;
            const real *r[6];
            int inside = 1;
            for (int64_t i = 0; i < a; i++) {
                const int64_t row = m * ty - g->ph + i;
                r[i] = row >= 0 && row < H ? xc + row * W : NULL;
                inside &= r[i] != NULL;
            }
            real *o = v + c * L + (gr - r0) * tw;
            if (m == 4) {
                for (int64_t i = 0; i < a; i++)
                    if (!r[i])
                        r[i] = scratch;            /* FNN_WINO4_SCRATCH: W zeros first */
                FNN(wino4_in_row)(o, vplane, r, pw, W, tw, scratch + FNN_WINO4_TB(g, tw));
                continue;
            }
            const int64_t cuts[4] = {0, inside ? lo : tw, inside ? hi : tw, tw};
            for (int part = 0; part < 3; part++) {   /* edge tiles, interior tiles, edge tiles */
                if (cuts[part] < cuts[part + 1])
                    FNN(wino_in_tiles)(o, vplane, r, pw, W, cuts[part], cuts[part + 1], part == 1);
            }
        }
    }
}

/* One tile row of the F(2x2, 3x3) output of one channel: output rows 2 ty, 2 ty + 1 of the
 * channel's plane yc (H_out x W_out), from e, tile 0's slot in plane 0 of M (planes of stride
 * mplane); + bias bv, relu when act says so. A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]. */
static inline void FNN(wino2_out_row)(real *yc, int64_t ty, int64_t ho, int64_t wo, const real *e,
                                      int64_t mplane, int64_t tw, real bv, int act)
{
    real *y0 = yc + 2 * ty * wo, *y1 = 2 * ty + 1 < ho ? y0 + wo : NULL;
    const int64_t whole = wo / 2;           /* tiles with both output columns inside */
    FNN(wino_out_tiles)(y0, y1, e, mplane, bv, 0, 0, whole);
    if (act == FNN_ACT_RELU) {     /* a separate pass on the cache-hot rows: a relu
                                    * branch inside the tile loop stops it vectorising */
        FNN(wino_relu_row)(y0, 2 * whole);
        if (y1)
            FNN(wino_relu_row)(y1, 2 * whole);
    }
    if (whole < tw) {              /* odd W_out: the last tile's left column only */
        const int64_t tx = whole;
        real a[2][3];
        for (int j = 0; j < 3; j++) {
            const real m0 = e[(0 + j) * mplane + tx], m1 = e[(4 + j) * mplane + tx];
            const real m2 = e[(8 + j) * mplane + tx], m3 = e[(12 + j) * mplane + tx];
            a[0][j] = m0 + m1 + m2;
            a[1][j] = m1 - m2 - m3;
        }
        real o0 = a[0][0] + a[0][1] + a[0][2] + bv, o1 = a[1][0] + a[1][1] + a[1][2] + bv;
        if (act == FNN_ACT_RELU) {
            o0 = o0 > 0 ? o0 : (real)0;
            o1 = o1 > 0 ? o1 : (real)0;
        }
        y0[2 * tx] = o0;
        if (y1)
            y1[2 * tx] = o1;
    }
}

/* F(4x4, 3x3) output transform of one tile row of one channel: y = A^T M A + bv (relu when
 * act says so) for its tw tiles, M in slot 0.. of the 36 planes of stride mplane at e, output
 * rows 4 ty .. 4 ty + 3 of the channel's plane yc. Two passes through ob, contiguous as in
 * wino4_in_row: 1. A^T down the columns, ob[(q * 6 + j) * tw + tx] = (A^T M[., j])_q;
 * 2. A along the rows, each tile's 4 outputs to y row 4 ty + q, columns 4 tx .. 4 tx + 3. */
static inline void FNN(wino4_out_row)(real *yc, real *restrict ob, int64_t ty, int64_t ho,
                                      int64_t wo, const real *e, int64_t mplane, int64_t tw,
                                      real bv, int act)
{
    for (int j = 0; j < 6; j++) {
        const real *e0 = e + (0 + j) * mplane, *e1 = e + (6 + j) * mplane;
        const real *e2 = e + (12 + j) * mplane, *e3 = e + (18 + j) * mplane;
        const real *e4 = e + (24 + j) * mplane, *e5 = e + (30 + j) * mplane;
        real *b0 = ob + (0 * 6 + j) * tw, *b1 = ob + (1 * 6 + j) * tw;
        real *b2 = ob + (2 * 6 + j) * tw, *b3 = ob + (3 * 6 + j) * tw;
        #pragma omp simd
        for (int64_t tx = 0; tx < tw; tx++)
            FNN_WINO4_AT(b0[tx], b1[tx], b2[tx], b3[tx], e0[tx], e1[tx], e2[tx], e3[tx], e4[tx], e5[tx]);
    }
    const int64_t whole = wo / 4;            /* tiles with all four output columns inside */
    for (int q = 0; q < 4 && 4 * ty + q < ho; q++) {
        real *restrict yr = yc + (4 * ty + q) * wo;
        const real *q0 = ob + (q * 6) * tw, *q1 = q0 + tw, *q2 = q1 + tw, *q3 = q2 + tw;
        const real *q4 = q3 + tw, *q5 = q4 + tw;
        #pragma omp simd
        for (int64_t tx = 0; tx < whole; tx++) {
            real c0, c1, c2, c3;
            FNN_WINO4_AT(c0, c1, c2, c3, q0[tx], q1[tx], q2[tx], q3[tx], q4[tx], q5[tx]);
            yr[4 * tx] = c0 + bv;
            yr[4 * tx + 1] = c1 + bv;
            yr[4 * tx + 2] = c2 + bv;
            yr[4 * tx + 3] = c3 + bv;
        }
        if (whole < tw) {                    /* the last tile's first W_out % 4 columns */
            const int64_t tx = whole;
            real c[4];
            FNN_WINO4_AT(c[0], c[1], c[2], c[3], q0[tx], q1[tx], q2[tx], q3[tx], q4[tx], q5[tx]);
            for (int64_t k = 0; k < wo - 4 * whole; k++)
                yr[4 * tx + k] = c[k] + bv;
        }
        if (act == FNN_ACT_RELU)
            FNN(wino_relu_row)(yr, wo);
    }
}

/* Forward of the tile rows r0 .. r1-1 (tile row r: image r / tiles_h, row r % tiles_h) on the
 * calling thread, by Winograd F(m x m, 3x3), m = pl->m: V = B^T d B for every input tile d,
 * (m+2)^2 GEMMs M[k] (C_out, L) = U[k] (C_out, C) @ V[k] (C, L), then the m x m output tile
 * A^T M A, bias, relu. The transforms run along tile rows, vectorised across tiles. */
FNN_HOT static void FNN(wino_fwd_block)(real *y, real *v, real *mm, real *scratch, const real *x,
                                        const real *u, const real *b, const fnn_conv_geom *g,
                                        const fnn_wino_plan *pl, int64_t r0, int64_t r1, int act)
{
    const int64_t ho = g->h_out, wo = g->w_out, C = g->c, CO = g->c_out;
    const int64_t th = pl->tiles_h, tw = pl->tiles_w, L = (r1 - r0) * tw;
    const int64_t vplane = C * L, mplane = CO * L;
    FNN(wino_in_block)(v, scratch, x, g, pl, r0, r1);
    for (int k = 0; k < pl->planes; k++)
        FNN(fnn_gemm_serial)(0, 0, CO, L, C, 1, u + (int64_t)k * CO * C, C, v + (int64_t)k * vplane, L,
                             0, mm + (int64_t)k * mplane, L);
    for (int64_t co = 0; co < CO; co++) {
        const real bv = b ? b[co] : (real)0;
        for (int64_t gr = r0; gr < r1; gr++) {
            const int64_t n = gr / th, ty = gr % th;
            real *yc = y + (n * CO + co) * ho * wo;
            const real *e = mm + co * L + (gr - r0) * tw;
            if (pl->m == 4)
                FNN(wino4_out_row)(yc, scratch + FNN_WINO4_OB(g, tw), ty, ho, wo, e, mplane, tw, bv, act);
            else
                FNN(wino2_out_row)(yc, ty, ho, wo, e, mplane, tw, bv, act);
        }
    }
}

/* The whole Winograd forward pass (fnn_conv_use_wino(g) holds); work as fnn_wino_make_plan
 * with m = fnn_wino_tile(g). */
static void FNN(wino_forward)(real *y, void *work, const real *x, const real *w, const real *b,
                              const fnn_conv_geom *g, int act)
{
    const fnn_wino_plan wp = fnn_wino_make_plan(g, fnn_wino_tile(g), (int)sizeof(real));
    real *u = (real *)work;
    char *wbase = (char *)work + wp.base;
    FNN(wino_weights)(u, w, g->c_out, g->c, wp.m);
    int ntw = fnn_conv_team(g, g->n * g->c_out * g->h_out * g->w_out * g->c * 4);
    const int64_t all_rows = g->n * wp.tiles_h, nblocks = (all_rows + wp.rows - 1) / wp.rows;
    #pragma omp parallel num_threads(ntw) if(ntw > 1)
    {
        char *mine = wbase + wp.per_thread * fnn_thread_id();
        real *v = (real *)(mine + wp.v), *mm = (real *)(mine + wp.mm), *sc = (real *)(mine + wp.scratch);
        if (wp.m == 4)
            for (int64_t i = 0; i < g->w; i++)    /* the zero row of FNN_WINO4_SCRATCH */
                sc[i] = 0;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t bi = 0; bi < nblocks; bi++) {
            const int64_t r0 = bi * wp.rows;
            const int64_t r1 = all_rows - r0 < wp.rows ? all_rows : r0 + wp.rows;
            FNN(wino_fwd_block)(y, v, mm, sc, x, u, b, g, &wp, r0, r1, act);
        }
    }
}

/* The weight gradient by Winograd F(m x m, 3x3), m = fnn_wino_tile(g) (fnn_conv_use_wino(g)
 * holds), the adjoint of wino_fwd_block: with V = B^T d B for every input tile and
 * dM = A dY A^T for the matching m x m output-gradient tile (zero past H_out / W_out),
 * dU[k] (C_out, C) = sum over tiles of dM[k] (C_out, L) @ V[k]^T (L, C), (m+2)^2 GEMMs per
 * block of tile rows, and dw = G^T dU G per filter. Same blocks as the forward pass, but handed out statically (thread t always sums the
 * same run of blocks into its own dU, thread 0 into the shared one; added in thread order), so
 * dw is identical from run to run. db comes from the same pass over dz, in double.
 * Workspace: the forward plan (its U region is thread 0's dU, its per-thread V and M hold V
 * and dM), then T - 1 more dU accumulators and T x C_out double bias sums. */
/* dM = A dY A^T for the 2x2 output-gradient tile [[a, b], [c, d]] in slot tx of the 16 planes
 * of stride mplane at e; A = [[1, 0], [1, 1], [1, -1], [0, -1]] */
static inline void FNN(wino_dy_store)(real *restrict e, int64_t mplane, int64_t tx,
                                      real a, real b, real c, real d)
{
    const real p[4] = {a, a + c, a - c, -c}, q[4] = {b, b + d, b - d, -d};
    for (int i = 0; i < 4; i++) {
        e[(i * 4 + 0) * mplane + tx] = p[i];
        e[(i * 4 + 1) * mplane + tx] = p[i] + q[i];
        e[(i * 4 + 2) * mplane + tx] = p[i] - q[i];
        e[(i * 4 + 3) * mplane + tx] = -q[i];
    }
}

/* dM for the output-gradient tiles of one tile row of one output channel: z0 / z1 its two rows
 * (z1 NULL past H_out), e tile 0's slot in plane 0; tiles tx < whole have both columns inside,
 * the one at whole (odd W_out) only its left one, the rest reads as zeros. Returns the row's
 * sum in double (for db). */
static inline double FNN(wino_dy_tiles)(real *restrict e, int64_t mplane, const real *restrict z0,
                                        const real *restrict z1, int64_t whole, int64_t tw)
{
    double s = 0;
    if (z1) {
        #pragma omp simd reduction(+:s)
        for (int64_t tx = 0; tx < whole; tx++) {
            const real a = z0[2 * tx], b = z0[2 * tx + 1], c = z1[2 * tx], d = z1[2 * tx + 1];
            s += ((double)a + (double)b) + ((double)c + (double)d);
            FNN(wino_dy_store)(e, mplane, tx, a, b, c, d);
        }
    } else {
        #pragma omp simd reduction(+:s)
        for (int64_t tx = 0; tx < whole; tx++) {
            const real a = z0[2 * tx], b = z0[2 * tx + 1];
            s += (double)a + (double)b;
            FNN(wino_dy_store)(e, mplane, tx, a, b, 0, 0);
        }
    }
    if (whole < tw) {
        const real a = z0[2 * whole], c = z1 ? z1[2 * whole] : (real)0;
        s += (double)a + (double)c;
        FNN(wino_dy_store)(e, mplane, whole, a, 0, c, 0);
    }
    return s;
}

/* A y for a column (or a row) y0..y3 of a 4x4 output-gradient tile, into o0..o5: the adjoint
 * of FNN_WINO4_AT, A = (A^T)^T = [[1, 0, 0, 0], [1, 1, 1, 1], [1, -1, 1, -1], [1, 2, 4, 8],
 * [1, -2, 4, -8], [0, 0, 0, 1]] */
#define FNN_WINO4_A(o0, o1, o2, o3, o4, o5, y0, y1, y2, y3) do { \
        const real e02_ = (y0) + (y2), e13_ = (y1) + (y3);          \
        const real f02_ = (y0) + 4 * (y2), f13_ = 2 * (y1) + 8 * (y3); \
        (o0) = (y0);                                                \
        (o1) = e02_ + e13_;                                         \
        (o2) = e02_ - e13_;                                         \
        (o3) = f02_ + f13_;                                         \
        (o4) = f02_ - f13_;                                         \
        (o5) = (y3);                                                \
    } while (0)

/* dM = A dY A^T for the 4x4 output-gradient tiles of one tile row of one output channel, into
 * slot 0.. of the 36 planes of stride mplane at e: z[0..3] the tile row's four dz rows (NULL
 * past H_out: zeros), tiles tx < whole whole, the one at whole (W_out % 4 != 0) cut at W_out.
 * Two contiguous passes through hb (24 tw), as wino4_in_row: A along each row, then down the
 * columns. Returns the sum of the row's dz in double (for db). */
static inline double FNN(wino4_dy_row)(real *restrict e, int64_t mplane, const real *const z[4],
                                    int64_t wo, int64_t whole, int64_t tw, real *restrict hb)
{
    double s = 0;
    for (int p = 0; p < 4; p++) {
        real *h0 = hb + (p * 6) * tw, *h1 = h0 + tw, *h2 = h1 + tw, *h3 = h2 + tw;
        real *h4 = h3 + tw, *h5 = h4 + tw;
        const real *zp = z[p];
        if (!zp) {
            for (int64_t tx = 0; tx < 6 * tw; tx++)
                h0[tx] = 0;
            continue;
        }
        #pragma omp simd reduction(+:s)
        for (int64_t tx = 0; tx < whole; tx++) {
            const real y0 = zp[4 * tx], y1 = zp[4 * tx + 1], y2 = zp[4 * tx + 2], y3 = zp[4 * tx + 3];
            s += ((double)y0 + (double)y1) + ((double)y2 + (double)y3);
            FNN_WINO4_A(h0[tx], h1[tx], h2[tx], h3[tx], h4[tx], h5[tx], y0, y1, y2, y3);
        }
        if (whole < tw) {
            real y[4] = {0, 0, 0, 0};
            for (int64_t q = 0; q < wo - 4 * whole; q++) {
                y[q] = zp[4 * whole + q];
                s += (double)y[q];
            }
            FNN_WINO4_A(h0[whole], h1[whole], h2[whole], h3[whole], h4[whole], h5[whole],
                        y[0], y[1], y[2], y[3]);
        }
    }
    for (int j = 0; j < 6; j++) {
        const real *g0 = hb + (0 * 6 + j) * tw, *g1 = hb + (1 * 6 + j) * tw;
        const real *g2 = hb + (2 * 6 + j) * tw, *g3 = hb + (3 * 6 + j) * tw;
        real *o0 = e + (0 + j) * mplane, *o1 = e + (6 + j) * mplane, *o2 = e + (12 + j) * mplane;
        real *o3 = e + (18 + j) * mplane, *o4 = e + (24 + j) * mplane, *o5 = e + (30 + j) * mplane;
        #pragma omp simd
        for (int64_t tx = 0; tx < tw; tx++)
            FNN_WINO4_A(o0[tx], o1[tx], o2[tx], o3[tx], o4[tx], o5[tx], g0[tx], g1[tx], g2[tx], g3[tx]);
    }
    return s;
}

/* G^T u for a column (or a row) u0..u5 of a 6x6 dU tile, into o0..o2 (double): the adjoint of
 * fnn_wino_g for m = 4 */
#define FNN_WINO4_GT(o0, o1, o2, u0, u1, u2, u3, u4, u5) do { \
        (o0) = (u0) / 4 - ((u1) + (u2)) / 6 + ((u3) + (u4)) / 24;  \
        (o1) = ((u2) - (u1)) / 6 + ((u3) - (u4)) / 12;               \
        (o2) = ((u3) + (u4) - (u1) - (u2)) / 6 + (u5);               \
    } while (0)

/* dw (C_out, C, 3, 3) = G^T dU G for every filter, dU (36, C_out, C), in double; filters
 * f0 .. f1-1 */
static void FNN(wino4_dw_out)(real *dw, const real *du, int64_t plane, int64_t f0, int64_t f1)
{
    for (int64_t f = f0; f < f1; f++) {
        double t[3][6];
        for (int j = 0; j < 6; j++) {              /* G^T dU: column j */
            const real *c = du + (int64_t)j * plane + f;
            FNN_WINO4_GT(t[0][j], t[1][j], t[2][j], (double)c[0], (double)c[6 * plane],
                         (double)c[12 * plane], (double)c[18 * plane], (double)c[24 * plane],
                         (double)c[30 * plane]);
        }
        real *o = dw + f * 9;
        for (int i = 0; i < 3; i++) {              /* (G^T dU) G: row i */
            double a, b, c;
            FNN_WINO4_GT(a, b, c, t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5]);
            o[i * 3 + 0] = (real)a;
            o[i * 3 + 1] = (real)b;
            o[i * 3 + 2] = (real)c;
        }
    }
}

/* dw (C_out, C, 3, 3) = G^T dU G for every filter, dU (16, C_out, C); filters f0 .. f1-1 */
static void FNN(wino_dw_out)(real *dw, const real *du, int64_t plane, int64_t f0, int64_t f1)
{
    for (int64_t f = f0; f < f1; f++) {
        real t[3][4];
        for (int j = 0; j < 4; j++) {              /* G^T dU: rows */
            const real u0 = du[(0 + j) * plane + f], u1 = du[(4 + j) * plane + f];
            const real u2 = du[(8 + j) * plane + f], u3 = du[(12 + j) * plane + f];
            t[0][j] = u0 + (u1 + u2) / 2;
            t[1][j] = (u1 - u2) / 2;
            t[2][j] = (u1 + u2) / 2 + u3;
        }
        real *o = dw + f * 9;
        for (int i = 0; i < 3; i++) {              /* (G^T dU) G: columns */
            o[i * 3 + 0] = t[i][0] + (t[i][1] + t[i][2]) / 2;
            o[i * 3 + 1] = (t[i][1] - t[i][2]) / 2;
            o[i * 3 + 2] = (t[i][1] + t[i][2]) / 2 + t[i][3];
        }
    }
}

/* dw and db (db may be NULL) from dz (N, C_out, H_out, W_out), the activation already applied */
FNN_HOT static void FNN(wino_dw)(real *dw, real *db, void *work, const real *dz, const real *x,
                         const fnn_conv_geom *g)
{
    const fnn_dw_wino_plan dp = fnn_dw_wino_make_plan(g, (int)sizeof(real));
    const fnn_wino_plan *wp = &dp.w;
    const int64_t C = g->c, CO = g->c_out, ho = g->h_out, wo = g->w_out, plane = CO * C;
    const int mt = wp->m, P = wp->planes;
    const int64_t th = wp->tiles_h, tw = wp->tiles_w, whole = wo / mt;
    char *wbase = (char *)work + wp->base;
    double *dbacc = (double *)((char *)work + dp.dbacc);
    int ntw = fnn_conv_team(g, g->n * CO * ho * wo * C * 4);
    const int64_t all_rows = g->n * th, nblocks = (all_rows + wp->rows - 1) / wp->rows;
    #pragma omp parallel num_threads(ntw) if(ntw > 1)
    {
        const int t = fnn_thread_id();
        int T = fnn_team_size();
        char *mine = wbase + wp->per_thread * t;
        real *v = (real *)(mine + wp->v), *m = (real *)(mine + wp->mm);
        real *sc = (real *)(mine + wp->scratch);
        if (mt == 4)
            for (int64_t i = 0; i < g->w; i++)    /* the zero row of FNN_WINO4_SCRATCH */
                sc[i] = 0;
        real *du = t == 0 ? (real *)work : (real *)((char *)work + dp.du + dp.du_bytes * (t - 1));
        double *dbt = dbacc + (int64_t)t * CO;
        for (int64_t co = 0; co < CO; co++)
            dbt[co] = 0;
        int first = 1;
        #pragma omp for schedule(static) nowait   /* static: run-to-run identical dw */
        for (int64_t bi = 0; bi < nblocks; bi++) {
            const int64_t r0 = bi * wp->rows;
            const int64_t r1 = all_rows - r0 < wp->rows ? all_rows : r0 + wp->rows;
            const int64_t L = (r1 - r0) * tw, mplane = CO * L;
            FNN(wino_in_block)(v, sc, x, g, wp, r0, r1);
            for (int64_t co = 0; co < CO; co++) {
                double s = 0;
                for (int64_t gr = r0; gr < r1; gr++) {
                    const int64_t n = gr / th, ty = gr % th;
                    const real *zc = dz + (n * CO + co) * ho * wo;
                    real *e = m + co * L + (gr - r0) * tw;
                    if (mt == 4) {
                        const real *z[4];
                        for (int q = 0; q < 4; q++)
                            z[q] = 4 * ty + q < ho ? zc + (4 * ty + q) * wo : NULL;
                        s += FNN(wino4_dy_row)(e, mplane, z, wo, whole, tw, sc + FNN_WINO4_OB(g, tw));
                    } else {
                        const real *z0 = zc + 2 * ty * wo, *z1 = 2 * ty + 1 < ho ? z0 + wo : NULL;
                        s += FNN(wino_dy_tiles)(e, mplane, z0, z1, whole, tw);
                    }
                }
                dbt[co] += s;
            }
            for (int k = 0; k < P; k++)
                FNN(fnn_gemm_serial)(0, 1, CO, C, L, 1, m + (int64_t)k * mplane, L,
                                     v + (int64_t)k * C * L, L, first ? 0 : 1, du + (int64_t)k * plane, C);
            first = 0;
        }
        if (first)                         /* this thread had no block: contribute zeros */
            for (int64_t k = 0; k < P * plane; k++)
                du[k] = 0;
        real *du0 = (real *)work;
        if (T > 1) {
            #pragma omp barrier
            const int64_t k0 = P * plane * t / T, k1 = P * plane * (t + 1) / T;
            for (int u = 1; u < T; u++) {  /* dU += the other threads' accumulators, in order */
                const real *other = (const real *)((char *)work + dp.du + dp.du_bytes * (u - 1));
                for (int64_t k = k0; k < k1; k++)
                    du0[k] += other[k];
            }
            #pragma omp barrier
        }
        if (mt == 4)
            FNN(wino4_dw_out)(dw, du0, plane, plane * t / T, plane * (t + 1) / T);
        else
            FNN(wino_dw_out)(dw, du0, plane, plane * t / T, plane * (t + 1) / T);
        if (db && t == 0)
            for (int64_t co = 0; co < CO; co++) {
                double s = 0;
                for (int u = 0; u < T; u++)
                    s += dbacc[(int64_t)u * CO + co];
                db[co] = (real)s;
            }
    }
}

/* The direct path (fnn_conv_use_direct): one image x (C, H, W) -> y (C_out, H_out, W_out) with
 * the weights as wt (blocks of 8 output channels, K, 8). The accumulators are GCC/Clang generic
 * vectors (vector_size: plain C operators, lowered to AVX2 in the x86-64-v3 clone and to SSE2
 * pairs in the baseline one), because written as arrays the auto-vectoriser kept them on the
 * stack and transposed them with shuffles (4x slower than im2col + GEMM). FNN_DVL output
 * columns per block; the last block of a row is moved left to end at W_out (W_out >= FNN_DVL),
 * recomputing a few columns with the same arithmetic rather than running a scalar tail. */
#define FNN_DVL (32 / (int)sizeof(real))
typedef real FNN(dvec) __attribute__((vector_size(32)));

FNN_HOT static void FNN(direct_fwd_image)(real *y, const real *x, const real *wt, const real *b,
                                          const fnn_conv_geom *g, int act)
{
    const int64_t kh = g->kh, kw = g->kw, W = g->w, hw = g->h * g->w;
    const int64_t ho = g->h_out, wo = g->w_out, P = ho * wo, K = g->c * kh * kw;
    const int64_t nblk = (g->c_out + FNN_DIRECT_CB - 1) / FNN_DIRECT_CB;
    for (int64_t cb = 0; cb < nblk; cb++) {
        const real *wb = wt + cb * K * FNN_DIRECT_CB;
        const int64_t co0 = cb * FNN_DIRECT_CB;
        const int64_t cn = g->c_out - co0 < FNN_DIRECT_CB ? g->c_out - co0 : FNN_DIRECT_CB;
        for (int64_t oh = 0; oh < ho; oh++) {
            for (int64_t ow = 0; ow < wo; ow += FNN_DVL) {
                const int64_t ow0 = ow + FNN_DVL <= wo ? ow : wo - FNN_DVL;
                FNN(dvec) a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
                const real *wk = wb;
                for (int64_t c = 0; c < g->c; c++) {
                    for (int64_t i = 0; i < kh; i++) {
                        const real *xr = x + c * hw + (oh + i) * W + ow0;
                        for (int64_t j = 0; j < kw; j++, wk += FNN_DIRECT_CB) {
                            FNN(dvec) xv;
                            memcpy(&xv, xr + j, sizeof xv);
                            a0 += wk[0] * xv;
                            a1 += wk[1] * xv;
                            a2 += wk[2] * xv;
                            a3 += wk[3] * xv;
                            a4 += wk[4] * xv;
                            a5 += wk[5] * xv;
                            a6 += wk[6] * xv;
                            a7 += wk[7] * xv;
                        }
                    }
                }
                const FNN(dvec) acc[FNN_DIRECT_CB] = {a0, a1, a2, a3, a4, a5, a6, a7};
                for (int64_t co = 0; co < cn; co++) {
                    const FNN(dvec) v = acc[co] + (b ? b[co0 + co] : (real)0);
                    real *d = y + (co0 + co) * P + oh * wo + ow0;
                    memcpy(d, &v, sizeof v);
                    if (act == FNN_ACT_RELU)
                        for (int l = 0; l < FNN_DVL; l++)
                            d[l] = d[l] > 0 ? d[l] : (real)0;
                }
            }
        }
    }
}

/* wt (ceil(C_out / 8), K, 8) = w (C_out, K) in blocks of 8 output channels, zero-padded */
static void FNN(direct_weights)(real *wt, const real *w, const fnn_conv_geom *g)
{
    const int64_t K = g->c * g->kh * g->kw, nblk = (g->c_out + FNN_DIRECT_CB - 1) / FNN_DIRECT_CB;
    for (int64_t cb = 0; cb < nblk; cb++)
        for (int64_t k = 0; k < K; k++)
            for (int64_t q = 0; q < FNN_DIRECT_CB; q++) {
                const int64_t co = cb * FNN_DIRECT_CB + q;
                wt[(cb * K + k) * FNN_DIRECT_CB + q] = co < g->c_out ? w[co * K + k] : (real)0;
            }
}

static void FNN(direct_forward)(real *y, void *work, const real *x, const real *w, const real *b,
                                const fnn_conv_geom *g, int act)
{
    const int64_t K = g->c * g->kh * g->kw;
    real *wt = (real *)work;
    FNN(direct_weights)(wt, w, g);
    const int64_t xsz = g->c * g->h * g->w, ysz = g->c_out * g->h_out * g->w_out;
    int nt = fnn_conv_team(g, g->n * ysz * K);
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if(nt > 1)
    for (int64_t n = 0; n < g->n; n++)
        FNN(direct_fwd_image)(y + n * ysz, x + n * xsz, wt, b, g, act);
}

void FNN(fnn_conv2d_fwd)(real *y, void *work, const real *x, const real *w, const real *b,
                         const fnn_conv_geom *g, int act)
{
    if (g->n <= 0)
        return;
    if (fnn_conv_use_direct(g)) {
        FNN(direct_forward)(y, work, x, w, b, g, act);
        return;
    }
    if (fnn_conv_use_wino(g)) {
        FNN(wino_forward)(y, work, x, w, b, g, act);
        return;
    }
    const fnn_conv_plan pl = fnn_conv_make_plan(g, 0, (int)sizeof(real));
    const int64_t P = g->h_out * g->w_out, hw = g->h * g->w, rows = g->kh * g->kw;
    const int64_t K = g->c * rows, Kg = K / g->groups, Cog = g->c_out / g->groups;
    const int64_t ysz = g->c_out * P, xsz = g->c * hw;
    int nt = fnn_conv_team(g, g->n * g->c_out * P * Kg);
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
                int t = fnn_thread_id(), T = fnn_team_size();
                FNN(conv_epilogue)(yn, yn, P, b, g->c_out * t / T, g->c_out * (t + 1) / T, P, act);
            }
        }
    }
}

/* The weight gradient on the direct path: dwt (C_out, K) += the correlation of nb images' dz
 * (C_out rows, row stride ld, image s at columns s*P ..) with their inputs xs (image s at
 * xs + s*C*H*W), for every tap k = (c, i, j). Vectors run along output rows, 8 output channels
 * at a time (a partial block rereads its last row and drops the sums); each tap's sums run over
 * the whole batch of images (a short reduction per image would be all overhead) and are reduced
 * across lanes in a fixed order, so the result depends on nothing but the data. */
FNN_HOT static void FNN(direct_dw_batch)(real *dwt, const real *dz, int64_t ld, const real *xs,
                                         int64_t nb, const fnn_conv_geom *g)
{
    const int64_t kh = g->kh, kw = g->kw, W = g->w, hw = g->h * g->w, xsz = g->c * hw;
    const int64_t ho = g->h_out, wo = g->w_out, P = ho * wo, K = g->c * kh * kw;
    for (int64_t co0 = 0; co0 < g->c_out; co0 += FNN_DIRECT_CB) {
        const int64_t cn = g->c_out - co0 < FNN_DIRECT_CB ? g->c_out - co0 : FNN_DIRECT_CB;
#define FNN_DZROW(q) (dz + (co0 + ((q) < cn ? (q) : cn - 1)) * ld)
        const real *r0 = FNN_DZROW(0), *r1 = FNN_DZROW(1), *r2 = FNN_DZROW(2), *r3 = FNN_DZROW(3);
        const real *r4 = FNN_DZROW(4), *r5 = FNN_DZROW(5), *r6 = FNN_DZROW(6), *r7 = FNN_DZROW(7);
#undef FNN_DZROW
        for (int64_t c = 0; c < g->c; c++)
        for (int64_t i = 0; i < kh; i++)
        for (int64_t j = 0; j < kw; j++) {
            const int64_t k = (c * kh + i) * kw + j;
            FNN(dvec) a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            /* the 8 multiply-adds of one vector of columns: x at xp, dz at offset d of each row */
#define FNN_DW_FMA8(xp, d) do {                                     \
                FNN(dvec) xv, v;                                    \
                memcpy(&xv, (xp), sizeof xv);                       \
                memcpy(&v, r0 + (d), sizeof v); a0 += v * xv;       \
                memcpy(&v, r1 + (d), sizeof v); a1 += v * xv;       \
                memcpy(&v, r2 + (d), sizeof v); a2 += v * xv;       \
                memcpy(&v, r3 + (d), sizeof v); a3 += v * xv;       \
                memcpy(&v, r4 + (d), sizeof v); a4 += v * xv;       \
                memcpy(&v, r5 + (d), sizeof v); a5 += v * xv;       \
                memcpy(&v, r6 + (d), sizeof v); a6 += v * xv;       \
                memcpy(&v, r7 + (d), sizeof v); a7 += v * xv;       \
            } while (0)
            if (wo == FNN_DVL) {        /* one vector per row: run down the rows */
                for (int64_t s = 0; s < nb; s++) {
                    const real *xr = xs + s * xsz + c * hw + i * W + j;
                    for (int64_t oh = 0; oh < ho; oh++)
                        FNN_DW_FMA8(xr + oh * W, s * P + oh * wo);
                }
            } else {                    /* along the rows */
                for (int64_t s = 0; s < nb; s++)
                    for (int64_t oh = 0; oh < ho; oh++) {
                        const real *xr = xs + s * xsz + c * hw + (oh + i) * W + j;
                        const int64_t d = s * P + oh * wo;
                        for (int64_t ow = 0; ow < wo; ow += FNN_DVL)
                            FNN_DW_FMA8(xr + ow, d + ow);
                    }
            }
#undef FNN_DW_FMA8
            const FNN(dvec) acc[FNN_DIRECT_CB] = {a0, a1, a2, a3, a4, a5, a6, a7};
            for (int64_t q = 0; q < cn; q++) {
                real lanes[FNN_DVL];
                memcpy(lanes, &acc[q], sizeof lanes);
                real sum = 0;
                for (int l = 0; l < FNN_DVL; l++)
                    sum += lanes[l];
                dwt[(co0 + q) * K + k] += sum;
            }
        }
    }
}

/* The input gradient on the direct path, one image: dx (C, H, W) = the adjoint of the direct
 * forward applied to dz (C_out rows of H_out*W_out, row stride ld), wt as in direct_forward.
 * For 8 output channels and one vector of columns of one output row, the 8 dz vectors stay in
 * registers while every tap (c, i, j) adds sum_q wt[q] dz_q into dx row oh + i at column
 * j + ow (i innermost, so consecutive read-modify-writes touch different rows). Needs
 * W_out % FNN_DVL == 0. */
FNN_HOT static void FNN(direct_dx_image)(real *dx, const real *dz, int64_t ld, const real *wt,
                                         const fnn_conv_geom *g)
{
    const int64_t kh = g->kh, kw = g->kw, W = g->w, hw = g->h * g->w;
    const int64_t ho = g->h_out, wo = g->w_out, K = g->c * kh * kw;
    for (int64_t k = 0; k < g->c * hw; k++)
        dx[k] = 0;
    for (int64_t co0 = 0; co0 < g->c_out; co0 += FNN_DIRECT_CB) {
        const int64_t cn = g->c_out - co0 < FNN_DIRECT_CB ? g->c_out - co0 : FNN_DIRECT_CB;
        const real *wb = wt + co0 * K;             /* this block's (K, 8) weights */
        for (int64_t oh = 0; oh < ho; oh++) {
            for (int64_t ow0 = 0; ow0 < wo; ow0 += FNN_DVL) {
                FNN(dvec) d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0}, d4 = {0}, d5 = {0}, d6 = {0}, d7 = {0};
                const real *src = dz + co0 * ld + oh * wo + ow0;
                /* rows past C_out stay zero (their weights are zero too) */
                memcpy(&d0, src, sizeof d0);
                if (cn > 1) memcpy(&d1, src + ld, sizeof d1);
                if (cn > 2) memcpy(&d2, src + 2 * ld, sizeof d2);
                if (cn > 3) memcpy(&d3, src + 3 * ld, sizeof d3);
                if (cn > 4) memcpy(&d4, src + 4 * ld, sizeof d4);
                if (cn > 5) memcpy(&d5, src + 5 * ld, sizeof d5);
                if (cn > 6) memcpy(&d6, src + 6 * ld, sizeof d6);
                if (cn > 7) memcpy(&d7, src + 7 * ld, sizeof d7);
                for (int64_t c = 0; c < g->c; c++) {
                    real *dxc = dx + c * hw + oh * W + ow0;
                    for (int64_t j = 0; j < kw; j++) {
                        for (int64_t i = 0; i < kh; i++) {
                            const real *wk = wb + ((c * kh + i) * kw + j) * FNN_DIRECT_CB;
                            FNN(dvec) t = wk[0] * d0 + wk[1] * d1 + wk[2] * d2 + wk[3] * d3 +
                                          wk[4] * d4 + wk[5] * d5 + wk[6] * d6 + wk[7] * d7, o;
                            real *dst = dxc + i * W + j;
                            memcpy(&o, dst, sizeof o);
                            o += t;
                            memcpy(dst, &o, sizeof o);
                        }
                    }
                }
            }
        }
    }
}

/* Backward of images n0 .. n0+nb-1 on the calling thread. dwt: this thread's weight-gradient
 * accumulator (overwritten when first, else accumulated); dbt: its double bias sums or NULL. */
static void FNN(conv_bwd_batch)(real *dx, real *dwt, double *dbt, real *cols, real *dcols, real *dzb,
                                const real *dy, const real *x, const real *w, const real *y,
                                const real *wt, const fnn_conv_geom *g, const fnn_conv_plan *pl,
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
    if (dwt && fnn_conv_use_direct_bwd(g) && g->w_out % FNN_DVL == 0) {
        if (first)
            for (int64_t k = 0; k < g->c_out * Kg; k++)
                dwt[k] = 0;
        FNN(direct_dw_batch)(dwt, dz, L, x + n0 * xsz, nb, g);
    } else if (dwt) {
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
    if (dx && wt) {                       /* direct input gradient */
        for (int64_t s = 0; s < nb; s++)
            FNN(direct_dx_image)(dx + (n0 + s) * xsz, dz + s * P, L, wt, g);
    } else if (dx) {
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
    fnn_conv_geom gt;
    if (g->n > 0 && fnn_conv_dx_wino(g, &gt) && (dx || dw)) {
        /* dx by Winograd as the transposed convolution of dz, dw (and db) by Winograd too (the
         * convolution itself qualifies whenever its transpose does); db alone by im2col */
        const fnn_dx_wino_plan dp = fnn_dx_wino_make_plan(g, &gt, act, (int)sizeof(real));
        real *wflip = (real *)((char *)work + dp.wflip);
        const real *dz = dy;
        if (act == FNN_ACT_RELU) {
            real *dzfull = (real *)((char *)work + dp.dz);
            const int64_t total = g->n * g->c_out * g->h_out * g->w_out;
            int nte = fnn_threads_for(total, FNN_CONV_COPY_GRAIN);
            #pragma omp parallel for schedule(static) num_threads(nte) if(nte > 1)
            for (int64_t q = 0; q < g->n * g->c_out; q++) {
                const int64_t P = g->h_out * g->w_out;
                FNN(conv_gather_dz)(dzfull + q * P, P, dy + q * P, y + q * P, 0, 1, P, 1);
            }
            dz = dzfull;
        }
        if (dx) {
            for (int64_t co = 0; co < g->c_out; co++)
                for (int64_t c = 0; c < g->c; c++)
                    for (int k = 0; k < 9; k++)
                        wflip[(c * g->c_out + co) * 9 + k] = w[(co * g->c + c) * 9 + (8 - k)];
            FNN(wino_forward)(dx, work, dz, wflip, NULL, &gt, FNN_ACT_NONE);
        }
        if (dw)
            FNN(wino_dw)(dw, db, (char *)work + dp.rest, dz, x, g);
        else if (db)
            FNN(fnn_conv2d_bwd)(NULL, dw, db, (char *)work + dp.rest, dy, x, w, y, g, act);
        return;
    }
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
    int nt = fnn_conv_team(g, g->n * g->c_out * P * Kg * 2);
    const int64_t nchunks = (g->n + pl.batch - 1) / pl.batch;
    real *wt = NULL;                      /* the direct path's rearranged weights, for dx */
    if (dx && fnn_conv_use_direct_bwd(g) && g->w_out % FNN_DVL == 0) {
        wt = (real *)((char *)work + fnn_align64(pl.total));
        FNN(direct_weights)(wt, w, g);
    }

    if (nt <= 1 || g->n >= nt) {        /* batch-parallel, per-thread dw / db accumulators */
        #pragma omp parallel num_threads(nt) if(nt > 1)
        {
            const int t = fnn_thread_id();
            int T = fnn_team_size();
            char *mine = base + pl.per_thread * t;
            real *cols = (real *)(mine + pl.cols), *dcols = (real *)(mine + pl.dcols);
            real *dzb = (real *)(mine + pl.dz);
            real *dwt = dw == NULL ? NULL : t == 0 ? dw : (real *)(mine + pl.dwacc);
            double *dbt = db ? dbacc + (int64_t)t * g->c_out : NULL;
            if (dbt)
                for (int64_t co = 0; co < g->c_out; co++)
                    dbt[co] = 0;
            int first = 1;
            #pragma omp for schedule(static) nowait   /* static: run-to-run identical dw */
            for (int64_t ci = 0; ci < nchunks; ci++) {
                const int64_t n0 = ci * pl.batch;
                const int64_t nb = g->n - n0 < pl.batch ? g->n - n0 : pl.batch;
                FNN(conv_bwd_batch)(dx, dwt, dbt, cols, dcols, dzb, dy, x, w, y, wt, g, &pl, n0, nb, act, first);
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
                int t = fnn_thread_id(), T = fnn_team_size();
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
