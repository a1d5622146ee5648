/* loss.c: cross-entropy (fused log-softmax + NLL), NLL, MSE and L1, forward and backward.
 *
 * Cross-entropy reads each row of logits once from memory: a max pass (starting from the first
 * element) and an exp-sum pass over the row while it sits in L1. The backward recomputes
 * softmax from the logits and the per-row (max, sum of exp) the forward kept, so no (N, C)
 * probability matrix is ever stored: less memory traffic than storing probabilities, and the
 * ctx stays O(N).
 *
 * Sums over rows/elements are accumulated in double over fixed blocks (their number depends
 * only on the size, never on the thread count) and the block sums are added in order, so every
 * result is the same whatever the number of threads.
 */
#ifndef FNN_GENERIC
#include "fastnn.h"
#include "mathfn.h"

/* The select-then-compute patterns of the exp below (clamp, then polynomial) and of sign() are
 * only if-converted into SIMD blends when gcc may assume floating-point operations do not trap.
 * This changes no computed value (fastnn never reads the FP exception flags); it is not
 * -ffast-math: no reassociation, no finite-math or signed-zero assumptions. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* Independent accumulators in row reductions (written as plain loops over lanes, which gcc turns
 * into SIMD registers without reassociating anything). The max pass is latency-bound (compare +
 * blend per step), so it gets 4 AVX2 vectors: 15% faster cross-entropy forward than 2. */
#define FNN_LOSS_LANES 16
#define FNN_LOSS_MAX_LANES 32
#define FNN_LOSS_MAX_BLOCKS 256    /* partial sums per reduction (a stack array) */
#define FNN_LOSS_BLOCK 8192        /* elements per partial sum in the elementwise losses */
#define FNN_LOSS_GRAIN 32768       /* elements per thread worth forking for */

#define FNN_ALWAYS_INLINE static inline __attribute__((always_inline))

/* Run `body` (a statement using the block index b) for b in [0, nb): on `nt` OpenMP threads
 * (a variable of that name at the call site), or in a plain loop when nt is 1, because entering
 * even a one-thread parallel region allocates an OpenMP team, which costs more than a small
 * loss. Either way block b covers the same rows, so results do not depend on nt. */
