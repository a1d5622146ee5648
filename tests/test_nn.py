"""fastnn.nn: Parameter/Module mechanics, layers against their kernels, whole-model gradients,
state_dict, PyTorch interoperability, bad input."""
from collections import OrderedDict

import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, TOL, needs_torch

BACKENDS = ["compiled", "reference"]


def mlp(dtype=np.float32, seed=0, sizes=(5, 7, 4), act=nn.Tanh):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, dtype=dtype, rng=seed + i))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class TwoLayer(nn.Module):
    """A hand-written model: attribute registration and its own backward."""

    def __init__(self, dtype=np.float64):
        super().__init__()
        self.fc1 = nn.Linear(3, 6, dtype=dtype, rng=1)
        self.act = nn.Sigmoid()
        self.fc2 = nn.Linear(6, 2, dtype=dtype, rng=2)
        self.scale = 2.0   # a plain attribute

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))

    def backward(self, dout):
        return self.fc1.backward(self.act.backward(self.fc2.backward(dout)))


# ---- Parameter --------------------------------------------------------------------------------

def test_parameter_basics():
    a = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    p = nn.Parameter(a)
    assert p.data.flags.c_contiguous and p.data.flags.writeable
    assert p.shape == (2, 3) and p.dtype == np.float32 and p.ndim == 2 and p.size == 6
    assert p.grad is None
    np.testing.assert_array_equal(p.data, a)
    c = np.zeros(3)
    assert nn.Parameter(c).data is c   # contiguous float input is kept, not copied
    ro = np.ones(2)
    ro.setflags(write=False)
    assert nn.Parameter(ro).data.flags.writeable
    assert "shape=(2, 3)" in repr(p)
    np.testing.assert_array_equal(np.asarray(p), a)


def test_parameter_rejects_bad_data():
    with pytest.raises(TypeError, match="float32 or float64"):
        nn.Parameter(np.arange(3))
    with pytest.raises(TypeError, match="ndarray"):
        nn.Parameter([1.0, 2.0])
    p = nn.Parameter(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        p.grad = np.zeros(3)
    with pytest.raises(ValueError, match="dtype"):
        p.grad = np.zeros((2, 2), np.float32)
    with pytest.raises(TypeError):
        p.grad = [[0.0, 0.0], [0.0, 0.0]]


# ---- Module mechanics -------------------------------------------------------------------------

def test_registration_and_names():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert len(list(m.parameters())) == 4 and m.scale == 2.0
    assert "scale" not in m._parameters and "scale" not in m._modules
    # reassigning replaces the registration; None keeps the slot
    m.fc2 = nn.Linear(6, 2, bias=False, dtype=np.float64)
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight"]
    with pytest.raises(TypeError, match="Parameter or None"):
        m.fc1.weight = np.zeros((6, 3))
    del m.act
    assert "act" not in m._modules
    with pytest.raises(AttributeError):
        m.act


def test_setattr_before_init_is_clear():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__"):
        Bad()


def test_shared_parameter_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_nested_sequential_names():
    model = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), nn.Linear(3, 1))
    assert list(model.state_dict()) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]


def test_train_eval_recursive():
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.1)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad(rng):
    model = mlp()
    x = rng.standard_normal((4, 5)).astype(np.float32)
    model.backward(np.ones_like(model(x)))
    assert all(p.grad is not None for p in model.parameters())
    grads = [p.grad for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    assert all(p.grad is g and not g.any() for p, g in zip(model.parameters(), grads))
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_to_dtype(rng):
    model = mlp(np.float32)
    x = rng.standard_normal((3, 5))
    y32 = model(x.astype(np.float32))
    model.to(np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
    y64 = model(x)
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y64, y32, rtol=1e-5, atol=1e-6)
    assert model.float() is model and model[0].weight.dtype == np.float32


def test_repr():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10, bias=False))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.2, inplace=False)\n"
        "  (3): Linear(in_features=256, out_features=10, bias=False)\n"
        ")")


