/* rnn.c: Elman RNN (tanh / relu), LSTM and GRU over a whole sequence, forward and backward.
 *
 * Forward: one GEMM projects every time step's input at once, (T*N, D) @ (D, G*H), straight
 * into the buffer the gates live in; then, per step, one GEMM adds h_{t-1} @ w_hh^T and one
 * fused pass over the row applies the biases, the activations and the cell update (mathfn.h's
 * vectorised sigmoid / tanh). The whole time loop runs here, in C.
 * Backward: per step (in reverse) one fused pass turns dh (and dc) into the gate gradients,
 * stored for every step, and one GEMM carries them to dh_{t-1}; the weight, input and bias
 * gradients are then GEMMs / column sums over all steps at once:
 *     dx = dG @ w_ih,  dw_ih = dG^T @ X,  dw_hh = dG[1:]^T @ H[:-1] + dG[0]^T @ h0.
 * Threads: the all-steps GEMMs split through fnn_gemm; the time loop is one OpenMP region in
 * which each thread owns a block of hidden units (see "the time loop" below).
 * Also here: the temporal cross-entropy (masked mean over (T, N) rows of V logits).
 */
#ifndef FNN_GENERIC
#include "fastnn.h"
#include "mathfn.h"
FNN_NO_TRAPPING_MATH

/* Elements per thread worth forking for in the column sums of the bias gradients. */
#define FNN_RNN_GRAIN 32768
/* Multiply-adds per thread and step worth splitting the time loop for (a barrier per step). */
#define FNN_RNN_STEP_GRAIN 65536

#define FNN_GENERIC "rnn.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

/* sigmoid through e^-|x| with mathfn's flushing exp (its argument is <= 0): 1 / (1 + e) for
 * x >= 0, e / (1 + e) below; e^-|x| under FLT_MIN / DBL_MIN is flushed to 0, which changes the
 * result only for x < -87 (float) / -708 (double), where sigmoid is below the smallest normal
 * number anyway. Cheaper than fnn_vsigmoid (no clamps, one scaling). */
FNN_INLINE real FNN(rnn_sigmoid)(real x)
{
    real e = FNN(fnn_vexp_flush)(-fnn_fabs(x));
    real s = 1 / (1 + e), es = e * s;
    return x >= 0 ? s : es;
}

/* tanh. float: for |x| < 0.5 its Taylor polynomial through x^15 (the next term is below
 * 5e-9 relative there), else (1 - e) / (1 + e) with e = e^-2|x| <= 0.37 from the flushing exp
 * (no cancellation: 1 - e >= 0.63); the sign copied from x. Cheaper than fnn_vtanh (one exp
 * scaling, no expm1). double: fnn_vtanh. */
FNN_INLINE real FNN(rnn_tanh)(real x)
{
#if FNN_IS_F32
    float a = fabsf(x), a2 = a * a;
    float p = -929569.0f / 638512875.0f;
    p = p * a2 + 21844.0f / 6081075.0f;
    p = p * a2 - 1382.0f / 155925.0f;
    p = p * a2 + 62.0f / 2835.0f;
    p = p * a2 - 17.0f / 315.0f;
    p = p * a2 + 2.0f / 15.0f;
    p = p * a2 - 1.0f / 3.0f;
    float small = a + a * a2 * p;
    float e = FNN(fnn_vexp_flush)(-2 * a);
    float big = (1 - e) / (1 + e);
    float t = a < 0.5f ? small : big;
    return copysignf(t, x);
#else
    return FNN(fnn_vtanh)(x);
#endif
}

#define SIGM FNN(rnn_sigmoid)
#define TANH FNN(rnn_tanh)

/* ---- shared helpers ----------------------------------------------------------------------- */

/* The gradients that are sums over all steps, from the stored gate gradients:
 * dGi (T*N, GH) the gradient of the input projection, dGh (T*N, GH) of the hidden one. */
