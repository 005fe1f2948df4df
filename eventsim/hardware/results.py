"""Cost tables for a study's results folder (``eventsim cost results/<scenario>``).

:func:`cost_results` reads every ``<results>/<model>/counts.json``, estimates its
energy on each profile (an EGRU model as ``egru``, ``gru`` and ``lstm``; a DeltaGRU
model, told by ``"kind": "deltagru"`` in its counts, as ``deltagru``, ``gru`` and ``lstm``;
a GRU or LSTM model as its own kind, the kind taken from ``summary.json``), optionally
runs the timing simulation on the model's ``raster.npz`` samples, and writes
``<model>/cost.json`` per model plus ``cost.json`` and ``cost.md`` (the combined
table) in the folder. Formats: docs/hardware.md.

The study writes these tables for every shipped profile. A run on another selection
of profiles (``--hardware loihi``) or with ``--event-op ac`` never replaces them: when
the folder already holds a ``cost.json`` of other settings, its tables go beside, named
after the selection (``cost-loihi.json``, ``cost-loihi.md``, ``<model>/cost-loihi.json``;
see :func:`cost_stem`). Every file is written atomically (:mod:`eventsim.outputs`).
"""
from __future__ import annotations

import json
import os
import re

import numpy as np

from ..errors import EventsimError
from .energy import estimate_energy, format_energy
from .profiles import available_profiles, load_profile

FORMAT = "eventsim-cost/1"
TABLE_FORMAT = "eventsim-cost-table/1"
PARTS = ("compute_pj", "memory_pj", "communication_pj", "static_pj", "energy_pj", "energy_per_step_pj")


def workloads(kind: str) -> tuple:
    """What a model of ``kind`` is costed as: an EGRU or DeltaGRU run beside the dense GRU
    and LSTM baselines of its shapes; a GRU or LSTM as itself."""
    return (kind, "gru", "lstm") if kind in ("egru", "deltagru") else (kind,)


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
    """The unit model of a study's model: a DeltaGRU when its counts say so (``"kind":
    "deltagru"``, SPEC §5), else the study summary's kind, else from the counts' engine."""
    if counts.get("kind") == "deltagru":
        return "deltagru"
    kind = ((summary or {}).get("models", {}).get(name) or {}).get("kind")
    if kind in ("egru", "gru", "lstm", "deltagru"):  # deltagru counts without kind: refused, not mispriced
        return kind
    engine = str(counts.get("engine", ""))
    for k in ("lstm", "gru"):
        if engine.startswith("closed-form") and k in engine:
            return k
    return "egru"


def _timing_run(model_path, raster, kind):
    """(model, raster inputs, events) for the timing replay: an EGRU's recorded ``layer{k}.y``;
    a DeltaGRU is run again on the raster inputs for its sent deltas (``(dx, dh)``)."""
    from .._npz import read_npz
    z = read_npz(raster, "raster file")
    key = "tokens" if "tokens" in z else "input"
    if kind == "deltagru":
        from ..deltagru import load_deltagru, simulate_deltagru
        model = load_deltagru(model_path)
        if key not in z:
            raise EventsimError(f"raster file {raster!r} lacks key {key!r} (written by the study with "
                                f"measure.raster_samples > 0)")
        res = simulate_deltagru(model, z[key], record=("deltas",))
        return model, z[key], (res.dx, res.dh)
    from ..egru.model import load_model
    model = load_model(model_path)
    need = [key] + [f"layer{k}.y" for k in range(model.n_layers)]
    missing = [k for k in need if k not in z]
    if missing:
        raise EventsimError(f"raster file {raster!r} lacks key(s) {missing} (written by the study "
                            f"with measure.raster_samples > 0)")
    return model, z[key], [z[k] for k in need[1:]]


def _write_json(path, data):
    from ..outputs import write_json
    write_json(path, data, indent=1)


