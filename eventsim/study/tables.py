"""The study summary as text: the aligned table ``eventsim study`` prints, its Markdown
(``summary.md``) and CSV (``summary.csv``) forms, and the sentences on the sampling error
of the test metrics (intervals and the paired test against the same-size GRU).

Every function reads a summary dict (``summary.json``); nothing here computes a figure
anew except the Wilson interval of an older summary's accuracy.
"""
from __future__ import annotations

import csv
import io

from .._fmt import (TABLE_WIDTH, format_fraction_sparsity, format_int, format_metric, format_ratio,
                    text_table)
from ..stats import wilson_interval


COLUMNS = ("model", "kind", "units", "metric", "activity sparsity", "silent units", "backward sparsity",
           "effective MACs/step", "dense MACs/step", "vs GRU", "vs LSTM", "engine check")


def spread_text(v: dict, key: str, how: str, metric: str = "accuracy", missing: str = "-") -> str:
    """A figure of a model over several seeds as "mean ± sd": ``how`` is "metric" (with the
    min–max range: "95.19 ± 0.68% (94.44–95.56)", "2.8152 ± 0.0123 (2.8031–2.8301)"),
    "pct" ("81.9 ± 0.3%"), "int" ("9,292 ± 152") or "ratio" ("5.47 ± 0.09x"); the one-seed
    format when there is no spread."""
    sp = (v.get("seeds") or {}).get(key)
    if not sp or not sp.get("sd"):     # one seed, or the same value on every seed
        one = {"metric": lambda x, missing: format_metric(x, metric, missing), "pct": format_fraction_sparsity,
               "int": format_int, "ratio": format_ratio}[how]
        return one(v.get(key), missing=missing)
    m, sd = sp["mean"], sp["sd"]
    if how == "metric":
        if metric == "accuracy":
            return f"{100 * m:.2f} ± {100 * sd:.2f}% ({100 * sp['min']:.2f}–{100 * sp['max']:.2f})"
        return f"{m:.4f} ± {sd:.4f} ({sp['min']:.4f}–{sp['max']:.4f})"
    if how == "pct":
        return f"{100 * m:.1f} ± {100 * sd:.1f}%"
    if how == "int":
        return f"{round(m):,} ± {round(sd):,}"
    return f"{m:.2f} ± {sd:.2f}x"


def _rows(summary: dict) -> list:
    """The table cells of every model, numbers formatted by the rule of :mod:`eventsim._fmt`;
    a study over several seeds shows each figure as mean ± sd (:func:`spread_text`)."""
    rows = []
    metric = summary["metric"]
    for name, v in summary["models"].items():
        ec = v.get("engine_check")
        rows.append((name, v["kind"], "x".join(str(u) for u in v["units"]),
                     spread_text(v, "metric", "metric", metric),
                     spread_text(v, "activity_sparsity", "pct"),
                     silent_units_text(v.get("silent_units")),
                     spread_text(v, "backward_sparsity", "pct"),
                     spread_text(v, "effective_macs_per_step", "int"), spread_text(v, "dense_macs_per_step", "int"),
                     spread_text(v, "savings_vs_gru", "ratio"), spread_text(v, "savings_vs_lstm", "ratio"),
                     "-" if ec is None else ("ok" if ec["ok"] else "MISMATCH")))
    return rows


def silent_units_text(silent, missing: str = "-") -> str:
    """"silent/units" of a model's ``silent_units`` entry, with "*" when the per-unit events
    disagree with the engine's layer totals; ``missing`` for models without one."""
    if not isinstance(silent, dict):
        return missing
    return f"{silent['silent']}/{silent['units']}" + ("" if silent.get("event_totals_match_engine", True) else "*")


#: Columns of the printed table kept side by side when the table must be split to fit
#: (indexes into COLUMNS; the model name is repeated in front of each block).
_GROUPS = ((1, 2, 3), (4, 5, 6), (7, 8, 9, 10), (11,))


def summary_table(summary: dict, width: int = TABLE_WIDTH) -> str:
    """The summary as an aligned text table of at most ``width`` columns: one line per model,
    or, when the columns do not fit side by side, two blocks (metric and sparsity, then
    MACs and the engine check), each headed by the model names. Every column of
    ``summary.md`` / ``summary.csv`` is there."""
    head = list(COLUMNS)
    head[3] = summary["metric"]
    return text_table(head, _rows(summary), right=range(3, len(head)), key=1, groups=_GROUPS, width=width)


def _samples(k: int) -> str:
    return f"{k} sample" + ("" if k == 1 else "s")


