"""A trainable network: optional embedding, a stack of recurrent layers, a readout.

Parameters live in one flat dict whose keys are those of the model file
(SPEC §4): ``layer{k}.kernel``, ``layer{k}.recurrent_kernel``, ``layer{k}.bias``,
``layer{k}.recurrent_bias``, ``layer{k}.thr`` (EGRU only), ``readout.weight``,
``readout.bias``, ``embedding.weight``. A trained EGRU therefore becomes an
:class:`eventsim.Model` with :func:`to_model` and runs unchanged in the event
engine; GRU and LSTM weights are saved with :func:`save_weights` (same keys, no
``thr``, plus a ``meta`` JSON naming the kind and gate order).

Dropout (rate ``p``, inverted scaling) acts on what a layer passes *up* (to the
next layer and to the readout), never on the recurrent path, and only while
training; the event engine at test time sees the undropped network.

A DeltaGRU (kind ``deltagru``) has exactly the GRU's parameters (its delta thresholds Θx,
Θh are fixed and live in the :class:`NetSpec`), so GRU weights load into it and back;
:func:`to_deltagru` makes it an :class:`eventsim.deltagru.DeltaGRUModel`. Its optional
change penalty is in :mod:`eventsim.train.regulariser`.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .._npz import read_npz, write_npz
from ..egru.init import DAMPENING, RESET, SUPPORT, THR_CONCENTRATION, THR_MEAN, draw_thresholds
from ..errors import EventsimError
from . import cells
from .losses import cross_entropy, step_weights
from .regulariser import change_penalty, event_rate_penalty, rate_floor_penalty

PARAM_KEYS = ("kernel", "recurrent_kernel", "bias", "recurrent_bias")


@dataclass
class NetSpec:
    """Shape and behaviour of a trainable network.

    kind: "egru", "gru", "lstm" or "deltagru".
    n_in: features per step, or the vocabulary size when ``tokens``.
    units: units per layer.
    n_out: readout outputs (classes, or vocabulary for a language model).
    tokens: inputs are integer token ids, looked up in an embedding (V, embed_dim).
    embed_dim: embedding width (tokens only).
    reset, dampening, support, surrogate: EGRU options (see :class:`cells.EGRUOptions`).
    theta_x, theta_h: DeltaGRU only: the fixed delta thresholds Θx, Θh (SPEC §5), one
        number for every layer or a list of one number per layer (left out of
        :meth:`to_dict` for the other kinds).
    """

    kind: str
    n_in: int
    units: list
    n_out: int
    tokens: bool = False
    embed_dim: int = 0
    reset: str = RESET
    dampening: float = DAMPENING
    support: float = SUPPORT
    surrogate: str = "pseudo"
    theta_x: object = 0.0
    theta_h: object = 0.0

    def __post_init__(self):
        if self.kind not in cells.KINDS:
            raise EventsimError(f"model kind {self.kind!r} is unknown; use one of {list(cells.KINDS)}")
        self.units = [int(u) for u in ([self.units] if isinstance(self.units, int) else self.units)]
        if not self.units or min(self.units) < 1:
            raise EventsimError(f"units = {self.units} must be a non-empty list of positive sizes")
        if self.tokens and self.embed_dim < 1:
            raise EventsimError("a token-input network needs embed_dim >= 1")
        for name in ("theta_x", "theta_h"):
            v = getattr(self, name)
            vals = list(v) if isinstance(v, (list, tuple)) else [v]
            try:
                ok = all(float(a) >= 0 and np.isfinite(float(a)) for a in vals)
            except (TypeError, ValueError):
                ok = False
            if not ok or (isinstance(v, (list, tuple)) and len(vals) != len(self.units)):
                raise EventsimError(f"{name} = {v!r} must be a number >= 0 or a list of one per layer "
                                    f"({len(self.units)})")
            if self.kind != "deltagru" and any(float(a) for a in vals):
                raise EventsimError(f"{name} is a DeltaGRU setting; a {self.kind} has no delta thresholds")

    def thetas(self, k: int) -> tuple:
        """(Θx, Θh) of layer k (DeltaGRU)."""
        pick = lambda v: float(v[k] if isinstance(v, (list, tuple)) else v)
        return pick(self.theta_x), pick(self.theta_h)

    @property
    def layer_inputs(self) -> list:
        first = self.embed_dim if self.tokens else self.n_in
        return [first] + self.units[:-1]

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.kind != "deltagru":   # the other kinds' dicts (fingerprints, files) as before
            d.pop("theta_x"); d.pop("theta_h")
        return d


def init_params(spec: NetSpec, seed: int = 0, thr_mean: float = THR_MEAN, thr_concentration: float = THR_CONCENTRATION,
                dtype=np.float32, update_bias: float = 0.0) -> dict:
    """Fresh parameters: Xavier-uniform input kernels, orthogonal recurrent blocks,
    zero biases (LSTM forget bias 1), EGRU thresholds ~ Beta with mean ``thr_mean``.

    update_bias: initial input bias of the update gate z of GRU-type layers (EGRU,
    GRU; c = z·s + (1 − z)·g): a positive value starts every unit keeping more of
    its state from step to step (z = σ(update_bias) at zero input), as the LSTM's
    forget-gate bias of 1 does. It must be 0 for an LSTM. A DeltaGRU starts as the GRU
    (same draws)."""
    if update_bias and spec.kind == "lstm":
        raise EventsimError("update_bias applies to GRU-type layers (egru, gru); an LSTM starts with "
                            "forget-gate bias 1")
    rng = np.random.default_rng([int(seed), 7])   # a DeltaGRU draws exactly the GRU's weights
    G = cells.GATES[spec.kind]
    p = {}
    for k, (m, n) in enumerate(zip(spec.layer_inputs, spec.units)):
        lim = np.sqrt(6.0 / (m + n))
        p[f"layer{k}.kernel"] = rng.uniform(-lim, lim, (m, G * n))
        blocks = []
        for _ in range(G):
            q, r = np.linalg.qr(rng.normal(size=(n, n)))
            blocks.append(q * np.sign(np.diag(r)))
        p[f"layer{k}.recurrent_kernel"] = np.concatenate(blocks, axis=1)
        p[f"layer{k}.bias"] = np.zeros(G * n)
        rb = np.zeros(G * n)
        if spec.kind == "lstm":
            p[f"layer{k}.bias"][n:2 * n] = 1.0
        else:
            p[f"layer{k}.bias"][:n] = update_bias
        p[f"layer{k}.recurrent_bias"] = rb
        if spec.kind == "egru":
            p[f"layer{k}.thr"] = draw_thresholds(rng, n, thr_mean, thr_concentration)
    n_l = spec.units[-1]
    lim = np.sqrt(6.0 / (n_l + spec.n_out))
    p["readout.weight"] = rng.uniform(-lim, lim, (spec.n_out, n_l))
    p["readout.bias"] = np.zeros(spec.n_out)
    if spec.tokens:
        p["embedding.weight"] = rng.normal(0.0, 1.0 / np.sqrt(spec.embed_dim), (spec.n_in, spec.embed_dim))
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in p.items()}


def layer_params(params: dict, k: int) -> dict:
    pre = f"layer{k}."
    return {key[len(pre):]: v for key, v in params.items() if key.startswith(pre)}


def egru_options(spec: NetSpec, activity_reg=0.0) -> cells.EGRUOptions:
    return cells.EGRUOptions(reset=spec.reset, dampening=spec.dampening, support=spec.support,
                             activity_reg=activity_reg, surrogate=spec.surrogate)


def layer_options(spec: NetSpec, k: int, opt: cells.EGRUOptions) -> cells.EGRUOptions:
    """``opt`` for layer k: with the layer's delta thresholds for a DeltaGRU."""
    if spec.kind != "deltagru":
        return opt
    tx, th = spec.thetas(k)
    return replace(opt, theta_x=tx, theta_h=th)


