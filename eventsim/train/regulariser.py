"""The activity regulariser (a penalty on the mean event rate) and the rate floor.

Choice (documented in docs/training.md): for an EGRU network the loss gets

    L_act = λ · mean over layers, samples, steps and units of o_t[j]

i.e. λ times the fraction of (sample, step, unit) entries that emit an event —
exactly one minus the activity sparsity the event engine reports. Its gradient
flows through the same pseudo-derivative as the task loss:
``∂L_act/∂c_t[j] = λ/N · γ·max(0, 1 − s_w·|c_t[j] − ϑ_j|)`` and
``∂L_act/∂ϑ_j = −Σ_t λ/N · (same)`` (N = number of entries): it pushes
pre-threshold states near the threshold down and thresholds up, i.e. it
penalises events rather than the magnitude of c (the paper's variant penalises
the mean of c above threshold; penalising the event rate targets the counted
quantity directly and leaves the graded values y free).

The rate floor (off by default) works the other way, on single units: with U the units
of all EGRU layers and rate_j the fraction of a batch's (sample, step) entries in which
unit j fires,

    L_floor = λ_f · (1/U) · Σ_j max(0, r_min − rate_j)

penalises units that fire less often than r_min. Its gradient,
``∂L_floor/∂o_t[j] = −λ_f/N`` for the units below the floor (N = B·T·U, the same
entries as above) and 0 for the others, takes the same pseudo-derivative path with the
opposite sign: it pulls a silent unit's states near its threshold up and its threshold
down. Without it many units of a trained EGRU never fire at all (72 of 128 in the default
digits study); the activity regulariser then spreads the events over more units.

The change penalty (DeltaGRU, off by default; SPEC §5) adds

    L_change = λ · (1/B) · Σ_b Σ_layers Σ_t Σ_j |h_t[j] − h_{t−1}[j]|      (h_0 = 0)

(a per-sequence sum, averaged over the batch like the task loss), which encourages small
changes of the state and hence fewer state deltas above Θh. Its (sub)gradient, with
sign(0) = 0, ``∂L/∂h_t = λ/B · (sign(h_t − h_{t−1}) − sign(h_{t+1} − h_t))`` (no second
term at the last step), is added to the gradient reaching each layer's h_t before the
layer backward (:func:`change_penalty`).

The EGRU's gradients are added inside the layer backward (:func:`eventsim.train.cells.gru_type_backward`,
``EGRUOptions.activity_reg`` = λ/N); this module computes the loss value.
"""
from __future__ import annotations

import numpy as np

from .cells import SURROGATE_BETA, sigmoid


def event_rate_penalty(caches: list, lam: float, smooth: bool = False):
    """``(value, scale, events, entries)`` of the penalty over the layers' caches.

    value = λ·events/entries (added to the loss); scale = λ/entries (the per-entry
    gradient factor passed to the backward pass); events counts o = 1 (with the
    smooth stand-in of the gradient checks: the sum of o).
    """
    events = sum(float(c["O"].sum()) if smooth else int(np.count_nonzero(c["O"])) for c in caches)
    entries = sum(int(c["O"].size) for c in caches)
    if not lam or not entries:
        return 0.0, 0.0, events, entries
    return lam * events / entries, lam / entries, events, entries


def rate_floor_penalty(caches: list, lam: float, floor: float, smooth: bool = False,
                       unjittered: bool = False):
    """``(value, coefficients)`` of the rate floor over the layers' caches.

    value = λ_f/U · Σ_j max(0, r_min − rate_j) (added to the loss); coefficients: per
    layer the (n,) per-entry gradient ∂value/∂o (−λ_f/N for units below the floor, else
    0), added to the activity regulariser's factor in the layer backward. With the
    smooth stand-in of the gradient checks the rate is the mean of o.

    ``unjittered`` (with threshold jitter): rate_j counts the entries where c > ϑ_j, the
    events the trained model will emit, instead of the jittered c > ϑ_j + σε that the
    forward pass used; the gradient still takes the pseudo-derivative at the jittered
    threshold (the state the forward pass had). Without it, a unit whose jitter makes it
    fire in training can satisfy the floor and still never fire at ϑ.
    """
    if not lam or not caches:
        return 0.0, [0.0] * len(caches)
    units = sum(int(c["O"].shape[2]) for c in caches)
    short, coefs = 0.0, []
    for c in caches:
        O = c["O"]
        B, T, n = O.shape
        dtype = O.dtype
        if unjittered and c.get("thr_offset") is not None:
            O = (sigmoid(SURROGATE_BETA * (c["C"] - c["thr"])) if smooth else c["C"] > c["thr"])
        fired = O.sum(axis=(0, 1)) if smooth else np.count_nonzero(O, axis=(0, 1))
        rate = fired / (B * T)
        below = rate < floor
        short += float(np.sum(floor - rate[below]))
        coefs.append(np.where(below, -lam / (B * T * units), 0.0).astype(dtype))
    return lam * short / units, coefs


def change_penalty(caches: list, lam: float):
    """``(value, grads)`` of the DeltaGRU change penalty over the layers' caches.

    value = λ/B · Σ |h_t − h_{t−1}| over layers, samples, steps and units (h_0 = 0);
    grads: per layer the (B, T, n) gradient w.r.t. h_t (sign(0) = 0), or None when λ = 0.
    """
    if not lam or not caches:
        return 0.0, [None] * len(caches)
    value, grads = 0.0, []
    for c in caches:
        H = c["Y"]
        B = H.shape[0]
        diff = np.diff(H, axis=1, prepend=np.zeros_like(H[:, :1]))
        value += float(np.abs(diff).sum(dtype=np.float64))
        sg = np.sign(diff)
        g = sg.copy()
        g[:, :-1] -= sg[:, 1:]
        grads.append((lam / B) * g)
    return lam * value / caches[0]["Y"].shape[0], grads