def _read_json(path, what: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EventsimError(f"{what} {path!r} is not valid JSON ({e})") from None


def _load_profiles(profiles):
    return [p if hasattr(p, "energy") else load_profile(p) for p in (profiles or available_profiles())]


def _settings_of(table) -> tuple:
    if not isinstance(table, dict) or not isinstance(table.get("profiles"), list):
        return None
    return tuple(str(p) for p in table["profiles"]), str(table.get("event_op", "mac"))


def cost_stem(root, profiles=None, event_op: str = "mac") -> str:
    """File stem of the cost tables a run writes in ``root``: ``"cost"`` for every shipped
    profile with ``event_op="mac"`` (what the study writes), and for any run when the folder
    has no ``cost.json`` yet or one of the same settings; otherwise ``"cost-<profiles>"``
    (``-ac`` appended for ``event_op="ac"``), so the study's tables are never replaced."""
    names = [p.name for p in _load_profiles(profiles)]
    settings = (tuple(names), event_op)
    if settings == (tuple(available_profiles()), "mac"):
        return "cost"
    existing = os.path.join(os.fspath(root), "cost.json")
    if not os.path.exists(existing):
        return "cost"
    try:
        with open(existing, encoding="utf-8") as f:
            if _settings_of(json.load(f)) == settings:
                return "cost"
    except (OSError, ValueError):
        pass  # unreadable: keep it, write beside
    tag = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", n) for n in names) + ("-ac" if event_op == "ac" else "")
    return f"cost-{tag}"


def model_names(root) -> list:
    """The models of a results folder: sub-folders holding ``counts.json``."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise EventsimError(f"results folder {root!r} does not exist; give results/<scenario> of a study")
    names = sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "counts.json")))
    if not names:
        raise EventsimError(f"results folder {root!r} holds no <model>/counts.json; run the study first")
    return names


def cost_files(root, profiles=None, event_op: str = "mac") -> dict:
    """What a cost run on ``root`` reads and writes: ``{"stem", "inputs": [...], "outputs": [...]}``
    (paths), so that a command can check its own outputs against them before any work."""
    root = os.fspath(root)
    names = model_names(root)
    stem = cost_stem(root, profiles, event_op)
    inputs = [os.path.join(root, "summary.json")]
    for n in names:
        inputs += [os.path.join(root, n, f) for f in ("counts.json", "model.npz", "raster.npz")]
    outputs = [os.path.join(root, n, f"{stem}.json") for n in names]
    outputs += [os.path.join(root, f"{stem}.json"), os.path.join(root, f"{stem}.md")]
    return {"stem": stem, "inputs": inputs, "outputs": outputs}


def cost_results(root, profiles=None, *, timing: bool = False, placement: str = "contiguous",
                 n_cores=None, spill: bool = False, event_op: str = "mac", progress: bool = False) -> dict:
    """Cost every model of a results folder; writes the files and returns what it wrote.

    profiles: :class:`HardwareProfile` objects or names/paths (default: every shipped one).
    Returns ``{"table": <cost.json dict>, "models": {name: <model cost.json dict>},
    "notes": [str, ...], "stem": <file stem>, "files": [paths written]}`` (notes say why a
    timing was skipped). The tables are computed first and written at the end, each file
    atomically; the file names follow :func:`cost_stem`.
    """
    root = os.fspath(root)
    names = model_names(root)
    profiles = _load_profiles(profiles)
    stem = cost_stem(root, profiles, event_op)
    summary = None
    if os.path.isfile(os.path.join(root, "summary.json")):
        summary = _read_json(os.path.join(root, "summary.json"), "study summary")
        if not isinstance(summary, dict):
            raise EventsimError(f"study summary {os.path.join(root, 'summary.json')!r} is not a JSON object")
    docs, rows, notes = {}, [], []
    for name in names:
        path = os.path.join(root, name, "counts.json")
        counts = _read_json(path, "counts file")
        if not isinstance(counts, dict):
            raise EventsimError(f"counts file {path!r} is not a JSON object (SPEC §4)")
        kind = _kind_of(name, counts, summary)
        ests = estimates(counts, profiles, kind, event_op, path)
        doc = {"format": FORMAT, "model": name, "kind": kind, "counts": path,
               "samples": counts.get("samples"), "steps": counts.get("steps"), "estimates": ests,
               "profiles": {p.name: p.to_dict() for p in profiles}}
        if timing:
            raster = os.path.join(root, name, "raster.npz")
            if kind not in ("egru", "deltagru"):
                notes.append(f"{name}: timing is simulated for EGRU models only (and DeltaGRUs), "
                             f"not for a {kind}")
            elif not os.path.isfile(raster):
                notes.append(f"{name}: no raster.npz (set measure.raster_samples in the scenario): "
                             f"timing skipped")
            else:
                from .timing import simulate_timing
                model, inputs, ys = _timing_run(os.path.join(root, name, "model.npz"), raster, kind)
                doc["timing"] = [simulate_timing(model, inputs, ys, prof, placement, n_cores=n_cores,
                                                 spill=spill, event_op=event_op).to_dict()
                                 for prof in profiles]
                doc["timing_samples"] = int(np.asarray(inputs).shape[0])
        docs[name] = doc
        rows += summary_rows(name, ests)
    table = {"format": TABLE_FORMAT, "results": os.path.abspath(root),
             "profiles": [p.name for p in profiles], "event_op": event_op, "rows": rows}
    from ..outputs import write_text
    files = []
    for name, doc in docs.items():
        files.append(os.path.join(root, name, f"{stem}.json"))
        _write_json(files[-1], doc)
    files.append(os.path.join(root, f"{stem}.json"))
    _write_json(files[-1], table)
    files.append(os.path.join(root, f"{stem}.md"))
    write_text(files[-1], markdown_table(rows))
    return {"table": table, "models": docs, "notes": notes, "stem": stem, "files": files}
