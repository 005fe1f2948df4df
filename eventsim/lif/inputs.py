"""Input spike trains for LIF networks: Poisson sources and user-given streams.

Inputs are :class:`eventsim.inputs.EventStream` objects (the SPEC §4 event-stream
``.npz``: ``sample``, ``t``, ``channel``, ``value``), or dense ``(T, m)`` /
``(B, T, m)`` arrays whose nonzero entries are events. Events on one channel in one
step add up to one input value (as for the EGRU); an input value of exactly 1 is a
binary spike (its synaptic operations are accumulates), any other value is graded.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..errors import EventsimError
from ..inputs import EventStream, prepare_input


def poisson_stream(n_channels: int, n_steps: int, rate_hz, dt: float, n_samples: int = 1,
                   seed: int = 0) -> EventStream:
    """Independent Bernoulli spike trains: channel c spikes at each step with probability
    ``rate_hz[c] * dt`` (Brian2's ``PoissonGroup`` rule), value 1.

    ``rate_hz`` is a scalar or one rate per channel. Spike steps are drawn as geometric
    inter-spike gaps, so the cost grows with the number of spikes, not with channels x steps.
    """
    n_channels, n_steps, n_samples = int(n_channels), int(n_steps), int(n_samples)
    if n_channels < 1 or n_steps < 1 or n_samples < 1:
        raise EventsimError(f"poisson input needs n_channels, n_steps, n_samples >= 1; got "
                            f"{n_channels}, {n_steps}, {n_samples}")
    if not (np.isfinite(dt) and dt > 0):
        raise EventsimError(f"dt = {dt} must be a positive number of seconds")
    rates = np.broadcast_to(np.asarray(rate_hz, dtype=np.float64), (n_channels,))
    p = rates * float(dt)
    if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        c = int(np.argmax(~np.isfinite(p) | (p < 0) | (p > 1)))
        raise EventsimError(f"rate {rates[c]} Hz of channel {c} gives a spike probability rate*dt = {p[c]} "
                            f"per step; it must lie in [0, 1] (lower the rate or dt)")
    rng = np.random.default_rng(seed)
    parts_s, parts_t, parts_c = [], [], []
    for s in range(n_samples):
        chans = np.flatnonzero(p > 0)
        ts, cs = [], []
        start = np.full(chans.size, -1, dtype=np.int64)
        while chans.size:
            pc = p[chans]
            k = int(np.ceil(n_steps * pc.max() + 6 * np.sqrt(n_steps * pc.max()) + 8))
            gaps = rng.geometric(pc[:, None], size=(chans.size, k))
            steps = start[:, None] + np.cumsum(gaps, axis=1)
            ok = steps < n_steps
            ts.append(steps[ok])
            cs.append(np.broadcast_to(chans[:, None], steps.shape)[ok])
            more = ok[:, -1]  # the draw may not have reached the end of the run
            chans, start = chans[more], steps[more, -1]
        t = np.concatenate(ts) if ts else np.zeros(0, np.int64)
        c = np.concatenate(cs) if cs else np.zeros(0, np.int64)
        order = np.lexsort((c, t))
        parts_t.append(t[order])
        parts_c.append(c[order].astype(np.int64))
        parts_s.append(np.full(t.size, s, dtype=np.int64))
    t = np.concatenate(parts_t)
    return EventStream(np.concatenate(parts_s), t, np.concatenate(parts_c),
                       np.ones(t.size, dtype=np.float32), n_samples, n_steps, n_channels)


def input_table(inputs, n_in: int, n_steps=None, run_bytes=None):
    """The engine's input table (:class:`eventsim.inputs.InputTable`, float64 values) for a
    LIF network with ``n_in`` channels; the same conversion the EGRU engine uses
    (``run_bytes``: see :func:`~eventsim.inputs.prepare_input`)."""
    if not isinstance(inputs, EventStream):
        x = np.asarray(inputs)
        if x.ndim not in (2, 3) or x.shape[-1] != n_in:
            raise EventsimError(f"dense inputs must have shape (T, {n_in}) or (B, T, {n_in}) for a LIF "
                                f"network with {n_in} input channels; got {x.shape}")
    shim = SimpleNamespace(dtype=np.dtype(np.float64), n_in=int(n_in), embedding=None)
    return prepare_input(shim, inputs, n_steps=n_steps, run_bytes=run_bytes)
