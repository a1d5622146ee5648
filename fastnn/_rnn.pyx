# _rnn.pyx: binding of csrc/rnn.c (Elman RNN tanh/relu, LSTM, GRU: single layer, unidirectional,
# time-major, PyTorch's equations, layouts and gate orders). The numpy twin is
# fastnn/reference/rnn.py; its module docstring defines truncated BPTT exactly.
include "_module.pxi"
from libc.string cimport memcpy
import numpy as _np

cdef extern from "rnn.h" nogil:
    int64_t fnn_rnn_fwd_work(int64_t T, int64_t N, int64_t H)
    int64_t fnn_rnn_bwd_work(int64_t T, int64_t N, int64_t H, int64_t trunc)
    int64_t fnn_lstm_fwd_work(int64_t T, int64_t N, int64_t H)
    int64_t fnn_lstm_bwd_work(int64_t T, int64_t N, int64_t H)
    int64_t fnn_gru_fwd_work(int64_t T, int64_t N, int64_t H)
    int64_t fnn_gru_bwd_work(int64_t T, int64_t N, int64_t H)

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi).
cdef extern from * nogil:
    """
    #define rnn_fwd(t, ...) FNN_BY_DTYPE(t, fnn_rnn_fwd, __VA_ARGS__)
    #define rnn_bwd(t, ...) FNN_BY_DTYPE(t, fnn_rnn_bwd, __VA_ARGS__)
    #define lstm_fwd(t, ...) FNN_BY_DTYPE(t, fnn_lstm_fwd, __VA_ARGS__)
    #define lstm_bwd(t, ...) FNN_BY_DTYPE(t, fnn_lstm_bwd, __VA_ARGS__)
    #define gru_fwd(t, ...) FNN_BY_DTYPE(t, fnn_gru_fwd, __VA_ARGS__)
    #define gru_bwd(t, ...) FNN_BY_DTYPE(t, fnn_gru_bwd, __VA_ARGS__)
    #define temporal_ce_fwd(t, ...) FNN_BY_DTYPE(t, fnn_temporal_ce_fwd, __VA_ARGS__)
    #define temporal_ce_bwd(t, ...) FNN_BY_DTYPE(t, fnn_temporal_ce_bwd, __VA_ARGS__)
    """
    void rnn_fwd(int t, void *out, void *work, const void *x, const void *h0, const void *w_ih,
                 const void *w_hh, const void *b_ih, const void *b_hh,
                 int64_t T, int64_t N, int64_t D, int64_t H, int relu)
    void rnn_bwd(int t, void *dx, void *dh0, void *dw_ih, void *dw_hh, void *db_ih, void *db_hh,
                 void *work, const void *dout, const void *dhn, const void *x, const void *h0,
                 const void *w_ih, const void *w_hh, const void *out,
                 int64_t T, int64_t N, int64_t D, int64_t H, int relu, int64_t trunc)
    void lstm_fwd(int t, void *out, void *gates, void *c, void *work, const void *x,
                  const void *h0, const void *c0, const void *w_ih, const void *w_hh,
                  const void *b_ih, const void *b_hh, int64_t T, int64_t N, int64_t D,
                  int64_t H)
    void lstm_bwd(int t, void *dx, void *dh0, void *dc0, void *dw_ih, void *dw_hh, void *db_ih,
                  void *db_hh, void *work, const void *dout, const void *dhn, const void *dcn,
                  const void *x, const void *h0, const void *c0, const void *w_ih,
                  const void *w_hh, const void *out, const void *gates, const void *c,
                  int64_t T, int64_t N, int64_t D, int64_t H)
    void gru_fwd(int t, void *out, void *gates, void *hn, void *work, const void *x,
                 const void *h0, const void *w_ih, const void *w_hh, const void *b_ih,
                 const void *b_hh, int64_t T, int64_t N, int64_t D, int64_t H)
    void gru_bwd(int t, void *dx, void *dh0, void *dw_ih, void *dw_hh, void *db_ih, void *db_hh,
                 void *work, const void *dout, const void *dhn, const void *x, const void *h0,
                 const void *w_ih, const void *w_hh, const void *out, const void *gates,
                 const void *hn, int64_t T, int64_t N, int64_t D, int64_t H)
    int64_t temporal_ce_fwd(int t, void *loss, double *wsum, void *lse, const void *x,
                            const int64_t *target, const void *w, int64_t rows, int64_t V)
    void temporal_ce_bwd(int t, void *dx, const void *x, const void *lse, const int64_t *target,
                         const void *w, double g, int64_t rows, int64_t V)

