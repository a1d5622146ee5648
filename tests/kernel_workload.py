"""A small workload that calls every compiled kernel: forward + backward (step for optim) on
tiny arrays, and a few calls that must raise. Shared by the memory checks, which run it many
times: tests/test_leaks.py (RSS stays flat over 100,000 calls per family) and
tests/memcheck_run.py (.ci/valgrind.sh runs it under valgrind memcheck).

    calls = family_calls(np.float32)    # {family: [zero-argument function, ...]}
    for fn in calls["conv"]: fn()       # one forward + backward of each conv kernel

Every function builds nothing but its outputs, which it returns (nested tuples of arrays, so
that tests/memcheck_run.py can read every output element): the inputs are made once here, so a
loop over these functions measures only what the kernels and their bindings allocate.
"""
import numpy as np

from fastnn import _config
import fastnn.functional as F

FAMILIES = _config.FAMILIES


def _raises(fn, *args, **kwargs):
    """A call that must raise ValueError or TypeError (an error path of a binding)."""
    def call():
        try:
            fn(*args, **kwargs)
        except (ValueError, TypeError):
            return
        raise AssertionError(f"{fn.__name__} accepted bad arguments")
    call.__name__ = f"raises_{fn.__name__}"
    return call


def family_calls(dtype, seed=0, scale=1):
    """{family: [functions]} for every family in fastnn._config.FAMILIES, arrays of ``dtype``.

    scale multiplies every batch-like axis (rows, N, parameter length): 1 gives tiny arrays
    that run on one thread; ~10,000 makes most kernels big enough to fork 2 OpenMP threads.
    """
    S = int(scale)
    rng = np.random.default_rng(seed)

    def arr(*shape):
        return rng.standard_normal(shape).astype(dtype)

    calls = {}

    # linear: x (N, D), weight (O, D)
    x, w, b, dy = arr(3 * S, 5), arr(4, 5), arr(4), arr(3 * S, 4)

    def linear():
        y, ctx = F.linear_forward(x, w, b, activation="relu")
        return (y, F.linear_backward(dy, ctx))

    def linear_nobias():
        y, ctx = F.linear_forward(x, w)
        return (y, F.linear_backward(dy, ctx, input_grad=False))
    calls["linear"] = [linear, linear_nobias,
                       _raises(F.linear_forward, x, arr(4, 6)),
                       _raises(F.linear_forward, x, w.astype(np.float64 if dtype == np.float32 else np.float32))]

    # activation: one tiny array through every activation
    a, da = arr(2 * S, 7), arr(2 * S, 7)

    def act(fwd, bwd, **kw):
        def call():
            y, ctx = fwd(a, **kw)
            return y, bwd(da, ctx)
        call.__name__ = fwd.__name__
        return call
    calls["activation"] = [act(F.relu_forward, F.relu_backward),
                           act(F.leaky_relu_forward, F.leaky_relu_backward, negative_slope=0.1),
                           act(F.sigmoid_forward, F.sigmoid_backward),
                           act(F.tanh_forward, F.tanh_backward),
                           act(F.sign_forward, F.sign_backward),
                           act(F.gelu_forward, F.gelu_backward),
                           _raises(F.relu_backward, arr(3, 3), F.relu_forward(a)[1]),
                           _raises(F.relu_forward, a.astype(np.int64))]

    # softmax: last axis and a middle axis
    s3, ds3 = arr(2 * S, 3, 4), arr(2 * S, 3, 4)

    def softmax():
        y, ctx = F.softmax_forward(s3, axis=1)
        return (y, F.softmax_backward(ds3, ctx))

    def log_softmax():
        y, ctx = F.log_softmax_forward(s3)
        return (y, F.log_softmax_backward(ds3, ctx))
    calls["softmax"] = [softmax, log_softmax, _raises(F.softmax_forward, s3, axis=3)]

    # loss
    logits, target = arr(4 * S, 5), rng.integers(0, 5, 4 * S).astype(np.int64)
    target[1] = -100
    pred, ref = arr(3 * S, 2), arr(3 * S, 2)
    one = np.ones((), dtype)

    def cross_entropy():
        loss, ctx = F.cross_entropy_forward(logits, target)
        return (loss, F.cross_entropy_backward(one, ctx))

    def nll_loss():
        loss, ctx = F.nll_loss_forward(logits, target, reduction="sum")
        return (loss, F.nll_loss_backward(one, ctx))

    def mse_l1():
        loss, ctx = F.mse_loss_forward(pred, ref)
        mse = (loss, F.mse_loss_backward(one, ctx))
        loss, ctx = F.l1_loss_forward(pred, ref, reduction="none")
        return mse, (loss, F.l1_loss_backward(np.ones_like(pred), ctx))
    bad_target = target.copy()
    bad_target[0] = 7
    calls["loss"] = [cross_entropy, nll_loss, mse_l1,
                     _raises(F.cross_entropy_forward, logits, bad_target),
                     _raises(F.mse_loss_forward, pred, arr(2, 3 * S))]

    # dropout: a fixed seed (an int: no Generator object is kept alive between calls)
    d, dd = arr(3 * S, 6), arr(3 * S, 6)

    def dropout():
        y, ctx = F.dropout_forward(d, 0.3, rng=1234)
        return (y, F.dropout_backward(dd, ctx))
    calls["dropout"] = [dropout, _raises(F.dropout_forward, d, 1.5)]

    # optim: every optimizer, one step each, state arrays reused in place (tiny lr so the
    # parameters stay finite over 100,000 steps)
    p, g = arr(11 * S), arr(11 * S) * 1e-3
    s1, s2, s3_, s4 = (np.zeros(11 * S, dtype) for _ in range(4))

    def optim():
        F.sgd_step(p, g, s1, 1e-6, momentum=0.9)
        F.adagrad_step(p, g, s2, 3, lr=1e-6)
        F.rmsprop_step(p, g, s3_, s4, None, lr=1e-6, momentum=0.5)
        F.adam_step(p, g, s1, s2, 5, lr=1e-6, amsgrad=True, max_exp_avg_sq=s4)
        F.adamw_step(p, g, s1, s2, 5, lr=1e-6)
        return p, s1, s2, s3_, s4
    calls["optim"] = [optim, _raises(F.sgd_step, p, arr(11 * S + 1), None, 0.1),
                      _raises(F.adam_step, p, g, s1, s2, 0)]

    # conv: a 3x3 conv with padding (im2col: too few channels for Winograd), a strided grouped
    # one, im2col/col2im, and the two Winograd paths (3x3, >= 16 channels each side; outputs of
    # at least 16 x 48 take F(4x4, 3x3)) at a fixed small size, whatever the scale
    cN = max(1, S // 64)   # conv costs ~1,000x more per image than the elementwise kernels
    cx, cw, cb = arr(2 * cN, 2, 5, 5), arr(3, 2, 3, 3), arr(3)
    cdy = arr(2 * cN, 3, 5, 5)
    gx, gw = arr(cN, 4, 6, 5), arr(4, 2, 2, 2)
    gdy = arr(cN, 4, 3, 2)

    def conv():
        y, ctx = F.conv2d_forward(cx, cw, cb, padding=1, activation="relu")
        return (y, F.conv2d_backward(cdy, ctx))

    def conv_grouped():
        y, ctx = F.conv2d_forward(gx, gw, stride=2, groups=2)
        return (y, F.conv2d_backward(gdy, ctx))

    def im2col():
        cols = F.im2col(cx, 3, padding=1)
        return (cols, F.col2im(cols, (5, 5), 3, padding=1))

    wino = [(arr(2, 16, h, w), arr(16, 16, 3, 3) * 0.1, arr(2, 16, h, w)) for h, w in ((6, 6), (16, 48))]

    def winograd():
        out = []
        for x, w, dy in wino:
            y, ctx = F.conv2d_forward(x, w, None, padding=1, activation="relu")
            out.append((y, F.conv2d_backward(dy, ctx)))
        return out
    calls["conv"] = [conv, conv_grouped, im2col, winograd,
                     _raises(F.conv2d_forward, cx, arr(3, 3, 3, 3)),
                     _raises(F.conv2d_forward, cx, cw, stride=0)]

    # pool
    px = arr(2 * S, 2, 5, 6)

    def pool():
        y, ctx = F.max_pool2d_forward(px, 2)
        maxp = (y, F.max_pool2d_backward(np.ones_like(y), ctx))
        y, ctx = F.avg_pool2d_forward(px, 3, stride=2, padding=1, count_include_pad=False)
        avgp = (y, F.avg_pool2d_backward(np.ones_like(y), ctx))
        y, ctx = F.global_avg_pool2d_forward(px)
        return maxp, avgp, (y, F.global_avg_pool2d_backward(np.ones_like(y), ctx))
    calls["pool"] = [pool, _raises(F.max_pool2d_forward, px, 7),
                     _raises(F.avg_pool2d_forward, px, 2, padding=2),
                     _raises(F.avg_pool2d_forward, px, 2, stride=0)]

    # norm
    nx, ndy = arr(4 * S, 3, 2), arr(4 * S, 3, 2)
    gamma, beta = arr(3), arr(3)
    rmean, rvar = np.zeros(3, dtype), np.ones(3, dtype)
    lgamma, lbeta = arr(2), arr(2)

    def batch_norm():
        y, ctx = F.batch_norm_forward(nx, gamma, beta, rmean, rvar, training=True)
        return (y, F.batch_norm_backward(ndy, ctx))

    def layer_norm():
        y, ctx = F.layer_norm_forward(nx, lgamma, lbeta)
        return (y, F.layer_norm_backward(ndy, ctx))
    calls["norm"] = [batch_norm, layer_norm, _raises(F.batch_norm_forward, arr(1, 3), gamma, beta),
                     _raises(F.layer_norm_forward, nx, arr(3), None)]

    # rnn: T=3, N=2, D=4, H=3; the vanilla RNN with truncated BPTT, LSTM, GRU, temporal CE
    T, N, D, H = 3, 2, 4, 3
    N *= S
    rx, h0, c0 = arr(T, N, D), arr(N, H), arr(N, H)
    dout = arr(T, N, H)

    def rnn():
        out, hn, ctx = F.rnn_forward(rx, h0, arr_rnn["wih"], arr_rnn["whh"], arr_rnn["b"], arr_rnn["b"])
        return (out, hn, F.rnn_backward(dout, ctx, dstate=h0, truncate=1))

    def lstm():
        out, (hn, cn), ctx = F.lstm_forward(rx, h0, c0, arr_rnn["wih4"], arr_rnn["whh4"], arr_rnn["b4"])
        return (out, (hn, cn), F.lstm_backward(dout, ctx, dstate=(h0, c0)))

    def gru():
        out, hn, ctx = F.gru_forward(rx, None, arr_rnn["wih3"], arr_rnn["whh3"], None, arr_rnn["b3"])
        return (out, hn, F.gru_backward(dout, ctx))

    tl, tt = arr(T, N, 5), rng.integers(0, 5, (T, N)).astype(np.int64)
    tmask = np.tile(np.array([[True, False], [True, True], [False, True]]), (1, S))

    def temporal_ce():
        loss, ctx = F.temporal_cross_entropy_forward(tl, tt, tmask)
        return (loss, F.temporal_cross_entropy_backward(one, ctx))
    arr_rnn = dict(wih=arr(H, D), whh=arr(H, H), b=arr(H), wih4=arr(4 * H, D), whh4=arr(4 * H, H),
                   b4=arr(4 * H), wih3=arr(3 * H, D), whh3=arr(3 * H, H), b3=arr(3 * H))
    calls["rnn"] = [rnn, lstm, gru, temporal_ce,
                    _raises(F.lstm_forward, rx, h0, c0, arr(H, D), arr(H, H)),
                    _raises(F.rnn_forward, rx, h0, arr_rnn["wih"], arr_rnn["whh"], nonlinearity="gelu")]

    # embedding
    idx = np.tile(np.array([[0, 3, 1], [2, 3, 3]], np.int64), (S, 1))
    ew, edy = arr(4, 5), arr(2 * S, 3, 5)

    def embedding():
        out, ctx = F.embedding_forward(idx, ew, padding_idx=3)
        return (out, F.embedding_backward(edy, ctx))
    calls["embedding"] = [embedding, _raises(F.embedding_forward, idx + 2, ew),
                          _raises(F.embedding_forward, idx.astype(np.int32), ew)]

    missing = set(FAMILIES) - set(calls)
    assert not missing, f"no workload for the families {sorted(missing)}: add them here"
    return calls
