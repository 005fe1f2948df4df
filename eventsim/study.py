"""Studies: train the models of a scenario, measure them with the event engine.

:func:`run_study` is the whole pipeline behind ``eventsim study``:

1. read the scenario (path, built-in name or :class:`~eventsim.scenario.Scenario`,
   plus ``key=value`` overrides) and the data set it names;
2. for every model: train it (resuming from ``<model>/checkpoint/`` unless
   ``resume=False``), or load the checkpoint file the scenario gives;
3. evaluate it on the test split (the first ``measure.test_samples`` samples): the
   trainer's own forward pass gives the metric, and for an EGRU the event engine
   (:func:`eventsim.simulate` with ``engine="event"``) runs the saved model again,
   gives the SPEC §4 counts and its own metric, which must agree with the trainer's
   (a disagreement is logged as a warning and recorded in ``engine_check``); GRU and
   LSTM get the closed-form dense counts;
4. write the results folder of docs/architecture.md and the summary table.

Nothing here prints; the command (:mod:`eventsim.commands.study`) prints the table.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from .egru.counts import gru_baseline_per_step, lstm_baseline_per_step
from .egru.init import DAMPENING, RESET, SUPPORT, THR_MEAN
from .errors import EventsimError
from .stats import mean_interval, paired_comparison, paired_t, ratio_interval, wilson_interval

log = logging.getLogger(__name__)

#: classification: the engine and the trainer may disagree on at most this fraction of
#: test predictions (a unit exactly at its threshold can flip with float summation order)
PREDICTION_TOLERANCE = 0.01
#: language models: relative tolerance on bits per character / perplexity
LM_TOLERANCE = 1e-3


def _load(scenario, overrides):
    from .scenario import Scenario, load_scenario, scenario_from_dict, apply_overrides
    if isinstance(scenario, Scenario):
        if overrides:
            return scenario_from_dict(apply_overrides(scenario.to_dict(), overrides), scenario.path)
        return scenario
    return load_scenario("digits" if scenario is None else scenario, overrides)


def default_out_dir(name: str) -> str:
    return os.path.join("results", name)


def _versions() -> dict:
    import numba
    from . import __version__
    return {"eventsim": __version__, "numpy": np.__version__, "numba": numba.__version__,
            "python": platform.python_version()}


def _load_data(sc):
    """The scenario's data set (its ``[data]`` table: the name and the loader options)."""
    from .data import load_dataset
    return load_dataset(sc.data["name"], **{k: v for k, v in sc.data.items() if k != "name"})


def _model_epochs(sc, m: dict) -> int:
    """A model's training length: its own ``epochs`` or else ``train.epochs``."""
    return model_train_settings(sc, m)["epochs"]


# [train] keys a model may set for itself (None: the train section's value); the last
# three for an EGRU only (the scenario refuses them on a GRU/LSTM)
MODEL_TRAIN_KEYS = ("epochs", "loss", "lr", "activity_reg", "floor_reg", "floor_rate")


def model_train_settings(sc, m: dict) -> dict:
    """The train section as model ``m`` of scenario ``sc`` trains with it: its own
    :data:`MODEL_TRAIN_KEYS`, where set, over ``sc.train`` (``loss`` may still be None:
    the task's default)."""
    t = dict(sc.train)
    own = MODEL_TRAIN_KEYS if m["kind"] == "egru" else MODEL_TRAIN_KEYS[:3]
    t.update({k: m[k] for k in own if m.get(k) is not None})
    return t


def _spec_and_config(sc, m: dict, ds):
    from .scenario import allowed_losses
    from .train import NetSpec, TrainConfig
    tokens = ds.input_kind == "tokens"
    egru = m["kind"] == "egru"
    emb = m.get("embedding_dim") or (min(64, ds.n_in) if tokens else 0)
    spec = NetSpec(kind=m["kind"], n_in=ds.n_in, units=list(m["units"]), n_out=ds.n_classes,
                   tokens=tokens, embed_dim=emb if tokens else 0,
                   reset=m.get("reset") or RESET,
                   dampening=m["dampening"] if egru and m.get("dampening") is not None else DAMPENING,
                   support=m["support"] if egru and m.get("support") is not None else SUPPORT)
    t = model_train_settings(sc, m)
    loss = t.pop("loss", None) or ("lm" if ds.task == "lm" else "last")
    if (loss == "lm") != (ds.task == "lm"):
        raise EventsimError(f"scenario {sc.name!r}, model {m['name']!r}: loss {loss!r} does not fit data set "
                            f"{ds.name!r} (task {ds.task!r}); use 'lm' for language modelling, "
                            f"{allowed_losses('classify')} for classification")
    t["lr"] = float(t["lr"])
    t["loss"] = loss
    t["metric"] = ds.metric
    t["weight_density"] = float(m["weight_density"]) if m.get("weight_density") is not None else 1.0
    t["update_bias"] = float(m.get("update_bias") or 0.0)   # 0 for an LSTM (the scenario refuses others)
    if egru:
        t["train_thr"] = bool(m.get("train_thr", True))
        t["thr_mean"] = float(m["thr_mean"]) if m.get("thr_mean") is not None else THR_MEAN
        t["thr_jitter"] = float(m.get("thr_jitter") or 0.0)
    for key in [k for k, v in t.items() if v is None]:
        del t[key]
    return spec, TrainConfig.from_dict(t)


