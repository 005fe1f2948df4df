"""Resumable training state, one ``.npz`` per completed epoch.

``<dir>/epoch0003.npz`` holds, after epoch 3:

- ``param/<key>``: the parameters (keys as in the model file);
- ``adam_m/<key>``, ``adam_v/<key>``: Adam's moments;
- ``mask/<key>``: pruning masks (only for pruned matrices);
- ``state``: a JSON string ``{"epoch": 3, "adam_step": int, "rng": <numpy PCG64
  state>, "history": [...], "fingerprint": {...}}``; ``fingerprint`` is the network
  spec and training configuration the run was started with.

Files are written to a temporary name and renamed, so an interruption never
leaves a half-written checkpoint; resuming takes the highest epoch.
"""
from __future__ import annotations

import glob
import json
import os
import re

import numpy as np

from ..errors import EventsimError
from ..outputs import atomic_write

_NAME = re.compile(r"epoch(\d+)\.npz$")


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


def latest_checkpoint(directory):
    """Path of the highest-epoch checkpoint in ``directory``, or None."""
    if not directory or not os.path.isdir(directory):
        return None
    found = [(int(_NAME.search(p).group(1)), p) for p in glob.glob(os.path.join(directory, "epoch*.npz"))
             if _NAME.search(p)]
    return max(found)[1] if found else None


def load_checkpoint(path) -> dict:
    """``{"params", "adam_m", "adam_v", "masks", "state"}`` from a checkpoint file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        state = json.loads(str(data.pop("state")))
    except Exception as e:
        raise EventsimError(f"checkpoint {path!r} is unreadable ({e}); delete it or run with --fresh") from None
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
