# _embedding.pyx: binding of csrc/embedding.c (embedding lookup and its scatter-add gradient).
include "_module.pxi"
import numpy as _np

cdef extern from "embedding.h":
    pass

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi).
cdef extern from * nogil:
    """
    #define embedding_fwd(t, ...) FNN_BY_DTYPE(t, fnn_embedding_fwd, __VA_ARGS__)
    #define embedding_bwd(t, ...) FNN_BY_DTYPE(t, fnn_embedding_bwd, __VA_ARGS__)
    """
    int64_t embedding_fwd(int t, void *out, const int64_t *idx, const void *w,
                          int64_t n, int64_t V, int64_t E)
    void embedding_bwd(int t, void *dw, const void *dout, const int64_t *idx,
                       int64_t n, int64_t V, int64_t E, int64_t pad)

__all__ = ["embedding_forward", "embedding_backward"]


cdef class EmbeddingCtx:
    """What embedding_backward needs: indices (int64, contiguous), num_embeddings V,
    embedding_dim E, padding_idx (normalised to [0, V), or None) and dtype."""
    cdef readonly cnp.ndarray indices
    cdef readonly int64_t num_embeddings, embedding_dim
    cdef readonly object padding_idx, dtype
    cdef int64_t pad
    cdef int typenum

    def __repr__(self):
        return (f"EmbeddingCtx(indices={shape_str(self.indices)}, num_embeddings={self.num_embeddings}, "
                f"embedding_dim={self.embedding_dim}, padding_idx={self.padding_idx})")


cdef int64_t padding_arg(object padding_idx, int64_t V) except -2:
    """padding_idx normalised to [0, V) (torch: negative counts from the end), or -1 for None."""
    if padding_idx is None:
        return -1
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, _np.integer)):
        raise TypeError(f"padding_idx must be None or an int, got {type(padding_idx).__name__}")
    if not -V <= padding_idx < V:
        raise ValueError(f"padding_idx must be in [-{V}, {V}) for weight with {V} rows, got {padding_idx}")
    return padding_idx + V if padding_idx < 0 else padding_idx


def embedding_forward(indices, weight, padding_idx=None, *, out=None):
    """Embedding lookup: ``out[...] = weight[indices[...]]``.

    indices: int64 ndarray of any shape, every value in [0, V); weight (V, E) float32 or
    float64; padding_idx None or an int in [-V, V) whose row gets no gradient (torch's
    semantics). Returns ``(out (*indices.shape, E), ctx)``.

    out: None, or a preallocated (*indices.shape, E) array of weight's dtype, C-contiguous,
    aligned, writeable and not overlapping indices or weight; the rows are written into it and
    the returned array is out (untouched when an index is out of range: every index is checked
    before a row is copied). The backward does not read it.
    """
    if not cnp.PyArray_Check(indices):
        raise TypeError(f"indices must be a numpy.ndarray of int64, got {type(indices).__name__}")
    if cnp.PyArray_TYPE(<cnp.ndarray>indices) != cnp.NPY_INT64:
        raise TypeError(f"indices must have dtype int64, got {(<cnp.ndarray>indices).dtype}")
    cdef int t = float_typenum(weight, "weight")
    cdef cnp.ndarray wa = c_array(weight)
    check_ndim(wa, 2, "weight", "(num_embeddings, embedding_dim)")
    cdef int64_t V = wa.shape[0], E = wa.shape[1]
    cdef int64_t pad = padding_arg(padding_idx, V)
    cdef cnp.ndarray ia = c_array(indices)
    cdef int64_t n = cnp.PyArray_SIZE(ia)
    cdef int nd = cnp.PyArray_NDIM(ia)
    cdef cnp.npy_intp dims[65]
    cdef int k
    if nd >= 64:
        raise ValueError(f"indices has {nd} dimensions; the output would have more than numpy's 64")
    for k in range(nd):
        dims[k] = ia.shape[k]
    dims[nd] = E
    cdef cnp.ndarray res
    res = result_array(out, nd + 1, dims, t, (indices, weight), ("indices", "weight"))
    cdef int64_t bad
    with nogil:
        bad = embedding_fwd(t, cnp.PyArray_DATA(res), <int64_t *>cnp.PyArray_DATA(ia),
                            cnp.PyArray_DATA(wa), n, V, E)
    if bad >= 0:
        raise ValueError(f"indices out of range: flat position {bad} holds "
                         f"{(<int64_t *>cnp.PyArray_DATA(ia))[bad]}, not in [0, {V})")
    cdef EmbeddingCtx ctx = EmbeddingCtx.__new__(EmbeddingCtx)
    ctx.indices, ctx.num_embeddings, ctx.embedding_dim = ia, V, E
    ctx.pad = pad
    ctx.padding_idx = None if pad < 0 else pad
    ctx.typenum = t
    ctx.dtype = wa.dtype
    return res, ctx


def embedding_backward(dout, EmbeddingCtx ctx not None):
    """Gradient of embedding_forward: dout (*indices.shape, E) -> dweight (V, E), dense; rows of
    repeated indices accumulate, the padding row (if any) is zero."""
    cdef int t = ctx.typenum
    check_same_dtype(t, dout, "dout", "weight")
    cdef cnp.ndarray da = c_array(dout), ia = ctx.indices
    cdef int nd = cnp.PyArray_NDIM(ia)
    cdef int64_t V = ctx.num_embeddings, E = ctx.embedding_dim
    cdef bint ok = cnp.PyArray_NDIM(da) == nd + 1 and da.shape[nd] == E
    cdef int k
    for k in range(nd):
        if ok and da.shape[k] != ia.shape[k]:
            ok = False
    if not ok:
        raise ValueError(f"dout must have shape {(<object>ia).shape + (E,)} (indices.shape + (E,)), "
                         f"got {shape_str(da)}")
    cdef cnp.npy_intp dims[2]
    dims[0] = V
    dims[1] = E
    cdef cnp.ndarray dw = new_array(2, dims, t)
    cdef int64_t n = cnp.PyArray_SIZE(ia), pad = ctx.pad
    with nogil:
        embedding_bwd(t, cnp.PyArray_DATA(dw), cnp.PyArray_DATA(da), <int64_t *>cnp.PyArray_DATA(ia),
                      n, V, E, pad)
    return dw
