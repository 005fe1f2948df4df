"""Studies: train the models of a scenario, measure them with the event engine.

:func:`run_study` is the whole pipeline behind ``eventsim study``:

1. read the scenario (path, built-in name or :class:`~eventsim.scenario.Scenario`,
   plus ``key=value`` overrides) and the data set it names, and check every model's
   settings against its checkpoints (:func:`check_resumes`) before writing anything;
2. for every model: train it (resuming from ``<model>/checkpoint/`` unless
   ``resume=False``), or load the checkpoint file the scenario gives;
3. evaluate it on the test split (the first ``measure.test_samples`` samples): the
   trainer's own forward pass gives the metric, and for an EGRU the event engine
   (:func:`eventsim.simulate` with ``engine="event"``) runs the saved model again,
   gives the SPEC §4 counts and its own metric, which must agree with the trainer's
   (a disagreement is logged as a warning and recorded in ``engine_check``); a DeltaGRU
   likewise through :func:`eventsim.deltagru.simulate_deltagru` (SPEC §5 counts); GRU and
   LSTM get the closed-form dense counts (:class:`eventsim.egru.counts.DenseCounts`);
4. write the results folder of docs/architecture.md and the summary table.

Nothing here prints; the command (:mod:`eventsim.commands.study`) prints the table.
"""
from __future__ import annotations

import logging
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ..egru.counts import DenseCounts
from ..errors import EventsimError
from ..outputs import atomic_write, write_json, write_text
from .settings import (default_out_dir, load_data, load_given_params, load_study_scenario, model_settings,
                       resolve_checkpoint)
from .summary import compare_to_gru, model_entry, write_summary

log = logging.getLogger(__name__)

#: classification: the engine and the trainer may disagree on at most this fraction of
#: test predictions (a unit exactly at its threshold can flip with float summation order)
PREDICTION_TOLERANCE = 0.01
#: language models: relative tolerance on bits per character / perplexity
LM_TOLERANCE = 1e-3


def _versions() -> dict:
    import numba
    from .. import __version__
    return {"eventsim": __version__, "numpy": np.__version__, "numba": numba.__version__,
            "python": platform.python_version()}


def dense_counts(spec, samples: int, steps: int) -> dict:
    """Closed-form counts of a dense GRU/LSTM network (every synapse, every step), in the
    layout of SPEC §4 (``effective`` = ``dense``: a clocked dense network skips nothing)."""
    return _dense_counts(spec, samples, steps).to_dict()


def _dense_counts(spec, samples: int, steps: int) -> DenseCounts:
    return DenseCounts.for_network(spec.kind, spec.layer_inputs, spec.units, spec.n_out, samples, steps)


def _test_inputs(ds, n):
    """(trainer input, engine input, targets) of the first n test samples."""
    split = ds.test
    x = split.x[:n]
    y = np.asarray(split.y[:n])
    eng = x
    if ds.input_kind == "events" and getattr(split, "events", None) is not None:
        ev = split.events
        keep = ev.sample < n
        from ..inputs import EventStream
        eng = EventStream.from_arrays(ev.sample[keep], ev.t[keep], ev.channel[keep], ev.value[keep],
                                      n_samples=n, n_steps=x.shape[1], n_channels=ev.n_channels)
    return x, eng, y


def _engine_metric(ds, res, y, metric, loss, bias):
    """The test metric from the engine's readout, read the way the loss reads it."""
    from ..train import losses
    if ds.task == "lm":   # per-sequence sums; the metric is their total
        seq = losses.sequence_nll(res.readout, y)
        return losses.metric_value(metric, float(seq.sum()), int(np.size(y))), seq
    if loss == "last":
        logits = res.last_readout
    else:  # W·Σ_t w_t·y_t + b = Σ_t w_t·logits_t + (1 − Σ_t w_t)·b
        w = losses.step_weights(loss, res.readout.shape[1])
        logits = np.einsum("t,btv->bv", w, res.readout.astype(np.float64)) + (1.0 - w.sum()) * bias
    pred = logits.argmax(-1)
    return float((pred == y).mean()), pred


