/* optim.h: fused, single-pass, in-place optimizer updates (torch.optim's single-tensor formulas).
 *
 * Every kernel reads param, grad and the state buffers once and writes param and the state once,
 * element by element; all arrays are C-contiguous, n elements, the same dtype. grad is read
 * only; param and the state buffers are updated in place. Hyperparameters arrive as double and
 * derived scalars (bias corrections, decayed lr) are computed in double, then rounded once to the
 * element type, as torch does. maximize negates the gradient. The Python layer validated shapes,
 * dtypes, layouts and hyperparameter ranges. */
#ifndef FNN_GENERIC
#ifndef FNN_OPTIM_H
#define FNN_OPTIM_H
#include "runtime.h"
#define FNN_GENERIC "optim.h"
#include "dtype.h"
#endif
#else

/* torch.optim.SGD: g = grad + weight_decay * param;
 *   with momentum != 0: buf = first_step ? g : momentum * buf + (1 - dampening) * g,
 *                       g = nesterov ? g + momentum * buf : buf;
 *   param -= lr * g.
 * momentum_buf (n,) may be NULL when momentum == 0 (then it is not touched). */
void FNN(fnn_sgd_step)(real *param, real *momentum_buf, const real *grad, int64_t n,
                       double lr, double momentum, double dampening, double weight_decay,
                       int nesterov, int maximize, int first_step);

/* torch.optim.Adagrad at step `step` (counting from 1): g = grad + weight_decay * param;
 *   state_sum += g * g;  param -= clr * g / (sqrt(state_sum) + eps),
 *   clr = lr / (1 + (step - 1) * lr_decay). */
void FNN(fnn_adagrad_step)(real *param, real *state_sum, const real *grad, int64_t n,
                           double lr, double lr_decay, double weight_decay, double eps,
                           int64_t step, int maximize);

/* torch.optim.RMSprop: g = grad + weight_decay * param;
 *   square_avg = alpha * square_avg + (1 - alpha) * g * g;
 *   centered (grad_avg not NULL): grad_avg = lerp(grad_avg, g, 1 - alpha),
 *                                 avg = sqrt(square_avg - grad_avg^2) + eps;  else sqrt(square_avg) + eps;
 *   momentum > 0 (momentum_buf not NULL): buf = momentum * buf + g / avg, param -= lr * buf;
 *   else param -= lr * g / avg. */
void FNN(fnn_rmsprop_step)(real *param, real *square_avg, real *momentum_buf, real *grad_avg,
                           const real *grad, int64_t n, double lr, double alpha, double eps,
                           double weight_decay, double momentum, int maximize);

/* torch.optim.Adam (decoupled = 0) and AdamW (decoupled = 1) at step `step` (counting from 1):
 *   weight decay: Adam g = grad + weight_decay * param; AdamW param *= 1 - lr * weight_decay;
 *   exp_avg = lerp(exp_avg, g, 1 - beta1);  exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g;
 *   AMSGrad (max_exp_avg_sq not NULL): max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq), used below;
 *   param -= lr / (1 - beta1^step) * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - beta2^step) + eps). */
void FNN(fnn_adam_step)(real *param, real *exp_avg, real *exp_avg_sq, real *max_exp_avg_sq,
                        const real *grad, int64_t n, double lr, double beta1, double beta2,
                        double eps, double weight_decay, int64_t step, int decoupled, int maximize);

#endif
