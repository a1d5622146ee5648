"""fastnn.nn CNN layers (Conv2d, pooling, BatchNorm, LayerNorm): against their kernels on both
backends, parameter / buffer names and shapes, state_dict, PyTorch parity, a LeNet-style model,
bad input."""
import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, TOL, needs_torch

BACKENDS = ["compiled", "reference"]


def _kern(name):
    return F if name == "compiled" else R


# ---- each layer against its kernels -------------------------------------------------------------
# (make layer(dtype), forward kernel call (kern, layer, x) -> (y, ctx), backward call -> input grad
#  and parameter grads in named_parameters order)

def _conv_fwd(k, m, x):
    return k.conv2d_forward(x, m.weight.data, None if m.bias is None else m.bias.data,
                            m.stride, m._pad, m.dilation, m.groups)


LAYERS = [
    ("conv", lambda dt: nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=dt, rng=0), _conv_fwd,
     lambda k, dy, ctx: k.conv2d_backward(dy, ctx)),
    ("conv_groups", lambda dt: nn.Conv2d(3, 6, (3, 2), dilation=(1, 2), groups=3, bias=False,
                                         dtype=dt, rng=1), _conv_fwd,
     lambda k, dy, ctx: k.conv2d_backward(dy, ctx)[:2]),
    ("conv_same", lambda dt: nn.Conv2d(3, 2, 3, padding="same", dtype=dt, rng=2), _conv_fwd,
     lambda k, dy, ctx: k.conv2d_backward(dy, ctx)),
    ("maxpool", lambda dt: nn.MaxPool2d(3, 2, 1), lambda k, m, x: k.max_pool2d_forward(x, 3, 2, 1),
     lambda k, dy, ctx: (k.max_pool2d_backward(dy, ctx),)),
    ("avgpool", lambda dt: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     lambda k, m, x: k.avg_pool2d_forward(x, 3, 2, 1, False),
     lambda k, dy, ctx: (k.avg_pool2d_backward(dy, ctx),)),
    ("adaptive", lambda dt: nn.AdaptiveAvgPool2d((1, 1)), lambda k, m, x: k.global_avg_pool2d_forward(x),
     lambda k, dy, ctx: (k.global_avg_pool2d_backward(dy, ctx),)),
    ("global", lambda dt: nn.GlobalAvgPool2d(), lambda k, m, x: k.global_avg_pool2d_forward(x),
     lambda k, dy, ctx: (k.global_avg_pool2d_backward(dy, ctx),)),
    ("layernorm", lambda dt: nn.LayerNorm((5, 6), dtype=dt),
     lambda k, m, x: k.layer_norm_forward(x, m.weight.data, m.bias.data, 1e-5, (5, 6)),
     lambda k, dy, ctx: k.layer_norm_backward(dy, ctx)),
]


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("make,fwd,bwd", [l[1:] for l in LAYERS], ids=[l[0] for l in LAYERS])
def test_layer_matches_kernels(rng, dtype, name, make, fwd, bwd):
    k = _kern(name)
    layer = make(dtype)
    x = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    with fastnn.use_backend(name):
        y = layer(x)
    want, ctx = fwd(k, layer, x)
    np.testing.assert_array_equal(y, want)
    dy = rng.standard_normal(y.shape).astype(dtype)
    got = [layer.backward(dy)] + [p.grad for p in layer.parameters()]
    exp = bwd(k, dy, ctx)
    assert len(got) == len(exp)
    for g, e in zip(got, exp):
        np.testing.assert_array_equal(g, e)
    # a second backward accumulates the parameter grads
    before = [p.grad.copy() for p in layer.parameters()]
    layer.backward(dy)
    for b, p in zip(before, layer.parameters()):
        np.testing.assert_array_equal(p.grad, 2 * b)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm2d, (4, 3, 5, 6)), (nn.BatchNorm1d, (6, 3)),
                                       (nn.BatchNorm1d, (4, 3, 7))])
