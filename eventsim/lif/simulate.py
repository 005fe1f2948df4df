"""``simulate_lif``: run a LIF network with the event engine or the naive reference."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import EventsimError
from .counts import LIFCounts
from .inputs import input_table
from .model import LIFModel, validate_lif


@dataclass
class LIFResult:
    """What :func:`simulate_lif` returns (the types never change with options).

    sample, t, unit, value: the unit events, one entry each, sorted by (sample, t, unit);
        ``value`` is 1 for binary events, the pre-reset ``v`` for graded ones.
    v: (B, T, n) post-reset membrane values when ``record_v``, else None.
    v_final: (B, n) membrane values after the last step.
    counts: :class:`~eventsim.lif.counts.LIFCounts`.
    engine: "event" or "reference".
    """

    sample: np.ndarray
    t: np.ndarray
    unit: np.ndarray
    value: np.ndarray
    v: Optional[np.ndarray]
    v_final: np.ndarray
    counts: LIFCounts
    engine: str

    def raster(self) -> np.ndarray:
        """(B, T, n) array of event values (0 where no event)."""
        c = self.counts
        out = np.zeros((c.samples, c.steps, c.units))
        out[self.sample, self.t, self.unit] = self.value
        return out


def simulate_lif(model: LIFModel, inputs, engine: str = "event", record_v: bool = False,
                 n_steps: Optional[int] = None, progress: bool = False) -> LIFResult:
    """Run ``model`` on ``inputs`` (an :class:`~eventsim.inputs.EventStream` or a dense
    (T, m) / (B, T, m) array) and count every synaptic operation.

    engine: "event" (Numba event engine) or "reference" (naive numpy, small runs only).
    n_steps: for event streams, run this many steps (default: the stream's n_steps).
    progress: show a tqdm progress bar on stderr (event engine).
    """
    validate_lif(model)
    if engine not in ("event", "reference"):
        raise EventsimError(f"engine {engine!r} is unknown; use 'event' or 'reference'")
    compiled = None
    if engine == "event":
        from .engine import CompiledLIF
        compiled = CompiledLIF(model)
    table = input_table(inputs, model.n_in, n_steps, run_bytes=None if compiled is None else
                        lambda B, T: compiled.run_bytes(B, T, record_v))
    B, T = table.n_samples, table.n_steps
    mk = lambda raw: LIFCounts(samples=B, steps=T, inputs=model.n_in, units=model.n,
                               nnz_input=model.inp.nnz, nnz_recurrent=model.rec.nnz, engine=engine, **raw)
    if engine == "reference":
        from .reference import reference_run
        out = reference_run(model, inputs, n_steps)
        S = np.stack(out["spikes"])
        b, t, i = np.nonzero(S)
        return LIFResult(b, t, i, S[b, t, i], out["v"] if record_v else None, out["v_final"],
                         mk(out["raw"]), "reference")
    from .engine import (C_EVENTS, C_IN_ACS, C_IN_MACS, C_INPUT_EVENTS, C_REC_ACS, C_REC_MACS,
                         C_UPDATES)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=B * T, unit="step", desc="lif", leave=False)
    try:
        out = compiled.run(table, record_v=record_v,
                                     progress=None if bar is None else bar.update)
    finally:
        if bar is not None:
            bar.close()
    c = out["raw"]
    raw = dict(events=int(c[C_EVENTS]), input_events=int(c[C_INPUT_EVENTS]),
               effective_acs=int(c[C_IN_ACS] + c[C_REC_ACS]),
               effective_macs=int(c[C_IN_MACS] + c[C_REC_MACS]), event_driven_updates=int(c[C_UPDATES]))
    s, t, i, val = out["spikes"]
    return LIFResult(s, t, i, val, out["v"], out["v_final"], mk(raw), "event")