__all__ = ["rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
           "gru_forward", "gru_backward"]


# ---- contexts ---------------------------------------------------------------------------------

cdef class RNNCtx:
    """What rnn_backward needs: x (T, N, D), h0 (N, H), weight_ih (H, D), weight_hh (H, H),
    out (T, N, H), has_bias_ih, has_bias_hh, nonlinearity."""
    cdef readonly cnp.ndarray x, h0, weight_ih, weight_hh, out
    cdef readonly bint has_bias_ih, has_bias_hh
    cdef readonly object nonlinearity
    cdef int relu

    def __repr__(self):
        return f"RNNCtx(x={shape_str(self.x)}, H={self.h0.shape[1]}, nonlinearity={self.nonlinearity!r})"


cdef class LSTMCtx:
    """What lstm_backward needs: x, h0, c0, weight_ih (4H, D), weight_hh (4H, H), out (T, N, H),
    gates (T, N, 4H) after their activations (i, f, g, o), c (T, N, H) every step's cell state,
    has_bias_ih, has_bias_hh."""
    cdef readonly cnp.ndarray x, h0, c0, weight_ih, weight_hh, out, gates, c
    cdef readonly bint has_bias_ih, has_bias_hh

    def __repr__(self):
        return f"LSTMCtx(x={shape_str(self.x)}, H={self.h0.shape[1]})"


cdef class GRUCtx:
    """What gru_backward needs: x, h0, weight_ih (3H, D), weight_hh (3H, H), out (T, N, H),
    gates (T, N, 3H) after their activations (r, z, n), hn (T, N, H) = W_hn h_{t-1} + b_hn,
    has_bias_ih, has_bias_hh."""
    cdef readonly cnp.ndarray x, h0, weight_ih, weight_hh, out, gates, hn
    cdef readonly bint has_bias_ih, has_bias_hh

    def __repr__(self):
        return f"GRUCtx(x={shape_str(self.x)}, H={self.h0.shape[1]})"


# ---- checks (same order and wording as fastnn/reference/rnn.py) --------------------------------

cdef struct Dims:
    int64_t T, N, D, H


cdef inline void *data_or_null(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray>a)


cdef Dims check_forward(int t, cnp.ndarray xa, cnp.ndarray wia, cnp.ndarray wha,
                        object bia, object bha, int G) except *:
    """Shapes of a forward's arrays (dtypes already checked); returns T, N, D, H."""
    cdef Dims d
    if cnp.PyArray_NDIM(xa) != 3:
        raise ValueError(f"x must be 3-D (T, N, D) (time-major), got shape {shape_str(xa)}")
    d.T, d.N, d.D = xa.shape[0], xa.shape[1], xa.shape[2]
    if d.T == 0:
        raise ValueError(f"empty sequence: x has T = 0 time steps (shape {shape_str(xa)})")
    if (cnp.PyArray_NDIM(wia) != 2 or wia.shape[0] % G != 0 or wia.shape[0] == 0
            or wia.shape[1] != d.D):
        raise ValueError(f"weight_ih must be ({G}*H, {d.D}) with H >= 1 for x {shape_str(xa)}, "
                         f"got {shape_str(wia)}")
    d.H = wia.shape[0] // G
    if cnp.PyArray_NDIM(wha) != 2 or wha.shape[0] != G * d.H or wha.shape[1] != d.H:
        raise ValueError(f"weight_hh must be ({G * d.H}, {d.H}) to match weight_ih "
                         f"{shape_str(wia)}, got {shape_str(wha)}")
    for name, b in (("bias_ih", bia), ("bias_hh", bha)):
        if b is not None and (cnp.PyArray_NDIM(<cnp.ndarray>b) != 1
                              or (<cnp.ndarray>b).shape[0] != G * d.H):
            raise ValueError(f"{name} must have shape ({G * d.H},), got {shape_str(b)}")
    check_blas_dim(d.T * d.N, "T * N")
    check_blas_dim(d.D, "input size D")
    check_blas_dim(G * d.H, f"{G} * hidden size")
    return d


