/* mathfn.h: vectorisable elementary functions, written once for float and double (dtype.h idiom).
 *
 * gcc does not vectorise calls to libm's expf/exp without -ffast-math (which fastnn forbids), so
 * the kernels that apply exp to every element (softmax, sigmoid, tanh, GELU's derivative, losses)
 * use these branch-free inline versions instead; inside a simple loop gcc -O3 turns them into
 * SIMD code (8 floats or 4 doubles per AVX2 instruction in the FNN_HOT clone).
 *
 *   fnn_vexp_f32/f64(x)     e^x
 *   fnn_vexp_flush_f32/f64(x)  e^x for x <= 88 / 709, subnormal results flushed to 0 (cheaper)
 *   fnn_vexp_neg_f32/f64(x) e^x for x <= 0, as exact as fnn_vexp (cheaper: one scaling)
 *   fnn_vexpm1_f32/f64(x)   e^x - 1, accurate near 0 (no cancellation); expm1(-0) is +0
 *   fnn_vsigmoid_f32/f64(x) 1 / (1 + e^-x), stable for any x (only e^-|x| is formed)
 *   fnn_vtanh_f32/f64(x)    tanh x through expm1(2|x|) / (expm1(2|x|) + 2), odd, keeps -0
 *   fnn_verf_f32(x)         erf x, within 2 ulp (see below); fnn_verf_f64 is libm's erf, since a
 *                           polynomial good to a few double ulps is long and was not needed yet
 *
 * Method (exp and expm1): x = k ln2 + r with k = round(x / ln2) and |r| <= ln2/2; ln2 is split
 * in two parts (Cody-Waite) so that k * ln2_hi is exact; e^r (or e^r - 1) by its Taylor
 * polynomial (exp: a fitted degree-6 polynomial for float, error < 2e-9 relative; expm1: the
 * degree-7 Taylor polynomial, < 6e-9; double: degree-13 Taylor, < 5e-18), by Horner's rule; then the result is scaled by 2^k, built directly in the
 * exponent bits. 2^k is applied as two factors 2^k1 * 2^k2 (k1 ~ k/2), so that results in the
 * subnormal range round correctly (once) and results past the largest finite value overflow to
 * inf instead of wrapping the exponent.
 *
 * Accuracy, measured against numpy (tests/test_mathfn.py): exp within 2 ulp for float32 and
 * 2 ulp for float64 over the whole finite range (subnormal results within 1 subnormal step);
 * expm1, tanh and sigmoid within a few ulp. Not correctly rounded, so kernels built on them are
 * compared with conftest's "approx32" tolerance in float32.
 *
 * Special values: exp(-inf) = 0, exp(+inf) = inf, exp(x) = 0 for x below the subnormal range,
 * inf above ln(max); NaN in gives NaN out (everything below is plain arithmetic on NaN; the
 * integer bit tricks never see a float-to-int conversion, so there is no undefined behaviour).
 */
#ifndef FNN_GENERIC
#ifndef FNN_MATHFN_H
#define FNN_MATHFN_H
#include <stdint.h>
#include <string.h>
#include <float.h>
#include <math.h>

#define FNN_INLINE static inline __attribute__((always_inline))

/* Put FNN_NO_TRAPPING_MATH near the top of a kernel file that uses these helpers. By default
 * (-ftrapping-math) gcc keeps a floating-point operation that could raise a trap on the side of
 * a branch where the source put it, and so will not turn `x > 0 ? x : x * slope` into a SIMD
 * select. -fno-trapping-math only declares that no floating-point trap is enabled (numpy and
 * Python never enable any); unlike -ffast-math it changes no result: no reassociation, NaN, inf
 * and signed zeros keep their IEEE meaning. */
#if defined(__GNUC__) && !defined(__clang__)
#define FNN_NO_TRAPPING_MATH _Pragma("GCC optimize(\"no-trapping-math\")")
#else
#define FNN_NO_TRAPPING_MATH
#endif

#define FNN_GENERIC "mathfn.h"
#include "dtype.h"
#endif

#else  /* generic part, once per dtype */

