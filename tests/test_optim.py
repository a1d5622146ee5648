"""optim family: fused update kernels (parity compiled vs reference over dtypes, shapes and every
option combination; layouts; bad input), and the optimizer classes (trajectories on both
backends and against torch.optim, zero_grad, state_dict)."""
import copy
import itertools

import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn import optim
from fastnn._config import compiled_modules
from conftest import assert_close, make, LAYOUTS, needs_torch

IMPLS = pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
# (), N=1, odd sizes, several dims, empty, and one large enough to be split across threads
SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4), (0,), (70001,)]


class FakeParam:
    """What the optimizers need of a parameter: .data (ndarray) and .grad (ndarray or None)."""

    def __init__(self, data):
        self.data = data
        self.grad = None


# ----------------------------------------------------------------------------- kernel helpers
# Each optimizer: its kernel name, the state buffers it takes (positional, after grad), how to
# initialise them, and the grid of options. run(impl, p, g, states, opts) performs one step.

def _pos(rng, shape, dtype):
    return np.array(np.abs(make(rng, shape, dtype)), dtype=dtype)   # a 0-d array stays an array


def _sgd_states(rng, shape, dtype, o):
    return [make(rng, shape, dtype) if o["momentum"] else None]


def _run_sgd(impl, p, g, s, o):
    impl.sgd_step(p, g, s[0], 0.05, o["momentum"], o["dampening"], o["nesterov"],
                  o["weight_decay"], o["maximize"], o["first_step"])


def _adagrad_states(rng, shape, dtype, o):
    return [_pos(rng, shape, dtype)]


def _run_adagrad(impl, p, g, s, o):
    impl.adagrad_step(p, g, s[0], o["step"], 0.05, o["lr_decay"], o["weight_decay"], 1e-10,
                      o["maximize"])


def _rmsprop_states(rng, shape, dtype, o):
    ga = np.array(0.1 * make(rng, shape, dtype), dtype=dtype)
    sq = np.array(ga * ga + _pos(rng, shape, dtype), dtype=dtype)   # square_avg >= grad_avg^2
    return [sq, make(rng, shape, dtype) if o["momentum"] else None, ga if o["centered"] else None]


def _run_rmsprop(impl, p, g, s, o):
    impl.rmsprop_step(p, g, s[0], s[1], s[2], 0.01, o["alpha"], 1e-8, o["weight_decay"],
                      o["momentum"], o["centered"], o["maximize"])


def _adam_states(rng, shape, dtype, o):
    return [make(rng, shape, dtype), _pos(rng, shape, dtype),
            _pos(rng, shape, dtype) if o["amsgrad"] else None]


def _run_adam(impl, p, g, s, o):
    impl.adam_step(p, g, s[0], s[1], o["step"], 0.01, o["beta1"], 0.999, 1e-8, o["weight_decay"],
                   o["amsgrad"], s[2], o["maximize"])


def _run_adamw(impl, p, g, s, o):
    impl.adamw_step(p, g, s[0], s[1], o["step"], 0.01, o["beta1"], 0.999, 1e-8,
                    o["weight_decay"], o["amsgrad"], s[2], o["maximize"])


def grid(**axes):
    keys = list(axes)
    return [dict(zip(keys, vals)) for vals in itertools.product(*axes.values())]


SGD_OPTS = [o for o in grid(momentum=[0.0, 0.9], dampening=[0.0, 0.3], nesterov=[False, True],
                            weight_decay=[0.0, 0.1], maximize=[False, True],
                            first_step=[False, True])
            if not (o["nesterov"] and (o["momentum"] == 0 or o["dampening"] != 0))]
ADAGRAD_OPTS = grid(lr_decay=[0.0, 0.1], weight_decay=[0.0, 0.1], maximize=[False, True],
                    step=[1, 5])
# alpha 0.3: lerp weight 0.7 takes torch's other lerp branch
RMSPROP_OPTS = grid(momentum=[0.0, 0.9], centered=[False, True], weight_decay=[0.0, 0.1],
                    maximize=[False, True], alpha=[0.99, 0.3])
