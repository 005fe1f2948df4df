"""Interoperability: EvNN / PyTorch checkpoints in and out, NeuroBench helpers.

- :func:`import_checkpoint` reads an EvNN ``EGRU`` state dict (or PyTorch
  ``nn.GRU``/``nn.GRUCell`` weights, converted with a given threshold) from
  ``.safetensors`` or torch ``.pt``/``.pth`` into a :class:`~eventsim.egru.model.Model`.
- :func:`export_checkpoint` writes a model in the EvNN layout, so that it loads
  into ``evnn_pytorch.EGRU``; ``import_checkpoint(export_checkpoint(m))`` is ``m``.

See ``docs/interop.md``.
"""
from __future__ import annotations

import os

from ..errors import EventsimError
from ..egru.model import Model
from .evnn import (DEFAULT_LAYER_PREFIX, egru_to_torch_gru, export_state_dict,  # noqa: F401
                   import_state_dict)
from .files import Checkpoint, read_checkpoint, write_checkpoint  # noqa: F401

__all__ = ["import_checkpoint", "export_checkpoint", "import_state_dict", "export_state_dict",
           "read_checkpoint", "write_checkpoint", "egru_to_torch_gru"]


def import_checkpoint(path, prefix: str | None = None, gru_threshold=None, dtype=None) -> Model:
    """Read an EvNN EGRU or PyTorch GRU checkpoint into a validated :class:`Model`.

    path: ``.safetensors`` (no torch needed) or ``.pt``/``.pth`` (needs torch).
    prefix: only keys starting with it are read (e.g. ``"model."``).
    gru_threshold: the threshold for converting PyTorch GRU weights into an EGRU
        (required for GRU checkpoints; refused for EvNN ones). The converted
        model is *not* equivalent to the GRU: see ``docs/interop.md``.
    dtype: cast to ``"float32"``/``"float64"`` after reading.
    """
    ckpt = read_checkpoint(path)
    model = import_state_dict(ckpt.tensors, prefix=prefix, gru_threshold=gru_threshold,
                              source=os.fspath(path), meta=ckpt.meta)
    return model.astype(dtype) if dtype is not None else model


def export_checkpoint(model: Model, path, layer_prefix: str = DEFAULT_LAYER_PREFIX,
                      strict: bool = True) -> dict:
    """Write ``model`` in EvNN's layout to ``.safetensors`` or ``.pt``/``.pth``.

    Returns the written ``{key: array}`` dict. The eventsim meta (reset mode,
    delays, pseudo-derivative, free meta) is stored in the file's metadata, so a
    round trip through :func:`import_checkpoint` gives the same model.
    """
    if not isinstance(model, Model):
        raise EventsimError(f"export_checkpoint needs an eventsim Model, got {type(model).__name__}")
    tensors, meta = export_state_dict(model, layer_prefix=layer_prefix, strict=strict)
    write_checkpoint(tensors, path, meta=meta)
    return tensors
