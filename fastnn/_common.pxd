# _common.pxd: what every Cython binding shares: the runtime's C entry points and the inline
# argument checks that run at the border, before any kernel sees the data.
#
# Policy (README, "Errors"): inputs must be numpy arrays of float32 or float64 (TypeError
# otherwise, and on mixed dtypes; nothing is silently converted); non-contiguous, misaligned,
# byte-swapped and read-only arrays are accepted and copied to a native C-contiguous array when
# needed, never written; shape problems raise ValueError naming the argument and the shapes.

cimport numpy as cnp
from cpython.number cimport PyIndex_Check
from libc.stdint cimport int64_t, intptr_t

cdef extern from "runtime.h" nogil:
    void fnn_set_num_threads(int n)
    int fnn_get_num_threads()
    int fnn_openmp_enabled()
    void fnn_runtime_init()

cdef extern from "fastnn.h" nogil:
    enum:
        FNN_ACT_NONE
        FNN_ACT_RELU
        FNN_ACT_SIGMOID
        FNN_ACT_TANH

cdef extern from "numpy/arrayobject.h":
    bint PyArray_SAMESHAPE(cnp.ndarray a, cnp.ndarray b)

# Dimensions handed to BLAS must fit its 32-bit integers.
cdef enum:
    BLAS_INT_MAX = 2147483647

# Every size argument parsed by pair() (kernel_size, stride, padding, dilation, input_size) must
# lie in [-SIZE_ARG_MAX, SIZE_ARG_MAX]: then the geometry arithmetic (d*(k-1)+1, h+2p, ...) can
# never overflow int64, and a 10**19 is a ValueError instead of an OverflowError.
cdef enum:
    SIZE_ARG_MAX = 2147483647


cdef inline int64_t size_arg(object e, str name, object v) except? -1:
    """One element e of the size argument v as int64, within +-SIZE_ARG_MAX (ValueError)."""
    cdef int64_t r
    try:
        r = e
    except OverflowError:             # beyond int64: as out of range as 2**31
        r = <int64_t>SIZE_ARG_MAX + 1
    except TypeError:                 # e.g. an array of several ints: __index__ refuses it
        raise TypeError(f"{name} must be an int or a pair of ints, got {type(v).__name__}") from None
    if r < -SIZE_ARG_MAX or r > SIZE_ARG_MAX:
        raise ValueError(f"{name} = {v!r} is out of range: sizes must be below 2**31")
    return r


cdef inline str shape_str(object a):
    return str((<object>a).shape) if cnp.PyArray_Check(a) else type(a).__name__


cdef inline int float_typenum(object x, str name) except -1:
    """NPY_FLOAT32 or NPY_FLOAT64 for a float ndarray; TypeError for anything else."""
    cdef int t
    if not cnp.PyArray_Check(x):
        raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, got {type(x).__name__}")
    t = cnp.PyArray_TYPE(<cnp.ndarray>x)
    if t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64:
        raise TypeError(f"{name} must have dtype float32 or float64, got {(<cnp.ndarray>x).dtype}")
    return t


cdef inline int check_same_dtype(int expected, object y, str name, str ref_name) except -1:
    """TypeError unless y is an ndarray of the same float dtype as the reference argument."""
    cdef int t = float_typenum(y, name)
    if t != expected:
        raise TypeError(f"{name} has dtype {(<cnp.ndarray>y).dtype} but {ref_name} has dtype "
                        f"{cnp.PyArray_DescrFromType(expected)}; mixed dtypes are not converted")
    return t


cdef inline cnp.ndarray c_array(object x):
    """x itself when it is already native, aligned and C-contiguous; else a contiguous copy.
    Call after float_typenum has checked the dtype."""
    if cnp.PyArray_CHKFLAGS(<cnp.ndarray>x, cnp.NPY_ARRAY_CARRAY_RO) and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>x):
        return <cnp.ndarray>x
    return cnp.PyArray_FROMANY(x, cnp.PyArray_TYPE(<cnp.ndarray>x), 0, 0,
                               cnp.NPY_ARRAY_CARRAY_RO | cnp.NPY_ARRAY_ENSURECOPY)


