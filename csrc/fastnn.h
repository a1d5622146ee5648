/* fastnn.h: every kernel's prototype, one header per family.
 *
 * Conventions (see the README's design section):
 *   - C symbols are fnn_<op>_<fwd|bwd>_<f32|f64>: outputs first, then const inputs, then sizes
 *     as int64_t, then options; optional pointers (bias) may be NULL.
 *   - Arrays are C-contiguous, in PyTorch's layouts; the Python layer validated every shape.
 *   - Kernels never allocate behind the caller's back except scratch freed before returning.
 */
#ifndef FNN_FASTNN_H
#define FNN_FASTNN_H

#include "runtime.h"
#include "blas.h"

/* Activation codes shared by fused epilogues (linear, conv) and the activation family. */
enum { FNN_ACT_NONE = 0, FNN_ACT_RELU = 1, FNN_ACT_SIGMOID = 2, FNN_ACT_TANH = 3 };

#include "linear.h"
#include "optim.h"
#include "activation.h"
#include "softmax.h"
#include "loss.h"
#include "dropout.h"
#include "norm.h"
#include "conv.h"
#include "pool.h"
#include "rnn.h"
#include "embedding.h"

#endif