def test_batchnorm_matches_kernels(rng, dtype, name, cls, shape):
    k = _kern(name)
    bn = cls(3, dtype=dtype)
    bn.weight.data[:] = rng.uniform(0.5, 1.5, 3)
    bn.bias.data[:] = rng.standard_normal(3)
    rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
    for step in (1, 2):
        x = rng.standard_normal(shape).astype(dtype)
        with fastnn.use_backend(name):
            y = bn(x)
        want, ctx = k.batch_norm_forward(x, bn.weight.data, bn.bias.data, rm, rv, training=True,
                                         momentum=0.1, eps=1e-5, num_batches_tracked=step)
        np.testing.assert_array_equal(y, want)
        np.testing.assert_array_equal(bn.running_mean, rm)
        np.testing.assert_array_equal(bn.running_var, rv)
        assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
        assert int(bn.num_batches_tracked) == step
    dy = rng.standard_normal(shape).astype(dtype)
    dx = bn.backward(dy)
    gx, gw, gb = k.batch_norm_backward(dy, ctx)
    np.testing.assert_array_equal(dx, gx)
    np.testing.assert_array_equal(bn.weight.grad, gw)
    np.testing.assert_array_equal(bn.bias.grad, gb)
    # eval: running statistics, buffers untouched
    bn.eval()
    with fastnn.use_backend(name):
        y = bn(x)
    want, _ = k.batch_norm_forward(x, bn.weight.data, bn.bias.data, rm.copy(), rv.copy(), training=False)
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(bn.running_mean, rm)
    assert int(bn.num_batches_tracked) == 2


def test_batchnorm_untracked_and_not_affine(rng):
    bn = nn.BatchNorm2d(3, affine=False, track_running_stats=False, dtype=np.float64)
    assert list(bn.parameters()) == [] and bn.state_dict() == {}
    x = rng.standard_normal((4, 3, 2, 2))
    bn.eval()   # no running statistics: batch statistics in eval too
    y = bn(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    assert bn.backward(np.ones_like(y)).shape == x.shape


def test_batchnorm_cumulative_momentum(rng):
    bn = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    xs = [rng.standard_normal((5, 2)) for _ in range(3)]
    for x in xs:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-12)
    assert int(bn.num_batches_tracked) == 3


@pytest.mark.parametrize("name", BACKENDS)
def test_inputs_untouched_and_layouts(rng, name):
    x = rng.standard_normal((2, 3, 6, 8))[:, :, :, ::2]   # strided
    x.setflags(write=False)
    keep = x.copy()
    layers = [nn.Conv2d(3, 2, 3, dtype=np.float64, rng=0), nn.MaxPool2d(2), nn.AvgPool2d(2),
              nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(3, dtype=np.float64), nn.LayerNorm(4, dtype=np.float64)]
    with fastnn.use_backend(name):
        for layer in layers:
            y = layer(x)
            dy = np.ones_like(y)
            dy.setflags(write=False)
            dx = layer.backward(dy)
            assert dx.shape == x.shape
            np.testing.assert_array_equal(x, keep)
            assert (dy == 1).all()
            y2 = layer.eval()(np.ascontiguousarray(x))
            if not isinstance(layer, nn.BatchNorm2d):
                np.testing.assert_array_equal(y2, y)


@pytest.mark.parametrize("name", BACKENDS)
def test_conv_fused_relu_path(rng, name):
    conv, relu = nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64, rng=0), nn.ReLU()
    x, dy = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 3, 5, 5))
    with fastnn.use_backend(name):
        y = conv._forward(x, "relu")
        dx = conv.backward(dy)
        grads = [p.grad for p in conv.parameters()]
        conv.zero_grad()
        y2 = relu(conv(x))
        dx2 = conv.backward(relu.backward(dy))
    assert_close(y, y2, np.float64)
    assert_close(dx, dx2, np.float64)
    for g, p in zip(grads, conv.parameters()):
        assert_close(g, p.grad, np.float64)


def test_to_float64_then_forward(rng):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2), nn.LayerNorm(2)).double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model(rng.standard_normal((2, 1, 4, 4))).dtype == np.float64


# ---- names, shapes, initialisation, state_dict --------------------------------------------------

