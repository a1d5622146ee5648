# _optim.pyx: binding of csrc/optim.c (fused, single-pass, in-place optimizer updates).
#
# Every function updates param and its state buffers IN PLACE and returns None. So param and the
# state buffers must be writeable, aligned, native-byte-order C-contiguous arrays (a copy would
# silently drop the update: ValueError instead); grad may have any layout and is never written.
# param, grad and every state buffer share one dtype (TypeError otherwise) and one shape
# (ValueError). Hyperparameters are checked like torch.optim checks them, with its messages.
include "_module.pxi"

from libc.stdint cimport uintptr_t
from cpython.number cimport PyNumber_Index

cdef extern from "optim.h":
    pass

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi):
# <opt>_update calls fnn_<opt>_step (named apart from the public <opt>_step). The hyperparameters
# are double in C for both dtypes.
cdef extern from * nogil:
    """
    #define sgd_update(t, ...) FNN_BY_DTYPE(t, fnn_sgd_step, __VA_ARGS__)
    #define adagrad_update(t, ...) FNN_BY_DTYPE(t, fnn_adagrad_step, __VA_ARGS__)
    #define rmsprop_update(t, ...) FNN_BY_DTYPE(t, fnn_rmsprop_step, __VA_ARGS__)
    #define adam_update(t, ...) FNN_BY_DTYPE(t, fnn_adam_step, __VA_ARGS__)
    """
    void sgd_update(int t, void *param, void *buf, const void *grad, int64_t n, double lr,
                    double momentum, double dampening, double weight_decay, int nesterov,
                    int maximize, int first_step)
    void adagrad_update(int t, void *param, void *state_sum, const void *grad, int64_t n,
                        double lr, double lr_decay, double weight_decay, double eps, int64_t step,
                        int maximize)
    void rmsprop_update(int t, void *param, void *square_avg, void *buf, void *grad_avg,
                        const void *grad, int64_t n, double lr, double alpha, double eps,
                        double weight_decay, double momentum, int maximize)
    void adam_update(int t, void *param, void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                     const void *grad, int64_t n, double lr, double beta1, double beta2,
                     double eps, double weight_decay, int64_t step, int decoupled, int maximize)

__all__ = ["sgd_step", "adagrad_step", "rmsprop_step", "adam_step", "adamw_step"]


# ------------------------------------------------------------------------------ argument checks

cdef str not_inplace_reason(cnp.ndarray a):
    if not cnp.PyArray_ISWRITEABLE(a):
        return "read-only"
    if not cnp.PyArray_CHKFLAGS(a, cnp.NPY_ARRAY_C_CONTIGUOUS):
        return "non-contiguous"
    if not cnp.PyArray_ISNOTSWAPPED(a):
        return "byte-swapped"
    return "misaligned"


cdef inline int check_inplace(cnp.ndarray a, str name) except -1:
    """ValueError unless a can be updated in place: writeable, aligned, native, C-contiguous."""
    if not (cnp.PyArray_CHKFLAGS(a, cnp.NPY_ARRAY_CARRAY) and cnp.PyArray_ISNOTSWAPPED(a)):
        raise ValueError(f"{name} is updated in place, so it must be a writeable C-contiguous "
                         f"array in native byte order; got a {not_inplace_reason(a)} array")
    return 0


cdef inline int param_arg(object param) except -1:
    """The dtype of param, after checking it can be updated in place."""
    cdef int t = float_typenum(param, "param")
    check_inplace(<cnp.ndarray>param, "param")
    return t


cdef inline int check_shape(cnp.ndarray a, cnp.ndarray p, str name) except -1:
    if not cnp.PyArray_SAMESHAPE(a, p):
        raise ValueError(f"{name} has shape {shape_str(a)} but param has shape {shape_str(p)}")
    return 0