cdef cnp.ndarray state_array(object a, str name, int t, int64_t N, int64_t H):
    """The (N, H) initial state as a contiguous array: zeros for None."""
    cdef cnp.npy_intp dims[2]
    dims[0] = N
    dims[1] = H
    if a is None:
        return cnp.PyArray_ZEROS(2, dims, t, 0)
    cdef cnp.ndarray s = <cnp.ndarray>a
    if cnp.PyArray_NDIM(s) != 2 or s.shape[0] != N or s.shape[1] != H:
        raise ValueError(f"{name} must have shape (N, H) = ({N}, {H}), got {shape_str(s)}")
    return c_array(s)


cdef object opt_array(object a, int t):
    """c_array(a), or None (dtype already checked)."""
    return None if a is None else c_array(a)


cdef object grad_array(object g, int t, str name, int ndim, int64_t d0, int64_t d1, int64_t d2):
    """A gradient argument (or None): dtype t and shape (d0, d1[, d2]), contiguous."""
    if g is None:
        return None
    check_same_dtype(t, g, name, "x")
    cdef cnp.ndarray a = <cnp.ndarray>g
    cdef bint ok = cnp.PyArray_NDIM(a) == ndim and a.shape[0] == d0 and a.shape[1] == d1
    if ok and ndim == 3:
        ok = a.shape[2] == d2
    if not ok:
        want = (<object>d0, <object>d1, <object>d2) if ndim == 3 else (<object>d0, <object>d1)
        raise ValueError(f"{name} must have shape {want}, got {shape_str(a)}")
    return c_array(a)


cdef cnp.ndarray last_step(cnp.ndarray seq, int t, int64_t T, int64_t N, int64_t H):
    """A copy of seq[T-1] for seq (T, N, H)."""
    cdef cnp.npy_intp dims[2]
    dims[0] = N
    dims[1] = H
    cdef cnp.ndarray s = new_array(2, dims, t)
    cdef size_t nbytes = <size_t>(N * H) * cnp.PyArray_ITEMSIZE(seq)
    memcpy(cnp.PyArray_DATA(s), <char *>cnp.PyArray_DATA(seq) + (T - 1) * nbytes, nbytes)
    return s


cdef cnp.ndarray seq_array(int64_t T, int64_t N, int64_t H, int t):
    cdef cnp.npy_intp dims[3]
    dims[0] = T
    dims[1] = N
    dims[2] = H
    return new_array(3, dims, t)


cdef cnp.ndarray work_array(int64_t n, int t):
    cdef cnp.npy_intp dims[1]
    dims[0] = n if n > 0 else 1
    return new_array(1, dims, t)


cdef int check_common_dtypes(object x, object h0, object weight_ih, object weight_hh,
                             object bias_ih, object bias_hh, object c0, bint lstm) except -1:
    cdef int t = float_typenum(x, "x")
    if h0 is not None:
        check_same_dtype(t, h0, "h0", "x")
    check_same_dtype(t, weight_ih, "weight_ih", "x")
    check_same_dtype(t, weight_hh, "weight_hh", "x")
    if lstm and c0 is not None:
        check_same_dtype(t, c0, "c0", "x")
    if bias_ih is not None:
        check_same_dtype(t, bias_ih, "bias_ih", "x")
    if bias_hh is not None:
        check_same_dtype(t, bias_hh, "bias_hh", "x")
    return t


cdef struct GradPtrs:
    void *dx
    void *dh0
    void *dwi
    void *dwh
    void *dbi
    void *dbh


