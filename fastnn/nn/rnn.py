"""Recurrent layers (RNN, LSTM, GRU) and Embedding with PyTorch's names, constructor arguments,
parameter names, shapes and initialisation, on the rnn and embedding kernels.

The kernels are single-layer and unidirectional, time-major (T, N, D). The layers stack them:
layer k's input is layer k-1's output (both directions concatenated on the last axis), with
inverted dropout between layers in training; the reverse direction runs the kernel on the
time-reversed sequence and its output is reversed back. As in layers.py, each forward looks the
kernel module up with ``fastnn.get_backend()``, keeps every kernel ctx and that module, and
backward pairs with them.
"""
import math

import numpy as np

from ..backend import get_backend
from . import init
from .layers import kernel, _check_float_input
from ._util import _int, _float_dtype
from .module import Module, Parameter

__all__ = ["RNN", "LSTM", "GRU", "Embedding"]

_MAX_PARAMS = 2**40      # far beyond any memory: a size this large is a mistake, not a model


class _RNNBase(Module):
    """Shared body of RNN / LSTM / GRU. Subclasses set ``_gates`` (1, 4, 3), ``_op`` (the kernel
    family prefix "rnn" / "lstm" / "gru") and ``_cell_state`` (LSTM: True)."""
    _gates = 1
    _op = "rnn"
    _cell_state = False
    _TRANSIENT = Module._TRANSIENT + ("dstate0",)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, dtype=np.float32, rng=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _int(input_size, f"{name} input_size", 1)
        self.hidden_size = _int(hidden_size, f"{name} hidden_size", 1)
        self.num_layers = _int(num_layers, f"{name} num_layers", 1)
        if proj_size:
            raise NotImplementedError(f"{name} proj_size={proj_size!r} is not supported")
        self.proj_size = 0
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} dropout must be a float, got {type(dropout).__name__}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name} dropout must be a number in [0, 1], got {dropout}")
        self.dropout = float(dropout)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.bidirectional = bool(bidirectional)
        dtype = _float_dtype(dtype, name)
        gen = init.new_generator(rng) if rng is not None else init.default_generator()
        H, G = self.hidden_size, self._gates
        dirs = 2 if self.bidirectional else 1
        # count before allocating: num_layers=10**19 must raise, not loop allocating layers
        total = dirs * G * H * ((self.input_size + H + 2) + (self.num_layers - 1) * (H * dirs + H + 2))
        if total > _MAX_PARAMS:
            raise ValueError(f"{name}(input_size={self.input_size}, hidden_size={H}, num_layers="
                             f"{self.num_layers}) would have {total} parameters, more than "
                             f"{_MAX_PARAMS}: too large to allocate")
        stdv = 1.0 / math.sqrt(H)
        for k in range(self.num_layers):
            d_in = self.input_size if k == 0 else H * dirs
            for suffix in ("", "_reverse")[:dirs]:
                shapes = [(f"weight_ih_l{k}{suffix}", (G * H, d_in)),
                          (f"weight_hh_l{k}{suffix}", (G * H, H))]
                if self.bias:
                    shapes += [(f"bias_ih_l{k}{suffix}", (G * H,)),
                               (f"bias_hh_l{k}{suffix}", (G * H,))]
                for pname, shape in shapes:
                    p = Parameter(np.empty(shape, dtype))
                    init.uniform_(p, -stdv, stdv, rng=gen)
                    setattr(self, pname, p)
        # dropout masks come from the layer's own generator (seeded from rng, or the global one)
        self.rng = init.new_generator(int(gen.integers(2 ** 63)) if rng is not None else None)

    # -- helpers ------------------------------------------------------------------------------
    def _params(self, k, suffix):
        """(weight_ih, weight_hh, bias_ih, bias_hh) Parameters (biases None without bias)."""
        g = self.__dict__
        if self.bias:
            return (g[f"weight_ih_l{k}{suffix}"], g[f"weight_hh_l{k}{suffix}"],
                    g[f"bias_ih_l{k}{suffix}"], g[f"bias_hh_l{k}{suffix}"])
        return g[f"weight_ih_l{k}{suffix}"], g[f"weight_hh_l{k}{suffix}"], None, None

    def _state_shape(self, N, unbatched):
        L = self.num_layers * (2 if self.bidirectional else 1)
        return (L, self.hidden_size) if unbatched else (L, N, self.hidden_size)

    def _check_state(self, s, what, dtype, N, unbatched):
        """s None or an array of the state's shape -> None or (L*dirs, N, H)."""
        if s is None:
            return None
        _check_float_input(type(self).__name__, s, what)
        if s.dtype != dtype:
            raise TypeError(f"{self!r}: {what} has dtype {s.dtype} but the input has {dtype}; "
                            f"nothing is converted silently")
        shape = self._state_shape(N, unbatched)
        if s.shape != shape:
            raise ValueError(f"{self!r} expects {what} of shape {shape} (num_layers * num_directions, "
                             f"{'' if unbatched else 'N, '}hidden_size), got {s.shape}")
        return s[:, None] if unbatched else s

    def _kernel_forward(self, backend, x, h0, c0, w):
        """One layer, one direction: (out, (h_n, c_n or None), ctx)."""
        if self._op == "lstm":
            out, (hn, cn), ctx = kernel(backend, "lstm_forward")(x, h0, c0, *w)
            return out, hn, cn, ctx
        if self._op == "gru":
            out, hn, ctx = kernel(backend, "gru_forward")(x, h0, *w)
        else:
            out, hn, ctx = kernel(backend, "rnn_forward")(x, h0, *w, nonlinearity=self.nonlinearity)
        return out, hn, None, ctx

    # -- forward / backward -------------------------------------------------------------------
    def forward(self, x, state=None):
        """x (T, N, input_size) ((N, T, input_size) with batch_first, or unbatched (T,
        input_size)), float32/float64 of the layer's dtype; state: None (zeros), h_0
        (num_layers * num_directions, N, hidden_size) (unbatched: without N), or (h_0, c_0) for
        LSTM. Returns (out, state): out (T, N, num_directions * hidden_size) (batch_first: (N, T,
        ...), unbatched: (T, ...)), state h_n (or (h_n, c_n)) of h_0's shape."""
        name = type(self).__name__
        _check_float_input(name, x)
        w0 = self.weight_ih_l0.data
        if x.dtype != w0.dtype:
            raise TypeError(f"{self!r} has {w0.dtype} weights but got an input of dtype {x.dtype}; "
                            f"convert the input (x.astype(np.{w0.dtype})) or the model "
                            f"(model.to(np.{x.dtype})) - nothing is converted silently")
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, T, D)" if self.batch_first else "(T, N, D)"
            raise ValueError(f"{self!r} expects input of shape {layout} or (T, D) with D = "
                             f"input_size = {self.input_size}, got {x.shape}")
        unbatched = x.ndim == 2
        if unbatched:
            xt = x[:, None]
        elif self.batch_first:
            xt = np.ascontiguousarray(x.transpose(1, 0, 2))
        else:
            xt = x
        T, N = xt.shape[0], xt.shape[1]
        if T == 0:
            raise ValueError(f"{self!r} got an empty sequence (input shape {x.shape})")
        if self._cell_state:
            if state is None:
                h0 = c0 = None
            else:
                if not isinstance(state, (tuple, list)) or len(state) != 2:
                    raise TypeError(f"{name} state must be None or a tuple (h_0, c_0), got "
                                    f"{type(state).__name__}")
                h0 = self._check_state(state[0], "h_0", x.dtype, N, unbatched)
                c0 = self._check_state(state[1], "c_0", x.dtype, N, unbatched)
        else:
            h0 = self._check_state(state, "h_0", x.dtype, N, unbatched)
            c0 = None
        backend = get_backend()
        dirs = 2 if self.bidirectional else 1
        training_dropout = self.training and self.dropout > 0.0
        layer_ctxs, hns, cns = [], [], []
        inp = xt
        for k in range(self.num_layers):
            outs, ctxs = [], []
            for d in range(dirs):
                i = k * dirs + d
                w = [p.data if p is not None else None for p in self._params(k, "_reverse" if d else "")]
                h_i = h0[i] if h0 is not None else None
                c_i = c0[i] if c0 is not None else None
                seq = inp if d == 0 else inp[::-1]
                out, hn, cn, ctx = self._kernel_forward(backend, seq, h_i, c_i, w)
                outs.append(out if d == 0 else out[::-1])
                ctxs.append(ctx)
                hns.append(hn)
                cns.append(cn)
            y = outs[0] if dirs == 1 else np.concatenate(outs, axis=2)
            drop_ctx = None
            if training_dropout and k < self.num_layers - 1:
                y, drop_ctx = kernel(backend, "dropout_forward")(y, self.dropout, training=True,
                                                                 rng=self.rng)
            layer_ctxs.append((ctxs, drop_ctx))
            inp = y
        d_ = self.__dict__
        d_["_ctx"], d_["_backend"], d_["_lead"] = layer_ctxs, backend, (unbatched, T, N)
        h_n = np.stack(hns)
        if unbatched:
            out = inp[:, 0]
            h_n = h_n[:, 0]
        elif self.batch_first:
            out = np.ascontiguousarray(inp.transpose(1, 0, 2))
        else:
            out = inp
        if self._cell_state:
            c_n = np.stack(cns)
            return out, (h_n, c_n[:, 0] if unbatched else c_n)
        return out, h_n

    def _check_grad(self, g, what, shape, dtype):
        if g is None:
            return None
        _check_float_input(type(self).__name__, g, what)
        if g.dtype != dtype:
            raise TypeError(f"{self!r}: {what} has dtype {g.dtype} but the forward ran in {dtype}")
        if g.shape != shape:
            raise ValueError(f"{self!r}: {what} must have shape {shape}, got {g.shape}")
        return g

    def backward(self, dout, dstate=None):
        """dout (the forward output's shape, or None for zeros), dstate: the gradient of the final
        state (h_n's shape, (dh_n, dc_n) for LSTM, either may be None) or None -> dx (the input's
        shape). Adds into every parameter's grad. The initial state's gradient is kept in
        ``self.dstate0`` (h_0's shape, or (dh_0, dc_0) for LSTM)."""
        layer_ctxs, backend = self._saved()
        unbatched, T, N = self.__dict__["_lead"]
        dtype = self.weight_ih_l0.data.dtype
        dirs = 2 if self.bidirectional else 1
        H = self.hidden_size
        if unbatched:
            out_shape = (T, dirs * H)
        elif self.batch_first:
            out_shape = (N, T, dirs * H)
        else:
            out_shape = (T, N, dirs * H)
        dout = self._check_grad(dout, "dout", out_shape, dtype)
        if dout is None:
            dout = np.zeros((T, N, dirs * H), dtype)
        elif unbatched:
            dout = dout[:, None]
        elif self.batch_first:
            dout = dout.transpose(1, 0, 2)
        sshape = self._state_shape(N, unbatched)
        if self._cell_state:
            if dstate is None:
                dh, dc = None, None
            else:
                if not isinstance(dstate, (tuple, list)) or len(dstate) != 2:
                    raise TypeError(f"{type(self).__name__} dstate must be None or a tuple "
                                    f"(dh_n, dc_n), got {type(dstate).__name__}")
                dh = self._check_grad(dstate[0], "dh_n", sshape, dtype)
                dc = self._check_grad(dstate[1], "dc_n", sshape, dtype)
        else:
            dh, dc = self._check_grad(dstate, "dh_n", sshape, dtype), None
        if unbatched:
            dh = dh[:, None] if dh is not None else None
            dc = dc[:, None] if dc is not None else None
        L = self.num_layers * dirs
        dh0 = np.zeros((L, N, H), dtype)
        dc0 = np.zeros((L, N, H), dtype) if self._cell_state else None
        bwd = kernel(backend, self._op + "_backward")
        dy = dout                                   # gradient of layer k's output (T, N, dirs*H)
        for k in range(self.num_layers - 1, -1, -1):
            ctxs, drop_ctx = layer_ctxs[k]
            if drop_ctx is not None:
                dy = backend.dropout_backward(np.ascontiguousarray(dy), drop_ctx)
            dx = None
            for d in range(dirs):
                i = k * dirs + d
                g = dy[:, :, d * H:(d + 1) * H] if dirs > 1 else dy
                if d == 1:
                    g = g[::-1]
                g = np.ascontiguousarray(g)
                if self._cell_state:
                    ds = (dh[i] if dh is not None else None, dc[i] if dc is not None else None)
                    dxi, dh0[i], dc0[i], *pg = bwd(g, ctxs[d], ds)
                else:
                    dxi, dh0[i], *pg = bwd(g, ctxs[d], dh[i] if dh is not None else None)
                for p, gp in zip(self._params(k, "_reverse" if d else ""), pg):
                    if p is not None:
                        p.accumulate_grad(gp)
                if d == 1:
                    dxi = dxi[::-1]
                dx = dxi if dx is None else dx + dxi
            dy = dx
        if unbatched:
            dh0, dc0 = dh0[:, 0], (dc0[:, 0] if dc0 is not None else None)
            dx = dy[:, 0]
        elif self.batch_first:
            dx = np.ascontiguousarray(dy.transpose(1, 0, 2))
        else:
            dx = np.ascontiguousarray(dy)
        self.__dict__["dstate0"] = (dh0, dc0) if self._cell_state else dh0
        return dx

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_RNNBase):
    """Multi-layer Elman RNN as torch.nn.RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T +
    b_hh)`` with act tanh or relu.

    input_size, hidden_size, num_layers: ints; nonlinearity "tanh" or "relu"; bias, batch_first,
    bidirectional: bools; dropout: probability of inverted dropout on every layer's output except
    the last, in training; dtype np.float32 (default) or np.float64; rng: a numpy Generator or
    int seed (default: the global generator, see fastnn.manual_seed). Parameters
    weight_ih_l{k} (H, D_k), weight_hh_l{k} (H, H), bias_ih_l{k}, bias_hh_l{k} (H,) (and the
    _reverse ones when bidirectional; D_0 = input_size, D_k = num_directions * H), all
    U(-1/sqrt(H), 1/sqrt(H)). forward(x, h_0=None) -> (out, h_n); see _RNNBase.forward.
    """
    _gates, _op = 1, "rnn"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=np.float32, rng=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, dtype, rng)
        self.nonlinearity = nonlinearity      # (torch's repr does not show it either)


