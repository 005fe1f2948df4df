"""Containers shared by every data set: :class:`Split`, :class:`Dataset`, option checking.

A loader is a function ``load(**options) -> Dataset``; it checks its options with
:func:`check_options` so that a misspelt or out-of-range option is an
:class:`~eventsim.errors.EventsimError` naming the option and the allowed values.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ..errors import EventsimError

TASKS = ("classify", "lm")
INPUT_KINDS = ("dense", "tokens", "events")
METRICS = ("accuracy", "bpc", "perplexity")


@dataclass
class Split:
    """One split of a data set.

    x: model inputs, ``(N, T, m)`` float32 (dense and event data: for event data the
       binned dense version of ``events``), or ``(N, T)`` int64 token ids.
    y: ``(N,)`` int64 class labels (task "classify") or ``(N, T)`` int64 next-token
       targets (task "lm": ``y[:, t]`` is the token that follows ``x[:, t]``).
    events: for event data, an :class:`eventsim.inputs.EventStream` of the same
       samples (sample index i is row i of ``x``); ``None`` otherwise.
    """

    x: np.ndarray
    y: np.ndarray
    events: Any = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.x.shape[1])

    def take(self, n: int) -> "Split":
        """The first ``n`` samples (all when ``n`` >= len), events sliced to match."""
        if n >= len(self):
            return self
        events = None
        if self.events is not None:
            from ..inputs import EventStream
            ev = self.events
            keep = ev.sample < n
            events = EventStream.from_arrays(ev.sample[keep], ev.t[keep], ev.channel[keep],
                                             ev.value[keep], n_samples=n, n_steps=ev.n_steps,
                                             n_channels=ev.n_channels)
        return Split(self.x[:n], self.y[:n], events)


@dataclass
class Dataset:
    """A data set with fixed train/valid/test splits.

    name: registry name (see :data:`eventsim.data.DATASETS`).
    task: "classify" (one label per sequence) or "lm" (next-token prediction).
    input_kind: "dense" (float features per step), "tokens" (int ids) or "events"
        (event stream; ``x`` holds the binned dense version).
    n_in: features per step, or the vocabulary size for token input.
    n_classes: number of classes, or the vocabulary size for language modelling.
    metric: "accuracy", "bpc" (bits per character) or "perplexity".
    vocab: the token strings (index = token id) for text, else ``None``.
    options: the loader options after defaults were filled (for provenance).
    info: free extra facts (sizes, generator parameters, source files).
    """

    name: str
    task: str
    input_kind: str
    n_in: int
    n_classes: int
    metric: str
    train: Split
    valid: Split
    test: Split
    vocab: Optional[list] = None
    options: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        assert self.task in TASKS and self.input_kind in INPUT_KINDS and self.metric in METRICS

    def split(self, name: str) -> Split:
        """The split called ``name`` ("train", "valid" or "test")."""
        if name not in ("train", "valid", "test"):
            raise EventsimError(f"split {name!r} is unknown; use 'train', 'valid' or 'test'")
        return getattr(self, name)

    @property
    def n_steps(self) -> int:
        return self.train.n_steps


# --- option checking -------------------------------------------------------------

def check_options(dataset: str, given: dict, spec: dict) -> dict:
    """Validate ``given`` against ``spec`` and fill defaults.

    ``spec`` maps each option name to ``(default, check)``, where ``check(value)``
    returns the normalised value or raises :class:`EventsimError` (its message
    is prefixed with the data set and option name).
    """
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise EventsimError(f"data set {dataset!r} has no option {unknown[0]!r}; "
                            f"allowed options: {', '.join(sorted(spec))}")
    out = {}
    for key, (default, check) in spec.items():
        value = given.get(key, default)
        if value is None and key not in given:
            out[key] = None
            continue
        try:
            out[key] = check(value)
        except _OptionError as e:
            raise EventsimError(f"data set {dataset!r}: option {key}={value!r} is invalid: {e}") from None
    return out


class _OptionError(Exception):
    pass


def int_opt(lo: Optional[int] = None, hi: Optional[int] = None, none_ok: bool = False) -> Callable:
    def check(v):
        if v is None and none_ok:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise _OptionError(f"it must be an integer{' or none' if none_ok else ''}")
        v = int(v)
        if lo is not None and v < lo:
            raise _OptionError(f"it must be >= {lo}")
        if hi is not None and v > hi:
            raise _OptionError(f"it must be <= {hi}")
        return v
    return check


def float_opt(lo: Optional[float] = None, hi: Optional[float] = None, lo_open: bool = False) -> Callable:
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise _OptionError("it must be a number")
        v = float(v)
        if not np.isfinite(v):
            raise _OptionError("it must be finite")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise _OptionError(f"it must be {'>' if lo_open else '>='} {lo}")
        if hi is not None and v > hi:
            raise _OptionError(f"it must be <= {hi}")
        return v
    return check


def choice_opt(*allowed) -> Callable:
    def check(v):
        if v not in allowed:
            raise _OptionError(f"allowed values: {', '.join(repr(a) for a in allowed)}")
        return v
    return check


def bool_opt(v):
    if not isinstance(v, bool):
        raise _OptionError("it must be true or false")
    return v


def str_opt(none_ok: bool = True) -> Callable:
    def check(v):
        if v is None and none_ok:
            return None
        if not isinstance(v, (str, os.PathLike)):
            raise _OptionError("it must be a string (a file or folder path)")
        return os.fspath(v)
    return check


def option_error(msg: str) -> _OptionError:
    """For custom checks: raise ``option_error("...")`` inside a check function."""
    return _OptionError(msg)


# --- helpers ---------------------------------------------------------------------

def package_dir(module: str, extra: str = "data") -> str:
    """Folder of an installed package, found without importing it.

    A missing package is an :class:`EventsimError` saying which extra installs it.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise EventsimError(f"this data set needs the package '{module}', which is not installed; "
                            f"install it with: pip install -e '.[{extra}]'")
    return list(spec.submodule_search_locations)[0]


def require(module: str, extra: str = "data"):
    """Import ``module`` or raise an :class:`EventsimError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise EventsimError(f"this data set needs the package '{module}', which is not installed; "
                            f"install it with: pip install -e '.[{extra}]'") from None


def stratified_split(labels: np.ndarray, fractions: tuple, seed: int) -> tuple:
    """Indices of train/valid/test: each class is shuffled with ``seed`` and cut by
    ``fractions`` (train, valid, test); each split is then shuffled again so that
    its first k samples are a class-balanced-in-expectation slice."""
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n = len(idx)
        n_tr = int(round(fractions[0] * n))
        n_va = int(round(fractions[1] * n))
        parts[0].append(idx[:n_tr])
        parts[1].append(idx[n_tr:n_tr + n_va])
        parts[2].append(idx[n_tr + n_va:])
    out = []
    for p in parts:
        p = np.concatenate(p)
        out.append(p[rng.permutation(len(p))])
    return tuple(out)


def limit_split(split: Split, limit: Optional[int]) -> Split:
    """The first ``limit`` samples of a split (all of them when ``limit`` is None)."""
    return split if limit is None else split.take(limit)
