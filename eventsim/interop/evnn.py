"""EvNN ``EGRU`` and PyTorch ``nn.GRU`` / ``nn.GRUCell`` state dicts <-> :class:`Model`.

EvNN layout (``frameworks/pytorch/egru.py`` of EvNN), per layer under a module
prefix ``P``: ``P.kernel (m, 3n)``, ``P.recurrent_kernel (n, 3n)``, ``P.bias (3n,)``,
``P.recurrent_bias (3n,)``, ``P.thr (n,)``, all with gate blocks ``[z | r | g]``
exactly as SPEC §1 (eventsim's canonical form is EvNN's, so these are copied
unchanged). EvNN also registers ``P.dampening_factor (1,)``,
``P.pseudo_derivative_support (1,)`` and ``P._max_norm (1,)`` as parameters; the
first two become the model's pseudo-derivative settings, ``_max_norm``
(gradient clipping for training) is accepted and ignored. EvNN stores ``thr``
raw and clamps it to [0, 1] in place at every forward pass, so a value outside
[0, 1] in a checkpoint is clamped on import (with a warning): that is the
threshold EvNN runs with.

PyTorch GRU layout: ``weight_ih_l{k} (3n, m)``, ``weight_hh_l{k} (3n, n)``,
``bias_ih_l{k}``, ``bias_hh_l{k}`` (``nn.GRU``) or ``weight_ih`` ... without
the suffix (``nn.GRUCell``), with row blocks ``[r | z | n]``. PyTorch's GRU is
``r = σ(W_ir x + b_ir + W_hr h + b_hr)``, ``z = σ(W_iz x + b_iz + W_hz h + b_hz)``,
``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, ``h' = (1 − z) ⊙ n + z ⊙ h``:
the same gates as SPEC §1 (``z`` is the keep gate in both; ``r`` multiplies the
recurrent candidate term *including* its bias, as ``r ⊙ vh_g`` does), so the
weights map exactly by transposing and swapping the first two blocks. A GRU
has no threshold, though, and no threshold makes an EGRU a GRU (with ϑ = 0 a
unit still sends nothing when ``c ≤ 0``, where the GRU sends ``h``), so a GRU is
imported only as an explicit *conversion* to an EGRU with a threshold the user
gives (``gru_threshold``); the result is recorded in ``meta["converted_from"]``.
"""
from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import EventsimError
from ..egru.model import EGRULayer, Model, validate_model
from ..egru.init import DAMPENING, RESET, SUPPORT

log = logging.getLogger(__name__)

EGRU_KEYS = ("kernel", "recurrent_kernel", "bias", "recurrent_bias", "thr")
EGRU_EXTRA = ("dampening_factor", "pseudo_derivative_support", "_max_norm")
GRU_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

DEFAULT_LAYER_PREFIX = "rnns."
READOUT_NAME = "decoder"
EMBEDDING_NAME = "embeddings"


@dataclass
class _Unit:
    """One recurrent layer found in a state dict."""
    kind: str          # "egru" | "gru" | "grucell"
    prefix: str        # module prefix, e.g. "rnns.0." or "gru."
    index: int         # layer index inside an nn.GRU (0 otherwise)
    keys: dict         # role -> full key

    @property
    def label(self) -> str:
        if self.kind == "gru":
            return f"{self.prefix}*_l{self.index} (nn.GRU layer {self.index})"
        return f"{self.prefix}* ({'EvNN EGRU' if self.kind == 'egru' else 'nn.GRUCell'})"


