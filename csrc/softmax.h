/* softmax.h: softmax and log-softmax over one axis of an array of any shape, and their gradients.
 *
 * The array is seen as (outer, n, inner), C-contiguous, reduced over the middle axis n: for an
 * array of shape (d0, ..., dk) reduced over axis a, outer = d0 * ... * d(a-1), n = da,
 * inner = d(a+1) * ... * dk. inner == 1 is the usual last-axis case (rows of n contiguous
 * elements); inner > 1 reduces with stride inner, without any transposing copy.
 * Every row subtracts its max (started from its first element) before exp: no overflow for any
 * finite logits. A row holding +inf, NaN, or only -inf gives NaN, as torch.softmax does. */
#ifndef FNN_GENERIC
#ifndef FNN_SOFTMAX_H
#define FNN_SOFTMAX_H
#include "runtime.h"
#define FNN_GENERIC "softmax.h"
#include "dtype.h"
#endif
#else

/* y (outer, n, inner) = exp(x - max) / sum(exp(x - max)), reductions over n */
void FNN(fnn_softmax_fwd)(real *y, const real *x, int64_t outer, int64_t n, int64_t inner);
/* y (outer, n, inner) = x - max - log(sum(exp(x - max))) */
void FNN(fnn_log_softmax_fwd)(real *y, const real *x, int64_t outer, int64_t n, int64_t inner);
/* dx (outer, n, inner) = y * (dy - sum(dy * y)), from the forward's output y (outer, n, inner) */
void FNN(fnn_softmax_bwd)(real *dx, const real *dy, const real *y,
                          int64_t outer, int64_t n, int64_t inner);
/* dx (outer, n, inner) = dy - exp(y) * sum(dy), from the forward's output y (log-probabilities) */
void FNN(fnn_log_softmax_bwd)(real *dx, const real *dy, const real *y,
                              int64_t outer, int64_t n, int64_t inner);

#endif