static void FNN(rnn_weight_grads)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh,
                                  const real *dGi, const real *dGh, const real *x,
                                  const real *h0, const real *out, const real *w_ih,
                                  int64_t T, int64_t N, int64_t D, int64_t H, int64_t GH)
{
    int64_t TN = T * N;
    FNN(fnn_gemm)(0, 0, TN, D, GH, 1, dGi, GH, w_ih, D, 0, dx, D);
    FNN(fnn_gemm)(1, 0, GH, D, TN, 1, dGi, GH, x, D, 0, dw_ih, D);
    /* dw_hh = sum_t dGh[t]^T h_{t-1}: steps 1.. against out[0 .. T-2] in one GEMM, then h0 */
    FNN(fnn_gemm)(1, 0, GH, H, (T - 1) * N, 1, dGh + N * GH, GH, out, H, 0, dw_hh, H);
    FNN(fnn_gemm)(1, 0, GH, H, N, 1, dGh, GH, h0, H, 1, dw_hh, H);
    if (db_ih)
        FNN(fnn_colsum)(db_ih, dGi, TN, GH, FNN_RNN_GRAIN);
    if (db_hh && db_ih && dGh == dGi)      /* RNN, LSTM: both biases get the same gradient */
        memcpy(db_hh, db_ih, (size_t)GH * sizeof(real));
    else if (db_hh)
        FNN(fnn_colsum)(db_hh, dGh, TN, GH, FNN_RNN_GRAIN);
}

/* dst (n,) = a + b, with NULL read as zeros */
static void FNN(rnn_add_or_zero)(real *dst, const real *a, const real *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = (a ? a[i] : (real)0) + (b ? b[i] : (real)0);
}

/* ---- the time loop: one parallel region, each thread owning a block of hidden units ----------
 *
 * Step t needs all of h_{t-1} (forward) or all of dG_{t+1} (backward), but unit j's gates need
 * only column block j of each gate's GEMM output. So each thread computes, for its own units
 * [j0, j1), the G column blocks of the step's GEMM (serial BLAS calls) and runs the fused gate
 * pass on them; a barrier per step then makes its part of h_t (dG_t) visible to all. One barrier
 * per step, no fork per step, and the gate pass is split too. */

/* Units per thread are multiples of this (a float32 AVX2 vector). */
#define FNN_RNN_UNIT_ALIGN 8

/* Threads for the time loop: each must get >= FNN_RNN_STEP_GRAIN multiply-adds per step and at
 * least one aligned block of units. */
static int FNN(rnn_loop_threads)(int64_t N, int64_t G, int64_t H)
{
    int nt = fnn_threads_for(N * G * H * H, FNN_RNN_STEP_GRAIN);
    int64_t blocks = (H + FNN_RNN_UNIT_ALIGN - 1) / FNN_RNN_UNIT_ALIGN;
    return nt > blocks ? (int)blocks : nt;
}

/* c[:, q*H + j0 .. q*H + j1) (+)= a (N, K) @ w[q*H + j0 .. q*H + j1, :]^T for the G gates q:
 * the forward's per-step product for one block of units. ldc = G*H. */
static void FNN(rnn_gates_gemm)(real *c, const real *a, const real *w, int64_t N, int64_t G,
                                int64_t H, int64_t j0, int64_t j1, real beta)
{
    for (int64_t q = 0; q < G; q++)
        FNN(fnn_gemm_serial)(0, 1, N, j1 - j0, H, 1, a, H, w + (q * H + j0) * H, H, beta,
                             c + q * H + j0, G * H);
}

/* The rows of w (G*H, H) that units [j0, j1) need, gate by gate, copied contiguously to
 * wp + G*j0*H: row G*j0 + q*(j1-j0) + (j-j0) of wp is row q*H + j of w. Then one GEMM per step,
 * s[:, G*j0 ..) = h (N, H) @ that block^T, gives all G gates of the block (h packed once). */
static void FNN(rnn_pack_rows)(real *wp, const real *w, int64_t G, int64_t H, int64_t j0, int64_t j1)
{
    int64_t wd = j1 - j0;
    for (int64_t q = 0; q < G; q++)
        memcpy(wp + (G * j0 + q * wd) * H, w + (q * H + j0) * H, (size_t)(wd * H) * sizeof(real));
}

