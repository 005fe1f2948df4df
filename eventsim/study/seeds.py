"""A study over several seeds (``eventsim study --seeds 0,1,2``, or ``[train] seeds``).

Each seed is a whole one-seed study of the scenario with ``train.seed`` set to it, in its
own folder ``<out>/seed<k>/`` (the layout of docs/architecture.md: it resumes from its own
checkpoints, and a finished seed only re-evaluates). :func:`aggregate` then writes the
study's ``summary.json`` / ``.md`` / ``.csv`` in ``<out>/``: per model the mean of every
figure over the seeds, and under ``seeds`` each figure's spread (sample standard deviation,
min, max, 95% t interval of the mean, the values in seed order); against the same-size GRU
the paired test of each seed (McNemar's exact test, or the paired t-test of a language
model) on that seed's test samples. Layout: docs/scenarios.md.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

from ..errors import EventsimError
from ..stats import mean_interval

#: figures of a model's summary entry that are averaged over seeds (each also gets a spread)
FIGURES = ("metric", "trainer_metric", "activity_sparsity", "backward_sparsity", "effective_macs_per_step",
           "dense_macs_per_step", "savings_vs_gru", "savings_vs_lstm", "weight_density", "train_seconds")


def seed_dir(seed: int) -> str:
    """The folder of one seed inside a several-seed study's results folder."""
    return f"seed{seed}"


def parse_seeds(text: str) -> list:
    """``"0,1,2"`` -> ``[0, 1, 2]`` (distinct integers >= 0)."""
    try:
        seeds = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise EventsimError(f"--seeds {text!r} must be comma-separated integers >= 0, e.g. 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise EventsimError(f"--seeds {text!r} names a seed twice; give each seed once")
    return seeds


def seed_scenario(sc, seed: int):
    """The one-seed scenario of ``seed``: ``train.seed`` set to it, ``train.seeds`` left out."""
    from ..scenario import scenario_from_dict
    d = sc.to_dict()
    d["train"].pop("seeds", None)
    d["train"]["seed"] = int(seed)
    return scenario_from_dict(d, sc.path)


def spread(values) -> dict | None:
    """Mean, sample standard deviation (None for one value), min, max, 95% t interval of the
    mean (None for one value) and the values themselves; None when a value is missing."""
    if not values or any(v is None or not math.isfinite(v) for v in values):
        return None
    a = np.asarray(values, np.float64)
    many = a.size > 1
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if many else None,
            "min": float(a.min()), "max": float(a.max()),
            "ci95": [float(x) for x in mean_interval(a)] if many else None,
            "n": int(a.size), "values": [float(v) for v in a]}


def _engine_check(checks: list, seeds: list):
    """The first failing seed's engine check (with its seed), else the first seed's."""
    have = [(s, c) for s, c in zip(seeds, checks) if isinstance(c, dict)]
    if not have:
        return None
    bad = [(s, c) for s, c in have if not c.get("ok")]
    s, c = (bad or have)[0]
    return dict(c, seed=s, seeds_ok=sum(1 for _, c in have if c.get("ok")), seeds_checked=len(have))


def _vs_gru(per: list, seeds: list):
    """The comparison with the same-size GRU over seeds: the means, the spread of the
    difference, and each seed's paired test."""
    comps = [v.get("vs_gru_model") for v in per]
    if any(c is None for c in comps):
        return None
    diff = [c["metric_difference"] for c in comps]
    ratio = [c["metric_ratio"] for c in comps]
    frac = [c["effective_macs_fraction"] for c in comps]
    return {"gru": comps[0]["gru"], "metric_difference": float(np.mean(diff)),
            "metric_ratio": float(np.mean(ratio)) if None not in ratio else None,
            "effective_macs_fraction": float(np.mean(frac)),
            "metric_difference_spread": spread(diff),
            "paired": None,   # one test per seed, below: the seeds' test samples are the same samples
            "paired_per_seed": {str(s): dict(c.get("paired") or {}, metric_difference=c["metric_difference"])
                                if c.get("paired") else None for s, c in zip(seeds, comps)}}


def _model(per: list, seeds: list) -> dict:
    first = per[0]
    entry = {k: first[k] for k in ("kind", "units", "loss", "epochs") if k in first}
    for f in FIGURES:
        vals = [v.get(f) for v in per]
        entry[f] = None if any(x is None for x in vals) else float(np.mean(vals))
    entry["seeds"] = {f: spread([v.get(f) for v in per]) for f in FIGURES}
    sil = [v.get("silent_units") for v in per if isinstance(v.get("silent_units"), dict)]
    # the seed with the most silent units (the table's column: the worst case)
    entry["silent_units"] = dict(max(sil, key=lambda s: s["silent"]), most_over_seeds=True) if sil else None
    entry["engine_check"] = _engine_check([v.get("engine_check") for v in per], seeds)
    entry["metric_ci95"] = entry["seeds"]["metric"]["ci95"] if entry["seeds"]["metric"] else None
    entry["vs_gru_model"] = _vs_gru(per, seeds)
    entry["source"] = {"per_seed": {str(s): v.get("source") for s, v in zip(seeds, per)}}
    return entry


def aggregate(summaries: list, seeds: list, out: str, seconds: float) -> dict:
    """The several-seed summary of the one-seed ``summaries`` (in the order of ``seeds``)."""
    first = summaries[0]
    names = list(first["models"])
    models = {n: _model([s["models"][n] for s in summaries], seeds) for n in names}
    keep = ("scenario", "description", "task", "metric", "dataset", "test_samples", "steps", "versions")
    return dict({k: first.get(k) for k in keep}, results_dir=out, seconds=seconds, seeds=list(seeds),
                seed_dirs={str(s): seed_dir(s) for s in seeds}, models=models)


def run_seeds(sc, seeds: list, out: str, progress: bool, resume: bool, jobs: int) -> dict:
    """Run the one-seed study of every seed into ``<out>/seed<k>/`` and write the several-seed
    summary in ``out`` (every seed's settings and checkpoints are checked before any write)."""
    from ..outputs import write_text
    from ..scenario import scenario_from_dict
    from .run import check_resumes, run_study
    from .settings import load_data
    from .summary import write_summary
    t0 = time.perf_counter()
    scs = [seed_scenario(sc, s) for s in seeds]
    ds = load_data(sc)
    for s, one in zip(seeds, scs):
        check_resumes(one, ds, os.path.join(out, seed_dir(s)), resume)
    os.makedirs(out, exist_ok=True)
    ran = sc.to_dict()
    ran["train"]["seeds"] = list(seeds)    # the scenario as run: with its seeds, however given
    write_text(os.path.join(out, "scenario.toml"), scenario_from_dict(ran, sc.path).to_toml())
    summaries = []
    for s, one in zip(seeds, scs):
        if progress:
            from tqdm import tqdm
            tqdm.write(f"seed {s} ({len(summaries) + 1} of {len(seeds)}): {os.path.join(out, seed_dir(s))}")
        summaries.append(run_study(one, out_dir=os.path.join(out, seed_dir(s)), progress=progress,
                                   resume=resume, jobs=jobs))
    summary = aggregate(summaries, seeds, out, time.perf_counter() - t0)
    write_summary(out, summary)
    return summary
