/* optim.c: fused optimizer updates, one pass over memory per step.
 *
 * torch.optim's single-tensor algorithms run 4-8 separate elementwise ops per step, each a full
 * pass over the parameter-sized tensors (plus temporaries); here each element of param, grad and
 * the state buffers is read once and written once, in the same order of floating-point
 * operations as torch (so float64 trajectories agree to rounding).
 *
 * Layout of each optimizer:
 *   <opt>_body   the loop over a range, always inlined, its option flags literal constants at
 *                each call so every combination compiles to its own branch-free SIMD loop;
 *   <opt>_range  FNN_HOT (AVX2/FMA clone + baseline): picks the specialised loop for the flags;
 *   fnn_<opt>_step  computes the scalars in double and splits the elements over OpenMP threads,
 *                each calling <opt>_range on its own contiguous share (no two threads touch the
 *                same cache line).
 */
#ifndef FNN_GENERIC
#include "fastnn.h"

/* sqrt's only side effect is setting errno for a negative operand (its result is NaN either way,
 * as torch's). Declaring it const here, in this file only, drops that side effect, so GCC turns
 * sqrt into the vsqrtps/vsqrtpd instruction inside vectorised loops instead of a scalar call
 * with an errno branch (which kept every loop scalar and 2x slower than torch). Values are
 * unchanged: this is not -ffast-math. */
float sqrtf(float) __attribute__((const));
double sqrt(double) __attribute__((const));

/* Elements per thread worth forking for: an update costs ~1 ns per element. */
#define FNN_OPTIM_GRAIN 32768

#define FNN_ALWAYS_INLINE static inline __attribute__((always_inline))

/* Threads share the parameters in blocks of this many elements (fnn_thread_range). */
#define FNN_OPTIM_BLOCK 64

#define FNN_GENERIC "optim.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

/* torch's lerp: small weights from the start, large ones from the end (w_small = |w| < 0.5). */
#define FNN_LERP(a, b, w, omw, w_small) ((w_small) ? (a) + (w) * ((b) - (a)) : (b) - ((b) - (a)) * (omw))

/* ---------------------------------------------------------------------------------------- SGD */

typedef struct {
    real lr, momentum, one_minus_dampening, weight_decay, sign;
} FNN(sgd_scalars);

FNN_ALWAYS_INLINE void FNN(sgd_body)(int64_t n, real *restrict p, real *restrict buf,
                                     const real *restrict g, const FNN(sgd_scalars) *s,
                                     const int l2, const int use_buf, const int nesterov,
                                     const int first)
{
    const real lr = s->lr, mom = s->momentum, omd = s->one_minus_dampening;
    const real wd = s->weight_decay, sign = s->sign;
    for (int64_t i = 0; i < n; i++) {
        real gi = sign * g[i];
        if (l2)
            gi = gi + wd * p[i];
        if (use_buf) {
            real b = first ? gi : mom * buf[i] + omd * gi;
            buf[i] = b;
            gi = nesterov ? gi + mom * b : b;
        }
        p[i] = p[i] - lr * gi;
    }
}

#define FNN_SGD(L2, BUF, NEST, FIRST) FNN(sgd_body)(n, p, buf, g, s, L2, BUF, NEST, FIRST)

static FNN_HOT void FNN(sgd_range)(int64_t n, real *restrict p, real *restrict buf,
                                   const real *restrict g, const FNN(sgd_scalars) *s,
                                   int l2, int nesterov, int first)
{
    if (buf == NULL) {
        if (l2) FNN_SGD(1, 0, 0, 0); else FNN_SGD(0, 0, 0, 0);
    } else if (first) {
        if (nesterov) {
            if (l2) FNN_SGD(1, 1, 1, 1); else FNN_SGD(0, 1, 1, 1);
        } else {
            if (l2) FNN_SGD(1, 1, 0, 1); else FNN_SGD(0, 1, 0, 1);
        }
    } else {
        if (nesterov) {
            if (l2) FNN_SGD(1, 1, 1, 0); else FNN_SGD(0, 1, 1, 0);
        } else {
            if (l2) FNN_SGD(1, 1, 0, 0); else FNN_SGD(0, 1, 0, 0);
        }
    }
}
#undef FNN_SGD

