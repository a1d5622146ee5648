"""Wrong-typed scalar arguments raise TypeError naming the argument, on both backends (the
fuzzer counts messages that do not; these are the cases it found)."""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R

BACKENDS = [pytest.param(F, id="compiled"), pytest.param(R, id="reference")]


def _optim_args(rng):
    p = rng.standard_normal(5).astype(np.float32)
    return p, np.ones_like(p), np.zeros_like(p), np.zeros_like(p)


@pytest.mark.parametrize("B", BACKENDS)
@pytest.mark.parametrize("arg,bad,needle", [
    ("lr", "0.1", "lr must be a real number, got str"),
    ("lr", [0.1], "lr must be a real number, got list"),
    ("lr", 1j, "lr must be a real number, got complex"),
    ("weight_decay", None, "weight_decay must be a real number, got NoneType"),
    ("beta1", np.zeros(2), "beta1 must be a real number, got ndarray"),
    ("eps", "x", "eps must be a real number, got str"),
    ("maximize", np.ones(3), "maximize must be a bool, got ndarray"),
    ("amsgrad", np.ones(2), "amsgrad must be a bool, got ndarray"),
    ("step", (1,), "step must be an int, got tuple"),
    ("step", 1.0, "step must be an int, got float"),
])
def test_adam_step_names_the_argument(B, arg, bad, needle):
    p, g, m, v = _optim_args(np.random.default_rng(0))
    kw = dict(step=1)
    kw[arg] = bad
    before = p.copy()
    with pytest.raises(TypeError, match=needle):
        B.adam_step(p, g, m, v, **kw)
    np.testing.assert_array_equal(p, before)          # refused before any update


@pytest.mark.parametrize("B", BACKENDS)
def test_sgd_rmsprop_adagrad_name_the_argument(B):
    p, g, b, s = _optim_args(np.random.default_rng(1))
    with pytest.raises(TypeError, match="momentum must be a real number, got str"):
        B.sgd_step(p, g, b, 0.1, momentum="0.9")
    with pytest.raises(TypeError, match="nesterov must be a bool, got ndarray"):
        B.sgd_step(p, g, b, 0.1, momentum=0.9, nesterov=np.ones(2))
    with pytest.raises(TypeError, match="alpha must be a real number, got list"):
        B.rmsprop_step(p, g, s, None, None, alpha=[0.9])
    with pytest.raises(TypeError, match="centered must be a bool, got ndarray"):
        B.rmsprop_step(p, g, s, None, None, centered=np.ones(2))
    with pytest.raises(TypeError, match="lr_decay must be a real number, got str"):
        B.adagrad_step(p, g, s, 1, lr_decay="0")


@pytest.mark.parametrize("B", BACKENDS)
def test_layer_kernels_name_the_argument(B):
    x = np.ones((2, 3, 4, 4), np.float32)
    w = np.ones((5, 3, 3, 3), np.float32)
    with pytest.raises(TypeError, match="activation must be None or a str"):
        B.conv2d_forward(x, w, activation=np.ones(2))
    with pytest.raises(TypeError, match="activation must be None or a str"):
        B.linear_forward(np.ones((2, 3)), np.ones((4, 3)), activation=1)
    with pytest.raises(TypeError, match="input_grad must be a bool, got ndarray"):
        y, ctx = B.linear_forward(np.ones((2, 3)), np.ones((4, 3)))
        B.linear_backward(np.ones((2, 4)), ctx, input_grad=np.ones(2))
    with pytest.raises(TypeError, match="count_include_pad must be a bool, got ndarray"):
        B.avg_pool2d_forward(x, 2, count_include_pad=np.ones(2))
    with pytest.raises(TypeError, match="ceil_mode must be a bool, got ndarray"):
        B.max_pool2d_forward(x, 2, ceil_mode=np.ones(2))
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair of ints"):
        B.max_pool2d_forward(x, np.array([2, 2]))
    with pytest.raises(TypeError, match="axis must be an int, got str"):
        B.softmax_forward(np.ones(3), axis="0")
    with pytest.raises(TypeError, match="negative_slope must be a real number, got str"):
        B.leaky_relu_forward(np.ones(3), "0.1")
    with pytest.raises(TypeError, match="training must be a bool, got ndarray"):
        B.dropout_forward(np.ones(3), 0.5, training=np.ones(2))
    with pytest.raises(TypeError, match="training must be a bool, got ndarray"):
        B.batch_norm_forward(x, None, None, None, None, training=np.ones(2))