#if FNN_IS_F32
#define MF_UINT uint32_t
#define MF_MANT 23                              /* stored mantissa bits */
#define MF_BIAS 127u                            /* exponent bias */
#define MF_SIGN 0x80000000u
#define MF_SHIFTER 12582912.0f                  /* 1.5 * 2^23: adding it rounds to an integer */
#define MF_LOG2E 1.44269504088896341f
#define MF_LN2_HI 0.693359375f                  /* 9 significant bits: k * hi is exact */
#define MF_LN2_LO -2.12194440054690583e-4f      /* ln2 - hi */
#define MF_EXP_LO -104.0f                       /* e^-104 < half the smallest subnormal: 0 */
#define MF_EXP_HI 89.0f                         /* e^89 > FLT_MAX: inf */
#define MF_EXPM1_BIG 30.0f                      /* k above this: e^x - 1 == e^x in float */
#define MF_TANH_CLAMP 10.0f                     /* tanh(10) rounds to 1 in float */
#define MF_FLUSH_LO -87.336544f                 /* e^x < FLT_MIN below this */
#define MF_NEG_PRESCALE 64.0f                   /* fnn_vexp_neg: 2^-64 applied last */
#define MF_NEG_UNSCALE 5.42101086242752217e-20f
#else
#define MF_UINT uint64_t
#define MF_MANT 52
#define MF_BIAS 1023u
#define MF_SIGN 0x8000000000000000u
#define MF_SHIFTER 6755399441055744.0           /* 1.5 * 2^52 */
#define MF_LOG2E 1.4426950408889634
#define MF_LN2_HI 0.6931471805601177            /* ln2 rounded to 2^-40: k * hi is exact */
#define MF_LN2_LO -1.7239444525614835e-13       /* ln2 - hi */
#define MF_EXP_LO -746.0                        /* below the smallest subnormal: 0 */
#define MF_EXP_HI 710.0                         /* above ln(DBL_MAX): inf */
#define MF_EXPM1_BIG 60.0
#define MF_TANH_CLAMP 20.0
#define MF_FLUSH_LO -708.39641853226408         /* e^x < DBL_MIN below this */
#define MF_NEG_PRESCALE 512.0                   /* -746 / ln2 > -1077 = -512 - 565 */
#define MF_NEG_UNSCALE 7.4583407312002067e-155  /* 2^-512 */
#endif

FNN_INLINE MF_UINT FNN(fnn_mf_bits)(real x)
{
    MF_UINT u;
    memcpy(&u, &x, sizeof u);
    return u;
}

