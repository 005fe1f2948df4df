"""Running a continuous-time EGRU: :func:`simulate_ctegru` (event engine or naive reference)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EventsimError
from .counts import CTCounts
from .inputs import SpikeStream

# Defaults of the event engine (stated in docs/ctegru.md)
RTOL = 1e-8          # relative tolerance of the Dormand–Prince step on c
ATOL = 1e-10         # absolute tolerance of the Dormand–Prince step on c
ROOT_TOL = 1e-13     # seconds: a crossing's Newton iteration stops when it moves less
MAX_EVENTS = 10_000_000  # per sample: a run that emits more stops with an error
REFERENCE_STEP = 1e-5    # seconds: the naive reference's RK4 step


@dataclass
class CTSimResult:
    """Events of every layer, in time order per sample (samples concatenated):
    ``event_time[k]`` (float64 seconds), ``event_unit[k]`` (int64), ``event_sample[k]``
    (int64) for layer ``k``; ``counts``: :class:`~eventsim.ctegru.counts.CTCounts`."""

    event_time: list
    event_unit: list
    event_sample: list
    counts: CTCounts

    def spikes(self, sample: int = 0) -> list:
        """Sample ``sample``'s events as ``[(t, layer, unit)]`` in time order (ties: layer, unit)."""
        out = []
        for k, (t, u, s) in enumerate(zip(self.event_time, self.event_unit, self.event_sample)):
            sel = s == sample
            out += [(float(a), k, int(b)) for a, b in zip(t[sel], u[sel])]
        out.sort(key=lambda e: (e[0], e[1], e[2]))
        return out

    def outputs(self) -> dict:
        """The arrays of ``--save-outputs`` (SPEC §6)."""
        d = {}
        for k in range(len(self.event_time)):
            d[f"layer{k}.event_time"] = self.event_time[k]
            d[f"layer{k}.event_unit"] = self.event_unit[k]
            d[f"layer{k}.event_sample"] = self.event_sample[k]
        return d


def _as_stream(inputs) -> SpikeStream:
    if isinstance(inputs, SpikeStream):
        return inputs
    if isinstance(inputs, (tuple, list)) and len(inputs) == 2:  # (times, channels) of one sample
        t, ch = (np.asarray(a) for a in inputs)
        order = np.lexsort((ch, t)) if t.size else np.zeros(0, np.int64)
        return SpikeStream.from_arrays(np.zeros(t.size, np.int64), t[order], ch[order])
    raise EventsimError("inputs of a continuous-time EGRU are a SpikeStream or a pair (times in "
                        f"seconds, channels) of one sample, got {type(inputs).__name__}")


def simulate_ctegru(model, inputs, duration=None, engine: str = "event", rtol: float = RTOL,
                    atol: float = ATOL, root_tol: float = ROOT_TOL, max_events: int = MAX_EVENTS,
                    reference_step: float = REFERENCE_STEP, progress: bool = False) -> CTSimResult:
    """Run ``model`` (a :class:`~eventsim.ctegru.model.CTEGRUModel`) on input events.

    inputs: a :class:`SpikeStream` or ``(times, channels)`` of one sample. duration:
    seconds simulated per sample (default: the stream's, else each sample's last input
    time). engine: ``"event"`` (the Numba event engine, tolerances ``rtol``/``atol`` on
    ``c`` and ``root_tol`` seconds on crossings) or ``"reference"`` (the naive fixed-step
    integration of the whole network, step ``reference_step`` seconds; slow).
    """
    from .model import validate_ctegru
    validate_ctegru(model)
    stream = _as_stream(inputs)
    if engine not in ("event", "reference"):
        raise EventsimError(f"engine {engine!r} is unknown; use 'event' or 'reference'")
    for name, v in (("rtol", rtol), ("atol", atol), ("root_tol", root_tol),
                    ("reference_step", reference_step)):
        if not (np.isfinite(v) and v > 0):
            raise EventsimError(f"{name} {v} must be a finite number > 0")
    if stream.n_channels > model.n_in:
        raise EventsimError(f"the input has {stream.n_channels} channels but the model takes "
                            f"{model.n_in} (layer 0's kernel rows)")
    if duration is not None and not (np.isfinite(duration) and duration >= 0):
        raise EventsimError(f"duration {duration} must be a finite number of seconds >= 0")
    durs = stream.durations(duration)
    L = model.n_layers
    times = [[] for _ in range(L)]
    units = [[] for _ in range(L)]
    samples = [[] for _ in range(L)]
    raw = np.zeros((L, 5), np.int64)
    it = range(stream.n_samples)
    if progress and stream.n_samples > 1:
        from tqdm import tqdm
        it = tqdm(it, desc="ctegru", unit="sample", leave=False)
    if engine == "event":
        from .engine import Layout, run_sample
        lay = Layout(model)
    for b in it:
        sel = stream.sample == b
        t_in, ch = stream.t[sel], stream.channel[sel]
        order = np.lexsort((ch, t_in))
        t_in, ch = t_in[order], ch[order]
        if engine == "reference":
            from .reference import reference_sample
            ev, r = reference_sample(model, t_in, ch, float(durs[b]), reference_step)
            raw[:, :4] += r
            for t, l, j in ev:
                times[l].append(np.array([t]))
                units[l].append(np.array([j]))
                samples[l].append(np.array([b]))
            continue
        et, eg, r, status = run_sample(lay.P, lay.U, lay.R, lay.row_delay, lay.row_key, lay.m0,
                                       t_in + model.ff_delays[0], ch.astype(np.int64), float(durs[b]),
                                       float(rtol), float(atol), float(root_tol), model.eps,
                                       int(max_events), L)
        if status:
            raise EventsimError(f"sample {b} emitted {max_events:,} events before its duration "
                                f"{durs[b]} s; raise max_events or shorten the duration")
        raw += r
        for l in range(L):
            sel_l = lay.layer[eg] == l
            times[l].append(et[sel_l])
            units[l].append(lay.local[eg[sel_l]])
            samples[l].append(np.full(int(sel_l.sum()), b, np.int64))

    def cat(a, dt):
        return np.concatenate(a).astype(dt) if a else np.zeros(0, dt)

    counts = CTCounts(samples=stream.n_samples, duration_s=float(np.sum(durs)),
                      inputs=[l.n_in for l in model.layers], units=model.sizes, raw=raw,
                      input_events=len(stream), engine=engine)
    return CTSimResult([cat(t, np.float64) for t in times], [cat(u, np.int64) for u in units],
                       [cat(s, np.int64) for s in samples], counts)
