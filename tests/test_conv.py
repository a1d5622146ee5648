"""conv family: im2col/col2im and conv2d, compiled vs reference, gradients, torch, bad input."""
import threading

import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch

# (N, C, H, W, C_out, kernel (kh, kw), stride, padding, dilation, groups)
CONFIGS = [
    (2, 3, 8, 8, 4, (3, 3), 1, 1, 1, 1),            # the everyday 3x3 "same" conv
    (1, 2, 7, 5, 3, (3, 2), (2, 1), (1, 0), 1, 1),   # non-square kernel, input, stride, padding
    (3, 4, 9, 6, 6, (2, 3), (1, 2), (0, 2), (2, 1), 2),  # dilation and groups
    (2, 4, 6, 6, 4, (3, 3), 2, 1, 1, 4),            # depthwise
    (2, 4, 6, 6, 8, (3, 3), 1, 1, 1, 4),            # depthwise with multiplier 2
    (3, 5, 4, 7, 6, (1, 1), 1, 0, 1, 1),            # 1x1 fast path
    (2, 6, 4, 4, 4, (1, 1), 1, 0, 1, 2),            # 1x1 with groups
    (2, 3, 5, 5, 2, (1, 1), 2, 0, 1, 1),            # 1x1 strided (no fast path)
    (2, 3, 5, 4, 2, (5, 4), 1, 0, 1, 1),            # output 1x1
    (1, 2, 3, 3, 2, (3, 3), 3, 1, 1, 1),            # output 1x1 with padding and stride
    (1, 1, 1, 1, 1, (1, 1), 1, 0, 1, 1),            # everything 1
    (5, 3, 14, 14, 7, (3, 3), 1, 1, 1, 1),          # several batch chunks per thread
    (17, 2, 3, 3, 3, (3, 3), 1, 1, 1, 1),           # tiny images, big batch (batched GEMM)
    (0, 3, 5, 5, 2, (3, 3), 1, 1, 1, 1),            # empty batch
    # 3x3 / stride 1 with >= 16 channels: the Winograd F(2x2, 3x3) forward
    (3, 16, 8, 8, 16, (3, 3), 1, 1, 1, 1),
    (2, 17, 7, 9, 20, (3, 3), 1, (2, 0), 1, 1),     # odd output sizes, uneven padding
    (4, 16, 3, 5, 16, (3, 3), 1, 0, 1, 1),          # one tile row, odd width
    (5, 24, 12, 4, 16, (3, 3), 1, 2, 1, 1),         # tile rows of several images per block
    # stride 1, no padding, small C*kH*kW, W_out >= 8: the direct (no im2col) path
    (3, 1, 28, 28, 8, (5, 5), 1, 0, 1, 1),          # LeNet's first layer
    (4, 8, 12, 12, 16, (5, 5), 1, 0, 1, 1),         # LeNet's second layer
    (3, 3, 7, 13, 10, (2, 5), 1, 0, 1, 1),          # W_out 9: overlapping last block; 10 channels
    (2, 2, 5, 10, 3, (1, 3), 1, 0, 1, 1),           # W_out 8 exactly, fewer than 8 channels
    (2, 3, 10, 12, 10, (3, 5), 1, 0, 1, 1),         # direct backward, a partial channel block
    (2, 2, 10, 10, 24, (3, 3), 1, 0, 1, 1),         # direct forward, backward by im2col (C_out > 16)
    # outputs of at least 16 x 48: Winograd F(4x4, 3x3) for the forward and the input gradient
    (2, 16, 18, 50, 16, (3, 3), 1, 1, 1, 1),        # partial last tile row and column
    (2, 17, 19, 51, 18, (3, 3), 1, 0, 1, 1),        # odd sizes, no padding (input gradient: pad 2)
    (3, 16, 16, 48, 20, (3, 3), 1, 2, 1, 1),        # padding 2; the input gradient is 16 x 48
]
IDS = [f"N{c[0]}C{c[1]}x{c[2]}x{c[3]}-{c[4]}k{c[5][0]}{c[5][1]}s{c[6]}p{c[7]}d{c[8]}g{c[9]}" for c in CONFIGS]