def _resolve_checkpoint(sc, path: str) -> str:
    if os.path.isabs(path) or os.path.exists(path) or not sc.path:
        return path
    alt = os.path.join(os.path.dirname(os.path.abspath(sc.path)), path)
    return alt if os.path.exists(alt) else path


def _load_given(sc, m, spec):
    """Parameters from the checkpoint file a scenario model names."""
    from .egru.model import load_model
    from .train import load_weights, params_from_model
    path = _resolve_checkpoint(sc, m["checkpoint"])
    if spec.kind == "egru":
        model = load_model(path, dtype="float32")
        params = params_from_model(model)
        if model.reset != spec.reset:
            raise EventsimError(f"model {m['name']!r}: checkpoint {path!r} uses reset mode {model.reset!r} "
                                f"but the scenario says {spec.reset!r}")
    else:
        lspec, params, _ = load_weights(path)
        if lspec.kind != spec.kind:
            raise EventsimError(f"model {m['name']!r}: checkpoint {path!r} holds a {lspec.kind}, "
                                f"the scenario says {spec.kind}")
    from .train.network import init_params
    want = init_params(spec, 0)
    for k, v in want.items():
        if k not in params or params[k].shape != v.shape:
            got = params[k].shape if k in params else "missing"
            raise EventsimError(f"model {m['name']!r}: checkpoint {path!r} does not fit the scenario "
                                f"and data: {k} is {got}, expected {v.shape} (units {spec.units}, "
                                f"{spec.n_in} inputs, {spec.n_out} outputs)")
    if set(params) != set(want):
        raise EventsimError(f"model {m['name']!r}: checkpoint {path!r} has keys "
                            f"{sorted(set(params) ^ set(want))} that the scenario's model does not")
    return {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}


def dense_counts(spec, samples: int, steps: int) -> dict:
    """Closed-form counts of a dense GRU/LSTM network (every synapse, every step), in the
    layout of SPEC §4 (``effective`` = ``dense``: a clocked dense network skips nothing)."""
    st = samples * steps
    G = 4 if spec.kind == "lstm" else 3
    nonlin = 5 if spec.kind == "lstm" else 3
    base = lstm_baseline_per_step if spec.kind == "lstm" else gru_baseline_per_step
    layers = []
    for m, n in zip(spec.layer_inputs, spec.units):
        macs, ew = base(m, n)
        d = macs * st
        layers.append({"inputs": m, "units": n, "gate_blocks": G,
                       "macs": {"dense": d, "weight_sparse": d, "activity_sparse": d, "effective": d},
                       "unit_updates": {"clocked": n * st, "event_driven": n * st},
                       "elementwise": {"clocked": ew * st, "event_driven": ew * st},
                       "nonlinearities": {"clocked": nonlin * n * st, "event_driven": nonlin * n * st}})
    ro = spec.units[-1] * spec.n_out * st
    readout = {"outputs": spec.n_out, "macs": {k: ro for k in ("dense", "weight_sparse",
                                                                 "activity_sparse", "effective")}}
    total_macs = {k: sum(l["macs"][k] for l in layers) + ro for k in ("dense", "weight_sparse",
                                                                     "activity_sparse", "effective")}
    total = {"units": sum(spec.units), "events": None, "activity_sparsity": None, "macs": total_macs}
    for key in ("unit_updates", "elementwise", "nonlinearities"):
        total[key] = {k: sum(l[key][k] for l in layers) for k in ("clocked", "event_driven")}
    baselines = {}
    for name, fn in (("gru", gru_baseline_per_step), ("lstm", lstm_baseline_per_step)):
        macs = sum(fn(m, n)[0] for m, n in zip(spec.layer_inputs, spec.units)) * st + ro
        ew = sum(fn(m, n)[1] for m, n in zip(spec.layer_inputs, spec.units)) * st
        baselines[name] = {"macs": macs, "elementwise": ew, "total": macs + ew}
    eff = total_macs["effective"]
    return {"samples": samples, "steps": steps, "engine": f"closed-form dense {spec.kind}",
            "layers": layers, "readout": readout, "total": total, "baselines": baselines,
            "ratios": {"effective_over_dense": 1.0, "savings_vs_dense": 1.0,
                       "savings_vs_gru": baselines["gru"]["macs"] / eff,
                       "savings_vs_lstm": baselines["lstm"]["macs"] / eff,
                       "effective_macs_per_step": eff / st}}


def _test_inputs(ds, n):
    """(trainer input, engine input, targets) of the first n test samples."""
    split = ds.test
    x = split.x[:n]
    y = np.asarray(split.y[:n])
    eng = x
    if ds.input_kind == "events" and getattr(split, "events", None) is not None:
        ev = split.events
        keep = ev.sample < n
        from .inputs import EventStream
        eng = EventStream.from_arrays(ev.sample[keep], ev.t[keep], ev.channel[keep], ev.value[keep],
                                      n_samples=n, n_steps=x.shape[1], n_channels=ev.n_channels)
    return x, eng, y


def _engine_metric(ds, res, y, metric, loss, bias):
    """The test metric from the engine's readout, read the way the loss reads it."""
    from .train import losses
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


def _evaluate_model(ds, spec, params, loss, metric, test_n, raster_n, mdir):
    """Test metric (trainer and event engine), counts and raster of one model."""
    import eventsim
    from .train import evaluate, to_model
    from .train.network import embed, forward
    x, x_eng, y = _test_inputs(ds, test_n)
    ev = evaluate(spec, params, x, y, loss, metric)
    samples, steps = int(x.shape[0]), int(x.shape[1])
    check = None
    pred = ev["predictions"]      # the EGRU's are replaced by the engine's below
    raster = {}
    if spec.kind == "egru":
        model = to_model(spec, params)
        record = ("readout",) if (ds.task == "lm" or loss != "last") else ()
        res = eventsim.simulate(model, x_eng, engine="event", record=record)
        counts = res.counts
        eng_metric, pred = _engine_metric(ds, res, y, metric, loss, params["readout.bias"])
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
        counts_dict = counts
        if raster_n:
            rx = x_eng if not hasattr(x_eng, "sample") else x
            rres = eventsim.simulate(model, rx[:raster_n], engine="event", record=("y",))
            raster = {f"layer{k}.y": np.asarray(a, np.float32) for k, a in enumerate(rres.y)}
        metric_value = eng_metric
    else:
        counts_dict = dense_counts(spec, samples, steps)
        metric_value = ev["metric"]
        if raster_n:
            ps = forward(spec, params, x[:raster_n])
            raster = {f"layer{k}.y": c["Y"].astype(np.float32) for k, c in enumerate(ps.caches)}
    if raster_n:
        inp = embed(params, spec, np.asarray(x[:raster_n], np.int64)) if spec.tokens else x[:raster_n]
        raster["input"] = np.asarray(inp, np.float32)
        if spec.tokens:
            raster["tokens"] = np.asarray(x[:raster_n], np.int64)
        with open(os.path.join(mdir, "raster.npz"), "wb") as f:
            np.savez(f, **raster)
    # per-sample scores behind the reported metric: correctness of each prediction
    # (classification) or the mean cross-entropy per token of each sequence (LM; the engine's
    # readout for an EGRU, where ``pred`` holds its per-sequence sums)
    if ds.task == "lm":
        seq = pred if spec.kind == "egru" else ev["sequence_nll"]
        scores = None if seq is None else np.asarray(seq, np.float64) / steps
    else:
        scores = (np.asarray(pred) == np.asarray(y)) if pred is not None else None
    return metric_value, ev, check, counts_dict, scores


_WORKER_QUEUE = None


def _worker_init(queue) -> None:
    """Initializer of a training worker: keep the progress queue; leave Ctrl-C to the
    main process (it stops the pool; the finished epochs stay checkpointed)."""
    import signal
    import threading

    from tqdm import tqdm
    global _WORKER_QUEUE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a thread lock for tqdm: its default multiprocessing lock is a named semaphore that a
    # terminated worker (Ctrl-C) could not release ("leaked semaphore" warnings)
    tqdm.set_lock(threading.RLock())
    _WORKER_QUEUE = queue


