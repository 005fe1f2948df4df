"""Operation counts (SPEC §2) and their JSON form (SPEC §4).

Both engines measure the same *raw* figures while they run, each its own way:
per layer the events, the active input sources (Σ_t |A_t|), the active
recurrent sources (Σ_t |E_{t-1}|), the feed-forward and recurrent synaptic
MACs actually performed, and the event-driven unit updates; for the readout the
MACs performed. :class:`Counts` adds the closed forms that follow from the
shapes alone (dense MACs, weight-sparse MACs, clocked updates, the dense GRU and
LSTM baselines) and derives every ratio. All counts are exact integers, summed
over samples and steps.

Definitions (SPEC §2), per layer with m inputs and n units, per step:

- ``dense`` = (m + n)·3n: a synchronous GRU of the same shape;
- ``weight_sparse`` = nnz(kernel) + nnz(recurrent_kernel);
- ``activity_sparse`` = (|A_t| + |E_{t-1}|)·3n;
- ``effective`` = Σ_{i∈A_t} nnz(kernel[i]) + Σ_{j∈E_{t-1}} nnz(recurrent_kernel[j]);
- ``unit_updates.clocked`` = n; ``event_driven``: units that received a
  synaptic event or emitted one at that step;
- ``elementwise`` and ``nonlinearities``: 3 per unit update.
Readout: ``dense`` = n_L·n_out, ``effective`` = Σ_{j∈E_t} nnz(W_out[:, j]).
Baselines: GRU 3n(m+n) MACs + 3n elementwise, LSTM 4n(m+n) + 3n, per layer
and step; the readout's dense MACs are added to both so totals compare alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .._fmt import format_sparsity

#: order of the raw per-layer figures in the engines' count arrays
RAW_FIELDS = ("events", "ff_macs", "rec_macs", "active_inputs", "active_recurrent",
              "event_driven_updates")


def gru_baseline_per_step(m: int, n: int) -> tuple:
    """(synaptic MACs, elementwise products) of a dense GRU cell per step."""
    return 3 * n * (m + n), 3 * n


def lstm_baseline_per_step(m: int, n: int) -> tuple:
    """(synaptic MACs, elementwise products) of a dense LSTM cell per step."""
    return 4 * n * (m + n), 3 * n


def _ratio(num, den):
    return float(num) / float(den) if den else None


@dataclass
class Counts:
    """Exact counts of one run; ``to_dict()`` gives the SPEC §4 JSON.

    raw: (L, 6) int64 array of :data:`RAW_FIELDS` per layer.
    readout_macs, readout_active: effective readout MACs and Σ_t |E_t| of the last layer.
    per_step: with ``record="steps"``: ``events`` (T, L), ``effective_macs``
    (T, L+1, last column the readout) and ``event_driven_updates`` (T, L),
    summed over samples; otherwise None.
    """

    samples: int
    steps: int
    inputs: list
    units: list
    kernel_nnz: list
    recurrent_nnz: list
    raw: np.ndarray
    readout_out: int = 0
    readout_nnz: int = 0
    readout_macs: int = 0
    readout_active: int = 0
    ff_delays: tuple = ()
    rec_delays: tuple = ()
    engine: str = "event"
    per_step: Optional[dict] = None
    backward: Optional[dict] = field(default=None)

    @classmethod
    def for_model(cls, model, samples, steps, raw, readout_macs=0, readout_active=0,
                  engine="event", per_step=None) -> "Counts":
        raw = np.asarray(raw, dtype=np.int64).reshape(model.n_layers, len(RAW_FIELDS))
        return cls(samples=int(samples), steps=int(steps),
                   inputs=[l.n_in for l in model.layers], units=model.sizes,
                   kernel_nnz=[int(np.count_nonzero(l.kernel)) for l in model.layers],
                   recurrent_nnz=[int(np.count_nonzero(l.recurrent_kernel)) for l in model.layers],
                   raw=raw, readout_out=model.n_out or 0,
                   readout_nnz=0 if model.readout_weight is None
                   else int(np.count_nonzero(model.readout_weight)),
                   readout_macs=int(readout_macs), readout_active=int(readout_active),
                   ff_delays=model.ff_delays, rec_delays=model.rec_delays, engine=engine,
                   per_step=per_step)

    # -- derived figures ---------------------------------------------------
    def layer(self, k: int) -> dict:
        m, n = self.inputs[k], self.units[k]
        st = self.samples * self.steps
        r = dict(zip(RAW_FIELDS, (int(v) for v in self.raw[k])))
        upd_c, upd_e = n * st, r["event_driven_updates"]
        return {
            "inputs": m, "units": n, "events": r["events"],
            "activity_sparsity": 1.0 - r["events"] / (n * st),
            "macs": {"dense": (m + n) * 3 * n * st,
                     "weight_sparse": (self.kernel_nnz[k] + self.recurrent_nnz[k]) * st,
                     "activity_sparse": (r["active_inputs"] + r["active_recurrent"]) * 3 * n,
                     "effective": r["ff_macs"] + r["rec_macs"]},
            "macs_effective_split": {"feedforward": r["ff_macs"], "recurrent": r["rec_macs"]},
            "active_sources": {"inputs": r["active_inputs"], "recurrent": r["active_recurrent"]},
            "weights": {"kernel_nnz": self.kernel_nnz[k], "recurrent_kernel_nnz": self.recurrent_nnz[k],
                        "kernel_size": m * 3 * n, "recurrent_kernel_size": n * 3 * n},
            "delays": {"feedforward": int(self.ff_delays[k]) if self.ff_delays else 0,
                       "recurrent": int(self.rec_delays[k]) if self.rec_delays else 0},
            "unit_updates": {"clocked": upd_c, "event_driven": upd_e},
            "elementwise": {"clocked": 3 * upd_c, "event_driven": 3 * upd_e},
            "nonlinearities": {"clocked": 3 * upd_c, "event_driven": 3 * upd_e},
        }

    def readout(self) -> dict:
        st = self.samples * self.steps
        n_l = self.units[-1]
        return {"outputs": self.readout_out,
                "macs": {"dense": n_l * self.readout_out * st,
                         "weight_sparse": self.readout_nnz * st,
                         "activity_sparse": self.readout_active * self.readout_out,
                         "effective": self.readout_macs}}

    def baselines(self) -> dict:
        st = self.samples * self.steps
        ro = self.units[-1] * self.readout_out * st
        out = {}
        for name, fn in (("gru", gru_baseline_per_step), ("lstm", lstm_baseline_per_step)):
            macs = sum(fn(m, n)[0] for m, n in zip(self.inputs, self.units)) * st + ro
            ew = sum(fn(m, n)[1] for m, n in zip(self.inputs, self.units)) * st
            out[name] = {"macs": macs, "elementwise": ew, "total": macs + ew}
        return out

    def total(self) -> dict:
        layers = [self.layer(k) for k in range(len(self.units))]
        ro = self.readout()
        macs = {key: sum(l["macs"][key] for l in layers) + ro["macs"][key]
                for key in ("dense", "weight_sparse", "activity_sparse", "effective")}
        events = sum(l["events"] for l in layers)
        units = sum(self.units)
        tot = {"units": units, "events": events,
               "activity_sparsity": 1.0 - events / (units * self.samples * self.steps),
               "macs": macs}
        for key in ("unit_updates", "elementwise", "nonlinearities"):
            tot[key] = {k: sum(l[key][k] for l in layers) for k in ("clocked", "event_driven")}
        return tot

    def to_dict(self) -> dict:
        """The SPEC §4 counts JSON (every count an int, ratios recomputable)."""
        layers = [self.layer(k) for k in range(len(self.units))]
        total = self.total()
        base = self.baselines()
        eff = total["macs"]["effective"]
        d = {"samples": self.samples, "steps": self.steps, "engine": self.engine,
             "layers": layers, "readout": self.readout(), "total": total, "baselines": base,
             "ratios": {
                 "effective_over_dense": _ratio(eff, total["macs"]["dense"]),
                 "savings_vs_dense": _ratio(total["macs"]["dense"], eff),
                 "savings_vs_gru": _ratio(base["gru"]["macs"], eff),
                 "savings_vs_lstm": _ratio(base["lstm"]["macs"], eff),
                 "effective_macs_per_step": eff / (self.samples * self.steps),
             }}
        if self.backward is not None:
            for k, b in enumerate(self.backward.get("layers", [])):
                d["layers"][k]["backward"] = b
            if "total" in self.backward:
                d["total"]["backward"] = self.backward["total"]
        return d

    def _check(self) -> None:
        """Invariants: parts add up to totals; no figure exceeds its bound."""
        d = self.to_dict()
        st = self.samples * self.steps
        for k, l in enumerate(d["layers"]):
            self._check_layer(k, l, st)
            assert l["unit_updates"]["event_driven"] <= l["unit_updates"]["clocked"]
            assert l["events"] <= l["unit_updates"]["event_driven"]
        ro = d["readout"]["macs"]
        assert 0 <= ro["effective"] <= min(ro["weight_sparse"], ro["activity_sparse"]) <= ro["dense"]
        self._check_per_step()

    @staticmethod
    def _check_layer(k: int, l: dict, st: int) -> None:
        """A layer's MAC figures within their bounds, its events within units x steps."""
        mac = l["macs"]
        assert 0 <= mac["effective"] <= mac["weight_sparse"] <= mac["dense"], (k, mac)
        assert mac["effective"] <= mac["activity_sparse"] <= mac["dense"], (k, mac)
        assert 0 <= l["events"] <= l["units"] * st
        assert sum(l["macs_effective_split"].values()) == mac["effective"]

    def _check_per_step(self) -> None:
        """Per-step records, when kept, add up to the run's totals."""
        if self.per_step is None:
            return
        assert np.array_equal(self.per_step["events"].sum(0), self.raw[:, 0])
        assert self.per_step["effective_macs"][:, :-1].sum() == self.raw[:, 1:3].sum()
        assert self.per_step["effective_macs"][:, -1].sum() == self.readout_macs
        assert np.array_equal(self.per_step["event_driven_updates"].sum(0), self.raw[:, 5])

    # -- presentation --------------------------------------------------------
    def table(self) -> str:
        """A readable summary: effective vs dense MACs, savings and sparsity per layer."""
        d = self.to_dict()
        rows = [("layer", "m→n", "events", "sparsity", "dense MACs", "effective", "savings")]
        for k, l in enumerate(d["layers"]):
            rows.append((str(k), f"{l['inputs']}→{l['units']}", f"{l['events']:,}",
                         format_sparsity(l['activity_sparsity'], l['events']), f"{l['macs']['dense']:,}",
                         f"{l['macs']['effective']:,}", _fmt_ratio(l["macs"]["dense"], l["macs"]["effective"])))
        if self.readout_out:
            ro = d["readout"]["macs"]
            rows.append(("readout", f"{self.units[-1]}→{self.readout_out}", "", "", f"{ro['dense']:,}",
                         f"{ro['effective']:,}", _fmt_ratio(ro["dense"], ro["effective"])))
        t = d["total"]
        rows.append(("total", "", f"{t['events']:,}", format_sparsity(t['activity_sparsity'], t['events']),
                     f"{t['macs']['dense']:,}", f"{t['macs']['effective']:,}",
                     _fmt_ratio(t["macs"]["dense"], t["macs"]["effective"])))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        b = d["baselines"]
        eff = t["macs"]["effective"]
        lines.append("")
        lines.append(f"{d['samples']} sample(s) x {d['steps']} steps; effective MACs per step "
                     f"{d['ratios']['effective_macs_per_step']:,.1f}")
        lines.append(f"dense GRU baseline {b['gru']['macs']:,} MACs ({_fmt_ratio(b['gru']['macs'], eff)} "
                     f"of effective); dense LSTM {b['lstm']['macs']:,} ({_fmt_ratio(b['lstm']['macs'], eff)})")
        lines.append(f"unit updates: clocked {t['unit_updates']['clocked']:,}, event-driven "
                     f"{t['unit_updates']['event_driven']:,}")
        return "\n".join(lines)


