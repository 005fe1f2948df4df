"""The EGRU model: layers, validation, the ``.npz`` file format, random init.

The equations are those of SPEC §1 (the EvNN formulation, gate blocks
``[z | r | g]``); see ``docs/spec.md``. This module only holds parameters: the
dense reference (:mod:`eventsim.egru.reference`) and the event engine
(:mod:`eventsim.engine`) compute with them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from typing import Optional, Sequence

import numpy as np

from .._npz import read_npz, write_npz
from ..errors import EventsimError
from .init import DAMPENING, RESET, RESET_MODES, SUPPORT, THR_CONCENTRATION, THR_MEAN, draw_thresholds

DTYPES = {"float32": np.float32, "float64": np.float64}
LAYER_KEYS = ("kernel", "recurrent_kernel", "bias", "recurrent_bias", "thr")
OPTIONAL_KEYS = ("readout.weight", "readout.bias", "embedding.weight", "meta")


class KernelLayer:
    """What every recurrent layer dataclass shares: ``kernel`` (m, ·) and
    ``recurrent_kernel`` (n, ·) give its sizes, and its fields are its file arrays. Mixed
    into :class:`EGRULayer`, the DeltaGRU's and the continuous-time EGRU's layers."""

    @property
    def n_in(self) -> int:
        return int(self.kernel.shape[0])

    @property
    def n_units(self) -> int:
        return int(self.recurrent_kernel.shape[0])

    def arrays(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class EGRULayer(KernelLayer):
    """Parameters of one EGRU layer (SPEC §1).

    kernel: (m, 3n) input weights; row i is the fan-out of input i.
    recurrent_kernel: (n, 3n) recurrent weights; row j is the fan-out of unit j.
    bias, recurrent_bias: (3n,) input-side and recurrent-side biases.
    thr: (n,) per-unit thresholds, >= 0.
    Column blocks are [z | r | g] (keep gate, reset gate, candidate).
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    recurrent_bias: np.ndarray
    thr: np.ndarray

    @property
    def n_units(self) -> int:  # the thresholds' length: what validation checks the rest against
        return int(self.thr.shape[0])


class LayerStack:
    """What every unit model's network shares: a list of ``layers`` (each with ``n_in``,
    ``n_units``, ``kernel`` and ``arrays()``), an optional ``readout_weight``/``readout_bias``
    and ``embedding``, and ``meta``. Mixed into the dataclasses :class:`Model` (EGRU) and
    :class:`eventsim.deltagru.model.DeltaGRUModel`."""

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def sizes(self) -> list:
        return [layer.n_units for layer in self.layers]

    @property
    def n_out(self) -> Optional[int]:
        return None if self.readout_weight is None else int(self.readout_weight.shape[0])

    @property
    def vocab(self) -> Optional[int]:
        return None if self.embedding is None else int(self.embedding.shape[0])

    @property
    def dtype(self):
        return self.layers[0].kernel.dtype

    def file_arrays(self) -> dict:
        """The arrays under their file keys (``layer{k}.<name>``, ``readout.*``,
        ``embedding.weight``), without ``meta``."""
        arrays = {}
        for k, layer in enumerate(self.layers):
            for key, a in layer.arrays().items():
                arrays[f"layer{k}.{key}"] = a
        if self.readout_weight is not None:
            arrays["readout.weight"] = self.readout_weight
            arrays["readout.bias"] = self.readout_bias
        if self.embedding is not None:
            arrays["embedding.weight"] = self.embedding
        return arrays

    def astype(self, dtype):
        """A copy with every array cast to ``dtype`` (float32 or float64)."""
        dt = _resolve_dtype(dtype)
        cast = lambda a: None if a is None else np.ascontiguousarray(a, dtype=dt)
        layers = [type(l)(**{k: cast(v) for k, v in l.arrays().items()}) for l in self.layers]
        return replace(self, layers=layers, readout_weight=cast(self.readout_weight),
                       readout_bias=cast(self.readout_bias), embedding=cast(self.embedding),
                       meta=dict(self.meta))