#define FNN_LOSS_FOR_BLOCKS(nb, body)                                                   \
    do {                                                                               \
        if (nt > 1) {                                                                  \
            _Pragma("omp parallel for schedule(static) num_threads(nt)")               \
            for (int64_t b = 0; b < (nb); b++) { body; }                               \
        } else {                                                                       \
            for (int64_t b = 0; b < (nb); b++) { body; }                               \
        }                                                                              \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * PRIVATE vectorisable expf. TODO(lead): the activation/softmax family is writing a shared
 * csrc/mathfn.h; switch this family to it and delete this block (fnn_loss_expf*, the two
 * bit-cast helpers and fnn_loss_expf_array) once it lands.
 *
 * exp(x) = 2^k * exp(r), k = round(x / ln 2), r = x - k ln 2 (Cody-Waite: ln 2 split into a
 * 9-bit head, exact in k * head, and a tail), |r| <= ln(2)/2, exp(r) by a degree-6 polynomial
 * 1 + r + c2 r^2 + ... + c6 r^6 whose c2..c6 were fitted to minimise the relative error on
 * [-ln2/2, ln2/2] (Lawson's weighted least squares in float64, then rounded to float: 3e-9
 * approximation error, far below float's 6e-8 half-ulp), in Horner form. Measured max error
 * 1 ulp over the whole float range (tests/test_loss.py::test_private_expf_ulp). 2^k is applied
 * as two factors 2^(k/2) and 2^(k - k/2), each a normal float, so results down into the
 * subnormal range round correctly and underflow gives exactly 0.
 * Special values come from clamping x to [-104, 89] with comparisons that let NaN through:
 * x < -104 (also -inf) gives 0, x > 88.73 (also +inf) gives inf (2^128 overflows), NaN
 * propagates. Branch-free, so gcc vectorises loops that call it.
 * fnn_loss_expf_neg skips the upper clamp (about 15% faster): for arguments <= 0 or NaN only,
 * which is what softmax and cross-entropy evaluate (x - rowmax).
 * ------------------------------------------------------------------------------------------- */
FNN_ALWAYS_INLINE uint32_t fnn_loss_f2u(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
FNN_ALWAYS_INLINE float fnn_loss_u2f(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/* exp(xc) for xc in [-104, 89] or NaN */
FNN_ALWAYS_INLINE float fnn_loss_expf_core(float xc)
{
    const float shifter = 12582912.0f;                 /* 1.5 * 2^23: adding it rounds to an integer */
    float kf = xc * 1.44269504088896341f + shifter;    /* k in the low mantissa bits */
    int32_t k = (int32_t)(fnn_loss_f2u(kf) - fnn_loss_f2u(shifter));
    kf -= shifter;
    float r = xc - kf * 0.693359375f;                  /* ln 2 head (exact product) */
    r = r - kf * -2.12194440e-4f;                      /* ln 2 tail */
    float p = 0x1.6a2410p-10f;                         /* c6 */
    p = p * r + 0x1.1239e0p-7f;                        /* c5 */
    p = p * r + 0x1.5558f2p-5f;                        /* c4 */
    p = p * r + 0x1.555492p-3f;                        /* c3 */
    p = p * r + 0x1.fffffcp-2f;                        /* c2 */
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t k1 = k >> 1, k2 = k - k1;                  /* k in [-150, 128]: both halves normal */
    float s1 = fnn_loss_u2f((uint32_t)(k1 + 127) << 23);
    float s2 = fnn_loss_u2f((uint32_t)(k2 + 127) << 23);
    return p * s1 * s2;
}

FNN_ALWAYS_INLINE float fnn_loss_expf(float x)
{
    float xc = x < -104.0f ? -104.0f : x;              /* NaN compares false and stays NaN */
    xc = xc > 89.0f ? 89.0f : xc;
    return fnn_loss_expf_core(xc);
}

/* exp(x) for x <= 0 or NaN (larger x: wrong results) */
FNN_ALWAYS_INLINE float fnn_loss_expf_neg(float x)
{
    return fnn_loss_expf_core(x < -104.0f ? -104.0f : x);
}
/* ----------------------------- end of the private exp ------------------------------------- */

/* Test hook for the private exp: y[i] = fnn_loss_expf(x[i]), or fnn_loss_expf_neg when neg. */
FNN_HOT void fnn_loss_expf_array(float *y, const float *x, int64_t n, int neg)
{
    if (neg)
        for (int64_t i = 0; i < n; i++)
            y[i] = fnn_loss_expf_neg(x[i]);
    else
        for (int64_t i = 0; i < n; i++)
            y[i] = fnn_loss_expf(x[i]);
}

/* Validate class indices: -1 when every target[i] is ignore_index or in [0, c), else the first
 * row that is not; *count receives the rows not ignored. */
static int64_t fnn_loss_check_targets(const int64_t *target, int64_t n, int64_t c,
                                      int64_t ignore_index, int64_t *count)
{
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t t = target[i];
        if (t == ignore_index)
            continue;
        if (t < 0 || t >= c)
            return i;
        kept++;
    }
    *count = kept;
    return -1;
}

/* Number of partial sums for a reduction over n rows or n / unit elements: fixed by n only. */
static inline int64_t fnn_loss_blocks(int64_t n, int64_t unit)
{
    int64_t nb = (n + unit - 1) / unit;
    if (nb > FNN_LOSS_MAX_BLOCKS)
        nb = FNN_LOSS_MAX_BLOCKS;
    return nb < 1 ? 1 : nb;
}

/* The sum of the block partial sums, added in block order. */
static inline double fnn_loss_total(const double *partial, int64_t nb)
{
    double s = 0;
    for (int64_t b = 0; b < nb; b++)
        s += partial[b];
    return s;
}

#define FNN_GENERIC "loss.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

/* LOSS_EXP_NEG(x): exp of an argument <= 0 (x - rowmax) */
#if FNN_IS_F32
#define LOSS_EXP_NEG fnn_loss_expf_neg
#else
#define LOSS_EXP_NEG FNN(fnn_vexp_neg)   /* double: mathfn.h's (2 ulp, vectorises; libm's exp
                                          * does not, and made float64 CE slower than torch's) */
#endif

/* max of a row, starting from its first element (c >= 1); NaN elements are skipped here but
 * still poison the exp-sum that follows, so a row with a NaN gets a NaN loss */
FNN_ALWAYS_INLINE real FNN(loss_rowmax)(const real *x, int64_t c)
{
    real m = x[0];
    int64_t j = 0;
    if (c >= FNN_LOSS_MAX_LANES) {
        real lane[FNN_LOSS_MAX_LANES];
        for (int k = 0; k < FNN_LOSS_MAX_LANES; k++)
            lane[k] = m;
        for (; j + FNN_LOSS_MAX_LANES <= c; j += FNN_LOSS_MAX_LANES)
            for (int k = 0; k < FNN_LOSS_MAX_LANES; k++)
                lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
        for (int k = 0; k < FNN_LOSS_MAX_LANES; k++)
            m = lane[k] > m ? lane[k] : m;
    }
    for (; j < c; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

/* sum_j exp(x[j] - m) */
FNN_ALWAYS_INLINE real FNN(loss_sumexp)(const real *x, int64_t c, real m)
{
    real lane[FNN_LOSS_LANES] = {0};
    int64_t j = 0;
    for (; j + FNN_LOSS_LANES <= c; j += FNN_LOSS_LANES)
        for (int k = 0; k < FNN_LOSS_LANES; k++)
            lane[k] += LOSS_EXP_NEG(x[j + k] - m);
    real s = 0;
    for (int k = 0; k < FNN_LOSS_LANES; k++)
        s += lane[k];
    for (; j < c; j++)
        s += LOSS_EXP_NEG(x[j] - m);
    return s;
}

/* The reduced loss into loss[0]: total / count for the mean, total for the sum; nothing for
 * reduction none (loss[] then holds the per-row / per-element losses). */
static inline void FNN(loss_reduced)(real *loss, double total, int reduction, int64_t count)
{
    if (reduction != FNN_REDUCE_NONE)
        loss[0] = (real)(reduction == FNN_REDUCE_MEAN ? total / (double)count : total);
}

/* ---------------------------------- cross-entropy, class indices ---------------------------- */

/* rows [i0, i1): per-row max and exp-sum, per-row loss into loss[] (when non-NULL); returns
 * the sum of the row losses in double. */
FNN_HOT static double FNN(ce_fwd_rows)(real *loss, real *rowmax, real *sumexp, const real *logits,
                                       const int64_t *target, int64_t i0, int64_t i1, int64_t c,
                                       int64_t ignore_index)
{
    double total = 0;
    for (int64_t i = i0; i < i1; i++) {
        const real *x = logits + i * c;
        if (i + 1 < i1)
            fnn_prefetch_row(x + c, c * (int64_t)sizeof(real));
        real m = FNN(loss_rowmax)(x, c);
        real s = FNN(loss_sumexp)(x, c, m);
        rowmax[i] = m;
        sumexp[i] = s;
        int64_t t = target[i];
        double li = t == ignore_index ? 0.0 : ((double)m - (double)x[t]) + log((double)s);
        if (loss)
            loss[i] = (real)li;
        total += li;
    }
    return total;
}

int64_t FNN(fnn_cross_entropy_fwd)(real *loss, real *rowmax, real *sumexp, int64_t *count,
                                   const real *logits, const int64_t *target,
                                   int64_t n, int64_t c, int64_t ignore_index, int reduction)
{
    int64_t bad = fnn_loss_check_targets(target, n, c, ignore_index, count);
    if (bad >= 0)
        return bad;
    double partial[FNN_LOSS_MAX_BLOCKS];
    int64_t nb = fnn_loss_blocks(n, 1);
    real *rowloss = reduction == FNN_REDUCE_NONE ? loss : NULL;
    int nt = fnn_threads_for(n * c, FNN_LOSS_GRAIN / 2);
    FNN_LOSS_FOR_BLOCKS(nb, partial[b] = FNN(ce_fwd_rows)(rowloss, rowmax, sumexp, logits, target,
                                                           n * b / nb, n * (b + 1) / nb, c, ignore_index));
    FNN(loss_reduced)(loss, fnn_loss_total(partial, nb), reduction, *count);
    return -1;
}

FNN_HOT static void FNN(ce_bwd_rows)(real *dlogits, const real *dloss, double g, const real *logits,
                                     const int64_t *target, const real *rowmax, const real *sumexp,
                                     int64_t i0, int64_t i1, int64_t c, int64_t ignore_index)
{
    for (int64_t i = i0; i < i1; i++) {
        real *d = dlogits + i * c;
        const real *x = logits + i * c;
        int64_t t = target[i];
        if (t == ignore_index) {
            memset(d, 0, (size_t)c * sizeof(real));
            continue;
        }
        double gi = dloss ? (double)dloss[i] : g;
        real a = (real)(gi / (double)sumexp[i]);    /* g_i * softmax = a * exp(x - max) */
        real m = rowmax[i];
        for (int64_t j = 0; j < c; j++)
            d[j] = a * LOSS_EXP_NEG(x[j] - m);
        d[t] -= (real)gi;
    }
}

void FNN(fnn_cross_entropy_bwd)(real *dlogits, const real *dloss, double g,
                                const real *logits, const int64_t *target,
                                const real *rowmax, const real *sumexp,
                                int64_t n, int64_t c, int64_t ignore_index)
{
    int64_t nb = fnn_loss_blocks(n, 1);
    int nt = fnn_threads_for(n * c, FNN_LOSS_GRAIN / 2);
    FNN_LOSS_FOR_BLOCKS(nb, FNN(ce_bwd_rows)(dlogits, dloss, g, logits, target, rowmax, sumexp,
                                              n * b / nb, n * (b + 1) / nb, c, ignore_index));
}

/* ---------------------------------- cross-entropy, probabilities ---------------------------- */

FNN_HOT static double FNN(ce_soft_fwd_rows)(real *loss, real *rowmax, real *sumexp, real *tsum,
                                            const real *logits, const real *target,
                                            int64_t i0, int64_t i1, int64_t c)
{
    double total = 0;
    for (int64_t i = i0; i < i1; i++) {
        const real *x = logits + i * c, *t = target + i * c;
        real m = c > 0 ? FNN(loss_rowmax)(x, c) : 0;
        real s = FNN(loss_sumexp)(x, c, m);
        /* loss_i = -sum_j t_j (x_j - m - log s) = log(s) * sum_j t_j - sum_j t_j (x_j - m):
         * x_j - m <= 0, so for t >= 0 the two terms never cancel */
        real lt[FNN_LOSS_LANES] = {0}, ld[FNN_LOSS_LANES] = {0};
        int64_t j = 0;
        for (; j + FNN_LOSS_LANES <= c; j += FNN_LOSS_LANES)
            for (int k = 0; k < FNN_LOSS_LANES; k++) {
                lt[k] += t[j + k];
                ld[k] += t[j + k] * (x[j + k] - m);
            }
        double ts = 0, dot = 0;
        for (int k = 0; k < FNN_LOSS_LANES; k++) {
            ts += lt[k];
            dot += ld[k];
        }
        for (; j < c; j++) {
            ts += t[j];
            dot += (double)t[j] * (double)(x[j] - m);
        }
        rowmax[i] = m;
        sumexp[i] = s;
        tsum[i] = (real)ts;
        double li = log((double)s) * ts - dot;
        if (loss)
            loss[i] = (real)li;
        total += li;
    }
    return total;
}

void FNN(fnn_cross_entropy_soft_fwd)(real *loss, real *rowmax, real *sumexp, real *tsum,
                                     const real *logits, const real *target,
                                     int64_t n, int64_t c, int reduction)
{
    double partial[FNN_LOSS_MAX_BLOCKS];
    int64_t nb = fnn_loss_blocks(n, 1);
    real *rowloss = reduction == FNN_REDUCE_NONE ? loss : NULL;
    int nt = fnn_threads_for(n * c, FNN_LOSS_GRAIN / 2);
    FNN_LOSS_FOR_BLOCKS(nb, partial[b] = FNN(ce_soft_fwd_rows)(rowloss, rowmax, sumexp, tsum, logits, target,
                                                                n * b / nb, n * (b + 1) / nb, c));
    FNN(loss_reduced)(loss, fnn_loss_total(partial, nb), reduction, n);
}

FNN_HOT static void FNN(ce_soft_bwd_rows)(real *dlogits, const real *dloss, double g,
                                          const real *logits, const real *target,
                                          const real *rowmax, const real *sumexp, const real *tsum,
                                          int64_t i0, int64_t i1, int64_t c)
{
    for (int64_t i = i0; i < i1; i++) {
        real *d = dlogits + i * c;
        const real *x = logits + i * c, *t = target + i * c;
        double gi = dloss ? (double)dloss[i] : g;
        real a = (real)(gi * (double)tsum[i] / (double)sumexp[i]);
        real gr = (real)gi, m = rowmax[i];
        for (int64_t j = 0; j < c; j++)
            d[j] = a * LOSS_EXP_NEG(x[j] - m) - gr * t[j];
    }
}

void FNN(fnn_cross_entropy_soft_bwd)(real *dlogits, const real *dloss, double g,
                                     const real *logits, const real *target,
                                     const real *rowmax, const real *sumexp, const real *tsum,
                                     int64_t n, int64_t c)
{
    int64_t nb = fnn_loss_blocks(n, 1);
    int nt = fnn_threads_for(n * c, FNN_LOSS_GRAIN / 2);
    FNN_LOSS_FOR_BLOCKS(nb, FNN(ce_soft_bwd_rows)(dlogits, dloss, g, logits, target, rowmax, sumexp, tsum,
                                                   n * b / nb, n * (b + 1) / nb, c));
}

/* ---------------------------------- NLL ----------------------------------------------------- */

int64_t FNN(fnn_nll_loss_fwd)(real *loss, int64_t *count, const real *logp, const int64_t *target,
                              int64_t n, int64_t c, int64_t ignore_index, int reduction)
{
    int64_t bad = fnn_loss_check_targets(target, n, c, ignore_index, count);
    if (bad >= 0)
        return bad;
    /* one element per row: far too little work to fork for, and a plain double sum */
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t t = target[i];
        real li = t == ignore_index ? (real)0 : -logp[i * c + t];
        if (reduction == FNN_REDUCE_NONE)
            loss[i] = li;
        total += (double)li;
    }
    FNN(loss_reduced)(loss, total, reduction, *count);
    return -1;
}

static void FNN(nll_bwd_rows)(real *dlogp, const real *dloss, double g, const int64_t *target,
                              int64_t i0, int64_t i1, int64_t c, int64_t ignore_index)
{
    memset(dlogp + i0 * c, 0, (size_t)((i1 - i0) * c) * sizeof(real));
    for (int64_t i = i0; i < i1; i++) {
        int64_t t = target[i];
        if (t != ignore_index)
            dlogp[i * c + t] = -(real)(dloss ? (double)dloss[i] : g);
    }
}

void FNN(fnn_nll_loss_bwd)(real *dlogp, const real *dloss, double g, const int64_t *target,
                           int64_t n, int64_t c, int64_t ignore_index)
{
    int64_t nb = fnn_loss_blocks(n, 1);
    int nt = fnn_threads_for(n * c, FNN_LOSS_GRAIN);
    FNN_LOSS_FOR_BLOCKS(nb, FNN(nll_bwd_rows)(dlogp, dloss, g, target, n * b / nb, n * (b + 1) / nb,
                                              c, ignore_index));
}

/* ---------------------------------- MSE and L1 --------------------------------------------- */

/* sum over [j0, j1) of (pred - target)^2 (square = 1) or |pred - target| (square = 0), in
 * double lanes; the per-element loss goes to loss[] when non-NULL */
FNN_HOT static double FNN(pointwise_fwd_block)(real *loss, const real *pred, const real *target,
                                               int64_t j0, int64_t j1, int square)
{
    double lane[FNN_LOSS_LANES] = {0};
    int64_t j = j0;
    if (loss) {
        if (square)
            for (int64_t i = j0; i < j1; i++) {
                real d = pred[i] - target[i];
                loss[i] = d * d;
            }
        else
            for (int64_t i = j0; i < j1; i++)
                loss[i] = fnn_fabs(pred[i] - target[i]);
        return 0;
    }
    if (square) {
        for (; j + FNN_LOSS_LANES <= j1; j += FNN_LOSS_LANES)
            for (int k = 0; k < FNN_LOSS_LANES; k++) {
                double d = (double)(pred[j + k] - target[j + k]);
                lane[k] += d * d;
            }
    } else {
        for (; j + FNN_LOSS_LANES <= j1; j += FNN_LOSS_LANES)
            for (int k = 0; k < FNN_LOSS_LANES; k++)
                lane[k] += (double)fnn_fabs(pred[j + k] - target[j + k]);
    }
    double s = 0;
    for (int k = 0; k < FNN_LOSS_LANES; k++)
        s += lane[k];
    for (; j < j1; j++) {
        double d = (double)(pred[j] - target[j]);
        s += square ? d * d : fabs(d);
    }
    return s;
}

static void FNN(pointwise_fwd)(real *loss, const real *pred, const real *target, int64_t n,
                               int reduction, int square)
{
    double partial[FNN_LOSS_MAX_BLOCKS];
    int64_t nb = fnn_loss_blocks(n, FNN_LOSS_BLOCK);
    real *each = reduction == FNN_REDUCE_NONE ? loss : NULL;
    int nt = fnn_threads_for(n, FNN_LOSS_GRAIN);
    FNN_LOSS_FOR_BLOCKS(nb, partial[b] = FNN(pointwise_fwd_block)(each, pred, target, n * b / nb,
                                                                   n * (b + 1) / nb, square));
    FNN(loss_reduced)(loss, fnn_loss_total(partial, nb), reduction, n);
}

/* dpred over [j0, j1): scale_i * (pred - target) (square) or scale_i * sign(pred - target),
 * scale_i = 2 dloss[i] or 2 g (square), dloss[i] or g (L1) */
FNN_HOT static void FNN(pointwise_bwd_block)(real *dpred, const real *dloss, double g,
                                             const real *pred, const real *target,
                                             int64_t j0, int64_t j1, int square)
{
    real f = square ? (real)2 : (real)1;
    if (square) {
        if (dloss)
            for (int64_t i = j0; i < j1; i++)
                dpred[i] = f * dloss[i] * (pred[i] - target[i]);
        else {
            real a = (real)(2 * g);
            for (int64_t i = j0; i < j1; i++)
                dpred[i] = a * (pred[i] - target[i]);
        }
    } else {
        /* sign(d) with sign(0) = 0 and sign(NaN) = NaN, as torch.sign */
        if (dloss)
            for (int64_t i = j0; i < j1; i++) {
                real d = pred[i] - target[i];
                dpred[i] = dloss[i] * (d > 0 ? (real)1 : (d < 0 ? (real)-1 : d));
            }
        else {
            real a = (real)g;
            for (int64_t i = j0; i < j1; i++) {
                real d = pred[i] - target[i];
                dpred[i] = a * (d > 0 ? (real)1 : (d < 0 ? (real)-1 : d));
            }
        }
    }
}

static void FNN(pointwise_bwd)(real *dpred, const real *dloss, double g, const real *pred,
                               const real *target, int64_t n, int square)
{
    int64_t nb = fnn_loss_blocks(n, FNN_LOSS_BLOCK);
    int nt = fnn_threads_for(n, FNN_LOSS_GRAIN);
    FNN_LOSS_FOR_BLOCKS(nb, FNN(pointwise_bwd_block)(dpred, dloss, g, pred, target, n * b / nb,
                                                      n * (b + 1) / nb, square));
}

void FNN(fnn_mse_loss_fwd)(real *loss, const real *pred, const real *target, int64_t n, int reduction)
{
    FNN(pointwise_fwd)(loss, pred, target, n, reduction, 1);
}

void FNN(fnn_mse_loss_bwd)(real *dpred, const real *dloss, double g,
                           const real *pred, const real *target, int64_t n)
{
    FNN(pointwise_bwd)(dpred, dloss, g, pred, target, n, 1);
}

void FNN(fnn_l1_loss_fwd)(real *loss, const real *pred, const real *target, int64_t n, int reduction)
{
    FNN(pointwise_fwd)(loss, pred, target, n, reduction, 0);
}

void FNN(fnn_l1_loss_bwd)(real *dpred, const real *dloss, double g,
                          const real *pred, const real *target, int64_t n)
{
    FNN(pointwise_bwd)(dpred, dloss, g, pred, target, n, 0);
}

#undef LOSS_EXP_NEG
#endif