void FNN(fnn_sgd_step)(real *param, real *momentum_buf, const real *grad, int64_t n,
                       double lr, double momentum, double dampening, double weight_decay,
                       int nesterov, int maximize, int first_step)
{
    FNN(sgd_scalars) s = {(real)lr, (real)momentum, (real)(1 - dampening), (real)weight_decay,
                          maximize ? (real)-1 : (real)1};
    real *buf = momentum != 0 ? momentum_buf : NULL;
    int l2 = weight_decay != 0;
    int nt = fnn_threads_for(n, FNN_OPTIM_GRAIN);
    if (nt <= 1) {       /* no parallel region at all: small steps stay cheap */
        if (n > 0)
            FNN(sgd_range)(n, param, buf, grad, &s, l2, nesterov, first_step);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int64_t i0, i1;
        fnn_thread_range(n, FNN_OPTIM_BLOCK, &i0, &i1);
        if (i1 > i0)
            FNN(sgd_range)(i1 - i0, param + i0, buf ? buf + i0 : NULL, grad + i0, &s,
                           l2, nesterov, first_step);
    }
}

/* ------------------------------------------------------------------------------------ Adagrad */

typedef struct {
    real neg_clr, weight_decay, eps, sign;
} FNN(adagrad_scalars);

FNN_ALWAYS_INLINE void FNN(adagrad_body)(int64_t n, real *restrict p, real *restrict sum,
                                         const real *restrict g, const FNN(adagrad_scalars) *s,
                                         const int l2)
{
    const real neg_clr = s->neg_clr, wd = s->weight_decay, eps = s->eps, sign = s->sign;
    for (int64_t i = 0; i < n; i++) {
        real gi = sign * g[i];
        if (l2)
            gi = gi + wd * p[i];
        real acc = sum[i] + gi * gi;
        sum[i] = acc;
        real std = fnn_sqrt(acc) + eps;
        p[i] = p[i] + neg_clr * (gi / std);
    }
}

static FNN_HOT void FNN(adagrad_range)(int64_t n, real *restrict p, real *restrict sum,
                                       const real *restrict g, const FNN(adagrad_scalars) *s, int l2)
{
    if (l2)
        FNN(adagrad_body)(n, p, sum, g, s, 1);
    else
        FNN(adagrad_body)(n, p, sum, g, s, 0);
}

void FNN(fnn_adagrad_step)(real *param, real *state_sum, const real *grad, int64_t n,
                           double lr, double lr_decay, double weight_decay, double eps,
                           int64_t step, int maximize)
{
    double clr = lr / (1 + (double)(step - 1) * lr_decay);
    FNN(adagrad_scalars) s = {(real)-clr, (real)weight_decay, (real)eps,
                              maximize ? (real)-1 : (real)1};
    int l2 = weight_decay != 0;
    int nt = fnn_threads_for(n, FNN_OPTIM_GRAIN);
    if (nt <= 1) {
        if (n > 0)
            FNN(adagrad_range)(n, param, state_sum, grad, &s, l2);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int64_t i0, i1;
        fnn_thread_range(n, FNN_OPTIM_BLOCK, &i0, &i1);
        if (i1 > i0)
            FNN(adagrad_range)(i1 - i0, param + i0, state_sum + i0, grad + i0, &s, l2);
    }
}

/* ------------------------------------------------------------------------------------ RMSprop */

typedef struct {
    real lr, alpha, one_minus_alpha, w, omw, eps, weight_decay, momentum, sign;
    int w_small;
} FNN(rmsprop_scalars);