@dataclass
class Pass:
    """Everything one forward pass leaves for the backward pass and the statistics."""

    inputs: list = field(default_factory=list)   # layer inputs as fed (after dropout), (B, T, m)
    caches: list = field(default_factory=list)
    masks: list = field(default_factory=list)    # dropout masks applied to each layer's output
    top: np.ndarray = None                       # readout input (B, T, n_L) after dropout


def embed(params: dict, spec: NetSpec, X):
    if not spec.tokens:
        return X
    return params["embedding.weight"][X]


def forward(spec: NetSpec, params: dict, X, dropout: float = 0.0, rng=None, thr_jitter: float = 0.0):
    """Run the stack over X ((B, T, m) floats or (B, T) token ids); return a :class:`Pass`.

    Training only (both need ``rng``): ``dropout`` on the outputs each layer passes up;
    ``thr_jitter`` σ (EGRU) shifts each (sample, unit)'s firing threshold by σ·ε,
    ε ~ N(0, 1) drawn once per sequence (see :func:`eventsim.train.cells.gru_type_forward`).
    """
    ps = Pass()
    h = embed(params, spec, X)
    opt = egru_options(spec)
    jitter = thr_jitter > 0.0 and rng is not None and spec.kind == "egru"
    for k in range(len(spec.units)):
        ps.inputs.append(h)
        offset = (thr_jitter * rng.standard_normal((h.shape[0], spec.units[k]))).astype(h.dtype) \
            if jitter else None
        Y, cache = cells.layer_forward(spec.kind, layer_params(params, k), h, layer_options(spec, k, opt), offset)
        ps.caches.append(cache)
        if dropout > 0.0 and rng is not None:
            keep = (rng.random(Y.shape) >= dropout).astype(Y.dtype) / (1.0 - dropout)
            ps.masks.append(keep)
            Y = Y * keep
        else:
            ps.masks.append(None)
        h = Y
    ps.top = h
    return ps


