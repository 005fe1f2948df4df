"""The DeltaGRU model (SPEC §5): layers, validation, the ``.npz`` file format, random init,
and the conversion of trained GRU weights.

A DeltaGRU layer has the weights of an EGRU layer (SPEC §1: ``kernel`` (m, 3n),
``recurrent_kernel`` (n, 3n), ``bias`` and ``recurrent_bias`` (3n,), gate blocks
``[z | r | g]``) and, in place of the threshold ``thr``, two delta thresholds:
``theta_x`` (m,) on its inputs and ``theta_h`` (n,) on its own state, all >= 0.
With every Θ = 0 the layer is the GRU of its weights (PyTorch ``nn.GRU`` semantics).

File (SPEC §4/§5): the arrays ``layer{k}.kernel``, ``.recurrent_kernel``, ``.bias``,
``.recurrent_bias``, ``.theta_x``, ``.theta_h`` (no ``thr``), the optional
``readout.weight``/``readout.bias``/``embedding.weight``, and ``meta``, a JSON object
with ``"kind": "deltagru"`` (a model file without ``kind`` is an EGRU). Delays (SPEC §3)
are not part of the DeltaGRU: a file that sets any is refused.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

import numpy as np

from .._npz import read_npz, write_npz
from ..egru.model import KernelLayer, LayerStack, _check_array, check_head, parse_meta, read_stack
from ..errors import EventsimError

KIND = "deltagru"
LAYER_KEYS = ("kernel", "recurrent_kernel", "bias", "recurrent_bias", "theta_x", "theta_h")
THETA_X = 0.1   # default input delta threshold of random_deltagru
THETA_H = 0.1   # default state delta threshold of random_deltagru


@dataclass
class DeltaGRULayer(KernelLayer):
    """Parameters of one DeltaGRU layer (SPEC §5).

    kernel: (m, 3n) input weights; row i is the fan-out of input i's deltas.
    recurrent_kernel: (n, 3n) recurrent weights; row j is the fan-out of unit j's deltas.
    bias, recurrent_bias: (3n,) input-side and recurrent-side biases (the initial memories).
    theta_x: (m,) input delta thresholds, >= 0. theta_h: (n,) state delta thresholds, >= 0.
    Column blocks are [z | r | g] (keep gate, reset gate, candidate).
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    recurrent_bias: np.ndarray
    theta_x: np.ndarray
    theta_h: np.ndarray


@dataclass
class DeltaGRUModel(LayerStack):
    """A stack of DeltaGRU layers with an optional embedding and linear readout.

    layers: the DeltaGRU layers, layer k's input size equal to layer k-1's units
        (layer k > 0 reads h_t of layer k-1 and applies its own theta_x to it).
    readout_weight: (n_out, n_L) or None (PyTorch ``nn.Linear`` layout); it reads h_t
        of the last layer densely at every step.
    readout_bias: (n_out,) or None.
    embedding: (V, m) or None; then inputs are integer token ids.
    meta: free extra information saved with the model (JSON-serialisable).
    """

    layers: list
    readout_weight: Optional[np.ndarray] = None
    readout_bias: Optional[np.ndarray] = None
    embedding: Optional[np.ndarray] = None
    meta: dict = field(default_factory=dict)

    kind = KIND

    def with_thetas(self, theta_x=None, theta_h=None) -> "DeltaGRUModel":
        """A copy sharing the weights, with other delta thresholds (see :func:`expand_theta`
        for the forms ``theta_x``/``theta_h`` take; None keeps the current ones)."""
        tx = self._thetas(theta_x, "theta_x", [l.n_in for l in self.layers])
        th = self._thetas(theta_h, "theta_h", self.sizes)
        layers = [replace(l, theta_x=a, theta_h=b) for l, a, b in zip(self.layers, tx, th)]
        m = replace(self, layers=layers, meta=dict(self.meta))
        validate_deltagru(m)
        return m

    def _thetas(self, value, name, sizes):
        if value is None:
            return [getattr(l, name) for l in self.layers]
        return expand_theta(value, sizes, name, self.dtype)

    def meta_dict(self) -> dict:
        """Everything that is not an array, as saved in the file's ``meta``."""
        d = dict(self.meta)
        d["kind"] = KIND
        return d


