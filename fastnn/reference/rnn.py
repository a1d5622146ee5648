"""numpy twin of fastnn._rnn: single-layer, unidirectional recurrent kernels (Elman RNN with tanh
or relu, LSTM, GRU), time-major, with PyTorch's equations, weight layouts and gate orders.

Shapes: x (T, N, D), h0 / c0 (N, H), weight_ih (G*H, D), weight_hh (G*H, H), bias_ih / bias_hh
(G*H,) or None, with G = 1 (RNN), 4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n).
Forward returns ``(out, state, ctx)``: out (T, N, H) every step's hidden state, state h_n (RNN,
GRU) or (h_n, c_n) (LSTM), copies (not views of out). Backward takes ``(dout, ctx, dstate=None)``;
dout (T, N, H) or None (zeros), dstate the gradient of the final state(s) or None (zeros).

Truncated BPTT (rnn_backward(..., truncate=k)): the error arriving at output step t (dout[t])
flows back through steps t, t-1, ..., max(0, t-k) and no further; every gradient is the sum of
those contributions over all t. dstate (dh_n) is an error arriving at step T-1 and is truncated
the same way. dh0 receives the contributions of the errors whose window reaches step 0, i.e.
those arriving at t <= k (they flow through step 0 into h0). truncate >= T-1 is full BPTT.

Also here: temporal_cross_entropy_forward/backward, the masked mean cross-entropy over the
(T, N) positions of a sequence model's logits (T, N, V).
"""
import numpy as np

from ._checks import float_array, same_dtype

__all__ = ["rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
           "gru_forward", "gru_backward",
           "temporal_cross_entropy_forward", "temporal_cross_entropy_backward"]

RNN_NONLINEARITIES = ("tanh", "relu")


# ---- contexts ---------------------------------------------------------------------------------

class RNNCtx:
    """What rnn_backward needs: x (T, N, D), h0 (N, H), weight_ih (H, D), weight_hh (H, H),
    out (T, N, H), has_bias_ih, has_bias_hh, nonlinearity."""
    __slots__ = ("x", "h0", "weight_ih", "weight_hh", "out", "has_bias_ih", "has_bias_hh",
                 "nonlinearity")

    def __init__(self, x, h0, weight_ih, weight_hh, out, has_bias_ih, has_bias_hh, nonlinearity):
        self.x, self.h0, self.weight_ih, self.weight_hh, self.out = x, h0, weight_ih, weight_hh, out
        self.has_bias_ih, self.has_bias_hh, self.nonlinearity = has_bias_ih, has_bias_hh, nonlinearity

    def __repr__(self):
        return f"RNNCtx(x={self.x.shape}, H={self.h0.shape[1]}, nonlinearity={self.nonlinearity!r})"


class LSTMCtx:
    """What lstm_backward needs: x, h0, c0, weight_ih (4H, D), weight_hh (4H, H), out (T, N, H),
    gates (T, N, 4H) after their activations (i, f, g, o), c (T, N, H) every step's cell state,
    has_bias_ih, has_bias_hh."""
    __slots__ = ("x", "h0", "c0", "weight_ih", "weight_hh", "out", "gates", "c",
                 "has_bias_ih", "has_bias_hh")

    def __init__(self, x, h0, c0, weight_ih, weight_hh, out, gates, c, has_bias_ih, has_bias_hh):
        self.x, self.h0, self.c0, self.weight_ih, self.weight_hh = x, h0, c0, weight_ih, weight_hh
        self.out, self.gates, self.c = out, gates, c
        self.has_bias_ih, self.has_bias_hh = has_bias_ih, has_bias_hh

    def __repr__(self):
        return f"LSTMCtx(x={self.x.shape}, H={self.h0.shape[1]})"


