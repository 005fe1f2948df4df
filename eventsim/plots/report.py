"""The study report: one self-contained HTML page and its Markdown twin.

:func:`write_report` reads a study's results folder (layout in
``docs/architecture.md``) and writes

- ``report.html``: summary table, every figure embedded as a base64 PNG (no
  external file, no script, no web font: it can be mailed as one file), the
  scenario text, the hardware cost table of ``eventsim cost`` when present
  (``<results>/cost.json`` or ``<model>/cost.json``) and the software versions;
- ``report.md`` beside it, the same content with the figures as PNG files in
  ``report_files/`` (so it renders on GitHub).

Figures, in order: the trade-off of all models (metric vs effective MACs), the
sparsity over training epochs (activity and backward), then for each model with
the files: MAC bars (``counts.json``), the event raster of the first recorded
sample, activity sparsity over its steps and the per-unit event-rate histogram
(``raster.npz``). A missing optional file only drops its figures; a missing or
malformed ``summary.json`` is an error.
"""
from __future__ import annotations

import base64
import html
import importlib.metadata
import json
import logging
import os
import platform
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..errors import EventsimError
from ..outputs import atomic_write, write_text
from ..study.tables import delta_lines, silent_units_text, spread_text, uncertainty_lines
from . import style as st

log = logging.getLogger(__name__)


@dataclass
class RenderedFigure:
    """One rendered figure of the report: slug (file name), caption and PNG bytes."""

    slug: str
    caption: str
    png: bytes


def software_versions() -> dict:
    """Versions of python, numpy, numba, matplotlib and eventsim in this environment."""
    from .. import __version__

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "numba", "matplotlib"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    out["eventsim"] = __version__
    return out


def _load_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise EventsimError(f"{what} {path!r} is not valid JSON ({e}); re-run the study or fix the file") from None


def _read_text(path) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _fmt(v, kind=""):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "×".join(str(x) for x in v) if kind == "units" else ", ".join(str(x) for x in v)
    if isinstance(v, (int, np.integer)):
        return f"{v:,}"
    if isinstance(v, (float, np.floating)):
        if kind == "pct":
            return f"{100 * v:.1f}%"
        if kind == "x":
            return f"{v:.2f}x"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


SUMMARY_COLUMNS = (
    ("model", None, ""), ("kind", "kind", ""), ("units", "units", "units"), ("metric", "metric", ""),
    ("activity sparsity", "activity_sparsity", "pct"), ("silent units", "silent_units", "silent"),
    ("backward sparsity", "backward_sparsity", "pct"),
    ("effective MACs/step", "effective_macs_per_step", ""), ("dense MACs/step", "dense_macs_per_step", ""),
    ("savings vs GRU", "savings_vs_gru", "x"), ("savings vs LSTM", "savings_vs_lstm", "x"),
    ("engine check", "engine_check", "check"),
)


def summary_table(summary: Mapping) -> tuple:
    """(header, rows) of the summary table, values formatted as text."""
    metric = summary.get("metric") or "metric"
    header = [c[0] if c[1] != "metric" else metric for c in SUMMARY_COLUMNS]
    rows = []
    for name, m in summary["models"].items():
        row = []
        for label, key, kind in SUMMARY_COLUMNS:
            if key is None:
                row.append(str(name))
            elif kind == "check":  # the study's event engine vs trainer agreement (EGRU only)
                chk = m.get(key)
                row.append("–" if not isinstance(chk, Mapping) else ("ok" if chk.get("ok") else "MISMATCH"))
            elif kind == "silent":  # units without any event on the test split (EGRU only)
                row.append(silent_units_text(m.get(key), missing="–"))
            elif (m.get("seeds") or {}).get(key) and kind in ("", "pct", "x"):   # over seeds: mean ± sd
                how = "metric" if key == "metric" else {"pct": "pct", "x": "ratio"}.get(kind, "int")
                row.append(spread_text(m, key, how, metric, missing="–"))
            elif key == "metric" and metric == "accuracy" and isinstance(m.get(key), (int, float)) \
                    and 0 <= m[key] <= 1:
                row.append(f"{100 * m[key]:.2f}%")
            else:
                row.append(_fmt(m.get(key), kind))
        rows.append(row)
    return header, rows