/* That per-step GEMM: s[:, G*j0 .. G*j1) = h (N, H) @ (the block of wp packed for [j0, j1))^T,
 * s (N, G*H): the block's recurrent products gate by gate, G*(j1-j0) columns. */
static void FNN(rnn_packed_gemm)(real *s, const real *h, const real *wp, int64_t N, int64_t G,
                                 int64_t H, int64_t j0, int64_t j1)
{
    FNN(fnn_gemm_serial)(0, 1, N, G * (j1 - j0), H, 1, h, H, wp + G * j0 * H, H, 0, s + G * j0,
                         G * H);
}

/* dst[:, j0..j1) = src[:, j0..j1) for (N, H) arrays, or 0 when src is NULL */
static void FNN(rnn_copy_units)(real *dst, const real *src, int64_t N, int64_t H, int64_t j0,
                                int64_t j1)
{
    for (int64_t n = 0; n < N; n++) {
        if (src)
            memcpy(dst + n * H + j0, src + n * H + j0, (size_t)(j1 - j0) * sizeof(real));
        else
            memset(dst + n * H + j0, 0, (size_t)(j1 - j0) * sizeof(real));
    }
}

/* dh[:, j0..j1) = add[:, j0..j1) (or 0 when add is NULL), then += dg (N, GH) @ w[:, j0..j1):
 * the backward's per-step product for one block of units (w (GH, H), not transposed). */
static void FNN(rnn_dh_gemm)(real *dh, const real *add, const real *dg, const real *w,
                             int64_t N, int64_t GH, int64_t H, int64_t j0, int64_t j1)
{
    FNN(rnn_copy_units)(dh, add, N, H, j0, j1);
    FNN(fnn_gemm_serial)(0, 0, N, j1 - j0, GH, 1, dg, GH, w + j0, H, 1, dh + j0, H);
}

/* ---- Elman RNN ---------------------------------------------------------------------------- */

/* row[j0..j1) = act(row + b) */
FNN_HOT static void FNN(rnn_act_row)(real *restrict row, const real *restrict b, int64_t j0,
                                     int64_t j1, int relu)
{
    if (relu) {
        for (int64_t j = j0; j < j1; j++) {
            real v = row[j] + b[j];
            row[j] = v > 0 ? v : (real)0;
        }
    } else {
        for (int64_t j = j0; j < j1; j++)
            row[j] = TANH(row[j] + b[j]);
    }
}

void FNN(fnn_rnn_fwd)(real *out, real *work, const real *x, const real *h0, const real *w_ih,
                      const real *w_hh, const real *b_ih, const real *b_hh,
                      int64_t T, int64_t N, int64_t D, int64_t H, int relu)
{
    int64_t NH = N * H;
    real *b = work;
    FNN(rnn_add_or_zero)(b, b_ih, b_hh, H);
    FNN(fnn_gemm)(0, 1, T * N, H, D, 1, x, D, w_ih, D, 0, out, H);
    int nt = FNN(rnn_loop_threads)(N, 1, H);
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        int64_t j0, j1;
        fnn_thread_range(H, FNN_RNN_UNIT_ALIGN, &j0, &j1);
        for (int64_t t = 0; t < T; t++) {
            real *a = out + t * NH;
            if (j1 > j0) {
                FNN(rnn_gates_gemm)(a, t ? a - NH : h0, w_hh, N, 1, H, j0, j1, 1);
                for (int64_t n = 0; n < N; n++)
                    FNN(rnn_act_row)(a + n * H, b, j0, j1, relu);
            }
            #pragma omp barrier
        }
    }
}

/* da (K chains, stride chain_stride) = dh * act'(h) on units [j0, j1) of one row, h the step's
 * output row; and, when dsum is not NULL, dsum = the sum of da over the K chains. */