class GRUCtx:
    """What gru_backward needs: x, h0, weight_ih (3H, D), weight_hh (3H, H), out (T, N, H),
    gates (T, N, 3H) after their activations (r, z, n), hn (T, N, H) = W_hn h_{t-1} + b_hn,
    has_bias_ih, has_bias_hh."""
    __slots__ = ("x", "h0", "weight_ih", "weight_hh", "out", "gates", "hn",
                 "has_bias_ih", "has_bias_hh")

    def __init__(self, x, h0, weight_ih, weight_hh, out, gates, hn, has_bias_ih, has_bias_hh):
        self.x, self.h0, self.weight_ih, self.weight_hh = x, h0, weight_ih, weight_hh
        self.out, self.gates, self.hn = out, gates, hn
        self.has_bias_ih, self.has_bias_hh = has_bias_ih, has_bias_hh

    def __repr__(self):
        return f"GRUCtx(x={self.x.shape}, H={self.h0.shape[1]})"


# ---- checks (same wording as fastnn/_rnn.pyx) ---------------------------------------------------

def _check(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, gates, extra_states=()):
    """Validate a forward's arguments; return (T, N, D, H). extra_states: [(name, array)] that must
    be (N, H) like h0 (c0)."""
    float_array(x, "x")
    for name, a in (("h0", h0), ("weight_ih", weight_ih), ("weight_hh", weight_hh)) + tuple(extra_states):
        if a is not None or name in ("weight_ih", "weight_hh"):
            same_dtype(x, a, name, "x")
    for name, a in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if a is not None:
            same_dtype(x, a, name, "x")
    if x.ndim != 3:
        raise ValueError(f"x must be 3-D (T, N, D) (time-major), got shape {x.shape}")
    T, N, D = x.shape
    if T == 0:
        raise ValueError(f"empty sequence: x has T = 0 time steps (shape {x.shape})")
    if weight_ih.ndim != 2 or weight_ih.shape[0] % gates or weight_ih.shape[0] == 0 or weight_ih.shape[1] != D:
        raise ValueError(f"weight_ih must be ({gates}*H, {D}) with H >= 1 for x {x.shape}, "
                         f"got {weight_ih.shape}")
    H = weight_ih.shape[0] // gates
    if weight_hh.shape != (gates * H, H):
        raise ValueError(f"weight_hh must be ({gates * H}, {H}) to match weight_ih "
                         f"{weight_ih.shape}, got {weight_hh.shape}")
    for name, a in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if a is not None and a.shape != (gates * H,):
            raise ValueError(f"{name} must have shape ({gates * H},), got {a.shape}")
    for name, a in (("h0", h0),) + tuple(extra_states):
        if a is not None and a.shape != (N, H):
            raise ValueError(f"{name} must have shape (N, H) = ({N}, {H}), got {a.shape}")
    return T, N, D, H


def _state(a, N, H, dtype):
    return np.zeros((N, H), dtype) if a is None else a


def _check_grad(ref, g, name, shape):
    """g (or None) must be a float array of ref's dtype and the given shape."""
    if g is None:
        return None
    same_dtype(ref, g, name, "x")
    if g.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {g.shape}")
    return g


def _dout(ctx, dout):
    T, N, H = ctx.out.shape
    d = _check_grad(ctx.x, dout, "dout", (T, N, H))
    return np.zeros((T, N, H), ctx.x.dtype) if d is None else d


def _dstate(ctx, dstate, names):
    """dstate None, an array (one name) or a tuple of arrays/None (several names) -> list of
    arrays (zeros where absent)."""
    N, H = ctx.out.shape[1:]
    if len(names) == 1:
        parts = [dstate]
    elif dstate is None:
        parts = [None] * len(names)
    else:
        if not isinstance(dstate, (tuple, list)) or len(dstate) != len(names):
            raise TypeError(f"dstate must be None or a tuple ({', '.join(names)}), got {type(dstate).__name__}")
        parts = list(dstate)
    out = []
    for name, g in zip(names, parts):
        g = _check_grad(ctx.x, g, name, (N, H))
        out.append(np.zeros((N, H), ctx.x.dtype) if g is None else g)
    return out


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _bias_sums(dG, has):
    return dG.reshape(-1, dG.shape[-1]).sum(axis=0, dtype=np.float64).astype(dG.dtype) if has else None


