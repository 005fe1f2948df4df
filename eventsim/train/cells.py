"""Recurrent layers for training: forward with a cache, hand-written BPTT backward.

Three layer kinds, all batched over samples (arrays ``(B, T, ·)``), all with the
gate blocks and parameter names of SPEC §1 so that a trained EGRU is an
:class:`eventsim.Model` without conversion:

- ``egru``: the EGRU of SPEC §1 (EvNN formulation), both reset modes. The
  Heaviside ``o = H(c − ϑ)`` is used forward; backward uses the pseudo-derivative
  ``∂o/∂c = γ·max(0, 1 − s_w·|c − ϑ|)`` (and ``∂o/∂ϑ = −∂o/∂c``).
- ``gru``: the same gating with every unit always "on" (``y = s = c``): the dense
  GRU baseline (Haste/cuDNN form, reset gate applied to the recurrent candidate).
- ``lstm``: a standard LSTM, blocks ``[i | f | g | o]`` (4n columns),
  ``c = f⊙c' + i⊙g``, ``h = o⊙tanh(c)``.
- ``deltagru``: the DeltaGRU of SPEC §5 (delta thresholds Θx, Θh, memories Mx, Mh),
  trained straight-through; the GRU's parameters, gating and backward (see below).

Parameters of a layer are a dict with keys ``kernel (m, Gn)``,
``recurrent_kernel (n, Gn)``, ``bias (Gn,)``, ``recurrent_bias (Gn,)`` and, for
the EGRU, ``thr (n,)`` (G = 3, or 4 for the LSTM).

The input projection ``x·kernel`` of all steps is one BLAS call before the time
loop, and the weight gradients are one BLAS call each after it; only the
(B × n)·(n × Gn) recurrent products run per step.

Order of work in one EGRU backward step t (reverse time), given ``dy`` (the
gradient reaching ``y_t`` from above and from step t+1) and ``ds`` (reaching
``s_t`` from step t+1):

1. ``dc = dy·(o + c·h') + ds·∂s/∂c`` with ``h'`` the pseudo-derivative (plus the
   activity regulariser's ``λ·h'``); ``dϑ`` accumulates ``−dy·c·h' + ds·∂s/∂ϑ``;
2. through ``c = z⊙s' + (1 − z)⊙g [− y']`` to the gates and to ``s'``;
3. through the sigmoids/tanh to the pre-activations ``dvx`` (input side) and
   ``dvh`` (recurrent side, the candidate block scaled by r);
4. ``dy' = dvh·recurrent_kernelᵀ`` (minus ``dc`` in reset mode "output").

Training's threshold jitter (``thr_offset``) shifts the threshold that ``c`` is
compared with, per (sample, unit), in the forward pass and in ``h'``; the reset and
the event values are unchanged (docs/training.md).

DeltaGRU (straight-through). The forward pass is SPEC §5 exactly: the memories after
step t are ``Mx_t = bias + Σ_{s≤t} Δx_s·kernel`` and ``Mh_t = recurrent_bias +
Σ_{s≤t} Δh_s·recurrent_kernel`` (accumulated step by step, as the engine does), i.e.
``bias + x̂_t·kernel`` and ``recurrent_bias + ĥ_t·recurrent_kernel`` with x̂_t, ĥ_t the
last values sent up to step t; the gates read ``Mx_t``, ``Mh_t`` where the GRU reads
``x_t·kernel + bias``, ``h_{t−1}·recurrent_kernel + recurrent_bias``, and the state update
``h_t = z⊙h_{t−1} + (1 − z)⊙g`` uses the true h_{t−1}. The backward pass treats each
sent delta as the full change (∂Δ/∂h = 1: as if every delta were sent, x̂ = x and ĥ = h,
so that Σ_{s≤t} Δ telescopes to x_t and h_{t−1}): the gradient reaching ``Mx_t`` goes to
x_t through ``kernel`` and the one reaching ``Mh_t`` to h_{t−1} through
``recurrent_kernel``, i.e. the GRU's backward evaluated at the delta network's actual
forward values (gates, memories, states). The weight gradients are the true ones of the
forward pass, ``Σ_t x̂_tᵀ·∂L/∂Mx_t`` and ``Σ_t ĥ_tᵀ·∂L/∂Mh_t`` (the deltas' values are
what the weights multiplied); Θ is fixed. With Θ = 0 this is the GRU's exact gradient.
:func:`gru_type_backward` runs it unchanged: the forward pass leaves x̂ under ``X`` and ĥ
under ``Hin`` in the cache, the values the weight gradients multiply.

The internal option ``surrogate="sigmoid"`` replaces the Heaviside by the smooth
``o = σ(β(c − ϑ))`` and the pseudo-derivative by its true derivative: used only
by the finite-difference gradient checks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..egru.init import DAMPENING, RESET, SUPPORT
from . import _fast

KINDS = ("egru", "gru", "lstm", "deltagru")
FAST = True   # EGRU (pseudo-derivative), GRU and LSTM run on eventsim.train._fast; False: this module
GATES = {"egru": 3, "gru": 3, "lstm": 4, "deltagru": 3}
SURROGATE_BETA = 4.0  # slope of the smooth stand-in (gradient checks only)


def sigmoid(x):
    """σ(x) = (1 + tanh(x/2))/2: no overflow for any x (an errstate guard costs more
    than the whole computation at these sizes)."""
    y = np.tanh(0.5 * x)
    y += 1.0
    y *= 0.5
    return y


@dataclass
class EGRUOptions:
    """How an EGRU layer computes.

    reset: "threshold" (s = c − o·ϑ) or "output" (c gets −y_{t−1}, s = c).
    dampening, support: γ and s_w of the pseudo-derivative.
    activity_reg: the per-entry gradient factor of the regularisers (see
        :mod:`eventsim.train.regulariser`): λ of the activity regulariser already divided
        by the number of (sample, step, unit) entries it averages over, or an (n,) array
        (one factor per unit) when the rate floor adds its own per-unit term.
    surrogate: "pseudo" (Heaviside forward, pseudo-derivative backward) or "sigmoid"
        (smooth stand-in with its true derivative; gradient checks only).
    theta_x, theta_h: DeltaGRU only: the layer's delta thresholds Θx (scalar or (m,))
        and Θh (scalar or (n,)), fixed.
    """

    reset: str = RESET
    dampening: float = DAMPENING
    support: float = SUPPORT
    activity_reg: object = 0.0       # float or (n,) array
    surrogate: str = "pseudo"
    theta_x: object = 0.0            # DeltaGRU: float or (m,) array
    theta_h: object = 0.0            # DeltaGRU: float or (n,) array


def _fast_path(kind: str, opt) -> bool:
    """Whether a GRU-type layer runs on :mod:`eventsim.train._fast` (the EGRU with its
    pseudo-derivative and the GRU; the DeltaGRU and the smooth stand-in stay here)."""
    return FAST and (kind == "gru" or (kind == "egru" and opt.surrogate == "pseudo"))


def _same_precision(reg, dt) -> bool:
    """Whether the regulariser factor keeps ``reg·h'`` in the layer's precision, as the fast
    kernels compute it: a Python number or an array of the layer's dtype (training's
    case). A float64 factor on a float32 layer makes NumPy compute that term in float64."""
    return isinstance(reg, (int, float)) or (isinstance(reg, np.ndarray) and reg.dtype == dt)


def _event_fn(c, thr, opt: EGRUOptions):
    """(o, h') for pre-threshold states c: the event indicator and ∂o/∂c."""
    if opt.surrogate == "sigmoid":
        o = sigmoid(SURROGATE_BETA * (c - thr))
        return o, SURROGATE_BETA * o * (1.0 - o)
    o = (c > thr).astype(c.dtype)
    h = opt.dampening * np.maximum(0.0, 1.0 - opt.support * np.abs(c - thr))
    return o, h.astype(c.dtype)


# ----------------------------------------------------------------------------------------
# GRU-type layers (EGRU, GRU and DeltaGRU)
# ----------------------------------------------------------------------------------------
def delta_encode(X: np.ndarray, theta) -> tuple:
    """SPEC §5's delta encoding of a sequence X (B, T, m) with threshold(s) ``theta``
    (scalar or (m,)), starting from x̂ = 0: returns ``(D, Xhat, sent)``, D (B, T, m) the
    deltas sent at step t (0 where none), Xhat the last sent values after step t and
    ``sent`` the boolean mask of sent deltas."""
    B, T, m = X.shape
    D = np.zeros_like(X)
    Xhat = np.empty_like(X)
    sent = np.empty(X.shape, bool)
    xh = np.zeros((B, m), X.dtype)
    for t in range(T):
        d = X[:, t] - xh
        a = np.abs(d) > theta
        D[:, t] = np.where(a, d, 0)
        xh = np.where(a, X[:, t], xh)
        Xhat[:, t] = xh
        sent[:, t] = a
    return D, Xhat, sent


def _delta_memories(D: np.ndarray, K: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mx_t = bias + Σ_{s≤t} D_s·K for every step (B, T, 3n), accumulated in step order as
    the engine and the reference do (one BLAS call for all D_s·K, then a running sum)."""
    B, T, m = D.shape
    M = (D.reshape(B * T, m) @ K).reshape(B, T, -1)
    M[:, 0] += b
    return np.cumsum(M, axis=1, out=M)


def gru_type_forward(p: dict, X: np.ndarray, kind: str, opt: EGRUOptions = None, thr_offset=None):
    """Run an EGRU (kind "egru"), GRU (kind "gru") or DeltaGRU (kind "deltagru", Θ from
    ``opt``) layer over X (B, T, m).

    Returns ``(Y, cache)``: Y (B, T, n) are the layer outputs (EGRU: the graded
    events y_t; GRU, DeltaGRU: h_t). The cache holds what the backward pass needs
    (DeltaGRU: also the sent-delta masks ``sent_x`` (B, T, m) and ``sent_h`` (B, T, n)).

    ``thr_offset`` (B, n), EGRU only (training's threshold jitter): sample b's unit i
    fires when ``c > ϑ_i + thr_offset[b, i]`` at every step; the reset still subtracts
    ``ϑ_i``. The backward pass takes its ∂o/∂c at the same shifted threshold.
    """
    K, R, b, rb = p["kernel"], p["recurrent_kernel"], p["bias"], p["recurrent_bias"]
    B, T, m = X.shape
    n = R.shape[0]
    egru = kind == "egru"
    thr = p["thr"] if egru else None
    thr_fire = thr if thr_offset is None else thr + thr_offset   # what c is compared with
    if _fast_path(kind, opt):
        Y, cache = _fast.gru_forward(p, X, egru, egru and opt.reset == "output", thr_fire)
        cache.update(thr_offset=thr_offset, thr=thr)
        return Y, cache
    dt = K.dtype
    delta = kind == "deltagru"
    if delta:   # input deltas do not depend on the recurrence: all steps' Mx at once
        DX, Xw, sent_x = delta_encode(X, np.asarray(opt.theta_x, dt))
        VX = _delta_memories(DX, K, b)
        theta_h = np.asarray(opt.theta_h, dt)
        Hin = np.empty((B, T, n), dt); sent_h = np.empty((B, T, n), bool)
        h_hat = np.zeros((B, n), dt)
        mh = np.broadcast_to(rb, (B, 3 * n)).astype(dt)
    else:
        VX = (X.reshape(B * T, m) @ K + b).reshape(B, T, 3 * n)
    Z = np.empty((B, T, n), dt); Rg = np.empty((B, T, n), dt); G = np.empty((B, T, n), dt)
    VHg = np.empty((B, T, n), dt); C = np.empty((B, T, n), dt); Y = np.empty((B, T, n), dt)
    S = np.empty((B, T, n), dt) if egru else Y  # carried state (GRU: s = h = y)
    O = np.empty((B, T, n), dt) if egru else None
    s = np.zeros((B, n), dt)
    y = np.zeros((B, n), dt)
    for t in range(T):
        if delta:   # state deltas carry h_{t-1} (= y); Mh += Δh·R
            dh = y - h_hat
            e = np.abs(dh) > theta_h
            h_hat = np.where(e, y, h_hat)
            mh = mh + np.where(e, dh, 0) @ R
            vh = mh
            Hin[:, t] = h_hat; sent_h[:, t] = e
        else:
            vh = y @ R + rb
        vx = VX[:, t]
        z = sigmoid(vx[:, :n] + vh[:, :n])
        r = sigmoid(vx[:, n:2 * n] + vh[:, n:2 * n])
        g = np.tanh(vx[:, 2 * n:] + r * vh[:, 2 * n:])
        c = z * s + (1.0 - z) * g
        if egru:
            if opt.reset == "output":
                c = c - y
            o, _ = _event_fn(c, thr_fire, opt)
            y = o * c
            s = c - o * thr if opt.reset == "threshold" else c
            O[:, t] = o
            S[:, t] = s
        else:
            y = s = c
        Z[:, t] = z; Rg[:, t] = r; G[:, t] = g; VHg[:, t] = vh[:, 2 * n:]; C[:, t] = c; Y[:, t] = y
    cache = dict(X=X, Z=Z, R=Rg, G=G, VHg=VHg, C=C, Y=Y, S=S, O=O, thr_offset=thr_offset, thr=thr)
    if delta:   # what the weights multiplied: x̂_t and ĥ_t (the straight-through backward)
        cache.update(X=Xw, Hin=Hin, sent_x=sent_x, sent_h=sent_h)
    return Y, cache


def gru_type_backward(p: dict, cache: dict, dY: np.ndarray, kind: str, opt: EGRUOptions = None,
                      need_dx: bool = True):
    """BPTT through a layer run by :func:`gru_type_forward`.

    dY (B, T, n): gradient of the loss w.r.t. the outputs Y from above (readout or
    next layer). Returns ``(grads, dX)`` with grads keyed like ``p`` and dX
    (B, T, m) (None when ``need_dx`` is False).

    The weight gradients multiply ``cache["X"]`` (the values ``kernel`` multiplied: x_t,
    or x̂_t for a DeltaGRU) and ``cache["Hin"]`` if present (the values
    ``recurrent_kernel`` multiplied; DeltaGRU: ĥ_t), else y_{t−1}. A DeltaGRU is
    otherwise differentiated as a GRU (straight-through; see the module docstring).
    """
    K, R = p["kernel"], p["recurrent_kernel"]
    Z, Rg, G, VHg, C, Y, S, O = (cache[k] for k in ("Z", "R", "G", "VHg", "C", "Y", "S", "O"))
    B, T, n = Y.shape
    egru = kind == "egru"
    dt = K.dtype
    thr = p["thr"] if egru else None
    thr_fire = thr if cache.get("thr_offset") is None else thr + cache["thr_offset"]
    if _fast_path(kind, opt) and (not egru or _same_precision(opt.activity_reg, dt)):
        dVX, dVH, dthr = _fast.gru_backward(p, cache, dY, egru, egru and opt.reset == "output", thr_fire,
                                            opt.activity_reg if egru else 0.0, opt.dampening if egru else 0.0,
                                            opt.support if egru else 0.0)
        return _param_grads(cache, dVX, dVH, K, need_dx, thr=dthr)
    dVX = np.empty((B, T, 3 * n), dt)
    dVH = np.empty((B, T, 3 * n), dt)
    dthr = np.zeros(n, dt) if egru else None
    dy_rec = np.zeros((B, n), dt)
    ds = np.zeros((B, n), dt)
    zeros = np.zeros((B, n), dt)
    RT = R.T
    reg = opt.activity_reg if egru and np.any(opt.activity_reg) else None  # per-entry factor, or off
    for t in range(T - 1, -1, -1):
        dy = dY[:, t] + dy_rec
        c = C[:, t]
        if egru:
            o, h = _event_fn(c, thr_fire, opt)
            dc = dy * (o + c * h)
            dthr -= (dy * c * h).sum(0)
            if opt.reset == "threshold":
                dc += ds * (1.0 - thr * h)
                dthr += (ds * (thr * h - o)).sum(0)
            else:
                dc += ds
            if reg is not None:
                dc += reg * h
                dthr -= reg * h.sum(0)
        else:
            dc = dy + ds
        s_prev = S[:, t - 1] if t > 0 else zeros
        z, r, g = Z[:, t], Rg[:, t], G[:, t]
        ds = dc * z
        daz = dc * (s_prev - g) * z * (1.0 - z)
        dag = dc * (1.0 - z) * (1.0 - g * g)
        dar = dag * VHg[:, t] * r * (1.0 - r)
        dVX[:, t, :n] = daz; dVX[:, t, n:2 * n] = dar; dVX[:, t, 2 * n:] = dag
        dVH[:, t, :2 * n] = dVX[:, t, :2 * n]; dVH[:, t, 2 * n:] = dag * r
        dy_rec = dVH[:, t] @ RT
        if egru and opt.reset == "output":
            dy_rec -= dc
    return _param_grads(cache, dVX, dVH, K, need_dx, thr=dthr)


def _param_grads(cache: dict, dVX, dVH, K, need_dx: bool, thr=None):
    """The parameter gradients and dX of a layer from its pre-activation gradients dVX
    (input side) and dVH (recurrent side), (B, T, G·n) each: one BLAS call per weight.
    ``recurrent_kernel`` multiplied ``cache["Hin"]`` if present (DeltaGRU: ĥ_t), else
    y_{t−1}; ``thr``: the threshold gradient, if any. An LSTM passes dVA twice (its two
    biases get the same gradient)."""
    X, Y = cache["X"], cache["Y"]
    B, T, n = Y.shape
    m = X.shape[2]
    Yprev = cache["Hin"].reshape(B * T, n) if cache.get("Hin") is not None else \
        np.concatenate([np.zeros((B, 1, n), Y.dtype), Y[:, :-1]], axis=1).reshape(B * T, n)
    dVX2 = dVX.reshape(B * T, -1)
    dVH2 = dVH.reshape(B * T, -1)
    db = dVX2.sum(0)
    grads = {"kernel": X.reshape(B * T, m).T @ dVX2, "recurrent_kernel": Yprev.T @ dVH2,
             "bias": db, "recurrent_bias": db.copy() if dVH is dVX else dVH2.sum(0)}
    if thr is not None:
        grads["thr"] = thr
    dX = (dVX2 @ K.T).reshape(B, T, m) if need_dx else None
    return grads, dX


# ----------------------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------------------
def lstm_forward(p: dict, X: np.ndarray):
    """Run an LSTM layer over X (B, T, m); returns ``(H, cache)`` with H (B, T, n)."""
    if FAST:
        return _fast.lstm_forward(p, X)
    K, R, b, rb = p["kernel"], p["recurrent_kernel"], p["bias"], p["recurrent_bias"]
    B, T, m = X.shape
    n = R.shape[0]
    dt = K.dtype
    VX = (X.reshape(B * T, m) @ K + b + rb).reshape(B, T, 4 * n)
    A = np.empty((B, T, 4 * n), dt)  # activated gates i, f, g, o
    C = np.empty((B, T, n), dt); TC = np.empty((B, T, n), dt); H = np.empty((B, T, n), dt)
    h = np.zeros((B, n), dt)
    c = np.zeros((B, n), dt)
    for t in range(T):
        a = VX[:, t] + h @ R
        i = sigmoid(a[:, :n]); f = sigmoid(a[:, n:2 * n])
        g = np.tanh(a[:, 2 * n:3 * n]); o = sigmoid(a[:, 3 * n:])
        c = f * c + i * g
        tc = np.tanh(c)
        h = o * tc
        A[:, t, :n] = i; A[:, t, n:2 * n] = f; A[:, t, 2 * n:3 * n] = g; A[:, t, 3 * n:] = o
        C[:, t] = c; TC[:, t] = tc; H[:, t] = h
    return H, dict(X=X, A=A, C=C, TC=TC, Y=H)


def lstm_backward(p: dict, cache: dict, dH: np.ndarray, need_dx: bool = True):
    """BPTT through an LSTM layer; same contract as :func:`gru_type_backward`."""
    if FAST:
        dVA = _fast.lstm_backward(p, cache, dH)
        return _param_grads(cache, dVA, dVA, p["kernel"], need_dx)
    K, R = p["kernel"], p["recurrent_kernel"]
    A, C, TC, H = (cache[k] for k in ("A", "C", "TC", "Y"))
    B, T, n = H.shape
    dt = K.dtype
    dVA = np.empty((B, T, 4 * n), dt)
    dh_rec = np.zeros((B, n), dt)
    dc_next = np.zeros((B, n), dt)
    zeros = np.zeros((B, n), dt)
    RT = R.T
    for t in range(T - 1, -1, -1):
        dh = dH[:, t] + dh_rec
        i, f, g, o = (A[:, t, k * n:(k + 1) * n] for k in range(4))
        tc = TC[:, t]
        c_prev = C[:, t - 1] if t > 0 else zeros
        dc = dh * o * (1.0 - tc * tc) + dc_next
        dVA[:, t, :n] = dc * g * i * (1.0 - i)
        dVA[:, t, n:2 * n] = dc * c_prev * f * (1.0 - f)
        dVA[:, t, 2 * n:3 * n] = dc * i * (1.0 - g * g)
        dVA[:, t, 3 * n:] = dh * tc * o * (1.0 - o)
        dc_next = dc * f
        dh_rec = dVA[:, t] @ RT
    return _param_grads(cache, dVA, dVA, K, need_dx)


def layer_forward(kind, p, X, opt=None, thr_offset=None):
    if kind == "lstm":
        return lstm_forward(p, X)
    return gru_type_forward(p, X, kind, opt, thr_offset)


def layer_backward(kind, p, cache, dY, opt=None, need_dx=True):
    if kind == "lstm":
        return lstm_backward(p, cache, dY, need_dx)
    return gru_type_backward(p, cache, dY, kind, opt, need_dx)