FNN_ALWAYS_INLINE void FNN(rmsprop_body)(int64_t n, real *restrict p, real *restrict sq,
                                         real *restrict buf, real *restrict gavg,
                                         const real *restrict g, const FNN(rmsprop_scalars) *s,
                                         const int l2, const int use_buf, const int centered,
                                         const int w_small)
{
    const real lr = s->lr, alpha = s->alpha, oma = s->one_minus_alpha, w = s->w, omw = s->omw;
    const real eps = s->eps, wd = s->weight_decay, mom = s->momentum, sign = s->sign;
    for (int64_t i = 0; i < n; i++) {
        real gi = sign * g[i];
        if (l2)
            gi = gi + wd * p[i];
        real v = sq[i] * alpha + oma * (gi * gi);
        sq[i] = v;
        real avg;
        if (centered) {
            real a = gavg[i];
            a = FNN_LERP(a, gi, w, omw, w_small);
            gavg[i] = a;
            avg = fnn_sqrt(v - a * a);
        } else {
            avg = fnn_sqrt(v);
        }
        avg = avg + eps;
        if (use_buf) {
            real b = buf[i] * mom + gi / avg;
            buf[i] = b;
            p[i] = p[i] - lr * b;
        } else {
            p[i] = p[i] - lr * (gi / avg);
        }
    }
}

#define FNN_RMS(L2, BUF, CEN, WS) FNN(rmsprop_body)(n, p, sq, buf, gavg, g, s, L2, BUF, CEN, WS)

static FNN_HOT void FNN(rmsprop_range)(int64_t n, real *restrict p, real *restrict sq,
                                       real *restrict buf, real *restrict gavg,
                                       const real *restrict g, const FNN(rmsprop_scalars) *s,
                                       int l2)
{
    if (gavg == NULL) {
        if (buf == NULL) {
            if (l2) FNN_RMS(1, 0, 0, 1); else FNN_RMS(0, 0, 0, 1);
        } else {
            if (l2) FNN_RMS(1, 1, 0, 1); else FNN_RMS(0, 1, 0, 1);
        }
    } else if (s->w_small) {
        if (buf == NULL) {
            if (l2) FNN_RMS(1, 0, 1, 1); else FNN_RMS(0, 0, 1, 1);
        } else {
            if (l2) FNN_RMS(1, 1, 1, 1); else FNN_RMS(0, 1, 1, 1);
        }
    } else {  /* alpha <= 0.5: rare, one generic loop */
        FNN_RMS(l2, buf != NULL, 1, 0);
    }
}
#undef FNN_RMS

void FNN(fnn_rmsprop_step)(real *param, real *square_avg, real *momentum_buf, real *grad_avg,
                           const real *grad, int64_t n, double lr, double alpha, double eps,
                           double weight_decay, double momentum, int maximize)
{
    double w = 1 - alpha;
    FNN(rmsprop_scalars) s = {(real)lr, (real)alpha, (real)(1 - alpha), (real)w,
                              (real)1 - (real)w, (real)eps, (real)weight_decay, (real)momentum,
                              maximize ? (real)-1 : (real)1, fabs(w) < 0.5};
    real *buf = momentum > 0 ? momentum_buf : NULL;
    int l2 = weight_decay != 0;
    int nt = fnn_threads_for(n, FNN_OPTIM_GRAIN);
    if (nt <= 1) {
        if (n > 0)
            FNN(rmsprop_range)(n, param, square_avg, buf, grad_avg, grad, &s, l2);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int64_t i0, i1;
        fnn_thread_range(n, FNN_OPTIM_BLOCK, &i0, &i1);
        if (i1 > i0)
            FNN(rmsprop_range)(i1 - i0, param + i0, square_avg + i0, buf ? buf + i0 : NULL,
                               grad_avg ? grad_avg + i0 : NULL, grad + i0, &s, l2);
    }
}

/* --------------------------------------------------------------------------------- Adam, AdamW */

typedef struct {
    real neg_step_size, bc2_sqrt, w, omw, beta2, one_minus_beta2, eps, weight_decay, decay, sign;
    int w_small;
} FNN(adam_scalars);

