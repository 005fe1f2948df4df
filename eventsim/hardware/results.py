"""Cost tables for a study's results folder (``eventsim cost results/<scenario>``).

:func:`cost_results` reads every ``<results>/<model>/counts.json``, estimates its
energy on each profile (an EGRU model as ``egru``, ``gru`` and ``lstm``; a GRU
or LSTM model as its own kind, the kind taken from ``summary.json``), optionally
runs the timing simulation on the model's ``raster.npz`` samples, and writes
``<model>/cost.json`` per model plus ``cost.json`` and ``cost.md`` (the combined
table) in the folder. Formats: docs/hardware.md.
"""
from __future__ import annotations

import json
import os

import numpy as np

from ..errors import EventsimError
from .energy import estimate_energy, format_energy
from .profiles import available_profiles, load_profile

FORMAT = "eventsim-cost/1"
TABLE_FORMAT = "eventsim-cost-table/1"
PARTS = ("compute_pj", "memory_pj", "communication_pj", "static_pj", "energy_pj", "energy_per_step_pj")


def workloads(kind: str) -> tuple:
    """What a model of ``kind`` is costed as."""
    return ("egru", "gru", "lstm") if kind == "egru" else (kind,)


def estimates(counts: dict, profiles, kind: str = "egru", event_op: str = "mac", where: str = "counts") -> list:
    """One :func:`estimate_energy` per profile x workload of ``kind``."""
    return [estimate_energy(counts, prof, w, event_op=event_op, where=where)
            for prof in profiles for w in workloads(kind)]


def summary_rows(model_name: str, ests) -> list:
    """The combined table's rows for one model."""
    return [{"model": model_name, "workload": e["workload"], "profile": e["profile"],
             "executed_as": e["executed_as"], **{k: e["total"][k] for k in PARTS},
             "macs": e["total"]["macs"]} for e in ests]


def markdown_table(rows) -> str:
    lines = ["| model | workload | profile | as | compute | memory | communication | static | total | per step |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['workload']} | {r['profile']} | {r['executed_as']} | "
                     + " | ".join(format_energy(r[k]) for k in PARTS) + " |")
    return "\n".join(lines) + "\n"


def _kind_of(name, counts, summary) -> str:
    kind = ((summary or {}).get("models", {}).get(name) or {}).get("kind")
    if kind in ("egru", "gru", "lstm"):
        return kind
    engine = str(counts.get("engine", ""))
    for k in ("lstm", "gru"):
        if engine.startswith("closed-form") and k in engine:
            return k
    return "egru"


def _write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def cost_results(root, profiles=None, *, timing: bool = False, placement: str = "contiguous",
                 n_cores=None, spill: bool = False, event_op: str = "mac", progress: bool = False) -> dict:
    """Cost every model of a results folder; writes the files and returns what it wrote.

    profiles: :class:`HardwareProfile` objects or names/paths (default: every shipped one).
    Returns ``{"table": <cost.json dict>, "models": {name: <model cost.json dict>},
    "notes": [str, ...]}`` (notes say why a timing was skipped).
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise EventsimError(f"results folder {root!r} does not exist; give results/<scenario> of a study")
    names = sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "counts.json")))
    if not names:
        raise EventsimError(f"results folder {root!r} holds no <model>/counts.json; run the study first")
    profiles = [p if hasattr(p, "energy") else load_profile(p) for p in (profiles or available_profiles())]
    summary = None
    if os.path.isfile(os.path.join(root, "summary.json")):
        with open(os.path.join(root, "summary.json")) as f:
            summary = json.load(f)
    docs, rows, notes = {}, [], []
    for name in names:
        path = os.path.join(root, name, "counts.json")
        try:
            with open(path) as f:
                counts = json.load(f)
        except json.JSONDecodeError as e:
            raise EventsimError(f"{path}: not valid JSON ({e})") from None
        kind = _kind_of(name, counts, summary)
        ests = estimates(counts, profiles, kind, event_op, path)
        doc = {"format": FORMAT, "model": name, "kind": kind, "counts": path,
               "samples": counts.get("samples"), "steps": counts.get("steps"), "estimates": ests,
               "profiles": {p.name: p.to_dict() for p in profiles}}
        if timing:
            raster = os.path.join(root, name, "raster.npz")
            if kind != "egru":
                notes.append(f"{name}: timing is simulated for EGRU models only (this is a {kind})")
            elif not os.path.isfile(raster):
                notes.append(f"{name}: no raster.npz (set measure.raster_samples in the scenario): "
                             f"timing skipped")
            else:
                from ..egru.model import load_model
                from .timing import simulate_timing
                model = load_model(os.path.join(root, name, "model.npz"))
                with np.load(raster) as z:
                    inputs = z["tokens"] if "tokens" in z.files else z["input"]
                    ys = [z[f"layer{k}.y"] for k in range(model.n_layers)]
                doc["timing"] = [simulate_timing(model, inputs, ys, prof, placement, n_cores=n_cores,
                                                 spill=spill, event_op=event_op).to_dict()
                                 for prof in profiles]
                doc["timing_samples"] = int(ys[0].shape[0])
        _write_json(os.path.join(root, name, "cost.json"), doc)
        docs[name] = doc
        rows += summary_rows(name, ests)
    table = {"format": TABLE_FORMAT, "results": os.path.abspath(root),
             "profiles": [p.name for p in profiles], "rows": rows}
    _write_json(os.path.join(root, "cost.json"), table)
    with open(os.path.join(root, "cost.md"), "w") as f:
        f.write(markdown_table(rows))
    return {"table": table, "models": docs, "notes": notes}