cdef inline cnp.ndarray state_arg(object s, int t, cnp.ndarray p, str name):
    """A state buffer: param's dtype and shape, updatable in place."""
    check_same_dtype(t, s, name, "param")
    check_shape(<cnp.ndarray>s, p, name)
    check_inplace(<cnp.ndarray>s, name)
    return <cnp.ndarray>s


cdef inline cnp.ndarray optional_state(object s, int t, cnp.ndarray p, str name, bint required,
                                      str when):
    """state_arg() for a buffer that may be None unless required (ValueError: "<name> is
    required when <when>")."""
    if s is not None:
        return state_arg(s, t, p, name)
    if required:
        raise ValueError(f"{name} is required when {when}")
    return None


cdef inline cnp.ndarray grad_arg(object g, int t, cnp.ndarray p):
    """grad: param's dtype and shape, any layout (copied to contiguous when needed)."""
    check_same_dtype(t, g, "grad", "param")
    check_shape(<cnp.ndarray>g, p, "grad")
    return c_array(g)


# The arrays an update writes, as byte ranges: no two may overlap, and a grad that overlaps one
# of them is copied first. Kept in a C struct so the common path allocates nothing.
cdef struct Spans:
    int n
    uintptr_t lo[4]
    uintptr_t hi[4]


cdef inline void add_span(Spans *s, cnp.ndarray a) noexcept:
    cdef uintptr_t lo = <uintptr_t>cnp.PyArray_DATA(a)
    s.lo[s.n] = lo
    s.hi[s.n] = lo + <uintptr_t>cnp.PyArray_NBYTES(a)
    s.n += 1


cdef inline bint span_overlaps(Spans *s, int i, uintptr_t lo, uintptr_t hi) noexcept:
    return s.lo[i] < hi and lo < s.hi[i]


cdef inline int check_disjoint(Spans *s, tuple names) except -1:
    """ValueError when two in-place arrays share memory (each element would be updated twice)."""
    cdef int i, j
    for i in range(1, s.n):
        for j in range(i):
            if span_overlaps(s, j, s.lo[i], s.hi[i]):
                raise ValueError(f"{names[i]} and {names[j]} share memory; each state buffer "
                                 f"must be an array of its own")
    return 0


cdef inline cnp.ndarray grad_apart(cnp.ndarray g, Spans *s):
    """grad, or a copy of it when it shares memory with an array the update writes (so the
    update always reads the gradient as it was on entry)."""
    cdef uintptr_t lo = <uintptr_t>cnp.PyArray_DATA(g)
    cdef uintptr_t hi = lo + <uintptr_t>cnp.PyArray_NBYTES(g)
    cdef int i
    for i in range(s.n):
        if span_overlaps(s, i, lo, hi):
            return cnp.PyArray_FROMANY(g, cnp.PyArray_TYPE(g), 0, 0,
                                       cnp.NPY_ARRAY_CARRAY_RO | cnp.NPY_ARRAY_ENSURECOPY)
    return g


cdef inline int check_nonneg(double v, str what) except -1:
    if not (v >= 0):
        raise ValueError(f"Invalid {what}: {v}")
    return 0


cdef inline double nonneg_arg(object v, str name, str what) except? -1.0:
    """The hyperparameter `name` as a double >= 0: TypeError naming it (real_arg), else
    ValueError in torch's words ("Invalid learning rate: -1")."""
    cdef double r = real_arg(v, name)
    check_nonneg(r, what)
    return r


cdef inline int64_t as_step(object step) except? -1:
    """The step number, an integer >= 1 (TypeError for a float, as operator.index)."""
    cdef int64_t s
    try:
        s = PyNumber_Index(step)
    except OverflowError:
        raise ValueError(f"step = {step} does not fit in a 64-bit integer") from None
    except TypeError:
        raise TypeError(f"step must be an int, got {type(step).__name__}") from None
    if s < 1:
        raise ValueError(f"step must be >= 1 (steps count from 1), got {s}")
    return s


