"""Data utilities: seeded minibatches and an MNIST (IDX format) reader.

fastnn ships no data: ``load_mnist(directory)`` reads the standard IDX files (gzipped or raw)
from a directory the caller gives, e.g. one holding t10k-images-idx3-ubyte.gz and
t10k-labels-idx1-ubyte.gz.
"""
import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["iterate_minibatches", "read_idx", "load_mnist_idx", "load_mnist", "IDXError"]


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def iterate_minibatches(x, y=None, batch_size=32, shuffle=True, seed=None, rng=None, drop_last=False):
    """Yield ``(x_batch, y_batch)`` over the first axis of x and y (y_batch None when y is None).

    x, y: arrays with the same length N; batch_size: int >= 1; shuffle: visit the samples in a
    random order drawn from ``rng`` (a numpy Generator) or, when rng is None, from a fresh
    Generator seeded with ``seed`` (the same seed gives the same batches); drop_last: skip a
    final batch smaller than batch_size. Shuffled batches are contiguous copies; unshuffled
    ones are views (slices) of x and y.
    """
    if not hasattr(x, "shape") or not hasattr(x, "__getitem__"):
        raise TypeError(f"x must be an array, got {type(x).__name__}")
    n = len(x)
    if y is not None and len(y) != n:
        raise ValueError(f"x and y must have the same length, got {n} and {len(y)}")
    batch_size = _check_int(batch_size, "batch_size", 1)
    if shuffle:
        if rng is None:
            rng = np.random.default_rng(seed)
        elif not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if shuffle:
            idx = order[start:end]
            yield x[idx], (None if y is None else y[idx])
        else:
            yield x[start:end], (None if y is None else y[start:end])


class IDXError(ValueError):
    """An IDX file is corrupt, truncated or not an IDX file."""


# IDX type codes (third byte of the magic number) -> numpy big-endian dtype
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such IDX file: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":   # gzip, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise IDXError(f"{path}: corrupt or truncated gzip data ({err})") from None
    return raw


def read_idx(path):
    """Read one IDX file (gzipped or raw, detected from its content) into an ndarray of its
    stored type and shape (native byte order). Raises IDXError on a bad magic number or a size
    that does not match the header, FileNotFoundError when the file is missing."""
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXError(f"{path}: too short for an IDX file ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or data[3] == 0:
        raise IDXError(f"{path}: not an IDX file (magic number {data[:4].hex()}; expected "
                       f"0000 then a type code and the number of dimensions, e.g. 00000803)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{path}: truncated header ({len(data)} bytes, need {header})")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[data[2]]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise IDXError(f"{path}: header says shape {dims} ({expected} bytes of data) but the file "
                       f"holds {len(data) - header} bytes after the header (truncated or corrupt)")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))   # native order, and a writeable copy


def load_mnist_idx(images_path, labels_path, flatten=True, dtype=np.float32):
    """Read an MNIST-style pair of IDX files.

    images_path: an idx3-ubyte file (magic 0x00000803: N x rows x cols uint8); labels_path: an
    idx1-ubyte file (magic 0x00000801: N uint8), each gzipped or raw. Returns ``(images,
    labels)``: images float32 (or ``dtype``) scaled to [0, 1], shape (N, rows*cols) when flatten
    else (N, 1, rows, cols); labels int64 (N,). Corrupt files raise IDXError (a ValueError).
    """
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise IDXError(f"{images_path}: expected an idx3-ubyte image file (N, rows, cols) of uint8, "
                       f"got {images.ndim} dimensions of {images.dtype}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise IDXError(f"{labels_path}: expected an idx1-ubyte label file (N,) of uint8, got "
                       f"{labels.ndim} dimensions of {labels.dtype}")
    if len(images) != len(labels):
        raise IDXError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                       f"{len(labels)} labels")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a float type, got {dtype}")
    n, rows, cols = images.shape
    x = images.astype(dtype)
    x *= dtype.type(1.0 / 255.0)
    x = x.reshape(n, rows * cols) if flatten else x.reshape(n, 1, rows, cols)
    return x, labels.astype(np.int64)


def _find(directory, kind, what, idx):
    names = [f"{kind}-{what}-idx{idx}-ubyte", f"{kind}-{what}.idx{idx}-ubyte"]
    tried = []
    for name in names:
        for suffix in (".gz", ""):
            p = Path(directory) / (name + suffix)
            tried.append(p.name)
            if p.exists():
                return p
    raise FileNotFoundError(f"no MNIST {what} file for kind={kind!r} in {directory} (looked for "
                            f"{', '.join(tried)})")


def load_mnist(directory, kind="t10k", flatten=True, dtype=np.float32):
    """Load MNIST from ``directory``: kind "t10k" (the 10,000 test digits) or "train" (60,000),
    found under the standard names (``{kind}-images-idx3-ubyte[.gz]``,
    ``{kind}-labels-idx1-ubyte[.gz]``). Returns ``(images, labels)`` as load_mnist_idx."""
    if kind not in ("t10k", "train"):
        raise ValueError(f"kind must be 't10k' or 'train', got {kind!r}")
    directory = Path(os.fspath(directory))
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST directory not found: {directory}")
    return load_mnist_idx(_find(directory, kind, "images", 3), _find(directory, kind, "labels", 1),
                          flatten=flatten, dtype=dtype)