COST_COLUMNS = (("model", "model"), ("workload", "workload"), ("profile", "profile"), ("executed as", "executed_as"),
                ("compute", "compute_pj"), ("memory", "memory_pj"), ("communication", "communication_pj"),
                ("static", "static_pj"), ("total", "energy_pj"), ("per step", "energy_per_step_pj"))


def _energy(pj) -> str:
    try:
        from ..hardware.energy import format_energy
    except ImportError:  # pragma: no cover - the hardware package ships with eventsim
        return f"{float(pj):.3g} pJ"
    return format_energy(float(pj))


def cost_rows(results_dir, model_names) -> list:
    """Rows of the hardware cost table of ``eventsim cost`` (issue 5) for a results folder.

    ``<results>/cost.json`` (format ``eventsim-cost-table/1``: ``rows``) when present,
    else rows built from each ``<model>/cost.json`` (``estimates``). Empty when neither exists.
    """
    root = os.path.join(results_dir, "cost.json")
    if os.path.isfile(root):
        t = _load_json(root, "hardware cost table")
        if isinstance(t, Mapping) and isinstance(t.get("rows"), list):
            return [r for r in t["rows"] if isinstance(r, Mapping)]
    rows = []
    for name in model_names:
        p = os.path.join(results_dir, name, "cost.json")
        if not os.path.isfile(p):
            continue
        d = _load_json(p, "hardware cost file")
        for e in (d.get("estimates") or []) if isinstance(d, Mapping) else []:
            tot = e.get("total", {})
            rows.append({"model": name, "workload": e.get("workload"), "profile": e.get("profile"),
                         "executed_as": e.get("executed_as"),
                         **{k: tot.get(k) for k in ("compute_pj", "memory_pj", "communication_pj", "static_pj",
                                                    "energy_pj", "energy_per_step_pj", "macs")}})
    return rows


def cost_table(rows) -> tuple:
    """(header, rows) of the hardware cost table, energies in human units."""
    out = []
    for r in rows:
        out.append([_energy(r[k]) if k.endswith("_pj") and isinstance(r.get(k), (int, float))
                    else _fmt(r.get(k)) for _, k in COST_COLUMNS])
    return [c[0] for c in COST_COLUMNS], out


def _render(fig, dpi=None) -> bytes:
    return st.png_bytes(fig, dpi=dpi)


def model_files_dir(results_dir, summary: Mapping) -> tuple:
    """(folder holding the models' files, note for captions): the study's folder, or for a
    study over several seeds the first seed's folder (``seed_dirs``), whose figures stand
    for every seed's."""
    dirs = summary.get("seed_dirs")
    if isinstance(dirs, Mapping) and dirs:
        seed, sub = next(iter(dirs.items()))
        return os.path.join(results_dir, str(sub)), f" (seed {seed})"
    return results_dir, ""


