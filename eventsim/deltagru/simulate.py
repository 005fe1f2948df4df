"""``simulate_deltagru``: run a DeltaGRU on inputs with the event engine or the dense reference."""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Optional

from ..egru.simulate import SimResult, _parse_record, _threads
from ..errors import EventsimError
from ..inputs import prepare_input
from .counts import DeltaCounts
from .model import DeltaGRUModel, validate_deltagru

RECORDS = ("y", "deltas", "readout", "steps")

LayerState = namedtuple("LayerState", "h x_hat h_hat mx mh")
LayerState.__doc__ = """A DeltaGRU layer's state after the last step, each (B, ·): hidden state
h (n), last sent input values x̂ (m) and state values ĥ (n), memories Mx and Mh (3n)."""


@dataclass
class DeltaSimResult(SimResult):
    """What :func:`simulate_deltagru` returns (a :class:`~eventsim.egru.simulate.SimResult`
    with the DeltaGRU's own fields). Unrecorded fields are ``None``; the types never change.

    y: list per layer of (B, T, n) hidden states h_t, what a layer passes up (with "y").
    dx, dh: lists per layer of (B, T, m) input and (B, T, n) state deltas sent at step t
        (0 where none was sent; the state deltas of step t carry h_{t-1}) (with "deltas").
    c: always None (a DeltaGRU has no pre-threshold state).
    readout: (B, T, n_out) logits at every step (with "readout").
    last_readout: (B, n_out) logits at the last step (whenever the model has a readout).
    state: list per layer of :class:`LayerState` (h, x̂, ĥ, Mx, Mh), each (B, ·).
    counts: exact operation counts (:class:`~eventsim.deltagru.counts.DeltaCounts`); with
        "steps" recorded, ``counts.per_step`` holds per-step figures.
    """

    dx: Optional[list] = None
    dh: Optional[list] = None


def compile_deltagru(model: DeltaGRUModel):
    """Validate ``model`` and lay it out for the event engine once (pass the result to
    :func:`simulate_deltagru` in place of the model). It holds its own copy of the parameters."""
    from .engine import CompiledDeltaGRU
    validate_deltagru(model)
    return CompiledDeltaGRU(model)


def simulate_deltagru(model, inputs, engine: str = "event", record=(), threads: Optional[int] = None,
                      n_steps: Optional[int] = None, progress: bool = False) -> DeltaSimResult:
    """Run a DeltaGRU on ``inputs`` and count every operation exactly (SPEC §5).

    model: a :class:`~eventsim.deltagru.model.DeltaGRUModel` (or :func:`compile_deltagru`'s result).
    inputs: float array (T, m) or (B, T, m); integer token ids (T,) or (B, T) for a model
        with an embedding; or an :class:`~eventsim.inputs.EventStream` (summed per step and
        channel into x_t, then delta-encoded like a dense input).
    engine: "event" (the Numba event engine) or "dense" (the numpy reference).
    record: any of "y", "deltas", "readout", "steps" (per-step arrays; without them memory
        does not grow with the number of steps).
    threads: worker threads for the event engine (samples run in parallel).
    n_steps: for event streams, the number of steps (default: last event + 1).
    progress: show a progress bar (the event engine then runs samples in chunks).
    """
    from .engine import CompiledDeltaGRU

    record = _parse_record(record, RECORDS, " for a DeltaGRU")
    compiled = model if isinstance(model, CompiledDeltaGRU) else None
    if compiled is not None:
        model = compiled.model
    else:
        validate_deltagru(model)
    if engine == "event":
        compiled = compiled or CompiledDeltaGRU(model)
        table = prepare_input(model, inputs, n_steps=n_steps,
                              run_bytes=lambda B, T: compiled.run_bytes(B, T, record))
        with _threads(threads):
            out = compiled.run(table, record, progress=progress)
    elif engine == "dense":
        table = prepare_input(model, inputs, n_steps=n_steps)
        from .reference import run_deltagru_reference
        out = run_deltagru_reference(model, table, record_steps="steps" in record)
        out["last_readout"] = out["readout"][:, -1].copy() if out["readout"] is not None else None
        if "readout" not in record:
            out["readout"] = None
        if "y" not in record:
            out["y"] = None
        if "deltas" not in record:
            out["dx"] = out["dh"] = None
    else:
        raise EventsimError(f"engine {engine!r} is unknown; use 'event' or 'dense'")
    counts = out["counts"] if engine == "dense" else DeltaCounts.for_deltagru(
        model, table.n_samples, table.n_steps, out["raw"], engine="event", per_step=out["per_step"])
    state = [LayerState(**s) for s in out["state"]]
    return DeltaSimResult(y=out["y"], c=None, readout=out["readout"], last_readout=out["last_readout"],
                          state=state, counts=counts, engine=engine, single=table.single,
                          dx=out["dx"], dh=out["dh"])