class LSTM(_RNNBase):
    """Multi-layer LSTM as torch.nn.LSTM (gates i, f, g, o): the arguments of RNN without
    nonlinearity; proj_size must be 0 (NotImplementedError otherwise). Parameters as RNN's with
    4H rows. forward(x, (h_0, c_0)=None) -> (out, (h_n, c_n))."""
    _gates, _op, _cell_state = 4, "lstm", True


class GRU(_RNNBase):
    """Multi-layer GRU as torch.nn.GRU (gates r, z, n): the arguments of RNN without
    nonlinearity. Parameters as RNN's with 3H rows. forward(x, h_0=None) -> (out, h_n)."""
    _gates, _op = 3, "gru"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, dtype, rng)


class Embedding(Module):
    """Lookup table as torch.nn.Embedding: indices (any shape, int64) -> (*indices.shape,
    embedding_dim).

    num_embeddings, embedding_dim: ints; padding_idx: None or an int in [-num_embeddings,
    num_embeddings) (stored normalised, as torch): that row starts at zero and gets no gradient;
    dtype np.float32 (default) or np.float64; rng: a numpy Generator or int seed. weight
    (num_embeddings, embedding_dim) ~ N(0, 1). max_norm, scale_grad_by_freq and sparse are not
    supported (NotImplementedError). backward(dout) adds into weight.grad and returns None (the
    indices are not differentiable).
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, dtype=np.float32, rng=None):
        super().__init__()
        self.num_embeddings = _int(num_embeddings, "Embedding num_embeddings", 1)
        self.embedding_dim = _int(embedding_dim, "Embedding embedding_dim", 1)
        V = self.num_embeddings
        if padding_idx is not None:
            padding_idx = _int(padding_idx, "Embedding padding_idx", -V)
            if padding_idx >= V:
                raise ValueError(f"Embedding padding_idx must be in [-{V}, {V}), got {padding_idx}")
            padding_idx = padding_idx + V if padding_idx < 0 else padding_idx
        self.padding_idx = padding_idx
        if max_norm is not None:
            raise NotImplementedError("Embedding max_norm is not supported")
        if scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding scale_grad_by_freq and sparse are not supported")
        self.max_norm, self.norm_type = None, float(norm_type)
        self.scale_grad_by_freq, self.sparse = False, False
        dtype = _float_dtype(dtype, "Embedding")
        gen = init.new_generator(rng) if rng is not None else init.default_generator()
        self.weight = Parameter(np.empty((V, self.embedding_dim), dtype))
        init.normal_(self.weight, 0.0, 1.0, rng=gen)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, indices):
        if not isinstance(indices, np.ndarray):
            raise TypeError(f"{self!r} expects a numpy.ndarray of int64 indices, got "
                            f"{type(indices).__name__}")
        backend = get_backend()
        y, ctx = kernel(backend, "embedding_forward")(indices, self.weight.data, self.padding_idx)
        self._save(ctx, backend)
        return y

    def backward(self, dout):
        """dout (*indices.shape, embedding_dim) -> None; adds into weight.grad."""
        ctx, backend = self._saved()
        self.weight.accumulate_grad(backend.embedding_backward(dout, ctx))
        return None

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