FNN_HOT static void FNN(rnn_grad_rows)(real *restrict da, const real *restrict dh,
                                       const real *restrict h, real *restrict dsum,
                                       int64_t K, int64_t chain_stride, int64_t j0, int64_t j1,
                                       int relu)
{
    for (int64_t k = 0; k < K; k++) {
        const real *d = dh + k * chain_stride;
        real *o = da + k * chain_stride;
        if (relu) {
            for (int64_t j = j0; j < j1; j++)
                o[j] = h[j] > 0 ? d[j] : (real)0;
        } else {
            for (int64_t j = j0; j < j1; j++)
                o[j] = d[j] * (1 - h[j] * h[j]);
        }
        if (dsum) {
            if (k == 0)
                for (int64_t j = j0; j < j1; j++)
                    dsum[j] = o[j];
            else
                for (int64_t j = j0; j < j1; j++)
                    dsum[j] += o[j];
        }
    }
}

void FNN(fnn_rnn_bwd)(real *dx, real *dh0, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh,
                      real *work, const real *dout, const real *dhn, const real *x,
                      const real *h0, const real *w_ih, const real *w_hh, const real *out,
                      int64_t T, int64_t N, int64_t D, int64_t H, int relu, int64_t trunc)
{
    int64_t NH = N * H;
    real *dG = work;                       /* (T, N, H) */
    if (trunc < 0 || trunc >= T - 1) {     /* full BPTT */
        real *dh = dG + T * NH;            /* (N, H): the error at h_t */
        FNN(rnn_add_or_zero)(dh, dout ? dout + (T - 1) * NH : NULL, dhn, NH);
        int nt = FNN(rnn_loop_threads)(N, 1, H);
        #pragma omp parallel num_threads(nt) if(nt > 1)
        {
            int64_t j0, j1;
            fnn_thread_range(H, FNN_RNN_UNIT_ALIGN, &j0, &j1);
            for (int64_t t = T - 1; t >= 0; t--) {
                real *g = dG + t * NH;
                const real *h = out + t * NH;
                for (int64_t n = 0; n < N; n++)
                    FNN(rnn_grad_rows)(g + n * H, dh + n * H, h + n * H, NULL, 1, 0, j0, j1, relu);
                #pragma omp barrier
                if (j1 > j0)
                    FNN(rnn_dh_gemm)(t ? dh : dh0, (t && dout) ? dout + (t - 1) * NH : NULL, g,
                                     w_hh, N, H, H, j0, j1);
            }
        }
    } else {
        /* Truncated: K = trunc + 1 chains, chain j carrying the error of the output s with
         * s % K == j back through its K steps; at step s the chains of outputs s .. s+K-1 are
         * live (the others are zero), so one GEMM over all K carries them all back a step.
         * The slot of the chain that has done its K steps is then reused for output s-1. */
        int64_t K = trunc + 1;
        real *chains = dG + T * NH;        /* (K, N, H) */
        real *da = chains + K * NH;        /* (K, N, H) */
        memset(chains, 0, (size_t)(K * NH) * sizeof(real));
        FNN(rnn_add_or_zero)(chains + ((T - 1) % K) * NH, dout ? dout + (T - 1) * NH : NULL, dhn, NH);
        int nt = FNN(rnn_loop_threads)(K * N, 1, H);
        #pragma omp parallel num_threads(nt) if(nt > 1)
        {
            int64_t j0, j1;
            fnn_thread_range(H, FNN_RNN_UNIT_ALIGN, &j0, &j1);
            for (int64_t s = T - 1; s >= 0; s--) {
                real *g = dG + s * NH;
                const real *h = out + s * NH;
                for (int64_t n = 0; n < N; n++)
                    FNN(rnn_grad_rows)(da + n * H, chains + n * H, h + n * H, g + n * H, K, NH,
                                       j0, j1, relu);
                #pragma omp barrier
                if (j1 > j0) {
                    FNN(rnn_dh_gemm)(chains, NULL, da, w_hh, K * N, H, H, j0, j1);
                }
                /* da is rewritten by the next step: every thread must be done reading it */
                #pragma omp barrier
                if (j1 > j0) {
                    if (s > 0) {
                        FNN(rnn_copy_units)(chains + ((s - 1) % K) * NH,
                                            dout ? dout + (s - 1) * NH : NULL, N, H, j0, j1);
                    } else {
                        for (int64_t n = 0; n < N; n++)
                            for (int64_t j = j0; j < j1; j++) {
                                real acc = 0;
                                for (int64_t k = 0; k < K; k++)
                                    acc += chains[k * NH + n * H + j];
                                dh0[n * H + j] = acc;
                            }
                    }
                }
            }
        }
    }
    FNN(rnn_weight_grads)(dx, dw_ih, dw_hh, db_ih, db_hh, dG, dG, x, h0, out, w_ih, T, N, D, H, H);
}