def _engine_check(ds, ev, eng_metric, pred, metric, samples) -> dict:
    """Does the event engine's test metric agree with the trainer's? (logged when not)"""
    if ds.task == "lm":
        diff = abs(eng_metric - ev["metric"])
        ok = diff <= LM_TOLERANCE * abs(ev["metric"])
        check = {"trainer_metric": ev["metric"], "engine_metric": eng_metric, "abs_diff": diff,
                 "tolerance": f"relative {LM_TOLERANCE}", "ok": bool(ok)}
    else:
        disagree = int((pred != ev["predictions"]).sum())
        ok = disagree <= PREDICTION_TOLERANCE * samples
        check = {"trainer_metric": ev["metric"], "engine_metric": eng_metric,
                 "abs_diff": abs(eng_metric - ev["metric"]), "prediction_disagreements": disagree,
                 "tolerance": f"at most {PREDICTION_TOLERANCE:.0%} of predictions differ",
                 "ok": bool(ok)}
    if not check["ok"]:
        log.warning("ENGINE MISMATCH: the event engine's test %s (%.6g) differs from the trainer's "
                    "(%.6g) beyond tolerance (%s); see engine_check in summary.json",
                    metric, eng_metric, ev["metric"], check["tolerance"])
    return check


#: kinds the event engine runs in a study (the others get closed-form dense counts)
ENGINE_KINDS = ("egru", "deltagru")


def _run_event_engine(ds, spec, params, x, x_eng, y, ev, loss, metric, raster_n) -> tuple:
    """An EGRU or DeltaGRU through the event engine: (metric, predictions or per-sequence
    losses, engine check, counts, raster layers)."""
    if spec.kind == "deltagru":
        from ..deltagru import simulate_deltagru as simulate
        from ..train import to_deltagru
        model = to_deltagru(spec, params)
    else:
        from eventsim import simulate
        from ..train import to_model
        model = to_model(spec, params)
    record = ("readout",) if (ds.task == "lm" or loss != "last") else ()
    res = simulate(model, x_eng, engine="event", record=record)
    eng_metric, pred = _engine_metric(ds, res, y, metric, loss, params["readout.bias"])
    check = _engine_check(ds, ev, eng_metric, pred, metric, int(x.shape[0]))
    raster = {}
    if raster_n:
        rx = x_eng if not hasattr(x_eng, "sample") else x
        rres = simulate(model, rx[:raster_n], engine="event", record=("y",))
        raster = {f"layer{k}.y": np.asarray(a, np.float32) for k, a in enumerate(rres.y)}
    return eng_metric, pred, check, res.counts, raster


def _write_raster(spec, params, x, raster: dict, raster_n: int, mdir: str) -> None:
    """``raster.npz``: the recorded layers' outputs, the (embedded) input, the tokens."""
    from ..train.network import embed
    inp = embed(params, spec, np.asarray(x[:raster_n], np.int64)) if spec.tokens else x[:raster_n]
    raster["input"] = np.asarray(inp, np.float32)
    if spec.tokens:
        raster["tokens"] = np.asarray(x[:raster_n], np.int64)
    with atomic_write(os.path.join(mdir, "raster.npz")) as f:
        np.savez(f, **raster)


def evaluate_model(ds, spec, params, loss, metric, test_n, raster_n, mdir) -> dict:
    """Test metric (trainer and event engine), counts and raster of one model.

    Returns ``metric`` (the engine's for an EGRU or DeltaGRU), ``trainer`` (the trainer's
    evaluation), ``check`` (the engine check, EGRU and DeltaGRU only), ``counts`` (a :class:`~eventsim.egru.counts.Counts`)
    and ``scores``: the per-sample scores behind the metric (correctness of each
    prediction; for a language model the mean cross-entropy per token of each sequence)."""
    from ..train import evaluate
    from ..train.network import forward
    x, x_eng, y = _test_inputs(ds, test_n)
    ev = evaluate(spec, params, x, y, loss, metric)
    samples, steps = int(x.shape[0]), int(x.shape[1])
    if spec.kind in ENGINE_KINDS:
        metric_value, pred, check, counts, raster = _run_event_engine(ds, spec, params, x, x_eng, y, ev, loss,
                                                                      metric, raster_n)
    else:
        metric_value, pred, check, counts = ev["metric"], ev["predictions"], None, _dense_counts(spec, samples,
                                                                                                 steps)
        raster = {}
        if raster_n:
            ps = forward(spec, params, x[:raster_n])
            raster = {f"layer{k}.y": c["Y"].astype(np.float32) for k, c in enumerate(ps.caches)}
    if raster_n:
        _write_raster(spec, params, x, raster, raster_n, mdir)
    # the engine's per-sequence losses (``pred`` holds its per-sequence sums)
    if ds.task == "lm":
        seq = pred if spec.kind in ENGINE_KINDS else ev["sequence_nll"]
        scores = None if seq is None else np.asarray(seq, np.float64) / steps
    else:
        scores = (np.asarray(pred) == np.asarray(y)) if pred is not None else None
    return {"metric": metric_value, "trainer": ev, "check": check, "counts": counts, "scores": scores}