def _train_worker(task):
    """Train one model of a study into its checkpoint folder (a worker process of
    :func:`_train_in_parallel`); reports each finished epoch on the queue."""
    sc, name, out = task
    from .train import train
    ds = _load_data(sc)
    spec, cfg = _spec_and_config(sc, sc.model(name), ds)
    with threadpool_limits(limits=1, user_api="blas"):
        train(spec, ds.train, ds.valid, cfg, ckpt_dir=os.path.join(out, name, "checkpoint"), resume=True,
              progress=False, desc=name,
              on_epoch_end=lambda epoch, history: _WORKER_QUEUE.put((name, len(history))))
    return name


def _train_in_parallel(sc, out: str, names: list, jobs: int, progress: bool) -> None:
    """Train the models ``names`` side by side in ``jobs`` processes, longest first,
    each into ``OUT/<name>/checkpoint/`` with exactly the settings the sequential
    study uses; the study then resumes from the finished checkpoints (identical
    results: every training run is seeded and single-threaded)."""
    import multiprocessing as mp
    import queue as queue_mod

    from tqdm import tqdm
    epochs = {n: _model_epochs(sc, sc.model(n)) for n in names}
    order = sorted(names, key=lambda n: -epochs[n] * sum(sc.model(n)["units"]))
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    bar = tqdm(total=sum(epochs.values()), desc=f"training {len(names)} models on {jobs} processes",
               unit="epoch", disable=not progress, dynamic_ncols=True)
    pool = ctx.Pool(jobs, initializer=_worker_init, initargs=(q,))
    try:
        pending = pool.map_async(_train_worker, [(sc, n, out) for n in order], chunksize=1)
        done = {n: 0 for n in names}
        while True:
            try:
                name, finished = q.get(timeout=0.2)
                bar.update(finished - done[name])
                done[name] = finished
                bar.set_postfix_str(" ".join(f"{n} {done[n]}/{epochs[n]}" for n in order))
            except queue_mod.Empty:
                if pending.ready():
                    break
        pending.get()  # re-raises a worker's error
        pool.close()
    finally:  # also on Ctrl-C or a worker's error: stop the workers, release the queue
        pool.terminate()
        pool.join()
        q.close()
        q.join_thread()
    bar.close()


