"""The continuous-time EGRU model (SPEC §6): layers, validation, the ``.npz`` format and
random initialisation.

A layer of ``n`` units with ``m`` inputs holds ``kernel`` (m, 3n) and
``recurrent_kernel`` (n, 3n) with column blocks ``[u | r | z]`` (update, reset and
modulation pre-activations; note: not the discrete EGRU's ``[z | r | g]``), ``bias``
(3n,) = ``[b_u | b_r | b_z]`` (the values the pre-activations relax to; there is no
``recurrent_bias``), ``thr`` (n,) ϑ > 0 and the time constants ``tau_syn``,
``tau_mem`` (n,) > 0 in seconds. Row ``i`` of ``kernel`` is the fan-out of input channel
``i`` (layer 0) or of unit ``i`` of the layer below; row ``j`` of ``recurrent_kernel`` the
fan-out of the layer's own unit ``j``. A target ``k`` is reached by a source when any of
its three weights ``w_u, w_r, w_z`` is nonzero (weight sparsity).

Delays: ``ff_delays[l]`` (seconds, >= 0) is the transmission delay of the events that
reach layer ``l`` from below (for layer 0: the input events), ``rec_delays[l]`` that of
layer ``l``'s events to itself. Both default to 0.

File (SPEC §6): ``layer{k}.kernel``, ``.recurrent_kernel``, ``.bias``, ``.thr``,
``.tau_syn``, ``.tau_mem`` and ``meta``, a JSON object with ``"kind": "ctegru"`` and
optionally ``"ff_delays"``, ``"rec_delays"`` (lists of seconds, one per layer) and free
extra fields (kept in :attr:`CTEGRUModel.meta`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .._npz import read_npz, write_npz
from ..egru.model import KernelLayer
from ..errors import EventsimError

KIND = "ctegru"
LAYER_KEYS = ("kernel", "recurrent_kernel", "bias", "thr", "tau_syn", "tau_mem")

# Defaults of random_ctegru (eventax's EGRU defaults, with time in seconds: tau_syn 5 ms,
# tau_mem 20 ms; biases b_u ~ -2, b_r ~ 1, b_z ~ 0).
TAU_SYN = 5e-3
TAU_MEM = 20e-3
THR = 0.5
BIAS_MEANS = (-2.0, 1.0, 0.0)
BIAS_SCALE = 0.1


@dataclass
class CTEGRULayer(KernelLayer):
    """Parameters of one continuous-time EGRU layer (SPEC §6).

    kernel (m, 3n) and recurrent_kernel (n, 3n): weights, column blocks [u | r | z];
    bias (3n,): [b_u | b_r | b_z]; thr (n,): threshold ϑ > 0; tau_syn, tau_mem (n,):
    synaptic and membrane time constants in seconds (> 0).
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    thr: np.ndarray
    tau_syn: np.ndarray
    tau_mem: np.ndarray


@dataclass
class CTEGRUModel:
    """A stack of continuous-time EGRU layers; layer ``l``'s input is layer ``l-1``'s events.

    ff_delays, rec_delays: per-layer transmission delays in seconds (see the module
    docstring); meta: free extra fields of the file's ``meta``.
    """

    layers: list
    ff_delays: tuple = ()
    rec_delays: tuple = ()
    meta: dict = field(default_factory=dict)
    kind: str = KIND

    def __post_init__(self):
        L = len(self.layers)
        self.ff_delays = tuple(float(d) for d in (self.ff_delays or (0.0,) * L))
        self.rec_delays = tuple(float(d) for d in (self.rec_delays or (0.0,) * L))

    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def sizes(self) -> list:
        return [l.n_units for l in self.layers]

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def dtype(self):
        return self.layers[0].kernel.dtype

    @property
    def eps(self) -> float:
        """Machine epsilon of the weights' float type: the reset keeps ``c <= ϑ − ε``."""
        return float(np.finfo(self.dtype).eps)

    def with_delays(self, ff_delays, rec_delays) -> "CTEGRUModel":
        m = CTEGRUModel(self.layers, tuple(ff_delays), tuple(rec_delays), dict(self.meta))
        validate_ctegru(m)
        return m