def check_resumes(sc, ds, out: str, resume: bool) -> dict:
    """``{model name: epochs already done}`` of the models to train, read from their
    checkpoints (nothing written); raises the trainer's error when a checkpoint was
    written with other settings (and the error of a given checkpoint file that does not
    fit), so that a refused study changes nothing on disk."""
    from ..train.trainer import check_resume
    done = {}
    for m in sc.models:
        spec, cfg = model_settings(sc, m, ds)   # also refuses bad settings before any write
        if m.get("from"):                       # a converted GRU: nothing trained
            continue
        if m.get("checkpoint"):
            load_given_params(sc, m, spec)      # a file that does not fit is refused now, too
            continue
        ck = os.path.join(out, m["name"], "checkpoint")
        done[m["name"]] = check_resume(spec, cfg, ck, m["name"]) if resume else 0
    return done


def _prepare(sc, out: str, resume: bool, jobs: int, progress: bool, done: dict) -> None:
    """Clear the checkpoints (``resume=False``), train in parallel (``jobs`` > 1)."""
    from ..train.checkpoint import clear_checkpoints
    to_train = list(done)
    if not resume:
        for n in to_train:
            ck = os.path.join(out, n, "checkpoint")
            clear_checkpoints(ck) if os.path.isdir(ck) else None
    if jobs > 1 and len(to_train) > 1:
        from .parallel import train_in_parallel
        train_in_parallel(sc, out, to_train, min(jobs, len(to_train)), progress, done=done)


def disk_usage(out: str) -> tuple:
    """``(bytes of every file under out, bytes of the files in <model>/checkpoint/ folders)``."""
    total = ckpt = 0
    for root, _, files in os.walk(out):
        inside = os.path.basename(root) == "checkpoint"
        for fn in files:
            try:
                size = os.lstat(os.path.join(root, fn)).st_size
            except OSError:
                continue
            total += size
            ckpt += size if inside else 0
    return total, ckpt


def format_bytes(n: int) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def disk_usage_line(out: str) -> str:
    """The line a study prints at its end, e.g. "results: 3.2 MB in results/digits
    (checkpoints 1.1 MB)"."""
    total, ckpt = disk_usage(out)
    return f"results: {format_bytes(total)} in {out} (checkpoints {format_bytes(ckpt)})"


def _train_or_load(sc, m, spec, cfg, ds, mdir: str, progress: bool) -> tuple:
    """(params, history, source, train seconds) of one model: trained (resuming from its
    checkpoints) or loaded from the checkpoint file the scenario names."""
    from ..train import train
    t0 = time.perf_counter()
    if m.get("checkpoint"):
        params = load_given_params(sc, m, spec)
        history = []
        source = {"checkpoint": resolve_checkpoint(sc, m["checkpoint"])}
    else:
        # one BLAS thread: on these small matrices a threaded BLAS spin-waits and costs
        # 5-25x more CPU (measured on 2 shared cores, docs/training.md)
        with threadpool_limits(limits=1, user_api="blas"):
            r = train(spec, ds.train, ds.valid, cfg, ckpt_dir=os.path.join(mdir, "checkpoint"), resume=True,
                      progress=progress, desc=m["name"])
        params, history = r.params, r.history
        source = {"trained_epochs": len(history), "resumed_from_epoch": r.resumed_from}
    # the epochs' own times (whether trained here, in a worker process or before a resume)
    train_seconds = (sum(h.get("seconds", 0.0) for h in history) if history
                     else time.perf_counter() - t0)
    return params, history, source, train_seconds


def _save_model(sc, name: str, spec, params, history: list, mdir: str) -> None:
    """``history.json`` and ``model.npz`` (an EGRU or DeltaGRU as an engine model file)."""
    from ..deltagru import save_deltagru
    from ..egru.model import save_model
    from ..train import save_weights, to_deltagru, to_model
    write_json(os.path.join(mdir, "history.json"), history)
    meta = {"scenario": sc.name, "model": name}
    if spec.kind == "egru":
        save_model(to_model(spec, params, {"training": meta}), os.path.join(mdir, "model.npz"))
    elif spec.kind == "deltagru":
        model = to_deltagru(spec, params)
        model.meta = {"training": meta}
        save_deltagru(model, os.path.join(mdir, "model.npz"))
    else:
        save_weights(spec, params, os.path.join(mdir, "model.npz"), meta)