ADAM_OPTS = grid(amsgrad=[False, True], weight_decay=[0.0, 0.1], maximize=[False, True],
                 beta1=[0.9, 0.3], step=[1, 7])

KERNELS = {
    "sgd": (_sgd_states, _run_sgd, SGD_OPTS),
    "adagrad": (_adagrad_states, _run_adagrad, ADAGRAD_OPTS),
    "rmsprop": (_rmsprop_states, _run_rmsprop, RMSPROP_OPTS),
    "adam": (_adam_states, _run_adam, ADAM_OPTS),
    "adamw": (_adam_states, _run_adamw, ADAM_OPTS),
}


def _opt_id(o):
    return ",".join(f"{k}={v}" for k, v in o.items())


def _kernel_params():
    return [pytest.param(name, o, id=f"{name}[{_opt_id(o)}]")
            for name, (_, _, opts) in KERNELS.items() for o in opts]


def _step_both(rng, name, opts, shape, dtype, grad_layout="c"):
    """One step on both backends from the same start; returns (compiled, reference) results
    as lists [param, *states] and the gradient."""
    init, run, _ = KERNELS[name]
    p0 = make(rng, shape, dtype)
    g = make(rng, shape, dtype, grad_layout)
    s0 = init(rng, shape, dtype, opts)
    out = []
    for impl in (F, R):
        p = p0.copy()
        s = [None if a is None else a.copy() for a in s0]
        assert run(impl, p, g, s, opts) is None
        out.append([p] + s)
    return out, g


# ------------------------------------------------------------------------------ kernel parity

@pytest.mark.parametrize("name,opts", _kernel_params())
def test_kernel_parity(rng, dtype, name, opts):
    for shape in SHAPES[:-1]:
        (got, want), _ = _step_both(rng, name, opts, shape, dtype)
        for a, b, what in zip(got, want, ["param", "state0", "state1", "state2"]):
            assert_close(a, b, dtype, f"{name} {shape} {what}")


@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_parity_threaded(rng, dtype, name):
    # every option on, on an array large enough to be split over threads
    opts = {"sgd": SGD_OPTS[-1], "adagrad": ADAGRAD_OPTS[-1], "rmsprop": RMSPROP_OPTS[-1],
            "adam": ADAM_OPTS[-1], "adamw": ADAM_OPTS[-1]}[name]
    opts = dict(opts, **({"beta1": 0.9} if "beta1" in opts else {}),
                **({"alpha": 0.99} if "alpha" in opts else {}))
    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        try:
            (got, want), _ = _step_both(rng, name, opts, SHAPES[-1], dtype)
        finally:
            for mod in compiled_modules():   # back to following OpenMP
                mod._set_num_threads(0)
        for a, b in zip(got, want):
            assert_close(a, b, dtype, name)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(KERNELS))
def test_grad_layouts_and_grad_untouched(rng, dtype, name, layout):
    opts = KERNELS[name][2][-1]
    (got, want), g = _step_both(rng, name, opts, (5, 6), dtype, layout)
    g_before = g.copy()
    for a, b in zip(got, want):
        assert_close(a, b, dtype, f"{name} grad {layout}")
    # the same step with a contiguous grad gives the same result, and grad was never written
    np.testing.assert_array_equal(g, g_before)


def test_byteswapped_grad(rng):
    p, g = make(rng, (4, 3), np.float64), make(rng, (4, 3), np.float64)
    for impl in (F, R):
        q = p.copy()
        impl.sgd_step(q, g.astype(">f8"), None, 0.1)
        assert_close(q, p - 0.1 * g, np.float64)


@IMPLS
def test_grad_aliasing_param(rng, impl):
    # grad sharing memory with param must read the gradient as it was on entry
    p0 = make(rng, (6,), np.float64)
    m, v = np.zeros(6), np.zeros(6)
    want = p0.copy()
    impl.adamw_step(want, p0.copy(), m.copy(), v.copy(), 1, 0.1)
    p = p0.copy()
    impl.adamw_step(p, p, m.copy(), v.copy(), 1, 0.1)
    assert_close(p, want, np.float64)
    q = p0.copy()
    impl.sgd_step(q, q[::-1], None, 0.5)   # overlapping, reversed
    assert_close(q, p0 - 0.5 * p0[::-1], np.float64)