def _input_projection(x, w_ih, *biases):
    """Every step's input projection at once, (T, N, G*H) = x (T, N, D) @ w_ih^T, plus each
    of biases that is not None."""
    T, N, D = x.shape
    pre = (x.reshape(T * N, D) @ w_ih.T).reshape(T, N, w_ih.shape[0])
    for b in biases:
        if b is not None:
            pre += b
    return pre


def _weight_grads(x, h0, out, w_ih, dGi, dGh):
    """dx = dGi @ W_ih, dW_ih = dGi^T X, dW_hh = sum_t dGh[t]^T h_{t-1} (h_{-1} = h0)."""
    T, N, D = x.shape
    GH = dGi.shape[-1]
    dx = (dGi.reshape(T * N, GH) @ w_ih).reshape(T, N, D)
    dw_ih = dGi.reshape(T * N, GH).T @ x.reshape(T * N, D)
    H = out.shape[-1]
    dw_hh = dGh[0].T @ h0
    if T > 1:
        dw_hh += dGh[1:].reshape(-1, GH).T @ out[:-1].reshape(-1, H)
    return dx, dw_ih, dw_hh


# ---- Elman RNN ---------------------------------------------------------------------------------

def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """Elman RNN over a sequence: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    x (T, N, D), h0 (N, H) or None (zeros), weight_ih (H, D), weight_hh (H, H), bias_ih / bias_hh
    (H,) or None; nonlinearity "tanh" or "relu"; float32 or float64, all one dtype. Returns
    ``(out (T, N, H), h_n (N, H), ctx)``.
    """
    if nonlinearity not in RNN_NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    T, N, D, H = _check(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, 1)
    h = _state(h0, N, H, x.dtype)
    pre = _input_projection(x, weight_ih, bias_ih, bias_hh)
    out = np.empty((T, N, H), x.dtype)
    for t in range(T):
        a = pre[t] + h @ weight_hh.T
        h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
        out[t] = h
    ctx = RNNCtx(x, _state(h0, N, H, x.dtype), weight_ih, weight_hh, out,
                 bias_ih is not None, bias_hh is not None, nonlinearity)
    return out, out[-1].copy(), ctx


def _act_grad(h, nonlinearity):
    return 1 - h * h if nonlinearity == "tanh" else (h > 0).astype(h.dtype)


def rnn_backward(dout, ctx, dstate=None, truncate=None):
    """Gradients of rnn_forward. dout (T, N, H) or None, dstate dh_n (N, H) or None; truncate
    None (full backpropagation through time) or k >= 0 (per-output truncated BPTT, see the module
    docstring). Returns ``(dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh)`` (None for
    absent biases)."""
    if not isinstance(ctx, RNNCtx):
        raise TypeError(f"ctx must be an RNNCtx from rnn_forward, got {type(ctx).__name__}")
    k = _truncate(truncate)
    d = _dout(ctx, dout)
    (dhn,) = _dstate(ctx, dstate, ("dstate",))
    out, w_hh = ctx.out, ctx.weight_hh
    T, N, H = out.shape
    dG = np.empty_like(out)
    if k is None or k >= T - 1:
        dh = d[T - 1] + dhn
        for t in range(T - 1, -1, -1):
            da = dh * _act_grad(out[t], ctx.nonlinearity)
            dG[t] = da
            dh = da @ w_hh
            if t > 0:
                dh = dh + d[t - 1]
        dh0 = dh
    else:
        # chains[j] is the error of the output step s with s % (k+1) == j, on its way back; at
        # step s the live chains are those of the outputs s .. s+k (a chain that has passed k+1
        # steps is dropped by overwriting its slot with the next new output's error)
        K = k + 1
        chains = np.zeros((K, N, H), out.dtype)
        chains[(T - 1) % K] = d[T - 1] + dhn
        dh0 = None
        for s in range(T - 1, -1, -1):
            da = chains * _act_grad(out[s], ctx.nonlinearity)
            dG[s] = da.sum(axis=0)
            chains = da @ w_hh
            if s > 0:
                chains[(s - 1) % K] = d[s - 1]
            else:
                dh0 = chains.sum(axis=0)
    dx, dw_ih, dw_hh = _weight_grads(ctx.x, ctx.h0, out, ctx.weight_ih, dG, dG)
    return (dx, dh0, dw_ih, dw_hh, _bias_sums(dG, ctx.has_bias_ih), _bias_sums(dG, ctx.has_bias_hh))


