"""numpy twin of fastnn._embedding: embedding lookup and its scatter-add gradient."""
import numpy as np

from ._checks import float_array, same_dtype, ndim, check_out, store

__all__ = ["embedding_forward", "embedding_backward"]


class EmbeddingCtx:
    """What embedding_backward needs: indices (int64), num_embeddings V, embedding_dim E,
    padding_idx (normalised to [0, V), or None) and dtype."""
    __slots__ = ("indices", "num_embeddings", "embedding_dim", "padding_idx", "dtype")

    def __init__(self, indices, num_embeddings, embedding_dim, padding_idx, dtype):
        self.indices, self.num_embeddings, self.embedding_dim = indices, num_embeddings, embedding_dim
        self.padding_idx, self.dtype = padding_idx, dtype

    def __repr__(self):
        return (f"EmbeddingCtx(indices={self.indices.shape}, num_embeddings={self.num_embeddings}, "
                f"embedding_dim={self.embedding_dim}, padding_idx={self.padding_idx})")


def _padding(padding_idx, V):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"padding_idx must be None or an int, got {type(padding_idx).__name__}")
    if not -V <= padding_idx < V:
        raise ValueError(f"padding_idx must be in [-{V}, {V}) for weight with {V} rows, got {padding_idx}")
    return int(padding_idx + V if padding_idx < 0 else padding_idx)


def embedding_forward(indices, weight, padding_idx=None, *, out=None):
    """Embedding lookup: ``out[...] = weight[indices[...]]``.

    indices: int64 ndarray of any shape, every value in [0, V); weight (V, E) float32 or
    float64; padding_idx None or an int in [-V, V) whose row gets no gradient (torch's
    semantics). Returns ``(out (*indices.shape, E), ctx)``.

    out: None, or a preallocated (*indices.shape, E) array of weight's dtype, C-contiguous,
    aligned, writeable and not overlapping indices or weight; the rows are written into it and
    the returned array is out (untouched when an index is out of range). The backward does not
    read it.
    """
    if not isinstance(indices, np.ndarray):
        raise TypeError(f"indices must be a numpy.ndarray of int64, got {type(indices).__name__}")
    if indices.dtype.type is not np.int64:          # byte order aside, as the binding
        raise TypeError(f"indices must have dtype int64, got {indices.dtype}")
    float_array(weight, "weight")
    ndim(weight, 2, "weight", "(num_embeddings, embedding_dim)")
    V, E = weight.shape
    pad = _padding(padding_idx, V)
    check_out(out, indices.shape + (E,), weight.dtype, indices=indices, weight=weight)
    flat = indices.reshape(-1)
    bad = np.flatnonzero((flat < 0) | (flat >= V))
    if bad.size:
        raise ValueError(f"indices out of range: flat position {bad[0]} holds {flat[bad[0]]}, "
                         f"not in [0, {V})")
    return store(out, weight[indices]), EmbeddingCtx(indices.copy(), V, E, pad, weight.dtype)


def embedding_backward(dout, ctx):
    """Gradient of embedding_forward: dout (*indices.shape, E) -> dweight (V, E), dense; rows of
    repeated indices accumulate, the padding row (if any) is zero."""
    if not isinstance(ctx, EmbeddingCtx):
        raise TypeError(f"ctx must be an EmbeddingCtx from embedding_forward, got {type(ctx).__name__}")
    float_array(dout, "dout")
    if dout.dtype.type is not np.dtype(ctx.dtype).type:   # byte order aside
        raise TypeError(f"dout has dtype {dout.dtype} but weight has dtype {ctx.dtype}; "
                        f"mixed dtypes are not converted")
    E = ctx.embedding_dim
    if dout.shape != ctx.indices.shape + (E,):
        raise ValueError(f"dout must have shape {ctx.indices.shape + (E,)} (indices.shape + (E,)), "
                         f"got {dout.shape}")
    dw = np.zeros((ctx.num_embeddings, E), ctx.dtype)         # native even for a byte-swapped dout
    np.add.at(dw, ctx.indices.reshape(-1), dout.reshape(ctx.indices.size, E))
    if ctx.padding_idx is not None:
        dw[ctx.padding_idx] = 0
    return dw