def test_parameter_names_and_shapes():
    c = nn.Conv2d(6, 8, (3, 5), groups=2)
    assert [(n, p.shape, p.dtype) for n, p in c.named_parameters()] == [
        ("weight", (8, 3, 3, 5), np.float32), ("bias", (8,), np.float32)]
    assert [n for n, _ in nn.Conv2d(2, 2, 1, bias=False).named_parameters()] == ["weight"]
    bn = nn.BatchNorm2d(5)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert bn.weight.data.tolist() == [1] * 5 and bn.bias.data.tolist() == [0] * 5
    assert bn.running_mean.tolist() == [0] * 5 and bn.running_var.tolist() == [1] * 5
    ln = nn.LayerNorm([4, 3], bias=False, dtype=np.float64)
    assert [(n, p.shape) for n, p in ln.named_parameters()] == [("weight", (4, 3))]
    assert list(nn.LayerNorm(3, elementwise_affine=False).parameters()) == []
    for pool in (nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.GlobalAvgPool2d()):
        assert list(pool.parameters()) == [] and pool.state_dict() == {}


def test_conv_init_matches_torch_scheme():
    c = nn.Conv2d(4, 64, 3, groups=2, rng=0)
    bound = 1 / np.sqrt(2 * 3 * 3)   # fan_in = C_in/groups*kH*kW
    assert np.abs(c.weight.data).max() <= bound and np.abs(c.weight.data).max() > 0.9 * bound
    assert np.abs(c.bias.data).max() <= bound
    np.testing.assert_array_equal(nn.Conv2d(4, 64, 3, groups=2, rng=0).weight.data, c.weight.data)


def test_state_dict_round_trip(rng, tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 3, dtype=np.float64, rng=0), nn.BatchNorm2d(3, dtype=np.float64),
                          nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.LayerNorm(3, dtype=np.float64))
    model(rng.standard_normal((4, 2, 4, 4)))   # updates the running statistics
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked", "5.weight", "5.bias"]
    other = nn.Sequential(nn.Conv2d(2, 3, 3, dtype=np.float64, rng=5), nn.BatchNorm2d(3, dtype=np.float64),
                          nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.LayerNorm(3, dtype=np.float64))
    model.save(tmp_path / "m.npz")
    other.load(tmp_path / "m.npz")
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, sd[key], err_msg=key)
    model.eval(), other.eval()
    x = rng.standard_normal((2, 2, 4, 4))
    np.testing.assert_array_equal(other(x), model(x))


def test_to_dtype_keeps_int_buffer():
    bn = nn.BatchNorm2d(2).double()
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64


def test_unbatched_input(rng):
    conv = nn.Conv2d(3, 2, 3, dtype=np.float64, rng=0)
    x = rng.standard_normal((3, 5, 5))
    y = conv(x)
    assert y.shape == (2, 3, 3)
    np.testing.assert_array_equal(y, conv(x[None])[0])
    dy = rng.standard_normal(y.shape)
    dx1 = conv.backward(dy[None])[0]
    conv(x)
    np.testing.assert_array_equal(conv.backward(dy), dx1)
    pool = nn.MaxPool2d(2)
    assert pool(x).shape == (3, 2, 2) and pool.backward(np.ones((3, 2, 2))).shape == x.shape


@pytest.mark.parametrize("name", BACKENDS)
def test_gradcheck_cnn_model(rng, name):
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64, rng=0),
                          nn.BatchNorm2d(3, dtype=np.float64), nn.Tanh(), nn.AvgPool2d(2),
                          nn.Conv2d(3, 4, 2, dtype=np.float64, rng=1), nn.Flatten(),
                          nn.LayerNorm(4, dtype=np.float64))
    params = list(model.parameters())
    x = rng.standard_normal((3, 2, 4, 4))
    wts = rng.standard_normal((3, 4))

    def set_params(arrays):
        for p, a in zip(params, arrays):
            p.data = a

    def fn(*arrays):
        set_params(arrays)
        return np.sum(model(x) * wts)

    def analytic(dout, *arrays):
        set_params(arrays)
        model.zero_grad()
        model(x)
        model.backward(dout * wts)
        return [p.grad for p in params]

    with fastnn.use_backend(name):
        gradcheck(fn, [p.data for p in params], analytic=analytic, **TOL["gradcheck"],
                  names=[n for n, _ in model.named_parameters()])


# ---- LeNet-style model on both backends -----------------------------------------------------------

def lenet(dtype=np.float64, seed=0):
    return nn.Sequential(nn.Conv2d(1, 4, 5, dtype=dtype, rng=seed), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3, dtype=dtype, rng=seed + 1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 2 * 2, 10, dtype=dtype, rng=seed + 2))


