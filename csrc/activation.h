/* activation.h: elementwise activations over arrays of any shape (n elements, C-contiguous),
 * and their gradients. Conventions follow PyTorch: relu'(0) = 0, leaky_relu'(0) = negative_slope,
 * sign' = 0, NaN in x propagates to y. */
#ifndef FNN_GENERIC
#ifndef FNN_ACTIVATION_H
#define FNN_ACTIVATION_H
#include "runtime.h"
/* fnn_mathfn_eval's fn codes (the vectorised helpers of mathfn.h, exposed for tests) */
enum { FNN_MATHFN_EXP = 0, FNN_MATHFN_EXPM1 = 1, FNN_MATHFN_SIGMOID = 2, FNN_MATHFN_TANH = 3,
       FNN_MATHFN_ERF = 4 };
#define FNN_GENERIC "activation.h"
#include "dtype.h"
#endif
#else

/* y (n) = x < 0 ? 0 : x  (keeps -0 and NaN, as torch.relu) */
void FNN(fnn_relu_fwd)(real *y, const real *x, int64_t n);
/* dx (n) = y <= 0 ? 0 : dy, from the forward's output y (n) (torch's threshold_backward) */
void FNN(fnn_relu_bwd)(real *dx, const real *dy, const real *y, int64_t n);

/* y (n) = x > 0 ? x : negative_slope * x */
void FNN(fnn_leaky_relu_fwd)(real *y, const real *x, int64_t n, real negative_slope);
/* dx (n) = x > 0 ? dy : negative_slope * dy, from the forward's input x (n) */
void FNN(fnn_leaky_relu_bwd)(real *dx, const real *dy, const real *x, int64_t n, real negative_slope);

/* y (n) = 1 / (1 + e^-x), stable for any x */
void FNN(fnn_sigmoid_fwd)(real *y, const real *x, int64_t n);
/* dx (n) = dy * y * (1 - y), from the forward's output y (n) */
void FNN(fnn_sigmoid_bwd)(real *dx, const real *dy, const real *y, int64_t n);

/* y (n) = tanh x */
void FNN(fnn_tanh_fwd)(real *y, const real *x, int64_t n);
/* dx (n) = dy * (1 - y^2), from the forward's output y (n) */
void FNN(fnn_tanh_bwd)(real *dx, const real *dy, const real *y, int64_t n);

/* y (n) = -1, 0 or 1 by the sign of x; NaN stays NaN (the gradient is zero everywhere) */
void FNN(fnn_sign_fwd)(real *y, const real *x, int64_t n);

/* y (n) = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))  (exact GELU, not the tanh approximation) */
void FNN(fnn_gelu_fwd)(real *y, const real *x, int64_t n);
/* dx (n) = dy * (Phi(x) + x phi(x)), phi the standard normal density, from the forward's x (n) */
void FNN(fnn_gelu_bwd)(real *dx, const real *dy, const real *x, int64_t n);

/* y (n) = f(x) for one of mathfn.h's vectorised helpers (fn an FNN_MATHFN_* code); for tests */
void FNN(fnn_mathfn_eval)(real *y, const real *x, int64_t n, int fn);

#endif