cdef inline cnp.ndarray new_array(int ndim, const cnp.npy_intp *dims, int typenum):
    """Uninitialised C-contiguous array (PyArray_EMPTY does not write dims)."""
    return cnp.PyArray_EMPTY(ndim, <cnp.npy_intp *>dims, typenum, 0)


cdef inline int check_ndim(cnp.ndarray a, int ndim, str name, str layout) except -1:
    if cnp.PyArray_NDIM(a) != ndim:
        raise ValueError(f"{name} must be {ndim}-D {layout}, got shape {shape_str(a)}")
    return 0


cdef inline int check_blas_dim(int64_t n, str what) except -1:
    if n > BLAS_INT_MAX:
        raise ValueError(f"{what} = {n} is larger than BLAS's 32-bit limit {BLAS_INT_MAX}")
    return 0


cdef inline int pair(object v, str name, int64_t *a, int64_t *b) except -1:
    """A size argument (kernel_size, stride, padding, dilation): an int or an (h, w) pair of ints
    (Python or numpy integers, not bools, |value| < 2**31) into a, b; TypeError/ValueError for
    anything else."""
    if type(v) is int:                # the common case, without the generic checks below
        a[0] = b[0] = size_arg(v, name, v)
        return 0
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        h, w = v
    else:
        h = w = v
    for e in (h, w):
        if isinstance(e, bool) or not PyIndex_Check(e):
            raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    a[0] = size_arg(h, name, v)
    b[0] = size_arg(w, name, v)
    return 0


cdef inline cnp.ndarray empty_like(cnp.ndarray a):
    """Uninitialised C-contiguous array of a's shape and dtype."""
    return cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.PyArray_TYPE(a), 0)


cdef inline cnp.ndarray grad_like(object dy, cnp.ndarray saved):
    """A backward's dy checked against the array its ctx saved (same dtype, same shape), as a
    native C-contiguous array."""
    check_same_dtype(cnp.PyArray_TYPE(saved), dy, "dy", "x")
    if not PyArray_SAMESHAPE(<cnp.ndarray>dy, saved):
        raise ValueError(f"dy must have the forward output's shape {shape_str(saved)}, "
                         f"got {shape_str(dy)}")
    return c_array(dy)


# ---- out= buffers ---------------------------------------------------------------------------
# A forward's optional ``out`` receives the result and is returned as the output itself. It is
# never silently replaced by a temporary: it must be an ndarray of exactly the result's dtype
# (native byte order) and shape, C-contiguous, aligned and writeable, and must not overlap any
# input. Same rules and messages as fastnn/reference/_checks.py check_out().

cdef inline str _out_flag_problem(cnp.ndarray o):
    if not cnp.PyArray_IS_C_CONTIGUOUS(o):
        return "C-contiguous"
    if not cnp.PyArray_ISALIGNED(o):
        return "aligned"
    return "writeable"


cdef inline cnp.ndarray check_out(object out, int nd, const cnp.npy_intp *dims, int typenum):
    """out as an ndarray after checking it can receive a result of nd dims, shape dims and dtype
    typenum. TypeError for a non-ndarray or another dtype, ValueError for another shape or a
    non-C-contiguous, misaligned or read-only array. Check overlap with check_no_overlap()."""
    cdef cnp.ndarray o
    cdef int d
    if not cnp.PyArray_Check(out):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    o = <cnp.ndarray>out
    if cnp.PyArray_TYPE(o) != typenum or not cnp.PyArray_ISNOTSWAPPED(o):
        raise TypeError(f"out has dtype {o.dtype} but the result has dtype "
                        f"{cnp.PyArray_DescrFromType(typenum)}")
    cdef bint same = cnp.PyArray_NDIM(o) == nd
    cdef cnp.npy_intp *od = cnp.PyArray_DIMS(o)
    if same:
        for d in range(nd):
            if od[d] != dims[d]:
                same = False
                break
    if not same:
        raise ValueError(f"out has shape {(<object>o).shape} but the result has shape "
                         f"{tuple([dims[d] for d in range(nd)])}")
    if not cnp.PyArray_ISCARRAY(o):
        raise ValueError(f"out must be {_out_flag_problem(o)}: it is written in place, never "
                         f"through a temporary copy")
    return o


