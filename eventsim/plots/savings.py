"""Compute-savings figures: MAC bars against dense baselines, and sweep trade-offs.

:func:`macs_figure` reads a SPEC §4 counts dict (``counts.to_dict()`` or a
``counts.json``). Left: for each layer, the readout and the total, the four
SPEC §2 MAC figures (dense, weight-sparse, activity-sparse, effective) per step,
with the factor dense / effective written above each effective bar. Right: the
total against the dense GRU and LSTM baselines of the same layer shapes (readout
included in both, as in :mod:`eventsim.egru.counts`), with the savings factors
baseline / effective written on the bars. All values are MACs per step (the
counts divided by samples x steps). The y axis becomes logarithmic when the bars
span more than ``log_ratio`` (default 30x).

:func:`tradeoff_figure` takes rows (one per model/run: ``name``, ``kind``,
``task``, ``metric``, ``effective_macs_per_step``, optional ``activity_sparsity``
and ``savings_vs_gru``; a DeltaGRU row may carry ``sweep``, its Θ sweep on the test
split), e.g. from ``summary.json`` files or a sweep table (:func:`load_tradeoff_rows`,
which attaches a study's ``<model>/delta_sweep.json`` and expands a study over several
seeds into one row per seed and model). Left: task metric against effective MACs per step
(log axis), one point per row, the EGRU points joined, each DeltaGRU Θ sweep as a line
(Θ written beside its points) and the GRU's metric as a dotted reference line. Right:
savings vs the dense GRU against activity
sparsity, with the guide ``1 / (1 - sparsity)`` (the saving of a layer whose
inputs are as sparse as its outputs) and the paper's reference points for the
matching task (:mod:`eventsim.plots.paper_reference`); absolute MACs of the paper's
much larger models are not comparable, so the paper enters only through its
relative figures.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import re
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..errors import EventsimError
from . import style as st
from .paper_reference import matching_references

log = logging.getLogger(__name__)

MAC_KEYS = ("dense", "weight_sparse", "activity_sparse", "effective")


def _require(d, path, where):
    cur = d
    for key in path:
        if not isinstance(cur, Mapping) or key not in cur:
            raise EventsimError(f"{where} lacks '{'.'.join(path)}'; expected SPEC §4 counts JSON "
                                "(as written by counts.to_dict() / eventsim count --json)")
        cur = cur[key]
    return cur


def macs_figure(counts: Mapping, *, title: str | None = None, log_ratio: float = 30.0,
                where: str = "counts"):
    """Bars of the four MAC figures per layer and total, and the total against GRU/LSTM baselines."""
    samples = int(_require(counts, ("samples",), where))
    steps = int(_require(counts, ("steps",), where))
    layers = _require(counts, ("layers",), where)
    total = _require(counts, ("total", "macs"), where)
    base = _require(counts, ("baselines",), where)
    if samples < 1 or steps < 1:
        raise EventsimError(f"{where} has samples={samples}, steps={steps}; both must be positive")
    per = float(samples * steps)
    groups = []
    for k, l in enumerate(layers):
        macs = _require(l, ("macs",), f"{where} layer {k}")
        groups.append((f"layer {k}\n{l.get('inputs', '?')}→{l.get('units', '?')}", macs))
    ro = counts.get("readout", {}).get("macs") if isinstance(counts.get("readout"), Mapping) else None
    if ro and ro.get("dense"):
        groups.append(("readout", ro))
    groups.append(("total", total))
    vals = np.array([[float(g[1].get(key, np.nan)) / per for key in MAC_KEYS] for g in groups])
    gru = float(_require(base, ("gru", "macs"), where)) / per
    lstm = float(_require(base, ("lstm", "macs"), where)) / per
    eff = float(total["effective"]) / per

    with st.style():
        fig = st.new_figure(10.0, 4.0)
        gs = fig.add_gridspec(1, 2, width_ratios=[max(2.0, len(groups) * 1.1), 2.2], wspace=0.25)
        _layer_mac_bars(fig.add_subplot(gs[0, 0]), groups, vals, log_ratio)
        _baseline_bars(fig.add_subplot(gs[0, 1]), gru, lstm, eff, log_ratio)
        sp = counts.get("total", {}).get("activity_sparsity")
        sub = f"{samples} sample(s) x {steps} steps"
        if isinstance(sp, (int, float)):
            sub += f", activity sparsity {100 * sp:.1f}%"
        fig.suptitle((title or "Compute: effective vs dense MACs") + f"\n{sub}", fontsize=10,
                     fontweight="bold", y=1.06)
    return fig


def _layer_mac_bars(ax, groups: list, vals, log_ratio: float) -> None:
    """Left panel: the four MAC figures per layer, readout and total, labelled dense / effective."""
    x = np.arange(len(groups))
    w = 0.2
    positive = vals[np.isfinite(vals) & (vals > 0)]
    use_log = positive.size > 0 and positive.max() / positive.min() > log_ratio
    for i, key in enumerate(MAC_KEYS):
        ax.bar(x + (i - 1.5) * w, vals[:, i], width=w, color=st.MAC_COLORS[key], label=st.MAC_LABELS[key])
    for j in range(len(groups)):
        d, e = vals[j, 0], vals[j, 3]
        label = f"{d / e:.1f}x" if e > 0 else "0 MACs"
        if e > 0:
            ytxt = e * 1.15 if use_log else e + 0.01 * np.nanmax(vals)
        else:  # nothing to divide by: say so at the foot of the axis
            ytxt = positive.min() / 2.5 if use_log else 0.0
        ax.text(x[j] + 1.5 * w, ytxt, label, ha="center", va="bottom", fontsize=7,
                color=st.MAC_COLORS["effective"], fontweight="bold", rotation=90 if len(groups) > 6 else 0)
    ax.set_xticks(x)
    ax.set_xticklabels([g[0] for g in groups])
    ax.set_ylabel("MACs per step")
    if use_log:
        ax.set_yscale("log")
        st.log_axis(ax.yaxis, minor_labels=False)
        ax.set_ylim(positive.min() / 3, positive.max() * 4)
    else:
        ax.set_ylim(top=np.nanmax(vals) * 1.18)
    ax.grid(True, axis="y", which="major")
    ax.legend(loc="upper left", ncol=2)
    ax.set_title("Synaptic MACs per layer (label: dense / effective)")


def _baseline_bars(ax2, gru: float, lstm: float, eff: float, log_ratio: float) -> None:
    """Right panel: the model's total effective MACs per step against dense LSTM and GRU."""
    names = ["dense\nLSTM", "dense\nGRU", "effective\n(this model)"]
    bars = [lstm, gru, eff]
    colors = [st.KIND_COLORS["lstm"], st.KIND_COLORS["gru"], st.MAC_COLORS["effective"]]
    ax2.bar(np.arange(3), bars, color=colors, width=0.6)
    log2 = eff > 0 and lstm / eff > log_ratio
    if log2:
        ax2.set_yscale("log")
        st.log_axis(ax2.yaxis, minor_labels=False)
        ax2.set_ylim(eff / 3, lstm * 6)
    else:
        ax2.set_ylim(0, lstm * 1.3)
    for xi, b in enumerate(bars):
        ax2.text(xi, b * (1.12 if log2 else 1.0) + (0 if log2 else 0.01 * lstm), st.human(b),
                 ha="center", va="bottom", fontsize=7)
    if eff > 0:
        ax2.text(2, eff * (2.2 if log2 else 1.0) + (0 if log2 else 0.09 * lstm),
                 f"{gru / eff:.1f}x vs GRU\n{lstm / eff:.1f}x vs LSTM", ha="center", va="bottom",
                 fontsize=8, fontweight="bold", color=st.MAC_COLORS["effective"])
    ax2.set_xticks(np.arange(3))
    ax2.set_xticklabels(names)
    ax2.set_ylabel("MACs per step (incl. readout)")
    ax2.grid(True, axis="y")
    ax2.set_title("Total vs dense baselines")


