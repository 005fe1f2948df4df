"""Operation counts of a LIF run, in the spirit of SPEC §2 (definitions in ``docs/lif.md``).

With m input channels, n units, T steps, B samples, nnz_in / nnz_rec stored synapses:

- ``synops.dense`` = B·T·(m + n)·n: every source sends to every unit every step;
- ``synops.weight_sparse`` = B·T·(nnz_in + nnz_rec): every source every step, absent
  synapses skipped;
- ``synops.activity_sparse`` = (input_events + events)·n: only events send, to all n units;
- ``synops.effective`` = synaptic operations performed: for every event, the synapses of
  its row whose delivery step t + d lies inside the run; split into ``effective_acs``
  (binary events: the weight is added) and ``effective_macs`` (graded events and input
  values other than 1: value·weight is added);
- ``events`` = unit events; ``input_events`` = active (sample, step, channel) inputs;
  ``activity_sparsity`` = 1 − events / (n·T·B);
- ``unit_updates.clocked`` = B·T·n; ``unit_updates.event_driven`` = (sample, step, unit)
  triples where the unit received at least one synaptic operation or emitted an event.
"""
from __future__ import annotations

from dataclasses import dataclass

from .._fmt import format_int, format_sparsity


@dataclass
class LIFCounts:
    samples: int
    steps: int
    inputs: int
    units: int
    nnz_input: int
    nnz_recurrent: int
    events: int
    input_events: int
    effective_acs: int
    effective_macs: int
    event_driven_updates: int
    engine: str = "event"

    @property
    def effective(self) -> int:
        return self.effective_acs + self.effective_macs

    def to_dict(self) -> dict:
        B, T, m, n = self.samples, self.steps, self.inputs, self.units
        cells = n * T * B
        return {
            "model": "lif", "engine": self.engine, "samples": B, "steps": T, "inputs": m, "units": n,
            "synapses": {"input": self.nnz_input, "recurrent": self.nnz_recurrent},
            "events": self.events, "input_events": self.input_events,
            "activity_sparsity": 1.0 - self.events / cells if cells else None,
            "synops": {"dense": B * T * (m + n) * n,
                       "weight_sparse": B * T * (self.nnz_input + self.nnz_recurrent),
                       "activity_sparse": (self.input_events + self.events) * n,
                       "effective": self.effective},
            "effective_acs": self.effective_acs, "effective_macs": self.effective_macs,
            "unit_updates": {"clocked": cells, "event_driven": self.event_driven_updates},
        }

    def table(self) -> str:
        """The counts as ``eventsim lif run`` prints them (at most 100 columns; counts with
        thousands separators, sparsity as '81.7%')."""
        d = self.to_dict()
        counts = [("input events", d["input_events"]), ("unit events", d["events"])]
        counts += [(f"synops {k}", d["synops"][k]) for k in ("dense", "weight_sparse", "activity_sparse", "effective")]
        counts += [("effective ACs", d["effective_acs"]), ("effective MACs", d["effective_macs"]),
                   ("unit updates", d["unit_updates"]["clocked"])]
        w = max(len(format_int(v)) for _, v in counts)
        sp = "-" if d["activity_sparsity"] is None else format_sparsity(d["activity_sparsity"], d["events"])
        after = {"unit events": f"   activity sparsity {sp}",
                 "unit updates": f" clocked, {format_int(d['unit_updates']['event_driven'])} event-driven"}
        lines = [f"LIF run ({d['engine']} engine): {d['samples']:,} sample(s) x {d['steps']:,} steps, "
                 f"{d['inputs']:,} inputs -> {d['units']:,} units"]
        lw = max(len(name) for name, _ in counts) + 2
        lines += [f"  {name:<{lw}s}{format_int(v):>{max(w, 12)}}{after.get(name, '')}" for name, v in counts]
        return "\n".join(lines)
