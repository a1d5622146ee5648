"""Constructor-argument checks shared by the layer modules (layers.py, conv.py, rnn.py)."""
import numpy as np

from ..reference._checks import FLOAT_TYPES as _FLOAT_TYPES


def _int(v, what, minimum=0):
    """v as a Python int >= minimum: TypeError for a non-integer (bools included), ValueError
    below minimum, both naming ``what``."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {type(v).__name__}")
    if v < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {v}")
    return int(v)


def _float_dtype(dtype, layer):
    """np.dtype(dtype), which must be float32 or float64 (TypeError naming the layer)."""
    dtype = np.dtype(dtype)
    if dtype.type not in _FLOAT_TYPES:
        raise TypeError(f"{layer} dtype must be float32 or float64, got {dtype}")
    return dtype