def _fmt_ratio(num, den) -> str:
    return f"{num / den:.2f}x" if den else "inf"


#: the dense cells of the baselines: (per-step MACs and elementwise products, gate blocks,
#: nonlinearities per unit)
DENSE_CELLS = {"gru": (gru_baseline_per_step, 3, 3), "lstm": (lstm_baseline_per_step, 4, 5)}
MAC_KINDS = ("dense", "weight_sparse", "activity_sparse", "effective")


@dataclass
class DenseCounts(Counts):
    """Closed-form counts of a clocked dense GRU/LSTM network: every synapse, every unit,
    every step (``effective`` = ``dense``; no events). ``to_dict()`` gives the same SPEC §4
    JSON as :class:`Counts`, its layers with ``gate_blocks`` instead of the event figures."""

    kind: str = "gru"

    @classmethod
    def for_network(cls, kind, inputs, units, n_out, samples, steps) -> "DenseCounts":
        st, n_last = samples * steps, units[-1]
        return cls(samples=int(samples), steps=int(steps), inputs=list(inputs), units=list(units),
                   kernel_nnz=[], recurrent_nnz=[], raw=np.zeros((len(units), len(RAW_FIELDS)), np.int64),
                   readout_out=n_out, readout_nnz=n_last * n_out, readout_macs=n_last * n_out * st,
                   readout_active=n_last * st, engine=f"closed-form dense {kind}", kind=kind)

    def layer(self, k: int) -> dict:
        cell, gates, nonlin = DENSE_CELLS[self.kind]
        m, n = self.inputs[k], self.units[k]
        st = self.samples * self.steps
        macs, ew = cell(m, n)
        return {"inputs": m, "units": n, "gate_blocks": gates, "macs": dict.fromkeys(MAC_KINDS, macs * st),
                "unit_updates": {"clocked": n * st, "event_driven": n * st},
                "elementwise": {"clocked": ew * st, "event_driven": ew * st},
                "nonlinearities": {"clocked": nonlin * n * st, "event_driven": nonlin * n * st}}

    def total(self) -> dict:
        layers = [self.layer(k) for k in range(len(self.units))]
        ro = self.readout()["macs"]
        tot = {"units": sum(self.units), "events": None, "activity_sparsity": None,
               "macs": {key: sum(l["macs"][key] for l in layers) + ro[key] for key in MAC_KINDS}}
        for key in ("unit_updates", "elementwise", "nonlinearities"):
            tot[key] = {k: sum(l[key][k] for l in layers) for k in ("clocked", "event_driven")}
        return tot