@needs_torch
def test_repr_matches_torch():
    import torch
    ours = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.LeakyReLU(0.1), nn.GELU(), nn.Sigmoid(),
                         nn.Sequential(nn.Tanh(), nn.Softmax(dim=-1)), nn.LogSoftmax(dim=1),
                         nn.Dropout(0.5), nn.ReLU())
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.LeakyReLU(0.1),
                                 torch.nn.GELU(), torch.nn.Sigmoid(),
                                 torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Softmax(dim=-1)),
                                 torch.nn.LogSoftmax(dim=1), torch.nn.Dropout(0.5), torch.nn.ReLU())
    assert repr(ours) == repr(theirs)
    assert repr(nn.CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss())
    assert repr(nn.MSELoss(reduction="sum")) == repr(torch.nn.MSELoss(reduction="sum"))


# ---- Sequential -------------------------------------------------------------------------------

def test_sequential_list_access():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b and list(seq) == [a, b]
    seq.append(c)
    assert seq[2] is c and list(seq._modules) == ["0", "1", "2"]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c] and list(sub._modules) == ["1", "2"]
    del seq[1]
    assert list(seq) == [a, c] and list(seq._modules) == ["0", "1"]
    seq.insert(1, b)
    assert list(seq) == [a, b, c]
    t = nn.Tanh()
    seq.insert(-1, t)
    assert list(seq) == [a, b, t, c]
    seq[2] = nn.Sigmoid()
    assert isinstance(seq[2], nn.Sigmoid)
    with pytest.raises(IndexError):
        seq[4]
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.ReLU(), "relu")
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.act is named[1]


# ---- initialisation ---------------------------------------------------------------------------

def test_linear_init_bounds_and_seed():
    lin = nn.Linear(400, 300)
    k = 1 / np.sqrt(400)
    assert lin.weight.shape == (300, 400) and lin.bias.shape == (300,)
    assert lin.weight.dtype == np.float32
    for a in (lin.weight.data, lin.bias.data):
        assert np.abs(a).max() <= k and np.abs(a).max() > 0.95 * k
    assert abs(lin.weight.data.std() - k / np.sqrt(3)) < 0.02 * k   # U(-k, k) has std k/sqrt(3)
    fastnn.manual_seed(7)
    w1 = nn.Linear(5, 4).weight.data.copy()
    fastnn.manual_seed(7)
    w2 = nn.Linear(5, 4).weight.data.copy()
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(nn.Linear(5, 4, rng=3).weight.data, nn.Linear(5, 4, rng=3).weight.data)
    # the same draw in both dtypes
    np.testing.assert_allclose(nn.Linear(5, 4, rng=3, dtype=np.float64).weight.data,
                               nn.Linear(5, 4, rng=3).weight.data, rtol=1e-7)


def test_init_helpers():
    w = np.empty((50, 20))
    nn.init.xavier_uniform_(w, rng=0)
    assert np.abs(w).max() <= np.sqrt(6 / 70)
    nn.init.kaiming_normal_(w, nonlinearity="relu", rng=0)
    assert abs(w.std() - np.sqrt(2 / 20)) < 0.03
    assert nn.init.calculate_fan_in_and_fan_out(np.empty((8, 3, 5, 5))) == (75, 200)
    nn.init.zeros_(w)
    assert not w.any()


# ---- layers against their kernels -------------------------------------------------------------

ELEMENTWISE = [
    (nn.ReLU, "relu", ()),
    (lambda: nn.LeakyReLU(0.2), "leaky_relu", (0.2,)),
    (nn.Sigmoid, "sigmoid", ()),
    (nn.Tanh, "tanh", ()),
    (nn.GELU, "gelu", ()),
    (nn.Sign, "sign", ()),
    (lambda: nn.Softmax(dim=1), "softmax", (1,)),
    (lambda: nn.LogSoftmax(dim=-1), "log_softmax", (-1,)),
]


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("make_layer,op,args", ELEMENTWISE, ids=[e[1] for e in ELEMENTWISE])
def test_elementwise_layers_match_kernels(rng, dtype, name, make_layer, op, args):
    kern = F if name == "compiled" else R
    x = rng.standard_normal((4, 6)).astype(dtype)
    dy = rng.standard_normal((4, 6)).astype(dtype)
    layer = make_layer()
    with fastnn.use_backend(name):
        y = layer(x)
    want, ctx = getattr(kern, op + "_forward")(x, *args)
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(layer.backward(dy), getattr(kern, op + "_backward")(dy, ctx))