def _natural(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _list(keys, limit=30) -> str:
    keys = sorted(keys, key=_natural)
    s = ", ".join(keys[:limit])
    return s + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def _shape(a) -> str:
    return "(" + ", ".join(str(d) for d in a.shape) + ")"


# ----------------------------------------------------------------------------------------- import

def import_state_dict(tensors: dict, prefix: str | None = None, gru_threshold=None,
                      source: str = "checkpoint", meta: dict | None = None) -> Model:
    """Build a validated :class:`Model` from a flat state dict of numpy arrays.

    prefix: only keys starting with it are considered (e.g. ``"model."``); use it
        to pick one network out of a checkpoint that holds several.
    gru_threshold: required for PyTorch GRU weights (a float, or an array of n
        per-unit thresholds for each layer); refused for EvNN checkpoints.
    meta: eventsim meta found in the file (written by :func:`export_state_dict`);
        restores reset mode, delays and free meta exactly.
    """
    sel = _select(tensors, prefix, source)
    units, kinds = _recurrent_units(sel, source)
    egru = kinds == {"egru"}
    _check_gru_threshold(egru, gru_threshold, units, source)
    layers, used, dampening, support = _build_layers(sel, units, egru, gru_threshold, source)
    _check_stack(units, layers, source)
    # dtype: one for all arrays, the checkpoint's own float32/float64
    dt = layers[0].kernel.dtype if layers[0].kernel.dtype in (np.float32, np.float64) else np.float32
    readout_w, readout_b, emb = _head(sel, used, layers[0].n_in, layers[-1].n_units, source)
    if meta:
        kw = _settings_from_meta(meta)
    else:
        kw = _settings_from_checkpoint(dampening, support, units, kinds, gru_threshold, source)
    model = Model(layers=layers, readout_weight=readout_w, readout_bias=readout_b, embedding=emb, **kw)
    model = model.astype(dt) if any(a.dtype != dt for a in _all_arrays(model)) else model
    validate_model(model)
    return model


def _select(tensors: dict, prefix: str | None, source: str) -> dict:
    """The tensors (as numpy arrays) whose keys start with ``prefix`` (all without one)."""
    allkeys = sorted(tensors, key=_natural)
    if prefix:
        sel = {k: np.asarray(v) for k, v in tensors.items() if k.startswith(prefix)}
        if not sel:
            raise EventsimError(f"{source}: no key starts with prefix {prefix!r}; keys found: "
                                f"{_list(allkeys)}")
    else:
        sel = {k: np.asarray(v) for k, v in tensors.items()}
    if not sel:
        raise EventsimError(f"{source}: the checkpoint holds no tensors")
    return sel


def _recurrent_units(sel: dict, source: str):
    """The recurrent layers of ``sel`` in stack order, and their kinds: ``(units, kinds)``;
    refuses a state dict with none, or with EvNN EGRU and PyTorch GRU layers both."""
    units = _find_units(sel, source)
    kinds = {u.kind for u in units}
    if not units:
        raise EventsimError(
            f"{source}: no recurrent layer found; keys found: {_list(sel)}; expected an EvNN EGRU "
            f"(<prefix>kernel, recurrent_kernel, bias, recurrent_bias, thr) or PyTorch GRU weights "
            f"(<prefix>weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0)")
    if "egru" in kinds and kinds - {"egru"}:
        raise EventsimError(
            f"{source}: the checkpoint mixes EvNN EGRU layers and PyTorch GRU weights "
            f"({'; '.join(u.label for u in units)}); pick one network with --prefix")
    units.sort(key=lambda u: (_natural(u.prefix), u.index))
    return units, kinds


def _check_gru_threshold(egru: bool, gru_threshold, units: list, source: str) -> None:
    """A GRU threshold is required for PyTorch GRU weights and refused for an EvNN EGRU."""
    if egru and gru_threshold is not None:
        raise EventsimError(f"{source}: gru_threshold is only for PyTorch GRU weights; this "
                            f"checkpoint holds EvNN EGRU layers with their own thresholds")
    if not egru and gru_threshold is None:
        raise EventsimError(
            f"{source}: PyTorch GRU weights found ({'; '.join(u.label for u in units)}) but a GRU "
            f"has no threshold and no threshold makes an EGRU compute a GRU; to convert it into "
            f"an EGRU anyway give the threshold (--gru-threshold 0.1, or gru_threshold=...)")


def _build_layers(sel: dict, units: list, egru: bool, gru_threshold, source: str):
    """One :class:`EGRULayer` per unit: ``(layers, used keys, dampening factors,
    pseudo-derivative supports)``, the last two as found in EvNN layers (else empty)."""
    used = set()
    layers = []
    dampening, support = [], []
    for li, u in enumerate(units):
        used.update(u.keys.values())
        if egru:
            arr = {r: np.asarray(sel[u.keys[r]]) for r in EGRU_KEYS}
            arr["thr"] = _evnn_thr(arr["thr"], f"{source}: {u.keys['thr']}")
            if "dampening_factor" in u.keys:
                dampening.append(_scalar(sel[u.keys["dampening_factor"]]))
            if "pseudo_derivative_support" in u.keys:
                support.append(_scalar(sel[u.keys["pseudo_derivative_support"]]))
            _check_egru_shapes(arr, u, source)
            layers.append(EGRULayer(**arr))
        else:
            layers.append(_gru_to_egru(sel, u, gru_threshold, li, source))
    return layers, used, dampening, support


def _check_stack(units: list, layers: list, source: str) -> None:
    """Each layer takes as many inputs as the layer below has units."""
    for k in range(1, len(layers)):
        if layers[k].n_in != layers[k - 1].n_units:
            found = "; ".join(f"{u.label}: {l.n_in} -> {l.n_units}" for u, l in zip(units, layers))
            raise EventsimError(
                f"{source}: the layers found do not form one stack ({found}): layer {k} takes "
                f"{layers[k].n_in} inputs but layer {k - 1} has {layers[k - 1].n_units} units; if the "
                f"checkpoint holds several networks, pick one with --prefix")


def _head(sel: dict, used: set, m0: int, nL: int, source: str):
    """The readout and embedding among the keys the layers left (``used``, updated):
    ``(readout_weight, readout_bias, embedding)``; refuses keys that are none of these."""
    rest = {k: v for k, v in sel.items() if k not in used}
    readout_w, readout_b, emb, more_used = _find_head(rest, m0, nL, source)
    used.update(more_used)
    left = sorted(set(sel) - used, key=_natural)
    if left:
        raise EventsimError(
            f"{source}: key(s) not understood: {_list(left)}; eventsim models hold EGRU layers, one "
            f"optional nn.Linear readout (weight ({'{n_out}'}, {nL}) and bias) and one optional "
            f"nn.Embedding (weight (V, {m0})); select the network with --prefix, or remove the "
            f"other parts from the state dict")
    return readout_w, readout_b, emb


def _settings_from_meta(meta: dict) -> dict:
    """The :class:`Model` settings stored in eventsim's own meta (exact round trip)."""
    meta = dict(meta)
    pd = meta.pop("pseudo_derivative", {}) or {}
    return dict(reset=meta.pop("reset", RESET),
                ff_delays=tuple(meta.pop("ff_delays", ()) or ()),
                rec_delays=tuple(meta.pop("rec_delays", ()) or ()),
                dampening=float(pd.get("dampening", DAMPENING)), support=float(pd.get("support", SUPPORT)),
                meta=meta)


def _settings_from_checkpoint(dampening: list, support: list, units: list, kinds: set, gru_threshold,
                              source: str) -> dict:
    """The :class:`Model` settings of a checkpoint without eventsim meta: EvNN's
    pseudo-derivative settings (the first layer's) and a record of the import."""
    kw = {}
    if dampening:
        if len(set(dampening)) > 1:
            warnings.warn(f"{source}: layers have different dampening factors {dampening}; "
                          f"eventsim uses one per model, {dampening[0]} is kept", stacklevel=4)
        kw["dampening"] = dampening[0]
    if support:
        if len(set(support)) > 1:
            warnings.warn(f"{source}: layers have different pseudo-derivative supports "
                          f"{support}; eventsim uses one per model, {support[0]} is kept",
                          stacklevel=4)
        kw["support"] = support[0]
    info = {"source": source, "layers": [u.label for u in units]}
    if kinds != {"egru"}:
        info["converted_from"] = "torch.nn.GRU" if kinds == {"gru"} else "torch.nn.GRUCell"
        info["gru_threshold"] = (float(gru_threshold) if np.ndim(gru_threshold) == 0
                                 else "per-unit")
        info["note"] = ("GRU weights converted to an EGRU with the given threshold; "
                        "not equivalent to the GRU")
    kw["meta"] = {"imported": info}
    return kw


def _all_arrays(model: Model):
    for l in model.layers:
        yield from l.arrays().values()
    for a in (model.readout_weight, model.readout_bias, model.embedding):
        if a is not None:
            yield a


def _scalar(a) -> float:
    """A (1,) parameter as the shortest decimal of its own precision (float32 0.3 -> 0.3)."""
    v = np.ravel(np.asarray(a))[0]
    return float(np.format_float_positional(v, unique=True, trim="-"))


def _evnn_thr(thr: np.ndarray, where: str) -> np.ndarray:
    # stacklevel 5: past _build_layers and import_state_dict to its caller's caller (the
    # code that called import_checkpoint), as the warnings of _settings_from_checkpoint
    if thr.size and (np.nanmin(thr) < 0.0 or np.nanmax(thr) > 1.0):
        warnings.warn(f"{where} holds values outside [0, 1] (min {float(np.min(thr)):.4g}, max "
                      f"{float(np.max(thr)):.4g}); EvNN clamps thr to [0, 1] at every forward pass, "
                      f"so the clamped values are imported", stacklevel=5)
        thr = np.clip(thr, 0.0, 1.0).astype(thr.dtype)
    return thr


def _check_egru_shapes(arr: dict, u: _Unit, source: str) -> None:
    K, R = arr["kernel"], arr["recurrent_kernel"]
    p = u.prefix
    if K.ndim != 2 or R.ndim != 2 or R.shape[1] != 3 * R.shape[0] or K.shape[1] != R.shape[1]:
        raise EventsimError(
            f"{source}: {p}kernel has shape {_shape(K)} and {p}recurrent_kernel {_shape(R)}; an EvNN "
            f"EGRU needs kernel (m, 3n) and recurrent_kernel (n, 3n) (gate blocks [z | r | g])")
    n = R.shape[0]
    for r, shape in (("bias", (3 * n,)), ("recurrent_bias", (3 * n,)), ("thr", (n,))):
        if arr[r].shape != shape:
            raise EventsimError(f"{source}: {p}{r} has shape {_shape(arr[r])} but {shape} was "
                                f"expected for n = {n} units")


def _find_units(sel: dict, source: str) -> list:
    units = []
    # EvNN EGRU: any prefix P with P + "kernel"
    for k in sel:
        if k == "kernel" or k.endswith(".kernel"):
            p = k[: -len("kernel")]
            if p.endswith("recurrent_"):
                continue
            keys = {r: p + r for r in EGRU_KEYS if p + r in sel}
            missing = [p + r for r in EGRU_KEYS if p + r not in sel]
            if missing:
                raise EventsimError(
                    f"{source}: partial EvNN EGRU layer under {p or '<root>'!r}: found "
                    f"{_list(keys.values())}, missing {_list(missing)}; an EGRU layer needs "
                    f"{', '.join(EGRU_KEYS)}")
            keys.update({r: p + r for r in EGRU_EXTRA if p + r in sel})
            units.append(_Unit("egru", p, 0, keys))
    # PyTorch nn.GRU: P + weight_ih_l{k}[_reverse]; nn.GRUCell: P + weight_ih
    pat = re.compile(r"^(.*?)weight_ih(_l(\d+))?(_reverse)?$")
    for k in sel:
        mt = pat.match(k)
        if not mt or (mt.group(1) and not mt.group(1).endswith(".")):
            continue
        p, idx, rev = mt.group(1), mt.group(3), mt.group(4)
        if rev:
            raise EventsimError(f"{source}: {k} belongs to a bidirectional GRU; an EGRU runs "
                                f"forward in time only, so bidirectional networks are not imported")
        suf = f"_l{idx}" if idx is not None else ""
        names = {r: f"{p}{r}{suf}" for r in GRU_KEYS}
        if names["weight_hh"] not in sel:
            raise EventsimError(f"{source}: partial GRU layer: found {k} but not "
                                f"{names['weight_hh']}; a GRU layer needs {_list(names.values())}")
        Wi, Wh = np.asarray(sel[names["weight_ih"]]), np.asarray(sel[names["weight_hh"]])
        if Wh.ndim != 2 or Wi.ndim != 2:
            raise EventsimError(f"{source}: {k} / {names['weight_hh']} must be 2-D matrices")
        n = Wh.shape[1]
        if Wh.shape[0] == 4 * n:
            raise EventsimError(f"{source}: {names['weight_hh']} has shape {_shape(Wh)} = (4n, n): "
                                f"these are LSTM weights; only GRU (3n, n) and EvNN EGRU layers can "
                                f"be imported")
        if f"{p}weight_hr{suf}" in sel:
            raise EventsimError(f"{source}: {p}weight_hr{suf} is an LSTM projection; not importable")
        if Wh.shape[0] != 3 * n or Wi.shape[0] != 3 * n:
            raise EventsimError(f"{source}: {k} has shape {_shape(Wi)} and {names['weight_hh']} "
                                f"{_shape(Wh)}; a GRU needs (3n, m) and (3n, n) (row blocks [r | z | n])")
        has_b = [names[b] in sel for b in ("bias_ih", "bias_hh")]
        if any(has_b) and not all(has_b):
            got = [names[b] for b in ("bias_ih", "bias_hh") if names[b] in sel]
            raise EventsimError(f"{source}: partial GRU layer: found {_list(got)} but a GRU with "
                                f"bias needs both {names['bias_ih']} and {names['bias_hh']}")
        keys = {r: v for r, v in names.items() if v in sel}
        units.append(_Unit("gru" if idx is not None else "grucell", p,
                           int(idx) if idx is not None else 0, keys))
    return units


def _rzn_to_zrn(a: np.ndarray, n: int) -> np.ndarray:
    """Column blocks [r | z | n] (PyTorch) -> [z | r | g] (EvNN / SPEC), last axis."""
    return np.concatenate([a[..., n:2 * n], a[..., :n], a[..., 2 * n:]], axis=-1)


def _zrn_to_rzn(a: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([a[..., n:2 * n], a[..., :n], a[..., 2 * n:]], axis=-1)


def _gru_to_egru(sel: dict, u: _Unit, thr, li: int, source: str) -> EGRULayer:
    Wi = np.asarray(sel[u.keys["weight_ih"]])
    Wh = np.asarray(sel[u.keys["weight_hh"]])
    n = Wh.shape[1]
    dt = Wi.dtype if Wi.dtype in (np.float32, np.float64) else np.float32
    bi = np.asarray(sel[u.keys["bias_ih"]]) if "bias_ih" in u.keys else np.zeros(3 * n, dt)
    bh = np.asarray(sel[u.keys["bias_hh"]]) if "bias_hh" in u.keys else np.zeros(3 * n, dt)
    for name, b in (("bias_ih", bi), ("bias_hh", bh)):
        if b.shape != (3 * n,):
            raise EventsimError(f"{source}: {u.keys.get(name, name)} has shape {_shape(b)} but "
                                f"({3 * n},) was expected")
    t = np.asarray(thr, dtype=dt)
    if t.ndim == 0:
        t = np.full(n, float(t), dt)
    if t.shape != (n,):
        raise EventsimError(f"{source}: gru_threshold has shape {_shape(t)} but layer {li} has "
                            f"{n} units; give one number or n per-unit values")
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise EventsimError(f"{source}: gru_threshold must be finite and >= 0")
    return EGRULayer(kernel=np.ascontiguousarray(_rzn_to_zrn(Wi.T, n), dtype=dt),
                     recurrent_kernel=np.ascontiguousarray(_rzn_to_zrn(Wh.T, n), dtype=dt),
                     bias=np.ascontiguousarray(_rzn_to_zrn(bi, n), dtype=dt),
                     recurrent_bias=np.ascontiguousarray(_rzn_to_zrn(bh, n), dtype=dt),
                     thr=t)


def _find_head(rest: dict, m0: int, nL: int, source: str):
    """The nn.Linear readout and nn.Embedding among the keys left after the layers."""
    used = set()
    pairs, lone = [], []
    for k, v in rest.items():
        if not k.endswith("weight") or v.ndim != 2:
            continue
        p = k[: -len("weight")]
        b = p + "bias"
        if b in rest and rest[b].shape == (v.shape[0],):
            pairs.append(p)
        elif b not in rest:
            lone.append(p)
    ro = [p for p in pairs if rest[p + "weight"].shape[1] == nL]
    em = [p for p in lone if rest[p + "weight"].shape[1] == m0]
    if len(ro) > 1:
        raise EventsimError(f"{source}: ambiguous readout: several nn.Linear layers take the last "
                            f"layer's {nL} units ({_list(p + 'weight' for p in ro)}); select one "
                            f"network with --prefix")
    if len(em) > 1:
        raise EventsimError(f"{source}: ambiguous embedding: several matrices have {m0} columns "
                            f"({_list(p + 'weight' for p in em)}); select one network with --prefix")
    readout_w = readout_b = emb = None
    if ro:
        readout_w = np.asarray(rest[ro[0] + "weight"])
        readout_b = np.asarray(rest[ro[0] + "bias"])
        used |= {ro[0] + "weight", ro[0] + "bias"}
    if em:
        emb = np.asarray(rest[em[0] + "weight"])
        used.add(em[0] + "weight")
    return readout_w, readout_b, emb, used


# ----------------------------------------------------------------------------------------- export

def export_state_dict(model: Model, layer_prefix: str = DEFAULT_LAYER_PREFIX,
                      strict: bool = True) -> tuple:
    """The EvNN state dict of ``model`` and the meta that makes the round trip exact.

    Layer k goes to ``{layer_prefix}{k}.kernel`` ... ``.thr`` plus EvNN's
    ``dampening_factor``, ``pseudo_derivative_support`` and ``_max_norm`` (-1: no
    clipping), so each ``{layer_prefix}{k}.*`` group loads into ``evnn_pytorch.EGRU``
    with ``load_state_dict(strict=True)``; the readout goes to ``decoder.weight`` /
    ``decoder.bias`` (``nn.Linear``), the embedding to ``embeddings.weight``.

    With ``strict`` (default) a model EvNN would run differently is refused:
    reset mode "output", non-zero delays, or thresholds above 1 (EvNN clamps thr
    to [0, 1]). With ``strict=False`` it is written with a warning.
    Returns ``(tensors, meta)``.
    """
    validate_model(model)
    problems = []
    if model.reset != "threshold":
        problems.append(f"reset mode {model.reset!r} (EvNN subtracts the threshold: 'threshold')")
    if any(model.ff_delays) or any(model.rec_delays):
        problems.append(f"delays ff={list(model.ff_delays)} rec={list(model.rec_delays)} (EvNN has none)")
    for k, l in enumerate(model.layers):
        if np.any(l.thr > 1.0):
            problems.append(f"layer{k}.thr has values above 1 (max {float(l.thr.max()):.4g}; "
                            f"EvNN clamps thr to [0, 1])")
    if problems:
        msg = "EvNN would not run this model as eventsim does: " + "; ".join(problems)
        if strict:
            raise EventsimError(msg + "; export with --no-strict (strict=False) to write it anyway")
        warnings.warn(msg, stacklevel=2)
    dt = model.dtype
    out = {}
    for k, l in enumerate(model.layers):
        p = f"{layer_prefix}{k}."
        for key, a in l.arrays().items():
            out[p + key] = np.ascontiguousarray(a)
        out[p + "dampening_factor"] = np.array([model.dampening], dt)
        out[p + "pseudo_derivative_support"] = np.array([model.support], dt)
        out[p + "_max_norm"] = np.array([-1.0], dt)
    if model.readout_weight is not None:
        out[f"{READOUT_NAME}.weight"] = np.ascontiguousarray(model.readout_weight)
        out[f"{READOUT_NAME}.bias"] = np.ascontiguousarray(model.readout_bias)
    if model.embedding is not None:
        out[f"{EMBEDDING_NAME}.weight"] = np.ascontiguousarray(model.embedding)
    return out, model.meta_dict()


def egru_to_torch_gru(layer: EGRULayer) -> dict:
    """PyTorch ``nn.GRU`` layer-0 weights with the same gate weights as ``layer``.

    The inverse of the GRU import's weight mapping (transpose, ``[z | r | g]`` ->
    ``[r | z | n]``); the threshold is dropped. Used by the NeuroBench
    cross-check and the tests.
    """
    n = layer.n_units
    return {"weight_ih_l0": np.ascontiguousarray(_zrn_to_rzn(layer.kernel, n).T),
            "weight_hh_l0": np.ascontiguousarray(_zrn_to_rzn(layer.recurrent_kernel, n).T),
            "bias_ih_l0": _zrn_to_rzn(layer.bias, n).copy(),
            "bias_hh_l0": _zrn_to_rzn(layer.recurrent_bias, n).copy()}