# -- trade-off of a sweep ------------------------------------------------------

def _num(v):
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _attach_sweeps(rows: list, folder: str) -> list:
    """Give each DeltaGRU row of the study in ``folder`` its test-split Θ sweep
    (``<model>/delta_sweep.json``, written by a study's converted DeltaGRU) as ``sweep``."""
    for r in rows:
        p = os.path.join(folder, str(r.get("name")), "delta_sweep.json")
        if str(r.get("kind")) == "deltagru" and os.path.isfile(p):
            with open(p) as f:
                try:
                    d = json.load(f)
                except json.JSONDecodeError as e:
                    raise EventsimError(f"cannot parse {p!r} as JSON: {e}") from None
            r["sweep"] = [x for x in d.get("test") or [] if isinstance(x, Mapping)]
    return rows


def rows_from_folder(folder: str, summary: Mapping, where: str = "summary") -> list:
    """Rows of a study's results folder: one per model with its Θ sweep attached
    (:func:`_attach_sweeps`); a study over several seeds gives one row per seed and model,
    read from each ``seed<k>/summary.json`` (named ``"<model> s<k>"``)."""
    dirs = summary.get("seed_dirs") if isinstance(summary, Mapping) else None
    if not isinstance(dirs, Mapping) or not dirs:
        return _attach_sweeps(rows_from_summary(summary, where), folder)
    rows = []
    for seed, sub in dirs.items():
        sp = os.path.join(folder, str(sub), "summary.json")
        if not os.path.isfile(sp):
            raise EventsimError(f"{where} names the seed folder {sub!r}, but {sp!r} does not exist; "
                                f"re-run the study")
        with open(sp) as f:
            one = json.load(f)
        for r in _attach_sweeps(rows_from_summary(one, sp), os.path.join(folder, str(sub))):
            rows.append(dict(r, name=f"{r['name']} s{seed}", seed=seed))
    return rows