def conv_inputs(rng, cfg, dtype, layout="c"):
    n, c, h, w, co, (kh, kw), *_, groups = cfg
    x = make(rng, (n, c, h, w), dtype, layout)
    wt = (make(rng, (co, c // groups, kh, kw), dtype, layout) / np.sqrt(c // groups * kh * kw)).astype(dtype)
    if layout == "ro":
        wt.setflags(write=False)
    b = make(rng, (co,), dtype, layout)
    return x, wt, b


def conv_kw(cfg):
    return dict(stride=cfg[6], padding=cfg[7], dilation=cfg[8], groups=cfg[9])


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@pytest.mark.parametrize("act", [None, "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_conv_parity(rng, dtype, cfg, act, bias):
    x, w, b = conv_inputs(rng, cfg, dtype)
    b = b if bias else None
    y, ctx = F.conv2d_forward(x, w, b, activation=act, **conv_kw(cfg))
    yr, ctxr = R.conv2d_forward(x, w, b, activation=act, **conv_kw(cfg))
    assert_close(y, yr, dtype, "y")
    dy = make(rng, y.shape, dtype)
    for got, want, name in zip(F.conv2d_backward(dy, ctx), R.conv2d_backward(dy, ctxr), ("dx", "dw", "db")):
        assert_close(got, want, dtype, name)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_conv_backward_without_input_grad(rng, dtype, impl, cfg):
    # input_grad=False: dx is None, dw and db exactly those of the full call (every path:
    # batched, 1x1, Winograd, image by image, empty batch)
    x, w, b = conv_inputs(rng, cfg, dtype)
    y, ctx = impl.conv2d_forward(x, w, b, activation="relu", **conv_kw(cfg))
    dy = make(rng, y.shape, dtype)
    dx, dw, db = impl.conv2d_backward(dy, ctx, input_grad=False)
    full = impl.conv2d_backward(dy, ctx)
    assert dx is None
    np.testing.assert_array_equal(dw, full[1])
    np.testing.assert_array_equal(db, full[2])
    assert impl.conv2d_backward(dy, ctx, input_grad=True)[0].shape == x.shape
    _, ctx = impl.conv2d_forward(x, w, **conv_kw(cfg))
    assert impl.conv2d_backward(dy, ctx, input_grad=False)[2] is None


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_conv_backward_without_input_grad_image_by_image(rng, threads):
    # N < threads takes the image-by-image path
    x, w, b = conv_inputs(rng, (1, 3, 9, 9, 4, (3, 3), 1, 1, 1, 1), np.float64)
    before = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(threads)
        y, ctx = F.conv2d_forward(x, w, b, activation="relu")
        dy = make(rng, y.shape, np.float64)
        dx, dw, db = F.conv2d_backward(dy, ctx, input_grad=False)
        full = F.conv2d_backward(dy, ctx)
    finally:
        fastnn.set_num_threads(before)
    assert dx is None
    np.testing.assert_array_equal(dw, full[1])
    np.testing.assert_array_equal(db, full[2])


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_conv_backward_input_grad_must_be_a_bool(impl):
    y, ctx = impl.conv2d_forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
    with pytest.raises(TypeError, match="input_grad must be a bool, got ndarray"):
        impl.conv2d_backward(y, ctx, input_grad=np.ones(2))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_conv_thread_counts_agree(rng, threads):
    """Batch-parallel, image-by-image (N < threads) and serial paths give the same answer."""
    before = fastnn.get_num_threads()
    try:
        for cfg in (CONFIGS[0], CONFIGS[2], CONFIGS[5], CONFIGS[12], CONFIGS[15], CONFIGS[19], CONFIGS[22],
                    CONFIGS[25]):
            x, w, b = conv_inputs(rng, cfg, np.float64)
            for n in (1, 2, cfg[0]):
                fastnn.set_num_threads(threads)
                y, ctx = F.conv2d_forward(x[:n], w, b, activation="relu", **conv_kw(cfg))
                dy = make(rng, y.shape, np.float64)
                grads = F.conv2d_backward(dy, ctx)
                yr, ctxr = R.conv2d_forward(x[:n], w, b, activation="relu", **conv_kw(cfg))
                assert_close(y, yr, np.float64)
                for g, gr in zip(grads, R.conv2d_backward(dy, ctxr)):
                    assert_close(g, gr, np.float64)
    finally:
        fastnn.set_num_threads(before)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_conv_layouts_and_inputs_untouched(rng, dtype, layout):
    cfg = CONFIGS[2]
    x, w, b = conv_inputs(rng, cfg, dtype, layout)
    copies = [a.copy() for a in (x, w, b)]
    y, ctx = F.conv2d_forward(x, w, b, activation="relu", **conv_kw(cfg))
    dy = make(rng, y.shape, dtype, layout)
    dyc = dy.copy()
    grads = F.conv2d_backward(dy, ctx)
    yr, ctxr = R.conv2d_forward(*(np.ascontiguousarray(a) for a in copies), activation="relu", **conv_kw(cfg))
    assert_close(y, yr, dtype)
    for g, gr in zip(grads, R.conv2d_backward(dyc, ctxr)):
        assert_close(g, gr, dtype)
    for a, c in zip((x, w, b, dy), copies + [dyc]):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("shape", [(2, 64, 16, 48), (2, 64, 9, 13), (2, 256, 16, 48)],
                         ids=["winograd4", "winograd2", "winograd2-wide"])
def test_conv_float32_accuracy_against_float64(rng, shape):
    # The Winograd paths round more than a direct sum (README, Guarantees): F(4x4) (outputs of
    # at least 16 x 48 summing <= 64 channels) measured 2-6e-6 of the largest magnitude, F(2x2)
    # 2-6e-7. Bound y, dx and dw against an exact (float64) convolution of the same data by the
    # float32 tolerance table's norm-wise atol. The 256-channel case guards the channel limit:
    # run by F(4x4) it fails (1.05e-5 of max |y|).
    x = rng.standard_normal(shape)
    w = rng.standard_normal((32, shape[1], 3, 3)) / np.sqrt(9 * shape[1])
    y64, ctx64 = R.conv2d_forward(x, w, padding=1)
    dy = rng.standard_normal(y64.shape)
    y, ctx = F.conv2d_forward(x.astype(np.float32), w.astype(np.float32), padding=1)
    got = (y,) + F.conv2d_backward(dy.astype(np.float32), ctx)[:2]
    want = (y64,) + R.conv2d_backward(dy, ctx64)[:2]
    for g, e, name in zip(got, want, ("y", "dx", "dw")):
        err = np.abs(g - e).max() / np.abs(e).max()
        assert err < TOL[np.float32]["atol"], f"{name}: float32 error {err:.2e} of max |{name}|"


def test_conv_byteswapped_input(rng):
    x = make(rng, (2, 3, 5, 5), np.float64)
    w = make(rng, (4, 3, 3, 3), np.float64)
    y, _ = F.conv2d_forward(x.astype(">f8"), w, padding=1)
    assert_close(y, R.conv2d_forward(x, w, padding=1)[0], np.float64)


@pytest.mark.parametrize("cfg", [CONFIGS[11], CONFIGS[14]], ids=[IDS[11], IDS[14]])
def test_conv_concurrent_python_threads(rng, cfg):
    """Kernels called from several Python threads at once (the workspace cache is taken by one,
    the others allocate their own) give the same results as sequential calls."""
    inputs = [conv_inputs(rng, cfg, np.float32) for _ in range(4)]
    want = [F.conv2d_forward(x, w, b, **conv_kw(cfg))[0] for x, w, b in inputs]
    got = [None] * 4

    def work(i):
        for _ in range(20):
            y, ctx = F.conv2d_forward(*inputs[i], **conv_kw(cfg))
            F.conv2d_backward(y, ctx)
        got[i] = y

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_workspace_cache_reused():
    from fastnn import _conv
    x, w = np.ones((4, 3, 10, 10), np.float32), np.ones((5, 3, 3, 3), np.float32)
    y, ctx = F.conv2d_forward(x, w, padding=1)
    F.conv2d_backward(y, ctx)
    held = _conv._workspace_nbytes()
    assert held > 0
    F.conv2d_forward(x[:2], w, padding=1)           # smaller: the cache is reused, not shrunk
    assert _conv._workspace_nbytes() == held
    _conv._release_workspace()
    assert _conv._workspace_nbytes() == 0
    F.conv2d_forward(x, w, padding=1)
    assert _conv._workspace_nbytes() > 0


# --- im2col / col2im ---------------------------------------------------------------------------

UNFOLD = [  # (N, C, H, W, kernel, stride, padding, dilation)
    (2, 3, 6, 5, (3, 2), 1, 0, 1),
    (1, 2, 7, 8, (2, 3), (2, 1), (1, 2), (1, 2)),
    (3, 1, 5, 5, 3, 2, 1, 2),
    (1, 2, 4, 3, (4, 3), 1, 0, 1),
    (2, 2, 3, 3, 1, 3, 0, 1),
    (1, 1, 2, 9, (1, 4), (1, 3), (0, 1), (1, 2)),
]


@pytest.mark.parametrize("case", UNFOLD)
def test_im2col_col2im_parity(rng, dtype, case):
    n, c, h, w, *sizes = case
    x = make(rng, (n, c, h, w), dtype)
    cols = F.im2col(x, *sizes)
    assert_close(cols, R.im2col(x, *sizes), dtype, "im2col")
    a = make(rng, cols.shape, dtype)
    assert_close(F.col2im(a, (h, w), *sizes), R.col2im(a, (h, w), *sizes), dtype, "col2im")


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("case", UNFOLD)
def test_im2col_col2im_adjoint(rng, impl, case):
    """<col2im(a), b> == <a, im2col(b)>: col2im is exactly im2col's transpose."""
    n, c, h, w, *sizes = case
    b = rng.standard_normal((n, c, h, w))
    ib = impl.im2col(b, *sizes)
    a = rng.standard_normal(ib.shape)
    lhs = np.sum(impl.col2im(a, (h, w), *sizes) * b)
    rhs = np.sum(a * ib)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_im2col_layouts(rng, dtype, layout):
    x = make(rng, (2, 3, 6, 5), dtype, layout)
    xc = x.copy()
    cols = F.im2col(x, (2, 3), 1, 1)
    assert_close(cols, R.im2col(np.ascontiguousarray(xc), (2, 3), 1, 1), dtype)
    c2 = make(rng, cols.shape, dtype, layout)
    assert_close(F.col2im(c2, (6, 5), (2, 3), 1, 1), R.col2im(np.ascontiguousarray(c2), (6, 5), (2, 3), 1, 1), dtype)
    np.testing.assert_array_equal(x, xc)


# --- gradients ---------------------------------------------------------------------------------

GRAD_CONFIGS = [
    (2, 4, 5, 4, 4, (3, 2), (2, 1), (1, 0), (1, 2), 2),
    (2, 3, 4, 4, 2, (2, 2), 1, 1, 1, 1),
    (2, 2, 4, 3, 4, (1, 1), 1, 0, 1, 2),
    (3, 2, 4, 4, 2, (3, 3), 1, 1, 1, 2),   # depthwise
    (2, 16, 4, 3, 16, (3, 3), 1, 1, 1, 1),  # Winograd forward
]


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("cfg", GRAD_CONFIGS)
@pytest.mark.parametrize("act", [None, "relu"])
def test_conv_gradcheck(rng, impl, cfg, act):
    x, w, b = conv_inputs(rng, cfg, np.float64)
    kw = conv_kw(cfg)
    gradcheck(lambda x, w, b: impl.conv2d_forward(x, w, b, activation=act, **kw)[0], [x, w, b],
              analytic=lambda dy, x, w, b: impl.conv2d_backward(dy, impl.conv2d_forward(x, w, b, activation=act, **kw)[1]),
              names=["x", "weight", "bias"], **TOL["gradcheck"])


# --- PyTorch -----------------------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[0] > 0], ids=[i for c, i in zip(CONFIGS, IDS) if c[0] > 0])
def test_conv_matches_torch(rng, cfg):
    import torch
    x, w, b = conv_inputs(rng, cfg, np.float64)
    kw = conv_kw(cfg)
    y, ctx = F.conv2d_forward(x, w, b, **kw)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, **kw)
    dy = rng.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    assert_close(y, ty.detach().numpy(), np.float64, "y")
    for g, t, name in zip(F.conv2d_backward(dy, ctx), (tx, tw, tb), ("dx", "dw", "db")):
        assert_close(g, t.grad.numpy(), np.float64, name)


@needs_torch
@pytest.mark.parametrize("case", UNFOLD)
def test_unfold_fold_match_torch(rng, case):
    import torch
    n, c, h, w, k, s, p, d = case
    x = rng.standard_normal((n, c, h, w))
    tcols = torch.nn.functional.unfold(torch.tensor(x), k, dilation=d, padding=p, stride=s)
    np.testing.assert_array_equal(F.im2col(x, k, s, p, d), tcols.numpy())
    a = rng.standard_normal(tcols.shape)
    tx = torch.nn.functional.fold(torch.tensor(a), (h, w), k, dilation=d, padding=p, stride=s)
    assert_close(F.col2im(a, (h, w), k, s, p, d), tx.numpy(), np.float64)


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_conv_bad_input(impl):
    x, w, b = np.ones((2, 4, 5, 5), np.float32), np.ones((6, 2, 3, 3), np.float32), np.ones(6, np.float32)
    ok = dict(groups=2)
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        impl.conv2d_forward(x.tolist(), w, **ok)
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int32"):
        impl.conv2d_forward(x.astype(np.int32), w, **ok)
    with pytest.raises(TypeError, match="weight has dtype float64 but x has dtype float32"):
        impl.conv2d_forward(x, w.astype(np.float64), **ok)
    with pytest.raises(TypeError, match="bias has dtype"):
        impl.conv2d_forward(x, w, b.astype(np.float64), **ok)
    with pytest.raises(ValueError, match=r"x must be 4-D \(N, C, H, W\)"):
        impl.conv2d_forward(x[0], w, **ok)
    with pytest.raises(ValueError, match=r"weight must be 4-D"):
        impl.conv2d_forward(x, w[0], **ok)
    with pytest.raises(ValueError, match=r"weight \(6, 2, 3, 3\) does not match x \(2, 4, 5, 5\) with groups = 1"):
        impl.conv2d_forward(x, w)
    with pytest.raises(ValueError, match=r"groups = 3 must divide"):
        impl.conv2d_forward(x, w, groups=3)
    with pytest.raises(ValueError, match=r"groups must be positive"):
        impl.conv2d_forward(x, w, groups=0)
    with pytest.raises(TypeError, match=r"groups must be an int"):
        impl.conv2d_forward(x, w, groups=2.0)
    with pytest.raises(ValueError, match=r"bias must have shape \(6,\)"):
        impl.conv2d_forward(x, w, np.ones(4, np.float32), **ok)
    with pytest.raises(ValueError, match="stride must be positive"):
        impl.conv2d_forward(x, w, stride=0, **ok)
    with pytest.raises(ValueError, match="stride must be positive"):
        impl.conv2d_forward(x, w, stride=(1, -1), **ok)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        impl.conv2d_forward(x, w, padding=-1, **ok)
    with pytest.raises(ValueError, match="dilation must be positive"):
        impl.conv2d_forward(x, w, dilation=0, **ok)
    with pytest.raises(ValueError, match="larger than the padded input"):
        impl.conv2d_forward(x, w, dilation=3, **ok)
    with pytest.raises(ValueError, match="larger than the padded input"):
        impl.conv2d_forward(np.ones((1, 4, 2, 9), np.float32), w, **ok)
    with pytest.raises(ValueError, match="kernel size must be positive"):
        impl.conv2d_forward(x, np.ones((6, 2, 0, 3), np.float32), **ok)
    with pytest.raises(ValueError, match="must be an int or a pair"):
        impl.conv2d_forward(x, w, stride=(1, 2, 3), **ok)
    with pytest.raises(TypeError, match="must be an int or a pair"):
        impl.conv2d_forward(x, w, padding=1.5, **ok)
    with pytest.raises(ValueError, match="activation must be one of"):
        impl.conv2d_forward(x, w, activation="tanh", **ok)
    y, ctx = impl.conv2d_forward(x, w, b, **ok)
    with pytest.raises(ValueError, match="dy must have the forward output's shape"):
        impl.conv2d_backward(np.ones((2, 6, 3, 4), np.float32), ctx)
    with pytest.raises(TypeError, match="dy has dtype float64"):
        impl.conv2d_backward(y.astype(np.float64), ctx)
    # im2col / col2im
    with pytest.raises(ValueError, match="kernel size must be positive"):
        impl.im2col(x, 0)
    with pytest.raises(ValueError, match="larger than the padded input"):
        impl.im2col(x, 6)
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        impl.im2col(x[0], 2)
    cols = impl.im2col(x, 3)
    with pytest.raises(ValueError, match="dimension 2 must be H_out\\*W_out"):
        impl.col2im(cols, (6, 5), 3)
    with pytest.raises(ValueError, match="dimension 1 must be a positive multiple"):
        impl.col2im(cols[:, :5], (5, 5), 3)
    with pytest.raises(ValueError, match="input_size must be positive"):
        impl.col2im(cols, (0, 5), 3)
    with pytest.raises(ValueError, match=r"cols must be 3-D"):
        impl.col2im(x, (5, 5), 3)


def test_conv_backward_rejects_foreign_ctx():
    _, ctx = R.conv2d_forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
    with pytest.raises(TypeError):
        F.conv2d_backward(np.ones((1, 1, 2, 2)), ctx)
    with pytest.raises(TypeError):
        F.conv2d_backward(np.ones((1, 1, 2, 2)), None)


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

@pytest.mark.parametrize("huge", [2**31, 2**62, 2**63 - 1, 10**19, -10**19])
@pytest.mark.parametrize("arg", ["kernel_size", "stride", "padding", "dilation"])
def test_size_arguments_beyond_2_31_raise_valueerror(backend, arg, huge):
    # 10**19 raised OverflowError, 2**63-1 dilation wrapped to a small span and returned
    x = np.zeros((1, 1, 14, 15))
    kw = dict(kernel_size=3, stride=1, padding=0, dilation=1)
    kw[arg] = huge
    with pytest.raises(ValueError, match=arg):
        backend.im2col(x, **kw)
    if arg != "kernel_size":
        del kw["kernel_size"]
        with pytest.raises(ValueError, match=arg):
            backend.conv2d_forward(x, np.zeros((1, 1, 3, 3)), **kw)


def test_im2col_col2im_output_size_overflow_raises(backend):
    # padding 2**31-1 on a 2x2 image: H_out*W_out = 2**64 wrapped to 0 and the kernel segfaulted
    p = 2**31 - 1
    with pytest.raises((ValueError, MemoryError)):
        backend.im2col(np.zeros((1, 1, 2, 2)), 1, padding=p)
    with pytest.raises((ValueError, MemoryError)):
        backend.col2im(np.zeros((1, 1, 0)), (2, 2), 1, padding=p)


def test_huge_groups_raise_valueerror(backend):
    # groups=10**19 raised OverflowError in the binding
    for g in (10**19, -10**19):
        with pytest.raises(ValueError, match="groups"):
            backend.conv2d_forward(np.zeros((1, 2, 3, 3)), np.zeros((2, 1, 1, 1)), groups=g)


def test_backward_rejects_a_foreign_ctx(backend, rng):
    # the reference raised AttributeError for a ctx of another function / None
    _, ctx = backend.relu_forward(np.ones((1, 1, 2, 2)))
    for bad in (ctx, None, object()):
        with pytest.raises(TypeError, match="ctx"):
            backend.conv2d_backward(np.ones((1, 1, 2, 2)), bad)