def uncertainty_lines(summary: dict) -> list:
    """Sentences on the sampling error of a study's test metrics (:mod:`eventsim.stats`).

    Classification: each model's 95% Wilson interval and, against the same-size GRU,
    McNemar's exact paired test. A summary written before the intervals were recorded gets
    them from its accuracy and test size (accuracy = k/n exactly); the paired test needs the
    per-sample predictions, so only newer summaries have it. Language modelling: each
    model's 95% t interval over the test sequences and, against the same-size GRU, the
    paired t-test (difference and ratio with their intervals); only summaries that recorded
    them (they need the per-sequence losses)."""
    if summary.get("seeds"):
        return _seeds_uncertainty(summary)
    if summary.get("metric") == "accuracy":
        return _accuracy_uncertainty(summary)
    models = summary["models"]
    ci = {n: v["metric_ci95"] for n, v in models.items() if v.get("metric_ci95")}
    if not ci:
        return []
    unit = summary["metric"]
    out = [f"{unit}, 95% t interval over the {summary['test_samples']} test sequences: "
           + "; ".join(f"{n} {models[n]['metric']:.4f} ({lo:.4f} to {hi:.4f})" for n, (lo, hi) in ci.items())
           + "."]
    pairs = [(n, v["vs_gru_model"]) for n, v in models.items()
             if (v.get("vs_gru_model") or {}).get("paired")]
    if pairs:
        def one(n, c):
            p = c["paired"]
            diff = ("" if p.get("difference") is None else
                    f"{p['difference']:+.4f} {unit} ({p['difference_ci95'][0]:+.4f} to "
                    f"{p['difference_ci95'][1]:+.4f}), ")
            return (f"{n} {diff}ratio {p['ratio']:.4f} ({p['ratio_ci95'][0]:.4f} to {p['ratio_ci95'][1]:.4f}), "
                    f"p = {p['p_value']:.2g}")
        out.append("Against the GRU of the same size, on the same test sequences (paired t-test): "
                   + "; ".join(one(n, c) for n, c in pairs) + ".")
    return out


def _seeds_uncertainty(summary: dict) -> list:
    """A several-seed study: each model's metric over the seeds (mean, sample sd, min–max,
    95% t interval of the mean) and, against the same-size GRU, each seed's paired test."""
    models, metric, seeds = summary["models"], summary["metric"], summary["seeds"]
    acc = metric == "accuracy"
    val = (lambda x: f"{100 * x:.2f}%") if acc else (lambda x: f"{x:.4f}")
    parts = []
    for n, v in models.items():
        sp = (v.get("seeds") or {}).get("metric")
        if sp:
            ci = f", 95% t interval of the mean {val(sp['ci95'][0])} to {val(sp['ci95'][1])}" if sp["ci95"] else ""
            parts.append(f"{n} {val(sp['mean'])} ± {val(sp['sd']) if sp['sd'] is not None else '-'} "
                         f"(min {val(sp['min'])}, max {val(sp['max'])}{ci})")
    out = [f"{metric.capitalize() if acc else metric}, mean ± sample sd over the {len(seeds)} seeds "
           f"{', '.join(map(str, seeds))} (each on the same {summary['test_samples']} test "
           f"{'samples' if acc else 'sequences'}): " + "; ".join(parts) + "."] if parts else []

    def one(seed, p):
        d = p["metric_difference"]
        diff = f"{d * 100:+.1f} points" if acc else f"{d:+.4f} {metric}"
        if p.get("test") == "mcnemar_exact":
            return f"seed {seed} {diff} ({p['only_first']} vs {p['only_second']}, p = {p['p_value']:.2g})"
        return f"seed {seed} {diff} (p = {p['p_value']:.2g})"
    tests = []
    for n, v in models.items():
        per = (v.get("vs_gru_model") or {}).get("paired_per_seed") or {}
        runs = [one(s, p) for s, p in per.items() if p]
        if runs:
            tests.append(f"{n}: " + ", ".join(runs))
    if tests:
        how = ("exact McNemar test; right only for the model vs only for the GRU" if acc
               else "paired t-test over the test sequences")
        out.append(f"Against the GRU of the same size, per seed ({how}): " + "; ".join(tests) + ".")
    return out


def _accuracy_uncertainty(summary: dict) -> list:
    models = summary["models"]
    n = summary.get("test_samples")
    ci = {}
    for name, v in models.items():
        if v.get("metric_ci95"):
            ci[name] = v["metric_ci95"]
        elif isinstance(n, int) and n > 0 and isinstance(v.get("metric"), (int, float)) and 0 <= v["metric"] <= 1:
            ci[name] = wilson_interval(int(round(v["metric"] * n)), n)
    if not ci:
        return []
    out = [f"Accuracy, 95% Wilson interval over the {summary['test_samples']} test samples: "
           + "; ".join(f"{n} {models[n]['metric']:.2%} ({lo:.1%} to {hi:.1%})" for n, (lo, hi) in ci.items())
           + "."]
    pairs = [(n, v["vs_gru_model"]) for n, v in models.items()
             if (v.get("vs_gru_model") or {}).get("paired")]
    if pairs:
        out.append("Against the GRU of the same size, on the same test samples (exact McNemar test): "
                   + "; ".join(f"{n} {c['metric_difference'] * 100:+.1f} points: "
                               f"{_samples(c['paired']['only_first'])} right only for {n}, "
                               f"{c['paired']['only_second']} only for {c['gru']}, "
                               f"p = {c['paired']['p_value']:.2g}" for n, c in pairs)
                   + ".")
    return out


