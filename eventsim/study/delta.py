"""The DeltaGRU row of a study: the scenario's trained GRU converted, Θ picked on validation.

A scenario model ``kind = "deltagru"`` with ``from = "<gru model>"`` is not trained. After
that GRU is trained (SPEC §5, issue 20, the cheap route of docs/deltagru.md):

1. its weights become a DeltaGRU (:func:`eventsim.deltagru.from_gru`, exact at Θ = 0) and
   every Θ of the model's ``thetas`` grid (Θx = Θh; :data:`eventsim.scenario.DEFAULT_THETAS`
   when none) runs on the **validation** split
   (:func:`eventsim.train.delta_sweep.sweep_thetas`, event engine, exact counts);
2. :func:`~eventsim.train.delta_sweep.pick_theta` takes the largest Θ whose validation
   metric is within ``tolerance`` of Θ = 0, the GRU itself (default 0.01: one accuracy
   point; for a language model 0.01 bpc or perplexity);
3. the DeltaGRU at that Θ is measured on the test split like every other row
   (:func:`eventsim.study.run.evaluate_model`: the trainer's forward pass and the event
   engine, exact counts), and the same grid runs on the test split for the trade-off figure.

``<model>/delta_sweep.json`` keeps both sweeps and the pick (layout: docs/scenarios.md).
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..outputs import write_json


def _rows(results: list, samples: int, steps: int) -> list:
    """The sweep rows without their full counts, with effective MACs per sample and step."""
    keep = ("theta_x", "theta_h", "metric", "loss", "effective_macs", "events", "input_events",
            "activity_sparsity")
    return [dict({k: r[k] for k in keep}, effective_macs_per_step=r["effective_macs"] / (samples * steps))
            for r in results]


def delta_from_gru(sc, m, ds, gru_params: dict, test_n: int, mdir: str, progress: bool) -> tuple:
    """Sweep Θ of the GRU ``m["from"]`` (parameters ``gru_params``) on the validation split,
    pick Θ, and return ``(spec, cfg, pick)``: the DeltaGRU's network spec at the picked Θ,
    the GRU's training config (its loss and metric score the DeltaGRU) and the pick record
    (also written, with both sweeps, to ``<mdir>/delta_sweep.json``)."""
    from dataclasses import replace

    from ..scenario import DEFAULT_THETAS, DEFAULT_TOLERANCE
    from ..train.delta_sweep import pick_theta, sweep_thetas
    from .settings import model_settings
    t0 = time.perf_counter()
    gspec, gcfg = model_settings(sc, sc.model(m["from"]), ds)
    thetas = list(m.get("thetas") or DEFAULT_THETAS)
    tol = float(m["tolerance"]) if m.get("tolerance") is not None else DEFAULT_TOLERANCE
    params = {k: np.asarray(v, np.float32) for k, v in gru_params.items()}
    vx, vy = ds.valid.x, np.asarray(ds.valid.y)
    valid = sweep_thetas(params, vx, vy, thetas=thetas, loss=gcfg.loss, metric=ds.metric,
                         progress=progress, desc=f"{m['name']}: Θ on validation")
    pick = pick_theta(valid, tolerance=tol, metric=ds.metric)
    tx, ty = ds.test.x[:test_n], np.asarray(ds.test.y[:test_n])
    test = sweep_thetas(params, tx, ty, thetas=thetas, loss=gcfg.loss, metric=ds.metric,
                        progress=progress, desc=f"{m['name']}: Θ on test (figure)")
    record = {"from": m["from"], "picked_on": "validation", "metric": ds.metric, "tolerance": tol,
              "rule": "largest Θ whose validation metric is within the tolerance of the GRU's (Θ = 0)",
              "theta_x": pick["theta_x"], "theta_h": pick["theta_h"],
              "validation_metric": pick["metric"], "gru_validation_metric": valid[0]["metric"],
              "seconds": time.perf_counter() - t0,
              "validation": _rows(valid, int(vx.shape[0]), int(vx.shape[1])),
              "test": _rows(test, int(tx.shape[0]), int(tx.shape[1]))}
    os.makedirs(mdir, exist_ok=True)
    write_json(os.path.join(mdir, "delta_sweep.json"), record)
    spec = replace(gspec, kind="deltagru", theta_x=pick["theta_x"], theta_h=pick["theta_h"])
    return spec, gcfg, {k: v for k, v in record.items() if k not in ("validation", "test")}