def _fail(where: str, msg: str):
    raise EventsimError(f"{where}: {msg}")


def validate_ctegru(model: CTEGRUModel, source: str = "model") -> None:
    """Refuse an inconsistent model with one sentence saying what to fix."""
    if not model.layers:
        _fail(source, "a continuous-time EGRU needs at least one layer")
    L = model.n_layers
    for name, d in (("ff_delays", model.ff_delays), ("rec_delays", model.rec_delays)):
        if len(d) != L:
            _fail(source, f"{name} has {len(d)} entries but the model has {L} layers")
        if not all(np.isfinite(x) and x >= 0 for x in d):
            _fail(source, f"{name} {list(d)} must be finite numbers of seconds >= 0")
    prev = None
    for k, layer in enumerate(model.layers):
        w = f"{source}: layer {k}"
        for name in LAYER_KEYS:
            a = getattr(layer, name)
            if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
                _fail(w, f"{name} must be a float array, got "
                         f"{getattr(a, 'dtype', type(a).__name__)}")
            if not np.all(np.isfinite(a)):
                _fail(w, f"{name} holds a NaN or infinite value")
        if layer.recurrent_kernel.ndim != 2:
            _fail(w, f"recurrent_kernel must be 2-D (n, 3n), got shape {layer.recurrent_kernel.shape}")
        n = layer.recurrent_kernel.shape[0]
        if layer.recurrent_kernel.shape != (n, 3 * n):
            _fail(w, f"recurrent_kernel has shape {layer.recurrent_kernel.shape} but n = {n} units "
                     f"need (n, 3*n) = ({n}, {3 * n}); check the gate blocks [u | r | z]")
        if layer.kernel.ndim != 2 or layer.kernel.shape[1] != 3 * n:
            _fail(w, f"kernel has shape {layer.kernel.shape} but layer {k} expects (m, 3*n) with "
                     f"n = {n}; check the gate blocks [u | r | z]")
        if prev is not None and layer.kernel.shape[0] != prev:
            _fail(w, f"kernel has {layer.kernel.shape[0]} rows but layer {k - 1} has {prev} units "
                     f"(layer {k}'s inputs are layer {k - 1}'s events)")
        if layer.bias.shape != (3 * n,):
            _fail(w, f"bias has shape {layer.bias.shape}, expected (3n,) = ({3 * n},) "
                     f"[b_u | b_r | b_z] (a continuous-time EGRU has no recurrent_bias)")
        for name in ("thr", "tau_syn", "tau_mem"):
            a = getattr(layer, name)
            if a.shape != (n,):
                _fail(w, f"{name} has shape {a.shape}, expected ({n},): one per unit")
            if not np.all(a > 0):
                what = "thresholds" if name == "thr" else "time constants (seconds)"
                _fail(w, f"{name} must be > 0 ({what}); the smallest is {float(a.min())}")
        prev = n


