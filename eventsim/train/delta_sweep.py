"""The cheap route to a DeltaGRU: train a GRU, convert it, sweep the delta thresholds.

:func:`sweep_thetas` converts a trained GRU's weights to a DeltaGRU
(:func:`eventsim.deltagru.from_gru`, exact at Θ = 0) and runs it on a data split at each
Θ (``simulate_deltagru``, event engine by default), returning per Θ the task metric (scored
exactly as :func:`eventsim.train.evaluate` scores a network: same readout over steps,
same loss and metric code) and the exact operation counts, among them the effective MACs.
Θ = 0, the GRU itself, is always part of the sweep. :func:`pick_theta` then picks the
largest Θ whose metric is within a tolerance of the Θ = 0 metric (e.g. accuracy within 1
point of the GRU's on the validation split; SPEC §5, issue 20).

No retraining happens here: straight-through training of a DeltaGRU at a chosen Θ is the
``deltagru`` kind of :mod:`eventsim.train` (docs/training.md).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..errors import EventsimError
from . import losses
from .network import readout_logits


def _theta_pairs(thetas, theta_x, theta_h) -> list:
    """The (Θx, Θh) pairs to run, Θ = (0, 0) first, each once, in the order given."""
    if thetas is not None and (theta_x is not None or theta_h is not None):
        raise EventsimError("give either thetas (Θx = Θh) or the lists theta_x and theta_h, not both")
    if thetas is not None:
        pairs = [(float(t), float(t)) for t in np.atleast_1d(thetas)]
    elif theta_x is not None or theta_h is not None:
        xs = [float(t) for t in np.atleast_1d(theta_x if theta_x is not None else [0.0])]
        hs = [float(t) for t in np.atleast_1d(theta_h if theta_h is not None else [0.0])]
        pairs = [(a, b) for a in xs for b in hs]
    else:
        raise EventsimError("give the delta thresholds to sweep: thetas, or theta_x and/or theta_h")
    bad = [p for p in pairs if not (min(p) >= 0 and np.isfinite(p).all())]
    if bad:
        raise EventsimError(f"delta thresholds must be finite numbers >= 0, got {bad}")
    out = [(0.0, 0.0)]
    for p in pairs:
        if p not in out:
            out.append(p)
    return out


def _score(model, params: dict, x, y, loss: str, metric: str, engine: str):
    """(metric, mean loss, counts dict) of ``model`` on (x, y), in one run of the engine (the
    counts are those of the whole split): the last layer's h_t is read out as the trainer
    reads it (:func:`eventsim.train.network.readout_logits`)."""
    from ..deltagru import simulate_deltagru
    res = simulate_deltagru(model, x, engine=engine, record=("y",))
    top = res.y[-1].astype(params["readout.weight"].dtype)
    logits = readout_logits(params, top, loss)
    _, _, nll, count = losses.cross_entropy(logits, y)
    correct = int((logits.argmax(-1) == y).sum()) if loss != "lm" else 0
    return losses.metric_value(metric, nll, count, correct, x.shape[0]), nll / count, res.counts.to_dict()


def sweep_thetas(source, x, y, thetas: Optional[Sequence[float]] = None, theta_x=None, theta_h=None,
                 loss: str = "last", metric: str = "accuracy", engine: str = "event",
                 dtype=np.float32, progress: bool = False, desc: str = "Θ sweep") -> list:
    """Run the DeltaGRU of a trained GRU at each Θ on the split (x, y).

    source: what :func:`eventsim.deltagru.from_gru` takes: eventsim's GRU parameters (the
        dict of a training run's ``params``, or a ``save_weights`` file), a PyTorch
        ``nn.GRU`` state dict or checkpoint (then with an ``nn.Linear`` readout).
    thetas: a common Θx = Θh per run; or ``theta_x`` and/or ``theta_h``: lists swept as a
        grid (a missing one stays 0). Θ = (0, 0) is always run first (the GRU).
    loss, metric: as in :class:`eventsim.train.TrainConfig` (how the readout is scored).
    engine: "event" (Numba) or "dense" (the numpy reference).
    progress: a tqdm bar (stderr) over the Θ pairs, labelled ``desc``.

    Returns one dict per Θ pair, Θ = 0 first: ``theta_x``, ``theta_h``, ``metric``, ``loss``
    (mean cross-entropy), ``effective_macs`` (the whole network's effective MACs, readout
    included, summed over the split), ``events`` (state deltas sent), ``input_events``,
    ``activity_sparsity`` and ``counts`` (the :class:`~eventsim.deltagru.DeltaCounts` JSON
    of the run over the whole split).
    """
    from ..deltagru import compile_deltagru, from_gru
    if loss not in losses.LOSSES or metric not in losses.METRICS:
        raise EventsimError(f"loss {loss!r} / metric {metric!r} unknown; use one of {list(losses.LOSSES)} / "
                            f"{list(losses.METRICS)}")
    pairs = _theta_pairs(thetas, theta_x, theta_h)
    base = from_gru(source, dtype=dtype)
    if base.readout_weight is None:
        raise EventsimError("the GRU has no readout: a Θ sweep needs one to score the task")
    params = {"readout.weight": base.readout_weight, "readout.bias": base.readout_bias}
    x = np.asarray(x, np.int64) if base.embedding is not None else np.asarray(x, dtype)
    y = np.asarray(y)
    from tqdm import tqdm
    out = []
    for tx, th in tqdm(pairs, desc=desc, unit="Θ", disable=not progress, dynamic_ncols=True):
        model = base.with_thetas(theta_x=tx, theta_h=th)
        if engine == "event":
            model = compile_deltagru(model)
        value, mean_loss, counts = _score(model, params, x, y, loss, metric, engine)
        tot = counts["total"]
        out.append({"theta_x": tx, "theta_h": th, "metric": value, "loss": mean_loss,
                    "effective_macs": int(tot["macs"]["effective"]), "events": int(tot["events"]),
                    "input_events": int(tot["input_events"]),
                    "activity_sparsity": float(tot["activity_sparsity"]),
                    "counts": counts})
    return out


def pick_theta(results: list, tolerance: float = 0.01, metric: str = "accuracy", by: str = "theta") -> dict:
    """The entry of :func:`sweep_thetas`'s ``results`` with the largest Θ whose metric is
    within ``tolerance`` of the Θ = 0 metric (accuracy: at least base − tolerance, e.g. 0.01
    = 1 point; bpc/perplexity: at most base + tolerance). "Largest" is by Θx + Θh (for a
    common Θ simply the largest Θ), ties broken by fewer effective MACs; ``by="macs"``
    instead picks the fewest effective MACs (ties: larger Θ). Θ = 0 itself always
    qualifies, so there is always an answer."""
    if not results:
        raise EventsimError("no sweep results to pick from")
    if not tolerance >= 0:
        raise EventsimError(f"tolerance = {tolerance!r} must be >= 0")
    base = [r for r in results if r["theta_x"] == 0 and r["theta_h"] == 0]
    if not base:
        raise EventsimError("the sweep results hold no Θ = 0 entry to compare with")
    ref = base[0]["metric"]
    up = losses.higher_is_better(metric)
    slack = tolerance + 1e-12 * max(1.0, abs(ref))   # 0.5 − 0.01 must admit 0.49
    ok = [r for r in results if (r["metric"] >= ref - slack if up else r["metric"] <= ref + slack)]
    size = lambda r: r["theta_x"] + r["theta_h"]
    if by == "theta":
        return max(ok, key=lambda r: (size(r), -r["effective_macs"]))
    if by == "macs":
        return min(ok, key=lambda r: (r["effective_macs"], -size(r)))
    raise EventsimError(f"by = {by!r} is unknown; use 'theta' or 'macs'")