def _truncate(truncate):
    if truncate is None:
        return None
    if isinstance(truncate, bool) or not isinstance(truncate, (int, np.integer)):
        raise TypeError(f"truncate must be None or an int >= 0, got {type(truncate).__name__}")
    if truncate < 0:
        raise ValueError(f"truncate must be None or an int >= 0, got {truncate}")
    return int(truncate)


# ---- LSTM ----------------------------------------------------------------------------------------

def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """LSTM over a sequence, PyTorch's equations and gate order (i, f, g, o):
    ``[i f g o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` (then sigmoid, sigmoid, tanh,
    sigmoid), ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``.

    x (T, N, D), h0 / c0 (N, H) or None (zeros), weight_ih (4H, D), weight_hh (4H, H), biases
    (4H,) or None. Returns ``(out (T, N, H), (h_n, c_n), ctx)``.
    """
    T, N, D, H = _check(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, 4, (("c0", c0),))
    h, c = _state(h0, N, H, x.dtype), _state(c0, N, H, x.dtype)
    ctx_h0, ctx_c0 = h, c
    pre = _input_projection(x, weight_ih, bias_ih, bias_hh)
    out = np.empty((T, N, H), x.dtype)
    gates = np.empty((T, N, 4 * H), x.dtype)
    cs = np.empty((T, N, H), x.dtype)
    for t in range(T):
        a = pre[t] + h @ weight_hh.T
        i, f = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        gates[t] = np.concatenate([i, f, g, o], axis=1)
        cs[t], out[t] = c, h
    ctx = LSTMCtx(x, ctx_h0, ctx_c0, weight_ih, weight_hh, out, gates, cs,
                  bias_ih is not None, bias_hh is not None)
    return out, (out[-1].copy(), cs[-1].copy()), ctx


def lstm_backward(dout, ctx, dstate=None):
    """Gradients of lstm_forward. dout (T, N, H) or None; dstate (dh_n, dc_n) (either may be
    None) or None. Returns ``(dx, dh0, dc0, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``."""
    if not isinstance(ctx, LSTMCtx):
        raise TypeError(f"ctx must be an LSTMCtx from lstm_forward, got {type(ctx).__name__}")
    d = _dout(ctx, dout)
    dh, dc = _dstate(ctx, dstate, ("dh_n", "dc_n"))
    T, N, H = ctx.out.shape
    dG = np.empty_like(ctx.gates)
    dh = dh + d[T - 1]
    for t in range(T - 1, -1, -1):
        gt = ctx.gates[t]
        i, f, g, o = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:3 * H], gt[:, 3 * H:]
        c_prev = ctx.c[t - 1] if t > 0 else ctx.c0
        tc = np.tanh(ctx.c[t])
        dc = dc + dh * o * (1 - tc * tc)
        dG[t] = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
        dc = dc * f
        dh = dG[t] @ ctx.weight_hh
        if t > 0:
            dh = dh + d[t - 1]
    dx, dw_ih, dw_hh = _weight_grads(ctx.x, ctx.h0, ctx.out, ctx.weight_ih, dG, dG)
    return (dx, dh, dc, dw_ih, dw_hh, _bias_sums(dG, ctx.has_bias_ih), _bias_sums(dG, ctx.has_bias_hh))


# ---- GRU -----------------------------------------------------------------------------------------

