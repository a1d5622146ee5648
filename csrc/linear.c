/* linear.c: fully connected layer with a fused bias + activation epilogue.
 * GEMM through fnn_gemm (OpenBLAS); this file does what BLAS does not: the epilogue in the same
 * pass over y, the activation derivative, and the bias gradient accumulated in double. */
#ifndef FNN_GENERIC
#include "fastnn.h"

/* Elements per thread worth forking for in the elementwise passes of the backward. */
#define FNN_LINEAR_GRAIN 16384

#define FNN_GENERIC "linear.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

static inline real FNN(linear_act)(real v, int act)
{
    switch (act) {
    case FNN_ACT_RELU:
        return v > 0 ? v : (real)0;
    case FNN_ACT_SIGMOID:   /* stable for large |v|: exp of a non-positive number only */
        if (v >= 0) {
            real z = fnn_exp(-v);
            return 1 / (1 + z);
        } else {
            real z = fnn_exp(v);
            return z / (1 + z);
        }
    case FNN_ACT_TANH:
        return fnn_tanh(v);
    default:
        return v;
    }
}

/* derivative of the activation expressed through its output y */
static inline real FNN(linear_act_grad)(real y, int act)
{
    switch (act) {
    case FNN_ACT_RELU:
        return y > 0 ? (real)1 : (real)0;
    case FNN_ACT_SIGMOID:
        return y * (1 - y);
    case FNN_ACT_TANH:
        return 1 - y * y;
    default:
        return 1;
    }
}

typedef struct {
    real *y;
    const real *b;
    int64_t out;
    int act;
} FNN(linear_epilogue_arg);

/* bias + activation on the block rows [i0, i1) x columns [j0, j1) of y */
static void FNN(linear_epilogue)(void *argp, int64_t i0, int64_t i1, int64_t j0, int64_t j1)
{
    const FNN(linear_epilogue_arg) *arg = (const FNN(linear_epilogue_arg) *)argp;
    const real *b = arg->b;
    int act = arg->act;
    for (int64_t i = i0; i < i1; i++) {
        real *row = arg->y + i * arg->out;
        if (act == FNN_ACT_RELU) {          /* the common case, kept vectorisable */
            if (b) {
                for (int64_t j = j0; j < j1; j++) {
                    real v = row[j] + b[j];
                    row[j] = v > 0 ? v : 0;
                }
            } else {
                for (int64_t j = j0; j < j1; j++)
                    row[j] = row[j] > 0 ? row[j] : 0;
            }
        } else if (act == FNN_ACT_NONE) {
            for (int64_t j = j0; j < j1; j++)
                row[j] += b[j];
        } else {
            for (int64_t j = j0; j < j1; j++)
                row[j] = FNN(linear_act)(b ? row[j] + b[j] : row[j], act);
        }
    }
}

void FNN(fnn_linear_fwd)(real *y, const real *x, const real *w, const real *b,
                         int64_t n, int64_t in, int64_t out, int act)
{
    /* the epilogue runs inside the GEMM's threads, on each block while it is in cache */
    FNN(linear_epilogue_arg) arg = {y, b, out, act};
    int fused = b != NULL || act != FNN_ACT_NONE;
    FNN(fnn_gemm_ep)(0, 1, n, out, in, 1, x, in, w, in, 0, y, out,
                     fused ? FNN(linear_epilogue) : NULL, &arg);
}

void FNN(fnn_linear_bwd)(real *dx, real *dw, real *db, real *dz_scratch,
                         const real *dy, const real *x, const real *w, const real *y,
                         int64_t n, int64_t in, int64_t out, int act)
{
    const real *dz = dy;
    if (act != FNN_ACT_NONE) {
        int nt = fnn_threads_for(n * out, FNN_LINEAR_GRAIN);
        #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
        for (int64_t i = 0; i < n * out; i++)
            dz_scratch[i] = dy[i] * FNN(linear_act_grad)(y[i], act);
        dz = dz_scratch;
    }
    if (dx)
        FNN(fnn_gemm)(0, 0, n, in, out, 1, dz, out, w, in, 0, dx, in);
    if (dw)
        FNN(fnn_gemm)(1, 0, out, in, n, 1, dz, out, x, in, 0, dw, in);
    if (db)
        FNN(fnn_colsum)(db, dz, n, out, FNN_LINEAR_GRAIN);
}

#endif