def test_sgd_first_step_and_momentum_zero(rng, dtype):
    p0, g = make(rng, (9,), dtype), make(rng, (9,), dtype)
    for impl in (F, R):
        p, buf = p0.copy(), np.full(9, np.nan, dtype)   # first_step must overwrite, not read
        impl.sgd_step(p, g, buf, 0.1, momentum=0.9, dampening=0.5, first_step=True)
        np.testing.assert_array_equal(buf, g)          # no dampening on the first step
        assert_close(p, (p0 - dtype(0.1) * g).astype(dtype), dtype)
        p, buf = p0.copy(), np.full(9, 7, dtype)
        impl.sgd_step(p, g, buf, 0.1, momentum=0.0)
        np.testing.assert_array_equal(buf, np.full(9, 7, dtype))   # momentum 0: untouched


def test_amsgrad_nan_propagates():
    for impl in (F, R):
        p, g = np.ones(3), np.array([1.0, np.nan, 1.0])
        m, v, vm = np.zeros(3), np.zeros(3), np.zeros(3)
        impl.adam_step(p, g, m, v, 1, amsgrad=True, max_exp_avg_sq=vm)
        assert np.isnan(vm[1]) and np.isfinite(vm[[0, 2]]).all()


def test_returns_none_and_updates_in_place(rng):
    p = make(rng, (4,), np.float32)
    before = p.copy()
    ptr = p.ctypes.data
    assert F.adam_step(p, np.ones(4, np.float32), np.zeros(4, np.float32),
                       np.zeros(4, np.float32), 1) is None
    assert p.ctypes.data == ptr and not np.array_equal(p, before)


# ---------------------------------------------------------------------------------- bad input

def _adam_args(dtype=np.float32, shape=(3,)):
    return [np.zeros(shape, dtype), np.ones(shape, dtype), np.zeros(shape, dtype),
            np.zeros(shape, dtype)]


@IMPLS
def test_bad_arrays(impl):
    p, g, m, v = _adam_args()
    with pytest.raises(TypeError, match="param must be a numpy.ndarray"):
        impl.adam_step([0.0, 0.0, 0.0], g, m, v, 1)
    with pytest.raises(TypeError, match="param must have dtype float32 or float64, got int64"):
        impl.adam_step(np.zeros(3, np.int64), g, m, v, 1)
    with pytest.raises(TypeError, match="grad has dtype float64 but param has dtype float32"):
        impl.adam_step(p, g.astype(np.float64), m, v, 1)
    with pytest.raises(TypeError, match="exp_avg_sq has dtype float64 but param has dtype float32"):
        impl.adam_step(p, g, m, v.astype(np.float64), 1)
    with pytest.raises(TypeError, match="exp_avg must be a numpy.ndarray"):
        impl.adam_step(p, g, None, v, 1)
    with pytest.raises(ValueError, match=r"grad has shape \(4,\) but param has shape \(3,\)"):
        impl.adam_step(p, np.ones(4, np.float32), m, v, 1)
    with pytest.raises(ValueError, match=r"exp_avg has shape \(1, 3\) but param has shape \(3,\)"):
        impl.adam_step(p, g, np.zeros((1, 3), np.float32), v, 1)
    with pytest.raises(ValueError, match="max_exp_avg_sq has shape"):
        impl.adam_step(p, g, m, v, 1, amsgrad=True, max_exp_avg_sq=np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="max_exp_avg_sq is required when amsgrad=True"):
        impl.adam_step(p, g, m, v, 1, amsgrad=True)
    with pytest.raises(ValueError, match="momentum_buf is required when momentum != 0"):
        impl.sgd_step(p, g, None, 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="momentum_buf is required when momentum > 0"):
        impl.rmsprop_step(p, g, m, None, None, momentum=0.9)
    with pytest.raises(ValueError, match="grad_avg is required when centered=True"):
        impl.rmsprop_step(p, g, m, None, None, centered=True)
    with pytest.raises(TypeError, match="state_sum has dtype float64"):
        impl.adagrad_step(p, g, np.zeros(3), 1)
    with pytest.raises(ValueError, match="square_avg has shape"):
        impl.rmsprop_step(p, g, np.zeros(4, np.float32), None, None)