cdef tuple grads_out(int t, int64_t T, int64_t N, int64_t D, int64_t H, int G, bint bih, bint bhh,
                     GradPtrs *p):
    """Fresh dx (T, N, D), dh0 (N, H), dw_ih (GH, D), dw_hh (GH, H), db_ih, db_hh (GH,) or None;
    their data pointers (NULL for None) into p, for the kernel call."""
    cdef cnp.npy_intp d2[2]
    cdef cnp.npy_intp d1[1]
    d2[0] = N
    d2[1] = H
    dh0 = new_array(2, d2, t)
    d2[0] = G * H
    d2[1] = D
    dwi = new_array(2, d2, t)
    d2[1] = H
    dwh = new_array(2, d2, t)
    d1[0] = G * H
    dbi = new_array(1, d1, t) if bih else None
    dbh = new_array(1, d1, t) if bhh else None
    dx = seq_array(T, N, D, t)
    p.dx, p.dh0 = cnp.PyArray_DATA(dx), cnp.PyArray_DATA(dh0)
    p.dwi, p.dwh = cnp.PyArray_DATA(dwi), cnp.PyArray_DATA(dwh)
    p.dbi, p.dbh = data_or_null(dbi), data_or_null(dbh)
    return dx, dh0, dwi, dwh, dbi, dbh


# ---- Elman RNN ---------------------------------------------------------------------------------

def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """Elman RNN over a sequence: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    x (T, N, D) time-major, h0 (N, H) or None (zeros), weight_ih (H, D), weight_hh (H, H),
    bias_ih / bias_hh (H,) or None; nonlinearity "tanh" or "relu"; float32 or float64, all one
    dtype. Returns ``(out (T, N, H), h_n (N, H), ctx)``: out every step's hidden state, h_n a
    copy of out[-1].
    """
    cdef int relu
    if nonlinearity == "tanh":
        relu = 0
    elif nonlinearity == "relu":
        relu = 1
    else:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    cdef int t = check_common_dtypes(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, None, False)
    cdef cnp.ndarray xa = c_array(x), wia = c_array(weight_ih), wha = c_array(weight_hh)
    bia, bha = opt_array(bias_ih, t), opt_array(bias_hh, t)
    cdef Dims d = check_forward(t, xa, wia, wha, bia, bha, 1)
    cdef cnp.ndarray ha = state_array(h0, "h0", t, d.N, d.H)
    cdef cnp.ndarray out = seq_array(d.T, d.N, d.H, t)
    cdef cnp.ndarray work = work_array(fnn_rnn_fwd_work(d.T, d.N, d.H), t)
    cdef void *bi = data_or_null(bia)
    cdef void *bh = data_or_null(bha)
    with nogil:
        rnn_fwd(t, cnp.PyArray_DATA(out), cnp.PyArray_DATA(work), cnp.PyArray_DATA(xa),
                cnp.PyArray_DATA(ha), cnp.PyArray_DATA(wia), cnp.PyArray_DATA(wha), bi, bh,
                d.T, d.N, d.D, d.H, relu)
    cdef RNNCtx ctx = RNNCtx.__new__(RNNCtx)
    ctx.x, ctx.h0, ctx.weight_ih, ctx.weight_hh, ctx.out = xa, ha, wia, wha, out
    ctx.has_bias_ih, ctx.has_bias_hh = bia is not None, bha is not None
    ctx.nonlinearity, ctx.relu = nonlinearity, relu
    return out, last_step(out, t, d.T, d.N, d.H), ctx


cdef int64_t truncate_arg(object truncate) except -2:
    if truncate is None:
        return -1
    if isinstance(truncate, bool) or not isinstance(truncate, (int, _np.integer)):
        raise TypeError(f"truncate must be None or an int >= 0, got {type(truncate).__name__}")
    if truncate < 0:
        raise ValueError(f"truncate must be None or an int >= 0, got {truncate}")
    return <int64_t>min(truncate, 1 << 62)


