"""Argument checks for the numpy twins: the same policy and messages as the compiled bindings
(fastnn/_common.pxd), so both backends reject bad input the same way."""
import numpy as np

FLOAT_TYPES = (np.float32, np.float64)


def float_array(x, name):
    """Return x (an ndarray of float32/float64) or raise TypeError."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, got {type(x).__name__}")
    if x.dtype.type not in FLOAT_TYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {x.dtype}")
    return x


def same_dtype(ref, y, name, ref_name):
    """Return y after checking it is a float ndarray with ref's dtype (TypeError otherwise).
    Byte order aside, as the bindings (a byte-swapped float32 array is a float32 array)."""
    float_array(y, name)
    if y.dtype.type is not ref.dtype.type:
        raise TypeError(f"{name} has dtype {y.dtype} but {ref_name} has dtype {ref.dtype}; "
                        f"mixed dtypes are not converted")
    return y


def check_ctx(ctx, cls, forward):
    """TypeError unless ctx is the cls that forward returns (a ctx of another function, dtype
    check aside, or of the compiled backend is refused, as the bindings refuse it)."""
    if not isinstance(ctx, cls):
        raise TypeError(f"ctx must be the {cls.__name__} returned by {forward}, got {type(ctx).__name__}")
    return ctx


def activation_arg(activation, allowed):
    """Return a fused-activation argument after checking it is None or one of the strs in
    allowed: TypeError for another type, ValueError for another value (the bindings' words)."""
    if activation is not None and not isinstance(activation, str):
        raise TypeError(f"activation must be None or a str in {allowed}, got "
                        f"{type(activation).__name__}")
    if activation not in allowed:
        raise ValueError(f"activation must be one of {allowed}, got {activation!r}")
    return activation


def real(v, name):
    """v as a float, or TypeError naming the argument: for strings (float("0.1") would accept
    them; the bindings do not), complex numbers and anything float() refuses (same rule and
    words as _common.pxd's real_arg)."""
    if isinstance(v, (str, bytes, bytearray, complex)) or getattr(v, "dtype", None) is not None \
            and v.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}") from None


def flag(v, name):
    """bool(v), or TypeError naming the argument when v has no single truth value (an array)."""
    try:
        return bool(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a bool, got {type(v).__name__}") from None


def ndim(a, n, name, layout):
    if a.ndim != n:
        raise ValueError(f"{name} must be {n}-D {layout}, got shape {a.shape}")


def reduction(value):
    if value not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {value!r}")
    return value


def check_out(out, shape, dtype, **inputs):
    """out, checked to receive a result of this shape and dtype (None passes through): an ndarray
    of exactly that (native) dtype (TypeError otherwise) and shape, C-contiguous, aligned and
    writeable (ValueError otherwise: it is written in place, never through a temporary), whose
    memory may not overlap any of the named input arrays (a bounds test, as np.may_share_memory
    and the compiled check_no_overlap). The same rules and messages as fastnn/_common.pxd."""
    if out is None:
        return None
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    dtype = np.dtype(np.dtype(dtype).type)          # the native-order dtype the result has
    if out.dtype != dtype:
        raise TypeError(f"out has dtype {out.dtype} but the result has dtype {dtype}")
    shape = tuple(int(s) for s in shape)
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape} but the result has shape {shape}")
    for flag, word in (("c_contiguous", "C-contiguous"), ("aligned", "aligned"),
                       ("writeable", "writeable")):
        if not getattr(out.flags, flag):
            raise ValueError(f"out must be {word}: it is written in place, never through a "
                             f"temporary copy")
    for name, a in inputs.items():
        if isinstance(a, np.ndarray) and np.may_share_memory(out, a):
            raise ValueError(f"out must not overlap {name}")
    return out


def store(out, y):
    """y written into out and out returned, or y itself when out is None."""
    if out is None:
        return y
    out[...] = y
    return out