@dataclass
class Model(LayerStack):
    """A stack of EGRU layers with an optional embedding and linear readout.

    layers: the EGRU layers, layer k's input size equal to layer k-1's units.
    readout_weight: (n_out, n_L) or None (PyTorch ``nn.Linear`` layout).
    readout_bias: (n_out,) or None.
    embedding: (V, m) or None; then inputs are integer token ids.
    reset: "threshold" (s_t = c_t - o_t*thr, default, as EvNN) or "output"
        (c_t gets -y_{t-1}, the paper's equation).
    ff_delays, rec_delays: integer delays (steps) per layer, SPEC §3.
    dampening, support: the pseudo-derivative's gamma and s_w (training only).
    meta: free extra information saved with the model (JSON-serialisable).
    """

    layers: list
    readout_weight: Optional[np.ndarray] = None
    readout_bias: Optional[np.ndarray] = None
    embedding: Optional[np.ndarray] = None
    reset: str = RESET
    ff_delays: tuple = ()
    rec_delays: tuple = ()
    dampening: float = DAMPENING
    support: float = SUPPORT
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.ff_delays:
            self.ff_delays = (0,) * len(self.layers)
        if not self.rec_delays:
            self.rec_delays = (0,) * len(self.layers)
        self.ff_delays = _int_delays(self.ff_delays, "ff_delays")
        self.rec_delays = _int_delays(self.rec_delays, "rec_delays")

    def with_delays(self, ff_delays=None, rec_delays=None) -> "Model":
        """A copy sharing the arrays but with other delays (validated)."""
        m = replace(self, ff_delays=tuple(ff_delays if ff_delays is not None else self.ff_delays),
                    rec_delays=tuple(rec_delays if rec_delays is not None else self.rec_delays))
        validate_model(m)
        return m

    def meta_dict(self) -> dict:
        """Everything that is not an array, as saved in the file's ``meta``."""
        d = dict(self.meta)
        d.update(reset=self.reset, ff_delays=list(self.ff_delays), rec_delays=list(self.rec_delays),
                 pseudo_derivative={"dampening": self.dampening, "support": self.support})
        return d


def _int_delays(delays, name: str) -> tuple:
    """Delays as ints; a fractional or non-numeric delay is refused, never truncated."""
    out = []
    for d in delays:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, float, np.integer, np.floating)) \
                or not float(d).is_integer():
            raise EventsimError(f"{name} = {list(delays)}: delays are whole numbers of steps")
        out.append(int(d))
    return tuple(out)


def _resolve_dtype(dtype):
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise EventsimError(f"dtype {dtype!r} is not supported; use 'float32' or 'float64'")
        return DTYPES[dtype]
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise EventsimError(f"dtype {dt} is not supported; use float32 or float64")
    return dt.type


def _check_array(name: str, a, shape: tuple, hint: str = "") -> None:
    if not isinstance(a, np.ndarray):
        raise EventsimError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype.kind != "f":
        raise EventsimError(f"{name} has dtype {a.dtype}; weights must be float32 or float64")
    if a.shape != shape:
        raise EventsimError(f"{name} has shape {a.shape} but {shape} was expected{hint}")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise EventsimError(f"{name} holds a NaN or infinite value at index {tuple(int(i) for i in bad)}")


def check_head(model, n_last: int, m0: int, dtype=None) -> None:
    """Check a layer stack's readout (against the last layer's ``n_last`` units) and embedding
    (against layer 0's ``m0`` inputs); with ``dtype``, also that they share the model's dtype."""
    if (model.readout_weight is None) != (model.readout_bias is None):
        raise EventsimError("readout.weight and readout.bias must be given together")
    named = []
    if model.readout_weight is not None:
        W = model.readout_weight
        if not isinstance(W, np.ndarray) or W.ndim != 2:
            raise EventsimError("readout.weight must be a 2-D array (n_out, n_last)")
        _check_array("readout.weight", W, (W.shape[0], n_last),
                     f" (n_out, {n_last}): the last layer has {n_last} units")
        _check_array("readout.bias", model.readout_bias, (W.shape[0],))
        named += [("readout.weight", W), ("readout.bias", model.readout_bias)]
    if model.embedding is not None:
        E = model.embedding
        if not isinstance(E, np.ndarray) or E.ndim != 2:
            raise EventsimError("embedding.weight must be a 2-D array (V, m)")
        _check_array("embedding.weight", E, (E.shape[0], m0), f" (V, {m0}): layer0 has {m0} inputs")
        named.append(("embedding.weight", E))
    for name, a in named if dtype is not None else ():
        if a.dtype != dtype:
            raise EventsimError(f"{name} has dtype {a.dtype} but the model uses {dtype}; all "
                                f"arrays must share one dtype")