def _loss_and_grads(model, x, y):
    loss_fn = nn.CrossEntropyLoss()
    model.zero_grad()
    loss = loss_fn(model(x), y)
    dx = model.backward(loss_fn.backward())
    return loss, dx, [p.grad for p in model.parameters()]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_lenet_backends_agree(rng, dt):
    x = rng.standard_normal((5, 1, 16, 16)).astype(dt)
    y = rng.integers(0, 10, 5)
    model = lenet(dt)
    with fastnn.use_backend("compiled"):
        lc, dxc, gc = _loss_and_grads(model, x, y)
    with fastnn.use_backend("reference"):
        lr, dxr, gr = _loss_and_grads(model, x, y)
    assert_close(np.asarray(lc), np.asarray(lr), dt, what="loss")
    assert_close(dxc, dxr, dt, what="dx")
    for (n, _), a, b in zip(model.named_parameters(), gc, gr):
        assert_close(a, b, dt, what=n)


def _grads(model, x, y, **kw):
    loss_fn = nn.CrossEntropyLoss()
    model.zero_grad()
    loss_fn(model(x), y)
    dx = model.backward(loss_fn.backward(), **kw)
    return dx, [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("first", ["conv", "linear", "nested", "relu"])
def test_sequential_backward_without_input_grad(rng, name, first, monkeypatch):
    # input_grad=False: None back, the same parameter gradients, and the first layer's kernel
    # asked for no input gradient (a first module that cannot skip it runs as usual)
    if first == "linear":
        model = nn.Sequential(nn.Linear(64, 16, dtype=np.float64, rng=0), nn.ReLU(),
                              nn.Linear(16, 10, dtype=np.float64, rng=1))
        x = rng.standard_normal((4, 64))
    else:
        model = lenet(np.float64)
        if first == "nested":
            model = nn.Sequential(model[:3], model[3:])
        elif first == "relu":
            model = nn.Sequential(nn.ReLU(), *list(model))
        x = rng.standard_normal((4, 1, 16, 16))
    y = rng.integers(0, 10, 4)
    calls = []
    k = _kern(name)
    for kname in ("conv2d_backward", "linear_backward"):
        orig = getattr(k, kname)
        def spy(*a, _o=orig, _n=kname, **kw):
            calls.append((_n, bool(kw.get("input_grad", a[2] if len(a) > 2 else True))))
            return _o(*a, **kw)
        monkeypatch.setattr(k, kname, spy)
    with fastnn.use_backend(name):
        dx_full, g_full = _grads(model, x, y)
        calls.clear()
        dx, g = _grads(model, x, y, input_grad=False)
    assert dx is None and dx_full.shape == x.shape
    for a, b in zip(g, g_full):
        np.testing.assert_array_equal(a, b)
    assert [ig for _, ig in calls] == [True] * (len(calls) - 1) + [first == "relu"]
    with pytest.raises(TypeError, match="input_grad must be a bool"):
        with fastnn.use_backend(name):
            model(x)
            model.backward(np.ones((4, 10)), input_grad=np.ones(2))


def test_layer_backward_without_input_grad(rng):
    conv = nn.Conv2d(2, 3, 3, dtype=np.float64, rng=0)
    lin = nn.Linear(5, 4, dtype=np.float64, rng=0)
    conv(rng.standard_normal((2, 2, 6, 6)))
    assert conv.backward(np.ones((2, 3, 4, 4)), input_grad=False) is None
    lin(rng.standard_normal((3, 2, 5)))
    assert lin.backward(np.ones((3, 2, 4)), input_grad=False) is None


def test_fit_skips_the_input_gradient_of_a_sequential(rng, monkeypatch):
    model = lenet(np.float32)
    seen = []
    orig = nn.Sequential.backward
    monkeypatch.setattr(nn.Sequential, "backward",
                        lambda self, d, input_grad=True: seen.append(input_grad) or orig(self, d, input_grad))
    x = rng.standard_normal((8, 1, 16, 16)).astype(np.float32)
    fastnn.fit(model, nn.CrossEntropyLoss(), fastnn.optim.SGD(model.parameters(), lr=0.01), x,
               rng.integers(0, 10, 8), batch_size=4, progress=False)
    assert seen == [False, False]


# ---- PyTorch parity ------------------------------------------------------------------------------

def _torch_pairs():
    import torch.nn as tnn
    return [
        (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64),
         lambda: tnn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 6)),
        (lambda: nn.Conv2d(4, 6, (3, 2), padding=(1, 0), dilation=(2, 1), groups=2, bias=False, dtype=np.float64),
         lambda: tnn.Conv2d(4, 6, (3, 2), padding=(1, 0), dilation=(2, 1), groups=2, bias=False), (2, 4, 7, 6)),
        (lambda: nn.Conv2d(3, 2, 5, padding="same", dtype=np.float64),
         lambda: tnn.Conv2d(3, 2, 5, padding="same"), (1, 3, 6, 6)),
        (lambda: nn.MaxPool2d(3, 2, 1), lambda: tnn.MaxPool2d(3, 2, 1), (2, 3, 7, 6)),
        (lambda: nn.AvgPool2d(3, 2, 1), lambda: tnn.AvgPool2d(3, 2, 1), (2, 3, 7, 6)),
        (lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
         lambda: tnn.AvgPool2d(3, 1, 1, count_include_pad=False), (2, 3, 7, 6)),
        (lambda: nn.MaxPool2d(2, ceil_mode=True), lambda: tnn.MaxPool2d(2, ceil_mode=True), (2, 3, 7, 5)),
        (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), lambda: tnn.AvgPool2d(3, 2, 1, ceil_mode=True), (2, 3, 8, 6)),
        (lambda: nn.AdaptiveAvgPool2d(1), lambda: tnn.AdaptiveAvgPool2d(1), (2, 3, 7, 6)),
        (lambda: nn.BatchNorm1d(3, dtype=np.float64), lambda: tnn.BatchNorm1d(3), (5, 3)),
        (lambda: nn.BatchNorm1d(3, momentum=None, dtype=np.float64),
         lambda: tnn.BatchNorm1d(3, momentum=None), (4, 3, 5)),
        (lambda: nn.BatchNorm2d(3, eps=1e-3, momentum=0.3, dtype=np.float64),
         lambda: tnn.BatchNorm2d(3, eps=1e-3, momentum=0.3), (4, 3, 5, 6)),
        (lambda: nn.BatchNorm2d(3, affine=False, dtype=np.float64),
         lambda: tnn.BatchNorm2d(3, affine=False), (4, 3, 5, 6)),
        (lambda: nn.LayerNorm((5, 6), dtype=np.float64), lambda: tnn.LayerNorm((5, 6)), (2, 3, 5, 6)),
        (lambda: nn.LayerNorm(6, bias=False, dtype=np.float64), lambda: tnn.LayerNorm(6, bias=False), (2, 3, 6)),
    ]