def rnn_backward(dout, RNNCtx ctx not None, dstate=None, truncate=None):
    """Gradients of rnn_forward.

    dout (T, N, H) or None (zeros); dstate the gradient of h_n, (N, H) or None; truncate None
    (full backpropagation through time) or k >= 0: per-output truncated BPTT, the error arriving
    at output step t flows back through steps t, ..., max(0, t-k) only (dstate as an error
    arriving at step T-1; dh0 collects the errors of the steps t <= k); O(T*k); k >= T-1 is full
    BPTT. Returns ``(dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh)`` (None for absent
    biases).
    """
    cdef int64_t trunc = truncate_arg(truncate)
    cdef cnp.ndarray xa = ctx.x, out = ctx.out
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef int64_t T = out.shape[0], N = out.shape[1], H = out.shape[2], D = xa.shape[2]
    da = grad_array(dout, t, "dout", 3, T, N, H)
    dsa = grad_array(dstate, t, "dstate", 2, N, H, 0)
    if trunc >= T - 1:
        trunc = -1
    cdef GradPtrs p
    dx, dh0, dwi, dwh, dbi, dbh = grads_out(t, T, N, D, H, 1, ctx.has_bias_ih, ctx.has_bias_hh, &p)
    cdef cnp.ndarray work = work_array(fnn_rnn_bwd_work(T, N, H, trunc), t)
    cdef void *p_do = data_or_null(da)
    cdef void *p_ds = data_or_null(dsa)
    cdef int relu = ctx.relu
    with nogil:
        rnn_bwd(t, p.dx, p.dh0, p.dwi, p.dwh, p.dbi, p.dbh, cnp.PyArray_DATA(work), p_do, p_ds,
                cnp.PyArray_DATA(xa), cnp.PyArray_DATA(ctx.h0), cnp.PyArray_DATA(ctx.weight_ih),
                cnp.PyArray_DATA(ctx.weight_hh), cnp.PyArray_DATA(out), T, N, D, H, relu, trunc)
    return dx, dh0, dwi, dwh, dbi, dbh


# ---- LSTM ----------------------------------------------------------------------------------------

def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """LSTM over a sequence, PyTorch's equations and gate order (i, f, g, o):
    ``[i f g o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` (then sigmoid, sigmoid, tanh,
    sigmoid), ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``.

    x (T, N, D) time-major, h0 / c0 (N, H) or None (zeros), weight_ih (4H, D), weight_hh
    (4H, H), biases (4H,) or None; float32 or float64, one dtype. Returns
    ``(out (T, N, H), (h_n, c_n), ctx)``.
    """
    cdef int t = check_common_dtypes(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, c0, True)
    cdef cnp.ndarray xa = c_array(x), wia = c_array(weight_ih), wha = c_array(weight_hh)
    bia, bha = opt_array(bias_ih, t), opt_array(bias_hh, t)
    cdef Dims d = check_forward(t, xa, wia, wha, bia, bha, 4)
    cdef cnp.ndarray ha = state_array(h0, "h0", t, d.N, d.H)
    cdef cnp.ndarray ca = state_array(c0, "c0", t, d.N, d.H)
    cdef cnp.ndarray out = seq_array(d.T, d.N, d.H, t), cs = seq_array(d.T, d.N, d.H, t)
    cdef cnp.ndarray gates = seq_array(d.T, d.N, 4 * d.H, t)
    cdef cnp.ndarray work = work_array(fnn_lstm_fwd_work(d.T, d.N, d.H), t)
    cdef void *bi = data_or_null(bia)
    cdef void *bh = data_or_null(bha)
    with nogil:
        lstm_fwd(t, cnp.PyArray_DATA(out), cnp.PyArray_DATA(gates), cnp.PyArray_DATA(cs),
                 cnp.PyArray_DATA(work), cnp.PyArray_DATA(xa), cnp.PyArray_DATA(ha),
                 cnp.PyArray_DATA(ca), cnp.PyArray_DATA(wia), cnp.PyArray_DATA(wha), bi, bh,
                 d.T, d.N, d.D, d.H)
    cdef LSTMCtx ctx = LSTMCtx.__new__(LSTMCtx)
    ctx.x, ctx.h0, ctx.c0, ctx.weight_ih, ctx.weight_hh = xa, ha, ca, wia, wha
    ctx.out, ctx.gates, ctx.c = out, gates, cs
    ctx.has_bias_ih, ctx.has_bias_hh = bia is not None, bha is not None
    return out, (last_step(out, t, d.T, d.N, d.H), last_step(cs, t, d.T, d.N, d.H)), ctx