@pytest.mark.parametrize("name", BACKENDS)
def test_linear_matches_kernel(rng, dtype, name):
    kern = F if name == "compiled" else R
    lin = nn.Linear(6, 3, dtype=dtype, rng=0)
    x, dy = rng.standard_normal((5, 6)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    with fastnn.use_backend(name):
        y = lin(x)
    want, ctx = kern.linear_forward(x, lin.weight.data, lin.bias.data)
    np.testing.assert_array_equal(y, want)
    dx = lin.backward(dy)
    gx, gw, gb = kern.linear_backward(dy, ctx)
    np.testing.assert_array_equal(dx, gx)
    np.testing.assert_array_equal(lin.weight.grad, gw)
    np.testing.assert_array_equal(lin.bias.grad, gb)


def test_linear_nd_input_and_no_bias(rng, dtype):
    lin = nn.Linear(4, 3, bias=False, dtype=dtype, rng=0)
    x = rng.standard_normal((2, 5, 4)).astype(dtype)
    y = lin(x)
    assert y.shape == (2, 5, 3)
    assert_close(y, x @ lin.weight.data.T, dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = lin.backward(dy)
    assert dx.shape == x.shape and lin.bias is None
    assert_close(dx, dy @ lin.weight.data, dtype)
    assert_close(lin.weight.grad, dy.reshape(-1, 3).T @ x.reshape(-1, 4), dtype)


def test_backend_pairing_survives_switch(rng):
    # backward pairs with the backend of the forward, even if the backend changed in between
    lin = nn.Linear(3, 2, dtype=np.float64, rng=0)
    x = rng.standard_normal((2, 3))
    with fastnn.use_backend("reference"):
        lin(x)
    assert lin._backend is R
    lin.backward(np.ones((2, 2)))
    np.testing.assert_allclose(lin.bias.grad, [2.0, 2.0])


def test_flatten(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    f = nn.Flatten()
    y = f(x)
    assert y.shape == (2, 60) and np.shares_memory(y, x)
    assert f.backward(np.ones_like(y)).shape == x.shape
    assert nn.Flatten(0, -1)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    with pytest.raises(ValueError, match="out of range"):
        nn.Flatten(4)(x)


def test_identity(rng):
    x = rng.standard_normal((2, 3))
    m = nn.Identity()
    assert m(x) is x and m.backward(x) is x


# ---- Dropout ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BACKENDS)
def test_dropout_train_and_eval(rng, name):
    x = rng.standard_normal((200, 50)).astype(np.float32) + 3.0   # no zeros in x
    d = nn.Dropout(0.3, rng=0)
    with fastnn.use_backend(name):
        y = d(x)
        kept = y != 0
        assert 0.65 < kept.mean() < 0.75
        np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-6)
        dx = d.backward(np.ones_like(x))
        np.testing.assert_allclose(dx, kept / np.float32(0.7), rtol=1e-6)
        y2 = d(x)
        assert (y2 != y).any()                         # a fresh mask per call
        d.eval()
        assert d(x) is x                               # identity in eval mode
        assert d.backward(x) is x
        d.train()
        # the same seed gives the same masks
        a, b = nn.Dropout(0.5, rng=11), nn.Dropout(0.5, rng=11)
        np.testing.assert_array_equal(a(x), b(x))
    assert nn.Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# ---- losses -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_kernels(rng, dtype, name, reduction):
    kern = F if name == "compiled" else R
    logits = rng.standard_normal((6, 4)).astype(dtype)
    target = rng.integers(0, 4, 6)
    pred, goal = rng.standard_normal((6, 3)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    cases = [(nn.CrossEntropyLoss(reduction=reduction, ignore_index=2), "cross_entropy", logits, target,
              dict(reduction=reduction, ignore_index=2)),
             (nn.NLLLoss(reduction=reduction), "nll_loss", logp, target, dict(reduction=reduction)),
             (nn.MSELoss(reduction=reduction), "mse_loss", pred, goal, dict(reduction=reduction)),
             (nn.L1Loss(reduction=reduction), "l1_loss", pred, goal, dict(reduction=reduction))]
    for module, op, a, b, kw in cases:
        with fastnn.use_backend(name):
            loss = module(a, b)
        want, ctx = getattr(kern, op + "_forward")(a, b, **kw)
        np.testing.assert_array_equal(loss, want)
        dloss = (np.ones_like(want) if reduction != "none"
                 else rng.standard_normal(want.shape).astype(dtype))
        got = module.backward() if reduction != "none" else module.backward(dloss)
        np.testing.assert_array_equal(got, getattr(kern, op + "_backward")(dloss, ctx))
        if reduction != "none":   # a scalar dloss scales the gradient
            assert_close(module.backward(2.5), 2.5 * got, dtype)


# ---- whole-model gradients --------------------------------------------------------------------

def model_gradcheck(model, loss_fn, x, y):
    """gradcheck the loss of model(x) against y with respect to every parameter (float64)."""
    params = list(model.parameters())

    def set_params(arrays):
        for p, a in zip(params, arrays):
            p.data = a   # gradcheck perturbs these very arrays in place

    def fn(*arrays):
        set_params(arrays)
        return loss_fn(model(x), y)

    def analytic(dout, *arrays):
        set_params(arrays)
        model.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(dout))
        return [p.grad for p in params]

    gradcheck(fn, [p.data for p in params], analytic=analytic, **TOL["gradcheck"],
              names=[n for n, _ in model.named_parameters()])


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("act", [nn.Tanh, nn.Sigmoid, nn.GELU])
def test_gradcheck_model_cross_entropy(rng, name, act):
    model = mlp(np.float64, sizes=(5, 7, 6, 4), act=act)
    x = rng.standard_normal((8, 5))
    y = rng.integers(0, 4, 8)
    with fastnn.use_backend(name):
        model_gradcheck(model, nn.CrossEntropyLoss(), x, y)


@pytest.mark.parametrize("name", BACKENDS)
def test_gradcheck_model_mse_with_softmax(rng, name):
    model = nn.Sequential(nn.Linear(4, 6, dtype=np.float64, rng=0), nn.LeakyReLU(0.1),
                          nn.Linear(6, 3, dtype=np.float64, rng=1), nn.Softmax(dim=1))
    x = rng.standard_normal((5, 4))
    with fastnn.use_backend(name):
        model_gradcheck(model, nn.MSELoss(reduction="sum"), x, rng.standard_normal((5, 3)))
        model_gradcheck(TwoLayer(), nn.L1Loss(), rng.standard_normal((4, 3)), rng.standard_normal((4, 2)))


@pytest.mark.parametrize("name", BACKENDS)
def test_gradcheck_model_nll_logsoftmax(rng, name):
    model = nn.Sequential(nn.Linear(4, 5, dtype=np.float64, rng=0), nn.Tanh(),
                          nn.Linear(5, 3, dtype=np.float64, rng=1), nn.LogSoftmax(dim=1))
    with fastnn.use_backend(name):
        model_gradcheck(model, nn.NLLLoss(), rng.standard_normal((6, 4)), rng.integers(0, 3, 6))


def test_grad_accumulates_over_two_backwards(rng):
    model = mlp(np.float64)
    x, dy = rng.standard_normal((4, 5)), rng.standard_normal((4, 4))
    model(x)
    model.backward(dy)
    first = [p.grad.copy() for p in model.parameters()]
    model(x)
    model.backward(dy)
    for p, g in zip(model.parameters(), first):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-12)
    # a hand-written Module accumulates too
    m = TwoLayer()
    m(x[:, :3])
    m.backward(dy[:, :2])
    g1 = m.fc1.weight.grad.copy()
    m(x[:, :3])
    m.backward(dy[:, :2])
    np.testing.assert_allclose(m.fc1.weight.grad, 2 * g1, rtol=1e-12)


@pytest.mark.parametrize("act", [nn.ReLU, nn.Sigmoid, nn.Tanh])
def test_fused_sequential_equals_unfused(rng, dtype, act):
    model = mlp(dtype, sizes=(6, 9, 5, 3), act=act)
    x = rng.standard_normal((7, 6)).astype(dtype)
    dy = rng.standard_normal((7, 3)).astype(dtype)
    results = []
    for fuse in (True, False):
        model.fuse = fuse
        model.zero_grad()
        y = model(x)
        fused = sum(1 for s in model._ctx if isinstance(s, nn.Linear)) == 3 and len(model._ctx) == 3
        assert fused == fuse
        dx = model.backward(dy)
        results.append([y, dx] + [p.grad for p in model.parameters()])
    for a, b in zip(*results):
        assert_close(a, b, dtype, approx=True)


def test_reference_backend_is_not_fused(rng):
    model = mlp(np.float64, sizes=(3, 4, 2), act=nn.ReLU)
    with fastnn.use_backend("reference"):
        model(rng.standard_normal((2, 3)))
    assert len(model._ctx) == 3


# ---- state_dict -------------------------------------------------------------------------------

def test_state_dict_round_trip(rng, tmp_path):
    a, b = mlp(seed=0), mlp(seed=10)
    sd = a.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["0.bias"][:] = 0   # a copy: the model is unchanged
    assert a[0].bias.data.any()
    w_obj = b[0].weight.data
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert b[0].weight.data is w_obj   # loaded in place: optimizers keep their references
    x = rng.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(a(x), b(x))
    path = tmp_path / "model.npz"
    a.save(path)
    c = mlp(seed=20)
    c.load(path)
    np.testing.assert_array_equal(a(x), c(x))
    a.save(tmp_path / "noext")   # numpy appends .npz
    c.load(tmp_path / "noext.npz")


def test_load_state_dict_errors():
    model = mlp()
    sd = model.state_dict()
    bad = dict(sd)
    del bad["2.bias"]
    with pytest.raises(KeyError, match=r"missing key\(s\): '2.bias'"):
        model.load_state_dict(bad)
    bad = dict(sd, extra=np.zeros(1))
    with pytest.raises(KeyError, match=r"unexpected key\(s\): 'extra'"):
        model.load_state_dict(bad)
    res = model.load_state_dict(bad, strict=False)
    assert res.unexpected_keys == ["extra"]
    bad = dict(sd)
    bad["0.weight"] = np.zeros((7, 4), np.float32)
    with pytest.raises(ValueError, match=r"0.weight.*\(7, 4\).*\(7, 5\)"):
        model.load_state_dict(bad)
    bad = dict(sd)
    bad["0.weight"] = sd["0.weight"].astype(np.float64)
    with pytest.raises(TypeError, match="dtype float64.*float32"):
        model.load_state_dict(bad)
    # nothing was copied by the failed loads
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    with pytest.raises(TypeError):
        model.load_state_dict([1, 2])


@needs_torch
def test_load_torch_state_dict(rng):
    import torch
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8),
                                 torch.nn.Tanh(), torch.nn.Linear(8, 5), torch.nn.LogSoftmax(dim=1))
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 5),
                          nn.LogSoftmax(dim=1))
    model.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    assert list(model.state_dict()) == list(tmodel.state_dict())
    x = rng.standard_normal((9, 12)).astype(np.float32)
    with torch.no_grad():
        want = tmodel(torch.from_numpy(x)).numpy()
    for name in BACKENDS:
        with fastnn.use_backend(name):
            assert_close(model(x), want, np.float32, approx=True)
    # torch tensors are accepted directly, and our state_dict loads back into torch
    model.load_state_dict(tmodel.state_dict())
    tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})