def rows_from_summary(summary: Mapping, where: str = "summary") -> list:
    """Rows of a study's ``summary.json`` (one per model)."""
    models = summary.get("models") if isinstance(summary, Mapping) else None
    if not isinstance(models, Mapping):
        raise EventsimError(f"{where} has no 'models' object; expected a study summary.json")
    rows = []
    for name, m in models.items():
        r = dict(m)
        r.setdefault("name", name)
        # the data set names the task of the paper's reference points ("task" may be a kind, e.g. "classify")
        r.setdefault("task", summary.get("dataset") or summary.get("task"))
        r.setdefault("metric_name", summary.get("metric"))
        r.setdefault("scenario", summary.get("scenario"))
        rows.append(r)
    return rows


def _sweep_row(r: Mapping):
    """A row of ``eventsim sweep``'s table (docs/sweeps.md) as a trade-off row, or None when
    its task failed. There ``task`` is the task id and ``task_name`` the data set."""
    if "task_name" not in r:
        return dict(r)
    if str(r.get("status", "ok")) != "ok":
        return None
    params = ",".join(str(v) for k, v in r.items() if k.startswith("param:"))
    out = dict(r)
    out["name"] = f"{r.get('model', '?')} {params}".strip()
    out["task"] = r.get("task_name")
    return out


def load_tradeoff_rows(paths: Iterable) -> list:
    """Rows from ``summary.json`` files / study folders, sweep tables (``.csv``, or ``.json``
    with ``{"rows": [...]}``, as ``eventsim sweep`` writes) or JSON lists of row objects.
    Rows of failed sweep tasks are skipped (with a log message)."""
    rows = _load_rows(paths)
    kept = [r for r in (_sweep_row(r) for r in rows) if r is not None]
    if len(kept) < len(rows):
        log.warning("skipped %d row(s) of failed sweep tasks", len(rows) - len(kept))
    if not kept:
        raise EventsimError("no usable rows: every sweep task in the given tables failed")
    return kept


def _load_rows(paths: Iterable) -> list:
    rows = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p) and os.path.isfile(os.path.join(p, "summary.json")):
            p = os.path.join(p, "summary.json")
        if not os.path.isfile(p):
            raise EventsimError(f"trade-off input {p!r} does not exist (give summary.json, a sweep .csv or .json)")
        if p.lower().endswith(".csv"):
            with open(p, newline="") as f:
                got = [dict(r) for r in csv.DictReader(f)]
            if not got:
                raise EventsimError(f"sweep table {p!r} has no rows")
            rows.extend(got)
            continue
        try:
            with open(p) as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise EventsimError(f"cannot parse {p!r} as JSON: {e}") from None
        if isinstance(data, Mapping) and "models" in data:
            rows.extend(rows_from_folder(os.path.dirname(os.path.abspath(p)), data, p))
        elif isinstance(data, Mapping) and isinstance(data.get("test"), list) and "picked_on" in data:
            rows.append(_delta_sweep_row(data, p))
        elif isinstance(data, Mapping) and isinstance(data.get("rows"), list):
            rows.extend(dict(r) for r in data["rows"])
        elif isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
            for r in data:
                rows.extend(rows_from_summary(r, p) if "models" in r else [dict(r)])
        else:
            raise EventsimError(f"{p!r} is neither a summary.json, a list of rows nor {{'rows': [...]}}")
    return rows