def lstm_backward(dout, LSTMCtx ctx not None, dstate=None):
    """Gradients of lstm_forward. dout (T, N, H) or None (zeros); dstate None or a pair
    (dh_n, dc_n) of (N, H) arrays (either may be None). Returns
    ``(dx, dh0, dc0, dweight_ih, dweight_hh, dbias_ih, dbias_hh)`` (None for absent biases).
    """
    cdef cnp.ndarray xa = ctx.x, out = ctx.out
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef int64_t T = out.shape[0], N = out.shape[1], H = out.shape[2], D = xa.shape[2]
    da = grad_array(dout, t, "dout", 3, T, N, H)
    if dstate is None:
        dhn = dcn = None
    elif isinstance(dstate, (tuple, list)) and len(dstate) == 2:
        dhn = grad_array(dstate[0], t, "dh_n", 2, N, H, 0)
        dcn = grad_array(dstate[1], t, "dc_n", 2, N, H, 0)
    else:
        raise TypeError(f"dstate must be None or a tuple (dh_n, dc_n), got {type(dstate).__name__}")
    cdef GradPtrs p
    dx, dh0, dwi, dwh, dbi, dbh = grads_out(t, T, N, D, H, 4, ctx.has_bias_ih, ctx.has_bias_hh, &p)
    cdef cnp.ndarray dc0 = new_array(2, (<cnp.ndarray>dh0).shape, t)
    cdef cnp.ndarray work = work_array(fnn_lstm_bwd_work(T, N, H), t)
    cdef void *p_do = data_or_null(da)
    cdef void *p_dh = data_or_null(dhn)
    cdef void *p_dc = data_or_null(dcn)
    with nogil:
        lstm_bwd(t, p.dx, p.dh0, cnp.PyArray_DATA(dc0), p.dwi, p.dwh, p.dbi, p.dbh,
                 cnp.PyArray_DATA(work), p_do, p_dh, p_dc, cnp.PyArray_DATA(xa),
                 cnp.PyArray_DATA(ctx.h0), cnp.PyArray_DATA(ctx.c0), cnp.PyArray_DATA(ctx.weight_ih),
                 cnp.PyArray_DATA(ctx.weight_hh), cnp.PyArray_DATA(out), cnp.PyArray_DATA(ctx.gates),
                 cnp.PyArray_DATA(ctx.c), T, N, D, H)
    return dx, dh0, dc0, dwi, dwh, dbi, dbh


# ---- GRU -----------------------------------------------------------------------------------------

def gru_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """GRU over a sequence, PyTorch's equations and gate order (r, z, n):
    ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)``,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) n + z h``.

    x (T, N, D) time-major, h0 (N, H) or None (zeros), weight_ih (3H, D), weight_hh (3H, H),
    biases (3H,) or None; float32 or float64, one dtype. Returns ``(out (T, N, H), h_n, ctx)``.
    """
    cdef int t = check_common_dtypes(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, None, False)
    cdef cnp.ndarray xa = c_array(x), wia = c_array(weight_ih), wha = c_array(weight_hh)
    bia, bha = opt_array(bias_ih, t), opt_array(bias_hh, t)
    cdef Dims d = check_forward(t, xa, wia, wha, bia, bha, 3)
    cdef cnp.ndarray ha = state_array(h0, "h0", t, d.N, d.H)
    cdef cnp.ndarray out = seq_array(d.T, d.N, d.H, t), hn = seq_array(d.T, d.N, d.H, t)
    cdef cnp.ndarray gates = seq_array(d.T, d.N, 3 * d.H, t)
    cdef cnp.ndarray work = work_array(fnn_gru_fwd_work(d.T, d.N, d.H), t)
    cdef void *bi = data_or_null(bia)
    cdef void *bh = data_or_null(bha)
    with nogil:
        gru_fwd(t, cnp.PyArray_DATA(out), cnp.PyArray_DATA(gates), cnp.PyArray_DATA(hn),
                cnp.PyArray_DATA(work), cnp.PyArray_DATA(xa), cnp.PyArray_DATA(ha),
                cnp.PyArray_DATA(wia), cnp.PyArray_DATA(wha), bi, bh, d.T, d.N, d.D, d.H)
    cdef GRUCtx ctx = GRUCtx.__new__(GRUCtx)
    ctx.x, ctx.h0, ctx.weight_ih, ctx.weight_hh = xa, ha, wia, wha
    ctx.out, ctx.gates, ctx.hn = out, gates, hn
    ctx.has_bias_ih, ctx.has_bias_hh = bia is not None, bha is not None
    return out, last_step(out, t, d.T, d.N, d.H), ctx


