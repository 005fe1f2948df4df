"""Magnitude pruning to a target weight density.

The input and recurrent kernels of every layer are pruned, each matrix to the
same density: the ``round(density · size)`` weights of largest magnitude stay,
the rest become exactly zero and stay zero for the rest of training (the
optimiser multiplies them by the mask after every step, see
:mod:`eventsim.train.optim`), so the event engine's ``weight_sparse`` and
``effective`` counts see the absent synapses. Biases, thresholds, the readout
and the embedding are not pruned.

Schedule (gradual, Zhu & Gupta 2017): pruning starts at epoch
``e0 = floor(start·E)`` and reaches the target at ``e1 = max(e0, ceil(end·E) − 1)``
(E epochs, 0-based); at the start of epoch e in [e0, e1] the density is
``d + (1 − d)·(1 − (e − e0 + 1)/(e1 − e0 + 1))³``, and ``d`` afterwards.
"""
from __future__ import annotations

import math

import numpy as np

PRUNED_SUFFIXES = (".kernel", ".recurrent_kernel")


def density_at(epoch: int, epochs: int, target: float, start: float = 0.25, end: float = 0.75) -> float:
    """Weight density to enforce from the start of ``epoch`` (0-based) on."""
    if target >= 1.0:
        return 1.0
    e0 = int(math.floor(start * epochs))
    e1 = max(e0, int(math.ceil(end * epochs)) - 1)
    if epoch < e0:
        return 1.0
    if epoch >= e1:
        return float(target)
    frac = (epoch - e0 + 1) / (e1 - e0 + 1)
    return float(target + (1.0 - target) * (1.0 - frac) ** 3)


def magnitude_mask(w: np.ndarray, density: float, old_mask: np.ndarray = None) -> np.ndarray:
    """0/1 mask keeping the ``round(density·w.size)`` largest |w| (ties: lower index
    first); weights already pruned (``old_mask`` 0) stay pruned."""
    keep = int(round(density * w.size))
    mag = np.abs(w).ravel().astype(np.float64)
    if old_mask is not None:
        mag[old_mask.ravel() == 0] = -1.0
        keep = min(keep, int(np.count_nonzero(old_mask)))
    order = np.argsort(-mag, kind="stable")
    mask = np.zeros(w.size, dtype=w.dtype)
    mask[order[:keep]] = 1
    return mask.reshape(w.shape)


def prune(params: dict, masks: dict, density: float) -> dict:
    """Update ``masks`` (dict key → mask) to ``density`` and zero the pruned weights
    in place; returns the masks. No-op at density 1."""
    if density >= 1.0:
        return masks
    for k, w in params.items():
        if not k.endswith(PRUNED_SUFFIXES):
            continue
        mask = magnitude_mask(w, density, masks.get(k))
        masks[k] = mask
        w *= mask
    return masks


def weight_density(params: dict) -> float:
    """Fraction of nonzero entries over all pruned matrices."""
    tot = nz = 0
    for k, w in params.items():
        if k.endswith(PRUNED_SUFFIXES):
            tot += w.size
            nz += int(np.count_nonzero(w))
    return nz / tot if tot else 1.0