def _metric_text(value, metric: str) -> str:
    return f"{value:.2%}" if metric == "accuracy" else f"{value:.4f}"


def _tolerance_text(tol: float, metric: str) -> str:
    if metric == "accuracy":
        return f"{tol * 100:g} point" + ("" if tol * 100 == 1 else "s")
    return f"{tol:g} {metric}"


def delta_lines(summary: dict) -> list:
    """One sentence per DeltaGRU converted from a GRU of the study: its Θ and how it was
    picked on the validation split (the ``source`` of its summary entry)."""
    out = []
    metric = summary.get("metric", "accuracy")
    for name, v in summary["models"].items():
        src = v.get("source") or {}
        per = {s: p for s, p in (src.get("per_seed") or {}).items() if (p or {}).get("from")}
        if per:
            first = next(iter(per.values()))
            out.append(f"{name} is the trained GRU {first['from']!r} of each seed converted to a DeltaGRU "
                       f"(SPEC §5) at the largest Θ (Θx = Θh) whose validation {metric} is within "
                       f"{_tolerance_text(first['tolerance'], metric)} of that GRU's: "
                       + ", ".join(f"seed {s} Θ = {p['theta_x']:g}" for s, p in per.items())
                       + f" (Θ sweeps: seed<k>/{name}/delta_sweep.json).")
            continue
        if not src.get("from"):
            continue
        theta = (f"Θx = Θh = {src['theta_x']:g}" if src["theta_x"] == src["theta_h"]
                 else f"Θx = {src['theta_x']:g}, Θh = {src['theta_h']:g}")
        out.append(f"{name} is the trained GRU {src['from']!r} converted to a DeltaGRU (SPEC §5) at {theta}, "
                   f"the largest Θ whose validation {metric} "
                   f"({_metric_text(src['validation_metric'], metric)}) is within "
                   f"{_tolerance_text(src['tolerance'], metric)} of the GRU's "
                   f"({_metric_text(src['gru_validation_metric'], metric)}); measured on the test split "
                   f"like the other rows (Θ sweep: {name}/delta_sweep.json).")
    return out


def summary_markdown(summary: dict) -> str:
    head = list(COLUMNS)
    head[3] = summary["metric"]
    seeds = summary.get("seeds")
    over = (f"Over {len(seeds)} seeds ({', '.join(map(str, seeds))}; each seed's results in seed<k>/): "
            f"every figure is the mean ± sample standard deviation, the metric with its min–max range; "
            f"'silent units' is the seed with the most. " if seeds else "")
    out = [f"# Study {summary['scenario']}", "", summary.get("description", ""), "",
           over + f"Test split: {summary['test_samples']} samples x {summary['steps']} steps. "
           f"MACs per step are per sample and step, readout included; 'vs GRU/LSTM' is the dense "
           f"GRU/LSTM of the same layer sizes divided by the model's effective MACs; 'silent units' "
           f"are units that emit no event on the test split.", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in _rows(summary)]
    extra = uncertainty_lines(summary) + delta_lines(summary)
    if extra:
        out += [""] + extra
    return "\n".join(out) + "\n"


def summary_csv(summary: dict) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf)
    keys = ("kind", "units", "metric", "metric_ci95_low", "metric_ci95_high", "trainer_metric",
            "activity_sparsity", "silent_units",
            "live_unit_activity_sparsity", "backward_sparsity",
            "effective_macs_per_step", "dense_macs_per_step", "savings_vs_gru", "savings_vs_lstm",
            "weight_density", "train_seconds")
    spread_keys = ("metric", "activity_sparsity", "effective_macs_per_step", "savings_vs_gru")
    several = bool(summary.get("seeds"))
    extra = tuple(f"{k}_{s}" for k in spread_keys for s in ("sd", "min", "max")) + ("seeds",) if several else ()
    wr.writerow(("model",) + keys + ("engine_ok",) + extra)
    for name, v in summary["models"].items():
        sil = v.get("silent_units") or {}
        ci = v.get("metric_ci95") or (None, None)
        vals = dict(v, silent_units=sil.get("silent"),
                    live_unit_activity_sparsity=sil.get("live_unit_activity_sparsity"),
                    metric_ci95_low=ci[0], metric_ci95_high=ci[1])
        row = [name] + ["x".join(map(str, vals[k])) if k == "units" else ("" if vals[k] is None else vals[k])
                        for k in keys]
        ec = v.get("engine_check")
        more = []
        if several:
            for k in spread_keys:
                sp = (v.get("seeds") or {}).get(k) or {}
                more += ["" if sp.get(x) is None else sp[x] for x in ("sd", "min", "max")]
            more.append(" ".join(map(str, summary["seeds"])))
        wr.writerow(row + ["" if ec is None else ec["ok"]] + more)
    return buf.getvalue()
