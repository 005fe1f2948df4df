"""Event streams in continuous time (the input of a continuous-time EGRU, SPEC §6).

File: an ``.npz`` with ``sample`` (int), ``t`` (float, seconds, >= 0), ``channel`` (int),
sorted by (sample, t); optional ``value`` (every entry 1: events are binary), and the
optional scalars ``n_samples``, ``n_channels`` (default: largest index + 1) and
``duration`` (seconds each sample is simulated; default: its last event's time). Events
of one sample at the same time are delivered in channel order. A discrete stream of
SPEC §4 (integer ``t``) is told apart by the type of ``t``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._npz import read_npz, write_npz
from ..errors import EventsimError

KEYS = ("sample", "t", "channel", "value", "n_samples", "n_channels", "duration")


@dataclass
class SpikeStream:
    """Binary input events with real-valued times: event ``k`` is channel ``channel[k]`` of
    sample ``sample[k]`` at ``t[k]`` seconds. ``duration``: seconds simulated per sample
    (None: each sample's last event time)."""

    sample: np.ndarray
    t: np.ndarray
    channel: np.ndarray
    n_samples: int
    n_channels: int
    duration: Optional[float] = None

    @classmethod
    def from_arrays(cls, sample, t, channel, value=None, n_samples=None, n_channels=None,
                    duration=None) -> "SpikeStream":
        """Validate and build a stream (see the module docstring)."""
        sample, channel = np.asarray(sample), np.asarray(channel)
        t = np.asarray(t)
        for name, a in (("sample", sample), ("channel", channel)):
            if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
                raise EventsimError(f"spike stream '{name}' must be a 1-D integer array, got "
                                    f"{a.dtype} with shape {a.shape}")
            if a.size and a.min() < 0:
                raise EventsimError(f"spike stream '{name}' holds a negative index")
        if t.ndim != 1 or (t.size and t.dtype.kind not in "fiu"):
            raise EventsimError(f"spike stream 't' must be a 1-D array of seconds, got {t.dtype}")
        t = t.astype(np.float64)
        if not (len(sample) == len(t) == len(channel)):
            raise EventsimError(f"spike stream arrays differ in length: sample {len(sample)}, "
                                f"t {len(t)}, channel {len(channel)}")
        if t.size and not (np.all(np.isfinite(t)) and t.min() >= 0):
            raise EventsimError("spike stream 't' must hold finite times >= 0 (seconds)")
        if value is not None:
            value = np.asarray(value)
            if value.shape != t.shape or not np.all(value == 1):
                raise EventsimError("spike stream 'value' must be 1 for every event (continuous-time "
                                    "EGRU events are binary); drop 'value' or set it to 1")
        sample = sample.astype(np.int64)
        if sample.size > 1:
            ds, dt = np.diff(sample), np.diff(t)
            if np.any(ds < 0) or np.any((ds == 0) & (dt < 0)):
                raise EventsimError("spike stream is not sorted by (sample, t); sort it first "
                                    "(e.g. np.lexsort((t, sample)))")
        ns = int(sample.max()) + 1 if sample.size else 0
        nc = int(channel.max()) + 1 if channel.size else 0
        if n_samples is not None:
            if int(n_samples) < ns:
                raise EventsimError(f"spike stream 'sample' reaches {ns - 1} but n_samples = {n_samples}")
            ns = int(n_samples)
        if n_channels is not None:
            if int(n_channels) < nc:
                raise EventsimError(f"spike stream 'channel' reaches {nc - 1} but n_channels = {n_channels}")
            nc = int(n_channels)
        if duration is not None:
            duration = float(np.asarray(duration))
            if not (np.isfinite(duration) and duration >= 0):
                raise EventsimError(f"spike stream duration {duration} must be a finite number of seconds >= 0")
        return cls(sample, t, channel.astype(np.int64), max(ns, 1), nc, duration)

    def __len__(self) -> int:
        return int(self.t.size)

    def durations(self, duration: Optional[float] = None) -> np.ndarray:
        """Seconds simulated per sample: ``duration`` if given, else the stream's, else each
        sample's last event time."""
        d = self.duration if duration is None else float(duration)
        if d is not None:
            return np.full(self.n_samples, d)
        last = np.zeros(self.n_samples)
        np.maximum.at(last, self.sample, self.t)
        return last

    def save(self, path) -> None:
        arrays = dict(sample=self.sample, t=self.t, channel=self.channel,
                      n_samples=self.n_samples, n_channels=self.n_channels)
        if self.duration is not None:
            arrays["duration"] = np.float64(self.duration)
        write_npz(path, arrays)

    @classmethod
    def load(cls, path) -> "SpikeStream":
        path = os.fspath(path)
        data = read_npz(path, "spike-stream file")
        missing = [k for k in ("sample", "t", "channel") if k not in data]
        if missing:
            raise EventsimError(f"spike-stream file {path!r} lacks key(s) {missing}; it needs "
                                f"sample, t (seconds), channel")
        extra = set(data) - set(KEYS)
        if extra:
            raise EventsimError(f"spike-stream file {path!r} has unknown key(s) {sorted(extra)}; "
                                f"allowed are {', '.join(KEYS)}")
        try:
            return cls.from_arrays(**{k: data[k] for k in KEYS if k in data})
        except EventsimError as e:
            raise EventsimError(f"spike-stream file {path!r}: {e}") from None


def poisson_stream(n_channels: int, rate: float, duration: float, n_samples: int = 1,
                   seed: int = 0) -> SpikeStream:
    """Independent Poisson input events: ``rate`` Hz per channel over ``duration`` seconds."""
    if n_channels < 1 or n_samples < 1 or not rate >= 0 or not duration > 0:
        raise EventsimError("poisson_stream needs n_channels, n_samples >= 1, rate >= 0 and duration > 0")
    rng = np.random.default_rng(seed)
    S, T, C = [], [], []
    for b in range(n_samples):
        k = rng.poisson(rate * duration * n_channels)
        t = np.sort(rng.uniform(0.0, duration, k))
        S.append(np.full(k, b))
        T.append(t)
        C.append(rng.integers(0, n_channels, k))
    return SpikeStream.from_arrays(np.concatenate(S), np.concatenate(T), np.concatenate(C),
                                   n_samples=n_samples, n_channels=n_channels, duration=duration)
