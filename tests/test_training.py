"""fastnn.fit: history, reproducibility, backend equality, end-to-end tasks."""
import numpy as np
import pytest

import fastnn
from fastnn import nn, optim
from fastnn.data import load_mnist
from fastnn.training import fit, evaluate, History
from conftest import assert_close, mnist_dir


def blobs(n=120, classes=3, features=4, seed=0, dtype=np.float32):
    """Separable Gaussian blobs: x (n, features), y int64 (n,)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, features)) * 3
    y = rng.integers(0, classes, n)
    x = centres[y] + rng.standard_normal((n, features))
    return x.astype(dtype), y.astype(np.int64)


def small_model(dtype=np.float32, seed=0, dropout=0.0):
    layers = [nn.Linear(4, 16, dtype=dtype, rng=seed), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout, rng=seed))
    layers.append(nn.Linear(16, 3, dtype=dtype, rng=seed + 1))
    return nn.Sequential(*layers)


def train(backend="compiled", dtype=np.float32, seed=0, epochs=3, dropout=0.0, **kw):
    x, y = blobs(dtype=dtype)
    with fastnn.use_backend(backend):
        model = small_model(dtype, seed, dropout)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        hist = fit(model, nn.CrossEntropyLoss(), opt, x, y, epochs=epochs, batch_size=16, seed=seed,
                   progress=False, **kw)
    return model, hist


def test_history():
    x, y = blobs()
    model, hist = train(validation=(x[:30], y[:30]))
    assert isinstance(hist, History) and hist.history is hist and hist.epochs == 3
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy", "time"}
    assert all(len(v) == 3 for v in hist.values())
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["accuracy"][-1] > 0.9 and hist["val_accuracy"][-1] > 0.9
    assert all(isinstance(v, float) for v in hist["loss"])
    loss, acc = evaluate(model, nn.CrossEntropyLoss(), x[:30], y[:30])
    assert loss == pytest.approx(hist["val_loss"][-1]) and acc == hist["val_accuracy"][-1]
    assert "History(" in repr(hist)


def test_same_seed_same_run_and_seed_matters():
    _, a = train(seed=0)
    _, b = train(seed=0)
    _, c = train(seed=1)
    assert a["loss"] == b["loss"]
    assert a["loss"] != c["loss"]


@pytest.mark.parametrize("dropout", [0.0, 0.25])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backends_train_the_same(dtype, dropout):
    # (the dropout kernels draw the same masks from the same seed on both backends)
    m1, h1 = train("compiled", dtype, dropout=dropout)
    m2, h2 = train("reference", dtype, dropout=dropout)
    # losses of the same run: the rounding differences of the two backends are amplified a
    # little by training, so compare with the loose ("approx") budget
    assert_close(np.array(h1["loss"]), np.array(h2["loss"]), dtype, "loss", approx=True)
    for (name, p), q in zip(m1.named_parameters(), m2.parameters()):
        assert_close(p.data, q.data, dtype, name, approx=True)


def test_regression_targets_have_no_accuracy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4))
    y = x @ rng.standard_normal((4, 2))
    model = nn.Sequential(nn.Linear(4, 2, dtype=np.float64, rng=0))
    hist = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=20,
               batch_size=8, validation=(x, y), progress=False)
    assert set(hist) == {"loss", "val_loss", "time"}
    assert hist["val_loss"][-1] < 1e-3


def test_sum_reduction_reports_per_sample_mean():
    x, y = blobs(n=48)
    losses = {}
    for reduction in ("mean", "sum"):
        model = small_model()
        # zero learning rate: both runs see the same parameters, only the reporting differs
        losses[reduction] = fit(model, nn.CrossEntropyLoss(reduction=reduction),
                                optim.SGD(model.parameters(), lr=0.0), x, y, batch_size=10,
                                progress=False)["loss"][0]
    assert losses["sum"] == pytest.approx(losses["mean"], rel=1e-5)


def test_xor_solved():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    fastnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    hist = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05), x, y,
               epochs=300, batch_size=4, progress=False)
    assert hist["accuracy"][-1] == 1.0
    np.testing.assert_array_equal(np.argmax(model(x), axis=1), y)


def test_dropout_model_eval_is_deterministic():
    x, y = blobs()
    model = small_model(dropout=0.3)
    hist = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), x, y, epochs=2,
               validation=(x, y), progress=False)
    assert model.training   # fit leaves the model in training mode
    model.eval()
    np.testing.assert_array_equal(model(x), model(x))
    assert evaluate(model, nn.CrossEntropyLoss(), x, y)[0] == pytest.approx(hist["val_loss"][-1])
    assert not model.training   # evaluate restores the mode it found


def test_progress_bar(capsys):
    x, y = blobs(n=32)
    model = small_model()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), x, y, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), x, y, progress=False)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), x, y)   # stderr not a tty
    assert capsys.readouterr().err == ""


def test_bad_arguments():
    x, y = blobs(n=20)
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match="same length"):
        fit(model, loss, opt, x, y[:10])
    with pytest.raises(ValueError, match="epochs"):
        fit(model, loss, opt, x, y, epochs=-1)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, loss, opt, x, y, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        fit(model, loss, opt, x[:0], y[:0])
    with pytest.raises(TypeError, match="validation"):
        fit(model, loss, opt, x, y, validation=x)
    with pytest.raises(TypeError, match="optimizer"):
        fit(model, loss, None, x, y)
    with pytest.raises(TypeError, match="model"):
        fit(None, loss, opt, x, y)
    with pytest.raises(TypeError, match="float64"):   # the model's dtype check reaches the user
        fit(model, loss, opt, x.astype(np.float64), y)
    assert fit(model, loss, opt, x, y, epochs=0)["loss"] == []


def test_divergence_is_reported():
    x, y = blobs(n=32)
    x = x * 1e3
    model = small_model()
    with pytest.raises(FloatingPointError, match="learning rate"), np.errstate(all="ignore"):
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e3), x,
            np.ones((32, 3), np.float32) * 1e3, epochs=5, progress=False)


@pytest.fixture
def one_thread():
    """Run on one thread: this test checks accuracy, not speed, and on a machine whose cores are
    shared with other jobs an OpenMP team of 2 waits for descheduled threads at every barrier
    (measured: 46 s on 2 busy cores vs 1.6 s on one thread for the test below)."""
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(1)
    yield
    fastnn.set_num_threads(before)


@pytest.mark.slow
def test_mnist_mlp_reaches_95_percent(one_thread):
    d = mnist_dir()
    if d is None:
        pytest.skip("MNIST test set not found (../shared/data/mnist-t10k)")
    x, y = load_mnist(d, "t10k")
    x_train, y_train, x_test, y_test = x[:8000], y[:8000], x[-2000:], y[-2000:]
    fastnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hist = fit(model, nn.CrossEntropyLoss(), opt, x_train, y_train, epochs=8, batch_size=64,
               validation=(x_test, y_test), progress=False)
    assert hist["val_accuracy"][-1] >= 0.95, hist