def build_figures(results_dir, summary: Mapping, progress: bool = False, dpi: int | None = None) -> list:
    """Render every figure the folder's files allow; returns a list of :class:`RenderedFigure`."""
    from .raster import raster_figure, raster_from_npz
    from .savings import energy_figure, macs_figure, rows_from_folder, tradeoff_figure
    from .sparsity import events_per_step, rate_histogram_figure, sparsity_epochs_figure, sparsity_steps_figure

    jobs = []  # (slug, caption, callable)
    models = summary["models"]
    # every seed's models, with the DeltaGRUs' Θ sweeps
    rows = rows_from_folder(results_dir, summary, "summary.json")
    results_dir, seed_note = model_files_dir(results_dir, summary)
    if any(r.get("metric") is not None and r.get("effective_macs_per_step") is not None for r in rows):
        ok = [r for r in rows if r.get("metric") is not None and r.get("effective_macs_per_step") is not None]
        jobs.append(("tradeoff", "Task metric against effective MACs per step (left; a DeltaGRU's Θ sweep on "
                     "the test split as a line, the GRU's metric dotted); MAC savings against "
                     "a dense GRU versus activity sparsity, with the EGRU paper's reference figures "
                     "when the task matches (right).", lambda ok=ok: tradeoff_figure(ok)))
    histories = {}
    for name in models:
        p = os.path.join(results_dir, name, "history.json")
        if os.path.isfile(p):
            h = _load_json(p, "training history")
            if isinstance(h, list) and any(isinstance(e, Mapping) and e.get("activity_sparsity") is not None
                                           for e in h):
                histories[name] = h
    if histories:
        jobs.append(("sparsity_epochs", "Activity sparsity (forward pass) and backward sparsity (BPTT, "
                     "units through which a gradient passes) per training epoch.",
                     lambda: sparsity_epochs_figure(histories)))
    for name, m in models.items():
        if str(m.get("kind", "egru")).lower() != "egru":
            continue  # dense GRU/LSTM: every unit active, effective = dense; the table says it all
        mdir = os.path.join(results_dir, name)
        cp = os.path.join(mdir, "counts.json")
        if os.path.isfile(cp):
            counts = _load_json(cp, "counts file")
            jobs.append((f"{name}_macs", f"{name}{seed_note}: synaptic MACs per step per layer (dense, weight-sparse, "
                         "activity-sparse, effective) and the total against dense GRU/LSTM baselines.",
                         lambda c=counts, n=name, p=cp: macs_figure(c, title=f"{n}: effective vs dense MACs",
                                                                    where=p)))
        rp = os.path.join(mdir, "raster.npz")
        if os.path.isfile(rp):
            layers, inputs = raster_from_npz(rp)
            jobs.append((f"{name}_raster", f"{name}{seed_note}: events of every layer for test sample 0 (colour: event "
                         "value; white: no event), input above, fraction of active units below.",
                         lambda l=layers, i=inputs, n=name: raster_figure(l, i, sample=0,
                                                                          title=f"{n}: event raster (sample 0)")))
            ev, units, ns = events_per_step(layers)
            jobs.append((f"{name}_sparsity_steps", f"{name}{seed_note}: activity sparsity per layer at each step "
                         f"(over the {ns} recorded test samples).",
                         lambda e=ev, u=units, s=ns, n=name: sparsity_steps_figure(
                             e, u, s, title=f"{n}: activity sparsity over time steps")))
            jobs.append((f"{name}_rates", f"{name}{seed_note}: per-unit event rates over the {ns} recorded test "
                         "samples; "
                         "dead (never firing) and saturated units in their own colours.",
                         lambda l=layers, n=name: rate_histogram_figure(l, title=f"{n}: per-unit event rates")))
    crows = cost_rows(results_dir, list(models))
    for name, m in models.items():
        if str(m.get("kind", "egru")).lower() == "egru" and any(r.get("model") == name for r in crows):
            jobs.append((f"{name}_energy", f"{name}{seed_note}: estimated energy per step on each hardware profile "
                         "('eventsim cost', docs/hardware.md), as executed (event-driven or clocked) and for the "
                         "dense GRU/LSTM of the same shapes.",
                         lambda n=name: energy_figure(crows, n)))
    if progress:
        from tqdm import tqdm
        it = tqdm(jobs, desc="report figures", unit="fig")
    else:
        it = jobs
    figs = []
    for slug, caption, make in it:
        figs.append(RenderedFigure(_safe(slug), caption, _render(make(), dpi)))
    return figs


