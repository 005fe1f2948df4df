"""``simulate``: run a model on inputs with the event engine or the dense reference."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .counts import Counts
from ..errors import EventsimError
from ..inputs import prepare_input
from .model import validate_model

RECORDS = ("y", "c", "readout", "steps")
_THREADS_LOCK = threading.Lock()


@dataclass
class SimResult:
    """What :func:`simulate` returns. Unrecorded fields are ``None``; the types never change.

    y: list per layer of (B, T, n) event outputs (recorded with "y").
    c: list per layer of (B, T, n) pre-threshold states c_t (recorded with "c").
    readout: (B, T, n_out) logits at every step (recorded with "readout").
    last_readout: (B, n_out) logits at the last step (whenever the model has a readout).
    state: list per layer of (s, y) final arrays, each (B, n).
    counts: exact operation counts (:class:`~eventsim.egru.counts.Counts`); with
        "steps" recorded, ``counts.per_step`` holds per-step figures.
    engine: "event" or "dense".
    single: the input had no batch axis (arrays still carry B = 1).
    """

    y: Optional[list]
    c: Optional[list]
    readout: Optional[np.ndarray]
    last_readout: Optional[np.ndarray]
    state: list
    counts: Counts
    engine: str
    single: bool = False


def _parse_record(record) -> tuple:
    if record is None:
        return ()
    if isinstance(record, str):
        record = [r for r in record.replace(",", " ").split() if r]
    record = tuple(record)
    bad = [r for r in record if r not in RECORDS]
    if bad:
        raise EventsimError(f"cannot record {bad}; choose from {list(RECORDS)}")
    return record


@contextmanager
def _threads(n):
    if n is None:
        yield
        return
    import numba
    n = int(n)
    if not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        raise EventsimError(f"threads = {n} must be between 1 and {numba.config.NUMBA_NUM_THREADS}")
    with _THREADS_LOCK:
        old = numba.get_num_threads()
        numba.set_num_threads(n)
        try:
            yield
        finally:
            numba.set_num_threads(old)


def compile_model(model):
    """Validate ``model`` and lay it out for the event engine once.

    Pass the result to :func:`simulate` in place of the model to skip the
    layout work (building the fan-out rows) on every call: worth it for large
    models run on many short inputs. The compiled model holds its own copy of
    the parameters.
    """
    from .engine import CompiledEGRU
    validate_model(model)
    return CompiledEGRU(model)


def simulate(model, inputs, engine: str = "event", record=(), threads: Optional[int] = None,
             n_steps: Optional[int] = None, progress: bool = False) -> SimResult:
    """Run ``model`` on ``inputs`` and count every operation exactly.

    model: a :class:`~eventsim.egru.model.Model` (or the result of :func:`compile_model`).
    inputs: float array (T, m) or (B, T, m); integer token ids (T,) or (B, T)
        for a model with an embedding; or an :class:`~eventsim.inputs.EventStream`.
    engine: "event" (the Numba event engine) or "dense" (the numpy reference).
    record: any of "y", "c", "readout", "steps" (per-step arrays; without them
        memory does not grow with the number of steps).
    threads: worker threads for the event engine (samples run in parallel).
    n_steps: for event streams, the number of steps (default: last event + 1).
    progress: show a progress bar (the event engine then runs samples in chunks).
    """
    from .engine import CompiledEGRU

    record = _parse_record(record)
    compiled = model if isinstance(model, CompiledEGRU) else None
    if compiled is not None:
        model = compiled.model
    else:
        validate_model(model)
    table = prepare_input(model, inputs, n_steps=n_steps)
    if engine == "event":
        with _threads(threads):
            out = (compiled or CompiledEGRU(model)).run(table, record, progress=progress)
        counts = Counts.for_model(model, table.n_samples, table.n_steps, out["raw"],
                                  readout_macs=out["readout_macs"], readout_active=out["readout_active"],
                                  engine="event", per_step=out["per_step"])
        return SimResult(y=out["y"], c=out["c"], readout=out["readout"], last_readout=out["last_readout"],
                         state=out["state"], counts=counts, engine="event", single=table.single)
    if engine == "dense":
        from .reference import run_reference
        out = run_reference(model, table, record_steps="steps" in record)
        last = out["readout"][:, -1].copy() if out["readout"] is not None else None
        return SimResult(y=out["y"] if "y" in record else None, c=out["c"] if "c" in record else None,
                         readout=out["readout"] if "readout" in record else None, last_readout=last,
                         state=out["state"], counts=out["counts"], engine="dense", single=table.single)
    raise EventsimError(f"engine {engine!r} is unknown; use 'event' or 'dense'")