@IMPLS
@pytest.mark.parametrize("layout", ["f", "strided", "ro", "swapped"])
@pytest.mark.parametrize("which", ["param", "exp_avg", "exp_avg_sq"])
def test_not_updatable_in_place(rng, impl, layout, which):
    args = [make(rng, (4, 5), np.float64) for _ in range(4)]
    args[3] = np.abs(args[3])
    idx = {"param": 0, "exp_avg": 2, "exp_avg_sq": 3}[which]
    if layout == "swapped":
        args[idx] = args[idx].astype(">f8")
        reason = "byte-swapped"
    else:
        args[idx] = make(rng, (4, 5), np.float64, layout)
        reason = {"f": "non-contiguous", "strided": "non-contiguous", "ro": "read-only"}[layout]
    before = [a.copy() for a in args]
    with pytest.raises(ValueError, match=f"{which} is updated in place.*got a {reason} array"):
        impl.adam_step(args[0], args[1], args[2], args[3], 1)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


@IMPLS
def test_shared_state_buffers_rejected(impl):
    p, g, m, v = _adam_args()
    with pytest.raises(ValueError, match="exp_avg_sq and exp_avg share memory"):
        impl.adam_step(p, g, m, m, 1)
    with pytest.raises(ValueError, match="exp_avg and param share memory"):
        impl.adam_step(p, g, p, v, 1)
    with pytest.raises(ValueError, match="momentum_buf and param share memory"):
        impl.sgd_step(p, g, p, 0.1, momentum=0.5)