def _safe(slug: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in slug)


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:0.2em;
margin-top:1.8em}
table{border-collapse:collapse;font-size:0.9em;margin:0.8em 0}th,td{border:1px solid #ccc;padding:0.3em 0.6em;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:0.88em;color:#555}
pre{background:#f7f7f7;padding:0.8em;overflow-x:auto;font-size:0.85em}.muted{color:#666;font-size:0.9em}
"""


def _html_table(header, rows, cls="summary") -> str:
    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


def _md_table(header, rows) -> str:
    def esc(c):
        return str(c).replace("|", "\\|")
    lines = ["| " + " | ".join(esc(c) for c in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_report(results_dir, out=None, progress: bool = False, dpi: int | None = None) -> str:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``report_files/``) for a study.

    results_dir: a study's results folder (with ``summary.json``); out: path of the
    HTML page (default ``<results_dir>/report.html``); the Markdown twin goes beside
    it with the same stem. dpi: resolution of the figures (default 150).
    Returns the HTML path.
    """
    results_dir = os.fspath(results_dir)
    summary = _load_summary(results_dir)
    out = os.fspath(out) if out is not None else os.path.join(results_dir, "report.html")
    if not out.lower().endswith((".html", ".htm")):
        raise EventsimError(f"report path {out!r} must end in .html (the Markdown twin is written beside it)")
    stem = os.path.splitext(out)[0]
    md_path = stem + ".md"
    fig_dir = stem + "_files"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)

    figs = build_figures(results_dir, summary, progress=progress, dpi=dpi)
    content = _report_content(results_dir, summary)
    # every file atomically (eventsim.outputs): a failure leaves the previous file whole; the
    # figures first, so the pages never point at a missing one
    for f in figs:
        with atomic_write(os.path.join(fig_dir, f.slug + ".png"), "wb") as fh:
            fh.write(f.png)
    write_text(md_path, _report_markdown(content, figs, os.path.basename(fig_dir)))
    write_text(out, _report_html(content, figs))
    log.info("wrote %s and %s (%d figures)", out, md_path, len(figs))
    return out


def _load_summary(results_dir: str) -> Mapping:
    """The folder's ``summary.json``, refused unless it holds at least one model object."""
    if not os.path.isdir(results_dir):
        raise EventsimError(f"results folder {results_dir!r} does not exist; run 'eventsim study' first "
                            "or give the folder it wrote")
    sp = os.path.join(results_dir, "summary.json")
    if not os.path.isfile(sp):
        raise EventsimError(f"{results_dir!r} has no summary.json; is it a study results folder "
                            "(see docs/architecture.md)?")
    summary = _load_json(sp, "study summary")
    if not isinstance(summary, Mapping) or not isinstance(summary.get("models"), Mapping) \
            or not summary["models"]:
        raise EventsimError(f"{sp!r} has no 'models' object with at least one model; re-run the study")
    bad = [n for n, m in summary["models"].items() if not isinstance(m, Mapping)]
    if bad:
        raise EventsimError(f"{sp!r}: model entry {bad[0]!r} is not an object; re-run the study")
    return summary


def _report_content(results_dir: str, summary: Mapping) -> dict:
    """Everything the two report pages show besides the figures, as text and tables."""
    header, rows = summary_table(summary)
    scen_path = os.path.join(results_dir, "scenario.toml")
    crows = cost_rows(model_files_dir(results_dir, summary)[0], list(summary["models"]))
    here = software_versions()
    study_versions = summary.get("versions") if isinstance(summary.get("versions"), Mapping) else {}
    vkeys = list(dict.fromkeys(list(here) + list(study_versions)))
    sub = (f"data set {summary.get('dataset', '?')} ({summary.get('task', '?')}), metric "
           f"{summary.get('metric', '?')}, {len(summary['models'])} model(s)")
    if summary.get("test_samples") and summary.get("steps"):
        sub += f"; test split {summary['test_samples']} samples x {summary['steps']} steps"
    if summary.get("seeds"):
        sub += f"; over the seeds {', '.join(map(str, summary['seeds']))} (mean ± sample sd)"
    return {
        "title": f"eventsim study: {summary.get('scenario', os.path.basename(os.path.abspath(results_dir)))}",
        "sub": sub, "desc": str(summary.get("description") or ""), "table": (header, rows),
        # metric intervals and the paired test, if recorded; how a converted DeltaGRU's Θ was picked
        "uncertainty": uncertainty_lines(summary) + delta_lines(summary),
        "scenario": _read_text(scen_path) if os.path.isfile(scen_path) else None,
        "costs": cost_table(crows) if crows else None,
        "versions": (["package", "study run with", "report made with"],
                     [[k, str(study_versions.get(k, "–")), str(here.get(k, "–"))] for k in vkeys]),
    }


_MACS_NOTE = ("MACs are synaptic multiply-accumulates per step on the test split (SPEC §2); "
              "savings = dense baseline MACs / effective MACs.")
_COST_NOTE = ("Estimated energy of the test run on each hardware profile ('eventsim cost'; formulas in "
              "docs/hardware.md).")


def _report_html(c: dict, figs: list) -> str:
    """The self-contained HTML page (figures embedded as base64 PNG)."""
    title, costs, scenario_text = c["title"], c["costs"], c["scenario"]
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p>{html.escape(c['desc'])}</p>"
             f"<p class=\"muted\">{html.escape(c['sub'])}</p>",
             "<p class=\"muted\">" + " · ".join(
                 f"<a href=\"#{a}\">{t}</a>" for a, t in
                 (("summary", "summary"), ("figures", "figures"), ("hardware", "hardware cost"),
                  ("scenario", "scenario"), ("versions", "versions")) if a != "hardware" or costs) + "</p>",
             "<h2 id=\"summary\">Summary</h2>", _html_table(*c["table"]),
             f"<p class=\"muted\">{_MACS_NOTE}</p>"]
    parts += [f"<p>{html.escape(line)}</p>" for line in c["uncertainty"]]
    parts += ["<h2 id=\"figures\">Figures</h2>"]
    for f in figs:
        b64 = base64.b64encode(f.png).decode("ascii")
        parts.append(f"<figure id=\"fig-{f.slug}\"><img alt=\"{html.escape(f.slug)}\" "
                     f"src=\"data:image/png;base64,{b64}\"><figcaption>{html.escape(f.caption)}</figcaption></figure>")
    if costs:
        parts.append(f"<h2 id=\"hardware\">Hardware cost</h2><p class=\"muted\">{_COST_NOTE}</p>"
                     + _html_table(*costs, "cost"))
    parts.append("<h2 id=\"scenario\">Scenario</h2>")
    parts.append(f"<pre>{html.escape(scenario_text)}</pre>" if scenario_text is not None
                 else "<p class=\"muted\">scenario.toml not found in the results folder.</p>")
    parts.append("<h2 id=\"versions\">Software versions</h2>" + _html_table(*c["versions"], "versions"))
    parts.append("</body></html>")
    return "\n".join(parts)


def _report_markdown(c: dict, figs: list, rel: str) -> str:
    """The Markdown twin; the figures are the PNG files in the folder ``rel`` beside it."""
    md = [f"# {c['title']}", "", c["desc"], "", c["sub"], "", "## Summary", "", _md_table(*c["table"]), "",
          _MACS_NOTE, ""]
    md += [x for line in c["uncertainty"] for x in (line, "")]
    md += ["## Figures", ""]
    for f in figs:
        md += [f"![{f.slug}]({rel}/{f.slug}.png)", "", f"*{f.caption}*", ""]
    if c["costs"]:
        md += ["## Hardware cost", "", _COST_NOTE, "", _md_table(*c["costs"]), ""]
    md += ["## Scenario", ""]
    md += (["```toml", c["scenario"].rstrip("\n"), "```", ""] if c["scenario"] is not None
           else ["scenario.toml not found in the results folder.", ""])
    md += ["## Software versions", "", _md_table(*c["versions"]), ""]
    return "\n".join(md)