FNN_ALWAYS_INLINE void FNN(adam_body)(int64_t n, real *restrict p, real *restrict m,
                                      real *restrict v, real *restrict vmax,
                                      const real *restrict g, const FNN(adam_scalars) *s,
                                      const int l2, const int decoupled, const int amsgrad,
                                      const int w_small)
{
    const real neg_step = s->neg_step_size, bc2_sqrt = s->bc2_sqrt, w = s->w, omw = s->omw;
    const real b2 = s->beta2, omb2 = s->one_minus_beta2, eps = s->eps;
    const real wd = s->weight_decay, decay = s->decay, sign = s->sign;
    for (int64_t i = 0; i < n; i++) {
        real gi = sign * g[i];
        real pi = p[i];
        if (l2)
            gi = gi + wd * pi;
        if (decoupled)
            pi = pi * decay;
        real mi = m[i];
        mi = FNN_LERP(mi, gi, w, omw, w_small);
        m[i] = mi;
        real vi = v[i] * b2 + omb2 * (gi * gi);
        v[i] = vi;
        if (amsgrad) {
            real vm = vmax[i];
            vm = (vi > vm || vi != vi) ? vi : vm;   /* torch.maximum: NaN propagates */
            vmax[i] = vm;
            vi = vm;
        }
        real denom = fnn_sqrt(vi) / bc2_sqrt + eps;
        p[i] = pi + neg_step * (mi / denom);
    }
}

#define FNN_ADAM(L2, DEC, AMS, WS) FNN(adam_body)(n, p, m, v, vmax, g, s, L2, DEC, AMS, WS)

static FNN_HOT void FNN(adam_range)(int64_t n, real *restrict p, real *restrict m,
                                    real *restrict v, real *restrict vmax,
                                    const real *restrict g, const FNN(adam_scalars) *s,
                                    int l2, int decoupled)
{
    if (!s->w_small) {  /* beta1 <= 0.5: rare, one generic loop */
        FNN_ADAM(l2, decoupled, vmax != NULL, 0);
    } else if (vmax == NULL) {
        if (l2) FNN_ADAM(1, 0, 0, 1); else if (decoupled) FNN_ADAM(0, 1, 0, 1); else FNN_ADAM(0, 0, 0, 1);
    } else {
        if (l2) FNN_ADAM(1, 0, 1, 1); else if (decoupled) FNN_ADAM(0, 1, 1, 1); else FNN_ADAM(0, 0, 1, 1);
    }
}
#undef FNN_ADAM

void FNN(fnn_adam_step)(real *param, real *exp_avg, real *exp_avg_sq, real *max_exp_avg_sq,
                        const real *grad, int64_t n, double lr, double beta1, double beta2,
                        double eps, double weight_decay, int64_t step, int decoupled, int maximize)
{
    double bc1 = 1 - pow(beta1, (double)step);
    double bc2 = 1 - pow(beta2, (double)step);
    double w = 1 - beta1;
    FNN(adam_scalars) s = {(real)-(lr / bc1), (real)sqrt(bc2), (real)w, (real)1 - (real)w,
                           (real)beta2, (real)(1 - beta2), (real)eps, (real)weight_decay,
                           (real)(1 - lr * weight_decay), maximize ? (real)-1 : (real)1,
                           fabs(w) < 0.5};
    int l2 = weight_decay != 0 && !decoupled;
    int dec = weight_decay != 0 && decoupled;
    int nt = fnn_threads_for(n, FNN_OPTIM_GRAIN);
    if (nt <= 1) {
        if (n > 0)
            FNN(adam_range)(n, param, exp_avg, exp_avg_sq, max_exp_avg_sq, grad, &s, l2, dec);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        int64_t i0, i1;
        fnn_thread_range(n, FNN_OPTIM_BLOCK, &i0, &i1);
        if (i1 > i0)
            FNN(adam_range)(i1 - i0, param + i0, exp_avg + i0, exp_avg_sq + i0,
                            max_exp_avg_sq ? max_exp_avg_sq + i0 : NULL, grad + i0, &s, l2, dec);
    }
}

#undef FNN_LERP

#endif
