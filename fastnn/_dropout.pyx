# _dropout.pyx: binding of csrc/dropout.c (inverted dropout with a counter-based mask).
#
# The mask: one 64-bit key is drawn from the rng per forward call; element i (flat C-order
# index) is kept iff splitmix64(key, i) / 2^64, taken to 53 bits, is >= p (csrc/dropout.h).
# The backward regenerates the mask from the key, so the ctx holds no mask; ctx.mask() returns
# it on demand. fastnn.reference.dropout computes the same hash in numpy: same seed, same mask.
include "_module.pxi"

import numpy as np
from cpython.float cimport PyFloat_Check
from cpython.long cimport PyLong_Check
from cpython.bool cimport PyBool_Check
from libc.stdint cimport uint64_t, uint8_t
from libc.math cimport ceil, isnan
from libc.string cimport memcpy, memset

cdef extern from "dropout.h" nogil:
    void fnn_dropout_mask(uint8_t *keep, int64_t n, uint64_t key, uint64_t threshold)

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi). scale is
# passed as a double: C converts it to float for the float32 kernel (real scale, csrc/dropout.h).
cdef extern from * nogil:
    """
    #define dropout_fwd(t, ...) FNN_BY_DTYPE(t, fnn_dropout_fwd, __VA_ARGS__)
    #define dropout_bwd(t, ...) FNN_BY_DTYPE(t, fnn_dropout_bwd, __VA_ARGS__)
    """
    void dropout_fwd(int t, void *y, const void *x, int64_t n, uint64_t key, uint64_t threshold,
                     double scale)
    void dropout_bwd(int t, void *dx, const void *dy, int64_t n, uint64_t key, uint64_t threshold,
                     double scale)

cdef object _NP_REAL = (np.floating, np.integer)
cdef object _NP_INT = np.integer

__all__ = ["dropout_forward", "dropout_backward"]

cdef object _Generator = np.random.Generator
cdef object _default_rng = np.random.default_rng
cdef object _uint64 = np.uint64
cdef object _TWO64 = 2 ** 64

# ctx modes
cdef enum:
    MODE_IDENTITY = 0     # training=False or p == 0: y = x, dx = dy
    MODE_ZERO = 1         # p == 1: y = 0, dx = 0
    MODE_MASK = 2         # 0 < p < 1: the hashed mask
cdef tuple MODE_NAMES = ("identity", "zero", "mask")


cdef double prob_arg(object p) except -1.0:
    cdef double v
    if PyBool_Check(p) or not (PyFloat_Check(p) or PyLong_Check(p) or
                               isinstance(p, _NP_REAL)):
        raise TypeError(f"p must be a float in [0, 1], got {type(p).__name__}")
    v = p
    if isnan(v) or v < 0 or v > 1:
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    return v


cdef int check_rng(object rng) except -1:
    if rng is None or isinstance(rng, _Generator):
        return 0
    if PyBool_Check(rng) or not (PyLong_Check(rng) or isinstance(rng, _NP_INT)):
        raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, "
                        f"got {type(rng).__name__}")
    if rng < 0:
        raise ValueError(f"rng seed must be a non-negative int, got {rng}")
    return 0


cdef uint64_t draw_key(object rng) except? 0:
    """One 64-bit key from rng (None: a fresh default_rng; int: default_rng(seed)): one raw draw
    of its bit generator, the value rng.integers(0, 2**64, dtype=np.uint64) would give (numpy
    serves that full range with exactly one raw draw), about 6x cheaper to get."""
    if not isinstance(rng, _Generator):
        rng = _default_rng(rng)
    return <uint64_t>rng.bit_generator.random_raw()


cdef class DropoutCtx:
    """What dropout_backward needs: mode ("identity" for training=False or p=0, "zero" for
    p=1, "mask"), p, key (the 64-bit mask key; 0 unless mode is "mask"), threshold
    (ceil(p * 2^53)), scale (1 / (1 - p)), shape and dtype of x. mask() gives the keep mask."""
    cdef readonly str mode
    cdef readonly double p, scale
    cdef readonly uint64_t key, threshold
    cdef readonly tuple shape
    cdef readonly object dtype
    cdef int m, typenum

    def mask(self):
        """The keep mask as a bool array of x's shape (all True for identity, all False for zero)."""
        cdef cnp.ndarray keep
        if self.m != MODE_MASK:
            return np.full(self.shape, self.m == MODE_IDENTITY, dtype=bool)
        keep = np.empty(self.shape, dtype=bool)
        with nogil:
            fnn_dropout_mask(<uint8_t *>cnp.PyArray_DATA(keep), cnp.PyArray_SIZE(keep), self.key,
                             self.threshold)
        return keep

    def __repr__(self):
        return f"DropoutCtx(mode={self.mode!r}, p={self.p}, shape={self.shape}, dtype={self.dtype})"