def gru_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """GRU over a sequence, PyTorch's equations and gate order (r, z, n):
    ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)``,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) n + z h``.

    x (T, N, D), h0 (N, H) or None (zeros), weight_ih (3H, D), weight_hh (3H, H), biases (3H,) or
    None. Returns ``(out (T, N, H), h_n (N, H), ctx)``.
    """
    T, N, D, H = _check(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, 3)
    h = _state(h0, N, H, x.dtype)
    ctx_h0 = h
    pre = _input_projection(x, weight_ih, bias_ih)
    out = np.empty((T, N, H), x.dtype)
    gates = np.empty((T, N, 3 * H), x.dtype)
    hns = np.empty((T, N, H), x.dtype)
    for t in range(T):
        hg = h @ weight_hh.T
        if bias_hh is not None:
            hg += bias_hh
        r = _sigmoid(pre[t, :, :H] + hg[:, :H])
        z = _sigmoid(pre[t, :, H:2 * H] + hg[:, H:2 * H])
        hn = hg[:, 2 * H:]
        n = np.tanh(pre[t, :, 2 * H:] + r * hn)
        h = (1 - z) * n + z * h
        gates[t] = np.concatenate([r, z, n], axis=1)
        hns[t], out[t] = hn, h
    ctx = GRUCtx(x, ctx_h0, weight_ih, weight_hh, out, gates, hns,
                 bias_ih is not None, bias_hh is not None)
    return out, out[-1].copy(), ctx


def gru_backward(dout, ctx, dstate=None):
    """Gradients of gru_forward. dout (T, N, H) or None, dstate dh_n (N, H) or None. Returns
    ``(dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``."""
    if not isinstance(ctx, GRUCtx):
        raise TypeError(f"ctx must be a GRUCtx from gru_forward, got {type(ctx).__name__}")
    d = _dout(ctx, dout)
    (dh,) = _dstate(ctx, dstate, ("dstate",))
    T, N, H = ctx.out.shape
    dGi = np.empty_like(ctx.gates)
    dGh = np.empty_like(ctx.gates)
    dh = dh + d[T - 1]
    for t in range(T - 1, -1, -1):
        gt = ctx.gates[t]
        r, z, n = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:]
        h_prev = ctx.out[t - 1] if t > 0 else ctx.h0
        dn = dh * (1 - z) * (1 - n * n)
        dr = dn * ctx.hn[t] * r * (1 - r)
        dz = dh * (h_prev - n) * z * (1 - z)
        dGi[t] = np.concatenate([dr, dz, dn], axis=1)
        dGh[t] = np.concatenate([dr, dz, dn * r], axis=1)
        dh = dh * z + dGh[t] @ ctx.weight_hh
        if t > 0:
            dh = dh + d[t - 1]
    dx, dw_ih, dw_hh = _weight_grads(ctx.x, ctx.h0, ctx.out, ctx.weight_ih, dGi, dGh)
    return (dx, dh, dw_ih, dw_hh, _bias_sums(dGi, ctx.has_bias_ih), _bias_sums(dGh, ctx.has_bias_hh))


# ---- temporal cross-entropy ------------------------------------------------------------------------

class TemporalCECtx:
    """What temporal_cross_entropy_backward needs: logits (T, N, V), target (T, N) int64, weight
    (T, N) (the mask as the logits' dtype) or None, lse (T, N) each row's log-sum-exp, and
    weight_sum (the mean's denominator)."""
    __slots__ = ("logits", "target", "weight", "lse", "weight_sum")

    def __init__(self, logits, target, weight, lse, weight_sum):
        self.logits, self.target, self.weight, self.lse, self.weight_sum = logits, target, weight, lse, weight_sum

    def __repr__(self):
        return f"TemporalCECtx(logits={self.logits.shape}, weight_sum={self.weight_sum})"