/* ---- LSTM --------------------------------------------------------------------------------- */

/* Units [j0, j1) of one row of one step: g (4H,) holds the input projection, s (4*(j1-j0),)
 * the block's recurrent product gate by gate (rnn_pack_rows); writes the activated gates back
 * into g, the new cell state to c and hidden state to h. */
FNN_HOT static void FNN(lstm_fwd_row)(real *restrict g, real *restrict c, real *restrict h,
                                      const real *restrict c_prev, const real *restrict b,
                                      const real *restrict s, int64_t H, int64_t j0, int64_t j1)
{
    real *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
    const real *bi = b, *bf = b + H, *bg = b + 2 * H, *bo = b + 3 * H;
    int64_t wd = j1 - j0;
    const real *si = s - j0, *sf = si + wd, *sg = sf + wd, *so = sg + wd;
    for (int64_t j = j0; j < j1; j++) {
        real i = SIGM(gi[j] + si[j] + bi[j]);
        real f = SIGM(gf[j] + sf[j] + bf[j]);
        real gv = TANH(gg[j] + sg[j] + bg[j]);
        real o = SIGM(go[j] + so[j] + bo[j]);
        real cv = f * c_prev[j] + i * gv;
        gi[j] = i;
        gf[j] = f;
        gg[j] = gv;
        go[j] = o;
        c[j] = cv;
        h[j] = o * TANH(cv);
    }
}

void FNN(fnn_lstm_fwd)(real *out, real *gates, real *c, real *work, const real *x,
                       const real *h0, const real *c0, const real *w_ih, const real *w_hh,
                       const real *b_ih, const real *b_hh,
                       int64_t T, int64_t N, int64_t D, int64_t H)
{
    int64_t G = 4 * H, NH = N * H;
    real *b = work;
    FNN(rnn_add_or_zero)(b, b_ih, b_hh, G);
    FNN(fnn_gemm)(0, 1, T * N, G, D, 1, x, D, w_ih, D, 0, gates, G);
    real *wp = b + G, *sbuf = wp + G * H;  /* packed w_hh (4H, H), recurrent products (N, 4H) */
    int nt = FNN(rnn_loop_threads)(N, 4, H);
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        int64_t j0, j1;
        fnn_thread_range(H, FNN_RNN_UNIT_ALIGN, &j0, &j1);
        FNN(rnn_pack_rows)(wp, w_hh, 4, H, j0, j1);     /* only this thread reads its rows */
        for (int64_t t = 0; t < T; t++) {
            real *g = gates + t * N * G, *ct = c + t * NH, *ht = out + t * NH;
            const real *hp = t ? ht - NH : h0, *cp = t ? ct - NH : c0;
            if (j1 > j0) {
                FNN(rnn_packed_gemm)(sbuf, hp, wp, N, 4, H, j0, j1);
                for (int64_t n = 0; n < N; n++)
                    FNN(lstm_fwd_row)(g + n * G, ct + n * H, ht + n * H, cp + n * H, b,
                                      sbuf + n * G + 4 * j0, H, j0, j1);
            }
            #pragma omp barrier
        }
    }
}