def expand_theta(value, sizes: Sequence[int], name: str, dtype) -> list:
    """Per-layer threshold arrays from a user value.

    ``value`` is one number (every layer, every input/unit), or a list/tuple with one
    entry per layer, each a number or an array of that layer's size ``sizes[k]``.
    """
    if isinstance(value, (list, tuple)):
        if len(value) != len(sizes):
            raise EventsimError(f"{name} has {len(value)} entries but the model has {len(sizes)} "
                                f"layers; give one number, or one value per layer")
        per_layer = list(value)
    else:
        per_layer = [value] * len(sizes)
    out = []
    for k, (v, n) in enumerate(zip(per_layer, sizes)):
        a = np.asarray(v, dtype=np.float64)
        if a.ndim == 0:
            a = np.full(n, float(a))
        if a.shape != (n,):
            raise EventsimError(f"{name} of layer {k} has shape {a.shape} but layer {k} needs one "
                                f"number or ({n},)")
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise EventsimError(f"{name} of layer {k} must be finite and >= 0 (delta thresholds)")
        out.append(np.ascontiguousarray(a.astype(dtype)))
    return out


# ------------------------------------------------------------------------------ validation

def _check_layer(k: int, layer, prev_n, dtype) -> int:
    """Check layer ``k``'s shapes, values and dtype; return its number of units."""
    p = f"layer{k}"
    K = layer.kernel
    if not isinstance(K, np.ndarray) or K.ndim != 2:
        raise EventsimError(f"{p}.kernel must be a 2-D array (m, 3n), got "
                            f"{getattr(K, 'shape', type(K).__name__)}")
    if K.shape[1] % 3 != 0 or K.shape[1] == 0:
        raise EventsimError(f"{p}.kernel has {K.shape[1]} columns, which do not divide into "
                            f"three gate blocks [z | r | g]; expected (m, 3n)")
    m, n = K.shape[0], K.shape[1] // 3
    if prev_n is not None and m != prev_n:
        raise EventsimError(f"{p}.kernel has {m} input rows but layer{k - 1} has {prev_n} units; "
                            f"layer sizes must chain")
    hint = f" (layer {k} has n = {n} units and m = {m} inputs from {p}.kernel)"
    _check_array(f"{p}.kernel", K, (m, 3 * n))
    _check_array(f"{p}.recurrent_kernel", layer.recurrent_kernel, (n, 3 * n), hint)
    _check_array(f"{p}.bias", layer.bias, (3 * n,), hint)
    _check_array(f"{p}.recurrent_bias", layer.recurrent_bias, (3 * n,), hint)
    _check_array(f"{p}.theta_x", layer.theta_x, (m,), hint + "; theta_x has one threshold per input")
    _check_array(f"{p}.theta_h", layer.theta_h, (n,), hint + "; theta_h has one threshold per unit")
    for key in ("theta_x", "theta_h"):
        a = getattr(layer, key)
        if np.any(a < 0):
            j = int(np.argmax(a < 0))
            raise EventsimError(f"{p}.{key}[{j}] = {float(a[j])} is negative; delta thresholds "
                                f"must be >= 0")
    for key in LAYER_KEYS:
        if getattr(layer, key).dtype != dtype:
            raise EventsimError(f"{p}.{key} has dtype {getattr(layer, key).dtype} but the model "
                                f"uses {dtype}; all arrays must share one dtype")
    return n