def _delta_sweep_row(d: Mapping, where: str) -> dict:
    """A study's ``delta_sweep.json`` given on its own: its test sweep as a DeltaGRU row at
    the picked Θ (the sweep's entry of that Θ)."""
    test = [x for x in d["test"] if isinstance(x, Mapping)]
    at = [x for x in test if x.get("theta_x") == d.get("theta_x") and x.get("theta_h") == d.get("theta_h")]
    if not at:
        raise EventsimError(f"{where!r}: the picked Θ is not among its test sweep's entries")
    name = os.path.basename(os.path.dirname(os.path.abspath(where))) or "deltagru"
    return dict(at[0], name=f"{name} Θ={d['theta_x']:g}", kind="deltagru", metric_name=d.get("metric"),
                sweep=test)


def _normalise(rows: Sequence[Mapping], metric: str | None):
    out = []
    for i, r in enumerate(rows):
        m = _num(r.get(metric)) if metric else _num(r.get("metric"))
        x = _num(r.get("effective_macs_per_step", r.get("effective_macs")))
        if m is None or x is None:
            need = metric or "metric"
            raise EventsimError(f"trade-off row {i} ({r.get('name', r.get('model', '?'))}) needs numeric "
                                f"'{need}' and 'effective_macs_per_step'; it has {sorted(r)}")
        kind = str(r.get("kind") or "egru").lower()
        out.append({"name": str(r.get("name", r.get("model", f"run {i}"))), "kind": kind,
                    "task": r.get("task"), "metric": m, "macs": x,
                    "sparsity": _num(r.get("activity_sparsity")),
                    "savings_vs_gru": _num(r.get("savings_vs_gru")),
                    "metric_name": r.get("metric_name"),
                    "sweep": _sweep_points(r.get("sweep"), m_key=metric or "metric")})
    return out


def _sweep_points(sweep, m_key: str) -> list:
    """(Θ, effective MACs per step, metric, activity sparsity) of each usable sweep entry,
    by increasing MACs."""
    pts = []
    for x in sweep or []:
        if not isinstance(x, Mapping):
            continue
        th, macs, m = _num(x.get("theta_h", x.get("theta"))), _num(x.get("effective_macs_per_step")), \
            _num(x.get(m_key, x.get("metric")))
        if macs is not None and m is not None:
            pts.append((th, macs, m, _num(x.get("activity_sparsity"))))
    return sorted(pts, key=lambda p: p[1])


KIND_LABELS = {"egru": "EGRU", "gru": "GRU", "lstm": "LSTM", "deltagru": "DeltaGRU"}
METRIC_LABELS = {"accuracy": "test accuracy (%)", "bpc": "bits per character (lower is better)",
                 "perplexity": "perplexity (lower is better)"}


