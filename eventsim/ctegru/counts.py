"""Operation counts of a continuous-time EGRU run (SPEC §6), summed over samples.

Per layer (a synaptic event is attributed to the layer it reaches):

- ``events``: the layer's threshold crossings (binary events sent);
- ``synaptic_events``: deliveries, one per (event, target unit reached), i.e. Σ over
  delivered events of the number of targets with a nonzero weight in the source's row;
  split into ``synaptic_events_ff`` (from the layer below or the input channels) and
  ``synaptic_events_rec`` (from the layer itself);
- per delivery 2 ``accumulates`` (``a_u``, ``a_r``), 1 multiply-accumulate (``macs``,
  ``a_z += w_z·σ(a_r)``) and 1 ``sigmoids`` (σ(a_r));
- ``unit_wakeups``: times a unit's state was advanced because an event reached it or it
  fired (= synaptic_events + events);
- ``solver_steps``: the integration work of the engine (Dormand–Prince steps evaluated,
  accepted, rejected and root-finding trials), reported apart from the hardware figures
  (asynchronous hardware would evolve the state in analog or by its own rule); 0 for the
  naive reference, whose fixed-step work is not an engine figure;
- ``rate_hz``: events / (units · seconds simulated).

``duration_s`` is the simulated time summed over samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

KIND = "ctegru"
FIGURES = ("events", "synaptic_events", "synaptic_events_ff", "synaptic_events_rec", "accumulates",
           "macs", "sigmoids", "unit_wakeups", "solver_steps")


@dataclass
class CTCounts:
    """Exact counts of one run; ``raw`` (L, 5): events, feed-forward and recurrent
    synaptic events, unit wakeups, solver steps (see the module docstring)."""

    samples: int
    duration_s: float
    inputs: list
    units: list
    raw: np.ndarray
    input_events: int = 0
    engine: str = "event"
    kind: str = KIND

    def layer(self, k: int) -> dict:
        ev, ff, rec, wake, steps = (int(x) for x in self.raw[k])
        syn = ff + rec
        n = self.units[k]
        rate = ev / (n * self.duration_s) if self.duration_s > 0 else None
        return {"inputs": self.inputs[k], "units": n, "events": ev, "synaptic_events": syn,
                "synaptic_events_ff": ff, "synaptic_events_rec": rec, "accumulates": 2 * syn,
                "macs": syn, "sigmoids": syn, "unit_wakeups": wake, "solver_steps": steps,
                "rate_hz": rate}

    def to_dict(self) -> dict:
        layers = [self.layer(k) for k in range(len(self.units))]
        total = {f: sum(l[f] for l in layers) for f in FIGURES}
        return {"kind": KIND, "engine": self.engine, "samples": self.samples,
                "duration_s": self.duration_s, "input_events": self.input_events,
                "layers": layers, "total": total}

    def table(self) -> str:
        head = ("layer", "units", "events", "rate Hz", "synaptic ev.", "MACs", "accumulates",
                "wakeups", "solver steps")
        rows = [head]
        d = self.to_dict()
        for k, l in enumerate(d["layers"]):
            rate = "-" if l["rate_hz"] is None else f"{l['rate_hz']:.3g}"
            rows.append((str(k), str(l["units"]), f"{l['events']:,}", rate, f"{l['synaptic_events']:,}",
                         f"{l['macs']:,}", f"{l['accumulates']:,}", f"{l['unit_wakeups']:,}",
                         f"{l['solver_steps']:,}"))
        t = d["total"]
        rows.append(("total", str(sum(self.units)), f"{t['events']:,}", "", f"{t['synaptic_events']:,}",
                     f"{t['macs']:,}", f"{t['accumulates']:,}", f"{t['unit_wakeups']:,}",
                     f"{t['solver_steps']:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(lines)

    def _check(self, n_input_events: Optional[int] = None) -> None:
        """Counts add up: wakeups = synaptic events + events, nothing negative."""
        assert np.all(self.raw >= 0)
        for k in range(len(self.units)):
            ev, ff, rec, wake, _ = self.raw[k]
            assert wake == ff + rec + ev, f"layer {k}: wakeups {wake} != {ff + rec} deliveries + {ev} events"