cdef cnp.ndarray _apply(int mode, int t, object x, cnp.ndarray xa, uint64_t key, uint64_t thr,
                        double scale, bint fwd, cnp.ndarray out):
    """y from x (xa: x as a C-contiguous array, possibly x itself): a copy, zeros, or masked;
    a new array, or out (already checked by out_like(), _common.pxd)."""
    cdef cnp.ndarray y = out
    cdef int64_t n = cnp.PyArray_SIZE(xa)
    if out is None:
        if mode == MODE_IDENTITY:
            return xa if xa is not x else cnp.PyArray_NewCopy(xa, cnp.NPY_CORDER)
        if mode == MODE_ZERO:
            return cnp.PyArray_ZEROS(cnp.PyArray_NDIM(xa), cnp.PyArray_DIMS(xa), t, 0)
        y = new_array(cnp.PyArray_NDIM(xa), cnp.PyArray_DIMS(xa), t)
    else:
        if mode == MODE_IDENTITY:
            memcpy(cnp.PyArray_DATA(y), cnp.PyArray_DATA(xa), <size_t>cnp.PyArray_NBYTES(xa))
            return y
        if mode == MODE_ZERO:
            memset(cnp.PyArray_DATA(y), 0, <size_t>cnp.PyArray_NBYTES(xa))
            return y
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef void *xp = cnp.PyArray_DATA(xa)
    with nogil:
        if fwd:
            dropout_fwd(t, yp, xp, n, key, thr, scale)
        else:
            dropout_bwd(t, yp, xp, n, key, thr, scale)
    return y


def dropout_forward(x, p, training=True, rng=None, *, out=None):
    """Inverted dropout: each element of x is zeroed with probability p and the kept ones are
    scaled by 1 / (1 - p), so the expected value is unchanged.

    x any shape, float32/float64; p a float in [0, 1] (p = 1 gives zeros, like torch); training
    False or p = 0 gives a copy of x. rng: None (a fresh numpy default_rng), an int seed, or a
    numpy.random.Generator; one 64-bit key is drawn from it per call (only when a mask is
    needed, i.e. training and 0 < p < 1), and the mask is a hash of (key, element index): the
    same seed gives the same mask on any thread count, and fastnn.reference.dropout_forward
    gives the same mask bit for bit. Returns ``(y, ctx)``, y a new C-contiguous array of x's
    shape; ctx stores no mask (ctx.mask() recomputes it).

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it (a copy of x for identity, zeros for p = 1) and
    ``y is out``. The backward does not read y. out is checked before the rng is drawn from.
    """
    cdef int t = float_typenum(x, "x")
    cdef double pv = prob_arg(p)
    check_rng(rng)
    cdef cnp.ndarray xa = c_array(x)
    cdef cnp.ndarray dst = None if out is None else out_like(xa, out, x)   # before a key is drawn
    cdef int mode = MODE_MASK
    cdef uint64_t key = 0, thr = 0
    cdef double scale = 1.0
    if not flag_arg(training, "training") or pv == 0:
        mode = MODE_IDENTITY
    elif pv == 1:
        mode = MODE_ZERO
        scale = 0.0
    else:
        key = draw_key(rng)
        thr = <uint64_t>ceil(pv * 9007199254740992.0)     # p * 2^53, exact
        scale = 1.0 / (1.0 - pv)
    cdef cnp.ndarray y = _apply(mode, t, x, xa, key, thr, scale, True, dst)
    cdef DropoutCtx ctx = DropoutCtx.__new__(DropoutCtx)
    ctx.m = mode
    ctx.mode = MODE_NAMES[mode]
    ctx.p = pv
    ctx.key = key
    ctx.threshold = thr
    ctx.scale = scale
    ctx.shape = (<object>xa).shape
    ctx.typenum = t
    ctx.dtype = xa.dtype
    return y, ctx


def dropout_backward(dy, DropoutCtx ctx not None):
    """Gradient of dropout_forward: dy (x's shape and dtype) -> dx = dy * mask / (1 - p), with the
    forward's mask regenerated from its key (dy itself copied for identity, zeros for p = 1)."""
    check_same_dtype(ctx.typenum, dy, "dy", "x")
    cdef cnp.ndarray dya = c_array(dy)
    if (<object>dya).shape != ctx.shape:
        raise ValueError(f"dy must have the forward input's shape {ctx.shape}, got {shape_str(dya)}")
    return _apply(ctx.m, ctx.typenum, dy, dya, ctx.key, ctx.threshold, ctx.scale, False, None)