@IMPLS
def test_bad_hyperparameters(impl):
    p, g, m, v = _adam_args()
    cases = [
        (lambda: impl.sgd_step(p, g, None, -0.1), "Invalid learning rate: -0.1"),
        (lambda: impl.sgd_step(p, g, m, 0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
        (lambda: impl.sgd_step(p, g, None, 0.1, weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
        (lambda: impl.sgd_step(p, g, None, 0.1, nesterov=True), "Nesterov momentum requires"),
        (lambda: impl.sgd_step(p, g, m, 0.1, momentum=0.9, dampening=0.1, nesterov=True),
         "Nesterov momentum requires"),
        (lambda: impl.sgd_step(p, g, None, float("nan")), "Invalid learning rate: nan"),
        (lambda: impl.adagrad_step(p, g, m, 0), r"step must be >= 1 \(steps count from 1\), got 0"),
        (lambda: impl.adagrad_step(p, g, m, 1, lr_decay=-1.0), "Invalid lr_decay value"),
        (lambda: impl.adagrad_step(p, g, m, 1, eps=-1.0), "Invalid epsilon value: -1.0"),
        (lambda: impl.rmsprop_step(p, g, m, None, None, alpha=-0.1), "Invalid alpha value: -0.1"),
        (lambda: impl.rmsprop_step(p, g, m, None, None, lr=-1.0), "Invalid learning rate"),
        (lambda: impl.adam_step(p, g, m, v, 1, beta1=1.0), "Invalid beta parameter at index 0: 1.0"),
        (lambda: impl.adam_step(p, g, m, v, 1, beta2=-0.1), "Invalid beta parameter at index 1: -0.1"),
        (lambda: impl.adamw_step(p, g, m, v, 1, weight_decay=-0.1), "Invalid weight_decay value"),
        (lambda: impl.adamw_step(p, g, m, v, -3), "step must be >= 1"),
    ]
    for call, msg in cases:
        with pytest.raises(ValueError, match=msg):
            call()
    np.testing.assert_array_equal(p, 0)    # nothing was touched
    with pytest.raises(TypeError):
        impl.adam_step(p, g, m, v, 1.5)    # step is an integer
    with pytest.raises(TypeError):
        impl.sgd_step(p, g, None, None)


# ------------------------------------------------------------------------ optimizer classes

def _make_params(rng, dtype):
    return [FakeParam(make(rng, (3, 5), dtype)), FakeParam(make(rng, (4,), dtype)),
            FakeParam(make(rng, (2, 2), dtype))]


def _grads(rng, params, steps, dtype):
    """A fixed gradient sequence; the second parameter has no gradient every third step."""
    seq = []
    for k in range(steps):
        seq.append([None if (i == 1 and k % 3 == 2) else make(rng, p.data.shape, dtype)
                    for i, p in enumerate(params)])
    return seq


OPTIMIZER_CASES = (
    [("SGD", o) for o in grid(lr=[0.05], momentum=[0.0, 0.9], dampening=[0.0, 0.2],
                              nesterov=[False, True], weight_decay=[0.0, 0.1],
                              maximize=[False, True])
     if not (o["nesterov"] and (o["momentum"] == 0 or o["dampening"] != 0))]
    + [("Adagrad", o) for o in grid(lr=[0.1], lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1],
                                    initial_accumulator_value=[0.0, 0.5], maximize=[False, True])]
    + [("RMSprop", o) for o in grid(lr=[0.01], momentum=[0.0, 0.9], centered=[False, True],
                                    weight_decay=[0.0, 0.1], maximize=[False, True])]
    + [("Adam", o) for o in grid(lr=[0.05], amsgrad=[False, True], weight_decay=[0.0, 0.1],
                                 maximize=[False, True])]
    + [("AdamW", o) for o in grid(lr=[0.05], amsgrad=[False, True], weight_decay=[0.0, 0.1],
                                  maximize=[False, True])]
)
OPT_PARAMS = [pytest.param(n, o, id=f"{n}[{_opt_id(o)}]") for n, o in OPTIMIZER_CASES]


def _groups(params, opts):
    # two groups: the second overrides lr
    return [{"params": params[:2]}, {"params": params[2:], "lr": opts["lr"] * 0.5}]


def _step(opt, params, gs):
    """One opt.step() with gs[i] as the gradient of params[i]."""
    for p, g in zip(params, gs):
        p.grad = g
    opt.step()


def _trajectory(name, opts, params0, grads, backend):
    params = [FakeParam(p.data.copy()) for p in params0]
    opt = getattr(optim, name)(_groups(params, opts), **opts)
    out = []
    with fastnn.use_backend(backend):
        for gs in grads:
            _step(opt, params, gs)
            out.append([p.data.copy() for p in params])
    return out, opt


@pytest.mark.parametrize("name,opts", OPT_PARAMS)
def test_trajectory_backends_agree(rng, dtype, name, opts):
    params = _make_params(rng, dtype)
    grads = _grads(rng, params, 12, dtype)
    got, opt_c = _trajectory(name, opts, params, grads, "compiled")
    want, opt_r = _trajectory(name, opts, params, grads, "reference")
    for k, (a, b) in enumerate(zip(got, want)):
        for x, y in zip(a, b):
            assert x.dtype == dtype
            assert_close(x, y, dtype, f"{name} step {k}")
    sc, sr = opt_c.state_dict()["state"], opt_r.state_dict()["state"]
    assert sc.keys() == sr.keys()
    for i in sc:
        assert sc[i].keys() == sr[i].keys()
        for key in sc[i]:
            if isinstance(sc[i][key], np.ndarray):
                assert_close(sc[i][key], sr[i][key], dtype, f"{name} state {key}")
            else:
                assert sc[i][key] == sr[i][key]


def _torch_trajectory(name, opts, params0, grads):
    import torch
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params0]
    groups = [{"params": tparams[:2]}, {"params": tparams[2:], "lr": opts["lr"] * 0.5}]
    opt = getattr(torch.optim, name)(groups, foreach=False, **opts)
    out = []
    for gs in grads:
        for t, g in zip(tparams, gs):
            t.grad = None if g is None else torch.tensor(g)
        opt.step()
        out.append([t.detach().numpy().copy() for t in tparams])
    return out, opt


@needs_torch
@pytest.mark.parametrize("backend", ["compiled", "reference"])
@pytest.mark.parametrize("name,opts", OPT_PARAMS)
def test_trajectory_matches_torch(rng, name, opts, backend):
    params = _make_params(rng, np.float64)
    grads = _grads(rng, params, 20, np.float64)
    got, opt = _trajectory(name, opts, params, grads, backend)
    want, topt = _torch_trajectory(name, opts, params, grads)
    for k, (a, b) in enumerate(zip(got, want)):
        for x, y in zip(a, b):
            assert_close(x, y, np.float64, f"{name} step {k}")
    ours, theirs = opt.state_dict()["state"], topt.state_dict()["state"]
    assert sorted(ours) == sorted(theirs)
    for i in ours:
        assert sorted(ours[i]) == sorted(k for k, v in theirs[i].items() if v is not None)
        for key, value in ours[i].items():
            if key == "step":
                assert value == int(theirs[i][key])
            else:
                assert_close(value, theirs[i][key].numpy(), np.float64, f"{name} {key}")


def test_uses_current_backend(rng, monkeypatch):
    calls = []
    monkeypatch.setattr(R, "adam_step", lambda *a, **k: calls.append("reference"))
    p = FakeParam(make(rng, (3,), np.float32))
    p.grad = np.ones(3, np.float32)
    opt = optim.Adam([p])
    opt.step()
    assert calls == []
    with fastnn.use_backend("reference"):
        opt.step()
    assert calls == ["reference"]


def test_skips_params_without_grad_and_lazy_state(rng):
    a, b = FakeParam(make(rng, (3,), np.float64)), FakeParam(make(rng, (2,), np.float64))
    b0 = b.data.copy()
    opt = optim.Adam([a, b], lr=0.1)
    assert len(opt.state) == 0
    a.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(b.data, b0)
    assert b not in opt.state and opt.state[a]["step"] == 1
    assert set(opt.state[a]) == {"step", "exp_avg", "exp_avg_sq"}


def test_zero_grad(rng):
    a, b = FakeParam(make(rng, (3,), np.float32)), FakeParam(make(rng, (2,), np.float32))
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = np.ones(3, np.float32)
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and np.all(g == 0) and b.grad is None
    ro = np.ones(3, np.float32)
    ro.setflags(write=False)
    a.grad = ro
    opt.zero_grad(set_to_none=False)
    assert np.all(a.grad == 0) and np.all(ro == 1)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_closure(rng):
    p = FakeParam(make(rng, (2,), np.float64))
    p.grad = np.ones(2)
    assert optim.SGD([p], lr=0.1).step(lambda: 3.5) == 3.5


def test_defaults_match_torch_signatures():
    p = FakeParam(np.zeros(2))
    assert optim.SGD([p]).defaults["lr"] == 1e-3
    assert optim.Adagrad([p]).defaults["eps"] == 1e-10
    assert optim.RMSprop([p]).defaults["alpha"] == 0.99
    assert optim.Adam([p]).defaults["betas"] == (0.9, 0.999)
    assert optim.AdamW([p]).defaults["weight_decay"] == 0.01
    assert optim.AdamW([p]).param_groups[0]["decoupled_weight_decay"] is True


@pytest.mark.parametrize("name,opts", [pytest.param(n, o, id=n) for n, o in
                                       [OPTIMIZER_CASES[i] for i in (7, 20, 40, 50, 60)]])
def test_state_dict_round_trip(rng, name, opts):
    params = _make_params(rng, np.float64)
    grads = _grads(rng, params, 10, np.float64)
    straight, _ = _trajectory(name, opts, params, grads, "compiled")
    first, opt = _trajectory(name, opts, params, grads[:5], "compiled")
    sd = copy.deepcopy(opt.state_dict())
    assert sorted(sd) == ["param_groups", "state"]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    resumed = [FakeParam(x.copy()) for x in first[-1]]
    opt2 = getattr(optim, name)(_groups(resumed, opts), **opts)
    opt2.load_state_dict(sd)
    for gs in grads[5:]:
        _step(opt2, resumed, gs)
    for x, y in zip(resumed, straight[-1]):
        assert_close(x.data, y, np.float64)
    # the loaded buffers are copies, not the saved arrays
    st = opt2.state_dict()["state"]
    for i in st:
        for k, v in st[i].items():
            if isinstance(v, np.ndarray):
                assert not np.shares_memory(v, sd["state"][i][k])


@needs_torch
def test_load_torch_state_dict(rng):
    import torch
    params = _make_params(rng, np.float64)
    grads = _grads(rng, params, 8, np.float64)
    opts = dict(lr=0.05, amsgrad=True, weight_decay=0.1)
    _, topt = _torch_trajectory("AdamW", opts, params, grads[:4])
    want, _ = _torch_trajectory("AdamW", opts, params, grads)
    ours = [FakeParam(t.detach().numpy().copy()) for g in topt.param_groups for t in g["params"]]
    opt = optim.AdamW(_groups(ours, opts), **opts)
    opt.load_state_dict(topt.state_dict())
    for gs in grads[4:]:
        _step(opt, ours, gs)
    for p, w in zip(ours, want[-1]):
        assert_close(p.data, w, np.float64)
    assert isinstance(opt.state[ours[0]]["step"], int)
    del torch


def test_optimizer_bad_input(rng):
    p = FakeParam(np.zeros(3))
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="should be an iterable"):
        optim.SGD(p)
    with pytest.raises(TypeError, match="should be an iterable"):
        optim.SGD(np.zeros(3))
    with pytest.raises(TypeError, match="one of the params is ndarray"):
        optim.SGD([np.zeros(3)])
    with pytest.raises(TypeError, match="float32 or float64"):
        optim.SGD([FakeParam(np.zeros(3, np.int32))])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}])
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([p, p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid learning rate: -2"):
        optim.Adam([{"params": [p], "lr": -2}])
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.AdamW([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        optim.SGD([p], nesterov=True)
    with pytest.raises(ValueError, match="Invalid initial_accumulator_value value"):
        optim.Adagrad([p], initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="Invalid alpha value"):
        optim.RMSprop([p], alpha=-1)
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        optim.Adam([p], differentiable=True)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]})
    # a gradient of the wrong shape or dtype fails in the kernel, leaving param and state as they were
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(4)
    with pytest.raises(ValueError, match=r"grad has shape \(4,\) but param has shape \(3,\)"):
        opt.step()
    p.grad = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="grad has dtype float32 but param has dtype float64"):
        opt.step()
    assert p not in opt.state or "momentum_buffer" not in opt.state[p]
    np.testing.assert_array_equal(p.data, 0)
    p.grad = np.ones(3)
    opt.step()
    assert_close(opt.state[p]["momentum_buffer"], np.ones(3), np.float64)


