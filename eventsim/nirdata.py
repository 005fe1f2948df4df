"""Recorded activity as NIR data (``nir.NIRGraphData``, read back with ``nir.read_data``).

One :class:`nir.NIRNodeData` per NIR node (for a LIF model imported from NIR, its neuron
nodes; otherwise one node for the whole population or one per EGRU layer), observable
``"spikes"``: binary events as ``nir.EventData``, graded events (EGRU ``y = o·c``, LIF
``events = "graded"``) as ``nir.ValuedEventData``. An event of step ``t`` has the time
``t·dt`` (the step's start; ``dt`` = the model's step, or 1 for step-indexed models); samples
are the first axis, padded with index −1, time +inf (value 0) as NIR specifies;
``t_max = T·dt``. Needs the ``nir`` extra.
"""
from __future__ import annotations

import numpy as np

from .errors import EventsimError


def _nir():
    from .lif.nir import nir_module
    return nir_module()


def event_data(sample, t, idx, value, n_samples: int, n_steps: int, n_neurons: int, dt: float,
               graded: bool):
    """Padded (n_samples, max events) NIR event data of events (sample, step, index[, value])."""
    nir = _nir()
    sample, t, idx = (np.asarray(a, np.int64) for a in (sample, t, idx))
    value = np.asarray(value, np.float64)
    order = np.lexsort((idx, t, sample))
    sample, t, idx, value = sample[order], t[order], idx[order], value[order]
    per = np.bincount(sample, minlength=n_samples) if sample.size else np.zeros(n_samples, np.int64)
    width = int(per.max()) if per.size else 0
    I = np.full((n_samples, width), -1, np.int64)
    Tm = np.full((n_samples, width), np.inf)
    V = np.zeros((n_samples, width))
    starts = np.concatenate([[0], np.cumsum(per)])
    col = np.arange(sample.size) - starts[sample]
    I[sample, col] = idx
    Tm[sample, col] = t * float(dt)
    V[sample, col] = value
    t_max = float(n_steps * dt)
    if graded:
        return nir.ValuedEventData(idx=I, time=Tm, value=V, n_neurons=int(n_neurons), t_max=t_max)
    return nir.EventData(idx=I, time=Tm, n_neurons=int(n_neurons), t_max=t_max)


def lif_activity(model, res):
    """NIR data of a LIF run (:class:`~eventsim.lif.simulate.LIFResult`): one node per NIR
    neuron node of an imported model, else one node ``"lif"``."""
    nir = _nir()
    c = res.counts
    graded = model.events == "graded"
    info = model.meta.get("nir") if isinstance(model.meta, dict) else None
    blocks = [("lif", 0, model.n)]
    if isinstance(info, dict) and info.get("nodes"):
        blocks = [(str(name), int(a), int(b)) for name, _, a, b in info["nodes"]]
    nodes = {}
    for name, a, b in blocks:
        sel = (res.unit >= a) & (res.unit < b)
        ev = event_data(res.sample[sel], res.t[sel], res.unit[sel] - a, res.value[sel], c.samples, c.steps,
                        b - a, float(model.dt), graded)
        nodes[name] = nir.NIRNodeData(observables={"spikes": ev})
    return nir.NIRGraphData(nodes=nodes)


ACTIVITY_SUFFIXES = (".nir", ".h5", ".hdf5")


def check_activity_path(path, option: str = "--save-activity") -> None:
    """Refuse, before any work, an activity file whose name says it is something else: the
    file is HDF5 (NIR data), so ``out.npz`` or ``out.json`` would mislead the next reader."""
    from pathlib import Path

    if Path(str(path)).suffix.lower() not in ACTIVITY_SUFFIXES:
        raise EventsimError(f"{option} {str(path)!r}: NIR data is an HDF5 file; name it "
                            f"{' or '.join(ACTIVITY_SUFFIXES)} (e.g. activity.nir)")


def write_activity(path, data) -> None:
    """Write NIR data atomically (``nir.write_data``)."""
    from .outputs import atomic_path
    nir = _nir()
    try:
        with atomic_path(path, ".nir") as tmp:
            nir.write_data(tmp, data)
    except (TypeError, ValueError) as e:
        raise EventsimError(f"could not write NIR data to {path}: {e}") from None


def egru_activity(ys):
    """NIR data of an EGRU run's events: one node ``layer{k}`` per layer, observable
    ``"events"``, a ``nir.ValuedEventData`` of the graded events ``y = o·c`` (the nonzero
    entries of ``ys[k]``, (B, T, n)); time = step index (dt = 1)."""
    nir = _nir()
    nodes = {}
    for k, y in enumerate(ys):
        y = np.asarray(y)
        b, t, i = np.nonzero(y)
        ev = event_data(b, t, i, y[b, t, i], y.shape[0], y.shape[1], y.shape[2], 1.0, graded=True)
        nodes[f"layer{k}"] = nir.NIRNodeData(observables={"events": ev})
    return nir.NIRGraphData(nodes=nodes)
