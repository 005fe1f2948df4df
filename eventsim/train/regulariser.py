"""The activity regulariser: a penalty on the mean event rate.

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

The gradient is added inside the layer backward (:func:`eventsim.train.cells.gru_type_backward`,
``EGRUOptions.activity_reg`` = λ/N); this module computes the loss value.
"""
from __future__ import annotations

import numpy as np


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