def ctegru_from_arrays(data: dict, source: str = "model") -> CTEGRUModel:
    """Build a validated model from a file's arrays (SPEC §6 keys)."""
    from ..egru.model import parse_meta
    data = dict(data)
    meta = parse_meta(data, source)
    kind = meta.pop("kind", None)
    if kind != KIND:
        _fail(source, f"meta 'kind' is {kind!r}; a continuous-time EGRU file has \"kind\": \"ctegru\"")
    layers = []
    k = 0
    while any(f"layer{k}.{key}" in data for key in LAYER_KEYS):
        arrs = {}
        for key in LAYER_KEYS:
            name = f"layer{k}.{key}"
            if name not in data:
                _fail(source, f"key {name!r} is missing (layer {k} needs {', '.join(LAYER_KEYS)})")
            arrs[key] = np.asarray(data.pop(name))
        layers.append(CTEGRULayer(**arrs))
        k += 1
    if data:
        hint = (" (a continuous-time EGRU has a single bias per layer: [b_u | b_r | b_z])"
                if any(key.endswith(".recurrent_bias") for key in data) else "")
        _fail(source, f"unknown key(s) {sorted(data)}; allowed are layer{{k}}.{{{','.join(LAYER_KEYS)}}} "
                      f"and meta{hint}")
    if not layers:
        _fail(source, "no layers found (expected keys layer0.kernel, ...)")
    try:
        model = CTEGRUModel(layers, tuple(meta.pop("ff_delays", ()) or ()),
                            tuple(meta.pop("rec_delays", ()) or ()), meta)
    except (TypeError, ValueError) as e:
        raise EventsimError(f"{source}: invalid delays in meta ({e}); give lists of seconds") from None
    validate_ctegru(model, source)
    return model


def load_ctegru(path) -> CTEGRUModel:
    """Read a continuous-time EGRU model file (SPEC §6)."""
    import os
    return ctegru_from_arrays(read_npz(path, "model file"), source=os.fspath(path))


def save_ctegru(model: CTEGRUModel, path) -> None:
    """Write ``model`` to ``path`` (.npz, SPEC §6), atomically."""
    validate_ctegru(model)
    arrays = {}
    for k, layer in enumerate(model.layers):
        for key in LAYER_KEYS:
            arrays[f"layer{k}.{key}"] = getattr(layer, key)
    meta = dict(model.meta)
    meta.update(kind=KIND, ff_delays=list(model.ff_delays), rec_delays=list(model.rec_delays))
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz(path, arrays)


def random_ctegru(n_in: int, layers: Sequence[int], seed: int = 0, weight_density: float = 1.0,
                  weight_scale: Optional[float] = None, thr=THR, tau_syn=TAU_SYN, tau_mem=TAU_MEM,
                  bias_means=BIAS_MEANS, bias_scale: float = BIAS_SCALE, ff_delays=None,
                  rec_delays=None, dtype="float64") -> CTEGRUModel:
    """A random continuous-time EGRU (eventax's initialisation, time in seconds).

    Weights ~ N(0, weight_scale²) (default ``weight_scale`` = 1, eventax's), each
    source→target synapse (its three weights together) kept with probability
    ``weight_density``; biases ~ N(bias_means, bias_scale²) per block [u | r | z];
    ``thr``, ``tau_syn``, ``tau_mem``: scalars (every unit) or per-unit arrays; delays
    per layer in seconds (default 0).
    """
    if n_in < 1 or not layers or any(int(n) < 1 for n in layers):
        raise EventsimError(f"need n_in >= 1 and layers of >= 1 unit, got {n_in} and {list(layers)}")
    if not 0.0 <= weight_density <= 1.0:
        raise EventsimError(f"weight_density {weight_density} must be in [0, 1]")
    rng = np.random.default_rng(seed)
    scale = 1.0 if weight_scale is None else float(weight_scale)
    out = []
    m = int(n_in)
    for n in (int(x) for x in layers):
        def weights(rows):
            w = rng.normal(0.0, scale, size=(rows, 3 * n))
            keep = rng.random((rows, n)) < weight_density
            return w * np.tile(keep, 3)
        kernel, rec = weights(m), weights(n)
        bias = np.concatenate([rng.normal(mu, bias_scale, n) for mu in bias_means])
        out.append(CTEGRULayer(kernel.astype(dtype), rec.astype(dtype), bias.astype(dtype),
                               np.broadcast_to(np.asarray(thr, dtype), (n,)).copy(),
                               np.broadcast_to(np.asarray(tau_syn, dtype), (n,)).copy(),
                               np.broadcast_to(np.asarray(tau_mem, dtype), (n,)).copy()))
        m = n
    model = CTEGRUModel(out, tuple(ff_delays or ()), tuple(rec_delays or ()))
    validate_ctegru(model)
    return model