def readout_logits(params: dict, top: np.ndarray, loss: str) -> np.ndarray:
    """Logits of what the loss scores: (B, V) for a classification loss (the
    readout ``W·Σ_t w_t·y_t + b`` with the step weights of
    :func:`eventsim.train.losses.step_weights`: the last step, the mean over steps
    or the exponential trace), else (B, T, V) (language modelling)."""
    return _read_steps(top, loss) @ params["readout.weight"].T + params["readout.bias"]


def _read_steps(top: np.ndarray, loss: str) -> np.ndarray:
    """What the readout sees: Σ_t w_t·top[:, t] (B, n) for a classification loss, every
    step (B, T, n) for language modelling."""
    if loss == "lm":
        return top
    if loss == "last":
        return top[:, -1]
    w = step_weights(loss, top.shape[1]).astype(top.dtype)
    return np.einsum("t,btn->bn", w, top)


def loss_and_grads(spec: NetSpec, params: dict, X, target, loss: str, dropout: float = 0.0,
                   rng=None, activity_reg: float = 0.0, floor_reg: float = 0.0, floor_rate: float = 0.0,
                   thr_jitter: float = 0.0, delta_penalty: float = 0.0, floor_unjittered: bool = False):
    """Forward, loss and the full BPTT backward.

    Returns ``(loss_value, grads, ps, stats)``: ``grads`` keyed like ``params``,
    ``ps`` the :class:`Pass`, ``stats`` a dict with ``nll_sum``, ``count``,
    ``correct``, ``samples`` and ``events`` / ``unit_steps`` (EGRU) for the progress bar.

    ``activity_reg`` λ adds ``λ · mean(o)`` over all EGRU layers, (sample, step,
    unit) entries to the loss (the mean event rate; its gradient flows through the
    pseudo-derivative, see :mod:`eventsim.train.regulariser`); ``floor_reg`` λ_f adds
    the rate floor ``λ_f · mean over units of max(0, floor_rate − rate)`` (same module;
    with ``floor_unjittered`` the rates count events at the unjittered thresholds).
    ``thr_jitter``: see :func:`forward`. ``delta_penalty`` λ (DeltaGRU) adds the change
    penalty ``λ · (1/B) Σ_b Σ_layers Σ_t Σ_j |h_t − h_{t−1}|`` (h_0 = 0;
    :func:`eventsim.train.regulariser.change_penalty`); the stats then hold ``events`` (state
    deltas sent) and ``unit_steps``.
    """
    ps = forward(spec, params, X, dropout, rng, thr_jitter)
    W, b = params["readout.weight"], params["readout.bias"]
    top = ps.top
    read = _read_steps(top, loss)   # once: the logits and the readout's weight gradient need it
    logits = read @ W.T + b
    value, dlog, nll_sum, count = cross_entropy(logits, target)
    stats = {"nll_sum": nll_sum, "count": count, "samples": int(X.shape[0])}
    if loss != "lm":
        stats["correct"] = int((logits.argmax(-1) == target).sum())
    grads = {}
    if loss != "lm":
        grads["readout.weight"] = dlog.T @ read
        grads["readout.bias"] = dlog.sum(0)
        w = step_weights(loss, top.shape[1]).astype(top.dtype)
        dtop = w[None, :, None] * (dlog @ W)[:, None, :]
    else:
        B, T, V = dlog.shape
        d2 = dlog.reshape(B * T, V)
        grads["readout.weight"] = d2.T @ top.reshape(B * T, -1)
        grads["readout.bias"] = d2.sum(0)
        dtop = (d2 @ W).reshape(B, T, -1)
    # activity regulariser (EGRU): value here, gradient inside the layer backward
    reg_scale = 0.0
    floor_coefs = [0.0] * len(spec.units)
    if spec.kind == "egru":
        smooth = spec.surrogate == "sigmoid"
        pen, reg_scale, events, entries = event_rate_penalty(ps.caches, activity_reg, smooth)
        fpen, floor_coefs = rate_floor_penalty(ps.caches, floor_reg, floor_rate, smooth, floor_unjittered)
        stats["events"] = events
        stats["unit_steps"] = entries
        value += pen + fpen
    change_grads = [None] * len(spec.units)
    if spec.kind == "deltagru":
        cpen, change_grads = change_penalty(ps.caches, delta_penalty)
        stats["events"] = sum(int(np.count_nonzero(c["sent_h"])) for c in ps.caches)
        stats["unit_steps"] = sum(int(c["sent_h"].size) for c in ps.caches)
        value += cpen
    stats["loss"] = value
    dY = dtop
    for k in range(len(spec.units) - 1, -1, -1):
        if ps.masks[k] is not None:
            dY = dY * ps.masks[k]
        if change_grads[k] is not None:   # the penalty reads h_t before dropout
            dY = dY + change_grads[k]
        opt = egru_options(spec, reg_scale + floor_coefs[k])
        g, dX = cells.layer_backward(spec.kind, layer_params(params, k), ps.caches[k], dY, opt,
                                     need_dx=(k > 0 or spec.tokens))
        for key, v in g.items():
            grads[f"layer{k}.{key}"] = v
        dY = dX
    if spec.tokens:
        dE = np.zeros_like(params["embedding.weight"])
        np.add.at(dE, X.reshape(-1), dY.reshape(-1, dY.shape[-1]))
        grads["embedding.weight"] = dE
    return value, grads, ps, stats