@needs_torch
@pytest.mark.parametrize("name", BACKENDS)
def test_layers_match_torch(rng, name):
    import torch
    torch.manual_seed(0)
    for make_ours, make_theirs, shape in _torch_pairs():
        theirs = make_theirs().double()
        ours = make_ours()
        assert repr(ours) == repr(theirs)
        # perturb torch's affine parameters so that they are not the trivial ones/zeros
        with torch.no_grad():
            for p in theirs.parameters():
                p.add_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))
        ours.load_state_dict(theirs.state_dict())
        with fastnn.use_backend(name):
            for training in (True, True, False):   # two training steps, then eval
                ours.train(training), theirs.train(training)
                theirs.zero_grad(), ours.zero_grad()
                x = rng.standard_normal(shape)
                y = ours(x)
                dy = rng.standard_normal(y.shape)
                xt = torch.from_numpy(x).requires_grad_(True)
                yt = theirs(xt)
                yt.backward(torch.from_numpy(dy))
                what = f"{ours!r} training={training}"
                assert_close(y, yt.detach().numpy(), np.float64, what=what + " y")
                assert_close(ours.backward(dy), xt.grad.numpy(), np.float64, what=what + " dx")
                for (pn, p), tp in zip(ours.named_parameters(), theirs.parameters()):
                    assert_close(p.grad, tp.grad.numpy(), np.float64, what=what + " d" + pn)
                for key, tv in theirs.state_dict().items():
                    ov = ours.state_dict()[key]
                    assert ov.dtype == tv.numpy().dtype, key
                    if key == "num_batches_tracked":
                        np.testing.assert_array_equal(ov, tv.numpy())
                    else:
                        assert_close(ov, tv.numpy(), what=what + " " + key)


