"""``simulate``: run a model on inputs with the event engine or the dense reference."""
from __future__ import annotations

import threading
import weakref
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
# simulate()'s layout cache: id(model) -> (weak reference to the model, its CompiledEGRU)
_LAYOUTS: dict = {}


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
    slept: event engine only: the unit-steps it did not visit because the unit slept (no
        event reached it and it could not fire; caught up when next reached: see
        :func:`eventsim.egru.engine._update_layer`). Its own work, not a count of SPEC §2.
    """

    y: Optional[list]
    c: Optional[list]
    readout: Optional[np.ndarray]
    last_readout: Optional[np.ndarray]
    state: list
    counts: Counts
    engine: str
    single: bool = False
    slept: Optional[int] = None


def _parse_record(record, records=RECORDS, what: str = "") -> tuple:
    """``record`` (None, a comma/space-separated string or a sequence) as a tuple of names
    from ``records``; ``what`` names the unit model in the error (e.g. " for a DeltaGRU")."""
    if record is None:
        return ()
    if isinstance(record, str):
        record = [r for r in record.replace(",", " ").split() if r]
    record = tuple(record)
    bad = [r for r in record if r not in records]
    if bad:
        raise EventsimError(f"cannot record {bad}{what}; choose from {list(records)}")
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

    :func:`simulate` already reuses a model's layout across calls (and lays it out again
    when the model's parameters change); the compiled model is a frozen, independent copy
    of the parameters: later edits to ``model`` do not reach it, and passing it to
    :func:`simulate` skips even the check that the parameters are unchanged.
    """
    from .engine import CompiledEGRU
    validate_model(model)
    return CompiledEGRU(model)


def _cached_layout(model):
    """The event-engine layout of ``model``, reused across calls while the model's parameters
    stay the same (:meth:`~eventsim.egru.engine.CompiledEGRU.matches`: every parameter array
    compared with the layout's private copy, exactly, in one pass) and rebuilt (after
    validating the model) as soon as any of them changed, in place or replaced. One layout per
    live model, dropped when the model is garbage-collected (a weak reference) or when
    :func:`clear_layout_cache` is called."""
    from .engine import CompiledEGRU
    key = id(model)
    entry = _LAYOUTS.get(key)
    if entry is not None:
        ref, compiled = entry
        if ref() is model and compiled.matches(model):
            return compiled
        _LAYOUTS.pop(key, None)  # stale: free it before building the new layout
        del entry, compiled
    validate_model(model)
    compiled = CompiledEGRU(model, keep_embedding=False)

    def forget(r, key=key):
        if _LAYOUTS.get(key, (None,))[0] is r:
            _LAYOUTS.pop(key, None)
    try:
        _LAYOUTS[key] = (weakref.ref(model, forget), compiled)
    except TypeError:  # an object without weak references: no caching
        pass
    return compiled


def clear_layout_cache() -> None:
    """Forget every layout :func:`simulate` keeps for reuse (frees their memory)."""
    _LAYOUTS.clear()


def simulate(model, inputs, engine: str = "event", record=(), threads: Optional[int] = None,
             n_steps: Optional[int] = None, progress: bool = False) -> SimResult:
    """Run ``model`` on ``inputs`` and count every operation exactly.

    model: a :class:`~eventsim.egru.model.Model` (or the result of :func:`compile_model`).
        The model's event-engine layout is kept and reused by later calls for as long as
        its parameters do not change (checked at every call, exactly; see
        :func:`clear_layout_cache`).
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
    elif engine == "event":
        compiled = _cached_layout(model)  # validates the model when it lays it out
    else:
        validate_model(model)
    run_bytes = (lambda B, T: compiled.run_bytes(B, T, record)) if engine == "event" else None
    rows = (lambda: compiled.embedding_rows(model.embedding)) if run_bytes and model.embedding is not None else None
    table = prepare_input(model, inputs, n_steps=n_steps, run_bytes=run_bytes, embedding_rows=rows)
    if engine == "event":
        with _threads(threads):
            out = compiled.run(table, record, progress=progress)
        counts = compiled.counts(table.n_samples, table.n_steps, out)
        return SimResult(y=out["y"], c=out["c"], readout=out["readout"], last_readout=out["last_readout"],
                         state=out["state"], counts=counts, engine="event", single=table.single,
                         slept=out["slept"])
    if engine == "dense":
        from .reference import run_reference
        out = run_reference(model, table, record_steps="steps" in record)
        last = out["readout"][:, -1].copy() if out["readout"] is not None else None
        return SimResult(y=out["y"] if "y" in record else None, c=out["c"] if "c" in record else None,
                         readout=out["readout"] if "readout" in record else None, last_readout=last,
                         state=out["state"], counts=out["counts"], engine="dense", single=table.single)
    raise EventsimError(f"engine {engine!r} is unknown; use 'event' or 'dense'")