def gru_backward(dout, GRUCtx ctx not None, dstate=None):
    """Gradients of gru_forward. dout (T, N, H) or None (zeros), dstate the gradient of h_n,
    (N, H) or None. Returns ``(dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``."""
    cdef cnp.ndarray xa = ctx.x, out = ctx.out
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef int64_t T = out.shape[0], N = out.shape[1], H = out.shape[2], D = xa.shape[2]
    da = grad_array(dout, t, "dout", 3, T, N, H)
    dsa = grad_array(dstate, t, "dstate", 2, N, H, 0)
    cdef GradPtrs p
    dx, dh0, dwi, dwh, dbi, dbh = grads_out(t, T, N, D, H, 3, ctx.has_bias_ih, ctx.has_bias_hh, &p)
    cdef cnp.ndarray work = work_array(fnn_gru_bwd_work(T, N, H), t)
    cdef void *p_do = data_or_null(da)
    cdef void *p_ds = data_or_null(dsa)
    with nogil:
        gru_bwd(t, p.dx, p.dh0, p.dwi, p.dwh, p.dbi, p.dbh, cnp.PyArray_DATA(work), p_do, p_ds,
                cnp.PyArray_DATA(xa), cnp.PyArray_DATA(ctx.h0), cnp.PyArray_DATA(ctx.weight_ih),
                cnp.PyArray_DATA(ctx.weight_hh), cnp.PyArray_DATA(out), cnp.PyArray_DATA(ctx.gates),
                cnp.PyArray_DATA(ctx.hn), T, N, D, H)
    return dx, dh0, dwi, dwh, dbi, dbh


# ---- temporal cross-entropy ----------------------------------------------------------------------

__all__ += ["temporal_cross_entropy_forward", "temporal_cross_entropy_backward"]


cdef class TemporalCECtx:
    """What temporal_cross_entropy_backward needs: logits (T, N, V), target (T, N) int64, weight
    (T, N) (the mask as the logits' dtype) or None, lse (T, N) each row's log-sum-exp, and
    weight_sum (the mean's denominator)."""
    cdef readonly cnp.ndarray logits, target, weight, lse
    cdef readonly double weight_sum

    def __repr__(self):
        return f"TemporalCECtx(logits={shape_str(self.logits)}, weight_sum={self.weight_sum})"