def test_repr():
    opt = optim.Adam([FakeParam(np.zeros(2))])
    r = repr(opt)
    assert r.startswith("Adam (") and "Parameter Group 0" in r and "lr: 0.001" in r


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

def test_step_beyond_int64_is_valueerror(backend):
    # the binding raised OverflowError; the reference ran with beta1**step = 0
    p, g = np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match="step"):
        backend.adam_step(p, g, np.zeros(3), np.zeros(3), 10**19)
    with pytest.raises(ValueError, match="step"):
        backend.adagrad_step(p, g, np.zeros(3), 10**19)


@pytest.mark.parametrize("kw", [dict(lr="0.1"), dict(eps="1e-8"), dict(beta1="0.9")])
def test_string_hyperparameters_are_typeerror(backend, kw):
    # the reference accepted them through float("0.1")
    with pytest.raises(TypeError):
        backend.adam_step(np.zeros(3), np.ones(3), np.zeros(3), np.zeros(3), 1, **kw)


def test_optimizer_rejects_a_set_of_parameters_and_bad_betas():
    # a set was silently accepted (its order changes between runs); betas=(0.9,) -> IndexError
    from fastnn import nn, optim
    ps = [nn.Parameter(np.zeros(2, np.float32)), nn.Parameter(np.zeros(3, np.float32))]
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD(set(ps), lr=0.1)
    for betas in [(0.9,), (0.9, 0.99, 0.999)]:
        with pytest.raises(ValueError, match="betas"):
            optim.Adam(ps, betas=betas)
    with pytest.raises(TypeError, match="betas"):
        optim.Adam(ps, betas=None)