def tradeoff_figure(rows: Sequence[Mapping], *, metric: str | None = None, metric_name: str | None = None,
                    task: str | None = None, references: Sequence[Mapping] | None = None,
                    title: str | None = None, annotate: bool = True):
    """Task metric vs effective MACs per step, and savings vs sparsity with the paper's points.

    rows: dicts (see module docstring) or study summaries (``summary.json`` dicts, one
    row per model); metric: the row key holding the task metric
    (default ``metric``); metric_name: "accuracy" | "bpc" | "perplexity" (for the
    axis; default from the rows); task: task name for the paper's reference points
    (default: the rows' task when they all agree); references: override the
    reference points (default :data:`eventsim.plots.paper_reference.REFERENCES`).
    """
    if not rows:
        raise EventsimError("no rows to plot: give at least one model result (summary.json or sweep table)")
    # a study summary dict stands for its models (one row each)
    rows = [x for r in rows for x in (rows_from_summary(r) if isinstance(r, Mapping) and "models" in r else [r])]
    pts = _normalise(rows, metric)
    metric_name = metric_name or next((p["metric_name"] for p in pts if p["metric_name"]), None) or metric
    tasks = {p["task"] for p in pts if p["task"]}
    if task is None and len(tasks) == 1:
        task = next(iter(tasks))
    scale = 100.0 if metric_name == "accuracy" and all(0 <= p["metric"] <= 1 for p in pts) else 1.0
    refs = matching_references(task, references)
    with st.style():
        fig = st.new_figure(10.0, 4.0)
        ax = fig.add_subplot(1, 2, 1)
        ax2 = fig.add_subplot(1, 2, 2)
        _metric_vs_macs(ax, pts, scale, metric_name, annotate)
        _savings_vs_sparsity(ax2, pts, refs, task, annotate)
        fig.suptitle(title or "Trade-off: task performance vs compute", fontweight="bold", fontsize=11, y=1.02)
    return fig


def _apart(xs, ys, dx: float = 0.12, dy: float = 0.06) -> list:
    """Indices of the points to name: each point unless an already named one lies within
    ``dx`` (in log10 of x) and ``dy`` (a fraction of y's range) of it, so that seeds of one
    model, drawn nearly on top of each other, carry one label instead of an unreadable pile."""
    lx = np.log10(np.maximum(np.asarray(xs, float), 1e-300))
    if len(lx) == 0:
        return []
    y = np.asarray(ys, float)
    span = float(y.max() - y.min()) or 1.0
    named = []
    for i in range(len(lx)):
        if all(abs(lx[i] - lx[j]) > dx or abs(y[i] - y[j]) > dy * span for j in named):
            named.append(i)
    return named


def _labels(pts: list) -> list:
    """Per point its label, or None: the seeds of one model ('egru s0', 'egru s1', ...) carry
    one label, the model's name, on the first of them."""
    base = [re.sub(r" s\d+$", "", p["name"]) for p in pts]
    first = {}
    for i, b in enumerate(base):
        first.setdefault(b, i)
    seeded = {b for b, p in zip(base, pts) if b != p["name"]}
    return [(b if b in seeded else pts[i]["name"]) if first[b] == i else None for i, b in enumerate(base)]


def _metric_vs_macs(ax, pts: list, scale: float, metric_name, annotate: bool) -> None:
    """Left panel: each model's task metric against its effective MACs per step (log)."""
    seen = set()
    for p in pts:
        k = p["kind"] if p["kind"] in st.KIND_COLORS else "egru"
        lab = KIND_LABELS.get(k, k) if k not in seen else None
        seen.add(k)
        ax.scatter(p["macs"], p["metric"] * scale, s=36, color=st.KIND_COLORS[k], marker=st.KIND_MARKERS[k],
                   label=lab, zorder=3, edgecolor="white", linewidth=0.5)
    if annotate and len(pts) <= 20:
        labels = _labels(pts)
        idx = [i for i in range(len(pts)) if labels[i]]
        for j in _apart([pts[i]["macs"] for i in idx], [pts[i]["metric"] for i in idx]):
            p = pts[idx[j]]
            ax.annotate(labels[idx[j]], (p["macs"], p["metric"] * scale), xytext=(4, 3),
                        textcoords="offset points", fontsize=7)
    egru = [p for p in pts if p["kind"] == "egru"]
    if len(egru) > 1:
        e = sorted(egru, key=lambda p: p["macs"])
        ax.plot([p["macs"] for p in e], [p["metric"] * scale for p in e], color=st.KIND_COLORS["egru"],
                lw=0.8, alpha=0.6, zorder=2)
    _delta_sweeps(ax, [p for p in pts if p["sweep"]], scale, annotate)
    grus = [p for p in pts if p["kind"] == "gru"]
    if grus:   # the GRU's metric: the reference the other models are held to
        ax.axhline(float(np.mean([p["metric"] for p in grus])) * scale, color=st.KIND_COLORS["gru"], ls=":",
                   lw=0.9, zorder=1, label="GRU metric" + (" (mean)" if len(grus) > 1 else ""))
    ax.set_xscale("log")
    st.log_axis(ax.xaxis)
    ax.margins(x=0.12, y=0.08)
    ax.set_xlabel("effective MACs per step (log)")
    ax.set_ylabel(METRIC_LABELS.get(metric_name, str(metric_name or "task metric")))
    ax.grid(True, which="major")
    ax.legend(loc="best")
    ax.set_title("Task metric vs compute")