@needs_torch
def test_lenet_matches_torch(rng):
    import torch
    tnn = torch.nn
    torch.manual_seed(0)
    theirs = tnn.Sequential(tnn.Conv2d(1, 4, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(4, 8, 3),
                            tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(32, 10)).double()
    ours = lenet()
    assert repr(ours) == repr(theirs)
    ours.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((5, 1, 16, 16))
    y = rng.integers(0, 10, 5)
    tloss = tnn.CrossEntropyLoss()(theirs(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    for name in BACKENDS:
        with fastnn.use_backend(name):
            loss, _, grads = _loss_and_grads(ours, x, y)
        assert_close(np.asarray(loss), np.asarray(tloss.item()), np.float64)
        for (n, _), g, tp in zip(ours.named_parameters(), grads, theirs.parameters()):
            assert_close(g, tp.grad.numpy(), np.float64, what=f"{name} {n}")


# ---- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BACKENDS)
def test_bad_input(name):
    with fastnn.use_backend(name):
        conv = nn.Conv2d(3, 4, 3)
        with pytest.raises(ValueError, match="3 input channels"):
            conv(np.zeros((2, 5, 8, 8), np.float32))
        with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
            conv(np.zeros((8, 8), np.float32))
        with pytest.raises(TypeError, match="float32 weights"):
            conv(np.zeros((2, 3, 8, 8)))
        with pytest.raises(TypeError, match="ndarray"):
            conv([[0.0]])
        with pytest.raises(RuntimeError, match="before forward"):
            nn.Conv2d(1, 1, 1).backward(np.zeros((1, 1, 1, 1), np.float32))
        bn = nn.BatchNorm2d(3)
        with pytest.raises(ValueError, match="3 channels"):
            bn(np.zeros((2, 4, 5, 5), np.float32))
        with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
            bn(np.zeros((2, 3, 5), np.float32))
        assert int(bn.num_batches_tracked) == 0   # a rejected input does not count
        with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, L\)"):
            nn.BatchNorm1d(3)(np.zeros((2, 3, 4, 4), np.float32))
        bn1 = nn.BatchNorm1d(3)
        with pytest.raises(ValueError, match="more than 1 value"):
            bn1(np.zeros((1, 3), np.float32))
        assert int(bn1.num_batches_tracked) == 0
        np.testing.assert_array_equal(bn1.running_var, np.ones(3, np.float32))
        with pytest.raises(ValueError, match=r"\(\*, 4\)"):
            nn.LayerNorm(4)(np.zeros((2, 5), np.float32))
        with pytest.raises(ValueError, match="kernel"):
            nn.MaxPool2d(5)(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="output_size 1 or"):
        nn.AdaptiveAvgPool2d(2)
    with pytest.raises(ValueError, match="output_size 1 or"):
        nn.AdaptiveAvgPool2d((1, 2))
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(NotImplementedError, match="asymmetric"):
        nn.Conv2d(3, 4, 2, padding="same")
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(TypeError, match="kernel_size"):
        nn.Conv2d(3, 4, 2.5)
    with pytest.raises(TypeError, match="float32 or float64"):
        nn.BatchNorm2d(3, dtype=np.int32)


def test_sequential_fuses_conv_relu(rng, dtype):
    """On the compiled backend Sequential runs Conv2d + ReLU as one fused call, with the same
    outputs and gradients as the unfused pair."""
    model = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1, dtype=dtype, rng=np.random.default_rng(0)),
                          nn.ReLU(), nn.Conv2d(5, 4, 3, dtype=dtype, rng=np.random.default_rng(1)),
                          nn.ReLU())
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    dy = rng.standard_normal((2, 4, 5, 4)).astype(dtype)
    results = []
    for fuse in (True, False):
        model.fuse = fuse
        model.zero_grad()
        y = model(x)
        assert (len(model._ctx) == 2) == fuse      # fused: only the two Conv2d steps ran
        dx = model.backward(dy)
        results.append([y, dx] + [p.grad for p in model.parameters()])
    for a, b in zip(*results):
        assert_close(a, b, dtype)
