/* activation.c: elementwise activations and their gradients.
 *
 * Each op is one FNN_HOT loop over a range of elements, written so that gcc -O3 vectorises it
 * (selects instead of branches, mathfn.h's inline exp/tanh instead of libm calls), and one
 * public entry that splits [0, n) into equal chunks across OpenMP threads when n is large
 * enough to be worth forking for (fnn_threads_for), or runs the loop directly otherwise. */
#ifndef FNN_GENERIC
#include "fastnn.h"
#include "mathfn.h"
FNN_NO_TRAPPING_MATH

/* Elements per thread worth forking for: below ~64K elements (256 KiB of float32) a fork/join
 * costs more than the loop. */
#define FNN_ACT_GRAIN 65536
/* Chunk boundaries are multiples of this many elements (whole cache lines for both dtypes). */
#define FNN_ACT_ALIGN 16

#define FNN_GENERIC "activation.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

/* One range loop: out[i] = f(a[i], b[i]) for i in [0, n); b may be unused (forward passes). */
typedef void (*FNN(act_loop))(real *restrict out, const real *restrict a,
                              const real *restrict b, int64_t n, real param);

/* Run loop over [0, n), split across threads for large n. */
static void FNN(act_map)(FNN(act_loop) loop, real *out, const real *a, const real *b,
                         int64_t n, real param)
{
    int nt = fnn_threads_for(n, FNN_ACT_GRAIN);
    if (nt <= 1) {
        loop(out, a, b, n, param);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int64_t lo, hi;
        fnn_thread_range(n, FNN_ACT_ALIGN, &lo, &hi);
        if (lo < hi)
            loop(out + lo, a + lo, b ? b + lo : NULL, hi - lo, param);
    }
}

/* ---- loops ---------------------------------------------------------------------------------- */

FNN_HOT static void FNN(relu_fwd_loop)(real *restrict y, const real *restrict x,
                                       const real *restrict unused, int64_t n, real param)
{
    (void)unused; (void)param;
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] < 0 ? (real)0 : x[i];
}

FNN_HOT static void FNN(relu_bwd_loop)(real *restrict dx, const real *restrict dy,
                                       const real *restrict y, int64_t n, real param)
{
    (void)param;
    for (int64_t i = 0; i < n; i++)
        dx[i] = y[i] <= 0 ? (real)0 : dy[i];
}

FNN_HOT static void FNN(leaky_relu_fwd_loop)(real *restrict y, const real *restrict x,
                                             const real *restrict unused, int64_t n, real slope)
{
    (void)unused;
    for (int64_t i = 0; i < n; i++) {
        real v = x[i], neg = v * slope;   /* computed unconditionally: a select, not a branch */
        y[i] = v > 0 ? v : neg;
    }
}

FNN_HOT static void FNN(leaky_relu_bwd_loop)(real *restrict dx, const real *restrict dy,
                                             const real *restrict x, int64_t n, real slope)
{
    for (int64_t i = 0; i < n; i++) {
        real g = dy[i], neg = g * slope;
        dx[i] = x[i] > 0 ? g : neg;
    }
}

FNN_HOT static void FNN(sigmoid_fwd_loop)(real *restrict y, const real *restrict x,
                                          const real *restrict unused, int64_t n, real param)
{
    (void)unused; (void)param;
    for (int64_t i = 0; i < n; i++)
        y[i] = FNN(fnn_vsigmoid)(x[i]);
}

FNN_HOT static void FNN(sigmoid_bwd_loop)(real *restrict dx, const real *restrict dy,
                                          const real *restrict y, int64_t n, real param)
{
    (void)param;
    for (int64_t i = 0; i < n; i++)
        dx[i] = dy[i] * (y[i] * (1 - y[i]));
}

FNN_HOT static void FNN(tanh_fwd_loop)(real *restrict y, const real *restrict x,
                                       const real *restrict unused, int64_t n, real param)
{
    (void)unused; (void)param;
    for (int64_t i = 0; i < n; i++)
        y[i] = FNN(fnn_vtanh)(x[i]);
}

FNN_HOT static void FNN(tanh_bwd_loop)(real *restrict dx, const real *restrict dy,
                                       const real *restrict y, int64_t n, real param)
{
    (void)param;
    for (int64_t i = 0; i < n; i++)
        dx[i] = dy[i] * (1 - y[i] * y[i]);
}

FNN_HOT static void FNN(sign_fwd_loop)(real *restrict y, const real *restrict x,
                                       const real *restrict unused, int64_t n, real param)
{
    (void)unused; (void)param;
    for (int64_t i = 0; i < n; i++) {
        real v = x[i], z = v * 0;   /* 0, -0 or NaN */
        y[i] = v > 0 ? (real)1 : (v < 0 ? (real)-1 : z);
    }
}

