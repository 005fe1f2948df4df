"""Reading and writing checkpoint files as flat ``{name: numpy array}`` dicts.

- ``.safetensors`` through ``safetensors.numpy`` (no torch needed); the file's
  string metadata is returned too (eventsim keeps its model ``meta`` there).
- ``.pt`` / ``.pth`` / ``.bin`` through ``torch.load(weights_only=True)`` when
  torch is installed. Nested dicts (``{"model": state_dict, "epoch": 3}``) are
  flattened with dots (``model.rnns.0.kernel``); non-tensor leaves (ints,
  strings) are dropped and reported in :attr:`Checkpoint.skipped`.
"""
from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..errors import EventsimError
from ..outputs import atomic_path

log = logging.getLogger(__name__)

SAFETENSORS_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
META_KEY = "eventsim_meta"  # safetensors metadata entry / torch state_dict _metadata entry


@dataclass
class Checkpoint:
    """A checkpoint read from disk.

    tensors: flat dict name -> numpy array (float16/bfloat16 already cast to float32).
    meta: the eventsim model meta (dict) found in the file, or None.
    skipped: names of non-tensor entries that were dropped (e.g. ``epoch``).
    """

    tensors: dict
    meta: dict | None = None
    skipped: list = field(default_factory=list)


def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def read_checkpoint(path) -> Checkpoint:
    """Read a ``.safetensors`` or torch ``.pt``/``.pth`` file into numpy arrays."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise EventsimError(f"checkpoint {path!r} does not exist")
    suffix = _suffix(path)
    if suffix in SAFETENSORS_SUFFIXES:
        return _read_safetensors(path)
    if suffix in TORCH_SUFFIXES:
        return _read_torch(path)
    raise EventsimError(f"checkpoint {path!r} has suffix {suffix!r}; use .safetensors "
                        f"or a torch file ({', '.join(TORCH_SUFFIXES)})")


def _read_safetensors(path: str) -> Checkpoint:
    try:
        from safetensors import safe_open
    except ImportError:  # pragma: no cover - safetensors is in the interop extra
        raise EventsimError("reading .safetensors needs the 'safetensors' package: "
                            "pip install 'eventsim[interop]'") from None
    tensors = {}
    try:
        with safe_open(path, framework="numpy") as f:
            file_meta = f.metadata() or {}
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
    except EventsimError:
        raise
    except Exception as e:  # header too large, truncated file, bfloat16 in numpy ...
        raise EventsimError(f"checkpoint {path!r} is not a readable safetensors file ({e})") from None
    meta = None
    if META_KEY in file_meta:
        try:
            meta = json.loads(file_meta[META_KEY])
        except ValueError as e:
            raise EventsimError(f"checkpoint {path!r}: metadata {META_KEY!r} is not JSON ({e})") from None
    return Checkpoint(tensors={k: _as_float(k, v) for k, v in tensors.items()}, meta=meta)


def _read_torch(path: str) -> Checkpoint:
    try:
        import torch
    except ImportError:
        raise EventsimError(f"reading {path!r} needs PyTorch, which is not installed: "
                            f"pip install 'eventsim[torch]', or save the state dict as "
                            f".safetensors (safetensors.torch.save_file) and import that") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise EventsimError(f"checkpoint {path!r} could not be read by torch.load(weights_only=True) "
                            f"({str(e).splitlines()[0]}); save model.state_dict() rather than the "
                            f"whole module") from None
    meta = None
    md = getattr(obj, "_metadata", None)
    if isinstance(md, dict) and isinstance(md.get("", {}), dict) and META_KEY in md.get("", {}):
        try:
            meta = json.loads(md[""][META_KEY])
        except ValueError:
            meta = None
    tensors, skipped = {}, []
    _flatten(obj, "", tensors, skipped, torch)
    return Checkpoint(tensors={k: _as_float(k, v) for k, v in tensors.items()}, meta=meta,
                      skipped=skipped)


def _flatten(obj, prefix: str, out: dict, skipped: list, torch) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.float()
        out[prefix.rstrip(".")] = t.numpy().copy()
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}{k}.", out, skipped, torch)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _flatten(v, f"{prefix}{i}.", out, skipped, torch)
    else:
        skipped.append(prefix.rstrip(".") or "<root>")


def _as_float(name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == np.float16:
        log.info("%s: float16 cast to float32", name)
        return a.astype(np.float32)
    return a


def write_checkpoint(tensors: dict, path, meta: dict | None = None) -> None:
    """Write flat numpy arrays to ``.safetensors`` or (with torch) ``.pt``/``.pth``.

    ``meta`` (a JSON-serialisable dict) goes into the safetensors metadata, or
    into the torch state dict's ``_metadata`` (which ``load_state_dict`` ignores).
    Written atomically (:func:`eventsim.outputs.atomic_path`): a failure leaves the previous
    file whole and no temporary file; the new file gets the user's normal permissions.
    """
    path = os.fspath(path)
    suffix = _suffix(path)
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    meta_json = json.dumps(meta) if meta is not None else None
    if suffix in SAFETENSORS_SUFFIXES:
        try:
            from safetensors.numpy import save_file
        except ImportError:  # pragma: no cover
            raise EventsimError("writing .safetensors needs the 'safetensors' package: "
                                "pip install 'eventsim[interop]'") from None
        with atomic_path(path) as tmp:
            save_file(arrays, tmp, metadata=None if meta_json is None else {META_KEY: meta_json})
        return
    if suffix in TORCH_SUFFIXES:
        try:
            import torch
        except ImportError:
            raise EventsimError(f"writing {path!r} needs PyTorch, which is not installed; "
                                f"write .safetensors instead (no torch needed)") from None
        sd = OrderedDict((k, torch.from_numpy(v.copy())) for k, v in arrays.items())
        if meta_json is not None:
            sd._metadata = {"": {META_KEY: meta_json}}
        with atomic_path(path) as tmp:
            torch.save(sd, tmp)
        return
    raise EventsimError(f"output {path!r} has suffix {suffix!r}; use .safetensors or .pt/.pth")