def _delta_sweeps(ax, pts: list, scale: float, annotate: bool) -> None:
    """Each DeltaGRU's Θ sweep (test split) as a line, Θ written beside a few of its points."""
    for i, p in enumerate(pts):
        sw = p["sweep"]
        ax.plot([x[1] for x in sw], [x[2] * scale for x in sw], color=st.KIND_COLORS["deltagru"], lw=0.9,
                marker=".", ms=4, alpha=0.75, zorder=2, label="DeltaGRU Θ sweep" if i == 0 else None)
        if annotate and i == 0:   # Θ beside the points that are apart (crowded ones left bare)
            span = (max(x[2] for x in sw) - min(x[2] for x in sw)) or 1.0
            last = None
            for th, macs, m, _ in sw:
                if th is None or macs <= 0:
                    continue
                if last is None or abs(np.log10(macs / last[0])) > 0.1 or abs(m - last[1]) > 0.08 * span:
                    ax.annotate(f"Θ={th:g}", (macs, m * scale), xytext=(2, -9), textcoords="offset points",
                                fontsize=6, color=st.KIND_COLORS["deltagru"])
                    last = (macs, m)


def _savings_vs_sparsity(ax2, pts: list, refs: list, task, annotate: bool) -> None:
    """Right panel: MAC savings against a dense GRU versus activity sparsity (relative
    figures: comparable with the paper's), the ideal 1 / (1 − sparsity) and the paper's points."""
    sx = [p for p in pts if p["sparsity"] is not None and p["savings_vs_gru"] is not None]
    s_grid = np.linspace(0.0, 0.97, 200)
    ax2.plot(100 * s_grid, 1.0 / (1.0 - s_grid), color="#999999", ls="--", lw=0.9,
             label="1 / (1 - sparsity)")
    seen = set()
    for p in sx:
        k = p["kind"] if p["kind"] in st.KIND_COLORS else "egru"
        lab = ("this project" if k == "egru" else KIND_LABELS.get(k, k)) if k not in seen else None
        seen.add(k)
        ax2.scatter(100 * p["sparsity"], p["savings_vs_gru"], s=36, color=st.KIND_COLORS[k],
                    marker=st.KIND_MARKERS[k], zorder=3, edgecolor="white", linewidth=0.5, label=lab)
    if annotate and sx and len(sx) <= 20:
        labels = _labels(sx)
        idx = [i for i in range(len(sx)) if labels[i]]
        for j in _apart([sx[i]["savings_vs_gru"] for i in idx], [sx[i]["sparsity"] for i in idx], dx=0.05):
            p = sx[idx[j]]
            ax2.annotate(labels[idx[j]], (100 * p["sparsity"], p["savings_vs_gru"]), xytext=(4, 3),
                         textcoords="offset points", fontsize=7)
    ymax = max([1.0 / (1.0 - 0.9)] + [p["savings_vs_gru"] for p in sx])
    for p in sx:   # a DeltaGRU's sweep: savings = the dense GRU's MACs / the sweep point's
        gru_macs = p["savings_vs_gru"] * p["macs"]
        sw = [x for x in p["sweep"] if x[3] is not None and x[1] > 0]
        if sw:
            ax2.plot([100 * x[3] for x in sw], [gru_macs / x[1] for x in sw], color=st.KIND_COLORS["deltagru"],
                     lw=0.9, marker=".", ms=4, alpha=0.75, zorder=2)
            ymax = max([ymax] + [gru_macs / x[1] for x in sw])
    for r in refs:
        lab = f"paper: {r['label']}" + (" (approx.)" if r.get("uncertain") else "")
        s_lo, s_hi = r["activity_sparsity"]
        f = r.get("savings_vs_gru")
        if f is not None:
            ax2.errorbar(100 * (s_lo + s_hi) / 2, f, xerr=[[100 * (s_hi - s_lo) / 2]] if s_hi > s_lo else None,
                         fmt="*", ms=11, color=st.REFERENCE_COLOR, mfc="none" if r.get("uncertain") else
                         st.REFERENCE_COLOR, label=lab, zorder=4)
            ymax = max(ymax, f)
        else:
            ax2.axvspan(100 * s_lo, 100 * s_hi, color=st.REFERENCE_COLOR, alpha=0.12, label=lab)
    ax2.set_yscale("log")
    st.log_axis(ax2.yaxis)
    ax2.set_ylim(0.8, ymax * 1.6)
    ax2.set_xlim(0, 100)
    ax2.set_xlabel("activity sparsity (%)")
    ax2.set_ylabel("MAC savings vs dense GRU (x, log)")
    ax2.grid(True, which="major")
    ax2.legend(loc="upper left")
    ax2.set_title("Savings vs sparsity" + (f" ({task})" if task else ""))
    notes = ([] if sx else ["no EGRU point with sparsity and savings"]) + \
        ([] if refs else [f"no paper reference for task {task!r}" if task else "no task: no paper reference"])
    if notes:
        st.note(ax2, "\n".join(notes), loc="lower right")