/* Units [j0, j1) of one row of one step's backward: from dh (the error at h_t) and dc (the
 * error at c_t from step t+1) writes the pre-activation gate gradients dg (4H,) and
 * dc := dc_{t-1}. */
FNN_HOT static void FNN(lstm_bwd_row)(real *restrict dg, real *restrict dc, const real *restrict dh,
                                      const real *restrict g, const real *restrict c,
                                      const real *restrict c_prev, int64_t H, int64_t j0, int64_t j1)
{
    const real *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
    for (int64_t j = j0; j < j1; j++) {
        real i = gi[j], f = gf[j], gv = gg[j], o = go[j];
        real tc = TANH(c[j]);
        real d = dh[j];
        real dct = dc[j] + d * o * (1 - tc * tc);
        dg[j] = dct * gv * i * (1 - i);
        dg[H + j] = dct * c_prev[j] * f * (1 - f);
        dg[2 * H + j] = dct * i * (1 - gv * gv);
        dg[3 * H + j] = d * tc * o * (1 - o);
        dc[j] = dct * f;
    }
}

void FNN(fnn_lstm_bwd)(real *dx, real *dh0, real *dc0, real *dw_ih, real *dw_hh, real *db_ih,
                       real *db_hh, real *work, const real *dout, const real *dhn,
                       const real *dcn, const real *x, const real *h0, const real *c0,
                       const real *w_ih, const real *w_hh, const real *out, const real *gates,
                       const real *c, int64_t T, int64_t N, int64_t D, int64_t H)
{
    int64_t G = 4 * H, NH = N * H;
    real *dG = work;                       /* (T, N, 4H) */
    real *dh = dG + T * N * G, *dc = dh + NH;
    FNN(rnn_add_or_zero)(dh, dout ? dout + (T - 1) * NH : NULL, dhn, NH);
    FNN(rnn_add_or_zero)(dc, dcn, NULL, NH);
    int nt = FNN(rnn_loop_threads)(N, 4, H);
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        int64_t j0, j1;
        fnn_thread_range(H, FNN_RNN_UNIT_ALIGN, &j0, &j1);
        for (int64_t t = T - 1; t >= 0; t--) {
            real *dg = dG + t * N * G;
            const real *g = gates + t * N * G, *ct = c + t * NH, *cp = t ? ct - NH : c0;
            for (int64_t n = 0; n < N; n++)
                FNN(lstm_bwd_row)(dg + n * G, dc + n * H, dh + n * H, g + n * G, ct + n * H,
                                  cp + n * H, H, j0, j1);
            #pragma omp barrier
            if (j1 > j0)
                FNN(rnn_dh_gemm)(t ? dh : dh0, (t && dout) ? dout + (t - 1) * NH : NULL, dg,
                                 w_hh, N, G, H, j0, j1);
        }
    }
    memcpy(dc0, dc, (size_t)NH * sizeof(real));
    FNN(rnn_weight_grads)(dx, dw_ih, dw_hh, db_ih, db_hh, dG, dG, x, h0, out, w_ih, T, N, D, H, G);
}

/* ---- GRU ---------------------------------------------------------------------------------- */

/* Units [j0, j1) of one row of one step: gx (3H,) the input projection without bias
 * (overwritten with the activated r, z, n), s (3*(j1-j0),) the block's recurrent product
 * h_{t-1} w_hh^T without bias, gate by gate (rnn_pack_rows); writes hn and h. */
FNN_HOT static void FNN(gru_fwd_row)(real *restrict gx, real *restrict hn, real *restrict h,
                                     const real *restrict s, const real *restrict h_prev,
                                     const real *restrict bi, const real *restrict bh,
                                     int64_t H, int64_t j0, int64_t j1)
{
    int64_t wd = j1 - j0;
    const real *sr = s - j0, *sz = sr + wd, *sn = sz + wd;
    for (int64_t j = j0; j < j1; j++) {
        real r = SIGM(gx[j] + bi[j] + sr[j] + bh[j]);
        real z = SIGM(gx[H + j] + bi[H + j] + sz[j] + bh[H + j]);
        real hnv = sn[j] + bh[2 * H + j];
        real n = TANH(gx[2 * H + j] + bi[2 * H + j] + r * hnv);
        gx[j] = r;
        gx[H + j] = z;
        gx[2 * H + j] = n;
        hn[j] = hnv;
        h[j] = (1 - z) * n + z * h_prev[j];
    }
}