def loss_value(spec: NetSpec, params: dict, X, target, loss: str, activity_reg: float = 0.0,
               floor_reg: float = 0.0, floor_rate: float = 0.0, thr_jitter: float = 0.0, rng=None,
               delta_penalty: float = 0.0, floor_unjittered: bool = False) -> float:
    """The loss of :func:`loss_and_grads` (no dropout), forward only."""
    ps = forward(spec, params, X, 0.0, rng, thr_jitter)
    logits = readout_logits(params, ps.top, loss)
    value = cross_entropy(logits, target)[0]
    if spec.kind == "egru":
        smooth = spec.surrogate == "sigmoid"
        value += event_rate_penalty(ps.caches, activity_reg, smooth)[0]
        value += rate_floor_penalty(ps.caches, floor_reg, floor_rate, smooth, floor_unjittered)[0]
    if spec.kind == "deltagru":
        value += change_penalty(ps.caches, delta_penalty)[0]
    return value


def predict_batches(spec: NetSpec, params: dict, X, loss: str, batch_size: int = 256):
    """Yield ``(slice, Pass, logits)`` over X in batches, without dropout."""
    for i in range(0, X.shape[0], batch_size):
        sl = slice(i, min(i + batch_size, X.shape[0]))
        ps = forward(spec, params, X[sl])
        yield sl, ps, readout_logits(params, ps.top, loss)


# ------------------------------------------------------------------------------ saving
def to_model(spec: NetSpec, params: dict, meta: dict = None):
    """The trained EGRU as an :class:`eventsim.Model` (float32)."""
    from ..egru.model import model_from_arrays
    if spec.kind != "egru":
        raise EventsimError(f"only an EGRU converts to an eventsim model, this network is a {spec.kind}")
    m = {"reset": spec.reset, "pseudo_derivative": {"dampening": spec.dampening, "support": spec.support}}
    m.update(meta or {})
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    arrays["meta"] = np.array(json.dumps(m))
    return model_from_arrays(arrays, source="trained network")


def to_deltagru(spec: NetSpec, params: dict, theta_x=None, theta_h=None, dtype=np.float32):
    """A trained DeltaGRU or GRU network as an :class:`eventsim.deltagru.DeltaGRUModel`
    (:func:`eventsim.deltagru.from_gru` on the parameters): the delta thresholds given, or
    else the spec's (a GRU's: 0, which computes the GRU exactly)."""
    from ..deltagru import from_gru
    if spec.kind not in ("gru", "deltagru"):
        raise EventsimError(f"only a GRU or DeltaGRU converts to a DeltaGRU model, this network is a "
                            f"{spec.kind}")
    L = len(spec.units)
    tx = [spec.thetas(k)[0] for k in range(L)] if theta_x is None else theta_x
    th = [spec.thetas(k)[1] for k in range(L)] if theta_h is None else theta_h
    return from_gru({k: np.asarray(v) for k, v in params.items()}, theta_x=tx, theta_h=th, dtype=dtype)


def params_from_model(model) -> dict:
    """The parameter dict of an :class:`eventsim.Model` (for evaluation or fine-tuning)."""
    from ..egru.model import model_arrays
    return model_arrays(model)


def save_weights(spec: NetSpec, params: dict, path, meta: dict = None) -> None:
    """Write a GRU/LSTM (or any) network as ``.npz``: the parameter keys plus ``meta``,
    a JSON string ``{"kind", "gate_order", "spec", ...}`` (see docs/training.md)."""
    order = "[i|f|g|o]" if spec.kind == "lstm" else "[z|r|g]"
    m = {"kind": spec.kind, "gate_order": order, "spec": spec.to_dict()}
    m.update(meta or {})
    arrays = dict(params)
    arrays["meta"] = np.array(json.dumps(m))
    write_npz(path, arrays)


def load_weights(path):
    """Read a file written by :func:`save_weights`; returns ``(spec, params, meta)``."""
    path = os.fspath(path)
    data = read_npz(path, "weights file")
    try:
        meta = json.loads(str(data.pop("meta")))
        spec = NetSpec(**meta["spec"])
    except EventsimError:
        raise
    except Exception as e:
        raise EventsimError(f"{path!r} is not a weights file written by eventsim training ({e})") from None
    expected = set(init_params(spec, 0).keys())
    if set(data) != expected:
        raise EventsimError(f"{path!r}: keys {sorted(set(data) ^ expected)} do not match a "
                            f"{spec.kind} network with units {spec.units}")
    return spec, data, meta