# ---------------------------------------------------------------------------------------- SGD

def sgd_step(param, grad, momentum_buf, lr, momentum=0.0, dampening=0.0,
             nesterov=False, weight_decay=0.0, maximize=False,
             first_step=False):
    """One step of torch.optim.SGD, in place, in one pass over memory.

    ``g = grad + weight_decay * param`` (``-grad`` with maximize); with momentum != 0
    ``buf = momentum * buf + (1 - dampening) * g`` (``buf = g`` when first_step: torch's first
    step), ``g = g + momentum * buf`` (nesterov) or ``buf``; then ``param -= lr * g``.

    param: float32/float64 C-contiguous writeable array of any shape, updated in place.
    grad: same dtype and shape, any layout, read only. momentum_buf: same dtype and shape,
    updated in place; may be None when momentum == 0. Returns None.
    """
    cdef double lr_ = nonneg_arg(lr, "lr", "learning rate")
    cdef double momentum_ = nonneg_arg(momentum, "momentum", "momentum value")
    cdef double dampening_ = real_arg(dampening, "dampening")
    cdef double weight_decay_ = nonneg_arg(weight_decay, "weight_decay", "weight_decay value")
    cdef bint nesterov_ = flag_arg(nesterov, "nesterov")
    cdef bint maximize_ = flag_arg(maximize, "maximize")
    cdef bint first_step_ = flag_arg(first_step, "first_step")
    if nesterov_ and (momentum_ <= 0 or dampening_ != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")
    cdef int t = param_arg(param)
    cdef cnp.ndarray p = <cnp.ndarray>param
    cdef cnp.ndarray g = grad_arg(grad, t, p)
    cdef cnp.ndarray b = optional_state(momentum_buf, t, p, "momentum_buf", momentum_ != 0,
                                        "momentum != 0")
    cdef Spans w
    w.n = 0
    add_span(&w, p)
    if momentum_ != 0:
        add_span(&w, b)
        check_disjoint(&w, ("param", "momentum_buf"))
    g = grad_apart(g, &w)
    cdef int64_t n = cnp.PyArray_SIZE(p)
    cdef void *bp = NULL if (b is None or momentum_ == 0) else cnp.PyArray_DATA(b)
    with nogil:
        sgd_update(t, cnp.PyArray_DATA(p), bp, cnp.PyArray_DATA(g), n, lr_, momentum_, dampening_,
                   weight_decay_, nesterov_, maximize_, first_step_)


# ------------------------------------------------------------------------------------ Adagrad

def adagrad_step(param, grad, state_sum, object step, lr=0.01, lr_decay=0.0,
                 weight_decay=0.0, eps=1e-10, maximize=False):
    """One step of torch.optim.Adagrad, in place, in one pass over memory.

    ``g = grad + weight_decay * param``; ``state_sum += g * g``;
    ``param -= clr * g / (sqrt(state_sum) + eps)`` with ``clr = lr / (1 + (step - 1) * lr_decay)``.
    step counts from 1 (this step's number). The optimizer class fills state_sum with
    initial_accumulator_value before the first step.

    param: float32/float64 C-contiguous writeable array of any shape, updated in place.
    grad: same dtype and shape, any layout, read only. state_sum: same dtype and shape, updated
    in place. Returns None.
    """
    cdef double lr_ = nonneg_arg(lr, "lr", "learning rate")
    cdef double lr_decay_ = nonneg_arg(lr_decay, "lr_decay", "lr_decay value")
    cdef double weight_decay_ = nonneg_arg(weight_decay, "weight_decay", "weight_decay value")
    cdef double eps_ = nonneg_arg(eps, "eps", "epsilon value")
    cdef bint maximize_ = flag_arg(maximize, "maximize")
    cdef int64_t k = as_step(step)
    cdef int t = param_arg(param)
    cdef cnp.ndarray p = <cnp.ndarray>param
    cdef cnp.ndarray g = grad_arg(grad, t, p)
    cdef cnp.ndarray s = state_arg(state_sum, t, p, "state_sum")
    cdef Spans w
    w.n = 0
    add_span(&w, p)
    add_span(&w, s)
    check_disjoint(&w, ("param", "state_sum"))
    g = grad_apart(g, &w)
    cdef int64_t n = cnp.PyArray_SIZE(p)
    with nogil:
        adagrad_update(t, cnp.PyArray_DATA(p), cnp.PyArray_DATA(s), cnp.PyArray_DATA(g), n, lr_,
                       lr_decay_, weight_decay_, eps_, k, maximize_)


# ------------------------------------------------------------------------------------ RMSprop

def rmsprop_step(param, grad, square_avg, momentum_buf, grad_avg, lr=0.01,
                 alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, maximize=False):
    """One step of torch.optim.RMSprop, in place, in one pass over memory.

    ``g = grad + weight_decay * param``; ``square_avg = alpha * square_avg + (1 - alpha) * g * g``;
    centered: ``grad_avg = lerp(grad_avg, g, 1 - alpha)``,
    ``avg = sqrt(square_avg - grad_avg**2) + eps``, else ``avg = sqrt(square_avg) + eps``;
    momentum > 0: ``buf = momentum * buf + g / avg``, ``param -= lr * buf``;
    else ``param -= lr * g / avg``.

    param: float32/float64 C-contiguous writeable array of any shape, updated in place.
    grad: same dtype and shape, any layout, read only. square_avg, momentum_buf, grad_avg: same
    dtype and shape, updated in place; momentum_buf may be None when momentum == 0 and grad_avg
    None when not centered. Returns None.
    """
    cdef double lr_ = nonneg_arg(lr, "lr", "learning rate")
    cdef double alpha_ = nonneg_arg(alpha, "alpha", "alpha value")
    cdef double eps_ = nonneg_arg(eps, "eps", "epsilon value")
    cdef double weight_decay_ = nonneg_arg(weight_decay, "weight_decay", "weight_decay value")
    cdef double momentum_ = nonneg_arg(momentum, "momentum", "momentum value")
    cdef bint centered_ = flag_arg(centered, "centered")
    cdef bint maximize_ = flag_arg(maximize, "maximize")
    cdef int t = param_arg(param)
    cdef cnp.ndarray p = <cnp.ndarray>param
    cdef cnp.ndarray g = grad_arg(grad, t, p)
    cdef cnp.ndarray sq = state_arg(square_avg, t, p, "square_avg")
    cdef cnp.ndarray b = optional_state(momentum_buf, t, p, "momentum_buf", momentum_ > 0,
                                        "momentum > 0")
    cdef cnp.ndarray ga = optional_state(grad_avg, t, p, "grad_avg", centered_, "centered=True")
    cdef Spans w
    w.n = 0
    add_span(&w, p)
    add_span(&w, sq)
    cdef void *bp = NULL
    cdef void *gap = NULL
    if momentum_ > 0:
        add_span(&w, b)
        bp = cnp.PyArray_DATA(b)
    if centered_:
        add_span(&w, ga)
        gap = cnp.PyArray_DATA(ga)
    check_disjoint(&w, ("param", "square_avg", "momentum_buf", "grad_avg") if momentum_ > 0
                   else ("param", "square_avg", "grad_avg"))
    g = grad_apart(g, &w)
    cdef int64_t n = cnp.PyArray_SIZE(p)
    with nogil:
        rmsprop_update(t, cnp.PyArray_DATA(p), cnp.PyArray_DATA(sq), bp, gap, cnp.PyArray_DATA(g),
                       n, lr_, alpha_, eps_, weight_decay_, momentum_, maximize_)


# -------------------------------------------------------------------------------- Adam, AdamW

cdef int adam_impl(object param, object grad, object exp_avg, object exp_avg_sq, object step,
                   object lr_arg, object beta1_arg, object beta2_arg, object eps_arg,
                   object weight_decay_arg, object amsgrad_arg, object max_exp_avg_sq,
                   object maximize_arg, int decoupled) except -1:
    """adam_step / adamw_step (decoupled weight decay): the arguments as the user gave them,
    converted here (TypeError naming the argument), then checked."""
    cdef double lr = real_arg(lr_arg, "lr")
    cdef double beta1 = real_arg(beta1_arg, "beta1")
    cdef double beta2 = real_arg(beta2_arg, "beta2")
    cdef double eps = real_arg(eps_arg, "eps")
    cdef double weight_decay = real_arg(weight_decay_arg, "weight_decay")
    cdef bint amsgrad = flag_arg(amsgrad_arg, "amsgrad")
    cdef bint maximize = flag_arg(maximize_arg, "maximize")
    cdef int64_t k = as_step(step)
    check_nonneg(lr, "learning rate")
    check_nonneg(eps, "epsilon value")
    if not (0 <= beta1 < 1):
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not (0 <= beta2 < 1):
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    check_nonneg(weight_decay, "weight_decay value")
    cdef int t = param_arg(param)
    cdef cnp.ndarray p = <cnp.ndarray>param
    cdef cnp.ndarray g = grad_arg(grad, t, p)
    cdef cnp.ndarray m = state_arg(exp_avg, t, p, "exp_avg")
    cdef cnp.ndarray v = state_arg(exp_avg_sq, t, p, "exp_avg_sq")
    cdef cnp.ndarray vm = optional_state(max_exp_avg_sq, t, p, "max_exp_avg_sq", amsgrad,
                                         "amsgrad=True")
    cdef Spans w
    w.n = 0
    add_span(&w, p)
    add_span(&w, m)
    add_span(&w, v)
    cdef void *vmp = NULL
    if amsgrad:
        add_span(&w, vm)
        vmp = cnp.PyArray_DATA(vm)
    check_disjoint(&w, ("param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"))
    g = grad_apart(g, &w)
    cdef int64_t n = cnp.PyArray_SIZE(p)
    with nogil:
        adam_update(t, cnp.PyArray_DATA(p), cnp.PyArray_DATA(m), cnp.PyArray_DATA(v), vmp,
                    cnp.PyArray_DATA(g), n, lr, beta1, beta2, eps, weight_decay, k, decoupled,
                    maximize)
    return 0


def adam_step(param, grad, exp_avg, exp_avg_sq, object step, lr=1e-3, beta1=0.9,
              beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
              max_exp_avg_sq=None, maximize=False):
    """One step of torch.optim.Adam, in place, in one pass over memory.

    ``g = grad + weight_decay * param``; ``exp_avg = lerp(exp_avg, g, 1 - beta1)``;
    ``exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g``; AMSGrad:
    ``max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq)`` used in place of exp_avg_sq below;
    ``param -= lr / (1 - beta1**step) * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - beta2**step) + eps)``.
    step counts from 1 (this step's number).

    param: float32/float64 C-contiguous writeable array of any shape, updated in place.
    grad: same dtype and shape, any layout, read only. exp_avg, exp_avg_sq, max_exp_avg_sq: same
    dtype and shape, updated in place; max_exp_avg_sq may be None unless amsgrad. Returns None.
    """
    adam_impl(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              amsgrad, max_exp_avg_sq, maximize, 0)


def adamw_step(param, grad, exp_avg, exp_avg_sq, object step, lr=1e-3,
               beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
               amsgrad=False, max_exp_avg_sq=None, maximize=False):
    """One step of torch.optim.AdamW, in place: adam_step with decoupled weight decay
    (``param *= 1 - lr * weight_decay`` before the update; the gradient is not decayed).
    Same arrays and conventions as adam_step. Returns None."""
    adam_impl(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              amsgrad, max_exp_avg_sq, maximize, 1)
