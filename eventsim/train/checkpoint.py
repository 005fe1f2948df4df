"""Resumable training state, one ``.npz`` per completed epoch.

``<dir>/epoch0003.npz`` holds, after epoch 3:

- ``param/<key>``: the parameters (keys as in the model file);
- ``adam_m/<key>``, ``adam_v/<key>``: Adam's moments;
- ``mask/<key>``: pruning masks (only for pruned matrices);
- ``state``: a JSON string ``{"epoch": 3, "adam_step": int, "rng": <numpy PCG64
  state>, "history": [...], "fingerprint": {...}}``; ``fingerprint`` is the network
  spec and training configuration the run was started with.

Files are written to a temporary name and renamed, so an interruption never
leaves a half-written checkpoint; resuming takes the highest epoch that reads whole
(:func:`resumable_checkpoint`: a damaged newer file is passed over with a warning).

Which files stay (:func:`prune_checkpoints`, after each new checkpoint is written):
``"all"`` keeps every epoch; ``"latest_best"`` (the default) keeps the latest, the one
before it (the fallback should the latest be damaged) and the best by validation metric.
"""
from __future__ import annotations

import glob
import json
import logging
import math
import os
import re

import numpy as np

from ..errors import EventsimError
from ..outputs import atomic_write

log = logging.getLogger(__name__)

_NAME = re.compile(r"epoch(\d+)\.npz$")

#: checkpoint policies: keep every epoch, or the latest two and the best
KEEP_POLICIES = ("latest_best", "all")


def save_checkpoint(directory, epoch: int, params: dict, adam, masks: dict, rng_state: dict,
                    history: list, fingerprint: dict) -> str:
    os.makedirs(directory, exist_ok=True)
    arrays = {f"param/{k}": v for k, v in params.items()}
    arrays.update({f"adam_m/{k}": v for k, v in adam.m.items()})
    arrays.update({f"adam_v/{k}": v for k, v in adam.v.items()})
    arrays.update({f"mask/{k}": v for k, v in masks.items()})
    state = {"epoch": int(epoch), "adam_step": int(adam.step), "rng": rng_state,
             "history": history, "fingerprint": fingerprint}
    arrays["state"] = np.array(json.dumps(state))
    path = os.path.join(os.fspath(directory), f"epoch{epoch:04d}.npz")
    with atomic_write(path) as f:  # a killed writer leaves the last whole checkpoint and no temporary
        np.savez(f, **arrays)
    return path


def list_checkpoints(directory) -> list:
    """``[(epoch, path)]`` of the checkpoints in ``directory``, newest first."""
    if not directory or not os.path.isdir(directory):
        return []
    found = [(int(_NAME.search(p).group(1)), p) for p in glob.glob(os.path.join(os.fspath(directory), "epoch*.npz"))
             if _NAME.search(p)]
    return sorted(found, reverse=True)


def latest_checkpoint(directory):
    """Path of the highest-epoch checkpoint in ``directory``, or None."""
    found = list_checkpoints(directory)
    return found[0][1] if found else None


def resumable_checkpoint(directory, warn: bool = True):
    """``(path, checkpoint)`` of the newest checkpoint in ``directory`` that reads whole, or
    ``(None, None)``. A newer file that does not read (truncated, damaged) is passed over,
    with a one-line warning each (``warn``); when none reads, a warning says that training
    starts from scratch (a resume from an earlier epoch, or from none, recomputes the same
    epochs: the result is the same, only the time is lost)."""
    found = list_checkpoints(directory)
    for i, (epoch, path) in enumerate(found):
        try:
            return path, load_checkpoint(path)
        except EventsimError as e:
            if warn and i + 1 < len(found):
                log.warning("%s; falling back to %s", e, os.path.basename(found[i + 1][1]))
            elif warn:
                log.warning("%s, and no other checkpoint reads: training starts from scratch", e)
    return None, None


def load_checkpoint(path) -> dict:
    """``{"params", "adam_m", "adam_v", "masks", "state"}`` from a checkpoint file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        state = json.loads(str(data.pop("state")))
    except Exception as e:
        raise EventsimError(f"checkpoint {os.fspath(path)!r} is unreadable ({type(e).__name__}: {e})") from None
    out = {"params": {}, "adam_m": {}, "adam_v": {}, "masks": {}, "state": state}
    names = {"param": "params", "adam_m": "adam_m", "adam_v": "adam_v", "mask": "masks"}
    for k, v in data.items():
        pre, _, key = k.partition("/")
        out[names[pre]][key] = v
    return out


def clear_checkpoints(directory) -> None:
    """Remove the checkpoints of ``directory`` (a fresh run)."""
    for p in glob.glob(os.path.join(os.fspath(directory), "epoch*.npz*")):
        os.remove(p)


def _better(metric: str):
    """``better(a, b)``: is validation value ``a`` strictly better than ``b`` (NaN never is)?"""
    from .losses import higher_is_better
    hi = higher_is_better(metric)

    def better(a, b):
        if a is None or not math.isfinite(a):
            return False
        if b is None or not math.isfinite(b):
            return True
        return a > b if hi else a < b
    return better


def best_epoch(history: list, metric: str):
    """The epoch (1-based) of the best ``val_metric`` in ``history`` (the first of equals), or None."""
    better = _better(metric)
    best, value = None, None
    for h in history:
        if better(h.get("val_metric"), value):
            best, value = h["epoch"], h.get("val_metric")
    return best


def prune_checkpoints(directory, epoch: int, history: list, metric: str, keep: str = "latest_best") -> list:
    """After checkpoint ``epoch`` was written: remove the files the policy ``keep`` does not
    keep; returns the removed paths. Files of later epochs than ``epoch`` are always removed
    (left by a run that this one recomputes: they did not read, or the run was restarted).
    ``"latest_best"`` keeps ``epoch``, the newest one before it and the best by validation
    metric (``history``: the run's, up to ``epoch``); ``"all"`` keeps every other."""
    if keep not in KEEP_POLICIES:
        raise EventsimError(f"keep_checkpoints = {keep!r} is unknown; use one of {list(KEEP_POLICIES)}")
    found = list_checkpoints(directory)
    older = [e for e, _ in found if e < epoch]
    if keep == "all":
        wanted = {e for e, _ in found if e <= epoch}
    else:
        wanted = {epoch, best_epoch(history, metric)} | set(older[:1])
    removed = []
    for e, path in found:
        if e not in wanted:
            try:
                os.remove(path)
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed
