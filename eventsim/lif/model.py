"""The leaky integrate-and-fire (LIF) unit model: parameters, validation, ``.npz`` format.

Discrete time with step ``dt`` (seconds); for unit ``i`` at step ``t = 0 .. T-1``::

    v_i(t) = alpha_i * v_i(t-1) + sum_j w_ij * s_j(t - d_ij) + b_i      alpha_i = exp(-dt / tau_i)
    s_i(t) = H(v_i(t) - thr_i)          H(0) = 0: an event needs v > thr strictly
    after an event: v_i <- v_reset_i    (reset "value")
                 or v_i <- v_i - thr_i  (reset "subtract")

``v_i(-1) = 0``. With ``leak = "euler"`` (NIR imports) ``alpha_i = 1 - dt / tau_i``
instead; ``tau_i = inf`` (no leak, an integrate-and-fire unit) gives ``alpha_i = 1`` either
way. A unit with a synaptic time constant ``tau_syn_i > 0`` (a current-based unit, NIR's
``CubaLIF``) filters its input through a synaptic current first::

    I_i(t) = beta_i * I_i(t-1) + sum_j w_ij * s_j(t - d_ij) + c_i      beta_i = exp(-dt / tau_syn_i)
    v_i(t) = alpha_i * v_i(t-1) + b_i + I_i(t)                         (or 1 - dt / tau_syn_i, "euler")

(``c_i`` = ``syn_bias``, a constant input to the current, 0 by default.)

Sources ``j`` are the input channels (delays ``d >= 0``: an input
event at step t with delay 0 acts at step t) and the units themselves (delays
``d >= 1``: a unit's event at step t reaches its targets at t + d; ``d = 0`` is allowed from a
lower to a higher unit index: units are updated in index order within a step, so a
feed-forward layer sees the events of the layer before it in the same step). An event is binary
(``s = 1``: a synaptic operation is an accumulate, AC) or graded (``s = v_i(t)``, the
pre-reset value, as the EGRU's ``y = o * c``: a synaptic operation is a MAC).
With ``refractory = r > 0`` a unit that emitted at step t is refractory during steps
t+1 .. t+r: its ``v`` stays at the post-reset value (no leak, no bias), synaptic input
arriving then is discarded, and it cannot emit.

Synapses are stored as CSR rows (one row per source, contiguous), which is what the
event engine walks: row ``j`` of a projection lists the targets, weights and delays of
source ``j``. The file format is documented in ``docs/lif.md``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from .._npz import read_npz, write_npz
from ..errors import EventsimError

RESET_MODES = ("value", "subtract")
EVENT_KINDS = ("binary", "graded")
UNIT_KEYS = ("tau", "thr", "bias", "v_reset")
OPTIONAL_UNIT_KEYS = ("tau_syn", "syn_bias")
LEAKS = ("exp", "euler")
PROJ_KEYS = ("indptr", "indices", "weight", "delay")
PROJECTIONS = ("input", "recurrent")
FILE_KIND = "lif"


@dataclass
class Projection:
    """Synapses from ``n_src`` sources to ``n_tgt`` units, CSR by source.

    indptr: (n_src + 1,) int64, row j is ``indptr[j]:indptr[j+1]``.
    indices: (nnz,) int64 target unit of each synapse.
    weight: (nnz,) float64 weight of each synapse (a stored 0 is still a synapse: walked
        and counted).
    delay: (nnz,) int64 delay in steps of each synapse.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weight: np.ndarray
    delay: np.ndarray

    @property
    def n_src(self) -> int:
        return int(self.indptr.shape[0]) - 1

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def row_lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def synapses(self):
        """``(pre, post, weight, delay)`` arrays, one entry per synapse, in CSR order."""
        pre = np.repeat(np.arange(self.n_src, dtype=np.int64), self.row_lengths())
        return pre, self.indices.copy(), self.weight.copy(), self.delay.copy()

    def to_dense(self, n_tgt: int) -> np.ndarray:
        """(n_src, n_tgt) weight matrix; duplicate synapses are summed (delays are dropped)."""
        W = np.zeros((self.n_src, n_tgt))
        pre, post, w, _ = self.synapses()
        np.add.at(W, (pre, post), w)
        return W


def projection_from_synapses(n_src: int, pre, post, weight, delay=None, default_delay: int = 0,
                             name: str = "projection") -> Projection:
    """Build a CSR :class:`Projection` from per-synapse arrays (any order; stable within a row)."""
    pre = np.asarray(pre, dtype=np.int64).ravel()
    post = np.asarray(post, dtype=np.int64).ravel()
    weight = np.asarray(weight, dtype=np.float64).ravel()
    if delay is None:
        delay = np.full(pre.shape, default_delay, dtype=np.int64)
    delay = np.asarray(delay)
    if delay.ndim == 0:
        delay = np.full(pre.shape, int(delay), dtype=np.int64)
    if not (pre.shape == post.shape == weight.shape == delay.shape):
        raise EventsimError(f"{name}: pre, post, weight and delay must have one entry per synapse, got "
                            f"lengths {pre.size}, {post.size}, {weight.size}, {delay.size}")
    if pre.size and (pre.min() < 0 or pre.max() >= n_src):
        raise EventsimError(f"{name}: a source index is outside 0..{n_src - 1}")
    order = np.argsort(pre, kind="stable")
    indptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_src), out=indptr[1:])
    return Projection(indptr=indptr, indices=post[order], weight=weight[order],
                      delay=np.asarray(delay, dtype=np.int64)[order])


