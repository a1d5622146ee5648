/* dtype.h: instantiate a dtype-generic C file once for float and once for double.
 *
 * A family file is written once, in terms of
 *     real          the element type (float or double)
 *     FNN(name)     the exported name with its dtype suffix: FNN(fnn_relu_fwd) -> fnn_relu_fwd_f32
 *     REAL_MAX      the largest finite value of real (REAL_EPS: its machine epsilon)
 *     FNN_IS_F32    1 for the float pass, 0 for the double pass
 *     fnn_exp, fnn_log, fnn_log1p, fnn_tanh, fnn_erf, fnn_sqrt, fnn_fabs, fnn_pow
 *                   the libm function of that precision (expf or exp, ...)
 * and uses this idiom:
 *
 *     #ifndef FNN_GENERIC             // first pass: dtype-independent helpers, then instantiate
 *     #include "fastnn.h"
 *     ...helpers...
 *     #define FNN_GENERIC "activation.c"
 *     #include "dtype.h"              // includes this very file twice, real = float then double
 *     #else
 *     ...the generic kernels, written once...
 *     #endif
 *
 * so float32 and float64 come from one source, never two hand-kept copies.
 */
#ifndef FNN_GENERIC
#error "define FNN_GENERIC (the file to instantiate) before including dtype.h"
#endif

#ifndef FNN_DTYPE_PASS
/* Outer include: this file includes itself once per dtype (pass 32: float, 64: double). */
#define FNN_DTYPE_PASS 32
#include "dtype.h"
#undef FNN_DTYPE_PASS
#define FNN_DTYPE_PASS 64
#include "dtype.h"
#undef FNN_DTYPE_PASS
#undef FNN_GENERIC

#else  /* one pass: define the names for this dtype, instantiate FNN_GENERIC, clear the names */

#if FNN_DTYPE_PASS == 32
#define real float
#define FNN(name) name##_f32
#define REAL_MAX FLT_MAX
#define REAL_EPS FLT_EPSILON
#define FNN_IS_F32 1
#define fnn_exp expf
#define fnn_log logf
#define fnn_log1p log1pf
#define fnn_tanh tanhf
#define fnn_erf erff
#define fnn_sqrt sqrtf
#define fnn_fabs fabsf
#define fnn_pow powf
#else
#define real double
#define FNN(name) name##_f64
#define REAL_MAX DBL_MAX
#define REAL_EPS DBL_EPSILON
#define FNN_IS_F32 0
#define fnn_exp exp
#define fnn_log log
#define fnn_log1p log1p
#define fnn_tanh tanh
#define fnn_erf erf
#define fnn_sqrt sqrt
#define fnn_fabs fabs
#define fnn_pow pow
#endif

#include FNN_GENERIC

#undef real
#undef FNN
#undef REAL_MAX
#undef REAL_EPS
#undef FNN_IS_F32
#undef fnn_exp
#undef fnn_log
#undef fnn_log1p
#undef fnn_tanh
#undef fnn_erf
#undef fnn_sqrt
#undef fnn_fabs
#undef fnn_pow

#endif