FNN_INLINE real FNN(fnn_mf_from_bits)(MF_UINT u)
{
    real x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 2^k for an integer-valued kf whose exponent is representable as a normal number. */
FNN_INLINE real FNN(fnn_mf_pow2)(real kf)
{
    MF_UINT k = FNN(fnn_mf_bits)(kf + MF_SHIFTER) - FNN(fnn_mf_bits)((real)MF_SHIFTER);
    return FNN(fnn_mf_from_bits)((k + MF_BIAS) << MF_MANT);
}

/* e^r - 1 for |r| <= ln2/2: Taylor polynomial r + r^2/2! + ... + r^7/7! (float) or r^13/13!
 * (double), by Horner's rule from the highest term down. */
FNN_INLINE real FNN(fnn_mf_expm1_poly)(real r)
{
#if FNN_IS_F32
    real p = 1.0f / 5040;          /* 1/7! */
#else
    real p = 1.0 / 6227020800.0;   /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
#endif
    /* 1/6! ... 1/2!, the same terms for both (each constant rounded once, to real) */
    p = p * r + (real)1 / 720;
    p = p * r + (real)1 / 120;
    p = p * r + (real)1 / 24;
    p = p * r + (real)1 / 6;
    p = p * r + (real)1 / 2;
    return r + (r * r) * p;
}

/* e^r for |r| <= ln2/2. float: degree-6 polynomial fitted for minimal relative error
 * (Lawson-weighted least squares on Chebyshev nodes, max error 2.0e-9 before rounding; the
 * coefficients are that fit rounded to float); double: the degree-13 Taylor polynomial. */
FNN_INLINE real FNN(fnn_mf_exp_poly)(real r)
{
#if FNN_IS_F32
    real p = 0.0013843653723597527f;
    p = p * r + 0.00837415549904108f;
    p = p * r + 0.04166800156235695f;
    p = p * r + 0.16666431725025177f;
    p = p * r + 0.4999999403953552f;
    p = p * r + 1.0f;
    return p * r + 1.0f;
#else
    return 1 + FNN(fnn_mf_expm1_poly)(r);
#endif
}

/* Range reduction shared by exp and expm1: x (clamped) = kf * ln2 + r. Returns r. */
FNN_INLINE real FNN(fnn_mf_reduce)(real x, real *kf)
{
    real k = (x * MF_LOG2E + MF_SHIFTER) - MF_SHIFTER;   /* round(x / ln2) */
    *kf = k;
    real r = x - k * MF_LN2_HI;
    return r - k * MF_LN2_LO;
}

/* e^x. */
FNN_INLINE real FNN(fnn_vexp)(real x)
{
    x = x < MF_EXP_LO ? MF_EXP_LO : x;     /* NaN passes both clamps */
    x = x > MF_EXP_HI ? MF_EXP_HI : x;
    real kf;
    real r = FNN(fnn_mf_reduce)(x, &kf);
    real p = FNN(fnn_mf_exp_poly)(r);
    real k1 = (kf * (real)0.5 + MF_SHIFTER) - MF_SHIFTER;
    return (p * FNN(fnn_mf_pow2)(k1)) * FNN(fnn_mf_pow2)(kf - k1);
}

/* e^x for x <= 88 (float) / 709 (double), results below the smallest normal number flushed to
 * 0 (x < -87.34 / -708.40; absolute error below 1.2e-38 / 2.3e-308), -inf -> 0, NaN -> NaN.
 * Cheaper than fnn_vexp (one scaling, no clamps): for arguments known to be <= 0, as in
 * softmax's exp(x - max), where a flushed subnormal probability does not matter. */
FNN_INLINE real FNN(fnn_vexp_flush)(real x)
{
    real kf;
    real r = FNN(fnn_mf_reduce)(x, &kf);
    real y = FNN(fnn_mf_exp_poly)(r) * FNN(fnn_mf_pow2)(kf);
    return x < MF_FLUSH_LO ? 0 : y;
}

/* e^x for x <= 0 (positive x is not allowed: the result would overflow 2^(k+64)), subnormal
 * results rounded correctly as in fnn_vexp, but cheaper: x is clamped below at MF_EXP_LO, so
 * k >= MF_EXP_LO / ln2 > -MF_NEG_PRESCALE - 126 and p * 2^(k + MF_NEG_PRESCALE) is a normal
 * number, computed exactly; the final multiplication by 2^-MF_NEG_PRESCALE rounds once. */
FNN_INLINE real FNN(fnn_vexp_neg)(real x)
{
    x = x < MF_EXP_LO ? MF_EXP_LO : x;     /* NaN passes */
    real kf;
    real r = FNN(fnn_mf_reduce)(x, &kf);
    real p = FNN(fnn_mf_exp_poly)(r) * FNN(fnn_mf_pow2)(kf + MF_NEG_PRESCALE);
    return p * MF_NEG_UNSCALE;
}

/* e^x - 1, accurate near 0. */
FNN_INLINE real FNN(fnn_vexpm1)(real x)
{
    x = x < MF_EXP_LO ? MF_EXP_LO : x;
    x = x > MF_EXP_HI ? MF_EXP_HI : x;
    real kf;
    real r = FNN(fnn_mf_reduce)(x, &kf);
    real q = FNN(fnn_mf_expm1_poly)(r);             /* e^r - 1 */
    real k1 = (kf * (real)0.5 + MF_SHIFTER) - MF_SHIFTER;
    real s1 = FNN(fnn_mf_pow2)(k1), s2 = FNN(fnn_mf_pow2)(kf - k1);
    real s = s1 * s2;                               /* 2^k, exact when k <= MF_EXPM1_BIG */
    real small = s * q + (s - 1);                   /* 2^k (e^r - 1) + 2^k - 1 */
    real big = ((1 + q) * s1) * s2;                 /* the -1 is below half an ulp */
    return kf > MF_EXPM1_BIG ? big : small;
}

/* 1 / (1 + e^-x), forming only e^-|x| so that nothing overflows. */
FNN_INLINE real FNN(fnn_vsigmoid)(real x)
{
    real e = FNN(fnn_vexp_neg)(-fnn_fabs(x));
    real s = 1 / (1 + e), es = e * s;
    return x >= 0 ? s : es;
}

/* tanh x = sign(x) * u / (u + 2) with u = e^(2|x|) - 1 >= 0: no cancellation anywhere. */
FNN_INLINE real FNN(fnn_vtanh)(real x)
{
    real a = fnn_fabs(x);
    a = a > MF_TANH_CLAMP ? MF_TANH_CLAMP : a;      /* NaN passes */
    real u = FNN(fnn_vexpm1)(2 * a);
    real t = u / (u + 2);
    return FNN(fnn_mf_from_bits)(FNN(fnn_mf_bits)(t) | (FNN(fnn_mf_bits)(x) & MF_SIGN));
}

/* e^-(x^2) for |x| <= 9, 0 beyond (where it is below 7e-36; NaN gives NaN), without the error of
 * rounding x^2: x = xh + xl with xh holding the top half of x's mantissa bits, so that
 * hi = xh^2 is exact and x^2 = hi + lo with lo = xl (x + xh) small; lo enters the reduced
 * argument after the exact part. Relative error about that of fnn_vexp. */
FNN_INLINE real FNN(fnn_mf_exp_negsq)(real x)
{
    real a = fnn_fabs(x);
    a = a > 9 ? (real)9 : a;
    real ah = FNN(fnn_mf_from_bits)(FNN(fnn_mf_bits)(a) & ~(((MF_UINT)1 << (MF_MANT + 2) / 2) - 1));
    real hi = ah * ah, lo = (a - ah) * (a + ah);
    real kf;
    real r = FNN(fnn_mf_reduce)(-hi, &kf);     /* k >= -117: 2^k is a normal number */
    real e = FNN(fnn_mf_exp_poly)(r - lo) * FNN(fnn_mf_pow2)(kf);
    return fnn_fabs(x) > 9 ? 0 : e;
}

#if FNN_IS_F32
/* erf x for float, odd, |error| < 2 ulp (tests/test_mathfn.py measures it against float64).
 *   |x| < 0.875:          erf x = x + x P(x^2), P of degree 5 (P(0) = 2/sqrt(pi) - 1, so the
 *                         leading term x is added exactly and only the small part is rounded)
 *   0.875 <= |x| < 3.92:  erf x = 1 - e^-(x^2) Q(|x| - 2.5), Q of degree 8 approximating
 *                         erfc(x) e^(x^2), fitted so that the error relative to erf is < 7e-9
 *   |x| >= 3.92:          +-1 (erf x rounds to 1 in float from 3.9192 on); erf(+-inf) = +-1.
 * Both polynomials are weighted minimax fits (Lawson iterations on Chebyshev nodes) rounded to
 * float. Both branches are computed and one is selected, so a loop over erf vectorises.
 * NaN -> NaN, erf(-0) = -0.
 * fnn_mf_erf_e_f32/f64(x, &e) also returns e = e^-(x^2) (for float: 0 once |x| > 9), which
 * GELU's gradient reuses for the normal density. */
FNN_INLINE float fnn_mf_erf_e_f32(float x, float *e)
{
    float a = fabsf(x), t = a * a;
    float p = -0.00062033854f;
    p = p * t + 0.0050322087f;
    p = p * t - 0.026791485f;
    p = p * t + 0.11282456f;
    p = p * t - 0.3761255f;
    p = p * t + 0.12837915f;
    float small = a + a * p;
    float u = a - 2.5f;
    float q = 1.454988e-04f;
    q = q * u + 4.3868806e-04f;
    q = q * u + 9.82092e-04f;
    q = q * u - 2.9040338e-04f;
    q = q * u + 2.3290978e-03f;
    q = q * u - 8.282448e-03f;
    q = q * u + 2.4835158e-02f;
    q = q * u - 7.435056e-02f;
    q = q * u + 2.1080883e-01f;
    *e = fnn_mf_exp_negsq_f32(a);
    float big = 1.0f - *e * q;
    float r = a < 0.875f ? small : big;               /* NaN takes big, which is NaN */
    r = a >= 3.92f ? 1.0f : r;
    return fnn_mf_from_bits_f32(fnn_mf_bits_f32(r) | (fnn_mf_bits_f32(x) & MF_SIGN));
}
FNN_INLINE float fnn_verf_f32(float x)
{
    float e;
    return fnn_mf_erf_e_f32(x, &e);
}
#else
FNN_INLINE double fnn_mf_erf_e_f64(double x, double *e)
{
    *e = fnn_vexp_neg_f64(-(x * x));
    return erf(x);
}

FNN_INLINE double fnn_verf_f64(double x)
{
    return erf(x);
}
#endif

#undef MF_UINT
#undef MF_MANT
#undef MF_BIAS
#undef MF_SIGN
#undef MF_SHIFTER
#undef MF_LOG2E
#undef MF_LN2_HI
#undef MF_LN2_LO
#undef MF_EXP_LO
#undef MF_EXP_HI
#undef MF_EXPM1_BIG
#undef MF_TANH_CLAMP
#undef MF_FLUSH_LO
#undef MF_NEG_PRESCALE
#undef MF_NEG_UNSCALE

#endif
