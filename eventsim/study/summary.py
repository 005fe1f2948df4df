"""The study summary: one entry per model (metric, sparsity, MACs, silent units,
interval of the metric), the comparison of each model with the same-size GRU
(difference, ratio, paired test on the same test samples), and the files
``summary.json``, ``summary.md`` and ``summary.csv``.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from ..egru.counts import gru_baseline_per_step
from ..outputs import write_json, write_text
from ..stats import mean_interval, paired_comparison, paired_t, ratio_interval, wilson_interval
from .tables import summary_csv, summary_markdown

log = logging.getLogger(__name__)

#: per layer, the trainer's and the engine's event totals may differ by this fraction before a
#: warning: both compute in float32 with different exp/tanh (numpy's, the engine's vectorised
#: ones), so an event whose state is within rounding of its threshold can fall either way
EVENT_TOLERANCE = 1e-4


def silent_units(spec, unit_events: list, cd: dict) -> dict:
    """Units that emit no event on the test samples.

    A unit that never fires contributes to the activity sparsity like a unit that is not
    there. Per layer the silent units (from the trainer's forward pass, which gives each
    unit's events); the layers' event totals are checked against the event engine's
    counts (``event_totals_match_engine``: exactly; a warning only beyond
    :data:`EVENT_TOLERANCE`, ``event_totals_within_tolerance``). ``live_unit_activity_sparsity`` is 1 − events / (live units · samples · steps);
    ``live_dense_gru_macs_per_step`` is what a dense GRU of only the live units would
    cost per step (SPEC §2 dense GRU, layer k's inputs = layer k−1's live units, readout
    included): the smaller dense network to hold the EGRU's effective MACs against.
    """
    per_layer = [int((u == 0).sum()) for u in unit_events]
    alive = [len(u) - s for u, s in zip(unit_events, per_layer)]
    trainer = [int(u.sum()) for u in unit_events]
    engine = [int(layer["events"]) for layer in cd["layers"]]
    live = sum(alive)
    match = trainer == engine
    close = all(abs(a - b) <= EVENT_TOLERANCE * max(a, b, 1) for a, b in zip(trainer, engine))
    if not match:
        (log.info if close else log.warning)(
            "the trainer's per-layer event totals %s differ from the event engine's %s%s: the silent "
            "units are counted from the trainer's forward pass", trainer, engine,
            " (within float32 rounding: states within rounding of their thresholds)" if close else "")
    st = cd["samples"] * cd["steps"]
    ins = [spec.layer_inputs[0]] + alive[:-1]
    live_gru = sum(gru_baseline_per_step(m, n)[0] for m, n in zip(ins, alive)) + alive[-1] * spec.n_out
    return {"silent": sum(per_layer), "units": live + sum(per_layer), "per_layer": per_layer,
            "live_unit_activity_sparsity": (1.0 - sum(engine) / (live * st)) if live else None,
            "live_dense_gru_macs_per_step": live_gru,
            "event_totals_match_engine": match, "event_totals_within_tolerance": close}


def metric_interval(metric: str, scores) -> list:
    """95% interval of a test metric from its per-sample scores: the Wilson interval of an
    accuracy (``scores``: per-sample correctness), or for a language model the t interval
    of the mean cross-entropy per token over the test sequences (``scores``: each
    sequence's, all of one length), carried through the metric's monotone map (bpc = CE/ln 2,
    perplexity = exp CE). None without scores (or fewer than 2 sequences)."""
    if scores is None:
        return None
    if metric == "accuracy":
        return list(wilson_interval(int(np.sum(scores)), int(np.size(scores))))
    if np.size(scores) < 2:
        return None
    lo, hi = mean_interval(scores)
    return [_from_ce(metric, lo), _from_ce(metric, hi)]


def _from_ce(metric: str, ce: float) -> float:
    """The LM metric of a mean cross-entropy per token (the map of losses.metric_value)."""
    from ..train.losses import metric_value
    return metric_value(metric, ce, 1)


def _paired(metric: str, a, b) -> dict:
    """The paired comparison of two models' per-sample scores on the same test samples:
    McNemar's exact test for an accuracy; for a language model the paired t-test over the
    test sequences: the metric difference (bpc; None for perplexity, whose differences are
    not additive) and the metric ratio, each with its 95% interval."""
    if metric == "accuracy":
        return dict(paired_comparison(a, b), test="mcnemar_exact")
    if np.size(a) < 2:
        return None
    pt = paired_t(a, b)
    if metric == "bpc":   # linear in the cross-entropy: the difference maps like the metric
        diff = [_from_ce(metric, pt["mean_difference"]), [_from_ce(metric, c) for c in pt["ci"]]]
        r, lo, hi = ratio_interval(a, b)
    else:   # perplexity ratio = exp(mean CE difference)
        diff = [None, None]
        r, lo, hi = (_from_ce(metric, x) for x in (pt["mean_difference"], *pt["ci"]))
    return {"test": "paired_t", "sequences": pt["n"], "difference": diff[0], "difference_ci95": diff[1],
            "ratio": r, "ratio_ci95": [lo, hi], "p_value": pt["p_value"]}


def compare_to_gru(models: dict, scores: dict = None, metric: str = "accuracy") -> None:
    """Add ``vs_gru_model``: each model against the scenario's dense GRU of the same units;
    with ``scores`` (per-sample scores by model name, as :func:`eventsim.study.run.evaluate_model` gives them),
    also the paired comparison of the two on the same test samples (:func:`_paired`)."""
    scores = scores or {}
    grus = {tuple(v["units"]): k for k, v in models.items() if v["kind"] == "gru"}
    for name, v in models.items():
        g = grus.get(tuple(v["units"]))
        if g is None or g == name:
            v["vs_gru_model"] = None
            continue
        gm = models[g]
        v["vs_gru_model"] = {"gru": g, "metric_difference": v["metric"] - gm["metric"],
                             "metric_ratio": v["metric"] / gm["metric"] if gm["metric"] else None,
                             "effective_macs_fraction": v["effective_macs_per_step"] / gm["dense_macs_per_step"],
                             "paired": (_paired(metric, scores[name], scores[g])
                                        if name in scores and g in scores else None)}


def model_entry(spec, cfg, evaluation: dict, counts: dict, history: list, params: dict, data_metric: str,
                train_seconds: float, source: dict) -> dict:
    """The summary entry of one model: ``evaluation`` is what
    :func:`eventsim.study.run.evaluate_model` gives (metric, trainer's evaluation, engine
    check, per-sample scores), ``counts`` its counts JSON, ``history`` its training epochs."""
    from ..train.pruning import weight_density
    ev = evaluation["trainer"]
    st = counts["samples"] * counts["steps"]
    eff = counts["total"]["macs"]["effective"]
    bw = history[-1]["backward"] if history and history[-1].get("backward") else None
    return {
        "kind": spec.kind, "units": list(spec.units), "loss": cfg.loss, "epochs": cfg.epochs,
        "metric": evaluation["metric"],
        "trainer_metric": ev["metric"],
        "activity_sparsity": counts["total"]["activity_sparsity"],
        "backward_sparsity": bw["total"]["backward_sparsity"] if bw else None,
        "silent_units": silent_units(spec, ev["unit_events"], counts) if spec.kind == "egru" else None,
        "effective_macs_per_step": eff / st,
        "dense_macs_per_step": counts["total"]["macs"]["dense"] / st,
        "savings_vs_gru": counts["baselines"]["gru"]["macs"] / eff if eff else None,
        "savings_vs_lstm": counts["baselines"]["lstm"]["macs"] / eff if eff else None,
        "weight_density": weight_density(params),
        "engine_check": evaluation["check"],
        "metric_ci95": metric_interval(data_metric, evaluation["scores"]),
        "train_seconds": train_seconds,
        "source": source,
    }


def write_summary(out: str, summary: dict) -> None:
    """``summary.json``, ``summary.md`` and ``summary.csv`` in the results folder ``out``, each
    written atomically (:mod:`eventsim.outputs`): a failure leaves the previous file whole."""
    write_json(os.path.join(out, "summary.json"), summary)
    write_text(os.path.join(out, "summary.md"), summary_markdown(summary))
    write_text(os.path.join(out, "summary.csv"), summary_csv(summary))