# -- hardware energy (eventsim cost) -------------------------------------------------

def energy_figure(rows: Sequence[Mapping], model: str, *, title: str | None = None):
    """Energy per step of ``model`` on each hardware profile, against the dense GRU/LSTM.

    rows: the rows of ``eventsim cost`` (``<results>/cost.json`` ``rows``: model,
    workload, profile, executed_as, energy_per_step_pj, ...). For each profile, one
    bar per workload (the model as executed, and the dense GRU and LSTM baselines of
    the same shapes); the factor GRU / model is written above the model's bar. Log
    axis (energies span orders of magnitude across profiles).
    """
    sel = [r for r in rows if r.get("model") == model and _num(r.get("energy_per_step_pj")) is not None]
    if not sel:
        raise EventsimError(f"no hardware cost rows for model {model!r}; run 'eventsim cost RESULTS_DIR' first")
    profiles = list(dict.fromkeys(r["profile"] for r in sel))
    workloads = list(dict.fromkeys(r["workload"] for r in sel))
    val = {(r["profile"], r["workload"]): (float(r["energy_per_step_pj"]), r.get("executed_as", "")) for r in sel}
    with st.style():
        fig = st.new_figure(max(6.0, 1.5 * len(profiles) + 2), 3.8)
        ax = fig.add_subplot(1, 1, 1)
        w = 0.8 / len(workloads)
        x = np.arange(len(profiles))
        for i, wl in enumerate(workloads):
            ys = [val.get((p, wl), (np.nan, ""))[0] for p in profiles]
            color = st.KIND_COLORS.get(wl, st.layer_color(i))
            ax.bar(x + (i - (len(workloads) - 1) / 2) * w, ys, width=w, color=color,
                   label=wl.upper() + (" (this model)" if wl == model or wl == "egru" else " (dense)"))
        me = "egru" if "egru" in workloads else workloads[0]
        k = workloads.index(me)
        for j, p in enumerate(profiles):
            e = val.get((p, me), (np.nan, ""))
            g = val.get((p, "gru"), (np.nan, ""))[0]
            if np.isfinite(e[0]) and e[0] > 0:
                txt = f"{g / e[0]:.1f}x" if np.isfinite(g) and me != "gru" else ""
                ax.text(x[j] + (k - (len(workloads) - 1) / 2) * w, e[0] * 1.15, f"{txt}\n{e[1]}".strip(),
                        ha="center", va="bottom", fontsize=7, color=st.KIND_COLORS.get(me, "k"))
        ax.set_yscale("log")
        st.log_axis(ax.yaxis, minor_labels=False)
        lo = np.nanmin([v[0] for v in val.values() if v[0] > 0] or [1.0])
        hi = np.nanmax([v[0] for v in val.values()] or [1.0])
        ax.set_ylim(lo / 3, hi * 8)
        ax.set_xticks(x)
        ax.set_xticklabels(profiles)
        ax.set_ylabel("energy per step (pJ, log)")
        ax.grid(True, axis="y")
        ax.legend(loc="upper right", ncol=len(workloads))
        ax.set_title(title or f"{model}: energy per step by hardware profile (label: GRU / {me.upper()}, "
                              "execution mode)")
    return fig