def validate_deltagru(model) -> None:
    """Check every shape, value and setting; raise :class:`EventsimError` naming the culprit."""
    if not isinstance(model, DeltaGRUModel):
        raise EventsimError(f"expected a DeltaGRUModel, got {type(model).__name__}")
    if not model.layers:
        raise EventsimError("the model has no layers; it needs at least layer0.*")
    for k, layer in enumerate(model.layers):
        if not isinstance(layer, DeltaGRULayer):
            raise EventsimError(f"layer {k} is a {type(layer).__name__}, not a DeltaGRULayer")
    K0 = model.layers[0].kernel
    dtype = K0.dtype if isinstance(K0, np.ndarray) else None
    prev_n = None
    for k, layer in enumerate(model.layers):
        prev_n = _check_layer(k, layer, prev_n, dtype)
    check_head(model, prev_n, model.layers[0].n_in, dtype)
    if not isinstance(model.meta, dict):
        raise EventsimError(f"meta must be a dict, got {type(model.meta).__name__}")


# ------------------------------------------------------------------------------ files

def deltagru_arrays(model: DeltaGRUModel) -> dict:
    """The model's arrays under their SPEC §4/§5 keys (without ``meta``)."""
    return model.file_arrays()


def save_deltagru(model: DeltaGRUModel, path) -> None:
    """Write ``model`` to ``path`` (``.npz``, SPEC §5: ``meta`` ``"kind": "deltagru"``)."""
    validate_deltagru(model)
    arrays = deltagru_arrays(model)
    try:
        arrays["meta"] = np.array(json.dumps(model.meta_dict()))
    except TypeError as e:
        raise EventsimError(f"the model's meta is not JSON-serialisable ({e})") from None
    write_npz(path, arrays)


def load_deltagru(path, dtype=None) -> DeltaGRUModel:
    """Read and validate a DeltaGRU model file. ``dtype`` casts on load."""
    return deltagru_from_arrays(read_npz(path, "model file"), source=os.fspath(path), dtype=dtype)


def file_kind(data: dict, source: str = "model") -> str:
    """The unit model of a model file's arrays: ``meta["kind"]``, ``"egru"`` without one."""
    meta = parse_meta(dict(data), source)
    kind = meta.get("kind", "egru")
    if not isinstance(kind, str):
        raise EventsimError(f"{source}: meta 'kind' must be a string, got {kind!r}")
    return kind


def _check_meta(meta: dict, source: str) -> None:
    kind = meta.pop("kind", None)
    if kind != KIND:
        what = ("has no 'kind' in its meta, so it is an EGRU" if kind is None
                else f"is a {kind!r} model")
        hint = (" (GRU weights written by training: convert them with "
                "eventsim.deltagru.from_gru(path, theta_x=..., theta_h=...))" if kind == "gru" else "")
        raise EventsimError(f"{source} {what}, not a DeltaGRU (meta \"kind\": \"deltagru\"){hint}")
    for key in ("ff_delays", "rec_delays"):
        if any(int(d) != 0 for d in (meta.pop(key, None) or ())):
            raise EventsimError(f"{source}: meta sets {key}, but a DeltaGRU (SPEC §5) has no delays")


def deltagru_from_arrays(data: dict, source: str = "model", dtype=None) -> DeltaGRUModel:
    """Build a validated :class:`DeltaGRUModel` from a dict of SPEC §5 keys (with ``meta``)."""
    data = dict(data)
    meta = parse_meta(data, source)
    _check_meta(meta, source)
    thr = sorted((int(key[5:-4]), key) for key in data if re.fullmatch(r"layer\d+\.thr", key))
    if thr:
        raise EventsimError(f"{source}: {thr[0][1]} is an EGRU threshold; a DeltaGRU layer has "
                            f"theta_x and theta_h instead (SPEC §5)")
    layers, _, readout_w, readout_b, emb = read_stack(data, DeltaGRULayer, LAYER_KEYS, source)
    model = DeltaGRUModel(layers=layers, readout_weight=readout_w, readout_bias=readout_b,
                          embedding=emb, meta=meta)
    validate_deltagru(model)
    return model.astype(dtype) if dtype is not None else model


