"""fastnn.data: seeded minibatches and the IDX / MNIST reader."""
import gzip
import hashlib
import struct

import numpy as np
import pytest

from fastnn.data import iterate_minibatches, read_idx, load_mnist_idx, load_mnist, IDXError
from conftest import mnist_dir


# ---- minibatches ------------------------------------------------------------------------------

def test_minibatches_cover_every_sample_once():
    x = np.arange(23 * 2, dtype=np.float32).reshape(23, 2)
    y = np.arange(23)
    batches = list(iterate_minibatches(x, y, batch_size=5, shuffle=True, seed=3))
    assert [len(b[0]) for b in batches] == [5, 5, 5, 5, 3]
    ys = np.concatenate([b[1] for b in batches])
    assert sorted(ys) == list(range(23)) and list(ys) != list(range(23))
    for xb, yb in batches:   # x and y stay paired
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)
        assert xb.flags.c_contiguous


def test_minibatches_seeded():
    x, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    a = [b[1] for b in iterate_minibatches(x, y, 6, seed=1)]
    b = [b[1] for b in iterate_minibatches(x, y, 6, seed=1)]
    c = [b[1] for b in iterate_minibatches(x, y, 6, seed=2)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))
    rng1, rng2 = np.random.default_rng(5), np.random.default_rng(5)
    e1 = [b[1] for b in iterate_minibatches(x, y, 6, rng=rng1)]
    e2 = [b[1] for b in iterate_minibatches(x, y, 6, rng=rng1)]   # the generator moves on
    assert not all(np.array_equal(p, q) for p, q in zip(e1, e2))
    assert all(np.array_equal(p, q) for p, q in zip(e1, [b[1] for b in iterate_minibatches(x, y, 6, rng=rng2)]))


def test_minibatches_in_order_are_views_and_drop_last():
    x, y = np.arange(10.0), np.arange(10)
    batches = list(iterate_minibatches(x, y, 4, shuffle=False))
    assert [list(b[1]) for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert np.shares_memory(batches[0][0], x)
    assert len(list(iterate_minibatches(x, y, 4, shuffle=False, drop_last=True))) == 2
    assert len(list(iterate_minibatches(x, y, 4, drop_last=True, seed=0))) == 2
    only_x = list(iterate_minibatches(x, None, 3, shuffle=False))
    assert len(only_x) == 4 and only_x[0][1] is None
    assert list(iterate_minibatches(x[:0], y[:0], 4)) == []


def test_minibatches_bad_input():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="same length"):
        list(iterate_minibatches(x, np.zeros(4), 2))
    with pytest.raises(ValueError, match="batch_size"):
        list(iterate_minibatches(x, None, 0))
    with pytest.raises(TypeError, match="batch_size"):
        list(iterate_minibatches(x, None, 2.5))
    with pytest.raises(TypeError, match="rng"):
        list(iterate_minibatches(x, None, 2, rng=42))


# ---- IDX files --------------------------------------------------------------------------------

def idx_bytes(array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_pair(tmp_path, n=7, rows=4, cols=3, gz=True, prefix="t10k"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    ip = tmp_path / (f"{prefix}-images-idx3-ubyte" + (".gz" if gz else ""))
    lp = tmp_path / (f"{prefix}-labels-idx1-ubyte" + (".gz" if gz else ""))
    write = gzip.compress if gz else (lambda b: b)
    ip.write_bytes(write(idx_bytes(images)))
    lp.write_bytes(write(idx_bytes(labels)))
    return ip, lp, images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_idx(tmp_path, gz):
    ip, lp, images, labels = write_pair(tmp_path, gz=gz)
    x, y = load_mnist_idx(ip, lp)
    assert x.dtype == np.float32 and x.shape == (7, 12) and y.dtype == np.int64 and y.shape == (7,)
    np.testing.assert_allclose(x, images.reshape(7, 12) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert 0.0 <= x.min() and x.max() <= 1.0
    x4, _ = load_mnist_idx(ip, lp, flatten=False, dtype=np.float64)
    assert x4.shape == (7, 1, 4, 3) and x4.dtype == np.float64
    x, y = load_mnist(tmp_path, "t10k")
    assert x.shape == (7, 12)


def test_read_idx_other_types(tmp_path):
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    p = tmp_path / "a.idx"
    p.write_bytes(idx_bytes(a, 0x0C))
    got = read_idx(p)
    assert got.dtype == np.int32 and got.dtype.isnative
    np.testing.assert_array_equal(got, a)
    f = np.linspace(0, 1, 5)
    p.write_bytes(idx_bytes(f, 0x0E))
    np.testing.assert_array_equal(read_idx(p), f)


def test_corrupt_files(tmp_path):
    ip, lp, images, labels = write_pair(tmp_path, gz=False)
    good = ip.read_bytes()
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34\x08\x03" + good[4:])
    with pytest.raises(IDXError, match="not an IDX file"):
        read_idx(bad)
    bad.write_bytes(good[:-5])
    with pytest.raises(IDXError, match="truncated or corrupt"):
        read_idx(bad)
    bad.write_bytes(good + b"\x00")
    with pytest.raises(IDXError, match="truncated or corrupt"):
        read_idx(bad)
    bad.write_bytes(good[:10])
    with pytest.raises(IDXError, match="truncated header"):
        read_idx(bad)
    bad.write_bytes(b"\x00")
    with pytest.raises(IDXError, match="too short"):
        read_idx(bad)
    bad.write_bytes(gzip.compress(good)[:-20])
    with pytest.raises(IDXError, match="gzip"):
        read_idx(bad)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing")
    # an images file where labels belong and vice versa, and count mismatches
    with pytest.raises(IDXError, match="idx1-ubyte"):
        load_mnist_idx(ip, ip)
    with pytest.raises(IDXError, match="idx3-ubyte"):
        load_mnist_idx(lp, lp)
    lp.write_bytes(idx_bytes(labels[:5]))
    with pytest.raises(IDXError, match="7 images but .* 5 labels"):
        load_mnist_idx(ip, lp)
    assert issubclass(IDXError, ValueError)


def test_load_mnist_finds_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="directory"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, "test")
    write_pair(tmp_path, n=3, gz=False, prefix="train")
    x, y = load_mnist(tmp_path, "train")
    assert len(x) == 3 and len(y) == 3


def test_real_mnist_t10k():
    d = mnist_dir()
    if d is None:
        pytest.skip("MNIST test set not found (../shared/data/mnist-t10k)")
    md5 = {"t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
           "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
    for name, digest in md5.items():
        assert hashlib.md5((d / name).read_bytes()).hexdigest() == digest
    x, y = load_mnist(d, "t10k")
    assert x.shape == (10000, 784) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert sorted(np.unique(y)) == list(range(10))
    assert list(y[:5]) == [7, 2, 1, 0, 4]   # the well-known first test labels
    x4, _ = load_mnist(d, "t10k", flatten=False)
    assert x4.shape == (10000, 1, 28, 28)