void FNN(fnn_gru_fwd)(real *out, real *gates, real *hn, real *work, const real *x,
                      const real *h0, const real *w_ih, const real *w_hh, const real *b_ih,
                      const real *b_hh, int64_t T, int64_t N, int64_t D, int64_t H)
{
    int64_t G = 3 * H, NH = N * H;
    real *hg = work, *bi = hg + N * G, *bh = bi + G, *wp = bh + G;   /* wp: packed w_hh */
    FNN(rnn_add_or_zero)(bi, b_ih, NULL, G);
    FNN(rnn_add_or_zero)(bh, b_hh, NULL, G);
    FNN(fnn_gemm)(0, 1, T * N, G, D, 1, x, D, w_ih, D, 0, gates, G);
    int nt = FNN(rnn_loop_threads)(N, 3, H);
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        int64_t j0, j1;
        fnn_thread_range(H, FNN_RNN_UNIT_ALIGN, &j0, &j1);
        FNN(rnn_pack_rows)(wp, w_hh, 3, H, j0, j1);     /* only this thread reads its rows */
        for (int64_t t = 0; t < T; t++) {
            real *g = gates + t * N * G, *ht = out + t * NH, *hnt = hn + t * NH;
            const real *hp = t ? ht - NH : h0;
            if (j1 > j0) {
                FNN(rnn_packed_gemm)(hg, hp, wp, N, 3, H, j0, j1);
                for (int64_t n = 0; n < N; n++)
                    FNN(gru_fwd_row)(g + n * G, hnt + n * H, ht + n * H, hg + n * G + 3 * j0,
                                     hp + n * H, bi, bh, H, j0, j1);
            }
            #pragma omp barrier
        }
    }
}

/* Units [j0, j1) of one row of one step's backward: dh (H,) the error at h_t; writes dgi, dgh
 * (3H,) the gradients of the input and hidden projections, and dh_direct = dh * z + add (add
 * may be NULL), the part of dh_{t-1} that does not go through w_hh. dh_direct may alias dh. */
FNN_HOT static void FNN(gru_bwd_row)(real *restrict dgi, real *restrict dgh, real *dh_direct,
                                     const real *dh, const real *restrict add,
                                     const real *restrict g, const real *restrict hn,
                                     const real *restrict h_prev, int64_t H, int64_t j0, int64_t j1)
{
    for (int64_t j = j0; j < j1; j++) {
        real r = g[j], z = g[H + j], n = g[2 * H + j];
        real d = dh[j];
        real dn = d * (1 - z) * (1 - n * n);
        real dr = dn * hn[j] * r * (1 - r);
        real dz = d * (h_prev[j] - n) * z * (1 - z);
        dgi[j] = dr;
        dgi[H + j] = dz;
        dgi[2 * H + j] = dn;
        dgh[j] = dr;
        dgh[H + j] = dz;
        dgh[2 * H + j] = dn * r;
        dh_direct[j] = d * z + (add ? add[j] : (real)0);
    }
}