def projection_from_dense(W, delay=None, default_delay: int = 0, name: str = "projection") -> Projection:
    """CSR projection of the nonzero entries of a (n_src, n_tgt) matrix; ``delay`` same shape or scalar."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise EventsimError(f"{name}: a dense weight matrix must be 2-D (sources, units), got shape {W.shape}")
    pre, post = np.nonzero(W)
    if delay is None:
        d = None
    elif np.ndim(delay) == 0:
        d = np.full(pre.shape, int(delay), dtype=np.int64)
    else:
        D = np.asarray(delay)
        if D.shape != W.shape:
            raise EventsimError(f"{name}: delay has shape {D.shape} but the weights have {W.shape}")
        d = D[pre, post]
    return projection_from_synapses(W.shape[0], pre, post, W[pre, post], d, default_delay, name)


def empty_projection(n_src: int) -> Projection:
    return Projection(indptr=np.zeros(n_src + 1, np.int64), indices=np.zeros(0, np.int64),
                      weight=np.zeros(0, np.float64), delay=np.zeros(0, np.int64))


@dataclass
class LIFModel:
    """A population of ``n`` LIF units driven by ``n_in`` input channels (see module docstring).

    inp: input projection, ``n_in`` rows, delays >= 0.
    rec: recurrent projection, ``n`` rows, delays >= 1.
    tau: (n,) membrane time constants in seconds (> 0); ``alpha = exp(-dt / tau)``.
    thr: (n,) thresholds; bias: (n,) added every step; v_reset: (n,) reset values.
    dt: the step in seconds. reset: "value" | "subtract". refractory: steps (>= 0).
    events: "binary" (ACs) | "graded" (MACs). meta: free JSON-serialisable extras.
    tau_syn: (n,) synaptic time constants (s) or None: 0 = no synaptic current (the input acts
    on v directly), > 0 = a current-based unit. leak: "exp" (``alpha = exp(-dt/tau)``) or
    "euler" (``alpha = 1 - dt/tau``, forward Euler: NIR imports). syn_bias: (n,) constant input
    to the synaptic current or None (only where tau_syn > 0).
    """

    inp: Projection
    rec: Projection
    tau: np.ndarray
    thr: np.ndarray
    bias: np.ndarray
    v_reset: np.ndarray
    dt: float = 1e-4
    reset: str = "value"
    refractory: int = 0
    events: str = "binary"
    meta: dict = field(default_factory=dict)
    tau_syn: np.ndarray = None
    leak: str = "exp"
    syn_bias: np.ndarray = None

    @property
    def n_in(self) -> int:
        return self.inp.n_src

    @property
    def n(self) -> int:
        return int(self.tau.shape[0])

    @property
    def alpha(self) -> np.ndarray:
        """Per-unit leak factor ``exp(-dt / tau)``, or ``1 - dt / tau`` with leak "euler"
        (float64; the exact value every engine uses)."""
        return _decay(self.dt, self.tau, self.leak)

    @property
    def has_syn(self) -> bool:
        """True when some unit has a synaptic current (``tau_syn > 0``)."""
        return self.tau_syn is not None and bool(np.any(np.asarray(self.tau_syn) > 0))

    @property
    def syn_decay(self) -> np.ndarray:
        """Per-unit decay of the synaptic current (0 where ``tau_syn = 0``: no current)."""
        if self.tau_syn is None:
            return np.zeros(self.n)
        ts = np.asarray(self.tau_syn, dtype=np.float64)
        out = np.zeros(self.n)
        on = ts > 0
        out[on] = _decay(self.dt, ts[on], self.leak)
        return out

    @property
    def max_delay(self) -> int:
        d = [int(p.delay.max()) for p in (self.inp, self.rec) if p.nnz]
        return max(d) if d else 0

    def meta_dict(self) -> dict:
        d = dict(self.meta)
        d.update(kind=FILE_KIND, dt=float(self.dt), reset=self.reset, refractory=int(self.refractory),
                 events=self.events)
        if self.leak != "exp":
            d["leak"] = self.leak
        return d


def _decay(dt, tau, leak) -> np.ndarray:
    tau = np.asarray(tau, dtype=np.float64)
    if leak == "euler":
        return 1.0 - float(dt) / tau
    return np.exp(-float(dt) / tau)


def _check_unit_array(name, a, n, allow_inf=False):
    if not isinstance(a, np.ndarray):
        raise EventsimError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype.kind not in "fiu":
        raise EventsimError(f"{name} has dtype {a.dtype}; it must hold real numbers")
    if a.shape != (n,):
        raise EventsimError(f"{name} has shape {a.shape} but ({n},) was expected (one value per unit; "
                            f"the model has n = {n} units from 'tau')")
    bad = np.isnan(a) | (np.isinf(a) & (a < 0 if allow_inf else True))
    if np.any(bad):
        i = int(np.argmax(bad))
        if allow_inf:
            raise EventsimError(f"{name}[{i}] is NaN or -inf; every value must be finite or +inf")
        raise EventsimError(f"{name}[{i}] is NaN or infinite; every value must be finite")


def _check_projection(name: str, p: Projection, n_src: int, n_tgt: int, min_delay: int) -> None:
    ip = p.indptr
    if not isinstance(ip, np.ndarray) or ip.ndim != 1 or ip.dtype.kind not in "iu":
        raise EventsimError(f"{name}.indptr must be a 1-D integer array of length n_src + 1, got "
                            f"{getattr(ip, 'dtype', type(ip).__name__)} {getattr(ip, 'shape', '')}")
    if ip.shape[0] != n_src + 1:
        raise EventsimError(f"{name}.indptr has length {ip.shape[0]} but {n_src + 1} was expected "
                            f"({n_src} sources + 1)")
    if ip[0] != 0:
        raise EventsimError(f"{name}.indptr[0] = {int(ip[0])}; CSR rows must start at 0")
    dif = np.diff(ip)
    if np.any(dif < 0):
        j = int(np.argmax(dif < 0))
        raise EventsimError(f"{name}.indptr decreases at row {j} ({int(ip[j])} > {int(ip[j + 1])}); "
                            f"it must be non-decreasing")
    nnz = int(ip[-1])
    for key, kind in (("indices", "iu"), ("weight", "f"), ("delay", "iu")):
        a = getattr(p, key)
        if not isinstance(a, np.ndarray) or a.ndim != 1:
            raise EventsimError(f"{name}.{key} must be a 1-D array, got {getattr(a, 'shape', type(a).__name__)}")
        if a.dtype.kind not in kind:
            what = "an integer" if kind == "iu" else "a float"
            raise EventsimError(f"{name}.{key} has dtype {a.dtype}; it must be {what} array")
        if a.shape[0] != nnz:
            raise EventsimError(f"{name}.{key} has {a.shape[0]} entries but {name}.indptr[-1] = {nnz} "
                                f"synapses; all per-synapse arrays must have one entry per synapse")
    if nnz:
        bad = (p.indices < 0) | (p.indices >= n_tgt)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise EventsimError(f"{name}.indices[{k}] = {int(p.indices[k])} is not a unit index; "
                                f"targets must be in 0..{n_tgt - 1}")
        if not np.all(np.isfinite(p.weight)):
            k = int(np.argmax(~np.isfinite(p.weight)))
            raise EventsimError(f"{name}.weight[{k}] is NaN or infinite")
        if p.delay.min() < min_delay:
            k = int(np.argmin(p.delay))
            why = ("a unit's event reaches its targets at the next step at the earliest"
                   if min_delay == 1 else "delays cannot be negative")
            raise EventsimError(f"{name}.delay[{k}] = {int(p.delay[k])} but delays must be >= {min_delay} "
                                f"({why})")
        if name == "recurrent":
            pre = np.repeat(np.arange(n_src, dtype=np.int64), dif)
            bad = (p.delay == 0) & (pre >= p.indices)
            if np.any(bad):
                k = int(np.argmax(bad))
                raise EventsimError(f"recurrent.delay[{k}] = 0 from unit {int(pre[k])} to unit "
                                    f"{int(p.indices[k])}: a zero-delay synapse must go from a lower to a "
                                    f"higher unit index (units are updated in index order within a step)")


def validate_lif(model: LIFModel) -> None:
    """Check every shape, value and setting; raise :class:`EventsimError` naming the culprit."""
    tau = model.tau
    if not isinstance(tau, np.ndarray) or tau.ndim != 1 or tau.shape[0] < 1:
        raise EventsimError(f"tau must be a 1-D array with one time constant per unit, got "
                            f"{getattr(tau, 'shape', type(tau).__name__)}")
    n = tau.shape[0]
    for key in UNIT_KEYS:
        _check_unit_array(key, getattr(model, key), n, allow_inf=key in ("tau", "thr"))
    if np.any(tau <= 0):
        i = int(np.argmax(tau <= 0))
        raise EventsimError(f"tau[{i}] = {float(tau[i])}; time constants must be > 0 (seconds)")
    if getattr(model, "leak", "exp") not in LEAKS:
        raise EventsimError(f"leak {model.leak!r} is unknown; use 'exp' (alpha = exp(-dt/tau)) or "
                            f"'euler' (alpha = 1 - dt/tau)")
    if model.tau_syn is not None:
        _check_unit_array("tau_syn", model.tau_syn, n)
        if np.any(model.tau_syn < 0):
            i = int(np.argmax(model.tau_syn < 0))
            raise EventsimError(f"tau_syn[{i}] = {float(model.tau_syn[i])}; synaptic time constants must "
                                f"be >= 0 (0: no synaptic current)")
    if model.syn_bias is not None:
        _check_unit_array("syn_bias", model.syn_bias, n)
        ts = np.zeros(n) if model.tau_syn is None else model.tau_syn
        bad = (model.syn_bias != 0) & (ts <= 0)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise EventsimError(f"syn_bias[{i}] = {float(model.syn_bias[i])} but unit {i} has no synaptic "
                                f"current (tau_syn = 0); a constant input to such a unit is its bias")
    if not (isinstance(model.dt, (float, int, np.floating, np.integer)) and np.isfinite(model.dt)
            and model.dt > 0):
        raise EventsimError(f"dt = {model.dt!r} must be a positive number of seconds")
    if model.reset not in RESET_MODES:
        raise EventsimError(f"reset mode {model.reset!r} is unknown; use 'value' or 'subtract'")
    if model.events not in EVENT_KINDS:
        raise EventsimError(f"events {model.events!r} is unknown; use 'binary' or 'graded'")
    if isinstance(model.refractory, bool) or not isinstance(model.refractory, (int, np.integer)) \
            or model.refractory < 0:
        raise EventsimError(f"refractory = {model.refractory!r} must be an integer number of steps >= 0")
    if not isinstance(model.inp, Projection) or not isinstance(model.rec, Projection):
        raise EventsimError("inp and rec must be Projection objects (see projection_from_synapses)")
    if model.inp.n_src < 1:
        raise EventsimError("the input projection has no sources; a LIF model needs n_in >= 1 channels")
    if model.leak == "euler" and np.isfinite(model.dt):
        for key in ("tau", "tau_syn"):
            a = getattr(model, key)
            bad = None if a is None else (a > 0) & (a < model.dt)
            if bad is not None and np.any(bad):
                i = int(np.argmax(bad))
                raise EventsimError(f"{key}[{i}] = {float(a[i])} s is shorter than dt = {model.dt} s; with "
                                    f"leak 'euler' (alpha = 1 - dt/tau) a time constant must be >= dt")
    _check_projection("input", model.inp, model.inp.n_src, n, 0)
    _check_projection("recurrent", model.rec, n, n, 0)


def make_lif(n_in: int, n: int, input=None, recurrent=None, *, tau=0.02, thr=1.0, bias=0.0,
             v_reset=0.0, dt=1e-4, reset="value", refractory=0, events="binary", meta=None,
             tau_syn=None, leak="exp", syn_bias=None) -> LIFModel:
    """A validated :class:`LIFModel` from per-synapse tuples and scalar-or-array unit parameters.

    ``input`` and ``recurrent`` are ``(pre, post, weight[, delay])`` tuples or
    :class:`Projection` objects or None (no synapses). Default delays: 0 for inputs,
    1 for recurrent synapses.
    """
    def proj(spec, n_src, default_delay, name):
        if spec is None:
            return empty_projection(n_src)
        if isinstance(spec, Projection):
            return spec
        if len(spec) not in (3, 4):
            raise EventsimError(f"{name} must be (pre, post, weight) or (pre, post, weight, delay)")
        return projection_from_synapses(n_src, *spec, default_delay=default_delay, name=name) \
            if len(spec) == 4 else projection_from_synapses(n_src, *spec, None, default_delay, name)

    def unit(v, name):
        a = np.asarray(v, dtype=np.float64)
        return np.full(n, float(a)) if a.ndim == 0 else a

    if int(n_in) < 1 or int(n) < 1:
        raise EventsimError(f"sizes must be positive: n_in = {n_in}, n = {n}")
    m = LIFModel(inp=proj(input, int(n_in), 0, "input"), rec=proj(recurrent, int(n), 1, "recurrent"),
                 tau=unit(tau, "tau"), thr=unit(thr, "thr"), bias=unit(bias, "bias"),
                 v_reset=unit(v_reset, "v_reset"), dt=float(dt), reset=reset, refractory=refractory,
                 events=events, meta=dict(meta or {}),
                 tau_syn=None if tau_syn is None else unit(tau_syn, "tau_syn"), leak=leak,
                 syn_bias=None if syn_bias is None else unit(syn_bias, "syn_bias"))
    validate_lif(m)
    return m


def random_lif_model(n_in: int, n: int, *, fanout_in: int = 10, fanout_rec: int = 0,
                     w_in=(0.5, 0.1), w_rec=(0.0, 0.1), delay_in=(0, 0), delay_rec=(1, 1),
                     tau=0.02, thr=1.0, bias=0.0, v_reset=0.0, dt=1e-4, reset="value",
                     refractory=0, events="binary", seed: int = 0) -> LIFModel:
    """A random LIF network: every input channel has ``fanout_in`` distinct random targets
    and every unit ``fanout_rec`` (self-connections allowed); weights are normal with
    (mean, std) ``w_in`` / ``w_rec``; delays uniform integers in the inclusive ranges
    ``delay_in`` / ``delay_rec``."""
    n_in, n = int(n_in), int(n)
    if n_in < 1 or n < 1:
        raise EventsimError(f"sizes must be positive: n_in = {n_in}, n = {n}")
    for name, k in (("fanout_in", fanout_in), ("fanout_rec", fanout_rec)):
        if not 0 <= int(k) <= n:
            raise EventsimError(f"{name} = {k} must be between 0 and the number of units n = {n}")
    for name, w in (("w_in", w_in), ("w_rec", w_rec)):
        if len(w) != 2 or not all(np.isfinite(float(v)) for v in w):
            raise EventsimError(f"{name} = {tuple(w)} must be two finite numbers (mean, std)")
        if float(w[1]) < 0:
            raise EventsimError(f"{name} std = {w[1]} must be >= 0 (mean, std of the normal weights)")
    for name, d in (("delay_in", delay_in), ("delay_rec", delay_rec)):
        if len(d) != 2 or any(isinstance(v, (float, np.floating)) and v != int(v) for v in d):
            raise EventsimError(f"{name} = {tuple(d)} must be two whole numbers of steps (low, high)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EventsimError(f"seed = {seed!r} must be an integer >= 0")
    rng = np.random.default_rng(seed)

    def proj(n_src, k, w, d, min_d, name):
        lo, hi = int(d[0]), int(d[1])
        if lo < min_d or hi < lo:
            raise EventsimError(f"{name} delay range ({lo}, {hi}) is invalid; need {min_d} <= low <= high")
        k = int(k)
        post = np.empty(n_src * k, np.int64)
        for j in range(n_src):
            post[j * k:(j + 1) * k] = rng.choice(n, size=k, replace=False)
        pre = np.repeat(np.arange(n_src, dtype=np.int64), k)
        weight = rng.normal(float(w[0]), float(w[1]), size=pre.size)
        delay = rng.integers(lo, hi + 1, size=pre.size)
        return projection_from_synapses(n_src, pre, post, weight, delay, name=name)

    return make_lif(n_in, n, proj(n_in, fanout_in, w_in, delay_in, 0, "input"),
                    proj(n, fanout_rec, w_rec, delay_rec, 1, "recurrent"),
                    tau=tau, thr=thr, bias=bias, v_reset=v_reset, dt=dt, reset=reset,
                    refractory=refractory, events=events)


def save_lif(model: LIFModel, path) -> None:
    """Write ``model`` as a ``.npz`` (keys in ``docs/lif.md``)."""
    validate_lif(model)
    arrays = {}
    for name, p in (("input", model.inp), ("recurrent", model.rec)):
        for key in PROJ_KEYS:
            arrays[f"{name}.{key}"] = getattr(p, key)
    for key in UNIT_KEYS:
        arrays[key] = np.asarray(getattr(model, key), dtype=np.float64)
    if model.has_syn:
        arrays["tau_syn"] = np.asarray(model.tau_syn, dtype=np.float64)
    if model.syn_bias is not None and np.any(model.syn_bias):
        arrays["syn_bias"] = np.asarray(model.syn_bias, dtype=np.float64)
    arrays["meta"] = np.array(json.dumps(model.meta_dict()))
    write_npz(path, arrays)


def load_lif(path) -> LIFModel:
    """Read and validate a LIF model file."""
    return lif_from_arrays(read_npz(path, "LIF model file"), source=os.fspath(path))


def lif_from_arrays(data: dict, source: str = "model") -> LIFModel:
    """Build a validated :class:`LIFModel` from a dict of file keys."""
    data = dict(data)
    if "layer0.kernel" in data:
        raise EventsimError(f"{source} is an EGRU model file (it has layer0.kernel); "
                            f"use it with 'eventsim count', not 'eventsim lif'")
    if "channel" in data and "sample" in data:
        raise EventsimError(f"{source} is an event-stream (input) file, not a LIF model; pass it "
                            f"as --input and a model made with 'eventsim lif random-model' as --model")
    meta = {}
    if "meta" in data:
        try:
            meta = json.loads(str(data.pop("meta")))
            if not isinstance(meta, dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise EventsimError(f"{source}: 'meta' is not a JSON object ({e})") from None
    kind = meta.pop("kind", FILE_KIND)
    if kind != FILE_KIND:
        raise EventsimError(f"{source}: meta kind is {kind!r}, not {FILE_KIND!r}; this is not a LIF model file")
    if "tau" not in data:
        raise EventsimError(f"{source}: key 'tau' is missing (one membrane time constant per unit, seconds)")
    if "input.indptr" not in data:
        raise EventsimError(f"{source}: key 'input.indptr' is missing (the input projection, CSR by channel)")
    tau = np.asarray(data.pop("tau"))
    n = tau.shape[0] if tau.ndim == 1 else 0
    units = {"tau": tau}
    for key, default in (("thr", None), ("bias", 0.0), ("v_reset", 0.0)):
        if key in data:
            units[key] = np.asarray(data.pop(key))
        elif default is None:
            raise EventsimError(f"{source}: key {key!r} is missing (one threshold per unit)")
        else:
            units[key] = np.full(n, default)
    for key in OPTIONAL_UNIT_KEYS:
        if key in data:
            units[key] = np.asarray(data.pop(key))
    projs = {}
    for name, default_delay in (("input", 0), ("recurrent", 1)):
        present = [k for k in PROJ_KEYS if f"{name}.{k}" in data]
        if not present and name == "recurrent":
            projs[name] = empty_projection(n)
            continue
        for k in ("indptr", "indices", "weight"):
            if f"{name}.{k}" not in data:
                raise EventsimError(f"{source}: key '{name}.{k}' is missing ({name} synapses need "
                                    f"{name}.indptr, {name}.indices and {name}.weight)")
        arr = {k: np.asarray(data.pop(f"{name}.{k}")) for k in ("indptr", "indices", "weight")}
        arr["delay"] = (np.asarray(data.pop(f"{name}.delay")) if f"{name}.delay" in data
                        else np.full(arr["indices"].shape, default_delay, np.int64))
        projs[name] = Projection(**arr)
    if data:
        raise EventsimError(f"{source}: unknown key(s) {sorted(data)}; allowed are "
                            f"{{input,recurrent}}.{{{','.join(PROJ_KEYS)}}}, {', '.join(UNIT_KEYS + OPTIONAL_UNIT_KEYS)}, meta")
    try:
        model = LIFModel(inp=projs["input"], rec=projs["recurrent"], dt=meta.pop("dt", 1e-4),
                         reset=meta.pop("reset", "value"), refractory=meta.pop("refractory", 0),
                         events=meta.pop("events", "binary"), leak=meta.pop("leak", "exp"), meta=meta,
                         **units)
    except TypeError as e:
        raise EventsimError(f"{source}: invalid meta settings ({e})") from None
    validate_lif(model)
    # canonical dtypes for the kernels (validated first, so the casts are lossless in meaning)
    for p in (model.inp, model.rec):
        p.indptr, p.indices, p.delay = (p.indptr.astype(np.int64), p.indices.astype(np.int64),
                                        p.delay.astype(np.int64))
        p.weight = p.weight.astype(np.float64)
    for key in UNIT_KEYS + OPTIONAL_UNIT_KEYS:
        if getattr(model, key) is not None:
            setattr(model, key, getattr(model, key).astype(np.float64))
    return model