cdef inline bint _extent(cnp.ndarray a, intptr_t *lo, intptr_t *hi):
    """[lo, hi) byte range spanned by a's elements; False when a has no elements."""
    cdef int d
    cdef intptr_t s
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(a)
    lo[0] = <intptr_t>cnp.PyArray_DATA(a)
    hi[0] = lo[0] + cnp.PyArray_ITEMSIZE(a)
    for d in range(cnp.PyArray_NDIM(a)):
        if dims[d] == 0:
            return False
        s = strides[d] * (dims[d] - 1)
        if s < 0:
            lo[0] += s
        else:
            hi[0] += s
    return True


cdef inline int check_no_overlap(cnp.ndarray out, object a, str name) except -1:
    """ValueError when the memory of out and of the array a (None: nothing to check) may
    overlap. A bounds test, like np.may_share_memory: interleaved views that share no element
    are rejected too (conservative, never a silent aliasing)."""
    cdef intptr_t olo, ohi, alo, ahi
    if a is None or not cnp.PyArray_Check(a):
        return 0
    if (_extent(out, &olo, &ohi) and _extent(<cnp.ndarray>a, &alo, &ahi)
            and olo < ahi and alo < ohi):
        raise ValueError(f"out must not overlap {name}")
    return 0


cdef inline cnp.ndarray result_array(object out, int nd, const cnp.npy_intp *dims, int typenum,
                                     tuple inputs, tuple names):
    """The result array of an op: a new C-contiguous array of shape dims when out is None, else
    out checked by check_out() and by check_no_overlap() against each of inputs (named by
    names). Call it as ``new_array(...) if out is None else result_array(...)`` on hot paths,
    so that the tuples are built only when an out= was given."""
    if out is None:
        return new_array(nd, dims, typenum)
    cdef cnp.ndarray o = check_out(out, nd, dims, typenum)
    for a, name in zip(inputs, names):
        check_no_overlap(o, a, name)
    return o


cdef inline cnp.ndarray out_like(cnp.ndarray a, object out, object x):
    """The result array of an op whose output has a's shape and dtype: a new C-contiguous array
    when out is None, else out checked by check_out() and check_no_overlap() against x."""
    if out is None:
        return cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.PyArray_TYPE(a), 0)
    cdef cnp.ndarray o = check_out(out, cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.PyArray_TYPE(a))
    check_no_overlap(o, x, "x")
    return o


cdef inline object real_arg(object v, str name):
    """v as a Python float, or TypeError naming the argument (a str, a complex, an array of
    several elements...): what a typed ``double`` parameter accepts, with a message that says
    which argument was wrong."""
    if isinstance(v, (str, bytes, bytearray, complex)) or getattr(v, "dtype", None) is not None \
            and v.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}") from None


cdef inline bint flag_arg(object v, str name) except -1:
    """bool(v), or TypeError naming the argument when v has no single truth value (an array)."""
    try:
        return bool(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a bool, got {type(v).__name__}") from None


# ---- a backward's dy against the forward output's shape, given as C dims ----------

cdef inline cnp.ndarray grad_of_shape(object dy, int t, int nd, const cnp.npy_intp *dims):
    """A backward's dy checked to be of dtype t (the forward's) and of shape dims (nd of them,
    the forward output's), as a native C-contiguous array. grad_like() without a saved array."""
    check_same_dtype(t, dy, "dy", "x")
    cdef cnp.ndarray dya = c_array(dy)
    cdef int d
    cdef bint same = cnp.PyArray_NDIM(dya) == nd
    if same:
        for d in range(nd):
            if dya.shape[d] != dims[d]:
                same = False
                break
    if not same:
        raise ValueError(f"dy must have the forward output's shape "
                         f"{tuple([dims[d] for d in range(nd)])}, got {shape_str(dya)}")
    return dya
