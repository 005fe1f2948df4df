"""Operation counts of a DeltaGRU run (SPEC §5, with the definitions of SPEC §2).

The raw per-layer figures are the EGRU's (:data:`~eventsim.egru.counts.RAW_FIELDS`),
with sources replaced by sent deltas:

- ``events`` = Σ_t |E| (state deltas sent; those sent at t carry h_{t-1});
- ``active_inputs`` = Σ_t |A_t| (input deltas sent at t), reported as ``input_events``;
- ``active_recurrent`` = ``events``;
- ``ff_macs`` = Σ_t Σ_{i∈A_t} nnz(kernel[i]), ``rec_macs`` = Σ_t Σ_{j∈E} nnz(recurrent_kernel[j]);
- ``event_driven_updates`` = n·T per sample: every unit updates every step (its state keeps
  moving under constant gates), so ``unit_updates.event_driven`` = ``clocked``.

From these :class:`DeltaCounts` derives the SPEC §2 figures exactly as the EGRU's
:class:`~eventsim.egru.counts.Counts` does (``dense`` = (m+n)·3n per step, ``weight_sparse``
= nnz(kernel) + nnz(recurrent_kernel), ``activity_sparse`` = (|A_t| + |E|)·3n, ``effective``
= ff + rec MACs, 3 elementwise products and 3 nonlinearities per unit update, the GRU and
LSTM baselines), and adds ``delta_checks`` = (m + n)·T per sample (one comparison per
input and per unit and step). The readout reads h_t densely: ``dense`` = ``effective`` =
``activity_sparse`` = T·n_L·n_out (``weight_sparse`` keeps its §2 meaning, nnz(W_out)·T).
The JSON is the EGRU's plus ``kind`` ("deltagru"), ``input_events`` and ``delta_checks``
(per layer and in ``total``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..egru.counts import RAW_FIELDS, Counts

KIND = "deltagru"


@dataclass
class DeltaCounts(Counts):
    """Exact counts of one DeltaGRU run; ``to_dict()`` gives the SPEC §4 JSON plus ``kind``,
    ``input_events`` and ``delta_checks``.

    per_step (with ``record="steps"``): ``events`` (T, L), ``input_events`` (T, L),
    ``effective_macs`` (T, L + 1; last column the readout) and ``event_driven_updates``
    (T, L), summed over samples.
    """

    kind: str = KIND

    @classmethod
    def for_deltagru(cls, model, samples, steps, raw, engine="event", per_step=None) -> "DeltaCounts":
        """Counts of ``model`` from the raw figures (L, 6) of :data:`RAW_FIELDS`."""
        raw = np.asarray(raw, dtype=np.int64).reshape(model.n_layers, len(RAW_FIELDS))
        st = int(samples) * int(steps)
        n_last, n_out = model.sizes[-1], model.n_out or 0
        return cls(samples=int(samples), steps=int(steps),
                   inputs=[l.n_in for l in model.layers], units=model.sizes,
                   kernel_nnz=[int(np.count_nonzero(l.kernel)) for l in model.layers],
                   recurrent_nnz=[int(np.count_nonzero(l.recurrent_kernel)) for l in model.layers],
                   raw=raw, readout_out=n_out,
                   readout_nnz=0 if model.readout_weight is None
                   else int(np.count_nonzero(model.readout_weight)),
                   readout_macs=n_last * n_out * st, readout_active=n_last * st,
                   engine=engine, per_step=per_step)

    def layer(self, k: int) -> dict:
        d = super().layer(k)
        d["input_events"] = int(self.raw[k, RAW_FIELDS.index("active_inputs")])
        d["delta_checks"] = (self.inputs[k] + self.units[k]) * self.samples * self.steps
        return d

    def total(self) -> dict:
        tot = super().total()
        layers = [self.layer(k) for k in range(len(self.units))]
        tot["input_events"] = sum(l["input_events"] for l in layers)
        tot["delta_checks"] = sum(l["delta_checks"] for l in layers)
        return tot

    def to_dict(self) -> dict:
        d = super().to_dict()
        return {"kind": self.kind, **d}

    def _check(self) -> None:
        """Invariants of a DeltaGRU run: parts add up, no figure exceeds its bound."""
        d = self.to_dict()
        st = self.samples * self.steps
        for k, l in enumerate(d["layers"]):
            self._check_layer(k, l, st)
            assert 0 <= l["input_events"] <= l["inputs"] * st
            assert l["active_sources"] == {"inputs": l["input_events"], "recurrent": l["events"]}
            assert l["unit_updates"]["event_driven"] == l["unit_updates"]["clocked"] == l["units"] * st
            assert l["delta_checks"] == (l["inputs"] + l["units"]) * st
        ro = d["readout"]["macs"]
        n_ro = self.units[-1] * self.readout_out * st
        assert ro["effective"] == ro["dense"] == ro["activity_sparse"] == n_ro
        self._check_per_step()
        if self.per_step is not None:
            assert np.array_equal(self.per_step["input_events"].sum(0), self.raw[:, 3])
