/* linear.h: fully connected layer, y = act(x @ w^T + b), and its backward pass. */
#ifndef FNN_GENERIC
#ifndef FNN_LINEAR_H
#define FNN_LINEAR_H
#include "runtime.h"
#define FNN_GENERIC "linear.h"
#include "dtype.h"
#endif
#else

/* y (n, out) = act(x (n, in) @ w (out, in)^T + b (out,));  b may be NULL;
 * act is an FNN_ACT_* code (none, relu, sigmoid, tanh), fused into one pass over y. */
void FNN(fnn_linear_fwd)(real *y, const real *x, const real *w, const real *b,
                         int64_t n, int64_t in, int64_t out, int act);

/* Gradients of fnn_linear_fwd given dy (n, out) and the forward's y (n, out) (post-activation;
 * unused when act is none):
 *   dx (n, in) = dz @ w,   dw (out, in) = dz^T @ x,   db (out,) = sum over rows of dz,
 * with dz = dy * act'(y). dx, dw, db may each be NULL (not wanted). dz_scratch (n, out) is
 * caller-provided workspace, needed only when act is not none. */
void FNN(fnn_linear_bwd)(real *dx, real *dw, real *db, real *dz_scratch,
                         const real *dy, const real *x, const real *w, const real *y,
                         int64_t n, int64_t in, int64_t out, int act);

#endif