def _study_model(sc, m, ds, out: str, test_n: int, raster_n: int, progress: bool, trained: dict) -> tuple:
    """Train (or load), save and evaluate one model; writes its folder. A DeltaGRU ``from`` a
    GRU is that GRU's parameters (``trained``: parameters by model name) at a Θ picked on
    validation (:mod:`.delta`). Returns (summary entry, per-sample scores, parameters)."""
    name = m["name"]
    mdir = os.path.join(out, name)
    os.makedirs(mdir, exist_ok=True)
    if m.get("from"):
        from .delta import delta_from_gru
        t0 = time.perf_counter()
        params = trained[m["from"]]
        spec, cfg, source = delta_from_gru(sc, m, ds, params, test_n, mdir, progress)
        history, train_seconds = [], time.perf_counter() - t0
    else:
        spec, cfg = model_settings(sc, m, ds)
        params, history, source, train_seconds = _train_or_load(sc, m, spec, cfg, ds, mdir, progress)
    _save_model(sc, name, spec, params, history, mdir)
    evaluation = evaluate_model(ds, spec, params, cfg.loss, cfg.metric, test_n, raster_n, mdir)
    counts = evaluation["counts"]
    if spec.kind == "egru" and history and history[-1].get("backward"):
        counts.backward = history[-1]["backward"]
    cd = counts.to_dict()
    write_json(os.path.join(mdir, "counts.json"), cd)
    entry = model_entry(spec, cfg, evaluation, cd, history, params, ds.metric, train_seconds, source)
    return entry, evaluation["scores"], params


def run_study(scenario=None, out_dir=None, overrides=(), progress: bool = True, resume: bool = True,
              jobs: int = 1, keep_checkpoints: str = None, seeds=None) -> dict:
    """Run a study; returns the summary dict (also written to ``summary.json``).

    scenario: a path, a built-in scenario name (default "digits") or a Scenario.
    out_dir: results folder (default ``results/<scenario name>/``).
    overrides: ``key=value`` strings (see :mod:`eventsim.scenario`).
    progress: show tqdm bars (stderr). resume: continue from checkpoints found in
    the results folder (False: delete them and train from scratch). jobs: models
    trained side by side in worker processes (1: one after the other; the results
    are the same either way). keep_checkpoints: "latest_best" or "all" (None: the
    scenario's ``train.keep_checkpoints``, by default "latest_best"; docs/training.md).
    seeds: a list of training seeds (None: the scenario's ``train.seeds``, else its one
    ``train.seed``): with two or more, every seed is a one-seed study in ``out/seed<k>/`` and
    ``out`` gets the summary over seeds (:mod:`.seeds`); one seed is a one-seed study.

    Everything is checked before the first file is written: the settings, and whether
    every model's checkpoints were written with them (a refused resume leaves the results
    folder as it was, ``scenario.toml`` included).
    """
    t_start = time.perf_counter()
    if keep_checkpoints is not None:
        overrides = list(overrides) + [f'train.keep_checkpoints="{keep_checkpoints}"']
    sc = load_study_scenario(scenario, overrides)
    if not isinstance(jobs, int) or jobs < 1:
        raise EventsimError(f"jobs must be a positive integer, not {jobs!r}")
    out = os.fspath(out_dir) if out_dir else default_out_dir(sc.name)
    seeds = list(seeds) if seeds is not None else sc.train.get("seeds")
    if seeds is not None:
        from ..scenario import check_seeds
        from .seeds import run_seeds, seed_scenario
        check_seeds(seeds)
        if len(seeds) > 1:
            return run_seeds(sc, seeds, out, progress, resume, jobs)
        sc = seed_scenario(sc, seeds[0])
    ds = load_data(sc)
    done = check_resumes(sc, ds, out, resume)
    os.makedirs(out, exist_ok=True)
    write_text(os.path.join(out, "scenario.toml"), sc.to_toml())
    test_n = min(sc.measure.get("test_samples") or len(ds.test.y), len(ds.test.y))
    raster_n = min(sc.measure.get("raster_samples") or 0, test_n)
    _prepare(sc, out, resume, jobs, progress, done)
    models, scores, trained = {m["name"]: None for m in sc.models}, {}, {}
    # converted DeltaGRUs after the GRUs they come from; the table keeps the scenario's order
    for m in sorted(sc.models, key=lambda m: bool(m.get("from"))):
        models[m["name"]], s, trained[m["name"]] = _study_model(sc, m, ds, out, test_n, raster_n, progress,
                                                                trained)
        if s is not None:
            scores[m["name"]] = s
    compare_to_gru(models, scores, ds.metric)
    summary = {"scenario": sc.name, "description": sc.description, "task": ds.task, "metric": ds.metric,
               "dataset": sc.data["name"], "test_samples": test_n, "steps": int(ds.test.x.shape[1]),
               "versions": _versions(), "results_dir": out, "seconds": time.perf_counter() - t_start,
               "models": models}
    write_summary(out, summary)
    return summary
