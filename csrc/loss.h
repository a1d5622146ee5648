/* loss.h: cross-entropy (fused log-softmax + NLL, hard or soft targets), NLL, MSE and L1 losses.
 *
 * Reductions (PyTorch's): FNN_REDUCE_NONE writes one loss per row (cross-entropy, NLL) or per
 * element (MSE, L1) into `loss`; FNN_REDUCE_MEAN / FNN_REDUCE_SUM write one value into loss[0].
 * Sums over rows / elements accumulate in double, in fixed-size chunks added in a fixed order,
 * so results do not depend on the thread count.
 *
 * Backward kernels take the upstream gradient either as an array `dloss` (reduction none, the
 * loss's shape) or, when dloss is NULL, as the scalar `g` already divided by the mean's count.
 *
 * Class-index kernels return -1 when every target is valid, else the (smallest) row whose target
 * is neither ignore_index nor in [0, c): the Python layer turns that into a ValueError. On such a
 * return the outputs hold unspecified values.
 */
#ifndef FNN_GENERIC
#ifndef FNN_LOSS_H
#define FNN_LOSS_H
#include "runtime.h"

enum { FNN_REDUCE_NONE = 0, FNN_REDUCE_MEAN = 1, FNN_REDUCE_SUM = 2 };

/* Test hook: y[i] = the family's private vectorised float32 exp of x[i] (see loss.c); neg != 0
 * selects the variant for arguments <= 0. */
void fnn_loss_expf_array(float *y, const float *x, int64_t n, int neg);

#define FNN_GENERIC "loss.h"
#include "dtype.h"
#endif
#else

/* Cross-entropy with class indices.
 * loss: (n,) for none, else (1,);  rowmax, sumexp (n,): per row, the max logit and
 * sum_j exp(logits[i, j] - rowmax[i]) (what the backward needs);  *count: rows not ignored.
 * logits (n, c), target (n,) int64. Mean divides by *count (NaN when it is 0, as torch). */
int64_t FNN(fnn_cross_entropy_fwd)(real *loss, real *rowmax, real *sumexp, int64_t *count,
                                   const real *logits, const int64_t *target,
                                   int64_t n, int64_t c, int64_t ignore_index, int reduction);

/* dlogits (n, c) = g_i * (softmax(logits)_i - onehot(target_i)), zero rows where ignored;
 * g_i = dloss[i] (dloss non-NULL, reduction none) or g.  Targets were validated by the forward. */
void FNN(fnn_cross_entropy_bwd)(real *dlogits, const real *dloss, double g,
                                const real *logits, const int64_t *target,
                                const real *rowmax, const real *sumexp,
                                int64_t n, int64_t c, int64_t ignore_index);

/* Cross-entropy with probabilities (soft targets), target (n, c) of the logits' dtype:
 * loss_i = -sum_j target[i, j] * log_softmax(logits)[i, j];  the mean divides by n.
 * rowmax, sumexp (n,) as above; tsum (n,): sum_j target[i, j]. */
void FNN(fnn_cross_entropy_soft_fwd)(real *loss, real *rowmax, real *sumexp, real *tsum,
                                     const real *logits, const real *target,
                                     int64_t n, int64_t c, int reduction);

/* dlogits (n, c) = g_i * (softmax(logits)_i * tsum_i - target_i). */
void FNN(fnn_cross_entropy_soft_bwd)(real *dlogits, const real *dloss, double g,
                                     const real *logits, const real *target,
                                     const real *rowmax, const real *sumexp, const real *tsum,
                                     int64_t n, int64_t c);

/* NLL: loss_i = -logp[i, target_i] (0 where ignored); logp (n, c), target (n,) int64. */
int64_t FNN(fnn_nll_loss_fwd)(real *loss, int64_t *count, const real *logp, const int64_t *target,
                              int64_t n, int64_t c, int64_t ignore_index, int reduction);

/* dlogp (n, c): -g_i at [i, target_i], zero elsewhere and on ignored rows. */
void FNN(fnn_nll_loss_bwd)(real *dlogp, const real *dloss, double g, const int64_t *target,
                           int64_t n, int64_t c, int64_t ignore_index);

/* MSE over n elements: (pred - target)^2; loss (n,) for none, else (1,) (mean divides by n). */
void FNN(fnn_mse_loss_fwd)(real *loss, const real *pred, const real *target, int64_t n, int reduction);

/* dpred (n,) = 2 * g_i * (pred - target). */
void FNN(fnn_mse_loss_bwd)(real *dpred, const real *dloss, double g,
                           const real *pred, const real *target, int64_t n);

/* L1 over n elements: |pred - target|. */
void FNN(fnn_l1_loss_fwd)(real *loss, const real *pred, const real *target, int64_t n, int reduction);

/* dpred (n,) = g_i * sign(pred - target), sign(0) = 0 (torch's subgradient), NaN stays NaN. */
void FNN(fnn_l1_loss_bwd)(real *dpred, const real *dloss, double g,
                          const real *pred, const real *target, int64_t n);

#endif