def validate_model(model: Model) -> None:
    """Check every shape, value and setting; raise :class:`EventsimError` naming the culprit."""
    if not model.layers:
        raise EventsimError("the model has no layers; it needs at least layer0.*")
    if model.reset not in RESET_MODES:
        raise EventsimError(f"reset mode {model.reset!r} is unknown; use 'threshold' or 'output'")
    dtype = model.layers[0].kernel.dtype if isinstance(model.layers[0].kernel, np.ndarray) else None
    prev_n = None
    for k, layer in enumerate(model.layers):
        p = f"layer{k}"
        K = layer.kernel
        if not isinstance(K, np.ndarray) or K.ndim != 2:
            raise EventsimError(f"{p}.kernel must be a 2-D array (m, 3n), got "
                                f"{getattr(K, 'shape', type(K).__name__)}")
        if K.shape[1] % 3 != 0 or K.shape[1] == 0:
            raise EventsimError(f"{p}.kernel has {K.shape[1]} columns, which do not divide into "
                                f"three gate blocks [z | r | g]; expected (m, 3n)")
        n = K.shape[1] // 3
        m = K.shape[0]
        if prev_n is not None and m != prev_n:
            raise EventsimError(f"{p}.kernel has {m} input rows but layer{k - 1} has {prev_n} units; "
                                f"layer sizes must chain")
        hint = f" (layer {k} has n = {n} units from {p}.kernel; check the gate order [z | r | g])"
        _check_array(f"{p}.kernel", K, (m, 3 * n))
        _check_array(f"{p}.recurrent_kernel", layer.recurrent_kernel, (n, 3 * n), hint)
        _check_array(f"{p}.bias", layer.bias, (3 * n,), hint)
        _check_array(f"{p}.recurrent_bias", layer.recurrent_bias, (3 * n,), hint)
        _check_array(f"{p}.thr", layer.thr, (n,), hint)
        if np.any(layer.thr < 0):
            j = int(np.argmax(layer.thr < 0))
            raise EventsimError(f"{p}.thr[{j}] = {float(layer.thr[j])} is negative; thresholds must be >= 0")
        for key in LAYER_KEYS:
            if getattr(layer, key).dtype != dtype:
                raise EventsimError(f"{p}.{key} has dtype {getattr(layer, key).dtype} but the model "
                                    f"uses {dtype}; all arrays must share one dtype")
        prev_n = n
    check_head(model, prev_n, model.layers[0].n_in)
    L = len(model.layers)
    for name in ("ff_delays", "rec_delays"):
        d = getattr(model, name)
        if len(d) != L:
            raise EventsimError(f"{name} has {len(d)} entries but the model has {L} layers")
        if any(x < 0 for x in d):
            raise EventsimError(f"{name} = {list(d)} holds a negative delay; delays are integers >= 0")
    for name in ("dampening", "support"):
        v = getattr(model, name)
        if not np.isfinite(v) or v < 0:
            raise EventsimError(f"pseudo-derivative {name} = {v} must be a finite number >= 0")


def model_arrays(model: Model) -> dict:
    """The model's arrays under their SPEC §4 keys (without ``meta``)."""
    return model.file_arrays()


def save_model(model: Model, path) -> None:
    """Write ``model`` to ``path`` in the ``.npz`` format of SPEC §4."""
    validate_model(model)
    arrays = model_arrays(model)
    arrays["meta"] = np.array(json.dumps(model.meta_dict()))
    write_npz(path, arrays)


def load_model(path, dtype=None) -> Model:
    """Read and validate a model file (SPEC §4). ``dtype`` casts on load."""
    return model_from_arrays(read_npz(path, "model file"), source=os.fspath(path), dtype=dtype)


def parse_meta(data: dict, source: str) -> dict:
    """Pop ``meta`` from a file's arrays and parse it as a JSON object (``{}`` without one)."""
    if "meta" not in data:
        return {}
    raw = data.pop("meta")
    try:
        meta = json.loads(str(raw))
        if not isinstance(meta, dict):
            raise ValueError("not an object")
    except ValueError as e:
        raise EventsimError(f"{source}: 'meta' is not a JSON object ({e})") from None
    return meta


def read_stack(data: dict, layer_cls, layer_keys: tuple, source: str) -> tuple:
    """Pop a layer stack's arrays from a model file's ``data`` (consumed): layers
    ``layer{k}.<key>`` for ``layer_keys`` built with ``layer_cls``, ``meta``, the readout and
    the embedding. Refuses a missing layer key, an unknown key and a file without layers.
    Returns (layers, meta, readout weight, readout bias, embedding)."""
    layers = []
    k = 0
    while any(f"layer{k}.{key}" in data for key in layer_keys):
        arrs = {}
        for key in layer_keys:
            name = f"layer{k}.{key}"
            if name not in data:
                raise EventsimError(f"{source}: key {name!r} is missing (layer {k} needs "
                                    f"{', '.join(layer_keys)})")
            arrs[key] = np.asarray(data.pop(name))
        layers.append(layer_cls(**arrs))
        k += 1
    meta = parse_meta(data, source)
    readout_w = data.pop("readout.weight", None)
    readout_b = data.pop("readout.bias", None)
    emb = data.pop("embedding.weight", None)
    if data:
        raise EventsimError(f"{source}: unknown key(s) {sorted(data)}; allowed are layer{{k}}."
                            f"{{{','.join(layer_keys)}}}, {', '.join(OPTIONAL_KEYS)}")
    if not layers:
        raise EventsimError(f"{source}: no layers found (expected keys layer0.kernel, ...)")
    return layers, meta, readout_w, readout_b, emb


