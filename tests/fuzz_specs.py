"""Valid-call generators for the mutation fuzzer (tests/fuzz_kernels.py).

SPECS maps every public name of fastnn.functional to a function ``gen(rng, dtype)`` that returns a
VALID call on random small shapes (N = 1 and odd sizes included) with random options:

* a forward / step / im2col / col2im spec returns ``Call(name, kwargs)``;
* a backward spec returns ``Call(name, kwargs, forward=Call(...))`` whose kwargs hold the CTX
  marker where the forward's ctx goes (the fuzzer runs that forward on the backend under test
  and puts its ctx there).

Every argument is passed by keyword (the compiled and reference signatures are the same, and a
keyword call also checks that). INPLACE names the arguments each function documents as updated
in place (optimizer state, batch-norm running statistics); every other input array must be left
untouched.
"""
import numpy as np


class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


CTX = _Marker("CTX")          # "the ctx of the forward call", filled in per backend


class Call:
    """One call: ``name(**kwargs)``; for a backward, the forward call that makes its ctx."""
    __slots__ = ("name", "kwargs", "forward")

    def __init__(self, name, kwargs, forward=None):
        self.name, self.kwargs, self.forward = name, kwargs, forward


# arguments that a function updates in place (by design); all other inputs must stay unchanged
INPLACE = {
    "sgd_step": {"param", "momentum_buf"},
    "adagrad_step": {"param", "state_sum"},
    "rmsprop_step": {"param", "square_avg", "momentum_buf", "grad_avg"},
    "adam_step": {"param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    "adamw_step": {"param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    "batch_norm_forward": {"running_mean", "running_var"},
}

# kernels whose float32 results go through fastnn's own exp/log/erf polynomials (or long
# recurrences of them) and so get conftest's "approx32" budget
APPROX = {"sigmoid", "tanh", "gelu", "softmax", "log_softmax", "cross_entropy", "nll_loss",
          "rnn", "lstm", "gru", "temporal_cross_entropy", "linear", "conv2d", "batch_norm",
          "layer_norm", "adam", "adamw", "rmsprop", "adagrad", "sgd", "dropout"}


# ---------------------------------------------------------------------------------- helpers

def dim(rng, lo=1):
    """A small size with N = 1 and odd sizes well represented."""
    return int(rng.choice([v for v in (1, 1, 2, 3, 4, 5, 7) if v >= lo]))


def arr(rng, shape, dt):
    return np.asarray(rng.standard_normal(shape), dtype=dt)      # an ndarray, also for shape ()


def pos(rng, shape, dt):
    return np.asarray(np.abs(rng.standard_normal(shape)) + 0.1, dtype=dt)


def maybe(rng, value, p=0.5):
    return value if rng.random() < p else None


def pick(rng, values):
    return values[int(rng.integers(len(values)))]


def rand_shape(rng, lo_rank=0, hi_rank=4):
    return tuple(dim(rng) for _ in range(int(rng.integers(lo_rank, hi_rank + 1))))


def fwd_of(name):
    return name[: -len("_backward")] + "_forward"


# ------------------------------------------------------------------------- per-family specs

def _linear_forward(rng, dt):
    n, i, o = dim(rng), dim(rng), dim(rng)
    return Call("linear_forward", dict(x=arr(rng, (n, i), dt), weight=arr(rng, (o, i), dt),
                                       bias=maybe(rng, arr(rng, (o,), dt), 0.7),
                                       activation=pick(rng, [None, "relu", "sigmoid", "tanh"])))


def _linear_backward(rng, dt):
    f = _linear_forward(rng, dt)
    kw = dict(dy=arr(rng, (f.kwargs["x"].shape[0], f.kwargs["weight"].shape[0]), dt), ctx=CTX)
    if rng.random() < 0.3:
        kw["input_grad"] = bool(rng.random() < 0.5)
    return Call("linear_backward", kw, f)


def _elementwise(op, extra=None):
    def forward(rng, dt):
        kw = dict(x=arr(rng, rand_shape(rng), dt))
        if extra:
            kw.update(extra(rng))
        return Call(op + "_forward", kw)

    def backward(rng, dt):
        f = forward(rng, dt)
        return Call(op + "_backward", dict(dy=arr(rng, f.kwargs["x"].shape, dt), ctx=CTX), f)
    return forward, backward


def _softmax(op):
    def forward(rng, dt):
        x = arr(rng, rand_shape(rng), dt)
        lim = max(x.ndim, 1)
        return Call(op + "_forward", dict(x=x, axis=int(rng.integers(-lim, lim))))

    def backward(rng, dt):
        f = forward(rng, dt)
        return Call(op + "_backward", dict(dy=arr(rng, f.kwargs["x"].shape, dt), ctx=CTX), f)
    return forward, backward


def _targets(rng, n, c, ignore_index):
    t = rng.integers(0, c, size=n).astype(np.int64)
    if n and rng.random() < 0.3:
        t[int(rng.integers(n))] = ignore_index
    return t


def _dloss(rng, dt, reduction, n_shape):
    if reduction == "none":
        return arr(rng, n_shape, dt)
    return pick(rng, [float(rng.standard_normal()), np.array(rng.standard_normal(), dt), 1, 1.0])


def _class_loss(op):
    def forward(rng, dt):
        n, c = dim(rng), dim(rng)
        ignore = pick(rng, [-100, -1, 0, c - 1])
        kw = dict(reduction=pick(rng, ["mean", "sum", "none"]), ignore_index=ignore)
        if op == "cross_entropy" and rng.random() < 0.3:   # probability targets
            p = rng.random((n, c)).astype(dt)
            target = p / p.sum(axis=1, keepdims=True)
        else:
            target = _targets(rng, n, c, ignore)
        x = arr(rng, (n, c), dt)
        if op == "nll_loss":
            x = (x - np.log(np.exp(x.astype(np.float64)).sum(axis=1, keepdims=True))).astype(dt)
            kw = dict(logp=x, target=target, **kw)
        else:
            kw = dict(logits=x, target=target, **kw)
        return Call(op + "_forward", kw)

    def backward(rng, dt):
        f = forward(rng, dt)
        x = f.kwargs.get("logits", f.kwargs.get("logp"))
        return Call(op + "_backward", dict(dloss=_dloss(rng, dt, f.kwargs["reduction"], (x.shape[0],)),
                                           ctx=CTX), f)
    return forward, backward


def _pointwise_loss(op):
    def forward(rng, dt):
        shape = rand_shape(rng)
        return Call(op + "_forward", dict(pred=arr(rng, shape, dt), target=arr(rng, shape, dt),
                                          reduction=pick(rng, ["mean", "sum", "none"])))

    def backward(rng, dt):
        f = forward(rng, dt)
        return Call(op + "_backward", dict(dloss=_dloss(rng, dt, f.kwargs["reduction"],
                                                        f.kwargs["pred"].shape), ctx=CTX), f)
    return forward, backward


def _dropout_forward(rng, dt):
    return Call("dropout_forward", dict(x=arr(rng, rand_shape(rng), dt),
                                        p=pick(rng, [0.0, 0.1, 0.5, 0.9, 1.0, float(rng.random())]),
                                        training=bool(rng.random() < 0.8),
                                        rng=int(rng.integers(0, 2**32))))


def _dropout_backward(rng, dt):
    f = _dropout_forward(rng, dt)
    return Call("dropout_backward", dict(dy=arr(rng, f.kwargs["x"].shape, dt), ctx=CTX), f)


# optimizers: param and grad of one random shape; state buffers valid for the formulas

def _opt_common(rng, dt):
    shape = rand_shape(rng, 0, 3)
    return shape, dict(param=arr(rng, shape, dt), grad=arr(rng, shape, dt))


def _sgd_step(rng, dt):
    shape, kw = _opt_common(rng, dt)
    momentum = pick(rng, [0.0, 0.0, 0.9, 0.5])
    dampening = pick(rng, [0.0, 0.0, 0.1]) if momentum else 0.0
    kw.update(momentum_buf=arr(rng, shape, dt) if momentum or rng.random() < 0.3 else None,
              lr=pick(rng, [0.1, 0.01, 0.0]), momentum=momentum, dampening=dampening,
              nesterov=bool(momentum and not dampening and rng.random() < 0.5),
              weight_decay=pick(rng, [0.0, 0.01]), maximize=bool(rng.random() < 0.3),
              first_step=bool(rng.random() < 0.3))
    return Call("sgd_step", kw)


def _adagrad_step(rng, dt):
    shape, kw = _opt_common(rng, dt)
    kw.update(state_sum=pos(rng, shape, dt), step=int(rng.integers(1, 5)), lr=0.01,
              lr_decay=pick(rng, [0.0, 0.1]), weight_decay=pick(rng, [0.0, 0.01]),
              eps=1e-10, maximize=bool(rng.random() < 0.3))
    return Call("adagrad_step", kw)


def _rmsprop_step(rng, dt):
    shape, kw = _opt_common(rng, dt)
    momentum = pick(rng, [0.0, 0.9])
    centered = bool(rng.random() < 0.4)
    ga = arr(rng, shape, dt)
    kw.update(square_avg=np.asarray(ga.astype(np.float64) ** 2 + pos(rng, shape, np.float64), dtype=dt),
              momentum_buf=arr(rng, shape, dt) if momentum else None,
              grad_avg=ga if centered else None, lr=0.01, alpha=pick(rng, [0.99, 0.9]),
              eps=1e-8, weight_decay=pick(rng, [0.0, 0.01]), momentum=momentum,
              centered=centered, maximize=bool(rng.random() < 0.3))
    return Call("rmsprop_step", kw)


def _adam(name):
    def gen(rng, dt):
        shape, kw = _opt_common(rng, dt)
        amsgrad = bool(rng.random() < 0.3)
        v = pos(rng, shape, dt)
        kw.update(exp_avg=arr(rng, shape, dt), exp_avg_sq=v, step=int(rng.integers(1, 5)),
                  lr=1e-3, beta1=pick(rng, [0.9, 0.0, 0.5]), beta2=pick(rng, [0.999, 0.9]),
                  eps=1e-8, weight_decay=pick(rng, [0.0, 0.01]), amsgrad=amsgrad,
                  max_exp_avg_sq=np.asarray(v + pos(rng, shape, dt)) if amsgrad else None,
                  maximize=bool(rng.random() < 0.3))
        return Call(name, kw)
    return gen


# conv / pool: options chosen first, then an input big enough for them

def _conv_opts(rng):
    k = (dim(rng), dim(rng)) if rng.random() < 0.3 else (dim(rng),) * 2
    s = pick(rng, [1, 1, 2, 3, (1, 2)])
    p = pick(rng, [0, 0, 1, (1, 0), 2])
    d = pick(rng, [1, 1, 2, (2, 1)])
    return k, s, p, d


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _image_hw(rng, k, p, d):
    (kh, kw), (ph, pw), (dh, dw) = _pair(k), _pair(p), _pair(d)
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + int(rng.integers(0, 4))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + int(rng.integers(0, 4))
    return h, w


def _im2col(rng, dt):
    k, s, p, d = _conv_opts(rng)
    h, w = _image_hw(rng, k, p, d)
    return Call("im2col", dict(x=arr(rng, (dim(rng), dim(rng), h, w), dt), kernel_size=k,
                               stride=s, padding=p, dilation=d))


def _col2im(rng, dt):
    k, s, p, d = _conv_opts(rng)
    h, w = _image_hw(rng, k, p, d)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _pair(k), _pair(s), _pair(p), _pair(d)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    return Call("col2im", dict(cols=arr(rng, (dim(rng), dim(rng) * kh * kw, ho * wo), dt),
                               input_size=(h, w), kernel_size=k, stride=s, padding=p, dilation=d))


def _conv2d_forward(rng, dt):
    k, s, p, d = _conv_opts(rng)
    h, w = _image_hw(rng, k, p, d)
    groups = pick(rng, [1, 1, 1, 2, 3])
    c, co = groups * dim(rng), groups * dim(rng)
    kh, kw = _pair(k)
    return Call("conv2d_forward", dict(x=arr(rng, (dim(rng), c, h, w), dt),
                                       weight=arr(rng, (co, c // groups, kh, kw), dt),
                                       bias=maybe(rng, arr(rng, (co,), dt), 0.7), stride=s,
                                       padding=p, dilation=d, groups=groups,
                                       activation=pick(rng, [None, "relu"])))


def _conv2d_backward(rng, dt):
    f = _conv2d_forward(rng, dt)
    x, wt = f.kwargs["x"], f.kwargs["weight"]
    (sh, sw), (ph, pw), (dh, dw) = (_pair(f.kwargs[a]) for a in ("stride", "padding", "dilation"))
    ho = (x.shape[2] + 2 * ph - dh * (wt.shape[2] - 1) - 1) // sh + 1
    wo = (x.shape[3] + 2 * pw - dw * (wt.shape[3] - 1) - 1) // sw + 1
    kw = dict(dy=arr(rng, (x.shape[0], wt.shape[0], ho, wo), dt), ctx=CTX)
    if rng.random() < 0.3:
        kw["input_grad"] = bool(rng.random() < 0.5)
    return Call("conv2d_backward", kw, f)


def _pool(op):
    def forward(rng, dt):
        k = pick(rng, [1, 2, 3, (2, 3), (3, 1)])
        kh, kw = _pair(k)
        p = pick(rng, [0, 0, (kh // 2, kw // 2), (0, kw // 2)])
        s = pick(rng, [None, None, 1, 2, (1, 2)])
        ph, pw = _pair(p)
        h = max(1, kh - 2 * ph) + int(rng.integers(0, 4))
        w = max(1, kw - 2 * pw) + int(rng.integers(0, 4))
        kw_ = dict(x=arr(rng, (dim(rng), dim(rng), h, w), dt), kernel_size=k, stride=s, padding=p)
        if op == "avg_pool2d":
            kw_["count_include_pad"] = bool(rng.random() < 0.5)
        if rng.random() < 0.2:
            kw_["ceil_mode"] = False
        return Call(op + "_forward", kw_)

    def backward(rng, dt):
        f = forward(rng, dt)
        x = f.kwargs["x"]
        (kh, kw), (ph, pw) = _pair(f.kwargs["kernel_size"]), _pair(f.kwargs["padding"])
        sh, sw = _pair(f.kwargs["stride"] if f.kwargs["stride"] is not None else f.kwargs["kernel_size"])
        ho, wo = (x.shape[2] + 2 * ph - kh) // sh + 1, (x.shape[3] + 2 * pw - kw) // sw + 1
        return Call(op + "_backward", dict(dy=arr(rng, x.shape[:2] + (ho, wo), dt), ctx=CTX), f)
    return forward, backward


def _gap_forward(rng, dt):
    return Call("global_avg_pool2d_forward", dict(x=arr(rng, (dim(rng), dim(rng), dim(rng), dim(rng)), dt)))


def _gap_backward(rng, dt):
    f = _gap_forward(rng, dt)
    return Call("global_avg_pool2d_backward", dict(dy=arr(rng, f.kwargs["x"].shape[:2] + (1, 1), dt),
                                                   ctx=CTX), f)


def _batch_norm_forward(rng, dt):
    training = bool(rng.random() < 0.7)
    tracked = rng.random() < 0.6
    shape = (dim(rng), dim(rng)) + rand_shape(rng, 0, 2)
    if (training or not tracked) and int(np.prod(shape)) // shape[1] < 2:
        shape = (2,) + shape[1:]
    c = shape[1]
    kw = dict(x=arr(rng, shape, dt), gamma=maybe(rng, arr(rng, (c,), dt), 0.7),
              beta=maybe(rng, arr(rng, (c,), dt), 0.7),
              running_mean=arr(rng, (c,), dt) if tracked else None,
              running_var=pos(rng, (c,), dt) if tracked else None, training=training,
              momentum=pick(rng, [0.1, 0.0, 1.0, 0.5]), eps=pick(rng, [1e-5, 1e-3]))
    if tracked and training and rng.random() < 0.3:
        kw["momentum"], kw["num_batches_tracked"] = None, int(rng.integers(1, 5))
    return Call("batch_norm_forward", kw)


def _batch_norm_backward(rng, dt):
    f = _batch_norm_forward(rng, dt)
    return Call("batch_norm_backward", dict(dy=arr(rng, f.kwargs["x"].shape, dt), ctx=CTX), f)


def _layer_norm_forward(rng, dt):
    shape = rand_shape(rng, 1, 4)
    k = int(rng.integers(1, len(shape) + 1)) if rng.random() < 0.4 else 1
    shp = shape[len(shape) - k:]
    kw = dict(x=arr(rng, shape, dt), gamma=maybe(rng, arr(rng, shp, dt), 0.7),
              beta=maybe(rng, arr(rng, shp, dt), 0.7), eps=pick(rng, [1e-5, 1e-3]))
    if k > 1 or rng.random() < 0.3:
        kw["normalized_shape"] = shp if rng.random() < 0.8 or k > 1 else shp[0]
    return Call("layer_norm_forward", kw)


def _layer_norm_backward(rng, dt):
    f = _layer_norm_forward(rng, dt)
    return Call("layer_norm_backward", dict(dy=arr(rng, f.kwargs["x"].shape, dt), ctx=CTX), f)


def _recurrent(op, gates):
    def forward(rng, dt):
        t, n, d, h = dim(rng), dim(rng), dim(rng), dim(rng)
        s = 0.5
        kw = dict(x=arr(rng, (t, n, d), dt), h0=maybe(rng, arr(rng, (n, h), dt), 0.7))
        if op == "lstm":
            kw["c0"] = maybe(rng, arr(rng, (n, h), dt), 0.7)
        kw.update(weight_ih=(s * arr(rng, (gates * h, d), dt)).astype(dt),
                  weight_hh=(s * arr(rng, (gates * h, h), dt)).astype(dt),
                  bias_ih=maybe(rng, arr(rng, (gates * h,), dt), 0.7),
                  bias_hh=maybe(rng, arr(rng, (gates * h,), dt), 0.7))
        if op == "rnn":
            kw["nonlinearity"] = pick(rng, ["tanh", "relu"])
        return Call(op + "_forward", kw)

    def backward(rng, dt):
        f = forward(rng, dt)
        t, n, _ = f.kwargs["x"].shape
        h = f.kwargs["weight_hh"].shape[1]
        kw = dict(dout=maybe(rng, arr(rng, (t, n, h), dt), 0.8), ctx=CTX)
        if op == "lstm":
            if rng.random() < 0.6:
                kw["dstate"] = (maybe(rng, arr(rng, (n, h), dt), 0.7), maybe(rng, arr(rng, (n, h), dt), 0.7))
        elif rng.random() < 0.6:
            kw["dstate"] = arr(rng, (n, h), dt)
        if op == "rnn" and rng.random() < 0.4:
            kw["truncate"] = int(rng.integers(0, 4))
        return Call(op + "_backward", kw, f)
    return forward, backward


def _tce_forward(rng, dt):
    t, n, v = dim(rng), dim(rng), dim(rng)
    kind = int(rng.integers(3))
    mask = None if kind == 0 else (rng.random((t, n)) < 0.7) if kind == 1 else rng.random((t, n)).astype(dt)
    return Call("temporal_cross_entropy_forward", dict(logits=arr(rng, (t, n, v), dt),
                                                       target=rng.integers(0, v, (t, n)).astype(np.int64),
                                                       mask=mask))


def _tce_backward(rng, dt):
    f = _tce_forward(rng, dt)
    return Call("temporal_cross_entropy_backward", dict(dloss=_dloss(rng, dt, "mean", ()), ctx=CTX), f)


def _embedding_forward(rng, dt):
    v, e = dim(rng), dim(rng)
    idx = rng.integers(0, v, rand_shape(rng, 0, 3)).astype(np.int64)
    return Call("embedding_forward", dict(indices=idx, weight=arr(rng, (v, e), dt),
                                          padding_idx=maybe(rng, int(rng.integers(-v, v)), 0.4)))


def _embedding_backward(rng, dt):
    f = _embedding_forward(rng, dt)
    shape = f.kwargs["indices"].shape + (f.kwargs["weight"].shape[1],)
    return Call("embedding_backward", dict(dout=arr(rng, shape, dt), ctx=CTX), f)


SPECS = {
    "linear_forward": _linear_forward, "linear_backward": _linear_backward,
    "dropout_forward": _dropout_forward, "dropout_backward": _dropout_backward,
    "sgd_step": _sgd_step, "adagrad_step": _adagrad_step, "rmsprop_step": _rmsprop_step,
    "adam_step": _adam("adam_step"), "adamw_step": _adam("adamw_step"),
    "im2col": _im2col, "col2im": _col2im,
    "conv2d_forward": _conv2d_forward, "conv2d_backward": _conv2d_backward,
    "global_avg_pool2d_forward": _gap_forward, "global_avg_pool2d_backward": _gap_backward,
    "batch_norm_forward": _batch_norm_forward, "batch_norm_backward": _batch_norm_backward,
    "layer_norm_forward": _layer_norm_forward, "layer_norm_backward": _layer_norm_backward,
    "temporal_cross_entropy_forward": _tce_forward, "temporal_cross_entropy_backward": _tce_backward,
    "embedding_forward": _embedding_forward, "embedding_backward": _embedding_backward,
}
for _op in ("relu", "sigmoid", "tanh", "sign", "gelu"):
    SPECS[_op + "_forward"], SPECS[_op + "_backward"] = _elementwise(_op)
SPECS["leaky_relu_forward"], SPECS["leaky_relu_backward"] = _elementwise(
    "leaky_relu", lambda rng: {"negative_slope": pick(rng, [0.01, 0.2, -0.5, 0.0])} if rng.random() < 0.7 else {})
for _op in ("softmax", "log_softmax"):
    SPECS[_op + "_forward"], SPECS[_op + "_backward"] = _softmax(_op)
for _op in ("cross_entropy", "nll_loss"):
    SPECS[_op + "_forward"], SPECS[_op + "_backward"] = _class_loss(_op)
for _op in ("mse_loss", "l1_loss"):
    SPECS[_op + "_forward"], SPECS[_op + "_backward"] = _pointwise_loss(_op)
for _op in ("max_pool2d", "avg_pool2d"):
    SPECS[_op + "_forward"], SPECS[_op + "_backward"] = _pool(_op)
for _op, _g in (("rnn", 1), ("lstm", 4), ("gru", 3)):
    SPECS[_op + "_forward"], SPECS[_op + "_backward"] = _recurrent(_op, _g)


# ------------------------------------------------------------------------------ fastnn.nn
# NN_SPECS[class name](rng, dtype) -> (constructor kwargs, forward args): a valid layer and a
# valid input. Layers get an int rng seed so that the compiled and reference twins start equal.

def _seed(rng):
    return int(rng.integers(2**31))


def _nn_linear(rng, dt):
    i, o = dim(rng), dim(rng)
    lead = pick(rng, [(dim(rng),), (dim(rng),), (dim(rng), dim(rng)), ()])
    return dict(in_features=i, out_features=o, bias=bool(rng.random() < 0.7), dtype=dt,
                rng=_seed(rng)), [arr(rng, lead + (i,), dt)]


def _nn_any(extra=None):
    def gen(rng, dt):
        return (extra(rng) if extra else {}), [arr(rng, rand_shape(rng), dt)]
    return gen


def _nn_softmax(rng, dt):
    x = arr(rng, rand_shape(rng, 1, 4), dt)
    return dict(dim=int(rng.integers(-x.ndim, x.ndim))), [x]


def _nn_flatten(rng, dt):
    x = arr(rng, rand_shape(rng, 2, 4), dt)
    s = int(rng.integers(0, x.ndim))
    return dict(start_dim=s, end_dim=int(rng.integers(s, x.ndim))), [x]


def _image(rng, dt, c, h, w):
    shape = (c, h, w) if rng.random() < 0.2 else (dim(rng), c, h, w)
    return arr(rng, shape, dt)


def _nn_conv(rng, dt):
    k, s, p, d = _conv_opts(rng)
    h, w = _image_hw(rng, k, p, d)
    g = pick(rng, [1, 1, 2])
    c, co = g * dim(rng), g * dim(rng)
    return dict(in_channels=c, out_channels=co, kernel_size=k, stride=s, padding=p, dilation=d,
                groups=g, bias=bool(rng.random() < 0.7), dtype=dt, rng=_seed(rng)), [_image(rng, dt, c, h, w)]


def _nn_pool(avg):
    def gen(rng, dt):
        k = pick(rng, [1, 2, 3, (2, 3)])
        kh, kw = _pair(k)
        p = pick(rng, [0, (kh // 2, kw // 2)])
        s = pick(rng, [None, 1, 2])
        ph, pw = _pair(p)
        h, w = max(1, kh - 2 * ph) + int(rng.integers(0, 3)), max(1, kw - 2 * pw) + int(rng.integers(0, 3))
        kw_ = dict(kernel_size=k, stride=s, padding=p)
        if avg:
            kw_["count_include_pad"] = bool(rng.random() < 0.5)
        return kw_, [_image(rng, dt, dim(rng), h, w)]
    return gen


def _nn_gap(adaptive):
    def gen(rng, dt):
        return (dict(output_size=pick(rng, [1, (1, 1)])) if adaptive else {}), \
            [_image(rng, dt, dim(rng), dim(rng), dim(rng))]
    return gen


def _nn_bn(rank):
    def gen(rng, dt):
        c = dim(rng)
        shape = (dim(rng, 2), c) + tuple(dim(rng) for _ in range(rank - 2))
        return dict(num_features=c, eps=1e-5, momentum=pick(rng, [0.1, None, 0.5]),
                    affine=bool(rng.random() < 0.7), track_running_stats=bool(rng.random() < 0.7),
                    dtype=dt), [arr(rng, shape, dt)]
    return gen


def _nn_bn1d(rng, dt):
    return _nn_bn(pick(rng, [2, 3]))(rng, dt)


def _nn_layernorm(rng, dt):
    shape = rand_shape(rng, 1, 4)
    k = int(rng.integers(1, len(shape) + 1))
    ns = shape[len(shape) - k:]
    return dict(normalized_shape=ns if k > 1 or rng.random() < 0.5 else ns[0], eps=1e-5,
                elementwise_affine=bool(rng.random() < 0.7), bias=bool(rng.random() < 0.7),
                dtype=dt), [arr(rng, shape, dt)]


def _nn_loss(kind):
    def gen(rng, dt):
        kw = dict(reduction=pick(rng, ["mean", "sum", "none"]))
        if kind in ("CrossEntropyLoss", "NLLLoss"):
            n, c = dim(rng), dim(rng)
            kw["ignore_index"] = pick(rng, [-100, 0])
            return kw, [arr(rng, (n, c), dt), _targets(rng, n, c, kw["ignore_index"])]
        shape = rand_shape(rng)
        return kw, [arr(rng, shape, dt), arr(rng, shape, dt)]
    return gen


def _nn_rnn(kind):
    def gen(rng, dt):
        d, h = dim(rng), dim(rng)
        kw = dict(input_size=d, hidden_size=h, num_layers=pick(rng, [1, 1, 2]),
                  bias=bool(rng.random() < 0.7), batch_first=bool(rng.random() < 0.3),
                  dropout=pick(rng, [0.0, 0.0, 0.5]), bidirectional=bool(rng.random() < 0.3),
                  dtype=dt, rng=_seed(rng))
        if kind == "RNN":
            kw["nonlinearity"] = pick(rng, ["tanh", "relu"])
        t, n = dim(rng), dim(rng)
        x = arr(rng, (t, d) if rng.random() < 0.2 else ((n, t, d) if kw["batch_first"] else (t, n, d)), dt)
        return kw, [x]
    return gen


def _nn_embedding(rng, dt):
    v, e = dim(rng), dim(rng)
    return dict(num_embeddings=v, embedding_dim=e, padding_idx=maybe(rng, int(rng.integers(-v, v)), 0.3),
                dtype=dt, rng=_seed(rng)), [rng.integers(0, v, rand_shape(rng, 0, 3)).astype(np.int64)]


NN_SPECS = {
    "Linear": _nn_linear, "Identity": _nn_any(), "ReLU": _nn_any(), "Sigmoid": _nn_any(),
    "Tanh": _nn_any(), "GELU": _nn_any(), "Sign": _nn_any(),
    "LeakyReLU": _nn_any(lambda rng: dict(negative_slope=pick(rng, [0.01, 0.3, -1.0]))),
    "Softmax": _nn_softmax, "LogSoftmax": _nn_softmax,
    "Dropout": _nn_any(lambda rng: dict(p=pick(rng, [0.0, 0.3, 0.5, 1.0]), rng=_seed(rng))),
    "Flatten": _nn_flatten, "Conv2d": _nn_conv, "MaxPool2d": _nn_pool(False),
    "AvgPool2d": _nn_pool(True), "GlobalAvgPool2d": _nn_gap(False),
    "AdaptiveAvgPool2d": _nn_gap(True), "BatchNorm1d": _nn_bn1d, "BatchNorm2d": _nn_bn(4),
    "LayerNorm": _nn_layernorm, "CrossEntropyLoss": _nn_loss("CrossEntropyLoss"),
    "NLLLoss": _nn_loss("NLLLoss"), "MSELoss": _nn_loss("MSELoss"), "L1Loss": _nn_loss("L1Loss"),
    "RNN": _nn_rnn("RNN"), "LSTM": _nn_rnn("LSTM"), "GRU": _nn_rnn("GRU"),
    "Embedding": _nn_embedding,
}
# public names of fastnn.nn that are not layers to construct and run, with the reason
NN_NOT_LAYERS = {
    "Module": "abstract base class: its forward/backward raise NotImplementedError by design",
    "StateDictError": "an exception type", "IncompatibleKeys": "a namedtuple of key lists",
    "init": "the initialiser module: exercised through every layer constructor",
    "Parameter": "fuzzed directly (Parameter(data) with mutated data)",
    "Sequential": "fuzzed as Sequential(Linear, act, Linear) below",
    "manual_seed": "fuzzed directly with bad seeds",
}

# ------------------------------------------------------------------------------ fastnn.optim
# OPTIM_SPECS[class name](rng) -> constructor hyperparameters (valid)
OPTIM_SPECS = {
    "SGD": lambda rng: dict(lr=0.1, momentum=pick(rng, [0, 0.9]), weight_decay=pick(rng, [0, 0.01]),
                            maximize=bool(rng.random() < 0.2)),
    "Adagrad": lambda rng: dict(lr=0.01, lr_decay=pick(rng, [0, 0.1]),
                                initial_accumulator_value=pick(rng, [0, 0.1]), weight_decay=0.0),
    "RMSprop": lambda rng: dict(lr=0.01, alpha=0.99, momentum=pick(rng, [0, 0.9]),
                                centered=bool(rng.random() < 0.4)),
    "Adam": lambda rng: dict(lr=1e-3, betas=(0.9, 0.999), amsgrad=bool(rng.random() < 0.3),
                             weight_decay=pick(rng, [0, 0.01])),
    "AdamW": lambda rng: dict(lr=1e-3, betas=(0.8, 0.99), amsgrad=bool(rng.random() < 0.3)),
}
OPTIM_NOT_OPTIMIZERS = {"Optimizer": "abstract base class (no update rule)"}