def load_any_model(path, dtype=None):
    """Read a model file of any unit model: a :class:`DeltaGRUModel` when its meta says
    ``"kind": "deltagru"``, else an EGRU :class:`~eventsim.egru.model.Model`."""
    from ..egru.model import model_from_arrays
    data = read_npz(path, "model file")
    source = os.fspath(path)
    kind = file_kind(data, source)
    if kind == KIND:
        return deltagru_from_arrays(data, source=source, dtype=dtype)
    if kind in ("gru", "lstm"):
        raise EventsimError(f"{source} holds {kind.upper()} weights written by training, not a model "
                            f"file" + ("; convert them with eventsim.deltagru.from_gru(path, "
                                       "theta_x=..., theta_h=...)" if kind == "gru" else ""))
    if kind != "egru":
        raise EventsimError(f"{source}: meta kind {kind!r} is unknown; model files are 'egru' "
                            f"(no kind) or 'deltagru'")
    return model_from_arrays(data, source=source, dtype=dtype)


# ------------------------------------------------------------------------------ construction

def random_deltagru(n_in: int, layers: Sequence[int], n_out: Optional[int] = None,
                    theta_x=THETA_X, theta_h=THETA_H, seed: int = 0, weight_density: float = 1.0,
                    vocab: Optional[int] = None, dtype="float32") -> DeltaGRUModel:
    """A randomly initialised DeltaGRU for tests and demos.

    The weights, biases, readout and embedding are exactly those of
    :func:`eventsim.random_model` with the same arguments and seed (Xavier-normal
    weights, zero biases; with ``weight_density`` < 1 each weight kept with that
    probability), so an EGRU and a DeltaGRU can be compared on the same weights.
    ``theta_x``/``theta_h``: one number, or one value (number or array) per layer.
    """
    from ..egru.model import random_model
    base = random_model(n_in, layers, n_out=n_out, seed=seed, weight_density=weight_density,
                        vocab=vocab, dtype=dtype)
    dt = base.dtype
    tx = expand_theta(theta_x, [l.n_in for l in base.layers], "theta_x", dt)
    th = expand_theta(theta_h, base.sizes, "theta_h", dt)
    out = [DeltaGRULayer(l.kernel, l.recurrent_kernel, l.bias, l.recurrent_bias, a, b)
           for l, a, b in zip(base.layers, tx, th)]
    model = DeltaGRUModel(layers=out, readout_weight=base.readout_weight,
                          readout_bias=base.readout_bias, embedding=base.embedding)
    validate_deltagru(model)
    return model


_EVENTSIM_LAYER = re.compile(r"^layer\d+\.kernel$")


def from_gru(source, theta_x=0.0, theta_h=0.0, prefix: Optional[str] = None,
             dtype=None) -> DeltaGRUModel:
    """A DeltaGRU with the weights of a trained GRU and the delta thresholds given.

    With every Θ = 0 it computes the GRU exactly (up to float rounding); larger Θ trade
    accuracy for fewer sent deltas. ``source`` is one of:

    - a PyTorch ``nn.GRU`` / ``nn.GRUCell`` module, or its state dict (``weight_ih_l{k}``,
      ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, row blocks ``[r | z | n]``; an
      ``nn.Linear`` readout and ``nn.Embedding`` beside them are taken too, as by
      :func:`eventsim.interop.import_state_dict`; ``prefix`` selects one network);
    - eventsim's own GRU weights (a dict with ``layer{k}.kernel`` ... in the ``[z | r | g]``
      layout, or the path of a weights file written by training's ``save_weights``);
    - a checkpoint path (``.pt``/``.pth``/``.safetensors``) holding PyTorch GRU weights.

    PyTorch's ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`` is SPEC §5's
    ``g = tanh(Mx_g + r ⊙ Mh_g)`` with the recurrent bias inside ``Mh``: the weights map by
    transposing and swapping the first two gate blocks.
    """
    tensors, origin, ck_meta = _gru_tensors(source)
    if any(_EVENTSIM_LAYER.match(k) for k in tensors):
        model = _from_eventsim_gru(tensors, origin, ck_meta)
        info = {"converted_from": "eventsim GRU weights", "source": origin}
    else:
        model = _from_torch_gru(tensors, prefix, origin)
        info = {"converted_from": "torch.nn.GRU", "source": origin}
    for name, v in (("theta_x", theta_x), ("theta_h", theta_h)):
        info[name] = v if np.ndim(v) == 0 and not isinstance(v, (list, tuple)) else "per layer/unit"
    model.meta = {"imported": {k: (float(v) if isinstance(v, (int, float, np.floating)) else v)
                               for k, v in info.items()}}
    model = model.with_thetas(theta_x, theta_h)
    return model.astype(dtype) if dtype is not None else model