def model_from_arrays(data: dict, source: str = "model", dtype=None) -> Model:
    """Build a validated :class:`Model` from a dict of SPEC §4 keys."""
    data = dict(data)
    if any(k.endswith((".theta_x", ".theta_h")) for k in data):
        raise EventsimError(f"{source} holds a DeltaGRU (delta thresholds theta_x/theta_h), not an EGRU; "
                            f"load it with eventsim.deltagru.load_deltagru (or load_any_model)")
    layers, meta, readout_w, readout_b, emb = read_stack(data, EGRULayer, LAYER_KEYS, source)
    pd = meta.pop("pseudo_derivative", {}) or {}
    if not isinstance(pd, dict):
        raise EventsimError(f"{source}: meta 'pseudo_derivative' must be an object "
                            f"{{\"dampening\": ..., \"support\": ...}}, not {type(pd).__name__}")
    try:
        model = Model(layers=layers, readout_weight=readout_w, readout_bias=readout_b, embedding=emb,
                      reset=meta.pop("reset", RESET),
                      ff_delays=tuple(meta.pop("ff_delays", ()) or ()),
                      rec_delays=tuple(meta.pop("rec_delays", ()) or ()),
                      dampening=float(pd.get("dampening", DAMPENING)), support=float(pd.get("support", SUPPORT)),
                      meta=meta)
    except (TypeError, ValueError) as e:
        raise EventsimError(f"{source}: invalid meta settings ({e})") from None
    validate_model(model)
    if dtype is not None:
        model = model.astype(dtype)
    return model


def random_model(n_in: int, layers: Sequence[int], n_out: Optional[int] = None, seed: int = 0,
                 weight_density: float = 1.0, thr_mean: float = THR_MEAN, vocab: Optional[int] = None,
                 dtype="float32", reset: str = RESET, ff_delays=None, rec_delays=None,
                 thr_concentration: float = THR_CONCENTRATION) -> Model:
    """A randomly initialised model for tests and demos.

    Weights are Xavier-normal (std = sqrt(2 / (fan_in + fan_out))); biases are
    zero; thresholds are drawn from Beta(mu*k, (1-mu)*k) with mean
    ``thr_mean`` = mu and concentration ``thr_concentration`` = k (EvNN draws
    its initial thresholds from a Beta distribution too). With
    ``weight_density`` < 1 each weight is kept with that probability and the
    rest set to exactly zero (absent synapses). ``vocab`` adds an embedding
    (V, n_in) so that the model takes token ids.
    """
    if isinstance(layers, int):
        layers = [layers]
    layers = [int(n) for n in layers]
    if int(n_in) < 1 or not layers or min(layers) < 1:
        raise EventsimError(f"sizes must be positive: n_in = {n_in}, layers = {layers}")
    if not 0.0 < weight_density <= 1.0:
        raise EventsimError(f"weight_density = {weight_density} must be in (0, 1]")
    if not 0.0 < thr_mean < 1.0:
        raise EventsimError(f"thr_mean = {thr_mean} must be in (0, 1)")
    if n_out is not None and int(n_out) < 1:
        raise EventsimError(f"n_out = {n_out} must be positive")
    dt = _resolve_dtype(dtype)
    rng = np.random.default_rng(seed)

    def xavier(fan_in, fan_out, shape):
        w = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)
        if weight_density < 1.0:
            w *= rng.random(shape) < weight_density
        return w.astype(dt)

    out = []
    m = int(n_in)
    for n in layers:
        out.append(EGRULayer(kernel=xavier(m, 3 * n, (m, 3 * n)),
                             recurrent_kernel=xavier(n, 3 * n, (n, 3 * n)),
                             bias=np.zeros(3 * n, dt), recurrent_bias=np.zeros(3 * n, dt),
                             thr=draw_thresholds(rng, n, thr_mean, thr_concentration).astype(dt)))
        m = n
    ro_w = ro_b = emb = None
    if n_out is not None:
        ro_w = xavier(m, int(n_out), (int(n_out), m))
        ro_b = np.zeros(int(n_out), dt)
    if vocab is not None:
        emb = rng.normal(0.0, 1.0, size=(int(vocab), int(n_in))).astype(dt)
    model = Model(layers=out, readout_weight=ro_w, readout_bias=ro_b, embedding=emb, reset=reset,
                  ff_delays=tuple(ff_delays or ()), rec_delays=tuple(rec_delays or ()))
    validate_model(model)
    return model
