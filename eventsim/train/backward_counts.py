"""Backward-pass counts of SPEC §2, measured on the training batches.

For every EGRU layer and step, ``B_t = {j : o_t[j] = 1 or 1 − s_w·|c_t[j] − ϑ_j| > 0}``
is the set of units through which a gradient can pass from ``y_t`` back to
``c_t`` (outside it the pseudo-derivative is 0 and the unit emitted no event).
Summed over the samples and steps of an epoch (every figure an exact integer):

- ``active_units`` = Σ|B_t|, ``unit_steps`` = n·T·samples,
  ``backward_sparsity`` = 1 − active_units / unit_steps;
- ``macs.recurrent``: gradient to the previous step's events,
  sparse Σ_{t≥2} Σ_{j∈B_{t−1}} nnz(recurrent_kernel[j]) (``y_0`` is a constant, so
  step 1 sends nothing back), dense n·3n per step;
- ``macs.input``: gradient to the layer below, sparse Σ_t Σ_{i∈B^{(l−1)}_t}
  nnz(kernel[i]), dense m·3n per step; 0 for layer 0 whose input is data — except
  with a token embedding, whose gradient is computed densely (sparse = dense =
  nnz(kernel)·T·samples);
- ``macs.weight_gradient``: the outer products touch only the rows of active
  sources, i.e. the forward ``effective`` MACs again: Σ_{i∈A_t} nnz(kernel[i]) +
  Σ_{j∈E_{t−1}} nnz(recurrent_kernel[j]); dense (m + n)·3n per step;
- ``macs.total``: the sum of the three, dense and sparse;
- ``update_rows``: over all batches, the rows of ``kernel`` and ``recurrent_kernel``
  (``total``) and those whose loss gradient over the batch is exactly zero
  (``zero``); ``update_sparsity`` = zero / total.

``A_t`` is measured on the layer input as fed while training (after dropout of
the layer below). The ``"total"`` entry adds the layers up. Dense GRU/LSTM
layers have no B-sets; their history carries ``backward: null``.
"""
from __future__ import annotations

import numpy as np

MAC_KINDS = ("recurrent", "input", "weight_gradient")


def backward_mask(c: np.ndarray, o: np.ndarray, thr: np.ndarray, support: float) -> np.ndarray:
    """B_t as a boolean array (B, T, n) from the pre-threshold states and events."""
    return (o != 0) | (1.0 - support * np.abs(c - thr) > 0)


class BackwardCounter:
    """Accumulates the backward figures of an EGRU network over batches."""

    def __init__(self, spec):
        self.spec = spec
        L = len(spec.units)
        self.active = [0] * L
        self.unit_steps = [0] * L
        self.macs = [{k: {"dense": 0, "sparse": 0} for k in MAC_KINDS} for _ in range(L)]
        self.rows = [0] * L
        self.zero_rows = [0] * L

    def add_batch(self, params: dict, ps, grads: dict) -> None:
        spec = self.spec
        prev_active = None
        for k, (m, n) in enumerate(zip(spec.layer_inputs, spec.units)):
            cache = ps.caches[k]
            K = params[f"layer{k}.kernel"]
            R = params[f"layer{k}.recurrent_kernel"]
            thr = params[f"layer{k}.thr"]
            B, T, _ = cache["C"].shape
            st = B * T
            if cache.get("thr_offset") is not None:   # threshold jitter: the firing thresholds
                thr = thr + cache["thr_offset"][:, None, :]
            mask = backward_mask(cache["C"], cache["O"], thr, spec.support)
            per_unit = mask.sum(axis=(0, 1), dtype=np.int64)
            nnz_k = np.count_nonzero(K, axis=1).astype(np.int64)
            nnz_r = np.count_nonzero(R, axis=1).astype(np.int64)
            self.active[k] += int(per_unit.sum())
            self.unit_steps[k] += n * st
            mc = self.macs[k]
            mc["recurrent"]["dense"] += n * 3 * n * st
            mc["recurrent"]["sparse"] += int(mask[:, :-1].sum(axis=(0, 1), dtype=np.int64) @ nnz_r)
            if k > 0:
                mc["input"]["dense"] += m * 3 * n * st
                mc["input"]["sparse"] += int(prev_active @ nnz_k)
            elif spec.tokens:
                mc["input"]["dense"] += m * 3 * n * st
                mc["input"]["sparse"] += int(nnz_k.sum()) * st
            X = ps.inputs[k]
            Y = cache["Y"]
            a_in = np.count_nonzero(X, axis=(0, 1)).astype(np.int64)
            e_rec = np.count_nonzero(Y[:, :-1], axis=(0, 1)).astype(np.int64)
            mc["weight_gradient"]["dense"] += (m + n) * 3 * n * st
            mc["weight_gradient"]["sparse"] += int(a_in @ nnz_k + e_rec @ nnz_r)
            gk, gr = grads[f"layer{k}.kernel"], grads[f"layer{k}.recurrent_kernel"]
            self.rows[k] += m + n
            self.zero_rows[k] += int(np.all(gk == 0, axis=1).sum() + np.all(gr == 0, axis=1).sum())
            prev_active = per_unit

    def to_dict(self) -> dict:
        """``{"layers": [...], "total": {...}}`` — the structure :class:`eventsim.egru.counts.Counts`
        puts under ``"backward"`` (integers plus the two derived ratios)."""
        layers = []
        for k in range(len(self.spec.units)):
            macs = {key: dict(v) for key, v in self.macs[k].items()}
            macs["total"] = {d: sum(macs[key][d] for key in MAC_KINDS) for d in ("dense", "sparse")}
            layers.append({
                "units": self.spec.units[k], "inputs": self.spec.layer_inputs[k],
                "active_units": self.active[k], "unit_steps": self.unit_steps[k],
                "backward_sparsity": _one_minus(self.active[k], self.unit_steps[k]),
                "macs": macs,
                "update_rows": {"total": self.rows[k], "zero": self.zero_rows[k]},
                "update_sparsity": _ratio(self.zero_rows[k], self.rows[k]),
            })
        tot_macs = {key: {d: sum(l["macs"][key][d] for l in layers) for d in ("dense", "sparse")}
                    for key in MAC_KINDS + ("total",)}
        act, us = sum(self.active), sum(self.unit_steps)
        rows, zr = sum(self.rows), sum(self.zero_rows)
        total = {"active_units": act, "unit_steps": us, "backward_sparsity": _one_minus(act, us),
                 "macs": tot_macs, "update_rows": {"total": rows, "zero": zr},
                 "update_sparsity": _ratio(zr, rows)}
        return {"layers": layers, "total": total}


def _ratio(a, b):
    return a / b if b else None


def _one_minus(a, b):
    return 1.0 - a / b if b else None