def run_study(scenario=None, out_dir=None, overrides=(), progress: bool = True, resume: bool = True,
              jobs: int = 1) -> dict:
    """Run a study; returns the summary dict (also written to ``summary.json``).

    scenario: a path, a built-in scenario name (default "digits") or a Scenario.
    out_dir: results folder (default ``results/<scenario name>/``).
    overrides: ``key=value`` strings (see :mod:`eventsim.scenario`).
    progress: show tqdm bars (stderr). resume: continue from checkpoints found in
    the results folder (False: delete them and train from scratch). jobs: models
    trained side by side in worker processes (1: one after the other; the results
    are the same either way).
    """
    from .egru.model import save_model
    from .train import save_weights, to_model, train
    from .train.checkpoint import clear_checkpoints

    t_start = time.perf_counter()
    sc = _load(scenario, overrides)
    out = os.fspath(out_dir) if out_dir else default_out_dir(sc.name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "scenario.toml"), "w") as f:
        f.write(sc.to_toml())
    ds = _load_data(sc)
    test_n = min(sc.measure.get("test_samples") or len(ds.test.y), len(ds.test.y))
    raster_n = min(sc.measure.get("raster_samples") or 0, test_n)
    models = {}
    counts_by_name = {}
    scores_by_name = {}
    if not isinstance(jobs, int) or jobs < 1:
        raise EventsimError(f"jobs must be a positive integer, not {jobs!r}")
    to_train = [m["name"] for m in sc.models if not m.get("checkpoint")]
    if not resume:
        for n in to_train:
            ck = os.path.join(out, n, "checkpoint")
            clear_checkpoints(ck) if os.path.isdir(ck) else None
    if jobs > 1 and len(to_train) > 1:
        _train_in_parallel(sc, out, to_train, min(jobs, len(to_train)), progress)
    for m in sc.models:
        name = m["name"]
        mdir = os.path.join(out, name)
        os.makedirs(mdir, exist_ok=True)
        spec, cfg = _spec_and_config(sc, m, ds)
        t0 = time.perf_counter()
        if m.get("checkpoint"):
            params = _load_given(sc, m, spec)
            history = []
            source = {"checkpoint": _resolve_checkpoint(sc, m["checkpoint"])}
        else:
            ck = os.path.join(mdir, "checkpoint")
            # one BLAS thread: on these small matrices a threaded BLAS spin-waits and costs
            # 5-25x more CPU (measured on 2 shared cores, docs/training.md)
            with threadpool_limits(limits=1, user_api="blas"):
                r = train(spec, ds.train, ds.valid, cfg, ckpt_dir=ck, resume=True, progress=progress,
                          desc=name)
            params, history = r.params, r.history
            source = {"trained_epochs": len(history), "resumed_from_epoch": r.resumed_from}
        # the epochs' own times (whether trained here, in a worker process or before a resume)
        train_seconds = (sum(h.get("seconds", 0.0) for h in history) if history
                         else time.perf_counter() - t0)
        with open(os.path.join(mdir, "history.json"), "w") as f:
            json.dump(history, f, indent=1)
        meta = {"scenario": sc.name, "model": name}
        if spec.kind == "egru":
            save_model(to_model(spec, params, {"training": meta}), os.path.join(mdir, "model.npz"))
        else:
            save_weights(spec, params, os.path.join(mdir, "model.npz"), meta)
        metric, ev, check, counts, scores = _evaluate_model(ds, spec, params, cfg.loss, cfg.metric, test_n,
                                                             raster_n, mdir)
        if scores is not None:
            scores_by_name[name] = scores
        if spec.kind == "egru":
            if history and history[-1].get("backward"):
                counts.backward = history[-1]["backward"]
            cd = counts.to_dict()
        else:
            cd = counts
        with open(os.path.join(mdir, "counts.json"), "w") as f:
            json.dump(cd, f, indent=1)
        counts_by_name[name] = cd
        silent = _silent_units(spec, ev["unit_events"], cd) if spec.kind == "egru" else None
        st = cd["samples"] * cd["steps"]
        eff = cd["total"]["macs"]["effective"]
        bw = history[-1]["backward"] if history and history[-1].get("backward") else None
        models[name] = {
            "kind": spec.kind, "units": list(spec.units), "loss": cfg.loss, "epochs": cfg.epochs, "metric": metric,
            "trainer_metric": ev["metric"],
            "activity_sparsity": cd["total"]["activity_sparsity"],
            "backward_sparsity": bw["total"]["backward_sparsity"] if bw else None,
            "silent_units": silent,
            "effective_macs_per_step": eff / st,
            "dense_macs_per_step": cd["total"]["macs"]["dense"] / st,
            "savings_vs_gru": cd["baselines"]["gru"]["macs"] / eff if eff else None,
            "savings_vs_lstm": cd["baselines"]["lstm"]["macs"] / eff if eff else None,
            "weight_density": _density(params),
            "engine_check": check,
            "metric_ci95": _metric_interval(ds.metric, scores),
            "train_seconds": train_seconds,
            "source": source,
        }
    _compare_to_gru(models, scores_by_name, ds.metric)
    summary = {"scenario": sc.name, "description": sc.description, "task": ds.task, "metric": ds.metric,
               "dataset": sc.data["name"], "test_samples": test_n, "steps": int(ds.test.x.shape[1]),
               "versions": _versions(), "results_dir": out, "seconds": time.perf_counter() - t_start,
               "models": models}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(summary_markdown(summary))
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        f.write(summary_csv(summary))
    return summary


def _silent_units(spec, unit_events: list, cd: dict) -> dict:
    """Units that emit no event on the test samples.

    A unit that never fires contributes to the activity sparsity like a unit that is not
    there. Per layer the silent units (from the trainer's forward pass, which gives each
    unit's events); the layers' event totals are checked against the event engine's
    counts. ``live_unit_activity_sparsity`` is 1 − events / (live units · samples · steps);
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
    if not match:
        log.warning("the trainer's per-layer event totals %s differ from the event engine's %s: the silent "
                    "units are counted from the trainer's forward pass", trainer, engine)
    st = cd["samples"] * cd["steps"]
    ins = [spec.layer_inputs[0]] + alive[:-1]
    live_gru = sum(gru_baseline_per_step(m, n)[0] for m, n in zip(ins, alive)) + alive[-1] * spec.n_out
    return {"silent": sum(per_layer), "units": live + sum(per_layer), "per_layer": per_layer,
            "live_unit_activity_sparsity": (1.0 - sum(engine) / (live * st)) if live else None,
            "live_dense_gru_macs_per_step": live_gru,
            "event_totals_match_engine": match}


def _density(params: dict) -> float:
    from .train.pruning import weight_density
    return weight_density(params)


def _metric_interval(metric: str, scores) -> list:
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
    from .train.losses import metric_value
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


def _compare_to_gru(models: dict, scores: dict = None, metric: str = "accuracy") -> None:
    """Add ``vs_gru_model``: each model against the scenario's dense GRU of the same units;
    with ``scores`` (per-sample scores by model name, as :func:`_evaluate_model` gives them),
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