def _gru_tensors(source):
    """(flat dict of numpy arrays, a name for messages, eventsim meta or None)."""
    if hasattr(source, "state_dict") and callable(source.state_dict):
        sd = source.state_dict()
        return {k: v.detach().cpu().numpy() for k, v in sd.items()}, type(source).__name__, None
    if isinstance(source, dict):
        return {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v))
                for k, v in source.items()}, "state dict", None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path.endswith(".npz"):
            data = read_npz(path, "weights file")
            meta = parse_meta(data, path)
            return data, path, meta
        from ..interop.files import read_checkpoint
        ck = read_checkpoint(path)
        return ck.tensors, path, ck.meta
    raise EventsimError(f"from_gru needs an nn.GRU, a state dict or a file path, got "
                        f"{type(source).__name__}")


def _from_eventsim_gru(tensors: dict, origin: str, meta) -> DeltaGRUModel:
    """eventsim's GRU weights (the model file keys without thr): same layout as SPEC §5."""
    kind = (meta or {}).get("kind", "gru")
    if kind != "gru" or any(k.endswith(".thr") for k in tensors):
        raise EventsimError(f"{origin}: these are {kind if kind != 'gru' else 'EGRU'} weights, not "
                            f"a GRU's; from_gru converts GRU weights")
    data = {k: v for k, v in tensors.items() if k != "meta"}
    dt = np.asarray(data["layer0.kernel"]).dtype
    dt = dt if dt in (np.float32, np.float64) else np.dtype(np.float32)
    k = 0
    while f"layer{k}.kernel" in data:
        for key, size in (("theta_x", np.shape(data[f"layer{k}.kernel"])[0]),
                          ("theta_h", np.shape(data.get(f"layer{k}.recurrent_kernel", np.zeros((0,))))[0])):
            data[f"layer{k}.{key}"] = np.zeros(size, dt)
        k += 1
    data = {key: np.asarray(v, dtype=dt) for key, v in data.items()}
    data["meta"] = np.array(json.dumps({"kind": KIND}))
    return deltagru_from_arrays(data, source=origin)


def _from_torch_gru(tensors: dict, prefix, origin: str) -> DeltaGRUModel:
    """PyTorch GRU weights, through the EGRU importer's mapping (threshold 0, then dropped)."""
    if any(k.endswith(".thr") or k == "thr" for k in tensors):
        raise EventsimError(f"{origin}: this state dict holds EvNN EGRU layers (thr), not a GRU; "
                            f"from_gru converts GRU weights")
    from ..interop.evnn import import_state_dict
    egru = import_state_dict(tensors, prefix=prefix, gru_threshold=0.0, source=origin)
    layers = [DeltaGRULayer(l.kernel, l.recurrent_kernel, l.bias, l.recurrent_bias,
                            np.zeros(l.n_in, l.kernel.dtype), np.zeros(l.n_units, l.kernel.dtype))
              for l in egru.layers]
    model = DeltaGRUModel(layers=layers, readout_weight=egru.readout_weight,
                          readout_bias=egru.readout_bias, embedding=egru.embedding)
    validate_deltagru(model)
    return model