def temporal_cross_entropy_forward(logits, target, mask=None):
    """Mean cross-entropy of softmax(logits) against target over every unmasked (t, n).

    logits (T, N, V) float32/float64 (V >= 1), target (T, N) int64 class indices in [0, V)
    (only where the mask is nonzero), mask None (every position counts), a bool array (T, N),
    or a float array (T, N) of the logits' dtype used as weights:
    ``loss = sum(mask * nll) / sum(mask)`` with ``nll = logsumexp(logits[t, n]) -
    logits[t, n, target[t, n]]``. Returns ``(loss, ctx)``, loss a 0-d array of the logits'
    dtype (NaN when nothing is unmasked, like torch's mean over nothing).
    """
    cdef int t = float_typenum(logits, "logits")
    cdef cnp.ndarray xa = c_array(logits)
    if cnp.PyArray_NDIM(xa) != 3 or xa.shape[2] == 0:
        raise ValueError(f"logits must be 3-D (T, N, V) with V >= 1, got shape {shape_str(xa)}")
    cdef int64_t T = xa.shape[0], N = xa.shape[1], V = xa.shape[2]
    if not cnp.PyArray_Check(target):
        raise TypeError(f"target must be a numpy.ndarray of int64, got {type(target).__name__}")
    if cnp.PyArray_TYPE(<cnp.ndarray>target) != cnp.NPY_INT64:
        raise TypeError(f"target must have dtype int64, got {(<cnp.ndarray>target).dtype}")
    cdef cnp.ndarray ta = c_array(target)
    if cnp.PyArray_NDIM(ta) != 2 or ta.shape[0] != T or ta.shape[1] != N:
        raise ValueError(f"target must have shape (T, N) = ({T}, {N}), got {shape_str(ta)}")
    cdef cnp.ndarray wa = None
    if mask is not None:
        if not cnp.PyArray_Check(mask):
            raise TypeError(f"mask must be None or a numpy.ndarray, got {type(mask).__name__}")
        if cnp.PyArray_TYPE(<cnp.ndarray>mask) == cnp.NPY_BOOL:
            wa = c_array((<cnp.ndarray>mask).astype((<cnp.ndarray>xa).dtype))
        elif cnp.PyArray_TYPE(<cnp.ndarray>mask) == t:
            wa = c_array(mask)
        else:
            raise TypeError(f"mask must be a bool array or a float array of the logits' dtype "
                            f"{xa.dtype}, got {(<cnp.ndarray>mask).dtype}")
        if cnp.PyArray_NDIM(wa) != 2 or wa.shape[0] != T or wa.shape[1] != N:
            raise ValueError(f"mask must have shape (T, N) = ({T}, {N}), got {shape_str(mask)}")
    cdef cnp.npy_intp d2[2]
    d2[0] = T
    d2[1] = N
    cdef cnp.ndarray lse = new_array(2, d2, t)
    cdef cnp.ndarray loss = new_array(0, d2, t)
    cdef void *wp = data_or_null(wa)
    cdef double wsum = 0
    cdef int64_t bad
    with nogil:
        bad = temporal_ce_fwd(t, cnp.PyArray_DATA(loss), &wsum, cnp.PyArray_DATA(lse),
                              cnp.PyArray_DATA(xa), <int64_t *>cnp.PyArray_DATA(ta), wp, T * N, V)
    if bad >= 0:
        raise ValueError(f"target out of range at (t, n) = ({bad // N}, {bad % N}): "
                         f"{(<int64_t *>cnp.PyArray_DATA(ta))[bad]} is not in [0, {V})")
    cdef TemporalCECtx ctx = TemporalCECtx.__new__(TemporalCECtx)
    ctx.logits, ctx.target, ctx.weight, ctx.lse, ctx.weight_sum = xa, ta, wa, lse, wsum
    return loss, ctx


def temporal_cross_entropy_backward(dloss, TemporalCECtx ctx not None):
    """Gradient of temporal_cross_entropy_forward with respect to logits: dloss (a number or a
    0-d array of the logits' dtype) -> dlogits (T, N, V),
    ``dloss * mask / sum(mask) * (softmax(logits) - onehot(target))`` (zero where masked)."""
    cdef cnp.ndarray xa = ctx.logits
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef double g
    if cnp.PyArray_Check(dloss):
        check_same_dtype(t, dloss, "dloss", "logits")
        if cnp.PyArray_NDIM(<cnp.ndarray>dloss) != 0:
            raise ValueError(f"dloss must be a number or a 0-d array, got shape {shape_str(dloss)}")
        g = float(dloss)
    elif isinstance(dloss, (int, float)) and not isinstance(dloss, bool):
        g = dloss
    else:
        raise TypeError(f"dloss must be a number or a 0-d array, got {type(dloss).__name__}")
    g = g / ctx.weight_sum if ctx.weight_sum != 0 else 0.0
    cdef int64_t rows = xa.shape[0] * xa.shape[1], V = xa.shape[2]
    cdef cnp.ndarray dx = new_array(3, xa.shape, t)
    cdef void *wp = data_or_null(ctx.weight)
    with nogil:
        temporal_ce_bwd(t, cnp.PyArray_DATA(dx), cnp.PyArray_DATA(xa), cnp.PyArray_DATA(ctx.lse),
                        <int64_t *>cnp.PyArray_DATA(ctx.target), wp, g, rows, V)
    return dx