COLUMNS = ("model", "kind", "units", "metric", "activity sparsity", "silent units", "backward sparsity",
           "effective MACs/step", "dense MACs/step", "vs GRU", "vs LSTM", "engine check")


def _rows(summary: dict) -> list:
    rows = []
    for name, v in summary["models"].items():
        metric = v["metric"]
        mtxt = f"{metric:.2%}" if summary["metric"] == "accuracy" else f"{metric:.4f}"
        ec = v.get("engine_check")
        rows.append((name, v["kind"], "x".join(str(u) for u in v["units"]), mtxt,
                     "-" if v["activity_sparsity"] is None else f"{v['activity_sparsity']:.1%}",
                     silent_units_text(v.get("silent_units")),
                     "-" if v["backward_sparsity"] is None else f"{v['backward_sparsity']:.1%}",
                     f"{v['effective_macs_per_step']:,.0f}", f"{v['dense_macs_per_step']:,.0f}",
                     f"{v['savings_vs_gru']:.2f}x", f"{v['savings_vs_lstm']:.2f}x",
                     "-" if ec is None else ("ok" if ec["ok"] else "MISMATCH")))
    return rows


def silent_units_text(silent, missing: str = "-") -> str:
    """"silent/units" of a model's ``silent_units`` entry, with "*" when the per-unit events
    disagree with the engine's layer totals; ``missing`` for models without one."""
    if not isinstance(silent, dict):
        return missing
    return f"{silent['silent']}/{silent['units']}" + ("" if silent.get("event_totals_match_engine", True) else "*")


def summary_table(summary: dict) -> str:
    """The summary as an aligned text table."""
    head = list(COLUMNS)
    head[3] = summary["metric"]
    rows = [tuple(head)] + _rows(summary)
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i]) for i, c in enumerate(r)) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


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


def summary_markdown(summary: dict) -> str:
    head = list(COLUMNS)
    head[3] = summary["metric"]
    out = [f"# Study {summary['scenario']}", "", summary.get("description", ""), "",
           f"Test split: {summary['test_samples']} samples x {summary['steps']} steps. "
           f"MACs per step are per sample and step, readout included; 'vs GRU/LSTM' is the dense "
           f"GRU/LSTM of the same layer sizes divided by the model's effective MACs; 'silent units' "
           f"are units that emit no event on the test split.", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in _rows(summary)]
    extra = uncertainty_lines(summary)
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
    wr.writerow(("model",) + keys + ("engine_ok",))
    for name, v in summary["models"].items():
        sil = v.get("silent_units") or {}
        ci = v.get("metric_ci95") or (None, None)
        vals = dict(v, silent_units=sil.get("silent"),
                    live_unit_activity_sparsity=sil.get("live_unit_activity_sparsity"),
                    metric_ci95_low=ci[0], metric_ci95_high=ci[1])
        row = [name] + ["x".join(map(str, vals[k])) if k == "units" else ("" if vals[k] is None else vals[k])
                        for k in keys]
        ec = v.get("engine_check")
        wr.writerow(row + ["" if ec is None else ec["ok"]])
    return buf.getvalue()


def write_report_if_available(results_dir):
    """Call :func:`eventsim.plots.report.write_report` when it exists.

    Returns ``(path or None, reason skipped or None)``; a failure inside the report
    writer is logged (with its message) and reported as the reason, the study's
    results stay valid.
    """
    try:
        from .plots.report import write_report
    except ImportError as e:
        return None, f"report step skipped: eventsim.plots.report.write_report is not available ({e})"
    try:
        return write_report(results_dir), None
    except Exception as e:  # noqa: BLE001 - the report is an extra; the results are written already
        log.warning("report step failed: %s", e)
        return None, f"report step failed: {type(e).__name__}: {e}"