def temporal_cross_entropy_forward(logits, target, mask=None):
    """Mean cross-entropy of softmax(logits) against target over every unmasked (t, n).

    logits (T, N, V) float32/float64 (V >= 1), target (T, N) int64 class indices in [0, V)
    (only where the mask is nonzero), mask None, a bool array (T, N) or a float array (T, N) of
    the logits' dtype used as weights: ``loss = sum(mask * nll) / sum(mask)``. Returns
    ``(loss, ctx)``, loss a 0-d array of the logits' dtype (NaN when nothing is unmasked).
    """
    float_array(logits, "logits")
    if logits.ndim != 3 or logits.shape[2] == 0:
        raise ValueError(f"logits must be 3-D (T, N, V) with V >= 1, got shape {logits.shape}")
    T, N, V = logits.shape
    if not isinstance(target, np.ndarray):
        raise TypeError(f"target must be a numpy.ndarray of int64, got {type(target).__name__}")
    if target.dtype.type is not np.int64:           # byte order aside, as the binding
        raise TypeError(f"target must have dtype int64, got {target.dtype}")
    if target.shape != (T, N):
        raise ValueError(f"target must have shape (T, N) = ({T}, {N}), got {target.shape}")
    w = None
    if mask is not None:
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"mask must be None or a numpy.ndarray, got {type(mask).__name__}")
        if mask.dtype == np.bool_:
            w = mask.astype(logits.dtype)
        elif mask.dtype.type is logits.dtype.type:      # byte order aside
            w = mask
        else:
            raise TypeError(f"mask must be a bool array or a float array of the logits' dtype "
                            f"{logits.dtype}, got {mask.dtype}")
        if w.shape != (T, N):
            raise ValueError(f"mask must have shape (T, N) = ({T}, {N}), got {mask.shape}")
    active = np.ones((T, N), bool) if w is None else (w != 0)
    bad = np.flatnonzero(active.ravel() & ((target.ravel() < 0) | (target.ravel() >= V)))
    if bad.size:
        r = int(bad[0])
        raise ValueError(f"target out of range at (t, n) = ({r // N}, {r % N}): "
                         f"{target.ravel()[r]} is not in [0, {V})")
    m = logits.max(axis=2, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(axis=2, dtype=np.float64, keepdims=True)))[..., 0]
    lse = lse.astype(logits.dtype)
    safe = np.where(active, target, 0)
    picked = np.take_along_axis(logits, safe[..., None], axis=2)[..., 0]
    nll = lse.astype(np.float64) - picked
    ww = np.ones((T, N)) if w is None else w.astype(np.float64)
    wsum = float(ww[active].sum())
    total = float((ww * np.where(active, nll, 0)).sum())
    loss = np.array(total / wsum if wsum != 0 else np.nan, dtype=logits.dtype)
    return loss, TemporalCECtx(logits, safe, w, lse, wsum)


def temporal_cross_entropy_backward(dloss, ctx):
    """Gradient of temporal_cross_entropy_forward with respect to logits: dloss (a number or a
    0-d array of the logits' dtype) -> dlogits (T, N, V)."""
    if not isinstance(ctx, TemporalCECtx):
        raise TypeError(f"ctx must be a TemporalCECtx from temporal_cross_entropy_forward, "
                        f"got {type(ctx).__name__}")
    x = ctx.logits
    if isinstance(dloss, np.ndarray):
        same_dtype(x, dloss, "dloss", "logits")
        if dloss.ndim != 0:
            raise ValueError(f"dloss must be a number or a 0-d array, got shape {dloss.shape}")
        g = float(dloss)
    elif isinstance(dloss, (int, float)) and not isinstance(dloss, bool):
        g = float(dloss)
    else:
        raise TypeError(f"dloss must be a number or a 0-d array, got {type(dloss).__name__}")
    g = g / ctx.weight_sum if ctx.weight_sum != 0 else 0.0
    scale = g * (np.ones(ctx.target.shape) if ctx.weight is None else ctx.weight.astype(np.float64))
    p = np.exp(x - ctx.lse[..., None])
    onehot = np.zeros_like(x)
    np.put_along_axis(onehot, ctx.target[..., None], 1, axis=2)
    dx = (scale[..., None] * (p - onehot)).astype(x.dtype)
    dx[scale == 0] = 0
    return dx