@needs_torch
def test_gradients_match_torch(rng):
    import torch
    torch.manual_seed(1)
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.Sigmoid(), torch.nn.Linear(10, 4)).double()
    model = nn.Sequential(nn.Linear(6, 10), nn.Sigmoid(), nn.Linear(10, 4)).double()
    model.load_state_dict(tmodel.state_dict())
    x = rng.standard_normal((7, 6))
    y = rng.integers(0, 4, 7)
    tloss = torch.nn.CrossEntropyLoss()(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    assert_close(loss, np.asarray(tloss.item()), np.float64)
    for (name, p), tp in zip(model.named_parameters(), tmodel.parameters()):
        assert_close(p.grad, tp.grad.numpy(), np.float64, what=name)


def test_linear_init_matches_torch_scheme():
    # torch.nn.Linear draws weight and bias from U(-1/sqrt(in), 1/sqrt(in)); so do we
    lin = nn.Linear(3, 1000)
    assert np.abs(lin.weight.data).max() <= 1 / np.sqrt(3)
    assert np.abs(lin.bias.data).max() <= 1 / np.sqrt(3)
    assert np.abs(lin.bias.data).max() > 0.9 / np.sqrt(3)


# ---- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BACKENDS)
def test_bad_input_to_layers(rng, name):
    lin = nn.Linear(4, 3)
    with fastnn.use_backend(name):
        with pytest.raises(ValueError, match=r"Linear\(in_features=4.*expects input of shape \(N, 4\).*\(2, 5\)"):
            lin(rng.standard_normal((2, 5)).astype(np.float32))
        with pytest.raises(TypeError, match="float32 weights but got an input of dtype float64"):
            lin(rng.standard_normal((2, 4)))
        with pytest.raises(TypeError, match="uint8"):
            lin(np.zeros((2, 4), np.uint8))
        with pytest.raises(TypeError, match="ndarray"):
            lin([[0.0] * 4])
        with pytest.raises(RuntimeError, match="before forward"):
            nn.Linear(4, 3).backward(np.zeros((2, 3), np.float32))
        with pytest.raises(RuntimeError, match="before forward"):
            nn.ReLU().backward(np.zeros(3))
        with pytest.raises(TypeError):
            nn.ReLU()(np.arange(3))
        with pytest.raises(TypeError):
            nn.Dropout(0.5)(np.arange(3))
        lin(rng.standard_normal((2, 4)).astype(np.float32))
        with pytest.raises(ValueError):
            lin.backward(np.zeros((2, 4), np.float32))
        with pytest.raises(ValueError):
            nn.CrossEntropyLoss()(rng.standard_normal((3, 4)).astype(np.float32), np.array([0, 1]))
    with pytest.raises(TypeError, match="int"):
        nn.Linear(4.0, 3)
    with pytest.raises(TypeError, match="float32 or float64"):
        nn.Linear(4, 3, dtype=np.int32)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(NotImplementedError, match="tanh"):
        nn.GELU(approximate="tanh")
    with pytest.raises(NotImplementedError, match="backward"):
        nn.Module().backward(np.zeros(1))


class WithStats(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2, dtype=np.float64, rng=0)
        self.drop = nn.Dropout(0.5, rng=0)
        self.register_buffer("running_mean", np.zeros(2))
        self.register_buffer("scratch", np.zeros(5), persistent=False)

    def forward(self, x):
        return self.drop(self.fc(x)) - self.running_mean


def test_buffers_in_state_dict_and_copies(rng):
    m = WithStats().eval()
    assert list(m.state_dict()) == ["running_mean", "fc.weight", "fc.bias"]   # torch's order
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "scratch"]
    sd = m.state_dict()
    sd["running_mean"] = np.array([1.0, 2.0])
    m.load_state_dict(sd)
    np.testing.assert_array_equal(m.running_mean, [1.0, 2.0])
    with pytest.raises(TypeError, match="buffer"):
        m.running_mean = [0.0, 0.0]
    import copy
    import pickle
    x = rng.standard_normal((2, 3))
    m(x)   # a pending ctx (not picklable) is not copied
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        with pytest.raises(RuntimeError, match="before forward"):
            clone.fc.backward(np.ones((2, 2)))
        np.testing.assert_array_equal(clone(x), m(x))
        clone.fc.weight.data[...] = 0
        assert m.fc.weight.data.any()