void FNN(fnn_gru_bwd)(real *dx, real *dh0, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh,
                      real *work, const real *dout, const real *dhn, const real *x,
                      const real *h0, const real *w_ih, const real *w_hh, const real *out,
                      const real *gates, const real *hn, int64_t T, int64_t N, int64_t D, int64_t H)
{
    int64_t G = 3 * H, NH = N * H;
    real *dGi = work, *dGh = dGi + T * N * G, *dh = dGh + T * N * G;
    FNN(rnn_add_or_zero)(dh, dout ? dout + (T - 1) * NH : NULL, dhn, NH);
    int nt = FNN(rnn_loop_threads)(N, 3, H);
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        int64_t j0, j1;
        fnn_thread_range(H, FNN_RNN_UNIT_ALIGN, &j0, &j1);
        for (int64_t t = T - 1; t >= 0; t--) {
            real *dgi = dGi + t * N * G, *dgh = dGh + t * N * G;
            const real *g = gates + t * N * G, *hnt = hn + t * NH;
            const real *hp = t ? out + (t - 1) * NH : h0;
            const real *add = (t && dout) ? dout + (t - 1) * NH : NULL;
            real *next = t ? dh : dh0;
            for (int64_t n = 0; n < N; n++)
                FNN(gru_bwd_row)(dgi + n * G, dgh + n * G, next + n * H, dh + n * H,
                                 add ? add + n * H : NULL, g + n * G, hnt + n * H, hp + n * H,
                                 H, j0, j1);
            #pragma omp barrier
            if (j1 > j0)
                FNN(fnn_gemm_serial)(0, 0, N, j1 - j0, G, 1, dgh, G, w_hh + j0, H, 1, next + j0, H);
        }
    }
    FNN(rnn_weight_grads)(dx, dw_ih, dw_hh, db_ih, db_hh, dGi, dGh, x, h0, out, w_ih, T, N, D, H, G);
}

/* ---- temporal cross-entropy ---------------------------------------------------------------- */

/* log-sum-exp of one row, max started from x[0], exp(x - max) summed in double */
FNN_HOT static real FNN(tce_row_lse)(const real *restrict x, int64_t V)
{
    real m = x[0];
    #pragma omp simd reduction(max:m)      /* one max per SIMD lane, as in softmax.c */
    for (int64_t j = 1; j < V; j++)
        m = x[j] > m ? x[j] : m;
    double acc[8] = {0};
    int64_t j = 0;
    for (; j + 8 <= V; j += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += FNN(fnn_vexp_flush)(x[j + k] - m);
    double sum = 0;
    for (; j < V; j++)
        sum += FNN(fnn_vexp_flush)(x[j] - m);
    for (int k = 0; k < 8; k++)
        sum += acc[k];
    return m + (real)log(sum);
}

int64_t FNN(fnn_temporal_ce_fwd)(real *loss, double *wsum_out, real *lse, const real *x,
                                 const int64_t *target, const real *w, int64_t rows, int64_t V)
{
    for (int64_t r = 0; r < rows; r++)
        if ((!w || w[r] != 0) && (target[r] < 0 || target[r] >= V))
            return r;
    double total = 0, wsum = 0;
    int nt = fnn_threads_for(rows * V, FNN_RNN_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1) reduction(+:total, wsum)
    for (int64_t r = 0; r < rows; r++) {
        double wr = w ? (double)w[r] : 1.0;
        if (wr == 0)
            continue;
        const real *xr = x + r * V;
        real l = FNN(tce_row_lse)(xr, V);
        lse[r] = l;
        total += wr * ((double)l - (double)xr[target[r]]);
        wsum += wr;
    }
    *loss = (real)(wsum != 0 ? total / wsum : NAN);
    *wsum_out = wsum;
    return -1;
}

FNN_HOT static void FNN(tce_row_grad)(real *restrict dx, const real *restrict x, real lse,
                                      real scale, int64_t V)
{
    for (int64_t j = 0; j < V; j++)
        dx[j] = scale * FNN(fnn_vexp_flush)(x[j] - lse);
}

void FNN(fnn_temporal_ce_bwd)(real *dx, const real *x, const real *lse, const int64_t *target,
                              const real *w, double g, int64_t rows, int64_t V)
{
    int nt = fnn_threads_for(rows * V, FNN_RNN_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        real *d = dx + r * V;
        real scale = (real)(g * (w ? (double)w[r] : 1.0));
        if (scale == 0) {
            memset(d, 0, (size_t)V * sizeof(real));
            continue;
        }
        FNN(tce_row_grad)(d, x + r * V, lse[r], scale, V);
        d[target[r]] -= scale;
    }
}

#undef SIGM
#undef TANH

#endif
