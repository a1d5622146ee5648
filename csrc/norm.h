/* norm.h: normalisation layers: batch norm (per channel, over batch and space) and layer norm
 * (per row, over the trailing features), forward and backward.
 *
 * Statistics are always accumulated in double (two passes: mean, then the squared deviations
 * from it) and handed between forward and backward as double arrays (mean, 1/sqrt(var + eps)).
 */
#ifndef FNN_GENERIC
#ifndef FNN_NORM_H
#define FNN_NORM_H
#include "runtime.h"
#define FNN_GENERIC "norm.h"
#include "dtype.h"
#endif
#else

/* Batch norm over x (n, c, l): channel k is normalised with statistics over its n * l values
 * (l = H*W for images, 1 for (N, C) input), then y = xhat * gamma[k] + beta[k].
 *
 *   y (n, c, l)          output
 *   save_mean (c,)       the mean used, double (batch mean, or running_mean in eval)
 *   save_invstd (c,)     1 / sqrt(var + eps) used, double
 *   running_mean, running_var (c,)   may be NULL (not tracked). Read in eval; in training updated
 *                        in place: r = (1 - momentum) * r + momentum * batch_stat, the variance
 *                        with the unbiased (n*l / (n*l - 1)) batch variance, as PyTorch does.
 *   x (n, c, l), gamma (c,) or NULL (1), beta (c,) or NULL (0)
 *   batch_stats          1: normalise with the batch mean and biased variance (training, or no
 *                        running statistics); 0: with running_mean / running_var (both non-NULL).
 * The caller guarantees n*l > 1 when batch_stats and n*l > 0 (n*l == 0: nothing is written but
 * save_mean = save_invstd = 0, and the running statistics are left alone). */
void FNN(fnn_batch_norm_fwd)(real *y, double *save_mean, double *save_invstd,
                             real *running_mean, real *running_var,
                             const real *x, const real *gamma, const real *beta,
                             int64_t n, int64_t c, int64_t l,
                             int batch_stats, double momentum, double eps);

/* Gradients of fnn_batch_norm_fwd given dy (n, c, l) and the forward's x, gamma (NULL: 1),
 * save_mean and save_invstd. batch_stats as in the forward: 1 gives the full batch-statistics
 * gradient (mean and variance depend on x), 0 the per-channel affine map of eval mode.
 *   dx (n, c, l), dgamma (c,), dbeta (c,); dgamma and dbeta may be NULL (not wanted).
 * Channel sums are accumulated in double. */
void FNN(fnn_batch_norm_bwd)(real *dx, real *dgamma, real *dbeta,
                             const real *dy, const real *x, const real *gamma,
                             const double *save_mean, const double *save_invstd,
                             int64_t n, int64_t c, int64_t l, int batch_stats);

/* Layer norm over the last axis of x (rows, d): each row normalised with its own mean and biased
 * variance, then y = xhat * gamma + beta.
 *   y (rows, d); save_mean, save_rstd (rows,) double: the row mean and 1 / sqrt(var + eps)
 *   x (rows, d), gamma (d,) or NULL, beta (d,) or NULL.  d may be 0 (rows then get mean 0 and
 *   rstd 1/sqrt(eps)). */
void FNN(fnn_layer_norm_fwd)(real *y, double *save_mean, double *save_rstd,
                             const real *x, const real *gamma, const real *beta,
                             int64_t rows, int64_t d, double eps);

/* Gradients of fnn_layer_norm_fwd: dx (rows, d), dgamma (d,) and dbeta (d,) (either may be NULL)
 * from dy (rows, d) and the forward's x, gamma (NULL: 1), save_mean, save_rstd.
 * dgamma and dbeta are accumulated in double. */
void FNN(fnn_layer_norm_bwd)(real *dx, real *dgamma, real *dbeta,
                             const real *dy, const real *x, const real *gamma,
                             const double *save_mean, const double *save_rstd,
                             int64_t rows, int64_t d);

#endif