#define GELU_SQRT1_2 ((real)0.70710678118654752440)   /* 1 / sqrt 2 */
#define GELU_INV_SQRT_2PI ((real)0.39894228040143267794)   /* 1 / sqrt(2 pi) */

FNN_HOT static void FNN(gelu_fwd_loop)(real *restrict y, const real *restrict x,
                                       const real *restrict unused, int64_t n, real param)
{
    (void)unused; (void)param;
    for (int64_t i = 0; i < n; i++)
        y[i] = (real)0.5 * x[i] * (1 + FNN(fnn_verf)(x[i] * GELU_SQRT1_2));
}

FNN_HOT static void FNN(gelu_bwd_loop)(real *restrict dx, const real *restrict dy,
                                       const real *restrict x, int64_t n, real param)
{
    (void)param;
    for (int64_t i = 0; i < n; i++) {
        real v = x[i];
        real e;                                    /* e^-(v^2 / 2), shared with erf */
        real cdf = (real)0.5 * (1 + FNN(fnn_mf_erf_e)(v * GELU_SQRT1_2, &e));
        real pdf = GELU_INV_SQRT_2PI * e;
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}

#undef GELU_SQRT1_2
#undef GELU_INV_SQRT_2PI

FNN_HOT static void FNN(mathfn_loop)(real *restrict y, const real *restrict x,
                                     const real *restrict unused, int64_t n, real fn)
{
    (void)unused;
    int f = (int)fn;
    for (int64_t i = 0; i < n; i++) {
        real v = x[i];
        y[i] = f == FNN_MATHFN_EXP ? FNN(fnn_vexp)(v)
             : f == FNN_MATHFN_EXPM1 ? FNN(fnn_vexpm1)(v)
             : f == FNN_MATHFN_SIGMOID ? FNN(fnn_vsigmoid)(v)
             : f == FNN_MATHFN_TANH ? FNN(fnn_vtanh)(v)
             : FNN(fnn_verf)(v);
    }
}

/* ---- public entries ------------------------------------------------------------------------- */

void FNN(fnn_relu_fwd)(real *y, const real *x, int64_t n)
{
    FNN(act_map)(FNN(relu_fwd_loop), y, x, NULL, n, 0);
}

void FNN(fnn_relu_bwd)(real *dx, const real *dy, const real *y, int64_t n)
{
    FNN(act_map)(FNN(relu_bwd_loop), dx, dy, y, n, 0);
}

void FNN(fnn_leaky_relu_fwd)(real *y, const real *x, int64_t n, real negative_slope)
{
    FNN(act_map)(FNN(leaky_relu_fwd_loop), y, x, NULL, n, negative_slope);
}

void FNN(fnn_leaky_relu_bwd)(real *dx, const real *dy, const real *x, int64_t n, real negative_slope)
{
    FNN(act_map)(FNN(leaky_relu_bwd_loop), dx, dy, x, n, negative_slope);
}

void FNN(fnn_sigmoid_fwd)(real *y, const real *x, int64_t n)
{
    FNN(act_map)(FNN(sigmoid_fwd_loop), y, x, NULL, n, 0);
}

void FNN(fnn_sigmoid_bwd)(real *dx, const real *dy, const real *y, int64_t n)
{
    FNN(act_map)(FNN(sigmoid_bwd_loop), dx, dy, y, n, 0);
}

void FNN(fnn_tanh_fwd)(real *y, const real *x, int64_t n)
{
    FNN(act_map)(FNN(tanh_fwd_loop), y, x, NULL, n, 0);
}

void FNN(fnn_tanh_bwd)(real *dx, const real *dy, const real *y, int64_t n)
{
    FNN(act_map)(FNN(tanh_bwd_loop), dx, dy, y, n, 0);
}

void FNN(fnn_sign_fwd)(real *y, const real *x, int64_t n)
{
    FNN(act_map)(FNN(sign_fwd_loop), y, x, NULL, n, 0);
}

void FNN(fnn_gelu_fwd)(real *y, const real *x, int64_t n)
{
    FNN(act_map)(FNN(gelu_fwd_loop), y, x, NULL, n, 0);
}

void FNN(fnn_gelu_bwd)(real *dx, const real *dy, const real *x, int64_t n)
{
    FNN(act_map)(FNN(gelu_bwd_loop), dx, dy, x, n, 0);
}

void FNN(fnn_mathfn_eval)(real *y, const real *x, int64_t n, int fn)
{
    FNN(act_map)(FNN(mathfn_loop), y, x, NULL, n, (real)fn);
}

#endif
